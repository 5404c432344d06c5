/*
 * ops_file.c - regular file I/O: open, create, read, write, flush, release, fsync,
 * fallocate, lseek (SEEK_DATA/SEEK_HOLE), copy_file_range.
 *
 * No file descriptor or per-open state is kept: fi->fh is unused, the open count lives in
 * the inode table (it decides between reclaiming and orphaning on the last unlink).
 * Access times move on open for reading and on reads that reach the daemon (cached reads
 * do not), following the relatime/strictatime/noatime policy. Each
 * write is one batch under the inode lock: the data blocks (data.h) plus the inode with
 * the new size and times. fsync makes the WAL durable with lsm_flush_wal(db, 1), which
 * the engine group-commits with other threads' syncs. fallocate (mode 0, KEEP_SIZE) checks
 * the free space first (ENOSPC up front) and stores an empty row per absent block, so
 * st_blocks counts the range at once and later writes into it add nothing.
 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"
#include "devio.h"
#include "falloc_hold.h"
#include "iflags.h"
#include "read_pool.h"
#include "uring.h"

/* Drops set-user-ID/set-group-ID after a write or O_TRUNC by a caller without CAP_FSETID:
 * `flagged` when the kernel said so (KILLPRIV_V2, devio.c), and always for a non-root caller
 * (the approximation used when the kernel does not say). */
static void kill_suid(fuse_req_t req, fs_inode_t *in, int flagged)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    if (flagged || (ctx && ctx->uid != 0))
        fs_drop_suidgid(req, in);
}

static void open_flags(fs_t *fs, struct fuse_file_info *fi)
{
    /* Every change to a file's data passes through this kernel's inode (writes fill its page
     * cache; O_TRUNC, truncate, fallocate and copy_file_range drop the pages they change), so
     * the cached pages are still right at the next open: keep them (no re-read per open). */
    (void)fs;
    fi->keep_cache = 1;
    fi->fh = 0;
}

void fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    fs_t *fs = fs_of(req);
    fs_inode_t in;
    int r;
    if (fs->opts->ro && (fi->flags & O_ACCMODE) != O_RDONLY)
        return fs_reply_err(req, -EROFS);
    fs_ilock(fs->itab, ino);
    if ((r = fs_inode_load(fs, ino, &in)) != 0)
        goto out;
    if (S_ISDIR(in.mode)) {
        r = -EISDIR;
        goto out;
    }
    if ((r = fs_iflags_may_open(&in, fi->flags)) != 0)
        goto out;
    if ((fi->flags & O_TRUNC) && S_ISREG(in.mode) && (fi->flags & O_ACCMODE) != O_RDONLY) {
        /* FUSE_CAP_ATOMIC_O_TRUNC: truncate here, in one batch */
        lsm_writebatch_t *b = lsm_writebatch_create();
        uint64_t freed = 0;
        if ((r = fs_hold_truncate(fs, ino, &in, 0, &freed)) != 0 ||
            (r = fs_data_truncate(fs, b, ino, in.size, &in.blocks, 0)) != 0) {
            lsm_writebatch_destroy(b);
            goto out;
        }
        fs_time_t now = fs_now();
        in.size = 0;
        in.mtime = in.ctime = now;
        kill_suid(req, &in, (fi->flags & FS_FI_KILL_SUIDGID) != 0);
        fs_batch_inode(b, ino, &in);
        if ((r = fs_commit_ex(fs, b, 1)) != 0)
            goto out;
        fs_hold_add(fs, -(int64_t)freed);
        fs_data_assert_counts(fs, ino, &in);  /* test builds */
    }
    fs_itab_open(fs->itab, ino);
out:
    fs_iunlock(fs->itab, ino);
    if (r)
        return fs_reply_err(req, r);
    /* Reads served from the kernel's page cache never reach us, so the access time is
     * moved (when relatime/strictatime says so) when a file is opened for reading. */
    if ((fi->flags & O_ACCMODE) != O_WRONLY && !fs->opts->ro && fs_atime_due(fs, &in, fs_now()))
        fs_touch_atime(fs, ino);
    open_flags(fs, fi);
    if (fuse_reply_open(req, fi) != 0 && fs_itab_release(fs->itab, ino))
        fs_reclaim_if_unused(fs, ino);
}

void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                  struct fuse_file_info *fi)
{
    fs_t *fs = fs_of(req);
    uint64_t ino;
    fs_inode_t in;
    if ((mode & S_IFMT) == 0)
        mode |= S_IFREG;
    if (!S_ISREG(mode))
        return fs_reply_err(req, -EINVAL);
    int r = fs_make_node(req, parent, name, mode, 0, NULL, &ino, &in, 1);
    if (r)
        return fs_reply_err(req, r);
    struct fuse_entry_param e;
    memset(&e, 0, sizeof(e));
    e.ino = ino;
    e.generation = in.generation;
    e.attr_timeout = fs->opts->attr_timeout;
    e.entry_timeout = fs->opts->entry_timeout;
    fs_stat_fill(fs, ino, &in, &e.attr);
    open_flags(fs, fi);
    fs_itab_ref(fs->itab, ino, 1);
    if (fuse_reply_create(req, &e, fi) != 0) {
        int a = fs_itab_forget(fs->itab, ino, 1);
        int b = fs_itab_release(fs->itab, ino);
        if (a || b)
            fs_reclaim_if_unused(fs, ino);
    }
}

int fs_read_buf(fs_t *fs, uint64_t ino, size_t size, off_t off, fs_inode_t *in, char **buf,
                size_t *got)
{
    int r = fs_inode_load(fs, ino, in);
    if (r)
        return r;
    if (off < 0)
        return -EINVAL;
    if (!(*buf = malloc(size ? size : 1)))
        return -ENOMEM;
    *got = 0;
    r = fs_data_read(fs, ino, in->size, (uint64_t)off, size, *buf, got);
    if (r) {
        free(*buf);
        *buf = NULL;
    }
    return r;
}

void fs_serve_read(fs_t *fs, fuse_req_t req, uint64_t ino, size_t size, off_t off)
{
    fs_inode_t in;
    char *buf;
    size_t got;
    int r = fs_read_buf(fs, ino, size, off, &in, &buf, &got);
    if (r)
        return fs_reply_err(req, r);
    atomic_fetch_add(&fs->stats.reads, 1);
    atomic_fetch_add(&fs->stats.bytes_read, got);
    /* before the reply, so that a stat after read() sees the new atime */
    if (!fs->opts->ro && fs_atime_due(fs, &in, fs_now()))
        fs_touch_atime(fs, ino);
    fuse_reply_buf(req, buf, got);
    free(buf);
}

void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                struct fuse_file_info *fi)
{
    (void)fi;
    fs_t *fs = fs_of(req);
    /* a readahead-sized READ on a pinned ring worker goes to the unpinned pool (read_pool.h) */
    if (size >= FS_READ_POOL_MIN && fs->rpool && fs_uring_is_worker(fs->uring) &&
        fs_read_pool_push(fs->rpool, req, ino, size, off) == 0)
        return;
    fs_serve_read(fs, req, ino, size, off);
}

/* Writes buf at off into inode ino (lock held, inode loaded in *in): one batch.
 * `cached` is a writeback of the kernel's page cache: the kernel then owns mtime/ctime
 * and suid clearing (it sends them with setattr), so the write must not move them. */
static int write_locked(fuse_req_t req, fs_t *fs, uint64_t ino, fs_inode_t *in,
                        const char *buf, size_t size, uint64_t off, int cached, int kill)
{
    FS_ASSERT_ILOCKED(fs->itab, ino);
    if (!S_ISREG(in->mode))
        return -EINVAL;
    if (off > FS_MAX_FILE_SIZE || size > FS_MAX_FILE_SIZE - off)
        return -EFBIG;
    int r = fs_iflags_may_write(fs, ino, in, buf, size, off);
    if (r)
        return r;
    uint64_t used = 0;  /* held blocks this write fills (falloc_hold.h) */
    if ((r = fs_hold_write(fs, ino, in, off, size, &used)) != 0)
        return r;
    lsm_writebatch_t *b = lsm_writebatch_create();
    uint64_t old_blocks = in->blocks;
    r = fs_data_write(fs, b, ino, in->size, &in->blocks, off, buf, size);
    /* while space is held, new blocks must fit beside it */
    if (r == 0 && in->blocks > old_blocks && fs_hold_blocks(fs) > 0)
        r = fs_hold_space_for(fs, in->blocks - old_blocks);
    if (r) {
        lsm_writebatch_destroy(b);
        return r;
    }
    if (off + size > in->size)
        in->size = off + size;
    if (!cached) {
        in->mtime = in->ctime = fs_now();
        kill_suid(req, in, kill);
    }
    fs_batch_inode(b, ino, in);
    /* a write that only fills held blocks was promised its room (falloc_hold.h) */
    r = used > 0 && in->blocks == old_blocks ? fs_hold_commit(fs, b) : fs_commit(fs, b);
    if (r == 0) {
        fs_hold_add(fs, -(int64_t)used);
        fs_data_assert_counts(fs, ino, in);  /* test builds */
    }
    /* The kernel caches attributes for attr_timeout and cannot know st_blocks. Without
     * the writeback cache it marks st_blocks (with size, mtime, ctime) stale itself when a
     * WRITE or a page writeback completes, and the next stat asks us: no notification
     * needed (it cost a system call and a kernel inode lookup per appending write). With
     * the writeback cache the kernel trusts its own attributes: tell it when a write
     * allocated blocks (attributes only; no page is touched). */
    if (r == 0 && in->blocks != old_blocks && fs->se && fs->opts->writeback)
        fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
    return r;
}

void fs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                 struct fuse_file_info *fi)
{
    fs_t *fs = fs_of(req);
    fs_inode_t in;
    if (fs->opts->ro)
        return fs_reply_err(req, -EROFS);
    if (off < 0)
        return fs_reply_err(req, -EINVAL);
    fs_ilock(fs->itab, ino);
    int r = fs_inode_load(fs, ino, &in);
    if (r == 0)
        /* Only with the writeback cache does the kernel own mtime/ctime of page writebacks;
         * without it (S_NOCMTIME), mmap writebacks must move them here. */
        r = write_locked(req, fs, ino, &in, buf, size, (uint64_t)off,
                         fi && fi->writepage && fs->opts->writeback,
                         fi && (fi->flags & FS_FI_KILL_SUIDGID));
    fs_iunlock(fs->itab, ino);
    if (r)
        return fs_reply_err(req, r);
    atomic_fetch_add(&fs->stats.writes, 1);
    atomic_fetch_add(&fs->stats.bytes_written, size);
    fuse_reply_write(req, size);
}

void fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)fi;
    fs_t *fs = fs_of(req);
    if (fs_itab_release(fs->itab, ino))
        fs_reclaim_if_unused(fs, ino);
    fs_reply_err(req, 0);
}

void fs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    (void)ino;
    (void)datasync;
    (void)fi;
    fs_t *fs = fs_of(req);
    char *err = NULL;
    atomic_fetch_add(&fs->stats.fsyncs, 1);
    if (fs->opts->ro)
        return fs_reply_err(req, 0);
    lsm_flush_wal(fs->db, 1, &err);
    fs_reply_err(req, err ? fs_err(fs, err, "fsync") : 0);
}

/* Empty B rows staged per batch by an allocating fallocate (about 0.5 MB of batch). */
#define FALLOC_ROWS_PER_BATCH 16384

/* Mode 0 / KEEP_SIZE (lock held, inode in *in): checks that the blocks to allocate fit,
 * then grows the size (mode 0) in the first batch and stages an empty row for every
 * absent block of the range, in batches of FALLOC_ROWS_PER_BATCH, each with the inode and
 * its block count (so a crash half-way leaves a consistent, partly allocated file). With
 * KEEP_SIZE only blocks below the size are allocated (no row lies past EOF; data.h), but
 * the space check counts the whole range (see docs/FILESYSTEM.md). */
static int allocate_locked(fs_t *fs, uint64_t ino, fs_inode_t *in, uint64_t off, uint64_t end,
                           int keep)
{
    uint64_t bs = fs->bsize, old_blocks = in->blocks;
    uint64_t alloc_end = keep && end > in->size ? in->size : end;
    uint64_t from = off / bs, to = alloc_end > off ? (alloc_end + bs - 1) / bs : from, need;
    int r = fs_data_count_absent(fs, ino, from, to, &need);
    /* blocks past EOF under KEEP_SIZE are not stored, but must fit as on ext4 */
    uint64_t past = keep && end > in->size ? (end + bs - 1) / bs - (to > from ? to : from) : 0;
    if (r || (r = fs_hold_space_for(fs, need + past)) != 0)
        return r;
    int grow = !keep && end > in->size;
    if (!grow && need == 0)
        return 0;
    /* inodes counting unwritten blocks are longer: older lsmfs must refuse the store */
    if (need > 0 && (r = fs_add_feature(fs, FS_FEATURE_UNWRITTEN)) != 0)
        return r;
    fs_time_t now = fs_now();
    do {
        lsm_writebatch_t *b = lsm_writebatch_create();
        uint64_t before = in->blocks;
        if ((r = fs_data_allocate(fs, b, ino, &in->blocks, &from, to,
                                  FALLOC_ROWS_PER_BATCH)) != 0) {
            lsm_writebatch_destroy(b);
            break;
        }
        uint64_t staged = in->blocks - before;  /* empty rows: held until written */
        in->unwritten += staged;
        if (grow) {
            in->size = end;
            in->mtime = now;
            grow = 0;
        }
        in->ctime = now;
        fs_batch_inode(b, ino, in);
        if ((r = fs_commit(fs, b)) != 0)
            break;
        fs_hold_add(fs, (int64_t)staged);
    } while (from < to);
    if (in->blocks != old_blocks && fs->se)
        fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
    return r;
}

void fs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                     struct fuse_file_info *fi)
{
    (void)fi;
    fs_t *fs = fs_of(req);
    fs_inode_t in;
    if (fs->opts->ro)
        return fs_reply_err(req, -EROFS);
    if (off < 0 || len <= 0)
        return fs_reply_err(req, -EINVAL);
    int punch = mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
    int zero = (mode & ~FALLOC_FL_KEEP_SIZE) == FALLOC_FL_ZERO_RANGE;
    if (mode != 0 && mode != FALLOC_FL_KEEP_SIZE && !punch && !zero)
        return fs_reply_err(req, -EOPNOTSUPP);
    if ((uint64_t)off > FS_MAX_FILE_SIZE || (uint64_t)len > FS_MAX_FILE_SIZE - (uint64_t)off)
        return fs_reply_err(req, -EFBIG);
    fs_ilock(fs->itab, ino);
    int r = fs_inode_load(fs, ino, &in);
    if (r)
        goto out;
    if (!S_ISREG(in.mode)) {
        r = S_ISDIR(in.mode) ? -EISDIR : -ENODEV;
        goto out;
    }
    if ((r = fs_iflags_may_fallocate(&in, mode)) != 0)
        goto out;
    uint64_t end = (uint64_t)off + (uint64_t)len;
    if (!punch && !zero) {
        r = allocate_locked(fs, ino, &in, (uint64_t)off, end, mode == FALLOC_FL_KEEP_SIZE);
        goto out;
    }
    lsm_writebatch_t *b = lsm_writebatch_create();
    uint64_t freed = 0;
    /* ZERO_RANGE is a punch (zeros read back from a hole, as blocks are only stored on
     * demand) that may also grow the file */
    if ((r = fs_hold_punch(fs, ino, &in, (uint64_t)off, (uint64_t)len, &freed)) != 0 ||
        (r = fs_data_punch(fs, b, ino, in.size, &in.blocks, (uint64_t)off, (uint64_t)len)) != 0) {
        lsm_writebatch_destroy(b);
        goto out;
    }
    if (zero && !(mode & FALLOC_FL_KEEP_SIZE) && end > in.size)
        in.size = end;
    in.mtime = in.ctime = fs_now();
    fs_batch_inode(b, ino, &in);
    if ((r = fs_commit_ex(fs, b, 1)) == 0)
        fs_hold_add(fs, -(int64_t)freed);
out:
    if (r == 0)
        fs_data_assert_counts(fs, ino, &in);  /* test builds */
    fs_iunlock(fs->itab, ino);
    fs_reply_err(req, r);
}

void fs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
                 struct fuse_file_info *fi)
{
    (void)fi;
    fs_t *fs = fs_of(req);
    fs_inode_t in;
    if (whence != SEEK_DATA && whence != SEEK_HOLE)
        return fs_reply_err(req, -EINVAL);
    if (off < 0)
        return fs_reply_err(req, -ENXIO);
    int r = fs_inode_load(fs, ino, &in);
    if (r)
        return fs_reply_err(req, r);
    uint64_t pos;
    r = fs_data_seek(fs, ino, in.size, (uint64_t)off, whence, &pos);
    if (r)
        return fs_reply_err(req, r);
    fuse_reply_lseek(req, (off_t)pos);
}

void fs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                           struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
                           struct fuse_file_info *fi_out, size_t len, int flags)
{
    (void)fi_in;
    (void)fi_out;
    fs_t *fs = fs_of(req);
    fs_inode_t src, dst;
    if (flags != 0 || off_in < 0 || off_out < 0)
        return fs_reply_err(req, -EINVAL);
    if (fs->opts->ro)
        return fs_reply_err(req, -EROFS);
    if (len > FS_COPY_CHUNK)
        len = FS_COPY_CHUNK;
    uint64_t set[2] = {ino_in, ino_out};
    fs_lockset_t ls;
    char *buf = NULL;
    size_t got = 0;
    fs_ilock_set(fs->itab, set, 2, &ls);
    int r = fs_inode_load(fs, ino_in, &src);
    if (r == 0)
        r = fs_inode_load(fs, ino_out, &dst);
    if (r)
        goto out;
    if (!S_ISREG(src.mode) || !S_ISREG(dst.mode)) {
        r = -EINVAL;
        goto out;
    }
    if ((uint64_t)off_in >= src.size || len == 0)
        goto out;
    if (len > src.size - (uint64_t)off_in)
        len = src.size - (uint64_t)off_in;
    if (!(buf = malloc(len))) {
        r = -ENOMEM;
        goto out;
    }
    if ((r = fs_data_read(fs, ino_in, src.size, (uint64_t)off_in, len, buf, &got)) != 0)
        goto out;
    if (ino_in == ino_out)
        dst = src;
    r = write_locked(req, fs, ino_out, &dst, buf, got, (uint64_t)off_out, 0, 0);
out:
    fs_iunlock_set(fs->itab, &ls);
    free(buf);
    if (r)
        return fs_reply_err(req, r);
    fuse_reply_write(req, got);
}
