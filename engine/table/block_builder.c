/*
 * block_builder.c - prefix-compressed block construction (see block_builder.h).
 *
 * Invariant: restarts holds the offset of every entry stored with shared == 0, the
 * first being 0; last_key is the full key of the latest entry.
 */
#include "table/block_builder.h"

#include "util/coding.h"

void block_builder_init(block_builder_t *b, int restart_interval)
{
    buf_init(&b->data);
    buf_init(&b->restarts);
    buf_init(&b->last_key);
    b->restart_interval = restart_interval < 1 ? 1 : restart_interval;
    block_builder_reset(b);
}

void block_builder_destroy(block_builder_t *b)
{
    buf_free(&b->data);
    buf_free(&b->restarts);
    buf_free(&b->last_key);
}

void block_builder_reset(block_builder_t *b)
{
    buf_clear(&b->data);
    buf_clear(&b->restarts);
    buf_clear(&b->last_key);
    buf_put_fixed32(&b->restarts, 0);
    b->counter = 0;
    b->num_entries = 0;
    b->finished = 0;
}

size_t block_builder_size_estimate(const block_builder_t *b)
{
    return b->data.len + b->restarts.len + 4;
}

void block_builder_add(block_builder_t *b, slice_t key, slice_t value)
{
    size_t shared = 0;
    if (b->counter < b->restart_interval) {
        size_t n = key.size < b->last_key.len ? key.size : b->last_key.len;
        while (shared < n && b->last_key.data[shared] == key.data[shared])
            shared++;
    } else {
        buf_put_fixed32(&b->restarts, (uint32_t)b->data.len);
        b->counter = 0;
    }
    size_t non_shared = key.size - shared;
    char hdr[15];
    char *p = encode_varint32(hdr, (uint32_t)shared);
    p = encode_varint32(p, (uint32_t)non_shared);
    p = encode_varint32(p, (uint32_t)value.size);
    buf_append(&b->data, hdr, (size_t)(p - hdr));
    buf_append(&b->data, key.data + shared, non_shared);
    buf_append(&b->data, value.data, value.size);
    buf_truncate(&b->last_key, shared);
    buf_append(&b->last_key, key.data + shared, non_shared);
    b->counter++;
    b->num_entries++;
}

slice_t block_builder_finish(block_builder_t *b)
{
    if (!b->finished) {
        buf_append(&b->data, b->restarts.data, b->restarts.len);
        buf_put_fixed32(&b->data, (uint32_t)(b->restarts.len / 4));
        b->finished = 1;
    }
    return buf_slice(&b->data);
}
