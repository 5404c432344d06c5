/*
 * table_cache.c - file number -> open table_t (see table_cache.h).
 *
 * The LRU cache holds one table reference per entry; its deleter drops it. A handle given
 * out pins the entry, so the table cannot be closed under its user.
 */
#include "db/table_cache.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/filename.h"
#include "util/coding.h"

struct table_cache {
    env_t *env;
    char *dbdir;
    table_read_options_t ro;
    cache_t *lru;
};

table_cache_t *table_cache_new(env_t *env, const char *dbdir, int max_open_files,
                               const table_read_options_t *ro)
{
    if (max_open_files < 1)
        max_open_files = 1;
    table_cache_t *tc = calloc(1, sizeof(*tc));
    if (!tc)
        return NULL;
    tc->env = env;
    tc->dbdir = strdup(dbdir);
    tc->ro = *ro;
    /* Small budgets get one shard so that the bound is exact; large ones are sharded to
     * spread lock contention (each shard then gets ceil(max/16) of the budget). */
    tc->lru = cache_new_sharded((size_t)max_open_files, max_open_files >= 1024 ? 4 : 0);
    if (!tc->dbdir || !tc->lru) {
        free(tc->dbdir);
        cache_destroy(tc->lru);
        free(tc);
        return NULL;
    }
    return tc;
}

void table_cache_destroy(table_cache_t *tc)
{
    if (!tc)
        return;
    cache_destroy(tc->lru);
    free(tc->dbdir);
    free(tc);
}

static void table_deleter(slice_t key, void *value)
{
    (void)key;
    table_unref(value);
}

status_t table_cache_get(table_cache_t *tc, uint64_t number, uint64_t size, cache_handle_t **handle)
{
    char key[8];
    encode_fixed64(key, number);
    *handle = cache_lookup(tc->lru, slice_make(key, 8));
    if (*handle)
        return NULL;
    char path[PATH_MAX];
    fn_table(path, sizeof(path), tc->dbdir, number);
    table_t *t;
    ST_RETURN_IF_ERR(table_open(tc->env, path, number, size, &tc->ro, &t));
    *handle = cache_insert(tc->lru, slice_make(key, 8), t, 1, table_deleter);
    if (!*handle)
        return st_io(ENOMEM, "%s: table cache", path);
    return NULL;
}

void table_cache_release(table_cache_t *tc, cache_handle_t *h) { cache_release(tc->lru, h); }

void table_cache_evict(table_cache_t *tc, uint64_t number)
{
    char key[8];
    encode_fixed64(key, number);
    cache_erase(tc->lru, slice_make(key, 8));
}

status_t table_cache_get_value(table_cache_t *tc, uint64_t number, uint64_t size,
                               slice_t user_key, uint64_t snapshot, int verify_checksums,
                               int fill_cache, buf_t *value, table_get_result_t *result,
                               uint64_t *seq)
{
    *result = TABLE_NOT_FOUND;
    cache_handle_t *h;
    ST_RETURN_IF_ERR(table_cache_get(tc, number, size, &h));
    status_t s = table_get(table_cache_table(h), user_key, snapshot, verify_checksums, fill_cache,
                           value, result, seq);
    cache_release(tc->lru, h);
    return s;
}

static void release_pin(void *a, void *b) { cache_release(a, b); }

iter_t *table_cache_iter_new(table_cache_t *tc, uint64_t number, uint64_t size,
                             int verify_checksums, int fill_cache, table_t **table_out)
{
    if (table_out)
        *table_out = NULL;
    cache_handle_t *h;
    status_t s = table_cache_get(tc, number, size, &h);
    if (s)
        return iter_new_empty(s);
    table_t *t = table_cache_table(h);
    iter_t *it = table_iter_new_with_cleanup(t, verify_checksums, fill_cache, release_pin,
                                             tc->lru, h);
    if (!it) {
        cache_release(tc->lru, h);
        return NULL;
    }
    if (table_out)
        *table_out = t;
    return it;
}

size_t table_cache_open_tables(table_cache_t *tc) { return cache_entries(tc->lru); }
cache_t *table_cache_lru(table_cache_t *tc) { return tc->lru; }
