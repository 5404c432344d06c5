/*
 * wal.h - the log file format shared by the WAL (NNNNNN.log) and the MANIFEST.
 *
 * A log is a sequence of 32 KiB blocks. A record is stored as one or more fragments, each
 * with a 7-byte header:
 *
 *     masked crc32c (4) | length (2) | type (1) | payload (length bytes)
 *
 * type is FULL (the whole record), or FIRST, MIDDLE..., LAST for a record split across
 * blocks. The crc covers the type byte and the payload. A fragment never straddles a block
 * boundary: when fewer than 7 bytes remain in a block they are zero-filled and the next
 * fragment starts in the next block. A zero-length record is legal.
 *
 * Reading, and what counts as damage:
 *  - a zero-filled range after the last record (the WAL writer zero-fills ahead of itself,
 *    see log_writer_set_zero_ahead) is a clean end, with nothing counted as dropped;
 *  - a torn tail - the last record of the file incomplete (a fragment header or payload
 *    running past end of file, a FIRST/MIDDLE chain cut short by end of file, or a bad
 *    checksum on the physically last fragment with nothing but zero bytes after it) - is
 *    the normal result of a crash before the record was acknowledged: the reader reports a
 *    clean end and counts the dropped bytes;
 *  - anything else (a bad checksum, bad type or broken fragment chain with more data after
 *    it) is corruption in the middle of the log: the reader returns a Corruption status
 *    naming the file and the byte offset, and never silently skips it.
 */
#ifndef LSM_WRITE_WAL_H
#define LSM_WRITE_WAL_H

#include <stdint.h>

#include "util/buf.h"
#include "util/file.h"
#include "util/slice.h"
#include "util/status.h"

#define LOG_BLOCK_SIZE 32768
#define LOG_HEADER_SIZE 7

enum { LOG_ZERO = 0, LOG_FULL = 1, LOG_FIRST = 2, LOG_MIDDLE = 3, LOG_LAST = 4 };

/* ---- writer ---- */
typedef struct log_writer log_writer_t;

/* Wraps an open append-only file (the writer owns it from now on). The block offset
 * continues from the file's current size, so a reopened log can be appended to. Returns
 * NULL only when out of memory; the file then still belongs to the caller. */
log_writer_t *log_writer_new(wfile_t *f);
/* Appends one record (fragmenting it as needed) to the file's user-space buffer. Nothing is
 * handed to the kernel until log_writer_flush/sync. On error the file is left as it was
 * before the call when possible (the partial record is truncated away). */
status_t log_add_record(log_writer_t *w, slice_t record);
/* write(2) of everything buffered: survives a process crash. */
status_t log_writer_flush(log_writer_t *w);
/* flush + fdatasync: survives a power cut. */
status_t log_writer_sync(log_writer_t *w);
/* WAL only: before a sync that follows small appends, keep `bytes` of zero-filled file ahead
 * of the end (wfile_zero_fill), so most syncs are overwrites that need no file-system
 * journal commit. The zeros read as a clean end of log. 0 (the default) turns it off. */
void log_writer_set_zero_ahead(log_writer_t *w, uint64_t bytes);
/* Flushes, closes the file and frees the writer (freed even on error). */
status_t log_writer_close(log_writer_t *w);
/* Cuts the file back to `size` (a record boundary the writer has passed, e.g. the size
 * before a group whose write failed) and continues appending from there. */
status_t log_writer_truncate(log_writer_t *w, uint64_t size);
uint64_t log_writer_size(const log_writer_t *w);
wfile_t *log_writer_file(log_writer_t *w);

/* ---- reader ---- */
typedef struct log_reader log_reader_t;

status_t log_reader_open(env_t *env, const char *path, log_reader_t **out);
/* Reads the next record. Returns NULL with *rec set and *eof = 0 for a record (the bytes
 * stay valid until the next call), NULL with *eof = 1 at the end (clean or torn tail), or a
 * Corruption / IO error status. The end and errors are sticky: later calls repeat them. */
status_t log_read_record(log_reader_t *r, slice_t *rec, int *eof);
/* File offset at which the last record returned starts. */
uint64_t log_reader_record_offset(const log_reader_t *r);
/* Bytes dropped as a torn tail (valid after *eof = 1): from the start of the unfinished
 * record (or of the damaged fragment) to end of file, or to where a zero-filled end begins
 * (a zero-filled end right after the last whole record drops nothing). */
uint64_t log_reader_dropped_bytes(const log_reader_t *r);
/* File offset just past the last record returned (0 if none). A log that is to be appended
 * to after recovery must first be truncated to this offset when bytes were dropped:
 * appending after a torn fragment would turn the torn tail into mid-log corruption. */
uint64_t log_reader_valid_end(const log_reader_t *r);
const char *log_reader_path(const log_reader_t *r);
void log_reader_close(log_reader_t *r);

#endif
