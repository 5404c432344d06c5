/*
 * test_repair.c - lsm_repair_db: a store spread over several levels, L0 tables and WALs is
 * damaged (a flipped byte in one data block, a deleted table, a truncated or garbled
 * MANIFEST, a garbled CURRENT, nothing at all); repair must succeed, the store must open
 * and pass lsm_verify_checksum, and every key must read back exactly as a model says:
 * the latest state, computed without the entries that lay in the lost part (so a deletion
 * comes back only if its own tombstone was lost).
 * lsm_list_damaged_blocks: nothing on a healthy store; for the flipped block, exactly that
 * block, with bounds that hold every lost key and no key of the next block.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>

#include "testutil.h"

#include "base/dbformat.h"
#include "lsm.h"
#include "table/table.h"

#define NA 2000     /* keys a00000.. written in phase A (to the bottom), changed in B */
#define NC 100      /* keys c00000.. only in the WAL (phase C) */
#define RD1_LO 1000 /* phase B2: a flushed range tombstone [RD1_LO, RD1_HI) */
#define RD1_HI 1100
#define RD2_LO 1500 /* phase C: a range tombstone in the WAL */
#define RD2_HI 1520

typedef struct {
    char dir[64];
    uint64_t b_table;        /* the table flushed in phase B that the tests damage */
    char lost[NA];           /* 1: this key's phase-B entry is in the lost part */
} fixture_t;

static lsm_options_t *make_opts(void)
{
    lsm_options_t *o = lsm_options_create();
    lsm_options_set_create_if_missing(o, 1);
    lsm_options_set_write_buffer_size(o, 1 << 20);
    lsm_options_set_disable_auto_compactions(o, 1);
    lsm_options_set_block_size(o, 1024);
    lsm_options_set_target_file_size_base(o, 64 << 10);
    return o;
}

static void akey(int i, char *k) { snprintf(k, 16, "a%05d", i); }

static void aval(int i, int version, char *v)
{
    memset(v, 'x', 100);
    int n = snprintf(v, 100, "v%d-%d-", version, i);
    v[n] = 'x';
}

/* The model: 1 and *version when key a<i> should exist. lost: its phase-B entry is gone. */
static int a_expected(int i, int lost, int *version)
{
    int exists = 1;
    *version = 1;
    if (!lost) {
        if (i % 3 == 0)
            *version = 2;
        else if (i % 5 == 0)
            exists = 0;
    }
    if (i >= RD1_LO && i < RD1_HI)
        exists = 0;
    if (i % 7 == 0)
        exists = 0; /* deleted in the WAL */
    if (i >= RD2_LO && i < RD2_HI)
        exists = 0;
    return exists;
}

static void list_tables(const char *dir, uint64_t *v, int *n)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    *n = 0;
    while ((e = readdir(d))) {
        unsigned long long x;
        char c;
        if (sscanf(e->d_name, "%llu.ss%c", &x, &c) == 2 && c == 't')
            v[(*n)++] = x;
    }
    closedir(d);
}

static void flush(lsm_t *db)
{
    char *err = NULL;
    lsm_flushoptions_t *fo = lsm_flushoptions_create();
    lsm_flush(db, fo, &err);
    lsm_flushoptions_destroy(fo);
    assert_null(err);
}

static void build_store(fixture_t *f)
{
    assert_int_equal(tu_make_tmpdir(f->dir, sizeof(f->dir), "test_repair"), 0);
    memset(f->lost, 0, sizeof(f->lost));
    lsm_options_t *o = make_opts();
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    char *err = NULL;
    lsm_t *db = lsm_open(o, f->dir, &err);
    assert_null(err);
    char k[16], v[100], s[16], e[16];
    for (int i = 0; i < NA; i++) {
        akey(i, k);
        aval(i, 1, v);
        lsm_put(db, wo, k, 6, v, 100, &err);
        assert_null(err);
    }
    flush(db);
    lsm_compact_range(db, NULL, 0, NULL, 0, &err);
    assert_null(err);
    uint64_t before[256], after[256];
    int nb, na;
    list_tables(f->dir, before, &nb);
    /* B: overwrite every third key, delete every fifth other one; one flush. */
    for (int i = 0; i < NA; i++) {
        akey(i, k);
        if (i % 3 == 0) {
            aval(i, 2, v);
            lsm_put(db, wo, k, 6, v, 100, &err);
        } else if (i % 5 == 0) {
            lsm_delete(db, wo, k, 6, &err);
        }
        assert_null(err);
    }
    flush(db);
    list_tables(f->dir, after, &na);
    f->b_table = 0;
    for (int i = 0; i < na; i++) {
        int old = 0;
        for (int j = 0; j < nb; j++)
            old |= after[i] == before[j];
        if (!old)
            f->b_table = after[i];
    }
    assert_int_equal(na, nb + 1); /* B went into exactly one table */
    /* B2: a range tombstone alone in a flushed table. */
    akey(RD1_LO, s);
    akey(RD1_HI, e);
    lsm_delete_range(db, wo, s, 6, e, 6, &err);
    assert_null(err);
    flush(db);
    /* C: only in the WAL. */
    for (int i = 0; i < NC; i++) {
        snprintf(k, sizeof(k), "c%05d", i);
        aval(i, 3, v);
        lsm_put(db, wo, k, 6, v, 100, &err);
        assert_null(err);
    }
    for (int i = 0; i < NA; i += 7) {
        akey(i, k);
        lsm_delete(db, wo, k, 6, &err);
        assert_null(err);
    }
    akey(RD2_LO, s);
    akey(RD2_HI, e);
    lsm_delete_range(db, wo, s, 6, e, 6, &err);
    assert_null(err);
    uint64_t levels_used = 0;
    for (int l = 0; l < 7; l++) {
        char name[64];
        uint64_t n = 0;
        snprintf(name, sizeof(name), "lsm.num-files-at-level%d", l);
        if (lsm_property_int(db, name, &n) == 0 && n > 0)
            levels_used++;
    }
    assert_true(levels_used >= 2);
    lsm_close(db);
    lsm_writeoptions_destroy(wo);
    lsm_options_destroy(o);
}

static void sst_path(const fixture_t *f, uint64_t num, char *p)
{
    snprintf(p, 128, "%s/%06llu.sst", f->dir, (unsigned long long)num);
}

/* Marks the keys of the entries of table num that lie in the data block at file offset 0
 * (all of them when whole_table). Uses table_approximate_offset, which names the block
 * an entry lies in through the (undamaged) index. */
static void mark_lost(fixture_t *f, uint64_t num, int whole_table)
{
    char p[128];
    sst_path(f, num, p);
    env_t env = {0};
    table_read_options_t ro = {NULL, NULL, 1, 0};
    table_t *t;
    assert_null(table_open(&env, p, num, 0, &ro, &t));
    iter_t *it = table_iter_new(t, 1, 0);
    int n = 0;
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it)) {
        slice_t ik = iter_key(it);
        if (!whole_table && table_approximate_offset(t, ik) != 0)
            continue;
        int i;
        assert_int_equal(sscanf(ikey_user_key(ik).data, "a%5d", &i), 1);
        f->lost[i] = 1;
        n++;
    }
    assert_null(iter_status(it));
    iter_destroy(it);
    table_close(t);
    assert_true(n > 0);
}

static void repair_and_check(fixture_t *f)
{
    lsm_options_t *o = make_opts();
    char *err = NULL;
    lsm_repair_db(o, f->dir, &err);
    if (err)
        fail_msg("repair: %s", err);
    lsm_t *db = lsm_open(o, f->dir, &err);
    if (err)
        fail_msg("open after repair: %s", err);
    lsm_verify_checksum(db, &err);
    assert_null(err);
    lsm_readoptions_t *ro = lsm_readoptions_create();
    char k[16], v[100];
    int present = 0;
    for (int i = 0; i < NA; i++) {
        akey(i, k);
        int version;
        int want = a_expected(i, f->lost[i], &version);
        size_t vl = 0;
        char *got = lsm_get(db, ro, k, 6, &vl, &err);
        assert_null(err);
        if (!want) {
            if (got)
                fail_msg("%s came back after repair (lost %d)", k, f->lost[i]);
            continue;
        }
        if (!got)
            fail_msg("%s missing after repair (lost %d)", k, f->lost[i]);
        aval(i, version, v);
        assert_int_equal(vl, 100);
        assert_memory_equal(got, v, 100);
        lsm_free(got);
        present++;
    }
    for (int i = 0; i < NC; i++) {
        snprintf(k, sizeof(k), "c%05d", i);
        size_t vl = 0;
        char *got = lsm_get(db, ro, k, 6, &vl, &err);
        assert_null(err);
        assert_non_null(got);
        aval(i, 3, v);
        assert_int_equal(vl, 100);
        assert_memory_equal(got, v, 100);
        lsm_free(got);
    }
    assert_true(present > NA / 2);
    /* Writable afterwards, and a second repair of a healthy store changes nothing. */
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    lsm_put(db, wo, "zz", 2, "1", 1, &err);
    assert_null(err);
    lsm_writeoptions_destroy(wo);
    lsm_readoptions_destroy(ro);
    lsm_close(db);
    lsm_options_destroy(o);
}

static void cleanup(fixture_t *f) { tu_remove_tree(f->dir); }

static void overwrite(const char *path, off_t off, const char *bytes, size_t n)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
    close(fd);
}

static void test_undamaged(void **state)
{
    (void)state;
    fixture_t f;
    build_store(&f);
    repair_and_check(&f);
    repair_and_check(&f); /* twice: repair of a repaired store */
    cleanup(&f);
}

/* Flips a byte inside the first data block of phase B's table (its path into p). */
static void flip_first_block(const fixture_t *f, char *p)
{
    sst_path(f, f->b_table, p);
    char c;
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, 20), 1);
    c ^= 0x40;
    assert_int_equal(pwrite(fd, &c, 1, 20), 1);
    close(fd);
}

static void test_flipped_data_block(void **state)
{
    (void)state;
    fixture_t f;
    build_store(&f);
    mark_lost(&f, f.b_table, 0);
    char p[128];
    flip_first_block(&f, p);
    /* The damage is real: the store no longer verifies. */
    lsm_options_t *o = make_opts();
    char *err = NULL;
    lsm_t *db = lsm_open(o, f.dir, &err);
    if (db) {
        lsm_verify_checksum(db, &err);
        lsm_close(db);
    }
    assert_non_null(err);
    lsm_free(err);
    lsm_options_destroy(o);
    repair_and_check(&f);
    cleanup(&f);
}

typedef struct {
    int n;
    char table[128];
    uint64_t offset;
    char lo[32], hi[32];
    size_t lo_len, hi_len;
    int lo_open, hi_open;
} damage_seen_t;

static int on_damage(void *arg, const lsm_damaged_block_t *b)
{
    damage_seen_t *d = arg;
    d->n++;
    snprintf(d->table, sizeof(d->table), "%s", b->table);
    d->offset = b->offset;
    d->lo_open = b->lo == NULL;
    d->hi_open = b->hi == NULL;
    d->lo_len = b->lo_len < sizeof(d->lo) ? b->lo_len : sizeof(d->lo);
    d->hi_len = b->hi_len < sizeof(d->hi) ? b->hi_len : sizeof(d->hi);
    if (b->lo)
        memcpy(d->lo, b->lo, d->lo_len);
    if (b->hi)
        memcpy(d->hi, b->hi, d->hi_len);
    return 0;
}

static int cmp_bound(const char *k, size_t kl, const char *b, size_t bl)
{
    int c = memcmp(k, b, kl < bl ? kl : bl);
    return c ? c : (kl > bl) - (kl < bl);
}

static void test_list_damaged_blocks(void **state)
{
    (void)state;
    fixture_t f;
    build_store(&f);
    lsm_options_t *o = make_opts();
    char *err = NULL;
    damage_seen_t d;
    memset(&d, 0, sizeof(d));
    assert_int_equal(lsm_list_damaged_blocks(o, f.dir, on_damage, &d, &err), 0);
    assert_null(err);
    assert_int_equal(d.n, 0);

    mark_lost(&f, f.b_table, 0);
    char p[128];
    flip_first_block(&f, p);
    assert_int_equal(lsm_list_damaged_blocks(o, f.dir, on_damage, &d, &err), 1);
    assert_null(err);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.table, p);
    assert_int_equal(d.offset, 0);
    assert_false(d.lo_open); /* the first block: bounded by the table's smallest key */
    assert_false(d.hi_open);
    /* Every key of that table in the lost block lies in [lo, hi]; the others above hi. */
    int lost = 0, above = 0;
    for (int i = 0; i < NA; i++) {
        if (i % 3 != 0 && i % 5 != 0)
            continue; /* not in table B */
        char k[16];
        akey(i, k);
        if (f.lost[i]) {
            assert_true(cmp_bound(k, 6, d.lo, d.lo_len) >= 0);
            assert_true(cmp_bound(k, 6, d.hi, d.hi_len) <= 0);
            lost++;
        } else {
            assert_true(cmp_bound(k, 6, d.hi, d.hi_len) > 0);
            above++;
        }
    }
    assert_true(lost > 0 && above > 0);
    /* Nothing was changed: a repair still finds (and loses) the same block. */
    repair_and_check(&f);
    assert_int_equal(lsm_list_damaged_blocks(o, f.dir, on_damage, &d, &err), 0);
    assert_null(err);
    lsm_options_destroy(o);
    cleanup(&f);
}

static void test_missing_table(void **state)
{
    (void)state;
    fixture_t f;
    build_store(&f);
    mark_lost(&f, f.b_table, 1);
    char p[128];
    sst_path(&f, f.b_table, p);
    assert_int_equal(unlink(p), 0);
    repair_and_check(&f);
    cleanup(&f);
}

static void manifest_path(const fixture_t *f, char *p)
{
    char cur[64] = {0};
    char cp[128];
    snprintf(cp, sizeof(cp), "%s/CURRENT", f->dir);
    FILE *fp = fopen(cp, "r");
    assert_non_null(fp);
    assert_non_null(fgets(cur, sizeof(cur), fp));
    fclose(fp);
    cur[strcspn(cur, "\n")] = 0;
    snprintf(p, 192, "%s/%s", f->dir, cur);
}

static void test_truncated_manifest(void **state)
{
    (void)state;
    fixture_t f;
    build_store(&f);
    char p[192];
    manifest_path(&f, p);
    assert_int_equal(truncate(p, 10), 0);
    repair_and_check(&f);
    cleanup(&f);
}

static void test_garbled_manifest(void **state)
{
    (void)state;
    fixture_t f;
    build_store(&f);
    char p[192];
    manifest_path(&f, p);
    overwrite(p, 0, "garbagegarbagegarbage", 21);
    repair_and_check(&f);
    cleanup(&f);
}

static void test_garbled_current(void **state)
{
    (void)state;
    fixture_t f;
    build_store(&f);
    char p[128];
    snprintf(p, sizeof(p), "%s/CURRENT", f.dir);
    overwrite(p, 0, "XANIFEST", 8);
    lsm_options_t *o = make_opts();
    char *err = NULL;
    lsm_t *db = lsm_open(o, f.dir, &err);
    assert_null(db);
    assert_non_null(err);
    lsm_free(err);
    lsm_options_destroy(o);
    repair_and_check(&f);
    cleanup(&f);
}

static void test_busy_while_open(void **state)
{
    (void)state;
    char dir[64];
    assert_int_equal(tu_make_tmpdir(dir, sizeof(dir), "test_repair"), 0);
    lsm_options_t *o = make_opts();
    char *err = NULL;
    lsm_t *db = lsm_open(o, dir, &err);
    assert_null(err);
    lsm_repair_db(o, dir, &err);
    assert_non_null(err);
    assert_int_equal(lsm_error_errno(err), EBUSY);
    lsm_free(err);
    lsm_close(db);
    err = NULL;
    lsm_repair_db(o, "/tmp/test_repair.does-not-exist", &err);
    assert_non_null(err);
    lsm_free(err);
    lsm_options_destroy(o);
    tu_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_undamaged),
        cmocka_unit_test(test_flipped_data_block),
        cmocka_unit_test(test_list_damaged_blocks),
        cmocka_unit_test(test_missing_table),
        cmocka_unit_test(test_truncated_manifest),
        cmocka_unit_test(test_garbled_manifest),
        cmocka_unit_test(test_garbled_current),
        cmocka_unit_test(test_busy_while_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
