/*
 * schema_rows.h - writing lsmfs rows into a write batch: the one place an inode, a
 * directory entry, the superblock and a new /lost+found become puts. The daemon (store.c),
 * mkfs.lsmfs, fsck.lsmfs and the test tools all write rows through here; schema.h says
 * what the bytes are.
 *
 * Invariant: a put is only ever added with a key and a value that schema.h built; a name
 * or superblock that does not encode adds nothing and is reported to the caller.
 */
#ifndef LSMFS_SCHEMA_ROWS_H
#define LSMFS_SCHEMA_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "lsm.h"
#include "schema.h"

/* Puts inode row `ino`. */
void fs_row_put_inode(lsm_writebatch_t *b, uint64_t ino, const fs_inode_t *in);
/* Puts the entry `name` (namelen bytes) of directory `parent` naming `child` of file type
 * `type` (st_mode >> 12). Returns 0, or -1 (nothing added) when the name is not legal. */
int fs_row_put_dentry(lsm_writebatch_t *b, uint64_t parent, const char *name, size_t namelen,
                      uint64_t child, unsigned type);
/* Deletes the entry `name` of directory `parent`. */
void fs_row_del_dentry(lsm_writebatch_t *b, uint64_t parent, const char *name, size_t namelen);
/* Puts the superblock. Returns 0, or -1 (nothing added) when sb does not encode. */
int fs_row_put_super(lsm_writebatch_t *b, const fs_super_t *sb);

/* Puts a new /lost+found: inode `ino` (a 0700 directory owned by uid:gid, nlink 2, every
 * time = now, generation 1, parent the root) and the root's entry "lost+found" for it.
 * *out (may be NULL) receives the inode. The root's link count is the caller's. */
void fs_row_put_lost_found(lsm_writebatch_t *b, uint64_t ino, uint32_t uid, uint32_t gid,
                           fs_time_t now, fs_inode_t *out);

#endif
