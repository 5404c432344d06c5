/*
 * test_index_search.c - the fingerprint search over index blocks must land exactly where
 * a plain block_iter_seek lands, for every shape of key set: numeric keys with a short
 * last separator, keys that tie on their fingerprint (long shared runs, one user key in
 * many entries), mixed lengths and zero bytes, a single entry; index_search_locate may
 * decline but, when it answers, names that same entry and its handle; the search must
 * switch itself off for blocks with restart interval > 1 and for malformed blocks
 * (Corruption, as before).
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
#include "table/format.h"
#include "table/index_search.h"
#include "util/buf.h"
#include "util/random.h"

typedef struct {
    char key[64];
    size_t len;
    uint64_t seq;
} ent_t;

/* Builds a block of internal keys (sorted by the caller) with the given interval. */
static slice_t build(block_builder_t *bb, const ent_t *e, size_t n, int interval)
{
    block_builder_init(bb, interval);
    for (size_t i = 0; i < n; i++) {
        char ik[80];
        ikey_encode(ik, slice_make(e[i].key, e[i].len), e[i].seq, TYPE_VALUE);
        /* values are block handles, as in a table's index */
        buf_t hv;
        buf_init(&hv);
        block_handle_t h = {i * 4096 + 7, 4000 + i % 97};
        block_handle_encode(&hv, h);
        block_builder_add(bb, slice_make(ik, e[i].len + 8), buf_slice(&hv));
        buf_free(&hv);
    }
    return block_builder_finish(bb);
}

static size_t find_hits; /* targets index_search_locate resolved, per check_all */

/* Seeks target both ways and checks that the two iterators agree. */
static void check_seek(const block_t *b, const index_search_t *s, slice_t ukey, uint64_t seq)
{
    char ik[96];
    ikey_encode(ik, ukey, seq, TYPE_FOR_SEEK);
    slice_t t = slice_make(ik, ukey.size + 8);
    block_iter_t a, f;
    block_iter_init(&a, b, ikey_compare, BLOCK_IKEYS);
    block_iter_init(&f, b, ikey_compare, BLOCK_IKEYS);
    block_iter_seek(&a, t);
    index_search_seek(s, &f, t);
    assert_int_equal(block_iter_valid(&a), block_iter_valid(&f));
    assert_int_equal(a.st != NULL, f.st != NULL);
    if (block_iter_valid(&a)) {
        assert_int_equal(a.cur, f.cur);
        assert_true(slice_equal(a.key, f.key));
        assert_true(slice_equal(a.value, f.value));
    }
    /* When locate claims an answer, it is block_iter_seek's entry, with its handle; when
     * it does not, it has positioned its iterator there itself. */
    uint32_t pos;
    block_iter_t l;
    block_iter_init(&l, b, ikey_compare, BLOCK_IKEYS);
    if (!index_search_locate(s, &l, t, &pos)) {
        assert_int_equal(block_iter_valid(&a), block_iter_valid(&l));
        if (block_iter_valid(&a))
            assert_int_equal(a.cur, l.cur);
    } else {
        find_hits++;
        assert_true(block_iter_valid(&a));
        block_iter_t r;
        block_iter_init(&r, b, ikey_compare, BLOCK_IKEYS);
        block_iter_seek_to_restart(&r, pos);
        assert_true(block_iter_valid(&r));
        assert_int_equal(r.cur, a.cur);
        slice_t v = a.value;
        block_handle_t h;
        assert_int_equal(block_handle_decode(&v, &h), 0);
        assert_int_equal(h.offset, s->handles[pos].offset);
        assert_int_equal(h.size, s->handles[pos].size);
        block_iter_cleanup(&r);
    }
    block_iter_cleanup(&l);
    block_iter_cleanup(&a);
    block_iter_cleanup(&f);
}

/* Every key with seqs around its own, plus random and extreme targets. */
static void check_all(const ent_t *e, size_t n, int interval, int expect_fast)
{
    block_builder_t bb;
    slice_t raw = build(&bb, e, n, interval);
    block_t b;
    assert_int_equal(block_init(&b, raw.data, raw.size, NULL), 0);
    index_search_t s;
    index_search_build(&s, &b);
    assert_int_equal(s.pfx != NULL, expect_fast);
    if (expect_fast) {
        assert_int_equal(s.n, n);
        assert_true(index_search_bytes(&s) >= 8 * (n - 1));
    }
    for (size_t i = 0; i < n; i++) {
        slice_t k = slice_make(e[i].key, e[i].len);
        check_seek(&b, &s, k, e[i].seq + 1);
        check_seek(&b, &s, k, e[i].seq);
        check_seek(&b, &s, k, e[i].seq ? e[i].seq - 1 : 0);
        char longer[80];
        memcpy(longer, e[i].key, e[i].len);
        longer[e[i].len] = '\0';
        check_seek(&b, &s, slice_make(longer, e[i].len + 1), 5);
        if (e[i].len)
            check_seek(&b, &s, slice_make(e[i].key, e[i].len - 1), 5);
    }
    find_hits = 0;
    rnd_t r;
    rnd_seed(&r, 7);
    for (int i = 0; i < 3000; i++) {
        char k[24];
        size_t len = rnd_uniform(&r, sizeof(k));
        for (size_t j = 0; j < len; j++)
            k[j] = (char)(rnd_uniform(&r, 4) == 0 ? rnd_uniform(&r, 256) : '0' + rnd_uniform(&r, 10));
        check_seek(&b, &s, slice_make(k, len), rnd_uniform(&r, 1000));
    }
    check_seek(&b, &s, slice_make("", 0), 1);
    check_seek(&b, &s, slice_make("\xff\xff\xff", 3), 1);
    check_seek(&b, &s, slice_make("1", 1), 1);
    if (expect_fast && n > 100)
        assert_true(find_hits > 0); /* the direct path is really exercised */
    index_search_free(&s);
    assert_null(s.pfx);
    block_builder_destroy(&bb);
}

/* Numeric keys as kvbench makes them, the last one a short successor ("1"). */
static void test_numeric_keys(void **state)
{
    (void)state;
    enum { N = 2000 };
    ent_t *e = calloc(N, sizeof(*e));
    for (size_t i = 0; i < N - 1; i++) {
        e[i].len = (size_t)snprintf(e[i].key, sizeof(e[i].key), "%016llu",
                                    (unsigned long long)(i * 997 + 13));
        e[i].seq = 100 + i;
    }
    e[N - 1].len = 1;
    e[N - 1].key[0] = '1';
    e[N - 1].seq = 0;
    check_all(e, N, 1, 1);
    check_all(e, N, 4, 0); /* interval > 1: fast path off, same answers */
    check_all(e, 1, 1, 1); /* a single entry */
    free(e);
}

/* Fingerprint ties: keys equal for far more than 8 bytes past the common prefix, and one
 * user key repeated over many entries with falling sequence numbers. */
static void test_ties(void **state)
{
    (void)state;
    enum { N = 600 };
    ent_t *e = calloc(N, sizeof(*e));
    size_t n = 0;
    for (int g = 0; g < 20; g++) {
        for (int j = 0; j < 20; j++, n++) {
            e[n].len = (size_t)snprintf(e[n].key, sizeof(e[n].key),
                                        "a%02d-xxxxxxxxxxxxxxxxxxxx-%04d", g, j);
            e[n].seq = 50;
        }
        for (int v = 0; v < 10; v++, n++) {
            e[n].len = (size_t)snprintf(e[n].key, sizeof(e[n].key), "a%02d-zz", g);
            e[n].seq = 1000 - (uint64_t)v * 10;
        }
    }
    check_all(e, n, 1, 1);
    free(e);
}

/* Mixed lengths (shorter than the fingerprint), zero bytes, an empty first key. */
static void test_mixed_lengths(void **state)
{
    (void)state;
    static const char *ks[] = {"", "\0", "\0\0a", "a", "a\0", "a\0\0\0\0\0\0\0\0", "a\0\0\0\0\0\0\0\1",
                               "ab", "abc", "abcdefgh", "abcdefghi", "abcdefghij", "b", "b\xff",
                               "b\xff\xff\xff\xff\xff\xff\xff\xff\xff", "c"};
    static const size_t ls[] = {0, 1, 3, 1, 2, 9, 9, 2, 3, 8, 9, 10, 1, 2, 10, 1};
    enum { N = sizeof(ls) / sizeof(ls[0]) };
    ent_t e[N];
    for (size_t i = 0; i < N; i++) {
        memcpy(e[i].key, ks[i], ls[i]);
        e[i].len = ls[i];
        e[i].seq = 9;
    }
    check_all(e, N, 1, 1);
    check_all(e + 3, N - 3, 1, 1); /* common prefix "a" .. but the last is "c" */
    check_all(e + 3, 9, 1, 1);     /* all start with "a" */
}

/* A malformed block: no fast path, and a seek reports Corruption as before. */
static void test_malformed(void **state)
{
    (void)state;
    ent_t e[3] = {{"k1", 2, 1}, {"k2", 2, 1}, {"k3", 2, 1}};
    block_builder_t bb;
    slice_t raw = build(&bb, e, 3, 1);
    char *copy = malloc(raw.size);
    memcpy(copy, raw.data, raw.size);
    copy[1] = 100; /* first entry's non_shared length runs past the block */
    block_t b;
    assert_int_equal(block_init(&b, copy, raw.size, copy), 0);
    index_search_t s;
    index_search_build(&s, &b);
    assert_null(s.pfx);
    block_iter_t it;
    block_iter_init(&it, &b, ikey_compare, BLOCK_IKEYS);
    char ik[16];
    ikey_encode(ik, slice_make("k0", 2), 1, TYPE_FOR_SEEK);
    index_search_seek(&s, &it, slice_make(ik, 10));
    assert_false(block_iter_valid(&it));
    assert_non_null(it.st);
    assert_int_equal(st_code(it.st), ST_CORRUPTION);
    block_iter_cleanup(&it);
    index_search_free(&s);
    block_release(&b);
    block_builder_destroy(&bb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric_keys),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_mixed_lengths),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
