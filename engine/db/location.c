/*
 * location.c - what the engine can tell about the place a store lives, without opening it
 * (lsm.h: lsm_location_space). The file layer answers for either backend.
 *
 * It also fits a store's file sizes under the location's largest file (db_fit_max_file;
 * a Ceph cluster refuses objects above osd_max_object_size, 128 MiB by default). Bounds:
 * a WAL holds about one memtable (write_buffer_size plus the last write group) and a flush
 * writes about one memtable as tables, so the write buffer may use at most half the limit
 * (a larger one is lowered, with one warning in the info log); compaction outputs (target_file_size_base) and the
 * MANIFEST roll-over size are lowered to a quarter of it. CURRENT, LOCK and the store's
 * marker are a few bytes.
 */
#include <inttypes.h>

#include "db/db_impl.h"
#include "lsm.h"
#include "util/file.h"

int lsm_location_space(const char *name, uint64_t *total, uint64_t *free_bytes, uint64_t *avail)
{
    return file_space(name, total, free_bytes, avail);
}

void db_fit_max_file(lsm_t *db, const char *name, uint64_t *manifest_max)
{
    uint64_t lim = file_max_size(name);
    if (lim == 0)
        return;
    uint64_t half = lim / 2, quarter = lim / 4;
    if (db->opt.write_buffer_size > half) {
        db_log(db, LSM_LOG_WARN,
               "write buffer lowered from %zu KiB to %" PRIu64 " KiB: one object of this Ceph "
               "cluster holds at most %" PRIu64 " KiB (osd_max_object_size)",
               db->opt.write_buffer_size >> 10, half >> 10, lim >> 10);
        db->opt.write_buffer_size = (size_t)half;
    }
    if (db->opt.target_file_size_base > quarter)
        db->opt.target_file_size_base = quarter;
    if (*manifest_max == 0 || *manifest_max > quarter)
        *manifest_max = quarter;
}
