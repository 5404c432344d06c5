/*
 * db_open.c - opening, recovering, closing and destroying a store.
 *
 * Open: lock the directory (LOCK + flock), read the version set (CURRENT -> MANIFEST), then
 * replay every WAL numbered >= the version set's log number, oldest first, into memtables.
 * A torn last record of a WAL is dropped (it was never acknowledged as synced); corruption
 * in the middle of a WAL fails the open with the file and offset, unless paranoid_checks is
 * off, in which case recovery keeps the prefix before the damage and ignores everything
 * after it (point-in-time recovery). Replayed data is written to L0 tables and recorded,
 * together with the new WAL's number, in one MANIFEST edit; only then are the old WALs
 * deleted. A crash at any point of open therefore replays the same WALs again.
 *
 * Read-only open (fsck -n) replays into memory and writes nothing at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/vec.h"
#include "db/db_impl.h"
#include "db/filename.h"
#include "db/wal_history.h"
#include "table/cache.h"
#include "db/table_cache.h"

static status_t make_dir_if_missing(const lsm_options_t *o, const char *dir)
{
    return file_ensure_dir(dir, o->create_if_missing);
}

/* ---- WAL replay ---- */

typedef struct {
    lsm_t *db;
    version_edit_t *edit; /* L0 files made during replay (NULL: read-only) */
    uint64_t max_seq;
    uint64_t replayed_batches;
    uint64_t mem_first_log; /* the WAL whose records start the active memtable */
    int no_room;            /* a table could not be written (ENOSPC): stop trying */
    wal_history_t hist;     /* is the history unbroken from WAL to WAL? (reporting only) */
} replay_t;

typedef struct {
    uint64_t *v;
    int n, cap;
} numlist_t;

static int collect_logs(void *arg, const char *name)
{
    numlist_t *l = arg;
    uint64_t num;
    if (fn_parse(name, &num) != FT_LOG)
        return 0;
    if (vec_grow(&l->v, sizeof(*l->v), l->n, &l->cap, 16))
        return 1;
    l->v[l->n++] = num;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Writes the full active memtable to L0 (read-write) or parks it as immutable (read-only),
 * and starts a new one. */
static status_t replay_rotate(replay_t *r)
{
    lsm_t *db = r->db;
    memtable_t *mem = atomic_load(&db->mem);
    if (r->edit) {
        db_meta_list_t metas;
        status_t st = db_write_level0_tables(db, mem, &metas);
        if (st)
            return st;
        for (int i = 0; i < metas.n; i++)
            version_edit_add_file(r->edit, 0, metas.v[i]);
        db_meta_list_free(db, &metas, 0);
        memtable_unref(mem);
    } else {
        if (db->n_imm >= DB_MAX_IMM)
            return st_error(ST_NOT_SUPPORTED, "%s: WAL too large to replay read-only", db->dir);
        db->imm[db->n_imm].mem = mem;
        db->imm[db->n_imm].log_number = 0;
        db->imm[db->n_imm].next_log_number = 0;
        db->n_imm++;
    }
    memtable_t *fresh = memtable_new_pooled(db->opt.write_buffer_size, db->mt_pool);
    if (!fresh)
        return st_io(ENOMEM, "memtable");
    atomic_store(&db->mem, fresh);
    return NULL;
}

static int rp_put(void *arg, uint64_t seq, slice_t k, slice_t v)
{
    return memtable_add(atomic_load(&((replay_t *)arg)->db->mem), seq, TYPE_VALUE, k, v);
}
static int rp_del(void *arg, uint64_t seq, slice_t k)
{
    return memtable_add(atomic_load(&((replay_t *)arg)->db->mem), seq, TYPE_DELETION, k,
                        slice_make("", 0));
}
static int rp_range(void *arg, uint64_t seq, slice_t s, slice_t e)
{
    return memtable_add(atomic_load(&((replay_t *)arg)->db->mem), seq, TYPE_RANGE_DELETION, s, e);
}
static const wb_handler_t replay_handler = {rp_put, rp_del, rp_range};

/* Replays one WAL. *stop is set when paranoid_checks is off and the log was damaged: the
 * caller then ignores every later log. */
static status_t replay_log(replay_t *r, uint64_t number, int *stop)
{
    lsm_t *db = r->db;
    char path[4096];
    fn_log(path, sizeof(path), db->dir, number);
    log_reader_t *lr;
    status_t st = log_reader_open(db->env, path, &lr);
    if (st)
        return st;
    memtable_t *m = atomic_load(&db->mem);
    if (memtable_num_entries(m) + memtable_num_range_dels(m) == 0)
        r->mem_first_log = number;
    uint64_t first_seq = 0, next_seq = 0;
    int has_records = 0;
    for (;;) {
        slice_t rec;
        int eof;
        st = log_read_record(lr, &rec, &eof);
        if (st || eof)
            break;
        if (rec.size < WB_HEADER_SIZE) {
            st = st_error(ST_CORRUPTION, "%s: offset %llu: WAL record too small for a batch",
                          path, (unsigned long long)log_reader_record_offset(lr));
            break;
        }
        /* Every record of a WAL at or above the version's log number is newer than all
         * tables (flush edits move the log number past the WALs they cover). */
        uint64_t seq = decode_fixed64(rec.data);
        uint32_t count = decode_fixed32(rec.data + 8);
        st = wb_iterate(rec, &replay_handler, r);
        if (st) {
            status_t wrapped = st_make(st_code(st) == ST_CORRUPTION ? ST_CORRUPTION : ST_IO_ERROR,
                                       st_errno(st), "%s: offset %llu: %s", path,
                                       (unsigned long long)log_reader_record_offset(lr),
                                       st_msg(st));
            st_free(st);
            st = wrapped;
            break;
        }
        r->replayed_batches++;
        if (!has_records)
            first_seq = seq;
        has_records = 1;
        next_seq = seq + count;
        if (count > 0 && seq + count - 1 > r->max_seq)
            r->max_seq = seq + count - 1;
        if (!r->no_room &&
            memtable_memory_usage(atomic_load(&db->mem)) >= db->opt.write_buffer_size) {
            st = replay_rotate(r);
            if (db_is_no_space(st) && r->edit) {
                /* No room for the table: the memtable keeps growing instead (the WALs it
                 * replays were bounded by the memtables that wrote them). */
                db_log(db, LSM_LOG_WARN, "%s; replaying on in memory", st_msg(st));
                st_free(st);
                st = NULL;
                r->no_room = 1;
                continue;
            }
            if (st)
                break;
            r->mem_first_log = number; /* the rest of this WAL goes to the fresh memtable */
        }
    }
    if (!st)
        wal_history_note(&r->hist, db->dir, number, has_records, first_seq, next_seq,
                         log_reader_valid_end(lr), log_reader_dropped_bytes(lr));
    log_reader_close(lr);
    if (st && st_code(st) == ST_CORRUPTION && !db->opt.paranoid_checks) {
        /* Point-in-time recovery: keep what came before the damage. */
        db_log(db, LSM_LOG_ERROR, "%s; recovering up to that point", st_msg(st));
        st_free(st);
        *stop = 1;
        return NULL;
    }
    return st;
}

/* Replays every live WAL into memtables; read-write, the result goes to L0 tables in
 * `edit`. When the file system has no room for the last table (after the space reserve was
 * released), the last memtable is kept instead, as the active one, and *kept_log is set to
 * the first WAL it needs: those WALs stay live until it is flushed (RocksDB's
 * avoid_flush_during_recovery), so a store on a full disk still opens. Not after a damaged
 * WAL was cut short (paranoid_checks off): that WAL must not be replayed again. */
static status_t recover_wals(lsm_t *db, version_edit_t *edit, uint64_t *kept_log)
{
    *kept_log = 0;
    numlist_t logs = {0};
    status_t st = file_list_dir(db->dir, collect_logs, &logs);
    if (st) {
        free(logs.v);
        return st;
    }
    if (logs.n > 1)
        qsort(logs.v, (size_t)logs.n, sizeof(uint64_t), cmp_u64);
    replay_t r = {db, edit, vset_last_sequence(db->vset), 0, 0, 0, {0}};
    r.hist.manifest_last = vset_last_sequence(db->vset);
    uint64_t min_log = vset_log_number(db->vset);
    int stop = 0;
    for (int i = 0; i < logs.n && !st; i++) {
        vset_mark_file_number_used(db->vset, logs.v[i]);
        if (logs.v[i] < min_log || stop)
            continue;
        st = replay_log(&r, logs.v[i], &stop);
    }
    free(logs.v);
    if (r.hist.gap) {
        db_log(db, LSM_LOG_ERROR, "%s (run fsck.lsmfs)", r.hist.gap);
        free(db->wal_gap);
        db->wal_gap = r.hist.gap;
    }
    if (st)
        return st;
    if (edit && memtable_num_entries(atomic_load(&db->mem)) +
                        memtable_num_range_dels(atomic_load(&db->mem)) > 0) {
        st = r.no_room ? st_io(ENOSPC, "%s: no room for a table", db->dir) : replay_rotate(&r);
        if (db_is_no_space(st) && !stop && r.mem_first_log) {
            db_log(db, LSM_LOG_WARN, "no room to write the replayed WAL to a table (%s); it "
                   "stays in memory, and WALs from %06llu on stay until it is flushed",
                   st_msg(st), (unsigned long long)r.mem_first_log);
            st_free(st);
            st = NULL;
            *kept_log = r.mem_first_log;
        }
    }
    if (!st && r.max_seq > vset_last_sequence(db->vset))
        vset_set_last_sequence(db->vset, r.max_seq);
    return st;
}

/* ---- open / close ---- */

static void db_free(lsm_t *db)
{
    if (db->sv) {
        db_sv_release(db, db->sv);
        db->sv = NULL;
    }
    memtable_t *mem = atomic_load(&db->mem);
    if (mem)
        memtable_unref(mem);
    for (int i = 0; i < db->n_imm; i++)
        memtable_unref(db->imm[i].mem);
    if (db->wal)
        st_free(log_writer_close(db->wal));
    if (db->vset)
        vset_close(db->vset);
    if (db->tcache)
        table_cache_destroy(db->tcache);
    if (db->block_cache)
        cache_destroy(db->block_cache);
    file_unlock(db->lock_fd);
    /* Snapshots the caller forgot to release die with the handle. */
    while (db->snapshots.next != &db->snapshots) {
        lsm_snapshot_t *s = db->snapshots.next;
        s->next->prev = s->prev;
        s->prev->next = s->next;
        free(s);
    }
    free(db->pending);
    st_free(db->soft_error);
    st_free(db->bg_error);
    wt_destroy(&db->wt);
    mutex_destroy(&db->mu);
    pthread_mutex_destroy(&db->reserve_mu);
    pthread_cond_destroy(&db->bg_cv);
    arena_pool_unref(db->mt_pool); /* memtables still alive keep it until they go */
    free(db->wal_gap);
    free(db->dir);
    free(db);
}

static void vset_opts_from(const lsm_options_t *o, int read_only, vset_options_t *vo)
{
    vset_options_default(vo);
    vo->num_levels = o->num_levels;
    vo->level0_file_num_compaction_trigger = o->level0_file_num_compaction_trigger;
    vo->max_bytes_for_level_base = o->max_bytes_for_level_base;
    vo->max_bytes_for_level_multiplier = o->max_bytes_for_level_multiplier;
    vo->target_file_size_base = o->target_file_size_base;
    vo->read_only = read_only;
}

static status_t open_impl(const lsm_options_t *options, const char *name, int read_only,
                          lsm_t **out)
{
    *out = NULL;
    lsm_t *db = calloc(1, sizeof(*db));
    if (!db)
        return st_io(ENOMEM, "open");
    if (options)
        db->opt = *options;
    else
        options_init_defaults(&db->opt);
    options_sanitize(&db->opt);
    db->env = db->opt.env ? db->opt.env : &db->default_env;
    db->read_only = read_only;
    db->lock_fd = -1;
    mutex_init(&db->mu);
    pthread_mutex_init(&db->reserve_mu, NULL);
    pthread_cond_init(&db->bg_cv, NULL);
    db->snapshots.next = db->snapshots.prev = &db->snapshots;
    wt_init(&db->wt, db->opt.allow_concurrent_memtable_write, db->opt.enable_pipelined_write, 0);
    db->dir = strdup(name ? name : "");
    if (!db->dir || !name || !*name) {
        db_free(db);
        return st_error(ST_INVALID_ARGUMENT, "empty store path");
    }
    uint64_t manifest_max = 0;
    if (!read_only) /* before the memtable pool: the write buffer may shrink */
        db_fit_max_file(db, name, &manifest_max);
    if (db->opt.write_buffer_size >= MEMTABLE_HUGE_MIN) /* one memtable's worth of blocks */
        db->mt_pool = arena_pool_new(db->opt.write_buffer_size / ARENA_HUGE_BLOCK + 1);

    status_t st = read_only ? file_reachable(name) : make_dir_if_missing(&db->opt, name);
    char path[4096];
    /* A directory that is not a store is refused before anything (LOCK) is made in it. */
    if (!st && (read_only || !db->opt.create_if_missing) &&
        !file_exists(fn_current(path, sizeof(path), name)))
        st = file_exists(name)
                 ? st_error(ST_INVALID_ARGUMENT, "%s: not an lsm store (no CURRENT file)", name)
                 : st_error(ST_INVALID_ARGUMENT, "%s: does not exist", name);
    if (!st)
        st = file_lock(fn_lock(path, sizeof(path), name), &db->lock_fd);

    vset_options_t vo;
    vset_opts_from(&db->opt, read_only, &vo);
    if (manifest_max && manifest_max < vo.max_manifest_file_size)
        vo.max_manifest_file_size = manifest_max;
    vo.db_mu = &db->mu;
    if (!st) {
        int exists = file_exists(fn_current(path, sizeof(path), name));
        if (exists && db->opt.error_if_exists && !read_only)
            st = st_error(ST_INVALID_ARGUMENT, "%s: store exists (error_if_exists is on)", name);
        else if (exists || read_only || !db->opt.create_if_missing)
            st = vset_recover(db->env, name, &vo, &db->vset);
        else
            st = vset_create(db->env, name, &vo, &db->vset);
    }
    if (!st) {
        db->block_cache = db->opt.block_cache_size ? cache_new(db->opt.block_cache_size) : NULL;
        table_read_options_t tro = {db->block_cache, &db->tstats, 1, db->opt.mmap_reads};
        db->tcache = table_cache_new(db->env, db->dir, db->opt.max_open_files, &tro);
        if (!db->tcache || (db->opt.block_cache_size && !db->block_cache))
            st = st_io(ENOMEM, "%s: caches", name);
    }
    memtable_t *mem = st ? NULL : memtable_new_pooled(db->opt.write_buffer_size, db->mt_pool);
    if (!st && !mem)
        st = st_io(ENOMEM, "memtable");
    if (!st) {
        atomic_store(&db->mem, mem);
        version_edit_t edit;
        version_edit_init(&edit);
        uint64_t kept_log = 0;
        db_reserve_adopt(db);
        st = recover_wals(db, read_only ? NULL : &edit, &kept_log);
        if (!st && !read_only) {
            mutex_lock(&db->mu);
            st = db_new_wal(db);
            if (!st) {
                db->mem_log_number = kept_log ? kept_log : db->wal_number;
                version_edit_set_log_number(&edit, db->mem_log_number);
                version_edit_set_last_sequence(&edit, vset_last_sequence(db->vset));
                st = vset_log_and_apply(db->vset, &edit, &db->mu);
                if (db_is_no_space(st)) {
                    /* No room even for the new MANIFEST: the store could not be opened
                     * to delete anything. This is what the reserve is for. */
                    mutex_unlock(&db->mu);
                    uint64_t freed = db_reserve_release(db, "writing the MANIFEST at open");
                    mutex_lock(&db->mu);
                    if (freed) {
                        st_free(st);
                        st = vset_log_and_apply(db->vset, &edit, &db->mu);
                    }
                }
                db->n_pending = 0; /* the replayed tables are in the version now */
            }
            mutex_unlock(&db->mu);
        }
        version_edit_free(&edit);
    }
    if (!st) {
        uint64_t last = vset_last_sequence(db->vset);
        wt_init(&db->wt, db->opt.allow_concurrent_memtable_write, db->opt.enable_pipelined_write,
                last);
        atomic_store(&db->visible_seq, last);
        mutex_lock(&db->mu);
        st = db_install_sv(db);
        if (!st && !read_only) {
            db_delete_obsolete_files(db);
            if (pthread_create(&db->flush_thread, NULL, db_flush_thread, db) == 0) {
                if (pthread_create(&db->compact_thread, NULL, db_compact_thread, db) == 0) {
                    db->threads_started = 2;
                    if (db->opt.idle_flush_seconds > 0 &&
                        pthread_create(&db->idle_thread, NULL, db_idle_thread, db) == 0)
                        db->threads_started = 3;
                } else {
                    db->shutting_down = 1;
                    pthread_cond_broadcast(&db->bg_cv);
                    mutex_unlock(&db->mu);
                    pthread_join(db->flush_thread, NULL);
                    mutex_lock(&db->mu);
                    st = st_io(EAGAIN, "%s: background thread", name);
                }
            } else {
                st = st_io(EAGAIN, "%s: background thread", name);
            }
            if (!st)
                db_maybe_schedule(db);
        }
        mutex_unlock(&db->mu);
        if (!st)
            db_reserve_ensure(db);
    }
    if (st) {
        db_free(db);
        return st;
    }
    *out = db;
    return NULL;
}

lsm_t *lsm_open(const lsm_options_t *options, const char *name, char **errptr)
{
    lsm_t *db;
    status_t st = open_impl(options, name, 0, &db);
    st_to_errptr(st, errptr);
    return db;
}

lsm_t *lsm_open_for_read_only(const lsm_options_t *options, const char *name,
                              unsigned char error_if_wal_file_exists, char **errptr)
{
    lsm_t *db;
    status_t st = open_impl(options, name, 1, &db);
    if (!st && error_if_wal_file_exists && db->n_imm + (memtable_num_entries(atomic_load(&db->mem)) > 0) > 0) {
        db_free(db);
        db = NULL;
        st = st_error(ST_INVALID_ARGUMENT, "%s: WAL files hold data not yet in tables", name);
    }
    st_to_errptr(st, errptr);
    return db;
}

void lsm_close(lsm_t *db)
{
    if (!db)
        return;
    mutex_lock(&db->mu);
    db->shutting_down = 1;
    pthread_cond_broadcast(&db->bg_cv);
    mutex_unlock(&db->mu);
    if (db->threads_started) {
        pthread_join(db->flush_thread, NULL);
        pthread_join(db->compact_thread, NULL);
        if (db->threads_started == 3)
            pthread_join(db->idle_thread, NULL);
    }
    if (db->wal && db->wal_dirty)
        st_free(log_writer_sync(db->wal));
    db_free(db);
}

/* ---- destroy ---- */

typedef struct {
    const char *dir;
    env_t *env;
} destroy_ctx_t;

static int destroy_one(void *arg, const char *name)
{
    destroy_ctx_t *c = arg;
    uint64_t num;
    file_type_t t = fn_parse(name, &num);
    if (t == FT_UNKNOWN || t == FT_LOCK)
        return 0;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", c->dir, name);
    st_free(file_remove(c->env, path));
    return 0;
}

void lsm_destroy_db(const lsm_options_t *options, const char *name, char **errptr)
{
    env_t plain = {0};
    env_t *env = (options && options->env) ? options->env : &plain;
    if (!file_exists(name))
        return;
    char path[4096];
    int fd;
    status_t st = file_lock(fn_lock(path, sizeof(path), name), &fd);
    if (st) {
        st_to_errptr(st, errptr);
        return;
    }
    destroy_ctx_t c = {name, env};
    st = file_list_dir(name, destroy_one, &c);
    st_free(file_remove(env, path));
    file_unlock(fd);
    if (!st)
        rmdir(name); /* only succeeds when nothing foreign is left */
    st_to_errptr(st, errptr);
}
