/*
 * test_filename.c - file names of a store: building them, and classifying names found in
 * a directory strictly (stray files must never be taken for the store's own).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "db/filename.h"

static void test_build(void **state)
{
    (void)state;
    char b[128];
    assert_string_equal(fn_log(b, sizeof(b), "/s", 7), "/s/000007.log");
    assert_string_equal(fn_table(b, sizeof(b), "/s", 123), "/s/000123.sst");
    assert_string_equal(fn_table(b, sizeof(b), "d", 12345678), "d/12345678.sst");
    assert_string_equal(fn_manifest(b, sizeof(b), "/s", 5), "/s/MANIFEST-000005");
    assert_string_equal(fn_current(b, sizeof(b), "/s"), "/s/CURRENT");
    assert_string_equal(fn_lock(b, sizeof(b), "/s"), "/s/LOCK");
    /* Truncated output stays NUL-terminated. */
    char small[8];
    fn_table(small, sizeof(small), "/store", 1);
    assert_int_equal(strlen(small), 7);
}

static void test_parse_good(void **state)
{
    (void)state;
    uint64_t n = 0;
    assert_int_equal(fn_parse("CURRENT", &n), FT_CURRENT);
    assert_int_equal(fn_parse("LOCK", &n), FT_LOCK);
    assert_int_equal(fn_parse("000042.log", &n), FT_LOG);
    assert_int_equal(n, 42);
    assert_int_equal(fn_parse("000100.sst", &n), FT_TABLE);
    assert_int_equal(n, 100);
    assert_int_equal(fn_parse("MANIFEST-000009", &n), FT_MANIFEST);
    assert_int_equal(n, 9);
    assert_int_equal(fn_parse("18446744073709551615.sst", &n), FT_TABLE);
    assert_int_equal(n, UINT64_MAX);
    assert_int_equal(fn_parse("CURRENT.tmp", &n), FT_TEMP);
    assert_int_equal(fn_parse("000003.sst.tmp", &n), FT_TEMP);
}

static void test_parse_round_trip(void **state)
{
    (void)state;
    uint64_t nums[] = {0, 1, 999999, 1000000, 1ull << 40};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        char b[128];
        uint64_t n = ~0ull;
        fn_table(b, sizeof(b), ".", nums[i]);
        assert_int_equal(fn_parse(b + 2, &n), FT_TABLE);
        assert_int_equal(n, nums[i]);
        fn_log(b, sizeof(b), ".", nums[i]);
        assert_int_equal(fn_parse(b + 2, &n), FT_LOG);
        assert_int_equal(n, nums[i]);
        fn_manifest(b, sizeof(b), ".", nums[i]);
        assert_int_equal(fn_parse(b + 2, &n), FT_MANIFEST);
        assert_int_equal(n, nums[i]);
    }
}

static void test_parse_rejects(void **state)
{
    (void)state;
    const char *bad[] = {
        "", "CURRENTX", "current", "LOCK1", ".log", ".sst", "x12.log", "12x.sst", "-1.sst",
        "+1.sst", " 1.sst", "1.ssT", "1.logs", "MANIFEST-", "MANIFEST-12a", "MANIFEST--1",
        "manifest-000001", "18446744073709551616.sst", "99999999999999999999.log", ".tmp",
        "000001.ldb",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t n = 77;
        if (fn_parse(bad[i], &n) != FT_UNKNOWN)
            fail_msg("\"%s\" was classified as %d", bad[i], fn_parse(bad[i], &n));
        assert_int_equal(n, 77);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_round_trip),
        cmocka_unit_test(test_parse_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
