/*
 * test_fs_ilock.c - the daemon's inode locks (fs/inode_table.c) in test builds: a thread
 * holds exactly the stripes it locked (alone or as a set) until it unlocks them, another
 * thread holds none of them, and FS_ASSERT_ILOCKED on an unlocked inode or a second lock of
 * a held stripe abort (checked in a forked child) instead of passing or deadlocking.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../../fs/inode_table.c"
#include "testutil.h"

#ifdef LSM_TESTING

typedef struct {
    fs_itab_t *t;
    uint64_t ino;
} target_t;

static void assert_locked_fn(void *arg)
{
    target_t *x = arg;
    FS_ASSERT_ILOCKED(x->t, x->ino);
}
static void lock_again_fn(void *arg)
{
    target_t *x = arg;
    fs_ilock(x->t, x->ino);
}

/* Two inode numbers on different stripes. */
static void two_stripes(uint64_t *a, uint64_t *b)
{
    *a = 2;
    *b = 3;
    while (stripe_of(*b) == stripe_of(*a))
        (*b)++;
}

static void test_held_between_lock_and_unlock(void **state)
{
    (void)state;
    fs_itab_t *t = fs_itab_create();
    assert_non_null(t);
    uint64_t a, b;
    two_stripes(&a, &b);
    target_t ta = {t, a};
    assert_false(fs_ilock_held(t, a));
    assert_int_equal(tu_run_child(assert_locked_fn, &ta), SIGABRT);
    fs_ilock(t, a);
    assert_true(fs_ilock_held(t, a));
    assert_false(fs_ilock_held(t, b));
    assert_int_equal(tu_run_child(assert_locked_fn, &ta), 0);
    assert_int_equal(tu_run_child(lock_again_fn, &ta), SIGABRT);
    fs_iunlock(t, a);
    assert_false(fs_ilock_held(t, a));

    uint64_t set[3] = {b, 0, a};
    fs_lockset_t ls;
    fs_ilock_set(t, set, 3, &ls);
    assert_true(fs_ilock_held(t, a));
    assert_true(fs_ilock_held(t, b));
    fs_iunlock_set(t, &ls);
    assert_false(fs_ilock_held(t, a));
    assert_false(fs_ilock_held(t, b));
    fs_itab_destroy(t);
}

typedef struct {
    fs_itab_t *t;
    uint64_t ino;
    int held;
} probe_t;

static void *probe_main(void *arg)
{
    probe_t *p = arg;
    p->held = fs_ilock_held(p->t, p->ino);
    return NULL;
}

static void test_other_thread_holds_nothing(void **state)
{
    (void)state;
    fs_itab_t *t = fs_itab_create();
    assert_non_null(t);
    fs_ilock(t, 7);
    probe_t p = {t, 7, -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, probe_main, &p), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(p.held, 0);
    assert_true(fs_ilock_held(t, 7));
    fs_iunlock(t, 7);
    fs_itab_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_between_lock_and_unlock),
        cmocka_unit_test(test_other_thread_holds_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void)
{
    fprintf(stderr, "test_fs_ilock: SKIPPED: lock assertions exist only in test builds "
                    "(-DLSM_TESTING)\n");
    return 77;
}

#endif
