/*
 * fuzz_write_batch.c - libFuzzer target: the WriteBatch decoder (wb_validate, wb_iterate,
 * lsm_writebatch_create_from and its iterate functions) on arbitrary bytes as a batch rep.
 *
 * Properties: validate and iterate agree (iterate succeeds iff validate does, and calls
 * the handler exactly `count` times on a valid rep); every key and value handed out lies
 * within the input; create_from accepts exactly the reps validate accepts, and its data
 * round-trips byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "lsm.h"
#include "util/status.h"
#include "write/write_batch.h"

typedef struct {
    const char *lo, *hi;
    uint64_t calls;
    uint64_t first_seq, last_seq;
} ctx_t;

static void in_input(ctx_t *c, slice_t s)
{
    if (s.size && (s.data < c->lo || s.data + s.size > c->hi))
        abort();
    fuzz_touch(s);
}

static int h_put(void *arg, uint64_t seq, slice_t k, slice_t v)
{
    ctx_t *c = arg;
    in_input(c, k);
    in_input(c, v);
    c->last_seq = seq;
    c->calls++;
    return 0;
}
static int h_del(void *arg, uint64_t seq, slice_t k)
{
    ctx_t *c = arg;
    in_input(c, k);
    c->last_seq = seq;
    c->calls++;
    return 0;
}
static int h_range(void *arg, uint64_t seq, slice_t s, slice_t e)
{
    ctx_t *c = arg;
    in_input(c, s);
    in_input(c, e);
    c->last_seq = seq;
    c->calls++;
    return 0;
}

static void cb_put(void *s, const char *k, size_t kl, const char *v, size_t vl)
{
    (void)k;
    (void)v;
    *(size_t *)s += kl + vl + 1;
}
static void cb_del(void *s, const char *k, size_t kl)
{
    (void)k;
    *(size_t *)s += kl + 1;
}
static void cb_range(void *s, const char *a, size_t al, const char *b, size_t bl)
{
    (void)a;
    (void)b;
    *(size_t *)s += al + bl + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy so that "within the input" is exact. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    slice_t rep = slice_make(buf, size);
    status_t v = wb_validate(rep);
    ctx_t c = {buf, buf + size, 0, 0, 0};
    static const wb_handler_t h = {h_put, h_del, h_range};
    status_t it = wb_iterate(rep, &h, &c);
    if (!v != !it)
        abort(); /* validate and iterate disagree */
    if (!v) {
        uint32_t count;
        memcpy(&count, buf + 8, 4); /* little-endian hosts only, as the engine */
        if (c.calls != count)
            abort();
    }
    lsm_writebatch_t *b = lsm_writebatch_create_from(buf, size);
    if (!b != !!v)
        abort(); /* create_from must accept exactly the valid reps */
    if (b) {
        size_t n = 0, total = 0;
        const char *d = lsm_writebatch_data(b, &n);
        if (n != size || memcmp(d, buf, size) != 0)
            abort();
        lsm_writebatch_iterate_ranges(b, &total, cb_put, cb_del, cb_range);
        lsm_writebatch_iterate(b, &total, cb_put, cb_del);
        if (lsm_writebatch_count(b) != (int)c.calls)
            abort();
        lsm_writebatch_destroy(b);
    }
    st_free(v);
    st_free(it);
    free(buf);
    return 0;
}
