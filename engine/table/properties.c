/*
 * properties.c - encode/decode of the properties block (see properties.h).
 */
#include "table/properties.h"

#include <stddef.h>
#include <string.h>

#include "table/block.h"
#include "table/format.h"
#include "util/coding.h"

void props_init(table_props_t *p)
{
    memset(p, 0, sizeof(*p));
    buf_init(&p->smallest_key);
    buf_init(&p->largest_key);
}

void props_free(table_props_t *p)
{
    buf_free(&p->smallest_key);
    buf_free(&p->largest_key);
}

typedef struct {
    const char *name;
    size_t off;   /* offset of a uint64_t field, or of a buf_t when is_key */
    int is_key;
} prop_def_t;

/* Sorted by name: the block builder needs that order. */
static const prop_def_t defs[] = {
    {PROP_DATA_SIZE, offsetof(table_props_t, data_size), 0},
    {PROP_FILTER_SIZE, offsetof(table_props_t, filter_size), 0},
    {PROP_INDEX_SIZE, offsetof(table_props_t, index_size), 0},
    {PROP_LARGEST_KEY, offsetof(table_props_t, largest_key), 1},
    {PROP_LARGEST_SEQ, offsetof(table_props_t, largest_seq), 0},
    {PROP_NUM_DATA_BLOCKS, offsetof(table_props_t, num_data_blocks), 0},
    {PROP_NUM_DELETIONS, offsetof(table_props_t, num_deletions), 0},
    {PROP_NUM_ENTRIES, offsetof(table_props_t, num_entries), 0},
    {PROP_NUM_RANGE_DELS, offsetof(table_props_t, num_range_dels), 0},
    {PROP_RAW_KEY_SIZE, offsetof(table_props_t, raw_key_size), 0},
    {PROP_RAW_VALUE_SIZE, offsetof(table_props_t, raw_value_size), 0},
    {PROP_SMALLEST_KEY, offsetof(table_props_t, smallest_key), 1},
    {PROP_SMALLEST_SEQ, offsetof(table_props_t, smallest_seq), 0},
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

void props_encode(const table_props_t *p, block_builder_t *bb)
{
    for (size_t i = 0; i < NDEFS; i++) {
        const char *f = (const char *)p + defs[i].off;
        if (defs[i].is_key) {
            block_builder_add(bb, slice_str(defs[i].name), buf_slice((const buf_t *)f));
        } else {
            char v[10];
            char *e = encode_varint64(v, *(const uint64_t *)f);
            block_builder_add(bb, slice_str(defs[i].name), slice_make(v, (size_t)(e - v)));
        }
    }
}

status_t props_decode(slice_t contents, table_props_t *p, const char *path)
{
    block_t b;
    block_init(&b, contents.data, contents.size, NULL);
    block_iter_t it;
    block_iter_init(&it, &b, block_bytewise_cmp, 0);
    status_t s = NULL;
    for (block_iter_seek_to_first(&it); block_iter_valid(&it) && !s; block_iter_next(&it)) {
        for (size_t i = 0; i < NDEFS; i++) {
            if (!slice_equal(it.key, slice_str(defs[i].name)))
                continue;
            char *f = (char *)p + defs[i].off;
            if (defs[i].is_key) {
                buf_t *k = (buf_t *)f;
                buf_clear(k);
                buf_append(k, it.value.data, it.value.size);
            } else {
                slice_t v = it.value;
                if (get_varint64(&v, (uint64_t *)f) < 0 || v.size != 0)
                    s = st_error(ST_CORRUPTION, "%s: properties block: bad value for %s", path,
                                 defs[i].name);
            }
            break;
        }
    }
    if (!s && it.st)
        s = st_error(ST_CORRUPTION, "%s: properties block: %s", path, st_msg(it.st));
    block_iter_cleanup(&it);
    return s;
}
