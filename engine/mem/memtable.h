/*
 * memtable.h - the in-memory write buffer: a skiplist of internal keys plus range tombstones.
 *
 * Point entries (values and deletions) live in a concurrent skiplist, each node holding
 *     varint32 ikey_len | internal key (user key + 8-byte trailer) | varint32 val_len | value
 * ordered by ikey_compare. Range deletions live beside it in a range_del_t (fragmented
 * tombstones). All memory comes from the memtable's arena and is freed with the memtable.
 *
 * Concurrency: memtable_add may be called from many threads at once (CAS skiplist inserts,
 * used by the concurrent memtable write of a write group); readers (get, iterators) never
 * lock. A reader only trusts entries with sequence <= the DB's published sequence, which is
 * how a half-inserted write group stays invisible.
 *
 * Lifetime: reference counted. The DB holds one reference while the memtable is active or
 * immutable; every iterator and every in-flight get holds one more.
 */
#ifndef LSM_MEM_MEMTABLE_H
#define LSM_MEM_MEMTABLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/dbformat.h"
#include "mem/range_del.h"
#include "mem/skiplist.h"
#include "base/iterator.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/slice.h"

typedef struct memtable memtable_t;

/* A new empty memtable with one reference. NULL when out of memory. */
memtable_t *memtable_new(void);
/* The same, sized for a write buffer of write_buffer_size bytes: from
 * MEMTABLE_HUGE_MIN up, the arena uses 2 MiB huge-page blocks (util/arena.h), which
 * makes random reads of a large memtable cheaper; memory_usage then grows in 2 MiB steps. */
memtable_t *memtable_new_sized(size_t write_buffer_size);
/* The same; a huge arena draws its blocks from pool and gives them back when the
 * memtable goes (NULL: no pool). The retired memtable's pages then serve the next one. */
memtable_t *memtable_new_pooled(size_t write_buffer_size, arena_pool_t *pool);
#define MEMTABLE_HUGE_MIN (32u << 20)
void memtable_ref(memtable_t *m);
void memtable_unref(memtable_t *m);

/* Adds one entry. For TYPE_RANGE_DELETION, key is the start and value the (exclusive) end.
 * Thread-safe against other adds and readers. Returns 0, ENOMEM, or EINVAL (unknown type,
 * seq > MAX_SEQUENCE, key or value longer than 4 GiB). */
int memtable_add(memtable_t *m, uint64_t seq, value_type_t type, slice_t key, slice_t value);

typedef enum {
    MT_NOT_FOUND = 0, /* nothing about this key here: look in older data */
    MT_FOUND = 1,     /* value copied into *value */
    MT_DELETED = 2,   /* a deletion or a covering range tombstone: the key is absent */
} mt_get_t;

/* Looks up the newest state of key visible at `snapshot` (entries with seq <= snapshot).
 * A range tombstone here with sequence s covering key wins over every point entry of this
 * memtable with a sequence < s (and over all older data). On MT_FOUND the value is
 * appended to *value (cleared first). */
mt_get_t memtable_get(memtable_t *m, slice_t key, uint64_t snapshot, buf_t *value);

/* Approximate bytes held (arena blocks), for the write-buffer-size switch. */
size_t memtable_memory_usage(memtable_t *m);
uint64_t memtable_num_entries(memtable_t *m);     /* point entries */
uint64_t memtable_num_range_dels(memtable_t *m);  /* range tombstones */
/* Smallest / largest sequence ever added (0 if empty); set by memtable_add. */
uint64_t memtable_first_seq(memtable_t *m);
uint64_t memtable_last_seq(memtable_t *m);

/* An iterator over the point entries as internal keys (all sequences; the caller filters by
 * snapshot). Holds a reference to the memtable until destroyed. NULL if out of memory.
 * Seek targets are internal keys; one shorter than 8 bytes is taken as a bare user key. */
iter_t *memtable_iter_new(memtable_t *m);

/* The memtable's range tombstones. */
range_del_t *memtable_range_dels(memtable_t *m);

#endif
