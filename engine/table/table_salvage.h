/*
 * table_salvage.h - reading what is still readable out of a damaged SST (used by repair).
 *
 * Unlike table_open, salvage needs only the footer and the index block: it walks the
 * index and reads the data blocks one at a time, each with its checksum verified, and
 * hands every entry of every block that verifies (and decodes completely) to a callback.
 * A block that fails is skipped and counted; its key range is lost. Range tombstones are
 * taken from the range-del block when the metaindex and that block read correctly.
 *
 * For each damaged data block the optional bad_block callback gets the user-key range the
 * block's entries lay in, from the index: [the previous index entry's key, this entry's
 * key] (for the first block the lower bound is the properties block's smallest key). An
 * index key is a separator (>= the last key of its block, < the first of the next), maybe
 * shortened, so the bounds need not be keys that existed; every lost key lies between them.
 */
#ifndef LSM_TABLE_TABLE_SALVAGE_H
#define LSM_TABLE_TABLE_SALVAGE_H

#include <stdint.h>

#include "util/file.h"
#include "util/slice.h"
#include "util/status.h"

typedef struct table_salvage_cb {
    /* Each point entry (internal key, value), in file order. Non-zero stops with an error. */
    int (*point)(void *arg, slice_t ikey, slice_t value);
    /* Each range tombstone [start, end) at seq. Non-zero stops with an error. */
    int (*range_del)(void *arg, slice_t start, slice_t end, uint64_t seq);
    void *arg;
    /* Optional: each damaged data block at [offset, offset + size) of the file (size 0:
     * the rest of the index did not read, so the blocks from there on), with the user-key
     * bounds of its entries, both inclusive; a bound with data NULL is open (unknown).
     * Non-zero stops with an error. */
    int (*bad_block)(void *arg, uint64_t offset, uint64_t size, slice_t lo, slice_t hi);
} table_salvage_cb_t;

typedef struct table_salvage_stats {
    uint64_t blocks_ok, blocks_bad;   /* data blocks kept / skipped */
    uint64_t entries;                 /* point entries handed out */
    uint64_t range_dels;              /* tombstones handed out */
    int range_dels_lost;              /* the metaindex or range-del block did not read */
} table_salvage_stats_t;

/* Salvages path. Returns a Corruption (nothing handed out) when the footer or the index
 * block cannot be read; an IO error for a failed open; ENOMEM-ish IO error when a
 * callback returned non-zero. Damaged data blocks are not an error (see *stats). */
status_t table_salvage(env_t *env, const char *path, const table_salvage_cb_t *cb,
                       table_salvage_stats_t *stats);

#endif
