/*
 * repair.c - lsm_repair_db: rebuild a store from whatever of its tables and WALs reads.
 *
 * Steps (RocksDB's RepairDB, simplified): take LOCK; list every *.sst and *.log; salvage
 * each table block by block (table_salvage.h: damaged blocks and unopenable tables are
 * skipped and reported on stderr) into a memtable per table; replay every WAL into one
 * more memtable (a torn tail or mid-log damage ends that log, keeping its prefix); merge
 * them all and write NEW tables at the last level, cut at ~target_file_size_base between
 * user keys, keeping every version of every key and every range tombstone (each output
 * gets the fragments inside its own user-key interval [lo, hi), so outputs are disjoint);
 * then write MANIFEST-N (N above every file number seen) holding one snapshot record and
 * point CURRENT at it.
 *
 * lsm_list_damaged_blocks walks the same tables without writing anything and reports each
 * damaged data block with the key range its index entry bounds (so a caller can say which
 * of its rows the rebuild will lose).
 *
 * Invariant: nothing old is removed before CURRENT names the new MANIFEST durably (tables
 * synced, directory synced, MANIFEST synced, CURRENT written atomically). A crash before
 * that leaves the old store (plus orphan new tables that open deletes); after it, the new
 * store (plus orphan old files).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"
#include "db/db_impl.h"
#include "db/out_span.h"
#include "base/dbformat.h"
#include "db/filename.h"
#include "db/options.h"
#include "db/version_edit.h"
#include "include/lsm.h"
#include "mem/memtable.h"
#include "mem/range_del.h"
#include "table/merger.h"
#include "table/table_builder.h"
#include "table/table_salvage.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/coding.h"
#include "write/wal.h"
#include "write/write_batch.h"

typedef struct {
    uint64_t *v;
    int n, cap;
} num_list_t;

typedef struct {
    const lsm_options_t *opt;
    env_t *env;
    const char *dir;
    num_list_t tables, logs, manifests;
    uint64_t max_number;
    uint64_t max_seq;
    memtable_t **mems;
    int n_mems, cap_mems;
    arena_t arena;
    range_del_t tombs;
    memtable_t *cur;          /* the memtable being filled */
    /* output */
    table_builder_t *b;
    wfile_t *file;
    char path[4096];
    uint64_t out_number;
    db_span_t span; /* the current output's key interval */
    version_edit_t edit;
    num_list_t outs;
} repair_t;

static int num_push(num_list_t *l, uint64_t x)
{
    if (vec_grow(&l->v, sizeof(*l->v), l->n, &l->cap, 16))
        return -1;
    l->v[l->n++] = x;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int list_one(void *arg, const char *name)
{
    repair_t *r = arg;
    uint64_t num;
    file_type_t t = fn_parse(name, &num);
    int rc = 0;
    if (t == FT_TABLE)
        rc = num_push(&r->tables, num);
    else if (t == FT_LOG)
        rc = num_push(&r->logs, num);
    else if (t == FT_MANIFEST)
        rc = num_push(&r->manifests, num);
    if (t == FT_TABLE || t == FT_LOG || t == FT_MANIFEST)
        if (num > r->max_number)
            r->max_number = num;
    return rc;
}

static void note_seq(repair_t *r, uint64_t seq)
{
    if (seq > r->max_seq)
        r->max_seq = seq;
}

static status_t push_mem(repair_t *r)
{
    if (vec_grow(&r->mems, sizeof(*r->mems), r->n_mems, &r->cap_mems, 16))
        return st_io(ENOMEM, "%s: repair", r->dir);
    r->cur = memtable_new();
    if (!r->cur)
        return st_io(ENOMEM, "%s: repair", r->dir);
    r->mems[r->n_mems++] = r->cur;
    return NULL;
}

static int add_tomb(void *arg, slice_t start, slice_t end, uint64_t seq)
{
    repair_t *r = arg;
    note_seq(r, seq);
    return range_del_add(&r->tombs, seq, start, end) != 0;
}

static int salvage_point(void *arg, slice_t ikey, slice_t value)
{
    repair_t *r = arg;
    note_seq(r, ikey_seq(ikey));
    return memtable_add(r->cur, ikey_seq(ikey), ikey_type(ikey), ikey_user_key(ikey), value) != 0;
}

static status_t salvage_tables(repair_t *r)
{
    table_salvage_cb_t cb = {salvage_point, add_tomb, r, NULL};
    for (int i = 0; i < r->tables.n; i++) {
        char path[4096];
        fn_table(path, sizeof(path), r->dir, r->tables.v[i]);
        ST_RETURN_IF_ERR(push_mem(r));
        table_salvage_stats_t ts;
        status_t s = table_salvage(r->env, path, &cb, &ts);
        if (s && st_code(s) == ST_CORRUPTION) {
            fprintf(stderr, "lsm repair: %s: unreadable, dropped (%s)\n", path, st_msg(s));
            st_free(s);
            continue;
        }
        if (s)
            return s;
        if (ts.blocks_bad)
            fprintf(stderr, "lsm repair: %s: %" PRIu64 " damaged data block(s) dropped, %"
                    PRIu64 " kept\n", path, ts.blocks_bad, ts.blocks_ok);
        if (ts.range_dels_lost)
            fprintf(stderr, "lsm repair: %s: range tombstones unreadable, dropped\n", path);
    }
    return NULL;
}

static int wal_put(void *arg, uint64_t seq, slice_t k, slice_t v)
{
    repair_t *r = arg;
    note_seq(r, seq);
    return memtable_add(r->cur, seq, TYPE_VALUE, k, v);
}

static int wal_del(void *arg, uint64_t seq, slice_t k)
{
    repair_t *r = arg;
    note_seq(r, seq);
    return memtable_add(r->cur, seq, TYPE_DELETION, k, slice_make(NULL, 0));
}

static int wal_range(void *arg, uint64_t seq, slice_t s, slice_t e)
{
    return add_tomb(arg, s, e, seq) ? ENOMEM : 0;
}

static const wb_handler_t wal_handler = {wal_put, wal_del, wal_range};

/* Replays one WAL into r->cur; damage ends the log (its prefix is kept). A batch is
 * validated before any of it is applied, so a bad batch adds nothing. */
static status_t replay_wal(repair_t *r, uint64_t number)
{
    char path[4096];
    fn_log(path, sizeof(path), r->dir, number);
    log_reader_t *lr;
    status_t s = log_reader_open(r->env, path, &lr);
    if (s) {
        if (st_code(s) != ST_CORRUPTION)
            return s;
        fprintf(stderr, "lsm repair: %s: unreadable, dropped (%s)\n", path, st_msg(s));
        st_free(s);
        return NULL;
    }
    for (;;) {
        slice_t rec;
        int eof;
        s = log_read_record(lr, &rec, &eof);
        if (s || eof)
            break;
        if (rec.size < WB_HEADER_SIZE || wb_validate(rec) != NULL) {
            s = st_error(ST_CORRUPTION, "%s: offset %llu: malformed batch", path,
                         (unsigned long long)log_reader_record_offset(lr));
            break;
        }
        s = wb_iterate(rec, &wal_handler, r);
        if (s)
            break;
    }
    log_reader_close(lr);
    if (s && st_code(s) == ST_CORRUPTION) {
        fprintf(stderr, "lsm repair: %s; keeping the log up to that point\n", st_msg(s));
        st_free(s);
        s = NULL;
    }
    return s;
}

/* ---- output tables ---- */

/* The last level: outputs of one sorted merge are disjoint, as levels >= 1 require. */
static int repair_level(const repair_t *r)
{
    int n = r->opt->num_levels;
    if (n > VE_MAX_LEVELS)
        n = VE_MAX_LEVELS;
    return n < 2 ? 1 : n - 1;
}

static status_t out_open(repair_t *r)
{
    if (r->b)
        return NULL;
    r->out_number = ++r->max_number;
    fn_table(r->path, sizeof(r->path), r->dir, r->out_number);
    if (num_push(&r->outs, r->out_number))
        return st_io(ENOMEM, "%s", r->path);
    ST_RETURN_IF_ERR(wfile_open(r->env, r->path, 0, &r->file));
    table_options_t to;
    table_options_default(&to);
    to.block_size = r->opt->block_size;
    to.compression = r->opt->compression;
    to.bloom_bits_per_key = r->opt->bloom_bits_per_key;
    r->b = table_builder_new(&to, r->file);
    if (!r->b)
        return st_io(ENOMEM, "%s", r->path);
    return NULL;
}

static status_t tomb_add(void *arg, slice_t s, slice_t e, uint64_t seq)
{
    repair_t *r = arg;
    status_t st = out_open(r);
    return st ? st : table_builder_add_range_del(r->b, s, e, seq);
}

/* Finishes the current output at user key hi (NULL = the end), after giving it the
 * tombstone fragments of [lo, hi), and records it in the edit. */
static status_t out_close(repair_t *r, const slice_t *hi)
{
    db_tomb_sink_t sink = {NULL, tomb_add, r};
    ST_RETURN_IF_ERR(db_span_close(&r->span, &r->tombs, hi, &sink));
    if (!r->b)
        return NULL;
    table_builder_t *b = r->b;
    status_t s = table_builder_finish(b);
    if (!s)
        s = wfile_sync(r->file);
    status_t cs = wfile_close(r->file);
    r->file = NULL;
    if (!s)
        s = cs;
    else
        st_free(cs);
    if (!s && (table_builder_num_entries(b) || table_builder_num_range_dels(b)))
        version_edit_add_new_file(&r->edit, repair_level(r), r->out_number,
                                  table_builder_file_size(b), table_builder_smallest(b),
                                  table_builder_largest(b), table_builder_smallest_seq(b),
                                  table_builder_largest_seq(b), table_builder_num_entries(b),
                                  table_builder_num_range_dels(b));
    table_builder_destroy(b);
    r->b = NULL;
    return s;
}

static status_t write_outputs(repair_t *r)
{
    iter_t **kids = calloc((size_t)(r->n_mems ? r->n_mems : 1), sizeof(iter_t *));
    if (!kids)
        return st_io(ENOMEM, "%s: repair", r->dir);
    int k = 0;
    for (int i = 0; i < r->n_mems; i++) {
        kids[k] = memtable_iter_new(r->mems[i]);
        if (!kids[k]) {
            for (int j = 0; j < k; j++)
                iter_destroy(kids[j]);
            free(kids);
            return st_io(ENOMEM, "%s: repair", r->dir);
        }
        k++;
    }
    iter_t *it = merging_iter_new(kids, k);
    free(kids);
    if (!it)
        return st_io(ENOMEM, "%s: repair", r->dir);
    buf_t cur, prev;
    buf_init(&cur);
    buf_init(&prev);
    int have_cur = 0;
    status_t s = NULL;
    for (iter_seek_to_first(it); iter_valid(it) && !s; iter_next(it)) {
        slice_t ikey = iter_key(it);
        slice_t ukey = ikey_user_key(ikey);
        if (have_cur && slice_equal(ikey, buf_slice(&prev)))
            continue; /* the same entry from two sources (e.g. a WAL and its flush) */
        if (!have_cur || !slice_equal(ukey, buf_slice(&cur))) {
            if (r->b && table_builder_estimated_size(r->b) >= r->opt->target_file_size_base) {
                s = out_close(r, &ukey);
                if (s)
                    break;
            }
            buf_clear(&cur);
            buf_append(&cur, ukey.data, ukey.size);
            have_cur = 1;
        }
        buf_clear(&prev);
        buf_append(&prev, ikey.data, ikey.size);
        s = out_open(r);
        if (!s)
            s = table_builder_add(r->b, ikey, iter_value(it));
    }
    if (!s && iter_status(it))
        s = st_copy(iter_status(it));
    if (!s && (cur.oom || prev.oom || r->span.lo.oom))
        s = st_io(ENOMEM, "%s: repair", r->dir);
    iter_destroy(it);
    buf_free(&cur);
    buf_free(&prev);
    if (!s)
        s = out_close(r, NULL);
    return s;
}

/* Writes MANIFEST-(max_number + 1) with one snapshot record and points CURRENT at it. */
static status_t write_manifest(repair_t *r, uint64_t *manifest_number)
{
    uint64_t mnum = ++r->max_number;
    uint64_t next = r->max_number + 1;
    version_edit_set_format_version(&r->edit, LSM_FORMAT_VERSION);
    version_edit_set_log_number(&r->edit, next);
    version_edit_set_next_file_number(&r->edit, next);
    version_edit_set_last_sequence(&r->edit, r->max_seq);
    buf_t rec;
    buf_init(&rec);
    version_edit_encode(&r->edit, &rec);
    char path[4096];
    fn_manifest(path, sizeof(path), r->dir, mnum);
    status_t s = rec.oom ? st_io(ENOMEM, "%s", path) : NULL;
    wfile_t *f = NULL;
    if (!s)
        s = file_sync_dir(r->env, r->dir); /* the new tables' entries */
    if (!s)
        s = wfile_open(r->env, path, 0, &f);
    if (!s) {
        log_writer_t *w = log_writer_new(f);
        if (!w) {
            st_free(wfile_close(f));
            s = st_io(ENOMEM, "%s", path);
        } else {
            s = log_add_record(w, buf_slice(&rec));
            if (!s)
                s = log_writer_sync(w);
            status_t cs = log_writer_close(w);
            if (!s)
                s = cs;
            else
                st_free(cs);
        }
    }
    buf_free(&rec);
    if (!s) {
        char name[64];
        int n = snprintf(name, sizeof(name), "MANIFEST-%06" PRIu64 "\n", mnum);
        s = file_write_atomic(r->env, r->dir, "CURRENT", name, (size_t)n);
    }
    if (s)
        st_free(file_remove(r->env, path));
    *manifest_number = mnum;
    return s;
}

static void remove_old(repair_t *r, uint64_t manifest_number)
{
    char path[4096];
    for (int i = 0; i < r->tables.n; i++)
        st_free(file_remove(r->env, fn_table(path, sizeof(path), r->dir, r->tables.v[i])));
    for (int i = 0; i < r->logs.n; i++)
        st_free(file_remove(r->env, fn_log(path, sizeof(path), r->dir, r->logs.v[i])));
    for (int i = 0; i < r->manifests.n; i++)
        if (r->manifests.v[i] != manifest_number)
            st_free(file_remove(r->env,
                                fn_manifest(path, sizeof(path), r->dir, r->manifests.v[i])));
    st_free(file_sync_dir(r->env, r->dir));
}

static status_t repair(repair_t *r)
{
    ST_RETURN_IF_ERR(file_list_dir(r->dir, list_one, r));
    if (r->tables.n > 1)
        qsort(r->tables.v, (size_t)r->tables.n, sizeof(uint64_t), cmp_u64);
    if (r->logs.n > 1)
        qsort(r->logs.v, (size_t)r->logs.n, sizeof(uint64_t), cmp_u64);
    if (range_del_init(&r->tombs, &r->arena) != 0)
        return st_io(ENOMEM, "%s: repair", r->dir);
    ST_RETURN_IF_ERR(salvage_tables(r));
    ST_RETURN_IF_ERR(push_mem(r));
    for (int i = 0; i < r->logs.n; i++)
        ST_RETURN_IF_ERR(replay_wal(r, r->logs.v[i]));
    status_t s = write_outputs(r);
    uint64_t mnum = 0;
    if (!s)
        s = write_manifest(r, &mnum);
    if (s) {
        /* The old store is untouched: drop what was written. */
        char path[4096];
        for (int i = 0; i < r->outs.n; i++)
            st_free(file_remove(r->env, fn_table(path, sizeof(path), r->dir, r->outs.v[i])));
        return s;
    }
    remove_old(r, mnum);
    return NULL;
}

void lsm_repair_db(const lsm_options_t *options, const char *name, char **errptr)
{
    lsm_options_t defaults;
    if (!options) {
        lsm_options_t *d = lsm_options_create();
        if (!d) {
            st_to_errptr(st_io(ENOMEM, "%s: repair", name), errptr);
            return;
        }
        defaults = *d;
        lsm_options_destroy(d);
        options = &defaults;
    }
    env_t plain = {0};
    repair_t r;
    memset(&r, 0, sizeof(r));
    r.opt = options;
    r.env = options->env ? options->env : &plain;
    r.dir = name;
    arena_init(&r.arena, 4096);
    db_span_init(&r.span);
    version_edit_init(&r.edit);
    char path[4096];
    int fd = -1;
    status_t s = NULL;
    if (!file_exists(fn_current(path, sizeof(path), name)) && !file_exists(name))
        s = st_error(ST_INVALID_ARGUMENT, "%s: no such store", name);
    if (!s)
        s = file_lock(fn_lock(path, sizeof(path), name), &fd);
    if (!s)
        s = repair(&r);
    if (r.b) {
        table_builder_abandon(r.b);
        st_free(wfile_close(r.file));
    }
    for (int i = 0; i < r.n_mems; i++)
        memtable_unref(r.mems[i]);
    free(r.mems);
    if (r.tombs.arena)
        range_del_destroy(&r.tombs);
    arena_destroy(&r.arena);
    db_span_free(&r.span);
    version_edit_free(&r.edit);
    free(r.tables.v);
    free(r.logs.v);
    free(r.manifests.v);
    free(r.outs.v);
    if (fd >= 0)
        file_unlock(fd);
    st_to_errptr(s, errptr);
}

/* ---- lsm_list_damaged_blocks ---- */

typedef struct {
    const char *path;
    int (*fn)(void *arg, const lsm_damaged_block_t *b);
    void *arg;
    uint64_t n;
    int stopped;   /* fn asked to stop */
} damage_walk_t;

static int report_bad_block(void *arg, uint64_t offset, uint64_t size, slice_t lo, slice_t hi)
{
    damage_walk_t *w = arg;
    lsm_damaged_block_t b = {w->path, offset, size, lo.data, hi.data, lo.size, hi.size};
    w->n++;
    w->stopped = w->fn(w->arg, &b) != 0;
    return w->stopped;
}

uint64_t lsm_list_damaged_blocks(const lsm_options_t *options, const char *name,
                                 int (*fn)(void *arg, const lsm_damaged_block_t *b),
                                 void *arg, char **errptr)
{
    env_t plain = {0};
    env_t *env = options && options->env ? options->env : &plain;
    repair_t r;
    memset(&r, 0, sizeof(r));
    r.dir = name;
    status_t s = file_list_dir(name, list_one, &r);
    if (!s && r.tables.n > 1)
        qsort(r.tables.v, (size_t)r.tables.n, sizeof(uint64_t), cmp_u64);
    damage_walk_t w = {NULL, fn, arg, 0, 0};
    table_salvage_cb_t cb = {NULL, NULL, &w, report_bad_block};
    for (int i = 0; !s && i < r.tables.n; i++) {
        char path[4096];
        fn_table(path, sizeof(path), name, r.tables.v[i]);
        w.path = path;
        table_salvage_stats_t ts;
        s = table_salvage(env, path, &cb, &ts);
        if (w.stopped || (s && st_errno(s) == ENOENT)) {
            /* fn said stop; or the table went away since the listing */
            st_free(s);
            s = NULL;
            if (w.stopped)
                break;
        } else if (s && st_code(s) == ST_CORRUPTION) {
            /* footer or index unreadable: the whole table */
            st_free(s);
            s = NULL;
            lsm_damaged_block_t b = {path, 0, 0, NULL, NULL, 0, 0};
            w.n++;
            if (fn(arg, &b))
                break;
        }
    }
    free(r.tables.v);
    free(r.logs.v);
    free(r.manifests.v);
    st_to_errptr(s, errptr);
    return w.n;
}
