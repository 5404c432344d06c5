/*
 * range_del.c - fragmented range tombstones of one memtable (see range_del.h).
 *
 * A fragment is a small struct stored as the skiplist key:
 *     start (pointer, length), end (pointer, length), seqs (pointer, n, cap)
 * Only the write-locked inserter changes `end` and `seqs` of an existing fragment (by
 * splitting or adding a sequence); readers hold the read lock, so they never see a
 * fragment mid-change. seqs is kept in descending order.
 */
#include "mem/range_del.h"

#include <string.h>

typedef struct rd_frag {
    const char *start;
    size_t start_len;
    const char *end;
    size_t end_len;
    uint64_t *seqs;
    uint32_t nseq, cap;
} rd_frag_t;

static int frag_cmp(void *arg, const char *a, const char *b)
{
    (void)arg;
    const rd_frag_t *fa = (const rd_frag_t *)a, *fb = (const rd_frag_t *)b;
    return slice_compare(slice_make(fa->start, fa->start_len), slice_make(fb->start, fb->start_len));
}

static inline slice_t f_start(const rd_frag_t *f) { return slice_make(f->start, f->start_len); }
static inline slice_t f_end(const rd_frag_t *f) { return slice_make(f->end, f->end_len); }

int range_del_init(range_del_t *rd, arena_t *arena)
{
    rd->arena = arena;
    atomic_init(&rd->count, 0);
    pthread_rwlock_init(&rd->lock, NULL);
    return skiplist_init(&rd->frags, arena, frag_cmp, NULL);
}

void range_del_destroy(range_del_t *rd) { pthread_rwlock_destroy(&rd->lock); }

static const char *copy_bytes(arena_t *a, slice_t s)
{
    char *p = arena_alloc(a, s.size ? s.size : 1);
    if (p && s.size)
        memcpy(p, s.data, s.size);
    return p;
}

/* Adds q keeping descending order; returns -1 on OOM. */
static int frag_add_seq(arena_t *a, rd_frag_t *f, uint64_t q)
{
    if (f->nseq == f->cap) {
        uint32_t cap = f->cap ? f->cap * 2 : 2;
        uint64_t *n = arena_alloc(a, sizeof(uint64_t) * cap);
        if (!n)
            return -1;
        if (f->nseq)
            memcpy(n, f->seqs, sizeof(uint64_t) * f->nseq);
        f->seqs = n;
        f->cap = cap;
    }
    uint32_t i = f->nseq;
    while (i > 0 && f->seqs[i - 1] < q) {
        f->seqs[i] = f->seqs[i - 1];
        i--;
    }
    f->seqs[i] = q;
    f->nseq++;
    return 0;
}

/* Inserts a new fragment [start, end) with a copy of `from`'s seqs (or just q). */
static rd_frag_t *frag_insert(range_del_t *rd, slice_t start, slice_t end,
                              const rd_frag_t *from, uint64_t q)
{
    sl_node_t *node;
    rd_frag_t *f = (rd_frag_t *)skiplist_alloc_key(&rd->frags, sizeof(rd_frag_t), &node);
    if (!f)
        return NULL;
    memset(f, 0, sizeof(*f));
    f->start = start.data;
    f->start_len = start.size;
    f->end = end.data;
    f->end_len = end.size;
    if (from) {
        f->cap = from->nseq;
        f->nseq = from->nseq;
        f->seqs = arena_alloc(rd->arena, sizeof(uint64_t) * (from->nseq ? from->nseq : 1));
        if (!f->seqs)
            return NULL;
        memcpy(f->seqs, from->seqs, sizeof(uint64_t) * from->nseq);
    } else if (frag_add_seq(rd->arena, f, q) < 0) {
        return NULL;
    }
    skiplist_insert(&rd->frags, node);
    return f;
}

/* Splits f at key k (f.start < k < f.end): f keeps [start, k), a new fragment [k, end). */
static int frag_split(range_del_t *rd, rd_frag_t *f, slice_t k)
{
    rd_frag_t *tail = frag_insert(rd, k, f_end(f), f, 0);
    if (!tail)
        return -1;
    f->end = k.data;
    f->end_len = k.size;
    return 0;
}

int range_del_add(range_del_t *rd, uint64_t seq, slice_t start_in, slice_t end_in)
{
    if (slice_compare(start_in, end_in) >= 0)
        return 0;
    const char *sp = copy_bytes(rd->arena, start_in);
    const char *ep = copy_bytes(rd->arena, end_in);
    if (!sp || !ep)
        return -1;
    slice_t start = slice_make(sp, start_in.size), end = slice_make(ep, end_in.size);
    int rc = 0;
    pthread_rwlock_wrlock(&rd->lock);

    rd_frag_t probe = {start.data, start.size, NULL, 0, NULL, 0, 0};
    sl_iter_t it;
    sl_iter_init(&it, &rd->frags);
    /* A fragment that starts before `start` and reaches past it is split at start. */
    sl_iter_seek_for_prev(&it, (const char *)&probe);
    if (sl_iter_valid(&it)) {
        rd_frag_t *f = (rd_frag_t *)sl_iter_key(&it);
        if (slice_compare(f_start(f), start) < 0 && slice_compare(f_end(f), start) > 0)
            if (frag_split(rd, f, start) < 0)
                rc = -1;
    }
    slice_t cur = start;
    sl_iter_seek(&it, (const char *)&probe);
    while (rc == 0 && sl_iter_valid(&it)) {
        rd_frag_t *g = (rd_frag_t *)sl_iter_key(&it);
        if (slice_compare(f_start(g), end) >= 0)
            break;
        if (slice_compare(cur, f_start(g)) < 0 && !frag_insert(rd, cur, f_start(g), NULL, seq)) {
            rc = -1;
            break;
        }
        if (slice_compare(f_end(g), end) > 0 && frag_split(rd, g, end) < 0) {
            rc = -1;
            break;
        }
        if (frag_add_seq(rd->arena, g, seq) < 0) {
            rc = -1;
            break;
        }
        cur = f_end(g);
        sl_iter_next(&it);
    }
    if (rc == 0 && slice_compare(cur, end) < 0 && !frag_insert(rd, cur, end, NULL, seq))
        rc = -1;
    if (rc == 0)
        atomic_fetch_add_explicit(&rd->count, 1, memory_order_release);
    pthread_rwlock_unlock(&rd->lock);
    return rc;
}

uint64_t range_del_max_covering(range_del_t *rd, slice_t key, uint64_t snapshot)
{
    if (range_del_count(rd) == 0)
        return 0;
    uint64_t best = 0;
    rd_frag_t probe = {key.data, key.size, NULL, 0, NULL, 0, 0};
    pthread_rwlock_rdlock(&rd->lock);
    sl_iter_t it;
    sl_iter_init(&it, &rd->frags);
    sl_iter_seek_for_prev(&it, (const char *)&probe);
    if (sl_iter_valid(&it)) {
        const rd_frag_t *f = (const rd_frag_t *)sl_iter_key(&it);
        if (slice_compare(key, f_end(f)) < 0) {
            for (uint32_t i = 0; i < f->nseq; i++) {
                if (f->seqs[i] <= snapshot) {
                    best = f->seqs[i];
                    break;
                }
            }
        }
    }
    pthread_rwlock_unlock(&rd->lock);
    return best;
}

void range_del_walk(range_del_t *rd, int (*fn)(void *arg, slice_t start, slice_t end, uint64_t seq),
                    void *arg)
{
    if (range_del_count(rd) == 0)
        return;
    pthread_rwlock_rdlock(&rd->lock);
    sl_iter_t it;
    sl_iter_init(&it, &rd->frags);
    int stop = 0;
    for (sl_iter_seek_to_first(&it); !stop && sl_iter_valid(&it); sl_iter_next(&it)) {
        const rd_frag_t *f = (const rd_frag_t *)sl_iter_key(&it);
        for (uint32_t i = 0; i < f->nseq && !stop; i++)
            stop = fn(arg, f_start(f), f_end(f), f->seqs[i]);
    }
    pthread_rwlock_unlock(&rd->lock);
}
