/*
 * test_db_levels.c - the engine as an LSM tree larger than memory: data many times the
 * write buffer flows through flushes and compactions into several levels, reads and
 * iterators stay right across memtables and levels, write amplification and level shape
 * are reported, and memory stays bounded (RSS under write buffers + block cache + 64 MiB).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "lsm.h"
#include "util/random.h"

static char g_dir[64];

static int setup(void **state)
{
    (void)state;
    return tu_make_tmpdir(g_dir, sizeof(g_dir), "test_db_levels");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rm_rf(g_dir);
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static void make_value(uint64_t k, uint64_t version, char *v, size_t n)
{
    rnd_t r;
    rnd_seed(&r, k * 1000003 + version);
    for (size_t i = 0; i < n; i++)
        v[i] = (char)('a' + rnd_uniform(&r, 26));
}

/* Writes 20x the write buffer in random order with overwrites, checking memory as it
 * goes, then verifies every key through get and a full scan, before and after reopen. */
static void test_bigger_than_memory(void **state)
{
    (void)state;
    const size_t wbuf = 2u << 20, cache = 4u << 20, vlen = 200;
    const uint64_t nkeys = 100000; /* 100k distinct keys, 210k writes: ~45 MB of data */
    lsm_options_t *o = lsm_options_create();
    lsm_options_set_create_if_missing(o, 1);
    lsm_options_set_write_buffer_size(o, wbuf);
    lsm_options_set_block_cache_size(o, cache);
    lsm_options_set_max_bytes_for_level_base(o, 8u << 20);
    lsm_options_set_target_file_size_base(o, 2u << 20);
    char *err = NULL;
    lsm_t *db = lsm_open(o, g_dir, &err);
    assert_null(err);
    long rss0 = rss_kib();
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    uint64_t *version = calloc(nkeys, sizeof(uint64_t));
    rnd_t r;
    rnd_seed(&r, 7);
    char key[32], val[256];
    long peak = 0;
    for (uint64_t i = 0; i < nkeys * 21 / 10; i++) {
        uint64_t k = i < nkeys ? (i * 7919) % nkeys : rnd_uniform(&r, nkeys);
        version[k]++;
        snprintf(key, sizeof(key), "key%012llu", (unsigned long long)k);
        make_value(k, version[k], val, vlen);
        lsm_put(db, wo, key, strlen(key), val, vlen, &err);
        assert_null(err);
        if (i % 20000 == 0) {
            long rss = rss_kib() - rss0;
            if (rss > peak)
                peak = rss;
        }
    }
    long budget_kib = (long)((wbuf * 2 + cache) >> 10) + 64 * 1024;
    printf("peak RSS growth %ld KiB (budget %ld KiB)\n", peak, budget_kib);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    (void)budget_kib; /* sanitizer shadow memory and quarantine make RSS meaningless */
#else
    assert_true(peak < budget_kib);
#endif
    char *stats = lsm_property_value(db, "lsm.stats");
    printf("%s", stats);
    lsm_free(stats);
    uint64_t l0 = 0, deeper = 0, n;
    for (int l = 0; l < 7; l++) {
        char prop[64];
        snprintf(prop, sizeof(prop), "lsm.num-files-at-level%d", l);
        assert_int_equal(lsm_property_int(db, prop, &n), 0);
        if (l == 0)
            l0 = n;
        else
            deeper += n;
    }
    assert_true(deeper > 0);      /* compaction moved data below L0 */
    assert_true(l0 <= 20);        /* and kept L0 under the slowdown trigger */
    for (int round = 0; round < 2; round++) {
        lsm_readoptions_t *ro = lsm_readoptions_create();
        for (uint64_t k = 0; k < nkeys; k += 7) {
            snprintf(key, sizeof(key), "key%012llu", (unsigned long long)k);
            size_t vl;
            char *v = lsm_get(db, ro, key, strlen(key), &vl, &err);
            assert_null(err);
            assert_non_null(v);
            make_value(k, version[k], val, vlen);
            assert_int_equal(vl, vlen);
            assert_memory_equal(v, val, vlen);
            lsm_free(v);
        }
        lsm_iterator_t *it = lsm_create_iterator(db, ro);
        uint64_t k = 0;
        for (lsm_iter_seek_to_first(it); lsm_iter_valid(it); lsm_iter_next(it), k++) {
            size_t kl, vl;
            const char *kk = lsm_iter_key(it, &kl);
            snprintf(key, sizeof(key), "key%012llu", (unsigned long long)k);
            assert_int_equal(kl, strlen(key));
            assert_memory_equal(kk, key, kl);
            const char *vv = lsm_iter_value(it, &vl);
            make_value(k, version[k], val, vlen);
            assert_memory_equal(vv, val, vlen);
        }
        assert_int_equal(k, nkeys);
        lsm_iter_get_error(it, &err);
        assert_null(err);
        lsm_iter_destroy(it);
        lsm_readoptions_destroy(ro);
        lsm_close(db);
        db = lsm_open(o, g_dir, &err);
        assert_null(err);
    }
    lsm_verify_checksum(db, &err);
    assert_null(err);
    /* a full compaction leaves one sorted run, and range deletes empty it */
    lsm_delete_range(db, wo, "key", 3, "kez", 3, &err);
    assert_null(err);
    lsm_compact_range(db, NULL, 0, NULL, 0, &err);
    assert_null(err);
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_iterator_t *it = lsm_create_iterator(db, ro);
    lsm_iter_seek_to_first(it);
    assert_false(lsm_iter_valid(it));
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
    uint64_t total = 1;
    assert_int_equal(lsm_property_int(db, "lsm.total-sst-files-size", &total), 0);
    printf("after delete_range + full compaction: %llu bytes of tables\n", (unsigned long long)total);
    stats = lsm_property_value(db, "lsm.levels");
    printf("%s", stats);
    lsm_free(stats);
    assert_true(total < 4096); /* the tombstone and everything under it dropped at the bottom */
    lsm_close(db);
    free(version);
    lsm_writeoptions_destroy(wo);
    lsm_options_destroy(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bigger_than_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
