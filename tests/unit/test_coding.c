/*
 * test_coding.c - fixed-width and varint coding: round trips, boundary values, the exact
 * byte layout, truncated and overlong varints rejected, big-endian keys sorting numerically,
 * and slice_compare agreeing with memcmp order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/coding.h"
#include "util/random.h"
#include "util/slice.h"

static void test_fixed(void **state)
{
    (void)state;
    char b[8];
    encode_fixed32(b, 0x04030201u);
    assert_memory_equal(b, "\x01\x02\x03\x04", 4); /* little-endian on disk */
    assert_int_equal(decode_fixed32(b), 0x04030201u);
    encode_fixed64(b, 0x0807060504030201ull);
    assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_int_equal(decode_fixed64(b), 0x0807060504030201ull);
    encode_fixed16(b, 0xbeef);
    assert_memory_equal(b, "\xef\xbe", 2);
    assert_int_equal(decode_fixed16(b), 0xbeef);

    uint32_t v32[] = {0, 1, 0x7f, 0x80, 0xffff, 0x10000, 0x7fffffff, 0x80000000u, UINT32_MAX};
    for (size_t i = 0; i < sizeof(v32) / sizeof(v32[0]); i++) {
        encode_fixed32(b, v32[i]);
        assert_int_equal(decode_fixed32(b), v32[i]);
    }
    /* Unaligned positions work. */
    char wide[16];
    for (int off = 0; off < 8; off++) {
        encode_fixed64(wide + off, 0xfedcba9876543210ull + (uint64_t)off);
        assert_int_equal(decode_fixed64(wide + off), 0xfedcba9876543210ull + (uint64_t)off);
    }
    rnd_t r;
    rnd_seed(&r, 7);
    for (int i = 0; i < 10000; i++) {
        uint64_t v = rnd_next(&r) >> (rnd_next(&r) % 64);
        encode_fixed64(b, v);
        assert_int_equal(decode_fixed64(b), v);
    }
}

/* Expected encodings of boundary values. */
static void test_varint_layout(void **state)
{
    (void)state;
    struct {
        uint64_t v;
        const char *enc;
        int len;
    } cases[] = {
        {0, "\x00", 1},
        {1, "\x01", 1},
        {127, "\x7f", 1},
        {128, "\x80\x01", 2},
        {300, "\xac\x02", 2},
        {16383, "\xff\x7f", 2},
        {16384, "\x80\x80\x01", 3},
        {UINT32_MAX, "\xff\xff\xff\xff\x0f", 5},
        {1ull << 32, "\x80\x80\x80\x80\x10", 5},
        {UINT64_MAX, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char b[10];
        char *e = encode_varint64(b, cases[i].v);
        assert_int_equal(e - b, cases[i].len);
        assert_memory_equal(b, cases[i].enc, (size_t)cases[i].len);
        assert_int_equal(varint_length(cases[i].v), cases[i].len);
        if (cases[i].v <= UINT32_MAX) {
            char c[5];
            char *e32 = encode_varint32(c, (uint32_t)cases[i].v);
            assert_int_equal(e32 - c, cases[i].len);
            assert_memory_equal(c, cases[i].enc, (size_t)cases[i].len);
        }
    }
}

static void test_varint32_round_trip(void **state)
{
    (void)state;
    /* Every power of two, and its neighbours. */
    char buf[5 * 3 * 33];
    char *p = buf;
    uint32_t vals[3 * 33];
    int n = 0;
    for (int s = 0; s <= 32; s++) {
        uint64_t base = s == 32 ? UINT32_MAX : (1ull << s);
        uint32_t a = (uint32_t)base, b = (uint32_t)(base - 1), c = (uint32_t)(base + 1);
        vals[n++] = a;
        vals[n++] = b;
        vals[n++] = c;
    }
    for (int i = 0; i < n; i++)
        p = encode_varint32(p, vals[i]);
    const char *q = buf, *lim = p;
    for (int i = 0; i < n; i++) {
        uint32_t v = 0;
        q = decode_varint32(q, lim, &v);
        assert_non_null(q);
        assert_int_equal(v, vals[i]);
    }
    assert_ptr_equal(q, lim);
    /* The fast decoder agrees. */
    q = buf;
    for (int i = 0; i < n; i++) {
        uint32_t v = 0;
        q = decode_varint32_fast(q, lim, &v);
        assert_non_null(q);
        assert_int_equal(v, vals[i]);
    }
}

static void test_varint64_round_trip(void **state)
{
    (void)state;
    rnd_t r;
    rnd_seed(&r, 99);
    for (int i = 0; i < 100000; i++) {
        uint64_t v = rnd_next(&r) >> (rnd_next(&r) % 64);
        if (i < 64)
            v = 1ull << i;
        char b[10];
        char *e = encode_varint64(b, v);
        assert_int_equal(e - b, varint_length(v));
        uint64_t got = 0;
        const char *d = decode_varint64(b, e, &got);
        assert_ptr_equal(d, e);
        assert_int_equal(got, v);
        /* The slice form advances past it. */
        slice_t s = slice_make(b, (size_t)(e - b));
        got = 0;
        assert_int_equal(get_varint64(&s, &got), 0);
        assert_int_equal(got, v);
        assert_int_equal(s.size, 0);
    }
}

static void test_truncated_varints_rejected(void **state)
{
    (void)state;
    uint64_t vals[] = {128, 16384, UINT32_MAX, 1ull << 40, UINT64_MAX};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char b[10];
        int len = (int)(encode_varint64(b, vals[i]) - b);
        for (int cut = 0; cut < len; cut++) {
            uint64_t v64 = 12345;
            assert_null(decode_varint64(b, b + cut, &v64));
            assert_int_equal(v64, 12345); /* untouched */
            slice_t s = slice_make(b, (size_t)cut);
            assert_int_equal(get_varint64(&s, &v64), -1);
            assert_int_equal(s.size, (size_t)cut); /* not advanced */
            if (vals[i] <= UINT32_MAX) {
                uint32_t v32 = 1;
                assert_null(decode_varint32(b, b + cut, &v32));
                assert_null(decode_varint32_fast(b, b + cut, &v32));
                s = slice_make(b, (size_t)cut);
                assert_int_equal(get_varint32(&s, &v32), -1);
            }
        }
    }
    /* Too long / too large. */
    uint32_t v32;
    uint64_t v64;
    assert_null(decode_varint32("\xff\xff\xff\xff\x10", (const char *)"\xff\xff\xff\xff\x10" + 5, &v32));
    const char *six = "\x80\x80\x80\x80\x80\x01";
    assert_null(decode_varint32(six, six + 6, &v32));
    const char *big = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02";
    assert_null(decode_varint64(big, big + 10, &v64));
    const char *eleven = "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01";
    assert_null(decode_varint64(eleven, eleven + 11, &v64));
    /* A 64-bit value does not decode as a 32-bit one. */
    char b[10];
    char *e = encode_varint64(b, 1ull << 32);
    assert_null(decode_varint32(b, e, &v32));
}

static void test_length_prefixed(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    buf_put_length_prefixed(&b, slice_str("hello"));
    buf_put_length_prefixed(&b, slice_make("", 0));
    char big[200];
    memset(big, 'x', sizeof(big));
    buf_put_length_prefixed(&b, slice_make(big, sizeof(big)));
    assert_false(b.oom);
    slice_t in = buf_slice(&b), out;
    assert_int_equal(get_length_prefixed(&in, &out), 0);
    assert_true(slice_equal(out, slice_str("hello")));
    assert_int_equal(get_length_prefixed(&in, &out), 0);
    assert_int_equal(out.size, 0);
    assert_int_equal(get_length_prefixed(&in, &out), 0);
    assert_int_equal(out.size, 200);
    assert_memory_equal(out.data, big, 200);
    assert_int_equal(in.size, 0);
    assert_int_equal(get_length_prefixed(&in, &out), -1);
    /* Every truncation of the last string is rejected and leaves the input alone. */
    slice_t all = buf_slice(&b);
    for (size_t cut = 8; cut < all.size; cut++) {
        slice_t s = slice_make(all.data + 7, cut - 7);
        slice_t o;
        assert_int_equal(get_length_prefixed(&s, &o), -1);
        assert_int_equal(s.size, cut - 7);
    }
    buf_free(&b);
}

static void test_big_endian_sorts_numerically(void **state)
{
    (void)state;
    char b[8];
    encode_be64(b, 0x0102030405060708ull);
    assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_int_equal(decode_be64(b), 0x0102030405060708ull);
    uint64_t edge[] = {0, 1, 255, 256, 65535, 65536, (1ull << 63) - 1, 1ull << 63, UINT64_MAX};
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
        encode_be64(b, edge[i]);
        assert_int_equal(decode_be64(b), edge[i]);
    }
    rnd_t r;
    rnd_seed(&r, 3);
    for (int i = 0; i < 100000; i++) {
        uint64_t x = rnd_next(&r) >> (rnd_next(&r) % 64);
        uint64_t y = rnd_next(&r) >> (rnd_next(&r) % 64);
        if (i % 3 == 0)
            y = x + 1;
        char bx[8], by[8];
        encode_be64(bx, x);
        encode_be64(by, y);
        int c = slice_compare(slice_make(bx, 8), slice_make(by, 8));
        int want = x < y ? -1 : (x > y);
        if ((c < 0 ? -1 : c > 0) != want)
            fail_msg("%llu vs %llu: memcmp order %d", (unsigned long long)x,
                     (unsigned long long)y, c);
    }
}

/* slice_compare's inline 8-byte path must order exactly like memcmp-then-length, for
 * every length on both sides of its 8/32-byte steps and for bytes >= 0x80 (unsigned). */
static int ref_compare(slice_t a, slice_t b)
{
    size_t n = a.size < b.size ? a.size : b.size;
    int r = n ? memcmp(a.data, b.data, n) : 0;
    if (r)
        return r < 0 ? -1 : 1;
    return a.size < b.size ? -1 : (a.size > b.size);
}

static int sign(int v) { return (v > 0) - (v < 0); }

static void test_slice_compare(void **state)
{
    (void)state;
    rnd_t r;
    rnd_seed(&r, 5);
    char a[48], b[48];
    for (int iter = 0; iter < 200000; iter++) {
        size_t an = rnd_uniform(&r, 41), bn = rnd_uniform(&r, 41);
        for (size_t i = 0; i < sizeof(a); i++)
            a[i] = b[i] = (char)(rnd_uniform(&r, 3) == 0 ? 0x80 + rnd_uniform(&r, 128) : 'a');
        /* make them differ late, early, or not at all */
        size_t at = rnd_uniform(&r, 42);
        if (at < sizeof(b))
            b[at] = (char)rnd_uniform(&r, 256);
        slice_t x = slice_make(a, an), y = slice_make(b, bn);
        int want = ref_compare(x, y);
        if (sign(slice_compare(x, y)) != want || sign(slice_compare(y, x)) != -want)
            fail_msg("lengths %zu/%zu differing at %zu: got %d want %d", an, bn, at,
                     slice_compare(x, y), want);
    }
    assert_int_equal(slice_compare(slice_make(NULL, 0), slice_make(NULL, 0)), 0);
    assert_true(slice_compare(slice_make("\x80", 1), slice_make("\x7f", 1)) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed),
        cmocka_unit_test(test_slice_compare),
        cmocka_unit_test(test_varint_layout),
        cmocka_unit_test(test_varint32_round_trip),
        cmocka_unit_test(test_varint64_round_trip),
        cmocka_unit_test(test_truncated_varints_rejected),
        cmocka_unit_test(test_length_prefixed),
        cmocka_unit_test(test_big_endian_sorts_numerically),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
