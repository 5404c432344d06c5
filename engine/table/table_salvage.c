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

static void salvage_range_dels(rfile_t *f, uint64_t limit, const footer_t *ft, const char *path,
                               const table_salvage_cb_t *cb, table_salvage_stats_t *stats,
                               status_t *err)
{
    block_t meta = {0};
    status_t s = read_block(f, limit, ft->metaindex, path, "metaindex block", &meta);
    if (s) {
        st_free(s);
        stats->range_dels_lost = 1;
        return;
    }
    block_handle_t rh = {0, 0};
    int have_r = 0, bad = 0;
    block_iter_t it;
    block_iter_init(&it, &meta, block_bytewise_cmp, 0);
    for (block_iter_seek_to_first(&it); block_iter_valid(&it); block_iter_next(&it)) {
        if (slice_equal(it.key, slice_str(META_RANGE_DEL))) {
            slice_t v = it.value;
            bad = block_handle_decode(&v, &rh) < 0 || v.size != 0;
            have_r = 1;
        }
    }
    bad |= it.st != NULL;
    block_iter_cleanup(&it);
    block_release(&meta);
    if (bad) {
        stats->range_dels_lost = 1;
        return;
    }
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
    buf_t kv;
    buf_init(&kv);
    block_iter_t ii;
    block_iter_init(&ii, &index, ikey_compare, BLOCK_IKEYS);
    for (block_iter_seek_to_first(&ii); block_iter_valid(&ii) && !s; block_iter_next(&ii)) {
        slice_t v = ii.value;
        block_handle_t bh;
        if (block_handle_decode(&v, &bh) < 0 || v.size != 0) {
            stats->blocks_bad++;
            continue;
        }
        block_t db = {0};
        status_t rs = read_block(f, limit, bh, path, "data block", &db);
        uint64_t n = 0;
        if (rs || decode_data_block(&db, &kv, &n) < 0) {
            st_free(rs);
            block_release(&db);
            stats->blocks_bad++;
            continue;
        }
        block_release(&db);
        s = emit_block(&kv, cb, path);
        stats->blocks_ok++;
        stats->entries += n;
    }
    if (!s && ii.st)
        stats->blocks_bad++; /* the rest of the index is unreadable */
    block_iter_cleanup(&ii);
    block_release(&index);
    buf_free(&kv);
    if (!s)
        salvage_range_dels(f, limit, &ft, path, cb, stats, &s);
    rfile_close(f);
    return s;
}
