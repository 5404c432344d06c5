/*
 * ops_attr.c - attributes: getattr, setattr (chmod, chown, truncate, utimens), access,
 * statfs.
 *
 * setattr is one batch under the inode's lock: the new inode row, plus for a size change
 * the data module's range deletion / edge-block rewrite. ctime follows every change;
 * truncate moves mtime only when the size really changes. Changing the owner of a
 * non-directory clears set-user-ID, and set-group-ID when group-execute is set (as Linux
 * does). With FUSE_HANDLE_KILLPRIV_V2 (devio.c) the kernel leaves that to us also for
 * truncates by callers without CAP_FSETID and for chown(2) with -1,-1; without it the kernel
 * sends the new mode itself.
 */
#include "fs.h"
#include "acl.h"
#include "inode_count.h"
#include "reclaim_queue.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "data.h"
#include "falloc_hold.h"
#include "iflags.h"

void fs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)fi;
    fs_t *fs = fs_of(req);
    fs_inode_t in;
    struct stat st;
    int r = fs_inode_load(fs, ino, &in);
    if (r)
        return fs_reply_err(req, r);
    fs_stat_fill(fs, ino, &in, &st);
    fuse_reply_attr(req, &st, fs->opts->attr_timeout);
}

void fs_drop_suidgid(fuse_req_t req, fs_inode_t *in)
{
    if (S_ISDIR(in->mode) || !(in->mode & (S_ISUID | S_ISGID)))
        return;
    in->mode &= ~(uint32_t)S_ISUID;
    if (in->mode & S_IXGRP) {
        in->mode &= ~(uint32_t)S_ISGID;
    } else if (in->mode & S_ISGID) {
        const struct fuse_ctx *ctx = fuse_req_ctx(req);
        if (ctx && ctx->uid != 0 && !fs_caller_in_group(req, in->gid))
            in->mode &= ~(uint32_t)S_ISGID;
    }
}

static fs_time_t ts_to_time(struct timespec ts)
{
    fs_time_t t = {ts.tv_sec, (uint32_t)ts.tv_nsec};
    if (ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L)
        t.nsec = 0;
    return t;
}

void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                   struct fuse_file_info *fi)
{
    (void)fi;
    fs_t *fs = fs_of(req);
    fs_inode_t in;
    struct stat st;
    if (fs->opts->ro)
        return fs_reply_err(req, -EROFS);
    fs_ilock(fs->itab, ino);
    lsm_writebatch_t *b = NULL;
    int r = fs_inode_load(fs, ino, &in);
    if (r || (r = fs_iflags_may_setattr(&in, to_set)) != 0)
        goto out;
    fs_time_t now = fs_now();
    int changed = 0, frees = 0;
    uint64_t held_freed = 0;  /* fallocated blocks the truncate drops (falloc_hold.h) */
    if (to_set & FUSE_SET_ATTR_MODE) {
        in.mode = (in.mode & S_IFMT) | (attr->st_mode & 07777);
        changed = 1;
    }
    if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
        /* chown(2) of a non-directory drops set-user-ID always, and set-group-ID as
         * Linux's setattr_should_drop_sgid decides: with group-execute, or without it
         * when the caller is neither root nor in the file's group - the group it has
         * before the change, so this comes first. */
        if (!(to_set & FUSE_SET_ATTR_MODE))
            fs_drop_suidgid(req, &in);
        if (to_set & FUSE_SET_ATTR_UID)
            in.uid = attr->st_uid;
        if (to_set & FUSE_SET_ATTR_GID)
            in.gid = attr->st_gid;
        changed = 1;
    }
    b = lsm_writebatch_create();
    /* chmod keeps an access ACL in step (its owner, mask and other entries) */
    if ((to_set & FUSE_SET_ATTR_MODE) && fs_acl_enabled(fs) &&
        (r = fs_acl_chmod(fs, b, ino, in.mode)) != 0)
        goto out;
    if (to_set & FUSE_SET_ATTR_SIZE) {
        if (S_ISDIR(in.mode)) {
            r = -EISDIR;
            goto out;
        }
        if (!S_ISREG(in.mode)) {
            r = -EINVAL;
            goto out;
        }
        if (attr->st_size < 0 || (uint64_t)attr->st_size > FS_MAX_FILE_SIZE) {
            r = attr->st_size < 0 ? -EINVAL : -EFBIG;
            goto out;
        }
        uint64_t nsize = (uint64_t)attr->st_size;
        frees = nsize < in.size;
        if (nsize != in.size) {
            if ((r = fs_hold_truncate(fs, ino, &in, nsize, &held_freed)) != 0 ||
                (r = fs_data_truncate(fs, b, ino, in.size, &in.blocks, nsize)) != 0)
                goto out;
            in.size = nsize;
            in.mtime = now;
        }
        changed = 1;
    }
    /* Dropping set-user-ID / set-group-ID (with group-execute) of a non-directory. Without
     * KILLPRIV_V2 the kernel sends the new mode itself. With it (devio.c) the kernel flags
     * size changes and owner changes by callers without CAP_FSETID
     * (FUSE_SET_ATTR_KILL_SUID), and chown(2) with -1,-1 - or the privilege drop before a
     * write - arrives as a SETATTR with nothing to set: all of them mean "drop". Under the
     * writeback cache the kernel owns ctime, so chown(-1,-1) carries just the new ctime;
     * nothing else sends a ctime-only SETATTR (flushed times always include mtime). */
    int nothing_else = (to_set & ~FUSE_SET_ATTR_CTIME) == 0;
    if (((to_set & FUSE_SET_ATTR_KILL_SUID) || nothing_else) && !(to_set & FUSE_SET_ATTR_MODE))
        fs_drop_suidgid(req, &in);
    if (to_set == 0)
        changed = 1; /* chown(2) with -1,-1 still changes ctime */
    if (to_set & FUSE_SET_ATTR_ATIME_NOW)
        in.atime = now;
    else if (to_set & FUSE_SET_ATTR_ATIME)
        in.atime = ts_to_time(attr->st_atim);
    if (to_set & FUSE_SET_ATTR_MTIME_NOW)
        in.mtime = now;
    else if (to_set & FUSE_SET_ATTR_MTIME)
        in.mtime = ts_to_time(attr->st_mtim);
    if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
                  FUSE_SET_ATTR_MTIME_NOW))
        changed = 1;
    if (to_set & FUSE_SET_ATTR_CTIME)
        in.ctime = ts_to_time(attr->st_ctim);
    else if (changed)
        in.ctime = now;
    fs_batch_inode(b, ino, &in);
    r = fs_commit_ex(fs, b, frees);
    b = NULL;
    if (r == 0) {
        fs_hold_add(fs, -(int64_t)held_freed);
        fs_data_assert_counts(fs, ino, &in);  /* test builds */
    }
out:
    if (b)
        lsm_writebatch_destroy(b);
    fs_iunlock(fs->itab, ino);
    if (r)
        return fs_reply_err(req, r);
    fs_stat_fill(fs, ino, &in, &st);
    fuse_reply_attr(req, &st, fs->opts->attr_timeout);
}

void fs_op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    fs_t *fs = fs_of(req);
    fs_inode_t in;
    int r = fs_inode_load(fs, ino, &in);
    if (r)
        return fs_reply_err(req, r);
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    if (mask == F_OK)
        return fs_reply_err(req, 0);
    if ((mask & W_OK) && fs->opts->ro)
        return fs_reply_err(req, -EROFS);
    unsigned bits;
    if (ctx->uid == 0) {
        /* root: read/write always, execute if anyone may (or a directory) */
        if ((mask & X_OK) && !S_ISDIR(in.mode) && !(in.mode & 0111))
            return fs_reply_err(req, -EACCES);
        return fs_reply_err(req, 0);
    }
    if (ctx->uid == in.uid)
        bits = (in.mode >> 6) & 7;
    else if (fs_caller_in_group(req, in.gid))
        bits = (in.mode >> 3) & 7;
    else
        bits = in.mode & 7;
    unsigned want = ((mask & R_OK) ? 4 : 0) | ((mask & W_OK) ? 2 : 0) | ((mask & X_OK) ? 1 : 0);
    fs_reply_err(req, (bits & want) == want ? 0 : -EACCES);
}

void fs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
    (void)ino;
    fs_t *fs = fs_of(req);
    struct statvfs st;
    memset(&st, 0, sizeof(st));
    uint64_t total, free_bytes, avail;
    fs_reclaimq_drain(fs->rq);  /* df right after rm -rf counts the files as gone */
    if (lsm_location_space(fs->opts->store, &total, &free_bytes, &avail) != 0)
        return fs_reply_err(req, -errno);
    st.f_bsize = fs->bsize;
    st.f_frsize = fs->bsize;
    /* Free space is the location's (host file system or cluster: what can still be written);
     * "used" is the store's own: its tables, its memtables (about what the WALs hold) and the
     * space reserve. So df's Size is the store plus the free space, not the whole disk. */
    (void)total;
    uint64_t sst = 0, mem = 0, reserve = 0;
    lsm_property_int(fs->db, "lsm.total-sst-files-size", &sst);
    lsm_property_int(fs->db, "lsm.cur-size-all-mem-tables", &mem);
    lsm_property_int(fs->db, "lsm.reserve-bytes", &reserve);
    /* fallocated, unwritten blocks are used space, taken from Free and Avail (they are
     * held for their files: falloc_hold.h) */
    uint64_t held = fs_hold_blocks(fs);
    uint64_t own = (sst + mem + reserve + fs->bsize - 1) / fs->bsize + held;
    st.f_bfree = free_bytes / fs->bsize > held ? free_bytes / fs->bsize - held : 0;
    st.f_bavail = fs_hold_avail(fs, avail);
    st.f_blocks = own + st.f_bfree;
    fs_inodes_statfs(fs, avail, &st);  /* df -i: inodes in use + what the space holds */
    st.f_namemax = FS_NAME_MAX;
    st.f_fsid = 0;
    fuse_reply_statfs(req, &st);
}
