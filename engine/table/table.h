/*
 * table.h - reading an SST (layout in format.h).
 *
 * table_open reads the footer, metaindex, properties, index, bloom filter and range-del
 * block once and keeps them in the table_t: a get then costs one filter probe, one binary
 * search of the in-memory index and one data block (read in place from a mapping of the
 * file with ro->mmap_reads, else from the block cache when there is one). A truncated or
 * damaged file gives a Corruption naming the file and what is wrong; an I/O error while
 * paging in a mapped block is an I/O error (util/mapguard.h), never a crash.
 *
 * Checksums: the blocks read by table_open (and the footer) are verified when
 * ro->verify_checksums is set (the normal case; off only to salvage a damaged file).
 * Data blocks are verified when the caller of table_get / table_iter_new asks for it.
 * Blocks served from the block cache were checked when they were read, if asked to be.
 *
 * Lifetime: reference counted. table_open returns one reference; iterators hold one
 * until destroyed; table_close drops one. All reads are thread-safe.
 */
#ifndef LSM_TABLE_TABLE_H
#define LSM_TABLE_TABLE_H

#include <stdatomic.h>
#include <stdint.h>

#include "table/cache.h"
#include "base/iterator.h"
#include "table/properties.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/slice.h"
#include "util/status.h"

/* Counters shared by every table of a DB (the DB owns one and reads it for lsm.stats).
 * All updates are relaxed atomic increments. */
typedef struct table_stats {
    _Atomic uint64_t bloom_checked;     /* gets that consulted a filter */
    _Atomic uint64_t bloom_useful;      /* ... and were answered "absent" by it */
    _Atomic uint64_t block_cache_hit;   /* data blocks found in the block cache */
    _Atomic uint64_t block_cache_miss;  /* data blocks read from the file */
    _Atomic uint64_t block_read_bytes;  /* bytes of data blocks read from files */
    _Atomic uint64_t block_mapped;      /* data blocks read in place from a mapping */
} table_stats_t;

typedef struct table_read_options {
    cache_t *block_cache;       /* may be NULL; keyed by fixed64 number | fixed64 offset */
    table_stats_t *stats;       /* may be NULL */
    int verify_checksums;       /* for the blocks table_open reads */
    int mmap_reads;             /* 1: read uncompressed data blocks through a mapping of the
                                 * file (no block-cache copy; table.c "mapped reads") */
} table_read_options_t;

typedef struct table table_t;

/* Opens path (file number `file_number`, expected size `file_size`; 0 = take the size
 * from the file system). A size that differs from the file's is Corruption. */
status_t table_open(env_t *env, const char *path, uint64_t file_number, uint64_t file_size,
                    const table_read_options_t *ro, table_t **out);
void table_ref(table_t *t);
void table_unref(table_t *t);
static inline void table_close(table_t *t) { table_unref(t); }

typedef enum {
    TABLE_NOT_FOUND = 0,  /* nothing about this key here at this snapshot */
    TABLE_FOUND = 1,      /* value appended to *value (cleared first) */
    TABLE_DELETED = 2,    /* a deletion, or a range tombstone of this table covering it */
} table_get_result_t;

/* The newest state of user_key at `snapshot` (entries with seq <= snapshot) according
 * to this table: the newest point entry, unless a range tombstone of this table with a
 * larger sequence (<= snapshot) covers the key. *seq (may be NULL) gets the sequence of
 * the deciding entry or tombstone. Allocates nothing on a block-cache hit when the key
 * fits BLOCK_ITER_INLINE_KEY. */
status_t table_get(table_t *t, slice_t user_key, uint64_t snapshot, int verify_checksums,
                   int fill_cache, buf_t *value, table_get_result_t *result, uint64_t *seq);

/* An iterator over the point entries (internal keys). Seek targets must be internal
 * keys (>= 8 bytes). Holds a table reference. Never NULL except out of memory.
 * Scans: once the iterator has moved forward onto the next data block TABLE_SCAN_AFTER
 * times in a row, blocks not already in the block cache are read through a private
 * readahead window (one pread of 32 KiB, doubling up to 256 KiB), checked (crc when
 * verify_checksums) and decoded in place, and not inserted into the cache whatever
 * fill_cache says; any seek, seek_to_first/last or backward move leaves that mode. A
 * mapped table reads blocks in place instead and announces the window to the kernel one
 * window ahead of the reader (128 KiB doubling up to 1 MiB). */
#define TABLE_SCAN_AFTER 2
iter_t *table_iter_new(table_t *t, int verify_checksums, int fill_cache);
/* The same, calling cleanup(a, b) when destroyed (after dropping its table reference). */
iter_t *table_iter_new_with_cleanup(table_t *t, int verify_checksums, int fill_cache,
                                    void (*cleanup)(void *a, void *b), void *a, void *b);

/* Calls fn(arg, start, end, seq) for each range tombstone in (start, seq desc) order;
 * stops when fn returns non-zero. */
void table_range_dels(table_t *t, int (*fn)(void *arg, slice_t start, slice_t end, uint64_t seq),
                      void *arg);
/* An iterator over the raw tombstones: key = (start, seq, TYPE_RANGE_DELETION), value =
 * end. Holds a table reference. */
iter_t *table_range_del_iter_new(table_t *t);
/* The greatest sequence <= snapshot of a tombstone of this table covering user_key; 0 if
 * none. */
uint64_t table_max_covering_tombstone(table_t *t, slice_t user_key, uint64_t snapshot);

/* Reads every data block with checksums verified and checks that keys are valid and in
 * order within and across blocks and agree with the index. */
status_t table_verify(table_t *t);

/* Approximate file offset where ikey's data lies (the data size if past the end). */
uint64_t table_approximate_offset(table_t *t, slice_t ikey);

const table_props_t *table_properties(const table_t *t);
uint64_t table_file_number(const table_t *t);
uint64_t table_file_size(const table_t *t);
const char *table_path(const table_t *t);
int table_has_filter(const table_t *t);

#endif
