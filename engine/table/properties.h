/*
 * properties.h - the properties block of an SST: counts and bounds the DB reads for
 * statistics and checks (names and encoding in format.h).
 *
 * Decoding accepts properties in any known set and ignores unknown names (so a later
 * writer may add some); a name whose value does not parse is Corruption.
 */
#ifndef LSM_TABLE_PROPERTIES_H
#define LSM_TABLE_PROPERTIES_H

#include <stdint.h>

#include "table/block_builder.h"
#include "util/buf.h"
#include "util/slice.h"
#include "util/status.h"

typedef struct table_props {
    uint64_t data_size;        /* bytes of data blocks, trailers included */
    uint64_t filter_size;
    uint64_t index_size;
    uint64_t num_data_blocks;
    uint64_t num_entries;      /* point entries (values + deletions) */
    uint64_t num_deletions;
    uint64_t num_range_dels;
    uint64_t raw_key_size;     /* sum of internal key sizes of point entries */
    uint64_t raw_value_size;
    uint64_t smallest_seq;
    uint64_t largest_seq;
    buf_t smallest_key;        /* internal keys (table_builder.h convention) */
    buf_t largest_key;
} table_props_t;

void props_init(table_props_t *p);
void props_free(table_props_t *p);
/* Adds every property to bb (an empty block builder), names in sorted order. */
void props_encode(const table_props_t *p, block_builder_t *bb);
/* Parses a properties block's contents. */
status_t props_decode(slice_t contents, table_props_t *p, const char *path);

#endif
