/*
 * iflags.c - chattr flags: FS_IOC_GETFLAGS / FS_IOC_SETFLAGS and the checks that enforce
 * immutable (i) and append-only (a) for everyone, root included (see iflags.h).
 *
 * Invariants: the flags live in the inode's `flags` field (FS_INODE_FL_*, Linux's bit
 * values); bits this version does not know are kept as they are and never reported. A
 * flag change is one batch (the inode with its new ctime) under the inode's lock. The
 * superblock carries FS_FEATURE_IFLAGS from the first flag set on (never cleared).
 */
#include "iflags.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

#define FL_ANY (FS_INODE_FL_IMMUTABLE | FS_INODE_FL_APPEND)

int fs_iflags_is_ioctl(unsigned int cmd)
{
    return cmd == FS_IOC_GETFLAGS || cmd == FS_IOC_SETFLAGS || cmd == FS_IOC32_GETFLAGS ||
           cmd == FS_IOC32_SETFLAGS || cmd == FS_IOC_FSGETXATTR || cmd == FS_IOC_FSSETXATTR;
}

static int is_get(unsigned int cmd)
{
    return cmd == FS_IOC_GETFLAGS || cmd == FS_IOC32_GETFLAGS;
}

/* Sets the known flags of ino to v; 0 or -errno. */
static int set_flags(fuse_req_t req, fs_t *fs, uint64_t ino, uint32_t v)
{
    fs_inode_t in;
    if (v & ~FS_INODE_FL_KNOWN)
        return -EOPNOTSUPP;
    if (fs->opts->ro)
        return -EROFS;
    fs_ilock(fs->itab, ino);
    int r = fs_inode_load(fs, ino, &in);
    if (r == 0 && ((in.flags ^ v) & FS_INODE_FL_KNOWN)) {
        const struct fuse_ctx *ctx = fuse_req_ctx(req);
        if (!ctx || ctx->uid != 0) {
            r = -EPERM;  /* CAP_LINUX_IMMUTABLE: the kernel checks it too */
        } else if (v == 0 || (r = fs_add_feature(fs, FS_FEATURE_IFLAGS)) == 0) {
            in.flags = (in.flags & ~FS_INODE_FL_KNOWN) | v;
            in.ctime = fs_now();
            lsm_writebatch_t *b = lsm_writebatch_create();
            fs_batch_inode(b, ino, &in);
            r = fs_commit(fs, b);
        }
    }
    fs_iunlock(fs->itab, ino);
    if (r == 0 && fs->se)
        fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);  /* ctime; attributes only */
    return r;
}

/* FS_IOC_FSGETXATTR: the same two flags as FS_XFLAG_*; the other fields are 0. */
static void get_xattr_flags(fuse_req_t req, fs_t *fs, uint64_t ino, size_t out_bufsz)
{
    fs_inode_t in;
    struct fsxattr fa;
    if (out_bufsz != sizeof(fa))
        return fs_reply_err(req, -EINVAL);
    int r = fs_inode_load(fs, ino, &in);
    if (r)
        return fs_reply_err(req, r);
    memset(&fa, 0, sizeof(fa));
    if (in.flags & FS_INODE_FL_IMMUTABLE)
        fa.fsx_xflags |= FS_XFLAG_IMMUTABLE;
    if (in.flags & FS_INODE_FL_APPEND)
        fa.fsx_xflags |= FS_XFLAG_APPEND;
    fuse_reply_ioctl(req, 0, &fa, sizeof(fa));
}

/* FS_IOC_FSSETXATTR (xfs_io chattr): only the two flags; any other field set: EOPNOTSUPP. */
static void set_xattr_flags(fuse_req_t req, fs_t *fs, uint64_t ino, const void *in_buf,
                            size_t in_bufsz)
{
    struct fsxattr fa;
    if (in_bufsz != sizeof(fa))
        return fs_reply_err(req, -EINVAL);
    memcpy(&fa, in_buf, sizeof(fa));
    uint32_t x = fa.fsx_xflags, v = 0;
    if (x & ~(uint32_t)(FS_XFLAG_IMMUTABLE | FS_XFLAG_APPEND) || fa.fsx_extsize ||
        fa.fsx_projid || fa.fsx_cowextsize)
        return fs_reply_err(req, -EOPNOTSUPP);
    if (x & FS_XFLAG_IMMUTABLE)
        v |= FS_INODE_FL_IMMUTABLE;
    if (x & FS_XFLAG_APPEND)
        v |= FS_INODE_FL_APPEND;
    int r = set_flags(req, fs, ino, v);
    if (r)
        return fs_reply_err(req, r);
    fuse_reply_ioctl(req, 0, NULL, 0);
}

void fs_iflags_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, const void *in_buf,
                     size_t in_bufsz, size_t out_bufsz)
{
    fs_t *fs = fs_of(req);
    if (cmd == FS_IOC_FSGETXATTR)
        return get_xattr_flags(req, fs, ino, out_bufsz);
    if (cmd == FS_IOC_FSSETXATTR)
        return set_xattr_flags(req, fs, ino, in_buf, in_bufsz);
    if (is_get(cmd)) {
        fs_inode_t in;
        if (out_bufsz != 4 && out_bufsz != 8)
            return fs_reply_err(req, -EINVAL);
        int r = fs_inode_load(fs, ino, &in);
        if (r)
            return fs_reply_err(req, r);
        uint64_t v = in.flags & FS_INODE_FL_KNOWN;
        uint32_t v32 = (uint32_t)v;
        fuse_reply_ioctl(req, 0, out_bufsz == 8 ? (const void *)&v : (const void *)&v32,
                         out_bufsz);
        return;
    }
    uint64_t v = 0;
    if (in_bufsz == 4) {
        uint32_t v32;
        memcpy(&v32, in_buf, 4);
        v = v32;
    } else if (in_bufsz == 8) {
        memcpy(&v, in_buf, 8);
    } else {
        return fs_reply_err(req, -EINVAL);
    }
    if (v > UINT32_MAX)
        return fs_reply_err(req, -EOPNOTSUPP);
    int r = set_flags(req, fs, ino, (uint32_t)v);
    if (r)
        return fs_reply_err(req, r);
    fuse_reply_ioctl(req, 0, NULL, 0);
}

int fs_iflags_may_open(const fs_inode_t *in, int open_flags)
{
    int writes = (open_flags & O_ACCMODE) != O_RDONLY;
    if ((in->flags & FS_INODE_FL_IMMUTABLE) && (writes || (open_flags & O_TRUNC)))
        return -EPERM;
    if ((in->flags & FS_INODE_FL_APPEND) &&
        ((open_flags & O_TRUNC) || (writes && !(open_flags & O_APPEND))))
        return -EPERM;
    return 0;
}

int fs_iflags_may_write(fs_t *fs, uint64_t ino, const fs_inode_t *in, const char *buf,
                        size_t size, uint64_t off)
{
    if (in->flags & FS_INODE_FL_IMMUTABLE)
        return -EPERM;
    if (!(in->flags & FS_INODE_FL_APPEND) || off >= in->size)
        return 0;
    /* Below the end: allowed only if every byte there stays as stored (the writeback
     * cache writes whole pages, which may start before the end). */
    uint64_t over = in->size - off;
    size_t n = over < size ? (size_t)over : size;
    char *old = malloc(n ? n : 1);
    if (!old)
        return -ENOMEM;
    size_t got = 0;
    int r = fs_data_read(fs, ino, in->size, off, n, old, &got);
    if (r == 0 && (got != n || memcmp(old, buf, n) != 0))
        r = -EPERM;
    free(old);
    return r;
}

int fs_iflags_may_fallocate(const fs_inode_t *in, int mode)
{
    if (in->flags & FS_INODE_FL_IMMUTABLE)
        return -EPERM;
    if ((in->flags & FS_INODE_FL_APPEND) && (mode & ~FALLOC_FL_KEEP_SIZE))
        return -EPERM;
    return 0;
}

int fs_iflags_may_setattr(const fs_inode_t *in, int to_set)
{
    if (in->flags & FS_INODE_FL_IMMUTABLE)
        return -EPERM;
    if (!(in->flags & FS_INODE_FL_APPEND))
        return 0;
    if (to_set & (FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
                  FUSE_SET_ATTR_GID))
        return -EPERM;
    /* Explicit times (not "now") are refused, as ext4 does. The writeback cache hands over
     * the times of cached writes as an explicit mtime with ctime (and no atime), and sends
     * even utimes(NULL)'s mtime that way: an explicit mtime with ctime passes. */
    if ((to_set & FUSE_SET_ATTR_ATIME) && !(to_set & FUSE_SET_ATTR_ATIME_NOW))
        return -EPERM;
    if ((to_set & FUSE_SET_ATTR_MTIME) &&
        !(to_set & (FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME)))
        return -EPERM;
    return 0;
}

int fs_iflags_may_change_entry(const fs_inode_t *in)
{
    return (in->flags & FL_ANY) ? -EPERM : 0;
}

int fs_iflags_may_add_to(const fs_inode_t *dir)
{
    return (dir->flags & FS_INODE_FL_IMMUTABLE) ? -EPERM : 0;
}

int fs_iflags_may_remove_from(const fs_inode_t *dir)
{
    return (dir->flags & FL_ANY) ? -EPERM : 0;
}
