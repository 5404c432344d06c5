/*
 * index_search.h - a cache-friendly search structure over a table's index block.
 *
 * Large tables have large index blocks (a 64 MiB table has ~16k entries, ~0.5 MiB), and a
 * plain binary search over the restart array touches two cold cache lines per step (the
 * restart offset and the entry). At table open, index_search_build records the byte
 * prefix shared by every index user key and, per entry, an 8-byte fingerprint: the next
 * 8 bytes of its user key, big-endian, zero-padded. Fingerprints are ordered like the keys
 * (non-decreasing), so a binary search over this dense array brackets the answer to the
 * entries whose fingerprint equals the target's - usually none, which leaves exactly one
 * candidate - and block_iter_seek_hint resolves the rest on the real keys.
 *
 * Invariants: when pfx is non-NULL, the index block has one restart per entry (entry i is
 * restart i) and n entries, and pfx[i] is entry i's fingerprint; the structure is
 * immutable after build and only narrows a search (a damaged or misordered index can at
 * worst give a wrong position, as the plain search would, never an out-of-block read).
 * When pfx is NULL (no memory, another restart interval, a malformed index) seeks fall
 * back to block_iter_seek.
 *
 * handles[i] is entry i's decoded block handle (the values were checked by table_open).
 * When the fingerprints alone pin the answer to one entry (index_search_locate), a reader
 * can go straight to that data block without touching the index block at all - two
 * dependent cache misses (restart slot, entry) fewer per table and seek.
 */
#ifndef LSM_TABLE_INDEX_SEARCH_H
#define LSM_TABLE_INDEX_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "table/block.h"
#include "table/format.h"

typedef struct index_search {
    uint64_t *pfx;      /* fingerprint per index entry; NULL: fast path off */
    block_handle_t *handles; /* per index entry (all n), with pfx */
    uint32_t n;         /* index entries */
    uint32_t cp_len;    /* bytes every index user key starts with */
    char *cp;           /* those bytes */
} index_search_t;

/* Builds s over an index block of internal keys. Never fails: on any problem the fast
 * path is simply off (s->pfx == NULL). */
void index_search_build(index_search_t *s, const block_t *index);
void index_search_free(index_search_t *s);
/* Bytes held (for accounting). */
size_t index_search_bytes(const index_search_t *s);

/* Positions it (an iterator over the same index block, ikey_compare order) at the first
 * entry >= target (an internal key), exactly as block_iter_seek would. */
void index_search_seek(const index_search_t *s, block_iter_t *it, slice_t target);

/* One fingerprint search for target: 1 and *pos = the index of the first entry >= target
 * when the fingerprints prove it without reading the index block (the common case; `it`
 * is left alone); else (ties, a target past every fingerprinted entry, fast path off) it
 * positions it there, exactly as index_search_seek, and returns 0. */
int index_search_locate(const index_search_t *s, block_iter_t *it, slice_t target,
                        uint32_t *pos);

#endif
