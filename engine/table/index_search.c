/*
 * index_search.c - fingerprint search over an index block (see index_search.h).
 *
 * Invariant: fingerprints are compared as unsigned 64-bit integers; fp(a) <= fp(b)
 * whenever user key a <= user key b and both start with the common prefix, because the
 * first 8 bytes after it, zero-padded, are loaded big-endian.
 */
#include "table/index_search.h"

#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"

static size_t common_prefix(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* The fingerprint of user key k after its first cp_len bytes (k.size >= cp_len). */
static inline uint64_t fingerprint(slice_t k, uint32_t cp_len)
{
    unsigned char b[8] = {0};
    size_t n = k.size - cp_len;
    memcpy(b, k.data + cp_len, n < 8 ? n : 8);
    uint64_t v;
    memcpy(&v, b, 8);
    return __builtin_bswap64(v);
}

/* Common prefix of the user keys of every entry but the last (the keys are sorted, so
 * that of the first and the second-to-last), with the entry count; -1 unless every entry
 * is a restart. The last entry is left out because a table's last separator is usually
 * a short successor of its last key ("0999" -> "1") that shares nothing with the rest. */
static int scan_index(const block_t *index, char **cp, uint32_t *cp_len, uint32_t *n)
{
    block_iter_t it;
    block_iter_init(&it, index, ikey_compare, BLOCK_IKEYS);
    uint32_t count = 0;
    size_t len = 0, pending = 0; /* pending: the previous entry's common prefix */
    int rc = 0;
    *cp = NULL;
    for (block_iter_seek_to_first(&it); block_iter_valid(&it); block_iter_next(&it)) {
        slice_t u = ikey_user_key(it.key);
        if (count == 0) {
            *cp = malloc(u.size ? u.size : 1);
            if (!*cp) {
                rc = -1;
                break;
            }
            memcpy(*cp, u.data, u.size);
            len = pending = u.size;
        } else {
            if (pending < len)
                len = pending;
            pending = common_prefix(*cp, len, u.data, u.size);
        }
        count++;
    }
    if (it.st || count == 0 || count != index->nrestarts || len > UINT32_MAX)
        rc = -1;
    block_iter_cleanup(&it);
    if (rc < 0) {
        free(*cp);
        *cp = NULL;
        return -1;
    }
    *cp_len = (uint32_t)len;
    *n = count;
    return 0;
}

void index_search_build(index_search_t *s, const block_t *index)
{
    memset(s, 0, sizeof(*s));
    if (index->bad || scan_index(index, &s->cp, &s->cp_len, &s->n) < 0)
        return;
    uint32_t m = s->n - 1;
    uint64_t *pfx = malloc(sizeof(*pfx) * (size_t)(m ? m : 1));
    if (!pfx) {
        index_search_free(s);
        return;
    }
    block_handle_t *handles = malloc(sizeof(*handles) * (size_t)s->n);
    if (!handles) {
        free(pfx);
        index_search_free(s);
        return;
    }
    block_iter_t it;
    block_iter_init(&it, index, ikey_compare, BLOCK_IKEYS);
    uint32_t i = 0;
    int ok = 1;
    for (block_iter_seek_to_first(&it); block_iter_valid(&it) && i < s->n && ok;
         block_iter_next(&it), i++) {
        if (i < m)
            pfx[i] = fingerprint(ikey_user_key(it.key), s->cp_len);
        slice_t v = it.value;
        ok = block_handle_decode(&v, &handles[i]) == 0 && v.size == 0;
    }
    ok = ok && !it.st && i == s->n;
    block_iter_cleanup(&it);
    if (!ok) {
        free(pfx);
        free(handles);
        index_search_free(s);
        return;
    }
    s->pfx = pfx;
    s->handles = handles;
}

void index_search_free(index_search_t *s)
{
    free(s->pfx);
    free(s->handles);
    free(s->cp);
    memset(s, 0, sizeof(*s));
}

size_t index_search_bytes(const index_search_t *s)
{
    return s->pfx ? sizeof(uint64_t) * (size_t)(s->n - 1) + sizeof(block_handle_t) * s->n +
                        s->cp_len
                  : 0;
}

/* First i in [0, n] with pfx[i] >= v (ge) or > v (!ge). */
static uint32_t bound(const uint64_t *pfx, uint32_t n, uint64_t v, int ge)
{
    uint32_t lo = 0;
    while (n > 0) {
        uint32_t half = n / 2;
        uint64_t x = pfx[lo + half];
        if (ge ? x < v : x <= v) {
            lo += half + 1;
            n -= half + 1;
        } else {
            n = half;
        }
    }
    return lo;
}

/* Brackets the answer for target: every entry before *lo is < target and entry *hi, if
 * it is not the last, is > target. Requires s->pfx. */
static void bracket(const index_search_t *s, slice_t target, uint32_t *lo, uint32_t *hi)
{
    uint32_t last = s->n - 1; /* entries [0, last) have fingerprints; see scan_index */
    slice_t u = ikey_user_key(target);
    size_t m = u.size < s->cp_len ? u.size : s->cp_len;
    int c = m ? memcmp(u.data, s->cp, m) : 0;
    if (c < 0 || (c == 0 && u.size < s->cp_len)) {
        /* Before every key (the last one sorts after the others): the first entry. */
        *lo = *hi = 0;
        return;
    }
    if (c > 0) {
        /* After every key but possibly the last: the scan of the last one decides. */
        *lo = *hi = last;
        return;
    }
    uint64_t fp = fingerprint(u, s->cp_len);
    *lo = bound(s->pfx, last, fp, 1);
    *hi = *lo < last && s->pfx[*lo] == fp ? *lo + bound(s->pfx + *lo, last - *lo, fp, 0) : *lo;
}

int index_search_locate(const index_search_t *s, block_iter_t *it, slice_t target,
                        uint32_t *pos)
{
    if (!s->pfx || target.size < 8) {
        block_iter_seek(it, target);
        return 0;
    }
    uint32_t lo, hi;
    bracket(s, target, &lo, &hi);
    /* lo == hi < last: entry lo is > target (its fingerprint is larger, or it is entry 0
     * and target sorts before the common prefix) and everything before it is < target. */
    if (lo == hi && lo < s->n - 1) {
        *pos = lo;
        return 1;
    }
    block_iter_seek_hint(it, target, lo, hi);
    return 0;
}

void index_search_seek(const index_search_t *s, block_iter_t *it, slice_t target)
{
    uint32_t pos;
    if (index_search_locate(s, it, target, &pos))
        block_iter_seek_hint(it, target, pos, pos);
}
