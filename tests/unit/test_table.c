/*
 * test_table.c - SST builder + reader against a sorted in-memory reference: round trips
 * with and without zlib over many blocks, gets at snapshots, deletions, range tombstones,
 * iterators in both directions and seeks, key-range bounds, properties, the block cache
 * and bloom counters, a flip of every byte of a small SST (right data or an error, never
 * wrong data), truncation at every length, and the table cache with a tiny budget.
 */
#define _GNU_SOURCE
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
#include "table/cache.h"
#include "table/format.h"
#include "table/table.h"
#include "table/table_builder.h"
#include "db/table_cache.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/file.h"
#include "util/mapguard.h"
#include "util/random.h"

/* ---- the reference model ---- */
typedef struct {
    buf_t ikey;
    buf_t val;
} ent_t;

typedef struct {
    buf_t start, end;
    uint64_t seq;
} tomb_t;

typedef struct {
    ent_t *e;
    size_t n;
    tomb_t *t;
    size_t nt;
    uint64_t max_seq;
} model_t;

static char tmpdir[64];
static env_t env;

static slice_t ukey_of(char *buf, size_t pad, uint32_t i)
{
    /* pad > 0: a long common prefix, so keys exceed the iterator's inline buffer */
    memset(buf, 'P', pad);
    int n = snprintf(buf + pad, 32, "key%07u", i);
    return slice_make(buf, pad + (size_t)n);
}

/* nkeys user keys key0000000, key0000002, ... (odd numbers are absent), each with 1-3
 * versions (newest first), ~1 in 6 a deletion. Values compress well when compressible. */
static void model_build(model_t *m, uint32_t nkeys, size_t pad, int compressible, uint64_t seed)
{
    rnd_t r;
    rnd_seed(&r, seed);
    memset(m, 0, sizeof(*m));
    m->e = calloc(nkeys * 3 + 1, sizeof(ent_t));
    uint64_t seq = 1;
    char kb[600];
    for (uint32_t i = 0; i < nkeys; i++) {
        slice_t uk = ukey_of(kb, pad, i * 2);
        int nv = 1 + (int)rnd_uniform(&r, 3);
        uint64_t top = seq + (uint64_t)nv - 1;
        seq += (uint64_t)nv + rnd_uniform(&r, 3);
        for (int v = 0; v < nv; v++) {
            ent_t *e = &m->e[m->n++];
            buf_init(&e->ikey);
            buf_init(&e->val);
            value_type_t ty = rnd_one_in(&r, 6) ? TYPE_DELETION : TYPE_VALUE;
            buf_append(&e->ikey, uk.data, uk.size);
            buf_put_fixed64(&e->ikey, pack_seq_type(top - (uint64_t)v, ty));
            if (ty == TYPE_VALUE) {
                size_t vl = rnd_uniform(&r, 120);
                for (size_t j = 0; j < vl; j++)
                    buf_push(&e->val, compressible ? (char)('a' + (j / 16) % 3) : (char)rnd_next(&r));
            }
        }
    }
    m->max_seq = seq;
}

static void model_add_tomb(model_t *m, uint32_t from, uint32_t to, size_t pad, uint64_t seq)
{
    m->t = realloc(m->t, (m->nt + 1) * sizeof(tomb_t));
    tomb_t *t = &m->t[m->nt++];
    char kb[600];
    buf_init(&t->start);
    buf_init(&t->end);
    slice_t s = ukey_of(kb, pad, from);
    buf_append(&t->start, s.data, s.size);
    s = ukey_of(kb, pad, to);
    buf_append(&t->end, s.data, s.size);
    t->seq = seq;
}

static void model_free(model_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        buf_free(&m->e[i].ikey);
        buf_free(&m->e[i].val);
    }
    for (size_t i = 0; i < m->nt; i++) {
        buf_free(&m->t[i].start);
        buf_free(&m->t[i].end);
    }
    free(m->e);
    free(m->t);
}

static slice_t EK(const model_t *m, size_t i) { return buf_slice(&m->e[i].ikey); }

/* First entry >= target (m->n if none). */
static size_t model_lower(const model_t *m, slice_t target)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ikey_compare(EK(m, mid), target) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Reference get: same rule as table_get. */
static table_get_result_t model_get(const model_t *m, slice_t uk, uint64_t snap, slice_t *val,
                                    uint64_t *seq)
{
    uint64_t tomb = 0;
    for (size_t i = 0; i < m->nt; i++) {
        const tomb_t *t = &m->t[i];
        if (t->seq <= snap && t->seq > tomb && slice_compare(buf_slice(&t->start), uk) <= 0 &&
            slice_compare(uk, buf_slice(&t->end)) < 0)
            tomb = t->seq;
    }
    table_get_result_t res = TABLE_NOT_FOUND;
    uint64_t ps = 0;
    char kb[700];
    ikey_encode(kb, uk, snap, TYPE_FOR_SEEK);
    size_t i = model_lower(m, slice_make(kb, uk.size + 8));
    if (i < m->n && slice_equal(ikey_user_key(EK(m, i)), uk)) {
        slice_t k = EK(m, i);
        ps = ikey_seq(k);
        res = ikey_type(k) == TYPE_VALUE ? TABLE_FOUND : TABLE_DELETED;
        *val = buf_slice(&m->e[i].val);
    }
    if (tomb && (res == TABLE_NOT_FOUND || tomb > ps)) {
        *seq = tomb;
        return TABLE_DELETED;
    }
    *seq = ps;
    return res;
}

static void table_file(char *out, size_t n, uint64_t number) { fn_table(out, n, tmpdir, number); }

/* Writes the model as table `number`; returns the finished builder (caller destroys). */
static table_builder_t *write_table(const model_t *m, uint64_t number, const table_options_t *o)
{
    char path[256];
    table_file(path, sizeof(path), number);
    wfile_t *f;
    assert_null(wfile_open(&env, path, 0, &f));
    table_builder_t *b = table_builder_new(o, f);
    assert_non_null(b);
    /* tombstones interleaved with point adds, in reverse order: the builder sorts them */
    size_t ti = m->nt;
    for (size_t i = 0; i < m->n; i++) {
        assert_null(table_builder_add(b, EK(m, i), buf_slice(&m->e[i].val)));
        if (ti > 0 && i % 7 == 0) {
            ti--;
            assert_null(table_builder_add_range_del(b, buf_slice(&m->t[ti].start),
                                                    buf_slice(&m->t[ti].end), m->t[ti].seq));
        }
    }
    while (ti > 0) {
        ti--;
        assert_null(table_builder_add_range_del(b, buf_slice(&m->t[ti].start),
                                                buf_slice(&m->t[ti].end), m->t[ti].seq));
    }
    assert_null(table_builder_finish(b));
    assert_null(wfile_sync(f));
    assert_null(wfile_close(f));
    uint64_t sz;
    assert_null(file_size(path, &sz));
    assert_int_equal(sz, table_builder_file_size(b));
    return b;
}

static table_t *open_table(uint64_t number, uint64_t size, cache_t *bc, table_stats_t *stats)
{
    char path[256];
    table_file(path, sizeof(path), number);
    table_read_options_t ro = {bc, stats, 1, 0};
    table_t *t = NULL;
    status_t s = table_open(&env, path, number, size, &ro, &t);
    if (s)
        fail_msg("open: %s", st_msg(s));
    return t;
}

/* Writes m's table as file `number` (options o, NULL = the defaults) and opens it through
 * bc and stats (either may be NULL). */
static table_t *write_and_open(const model_t *m, uint64_t number, const table_options_t *o,
                               cache_t *bc, table_stats_t *stats)
{
    table_options_t def;
    if (!o) {
        table_options_default(&def);
        o = &def;
    }
    table_builder_t *b = write_table(m, number, o);
    uint64_t size = table_builder_file_size(b);
    table_builder_destroy(b);
    return open_table(number, size, bc, stats);
}

static void check_iter_at(iter_t *it, const model_t *m, size_t i)
{
    if (i >= m->n) {
        assert_false(iter_valid(it));
        assert_null(iter_status(it));
        return;
    }
    assert_true(iter_valid(it));
    assert_true(slice_equal(iter_key(it), EK(m, i)));
    assert_true(slice_equal(iter_value(it), buf_slice(&m->e[i].val)));
}

static void check_iterators(table_t *t, const model_t *m, uint64_t seed)
{
    iter_t *it = table_iter_new(t, 1, 1);
    size_t i = 0;
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it))
        check_iter_at(it, m, i++);
    assert_null(iter_status(it));
    assert_int_equal(i, m->n);
    i = m->n;
    for (iter_seek_to_last(it); iter_valid(it); iter_prev(it))
        check_iter_at(it, m, --i);
    assert_null(iter_status(it));
    assert_int_equal(i, 0);
    /* random seeks: existing keys, user keys at random snapshots, absent keys */
    rnd_t r;
    rnd_seed(&r, seed);
    char kb[700];
    for (int round = 0; round < 3000 && m->n; round++) {
        slice_t target;
        size_t pick = rnd_uniform(&r, m->n);
        if (round % 3 == 0) {
            target = EK(m, pick);
        } else {
            slice_t uk = ikey_user_key(EK(m, pick));
            memcpy(kb, uk.data, uk.size);
            if (round % 3 == 2)
                kb[uk.size - 1]++; /* an absent (odd) key */
            ikey_encode(kb, slice_make(kb, uk.size), rnd_uniform(&r, m->max_seq + 2),
                        rnd_one_in(&r, 2) ? TYPE_FOR_SEEK : TYPE_VALUE);
            target = slice_make(kb, uk.size + 8);
        }
        size_t lo = model_lower(m, target);
        iter_seek(it, target);
        check_iter_at(it, m, lo);
        if (round % 5 == 0) {
            /* walk across block boundaries after a seek (the index may be positioned
             * lazily by the seek), then back over them, then seek again */
            size_t k = lo;
            for (int s = 0; s < 70 && k < m->n; s++) {
                iter_next(it);
                check_iter_at(it, m, ++k);
            }
            iter_seek(it, target);
            for (k = lo; lo < m->n && k > 0 && k + 70 > lo; k--) {
                iter_prev(it);
                check_iter_at(it, m, k - 1);
            }
            iter_seek(it, target);
            check_iter_at(it, m, lo);
        }
        /* step around */
        if (lo < m->n) {
            iter_prev(it);
            check_iter_at(it, m, lo == 0 ? m->n : lo - 1);
        }
        /* seek_for_prev: last entry <= target */
        size_t le = (lo < m->n && ikey_compare(EK(m, lo), target) == 0) ? lo : lo - 1; /* may wrap */
        iter_seek_for_prev(it, target);
        check_iter_at(it, m, le == (size_t)-1 ? m->n : le);
        if (le != (size_t)-1 && le + 1 < m->n) {
            iter_next(it);
            check_iter_at(it, m, le + 1);
        }
    }
    /* before the first and after the last */
    iter_seek(it, slice_make("\0\0\0\0\0\0\0\0\0", 9));
    check_iter_at(it, m, 0);
    iter_seek_for_prev(it, slice_make("\0\0\0\0\0\0\0\0\0", 9));
    assert_false(iter_valid(it));
    char hi[9] = {'\xff', 0, 0, 0, 0, 0, 0, 0, 0};
    iter_seek(it, slice_make(hi, 9));
    assert_false(iter_valid(it));
    iter_seek_for_prev(it, slice_make(hi, 9));
    check_iter_at(it, m, m->n ? m->n - 1 : 0);
    assert_null(iter_status(it));
    iter_destroy(it);
}

static void check_gets(table_t *t, const model_t *m, size_t pad, uint32_t nkeys, uint64_t seed)
{
    rnd_t r;
    rnd_seed(&r, seed);
    buf_t v;
    buf_init(&v);
    char kb[700];
    for (uint32_t i = 0; i < nkeys * 2 + 2; i++) {
        slice_t uk = ukey_of(kb, pad, i);
        for (int j = 0; j < 3; j++) {
            uint64_t snap = j == 0 ? MAX_SEQUENCE : rnd_uniform(&r, m->max_seq + 1);
            slice_t want_v = {0};
            uint64_t want_seq, got_seq;
            table_get_result_t want = model_get(m, uk, snap, &want_v, &want_seq), got;
            status_t s = table_get(t, uk, snap, 1, 1, &v, &got, &got_seq);
            assert_null(s);
            assert_int_equal(got, want);
            if (want != TABLE_NOT_FOUND)
                assert_int_equal(got_seq, want_seq);
            if (want == TABLE_FOUND)
                assert_true(slice_equal(buf_slice(&v), want_v));
        }
    }
    buf_free(&v);
}

static void roundtrip(int compression, size_t pad, uint32_t nkeys, uint64_t number)
{
    model_t m;
    model_build(&m, nkeys, pad, compression != 0, number);
    table_options_t o;
    table_options_default(&o);
    o.compression = compression;
    table_builder_t *b = write_table(&m, number, &o);
    assert_int_equal(table_builder_num_entries(b), m.n);
    assert_true(slice_equal(table_builder_smallest(b), EK(&m, 0)));
    assert_true(slice_equal(table_builder_largest(b), EK(&m, m.n - 1)));
    assert_int_equal(table_builder_smallest_seq(b), 1);
    uint64_t size = table_builder_file_size(b);
    table_builder_destroy(b);

    cache_t *bc = cache_new(1 << 20);
    table_stats_t stats = {0};
    table_t *t = open_table(number, size, bc, &stats);
    const table_props_t *p = table_properties(t);
    assert_int_equal(p->num_entries, m.n);
    assert_true(p->num_data_blocks > 10);
    assert_true(slice_equal(buf_slice(&p->smallest_key), EK(&m, 0)));
    size_t dels = 0, rk = 0, rv = 0;
    for (size_t i = 0; i < m.n; i++) {
        dels += ikey_type(EK(&m, i)) == TYPE_DELETION;
        rk += m.e[i].ikey.len;
        rv += m.e[i].val.len;
    }
    assert_int_equal(p->num_deletions, dels);
    assert_int_equal(p->raw_key_size, rk);
    assert_int_equal(p->raw_value_size, rv);
    if (compression)
        assert_true(p->data_size < (rk + rv) * 3 / 4); /* zlib actually used */
    else
        assert_true(p->data_size > rv);   /* random values do not shrink */
    assert_true(table_has_filter(t));
    assert_null(table_verify(t));
    check_iterators(t, &m, number);
    check_gets(t, &m, pad, nkeys, number);
    assert_true(atomic_load(&stats.block_cache_hit) > 0);
    assert_true(atomic_load(&stats.bloom_useful) > 0);
    /* approximate offsets grow with the key */
    uint64_t prev = 0;
    for (size_t i = 0; i < m.n; i += m.n / 20 + 1) {
        uint64_t off = table_approximate_offset(t, EK(&m, i));
        assert_true(off >= prev);
        prev = off;
    }
    assert_int_equal(table_approximate_offset(t, slice_make("\xff\0\0\0\0\0\0\0\0", 9)),
                     p->data_size);
    table_close(t);
    cache_destroy(bc);
    model_free(&m);
}

static void test_roundtrip_plain(void **state) { (void)state; roundtrip(BLOCK_TYPE_NONE, 0, 8000, 1); }
static void test_roundtrip_zlib(void **state) { (void)state; roundtrip(BLOCK_TYPE_ZLIB, 0, 8000, 2); }
static void test_roundtrip_long_keys(void **state) { (void)state; roundtrip(BLOCK_TYPE_NONE, 400, 500, 3); }

static void test_range_tombstones(void **state)
{
    (void)state;
    model_t m;
    model_build(&m, 3000, 0, 0, 4);
    /* some old tombstones (covering only older versions), some new, overlapping */
    model_add_tomb(&m, 100, 300, 0, m.max_seq / 2);
    model_add_tomb(&m, 200, 201, 0, m.max_seq + 5);
    model_add_tomb(&m, 250, 900, 0, 3);
    model_add_tomb(&m, 5000, 7001, 0, m.max_seq + 1);
    model_add_tomb(&m, 5000, 7001, 0, m.max_seq + 1);   /* exact duplicate: kept once */
    model_add_tomb(&m, 9000, 9000, 0, 7);               /* empty: ignored */
    model_add_tomb(&m, 5999, 9999, 0, m.max_seq + 3);   /* ends past every point key */
    table_options_t o;
    table_options_default(&o);
    o.block_size = 1024;
    table_builder_t *b = write_table(&m, 5, &o);
    assert_int_equal(table_builder_num_range_dels(b), 5);
    assert_int_equal(table_builder_largest_seq(b), m.max_seq + 5);
    /* smallest: the first point key (key0000000) is below every tombstone start */
    assert_true(slice_equal(table_builder_smallest(b), EK(&m, 0)));
    /* largest: the sentinel (key0009999, MAX_SEQUENCE, RANGE_DELETION) */
    slice_t lg = table_builder_largest(b);
    char kb[64];
    assert_true(slice_equal(ikey_user_key(lg), ukey_of(kb, 0, 9999)));
    assert_int_equal(ikey_seq(lg), MAX_SEQUENCE);
    assert_int_equal(ikey_type(lg), TYPE_RANGE_DELETION);
    uint64_t size = table_builder_file_size(b);
    table_builder_destroy(b);

    table_t *t = open_table(5, size, NULL, NULL);
    assert_int_equal(table_properties(t)->num_range_dels, 5);
    check_gets(t, &m, 0, 3000, 5);
    /* covering lookups */
    assert_int_equal(table_max_covering_tombstone(t, ukey_of(kb, 0, 200), MAX_SEQUENCE), m.max_seq + 5);
    assert_int_equal(table_max_covering_tombstone(t, ukey_of(kb, 0, 201), MAX_SEQUENCE), m.max_seq / 2);
    assert_int_equal(table_max_covering_tombstone(t, ukey_of(kb, 0, 201), 2), 0);
    assert_int_equal(table_max_covering_tombstone(t, ukey_of(kb, 0, 9999), MAX_SEQUENCE), 0);
    /* the raw tombstones come back sorted by (start, seq desc) */
    iter_t *it = table_range_del_iter_new(t);
    int n = 0;
    slice_t prev = {0};
    buf_t pb;
    buf_init(&pb);
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it), n++) {
        assert_int_equal(ikey_type(iter_key(it)), TYPE_RANGE_DELETION);
        if (n)
            assert_true(ikey_compare(prev, iter_key(it)) < 0);
        buf_clear(&pb);
        buf_append(&pb, iter_key(it).data, iter_key(it).size);
        prev = buf_slice(&pb);
    }
    assert_int_equal(n, 5);
    iter_destroy(it);
    buf_free(&pb);
    table_close(t);
    model_free(&m);

    /* a table of tombstones only */
    model_t e = {0};
    model_add_tomb(&e, 10, 20, 0, 9);
    model_add_tomb(&e, 5, 6, 0, 4);
    b = write_table(&e, 6, &o);
    assert_int_equal(table_builder_num_entries(b), 0);
    slice_t sm = table_builder_smallest(b);
    assert_true(slice_equal(ikey_user_key(sm), ukey_of(kb, 0, 5)));
    assert_int_equal(ikey_seq(sm), 4);
    assert_int_equal(ikey_type(sm), TYPE_RANGE_DELETION);
    assert_true(slice_equal(ikey_user_key(table_builder_largest(b)), ukey_of(kb, 0, 20)));
    assert_int_equal(table_builder_smallest_seq(b), 4);
    assert_int_equal(table_builder_largest_seq(b), 9);
    size = table_builder_file_size(b);
    table_builder_destroy(b);
    t = open_table(6, size, NULL, NULL);
    assert_false(table_has_filter(t));
    buf_t v;
    buf_init(&v);
    table_get_result_t res;
    uint64_t sq;
    assert_null(table_get(t, ukey_of(kb, 0, 15), 100, 1, 1, &v, &res, &sq));
    assert_int_equal(res, TABLE_DELETED);
    assert_int_equal(sq, 9);
    assert_null(table_get(t, ukey_of(kb, 0, 15), 8, 1, 1, &v, &res, &sq));
    assert_int_equal(res, TABLE_NOT_FOUND);
    assert_null(table_get(t, ukey_of(kb, 0, 20), 100, 1, 1, &v, &res, &sq));
    assert_int_equal(res, TABLE_NOT_FOUND);   /* end is exclusive */
    it = table_iter_new(t, 1, 1);
    iter_seek_to_first(it);
    assert_false(iter_valid(it));
    assert_null(iter_status(it));
    iter_destroy(it);
    assert_null(table_verify(t));
    buf_free(&v);
    table_close(t);
    model_free(&e);
}

static void test_empty_table_and_no_filter(void **state)
{
    (void)state;
    model_t e = {0};
    table_options_t o;
    table_options_default(&o);
    table_builder_t *b = write_table(&e, 7, &o);
    assert_int_equal(table_builder_smallest(b).size, 0);
    assert_int_equal(table_builder_largest(b).size, 0);
    uint64_t size = table_builder_file_size(b);
    table_builder_destroy(b);
    table_t *t = open_table(7, size, NULL, NULL);
    check_iterators(t, &e, 7);
    buf_t v;
    buf_init(&v);
    table_get_result_t res;
    assert_null(table_get(t, slice_str("x"), MAX_SEQUENCE, 1, 1, &v, &res, NULL));
    assert_int_equal(res, TABLE_NOT_FOUND);
    assert_null(table_verify(t));
    table_close(t);

    /* no bloom filter: gets still right */
    model_t m;
    model_build(&m, 500, 0, 0, 8);
    o.bloom_bits_per_key = 0;
    o.restart_interval = 1;
    b = write_table(&m, 8, &o);
    size = table_builder_file_size(b);
    table_builder_destroy(b);
    table_stats_t st = {0};
    t = open_table(8, size, NULL, &st);
    assert_false(table_has_filter(t));
    check_gets(t, &m, 0, 500, 8);
    check_iterators(t, &m, 8);
    assert_int_equal(atomic_load(&st.bloom_checked), 0);
    assert_true(atomic_load(&st.block_cache_miss) > 0);
    table_close(t);
    buf_free(&v);
    model_free(&m);
}

static void test_builder_rejects_bad_input(void **state)
{
    (void)state;
    char path[256];
    table_file(path, sizeof(path), 9);
    wfile_t *f;
    assert_null(wfile_open(&env, path, 0, &f));
    table_options_t o;
    table_options_default(&o);
    table_builder_t *b = table_builder_new(&o, f);
    char k[16];
    ikey_encode(k, slice_str("b"), 5, TYPE_VALUE);
    assert_null(table_builder_add(b, slice_make(k, 9), slice_str("v")));
    /* same key again, and a smaller one: out of order */
    status_t s = table_builder_add(b, slice_make(k, 9), slice_str("v"));
    assert_int_equal(st_code(s), ST_INVALID_ARGUMENT);
    st_free(s);
    /* the error sticks */
    ikey_encode(k, slice_str("c"), 5, TYPE_VALUE);
    s = table_builder_add(b, slice_make(k, 9), slice_str("v"));
    assert_int_equal(st_code(s), ST_INVALID_ARGUMENT);
    st_free(s);
    s = table_builder_finish(b);
    assert_non_null(s);
    st_free(s);
    table_builder_abandon(b);
    assert_null(wfile_close(f));

    assert_null(wfile_open(&env, path, 0, &f));
    b = table_builder_new(&o, f);
    s = table_builder_add(b, slice_str("short"), slice_str("v"));       /* no trailer */
    assert_int_equal(st_code(s), ST_INVALID_ARGUMENT);
    st_free(s);
    table_builder_abandon(b);
    b = table_builder_new(&o, f);
    ikey_encode(k, slice_str("a"), 5, TYPE_RANGE_DELETION);             /* wrong type */
    s = table_builder_add(b, slice_make(k, 9), slice_str("z"));
    assert_int_equal(st_code(s), ST_INVALID_ARGUMENT);
    st_free(s);
    table_builder_abandon(b);
    b = table_builder_new(&o, f);
    s = table_builder_add_range_del(b, slice_str("a"), slice_str("b"), MAX_SEQUENCE + 1);
    assert_int_equal(st_code(s), ST_INVALID_ARGUMENT);
    st_free(s);
    table_builder_abandon(b);
    assert_null(wfile_close(f));
}

/* ---- damage ---- */
static void write_bytes(const char *path, const char *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

/* Opens the damaged table and checks: every get and a full scan give the reference answer
 * or an error. Returns 1 if any error was seen (open, gets, scan or verify). */
static int check_damaged(const model_t *m, uint64_t number, uint64_t size, uint32_t nkeys)
{
    char path[256];
    table_file(path, sizeof(path), number);
    table_read_options_t ro = {NULL, NULL, 1, 0};
    table_t *t;
    status_t s = table_open(&env, path, number, size, &ro, &t);
    if (s) {
        assert_int_equal(st_code(s), ST_CORRUPTION);
        assert_non_null(strstr(st_msg(s), path));
        st_free(s);
        return 1;
    }
    int err = 0;
    buf_t v;
    buf_init(&v);
    char kb[64];
    for (uint32_t i = 0; i < nkeys * 2; i++) {
        slice_t uk = ukey_of(kb, 0, i);
        table_get_result_t res;
        uint64_t sq;
        s = table_get(t, uk, MAX_SEQUENCE, 1, 0, &v, &res, &sq);
        if (s) {
            st_free(s);
            err = 1;
            continue;
        }
        slice_t want_v;
        uint64_t want_seq;
        assert_int_equal(res, model_get(m, uk, MAX_SEQUENCE, &want_v, &want_seq));
        if (res == TABLE_FOUND)
            assert_true(slice_equal(buf_slice(&v), want_v));
    }
    iter_t *it = table_iter_new(t, 1, 0);
    size_t i = 0;
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it), i++) {
        assert_true(i < m->n);
        assert_true(slice_equal(iter_key(it), EK(m, i)));
        assert_true(slice_equal(iter_value(it), buf_slice(&m->e[i].val)));
    }
    if (iter_status(it))
        err = 1;
    else
        assert_int_equal(i, m->n);  /* a scan that ends cleanly saw everything */
    iter_destroy(it);
    s = table_verify(t);
    if (s) {
        st_free(s);
        err = 1;
    }
    buf_free(&v);
    table_close(t);
    return err;
}

static void test_flip_every_byte(void **state)
{
    (void)state;
    model_t m;
    model_build(&m, 40, 0, 1, 10);
    model_add_tomb(&m, 60, 70, 0, m.max_seq + 1);
    table_options_t o;
    table_options_default(&o);
    o.block_size = 256;
    o.compression = BLOCK_TYPE_ZLIB;
    table_builder_t *b = write_table(&m, 10, &o);
    uint64_t size = table_builder_file_size(b);
    table_builder_destroy(b);
    char path[256];
    table_file(path, sizeof(path), 10);
    char *orig;
    size_t n;
    assert_null(file_read_all(&env, path, &orig, &n));
    assert_int_equal(n, size);
    assert_int_equal(check_damaged(&m, 10, size, 40), 0);
    char *d = malloc(n);
    size_t detected = 0;
    for (size_t pos = 0; pos < n; pos++) {
        memcpy(d, orig, n);
        d[pos] ^= (char)(1u << (pos % 8)) | 0x10;
        write_bytes(path, d, n);
        detected += (size_t)check_damaged(&m, 10, size, 40);
    }
    printf("flip: %zu of %zu damaged bytes detected\n", detected, n);
    /* every byte is under a checksum, so every flip shows somewhere */
    assert_int_equal(detected, n);
    free(d);
    free(orig);
    model_free(&m);
}

static void test_truncated(void **state)
{
    (void)state;
    model_t m;
    model_build(&m, 60, 0, 0, 11);
    table_options_t o;
    table_options_default(&o);
    o.block_size = 512;
    table_builder_t *b = write_table(&m, 11, &o);
    uint64_t size = table_builder_file_size(b);
    table_builder_destroy(b);
    char path[256];
    table_file(path, sizeof(path), 11);
    char *orig;
    size_t n;
    assert_null(file_read_all(&env, path, &orig, &n));
    table_read_options_t ro = {NULL, NULL, 1, 0};
    for (size_t len = 0; len < n; len++) {
        write_bytes(path, orig, len);
        table_t *t;
        /* with the size the MANIFEST would record, and with the size on disk */
        status_t s = table_open(&env, path, 11, size, &ro, &t);
        assert_non_null(s);
        assert_int_equal(st_code(s), ST_CORRUPTION);
        assert_non_null(strstr(st_msg(s), path));
        st_free(s);
        s = table_open(&env, path, 11, 0, &ro, &t);
        assert_non_null(s);
        assert_int_equal(st_code(s), ST_CORRUPTION);
        st_free(s);
    }
    write_bytes(path, orig, n);
    table_t *t = open_table(11, size, NULL, NULL);
    table_close(t);
    free(orig);
    model_free(&m);
}

static void test_block_cache_and_stats(void **state)
{
    (void)state;
    model_t m;
    model_build(&m, 2000, 0, 0, 12);
    cache_t *bc = cache_new(64 << 20);
    table_stats_t st = {0};
    table_t *t = write_and_open(&m, 12, NULL, bc, &st);
    uint64_t nblocks = table_properties(t)->num_data_blocks;
    /* a full scan without fill_cache leaves the cache empty */
    iter_t *it = table_iter_new(t, 1, 0);
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it)) {
    }
    iter_destroy(it);
    assert_int_equal(cache_entries(bc), 0);
    /* with fill_cache a forward scan caches only the blocks read before it turned into a
     * scan (the rest come through its readahead window)... */
    assert_true(nblocks > TABLE_SCAN_AFTER + 2);
    it = table_iter_new(t, 1, 1);
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it)) {
    }
    assert_null(iter_status(it));
    assert_int_equal(cache_entries(bc), TABLE_SCAN_AFTER);
    /* ...a backward scan is no readahead scan: it reads and caches every other block... */
    uint64_t miss = atomic_load(&st.block_cache_miss);
    for (iter_seek_to_last(it); iter_valid(it); iter_prev(it)) {
    }
    assert_int_equal(atomic_load(&st.block_cache_miss), miss + nblocks - TABLE_SCAN_AFTER);
    assert_int_equal(cache_entries(bc), nblocks);
    /* ...and from then on every block is served from the cache, scans included */
    miss = atomic_load(&st.block_cache_miss);
    uint64_t hit = atomic_load(&st.block_cache_hit);
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it)) {
    }
    iter_destroy(it);
    assert_int_equal(atomic_load(&st.block_cache_miss), miss);
    assert_int_equal(atomic_load(&st.block_cache_hit), hit + nblocks);
    /* absent keys are mostly answered by the filter */
    buf_t v;
    buf_init(&v);
    char kb[64];
    for (uint32_t i = 0; i < 2000; i++) {
        table_get_result_t res;
        assert_null(table_get(t, ukey_of(kb, 0, i * 2 + 1), MAX_SEQUENCE, 1, 1, &v, &res, NULL));
        assert_int_equal(res, TABLE_NOT_FOUND);
    }
    assert_int_equal(atomic_load(&st.bloom_checked), 2000);
    assert_true(atomic_load(&st.bloom_useful) > 1900);
    buf_free(&v);
    /* the table outlives its handle while an iterator holds it */
    it = table_iter_new(t, 1, 1);
    table_close(t);
    iter_seek_to_first(it);
    check_iter_at(it, &m, 0);
    iter_destroy(it);
    cache_destroy(bc);
    model_free(&m);
}

/* A block cache a few blocks big: nearly every read evicts a block and allocates a new
 * one (table.c's blkbuf: block_t and raw bytes in one allocation), with plain and zlib
 * blocks mixed. Every get and every iterator position must still see exactly its own
 * block. */
static void test_small_cache_reuse(void **state)
{
    (void)state;
    for (int z = 0; z < 2; z++) {
        model_t m;
        model_build(&m, 6000, 0, z, 15 + (uint64_t)z);
        table_options_t o;
        table_options_default(&o);
        o.compression = z ? BLOCK_TYPE_ZLIB : BLOCK_TYPE_NONE;
        cache_t *bc = cache_new_sharded(3 * 4096, 0);
        table_stats_t st = {0};
        table_t *t = write_and_open(&m, 15 + (uint64_t)z, &o, bc, &st);
        check_gets(t, &m, 0, 6000, 99);
        check_iterators(t, &m, 98);
        assert_true(atomic_load(&st.block_cache_miss) > 1000);
        assert_true(cache_entries(bc) <= 3);
        table_close(t);
        cache_destroy(bc);
        model_free(&m);
    }
}

/* Long scans go through the readahead window: every entry comes out in order, through
 * many window refills, after a seek into the middle and across direction changes; only
 * the blocks read before the scan began are cached. */
static void test_scan_readahead(void **state)
{
    (void)state;
    model_t m;
    model_build(&m, 20000, 0, 0, 13);
    cache_t *bc = cache_new(64 << 20);
    table_stats_t st = {0};
    table_t *t = write_and_open(&m, 13, NULL, bc, &st);
    uint64_t nblocks = table_properties(t)->num_data_blocks;
    assert_true(nblocks > 200); /* several 256 KiB windows */
    iter_t *it = table_iter_new(t, 1, 1);
    size_t i = 0;
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it), i++)
        check_iter_at(it, &m, i);
    check_iter_at(it, &m, i);
    assert_int_equal(i, m.n);
    assert_int_equal(cache_entries(bc), TABLE_SCAN_AFTER);
    assert_int_equal(atomic_load(&st.block_read_bytes), table_properties(t)->data_size -
                     nblocks * BLOCK_TRAILER_SIZE);
    /* from the middle to the end, then back a few and forward again */
    size_t mid = m.n / 2;
    iter_seek(it, EK(&m, mid));
    for (i = mid; i < mid + 3000; i++, iter_next(it))
        check_iter_at(it, &m, i);
    for (size_t k = 0; k < 700; k++, i--)
        iter_prev(it);
    check_iter_at(it, &m, i);
    for (; iter_valid(it); iter_next(it), i++)
        check_iter_at(it, &m, i);
    assert_int_equal(i, m.n);
    assert_null(iter_status(it));
    iter_destroy(it);
    table_close(t);
    cache_destroy(bc);
    model_free(&m);
}


/* Mapped reads (ro.mmap_reads): gets and iterators over an uncompressed table see exactly
 * the model, without a single block-cache lookup or insert; a zlib table still goes
 * through the cache. When the file is cut short under the mapping, a get or a seek that
 * needs a lost block returns an I/O error (SIGBUS caught), and blocks still there keep
 * reading. */
static void test_mapped_reads(void **state)
{
    (void)state;
    if (!MAPGUARD_SUPPORTED) { /* TSan build: tables read with pread (mapguard.h) */
        print_message("skipped: no guarded mapped reads in this build\n");
        skip();
    }
    for (int z = 0; z < 2; z++) {
        model_t m;
        uint64_t number = 41 + (uint64_t)z;
        model_build(&m, 6000, 0, z, number);
        table_options_t o;
        table_options_default(&o);
        o.compression = z ? BLOCK_TYPE_ZLIB : BLOCK_TYPE_NONE;
        table_builder_t *b = write_table(&m, number, &o);
        uint64_t size = table_builder_file_size(b);
        table_builder_destroy(b);
        char path[256];
        table_file(path, sizeof(path), number);
        cache_t *bc = cache_new(1 << 20);
        table_stats_t st = {0};
        table_read_options_t ro = {bc, &st, 1, 1};
        table_t *t = NULL;
        assert_null(table_open(&env, path, number, size, &ro, &t));
        check_gets(t, &m, 0, 6000, 7);
        check_iterators(t, &m, 8);
        uint64_t lookups = atomic_load(&st.block_cache_hit) + atomic_load(&st.block_cache_miss);
        if (z) {
            assert_true(lookups > 0);
            table_close(t);
            cache_destroy(bc);
            model_free(&m);
            continue;
        }
        assert_int_equal(lookups, 0);
        assert_int_equal(cache_entries(bc), 0);
        assert_true(atomic_load(&st.block_read_bytes) > 0);

        /* cut the file to its first quarter under the open table */
        assert_int_equal(truncate(path, (off_t)(size / 4)), 0);
        buf_t v;
        buf_init(&v);
        char kb[700];
        table_get_result_t got;
        uint64_t seq;
        int errors = 0, found = 0;
        for (uint32_t i = 0; i < 6000; i += 7) {
            slice_t uk = ukey_of(kb, 0, i);
            status_t s = table_get(t, uk, MAX_SEQUENCE, 1, 1, &v, &got, &seq);
            if (s) {
                assert_int_equal(st_code(s), ST_IO_ERROR);
                assert_non_null(strstr(st_msg(s), "SIGBUS"));
                st_free(s);
                errors++;
            } else if (got == TABLE_FOUND) {
                found++;
            }
        }
        assert_true(errors > 0);
        assert_true(found > 0);
        iter_t *it = table_iter_new(t, 1, 1);
        iter_seek(it, EK(&m, m.n - 1));
        assert_false(iter_valid(it));
        assert_non_null(iter_status(it));
        assert_int_equal(st_code(iter_status(it)), ST_IO_ERROR);
        iter_destroy(it);
        buf_free(&v);
        table_close(t);
        cache_destroy(bc);
        model_free(&m);
    }
}
/* A damaged block met by a readahead scan ends it with a Corruption naming the block,
 * after every entry before it came out intact. */
static void test_scan_corrupt_block(void **state)
{
    (void)state;
    model_t m;
    model_build(&m, 20000, 0, 0, 14);
    table_t *t = write_and_open(&m, 14, NULL, NULL, NULL);
    size_t mid = m.n * 2 / 3;
    uint64_t off = table_approximate_offset(t, EK(&m, mid));
    assert_true(off > 64 * 1024); /* well inside the scan */
    table_close(t);
    char path[256];
    table_file(path, sizeof(path), 14);
    char *d;
    size_t n;
    assert_null(file_read_all(&env, path, &d, &n));
    d[off + 20] ^= 0x40;
    write_bytes(path, d, n);
    free(d);
    t = open_table(14, n, NULL, NULL);
    iter_t *it = table_iter_new(t, 1, 1);
    size_t i = 0;
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it), i++)
        check_iter_at(it, &m, i);
    assert_true(i > 0 && i <= mid);
    assert_true(i + 300 > mid); /* stopped at the damaged block, not earlier */
    status_t s = iter_status(it);
    assert_non_null(s);
    assert_int_equal(st_code(s), ST_CORRUPTION);
    char want[64];
    snprintf(want, sizeof(want), "checksum mismatch at offset %llu", (unsigned long long)off);
    if (!strstr(st_msg(s), want))
        fail_msg("unexpected error: %s", st_msg(s));
    /* the error sticks */
    iter_next(it);
    assert_false(iter_valid(it));
    iter_destroy(it);
    table_close(t);
    model_free(&m);
}

static void test_table_cache(void **state)
{
    (void)state;
    model_t m[5];
    uint64_t sizes[5];
    table_options_t o;
    table_options_default(&o);
    for (int i = 0; i < 5; i++) {
        model_build(&m[i], 300, 0, 0, 100 + (uint64_t)i);
        table_builder_t *b = write_table(&m[i], 100 + (uint64_t)i, &o);
        sizes[i] = table_builder_file_size(b);
        table_builder_destroy(b);
    }
    cache_t *bc = cache_new(1 << 20);
    table_read_options_t ro = {bc, NULL, 1, 0};
    table_cache_t *tc = table_cache_new(&env, tmpdir, 2, &ro);
    buf_t v;
    buf_init(&v);
    char kb[64];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 5; i++) {
            table_get_result_t res;
            uint64_t sq;
            slice_t want_v;
            uint64_t want_seq;
            slice_t uk = ukey_of(kb, 0, 20);
            assert_null(table_cache_get_value(tc, 100 + (uint64_t)i, sizes[i], uk, MAX_SEQUENCE, 1,
                                              1, &v, &res, &sq));
            assert_int_equal(res, model_get(&m[i], uk, MAX_SEQUENCE, &want_v, &want_seq));
            if (res == TABLE_FOUND)
                assert_true(slice_equal(buf_slice(&v), want_v));
            assert_true(table_cache_open_tables(tc) <= 2);
        }
    }
    /* pinned tables stay open beyond the budget, and are closed once released */
    cache_handle_t *h[4];
    for (int i = 0; i < 4; i++) {
        assert_null(table_cache_get(tc, 100 + (uint64_t)i, sizes[i], &h[i]));
        assert_int_equal(table_file_number(table_cache_table(h[i])), 100 + (uint64_t)i);
    }
    assert_int_equal(table_cache_open_tables(tc), 4);
    for (int i = 0; i < 4; i++)
        table_cache_release(tc, h[i]);
    assert_true(table_cache_open_tables(tc) <= 2);
    /* an iterator keeps its table pinned, even through an evict */
    table_t *tt;
    iter_t *it = table_cache_iter_new(tc, 104, sizes[4], 1, 1, &tt);
    assert_non_null(tt);
    assert_int_equal(table_file_number(tt), 104);
    table_cache_evict(tc, 104);
    for (int i = 0; i < 4; i++)
        assert_null(table_cache_get_value(tc, 100 + (uint64_t)i, sizes[i], ukey_of(kb, 0, 2),
                                          MAX_SEQUENCE, 1, 1, &v, &(table_get_result_t){0}, NULL));
    size_t n = 0;
    for (iter_seek_to_first(it); iter_valid(it); iter_next(it))
        check_iter_at(it, &m[4], n++);
    assert_int_equal(n, m[4].n);
    iter_destroy(it);
    /* a missing file and a wrong size are errors, also through the iterator */
    cache_handle_t *hx;
    status_t s = table_cache_get(tc, 999, 100, &hx);
    assert_int_equal(st_code(s), ST_IO_ERROR);
    st_free(s);
    table_cache_evict(tc, 100);
    s = table_cache_get(tc, 100, sizes[0] + 1, &hx);
    assert_int_equal(st_code(s), ST_CORRUPTION);
    st_free(s);
    it = table_cache_iter_new(tc, 998, 10, 1, 1, &tt);
    assert_null(tt);
    iter_seek_to_first(it);
    assert_false(iter_valid(it));
    assert_non_null(iter_status(it));
    iter_destroy(it);
    /* a table used twice in a row is found open the second time */
    uint64_t hits = cache_hits(table_cache_lru(tc));
    for (int j = 0; j < 2; j++)
        assert_null(table_cache_get_value(tc, 101, sizes[1], ukey_of(kb, 0, 2), MAX_SEQUENCE, 1,
                                          1, &v, &(table_get_result_t){0}, NULL));
    assert_int_equal(cache_hits(table_cache_lru(tc)), hits + 1);
    table_cache_destroy(tc);
    cache_destroy(bc);
    buf_free(&v);
    for (int i = 0; i < 5; i++)
        model_free(&m[i]);
}

/* ---- concurrent readers ---- */
typedef struct {
    table_t *t;
    const model_t *m;
    int id;
    int bad;
} reader_arg_t;

static void *reader(void *arg)
{
    reader_arg_t *a = arg;
    rnd_t r;
    rnd_seed(&r, 77 + (uint64_t)a->id);
    buf_t v;
    buf_init(&v);
    char kb[64];
    for (int i = 0; i < 3000; i++) {
        uint32_t k = (uint32_t)rnd_uniform(&r, 4000);
        slice_t uk = ukey_of(kb, 0, k);
        uint64_t snap = rnd_uniform(&r, a->m->max_seq + 1);
        table_get_result_t res;
        uint64_t sq, wsq;
        slice_t wv;
        status_t s = table_get(a->t, uk, snap, 1, 1, &v, &res, &sq);
        if (s || res != model_get(a->m, uk, snap, &wv, &wsq) ||
            (res == TABLE_FOUND && !slice_equal(buf_slice(&v), wv)))
            a->bad++;
        st_free(s);
        if (i % 500 == 0) {
            iter_t *it = table_iter_new(a->t, 1, i % 1000 == 0);
            size_t n = 0;
            for (iter_seek_to_last(it); iter_valid(it); iter_prev(it))
                n++;
            if (n != a->m->n || iter_status(it))
                a->bad++;
            iter_destroy(it);
        }
    }
    buf_free(&v);
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    (void)state;
    model_t m;
    model_build(&m, 2000, 0, 0, 13);
    model_add_tomb(&m, 100, 200, 0, m.max_seq / 2);
    cache_t *bc = cache_new(64 << 10);   /* small: blocks are evicted and re-read */
    table_stats_t st = {0};
    table_t *t = write_and_open(&m, 13, NULL, bc, &st);
    pthread_t th[4];
    reader_arg_t args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (reader_arg_t){t, &m, i, 0};
        pthread_create(&th[i], NULL, reader, &args[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(args[i].bad, 0);
    assert_true(atomic_load(&st.block_cache_hit) > 0);
    assert_true(atomic_load(&st.block_cache_miss) > 0);
    table_close(t);
    cache_destroy(bc);
    model_free(&m);
}

static int setup(void **state)
{
    (void)state;
    memset(&env, 0, sizeof(env));
    return tu_make_tmpdir(tmpdir, sizeof(tmpdir), "test_table");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rm_rf(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_plain),
        cmocka_unit_test(test_roundtrip_zlib),
        cmocka_unit_test(test_roundtrip_long_keys),
        cmocka_unit_test(test_range_tombstones),
        cmocka_unit_test(test_empty_table_and_no_filter),
        cmocka_unit_test(test_builder_rejects_bad_input),
        cmocka_unit_test(test_flip_every_byte),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_block_cache_and_stats),
        cmocka_unit_test(test_small_cache_reuse),
        cmocka_unit_test(test_scan_readahead),
        cmocka_unit_test(test_scan_corrupt_block),
        cmocka_unit_test(test_mapped_reads),
        cmocka_unit_test(test_table_cache),
        cmocka_unit_test(test_concurrent_readers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
