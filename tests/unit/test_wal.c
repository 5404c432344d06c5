/*
 * test_wal.c - the log format: round trips across block boundaries, reopen-and-append,
 * large records written by writev from the caller's memory, torn tails at every byte, zero-filled tails (and the writer's zero-fill ahead of small
 * synced appends), and mid-log corruption reported with the file name and offset (never
 * skipped).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "util/coding.h"
#include "util/crc32c.h"
#include "util/random.h"
#include "write/wal.h"

typedef struct {
    char dir[64];
    char path[128];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    if (tu_make_tmpdir(f->dir, sizeof(f->dir), "test_wal"))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/000007.log", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    int r = tu_rm_rf(f->dir);
    free(f);
    return r;
}

/* ---- helpers ---- */

/* Record i of a test: deterministic bytes, so a reader's output can be checked. */
static void fill_record(char *p, size_t n, uint64_t id)
{
    rnd_t r;
    rnd_seed(&r, id * 7919 + 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)(rnd_next(&r) >> 56);
}

typedef struct {
    size_t n;
    size_t *sizes;
    uint64_t *offsets; /* file offset where each record starts (after any block padding) */
    uint64_t end;      /* file size after the last record */
} written_t;

static void written_free(written_t *w)
{
    free(w->sizes);
    free(w->offsets);
}

/* Where a record appended at `size` starts: past the block trailer if < 7 bytes remain. */
static uint64_t record_start(uint64_t size)
{
    uint64_t left = LOG_BLOCK_SIZE - size % LOG_BLOCK_SIZE;
    return left < LOG_HEADER_SIZE ? size + left : size;
}

/* Appends records with ids first.. and the given sizes to the writer. */
static void append_records(log_writer_t *lw, const size_t *sizes, size_t n, uint64_t first_id,
                           written_t *w)
{
    size_t base = w->n;
    w->sizes = realloc(w->sizes, (base + n) * sizeof(size_t));
    w->offsets = realloc(w->offsets, (base + n) * sizeof(uint64_t));
    assert_non_null(w->sizes);
    assert_non_null(w->offsets);
    for (size_t i = 0; i < n; i++) {
        char *p = malloc(sizes[i] ? sizes[i] : 1);
        assert_non_null(p);
        fill_record(p, sizes[i], first_id + i);
        w->offsets[base + i] = record_start(log_writer_size(lw));
        status_t s = log_add_record(lw, slice_make(p, sizes[i]));
        if (s)
            fail_msg("add_record: %s", st_msg(s));
        free(p);
        w->sizes[base + i] = sizes[i];
    }
    w->n = base + n;
    w->end = log_writer_size(lw);
}

static void write_log(const char *path, const size_t *sizes, size_t n, written_t *w)
{
    memset(w, 0, sizeof(*w));
    wfile_t *f;
    assert_null(wfile_open(NULL, path, 0, &f));
    log_writer_t *lw = log_writer_new(f);
    assert_non_null(lw);
    append_records(lw, sizes, n, 0, w);
    assert_null(log_writer_flush(lw));
    assert_null(log_writer_close(lw));
}

typedef struct {
    size_t got;          /* records read and verified */
    int eof;
    status_t err;
    uint64_t dropped;
    uint64_t valid_end;
} readback_t;

/* Reads the log and checks each record against w (ids from 0, in order). Stops at eof or
 * error, whichever comes first. */
static readback_t read_back(const char *path, const written_t *w)
{
    readback_t rb = {0, 0, NULL, 0, 0};
    log_reader_t *r;
    status_t s = log_reader_open(NULL, path, &r);
    if (s)
        fail_msg("open: %s", st_msg(s));
    assert_string_equal(log_reader_path(r), path);
    for (;;) {
        slice_t rec;
        int eof;
        s = log_read_record(r, &rec, &eof);
        if (s) {
            rb.err = s;
            break;
        }
        if (eof) {
            rb.eof = 1;
            rb.dropped = log_reader_dropped_bytes(r);
            /* The end is sticky. */
            assert_null(log_read_record(r, &rec, &eof));
            assert_int_equal(eof, 1);
            break;
        }
        if (rb.got >= w->n)
            fail_msg("record %zu read but only %zu written", rb.got, w->n);
        if (rec.size != w->sizes[rb.got])
            fail_msg("record %zu: size %zu, wrote %zu", rb.got, rec.size, w->sizes[rb.got]);
        char *want = malloc(rec.size ? rec.size : 1);
        assert_non_null(want);
        fill_record(want, rec.size, rb.got);
        if (rec.size && memcmp(want, rec.data, rec.size) != 0)
            fail_msg("record %zu: contents differ", rb.got);
        free(want);
        if (log_reader_record_offset(r) != w->offsets[rb.got])
            fail_msg("record %zu: offset %llu, expected %llu", rb.got,
                     (unsigned long long)log_reader_record_offset(r),
                     (unsigned long long)w->offsets[rb.got]);
        rb.got++;
    }
    rb.valid_end = log_reader_valid_end(r);
    log_reader_close(r);
    return rb;
}

static char *slurp(const char *path, size_t *n)
{
    char *data;
    assert_null(file_read_all(NULL, path, &data, n));
    return data;
}

static void spit(const char *path, const char *data, size_t n)
{
    /* A fresh inode: ext4 flushes a file truncated to zero on close (auto_da_alloc), which
     * would make the thousands of rewrites here slow. */
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

/* Writes one raw fragment (for crafting broken chains). */
static size_t raw_fragment(char *dst, int type, const char *p, size_t n)
{
    char t = (char)type;
    uint32_t crc = crc32c_extend(crc32c_value(&t, 1), p, n);
    encode_fixed32(dst, crc32c_mask(crc));
    encode_fixed16(dst + 4, (uint16_t)n);
    dst[6] = t;
    memcpy(dst + 7, p, n);
    return 7 + n;
}

/* ---- tests ---- */

static void test_empty_and_missing(void **state)
{
    fixture_t *f = *state;
    written_t w;
    write_log(f->path, NULL, 0, &w);
    readback_t rb = read_back(f->path, &w);
    assert_null(rb.err);
    assert_true(rb.eof);
    assert_int_equal(rb.got, 0);
    assert_int_equal(rb.dropped, 0);
    written_free(&w);

    log_reader_t *r;
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/nope.log", f->dir);
    status_t s = log_reader_open(NULL, missing, &r);
    assert_int_equal(st_code(s), ST_IO_ERROR);
    assert_non_null(strstr(st_msg(s), "nope.log"));
    st_free(s);
}

static void test_round_trip_random_sizes(void **state)
{
    fixture_t *f = *state;
    rnd_t rnd;
    rnd_seed(&rnd, 12345);
    enum { N = 400 };
    size_t sizes[N];
    for (int i = 0; i < N; i++) {
        switch (rnd_uniform(&rnd, 4)) {
        case 0: sizes[i] = rnd_uniform(&rnd, 16); break;
        case 1: sizes[i] = rnd_uniform(&rnd, 1000); break;
        case 2: sizes[i] = rnd_uniform(&rnd, 40000); break;
        default: sizes[i] = rnd_uniform(&rnd, 100 * 1024 + 1); break;
        }
    }
    sizes[7] = 0;
    sizes[8] = 100 * 1024;
    written_t w;
    write_log(f->path, sizes, N, &w);
    /* Syncing an already flushed log is harmless and keeps the size. */
    wfile_t *wf;
    assert_null(wfile_open(NULL, f->path, 1, &wf));
    log_writer_t *lw = log_writer_new(wf);
    assert_null(log_writer_sync(lw));
    assert_int_equal(log_writer_size(lw), w.end);
    assert_null(log_writer_close(lw));
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal((uint64_t)st.st_size, w.end);
    readback_t rb = read_back(f->path, &w);
    if (rb.err)
        fail_msg("%s", st_msg(rb.err));
    assert_true(rb.eof);
    assert_int_equal(rb.got, N);
    assert_int_equal(rb.dropped, 0);
    assert_int_equal(rb.valid_end, w.end);
    written_free(&w);
}

static void test_block_boundaries(void **state)
{
    fixture_t *f = *state;
    const size_t B = LOG_BLOCK_SIZE, H = LOG_HEADER_SIZE;
    size_t sizes[] = {
        B - H,         /* fills block 0 exactly: record 1 starts at B */
        B - H - 3,     /* leaves 3 bytes: zero trailer, record 2 starts at 2B */
        0,             /* empty FULL at 2B */
        B - 2 * H - 6, /* block 2 now has 6 bytes left: trailer again */
        B - 2 * H,     /* FULL in block 3 leaving exactly 7 bytes... */
        100,           /* ...so this is an empty FIRST at 4B-7, then LAST at 4B */
        B - 3 * H - 100, /* FULL ending 7 bytes before 5B: room for an empty FULL */
        0,
        2 * B,         /* FIRST, MIDDLE, LAST */
        1u << 20,      /* 1 MiB: many MIDDLEs */
        1,
    };
    size_t n = sizeof(sizes) / sizeof(sizes[0]);
    written_t w;
    write_log(f->path, sizes, n, &w);
    assert_int_equal(w.offsets[1], B);
    assert_int_equal(w.offsets[2], 2 * B);
    assert_int_equal(w.offsets[3], 2 * B + H);
    assert_int_equal(w.offsets[4], 3 * B);
    assert_int_equal(w.offsets[5], 4 * B - H);
    assert_int_equal(w.offsets[7], 5 * B - H);
    assert_int_equal(w.offsets[8], 5 * B);
    size_t len;
    char *data = slurp(f->path, &len);
    assert_int_equal(len, w.end);
    /* Trailers are zero. */
    for (size_t i = 2 * B - 3; i < 2 * B; i++)
        assert_int_equal(data[i], 0);
    for (size_t i = 3 * B - 6; i < 3 * B; i++)
        assert_int_equal(data[i], 0);
    /* Fragment types where the layout dictates them. */
    assert_int_equal(data[6], LOG_FULL);
    assert_int_equal(data[B + 6], LOG_FULL);
    assert_int_equal(data[3 * B + 6], LOG_FULL);
    assert_int_equal(data[4 * B - H + 6], LOG_FIRST);
    assert_int_equal(decode_fixed16(data + 4 * B - H + 4), 0);
    assert_int_equal(data[4 * B + 6], LOG_LAST);
    assert_int_equal(data[5 * B - H + 6], LOG_FULL);
    assert_int_equal(data[5 * B + 6], LOG_FIRST);
    assert_int_equal(data[6 * B + 6], LOG_MIDDLE);
    assert_int_equal(data[7 * B + 6], LOG_LAST);
    free(data);
    readback_t rb = read_back(f->path, &w);
    if (rb.err)
        fail_msg("%s", st_msg(rb.err));
    assert_int_equal(rb.got, n);
    assert_int_equal(rb.dropped, 0);
    written_free(&w);
}

/* Records far past the file buffer go out by writev in 64-fragment batches straight from
 * the caller's memory (wfile_appendv): batches that end exactly on a fragment count, a
 * record of many batches, and small buffered records before and between them all read
 * back byte for byte, at the offsets the block layout dictates. */
static void test_large_records_gathered(void **state)
{
    fixture_t *f = *state;
    const size_t B = LOG_BLOCK_SIZE, H = LOG_HEADER_SIZE;
    size_t sizes[] = {
        B - H,               /* block 0 exactly: the next record starts at B */
        64 * (B - H),        /* exactly one batch of 64 fragments */
        10,
        65 * (B - H) + 1,    /* one batch and then two more fragments */
        (3u << 20) + 5,      /* several batches */
        20000,
        40000,               /* buffered then spilled with the buffer in front */
        0,
        129 * (B - H),
    };
    size_t n = sizeof(sizes) / sizeof(sizes[0]);
    written_t w;
    write_log(f->path, sizes, n, &w);
    assert_int_equal(w.offsets[1], B);
    assert_int_equal(w.offsets[2], 65 * B);
    size_t len;
    char *data = slurp(f->path, &len);
    assert_int_equal(len, w.end);
    assert_int_equal(data[B + 6], LOG_FIRST);
    assert_int_equal(data[64 * B + 6], LOG_LAST);
    assert_int_equal(data[65 * B + 6], LOG_FULL);
    free(data);
    readback_t rb = read_back(f->path, &w);
    if (rb.err)
        fail_msg("%s", st_msg(rb.err));
    assert_true(rb.eof);
    assert_int_equal(rb.got, n);
    assert_int_equal(rb.dropped, 0);
    assert_int_equal(rb.valid_end, w.end);
    written_free(&w);
}

static void test_reopen_and_append(void **state)
{
    fixture_t *f = *state;
    const size_t B = LOG_BLOCK_SIZE, H = LOG_HEADER_SIZE;
    /* Sessions that end mid-block, with < 7 bytes left, and exactly on a boundary. */
    size_t s1[] = {100, 5000, B - (107 + 5007 + H) - 4}; /* leaves 4 bytes in block 0 */
    size_t s2[] = {B - H};                              /* block 1 exactly full */
    size_t s3[] = {70000, 3, 0};
    written_t w;
    write_log(f->path, s1, 3, &w);
    assert_int_equal(w.end, B - 4);

    uint64_t id = 3;
    size_t *sess[] = {s2, s3};
    size_t lens[] = {1, 3};
    for (int k = 0; k < 2; k++) {
        wfile_t *wf;
        assert_null(wfile_open(NULL, f->path, 1, &wf));
        log_writer_t *lw = log_writer_new(wf);
        assert_non_null(lw);
        assert_int_equal(log_writer_size(lw), w.end);
        append_records(lw, sess[k], lens[k], id, &w);
        id += lens[k];
        assert_null(log_writer_flush(lw));
        assert_null(log_writer_close(lw));
    }
    assert_int_equal(w.offsets[3], B);
    assert_int_equal(w.offsets[4], 2 * B);
    readback_t rb = read_back(f->path, &w);
    if (rb.err)
        fail_msg("%s", st_msg(rb.err));
    assert_int_equal(rb.got, 7);
    assert_true(rb.eof);
    assert_int_equal(rb.dropped, 0);
    written_free(&w);
}

/* Truncates a copy of the log at `cut` and checks that exactly the records before the last
 * come back, with a clean end and the right number of dropped bytes. */
static void check_cut(const char *path, const char *data, const written_t *w, size_t cut)
{
    spit(path, data, cut);
    readback_t rb = read_back(path, w);
    if (rb.err)
        fail_msg("cut at %zu: %s", cut, st_msg(rb.err));
    uint64_t last = w->offsets[w->n - 1];
    if (rb.got != w->n - 1)
        fail_msg("cut at %zu: %zu records, expected %zu", cut, rb.got, w->n - 1);
    assert_true(rb.eof);
    uint64_t want_drop = cut > last ? cut - last : 0;
    if (rb.dropped != want_drop)
        fail_msg("cut at %zu: dropped %llu, expected %llu", cut,
                 (unsigned long long)rb.dropped, (unsigned long long)want_drop);
    /* Truncating to valid_end leaves a log that reads cleanly with no drop. */
    assert_int_equal(rb.valid_end, w->n > 1 ? w->offsets[w->n - 2] + LOG_HEADER_SIZE +
                                                  w->sizes[w->n - 2]
                                            : 0);
}

static void test_torn_tail_every_offset(void **state)
{
    fixture_t *f = *state;
    const size_t B = LOG_BLOCK_SIZE;
    /* The last record starts 1000 bytes before a block end, so it is FIRST + LAST. */
    size_t sizes[] = {300, 20, B - 1000 - 341, 4000};
    size_t n = 4;
    written_t w;
    write_log(f->path, sizes, n, &w);
    assert_int_equal(w.offsets[3], B - 1000);
    size_t len;
    char *data = slurp(f->path, &len);
    for (size_t cut = w.offsets[3]; cut < len; cut++)
        check_cut(f->path, data, &w, cut);
    /* The whole file still reads completely. */
    spit(f->path, data, len);
    readback_t rb = read_back(f->path, &w);
    assert_null(rb.err);
    assert_int_equal(rb.got, n);
    free(data);
    written_free(&w);

    /* A last record of three fragments: every offset near each fragment boundary, and
     * every 37th byte elsewhere. */
    size_t sizes2[] = {10, 2 * B};
    write_log(f->path, sizes2, 2, &w);
    data = slurp(f->path, &len);
    for (size_t cut = w.offsets[1]; cut < len; cut++) {
        size_t in_block = cut % B;
        if (in_block < 20 || in_block > B - 20 || cut % 37 == 0 || cut > len - 20)
            check_cut(f->path, data, &w, cut);
    }
    free(data);
    written_free(&w);
}

static void test_torn_tail_after_trailer(void **state)
{
    fixture_t *f = *state;
    const size_t B = LOG_BLOCK_SIZE, H = LOG_HEADER_SIZE;
    /* Record 0 leaves 5 bytes; record 1 starts at B. Cuts inside the trailer lose nothing
     * but padding. */
    size_t sizes[] = {B - H - 5, 50};
    written_t w;
    write_log(f->path, sizes, 2, &w);
    assert_int_equal(w.offsets[1], B);
    size_t len;
    char *data = slurp(f->path, &len);
    for (size_t cut = B - 5; cut < len; cut++)
        check_cut(f->path, data, &w, cut);
    free(data);
    written_free(&w);
}

static void test_zero_filled_tail(void **state)
{
    fixture_t *f = *state;
    size_t sizes[] = {10, 40000, 7};
    size_t zeros[] = {1, 6, 7, 100, 32768, 100000};
    for (size_t z = 0; z < sizeof(zeros) / sizeof(zeros[0]); z++) {
        written_t w;
        write_log(f->path, sizes, 3, &w);
        size_t len;
        char *data = slurp(f->path, &len);
        char *big = calloc(1, len + zeros[z]);
        assert_non_null(big);
        memcpy(big, data, len);
        spit(f->path, big, len + zeros[z]);
        readback_t rb = read_back(f->path, &w);
        if (rb.err)
            fail_msg("%zu zero bytes: %s", zeros[z], st_msg(rb.err));
        assert_int_equal(rb.got, 3);
        assert_true(rb.eof);
        /* Zeros after the last record are where the data ends (the WAL writer zero-fills
         * ahead of itself): nothing is dropped. */
        assert_int_equal(rb.dropped, 0);
        free(big);
        free(data);
        written_free(&w);
    }
}

/* Flips one byte at `at` and returns the reader's outcome. */
static readback_t read_flipped(const char *path, const char *data, size_t len, size_t at,
                               const written_t *w)
{
    char *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, data, len);
    copy[at] ^= 0x40;
    spit(path, copy, len);
    free(copy);
    return read_back(path, w);
}

static void test_corruption_in_the_middle(void **state)
{
    fixture_t *f = *state;
    const size_t B = LOG_BLOCK_SIZE;
    size_t sizes[] = {1000, 2000, 3000, B, 500};
    written_t w;
    write_log(f->path, sizes, 5, &w);
    size_t len;
    char *data = slurp(f->path, &len);

    /* Every byte of record 2 (header and payload), then of the fragmented record 3. */
    for (int target = 2; target <= 3; target++) {
        uint64_t start = w.offsets[target];
        uint64_t stop = target == 2 ? start + 7 + sizes[2] : start + 7 + sizes[3] + 7;
        for (uint64_t at = start; at < stop; at += (target == 2 ? 1 : 13)) {
            readback_t rb = read_flipped(f->path, data, len, at, &w);
            if (!rb.err)
                fail_msg("flip at %llu: no error (%zu records, eof %d)",
                         (unsigned long long)at, rb.got, rb.eof);
            assert_int_equal(st_code(rb.err), ST_CORRUPTION);
            /* Earlier records were delivered before the error. */
            assert_int_equal(rb.got, (size_t)target);
            const char *msg = st_msg(rb.err);
            assert_non_null(strstr(msg, f->path));
            /* The offset named is that of the damaged fragment. */
            uint64_t frag = at < B ? start : B + ((at - B) / B) * B;
            if (target == 2 || at < B)
                frag = start;
            char want[64];
            snprintf(want, sizeof(want), "offset %llu", (unsigned long long)frag);
            if (!strstr(msg, want))
                fail_msg("flip at %llu: message \"%s\" lacks \"%s\"", (unsigned long long)at,
                         msg, want);
            st_free(rb.err);
        }
    }

    /* A reader that hit corruption keeps reporting it. */
    char *copy = malloc(len);
    memcpy(copy, data, len);
    copy[w.offsets[1] + 100] ^= 1;
    spit(f->path, copy, len);
    free(copy);
    log_reader_t *r;
    assert_null(log_reader_open(NULL, f->path, &r));
    slice_t rec;
    int eof;
    assert_null(log_read_record(r, &rec, &eof));
    assert_int_equal(eof, 0);
    for (int i = 0; i < 2; i++) {
        status_t s = log_read_record(r, &rec, &eof);
        assert_int_equal(st_code(s), ST_CORRUPTION);
        st_free(s);
    }
    log_reader_close(r);
    free(data);
    written_free(&w);
}

static void test_flip_in_last_record_is_torn(void **state)
{
    fixture_t *f = *state;
    size_t sizes[] = {1000, 2000, 3000};
    written_t w;
    write_log(f->path, sizes, 3, &w);
    size_t len;
    char *data = slurp(f->path, &len);
    uint64_t start = w.offsets[2];
    for (uint64_t at = start; at < len; at += 11) {
        if (at == start + 4 || at == start + 5)
            continue; /* length bytes: covered below */
        readback_t rb = read_flipped(f->path, data, len, at, &w);
        if (rb.err)
            fail_msg("flip at %llu: %s", (unsigned long long)at, st_msg(rb.err));
        assert_int_equal(rb.got, 2);
        assert_true(rb.eof);
        assert_int_equal(rb.dropped, len - start);
    }
    /* A length made larger runs past end of file: torn as well. */
    readback_t rb = read_flipped(f->path, data, len, start + 5, &w);
    assert_null(rb.err);
    assert_int_equal(rb.got, 2);
    free(data);
    written_free(&w);
}

static void test_broken_chains(void **state)
{
    fixture_t *f = *state;
    char payload[100];
    memset(payload, 'p', sizeof(payload));
    char buf[4096];
    struct {
        int types[4];
        int n;
        int want_records; /* FULL records delivered before the outcome */
        int corrupt;      /* 1: Corruption; 0: clean (torn) end */
        size_t bad_frag;  /* index of the fragment the message must name */
    } cases[] = {
        {{LOG_FULL, LOG_LAST, LOG_FULL}, 3, 1, 1, 1},      /* LAST without FIRST */
        {{LOG_FULL, LOG_MIDDLE, LOG_FULL}, 3, 1, 1, 1},    /* MIDDLE without FIRST */
        {{LOG_FIRST, LOG_FULL, LOG_FULL}, 3, 0, 1, 1},     /* FIRST then FULL */
        {{LOG_FIRST, LOG_FIRST, LOG_LAST, LOG_FULL}, 4, 0, 1, 1}, /* FIRST then FIRST */
        {{LOG_FULL, LOG_LAST}, 2, 1, 0, 0},                /* orphan LAST at the tail */
        {{LOG_FULL, LOG_FIRST}, 2, 1, 0, 0},               /* FIRST cut by end of file */
        {{LOG_FULL, LOG_FIRST, LOG_MIDDLE}, 3, 1, 0, 0},   /* chain cut by end of file */
        {{LOG_FIRST, LOG_FULL}, 2, 0, 0, 0},               /* broken chain at the tail */
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t off = 0;
        uint64_t frag_off[4];
        for (int i = 0; i < cases[c].n; i++) {
            frag_off[i] = off;
            off += raw_fragment(buf + off, cases[c].types[i], payload, sizeof(payload));
        }
        spit(f->path, buf, off);
        log_reader_t *r;
        assert_null(log_reader_open(NULL, f->path, &r));
        int got = 0;
        status_t s;
        for (;;) {
            slice_t rec;
            int eof;
            s = log_read_record(r, &rec, &eof);
            if (s || eof)
                break;
            assert_int_equal(rec.size, sizeof(payload));
            got++;
        }
        if (got != cases[c].want_records)
            fail_msg("case %zu: %d records", c, got);
        if (cases[c].corrupt) {
            if (st_code(s) != ST_CORRUPTION)
                fail_msg("case %zu: expected corruption, got %s", c, st_msg(s));
            char want[64];
            snprintf(want, sizeof(want), "offset %llu",
                     (unsigned long long)frag_off[cases[c].bad_frag]);
            if (!strstr(st_msg(s), want) || !strstr(st_msg(s), f->path))
                fail_msg("case %zu: message \"%s\" lacks \"%s\"", c, st_msg(s), want);
            st_free(s);
        } else {
            if (s)
                fail_msg("case %zu: %s", c, st_msg(s));
            /* Dropped: from the first fragment not delivered to end of file. */
            uint64_t first_lost = cases[c].want_records ? frag_off[cases[c].want_records] : 0;
            assert_int_equal(log_reader_dropped_bytes(r), off - first_lost);
        }
        log_reader_close(r);
    }
}

static void test_garbage_header_fields(void **state)
{
    fixture_t *f = *state;
    size_t sizes[] = {100, 200, 300};
    written_t w;
    write_log(f->path, sizes, 3, &w);
    size_t len;
    char *data = slurp(f->path, &len);
    /* Bad type byte on the middle record (crc fixed up so only the type is wrong). */
    char *copy = malloc(len);
    memcpy(copy, data, len);
    size_t at = w.offsets[1];
    for (int type = 5; type < 256; type += 50) {
        copy[at + 6] = (char)type;
        uint32_t crc = crc32c_extend(crc32c_value(copy + at + 6, 1), copy + at + 7, 200);
        encode_fixed32(copy + at, crc32c_mask(crc));
        spit(f->path, copy, len);
        readback_t rb = read_back(f->path, &w);
        assert_int_equal(st_code(rb.err), ST_CORRUPTION);
        assert_non_null(strstr(st_msg(rb.err), "type"));
        assert_int_equal(rb.got, 1);
        st_free(rb.err);
    }
    /* A middle record zeroed out entirely (a hole) is corruption, not an end. */
    memcpy(copy, data, len);
    memset(copy + at, 0, 7 + 200);
    spit(f->path, copy, len);
    readback_t rb = read_back(f->path, &w);
    assert_int_equal(st_code(rb.err), ST_CORRUPTION);
    assert_int_equal(rb.got, 1);
    st_free(rb.err);
    free(copy);
    free(data);
    written_free(&w);
}

static uint64_t disk_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* The WAL writer's zero-fill ahead: small synced appends leave a zeroed range after the
 * data; readers see a clean end with nothing dropped, close trims the zeros, truncate
 * forgets them, large synced appends do not trigger a fill. */
static void test_zero_ahead(void **state)
{
    fixture_t *f = *state;
    const uint64_t Z = 64 << 10;
    written_t w;
    memset(&w, 0, sizeof(w));
    wfile_t *wf;
    assert_null(wfile_open(NULL, f->path, 0, &wf));
    log_writer_t *lw = log_writer_new(wf);
    assert_non_null(lw);
    log_writer_set_zero_ahead(lw, Z);

    size_t one[] = {500};
    append_records(lw, one, 1, 0, &w);
    assert_null(log_writer_sync(lw));
    assert_int_equal(disk_size(f->path), w.end + Z);
    assert_int_equal(wfile_physical_size(log_writer_file(lw)), w.end + Z);
    assert_int_equal(log_writer_size(lw), w.end);

    /* 300 more small synced records cross several refills and a block boundary. */
    uint64_t before = disk_size(f->path);
    for (uint64_t i = 1; i <= 300; i++) {
        size_t sz[] = {(size_t)(100 + i * 7 % 900)};
        append_records(lw, sz, 1, i, &w);
        assert_null(log_writer_sync(lw));
        uint64_t phys = disk_size(f->path);
        assert_true(phys >= w.end + Z / 4); /* always at least a quarter ahead */
        assert_true(phys >= before);
        before = phys;
    }
    readback_t rb = read_back(f->path, &w);
    if (rb.err)
        fail_msg("%s", st_msg(rb.err));
    assert_int_equal(rb.got, 301);
    assert_true(rb.eof);
    assert_int_equal(rb.dropped, 0);

    /* A large synced append writes no zeros of its own. */
    uint64_t phys = disk_size(f->path);
    size_t big[] = {(size_t)(2 * Z)};
    append_records(lw, big, 1, 301, &w);
    assert_null(log_writer_sync(lw));
    assert_int_equal(disk_size(f->path), w.end > phys ? w.end : phys);

    /* A record flushed into the zeroed range and then torn (its end never written): the
     * records before it read back, the torn one is dropped up to end of file. */
    size_t small[] = {3000};
    append_records(lw, small, 1, 302, &w);
    assert_null(log_writer_sync(lw));
    assert_true(disk_size(f->path) > w.end);
    uint64_t torn_at = w.offsets[w.n - 1];
    int fd = open(f->path, O_WRONLY);
    assert_true(fd >= 0);
    char zeros[1500] = {0};
    assert_int_equal(pwrite(fd, zeros, sizeof(zeros), (off_t)(w.end - sizeof(zeros))),
                     (ssize_t)sizeof(zeros));
    close(fd);
    rb = read_back(f->path, &w);
    assert_null(rb.err);
    assert_int_equal(rb.got, w.n - 1);
    assert_int_equal(rb.dropped, disk_size(f->path) - torn_at);

    /* Truncate forgets the zeros; the next small sync fills again from the new end. */
    assert_null(log_writer_truncate(lw, torn_at));
    assert_int_equal(disk_size(f->path), torn_at);
    assert_int_equal(wfile_physical_size(log_writer_file(lw)), torn_at);
    w.n--;
    w.end = torn_at;
    append_records(lw, small, 1, 302, &w);
    assert_null(log_writer_sync(lw));
    assert_int_equal(disk_size(f->path), w.end + Z);

    /* Close trims the unused zeros. */
    assert_null(log_writer_close(lw));
    assert_int_equal(disk_size(f->path), w.end);
    rb = read_back(f->path, &w);
    assert_null(rb.err);
    assert_int_equal(rb.got, w.n);
    assert_int_equal(rb.dropped, 0);
    written_free(&w);
}

/* A zero-filled range in the middle - data after it - is still corruption, not an end. */
static void test_zero_ahead_hole_then_data(void **state)
{
    fixture_t *f = *state;
    size_t sizes[] = {100, 200, 300};
    written_t w;
    write_log(f->path, sizes, 3, &w);
    size_t len;
    char *data = slurp(f->path, &len);
    memset(data + w.offsets[1], 0, w.offsets[2] - w.offsets[1]);
    spit(f->path, data, len);
    readback_t rb = read_back(f->path, &w);
    assert_non_null(rb.err);
    assert_int_equal(st_code(rb.err), ST_CORRUPTION);
    assert_int_equal(rb.got, 1);
    st_free(rb.err);
    free(data);
    written_free(&w);
}

#ifdef LSM_TESTING
typedef struct {
    int fail_writes;
} fault_t;

static int fault_hook(void *arg, file_op_t op, const char *path)
{
    (void)path;
    fault_t *ft = arg;
    return (ft->fail_writes && op == FOP_WRITE) ? ENOSPC : 0;
}

/* A log writer on path whose writes fail with ENOSPC while ft->fail_writes is set (env
 * must outlive it). */
static log_writer_t *open_faulty_log(const char *path, fault_t *ft, env_t *env)
{
    memset(env, 0, sizeof(*env));
    env->fault_hook = fault_hook;
    env->fault_arg = ft;
    wfile_t *wf;
    assert_null(wfile_open(env, path, 0, &wf));
    log_writer_t *lw = log_writer_new(wf);
    assert_non_null(lw);
    return lw;
}

static void test_failed_append_is_rolled_back(void **state)
{
    fixture_t *f = *state;
    fault_t ft = {0};
    env_t env;
    written_t w;
    memset(&w, 0, sizeof(w));
    log_writer_t *lw = open_faulty_log(f->path, &ft, &env);
    size_t first[] = {1000, 30000};
    append_records(lw, first, 2, 0, &w);
    assert_null(log_writer_flush(lw));

    /* A record larger than the file buffer forces a write, which fails. */
    ft.fail_writes = 1;
    char *big = calloc(1, 200000);
    status_t s = log_add_record(lw, slice_make(big, 200000));
    assert_int_equal(st_code(s), ST_IO_ERROR);
    assert_int_equal(st_errno(s), ENOSPC);
    st_free(s);
    free(big);
    assert_int_equal(log_writer_size(lw), w.end);

    /* The log goes on from where it was. */
    ft.fail_writes = 0;
    size_t more[] = {5000, 70000};
    append_records(lw, more, 2, 2, &w);
    assert_null(log_writer_close(lw));
    readback_t rb = read_back(f->path, &w);
    if (rb.err)
        fail_msg("%s", st_msg(rb.err));
    assert_int_equal(rb.got, 4);
    assert_int_equal(rb.dropped, 0);
    written_free(&w);
}

/* A zero-fill that fails (disk full) costs nothing: the sync still succeeds, no partial
 * zeros are left behind, and the log reads back whole. */
static void test_zero_ahead_failure_is_harmless(void **state)
{
    fixture_t *f = *state;
    fault_t ft = {0};
    env_t env;
    written_t w;
    memset(&w, 0, sizeof(w));
    log_writer_t *lw = open_faulty_log(f->path, &ft, &env);
    log_writer_set_zero_ahead(lw, 64 << 10);
    size_t sz[] = {700, 800};
    append_records(lw, sz, 2, 0, &w);
    assert_null(log_writer_flush(lw));
    ft.fail_writes = 1;
    assert_null(log_writer_sync(lw));
    assert_int_equal(disk_size(f->path), w.end);
    ft.fail_writes = 0;
    assert_null(log_writer_sync(lw)); /* the next sync fills */
    uint64_t filled = w.end + (64 << 10);
    assert_int_equal(disk_size(f->path), filled);
    size_t more[] = {900};
    append_records(lw, more, 1, 2, &w);
    assert_null(log_writer_sync(lw));
    assert_int_equal(disk_size(f->path), filled);
    assert_null(log_writer_close(lw));
    readback_t rb = read_back(f->path, &w);
    assert_null(rb.err);
    assert_int_equal(rb.got, 3);
    assert_int_equal(rb.dropped, 0);
    written_free(&w);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_random_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_records_gathered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_and_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_every_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_after_trailer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_filled_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corruption_in_the_middle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flip_in_last_record_is_torn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_header_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_ahead_hole_then_data, setup, teardown),
#ifdef LSM_TESTING
        cmocka_unit_test_setup_teardown(test_failed_append_is_rolled_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_ahead_failure_is_harmless, setup, teardown),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
