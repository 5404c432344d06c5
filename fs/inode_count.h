/*
 * inode_count.h - the number of inodes in use, for statfs (df -i): counted once at mount
 * by one scan of the I rows (inode_count.c), then kept up to date by the operations that
 * add an inode (create/mknod/mkdir/symlink) or delete its rows (the last unlink, a rename
 * that replaces, the reclaim of an orphan), each after its commit succeeded. Never
 * persisted, so it cannot drift across mounts; a crash loses nothing.
 */
#ifndef LSMFS_INODE_COUNT_H
#define LSMFS_INODE_COUNT_H

#include <sys/statvfs.h>

#include "fs.h"

/* The least store space one more inode takes: its I row (9-byte key, 101-byte value) and
 * its shortest directory entry, each with the engine's 8-byte sequence/type trailer, plus
 * a share of block index, filter and restart points. df -i counts this much free space
 * per free inode. */
#define FS_INODE_MIN_COST 256

/* Counts the I rows (call before requests are served). 0, or -1 with a message. */
int fs_inodes_count(fs_t *fs);
/* +1 after a committed create, -1 after a committed reclaim. */
void fs_inodes_add(fs_t *fs, int delta);
/* Fills f_files/f_ffree/f_favail: used + free, free = avail_bytes / FS_INODE_MIN_COST. */
void fs_inodes_statfs(fs_t *fs, uint64_t avail_bytes, struct statvfs *st);

#endif
