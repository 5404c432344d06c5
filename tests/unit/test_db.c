/*
 * test_db.c - the engine through its public API (lsm.h): basic reads and writes, batches,
 * iterators, snapshots, range deletions, reopen and recovery, lock contention, bad stores,
 * recovery after SIGKILL, multi-threaded writers with every write-path option, and a
 * randomized model test against a plain array with reopens, flushes and compactions.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include "testdb.h"

#include "db/filename.h"
#include "db/version_edit.h"
#include "lsm.h"
#include "util/mapguard.h"
#include "util/file.h"
#include "util/random.h"
#include "write/wal.h"

static char g_dir[64];

static int setup(void **state)
{
    (void)state;
    return tu_make_tmpdir(g_dir, sizeof(g_dir), "test_db");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rm_rf(g_dir);
}

static lsm_t *open_db(lsm_options_t *o)
{
    char *err = NULL;
    lsm_t *db = lsm_open(o, g_dir, &err);
    if (err)
        fprintf(stderr, "open: %s\n", err);
    assert_null(err);
    assert_non_null(db);
    return db;
}

static lsm_options_t *default_opts(void)
{
    lsm_options_t *o = lsm_options_create();
    lsm_options_set_create_if_missing(o, 1);
    return o;
}

static void put(lsm_t *db, const char *k, const char *v)
{
    char *err = NULL;
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    lsm_put(db, wo, k, strlen(k), v, strlen(v), &err);
    assert_null(err);
    lsm_writeoptions_destroy(wo);
}

/* Returns the value (malloc'd, NUL-terminated copy) or NULL. */
static char *get(lsm_t *db, const lsm_snapshot_t *snap, const char *k)
{
    char *err = NULL;
    size_t n;
    lsm_readoptions_t *ro = lsm_readoptions_create();
    if (snap)
        lsm_readoptions_set_snapshot(ro, snap);
    char *v = lsm_get(db, ro, k, strlen(k), &n, &err);
    lsm_readoptions_destroy(ro);
    assert_null(err);
    if (!v)
        return NULL;
    char *s = malloc(n + 1);
    memcpy(s, v, n);
    s[n] = 0;
    lsm_free(v);
    return s;
}

static void assert_get(lsm_t *db, const lsm_snapshot_t *snap, const char *k, const char *want)
{
    char *v = get(db, snap, k);
    if (!want) {
        if (v)
            fail_msg("key %s: want absent, got %s", k, v);
    } else {
        if (!v)
            fail_msg("key %s: want %s, got absent", k, want);
        assert_string_equal(v, want);
    }
    free(v);
}

static void test_basic(void **state)
{
    (void)state;
    lsm_options_t *o = default_opts();
    lsm_t *db = open_db(o);
    assert_get(db, NULL, "a", NULL);
    put(db, "a", "1");
    put(db, "b", "2");
    put(db, "a", "3");
    assert_get(db, NULL, "a", "3");
    assert_get(db, NULL, "b", "2");
    put(db, "empty", "");
    assert_get(db, NULL, "empty", "");
    char *err = NULL;
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    lsm_delete(db, wo, "a", 1, &err);
    assert_null(err);
    assert_get(db, NULL, "a", NULL);
    /* a binary key with NUL bytes */
    const char bk[] = {'x', 0, 'y'};
    lsm_put(db, wo, bk, 3, "bin", 3, &err);
    assert_null(err);
    size_t n;
    lsm_readoptions_t *ro = lsm_readoptions_create();
    char *v = lsm_get(db, ro, bk, 3, &n, &err);
    assert_non_null(v);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "bin", 3);
    lsm_free(v);
    v = lsm_get(db, ro, bk, 1, &n, &err);
    assert_null(v);
    char *stats = lsm_property_value(db, "lsm.stats");
    assert_non_null(stats);
    assert_non_null(strstr(stats, "writes: "));
    lsm_free(stats);
    assert_null(lsm_property_value(db, "lsm.no-such-property"));
    uint64_t nf = 99;
    assert_int_equal(lsm_property_int(db, "lsm.num-files-at-level0", &nf), 0);
    assert_int_equal(nf, 0);
    lsm_readoptions_destroy(ro);
    lsm_writeoptions_destroy(wo);
    lsm_close(db);
    lsm_options_destroy(o);
}

static void test_batch_and_iterate(void **state)
{
    (void)state;
    lsm_options_t *o = default_opts();
    lsm_t *db = open_db(o);
    lsm_writebatch_t *b = lsm_writebatch_create();
    char k[16], v[16];
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "k%03d", i);
        snprintf(v, sizeof(v), "v%d", i);
        lsm_writebatch_put(b, k, strlen(k), v, strlen(v));
    }
    lsm_writebatch_delete(b, "k050", 4);
    lsm_writebatch_delete_range(b, "k060", 4, "k070", 4);
    assert_int_equal(lsm_writebatch_count(b), 102);
    char *err = NULL;
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    uint64_t before = lsm_get_latest_sequence_number(db);
    lsm_write(db, wo, b, &err);
    assert_null(err);
    assert_int_equal(lsm_get_latest_sequence_number(db), before + 102);
    /* serialised rep round trip */
    size_t sz;
    const char *rep = lsm_writebatch_data(b, &sz);
    lsm_writebatch_t *b2 = lsm_writebatch_create_from(rep, sz);
    assert_non_null(b2);
    assert_int_equal(lsm_writebatch_count(b2), 102);
    lsm_writebatch_destroy(b2);
    assert_null(lsm_writebatch_create_from(rep, sz - 1));
    lsm_writebatch_destroy(b);

    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_iterator_t *it = lsm_create_iterator(db, ro);
    int count = 0, last = -1;
    for (lsm_iter_seek_to_first(it); lsm_iter_valid(it); lsm_iter_next(it)) {
        size_t kl, vl;
        const char *kk = lsm_iter_key(it, &kl);
        const char *vv = lsm_iter_value(it, &vl);
        int i = atoi(kk + 1);
        assert_true(i > last);
        last = i;
        assert_true(i != 50 && (i < 60 || i >= 70));
        snprintf(v, sizeof(v), "v%d", i);
        assert_int_equal(vl, strlen(v));
        assert_memory_equal(vv, v, vl);
        count++;
    }
    assert_int_equal(count, 89);
    lsm_iter_get_error(it, &err);
    assert_null(err);
    /* backwards, seek and seek_for_prev */
    count = 0;
    for (lsm_iter_seek_to_last(it); lsm_iter_valid(it); lsm_iter_prev(it))
        count++;
    assert_int_equal(count, 89);
    lsm_iter_seek(it, "k060", 4);
    size_t kl;
    assert_true(lsm_iter_valid(it));
    assert_memory_equal(lsm_iter_key(it, &kl), "k070", 4);
    lsm_iter_seek_for_prev(it, "k065", 4);
    assert_true(lsm_iter_valid(it));
    assert_memory_equal(lsm_iter_key(it, &kl), "k059", 4);
    lsm_iter_destroy(it);
    /* bounds */
    lsm_readoptions_set_iterate_lower_bound(ro, "k010", 4);
    lsm_readoptions_set_iterate_upper_bound(ro, "k020", 4);
    it = lsm_create_iterator(db, ro);
    count = 0;
    for (lsm_iter_seek_to_first(it); lsm_iter_valid(it); lsm_iter_next(it))
        count++;
    assert_int_equal(count, 10);
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
    lsm_writeoptions_destroy(wo);
    lsm_close(db);
    lsm_options_destroy(o);
}

static void test_snapshots(void **state)
{
    (void)state;
    lsm_options_t *o = default_opts();
    lsm_t *db = open_db(o);
    put(db, "a", "1");
    const lsm_snapshot_t *s1 = lsm_create_snapshot(db);
    put(db, "a", "2");
    put(db, "b", "x");
    char *err = NULL;
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    lsm_delete_range(db, wo, "a", 1, "c", 1, &err);
    assert_null(err);
    const lsm_snapshot_t *s2 = lsm_create_snapshot(db);
    put(db, "b", "y");
    assert_get(db, s1, "a", "1");
    assert_get(db, s1, "b", NULL);
    assert_get(db, s2, "a", NULL);
    assert_get(db, s2, "b", NULL);
    assert_get(db, NULL, "b", "y");
    assert_get(db, NULL, "a", NULL);
    /* snapshots survive a flush and a compaction */
    lsm_flush(db, NULL, &err);
    assert_null(err);
    lsm_compact_range(db, NULL, 0, NULL, 0, &err);
    assert_null(err);
    assert_get(db, s1, "a", "1");
    assert_get(db, s2, "b", NULL);
    assert_get(db, NULL, "b", "y");
    /* an iterator at s1 sees only a=1 */
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_readoptions_set_snapshot(ro, s1);
    lsm_iterator_t *it = lsm_create_iterator(db, ro);
    lsm_iter_seek_to_first(it);
    assert_true(lsm_iter_valid(it));
    size_t kl;
    assert_memory_equal(lsm_iter_key(it, &kl), "a", 1);
    lsm_iter_next(it);
    assert_false(lsm_iter_valid(it));
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
    lsm_release_snapshot(db, s1);
    lsm_release_snapshot(db, s2);
    lsm_writeoptions_destroy(wo);
    lsm_close(db);
    lsm_options_destroy(o);
}

static void test_reopen(void **state)
{
    (void)state;
    lsm_options_t *o = default_opts();
    lsm_t *db = open_db(o);
    char k[32], v[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof(k), "key%06d", i);
        snprintf(v, sizeof(v), "value%d", i * 7);
        put(db, k, v);
    }
    char *err = NULL;
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    lsm_delete_range(db, wo, "key001000", 9, "key002000", 9, &err);
    assert_null(err);
    lsm_close(db);
    for (int round = 0; round < 3; round++) {
        db = open_db(o);
        for (int i = 0; i < 5000; i += 37) {
            snprintf(k, sizeof(k), "key%06d", i);
            snprintf(v, sizeof(v), "value%d", i * 7);
            assert_get(db, NULL, k, (i >= 1000 && i < 2000) ? NULL : v);
        }
        put(db, "round", round == 0 ? "0" : round == 1 ? "1" : "2");
        lsm_close(db);
    }
    db = open_db(o);
    assert_get(db, NULL, "round", "2");
    lsm_close(db);
    lsm_writeoptions_destroy(wo);
    lsm_options_destroy(o);
}

static void test_lock(void **state)
{
    (void)state;
    lsm_options_t *o = default_opts();
    lsm_t *db = open_db(o);
    char *err = NULL;
    lsm_t *db2 = lsm_open(o, g_dir, &err);
    assert_null(db2);
    assert_non_null(err);
    assert_non_null(strstr(err, "locked"));
    assert_int_equal(lsm_error_errno(err), EBUSY);
    lsm_free(err);
    /* another process is refused too */
    pid_t pid = fork();
    if (pid == 0) {
        char *e = NULL;
        lsm_t *d = lsm_open(o, g_dir, &e);
        _exit(d == NULL && e && strstr(e, "locked") ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    lsm_close(db);
    db = open_db(o); /* free again after close */
    lsm_close(db);
    lsm_options_destroy(o);
}

static void test_bad_stores(void **state)
{
    (void)state;
    char *err = NULL;
    lsm_options_t *o = lsm_options_create();
    char path[256];
    snprintf(path, sizeof(path), "%s/missing", g_dir);
    assert_null(lsm_open(o, path, &err));
    assert_non_null(err);
    assert_non_null(strstr(err, "does not exist"));
    lsm_free(err);
    err = NULL;
    /* a directory with foreign files but no CURRENT */
    snprintf(path, sizeof(path), "%s/foreign", g_dir);
    mkdir(path, 0755);
    char f[300];
    snprintf(f, sizeof(f), "%s/hello.txt", path);
    FILE *fp = fopen(f, "w");
    fputs("hi", fp);
    fclose(fp);
    assert_null(lsm_open(o, path, &err));
    assert_non_null(err);
    assert_non_null(strstr(err, "not an lsm store"));
    lsm_free(err);
    err = NULL;
    snprintf(f, sizeof(f), "%s/LOCK", path);
    assert_int_equal(access(f, F_OK), -1); /* nothing was made in a foreign directory */
    /* a store of a newer format version */
    lsm_options_set_create_if_missing(o, 1);
    lsm_t *db = open_db(o);
    lsm_close(db);
    {
        char mpath[300];
        fn_manifest(mpath, sizeof(mpath), g_dir, 900);
        wfile_t *wf;
        assert_null(wfile_open(NULL, mpath, 0, &wf));
        log_writer_t *lw = log_writer_new(wf);
        version_edit_t e;
        version_edit_init(&e);
        version_edit_set_format_version(&e, LSM_FORMAT_VERSION + 1);
        version_edit_set_next_file_number(&e, 901);
        version_edit_set_last_sequence(&e, 0);
        version_edit_set_log_number(&e, 0);
        buf_t b;
        buf_init(&b);
        version_edit_encode(&e, &b);
        assert_null(log_add_record(lw, buf_slice(&b)));
        assert_null(log_writer_sync(lw));
        assert_null(log_writer_close(lw));
        buf_free(&b);
        version_edit_free(&e);
        assert_null(file_write_atomic(NULL, g_dir, "CURRENT", "MANIFEST-000900\n", 16));
    }
    assert_null(lsm_open(o, g_dir, &err));
    assert_non_null(err);
    assert_non_null(strstr(err, "format version"));
    assert_int_equal(lsm_error_errno(err), ENOTSUP);
    lsm_free(err);
    lsm_options_destroy(o);
}

static void test_wal_corruption(void **state)
{
    (void)state;
    lsm_options_t *o = default_opts();
    lsm_t *db = open_db(o);
    char k[32], v[200];
    memset(v, 'v', sizeof(v) - 1);
    v[sizeof(v) - 1] = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "key%06d", i);
        put(db, k, v);
    }
    /* Find the WAL before closing (close keeps it: no flush at close). */
    lsm_close(db);
    char cmd[256], logpath[256] = "";
    snprintf(cmd, sizeof(cmd), "ls %s/*.log | tail -1", g_dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(fgets(logpath, sizeof(logpath), p));
    pclose(p);
    logpath[strcspn(logpath, "\n")] = 0;
    struct stat stt;
    assert_int_equal(stat(logpath, &stt), 0);
    assert_true(stt.st_size > 100000);
    /* flip a byte in the middle */
    int fd = open(logpath, O_RDWR);
    char c;
    assert_int_equal(pread(fd, &c, 1, stt.st_size / 2), 1);
    c ^= 0x40;
    assert_int_equal(pwrite(fd, &c, 1, stt.st_size / 2), 1);
    close(fd);
    char *err = NULL;
    assert_null(lsm_open(o, g_dir, &err));
    assert_non_null(err);
    assert_non_null(strstr(err, "Corruption"));
    assert_non_null(strstr(err, ".log"));
    lsm_free(err);
    err = NULL;
    /* point-in-time recovery keeps a prefix */
    lsm_options_set_paranoid_checks(o, 0);
    db = open_db(o);
    assert_get(db, NULL, "key000000", v);
    assert_get(db, NULL, "key000999", NULL);
    lsm_close(db);
    lsm_options_destroy(o);
}

/* A child writes keys with sync=1 from 1 and then 8 threads, each thread reporting every
 * acknowledged write through a pipe; the parent kills it with SIGKILL, reopens and checks
 * every acknowledged key of every thread. */
typedef struct {
    lsm_t *db;
    int threads, tid, fd;
} sk_arg_t;

static void *sk_writer(void *p)
{
    sk_arg_t *a = p;
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    lsm_writeoptions_set_sync(wo, 1);
    char *err = NULL;
    for (int i = 0;; i++) {
        char k[32], v[64];
        snprintf(k, sizeof(k), "t%d-%d-%08d", a->threads, a->tid, i);
        snprintf(v, sizeof(v), "val-%d-%d", a->tid, i);
        lsm_put(a->db, wo, k, strlen(k), v, strlen(v), &err);
        if (err)
            _exit(4);
        uint32_t msg = ((uint32_t)a->tid << 24) | (uint32_t)i; /* atomic pipe write */
        if (write(a->fd, &msg, sizeof(msg)) != sizeof(msg))
            _exit(5);
    }
    return NULL;
}

static void test_sigkill_recovery(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 8; threads *= 8) {
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(pfd[0]);
            lsm_options_t *o = default_opts();
            lsm_options_set_write_buffer_size(o, 256 << 10);
            char *err = NULL;
            lsm_t *db = lsm_open(o, g_dir, &err);
            if (!db)
                _exit(3);
            sk_arg_t args[8];
            pthread_t th[8];
            for (int t = 0; t < threads; t++) {
                args[t] = (sk_arg_t){db, threads, t, pfd[1]};
                pthread_create(&th[t], NULL, sk_writer, &args[t]);
            }
            pthread_join(th[0], NULL); /* never returns: the parent kills us */
            _exit(6);
        }
        close(pfd[1]);
        int last[8];
        for (int t = 0; t < 8; t++)
            last[t] = -1;
        uint32_t msg;
        int total = 0;
        while (total < 400 && read(pfd[0], &msg, sizeof(msg)) == sizeof(msg)) {
            last[msg >> 24] = (int)(msg & 0xffffff);
            total++;
        }
        kill(pid, SIGKILL);
        while (read(pfd[0], &msg, sizeof(msg)) == sizeof(msg))
            last[msg >> 24] = (int)(msg & 0xffffff);
        close(pfd[0]);
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status));
        lsm_options_t *o = default_opts();
        lsm_t *db = open_db(o);
        for (int t = 0; t < threads; t++) {
            if (threads > 1)
                assert_true(last[t] >= 0); /* every thread got writes in */
            for (int i = 0; i <= last[t]; i++) {
                char k[32], v[64];
                snprintf(k, sizeof(k), "t%d-%d-%08d", threads, t, i);
                snprintf(v, sizeof(v), "val-%d-%d", t, i);
                assert_get(db, NULL, k, v);
            }
        }
        lsm_close(db);
        lsm_options_destroy(o);
    }
}

/* ---- concurrent writers ---- */

typedef struct {
    lsm_t *db;
    int id, n;
} writer_arg_t;

static void *writer_main(void *p)
{
    writer_arg_t *a = p;
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    lsm_writebatch_t *b = lsm_writebatch_create();
    char *err = NULL;
    for (int i = 0; i < a->n; i++) {
        char k[32], v[32];
        snprintf(k, sizeof(k), "w%02d-%06d", a->id, i);
        snprintf(v, sizeof(v), "%d-%d", a->id, i);
        if (i % 10 == 9) {
            lsm_writebatch_clear(b);
            lsm_writebatch_put(b, k, strlen(k), v, strlen(v));
            lsm_writebatch_delete(b, "nonexistent", 11);
            lsm_write(a->db, wo, b, &err);
        } else if (i % 10 == 5) {
            lsm_put(a->db, wo, k, strlen(k), "gone", 4, &err);
            if (!err)
                lsm_delete(a->db, wo, k, strlen(k), &err);
        } else {
            lsm_put(a->db, wo, k, strlen(k), v, strlen(v), &err);
        }
        if (err)
            break;
    }
    lsm_writebatch_destroy(b);
    lsm_writeoptions_destroy(wo);
    return err;
}

static void test_concurrent_writers(void **state)
{
    (void)state;
    for (int combo = 0; combo < 4; combo++) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s/*", g_dir);
        assert_int_equal(system(cmd), 0);
        lsm_options_t *o = default_opts();
        lsm_options_set_allow_concurrent_memtable_write(o, combo & 1);
        lsm_options_set_enable_pipelined_write(o, (combo >> 1) & 1);
        lsm_options_set_write_buffer_size(o, 256 << 10); /* force switches and flushes */
        lsm_t *db = open_db(o);
        enum { T = 8, N = 2000 };
        pthread_t th[T];
        writer_arg_t args[T];
        for (int t = 0; t < T; t++) {
            args[t] = (writer_arg_t){db, t, N};
            pthread_create(&th[t], NULL, writer_main, &args[t]);
        }
        for (int t = 0; t < T; t++) {
            void *r;
            pthread_join(th[t], &r);
            if (r)
                fail_msg("writer %d: %s", t, (char *)r);
        }
        for (int pass = 0; pass < 2; pass++) {
            for (int t = 0; t < T; t++) {
                for (int i = 0; i < N; i++) {
                    char k[32], v[32];
                    snprintf(k, sizeof(k), "w%02d-%06d", t, i);
                    snprintf(v, sizeof(v), "%d-%d", t, i);
                    assert_get(db, NULL, k, i % 10 == 5 ? NULL : v);
                }
            }
            lsm_close(db);
            db = open_db(o);
        }
        lsm_close(db);
        lsm_options_destroy(o);
    }
}

/* ---- randomized model test ---- */

enum { NKEYS = 3000 };
typedef struct {
    char *val[NKEYS];
} model_t;

static void model_set(model_t *m, int i, const char *v)
{
    free(m->val[i]);
    m->val[i] = v ? strdup(v) : NULL;
}

static void key_of(int i, char *k) { sprintf(k, "mk%05d", i); }

static void check_model(lsm_t *db, model_t *m, rnd_t *r)
{
    char k[16];
    for (int n = 0; n < 300; n++) {
        int i = (int)rnd_uniform(r, NKEYS);
        key_of(i, k);
        assert_get(db, NULL, k, m->val[i]);
    }
    /* full scan, forward and backward */
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_iterator_t *it = lsm_create_iterator(db, ro);
    int i = 0;
    for (lsm_iter_seek_to_first(it); lsm_iter_valid(it); lsm_iter_next(it)) {
        while (i < NKEYS && !m->val[i])
            i++;
        assert_true(i < NKEYS);
        key_of(i, k);
        size_t kl, vl;
        const char *kk = lsm_iter_key(it, &kl);
        const char *vv = lsm_iter_value(it, &vl);
        if (kl != strlen(k) || memcmp(kk, k, kl) != 0)
            fail_msg("scan: want key %s got %.*s", k, (int)kl, kk);
        assert_int_equal(vl, strlen(m->val[i]));
        assert_memory_equal(vv, m->val[i], vl);
        i++;
    }
    while (i < NKEYS && !m->val[i])
        i++;
    assert_int_equal(i, NKEYS);
    char *err = NULL;
    lsm_iter_get_error(it, &err);
    assert_null(err);
    i = NKEYS - 1;
    for (lsm_iter_seek_to_last(it); lsm_iter_valid(it); lsm_iter_prev(it)) {
        while (i >= 0 && !m->val[i])
            i--;
        assert_true(i >= 0);
        key_of(i, k);
        size_t kl;
        assert_memory_equal(lsm_iter_key(it, &kl), k, strlen(k));
        i--;
    }
    while (i >= 0 && !m->val[i])
        i--;
    assert_int_equal(i, -1);
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
}

static void model_run(int partition_prefix_len)
{
    uint64_t seed = getenv("LSM_SEED") ? strtoull(getenv("LSM_SEED"), NULL, 0) : 12345;
    printf("model seed %llu\n", (unsigned long long)seed);
    rnd_t r;
    rnd_seed(&r, seed);
    model_t m;
    memset(&m, 0, sizeof(m));
    lsm_options_t *o = default_opts();
    lsm_options_set_write_buffer_size(o, 64 << 10);
    lsm_options_set_level0_file_num_compaction_trigger(o, 2);
    lsm_options_set_max_bytes_for_level_base(o, 256 << 10);
    lsm_options_set_target_file_size_base(o, 64 << 10);
    lsm_options_set_sst_partition_prefix_len(o, partition_prefix_len);
    lsm_t *db = open_db(o);
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    char k[16], k2[16], v[200];
    char *err = NULL;
    const lsm_snapshot_t *snap = NULL;
    model_t snapm;
    memset(&snapm, 0, sizeof(snapm));
    for (int op = 0; op < 40000; op++) {
        int what = (int)rnd_uniform(&r, 1000);
        int i = (int)rnd_uniform(&r, NKEYS);
        key_of(i, k);
        if (what < 600) {
            int len = (int)rnd_uniform(&r, 150);
            for (int j = 0; j < len; j++)
                v[j] = (char)('a' + rnd_uniform(&r, 26));
            v[len] = 0;
            lsm_put(db, wo, k, strlen(k), v, (size_t)len, &err);
            model_set(&m, i, v);
        } else if (what < 850) {
            lsm_delete(db, wo, k, strlen(k), &err);
            model_set(&m, i, NULL);
        } else if (what < 870) {
            int j = i + (int)rnd_uniform(&r, 60);
            if (j > NKEYS)
                j = NKEYS;
            key_of(j, k2);
            lsm_delete_range(db, wo, k, strlen(k), k2, strlen(k2), &err);
            for (int x = i; x < j; x++)
                model_set(&m, x, NULL);
        } else if (what < 990) {
            lsm_writebatch_t *b = lsm_writebatch_create();
            int n = 1 + (int)rnd_uniform(&r, 10);
            for (int x = 0; x < n; x++) {
                int y = (int)rnd_uniform(&r, NKEYS);
                key_of(y, k2);
                if (rnd_one_in(&r, 3)) {
                    lsm_writebatch_delete(b, k2, strlen(k2));
                    model_set(&m, y, NULL);
                } else {
                    snprintf(v, sizeof(v), "batch-%d-%d", op, x);
                    lsm_writebatch_put(b, k2, strlen(k2), v, strlen(v));
                    model_set(&m, y, v);
                }
            }
            lsm_write(db, wo, b, &err);
            lsm_writebatch_destroy(b);
        } else if (what < 993) {
            lsm_close(db);
            db = open_db(o);
            if (snap) { /* snapshots do not survive a reopen */
                snap = NULL;
                for (int x = 0; x < NKEYS; x++)
                    model_set(&snapm, x, NULL);
            }
        } else if (what < 995) {
            lsm_flush(db, NULL, &err);
        } else if (what < 997) {
            int j = i + (int)rnd_uniform(&r, 1000);
            key_of(j, k2);
            lsm_compact_range(db, k, strlen(k), k2, strlen(k2), &err);
        } else {
            if (snap) {
                for (int x = 0; x < NKEYS; x++) {
                    key_of(x, k2);
                    assert_get(db, snap, k2, snapm.val[x]);
                }
                lsm_release_snapshot(db, snap);
            }
            snap = lsm_create_snapshot(db);
            for (int x = 0; x < NKEYS; x++)
                model_set(&snapm, x, m.val[x]);
        }
        if (err)
            fail_msg("op %d: %s", op, err);
        if (op % 5000 == 4999)
            check_model(db, &m, &r);
    }
    check_model(db, &m, &r);
    lsm_compact_range(db, NULL, 0, NULL, 0, &err);
    assert_null(err);
    check_model(db, &m, &r);
    if (snap)
        lsm_release_snapshot(db, snap);
    lsm_close(db);
    db = open_db(o);
    check_model(db, &m, &r);
    lsm_verify_checksum(db, &err);
    assert_null(err);
    lsm_close(db);
    for (int x = 0; x < NKEYS; x++) {
        free(m.val[x]);
        free(snapm.val[x]);
    }
    lsm_writeoptions_destroy(wo);
    lsm_options_destroy(o);
}

static void test_model(void **state)
{
    (void)state;
    model_run(0);
}

/* The same history with flush and compaction outputs cut at every change of the first four
 * key bytes ("mk00", "mk01", "mk02"; range deletions cross those boundaries): the
 * partitioner must not change what is read. */
static void test_model_partitioned(void **state)
{
    (void)state;
    model_run(4);
}

/* mmap_reads on (the default): gets and a scan of flushed data read their blocks from the
 * mapping, none through the block cache; off: all through the block cache. Same answers. */
static void test_mmap_reads_option(void **state)
{
    if (!MAPGUARD_SUPPORTED) { /* TSan build: tables read with pread (mapguard.h) */
        print_message("skipped: no guarded mapped reads in this build\n");
        skip();
    }
    for (int on = 1; on >= 0; on--) {
        teardown(state);
        assert_int_equal(setup(state), 0);
        lsm_options_t *o = default_opts();
        if (!on)
            lsm_options_set_mmap_reads(o, 0);
        lsm_t *db = open_db(o);
        char k[32], v[64];
        for (int i = 0; i < 3000; i++) {
            snprintf(k, sizeof(k), "key%06d", i);
            snprintf(v, sizeof(v), "value-%d-%0*d", i, 40, i);
            put(db, k, v);
        }
        char *err = NULL;
        lsm_flush(db, NULL, &err);
        assert_null(err);
        for (int i = 0; i < 3000; i += 3) {
            snprintf(k, sizeof(k), "key%06d", i);
            snprintf(v, sizeof(v), "value-%d-%0*d", i, 40, i);
            assert_get(db, NULL, k, v);
        }
        assert_get(db, NULL, "key999999", NULL);
        lsm_readoptions_t *ro = lsm_readoptions_create();
        lsm_iterator_t *it = lsm_create_iterator(db, ro);
        int n = 0;
        for (lsm_iter_seek_to_first(it); lsm_iter_valid(it); lsm_iter_next(it))
            n++;
        assert_int_equal(n, 3000);
        lsm_iter_destroy(it);
        lsm_readoptions_destroy(ro);
        uint64_t mapped = tu_stat(db, "blocks.mapped-reads"), miss = tu_stat(db, "block-cache.misses");
        if (on) {
            assert_true(mapped >= 1000 / 30);
            assert_int_equal(miss, 0);
        } else {
            assert_int_equal(mapped, 0);
            assert_true(miss > 0);
        }
        lsm_close(db);
        lsm_options_destroy(o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmap_reads_option, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_and_iterate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_stores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_partitioned, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
