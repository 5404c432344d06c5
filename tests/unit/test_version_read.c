/*
 * test_version_read.c - lookups, iterators and range tombstones through a version, over
 * real SSTs written by the table builder: L0 newest first, one file per deeper level,
 * tombstones hiding older files and deeper levels (but not their own end key), versions
 * of one user key split across two files, level iterators against a model in both
 * directions, and errors from a missing file reported rather than skipped.
 */
#include <errno.h>
#include <pthread.h>
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

#include "base/dbformat.h"
#include "db/filename.h"
#include "db/version_read.h"
#include "db/version_set.h"
#include "mem/range_del.h"
#include "table/merger.h"
#include "table/table_builder.h"
#include "db/table_cache.h"
#include "util/arena.h"
#include "util/random.h"

typedef struct {
    char dir[64];
    env_t env;
    mutex_t mu;
    version_set_t *vs;
    table_cache_t *tc;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    if (tu_make_tmpdir(f->dir, sizeof(f->dir), "test_vread"))
        return -1;
    mutex_init(&f->mu);
    vset_options_t o;
    vset_options_default(&o);
    o.num_levels = 4;
    if (vset_create(&f->env, f->dir, &o, &f->vs))
        return -1;
    table_read_options_t ro = {NULL, NULL, 1, 0};
    f->tc = table_cache_new(&f->env, f->dir, 16, &ro);
    if (!f->tc)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    table_cache_destroy(f->tc);
    vset_close(f->vs);
    int r = tu_rm_rf(f->dir);
    mutex_destroy(&f->mu);
    free(f);
    return r;
}

#define OK(expr) do { status_t s__ = (expr); if (s__) fail_msg("%s: %s", #expr, st_msg(s__)); } while (0)

typedef struct {
    const char *key;
    uint64_t seq;
    value_type_t type; /* TYPE_VALUE, TYPE_DELETION or TYPE_RANGE_DELETION (value = end) */
    const char *value;
} ent_t;

static int ent_cmp(const void *a, const void *b)
{
    const ent_t *x = a, *y = b;
    int r = strcmp(x->key, y->key);
    if (r)
        return r;
    return x->seq > y->seq ? -1 : (x->seq < y->seq);
}

/* Writes table `number` from ents (any order) and adds it to e at level. */
static void build_table(fixture_t *f, version_edit_t *e, int level, uint64_t number,
                        ent_t *ents, int n)
{
    qsort(ents, (size_t)n, sizeof(ent_t), ent_cmp);
    char path[256];
    fn_table(path, sizeof(path), f->dir, number);
    wfile_t *wf;
    OK(wfile_open(&f->env, path, 0, &wf));
    table_options_t to;
    table_options_default(&to);
    to.block_size = 64; /* several blocks even for small tables */
    table_builder_t *b = table_builder_new(&to, wf);
    assert_non_null(b);
    for (int i = 0; i < n; i++) {
        if (ents[i].type == TYPE_RANGE_DELETION) {
            OK(table_builder_add_range_del(b, slice_str(ents[i].key), slice_str(ents[i].value),
                                           ents[i].seq));
            continue;
        }
        char k[128];
        ikey_encode(k, slice_str(ents[i].key), ents[i].seq, ents[i].type);
        const char *v = ents[i].value ? ents[i].value : "";
        OK(table_builder_add(b, slice_make(k, strlen(ents[i].key) + 8), slice_str(v)));
    }
    OK(table_builder_finish(b));
    version_edit_add_new_file(e, level, number, table_builder_file_size(b),
                              table_builder_smallest(b), table_builder_largest(b),
                              table_builder_smallest_seq(b), table_builder_largest_seq(b),
                              table_builder_num_entries(b), table_builder_num_range_dels(b));
    table_builder_destroy(b);
    OK(wfile_sync(wf));
    OK(wfile_close(wf));
    vset_mark_file_number_used(f->vs, number);
}

static void apply(fixture_t *f, version_edit_t *e)
{
    mutex_lock(&f->mu);
    OK(vset_log_and_apply(f->vs, e, &f->mu));
    mutex_unlock(&f->mu);
    version_edit_free(e);
}

static void expect_get(fixture_t *f, const char *key, uint64_t snap, vget_result_t want,
                       const char *want_value)
{
    version_t *v = vset_current(f->vs);
    buf_t val;
    buf_init(&val);
    vget_result_t r;
    OK(version_get(v, f->tc, slice_str(key), snap, 1, 1, &val, &r));
    if (r != want)
        fail_msg("get %s at %llu: result %d, want %d", key, (unsigned long long)snap, r, want);
    if (want == VGET_FOUND) {
        if (val.len != strlen(want_value) || memcmp(val.data, want_value, val.len) != 0)
            fail_msg("get %s at %llu: value \"%.*s\", want \"%s\"", key,
                     (unsigned long long)snap, (int)val.len, val.data, want_value);
    }
    buf_free(&val);
    version_unref(v);
}

/* The layout of the main scenario. */
static void build_scenario(fixture_t *f)
{
    version_edit_t e;
    version_edit_init(&e);
    ent_t l2[] = {{"k2", 1, TYPE_VALUE, "old2"}, {"k9", 2, TYPE_VALUE, "v9"}};
    build_table(f, &e, 2, 30, l2, 2);
    ent_t l1a[] = {{"k1", 5, TYPE_VALUE, "v5"}, {"k3", 6, TYPE_VALUE, "v6"},
                   {"k6", 7, TYPE_VALUE, "v7"}};
    build_table(f, &e, 1, 20, l1a, 3);
    ent_t l1b[] = {{"k8", 8, TYPE_VALUE, "v8"}};
    build_table(f, &e, 1, 21, l1b, 1);
    ent_t l0old[] = {{"k1", 20, TYPE_VALUE, "v20"}, {"k2", 21, TYPE_DELETION, NULL},
                     {"k5", 22, TYPE_VALUE, "v22"}};
    build_table(f, &e, 0, 11, l0old, 3);
    ent_t l0new[] = {{"k1", 30, TYPE_VALUE, "v30"}, {"k5", 31, TYPE_RANGE_DELETION, "k7"}};
    build_table(f, &e, 0, 12, l0new, 2);
    apply(f, &e);
}

static void test_get(void **state)
{
    fixture_t *f = *state;
    build_scenario(f);
    const uint64_t L = MAX_SEQUENCE;
    expect_get(f, "k1", L, VGET_FOUND, "v30");
    expect_get(f, "k1", 29, VGET_FOUND, "v20");
    expect_get(f, "k1", 10, VGET_FOUND, "v5");
    expect_get(f, "k1", 4, VGET_NOT_FOUND, NULL);
    expect_get(f, "k2", L, VGET_DELETED, NULL);
    expect_get(f, "k2", 20, VGET_FOUND, "old2");
    expect_get(f, "k2", 0, VGET_NOT_FOUND, NULL);
    expect_get(f, "k3", L, VGET_FOUND, "v6");
    /* The tombstone [k5, k7)@31 in the newest L0 file hides k5@22 in an older L0 file
     * and k6@7 in L1, but not below its snapshot, and not k7. */
    expect_get(f, "k5", L, VGET_DELETED, NULL);
    expect_get(f, "k5", 30, VGET_FOUND, "v22");
    expect_get(f, "k55", L, VGET_DELETED, NULL);
    expect_get(f, "k6", L, VGET_DELETED, NULL);
    expect_get(f, "k6", 30, VGET_FOUND, "v7");
    expect_get(f, "k7", L, VGET_NOT_FOUND, NULL);
    expect_get(f, "k8", L, VGET_FOUND, "v8");
    expect_get(f, "k9", L, VGET_FOUND, "v9");
    expect_get(f, "k0", L, VGET_NOT_FOUND, NULL);
    expect_get(f, "zz", L, VGET_NOT_FOUND, NULL);
    expect_get(f, "", L, VGET_NOT_FOUND, NULL);
}

static void test_split_user_key_and_tombstone_end(void **state)
{
    fixture_t *f = *state;
    version_edit_t e;
    version_edit_init(&e);
    /* L1: versions of x split across 40 and 41. */
    ent_t a[] = {{"w", 10, TYPE_VALUE, "w10"}, {"x", 9, TYPE_VALUE, "a9"},
                 {"x", 5, TYPE_VALUE, "a5"}};
    build_table(f, &e, 1, 40, a, 3);
    ent_t b[] = {{"x", 4, TYPE_VALUE, "b4"}, {"x", 1, TYPE_DELETION, NULL},
                 {"y", 3, TYPE_VALUE, "y3"}};
    build_table(f, &e, 1, 41, b, 3);
    /* L1: 42 ends with a tombstone [q2, s) (largest = s sentinel), 43 starts at s. */
    ent_t c[] = {{"q1", 5, TYPE_VALUE, "q1"}, {"q2", 6, TYPE_RANGE_DELETION, "s"}};
    build_table(f, &e, 1, 42, c, 2);
    ent_t d[] = {{"s", 3, TYPE_VALUE, "s3"}, {"t", 3, TYPE_VALUE, "t3"}};
    build_table(f, &e, 1, 43, d, 2);
    /* L2 under everything. */
    ent_t g[] = {{"r", 1, TYPE_VALUE, "r1"}, {"x", 0, TYPE_VALUE, "x0"}};
    build_table(f, &e, 2, 50, g, 2);
    apply(f, &e);
    expect_get(f, "x", MAX_SEQUENCE, VGET_FOUND, "a9");
    expect_get(f, "x", 8, VGET_FOUND, "a5");
    expect_get(f, "x", 4, VGET_FOUND, "b4");
    expect_get(f, "x", 2, VGET_DELETED, NULL);
    expect_get(f, "x", 0, VGET_FOUND, "x0");
    expect_get(f, "w", 100, VGET_FOUND, "w10");
    expect_get(f, "y", 100, VGET_FOUND, "y3");
    expect_get(f, "r", 100, VGET_DELETED, NULL); /* tombstone in L1 hides L2's r */
    expect_get(f, "r", 5, VGET_FOUND, "r1");
    expect_get(f, "s", 100, VGET_FOUND, "s3");   /* the end is exclusive */
    expect_get(f, "q1", 100, VGET_FOUND, "q1");
    expect_get(f, "t", 100, VGET_FOUND, "t3");
}

/* Collects key strings "user@seq" from an iterator walk. */
static void walk(iter_t *it, int forward, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    if (forward)
        iter_seek_to_first(it);
    else
        iter_seek_to_last(it);
    while (iter_valid(it)) {
        slice_t key = iter_key(it);
        k += (size_t)snprintf(out + k, n - k, "%s%.*s@%llu", k ? " " : "",
                              (int)(key.size - 8), key.data,
                              (unsigned long long)ikey_seq(key));
        if (forward)
            iter_next(it);
        else
            iter_prev(it);
    }
    assert_null(iter_status(it));
}

static void test_iterators_and_range_dels(void **state)
{
    fixture_t *f = *state;
    build_scenario(f);
    version_t *v = vset_current(f->vs);
    iter_t **its;
    int n;
    OK(version_add_iterators(v, f->tc, 1, 1, &its, &n));
    assert_int_equal(n, 4); /* two L0 files, L1, L2 */
    iter_t *m = merging_iter_new(its, n);
    free(its);
    assert_non_null(m);
    version_unref(v); /* the level iterators keep their own reference */
    char got[512];
    walk(m, 1, got, sizeof(got));
    assert_string_equal(got, "k1@30 k1@20 k1@5 k2@21 k2@1 k3@6 k5@22 k6@7 k8@8 k9@2");
    walk(m, 0, got, sizeof(got));
    assert_string_equal(got, "k9@2 k8@8 k6@7 k5@22 k3@6 k2@1 k2@21 k1@5 k1@20 k1@30");
    char k[64];
    ikey_encode(k, slice_str("k4"), MAX_SEQUENCE, TYPE_FOR_SEEK);
    iter_seek(m, slice_make(k, 10));
    assert_true(iter_valid(m));
    assert_memory_equal(iter_key(m).data, "k5", 2);
    iter_seek_for_prev(m, slice_make(k, 10));
    assert_true(iter_valid(m));
    assert_memory_equal(iter_key(m).data, "k3", 2);
    iter_destroy(m);

    v = vset_current(f->vs);
    arena_t arena;
    arena_init(&arena, 4096);
    range_del_t rd;
    assert_int_equal(range_del_init(&rd, &arena), 0);
    OK(version_add_range_dels(v, f->tc, &rd, 30));
    assert_int_equal(range_del_count(&rd), 0);
    OK(version_add_range_dels(v, f->tc, &rd, MAX_SEQUENCE));
    assert_int_equal(range_del_count(&rd), 1);
    assert_int_equal(range_del_max_covering(&rd, slice_str("k6"), MAX_SEQUENCE), 31);
    assert_int_equal(range_del_max_covering(&rd, slice_str("k7"), MAX_SEQUENCE), 0);
    range_del_destroy(&rd);
    arena_destroy(&arena);
    version_unref(v);
}

/* One level of many files against a sorted model, in both directions and with seeks. */
static void test_level_iterator_model(void **state)
{
    fixture_t *f = *state;
    enum { FILES = 25, PER = 12 };
    static char keys[FILES * PER][16];
    version_edit_t e;
    version_edit_init(&e);
    for (int i = 0; i < FILES; i++) {
        ent_t ents[PER];
        for (int j = 0; j < PER; j++) {
            int id = i * PER + j;
            snprintf(keys[id], sizeof(keys[id]), "key%05d", id * 2); /* gaps at odd ids */
            ents[j] = (ent_t){keys[id], (uint64_t)id + 1, TYPE_VALUE, keys[id]};
        }
        build_table(f, &e, 2, 100 + (uint64_t)i, ents, PER);
    }
    apply(f, &e);
    version_t *v = vset_current(f->vs);
    iter_t *it = version_level_iter_new(v, 2, f->tc, 1, 1);
    version_unref(v);
    assert_non_null(it);
    int total = FILES * PER, cnt = 0;
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it), cnt++) {
        slice_t k = iter_key(it);
        assert_true(slice_equal(ikey_user_key(k), slice_str(keys[cnt])));
        assert_true(slice_equal(iter_value(it), slice_str(keys[cnt])));
    }
    assert_int_equal(cnt, total);
    cnt = total;
    for (iter_seek_to_last(it); iter_valid(it); iter_prev(it))
        assert_true(slice_equal(ikey_user_key(iter_key(it)), slice_str(keys[--cnt])));
    assert_int_equal(cnt, 0);

    rnd_t r;
    rnd_seed(&r, 99);
    for (int q = 0; q < 400; q++) {
        int target = (int)rnd_uniform(&r, (uint64_t)total * 2 + 4) - 2; /* some out of range */
        char tk[32], ik[48];
        snprintf(tk, sizeof(tk), "key%05d", target < 0 ? 0 : target);
        if (target < 0)
            strcpy(tk, "a");
        ikey_encode(ik, slice_str(tk), MAX_SEQUENCE, TYPE_FOR_SEEK);
        slice_t t = slice_make(ik, strlen(tk) + 8);
        /* First model key >= tk, last model key <= tk. */
        int ge = 0;
        while (ge < total && strcmp(keys[ge], tk) < 0)
            ge++;
        int le = ge < total && strcmp(keys[ge], tk) == 0 ? ge : ge - 1;
        iter_seek(it, t);
        if (ge == total) {
            assert_false(iter_valid(it));
        } else {
            assert_true(iter_valid(it));
            assert_true(slice_equal(ikey_user_key(iter_key(it)), slice_str(keys[ge])));
            /* Step back and forth across file boundaries. */
            if (rnd_one_in(&r, 2)) {
                iter_prev(it);
                if (ge == 0) {
                    assert_false(iter_valid(it));
                } else {
                    assert_true(iter_valid(it));
                    assert_true(slice_equal(ikey_user_key(iter_key(it)), slice_str(keys[ge - 1])));
                }
            }
        }
        /* For seek_for_prev the target is the largest internal key of tk. */
        ikey_encode(ik, slice_str(tk), 0, TYPE_DELETION);
        iter_seek_for_prev(it, t);
        if (le < 0) {
            assert_false(iter_valid(it));
        } else {
            assert_true(iter_valid(it));
            assert_true(slice_equal(ikey_user_key(iter_key(it)), slice_str(keys[le])));
            iter_next(it);
            if (le + 1 == total)
                assert_false(iter_valid(it));
            else
                assert_true(slice_equal(ikey_user_key(iter_key(it)), slice_str(keys[le + 1])));
        }
        assert_null(iter_status(it));
    }
    iter_destroy(it);
    /* Lazily opened: the cache does not hold all 25 tables at once beyond its budget. */
    assert_true(table_cache_open_tables(f->tc) <= 16);
}

static void test_missing_file_is_an_error(void **state)
{
    fixture_t *f = *state;
    build_scenario(f);
    char p[256];
    unlink(fn_table(p, sizeof(p), f->dir, 30)); /* L2, never opened so far */
    version_t *v = vset_current(f->vs);
    buf_t val;
    buf_init(&val);
    vget_result_t r = VGET_FOUND;
    /* Keys decided above L2 are still answered. */
    OK(version_get(v, f->tc, slice_str("k1"), MAX_SEQUENCE, 1, 1, &val, &r));
    assert_int_equal(r, VGET_FOUND);
    status_t s = version_get(v, f->tc, slice_str("k9"), MAX_SEQUENCE, 1, 1, &val, &r);
    assert_non_null(s);
    assert_int_equal(r, VGET_NOT_FOUND);
    assert_non_null(strstr(st_msg(s), "000030.sst"));
    st_free(s);
    buf_free(&val);

    iter_t **its;
    int n;
    OK(version_add_iterators(v, f->tc, 1, 1, &its, &n));
    iter_t *m = merging_iter_new(its, n);
    free(its);
    int cnt = 0;
    for (iter_seek_to_first(m); iter_valid(m); iter_next(m))
        cnt++;
    assert_non_null(iter_status(m));
    assert_true(cnt < 10);
    iter_destroy(m);

    /* A level iterator alone reports it too, and is not silently empty. */
    iter_t *li = version_level_iter_new(v, 2, f->tc, 1, 1);
    iter_seek_to_first(li);
    assert_false(iter_valid(li));
    assert_non_null(iter_status(li));
    iter_destroy(li);
    version_unref(v);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_get),
        T(test_split_user_key_and_tombstone_end),
        T(test_iterators_and_range_dels),
        T(test_level_iterator_model),
        T(test_missing_file_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
