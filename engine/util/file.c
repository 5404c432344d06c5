/*
 * file.c - the engine's file wrappers (see file.h): POSIX files, or RADOS objects for a
 * store located at rados://POOL/NAME (util/file_rados.c does the object operations).
 *
 * Invariants: every error message names the path; EINTR is retried; a short write is
 * continued until done or failed. In LSM_TESTING builds each operation first asks the
 * env's fault hook, which may fail it (on either backend). The backend is chosen per
 * operation by the path alone, so callers never learn which one runs.
 *
 * RADOS writes are pipelined without changing what a caller can rely on: the bytes an
 * append spills from the write buffer go out as asynchronous object writes, up to
 * WFILE_RADOS_INFLIGHT at once (librados applies one client's writes to one object in
 * order), and wfile_flush, wfile_sync, wfile_truncate and wfile_close wait for every one
 * of them. So a flushed byte is still an acknowledged byte (a WAL group returns only after
 * its flush), while a table or a large record costs about one round trip per
 * WFILE_RADOS_INFLIGHT chunks instead of one per chunk. A failed write is reported by the
 * call that waits for it (the next spill, flush, sync or close) - never lost.
 */
#define _GNU_SOURCE
#include "util/file.h"
#include "util/file_rados.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#define WBUF_SIZE (64 * 1024)
#define WFILE_RADOS_INFLIGHT 8   /* asynchronous RADOS writes one file keeps in flight */

#ifdef LSM_TESTING
#define FAULT(env, op, path)                                                     \
    do {                                                                         \
        if ((env) && (env)->fault_hook) {                                        \
            int e__ = (env)->fault_hook((env)->fault_arg, (op), (path));         \
            if (e__)                                                             \
                return st_io(e__, "%s (injected)", (path));                     \
        }                                                                        \
    } while (0)
#define OBSERVE(env, op, path, off, len)                                         \
    do {                                                                         \
        if ((env) && (env)->io_observer)                                         \
            (env)->io_observer((env)->io_arg, (op), (path), (off), (len));       \
    } while (0)
#else
#define FAULT(env, op, path) do { (void)(env); } while (0)
#define OBSERVE(env, op, path, off, len) do { } while (0)
#endif

struct wfile {
    env_t *env;
    int fd;
    uint64_t size;     /* logical size including buffered bytes */
    uint64_t zeroed;   /* end of the zero-filled range ahead of size (<= size: none) */
    int append;        /* opened with O_APPEND (no zero-fill then) */
    size_t buffered;
    char *path;
    int remote;        /* a RADOS object (ro) instead of fd */
    robj_t ro;
    /* remote only: started writes, oldest first (a ring), each with its copy of the bytes */
    struct {
        robj_aio_t *aio;
        char *data;
    } flight[WFILE_RADOS_INFLIGHT];
    int nflight, first;
    char buf[WBUF_SIZE];
};

/* An object opened for writing: created empty (truncated) unless appending. */
static status_t remote_wfile_open(env_t *env, const char *path, int append, wfile_t **out)
{
    struct wfile *f = calloc(1, sizeof(*f));
    char *p = strdup(path);
    if (!f || !p) {
        free(f);
        free(p);
        return st_io(ENOMEM, "%s", path);
    }
    f->env = env;
    f->fd = -1;
    f->path = p;
    f->append = append;
    f->remote = 1;
    status_t s = robj_get(path, &f->ro);
    if (!s && append) {
        s = robj_stat(&f->ro, path, &f->size);
        if (s && st_errno(s) == ENOENT) {
            st_free(s);
            s = robj_write_full(&f->ro, path, "", 0);
        }
    } else if (!s) {
        s = robj_write_full(&f->ro, path, "", 0);
    }
    if (s) {
        free(p);
        free(f);
        return s;
    }
    *out = f;
    return NULL;
}

status_t wfile_open(env_t *env, const char *path, int append, wfile_t **out)
{
    *out = NULL;
    FAULT(env, FOP_OPEN_WRITE, path);
    if (robj_is_rados(path))
        return remote_wfile_open(env, path, append, out);
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
    int fd = open(path, flags, 0644);
    if (fd < 0)
        return st_io(errno, "%s: open for writing", path);
    struct wfile *f = calloc(1, sizeof(*f));
    char *p = strdup(path);
    if (!f || !p) {
        free(f);
        free(p);
        close(fd);
        return st_io(ENOMEM, "%s", path);
    }
    f->env = env;
    f->fd = fd;
    f->buffered = 0;
    f->path = p;
    f->size = 0;
    f->zeroed = 0;
    f->append = append;
    if (append) {
        struct stat stt;
        if (fstat(fd, &stt) == 0)
            f->size = (uint64_t)stt.st_size;
    }
    *out = f;
    return NULL;
}

/* Waits for the oldest started RADOS write and releases it. */
static status_t land_oldest(wfile_t *f)
{
    int i = f->first;
    status_t s = robj_aio_finish(f->flight[i].aio, f->path);
    free(f->flight[i].data);
    f->flight[i].aio = NULL;
    f->flight[i].data = NULL;
    f->first = (i + 1) % WFILE_RADOS_INFLIGHT;
    f->nflight--;
    return s;
}

/* Waits for every started RADOS write; the first failure is returned, all are released. */
static status_t land_all(wfile_t *f)
{
    status_t first = NULL;
    while (f->nflight > 0) {
        status_t s = land_oldest(f);
        if (s && !first)
            first = s;
        else
            st_free(s);
    }
    return first;
}

/* Starts the RADOS writes of p[0..n) at off, in chunks of at most ROBJ_AIO_MAX, waiting
 * for the oldest whenever WFILE_RADOS_INFLIGHT are in flight. */
static status_t remote_start(wfile_t *f, const char *p, size_t n, uint64_t off)
{
    while (n > 0) {
        size_t k = n > ROBJ_AIO_MAX ? ROBJ_AIO_MAX : n;
        if (f->nflight == WFILE_RADOS_INFLIGHT)
            ST_RETURN_IF_ERR(land_oldest(f));
        char *copy = malloc(k);
        if (!copy)
            return st_io(ENOMEM, "%s: write", f->path);
        memcpy(copy, p, k);
        robj_aio_t *a;
        status_t s = robj_aio_write(&f->ro, f->path, copy, k, off, &a);
        if (s) {
            free(copy);
            return s;
        }
        int i = (f->first + f->nflight) % WFILE_RADOS_INFLIGHT;
        f->flight[i].aio = a;
        f->flight[i].data = copy;
        f->nflight++;
        p += k;
        off += k;
        n -= k;
    }
    return NULL;
}

static status_t write_all(wfile_t *f, const char *p, size_t n)
{
    FAULT(f->env, FOP_WRITE, f->path);
    uint64_t off = f->size - f->buffered;
    if (f->remote) {
        ST_RETURN_IF_ERR(remote_start(f, p, n, off));
        OBSERVE(f->env, FOP_WRITE, f->path, off, n);
        return NULL;
    }
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(f->fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return st_io(errno, "%s: write", f->path);
        }
        p += w;
        left -= (size_t)w;
    }
    OBSERVE(f->env, FOP_WRITE, f->path, off, n);
    return NULL;
}

/* Hands the buffered bytes to the backend (on RADOS: started, not waited for). */
static status_t spill(wfile_t *f)
{
    if (f->buffered == 0)
        return NULL;
    status_t s = write_all(f, f->buf, f->buffered);
    /* On failure the buffered bytes are dropped: the caller learns the append failed and
     * must not assume any of it reached the file. */
    f->buffered = 0;
    return s;
}

status_t wfile_flush(wfile_t *f)
{
    status_t s = spill(f);
    if (!f->remote)
        return s;
    status_t l = land_all(f);  /* a flushed byte is an acknowledged byte (see top) */
    if (s) {
        st_free(l);
        return s;
    }
    return l;
}

status_t wfile_append(wfile_t *f, const void *data, size_t n)
{
    const char *p = data;
    if (f->buffered + n <= WBUF_SIZE) {
        memcpy(f->buf + f->buffered, p, n);
        f->buffered += n;
        f->size += n;
        return NULL;
    }
    /* Fill the buffer, write it, then write large remainders directly. */
    size_t room = WBUF_SIZE - f->buffered;
    memcpy(f->buf + f->buffered, p, room);
    f->buffered += room;
    f->size += room;
    p += room;
    n -= room;
    ST_RETURN_IF_ERR(spill(f));
    if (n >= WBUF_SIZE) {
        /* Write first: write_all reports the offset (f->size - f->buffered) to the io
         * observer, which must be where these bytes start. */
        status_t s = write_all(f, p, n);
        f->size += n;
        return s;
    }
    memcpy(f->buf, p, n);
    f->buffered = n;
    f->size += n;
    return NULL;
}

/* Writes iov[0..cnt) (total n bytes) at the end of the file, continuing short writes;
 * the buffer must be empty or be iov[0]. */
static status_t writev_all(wfile_t *f, struct iovec *iov, int cnt, size_t n)
{
    FAULT(f->env, FOP_WRITE, f->path);
    uint64_t off = f->size - f->buffered;
    while (cnt > 0) {
        ssize_t w = writev(f->fd, iov, cnt > IOV_MAX ? IOV_MAX : cnt);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return st_io(errno, "%s: write", f->path);
        }
        size_t done = (size_t)w;
        while (cnt > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    OBSERVE(f->env, FOP_WRITE, f->path, off, n);
    (void)off;
    (void)n;
    return NULL;
}

status_t wfile_appendv(wfile_t *f, const slice_t *parts, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += parts[i].size;
    if (f->remote || f->buffered + total <= WBUF_SIZE || n > WFILE_APPENDV_MAX) {
        for (int i = 0; i < n; i++)
            ST_RETURN_IF_ERR(wfile_append(f, parts[i].data, parts[i].size));
        return NULL;
    }
    struct iovec iov[WFILE_APPENDV_MAX + 1];
    int cnt = 0;
    if (f->buffered)
        iov[cnt++] = (struct iovec){f->buf, f->buffered};
    for (int i = 0; i < n; i++)
        if (parts[i].size)
            iov[cnt++] = (struct iovec){(void *)parts[i].data, parts[i].size};
    status_t s = writev_all(f, iov, cnt, f->buffered + total);
    /* As in wfile_append: on failure none of it may be assumed written (the caller
     * truncates back), and the size counts it either way. */
    f->buffered = 0;
    f->size += total;
    return s;
}

status_t wfile_sync(wfile_t *f)
{
    ST_RETURN_IF_ERR(wfile_flush(f));
    FAULT(f->env, FOP_SYNC, f->path);
    /* A RADOS write returned only once every replica had it: nothing more to wait for. */
    if (!f->remote && fdatasync(f->fd) < 0)
        return st_io(errno, "%s: fdatasync", f->path);
    OBSERVE(f->env, FOP_SYNC, f->path, 0, f->size);
    return NULL;
}

status_t wfile_close(wfile_t *f)
{
    if (!f)
        return NULL;
    status_t s = wfile_flush(f);
    /* Unused zeros are cut off (a reader would take them for a clean end anyway). */
    if (!s && f->zeroed > f->size && ftruncate(f->fd, (off_t)f->size) < 0)
        s = st_io(errno, "%s: truncate", f->path);
    if (!f->remote && close(f->fd) < 0 && !s)
        s = st_io(errno, "%s: close", f->path);
    free(f->path);
    free(f);
    return s;
}

uint64_t wfile_size(const wfile_t *f) { return f->size; }
const char *wfile_path(const wfile_t *f) { return f->path; }

status_t wfile_truncate(wfile_t *f, uint64_t size)
{
    f->buffered = 0;
    /* Writes still in flight would land after the truncate: wait for them first. Their
     * failures do not matter here: whatever they wrote is being cut off (a caller
     * truncates back after an error it was already given). */
    if (f->remote)
        st_free(land_all(f));
    FAULT(f->env, FOP_TRUNCATE, f->path);
    if (f->remote) {
        ST_RETURN_IF_ERR(robj_trunc(&f->ro, f->path, size));
        f->size = size;
        return NULL;
    }
    if (ftruncate(f->fd, (off_t)size) < 0)
        return st_io(errno, "%s: truncate", f->path);
    /* ftruncate leaves the file offset where it was: without this, the next write would
     * land past the end and leave a zero-filled hole (a corrupt log in the middle). */
    if (lseek(f->fd, (off_t)size, SEEK_SET) < 0)
        return st_io(errno, "%s: seek", f->path);
    f->size = size;
    f->zeroed = 0;
    return NULL;
}

uint64_t wfile_physical_size(const wfile_t *f) { return f->zeroed > f->size ? f->zeroed : f->size; }

/* Writes zeros over [off, upto). */
static status_t zero_range(wfile_t *f, uint64_t off, uint64_t upto)
{
    static const char zeros[64 << 10];
    FAULT(f->env, FOP_WRITE, f->path);
    while (off < upto) {
        size_t n = upto - off < sizeof(zeros) ? (size_t)(upto - off) : sizeof(zeros);
        ssize_t w = pwrite(f->fd, zeros, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return st_io(errno, "%s: zero-fill", f->path);
        }
        off += (uint64_t)w;
    }
    return NULL;
}

status_t wfile_zero_fill(wfile_t *f, uint64_t upto)
{
    if (f->append)
        return st_error(ST_INVALID_ARGUMENT, "%s: zero-fill of an append-only file", f->path);
    if (f->remote)
        return NULL; /* objects have no journal to spare: nothing to gain */
    ST_RETURN_IF_ERR(wfile_flush(f));
    uint64_t start = wfile_physical_size(f);
    if (upto <= start)
        return NULL;
    status_t s = zero_range(f, start, upto);
    if (s) {
        /* Cut the partial zeros off again (harmless zeros remain if even that fails). */
        if (ftruncate(f->fd, (off_t)start) < 0) { /* s already says what went wrong */ }
        return s;
    }
    f->zeroed = upto;
    return NULL;
}

/* ---- random access ---- */
struct rfile {
    env_t *env;
    int fd;
    char *path;
    int remote;
    robj_t ro;
    char *map;       /* rfile_map's mapping (NULL: none yet or none possible) */
    size_t map_len;
    int map_tried;
};

static status_t remote_rfile_open(env_t *env, const char *path, rfile_t **out, uint64_t *size)
{
    struct rfile *f = calloc(1, sizeof(*f));
    char *p = strdup(path);
    if (!f || !p) {
        free(f);
        free(p);
        return st_io(ENOMEM, "%s", path);
    }
    uint64_t sz = 0;
    status_t s = robj_get(path, &f->ro);
    if (!s)
        s = robj_stat(&f->ro, path, &sz);
    if (s) {
        free(f);
        free(p);
        return s;
    }
    f->env = env;
    f->fd = -1;
    f->path = p;
    f->remote = 1;
    if (size)
        *size = sz;
    *out = f;
    return NULL;
}

status_t rfile_open(env_t *env, const char *path, rfile_t **out, uint64_t *size)
{
    *out = NULL;
    FAULT(env, FOP_OPEN_READ, path);
    if (robj_is_rados(path))
        return remote_rfile_open(env, path, out, size);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return st_io(errno, "%s: open", path);
    struct stat stt;
    if (fstat(fd, &stt) < 0) {
        int e = errno;
        close(fd);
        return st_io(e, "%s: stat", path);
    }
    struct rfile *f = calloc(1, sizeof(*f));
    char *p = strdup(path);
    if (!f || !p) {
        free(f);
        free(p);
        close(fd);
        return st_io(ENOMEM, "%s", path);
    }
    f->env = env;
    f->fd = fd;
    f->path = p;
    if (size)
        *size = (uint64_t)stt.st_size;
    *out = f;
    return NULL;
}

status_t rfile_read(rfile_t *f, uint64_t off, size_t n, char *buf)
{
    FAULT(f->env, FOP_READ, f->path);
    size_t done = 0;
    if (f->remote) {
        ST_RETURN_IF_ERR(robj_read(&f->ro, f->path, buf, n, off, &done));
        if (done < n)
            return st_error(ST_CORRUPTION, "%s: truncated: wanted %zu bytes at offset %llu",
                            f->path, n, (unsigned long long)off);
        return NULL;
    }
    while (done < n) {
        ssize_t r = pread(f->fd, buf + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return st_io(errno, "%s: read at offset %llu", f->path,
                         (unsigned long long)(off + done));
        }
        if (r == 0)
            return st_error(ST_CORRUPTION, "%s: truncated: wanted %zu bytes at offset %llu",
                            f->path, n, (unsigned long long)off);
        done += (size_t)r;
    }
    return NULL;
}

const char *rfile_map(rfile_t *f, uint64_t *len)
{
    *len = 0;
    if (!f->map_tried) {
        f->map_tried = 1;
        struct stat stt;
#ifdef LSM_TESTING
        if (f->env && f->env->fault_hook)
            return NULL; /* tests inject read errors through rfile_read: keep reads there */
#endif
        if (f->remote || fstat(f->fd, &stt) < 0 || stt.st_size <= 0 ||
            (uint64_t)stt.st_size > SIZE_MAX)
            return NULL;
        void *m = mmap(NULL, (size_t)stt.st_size, PROT_READ, MAP_SHARED, f->fd, 0);
        if (m == MAP_FAILED)
            return NULL;
        madvise(m, (size_t)stt.st_size, MADV_RANDOM);
        f->map = m;
        f->map_len = (size_t)stt.st_size;
    }
    *len = f->map_len;
    return f->map;
}

void rfile_map_willneed(rfile_t *f, uint64_t off, uint64_t len)
{
    if (!f->map || off >= f->map_len)
        return;
    if (len > f->map_len - off)
        len = f->map_len - off;
    uint64_t start = off & ~(uint64_t)4095;
    madvise(f->map + start, (size_t)(off + len - start), MADV_WILLNEED);
}

void rfile_close(rfile_t *f)
{
    if (!f)
        return;
    if (f->map)
        munmap(f->map, f->map_len);
    if (!f->remote)
        close(f->fd);
    free(f->path);
    free(f);
}

const char *rfile_path(const rfile_t *f) { return f->path; }

void rfile_hint_sequential(rfile_t *f)
{
    if (!f->remote)
        posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
}

/* ---- sequential ---- */
struct sfile {
    env_t *env;
    int fd;
    char *path;
    rfile_t *remote; /* RADOS: a random-access reader and the position in it */
    uint64_t pos, size;
};

status_t sfile_open(env_t *env, const char *path, sfile_t **out)
{
    *out = NULL;
    FAULT(env, FOP_OPEN_READ, path);
    if (robj_is_rados(path)) {
        struct sfile *f = calloc(1, sizeof(*f));
        if (!f)
            return st_io(ENOMEM, "%s", path);
        status_t s = rfile_open(env, path, &f->remote, &f->size);
        if (s) {
            free(f);
            return s;
        }
        f->env = env;
        f->fd = -1;
        f->path = f->remote->path;
        *out = f;
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return st_io(errno, "%s: open", path);
    struct sfile *f = calloc(1, sizeof(*f));
    char *p = strdup(path);
    if (!f || !p) {
        free(f);
        free(p);
        close(fd);
        return st_io(ENOMEM, "%s", path);
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    f->env = env;
    f->fd = fd;
    f->path = p;
    *out = f;
    return NULL;
}

status_t sfile_read(sfile_t *f, size_t n, char *buf, size_t *got)
{
    FAULT(f->env, FOP_READ, f->path);
    size_t done = 0;
    if (f->remote) {
        status_t s = robj_read(&f->remote->ro, f->path, buf, n, f->pos, &done);
        f->pos += done;
        *got = done;
        return s;
    }
    while (done < n) {
        ssize_t r = read(f->fd, buf + done, n - done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return st_io(errno, "%s: read", f->path);
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    *got = done;
    return NULL;
}

void sfile_close(sfile_t *f)
{
    if (!f)
        return;
    if (f->remote) {
        rfile_close(f->remote);
        free(f);
        return;
    }
    close(f->fd);
    free(f->path);
    free(f);
}

/* ---- whole files ---- */
status_t file_read_all(env_t *env, const char *path, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    rfile_t *f;
    uint64_t size;
    ST_RETURN_IF_ERR(rfile_open(env, path, &f, &size));
    if (size > (64u << 20)) {
        rfile_close(f);
        return st_error(ST_CORRUPTION, "%s: unexpectedly large (%llu bytes)", path,
                        (unsigned long long)size);
    }
    char *buf = malloc(size + 1);
    if (!buf) {
        rfile_close(f);
        return st_io(ENOMEM, "%s", path);
    }
    status_t s = size ? rfile_read(f, 0, size, buf) : NULL;
    rfile_close(f);
    if (s) {
        free(buf);
        return s;
    }
    buf[size] = 0;
    *data = buf;
    *len = size;
    return NULL;
}

status_t file_sync_dir(env_t *env, const char *dir)
{
    FAULT(env, FOP_SYNC_DIR, dir);
    if (robj_is_rados(dir))
        return NULL; /* objects have no directory entries to make durable */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return st_io(errno, "%s: open directory", dir);
    int r = fsync(fd);
    int e = errno;
    close(fd);
    if (r < 0)
        return st_io(e, "%s: fsync directory", dir);
    OBSERVE(env, FOP_SYNC_DIR, dir, 0, 0);
    return NULL;
}

/* Syncs f (when s is NULL) and closes it; returns the first error of s, sync, close. */
static status_t sync_and_close(wfile_t *f, status_t s)
{
    if (!s)
        s = wfile_sync(f);
    status_t c = wfile_close(f);
    if (!s)
        return c;
    st_free(c);
    return s;
}

status_t file_write_atomic(env_t *env, const char *dir, const char *name, const void *data,
                           size_t len)
{
    char tmp[PATH_MAX], dst[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
    snprintf(dst, sizeof(dst), "%s/%s", dir, name);
    if (robj_is_rados(dir)) {
        /* A whole-object write replaces the object atomically: no temporary needed. */
        FAULT(env, FOP_WRITE, dst);
        robj_t o;
        ST_RETURN_IF_ERR(robj_get(dst, &o));
        ST_RETURN_IF_ERR(robj_write_full(&o, dst, data, len));
        OBSERVE(env, FOP_SYNC, dst, 0, len);
        return NULL;
    }
    wfile_t *f;
    ST_RETURN_IF_ERR(wfile_open(env, tmp, 0, &f));
    status_t s = sync_and_close(f, wfile_append(f, data, len));
    if (!s)
        s = file_rename(env, tmp, dst);
    if (!s)
        s = file_sync_dir(env, dir);
    if (s)
        unlink(tmp);
    return s;
}

/* RADOS has no rename: copy into the new object in one atomic write, then remove the old
 * one. Not atomic as a whole (both may exist for a moment); the engine renames only files
 * it can tell apart by name. */
static status_t remote_rename(env_t *env, const char *from, const char *to)
{
    if (!robj_is_rados(from) || !robj_is_rados(to))
        return st_error(ST_NOT_SUPPORTED, "rename %s to %s: across backends", from, to);
    char *data;
    size_t len;
    ST_RETURN_IF_ERR(file_read_all(env, from, &data, &len));
    robj_t o;
    status_t s = robj_get(to, &o);
    if (!s)
        s = robj_write_full(&o, to, data, len);
    free(data);
    if (!s)
        s = robj_get(from, &o);
    if (!s)
        s = robj_remove(&o, from);
    return s;
}

status_t file_rename(env_t *env, const char *from, const char *to)
{
    FAULT(env, FOP_RENAME, from);
    if (robj_is_rados(from) || robj_is_rados(to))
        return remote_rename(env, from, to);
    if (rename(from, to) < 0)
        return st_io(errno, "rename %s to %s", from, to);
    OBSERVE(env, FOP_RENAME, to, 0, 0);
    return NULL;
}

status_t file_remove(env_t *env, const char *path)
{
    FAULT(env, FOP_REMOVE, path);
    if (robj_is_rados(path)) {
        robj_t o;
        ST_RETURN_IF_ERR(robj_get(path, &o));
        return robj_remove(&o, path);
    }
    if (unlink(path) < 0)
        return st_io(errno, "%s: remove", path);
    return NULL;
}

status_t file_copy(env_t *env, const char *from, const char *to, uint64_t *copied)
{
    FAULT(env, FOP_OPEN_READ, from);
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return st_io(errno, "%s: open", from);
    wfile_t *out;
    status_t s = wfile_open(env, to, 0, &out);
    if (s) {
        close(in);
        return s;
    }
    char *buf = malloc(WBUF_SIZE);
    uint64_t total = 0;
    if (!buf)
        s = st_io(ENOMEM, "%s", from);
    while (!s) {
        ssize_t r = read(in, buf, WBUF_SIZE);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            s = st_io(errno, "%s: read", from);
        if (r <= 0)
            break;
        s = wfile_append(out, buf, (size_t)r);
        total += (uint64_t)r;
    }
    free(buf);
    close(in);
    s = sync_and_close(out, s);
    if (s)
        unlink(to);
    else if (copied)
        *copied = total;
    return s;
}

status_t file_link_or_copy(env_t *env, const char *from, const char *to, int *linked)
{
    FAULT(env, FOP_OPEN_WRITE, to);
    *linked = 0;
    if (link(from, to) == 0) {
        *linked = 1;
        return NULL;
    }
    if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != ENOTSUP)
        return st_io(errno, "link %s to %s", from, to);
    return file_copy(env, from, to, NULL);
}

status_t file_allocate(env_t *env, const char *path, uint64_t size)
{
    FAULT(env, FOP_WRITE, path);
    if (robj_is_rados(path))
        return st_io(ENOTSUP, "%s: no space reserve on RADOS", path);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return st_io(errno, "%s: open", path);
    /* posix_fallocate allocates real blocks (glibc writes them where fallocate(2) is
     * missing); it returns the error instead of setting errno. */
    int e = posix_fallocate(fd, 0, (off_t)size);
    if (e == 0 && ftruncate(fd, (off_t)size) < 0)
        e = errno;
    close(fd);
    if (e) {
        unlink(path);
        return st_io(e, "%s: allocate %llu bytes", path, (unsigned long long)size);
    }
    return NULL;
}

int file_space_available(const char *dir, uint64_t *bytes)
{
    struct statvfs sv;
    /* A store on RADOS keeps no space reserve: the cluster's full ratios guard it. */
    if (robj_is_rados(dir))
        return -1;
    if (statvfs(dir, &sv) < 0)
        return -1;
    *bytes = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    return 0;
}

uint64_t file_max_size(const char *dir)
{
    robj_t o;
    if (!robj_is_rados(dir))
        return 0;
    status_t s = robj_get(dir, &o);
    if (s) {
        st_free(s);
        return 0;
    }
    return robj_max_object_size(&o);
}

int file_space(const char *dir, uint64_t *total, uint64_t *free_bytes, uint64_t *avail)
{
    if (robj_is_rados(dir)) {
        robj_t o;
        status_t s = robj_get(dir, &o);
        if (s) {
            errno = st_errno(s) ? st_errno(s) : EIO;
            st_free(s);
            return -1;
        }
        return robj_space(&o, total, free_bytes, avail);
    }
    struct statvfs sv;
    if (statvfs(dir, &sv) < 0)
        return -1;
    uint64_t unit = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
    *total = (uint64_t)sv.f_blocks * unit;
    *free_bytes = (uint64_t)sv.f_bfree * unit;
    *avail = (uint64_t)sv.f_bavail * unit;
    return 0;
}

int file_exists(const char *path)
{
    if (robj_is_rados(path)) {
        robj_t o;
        status_t s = robj_get(path, &o);
        if (s) {
            st_free(s);
            return 0;
        }
        if (!o.oid[0])
            return robj_store_exists(&o);
        uint64_t size;
        s = robj_stat(&o, path, &size);
        st_free(s);
        return s == NULL;
    }
    return access(path, F_OK) == 0;
}

status_t file_size(const char *path, uint64_t *size)
{
    if (robj_is_rados(path)) {
        robj_t o;
        ST_RETURN_IF_ERR(robj_get(path, &o));
        return robj_stat(&o, path, size);
    }
    struct stat stt;
    if (stat(path, &stt) < 0)
        return st_io(errno, "%s: stat", path);
    *size = (uint64_t)stt.st_size;
    return NULL;
}

status_t file_mkdir(const char *path)
{
    if (robj_is_rados(path)) {
        robj_t o;
        ST_RETURN_IF_ERR(robj_get(path, &o));
        return robj_mark_store(&o, path);
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return st_io(errno, "%s: mkdir", path);
    return NULL;
}

status_t file_reachable(const char *path)
{
    robj_t o;
    return robj_is_rados(path) ? robj_get(path, &o) : NULL;
}

status_t file_ensure_dir(const char *path, int create)
{
    if (robj_is_rados(path)) {
        robj_t o;
        ST_RETURN_IF_ERR(robj_get(path, &o));
        if (robj_store_exists(&o))
            return NULL;
        if (!create)
            return st_error(ST_INVALID_ARGUMENT, "%s: no lsmfs store there (create_if_missing "
                            "is off)", path);
        return robj_mark_store(&o, path);
    }
    struct stat stt;
    if (stat(path, &stt) == 0) {
        if (!S_ISDIR(stt.st_mode))
            return st_error(ST_INVALID_ARGUMENT, "%s: not a directory", path);
        return NULL;
    }
    if (errno != ENOENT)
        return st_io(errno, "%s", path);
    if (!create)
        return st_error(ST_INVALID_ARGUMENT, "%s: does not exist (create_if_missing is off)", path);
    return file_mkdir(path);
}

status_t file_list_dir(const char *dir, int (*fn)(void *arg, const char *name), void *arg)
{
    if (robj_is_rados(dir)) {
        robj_t o;
        ST_RETURN_IF_ERR(robj_get(dir, &o));
        return robj_list(&o, dir, fn, arg);
    }
    DIR *d = opendir(dir);
    if (!d)
        return st_io(errno, "%s: open directory", dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fn(arg, de->d_name))
            break;
    }
    closedir(d);
    return NULL;
}

status_t file_lock(const char *path, int *fd_out)
{
    *fd_out = -1;
    if (robj_is_rados(path)) {
        robj_t o;
        ST_RETURN_IF_ERR(robj_get(path, &o));
        return robj_lock(&o, path, fd_out);
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EROFS) {
        /* A store on a read-only file system (a snapshot, a backup medium): flock works
         * on a read-only descriptor too; without a LOCK file nobody can lock it, but
         * nobody can write there either. A read-write open fails later, at its first
         * write, with the same EROFS. */
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
            return NULL;
        if (fd < 0)
            errno = EROFS;
    }
    if (fd < 0)
        return st_io(errno, "%s: open lock file", path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return st_error(ST_BUSY, "%s: store is locked: it is already open in this or "
                            "another process", path);
        return st_io(e, "%s: lock", path);
    }
    *fd_out = fd;
    return NULL;
}

void file_unlock(int fd)
{
    if (robj_is_lock_handle(fd)) {
        robj_unlock(fd);
        return;
    }
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}
