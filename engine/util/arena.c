/*
 * arena.c - concurrent bump allocator (see arena.h).
 *
 * Invariant: `cur` always points at a block in `blocks`; a block's `used` may run past its
 * capacity (a failed fetch-add is never undone), which only means the block is full.
 * Requests larger than a quarter block get a block of their own so as not to waste the
 * rest of the current one. A block of a huge arena that came from mmap (`mapped`) is
 * exactly ARENA_HUGE_BLOCK bytes long, starts 2 MiB-aligned and is given back with munmap
 * (or to the arena's pool, which then holds it with used reset, until reused or unmapped).
 */
#include "util/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

struct arena_block {
    struct arena_block *next;
    size_t cap;
    _Atomic size_t used;
    int mapped;                   /* from map_huge: munmap, not free */
    char data[] __attribute__((aligned(8)));
};

/* An ARENA_HUGE_BLOCK-aligned mapping of ARENA_HUGE_BLOCK bytes with huge pages
 * requested, or NULL. Maps twice the size and trims the unaligned ends. */
static void *map_huge(void)
{
    size_t sz = ARENA_HUGE_BLOCK;
    char *raw = mmap(NULL, 2 * sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    char *p = (char *)(((uintptr_t)raw + sz - 1) & ~(uintptr_t)(sz - 1));
    if (p > raw)
        munmap(raw, (size_t)(p - raw));
    if (raw + 2 * sz > p + sz)
        munmap(p + sz, (size_t)(raw + 2 * sz - (p + sz)));
#ifdef MADV_HUGEPAGE
    (void)madvise(p, sz, MADV_HUGEPAGE); /* advisory: plain pages still work */
#endif
    return p;
}

/* An idle block of the pool, or NULL. */
static struct arena_block *pool_take(arena_pool_t *p)
{
    if (!p)
        return NULL;
    pthread_mutex_lock(&p->mu);
    struct arena_block *b = p->free;
    if (b) {
        p->free = b->next;
        p->n--;
    }
    pthread_mutex_unlock(&p->mu);
    return b;
}

/* Gives a mapped block to the pool; 0 when the pool is full (the caller unmaps it). */
static int pool_give(arena_pool_t *p, struct arena_block *b)
{
    int kept = 0;
    pthread_mutex_lock(&p->mu);
    if (p->n < p->max_blocks) {
        b->next = p->free;
        p->free = b;
        p->n++;
        kept = 1;
    }
    pthread_mutex_unlock(&p->mu);
    return kept;
}

arena_pool_t *arena_pool_new(size_t max_blocks)
{
    arena_pool_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    p->max_blocks = max_blocks;
    atomic_init(&p->refs, 1);
    return p;
}

void arena_pool_unref(arena_pool_t *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    struct arena_block *b = p->free;
    while (b) {
        struct arena_block *n = b->next;
        munmap(b, ARENA_HUGE_BLOCK);
        b = n;
    }
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* A block with cap bytes of room; huge: an ARENA_HUGE_BLOCK mapping if possible (from
 * pool first, when there is one). */
static struct arena_block *block_new(size_t cap, int huge, arena_pool_t *pool)
{
    struct arena_block *b = huge ? pool_take(pool) : NULL;
    if (!b && huge)
        b = map_huge();
    int mapped = b != NULL;
    if (!b)
        b = malloc(sizeof(*b) + cap);
    if (!b)
        return NULL;
    b->next = NULL;
    b->cap = cap;
    b->mapped = mapped;
    atomic_init(&b->used, 0);
    return b;
}

static void block_free(struct arena_block *b, arena_pool_t *pool)
{
    if (!b->mapped)
        free(b);
    else if (!pool || !pool_give(pool, b))
        munmap(b, ARENA_HUGE_BLOCK);
}

void arena_init(arena_t *a, size_t block_size)
{
    if (block_size < 4096)
        block_size = 4096;
    if (block_size > (4u << 20))
        block_size = 4u << 20;
    a->block_size = block_size;
    a->huge = 0;
    a->pool = NULL;
    pthread_mutex_init(&a->mu, NULL);
    a->blocks = NULL;
    atomic_init(&a->usage, 0);
    atomic_init(&a->cur, NULL);
}

void arena_init_huge(arena_t *a)
{
    arena_init(a, ARENA_HUGE_BLOCK - sizeof(struct arena_block));
    a->huge = 1;
}

void arena_init_huge_pooled(arena_t *a, arena_pool_t *pool)
{
    arena_init_huge(a);
    if (pool) {
        atomic_fetch_add(&pool->refs, 1);
        a->pool = pool;
    }
}

void arena_destroy(arena_t *a)
{
    struct arena_block *b = a->blocks;
    while (b) {
        struct arena_block *n = b->next;
        block_free(b, a->pool);
        b = n;
    }
    a->blocks = NULL;
    atomic_store(&a->cur, NULL);
    pthread_mutex_destroy(&a->mu);
    arena_pool_unref(a->pool);
    a->pool = NULL;
}

static void link_block(arena_t *a, struct arena_block *b)
{
    b->next = a->blocks;
    a->blocks = b;
    atomic_fetch_add_explicit(&a->usage, b->cap + sizeof(*b), memory_order_relaxed);
}

void *arena_alloc(arena_t *a, size_t n)
{
    if (n > SIZE_MAX / 2)
        return NULL; /* cannot be satisfied; rounding up would wrap around */
    n = (n + 7) & ~(size_t)7;
    if (n == 0)
        n = 8;
    if (n > a->block_size / 4) {
        /* Decided before touching the current block: a fetch-add on it would mark the
         * rest of it used although the request is served elsewhere. */
        pthread_mutex_lock(&a->mu);
        struct arena_block *big = block_new(n, 0, NULL);
        if (big) {
            atomic_store_explicit(&big->used, n, memory_order_relaxed);
            link_block(a, big);
        }
        pthread_mutex_unlock(&a->mu);
        return big ? big->data : NULL;
    }
    for (;;) {
        struct arena_block *b = atomic_load_explicit(&a->cur, memory_order_acquire);
        if (b) {
            size_t off = atomic_fetch_add_explicit(&b->used, n, memory_order_relaxed);
            if (off + n <= b->cap)
                return b->data + off;
        }
        pthread_mutex_lock(&a->mu);
        if (atomic_load_explicit(&a->cur, memory_order_relaxed) == b) {
            struct arena_block *nb = block_new(a->block_size, a->huge, a->pool);
            if (!nb) {
                pthread_mutex_unlock(&a->mu);
                return NULL;
            }
            link_block(a, nb);
            atomic_store_explicit(&a->cur, nb, memory_order_release);
        }
        pthread_mutex_unlock(&a->mu);
    }
}
