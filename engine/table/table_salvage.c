/*
 * table_salvage.c - per-block salvage of a damaged SST (see table_salvage.h).
 *
 * Invariants: nothing is handed to a callback unless the block it comes from passed its
 * checksum and decoded to the end without an error (entries of a block are buffered
 * until the block is known good, so a block is all-or-nothing). Every handle is bounded
 * by the start of the footer before it is read (block_read does that).
 */
#include "table/table_salvage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "table/block.h"
#include "table/format.h"
#include "table/properties.h"
#include "util/buf.h"
#include "util/coding.h"

/* Reads the block at h into *b (verified). */
static status_t read_block(rfile_t *f, uint64_t limit, block_handle_t h, const char *path,
                           const char *what, block_t *b)
{
    block_contents_t c;
    status_t s = block_read(f, limit, h, 1, &c);
    if (s)
        return s;
    if (block_init(b, c.data, c.size, c.data) < 0) {
        block_release(b);
        return st_error(ST_CORRUPTION, "%s: %s at offset %llu is malformed", path, what,
                        (unsigned long long)h.offset);
    }
    return NULL;
}

/* Collects one data block's entries into kv (varint-length-prefixed key, value pairs);
 * 0 if the whole block decoded cleanly. */
static int decode_data_block(const block_t *b, buf_t *kv, uint64_t *n)
{
    block_iter_t it;
    block_iter_init(&it, b, ikey_compare, BLOCK_IKEYS);
    buf_clear(kv);
    *n = 0;
    int bad = 0;
    for (block_iter_seek_to_first(&it); block_iter_valid(&it); block_iter_next(&it)) {
        if (!ikey_valid(it.key) || ikey_type(it.key) == TYPE_RANGE_DELETION) {
            bad = 1;
            break;
        }
        char tmp[5];
        buf_append(kv, tmp, (size_t)(encode_varint32(tmp, (uint32_t)it.key.size) - tmp));
        buf_append(kv, it.key.data, it.key.size);
        buf_append(kv, tmp, (size_t)(encode_varint32(tmp, (uint32_t)it.value.size) - tmp));
        buf_append(kv, it.value.data, it.value.size);
        (*n)++;
    }
    if (it.st)
        bad = 1;
    block_iter_cleanup(&it);
    return bad || kv->oom ? -1 : 0;
}

static status_t emit_block(const buf_t *kv, const table_salvage_cb_t *cb, const char *path)
{
    const char *p = kv->data, *end = kv->data + kv->len;
    while (p < end) {
        uint32_t kl, vl;
        p = decode_varint32(p, end, &kl);
        slice_t k = slice_make(p, kl);
        p = decode_varint32(p + kl, end, &vl);
        slice_t v = slice_make(p, vl);
        p += vl;
        if (cb->point && cb->point(cb->arg, k, v))
            return st_io(ENOMEM, "%s: salvaging entries", path);
    }
    return NULL;
}

/* Finds meta block `name` in the metaindex: 1 (handle in *h), 0 when absent, -1 when the
 * metaindex or its entry does not read. */
static int meta_handle(rfile_t *f, uint64_t limit, const footer_t *ft, const char *path,
                       const char *name, block_handle_t *h)
{
    block_t meta = {0};
    status_t s = read_block(f, limit, ft->metaindex, path, "metaindex block", &meta);
    if (s) {
        st_free(s);
        return -1;
    }
    int found = 0, bad = 0;
    block_iter_t it;
    block_iter_init(&it, &meta, block_bytewise_cmp, 0);
    for (block_iter_seek_to_first(&it); block_iter_valid(&it); block_iter_next(&it)) {
        if (slice_equal(it.key, slice_str(name))) {
            slice_t v = it.value;
            bad = block_handle_decode(&v, h) < 0 || v.size != 0;
            found = 1;
        }
    }
    bad |= it.st != NULL;
    block_iter_cleanup(&it);
    block_release(&meta);
    return bad ? -1 : found;
}

/* The table's smallest user key (from its properties) into out; 0, or -1 if unknown. */
static int smallest_user_key(rfile_t *f, uint64_t limit, const footer_t *ft, const char *path,
                             buf_t *out)
{
    block_handle_t ph;
    if (meta_handle(f, limit, ft, path, META_PROPERTIES, &ph) != 1)
        return -1;
    block_contents_t c;
    status_t s = block_read(f, limit, ph, 1, &c);
    if (s) {
        st_free(s);
        return -1;
    }
    table_props_t p;
    props_init(&p);
    s = props_decode(slice_make(c.data, c.size), &p, path);
    int rc = -1;
    if (!s && ikey_valid(buf_slice(&p.smallest_key))) {
        slice_t u = ikey_user_key(buf_slice(&p.smallest_key));
        buf_append(out, u.data, u.size);
        rc = out->oom ? -1 : 0;
    }
    st_free(s);
    props_free(&p);
    free(c.data);
    return rc;
}

static void salvage_range_dels(rfile_t *f, uint64_t limit, const footer_t *ft, const char *path,
                               const table_salvage_cb_t *cb, table_salvage_stats_t *stats,
                               status_t *err)
{
    block_handle_t rh = {0, 0};
    int have_r = meta_handle(f, limit, ft, path, META_RANGE_DEL, &rh);
    if (have_r < 0) {
        stats->range_dels_lost = 1;
        return;
    }
    block_iter_t it;
    status_t s;
    if (!have_r)
        return;
    block_t rb = {0};
    s = read_block(f, limit, rh, path, "range-del block", &rb);
    if (s) {
        st_free(s);
        stats->range_dels_lost = 1;
        return;
    }
    block_iter_init(&it, &rb, ikey_compare, BLOCK_IKEYS);
    for (block_iter_seek_to_first(&it); block_iter_valid(&it); block_iter_next(&it)) {
        slice_t start = ikey_user_key(it.key);
        if (ikey_type(it.key) != TYPE_RANGE_DELETION || slice_compare(start, it.value) >= 0)
            continue;
        if (cb->range_del && cb->range_del(cb->arg, start, it.value, ikey_seq(it.key))) {
            *err = st_io(ENOMEM, "%s: salvaging range tombstones", path);
            break;
        }
        stats->range_dels++;
    }
    if (it.st)
        stats->range_dels_lost = 1;
    block_iter_cleanup(&it);
    block_release(&rb);
}

status_t table_salvage(env_t *env, const char *path, const table_salvage_cb_t *cb,
                       table_salvage_stats_t *stats)
{
    memset(stats, 0, sizeof(*stats));
    rfile_t *f;
    uint64_t size;
    ST_RETURN_IF_ERR(rfile_open(env, path, &f, &size));
    if (size < FOOTER_SIZE) {
        rfile_close(f);
        return st_error(ST_CORRUPTION, "%s: file too short (%llu bytes) to be an SST", path,
                        (unsigned long long)size);
    }
    uint64_t limit = size - FOOTER_SIZE;
    char fb[FOOTER_SIZE];
    footer_t ft;
    block_t index = {0};
    status_t s = rfile_read(f, limit, FOOTER_SIZE, fb);
    if (!s)
        s = footer_decode(fb, 1, &ft, path);
    if (!s)
        s = read_block(f, limit, ft.index, path, "index block", &index);
    if (s) {
        rfile_close(f);
        return s;
    }
    buf_t kv, prev;
    buf_init(&kv);
    buf_init(&prev);
    /* prev: the lower bound of the next block's keys (the last index key seen, or the
     * table's smallest key); have_prev 0 = unknown */
    int have_prev = cb->bad_block && smallest_user_key(f, limit, &ft, path, &prev) == 0;
    block_iter_t ii;
    block_iter_init(&ii, &index, ikey_compare, BLOCK_IKEYS);
    for (block_iter_seek_to_first(&ii); block_iter_valid(&ii) && !s; block_iter_next(&ii)) {
        slice_t v = ii.value;
        block_handle_t bh = {0, 0};
        int bad = block_handle_decode(&v, &bh) < 0 || v.size != 0;
        block_t db = {0};
        uint64_t n = 0;
        if (!bad) {
            status_t rs = read_block(f, limit, bh, path, "data block", &db);
            bad = rs || decode_data_block(&db, &kv, &n) < 0;
            st_free(rs);
            block_release(&db);
        }
        slice_t hi = ikey_valid(ii.key) ? ikey_user_key(ii.key) : slice_make(NULL, 0);
        if (bad) {
            stats->blocks_bad++;
            if (cb->bad_block &&
                cb->bad_block(cb->arg, bh.offset, bh.size,
                              have_prev ? buf_slice(&prev) : slice_make(NULL, 0), hi))
                s = st_io(ENOMEM, "%s: reporting damaged blocks", path);
        } else {
            s = emit_block(&kv, cb, path);
            stats->blocks_ok++;
            stats->entries += n;
        }
        buf_clear(&prev);
        buf_append(&prev, hi.data, hi.size);
        have_prev = hi.data != NULL && !prev.oom;
    }
    if (!s && ii.st) {
        stats->blocks_bad++; /* the rest of the index is unreadable */
        if (cb->bad_block &&
            cb->bad_block(cb->arg, 0, 0, have_prev ? buf_slice(&prev) : slice_make(NULL, 0),
                          slice_make(NULL, 0)))
            s = st_io(ENOMEM, "%s: reporting damaged blocks", path);
    }
    block_iter_cleanup(&ii);
    block_release(&index);
    buf_free(&kv);
    buf_free(&prev);
    if (!s)
        salvage_range_dels(f, limit, &ft, path, cb, stats, &s);
    rfile_close(f);
    return s;
}
