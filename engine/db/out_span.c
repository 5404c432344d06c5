/*
 * out_span.c - clipping range tombstones to the key span of one output table: the one
 * place flush (db_flush.c), compaction (db_compact.c) and repair (repair.c) cut them.
 *
 * A fragment handed to a sink always lies inside [lo, hi) and is never empty.
 */
#include "db/out_span.h"

void db_span_init(db_span_t *sp)
{
    buf_init(&sp->lo);
    sp->lo_set = 0;
}

void db_span_free(db_span_t *sp) { buf_free(&sp->lo); }

slice_t db_span_lo(const db_span_t *sp)
{
    return sp->lo_set ? buf_slice(&sp->lo) : slice_make(NULL, 0);
}

int db_clip_tombstone(slice_t *s, slice_t *e, slice_t lo, slice_t hi)
{
    if (lo.data && slice_compare(*s, lo) < 0)
        *s = lo;
    if (hi.data && slice_compare(*e, hi) > 0)
        *e = hi;
    return slice_compare(*s, *e) < 0;
}

typedef struct {
    const db_tomb_sink_t *sink;
    slice_t lo, hi;
    status_t st;
} clip_walk_t;

static int clip_one(void *arg, slice_t s, slice_t e, uint64_t seq)
{
    clip_walk_t *w = arg;
    if (w->sink->drop && w->sink->drop(w->sink->arg, s, e, seq))
        return 0;
    if (!db_clip_tombstone(&s, &e, w->lo, w->hi))
        return 0;
    w->st = w->sink->add(w->sink->arg, s, e, seq);
    return w->st != NULL;
}

status_t db_emit_clipped(range_del_t *tombs, slice_t lo, slice_t hi, const db_tomb_sink_t *sink)
{
    if (!tombs || range_del_count(tombs) == 0)
        return NULL;
    clip_walk_t w = {sink, lo, hi, NULL};
    range_del_walk(tombs, clip_one, &w);
    return w.st;
}

status_t db_span_close(db_span_t *sp, range_del_t *tombs, const slice_t *hi,
                       const db_tomb_sink_t *sink)
{
    status_t st = db_emit_clipped(tombs, db_span_lo(sp), hi ? *hi : slice_make(NULL, 0), sink);
    if (st)
        return st;
    if (hi) {
        buf_clear(&sp->lo);
        buf_append(&sp->lo, hi->data, hi->size);
        sp->lo_set = 1;
    }
    return NULL;
}
