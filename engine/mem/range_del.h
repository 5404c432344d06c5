/*
 * range_del.h - a memtable's range tombstones, kept as disjoint fragments.
 *
 * Each DeleteRange [start, end) at sequence q is folded into a sorted map of disjoint
 * fragments [s, e), each holding the sequences of every tombstone that covers it. Overlaps
 * are split on insert, so a lookup is one seek: the fragment whose start is the greatest
 * <= key. Memory comes from the memtable's arena; fragments are never removed.
 *
 * Concurrency: inserts take the write side of an rwlock, lookups and walks the read side.
 * `count` (atomic) lets the common case — no range tombstones at all — skip the lock.
 */
#ifndef LSM_MEM_RANGE_DEL_H
#define LSM_MEM_RANGE_DEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "mem/skiplist.h"
#include "util/arena.h"
#include "util/slice.h"

typedef struct range_del {
    arena_t *arena;
    skiplist_t frags;        /* keys: struct rd_frag, ordered by start */
    pthread_rwlock_t lock;
    _Atomic uint64_t count;  /* tombstones added */
} range_del_t;

int range_del_init(range_del_t *rd, arena_t *arena);
void range_del_destroy(range_del_t *rd);
/* Returns 0, or -1 when out of memory. An empty range (start >= end) is ignored. */
int range_del_add(range_del_t *rd, uint64_t seq, slice_t start, slice_t end);
/* The greatest sequence <= snapshot of a tombstone covering key; 0 if none. */
uint64_t range_del_max_covering(range_del_t *rd, slice_t key, uint64_t snapshot);
static inline uint64_t range_del_count(range_del_t *rd)
{
    return atomic_load_explicit(&rd->count, memory_order_acquire);
}
/* Calls fn(start, end, seq) for every fragment and each of its sequences, in start order
 * (and descending sequence within a fragment). The fragments form a valid tombstone set:
 * re-adding them reproduces the same coverage. Stops when fn returns non-zero. */
void range_del_walk(range_del_t *rd, int (*fn)(void *arg, slice_t start, slice_t end, uint64_t seq),
                    void *arg);

#endif
