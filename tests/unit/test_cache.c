/*
 * test_cache.c - the sharded LRU cache: eviction order, capacity, pinned entries, erase
 * and replace semantics, capacity 0, counters, concurrent use from 4 threads, and the
 * open-addressing table against a model under random insert/replace/erase/lookup (growth
 * and backward-shift deletion must never lose or resurrect an entry).
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

#include "table/cache.h"
#include "util/coding.h"
#include "util/random.h"

/* Deleter log: which values were deleted, in order. Values are small ints cast to
 * pointers; the log is per test (reset in each). */
static int deleted[4096];
static int ndeleted;

static void log_deleter(slice_t key, void *value)
{
    (void)key;
    if (ndeleted < (int)(sizeof(deleted) / sizeof(deleted[0])))
        deleted[ndeleted] = (int)(intptr_t)value;
    ndeleted++;
}

static slice_t ikey(char *buf, int k)
{
    encode_fixed32(buf, (uint32_t)k);
    return slice_make(buf, 4);
}

static cache_handle_t *ins(cache_t *c, int k, int v, size_t charge)
{
    char b[4];
    return cache_insert(c, ikey(b, k), (void *)(intptr_t)v, charge, log_deleter);
}

/* Looks k up and returns its value, or -1. */
static int look(cache_t *c, int k)
{
    char b[4];
    cache_handle_t *h = cache_lookup(c, ikey(b, k));
    if (!h)
        return -1;
    int v = (int)(intptr_t)cache_value(h);
    cache_release(c, h);
    return v;
}

static void test_lru_order(void **state)
{
    (void)state;
    ndeleted = 0;
    cache_t *c = cache_new_sharded(3, 0);
    cache_release(c, ins(c, 1, 101, 1));
    cache_release(c, ins(c, 2, 102, 1));
    cache_release(c, ins(c, 3, 103, 1));
    assert_int_equal(look(c, 1), 101);     /* 1 is now the most recent */
    cache_release(c, ins(c, 4, 104, 1));   /* evicts 2, the least recently used */
    assert_int_equal(ndeleted, 1);
    assert_int_equal(deleted[0], 102);
    assert_int_equal(look(c, 2), -1);
    cache_release(c, ins(c, 5, 105, 1));   /* evicts 3 */
    assert_int_equal(deleted[1], 103);
    assert_int_equal(look(c, 1), 101);
    assert_int_equal(look(c, 4), 104);
    assert_int_equal(look(c, 5), 105);
    assert_int_equal(cache_usage(c), 3);
    /* a heavy insert evicts as many as needed, oldest first: 1 then 4 */
    cache_release(c, ins(c, 6, 106, 2));
    assert_int_equal(ndeleted, 4);
    assert_int_equal(deleted[2], 101);
    assert_int_equal(deleted[3], 104);
    assert_int_equal(look(c, 5), 105);
    cache_destroy(c);
    assert_int_equal(ndeleted, 6);
}

static void test_capacity_sharded(void **state)
{
    (void)state;
    ndeleted = 0;
    cache_t *c = cache_new(1600);          /* 16 shards x 100 */
    rnd_t r;
    rnd_seed(&r, 7);
    for (int i = 0; i < 4000; i++) {
        cache_release(c, ins(c, i, i, 1 + rnd_uniform(&r, 10)));
        assert_true(cache_usage(c) <= 1600);
        if (ndeleted > 3000)
            ndeleted = 0; /* only the count matters here */
    }
    assert_true(cache_usage(c) > 1600 / 2);
    assert_int_equal(cache_pinned_usage(c), 0);
    /* recent entries survive, the oldest are gone */
    assert_int_equal(look(c, 3999), 3999);
    assert_int_equal(look(c, 0), -1);
    cache_prune(c);
    assert_int_equal(cache_usage(c), 0);
    assert_int_equal(cache_entries(c), 0);
    assert_int_equal(look(c, 3999), -1);
    cache_destroy(c);
}

static void test_pinned_never_evicted(void **state)
{
    (void)state;
    ndeleted = 0;
    cache_t *c = cache_new_sharded(2, 0);
    cache_handle_t *p = ins(c, 1, 101, 1);   /* held */
    cache_handle_t *q = ins(c, 2, 102, 1);   /* held */
    assert_int_equal(cache_pinned_usage(c), 2);
    /* over capacity, but everything is pinned: nothing can go */
    cache_handle_t *x = ins(c, 3, 103, 1);
    assert_int_equal(ndeleted, 0);
    assert_int_equal(cache_usage(c), 3);
    cache_release(c, x);                    /* 3 becomes idle */
    for (int i = 10; i < 20; i++)           /* churn: only idle entries are evicted */
        cache_release(c, ins(c, i, 100 + i, 1));
    assert_int_equal((int)(intptr_t)cache_value(p), 101);
    assert_int_equal(look(c, 1), 101);
    assert_int_equal(look(c, 2), 102);
    for (int i = 0; i < ndeleted; i++)
        assert_true(deleted[i] != 101 && deleted[i] != 102);
    /* once released they become evictable, oldest first */
    cache_release(c, p);
    cache_release(c, q);
    assert_int_equal(cache_pinned_usage(c), 0);
    int before = ndeleted;
    cache_release(c, ins(c, 50, 150, 1));
    cache_release(c, ins(c, 51, 151, 1));
    assert_true(ndeleted >= before + 2);
    assert_int_equal(look(c, 1), -1);
    assert_int_equal(look(c, 2), -1);
    assert_true(cache_usage(c) <= 2);
    cache_destroy(c);
}

static void test_erase_and_replace(void **state)
{
    (void)state;
    ndeleted = 0;
    cache_t *c = cache_new(100);
    char b[4];
    cache_handle_t *h = ins(c, 1, 101, 1);
    cache_erase(c, ikey(b, 1));
    assert_int_equal(look(c, 1), -1);        /* gone from the table at once */
    assert_int_equal(ndeleted, 0);           /* but alive while held */
    assert_int_equal((int)(intptr_t)cache_value(h), 101);
    cache_release(c, h);
    assert_int_equal(ndeleted, 1);
    assert_int_equal(deleted[0], 101);
    /* replace: the old value lives until its holder lets go */
    h = ins(c, 2, 201, 1);
    cache_release(c, ins(c, 2, 202, 1));
    assert_int_equal(look(c, 2), 202);
    assert_int_equal(ndeleted, 1);
    assert_int_equal((int)(intptr_t)cache_value(h), 201);
    cache_release(c, h);
    assert_int_equal(ndeleted, 2);
    assert_int_equal(deleted[1], 201);
    assert_int_equal(cache_usage(c), 1);
    cache_erase(c, ikey(b, 2));
    cache_erase(c, ikey(b, 99));            /* absent: no-op */
    assert_int_equal(ndeleted, 3);
    assert_int_equal(cache_usage(c), 0);
    cache_destroy(c);
}

static void test_capacity_zero_and_counters(void **state)
{
    (void)state;
    ndeleted = 0;
    cache_t *c = cache_new(0);
    cache_handle_t *h = ins(c, 1, 101, 10);
    assert_non_null(h);
    assert_int_equal(look(c, 1), -1);
    assert_int_equal(cache_usage(c), 0);
    cache_release(c, h);
    assert_int_equal(ndeleted, 1);
    cache_destroy(c);

    c = cache_new(100);
    cache_release(c, ins(c, 1, 1, 1));
    for (int i = 0; i < 5; i++)
        assert_int_equal(look(c, 1), 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(look(c, 2), -1);
    assert_int_equal(cache_hits(c), 5);
    assert_int_equal(cache_misses(c), 3);
    assert_int_equal(cache_capacity(c), 100);
    /* many keys in one shard force hash-table growth */
    cache_t *one = cache_new_sharded(100000, 0);
    for (int i = 0; i < 5000; i++)
        cache_release(one, ins(one, i, i, 1));
    for (int i = 0; i < 5000; i++)
        assert_int_equal(look(one, i), i);
    assert_int_equal(cache_entries(one), 5000);
    ndeleted = 0;
    cache_destroy(one);
    assert_int_equal(ndeleted, 5000);
    cache_destroy(c);
}

/* ---- concurrency ---- */
typedef struct {
    uint32_t key;
    uint32_t check;        /* key * 2654435761 */
    _Atomic int *live;
} cval_t;

static _Atomic int conc_deletes;

static void cval_deleter(slice_t key, void *value)
{
    cval_t *v = value;
    assert_int_equal(decode_fixed32(key.data), v->key);
    atomic_fetch_sub(v->live, 1);
    atomic_fetch_add(&conc_deletes, 1);
    v->check = 0xdeadbeef;
    free(v);
}

typedef struct {
    cache_t *c;
    int id;
    _Atomic int *live;
    int bad;
} targ_t;

static void *worker(void *arg)
{
    targ_t *a = arg;
    rnd_t r;
    rnd_seed(&r, 1000 + (uint64_t)a->id);
    cache_handle_t *held[8] = {0};
    for (int i = 0; i < 200000; i++) {
        uint32_t k = (uint32_t)rnd_uniform(&r, 2000);
        char kb[4];
        encode_fixed32(kb, k);
        slice_t key = slice_make(kb, 4);
        int op = (int)rnd_uniform(&r, 10);
        int slot = (int)rnd_uniform(&r, 8);
        if (op < 3) {
            cval_t *v = malloc(sizeof(*v));
            v->key = k;
            v->check = k * 2654435761u;
            v->live = a->live;
            atomic_fetch_add(a->live, 1);
            cache_handle_t *h = cache_insert(a->c, key, v, 1 + k % 3, cval_deleter);
            if (held[slot])
                cache_release(a->c, held[slot]);
            held[slot] = h;
        } else if (op < 9) {
            cache_handle_t *h = cache_lookup(a->c, key);
            if (h) {
                cval_t *v = cache_value(h);
                if (v->key != k || v->check != k * 2654435761u)
                    a->bad++;
                if (held[slot])
                    cache_release(a->c, held[slot]);
                held[slot] = h;
            }
        } else {
            cache_erase(a->c, key);
        }
        /* values we hold must stay intact, whatever others do */
        for (int j = 0; j < 8; j++) {
            if (held[j]) {
                cval_t *v = cache_value(held[j]);
                if (v->check != v->key * 2654435761u)
                    a->bad++;
            }
        }
    }
    for (int j = 0; j < 8; j++)
        if (held[j])
            cache_release(a->c, held[j]);
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    _Atomic int live = 0;
    atomic_store(&conc_deletes, 0);
    cache_t *c = cache_new(1500);
    pthread_t th[4];
    targ_t args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (targ_t){c, i, &live, 0};
        pthread_create(&th[i], NULL, worker, &args[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(args[i].bad, 0);
    assert_int_equal(cache_pinned_usage(c), 0);
    assert_true(cache_usage(c) <= 1500 + 16 * 3);
    assert_true(atomic_load(&conc_deletes) > 0);
    cache_destroy(c);
    assert_int_equal(atomic_load(&live), 0);   /* every value deleted exactly once */
}

static void test_table_model(void **state)
{
    (void)state;
    enum { K = 3000, OPS = 60000 };
    int *model = calloc(K, sizeof(int)); /* 0: absent, else the value */
    assert_non_null(model);
    cache_t *c = cache_new_sharded(1u << 30, 0);
    assert_non_null(c);
    ndeleted = 0;
    rnd_t r;
    rnd_seed(&r, 42);
    size_t live = 0;
    char kb[4];
    for (int op = 0; op < OPS; op++) {
        int k = (int)rnd_uniform(&r, K);
        int what = (int)rnd_uniform(&r, 10);
        if (what < 4) {
            int v = op + 1;
            cache_release(c, ins(c, k, v, 1));
            live += model[k] == 0;
            model[k] = v;
        } else if (what < 6) {
            cache_erase(c, ikey(kb, k));
            live -= model[k] != 0;
            model[k] = 0;
        } else {
            cache_handle_t *h = cache_lookup(c, ikey(kb, k));
            if (model[k]) {
                assert_non_null(h);
                assert_int_equal((int)(intptr_t)cache_value(h), model[k]);
                cache_release(c, h);
            } else {
                assert_null(h);
            }
        }
        if (op % 5000 == 0)
            assert_int_equal(cache_entries(c), live);
    }
    assert_int_equal(cache_entries(c), live);
    for (int k = 0; k < K; k++) {
        cache_handle_t *h = cache_lookup(c, ikey(kb, k));
        assert_int_equal(h != NULL, model[k] != 0);
        if (h) {
            assert_int_equal((int)(intptr_t)cache_value(h), model[k]);
            cache_release(c, h);
        }
    }
    cache_destroy(c);
    free(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru_order),
        cmocka_unit_test(test_capacity_sharded),
        cmocka_unit_test(test_pinned_never_evicted),
        cmocka_unit_test(test_erase_and_replace),
        cmocka_unit_test(test_capacity_zero_and_counters),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_table_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
