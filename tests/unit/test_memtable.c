/*
 * test_memtable.c - the memtable: point adds and gets at snapshots, deletions, range
 * tombstones against point entries, iterator order over several versions, memory
 * accounting, sequence bookkeeping, concurrent adds from 8 threads, empty keys/values.
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

#include <cmocka.h>

#include "mem/memtable.h"
#include "util/random.h"

static slice_t S(const char *s) { return slice_str(s); }

static void add(memtable_t *m, uint64_t seq, value_type_t t, const char *k, const char *v)
{
    assert_int_equal(memtable_add(m, seq, t, S(k), S(v)), 0);
}

/* Expects get(k, snap) to give `want`, and for MT_FOUND the value `val`. */
static void expect_get(memtable_t *m, const char *k, uint64_t snap, mt_get_t want, const char *val)
{
    buf_t b;
    buf_init(&b);
    buf_append(&b, "junk", 4);
    mt_get_t r = memtable_get(m, S(k), snap, &b);
    if (r != want)
        fail_msg("get(%s, %llu) = %d, want %d", k, (unsigned long long)snap, r, want);
    if (want == MT_FOUND) {
        assert_int_equal(b.len, strlen(val));
        assert_memory_equal(b.data, val, b.len);
    }
    buf_free(&b);
}

static void test_empty(void **state)
{
    (void)state;
    memtable_t *m = memtable_new();
    assert_non_null(m);
    expect_get(m, "a", MAX_SEQUENCE, MT_NOT_FOUND, NULL);
    assert_int_equal(memtable_num_entries(m), 0);
    assert_int_equal(memtable_num_range_dels(m), 0);
    assert_int_equal(memtable_first_seq(m), 0);
    assert_int_equal(memtable_last_seq(m), 0);
    iter_t *it = memtable_iter_new(m);
    assert_non_null(it);
    iter_seek_to_first(it);
    assert_false(iter_valid(it));
    iter_seek_to_last(it);
    assert_false(iter_valid(it));
    assert_null(iter_status(it));
    iter_destroy(it);
    memtable_unref(m);
}

static void test_add_get(void **state)
{
    (void)state;
    memtable_t *m = memtable_new();
    add(m, 1, TYPE_VALUE, "apple", "red");
    add(m, 2, TYPE_VALUE, "banana", "yellow");
    add(m, 3, TYPE_VALUE, "apple", "green");
    add(m, 4, TYPE_DELETION, "banana", "");
    add(m, 5, TYPE_VALUE, "banana", "brown");
    add(m, 6, TYPE_VALUE, "cherry", "dark");
    expect_get(m, "apple", 10, MT_FOUND, "green");
    expect_get(m, "apple", 3, MT_FOUND, "green");
    expect_get(m, "apple", 2, MT_FOUND, "red");
    expect_get(m, "apple", 1, MT_FOUND, "red");
    expect_get(m, "apple", 0, MT_NOT_FOUND, NULL);
    expect_get(m, "banana", 1, MT_NOT_FOUND, NULL);
    expect_get(m, "banana", 2, MT_FOUND, "yellow");
    expect_get(m, "banana", 3, MT_FOUND, "yellow");
    expect_get(m, "banana", 4, MT_DELETED, NULL);
    expect_get(m, "banana", 5, MT_FOUND, "brown");
    expect_get(m, "banana", UINT64_MAX, MT_FOUND, "brown");
    expect_get(m, "cherry", 5, MT_NOT_FOUND, NULL);
    expect_get(m, "cherry", 6, MT_FOUND, "dark");
    /* Keys that are prefixes or extensions of stored keys are different keys. */
    expect_get(m, "appl", 10, MT_NOT_FOUND, NULL);
    expect_get(m, "apples", 10, MT_NOT_FOUND, NULL);
    expect_get(m, "", 10, MT_NOT_FOUND, NULL);
    expect_get(m, "zzz", 10, MT_NOT_FOUND, NULL);
    assert_int_equal(memtable_num_entries(m), 6);
    assert_int_equal(memtable_first_seq(m), 1);
    assert_int_equal(memtable_last_seq(m), 6);
    memtable_unref(m);
}

static void test_overwrites(void **state)
{
    (void)state;
    memtable_t *m = memtable_new();
    char v[32];
    for (uint64_t s = 1; s <= 500; s++) {
        snprintf(v, sizeof(v), "v%llu", (unsigned long long)s);
        add(m, s, TYPE_VALUE, "k", v);
    }
    for (uint64_t s = 1; s <= 500; s += 37) {
        snprintf(v, sizeof(v), "v%llu", (unsigned long long)s);
        expect_get(m, "k", s, MT_FOUND, v);
    }
    expect_get(m, "k", 1000, MT_FOUND, "v500");
    memtable_unref(m);
}

static void test_bad_args(void **state)
{
    (void)state;
    memtable_t *m = memtable_new();
    assert_int_equal(memtable_add(m, 1, (value_type_t)7, S("k"), S("v")), EINVAL);
    assert_int_equal(memtable_add(m, MAX_SEQUENCE + 1, TYPE_VALUE, S("k"), S("v")), EINVAL);
    assert_int_equal(memtable_num_entries(m), 0);
    assert_int_equal(memtable_first_seq(m), 0);
    expect_get(m, "k", MAX_SEQUENCE, MT_NOT_FOUND, NULL);
    /* The largest legal sequence works. */
    add(m, MAX_SEQUENCE, TYPE_VALUE, "k", "v");
    expect_get(m, "k", MAX_SEQUENCE, MT_FOUND, "v");
    expect_get(m, "k", MAX_SEQUENCE - 1, MT_NOT_FOUND, NULL);
    memtable_unref(m);
}

static void test_range_tombstones(void **state)
{
    (void)state;
    memtable_t *m = memtable_new();
    add(m, 10, TYPE_VALUE, "b", "b10");
    add(m, 11, TYPE_VALUE, "d", "d11");
    add(m, 12, TYPE_VALUE, "f", "f12");
    add(m, 20, TYPE_RANGE_DELETION, "c", "f"); /* covers c, d, e; not f */
    add(m, 25, TYPE_VALUE, "e", "e25");        /* newer than the tombstone */
    add(m, 30, TYPE_DELETION, "x", "");
    assert_int_equal(memtable_num_range_dels(m), 1);
    assert_int_equal(memtable_num_entries(m), 5);

    expect_get(m, "b", 100, MT_FOUND, "b10");      /* not covered (before start) */
    expect_get(m, "d", 100, MT_DELETED, NULL);     /* covered, point older */
    expect_get(m, "d", 19, MT_FOUND, "d11");       /* snapshot below the tombstone */
    expect_get(m, "d", 20, MT_DELETED, NULL);
    expect_get(m, "c", 100, MT_DELETED, NULL);     /* covered, no point entry at all */
    expect_get(m, "c", 19, MT_NOT_FOUND, NULL);
    expect_get(m, "cc", 100, MT_DELETED, NULL);
    expect_get(m, "e", 100, MT_FOUND, "e25");      /* point newer than tombstone */
    expect_get(m, "e", 24, MT_DELETED, NULL);      /* at 24 only the tombstone is seen */
    expect_get(m, "f", 100, MT_FOUND, "f12");      /* end is exclusive */
    expect_get(m, "x", 100, MT_DELETED, NULL);

    /* An empty range is ignored. */
    add(m, 40, TYPE_RANGE_DELETION, "q", "q");
    add(m, 41, TYPE_RANGE_DELETION, "z", "a");
    assert_int_equal(memtable_num_range_dels(m), 1);
    /* Overlapping tombstones: the newest covering one <= snapshot counts. */
    add(m, 50, TYPE_RANGE_DELETION, "a", "z");
    add(m, 51, TYPE_VALUE, "b", "b51");
    expect_get(m, "b", 49, MT_FOUND, "b10");
    expect_get(m, "b", 50, MT_DELETED, NULL);
    expect_get(m, "b", 51, MT_FOUND, "b51");
    expect_get(m, "e", 60, MT_DELETED, NULL);
    expect_get(m, "f", 49, MT_FOUND, "f12");
    expect_get(m, "f", 60, MT_DELETED, NULL);
    assert_int_equal(memtable_num_range_dels(m), 2);
    assert_int_equal(memtable_last_seq(m), 51);

    range_del_t *rd = memtable_range_dels(m);
    assert_non_null(rd);
    assert_int_equal(range_del_max_covering(rd, S("d"), 100), 50);
    assert_int_equal(range_del_max_covering(rd, S("d"), 49), 20);
    memtable_unref(m);
}

/* A tombstone as the very first (smallest) sequence also sets first_seq. */
static void test_seq_bookkeeping(void **state)
{
    (void)state;
    memtable_t *m = memtable_new();
    add(m, 7, TYPE_RANGE_DELETION, "a", "b");
    assert_int_equal(memtable_first_seq(m), 7);
    add(m, 9, TYPE_VALUE, "k", "v");
    add(m, 3, TYPE_VALUE, "j", "v"); /* out of order, as parallel writers may do */
    assert_int_equal(memtable_first_seq(m), 3);
    assert_int_equal(memtable_last_seq(m), 9);
    memtable_unref(m);
}

static void test_iterator_order(void **state)
{
    (void)state;
    memtable_t *m = memtable_new();
    /* Insert in scrambled order: keys k0..k9, three versions each. */
    int order[30];
    for (int i = 0; i < 30; i++)
        order[i] = (i * 17) % 30;
    for (int i = 0; i < 30; i++) {
        int k = order[i] / 3, ver = order[i] % 3;
        char key[16], val[32];
        snprintf(key, sizeof(key), "k%d", k);
        snprintf(val, sizeof(val), "%d.%d", k, ver);
        uint64_t seq = 100 + (uint64_t)k * 3 + (uint64_t)ver;
        add(m, seq, ver == 1 ? TYPE_DELETION : TYPE_VALUE, key, ver == 1 ? "" : val);
    }
    iter_t *it = memtable_iter_new(m);
    /* The iterator holds its own reference: dropping ours must keep the data alive. */
    memtable_unref(m);
    int n = 0;
    slice_t prev = {0};
    char prevbuf[64];
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it), n++) {
        slice_t k = iter_key(it);
        assert_true(k.size >= 8);
        int kk = n / 3, ver = 2 - n % 3; /* newest first */
        char want[16];
        snprintf(want, sizeof(want), "k%d", kk);
        assert_true(slice_equal(ikey_user_key(k), S(want)));
        assert_int_equal(ikey_seq(k), 100 + kk * 3 + ver);
        assert_int_equal(ikey_type(k), ver == 1 ? TYPE_DELETION : TYPE_VALUE);
        if (ver != 1) {
            char val[32];
            snprintf(val, sizeof(val), "%d.%d", kk, ver);
            assert_true(slice_equal(iter_value(it), S(val)));
        } else {
            assert_int_equal(iter_value(it).size, 0);
        }
        if (n > 0)
            assert_true(ikey_compare(slice_make(prevbuf, prev.size), k) < 0);
        memcpy(prevbuf, k.data, k.size);
        prev.size = k.size;
    }
    assert_int_equal(n, 30);
    /* Backwards gives the same sequence reversed. */
    n = 29;
    for (iter_seek_to_last(it); iter_valid(it); iter_prev(it), n--) {
        int kk = n / 3, ver = 2 - n % 3;
        assert_int_equal(ikey_seq(iter_key(it)), 100 + kk * 3 + ver);
    }
    assert_int_equal(n, -1);

    /* Seek to (k4, snapshot 112): k4 has seqs 112..114, so lands on seq 112. */
    char t[16];
    ikey_encode(t, S("k4"), 112, TYPE_FOR_SEEK);
    iter_seek(it, slice_make(t, 10));
    assert_true(iter_valid(it));
    assert_int_equal(ikey_seq(iter_key(it)), 112);
    /* seek_for_prev to the same target: last entry <= it is k4 seq 113. */
    iter_seek_for_prev(it, slice_make(t, 10));
    assert_true(iter_valid(it));
    assert_int_equal(ikey_seq(iter_key(it)), 113);
    /* Exact hit. */
    ikey_encode(t, S("k4"), 113, TYPE_DELETION);
    iter_seek_for_prev(it, slice_make(t, 10));
    assert_int_equal(ikey_seq(iter_key(it)), 113);
    iter_seek(it, slice_make(t, 10));
    assert_int_equal(ikey_seq(iter_key(it)), 113);
    /* Past the end / before the start. */
    ikey_encode(t, S("z"), 1, TYPE_VALUE);
    iter_seek(it, slice_make(t, 9));
    assert_false(iter_valid(it));
    iter_seek_for_prev(it, slice_make(t, 9));
    assert_true(iter_valid(it));
    assert_int_equal(ikey_seq(iter_key(it)), 127);
    ikey_encode(t, S("a"), 1, TYPE_VALUE);
    iter_seek_for_prev(it, slice_make(t, 9));
    assert_false(iter_valid(it));
    /* A target shorter than a trailer is a bare user key. */
    iter_seek(it, S("k5"));
    assert_true(iter_valid(it));
    assert_int_equal(ikey_seq(iter_key(it)), 117);
    iter_destroy(it);
}

static void test_memory_usage(void **state)
{
    (void)state;
    memtable_t *m = memtable_new();
    size_t start = memtable_memory_usage(m);
    assert_true(start > 0);
    char key[32], val[200];
    memset(val, 'v', sizeof(val));
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "key%08d", i);
        assert_int_equal(memtable_add(m, (uint64_t)i + 1, TYPE_VALUE, S(key),
                                      slice_make(val, sizeof(val))), 0);
    }
    size_t end = memtable_memory_usage(m);
    /* At least the raw bytes, and not wildly more (one entry ~ 230 bytes + node). */
    assert_true(end >= start + 10000u * (200 + 19));
    assert_true(end < 10000u * 400 + start + (1u << 20));
    /* A large value gets counted too. */
    char *big = calloc(1, 1 << 20);
    assert_non_null(big);
    assert_int_equal(memtable_add(m, 20000, TYPE_VALUE, S("big"), slice_make(big, 1 << 20)), 0);
    assert_true(memtable_memory_usage(m) >= end + (1u << 20));
    buf_t b;
    buf_init(&b);
    assert_int_equal(memtable_get(m, S("big"), 20000, &b), MT_FOUND);
    assert_int_equal(b.len, 1u << 20);
    assert_memory_equal(b.data, big, 1u << 20);
    buf_free(&b);
    free(big);
    memtable_unref(m);
}

static void test_empty_key_value(void **state)
{
    (void)state;
    memtable_t *m = memtable_new();
    add(m, 1, TYPE_VALUE, "", "");
    add(m, 2, TYPE_VALUE, "a", "");
    expect_get(m, "", 5, MT_FOUND, "");
    expect_get(m, "a", 5, MT_FOUND, "");
    expect_get(m, "", 0, MT_NOT_FOUND, NULL);
    add(m, 3, TYPE_DELETION, "", "");
    expect_get(m, "", 5, MT_DELETED, NULL);
    expect_get(m, "", 2, MT_FOUND, "");
    /* A tombstone starting at the empty key covers it. */
    add(m, 4, TYPE_VALUE, "", "x");
    add(m, 5, TYPE_RANGE_DELETION, "", "a");
    expect_get(m, "", 5, MT_DELETED, NULL);
    expect_get(m, "", 4, MT_FOUND, "x");
    expect_get(m, "a", 5, MT_FOUND, "");
    iter_t *it = memtable_iter_new(m);
    iter_seek_to_first(it);
    assert_true(iter_valid(it));
    assert_int_equal(iter_key(it).size, 8);
    assert_int_equal(ikey_seq(iter_key(it)), 4);
    iter_destroy(it);
    /* Keys with embedded zero bytes and 0xff bytes order bytewise. */
    char k1[] = {'\0', 'x'}, k2[] = {'\xff'};
    assert_int_equal(memtable_add(m, 10, TYPE_VALUE, slice_make(k1, 2), S("zero")), 0);
    assert_int_equal(memtable_add(m, 11, TYPE_VALUE, slice_make(k2, 1), S("ff")), 0);
    buf_t b;
    buf_init(&b);
    assert_int_equal(memtable_get(m, slice_make(k1, 2), 20, &b), MT_FOUND);
    assert_true(slice_equal(buf_slice(&b), S("zero")));
    assert_int_equal(memtable_get(m, slice_make(k2, 1), 20, &b), MT_FOUND);
    assert_true(slice_equal(buf_slice(&b), S("ff")));
    assert_int_equal(memtable_get(m, slice_make(k1, 1), 4, &b), MT_NOT_FOUND);
    assert_int_equal(memtable_get(m, slice_make(k1, 1), 20, &b), MT_DELETED); /* ["", "a") */
    buf_free(&b);
    memtable_unref(m);
}

/* Long keys (no fixed-size seek buffer anywhere). */
static void test_long_keys(void **state)
{
    (void)state;
    memtable_t *m = memtable_new();
    size_t n = 100000;
    char *k = malloc(n);
    memset(k, 'k', n);
    assert_int_equal(memtable_add(m, 1, TYPE_VALUE, slice_make(k, n), S("long")), 0);
    k[n - 1] = 'j';
    assert_int_equal(memtable_add(m, 2, TYPE_VALUE, slice_make(k, n), S("shorter")), 0);
    buf_t b;
    buf_init(&b);
    assert_int_equal(memtable_get(m, slice_make(k, n), 5, &b), MT_FOUND);
    assert_true(slice_equal(buf_slice(&b), S("shorter")));
    k[n - 1] = 'k';
    assert_int_equal(memtable_get(m, slice_make(k, n), 5, &b), MT_FOUND);
    assert_true(slice_equal(buf_slice(&b), S("long")));
    assert_int_equal(memtable_get(m, slice_make(k, n - 1), 5, &b), MT_NOT_FOUND);
    buf_free(&b);
    free(k);
    memtable_unref(m);
}

/* memtable_get against brute force: random puts, deletes and range deletes over a small
 * key space, then every key at many snapshots. Seeded (LSM_TEST_SEED overrides). */
typedef struct {
    uint64_t seq;
    value_type_t type;
    int key, end;
} gop_t;

static void test_get_model(void **state)
{
    (void)state;
    const char *env = getenv("LSM_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : 777;
    for (int round = 0; round < 20; round++) {
        rnd_t r;
        rnd_seed(&r, seed * 7919 + (uint64_t)round);
        int nkeys = 5 + (int)rnd_uniform(&r, 40), nops = 50 + (int)rnd_uniform(&r, 600);
        gop_t *ops = calloc((size_t)nops, sizeof(*ops));
        memtable_t *m = memtable_new();
        char k1[16], k2[16], v[24];
        for (int i = 0; i < nops; i++) {
            gop_t *o = &ops[i];
            o->seq = (uint64_t)i + 1;
            o->key = (int)rnd_uniform(&r, (uint64_t)nkeys);
            int roll = (int)rnd_uniform(&r, 10);
            o->type = roll < 1 ? TYPE_RANGE_DELETION : roll < 4 ? TYPE_DELETION : TYPE_VALUE;
            o->end = (int)rnd_uniform(&r, (uint64_t)nkeys + 1);
            snprintf(k1, sizeof(k1), "%03d", o->key);
            snprintf(k2, sizeof(k2), "%03d", o->end);
            snprintf(v, sizeof(v), "v%d", i);
            assert_int_equal(memtable_add(m, o->seq, o->type, S(k1),
                                          o->type == TYPE_RANGE_DELETION ? S(k2) : S(v)),
                             0);
        }
        for (uint64_t snap = 0; snap <= (uint64_t)nops + 1; snap += 1 + rnd_uniform(&r, 9)) {
            for (int k = 0; k < nkeys; k++) {
                const gop_t *pt = NULL;
                uint64_t tomb = 0;
                for (int i = 0; i < nops && ops[i].seq <= snap; i++) {
                    const gop_t *o = &ops[i];
                    if (o->type == TYPE_RANGE_DELETION) {
                        if (k >= o->key && k < o->end)
                            tomb = o->seq;
                    } else if (o->key == k) {
                        pt = o;
                    }
                }
                mt_get_t want = MT_NOT_FOUND;
                if (pt && pt->seq > tomb)
                    want = pt->type == TYPE_VALUE ? MT_FOUND : MT_DELETED;
                else if (tomb)
                    want = MT_DELETED;
                snprintf(k1, sizeof(k1), "%03d", k);
                if (want == MT_FOUND)
                    snprintf(v, sizeof(v), "v%d", (int)(pt->seq - 1));
                buf_t b;
                buf_init(&b);
                mt_get_t got = memtable_get(m, S(k1), snap, &b);
                if (got != want || (want == MT_FOUND && !slice_equal(buf_slice(&b), S(v))))
                    fail_msg("seed %llu round %d: get %s at %llu = %d, want %d",
                             (unsigned long long)seed, round, k1, (unsigned long long)snap, got,
                             want);
                buf_free(&b);
            }
        }
        memtable_unref(m);
        free(ops);
    }
}

/* ---- concurrency --------------------------------------------------------------------- */

#define CT_THREADS 8
#define CT_PER_THREAD 20000

typedef struct {
    memtable_t *m;
    int id;
    int fails;
} ct_arg_t;

static void ct_key(char *dst, size_t n, int id, int i) { snprintf(dst, n, "t%d-%07d", id, i); }

static void *ct_writer(void *p)
{
    ct_arg_t *a = p;
    char key[32], val[32];
    for (int i = 0; i < CT_PER_THREAD; i++) {
        ct_key(key, sizeof(key), a->id, i);
        snprintf(val, sizeof(val), "val%d", i);
        /* Distinct sequences, interleaved across threads. */
        uint64_t seq = (uint64_t)i * CT_THREADS + (uint64_t)a->id + 1;
        if (memtable_add(a->m, seq, TYPE_VALUE, S(key), S(val)) != 0)
            a->fails++;
        /* Readers run alongside: our own earlier keys must be visible. */
        if (i % 97 == 0 && i > 0) {
            buf_t b;
            buf_init(&b);
            ct_key(key, sizeof(key), a->id, i - 1);
            if (memtable_get(a->m, S(key), MAX_SEQUENCE, &b) != MT_FOUND)
                a->fails++;
            buf_free(&b);
        }
    }
    return NULL;
}

/* A reader that walks the list while writers insert: order must always hold. */
typedef struct {
    memtable_t *m;
    _Atomic int *stop;
    int bad;
    long walks;
} ct_reader_t;

static void *ct_reader(void *p)
{
    ct_reader_t *r = p;
    iter_t *it = memtable_iter_new(r->m);
    buf_t prev;
    buf_init(&prev);
    while (!atomic_load(r->stop)) {
        buf_clear(&prev);
        int first = 1;
        for (iter_seek_to_first(it); iter_valid(it); iter_next(it)) {
            slice_t k = iter_key(it);
            if (!first && ikey_compare(buf_slice(&prev), k) >= 0)
                r->bad++;
            buf_clear(&prev);
            buf_append(&prev, k.data, k.size);
            first = 0;
        }
        r->walks++;
    }
    buf_free(&prev);
    iter_destroy(it);
    return NULL;
}

static void test_concurrent_add(void **state)
{
    (void)state;
    memtable_t *m = memtable_new();
    pthread_t th[CT_THREADS], rth;
    ct_arg_t args[CT_THREADS];
    _Atomic int stop = 0;
    ct_reader_t rd = {m, &stop, 0, 0};
    assert_int_equal(pthread_create(&rth, NULL, ct_reader, &rd), 0);
    for (int t = 0; t < CT_THREADS; t++) {
        args[t] = (ct_arg_t){m, t, 0};
        assert_int_equal(pthread_create(&th[t], NULL, ct_writer, &args[t]), 0);
    }
    for (int t = 0; t < CT_THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(args[t].fails, 0);
    }
    atomic_store(&stop, 1);
    pthread_join(rth, NULL);
    assert_int_equal(rd.bad, 0);
    assert_true(rd.walks > 0);

    assert_int_equal(memtable_num_entries(m), (uint64_t)CT_THREADS * CT_PER_THREAD);
    assert_int_equal(memtable_first_seq(m), 1);
    assert_int_equal(memtable_last_seq(m), (uint64_t)CT_THREADS * CT_PER_THREAD);
    buf_t b;
    buf_init(&b);
    char key[32], val[32];
    for (int t = 0; t < CT_THREADS; t++) {
        for (int i = 0; i < CT_PER_THREAD; i++) {
            ct_key(key, sizeof(key), t, i);
            snprintf(val, sizeof(val), "val%d", i);
            if (memtable_get(m, S(key), MAX_SEQUENCE, &b) != MT_FOUND ||
                !slice_equal(buf_slice(&b), S(val)))
                fail_msg("entry %s missing or wrong", key);
        }
    }
    buf_free(&b);
    /* The iterator sees every entry exactly once, in order. */
    iter_t *it = memtable_iter_new(m);
    uint64_t n = 0;
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it))
        n++;
    assert_int_equal(n, (uint64_t)CT_THREADS * CT_PER_THREAD);
    iter_destroy(it);
    memtable_unref(m);
}

/* Range tombstones added concurrently with point entries and readers. */
static void *rt_writer(void *p)
{
    ct_arg_t *a = p;
    char s[16], e[16];
    for (int i = 0; i < 500; i++) {
        snprintf(s, sizeof(s), "r%04d", i * 2);
        snprintf(e, sizeof(e), "r%04d", i * 2 + 1);
        if (memtable_add(a->m, 1000000 + (uint64_t)i * 2 + (uint64_t)a->id, TYPE_RANGE_DELETION,
                         S(s), S(e)) != 0)
            a->fails++;
    }
    return NULL;
}

static void test_concurrent_range_dels(void **state)
{
    (void)state;
    memtable_t *m = memtable_new();
    pthread_t th[2];
    ct_arg_t args[2];
    for (int t = 0; t < 2; t++) {
        args[t] = (ct_arg_t){m, t, 0};
        assert_int_equal(pthread_create(&th[t], NULL, rt_writer, &args[t]), 0);
    }
    for (int t = 0; t < 2; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(args[t].fails, 0);
    }
    assert_int_equal(memtable_num_range_dels(m), 1000);
    char k[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "r%04d", i);
        expect_get(m, k, MAX_SEQUENCE, (i % 2 == 0) ? MT_DELETED : MT_NOT_FOUND, NULL);
    }
    memtable_unref(m);
}

/* A memtable sized for a large write buffer (huge-page arena) holds and orders entries
 * like a small one: every key is found, iteration and seeks (which prefetch the next
 * level's node) come out in order, and usage grows in whole 2 MiB blocks. */
static void test_huge_sized(void **state)
{
    (void)state;
    memtable_t *m = memtable_new_sized(MEMTABLE_HUGE_MIN);
    enum { N = 30000 };
    char key[32], val[64];
    for (int i = 0; i < N; i++) {
        int k = (int)(((uint64_t)i * 7919) % N);
        snprintf(key, sizeof(key), "key%08d", k);
        snprintf(val, sizeof(val), "value-%d", k);
        add(m, (uint64_t)i + 1, TYPE_VALUE, key, val);
    }
    assert_int_equal(memtable_memory_usage(m) % ARENA_HUGE_BLOCK, 0);
    buf_t b;
    buf_init(&b);
    for (int k = 0; k < N; k += 7) {
        snprintf(key, sizeof(key), "key%08d", k);
        snprintf(val, sizeof(val), "value-%d", k);
        assert_int_equal(memtable_get(m, S(key), N + 1, &b), MT_FOUND);
        assert_true(slice_equal(buf_slice(&b), S(val)));
    }
    assert_int_equal(memtable_get(m, S("key9"), N + 1, &b), MT_NOT_FOUND);
    buf_free(&b);
    iter_t *it = memtable_iter_new(m);
    int n = 0;
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it), n++) {
        snprintf(key, sizeof(key), "key%08d", n);
        assert_true(slice_equal(ikey_user_key(iter_key(it)), S(key)));
    }
    assert_int_equal(n, N);
    for (int k = 1; k < N; k += 997) {
        /* "key%08d" + "x" lies between key k and key k+1. */
        char probe[48];
        snprintf(probe, sizeof(probe), "key%08dx", k - 1);
        char ik[64];
        ikey_encode(ik, S(probe), N + 1, TYPE_FOR_SEEK);
        iter_seek(it, slice_make(ik, strlen(probe) + 8));
        assert_true(iter_valid(it));
        snprintf(key, sizeof(key), "key%08d", k);
        assert_true(slice_equal(ikey_user_key(iter_key(it)), S(key)));
    }
    iter_destroy(it);
    memtable_unref(m);
}

/* A memtable big enough to have the point-key filter: no false negatives (every added key,
 * value or deletion, is answered), absent keys are not found, and range tombstones still
 * delete keys that have no point entry (they are not in the filter). */
static void test_filtered_get(void **state)
{
    (void)state;
    memtable_t *m = memtable_new_sized(4u << 20);
    enum { N = 20000 };
    char key[32], val[64];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "fk%06d", i);
        snprintf(val, sizeof(val), "v%d", i);
        add(m, (uint64_t)i + 1, i % 10 == 3 ? TYPE_DELETION : TYPE_VALUE, key, val);
    }
    add(m, N + 1, TYPE_RANGE_DELETION, "zz000", "zz500");
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "fk%06d", i);
        snprintf(val, sizeof(val), "v%d", i);
        expect_get(m, key, N + 1, i % 10 == 3 ? MT_DELETED : MT_FOUND, val);
        expect_get(m, key, (uint64_t)i, MT_NOT_FOUND, NULL); /* not yet written */
    }
    int absent_found = 0;
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "gk%06d", i);
        buf_t b;
        buf_init(&b);
        absent_found += memtable_get(m, S(key), N + 1, &b) != MT_NOT_FOUND;
        buf_free(&b);
    }
    assert_int_equal(absent_found, 0);
    expect_get(m, "zz123", N + 2, MT_DELETED, NULL);
    expect_get(m, "zz123", N, MT_NOT_FOUND, NULL);
    memtable_unref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_add_get),
        cmocka_unit_test(test_overwrites),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_range_tombstones),
        cmocka_unit_test(test_seq_bookkeeping),
        cmocka_unit_test(test_iterator_order),
        cmocka_unit_test(test_memory_usage),
        cmocka_unit_test(test_empty_key_value),
        cmocka_unit_test(test_long_keys),
        cmocka_unit_test(test_get_model),
        cmocka_unit_test(test_concurrent_add),
        cmocka_unit_test(test_filtered_get),
        cmocka_unit_test(test_concurrent_range_dels),
        cmocka_unit_test(test_huge_sized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
