/*
 * iterator.c - the empty/error iterator and shared iterator helpers.
 */
#include "base/iterator.h"

#include <stdlib.h>

typedef struct {
    iter_t base;
    status_t st;
} empty_iter_t;

static int e_valid(iter_t *it) { (void)it; return 0; }
static void e_nop(iter_t *it) { (void)it; }
static void e_seek(iter_t *it, slice_t t) { (void)it; (void)t; }
static slice_t e_slice(iter_t *it) { (void)it; return slice_make("", 0); }
static status_t e_status(iter_t *it) { return ((empty_iter_t *)it)->st; }
static void e_destroy(iter_t *it)
{
    st_free(((empty_iter_t *)it)->st);
    free(it);
}

static const iter_ops_t empty_ops = {
    e_valid, e_nop, e_nop, e_seek, e_seek, e_nop, e_nop, e_slice, e_slice, e_status, e_destroy,
};

iter_t *iter_new_empty(status_t st)
{
    empty_iter_t *e = malloc(sizeof(*e));
    if (!e) {
        st_free(st);
        return NULL;
    }
    e->base.ops = &empty_ops;
    e->st = st;
    return &e->base;
}

void iter_default_seek_for_prev(iter_t *it, slice_t target, int (*cmp)(slice_t, slice_t))
{
    iter_seek(it, target);
    if (!iter_valid(it)) {
        if (iter_status(it))
            return;
        iter_seek_to_last(it);
        return;
    }
    while (iter_valid(it) && cmp(iter_key(it), target) > 0)
        iter_prev(it);
}
