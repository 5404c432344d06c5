/*
 * test_arena.c - the concurrent bump allocator: alignment, large requests, usage
 * accounting, four threads allocating at once without any overlap, and huge-page arenas
 * (2 MiB blocks: same guarantees, usage in whole 2 MiB steps).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/arena.h"
#include "util/random.h"

static void test_alignment_and_contents(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 4096);
    assert_int_equal(arena_memory_usage(&a), 0);
    rnd_t r;
    rnd_seed(&r, 1);
    enum { N = 5000 };
    unsigned char *ptrs[N];
    size_t sizes[N];
    for (int i = 0; i < N; i++) {
        sizes[i] = i % 10 == 0 ? 0 : 1 + rnd_uniform(&r, 200);
        ptrs[i] = arena_alloc(&a, sizes[i]);
        assert_non_null(ptrs[i]);
        assert_int_equal((uintptr_t)ptrs[i] % 8, 0);
        memset(ptrs[i], i & 0xff, sizes[i]);
    }
    /* Nothing was overwritten by a later allocation. */
    for (int i = 0; i < N; i++)
        for (size_t j = 0; j < sizes[i]; j++)
            if (ptrs[i][j] != (unsigned char)(i & 0xff))
                fail_msg("allocation %d byte %zu overwritten", i, j);
    /* Zero-byte requests still get distinct pointers. */
    void *z1 = arena_alloc(&a, 0), *z2 = arena_alloc(&a, 0);
    assert_non_null(z1);
    assert_non_null(z2);
    assert_ptr_not_equal(z1, z2);
    arena_destroy(&a);
}

static void test_block_size_clamped(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 1);
    assert_int_equal(a.block_size, 4096);
    arena_destroy(&a);
    arena_init(&a, 1u << 30);
    assert_int_equal(a.block_size, 4u << 20);
    arena_destroy(&a);
}

static void test_usage_accounting(void **state)
{
    (void)state;
    const size_t B = 8192;
    arena_t a;
    arena_init(&a, B);
    arena_alloc(&a, 16);
    size_t one = arena_memory_usage(&a);
    /* One whole block (plus its small header) is held after the first allocation. */
    assert_true(one >= B);
    assert_true(one < B + 128);
    /* Filling the first block does not take another... */
    size_t used = 16;
    while (used + 64 <= B) {
        assert_non_null(arena_alloc(&a, 64));
        used += 64;
    }
    assert_int_equal(arena_memory_usage(&a), one);
    /* ...overflowing it does. */
    arena_alloc(&a, 128);
    assert_int_equal(arena_memory_usage(&a), 2 * one);
    arena_destroy(&a);
}

static void test_large_allocations(void **state)
{
    (void)state;
    const size_t B = 8192;
    arena_t a;
    arena_init(&a, B);
    char *small1 = arena_alloc(&a, 100);
    assert_non_null(small1);
    size_t one = arena_memory_usage(&a);

    /* A request above a quarter block gets its own block, sized to fit. */
    size_t big = 1u << 20;
    char *p = arena_alloc(&a, big);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 8, 0);
    memset(p, 0xab, big);
    size_t after_big = arena_memory_usage(&a);
    assert_true(after_big >= one + big);
    assert_true(after_big < one + big + 128);

    /* The current block was not given up: the next small request still comes from it. */
    char *small2 = arena_alloc(&a, 100);
    assert_non_null(small2);
    assert_int_equal(arena_memory_usage(&a), after_big);
    assert_true(small2 > small1 && small2 < small1 + B);

    /* Sizes just under, at and over the quarter-block threshold. */
    for (size_t n = B / 4 - 8; n <= B / 4 + 8; n++) {
        char *q = arena_alloc(&a, n);
        assert_non_null(q);
        memset(q, 1, n);
    }
    for (size_t i = 0; i < big; i++)
        if ((unsigned char)p[i] != 0xab)
            fail_msg("large allocation overwritten at %zu", i);

    /* An impossible request fails instead of wrapping around to a tiny one. */
    assert_null(arena_alloc(&a, SIZE_MAX));
    assert_null(arena_alloc(&a, SIZE_MAX - 3));
    arena_destroy(&a);
}

#define THREADS 4
#define PER_THREAD 20000

typedef struct {
    arena_t *a;
    int id;
    char *ptrs[PER_THREAD];
    size_t sizes[PER_THREAD];
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    rnd_t r;
    rnd_seed(&r, (uint64_t)w->id + 100);
    for (int i = 0; i < PER_THREAD; i++) {
        size_t n = rnd_one_in(&r, 500) ? 3000 + rnd_uniform(&r, 5000) : 1 + rnd_uniform(&r, 100);
        char *p = arena_alloc(w->a, n);
        if (!p)
            return NULL;
        memset(p, w->id + 1, n);
        w->ptrs[i] = p;
        w->sizes[i] = n;
    }
    return NULL;
}

typedef struct {
    uintptr_t lo, hi;
    int owner;
} span_t;

static int span_cmp(const void *x, const void *y)
{
    const span_t *a = x, *b = y;
    return a->lo < b->lo ? -1 : a->lo > b->lo;
}

static void test_concurrent_no_overlap(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 4096);
    static worker_t w[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t].a = &a;
        w[t].id = t;
        memset(w[t].ptrs, 0, sizeof(w[t].ptrs));
        assert_int_equal(pthread_create(&th[t], NULL, worker, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);

    size_t total = 0;
    span_t *spans = malloc(sizeof(span_t) * THREADS * PER_THREAD);
    assert_non_null(spans);
    size_t n = 0;
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < PER_THREAD; i++) {
            assert_non_null(w[t].ptrs[i]);
            assert_int_equal((uintptr_t)w[t].ptrs[i] % 8, 0);
            /* Each thread's bytes are still its own. */
            for (size_t j = 0; j < w[t].sizes[i]; j++)
                if (w[t].ptrs[i][j] != (char)(t + 1))
                    fail_msg("thread %d allocation %d overwritten at %zu", t, i, j);
            spans[n].lo = (uintptr_t)w[t].ptrs[i];
            spans[n].hi = spans[n].lo + w[t].sizes[i];
            spans[n].owner = t;
            n++;
            total += w[t].sizes[i];
        }
    }
    qsort(spans, n, sizeof(span_t), span_cmp);
    for (size_t i = 1; i < n; i++)
        if (spans[i].lo < spans[i - 1].hi)
            fail_msg("allocations overlap: [%#lx,%#lx) and [%#lx,%#lx)",
                     (unsigned long)spans[i - 1].lo, (unsigned long)spans[i - 1].hi,
                     (unsigned long)spans[i].lo, (unsigned long)spans[i].hi);
    assert_true(arena_memory_usage(&a) >= total);
    free(spans);
    arena_destroy(&a);
}

/* A huge arena hands out the same kind of memory: 8-aligned, disjoint, kept intact,
 * usage counted in whole ARENA_HUGE_BLOCK blocks; large requests still get their own. */
static void test_huge_arena(void **state)
{
    (void)state;
    arena_t a;
    arena_init_huge(&a);
    assert_int_equal(a.huge, 1);
    assert_true(a.block_size < ARENA_HUGE_BLOCK);
    assert_true(a.block_size > ARENA_HUGE_BLOCK - 128);
    enum { N = 40000 };
    unsigned char **ptrs = malloc(N * sizeof(*ptrs));
    assert_non_null(ptrs);
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        size_t n = 1 + (size_t)(i % 250);
        ptrs[i] = arena_alloc(&a, n);
        assert_non_null(ptrs[i]);
        assert_int_equal((uintptr_t)ptrs[i] % 8, 0);
        memset(ptrs[i], i & 0xff, n);
        total += (n + 7) & ~(size_t)7;
    }
    for (int i = 0; i < N; i++)
        for (size_t j = 0; j < 1 + (size_t)(i % 250); j++)
            if (ptrs[i][j] != (unsigned char)(i & 0xff))
                fail_msg("allocation %d byte %zu overwritten", i, j);
    size_t usage = arena_memory_usage(&a);
    assert_int_equal(usage % ARENA_HUGE_BLOCK, 0);
    assert_true(usage >= total);
    assert_true(usage <= total + 2 * (size_t)ARENA_HUGE_BLOCK);
    /* A request over a quarter block gets a block of its own, outside the 2 MiB steps. */
    char *big = arena_alloc(&a, ARENA_HUGE_BLOCK);
    assert_non_null(big);
    memset(big, 0x5a, ARENA_HUGE_BLOCK);
    assert_true(arena_memory_usage(&a) >= usage + ARENA_HUGE_BLOCK);
    assert_int_equal(ptrs[N - 1][0], (unsigned char)((N - 1) & 0xff));
    free(ptrs);
    arena_destroy(&a);
}

/* A pooled huge arena gives its blocks back to the pool when destroyed, the next arena
 * reuses them (same addresses, contents intact until written), the pool keeps no more
 * than its limit, and an arena may outlive the pool's owner. */
static void test_pooled_arena(void **state)
{
    (void)state;
    arena_pool_t *pool = arena_pool_new(2);
    assert_non_null(pool);
    arena_t a;
    arena_init_huge_pooled(&a, pool);
    /* three regular blocks' worth */
    size_t step = ARENA_HUGE_BLOCK / 8;
    void *first = NULL;
    for (int i = 0; i < 3 * 8; i++) {
        char *p = arena_alloc(&a, step);
        assert_non_null(p);
        memset(p, 0x11, step);
        if (!first)
            first = p;
    }
    size_t blocks = arena_memory_usage(&a) / ARENA_HUGE_BLOCK;
    assert_true(blocks >= 3);
    arena_destroy(&a);
    if (pool->n == 0)
        skip(); /* no huge mappings here (malloc fallback): nothing to pool */
    assert_int_equal(pool->n, 2);     /* the limit, not all of them */

    arena_t b;
    arena_init_huge_pooled(&b, pool);
    char *q = arena_alloc(&b, 64);
    assert_non_null(q);
    assert_int_equal(pool->n, 1);     /* one block taken back out */
    assert_int_equal((unsigned char)q[0], 0x11); /* reused, not zeroed */
    memset(q, 0x22, 64);
    assert_int_equal(arena_memory_usage(&b), ARENA_HUGE_BLOCK);
    arena_pool_unref(pool);           /* the owner lets go first */
    assert_int_equal(q[63], 0x22);
    arena_destroy(&b);                /* the last reference: the pool goes too */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_contents),
        cmocka_unit_test(test_block_size_clamped),
        cmocka_unit_test(test_usage_accounting),
        cmocka_unit_test(test_large_allocations),
        cmocka_unit_test(test_concurrent_no_overlap),
        cmocka_unit_test(test_huge_arena),
        cmocka_unit_test(test_pooled_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
