/*
 * test_range_del.c - fragmented range tombstones: overlapping ranges against a brute-force
 * model at every snapshot, exclusive ends, and a walk that reproduces the same coverage.
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

#include <cmocka.h>

#include "mem/range_del.h"
#include "util/random.h"

/* Key space: every string over {a, b, c} of length 0..4 (121 keys, prefixes included). */
#define MAXK 121
static char keyspace[MAXK][5];
static size_t keylen[MAXK];
static int nkeys;

static void gen_keys(char *prefix, size_t len)
{
    memcpy(keyspace[nkeys], prefix, len);
    keylen[nkeys++] = len;
    if (len == 4)
        return;
    for (char c = 'a'; c <= 'c'; c++) {
        prefix[len] = c;
        gen_keys(prefix, len + 1);
    }
}

static int key_order(const void *x, const void *y)
{
    int i = *(const int *)x, j = *(const int *)y;
    return slice_compare(slice_make(keyspace[i], keylen[i]), slice_make(keyspace[j], keylen[j]));
}

static slice_t key(int i) { return slice_make(keyspace[i], keylen[i]); }

static int setup_keys(void **state)
{
    (void)state;
    if (nkeys == 0) {
        char p[5];
        gen_keys(p, 0);
    }
    return 0;
}

typedef struct {
    slice_t start, end;
    uint64_t seq;
} model_t;

static uint64_t model_cover(const model_t *m, int n, slice_t k, uint64_t snap)
{
    uint64_t best = 0;
    for (int i = 0; i < n; i++)
        if (m[i].seq <= snap && m[i].seq > best && slice_compare(m[i].start, k) <= 0 &&
            slice_compare(k, m[i].end) < 0)
            best = m[i].seq;
    return best;
}

static void test_empty(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 4096);
    range_del_t rd;
    assert_int_equal(range_del_init(&rd, &a), 0);
    assert_int_equal(range_del_count(&rd), 0);
    assert_int_equal(range_del_max_covering(&rd, slice_str("x"), UINT64_MAX), 0);
    /* Empty and inverted ranges are ignored. */
    assert_int_equal(range_del_add(&rd, 5, slice_str("b"), slice_str("b")), 0);
    assert_int_equal(range_del_add(&rd, 6, slice_str("c"), slice_str("a")), 0);
    assert_int_equal(range_del_count(&rd), 0);
    assert_int_equal(range_del_max_covering(&rd, slice_str("b"), UINT64_MAX), 0);
    range_del_destroy(&rd);
    arena_destroy(&a);
}

static void test_single_and_bounds(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 4096);
    range_del_t rd;
    assert_int_equal(range_del_init(&rd, &a), 0);
    /* The caller's buffers may be reused right after add. */
    char s[4] = "b", e[4] = "d";
    assert_int_equal(range_del_add(&rd, 5, slice_make(s, 1), slice_make(e, 1)), 0);
    s[0] = 'z';
    e[0] = 'z';
    assert_int_equal(range_del_count(&rd), 1);
    assert_int_equal(range_del_max_covering(&rd, slice_str("a"), 100), 0);
    assert_int_equal(range_del_max_covering(&rd, slice_str("b"), 100), 5);
    assert_int_equal(range_del_max_covering(&rd, slice_make("b\0", 2), 100), 5);
    assert_int_equal(range_del_max_covering(&rd, slice_str("cz"), 100), 5);
    assert_int_equal(range_del_max_covering(&rd, slice_str("d"), 100), 0); /* end exclusive */
    assert_int_equal(range_del_max_covering(&rd, slice_str("da"), 100), 0);
    assert_int_equal(range_del_max_covering(&rd, slice_str("c"), 5), 5);
    assert_int_equal(range_del_max_covering(&rd, slice_str("c"), 4), 0); /* invisible */
    /* The empty key as a start covers everything below the end. */
    assert_int_equal(range_del_add(&rd, 9, slice_make("", 0), slice_str("a")), 0);
    assert_int_equal(range_del_max_covering(&rd, slice_make("", 0), 100), 9);
    assert_int_equal(range_del_max_covering(&rd, slice_str("\x01"), 100), 9);
    assert_int_equal(range_del_max_covering(&rd, slice_str("a"), 100), 0);
    range_del_destroy(&rd);
    arena_destroy(&a);
}

static void test_overlaps_at_snapshots(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 4096);
    range_del_t rd;
    assert_int_equal(range_del_init(&rd, &a), 0);
    /* [b, f)@10, [d, h)@20, [a, c)@5, [e, e2)@30, [a, z)@1, [d, h)@15 (same range again) */
    model_t m[] = {
        {slice_str("b"), slice_str("f"), 10}, {slice_str("d"), slice_str("h"), 20},
        {slice_str("a"), slice_str("c"), 5},  {slice_str("e"), slice_str("e2"), 30},
        {slice_str("a"), slice_str("z"), 1},  {slice_str("d"), slice_str("h"), 15},
    };
    int n = (int)(sizeof(m) / sizeof(m[0]));
    for (int i = 0; i < n; i++)
        assert_int_equal(range_del_add(&rd, m[i].seq, m[i].start, m[i].end), 0);
    assert_int_equal(range_del_count(&rd), (uint64_t)n);
    const char *probes[] = {"", "a", "a0", "b", "bz", "c", "d", "e", "e1", "e2", "e3",
                            "f", "g", "h", "y", "z", "zz"};
    uint64_t snaps[] = {0, 1, 4, 5, 9, 10, 14, 15, 19, 20, 29, 30, UINT64_MAX};
    for (size_t p = 0; p < sizeof(probes) / sizeof(probes[0]); p++)
        for (size_t s = 0; s < sizeof(snaps) / sizeof(snaps[0]); s++) {
            uint64_t want = model_cover(m, n, slice_str(probes[p]), snaps[s]);
            uint64_t got = range_del_max_covering(&rd, slice_str(probes[p]), snaps[s]);
            if (got != want)
                fail_msg("key \"%s\" snapshot %llu: %llu, expected %llu", probes[p],
                         (unsigned long long)snaps[s], (unsigned long long)got,
                         (unsigned long long)want);
        }
    /* Spot checks of the above, spelled out. */
    assert_int_equal(range_del_max_covering(&rd, slice_str("e1"), UINT64_MAX), 30);
    assert_int_equal(range_del_max_covering(&rd, slice_str("e1"), 29), 20);
    assert_int_equal(range_del_max_covering(&rd, slice_str("e1"), 19), 15);
    assert_int_equal(range_del_max_covering(&rd, slice_str("g"), 14), 1);
    assert_int_equal(range_del_max_covering(&rd, slice_str("h"), 100), 1);
    range_del_destroy(&rd);
    arena_destroy(&a);
}

typedef struct {
    range_del_t *dst;
    int frags;
    int calls;
    int stop_after;
    slice_t last_start, last_end;
    uint64_t last_seq;
    int order_bad;
} walk_t;

static int walk_fn(void *arg, slice_t start, slice_t end, uint64_t seq)
{
    walk_t *w = arg;
    w->calls++;
    if (slice_compare(start, end) >= 0)
        w->order_bad++;
    if (w->calls > 1) {
        int same = slice_equal(start, w->last_start);
        if (same) {
            /* Same fragment: same end, strictly descending sequences. */
            if (!slice_equal(end, w->last_end) || seq >= w->last_seq)
                w->order_bad++;
        } else if (slice_compare(start, w->last_end) < 0) {
            w->order_bad++; /* fragments overlap or are out of order */
        }
        if (!same)
            w->frags++;
    } else {
        w->frags = 1;
    }
    w->last_start = start;
    w->last_end = end;
    w->last_seq = seq;
    if (w->dst && range_del_add(w->dst, seq, start, end) != 0)
        w->order_bad++;
    return w->stop_after && w->calls >= w->stop_after;
}

static void test_random_model_and_walk(void **state)
{
    (void)state;
    int order[MAXK];
    for (int i = 0; i < nkeys; i++)
        order[i] = i;
    qsort(order, (size_t)nkeys, sizeof(int), key_order);
    rnd_t r;
    rnd_seed(&r, 4242);
    for (int round = 0; round < 30; round++) {
        arena_t a, a2;
        arena_init(&a, 4096);
        arena_init(&a2, 4096);
        range_del_t rd, copy;
        assert_int_equal(range_del_init(&rd, &a), 0);
        assert_int_equal(range_del_init(&copy, &a2), 0);
        enum { MAXR = 60 };
        model_t m[MAXR];
        int n = 1 + (int)rnd_uniform(&r, MAXR);
        for (int i = 0; i < n; i++) {
            int x = (int)rnd_uniform(&r, (uint64_t)nkeys), y = (int)rnd_uniform(&r, (uint64_t)nkeys);
            if (x == y)
                y = (y + 1) % nkeys;
            int lo = x < y ? x : y, hi = x < y ? y : x;
            /* Sequences in random order (recovery and parallel writers add out of order),
             * occasionally repeating a range. */
            m[i].start = key(order[lo]);
            m[i].end = key(order[hi]);
            if (i > 0 && rnd_one_in(&r, 8)) {
                m[i].start = m[i - 1].start;
                m[i].end = m[i - 1].end;
            }
            m[i].seq = 1 + (uint64_t)i * 3 + rnd_uniform(&r, 3);
            int k = (int)rnd_uniform(&r, (uint64_t)i + 1);
            uint64_t t = m[i].seq;
            m[i].seq = m[k].seq;
            m[k].seq = t;
        }
        for (int i = 0; i < n; i++)
            assert_int_equal(range_del_add(&rd, m[i].seq, m[i].start, m[i].end), 0);

        for (int p = 0; p < nkeys; p++) {
            for (uint64_t snap = 0; snap <= (uint64_t)n * 3 + 3; snap += 1 + rnd_uniform(&r, 4)) {
                uint64_t want = model_cover(m, n, key(p), snap);
                uint64_t got = range_del_max_covering(&rd, key(p), snap);
                if (got != want)
                    fail_msg("round %d key \"%.*s\" snapshot %llu: %llu, expected %llu", round,
                             (int)keylen[p], keyspace[p], (unsigned long long)snap,
                             (unsigned long long)got, (unsigned long long)want);
            }
        }

        /* Walk into a fresh set; coverage must match at every key and snapshot. */
        walk_t w = {&copy, 0, 0, 0, {0}, {0}, 0, 0};
        range_del_walk(&rd, walk_fn, &w);
        assert_int_equal(w.order_bad, 0);
        assert_true(w.calls >= n); /* every tombstone reaches at least one fragment */
        for (int p = 0; p < nkeys; p++)
            for (uint64_t snap = 0; snap <= (uint64_t)n * 3 + 3; snap++)
                if (range_del_max_covering(&copy, key(p), snap) !=
                    range_del_max_covering(&rd, key(p), snap))
                    fail_msg("round %d: walked copy differs at \"%.*s\" snapshot %llu", round,
                             (int)keylen[p], keyspace[p], (unsigned long long)snap);
        /* Walking the copy gives the same fragments: the set is already fragmented. */
        walk_t w2 = {NULL, 0, 0, 0, {0}, {0}, 0, 0};
        range_del_walk(&copy, walk_fn, &w2);
        assert_int_equal(w2.calls, w.calls);
        assert_int_equal(w2.frags, w.frags);

        /* A walk stops when asked. */
        walk_t w3 = {NULL, 0, 0, 1, {0}, {0}, 0, 0};
        range_del_walk(&rd, walk_fn, &w3);
        assert_int_equal(w3.calls, 1);

        range_del_destroy(&rd);
        range_del_destroy(&copy);
        arena_destroy(&a);
        arena_destroy(&a2);
    }
}

/* One thread adds while others look up: lookups only ever see whole tombstones. */
typedef struct {
    range_del_t *rd;
    atomic_int stop;
    int bad;
} conc_t;

static void *lookup_main(void *p)
{
    conc_t *c = p;
    while (!atomic_load(&c->stop)) {
        /* Tombstone i covers [k(i), k(i+1)) where k is a 6-digit key; seq i + 1. */
        for (int i = 0; i < 1000; i += 7) {
            char k[16];
            snprintf(k, sizeof(k), "%06d5", i);
            uint64_t got = range_del_max_covering(c->rd, slice_str(k), UINT64_MAX);
            if (got != 0 && got != (uint64_t)i + 1 && got != 5000)
                c->bad++;
        }
    }
    return NULL;
}

static void test_concurrent_lookups(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 4096);
    range_del_t rd;
    assert_int_equal(range_del_init(&rd, &a), 0);
    conc_t c = {.rd = &rd, .bad = 0};
    atomic_init(&c.stop, 0);
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&th[t], NULL, lookup_main, &c), 0);
    for (int i = 0; i < 1000; i++) {
        char s[16], e[16];
        snprintf(s, sizeof(s), "%06d", i);
        snprintf(e, sizeof(e), "%06d", i + 1);
        assert_int_equal(range_del_add(&rd, (uint64_t)i + 1, slice_str(s), slice_str(e)), 0);
        if (i == 500) /* one wide tombstone splitting many fragments */
            assert_int_equal(range_del_add(&rd, 5000, slice_str("000100"), slice_str("000400")), 0);
    }
    atomic_store(&c.stop, 1);
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(c.bad, 0);
    assert_int_equal(range_del_max_covering(&rd, slice_str("0002005"), UINT64_MAX), 5000);
    assert_int_equal(range_del_max_covering(&rd, slice_str("0002005"), 4999), 201);
    assert_int_equal(range_del_max_covering(&rd, slice_str("0007005"), UINT64_MAX), 701);
    range_del_destroy(&rd);
    arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_single_and_bounds),
        cmocka_unit_test(test_overlaps_at_snapshots),
        cmocka_unit_test(test_random_model_and_walk),
        cmocka_unit_test(test_concurrent_lookups),
    };
    return cmocka_run_group_tests(tests, setup_keys, NULL);
}
