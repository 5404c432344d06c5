/*
 * merger.c - n-way merge of internal-key iterators (see merger.h).
 *
 * Invariants while the merger is valid:
 *   - direction FWD: every valid child is positioned at its first entry > the previous
 *     output (so the smallest child key is the current entry);
 *   - direction REV: every valid child is positioned at its last entry < the previous
 *     output (so the largest child key is the current entry).
 * Switching direction re-seeks every child but the current one to the other side of the
 * current key, after which the invariant of the new direction holds.
 *
 * Children are picked by a linear scan when there are few of them, and through a binary
 * heap of the valid children's indices (min-heap forwards, max-heap backwards) when there
 * are more than MERGER_LINEAR_MAX. The linear mode also keeps the runner-up (`second`: the
 * child that would come out first if the current one were gone). Only the current child
 * moves between picks, so the runner-up stays the runner-up; when the current child steps
 * and still comes before it - the common case in a scan, where runs of keys come from one
 * child - the pick costs one comparison instead of n - 1. Equal keys (which distinct
 * sequences rule out, but stay safe) are ordered by child index, as the scan did. A child that turns invalid is checked for an error; the
 * first error is copied into the merger, which stays invalid until destroyed.
 */
#include "table/merger.h"

#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"

#define MERGER_LINEAR_MAX 4

enum { DIR_FWD, DIR_REV };

/* A child's validity and current key, read once after each move of the child: the picks
 * compare keys many times, and each iter_key/iter_valid is an indirect call through the
 * child's layers. A child's key stays valid until that child moves again. */
typedef struct {
    slice_t key;
    int valid;
} kid_state_t;

typedef struct {
    iter_t base;
    iter_t **kids;
    int n;
    int cur;        /* index of the child holding the current entry; -1 when invalid */
    int second;     /* linear mode: the runner-up among valid children; -1 if none */
    kid_state_t *ks; /* per child: validity and key as of its last move */
    int dir;
    int use_heap;
    int *heap;      /* valid children, heap-ordered by their keys */
    int hn;
    status_t err;   /* first child error (owned copy) */
} merger_t;

static inline merger_t *mg(iter_t *it) { return (merger_t *)it; }

/* Orders children a, b for the current direction: < 0 when a should come out first. */
static inline int m_order(merger_t *m, int a, int b)
{
    int c = ikey_compare(m->ks[a].key, m->ks[b].key);
    return m->dir == DIR_FWD ? c : -c;
}

/* 1 when child a comes out before child b (ties by index). */
static inline int m_before(merger_t *m, int a, int b)
{
    int c = m_order(m, a, b);
    return c < 0 || (c == 0 && a < b);
}

/* Linear mode: sets cur and second to the first and second of the valid children, leaving
 * out child `skip` (-1: none). */
static void m_scan_linear(merger_t *m, int skip)
{
    int cur = -1, second = -1;
    for (int i = 0; i < m->n; i++) {
        if (i == skip || !m->ks[i].valid)
            continue;
        if (cur < 0 || m_before(m, i, cur)) {
            second = cur;
            cur = i;
        } else if (second < 0 || m_before(m, i, second)) {
            second = i;
        }
    }
    m->cur = cur;
    m->second = second;
}

/* Refreshes child i's state after it moved. */
static inline void m_load(merger_t *m, int i)
{
    iter_t *k = m->kids[i];
    m->ks[i].valid = iter_valid(k);
    if (m->ks[i].valid)
        m->ks[i].key = iter_key(k);
}

/* Notes child i's error, if it has one; returns 1 if it did. */
static int m_check(merger_t *m, int i)
{
    status_t s = iter_status(m->kids[i]);
    if (!s)
        return 0;
    if (!m->err) {
        m->err = st_copy(s);
        if (!m->err)  /* copying failed: keep a generic error rather than none */
            m->err = st_error(ST_IO_ERROR, "merging iterator: child %d failed", i);
    }
    return 1;
}

/* ---- heap ------------------------------------------------------------------------------ */

static void h_down(merger_t *m, int pos)
{
    int *h = m->heap, n = m->hn;
    for (;;) {
        int l = 2 * pos + 1, best = pos;
        if (l < n && m_order(m, h[l], h[best]) < 0)
            best = l;
        if (l + 1 < n && m_order(m, h[l + 1], h[best]) < 0)
            best = l + 1;
        if (best == pos)
            return;
        int t = h[pos];
        h[pos] = h[best];
        h[best] = t;
        pos = best;
    }
}

static void h_build(merger_t *m)
{
    m->hn = 0;
    for (int i = 0; i < m->n; i++)
        if (m->ks[i].valid)
            m->heap[m->hn++] = i;
    for (int i = m->hn / 2 - 1; i >= 0; i--)
        h_down(m, i);
}

/* ---- choosing the current child ----------------------------------------------------------- */

/* After every child was repositioned: check errors, then pick the current child. */
static void m_pick_all(merger_t *m)
{
    m->cur = -1;
    for (int i = 0; i < m->n; i++) {
        m_load(m, i);
        if (!m->ks[i].valid)
            m_check(m, i);
    }
    if (m->err)
        return;
    if (m->use_heap) {
        h_build(m);
        if (m->hn > 0)
            m->cur = m->heap[0];
        return;
    }
    m_scan_linear(m, -1);
}

/* After only the current child moved (same direction). */
static void m_pick_after_step(merger_t *m)
{
    int moved = m->cur;
    m_load(m, moved);
    int ok = m->ks[moved].valid;
    if (!ok && m_check(m, moved)) {
        m->cur = -1;
        return;
    }
    if (m->use_heap) {
        /* The moved child is heap[0]. */
        if (ok) {
            h_down(m, 0);
        } else {
            m->heap[0] = m->heap[--m->hn];
            if (m->hn > 0)
                h_down(m, 0);
        }
        m->cur = m->hn > 0 ? m->heap[0] : -1;
        return;
    }
    /* Every child but the moved one is where it was, so second is still the first of them. */
    int second = m->second;
    if (ok && (second < 0 || m_before(m, moved, second)))
        return; /* still first; still the same runner-up */
    if (!ok) {
        /* the moved child is gone: the runner-up comes out next; find the new runner-up */
        m_scan_linear(m, moved);
        return;
    }
    /* the runner-up overtook the moved child: it is current, and the new runner-up is the
     * first of the others, the moved child included */
    m->cur = second;
    int best = -1;
    for (int i = 0; i < m->n; i++) {
        if (i == second || !m->ks[i].valid)
            continue;
        if (best < 0 || m_before(m, i, best))
            best = i;
    }
    m->second = best;
}

/* ---- iter ops ------------------------------------------------------------------------------ */

static int m_valid(iter_t *it) { return mg(it)->cur >= 0; }

static void m_seek_to_first(iter_t *it)
{
    merger_t *m = mg(it);
    if (m->err)
        return;
    for (int i = 0; i < m->n; i++)
        iter_seek_to_first(m->kids[i]);
    m->dir = DIR_FWD;
    m_pick_all(m);
}

static void m_seek_to_last(iter_t *it)
{
    merger_t *m = mg(it);
    if (m->err)
        return;
    for (int i = 0; i < m->n; i++)
        iter_seek_to_last(m->kids[i]);
    m->dir = DIR_REV;
    m_pick_all(m);
}

static void m_seek(iter_t *it, slice_t target)
{
    merger_t *m = mg(it);
    if (m->err)
        return;
    for (int i = 0; i < m->n; i++)
        iter_seek(m->kids[i], target);
    m->dir = DIR_FWD;
    m_pick_all(m);
}

static void m_seek_for_prev(iter_t *it, slice_t target)
{
    merger_t *m = mg(it);
    if (m->err)
        return;
    for (int i = 0; i < m->n; i++)
        iter_seek_for_prev(m->kids[i], target);
    m->dir = DIR_REV;
    m_pick_all(m);
}

static void m_next(iter_t *it)
{
    merger_t *m = mg(it);
    if (m->cur < 0)
        return;
    if (m->dir != DIR_FWD) {
        /* Every other child sits before the current key: move each to its first entry
         * after it. Keys are distinct across children, but stay safe if one repeats. */
        iter_t *c = m->kids[m->cur];
        slice_t k = iter_key(c);
        for (int i = 0; i < m->n; i++) {
            if (i == m->cur)
                continue;
            iter_t *x = m->kids[i];
            iter_seek(x, k);
            if (iter_valid(x) && ikey_compare(iter_key(x), k) == 0)
                iter_next(x);
        }
        iter_next(c);
        m->dir = DIR_FWD;
        m_pick_all(m);
        return;
    }
    iter_next(m->kids[m->cur]);
    m_pick_after_step(m);
}

static void m_prev(iter_t *it)
{
    merger_t *m = mg(it);
    if (m->cur < 0)
        return;
    if (m->dir != DIR_REV) {
        iter_t *c = m->kids[m->cur];
        slice_t k = iter_key(c);
        for (int i = 0; i < m->n; i++) {
            if (i == m->cur)
                continue;
            iter_t *x = m->kids[i];
            iter_seek_for_prev(x, k);
            if (iter_valid(x) && ikey_compare(iter_key(x), k) == 0)
                iter_prev(x);
        }
        iter_prev(c);
        m->dir = DIR_REV;
        m_pick_all(m);
        return;
    }
    iter_prev(m->kids[m->cur]);
    m_pick_after_step(m);
}

static slice_t m_key(iter_t *it) { return mg(it)->ks[mg(it)->cur].key; }
static slice_t m_value(iter_t *it) { return iter_value(mg(it)->kids[mg(it)->cur]); }
static status_t m_status(iter_t *it) { return mg(it)->err; }

static void m_destroy(iter_t *it)
{
    merger_t *m = mg(it);
    for (int i = 0; i < m->n; i++)
        iter_destroy(m->kids[i]);
    st_free(m->err);
    free(m->kids);
    free(m->heap);
    free(m->ks);
    free(m);
}

static const iter_ops_t merger_ops = {
    m_valid, m_seek_to_first, m_seek_to_last, m_seek, m_seek_for_prev, m_next,
    m_prev,  m_key,           m_value,        m_status, m_destroy,
};

iter_t *merging_iter_new(iter_t **children, int n)
{
    if (n <= 0)
        return iter_new_empty(ST_OK_VALUE);
    if (n == 1)
        return children[0];
    merger_t *m = calloc(1, sizeof(*m));
    iter_t **kids = malloc(sizeof(*kids) * (size_t)n);
    int use_heap = n > MERGER_LINEAR_MAX;
    int *heap = use_heap ? malloc(sizeof(*heap) * (size_t)n) : NULL;
    kid_state_t *ks = calloc((size_t)n, sizeof(*ks));
    if (!m || !kids || (use_heap && !heap) || !ks) {
        free(m);
        free(kids);
        free(heap);
        free(ks);
        for (int i = 0; i < n; i++)
            iter_destroy(children[i]);
        return NULL;
    }
    memcpy(kids, children, sizeof(*kids) * (size_t)n);
    m->base.ops = &merger_ops;
    m->kids = kids;
    m->n = n;
    m->cur = -1;
    m->second = -1;
    m->dir = DIR_FWD;
    m->use_heap = use_heap;
    m->heap = heap;
    m->ks = ks;
    return &m->base;
}
