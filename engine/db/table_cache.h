/*
 * table_cache.h - open SSTs by file number, with a bound on how many are open at once.
 *
 * An LRU cache (cache.h, charge 1 per table, capacity max_open_files) maps a file
 * number to its open table_t. A table in use (a handle, or an iterator made here) is
 * never closed; an idle one is closed when the budget needs room or when its file is
 * evicted (deleted by compaction). Table files are dbdir/NNNNNN.sst (db/filename.h).
 * Two threads missing the same file at once may both open it; the later insert wins and
 * the other copy closes when released. Thread-safe.
 */
#ifndef LSM_TABLE_TABLE_CACHE_H
#define LSM_TABLE_TABLE_CACHE_H

#include <stdint.h>

#include "table/cache.h"
#include "base/iterator.h"
#include "table/table.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/slice.h"
#include "util/status.h"

typedef struct table_cache table_cache_t;

/* ro (block cache, stats, verify_checksums for opens) is copied; dbdir is copied.
 * max_open_files < 1 is taken as 1. NULL when out of memory. */
table_cache_t *table_cache_new(env_t *env, const char *dbdir, int max_open_files,
                               const table_read_options_t *ro);
/* No handle or iterator may be outstanding. */
void table_cache_destroy(table_cache_t *tc);

/* A pinned handle to table `number` (size `size` as the MANIFEST records it), opening
 * it if needed. */
status_t table_cache_get(table_cache_t *tc, uint64_t number, uint64_t size, cache_handle_t **handle);
static inline table_t *table_cache_table(cache_handle_t *h) { return (table_t *)cache_value(h); }
void table_cache_release(table_cache_t *tc, cache_handle_t *h);
/* Forgets table `number` (its file is being deleted); closed once no longer in use. */
void table_cache_evict(table_cache_t *tc, uint64_t number);

/* table_get on table `number`. */
status_t table_cache_get_value(table_cache_t *tc, uint64_t number, uint64_t size,
                               slice_t user_key, uint64_t snapshot, int verify_checksums,
                               int fill_cache, buf_t *value, table_get_result_t *result,
                               uint64_t *seq);
/* An iterator over table `number` that keeps it pinned until destroyed. An open error
 * gives an iterator whose status() reports it. If table_out is non-NULL it receives the
 * table (borrowed, valid while the iterator lives) or NULL. NULL only when out of memory. */
iter_t *table_cache_iter_new(table_cache_t *tc, uint64_t number, uint64_t size,
                             int verify_checksums, int fill_cache, table_t **table_out);

/* Number of tables the cache holds open (idle or in use; evicted ones still in use by a
 * handle or iterator are not counted). */
size_t table_cache_open_tables(table_cache_t *tc);
/* The underlying LRU cache (hit/miss counters). */
cache_t *table_cache_lru(table_cache_t *tc);

#endif
