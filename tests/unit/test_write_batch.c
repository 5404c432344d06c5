/*
 * test_write_batch.c - the WriteBatch rep: building, sequences, append, and rejection of
 * every kind of malformed rep without a single handler call.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/coding.h"
#include "write/write_batch.h"

/* Records what the handler saw, rendered as text lines "seq:OP(a,b)". */
typedef struct {
    buf_t log;
    int calls;
    int stop_at; /* -1: never; else return EIO at this call index */
} rec_t;

static int rec_put(void *arg, uint64_t seq, slice_t k, slice_t v)
{
    rec_t *r = arg;
    if (r->calls++ == r->stop_at)
        return EIO;
    buf_printf(&r->log, "%llu:P(%.*s,%.*s) ", (unsigned long long)seq, (int)k.size, k.data,
               (int)v.size, v.data);
    return 0;
}

static int rec_del(void *arg, uint64_t seq, slice_t k)
{
    rec_t *r = arg;
    if (r->calls++ == r->stop_at)
        return EIO;
    buf_printf(&r->log, "%llu:D(%.*s) ", (unsigned long long)seq, (int)k.size, k.data);
    return 0;
}

static int rec_range(void *arg, uint64_t seq, slice_t s, slice_t e)
{
    rec_t *r = arg;
    if (r->calls++ == r->stop_at)
        return EIO;
    buf_printf(&r->log, "%llu:R(%.*s,%.*s) ", (unsigned long long)seq, (int)s.size, s.data,
               (int)e.size, e.data);
    return 0;
}

static const wb_handler_t handler = {rec_put, rec_del, rec_range};

static void rec_init(rec_t *r)
{
    buf_init(&r->log);
    buf_append(&r->log, "", 0);
    r->calls = 0;
    r->stop_at = -1;
}

static const char *rec_text(rec_t *r) { return r->log.data ? r->log.data : ""; }

static void test_empty_batch(void **state)
{
    (void)state;
    write_batch_t b;
    wb_init(&b);
    assert_int_equal(wb_byte_size(&b), WB_HEADER_SIZE);
    assert_int_equal(wb_count(&b), 0);
    assert_int_equal(wb_sequence(&b), 0);
    assert_false(wb_oom(&b));
    rec_t r;
    rec_init(&r);
    status_t s = wb_iterate(wb_rep(&b), &handler, &r);
    assert_null(s);
    assert_int_equal(r.calls, 0);
    buf_free(&r.log);
    wb_destroy(&b);
}

static void test_round_trip(void **state)
{
    (void)state;
    write_batch_t b;
    wb_init(&b);
    wb_put(&b, slice_str("a"), slice_str("1"));
    wb_delete(&b, slice_str("b"));
    wb_delete_range(&b, slice_str("c"), slice_str("f"));
    wb_put(&b, slice_str("g"), slice_str("hello"));
    wb_set_sequence(&b, 100);
    assert_int_equal(wb_count(&b), 4);
    assert_int_equal(wb_sequence(&b), 100);

    rec_t r;
    rec_init(&r);
    assert_null(wb_iterate(wb_rep(&b), &handler, &r));
    assert_string_equal(rec_text(&r), "100:P(a,1) 101:D(b) 102:R(c,f) 103:P(g,hello) ");
    buf_free(&r.log);

    /* The rep is exactly the documented format. */
    slice_t rep = wb_rep(&b);
    assert_int_equal(decode_fixed64(rep.data), 100);
    assert_int_equal(decode_fixed32(rep.data + 8), 4);
    const char expect[] = "\x01\x01" "a" "\x01" "1"
                          "\x00\x01" "b"
                          "\x0f\x01" "c" "\x01" "f"
                          "\x01\x01" "g" "\x05" "hello";
    assert_int_equal(rep.size, WB_HEADER_SIZE + sizeof(expect) - 1);
    assert_memory_equal(rep.data + WB_HEADER_SIZE, expect, sizeof(expect) - 1);

    /* Sequence near the top of the range. */
    wb_set_sequence(&b, (1ull << 56) - 10);
    rec_init(&r);
    assert_null(wb_iterate(wb_rep(&b), &handler, &r));
    assert_non_null(strstr(rec_text(&r), "72057594037927929:P(g,hello)"));
    buf_free(&r.log);

    wb_clear(&b);
    assert_int_equal(wb_count(&b), 0);
    assert_int_equal(wb_sequence(&b), 0);
    assert_int_equal(wb_byte_size(&b), WB_HEADER_SIZE);
    wb_destroy(&b);
}

static void test_set_count(void **state)
{
    (void)state;
    write_batch_t b;
    wb_init(&b);
    wb_put(&b, slice_str("k"), slice_str("v"));
    wb_set_count(&b, 7);
    assert_int_equal(wb_count(&b), 7);
    /* A count that disagrees with the records is rejected. */
    status_t s = wb_validate(wb_rep(&b));
    assert_int_equal(st_code(s), ST_CORRUPTION);
    st_free(s);
    wb_set_count(&b, 1);
    assert_null(wb_validate(wb_rep(&b)));
    wb_destroy(&b);
}

static void test_append(void **state)
{
    (void)state;
    write_batch_t a, b;
    wb_init(&a);
    wb_init(&b);
    wb_put(&a, slice_str("x"), slice_str("1"));
    wb_delete(&a, slice_str("y"));
    wb_delete_range(&b, slice_str("m"), slice_str("n"));
    wb_put(&b, slice_str("z"), slice_str("2"));
    wb_put(&b, slice_str("w"), slice_str("3"));
    wb_set_sequence(&b, 999); /* src's sequence does not travel */
    wb_set_sequence(&a, 10);
    wb_append(&a, &b);
    assert_int_equal(wb_count(&a), 5);
    assert_int_equal(wb_count(&b), 3);
    assert_int_equal(wb_sequence(&a), 10);
    rec_t r;
    rec_init(&r);
    assert_null(wb_iterate(wb_rep(&a), &handler, &r));
    assert_string_equal(rec_text(&r), "10:P(x,1) 11:D(y) 12:R(m,n) 13:P(z,2) 14:P(w,3) ");
    buf_free(&r.log);

    /* Appending a batch to itself doubles it. */
    wb_append(&b, &b);
    assert_int_equal(wb_count(&b), 6);
    wb_set_sequence(&b, 1);
    rec_init(&r);
    assert_null(wb_iterate(wb_rep(&b), &handler, &r));
    assert_string_equal(rec_text(&r), "1:R(m,n) 2:P(z,2) 3:P(w,3) 4:R(m,n) 5:P(z,2) 6:P(w,3) ");
    buf_free(&r.log);

    /* Appending an empty batch changes nothing. */
    write_batch_t e;
    wb_init(&e);
    size_t before = wb_byte_size(&a);
    wb_append(&a, &e);
    assert_int_equal(wb_byte_size(&a), before);
    assert_int_equal(wb_count(&a), 5);
    wb_destroy(&e);
    wb_destroy(&a);
    wb_destroy(&b);
}

static void test_empty_keys_and_values(void **state)
{
    (void)state;
    write_batch_t b;
    wb_init(&b);
    wb_put(&b, slice_make("", 0), slice_make("", 0));
    wb_put(&b, slice_make(NULL, 0), slice_str("v"));
    wb_delete(&b, slice_make(NULL, 0));
    wb_delete_range(&b, slice_make(NULL, 0), slice_make(NULL, 0));
    /* Keys with embedded NUL bytes survive. */
    wb_put(&b, slice_make("a\0b", 3), slice_make("\0", 1));
    assert_int_equal(wb_count(&b), 5);
    rec_t r;
    rec_init(&r);
    assert_null(wb_iterate(wb_rep(&b), &handler, &r));
    assert_int_equal(r.calls, 5);
    buf_free(&r.log);
    wb_destroy(&b);
}

typedef struct {
    size_t sizes[8];
    int n;
    int ok;
} big_t;

static int big_put(void *arg, uint64_t seq, slice_t k, slice_t v)
{
    (void)seq;
    big_t *b = arg;
    for (size_t i = 0; i < v.size; i++)
        if ((unsigned char)v.data[i] != (unsigned char)((i * 7 + k.size) & 0xff))
            b->ok = 0;
    b->sizes[b->n++] = v.size;
    return 0;
}

static void test_large_values(void **state)
{
    (void)state;
    size_t sizes[] = {127, 128, 16383, 16384, 1u << 20, 3u << 20};
    write_batch_t b;
    wb_init(&b);
    for (size_t i = 0; i < 6; i++) {
        char *v = malloc(sizes[i]);
        assert_non_null(v);
        char key[8];
        memset(key, 'k', sizeof(key));
        for (size_t j = 0; j < sizes[i]; j++)
            v[j] = (char)((j * 7 + (i + 1)) & 0xff);
        wb_put(&b, slice_make(key, i + 1), slice_make(v, sizes[i]));
        free(v);
    }
    assert_false(wb_oom(&b));
    big_t got = {.n = 0, .ok = 1};
    wb_handler_t h = {big_put, NULL, NULL};
    assert_null(wb_iterate(wb_rep(&b), &h, &got));
    assert_int_equal(got.n, 6);
    assert_true(got.ok);
    for (int i = 0; i < 6; i++)
        assert_int_equal(got.sizes[i], sizes[i]);

    /* set_rep copies: the copy iterates the same even after the source is destroyed. */
    write_batch_t c;
    wb_init(&c);
    assert_null(wb_set_rep(&c, wb_rep(&b)));
    wb_destroy(&b);
    big_t got2 = {.n = 0, .ok = 1};
    assert_null(wb_iterate(wb_rep(&c), &h, &got2));
    assert_int_equal(got2.n, 6);
    assert_true(got2.ok);
    wb_destroy(&c);
}

/* Asserts that rep is rejected as Corruption by validate, iterate (no handler call) and
 * set_rep (target unchanged). */
static void expect_rejected(slice_t rep, const char *what)
{
    status_t s = wb_validate(rep);
    if (st_code(s) != ST_CORRUPTION)
        fail_msg("%s: validate returned %s", what, st_msg(s));
    st_free(s);

    rec_t r;
    rec_init(&r);
    s = wb_iterate(rep, &handler, &r);
    assert_int_equal(st_code(s), ST_CORRUPTION);
    st_free(s);
    if (r.calls != 0)
        fail_msg("%s: %d handler calls on a malformed rep", what, r.calls);
    buf_free(&r.log);

    write_batch_t b;
    wb_init(&b);
    wb_put(&b, slice_str("keep"), slice_str("me"));
    slice_t before = wb_rep(&b);
    char copy[64];
    assert_true(before.size <= sizeof(copy));
    memcpy(copy, before.data, before.size);
    size_t n = before.size;
    s = wb_set_rep(&b, rep);
    assert_int_equal(st_code(s), ST_CORRUPTION);
    st_free(s);
    assert_int_equal(wb_byte_size(&b), n);
    assert_memory_equal(wb_rep(&b).data, copy, n);
    wb_destroy(&b);
}

static void build_sample(write_batch_t *b)
{
    wb_init(b);
    wb_put(b, slice_str("alpha"), slice_str("one"));
    wb_delete(b, slice_str("beta"));
    wb_delete_range(b, slice_str("c"), slice_str("d"));
    char big[300];
    memset(big, 'v', sizeof(big)); /* two-byte varint length */
    wb_put(b, slice_str("e"), slice_make(big, sizeof(big)));
    wb_set_sequence(b, 42);
}

static void test_every_truncation_rejected(void **state)
{
    (void)state;
    write_batch_t b;
    build_sample(&b);
    slice_t rep = wb_rep(&b);
    for (size_t n = 0; n < rep.size; n++) {
        char *copy = malloc(n ? n : 1); /* exact size so ASan sees any overread */
        assert_non_null(copy);
        memcpy(copy, rep.data, n);
        char what[64];
        snprintf(what, sizeof(what), "truncated to %zu of %zu", n, rep.size);
        expect_rejected(slice_make(copy, n), what);
        free(copy);
    }
    assert_null(wb_validate(rep));
    wb_destroy(&b);
}

static void test_bad_tags(void **state)
{
    (void)state;
    write_batch_t b;
    build_sample(&b);
    slice_t rep = wb_rep(&b);
    char *copy = malloc(rep.size);
    assert_non_null(copy);
    /* Offsets of the four tags in the sample. */
    size_t tag_off[4];
    size_t off = WB_HEADER_SIZE;
    tag_off[0] = off;
    off += 1 + 1 + 5 + 1 + 3;
    tag_off[1] = off;
    off += 1 + 1 + 4;
    tag_off[2] = off;
    off += 1 + 1 + 1 + 1 + 1;
    tag_off[3] = off;
    for (int t = 0; t < 4; t++) {
        for (int tag = 0; tag < 256; tag++) {
            if (tag == TYPE_VALUE || tag == TYPE_DELETION || tag == TYPE_RANGE_DELETION)
                continue;
            memcpy(copy, rep.data, rep.size);
            copy[tag_off[t]] = (char)tag;
            char what[64];
            snprintf(what, sizeof(what), "tag %d at record %d", tag, t);
            expect_rejected(slice_make(copy, rep.size), what);
        }
    }
    /* A bad tag in the last record: the earlier (valid) records must not be delivered. */
    memcpy(copy, rep.data, rep.size);
    copy[tag_off[3]] = 0x7f;
    status_t s = wb_validate(slice_make(copy, rep.size));
    assert_non_null(strstr(st_msg(s), "unknown record tag 0x7f"));
    st_free(s);
    free(copy);
    wb_destroy(&b);
}

static void test_count_mismatch_and_trailing(void **state)
{
    (void)state;
    write_batch_t b;
    build_sample(&b);
    slice_t rep = wb_rep(&b);
    size_t n = rep.size;
    char *copy = malloc(n + 16);
    assert_non_null(copy);
    uint32_t counts[] = {0, 1, 3, 5, 100, UINT32_MAX};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        memcpy(copy, rep.data, n);
        encode_fixed32(copy + 8, counts[i]);
        char what[64];
        snprintf(what, sizeof(what), "count %u for 4 records", counts[i]);
        expect_rejected(slice_make(copy, n), what);
    }
    /* Trailing garbage: a stray byte, a whole extra (valid-looking) record, zeros. */
    memcpy(copy, rep.data, n);
    copy[n] = 0x01;
    expect_rejected(slice_make(copy, n + 1), "one trailing byte");
    memcpy(copy + n, "\x00\x01z", 3);
    expect_rejected(slice_make(copy, n + 3), "an uncounted record");
    memset(copy + n, 0, 16);
    expect_rejected(slice_make(copy, n + 16), "trailing zeros");
    status_t s = wb_validate(slice_make(copy, n + 16));
    assert_non_null(strstr(st_msg(s), "trailing"));
    st_free(s);
    /* Header only, non-zero count. */
    memcpy(copy, rep.data, WB_HEADER_SIZE);
    expect_rejected(slice_make(copy, WB_HEADER_SIZE), "header only, count 4");
    /* A varint length that claims more than 32 bits. */
    char bad[WB_HEADER_SIZE + 8];
    memset(bad, 0, sizeof(bad));
    encode_fixed32(bad + 8, 1);
    memcpy(bad + WB_HEADER_SIZE, "\x00\xff\xff\xff\xff\x7f" "ab", 8);
    expect_rejected(slice_make(bad, sizeof(bad)), "overlong varint");
    free(copy);
    wb_destroy(&b);
}

static void test_handler_error_stops(void **state)
{
    (void)state;
    write_batch_t b;
    build_sample(&b);
    rec_t r;
    rec_init(&r);
    r.stop_at = 2;
    status_t s = wb_iterate(wb_rep(&b), &handler, &r);
    assert_int_equal(st_code(s), ST_IO_ERROR);
    assert_int_equal(st_errno(s), EIO);
    st_free(s);
    assert_int_equal(r.calls, 3);
    assert_string_equal(rec_text(&r), "42:P(alpha,one) 43:D(beta) ");
    buf_free(&r.log);
    wb_destroy(&b);
}

static void test_null_callbacks_skip(void **state)
{
    (void)state;
    write_batch_t b;
    build_sample(&b);
    rec_t r;
    rec_init(&r);
    wb_handler_t only_del = {NULL, rec_del, NULL};
    assert_null(wb_iterate(wb_rep(&b), &only_del, &r));
    assert_string_equal(rec_text(&r), "43:D(beta) ");
    buf_free(&r.log);
    wb_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_batch),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_set_count),
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_empty_keys_and_values),
        cmocka_unit_test(test_large_values),
        cmocka_unit_test(test_every_truncation_rejected),
        cmocka_unit_test(test_bad_tags),
        cmocka_unit_test(test_count_mismatch_and_trailing),
        cmocka_unit_test(test_handler_error_stops),
        cmocka_unit_test(test_null_callbacks_skip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
