/*
 * options.h - the option structs behind lsm.h's opaque option types, and their defaults.
 *
 * Public setters (db/c_api.c) write these fields; the DB copies lsm_options_t at open, so a
 * caller may change or destroy its options object afterwards. Defaults follow RocksDB's
 * where lsm.h mirrors an option, scaled for a 2-core machine.
 */
#ifndef LSM_DB_OPTIONS_H
#define LSM_DB_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "lsm.h"
#include "util/buf.h"
#include "util/file.h"

struct lsm_options_t {
    int create_if_missing;                 /* 0 */
    int error_if_exists;                   /* 0 */
    int paranoid_checks;                   /* 1: fail open on WAL corruption mid-log */
    size_t write_buffer_size;              /* 64 MiB */
    int max_write_buffer_number;           /* 2: active + immutables before writers stall */
    int enable_pipelined_write;            /* 0 */
    int allow_concurrent_memtable_write;   /* 1 */
    int compression;                       /* lsm_no_compression */
    int level0_file_num_compaction_trigger; /* 4 */
    int level0_slowdown_writes_trigger;    /* 20 */
    int level0_stop_writes_trigger;        /* 36 */
    uint64_t max_bytes_for_level_base;     /* 256 MiB */
    double max_bytes_for_level_multiplier; /* 10 */
    uint64_t target_file_size_base;        /* 64 MiB */
    int num_levels;                        /* 7 */
    int disable_auto_compactions;          /* 0 */
    int sst_partition_prefix_len;          /* 0 = off: compaction outputs cut at prefix changes */
    size_t block_cache_size;               /* 32 MiB */
    int bloom_bits_per_key;                /* 10 */
    size_t block_size;                     /* 4 KiB */
    int max_open_files;                    /* 1000 */
    int mmap_reads;                        /* 1: uncompressed data blocks read through mmap */
    uint64_t reserve_bytes;                /* 0 = no space reserve (RESERVE file) */
    int idle_flush_seconds;                /* 10; 0 = never flush an idle memtable */
    lsm_logger_fn info_log;                /* NULL = stderr (db_log.c) */
    void *info_log_arg;
    env_t *env;                            /* NULL = plain POSIX; tests inject faults here */
};

struct lsm_readoptions_t {
    int verify_checksums;                  /* 1 */
    int fill_cache;                        /* 1 */
    const lsm_snapshot_t *snapshot;        /* NULL = latest */
    buf_t lower, upper;                    /* iterate bounds; has_* says whether set */
    int has_lower, has_upper;
};

struct lsm_writeoptions_t {
    int sync;                              /* 0 */
    int disable_wal;                       /* 0 */
};

struct lsm_flushoptions_t {
    int wait;                              /* 1 */
};

void options_init_defaults(lsm_options_t *o);
/* Clamps nonsense values (0 buffer size, num_levels out of range...) to something usable. */
void options_sanitize(lsm_options_t *o);

#endif
