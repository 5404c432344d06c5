/*
 * test_mutex.c - util/mutex.h: in test builds (LSM_TESTING) a mutex_t knows which thread
 * holds it, across lock/unlock and condition waits, and ASSERT_HELD / ASSERT_NOT_HELD /
 * LSM_ASSERT abort (checked in a forked child) when their condition is false, including a
 * second lock by the holder, which would otherwise deadlock; and the engine's own
 * "mu held" functions abort when called without db->mu. In release builds the same calls
 * must not abort (the assertions compile to nothing).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "testdb.h"

#include "db/db_impl.h"
#include "util/mutex.h"

#ifdef LSM_TESTING
#define EXPECT_ABORT(sig) assert_int_equal((sig), SIGABRT)
#else
#define EXPECT_ABORT(sig) assert_int_equal((sig), 0)
#endif

static void assert_held_fn(void *m)
{
    (void)m; /* unused in release builds */
    ASSERT_HELD((mutex_t *)m);
}
static void lock_twice_fn(void *m)
{
    mutex_lock(m);
#ifdef LSM_TESTING
    mutex_lock(m); /* aborts before it could deadlock */
#endif
}
static void false_invariant_fn(void *arg)
{
    int *x = arg;
    (void)x; /* unused in release builds */
    LSM_ASSERT(*x == 2);
}

static void test_held_only_between_lock_and_unlock(void **state)
{
    (void)state;
    mutex_t m;
    mutex_init(&m);
    ASSERT_NOT_HELD(&m);
    EXPECT_ABORT(tu_run_child(assert_held_fn, &m));
    mutex_lock(&m);
    ASSERT_HELD(&m);
    assert_int_equal(tu_run_child(assert_held_fn, &m), 0); /* the child's main thread is the owner's copy */
    mutex_unlock(&m);
    ASSERT_NOT_HELD(&m);
    EXPECT_ABORT(tu_run_child(assert_held_fn, &m));
    mutex_destroy(&m);
}

static void test_lock_twice_and_false_invariant_abort(void **state)
{
    (void)state;
    mutex_t m;
    mutex_init(&m);
    EXPECT_ABORT(tu_run_child(lock_twice_fn, &m));
    int one = 1, two = 2;
    EXPECT_ABORT(tu_run_child(false_invariant_fn, &one));
    assert_int_equal(tu_run_child(false_invariant_fn, &two), 0);
    mutex_destroy(&m);
}

typedef struct {
    mutex_t mu;
    pthread_cond_t cv;
    int waiting, go, woke_holding;
} waiter_t;

static void *waiter_main(void *arg)
{
    waiter_t *w = arg;
    mutex_lock(&w->mu);
    w->waiting = 1;
    while (!w->go)
        mutex_wait(&w->mu, &w->cv);
#ifdef LSM_TESTING
    w->woke_holding = mutex_held(&w->mu);
#else
    w->woke_holding = 1;
#endif
    mutex_unlock(&w->mu);
    return NULL;
}

/* While one thread waits on a condition, another can take the mutex and is its holder;
 * the waiter holds it again when it wakes. */
static void test_condition_wait_hands_the_mutex_over(void **state)
{
    (void)state;
    waiter_t w = {.go = 0};
    mutex_init(&w.mu);
    pthread_cond_init(&w.cv, NULL);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
    for (int done = 0; !done;) { /* once the waiter sleeps in mutex_wait */
        mutex_lock(&w.mu);
        ASSERT_HELD(&w.mu); /* this thread, not the sleeping waiter, holds it now */
        if (w.waiting) {
            w.go = 1;
            pthread_cond_signal(&w.cv);
            done = 1;
        }
        mutex_unlock(&w.mu);
        if (!done)
            sched_yield();
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(w.woke_holding, 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    mutex_lock(&w.mu);
    assert_int_equal(mutex_timedwait(&w.mu, &w.cv, &ts), ETIMEDOUT);
    ASSERT_HELD(&w.mu);
    mutex_unlock(&w.mu);
    pthread_cond_destroy(&w.cv);
    mutex_destroy(&w.mu);
}

/* The engine's functions documented "mu held" check it: db_maybe_schedule without mu
 * aborts, with mu it runs. */
static void schedule_unlocked_fn(void *db) { db_maybe_schedule(db); }

static void test_engine_checks_db_mutex(void **state)
{
    (void)state;
    char dir[64];
    lsm_options_t *o;
    lsm_t *db = tu_open_fresh(dir, sizeof(dir), "test_mutex", &o);
    EXPECT_ABORT(tu_run_child(schedule_unlocked_fn, db));
    /* with it, in this process (a child could inherit db->mu locked by a background
     * thread of ours): an assertion failure would end the test here */
    mutex_lock(&db->mu);
    db_maybe_schedule(db);
    mutex_unlock(&db->mu);
    lsm_close(db);
    lsm_options_destroy(o);
    tu_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_only_between_lock_and_unlock),
        cmocka_unit_test(test_lock_twice_and_false_invariant_abort),
        cmocka_unit_test(test_condition_wait_hands_the_mutex_over),
        cmocka_unit_test(test_engine_checks_db_mutex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
