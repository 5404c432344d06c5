/*
 * itab.c - fsck's inode table (see itab.h).
 *
 * Invariant: ino[0..n) strictly increasing, in[i] belongs to ino[i]. Lookup first guesses
 * the slot by interpolation (inode numbers are handed out in sequence, so the guess is
 * usually exact or close) and then narrows [lo, hi) by bisection: O(1) on dense tables,
 * O(log n) at worst.
 */
#include "itab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void itab_init(fsck_itab_t *t)
{
    memset(t, 0, sizeof(*t));
}

void itab_free(fsck_itab_t *t)
{
    free(t->ino);
    free(t->in);
    itab_init(t);
}

int itab_reserve(fsck_itab_t *t, size_t n)
{
    if (n <= t->cap)
        return 0;
    if (n > SIZE_MAX / sizeof(fsck_inode_t))
        return -ENOMEM;
    uint64_t *ino = realloc(t->ino, n * sizeof(*ino));
    if (!ino)
        return -ENOMEM;
    t->ino = ino;
    fsck_inode_t *in = realloc(t->in, n * sizeof(*in));
    if (!in)
        return -ENOMEM;
    t->in = in;
    t->cap = n;
    return 0;
}

fsck_inode_t *itab_append(fsck_itab_t *t, uint64_t ino)
{
    if (t->n > 0 && ino <= t->ino[t->n - 1])
        return NULL;
    if (t->n == t->cap && itab_reserve(t, t->cap ? t->cap * 2 : 1024) != 0)
        return NULL;
    t->ino[t->n] = ino;
    fsck_inode_t *r = &t->in[t->n++];
    memset(r, 0, sizeof(*r));
    return r;
}

fsck_inode_t *itab_insert(fsck_itab_t *t, uint64_t ino)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->ino[mid] == ino)
            return NULL;
        if (t->ino[mid] < ino)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (t->n == t->cap && itab_reserve(t, t->cap ? t->cap * 2 : 1024) != 0)
        return NULL;
    memmove(&t->ino[lo + 1], &t->ino[lo], (t->n - lo) * sizeof(*t->ino));
    memmove(&t->in[lo + 1], &t->in[lo], (t->n - lo) * sizeof(*t->in));
    t->n++;
    t->ino[lo] = ino;
    memset(&t->in[lo], 0, sizeof(t->in[lo]));
    return &t->in[lo];
}

fsck_inode_t *itab_find(const fsck_itab_t *t, uint64_t ino)
{
    if (t->n == 0 || ino < t->ino[0] || ino > t->ino[t->n - 1])
        return NULL;
    size_t lo = 0, hi = t->n;  /* the slot, if any, is in [lo, hi) */
    uint64_t span = t->ino[t->n - 1] - t->ino[0];
    if (span > 0) {
        /* Interpolated guess; probe it and its successor to shrink the range. */
        unsigned __int128 g = (unsigned __int128)(ino - t->ino[0]) * (t->n - 1) / span;
        size_t guess = (size_t)g;
        if (t->ino[guess] == ino)
            return &t->in[guess];
        if (t->ino[guess] < ino)
            lo = guess + 1;
        else
            hi = guess;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->ino[mid] == ino)
            return &t->in[mid];
        if (t->ino[mid] < ino)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

fsck_inode_t *itab_live(const fsck_itab_t *t, uint64_t ino)
{
    fsck_inode_t *r = itab_find(t, ino);
    return r && !(r->flags & IT_REMOVED) ? r : NULL;
}

uint64_t itab_ino_of(const fsck_itab_t *t, const fsck_inode_t *r)
{
    return t->ino[r - t->in];
}
