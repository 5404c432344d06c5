/*
 * wal.c - log writer and reader for the WAL and the MANIFEST (format in wal.h).
 *
 * Writer invariants: block_offset is always the file size modulo LOG_BLOCK_SIZE; a
 * fragment never crosses a block boundary; a block tail shorter than a header is zero
 * filled. The crc of a fragment is crc32c(type byte, payload), seeded per type once, so a
 * record costs one pass over its bytes; a large record goes to the kernel by writev
 * straight from the caller's memory (wfile_appendv), a small one through the file buffer.
 *
 * Reader invariants: the file is read sequentially one block at a time; a FULL record is
 * returned as a slice into the block buffer, a fragmented one is assembled in `scratch`.
 * Any damaged fragment is classified once: if nothing but zero bytes follows it up to end
 * of file it is a torn tail (clean end, bytes counted as dropped), otherwise it is a
 * Corruption naming the file and offset. Either outcome is sticky.
 */
#include "write/wal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/coding.h"
#include "util/crc32c.h"

/* ================================ writer ================================ */

struct log_writer {
    wfile_t *f;
    size_t block_offset;
    uint64_t zero_ahead;   /* see log_writer_set_zero_ahead; 0 = off */
    uint64_t synced;       /* file size at the last sync */
    uint32_t type_crc[LOG_LAST + 1];
};

log_writer_t *log_writer_new(wfile_t *f)
{
    log_writer_t *w = malloc(sizeof(*w));
    if (!w)
        return NULL;
    w->f = f;
    w->block_offset = (size_t)(wfile_size(f) % LOG_BLOCK_SIZE);
    w->zero_ahead = 0;
    w->synced = wfile_size(f);
    for (int t = 0; t <= LOG_LAST; t++) {
        char c = (char)t;
        w->type_crc[t] = crc32c_value(&c, 1);
    }
    return w;
}

/* Fragments per wfile_appendv: each takes a header and a payload part, and a block tail
 * too small for a header one more (zero fill). 64 fragments are 2 MiB of payload. */
#define LOG_GATHER_FRAGS 64

typedef struct {
    slice_t parts[3 * LOG_GATHER_FRAGS];
    char hdr[LOG_GATHER_FRAGS][LOG_HEADER_SIZE];
    int nparts, nfrags;
} log_gather_t;

/* Adds one fragment (its header made here, the payload by reference) to g. */
static void log_emit(log_writer_t *w, log_gather_t *g, int type, const char *p, size_t n)
{
    char *h = g->hdr[g->nfrags++];
    uint32_t crc = crc32c_extend(w->type_crc[type], p, n);
    encode_fixed32(h, crc32c_mask(crc));
    encode_fixed16(h + 4, (uint16_t)n);
    h[6] = (char)type;
    g->parts[g->nparts++] = slice_make(h, LOG_HEADER_SIZE);
    if (n)
        g->parts[g->nparts++] = slice_make(p, n);
    w->block_offset += LOG_HEADER_SIZE + n;
}

/* The record's fragments go out LOG_GATHER_FRAGS at a time through wfile_appendv: a small
 * record is copied into the file buffer as before, a large one is written from the
 * caller's memory with one writev per 2 MiB (the bytes on disk are the same either way). */
static status_t log_add_fragments(log_writer_t *w, slice_t record)
{
    static const char zeros[LOG_HEADER_SIZE];
    const char *p = record.data;
    size_t left = record.size;
    int begin = 1;
    log_gather_t g;
    g.nparts = g.nfrags = 0;
    do {
        size_t leftover = LOG_BLOCK_SIZE - w->block_offset;
        if (leftover < LOG_HEADER_SIZE) {
            if (leftover)
                g.parts[g.nparts++] = slice_make(zeros, leftover);
            w->block_offset = 0;
        }
        size_t avail = LOG_BLOCK_SIZE - w->block_offset - LOG_HEADER_SIZE;
        size_t frag = left < avail ? left : avail;
        int end = frag == left;
        int type = begin ? (end ? LOG_FULL : LOG_FIRST) : (end ? LOG_LAST : LOG_MIDDLE);
        log_emit(w, &g, type, p, frag);
        p += frag;
        left -= frag;
        begin = 0;
        if (g.nfrags == LOG_GATHER_FRAGS || left == 0) {
            ST_RETURN_IF_ERR(wfile_appendv(w->f, g.parts, g.nparts));
            g.nparts = g.nfrags = 0;
        }
    } while (left > 0);
    return NULL;
}

status_t log_add_record(log_writer_t *w, slice_t record)
{
    uint64_t start = wfile_size(w->f);
    status_t s = log_add_fragments(w, record);
    if (s) {
        /* Best effort: cut the partial record off so the log stays appendable. */
        st_free(wfile_truncate(w->f, start));
        w->block_offset = (size_t)(wfile_size(w->f) % LOG_BLOCK_SIZE);
    }
    return s;
}

status_t log_writer_flush(log_writer_t *w) { return wfile_flush(w->f); }
void log_writer_set_zero_ahead(log_writer_t *w, uint64_t bytes) { w->zero_ahead = bytes; }

status_t log_writer_sync(log_writer_t *w)
{
    uint64_t size = wfile_size(w->f);
    /* Small synced appends (an fsync per transaction) are where a journal commit per sync
     * dominates: after a sync of at most 1/16 of the range, keep a zeroed range ahead,
     * refilled when a quarter of it is left. Large synced appends pay the commit once per
     * many bytes anyway and would only write everything twice, so they are left alone. A
     * failed zero-fill is harmless (the sync below then commits the size as it always did). */
    if (w->zero_ahead && size - w->synced <= w->zero_ahead / 16 &&
        wfile_physical_size(w->f) < size + w->zero_ahead / 4)
        st_free(wfile_zero_fill(w->f, size + w->zero_ahead));
    status_t s = wfile_sync(w->f);
    if (!s)
        w->synced = size;
    return s;
}

status_t log_writer_close(log_writer_t *w)
{
    if (!w)
        return NULL;
    status_t s = wfile_close(w->f);
    free(w);
    return s;
}

status_t log_writer_truncate(log_writer_t *w, uint64_t size)
{
    status_t st = wfile_truncate(w->f, size);
    w->block_offset = (size_t)(wfile_size(w->f) % LOG_BLOCK_SIZE);
    if (w->synced > wfile_size(w->f))
        w->synced = wfile_size(w->f);
    return st;
}

uint64_t log_writer_size(const log_writer_t *w) { return wfile_size(w->f); }
wfile_t *log_writer_file(log_writer_t *w) { return w->f; }

/* ================================ reader ================================ */

struct log_reader {
    sfile_t *f;
    char *path;
    char *block;           /* LOG_BLOCK_SIZE bytes */
    size_t block_len;      /* bytes of the current block read */
    size_t pos;            /* next unread byte in the block */
    uint64_t block_start;  /* file offset of block[0] */
    int have_block;        /* a block was read (block_start valid) */
    int at_eof;            /* the file ends inside or at the end of the current block */
    buf_t scratch;         /* assembles fragmented records */
    uint64_t rec_offset;   /* start of the last record returned */
    uint64_t valid_end;    /* end of the last record returned */
    uint64_t dropped;
    int done;              /* clean end reached */
    status_t err;          /* sticky error */
    uint32_t type_crc[LOG_LAST + 1]; /* crc32c of each valid type byte */
};

status_t log_reader_open(env_t *env, const char *path, log_reader_t **out)
{
    *out = NULL;
    log_reader_t *r = calloc(1, sizeof(*r));
    char *p = strdup(path);
    char *blk = malloc(LOG_BLOCK_SIZE);
    if (!r || !p || !blk) {
        free(r);
        free(p);
        free(blk);
        return st_io(ENOMEM, "%s: log reader", path);
    }
    status_t s = sfile_open(env, path, &r->f);
    if (s) {
        free(r);
        free(p);
        free(blk);
        return s;
    }
    r->path = p;
    r->block = blk;
    buf_init(&r->scratch);
    for (int t = 0; t <= LOG_LAST; t++) {
        char c = (char)t;
        r->type_crc[t] = crc32c_value(&c, 1);
    }
    *out = r;
    return NULL;
}

/* Reads the next block. Sets at_eof when the file ends within it (block_len may be 0). */
static status_t log_next_block(log_reader_t *r)
{
    if (r->have_block)
        r->block_start += LOG_BLOCK_SIZE;
    r->have_block = 1;
    r->pos = 0;
    r->block_len = 0;
    size_t got = 0;
    ST_RETURN_IF_ERR(sfile_read(r->f, LOG_BLOCK_SIZE, r->block, &got));
    r->block_len = got;
    if (got < LOG_BLOCK_SIZE)
        r->at_eof = 1;
    return NULL;
}

/* Whether every byte from block position `from` to end of file is zero. Consumes the rest
 * of the file; *eof_off receives the file size. */
static status_t log_rest_is_zero(log_reader_t *r, size_t from, int *zero, uint64_t *eof_off)
{
    *zero = 1;
    for (;;) {
        for (size_t i = from; i < r->block_len; i++) {
            if (r->block[i]) {
                *zero = 0;
                break;
            }
        }
        if (!*zero || r->at_eof)
            break;
        ST_RETURN_IF_ERR(log_next_block(r));
        from = 0;
    }
    if (*zero)
        *eof_off = r->block_start + r->block_len;
    return NULL;
}

typedef enum { FRAG_OK, FRAG_EOF, FRAG_BAD } frag_result_t;

typedef struct {
    int type;
    slice_t payload;
    uint64_t offset;    /* file offset of the fragment header */
    size_t end_pos;     /* for FRAG_BAD/violations: block position after the claimed extent */
    const char *why;    /* for FRAG_BAD */
} frag_t;

static frag_result_t log_read_fragment(log_reader_t *r, frag_t *fr, status_t *st)
{
    *st = NULL;
    for (;;) {
        if (!r->have_block) {
            if ((*st = log_next_block(r)))
                return FRAG_BAD;
            continue;
        }
        size_t room = LOG_BLOCK_SIZE - r->pos; /* nominal bytes left in this block */
        size_t have = r->block_len - r->pos;   /* bytes actually read */
        if (room < LOG_HEADER_SIZE || have == 0) {
            /* Block trailer (zero padding) or the block is used up. */
            if (r->at_eof)
                return FRAG_EOF;
            if ((*st = log_next_block(r)))
                return FRAG_BAD;
            continue;
        }
        fr->offset = r->block_start + r->pos;
        const char *h = r->block + r->pos;
        if (have < LOG_HEADER_SIZE) {
            /* The file ends inside a header. */
            fr->end_pos = r->block_len;
            fr->why = "incomplete fragment header";
            return FRAG_BAD;
        }
        size_t len = decode_fixed16(h + 4);
        int type = (unsigned char)h[6];
        size_t end = r->pos + LOG_HEADER_SIZE + len;
        if (end > r->block_len) {
            /* Past the data read: either past end of file (torn) or across the block
             * boundary (never written so; the zero check decides). */
            fr->end_pos = r->block_len;
            fr->why = end > LOG_BLOCK_SIZE ? "fragment length crosses the block boundary"
                                           : "fragment runs past end of file";
            return FRAG_BAD;
        }
        fr->end_pos = end;
        if (type == LOG_ZERO && len == 0 && decode_fixed32(h) == 0) {
            fr->why = "zero-filled region";
            return FRAG_BAD;
        }
        if (type < LOG_FULL || type > LOG_LAST) {
            fr->why = "unknown fragment type";
            return FRAG_BAD;
        }
        uint32_t want = crc32c_unmask(decode_fixed32(h));
        uint32_t got = crc32c_extend(r->type_crc[type], h + LOG_HEADER_SIZE, len);
        if (want != got) {
            fr->why = "checksum mismatch";
            return FRAG_BAD;
        }
        fr->type = type;
        fr->payload = slice_make(h + LOG_HEADER_SIZE, len);
        r->pos = end;
        return FRAG_OK;
    }
}

/* Damage found at fragment fr. damage_start is where the dropped region would begin (the
 * start of the unfinished record). Decides torn tail versus corruption. */
static status_t log_damage(log_reader_t *r, const frag_t *fr, uint64_t damage_start,
                           const char *why, int *eof)
{
    int zero;
    uint64_t eof_off = 0;
    /* A damaged "fragment" that is nothing but zeros is where the written data ends (a
     * zero-filled range ahead of the writer, see log_writer_set_zero_ahead): the zeros are
     * not dropped data, only an unfinished record before them is. */
    int all_zero = 1;
    for (size_t i = (size_t)(fr->offset - r->block_start); i < fr->end_pos && i < r->block_len; i++)
        if (r->block[i]) {
            all_zero = 0;
            break;
        }
    status_t s = log_rest_is_zero(r, fr->end_pos, &zero, &eof_off);
    if (s) {
        r->err = st_copy(s);
        return s;
    }
    if (zero) {
        uint64_t end = all_zero ? fr->offset : eof_off;
        r->dropped = end > damage_start ? end - damage_start : 0;
        r->done = 1;
        *eof = 1;
        return NULL;
    }
    r->err = st_error(ST_CORRUPTION, "%s: corrupted log record at offset %llu: %s", r->path,
                      (unsigned long long)fr->offset, why);
    return st_copy(r->err);
}

status_t log_read_record(log_reader_t *r, slice_t *rec, int *eof)
{
    *eof = 0;
    *rec = slice_make(NULL, 0);
    if (r->err)
        return st_copy(r->err);
    if (r->done) {
        *eof = 1;
        return NULL;
    }
    int in_chain = 0;
    uint64_t chain_start = 0;
    buf_clear(&r->scratch);
    for (;;) {
        frag_t fr;
        status_t s;
        frag_result_t res = log_read_fragment(r, &fr, &s);
        if (s) {
            r->err = st_copy(s);
            return s;
        }
        if (res == FRAG_EOF) {
            if (in_chain) {
                uint64_t eof_off = r->block_start + r->block_len;
                r->dropped = eof_off - chain_start;
            }
            r->done = 1;
            *eof = 1;
            return NULL;
        }
        if (res == FRAG_BAD)
            return log_damage(r, &fr, in_chain ? chain_start : fr.offset, fr.why, eof);

        /* A well-formed fragment; check the chain. The fragment is consumed (r->pos is
         * past it), and a violation is judged by what follows it. */
        const char *violation = NULL;
        switch (fr.type) {
        case LOG_FULL:
            if (in_chain)
                violation = "FULL fragment inside a fragmented record";
            break;
        case LOG_FIRST:
            if (in_chain)
                violation = "FIRST fragment inside a fragmented record";
            break;
        default: /* MIDDLE, LAST */
            if (!in_chain)
                violation = fr.type == LOG_LAST ? "LAST fragment without FIRST"
                                                : "MIDDLE fragment without FIRST";
            break;
        }
        if (violation)
            return log_damage(r, &fr, in_chain ? chain_start : fr.offset, violation, eof);

        uint64_t frag_end = fr.offset + LOG_HEADER_SIZE + fr.payload.size;
        switch (fr.type) {
        case LOG_FULL:
            r->rec_offset = fr.offset;
            r->valid_end = frag_end;
            *rec = fr.payload;
            return NULL;
        case LOG_FIRST:
            in_chain = 1;
            chain_start = fr.offset;
            buf_append(&r->scratch, fr.payload.data, fr.payload.size);
            break;
        case LOG_MIDDLE:
            buf_append(&r->scratch, fr.payload.data, fr.payload.size);
            break;
        case LOG_LAST:
            buf_append(&r->scratch, fr.payload.data, fr.payload.size);
            if (r->scratch.oom) {
                r->err = st_io(ENOMEM, "%s: record at offset %llu", r->path,
                               (unsigned long long)chain_start);
                return st_copy(r->err);
            }
            r->rec_offset = chain_start;
            r->valid_end = frag_end;
            *rec = buf_slice(&r->scratch);
            return NULL;
        }
    }
}

uint64_t log_reader_record_offset(const log_reader_t *r) { return r->rec_offset; }
uint64_t log_reader_dropped_bytes(const log_reader_t *r) { return r->dropped; }
uint64_t log_reader_valid_end(const log_reader_t *r) { return r->valid_end; }
const char *log_reader_path(const log_reader_t *r) { return r->path; }

void log_reader_close(log_reader_t *r)
{
    if (!r)
        return;
    sfile_close(r->f);
    st_free(r->err);
    buf_free(&r->scratch);
    free(r->block);
    free(r->path);
    free(r);
}
