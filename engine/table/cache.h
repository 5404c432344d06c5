/*
 * cache.h - a sharded LRU cache keyed by bytes, with reference-counted handles.
 *
 * Used for data blocks (key = fixed64 file number | fixed64 block offset, charge = block
 * bytes) and, by table_cache, for open tables (key = fixed64 file number, charge 1).
 *
 * The key space is split over 2^shard_bits shards by hash; each shard has its own mutex,
 * hash table and LRU list and gets capacity / shards (rounded up) of the charge budget.
 * An entry is either in use (some handle holds it: never evicted) or idle on the LRU
 * list; when an insert pushes a shard over its budget the least recently used idle
 * entries go first. If everything is pinned, usage may exceed the budget until handles
 * are released: the release that makes an entry idle evicts down to the budget again.
 * Capacity 0 caches nothing: insert returns a private handle and the entry is deleted on
 * its release (so does an insert when the shard's hash table cannot grow: no memory).
 *
 * An erased or replaced entry leaves the table at once but is deleted only after its last
 * handle is released. Deleters run without any shard lock held.
 * All functions are thread-safe; a handle must be released exactly once.
 */
#ifndef LSM_TABLE_CACHE_H
#define LSM_TABLE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "util/slice.h"

typedef struct cache cache_t;
typedef struct cache_handle cache_handle_t;
typedef void (*cache_deleter_fn)(slice_t key, void *value);

#define CACHE_DEFAULT_SHARD_BITS 4

/* NULL when out of memory. shard_bits is clamped to [0, 8]. */
cache_t *cache_new(size_t capacity);
cache_t *cache_new_sharded(size_t capacity, int shard_bits);
/* Deletes every entry. No handle may be outstanding. */
void cache_destroy(cache_t *c);

/* Inserts key -> value (replacing an existing entry with that key) and returns a handle
 * to the new entry. On allocation failure the deleter is called at once and NULL is
 * returned. */
cache_handle_t *cache_insert(cache_t *c, slice_t key, void *value, size_t charge,
                             cache_deleter_fn deleter);
/* A handle to the entry for key, or NULL (counts a hit or a miss). */
cache_handle_t *cache_lookup(cache_t *c, slice_t key);
void cache_release(cache_t *c, cache_handle_t *h);
void *cache_value(const cache_handle_t *h);
/* Removes the entry for key, if any (deleted once no handle holds it). */
void cache_erase(cache_t *c, slice_t key);
/* Drops every idle entry. */
void cache_prune(cache_t *c);

size_t cache_capacity(const cache_t *c);
/* Charge of every entry in the cache (pinned ones included). */
size_t cache_usage(cache_t *c);
/* Charge of entries held by at least one handle. */
size_t cache_pinned_usage(cache_t *c);
size_t cache_entries(cache_t *c);
uint64_t cache_hits(const cache_t *c);
uint64_t cache_misses(const cache_t *c);

#endif
