/*
 * falloc_hold.h - the space fallocate promises: held until written or dropped.
 *
 * fallocate (mode 0, and KEEP_SIZE below EOF) stores an empty B row per allocated block;
 * each inode counts its empty rows (fs_inode_t.unwritten, persisted in the I row, so a
 * crash keeps row and count in one batch), and the daemon keeps their sum in
 * fs->held_blocks (summed from the I rows at mount, by fs_inodes_count's scan). The sum is
 * the space held: statfs subtracts it from Free/Avail (and counts it as used), and a write
 * or fallocate that needs new blocks gets ENOSPC when they do not fit in Avail minus the
 * held space. A write into an empty row needs no new space: it consumes the hold. Each
 * change below is computed before the caller's commit (into the inode it stages) and
 * applied to fs->held_blocks only after the commit succeeded (fs_hold_add).
 *
 * The hold is accounting, not disk space: it stops writers through this mount, not other
 * programs writing to the store's host file system (docs/FILESYSTEM.md).
 * All functions with an inode are called with its lock held. Return 0 or -errno.
 */
#ifndef LSMFS_FALLOC_HOLD_H
#define LSMFS_FALLOC_HOLD_H

#include "fs.h"

/* While space is held, writes needing new blocks also leave this many memtables' worth
 * free (write_buffer each): the engine's working room for writing the held blocks. */
#define FS_HOLD_HEADROOM_BUFFERS 2

/* Blocks held now (never below 0). */
uint64_t fs_hold_blocks(fs_t *fs);
/* Moves the daemon-wide hold by delta blocks (after a committed change). */
void fs_hold_add(fs_t *fs, int64_t delta);
/* -ENOSPC if `blocks` new blocks do not fit in the location's Avail minus the held space. */
int fs_hold_space_for(fs_t *fs, uint64_t blocks);
/* Free blocks after the hold: avail_bytes / bsize - held (statfs). */
uint64_t fs_hold_avail(fs_t *fs, uint64_t avail_bytes);
/* A write of [off, off+len): every empty row in it gets bytes. Lowers in->unwritten and
 * sets *used to the number of held blocks the write consumes. */
int fs_hold_write(fs_t *fs, uint64_t ino, fs_inode_t *in, uint64_t off, uint64_t len,
                  uint64_t *used);
/* A size cut from in->size to new_size (rows at and past the new last block go). */
int fs_hold_truncate(fs_t *fs, uint64_t ino, fs_inode_t *in, uint64_t new_size,
                     uint64_t *freed);
/* A punch of [off, off+len) (fs_data_punch drops whole blocks; edge rows stay). */
int fs_hold_punch(fs_t *fs, uint64_t ino, fs_inode_t *in, uint64_t off, uint64_t len,
                  uint64_t *freed);

/* Commits a write that only fills held blocks (no new block). Such a write was promised
 * room: on ENOSPC it may use the store's space reserve, then retries every
 * FS_HOLD_RETRY_MS for FS_HOLD_RETRIES times while flushes and compactions give space
 * back. Consumes b, like fs_commit. */
#define FS_HOLD_RETRY_MS 100
#define FS_HOLD_RETRIES 100
int fs_hold_commit(fs_t *fs, lsm_writebatch_t *b);

#endif
