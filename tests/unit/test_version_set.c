/*
 * test_version_set.c - version edits, the version set and its MANIFEST, compaction picking.
 *
 * Edits: round trip, every truncation and malformed field rejected, random damage never
 * crashes. Set: create -> edits -> close -> recover gives the same state; torn MANIFEST
 * tails tolerated, mid-file damage reported; format version, missing/short SSTs, missing or
 * malformed CURRENT; level invariants; write failures; roll-over; live files; concurrent
 * log_and_apply. Picker: L0 trigger and expansion, level size targets, round robin,
 * boundary inputs, trivial moves, grandparent cuts, base level for key/range, manual range.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "base/dbformat.h"
#include "db/filename.h"
#include "db/version_edit.h"
#include "db/version_set.h"
#include "lsm.h"
#include "util/random.h"
#include "write/wal.h"

/* ---- fixture ---- */

typedef struct {
    char dir[64];
    env_t env;
    vset_options_t opt;
    mutex_t mu;
    /* fault injection */
    file_op_t fail_op;
    int fail_errno;
    int fail_countdown; /* fail the Nth matching op (1 = next); 0 = off */
} fixture_t;

static int fault_hook(void *arg, file_op_t op, const char *path)
{
    (void)path;
    fixture_t *f = arg;
    if (f->fail_countdown && op == f->fail_op && --f->fail_countdown == 0)
        return f->fail_errno;
    return 0;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    if (tu_make_tmpdir(f->dir, sizeof(f->dir), "test_vset"))
        return -1;
    f->env.fault_hook = fault_hook;
    f->env.fault_arg = f;
    vset_options_default(&f->opt);
    f->opt.num_levels = 4;
    f->opt.level0_file_num_compaction_trigger = 4;
    f->opt.max_bytes_for_level_base = 1000;
    f->opt.max_bytes_for_level_multiplier = 10;
    f->opt.target_file_size_base = 100;
    mutex_init(&f->mu);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    int r = tu_rm_rf(f->dir);
    mutex_destroy(&f->mu);
    free(f);
    return r;
}

/* ---- helpers ---- */

#define OK(expr) do { status_t s__ = (expr); if (s__) fail_msg("%s: %s", #expr, st_msg(s__)); } while (0)

/* An internal key in a static-enough buffer (callers copy via file_meta_new). */
static slice_t ik(char *buf, const char *ukey, uint64_t seq, value_type_t t)
{
    ikey_encode(buf, slice_str(ukey), seq, t);
    return slice_make(buf, strlen(ukey) + 8);
}

static void make_sst(fixture_t *f, uint64_t number, uint64_t size)
{
    char p[256];
    fn_table(p, sizeof(p), f->dir, number);
    int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    close(fd);
}

/* Adds file `number` [lo@seq_hi .. hi@seq_lo] at level to e and creates it on disk. */
static void add_file(fixture_t *f, version_edit_t *e, int level, uint64_t number,
                     const char *lo, const char *hi, uint64_t size, uint64_t seq_lo,
                     uint64_t seq_hi)
{
    char a[64], b[64];
    version_edit_add_new_file(e, level, number, size, ik(a, lo, seq_hi, TYPE_VALUE),
                              ik(b, hi, seq_lo, TYPE_VALUE), seq_lo, seq_hi, 10, 0);
    make_sst(f, number, size);
}

static status_t apply(fixture_t *f, version_set_t *vs, version_edit_t *e)
{
    mutex_lock(&f->mu);
    status_t s = vset_log_and_apply(vs, e, &f->mu);
    mutex_unlock(&f->mu);
    return s;
}

/* Applies one edit adding a single file. */
static void apply_add(fixture_t *f, version_set_t *vs, int level, uint64_t number,
                      const char *lo, const char *hi, uint64_t size, uint64_t seq)
{
    version_edit_t e;
    version_edit_init(&e);
    vset_mark_file_number_used(vs, number);
    add_file(f, &e, level, number, lo, hi, size, seq, seq);
    OK(apply(f, vs, &e));
    version_edit_free(&e);
}

/* "L0:5,4 L1:2,3" style description of a version's file numbers. */
static void describe(const version_t *v, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    for (int l = 0; l < v->num_levels; l++) {
        if (!v->nfiles[l])
            continue;
        k += (size_t)snprintf(out + k, n - k, "%sL%d:", k ? " " : "", l);
        for (int i = 0; i < v->nfiles[l]; i++)
            k += (size_t)snprintf(out + k, n - k, "%s%llu", i ? "," : "",
                                  (unsigned long long)v->files[l][i]->number);
    }
}

static void assert_version(version_set_t *vs, const char *expect)
{
    char got[512];
    version_t *v = vset_current(vs);
    describe(v, got, sizeof(got));
    version_unref(v);
    assert_string_equal(got, expect);
}

static void list_numbers(const file_list_t *l, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < l->n; i++)
        k += (size_t)snprintf(out + k, n - k, "%s%llu", i ? "," : "",
                              (unsigned long long)l->v[i]->number);
}

static char *manifest_path(fixture_t *f, version_set_t *vs, char *buf, size_t n)
{
    return fn_manifest(buf, n, f->dir, vset_manifest_file_number(vs));
}

/* ---- version edits ---- */

static void build_full_edit(version_edit_t *e)
{
    char a[64], b[64];
    version_edit_init(e);
    version_edit_set_format_version(e, 1);
    version_edit_set_log_number(e, 12);
    version_edit_set_next_file_number(e, 300);
    version_edit_set_last_sequence(e, 1ull << 40);
    version_edit_set_compact_pointer(e, 2, ik(a, "pointer", 9, TYPE_VALUE));
    version_edit_delete_file(e, 1, 77);
    version_edit_delete_file(e, 6, 1ull << 33);
    version_edit_add_new_file(e, 0, 200, 4096, ik(a, "apple", 50, TYPE_VALUE),
                              ik(b, "zebra", 40, TYPE_DELETION), 40, 50, 1000, 3);
    version_edit_add_new_file(e, 7, 201, 1, ik(a, "", 1, TYPE_RANGE_DELETION),
                              ik(b, "\xff\xff", MAX_SEQUENCE, TYPE_RANGE_DELETION), 1, 1, 0, 1);
}

static void test_edit_round_trip(void **state)
{
    (void)state;
    version_edit_t e, d;
    build_full_edit(&e);
    buf_t enc, enc2;
    buf_init(&enc);
    buf_init(&enc2);
    version_edit_encode(&e, &enc);
    assert_false(enc.oom);
    OK(version_edit_decode(&d, buf_slice(&enc)));
    assert_true(d.has_format_version && d.format_version == 1);
    assert_true(d.has_log_number && d.log_number == 12);
    assert_true(d.has_next_file_number && d.next_file_number == 300);
    assert_true(d.has_last_sequence && d.last_sequence == 1ull << 40);
    assert_int_equal(d.n_compact_pointers, 1);
    assert_int_equal(d.compact_pointers[0].level, 2);
    assert_int_equal(d.n_deleted_files, 2);
    assert_int_equal(d.deleted_files[1].level, 6);
    assert_int_equal(d.deleted_files[1].number, 1ull << 33);
    assert_int_equal(d.n_new_files, 2);
    for (int i = 0; i < 2; i++) {
        file_meta_t *x = e.new_files[i].meta, *y = d.new_files[i].meta;
        assert_int_equal(e.new_files[i].level, d.new_files[i].level);
        assert_int_equal(x->number, y->number);
        assert_int_equal(x->size, y->size);
        assert_true(slice_equal(x->smallest, y->smallest));
        assert_true(slice_equal(x->largest, y->largest));
        assert_int_equal(x->smallest_seq, y->smallest_seq);
        assert_int_equal(x->largest_seq, y->largest_seq);
        assert_int_equal(x->num_entries, y->num_entries);
        assert_int_equal(x->num_range_dels, y->num_range_dels);
    }
    /* Re-encoding the decoded edit gives the same bytes. */
    version_edit_encode(&d, &enc2);
    assert_int_equal(enc.len, enc2.len);
    assert_memory_equal(enc.data, enc2.data, enc.len);

    /* An empty edit is just the end tag and decodes to nothing. */
    version_edit_t empty, de;
    version_edit_init(&empty);
    buf_clear(&enc);
    version_edit_encode(&empty, &enc);
    assert_int_equal(enc.len, 1);
    OK(version_edit_decode(&de, buf_slice(&enc)));
    assert_false(de.has_log_number || de.n_new_files || de.n_deleted_files);

    version_edit_free(&e);
    version_edit_free(&d);
    version_edit_free(&de);
    buf_free(&enc);
    buf_free(&enc2);
}

static void test_edit_every_truncation_rejected(void **state)
{
    (void)state;
    version_edit_t e, d;
    build_full_edit(&e);
    buf_t enc;
    buf_init(&enc);
    version_edit_encode(&e, &enc);
    for (size_t n = 0; n < enc.len; n++) {
        status_t s = version_edit_decode(&d, slice_make(enc.data, n));
        if (!s)
            fail_msg("prefix of %zu of %zu bytes accepted", n, enc.len);
        assert_int_equal(st_code(s), ST_CORRUPTION);
        assert_int_equal(d.n_new_files, 0); /* left empty */
        st_free(s);
    }
    version_edit_free(&e);
    buf_free(&enc);
}

static status_t decode_bytes(const char *p, size_t n)
{
    version_edit_t d;
    status_t s = version_edit_decode(&d, slice_make(p, n));
    version_edit_free(&d);
    return s;
}

static void expect_corrupt(const char *p, size_t n, const char *what)
{
    status_t s = decode_bytes(p, n);
    if (!s)
        fail_msg("accepted: %s", what);
    assert_int_equal(st_code(s), ST_CORRUPTION);
    if (!strstr(st_msg(s), what))
        fail_msg("message \"%s\" lacks \"%s\"", st_msg(s), what);
    st_free(s);
}

static void test_edit_rejects_malformed(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    char k1[64], k2[64], k3[64], k4[64], k5[64], k6[64];

    /* Unknown tag: a newer engine's record, refused as not supported (not as damage). */
    buf_put_varint32(&b, 42);
    buf_put_varint32(&b, 0);
    status_t us = decode_bytes(b.data, b.len);
    assert_non_null(us);
    assert_int_equal(st_code(us), ST_NOT_SUPPORTED);
    assert_non_null(strstr(st_msg(us), "newer version"));
    st_free(us);
    /* Bytes after the end tag. */
    buf_clear(&b);
    buf_put_varint32(&b, 0);
    buf_push(&b, 1);
    expect_corrupt(b.data, b.len, "after the end tag");
    /* Scalar given twice. */
    buf_clear(&b);
    for (int i = 0; i < 2; i++) {
        buf_put_varint32(&b, 2);
        buf_put_varint64(&b, 5);
    }
    buf_put_varint32(&b, 0);
    expect_corrupt(b.data, b.len, "twice");
    /* Level out of range in a deletion. */
    buf_clear(&b);
    buf_put_varint32(&b, 6);
    buf_put_varint32(&b, VE_MAX_LEVELS);
    buf_put_varint64(&b, 5);
    buf_put_varint32(&b, 0);
    expect_corrupt(b.data, b.len, "bad level");
    /* New file with an internal key too short / with a bad type / reversed range. */
    struct {
        slice_t lo, hi;
        const char *what;
    } cases[] = {
        {slice_make("abc", 3), ik(k2, "b", 1, TYPE_VALUE), "invalid internal key"},
        {ik(k1, "a", 1, TYPE_VALUE), slice_make("abcdefg", 7), "invalid internal key"},
        {ik(k3, "a", 1, (value_type_t)7), ik(k4, "b", 1, TYPE_VALUE), "invalid internal key"},
        {ik(k5, "z", 1, TYPE_VALUE), ik(k6, "a", 1, TYPE_VALUE), "smallest key after largest"},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        buf_clear(&b);
        buf_put_varint32(&b, 7);
        buf_put_varint32(&b, 1);
        buf_put_varint64(&b, 9);
        buf_put_varint64(&b, 100);
        buf_put_length_prefixed(&b, cases[c].lo);
        buf_put_length_prefixed(&b, cases[c].hi);
        for (int i = 0; i < 4; i++)
            buf_put_varint64(&b, 1);
        buf_put_varint32(&b, 0);
        expect_corrupt(b.data, b.len, cases[c].what);
    }
    /* Sequence above the 56-bit range. */
    buf_clear(&b);
    buf_put_varint32(&b, 3);
    buf_put_varint64(&b, MAX_SEQUENCE + 1);
    buf_put_varint32(&b, 0);
    expect_corrupt(b.data, b.len, "sequence out of range");
    /* An over-long varint. */
    buf_clear(&b);
    buf_put_varint32(&b, 1);
    for (int i = 0; i < 11; i++)
        buf_push(&b, (char)0x80);
    buf_push(&b, 0);
    expect_corrupt(b.data, b.len, "truncated");
    buf_free(&b);
}

static void test_edit_random_damage_never_crashes(void **state)
{
    (void)state;
    version_edit_t e;
    build_full_edit(&e);
    buf_t enc;
    buf_init(&enc);
    version_edit_encode(&e, &enc);
    version_edit_free(&e);
    rnd_t r;
    rnd_seed(&r, 12345);
    char *copy = malloc(enc.len);
    int accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(copy, enc.data, enc.len);
        int flips = 1 + (int)rnd_uniform(&r, 3);
        for (int i = 0; i < flips; i++)
            copy[rnd_uniform(&r, enc.len)] ^= (char)(1 + rnd_uniform(&r, 255));
        size_t n = rnd_one_in(&r, 4) ? rnd_uniform(&r, enc.len + 1) : enc.len;
        status_t s = decode_bytes(copy, n);
        if (!s)
            accepted++;
        else if (st_code(s) != ST_NOT_SUPPORTED) /* a flipped tag reads as a newer one */
            assert_int_equal(st_code(s), ST_CORRUPTION);
        st_free(s);
    }
    /* Damage inside key bytes or counters can decode; most damage must not. */
    assert_true(accepted < 20000 / 2);
    free(copy);
    buf_free(&enc);
}

/* ---- the set: create, apply, recover ---- */

static void test_create_apply_recover(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs;
    OK(vset_create(&f->env, f->dir, &f->opt, &vs));
    assert_int_equal(vset_manifest_file_number(vs), 1);
    assert_int_equal(vset_next_file_number(vs), 2);
    assert_int_equal(vset_last_sequence(vs), 0);

    /* CURRENT names MANIFEST-000001. */
    char p[256], *data;
    size_t len;
    OK(file_read_all(&f->env, fn_current(p, sizeof(p), f->dir), &data, &len));
    assert_int_equal(len, 16);
    assert_memory_equal(data, "MANIFEST-000001\n", 16);
    free(data);

    /* A second create is refused. */
    version_set_t *vs2;
    status_t s = vset_create(&f->env, f->dir, &f->opt, &vs2);
    assert_int_equal(st_code(s), ST_INVALID_ARGUMENT);
    st_free(s);

    /* Flush-like edits to L0, then a compaction-like edit L0 -> L1, then one into L2. */
    uint64_t log = vset_new_file_number(vs); /* 2 */
    version_edit_t e;
    version_edit_init(&e);
    version_edit_set_log_number(&e, log);
    OK(apply(f, vs, &e));
    version_edit_free(&e);
    for (int i = 0; i < 3; i++) {
        version_edit_init(&e);
        uint64_t n = vset_new_file_number(vs); /* 3, 4, 5 */
        add_file(f, &e, 0, n, "a", "m", 100 + (uint64_t)i, 10 * (uint64_t)i + 1,
                 10 * (uint64_t)i + 9);
        vset_set_last_sequence(vs, 10 * (uint64_t)i + 9);
        OK(apply(f, vs, &e));
        version_edit_free(&e);
    }
    assert_version(vs, "L0:5,4,3");
    version_edit_init(&e);
    for (uint64_t n = 3; n <= 5; n++)
        version_edit_delete_file(&e, 0, n);
    add_file(f, &e, 1, 6, "a", "f", 150, 1, 29);
    add_file(f, &e, 1, 7, "g", "m", 160, 1, 29);
    version_edit_set_compact_pointer(&e, 0, slice_make("m\0\0\0\0\0\0\0\1", 9));
    vset_mark_file_number_used(vs, 7);
    OK(apply(f, vs, &e));
    version_edit_free(&e);
    version_edit_init(&e);
    version_edit_delete_file(&e, 1, 7);
    add_file(f, &e, 2, 7, "g", "m", 160, 1, 29); /* a trivial move keeps the number */
    add_file(f, &e, 2, 8, "n", "z", 10, 30, 30);
    vset_mark_file_number_used(vs, 8);
    OK(apply(f, vs, &e));
    version_edit_free(&e);
    assert_version(vs, "L1:6 L2:7,8");
    vset_set_last_sequence(vs, 30);
    uint64_t next = vset_next_file_number(vs);
    assert_int_equal(next, 9);
    assert_int_equal(vset_log_number(vs), 2);
    assert_int_equal(vset_level_bytes(vs, 2), 170);
    assert_int_equal(vset_num_level_files(vs, 1), 1);
    buf_t sum;
    buf_init(&sum);
    vset_level_summary(vs, &sum);
    assert_non_null(strstr(sum.data, "L2: 2 files, 170 bytes"));
    buf_free(&sum);
    /* Record last sequence 30 with one more edit. */
    version_edit_init(&e);
    OK(apply(f, vs, &e));
    version_edit_free(&e);
    vset_close(vs);

    OK(vset_recover(&f->env, f->dir, &f->opt, &vs));
    assert_version(vs, "L1:6 L2:7,8");
    assert_true(vset_next_file_number(vs) >= next);
    assert_int_equal(vset_last_sequence(vs), 30);
    assert_int_equal(vset_log_number(vs), 2);
    assert_int_equal(vset_manifest_file_number(vs), 1);
    slice_t cp = vset_compact_pointer(vs, 0);
    assert_int_equal(cp.size, 9);
    assert_memory_equal(cp.data, "m", 1);
    version_t *v = vset_current(vs);
    assert_true(slice_equal(ikey_user_key(v->files[2][0]->smallest), slice_str("g")));
    assert_int_equal(v->files[2][0]->size, 160);
    assert_int_equal(v->files[2][1]->largest_seq, 30);
    version_unref(v);

    /* The first apply after recovery starts a new MANIFEST and switches CURRENT. */
    uint64_t before = vset_next_file_number(vs);
    apply_add(f, vs, 3, 50, "a", "b", 5, 31);
    uint64_t m = vset_manifest_file_number(vs);
    assert_true(m > 1 && m >= before);
    OK(file_read_all(&f->env, fn_current(p, sizeof(p), f->dir), &data, &len));
    char expect[64];
    snprintf(expect, sizeof(expect), "MANIFEST-%06llu\n", (unsigned long long)m);
    assert_int_equal(len, strlen(expect));
    assert_memory_equal(data, expect, len);
    free(data);
    vset_close(vs);

    OK(vset_recover(&f->env, f->dir, &f->opt, &vs));
    assert_version(vs, "L1:6 L2:7,8 L3:50");
    assert_int_equal(vset_manifest_file_number(vs), m);
    vset_close(vs);
}

/* A store with MANIFEST records r0 (create), then `n` single-file edits at L0. */
static version_set_t *store_with_files(fixture_t *f, int n)
{
    version_set_t *vs;
    OK(vset_create(&f->env, f->dir, &f->opt, &vs));
    for (int i = 0; i < n; i++) {
        uint64_t num = vset_new_file_number(vs);
        char lo[32], hi[32];
        snprintf(lo, sizeof(lo), "k%02d", i);
        snprintf(hi, sizeof(hi), "k%02dz", i);
        version_edit_t e;
        version_edit_init(&e);
        add_file(f, &e, 0, num, lo, hi, 10, (uint64_t)i + 1, (uint64_t)i + 1);
        OK(apply(f, vs, &e));
        version_edit_free(&e);
    }
    return vs;
}

static void test_torn_tail_tolerated(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs = store_with_files(f, 3);
    char mp[256];
    manifest_path(f, vs, mp, sizeof(mp));
    vset_close(vs);
    uint64_t size;
    OK(file_size(mp, &size));
    /* Cut the last record (an edit of ~40 bytes) at several places. */
    for (uint64_t cut = 1; cut < 20; cut += 3) {
        assert_int_equal(truncate(mp, (off_t)(size - cut)), 0);
        OK(vset_recover(&f->env, f->dir, &f->opt, &vs));
        assert_version(vs, "L0:3,2");
        vset_close(vs);
    }
    /* Recovery never appended to the torn file: the next apply writes a new MANIFEST. */
    OK(vset_recover(&f->env, f->dir, &f->opt, &vs));
    uint64_t old = vset_manifest_file_number(vs);
    apply_add(f, vs, 0, 90, "x", "y", 10, 100);
    assert_true(vset_manifest_file_number(vs) > old);
    vset_close(vs);
    OK(vset_recover(&f->env, f->dir, &f->opt, &vs));
    assert_version(vs, "L0:90,3,2");
    vset_close(vs);
}

static void test_flipped_byte_is_corruption(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs = store_with_files(f, 3);
    char mp[256];
    manifest_path(f, vs, mp, sizeof(mp));
    vset_close(vs);
    /* Byte 10 lies in the first record (the snapshot); three records follow it. */
    int fd = open(mp, O_RDWR);
    assert_true(fd >= 0);
    char c;
    assert_int_equal(pread(fd, &c, 1, 10), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, 10), 1);
    close(fd);
    status_t s = vset_recover(&f->env, f->dir, &f->opt, &vs);
    assert_null(vs);
    assert_int_equal(st_code(s), ST_CORRUPTION);
    assert_non_null(strstr(st_msg(s), "MANIFEST-000001"));
    st_free(s);
}

/* Writes MANIFEST-000001 holding the given edits and a CURRENT naming it. */
static void write_manifest(fixture_t *f, version_edit_t *edits, int n)
{
    char p[256];
    wfile_t *wf;
    OK(wfile_open(&f->env, fn_manifest(p, sizeof(p), f->dir, 1), 0, &wf));
    log_writer_t *w = log_writer_new(wf);
    for (int i = 0; i < n; i++) {
        buf_t b;
        buf_init(&b);
        version_edit_encode(&edits[i], &b);
        OK(log_add_record(w, buf_slice(&b)));
        buf_free(&b);
    }
    OK(log_writer_close(w));
    OK(file_write_atomic(&f->env, f->dir, "CURRENT", "MANIFEST-000001\n", 16));
}

static void base_snapshot(version_edit_t *e, uint32_t fv)
{
    version_edit_init(e);
    version_edit_set_format_version(e, fv);
    version_edit_set_log_number(e, 0);
    version_edit_set_next_file_number(e, 2);
    version_edit_set_last_sequence(e, 0);
}

static void test_format_version(void **state)
{
    fixture_t *f = *state;
    version_edit_t e;
    version_set_t *vs;
    char expect[256];

    base_snapshot(&e, LSM_FORMAT_VERSION + 1);
    write_manifest(f, &e, 1);
    version_edit_free(&e);
    status_t s = vset_recover(&f->env, f->dir, &f->opt, &vs);
    assert_int_equal(st_code(s), ST_NOT_SUPPORTED);
    snprintf(expect, sizeof(expect),
             "%s: store format version 2 is newer than this build supports (1)", f->dir);
    assert_string_equal(st_msg(s), expect);
    char *str = st_to_string(s);
    assert_true(strncmp(str, "Not supported: ", 15) == 0);
    free(str);

    base_snapshot(&e, 0);
    write_manifest(f, &e, 1);
    version_edit_free(&e);
    s = vset_recover(&f->env, f->dir, &f->opt, &vs);
    assert_int_equal(st_code(s), ST_CORRUPTION);
    assert_non_null(strstr(st_msg(s), "format version 0"));
    st_free(s);

    /* A first record without a format version, or without the counters. */
    version_edit_init(&e);
    version_edit_set_next_file_number(&e, 2);
    write_manifest(f, &e, 1);
    version_edit_free(&e);
    s = vset_recover(&f->env, f->dir, &f->opt, &vs);
    assert_int_equal(st_code(s), ST_CORRUPTION);
    assert_non_null(strstr(st_msg(s), "no format version"));
    st_free(s);
    version_edit_init(&e);
    version_edit_set_format_version(&e, 1);
    write_manifest(f, &e, 1);
    version_edit_free(&e);
    s = vset_recover(&f->env, f->dir, &f->opt, &vs);
    assert_int_equal(st_code(s), ST_CORRUPTION);
    assert_non_null(strstr(st_msg(s), "no next file number"));
    st_free(s);

    /* A valid hand-made MANIFEST opens; a next file number lagging behind the files and
     * the log number in use is raised past them. */
    base_snapshot(&e, 1);
    version_edit_set_log_number(&e, 7);
    add_file(f, &e, 2, 10, "a", "b", 10, 1, 1);
    write_manifest(f, &e, 1);
    version_edit_free(&e);
    OK(vset_recover(&f->env, f->dir, &f->opt, &vs));
    assert_int_equal(vset_next_file_number(vs), 11);
    assert_int_equal(vset_new_file_number(vs), 11);
    vset_close(vs);
}

static void test_missing_or_short_sst(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs = store_with_files(f, 2); /* files 2, 3 */
    vset_close(vs);
    char p[256], expect[512];
    fn_table(p, sizeof(p), f->dir, 3);
    assert_int_equal(truncate(p, 5), 0);
    status_t s = vset_recover(&f->env, f->dir, &f->opt, &vs);
    assert_int_equal(st_code(s), ST_CORRUPTION);
    assert_non_null(strstr(st_msg(s), "000003.sst: size 5, but MANIFEST-000001 says 10"));
    st_free(s);
    unlink(p);
    s = vset_recover(&f->env, f->dir, &f->opt, &vs);
    assert_null(vs);
    assert_int_equal(st_code(s), ST_CORRUPTION);
    snprintf(expect, sizeof(expect), "%s/000003.sst: missing (referenced by MANIFEST-000001)",
             f->dir);
    assert_string_equal(st_msg(s), expect);
    st_free(s);
}

static void test_current_file_problems(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs;
    char expect[256], p[256];
    status_t s = vset_recover(&f->env, f->dir, &f->opt, &vs);
    assert_int_equal(st_code(s), ST_INVALID_ARGUMENT);
    snprintf(expect, sizeof(expect), "%s: not an lsm store (no CURRENT file)", f->dir);
    assert_string_equal(st_msg(s), expect);
    st_free(s);

    OK(vset_create(&f->env, f->dir, &f->opt, &vs));
    vset_close(vs);
    const char *bad[] = {"", "MANIFEST-000001", "MANIFEST-00000x\n", "000001.sst\n",
                         "MANIFEST-000001\n\n", "MANIFEST-\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        OK(file_write_atomic(&f->env, f->dir, "CURRENT", bad[i], strlen(bad[i])));
        s = vset_recover(&f->env, f->dir, &f->opt, &vs);
        assert_int_equal(st_code(s), ST_CORRUPTION);
        fn_current(p, sizeof(p), f->dir);
        if (!strstr(st_msg(s), p))
            fail_msg("CURRENT \"%s\": message \"%s\" does not name %s", bad[i], st_msg(s), p);
        st_free(s);
    }
    OK(file_write_atomic(&f->env, f->dir, "CURRENT", "MANIFEST-000009\n", 16));
    s = vset_recover(&f->env, f->dir, &f->opt, &vs);
    assert_int_equal(st_code(s), ST_CORRUPTION);
    assert_non_null(strstr(st_msg(s), "MANIFEST-000009: missing"));
    st_free(s);
}

static void test_level_invariants(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs;
    OK(vset_create(&f->env, f->dir, &f->opt, &vs));
    apply_add(f, vs, 1, 10, "c", "f", 10, 5);
    apply_add(f, vs, 1, 11, "m", "p", 10, 5);

    struct {
        int level;
        uint64_t number;
        const char *lo, *hi;
        const char *msg;
    } bad[] = {
        {1, 12, "e", "h", "files 000010 and 000012 overlap"},
        {1, 12, "a", "c", "files 000012 and 000010 overlap"},
        {1, 12, "a", "z", "overlap"},
        {1, 12, "p", "q", "files 000011 and 000012 overlap"},
        {2, 10, "x", "y", "000010 added twice"},
        {4, 13, "x", "y", "num_levels is 4"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        version_edit_t e;
        version_edit_init(&e);
        add_file(f, &e, bad[i].level, bad[i].number, bad[i].lo, bad[i].hi, 10, 5, 5);
        status_t s = apply(f, vs, &e);
        if (!s)
            fail_msg("case %zu accepted", i);
        if (!strstr(st_msg(s), bad[i].msg))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, st_msg(s), bad[i].msg);
        st_free(s);
        version_edit_free(&e);
        assert_version(vs, "L1:10,11");
    }
    /* Deleting a file that is not there (or at another level). */
    version_edit_t e;
    version_edit_init(&e);
    version_edit_delete_file(&e, 2, 10);
    status_t s = apply(f, vs, &e);
    assert_int_equal(st_code(s), ST_CORRUPTION);
    assert_non_null(strstr(st_msg(s), "deletes file 000010 at level 2"));
    st_free(s);
    version_edit_free(&e);
    /* A log number going backwards is refused. */
    version_edit_init(&e);
    version_edit_set_log_number(&e, vset_next_file_number(vs) + 5);
    s = apply(f, vs, &e);
    assert_int_equal(st_code(s), ST_INVALID_ARGUMENT);
    assert_false(e.has_log_number && e.log_number != vset_next_file_number(vs) + 5);
    st_free(s);
    version_edit_free(&e);

    /* L1 files touching at a user key are fine when their internal keys are ordered:
     * [q@9 .. s@5] then [s@4 .. t@1]. */
    version_edit_init(&e);
    char a[64], b[64];
    version_edit_add_new_file(&e, 1, 20, 10, ik(a, "q", 9, TYPE_VALUE), ik(b, "s", 5, TYPE_VALUE),
                              5, 9, 1, 0);
    version_edit_add_new_file(&e, 1, 21, 10, ik(a, "s", 4, TYPE_VALUE), ik(b, "t", 1, TYPE_VALUE),
                              1, 4, 1, 0);
    make_sst(f, 20, 10);
    make_sst(f, 21, 10);
    vset_mark_file_number_used(vs, 21);
    OK(apply(f, vs, &e));
    version_edit_free(&e);
    assert_version(vs, "L1:10,11,20,21");

    /* L0 ordering: newest (largest seq) first, ties by number. */
    apply_add(f, vs, 0, 30, "a", "z", 10, 50);
    apply_add(f, vs, 0, 31, "a", "z", 10, 40);
    apply_add(f, vs, 0, 32, "a", "z", 10, 50);
    assert_version(vs, "L0:32,30,31 L1:10,11,20,21");
    vset_close(vs);
    OK(vset_recover(&f->env, f->dir, &f->opt, &vs));
    assert_version(vs, "L0:32,30,31 L1:10,11,20,21");
    vset_close(vs);

    /* Opening with fewer levels than the store uses is refused. */
    OK(vset_recover(&f->env, f->dir, &f->opt, &vs));
    apply_add(f, vs, 3, 40, "a", "b", 10, 60);
    vset_close(vs);
    vset_options_t small = f->opt;
    small.num_levels = 3;
    s = vset_recover(&f->env, f->dir, &small, &vs);
    assert_int_equal(st_code(s), ST_INVALID_ARGUMENT);
    assert_non_null(strstr(st_msg(s), "num_levels is 3"));
    st_free(s);
}

static void test_manifest_roll_over(void **state)
{
    fixture_t *f = *state;
    f->opt.max_manifest_file_size = 2048;
    version_set_t *vs;
    OK(vset_create(&f->env, f->dir, &f->opt, &vs));
    uint64_t first = vset_manifest_file_number(vs);
    int rolls = 0;
    uint64_t last = first;
    for (int i = 0; i < 200; i++) {
        uint64_t n = vset_new_file_number(vs);
        char lo[32], hi[32];
        snprintf(lo, sizeof(lo), "key%04d", i);
        snprintf(hi, sizeof(hi), "key%04dz", i);
        apply_add(f, vs, 1, n, lo, hi, 10, (uint64_t)i + 1);
        char mp[256];
        uint64_t size;
        OK(file_size(manifest_path(f, vs, mp, sizeof(mp)), &size));
        /* A MANIFEST never grows far beyond the limit (one record past it). */
        assert_true(size < 2048 + 1024 + 200 * 60);
        if (vset_manifest_file_number(vs) != last) {
            assert_true(vset_manifest_file_number(vs) > last);
            last = vset_manifest_file_number(vs);
            rolls++;
        }
    }
    assert_true(rolls >= 2);
    vset_close(vs);
    OK(vset_recover(&f->env, f->dir, &f->opt, &vs));
    assert_int_equal(vset_manifest_file_number(vs), last);
    assert_int_equal(vset_num_level_files(vs, 1), 200);
    vset_close(vs);
}

static void test_write_failure_installs_nothing(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs = store_with_files(f, 2); /* L0: 3, 2 */
    uint64_t m = vset_manifest_file_number(vs);
    file_op_t ops[] = {FOP_SYNC, FOP_WRITE};
    uint64_t num = 100;
    for (size_t i = 0; i < 2; i++) {
        f->fail_op = ops[i];
        f->fail_errno = EIO;
        f->fail_countdown = 1;
        version_edit_t e;
        version_edit_init(&e);
        add_file(f, &e, 0, num, "x", "y", 10, 90, 90);
        vset_mark_file_number_used(vs, num);
        status_t s = apply(f, vs, &e);
        assert_int_equal(st_code(s), ST_IO_ERROR);
        st_free(s);
        f->fail_countdown = 0;
        assert_version(vs, "L0:3,2");
        /* The edit's defaults are not left filled in. */
        assert_false(e.has_log_number || e.has_last_sequence || e.has_next_file_number);
        version_edit_free(&e);
        num++;
    }
    /* The next apply starts a new MANIFEST rather than appending after the failure. */
    apply_add(f, vs, 0, 200, "x", "y", 10, 95);
    assert_true(vset_manifest_file_number(vs) > m);
    vset_close(vs);
    OK(vset_recover(&f->env, f->dir, &f->opt, &vs));
    assert_version(vs, "L0:200,3,2");
    vset_close(vs);

    /* A failure while switching CURRENT during a roll leaves the old state readable. */
    OK(vset_recover(&f->env, f->dir, &f->opt, &vs));
    f->fail_op = FOP_RENAME;
    f->fail_errno = ENOSPC;
    f->fail_countdown = 1;
    version_edit_t e;
    version_edit_init(&e);
    add_file(f, &e, 0, 300, "x", "y", 10, 99, 99);
    vset_mark_file_number_used(vs, 300);
    status_t s = apply(f, vs, &e);
    assert_int_equal(st_code(s), ST_IO_ERROR);
    st_free(s);
    version_edit_free(&e);
    vset_close(vs);
    f->fail_countdown = 0;
    OK(vset_recover(&f->env, f->dir, &f->opt, &vs));
    assert_version(vs, "L0:200,3,2");
    vset_close(vs);
}

static void test_read_only(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs = store_with_files(f, 1);
    vset_close(vs);
    vset_options_t ro = f->opt;
    ro.read_only = 1;
    OK(vset_recover(&f->env, f->dir, &ro, &vs));
    version_edit_t e;
    version_edit_init(&e);
    status_t s = apply(f, vs, &e);
    assert_int_equal(st_code(s), ST_NOT_SUPPORTED);
    st_free(s);
    assert_int_equal(vset_manifest_file_number(vs), 1);
    vset_close(vs);
    char p[256];
    assert_false(file_exists(fn_manifest(p, sizeof(p), f->dir, 3)));
}

typedef struct {
    uint64_t seen[64];
    int n;
} live_t;

static void live_cb(void *arg, uint64_t number)
{
    live_t *l = arg;
    if (l->n < 64)
        l->seen[l->n++] = number;
}

static int live_has(const live_t *l, uint64_t number)
{
    for (int i = 0; i < l->n; i++)
        if (l->seen[i] == number)
            return 1;
    return 0;
}

static void test_live_files(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs = store_with_files(f, 2); /* 2, 3 */
    version_t *old = vset_current(vs);
    version_edit_t e;
    version_edit_init(&e);
    version_edit_delete_file(&e, 0, 2);
    OK(apply(f, vs, &e));
    version_edit_free(&e);
    live_t l = {.n = 0};
    vset_add_live_files(vs, live_cb, &l);
    assert_true(live_has(&l, 2) && live_has(&l, 3));
    version_unref(old); /* the old version dies: file 2 is no longer live */
    l.n = 0;
    vset_add_live_files(vs, live_cb, &l);
    assert_false(live_has(&l, 2));
    assert_true(live_has(&l, 3));
    vset_close(vs);
}

typedef struct {
    fixture_t *f;
    version_set_t *vs;
    uint64_t base;
} conc_arg_t;

static void *conc_worker(void *p)
{
    conc_arg_t *a = p;
    for (int i = 0; i < 50; i++) {
        version_edit_t e;
        version_edit_init(&e);
        char lo[32], hi[32];
        uint64_t n = a->base + (uint64_t)i;
        snprintf(lo, sizeof(lo), "t%llu", (unsigned long long)n);
        snprintf(hi, sizeof(hi), "t%lluz", (unsigned long long)n);
        add_file(a->f, &e, 0, n, lo, hi, 1, n, n);
        status_t s = apply(a->f, a->vs, &e);
        version_edit_free(&e);
        if (s) {
            st_free(s);
            return (void *)1;
        }
        version_t *v = vset_current(a->vs);
        version_unref(v);
    }
    return NULL;
}

static void test_concurrent_log_and_apply(void **state)
{
    fixture_t *f = *state;
    f->opt.max_manifest_file_size = 4096; /* also roll while others wait */
    version_set_t *vs;
    OK(vset_create(&f->env, f->dir, &f->opt, &vs));
    vset_mark_file_number_used(vs, 1000);
    pthread_t th[4];
    conc_arg_t args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (conc_arg_t){f, vs, 100 + 100 * (uint64_t)i};
        pthread_create(&th[i], NULL, conc_worker, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        assert_null(r);
    }
    assert_int_equal(vset_num_level_files(vs, 0), 200);
    vset_close(vs);
    OK(vset_recover(&f->env, f->dir, &f->opt, &vs));
    assert_int_equal(vset_num_level_files(vs, 0), 200);
    vset_close(vs);
}

/* ---- compaction picking ---- */

static compaction_t *pick(fixture_t *f, version_set_t *vs)
{
    mutex_lock(&f->mu);
    compaction_t *c = vset_pick_compaction(vs);
    mutex_unlock(&f->mu);
    return c;
}

static void cfree(fixture_t *f, compaction_t *c)
{
    mutex_lock(&f->mu);
    compaction_free(c);
    mutex_unlock(&f->mu);
}

static void assert_inputs(compaction_t *c, const char *in0, const char *in1)
{
    char a[256], b[256];
    list_numbers(&c->inputs[0], a, sizeof(a));
    list_numbers(&c->inputs[1], b, sizeof(b));
    assert_string_equal(a, in0);
    assert_string_equal(b, in1);
}

static void test_pick_l0_trigger_and_expansion(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs;
    OK(vset_create(&f->env, f->dir, &f->opt, &vs));
    /* L1: [a..c] 10, [d..f] 11, [x..z] 12 */
    apply_add(f, vs, 1, 10, "a", "c", 10, 1);
    apply_add(f, vs, 1, 11, "d", "f", 10, 1);
    apply_add(f, vs, 1, 12, "x", "z", 10, 1);
    /* L0 (oldest first): 20 [b..b], 21 [e..g], 22 [g..h], then 23 [s..t]. */
    apply_add(f, vs, 0, 20, "b", "b", 10, 5);
    apply_add(f, vs, 0, 21, "e", "g", 10, 6);
    apply_add(f, vs, 0, 22, "g", "h", 10, 7);
    assert_false(vset_needs_compaction(vs));
    assert_null(pick(f, vs));
    assert_true(vset_level_score(vs, 0) == 0.75);
    apply_add(f, vs, 0, 23, "s", "t", 10, 8);
    assert_true(vset_needs_compaction(vs));
    assert_true(vset_level_score(vs, 0) == 1.0);

    /* Overlap closure at L0: [e..e] reaches 21, which widens to g and so takes 22. */
    version_t *v = vset_current(vs);
    file_list_t l = {0};
    slice_t b = slice_str("e"), e = slice_str("e");
    assert_int_equal(version_overlapping_inputs(v, 0, &b, &e, &l), 0);
    char got[128];
    list_numbers(&l, got, sizeof(got));
    assert_string_equal(got, "22,21");
    b = slice_str("a");
    e = slice_str("b");
    version_overlapping_inputs(v, 0, &b, &e, &l);
    list_numbers(&l, got, sizeof(got));
    assert_string_equal(got, "20");
    version_overlapping_inputs(v, 0, NULL, NULL, &l);
    assert_int_equal(l.n, 4);
    b = slice_str("u");
    version_overlapping_inputs(v, 0, &b, NULL, &l);
    assert_int_equal(l.n, 0);
    /* Level >= 1 by binary search, user keys inclusive. */
    b = slice_str("c");
    e = slice_str("d");
    version_overlapping_inputs(v, 1, &b, &e, &l);
    list_numbers(&l, got, sizeof(got));
    assert_string_equal(got, "10,11");
    assert_true(version_overlap_in_level(v, 1, &b, &b));
    b = slice_str("g");
    e = slice_str("w");
    assert_false(version_overlap_in_level(v, 1, &b, &e));
    file_list_free(&l);
    version_unref(v);

    /* The pick starts at the newest L0 file (23 [s..t]): no expansion, no L1 overlap. */
    compaction_t *c = pick(f, vs);
    assert_non_null(c);
    assert_int_equal(c->level, 0);
    assert_int_equal(c->output_level, 1);
    assert_inputs(c, "23", "");
    assert_true(c->trivial_move);
    assert_true(c->score >= 1.0);
    assert_int_equal(c->max_output_file_size, 100);
    /* One L0 compaction at a time. */
    assert_null(pick(f, vs));
    assert_false(vset_needs_compaction(vs));
    /* The edit deletes the inputs; applied as a trivial move, 23 lands in L1. */
    compaction_set_trivial_move_edit(c);
    OK(apply(f, vs, &c->edit));
    cfree(f, c);
    assert_version(vs, "L0:22,21,20 L1:10,11,23,12");

    /* Back to the trigger; round robin continues after [s..t]: wraps to the newest. */
    apply_add(f, vs, 0, 24, "f", "f", 10, 9);
    c = pick(f, vs);
    assert_non_null(c);
    /* 24 [f] overlaps 21 [e..g] which widens to 22 [g..h]: all three, and L1's 11 [d..f]. */
    assert_inputs(c, "24,22,21", "11");
    assert_false(c->trivial_move);
    assert_true(c->inputs[0].v[0]->being_compacted && c->inputs[1].v[0]->being_compacted);
    cfree(f, c);
    v = vset_current(vs);
    for (int i = 0; i < v->nfiles[0]; i++)
        assert_false(v->files[0][i]->being_compacted);
    version_unref(v);
    vset_close(vs);
}

static void test_pick_level_targets_and_round_robin(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs;
    OK(vset_create(&f->env, f->dir, &f->opt, &vs));
    assert_int_equal(vset_max_bytes_for_level(vs, 1), 1000);
    assert_int_equal(vset_max_bytes_for_level(vs, 2), 10000);
    assert_int_equal(vset_max_bytes_for_level(vs, 3), 100000);
    /* L1: four files of 600 bytes = 2400 > 1000. */
    apply_add(f, vs, 1, 10, "a", "b", 600, 1);
    assert_false(vset_needs_compaction(vs));
    assert_null(pick(f, vs));
    apply_add(f, vs, 1, 11, "c", "d", 600, 1);
    apply_add(f, vs, 1, 12, "e", "f", 600, 1);
    apply_add(f, vs, 1, 13, "g", "h", 600, 1);
    /* L2 has a file under 11 and one under 13. */
    apply_add(f, vs, 2, 20, "c", "c", 50, 1);
    apply_add(f, vs, 2, 21, "g", "z", 50, 1);
    /* L3 (grandparents) */
    apply_add(f, vs, 3, 30, "a", "z", 5000, 1);
    assert_true(vset_level_score(vs, 1) == 2.4);
    assert_true(vset_level_score(vs, 3) == 0); /* last level never scores */
    assert_true(vset_needs_compaction(vs));

    const char *expect0[] = {"10", "11", "12", "13", "10"};
    const char *expect1[] = {"", "20", "", "21", ""};
    for (int i = 0; i < 5; i++) {
        compaction_t *c = pick(f, vs);
        assert_non_null(c);
        assert_int_equal(c->level, 1);
        assert_inputs(c, expect0[i], expect1[i]);
        /* The grandparent (30, 5000 bytes) exceeds 10 * 100: never a trivial move. */
        assert_false(c->trivial_move);
        assert_int_equal(c->grandparents.n, 1);
        /* The edit moves the compaction pointer to the input's largest key. */
        assert_int_equal(c->edit.n_compact_pointers, 1);
        cfree(f, c);
    }
    /* Files being compacted are skipped, and their bytes no longer count. */
    compaction_t *c1 = pick(f, vs);
    assert_inputs(c1, "11", "20");
    compaction_t *c2 = pick(f, vs);
    assert_inputs(c2, "12", "");
    compaction_t *c3 = pick(f, vs);
    assert_inputs(c3, "13", "21");
    /* Remaining bytes 600 < 1000: no more. */
    assert_null(pick(f, vs));
    cfree(f, c1);
    cfree(f, c2);
    cfree(f, c3);

    /* The pointer survives a restart through the edit's compact pointer. */
    compaction_t *c = pick(f, vs); /* 10 again (after 13) */
    assert_inputs(c, "10", "");
    OK(apply(f, vs, &c->edit)); /* delete 10 only: pointer now at b */
    cfree(f, c);
    vset_close(vs);
    OK(vset_recover(&f->env, f->dir, &f->opt, &vs));
    apply_add(f, vs, 1, 14, "i", "j", 600, 1);
    c = pick(f, vs);
    assert_non_null(c);
    assert_inputs(c, "11", "20");
    cfree(f, c);
    vset_close(vs);
}

static void test_pick_prefers_higher_score(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs;
    OK(vset_create(&f->env, f->dir, &f->opt, &vs));
    apply_add(f, vs, 1, 10, "a", "b", 1500, 1); /* L1 score 1.5 */
    for (uint64_t i = 0; i < 8; i++)            /* L0 score 2 */
        apply_add(f, vs, 0, 20 + i, "x", "y", 1, 10 + i);
    compaction_t *c = pick(f, vs);
    assert_int_equal(c->level, 0);
    assert_int_equal(c->inputs[0].n, 8);
    /* With L0 busy, L1 is next. */
    compaction_t *c2 = pick(f, vs);
    assert_non_null(c2);
    assert_int_equal(c2->level, 1);
    cfree(f, c);
    cfree(f, c2);
    vset_close(vs);
}

static void test_boundary_inputs(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs;
    OK(vset_create(&f->env, f->dir, &f->opt, &vs));
    /* L1: 10 [a@9 .. k@5], 11 [k@4 .. m@1] share user key k; 12 [n .. p]. */
    version_edit_t e;
    version_edit_init(&e);
    char a[64], b[64];
    version_edit_add_new_file(&e, 1, 10, 1000, ik(a, "a", 9, TYPE_VALUE),
                              ik(b, "k", 5, TYPE_VALUE), 5, 9, 1, 0);
    version_edit_add_new_file(&e, 1, 11, 1000, ik(a, "k", 4, TYPE_VALUE),
                              ik(b, "m", 1, TYPE_VALUE), 1, 4, 1, 0);
    version_edit_add_new_file(&e, 1, 12, 1000, ik(a, "n", 4, TYPE_VALUE),
                              ik(b, "p", 1, TYPE_VALUE), 1, 4, 1, 0);
    /* L1: 13 [q .. s@MAX range-end sentinel], 14 [s@3 .. t]: no boundary pull. */
    version_edit_add_new_file(&e, 1, 13, 1000, ik(a, "q", 4, TYPE_RANGE_DELETION),
                              ik(b, "s", MAX_SEQUENCE, TYPE_RANGE_DELETION), 4, 4, 0, 1);
    version_edit_add_new_file(&e, 1, 14, 1000, ik(a, "s", 3, TYPE_VALUE),
                              ik(b, "t", 1, TYPE_VALUE), 1, 3, 1, 0);
    for (uint64_t n = 10; n <= 14; n++)
        make_sst(f, n, 1000);
    vset_mark_file_number_used(vs, 14);
    OK(apply(f, vs, &e));
    version_edit_free(&e);

    compaction_t *c = pick(f, vs);
    assert_inputs(c, "10,11", "");
    assert_false(c->trivial_move);
    compaction_t *c2 = pick(f, vs);
    assert_inputs(c2, "12", "");
    compaction_t *c3 = pick(f, vs);
    assert_inputs(c3, "13", "");
    compaction_t *c4 = pick(f, vs);
    assert_inputs(c4, "14", "");
    cfree(f, c);
    cfree(f, c2);
    cfree(f, c3);
    cfree(f, c4);

    /* compact_range ending inside the shared key still takes 11. */
    slice_t lo = slice_str("b"), hi = slice_str("c");
    mutex_lock(&f->mu);
    OK(vset_compact_range(vs, 1, &lo, &hi, &c));
    mutex_unlock(&f->mu);
    assert_inputs(c, "10,11", "");
    cfree(f, c);
    vset_close(vs);
}

static void test_trivial_move_and_grandparents(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs;
    OK(vset_create(&f->env, f->dir, &f->opt, &vs));
    apply_add(f, vs, 1, 10, "a", "m", 1100, 1);
    /* L3 grandparents under [a..m]: 400 + 400 + 400 bytes, total 1200 > 10 * 100. */
    apply_add(f, vs, 3, 30, "b", "c", 400, 1);
    apply_add(f, vs, 3, 31, "e", "f", 400, 1);
    apply_add(f, vs, 3, 32, "h", "i", 400, 1);
    compaction_t *c = pick(f, vs);
    assert_inputs(c, "10", "");
    assert_false(c->trivial_move);
    assert_int_equal(c->grandparents.n, 3);
    assert_int_equal(c->max_grandparent_overlap, 1000);
    assert_int_equal(compaction_input_bytes(c), 1100);

    /* Cuts: overlap counts grandparents passed entirely after the first key. */
    char k[64];
    assert_false(compaction_should_stop_before(c, ik(k, "a", 1, TYPE_VALUE)));
    assert_false(compaction_should_stop_before(c, ik(k, "d", 1, TYPE_VALUE))); /* 400 */
    assert_false(compaction_should_stop_before(c, ik(k, "g", 1, TYPE_VALUE))); /* 800 */
    assert_true(compaction_should_stop_before(c, ik(k, "j", 1, TYPE_VALUE)));  /* 1200 */
    assert_false(compaction_should_stop_before(c, ik(k, "k", 1, TYPE_VALUE)));

    /* Base level: L3 holds b..c, e..f, h..i. */
    assert_false(compaction_is_base_level_for_key(c, slice_str("b")));
    assert_false(compaction_is_base_level_for_key(c, slice_str("bb")));
    assert_false(compaction_is_base_level_for_key(c, slice_str("i")));
    assert_true(compaction_is_base_level_for_key(c, slice_str("d")));
    assert_true(compaction_is_base_level_for_key(c, slice_str("a")));
    assert_true(compaction_is_base_level_for_key(c, slice_str("z")));
    assert_true(compaction_is_base_level_for_range(c, slice_str("cc"), slice_str("e")));
    assert_false(compaction_is_base_level_for_range(c, slice_str("cc"), slice_str("ea")));
    assert_false(compaction_is_base_level_for_range(c, slice_str("a"), slice_str("z")));
    assert_true(compaction_is_base_level_for_range(c, slice_str("j"), slice_str("z")));
    cfree(f, c);

    /* Fewer grandparent bytes: a trivial move; applying it moves the file to L2. */
    version_edit_t e;
    version_edit_init(&e);
    version_edit_delete_file(&e, 3, 31);
    OK(apply(f, vs, &e));
    version_edit_free(&e);
    c = pick(f, vs);
    assert_true(c->trivial_move);
    compaction_set_trivial_move_edit(c);
    OK(apply(f, vs, &c->edit));
    cfree(f, c);
    assert_version(vs, "L2:10 L3:30,32");
    vset_close(vs);
    OK(vset_recover(&f->env, f->dir, &f->opt, &vs));
    assert_version(vs, "L2:10 L3:30,32");
    vset_close(vs);
}

static void test_compact_range(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs;
    OK(vset_create(&f->env, f->dir, &f->opt, &vs));
    apply_add(f, vs, 1, 10, "a", "c", 10, 1);
    apply_add(f, vs, 1, 11, "d", "f", 10, 1);
    apply_add(f, vs, 1, 12, "g", "i", 10, 1);
    apply_add(f, vs, 2, 20, "e", "h", 10, 1);
    apply_add(f, vs, 3, 30, "a", "z", 10, 1);
    compaction_t *c;
    slice_t lo = slice_str("e"), hi = slice_str("h");
    mutex_lock(&f->mu);
    OK(vset_compact_range(vs, 1, &lo, &hi, &c));
    mutex_unlock(&f->mu);
    assert_non_null(c);
    assert_true(c->manual);
    assert_int_equal(c->output_level, 2);
    assert_inputs(c, "11,12", "20");
    assert_int_equal(c->edit.n_deleted_files, 3);
    /* Overlapping request while those are busy. */
    compaction_t *c2;
    mutex_lock(&f->mu);
    status_t s = vset_compact_range(vs, 1, &lo, NULL, &c2);
    assert_int_equal(st_code(s), ST_BUSY);
    assert_null(c2);
    st_free(s);
    mutex_unlock(&f->mu);
    cfree(f, c);

    /* Open range: everything at the level. */
    mutex_lock(&f->mu);
    OK(vset_compact_range(vs, 1, NULL, NULL, &c));
    mutex_unlock(&f->mu);
    assert_inputs(c, "10,11,12", "20");
    cfree(f, c);
    /* Nothing in range. */
    lo = slice_str("j");
    hi = slice_str("k");
    mutex_lock(&f->mu);
    OK(vset_compact_range(vs, 1, &lo, &hi, &c));
    assert_null(c);
    OK(vset_compact_range(vs, 0, NULL, NULL, &c));
    assert_null(c);
    /* The last level compacts into itself. */
    OK(vset_compact_range(vs, 3, NULL, NULL, &c));
    assert_non_null(c);
    assert_int_equal(c->output_level, 3);
    assert_inputs(c, "30", "");
    assert_false(c->trivial_move);
    assert_true(compaction_is_base_level_for_key(c, slice_str("m")));
    compaction_free(c);
    s = vset_compact_range(vs, 4, NULL, NULL, &c);
    assert_int_equal(st_code(s), ST_INVALID_ARGUMENT);
    st_free(s);
    mutex_unlock(&f->mu);
    vset_close(vs);
}

/* Deletion-triggered picking: the file with the highest tombstone share (>= 1/2) whose
 * newest entry every snapshot sees; counts survive the MANIFEST (tag 10); never trivial. */
static void test_pick_deletion_compaction(void **state)
{
    fixture_t *f = *state;
    version_set_t *vs;
    OK(vset_create(&f->env, f->dir, &f->opt, &vs));
    version_edit_t e;
    version_edit_init(&e);
    add_file(f, &e, 1, 10, "a", "c", 100, 1, 10); /* 1 deletion in 10: keep */
    e.new_files[e.n_new_files - 1].meta->num_deletions = 1;
    add_file(f, &e, 1, 11, "d", "f", 100, 11, 20); /* 8 in 10 */
    e.new_files[e.n_new_files - 1].meta->num_deletions = 8;
    add_file(f, &e, 2, 12, "g", "h", 100, 21, 100); /* all tombstones, but too new */
    e.new_files[e.n_new_files - 1].meta->num_deletions = 10;
    OK(apply(f, vs, &e));
    version_edit_free(&e);
    vset_close(vs);
    OK(vset_recover(&f->env, f->dir, &f->opt, &vs)); /* the counts come back (tag 10) */

    mutex_lock(&f->mu);
    assert_null(vset_pick_deletion_compaction(vs, 5)); /* nothing old enough */
    compaction_t *c = vset_pick_deletion_compaction(vs, 50);
    assert_non_null(c);
    assert_int_equal(c->level, 1);
    assert_inputs(c, "11", "");
    assert_false(c->trivial_move);
    assert_true(vset_deletion_share(c->inputs[0].v[0]) >= 0.8 - 1e-9);
    /* while it runs, the same file is not picked twice */
    assert_null(vset_pick_deletion_compaction(vs, 50));
    compaction_free(c);
    /* once the snapshot that pinned file 12 is gone it wins (share 1) */
    c = vset_pick_deletion_compaction(vs, 1000);
    assert_non_null(c);
    assert_int_equal(c->level, 2);
    assert_inputs(c, "12", "");
    compaction_free(c);
    mutex_unlock(&f->mu);
    vset_close(vs);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit_round_trip),
        T(test_pick_deletion_compaction),
        cmocka_unit_test(test_edit_every_truncation_rejected),
        cmocka_unit_test(test_edit_rejects_malformed),
        cmocka_unit_test(test_edit_random_damage_never_crashes),
        T(test_create_apply_recover),
        T(test_torn_tail_tolerated),
        T(test_flipped_byte_is_corruption),
        T(test_format_version),
        T(test_missing_or_short_sst),
        T(test_current_file_problems),
        T(test_level_invariants),
        T(test_manifest_roll_over),
        T(test_write_failure_installs_nothing),
        T(test_read_only),
        T(test_live_files),
        T(test_concurrent_log_and_apply),
        T(test_pick_l0_trigger_and_expansion),
        T(test_pick_level_targets_and_round_robin),
        T(test_pick_prefers_higher_score),
        T(test_boundary_inputs),
        T(test_trivial_move_and_grandparents),
        T(test_compact_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
