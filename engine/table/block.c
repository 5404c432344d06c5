/*
 * block.c - block validation and iteration (see block.h).
 *
 * Invariants of a block_iter_t: when valid, [cur, next) is one well-formed entry inside
 * the entry area, key/value describe it, and ridx is the last restart point <= cur.
 * Once st is set the iterator stays invalid and every positioning call is a no-op.
 * seek binary-searches the restart points (their keys are stored whole, so they are
 * compared in place, without copying) and then scans at most one restart interval;
 * seek_hint does the same over a caller-narrowed range of restarts.
 */
#include "table/block.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "util/coding.h"

int block_init(block_t *b, const char *data, size_t size, char *heap)
{
    b->data = data;
    b->size = size;
    b->heap = heap;
    b->bad = 1;
    b->restart_off = 0;
    b->nrestarts = 0;
    if (size < 4 || size > UINT32_MAX)
        return -1;
    uint32_t n = decode_fixed32(data + size - 4);
    if (n == 0 || n > (size - 4) / 4)
        return -1;
    uint32_t roff = (uint32_t)(size - 4 - 4 * (size_t)n);
    uint32_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = decode_fixed32(data + roff + 4 * (size_t)i);
        if (i == 0 ? r != 0 : (r <= prev || r >= roff))
            return -1;
        prev = r;
    }
    b->restart_off = roff;
    b->nrestarts = n;
    b->bad = 0;
    return 0;
}

void block_release(block_t *b)
{
    free(b->heap);
    b->heap = NULL;
    b->data = NULL;
    b->size = 0;
}

int block_bytewise_cmp(slice_t a, slice_t b) { return slice_compare(a, b); }

static inline uint32_t restart_at(const block_iter_t *it, uint32_t i)
{
    return decode_fixed32(it->data + it->restart_off + 4 * (size_t)i);
}

/* Decodes an entry header at p; returns the start of the key delta, or NULL if the entry
 * does not fit before limit. */
static inline const char *decode_entry(const char *p, const char *limit, uint32_t *shared,
                                       uint32_t *non_shared, uint32_t *vlen)
{
    if (limit - p < 3)
        return NULL;
    const unsigned char *u = (const unsigned char *)p;
    *shared = u[0];
    *non_shared = u[1];
    *vlen = u[2];
    if ((*shared | *non_shared | *vlen) < 128) {
        p += 3;
    } else {
        if (!(p = decode_varint32(p, limit, shared)) ||
            !(p = decode_varint32(p, limit, non_shared)) ||
            !(p = decode_varint32(p, limit, vlen)))
            return NULL;
    }
    if ((size_t)(limit - p) < (size_t)*non_shared + *vlen)
        return NULL;
    return p;
}

static void corrupt(block_iter_t *it, uint32_t off, const char *what)
{
    if (!it->st)
        it->st = st_error(ST_CORRUPTION, "bad block entry at block offset %u: %s", (unsigned)off,
                          what);
    it->cur = it->restart_off;
}

/* Decodes the entry at off; the previous key (it->key) supplies the shared prefix. */
static void parse_at(block_iter_t *it, uint32_t off, int at_restart)
{
    uint32_t sh, ns, vl;
    const char *p = decode_entry(it->data + off, it->data + it->restart_off, &sh, &ns, &vl);
    if (!p) {
        corrupt(it, off, "entry runs past the end of the block");
        return;
    }
    if (at_restart && sh != 0) {
        corrupt(it, off, "restart entry shares a prefix");
        return;
    }
    if (sh > it->key.size) {
        corrupt(it, off, "shared prefix longer than the previous key");
        return;
    }
    if (sh == 0) {
        it->key = slice_make(p, ns);
    } else {
        size_t klen = (size_t)sh + ns;
        if (klen > it->kcap) {
            size_t cap = it->kcap * 2 > klen ? it->kcap * 2 : klen;
            char *nb = malloc(cap);
            if (!nb) {
                if (!it->st)
                    it->st = st_io(ENOMEM, "block iterator key buffer");
                it->cur = it->restart_off;
                return;
            }
            memcpy(nb, it->key.data, sh);
            if (it->kbuf != it->kinline)
                free(it->kbuf);
            it->kbuf = nb;
            it->kcap = cap;
        } else if (it->key.data != it->kbuf) {
            memcpy(it->kbuf, it->key.data, sh);
        }
        memcpy(it->kbuf + sh, p, ns);
        it->key = slice_make(it->kbuf, klen);
    }
    it->value = slice_make(p + ns, vl);
    if ((it->flags & BLOCK_IKEYS) && !ikey_valid(it->key)) {
        corrupt(it, off, "key is not a valid internal key");
        return;
    }
    it->cur = off;
    it->next = (uint32_t)(p + ns + vl - it->data);
}

static void seek_to_restart(block_iter_t *it, uint32_t i)
{
    it->ridx = i;
    it->key = slice_make(it->kinline, 0);
    parse_at(it, restart_at(it, i), 1);
}

void block_iter_seek_to_first(block_iter_t *it)
{
    if (it->st)
        return;
    if (it->restart_off == 0) {
        it->cur = it->restart_off;
        return;
    }
    seek_to_restart(it, 0);
}

void block_iter_seek_to_restart(block_iter_t *it, uint32_t i)
{
    if (it->st)
        return;
    if (i >= it->nrestarts) {
        it->cur = it->restart_off;
        return;
    }
    seek_to_restart(it, i);
}

void block_iter_next(block_iter_t *it)
{
    if (!block_iter_valid(it))
        return;
    uint32_t off = it->next;
    if (off >= it->restart_off) {
        it->cur = it->restart_off;
        return;
    }
    int at_restart = 0;
    if (it->ridx + 1 < it->nrestarts) {
        uint32_t r = restart_at(it, it->ridx + 1);
        if (off == r) {
            it->ridx++;
            at_restart = 1;
        } else if (off > r) {
            corrupt(it, off, "entry straddles a restart point");
            return;
        }
    }
    parse_at(it, off, at_restart);
}

void block_iter_seek_to_last(block_iter_t *it)
{
    if (it->st)
        return;
    if (it->restart_off == 0) {
        it->cur = it->restart_off;
        return;
    }
    seek_to_restart(it, it->nrestarts - 1);
    while (block_iter_valid(it) && it->next < it->restart_off)
        block_iter_next(it);
}

void block_iter_prev(block_iter_t *it)
{
    if (!block_iter_valid(it))
        return;
    uint32_t orig = it->cur;
    uint32_t ri = it->ridx;
    if (restart_at(it, ri) == orig) {
        if (ri == 0) {
            it->cur = it->restart_off;
            return;
        }
        ri--;
    }
    seek_to_restart(it, ri);
    while (block_iter_valid(it) && it->next < orig)
        parse_at(it, it->next, 0);
    if (block_iter_valid(it) && it->next != orig)
        corrupt(it, it->cur, "entries do not chain up to the next one");
}

/* Last restart in [lo, hi] whose key is < target, or lo (see block_iter_seek_hint). */
static void seek_restarts(block_iter_t *it, slice_t target, uint32_t lo, uint32_t hi)
{
    const char *limit = it->data + it->restart_off;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        uint32_t off = restart_at(it, mid);
        uint32_t sh, ns, vl;
        const char *p = decode_entry(it->data + off, limit, &sh, &ns, &vl);
        if (!p || sh != 0) {
            corrupt(it, off, p ? "restart entry shares a prefix" : "entry runs past the end of the block");
            return;
        }
        slice_t k = slice_make(p, ns);
        if ((it->flags & BLOCK_IKEYS) && !ikey_valid(k)) {
            corrupt(it, off, "key is not a valid internal key");
            return;
        }
        if (it->cmp(k, target) < 0)
            lo = mid;
        else
            hi = mid - 1;
    }
    seek_to_restart(it, lo);
    while (block_iter_valid(it) && it->cmp(it->key, target) < 0)
        block_iter_next(it);
}

void block_iter_seek(block_iter_t *it, slice_t target)
{
    if (it->st)
        return;
    if (it->restart_off == 0) {
        it->cur = it->restart_off;
        return;
    }
    seek_restarts(it, target, 0, it->nrestarts - 1);
}

void block_iter_seek_hint(block_iter_t *it, slice_t target, uint32_t lo, uint32_t hi)
{
    if (it->st)
        return;
    if (it->restart_off == 0) {
        it->cur = it->restart_off;
        return;
    }
    if (hi >= it->nrestarts)
        hi = it->nrestarts - 1;
    if (lo > hi)
        lo = hi;
    seek_restarts(it, target, lo, hi);
}

void block_iter_seek_for_prev(block_iter_t *it, slice_t target)
{
    block_iter_seek(it, target);
    if (it->st)
        return;
    if (block_iter_valid(it)) {
        if (it->cmp(it->key, target) > 0)
            block_iter_prev(it);
    } else {
        block_iter_seek_to_last(it);
    }
}

/* ---- iter_t ops ---- */
static int bi_valid(iter_t *it) { return block_iter_valid((block_iter_t *)it); }
static void bi_first(iter_t *it) { block_iter_seek_to_first((block_iter_t *)it); }
static void bi_last(iter_t *it) { block_iter_seek_to_last((block_iter_t *)it); }
static void bi_seek(iter_t *it, slice_t t) { block_iter_seek((block_iter_t *)it, t); }
static void bi_seek_for_prev(iter_t *it, slice_t t) { block_iter_seek_for_prev((block_iter_t *)it, t); }
static void bi_next(iter_t *it) { block_iter_next((block_iter_t *)it); }
static void bi_prev(iter_t *it) { block_iter_prev((block_iter_t *)it); }
static slice_t bi_key(iter_t *it) { return ((block_iter_t *)it)->key; }
static slice_t bi_value(iter_t *it) { return ((block_iter_t *)it)->value; }
static status_t bi_status(iter_t *it) { return ((block_iter_t *)it)->st; }
static void bi_destroy(iter_t *it)
{
    block_iter_t *b = (block_iter_t *)it;
    block_iter_cleanup(b);
    if (b->on_heap)
        free(b);
}

static const iter_ops_t block_iter_ops = {
    bi_valid, bi_first, bi_last, bi_seek, bi_seek_for_prev, bi_next, bi_prev,
    bi_key, bi_value, bi_status, bi_destroy,
};

void block_iter_init(block_iter_t *it, const block_t *b, key_cmp_fn cmp, int flags)
{
    it->base.ops = &block_iter_ops;
    it->data = b->data;
    it->restart_off = b->bad ? 0 : b->restart_off;
    it->nrestarts = b->bad ? 0 : b->nrestarts;
    it->cmp = cmp;
    it->flags = flags;
    it->cur = it->restart_off;
    it->next = 0;
    it->ridx = 0;
    it->kbuf = it->kinline;
    it->kcap = sizeof(it->kinline);
    it->key = slice_make(it->kinline, 0);
    it->value = slice_make(it->kinline, 0);
    it->st = b->bad ? st_error(ST_CORRUPTION, "block is malformed: bad restart array") : NULL;
    it->on_heap = 0;
}

void block_iter_cleanup(block_iter_t *it)
{
    if (it->kbuf != it->kinline)
        free(it->kbuf);
    it->kbuf = it->kinline;
    it->kcap = sizeof(it->kinline);
    st_free(it->st);
    it->st = NULL;
}

iter_t *block_iter_new(const block_t *b, key_cmp_fn cmp, int flags)
{
    block_iter_t *it = malloc(sizeof(*it));
    if (!it)
        return NULL;
    block_iter_init(it, b, cmp, flags);
    it->on_heap = 1;
    return &it->base;
}
