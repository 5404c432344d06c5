/*
 * reclaim.c - deleting an inode for good: every row of it (inode, symlink target, xattrs,
 * data blocks, orphan mark) staged into a batch, and the reclaim of an unlinked inode once
 * the kernel has forgotten it and the last handle is closed.
 *
 * Invariants: an inode is reclaimed only with nlink 0 and neither known to the kernel nor
 * open (inode_table.h), under its inode lock; its rows go in one batch, so a crash leaves
 * either all of them or none (an orphan row then lets the next mount finish the job).
 * When the reclaim queue runs (reclaim_queue.h), fs_reclaim_if_unused (reclaim_queue.c) only
 * queues the inode and fs_reclaim_many later reclaims a whole batch of them in one commit;
 * otherwise it calls fs_reclaim_one. Deferring is crash-safe because each such inode still
 * has its orphan row until that commit.
 * Calls go down only: data.c for the blocks, store.c for rows and the commit.
 */
#include "data.h"
#include "fs.h"
#include "falloc_hold.h"
#include "inode_count.h"

#include <stdlib.h>
#include <string.h>

/* Deletes rows [lo, hi) of one kind: point deletes when a scan finds at most
 * RECLAIM_POINT_MAX of them (the common case: none or a few), one range deletion otherwise.
 * Range tombstones cost every later read a lookup until compaction drops them; point
 * deletions of a handful of keys cost nothing of the kind. */
#define RECLAIM_POINT_MAX 16

/* 1 if key k lies at or past the bound hi (keys compare bytewise, schema.h). */
static int past(const char *k, size_t klen, const char *hi, size_t nhi)
{
    int c = memcmp(k, hi, klen < nhi ? klen : nhi);
    return c > 0 || (c == 0 && klen >= nhi);
}

/* shared: an iterator over the store that the caller made (bounded by the end of the rows'
 * kind, so a seek never scans beyond it) and keeps for many calls, or NULL for one of our
 * own bounded by hi. */
static void batch_drop_rows(fs_t *fs, lsm_writebatch_t *b, lsm_iterator_t *shared,
                            const char *lo, size_t nlo, const char *hi, size_t nhi)
{
    lsm_readoptions_t *ro = NULL;
    lsm_iterator_t *it = shared;
    if (!it) {
        ro = lsm_readoptions_create();
        lsm_readoptions_set_iterate_upper_bound(ro, hi, nhi);
        it = lsm_create_iterator(fs->db, ro);
    }
    char *keys[RECLAIM_POINT_MAX];
    size_t lens[RECLAIM_POINT_MAX];
    int n = 0, many = 0;
    for (lsm_iter_seek(it, lo, nlo); lsm_iter_valid(it); lsm_iter_next(it)) {
        size_t klen;
        const char *k = lsm_iter_key(it, &klen);
        if (shared && past(k, klen, hi, nhi))
            break;
        if (n == RECLAIM_POINT_MAX || !(keys[n] = malloc(klen ? klen : 1))) {
            many = 1;
            break;
        }
        memcpy(keys[n], k, klen);
        lens[n++] = klen;
    }
    char *err = NULL;
    lsm_iter_get_error(it, &err);
    if (!shared) {
        lsm_iter_destroy(it);
        lsm_readoptions_destroy(ro);
    }
    if (err || many) {
        lsm_free(err);
        lsm_writebatch_delete_range(b, lo, nlo, hi, nhi);
    } else {
        for (int i = 0; i < n; i++)
            lsm_writebatch_delete(b, keys[i], lens[i]);
    }
    for (int i = 0; i < n; i++)
        free(keys[i]);
}

static void stage_reclaim(fs_t *fs, lsm_writebatch_t *b, lsm_iterator_t *xit, uint64_t ino,
                          const fs_inode_t *in)
{
    char k1[FS_KEY_MAX], k2[FS_KEY_MAX];
    size_t n1, n2;
    /* Data: nothing to do for a file with no stored block (st_blocks is exact), the
     * blocks one by one for a small file, one range deletion for a large one. */
    if (!in || in->blocks > 0)
        fs_data_drop_all(fs, b, ino, in ? in->size : UINT64_MAX);
    n1 = fs_key_range_start(k1, FS_ROW_XATTR, ino);
    n2 = fs_key_range_end(k2, FS_ROW_XATTR, ino);
    batch_drop_rows(fs, b, xit, k1, n1, k2, n2);
    if (!in || S_ISLNK(in->mode)) {  /* only symlinks have an S row: no useless tombstone */
        n1 = fs_key_symlink(k1, ino);
        lsm_writebatch_delete(b, k1, n1);
    }
    n1 = fs_key_orphan(k1, ino);
    lsm_writebatch_delete(b, k1, n1);
    n1 = fs_key_inode(k1, ino);
    lsm_writebatch_delete(b, k1, n1);
}

void fs_batch_reclaim(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, const fs_inode_t *in)
{
    stage_reclaim(fs, b, NULL, ino, in);
}

static int cmp_ino(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

size_t fs_reclaim_many(fs_t *fs, uint64_t *inos, size_t n)
{
    if (fs->opts->ro || n == 0)
        return 0;
    qsort(inos, n, sizeof(*inos), cmp_ino);  /* the seeks below then move forward only */
    char hi[FS_KEY_MAX];
    size_t nhi = fs_key_type_end(hi, FS_ROW_XATTR);
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_readoptions_set_iterate_upper_bound(ro, hi, nhi);
    lsm_iterator_t *xit = lsm_create_iterator(fs->db, ro);
    lsm_writebatch_t *b = lsm_writebatch_create();
    size_t staged = 0;
    uint64_t held = 0;  /* fallocated, unwritten blocks of the reclaimed files */
    for (size_t i = 0; i < n; i++) {
        fs_inode_t in;
        if (i > 0 && inos[i] == inos[i - 1])
            continue;
        /* Checked under the inode lock, as inline. The lock is let go before the commit:
         * an inode that is unlinked, forgotten by the kernel and closed cannot be reached
         * again (lookups find no entry, handle lookups refuse nlink 0, numbers are never
         * reused), and it is queued once, so nothing else touches it until then. */
        fs_ilock(fs->itab, inos[i]);
        if (fs_inode_load(fs, inos[i], &in) == 0 && in.nlink == 0 &&
            !fs_itab_busy(fs->itab, inos[i])) {
            stage_reclaim(fs, b, xit, inos[i], &in);
            staged++;
            held += in.unwritten;
        }
        fs_iunlock(fs->itab, inos[i]);
    }
    lsm_iter_destroy(xit);
    lsm_readoptions_destroy(ro);
    if (staged == 0) {
        lsm_writebatch_destroy(b);
        return 0;
    }
    if (fs_commit_ex(fs, b, 1) != 0)
        return 0;  /* the orphan rows stay: the next mount (or unmount) reclaims them */
    atomic_fetch_add(&fs->stats.orphans_reclaimed, staged);
    fs_inodes_add(fs, -(int)staged);
    fs_hold_add(fs, -(int64_t)held);
    return staged;
}

void fs_reclaim_one(fs_t *fs, uint64_t ino)
{
    fs_inode_t in;
    if (fs->opts->ro)
        return;
    fs_ilock(fs->itab, ino);
    if (fs_inode_load(fs, ino, &in) == 0 && in.nlink == 0 && !fs_itab_busy(fs->itab, ino)) {
        lsm_writebatch_t *b = lsm_writebatch_create();
        fs_batch_reclaim(fs, b, ino, &in);
        if (fs_commit_ex(fs, b, 1) == 0) {
            atomic_fetch_add(&fs->stats.orphans_reclaimed, 1);
            fs_inodes_add(fs, -1);
            fs_hold_add(fs, -(int64_t)in.unwritten);
        }
    }
    fs_iunlock(fs->itab, ino);
}
