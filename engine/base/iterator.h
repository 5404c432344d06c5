/*
 * iterator.h - the engine's internal iterator interface.
 *
 * Memtables, SST blocks, whole SSTs, levels and the merging iterator all present this
 * interface over internal keys (see base/dbformat.h); db/db_iter.c turns a merged one into
 * the user-facing lsm_iterator_t. An iterator is either positioned at an entry (valid) or
 * not; key() and value() are only called when valid, and the slices they return stay good
 * until the iterator moves. A failed read makes the iterator invalid and status() non-NULL.
 * status() returns a borrowed pointer, owned by the iterator.
 */
#ifndef LSM_TABLE_ITERATOR_H
#define LSM_TABLE_ITERATOR_H

#include "util/slice.h"
#include "util/status.h"

typedef struct iter iter_t;

typedef struct iter_ops {
    int (*valid)(iter_t *it);
    void (*seek_to_first)(iter_t *it);
    void (*seek_to_last)(iter_t *it);
    /* First entry >= target. */
    void (*seek)(iter_t *it, slice_t target);
    /* Last entry <= target. */
    void (*seek_for_prev)(iter_t *it, slice_t target);
    void (*next)(iter_t *it);
    void (*prev)(iter_t *it);
    slice_t (*key)(iter_t *it);
    slice_t (*value)(iter_t *it);
    status_t (*status)(iter_t *it);
    void (*destroy)(iter_t *it);
} iter_ops_t;

struct iter {
    const iter_ops_t *ops;
};

static inline int iter_valid(iter_t *it) { return it->ops->valid(it); }
static inline void iter_seek_to_first(iter_t *it) { it->ops->seek_to_first(it); }
static inline void iter_seek_to_last(iter_t *it) { it->ops->seek_to_last(it); }
static inline void iter_seek(iter_t *it, slice_t t) { it->ops->seek(it, t); }
static inline void iter_seek_for_prev(iter_t *it, slice_t t) { it->ops->seek_for_prev(it, t); }
static inline void iter_next(iter_t *it) { it->ops->next(it); }
static inline void iter_prev(iter_t *it) { it->ops->prev(it); }
static inline slice_t iter_key(iter_t *it) { return it->ops->key(it); }
static inline slice_t iter_value(iter_t *it) { return it->ops->value(it); }
static inline status_t iter_status(iter_t *it) { return it->ops->status(it); }
static inline void iter_destroy(iter_t *it)
{
    if (it)
        it->ops->destroy(it);
}

/* An iterator over nothing; with a status, one that reports that error (takes ownership).
 * Returns NULL only when out of memory. */
iter_t *iter_new_empty(status_t st);

/* A generic seek_for_prev for iterators that only know seek/prev: seek(target), then step
 * back until key <= target under `cmp` (internal-key order). */
void iter_default_seek_for_prev(iter_t *it, slice_t target, int (*cmp)(slice_t, slice_t));

#endif
