/*
 * table_builder.h - writes one SST (layout in format.h) to an append-only file.
 *
 * Point entries come in through table_builder_add in strictly increasing internal-key
 * order (TYPE_VALUE or TYPE_DELETION only); range tombstones through
 * table_builder_add_range_del in any order (they are sorted at finish). The first error
 * (bad argument, out-of-order key, I/O failure) sticks: every later call returns a copy
 * of it. table_builder_finish writes the meta blocks, index and footer; it neither syncs
 * nor closes the file - the caller does both (and removes the file on failure).
 *
 * Key range convention (what a MANIFEST records for the file): with tombstones, the
 * range must contain every key the file may affect.
 *   smallest = min(first point key, (smallest tombstone start, its seq, TYPE_RANGE_DELETION))
 *   largest  = max(last point key, (largest tombstone end, MAX_SEQUENCE, TYPE_RANGE_DELETION))
 * A tombstone end is exclusive; (end, MAX_SEQUENCE, TYPE_RANGE_DELETION) is the smallest
 * internal key with user key `end`, so it sorts after every key the tombstone covers and
 * before every real entry of `end` itself: a next file in the same level may start at
 * `end` without overlapping. When largest has that trailer, the file affects user keys
 * strictly below largest's user key only (readers may treat the bound as inclusive; that
 * is merely conservative).
 */
#ifndef LSM_TABLE_TABLE_BUILDER_H
#define LSM_TABLE_TABLE_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "util/file.h"
#include "util/slice.h"
#include "util/status.h"

typedef struct table_options {
    size_t block_size;        /* target uncompressed data block size; default 4096 */
    int restart_interval;     /* data blocks; default 16 */
    int compression;          /* BLOCK_TYPE_NONE (0) or BLOCK_TYPE_ZLIB (2) */
    int bloom_bits_per_key;   /* 0 = no filter; default 10 */
} table_options_t;

void table_options_default(table_options_t *o);

typedef struct table_builder table_builder_t;

/* The file must be new (empty). NULL when out of memory. Options are copied. */
table_builder_t *table_builder_new(const table_options_t *opt, wfile_t *file);
/* Adds a point entry. ikey: user key + trailer, type VALUE or DELETION. */
status_t table_builder_add(table_builder_t *b, slice_t ikey, slice_t value);
/* Adds the tombstone [start, end) at seq. An empty range (start >= end) is ignored. */
status_t table_builder_add_range_del(table_builder_t *b, slice_t start, slice_t end, uint64_t seq);
/* Writes everything but the data already flushed. Call once. */
status_t table_builder_finish(table_builder_t *b);
/* Frees the builder (finished or not). The file is left to the caller. */
void table_builder_destroy(table_builder_t *b);
/* Gives up on an unfinished table: same as destroy (the caller removes the file). */
void table_builder_abandon(table_builder_t *b);

/* Bytes written so far (the final file size after finish). */
uint64_t table_builder_file_size(const table_builder_t *b);
/* file_size plus the data still buffered in the current block (to cut output files). */
uint64_t table_builder_estimated_size(const table_builder_t *b);
uint64_t table_builder_num_entries(const table_builder_t *b);     /* point entries */
uint64_t table_builder_num_range_dels(const table_builder_t *b);  /* after dedup at finish */
uint64_t table_builder_num_deletions(const table_builder_t *b);   /* point deletions */
/* Key range (see the convention above); empty slices when the table is empty. Valid after
 * finish, until destroy. */
slice_t table_builder_smallest(const table_builder_t *b);
slice_t table_builder_largest(const table_builder_t *b);
/* Over points and tombstones; 0 when empty. */
uint64_t table_builder_smallest_seq(const table_builder_t *b);
uint64_t table_builder_largest_seq(const table_builder_t *b);

#endif
