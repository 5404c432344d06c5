/*
 * test_db_iter.c - the user-facing iterator.
 *
 * The main test is a randomized model test: random puts, deletes and range deletes with
 * increasing sequences go into several memtables (merged as the read path merges them)
 * and into a plain list; for random snapshots and bounds, every db_iter move (seeks,
 * seek_for_prev, first/last, next/prev with random direction switches) is compared with
 * the answer computed by brute force from the list. Seeded (LSM_TEST_SEED overrides); the
 * seed is printed on failure.
 *
 * Smaller tests pin down specific rules: tombstones vs. older and newer versions, snapshot
 * below a tombstone, bounds edge cases, errors and malformed keys, cleanup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db/db_iter.h"
#include "base/dbformat.h"
#include "mem/memtable.h"
#include "table/merger.h"
#include "util/random.h"

static uint64_t g_seed;

static slice_t S(const char *s) { return slice_str(s); }

/* ---- a store of memtables + one tombstone set -------------------------------------------- */

#define MAX_MT 4

typedef struct {
    memtable_t *mt[MAX_MT];
    int nmt;
    arena_t rd_arena;
    range_del_t rd; /* every range tombstone, as the DB would collect them */
    uint64_t seq;
} store_t;

static void store_init(store_t *s, int nmt)
{
    memset(s, 0, sizeof(*s));
    s->nmt = nmt;
    for (int i = 0; i < nmt; i++) {
        s->mt[i] = memtable_new();
        assert_non_null(s->mt[i]);
    }
    arena_init(&s->rd_arena, 4096);
    assert_int_equal(range_del_init(&s->rd, &s->rd_arena), 0);
}

static void store_free(store_t *s)
{
    for (int i = 0; i < s->nmt; i++)
        memtable_unref(s->mt[i]);
    range_del_destroy(&s->rd);
    arena_destroy(&s->rd_arena);
}

/* Applies one op at the next sequence into memtable `which`. */
static uint64_t store_op(store_t *s, int which, value_type_t t, slice_t k, slice_t v)
{
    uint64_t seq = ++s->seq;
    assert_int_equal(memtable_add(s->mt[which], seq, t, k, v), 0);
    if (t == TYPE_RANGE_DELETION)
        assert_int_equal(range_del_add(&s->rd, seq, k, v), 0);
    return seq;
}

static uint64_t rd_cover(void *arg, slice_t user_key, uint64_t snapshot)
{
    return range_del_max_covering(arg, user_key, snapshot);
}

static iter_t *store_iter(store_t *s, uint64_t snap, slice_t lower, slice_t upper, int with_rd)
{
    iter_t *kids[MAX_MT];
    for (int i = 0; i < s->nmt; i++)
        kids[i] = memtable_iter_new(s->mt[i]);
    db_iter_args_t a = {0};
    a.internal = merging_iter_new(kids, s->nmt);
    a.snapshot = snap;
    a.max_covering = with_rd ? rd_cover : NULL;
    a.cover_arg = &s->rd;
    a.lower = lower;
    a.upper = upper;
    iter_t *it = db_iter_new(&a);
    assert_non_null(it);
    return it;
}

static slice_t NONE(void) { return slice_make(NULL, 0); }

/* Walks forward and backward and checks the result is exactly want[0..n) (k=v pairs). */
static void expect_scan(iter_t *it, const char **want, int n)
{
    int i = 0;
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it), i++) {
        if (i >= n)
            fail_msg("forward: extra key %.*s", (int)iter_key(it).size, iter_key(it).data);
        char kv[256];
        snprintf(kv, sizeof(kv), "%.*s=%.*s", (int)iter_key(it).size, iter_key(it).data,
                 (int)iter_value(it).size, iter_value(it).data);
        if (strcmp(kv, want[i]) != 0)
            fail_msg("forward %d: got %s want %s", i, kv, want[i]);
    }
    assert_int_equal(i, n);
    i = n - 1;
    for (iter_seek_to_last(it); iter_valid(it); iter_prev(it), i--) {
        if (i < 0)
            fail_msg("backward: extra key %.*s", (int)iter_key(it).size, iter_key(it).data);
        char kv[256];
        snprintf(kv, sizeof(kv), "%.*s=%.*s", (int)iter_key(it).size, iter_key(it).data,
                 (int)iter_value(it).size, iter_value(it).data);
        if (strcmp(kv, want[i]) != 0)
            fail_msg("backward %d: got %s want %s", i, kv, want[i]);
    }
    assert_int_equal(i, -1);
    assert_null(iter_status(it));
}

/* ---- targeted tests ------------------------------------------------------------------------ */

static void test_versions_and_deletes(void **state)
{
    (void)state;
    store_t s;
    store_init(&s, 2);
    store_op(&s, 0, TYPE_VALUE, S("a"), S("a1"));   /* 1 */
    store_op(&s, 1, TYPE_VALUE, S("b"), S("b2"));   /* 2 */
    store_op(&s, 0, TYPE_VALUE, S("a"), S("a3"));   /* 3 */
    store_op(&s, 1, TYPE_DELETION, S("b"), S(""));  /* 4 */
    store_op(&s, 0, TYPE_VALUE, S("c"), S("c5"));   /* 5 */
    store_op(&s, 1, TYPE_DELETION, S("a"), S(""));  /* 6 */
    store_op(&s, 0, TYPE_VALUE, S("b"), S("b7"));   /* 7 */

    const char *at7[] = {"b=b7", "c=c5"};
    iter_t *it = store_iter(&s, 7, NONE(), NONE(), 1);
    expect_scan(it, at7, 2);
    iter_destroy(it);
    const char *at5[] = {"a=a3", "c=c5"};
    it = store_iter(&s, 5, NONE(), NONE(), 1);
    expect_scan(it, at5, 2);
    iter_destroy(it);
    const char *at2[] = {"a=a1", "b=b2"};
    it = store_iter(&s, 2, NONE(), NONE(), 1);
    expect_scan(it, at2, 2);
    iter_destroy(it);
    it = store_iter(&s, 0, NONE(), NONE(), 1);
    expect_scan(it, NULL, 0);
    iter_destroy(it);
    const char *atmax[] = {"b=b7", "c=c5"};
    it = store_iter(&s, UINT64_MAX, NONE(), NONE(), 1);
    expect_scan(it, atmax, 2);
    iter_destroy(it);
    store_free(&s);
}

static void test_range_tombstones(void **state)
{
    (void)state;
    store_t s;
    store_init(&s, 3);
    store_op(&s, 0, TYPE_VALUE, S("a"), S("a1"));              /* 1 */
    store_op(&s, 0, TYPE_VALUE, S("b"), S("b2"));              /* 2 */
    store_op(&s, 1, TYPE_VALUE, S("c"), S("c3"));              /* 3 */
    store_op(&s, 1, TYPE_VALUE, S("d"), S("d4"));              /* 4 */
    store_op(&s, 2, TYPE_RANGE_DELETION, S("b"), S("d"));      /* 5: hides b, c */
    store_op(&s, 2, TYPE_VALUE, S("c"), S("c6"));              /* 6: newer than tombstone */
    store_op(&s, 0, TYPE_RANGE_DELETION, S("a"), S("b"));      /* 7: hides a */
    store_op(&s, 1, TYPE_VALUE, S("bb"), S("bb8"));            /* 8 */

    const char *at8[] = {"bb=bb8", "c=c6", "d=d4"};
    iter_t *it = store_iter(&s, 8, NONE(), NONE(), 1);
    expect_scan(it, at8, 3);
    iter_destroy(it);
    const char *at6[] = {"a=a1", "c=c6", "d=d4"};
    it = store_iter(&s, 6, NONE(), NONE(), 1);
    expect_scan(it, at6, 3);
    iter_destroy(it);
    const char *at5[] = {"a=a1", "d=d4"};
    it = store_iter(&s, 5, NONE(), NONE(), 1);
    expect_scan(it, at5, 2);
    iter_destroy(it);
    /* Snapshot below every tombstone. */
    const char *at4[] = {"a=a1", "b=b2", "c=c3", "d=d4"};
    it = store_iter(&s, 4, NONE(), NONE(), 1);
    expect_scan(it, at4, 4);
    iter_destroy(it);
    /* Without the tombstone set only point entries count. */
    const char *nord[] = {"a=a1", "b=b2", "bb=bb8", "c=c6", "d=d4"};
    it = store_iter(&s, 8, NONE(), NONE(), 0);
    expect_scan(it, nord, 5);
    iter_destroy(it);

    /* Seeks into the hidden region land after it (forward) or before it (backward). */
    it = store_iter(&s, 5, NONE(), NONE(), 1);
    iter_seek(it, S("b"));
    assert_true(iter_valid(it));
    assert_true(slice_equal(iter_key(it), S("d")));
    iter_seek_for_prev(it, S("c"));
    assert_true(iter_valid(it));
    assert_true(slice_equal(iter_key(it), S("a")));
    iter_next(it);
    assert_true(slice_equal(iter_key(it), S("d")));
    iter_prev(it);
    assert_true(slice_equal(iter_key(it), S("a")));
    iter_prev(it);
    assert_false(iter_valid(it));
    iter_destroy(it);
    store_free(&s);
}

static void test_bounds(void **state)
{
    (void)state;
    store_t s;
    store_init(&s, 1);
    const char *keys[] = {"", "a", "b", "c", "d", "e"};
    for (int i = 0; i < 6; i++)
        store_op(&s, 0, TYPE_VALUE, S(keys[i]), S("v"));
    const char *bc[] = {"b=v", "c=v"};
    iter_t *it = store_iter(&s, 100, S("b"), S("d"), 1);
    expect_scan(it, bc, 2);
    iter_seek(it, S("a"));
    assert_true(slice_equal(iter_key(it), S("b")));
    iter_prev(it);
    assert_false(iter_valid(it));
    iter_seek(it, S("d"));
    assert_false(iter_valid(it));
    iter_seek(it, S("cc"));
    assert_false(iter_valid(it));
    iter_seek_for_prev(it, S("z"));
    assert_true(slice_equal(iter_key(it), S("c")));
    iter_next(it);
    assert_false(iter_valid(it));
    iter_seek_for_prev(it, S("a"));
    assert_false(iter_valid(it));
    iter_seek_for_prev(it, S("b"));
    assert_true(slice_equal(iter_key(it), S("b")));
    iter_destroy(it);
    /* An empty lower bound is a bound that excludes nothing; the empty key is included. */
    const char *all[] = {"=v", "a=v", "b=v", "c=v", "d=v", "e=v"};
    it = store_iter(&s, 100, S(""), NONE(), 1);
    expect_scan(it, all, 6);
    iter_destroy(it);
    /* An empty upper bound excludes everything; lower == upper too. */
    it = store_iter(&s, 100, NONE(), S(""), 1);
    expect_scan(it, NULL, 0);
    iter_destroy(it);
    it = store_iter(&s, 100, S("c"), S("c"), 1);
    expect_scan(it, NULL, 0);
    iter_destroy(it);
    /* Upper above all keys, lower below. */
    it = store_iter(&s, 100, S("0"), S("zz"), 1);
    const char *ae[] = {"a=v", "b=v", "c=v", "d=v", "e=v"};
    expect_scan(it, ae, 5);
    iter_destroy(it);
    store_free(&s);
}

/* Many invisible versions around visible ones: prev/next must skip them cleanly. */
static void test_invisible_versions(void **state)
{
    (void)state;
    store_t s;
    store_init(&s, 2);
    store_op(&s, 0, TYPE_VALUE, S("a"), S("a-old"));
    store_op(&s, 0, TYPE_VALUE, S("b"), S("b-old"));
    store_op(&s, 1, TYPE_VALUE, S("c"), S("c-old"));
    uint64_t snap = s.seq;
    for (int i = 0; i < 50; i++) {
        store_op(&s, i % 2, TYPE_VALUE, S("a"), S("a-new"));
        store_op(&s, i % 2, TYPE_DELETION, S("b"), S(""));
        store_op(&s, i % 2, TYPE_VALUE, S("bb"), S("bb-new"));
        store_op(&s, i % 2, TYPE_RANGE_DELETION, S("a"), S("z"));
    }
    const char *old[] = {"a=a-old", "b=b-old", "c=c-old"};
    iter_t *it = store_iter(&s, snap, NONE(), NONE(), 1);
    expect_scan(it, old, 3);
    /* Zig-zag. */
    iter_seek(it, S("b"));
    iter_prev(it);
    assert_true(slice_equal(iter_key(it), S("a")));
    iter_next(it);
    assert_true(slice_equal(iter_key(it), S("b")));
    assert_true(slice_equal(iter_value(it), S("b-old")));
    iter_next(it);
    assert_true(slice_equal(iter_key(it), S("c")));
    iter_prev(it);
    iter_prev(it);
    assert_true(slice_equal(iter_key(it), S("a")));
    assert_true(slice_equal(iter_value(it), S("a-old")));
    iter_destroy(it);
    /* At the end everything is under the last tombstone. */
    it = store_iter(&s, s.seq, NONE(), NONE(), 1);
    expect_scan(it, NULL, 0);
    iter_destroy(it);
    store_free(&s);
}

/* ---- errors -------------------------------------------------------------------------------- */

/* A tiny iterator over a fixed list of (possibly malformed) keys, in the given order. */
typedef struct {
    iter_t base;
    slice_t *keys;
    int n, pos;
} list_iter_t;

static inline list_iter_t *li(iter_t *it) { return (list_iter_t *)it; }
static int l_valid(iter_t *it) { return li(it)->pos >= 0 && li(it)->pos < li(it)->n; }
static void l_first(iter_t *it) { li(it)->pos = 0; }
static void l_last(iter_t *it) { li(it)->pos = li(it)->n - 1; }
static void l_seek(iter_t *it, slice_t t) { (void)t; li(it)->pos = 0; }
static void l_next(iter_t *it) { li(it)->pos++; }
static void l_prev(iter_t *it) { li(it)->pos--; }
static slice_t l_key(iter_t *it) { return li(it)->keys[li(it)->pos]; }
static slice_t l_value(iter_t *it) { (void)it; return S("val"); }
static status_t l_status(iter_t *it) { (void)it; return NULL; }
static void l_destroy(iter_t *it) { free(it); }
static const iter_ops_t list_ops = {l_valid, l_first, l_last,  l_seek,   l_seek,   l_next,
                                    l_prev,  l_key,   l_value, l_status, l_destroy};

static void test_malformed_key(void **state)
{
    (void)state;
    char good[9];
    ikey_encode(good, S("a"), 1, TYPE_VALUE);
    char badtype[9];
    ikey_encode(badtype, S("b"), 2, (value_type_t)0x7);
    slice_t keys[3] = {slice_make(good, 9), slice_make("xyz", 3), slice_make(badtype, 9)};
    for (int variant = 0; variant < 2; variant++) {
        list_iter_t *l = calloc(1, sizeof(*l));
        l->base.ops = &list_ops;
        /* A good key then a short one; or a key with an unknown type. */
        l->keys = variant == 0 ? keys : &keys[2];
        l->n = variant == 0 ? 2 : 1;
        db_iter_args_t a = {0};
        a.internal = &l->base;
        a.snapshot = 10;
        iter_t *it = db_iter_new(&a);
        iter_seek_to_first(it);
        if (variant == 0) {
            assert_true(iter_valid(it));
            assert_true(slice_equal(iter_key(it), S("a")));
            iter_next(it);
        }
        assert_false(iter_valid(it));
        assert_non_null(iter_status(it));
        assert_int_equal(st_code(iter_status(it)), ST_CORRUPTION);
        /* Backwards too, and the error stays. */
        iter_seek_to_last(it);
        assert_false(iter_valid(it));
        assert_int_equal(st_code(iter_status(it)), ST_CORRUPTION);
        iter_destroy(it);
    }
}

static void test_internal_error_passes_through(void **state)
{
    (void)state;
    memtable_t *mt = memtable_new();
    assert_int_equal(memtable_add(mt, 1, TYPE_VALUE, S("a"), S("1")), 0);
    iter_t *kids[2] = {memtable_iter_new(mt),
                       iter_new_empty(st_io(5, "000009.sst: read at offset 8192"))};
    memtable_unref(mt);
    db_iter_args_t a = {0};
    a.internal = merging_iter_new(kids, 2);
    a.snapshot = 10;
    iter_t *it = db_iter_new(&a);
    iter_seek_to_first(it);
    assert_false(iter_valid(it));
    assert_int_equal(st_code(iter_status(it)), ST_IO_ERROR);
    assert_non_null(strstr(st_msg(iter_status(it)), "000009.sst"));
    iter_seek_to_last(it);
    assert_false(iter_valid(it));
    iter_seek(it, S("a"));
    assert_false(iter_valid(it));
    iter_seek_for_prev(it, S("a"));
    assert_false(iter_valid(it));
    assert_non_null(iter_status(it));
    iter_destroy(it);
}

static void count_cleanup(void *arg) { (*(int *)arg)++; }

static void test_cleanup_called_once(void **state)
{
    (void)state;
    int calls = 0;
    memtable_t *mt = memtable_new();
    db_iter_args_t a = {0};
    a.internal = memtable_iter_new(mt);
    memtable_unref(mt);
    a.snapshot = 1;
    a.cleanup = count_cleanup;
    a.cleanup_arg = &calls;
    iter_t *it = db_iter_new(&a);
    iter_seek_to_first(it);
    assert_false(iter_valid(it));
    assert_int_equal(calls, 0);
    iter_destroy(it);
    assert_int_equal(calls, 1);
}

/* ---- the randomized model test -------------------------------------------------------------- */

typedef struct {
    uint64_t seq;
    value_type_t type;
    int key, end; /* key indexes; end only for range deletions */
    int val;
} mop_t;

#define NKEYS_MAX 64

typedef struct {
    char keys[NKEYS_MAX][16]; /* sorted universe of user keys */
    int nkeys;
    mop_t *ops;
    int nops;
} model_t;

static int cmp_str(const void *a, const void *b) { return strcmp(a, b); }

static void model_keys(model_t *m, rnd_t *r)
{
    m->nkeys = 8 + (int)rnd_uniform(r, NKEYS_MAX - 8);
    for (int i = 0; i < m->nkeys; i++) {
        /* Variable lengths and shared prefixes: "", "k3", "k3a", "k31", ... (duplicates
         * are removed below). */
        int v = (int)rnd_uniform(r, 200);
        if (v == 0)
            m->keys[i][0] = 0;
        else if (v % 3 == 0)
            snprintf(m->keys[i], 16, "k%d", v / 10);
        else
            snprintf(m->keys[i], 16, "k%d%c", v / 10, 'a' + v % 7);
    }
    qsort(m->keys, (size_t)m->nkeys, 16, cmp_str);
    int w = 0;
    for (int i = 0; i < m->nkeys; i++)
        if (w == 0 || strcmp(m->keys[w - 1], m->keys[i]) != 0)
            memmove(m->keys[w++], m->keys[i], 16);
    m->nkeys = w;
}

/* Live value index of key k at snapshot snap, or -1. Brute force over every op. */
static int model_get(const model_t *m, int k, uint64_t snap)
{
    const mop_t *point = NULL;
    uint64_t tomb = 0;
    for (int i = 0; i < m->nops; i++) {
        const mop_t *o = &m->ops[i];
        if (o->seq > snap)
            continue;
        if (o->type == TYPE_RANGE_DELETION) {
            if (strcmp(m->keys[k], m->keys[o->key]) >= 0 && strcmp(m->keys[k], m->keys[o->end]) < 0 &&
                o->seq > tomb)
                tomb = o->seq;
        } else if (o->key == k && (!point || o->seq > point->seq)) {
            point = o;
        }
    }
    if (!point || point->type != TYPE_VALUE || point->seq < tomb)
        return -1;
    return point->val;
}

typedef struct {
    int key; /* index into model keys */
    int val;
} view_t;

static void val_str(char *dst, int val) { snprintf(dst, 24, "val-%d", val); }

/* The expected view: live keys within bounds, ascending. */
static int model_view(const model_t *m, uint64_t snap, const char *lo, const char *hi, view_t *out)
{
    int n = 0;
    for (int k = 0; k < m->nkeys; k++) {
        if (lo && strcmp(m->keys[k], lo) < 0)
            continue;
        if (hi && strcmp(m->keys[k], hi) >= 0)
            continue;
        int v = model_get(m, k, snap);
        if (v >= 0)
            out[n++] = (view_t){k, v};
    }
    return n;
}

/* A random probe string: a universe key, or something between/around them. */
static void rand_probe(rnd_t *r, const model_t *m, char *dst)
{
    int k = (int)rnd_uniform(r, (uint64_t)m->nkeys);
    switch (rnd_uniform(r, 4)) {
    case 0:
        snprintf(dst, 24, "%s0", m->keys[k]); /* just after key k */
        break;
    case 1:
        snprintf(dst, 24, "k%d", (int)rnd_uniform(r, 25));
        break;
    case 2:
        dst[0] = rnd_one_in(r, 2) ? 0 : 'z';
        dst[1] = 0;
        break;
    default:
        snprintf(dst, 24, "%s", m->keys[k]);
    }
}

static void check(iter_t *it, const model_t *m, const view_t *view, int n, int pos,
                  const char *what, uint64_t round, long step)
{
    int want_valid = pos >= 0 && pos < n;
    if (iter_valid(it) != want_valid)
        fail_msg("seed %llu round %llu step %ld (%s): valid=%d, want %d (pos %d of %d)",
                 (unsigned long long)g_seed, (unsigned long long)round, step, what,
                 iter_valid(it), want_valid, pos, n);
    if (iter_status(it))
        fail_msg("seed %llu: unexpected status %s", (unsigned long long)g_seed,
                 st_msg(iter_status(it)));
    if (!want_valid)
        return;
    const char *wk = m->keys[view[pos].key];
    char wv[24];
    val_str(wv, view[pos].val);
    if (!slice_equal(iter_key(it), S(wk)) || !slice_equal(iter_value(it), S(wv)))
        fail_msg("seed %llu round %llu step %ld (%s): got %.*s=%.*s, want %s=%s",
                 (unsigned long long)g_seed, (unsigned long long)round, step, what,
                 (int)iter_key(it).size, iter_key(it).data, (int)iter_value(it).size,
                 iter_value(it).data, wk, wv);
}

/* First view index with key >= t (n if none); last with key <= t (-1 if none). */
static int view_lb(const model_t *m, const view_t *v, int n, const char *t)
{
    int i = 0;
    while (i < n && strcmp(m->keys[v[i].key], t) < 0)
        i++;
    return i;
}
static int view_le(const model_t *m, const view_t *v, int n, const char *t)
{
    int i = n - 1;
    while (i >= 0 && strcmp(m->keys[v[i].key], t) > 0)
        i--;
    return i;
}

static void model_round(uint64_t round)
{
    rnd_t r;
    rnd_seed(&r, g_seed * 1000003u + round);
    model_t m;
    model_keys(&m, &r);
    int nops = 300 + (int)rnd_uniform(&r, 1500);
    m.ops = calloc((size_t)nops, sizeof(mop_t));
    m.nops = 0;
    store_t s;
    store_init(&s, 1 + (int)rnd_uniform(&r, MAX_MT));
    int rd_weight = (int)rnd_uniform(&r, 12); /* some rounds have no tombstones at all */
    for (int i = 0; i < nops; i++) {
        mop_t o = {0};
        int roll = (int)rnd_uniform(&r, 100);
        o.key = (int)rnd_uniform(&r, (uint64_t)m.nkeys);
        o.val = i;
        /* Newer ops tend to go to newer memtables, but not always. */
        int which = (int)((uint64_t)i * (uint64_t)s.nmt / (uint64_t)nops);
        if (rnd_one_in(&r, 5))
            which = (int)rnd_uniform(&r, (uint64_t)s.nmt);
        char v[24];
        if (roll < rd_weight) {
            o.type = TYPE_RANGE_DELETION;
            o.end = (int)rnd_uniform(&r, (uint64_t)m.nkeys);
            if (o.end < o.key && !rnd_one_in(&r, 8)) { /* mostly proper ranges */
                int t = o.end;
                o.end = o.key;
                o.key = t;
            }
            o.seq = store_op(&s, which, o.type, S(m.keys[o.key]), S(m.keys[o.end]));
        } else if (roll < rd_weight + 25) {
            o.type = TYPE_DELETION;
            o.seq = store_op(&s, which, o.type, S(m.keys[o.key]), S(""));
        } else {
            o.type = TYPE_VALUE;
            val_str(v, o.val);
            o.seq = store_op(&s, which, o.type, S(m.keys[o.key]), S(v));
        }
        m.ops[m.nops++] = o;
    }

    view_t *view = malloc(sizeof(view_t) * NKEYS_MAX);
    for (int trial = 0; trial < 6; trial++) {
        uint64_t snap = rnd_uniform(&r, s.seq + 2);
        if (rnd_one_in(&r, 6))
            snap = UINT64_MAX;
        char lo[24], hi[24];
        int has_lo = rnd_one_in(&r, 3), has_hi = rnd_one_in(&r, 3);
        if (has_lo)
            rand_probe(&r, &m, lo);
        if (has_hi)
            rand_probe(&r, &m, hi);
        int n = model_view(&m, snap, has_lo ? lo : NULL, has_hi ? hi : NULL, view);
        iter_t *it = store_iter(&s, snap, has_lo ? S(lo) : NONE(), has_hi ? S(hi) : NONE(), 1);
        int pos = -1;
        for (long step = 0; step < 400; step++) {
            int op = (int)rnd_uniform(&r, 14);
            int valid = pos >= 0 && pos < n;
            char t[24];
            const char *what;
            if (op == 0) {
                iter_seek_to_first(it);
                pos = 0;
                what = "seek_to_first";
            } else if (op == 1) {
                iter_seek_to_last(it);
                pos = n - 1;
                what = "seek_to_last";
            } else if (op == 2 || op == 3) {
                rand_probe(&r, &m, t);
                iter_seek(it, S(t));
                pos = view_lb(&m, view, n, t);
                what = "seek";
            } else if (op == 4 || op == 5) {
                rand_probe(&r, &m, t);
                iter_seek_for_prev(it, S(t));
                pos = view_le(&m, view, n, t);
                what = "seek_for_prev";
            } else if (!valid) {
                continue;
            } else if (op < 10) {
                iter_next(it);
                pos++;
                what = "next";
            } else {
                iter_prev(it);
                pos--;
                what = "prev";
            }
            check(it, &m, view, n, pos, what, round, step);
        }
        /* Full scans both ways. */
        pos = 0;
        for (iter_seek_to_first(it); iter_valid(it); iter_next(it), pos++)
            check(it, &m, view, n, pos, "scan", round, -1);
        check(it, &m, view, n, pos, "scan end", round, -1);
        pos = n - 1;
        for (iter_seek_to_last(it); iter_valid(it); iter_prev(it), pos--)
            check(it, &m, view, n, pos, "rscan", round, -1);
        check(it, &m, view, n, pos, "rscan end", round, -1);
        iter_destroy(it);

    }
    free(view);
    free(m.ops);
    store_free(&s);
}

static void test_model(void **state)
{
    (void)state;
    for (uint64_t round = 0; round < 60; round++)
        model_round(round);
}

static int setup_seed(void **state)
{
    (void)state;
    const char *s = getenv("LSM_TEST_SEED");
    g_seed = s ? strtoull(s, NULL, 0) : 424242;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions_and_deletes),
        cmocka_unit_test(test_range_tombstones),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_invisible_versions),
        cmocka_unit_test(test_malformed_key),
        cmocka_unit_test(test_internal_error_passes_through),
        cmocka_unit_test(test_cleanup_called_once),
        cmocka_unit_test(test_model),
    };
    return cmocka_run_group_tests(tests, setup_seed, NULL);
}
