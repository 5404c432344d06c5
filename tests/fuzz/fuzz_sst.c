/*
 * fuzz_sst.c - libFuzzer target: the SST reader on arbitrary bytes as a table file.
 *
 * table_open either fails cleanly or gives a table on which every read operation must be
 * safe: table_verify, a forward and a backward scan (with checksums checked and not),
 * seeks and gets of keys taken from the input and from the scan, range tombstones. Keys
 * handed out must be valid memory; a scan must end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "fuzz_util.h"
#include "table/table.h"
#include "util/buf.h"
#include "util/status.h"

static int on_tomb(void *arg, slice_t s, slice_t e, uint64_t seq)
{
    (void)seq;
    *(unsigned *)arg += fuzz_touch(s) + fuzz_touch(e);
    return 0;
}

static void probe(table_t *t, slice_t user_key, buf_t *val)
{
    table_get_result_t res;
    uint64_t seq;
    for (int verify = 0; verify < 2; verify++) {
        status_t st = table_get(t, user_key, MAX_SEQUENCE, verify, 1, val, &res, &seq);
        if (!st && res == TABLE_FOUND)
            fuzz_touch(buf_slice(val));
        st_free(st);
    }
    table_max_covering_tombstone(t, user_key, MAX_SEQUENCE);
}

static void scan(table_t *t, int verify, size_t limit, buf_t *keys)
{
    iter_t *it = table_iter_new(t, verify, 1);
    if (!it)
        return;
    size_t n = 0;
    for (iter_seek_to_first(it); iter_valid(it) && n <= limit; iter_next(it), n++) {
        slice_t k = iter_key(it);
        fuzz_touch(k);
        fuzz_touch(iter_value(it));
        if (keys && n < 8 && k.size >= 8) {
            buf_put_varint32(keys, (uint32_t)k.size);
            buf_append(keys, k.data, k.size);
        }
    }
    if (n > limit)
        abort(); /* more entries than bytes: the iterator is looping */
    n = 0;
    for (iter_seek_to_last(it); iter_valid(it) && n <= limit; iter_prev(it), n++)
        fuzz_touch(iter_key(it));
    if (n > limit)
        abort();
    st_free(st_copy(iter_status(it)));
    iter_destroy(it);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[128];
    fuzz_write_file("000007.sst", data, size, path, sizeof(path));
    table_read_options_t ro = {NULL, NULL, 1, 0};
    cache_t *cache = cache_new(64 * 1024);
    table_t *t = NULL;
    for (int pass = 0; pass < 2; pass++) {
        ro.block_cache = pass ? cache : NULL;
        ro.verify_checksums = !pass;
        status_t st = table_open(NULL, path, 7, 0, &ro, &t);
        if (st) {
            st_free(st);
            continue;
        }
        st_free(table_verify(t));
        buf_t keys, val;
        buf_init(&keys);
        buf_init(&val);
        scan(t, 1, size, &keys);
        scan(t, 0, size, NULL);
        /* Gets and seeks: keys from the scan, and a few taken from the raw input. */
        iter_t *it = table_iter_new(t, 1, 0);
        const char *p = keys.len ? keys.data : NULL, *end = p ? p + keys.len : NULL;
        while (p && p < end) {
            uint32_t kl = 0;
            int shift = 0;
            while (p < end && shift < 35) {
                uint8_t b = (uint8_t)*p++;
                kl |= (uint32_t)(b & 0x7f) << shift;
                shift += 7;
                if (!(b & 0x80))
                    break;
            }
            if (kl > (size_t)(end - p))
                break;
            slice_t k = slice_make(p, kl);
            probe(t, ikey_user_key(k), &val);
            if (it) {
                iter_seek(it, k);
                if (iter_valid(it))
                    fuzz_touch(iter_key(it));
                iter_seek_for_prev(it, k);
                if (iter_valid(it))
                    fuzz_touch(iter_key(it));
            }
            p += kl;
        }
        for (size_t off = 0; off + 16 <= size && off < 256; off += 61) {
            slice_t k = slice_make((const char *)data + off, 16);
            probe(t, slice_make(k.data, 8), &val);
            if (it) {
                iter_seek(it, k);
                if (iter_valid(it))
                    fuzz_touch(iter_value(it));
            }
        }
        if (it)
            iter_destroy(it);
        unsigned sink = 0;
        table_range_dels(t, on_tomb, &sink);
        iter_t *ri = table_range_del_iter_new(t);
        if (ri) {
            size_t n = 0;
            for (iter_seek_to_first(ri); iter_valid(ri) && n <= size; iter_next(ri), n++)
                fuzz_touch(iter_value(ri));
            iter_destroy(ri);
        }
        table_approximate_offset(t, slice_make("zzzzzzzzzzzz", 12));
        buf_free(&keys);
        buf_free(&val);
        table_close(t);
        t = NULL;
    }
    if (cache)
        cache_destroy(cache);
    return 0;
}
