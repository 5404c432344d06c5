/*
 * version_read.h - reading through a version: point lookups, iterators, range tombstones.
 *
 * Order of authority, newest first: L0 files in the version's order (newest first), then
 * L1, L2, ... For one user key, data at a shallower position is always newer than data
 * deeper down (flush and compaction keep this), so the first file with something to say
 * about the key decides. Within a file, table_get applies the file's own range tombstones:
 * a tombstone with sequence s covering the key hides the file's entries with seq < s and
 * answers "deleted", which then also hides every older file and deeper level - the same
 * rule as memtable_get.
 *
 * The caller holds a reference to the version for the duration of a call; iterators made
 * here take their own reference (a level iterator opens its files lazily and needs them to
 * stay live).
 */
#ifndef LSM_DB_VERSION_READ_H
#define LSM_DB_VERSION_READ_H

#include <stdint.h>

#include "db/version_set.h"
#include "mem/range_del.h"
#include "base/iterator.h"
#include "db/table_cache.h"
#include "util/buf.h"
#include "util/slice.h"
#include "util/status.h"

typedef enum {
    VGET_NOT_FOUND = 0, /* no file of the version knows the key at this snapshot */
    VGET_FOUND = 1,     /* value appended to *value (cleared first) */
    VGET_DELETED = 2,   /* a deletion or a covering range tombstone decides: absent */
} vget_result_t;

/* Looks up the newest state of user_key visible at `snapshot`. Errors (a table that cannot
 * be opened or read) are returned as they come; *result is then VGET_NOT_FOUND. */
status_t version_get(version_t *v, table_cache_t *tc, slice_t user_key, uint64_t snapshot,
                     int verify_checksums, int fill_cache, buf_t *value,
                     vget_result_t *result);

/* Makes the iterators that together cover the version's point entries (internal keys,
 * every sequence; the caller filters by snapshot): one per L0 file, then one concatenating
 * "level iterator" per non-empty deeper level, opening its files lazily. *out receives a
 * malloc'd array of *n iterators (free the array; destroy or hand over the iterators). A
 * file that cannot be opened shows up as an iterator whose status() reports it. Only out
 * of memory fails the call (nothing is returned then). */
status_t version_add_iterators(version_t *v, table_cache_t *tc, int verify_checksums,
                               int fill_cache, iter_t ***out, int *n);

/* A level iterator alone (level >= 1; takes a version reference). NULL if out of memory. */
iter_t *version_level_iter_new(version_t *v, int level, table_cache_t *tc,
                               int verify_checksums, int fill_cache);

/* Adds every range tombstone with sequence <= snapshot of every file of the version (those
 * whose meta counts num_range_dels > 0) to dst. */
status_t version_add_range_dels(version_t *v, table_cache_t *tc, range_del_t *dst,
                                uint64_t snapshot);

#endif
