/*
 * format.h - the on-disk layout of an SST (NNNNNN.sst): block handles, block trailers,
 * the footer, and reading one block back with its checksum and decompression.
 *
 * This comment is the contract; table_builder.c writes it and table.c reads it.
 * All fixed-width integers are little-endian, varints are LEB128 (util/coding.h).
 *
 *   [data block 0][trailer] ... [data block N-1][trailer]
 *   [filter block][trailer]         only when bloom_bits_per_key > 0 and a point key exists
 *   [range-del block][trailer]      only when the table holds range tombstones
 *   [properties block][trailer]
 *   [metaindex block][trailer]
 *   [index block][trailer]
 *   [footer]                        FOOTER_SIZE (56) bytes
 *
 * Block contents (block_builder.h): entries
 *       varint32 shared | varint32 non_shared | varint32 value_len | key delta | value
 *   where `shared` bytes of the key are taken from the previous key (0 at a restart
 *   point), then an array of fixed32 restart offsets (entry offsets whose shared is 0,
 *   strictly increasing, the first one 0) and a fixed32 count of restarts (>= 1).
 *
 * Block trailer (BLOCK_TRAILER_SIZE = 5 bytes after every block):
 *       1 byte compression type (BLOCK_TYPE_NONE 0, BLOCK_TYPE_ZLIB 2)
 *       fixed32 masked crc32c over the stored block bytes followed by the type byte.
 *   A zlib block is stored as varint32 uncompressed length | zlib stream (compress2
 *   format, with its own adler32); its uncompressed form is a block as above. The
 *   builder keeps the zlib form only when it is at least 12.5% smaller than the raw
 *   block. Only data blocks are ever compressed; the reader accepts either on any block.
 *
 * Block handle: varint64 offset | varint64 size (size excludes the trailer).
 *
 * Data blocks: keys are internal keys (db/dbformat.h: user key + fixed64 (seq << 8 |
 *   type), type TYPE_VALUE or TYPE_DELETION), strictly increasing in ikey_compare
 *   order, restart interval 16 by default; a block is cut once it reaches ~block_size.
 *
 * Filter block: one bloom filter (bloom.h) over the USER keys of every point entry
 *   of the table. One filter per table rather than per-block partitions: a lookup costs
 *   one probe of an array the table_t keeps in memory, and our tables are small enough
 *   (tens of MiB, ~1 byte of filter per key at 10 bits/key) that partitioning would only
 *   add an index lookup and a cache dependency to every get.
 *
 * Range-del block: entries key = internal key (start user key, seq, TYPE_RANGE_DELETION),
 *   value = exclusive end user key (> start); sorted by ikey_compare, never compressed,
 *   restart interval 16. Tombstones are stored as given (not fragmented); readers
 *   fragment them in memory.
 *
 * Properties block: key = property name (PROP_* below, bytewise sorted), value = varint64,
 *   except PROP_SMALLEST_KEY / PROP_LARGEST_KEY (raw internal key bytes).
 *
 * Metaindex block: key = meta block name (META_* below, bytewise sorted), value = block
 *   handle. Properties are required; filter and range-del are optional.
 *
 * Index block: one entry per data block, restart interval 1, key = an internal key
 *   >= the block's last key and < the next block's first key (shortened when possible:
 *   (shorter user key, MAX_SEQUENCE, TYPE_FOR_SEEK)), value = the block's handle.
 *
 * Footer (FOOTER_SIZE bytes at the end of the file):
 *       metaindex handle | index handle | zero padding up to byte 40
 *       fixed32 format version (TABLE_FORMAT_VERSION)
 *       fixed32 masked crc32c of bytes [0, 44)
 *       fixed64 magic TABLE_MAGIC
 *
 * Every byte of a table is covered by a checksum (a block's crc, a trailer's own crc
 * field, or the footer's crc), so a reader that verifies checksums returns correct data
 * or an error, never wrong data.
 */
#ifndef LSM_TABLE_FORMAT_H
#define LSM_TABLE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/file.h"
#include "util/slice.h"
#include "util/status.h"

#define BLOCK_TRAILER_SIZE 5
#define BLOCK_TYPE_NONE 0
#define BLOCK_TYPE_ZLIB 2
#define BLOCK_HANDLE_MAX_LEN 20
#define FOOTER_SIZE 56
#define FOOTER_HANDLES_LEN 40
#define TABLE_FORMAT_VERSION 1u
#define TABLE_MAGIC 0x31545353534d534cull /* "LSMSSST1" little-endian */
/* No block (raw or decompressed) may exceed this: a bound on what a damaged handle or
 * length can make a reader allocate. */
#define BLOCK_MAX_SIZE (256u << 20)

/* Metaindex names. */
#define META_FILTER "lsm.filter.bloom"
#define META_PROPERTIES "lsm.properties"
#define META_RANGE_DEL "lsm.range_del"

/* Property names. */
#define PROP_DATA_SIZE "lsm.data.size"
#define PROP_FILTER_SIZE "lsm.filter.size"
#define PROP_INDEX_SIZE "lsm.index.size"
#define PROP_LARGEST_KEY "lsm.largest.key"
#define PROP_LARGEST_SEQ "lsm.largest.seq"
#define PROP_NUM_DATA_BLOCKS "lsm.num.data.blocks"
#define PROP_NUM_DELETIONS "lsm.num.deletions"
#define PROP_NUM_ENTRIES "lsm.num.entries"
#define PROP_NUM_RANGE_DELS "lsm.num.range.dels"
#define PROP_RAW_KEY_SIZE "lsm.raw.key.size"
#define PROP_RAW_VALUE_SIZE "lsm.raw.value.size"
#define PROP_SMALLEST_KEY "lsm.smallest.key"
#define PROP_SMALLEST_SEQ "lsm.smallest.seq"

typedef struct {
    uint64_t offset;
    uint64_t size;
} block_handle_t;

void block_handle_encode(buf_t *b, block_handle_t h);
/* Decodes a handle from the front of *in, advancing it; -1 when malformed. */
int block_handle_decode(slice_t *in, block_handle_t *h);

typedef struct {
    block_handle_t metaindex;
    block_handle_t index;
    uint32_t version;
} footer_t;

void footer_encode(char dst[FOOTER_SIZE], const footer_t *f);
/* Checks magic, crc (when verify) and version; errors name `path`. */
status_t footer_decode(const char *src, int verify, footer_t *f, const char *path);

/* The masked crc32c stored in a block trailer: over data[0, n) then the type byte. */
uint32_t block_crc(const char *data, size_t n, char type);

/* Compresses raw with zlib into out (cleared first). Returns 1 when the compressed form is
 * worth keeping (saves >= 12.5%), 0 otherwise (out is then garbage). */
int block_compress_zlib(slice_t raw, buf_t *out);

/* A block as read from a file: `data` is malloc'd and owned by the receiver (except as
 * block_decode says). */
typedef struct {
    char *data;
    size_t size;
} block_contents_t;

/* Reads the block at h from f (file_size bounds the handle), checks its crc when
 * verify, and decompresses it. Errors name the file and the offset. */
status_t block_read(rfile_t *f, uint64_t file_size, block_handle_t h, int verify,
                    block_contents_t *out);

/* Corruption unless the block at h and its trailer lie inside [0, file_size) and h.size is
 * at most BLOCK_MAX_SIZE. */
status_t block_handle_check(const char *path, uint64_t file_size, block_handle_t h);

/* Decodes a block already in memory: raw holds the h.size stored bytes and the trailer
 * (the caller checked h with block_handle_check). Checks the crc when verify. An
 * uncompressed block is not copied: out->data points into raw and *borrowed is set; a
 * compressed one is inflated into a new allocation owned by the caller (*borrowed 0). */
status_t block_decode(const char *path, block_handle_t h, const char *raw, int verify,
                      block_contents_t *out, int *borrowed);

#endif
