/*
 * reclaim.c - deleting an inode for good: every row of it (inode, symlink target, xattrs,
 * data blocks, orphan mark) staged into a batch, and the reclaim of an unlinked inode once
 * the kernel has forgotten it and the last handle is closed.
 *
 * Invariants: an inode is reclaimed only with nlink 0 and neither known to the kernel nor
 * open (inode_table.h), under its inode lock; its rows go in one batch, so a crash leaves
 * either all of them or none (an orphan row then lets the next mount finish the job).
 * Calls go down only: data.c for the blocks, store.c for rows and the commit.
 */
#include "data.h"
#include "fs.h"
#include "inode_count.h"

#include <stdlib.h>
#include <string.h>

/* Deletes rows [lo, hi) of one kind: point deletes when a scan finds at most
 * RECLAIM_POINT_MAX of them (the common case: none or a few), one range deletion otherwise.
 * Range tombstones cost every later read a lookup until compaction drops them; point
 * deletions of a handful of keys cost nothing of the kind. */
#define RECLAIM_POINT_MAX 16
static void batch_drop_rows(fs_t *fs, lsm_writebatch_t *b, const char *lo, size_t nlo,
                            const char *hi, size_t nhi)
{
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_readoptions_set_iterate_upper_bound(ro, hi, nhi);
    lsm_iterator_t *it = lsm_create_iterator(fs->db, ro);
    char *keys[RECLAIM_POINT_MAX];
    size_t lens[RECLAIM_POINT_MAX];
    int n = 0, many = 0;
    for (lsm_iter_seek(it, lo, nlo); lsm_iter_valid(it); lsm_iter_next(it)) {
        size_t klen;
        const char *k = lsm_iter_key(it, &klen);
        if (n == RECLAIM_POINT_MAX || !(keys[n] = malloc(klen ? klen : 1))) {
            many = 1;
            break;
        }
        memcpy(keys[n], k, klen);
        lens[n++] = klen;
    }
    char *err = NULL;
    lsm_iter_get_error(it, &err);
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
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

void fs_batch_reclaim(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, const fs_inode_t *in)
{
    char k1[FS_KEY_MAX], k2[FS_KEY_MAX];
    size_t n1, n2;
    /* Data: nothing to do for a file with no stored block (st_blocks is exact), the
     * blocks one by one for a small file, one range deletion for a large one. */
    if (!in || in->blocks > 0)
        fs_data_drop_all(fs, b, ino, in ? in->size : UINT64_MAX);
    n1 = fs_key_range_start(k1, FS_ROW_XATTR, ino);
    n2 = fs_key_range_end(k2, FS_ROW_XATTR, ino);
    batch_drop_rows(fs, b, k1, n1, k2, n2);
    if (!in || S_ISLNK(in->mode)) {  /* only symlinks have an S row: no useless tombstone */
        n1 = fs_key_symlink(k1, ino);
        lsm_writebatch_delete(b, k1, n1);
    }
    n1 = fs_key_orphan(k1, ino);
    lsm_writebatch_delete(b, k1, n1);
    n1 = fs_key_inode(k1, ino);
    lsm_writebatch_delete(b, k1, n1);
}

void fs_reclaim_if_unused(fs_t *fs, uint64_t ino)
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
        }
    }
    fs_iunlock(fs->itab, ino);
}
