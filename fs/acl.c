/*
 * acl.c - POSIX ACLs on top of the X rows (see acl.h for the contract).
 *
 * The stored value is exactly the xattr the kernel sends (checked by fs_acl_check), so
 * getxattr needs nothing special. Every helper only stages rows into the caller's batch
 * and reads under the caller's inode lock: the ACL and the mode it belongs with always
 * land in one commit.
 */
#include "acl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int fs_acl_enabled(const fs_t *fs)
{
    return !fs->opts->noacl;
}

static const char *acl_name(int kind)
{
    return kind == FS_ACL_DEFAULT ? FS_ACL_NAME_DEFAULT : FS_ACL_NAME_ACCESS;
}

/* Loads ino's ACL of this kind into a malloc'd copy: 1 found, 0 none, <0 error. A stored
 * value that is not a valid ACL is damage (-EUCLEAN), never used. */
static int acl_load(fs_t *fs, uint64_t ino, int kind, char **out, size_t *outlen)
{
    char key[FS_KEY_MAX], *err = NULL;
    const char *name = acl_name(kind), *data;
    size_t klen = fs_key_xattr(key, ino, name, strlen(name)), vlen, n, count;
    char *v = lsm_get(fs->db, fs->ropt, key, klen, &vlen, &err);
    if (err)
        return fs_err_ino(fs, err, ino, "read ACL");
    if (!v)
        return 0;
    int r = -EUCLEAN;
    if (fs_xattr_decode(v, vlen, &data, &n) == 0 && fs_acl_check(data, n, &count) == 0 &&
        count > 0) {
        *out = malloc(n);
        r = *out ? 1 : -ENOMEM;
        if (*out) {
            memcpy(*out, data, n);
            *outlen = n;
        }
    }
    lsm_free(v);
    return r;
}

static int acl_put(lsm_writebatch_t *b, uint64_t ino, int kind, const char *v, size_t n)
{
    char key[FS_KEY_MAX], *val = malloc(n + 1);
    if (!val)
        return -ENOMEM;
    const char *name = acl_name(kind);
    size_t klen = fs_key_xattr(key, ino, name, strlen(name));
    size_t vlen = fs_xattr_encode(v, n, val);
    lsm_writebatch_put(b, key, klen, val, vlen);
    free(val);
    return 0;
}

static void acl_del(lsm_writebatch_t *b, uint64_t ino, int kind)
{
    char key[FS_KEY_MAX];
    const char *name = acl_name(kind);
    lsm_writebatch_delete(b, key, fs_key_xattr(key, ino, name, strlen(name)));
}

int fs_acl_set(fuse_req_t req, lsm_writebatch_t *b, uint64_t ino, fs_inode_t *in, int kind,
               const char *value, size_t size)
{
    size_t count;
    if (size > FS_ACL_HDR + 4096 * FS_ACL_ENTRY || fs_acl_check(value, size, &count) != 0)
        return -EINVAL;
    if (kind == FS_ACL_DEFAULT) {
        if (!S_ISDIR(in->mode))
            return count ? -EACCES : 0;
        if (count > 0)
            return acl_put(b, ino, kind, value, size);
        acl_del(b, ino, kind);
        return 0;
    }
    if (count == 0) {
        acl_del(b, ino, kind);
        return 0;
    }
    in->mode = (in->mode & ~0777u) | fs_acl_perm_bits(value, size);
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    if ((in->mode & S_ISGID) && ctx && ctx->uid != 0 && !fs_caller_in_group(req, in->gid))
        in->mode &= ~(uint32_t)S_ISGID;
    if (!fs_acl_is_minimal(value, size))
        return acl_put(b, ino, kind, value, size);
    acl_del(b, ino, kind);  /* as ext4: an ACL the mode says all of is not kept */
    return 0;
}

int fs_acl_chmod(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, uint32_t mode)
{
    char *v;
    size_t n;
    int r = acl_load(fs, ino, FS_ACL_ACCESS, &v, &n);
    if (r <= 0)
        return r;
    fs_acl_apply_mode(v, n, mode);
    r = acl_put(b, ino, FS_ACL_ACCESS, v, n);
    free(v);
    return r;
}

int fs_acl_inherit(fs_t *fs, lsm_writebatch_t *b, uint64_t parent, uint64_t ino,
                   fs_inode_t *in, uint32_t req_mode)
{
    if (S_ISLNK(in->mode))
        return 0;
    char *v;
    size_t n;
    int r = acl_load(fs, parent, FS_ACL_DEFAULT, &v, &n);
    if (r <= 0)
        return r;
    if (S_ISDIR(in->mode))
        r = acl_put(b, ino, FS_ACL_DEFAULT, v, n);
    else
        r = 0;
    uint32_t mode = (in->mode & ~0777u) | (req_mode & 0777);
    if (r == 0 && fs_acl_create_mask(v, n, &mode))
        r = acl_put(b, ino, FS_ACL_ACCESS, v, n);
    if (r == 0)
        in->mode = mode;
    free(v);
    return r;
}
