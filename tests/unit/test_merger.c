/*
 * test_merger.c - the merging iterator against a sorted reference: 0, 1, 2, 3, 5 and 20
 * children (linear scan and heap), keys placed at random or in runs per child (the linear
 * merger's runner-up shortcut), vector-backed and memtable children, forward and
 * backward walks, seeks, seek_for_prev, random direction switches, and child errors
 * (at a seek, in the middle of a walk, during a direction switch) surfacing in status().
 *
 * Randomized parts are seeded (LSM_TEST_SEED overrides) and print the seed on failure.
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
#include "mem/memtable.h"
#include "table/merger.h"
#include "util/random.h"

static uint64_t g_seed;

/* ---- a vector-backed iterator with error injection ---------------------------------- */

typedef struct {
    char *k;
    size_t kn;
    char *v;
    size_t vn;
} ent_t;

typedef struct {
    iter_t base;
    ent_t *e; /* borrowed, sorted */
    int n;
    int pos;  /* -1 or n: invalid */
    long ops; /* moves so far */
    long fail_at; /* the move with this number fails (-1: never) */
    status_t st;
} vec_iter_t;

static inline vec_iter_t *vi(iter_t *it) { return (vec_iter_t *)it; }
static slice_t ent_key(const ent_t *e) { return slice_make(e->k, e->kn); }

static int vec_tick(vec_iter_t *v)
{
    if (v->st)
        return 1;
    if (v->fail_at >= 0 && v->ops++ >= v->fail_at) {
        v->st = st_io(5, "vector child: read failed at move %ld", v->ops);
        v->pos = -1;
        return 1;
    }
    return 0;
}

static int vec_valid(iter_t *it) { return vi(it)->pos >= 0 && vi(it)->pos < vi(it)->n; }
static void vec_first(iter_t *it)
{
    if (!vec_tick(vi(it)))
        vi(it)->pos = 0;
}
static void vec_last(iter_t *it)
{
    if (!vec_tick(vi(it)))
        vi(it)->pos = vi(it)->n - 1;
}
/* First index with key >= t. */
static int lower_bound(const ent_t *e, int n, slice_t t)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (ikey_compare(ent_key(&e[mid]), t) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
/* Last index with key <= t (-1 if none). */
static int upper_le(const ent_t *e, int n, slice_t t)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (ikey_compare(ent_key(&e[mid]), t) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}
static void vec_seek(iter_t *it, slice_t t)
{
    if (!vec_tick(vi(it)))
        vi(it)->pos = lower_bound(vi(it)->e, vi(it)->n, t);
}
static void vec_seek_for_prev(iter_t *it, slice_t t)
{
    if (!vec_tick(vi(it)))
        vi(it)->pos = upper_le(vi(it)->e, vi(it)->n, t);
}
static void vec_next(iter_t *it)
{
    if (!vec_tick(vi(it)))
        vi(it)->pos++;
}
static void vec_prev(iter_t *it)
{
    if (!vec_tick(vi(it)))
        vi(it)->pos--;
}
static slice_t vec_key(iter_t *it) { return ent_key(&vi(it)->e[vi(it)->pos]); }
static slice_t vec_value(iter_t *it)
{
    ent_t *e = &vi(it)->e[vi(it)->pos];
    return slice_make(e->v, e->vn);
}
static status_t vec_status(iter_t *it) { return vi(it)->st; }
static void vec_destroy(iter_t *it)
{
    st_free(vi(it)->st);
    free(it);
}

static const iter_ops_t vec_ops = {
    vec_valid, vec_first, vec_last,  vec_seek,   vec_seek_for_prev, vec_next,
    vec_prev,  vec_key,   vec_value, vec_status, vec_destroy,
};

static iter_t *vec_iter_new(ent_t *e, int n, long fail_at)
{
    vec_iter_t *v = calloc(1, sizeof(*v));
    assert_non_null(v);
    v->base.ops = &vec_ops;
    v->e = e;
    v->n = n;
    v->pos = -1;
    v->fail_at = fail_at;
    return &v->base;
}

/* ---- data ----------------------------------------------------------------------------- */

static int ent_cmp(const void *a, const void *b)
{
    return ikey_compare(ent_key(a), ent_key(b));
}

static void make_user_key(rnd_t *r, char *dst, size_t *n, int nkeys)
{
    int k = (int)rnd_uniform(r, (uint64_t)nkeys);
    if (k == 0) {
        *n = 0; /* the empty user key */
        return;
    }
    /* Variable lengths: "k<k>" and, for some, a longer extension of the same prefix. */
    *n = (size_t)snprintf(dst, 32, "k%d", k / 2);
    if (k % 2)
        *n += (size_t)snprintf(dst + *n, 32, "-x%d", k);
}

/* n entries, distinct sequences 1..n in random order, random user keys and types. */
static ent_t *make_entries(rnd_t *r, int n, int nkeys)
{
    ent_t *e = calloc((size_t)n + 1, sizeof(*e));
    uint64_t *seqs = malloc(sizeof(uint64_t) * ((size_t)n + 1));
    for (int i = 0; i < n; i++)
        seqs[i] = (uint64_t)i + 1;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rnd_uniform(r, (uint64_t)i + 1);
        uint64_t t = seqs[i];
        seqs[i] = seqs[j];
        seqs[j] = t;
    }
    for (int i = 0; i < n; i++) {
        char uk[64];
        size_t ukn;
        make_user_key(r, uk, &ukn, nkeys);
        e[i].k = malloc(ukn + 8);
        e[i].kn = ukn + 8;
        value_type_t t = rnd_one_in(r, 4) ? TYPE_DELETION : TYPE_VALUE;
        ikey_encode(e[i].k, slice_make(uk, ukn), seqs[i], t);
        e[i].v = malloc(32);
        e[i].vn = (size_t)snprintf(e[i].v, 32, "v%llu", (unsigned long long)seqs[i]);
    }
    free(seqs);
    return e;
}

static void free_entries(ent_t *e, int n)
{
    for (int i = 0; i < n; i++) {
        free(e[i].k);
        free(e[i].v);
    }
    free(e);
}

/* A random seek target: often an existing key, otherwise a random one. */
static void make_target(rnd_t *r, const ent_t *ref, int n, char *dst, size_t *len, int nkeys)
{
    if (n > 0 && rnd_one_in(r, 3)) {
        const ent_t *e = &ref[rnd_uniform(r, (uint64_t)n)];
        memcpy(dst, e->k, e->kn);
        *len = e->kn;
        return;
    }
    char uk[64];
    size_t ukn;
    make_user_key(r, uk, &ukn, nkeys + 4);
    uint64_t seq = rnd_uniform(r, (uint64_t)n + 3);
    value_type_t t = rnd_one_in(r, 2) ? TYPE_FOR_SEEK : TYPE_VALUE;
    ikey_encode(dst, slice_make(uk, ukn), seq, t);
    *len = ukn + 8;
}

/* ---- the random walk against the reference ---------------------------------------------------- */

static void check_at(iter_t *it, const ent_t *ref, int n, int pos, long step, const char *what)
{
    int want_valid = pos >= 0 && pos < n;
    if (iter_valid(it) != want_valid)
        fail_msg("seed %llu step %ld (%s): valid=%d, want %d (pos %d of %d)",
                 (unsigned long long)g_seed, step, what, iter_valid(it), want_valid, pos, n);
    assert_null(iter_status(it));
    if (!want_valid)
        return;
    if (!slice_equal(iter_key(it), ent_key(&ref[pos])))
        fail_msg("seed %llu step %ld (%s): wrong key at pos %d", (unsigned long long)g_seed,
                 step, what, pos);
    if (!slice_equal(iter_value(it), slice_make(ref[pos].v, ref[pos].vn)))
        fail_msg("seed %llu step %ld (%s): wrong value at pos %d", (unsigned long long)g_seed,
                 step, what, pos);
}

static void random_walk(iter_t *it, const ent_t *ref, int n, rnd_t *r, long steps, int nkeys)
{
    int pos = -1;
    for (long s = 0; s < steps; s++) {
        int op = (int)rnd_uniform(r, 12);
        int valid = pos >= 0 && pos < n;
        char t[96];
        size_t tn;
        const char *what;
        if (op == 0) {
            iter_seek_to_first(it);
            pos = 0;
            what = "seek_to_first";
        } else if (op == 1) {
            iter_seek_to_last(it);
            pos = n - 1;
            what = "seek_to_last";
        } else if (op == 2) {
            make_target(r, ref, n, t, &tn, nkeys);
            iter_seek(it, slice_make(t, tn));
            pos = lower_bound(ref, n, slice_make(t, tn));
            what = "seek";
        } else if (op == 3) {
            make_target(r, ref, n, t, &tn, nkeys);
            iter_seek_for_prev(it, slice_make(t, tn));
            pos = upper_le(ref, n, slice_make(t, tn));
            what = "seek_for_prev";
        } else if (!valid) {
            continue;
        } else if (op < 8) {
            iter_next(it);
            pos++;
            what = "next";
        } else {
            iter_prev(it);
            pos--;
            what = "prev";
        }
        check_at(it, ref, n, pos, s, what);
    }
    /* Full scans both ways. */
    int i = 0;
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it), i++)
        assert_true(i < n && slice_equal(iter_key(it), ent_key(&ref[i])));
    assert_int_equal(i, n);
    i = n - 1;
    for (iter_seek_to_last(it); iter_valid(it); iter_prev(it), i--)
        assert_true(i >= 0 && slice_equal(iter_key(it), ent_key(&ref[i])));
    assert_int_equal(i, -1);
    assert_null(iter_status(it));
}

/* Splits ref into nkids sorted vector children (copies of the entry structs, sharing the
 * bytes); returns the children arrays through *parts (one allocation per child). */
/* max_run > 0: runs of 1..max_run consecutive keys (in key order) go to one child, as in
 * a scan over levels where one table holds a stretch of keys; the merger's current child
 * then keeps winning for a while and is overtaken at the end of each run. */
static void run_vector_case_runs(int nkids, int nent, int nkeys, long steps, int max_run)
{
    rnd_t r;
    rnd_seed(&r, g_seed + (uint64_t)nkids * 1000003u + (uint64_t)nent + (uint64_t)max_run);
    ent_t *ref = make_entries(&r, nent, nkeys);
    ent_t **parts = calloc((size_t)nkids + 1, sizeof(*parts));
    int *cnt = calloc((size_t)nkids + 1, sizeof(int));
    for (int k = 0; k < nkids; k++)
        parts[k] = malloc(sizeof(ent_t) * ((size_t)nent + 1));
    if (max_run > 0)
        qsort(ref, (size_t)nent, sizeof(ent_t), ent_cmp);
    int k = 0, left = 0;
    for (int i = 0; i < nent && nkids > 0; i++) {
        if (max_run > 0) {
            if (left == 0) {
                k = (int)rnd_uniform(&r, (uint64_t)nkids);
                left = 1 + (int)rnd_uniform(&r, (uint64_t)max_run);
            }
            left--;
        } else {
            /* Skewed placement: some children get most entries, some few or none. */
            k = (int)rnd_uniform(&r, (uint64_t)nkids);
            if (rnd_one_in(&r, 2))
                k = k / 2;
        }
        parts[k][cnt[k]++] = ref[i];
    }
    qsort(ref, (size_t)nent, sizeof(ent_t), ent_cmp);
    iter_t **kids = malloc(sizeof(iter_t *) * ((size_t)nkids + 1));
    for (int k = 0; k < nkids; k++) {
        qsort(parts[k], (size_t)cnt[k], sizeof(ent_t), ent_cmp);
        kids[k] = vec_iter_new(parts[k], cnt[k], -1);
    }
    iter_t *m = merging_iter_new(kids, nkids);
    free(kids); /* the merger copied the array */
    assert_non_null(m);
    assert_false(iter_valid(m));
    random_walk(m, nkids > 0 ? ref : NULL, nkids > 0 ? nent : 0, &r, steps, nkeys);
    iter_destroy(m);
    for (int k = 0; k < nkids; k++)
        free(parts[k]);
    free(parts);
    free(cnt);
    free_entries(ref, nent);
}

static void run_vector_case(int nkids, int nent, int nkeys, long steps)
{
    run_vector_case_runs(nkids, nent, nkeys, steps, 0);
}

static void test_zero_children(void **state)
{
    (void)state;
    iter_t *m = merging_iter_new(NULL, 0);
    assert_non_null(m);
    iter_seek_to_first(m);
    assert_false(iter_valid(m));
    iter_seek_to_last(m);
    assert_false(iter_valid(m));
    iter_seek(m, slice_str("anything"));
    assert_false(iter_valid(m));
    assert_null(iter_status(m));
    iter_destroy(m);
}

static void test_one_child(void **state) { (void)state; run_vector_case(1, 300, 40, 3000); }
static void test_two_children(void **state) { (void)state; run_vector_case(2, 400, 40, 3000); }
static void test_three_children(void **state) { (void)state; run_vector_case(3, 500, 60, 4000); }
static void test_five_children(void **state) { (void)state; run_vector_case(5, 2000, 200, 20000); }
static void test_twenty_children(void **state) { (void)state; run_vector_case(20, 5000, 300, 30000); }
/* Few user keys, many versions each: direction switches land inside runs of one key. */
/* Runs of keys per child: the linear merger's runner-up shortcut (2-4 children) and the
 * heap (5), forwards, backwards and across direction switches. */
static void test_runs_per_child(void **state)
{
    (void)state;
    for (int nkids = 2; nkids <= 5; nkids++) {
        run_vector_case_runs(nkids, 1500, 300, 8000, 1);
        run_vector_case_runs(nkids, 1500, 300, 8000, 40);
    }
}

static void test_many_versions(void **state)
{
    (void)state;
    run_vector_case(4, 800, 6, 8000);
    run_vector_case(9, 800, 6, 8000);
}
/* Children that are all empty. */
static void test_empty_children(void **state)
{
    (void)state;
    iter_t *kids[6];
    for (int i = 0; i < 6; i++)
        kids[i] = vec_iter_new(NULL, 0, -1);
    iter_t *m = merging_iter_new(kids, 6);
    iter_seek_to_first(m);
    assert_false(iter_valid(m));
    iter_seek_to_last(m);
    assert_false(iter_valid(m));
    assert_null(iter_status(m));
    iter_destroy(m);
}

/* Memtables as children: the real read path merges memtables. */
static void test_memtable_children(void **state)
{
    (void)state;
    rnd_t r;
    rnd_seed(&r, g_seed ^ 0x5151);
    int nent = 3000, nkids = 5;
    ent_t *ref = make_entries(&r, nent, 150);
    memtable_t *mts[5];
    for (int k = 0; k < nkids; k++)
        mts[k] = memtable_new();
    for (int i = 0; i < nent; i++) {
        slice_t ik = ent_key(&ref[i]);
        memtable_t *mt = mts[rnd_uniform(&r, (uint64_t)nkids)];
        assert_int_equal(memtable_add(mt, ikey_seq(ik), ikey_type(ik), ikey_user_key(ik),
                                      slice_make(ref[i].v, ref[i].vn)),
                         0);
    }
    qsort(ref, (size_t)nent, sizeof(ent_t), ent_cmp);
    iter_t *kids[5];
    for (int k = 0; k < nkids; k++) {
        kids[k] = memtable_iter_new(mts[k]);
        memtable_unref(mts[k]); /* the iterators keep them alive */
    }
    iter_t *m = merging_iter_new(kids, nkids);
    random_walk(m, ref, nent, &r, 20000, 150);
    iter_destroy(m);
    free_entries(ref, nent);
}

/* ---- errors ------------------------------------------------------------------------------------ */

/* Child `bad` of nkids fails at its move number fail_at; the merger must go invalid with
 * that error at that point and stay so. */
static void error_case(int nkids, int bad, long fail_at, int walk_backward)
{
    rnd_t r;
    rnd_seed(&r, g_seed + 77 + (uint64_t)nkids);
    int nent = 50 * nkids;
    ent_t *ref = make_entries(&r, nent, 30);
    qsort(ref, (size_t)nent, sizeof(ent_t), ent_cmp);
    ent_t **parts = calloc((size_t)nkids, sizeof(*parts));
    int *cnt = calloc((size_t)nkids, sizeof(int));
    for (int k = 0; k < nkids; k++)
        parts[k] = malloc(sizeof(ent_t) * (size_t)nent);
    for (int i = 0; i < nent; i++) { /* round-robin keeps every child busy */
        int k = i % nkids;
        parts[k][cnt[k]++] = ref[i];
    }
    iter_t **kids = malloc(sizeof(iter_t *) * (size_t)nkids);
    for (int k = 0; k < nkids; k++)
        kids[k] = vec_iter_new(parts[k], cnt[k], k == bad ? fail_at : -1);
    iter_t *m = merging_iter_new(kids, nkids);
    free(kids);
    int seen = 0;
    if (walk_backward) {
        for (iter_seek_to_last(m); iter_valid(m); iter_prev(m))
            seen++;
    } else {
        for (iter_seek_to_first(m); iter_valid(m); iter_next(m))
            seen++;
    }
    assert_true(seen < nent); /* stopped early */
    status_t st = iter_status(m);
    assert_non_null(st);
    assert_int_equal(st_code(st), ST_IO_ERROR);
    assert_non_null(strstr(st_msg(st), "vector child"));
    /* Sticky: a new seek does not resurrect the merge. */
    iter_seek_to_first(m);
    assert_false(iter_valid(m));
    assert_non_null(iter_status(m));
    iter_destroy(m);
    for (int k = 0; k < nkids; k++)
        free(parts[k]);
    free(parts);
    free(cnt);
    free_entries(ref, nent);
}

static void test_error_at_seek(void **state)
{
    (void)state;
    error_case(2, 1, 0, 0);
    error_case(5, 3, 0, 1);
    error_case(20, 0, 0, 0);
}

static void test_error_mid_walk(void **state)
{
    (void)state;
    error_case(2, 0, 17, 0);
    error_case(3, 2, 9, 1);
    error_case(5, 4, 30, 0);
    error_case(20, 7, 20, 1);
}

/* An error that hits while the merger switches direction (re-seeking the others). */
static void test_error_on_direction_switch(void **state)
{
    (void)state;
    int nkids_list[] = {3, 8};
    for (int c = 0; c < 2; c++) {
        int nkids = nkids_list[c];
        ent_t *e = calloc((size_t)nkids * 4, sizeof(ent_t));
        ent_t **parts = calloc((size_t)nkids, sizeof(*parts));
        iter_t **kids = malloc(sizeof(iter_t *) * (size_t)nkids);
        for (int k = 0; k < nkids; k++) {
            parts[k] = &e[k * 4];
            for (int j = 0; j < 4; j++) {
                ent_t *x = &parts[k][j];
                char uk[16];
                int n = snprintf(uk, sizeof(uk), "k%02d", j * nkids + k);
                x->k = malloc((size_t)n + 8);
                x->kn = (size_t)n + 8;
                ikey_encode(x->k, slice_make(uk, (size_t)n), 1, TYPE_VALUE);
                x->v = malloc(1);
                x->vn = 0;
            }
            /* Child 1 survives seek_to_first and two nexts, then fails on its 3rd move. */
            kids[k] = vec_iter_new(parts[k], 4, k == 1 ? 2 : -1);
        }
        iter_t *m = merging_iter_new(kids, nkids);
        free(kids);
        iter_seek_to_first(m); /* child 1: move 0 */
        assert_true(iter_valid(m));
        for (int i = 0; i < nkids && iter_valid(m); i++)
            iter_next(m); /* child 1 steps once when its key is passed (move 1) */
        assert_true(iter_valid(m));
        assert_null(iter_status(m));
        iter_prev(m); /* the switch re-seeks child 1: move 2 fails */
        assert_false(iter_valid(m));
        assert_non_null(iter_status(m));
        iter_destroy(m);
        for (int i = 0; i < nkids * 4; i++) {
            free(e[i].k);
            free(e[i].v);
        }
        free(e);
        free(parts);
    }
}

/* An erroring empty iterator among good ones (how a failed SST open shows up). */
static void test_error_child_from_start(void **state)
{
    (void)state;
    memtable_t *mt = memtable_new();
    assert_int_equal(memtable_add(mt, 1, TYPE_VALUE, slice_str("a"), slice_str("1")), 0);
    iter_t *kids[2] = {memtable_iter_new(mt),
                       iter_new_empty(st_error(ST_CORRUPTION, "000007.sst: bad block at 4096"))};
    memtable_unref(mt);
    iter_t *m = merging_iter_new(kids, 2);
    iter_seek_to_first(m);
    assert_false(iter_valid(m));
    assert_int_equal(st_code(iter_status(m)), ST_CORRUPTION);
    assert_non_null(strstr(st_msg(iter_status(m)), "000007.sst"));
    iter_destroy(m);
}

static int setup_seed(void **state)
{
    (void)state;
    const char *s = getenv("LSM_TEST_SEED");
    g_seed = s ? strtoull(s, NULL, 0) : 20240601;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_children),
        cmocka_unit_test(test_one_child),
        cmocka_unit_test(test_two_children),
        cmocka_unit_test(test_three_children),
        cmocka_unit_test(test_five_children),
        cmocka_unit_test(test_twenty_children),
        cmocka_unit_test(test_runs_per_child),
        cmocka_unit_test(test_many_versions),
        cmocka_unit_test(test_empty_children),
        cmocka_unit_test(test_memtable_children),
        cmocka_unit_test(test_error_at_seek),
        cmocka_unit_test(test_error_mid_walk),
        cmocka_unit_test(test_error_on_direction_switch),
        cmocka_unit_test(test_error_child_from_start),
    };
    return cmocka_run_group_tests(tests, setup_seed, NULL);
}
