/*
 * kvbench.c - db_bench-style key-value benchmark of liblsm against RocksDB and LevelDB.
 *
 * One program, three backends (lsm, rocksdb, leveldb) behind a small vtable that uses each
 * library's C API only, opened with the same options: WAL on, no compression, 64 MiB write
 * buffer, two memtables, 4 KiB blocks, the same block cache size, bloom bits per key and
 * max_open_files. Keys are 16 bytes ("%016llu" of the key index, as db_bench), values are
 * 100 fully random bytes derived from (key index, generation, seed), so that every value
 * read can be checked against the one that was last written (see kvb_value).
 *
 * Invariants the harness keeps:
 *  - gens[k] is the generation of the value key k holds in the store (0 = absent). Write
 *    benchmarks give each thread its own key range [lo, hi) so that gens[] is exact even
 *    with many writer threads; readers never write gens[]. Every value read is compared
 *    byte for byte with kvb_value(k, gens[k]) unless --verify=0.
 *  - Fill benchmarks (fillseq, fillrandom, fillbatch, filluniquerandom) start from an empty
 *    store; the others reuse the store left by the previous benchmark (as db_bench does)
 *    and, when no fill ran before them, get an untimed fillseq first. fillrandom draws its
 *    keys uniformly with repeats, as db_bench's does; filluniquerandom writes a permutation.
 *    With --reopen=1 the store is closed and reopened before each non-fill benchmark.
 *  - Only the timed loop is measured: key permutations, iterators and per-thread options
 *    are made before the start barrier, statistics are read after the threads joined.
 *  - Each repetition runs the whole benchmark list on a fresh store for every backend, with
 *    the backend order rotated per repetition; the table shows medians over repetitions.
 *  - Directories: the store of backend B lives in DIR/B; it is removed before and after use,
 *    and DIR itself is removed at the end when kvbench made it (the default /tmp dir).
 *
 * Build with -DKVBENCH_NO_LSM to leave the lsm backend out (RocksDB/LevelDB only).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <leveldb/c.h>
#include <rocksdb/c.h>

#include "util/clock.h"
#include "util/random.h"
#ifndef KVBENCH_NO_LSM
#include "lsm.h"
#endif

#define KVB_KEY_LEN 16
#define KVB_VALUE_LEN 100
#define KVB_BATCH 100
#define KVB_MAX_LIST 32
#define KVB_MAX_THREADS 1024
#define KVB_WRITE_BUFFER (64u << 20)
#define KVB_BLOCK_SIZE 4096

/* ---- configuration --------------------------------------------------------------------- */

enum {
    KVB_FILLSEQ,
    KVB_FILLRANDOM,
    KVB_OVERWRITE,
    KVB_READRANDOM,
    KVB_READSEQ,
    KVB_READREVERSE,
    KVB_SEEKRANDOM,
    KVB_DELETERANDOM,
    KVB_FILLBATCH,
    KVB_FILLUNIQUE,
    KVB_NBENCH
};

static const char *const kvb_bench_names[KVB_NBENCH] = {
    "fillseq",  "fillrandom",  "overwrite",    "readrandom", "readseq",
    "readreverse", "seekrandom", "deleterandom", "fillbatch", "filluniquerandom",
};

static int kvb_bench_is_fill(int b)
{
    return b == KVB_FILLSEQ || b == KVB_FILLRANDOM || b == KVB_FILLBATCH || b == KVB_FILLUNIQUE;
}

static int kvb_bench_writes(int b)
{
    return kvb_bench_is_fill(b) || b == KVB_OVERWRITE || b == KVB_DELETERANDOM;
}

typedef struct {
    uint64_t num, reads;
    int threads[KVB_MAX_LIST], nthreads;
    int bench[KVB_MAX_LIST], nbench;
    int backend[KVB_MAX_LIST], nbackends;
    int sync, reps, pipelined, concurrent, csv, verify, stats, max_open_files, bloom_bits;
    int reopen; /* close and reopen the store before every benchmark that is not a fill */
    size_t cache_size;
    uint64_t seed;
    const char *db;
} kvb_config_t;

/* ---- keys and values ------------------------------------------------------------------- */

static inline uint64_t kvb_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void kvb_key(char *out, uint64_t k)
{
    for (int i = KVB_KEY_LEN - 1; i >= 0; i--) {
        out[i] = (char)('0' + k % 10);
        k /= 10;
    }
}

/* Returns 0 and the key index for a well-formed 16-digit key, -1 otherwise. */
static int kvb_key_parse(const char *k, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len != KVB_KEY_LEN)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (k[i] < '0' || k[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(k[i] - '0');
    }
    *out = v;
    return 0;
}

/* The value of key k at generation gen: 100 fully random (incompressible) bytes. */
static inline void kvb_value(char *out, uint64_t seed, uint64_t k, uint8_t gen)
{
    uint64_t s = kvb_mix(seed ^ (k * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)gen << 56));
    for (int i = 0; i < KVB_VALUE_LEN; i += 8) {
        s += 0x9e3779b97f4a7c15ull;
        uint64_t z = kvb_mix(s);
        memcpy(out + i, &z, KVB_VALUE_LEN - i < 8 ? (size_t)(KVB_VALUE_LEN - i) : 8);
    }
}

/* ---- backend vtable -------------------------------------------------------------------- */

/* Counters read from a backend's statistics; a negative field means "not available". */
typedef struct {
    double writes, syncs; /* cumulative write requests and WAL syncs since open */
    double wamp;          /* (flush + compaction bytes) / bytes written, since open */
} kvb_stats_t;

/* Every function reporting failure returns nonzero and sets *err to a malloc'd message
 * (free with free()). Handles: h = open store, t = per-thread context, it = iterator. */
typedef struct {
    const char *name;
    void *(*open)(const kvb_config_t *cfg, const char *path, char **err);
    void (*close)(void *h);
    void *(*thread_begin)(void *h, int sync);
    void (*thread_end)(void *t);
    int (*put)(void *t, const char *k, size_t kl, const char *v, size_t vl, char **err);
    int (*del)(void *t, const char *k, size_t kl, char **err);
    void (*batch_put)(void *t, const char *k, size_t kl, const char *v, size_t vl);
    int (*batch_write)(void *t, char **err); /* writes the batch and clears it */
    char *(*get)(void *t, const char *k, size_t kl, size_t *vl, char **err);
    void (*free_value)(void *p);
    void *(*iter_create)(void *t);
    void (*iter_destroy)(void *it);
    void (*iter_seek)(void *it, const char *k, size_t kl);
    void (*iter_first)(void *it);
    void (*iter_last)(void *it);
    void (*iter_next)(void *it);
    void (*iter_prev)(void *it);
    int (*iter_valid)(void *it);
    const char *(*iter_key)(void *it, size_t *kl);
    const char *(*iter_value)(void *it, size_t *vl);
    int (*iter_error)(void *it, char **err);
    /* user_bytes: key+value bytes the harness wrote since open (for backends that only
     * report compaction bytes). */
    void (*stats)(void *h, uint64_t user_bytes, kvb_stats_t *out);
    const char *options_note; /* printed in the header when pipelined/concurrent are set */
} kvb_backend_t;

/* Moves a library-owned error message into a malloc'd copy. */
static int kvb_take_err(char **err, char *lib_err, void (*lib_free)(void *))
{
    if (!lib_err)
        return 0;
    if (err && !*err)
        *err = strdup(lib_err);
    lib_free(lib_err);
    return -1;
}

/* ---- lsm backend ----------------------------------------------------------------------- */
#ifndef KVBENCH_NO_LSM
/* Finds "name" at the start of a line of text followed by optional spaces and one of
 * ':' '=' ' ', and parses the number after it. Returns -1 when absent. */
static double kvb_stat_line(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p;) {
        const char *q = p;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncmp(q, name, n) == 0 && (q[n] == ':' || q[n] == '=' || q[n] == ' ')) {
            q += n;
            while (*q == ':' || *q == '=' || *q == ' ' || *q == '\t')
                q++;
            char *end;
            double v = strtod(q, &end);
            if (end != q)
                return v;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

typedef struct {
    lsm_t *db;
    lsm_options_t *opt;
} kvb_lsm_t;

typedef struct {
    kvb_lsm_t *h;
    lsm_writeoptions_t *wo;
    lsm_readoptions_t *ro;
    lsm_writebatch_t *batch;
} kvb_lsm_thr_t;

static void kvb_lsm_free(void *p) { lsm_free(p); }

static void *kvb_lsm_open(const kvb_config_t *cfg, const char *path, char **err)
{
    kvb_lsm_t *h = calloc(1, sizeof(*h));
    char *e = NULL;
    if (!h)
        return NULL;
    h->opt = lsm_options_create();
    lsm_options_set_create_if_missing(h->opt, 1);
    lsm_options_set_write_buffer_size(h->opt, KVB_WRITE_BUFFER);
    lsm_options_set_max_write_buffer_number(h->opt, 2);
    lsm_options_set_compression(h->opt, lsm_no_compression);
    lsm_options_set_block_cache_size(h->opt, cfg->cache_size);
    lsm_options_set_bloom_bits_per_key(h->opt, cfg->bloom_bits);
    lsm_options_set_block_size(h->opt, KVB_BLOCK_SIZE);
    lsm_options_set_max_open_files(h->opt, cfg->max_open_files);
    lsm_options_set_enable_pipelined_write(h->opt, (unsigned char)cfg->pipelined);
    lsm_options_set_allow_concurrent_memtable_write(h->opt, (unsigned char)cfg->concurrent);
    h->db = lsm_open(h->opt, path, &e);
    if (kvb_take_err(err, e, kvb_lsm_free) || !h->db) {
        if (err && !*err)
            *err = strdup("lsm_open returned NULL without an error");
        lsm_options_destroy(h->opt);
        free(h);
        return NULL;
    }
    return h;
}

static void kvb_lsm_close(void *hv)
{
    kvb_lsm_t *h = hv;
    lsm_close(h->db);
    lsm_options_destroy(h->opt);
    free(h);
}

static void *kvb_lsm_thread_begin(void *hv, int sync)
{
    kvb_lsm_thr_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->h = hv;
    t->wo = lsm_writeoptions_create();
    lsm_writeoptions_set_sync(t->wo, (unsigned char)sync);
    t->ro = lsm_readoptions_create();
    lsm_readoptions_set_verify_checksums(t->ro, 1);
    t->batch = lsm_writebatch_create();
    return t;
}

static void kvb_lsm_thread_end(void *tv)
{
    kvb_lsm_thr_t *t = tv;
    lsm_writeoptions_destroy(t->wo);
    lsm_readoptions_destroy(t->ro);
    lsm_writebatch_destroy(t->batch);
    free(t);
}

static int kvb_lsm_put(void *tv, const char *k, size_t kl, const char *v, size_t vl, char **err)
{
    kvb_lsm_thr_t *t = tv;
    char *e = NULL;
    lsm_put(t->h->db, t->wo, k, kl, v, vl, &e);
    return kvb_take_err(err, e, kvb_lsm_free);
}

static int kvb_lsm_del(void *tv, const char *k, size_t kl, char **err)
{
    kvb_lsm_thr_t *t = tv;
    char *e = NULL;
    lsm_delete(t->h->db, t->wo, k, kl, &e);
    return kvb_take_err(err, e, kvb_lsm_free);
}

static void kvb_lsm_batch_put(void *tv, const char *k, size_t kl, const char *v, size_t vl)
{
    kvb_lsm_thr_t *t = tv;
    lsm_writebatch_put(t->batch, k, kl, v, vl);
}

static int kvb_lsm_batch_write(void *tv, char **err)
{
    kvb_lsm_thr_t *t = tv;
    char *e = NULL;
    lsm_write(t->h->db, t->wo, t->batch, &e);
    lsm_writebatch_clear(t->batch);
    return kvb_take_err(err, e, kvb_lsm_free);
}

static char *kvb_lsm_get(void *tv, const char *k, size_t kl, size_t *vl, char **err)
{
    kvb_lsm_thr_t *t = tv;
    char *e = NULL;
    char *v = lsm_get(t->h->db, t->ro, k, kl, vl, &e);
    if (kvb_take_err(err, e, kvb_lsm_free)) {
        lsm_free(v);
        return NULL;
    }
    return v;
}

static void *kvb_lsm_iter_create(void *tv)
{
    kvb_lsm_thr_t *t = tv;
    return lsm_create_iterator(t->h->db, t->ro);
}
static void kvb_lsm_iter_destroy(void *it) { lsm_iter_destroy(it); }
static void kvb_lsm_iter_seek(void *it, const char *k, size_t kl) { lsm_iter_seek(it, k, kl); }
static void kvb_lsm_iter_first(void *it) { lsm_iter_seek_to_first(it); }
static void kvb_lsm_iter_last(void *it) { lsm_iter_seek_to_last(it); }
static void kvb_lsm_iter_next(void *it) { lsm_iter_next(it); }
static void kvb_lsm_iter_prev(void *it) { lsm_iter_prev(it); }
static int kvb_lsm_iter_valid(void *it) { return lsm_iter_valid(it); }
static const char *kvb_lsm_iter_key(void *it, size_t *kl) { return lsm_iter_key(it, kl); }
static const char *kvb_lsm_iter_value(void *it, size_t *vl) { return lsm_iter_value(it, vl); }
static int kvb_lsm_iter_error(void *it, char **err)
{
    char *e = NULL;
    lsm_iter_get_error(it, &e);
    return kvb_take_err(err, e, kvb_lsm_free);
}

/* lsm.stats carries "name: value" lines: writes, wal.syncs, flush.bytes,
 * compaction.write-bytes, user.bytes-written, write-amp. */
static void kvb_lsm_stats(void *hv, uint64_t user_bytes, kvb_stats_t *out)
{
    kvb_lsm_t *h = hv;
    char *s = lsm_property_value(h->db, "lsm.stats");
    (void)user_bytes;
    out->writes = out->syncs = out->wamp = -1;
    if (!s)
        return;
    out->writes = kvb_stat_line(s, "writes");
    out->syncs = kvb_stat_line(s, "wal.syncs");
    /* Same definition as for RocksDB: SST bytes (flush + compaction) over user bytes. The
     * "write-amp" line also counts WAL bytes, so it is only the fallback. */
    double flush = kvb_stat_line(s, "flush.bytes");
    double compact = kvb_stat_line(s, "compaction.write-bytes");
    double user = kvb_stat_line(s, "user.bytes-written");
    if (flush >= 0 && compact >= 0 && user > 0)
        out->wamp = (flush + compact) / user;
    else
        out->wamp = kvb_stat_line(s, "write-amp");
    lsm_free(s);
}

static const kvb_backend_t kvb_lsm_backend = {
    .name = "lsm",
    .open = kvb_lsm_open,
    .close = kvb_lsm_close,
    .thread_begin = kvb_lsm_thread_begin,
    .thread_end = kvb_lsm_thread_end,
    .put = kvb_lsm_put,
    .del = kvb_lsm_del,
    .batch_put = kvb_lsm_batch_put,
    .batch_write = kvb_lsm_batch_write,
    .get = kvb_lsm_get,
    .free_value = kvb_lsm_free,
    .iter_create = kvb_lsm_iter_create,
    .iter_destroy = kvb_lsm_iter_destroy,
    .iter_seek = kvb_lsm_iter_seek,
    .iter_first = kvb_lsm_iter_first,
    .iter_last = kvb_lsm_iter_last,
    .iter_next = kvb_lsm_iter_next,
    .iter_prev = kvb_lsm_iter_prev,
    .iter_valid = kvb_lsm_iter_valid,
    .iter_key = kvb_lsm_iter_key,
    .iter_value = kvb_lsm_iter_value,
    .iter_error = kvb_lsm_iter_error,
    .stats = kvb_lsm_stats,
    .options_note = NULL,
};
#endif /* KVBENCH_NO_LSM */

/* ---- rocksdb backend ------------------------------------------------------------------- */

typedef struct {
    rocksdb_t *db;
    rocksdb_options_t *opt;
    rocksdb_block_based_table_options_t *bbto;
    rocksdb_cache_t *cache;
    int stats;
} kvb_rdb_t;

typedef struct {
    kvb_rdb_t *h;
    rocksdb_writeoptions_t *wo;
    rocksdb_readoptions_t *ro;
    rocksdb_writebatch_t *batch;
} kvb_rdb_thr_t;

static void kvb_rdb_free(void *p) { rocksdb_free(p); }

static void kvb_rdb_release(kvb_rdb_t *h)
{
    if (h->db)
        rocksdb_close(h->db);
    rocksdb_options_destroy(h->opt);
    rocksdb_block_based_options_destroy(h->bbto); /* also drops its filter policy */
    if (h->cache)
        rocksdb_cache_destroy(h->cache);
    free(h);
}

static void *kvb_rdb_open(const kvb_config_t *cfg, const char *path, char **err)
{
    kvb_rdb_t *h = calloc(1, sizeof(*h));
    char *e = NULL;
    if (!h)
        return NULL;
    h->stats = cfg->stats;
    h->opt = rocksdb_options_create();
    h->bbto = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_size(h->bbto, KVB_BLOCK_SIZE);
    if (cfg->cache_size) {
        h->cache = rocksdb_cache_create_lru(cfg->cache_size);
        rocksdb_block_based_options_set_block_cache(h->bbto, h->cache);
    } else {
        rocksdb_block_based_options_set_no_block_cache(h->bbto, 1);
    }
    if (cfg->bloom_bits > 0)
        rocksdb_block_based_options_set_filter_policy(
            h->bbto, rocksdb_filterpolicy_create_bloom_full(cfg->bloom_bits));
    rocksdb_options_set_block_based_table_factory(h->opt, h->bbto);
    rocksdb_options_set_create_if_missing(h->opt, 1);
    rocksdb_options_set_write_buffer_size(h->opt, KVB_WRITE_BUFFER);
    rocksdb_options_set_max_write_buffer_number(h->opt, 2);
    rocksdb_options_set_compression(h->opt, rocksdb_no_compression);
    rocksdb_options_set_max_open_files(h->opt, cfg->max_open_files);
    rocksdb_options_set_enable_pipelined_write(h->opt, (unsigned char)cfg->pipelined);
    rocksdb_options_set_allow_concurrent_memtable_write(h->opt,
                                                        (unsigned char)cfg->concurrent);
    if (cfg->stats)
        rocksdb_options_enable_statistics(h->opt);
    h->db = rocksdb_open(h->opt, path, &e);
    if (kvb_take_err(err, e, kvb_rdb_free) || !h->db) {
        h->db = NULL;
        kvb_rdb_release(h);
        return NULL;
    }
    return h;
}

static void kvb_rdb_close(void *h) { kvb_rdb_release(h); }

static void *kvb_rdb_thread_begin(void *hv, int sync)
{
    kvb_rdb_thr_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->h = hv;
    t->wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(t->wo, (unsigned char)sync);
    t->ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_verify_checksums(t->ro, 1);
    t->batch = rocksdb_writebatch_create();
    return t;
}

static void kvb_rdb_thread_end(void *tv)
{
    kvb_rdb_thr_t *t = tv;
    rocksdb_writeoptions_destroy(t->wo);
    rocksdb_readoptions_destroy(t->ro);
    rocksdb_writebatch_destroy(t->batch);
    free(t);
}

static int kvb_rdb_put(void *tv, const char *k, size_t kl, const char *v, size_t vl, char **err)
{
    kvb_rdb_thr_t *t = tv;
    char *e = NULL;
    rocksdb_put(t->h->db, t->wo, k, kl, v, vl, &e);
    return kvb_take_err(err, e, kvb_rdb_free);
}

static int kvb_rdb_del(void *tv, const char *k, size_t kl, char **err)
{
    kvb_rdb_thr_t *t = tv;
    char *e = NULL;
    rocksdb_delete(t->h->db, t->wo, k, kl, &e);
    return kvb_take_err(err, e, kvb_rdb_free);
}

static void kvb_rdb_batch_put(void *tv, const char *k, size_t kl, const char *v, size_t vl)
{
    kvb_rdb_thr_t *t = tv;
    rocksdb_writebatch_put(t->batch, k, kl, v, vl);
}

static int kvb_rdb_batch_write(void *tv, char **err)
{
    kvb_rdb_thr_t *t = tv;
    char *e = NULL;
    rocksdb_write(t->h->db, t->wo, t->batch, &e);
    rocksdb_writebatch_clear(t->batch);
    return kvb_take_err(err, e, kvb_rdb_free);
}

static char *kvb_rdb_get(void *tv, const char *k, size_t kl, size_t *vl, char **err)
{
    kvb_rdb_thr_t *t = tv;
    char *e = NULL;
    char *v = rocksdb_get(t->h->db, t->ro, k, kl, vl, &e);
    if (kvb_take_err(err, e, kvb_rdb_free)) {
        rocksdb_free(v);
        return NULL;
    }
    return v;
}

static void *kvb_rdb_iter_create(void *tv)
{
    kvb_rdb_thr_t *t = tv;
    return rocksdb_create_iterator(t->h->db, t->ro);
}
static void kvb_rdb_iter_destroy(void *it) { rocksdb_iter_destroy(it); }
static void kvb_rdb_iter_seek(void *it, const char *k, size_t kl) { rocksdb_iter_seek(it, k, kl); }
static void kvb_rdb_iter_first(void *it) { rocksdb_iter_seek_to_first(it); }
static void kvb_rdb_iter_last(void *it) { rocksdb_iter_seek_to_last(it); }
static void kvb_rdb_iter_next(void *it) { rocksdb_iter_next(it); }
static void kvb_rdb_iter_prev(void *it) { rocksdb_iter_prev(it); }
static int kvb_rdb_iter_valid(void *it) { return rocksdb_iter_valid(it); }
static const char *kvb_rdb_iter_key(void *it, size_t *kl) { return rocksdb_iter_key(it, kl); }
static const char *kvb_rdb_iter_value(void *it, size_t *vl) { return rocksdb_iter_value(it, vl); }
static int kvb_rdb_iter_error(void *it, char **err)
{
    char *e = NULL;
    rocksdb_iter_get_error(it, &e);
    return kvb_take_err(err, e, kvb_rdb_free);
}

/* Reads "name COUNT : N" from the statistics text; -1 when absent. */
static double kvb_rdb_ticker(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(text, name); p; p = strstr(p + 1, name)) {
        if ((p == text || p[-1] == '\n') && strncmp(p + n, " COUNT : ", 9) == 0)
            return strtod(p + n + 9, NULL);
    }
    return -1;
}

static void kvb_rdb_stats(void *hv, uint64_t user_bytes, kvb_stats_t *out)
{
    kvb_rdb_t *h = hv;
    (void)user_bytes;
    out->writes = out->syncs = out->wamp = -1;
    if (!h->stats)
        return;
    char *s = rocksdb_options_statistics_get_string(h->opt);
    if (!s)
        return;
    out->writes = kvb_rdb_ticker(s, "rocksdb.write.wal");
    out->syncs = kvb_rdb_ticker(s, "rocksdb.wal.synced");
    double flush = kvb_rdb_ticker(s, "rocksdb.flush.write.bytes");
    double compact = kvb_rdb_ticker(s, "rocksdb.compact.write.bytes");
    double written = kvb_rdb_ticker(s, "rocksdb.bytes.written");
    if (flush >= 0 && compact >= 0 && written > 0)
        out->wamp = (flush + compact) / written;
    rocksdb_free(s);
}

static const kvb_backend_t kvb_rdb_backend = {
    .name = "rocksdb",
    .open = kvb_rdb_open,
    .close = kvb_rdb_close,
    .thread_begin = kvb_rdb_thread_begin,
    .thread_end = kvb_rdb_thread_end,
    .put = kvb_rdb_put,
    .del = kvb_rdb_del,
    .batch_put = kvb_rdb_batch_put,
    .batch_write = kvb_rdb_batch_write,
    .get = kvb_rdb_get,
    .free_value = kvb_rdb_free,
    .iter_create = kvb_rdb_iter_create,
    .iter_destroy = kvb_rdb_iter_destroy,
    .iter_seek = kvb_rdb_iter_seek,
    .iter_first = kvb_rdb_iter_first,
    .iter_last = kvb_rdb_iter_last,
    .iter_next = kvb_rdb_iter_next,
    .iter_prev = kvb_rdb_iter_prev,
    .iter_valid = kvb_rdb_iter_valid,
    .iter_key = kvb_rdb_iter_key,
    .iter_value = kvb_rdb_iter_value,
    .iter_error = kvb_rdb_iter_error,
    .stats = kvb_rdb_stats,
    .options_note = NULL,
};

/* ---- leveldb backend ------------------------------------------------------------------- */

typedef struct {
    leveldb_t *db;
    leveldb_options_t *opt;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter;
} kvb_ldb_t;

typedef struct {
    kvb_ldb_t *h;
    leveldb_writeoptions_t *wo;
    leveldb_readoptions_t *ro;
    leveldb_writebatch_t *batch;
} kvb_ldb_thr_t;

static void kvb_ldb_free(void *p) { leveldb_free(p); }

static void kvb_ldb_release(kvb_ldb_t *h)
{
    if (h->db)
        leveldb_close(h->db);
    leveldb_options_destroy(h->opt);
    if (h->cache)
        leveldb_cache_destroy(h->cache);
    if (h->filter)
        leveldb_filterpolicy_destroy(h->filter);
    free(h);
}

static void *kvb_ldb_open(const kvb_config_t *cfg, const char *path, char **err)
{
    kvb_ldb_t *h = calloc(1, sizeof(*h));
    char *e = NULL;
    if (!h)
        return NULL;
    h->opt = leveldb_options_create();
    leveldb_options_set_create_if_missing(h->opt, 1);
    leveldb_options_set_write_buffer_size(h->opt, KVB_WRITE_BUFFER);
    leveldb_options_set_compression(h->opt, leveldb_no_compression);
    leveldb_options_set_max_open_files(h->opt, cfg->max_open_files);
    leveldb_options_set_block_size(h->opt, KVB_BLOCK_SIZE);
    /* A zero-capacity cache keeps nothing: leveldb has no "no cache" switch. */
    h->cache = leveldb_cache_create_lru(cfg->cache_size);
    leveldb_options_set_cache(h->opt, h->cache);
    if (cfg->bloom_bits > 0) {
        h->filter = leveldb_filterpolicy_create_bloom(cfg->bloom_bits);
        leveldb_options_set_filter_policy(h->opt, h->filter);
    }
    h->db = leveldb_open(h->opt, path, &e);
    if (kvb_take_err(err, e, kvb_ldb_free) || !h->db) {
        h->db = NULL;
        kvb_ldb_release(h);
        return NULL;
    }
    return h;
}

static void kvb_ldb_close(void *h) { kvb_ldb_release(h); }

static void *kvb_ldb_thread_begin(void *hv, int sync)
{
    kvb_ldb_thr_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->h = hv;
    t->wo = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(t->wo, (unsigned char)sync);
    t->ro = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(t->ro, 1);
    t->batch = leveldb_writebatch_create();
    return t;
}

static void kvb_ldb_thread_end(void *tv)
{
    kvb_ldb_thr_t *t = tv;
    leveldb_writeoptions_destroy(t->wo);
    leveldb_readoptions_destroy(t->ro);
    leveldb_writebatch_destroy(t->batch);
    free(t);
}

static int kvb_ldb_put(void *tv, const char *k, size_t kl, const char *v, size_t vl, char **err)
{
    kvb_ldb_thr_t *t = tv;
    char *e = NULL;
    leveldb_put(t->h->db, t->wo, k, kl, v, vl, &e);
    return kvb_take_err(err, e, kvb_ldb_free);
}

static int kvb_ldb_del(void *tv, const char *k, size_t kl, char **err)
{
    kvb_ldb_thr_t *t = tv;
    char *e = NULL;
    leveldb_delete(t->h->db, t->wo, k, kl, &e);
    return kvb_take_err(err, e, kvb_ldb_free);
}

static void kvb_ldb_batch_put(void *tv, const char *k, size_t kl, const char *v, size_t vl)
{
    kvb_ldb_thr_t *t = tv;
    leveldb_writebatch_put(t->batch, k, kl, v, vl);
}

static int kvb_ldb_batch_write(void *tv, char **err)
{
    kvb_ldb_thr_t *t = tv;
    char *e = NULL;
    leveldb_write(t->h->db, t->wo, t->batch, &e);
    leveldb_writebatch_clear(t->batch);
    return kvb_take_err(err, e, kvb_ldb_free);
}

static char *kvb_ldb_get(void *tv, const char *k, size_t kl, size_t *vl, char **err)
{
    kvb_ldb_thr_t *t = tv;
    char *e = NULL;
    char *v = leveldb_get(t->h->db, t->ro, k, kl, vl, &e);
    if (kvb_take_err(err, e, kvb_ldb_free)) {
        leveldb_free(v);
        return NULL;
    }
    return v;
}

static void *kvb_ldb_iter_create(void *tv)
{
    kvb_ldb_thr_t *t = tv;
    return leveldb_create_iterator(t->h->db, t->ro);
}
static void kvb_ldb_iter_destroy(void *it) { leveldb_iter_destroy(it); }
static void kvb_ldb_iter_seek(void *it, const char *k, size_t kl) { leveldb_iter_seek(it, k, kl); }
static void kvb_ldb_iter_first(void *it) { leveldb_iter_seek_to_first(it); }
static void kvb_ldb_iter_last(void *it) { leveldb_iter_seek_to_last(it); }
static void kvb_ldb_iter_next(void *it) { leveldb_iter_next(it); }
static void kvb_ldb_iter_prev(void *it) { leveldb_iter_prev(it); }
static int kvb_ldb_iter_valid(void *it) { return leveldb_iter_valid(it); }
static const char *kvb_ldb_iter_key(void *it, size_t *kl) { return leveldb_iter_key(it, kl); }
static const char *kvb_ldb_iter_value(void *it, size_t *vl) { return leveldb_iter_value(it, vl); }
static int kvb_ldb_iter_error(void *it, char **err)
{
    char *e = NULL;
    leveldb_iter_get_error(it, &e);
    return kvb_take_err(err, e, kvb_ldb_free);
}

/* leveldb.stats has a per-level table "Level Files Size(MB) Time(sec) Read(MB) Write(MB)";
 * the Write column sums flush and compaction output, rounded to whole MB per level. */
static void kvb_ldb_stats(void *hv, uint64_t user_bytes, kvb_stats_t *out)
{
    kvb_ldb_t *h = hv;
    out->writes = out->syncs = out->wamp = -1;
    char *s = leveldb_property_value(h->db, "leveldb.stats");
    if (!s)
        return;
    const char *p = strstr(s, "-----\n");
    double mb = 0;
    while (p && (p = strchr(p, '\n')) != NULL) {
        p++;
        int level, files;
        double size, secs, rd, wr;
        if (sscanf(p, "%d %d %lf %lf %lf %lf", &level, &files, &size, &secs, &rd, &wr) != 6)
            break;
        mb += wr;
    }
    if (user_bytes > 0)
        out->wamp = mb * 1048576.0 / (double)user_bytes;
    leveldb_free(s);
}

static const kvb_backend_t kvb_ldb_backend = {
    .name = "leveldb",
    .open = kvb_ldb_open,
    .close = kvb_ldb_close,
    .thread_begin = kvb_ldb_thread_begin,
    .thread_end = kvb_ldb_thread_end,
    .put = kvb_ldb_put,
    .del = kvb_ldb_del,
    .batch_put = kvb_ldb_batch_put,
    .batch_write = kvb_ldb_batch_write,
    .get = kvb_ldb_get,
    .free_value = kvb_ldb_free,
    .iter_create = kvb_ldb_iter_create,
    .iter_destroy = kvb_ldb_iter_destroy,
    .iter_seek = kvb_ldb_iter_seek,
    .iter_first = kvb_ldb_iter_first,
    .iter_last = kvb_ldb_iter_last,
    .iter_next = kvb_ldb_iter_next,
    .iter_prev = kvb_ldb_iter_prev,
    .iter_valid = kvb_ldb_iter_valid,
    .iter_key = kvb_ldb_iter_key,
    .iter_value = kvb_ldb_iter_value,
    .iter_error = kvb_ldb_iter_error,
    .stats = kvb_ldb_stats,
    .options_note = "no pipelined/concurrent-memtable writes",
};

/* Index 0 is always lsm (NULL when compiled out) so that ratios can find it. */
static const kvb_backend_t *const kvb_backends[] = {
#ifndef KVBENCH_NO_LSM
    &kvb_lsm_backend,
#else
    NULL,
#endif
    &kvb_rdb_backend,
    &kvb_ldb_backend,
};
static const char *const kvb_backend_names[] = {"lsm", "rocksdb", "leveldb"};
#define KVB_NBACKENDS 3
#define KVB_LSM 0
#define KVB_ROCKSDB 1
#define KVB_LEVELDB 2

/* ---- one timed benchmark --------------------------------------------------------------- */

typedef struct {
    const kvb_config_t *cfg;
    const kvb_backend_t *be;
    void *h;
    int bench, nthreads;
    uint64_t num, reads, seed;
    uint8_t *gens; /* see the file comment */
    uint8_t gen;   /* generation written by this benchmark */
    pthread_barrier_t start;
} kvb_run_t;

typedef struct {
    kvb_run_t *run;
    int id;
    pthread_t tid;
    /* results */
    uint64_t ops, bytes, found;
    uint64_t cpu_ns;                         /* CPU time of this thread's operations */
    uint64_t majflt;                         /* its major page faults (-1: unknown) */
    uint64_t bad_value, missing, unexpected; /* verification failures */
    char *err;                               /* first backend error */
    char bad_note[160];                      /* first verification failure */
    /* setup made before the barrier */
    void *t, *it;
    uint32_t *perm;
    rnd_t rnd;
} kvb_thread_t;

static void kvb_note(kvb_thread_t *th, const char *what, uint64_t k)
{
    if (!th->bad_note[0])
        snprintf(th->bad_note, sizeof(th->bad_note), "%s: key %016" PRIu64 " (generation %u)",
                 what, k, (unsigned)th->run->gens[k]);
}

/* Checks a value read for key k against gens[k]. */
static void kvb_check(kvb_thread_t *th, uint64_t k, const char *v, size_t vl)
{
    kvb_run_t *r = th->run;
    char want[KVB_VALUE_LEN];
    if (!r->cfg->verify)
        return;
    if (r->gens[k] == 0) {
        th->unexpected++;
        kvb_note(th, "deleted or never written key was found", k);
        return;
    }
    kvb_value(want, r->seed, k, r->gens[k]);
    if (vl != KVB_VALUE_LEN || memcmp(v, want, KVB_VALUE_LEN) != 0) {
        th->bad_value++;
        kvb_note(th, vl != KVB_VALUE_LEN ? "value of wrong length" : "wrong value", k);
    }
}

static void kvb_check_absent(kvb_thread_t *th, uint64_t k)
{
    if (th->run->cfg->verify && th->run->gens[k] != 0) {
        th->missing++;
        kvb_note(th, "written key not found", k);
    }
}

static uint64_t kvb_next_live(const kvb_run_t *r, uint64_t k)
{
    while (k < r->num && r->gens[k] == 0)
        k++;
    return k; /* r->num = none */
}

static uint64_t kvb_prev_live(const kvb_run_t *r, uint64_t k) /* k may be r->num */
{
    while (k > 0) {
        k--;
        if (r->gens[k] != 0)
            return k;
    }
    return UINT64_MAX;
}

/* Walks an iterator n steps forward (dir > 0) or backward from where it stands; checks
 * order, values and that no live key is skipped. */
static void kvb_scan(kvb_thread_t *th, uint64_t n, int dir, uint64_t expect)
{
    kvb_run_t *r = th->run;
    const kvb_backend_t *be = r->be;
    for (uint64_t i = 0; i < n && be->iter_valid(th->it); i++) {
        size_t kl, vl;
        const char *k = be->iter_key(th->it, &kl);
        const char *v = be->iter_value(th->it, &vl);
        uint64_t idx;
        th->ops++;
        th->bytes += kl + vl;
        if (r->cfg->verify) {
            if (kvb_key_parse(k, kl, &idx) != 0 || idx >= r->num) {
                th->unexpected++;
                if (!th->bad_note[0])
                    snprintf(th->bad_note, sizeof(th->bad_note), "malformed key of %zu bytes",
                             kl);
            } else {
                int skipped = expect != UINT64_MAX && expect < r->num &&
                              (dir > 0 ? idx > expect : idx < expect);
                if (skipped)
                    kvb_check_absent(th, expect); /* a live key was passed over */
                else if (idx != expect && r->gens[idx] != 0) {
                    th->unexpected++; /* (a deleted key is counted by kvb_check) */
                    kvb_note(th, "iterator out of order or past the end at", idx);
                }
                kvb_check(th, idx, v, vl);
                expect = dir > 0 ? kvb_next_live(r, idx + 1) : kvb_prev_live(r, idx);
            }
        }
        if (dir > 0)
            be->iter_next(th->it);
        else
            be->iter_prev(th->it);
    }
}

/* One thread's share of the benchmark, after the start barrier. */
static void kvb_thread_ops(kvb_thread_t *th)
{
    kvb_run_t *r = th->run;
    const kvb_backend_t *be = r->be;
    uint64_t lo = r->num * (uint64_t)th->id / (uint64_t)r->nthreads;
    uint64_t hi = r->num * (uint64_t)(th->id + 1) / (uint64_t)r->nthreads;
    uint64_t rlo = r->reads * (uint64_t)th->id / (uint64_t)r->nthreads;
    uint64_t rhi = r->reads * (uint64_t)(th->id + 1) / (uint64_t)r->nthreads;
    char key[KVB_KEY_LEN], val[KVB_VALUE_LEN];
    uint64_t k;

    switch (r->bench) {
    case KVB_FILLSEQ:
    case KVB_FILLRANDOM:
    case KVB_FILLUNIQUE:
        for (uint64_t i = lo; i < hi; i++) {
            if (r->bench == KVB_FILLSEQ)
                k = i;
            else if (r->bench == KVB_FILLRANDOM) /* db_bench: uniform, with repeats */
                k = lo + rnd_uniform(&th->rnd, hi - lo);
            else
                k = th->perm[i - lo];
            kvb_key(key, k);
            kvb_value(val, r->seed, k, r->gen);
            if (be->put(th->t, key, KVB_KEY_LEN, val, KVB_VALUE_LEN, &th->err))
                break;
            r->gens[k] = r->gen;
            th->ops++;
            th->bytes += KVB_KEY_LEN + KVB_VALUE_LEN;
        }
        break;
    case KVB_FILLBATCH:
        for (uint64_t i = lo; i < hi; i += KVB_BATCH) {
            uint64_t end = i + KVB_BATCH < hi ? i + KVB_BATCH : hi;
            for (k = i; k < end; k++) {
                kvb_key(key, k);
                kvb_value(val, r->seed, k, r->gen);
                be->batch_put(th->t, key, KVB_KEY_LEN, val, KVB_VALUE_LEN);
            }
            if (be->batch_write(th->t, &th->err))
                break;
            for (k = i; k < end; k++)
                r->gens[k] = r->gen;
            th->ops += end - i;
            th->bytes += (end - i) * (KVB_KEY_LEN + KVB_VALUE_LEN);
        }
        break;
    case KVB_OVERWRITE:
    case KVB_DELETERANDOM:
        for (uint64_t i = lo; i < hi; i++) {
            k = lo + rnd_uniform(&th->rnd, hi - lo);
            kvb_key(key, k);
            if (r->bench == KVB_OVERWRITE) {
                kvb_value(val, r->seed, k, r->gen);
                if (be->put(th->t, key, KVB_KEY_LEN, val, KVB_VALUE_LEN, &th->err))
                    break;
                r->gens[k] = r->gen;
                th->bytes += KVB_KEY_LEN + KVB_VALUE_LEN;
            } else {
                if (be->del(th->t, key, KVB_KEY_LEN, &th->err))
                    break;
                r->gens[k] = 0;
                th->bytes += KVB_KEY_LEN;
            }
            th->ops++;
        }
        break;
    case KVB_READRANDOM:
        for (uint64_t i = rlo; i < rhi; i++) {
            size_t vl = 0;
            k = rnd_uniform(&th->rnd, r->num);
            kvb_key(key, k);
            char *v = be->get(th->t, key, KVB_KEY_LEN, &vl, &th->err);
            if (th->err)
                break;
            th->ops++;
            th->bytes += KVB_KEY_LEN;
            if (v) {
                th->found++;
                th->bytes += vl;
                kvb_check(th, k, v, vl);
                be->free_value(v);
            } else {
                kvb_check_absent(th, k);
            }
        }
        break;
    case KVB_SEEKRANDOM:
        for (uint64_t i = rlo; i < rhi; i++) {
            k = rnd_uniform(&th->rnd, r->num);
            kvb_key(key, k);
            be->iter_seek(th->it, key, KVB_KEY_LEN);
            th->ops++;
            if (be->iter_valid(th->it)) {
                size_t kl, vl;
                const char *ik = be->iter_key(th->it, &kl);
                const char *iv = be->iter_value(th->it, &vl);
                th->bytes += kl + vl;
                if (kl == KVB_KEY_LEN && memcmp(ik, key, KVB_KEY_LEN) == 0) {
                    th->found++;
                    kvb_check(th, k, iv, vl);
                    continue;
                }
                if (r->cfg->verify && (kl < KVB_KEY_LEN ? memcmp(ik, key, kl) <= 0
                                                        : memcmp(ik, key, KVB_KEY_LEN) < 0)) {
                    th->unexpected++;
                    kvb_note(th, "seek landed before its target", k);
                }
            }
            kvb_check_absent(th, k);
        }
        if (!th->err)
            be->iter_error(th->it, &th->err);
        break;
    case KVB_READSEQ:
        kvb_key(key, lo);
        be->iter_seek(th->it, key, KVB_KEY_LEN);
        kvb_scan(th, rhi - rlo, +1, kvb_next_live(r, lo));
        if (!th->err)
            be->iter_error(th->it, &th->err);
        break;
    case KVB_READREVERSE:
        kvb_key(key, hi);
        be->iter_seek(th->it, key, KVB_KEY_LEN);
        if (be->iter_valid(th->it))
            be->iter_prev(th->it);
        else
            be->iter_last(th->it);
        kvb_scan(th, rhi - rlo, -1, kvb_prev_live(r, hi));
        if (!th->err)
            be->iter_error(th->it, &th->err);
        break;
    }
}

static uint64_t kvb_thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Major page faults of the calling thread so far; UINT64_MAX when unknown. */
static uint64_t kvb_thread_majflt(void)
{
#ifdef RUSAGE_THREAD
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) == 0)
        return (uint64_t)ru.ru_majflt;
#endif
    return UINT64_MAX;
}

/* How often the page cache has been dropped on this host (/proc/sys/vm/drop_caches writes,
 * the drop_pagecache line of /proc/vmstat); -1 when unknown. A drop during a read
 * benchmark turns a mapped or buffered read into a disk read (a major fault), which the
 * CPU ns per operation and ops/s then include. */
static long long kvb_cache_drops(void)
{
    FILE *f = fopen("/proc/vmstat", "r");
    char line[128];
    long long n = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "drop_pagecache %lld", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* Thread body: waits for the start, runs its share and notes the CPU time it used (the
 * calling thread's own work; background flushes and compactions are not in it) and the
 * major page faults it took. */
static void *kvb_thread_main(void *arg)
{
    kvb_thread_t *th = arg;
    pthread_barrier_wait(&th->run->start);
    uint64_t c0 = kvb_thread_cpu_ns(), f0 = kvb_thread_majflt();
    kvb_thread_ops(th);
    th->cpu_ns = kvb_thread_cpu_ns() - c0;
    uint64_t f1 = kvb_thread_majflt();
    th->majflt = f0 == UINT64_MAX || f1 == UINT64_MAX ? UINT64_MAX : f1 - f0;
    return NULL;
}

/* Outcome of one benchmark on one backend in one repetition. */
typedef struct {
    int ok, ran;
    double ops_s, mb_s, w_per_sync, wamp; /* negative = not available */
    double cpu_ns_op;                     /* foreground CPU ns per operation */
    double majflt_op;                     /* foreground major page faults per op (-1: unknown) */
    long long cache_drops;                /* page cache drops on the host meanwhile (-1: unknown) */
    uint64_t ops, found, bad_value, missing, unexpected;
    char note[200];
} kvb_result_t;

static void kvb_collect_note(kvb_result_t *res, const char *fmt, const char *a, const char *b)
{
    if (!res->note[0])
        snprintf(res->note, sizeof(res->note), fmt, a, b);
}

/* Runs one benchmark with nthreads threads; returns 0 unless setup failed. */
static int kvb_run_bench(const kvb_config_t *cfg, const kvb_backend_t *be, void *h, int bench,
                         int nthreads, uint8_t *gens, uint8_t gen, uint64_t salt,
                         kvb_result_t *res)
{
    kvb_run_t r = {.cfg = cfg, .be = be, .h = h, .bench = bench, .nthreads = nthreads,
                   .num = cfg->num, .reads = cfg->reads, .seed = cfg->seed, .gens = gens,
                   .gen = gen};
    kvb_thread_t *th = calloc((size_t)nthreads, sizeof(*th));
    int need_iter = bench == KVB_READSEQ || bench == KVB_READREVERSE || bench == KVB_SEEKRANDOM;
    int rc = 0;

    memset(res, 0, sizeof(*res));
    res->w_per_sync = res->wamp = res->majflt_op = -1;
    res->cache_drops = -1;
    if (!th)
        return -1;
    pthread_barrier_init(&r.start, NULL, (unsigned)nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        th[i].run = &r;
        th[i].id = i;
        rnd_seed(&th[i].rnd, kvb_mix(cfg->seed ^ salt ^ ((uint64_t)i << 32) ^ (uint64_t)bench));
        th[i].t = be->thread_begin(h, cfg->sync);
        if (need_iter && th[i].t)
            th[i].it = be->iter_create(th[i].t);
        if (bench == KVB_FILLUNIQUE) {
            uint64_t lo = cfg->num * (uint64_t)i / (uint64_t)nthreads;
            uint64_t hi = cfg->num * (uint64_t)(i + 1) / (uint64_t)nthreads;
            th[i].perm = malloc((hi - lo + 1) * sizeof(uint32_t));
            if (th[i].perm) {
                for (uint64_t j = 0; j < hi - lo; j++)
                    th[i].perm[j] = (uint32_t)(lo + j);
                for (uint64_t j = hi - lo; j > 1; j--) { /* Fisher-Yates */
                    uint64_t s = rnd_uniform(&th[i].rnd, j);
                    uint32_t tmp = th[i].perm[j - 1];
                    th[i].perm[j - 1] = th[i].perm[s];
                    th[i].perm[s] = tmp;
                }
            }
        }
        if (!th[i].t || (need_iter && !th[i].it) || (bench == KVB_FILLUNIQUE && !th[i].perm))
            rc = -1;
    }
    if (rc == 0) {
        kvb_stats_t s0, s1;
        be->stats(h, 0, &s0);
        long long drops0 = kvb_cache_drops();
        for (int i = 0; i < nthreads; i++)
            pthread_create(&th[i].tid, NULL, kvb_thread_main, &th[i]);
        pthread_barrier_wait(&r.start);
        uint64_t t0 = clock_now_ns();
        uint64_t bytes = 0;
        for (int i = 0; i < nthreads; i++)
            pthread_join(th[i].tid, NULL);
        double secs = (double)(clock_now_ns() - t0) / 1e9;
        long long drops1 = kvb_cache_drops();
        res->cache_drops = drops0 >= 0 && drops1 >= 0 ? drops1 - drops0 : -1;
        res->ran = 1;
        res->ok = 1;
        uint64_t cpu = 0, majflt = 0;
        int majflt_known = 1;
        for (int i = 0; i < nthreads; i++) {
            cpu += th[i].cpu_ns;
            if (th[i].majflt == UINT64_MAX)
                majflt_known = 0;
            else
                majflt += th[i].majflt;
            res->ops += th[i].ops;
            res->found += th[i].found;
            res->bad_value += th[i].bad_value;
            res->missing += th[i].missing;
            res->unexpected += th[i].unexpected;
            bytes += th[i].bytes;
            if (th[i].err) {
                res->ok = 0;
                kvb_collect_note(res, "%s error: %s", be->name, th[i].err);
            }
            if (th[i].bad_note[0])
                kvb_collect_note(res, "%s verify: %s", be->name, th[i].bad_note);
        }
        if (secs <= 0)
            secs = 1e-9;
        res->ops_s = (double)res->ops / secs;
        res->cpu_ns_op = res->ops ? (double)cpu / (double)res->ops : 0;
        res->majflt_op = !majflt_known ? -1 : res->ops ? (double)majflt / (double)res->ops : 0;
        res->mb_s = (double)bytes / 1048576.0 / secs;
        be->stats(h, 0, &s1);
        if (kvb_bench_writes(bench) && s1.syncs >= 0 && s0.syncs >= 0 && s1.writes >= 0 &&
            s0.writes >= 0 && s1.syncs > s0.syncs)
            res->w_per_sync = (s1.writes - s0.writes) / (s1.syncs - s0.syncs);
    } else {
        kvb_collect_note(res, "%s: %s", be->name, "setup failed (thread context or iterator)");
    }
    for (int i = 0; i < nthreads; i++) {
        if (th[i].it)
            be->iter_destroy(th[i].it);
        if (th[i].t)
            be->thread_end(th[i].t);
        free(th[i].perm);
        free(th[i].err);
    }
    pthread_barrier_destroy(&r.start);
    free(th);
    return rc;
}

/* ---- directories ----------------------------------------------------------------------- */

static int kvb_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT)
        fprintf(stderr, "kvbench: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

/* A store in Ceph RADOS (--db=rados://POOL, lsm backend only): no folder to remove; the
 * engine removes its objects. */
static int kvb_is_rados(const char *path)
{
    return strncmp(path, "rados://", 8) == 0;
}

static void kvb_rm_rf(const char *path)
{
    if (kvb_is_rados(path)) {
#ifndef KVBENCH_NO_LSM
        lsm_options_t *o = lsm_options_create();
        char *e = NULL;
        lsm_destroy_db(o, path, &e);
        if (e)
            fprintf(stderr, "kvbench: cannot remove %s: %s\n", path, e);
        lsm_free(e);
        lsm_options_destroy(o);
#endif
        return;
    }
    struct stat st;
    if (lstat(path, &st) == 0)
        nftw(path, kvb_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A store directory is removed only when it is absent, empty or looks like a store. */
static int kvb_reset_dir(const char *path)
{
    char probe[4096];
    struct stat st;
    if (kvb_is_rados(path)) {
        kvb_rm_rf(path);
        return 0;
    }
    if (lstat(path, &st) != 0)
        return 0;
    snprintf(probe, sizeof(probe), "%s/CURRENT", path);
    int is_db = access(probe, F_OK) == 0;
    snprintf(probe, sizeof(probe), "%s/LOCK", path);
    is_db |= access(probe, F_OK) == 0;
    if (!is_db && rmdir(path) != 0 && errno != ENOENT) {
        fprintf(stderr, "kvbench: %s exists and is not a key-value store; not removing it\n",
                path);
        return -1;
    }
    kvb_rm_rf(path);
    return 0;
}

/* ---- driver ---------------------------------------------------------------------------- */

typedef struct {
    const kvb_config_t *cfg;
    kvb_result_t *res; /* [bench][threads][backend][rep] */
    char dir[4096];
    int failed;
} kvb_driver_t;

static kvb_result_t *kvb_res(kvb_driver_t *d, int bi, int ti, int bk, int rep)
{
    const kvb_config_t *c = d->cfg;
    return &d->res[(((size_t)bi * (size_t)c->nthreads + (size_t)ti) * KVB_NBACKENDS + (size_t)bk) *
                       (size_t)c->reps +
                   (size_t)rep];
}

static void *kvb_fresh(kvb_driver_t *d, const kvb_backend_t *be, const char *path)
{
    char *err = NULL;
    if (kvb_reset_dir(path) != 0)
        return NULL;
    void *h = be->open(d->cfg, path, &err);
    if (!h) {
        fprintf(stderr, "kvbench: %s: cannot open %s: %s\n", be->name, path,
                err ? err : "unknown error");
        free(err);
    }
    return h;
}

/* Runs the benchmark list once on a fresh store of one backend. */
static void kvb_sequence(kvb_driver_t *d, int bk, int ti, int rep)
{
    const kvb_config_t *cfg = d->cfg;
    const kvb_backend_t *be = kvb_backends[bk];
    int nthreads = cfg->threads[ti];
    char path[4200];
    uint8_t *gens = calloc(cfg->num ? cfg->num : 1, 1);
    uint8_t gen = 0;
    int loaded = 0, dirty = 0;
    uint64_t user_bytes = 0;

    snprintf(path, sizeof(path), "%s/%s", d->dir, be->name);
    void *h = gens ? kvb_fresh(d, be, path) : NULL;
    for (int bi = 0; bi < cfg->nbench; bi++) {
        int bench = cfg->bench[bi];
        kvb_result_t *res = kvb_res(d, bi, ti, bk, rep);
        if (!h) {
            snprintf(res->note, sizeof(res->note), "%s: store could not be opened", be->name);
            d->failed = 1;
            continue;
        }
        if (kvb_bench_is_fill(bench) && dirty) {
            be->close(h);
            memset(gens, 0, cfg->num);
            user_bytes = 0;
            loaded = 0;
            h = kvb_fresh(d, be, path);
            if (!h) {
                bi--; /* report the failure on this benchmark */
                continue;
            }
        }
        if (!kvb_bench_is_fill(bench) && !loaded) {
            kvb_result_t pre;
            gen = (uint8_t)(gen % 255 + 1);
            kvb_run_bench(cfg, be, h, KVB_FILLSEQ, nthreads, gens, gen, (uint64_t)rep << 40,
                          &pre);
            user_bytes += pre.ops * (KVB_KEY_LEN + KVB_VALUE_LEN);
            if (!pre.ok) {
                snprintf(res->note, sizeof(res->note), "prefill failed: %.180s", pre.note);
                d->failed = 1;
                continue;
            }
            loaded = 1;
        }
        if (cfg->reopen && !kvb_bench_is_fill(bench)) {
            /* As a separate db_bench run with --use_existing_db: cold block and table
             * caches, and whatever the engine does with its WAL and memtable on open. */
            char *err = NULL;
            be->close(h);
            user_bytes = 0; /* the engines count their statistics from open */
            h = be->open(cfg, path, &err);
            if (!h) {
                snprintf(res->note, sizeof(res->note), "%s: reopen failed: %.160s", be->name,
                         err ? err : "unknown error");
                free(err);
                d->failed = 1;
                continue;
            }
        }
        gen = (uint8_t)(gen % 255 + 1);
        kvb_run_bench(cfg, be, h, bench, nthreads, gens, gen,
                      ((uint64_t)rep << 40) ^ ((uint64_t)(bi + 1) << 48), res);
        if (bench == KVB_DELETERANDOM)
            user_bytes += res->ops * KVB_KEY_LEN;
        else if (kvb_bench_writes(bench))
            user_bytes += res->ops * (KVB_KEY_LEN + KVB_VALUE_LEN);
        kvb_stats_t st;
        be->stats(h, user_bytes, &st);
        res->wamp = kvb_bench_writes(bench) ? st.wamp : -1;
        dirty = 1;
        if (kvb_bench_is_fill(bench))
            loaded = 1;
        if (!res->ok || res->bad_value || res->missing || res->unexpected)
            d->failed = 1;
        char faults[96] = "";
        if (res->majflt_op > 0 || res->cache_drops > 0)
            snprintf(faults, sizeof(faults), " %.4f majflt/op, page cache dropped %lld times",
                     res->majflt_op, res->cache_drops);
        fprintf(stderr,
                "kvbench: %-7s %-12s threads %-2d rep %d/%d: %10.0f ops/s %7.1f MB/s %8.0f cpu ns/op%s%s%s\n",
                be->name, kvb_bench_names[bench], nthreads, rep + 1, cfg->reps, res->ops_s,
                res->mb_s, res->cpu_ns_op, faults, res->note[0] ? "  " : "", res->note);
    }
    if (h)
        be->close(h);
    kvb_rm_rf(path);
    free(gens);
}

static int kvb_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median over the repetitions that ran and succeeded of one field; -1 if none. */
static double kvb_median(kvb_driver_t *d, int bi, int ti, int bk, size_t off, double *mn,
                         double *mx)
{
    double v[256];
    int n = 0;
    for (int r = 0; r < d->cfg->reps && n < 256; r++) {
        kvb_result_t *res = kvb_res(d, bi, ti, bk, r);
        double x = *(const double *)((const char *)res + off);
        if (res->ok && x >= 0)
            v[n++] = x;
    }
    if (mn)
        *mn = -1;
    if (mx)
        *mx = -1;
    if (n == 0)
        return -1;
    qsort(v, (size_t)n, sizeof(double), kvb_cmp_double);
    if (mn)
        *mn = v[0];
    if (mx)
        *mx = v[n - 1];
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void kvb_fmt(char *buf, size_t n, double v, const char *fmt)
{
    if (v < 0)
        snprintf(buf, n, "n/a");
    else
        snprintf(buf, n, fmt, v);
}

static int kvb_has(const kvb_config_t *c, int bk)
{
    for (int i = 0; i < c->nbackends; i++)
        if (c->backend[i] == bk)
            return 1;
    return 0;
}

static void kvb_print_header(const kvb_config_t *c, const char *prefix)
{
    printf("%skvbench: keys %d B, values %d B (fully random), num %" PRIu64 ", reads %" PRIu64
           ", sync %d, reps %d (median), pipelined %d, concurrent-memtable %d\n",
           prefix, KVB_KEY_LEN, KVB_VALUE_LEN, c->num, c->reads, c->sync, c->reps, c->pipelined,
           c->concurrent);
    printf("%skvbench: write buffer 64 MiB x2, no compression, block 4 KiB, cache %zu MiB, "
           "bloom %d bits/key, max_open_files %d, verify %d, rocksdb statistics %d\n",
           prefix, c->cache_size >> 20, c->bloom_bits, c->max_open_files, c->verify, c->stats);
    if ((c->pipelined || c->concurrent) && kvb_has(c, KVB_LEVELDB))
        printf("%skvbench: leveldb: %s\n", prefix, kvb_ldb_backend.options_note);
}

#define KVB_OFF(f) offsetof(kvb_result_t, f)

static void kvb_print_table(kvb_driver_t *d)
{
    const kvb_config_t *c = d->cfg;
    int ratio_r = kvb_has(c, KVB_LSM) && kvb_has(c, KVB_ROCKSDB);
    int ratio_l = kvb_has(c, KVB_LSM) && kvb_has(c, KVB_LEVELDB);
    char cell[64], head[64];

    if (c->csv) {
        kvb_print_header(c, "# ");
        printf("benchmark,threads");
        for (int i = 0; i < c->nbackends; i++) {
            const char *n = kvb_backend_names[c->backend[i]];
            printf(",%s_ops_s,%s_ops_s_min,%s_ops_s_max,%s_mb_s,%s_writes_per_sync,"
                   "%s_write_amp,%s_reps_ok",
                   n, n, n, n, n, n, n);
        }
        if (ratio_r)
            printf(",lsm_rocksdb");
        if (ratio_l)
            printf(",lsm_leveldb");
        printf("\n");
    } else {
        kvb_print_header(c, "");
        printf("\n%-12s %3s", "benchmark", "thr");
        for (int i = 0; i < c->nbackends; i++) {
            snprintf(head, sizeof(head), "%s ops/s", kvb_backend_names[c->backend[i]]);
            printf(" %15s", head);
        }
        for (int i = 0; i < c->nbackends; i++) {
            snprintf(head, sizeof(head), "%s MB/s", kvb_backend_names[c->backend[i]]);
            printf(" %12s", head);
        }
        if (ratio_r)
            printf(" %11s", "lsm/rocksdb");
        if (ratio_l)
            printf(" %11s", "lsm/leveldb");
        if (c->sync)
            for (int i = 0; i < c->nbackends; i++) {
                snprintf(head, sizeof(head), "%s w/fsync", kvb_backend_names[c->backend[i]]);
                printf(" %15s", head);
            }
        for (int i = 0; i < c->nbackends; i++) {
            snprintf(head, sizeof(head), "%s wamp", kvb_backend_names[c->backend[i]]);
            printf(" %12s", head);
        }
        printf("\n");
    }

    for (int bi = 0; bi < c->nbench; bi++) {
        for (int ti = 0; ti < c->nthreads; ti++) {
            double ops[KVB_NBACKENDS] = {-1, -1, -1};
            for (int i = 0; i < c->nbackends; i++)
                ops[c->backend[i]] = kvb_median(d, bi, ti, c->backend[i], KVB_OFF(ops_s), NULL,
                                                NULL);
            double rr = ops[KVB_LSM] >= 0 && ops[KVB_ROCKSDB] > 0 ? ops[KVB_LSM] / ops[KVB_ROCKSDB]
                                                                  : -1;
            double rl = ops[KVB_LSM] >= 0 && ops[KVB_LEVELDB] > 0 ? ops[KVB_LSM] / ops[KVB_LEVELDB]
                                                                  : -1;
            int writes = kvb_bench_writes(c->bench[bi]);
            if (c->csv) {
                printf("%s,%d", kvb_bench_names[c->bench[bi]], c->threads[ti]);
                for (int i = 0; i < c->nbackends; i++) {
                    int bk = c->backend[i], ok = 0;
                    double mn = -1, mx = -1;
                    double o = kvb_median(d, bi, ti, bk, KVB_OFF(ops_s), &mn, &mx);
                    double mb = kvb_median(d, bi, ti, bk, KVB_OFF(mb_s), NULL, NULL);
                    double ws = kvb_median(d, bi, ti, bk, KVB_OFF(w_per_sync), NULL, NULL);
                    double wa = kvb_median(d, bi, ti, bk, KVB_OFF(wamp), NULL, NULL);
                    for (int r = 0; r < c->reps; r++)
                        ok += kvb_res(d, bi, ti, bk, r)->ok;
                    printf(",%.0f,%.0f,%.0f,%.2f,", o, mn, mx, mb);
                    if (ws >= 0)
                        printf("%.2f", ws);
                    printf(",");
                    if (wa >= 0)
                        printf("%.3f", wa);
                    printf(",%d", ok);
                }
                if (ratio_r)
                    printf(",%.3f", rr);
                if (ratio_l)
                    printf(",%.3f", rl);
                printf("\n");
                continue;
            }
            printf("%-12s %3d", kvb_bench_names[c->bench[bi]], c->threads[ti]);
            for (int i = 0; i < c->nbackends; i++) {
                kvb_fmt(cell, sizeof(cell), ops[c->backend[i]], "%.0f");
                printf(" %15s", cell);
            }
            for (int i = 0; i < c->nbackends; i++) {
                kvb_fmt(cell, sizeof(cell),
                        kvb_median(d, bi, ti, c->backend[i], KVB_OFF(mb_s), NULL, NULL), "%.1f");
                printf(" %12s", cell);
            }
            if (ratio_r) {
                kvb_fmt(cell, sizeof(cell), rr, "%.2fx");
                printf(" %11s", cell);
            }
            if (ratio_l) {
                kvb_fmt(cell, sizeof(cell), rl, "%.2fx");
                printf(" %11s", cell);
            }
            if (c->sync)
                for (int i = 0; i < c->nbackends; i++) {
                    double ws = kvb_median(d, bi, ti, c->backend[i], KVB_OFF(w_per_sync), NULL,
                                           NULL);
                    if (writes)
                        kvb_fmt(cell, sizeof(cell), ws, "%.1f");
                    else
                        snprintf(cell, sizeof(cell), "-");
                    printf(" %15s", cell);
                }
            for (int i = 0; i < c->nbackends; i++) {
                double wa = kvb_median(d, bi, ti, c->backend[i], KVB_OFF(wamp), NULL, NULL);
                if (writes)
                    kvb_fmt(cell, sizeof(cell), wa, "%.2f");
                else
                    snprintf(cell, sizeof(cell), "-");
                printf(" %12s", cell);
            }
            printf("\n");
        }
    }

    /* Problems: errors and verification failures, one line per benchmark and backend. */
    int first = 1;
    for (int bi = 0; bi < c->nbench; bi++)
        for (int ti = 0; ti < c->nthreads; ti++)
            for (int i = 0; i < c->nbackends; i++) {
                int bk = c->backend[i], bad = 0;
                uint64_t bv = 0, mi = 0, un = 0;
                const char *note = NULL;
                for (int r = 0; r < c->reps; r++) {
                    kvb_result_t *res = kvb_res(d, bi, ti, bk, r);
                    bad += !res->ok;
                    bv += res->bad_value;
                    mi += res->missing;
                    un += res->unexpected;
                    if (res->note[0] && !note)
                        note = res->note;
                }
                if (!bad && !bv && !mi && !un)
                    continue;
                if (first)
                    printf("%s\n%sPROBLEMS:\n", c->csv ? "#" : "", c->csv ? "# " : "");
                first = 0;
                printf("%s%s %s threads %d: %d of %d reps failed, %" PRIu64 " wrong values, %" PRIu64
                       " missing keys, %" PRIu64 " unexpected keys; first: %s\n",
                       c->csv ? "# " : "  ", kvb_backend_names[bk], kvb_bench_names[c->bench[bi]],
                       c->threads[ti], bad, c->reps, bv, mi, un, note ? note : "-");
            }
}

/* ---- command line ---------------------------------------------------------------------- */

static void kvb_usage(FILE *f)
{
    fprintf(f,
            "usage: kvbench [options]\n"
            "  --benchmarks=a,b,c     fillseq fillrandom overwrite readrandom readseq readreverse\n"
            "                         seekrandom deleterandom fillbatch filluniquerandom\n"
            "                         (default fillseq,fillrandom,readrandom)\n"
            "  --backends=a,b         lsm rocksdb leveldb (default: all compiled in)\n"
            "  --num=N                keys (default 500000; k/M suffixes)\n"
            "  --reads=N              operations of the read benchmarks (default --num)\n"
            "  --threads=1,2,4        thread counts, each run in turn (default 1)\n"
            "  --sync=0|1             fsync the WAL on every write (default 0)\n"
            "  --reps=N               repetitions; backends alternate, medians shown (default 1)\n"
            "  --db=DIR               store parent directory (default a temp dir under /tmp);\n"
"                         rados://POOL puts the lsm store in Ceph (namespace 'lsm')\n"
            "  --pipelined[=0|1]      pipelined write (lsm, rocksdb; default 0)\n"
            "  --concurrent-memtable[=0|1]  parallel memtable inserts (lsm, rocksdb; default 0)\n"
            "  --cache-size=BYTES     block cache (default 64M; K/M/G suffixes)\n"
            "  --bloom-bits=N         bloom filter bits per key, 0 = none (default 10)\n"
            "  --max-open-files=N     (default 1000)\n"
            "  --verify=0|1           check every value read (default 1)\n"
            "  --reopen=0|1           reopen the store before each non-fill benchmark (default 0)\n"
            "  --stats=0|1            rocksdb statistics: w/fsync and wamp (default 1)\n"
            "  --seed=N               random seed (default 301)\n"
            "  --csv                  CSV instead of the table\n");
}

/* Parses a count with optional k/m/g (x1000) or, when binary, K/M/G (x1024) suffix. */
static int kvb_parse_u64(const char *s, int binary, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    uint64_t mul = 1, base = binary ? 1024 : 1000;
    switch (*end) {
    case 'k': case 'K': mul = base; end++; break;
    case 'm': case 'M': mul = base * base; end++; break;
    case 'g': case 'G': mul = base * base * base; end++; break;
    default: break;
    }
    if (*end || (mul > 1 && v > UINT64_MAX / mul))
        return -1;
    *out = v * mul;
    return 0;
}

static int kvb_parse_int(const char *s, int lo, int hi, int *out)
{
    uint64_t v;
    if (kvb_parse_u64(s, 0, &v) || v < (uint64_t)lo || v > (uint64_t)hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* Splits a comma list; each item goes through fn. Returns -1 on a bad item. */
static int kvb_parse_list(const char *s, int *out, int *n, int (*fn)(const char *, int *))
{
    char buf[1024], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", s);
    *n = 0;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n >= KVB_MAX_LIST || fn(tok, &out[*n]) != 0) {
            fprintf(stderr, "kvbench: bad list item '%s'\n", tok);
            return -1;
        }
        (*n)++;
    }
    return *n ? 0 : -1;
}

static int kvb_bench_by_name(const char *s, int *out)
{
    for (int i = 0; i < KVB_NBENCH; i++)
        if (strcmp(s, kvb_bench_names[i]) == 0) {
            *out = i;
            return 0;
        }
    return -1;
}

static int kvb_backend_by_name(const char *s, int *out)
{
    for (int i = 0; i < KVB_NBACKENDS; i++)
        if (strcmp(s, kvb_backend_names[i]) == 0) {
            if (!kvb_backends[i]) {
                fprintf(stderr, "kvbench: backend %s is not compiled in\n", s);
                return -1;
            }
            *out = i;
            return 0;
        }
    return -1;
}

static int kvb_threads_item(const char *s, int *out)
{
    return kvb_parse_int(s, 1, KVB_MAX_THREADS, out);
}

static int kvb_parse_args(int argc, char **argv, kvb_config_t *c)
{
    int reads_set = 0;
    memset(c, 0, sizeof(*c));
    c->num = 500000;
    c->threads[0] = 1;
    c->nthreads = 1;
    c->bench[0] = KVB_FILLSEQ;
    c->bench[1] = KVB_FILLRANDOM;
    c->bench[2] = KVB_READRANDOM;
    c->nbench = 3;
    for (int i = 0; i < KVB_NBACKENDS; i++)
        if (kvb_backends[i])
            c->backend[c->nbackends++] = i;
    c->reps = 1;
    c->cache_size = 64u << 20;
    c->bloom_bits = 10;
    c->max_open_files = 1000;
    c->verify = 1;
    c->stats = 1;
    c->seed = 301;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        char name[64];
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        const char *v = eq ? eq + 1 : NULL;
        int bad = 0;
        uint64_t u;
        if (nl >= sizeof(name) || strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "kvbench: unknown argument '%s'\n", a);
            return -1;
        }
        memcpy(name, a, nl);
        name[nl] = 0;
        if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
            kvb_usage(stdout);
            exit(0);
        } else if (!strcmp(name, "--csv")) {
            bad = v && kvb_parse_int(v, 0, 1, &c->csv);
            if (!v)
                c->csv = 1;
        } else if (!strcmp(name, "--pipelined")) {
            c->pipelined = 1;
            bad = v && kvb_parse_int(v, 0, 1, &c->pipelined);
        } else if (!strcmp(name, "--concurrent-memtable")) {
            c->concurrent = 1;
            bad = v && kvb_parse_int(v, 0, 1, &c->concurrent);
        } else if (!v) {
            bad = 1;
        } else if (!strcmp(name, "--num")) {
            bad = kvb_parse_u64(v, 0, &c->num) || c->num == 0 || c->num > UINT32_MAX;
        } else if (!strcmp(name, "--reads")) {
            bad = kvb_parse_u64(v, 0, &c->reads);
            reads_set = 1;
        } else if (!strcmp(name, "--threads")) {
            bad = kvb_parse_list(v, c->threads, &c->nthreads, kvb_threads_item);
        } else if (!strcmp(name, "--benchmarks")) {
            bad = kvb_parse_list(v, c->bench, &c->nbench, kvb_bench_by_name);
        } else if (!strcmp(name, "--backends")) {
            bad = kvb_parse_list(v, c->backend, &c->nbackends, kvb_backend_by_name);
        } else if (!strcmp(name, "--sync")) {
            bad = kvb_parse_int(v, 0, 1, &c->sync);
        } else if (!strcmp(name, "--reps")) {
            bad = kvb_parse_int(v, 1, 255, &c->reps);
        } else if (!strcmp(name, "--db")) {
            c->db = v;
            bad = !*v;
        } else if (!strcmp(name, "--cache-size")) {
            bad = kvb_parse_u64(v, 1, &u);
            c->cache_size = (size_t)u;
        } else if (!strcmp(name, "--bloom-bits")) {
            bad = kvb_parse_int(v, 0, 64, &c->bloom_bits);
        } else if (!strcmp(name, "--max-open-files")) {
            bad = kvb_parse_int(v, 10, 1000000, &c->max_open_files);
        } else if (!strcmp(name, "--reopen")) {
            bad = kvb_parse_int(v, 0, 1, &c->reopen);
        } else if (!strcmp(name, "--verify")) {
            bad = kvb_parse_int(v, 0, 1, &c->verify);
        } else if (!strcmp(name, "--stats")) {
            bad = kvb_parse_int(v, 0, 1, &c->stats);
        } else if (!strcmp(name, "--seed")) {
            bad = kvb_parse_u64(v, 0, &c->seed);
        } else {
            fprintf(stderr, "kvbench: unknown option '%s' (see --help)\n", name);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "kvbench: bad value in '%s' (see --help)\n", a);
            return -1;
        }
    }
    if (!reads_set)
        c->reads = c->num;
    for (int i = 0; i < c->nbackends; i++)
        for (int j = 0; j < i; j++)
            if (c->backend[i] == c->backend[j]) {
                fprintf(stderr, "kvbench: backend %s listed twice\n",
                        kvb_backend_names[c->backend[i]]);
                return -1;
            }
    return 0;
}

int main(int argc, char **argv)
{
    kvb_config_t cfg;
    kvb_driver_t d = {.cfg = &cfg};
    int made_dir = 0;

    if (kvb_parse_args(argc, argv, &cfg) != 0)
        return 2;
    if (cfg.db) {
        snprintf(d.dir, sizeof(d.dir), "%s", cfg.db);
        if (!kvb_is_rados(d.dir) && mkdir(d.dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "kvbench: cannot create %s: %s\n", d.dir, strerror(errno));
            return 1;
        }
    } else {
        snprintf(d.dir, sizeof(d.dir), "/tmp/kvbench-XXXXXX");
        if (!mkdtemp(d.dir)) {
            fprintf(stderr, "kvbench: cannot create a temp dir: %s\n", strerror(errno));
            return 1;
        }
        made_dir = 1;
    }
    d.res = calloc((size_t)cfg.nbench * (size_t)cfg.nthreads * KVB_NBACKENDS * (size_t)cfg.reps,
                   sizeof(kvb_result_t));
    if (!d.res)
        return 1;
    for (size_t i = 0;
         i < (size_t)cfg.nbench * (size_t)cfg.nthreads * KVB_NBACKENDS * (size_t)cfg.reps; i++)
        d.res[i].ops_s = d.res[i].mb_s = d.res[i].w_per_sync = d.res[i].wamp = -1;

    for (int ti = 0; ti < cfg.nthreads; ti++)
        for (int rep = 0; rep < cfg.reps; rep++)
            for (int i = 0; i < cfg.nbackends; i++)
                kvb_sequence(&d, cfg.backend[(i + rep) % cfg.nbackends], ti, rep);

    kvb_print_table(&d);
    fflush(stdout);
    if (made_dir)
        kvb_rm_rf(d.dir);
    free(d.res);
    return d.failed ? 1 : 0;
}
