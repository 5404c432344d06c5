/*
 * db_impl.h - the DB handle (struct lsm_t) and what the db_*.c files share.
 *
 * Pieces and who guards them:
 *   - `mu` guards the memtable list, the superversion pointer, the snapshot list, the
 *     version set's mutable state, background-work flags and bg_error.
 *   - The write thread (write/write_thread.h) serialises WAL writers: `wal`, `wal_number`
 *     and the memtable switch are touched only by the current WAL leader (in its preprocess
 *     and wal_write callbacks), which also takes `mu` around the switch so that readers see
 *     a consistent superversion.
 *   - `mem` is read by memtable inserters without `mu`; it only changes while no inserts
 *     are running (the switch waits for memtable writers), published with release order.
 *   - Readers take a reference to the current superversion (mem + immutables + version)
 *     under `mu`, then read with no lock. A superversion is immutable; a change installs a
 *     new one.
 *   - Visibility: readers see sequences <= visible_seq, which the write thread publishes
 *     only after a whole group is in the memtable.
 * Background: one flush thread (immutable memtables to L0, oldest first) and one
 * compaction thread; both sleep on `bg_cv` and stop when `shutting_down` is set.
 */
#ifndef LSM_DB_DB_IMPL_H
#define LSM_DB_DB_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "base/dbformat.h"
#include "db/options.h"
#include "db/version_set.h"
#include "lsm.h"
#include "mem/memtable.h"
#include "base/iterator.h"
#include "table/table.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/mutex.h"
#include "util/status.h"
#include "write/wal.h"
#include "write/write_batch.h"
#include "write/write_thread.h"

#define DB_MAX_IMM 16

struct table_cache;
struct cache;

typedef struct superversion {
    _Atomic int refs;
    memtable_t *mem;
    int n_imm;
    memtable_t *imm[DB_MAX_IMM]; /* newest first */
    version_t *version;
} superversion_t;

typedef struct imm_entry {
    memtable_t *mem;
    uint64_t log_number;      /* the WAL its data went to */
    uint64_t next_log_number; /* the WAL of the memtable after it */
} imm_entry_t;

struct lsm_snapshot_t {
    uint64_t seq;
    struct lsm_snapshot_t *prev, *next;
};

typedef struct db_stats {
    _Atomic uint64_t flushes, flush_bytes, flush_us;
    _Atomic uint64_t compactions, compact_read_bytes, compact_write_bytes, compact_us;
    _Atomic uint64_t trivial_moves;
    _Atomic uint64_t stall_us, slowdowns, stops;
    _Atomic uint64_t user_bytes_written; /* batch bytes accepted */
    _Atomic uint64_t gets, gets_found;
    _Atomic uint64_t wal_files;
    _Atomic uint64_t wal_file_syncs; /* fdatasyncs run (a syncing group with a clean WAL runs none) */
} db_stats_t;

struct lsm_t {
    char *dir;
    lsm_options_t opt;
    env_t *env;
    env_t default_env;
    int lock_fd;
    int read_only;

    mutex_t mu;
    pthread_cond_t bg_cv; /* signalled on any background state change */

    _Atomic(memtable_t *) mem;
    arena_pool_t *mt_pool; /* retired memtables' arena blocks, for the next (may be NULL) */
    uint64_t mem_log_number;
    imm_entry_t imm[DB_MAX_IMM]; /* oldest first */
    int n_imm;
    superversion_t *sv;
    version_set_t *vset;

    log_writer_t *wal; /* NULL for read-only */
    uint64_t wal_number;
    int wal_dirty;     /* bytes written to `wal` since its last fdatasync */

    write_thread_t wt;
    _Atomic uint64_t visible_seq;
    status_t bg_error; /* sticky: set once, writes fail afterwards */
    _Atomic int has_bg_error;
    /* The last flush/compaction failure (e.g. ENOSPC), cleared by the next success. While
     * set, a writer that would have to wait for the background gets it instead of
     * waiting, and the background retries once a second. */
    status_t soft_error;
    uint64_t bg_fail_since_us;     /* when soft_error was first set (db_log.c) */
    char *wal_gap;           /* open found a WAL cut short (wal_history.h), or NULL */
    uint64_t bg_fail_next_report_s; /* "still failing" is logged at this age */
    int force_switch;        /* lsm_flush asked for a memtable switch */
    uint64_t flushes_done;   /* memtables flushed since open */
    uint64_t *pending;       /* numbers of tables being written (not yet in a version) */
    int n_pending, cap_pending;

    struct lsm_snapshot_t snapshots; /* sentinel of a circular list, oldest first */

    struct cache *block_cache;
    struct table_cache *tcache;
    table_stats_t tstats;

    /* background work */
    pthread_t flush_thread, compact_thread, idle_thread;
    int threads_started;
    _Atomic int shutting_down; /* written under mu; read without it by long jobs */
    int flush_running;
    int compaction_running;
    int manual_compaction; /* a compact_range is in progress: auto compaction waits */
    int deletions_disabled; /* > 0 while a checkpoint copies files: GC deletes nothing */

    /* space reserve (db_reserve.c): bytes RESERVE holds now; reserve_mu orders the file
     * operations of ensure and release */
    _Atomic uint64_t reserve_held;
    pthread_mutex_t reserve_mu;

    db_stats_t stats;
};

/* ---- db_write.c ---- */
status_t db_write(lsm_t *db, const lsm_writeoptions_t *wo, write_batch_t *b);
/* Runs an initialised writer through the write thread as is (lsm_flush uses an empty one
 * to get its memtable switch done by a group leader). */
status_t db_write_raw(lsm_t *db, wt_writer_t *w);
/* fdatasync of everything written so far, through the write group. */
status_t db_sync_wal(lsm_t *db);
/* Opens a new WAL file (number from the version set) as the current one. With mu held. */
status_t db_new_wal(lsm_t *db);
/* Moves the active memtable to the immutable list and starts a fresh one with a new WAL.
 * Called by the WAL leader (or at open / close) with mu held. */
status_t db_switch_memtable(lsm_t *db);
void db_set_bg_error(lsm_t *db, status_t st); /* with mu held; takes ownership */

/* ---- db_reserve.c ---- */
/* Takes over a RESERVE left by the last open (whatever its size); at open, before replay. */
void db_reserve_adopt(lsm_t *db);
/* Makes RESERVE hold opt.reserve_bytes, if it does not and the file system has room for it
 * twice over. Called without mu, at open and after background work freed files. With
 * reserve_bytes 0 a reserve from an earlier open stays until released. */
void db_reserve_ensure(lsm_t *db);
/* Removes RESERVE and wakes the background (a flush or compaction waiting out an ENOSPC
 * retries at once); returns the bytes released (0 when none was held). Without mu. */
uint64_t db_reserve_release(lsm_t *db, const char *why);
/* 1 when st failed for lack of space (ENOSPC, EDQUOT). */
int db_is_no_space(status_t st);
/* db_reserve_ensure called with mu held: drops it around the file operations. */
static inline void db_reserve_ensure_unlocked(lsm_t *db)
{
    ASSERT_HELD(&db->mu);
    if (db->opt.reserve_bytes == 0 || atomic_load(&db->reserve_held) == db->opt.reserve_bytes)
        return;
    mutex_unlock(&db->mu);
    db_reserve_ensure(db);
    mutex_lock(&db->mu);
}

/* ---- superversion.c ---- */
/* Takes a reference to the current superversion. */
superversion_t *db_sv_acquire(lsm_t *db);
void db_sv_release(lsm_t *db, superversion_t *sv);
/* Builds a superversion from the current mem / imm / version and installs it (mu held). */
status_t db_install_sv(lsm_t *db);

/* ---- db_flush.c ---- */
/* Writes a memtable to new L0 tables (one, or one per key partition when
 * sst_partition_prefix_len is set); on success *out lists their metas (empty when the
 * memtable held nothing to write). Called without mu. */
typedef struct db_meta_list {
    file_meta_t **v;
    int n, cap;
} db_meta_list_t;
status_t db_write_level0_tables(lsm_t *db, memtable_t *mem, db_meta_list_t *out);
/* Drops the list's references (and, with forget_pending, their pending marks; takes mu). */
void db_meta_list_free(lsm_t *db, db_meta_list_t *l, int forget_pending);

/* 1 when user keys a and b differ in their first sst_partition_prefix_len bytes. */
static inline int db_crosses_partition(const lsm_t *db, slice_t a, slice_t b)
{
    size_t n = (size_t)db->opt.sst_partition_prefix_len;
    if (n == 0)
        return 0;
    size_t x = a.size < n ? a.size : n, y = b.size < n ? b.size : n;
    return x != y || memcmp(a.data, b.data, x) != 0;
}
void *db_flush_thread(void *arg);
/* A flush or compaction failed: remember st as the soft error (writers that would wait for
 * the background get it instead) and log it (db_log.c, `what` names the job), then wait a
 * second before the caller retries (mu held). */
void db_soft_error_backoff(lsm_t *db, const char *what, status_t st);

/* ---- db_log.c ---- */
/* One line to the info log (or stderr), prefixed with the store directory. */
/* Fits db->opt's file sizes under the largest file the store's location accepts (location.c):
 * lowers the write buffer (with a warning), the table target size and *manifest_max as
 * needed. No-op where there is no limit (local file systems). Needs db->dir set. */
void db_fit_max_file(lsm_t *db, const char *name, uint64_t *manifest_max);
void db_log(lsm_t *db, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* With mu held, before soft_error is replaced by st: logs a new or changed failure and,
 * while it lasts, a reminder after 1, 2, 4... minutes. */
void db_log_bg_failure(lsm_t *db, const char *what, status_t st);
/* With mu held, before soft_error is cleared: logs the recovery if work was failing. */
void db_log_bg_recovered(lsm_t *db);
void *db_compact_thread(void *arg);
/* db_idle.c: flushes the memtable once writes have stopped for idle_flush_seconds. */
void *db_idle_thread(void *arg);
/* Deletes files that no live version, memtable or MANIFEST needs (mu held; drops it
 * while deleting). */
void db_delete_obsolete_files(lsm_t *db);
/* Wakes the background threads if there is work (mu held). */
void db_maybe_schedule(lsm_t *db);
/* The oldest sequence some snapshot, live or persistent, may read (visible_seq when there
 * is none). mu held. */
uint64_t db_oldest_snapshot(lsm_t *db);

/* Output tables (flush and compaction): open a new numbered table, add, finish. */
struct table_builder;
typedef struct out_table {
    uint64_t number;
    wfile_t *file;
    struct table_builder *b;
    char path[4096];
} out_table_t;
status_t db_out_open(lsm_t *db, out_table_t *o);
/* Finishes, syncs and closes o, and appends its meta to out; out is unchanged (and the
 * file removed) when it holds nothing. `what` names the job in an out-of-memory error. */
status_t db_out_finish(lsm_t *db, out_table_t *o, db_meta_list_t *out, const char *what);
void db_out_abandon(lsm_t *db, out_table_t *o);
/* Forget a pending output number (mu held). */
void db_pending_remove(lsm_t *db, uint64_t number);

/* ---- db_compact.c ---- */
status_t db_run_compaction(lsm_t *db, compaction_t *c); /* called without mu */

/* ---- db_read.c ---- */
/* The user view of the store at ro's snapshot (bounds), as an internal iterator that
 * c_api.c's lsm_create_iterator wraps; an error gives an empty iterator carrying it. */
iter_t *db_new_iterator(lsm_t *db, const lsm_readoptions_t *ro);

/* ---- c_api.c ---- */
write_batch_t *lsm_writebatch_rep(lsm_writebatch_t *b);

#endif
