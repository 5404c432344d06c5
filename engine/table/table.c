/*
 * table.c - SST reader: open, get, two-level iterator, tombstones, verify (see table.h).
 *
 * Invariants: the index block (with its fingerprint search, index_search.h), the bloom
 * filter and the raw range-del block are owned by the table_t and immutable after
 * table_open; the tombstones are also folded into a
 * range_del_t (fragmented, in its own arena) for covering lookups. Every handle from the
 * file is bounded by the start of the footer before anything is read. A data block in use
 * is either pinned in the block cache (blkref_t.h) or owned by its user (blkref_t.own).
 * The two-level iterator is valid only while its current data block iterator is; the
 * first error (index, block read, bad entry) sticks and makes it invalid.
 */
#include "table/table.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "mem/range_del.h"
#include "table/block.h"
#include "table/bloom.h"
#include "table/format.h"
#include "table/index_search.h"
#include "util/arena.h"
#include "util/coding.h"
#include "util/mapguard.h"

struct table {
    _Atomic int refs;
    rfile_t *file;
    uint64_t number;
    uint64_t size;
    uint64_t data_limit;     /* start of the footer: no block may reach past it */
    cache_t *cache;
    table_stats_t *stats;
    block_t index;
    index_search_t isearch;  /* fingerprint search over index (index_search.h) */
    uint64_t index_off;
    char *filter;
    size_t filter_len;
    const char *map;         /* the whole file mapped (rfile_map), or NULL: see map_block */
    block_t rdel;            /* data NULL when the table has no tombstones */
    int has_rd;
    arena_t arena;
    range_del_t rd;
    table_props_t props;
};

#define STAT_ADD(t, field, n)                                                          \
    do {                                                                               \
        if ((t)->stats)                                                                \
            atomic_fetch_add_explicit(&(t)->stats->field, (n), memory_order_relaxed); \
    } while (0)

static void table_free(table_t *t)
{
    if (!t)
        return;
    rfile_close(t->file);
    index_search_free(&t->isearch);
    block_release(&t->index);
    free(t->filter);
    block_release(&t->rdel);
    if (t->has_rd) {
        range_del_destroy(&t->rd);
        arena_destroy(&t->arena);
    }
    props_free(&t->props);
    free(t);
}

void table_ref(table_t *t) { atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed); }

void table_unref(table_t *t)
{
    if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        table_free(t);
}

static const char *tpath(const table_t *t) { return rfile_path(t->file); }

/* A new status: "<inner message> (<what>)", same code. */
static status_t annotate(status_t inner, const char *what)
{
    status_t s = st_make(st_code(inner), st_errno(inner), "%s (%s)", st_msg(inner), what);
    st_free(inner);
    return s;
}

static status_t read_meta_block(table_t *t, block_handle_t h, int verify, const char *what,
                                block_t *out)
{
    block_contents_t c;
    status_t s = block_read(t->file, t->data_limit, h, verify, &c);
    if (s)
        return annotate(s, what);
    if (block_init(out, c.data, c.size, c.data) < 0) {
        block_release(out);
        return st_error(ST_CORRUPTION, "%s: %s at offset %llu is malformed (restart array)",
                        tpath(t), what, (unsigned long long)h.offset);
    }
    return NULL;
}

static status_t decode_handle_value(table_t *t, slice_t v, const char *what, block_handle_t *h)
{
    if (block_handle_decode(&v, h) < 0 || v.size != 0)
        return st_error(ST_CORRUPTION, "%s: %s: malformed block handle", tpath(t), what);
    return NULL;
}

static status_t load_range_dels(table_t *t)
{
    arena_init(&t->arena, 4096);
    if (range_del_init(&t->rd, &t->arena) < 0) {
        arena_destroy(&t->arena);
        return st_io(ENOMEM, "%s: range tombstones", tpath(t));
    }
    t->has_rd = 1;
    block_iter_t it;
    block_iter_init(&it, &t->rdel, ikey_compare, BLOCK_IKEYS);
    status_t s = NULL;
    uint64_t n = 0;
    for (block_iter_seek_to_first(&it); block_iter_valid(&it); block_iter_next(&it)) {
        slice_t start = ikey_user_key(it.key);
        if (ikey_type(it.key) != TYPE_RANGE_DELETION || slice_compare(start, it.value) >= 0) {
            s = st_error(ST_CORRUPTION, "%s: range-del block: bad tombstone #%llu", tpath(t),
                         (unsigned long long)n);
            break;
        }
        if (range_del_add(&t->rd, ikey_seq(it.key), start, it.value) < 0) {
            s = st_io(ENOMEM, "%s: range tombstones", tpath(t));
            break;
        }
        n++;
    }
    if (!s && it.st)
        s = st_error(ST_CORRUPTION, "%s: range-del block: %s", tpath(t), st_msg(it.st));
    if (!s && n != t->props.num_range_dels)
        s = st_error(ST_CORRUPTION, "%s: range-del block holds %llu tombstones, properties say %llu",
                     tpath(t), (unsigned long long)n, (unsigned long long)t->props.num_range_dels);
    block_iter_cleanup(&it);
    return s;
}

/* Index sanity: valid keys, decodable handles, one entry per data block. */
static status_t check_index(table_t *t)
{
    block_iter_t it;
    block_iter_init(&it, &t->index, ikey_compare, BLOCK_IKEYS);
    status_t s = NULL;
    uint64_t n = 0;
    for (block_iter_seek_to_first(&it); block_iter_valid(&it) && !s; block_iter_next(&it)) {
        block_handle_t h;
        s = decode_handle_value(t, it.value, "index block", &h);
        n++;
    }
    if (!s && it.st)
        s = st_error(ST_CORRUPTION, "%s: index block: %s", tpath(t), st_msg(it.st));
    if (!s && n != t->props.num_data_blocks)
        s = st_error(ST_CORRUPTION, "%s: index has %llu entries, properties say %llu data blocks",
                     tpath(t), (unsigned long long)n, (unsigned long long)t->props.num_data_blocks);
    block_iter_cleanup(&it);
    return s;
}

status_t table_open(env_t *env, const char *path, uint64_t file_number, uint64_t file_size,
                    const table_read_options_t *ro, table_t **out)
{
    *out = NULL;
    rfile_t *f;
    uint64_t actual;
    ST_RETURN_IF_ERR(rfile_open(env, path, &f, &actual));
    if (file_size && file_size != actual) {
        rfile_close(f);
        return st_error(ST_CORRUPTION, "%s: file is %llu bytes, expected %llu", path,
                        (unsigned long long)actual, (unsigned long long)file_size);
    }
    if (actual < FOOTER_SIZE) {
        rfile_close(f);
        return st_error(ST_CORRUPTION, "%s: file too short (%llu bytes) to be an SST", path,
                        (unsigned long long)actual);
    }
    table_t *t = calloc(1, sizeof(*t));
    if (!t) {
        rfile_close(f);
        return st_io(ENOMEM, "%s", path);
    }
    atomic_init(&t->refs, 1);
    t->file = f;
    t->number = file_number;
    t->size = actual;
    t->data_limit = actual - FOOTER_SIZE;
    t->cache = ro->block_cache;
    t->stats = ro->stats;
    if (ro->mmap_reads && mapguard_available()) {
        uint64_t mlen;
        t->map = rfile_map(f, &mlen);
        if (mlen != actual)
            t->map = NULL;
    }
    props_init(&t->props);
    int verify = ro->verify_checksums;

    char fb[FOOTER_SIZE];
    footer_t ft;
    block_t meta = {0};
    status_t s = rfile_read(f, t->data_limit, FOOTER_SIZE, fb);
    if (!s)
        s = footer_decode(fb, verify, &ft, path);
    if (!s)
        s = read_meta_block(t, ft.metaindex, verify, "metaindex block", &meta);
    block_handle_t ph = {0, 0}, fh = {0, 0}, rh = {0, 0};
    int have_p = 0, have_f = 0, have_r = 0;
    if (!s) {
        block_iter_t it;
        block_iter_init(&it, &meta, block_bytewise_cmp, 0);
        for (block_iter_seek_to_first(&it); block_iter_valid(&it) && !s; block_iter_next(&it)) {
            if (slice_equal(it.key, slice_str(META_PROPERTIES))) {
                s = decode_handle_value(t, it.value, "metaindex", &ph);
                have_p = 1;
            } else if (slice_equal(it.key, slice_str(META_FILTER))) {
                s = decode_handle_value(t, it.value, "metaindex", &fh);
                have_f = 1;
            } else if (slice_equal(it.key, slice_str(META_RANGE_DEL))) {
                s = decode_handle_value(t, it.value, "metaindex", &rh);
                have_r = 1;
            }
        }
        if (!s && it.st)
            s = st_error(ST_CORRUPTION, "%s: metaindex block: %s", path, st_msg(it.st));
        if (!s && !have_p)
            s = st_error(ST_CORRUPTION, "%s: no properties block", path);
        block_iter_cleanup(&it);
    }
    block_release(&meta);
    if (!s) {
        block_t pb = {0};
        s = read_meta_block(t, ph, verify, "properties block", &pb);
        if (!s)
            s = props_decode(slice_make(pb.data, pb.size), &t->props, path);
        block_release(&pb);
    }
    if (!s) {
        t->index_off = ft.index.offset;
        s = read_meta_block(t, ft.index, verify, "index block", &t->index);
    }
    if (!s)
        s = check_index(t);
    if (!s)
        index_search_build(&t->isearch, &t->index);
    if (!s && have_f) {
        block_contents_t c;
        s = block_read(f, t->data_limit, fh, verify, &c);
        if (s) {
            s = annotate(s, "filter block");
        } else {
            t->filter = c.data;
            t->filter_len = c.size;
        }
    }
    if (!s && have_r) {
        s = read_meta_block(t, rh, verify, "range-del block", &t->rdel);
        if (!s)
            s = load_range_dels(t);
    } else if (!s && t->props.num_range_dels) {
        s = st_error(ST_CORRUPTION, "%s: properties count %llu range tombstones but there is no "
                     "range-del block", path, (unsigned long long)t->props.num_range_dels);
    }
    if (s) {
        table_free(t);
        return s;
    }
    *out = t;
    return NULL;
}

/* ---- data blocks ---- */
typedef struct {
    block_t *blk;
    cache_handle_t *h;     /* non-NULL: pinned in the block cache */
    block_t own;
} blkref_t;

/* A data block bound for the block cache: its block_t (first, so the cache value is a
 * block_t *) and its raw bytes, trailer included, in one allocation, so a cache miss and
 * the eviction it causes cost one malloc and one free instead of two each. (A recycling
 * pool of these buffers measured within noise and would have been process-wide state, so
 * there is none.) */
typedef struct blkbuf {
    block_t b;
    char raw[];
} blkbuf_t;

/* Sizes are rounded up to BLKBUF_CLASS: the blocks of one table differ by a few bytes, and
 * with exact sizes a freed (evicted) buffer rarely fits the next miss, so the heap kept
 * growing into fresh pages and trimming them again (sysmalloc and page faults were ~10% of
 * a readrandom profile). With the rounding, an evicted buffer is reused as it is. */
#define BLKBUF_CLASS 512u

static blkbuf_t *blkbuf_get(size_t n)
{
    size_t sz = (sizeof(blkbuf_t) + n + BLKBUF_CLASS - 1) & ~(size_t)(BLKBUF_CLASS - 1);
    return malloc(sz);
}

static void blkbuf_put(blkbuf_t *bb) { free(bb); }

static void block_deleter(slice_t key, void *value)
{
    (void)key;
    blkbuf_t *bb = value;
    block_release(&bb->b); /* frees an inflated copy; raw[] goes with bb */
    blkbuf_put(bb);
}

/* Reads the block at bh into a blkbuf (crc checked when verify) and sets up its block_t. */
static status_t read_blkbuf(table_t *t, block_handle_t bh, int verify, blkbuf_t **out)
{
    *out = NULL;
    status_t s = block_handle_check(tpath(t), t->data_limit, bh);
    if (s)
        return annotate(s, "data block");
    blkbuf_t *bb = blkbuf_get((size_t)bh.size + BLOCK_TRAILER_SIZE);
    if (!bb)
        return st_io(ENOMEM, "%s: data block at offset %llu", tpath(t),
                     (unsigned long long)bh.offset);
    block_contents_t c;
    int borrowed = 0;
    s = rfile_read(t->file, bh.offset, (size_t)bh.size + BLOCK_TRAILER_SIZE, bb->raw);
    if (!s)
        s = block_decode(tpath(t), bh, bb->raw, verify, &c, &borrowed);
    if (s) {
        blkbuf_put(bb);
        return annotate(s, "data block");
    }
    if (block_init(&bb->b, c.data, c.size, borrowed ? NULL : c.data) < 0) {
        block_release(&bb->b);
        blkbuf_put(bb);
        return st_error(ST_CORRUPTION, "%s: data block at offset %llu is malformed (restart array)",
                        tpath(t), (unsigned long long)bh.offset);
    }
    *out = bb;
    return NULL;
}

/* Looks the block up in the cache (key gets its cache key); 1 and r pinned on a hit. */
static int cache_probe(table_t *t, block_handle_t bh, char key[16], blkref_t *r)
{
    r->blk = NULL;
    r->h = NULL;
    if (t->cache) {
        encode_fixed64(key, t->number);
        encode_fixed64(key + 8, bh.offset);
        r->h = cache_lookup(t->cache, slice_make(key, 16));
        if (r->h) {
            r->blk = cache_value(r->h);
            STAT_ADD(t, block_cache_hit, 1);
            return 1;
        }
    }
    STAT_ADD(t, block_cache_miss, 1);
    return 0;
}

/* ---- mapped reads ----
 * With a mapping (ro->mmap_reads on a local file), an uncompressed data block is used where
 * it lies in the mapping, as LevelDB does: no pread, copy, allocation or block-cache
 * insert, and no cache lookup either (the page cache is the cache). Every page of the
 * block is touched under util/mapguard.h first, so an I/O error while paging it in is an
 * error status, not a crash; the checksum and the parse follow right after, on pages
 * just made resident. Compressed blocks take the cached path (inflating on every read
 * would cost more than the copy saves). */
typedef struct {
    const volatile char *p;
    size_t n;
} touch_t;

static void touch_pages(void *arg)
{
    touch_t *tc = arg;
    for (size_t i = 0; i < tc->n; i += 4096)
        (void)tc->p[i];
    (void)tc->p[tc->n - 1];
}

/* 1: r is set up over the mapped block; 0: not mapped or compressed, use the cache path;
 * -1: *err set. */
static int map_block(table_t *t, block_handle_t bh, int verify, blkref_t *r, status_t *err)
{
    r->blk = NULL;
    r->h = NULL;
    status_t s = block_handle_check(tpath(t), t->data_limit, bh);
    if (s) {
        *err = annotate(s, "data block");
        return -1;
    }
    touch_t tc = {t->map + bh.offset, (size_t)bh.size + BLOCK_TRAILER_SIZE};
    if (mapguard_run(touch_pages, &tc) < 0) {
        *err = st_io(EIO, "%s: data block at offset %llu: read error (SIGBUS on the mapped file)",
                     tpath(t), (unsigned long long)bh.offset);
        return -1;
    }
    const char *raw = t->map + bh.offset;
    if (raw[bh.size] != BLOCK_TYPE_NONE)
        return 0;
    block_contents_t c;
    int borrowed;
    s = block_decode(tpath(t), bh, raw, verify, &c, &borrowed);
    if (s) {
        *err = annotate(s, "data block");
        return -1;
    }
    STAT_ADD(t, block_read_bytes, bh.size);
    STAT_ADD(t, block_mapped, 1);
    if (block_init(&r->own, c.data, c.size, borrowed ? NULL : c.data) < 0) {
        block_release(&r->own);
        *err = st_error(ST_CORRUPTION, "%s: data block at offset %llu is malformed (restart array)",
                        tpath(t), (unsigned long long)bh.offset);
        return -1;
    }
    r->blk = &r->own;
    return 1;
}

static status_t get_block(table_t *t, block_handle_t bh, int verify, int fill, blkref_t *r)
{
    if (t->map) {
        status_t err = NULL;
        int m = map_block(t, bh, verify, r, &err);
        if (m)
            return err;
    }
    char key[16];
    if (cache_probe(t, bh, key, r))
        return NULL;
    status_t s;
    if (t->cache && fill) {
        blkbuf_t *bb;
        s = read_blkbuf(t, bh, verify, &bb);
        if (s)
            return s;
        STAT_ADD(t, block_read_bytes, bh.size);
        r->h = cache_insert(t->cache, slice_make(key, 16), bb, bb->b.size + sizeof(block_t),
                            block_deleter);
        if (!r->h)
            return st_io(ENOMEM, "%s: data block at offset %llu", tpath(t),
                         (unsigned long long)bh.offset);
        r->blk = &bb->b;
        return NULL;
    }
    block_contents_t c;
    s = block_read(t->file, t->data_limit, bh, verify, &c);
    if (s)
        return annotate(s, "data block");
    STAT_ADD(t, block_read_bytes, bh.size);
    if (block_init(&r->own, c.data, c.size, c.data) < 0) {
        block_release(&r->own);
        return st_error(ST_CORRUPTION, "%s: data block at offset %llu is malformed (restart array)",
                        tpath(t), (unsigned long long)bh.offset);
    }
    r->blk = &r->own;
    return NULL;
}

static void put_block(table_t *t, blkref_t *r)
{
    if (r->h)
        cache_release(t->cache, r->h);
    else if (r->blk)
        block_release(&r->own);
    r->h = NULL;
    r->blk = NULL;
}

static status_t iter_error(table_t *t, const char *what, uint64_t off, status_t inner)
{
    return st_make(st_code(inner), st_errno(inner), "%s: %s at offset %llu: %s", tpath(t), what,
                   (unsigned long long)off, st_msg(inner));
}

/* ---- get ---- */
status_t table_get(table_t *t, slice_t user_key, uint64_t snapshot, int verify_checksums,
                   int fill_cache, buf_t *value, table_get_result_t *result, uint64_t *seq)
{
    *result = TABLE_NOT_FOUND;
    if (seq)
        *seq = 0;
    uint64_t tomb = t->has_rd ? range_del_max_covering(&t->rd, user_key, snapshot) : 0;
    table_get_result_t pres = TABLE_NOT_FOUND;
    uint64_t pseq = 0;
    status_t s = NULL;
    int probe = 1;
    if (t->filter) {
        STAT_ADD(t, bloom_checked, 1);
        if (!bloom_may_match(slice_make(t->filter, t->filter_len), bloom_hash(user_key))) {
            STAT_ADD(t, bloom_useful, 1);
            probe = 0;
        }
    }
    if (probe) {
        char kstack[BLOCK_ITER_INLINE_KEY];
        size_t klen = user_key.size + 8;
        char *k = klen <= sizeof(kstack) ? kstack : malloc(klen);
        if (!k)
            return st_io(ENOMEM, "%s: get", tpath(t));
        ikey_encode(k, user_key, snapshot, TYPE_FOR_SEEK);
        slice_t target = slice_make(k, klen);
        block_iter_t ii;
        block_iter_init(&ii, &t->index, ikey_compare, BLOCK_IKEYS);
        uint32_t pos;
        int direct = index_search_locate(&t->isearch, &ii, target, &pos);
        if (ii.st) {
            s = iter_error(t, "index block", t->index_off, ii.st);
        } else if (direct || block_iter_valid(&ii)) {
            block_handle_t bh;
            if (direct)
                bh = t->isearch.handles[pos];
            else
                s = decode_handle_value(t, ii.value, "index block", &bh);
            blkref_t r;
            if (!s)
                s = get_block(t, bh, verify_checksums, fill_cache, &r);
            if (!s) {
                block_iter_t di;
                block_iter_init(&di, r.blk, ikey_compare, BLOCK_IKEYS);
                block_iter_seek(&di, target);
                if (di.st) {
                    s = iter_error(t, "data block", bh.offset, di.st);
                } else if (block_iter_valid(&di) && slice_equal(ikey_user_key(di.key), user_key)) {
                    pseq = ikey_seq(di.key);
                    if (ikey_type(di.key) == TYPE_VALUE) {
                        pres = TABLE_FOUND;
                        if (pseq >= tomb) {
                            buf_clear(value);
                            buf_append(value, di.value.data, di.value.size);
                            if (value->oom)
                                s = st_io(ENOMEM, "%s: get value", tpath(t));
                        }
                    } else {
                        pres = TABLE_DELETED;
                    }
                }
                block_iter_cleanup(&di);
                put_block(t, &r);
            }
        }
        block_iter_cleanup(&ii);
        if (k != kstack)
            free(k);
        if (s)
            return s;
    }
    if (tomb && (pres == TABLE_NOT_FOUND || tomb > pseq)) {
        *result = TABLE_DELETED;
        if (seq)
            *seq = tomb;
    } else {
        *result = pres;
        if (seq)
            *seq = pseq;
    }
    return NULL;
}

/* ---- two-level iterator ---- */
/* Scan mode (table.h): after TABLE_SCAN_AFTER loads in a row of the next block, blocks
 * missing from the cache come from a readahead window read with one pread (RA_MIN bytes,
 * doubling up to RA_MAX), are decoded in place and not inserted into the cache, so a long
 * scan neither mallocs nor syscalls per block, nor evicts the hot blocks of point reads.
 * A block in the window is in use only while it is it->cur, and the window is refilled
 * only from load_block after clear_data has dropped it. A mapped table (map_block) keeps
 * no window of its own: windows are announced to the kernel with rfile_map_willneed, one
 * ahead of the reader (map_lookahead), and the blocks are read in place. */
#define RA_MIN (32u << 10)
#define RA_MAX (256u << 10)

typedef struct {
    iter_t base;
    table_t *t;
    int verify, fill;
    block_iter_t index;
    block_iter_t data;
    int have_data;
    blkref_t cur;
    uint64_t cur_off;
    int seq_run;            /* loads in a row of the block after the previous one */
    int lazy;               /* index not positioned yet: it belongs at restart lazy_pos */
    uint32_t lazy_pos;
    char *ra;               /* readahead window: file bytes [ra_off, ra_off + ra_len) */
    size_t ra_cap, ra_len, ra_next;
    uint64_t ra_off;
    status_t st;
    void (*cleanup)(void *a, void *b);
    void *ca, *cb;
} titer_t;

static void clear_data(titer_t *it)
{
    if (it->have_data) {
        block_iter_cleanup(&it->data);
        put_block(it->t, &it->cur);
        it->have_data = 0;
    }
}

static void set_error(titer_t *it, status_t s)
{
    if (!it->st)
        it->st = s;
    else
        st_free(s);
    clear_data(it);
}

/* Reads the window starting at off, at least need bytes (need fits before data_limit). */
static status_t ra_fill(titer_t *it, uint64_t off, size_t need)
{
    table_t *t = it->t;
    size_t want = it->ra_next > need ? it->ra_next : need;
    if (want > t->data_limit - off)
        want = (size_t)(t->data_limit - off);
    it->ra_len = 0;
    if (want > it->ra_cap) {
        char *nb = malloc(want);
        if (!nb)
            return st_io(ENOMEM, "%s: readahead of %zu bytes", tpath(t), want);
        free(it->ra);
        it->ra = nb;
        it->ra_cap = want;
    }
    ST_RETURN_IF_ERR(rfile_read(t->file, off, want, it->ra));
    it->ra_off = off;
    it->ra_len = want;
    if (it->ra_next < RA_MAX)
        it->ra_next *= 2;
    return NULL;
}

/* Mapped scans: the window is only announced to the kernel (madvise WILLNEED, no copy),
 * and announced one window ahead of the reader, so the disk reads the next window while
 * this one is parsed; [ra_off, ra_off + ra_len) is what has been announced. A block outside
 * it (first use, a jump) announces two windows from there; a block within the last window
 * announces the next one. Windows start at RA_MAP_MIN and double up to RA_MAP_MAX: larger
 * than a pread window, as they cost the daemon no buffer and no copy. */
#define RA_MAP_MIN (128u << 10)
#define RA_MAP_MAX (1u << 20)
static void map_lookahead(titer_t *it, uint64_t off)
{
    table_t *t = it->t;
    if (it->ra_next < RA_MAP_MIN)
        it->ra_next = RA_MAP_MIN;
    uint64_t end = it->ra_off + it->ra_len, from, len;
    if (off < it->ra_off || off >= end) {
        from = off;
        len = 2 * (uint64_t)it->ra_next;
        it->ra_off = off;
        it->ra_len = 0;
    } else if (end - off <= it->ra_next && end < t->data_limit) {
        from = end;
        len = it->ra_next;
    } else {
        return;
    }
    if (len > t->data_limit - from)
        len = t->data_limit - from;
    rfile_map_willneed(t->file, from, len);
    it->ra_len += (size_t)len;
    if (it->ra_next < RA_MAP_MAX)
        it->ra_next *= 2;
}

/* get_block for scan mode: cache hits as usual, misses from the readahead window, decoded
 * in place (crc checked when verify) and owned by r, not cached. */
static status_t get_block_scan(titer_t *it, block_handle_t bh, blkref_t *r)
{
    table_t *t = it->t;
    if (t->map) {
        map_lookahead(it, bh.offset);
        return get_block(t, bh, it->verify, it->fill, r);
    }
    char key[16];
    if (cache_probe(t, bh, key, r))
        return NULL;
    status_t s = block_handle_check(tpath(t), t->data_limit, bh);
    if (s)
        return annotate(s, "data block");
    size_t need = (size_t)bh.size + BLOCK_TRAILER_SIZE;
    if (bh.offset < it->ra_off || bh.offset - it->ra_off > it->ra_len ||
        it->ra_len - (bh.offset - it->ra_off) < need) {
        s = ra_fill(it, bh.offset, need);
        if (s)
            return annotate(s, "data block");
    }
    STAT_ADD(t, block_read_bytes, bh.size);
    block_contents_t c;
    int borrowed;
    s = block_decode(tpath(t), bh, it->ra + (bh.offset - it->ra_off), it->verify, &c, &borrowed);
    if (s)
        return annotate(s, "data block");
    if (block_init(&r->own, c.data, c.size, borrowed ? NULL : c.data) < 0) {
        block_release(&r->own);
        return st_error(ST_CORRUPTION, "%s: data block at offset %llu is malformed (restart array)",
                        tpath(t), (unsigned long long)bh.offset);
    }
    r->blk = &r->own;
    return NULL;
}

/* Sets up the data iterator over the block the index is at. 0 on success; -1 when the
 * index is exhausted (no data then) or on error (it->st set). step: 1 when the index just
 * moved forward by one entry (a scan), 0 for any other positioning. */
static int load_handle(titer_t *it, block_handle_t bh, int step);

/* A seek that index_search_locate resolved left the index iterator where it was; put it on
 * the entry the data block came from before anything moves or reads it. */
static void index_materialize(titer_t *it)
{
    if (it->lazy) {
        it->lazy = 0;
        block_iter_seek_to_restart(&it->index, it->lazy_pos);
    }
}

static int load_block(titer_t *it, int step)
{
    if (it->index.st) {
        set_error(it, iter_error(it->t, "index block", it->t->index_off, it->index.st));
        return -1;
    }
    if (!block_iter_valid(&it->index)) {
        clear_data(it);
        return -1;
    }
    block_handle_t bh;
    status_t s = decode_handle_value(it->t, it->index.value, "index block", &bh);
    if (s) {
        set_error(it, s);
        return -1;
    }
    return load_handle(it, bh, step);
}

/* The data-block half of load_block: bh comes from the index (or its search arrays). */
static int load_handle(titer_t *it, block_handle_t bh, int step)
{
    status_t s;
    it->seq_run = step ? it->seq_run + 1 : 0;
    if (it->have_data && it->cur_off == bh.offset)
        return 0;
    clear_data(it);
    if (it->seq_run >= TABLE_SCAN_AFTER)
        s = get_block_scan(it, bh, &it->cur);
    else
        s = get_block(it->t, bh, it->verify, it->fill, &it->cur);
    if (s) {
        set_error(it, s);
        return -1;
    }
    block_iter_init(&it->data, it->cur.blk, ikey_compare, BLOCK_IKEYS);
    it->have_data = 1;
    it->cur_off = bh.offset;
    return 0;
}

static void skip_forward(titer_t *it)
{
    while (it->have_data && !block_iter_valid(&it->data)) {
        if (it->data.st) {
            set_error(it, iter_error(it->t, "data block", it->cur_off, it->data.st));
            return;
        }
        index_materialize(it);
        block_iter_next(&it->index);
        if (load_block(it, 1) < 0)
            return;
        block_iter_seek_to_first(&it->data);
    }
}

static void skip_backward(titer_t *it)
{
    while (it->have_data && !block_iter_valid(&it->data)) {
        if (it->data.st) {
            set_error(it, iter_error(it->t, "data block", it->cur_off, it->data.st));
            return;
        }
        index_materialize(it);
        block_iter_prev(&it->index);
        if (load_block(it, 0) < 0)
            return;
        block_iter_seek_to_last(&it->data);
    }
}

static int ti_valid(iter_t *x)
{
    titer_t *it = (titer_t *)x;
    return !it->st && it->have_data && block_iter_valid(&it->data);
}

static void ti_first(iter_t *x)
{
    titer_t *it = (titer_t *)x;
    if (it->st)
        return;
    it->lazy = 0;
    block_iter_seek_to_first(&it->index);
    if (load_block(it, 0) == 0)
        block_iter_seek_to_first(&it->data);
    skip_forward(it);
}

static void ti_last(iter_t *x)
{
    titer_t *it = (titer_t *)x;
    if (it->st)
        return;
    it->lazy = 0;
    block_iter_seek_to_last(&it->index);
    if (load_block(it, 0) == 0)
        block_iter_seek_to_last(&it->data);
    skip_backward(it);
}

static void ti_seek(iter_t *x, slice_t target)
{
    titer_t *it = (titer_t *)x;
    if (it->st)
        return;
    uint32_t pos;
    it->lazy = 0;
    if (index_search_locate(&it->t->isearch, &it->index, target, &pos)) {
        it->lazy = 1;
        it->lazy_pos = pos;
        if (load_handle(it, it->t->isearch.handles[pos], 0) == 0)
            block_iter_seek(&it->data, target);
    } else if (load_block(it, 0) == 0) {
        block_iter_seek(&it->data, target);
    }
    skip_forward(it);
}

static void ti_seek_for_prev(iter_t *x, slice_t target)
{
    titer_t *it = (titer_t *)x;
    if (it->st)
        return;
    it->lazy = 0;
    index_search_seek(&it->t->isearch, &it->index, target);
    if (!block_iter_valid(&it->index) && !it->index.st)
        block_iter_seek_to_last(&it->index);
    if (load_block(it, 0) == 0)
        block_iter_seek_for_prev(&it->data, target);
    skip_backward(it);
}

static void ti_next(iter_t *x)
{
    titer_t *it = (titer_t *)x;
    if (!ti_valid(x))
        return;
    block_iter_next(&it->data);
    skip_forward(it);
}

static void ti_prev(iter_t *x)
{
    titer_t *it = (titer_t *)x;
    if (!ti_valid(x))
        return;
    block_iter_prev(&it->data);
    skip_backward(it);
}

static slice_t ti_key(iter_t *x) { return ((titer_t *)x)->data.key; }
static slice_t ti_value(iter_t *x) { return ((titer_t *)x)->data.value; }
static status_t ti_status(iter_t *x) { return ((titer_t *)x)->st; }

static void ti_destroy(iter_t *x)
{
    titer_t *it = (titer_t *)x;
    clear_data(it);
    free(it->ra);
    block_iter_cleanup(&it->index);
    st_free(it->st);
    table_unref(it->t);
    if (it->cleanup)
        it->cleanup(it->ca, it->cb);
    free(it);
}

static const iter_ops_t titer_ops = {
    ti_valid, ti_first, ti_last, ti_seek, ti_seek_for_prev, ti_next, ti_prev,
    ti_key, ti_value, ti_status, ti_destroy,
};

iter_t *table_iter_new_with_cleanup(table_t *t, int verify_checksums, int fill_cache,
                                    void (*cleanup)(void *a, void *b), void *a, void *b)
{
    titer_t *it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    it->base.ops = &titer_ops;
    table_ref(t);
    it->t = t;
    it->verify = verify_checksums;
    it->fill = fill_cache;
    it->ra_next = RA_MIN;
    block_iter_init(&it->index, &t->index, ikey_compare, BLOCK_IKEYS);
    it->cleanup = cleanup;
    it->ca = a;
    it->cb = b;
    return &it->base;
}

iter_t *table_iter_new(table_t *t, int verify_checksums, int fill_cache)
{
    return table_iter_new_with_cleanup(t, verify_checksums, fill_cache, NULL, NULL, NULL);
}

/* ---- range tombstones ---- */
void table_range_dels(table_t *t, int (*fn)(void *arg, slice_t start, slice_t end, uint64_t seq),
                      void *arg)
{
    if (!t->has_rd)
        return;
    block_iter_t it;
    block_iter_init(&it, &t->rdel, ikey_compare, BLOCK_IKEYS);
    for (block_iter_seek_to_first(&it); block_iter_valid(&it); block_iter_next(&it))
        if (fn(arg, ikey_user_key(it.key), it.value, ikey_seq(it.key)))
            break;
    block_iter_cleanup(&it);
}

uint64_t table_max_covering_tombstone(table_t *t, slice_t user_key, uint64_t snapshot)
{
    return t->has_rd ? range_del_max_covering(&t->rd, user_key, snapshot) : 0;
}

typedef struct {
    block_iter_t bi;   /* first: the block_iter_* calls take it directly */
    table_t *t;
} rditer_t;

static int rd_valid(iter_t *x) { return block_iter_valid((block_iter_t *)x); }
static void rd_first(iter_t *x) { block_iter_seek_to_first((block_iter_t *)x); }
static void rd_last(iter_t *x) { block_iter_seek_to_last((block_iter_t *)x); }
static void rd_seek(iter_t *x, slice_t k) { block_iter_seek((block_iter_t *)x, k); }
static void rd_seek_for_prev(iter_t *x, slice_t k) { block_iter_seek_for_prev((block_iter_t *)x, k); }
static void rd_next(iter_t *x) { block_iter_next((block_iter_t *)x); }
static void rd_prev(iter_t *x) { block_iter_prev((block_iter_t *)x); }
static slice_t rd_key(iter_t *x) { return ((block_iter_t *)x)->key; }
static slice_t rd_value(iter_t *x) { return ((block_iter_t *)x)->value; }
static status_t rd_status(iter_t *x) { return ((block_iter_t *)x)->st; }
static void rd_destroy(iter_t *x)
{
    rditer_t *r = (rditer_t *)x;
    block_iter_cleanup(&r->bi);
    table_unref(r->t);
    free(r);
}

static const iter_ops_t rditer_ops = {
    rd_valid, rd_first, rd_last, rd_seek, rd_seek_for_prev, rd_next, rd_prev,
    rd_key, rd_value, rd_status, rd_destroy,
};

iter_t *table_range_del_iter_new(table_t *t)
{
    if (!t->has_rd)
        return iter_new_empty(NULL);
    rditer_t *r = malloc(sizeof(*r));
    if (!r)
        return NULL;
    block_iter_init(&r->bi, &t->rdel, ikey_compare, BLOCK_IKEYS);
    r->bi.base.ops = &rditer_ops;
    table_ref(t);
    r->t = t;
    return &r->bi.base;
}

/* ---- verify, stats ---- */
status_t table_verify(table_t *t)
{
    block_iter_t ii;
    block_iter_init(&ii, &t->index, ikey_compare, BLOCK_IKEYS);
    buf_t prev, prev_sep;
    buf_init(&prev);
    buf_init(&prev_sep);
    status_t s = NULL;
    uint64_t entries = 0;
    for (block_iter_seek_to_first(&ii); block_iter_valid(&ii) && !s; block_iter_next(&ii)) {
        block_handle_t bh;
        s = decode_handle_value(t, ii.value, "index block", &bh);
        blkref_t r;
        if (!s)
            s = get_block(t, bh, 1, 0, &r);
        if (s)
            break;
        block_iter_t di;
        block_iter_init(&di, r.blk, ikey_compare, BLOCK_IKEYS);
        int first = 1;
        for (block_iter_seek_to_first(&di); block_iter_valid(&di) && !s; block_iter_next(&di)) {
            if ((prev.len && ikey_compare(buf_slice(&prev), di.key) >= 0) ||
                (first && prev_sep.len && ikey_compare(buf_slice(&prev_sep), di.key) >= 0))
                s = st_error(ST_CORRUPTION, "%s: data block at offset %llu: keys out of order",
                             tpath(t), (unsigned long long)bh.offset);
            if (!s && ikey_compare(di.key, ii.key) > 0)
                s = st_error(ST_CORRUPTION, "%s: data block at offset %llu: key beyond its index "
                             "entry", tpath(t), (unsigned long long)bh.offset);
            buf_clear(&prev);
            buf_append(&prev, di.key.data, di.key.size);
            first = 0;
            entries++;
        }
        if (!s && di.st)
            s = iter_error(t, "data block", bh.offset, di.st);
        if (!s && first)
            s = st_error(ST_CORRUPTION, "%s: data block at offset %llu is empty", tpath(t),
                         (unsigned long long)bh.offset);
        block_iter_cleanup(&di);
        put_block(t, &r);
        buf_clear(&prev_sep);
        buf_append(&prev_sep, ii.key.data, ii.key.size);
    }
    if (!s && ii.st)
        s = iter_error(t, "index block", t->index_off, ii.st);
    if (!s && entries != t->props.num_entries)
        s = st_error(ST_CORRUPTION, "%s: %llu entries in data blocks, properties say %llu",
                     tpath(t), (unsigned long long)entries,
                     (unsigned long long)t->props.num_entries);
    if (!s && (prev.oom || prev_sep.oom))
        s = st_io(ENOMEM, "%s: verify", tpath(t));
    block_iter_cleanup(&ii);
    buf_free(&prev);
    buf_free(&prev_sep);
    return s;
}

uint64_t table_approximate_offset(table_t *t, slice_t ikey)
{
    block_iter_t ii;
    block_iter_init(&ii, &t->index, ikey_compare, BLOCK_IKEYS);
    index_search_seek(&t->isearch, &ii, ikey);
    uint64_t off = t->props.data_size;
    if (block_iter_valid(&ii)) {
        slice_t v = ii.value;
        block_handle_t bh;
        if (block_handle_decode(&v, &bh) == 0)
            off = bh.offset;
    }
    block_iter_cleanup(&ii);
    return off;
}

const table_props_t *table_properties(const table_t *t) { return &t->props; }
uint64_t table_file_number(const table_t *t) { return t->number; }
uint64_t table_file_size(const table_t *t) { return t->size; }
const char *table_path(const table_t *t) { return tpath(t); }
int table_has_filter(const table_t *t) { return t->filter != NULL; }
