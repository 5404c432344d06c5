/*
 * write_batch.c - building, validating and walking WriteBatch reps (see write_batch.h).
 *
 * Invariants: an initialised batch's rep holds at least the 12-byte header unless an
 * allocation failed (then rep.oom is set and the batch must not be written); the header's
 * count always equals the number of complete records that follow. Appends reserve the whole
 * record first, so a record is either added entirely or not at all. Parsing never reads
 * past the rep, and wb_iterate calls no handler unless the whole rep is well formed.
 */
#include "write/write_batch.h"

#include <errno.h>
#include <string.h>

#include "util/coding.h"

#define WB_COUNT_OFFSET 8

static void wb_reset_header(write_batch_t *b)
{
    static const char zero[WB_HEADER_SIZE];
    b->rep.oom = 0;
    buf_clear(&b->rep);
    buf_append(&b->rep, zero, WB_HEADER_SIZE);
}

void wb_init(write_batch_t *b)
{
    buf_init(&b->rep);
    wb_reset_header(b);
}

void wb_destroy(write_batch_t *b) { buf_free(&b->rep); }

void wb_clear(write_batch_t *b) { wb_reset_header(b); }

static int wb_ready(const write_batch_t *b)
{
    return !b->rep.oom && b->rep.len >= WB_HEADER_SIZE;
}

uint32_t wb_count(const write_batch_t *b)
{
    return b->rep.len >= WB_HEADER_SIZE ? decode_fixed32(b->rep.data + WB_COUNT_OFFSET) : 0;
}

void wb_set_count(write_batch_t *b, uint32_t n)
{
    if (b->rep.len >= WB_HEADER_SIZE)
        encode_fixed32(b->rep.data + WB_COUNT_OFFSET, n);
}

uint64_t wb_sequence(const write_batch_t *b)
{
    return b->rep.len >= WB_HEADER_SIZE ? decode_fixed64(b->rep.data) : 0;
}

void wb_set_sequence(write_batch_t *b, uint64_t seq)
{
    if (b->rep.len >= WB_HEADER_SIZE)
        encode_fixed64(b->rep.data, seq);
}

/* Appends one record: tag, varstring a and, when two is set, varstring c. The room is
 * reserved up front so the record lands whole or (on allocation failure) not at all. */
static void wb_add(write_batch_t *b, value_type_t tag, slice_t a, int two, slice_t c)
{
    if (!wb_ready(b))
        return;
    if (a.size > UINT32_MAX || c.size > UINT32_MAX) {
        b->rep.oom = 1; /* not representable: the batch must not be written */
        return;
    }
    size_t need = 1 + 5 + a.size + (two ? 5 + c.size : 0);
    if (buf_reserve(&b->rep, need) < 0)
        return;
    char *p = b->rep.data + b->rep.len;
    *p++ = (char)tag;
    p = encode_varint32(p, (uint32_t)a.size);
    if (a.size)
        memcpy(p, a.data, a.size);
    p += a.size;
    if (two) {
        p = encode_varint32(p, (uint32_t)c.size);
        if (c.size)
            memcpy(p, c.data, c.size);
        p += c.size;
    }
    b->rep.len = (size_t)(p - b->rep.data);
    b->rep.data[b->rep.len] = 0;
    wb_set_count(b, wb_count(b) + 1);
}

void wb_put(write_batch_t *b, slice_t key, slice_t value)
{
    wb_add(b, TYPE_VALUE, key, 1, value);
}

void wb_delete(write_batch_t *b, slice_t key)
{
    wb_add(b, TYPE_DELETION, key, 0, slice_make(NULL, 0));
}

void wb_delete_range(write_batch_t *b, slice_t start, slice_t end)
{
    wb_add(b, TYPE_RANGE_DELETION, start, 1, end);
}

void wb_append(write_batch_t *dst, const write_batch_t *src)
{
    if (!wb_ready(dst))
        return;
    if (!wb_ready(src)) {
        dst->rep.oom = 1; /* src lost records: dst cannot hold all of them either */
        return;
    }
    /* src may be dst: take sizes before growing, and the source pointer after. */
    size_t n = src->rep.len - WB_HEADER_SIZE;
    uint32_t add = wb_count(src);
    if (buf_reserve(&dst->rep, n) < 0)
        return;
    if (n)
        memcpy(dst->rep.data + dst->rep.len, src->rep.data + WB_HEADER_SIZE, n);
    dst->rep.len += n;
    dst->rep.data[dst->rep.len] = 0;
    wb_set_count(dst, wb_count(dst) + add);
}

/* ---- parsing ---- */

typedef struct {
    value_type_t tag;
    slice_t a, b;
} wb_record_t;

/* Parses the record at the front of *in. Returns 0 and advances, -1 for a truncated
 * record, -2 for an unknown tag. */
static int wb_next_record(slice_t *in, wb_record_t *r)
{
    if (in->size < 1)
        return -1;
    slice_t s = slice_make(in->data + 1, in->size - 1);
    r->tag = (value_type_t)(unsigned char)in->data[0];
    r->b = slice_make(NULL, 0);
    switch ((unsigned char)in->data[0]) {
    case TYPE_VALUE:
    case TYPE_RANGE_DELETION:
        if (get_length_prefixed(&s, &r->a) < 0 || get_length_prefixed(&s, &r->b) < 0)
            return -1;
        break;
    case TYPE_DELETION:
        if (get_length_prefixed(&s, &r->a) < 0)
            return -1;
        break;
    default:
        return -2;
    }
    *in = s;
    return 0;
}

status_t wb_validate(slice_t rep)
{
    if (rep.size < WB_HEADER_SIZE)
        return st_error(ST_CORRUPTION, "write batch too small (%zu bytes, header is %d)",
                        rep.size, WB_HEADER_SIZE);
    uint32_t count = decode_fixed32(rep.data + WB_COUNT_OFFSET);
    slice_t in = slice_make(rep.data + WB_HEADER_SIZE, rep.size - WB_HEADER_SIZE);
    uint32_t found = 0;
    while (found < count && in.size > 0) {
        size_t off = (size_t)(in.data - rep.data);
        wb_record_t r;
        int rc = wb_next_record(&in, &r);
        if (rc == -2)
            return st_error(ST_CORRUPTION, "write batch: unknown record tag 0x%02x at offset %zu",
                            (unsigned char)rep.data[off], off);
        if (rc < 0)
            return st_error(ST_CORRUPTION, "write batch: truncated record %u at offset %zu",
                            found, off);
        found++;
    }
    if (found < count)
        return st_error(ST_CORRUPTION, "write batch: header count %u but only %u records",
                        count, found);
    if (in.size > 0)
        return st_error(ST_CORRUPTION,
                        "write batch: %zu trailing bytes at offset %zu after %u records",
                        in.size, (size_t)(in.data - rep.data), count);
    return NULL;
}

status_t wb_iterate(slice_t rep, const wb_handler_t *h, void *arg)
{
    ST_RETURN_IF_ERR(wb_validate(rep));
    uint64_t seq = decode_fixed64(rep.data);
    uint32_t count = decode_fixed32(rep.data + WB_COUNT_OFFSET);
    slice_t in = slice_make(rep.data + WB_HEADER_SIZE, rep.size - WB_HEADER_SIZE);
    for (uint32_t i = 0; i < count; i++, seq++) {
        wb_record_t r;
        if (wb_next_record(&in, &r) < 0) /* cannot happen after validation */
            return st_error(ST_CORRUPTION, "write batch: record %u unreadable", i);
        int err = 0;
        switch (r.tag) {
        case TYPE_VALUE:
            if (h->put)
                err = h->put(arg, seq, r.a, r.b);
            break;
        case TYPE_DELETION:
            if (h->del)
                err = h->del(arg, seq, r.a);
            break;
        case TYPE_RANGE_DELETION:
            if (h->range_del)
                err = h->range_del(arg, seq, r.a, r.b);
            break;
        }
        if (err)
            return st_io(err > 0 ? err : EIO, "write batch: handler stopped at record %u "
                         "(sequence %llu)", i, (unsigned long long)seq);
    }
    return NULL;
}

status_t wb_set_rep(write_batch_t *b, slice_t rep)
{
    ST_RETURN_IF_ERR(wb_validate(rep));
    b->rep.oom = 0;
    buf_clear(&b->rep);
    buf_append(&b->rep, rep.data, rep.size);
    if (b->rep.oom) {
        wb_reset_header(b);
        return st_io(ENOMEM, "write batch: copying a %zu-byte rep", rep.size);
    }
    return NULL;
}
