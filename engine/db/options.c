/*
 * options.c - option defaults and sanitising (see options.h).
 */
#include "db/options.h"

#include <string.h>

void options_init_defaults(lsm_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->paranoid_checks = 1;
    o->write_buffer_size = 64u << 20;
    o->max_write_buffer_number = 2;
    o->allow_concurrent_memtable_write = 1;
    o->compression = lsm_no_compression;
    o->level0_file_num_compaction_trigger = 4;
    o->level0_slowdown_writes_trigger = 20;
    o->level0_stop_writes_trigger = 36;
    o->max_bytes_for_level_base = 256ull << 20;
    o->max_bytes_for_level_multiplier = 10.0;
    o->target_file_size_base = 64ull << 20;
    o->num_levels = 7;
    o->block_cache_size = 32u << 20;
    o->bloom_bits_per_key = 10;
    o->block_size = 4096;
    o->max_open_files = 1000;
    o->mmap_reads = 1;
    o->idle_flush_seconds = 10;
}

void options_sanitize(lsm_options_t *o)
{
    if (o->write_buffer_size < (64u << 10))
        o->write_buffer_size = 64u << 10;
    if (o->max_write_buffer_number < 2)
        o->max_write_buffer_number = 2;
    if (o->max_write_buffer_number > 16)
        o->max_write_buffer_number = 16;
    if (o->compression != lsm_zlib_compression)
        o->compression = lsm_no_compression;
    if (o->level0_file_num_compaction_trigger < 1)
        o->level0_file_num_compaction_trigger = 1;
    if (o->level0_slowdown_writes_trigger < o->level0_file_num_compaction_trigger)
        o->level0_slowdown_writes_trigger = o->level0_file_num_compaction_trigger;
    if (o->level0_stop_writes_trigger < o->level0_slowdown_writes_trigger)
        o->level0_stop_writes_trigger = o->level0_slowdown_writes_trigger;
    if (o->max_bytes_for_level_base < (64u << 10))
        o->max_bytes_for_level_base = 64u << 10;
    if (!(o->max_bytes_for_level_multiplier >= 2.0))
        o->max_bytes_for_level_multiplier = 2.0;
    if (o->target_file_size_base < (32u << 10))
        o->target_file_size_base = 32u << 10;
    if (o->num_levels < 2)
        o->num_levels = 2;
    if (o->num_levels > 8)
        o->num_levels = 8;
    if (o->bloom_bits_per_key < 0)
        o->bloom_bits_per_key = 0;
    if (o->bloom_bits_per_key > 40)
        o->bloom_bits_per_key = 40;
    if (o->block_size < 256)
        o->block_size = 256;
    if (o->block_size > (4u << 20))
        o->block_size = 4u << 20;
    if (o->max_open_files < 20)
        o->max_open_files = 20;
    if (o->sst_partition_prefix_len < 0)
        o->sst_partition_prefix_len = 0;
}
