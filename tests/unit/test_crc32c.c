/*
 * test_crc32c.c - CRC-32C: the RFC 3720 (iSCSI) vectors, hardware and software paths in
 * agreement on every length and alignment, incremental extension, and the mask.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/crc32c.h"
#include "util/random.h"

static void check_vector(const void *data, size_t n, uint32_t want)
{
    uint32_t got = crc32c_value(data, n);
    if (got != want)
        fail_msg("crc32c: got 0x%08x, want 0x%08x (n %zu)", got, want, n);
    got = crc32c_extend_sw(0, data, n);
    if (got != want)
        fail_msg("crc32c_sw: got 0x%08x, want 0x%08x (n %zu)", got, want, n);
}

static void test_rfc3720_vectors(void **state)
{
    (void)state;
    unsigned char b[32];
    memset(b, 0, sizeof(b));
    check_vector(b, 32, 0x8a9136aa);
    memset(b, 0xff, sizeof(b));
    check_vector(b, 32, 0x62a8ab43);
    for (int i = 0; i < 32; i++)
        b[i] = (unsigned char)i;
    check_vector(b, 32, 0x46dd794e);
    for (int i = 0; i < 32; i++)
        b[i] = (unsigned char)(31 - i);
    check_vector(b, 32, 0x113fdb5c);
    check_vector("123456789", 9, 0xe3069283);
    check_vector("", 0, 0);

    /* The iSCSI SCSI Read (10) command PDU from RFC 3720 B.4. */
    static const unsigned char pdu[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    check_vector(pdu, sizeof(pdu), 0xd9963a56);
}

static void test_hw_and_sw_agree(void **state)
{
    (void)state;
    printf("hardware crc32c: %s\n", crc32c_hw_available() ? "yes" : "no");
    unsigned char raw[300 + 16];
    rnd_t r;
    rnd_seed(&r, 2024);
    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (unsigned char)(rnd_next(&r) >> 56);
    for (size_t align = 0; align < 16; align++) {
        for (size_t n = 0; n <= 300; n++) {
            const unsigned char *p = raw + align;
            uint32_t hw = crc32c_value(p, n);
            uint32_t sw = crc32c_extend_sw(0, p, n);
            if (hw != sw)
                fail_msg("align %zu len %zu: 0x%08x vs 0x%08x", align, n, hw, sw);
            /* A bytewise reference (no tables, no hardware). */
            uint32_t c = 0xffffffffu;
            for (size_t i = 0; i < n; i++) {
                c ^= p[i];
                for (int k = 0; k < 8; k++)
                    c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
            }
            if (~c != sw)
                fail_msg("align %zu len %zu: reference 0x%08x vs 0x%08x", align, n, ~c, sw);
        }
    }
}

/* Long inputs take the three-stream path (chunks of 256 bytes joined by shifting): it
 * must agree with the table fallback for every length around and past the chunk
 * boundaries, any alignment, and when extending a non-zero crc. */
static void test_long_inputs_agree(void **state)
{
    (void)state;
    enum { MAX = 5000 };
    unsigned char *raw = malloc(MAX + 16);
    assert_non_null(raw);
    rnd_t r;
    rnd_seed(&r, 77);
    for (size_t i = 0; i < MAX + 16; i++)
        raw[i] = (unsigned char)(rnd_next(&r) >> 56);
    for (size_t n = 700; n <= MAX; n += (n < 1600 ? 1 : 37)) {
        size_t align = n % 16;
        const unsigned char *p = raw + align;
        uint32_t hw = crc32c_value(p, n);
        uint32_t sw = crc32c_extend_sw(0, p, n);
        if (hw != sw)
            fail_msg("align %zu len %zu: 0x%08x vs 0x%08x", align, n, hw, sw);
        uint32_t seed = (uint32_t)rnd_next(&r);
        if (crc32c_extend(seed, p, n) != crc32c_extend_sw(seed, p, n))
            fail_msg("extend from 0x%08x, len %zu disagrees", seed, n);
    }
    free(raw);
}

static void test_extend_is_incremental(void **state)
{
    (void)state;
    unsigned char data[1000];
    rnd_t r;
    rnd_seed(&r, 5);
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)rnd_next(&r);
    uint32_t whole = crc32c_value(data, sizeof(data));
    for (size_t split = 0; split <= sizeof(data); split += 37) {
        uint32_t a = crc32c_value(data, split);
        assert_int_equal(crc32c_extend(a, data + split, sizeof(data) - split), whole);
        uint32_t s = crc32c_extend_sw(0, data, split);
        assert_int_equal(crc32c_extend_sw(s, data + split, sizeof(data) - split), whole);
    }
    /* "123456789" in three pieces. */
    uint32_t c = crc32c_value("123", 3);
    c = crc32c_extend(c, "456", 3);
    c = crc32c_extend(c, "789", 3);
    assert_int_equal(c, 0xe3069283);
    /* Any single bit flip changes the crc. */
    for (size_t i = 0; i < 64; i++) {
        data[i / 8] ^= (unsigned char)(1u << (i % 8));
        assert_int_not_equal(crc32c_value(data, sizeof(data)), whole);
        data[i / 8] ^= (unsigned char)(1u << (i % 8));
    }
}

static void test_mask(void **state)
{
    (void)state;
    uint32_t crc = crc32c_value("foo", 3);
    assert_int_not_equal(crc32c_mask(crc), crc);
    assert_int_not_equal(crc32c_mask(crc32c_mask(crc)), crc);
    assert_int_equal(crc32c_unmask(crc32c_mask(crc)), crc);
    assert_int_equal(crc32c_unmask(crc32c_unmask(crc32c_mask(crc32c_mask(crc)))), crc);
    /* The defined transform: rotate right by 15, add the delta. */
    assert_int_equal(crc32c_mask(0), CRC32C_MASK_DELTA);
    assert_int_equal(crc32c_mask(0x00008000u), 1u + CRC32C_MASK_DELTA);
    rnd_t r;
    rnd_seed(&r, 11);
    for (int i = 0; i < 100000; i++) {
        uint32_t v = (uint32_t)rnd_next(&r);
        assert_int_equal(crc32c_unmask(crc32c_mask(v)), v);
    }
    uint32_t edge[] = {0, 1, 0x7fffffff, 0x80000000u, UINT32_MAX, CRC32C_MASK_DELTA};
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
        assert_int_equal(crc32c_unmask(crc32c_mask(edge[i])), edge[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3720_vectors),
        cmocka_unit_test(test_hw_and_sw_agree),
        cmocka_unit_test(test_long_inputs_agree),
        cmocka_unit_test(test_extend_is_incremental),
        cmocka_unit_test(test_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
