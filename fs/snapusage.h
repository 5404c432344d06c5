/*
 * snapusage.h - the data only persistent snapshots can read (snapusage.c).
 */
#ifndef LSMFS_SNAPUSAGE_H
#define LSMFS_SNAPUSAGE_H

#include "fs.h"

/* For the n persistent snapshots names[i] at seqs[i] (lsm_list_persistent_snapshots):
 * bytes[i] = keys + values of the rows snapshot i sees and neither a newer snapshot nor
 * the live store sees identically. 0 or -errno (-ENOENT: one was deleted meanwhile).
 * Scans the whole store once per snapshot. */
int fs_snap_usage(fs_t *fs, char **names, const uint64_t *seqs, size_t n, uint64_t *bytes);

#endif
