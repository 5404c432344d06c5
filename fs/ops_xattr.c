/*
 * ops_xattr.c - extended attributes: one X row per (inode, name).
 *
 * setxattr/removexattr are one batch each (the X row and the inode's new ctime) under the
 * inode lock, honouring XATTR_CREATE (EEXIST) and XATTR_REPLACE (ENODATA). get/list
 * support size probing (size 0 returns the needed size, a short buffer ERANGE).
 * POSIX ACLs (system.posix_acl_access/default) are X rows too; setting one goes through
 * acl.c (checked, mode kept in step, same batch). With -o noacl their names are refused
 * (EOPNOTSUPP): the kernel does not enforce ACLs then, and storing one would mislead.
 * get/list also serve snapshot views (snapview.c): they read through fs (its ropt and snap).
 */
#include "fs.h"
#include "iflags.h"
#include "acl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

static int name_ok(fs_t *fs, const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > FS_XATTR_NAME_MAX)
        return -ERANGE;
    if (strncmp(name, "system.posix_acl_", 17) == 0 &&
        (!fs_acl_enabled(fs) || fs_acl_kind(name) == FS_ACL_NONE))
        return -EOPNOTSUPP;
    return 0;
}

/* Loads the X row: 1 found (*val malloc'd via lsm), 0 absent, <0 error. */
static int xattr_get(fs_t *fs, uint64_t ino, const char *name, char **val, size_t *vlen)
{
    char key[FS_KEY_MAX], *err = NULL;
    size_t klen = fs_key_xattr(key, ino, name, strlen(name));
    *val = lsm_get(fs->db, fs->ropt, key, klen, vlen, &err);
    if (err)
        return fs_err_ino(fs, err, ino, "read xattr");
    return *val ? 1 : 0;
}

static int change_xattr(fuse_req_t req, uint64_t ino, const char *name, const char *value,
                        size_t size, int flags, int remove)
{
    fs_t *fs = fs_of(req);
    fs_inode_t in;
    char *old = NULL;
    size_t olen;
    int r = name_ok(fs, name);
    if (r)
        return r;
    if (fs->opts->ro)
        return -EROFS;
    if (!remove && size > FS_XATTR_SIZE_MAX)
        return -E2BIG;
    fs_ilock(fs->itab, ino);
    if ((r = fs_inode_load(fs, ino, &in)) != 0 || (r = fs_iflags_may_change_entry(&in)) != 0)
        goto out;
    if ((r = xattr_get(fs, ino, name, &old, &olen)) < 0)
        goto out;
    lsm_free(old);
    if (remove && r == 0) {
        r = -ENODATA;
        goto out;
    }
    if (!remove && (flags & XATTR_CREATE) && r == 1) {
        r = -EEXIST;
        goto out;
    }
    if (!remove && (flags & XATTR_REPLACE) && r == 0) {
        r = -ENODATA;
        goto out;
    }
    char key[FS_KEY_MAX];
    size_t klen = fs_key_xattr(key, ino, name, strlen(name));
    lsm_writebatch_t *b = lsm_writebatch_create();
    int acl = fs_acl_kind(name);
    if (remove) {
        lsm_writebatch_delete(b, key, klen);
    } else if (acl != FS_ACL_NONE) {
        if ((r = fs_acl_set(req, b, ino, &in, acl, value, size)) != 0) {
            lsm_writebatch_destroy(b);
            goto out;
        }
    } else {
        char *val = malloc(size + 1);
        if (!val) {
            lsm_writebatch_destroy(b);
            r = -ENOMEM;
            goto out;
        }
        size_t vlen = fs_xattr_encode(value, size, val);
        lsm_writebatch_put(b, key, klen, val, vlen);
        free(val);
    }
    in.ctime = fs_now();
    fs_batch_inode(b, ino, &in);
    r = fs_commit_ex(fs, b, remove);
out:
    fs_iunlock(fs->itab, ino);
    return r;
}

void fs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                    size_t size, int flags)
{
    fs_reply_err(req, change_xattr(req, ino, name, value, size, flags, 0));
}

void fs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    fs_reply_err(req, change_xattr(req, ino, name, NULL, 0, 0, 1));
}

void fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    fs_xattr_reply_get(req, fs_of(req), ino, name, size);
}

void fs_xattr_reply_get(fuse_req_t req, fs_t *fs, uint64_t ino, const char *name, size_t size)
{
    char *val;
    size_t vlen, n;
    const char *data;
    int r = name_ok(fs, name);
    if (r)
        return fs_reply_err(req, r);
    r = xattr_get(fs, ino, name, &val, &vlen);
    if (r < 0)
        return fs_reply_err(req, r);
    if (r == 0) {
        fs_inode_t in;
        int e = fs_inode_load(fs, ino, &in);
        return fs_reply_err(req, e ? e : -ENODATA);
    }
    if (fs_xattr_decode(val, vlen, &data, &n) != 0) {
        lsm_free(val);
        return fs_reply_err(req, -EUCLEAN);
    }
    if (size == 0)
        fuse_reply_xattr(req, n);
    else if (size < n)
        fs_reply_err(req, -ERANGE);
    else
        fuse_reply_buf(req, data, n);
    lsm_free(val);
}

void fs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    fs_xattr_reply_list(req, fs_of(req), ino, size);
}

void fs_xattr_reply_list(fuse_req_t req, fs_t *fs, uint64_t ino, size_t size)
{
    fs_inode_t in;
    int r = fs_inode_load(fs, ino, &in);
    if (r)
        return fs_reply_err(req, r);
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX], *err = NULL;
    size_t nlo = fs_key_range_start(lo, FS_ROW_XATTR, ino);
    size_t nhi = fs_key_range_end(hi, FS_ROW_XATTR, ino);
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_readoptions_set_iterate_upper_bound(ro, hi, nhi);
    lsm_readoptions_set_snapshot(ro, fs->snap); /* NULL: live */
    lsm_iterator_t *it = lsm_create_iterator(fs->db, ro);
    char *list = NULL;
    size_t len = 0, cap = 0;
    for (lsm_iter_seek(it, lo, nlo); lsm_iter_valid(it); lsm_iter_next(it)) {
        size_t klen;
        const char *k = lsm_iter_key(it, &klen);
        fs_key_t pk;
        if (fs_key_parse(k, klen, &pk) != 0 || pk.type != FS_ROW_XATTR || pk.ino != ino) {
            r = -EUCLEAN;
            break;
        }
        if (len + pk.namelen + 1 > cap) {
            size_t ncap = (cap ? cap * 2 : 256) + pk.namelen + 1;
            char *nl = realloc(list, ncap);
            if (!nl) {
                r = -ENOMEM;
                break;
            }
            list = nl;
            cap = ncap;
        }
        memcpy(list + len, pk.name, pk.namelen);
        len += pk.namelen;
        list[len++] = '\0';
    }
    lsm_iter_get_error(it, &err);
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
    if (err)
        r = fs_err(fs, err, "listxattr");
    if (r)
        fs_reply_err(req, r);
    else if (size == 0)
        fuse_reply_xattr(req, len);
    else if (size < len)
        fs_reply_err(req, -ERANGE);
    else
        fuse_reply_buf(req, list, len);
    free(list);
}
