/*
 * skiplist.c - concurrent-insert skiplist (see skiplist.h).
 *
 * Node layout: the next pointers of levels h-1..1 lie *before* the node, level 0 is the
 * node's first word and the key follows it, so a node pointer reaches its key without
 * knowing its height:
 *
 *     [next[h-1]] ... [next[1]] [next[0]] [key bytes ...]
 *                                ^ node
 *
 * Between skiplist_alloc_key and skiplist_insert the height is parked in next[0].
 *
 * Insert (after RocksDB's InlineSkipList::InsertConcurrently): find for every level the
 * pair prev < key <= next, then link bottom-up with a CAS per level; a failed CAS means
 * another insert got between prev and next at that level, so the pair for that level is
 * searched again starting from prev (which is still before key). The max height is
 * raised with a CAS; readers that see a stale max height just start lower.
 */
#include "mem/skiplist.h"

#include <stdint.h>

struct sl_node {
    _Atomic(sl_node_t *) next0;
};

static inline _Atomic(sl_node_t *) *nx(sl_node_t *n, int level)
{
    return &(&n->next0)[-level];
}

static inline sl_node_t *next_acq(sl_node_t *n, int level)
{
    return atomic_load_explicit(nx(n, level), memory_order_acquire);
}

static inline const char *node_key(const sl_node_t *n) { return (const char *)(n + 1); }

static sl_node_t *node_alloc(arena_t *a, int height, size_t keylen)
{
    size_t pre = sizeof(_Atomic(sl_node_t *)) * (size_t)(height - 1);
    char *raw = arena_alloc(a, pre + sizeof(sl_node_t) + keylen);
    if (!raw)
        return NULL;
    sl_node_t *n = (sl_node_t *)(raw + pre);
    return n;
}

int skiplist_init(skiplist_t *sl, arena_t *arena, skiplist_cmp_fn cmp, void *cmp_arg)
{
    sl->cmp = cmp;
    sl->cmp_arg = cmp_arg;
    sl->arena = arena;
    atomic_init(&sl->max_height, 1);
    atomic_init(&sl->rnd, 0x2545f4914f6cdd1dull);
    sl->head = node_alloc(arena, SKIPLIST_MAX_HEIGHT, 0);
    if (!sl->head)
        return -1;
    for (int i = 0; i < SKIPLIST_MAX_HEIGHT; i++)
        atomic_init(nx(sl->head, i), NULL);
    return 0;
}

static int random_height(skiplist_t *sl)
{
    /* Height h with probability (1/4)^(h-1): two random bits per level. The generator
     * state is shared; a lost update between racing threads only repeats a value. */
    unsigned long long x = atomic_load_explicit(&sl->rnd, memory_order_relaxed);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    atomic_store_explicit(&sl->rnd, x, memory_order_relaxed);
    uint64_t r = x * 0x2545f4914f6cdd1dull;
    int h = 1;
    while (h < SKIPLIST_MAX_HEIGHT && (r & 3) == 0) {
        h++;
        r >>= 2;
    }
    return h;
}

char *skiplist_alloc_key(skiplist_t *sl, size_t n, sl_node_t **node)
{
    int h = random_height(sl);
    sl_node_t *x = node_alloc(sl->arena, h, n);
    *node = x;
    if (!x)
        return NULL;
    atomic_store_explicit(&x->next0, (sl_node_t *)(uintptr_t)h, memory_order_relaxed);
    return (char *)(x + 1);
}

/* A descent at node x compares x's next node at this level, which may stall on a cache
 * miss; if that sends it down a level, the node after x one level lower is compared next.
 * Start loading that node's key now so the two misses overlap (x's links are in cache).
 * Called with level > 0. */
static inline void prefetch_down(sl_node_t *x, int level, sl_node_t *next)
{
    sl_node_t *down = atomic_load_explicit(nx(x, level - 1), memory_order_relaxed);
    if (down && down != next)
        __builtin_prefetch(node_key(down));
}

/* From `before` (known < key, or head) at `level`, find prev < key <= next. `known_ge` is a
 * node already known to be >= key (the splice's next one level up), so reaching it needs
 * no comparison: a descent then costs one key comparison less per level. */
static void find_splice_for_level(skiplist_t *sl, const char *key, sl_node_t *before,
                                  int level, sl_node_t *known_ge, sl_node_t **out_prev,
                                  sl_node_t **out_next)
{
    for (;;) {
        sl_node_t *next = next_acq(before, level);
        if (level > 0)
            prefetch_down(before, level, next);
        if (next == NULL || next == known_ge || sl->cmp(sl->cmp_arg, node_key(next), key) >= 0) {
            *out_prev = before;
            *out_next = next;
            return;
        }
        before = next;
    }
}

void skiplist_insert(skiplist_t *sl, sl_node_t *x)
{
    int height = (int)(uintptr_t)atomic_load_explicit(&x->next0, memory_order_relaxed);
    const char *key = node_key(x);

    int max_h = atomic_load_explicit(&sl->max_height, memory_order_relaxed);
    while (height > max_h) {
        if (atomic_compare_exchange_weak(&sl->max_height, &max_h, height))
            break;
    }
    int top = max_h > height ? max_h : height;

    sl_node_t *prev[SKIPLIST_MAX_HEIGHT], *next[SKIPLIST_MAX_HEIGHT];
    sl_node_t *before = sl->head;
    sl_node_t *known_ge = NULL;
    for (int i = top - 1; i >= 0; i--) {
        find_splice_for_level(sl, key, before, i, known_ge, &prev[i], &next[i]);
        before = prev[i];
        known_ge = next[i];
    }
    for (int i = 0; i < height; i++) {
        for (;;) {
            atomic_store_explicit(nx(x, i), next[i], memory_order_relaxed);
            sl_node_t *expected = next[i];
            if (atomic_compare_exchange_strong_explicit(nx(prev[i], i), &expected, x,
                                                        memory_order_release,
                                                        memory_order_relaxed))
                break;
            find_splice_for_level(sl, key, prev[i], i, NULL, &prev[i], &next[i]);
        }
    }
}

/* First node >= key, and (optionally) the last node < key at each level. */
static sl_node_t *find_ge(skiplist_t *sl, const char *key)
{
    sl_node_t *x = sl->head;
    int level = atomic_load_explicit(&sl->max_height, memory_order_relaxed) - 1;
    sl_node_t *last_bigger = NULL;
    for (;;) {
        sl_node_t *next = next_acq(x, level);
        if (level > 0)
            prefetch_down(x, level, next);
        int c = (next == NULL || next == last_bigger) ? 1 : sl->cmp(sl->cmp_arg, node_key(next), key);
        if (c < 0) {
            x = next;
        } else {
            if (level == 0)
                return next;
            last_bigger = next;
            level--;
        }
    }
}

/* Last node < key (head if none). */
static sl_node_t *find_lt(skiplist_t *sl, const char *key)
{
    sl_node_t *x = sl->head;
    int level = atomic_load_explicit(&sl->max_height, memory_order_relaxed) - 1;
    for (;;) {
        sl_node_t *next = next_acq(x, level);
        if (next != NULL && sl->cmp(sl->cmp_arg, node_key(next), key) < 0) {
            x = next;
        } else {
            if (level == 0)
                return x;
            level--;
        }
    }
}

static sl_node_t *find_last(skiplist_t *sl)
{
    sl_node_t *x = sl->head;
    int level = atomic_load_explicit(&sl->max_height, memory_order_relaxed) - 1;
    for (;;) {
        sl_node_t *next = next_acq(x, level);
        if (next != NULL) {
            x = next;
        } else {
            if (level == 0)
                return x;
            level--;
        }
    }
}

int skiplist_contains(skiplist_t *sl, const char *key)
{
    sl_node_t *x = find_ge(sl, key);
    return x != NULL && sl->cmp(sl->cmp_arg, node_key(x), key) == 0;
}

void sl_iter_init(sl_iter_t *it, skiplist_t *sl)
{
    it->sl = sl;
    it->node = NULL;
}

const char *sl_iter_key(const sl_iter_t *it) { return node_key(it->node); }

/* Starts loading the node after n (n itself is in cache): a forward scan then finds
 * each node already on its way when it steps onto it, instead of missing on every key. */
static inline void prefetch_next(sl_node_t *n)
{
    if (n) {
        sl_node_t *nn = atomic_load_explicit(&n->next0, memory_order_relaxed);
        if (nn)
            __builtin_prefetch(node_key(nn));
    }
}

void sl_iter_next(sl_iter_t *it)
{
    it->node = next_acq(it->node, 0);
    prefetch_next(it->node);
}

void sl_iter_prev(sl_iter_t *it)
{
    sl_node_t *x = find_lt(it->sl, node_key(it->node));
    it->node = (x == it->sl->head) ? NULL : x;
}

void sl_iter_seek(sl_iter_t *it, const char *target)
{
    it->node = find_ge(it->sl, target);
    prefetch_next(it->node);
}

void sl_iter_seek_for_prev(sl_iter_t *it, const char *target)
{
    sl_node_t *x = find_ge(it->sl, target);
    if (x != NULL && it->sl->cmp(it->sl->cmp_arg, node_key(x), target) == 0) {
        it->node = x;
        return;
    }
    x = find_lt(it->sl, target);
    it->node = (x == it->sl->head) ? NULL : x;
}

void sl_iter_seek_to_first(sl_iter_t *it)
{
    it->node = next_acq(it->sl->head, 0);
    prefetch_next(it->node);
}

void sl_iter_seek_to_last(sl_iter_t *it)
{
    sl_node_t *x = find_last(it->sl);
    it->node = (x == it->sl->head) ? NULL : x;
}
