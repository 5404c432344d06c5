/*
 * test_bloom.c - bloom filter: no false negatives, a false-positive rate within 2x of
 * theory, sizing, and damaged filters that must never produce a false negative.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "table/bloom.h"
#include "util/buf.h"

/* exp(-x) by its Taylor series (the Makefile links no libm). */
static double exp_neg(double x)
{
    double term = 1, sum = 1;
    for (int i = 1; i < 60; i++) {
        term *= -x / i;
        sum += term;
    }
    return sum;
}

static slice_t key_of(char *buf, uint32_t i)
{
    int n = snprintf(buf, 32, "key%08u", i);
    return slice_make(buf, (size_t)n);
}

static void build(uint32_t n, uint32_t first, int bpk, buf_t *out)
{
    uint32_t *h = malloc(sizeof(uint32_t) * (n ? n : 1));
    char k[32];
    for (uint32_t i = 0; i < n; i++)
        h[i] = bloom_hash(key_of(k, first + i));
    buf_init(out);
    bloom_build(h, n, bpk, out);
    free(h);
}

static void test_no_false_negatives(void **state)
{
    (void)state;
    uint32_t sizes[] = {1, 10, 100, 1000, 10000, 100000};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        buf_t f;
        build(sizes[s], 0, 10, &f);
        char k[32];
        for (uint32_t i = 0; i < sizes[s]; i++)
            assert_true(bloom_may_match(buf_slice(&f), bloom_hash(key_of(k, i))));
        buf_free(&f);
    }
}

static void test_false_positive_rate(void **state)
{
    (void)state;
    const uint32_t n = 100000;
    buf_t f;
    build(n, 0, 10, &f);
    /* size: 10 bits per key, plus the k byte */
    assert_int_equal(f.len, n * 10 / 8 + 1);
    int k = bloom_num_probes(10);
    assert_int_equal((unsigned char)f.data[f.len - 1], k);
    double bits = (double)(f.len - 1) * 8;
    double theory = 1;
    for (int i = 0; i < k; i++)
        theory *= 1.0 - exp_neg((double)k * n / bits);
    char key[32];
    uint32_t fp = 0, probes = 200000;
    for (uint32_t i = 0; i < probes; i++)
        fp += (uint32_t)bloom_may_match(buf_slice(&f), bloom_hash(key_of(key, 1000000000u + i)));
    double rate = (double)fp / probes;
    printf("bloom: k=%d theory=%.4f%% measured=%.4f%%\n", k, theory * 100, rate * 100);
    assert_true(rate < 2 * theory);
    assert_true(rate > theory / 4); /* a filter that says no to everything is broken too */
    buf_free(&f);
}

static void test_bits_per_key_tradeoff(void **state)
{
    (void)state;
    /* more bits per key gives fewer false positives */
    double prev = 1.0;
    int bpks[] = {2, 5, 10, 20};
    for (size_t j = 0; j < 4; j++) {
        buf_t f;
        build(20000, 0, bpks[j], &f);
        char key[32];
        uint32_t fp = 0;
        for (uint32_t i = 0; i < 50000; i++)
            fp += (uint32_t)bloom_may_match(buf_slice(&f), bloom_hash(key_of(key, 500000000u + i)));
        double rate = fp / 50000.0;
        assert_true(rate < prev);
        prev = rate;
        buf_free(&f);
    }
}

static void test_degenerate_filters(void **state)
{
    (void)state;
    char key[32];
    uint32_t h = bloom_hash(key_of(key, 7));
    /* empty and one-byte filters match everything */
    assert_true(bloom_may_match(slice_make("", 0), h));
    assert_true(bloom_may_match(slice_make("\0", 1), h));
    /* k out of range matches everything */
    char f[9] = {0};
    f[8] = 31;
    assert_true(bloom_may_match(slice_make(f, 9), h));
    f[8] = 0;
    assert_true(bloom_may_match(slice_make(f, 9), h));
    /* a zero filter with a valid k rejects */
    f[8] = 6;
    assert_false(bloom_may_match(slice_make(f, 9), h));
    /* an empty key set still yields a small valid filter that rejects keys */
    buf_t e;
    build(0, 0, 10, &e);
    assert_int_equal(e.len, 9);
    assert_false(bloom_may_match(buf_slice(&e), h));
    buf_free(&e);
}

static void test_num_probes(void **state)
{
    (void)state;
    assert_int_equal(bloom_num_probes(10), 7);
    assert_int_equal(bloom_num_probes(1), 1);
    assert_int_equal(bloom_num_probes(0), 1);
    assert_int_equal(bloom_num_probes(100), 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_false_negatives),
        cmocka_unit_test(test_false_positive_rate),
        cmocka_unit_test(test_bits_per_key_tradeoff),
        cmocka_unit_test(test_degenerate_filters),
        cmocka_unit_test(test_num_probes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
