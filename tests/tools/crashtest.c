/*
 * crashtest.c - crash consistency of the engine, in the manner of RocksDB's db_crashtest.
 *
 *   crashtest --dir DIR [--ack FILE] [--seed S] [--kill-rounds N] [--cut-rounds N]
 *             [--duration SECS] [--threads T] [-v]
 *
 * DIR may be a RADOS store (rados://POOL/NAME, kill rounds only: a power cut rewrites a
 * local folder); FILE, where acknowledgements are logged, is then a local path.
 *
 * Rounds run on one store, in a seeded order of two kinds:
 *   kill  a forked child opens the store and runs T writer threads; the parent SIGKILLs it
 *         at a random moment (possibly during open/recovery).
 *   cut   the writers run in this process on a fault_env (tests/crash/fault_env.h); at a
 *         random moment the power "goes" (freeze), the threads stop, the DB is closed and
 *         the directory is rewritten to what a power cut leaves (cut mode chosen per round).
 * After each round the store is reopened (plain env) and checked:
 *   (a) durability: in a kill round every acknowledged write is there (a write is handed
 *       to the kernel before it is acknowledged); after a power cut every write
 *       acknowledged as synced (sync write option, 1 in 8) is there. "There" may mean
 *       superseded by a later write of the same thread.
 *   (b) per thread, the store holds exactly the state after some prefix of that thread's
 *       history, between the durability bar and the last op attempted;
 *   (c) lsm_verify_checksum passes; a forward and a backward scan see the same keys, each
 *       value well formed, and lsm_get of every key agrees with the scan.
 *
 * Checkable scheme: thread t owns keys "t<t>.<jjjj>" (NKEYS of them). Its i-th op in round r
 * has counter c = r << 32 | i and is a pure function of (seed, r, t, i): a put, a delete,
 * a delete_range over its own keys, or a batch of 2..6 of those. A value names its key, c
 * and its index in the batch, plus deterministic filler, so the checker can regenerate
 * everything: it replays the thread's ops from the state verified after the previous round
 * and looks for a prefix whose state equals what the store holds.
 *
 * Acknowledgements go to FILE, default DIR.ack (O_APPEND, one 16-byte record per acknowledged op,
 * written after the op returns). The power-cut rounds keep them in memory, and count an op
 * as acknowledged only if it returned before the freeze.
 *
 * Exit status 0 when every round verified, 1 on a violation (details on stderr), 2 on
 * usage or set-up errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db/options.h"
#include "lsm.h"

#include "../crash/fault_env.c"

#define MAX_THREADS 8
#define NKEYS 128
#define MAX_SUBS 6
#define MAX_VALUE 512

/* ---- the deterministic workload ---- */

typedef struct {
    char type; /* 'P' put, 'D' delete, 'R' delete range [a, b) */
    int a, b;
} subop_t;

typedef struct {
    int n;       /* sub-ops; n > 1 or batch = 1: one lsm_write */
    int batch;
    int sync;
    subop_t s[MAX_SUBS];
} op_t;

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void gen_sub(uint64_t *h, subop_t *s, int kind)
{
    *h = mix64(*h);
    s->a = (int)(*h % NKEYS);
    if (kind < 60) {
        s->type = 'P';
    } else if (kind < 85) {
        s->type = 'D';
    } else {
        s->type = 'R';
        s->b = s->a + 1 + (int)((*h >> 20) % 16);
        if (s->b > NKEYS)
            s->b = NKEYS;
    }
}

static void gen_op(uint64_t seed, uint32_t round, int tid, uint32_t i, op_t *op)
{
    uint64_t h = mix64(seed ^ mix64(((uint64_t)round << 40) ^ ((uint64_t)tid << 32) ^ i));
    memset(op, 0, sizeof(*op));
    op->sync = (h & 7) == 0;
    int r = (int)((h >> 8) % 100);
    if (r < 45) {
        op->n = 1;
        gen_sub(&h, &op->s[0], 0);
    } else if (r < 60) {
        op->n = 1;
        gen_sub(&h, &op->s[0], 70);
    } else if (r < 70) {
        op->n = 1;
        gen_sub(&h, &op->s[0], 90);
    } else {
        op->batch = 1;
        op->n = 2 + (int)((h >> 16) % (MAX_SUBS - 1));
        for (int k = 0; k < op->n; k++) {
            h = mix64(h);
            gen_sub(&h, &op->s[k], (int)(h % 100));
        }
    }
}

static int make_key(char *out, int tid, int j) { return sprintf(out, "t%d.%04d", tid, j); }

/* The value a put of key j by op c (sub-op s) writes. */
static size_t make_value(char *out, int tid, int j, uint64_t c, int s)
{
    int n = sprintf(out, "t%d.%04d c%" PRIu64 " s%d |", tid, j, c, s);
    uint64_t h = mix64(c * 31 + (uint64_t)s * 7 + (uint64_t)j);
    size_t fill = h % 400;
    for (size_t k = 0; k < fill; k++) {
        h = mix64(h);
        out[n + k] = (char)('a' + h % 26);
    }
    return (size_t)n + fill;
}

/* ---- per-thread state as the checker sees it ---- */

typedef struct {
    uint64_t c; /* counter of the op that wrote it; 0 with present = 0 */
    int s;
    int present;
} slot_t;

static int slot_eq(const slot_t *x, const slot_t *y)
{
    if (x->present != y->present)
        return 0;
    return !x->present || (x->c == y->c && x->s == y->s);
}

/* ---- configuration ---- */

typedef struct {
    const char *dir;
    char ack_path[4200];
    uint64_t seed;
    int threads;
    int verbose;
} cfg_t;

static void set_options(lsm_options_t *o, uint64_t seed, uint32_t round)
{
    uint64_t h = mix64(seed ^ ((uint64_t)round * 0x51ed27));
    lsm_options_set_create_if_missing(o, 1);
    lsm_options_set_write_buffer_size(o, 32 * 1024 + (h % 4) * 32 * 1024);
    lsm_options_set_max_write_buffer_number(o, 2 + (int)((h >> 4) % 3));
    lsm_options_set_level0_file_num_compaction_trigger(o, 2 + (int)((h >> 8) % 3));
    lsm_options_set_level0_slowdown_writes_trigger(o, 8);
    lsm_options_set_level0_stop_writes_trigger(o, 12);
    lsm_options_set_max_bytes_for_level_base(o, 256 * 1024);
    lsm_options_set_max_bytes_for_level_multiplier(o, 4);
    lsm_options_set_target_file_size_base(o, 64 * 1024);
    lsm_options_set_num_levels(o, 4);
    lsm_options_set_enable_pipelined_write(o, (h >> 12) & 1);
    lsm_options_set_allow_concurrent_memtable_write(o, (h >> 13) & 1);
    lsm_options_set_compression(o, (h >> 14) & 1 ? lsm_zlib_compression : lsm_no_compression);
    lsm_options_set_block_size(o, 1024 << ((h >> 16) % 3));
    lsm_options_set_block_cache_size(o, (h >> 18) & 1 ? 256 * 1024 : 0);
}

/* ---- writers ---- */

typedef struct {
    uint32_t tid;
    uint32_t flags; /* 1 = synced */
    uint64_t c;
} ack_t;

typedef struct writer_ctx {
    lsm_t *db;
    const cfg_t *cfg;
    uint32_t round;
    int tid;
    int ack_fd;                /* kill rounds: the side channel */
    fault_env_t *fe;           /* cut rounds: stop at the freeze */
    _Atomic int *stop;
    uint64_t acked, synced;    /* cut rounds: last i acknowledged (synced) before the freeze */
    uint64_t done;
    char err[256];
} writer_ctx_t;

static char *do_op(lsm_t *db, lsm_writeoptions_t *wo, int tid, uint64_t c, const op_t *op)
{
    char *err = NULL;
    char k1[32], k2[32], v[MAX_VALUE];
    if (!op->batch) {
        const subop_t *s = &op->s[0];
        size_t kl = (size_t)make_key(k1, tid, s->a);
        if (s->type == 'P') {
            size_t vl = make_value(v, tid, s->a, c, 0);
            lsm_put(db, wo, k1, kl, v, vl, &err);
        } else if (s->type == 'D') {
            lsm_delete(db, wo, k1, kl, &err);
        } else {
            size_t kl2 = (size_t)make_key(k2, tid, s->b);
            lsm_delete_range(db, wo, k1, kl, k2, kl2, &err);
        }
        return err;
    }
    lsm_writebatch_t *b = lsm_writebatch_create();
    for (int k = 0; k < op->n; k++) {
        const subop_t *s = &op->s[k];
        size_t kl = (size_t)make_key(k1, tid, s->a);
        if (s->type == 'P') {
            size_t vl = make_value(v, tid, s->a, c, k);
            lsm_writebatch_put(b, k1, kl, v, vl);
        } else if (s->type == 'D') {
            lsm_writebatch_delete(b, k1, kl);
        } else {
            size_t kl2 = (size_t)make_key(k2, tid, s->b);
            lsm_writebatch_delete_range(b, k1, kl, k2, kl2);
        }
    }
    lsm_write(db, wo, b, &err);
    lsm_writebatch_destroy(b);
    return err;
}

static void *writer_main(void *arg)
{
    writer_ctx_t *w = arg;
    lsm_writeoptions_t *wo_sync = lsm_writeoptions_create(), *wo = lsm_writeoptions_create();
    lsm_writeoptions_set_sync(wo_sync, 1);
    for (uint32_t i = 1; !atomic_load(w->stop); i++) {
        op_t op;
        gen_op(w->cfg->seed, w->round, w->tid, i, &op);
        uint64_t c = ((uint64_t)w->round << 32) | i;
        char *err = do_op(w->db, op.sync ? wo_sync : wo, w->tid, c, &op);
        if (err) {
            snprintf(w->err, sizeof(w->err), "thread %d op %u: %s", w->tid, i, err);
            lsm_free(err);
            break;
        }
        if (w->fe) {
            if (fault_env_frozen(w->fe))
                break; /* returned after the power went: never acknowledged */
            w->acked = i;
            if (op.sync)
                w->synced = i;
        } else {
            ack_t a = {(uint32_t)w->tid, (uint32_t)op.sync, c};
            if (write(w->ack_fd, &a, sizeof(a)) != (ssize_t)sizeof(a)) {
                snprintf(w->err, sizeof(w->err), "ack log: %s", strerror(errno));
                break;
            }
        }
        w->done++;
    }
    lsm_writeoptions_destroy(wo);
    lsm_writeoptions_destroy(wo_sync);
    return NULL;
}

/* lsm_open, waiting (up to 60 s) while the store is locked by a killed writer: a RADOS
 * store's lock outlives its holder until the lease runs out (a local lock dies with the
 * process, so locally this is one plain open). */
static lsm_t *open_store(lsm_options_t *o, const char *dir, char **err)
{
    for (int i = 0;; i++) {
        lsm_t *db = lsm_open(o, dir, err);
        if (db || !*err || !strstr(*err, "is in use") || i >= 600)
            return db;
        lsm_free(*err);
        *err = NULL;
        usleep(100 * 1000);
    }
}

/* The child of a kill round: opens, writes until killed. Never returns. */
static void child_main(const cfg_t *cfg, uint32_t round)
{
    int fd = open(cfg->ack_path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "child: %s: %s\n", cfg->ack_path, strerror(errno));
        _exit(2);
    }
    lsm_options_t *o = lsm_options_create();
    set_options(o, cfg->seed, round);
    char *err = NULL;
    lsm_t *db = open_store(o, cfg->dir, &err);
    if (err) {
        fprintf(stderr, "child: open: %s\n", err);
        _exit(3);
    }
    _Atomic int stop = 0;
    writer_ctx_t w[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    for (int t = 0; t < cfg->threads; t++) {
        memset(&w[t], 0, sizeof(w[t]));
        w[t] = (writer_ctx_t){.db = db, .cfg = cfg, .round = round, .tid = t, .ack_fd = fd,
                              .stop = &stop};
        pthread_create(&th[t], NULL, writer_main, &w[t]);
    }
    for (int t = 0; t < cfg->threads; t++) {
        pthread_join(th[t], NULL);
        if (w[t].err[0]) {
            fprintf(stderr, "child: %s\n", w[t].err);
            _exit(4);
        }
    }
    _exit(5); /* writers never stop on their own */
}

/* ---- verification ---- */

typedef struct {
    slot_t model[MAX_THREADS][NKEYS]; /* verified state after the last round */
    uint64_t kill_rounds, cut_rounds, ops_checked, acked_lost_checks;
    uint64_t cut_modes[FE_CUT_MODES];
    uint64_t files_removed, files_restored, bytes_dropped, bytes_mangled;
} state_t;

/* Parses a value written by make_value for key (tid, j); 0 if it is exactly that. */
static int parse_value(const char *v, size_t vl, int tid, int j, slot_t *out)
{
    char buf[MAX_VALUE + 1];
    if (vl > MAX_VALUE)
        return -1;
    memcpy(buf, v, vl);
    buf[vl] = 0;
    int t2, j2, s;
    uint64_t c;
    if (sscanf(buf, "t%d.%d c%" SCNu64 " s%d |", &t2, &j2, &c, &s) != 4 || t2 != tid ||
        j2 != j || s < 0 || s >= MAX_SUBS)
        return -1;
    char want[MAX_VALUE];
    size_t wl = make_value(want, tid, j, c, s);
    if (wl != vl || memcmp(want, v, vl) != 0)
        return -1;
    out->present = 1;
    out->c = c;
    out->s = s;
    return 0;
}

static int parse_key(const char *k, size_t kl, int threads, int *tid, int *j)
{
    if (kl != 7 || k[0] != 't' || k[2] != '.')
        return -1;
    *tid = k[1] - '0';
    *j = 0;
    for (int i = 3; i < 7; i++) {
        if (k[i] < '0' || k[i] > '9')
            return -1;
        *j = *j * 10 + (k[i] - '0');
    }
    return (*tid >= 0 && *tid < threads && *j < NKEYS) ? 0 : -1;
}

/* Reads the whole store into got[][] with checks (c). 0 or -1. */
static int read_store(lsm_t *db, const cfg_t *cfg, slot_t got[MAX_THREADS][NKEYS])
{
    memset(got, 0, sizeof(slot_t) * MAX_THREADS * NKEYS);
    char *err = NULL;
    lsm_verify_checksum(db, &err);
    if (err) {
        fprintf(stderr, "FAIL: verify_checksum: %s\n", err);
        lsm_free(err);
        return -1;
    }
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_iterator_t *it = lsm_create_iterator(db, ro);
    int n_fwd = 0, rc = 0;
    for (lsm_iter_seek_to_first(it); lsm_iter_valid(it) && rc == 0; lsm_iter_next(it)) {
        size_t kl, vl;
        const char *k = lsm_iter_key(it, &kl), *v = lsm_iter_value(it, &vl);
        int tid, j;
        if (parse_key(k, kl, cfg->threads, &tid, &j) < 0 ||
            parse_value(v, vl, tid, j, &got[tid][j]) < 0) {
            fprintf(stderr, "FAIL: scan: bad entry %.*s = %.*s\n", (int)kl, k,
                    (int)(vl > 60 ? 60 : vl), v);
            rc = -1;
        }
        n_fwd++;
    }
    lsm_iter_get_error(it, &err);
    int n_back = 0;
    if (!err && rc == 0) {
        char prev[16] = "";
        for (lsm_iter_seek_to_last(it); lsm_iter_valid(it); lsm_iter_prev(it)) {
            size_t kl;
            const char *k = lsm_iter_key(it, &kl);
            if (prev[0] && (kl != 7 || memcmp(k, prev, 7) >= 0)) {
                fprintf(stderr, "FAIL: backward scan out of order at %.*s\n", (int)kl, k);
                rc = -1;
                break;
            }
            if (kl == 7) {
                memcpy(prev, k, 7);
                prev[7] = 0;
            }
            n_back++;
        }
        lsm_iter_get_error(it, &err);
    }
    lsm_iter_destroy(it);
    if (err) {
        fprintf(stderr, "FAIL: iterator: %s\n", err);
        lsm_free(err);
        rc = -1;
    }
    if (rc == 0 && n_back != n_fwd) {
        fprintf(stderr, "FAIL: forward scan saw %d keys, backward %d\n", n_fwd, n_back);
        rc = -1;
    }
    for (int t = 0; t < cfg->threads && rc == 0; t++) {
        for (int j = 0; j < NKEYS && rc == 0; j++) {
            char k[32];
            size_t kl = (size_t)make_key(k, t, j), vl;
            char *v = lsm_get(db, ro, k, kl, &vl, &err);
            slot_t s = {0, 0, 0};
            if (err) {
                fprintf(stderr, "FAIL: get %s: %s\n", k, err);
                lsm_free(err);
                rc = -1;
            } else if (v && parse_value(v, vl, t, j, &s) < 0) {
                fprintf(stderr, "FAIL: get %s: malformed value\n", k);
                rc = -1;
            } else if (!slot_eq(&s, &got[t][j])) {
                fprintf(stderr, "FAIL: get %s disagrees with the scan (%s vs %s)\n", k,
                        v ? "present" : "absent", got[t][j].present ? "present" : "absent");
                rc = -1;
            }
            lsm_free(v);
        }
    }
    lsm_readoptions_destroy(ro);
    return rc;
}

static void apply_sub(slot_t *m, const slot_t *got, const subop_t *s, uint64_t c, int sub,
                      long *mismatch)
{
    int lo = s->a, hi = s->type == 'R' ? s->b : s->a + 1;
    for (int j = lo; j < hi; j++) {
        int before = slot_eq(&m[j], &got[j]);
        if (s->type == 'P')
            m[j] = (slot_t){c, sub, 1};
        else
            m[j] = (slot_t){0, 0, 0};
        int after = slot_eq(&m[j], &got[j]);
        *mismatch += before - after;
    }
}

/* (a) + (b) for one thread: the store must hold the state after ops 1..k of this round
 * for some k in [lo, hi]. On success the model becomes that state. */
static int check_thread(state_t *S, const cfg_t *cfg, uint32_t round, int t,
                        slot_t got[NKEYS], uint64_t lo, uint64_t hi, const char *bar)
{
    slot_t m[NKEYS];
    memcpy(m, S->model[t], sizeof(m));
    long mismatch = 0;
    for (int j = 0; j < NKEYS; j++)
        mismatch += !slot_eq(&m[j], &got[j]);
    long best = mismatch;
    uint64_t best_k = 0;
    for (uint64_t k = 0;; k++) {
        if (k > 0) {
            op_t op;
            gen_op(cfg->seed, round, t, (uint32_t)k, &op);
            uint64_t c = ((uint64_t)round << 32) | k;
            for (int s = 0; s < op.n; s++)
                apply_sub(m, got, &op.s[s], c, op.batch ? s : 0, &mismatch);
        }
        if (mismatch < best || (mismatch == best && k <= lo)) {
            best = mismatch;
            best_k = k;
        }
        if (mismatch == 0 && k >= lo) {
            memcpy(S->model[t], m, sizeof(m));
            S->ops_checked += k;
            return 0;
        }
        if (k >= hi)
            break;
    }
    fprintf(stderr, "FAIL: round %u thread %d: no prefix of its history in [%" PRIu64
            ", %" PRIu64 "] (%s) matches the store; closest: after op %" PRIu64
            " with %ld keys differing\n", round, t, lo, hi, bar, best_k, best);
    /* Name the first differing key at the closest prefix. */
    memcpy(m, S->model[t], sizeof(m));
    for (uint64_t k = 1; k <= best_k; k++) {
        op_t op;
        gen_op(cfg->seed, round, t, (uint32_t)k, &op);
        long dummy = 0;
        for (int s = 0; s < op.n; s++)
            apply_sub(m, got, &op.s[s], ((uint64_t)round << 32) | k, op.batch ? s : 0, &dummy);
    }
    for (int j = 0; j < NKEYS; j++) {
        if (!slot_eq(&m[j], &got[j])) {
            fprintf(stderr, "  key t%d.%04d: expected %s c=%" PRIu64 ".%u s=%d, store has %s "
                    "c=%" PRIu64 ".%u s=%d\n", t, j, m[j].present ? "value" : "absent",
                    m[j].c >> 32, (unsigned)m[j].c, m[j].s, got[j].present ? "value" : "absent",
                    got[j].c >> 32, (unsigned)got[j].c, got[j].s);
            break;
        }
    }
    return -1;
}

/* Reopens (plain env), verifies (c) and, per thread, (a) + (b). */
static int verify(state_t *S, const cfg_t *cfg, uint32_t round, const uint64_t *lo,
                  const uint64_t *hi, const char *bar, int paranoid)
{
    lsm_options_t *o = lsm_options_create();
    set_options(o, cfg->seed, round + 1);
    lsm_options_set_paranoid_checks(o, (unsigned char)paranoid);
    char *err = NULL;
    lsm_t *db = open_store(o, cfg->dir, &err);
    lsm_options_destroy(o);
    if (err) {
        fprintf(stderr, "FAIL: round %u: reopen: %s\n", round, err);
        lsm_free(err);
        return -1;
    }
    /* A crash never leaves a live WAL cut short in its middle (wal_history.h): the open
     * must not report one, or fsck would raise a false alarm after every such crash. */
    char *gap = lsm_property_value(db, "lsm.wal-gap");
    if (gap && gap[0]) {
        fprintf(stderr, "FAIL: round %u: reopen reports a WAL cut short: %s\n", round, gap);
        lsm_free(gap);
        lsm_close(db);
        return -1;
    }
    lsm_free(gap);
    static slot_t got[MAX_THREADS][NKEYS];
    int rc = read_store(db, cfg, got);
    lsm_close(db);
    for (int t = 0; t < cfg->threads && rc == 0; t++)
        rc = check_thread(S, cfg, round, t, got[t], lo[t], hi[t], bar);
    return rc;
}

/* ---- rounds ---- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static int kill_round(state_t *S, const cfg_t *cfg, uint32_t round)
{
    uint64_t h = mix64(cfg->seed ^ (0xc0ffeeull * round));
    uint64_t delay = 20 + h % 700;
    unlink(cfg->ack_path);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0)
        child_main(cfg, round);
    sleep_ms(delay);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
        fprintf(stderr, "FAIL: round %u: the child ended by itself (status %d)\n", round, status);
        return -1;
    }
    uint64_t acked[MAX_THREADS] = {0}, lo[MAX_THREADS], hi[MAX_THREADS];
    int fd = open(cfg->ack_path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ack_t a;
        while (read(fd, &a, sizeof(a)) == (ssize_t)sizeof(a)) {
            if (a.tid < (uint32_t)cfg->threads && (a.c >> 32) == round &&
                (uint32_t)a.c > acked[a.tid])
                acked[a.tid] = (uint32_t)a.c;
        }
        close(fd);
    }
    uint64_t total = 0;
    for (int t = 0; t < cfg->threads; t++) {
        lo[t] = acked[t];      /* a process crash loses nothing handed to the kernel */
        hi[t] = acked[t] + 1;  /* at most one op in flight per thread */
        total += acked[t];
    }
    int rc = verify(S, cfg, round, lo, hi, "every acknowledged write", 1);
    S->kill_rounds++;
    if (cfg->verbose || rc)
        printf("round %u: kill after %" PRIu64 " ms, %" PRIu64 " acked ops: %s\n", round, delay,
               total, rc ? "FAILED" : "ok");
    return rc;
}

static int cut_round(state_t *S, const cfg_t *cfg, uint32_t round)
{
    uint64_t h = mix64(cfg->seed ^ (0xdeadull * round));
    uint64_t delay = 20 + h % 500;
    fe_cut_mode_t mode = (fe_cut_mode_t)((h >> 20) % FE_CUT_MODES);
    fault_env_t *fe = fault_env_new(cfg->dir);
    if (!fe)
        return -1;
    lsm_options_t *o = lsm_options_create();
    set_options(o, cfg->seed, round);
    o->env = fault_env_env(fe);
    char *err = NULL;
    lsm_t *db = open_store(o, cfg->dir, &err);
    lsm_options_destroy(o);
    if (err) {
        fprintf(stderr, "FAIL: round %u: open on the fault env: %s\n", round, err);
        lsm_free(err);
        fault_env_free(fe);
        return -1;
    }
    _Atomic int stop = 0;
    static writer_ctx_t w[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    for (int t = 0; t < cfg->threads; t++) {
        w[t] = (writer_ctx_t){.db = db, .cfg = cfg, .round = round, .tid = t, .ack_fd = -1,
                              .fe = fe, .stop = &stop};
        pthread_create(&th[t], NULL, writer_main, &w[t]);
    }
    sleep_ms(delay);
    fault_env_freeze(fe);
    atomic_store(&stop, 1);
    int rc = 0;
    for (int t = 0; t < cfg->threads; t++) {
        pthread_join(th[t], NULL);
        /* Errors after the freeze are the point; before it there must be none. */
        if (w[t].err[0] && !strstr(w[t].err, "(injected)")) {
            fprintf(stderr, "FAIL: round %u: %s\n", round, w[t].err);
            rc = -1;
        }
    }
    lsm_close(db);
    fe_cut_stats_t cs;
    if (fault_env_cut(fe, mode, h, &cs) < 0)
        rc = -1;
    fault_env_free(fe);
    if (rc)
        return rc;
    uint64_t lo[MAX_THREADS], hi[MAX_THREADS], total = 0;
    for (int t = 0; t < cfg->threads; t++) {
        lo[t] = w[t].synced;
        hi[t] = w[t].acked + 1;
        total += w[t].acked;
    }
    /* Garbage where unsynced WAL bytes were is corruption, not a torn tail: the engine
     * (like RocksDB's default) refuses it under paranoid checks; recover the prefix. */
    rc = verify(S, cfg, round, lo, hi, "every write acknowledged as synced",
                mode != FE_CUT_GARBAGE);
    S->cut_rounds++;
    S->cut_modes[mode]++;
    S->files_removed += (uint64_t)cs.files_removed;
    S->files_restored += (uint64_t)cs.files_restored;
    S->bytes_dropped += cs.bytes_dropped;
    S->bytes_mangled += cs.bytes_mangled;
    if (cfg->verbose || rc)
        printf("round %u: power cut (%s) after %" PRIu64 " ms, %" PRIu64 " acked ops: %d files "
               "kept, %d removed, %d restored, %d shortened, %" PRIu64 " bytes dropped, %" PRIu64
               " mangled: %s\n", round, fault_env_mode_name(mode), delay, total, cs.files_kept,
               cs.files_removed, cs.files_restored, cs.files_shortened, cs.bytes_dropped,
               cs.bytes_mangled, rc ? "FAILED" : "ok");
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: crashtest --dir DIR [--ack FILE] [--seed S] [--kill-rounds N] "
                    "[--cut-rounds N] [--duration SECS] [--threads T] [-v]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    cfg_t cfg = {0};
    cfg.threads = 4;
    cfg.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    long kills = 15, cuts = 10, duration = 0;
    const char *ack = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-v") == 0) {
            cfg.verbose = 1;
            continue;
        }
        if (!v)
            usage();
        if (strcmp(a, "--dir") == 0)
            cfg.dir = v;
        else if (strcmp(a, "--ack") == 0)
            ack = v;
        else if (strcmp(a, "--seed") == 0)
            cfg.seed = strtoull(v, NULL, 0);
        else if (strcmp(a, "--kill-rounds") == 0)
            kills = atol(v);
        else if (strcmp(a, "--cut-rounds") == 0)
            cuts = atol(v);
        else if (strcmp(a, "--duration") == 0)
            duration = atol(v);
        else if (strcmp(a, "--threads") == 0)
            cfg.threads = atoi(v);
        else
            usage();
        i++;
    }
    if (!cfg.dir || cfg.threads < 1 || cfg.threads > MAX_THREADS)
        usage();
    if (strncmp(cfg.dir, "rados://", 8) == 0 && (cuts > 0 || duration > 0 || !ack)) {
        fprintf(stderr, "crashtest: a RADOS store takes kill rounds only (--cut-rounds 0, "
                        "no --duration) and a local --ack FILE\n");
        return 2;
    }
    if (ack)
        snprintf(cfg.ack_path, sizeof(cfg.ack_path), "%s", ack);
    else
        snprintf(cfg.ack_path, sizeof(cfg.ack_path), "%s.ack", cfg.dir);
    printf("crashtest: seed %" PRIu64 " (rerun with --seed %" PRIu64 "), %d threads, store %s\n",
           cfg.seed, cfg.seed, cfg.threads, cfg.dir);
    fflush(stdout);

    static state_t S;
    uint64_t start = now_ms();
    int rc = 0;
    long k = 0, c = 0;
    for (uint32_t round = 1; rc == 0; round++) {
        int do_cut;
        if (duration > 0) {
            if (now_ms() - start >= (uint64_t)duration * 1000)
                break;
            do_cut = mix64(cfg.seed + round) % 3 == 0;
        } else {
            if (k >= kills && c >= cuts)
                break;
            /* Spread the power cuts among the kills. */
            do_cut = c < cuts && (k >= kills || c * kills <= k * cuts);
        }
        fflush(stdout);
        if (do_cut) {
            rc = cut_round(&S, &cfg, round);
            c++;
        } else {
            rc = kill_round(&S, &cfg, round);
            k++;
        }
        if (duration > 0 && !cfg.verbose && round % 50 == 0)
            printf("... %u rounds, %" PRIu64 " s\n", round, (now_ms() - start) / 1000);
    }
    unlink(cfg.ack_path);
    printf("crashtest: seed %" PRIu64 ": %" PRIu64 " kill rounds, %" PRIu64 " power cuts "
           "(drop %" PRIu64 ", prefix %" PRIu64 ", zeros %" PRIu64 ", garbage %" PRIu64 "; %"
           PRIu64 " files removed, %" PRIu64 " restored, %" PRIu64 " bytes dropped, %" PRIu64
           " mangled), %" PRIu64 " ops verified in %.1f s: %s\n", cfg.seed, S.kill_rounds,
           S.cut_rounds, S.cut_modes[0], S.cut_modes[1], S.cut_modes[2], S.cut_modes[3],
           S.files_removed, S.files_restored, S.bytes_dropped, S.bytes_mangled, S.ops_checked,
           (double)(now_ms() - start) / 1000.0, rc ? "FAILED" : "ok");
    return rc ? 1 : 0;
}
