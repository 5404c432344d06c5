/*
 * snapslot.h - the persisted slot of each persistent snapshot (N rows, schema.h): the part
 * of a MNT/.snapshots node id that names the snapshot, so that inode numbers and file
 * handles in a snapshot stay the same across remounts and daemon restarts (snapview.c).
 *
 * Invariants: a row maps one snapshot name to a slot 1..FS_SNAPSLOT_MAX; no two rows of
 * existing snapshots share a slot (the daemon hands slots out under one lock, after a scan
 * of the rows). A row whose name is no longer a snapshot is stale (a crash between the
 * deletion of a snapshot and of its row) and counts as free; the next scan deletes it.
 */
#ifndef LSMFS_SNAPSLOT_H
#define LSMFS_SNAPSLOT_H

#include "fs.h"

/* The slot row of snapshot `name`: 0 and *slot; -ENOENT when there is none (or it does
 * not decode); another negative errno when the store could not be read. */
int fs_snapslot_load(fs_t *fs, const char *name, unsigned *slot);
/* Reads every slot row: used[slot] = 1 for the rows of existing snapshots (used has
 * FS_SNAPSLOT_MAX + 1 entries); stale rows become deletes in b (if b is not NULL). If
 * want != 0, *want_name receives a malloc'ed copy of the name whose row holds slot `want`
 * (NULL if none). Returns 0 or a negative errno. */
int fs_snapslot_scan(fs_t *fs, unsigned char *used, lsm_writebatch_t *b, unsigned want,
                     char **want_name);
/* Adds to b the row giving `name` slot `slot` / the deletion of name's row. */
void fs_snapslot_put(lsm_writebatch_t *b, const char *name, unsigned slot);
void fs_snapslot_del(lsm_writebatch_t *b, const char *name);

#endif
