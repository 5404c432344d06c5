/*
 * fuzz_wal.c - libFuzzer target: the WAL / MANIFEST log reader on arbitrary bytes.
 *
 * The input is a log file. Every record the reader returns must lie within its buffers
 * (touched byte by byte), the offsets it reports must stay within the file, and reading
 * must end (EOF or an error) after at most one record per 7 bytes. Each record is also
 * handed to the write-batch validator, as recovery does.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "util/status.h"
#include "write/wal.h"
#include "write/write_batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[128];
    fuzz_write_file("000001.log", data, size, path, sizeof(path));
    log_reader_t *r;
    status_t st = log_reader_open(NULL, path, &r);
    if (st) {
        st_free(st);
        return 0;
    }
    size_t records = 0;
    volatile unsigned sink = 0;
    for (;;) {
        slice_t rec;
        int eof = 0;
        st = log_read_record(r, &rec, &eof);
        if (st || eof)
            break;
        sink += fuzz_touch(rec);
        if (log_reader_record_offset(r) > size)
            abort();
        if (++records > size / LOG_HEADER_SIZE + 1)
            abort(); /* more records than the bytes allow: the reader is looping */
        if (rec.size >= WB_HEADER_SIZE)
            st_free(wb_validate(rec));
    }
    st_free(st);
    if (log_reader_valid_end(r) > size)
        abort();
    log_reader_close(r);
    (void)sink;
    return 0;
}
