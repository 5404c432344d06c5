/*
 * cache.c - sharded LRU cache (see cache.h).
 *
 * Per shard: an open-addressing hash table (linear probing, load <= 1/2, slots hold the
 * hash beside the entry pointer so a probe touches entries only on a hash match, deletion
 * by backward shift so no tombstones) of every entry in the cache, and two circular lists:
 *   lru    - entries in the cache that no client holds (refs == 1: the cache's own),
 *            least recently used first: eviction candidates;
 *   in_use - entries in the cache that clients hold (refs >= 2).
 * An entry out of the cache (erased, replaced, evicted or never cached) is on no list and
 * in no table; it lives until its refs drop to 0. refs and the lists change only under
 * the shard mutex. Entries whose refs reach 0 are unlinked under the lock and handed to
 * their deleter after it is released.
 */
#include "table/cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/mutex.h"

typedef struct link {
    struct link *next, *prev;
} link_t;

struct cache_handle {
    link_t link;                 /* first: lists hold link_t pointers */
    struct cache_handle *next_free;
    void *value;
    cache_deleter_fn deleter;
    size_t charge;
    size_t key_len;
    uint32_t hash;
    uint32_t refs;
    int in_cache;
    char key[];
};

typedef struct {
    uint32_t hash;
    cache_handle_t *e;           /* NULL: empty slot */
} slot_t;

typedef struct {
    _Alignas(64) mutex_t mu;
    size_t capacity;
    size_t usage;
    size_t pinned;
    size_t elems;
    link_t lru, in_use;
    slot_t *table;               /* at least one slot always empty */
    uint32_t tlen;               /* power of two */
    _Atomic uint64_t hits, misses;
} shard_t;

struct cache {
    size_t capacity;
    int shard_bits;
    int nshards;
    shard_t *shards;
};

static inline cache_handle_t *of_link(link_t *l) { return (cache_handle_t *)l; }

static void list_remove(cache_handle_t *e)
{
    e->link.next->prev = e->link.prev;
    e->link.prev->next = e->link.next;
}

static void list_append(link_t *head, cache_handle_t *e)
{
    e->link.next = head;
    e->link.prev = head->prev;
    e->link.prev->next = &e->link;
    head->prev = &e->link;
}

static inline slice_t ekey(const cache_handle_t *e) { return slice_make(e->key, e->key_len); }

/* ---- hash table ---- */
/* The slot holding key, or the empty slot that ends its probe sequence. */
static uint32_t tprobe(const shard_t *s, slice_t key, uint32_t hash)
{
    uint32_t mask = s->tlen - 1;
    for (uint32_t i = hash & mask;; i = (i + 1) & mask) {
        const slot_t *sl = &s->table[i];
        if (!sl->e || (sl->hash == hash && slice_equal(ekey(sl->e), key)))
            return i;
    }
}

static void tresize(shard_t *s)
{
    uint32_t nlen = s->tlen * 2, mask = nlen - 1;
    slot_t *nt = calloc(nlen, sizeof(*nt));
    if (!nt)
        return; /* keep the fuller table; troom refuses inserts before it is full */
    for (uint32_t i = 0; i < s->tlen; i++) {
        slot_t sl = s->table[i];
        if (!sl.e)
            continue;
        uint32_t j = sl.hash & mask;
        while (nt[j].e)
            j = (j + 1) & mask;
        nt[j] = sl;
    }
    free(s->table);
    s->table = nt;
    s->tlen = nlen;
}

/* 0 when one more entry fits (growing the table at load 1/2), -1 when it cannot. */
static int troom(shard_t *s)
{
    if ((s->elems + 1) * 2 > s->tlen)
        tresize(s);
    return s->elems + 2 <= s->tlen ? 0 : -1;
}

/* Inserts e (troom said there is room), returning the entry it replaces (or NULL). */
static cache_handle_t *tinsert(shard_t *s, cache_handle_t *e)
{
    uint32_t i = tprobe(s, ekey(e), e->hash);
    cache_handle_t *old = s->table[i].e;
    s->table[i].hash = e->hash;
    s->table[i].e = e;
    if (!old)
        s->elems++;
    return old;
}

/* Empties slot i, shifting back the entries after it whose probe passed through it. */
static void tdelete(shard_t *s, uint32_t i)
{
    uint32_t mask = s->tlen - 1;
    for (uint32_t j = (i + 1) & mask; s->table[j].e; j = (j + 1) & mask) {
        uint32_t home = s->table[j].hash & mask;
        /* j stays if its home lies cyclically in (i, j]. */
        int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            s->table[i] = s->table[j];
            i = j;
        }
    }
    s->table[i].e = NULL;
    s->elems--;
}

static cache_handle_t *tremove(shard_t *s, slice_t key, uint32_t hash)
{
    uint32_t i = tprobe(s, key, hash);
    cache_handle_t *e = s->table[i].e;
    if (e)
        tdelete(s, i);
    return e;
}

/* ---- reference counting (shard lock held) ---- */
static void ref(shard_t *s, cache_handle_t *e)
{
    ASSERT_HELD(&s->mu);
    if (e->refs == 1 && e->in_cache) {
        list_remove(e);
        list_append(&s->in_use, e);
        s->pinned += e->charge;
    }
    e->refs++;
}

/* Returns 1 when e must be deleted (refs reached 0). */
static int unref(shard_t *s, cache_handle_t *e)
{
    ASSERT_HELD(&s->mu);
    e->refs--;
    if (e->refs == 0)
        return 1;
    if (e->in_cache && e->refs == 1) {
        list_remove(e);
        list_append(&s->lru, e);
        s->pinned -= e->charge;
    }
    return 0;
}

/* Takes e (already out of the table) out of the cache; returns 1 when it must be deleted. */
static int finish_erase(shard_t *s, cache_handle_t *e)
{
    ASSERT_HELD(&s->mu);
    list_remove(e);
    if (e->refs >= 2)
        s->pinned -= e->charge;
    e->in_cache = 0;
    s->usage -= e->charge;
    return unref(s, e);
}

/* Runs the deleters of a list built by pushing on its front: in push order (eviction
 * order, oldest first). */
static void delete_list(cache_handle_t *e)
{
    cache_handle_t *rev = NULL;
    while (e) {
        cache_handle_t *nx = e->next_free;
        e->next_free = rev;
        rev = e;
        e = nx;
    }
    e = rev;
    while (e) {
        cache_handle_t *nx = e->next_free;
        if (e->deleter)
            e->deleter(ekey(e), e->value);
        free(e);
        e = nx;
    }
}

/* Evicts idle entries, oldest first, while the shard is over budget (lock held). */
static void evict_over_budget(shard_t *s, cache_handle_t **dead)
{
    ASSERT_HELD(&s->mu);
    while (s->usage > s->capacity && s->lru.next != &s->lru) {
        cache_handle_t *v = of_link(s->lru.next);
        tremove(s, ekey(v), v->hash);
        if (finish_erase(s, v)) {
            v->next_free = *dead;
            *dead = v;
        }
    }
}

static inline uint32_t khash(slice_t key) { return hash32(key.data, key.size, 0x51f0c9a5u); }

static inline shard_t *shard_of(cache_t *c, uint32_t hash)
{
    return &c->shards[c->shard_bits ? hash >> (32 - c->shard_bits) : 0];
}

/* ---- public ---- */
cache_t *cache_new_sharded(size_t capacity, int shard_bits)
{
    if (shard_bits < 0)
        shard_bits = 0;
    if (shard_bits > 8)
        shard_bits = 8;
    cache_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->capacity = capacity;
    c->shard_bits = shard_bits;
    c->nshards = 1 << shard_bits;
    c->shards = aligned_alloc(64, sizeof(shard_t) * (size_t)c->nshards);
    if (!c->shards) {
        free(c);
        return NULL;
    }
    size_t per = (capacity + (size_t)c->nshards - 1) / (size_t)c->nshards;
    for (int i = 0; i < c->nshards; i++) {
        shard_t *s = &c->shards[i];
        memset(s, 0, sizeof(*s));
        mutex_init(&s->mu);
        s->capacity = per;
        s->lru.next = s->lru.prev = &s->lru;
        s->in_use.next = s->in_use.prev = &s->in_use;
        s->tlen = 16;
        s->table = calloc(s->tlen, sizeof(*s->table));
        atomic_init(&s->hits, 0);
        atomic_init(&s->misses, 0);
        if (!s->table) {
            c->nshards = i + 1;
            cache_destroy(c);
            return NULL;
        }
    }
    return c;
}

cache_t *cache_new(size_t capacity) { return cache_new_sharded(capacity, CACHE_DEFAULT_SHARD_BITS); }

void cache_destroy(cache_t *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nshards; i++) {
        shard_t *s = &c->shards[i];
        cache_handle_t *dead = NULL;
        if (s->table) {
            for (uint32_t b = 0; b < s->tlen; b++) {
                cache_handle_t *e = s->table[b].e;
                if (e) {
                    /* Outstanding handles are a caller bug; their entries leak rather
                     * than dangle. */
                    if (e->refs == 1) {
                        e->next_free = dead;
                        dead = e;
                    }
                }
            }
        }
        delete_list(dead);
        free(s->table);
        mutex_destroy(&s->mu);
    }
    free(c->shards);
    free(c);
}

cache_handle_t *cache_insert(cache_t *c, slice_t key, void *value, size_t charge,
                             cache_deleter_fn deleter)
{
    cache_handle_t *e = malloc(sizeof(*e) + key.size);
    if (!e) {
        if (deleter)
            deleter(key, value);
        return NULL;
    }
    e->value = value;
    e->deleter = deleter;
    e->charge = charge;
    e->key_len = key.size;
    e->hash = khash(key);
    e->refs = 1;
    e->in_cache = 0;
    e->next_free = NULL;
    e->link.next = e->link.prev = &e->link;
    if (key.size)
        memcpy(e->key, key.data, key.size);
    shard_t *s = shard_of(c, e->hash);
    cache_handle_t *dead = NULL;
    mutex_lock(&s->mu);
    if (s->capacity > 0 && troom(s) == 0) {
        e->refs++;
        e->in_cache = 1;
        list_append(&s->in_use, e);
        s->usage += charge;
        s->pinned += charge;
        cache_handle_t *old = tinsert(s, e);
        if (old && finish_erase(s, old)) {
            old->next_free = dead;
            dead = old;
        }
        evict_over_budget(s, &dead);
    }
    mutex_unlock(&s->mu);
    delete_list(dead);
    return e;
}

cache_handle_t *cache_lookup(cache_t *c, slice_t key)
{
    uint32_t hash = khash(key);
    shard_t *s = shard_of(c, hash);
    mutex_lock(&s->mu);
    cache_handle_t *e = s->table[tprobe(s, key, hash)].e;
    if (e) {
        ref(s, e);
        atomic_fetch_add_explicit(&s->hits, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&s->misses, 1, memory_order_relaxed);
    }
    mutex_unlock(&s->mu);
    return e;
}

void cache_release(cache_t *c, cache_handle_t *h)
{
    if (!h)
        return;
    shard_t *s = shard_of(c, h->hash);
    cache_handle_t *dead = NULL;
    mutex_lock(&s->mu);
    if (unref(s, h)) {
        h->next_free = NULL;
        dead = h;
    }
    evict_over_budget(s, &dead);
    mutex_unlock(&s->mu);
    delete_list(dead);
}

void *cache_value(const cache_handle_t *h) { return h->value; }

void cache_erase(cache_t *c, slice_t key)
{
    uint32_t hash = khash(key);
    shard_t *s = shard_of(c, hash);
    mutex_lock(&s->mu);
    cache_handle_t *e = tremove(s, key, hash);
    int dead = e ? finish_erase(s, e) : 0;
    mutex_unlock(&s->mu);
    if (dead) {
        e->next_free = NULL;
        delete_list(e);
    }
}

void cache_prune(cache_t *c)
{
    for (int i = 0; i < c->nshards; i++) {
        shard_t *s = &c->shards[i];
        cache_handle_t *dead = NULL;
        mutex_lock(&s->mu);
        while (s->lru.next != &s->lru) {
            cache_handle_t *v = of_link(s->lru.next);
            tremove(s, ekey(v), v->hash);
            if (finish_erase(s, v)) {
                v->next_free = dead;
                dead = v;
            }
        }
        mutex_unlock(&s->mu);
        delete_list(dead);
    }
}

size_t cache_capacity(const cache_t *c) { return c->capacity; }

static size_t sum_field(cache_t *c, size_t off)
{
    size_t total = 0;
    for (int i = 0; i < c->nshards; i++) {
        shard_t *s = &c->shards[i];
        mutex_lock(&s->mu);
        total += *(size_t *)((char *)s + off);
        mutex_unlock(&s->mu);
    }
    return total;
}

size_t cache_usage(cache_t *c) { return sum_field(c, offsetof(shard_t, usage)); }
size_t cache_pinned_usage(cache_t *c) { return sum_field(c, offsetof(shard_t, pinned)); }
size_t cache_entries(cache_t *c) { return sum_field(c, offsetof(shard_t, elems)); }

uint64_t cache_hits(const cache_t *c)
{
    uint64_t n = 0;
    for (int i = 0; i < c->nshards; i++)
        n += atomic_load_explicit(&c->shards[i].hits, memory_order_relaxed);
    return n;
}

uint64_t cache_misses(const cache_t *c)
{
    uint64_t n = 0;
    for (int i = 0; i < c->nshards; i++)
        n += atomic_load_explicit(&c->shards[i].misses, memory_order_relaxed);
    return n;
}
