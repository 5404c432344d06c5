/*
 * table_builder.c - SST writer (see table_builder.h and format.h).
 *
 * Invariants: `offset` is the number of bytes handed to the file; every block is written
 * as contents + trailer; after a data block is flushed its index entry stays pending until
 * the next key is known, so the separator can be shortened against it (or, at finish,
 * against nothing). The bloom filter is built at finish from one hash per distinct user
 * key, collected in order.
 */
#include "table/table_builder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "table/block_builder.h"
#include "table/bloom.h"
#include "table/format.h"
#include "table/properties.h"
#include "util/buf.h"
#include "util/coding.h"

typedef struct {
    size_t koff;      /* into rd_bytes: internal key (start, seq, RANGE_DELETION) */
    size_t klen;
    size_t eoff;      /* end user key */
    size_t elen;
} tomb_t;

struct table_builder {
    table_options_t opt;
    wfile_t *file;
    uint64_t offset;
    status_t st;
    int finished;
    block_builder_t data;
    block_builder_t index;
    buf_t last_key;             /* last point key added */
    int pending_index;
    block_handle_t pending_handle;
    buf_t compressed;
    buf_t tmp;
    uint32_t *hashes;
    size_t nhashes, caphashes;
    buf_t rd_bytes;
    tomb_t *tombs;
    size_t ntombs, captombs;
    table_props_t props;
    buf_t first_key;
};

void table_options_default(table_options_t *o)
{
    o->block_size = 4096;
    o->restart_interval = 16;
    o->compression = BLOCK_TYPE_NONE;
    o->bloom_bits_per_key = 10;
}

table_builder_t *table_builder_new(const table_options_t *opt, wfile_t *file)
{
    table_builder_t *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->opt = *opt;
    if (b->opt.block_size < 64)
        b->opt.block_size = 64;
    b->file = file;
    block_builder_init(&b->data, opt->restart_interval);
    block_builder_init(&b->index, 1);
    buf_init(&b->last_key);
    buf_init(&b->compressed);
    buf_init(&b->tmp);
    buf_init(&b->rd_bytes);
    buf_init(&b->first_key);
    props_init(&b->props);
    return b;
}

void table_builder_destroy(table_builder_t *b)
{
    if (!b)
        return;
    block_builder_destroy(&b->data);
    block_builder_destroy(&b->index);
    buf_free(&b->last_key);
    buf_free(&b->compressed);
    buf_free(&b->tmp);
    buf_free(&b->rd_bytes);
    buf_free(&b->first_key);
    props_free(&b->props);
    free(b->hashes);
    free(b->tombs);
    st_free(b->st);
    free(b);
}

void table_builder_abandon(table_builder_t *b) { table_builder_destroy(b); }

static status_t fail(table_builder_t *b, status_t s)
{
    if (!b->st)
        b->st = s;
    else
        st_free(s);
    return st_copy(b->st);
}

static status_t oom(table_builder_t *b)
{
    return fail(b, st_io(ENOMEM, "%s: building table", wfile_path(b->file)));
}

/* Writes contents + trailer, compressing when allowed and worth it. */
static void write_block(table_builder_t *b, slice_t raw, int may_compress, block_handle_t *h)
{
    slice_t out = raw;
    char type = BLOCK_TYPE_NONE;
    if (may_compress && b->opt.compression == BLOCK_TYPE_ZLIB &&
        block_compress_zlib(raw, &b->compressed)) {
        out = buf_slice(&b->compressed);
        type = BLOCK_TYPE_ZLIB;
    }
    h->offset = b->offset;
    h->size = out.size;
    char trailer[BLOCK_TRAILER_SIZE];
    trailer[0] = type;
    encode_fixed32(trailer + 1, block_crc(out.data, out.size, type));
    status_t s = wfile_append(b->file, out.data, out.size);
    if (!s)
        s = wfile_append(b->file, trailer, sizeof(trailer));
    if (s) {
        st_free(fail(b, s));
        return;
    }
    b->offset += out.size + BLOCK_TRAILER_SIZE;
}

static void flush_data_block(table_builder_t *b)
{
    if (block_builder_empty(&b->data) || b->st)
        return;
    if (block_builder_oom(&b->data)) {
        st_free(oom(b));
        return;
    }
    write_block(b, block_builder_finish(&b->data), 1, &b->pending_handle);
    if (b->st)
        return;
    b->pending_index = 1;
    b->props.num_data_blocks++;
    b->props.data_size = b->offset;
    block_builder_reset(&b->data);
}

/* Sets tmp to an internal key >= a and < b (b NULL: any key >= a), shorter when possible. */
static slice_t separator(table_builder_t *bld, slice_t a, const slice_t *b)
{
    slice_t ua = ikey_user_key(a);
    size_t i = 0;
    int ok = 0;
    if (b) {
        slice_t ub = ikey_user_key(*b);
        size_t n = ua.size < ub.size ? ua.size : ub.size;
        while (i < n && ua.data[i] == ub.data[i])
            i++;
        if (i < n) {
            unsigned char c = (unsigned char)ua.data[i];
            ok = c < 0xff && c + 1 < (unsigned char)ub.data[i] && i + 1 < ua.size;
        }
    } else {
        while (i < ua.size && (unsigned char)ua.data[i] == 0xff)
            i++;
        ok = i + 1 < ua.size;
    }
    buf_clear(&bld->tmp);
    if (!ok) {
        buf_append(&bld->tmp, a.data, a.size);
    } else {
        buf_append(&bld->tmp, ua.data, i + 1);
        if (!bld->tmp.oom)
            bld->tmp.data[i]++;
        buf_put_fixed64(&bld->tmp, pack_seq_type(MAX_SEQUENCE, TYPE_FOR_SEEK));
    }
    return buf_slice(&bld->tmp);
}

static void add_index_entry(table_builder_t *b, slice_t sep)
{
    char hb[BLOCK_HANDLE_MAX_LEN];
    char *p = encode_varint64(hb, b->pending_handle.offset);
    p = encode_varint64(p, b->pending_handle.size);
    block_builder_add(&b->index, sep, slice_make(hb, (size_t)(p - hb)));
    b->pending_index = 0;
}

static void seq_seen(table_builder_t *b, uint64_t seq)
{
    if (b->props.num_entries + b->ntombs == 0 || seq < b->props.smallest_seq)
        b->props.smallest_seq = seq;
    if (seq > b->props.largest_seq)
        b->props.largest_seq = seq;
}

status_t table_builder_add(table_builder_t *b, slice_t ikey, slice_t value)
{
    if (b->st)
        return st_copy(b->st);
    if (b->finished)
        return fail(b, st_error(ST_INVALID_ARGUMENT, "%s: add after finish", wfile_path(b->file)));
    if (ikey.size < 8 || (ikey_type(ikey) != TYPE_VALUE && ikey_type(ikey) != TYPE_DELETION))
        return fail(b, st_error(ST_INVALID_ARGUMENT, "%s: not a point internal key (size %zu)",
                                wfile_path(b->file), ikey.size));
    int first = b->props.num_entries == 0;
    if (!first && ikey_compare(ikey, buf_slice(&b->last_key)) <= 0)
        return fail(b, st_error(ST_INVALID_ARGUMENT, "%s: keys added out of order",
                                wfile_path(b->file)));
    if (b->pending_index) {
        slice_t last = buf_slice(&b->last_key);
        add_index_entry(b, separator(b, last, &ikey));
    }
    slice_t uk = ikey_user_key(ikey);
    if (b->opt.bloom_bits_per_key > 0 &&
        (first || !slice_equal(uk, ikey_user_key(buf_slice(&b->last_key))))) {
        if (b->nhashes == b->caphashes) {
            size_t cap = b->caphashes ? b->caphashes * 2 : 1024;
            uint32_t *h = realloc(b->hashes, cap * sizeof(*h));
            if (!h)
                return oom(b);
            b->hashes = h;
            b->caphashes = cap;
        }
        b->hashes[b->nhashes++] = bloom_hash(uk);
    }
    if (first)
        buf_append(&b->first_key, ikey.data, ikey.size);
    seq_seen(b, ikey_seq(ikey));
    buf_clear(&b->last_key);
    buf_append(&b->last_key, ikey.data, ikey.size);
    b->props.num_entries++;
    if (ikey_type(ikey) == TYPE_DELETION)
        b->props.num_deletions++;
    b->props.raw_key_size += ikey.size;
    b->props.raw_value_size += value.size;
    block_builder_add(&b->data, ikey, value);
    if (block_builder_size_estimate(&b->data) >= b->opt.block_size)
        flush_data_block(b);
    if (!b->st && (b->last_key.oom || b->first_key.oom || block_builder_oom(&b->index)))
        return oom(b);
    return b->st ? st_copy(b->st) : NULL;
}

status_t table_builder_add_range_del(table_builder_t *b, slice_t start, slice_t end, uint64_t seq)
{
    if (b->st)
        return st_copy(b->st);
    if (b->finished)
        return fail(b, st_error(ST_INVALID_ARGUMENT, "%s: add after finish", wfile_path(b->file)));
    if (seq > MAX_SEQUENCE)
        return fail(b, st_error(ST_INVALID_ARGUMENT, "%s: tombstone sequence too large",
                                wfile_path(b->file)));
    if (slice_compare(start, end) >= 0)
        return NULL;
    if (b->ntombs == b->captombs) {
        size_t cap = b->captombs ? b->captombs * 2 : 16;
        tomb_t *t = realloc(b->tombs, cap * sizeof(*t));
        if (!t)
            return oom(b);
        b->tombs = t;
        b->captombs = cap;
    }
    seq_seen(b, seq);
    tomb_t *t = &b->tombs[b->ntombs++];
    t->koff = b->rd_bytes.len;
    t->klen = start.size + 8;
    buf_append(&b->rd_bytes, start.data, start.size);
    buf_put_fixed64(&b->rd_bytes, pack_seq_type(seq, TYPE_RANGE_DELETION));
    t->eoff = b->rd_bytes.len;
    t->elen = end.size;
    buf_append(&b->rd_bytes, end.data, end.size);
    if (b->rd_bytes.oom)
        return oom(b);
    return NULL;
}

/* qsort has no context argument: tombstones are sorted through this wrapper. */
typedef struct {
    const char *base;
    tomb_t t;
} tomb_ref_t;

static int tomb_cmp(const void *x, const void *y)
{
    const tomb_ref_t *a = x, *b = y;
    int r = ikey_compare(slice_make(a->base + a->t.koff, a->t.klen),
                         slice_make(b->base + b->t.koff, b->t.klen));
    if (r == 0)
        r = slice_compare(slice_make(a->base + a->t.eoff, a->t.elen),
                          slice_make(b->base + b->t.eoff, b->t.elen));
    return r;
}

/* Writes the sorted, deduplicated range-del block; sets the key-range bounds. */
static void write_range_dels(table_builder_t *b, block_handle_t *h, int *written)
{
    *written = 0;
    b->props.num_range_dels = 0;
    if (b->ntombs == 0)
        return;
    tomb_ref_t *refs = malloc(b->ntombs * sizeof(*refs));
    if (!refs) {
        st_free(oom(b));
        return;
    }
    for (size_t i = 0; i < b->ntombs; i++) {
        refs[i].base = b->rd_bytes.data;
        refs[i].t = b->tombs[i];
    }
    qsort(refs, b->ntombs, sizeof(*refs), tomb_cmp);
    block_builder_t bb;
    block_builder_init(&bb, 16);
    slice_t max_end = slice_make(NULL, 0);
    for (size_t i = 0; i < b->ntombs; i++) {
        if (i > 0 && tomb_cmp(&refs[i - 1], &refs[i]) == 0)
            continue;
        slice_t k = slice_make(refs[i].base + refs[i].t.koff, refs[i].t.klen);
        slice_t e = slice_make(refs[i].base + refs[i].t.eoff, refs[i].t.elen);
        block_builder_add(&bb, k, e);
        b->props.num_range_dels++;
        if (!max_end.data || slice_compare(e, max_end) > 0)
            max_end = e;
    }
    /* key range: the first sorted tombstone has the smallest start key */
    slice_t first = slice_make(refs[0].base + refs[0].t.koff, refs[0].t.klen);
    buf_t *sm = &b->props.smallest_key, *lg = &b->props.largest_key;
    if (sm->len == 0 || ikey_compare(first, buf_slice(sm)) < 0) {
        buf_clear(sm);
        buf_append(sm, first.data, first.size);
    }
    buf_clear(&b->tmp);
    buf_append(&b->tmp, max_end.data, max_end.size);
    buf_put_fixed64(&b->tmp, pack_seq_type(MAX_SEQUENCE, TYPE_RANGE_DELETION));
    if (lg->len == 0 || ikey_compare(buf_slice(&b->tmp), buf_slice(lg)) > 0) {
        buf_clear(lg);
        buf_append(lg, b->tmp.data, b->tmp.len);
    }
    if (block_builder_oom(&bb)) {
        st_free(oom(b));
    } else {
        write_block(b, block_builder_finish(&bb), 0, h);
        *written = !b->st;
    }
    block_builder_destroy(&bb);
    free(refs);
}

status_t table_builder_finish(table_builder_t *b)
{
    if (b->st)
        return st_copy(b->st);
    if (b->finished)
        return fail(b, st_error(ST_INVALID_ARGUMENT, "%s: finish called twice", wfile_path(b->file)));
    b->finished = 1;
    flush_data_block(b);
    if (b->st)
        return st_copy(b->st);
    b->props.data_size = b->offset;
    if (b->pending_index)
        add_index_entry(b, separator(b, buf_slice(&b->last_key), NULL));

    /* point-key bounds; write_range_dels widens them */
    if (b->props.num_entries > 0) {
        buf_append(&b->props.smallest_key, b->first_key.data, b->first_key.len);
        buf_append(&b->props.largest_key, b->last_key.data, b->last_key.len);
    }

    block_builder_t meta;
    block_builder_init(&meta, 1);
    block_handle_t h;
    char hb[BLOCK_HANDLE_MAX_LEN];
    char *p;

    if (b->opt.bloom_bits_per_key > 0 && b->nhashes > 0) {
        buf_clear(&b->tmp);
        bloom_build(b->hashes, b->nhashes, b->opt.bloom_bits_per_key, &b->tmp);
        if (b->tmp.oom) {
            st_free(oom(b));
        } else {
            write_block(b, buf_slice(&b->tmp), 0, &h);
            b->props.filter_size = h.size;
            p = encode_varint64(hb, h.offset);
            p = encode_varint64(p, h.size);
            block_builder_add(&meta, slice_str(META_FILTER), slice_make(hb, (size_t)(p - hb)));
        }
    }

    int have_rd = 0;
    block_handle_t rdh;
    if (!b->st)
        write_range_dels(b, &rdh, &have_rd);

    slice_t index = block_builder_finish(&b->index);
    b->props.index_size = index.size;
    if (!b->st) {
        block_builder_t pb;
        block_builder_init(&pb, 1);
        props_encode(&b->props, &pb);
        if (block_builder_oom(&pb) || b->props.smallest_key.oom || b->props.largest_key.oom)
            st_free(oom(b));
        else
            write_block(b, block_builder_finish(&pb), 0, &h);
        block_builder_destroy(&pb);
        p = encode_varint64(hb, h.offset);
        p = encode_varint64(p, h.size);
        block_builder_add(&meta, slice_str(META_PROPERTIES), slice_make(hb, (size_t)(p - hb)));
    }
    if (have_rd) {
        p = encode_varint64(hb, rdh.offset);
        p = encode_varint64(p, rdh.size);
        block_builder_add(&meta, slice_str(META_RANGE_DEL), slice_make(hb, (size_t)(p - hb)));
    }
    footer_t f;
    f.version = TABLE_FORMAT_VERSION;
    if (!b->st) {
        if (block_builder_oom(&meta) || block_builder_oom(&b->index))
            st_free(oom(b));
        else
            write_block(b, block_builder_finish(&meta), 0, &f.metaindex);
    }
    if (!b->st)
        write_block(b, index, 0, &f.index);
    block_builder_destroy(&meta);
    if (!b->st) {
        char fb[FOOTER_SIZE];
        footer_encode(fb, &f);
        status_t s = wfile_append(b->file, fb, sizeof(fb));
        if (s)
            st_free(fail(b, s));
        else
            b->offset += FOOTER_SIZE;
    }
    return b->st ? st_copy(b->st) : NULL;
}

uint64_t table_builder_file_size(const table_builder_t *b) { return b->offset; }
uint64_t table_builder_estimated_size(const table_builder_t *b)
{
    return b->offset + (block_builder_empty(&b->data) ? 0 : block_builder_size_estimate(&b->data));
}
uint64_t table_builder_num_entries(const table_builder_t *b) { return b->props.num_entries; }
uint64_t table_builder_num_deletions(const table_builder_t *b) { return b->props.num_deletions; }
uint64_t table_builder_num_range_dels(const table_builder_t *b)
{
    return b->finished ? b->props.num_range_dels : b->ntombs;
}
slice_t table_builder_smallest(const table_builder_t *b) { return buf_slice(&b->props.smallest_key); }
slice_t table_builder_largest(const table_builder_t *b) { return buf_slice(&b->props.largest_key); }
uint64_t table_builder_smallest_seq(const table_builder_t *b) { return b->props.smallest_seq; }
uint64_t table_builder_largest_seq(const table_builder_t *b) { return b->props.largest_seq; }
