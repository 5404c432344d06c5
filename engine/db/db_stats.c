/*
 * db_stats.c - properties (lsm_property_value / lsm_property_int) and checksum
 * verification of every live table.
 *
 * "lsm.stats" is a human-readable report, one "name: value" per line so that scripts
 * (kvbench, the fs daemon's stats) can pick fields out of it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_impl.h"
#include "table/cache.h"
#include "db/table_cache.h"

static uint64_t ld(_Atomic uint64_t *x) { return atomic_load_explicit(x, memory_order_relaxed); }

static uint64_t mem_bytes(lsm_t *db, superversion_t *sv)
{
    (void)db;
    uint64_t n = memtable_memory_usage(sv->mem);
    for (int i = 0; i < sv->n_imm; i++)
        n += memtable_memory_usage(sv->imm[i]);
    return n;
}

static void stats_text(lsm_t *db, buf_t *b)
{
    wt_stats_t w;
    wt_stats(&db->wt, &w);
    superversion_t *sv = db_sv_acquire(db);
    db_stats_t *s = &db->stats;
    buf_printf(b, "** write path **\n");
    buf_printf(b, "writes: %llu\n", (unsigned long long)w.writes);
    buf_printf(b, "write.groups: %llu\n", (unsigned long long)w.groups);
    buf_printf(b, "write.group-size.mean: %.2f\n", w.mean_group_size);
    buf_printf(b, "write.group-size.max: %llu\n", (unsigned long long)w.max_group_size);
    buf_printf(b, "write.parallel-groups: %llu\n", (unsigned long long)w.parallel_groups);
    buf_printf(b, "wal.bytes: %llu\n", (unsigned long long)w.wal_bytes);
    buf_printf(b, "wal.syncs: %llu\n", (unsigned long long)w.syncs);
    buf_printf(b, "wal.writes-per-sync: %.2f\n", w.writes_per_sync);
    buf_printf(b, "wal.file-syncs: %llu\n", (unsigned long long)ld(&s->wal_file_syncs));
    buf_printf(b, "wal.files: %llu\n", (unsigned long long)ld(&s->wal_files));
    buf_printf(b, "write.waits: %llu\n", (unsigned long long)w.waits);
    buf_printf(b, "write.blocks: %llu\n", (unsigned long long)w.blocks);
    buf_printf(b, "write.wait-ms: %.3f\n", (double)w.wait_ns / 1e6);
    buf_printf(b, "stall.ms: %.3f\n", (double)ld(&s->stall_us) / 1e3);
    buf_printf(b, "stall.slowdowns: %llu\n", (unsigned long long)ld(&s->slowdowns));
    buf_printf(b, "stall.stops: %llu\n", (unsigned long long)ld(&s->stops));
    buf_printf(b, "** memtables **\n");
    buf_printf(b, "mem.bytes: %llu\n", (unsigned long long)mem_bytes(db, sv));
    buf_printf(b, "mem.immutable: %d\n", sv->n_imm);
    buf_printf(b, "mem.active-entries: %llu\n", (unsigned long long)memtable_num_entries(sv->mem));
    buf_printf(b, "** levels **\n");
    uint64_t total_files = 0, total_bytes = 0;
    for (int l = 0; l < sv->version->num_levels; l++) {
        uint64_t lb = version_level_bytes(sv->version, l);
        int nf = version_num_files(sv->version, l);
        total_files += (uint64_t)nf;
        total_bytes += lb;
        if (nf)
            buf_printf(b, "L%d: %d files, %llu bytes\n", l, nf, (unsigned long long)lb);
    }
    buf_printf(b, "tables: %llu files, %llu bytes\n", (unsigned long long)total_files,
               (unsigned long long)total_bytes);
    buf_printf(b, "** background **\n");
    buf_printf(b, "flush.count: %llu\n", (unsigned long long)ld(&s->flushes));
    buf_printf(b, "flush.bytes: %llu\n", (unsigned long long)ld(&s->flush_bytes));
    buf_printf(b, "flush.ms: %.1f\n", (double)ld(&s->flush_us) / 1e3);
    buf_printf(b, "compaction.count: %llu\n", (unsigned long long)ld(&s->compactions));
    buf_printf(b, "compaction.trivial-moves: %llu\n", (unsigned long long)ld(&s->trivial_moves));
    buf_printf(b, "compaction.read-bytes: %llu\n", (unsigned long long)ld(&s->compact_read_bytes));
    buf_printf(b, "compaction.write-bytes: %llu\n", (unsigned long long)ld(&s->compact_write_bytes));
    buf_printf(b, "compaction.ms: %.1f\n", (double)ld(&s->compact_us) / 1e3);
    uint64_t user = ld(&s->user_bytes_written);
    uint64_t disk = ld(&s->flush_bytes) + ld(&s->compact_write_bytes) + w.wal_bytes;
    buf_printf(b, "user.bytes-written: %llu\n", (unsigned long long)user);
    buf_printf(b, "write-amp: %.2f\n", user ? (double)disk / (double)user : 0.0);
    buf_printf(b, "** reads **\n");
    buf_printf(b, "gets: %llu\n", (unsigned long long)ld(&s->gets));
    buf_printf(b, "gets.found: %llu\n", (unsigned long long)ld(&s->gets_found));
    uint64_t hit = ld(&db->tstats.block_cache_hit), miss = ld(&db->tstats.block_cache_miss);
    buf_printf(b, "block-cache.hits: %llu\n", (unsigned long long)hit);
    buf_printf(b, "block-cache.misses: %llu\n", (unsigned long long)miss);
    buf_printf(b, "block-cache.hit-rate: %.3f\n", hit + miss ? (double)hit / (double)(hit + miss) : 0.0);
    buf_printf(b, "blocks.mapped-reads: %llu\n", (unsigned long long)ld(&db->tstats.block_mapped));
    buf_printf(b, "bloom.checked: %llu\n", (unsigned long long)ld(&db->tstats.bloom_checked));
    buf_printf(b, "bloom.useful: %llu\n", (unsigned long long)ld(&db->tstats.bloom_useful));
    buf_printf(b, "tables.open: %zu\n", table_cache_open_tables(db->tcache));
    mutex_lock(&db->mu);
    if (db->bg_error)
        buf_printf(b, "error: %s\n", st_msg(db->bg_error));
    if (db->soft_error)
        buf_printf(b, "background-error: %s\n", st_msg(db->soft_error));
    mutex_unlock(&db->mu);
    db_sv_release(db, sv);
}

int lsm_property_int(lsm_t *db, const char *name, uint64_t *out)
{
    static const char lvl[] = "lsm.num-files-at-level";
    if (strncmp(name, lvl, sizeof(lvl) - 1) == 0) {
        char *end;
        long l = strtol(name + sizeof(lvl) - 1, &end, 10);
        if (*end || end == name + sizeof(lvl) - 1 || l < 0 || l >= vset_num_levels(db->vset))
            return -1;
        superversion_t *sv = db_sv_acquire(db);
        *out = (uint64_t)version_num_files(sv->version, (int)l);
        db_sv_release(db, sv);
        return 0;
    }
    if (strcmp(name, "lsm.estimate-num-keys") == 0) {
        superversion_t *sv = db_sv_acquire(db);
        uint64_t n = memtable_num_entries(sv->mem);
        for (int i = 0; i < sv->n_imm; i++)
            n += memtable_num_entries(sv->imm[i]);
        for (int l = 0; l < sv->version->num_levels; l++)
            for (int i = 0; i < sv->version->nfiles[l]; i++)
                n += sv->version->files[l][i]->num_entries;
        db_sv_release(db, sv);
        *out = n;
        return 0;
    }
    if (strcmp(name, "lsm.cur-size-all-mem-tables") == 0) {
        superversion_t *sv = db_sv_acquire(db);
        *out = mem_bytes(db, sv);
        db_sv_release(db, sv);
        return 0;
    }
    if (strcmp(name, "lsm.num-immutable-mem-table") == 0) {
        mutex_lock(&db->mu);
        *out = (uint64_t)db->n_imm;
        mutex_unlock(&db->mu);
        return 0;
    }
    if (strcmp(name, "lsm.reserve-bytes") == 0) {
        *out = atomic_load(&db->reserve_held);
        return 0;
    }
    if (strcmp(name, "lsm.num-persistent-snapshots") == 0) {
        ve_snapshot_t *l;
        mutex_lock(&db->mu);
        int n = vset_list_snapshots(db->vset, &l);
        mutex_unlock(&db->mu);
        free(l);
        *out = n < 0 ? 0 : (uint64_t)n;
        return 0;
    }
    if (strcmp(name, "lsm.total-sst-files-size") == 0) {
        superversion_t *sv = db_sv_acquire(db);
        uint64_t n = 0;
        for (int l = 0; l < sv->version->num_levels; l++)
            n += version_level_bytes(sv->version, l);
        db_sv_release(db, sv);
        *out = n;
        return 0;
    }
    return -1;
}

char *lsm_property_value(lsm_t *db, const char *name)
{
    buf_t b;
    buf_init(&b);
    if (strcmp(name, "lsm.stats") == 0) {
        stats_text(db, &b);
    } else if (strcmp(name, "lsm.levels") == 0) {
        vset_level_summary(db->vset, &b);
    } else if (strcmp(name, "lsm.wal-gap") == 0) {
        if (db->wal_gap)
            buf_append(&b, db->wal_gap, strlen(db->wal_gap));
    } else {
        uint64_t v;
        if (lsm_property_int(db, name, &v) != 0)
            return NULL;
        buf_printf(&b, "%llu", (unsigned long long)v);
    }
    buf_push(&b, '\0');
    if (b.oom) {
        buf_free(&b);
        return NULL;
    }
    return b.data;
}

void lsm_verify_checksum(lsm_t *db, char **errptr)
{
    superversion_t *sv = db_sv_acquire(db);
    status_t st = NULL;
    for (int l = 0; l < sv->version->num_levels && !st; l++) {
        for (int i = 0; i < sv->version->nfiles[l] && !st; i++) {
            file_meta_t *f = sv->version->files[l][i];
            cache_handle_t *h;
            st = table_cache_get(db->tcache, f->number, f->size, &h);
            if (st)
                break;
            st = table_verify(table_cache_table(h));
            table_cache_release(db->tcache, h);
        }
    }
    db_sv_release(db, sv);
    st_to_errptr(st, errptr);
}
