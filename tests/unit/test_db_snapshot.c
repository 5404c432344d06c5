/*
 * test_db_snapshot.c - persistent snapshots and checkpoints (engine/db/db_snapshot.c)
 * through lsm.h: create / list / get / delete and their errors, the MANIFEST encoding of
 * the snapshot tags, versions kept by compaction and freed after delete, survival across
 * reopen and SIGKILL, and checkpoints (hard links, consistency, openable, snapshots kept).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "db/version_edit.h"
#include "lsm.h"

static char g_dir[64];
static char g_ckpt[96];

static int setup(void **state)
{
    (void)state;
    if (tu_make_tmpdir(g_dir, sizeof(g_dir), "test_dbsnap"))
        return -1;
    snprintf(g_ckpt, sizeof(g_ckpt), "%s.ckpt", g_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char tmp[sizeof(g_ckpt) + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", g_ckpt);
    return tu_rm_rf(g_dir) | tu_rm_rf(g_ckpt) | tu_rm_rf(tmp);
}

static lsm_options_t *opts(void)
{
    lsm_options_t *o = lsm_options_create();
    lsm_options_set_create_if_missing(o, 1);
    lsm_options_set_write_buffer_size(o, 64 << 10);
    lsm_options_set_target_file_size_base(o, 64 << 10);
    lsm_options_set_max_bytes_for_level_base(o, 256 << 10);
    return o;
}

static lsm_t *open_at(const char *dir)
{
    lsm_options_t *o = opts();
    char *err = NULL;
    lsm_t *db = lsm_open(o, dir, &err);
    if (err)
        fprintf(stderr, "open %s: %s\n", dir, err);
    assert_null(err);
    assert_non_null(db);
    lsm_options_destroy(o);
    return db;
}

static void put(lsm_t *db, const char *k, const char *v)
{
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    char *err = NULL;
    lsm_put(db, wo, k, strlen(k), v, strlen(v), &err);
    assert_null(err);
    lsm_writeoptions_destroy(wo);
}

static void del(lsm_t *db, const char *k)
{
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    char *err = NULL;
    lsm_delete(db, wo, k, strlen(k), &err);
    assert_null(err);
    lsm_writeoptions_destroy(wo);
}

/* The value of k at snapshot s (NULL = latest), or NULL when absent; caller frees. */
static char *get_at(lsm_t *db, const lsm_snapshot_t *s, const char *k)
{
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_readoptions_set_snapshot(ro, s);
    char *err = NULL;
    size_t n;
    char *v = lsm_get(db, ro, k, strlen(k), &n, &err);
    assert_null(err);
    lsm_readoptions_destroy(ro);
    if (!v)
        return NULL;
    char *z = malloc(n + 1);
    memcpy(z, v, n);
    z[n] = 0;
    lsm_free(v);
    return z;
}

static void expect_at(lsm_t *db, const char *snap, const char *k, const char *want)
{
    const lsm_snapshot_t *s = snap ? lsm_get_persistent_snapshot(db, snap) : NULL;
    if (snap)
        assert_non_null(s);
    char *v = get_at(db, s, k);
    if (want) {
        assert_non_null(v);
        assert_string_equal(v, want);
    } else {
        assert_null(v);
    }
    free(v);
    if (s)
        lsm_release_snapshot(db, s);
}

static void flush_wait(lsm_t *db)
{
    char *err = NULL;
    lsm_flushoptions_t *fo = lsm_flushoptions_create();
    lsm_flushoptions_set_wait(fo, 1);
    lsm_flush(db, fo, &err);
    assert_null(err);
    lsm_flushoptions_destroy(fo);
}

static void flush_and_compact(lsm_t *db)
{
    char *err = NULL;
    flush_wait(db);
    lsm_compact_range(db, NULL, 0, NULL, 0, &err);
    assert_null(err);
}

static uint64_t sst_bytes(lsm_t *db)
{
    uint64_t n = 0;
    assert_int_equal(lsm_property_int(db, "lsm.total-sst-files-size", &n), 0);
    return n;
}

static void test_edit_roundtrip(void **state)
{
    (void)state;
    version_edit_t e, d;
    version_edit_init(&e);
    version_edit_snapshot(&e, "daily", 5, 42, 0);
    version_edit_snapshot(&e, "old", 3, 0, 1);
    buf_t b;
    buf_init(&b);
    version_edit_encode(&e, &b);
    assert_null(version_edit_decode(&d, buf_slice(&b)));
    assert_int_equal(d.n_snapshots, 2);
    assert_string_equal(d.snapshots[0].name, "daily");
    assert_int_equal(d.snapshots[0].seq, 42);
    assert_int_equal(d.snapshots[0].deleted, 0);
    assert_string_equal(d.snapshots[1].name, "old");
    assert_int_equal(d.snapshots[1].deleted, 1);
    /* Every truncation is refused. */
    for (size_t cut = 0; cut < b.len; cut++) {
        version_edit_t t;
        status_t s = version_edit_decode(&t, slice_make(b.data, cut));
        assert_non_null(s);
        st_free(s);
    }
    version_edit_free(&d);
    buf_free(&b);
    version_edit_free(&e);
    /* An empty name is refused by the encoder side too. */
    version_edit_init(&e);
    version_edit_snapshot(&e, "", 0, 1, 0);
    assert_true(e.oom);
    version_edit_free(&e);
}

static void test_create_get_delete(void **state)
{
    (void)state;
    lsm_t *db = open_at(g_dir);
    put(db, "a", "1");
    put(db, "b", "1");
    char *err = NULL;
    uint64_t seq = lsm_create_persistent_snapshot(db, "s1", &err);
    assert_null(err);
    assert_int_equal(seq, lsm_get_latest_sequence_number(db));
    put(db, "a", "2");
    del(db, "b");
    put(db, "c", "2");
    expect_at(db, "s1", "a", "1");
    expect_at(db, "s1", "b", "1");
    expect_at(db, "s1", "c", NULL);
    expect_at(db, NULL, "a", "2");
    expect_at(db, NULL, "b", NULL);

    /* errors: a name twice, a missing name, a bad name */
    lsm_create_persistent_snapshot(db, "s1", &err);
    assert_non_null(err);
    assert_int_equal(lsm_error_errno(err), EINVAL);
    lsm_free(err);
    err = NULL;
    lsm_delete_persistent_snapshot(db, "nope", &err);
    assert_non_null(err);
    assert_int_equal(lsm_error_errno(err), ENOENT);
    lsm_free(err);
    err = NULL;
    lsm_create_persistent_snapshot(db, "", &err);
    assert_non_null(err);
    lsm_free(err);
    err = NULL;
    assert_null(lsm_get_persistent_snapshot(db, "nope"));

    assert_int_equal(lsm_create_persistent_snapshot(db, "s2", &err), seq + 3);
    assert_null(err);
    char **names;
    uint64_t *seqs;
    size_t n = lsm_list_persistent_snapshots(db, &names, &seqs);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "s1");
    assert_string_equal(names[1], "s2");
    assert_int_equal(seqs[0], seq);
    lsm_free_persistent_snapshot_list(names, seqs, n);
    uint64_t cnt = 0;
    assert_int_equal(lsm_property_int(db, "lsm.num-persistent-snapshots", &cnt), 0);
    assert_int_equal(cnt, 2);

    /* A handle taken before the delete keeps reading. */
    const lsm_snapshot_t *h = lsm_get_persistent_snapshot(db, "s1");
    lsm_delete_persistent_snapshot(db, "s1", &err);
    assert_null(err);
    assert_null(lsm_get_persistent_snapshot(db, "s1"));
    flush_and_compact(db);
    char *v = get_at(db, h, "b");
    assert_non_null(v);
    assert_string_equal(v, "1");
    free(v);
    lsm_release_snapshot(db, h);
    lsm_close(db);
}

/* Compaction keeps what a persistent snapshot shows, across reopen; delete frees it. */
static void test_kept_by_compaction_and_freed(void **state)
{
    (void)state;
    lsm_t *db = open_at(g_dir);
    char k[32], val[1024];
    memset(val, 'x', sizeof(val) - 1);
    val[sizeof(val) - 1] = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "key%05d", i);
        put(db, k, val);
    }
    char *err = NULL;
    lsm_create_persistent_snapshot(db, "keep", &err);
    assert_null(err);
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "key%05d", i);
        del(db, k);
    }
    flush_and_compact(db);
    uint64_t held = sst_bytes(db);
    assert_true(held > 500 * 1024); /* the deleted values are still there for "keep" */
    lsm_close(db);

    db = open_at(g_dir);
    expect_at(db, "keep", "key00000", val);
    expect_at(db, "keep", "key00999", val);
    expect_at(db, NULL, "key00500", NULL);
    flush_and_compact(db);
    expect_at(db, "keep", "key00500", val);

    lsm_delete_persistent_snapshot(db, "keep", &err);
    assert_null(err);
    lsm_close(db);
    db = open_at(g_dir); /* the delete is durable too */
    assert_null(lsm_get_persistent_snapshot(db, "keep"));
    flush_and_compact(db);
    /* deletion-triggered compaction: the files of values + tombstones are rewritten once
     * nothing pins the values any more (bounded wait; no timing asserted) */
    uint64_t after = sst_bytes(db);
    for (int i = 0; i < 200 && after >= held / 10; i++) {
        usleep(50 * 1000);
        after = sst_bytes(db);
    }
    assert_true(after < held / 10);
    lsm_close(db);
}

/* Overwritten (not deleted) values kept for a snapshot sit at the bottom level after a
 * compaction; once the snapshot is deleted, one manual compaction of the whole range gives
 * their space back (it rewrites the bottom level instead of stopping above it). */
static void test_overwrite_freed_by_manual_compaction(void **state)
{
    (void)state;
    lsm_t *db = open_at(g_dir);
    char k[32], val[1024];
    memset(val, 'a', sizeof(val) - 1);
    val[sizeof(val) - 1] = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "key%05d", i);
        put(db, k, val);
    }
    flush_and_compact(db);
    uint64_t one = sst_bytes(db);
    char *err = NULL;
    lsm_create_persistent_snapshot(db, "keep", &err);
    assert_null(err);
    memset(val, 'b', sizeof(val) - 1);
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "key%05d", i);
        put(db, k, val);
    }
    flush_and_compact(db);
    uint64_t two = sst_bytes(db);
    assert_true(two > one + one / 2); /* both versions */
    lsm_delete_persistent_snapshot(db, "keep", &err);
    assert_null(err);
    flush_and_compact(db);
    uint64_t after = sst_bytes(db);
    assert_true(after < one + one / 4);
    expect_at(db, NULL, "key00500", val);
    flush_and_compact(db); /* again: nothing left to drop, the data stays */
    expect_at(db, NULL, "key00999", val);
    assert_true(sst_bytes(db) < one + one / 4);
    lsm_close(db);
}

/* A snapshot created just before a SIGKILL is there after recovery, with its data. */
static void test_survives_kill(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        lsm_t *db = open_at(g_dir);
        put(db, "k", "before");
        char *err = NULL;
        lsm_create_persistent_snapshot(db, "crash", &err);
        if (err)
            _exit(2);
        put(db, "k", "after");
        kill(getpid(), SIGKILL);
        _exit(3);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    lsm_t *db = open_at(g_dir);
    expect_at(db, "crash", "k", "before");
    expect_at(db, NULL, "k", "after");
    /* Recovery must not reuse the snapshot's sequences: new writes stay invisible to it. */
    put(db, "k2", "new");
    expect_at(db, "crash", "k2", NULL);
    lsm_close(db);
}

static void test_checkpoint(void **state)
{
    (void)state;
    lsm_t *db = open_at(g_dir);
    char k[32];
    for (int i = 0; i < 2000; i++) { /* several tables, plus a memtable tail */
        snprintf(k, sizeof(k), "key%05d", i);
        put(db, k, "value-value-value-value-value-value-value-value");
    }
    char *err = NULL;
    flush_wait(db);
    put(db, "tail", "in-the-wal");
    lsm_create_persistent_snapshot(db, "snap", &err);
    assert_null(err);
    put(db, "tail", "newer");
    uint64_t seq = 0;
    lsm_checkpoint_create(db, g_ckpt, &seq, &err);
    assert_null(err);
    assert_true(seq >= lsm_get_latest_sequence_number(db));
    put(db, "later", "x"); /* not in the checkpoint */

    /* tables are hard links */
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "for f in %s/*.sst; do [ $(stat -c %%h $f) -ge 2 ] || exit 1;"
             " done; ls %s/*.sst >/dev/null 2>&1", g_ckpt, g_ckpt);
    assert_int_equal(system(cmd), 0);
    /* a second checkpoint into the same place is refused */
    lsm_checkpoint_create(db, g_ckpt, NULL, &err);
    assert_non_null(err);
    lsm_free(err);
    err = NULL;
    lsm_close(db); /* the checkpoint does not depend on the source staying open */

    lsm_t *c = open_at(g_ckpt);
    expect_at(c, NULL, "key00000", "value-value-value-value-value-value-value-value");
    expect_at(c, NULL, "key01999", "value-value-value-value-value-value-value-value");
    expect_at(c, NULL, "tail", "newer");
    expect_at(c, NULL, "later", NULL);
    expect_at(c, "snap", "tail", "in-the-wal");
    lsm_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit_roundtrip),
        cmocka_unit_test_setup_teardown(test_create_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kept_by_compaction_and_freed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overwrite_freed_by_manual_compaction, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_survives_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
