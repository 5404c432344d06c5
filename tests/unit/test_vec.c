/*
 * test_vec.c - vec_grow, the engine's one growable-array step: the first capacity, the
 * doubling, no reallocation while there is room, and contents kept across growth for
 * element types of different sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "util/vec.h"

static void test_first_capacity_then_doubling(void **state)
{
    (void)state;
    uint64_t *v = NULL;
    int n = 0, cap = 0;
    assert_int_equal(vec_grow(&v, sizeof(*v), n, &cap, 4), 0);
    assert_int_equal(cap, 4);
    assert_non_null(v);
    for (; n < 4; n++) {
        uint64_t *before = v;
        assert_int_equal(vec_grow(&v, sizeof(*v), n, &cap, 4), 0);
        assert_ptr_equal(v, before); /* room left: untouched */
        v[n] = 1000 + (uint64_t)n;
    }
    assert_int_equal(cap, 4);
    assert_int_equal(vec_grow(&v, sizeof(*v), n, &cap, 4), 0);
    assert_int_equal(cap, 8);
    for (int i = 0; i < 4; i++)
        assert_int_equal(v[i], 1000 + (uint64_t)i);
    free(v);
}

static void test_many_pointers_keep_order(void **state)
{
    (void)state;
    static char marks[1000];
    char **v = NULL;
    int n = 0, cap = 0;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(vec_grow(&v, sizeof(*v), n, &cap, 3), 0);
        assert_true(cap > n);
        v[n++] = &marks[i];
    }
    assert_int_equal(cap, 1536); /* 3 doubled nine times */
    for (int i = 0; i < 1000; i++)
        assert_ptr_equal(v[i], &marks[i]);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_capacity_then_doubling),
        cmocka_unit_test(test_many_pointers_keep_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
