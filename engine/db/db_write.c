/*
 * db_write.c - the DB's write path: the callbacks that plug the DB into the write thread.
 *
 * Every write, whatever its size, is one write_batch run through wt_write (see
 * write/write_thread.h and docs/WRITE_PATH.md):
 *   preprocess  (group leader) fail fast on a sticky error; make room: stall while too many
 *               immutable memtables or L0 files wait for the background, switch to a new
 *               memtable + WAL when the active one is full;
 *   wal_write   (group leader) append each member's batch as one log record, one write(2)
 *               for the group, one fdatasync if any member asked for sync;
 *   insert      each batch into the active memtable (by the leader, or by every member in
 *               parallel);
 *   publish     advance visible_seq, in sequence order, after a whole group is in.
 *
 * Failure policy (docs/DURABILITY.md): a failed append/write(2) is undone by truncating the
 * WAL back to where the group started; the group fails and later writes append to the
 * same WAL again, so writes resume once space is freed (ENOSPC). A failed fdatasync,
 * or a failed undo, leaves the WAL in an unknown state: that is a sticky error and every
 * later write fails until the store is reopened. Nothing that failed is ever acknowledged.
 *
 * Map: one FUSE write(2), from the kernel to the WAL and the memtable (file: function).
 *   1. fs/ops_file.c: fs_op_write -> write_locked, under the inode's lock
 *   2. fs/data.c: fs_data_write puts the changed B rows into one lsm_writebatch;
 *      fs/store.c: fs_batch_inode adds the I row (size, mtime)
 *   3. fs/store.c: fs_commit -> fs_commit_ex -> lsm_write (an ENOSPC on a write that frees
 *      space retries once after lsm_release_reserve)
 *   4. engine/db/c_api.c: lsm_write -> db_write (this file)
 *   5. this file: db_write makes a wt_writer_t on the stack and calls
 *      wt_write with callbacks() (cb_preprocess, cb_wal_write, cb_insert, cb_publish)
 *   6. engine/write/write_thread.c: wt_write links the writer; the first in line leads:
 *      wt_lead -> wt_form_group, cb_preprocess, then gives the group its consecutive
 *      sequence numbers, then the callbacks below in this order
 *   7. this file: cb_preprocess (sticky error, stall, db_switch_memtable when full)
 *   8. this file: cb_wal_write appends each member's batch (sequence in its header) to the
 *      WAL (engine/write/wal.c: log_add_record, log_writer_flush, then one fdatasync if any
 *      member asked)
 *   9. write_thread.c: wt_memtable_step; this file: cb_insert -> wb_iterate
 *      (engine/write/write_batch.c) -> ins_put/ins_del/ins_range -> memtable_add
 *      (engine/mem/memtable.c -> skiplist.c)
 *  10. this file: cb_publish advances visible_seq; write_thread.c: wt_finish_group wakes
 *      the members, and wt_write returns each one's status to db_write, then to fs_commit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "db/db_impl.h"
#include "db/filename.h"
#include "util/clock.h"

/* Zero-filled WAL kept ahead of small synced appends (log_writer_set_zero_ahead). */
#define WAL_ZERO_AHEAD (1u << 20)

/* ---- helpers under mu ---- */

void db_set_bg_error(lsm_t *db, status_t st)
{
    ASSERT_HELD(&db->mu);
    if (!st)
        return;
    if (db->bg_error) {
        st_free(st);
        return;
    }
    /* Say what the user can do about it, in the sticky copy every later write gets; it
     * keeps the original code and errno (lsm_error_errno reads them, not the text). */
    status_t sticky = st_make(st_code(st), st_errno(st),
                              "%s (writes are refused until the store is reopened)", st_msg(st));
    st_free(st);
    db_log(db, LSM_LOG_ERROR, "%s", st_msg(sticky));
    db->bg_error = sticky;
    atomic_store(&db->has_bg_error, 1);
    pthread_cond_broadcast(&db->bg_cv);
}

static status_t bg_error_copy(lsm_t *db)
{
    status_t e = st_copy(db->bg_error);
    return e;
}

status_t db_new_wal(lsm_t *db)
{
    ASSERT_HELD(&db->mu);
    uint64_t number = vset_new_file_number(db->vset);
    char path[4096];
    fn_log(path, sizeof(path), db->dir, number);
    wfile_t *f;
    status_t st = wfile_open(db->env, path, 0, &f);
    if (st)
        return st;
    log_writer_t *w = log_writer_new(f);
    if (!w) {
        st_free(wfile_close(f));
        st_free(file_remove(db->env, path));
        return st_io(ENOMEM, "%s", path);
    }
    log_writer_set_zero_ahead(w, WAL_ZERO_AHEAD);
    /* Make the new file's directory entry durable before anything relies on it. */
    st = file_sync_dir(db->env, db->dir);
    if (st) {
        st_free(log_writer_close(w));
        st_free(file_remove(db->env, path));
        return st;
    }
    if (db->wal) {
        /* Everything in the old WAL becomes durable before the new one takes writes, so a
         * power cut can never keep a later write and lose an earlier one. */
        status_t s2 = db->wal_dirty ? log_writer_sync(db->wal) : NULL;
        status_t s3 = log_writer_close(db->wal);
        if (s2 || s3) {
            st_free(s3);
            db->wal = w; /* the new one is fine; the old one's state is unknown */
            db->wal_number = number;
            db->wal_dirty = 0;
            return s2 ? s2 : s3;
        }
    }
    db->wal = w;
    db->wal_number = number;
    db->wal_dirty = 0;
    atomic_fetch_add(&db->stats.wal_files, 1);
    return NULL;
}

status_t db_switch_memtable(lsm_t *db)
{
    ASSERT_HELD(&db->mu);
    if (db->n_imm >= DB_MAX_IMM)
        return st_error(ST_BUSY, "%s: too many immutable memtables", db->dir);
    memtable_t *fresh = memtable_new_pooled(db->opt.write_buffer_size, db->mt_pool);
    if (!fresh)
        return st_io(ENOMEM, "%s: new memtable", db->dir);
    uint64_t old_log = db->mem_log_number; /* below the WAL when open kept a replayed one */
    uint64_t old_wal = db->wal_number;
    status_t st = NULL;
    if (!db->read_only) {
        st = db_new_wal(db);
        if (st && db->wal_number == old_wal) { /* no new WAL: keep everything as it was */
            memtable_unref(fresh);
            return st;
        }
        if (st) { /* new WAL in place but the old one failed to sync: sticky */
            db_set_bg_error(db, st_copy(st));
        }
    }
    memtable_t *old = atomic_load(&db->mem);
    db->imm[db->n_imm].mem = old;
    db->imm[db->n_imm].log_number = old_log;
    db->imm[db->n_imm].next_log_number = db->wal_number;
    db->n_imm++;
    atomic_store_explicit(&db->mem, fresh, memory_order_release);
    db->mem_log_number = db->wal_number;
    status_t s2 = db_install_sv(db);
    if (s2 && !st)
        st = s2;
    else
        st_free(s2);
    db_maybe_schedule(db);
    return st;
}

/* ---- write thread callbacks ---- */

/* Writers stop until the background makes progress (mu held). */
/* A writer stalled this long without any background progress gets logged. */
#define STALL_REPORT_S 30

static void stall_for_background(lsm_t *db)
{
    ASSERT_HELD(&db->mu);
    uint64_t t0 = clock_now_us();
    atomic_fetch_add(&db->stats.stops, 1);
    db_maybe_schedule(db);
    /* Background work that makes no progress for this long is worth a line in the log
     * (a hung device, a flush stuck behind something): the writes are waiting for it. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += STALL_REPORT_S;
    if (mutex_timedwait(&db->mu, &db->bg_cv, &ts) == ETIMEDOUT)
        db_log(db, LSM_LOG_WARN, "writes have waited %d s for background work (flush %s, "
               "compaction %s, %d immutable memtable(s), %d L0 table(s))", STALL_REPORT_S,
               db->flush_running ? "running" : "idle",
               db->compaction_running ? "running" : "idle", db->n_imm,
               vset_num_level_files(db->vset, 0));
    atomic_fetch_add(&db->stats.stall_us, clock_now_us() - t0);
}

/* Switches memtables once earlier pipelined groups have finished inserting into the
 * active one (mu held; dropped while waiting for them). */
static status_t switch_after_memtable_writers(lsm_t *db)
{
    ASSERT_HELD(&db->mu);
    mutex_unlock(&db->mu);
    wt_wait_for_memtable_writers(&db->wt);
    mutex_lock(&db->mu);
    return db_switch_memtable(db);
}

static status_t cb_preprocess(void *arg, wt_group_t *g)
{
    (void)g;
    lsm_t *db = arg;
    status_t st = NULL;
    int slowed = 0;
    mutex_lock(&db->mu);
    for (;;) {
        if (db->bg_error) {
            st = bg_error_copy(db);
            break;
        }
        if (db->shutting_down) {
            st = st_error(ST_BUSY, "%s: store is closing", db->dir);
            break;
        }
        if (db->force_switch) {
            db->force_switch = 0;
            memtable_t *m = atomic_load(&db->mem);
            if (memtable_num_entries(m) + memtable_num_range_dels(m) > 0 &&
                (st = switch_after_memtable_writers(db)) != NULL)
                break;
            continue;
        }
        int l0 = vset_num_level_files(db->vset, 0);
        size_t usage = memtable_memory_usage(atomic_load(&db->mem));
        int must_wait = (!db->opt.disable_auto_compactions &&
                         l0 >= db->opt.level0_stop_writes_trigger) ||
                        (usage >= db->opt.write_buffer_size &&
                         db->n_imm >= db->opt.max_write_buffer_number - 1);
        if (must_wait && db->soft_error) {
            /* The background is failing (e.g. the disk is full): report it instead of
             * waiting for work that cannot finish. */
            st = st_copy(db->soft_error);
            break;
        }
        if (!db->opt.disable_auto_compactions && l0 >= db->opt.level0_stop_writes_trigger) {
            stall_for_background(db);
            continue;
        }
        if (!slowed && !db->opt.disable_auto_compactions &&
            l0 >= db->opt.level0_slowdown_writes_trigger) {
            /* Let the compaction thread gain on the writers: 1 ms once per group. */
            slowed = 1;
            atomic_fetch_add(&db->stats.slowdowns, 1);
            mutex_unlock(&db->mu);
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            atomic_fetch_add(&db->stats.stall_us, 1000);
            mutex_lock(&db->mu);
            continue;
        }
        if (usage < db->opt.write_buffer_size)
            break;
        if (db->n_imm >= db->opt.max_write_buffer_number - 1) {
            stall_for_background(db);
            continue;
        }
        st = switch_after_memtable_writers(db);
        if (st)
            break;
    }
    mutex_unlock(&db->mu);
    return st;
}

static status_t cb_wal_write(void *arg, wt_group_t *g)
{
    lsm_t *db = arg;
    log_writer_t *w = db->wal;
    uint64_t start = log_writer_size(w);
    status_t st = NULL;
    int wrote = 0;
    for (wt_writer_t *m = wt_group_first(g); m && !st; m = wt_group_next(g, m)) {
        if (m->batch && wb_count(m->batch) > 0) {
            st = log_add_record(w, wb_rep(m->batch));
            wrote = 1;
        }
    }
    if (!st)
        st = log_writer_flush(w);
    if (st) {
        /* Undo the partial group so the file ends where the last acknowledged write did,
         * and keep appending to it (a disk that stays full must not leave a new empty WAL
         * behind for every refused write). If even that fails, the WAL's state is
         * unknown: sticky error. */
        status_t undo = log_writer_truncate(w, start);
        if (undo) {
            mutex_lock(&db->mu);
            db_set_bg_error(db, undo);
            mutex_unlock(&db->mu);
        }
        return st;
    }
    if (wrote)
        db->wal_dirty = 1;
    if (g->need_sync && db->wal_dirty) {
        atomic_fetch_add(&db->stats.wal_file_syncs, 1);
        st = log_writer_sync(w);
        if (st) {
            /* After a failed fdatasync the kernel may have dropped the dirty pages: nothing
             * written since the last good sync can be trusted. Sticky. */
            mutex_lock(&db->mu);
            db_set_bg_error(db, st_copy(st));
            mutex_unlock(&db->mu);
            return st;
        }
        db->wal_dirty = 0;
    }
    return NULL;
}

typedef struct {
    memtable_t *mem;
} insert_ctx_t;

static int ins_put(void *arg, uint64_t seq, slice_t k, slice_t v)
{
    return memtable_add(((insert_ctx_t *)arg)->mem, seq, TYPE_VALUE, k, v);
}
static int ins_del(void *arg, uint64_t seq, slice_t k)
{
    return memtable_add(((insert_ctx_t *)arg)->mem, seq, TYPE_DELETION, k, slice_make("", 0));
}
static int ins_range(void *arg, uint64_t seq, slice_t s, slice_t e)
{
    return memtable_add(((insert_ctx_t *)arg)->mem, seq, TYPE_RANGE_DELETION, s, e);
}

static const wb_handler_t insert_handler = {ins_put, ins_del, ins_range};

static status_t cb_insert(void *arg, wt_writer_t *w, int concurrent)
{
    (void)concurrent;
    lsm_t *db = arg;
    insert_ctx_t c = {atomic_load_explicit(&db->mem, memory_order_acquire)};
    status_t st = wb_iterate(wb_rep(w->batch), &insert_handler, &c);
    if (st) {
        /* The batch is in the WAL but not (wholly) in the memtable: reads would be wrong
         * until a reopen replays it. Refuse further writes. */
        mutex_lock(&db->mu);
        db_set_bg_error(db, st_copy(st));
        mutex_unlock(&db->mu);
        return st;
    }
    atomic_fetch_add_explicit(&db->stats.user_bytes_written, wb_byte_size(w->batch),
                              memory_order_relaxed);
    return NULL;
}

static void cb_publish(void *arg, uint64_t last)
{
    lsm_t *db = arg;
    /* groups publish in sequence order: what readers see never goes back */
    LSM_ASSERT(last >= atomic_load_explicit(&db->visible_seq, memory_order_relaxed));
    atomic_store_explicit(&db->visible_seq, last, memory_order_release);
}

static const wt_callbacks_t *callbacks(lsm_t *db, wt_callbacks_t *cb)
{
    cb->preprocess = cb_preprocess;
    cb->wal_write = cb_wal_write;
    cb->memtable_insert = cb_insert;
    cb->publish = cb_publish;
    cb->arg = db;
    return cb;
}

status_t db_write_raw(lsm_t *db, wt_writer_t *w)
{
    wt_callbacks_t cb;
    return wt_write(&db->wt, w, callbacks(db, &cb));
}

status_t db_write(lsm_t *db, const lsm_writeoptions_t *wo, write_batch_t *b)
{
    if (db->read_only)
        return st_error(ST_NOT_SUPPORTED, "%s: store is open read-only", db->dir);
    int sync = wo ? wo->sync : 0, no_wal = wo ? wo->disable_wal : 0;
    if (b && wb_count(b) == 0 && !sync)
        return NULL;
    if (sync && no_wal)
        return st_error(ST_INVALID_ARGUMENT, "sync write with the WAL disabled");
    wt_writer_t w;
    wt_writer_init(&w, b, sync, no_wal);
    wt_callbacks_t cb;
    return wt_write(&db->wt, &w, callbacks(db, &cb));
}

status_t db_sync_wal(lsm_t *db)
{
    if (db->read_only)
        return NULL;
    wt_writer_t w;
    wt_writer_init(&w, NULL, 1, 0);
    wt_callbacks_t cb;
    return wt_write(&db->wt, &w, callbacks(db, &cb));
}

void lsm_flush_wal(lsm_t *db, unsigned char sync, char **errptr)
{
    /* Every write group hands its WAL bytes to the kernel (write(2)) before its writers
     * return, so without sync nothing is left to do; sync adds the fdatasync. */
    if (!sync)
        return;
    st_to_errptr(db_sync_wal(db), errptr);
}
