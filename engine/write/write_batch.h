/*
 * write_batch.h - the WriteBatch: an atomic group of updates, and its byte format.
 *
 * Rep (part of the WAL format, never change without a format bump):
 *
 *     fixed64 sequence | fixed32 count | record*
 *     record := TYPE_VALUE          varstring key  varstring value
 *             | TYPE_DELETION       varstring key
 *             | TYPE_RANGE_DELETION varstring start  varstring end      (deletes [start, end))
 *     varstring := varint32 length, bytes
 *
 * Record i of a batch gets sequence number `sequence + i`; a batch therefore consumes
 * `count` sequence numbers. The header is filled in by the write path (sequence) and by
 * the append functions (count). A batch is applied all-or-nothing: wb_iterate validates the
 * whole rep before calling any handler, so a malformed rep changes nothing.
 */
#ifndef LSM_WRITE_WRITE_BATCH_H
#define LSM_WRITE_WRITE_BATCH_H

#include <stdint.h>

#include "base/dbformat.h"
#include "util/buf.h"
#include "util/slice.h"
#include "util/status.h"

#define WB_HEADER_SIZE 12

typedef struct write_batch {
    buf_t rep; /* always at least WB_HEADER_SIZE bytes once initialised */
} write_batch_t;

void wb_init(write_batch_t *b);
void wb_destroy(write_batch_t *b);
/* Drops every record; sequence and count become 0. */
void wb_clear(write_batch_t *b);
void wb_put(write_batch_t *b, slice_t key, slice_t value);
void wb_delete(write_batch_t *b, slice_t key);
void wb_delete_range(write_batch_t *b, slice_t start, slice_t end);
/* Appends src's records to dst (dst's count grows by src's). */
void wb_append(write_batch_t *dst, const write_batch_t *src);
/* 1 if an append ran out of memory since the last clear (the batch must not be written).
 * A key or value longer than UINT32_MAX bytes is not representable and also sets it. */
static inline int wb_oom(const write_batch_t *b) { return b->rep.oom; }

uint32_t wb_count(const write_batch_t *b);
void wb_set_count(write_batch_t *b, uint32_t n);
uint64_t wb_sequence(const write_batch_t *b);
void wb_set_sequence(write_batch_t *b, uint64_t seq);
static inline slice_t wb_rep(const write_batch_t *b) { return buf_slice(&b->rep); }
static inline size_t wb_byte_size(const write_batch_t *b) { return b->rep.len; }
/* Replaces the contents with a copy of rep after validating it (Corruption if malformed). */
status_t wb_set_rep(write_batch_t *b, slice_t rep);

/* Record callbacks. Each returns 0 to go on, or a positive errno to stop the iteration
 * (wb_iterate then returns an IO error carrying it). `seq` is the record's own sequence.
 * A NULL callback skips records of that kind (they still consume their sequence). */
typedef struct wb_handler {
    int (*put)(void *arg, uint64_t seq, slice_t key, slice_t value);
    int (*del)(void *arg, uint64_t seq, slice_t key);
    int (*range_del)(void *arg, uint64_t seq, slice_t start, slice_t end);
} wb_handler_t;

/* Checks that rep is well formed: header present, every record complete with a known tag,
 * exactly `count` records, no trailing bytes. Returns a Corruption naming what is wrong. */
status_t wb_validate(slice_t rep);
/* Validates rep, then calls the handler for every record in order. */
status_t wb_iterate(slice_t rep, const wb_handler_t *h, void *arg);

#endif
