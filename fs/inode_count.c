/*
 * inode_count.c - inodes in use (see inode_count.h). The count lives in fs_t as an atomic
 * (fs->inodes_used): operations on different inodes change it concurrently without a
 * lock; it is set once by fs_inodes_count before any request is served. The same scan sums
 * the fallocated, unwritten blocks of the inodes that have some (fs->held_blocks,
 * falloc_hold.h).
 */
#include "inode_count.h"

#include <stdio.h>

int fs_inodes_count(fs_t *fs)
{
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX], *err = NULL;
    size_t nlo = fs_key_type_start(lo, FS_ROW_INODE), nhi = fs_key_type_end(hi, FS_ROW_INODE);
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_readoptions_set_iterate_upper_bound(ro, hi, nhi);
    lsm_readoptions_set_fill_cache(ro, 0);  /* one pass: keep the block cache for requests */
    lsm_iterator_t *it = lsm_create_iterator(fs->db, ro);
    int_fast64_t n = 0, held = 0;
    for (lsm_iter_seek(it, lo, nlo); lsm_iter_valid(it); lsm_iter_next(it)) {
        n++;
        size_t vlen;
        const char *v = lsm_iter_value(it, &vlen);
        fs_inode_t in;  /* only an inode with fallocated, unwritten blocks is longer */
        if (vlen > FS_INODE_SIZE && fs_inode_decode(v, vlen, &in) == 0)
            held += (int_fast64_t)in.unwritten;
    }
    lsm_iter_get_error(it, &err);
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
    if (err) {
        fprintf(stderr, "lsmfs: %s: counting inodes: %s\n", fs->opts->store, err);
        lsm_free(err);
        return -1;
    }
    atomic_store(&fs->inodes_used, n);
    atomic_store(&fs->held_blocks, held);  /* falloc_hold.h: the sum of the I rows' counts */
    return 0;
}

void fs_inodes_add(fs_t *fs, int delta)
{
    atomic_fetch_add(&fs->inodes_used, delta);
}

void fs_inodes_statfs(fs_t *fs, uint64_t avail_bytes, struct statvfs *st)
{
    int_fast64_t used = atomic_load(&fs->inodes_used);
    uint64_t u = used > 0 ? (uint64_t)used : 0;
    st->f_ffree = avail_bytes / FS_INODE_MIN_COST;
    st->f_favail = st->f_ffree;
    st->f_files = u + st->f_ffree;
}
