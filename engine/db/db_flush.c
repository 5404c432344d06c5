/*
 * db_flush.c - immutable memtables to L0 tables, the flush thread, and file garbage
 * collection.
 *
 * Flushes run oldest memtable first, one at a time, on their own thread (so a long
 * compaction never holds up a flush and with it the writers). A flush writes the table,
 * syncs it, then records it in one MANIFEST edit together with the new log number (the WAL
 * of the next memtable): from that moment the WALs below it are garbage. A crash before the
 * edit is durable leaves an unreferenced table (deleted at the next open) and replays the
 * WAL; a crash after it leaves a WAL that recovery skips.
 *
 * Obsolete files: a table no live version references, a WAL below the oldest WAL any
 * memtable still needs, a MANIFEST older than the current one, and stray *.tmp files. Only
 * numbers below the file counter at the time the live set was taken are candidates, so a
 * file being created concurrently is never deleted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"
#include "db/db_impl.h"
#include "db/out_span.h"
#include "db/filename.h"
#include "table/table_builder.h"
#include "db/table_cache.h"
#include "util/clock.h"

/* ---- output tables ---- */

static void pending_add(lsm_t *db, uint64_t number)
{
    if (vec_grow(&db->pending, sizeof(*db->pending), db->n_pending, &db->cap_pending, 8))
        return; /* numbers above the GC cut-off are safe anyway */
    db->pending[db->n_pending++] = number;
}

void db_pending_remove(lsm_t *db, uint64_t number)
{
    ASSERT_HELD(&db->mu);
    for (int i = 0; i < db->n_pending; i++) {
        if (db->pending[i] == number) {
            db->pending[i] = db->pending[--db->n_pending];
            return;
        }
    }
}

status_t db_out_open(lsm_t *db, out_table_t *o)
{
    memset(o, 0, sizeof(*o));
    mutex_lock(&db->mu);
    o->number = vset_new_file_number(db->vset);
    pending_add(db, o->number);
    mutex_unlock(&db->mu);
    fn_table(o->path, sizeof(o->path), db->dir, o->number);
    status_t st = wfile_open(db->env, o->path, 0, &o->file);
    if (st)
        return st;
    table_options_t to;
    table_options_default(&to);
    to.block_size = db->opt.block_size;
    to.compression = db->opt.compression;
    to.bloom_bits_per_key = db->opt.bloom_bits_per_key;
    o->b = table_builder_new(&to, o->file);
    if (!o->b) {
        st_free(wfile_close(o->file));
        o->file = NULL;
        return st_io(ENOMEM, "%s", o->path);
    }
    return NULL;
}

void db_out_abandon(lsm_t *db, out_table_t *o)
{
    if (o->b)
        table_builder_abandon(o->b);
    if (o->file)
        st_free(wfile_close(o->file));
    if (o->number)
        st_free(file_remove(db->env, o->path));
    o->b = NULL;
    o->file = NULL;
}

/* Finishes, syncs and closes; *meta = NULL (and the file removed) when it holds nothing. */
static status_t out_finish_meta(lsm_t *db, out_table_t *o, file_meta_t **meta)
{
    *meta = NULL;
    table_builder_t *b = o->b;
    if (table_builder_num_entries(b) == 0 && table_builder_num_range_dels(b) == 0) {
        db_out_abandon(db, o);
        return NULL;
    }
    status_t st = table_builder_finish(b);
    if (!st && table_builder_num_entries(b) == 0 && table_builder_num_range_dels(b) == 0) {
        db_out_abandon(db, o); /* every tombstone was empty */
        return NULL;
    }
    if (!st)
        st = wfile_sync(o->file);
    /* The MANIFEST edit that will name this table must never outlive the table's
     * directory entry: make the entry durable too before anyone records the file. */
    if (!st)
        st = file_sync_dir(db->env, db->dir);
    status_t cs = wfile_close(o->file);
    o->file = NULL;
    if (!st)
        st = cs;
    else
        st_free(cs);
    if (!st) {
        *meta = file_meta_new(o->number, table_builder_file_size(b), table_builder_smallest(b),
                              table_builder_largest(b), table_builder_smallest_seq(b),
                              table_builder_largest_seq(b), table_builder_num_entries(b),
                              table_builder_num_range_dels(b));
        if (!*meta)
            st = st_io(ENOMEM, "%s", o->path);
        else
            (*meta)->num_deletions = table_builder_num_deletions(b);
    }
    table_builder_destroy(b);
    o->b = NULL;
    if (st)
        st_free(file_remove(db->env, o->path));
    return st;
}

/* ---- flush ---- */

static status_t add_tomb(void *arg, slice_t s, slice_t e, uint64_t seq)
{
    out_table_t *o = arg;
    return table_builder_add_range_del(o->b, s, e, seq);
}

status_t db_out_finish(lsm_t *db, out_table_t *o, db_meta_list_t *out, const char *what)
{
    file_meta_t *meta = NULL;
    status_t st = out_finish_meta(db, o, &meta);
    if (st || !meta)
        return st;
    if (vec_grow(&out->v, sizeof(*out->v), out->n, &out->cap, 4)) {
        file_meta_unref(meta);
        return st_io(ENOMEM, "%s", what);
    }
    out->v[out->n++] = meta;
    return NULL;
}

void db_meta_list_free(lsm_t *db, db_meta_list_t *l, int forget_pending)
{
    for (int i = 0; i < l->n; i++) {
        if (forget_pending) {
            mutex_lock(&db->mu);
            db_pending_remove(db, l->v[i]->number);
            mutex_unlock(&db->mu);
        }
        file_meta_unref(l->v[i]);
    }
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* Finishes output o, whose key interval is span's [lo, hi) (hi NULL = open), after giving
 * it the memtable's tombstones clipped to that interval; appends its meta to out. */
static status_t finish_l0(lsm_t *db, memtable_t *mem, out_table_t *o, db_span_t *span,
                          const slice_t *hi, db_meta_list_t *out)
{
    db_tomb_sink_t sink = {NULL, add_tomb, o};
    /* an error is sticky in the builder: it shows at finish */
    st_free(db_span_close(span, memtable_range_dels(mem), hi, &sink));
    return db_out_finish(db, o, out, "flush");
}

status_t db_write_level0_tables(lsm_t *db, memtable_t *mem, db_meta_list_t *out)
{
    ASSERT_NOT_HELD(&db->mu);
    memset(out, 0, sizeof(*out));
    if (memtable_num_entries(mem) == 0 && memtable_num_range_dels(mem) == 0)
        return NULL;
    uint64_t t0 = clock_now_us();
    iter_t *it = memtable_iter_new(mem);
    if (!it)
        return st_io(ENOMEM, "flush");
    out_table_t o;
    int open = 0;
    db_span_t span;
    buf_t prev;
    db_span_init(&span);
    buf_init(&prev);
    int have_prev = 0;
    status_t st = NULL;
    for (iter_seek_to_first(it); !st && iter_valid(it); iter_next(it)) {
        slice_t ikey = iter_key(it), ukey = ikey_user_key(ikey);
        /* With a partition prefix, a new prefix starts a new L0 table (cut between user
         * keys only), so tables of different key families never overlap. */
        if (open && have_prev && !slice_equal(ukey, buf_slice(&prev)) &&
            db_crosses_partition(db, buf_slice(&prev), ukey)) {
            open = 0;
            st = finish_l0(db, mem, &o, &span, &ukey, out);
            if (st)
                break;
        }
        if (!open) {
            st = db_out_open(db, &o);
            if (st) {
                db_out_abandon(db, &o);
                break;
            }
            open = 1;
        }
        st = table_builder_add(o.b, ikey, iter_value(it));
        buf_clear(&prev);
        buf_append(&prev, ukey.data, ukey.size);
        have_prev = 1;
    }
    if (!st && iter_status(it))
        st = st_copy(iter_status(it));
    iter_destroy(it);
    if (!st && !open && memtable_num_range_dels(mem) > 0) {
        /* tombstones past the last point key (or no point key at all) */
        st = db_out_open(db, &o);
        if (st)
            db_out_abandon(db, &o);
        else
            open = 1;
    }
    if (open) {
        if (!st) {
            st = finish_l0(db, mem, &o, &span, NULL, out);
        } else {
            db_out_abandon(db, &o);
        }
    }
    db_span_free(&span);
    buf_free(&prev);
    if (st) {
        db_meta_list_free(db, out, 1); /* unreferenced: the next GC pass deletes them */
        return st;
    }
    atomic_fetch_add(&db->stats.flushes, 1);
    for (int i = 0; i < out->n; i++)
        atomic_fetch_add(&db->stats.flush_bytes, out->v[i]->size);
    atomic_fetch_add(&db->stats.flush_us, clock_now_us() - t0);
    return NULL;
}

/* Flushes db->imm[0]. Called with mu held; drops it while writing. */
static status_t flush_oldest(lsm_t *db)
{
    ASSERT_HELD(&db->mu);
    imm_entry_t e = db->imm[0];
    memtable_ref(e.mem);
    mutex_unlock(&db->mu);
    db_meta_list_t metas;
    status_t st = db_write_level0_tables(db, e.mem, &metas);
    memtable_unref(e.mem);
    mutex_lock(&db->mu);
    if (st)
        return st;
    version_edit_t edit;
    version_edit_init(&edit);
    for (int i = 0; i < metas.n; i++)
        version_edit_add_file(&edit, 0, metas.v[i]);
    version_edit_set_log_number(&edit, e.next_log_number);
    uint64_t last = atomic_load(&db->visible_seq);
    if (last < vset_last_sequence(db->vset))
        last = vset_last_sequence(db->vset);
    version_edit_set_last_sequence(&edit, last);
    st = vset_log_and_apply(db->vset, &edit, &db->mu);
    version_edit_free(&edit);
    /* After a failed apply the edit may still be durable: the files stay (GC keeps them
     * while they are referenced; their numbers are never reused either way). */
    for (int i = 0; i < metas.n; i++)
        db_pending_remove(db, metas.v[i]->number);
    db_meta_list_free(db, &metas, 0); /* only drops references: no lock needed */
    if (st)
        return st;
    /* Drop the flushed memtable. */
    memtable_unref(db->imm[0].mem);
    memmove(&db->imm[0], &db->imm[1], sizeof(db->imm[0]) * (size_t)(db->n_imm - 1));
    db->n_imm--;
    db->flushes_done++;
    st = db_install_sv(db);
    return st;
}

void db_soft_error_backoff(lsm_t *db, const char *what, status_t st)
{
    ASSERT_HELD(&db->mu);
    db_log_bg_failure(db, what, st);
    st_free(db->soft_error);
    db->soft_error = st;
    pthread_cond_broadcast(&db->bg_cv);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    if (!db->shutting_down)
        mutex_timedwait(&db->mu, &db->bg_cv, &ts);
}

void *db_flush_thread(void *arg)
{
    lsm_t *db = arg;
    mutex_lock(&db->mu);
    while (!db->shutting_down) {
        if (db->n_imm > 0 && !db->bg_error) {
            db->flush_running = 1;
            status_t st = flush_oldest(db);
            db->flush_running = 0;
            if (st) {
                db_soft_error_backoff(db, "flush", st);
                continue;
            }
            db_log_bg_recovered(db);
            st_free(db->soft_error);
            db->soft_error = NULL;
            db_delete_obsolete_files(db);
            db_reserve_ensure_unlocked(db);
            pthread_cond_broadcast(&db->bg_cv);
            continue;
        }
        mutex_wait(&db->mu, &db->bg_cv);
    }
    mutex_unlock(&db->mu);
    return NULL;
}

void db_maybe_schedule(lsm_t *db)
{
    ASSERT_HELD(&db->mu);
    if (db->n_imm > 0 || vset_needs_compaction(db->vset))
        pthread_cond_broadcast(&db->bg_cv);
}

/* ---- obsolete files ---- */

typedef struct {
    uint64_t *v;
    int n, cap;
} u64set_t;

static void u64_add(void *arg, uint64_t x)
{
    u64set_t *s = arg;
    if (vec_grow(&s->v, sizeof(*s->v), s->n, &s->cap, 64))
        return;
    s->v[s->n++] = x;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    lsm_t *db;
    u64set_t live;
    int live_ok;
    uint64_t cutoff;      /* only numbers below this */
    uint64_t min_log;     /* WALs below this are garbage */
    uint64_t manifest;    /* MANIFESTs below this are garbage */
    int include_temp;     /* also delete *.tmp (only before background work starts) */
    u64set_t doomed_tables;
    char **doomed;
    int n_doomed, cap_doomed;
} gc_t;

static void doom(gc_t *g, const char *name)
{
    if (vec_grow(&g->doomed, sizeof(*g->doomed), g->n_doomed, &g->cap_doomed, 16))
        return;
    char *s = strdup(name);
    if (s)
        g->doomed[g->n_doomed++] = s;
}

static int gc_visit(void *arg, const char *name)
{
    gc_t *g = arg;
    uint64_t num = 0;
    switch (fn_parse(name, &num)) {
    case FT_LOG:
        if (num < g->min_log && num < g->cutoff)
            doom(g, name);
        break;
    case FT_TABLE:
        /* no live table at all (everything deleted and compacted away): live.v is NULL,
         * which bsearch must not get */
        if (g->live_ok && num < g->cutoff &&
            (g->live.n == 0 ||
             !bsearch(&num, g->live.v, (size_t)g->live.n, sizeof(uint64_t), u64_cmp))) {
            doom(g, name);
            u64_add(&g->doomed_tables, num);
        }
        break;
    case FT_MANIFEST:
        if (num < g->manifest)
            doom(g, name);
        break;
    case FT_TEMP:
        /* Only at open: while the store runs, a MANIFEST switch may be writing
         * CURRENT.tmp with the DB mutex released. */
        if (g->include_temp)
            doom(g, name);
        break;
    default:
        break;
    }
    return 0;
}

void db_delete_obsolete_files(lsm_t *db)
{
    ASSERT_HELD(&db->mu);
    if (db->read_only || db->bg_error || db->deletions_disabled)
        return; /* after a sticky error the on-disk state is unknown: keep everything;
                 * while a checkpoint copies, the files it listed must stay */
    gc_t g;
    memset(&g, 0, sizeof(g));
    g.db = db;
    g.cutoff = vset_next_file_number(db->vset);
    vset_add_live_files(db->vset, u64_add, &g.live);
    for (int i = 0; i < db->n_pending; i++)
        u64_add(&g.live, db->pending[i]);
    g.live_ok = 1;
    if (g.live.n)
        qsort(g.live.v, (size_t)g.live.n, sizeof(uint64_t), u64_cmp);
    g.min_log = vset_log_number(db->vset);
    if (db->n_imm > 0 && db->imm[0].log_number < g.min_log)
        g.min_log = db->imm[0].log_number;
    if (db->mem_log_number && db->mem_log_number < g.min_log)
        g.min_log = db->mem_log_number;
    g.manifest = vset_manifest_file_number(db->vset);
    g.include_temp = !db->threads_started;
    mutex_unlock(&db->mu);

    st_free(file_list_dir(db->dir, gc_visit, &g));
    for (int i = 0; i < g.doomed_tables.n; i++)
        table_cache_evict(db->tcache, g.doomed_tables.v[i]);
    for (int i = 0; i < g.n_doomed; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", db->dir, g.doomed[i]);
        st_free(file_remove(db->env, path));
        free(g.doomed[i]);
    }
    free(g.doomed);
    free(g.live.v);
    free(g.doomed_tables.v);
    mutex_lock(&db->mu);
}
