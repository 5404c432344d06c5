/*
 * test_skiplist.c - the concurrent skiplist: order, seek / seek_for_prev, prev / next,
 * first / last against a sorted array, and four inserting threads with a concurrent reader.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mem/skiplist.h"
#include "util/coding.h"
#include "util/random.h"

/* Keys are 8-byte big-endian integers, so memcmp order is numeric order. */
static int key_cmp(void *arg, const char *a, const char *b)
{
    int *calls = arg;
    if (calls)
        (*calls)++;
    return memcmp(a, b, 8);
}

static void insert_u64(skiplist_t *sl, uint64_t v)
{
    sl_node_t *node;
    char *k = skiplist_alloc_key(sl, 8, &node);
    assert_non_null(k);
    encode_be64(k, v);
    skiplist_insert(sl, node);
}

static uint64_t iter_u64(const sl_iter_t *it) { return decode_be64(sl_iter_key(it)); }

static int u64_cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static void test_empty(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 4096);
    skiplist_t sl;
    assert_int_equal(skiplist_init(&sl, &a, key_cmp, NULL), 0);
    sl_iter_t it;
    sl_iter_init(&it, &sl);
    assert_false(sl_iter_valid(&it));
    sl_iter_seek_to_first(&it);
    assert_false(sl_iter_valid(&it));
    sl_iter_seek_to_last(&it);
    assert_false(sl_iter_valid(&it));
    char k[8];
    encode_be64(k, 5);
    sl_iter_seek(&it, k);
    assert_false(sl_iter_valid(&it));
    sl_iter_seek_for_prev(&it, k);
    assert_false(sl_iter_valid(&it));
    assert_false(skiplist_contains(&sl, k));
    arena_destroy(&a);
}

static void test_small_order_and_navigation(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 4096);
    skiplist_t sl;
    assert_int_equal(skiplist_init(&sl, &a, key_cmp, NULL), 0);
    uint64_t in[] = {50, 10, 40, 20, 30};
    for (int i = 0; i < 5; i++)
        insert_u64(&sl, in[i]);
    sl_iter_t it;
    sl_iter_init(&it, &sl);
    sl_iter_seek_to_first(&it);
    for (uint64_t want = 10; want <= 50; want += 10) {
        assert_true(sl_iter_valid(&it));
        assert_int_equal(iter_u64(&it), want);
        sl_iter_next(&it);
    }
    assert_false(sl_iter_valid(&it));
    sl_iter_seek_to_last(&it);
    for (uint64_t want = 50; want >= 10; want -= 10) {
        assert_true(sl_iter_valid(&it));
        assert_int_equal(iter_u64(&it), want);
        sl_iter_prev(&it);
    }
    assert_false(sl_iter_valid(&it));

    char k[8];
    struct {
        uint64_t target, ge, le; /* 0: no such key */
    } cases[] = {
        {0, 10, 0}, {9, 10, 0}, {10, 10, 10}, {11, 20, 10}, {35, 40, 30},
        {50, 50, 50}, {51, 0, 50}, {UINT64_MAX, 0, 50},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        encode_be64(k, cases[i].target);
        sl_iter_seek(&it, k);
        if (cases[i].ge) {
            assert_true(sl_iter_valid(&it));
            assert_int_equal(iter_u64(&it), cases[i].ge);
        } else {
            assert_false(sl_iter_valid(&it));
        }
        sl_iter_seek_for_prev(&it, k);
        if (cases[i].le) {
            assert_true(sl_iter_valid(&it));
            assert_int_equal(iter_u64(&it), cases[i].le);
        } else {
            assert_false(sl_iter_valid(&it));
        }
        assert_int_equal(skiplist_contains(&sl, k), cases[i].target % 10 == 0 &&
                                                        cases[i].target >= 10 &&
                                                        cases[i].target <= 50);
    }
    arena_destroy(&a);
}

static void test_random_vs_sorted_array(void **state)
{
    (void)state;
    enum { N = 10000 };
    arena_t a;
    arena_init(&a, 64 * 1024);
    skiplist_t sl;
    int cmps = 0;
    assert_int_equal(skiplist_init(&sl, &a, key_cmp, &cmps), 0);
    uint64_t *keys = malloc(sizeof(uint64_t) * N);
    assert_non_null(keys);
    rnd_t r;
    rnd_seed(&r, 77);
    /* Distinct even keys, so odd targets are always absent. */
    for (int i = 0; i < N; i++)
        keys[i] = (rnd_next(&r) >> 2) << 1;
    qsort(keys, N, sizeof(uint64_t), u64_cmp);
    int n = 0;
    for (int i = 0; i < N; i++)
        if (i == 0 || keys[i] != keys[n - 1])
            keys[n++] = keys[i];
    /* Insert in a shuffled order. */
    uint64_t *order = malloc(sizeof(uint64_t) * (size_t)n);
    memcpy(order, keys, sizeof(uint64_t) * (size_t)n);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rnd_uniform(&r, (uint64_t)i + 1);
        uint64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int i = 0; i < n; i++)
        insert_u64(&sl, order[i]);
    free(order);

    sl_iter_t it;
    sl_iter_init(&it, &sl);
    int i = 0;
    for (sl_iter_seek_to_first(&it); sl_iter_valid(&it); sl_iter_next(&it), i++) {
        assert_true(i < n);
        assert_int_equal(iter_u64(&it), keys[i]);
    }
    assert_int_equal(i, n);
    i = n - 1;
    for (sl_iter_seek_to_last(&it); sl_iter_valid(&it); sl_iter_prev(&it), i--) {
        assert_true(i >= 0);
        assert_int_equal(iter_u64(&it), keys[i]);
    }
    assert_int_equal(i, -1);

    /* Seeks: present keys, absent neighbours, and the extremes. */
    char k[8];
    for (int q = 0; q < 20000; q++) {
        uint64_t target;
        int idx = (int)rnd_uniform(&r, (uint64_t)n);
        switch (q % 4) {
        case 0: target = keys[idx]; break;
        case 1: target = keys[idx] + 1; break;
        case 2: target = keys[idx] - 1; break;
        default: target = rnd_next(&r); break;
        }
        if (q == 0)
            target = 0;
        if (q == 1)
            target = UINT64_MAX;
        /* lo = first index with keys[lo] >= target. */
        int lo = 0, hi = n;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (keys[mid] < target)
                lo = mid + 1;
            else
                hi = mid;
        }
        encode_be64(k, target);
        sl_iter_seek(&it, k);
        if (lo < n) {
            assert_true(sl_iter_valid(&it));
            assert_int_equal(iter_u64(&it), keys[lo]);
        } else {
            assert_false(sl_iter_valid(&it));
        }
        int le = (lo < n && keys[lo] == target) ? lo : lo - 1;
        sl_iter_seek_for_prev(&it, k);
        if (le >= 0) {
            assert_true(sl_iter_valid(&it));
            assert_int_equal(iter_u64(&it), keys[le]);
            /* prev / next from a seek position. */
            sl_iter_next(&it);
            if (le + 1 < n)
                assert_int_equal(iter_u64(&it), keys[le + 1]);
            else
                assert_false(sl_iter_valid(&it));
        } else {
            assert_false(sl_iter_valid(&it));
        }
        assert_int_equal(skiplist_contains(&sl, k), lo < n && keys[lo] == target);
    }
    /* Searching is logarithmic: 20000 * 3 searches over 10k keys take far fewer
     * comparisons than a linear scan would (~1.5e8). */
    assert_true(cmps < 20000 * 3 * 200);
    free(keys);
    arena_destroy(&a);
}

/* ---- concurrency ---- */

#define WRITERS 4
#define PER_WRITER 25000

typedef struct {
    skiplist_t *sl;
    int id;
    atomic_int *done;
} writer_arg_t;

static void *writer_main(void *p)
{
    writer_arg_t *w = p;
    /* Thread t inserts keys k with k % WRITERS == t, in a scrambled order, so threads keep
     * landing next to each other's keys. */
    for (uint64_t i = 0; i < PER_WRITER; i++) {
        uint64_t j = (i * 7919) % PER_WRITER;
        sl_node_t *node;
        char *k = skiplist_alloc_key(w->sl, 8, &node);
        if (!k)
            break;
        encode_be64(k, j * WRITERS + (uint64_t)w->id);
        skiplist_insert(w->sl, node);
    }
    atomic_fetch_add(w->done, 1);
    return NULL;
}

typedef struct {
    skiplist_t *sl;
    atomic_int *done;
    int passes;
    int bad;         /* order violations seen */
    int shrank;      /* a later pass saw fewer keys than an earlier one */
} reader_arg_t;

static void *reader_main(void *p)
{
    reader_arg_t *r = p;
    size_t last_count = 0;
    sl_iter_t it;
    sl_iter_init(&it, r->sl);
    for (;;) {
        int finished = atomic_load(r->done) == WRITERS;
        size_t count = 0;
        uint64_t prev = 0;
        for (sl_iter_seek_to_first(&it); sl_iter_valid(&it); sl_iter_next(&it)) {
            uint64_t v = iter_u64(&it);
            if (count > 0 && v <= prev)
                r->bad++;
            prev = v;
            count++;
        }
        if (count < last_count)
            r->shrank++;
        last_count = count;
        /* Point lookups of keys seen must keep succeeding. */
        char k[8];
        encode_be64(k, prev);
        if (count && !skiplist_contains(r->sl, k))
            r->bad++;
        r->passes++;
        if (finished)
            break;
    }
    return NULL;
}

static void test_concurrent_inserts_with_reader(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 64 * 1024);
    skiplist_t sl;
    assert_int_equal(skiplist_init(&sl, &a, key_cmp, NULL), 0);
    atomic_int done;
    atomic_init(&done, 0);
    pthread_t wt[WRITERS], rt;
    writer_arg_t wa[WRITERS];
    reader_arg_t ra = {&sl, &done, 0, 0, 0};
    assert_int_equal(pthread_create(&rt, NULL, reader_main, &ra), 0);
    for (int t = 0; t < WRITERS; t++) {
        wa[t] = (writer_arg_t){&sl, t, &done};
        assert_int_equal(pthread_create(&wt[t], NULL, writer_main, &wa[t]), 0);
    }
    for (int t = 0; t < WRITERS; t++)
        pthread_join(wt[t], NULL);
    pthread_join(rt, NULL);
    assert_int_equal(ra.bad, 0);
    assert_int_equal(ra.shrank, 0);
    assert_true(ra.passes >= 1);

    /* Every key exactly once, in order, reachable both ways. */
    sl_iter_t it;
    sl_iter_init(&it, &sl);
    uint64_t want = 0;
    for (sl_iter_seek_to_first(&it); sl_iter_valid(&it); sl_iter_next(&it), want++)
        if (iter_u64(&it) != want)
            fail_msg("position %llu holds %llu", (unsigned long long)want,
                     (unsigned long long)iter_u64(&it));
    assert_int_equal(want, (uint64_t)WRITERS * PER_WRITER);
    char k[8];
    for (uint64_t v = 0; v < (uint64_t)WRITERS * PER_WRITER; v += 97) {
        encode_be64(k, v);
        sl_iter_seek(&it, k);
        assert_true(sl_iter_valid(&it));
        assert_int_equal(iter_u64(&it), v);
        if (v > 0) {
            sl_iter_prev(&it);
            assert_int_equal(iter_u64(&it), v - 1);
        }
    }
    arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_small_order_and_navigation),
        cmocka_unit_test(test_random_vs_sorted_array),
        cmocka_unit_test(test_concurrent_inserts_with_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
