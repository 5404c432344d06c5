/*
 * db_compact.c - running compactions: the compaction thread, the merge that writes the
 * output tables, and lsm_compact_range.
 *
 * The merge reads every input (level L and L+1 files) through one merging iterator and
 * writes what survives into output tables at the output level:
 *   - of several versions of a user key, a version is dropped when a newer one is visible
 *     to every snapshot (its sequence <= the oldest snapshot);
 *   - a deletion visible to every snapshot is dropped when no deeper level may hold the key;
 *   - an entry covered by a range tombstone of the inputs that every snapshot sees is
 *     dropped;
 *   - range tombstones are carried into the outputs, each output receiving the part that
 *     lies inside its own key interval [cut before it, cut after it), so the output files
 *     stay disjoint; a tombstone visible to every snapshot is dropped at the base level.
 * Outputs are cut at user-key boundaries only (all versions of a key stay in one file),
 * when the output reaches the target size or overlaps too many grandparent bytes.
 * The edit (inputs deleted, outputs added) is applied in one MANIFEST record.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_impl.h"
#include "db/out_span.h"
#include "table/merger.h"
#include "table/table_builder.h"
#include "db/table_cache.h"
#include "util/clock.h"

typedef struct {
    lsm_t *db;
    compaction_t *c;
    uint64_t oldest_snapshot;
    arena_t arena;
    range_del_t tombs;
    int has_tombs;
    out_table_t out;
    int out_open;
    db_span_t span;    /* the current output's key interval */
    db_meta_list_t outs;
    uint64_t bytes_written;
} cjob_t;

static int collect_tomb(void *arg, slice_t start, slice_t end, uint64_t seq)
{
    return range_del_add(arg, seq, start, end) != 0;
}

static int tomb_done(void *arg, slice_t s, slice_t e, uint64_t seq)
{
    cjob_t *j = arg;
    /* nothing below it, every snapshot sees it: it has done its work */
    return seq <= j->oldest_snapshot && compaction_is_base_level_for_range(j->c, s, e);
}

static status_t tomb_add(void *arg, slice_t s, slice_t e, uint64_t seq)
{
    cjob_t *j = arg;
    return table_builder_add_range_del(j->out.b, s, e, seq);
}

static status_t out_ensure_open(cjob_t *j)
{
    if (j->out_open)
        return NULL;
    status_t st = db_out_open(j->db, &j->out);
    if (st) {
        db_out_abandon(j->db, &j->out);
        return st;
    }
    j->out_open = 1;
    return NULL;
}

/* Closes the current output at user key `hi` (NULL = end of the compaction), after giving
 * it the tombstones of its interval. */
static status_t out_close(cjob_t *j, const slice_t *hi)
{
    if (j->has_tombs) {
        status_t st = out_ensure_open(j);
        if (st)
            return st;
    }
    db_tomb_sink_t sink = {tomb_done, tomb_add, j};
    status_t tst = db_span_close(&j->span, j->has_tombs ? &j->tombs : NULL, hi, &sink);
    if (tst) {
        db_out_abandon(j->db, &j->out);
        j->out_open = 0;
        return tst;
    }
    if (!j->out_open)
        return NULL;
    j->out_open = 0;
    int n = j->outs.n;
    status_t st = db_out_finish(j->db, &j->out, &j->outs, "compaction");
    if (!st && j->outs.n > n)
        j->bytes_written += j->outs.v[n]->size;
    return st;
}

/* With sst_partition_prefix_len = n, an output never holds keys of two different n-byte
 * prefixes (RocksDB's fixed-prefix SstPartitioner): lsmfs keeps data rows and metadata
 * rows in separate tables, so appended data moves down the levels without being merged
 * with the inode rows that every write also updates. */
static status_t merge_inputs(cjob_t *j)
{
    lsm_t *db = j->db;
    compaction_t *c = j->c;
    int n = c->inputs[0].n + c->inputs[1].n, k = 0;
    iter_t **kids = calloc((size_t)(n ? n : 1), sizeof(iter_t *));
    if (!kids)
        return st_io(ENOMEM, "compaction");
    status_t st = NULL;
    for (int w = 0; w < 2 && !st; w++) {
        for (int i = 0; i < c->inputs[w].n && !st; i++) {
            file_meta_t *f = c->inputs[w].v[i];
            table_t *t = NULL;
            kids[k] = table_cache_iter_new(db->tcache, f->number, f->size, 1, 0, &t);
            if (!kids[k]) {
                st = st_io(ENOMEM, "compaction");
                break;
            }
            k++;
            if (t && f->num_range_dels > 0) {
                if (!j->has_tombs) {
                    if (range_del_init(&j->tombs, &j->arena) != 0) {
                        st = st_io(ENOMEM, "compaction");
                        break;
                    }
                    j->has_tombs = 1;
                }
                table_range_dels(t, collect_tomb, &j->tombs);
            }
        }
    }
    iter_t *it = NULL;
    if (!st) {
        it = merging_iter_new(kids, k);
        k = 0;
        if (!it)
            st = st_io(ENOMEM, "compaction");
    }
    for (int i = 0; i < k; i++)
        iter_destroy(kids[i]);
    free(kids);
    if (st)
        return st;

    buf_t cur;            /* current user key */
    buf_init(&cur);
    int have_cur = 0, want_cut = 0;
    uint64_t last_seq_for_key = 0;
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it)) {
        if (db->shutting_down) {
            st = st_error(ST_BUSY, "%s: store is closing", db->dir);
            break;
        }
        slice_t ikey = iter_key(it);
        if (!ikey_valid(ikey)) {
            st = st_error(ST_CORRUPTION, "%s: compaction input has a malformed key", db->dir);
            break;
        }
        slice_t ukey = ikey_user_key(ikey);
        uint64_t seq = ikey_seq(ikey);
        value_type_t type = ikey_type(ikey);
        if (compaction_should_stop_before(c, ikey))
            want_cut = 1;
        int new_key = !have_cur || !slice_equal(ukey, buf_slice(&cur));
        if (new_key) {
            if (j->out_open && (want_cut || table_builder_estimated_size(j->out.b) >=
                                                c->max_output_file_size ||
                                db_crosses_partition(db, buf_slice(&cur), ukey))) {
                st = out_close(j, &ukey);
                if (st)
                    break;
                want_cut = 0;
            }
            buf_clear(&cur);
            buf_append(&cur, ukey.data, ukey.size);
            have_cur = 1;
            last_seq_for_key = MAX_SEQUENCE + 1;
        }
        int drop = 0;
        if (last_seq_for_key <= j->oldest_snapshot)
            drop = 1; /* a newer version of the key is visible to every snapshot */
        else if (type == TYPE_DELETION && seq <= j->oldest_snapshot &&
                 compaction_is_base_level_for_key(c, ukey))
            drop = 1;
        else if (j->has_tombs && range_del_max_covering(&j->tombs, ukey, j->oldest_snapshot) > seq)
            drop = 1;
        last_seq_for_key = seq;
        if (drop)
            continue;
        st = out_ensure_open(j);
        if (!st)
            st = table_builder_add(j->out.b, ikey, iter_value(it));
        if (st)
            break;
    }
    if (!st && iter_status(it))
        st = st_copy(iter_status(it));
    iter_destroy(it);
    buf_free(&cur);
    if (!st)
        st = out_close(j, NULL);
    return st;
}

status_t db_run_compaction(lsm_t *db, compaction_t *c)
{
    ASSERT_NOT_HELD(&db->mu);
    uint64_t t0 = clock_now_us();
    if (c->trivial_move) {
        compaction_set_trivial_move_edit(c);
        mutex_lock(&db->mu);
        status_t st = vset_log_and_apply(db->vset, &c->edit, &db->mu);
        if (!st) /* readers (and GC) move on to the new version */
            st = db_install_sv(db);
        mutex_unlock(&db->mu);
        if (!st)
            atomic_fetch_add(&db->stats.trivial_moves, 1);
        return st;
    }
    cjob_t j;
    memset(&j, 0, sizeof(j));
    j.db = db;
    j.c = c;
    arena_init(&j.arena, 64 << 10);
    db_span_init(&j.span);
    mutex_lock(&db->mu);
    j.oldest_snapshot = db_oldest_snapshot(db);
    mutex_unlock(&db->mu);

    status_t st = merge_inputs(&j);
    if (j.out_open)
        db_out_abandon(db, &j.out);
    mutex_lock(&db->mu);
    if (!st) {
        for (int i = 0; i < j.outs.n; i++)
            version_edit_add_file(&c->edit, c->output_level, j.outs.v[i]);
        st = vset_log_and_apply(db->vset, &c->edit, &db->mu);
        if (!st) /* readers (and GC) move on to the new version */
            st = db_install_sv(db);
    }
    for (int i = 0; i < j.outs.n; i++) {
        db_pending_remove(db, j.outs.v[i]->number);
        file_meta_unref(j.outs.v[i]);
    }
    mutex_unlock(&db->mu);
    if (st) {
        /* Outputs not referenced by any version are removed by the next GC pass. */
    } else {
        atomic_fetch_add(&db->stats.compactions, 1);
        atomic_fetch_add(&db->stats.compact_read_bytes, compaction_input_bytes(c));
        atomic_fetch_add(&db->stats.compact_write_bytes, j.bytes_written);
        atomic_fetch_add(&db->stats.compact_us, clock_now_us() - t0);
    }
    free(j.outs.v);
    db_span_free(&j.span);
    if (j.has_tombs)
        range_del_destroy(&j.tombs);
    arena_destroy(&j.arena);
    return st;
}

void *db_compact_thread(void *arg)
{
    lsm_t *db = arg;
    mutex_lock(&db->mu);
    while (!db->shutting_down) {
        compaction_t *c = NULL;
        if (!db->opt.disable_auto_compactions && !db->manual_compaction && !db->bg_error) {
            c = vset_pick_compaction(db->vset);
            if (!c) /* nothing by size: reclaim the space of deletions (RocksDB's
                     * deletion-triggered compaction) */
                c = vset_pick_deletion_compaction(db->vset, db_oldest_snapshot(db));
        }
        if (!c) {
            mutex_wait(&db->mu, &db->bg_cv);
            continue;
        }
        db->compaction_running = 1;
        mutex_unlock(&db->mu);
        status_t st = db_run_compaction(db, c);
        mutex_lock(&db->mu);
        compaction_free(c);
        db->compaction_running = 0;
        if (st && st_code(st) == ST_BUSY && db->shutting_down) {
            st_free(st);
            break;
        }
        if (st) {
            db_soft_error_backoff(db, "compaction", st);
            continue;
        }
        db_delete_obsolete_files(db);
        db_reserve_ensure_unlocked(db);
        pthread_cond_broadcast(&db->bg_cv);
    }
    mutex_unlock(&db->mu);
    return NULL;
}

/* ---- manual compaction ---- */

/* One compaction of level's files in [b, e) into the next level. rewrite: never a trivial
 * move (the bottom of a manual compaction: its tables are rewritten so that versions no
 * snapshot needs any more, and tombstones with nothing below, are dropped). */
static status_t compact_level_range(lsm_t *db, int level, const slice_t *b, const slice_t *e,
                                    int rewrite)
{
    status_t st = NULL;
    mutex_lock(&db->mu);
    for (;;) {
        compaction_t *c = NULL;
        st = vset_compact_range(db->vset, level, b, e, &c);
        if (st && st_code(st) == ST_BUSY && !db->shutting_down) {
            st_free(st);
            st = NULL;
            mutex_wait(&db->mu, &db->bg_cv); /* an automatic compaction holds inputs */
            continue;
        }
        if (st || !c)
            break;
        if (rewrite)
            c->trivial_move = 0;
        mutex_unlock(&db->mu);
        st = db_run_compaction(db, c);
        mutex_lock(&db->mu);
        compaction_free(c);
        if (!st)
            db_delete_obsolete_files(db);
        break;
    }
    mutex_unlock(&db->mu);
    return st;
}

void lsm_compact_range(lsm_t *db, const char *start, size_t slen, const char *limit, size_t llen,
                       char **errptr)
{
    if (db->read_only) {
        st_to_errptr(st_error(ST_NOT_SUPPORTED, "%s: store is open read-only", db->dir), errptr);
        return;
    }
    char *err = NULL;
    lsm_flush(db, NULL, &err);
    if (err) {
        free(*errptr);
        *errptr = err;
        return;
    }
    slice_t b = slice_make(start, slen), e = slice_make(limit, llen);
    const slice_t *bp = start ? &b : NULL, *ep = limit ? &e : NULL;
    mutex_lock(&db->mu);
    db->manual_compaction++;
    /* Let a running automatic compaction finish (no new one starts while the flag is
     * up), so the shape of the tree cannot change under the loop below. */
    while (db->compaction_running && !db->shutting_down)
        mutex_wait(&db->mu, &db->bg_cv);
    int levels = vset_num_levels(db->vset);
    mutex_unlock(&db->mu);
    /* Like LevelDB: push the range down to the deepest level that holds part of it. */
    version_t *v = vset_current(db->vset);
    int deepest = 0;
    for (int l = 1; l < levels; l++)
        if (version_overlap_in_level(v, l, bp, ep))
            deepest = l;
    version_unref(v);
    int bottom = deepest; /* 0: no level below L0 holds any of the range */
    if (deepest == 0)
        deepest = 1;
    status_t st = NULL;
    for (int level = 0; level < deepest && !st; level++) {
        v = vset_current(db->vset);
        int here = version_overlap_in_level(v, level, bp, ep);
        version_unref(v);
        if (here)
            st = compact_level_range(db, level, bp, ep, 0);
    }
    /* Then the deepest level itself, rewritten (into the next level, the last one into
     * itself): versions only a since-deleted snapshot kept, and overwritten ones that sat
     * at the bottom already, are dropped only by rewriting the bottom (RocksDB's
     * bottommost_level_compaction = force); without it, `lsmfsctl compact` after deleting
     * a snapshot freed nothing. */
    if (!st && bottom > 0)
        st = compact_level_range(db, bottom, bp, ep, 1);
    mutex_lock(&db->mu);
    db->manual_compaction--;
    pthread_cond_broadcast(&db->bg_cv);
    mutex_unlock(&db->mu);
    st_to_errptr(st, errptr);
}
