/*
 * block_builder.h - builds one block: prefix-compressed keys with restart points.
 *
 * Layout (see format.h): entries "varint32 shared | varint32 non_shared | varint32
 * value_len | key delta | value", then fixed32 restart offsets, then fixed32 count.
 * Every restart_interval-th entry is a restart point and stores its whole key (shared 0),
 * so a reader can binary-search the restart array. The builder does not check key order:
 * its caller (the table builder) does. A finished block always has at least one restart.
 */
#ifndef LSM_TABLE_BLOCK_BUILDER_H
#define LSM_TABLE_BLOCK_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/slice.h"

typedef struct block_builder {
    buf_t data;          /* entries, then (after finish) the restart array */
    buf_t restarts;      /* fixed32 offsets */
    buf_t last_key;
    int restart_interval;
    int counter;         /* entries since the last restart */
    size_t num_entries;
    int finished;
} block_builder_t;

/* restart_interval < 1 is taken as 1. */
void block_builder_init(block_builder_t *b, int restart_interval);
void block_builder_destroy(block_builder_t *b);
/* Empties the builder for the next block (keeps its memory). */
void block_builder_reset(block_builder_t *b);
void block_builder_add(block_builder_t *b, slice_t key, slice_t value);
/* Appends the restart array; the slice stays valid until reset or destroy. */
slice_t block_builder_finish(block_builder_t *b);
/* Size of the block if finished now. */
size_t block_builder_size_estimate(const block_builder_t *b);
static inline int block_builder_empty(const block_builder_t *b) { return b->num_entries == 0; }
/* Non-zero if an allocation failed (the block is then unusable). */
static inline int block_builder_oom(const block_builder_t *b)
{
    return b->data.oom || b->restarts.oom || b->last_key.oom;
}
static inline slice_t block_builder_last_key(const block_builder_t *b) { return buf_slice(&b->last_key); }

#endif
