/*
 * out_span.h - the key span of the output table a flush, compaction or repair is
 * writing, and the range tombstones that go into it.
 *
 * Each output covers user keys [lo, hi): lo is where the previous output was cut (unset
 * for the first), hi where this one is cut (open for the last). Every output gets only
 * the part of each tombstone that lies inside its span, so the tables of a level stay
 * disjoint. Invariant: after db_span_close succeeds with a cut key, lo is that key.
 */
#ifndef LSM_DB_OUT_SPAN_H
#define LSM_DB_OUT_SPAN_H

#include <stdint.h>

#include "mem/range_del.h"
#include "util/buf.h"
#include "util/slice.h"
#include "util/status.h"

typedef struct {
    buf_t lo;
    int lo_set; /* 0: the span starts at -infinity */
} db_span_t;

/* Where clipped tombstones go. `drop` (may be NULL) is asked first, with the whole
 * tombstone: 1 = leave it out. `add` gets the clipped fragment; a status stops the walk. */
typedef struct {
    int (*drop)(void *arg, slice_t start, slice_t end, uint64_t seq);
    status_t (*add)(void *arg, slice_t start, slice_t end, uint64_t seq);
    void *arg;
} db_tomb_sink_t;

void db_span_init(db_span_t *sp);
void db_span_free(db_span_t *sp);
/* The span's lower bound (data NULL = open). */
slice_t db_span_lo(const db_span_t *sp);

/* Clips the range tombstone [*s, *e) to [lo, hi) (data NULL = open end). Returns 0 when
 * nothing of it lies inside. */
int db_clip_tombstone(slice_t *s, slice_t *e, slice_t lo, slice_t hi);

/* Gives sink every tombstone of `tombs` (NULL = none) clipped to [lo, hi); returns the first status
 * `add` returned (NULL when all went in). */
status_t db_emit_clipped(range_del_t *tombs, slice_t lo, slice_t hi, const db_tomb_sink_t *sink);

/* Ends the current output's span at the cut key hi (NULL = the end of the input): gives
 * sink the tombstones of [lo, hi), then, when that succeeded and hi is a key, makes hi
 * the next span's lo. */
status_t db_span_close(db_span_t *sp, range_del_t *tombs, const slice_t *hi,
                       const db_tomb_sink_t *sink);

#endif
