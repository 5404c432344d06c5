/*
 * test_write_thread.c - write groups, parallel memtable writers and the pipelined write,
 * driven through fake callbacks.
 *
 * The fake DB records every wal_write (which thread ran it, which writers with which
 * sequences), every memtable_insert (which thread inserted which writer's batch) and every
 * publish. Deterministic tests force interleavings with the write thread's test hook: a
 * rule "when writer X reaches point P, signal `reached` and wait for `release`" lets the
 * main thread hold a leader at a chosen point while other writers queue. The stress tests
 * run 16 threads through each of the four option combinations and check sequences,
 * publication order and exactly-once inserts; under ThreadSanitizer they also check that
 * the protocol orders every access the fake DB makes with plain (non-atomic) variables.
 *
 * Assertions from writer threads go through CHECK (a counter the main thread asserts on),
 * since cmocka's assertions only work on the test's own thread.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/status.h"
#include "write/write_batch.h"
#include "write/write_thread.h"

/* ---- thread-side checks ------------------------------------------------------------ */

static atomic_int check_failures;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            atomic_fetch_add(&check_failures, 1);                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                                \
    } while (0)

static __thread int tls_tid; /* 0 = main thread, else the writer id of the thread */

/* ---- events (one-shot flags with a timeout, so a broken protocol fails, not hangs) ---- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int set;
} event_t;

static void ev_init(event_t *e)
{
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    e->set = 0;
}

static void ev_destroy(event_t *e)
{
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
}

static void ev_set(event_t *e)
{
    pthread_mutex_lock(&e->mu);
    e->set = 1;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

/* Waits up to ms milliseconds; returns 1 if the event is set. */
static int ev_wait_ms(event_t *e, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&e->mu);
    while (!e->set) {
        if (pthread_cond_timedwait(&e->cv, &e->mu, &ts) != 0)
            break;
    }
    int r = e->set;
    pthread_mutex_unlock(&e->mu);
    return r;
}

static int ev_wait(event_t *e) { return ev_wait_ms(e, 10000); }

static int ev_is_set(event_t *e)
{
    pthread_mutex_lock(&e->mu);
    int r = e->set;
    pthread_mutex_unlock(&e->mu);
    return r;
}

/* ---- test writers -------------------------------------------------------------------- */

#define MAX_W 8

typedef struct {
    wt_writer_t w; /* first: the callbacks get &tw->w */
    int id;        /* 1.. */
    write_batch_t batch;
    int use_batch; /* 0: pass a NULL batch */
    status_t result;
    pthread_t th;
    struct fixture *fx;
} twriter_t;

/* ---- the fake DB --------------------------------------------------------------------- */

typedef struct {
    int thread;    /* tls_tid of the thread that ran wal_write */
    int need_sync;
    int n;
    int ids[MAX_W];
    uint64_t seqs[MAX_W];
    uint64_t first, last;
} wal_rec_t;

typedef struct {
    int writer, thread, concurrent;
    uint64_t seq;
} ins_rec_t;

typedef struct {
    const char *point;
    int id; /* writer id, or 0 for any writer */
    event_t *reached;
    event_t *release;
    int fired;
} rule_t;

typedef struct {
    char point[40];
    int id, thread;
} trace_t;

typedef struct fixture {
    write_thread_t wt;
    wt_callbacks_t cb;
    pthread_mutex_t mu;
    wal_rec_t wal[32];
    int nwal;
    ins_rec_t ins[64];
    int nins;
    uint64_t pub[32];
    int npub;
    int preprocess_calls;
    /* failure injection */
    int fail_wal, fail_pre;
    /* pipelined checks */
    int wait_mt_in_pre_for; /* writer id whose group's preprocess waits for memtable writers */
    int pub_before_wait_returned; /* npub seen right after wt_wait_for_memtable_writers */
    /* per-writer gates inside memtable_insert */
    event_t *ins_started[MAX_W + 1];
    event_t *ins_release[MAX_W + 1];
    event_t *wal_started[MAX_W + 1]; /* signalled when a group led by id starts its WAL write */
    int wal_saw_insert_pending;       /* set by wal_write when writer 1's insert is unfinished */
    int ins_done[MAX_W + 1];
    /* hook rules and the trace */
    rule_t rules[16];
    int nrules;
    trace_t trace[256];
    int ntrace;
    twriter_t tw[MAX_W + 1];
    int ntw;
} fixture_t;

static int writer_id(fixture_t *fx, wt_writer_t *w)
{
    for (int i = 1; i <= fx->ntw; i++)
        if (&fx->tw[i].w == w)
            return i;
    return -1; /* not a test writer (e.g. the dummy of wt_wait_for_memtable_writers) */
}

static status_t fake_preprocess(void *arg, wt_group_t *g)
{
    fixture_t *fx = arg;
    int id = writer_id(fx, g->leader);
    pthread_mutex_lock(&fx->mu);
    fx->preprocess_calls++;
    int fail = fx->fail_pre;
    int wait = fx->wait_mt_in_pre_for == id;
    pthread_mutex_unlock(&fx->mu);
    if (wait) {
        wt_wait_for_memtable_writers(&fx->wt);
        pthread_mutex_lock(&fx->mu);
        fx->pub_before_wait_returned = fx->npub;
        pthread_mutex_unlock(&fx->mu);
    }
    if (fail)
        return st_error(ST_BUSY, "preprocess: write stopped (test)");
    return NULL;
}

static status_t fake_wal_write(void *arg, wt_group_t *g)
{
    fixture_t *fx = arg;
    int lid = writer_id(fx, g->leader);
    if (lid > 0 && fx->wal_started[lid])
        ev_set(fx->wal_started[lid]);
    pthread_mutex_lock(&fx->mu);
    if (fx->nwal < 32) {
        wal_rec_t *r = &fx->wal[fx->nwal++];
        memset(r, 0, sizeof(*r));
        r->thread = tls_tid;
        r->need_sync = g->need_sync;
        r->first = g->first_sequence;
        r->last = g->last_sequence;
        for (wt_writer_t *w = wt_group_first(g); w; w = wt_group_next(g, w)) {
            if (r->n < MAX_W) {
                r->ids[r->n] = writer_id(fx, w);
                r->seqs[r->n] = w->sequence;
                r->n++;
            }
        }
        CHECK((size_t)r->n == g->size);
    }
    if (fx->ins_started[1] && ev_is_set(fx->ins_started[1]) && !fx->ins_done[1])
        fx->wal_saw_insert_pending = 1;
    int fail = fx->fail_wal;
    pthread_mutex_unlock(&fx->mu);
    if (fail)
        return st_io(5, "%s: wal append failed at offset %d (test)", "000007.log", 4096);
    return NULL;
}

static status_t fake_insert(void *arg, wt_writer_t *w, int concurrent)
{
    fixture_t *fx = arg;
    int id = writer_id(fx, w);
    CHECK(id > 0);
    CHECK(w->batch != NULL && wb_count(w->batch) > 0);
    CHECK(wb_sequence(w->batch) == w->sequence);
    if (id > 0 && fx->ins_started[id])
        ev_set(fx->ins_started[id]);
    if (id > 0 && fx->ins_release[id])
        CHECK(ev_wait(fx->ins_release[id]));
    pthread_mutex_lock(&fx->mu);
    if (fx->nins < 64)
        fx->ins[fx->nins++] = (ins_rec_t){id, tls_tid, concurrent, w->sequence};
    if (id > 0)
        fx->ins_done[id] = 1;
    pthread_mutex_unlock(&fx->mu);
    return NULL;
}

static void fake_publish(void *arg, uint64_t last)
{
    fixture_t *fx = arg;
    pthread_mutex_lock(&fx->mu);
    if (fx->npub < 32)
        fx->pub[fx->npub++] = last;
    pthread_mutex_unlock(&fx->mu);
}

static void fake_hook(void *arg, const char *point, wt_writer_t *w)
{
    fixture_t *fx = arg;
    int id = writer_id(fx, w);
    rule_t *hit = NULL;
    pthread_mutex_lock(&fx->mu);
    if (fx->ntrace < 256) {
        trace_t *t = &fx->trace[fx->ntrace++];
        snprintf(t->point, sizeof(t->point), "%s", point);
        t->id = id;
        t->thread = tls_tid;
    }
    for (int i = 0; i < fx->nrules; i++) {
        rule_t *r = &fx->rules[i];
        if (!r->fired && strcmp(r->point, point) == 0 && (r->id == 0 || r->id == id)) {
            r->fired = 1;
            hit = r;
            break;
        }
    }
    pthread_mutex_unlock(&fx->mu);
    if (hit) {
        if (hit->reached)
            ev_set(hit->reached);
        if (hit->release)
            CHECK(ev_wait(hit->release));
    }
}

static fixture_t *fx_new(int concurrent, int pipelined)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    wt_init(&fx->wt, concurrent, pipelined, 100);
    pthread_mutex_init(&fx->mu, NULL);
    fx->cb = (wt_callbacks_t){fake_preprocess, fake_wal_write, fake_insert, fake_publish, fx};
    fx->wt.test_hook = fake_hook;
    fx->wt.test_hook_arg = fx;
    atomic_store(&check_failures, 0);
    return fx;
}

static void fx_free(fixture_t *fx)
{
    for (int i = 1; i <= fx->ntw; i++) {
        wb_destroy(&fx->tw[i].batch);
        st_free(fx->tw[i].result);
    }
    wt_destroy(&fx->wt);
    pthread_mutex_destroy(&fx->mu);
    free(fx);
}

static void fx_rule(fixture_t *fx, const char *point, int id, event_t *reached, event_t *release)
{
    pthread_mutex_lock(&fx->mu);
    assert_true(fx->nrules < 16);
    fx->rules[fx->nrules++] = (rule_t){point, id, reached, release, 0};
    pthread_mutex_unlock(&fx->mu);
}

/* A writer with `records` puts (0 = empty batch; -1 = NULL batch), value of vlen bytes. */
static twriter_t *fx_writer(fixture_t *fx, int records, size_t vlen, int sync, int disable_wal)
{
    assert_true(fx->ntw < MAX_W);
    int id = ++fx->ntw;
    twriter_t *tw = &fx->tw[id];
    tw->id = id;
    tw->fx = fx;
    wb_init(&tw->batch);
    char *val = calloc(1, vlen + 1);
    assert_non_null(val);
    memset(val, 'v', vlen);
    for (int i = 0; i < records; i++) {
        char key[32];
        snprintf(key, sizeof(key), "w%d-k%d", id, i);
        wb_put(&tw->batch, slice_str(key), slice_make(val, vlen));
    }
    free(val);
    tw->use_batch = records >= 0;
    wt_writer_init(&tw->w, tw->use_batch ? &tw->batch : NULL, sync, disable_wal);
    return tw;
}

static void *writer_main(void *arg)
{
    twriter_t *tw = arg;
    tls_tid = tw->id;
    tw->result = wt_write(&tw->fx->wt, &tw->w, &tw->fx->cb);
    return NULL;
}

static void tw_start(twriter_t *tw) { assert_int_equal(pthread_create(&tw->th, NULL, writer_main, tw), 0); }
static void tw_join(twriter_t *tw) { assert_int_equal(pthread_join(tw->th, NULL), 0); }

/* Number of trace entries for (point, id, thread); id/thread 0 = any. */
static int traced(fixture_t *fx, const char *point, int id, int thread)
{
    int n = 0;
    pthread_mutex_lock(&fx->mu);
    for (int i = 0; i < fx->ntrace; i++)
        if (strcmp(fx->trace[i].point, point) == 0 && (!id || fx->trace[i].id == id) &&
            (!thread || fx->trace[i].thread == thread))
            n++;
    pthread_mutex_unlock(&fx->mu);
    return n;
}

static const ins_rec_t *find_insert(fixture_t *fx, int id)
{
    for (int i = 0; i < fx->nins; i++)
        if (fx->ins[i].writer == id)
            return &fx->ins[i];
    return NULL;
}

/* Starts writer `lead`, holds it at "join:leader" until every writer in `rest` has queued
 * behind it (reached "join:follower"), then lets it go. */
static void run_queued_behind_leader(fixture_t *fx, twriter_t *lead, twriter_t **rest, int n)
{
    event_t at_leader, go, queued[MAX_W];
    ev_init(&at_leader);
    ev_init(&go);
    fx_rule(fx, "join:leader", lead->id, &at_leader, &go);
    for (int i = 0; i < n; i++) {
        ev_init(&queued[i]);
        fx_rule(fx, "join:follower", rest[i]->id, &queued[i], NULL);
    }
    tw_start(lead);
    assert_true(ev_wait(&at_leader));
    for (int i = 0; i < n; i++) {
        tw_start(rest[i]);
        assert_true(ev_wait(&queued[i])); /* queue order = the order given */
    }
    ev_set(&go);
    tw_join(lead);
    for (int i = 0; i < n; i++)
        tw_join(rest[i]);
    ev_destroy(&at_leader);
    ev_destroy(&go);
    for (int i = 0; i < n; i++)
        ev_destroy(&queued[i]);
}

struct runner {
    fixture_t *fx;
    twriter_t *lead;
    twriter_t **rest;
    int n;
};

static void *runner_main(void *p)
{
    struct runner *r = p;
    run_queued_behind_leader(r->fx, r->lead, r->rest, r->n);
    return NULL;
}

/* ---- deterministic tests -------------------------------------------------------------- */

static void test_single_writer(void **state)
{
    (void)state;
    fixture_t *fx = fx_new(0, 0);
    twriter_t *a = fx_writer(fx, 3, 10, 0, 0);
    tls_tid = 0;
    a->result = wt_write(&fx->wt, &a->w, &fx->cb);
    assert_null(a->result);
    assert_int_equal(a->w.sequence, 101);
    assert_int_equal(wb_sequence(&a->batch), 101);
    assert_int_equal(fx->nwal, 1);
    assert_int_equal(fx->wal[0].n, 1);
    assert_int_equal(fx->wal[0].first, 101);
    assert_int_equal(fx->wal[0].last, 103);
    assert_int_equal(fx->wal[0].need_sync, 0);
    assert_int_equal(fx->nins, 1);
    assert_int_equal(fx->ins[0].concurrent, 0);
    assert_int_equal(fx->npub, 1);
    assert_int_equal(fx->pub[0], 103);
    assert_int_equal(wt_last_sequence(&fx->wt), 103);
    /* the queue is empty again: a second write leads its own group */
    twriter_t *b = fx_writer(fx, 1, 10, 1, 0);
    b->result = wt_write(&fx->wt, &b->w, &fx->cb);
    assert_null(b->result);
    assert_int_equal(b->w.sequence, 104);
    assert_int_equal(fx->nwal, 2);
    assert_int_equal(fx->wal[1].need_sync, 1);
    assert_int_equal(fx->pub[1], 104);
    wt_stats_t st;
    wt_stats(&fx->wt, &st);
    assert_int_equal(st.writes, 2);
    assert_int_equal(st.groups, 2);
    assert_int_equal(st.max_group_size, 1);
    assert_int_equal(st.syncs, 1);
    assert_true(st.wal_bytes == wb_byte_size(&a->batch) + wb_byte_size(&b->batch));
    assert_int_equal(atomic_load(&check_failures), 0);
    fx_free(fx);
}

static void test_sync_without_wal_rejected(void **state)
{
    (void)state;
    fixture_t *fx = fx_new(0, 0);
    twriter_t *a = fx_writer(fx, 1, 10, 1, 1);
    a->result = wt_write(&fx->wt, &a->w, &fx->cb);
    assert_int_equal(st_code(a->result), ST_INVALID_ARGUMENT);
    assert_int_equal(fx->nwal, 0);
    assert_int_equal(fx->nins, 0);
    assert_int_equal(fx->preprocess_calls, 0);
    fx_free(fx);
}

/* Followers picked up by the leader: one WAL write and every insert on the leader's thread. */
static void test_followers_completed_by_leader(void **state)
{
    (void)state;
    fixture_t *fx = fx_new(0, 0);
    twriter_t *a = fx_writer(fx, 1, 10, 0, 0);
    twriter_t *b = fx_writer(fx, 2, 10, 0, 0);
    twriter_t *c = fx_writer(fx, 3, 10, 0, 0);
    twriter_t *rest[] = {b, c};
    run_queued_behind_leader(fx, a, rest, 2);

    assert_null(a->result);
    assert_null(b->result);
    assert_null(c->result);
    assert_int_equal(fx->nwal, 1);
    assert_int_equal(fx->wal[0].thread, a->id);
    assert_int_equal(fx->wal[0].n, 3);
    assert_int_equal(fx->wal[0].ids[0], a->id);
    assert_int_equal(fx->wal[0].ids[1], b->id);
    assert_int_equal(fx->wal[0].ids[2], c->id);
    /* consecutive sequences, each batch consuming its count */
    assert_int_equal(a->w.sequence, 101);
    assert_int_equal(b->w.sequence, 102);
    assert_int_equal(c->w.sequence, 104);
    assert_int_equal(fx->wal[0].last, 106);
    assert_int_equal(fx->nins, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fx->ins[i].thread, a->id);
        assert_int_equal(fx->ins[i].concurrent, 0);
    }
    assert_int_equal(fx->npub, 1);
    assert_int_equal(fx->pub[0], 106);
    assert_int_equal(fx->preprocess_calls, 1);
    /* the followers were completed by the leader's thread */
    assert_int_equal(traced(fx, "complete", b->id, a->id), 1);
    assert_int_equal(traced(fx, "complete", c->id, a->id), 1);
    assert_int_equal(traced(fx, "leader:handed_over", 0, 0), 0);
    wt_stats_t st;
    wt_stats(&fx->wt, &st);
    assert_int_equal(st.groups, 1);
    assert_int_equal(st.max_group_size, 3);
    assert_true(st.mean_group_size > 2.9);
    assert_int_equal(atomic_load(&check_failures), 0);
    fx_free(fx);
}

/* With concurrent memtable writes each member inserts its own batch, on its own thread, at
 * the same time: the leader's insert waits until both followers' inserts have started. */
static void test_parallel_inserts(void **state)
{
    (void)state;
    fixture_t *fx = fx_new(1, 0);
    twriter_t *a = fx_writer(fx, 1, 10, 0, 0);
    twriter_t *b = fx_writer(fx, 1, 10, 0, 0);
    twriter_t *c = fx_writer(fx, 1, 10, 0, 0);
    twriter_t *d = fx_writer(fx, -1, 0, 0, 0); /* no batch: nothing to insert */
    event_t b_started, c_started, b_release, a_release;
    ev_init(&b_started);
    ev_init(&c_started);
    ev_init(&b_release);
    ev_init(&a_release);
    fx->ins_started[b->id] = &b_started;
    fx->ins_started[c->id] = &c_started;
    fx->ins_release[b->id] = &b_release; /* b is held: it will be the last to finish */
    fx->ins_release[a->id] = &a_release;
    twriter_t *rest[] = {b, c, d};

    /* The writers run from a helper thread; the main thread plays the controller:
     * release a once b and c are inside their inserts, and b once a and c are done. */
    pthread_t helper;
    struct runner run = {fx, a, rest, 3};
    assert_int_equal(pthread_create(&helper, NULL, runner_main, &run), 0);
    assert_true(ev_wait(&b_started));
    assert_true(ev_wait(&c_started));
    ev_set(&a_release); /* a's insert finishes while b's is still running */
    /* wait until c's insert is recorded, then let b finish last */
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&fx->mu);
        int done = fx->ins_done[c->id] && fx->ins_done[a->id];
        pthread_mutex_unlock(&fx->mu);
        if (done)
            break;
        usleep(1000);
    }
    pthread_mutex_lock(&fx->mu);
    int npub_before = fx->npub;
    pthread_mutex_unlock(&fx->mu);
    assert_int_equal(npub_before, 0); /* nothing published while b still inserts */
    ev_set(&b_release);
    assert_int_equal(pthread_join(helper, NULL), 0);

    assert_null(a->result);
    assert_null(b->result);
    assert_null(c->result);
    assert_null(d->result);
    assert_int_equal(fx->nwal, 1);
    assert_int_equal(fx->wal[0].n, 4);
    assert_int_equal(fx->nins, 3);
    assert_int_equal(find_insert(fx, a->id)->thread, a->id);
    assert_int_equal(find_insert(fx, b->id)->thread, b->id);
    assert_int_equal(find_insert(fx, c->id)->thread, c->id);
    for (int i = 0; i < 3; i++)
        assert_int_equal(fx->ins[i].concurrent, 1);
    assert_null(find_insert(fx, d->id));
    assert_int_equal(d->w.sequence, 104); /* no sequence consumed */
    assert_int_equal(fx->npub, 1);
    assert_int_equal(fx->pub[0], 103);
    assert_int_equal(traced(fx, "follower:parallel_insert", b->id, b->id), 1);
    assert_int_equal(traced(fx, "follower:parallel_insert", c->id, c->id), 1);
    assert_int_equal(traced(fx, "follower:parallel_insert", d->id, 0), 0);
    /* b finished last, so b's thread published and completed the others, leader last */
    assert_int_equal(traced(fx, "publish:before", b->id, b->id), 1);
    assert_int_equal(traced(fx, "complete", a->id, b->id), 1);
    assert_int_equal(traced(fx, "complete", c->id, b->id), 1);
    assert_int_equal(traced(fx, "complete", d->id, b->id), 1);
    pthread_mutex_lock(&fx->mu);
    int last_complete = -1;
    for (int i = 0; i < fx->ntrace; i++)
        if (strcmp(fx->trace[i].point, "complete") == 0)
            last_complete = fx->trace[i].id;
    pthread_mutex_unlock(&fx->mu);
    assert_int_equal(last_complete, a->id);
    wt_stats_t st;
    wt_stats(&fx->wt, &st);
    assert_int_equal(st.parallel_groups, 1);
    assert_int_equal(atomic_load(&check_failures), 0);
    ev_destroy(&b_started);
    ev_destroy(&c_started);
    ev_destroy(&b_release);
    ev_destroy(&a_release);
    fx_free(fx);
}

/* On exit the leader hands the WAL role to the writer queued after its group. */
static void test_next_leader_on_exit(void **state)
{
    (void)state;
    for (int pipelined = 0; pipelined <= 1; pipelined++) {
        fixture_t *fx = fx_new(0, pipelined);
        twriter_t *a = fx_writer(fx, 1, 10, 0, 0);
        twriter_t *b = fx_writer(fx, 1, 10, 0, 0);
        twriter_t *c = fx_writer(fx, 1, 10, 0, 0);
        event_t a_wal, go, b_queued, c_queued;
        ev_init(&a_wal);
        ev_init(&go);
        ev_init(&b_queued);
        ev_init(&c_queued);
        /* a's group is formed (just a) before b and c arrive */
        fx_rule(fx, "leader:before_wal", a->id, &a_wal, &go);
        fx_rule(fx, "join:follower", b->id, &b_queued, NULL);
        fx_rule(fx, "join:follower", c->id, &c_queued, NULL);
        tw_start(a);
        assert_true(ev_wait(&a_wal));
        tw_start(b);
        assert_true(ev_wait(&b_queued));
        tw_start(c);
        assert_true(ev_wait(&c_queued));
        ev_set(&go);
        tw_join(a);
        tw_join(b);
        tw_join(c);

        assert_null(a->result);
        assert_null(b->result);
        assert_null(c->result);
        assert_int_equal(fx->nwal, 2);
        assert_int_equal(fx->wal[0].n, 1);
        assert_int_equal(fx->wal[0].thread, a->id);
        assert_int_equal(fx->wal[1].n, 2);
        assert_int_equal(fx->wal[1].thread, b->id); /* the follower became the leader */
        assert_int_equal(fx->wal[1].ids[0], b->id);
        assert_int_equal(fx->wal[1].ids[1], c->id);
        assert_int_equal(traced(fx, "exit:new_leader", b->id, a->id), 1);
        assert_int_equal(traced(fx, "leader:handed_over", b->id, b->id), 1);
        assert_int_equal(a->w.sequence, 101);
        assert_int_equal(b->w.sequence, 102);
        assert_int_equal(c->w.sequence, 103);
        assert_int_equal(fx->npub, 2);
        assert_int_equal(fx->pub[0], 101);
        assert_int_equal(fx->pub[1], 103);
        /* b's group inserts on b's thread — or, pipelined, on a's when a's memtable turn
         * served b's already waiting group (docs/WRITE_PATH.md, serving queued groups). */
        int ins_thread = find_insert(fx, c->id)->thread;
        assert_true(ins_thread == b->id || (pipelined && ins_thread == a->id));
        assert_int_equal(atomic_load(&check_failures), 0);
        ev_destroy(&a_wal);
        ev_destroy(&go);
        ev_destroy(&b_queued);
        ev_destroy(&c_queued);
        fx_free(fx);
    }
}

/* Pipelined: group 2's WAL write runs while group 1 is still inside memtable_insert, yet
 * group 2 neither inserts nor publishes before group 1 has. */
static void pipelined_overlap(int concurrent)
{
    fixture_t *fx = fx_new(concurrent, 1);
    twriter_t *a = fx_writer(fx, 1, 10, 0, 0);
    twriter_t *b = fx_writer(fx, 1, 10, 0, 0);
    twriter_t *c = fx_writer(fx, 2, 10, 0, 0);
    event_t a_ins, a_release, b_wal, b_at_wal, c_queued, c_go;
    ev_init(&a_ins);
    ev_init(&a_release);
    ev_init(&b_wal);
    ev_init(&b_at_wal);
    ev_init(&c_queued);
    ev_init(&c_go);
    fx->ins_started[a->id] = &a_ins;
    fx->ins_release[a->id] = &a_release;
    fx->wal_started[b->id] = &b_wal;
    fx_rule(fx, "join:follower", c->id, &c_queued, NULL);
    fx_rule(fx, "leader:before_wal", b->id, &b_at_wal, &c_go);

    tw_start(a);
    assert_true(ev_wait(&a_ins)); /* group 1 is in the memtable step */
    tw_start(b);                  /* b finds the WAL role free */
    assert_true(ev_wait(&b_at_wal));
    tw_start(c); /* c queues behind b's group: it will lead group 3 */
    assert_true(ev_wait(&c_queued));
    ev_set(&c_go);
    assert_true(ev_wait(&b_wal)); /* group 2's WAL write happens while a is blocked */
    /* b's group must wait for a's before inserting / publishing */
    usleep(20000);
    pthread_mutex_lock(&fx->mu);
    int npub = fx->npub, nins = fx->nins;
    pthread_mutex_unlock(&fx->mu);
    assert_int_equal(npub, 0);
    assert_int_equal(nins, 0);
    ev_set(&a_release);
    tw_join(a);
    tw_join(b);
    tw_join(c);

    assert_null(a->result);
    assert_null(b->result);
    assert_null(c->result);
    assert_true(fx->wal_saw_insert_pending);
    assert_true(fx->nwal >= 2);
    assert_int_equal(fx->wal[0].ids[0], a->id);
    assert_int_equal(fx->wal[1].ids[0], b->id);
    assert_int_equal(fx->wal[1].thread, b->id);
    assert_int_equal(fx->ins[0].writer, a->id); /* a's insert is recorded first */
    /* publication in sequence order, each group once */
    assert_int_equal(fx->pub[0], 101);
    for (int i = 1; i < fx->npub; i++)
        assert_true(fx->pub[i] > fx->pub[i - 1]);
    assert_int_equal(fx->pub[fx->npub - 1], 104);
    /* b's group gets its turn from a's: handed over (b then inserts), or served by a's
     * thread (which merges waiting groups into its turn), exactly once either way. */
    int handed = traced(fx, "pipeline:next_memtable_leader", b->id, a->id);
    int served = traced(fx, "pipeline:serve_group", b->id, a->id);
    assert_int_equal(handed + served, 1);
    assert_int_equal(traced(fx, "pipeline:memtable_leader", b->id, b->id), handed);
    assert_int_equal(atomic_load(&check_failures), 0);
    ev_destroy(&a_ins);
    ev_destroy(&a_release);
    ev_destroy(&b_wal);
    ev_destroy(&b_at_wal);
    ev_destroy(&c_queued);
    ev_destroy(&c_go);
    fx_free(fx);
}

static void test_pipelined_overlap(void **state)
{
    (void)state;
    pipelined_overlap(0);
    pipelined_overlap(1);
}

/* wt_wait_for_memtable_writers (from preprocess) returns only after the earlier group has
 * inserted and published. */
static void test_wait_for_memtable_writers(void **state)
{
    (void)state;
    fixture_t *fx = fx_new(0, 1);
    twriter_t *a = fx_writer(fx, 1, 10, 0, 0);
    twriter_t *b = fx_writer(fx, 1, 10, 0, 0);
    event_t a_ins, a_release, b_block;
    ev_init(&a_ins);
    ev_init(&a_release);
    ev_init(&b_block);
    fx->ins_started[a->id] = &a_ins;
    fx->ins_release[a->id] = &a_release;
    fx->wait_mt_in_pre_for = b->id;
    fx->pub_before_wait_returned = -1;
    fx_rule(fx, "wait:block", -1, &b_block, NULL); /* the wait's own (non-test) writer */
    tw_start(a);
    assert_true(ev_wait(&a_ins));
    tw_start(b);
    assert_true(ev_wait(&b_block)); /* b's preprocess sleeps in the wait */
    pthread_mutex_lock(&fx->mu);
    int seen = fx->pub_before_wait_returned;
    pthread_mutex_unlock(&fx->mu);
    assert_int_equal(seen, -1);
    ev_set(&a_release);
    tw_join(a);
    tw_join(b);
    assert_null(a->result);
    assert_null(b->result);
    assert_int_equal(fx->pub_before_wait_returned, 1);
    assert_int_equal(fx->npub, 2);
    assert_int_equal(fx->pub[1], 102);
    /* the queue is usable afterwards */
    twriter_t *c = fx_writer(fx, 1, 10, 0, 0);
    c->result = wt_write(&fx->wt, &c->w, &fx->cb);
    assert_null(c->result);
    assert_int_equal(c->w.sequence, 103);
    /* without an earlier group it returns at once; without pipelining it is a no-op */
    wt_wait_for_memtable_writers(&fx->wt);
    assert_int_equal(atomic_load(&check_failures), 0);
    ev_destroy(&a_ins);
    ev_destroy(&a_release);
    ev_destroy(&b_block);
    fx_free(fx);
}

typedef struct {
    fixture_t *fx;
    event_t entered, leave;
    uint64_t seen_pub; /* npub when the enter returned */
    int seen_wal;
} unbatched_t;

static void *unbatched_main(void *arg)
{
    unbatched_t *u = arg;
    tls_tid = 99;
    wt_writer_t w;
    wt_enter_unbatched(&u->fx->wt, &w);
    pthread_mutex_lock(&u->fx->mu);
    u->seen_pub = (uint64_t)u->fx->npub;
    u->seen_wal = u->fx->nwal;
    pthread_mutex_unlock(&u->fx->mu);
    ev_set(&u->entered);
    CHECK(ev_wait(&u->leave));
    wt_exit_unbatched(&u->fx->wt, &w);
    return NULL;
}

/* wt_enter_unbatched waits for every earlier group (WAL and memtable) and keeps later
 * writers out until the exit. */
static void test_unbatched(void **state)
{
    (void)state;
    for (int mode = 0; mode < 4; mode++) {
        fixture_t *fx = fx_new(mode & 1, mode >> 1);
        twriter_t *a = fx_writer(fx, 1, 10, 0, 0);
        twriter_t *b = fx_writer(fx, 1, 10, 0, 0);
        event_t a_ins, a_release, u_linked, b_queued;
        ev_init(&a_ins);
        ev_init(&a_release);
        ev_init(&u_linked);
        ev_init(&b_queued);
        fx->ins_started[a->id] = &a_ins;
        fx->ins_release[a->id] = &a_release;
        fx_rule(fx, "unbatched:before_link", 0, &u_linked, NULL);
        fx_rule(fx, "join:follower", b->id, &b_queued, NULL);
        unbatched_t u = {.fx = fx};
        ev_init(&u.entered);
        ev_init(&u.leave);
        tw_start(a);
        assert_true(ev_wait(&a_ins));
        pthread_t ut;
        assert_int_equal(pthread_create(&ut, NULL, unbatched_main, &u), 0);
        assert_true(ev_wait(&u_linked));
        assert_false(ev_wait_ms(&u.entered, 30)); /* a's insert is still running */
        ev_set(&a_release);
        assert_true(ev_wait(&u.entered));
        assert_int_equal(u.seen_pub, 1); /* a was published before the enter returned */
        assert_int_equal(u.seen_wal, 1);
        tw_start(b);
        assert_true(ev_wait(&b_queued)); /* b queues behind the unbatched writer */
        usleep(20000);
        pthread_mutex_lock(&fx->mu);
        int nwal = fx->nwal;
        pthread_mutex_unlock(&fx->mu);
        assert_int_equal(nwal, 1);
        ev_set(&u.leave);
        assert_int_equal(pthread_join(ut, NULL), 0);
        tw_join(a);
        tw_join(b);
        assert_null(a->result);
        assert_null(b->result);
        assert_int_equal(fx->nwal, 2);
        assert_int_equal(fx->wal[1].n, 1);
        assert_int_equal(fx->wal[1].ids[0], b->id);
        assert_int_equal(b->w.sequence, 102);
        assert_int_equal(atomic_load(&check_failures), 0);
        ev_destroy(&a_ins);
        ev_destroy(&a_release);
        ev_destroy(&u_linked);
        ev_destroy(&b_queued);
        ev_destroy(&u.entered);
        ev_destroy(&u.leave);
        fx_free(fx);
    }
}

/* A failed WAL write (or preprocess) reaches every member; nothing is inserted, published
 * or consumed. */
static void group_error(int concurrent, int pipelined, int in_preprocess)
{
    fixture_t *fx = fx_new(concurrent, pipelined);
    if (in_preprocess)
        fx->fail_pre = 1;
    else
        fx->fail_wal = 1;
    twriter_t *a = fx_writer(fx, 1, 10, 0, 0);
    twriter_t *b = fx_writer(fx, 2, 10, 0, 0);
    twriter_t *c = fx_writer(fx, 1, 10, 0, 0);
    twriter_t *rest[] = {b, c};
    run_queued_behind_leader(fx, a, rest, 2);
    st_code_t want = in_preprocess ? ST_BUSY : ST_IO_ERROR;
    twriter_t *all[] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(st_code(all[i]->result), want);
        if (!in_preprocess) {
            assert_non_null(strstr(st_msg(all[i]->result), "000007.log"));
            assert_non_null(strstr(st_msg(all[i]->result), "4096"));
        }
    }
    /* each member owns its own copy */
    assert_ptr_not_equal(a->result, b->result);
    assert_ptr_not_equal(b->result, c->result);
    assert_int_equal(fx->nwal, in_preprocess ? 0 : 1);
    assert_int_equal(fx->nins, 0);
    assert_int_equal(fx->npub, 0);
    assert_int_equal(wt_last_sequence(&fx->wt), 100);
    /* after the DB clears the error, the next write gets the same sequences */
    fx->fail_wal = fx->fail_pre = 0;
    twriter_t *d = fx_writer(fx, 1, 10, 0, 0);
    d->result = wt_write(&fx->wt, &d->w, &fx->cb);
    assert_null(d->result);
    assert_int_equal(d->w.sequence, 101);
    assert_int_equal(fx->pub[0], 101);
    assert_int_equal(atomic_load(&check_failures), 0);
    fx_free(fx);
}

static void test_group_error_delivered(void **state)
{
    (void)state;
    for (int mode = 0; mode < 4; mode++) {
        group_error(mode & 1, (mode >> 1) & 1, 0);
        group_error(mode & 1, (mode >> 1) & 1, 1);
    }
}

/* A sync writer does not join a non-sync leader; a non-sync writer may join a sync one;
 * WAL and no-WAL writers never share a group. */
static void test_sync_and_wal_rules(void **state)
{
    (void)state;
    fixture_t *fx = fx_new(0, 0);
    twriter_t *a = fx_writer(fx, 1, 10, 0, 0); /* non-sync leader */
    twriter_t *b = fx_writer(fx, 1, 10, 1, 0); /* sync: must not join a */
    twriter_t *c = fx_writer(fx, 1, 10, 0, 0); /* joins b's sync group */
    twriter_t *d = fx_writer(fx, -1, 0, 1, 0); /* empty sync (lsm_flush_wal): joins b */
    twriter_t *e = fx_writer(fx, 1, 10, 0, 1); /* no WAL: its own group */
    twriter_t *f = fx_writer(fx, 1, 10, 0, 1); /* no WAL: joins e */
    twriter_t *g = fx_writer(fx, 1, 10, 0, 0); /* WAL again: its own group */
    twriter_t *rest[] = {b, c, d, e, f, g};
    run_queued_behind_leader(fx, a, rest, 6);
    for (int i = 1; i <= 7; i++)
        assert_null(fx->tw[i].result);
    assert_int_equal(fx->nwal, 3); /* {a}, {b,c,d}, {g}; e+f write no WAL */
    assert_int_equal(fx->wal[0].n, 1);
    assert_int_equal(fx->wal[0].need_sync, 0);
    assert_int_equal(fx->wal[1].n, 3);
    assert_int_equal(fx->wal[1].ids[0], b->id);
    assert_int_equal(fx->wal[1].ids[1], c->id);
    assert_int_equal(fx->wal[1].ids[2], d->id);
    assert_int_equal(fx->wal[1].need_sync, 1);
    assert_int_equal(fx->wal[2].n, 1);
    assert_int_equal(fx->wal[2].ids[0], g->id);
    assert_int_equal(fx->nins, 6); /* everyone but d */
    assert_null(find_insert(fx, d->id));
    assert_int_equal(find_insert(fx, f->id)->thread, e->id); /* e led the no-WAL group */
    /* sequences: a 101, b 102, c 103, d none, e 104, f 105, g 106 */
    assert_int_equal(b->w.sequence, 102);
    assert_int_equal(c->w.sequence, 103);
    assert_int_equal(e->w.sequence, 104);
    assert_int_equal(f->w.sequence, 105);
    assert_int_equal(g->w.sequence, 106);
    assert_int_equal(fx->npub, 4);
    assert_int_equal(fx->pub[3], 106);
    wt_stats_t st;
    wt_stats(&fx->wt, &st);
    assert_int_equal(st.groups, 4);
    assert_int_equal(st.syncs, 1);
    assert_true(st.writes_per_sync > 2.9 && st.writes_per_sync < 3.1);
    assert_int_equal(atomic_load(&check_failures), 0);
    fx_free(fx);
}

/* An empty sync writer alone: one WAL call with need_sync, no insert, no publish. */
static void test_lone_flush_wal_writer(void **state)
{
    (void)state;
    for (int mode = 0; mode < 4; mode++) {
        fixture_t *fx = fx_new(mode & 1, mode >> 1);
        twriter_t *a = fx_writer(fx, 0, 0, 1, 0); /* empty batch, not NULL */
        a->result = wt_write(&fx->wt, &a->w, &fx->cb);
        assert_null(a->result);
        assert_int_equal(fx->nwal, 1);
        assert_int_equal(fx->wal[0].need_sync, 1);
        assert_int_equal(fx->nins, 0);
        assert_int_equal(fx->npub, 0);
        assert_int_equal(wt_last_sequence(&fx->wt), 100);
        twriter_t *b = fx_writer(fx, 1, 1, 0, 0);
        b->result = wt_write(&fx->wt, &b->w, &fx->cb);
        assert_null(b->result);
        assert_int_equal(b->w.sequence, 101);
        fx_free(fx);
    }
}

/* Group byte bounds: leader size + 128 KiB for a small leader, 1 MiB otherwise. */
static void test_group_byte_bound(void **state)
{
    (void)state;
    {
        fixture_t *fx = fx_new(0, 0);
        twriter_t *a = fx_writer(fx, 1, 100, 0, 0);       /* small leader */
        twriter_t *b = fx_writer(fx, 1, 100 << 10, 0, 0); /* 100 KiB: fits */
        twriter_t *c = fx_writer(fx, 1, 40 << 10, 0, 0);  /* would pass leader + 128 KiB */
        twriter_t *d = fx_writer(fx, 1, 10, 0, 0);        /* after the cut: next group */
        assert_true(wb_byte_size(&a->batch) + wb_byte_size(&b->batch) <=
                    wb_byte_size(&a->batch) + WT_SMALL_LEADER_SLACK);
        twriter_t *rest[] = {b, c, d};
        run_queued_behind_leader(fx, a, rest, 3);
        assert_int_equal(fx->nwal, 2);
        assert_int_equal(fx->wal[0].n, 2); /* a, b */
        assert_int_equal(fx->wal[1].n, 2); /* c, d: c's own bound is 1 MiB */
        assert_int_equal(fx->wal[1].ids[0], c->id);
        wt_stats_t st;
        wt_stats(&fx->wt, &st);
        size_t total = 0;
        for (int i = 1; i <= 4; i++)
            total += wb_byte_size(&fx->tw[i].batch);
        assert_int_equal(st.wal_bytes, total);
        fx_free(fx);
    }
    {
        fixture_t *fx = fx_new(0, 0);
        twriter_t *a = fx_writer(fx, 1, 200 << 10, 0, 0); /* large leader: 1 MiB bound */
        twriter_t *f[5];
        for (int i = 0; i < 5; i++)
            f[i] = fx_writer(fx, 1, 200 << 10, 0, 0);
        /* 5 x ~200 KiB fit in 1 MiB, the 6th does not */
        twriter_t *rest[] = {f[0], f[1], f[2], f[3], f[4]};
        run_queued_behind_leader(fx, a, rest, 5);
        assert_int_equal(fx->nwal, 2);
        assert_int_equal(fx->wal[0].n, 5);
        assert_int_equal(fx->wal[1].n, 1);
        assert_int_equal(fx->wal[1].ids[0], f[4]->id);
        fx_free(fx);
    }
    {
        /* a leader bigger than the bound still writes, alone */
        fixture_t *fx = fx_new(0, 0);
        twriter_t *a = fx_writer(fx, 1, 2 << 20, 0, 0);
        twriter_t *b = fx_writer(fx, 1, 1, 0, 0);
        twriter_t *rest[] = {b};
        run_queued_behind_leader(fx, a, rest, 1);
        assert_int_equal(fx->nwal, 2);
        assert_int_equal(fx->wal[0].n, 1);
        assert_null(a->result);
        assert_null(b->result);
        fx_free(fx);
    }
}

/* ---- stress --------------------------------------------------------------------------- */

#define S_THREADS 16

typedef struct {
    write_thread_t wt;
    wt_callbacks_t cb;
    uint64_t base;
    size_t cap;             /* sequences tracked */
    unsigned char *inserted; /* plain bytes: ordered by the protocol (checked by TSan) */
    uint64_t published;      /* plain: publish calls are serialised by the protocol */
    _Atomic uint64_t visible; /* for readers: the last published sequence */
    uint64_t wal_last;        /* plain: WAL writes are serialised */
    atomic_int inflight;
    int concurrent;
    int sleepy_sync;
} stress_t;

static status_t s_wal(void *arg, wt_group_t *g)
{
    stress_t *s = arg;
    CHECK(g->first_sequence > s->wal_last);
    uint64_t next = g->first_sequence;
    size_t n = 0;
    for (wt_writer_t *w = wt_group_first(g); w; w = wt_group_next(g, w)) {
        CHECK(w->sequence == next);
        if (w->batch && wb_count(w->batch)) {
            CHECK(wb_sequence(w->batch) == next);
            next += wb_count(w->batch);
        }
        n++;
    }
    CHECK(n == g->size);
    CHECK(next - 1 == g->last_sequence);
    if (g->last_sequence >= g->first_sequence)
        s->wal_last = g->last_sequence;
    if (g->need_sync && s->sleepy_sync)
        usleep(20); /* a device flush takes time: lets groups form */
    return NULL;
}

static status_t s_insert(void *arg, wt_writer_t *w, int concurrent)
{
    stress_t *s = arg;
    int in = atomic_fetch_add(&s->inflight, 1) + 1;
    if (!concurrent)
        CHECK(in == 1); /* a serial insert never overlaps another group's */
    if (!s->concurrent)
        CHECK(concurrent == 0);
    uint32_t n = wb_count(w->batch);
    CHECK(n > 0);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t seq = w->sequence + i;
        CHECK(seq > s->base && seq - s->base <= s->cap);
        if (seq > s->base && seq - s->base <= s->cap)
            s->inserted[seq - s->base - 1]++;
    }
    atomic_fetch_sub(&s->inflight, 1);
    return NULL;
}

static void s_publish(void *arg, uint64_t last)
{
    stress_t *s = arg;
    CHECK(last > s->published);
    for (uint64_t q = s->published + 1; q <= last; q++)
        if (q > s->base && q - s->base <= s->cap)
            CHECK(s->inserted[q - s->base - 1] == 1);
    s->published = last;
    atomic_store_explicit(&s->visible, last, memory_order_release);
}

typedef struct {
    stress_t *s;
    int id, iters;
    uint64_t count; /* sequences consumed by this thread */
} s_thread_t;

static void *s_main(void *arg)
{
    s_thread_t *t = arg;
    tls_tid = t->id;
    write_batch_t b;
    wb_init(&b);
    unsigned r = 0x9e3779b9u * (unsigned)(t->id + 1);
    for (int i = 0; i < t->iters; i++) {
        r = r * 1103515245u + 12345u;
        unsigned x = r >> 8;
        wb_clear(&b);
        int records = (int)(x % 4); /* 0..3, 0 = empty batch */
        int sync = (x >> 4) % 8 == 0;
        int nowal = !sync && (x >> 8) % 16 == 0;
        for (int k = 0; k < records; k++) {
            char key[32];
            snprintf(key, sizeof(key), "t%d-%d-%d", t->id, i, k);
            wb_put(&b, slice_str(key), slice_str("value"));
        }
        wt_writer_t w;
        wt_writer_init(&w, (x >> 12) % 2 || records ? &b : NULL, sync, nowal);
        status_t st = wt_write(&t->s->wt, &w, &t->s->cb);
        CHECK(st == NULL);
        st_free(st);
        if (records) {
            /* read-your-writes: the batch is visible when wt_write returns */
            uint64_t vis = atomic_load_explicit(&t->s->visible, memory_order_acquire);
            CHECK(w.sequence + (uint64_t)records - 1 <= vis);
            CHECK(wb_sequence(&b) == w.sequence);
        }
        t->count += (uint64_t)records;
    }
    wb_destroy(&b);
    return NULL;
}

static int under_sanitizer(void)
{
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
    return 1;
#endif
#endif
    return getenv("LSM_SANITIZER") != NULL;
}

static void stress(int concurrent, int pipelined)
{
    int iters = under_sanitizer() ? 1500 : 4000;
    stress_t *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->base = 1000;
    s->cap = (size_t)S_THREADS * (size_t)iters * 3;
    s->inserted = calloc(s->cap, 1);
    assert_non_null(s->inserted);
    s->published = s->base;
    atomic_init(&s->visible, s->base);
    s->wal_last = s->base;
    s->concurrent = concurrent;
    s->sleepy_sync = 1;
    wt_init(&s->wt, concurrent, pipelined, s->base);
    s->cb = (wt_callbacks_t){NULL, s_wal, s_insert, s_publish, s};
    atomic_store(&check_failures, 0);

    pthread_t th[S_THREADS];
    s_thread_t ts[S_THREADS];
    for (int i = 0; i < S_THREADS; i++) {
        ts[i] = (s_thread_t){s, i + 1, iters, 0};
        assert_int_equal(pthread_create(&th[i], NULL, s_main, &ts[i]), 0);
    }
    uint64_t total = 0;
    for (int i = 0; i < S_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        total += ts[i].count;
    }
    assert_int_equal(atomic_load(&check_failures), 0);
    /* every sequence base+1 .. base+total inserted exactly once, nothing beyond */
    assert_int_equal(wt_last_sequence(&s->wt), s->base + total);
    assert_int_equal(s->published, s->base + total);
    for (uint64_t q = 0; q < s->cap; q++)
        assert_int_equal(s->inserted[q], q < total ? 1 : 0);
    wt_stats_t st;
    wt_stats(&s->wt, &st);
    assert_int_equal(st.writes, (uint64_t)S_THREADS * (uint64_t)iters);
    assert_true(st.groups <= st.writes);
    printf("  concurrent=%d pipelined=%d: %llu writes in %llu groups (mean %.2f, max %llu), "
           "%llu parallel groups, %llu syncs (%.2f writes/sync), %llu waits (%llu slept), "
           "mean wait %.1f us\n",
           concurrent, pipelined, (unsigned long long)st.writes,
           (unsigned long long)st.groups, st.mean_group_size,
           (unsigned long long)st.max_group_size, (unsigned long long)st.parallel_groups,
           (unsigned long long)st.syncs, st.writes_per_sync, (unsigned long long)st.waits,
           (unsigned long long)st.blocks,
           st.waits ? (double)st.wait_ns / (double)st.waits / 1000.0 : 0.0);
    assert_true(st.mean_group_size > 1.0);
    assert_true(st.max_group_size > 1);
    if (concurrent)
        assert_true(st.parallel_groups > 0);
    wt_destroy(&s->wt);
    free(s->inserted);
    free(s);
}

static void test_stress_plain(void **state) { (void)state; stress(0, 0); }
static void test_stress_concurrent(void **state) { (void)state; stress(1, 0); }
static void test_stress_pipelined(void **state) { (void)state; stress(0, 1); }
static void test_stress_pipelined_concurrent(void **state) { (void)state; stress(1, 1); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_writer),
        cmocka_unit_test(test_sync_without_wal_rejected),
        cmocka_unit_test(test_followers_completed_by_leader),
        cmocka_unit_test(test_parallel_inserts),
        cmocka_unit_test(test_next_leader_on_exit),
        cmocka_unit_test(test_pipelined_overlap),
        cmocka_unit_test(test_wait_for_memtable_writers),
        cmocka_unit_test(test_unbatched),
        cmocka_unit_test(test_group_error_delivered),
        cmocka_unit_test(test_sync_and_wal_rules),
        cmocka_unit_test(test_lone_flush_wal_writer),
        cmocka_unit_test(test_group_byte_bound),
        cmocka_unit_test(test_stress_plain),
        cmocka_unit_test(test_stress_concurrent),
        cmocka_unit_test(test_stress_pipelined),
        cmocka_unit_test(test_stress_pipelined_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
