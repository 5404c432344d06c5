/*
 * arena.h - bump allocator for memtables, safe for concurrent allocation.
 *
 * Memory comes from blocks that are freed all at once with the arena. Allocation is a
 * fetch-add on the current block's offset; only the thread that finds the block full takes
 * the arena's mutex to install a new one. Every allocation is 8-byte aligned.
 * arena_memory_usage() counts whole blocks, so it is what the process really holds.
 *
 * A "huge" arena (arena_init_huge) takes its regular blocks as 2 MiB-aligned 2 MiB
 * mappings and asks for transparent huge pages on them (madvise MADV_HUGEPAGE): a large
 * memtable is read at random (skiplist seeks), and with 4 KiB pages nearly every node
 * visit is also a TLB miss. Where huge pages or the aligned mapping are unavailable the
 * block falls back to a plain malloc'd block of the same size; behaviour is identical,
 * only slower.
 *
 * A huge arena may draw its regular blocks from an arena_pool_t and give them back to it
 * when destroyed: the next memtable then reuses the retired one's pages instead of
 * faulting in (and the kernel zeroing) fresh ones. A pooled block is NOT zeroed: callers
 * never relied on zeroed arena memory (the malloc fallback is not zeroed either). The pool
 * keeps at most max_blocks blocks; it is reference-counted (the owner and every arena
 * drawing from it), so an arena may outlive the handle that made the pool.
 */
#ifndef LSM_UTIL_ARENA_H
#define LSM_UTIL_ARENA_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

struct arena_block;

typedef struct arena_pool {
    pthread_mutex_t mu;
    struct arena_block *free;     /* idle ARENA_HUGE_BLOCK mappings */
    size_t n, max_blocks;
    _Atomic size_t refs;
} arena_pool_t;

/* A pool keeping up to max_blocks idle huge blocks, with one reference; NULL when out of
 * memory (callers then use unpooled arenas). */
arena_pool_t *arena_pool_new(size_t max_blocks);
/* Drops a reference; the last one unmaps the idle blocks and frees the pool. */
void arena_pool_unref(arena_pool_t *p);

typedef struct arena {
    _Atomic(struct arena_block *) cur;
    pthread_mutex_t mu;           /* guards blocks and block installation */
    struct arena_block *blocks;   /* every block, for arena_destroy */
    size_t block_size;
    int huge;                     /* regular blocks are ARENA_HUGE_BLOCK mappings */
    _Atomic size_t usage;
    arena_pool_t *pool;           /* huge arenas only: where blocks come from / go back */
} arena_t;

/* Size of a regular block of a huge arena, header included. */
#define ARENA_HUGE_BLOCK (2u << 20)

/* block_size: bytes per regular block (clamped to [4 KiB, 4 MiB]). */
void arena_init(arena_t *a, size_t block_size);
/* An arena whose regular blocks are ARENA_HUGE_BLOCK bytes backed by huge pages when the
 * system allows it (see above). */
void arena_init_huge(arena_t *a);
/* The same, drawing regular blocks from pool (NULL: none) and returning them to it. */
void arena_init_huge_pooled(arena_t *a, arena_pool_t *pool);
void arena_destroy(arena_t *a);
/* Returns n bytes, 8-aligned, or NULL if the system is out of memory. */
void *arena_alloc(arena_t *a, size_t n);
static inline size_t arena_memory_usage(arena_t *a)
{
    return atomic_load_explicit(&a->usage, memory_order_relaxed);
}

#endif
