/*
 * falloc_hold.c - the space fallocate promises (see falloc_hold.h). The per-inode count
 * (fs_inode_t.unwritten) moves only in the batch that adds or removes the empty rows, so
 * row and count stay in step across crashes; fs->held_blocks is their sum and moves after
 * the commit. The empty rows of a range are counted only when the inode has any
 * (in->unwritten > 0), so files never fallocated pay nothing.
 */
#include "falloc_hold.h"
#include "data.h"

#include <errno.h>
#include <time.h>

uint64_t fs_hold_blocks(fs_t *fs)
{
    int_fast64_t n = atomic_load(&fs->held_blocks);
    return n > 0 ? (uint64_t)n : 0;
}

void fs_hold_add(fs_t *fs, int64_t delta)
{
    if (delta)
        atomic_fetch_add(&fs->held_blocks, delta);
}

uint64_t fs_hold_avail(fs_t *fs, uint64_t avail_bytes)
{
    uint64_t free_blocks = avail_bytes / fs->bsize, held = fs_hold_blocks(fs);
    return free_blocks > held ? free_blocks - held : 0;
}

int fs_hold_space_for(fs_t *fs, uint64_t blocks)
{
    uint64_t total, free_bytes, avail;
    if (blocks == 0)
        return 0;
    if (lsm_location_space(fs->opts->store, &total, &free_bytes, &avail) != 0)
        return -errno;
    if (total == 0) /* capacity unknown (a Ceph cluster without a manager reports none) */
        return 0;
    uint64_t room = fs_hold_avail(fs, avail), headroom = 0;
    /* Writing the held blocks later costs the engine more than their bytes for a while
     * (the WAL and the table its memtable flushes to, then a compaction's output beside
     * its inputs): while anything is held, new blocks leave that much free too. */
    if (fs_hold_blocks(fs) > 0)
        headroom = FS_HOLD_HEADROOM_BUFFERS * (uint64_t)fs->opts->write_buffer / fs->bsize;
    return blocks + headroom > room ? -ENOSPC : 0;
}

/* Empty B rows of ino with index in [from, to). */
/* Takes the empty rows of [from, to) off in->unwritten; *n = how many there were. */
static int drop_range(fs_t *fs, uint64_t ino, fs_inode_t *in, uint64_t from, uint64_t to,
                      uint64_t *n)
{
    *n = 0;
    if (in->unwritten == 0)
        return 0;
    int r = fs_data_count_unwritten(fs, ino, from, to, n);
    if (r)
        return r;
    if (*n > in->unwritten)  /* a count fsck would fix: never go below 0 */
        *n = in->unwritten;
    in->unwritten -= *n;
    return 0;
}

int fs_hold_write(fs_t *fs, uint64_t ino, fs_inode_t *in, uint64_t off, uint64_t len,
                  uint64_t *used)
{
    uint64_t bs = fs->bsize;
    *used = 0;
    /* No row lies past the block holding EOF, but that block's row may be empty (mode 0
     * of a length that is no block multiple, KEEP_SIZE over EOF): a write starting at or
     * past EOF but inside that block fills it too, so the test is by block, not byte. */
    uint64_t first = off / bs, eof_blocks = (in->size + bs - 1) / bs;
    if (len == 0 || first >= eof_blocks)
        return 0;
    uint64_t last = (off + len - 1) / bs + 1;
    return drop_range(fs, ino, in, first, last < eof_blocks ? last : eof_blocks, used);
}

int fs_hold_truncate(fs_t *fs, uint64_t ino, fs_inode_t *in, uint64_t new_size,
                     uint64_t *freed)
{
    uint64_t bs = fs->bsize;
    *freed = 0;
    if (new_size >= in->size)
        return 0;
    /* blocks from the new block count on go; a partial last block keeps its row */
    return drop_range(fs, ino, in, (new_size + bs - 1) / bs, (in->size + bs - 1) / bs, freed);
}

int fs_hold_punch(fs_t *fs, uint64_t ino, fs_inode_t *in, uint64_t off, uint64_t len,
                  uint64_t *freed)
{
    uint64_t bs = fs->bsize;
    *freed = 0;
    if (off >= in->size || len == 0)
        return 0;
    /* The blocks fs_data_punch drops whole: those the range covers entirely, and the
     * last one when the range reaches EOF. An edge block is only zeroed in part, which
     * leaves an empty row as it is. */
    uint64_t end = in->size - off < len ? in->size : off + len;
    uint64_t h = off / bs, t = (end - 1) / bs;
    if (h == t)
        return 0;
    uint64_t fb = off % bs ? h + 1 : h, lb = (end % bs && end != in->size) ? t : t + 1;
    return drop_range(fs, ino, in, fb, lb, freed);
}

int fs_hold_commit(fs_t *fs, lsm_writebatch_t *b)
{
    char *err = NULL;
    if (fs->opts->ro || atomic_load(&fs->remount_ro)) {
        lsm_writebatch_destroy(b);
        return -EROFS;
    }
    const struct timespec pause = {0, FS_HOLD_RETRY_MS * 1000000L};
    for (int i = 0;; i++) {
        lsm_write(fs->db, fs->wopt, b, &err);
        if (!err || lsm_error_errno(err) != ENOSPC || i >= FS_HOLD_RETRIES)
            break;
        /* The space is promised: the engine's working room ran out (a flush or a
         * compaction holds its output beside its inputs for a while). The reserve is for
         * such writes; then wait for background work to give space back. */
        lsm_free(err);
        err = NULL;
        if (lsm_release_reserve(fs->db) == 0)
            nanosleep(&pause, NULL);
    }
    lsm_writebatch_destroy(b);
    atomic_fetch_add(&fs->stats.batches, 1);
    return err ? fs_err(fs, err, "write batch (fallocated blocks)") : 0;
}
