/*
 * fuzz_manifest.c - libFuzzer target: version edits and whole MANIFEST recovery.
 *
 * 1. version_edit_decode on the input as one edit: fails cleanly, or gives an edit that
 *    encodes and decodes again to the same bytes (a canonical round trip).
 * 2. The input as MANIFEST-000001 (named by a good CURRENT), or, when it starts with
 *    0xC0, bytes 1..40 as CURRENT's contents and the rest as the MANIFEST: vset_recover
 *    fails cleanly or gives a version set that can be read and closed. Tables the
 *    MANIFEST names do not exist, so recovery of a non-empty version reports them missing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/version_edit.h"
#include "db/version_set.h"
#include "fuzz_util.h"
#include "util/buf.h"
#include "util/status.h"

static void count_live(void *arg, uint64_t n)
{
    (void)n;
    (*(int *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    version_edit_t e;
    version_edit_init(&e);
    status_t st = version_edit_decode(&e, slice_make((const char *)data, size));
    if (!st) {
        buf_t a, b;
        buf_init(&a);
        buf_init(&b);
        version_edit_encode(&e, &a);
        version_edit_t e2;
        version_edit_init(&e2);
        status_t st2 = version_edit_decode(&e2, buf_slice(&a));
        if (st2)
            abort(); /* an edit we encoded does not decode */
        version_edit_encode(&e2, &b);
        if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
            abort();
        version_edit_free(&e2);
        buf_free(&a);
        buf_free(&b);
    }
    st_free(st);
    version_edit_free(&e);

    char path[128], cur[128];
    const uint8_t *m = data;
    size_t mlen = size;
    if (size > 0 && data[0] == 0xC0) {
        size_t cl = size - 1 < 40 ? size - 1 : 40;
        fuzz_write_file("CURRENT", data + 1, cl, cur, sizeof(cur));
        m = data + 1 + cl;
        mlen = size - 1 - cl;
    } else {
        fuzz_write_file("CURRENT", (const uint8_t *)"MANIFEST-000001\n", 16, cur, sizeof(cur));
    }
    fuzz_write_file("MANIFEST-000001", m, mlen, path, sizeof(path));
    vset_options_t o;
    vset_options_default(&o);
    o.read_only = 1;
    version_set_t *vs = NULL;
    st = vset_recover(NULL, fuzz_dir(), &o, &vs);
    if (!st) {
        version_t *v = vset_current(vs);
        int live = 0;
        for (int l = 0; l < v->num_levels; l++)
            live += version_num_files(v, l);
        vset_add_live_files(vs, count_live, &live);
        version_unref(v);
        vset_last_sequence(vs);
        vset_log_number(vs);
        vset_close(vs);
    }
    st_free(st);
    return 0;
}
