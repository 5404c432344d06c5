/*
 * test_fsck_itab.c - fsck.lsmfs's inode table (fsck/itab.c): ordered appends, lookups by
 * interpolation + bisection on dense, sparse and extreme numbers (checked against a
 * brute-force search), inserts below existing numbers, removed inodes.
 *
 * fsck/ is not part of liblsm, so the module is compiled into this test directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../fsck/itab.c"

static void test_empty(void **state)
{
    (void)state;
    fsck_itab_t t;
    itab_init(&t);
    assert_null(itab_find(&t, 0));
    assert_null(itab_find(&t, 1));
    assert_null(itab_find(&t, UINT64_MAX));
    itab_free(&t);
}

static void test_append_order(void **state)
{
    (void)state;
    fsck_itab_t t;
    itab_init(&t);
    assert_non_null(itab_append(&t, 5));
    assert_null(itab_append(&t, 5));   /* duplicate */
    assert_null(itab_append(&t, 4));   /* out of order */
    fsck_inode_t *r = itab_append(&t, 9);
    assert_non_null(r);
    assert_int_equal(r->nlink, 0);     /* zeroed */
    r->nlink = 3;
    assert_int_equal(t.n, 2);
    assert_int_equal(itab_find(&t, 9)->nlink, 3);
    assert_int_equal(itab_ino_of(&t, itab_find(&t, 9)), 9);
    assert_null(itab_find(&t, 6));
    assert_null(itab_find(&t, 10));
    assert_null(itab_find(&t, 1));
    itab_free(&t);
}

static fsck_inode_t *brute(const fsck_itab_t *t, uint64_t ino)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ino[i] == ino)
            return &t->in[i];
    return NULL;
}

/* Random gaps of several scales: every present number found at its own slot, and every
 * number near one (and far away) agrees with a linear search. */
static void test_find_matches_brute_force(void **state)
{
    (void)state;
    static const uint64_t gaps[] = {1, 2, 17, 1000, 1u << 30};
    srand(7);
    for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
        fsck_itab_t t;
        itab_init(&t);
        uint64_t ino = 1 + (uint64_t)(rand() % 5);
        for (int i = 0; i < 3000; i++) {
            fsck_inode_t *r = itab_append(&t, ino);
            assert_non_null(r);
            r->size = ino * 3;
            ino += 1 + (uint64_t)rand() % gaps[g];
            if (rand() % 50 == 0)
                ino += gaps[g] * 100;  /* a hole: breaks the interpolation */
        }
        for (size_t i = 0; i < t.n; i++) {
            fsck_inode_t *r = itab_find(&t, t.ino[i]);
            assert_ptr_equal(r, &t.in[i]);
            assert_int_equal(r->size, t.ino[i] * 3);
            for (int d = -2; d <= 2; d++) {
                uint64_t q = t.ino[i] + (uint64_t)(int64_t)d;
                assert_ptr_equal(itab_find(&t, q), brute(&t, q));
            }
        }
        assert_null(itab_find(&t, 0));
        assert_null(itab_find(&t, UINT64_MAX));
        itab_free(&t);
    }
}

static void test_extreme_numbers(void **state)
{
    (void)state;
    fsck_itab_t t;
    itab_init(&t);
    const uint64_t v[] = {1, 2, 1000000, UINT64_MAX / 2, UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < 6; i++)
        assert_non_null(itab_append(&t, v[i]));
    for (size_t i = 0; i < 6; i++)
        assert_ptr_equal(itab_find(&t, v[i]), &t.in[i]);
    assert_null(itab_find(&t, UINT64_MAX - 2));
    assert_null(itab_find(&t, 3));
    assert_null(itab_find(&t, UINT64_MAX / 2 + 1));
    itab_free(&t);
}

static void test_insert_below(void **state)
{
    (void)state;
    fsck_itab_t t;
    itab_init(&t);
    for (uint64_t i = 10; i < 2010; i++)
        itab_append(&t, i)->nlink = (uint32_t)i;
    fsck_inode_t *r = itab_insert(&t, 1);     /* a new root below everything */
    assert_non_null(r);
    r->nlink = 77;
    assert_null(itab_insert(&t, 1));          /* present */
    assert_null(itab_insert(&t, 500));
    assert_non_null(itab_insert(&t, 5000));   /* above: same as append */
    assert_non_null(itab_insert(&t, 5));
    assert_int_equal(t.n, 2003);
    for (size_t i = 1; i < t.n; i++)
        assert_true(t.ino[i - 1] < t.ino[i]);
    assert_int_equal(itab_find(&t, 1)->nlink, 77);
    assert_int_equal(itab_find(&t, 10)->nlink, 10);
    assert_int_equal(itab_find(&t, 2009)->nlink, 2009);
    assert_int_equal(itab_find(&t, 5)->nlink, 0);
    itab_free(&t);
}

static void test_live_skips_removed(void **state)
{
    (void)state;
    fsck_itab_t t;
    itab_init(&t);
    itab_append(&t, 1);
    itab_append(&t, 2)->flags = IT_REMOVED | IT_ORPHAN;
    assert_non_null(itab_find(&t, 2));
    assert_null(itab_live(&t, 2));
    assert_non_null(itab_live(&t, 1));
    assert_null(itab_live(&t, 3));
    itab_free(&t);
}

static void test_reserve_and_growth(void **state)
{
    (void)state;
    fsck_itab_t t;
    itab_init(&t);
    assert_int_equal(itab_reserve(&t, 10), 0);
    assert_true(t.cap >= 10);
    assert_int_equal(itab_reserve(&t, SIZE_MAX / 2), -ENOMEM);  /* refused, table intact */
    for (uint64_t i = 1; i <= 100000; i++)
        assert_non_null(itab_append(&t, i * 2));
    assert_int_equal(t.n, 100000);
    assert_non_null(itab_find(&t, 200000));
    assert_null(itab_find(&t, 199999));
    assert_true(sizeof(fsck_inode_t) <= 40);  /* the per-inode cost docs/FSCK.md states */
    itab_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_append_order),
        cmocka_unit_test(test_find_matches_brute_force),
        cmocka_unit_test(test_extreme_numbers),
        cmocka_unit_test(test_insert_below),
        cmocka_unit_test(test_live_skips_removed),
        cmocka_unit_test(test_reserve_and_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
