/*
 * memtable.c - the in-memory write buffer (see memtable.h).
 *
 * Each point entry is one skiplist node whose key bytes are the whole entry,
 *     varint32 ikey_len | ikey | varint32 val_len | value
 * written straight into node memory: one arena allocation per entry, no malloc on the
 * write path. Range deletions go to the range_del_t beside the list.
 *
 * Seeks need a target that the skiplist comparator can read, but a target is a user key
 * and a trailer, not an encoded entry. Rather than encode it into scratch memory (which
 * could fail or need a large stack buffer), a target is passed as an `mt_probe_t`: a zero
 * tag byte, then the user key slice and the trailer. A stored entry never starts with a
 * zero byte, since its ikey_len is at least 8, so the comparator tells them apart by the
 * first byte and seeks never allocate.
 *
 * Point-key filter: a memtable made with a write buffer size of at least MT_FILTER_MIN has a
 * blocked bloom filter over the user keys of its point entries (one 64-byte line per key,
 * MT_FILTER_PROBES bits in it, one bit per 4 bytes of write buffer). memtable_add sets a
 * key's bits before the skiplist insert publishes the entry, so any reader that can see the
 * entry sees its bits too; a get whose key is not in the filter skips the skiplist descent
 * (the tens of cache misses that cost most of a get answered by a table). Bits are only ever
 * set, with relaxed atomic ORs. Range tombstones are not in the filter: they are checked
 * separately, always.
 *
 * Invariants: stored entries are immutable once inserted; first_seq only decreases and
 * last_seq only increases (atomic min/max); the memtable is freed when refs drops to 0.
 */
#include "mem/memtable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

/* Arena block size: small enough that memory_usage tracks a small write buffer closely,
 * large enough that the arena's mutex is taken rarely. */
#define MT_ARENA_BLOCK (32u << 10)

#define MT_SEQ_NONE UINT64_MAX

#define MT_FILTER_MIN (1u << 20)  /* smaller write buffers get no filter */
#define MT_FILTER_PROBES 6
#define MT_FILTER_SEED 0x1b873593u

struct memtable {
    arena_t arena;
    skiplist_t list;
    range_del_t rd;
    _Atomic int refs;
    _Atomic uint64_t first_seq; /* MT_SEQ_NONE while empty; rarely written */
    _Atomic uint64_t *filter;   /* NULL: no filter; else (filter_mask + 1) lines of 8 words */
    uint32_t filter_mask;
    /* Written by nearly every add: kept off the cache lines that readers use. */
    _Alignas(64) _Atomic uint64_t num_entries;
    _Atomic uint64_t last_seq;
};

typedef struct {
    char tag; /* always 0: marks a probe, never a stored entry */
    slice_t ukey;
    uint64_t trailer;
} mt_probe_t;

static inline mt_probe_t mt_probe(slice_t ukey, uint64_t trailer)
{
    mt_probe_t p = {0, ukey, trailer};
    return p;
}

/* The internal key of a stored entry. */
static inline slice_t mt_entry_ikey(const char *p)
{
    uint32_t n;
    const char *k = decode_varint32_fast(p, p + 5, &n);
    return slice_make(k, n);
}

static inline slice_t mt_entry_value(slice_t ikey)
{
    const char *p = ikey.data + ikey.size;
    uint32_t n;
    const char *v = decode_varint32_fast(p, p + 5, &n);
    return slice_make(v, n);
}

/* User key and trailer of a stored entry or of a probe. */
static inline slice_t mt_decode(const char *p, uint64_t *trailer)
{
    if (*p == 0) {
        const mt_probe_t *pr = (const mt_probe_t *)(const void *)p;
        *trailer = pr->trailer;
        return pr->ukey;
    }
    uint32_t n;
    const char *k = decode_varint32_fast(p, p + 5, &n);
    *trailer = decode_fixed64(k + n - 8);
    return slice_make(k, n - 8);
}

/* The filter line of a key and the bits in it (one 8-word mask). */
static inline _Atomic uint64_t *mt_filter_line(const memtable_t *m, slice_t key,
                                               uint64_t mask[8])
{
    uint32_t h = hash32(key.data, key.size, MT_FILTER_SEED);
    /* the line from a multiplicative mix of h, the bits from h itself (one hash per key) */
    uint32_t line = (uint32_t)(((uint64_t)h * 0x9e3779b97f4a7c15ull) >> 40) & m->filter_mask;
    uint32_t delta = (h >> 17) | (h << 15);
    memset(mask, 0, 8 * sizeof(uint64_t));
    for (int i = 0; i < MT_FILTER_PROBES; i++, h += delta)
        mask[(h >> 6) & 7] |= 1ull << (h & 63);
    return m->filter + (size_t)line * 8;
}

static void mt_filter_add(memtable_t *m, slice_t key)
{
    uint64_t mask[8];
    _Atomic uint64_t *w = mt_filter_line(m, key, mask);
    for (int i = 0; i < 8; i++)
        if (mask[i] && (atomic_load_explicit(&w[i], memory_order_relaxed) & mask[i]) != mask[i])
            atomic_fetch_or_explicit(&w[i], mask[i], memory_order_relaxed);
}

/* 0 when no point entry of key is in the memtable; 1 when there may be one. */
static int mt_filter_may_contain(const memtable_t *m, slice_t key)
{
    uint64_t mask[8];
    _Atomic uint64_t *w = mt_filter_line(m, key, mask);
    for (int i = 0; i < 8; i++)
        if ((atomic_load_explicit(&w[i], memory_order_relaxed) & mask[i]) != mask[i])
            return 0;
    return 1;
}

static int mt_cmp(void *arg, const char *a, const char *b)
{
    (void)arg;
    uint64_t ta, tb;
    slice_t ua = mt_decode(a, &ta), ub = mt_decode(b, &tb);
    int r = slice_compare(ua, ub);
    if (r != 0)
        return r;
    return ta > tb ? -1 : (ta < tb);
}

memtable_t *memtable_new(void) { return memtable_new_sized(0); }

memtable_t *memtable_new_sized(size_t write_buffer_size)
{
    return memtable_new_pooled(write_buffer_size, NULL);
}

memtable_t *memtable_new_pooled(size_t write_buffer_size, arena_pool_t *pool)
{
    size_t size = (sizeof(memtable_t) + 63) & ~(size_t)63;
    memtable_t *m = aligned_alloc(64, size);
    if (!m)
        return NULL;
    if (write_buffer_size >= MEMTABLE_HUGE_MIN)
        arena_init_huge_pooled(&m->arena, pool);
    else
        arena_init(&m->arena, MT_ARENA_BLOCK);
    if (skiplist_init(&m->list, &m->arena, mt_cmp, NULL) < 0) {
        arena_destroy(&m->arena);
        free(m);
        return NULL;
    }
    m->filter = NULL;
    m->filter_mask = 0;
    if (write_buffer_size >= MT_FILTER_MIN) {
        /* one bit per 4 bytes of write buffer: 512-bit lines, a power of two of them */
        size_t lines = 1;
        while (lines * 2 <= write_buffer_size / 2048 && lines < (1u << 24))
            lines *= 2;
        m->filter = calloc(lines * 8, sizeof(uint64_t));
        m->filter_mask = (uint32_t)(lines - 1);
        if (!m->filter) {
            arena_destroy(&m->arena);
            free(m);
            return NULL;
        }
    }
    if (range_del_init(&m->rd, &m->arena) < 0) {
        range_del_destroy(&m->rd);
        arena_destroy(&m->arena);
        free((void *)m->filter);
        free(m);
        return NULL;
    }
    atomic_init(&m->refs, 1);
    atomic_init(&m->num_entries, 0);
    atomic_init(&m->first_seq, MT_SEQ_NONE);
    atomic_init(&m->last_seq, 0);
    return m;
}

void memtable_ref(memtable_t *m) { atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed); }

void memtable_unref(memtable_t *m)
{
    if (!m)
        return;
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    range_del_destroy(&m->rd);
    arena_destroy(&m->arena);
    free((void *)m->filter);
    free(m);
}

static void mt_note_seq(memtable_t *m, uint64_t seq)
{
    uint64_t cur = atomic_load_explicit(&m->first_seq, memory_order_relaxed);
    while (seq < cur &&
           !atomic_compare_exchange_weak_explicit(&m->first_seq, &cur, seq, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
    cur = atomic_load_explicit(&m->last_seq, memory_order_relaxed);
    while (seq > cur &&
           !atomic_compare_exchange_weak_explicit(&m->last_seq, &cur, seq, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

int memtable_add(memtable_t *m, uint64_t seq, value_type_t type, slice_t key, slice_t value)
{
    if (seq > MAX_SEQUENCE)
        return EINVAL;
    if (type == TYPE_RANGE_DELETION) {
        if (range_del_add(&m->rd, seq, key, value) < 0)
            return ENOMEM;
        mt_note_seq(m, seq);
        return 0;
    }
    if (type != TYPE_VALUE && type != TYPE_DELETION)
        return EINVAL;
    if (key.size > UINT32_MAX - 8 || value.size > UINT32_MAX)
        return EINVAL;
    uint32_t klen = (uint32_t)key.size + 8, vlen = (uint32_t)value.size;
    size_t n = (size_t)varint_length(klen) + klen + (size_t)varint_length(vlen) + vlen;
    sl_node_t *node;
    char *p = skiplist_alloc_key(&m->list, n, &node);
    if (!p)
        return ENOMEM;
    p = encode_varint32(p, klen);
    ikey_encode(p, key, seq, type);
    p = encode_varint32(p + klen, vlen);
    if (vlen)
        memcpy(p, value.data, vlen);
    if (m->filter)
        mt_filter_add(m, key); /* before the insert publishes the entry */
    skiplist_insert(&m->list, node);
    atomic_fetch_add_explicit(&m->num_entries, 1, memory_order_relaxed);
    mt_note_seq(m, seq);
    return 0;
}

mt_get_t memtable_get(memtable_t *m, slice_t key, uint64_t snapshot, buf_t *value)
{
    if (snapshot > MAX_SEQUENCE)
        snapshot = MAX_SEQUENCE;
    mt_get_t res = MT_NOT_FOUND;
    uint64_t point_seq = 0;
    slice_t found_value = slice_make("", 0);

    mt_probe_t probe = mt_probe(key, pack_seq_type(snapshot, TYPE_FOR_SEEK));
    sl_iter_t it;
    sl_iter_init(&it, &m->list);
    if (!m->filter || mt_filter_may_contain(m, key))
        sl_iter_seek(&it, (const char *)&probe);
    if (sl_iter_valid(&it)) {
        slice_t ik = mt_entry_ikey(sl_iter_key(&it));
        if (slice_equal(ikey_user_key(ik), key)) {
            point_seq = ikey_seq(ik);
            if (ikey_type(ik) == TYPE_VALUE) {
                res = MT_FOUND;
                found_value = mt_entry_value(ik);
            } else {
                res = MT_DELETED;
            }
        }
    }
    if (range_del_count(&m->rd) != 0) {
        uint64_t s = range_del_max_covering(&m->rd, key, snapshot);
        if (s > 0 && (res == MT_NOT_FOUND || point_seq < s))
            res = MT_DELETED;
    }
    if (res == MT_FOUND) {
        buf_clear(value);
        buf_append(value, found_value.data, found_value.size);
    }
    return res;
}

size_t memtable_memory_usage(memtable_t *m) { return arena_memory_usage(&m->arena); }

uint64_t memtable_num_entries(memtable_t *m)
{
    return atomic_load_explicit(&m->num_entries, memory_order_relaxed);
}

uint64_t memtable_num_range_dels(memtable_t *m) { return range_del_count(&m->rd); }

uint64_t memtable_first_seq(memtable_t *m)
{
    uint64_t s = atomic_load_explicit(&m->first_seq, memory_order_relaxed);
    return s == MT_SEQ_NONE ? 0 : s;
}

uint64_t memtable_last_seq(memtable_t *m)
{
    return atomic_load_explicit(&m->last_seq, memory_order_relaxed);
}

range_del_t *memtable_range_dels(memtable_t *m) { return &m->rd; }

/* ---- iterator ---------------------------------------------------------------------- */

typedef struct {
    iter_t base;
    memtable_t *m;
    sl_iter_t it;
} mt_iter_t;

static inline mt_iter_t *mi(iter_t *it) { return (mt_iter_t *)it; }

static int mi_valid(iter_t *it) { return sl_iter_valid(&mi(it)->it); }
static void mi_first(iter_t *it) { sl_iter_seek_to_first(&mi(it)->it); }
static void mi_last(iter_t *it) { sl_iter_seek_to_last(&mi(it)->it); }
static void mi_next(iter_t *it) { sl_iter_next(&mi(it)->it); }
static void mi_prev(iter_t *it) { sl_iter_prev(&mi(it)->it); }

/* A target shorter than a trailer is not an internal key; it is taken as a bare user key
 * (seek to its newest entry). */
static mt_probe_t mi_probe(slice_t target)
{
    if (target.size < 8)
        return mt_probe(target, UINT64_MAX);
    return mt_probe(ikey_user_key(target), ikey_trailer(target));
}

static void mi_seek_common(iter_t *it, slice_t target, int for_prev)
{
    mt_probe_t probe = mi_probe(target);
    if (for_prev)
        sl_iter_seek_for_prev(&mi(it)->it, (const char *)&probe);
    else
        sl_iter_seek(&mi(it)->it, (const char *)&probe);
}

static void mi_seek(iter_t *it, slice_t target) { mi_seek_common(it, target, 0); }
static void mi_seek_for_prev(iter_t *it, slice_t target) { mi_seek_common(it, target, 1); }

static slice_t mi_key(iter_t *it) { return mt_entry_ikey(sl_iter_key(&mi(it)->it)); }
static slice_t mi_value(iter_t *it) { return mt_entry_value(mi_key(it)); }
static status_t mi_status(iter_t *it)
{
    (void)it;
    return ST_OK_VALUE;
}

static void mi_destroy(iter_t *it)
{
    memtable_unref(mi(it)->m);
    free(it);
}

static const iter_ops_t mt_iter_ops = {
    mi_valid, mi_first, mi_last, mi_seek, mi_seek_for_prev, mi_next,
    mi_prev,  mi_key,   mi_value, mi_status, mi_destroy,
};

iter_t *memtable_iter_new(memtable_t *m)
{
    mt_iter_t *x = malloc(sizeof(*x));
    if (!x)
        return NULL;
    x->base.ops = &mt_iter_ops;
    memtable_ref(m);
    x->m = m;
    sl_iter_init(&x->it, &m->list);
    return &x->base;
}
