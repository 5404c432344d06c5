/*
 * block.h - reading one block (format.h): validation and an iterator.
 *
 * block_init checks the restart array once (count >= 1, every offset inside the entry
 * area, strictly increasing, the first 0); a block that fails is marked bad and any
 * iterator over it reports Corruption. Entries are checked as they are decoded: lengths
 * that run past the entry area, a restart entry with shared != 0, a shared prefix longer
 * than the previous key, or (with BLOCK_IKEYS) a key that is not a valid internal key make
 * the iterator invalid with a Corruption status. Nothing reads outside [data, data+size).
 *
 * block_iter_t may live on the stack (block_iter_init / block_iter_cleanup): the get path
 * uses it that way so that a lookup allocates nothing for keys up to
 * BLOCK_ITER_INLINE_KEY bytes. block_iter_new makes a heap iterator for generic use.
 * A block_iter_t must not be moved (memcpy'd) once initialised.
 */
#ifndef LSM_TABLE_BLOCK_H
#define LSM_TABLE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "base/iterator.h"
#include "util/slice.h"

typedef struct block {
    const char *data;
    size_t size;
    uint32_t restart_off;   /* start of the restart array = end of the entries */
    uint32_t nrestarts;
    int bad;                /* restart array malformed */
    char *heap;             /* freed by block_release when non-NULL */
} block_t;

/* Sets up b over data[0, size). heap (may be NULL) is the allocation to free with the
 * block. Returns 0, or -1 when the block is malformed (b->bad set). */
int block_init(block_t *b, const char *data, size_t size, char *heap);
void block_release(block_t *b);

typedef int (*key_cmp_fn)(slice_t a, slice_t b);

/* Flags for iterators. */
#define BLOCK_IKEYS 1   /* keys must be valid internal keys (checked on decode) */

#define BLOCK_ITER_INLINE_KEY 320

typedef struct block_iter {
    iter_t base;
    const char *data;
    uint32_t restart_off;
    uint32_t nrestarts;
    key_cmp_fn cmp;
    int flags;
    uint32_t cur;           /* offset of the current entry; restart_off when invalid */
    uint32_t next;          /* offset just past the current entry */
    uint32_t ridx;          /* restart interval holding cur */
    slice_t key, value;     /* key points into data (shared == 0) or into kbuf */
    char *kbuf;
    size_t kcap;
    status_t st;
    int on_heap;
    char kinline[BLOCK_ITER_INLINE_KEY];
} block_iter_t;

/* The block must outlive the iterator. */
void block_iter_init(block_iter_t *it, const block_t *b, key_cmp_fn cmp, int flags);
void block_iter_cleanup(block_iter_t *it);
/* A heap iterator (destroy frees it). NULL when out of memory. */
iter_t *block_iter_new(const block_t *b, key_cmp_fn cmp, int flags);

/* Direct calls for embedded iterators (the iter_t ops do the same). */
static inline int block_iter_valid(const block_iter_t *it) { return it->cur < it->restart_off && !it->st; }
void block_iter_seek(block_iter_t *it, slice_t target);
/* block_iter_seek with the binary search narrowed to restarts [lo, hi] (clamped to the
 * block). The caller promises that every entry before restart lo is < target and that
 * restart hi's entry, unless it is the last restart, is >= target; the result is then the
 * same as block_iter_seek's. A broken promise gives a wrong position, never a read
 * outside the block. */
void block_iter_seek_hint(block_iter_t *it, slice_t target, uint32_t lo, uint32_t hi);
void block_iter_seek_to_first(block_iter_t *it);
/* Positions at the entry of restart point i (invalid if i is out of range). */
void block_iter_seek_to_restart(block_iter_t *it, uint32_t i);
void block_iter_seek_to_last(block_iter_t *it);
void block_iter_seek_for_prev(block_iter_t *it, slice_t target);
void block_iter_next(block_iter_t *it);
void block_iter_prev(block_iter_t *it);

/* Bytewise order, for blocks keyed by names (metaindex, properties). */
int block_bytewise_cmp(slice_t a, slice_t b);

#endif
