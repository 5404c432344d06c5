/*
 * db_iter.h - the user-facing iterator: turns a merged internal-key stream into the
 * user-key view at one snapshot.
 *
 * For each user key it yields the newest entry with sequence <= snapshot, unless that
 * entry is a deletion or is covered by a range tombstone with a larger sequence (still
 * <= snapshot); older versions are skipped. Optional bounds: lower (inclusive) and upper
 * (exclusive). Works forwards and backwards with direction switches.
 */
#ifndef LSM_DB_DB_ITER_H
#define LSM_DB_DB_ITER_H

#include <stdint.h>

#include "mem/range_del.h"
#include "base/iterator.h"
#include "util/slice.h"

typedef struct db_iter_args {
    iter_t *internal;          /* merged internal iterator; owned by the db_iter */
    uint64_t snapshot;         /* entries with larger sequences are invisible */
    /* The greatest sequence <= snapshot of a range tombstone covering a user key (0 if
     * none), over every layer the view reads. NULL when no layer has tombstones. Its
     * state must outlive the iterator (free it in cleanup). */
    uint64_t (*max_covering)(void *arg, slice_t user_key, uint64_t snapshot);
    void *cover_arg;
    slice_t lower, upper;      /* bounds; data NULL = none. Copied. */
    void (*cleanup)(void *arg);/* called once from destroy, after `internal` is destroyed */
    void *cleanup_arg;
} db_iter_args_t;

/* key() and value() of the result are user keys and values. NULL if out of memory
 * (internal is destroyed and cleanup called then). */
iter_t *db_iter_new(const db_iter_args_t *args);

#endif
