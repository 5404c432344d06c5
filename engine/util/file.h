/*
 * file.h - the engine's only door to the file system.
 *
 * Every open, write, sync, rename, remove and lock of the engine goes through these
 * wrappers, each taking the store's env_t. That gives one place for error messages that name
 * the file, and one place where test builds inject faults: with LSM_TESTING defined, an env
 * may carry a fault hook that is asked before each operation and can make it fail with any
 * errno (EIO, ENOSPC, ...). Release builds compile the hook out.
 *
 * wfile_t is an append-only file with a user-space buffer: wfile_append copies into the
 * buffer, wfile_flush hands it to the kernel with write(2) (data then survives a process
 * crash), wfile_sync also fdatasyncs (data then survives a power cut).
 *
 * Paths that start with rados:// are RADOS objects instead (util/file_rados.h): the same
 * calls, with a flushed write already acknowledged by every replica.
 */
#ifndef LSM_UTIL_FILE_H
#define LSM_UTIL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "util/slice.h"
#include "util/status.h"

typedef enum {
    FOP_OPEN_WRITE, FOP_OPEN_READ, FOP_WRITE, FOP_SYNC, FOP_READ, FOP_RENAME, FOP_REMOVE,
    FOP_SYNC_DIR, FOP_TRUNCATE, FOP_COUNT
} file_op_t;

typedef struct env {
#ifdef LSM_TESTING
    /* Returns 0 to let the operation run, or an errno to fail it with. */
    int (*fault_hook)(void *arg, file_op_t op, const char *path);
    void *fault_arg;
    /* Called after each successful write/sync so a test can model what a power cut loses:
     * (path, offset, length) for FOP_WRITE, (path, 0, file size) for FOP_SYNC. */
    void (*io_observer)(void *arg, file_op_t op, const char *path, uint64_t off, uint64_t len);
    void *io_arg;
#endif
    int unused;
} env_t;

/* ---- append-only files ---- */
typedef struct wfile wfile_t;
/* Creates (truncating) or, with append=1, opens for appending. */
status_t wfile_open(env_t *env, const char *path, int append, wfile_t **out);
status_t wfile_append(wfile_t *f, const void *data, size_t n);
/* Appends parts[0..n) in order, as wfile_append of each would. When they do not fit the
 * buffer, the buffered bytes and the parts go to the kernel in one writev(2), copied by
 * nobody in user space (the parts need only live until the call returns); RADOS objects
 * take the buffered path. n <= WFILE_APPENDV_MAX. */
#define WFILE_APPENDV_MAX 512
status_t wfile_appendv(wfile_t *f, const slice_t *parts, int n);
status_t wfile_flush(wfile_t *f);
status_t wfile_sync(wfile_t *f);
/* Flushes and closes; the handle is freed even when an error is returned. */
status_t wfile_close(wfile_t *f);
uint64_t wfile_size(const wfile_t *f);
const char *wfile_path(const wfile_t *f);
/* Truncate to `size` bytes (after a failed append, to drop a partial record). */
status_t wfile_truncate(wfile_t *f, uint64_t size);
/* Zero-fill ahead: flushes the buffer, then writes zero bytes from the end of what the file
 * physically holds up to offset `upto` (pwrite; appends keep going at wfile_size). Once a
 * later fdatasync has made those blocks and the file size durable, appends into the zeroed
 * range are overwrites, and fdatasync of an overwrite needs no journal commit on ext4/xfs -
 * PostgreSQL zero-fills its WAL segments for the same reason. Best effort: on any error the
 * zeros written are cut off again and the error returned; the file's data is untouched.
 * Only for files opened without append. wfile_close trims unused zeros. */
status_t wfile_zero_fill(wfile_t *f, uint64_t upto);
/* Bytes the file physically holds: max(wfile_size, end of the zero-filled range). */
uint64_t wfile_physical_size(const wfile_t *f);

/* ---- random-access read-only files ---- */
typedef struct rfile rfile_t;
status_t rfile_open(env_t *env, const char *path, rfile_t **out, uint64_t *size);
/* Reads exactly n bytes at off into buf; a short read is a Corruption (file truncated). */
status_t rfile_read(rfile_t *f, uint64_t off, size_t n, char *buf);
void rfile_close(rfile_t *f);
/* A read-only shared mapping of the whole file as it is at the first call (its length in
 * *len), or NULL where there is none: a RADOS object, an empty file, an env with a fault
 * hook (tests inject read errors through rfile_read), or mmap failed. Made by the first
 * call, which must come before the handle is shared between threads; unmapped by
 * rfile_close. Touching the mapping can raise SIGBUS on an I/O error: read it only under
 * util/mapguard.h. */
const char *rfile_map(rfile_t *f, uint64_t *len);
/* Asks the kernel to read [off, off + len) of the mapping into the page cache ahead of use
 * (MADV_WILLNEED: the mapping is MADV_RANDOM, so page faults alone read one page each).
 * Best effort; no-op without a mapping. */
void rfile_map_willneed(rfile_t *f, uint64_t off, uint64_t len);
const char *rfile_path(const rfile_t *f);
/* Advises the kernel that the file will be read sequentially (compaction). */
void rfile_hint_sequential(rfile_t *f);

/* ---- sequential reading ---- */
typedef struct sfile sfile_t;
status_t sfile_open(env_t *env, const char *path, sfile_t **out);
/* Reads up to n bytes; *got < n only at end of file. */
status_t sfile_read(sfile_t *f, size_t n, char *buf, size_t *got);
void sfile_close(sfile_t *f);

/* ---- whole files and directories ---- */
status_t file_read_all(env_t *env, const char *path, char **data, size_t *len);
/* Writes data to dir/name.tmp, fsyncs it, renames it over dir/name, fsyncs dir. */
status_t file_write_atomic(env_t *env, const char *dir, const char *name, const void *data,
                           size_t len);
status_t file_rename(env_t *env, const char *from, const char *to);
/* Copies what `from` holds now into a new file `to` (truncated if present) and fsyncs it;
 * *copied (may be NULL) = bytes copied. On failure `to` is removed. */
status_t file_copy(env_t *env, const char *from, const char *to, uint64_t *copied);
/* Hard-links `from` as `to`; where the file system cannot (another device, no links),
 * copies it instead. *linked says which. Checkpoints use it for immutable tables. */
status_t file_link_or_copy(env_t *env, const char *from, const char *to, int *linked);
status_t file_remove(env_t *env, const char *path);
status_t file_sync_dir(env_t *env, const char *dir);
/* Creates path (or resizes it) to exactly `size` bytes of allocated blocks. On failure the
 * file is removed and the error (e.g. ENOSPC) returned. The store's space reserve. */
status_t file_allocate(env_t *env, const char *path, uint64_t size);
/* Bytes an unprivileged writer may still allocate on dir's file system; -1 on error. */
int file_space_available(const char *dir, uint64_t *bytes);
/* Total, free and available bytes where dir lives (file system or Ceph cluster); -1 with
 * errno on error. */
int file_space(const char *dir, uint64_t *total, uint64_t *free_bytes, uint64_t *avail);
/* The largest single file the store's location accepts, in bytes: 0 = no limit known (local
 * file systems; RADOS: the cluster's osd_max_object_size). */
uint64_t file_max_size(const char *dir);
int file_exists(const char *path);
status_t file_size(const char *path, uint64_t *size);
status_t file_mkdir(const char *path);
/* The store's folder: fine if it is there (and a folder); made if missing and `create`,
 * else InvalidArgument "does not exist". For rados://POOL/NAME the store's marker object
 * plays the folder. */
status_t file_ensure_dir(const char *path, int create);
/* NULL if the store's location can be reached (always for a local path; for RADOS: the
 * cluster answers and the pool exists), else the one-line reason. */
status_t file_reachable(const char *path);
/* Calls fn for every entry of dir except . and ..; stops early if fn returns non-zero. */
status_t file_list_dir(const char *dir, int (*fn)(void *arg, const char *name), void *arg);

/* ---- the LOCK file ---- */
/* Takes an exclusive flock on path (created if needed). Busy "locked" if another open
 * holds it, in this process or another. On a read-only file system the existing file is
 * locked through a read-only descriptor (*fd_out is -1 when there is none to lock). */
status_t file_lock(const char *path, int *fd_out);
void file_unlock(int fd);

#endif
