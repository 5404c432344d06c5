/*
 * write_thread.c - write groups with leaders and followers, parallel memtable inserts and
 * the pipelined write (see write_thread.h for the contract, docs/WRITE_PATH.md for the
 * protocol and the memory-ordering argument).
 *
 * Invariants:
 *  - The writer queue (newest_writer, linked through link_older) holds every writer that
 *    has joined and not yet been taken into a group, plus the members of the group whose
 *    WAL leader is active. At most one WAL leader exists at a time; it is the only thread
 *    that writes link_newer, gathers groups, assigns sequences and removes writers from the
 *    queue, and it hands the role on by setting exactly one writer to WT_GROUP_LEADER (or
 *    by swinging newest_writer back to NULL, after which the next writer to link is leader).
 *  - A writer record is only written by other threads while its owner waits, and whoever
 *    completes it reads everything it needs from it *before* the state store: the owner
 *    may return and reuse its stack the moment it sees WT_COMPLETED. The group lives on
 *    its leader's stack, so the leader is always the last member completed.
 *  - Memtable inserts of two groups never overlap, and groups publish in sequence order:
 *    without pipelining a group's inserts and publication finish before the next leader is
 *    chosen; with it, groups enter the memtable queue while their leader still holds the
 *    WAL role (so in sequence order) and the queue is served one group at a time.
 *  - A state change is one atomic exchange (release); the waiter sees it with an acquire
 *    load, so everything written before the change (sequence, status, group) is visible.
 *    A sleeping waiter marks its state with WT_SLEEPING first, and only then does the
 *    setter make the futex wake call.
 */
#include "write/write_thread.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/clock.h"

enum {
    WT_INIT = 1u << 0,
    WT_GROUP_LEADER = 1u << 1,     /* lead the next WAL group */
    WT_MEMTABLE_LEADER = 1u << 2,  /* pipelined: your group's turn at the memtable */
    WT_PARALLEL_WRITER = 1u << 3,  /* insert your own batch now */
    WT_COMPLETED = 1u << 4,        /* done: w->status is the result */
    WT_SLEEPING = 1u << 31,        /* flag: the owner is (about to be) in futex_wait */
};

#define WT_SPINS 100
#define WT_YIELDS 8
#define WT_MAX_SERVED 16 /* pipelined: queued groups one memtable turn may serve */

#ifdef LSM_TESTING
#define WT_HOOK(wt, point, w)                                          \
    do {                                                               \
        if ((wt)->test_hook)                                           \
            (wt)->test_hook((wt)->test_hook_arg, (point), (w));        \
    } while (0)
#else
#define WT_HOOK(wt, point, w) \
    do {                      \
        (void)(wt);           \
        (void)(w);            \
    } while (0)
#endif

#define RELAXED memory_order_relaxed

static inline void st_add(_Atomic uint64_t *c, uint64_t n) { atomic_fetch_add_explicit(c, n, RELAXED); }

/* ---- waiting and waking ----------------------------------------------------------- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
    /* EAGAIN (value changed), EINTR and spurious wake-ups all end in a re-check. */
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Waits until w->state has one of the bits of goal; returns that state. Spins briefly, then
 * yields, then sleeps on the state word itself. */
static uint32_t wt_await(write_thread_t *wt, wt_writer_t *w, uint32_t goal)
{
    uint32_t s = atomic_load_explicit(&w->state, memory_order_acquire);
    if (s & goal)
        return s;
    uint64_t t0 = clock_now_ns();
    for (int i = 0; i < WT_SPINS && !(s & goal); i++) {
        cpu_relax();
        s = atomic_load_explicit(&w->state, memory_order_acquire);
    }
    for (int i = 0; i < WT_YIELDS && !(s & goal); i++) {
        sched_yield();
        s = atomic_load_explicit(&w->state, memory_order_acquire);
    }
    if (!(s & goal)) {
        st_add(&wt->st.blocks, 1);
        WT_HOOK(wt, "wait:block", w);
        s = atomic_load_explicit(&w->state, memory_order_acquire);
        while (!(s & goal)) {
            if (!(s & WT_SLEEPING)) {
                /* On failure s is reloaded (acquire) and re-examined. */
                if (!atomic_compare_exchange_weak_explicit(&w->state, &s, s | WT_SLEEPING,
                                                           memory_order_acquire,
                                                           memory_order_acquire))
                    continue;
                s |= WT_SLEEPING;
            }
            futex_wait(&w->state, s);
            s = atomic_load_explicit(&w->state, memory_order_acquire);
        }
    }
    st_add(&wt->st.waits, 1);
    st_add(&wt->st.wait_ns, clock_now_ns() - t0);
    return s & ~(uint32_t)WT_SLEEPING;
}

/* Sets w's state, waking its owner if it sleeps. w may be gone as soon as the exchange is
 * done; the futex call then only touches the address (a stray wake-up is harmless: every
 * waiter re-checks its state). */
static void wt_set_state(wt_writer_t *w, uint32_t state)
{
    uint32_t old = atomic_exchange_explicit(&w->state, state, memory_order_release);
    if (old & WT_SLEEPING)
        futex_wake(&w->state);
}

/* ---- the writer queue --------------------------------------------------------------- */

/* Pushes w; returns 1 if the queue was empty (w is the leader). */
static int wt_link(write_thread_t *wt, wt_writer_t *w)
{
    wt_writer_t *head = atomic_load_explicit(&wt->newest_writer, RELAXED);
    for (;;) {
        w->link_older = head;
        /* acq_rel: on success with head == NULL we are the leader and must see what the
         * previous leader did before it emptied the queue (release CAS in pass_wal). */
        if (atomic_compare_exchange_weak_explicit(&wt->newest_writer, &head, w,
                                                  memory_order_acq_rel, RELAXED))
            return head == NULL;
    }
}

/* Fills in link_newer from head down to the first writer that already has it (or the
 * queue's oldest). WAL leader only. */
static void wt_create_newer_links(wt_writer_t *head)
{
    for (;;) {
        wt_writer_t *older = head->link_older;
        if (older == NULL || older->link_newer != NULL)
            break;
        older->link_newer = head;
        head = older;
    }
}

static void wt_form_group(write_thread_t *wt, wt_writer_t *leader, wt_group_t *g)
{
    memset(g, 0, sizeof(*g));
    g->leader = leader;
    g->last_writer = leader;
    g->size = 1;
    g->bytes = leader->bytes;
    g->inserts = leader->count > 0;
    g->need_sync = leader->sync;
    g->disable_wal = leader->disable_wal;
    leader->group = g;

    size_t max = WT_MAX_GROUP_BYTES;
    if (leader->bytes <= WT_SMALL_LEADER_SLACK)
        max = leader->bytes + WT_SMALL_LEADER_SLACK;

    wt_writer_t *newest = atomic_load_explicit(&wt->newest_writer, memory_order_acquire);
    wt_create_newer_links(newest);
    for (wt_writer_t *w = leader; w != newest;) {
        wt_writer_t *next = w->link_newer;
        if (next->unbatched)
            break; /* waits for the WAL role alone */
        if (next->sync && !leader->sync)
            break; /* a sync writer waits for a group that syncs */
        if (next->disable_wal != leader->disable_wal)
            break;
        if (g->bytes + next->bytes > max)
            break;
        next->group = g;
        g->size++;
        g->bytes += next->bytes;
        g->inserts += next->count > 0;
        g->last_writer = next;
        w = next;
    }

    st_add(&wt->st.groups, 1);
    st_add(&wt->st.members, g->size);
    uint64_t mx = atomic_load_explicit(&wt->st.max_group, RELAXED);
    while (g->size > mx &&
           !atomic_compare_exchange_weak_explicit(&wt->st.max_group, &mx, g->size, RELAXED,
                                                  RELAXED))
        ;
}

/* Gives the WAL role to the writer queued after the group, or empties the queue. Called by
 * the thread holding the role (the WAL leader, or the group's last parallel inserter). */
static void wt_pass_wal_leadership(write_thread_t *wt, wt_group_t *g)
{
    wt_writer_t *last = g->last_writer;
    wt_writer_t *head = atomic_load_explicit(&wt->newest_writer, memory_order_acquire);
    if (head == last &&
        atomic_compare_exchange_strong_explicit(&wt->newest_writer, &head, NULL,
                                                memory_order_acq_rel, memory_order_acquire))
        return;
    /* Someone queued behind the group. Only a departing leader removes writers, so the
     * list from head down to last is stable: link it and wake the writer after last. */
    wt_create_newer_links(head);
    wt_writer_t *next = last->link_newer;
    next->link_older = NULL;
    WT_HOOK(wt, "exit:new_leader", next);
    wt_set_state(next, WT_GROUP_LEADER);
}

/* Completes every member but `self`, the leader last (g lives on its stack). Members of a
 * failed group receive a copy of the group's status. */
static void wt_complete_members(write_thread_t *wt, wt_group_t *g, wt_writer_t *self)
{
    wt_writer_t *leader = g->leader;
    status_t gs = g->status;
    for (wt_writer_t *w = g->last_writer; w != leader;) {
        wt_writer_t *older = w->link_older; /* read before w can vanish */
        if (w != self) {
            if (gs)
                w->status = st_copy(gs);
            WT_HOOK(wt, "complete", w);
            wt_set_state(w, WT_COMPLETED);
        }
        w = older;
    }
    if (leader != self) {
        /* Only reached on success (a failed group is finished by its leader): the leader's
         * status is already its own insert result. */
        WT_HOOK(wt, "complete", leader);
        wt_set_state(leader, WT_COMPLETED);
    }
}

/* ---- pipelined memtable queue ------------------------------------------------------- */

/* Appends g to the memtable queue (WAL leader only, so groups enter in sequence order).
 * Returns 1 if the queue was empty: g may insert at once. */
static int wt_mt_enqueue(write_thread_t *wt, wt_group_t *g)
{
    wt_group_t *head = atomic_load_explicit(&wt->newest_mt_group, RELAXED);
    for (;;) {
        g->mt_older = head;
        if (atomic_compare_exchange_weak_explicit(&wt->newest_mt_group, &head, g,
                                                  memory_order_acq_rel, RELAXED))
            return head == NULL;
    }
}

/* The group queued right after g, or NULL when g is the newest. Called by the thread
 * holding g's memtable turn: every group from the head down to g is still queued (their
 * leaders wait), so the walk touches live groups only. */
static wt_group_t *wt_mt_successor(write_thread_t *wt, wt_group_t *g)
{
    wt_group_t *n = atomic_load_explicit(&wt->newest_mt_group, memory_order_acquire);
    if (n == g)
        return NULL;
    while (n->mt_older != g)
        n = n->mt_older;
    return n;
}

/* g's inserts are done and published: let the next queued group insert. */
static void wt_pass_mt_leadership(write_thread_t *wt, wt_group_t *g)
{
    wt_group_t *head = atomic_load_explicit(&wt->newest_mt_group, memory_order_acquire);
    if (head == g &&
        atomic_compare_exchange_strong_explicit(&wt->newest_mt_group, &head, NULL,
                                                memory_order_acq_rel, memory_order_acquire))
        return;
    wt_group_t *n = head;
    while (n->mt_older != g)
        n = n->mt_older;
    WT_HOOK(wt, "pipeline:next_memtable_leader", n->leader);
    wt_set_state(n->leader, WT_MEMTABLE_LEADER);
}

/* ---- the group's memtable step ----------------------------------------------------- */

/* All of g's inserts are done: publish, pass on the role that orders groups, complete the
 * other members. Run by exactly one member of g (`self`). */
static void wt_finish_group(write_thread_t *wt, wt_group_t *g, wt_writer_t *self,
                            const wt_callbacks_t *cb)
{
    if (cb->publish) {
        WT_HOOK(wt, "publish:before", self);
        cb->publish(cb->arg, g->last_sequence);
    }
    if (!wt->enable_pipelined_write) {
        wt_pass_wal_leadership(wt, g);
        wt_complete_members(wt, g, self);
        return;
    }
    /* Pipelined: serve the groups queued behind g whose leaders already wait for their
     * turn, inserting their batches here, as RocksDB merges memtable writer groups: each
     * one served saves a wake-up and a hand-off. A group that would insert in parallel, or
     * whose leader is not waiting yet (it may still be passing on the WAL role), stops
     * the run and gets the turn the usual way. Served groups are completed only after
     * the turn has moved on past them, so the queue walk never meets a finished group. */
    wt_group_t *served[WT_MAX_SERVED];
    int nserved = 0;
    wt_group_t *cur = g;
    while (nserved < WT_MAX_SERVED) {
        wt_group_t *n = wt_mt_successor(wt, cur);
        if (!n || !atomic_load_explicit(&n->mt_waiting, memory_order_acquire) ||
            (wt->allow_concurrent_memtable_write && n->inserts >= 2))
            break;
        WT_HOOK(wt, "pipeline:serve_group", n->leader);
        for (wt_writer_t *w = n->leader; w; w = wt_group_next(n, w))
            if (w->count)
                w->status = cb->memtable_insert(cb->arg, w, 0);
        if (cb->publish)
            cb->publish(cb->arg, n->last_sequence);
        served[nserved++] = n;
        cur = n;
    }
    wt_pass_mt_leadership(wt, cur);
    for (int i = 0; i < nserved; i++)
        wt_complete_members(wt, served[i], NULL);
    wt_complete_members(wt, g, self);
}

/* One parallel insert finished (w's own, or the leader's launch token). The last one
 * finishes the group; the others wait to be completed. */
static void wt_parallel_done(write_thread_t *wt, wt_group_t *g, wt_writer_t *w,
                             const wt_callbacks_t *cb)
{
    /* acq_rel: the last decrement sees every other inserter's work before publishing. */
    if (atomic_fetch_sub_explicit(&g->running, 1, memory_order_acq_rel) != 1) {
        wt_await(wt, w, WT_COMPLETED);
        return;
    }
    wt_finish_group(wt, g, w, cb);
}

/* Run by the group's leader once the group may touch the memtable. */
static void wt_memtable_step(write_thread_t *wt, wt_group_t *g, const wt_callbacks_t *cb)
{
    wt_writer_t *leader = g->leader;
    if (!wt->allow_concurrent_memtable_write || g->inserts < 2) {
        for (wt_writer_t *w = leader; w; w = wt_group_next(g, w))
            if (w->count)
                w->status = cb->memtable_insert(cb->arg, w, 0);
        wt_finish_group(wt, g, leader, cb);
        return;
    }
    st_add(&wt->st.parallel_groups, 1);
    /* One count per inserting follower plus one for the leader (its own insert, if any,
     * and the launch loop), so the group cannot finish while the loop still runs. */
    size_t followers = g->inserts - (leader->count > 0);
    atomic_store_explicit(&g->running, followers + 1, RELAXED);
    for (wt_writer_t *w = wt_group_next(g, leader); w;) {
        wt_writer_t *next = wt_group_next(g, w); /* read before w can vanish */
        if (w->count) {
            WT_HOOK(wt, "leader:parallel_launch", w);
            wt_set_state(w, WT_PARALLEL_WRITER);
        }
        w = next;
    }
    if (leader->count)
        leader->status = cb->memtable_insert(cb->arg, leader, 1);
    wt_parallel_done(wt, g, leader, cb);
}

/* ---- the leader -------------------------------------------------------------------- */

static void wt_lead(write_thread_t *wt, wt_writer_t *leader, const wt_callbacks_t *cb)
{
    wt_group_t g;
    wt_form_group(wt, leader, &g);
    WT_HOOK(wt, "leader:group", leader);

    status_t s = cb->preprocess ? cb->preprocess(cb->arg, &g) : NULL;
    if (!s) {
        uint64_t next = atomic_load_explicit(&wt->last_sequence, RELAXED) + 1;
        g.first_sequence = next;
        for (wt_writer_t *w = leader; w; w = wt_group_next(&g, w)) {
            w->sequence = next;
            if (w->count) {
                wb_set_sequence(w->batch, next);
                next += w->count;
            }
        }
        g.last_sequence = next - 1;
        if (!g.disable_wal && cb->wal_write) {
            WT_HOOK(wt, "leader:before_wal", leader);
            s = cb->wal_write(cb->arg, &g);
            st_add(&wt->st.wal_bytes, g.bytes);
            if (g.need_sync) {
                st_add(&wt->st.syncs, 1);
                st_add(&wt->st.sync_members, g.size);
            }
            WT_HOOK(wt, "leader:after_wal", leader);
        }
    }
    if (s) {
        /* Nothing of this group reaches the memtable and no sequence is consumed. */
        g.status = s;
        wt_pass_wal_leadership(wt, &g);
        wt_complete_members(wt, &g, leader);
        leader->status = s;
        return;
    }
    atomic_store_explicit(&wt->last_sequence, g.last_sequence, RELAXED);

    if (g.inserts == 0) {
        /* Only empty batches (e.g. WAL syncs): done once the WAL step is. */
        wt_pass_wal_leadership(wt, &g);
        wt_complete_members(wt, &g, leader);
        return;
    }
    if (wt->enable_pipelined_write) {
        /* Enter the memtable queue while still holding the WAL role, then let the next
         * WAL group start. */
        int first = wt_mt_enqueue(wt, &g);
        WT_HOOK(wt, "pipeline:enqueue", leader);
        wt_pass_wal_leadership(wt, &g);
        if (!first) {
            atomic_store_explicit(&g.mt_waiting, 1, memory_order_release);
            uint32_t st = wt_await(wt, leader, WT_MEMTABLE_LEADER | WT_COMPLETED);
            if (st & WT_COMPLETED)
                return; /* the group before us inserted and published ours too */
        }
        WT_HOOK(wt, "pipeline:memtable_leader", leader);
    }
    wt_memtable_step(wt, &g, cb);
}

/* ---- public ------------------------------------------------------------------------- */

void wt_init(write_thread_t *wt, int allow_concurrent_memtable_write, int enable_pipelined_write,
             uint64_t last_sequence)
{
    memset(wt, 0, sizeof(*wt));
    wt->allow_concurrent_memtable_write = allow_concurrent_memtable_write != 0;
    wt->enable_pipelined_write = enable_pipelined_write != 0;
    atomic_init(&wt->newest_writer, NULL);
    atomic_init(&wt->newest_mt_group, NULL);
    atomic_init(&wt->last_sequence, last_sequence);
}

void wt_destroy(write_thread_t *wt) { (void)wt; }

void wt_writer_init(wt_writer_t *w, write_batch_t *batch, int sync, int disable_wal)
{
    memset(w, 0, sizeof(*w));
    w->batch = batch;
    w->sync = sync != 0;
    w->disable_wal = disable_wal != 0;
    atomic_init(&w->state, WT_INIT);
}

status_t wt_write(write_thread_t *wt, wt_writer_t *w, const wt_callbacks_t *cb)
{
    w->status = NULL;
    w->sequence = 0;
    if (w->sync && w->disable_wal)
        return w->status = st_error(ST_INVALID_ARGUMENT,
                                    "write: sync requested with the WAL disabled");
    w->count = w->batch ? wb_count(w->batch) : 0;
    w->bytes = w->batch ? wb_byte_size(w->batch) : 0;
    w->unbatched = 0;
    w->group = NULL;
    w->link_newer = NULL;
    atomic_store_explicit(&w->state, WT_INIT, RELAXED);
    st_add(&wt->st.writes, 1);

    WT_HOOK(wt, "join:before_link", w);
    if (wt_link(wt, w)) {
        WT_HOOK(wt, "join:leader", w);
    } else {
        WT_HOOK(wt, "join:follower", w);
        uint32_t s = wt_await(wt, w, WT_GROUP_LEADER | WT_PARALLEL_WRITER | WT_COMPLETED);
        if (s & WT_COMPLETED)
            return w->status;
        if (s & WT_PARALLEL_WRITER) {
            wt_group_t *g = w->group;
            WT_HOOK(wt, "follower:parallel_insert", w);
            w->status = cb->memtable_insert(cb->arg, w, 1);
            wt_parallel_done(wt, g, w, cb);
            return w->status;
        }
        WT_HOOK(wt, "leader:handed_over", w);
    }
    wt_lead(wt, w, cb);
    return w->status;
}

void wt_wait_for_memtable_writers(write_thread_t *wt)
{
    if (!wt->enable_pipelined_write ||
        atomic_load_explicit(&wt->newest_mt_group, memory_order_acquire) == NULL)
        return;
    /* Queue an empty group and wait for its turn: every group before it has then
     * finished its inserts. Only the WAL leader enqueues, and we are it, so nobody can
     * have queued behind us: empty the queue again. */
    wt_writer_t dummy;
    wt_writer_init(&dummy, NULL, 0, 0);
    wt_group_t g;
    memset(&g, 0, sizeof(g));
    g.leader = &dummy;
    g.last_writer = &dummy;
    if (!wt_mt_enqueue(wt, &g))
        wt_await(wt, &dummy, WT_MEMTABLE_LEADER);
    atomic_store_explicit(&wt->newest_mt_group, NULL, memory_order_release);
}

void wt_enter_unbatched(write_thread_t *wt, wt_writer_t *w)
{
    wt_writer_init(w, NULL, 0, 0);
    w->unbatched = 1;
    WT_HOOK(wt, "unbatched:before_link", w);
    if (!wt_link(wt, w))
        wt_await(wt, w, WT_GROUP_LEADER); /* never taken into a group, so never completed */
    wt_wait_for_memtable_writers(wt);
    WT_HOOK(wt, "unbatched:entered", w);
}

void wt_exit_unbatched(write_thread_t *wt, wt_writer_t *w)
{
    wt_group_t g;
    memset(&g, 0, sizeof(g));
    g.leader = w;
    g.last_writer = w;
    wt_pass_wal_leadership(wt, &g);
}

uint64_t wt_last_sequence(write_thread_t *wt)
{
    return atomic_load_explicit(&wt->last_sequence, RELAXED);
}

void wt_stats(write_thread_t *wt, wt_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->writes = atomic_load_explicit(&wt->st.writes, RELAXED);
    out->groups = atomic_load_explicit(&wt->st.groups, RELAXED);
    uint64_t members = atomic_load_explicit(&wt->st.members, RELAXED);
    out->mean_group_size = out->groups ? (double)members / (double)out->groups : 0.0;
    out->max_group_size = atomic_load_explicit(&wt->st.max_group, RELAXED);
    out->parallel_groups = atomic_load_explicit(&wt->st.parallel_groups, RELAXED);
    out->wal_bytes = atomic_load_explicit(&wt->st.wal_bytes, RELAXED);
    out->syncs = atomic_load_explicit(&wt->st.syncs, RELAXED);
    uint64_t sm = atomic_load_explicit(&wt->st.sync_members, RELAXED);
    out->writes_per_sync = out->syncs ? (double)sm / (double)out->syncs : 0.0;
    out->waits = atomic_load_explicit(&wt->st.waits, RELAXED);
    out->blocks = atomic_load_explicit(&wt->st.blocks, RELAXED);
    out->wait_ns = atomic_load_explicit(&wt->st.wait_ns, RELAXED);
}
