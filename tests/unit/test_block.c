/*
 * test_block.c - block builder and block iterator: round trips, seeks in both directions,
 * restart-interval edge cases, long keys, and malformed blocks (which must give a
 * Corruption status, never a crash or an out-of-bounds read - run under ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/dbformat.h"
#include "table/block.h"
#include "table/block_builder.h"
#include "util/coding.h"
#include "util/random.h"

typedef struct {
    char **keys;
    char **vals;
    size_t *klen;
    size_t *vlen;
    size_t n;
} kvset_t;

/* Keys "k%08zu" with a shared prefix pattern; the i-th key sorts i-th. */
static kvset_t make_kv(size_t n, size_t key_pad)
{
    kvset_t s;
    s.n = n;
    s.keys = calloc(n, sizeof(char *));
    s.vals = calloc(n, sizeof(char *));
    s.klen = calloc(n, sizeof(size_t));
    s.vlen = calloc(n, sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        char tmp[64];
        int l = snprintf(tmp, sizeof(tmp), "k%08zu", i * 3);
        s.klen[i] = (size_t)l + key_pad;
        s.keys[i] = malloc(s.klen[i] + 1);
        memset(s.keys[i], 'p', key_pad);  /* long common prefix when padded */
        memcpy(s.keys[i] + key_pad, tmp, (size_t)l + 1);
        s.vlen[i] = i % 7 == 0 ? 0 : (i % 50) + 1;
        s.vals[i] = malloc(s.vlen[i] + 1);
        for (size_t j = 0; j < s.vlen[i]; j++)
            s.vals[i][j] = (char)('a' + (i + j) % 26);
    }
    return s;
}

static void free_kv(kvset_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->keys[i]);
        free(s->vals[i]);
    }
    free(s->keys);
    free(s->vals);
    free(s->klen);
    free(s->vlen);
}

static slice_t K(const kvset_t *s, size_t i) { return slice_make(s->keys[i], s->klen[i]); }
static slice_t V(const kvset_t *s, size_t i) { return slice_make(s->vals[i], s->vlen[i]); }

/* Builds a block copy (heap) from s with the given restart interval. */
static block_t build(const kvset_t *s, int interval)
{
    block_builder_t bb;
    block_builder_init(&bb, interval);
    for (size_t i = 0; i < s->n; i++)
        block_builder_add(&bb, K(s, i), V(s, i));
    size_t est = block_builder_size_estimate(&bb);
    slice_t c = block_builder_finish(&bb);
    assert_int_equal(est, c.size);
    assert_false(block_builder_oom(&bb));
    char *copy = malloc(c.size ? c.size : 1);
    memcpy(copy, c.data, c.size);
    block_t b;
    assert_int_equal(block_init(&b, copy, c.size, copy), 0);
    block_builder_destroy(&bb);
    return b;
}

static void check_at(block_iter_t *it, const kvset_t *s, size_t i)
{
    assert_true(block_iter_valid(it));
    assert_true(slice_equal(it->key, K(s, i)));
    assert_true(slice_equal(it->value, V(s, i)));
}

static void full_check(const kvset_t *s, int interval)
{
    block_t b = build(s, interval);
    block_iter_t it;
    block_iter_init(&it, &b, block_bytewise_cmp, 0);
    /* forward */
    size_t i = 0;
    for (block_iter_seek_to_first(&it); block_iter_valid(&it); block_iter_next(&it))
        check_at(&it, s, i++);
    assert_int_equal(i, s->n);
    assert_null(it.st);
    /* backward */
    i = s->n;
    for (block_iter_seek_to_last(&it); block_iter_valid(&it); block_iter_prev(&it))
        check_at(&it, s, --i);
    assert_int_equal(i, 0);
    assert_null(it.st);
    /* seeks: exact, between keys (key + "\x01" sorts just after key), before first,
     * after last. Only sample for big sets to stay fast. */
    size_t step = s->n > 2000 ? s->n / 1000 : 1;
    for (i = 0; i < s->n; i += step) {
        block_iter_seek(&it, K(s, i));
        check_at(&it, s, i);
        char t[1100];
        memcpy(t, s->keys[i], s->klen[i]);
        t[s->klen[i]] = 1;
        slice_t after = slice_make(t, s->klen[i] + 1);
        block_iter_seek(&it, after);
        if (i + 1 < s->n)
            check_at(&it, s, i + 1);
        else
            assert_false(block_iter_valid(&it));
        block_iter_seek_for_prev(&it, after);
        check_at(&it, s, i);
        block_iter_seek_for_prev(&it, K(s, i));
        check_at(&it, s, i);
        /* step both ways from a seek */
        block_iter_seek(&it, K(s, i));
        block_iter_prev(&it);
        if (i > 0)
            check_at(&it, s, i - 1);
        else
            assert_false(block_iter_valid(&it));
        block_iter_seek(&it, K(s, i));
        block_iter_next(&it);
        if (i + 1 < s->n)
            check_at(&it, s, i + 1);
        else
            assert_false(block_iter_valid(&it));
    }
    if (s->n) {
        block_iter_seek(&it, slice_str("a"));
        check_at(&it, s, 0);
        block_iter_seek_for_prev(&it, slice_str("a"));
        assert_false(block_iter_valid(&it));
        block_iter_seek(&it, slice_str("z"));
        assert_false(block_iter_valid(&it));
        block_iter_seek_for_prev(&it, slice_str("z"));
        check_at(&it, s, s->n - 1);
    }
    assert_null(it.st);
    block_iter_cleanup(&it);
    block_release(&b);
}

static void test_roundtrip_intervals(void **state)
{
    (void)state;
    kvset_t s = make_kv(500, 0);
    int intervals[] = {1, 2, 3, 16, 1000};
    for (size_t i = 0; i < sizeof(intervals) / sizeof(intervals[0]); i++)
        full_check(&s, intervals[i]);
    free_kv(&s);
}

static void test_single_and_empty(void **state)
{
    (void)state;
    kvset_t s = make_kv(1, 0);
    full_check(&s, 16);
    free_kv(&s);
    kvset_t e = make_kv(0, 0);
    block_t b = build(&e, 16);
    assert_int_equal(b.size, 8); /* one restart + count */
    iter_t *it = block_iter_new(&b, block_bytewise_cmp, 0);
    iter_seek_to_first(it);
    assert_false(iter_valid(it));
    iter_seek_to_last(it);
    assert_false(iter_valid(it));
    iter_seek(it, slice_str("x"));
    assert_false(iter_valid(it));
    iter_seek_for_prev(it, slice_str("x"));
    assert_false(iter_valid(it));
    assert_null(iter_status(it));
    iter_destroy(it);
    block_release(&b);
    free_kv(&e);
}

static void test_100k_entries(void **state)
{
    (void)state;
    kvset_t s = make_kv(100000, 0);
    full_check(&s, 16);
    free_kv(&s);
}

static void test_long_keys_heap_buffer(void **state)
{
    (void)state;
    /* 1000-byte shared prefix: keys do not fit the inline buffer */
    kvset_t s = make_kv(300, 1000);
    full_check(&s, 16);
    full_check(&s, 1);
    free_kv(&s);
}

static void test_prev_across_restarts(void **state)
{
    (void)state;
    kvset_t s = make_kv(64, 0);
    block_t b = build(&s, 4);
    assert_int_equal(b.nrestarts, 16);
    block_iter_t it;
    block_iter_init(&it, &b, block_bytewise_cmp, 0);
    /* start at each restart point and walk back over the boundary */
    for (size_t r = 4; r < 64; r += 4) {
        block_iter_seek(&it, K(&s, r));
        check_at(&it, &s, r);
        block_iter_prev(&it);
        check_at(&it, &s, r - 1);
        block_iter_prev(&it);
        check_at(&it, &s, r - 2);
        block_iter_next(&it);
        block_iter_next(&it);
        block_iter_next(&it);
        check_at(&it, &s, r + 1);
    }
    block_iter_cleanup(&it);
    block_release(&b);
    free_kv(&s);
}

static void test_internal_keys(void **state)
{
    (void)state;
    block_builder_t bb;
    block_builder_init(&bb, 16);
    char k[32];
    /* user keys u00..u49, two versions each: seq 100+i (value), then seq i (deletion) */
    for (int i = 0; i < 50; i++) {
        char uk[16];
        snprintf(uk, sizeof(uk), "u%02d", i);
        ikey_encode(k, slice_make(uk, 3), 100 + (uint64_t)i, TYPE_VALUE);
        block_builder_add(&bb, slice_make(k, 11), slice_str("v"));
        ikey_encode(k, slice_make(uk, 3), (uint64_t)i, TYPE_DELETION);
        block_builder_add(&bb, slice_make(k, 11), slice_make("", 0));
    }
    slice_t c = block_builder_finish(&bb);
    block_t b;
    assert_int_equal(block_init(&b, c.data, c.size, NULL), 0);
    block_iter_t it;
    block_iter_init(&it, &b, ikey_compare, BLOCK_IKEYS);
    /* a seek at snapshot 120 for u10 lands on its newest visible version (seq 110) */
    ikey_encode(k, slice_str("u10"), 120, TYPE_FOR_SEEK);
    block_iter_seek(&it, slice_make(k, 11));
    assert_true(block_iter_valid(&it));
    assert_int_equal(ikey_seq(it.key), 110);
    /* at snapshot 50 it lands on the deletion (seq 10) */
    ikey_encode(k, slice_str("u10"), 50, TYPE_FOR_SEEK);
    block_iter_seek(&it, slice_make(k, 11));
    assert_true(block_iter_valid(&it));
    assert_int_equal(ikey_seq(it.key), 10);
    assert_int_equal(ikey_type(it.key), TYPE_DELETION);
    /* at snapshot 5: u10 has nothing visible; the next entry is u11@111 */
    ikey_encode(k, slice_str("u10"), 5, TYPE_FOR_SEEK);
    block_iter_seek(&it, slice_make(k, 11));
    assert_true(block_iter_valid(&it));
    assert_int_equal(ikey_seq(it.key), 111);
    block_iter_cleanup(&it);
    block_builder_destroy(&bb);
}

/* Runs every operation over a (possibly damaged) block; returns 1 if an error showed. */
static int exercise(const char *data, size_t size, int flags)
{
    char *copy = malloc(size ? size : 1);  /* exact-size allocation: ASan sees overreads */
    memcpy(copy, data, size);
    block_t b;
    int bad = block_init(&b, copy, size, copy) < 0;
    iter_t *it = block_iter_new(&b, flags ? ikey_compare : block_bytewise_cmp, flags);
    int errors = 0;
    size_t steps = 0;
    for (iter_seek_to_first(it); iter_valid(it) && steps < 100000; iter_next(it))
        steps++, (void)iter_key(it).size, (void)iter_value(it).size;
    errors |= iter_status(it) != NULL;
    steps = 0;
    for (iter_seek_to_last(it); iter_valid(it) && steps < 100000; iter_prev(it))
        steps++;
    errors |= iter_status(it) != NULL;
    char t[16];
    ikey_encode(t, slice_str("k0"), 5, TYPE_VALUE);
    iter_seek(it, slice_make(t, 10));
    iter_seek_for_prev(it, slice_make(t, 10));
    errors |= iter_status(it) != NULL;
    if (iter_status(it))
        assert_int_equal(st_code(iter_status(it)), ST_CORRUPTION);
    if (bad)
        assert_non_null(iter_status(it));
    iter_destroy(it);
    block_release(&b);
    return errors;
}

static void put32(char *p, uint32_t v) { encode_fixed32(p, v); }

static void test_malformed_handcrafted(void **state)
{
    (void)state;
    char b[64] = {0};
    /* too small */
    assert_int_equal(exercise(b, 0, 0), 1);
    assert_int_equal(exercise("\0\0\0", 3, 0), 1);
    /* zero restarts */
    put32(b, 0);
    assert_int_equal(exercise(b, 4, 0), 1);
    /* restart count larger than the block */
    put32(b, 0);
    put32(b + 4, 1000);
    assert_int_equal(exercise(b, 8, 0), 1);
    /* first restart not 0 */
    memset(b, 0, sizeof(b));
    b[0] = 0; b[1] = 1; b[2] = 1; b[3] = 'a'; b[4] = 'x';
    put32(b + 5, 2);
    put32(b + 9, 1);
    assert_int_equal(exercise(b, 13, 0), 1);
    /* restart offset beyond the entries */
    put32(b + 5, 0);
    put32(b + 9, 40);
    put32(b + 13, 2);
    assert_int_equal(exercise(b, 17, 0), 1);
    /* key length runs past the end of the entries */
    memset(b, 0, sizeof(b));
    b[0] = 0; b[1] = 100; b[2] = 1; b[3] = 'a';
    put32(b + 4, 0);
    put32(b + 8, 1);
    assert_int_equal(exercise(b, 12, 0), 1);
    /* value length runs past the end */
    b[1] = 1; b[2] = 0x7f;
    assert_int_equal(exercise(b, 12, 0), 1);
    /* varint never terminates */
    memset(b, 0xff, 8);
    put32(b + 8, 0);
    put32(b + 12, 1);
    assert_int_equal(exercise(b, 16, 0), 1);
    /* restart entry that claims a shared prefix */
    memset(b, 0, sizeof(b));
    b[0] = 1; b[1] = 1; b[2] = 0; b[3] = 'a';
    put32(b + 4, 0);
    put32(b + 8, 1);
    assert_int_equal(exercise(b, 12, 0), 1);
    /* second entry shares more than the first key has */
    memset(b, 0, sizeof(b));
    b[0] = 0; b[1] = 1; b[2] = 0; b[3] = 'a';
    b[4] = 5; b[5] = 1; b[6] = 0; b[7] = 'b';
    put32(b + 8, 0);
    put32(b + 12, 1);
    assert_int_equal(exercise(b, 16, 0), 1);
    /* internal-key block whose key is too short for a trailer */
    memset(b, 0, sizeof(b));
    b[0] = 0; b[1] = 3; b[2] = 0; b[3] = 'a'; b[4] = 'b'; b[5] = 'c';
    put32(b + 6, 0);
    put32(b + 10, 1);
    assert_int_equal(exercise(b, 14, BLOCK_IKEYS), 1);
    /* ... and the same block is fine as a bytewise block */
    assert_int_equal(exercise(b, 14, 0), 0);
}

static void test_malformed_random(void **state)
{
    (void)state;
    kvset_t s = make_kv(200, 0);
    block_builder_t bb;
    block_builder_init(&bb, 4);
    for (size_t i = 0; i < s.n; i++) {
        char k[32];
        ikey_encode(k, K(&s, i), 7, TYPE_VALUE);
        block_builder_add(&bb, slice_make(k, s.klen[i] + 8), V(&s, i));
    }
    slice_t c = block_builder_finish(&bb);
    assert_int_equal(exercise(c.data, c.size, BLOCK_IKEYS), 0);
    rnd_t r;
    rnd_seed(&r, 42);
    char *m = malloc(c.size);
    int errors = 0;
    for (int round = 0; round < 20000; round++) {
        memcpy(m, c.data, c.size);
        size_t size = c.size;
        int kind = (int)rnd_uniform(&r, 4);
        if (kind == 0) { /* flip a few bytes */
            int nflip = 1 + (int)rnd_uniform(&r, 4);
            for (int j = 0; j < nflip; j++)
                m[rnd_uniform(&r, size)] ^= (char)(1 + rnd_uniform(&r, 255));
        } else if (kind == 1) { /* truncate */
            size = rnd_uniform(&r, size);
        } else if (kind == 2) { /* damage the restart array */
            size_t nr = (size_t)decode_fixed32(c.data + c.size - 4);
            size_t at = c.size - 4 - 4 * nr + 4 * rnd_uniform(&r, nr + 1);
            m[at + rnd_uniform(&r, 4)] ^= (char)(1 + rnd_uniform(&r, 255));
        } else { /* random garbage */
            size = rnd_uniform(&r, 256);
            for (size_t j = 0; j < size; j++)
                m[j] = (char)rnd_next(&r);
        }
        errors += exercise(m, size, BLOCK_IKEYS);
    }
    /* most damage is caught (the rest is data damage only a checksum can see) */
    assert_true(errors > 10000);
    free(m);
    block_builder_destroy(&bb);
    free_kv(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_intervals),
        cmocka_unit_test(test_single_and_empty),
        cmocka_unit_test(test_100k_entries),
        cmocka_unit_test(test_long_keys_heap_buffer),
        cmocka_unit_test(test_prev_across_restarts),
        cmocka_unit_test(test_internal_keys),
        cmocka_unit_test(test_malformed_handcrafted),
        cmocka_unit_test(test_malformed_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
