/*
 * skiplist.h - a lock-free-read skiplist with CAS inserts, the memtable's index.
 *
 * Keys are opaque byte strings stored inline in the node (allocated from an arena) and
 * ordered by a caller-supplied comparator. Nodes are never removed; the list lives and
 * dies with its arena.
 *
 * Concurrency: any number of readers run without locks alongside any number of inserting
 * threads (skiplist_insert is safe to call concurrently: every link is published with a
 * compare-and-swap, level 0 first, so a reader that sees a node at level i also sees it at
 * every level below). A reader sees an inserted node once the insert's CAS at level 0 is
 * visible. Keys must be distinct (internal keys are: each carries a unique sequence).
 *
 * Insertion is two steps, so the caller can encode the key straight into node memory:
 *   char *buf = skiplist_alloc_key(sl, n, &node);  ...write n bytes...;  skiplist_insert(sl, node);
 */
#ifndef LSM_MEM_SKIPLIST_H
#define LSM_MEM_SKIPLIST_H

#include <stdatomic.h>
#include <stddef.h>

#include "util/arena.h"

#define SKIPLIST_MAX_HEIGHT 12

/* Three-way compare of two stored keys. */
typedef int (*skiplist_cmp_fn)(void *arg, const char *a, const char *b);

typedef struct sl_node sl_node_t;

typedef struct skiplist {
    skiplist_cmp_fn cmp;
    void *cmp_arg;
    arena_t *arena;
    sl_node_t *head;
    _Atomic int max_height;
    _Atomic unsigned long long rnd; /* height generator state (racy updates are harmless) */
} skiplist_t;

/* Returns 0, or -1 if the head node cannot be allocated. */
int skiplist_init(skiplist_t *sl, arena_t *arena, skiplist_cmp_fn cmp, void *cmp_arg);
/* Allocates a node with n bytes of key space; returns the key buffer (NULL when out of
 * memory) and sets *node. */
char *skiplist_alloc_key(skiplist_t *sl, size_t n, sl_node_t **node);
void skiplist_insert(skiplist_t *sl, sl_node_t *node);
/* 1 if a key equal to `key` is present. */
int skiplist_contains(skiplist_t *sl, const char *key);

/* Iterator: a position in the list; cheap, no allocation. */
typedef struct {
    skiplist_t *sl;
    sl_node_t *node;
} sl_iter_t;

void sl_iter_init(sl_iter_t *it, skiplist_t *sl);
static inline int sl_iter_valid(const sl_iter_t *it) { return it->node != NULL; }
const char *sl_iter_key(const sl_iter_t *it);
void sl_iter_next(sl_iter_t *it);
void sl_iter_prev(sl_iter_t *it);
/* First key >= target. */
void sl_iter_seek(sl_iter_t *it, const char *target);
/* Last key <= target. */
void sl_iter_seek_for_prev(sl_iter_t *it, const char *target);
void sl_iter_seek_to_first(sl_iter_t *it);
void sl_iter_seek_to_last(sl_iter_t *it);

#endif
