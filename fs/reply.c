/*
 * reply.c - what the daemon sends back to the kernel: stat attributes from an inode, an
 * entry (counting the kernel's lookup), an error.
 *
 * Errors: every fs/ function that can fail returns 0 or a negative errno, and fs_reply_err
 * takes exactly that (0 = success with no data). A positive value is a caller's bug: test
 * builds (LSM_TESTING) abort on it; release builds still send its magnitude, never a
 * negative error code to the kernel.
 * Also who is asking: fs_caller_in_group (the caller's groups, for suid/sgid and ACL rules).
 * An entry whose reply the kernel never got (an interrupted request) gives its lookup back
 * at once, reclaiming an unlinked inode it kept alive (reclaim.c).
 */
#include "fs.h"

#include <string.h>

void fs_stat_fill(fs_t *fs, uint64_t ino, const fs_inode_t *in, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = ino;
    st->st_mode = in->mode;
    st->st_nlink = in->nlink;
    st->st_uid = in->uid;
    st->st_gid = in->gid;
    st->st_rdev = in->rdev;
    st->st_size = (off_t)in->size;
    st->st_blksize = fs ? fs->bsize : FS_BLOCK_SIZE_DEFAULT;
    st->st_blocks = (blkcnt_t)(in->blocks * ((fs ? fs->bsize : FS_BLOCK_SIZE_DEFAULT) / 512));
    st->st_atim.tv_sec = in->atime.sec;
    st->st_atim.tv_nsec = in->atime.nsec;
    st->st_mtim.tv_sec = in->mtime.sec;
    st->st_mtim.tv_nsec = in->mtime.nsec;
    st->st_ctim.tv_sec = in->ctime.sec;
    st->st_ctim.tv_nsec = in->ctime.nsec;
}

void fs_reply_entry(fuse_req_t req, uint64_t ino, const fs_inode_t *in)
{
    fs_t *fs = fs_of(req);
    struct fuse_entry_param e;
    memset(&e, 0, sizeof(e));
    e.ino = ino;
    e.generation = in->generation;
    e.attr_timeout = fs->opts->attr_timeout;
    e.entry_timeout = fs->opts->entry_timeout;
    fs_stat_fill(fs, ino, in, &e.attr);
    fs_itab_ref(fs->itab, ino, 1);
    if (fuse_reply_entry(req, &e) != 0 && fs_itab_forget(fs->itab, ino, 1))
        fs_reclaim_if_unused(fs, ino);  /* the kernel never got it (interrupted) */
}

void fs_reply_err(fuse_req_t req, int negerr)
{
    FS_ASSERT(negerr <= 0); /* 0 or -errno; a positive errno is a caller's bug */
    fuse_reply_err(req, negerr < 0 ? -negerr : negerr);
}

int fs_caller_in_group(fuse_req_t req, gid_t gid)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    if (ctx->gid == gid)
        return 1;
    gid_t groups[64];
    int n = fuse_req_getgroups(req, 64, groups);
    for (int i = 0; i < n && i < 64; i++)
        if (groups[i] == gid)
            return 1;
    return 0;
}
