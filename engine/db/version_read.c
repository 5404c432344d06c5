/*
 * version_read.c - point lookups, iterators and range tombstones of a version
 * (see version_read.h).
 *
 * Level lookup (levels >= 1): the seek key (user_key, snapshot, TYPE_FOR_SEEK) is the
 * smallest internal key a visible entry of user_key can have; the first file whose largest
 * key is >= it is the only file of the level that can hold such an entry, or a tombstone
 * covering user_key (a file's key range covers its tombstones). Versions of one user key
 * split across two adjacent files are handled by that same rule.
 *
 * Level iterator invariants: `cur` is NULL or an iterator over files[idx]; when the
 * iterator is valid, cur is positioned on an entry. Moving past the end of one file opens
 * the next (or previous) one; an empty file is skipped, but a file whose iterator reports
 * an error stops the walk there, so the error reaches status() instead of being skipped.
 */
#include "db/version_read.h"

#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"

/* ---- point lookups ---- */

static int in_user_range(const file_meta_t *f, slice_t user_key)
{
    return slice_compare(user_key, ikey_user_key(f->smallest)) >= 0 &&
           slice_compare(user_key, ikey_user_key(f->largest)) <= 0;
}

/* Asks one file; sets *decided when it found the key or a deletion of it. */
static status_t ask_file(table_cache_t *tc, const file_meta_t *f, slice_t user_key,
                         uint64_t snapshot, int verify, int fill, buf_t *value,
                         vget_result_t *result, int *decided)
{
    table_get_result_t r = TABLE_NOT_FOUND;
    uint64_t seq = 0;
    status_t s = table_cache_get_value(tc, f->number, f->size, user_key, snapshot, verify, fill,
                                       value, &r, &seq);
    if (s)
        return s;
    if (r == TABLE_FOUND) {
        *result = VGET_FOUND;
        *decided = 1;
    } else if (r == TABLE_DELETED) {
        *result = VGET_DELETED;
        *decided = 1;
    }
    return NULL;
}

status_t version_get(version_t *v, table_cache_t *tc, slice_t user_key, uint64_t snapshot,
                     int verify_checksums, int fill_cache, buf_t *value,
                     vget_result_t *result)
{
    *result = VGET_NOT_FOUND;
    int decided = 0;
    for (int i = 0; i < v->nfiles[0]; i++) {
        const file_meta_t *f = v->files[0][i];
        if (!in_user_range(f, user_key) || f->smallest_seq > snapshot)
            continue;
        status_t s = ask_file(tc, f, user_key, snapshot, verify_checksums, fill_cache, value,
                              result, &decided);
        if (s || decided)
            return s;
    }
    if (snapshot > MAX_SEQUENCE)
        snapshot = MAX_SEQUENCE;
    char stack[256];
    char *seek = user_key.size + 8 <= sizeof(stack) ? stack : malloc(user_key.size + 8);
    if (!seek)
        return st_error(ST_IO_ERROR, "out of memory in a lookup");
    ikey_encode(seek, user_key, snapshot, TYPE_FOR_SEEK);
    slice_t target = slice_make(seek, user_key.size + 8);
    status_t s = NULL;
    for (int l = 1; l < v->num_levels && !s && !decided; l++) {
        int idx = version_find_file(v, l, target);
        if (idx >= v->nfiles[l])
            continue;
        const file_meta_t *f = v->files[l][idx];
        if (slice_compare(user_key, ikey_user_key(f->smallest)) < 0)
            continue;
        s = ask_file(tc, f, user_key, snapshot, verify_checksums, fill_cache, value, result,
                     &decided);
    }
    if (seek != stack)
        free(seek);
    if (s)
        *result = VGET_NOT_FOUND;
    return s;
}

/* ---- the level iterator ---- */

typedef struct {
    iter_t base;
    version_t *v;
    int level;
    table_cache_t *tc;
    int verify, fill;
    int idx;          /* file of cur; meaningless when cur is NULL */
    iter_t *cur;
    status_t st;      /* our own error (out of memory); children report theirs */
} level_iter_t;

static void li_set_file(level_iter_t *it, int idx)
{
    if (it->cur && it->idx == idx)
        return;
    iter_destroy(it->cur);
    it->cur = NULL;
    it->idx = idx;
    if (idx < 0 || idx >= it->v->nfiles[it->level])
        return;
    const file_meta_t *f = it->v->files[it->level][idx];
    it->cur = table_cache_iter_new(it->tc, f->number, f->size, it->verify, it->fill, NULL);
    if (!it->cur && !it->st)
        it->st = st_error(ST_IO_ERROR, "out of memory opening an iterator on %06llu.sst",
                          (unsigned long long)f->number);
}

static int li_stuck(level_iter_t *it)
{
    return !it->cur || iter_status(it->cur) != NULL;
}

/* Moves forward over exhausted / empty files. */
static void li_skip_forward(level_iter_t *it)
{
    while (!li_stuck(it) && !iter_valid(it->cur)) {
        if (it->idx + 1 >= it->v->nfiles[it->level]) {
            iter_destroy(it->cur);
            it->cur = NULL;
            return;
        }
        li_set_file(it, it->idx + 1);
        if (it->cur)
            iter_seek_to_first(it->cur);
    }
}

static void li_skip_backward(level_iter_t *it)
{
    while (!li_stuck(it) && !iter_valid(it->cur)) {
        if (it->idx == 0) {
            iter_destroy(it->cur);
            it->cur = NULL;
            return;
        }
        li_set_file(it, it->idx - 1);
        if (it->cur)
            iter_seek_to_last(it->cur);
    }
}

static int li_valid(iter_t *b)
{
    level_iter_t *it = (level_iter_t *)b;
    return it->cur && iter_valid(it->cur);
}

static void li_seek_to_first(iter_t *b)
{
    level_iter_t *it = (level_iter_t *)b;
    li_set_file(it, 0);
    if (it->cur)
        iter_seek_to_first(it->cur);
    li_skip_forward(it);
}

static void li_seek_to_last(iter_t *b)
{
    level_iter_t *it = (level_iter_t *)b;
    li_set_file(it, it->v->nfiles[it->level] - 1);
    if (it->cur)
        iter_seek_to_last(it->cur);
    li_skip_backward(it);
}

static void li_seek(iter_t *b, slice_t target)
{
    level_iter_t *it = (level_iter_t *)b;
    li_set_file(it, version_find_file(it->v, it->level, target));
    if (it->cur)
        iter_seek(it->cur, target);
    li_skip_forward(it);
}

static void li_seek_for_prev(iter_t *b, slice_t target)
{
    level_iter_t *it = (level_iter_t *)b;
    int n = it->v->nfiles[it->level];
    int idx = version_find_file(it->v, it->level, target);
    if (idx >= n)
        idx = n - 1;
    li_set_file(it, idx);
    if (it->cur)
        iter_seek_for_prev(it->cur, target);
    li_skip_backward(it);
}

static void li_next(iter_t *b)
{
    level_iter_t *it = (level_iter_t *)b;
    iter_next(it->cur);
    li_skip_forward(it);
}

static void li_prev(iter_t *b)
{
    level_iter_t *it = (level_iter_t *)b;
    iter_prev(it->cur);
    li_skip_backward(it);
}

static slice_t li_key(iter_t *b) { return iter_key(((level_iter_t *)b)->cur); }
static slice_t li_value(iter_t *b) { return iter_value(((level_iter_t *)b)->cur); }

static status_t li_status(iter_t *b)
{
    level_iter_t *it = (level_iter_t *)b;
    if (it->st)
        return it->st;
    return it->cur ? iter_status(it->cur) : NULL;
}

static void li_destroy(iter_t *b)
{
    level_iter_t *it = (level_iter_t *)b;
    iter_destroy(it->cur);
    st_free(it->st);
    version_unref(it->v);
    free(it);
}

static const iter_ops_t level_iter_ops = {
    li_valid, li_seek_to_first, li_seek_to_last, li_seek, li_seek_for_prev,
    li_next, li_prev, li_key, li_value, li_status, li_destroy,
};

iter_t *version_level_iter_new(version_t *v, int level, table_cache_t *tc,
                               int verify_checksums, int fill_cache)
{
    level_iter_t *it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    it->base.ops = &level_iter_ops;
    version_ref(v);
    it->v = v;
    it->level = level;
    it->tc = tc;
    it->verify = verify_checksums;
    it->fill = fill_cache;
    it->idx = -1;
    return &it->base;
}

status_t version_add_iterators(version_t *v, table_cache_t *tc, int verify_checksums,
                               int fill_cache, iter_t ***out, int *n)
{
    *out = NULL;
    *n = 0;
    int total = v->nfiles[0];
    for (int l = 1; l < v->num_levels; l++)
        total += v->nfiles[l] > 0;
    iter_t **arr = malloc(sizeof(iter_t *) * (size_t)(total ? total : 1));
    if (!arr)
        return st_error(ST_IO_ERROR, "out of memory making iterators");
    int k = 0;
    for (int i = 0; i < v->nfiles[0]; i++) {
        const file_meta_t *f = v->files[0][i];
        iter_t *it = table_cache_iter_new(tc, f->number, f->size, verify_checksums, fill_cache,
                                          NULL);
        if (!it)
            goto oom;
        arr[k++] = it;
    }
    for (int l = 1; l < v->num_levels; l++) {
        if (!v->nfiles[l])
            continue;
        iter_t *it = version_level_iter_new(v, l, tc, verify_checksums, fill_cache);
        if (!it)
            goto oom;
        arr[k++] = it;
    }
    *out = arr;
    *n = k;
    return NULL;
oom:
    while (k > 0)
        iter_destroy(arr[--k]);
    free(arr);
    return st_error(ST_IO_ERROR, "out of memory making iterators");
}

/* ---- range tombstones ---- */

typedef struct {
    range_del_t *dst;
    uint64_t snapshot;
    int oom;
} rd_copy_t;

static int rd_copy(void *arg, slice_t start, slice_t end, uint64_t seq)
{
    rd_copy_t *c = arg;
    if (seq > c->snapshot)
        return 0;
    if (range_del_add(c->dst, seq, start, end) != 0) {
        c->oom = 1;
        return 1;
    }
    return 0;
}

status_t version_add_range_dels(version_t *v, table_cache_t *tc, range_del_t *dst,
                                uint64_t snapshot)
{
    rd_copy_t c = {dst, snapshot, 0};
    for (int l = 0; l < v->num_levels; l++) {
        for (int i = 0; i < v->nfiles[l]; i++) {
            const file_meta_t *f = v->files[l][i];
            if (f->num_range_dels == 0 || f->smallest_seq > snapshot)
                continue;
            cache_handle_t *h;
            ST_RETURN_IF_ERR(table_cache_get(tc, f->number, f->size, &h));
            table_range_dels(table_cache_table(h), rd_copy, &c);
            table_cache_release(tc, h);
            if (c.oom)
                return st_error(ST_IO_ERROR, "out of memory collecting range tombstones of "
                                "%06llu.sst", (unsigned long long)f->number);
        }
    }
    return NULL;
}
