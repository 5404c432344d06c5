/*
 * write_thread.h - write groups: many writer threads share one WAL append, one fdatasync
 * and (optionally) insert into the memtable in parallel; optionally pipelined, so that the
 * next group's WAL write overlaps this group's memtable inserts.
 *
 * The module knows nothing about the DB: the DB hands it callbacks (make room, write the
 * WAL, insert one batch, publish a sequence) and every writer calls wt_write(). The protocol,
 * the states and the memory-ordering argument are in docs/WRITE_PATH.md.
 *
 * Contract
 * --------
 * A writer fills a wt_writer_t on its own stack (wt_writer_init), calls wt_write() and gets
 * the writer's status back (NULL = success; the caller owns a non-NULL status). On return
 * w->sequence holds the first sequence given to the batch; the batch consumed
 * wb_count(batch) sequences starting there (none for an empty batch).
 *
 *  - batch may be NULL or empty: such a writer takes part in a group (and its fdatasync when
 *    sync = 1: this is how lsm_flush_wal / fsync share the group's device flush) but
 *    consumes no sequence and is never passed to memtable_insert.
 *  - sync = 1 with disable_wal = 1 is refused with Invalid argument.
 *  - Group membership: the writer that finds the queue empty (or is handed leadership) is
 *    the leader; it takes the writers queued behind it, oldest first, and stops at the first
 *    one that does not fit: a sync writer behind a non-sync leader, a disable_wal writer
 *    behind a WAL leader or the reverse, or a batch that would take the group past
 *    WT_MAX_GROUP_BYTES (or past leader size + WT_SMALL_LEADER_SLACK when the leader's batch
 *    is at most WT_SMALL_LEADER_SLACK bytes). A group is a contiguous run of the queue.
 *
 * Callbacks (cb->arg is passed to each), in the order a group meets them:
 *  1. preprocess(arg, g)   the WAL leader only, group formed, no sequence assigned yet, no
 *                          other WAL leader active. Make room: memtable switch, write stall.
 *                          With pipelined write, earlier groups may still be inserting into
 *                          the memtable: call wt_wait_for_memtable_writers() before
 *                          switching memtables. May be NULL.
 *  2. (sequences assigned: each member with a non-empty batch gets wb_set_sequence(batch,
 *     next) and w->sequence = next; next advances by wb_count.)
 *  3. wal_write(arg, g)    the WAL leader only, skipped when the group has disable_wal.
 *                          Append every member's batch to the WAL (walk the members with
 *                          wt_group_first/wt_group_next, skip empty ones) and fdatasync
 *                          once if g->need_sync. The WAL is written by one thread at a time.
 *  4. memtable_insert(arg, w, concurrent)  once per member with a non-empty batch: by the
 *                          group's leader for every member, or (allow_concurrent_memtable_write
 *                          and more than one non-empty batch in the group) by each member's
 *                          own thread, concurrent = 1, while other members of the same group
 *                          insert too. Inserts of two different groups never overlap.
 *                          A failure is that writer's own status; the group still publishes
 *                          (its batches are in the WAL): the DB should treat it as fatal.
 *  5. publish(arg, last)   once per group that inserted anything, after all its inserts,
 *                          with the group's last sequence; calls are made one at a time and
 *                          `last` never decreases (groups publish in sequence order). May be
 *                          NULL.
 * A non-NULL status from preprocess or wal_write is delivered (st_copy) to every member of
 * the group; none of its batches is inserted, no sequence is consumed (the next group starts
 * from the same sequence) and nothing is published. The DB remembers the error and fails
 * later writes itself (from preprocess).
 *
 * Callbacks run on writer threads with no lock of this module held; they must not call
 * wt_write() (wt_wait_for_memtable_writers() only from preprocess).
 */
#ifndef LSM_WRITE_WRITE_THREAD_H
#define LSM_WRITE_WRITE_THREAD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/status.h"
#include "write/write_batch.h"

#define WT_MAX_GROUP_BYTES (1u << 20)
#define WT_SMALL_LEADER_SLACK (128u << 10)

typedef struct wt_group wt_group_t;
typedef struct wt_writer wt_writer_t;

struct wt_writer {
    /* ---- set by the caller (wt_writer_init) ---- */
    write_batch_t *batch; /* NULL = empty */
    int sync;
    int disable_wal;
    int unbatched; /* set by wt_enter_unbatched: never grouped with anyone */
    /* ---- results ---- */
    uint64_t sequence; /* first sequence of the batch */
    status_t status;   /* returned by wt_write */
    /* ---- private to write_thread.c ---- */
    _Atomic uint32_t state;
    uint32_t count;          /* wb_count(batch), 0 for NULL */
    size_t bytes;            /* wb_byte_size(batch), 0 for NULL */
    wt_group_t *group;       /* the group this writer belongs to, once chosen */
    wt_writer_t *link_older; /* queue: the writer that joined just before (NULL = head) */
    wt_writer_t *link_newer; /* queue: filled in lazily by leaders */
};

struct wt_group {
    wt_writer_t *leader;
    wt_writer_t *last_writer; /* newest member; members are leader..last_writer */
    size_t size;              /* members */
    size_t bytes;             /* sum of member batch sizes */
    size_t inserts;           /* members with a non-empty batch */
    int need_sync;            /* some member asked for sync */
    int disable_wal;          /* all members (the leader's choice) */
    uint64_t first_sequence;  /* first sequence of the group */
    uint64_t last_sequence;   /* last one (first - 1 if the group consumed none) */
    /* ---- private ---- */
    status_t status;              /* preprocess / WAL failure */
    _Atomic size_t running;       /* parallel inserts not yet finished */
    wt_group_t *mt_older;         /* pipelined memtable queue */
    _Atomic int mt_waiting;       /* pipelined: the leader waits for its memtable turn and
                                     may be served by the group before it */
};

typedef struct wt_callbacks {
    status_t (*preprocess)(void *arg, wt_group_t *g);
    status_t (*wal_write)(void *arg, wt_group_t *g);
    status_t (*memtable_insert)(void *arg, wt_writer_t *w, int concurrent);
    void (*publish)(void *arg, uint64_t last_sequence);
    void *arg;
} wt_callbacks_t;

typedef struct wt_stats {
    uint64_t writes;          /* wt_write calls that reached a group */
    uint64_t groups;          /* WAL groups formed */
    double mean_group_size;
    uint64_t max_group_size;
    uint64_t parallel_groups; /* groups whose members inserted in parallel */
    uint64_t wal_bytes;       /* batch bytes handed to wal_write */
    uint64_t syncs;           /* groups with need_sync (each runs at most one fdatasync) */
    double writes_per_sync;   /* members of syncing groups / syncs */
    uint64_t waits;           /* times a writer had to wait for another thread */
    uint64_t blocks;          /* ... of which it went to sleep in the kernel */
    uint64_t wait_ns;         /* total time spent waiting */
} wt_stats_t;

typedef struct write_thread {
    int allow_concurrent_memtable_write;
    int enable_pipelined_write;
    _Atomic(wt_writer_t *) newest_writer;   /* the queue of writers, newest first */
    _Atomic(wt_group_t *) newest_mt_group;  /* pipelined: groups waiting for memtable */
    _Atomic uint64_t last_sequence; /* last allocated; written by the WAL leader only */
    struct {
        _Atomic uint64_t writes, groups, members, max_group, parallel_groups, wal_bytes,
            syncs, sync_members, waits, blocks, wait_ns;
    } st;
#ifdef LSM_TESTING
    /* Called at named points of the protocol (see docs/WRITE_PATH.md for the list), on
     * the thread concerned; w is the writer the point is about. A test blocks in it to
     * force an interleaving. */
    void (*test_hook)(void *arg, const char *point, wt_writer_t *w);
    void *test_hook_arg;
#endif
} write_thread_t;

void wt_init(write_thread_t *wt, int allow_concurrent_memtable_write, int enable_pipelined_write,
             uint64_t last_sequence);
/* Nothing to free; every writer must have returned from wt_write. */
void wt_destroy(write_thread_t *wt);

void wt_writer_init(wt_writer_t *w, write_batch_t *batch, int sync, int disable_wal);
/* Runs w through a write group; returns w->status (owned by the caller). */
status_t wt_write(write_thread_t *wt, wt_writer_t *w, const wt_callbacks_t *cb);

/* From preprocess only (the caller is the WAL leader): returns once no earlier group is
 * still inserting into the memtable. A no-op without pipelined write, where a group's
 * inserts are done before the next leader starts. */
void wt_wait_for_memtable_writers(write_thread_t *wt);

/* Takes the write path for the caller alone (RocksDB's EnterUnbatched): queues w like a
 * writer that joins no group, waits for the WAL role, then (pipelined) for every earlier
 * group's memtable step. On return every earlier write has been inserted and published,
 * and no group starts until wt_exit_unbatched(wt, w). For work outside a write that needs
 * the writers stopped: a memtable switch for lsm_flush, a WAL roll, close. w must stay
 * alive (on the caller's stack) until the exit. Must not be called from a callback. */
void wt_enter_unbatched(write_thread_t *wt, wt_writer_t *w);
void wt_exit_unbatched(write_thread_t *wt, wt_writer_t *w);

/* Last sequence handed out to a group whose WAL write succeeded. Exact when called from a
 * callback of the WAL leader (preprocess, wal_write); approximate otherwise. */
uint64_t wt_last_sequence(write_thread_t *wt);

/* Members of a group, oldest (the leader) first: valid inside callbacks given g. */
static inline wt_writer_t *wt_group_first(const wt_group_t *g) { return g->leader; }
static inline wt_writer_t *wt_group_next(const wt_group_t *g, const wt_writer_t *w)
{
    return w == g->last_writer ? NULL : w->link_newer;
}

void wt_stats(write_thread_t *wt, wt_stats_t *out);

#endif
