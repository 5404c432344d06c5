/*
 * data.h - the one module that lays out file data in the store.
 *
 * Today: fixed-size blocks, one B row per block (schema.h), a missing row is a hole, a
 * stored block may be shorter than the block size (the rest reads as zeros). Invariant:
 * no stored byte lies at or beyond the file size, so growing a file never exposes old
 * data. The interface below is all the rest of the daemon knows about file data, so an
 * inline-small-file or value-log layout can replace this file alone.
 *
 * Functions that change data add rows to the caller's batch (the caller adds the inode
 * and commits) and must be called with the inode's lock held; they keep *blocks (the
 * inode's count of stored blocks, for st_blocks) exact. A file whose count equals its
 * number of blocks is dense: then no existence check is needed. All return 0 or -errno.
 */
#ifndef LSMFS_DATA_H
#define LSMFS_DATA_H

#include "fs.h"

/* Reads [off, off+len) of a file of `size` bytes into buf; *got = bytes up to EOF. */
int fs_data_read(fs_t *fs, uint64_t ino, uint64_t size, uint64_t off, size_t len, char *buf,
                 size_t *got);
/* Stages the write of buf at off (read-modify-write of partial blocks). */
int fs_data_write(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, uint64_t size,
                  uint64_t *blocks, uint64_t off, const char *buf, size_t len);
/* Stages a size change from old_size to new_size (drops blocks past the new end with one
 * range deletion and cuts the last partial block). */
/* Stages the deletion of every data block of a file of `size` bytes (UINT64_MAX: size
 * unknown, every block). */
void fs_data_drop_all(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, uint64_t size);
int fs_data_truncate(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, uint64_t old_size,
                     uint64_t *blocks, uint64_t new_size);
/* Stages zeroing [off, off+len) as a hole (whole blocks dropped, edges zeroed). */
int fs_data_punch(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, uint64_t size,
                  uint64_t *blocks, uint64_t off, uint64_t len);
/* fallocate: the number of blocks in [from, to) that are not stored yet (what allocating
 * the range adds to *blocks). */
int fs_data_count_absent(fs_t *fs, uint64_t ino, uint64_t from, uint64_t to, uint64_t *n);
/* fallocate's hold: the number of empty B rows (allocated, never written) in [from, to). */
int fs_data_count_unwritten(fs_t *fs, uint64_t ino, uint64_t from, uint64_t to, uint64_t *n);
/* fallocate: stages an empty B row (an allocated block that reads as zeros; it holds no
 * byte, so no byte lies past EOF even beyond the size) for each absent block in
 * [*from, to), at most max of them; advances *from past what it covered and counts the
 * new rows into *blocks. Later writes into such a block find it stored: st_blocks stays. */
int fs_data_allocate(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, uint64_t *blocks,
                     uint64_t *from, uint64_t to, uint64_t max);
/* SEEK_DATA / SEEK_HOLE from off; -ENXIO past the end. A block fallocate allocated and
 * nothing wrote (an empty row) is a hole, as an unwritten extent on ext4. */
int fs_data_seek(fs_t *fs, uint64_t ino, uint64_t size, uint64_t off, int whence,
                 uint64_t *out);

/* Test builds (LSM_TESTING) only: asserts that in->blocks is the number of the file's B
 * rows, in->unwritten the number of its empty ones, and that no row lies past the block
 * holding EOF. Called with the inode's lock held, after a change to the file committed;
 * a file of more than FS_DATA_CHECK_MAX_ROWS rows is not recounted (time). Release
 * builds: nothing. */
#define FS_DATA_CHECK_MAX_ROWS 16384
#ifdef LSM_TESTING
void fs_data_assert_counts(fs_t *fs, uint64_t ino, const fs_inode_t *in);
#else
static inline void fs_data_assert_counts(fs_t *fs, uint64_t ino, const fs_inode_t *in)
{
    (void)fs;
    (void)ino;
    (void)in;
}
#endif

#endif
