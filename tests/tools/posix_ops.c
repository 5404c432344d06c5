/*
 * posix_ops.c - POSIX/Linux behaviour checks for the filesystem under test, one case per
 * operation family, written from the man pages (not from the daemon's code).
 *
 *   posix_ops [-o OUTSIDE] [-X feature]... DIR [case...]
 *
 * DIR is an empty folder on the filesystem under test; each case works in its own subfolder
 * DIR/<case>. OUTSIDE (optional) is a folder on another filesystem, for the EXDEV checks.
 * With no case names every default case runs; "sparse_tib" runs only when named. -l lists
 * the cases. -X skips a feature a reference target lacks (punch, ns_times).
 *
 * Invariants: a failed check prints "FAIL case file:line: what (errno)" and the case goes
 * on; each case ends with "ok case" or "FAIL case (n checks)"; the exit status is 0 only
 * when every check of every selected case passed. Cases that act as an unprivileged user
 * fork a child that drops to uid/gid 65534 (or 65533) and reports its failures back through
 * its exit status, so the parent stays root. Must run as root.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define U1 65534 /* first unprivileged user (nobody) */
#define U2 65533 /* second unprivileged user */
#define G_OTHER 1234

struct t {
    const char *name;
    int fails;
    char dir[PATH_MAX];
    const char *outside;
    int no_punch, no_ns_times;
    char bufs[8][PATH_MAX];
    int bi;
};

static void report(struct t *t, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(struct t *t, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    char msg[1024];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    t->fails++;
    fprintf(stdout, "FAIL %s %s:%d: %s\n", t->name, file, line, msg);
    fflush(stdout);
}

/* Checks. Each evaluates its expression once and reports on mismatch. */
#define CHECK(c) do { if (!(c)) report(t, __FILE__, __LINE__, "%s", #c); } while (0)
#define OK(e) do { errno = 0; long r_ = (long)(e); \
        if (r_ < 0) report(t, __FILE__, __LINE__, "%s -> %ld (%s)", #e, r_, strerror(errno)); } while (0)
#define ERR(e, want) do { errno = 0; long r_ = (long)(e); int en_ = errno; \
        if (r_ >= 0 || en_ != (want)) report(t, __FILE__, __LINE__, "%s -> %ld (%s), want %s", \
            #e, r_, r_ < 0 ? strerror(en_) : "success", strerror(want)); } while (0)
#define ERR2(e, w1, w2) do { errno = 0; long r_ = (long)(e); int en_ = errno; \
        if (r_ >= 0 || (en_ != (w1) && en_ != (w2))) report(t, __FILE__, __LINE__, \
            "%s -> %ld (%s), want %s or %s", #e, r_, r_ < 0 ? strerror(en_) : "success", \
            strerror(w1), strerror(w2)); } while (0)
#define EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
        if (a_ != b_) report(t, __FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); } while (0)
#define EQO(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
        if (a_ != b_) report(t, __FILE__, __LINE__, "%s == %s: 0%llo != 0%llo", #a, #b, a_, b_); } while (0)

/* A path under the case's folder; eight rotate so several may be live in one call. */
static const char *P(struct t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *P(struct t *t, const char *fmt, ...)
{
    char rel[PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    char *b = t->bufs[t->bi++ & 7];
    if (snprintf(b, PATH_MAX, "%s/%s", t->dir, rel) >= PATH_MAX)
        fprintf(stderr, "path too long: %s/%s\n", t->dir, rel);
    return b;
}

static struct stat st_of(struct t *t, const char *path, const char *file, int line)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    if (lstat(path, &st) < 0)
        report(t, file, line, "lstat(%s): %s", path, strerror(errno));
    return st;
}
#define ST(path) st_of(t, (path), __FILE__, __LINE__)

static int ts_cmp(struct timespec a, struct timespec b)
{
    if (a.tv_sec != b.tv_sec) return a.tv_sec < b.tv_sec ? -1 : 1;
    if (a.tv_nsec != b.tv_nsec) return a.tv_nsec < b.tv_nsec ? -1 : 1;
    return 0;
}
#define NEWER(a, b) do { if (ts_cmp((a), (b)) <= 0) report(t, __FILE__, __LINE__, \
        "%s (%lld.%09ld) should be newer than %s (%lld.%09ld)", #a, (long long)(a).tv_sec, \
        (a).tv_nsec, #b, (long long)(b).tv_sec, (b).tv_nsec); } while (0)
#define SAME_TS(a, b) do { if (ts_cmp((a), (b)) != 0) report(t, __FILE__, __LINE__, \
        "%s (%lld.%09ld) should equal %s (%lld.%09ld)", #a, (long long)(a).tv_sec, \
        (a).tv_nsec, #b, (long long)(b).tv_sec, (b).tv_nsec); } while (0)

/* Let the clock move past the filesystem's timestamp granularity (the kernel's coarse clock). */
static void nap(void)
{
    struct timespec d = {0, 30 * 1000 * 1000};
    nanosleep(&d, NULL);
}

static int write_file(const char *path, const void *buf, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) return -1;
    ssize_t w = write(fd, buf, n);
    int e = errno;
    close(fd);
    if (w != (ssize_t)n) { errno = w < 0 ? e : EIO; return -1; }
    return 0;
}

/* Reads the whole file into buf (up to cap); returns its length or -1. */
static ssize_t read_file(const char *path, void *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, (char *)buf + got, cap - got);
        if (r < 0) { int e = errno; close(fd); errno = e; return -1; }
        if (r == 0 || got + (size_t)r == cap) { got += (size_t)r; break; }
        got += (size_t)r;
    }
    close(fd);
    return (ssize_t)got;
}

static int file_has(const char *path, const char *want)
{
    char buf[4096];
    ssize_t n = read_file(path, buf, sizeof buf);
    return n == (ssize_t)strlen(want) && memcmp(buf, want, (size_t)n) == 0;
}

static void fill(unsigned char *b, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        b[i] = (unsigned char)x;
    }
}

static int is_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i]) return 0;
    return 1;
}

/* ---- running as another user ------------------------------------------------------------ */
typedef void (*user_fn)(struct t *t, void *arg);

/* Runs fn in a child with the given credentials (and supplementary group sup if >= 0);
 * the child's failures are added to the parent's. */
static void as_user(struct t *t, uid_t uid, gid_t gid, int sup, user_fn fn, void *arg)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { report(t, __FILE__, __LINE__, "fork: %s", strerror(errno)); return; }
    if (pid == 0) {
        gid_t g = (gid_t)sup;
        if (setgroups(sup >= 0 ? 1 : 0, sup >= 0 ? &g : NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
            setresuid(uid, uid, uid) < 0) {
            printf("FAIL %s: cannot switch to uid %u: %s\n", t->name, (unsigned)uid, strerror(errno));
            _exit(100);
        }
        t->fails = 0;
        fn(t, arg);
        fflush(stdout);
        _exit(t->fails > 99 ? 99 : t->fails);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status))
        report(t, __FILE__, __LINE__, "child as uid %u died (status %d)", (unsigned)uid, status);
    else
        t->fails += WEXITSTATUS(status);
}

/* ======================================================================================== */
/* lookup / getattr, ENOENT, ENOTDIR, ENAMETOOLONG                                          */
/* ======================================================================================== */
static void c_lookup(struct t *t)
{
    struct stat st;
    ERR(stat(P(t, "missing"), &st), ENOENT);
    ERR(lstat(P(t, "missing/x"), &st), ENOENT);
    OK(write_file(P(t, "f"), "hello", 5, 0640));
    st = ST(P(t, "f"));
    CHECK(S_ISREG(st.st_mode));
    EQO(st.st_mode & 07777, 0640);
    EQ(st.st_nlink, 1);
    EQ(st.st_size, 5);
    EQ(st.st_uid, 0);
    EQ(st.st_gid, 0);
    CHECK(st.st_ino != 0);
    CHECK(st.st_blksize > 0);
    ERR(stat(P(t, "f/x"), &st), ENOTDIR);
    ERR(open(P(t, "f/x"), O_RDONLY | O_CREAT, 0644), ENOTDIR);
    ERR(mkdir(P(t, "f/d"), 0755), ENOTDIR);
    ERR(open(P(t, "f"), O_RDONLY | O_DIRECTORY), ENOTDIR);
    ERR(opendir(P(t, "f")) ? 0 : -1, ENOTDIR);
    /* Same inode number through two lookups; the root of the case folder is a directory. */
    struct stat a = ST(P(t, "f")), b = ST(P(t, "./f"));
    EQ(a.st_ino, b.st_ino);
    st = ST(t->dir);
    CHECK(S_ISDIR(st.st_mode));
    /* stat and fstat agree. */
    int fd = open(P(t, "f"), O_RDONLY);
    OK(fd);
    OK(fstat(fd, &st));
    EQ(st.st_ino, a.st_ino);
    EQ(st.st_size, 5);
    close(fd);
}

static void c_nametoolong(struct t *t)
{
    char n255[256], n256[257];
    memset(n255, 'a', 255); n255[255] = 0;
    memset(n256, 'b', 256); n256[256] = 0;
    struct stat st;
    int fd = open(P(t, "%s", n255), O_CREAT | O_WRONLY, 0644);
    OK(fd);
    if (fd >= 0) close(fd);
    OK(stat(P(t, "%s", n255), &st));
    OK(mkdir(P(t, "d%.*s", 254, n255), 0755));
    ERR(open(P(t, "%s", n256), O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
    ERR(stat(P(t, "%s", n256), &st), ENAMETOOLONG);
    ERR(mkdir(P(t, "%s", n256), 0755), ENAMETOOLONG);
    ERR(symlink("target", P(t, "%s", n256)), ENAMETOOLONG);
    ERR(link(P(t, "%s", n255), P(t, "%s", n256)), ENAMETOOLONG);
    ERR(rename(P(t, "%s", n255), P(t, "%s", n256)), ENAMETOOLONG);
    ERR(mknod(P(t, "%s", n256), S_IFIFO | 0644, 0), ENAMETOOLONG);
    OK(setxattr(P(t, "%s", n255), "user.x", "v", 1, 0));
    /* a 255-byte name survives the round trip through readdir */
    DIR *d = opendir(t->dir);
    int found = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, n255) == 0) found++;
    if (d) closedir(d);
    EQ(found, 1);
}

/* ======================================================================================== */
/* open / create                                                                            */
/* ======================================================================================== */
static void c_open(struct t *t)
{
    struct stat st;
    int fd = open(P(t, "f"), O_CREAT | O_EXCL | O_WRONLY, 0666);
    OK(fd);
    st = ST(P(t, "f"));
    EQO(st.st_mode & 07777, 0644); /* umask 022 applied */
    EQ(st.st_size, 0);
    OK(write(fd, "0123456789", 10));
    close(fd);
    ERR(open(P(t, "f"), O_CREAT | O_EXCL | O_WRONLY, 0666), EEXIST);
    ERR(open(P(t, "missing"), O_RDONLY), ENOENT);
    ERR(open(P(t, "nodir/f"), O_CREAT | O_WRONLY, 0644), ENOENT);
    OK(mkdir(P(t, "d"), 0755));
    ERR(open(P(t, "d"), O_WRONLY), EISDIR);
    ERR(open(P(t, "d"), O_RDWR), EISDIR);
    ERR(open(P(t, "d"), O_CREAT | O_WRONLY, 0644), EISDIR);
    ERR(open(P(t, "d"), O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    fd = open(P(t, "d"), O_RDONLY | O_DIRECTORY);
    OK(fd);
    if (fd >= 0) { char c; ERR(read(fd, &c, 1), EISDIR); close(fd); }

    /* O_CREAT without O_EXCL on an existing file keeps its data and mode. */
    fd = open(P(t, "f"), O_CREAT | O_RDWR, 0600);
    OK(fd);
    close(fd);
    st = ST(P(t, "f"));
    EQ(st.st_size, 10);
    EQO(st.st_mode & 07777, 0644);

    /* O_TRUNC empties and moves mtime/ctime. */
    struct stat before = ST(P(t, "f"));
    nap();
    fd = open(P(t, "f"), O_TRUNC | O_WRONLY);
    OK(fd);
    close(fd);
    st = ST(P(t, "f"));
    EQ(st.st_size, 0);
    NEWER(st.st_mtim, before.st_mtim);
    NEWER(st.st_ctim, before.st_ctim);

    /* O_APPEND: every write lands at the end, whatever the offset. */
    OK(write_file(P(t, "a"), "abc", 3, 0644));
    fd = open(P(t, "a"), O_WRONLY | O_APPEND);
    OK(fd);
    OK(lseek(fd, 0, SEEK_SET));
    EQ(write(fd, "def", 3), 3);
    EQ(lseek(fd, 0, SEEK_CUR), 6);
    OK(lseek(fd, 1, SEEK_SET));
    EQ(write(fd, "gh", 2), 2);
    close(fd);
    CHECK(file_has(P(t, "a"), "abcdefgh"));
    /* two O_APPEND descriptors interleave without overwriting */
    int f1 = open(P(t, "a"), O_WRONLY | O_APPEND), f2 = open(P(t, "a"), O_WRONLY | O_APPEND);
    OK(f1); OK(f2);
    EQ(write(f1, "1", 1), 1);
    EQ(write(f2, "2", 1), 1);
    EQ(write(f1, "3", 1), 1);
    close(f1); close(f2);
    CHECK(file_has(P(t, "a"), "abcdefgh123"));

    /* O_RDONLY descriptor refuses writes, O_WRONLY refuses reads */
    fd = open(P(t, "a"), O_RDONLY);
    ERR(write(fd, "x", 1), EBADF);
    close(fd);
    fd = open(P(t, "a"), O_WRONLY);
    char c;
    ERR(read(fd, &c, 1), EBADF);
    close(fd);

    /* umask 0 keeps the requested bits; creat() mode with umask 077 */
    mode_t old = umask(0);
    fd = open(P(t, "u0"), O_CREAT | O_WRONLY, 0666);
    OK(fd); close(fd);
    EQO(ST(P(t, "u0")).st_mode & 07777, 0666);
    umask(077);
    fd = creat(P(t, "u77"), 0666);
    OK(fd); close(fd);
    EQO(ST(P(t, "u77")).st_mode & 07777, 0600);
    umask(old);

    /* O_TMPFILE is optional: if offered it must behave */
    fd = open(t->dir, O_TMPFILE | O_RDWR, 0600);
    if (fd >= 0) {
        EQ(write(fd, "tmp", 3), 3);
        OK(fstat(fd, &st));
        EQ(st.st_nlink, 0);
        close(fd);
    } else {
        CHECK(errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL);
    }
}

/* ======================================================================================== */
/* read / write                                                                             */
/* ======================================================================================== */
static void c_readwrite(struct t *t)
{
    enum { N = 3 * 1024 * 1024 + 123 };
    unsigned char *w = malloc(N), *r = malloc(N);
    fill(w, N, 7);
    int fd = open(P(t, "f"), O_CREAT | O_RDWR, 0644);
    OK(fd);
    /* one big unaligned write, then read it back in odd pieces */
    EQ(pwrite(fd, w + 1, N - 1, 1), N - 1);
    EQ(pwrite(fd, w, 1, 0), 1);
    struct stat st;
    OK(fstat(fd, &st));
    EQ(st.st_size, N);
    memset(r, 0, N);
    size_t off = 0, step = 1;
    while (off < N) {
        size_t n = step < N - off ? step : N - off;
        ssize_t got = pread(fd, r + off, n, (off_t)off);
        if (got != (ssize_t)n) { report(t, __FILE__, __LINE__, "pread %zu@%zu -> %zd", n, off, got); break; }
        off += n;
        step = step * 3 + 1;
        if (step > 300000) step = 4095;
    }
    CHECK(memcmp(w, r, N) == 0);
    /* reads at and past EOF */
    char b[16];
    EQ(pread(fd, b, sizeof b, N), 0);
    EQ(pread(fd, b, sizeof b, N + 100000), 0);
    EQ(pread(fd, b, sizeof b, N - 3), 3);
    /* overwrite a range straddling block boundaries */
    unsigned char patch[10000];
    fill(patch, sizeof patch, 99);
    EQ(pwrite(fd, patch, sizeof patch, 4090), (ssize_t)sizeof patch);
    memcpy(w + 4090, patch, sizeof patch);
    EQ(pread(fd, r, N, 0), N);
    CHECK(memcmp(w, r, N) == 0);
    close(fd);

    /* a write beyond EOF leaves a hole that reads back as zeros */
    fd = open(P(t, "h"), O_CREAT | O_RDWR, 0644);
    EQ(pwrite(fd, "end", 3, 1000000), 3);
    OK(fstat(fd, &st));
    EQ(st.st_size, 1000003);
    memset(r, 1, 1000003);
    EQ(pread(fd, r, 1000003, 0), 1000003);
    CHECK(is_zero(r, 1000000));
    CHECK(memcmp(r + 1000000, "end", 3) == 0);
    close(fd);

    /* data written, then read through a fresh descriptor after dropping the page cache */
    fd = open(P(t, "f"), O_RDONLY);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    memset(r, 0, N);
    EQ(pread(fd, r, N, 0), N);
    CHECK(memcmp(w, r, N) == 0);
    close(fd);

    /* read()/write() move the file offset */
    fd = open(P(t, "s"), O_CREAT | O_RDWR, 0644);
    EQ(write(fd, "abcdef", 6), 6);
    EQ(lseek(fd, 0, SEEK_CUR), 6);
    EQ(lseek(fd, 2, SEEK_SET), 2);
    EQ(read(fd, b, 2), 2);
    CHECK(memcmp(b, "cd", 2) == 0);
    EQ(lseek(fd, 0, SEEK_END), 6);
    EQ(lseek(fd, -1, SEEK_END), 5);
    ERR(lseek(fd, -10, SEEK_SET), EINVAL);
    close(fd);
    free(w); free(r);
}

/* ======================================================================================== */
/* setattr: truncate, chmod, chown, utimens                                                 */
/* ======================================================================================== */
static void c_truncate(struct t *t)
{
    unsigned char w[20000], r[20000];
    fill(w, sizeof w, 3);
    OK(write_file(P(t, "f"), w, sizeof w, 0644));
    struct stat before = ST(P(t, "f")), st;
    nap();
    OK(truncate(P(t, "f"), 5000));
    st = ST(P(t, "f"));
    EQ(st.st_size, 5000);
    NEWER(st.st_mtim, before.st_mtim);
    NEWER(st.st_ctim, before.st_ctim);
    /* grow again: the cut-off data must not come back */
    OK(truncate(P(t, "f"), 20000));
    EQ(read_file(P(t, "f"), r, sizeof r), 20000);
    CHECK(memcmp(r, w, 5000) == 0);
    CHECK(is_zero(r + 5000, 15000));
    /* ftruncate, inside a block, then grow with a write past EOF */
    int fd = open(P(t, "f"), O_RDWR);
    OK(ftruncate(fd, 4097));
    EQ(pwrite(fd, "Z", 1, 12000), 1);
    EQ(pread(fd, r, sizeof r, 0), 12001);
    CHECK(memcmp(r, w, 4097) == 0);
    CHECK(is_zero(r + 4097, 12000 - 4097));
    CHECK(r[12000] == 'Z');
    OK(ftruncate(fd, 0));
    OK(fstat(fd, &st));
    EQ(st.st_size, 0);
    EQ(pread(fd, r, 10, 0), 0);
    /* truncate to a big size makes a sparse file */
    OK(ftruncate(fd, 1LL << 33));
    OK(fstat(fd, &st));
    EQ(st.st_size, 1LL << 33);
    CHECK(st.st_blocks < 1024);
    EQ(pread(fd, r, 100, (1LL << 33) - 50), 50);
    CHECK(is_zero(r, 50));
    OK(ftruncate(fd, 100));
    close(fd);
    ERR(truncate(P(t, "f"), -1), EINVAL);
    OK(mkdir(P(t, "d"), 0755));
    ERR(truncate(P(t, "d"), 0), EISDIR);
    ERR(truncate(P(t, "missing"), 0), ENOENT);
    fd = open(P(t, "f"), O_RDONLY);
    ERR2(ftruncate(fd, 0), EINVAL, EBADF);
    close(fd);
    EQ(ST(P(t, "f")).st_size, 100);
}

static void c_chmod(struct t *t)
{
    OK(write_file(P(t, "f"), "x", 1, 0644));
    struct stat before = ST(P(t, "f")), st;
    nap();
    OK(chmod(P(t, "f"), 0751));
    st = ST(P(t, "f"));
    EQO(st.st_mode & 07777, 0751);
    CHECK(S_ISREG(st.st_mode));
    NEWER(st.st_ctim, before.st_ctim);
    SAME_TS(st.st_mtim, before.st_mtim);
    OK(chmod(P(t, "f"), 07777));
    EQO(ST(P(t, "f")).st_mode & 07777, 07777);
    OK(chmod(P(t, "f"), 0));
    EQO(ST(P(t, "f")).st_mode & 07777, 0);
    int fd = open(P(t, "f"), O_RDONLY); /* root still may */
    OK(fd);
    OK(fchmod(fd, 0604));
    close(fd);
    EQO(ST(P(t, "f")).st_mode & 07777, 0604);
    OK(mkdir(P(t, "d"), 0755));
    OK(chmod(P(t, "d"), 01733));
    st = ST(P(t, "d"));
    EQO(st.st_mode & 07777, 01733);
    CHECK(S_ISDIR(st.st_mode));
    ERR(chmod(P(t, "missing"), 0644), ENOENT);
    /* chmod through a symlink changes the target */
    OK(symlink("f", P(t, "l")));
    OK(chmod(P(t, "l"), 0640));
    EQO(ST(P(t, "f")).st_mode & 07777, 0640);
    EQO(ST(P(t, "l")).st_mode & S_IFMT, S_IFLNK);
}

static void c_chown(struct t *t)
{
    OK(write_file(P(t, "f"), "x", 1, 0644));
    struct stat before = ST(P(t, "f")), st;
    nap();
    OK(chown(P(t, "f"), 1000, 2000));
    st = ST(P(t, "f"));
    EQ(st.st_uid, 1000);
    EQ(st.st_gid, 2000);
    NEWER(st.st_ctim, before.st_ctim);
    OK(chown(P(t, "f"), (uid_t)-1, 3000));
    st = ST(P(t, "f"));
    EQ(st.st_uid, 1000);
    EQ(st.st_gid, 3000);
    OK(chown(P(t, "f"), 4000, (gid_t)-1));
    st = ST(P(t, "f"));
    EQ(st.st_uid, 4000);
    EQ(st.st_gid, 3000);
    /* chown clears set-user-ID, and set-group-ID when group-execute is set (Linux) */
    OK(chmod(P(t, "f"), 06755));
    OK(chown(P(t, "f"), 5000, 5000));
    EQO(ST(P(t, "f")).st_mode & 07777, 0755);
    OK(chmod(P(t, "f"), 02745)); /* sgid without group exec = mandatory-locking mark: kept */
    OK(chown(P(t, "f"), 5001, 5001));
    EQO(ST(P(t, "f")).st_mode & 07777, 02745);
    /* lchown on a symlink changes the link, not the target */
    OK(symlink("f", P(t, "l")));
    OK(lchown(P(t, "l"), 1234, 1234));
    st = ST(P(t, "l"));
    EQ(st.st_uid, 1234);
    EQ(ST(P(t, "f")).st_uid, 5001);
    OK(mkdir(P(t, "d"), 0755));
    OK(chown(P(t, "d"), 42, 43));
    st = ST(P(t, "d"));
    EQ(st.st_uid, 42);
    EQ(st.st_gid, 43);
    ERR(chown(P(t, "missing"), 1, 1), ENOENT);
}

static void c_utimens(struct t *t)
{
    OK(write_file(P(t, "f"), "x", 1, 0644));
    struct timespec ts[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
    struct stat before = ST(P(t, "f")), st;
    nap();
    OK(utimensat(AT_FDCWD, P(t, "f"), ts, 0));
    st = ST(P(t, "f"));
    EQ(st.st_atim.tv_sec, 1000000000);
    EQ(st.st_mtim.tv_sec, 1200000000);
    if (!t->no_ns_times) {
        EQ(st.st_atim.tv_nsec, 123456789);
        EQ(st.st_mtim.tv_nsec, 987654321);
    }
    NEWER(st.st_ctim, before.st_ctim);
    /* UTIME_OMIT leaves a time alone; UTIME_NOW sets it to now */
    struct timespec now0;
    clock_gettime(CLOCK_REALTIME, &now0);
    struct timespec ts2[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    OK(utimensat(AT_FDCWD, P(t, "f"), ts2, 0));
    st = ST(P(t, "f"));
    EQ(st.st_atim.tv_sec, 1000000000);
    CHECK(st.st_mtim.tv_sec >= now0.tv_sec - 1 && st.st_mtim.tv_sec <= now0.tv_sec + 2);
    struct timespec ts3[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    struct timespec m = st.st_mtim;
    OK(utimensat(AT_FDCWD, P(t, "f"), ts3, 0));
    st = ST(P(t, "f"));
    CHECK(st.st_atim.tv_sec >= now0.tv_sec - 1);
    SAME_TS(st.st_mtim, m);
    /* both OMIT: nothing changes, not even ctime (Linux) */
    struct timespec ts4[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    struct stat s1 = ST(P(t, "f"));
    nap();
    OK(utimensat(AT_FDCWD, P(t, "f"), ts4, 0));
    st = ST(P(t, "f"));
    SAME_TS(st.st_ctim, s1.st_ctim);
    SAME_TS(st.st_mtim, s1.st_mtim);
    /* NULL times = both now */
    OK(utimensat(AT_FDCWD, P(t, "f"), NULL, 0));
    st = ST(P(t, "f"));
    CHECK(st.st_atim.tv_sec >= now0.tv_sec - 1 && st.st_mtim.tv_sec >= now0.tv_sec - 1);
    /* futimens, times before 1970 and far in the future */
    int fd = open(P(t, "f"), O_RDONLY);
    struct timespec ts5[2] = {{-100, 5}, {4102444800LL, 0}};
    OK(futimens(fd, ts5));
    close(fd);
    st = ST(P(t, "f"));
    EQ(st.st_atim.tv_sec, -100);
    EQ(st.st_mtim.tv_sec, 4102444800LL);
    /* AT_SYMLINK_NOFOLLOW works on the link itself */
    OK(symlink("f", P(t, "l")));
    struct timespec ts6[2] = {{1111, 0}, {2222, 0}};
    OK(utimensat(AT_FDCWD, P(t, "l"), ts6, AT_SYMLINK_NOFOLLOW));
    EQ(ST(P(t, "l")).st_mtim.tv_sec, 2222);
    EQ(ST(P(t, "f")).st_mtim.tv_sec, 4102444800LL);
    ERR(utimensat(AT_FDCWD, P(t, "missing"), NULL, 0), ENOENT);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    ERR(utimensat(AT_FDCWD, P(t, "f"), bad, 0), EINVAL);
}

/* ======================================================================================== */
/* mknod, mkdir, rmdir, unlink                                                              */
/* ======================================================================================== */
static void c_mknod(struct t *t)
{
    struct stat st;
    OK(mknod(P(t, "reg"), S_IFREG | 0640, 0));
    st = ST(P(t, "reg"));
    CHECK(S_ISREG(st.st_mode));
    EQO(st.st_mode & 07777, 0640);
    EQ(st.st_size, 0);
    OK(mkfifo(P(t, "fifo"), 0644));
    st = ST(P(t, "fifo"));
    CHECK(S_ISFIFO(st.st_mode));
    EQO(st.st_mode & 07777, 0644);
    OK(mknod(P(t, "sock"), S_IFSOCK | 0600, 0));
    CHECK(S_ISSOCK(ST(P(t, "sock")).st_mode));
    OK(mknod(P(t, "chr"), S_IFCHR | 0666, makedev(1, 3)));
    st = ST(P(t, "chr"));
    CHECK(S_ISCHR(st.st_mode));
    EQ(major(st.st_rdev), 1);
    EQ(minor(st.st_rdev), 3);
    OK(mknod(P(t, "blk"), S_IFBLK | 0660, makedev(259, 65537)));
    st = ST(P(t, "blk"));
    CHECK(S_ISBLK(st.st_mode));
    EQ(major(st.st_rdev), 259);
    EQ(minor(st.st_rdev), 65537);
    ERR(mknod(P(t, "reg"), S_IFREG | 0644, 0), EEXIST);
    ERR(mknod(P(t, "nodir/x"), S_IFIFO | 0644, 0), ENOENT);
    /* a fifo on the filesystem carries data between two descriptors */
    int rfd = open(P(t, "fifo"), O_RDONLY | O_NONBLOCK);
    OK(rfd);
    int wfd = open(P(t, "fifo"), O_WRONLY | O_NONBLOCK);
    OK(wfd);
    EQ(write(wfd, "pipe", 4), 4);
    char b[8] = {0};
    EQ(read(rfd, b, sizeof b), 4);
    CHECK(memcmp(b, "pipe", 4) == 0);
    close(rfd); close(wfd);
    /* binding a unix socket creates a socket node that connect() reaches */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *sp = P(t, "bound");
    if (strlen(sp) < sizeof sa.sun_path) {
        strcpy(sa.sun_path, sp);
        OK(bind(s, (struct sockaddr *)&sa, sizeof sa));
        OK(listen(s, 1));
        CHECK(S_ISSOCK(ST(sp).st_mode));
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        OK(connect(c, (struct sockaddr *)&sa, sizeof sa));
        close(c);
    }
    close(s);
    OK(unlink(P(t, "chr")));
    OK(unlink(P(t, "fifo")));
    OK(unlink(P(t, "sock")));
}

static void c_mkdir_rmdir(struct t *t)
{
    struct stat top0 = ST(t->dir);
    struct stat pst = top0, st;
    nap();
    OK(mkdir(P(t, "d"), 0750));
    st = ST(P(t, "d"));
    CHECK(S_ISDIR(st.st_mode));
    EQO(st.st_mode & 07777, 0750);
    EQ(st.st_nlink, 2);
    struct stat pst2 = ST(t->dir);
    EQ(pst2.st_nlink, pst.st_nlink + 1); /* the new ".." (Linux convention) */
    NEWER(pst2.st_mtim, pst.st_mtim);
    NEWER(pst2.st_ctim, pst.st_ctim);
    /* "." and ".." */
    struct stat dot = ST(P(t, "d/.")), dotdot = ST(P(t, "d/.."));
    EQ(dot.st_ino, st.st_ino);
    EQ(dotdot.st_ino, pst.st_ino);
    ERR(mkdir(P(t, "d"), 0755), EEXIST);
    ERR(mkdir(P(t, "nodir/d"), 0755), ENOENT);
    OK(write_file(P(t, "f"), "", 0, 0644));
    ERR(mkdir(P(t, "f"), 0755), EEXIST);
    OK(mkdir(P(t, "d/sub"), 0755));
    EQ(ST(P(t, "d")).st_nlink, 3);
    OK(write_file(P(t, "d/sub/file"), "x", 1, 0644));
    ERR2(rmdir(P(t, "d")), ENOTEMPTY, EEXIST);
    ERR2(rmdir(P(t, "d/sub")), ENOTEMPTY, EEXIST);
    ERR(rmdir(P(t, "f")), ENOTDIR);
    ERR(rmdir(P(t, "missing")), ENOENT);
    ERR(rmdir(P(t, "d/.")), EINVAL);
    ERR(unlink(P(t, "d")), EISDIR);
    OK(unlink(P(t, "d/sub/file")));
    pst = ST(P(t, "d"));
    nap();
    OK(rmdir(P(t, "d/sub")));
    pst2 = ST(P(t, "d"));
    EQ(pst2.st_nlink, 2);
    NEWER(pst2.st_mtim, pst.st_mtim);
    ERR(stat(P(t, "d/sub"), &st), ENOENT);
    /* a removed directory that is still open reads as empty and refuses new entries */
    OK(mkdir(P(t, "gone"), 0755));
    int fd = open(P(t, "gone"), O_RDONLY | O_DIRECTORY);
    OK(rmdir(P(t, "gone")));
    ERR(openat(fd, "x", O_CREAT | O_WRONLY, 0644), ENOENT);
    close(fd);
    OK(rmdir(P(t, "d")));
    EQ(ST(t->dir).st_nlink, top0.st_nlink);
    /* deep nesting */
    char rel[PATH_MAX] = "deep";
    OK(mkdir(P(t, "%s", rel), 0755));
    for (int i = 0; i < 40; i++) {
        strcat(rel, "/n");
        OK(mkdir(P(t, "%s", rel), 0755));
    }
    strcat(rel, "/leaf");
    OK(write_file(P(t, "%s", rel), "deep", 4, 0644));
    CHECK(file_has(P(t, "%s", rel), "deep"));
}

static void c_unlink(struct t *t)
{
    OK(write_file(P(t, "f"), "data", 4, 0644));
    OK(link(P(t, "f"), P(t, "g")));
    struct stat pst = ST(t->dir), fst = ST(P(t, "f")), st;
    nap();
    OK(unlink(P(t, "f")));
    ERR(stat(P(t, "f"), &st), ENOENT);
    st = ST(P(t, "g"));
    EQ(st.st_nlink, 1);
    NEWER(st.st_ctim, fst.st_ctim);
    st = ST(t->dir);
    NEWER(st.st_mtim, pst.st_mtim);
    NEWER(st.st_ctim, pst.st_ctim);
    CHECK(file_has(P(t, "g"), "data"));
    ERR(unlink(P(t, "f")), ENOENT);
    ERR(unlink(P(t, "g/x")), ENOTDIR);
    OK(unlink(P(t, "g")));
    /* name can be reused at once, as a fresh file */
    OK(write_file(P(t, "g"), "new", 3, 0644));
    CHECK(file_has(P(t, "g"), "new"));
    /* unlinking a symlink removes the link only */
    OK(symlink("g", P(t, "l")));
    OK(unlink(P(t, "l")));
    CHECK(file_has(P(t, "g"), "new"));
    /* many files, all removed; directory becomes empty and removable */
    OK(mkdir(P(t, "many"), 0755));
    for (int i = 0; i < 300; i++)
        OK(write_file(P(t, "many/f%d", i), "x", 1, 0644));
    for (int i = 0; i < 300; i++)
        OK(unlink(P(t, "many/f%d", i)));
    OK(rmdir(P(t, "many")));
}

/* ======================================================================================== */
/* symlink / readlink, link                                                                 */
/* ======================================================================================== */
static void c_symlink(struct t *t)
{
    char buf[PATH_MAX + 1];
    OK(write_file(P(t, "target"), "T", 1, 0644));
    OK(symlink("target", P(t, "l")));
    struct stat st = ST(P(t, "l"));
    CHECK(S_ISLNK(st.st_mode));
    EQ(st.st_size, 6);
    EQ(readlink(P(t, "l"), buf, sizeof buf), 6);
    CHECK(memcmp(buf, "target", 6) == 0);
    /* short buffer truncates silently */
    EQ(readlink(P(t, "l"), buf, 3), 3);
    CHECK(memcmp(buf, "tar", 3) == 0);
    CHECK(file_has(P(t, "l"), "T"));
    struct stat tst;
    OK(stat(P(t, "l"), &tst));
    EQ(tst.st_ino, ST(P(t, "target")).st_ino);
    /* dangling, absolute, long targets */
    OK(symlink("nowhere/at/all", P(t, "dangle")));
    ERR(stat(P(t, "dangle"), &tst), ENOENT);
    EQ(readlink(P(t, "dangle"), buf, sizeof buf), 14);
    OK(symlink("/etc/hostname", P(t, "abs")));
    EQ(readlink(P(t, "abs"), buf, sizeof buf), 13);
    char longt[4096];
    for (int i = 0; i < 4095; i++) longt[i] = (i % 64 == 63) ? '/' : (char)('a' + i % 26);
    longt[4095] = 0;
    OK(symlink(longt, P(t, "long")));
    EQ(readlink(P(t, "long"), buf, sizeof buf), 4095);
    CHECK(memcmp(buf, longt, 4095) == 0);
    EQ(ST(P(t, "long")).st_size, 4095);
    char toolong[4097];
    memset(toolong, 'x', 4096); toolong[4096] = 0;
    ERR(symlink(toolong, P(t, "toolong")), ENAMETOOLONG);
    /* errors */
    ERR(symlink("x", P(t, "l")), EEXIST);
    ERR(readlink(P(t, "target"), buf, sizeof buf), EINVAL);
    ERR(readlink(P(t, "missing"), buf, sizeof buf), ENOENT);
    ERR(open(P(t, "l"), O_RDONLY | O_NOFOLLOW), ELOOP);
    OK(symlink("loop2", P(t, "loop1")));
    OK(symlink("loop1", P(t, "loop2")));
    ERR(stat(P(t, "loop1"), &tst), ELOOP);
    /* a symlink to a directory is followed in paths */
    OK(mkdir(P(t, "d"), 0755));
    OK(write_file(P(t, "d/in"), "I", 1, 0644));
    OK(symlink("d", P(t, "dl")));
    CHECK(file_has(P(t, "dl/in"), "I"));
    ERR(rmdir(P(t, "dl")), ENOTDIR);
    /* the symlink's owner is the creator; its mode is 0777 */
    EQO(st.st_mode & 07777, 0777);
}

static void c_link(struct t *t)
{
    OK(write_file(P(t, "f"), "one", 3, 0644));
    OK(mkdir(P(t, "d"), 0755));
    struct stat fst = ST(P(t, "f")), dst = ST(P(t, "d")), st;
    nap();
    OK(link(P(t, "f"), P(t, "d/g")));
    st = ST(P(t, "f"));
    EQ(st.st_nlink, 2);
    NEWER(st.st_ctim, fst.st_ctim);
    struct stat gst = ST(P(t, "d/g"));
    EQ(gst.st_ino, fst.st_ino);
    EQ(gst.st_nlink, 2);
    struct stat dst2 = ST(P(t, "d"));
    NEWER(dst2.st_mtim, dst.st_mtim);
    EQ(dst2.st_nlink, 2); /* hard links to files do not count in the dir */
    OK(link(P(t, "f"), P(t, "h")));
    EQ(ST(P(t, "d/g")).st_nlink, 3);
    /* a write through one name is seen through the others */
    int fd = open(P(t, "d/g"), O_WRONLY | O_APPEND);
    EQ(write(fd, "two", 3), 3);
    close(fd);
    CHECK(file_has(P(t, "h"), "onetwo"));
    CHECK(file_has(P(t, "f"), "onetwo"));
    /* metadata is shared */
    OK(chmod(P(t, "h"), 0600));
    EQO(ST(P(t, "f")).st_mode & 07777, 0600);
    ERR(link(P(t, "f"), P(t, "h")), EEXIST);
    ERR(link(P(t, "missing"), P(t, "x")), ENOENT);
    ERR(link(P(t, "d"), P(t, "dlink")), EPERM);
    ERR(link(P(t, "f"), P(t, "nodir/x")), ENOENT);
    OK(unlink(P(t, "f")));
    EQ(ST(P(t, "h")).st_nlink, 2);
    OK(unlink(P(t, "d/g")));
    EQ(ST(P(t, "h")).st_nlink, 1);
    CHECK(file_has(P(t, "h"), "onetwo"));
    /* a link to a symlink (linkat without FOLLOW) links the symlink itself */
    OK(symlink("h", P(t, "sl")));
    OK(linkat(AT_FDCWD, P(t, "sl"), AT_FDCWD, P(t, "sl2"), 0));
    CHECK(S_ISLNK(ST(P(t, "sl2")).st_mode));
    EQ(ST(P(t, "sl")).st_nlink, 2);
    /* many links to one file */
    for (int i = 0; i < 100; i++)
        OK(link(P(t, "h"), P(t, "h%d", i)));
    EQ(ST(P(t, "h")).st_nlink, 101);
    for (int i = 0; i < 100; i++)
        OK(unlink(P(t, "h%d", i)));
    EQ(ST(P(t, "h")).st_nlink, 1);
    if (t->outside) {
        struct stat o;
        if (stat(t->outside, &o) == 0 && o.st_dev != ST(t->dir).st_dev) {
            char ob[PATH_MAX];
            snprintf(ob, sizeof ob, "%s/xdev_link", t->outside);
            ERR(link(P(t, "h"), ob), EXDEV);
        }
    }
}

/* ======================================================================================== */
/* rename                                                                                   */
/* ======================================================================================== */
struct rn_race { const char *path; volatile int stop; long misses, opens; };

static void *rn_reader(void *arg)
{
    struct rn_race *r = arg;
    while (!r->stop) {
        int fd = open(r->path, O_RDONLY);
        if (fd < 0) { if (errno == ENOENT) r->misses++; }
        else { r->opens++; close(fd); }
    }
    return NULL;
}

static void c_rename(struct t *t)
{
    struct stat st, a, b;
    /* file over an existing file: the target's old inode goes away, content is the source */
    OK(write_file(P(t, "src"), "SRC", 3, 0644));
    OK(write_file(P(t, "dst"), "DST", 3, 0644));
    a = ST(P(t, "src"));
    int keep = open(P(t, "dst"), O_RDONLY);
    struct stat pst = ST(t->dir);
    nap();
    OK(rename(P(t, "src"), P(t, "dst")));
    ERR(stat(P(t, "src"), &st), ENOENT);
    b = ST(P(t, "dst"));
    EQ(b.st_ino, a.st_ino);
    CHECK(file_has(P(t, "dst"), "SRC"));
    NEWER(b.st_ctim, a.st_ctim); /* Linux file systems update ctime on rename */
    st = ST(t->dir);
    NEWER(st.st_mtim, pst.st_mtim);
    NEWER(st.st_ctim, pst.st_ctim);
    /* the replaced file stays readable through its open descriptor */
    char buf[16] = {0};
    EQ(pread(keep, buf, sizeof buf, 0), 3);
    CHECK(memcmp(buf, "DST", 3) == 0);
    OK(fstat(keep, &st));
    EQ(st.st_nlink, 0);
    close(keep);
    /* rename to itself and between two links of one inode: no-op */
    OK(rename(P(t, "dst"), P(t, "dst")));
    OK(link(P(t, "dst"), P(t, "dst2")));
    OK(rename(P(t, "dst"), P(t, "dst2")));
    OK(stat(P(t, "dst"), &st));
    OK(stat(P(t, "dst2"), &st));
    EQ(st.st_nlink, 2);
    /* across directories */
    OK(mkdir(P(t, "d1"), 0755));
    OK(mkdir(P(t, "d2"), 0755));
    OK(write_file(P(t, "d1/f"), "F", 1, 0644));
    a = ST(P(t, "d1/f"));
    struct stat d1 = ST(P(t, "d1")), d2 = ST(P(t, "d2"));
    nap();
    OK(rename(P(t, "d1/f"), P(t, "d2/g")));
    EQ(ST(P(t, "d2/g")).st_ino, a.st_ino);
    ERR(stat(P(t, "d1/f"), &st), ENOENT);
    NEWER(ST(P(t, "d1")).st_mtim, d1.st_mtim);
    NEWER(ST(P(t, "d2")).st_mtim, d2.st_mtim);
    /* directory across directories: ".." follows, link counts move */
    OK(mkdir(P(t, "d1/sub"), 0755));
    OK(write_file(P(t, "d1/sub/x"), "X", 1, 0644));
    EQ(ST(P(t, "d1")).st_nlink, 3);
    OK(rename(P(t, "d1/sub"), P(t, "d2/sub")));
    EQ(ST(P(t, "d1")).st_nlink, 2);
    EQ(ST(P(t, "d2")).st_nlink, 3);
    EQ(ST(P(t, "d2/sub/..")).st_ino, ST(P(t, "d2")).st_ino);
    CHECK(file_has(P(t, "d2/sub/x"), "X"));
    /* directory over an empty directory */
    OK(mkdir(P(t, "empty"), 0755));
    a = ST(P(t, "d2/sub"));
    OK(rename(P(t, "d2/sub"), P(t, "empty")));
    EQ(ST(P(t, "empty")).st_ino, a.st_ino);
    CHECK(file_has(P(t, "empty/x"), "X"));
    EQ(ST(P(t, "d2")).st_nlink, 2);
    /* directory over a non-empty directory, file over directory, directory over file */
    OK(mkdir(P(t, "full"), 0755));
    OK(write_file(P(t, "full/y"), "Y", 1, 0644));
    ERR2(rename(P(t, "empty"), P(t, "full")), ENOTEMPTY, EEXIST);
    ERR(rename(P(t, "dst"), P(t, "full")), EISDIR);
    ERR(rename(P(t, "full"), P(t, "dst")), ENOTDIR);
    /* into its own subtree */
    OK(mkdir(P(t, "full/inner"), 0755));
    ERR(rename(P(t, "full"), P(t, "full/inner/moved")), EINVAL);
    ERR(rename(P(t, "full"), P(t, "full/moved")), EINVAL);
    ERR(rename(P(t, "missing"), P(t, "x")), ENOENT);
    ERR(rename(P(t, "dst"), P(t, "nodir/x")), ENOENT);
    ERR2(rename(P(t, "d1/."), P(t, "x")), EBUSY, EINVAL); /* "." is refused */
    /* RENAME_NOREPLACE */
    OK(write_file(P(t, "n1"), "N1", 2, 0644));
    OK(write_file(P(t, "n2"), "N2", 2, 0644));
    ERR(renameat2(AT_FDCWD, P(t, "n1"), AT_FDCWD, P(t, "n2"), RENAME_NOREPLACE), EEXIST);
    CHECK(file_has(P(t, "n1"), "N1"));
    CHECK(file_has(P(t, "n2"), "N2"));
    OK(renameat2(AT_FDCWD, P(t, "n1"), AT_FDCWD, P(t, "n3"), RENAME_NOREPLACE));
    CHECK(file_has(P(t, "n3"), "N1"));
    /* RENAME_EXCHANGE: two files, then a file and a directory in different parents */
    a = ST(P(t, "n2")); b = ST(P(t, "n3"));
    OK(renameat2(AT_FDCWD, P(t, "n2"), AT_FDCWD, P(t, "n3"), RENAME_EXCHANGE));
    EQ(ST(P(t, "n2")).st_ino, b.st_ino);
    EQ(ST(P(t, "n3")).st_ino, a.st_ino);
    CHECK(file_has(P(t, "n2"), "N1"));
    CHECK(file_has(P(t, "n3"), "N2"));
    OK(mkdir(P(t, "xa"), 0755));
    OK(mkdir(P(t, "xb"), 0755));
    OK(mkdir(P(t, "xa/dir"), 0755));
    OK(write_file(P(t, "xa/dir/inside"), "IN", 2, 0644));
    OK(write_file(P(t, "xb/file"), "FI", 2, 0644));
    OK(renameat2(AT_FDCWD, P(t, "xa/dir"), AT_FDCWD, P(t, "xb/file"), RENAME_EXCHANGE));
    CHECK(S_ISDIR(ST(P(t, "xb/file")).st_mode));
    CHECK(S_ISREG(ST(P(t, "xa/dir")).st_mode));
    CHECK(file_has(P(t, "xb/file/inside"), "IN"));
    CHECK(file_has(P(t, "xa/dir"), "FI"));
    EQ(ST(P(t, "xb/file/..")).st_ino, ST(P(t, "xb")).st_ino);
    EQ(ST(P(t, "xa")).st_nlink, 2);
    EQ(ST(P(t, "xb")).st_nlink, 3);
    ERR(renameat2(AT_FDCWD, P(t, "n2"), AT_FDCWD, P(t, "absent"), RENAME_EXCHANGE), ENOENT);
    ERR(renameat2(AT_FDCWD, P(t, "n2"), AT_FDCWD, P(t, "n3"), RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL);
    /* RENAME_WHITEOUT (needs CAP_MKNOD): the source name becomes a whiteout, a character
     * device 0/0 with mode 0, in the same step; a replaced target goes as in rename */
    if (geteuid() == 0) {
        OK(write_file(P(t, "wo1"), "W1", 2, 0644));
        OK(write_file(P(t, "wo2"), "W2", 2, 0644));
        a = ST(P(t, "wo1"));
        OK(renameat2(AT_FDCWD, P(t, "wo1"), AT_FDCWD, P(t, "wo2"), RENAME_WHITEOUT));
        EQ(ST(P(t, "wo2")).st_ino, a.st_ino);
        CHECK(file_has(P(t, "wo2"), "W1"));
        b = ST(P(t, "wo1"));
        CHECK(S_ISCHR(b.st_mode));
        EQ(b.st_rdev, 0);
        EQ(b.st_mode & 07777, 0);
        EQ(b.st_nlink, 1);
        CHECK(b.st_ino != a.st_ino);
        OK(mkdir(P(t, "wod"), 0755));
        OK(renameat2(AT_FDCWD, P(t, "wod"), AT_FDCWD, P(t, "xa/wod"), RENAME_WHITEOUT));
        CHECK(S_ISDIR(ST(P(t, "xa/wod")).st_mode));
        CHECK(S_ISCHR(ST(P(t, "wod")).st_mode));
        EQ(ST(P(t, "xa")).st_nlink, 3);
        ERR(renameat2(AT_FDCWD, P(t, "wo2"), AT_FDCWD, P(t, "n3"), RENAME_WHITEOUT | RENAME_EXCHANGE), EINVAL);
        ERR(renameat2(AT_FDCWD, P(t, "wo2"), AT_FDCWD, P(t, "n3"), RENAME_WHITEOUT | RENAME_NOREPLACE), EEXIST);
        OK(unlink(P(t, "wo1")));
        OK(unlink(P(t, "wod")));
        OK(rmdir(P(t, "xa/wod")));
    }
    /* EXDEV to another filesystem */
    if (t->outside) {
        struct stat o;
        if (stat(t->outside, &o) == 0 && o.st_dev != ST(t->dir).st_dev) {
            char ob[PATH_MAX];
            snprintf(ob, sizeof ob, "%s/xdev_rename", t->outside);
            ERR(rename(P(t, "n2"), ob), EXDEV);
        }
    }
    /* atomic replace: a reader opening the name never sees it missing */
    OK(write_file(P(t, "live"), "v0", 2, 0644));
    struct rn_race race = {.path = P(t, "live")};
    char live[PATH_MAX];
    snprintf(live, sizeof live, "%s", race.path);
    race.path = live;
    pthread_t th;
    pthread_create(&th, NULL, rn_reader, &race);
    for (int i = 0; i < 1500; i++) {
        char v[16];
        int n = snprintf(v, sizeof v, "v%d", i);
        if (write_file(P(t, "live.tmp"), v, (size_t)n, 0644) < 0 ||
            rename(P(t, "live.tmp"), live) < 0) {
            report(t, __FILE__, __LINE__, "replace %d: %s", i, strerror(errno));
            break;
        }
    }
    race.stop = 1;
    pthread_join(th, NULL);
    EQ(race.misses, 0);
    CHECK(race.opens > 0);
    CHECK(file_has(live, "v1499"));
}

/* ======================================================================================== */
/* readdir                                                                                  */
/* ======================================================================================== */
struct seen { char **names; int *count; int n, cap; };

static int seen_find(struct seen *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0) return i;
    return -1;
}

static void seen_add(struct seen *s, const char *name)
{
    int i = seen_find(s, name);
    if (i >= 0) { s->count[i]++; return; }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->names = realloc(s->names, sizeof *s->names * (size_t)s->cap);
        s->count = realloc(s->count, sizeof *s->count * (size_t)s->cap);
    }
    s->names[s->n] = strdup(name);
    s->count[s->n++] = 1;
}

static void seen_free(struct seen *s)
{
    for (int i = 0; i < s->n; i++) free(s->names[i]);
    free(s->names); free(s->count);
    memset(s, 0, sizeof *s);
}

static void c_readdir(struct t *t)
{
    enum { N = 1000 };
    OK(mkdir(P(t, "d"), 0755));
    for (int i = 0; i < N; i++)
        OK(write_file(P(t, "d/file_%04d", i), "", 0, 0644));
    OK(mkdir(P(t, "d/subdir"), 0755));
    OK(symlink("x", P(t, "d/link")));
    OK(mkfifo(P(t, "d/fifo"), 0644));
    /* plain listing: everything exactly once, with the right d_type and d_ino */
    DIR *d = opendir(P(t, "d"));
    struct seen s = {0};
    struct dirent *de;
    int bad_type = 0, bad_ino = 0;
    while (d && (de = readdir(d))) {
        seen_add(&s, de->d_name);
        unsigned char want = DT_REG;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, "subdir")) want = DT_DIR;
        else if (!strcmp(de->d_name, "link")) want = DT_LNK;
        else if (!strcmp(de->d_name, "fifo")) want = DT_FIFO;
        if (de->d_type != DT_UNKNOWN && de->d_type != want) bad_type++;
        if (strcmp(de->d_name, "..") != 0) {
            struct stat st;
            if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino != de->d_ino) bad_ino++;
        }
    }
    if (d) closedir(d);
    EQ(s.n, N + 5);
    int dups = 0;
    for (int i = 0; i < s.n; i++) if (s.count[i] != 1) dups++;
    EQ(dups, 0);
    CHECK(seen_find(&s, ".") >= 0 && seen_find(&s, "..") >= 0);
    EQ(bad_type, 0);
    EQ(bad_ino, 0);
    seen_free(&s);

    /* telldir/seekdir: going back to a remembered position replays the same entries */
    d = opendir(P(t, "d"));
    for (int i = 0; i < 300 && d; i++) readdir(d);
    long pos = d ? telldir(d) : 0;
    char first[64][NAME_MAX + 1];
    int nfirst = 0;
    while (d && nfirst < 64 && (de = readdir(d))) snprintf(first[nfirst++], NAME_MAX + 1, "%s", de->d_name);
    if (d) seekdir(d, pos);
    int same = 0;
    for (int i = 0; i < nfirst && d && (de = readdir(d)); i++)
        if (!strcmp(de->d_name, first[i])) same++;
    EQ(same, nfirst);
    if (d) { rewinddir(d); int n = 0; while (readdir(d)) n++; EQ(n, N + 5); closedir(d); }

    /* stable offsets while entries come and go: every entry that exists for the whole scan
     * is returned exactly once, nothing is returned twice, and seekdir to a telldir value
     * taken before the changes still resumes correctly. Churn files: file_%04d with i%4==0. */
    d = opendir(P(t, "d"));
    struct seen s2 = {0};
    int step = 0, removed = 0, added = 0;
    while (d && (de = readdir(d))) {
        seen_add(&s2, de->d_name);
        if (++step % 37 == 0) {
            long p = telldir(d);
            for (int k = 0; k < 6 && removed < N / 4; k++, removed++)
                OK(unlink(P(t, "d/file_%04d", 4 * ((removed * 7919) % (N / 4)))));
            for (int k = 0; k < 6; k++, added++)
                OK(write_file(P(t, "d/new_%05d", added), "", 0, 0644));
            seekdir(d, p);
        }
    }
    if (d) closedir(d);
    int missing = 0, twice = 0;
    for (int i = 0; i < N; i++) {
        if (i % 4 == 0) continue;
        char nm[32];
        snprintf(nm, sizeof nm, "file_%04d", i);
        int k = seen_find(&s2, nm);
        if (k < 0) { if (missing++ < 5) printf("  readdir under churn missed %s\n", nm); }
    }
    for (int i = 0; i < s2.n; i++) if (s2.count[i] > 1) { if (twice++ < 5) printf("  readdir under churn returned %s %d times\n", s2.names[i], s2.count[i]); }
    EQ(missing, 0);
    EQ(twice, 0);
    seen_free(&s2);

    /* raw getdents64 with a tiny buffer while names are removed and added in between */
    int fd = open(P(t, "d"), O_RDONLY | O_DIRECTORY);
    char gbuf[512];
    struct seen s3 = {0};
    int calls = 0;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, gbuf, sizeof gbuf);
        if (n < 0) { report(t, __FILE__, __LINE__, "getdents64: %s", strerror(errno)); break; }
        if (n == 0) break;
        for (long off = 0; off < n;) {
            struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *g = (void *)(gbuf + off);
            seen_add(&s3, g->name);
            off += g->reclen;
        }
        if (++calls % 3 == 0) {
            OK(write_file(P(t, "d/late_%05d", calls), "", 0, 0644));
            char nm[32];
            snprintf(nm, sizeof nm, "new_%05d", calls);
            unlink(P(t, "d/%s", nm));
        }
    }
    close(fd);
    missing = twice = 0;
    for (int i = 1; i < N; i++) {
        if (i % 4 == 0) continue;
        char nm[32];
        snprintf(nm, sizeof nm, "file_%04d", i);
        if (seen_find(&s3, nm) < 0) missing++;
    }
    for (int i = 0; i < s3.n; i++) if (s3.count[i] > 1) twice++;
    EQ(missing, 0);
    EQ(twice, 0);
    seen_free(&s3);

    /* an empty directory lists exactly "." and ".." */
    OK(mkdir(P(t, "e"), 0755));
    d = opendir(P(t, "e"));
    int n = 0;
    while (d && (de = readdir(d))) n++;
    if (d) closedir(d);
    EQ(n, 2);
}

/* ======================================================================================== */
/* statfs, fsync, access                                                                    */
/* ======================================================================================== */
static void c_statfs(struct t *t)
{
    struct statvfs sv;
    OK(statvfs(t->dir, &sv));
    CHECK(sv.f_bsize > 0);
    CHECK(sv.f_frsize > 0);
    CHECK(sv.f_blocks > 0);
    CHECK(sv.f_bfree <= sv.f_blocks);
    CHECK(sv.f_bavail <= sv.f_bfree);
    CHECK(sv.f_ffree <= sv.f_files);
    EQ(sv.f_namemax, 255);
    int fd = open(P(t, "f"), O_CREAT | O_WRONLY, 0644);
    struct statvfs f2;
    OK(fstatvfs(fd, &f2));
    EQ(f2.f_bsize, sv.f_bsize);
    close(fd);
}

static void c_fsync(struct t *t)
{
    int fd = open(P(t, "f"), O_CREAT | O_RDWR, 0644);
    OK(fd);
    EQ(write(fd, "sync me", 7), 7);
    OK(fsync(fd));
    OK(fdatasync(fd));
    EQ(pwrite(fd, "S", 1, 0), 1);
    OK(fdatasync(fd));
    OK(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER));
    close(fd);
    CHECK(file_has(P(t, "f"), "Sync me"));
    int dfd = open(t->dir, O_RDONLY | O_DIRECTORY);
    OK(fsync(dfd));
    OK(fdatasync(dfd));
    OK(syncfs(dfd));
    close(dfd);
    fd = open(P(t, "f"), O_RDONLY);
    OK(fsync(fd)); /* fsync on a read-only descriptor is allowed */
    close(fd);
}

static void c_access(struct t *t)
{
    OK(write_file(P(t, "f"), "x", 1, 0644));
    OK(access(P(t, "f"), F_OK));
    OK(access(P(t, "f"), R_OK | W_OK));
    ERR(access(P(t, "f"), X_OK), EACCES); /* root needs an x bit somewhere */
    OK(chmod(P(t, "f"), 0001));
    OK(access(P(t, "f"), X_OK));
    OK(access(P(t, "f"), R_OK | W_OK)); /* root ignores r/w bits */
    ERR(access(P(t, "missing"), F_OK), ENOENT);
    OK(mkdir(P(t, "d"), 0));
    OK(access(P(t, "d"), R_OK | W_OK | X_OK)); /* dirs: root always may search */
}

/* ======================================================================================== */
/* xattrs                                                                                   */
/* ======================================================================================== */
static int list_has(const char *list, ssize_t n, const char *name)
{
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1)
        if (strcmp(list + i, name) == 0) return 1;
    return 0;
}

static void c_xattr(struct t *t)
{
    const char *f = P(t, "f");
    char fp[PATH_MAX];
    snprintf(fp, sizeof fp, "%s", f);
    OK(write_file(fp, "x", 1, 0644));
    char buf[70000];
    ERR(getxattr(fp, "user.none", buf, sizeof buf), ENODATA);
    EQ(listxattr(fp, buf, sizeof buf) >= 0, 1);
    struct stat before = ST(fp);
    nap();
    OK(setxattr(fp, "user.a", "alpha", 5, 0));
    NEWER(ST(fp).st_ctim, before.st_ctim);
    EQ(getxattr(fp, "user.a", NULL, 0), 5); /* size probe */
    EQ(getxattr(fp, "user.a", buf, sizeof buf), 5);
    CHECK(memcmp(buf, "alpha", 5) == 0);
    ERR(getxattr(fp, "user.a", buf, 2), ERANGE);
    ERR(setxattr(fp, "user.a", "x", 1, XATTR_CREATE), EEXIST);
    ERR(setxattr(fp, "user.b", "x", 1, XATTR_REPLACE), ENODATA);
    OK(setxattr(fp, "user.a", "AL", 2, XATTR_REPLACE));
    EQ(getxattr(fp, "user.a", buf, sizeof buf), 2);
    CHECK(memcmp(buf, "AL", 2) == 0);
    OK(setxattr(fp, "user.b", "", 0, XATTR_CREATE)); /* empty value */
    EQ(getxattr(fp, "user.b", buf, sizeof buf), 0);
    unsigned char bin[4000];
    fill(bin, sizeof bin, 5);
    bin[0] = 0; bin[100] = 0;
    OK(setxattr(fp, "user.bin", bin, sizeof bin, 0));
    EQ(getxattr(fp, "user.bin", buf, sizeof buf), (ssize_t)sizeof bin);
    CHECK(memcmp(buf, bin, sizeof bin) == 0);
    /* the largest value Linux passes (64 KiB), on its own file */
    static unsigned char big[65536];
    fill(big, sizeof big, 6);
    OK(write_file(P(t, "big"), "x", 1, 0644));
    errno = 0;
    int r = setxattr(P(t, "big"), "user.big", big, sizeof big, 0);
    if (r == 0) {
        EQ(getxattr(P(t, "big"), "user.big", buf, sizeof buf), 65536);
        CHECK(memcmp(buf, big, sizeof big) == 0);
    } else {
        CHECK(errno == E2BIG || errno == ENOSPC); /* a stated limit, not a crash */
    }
    /* listxattr: size probe, ERANGE, contents */
    ssize_t need = listxattr(fp, NULL, 0);
    CHECK(need >= (ssize_t)(sizeof "user.a" + sizeof "user.b" + sizeof "user.bin"));
    ERR(listxattr(fp, buf, 3), ERANGE);
    ssize_t n = listxattr(fp, buf, sizeof buf);
    EQ(n, need);
    CHECK(list_has(buf, n, "user.a"));
    CHECK(list_has(buf, n, "user.b"));
    CHECK(list_has(buf, n, "user.bin"));
    /* removexattr */
    OK(removexattr(fp, "user.a"));
    ERR(getxattr(fp, "user.a", buf, sizeof buf), ENODATA);
    ERR(removexattr(fp, "user.a"), ENODATA);
    n = listxattr(fp, buf, sizeof buf);
    CHECK(n >= 0 && !list_has(buf, n, "user.a"));
    /* many attributes (on their own file: ext4 keeps all of one inode's in one block) */
    snprintf(fp, sizeof fp, "%s", P(t, "many"));
    OK(write_file(fp, "x", 1, 0644));
    for (int i = 0; i < 100; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "user.many%03d", i);
        OK(setxattr(fp, nm, nm, strlen(nm), 0));
    }
    n = listxattr(fp, buf, sizeof buf);
    int cnt = 0;
    for (int i = 0; i < 100; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "user.many%03d", i);
        cnt += list_has(buf, n, nm);
    }
    EQ(cnt, 100);
    snprintf(fp, sizeof fp, "%s", P(t, "f"));
    /* name limits: 255 bytes ok, 256 is ERANGE */
    char nm[300] = "user.";
    memset(nm + 5, 'n', 250); nm[255] = 0;
    OK(write_file(P(t, "longname"), "x", 1, 0644));
    OK(setxattr(P(t, "longname"), nm, "v", 1, 0));
    EQ(getxattr(P(t, "longname"), nm, buf, sizeof buf), 1);
    memset(nm + 5, 'n', 251); nm[256] = 0;
    ERR(setxattr(P(t, "longname"), nm, "v", 1, 0), ERANGE);
    /* fd variants, directories, trusted namespace (root) */
    int fd = open(fp, O_RDONLY);
    OK(fsetxattr(fd, "user.fd", "F", 1, 0));
    EQ(fgetxattr(fd, "user.fd", buf, sizeof buf), 1);
    OK(fremovexattr(fd, "user.fd"));
    close(fd);
    OK(mkdir(P(t, "d"), 0755));
    OK(setxattr(P(t, "d"), "user.dir", "D", 1, 0));
    EQ(getxattr(P(t, "d"), "user.dir", buf, sizeof buf), 1);
    OK(setxattr(fp, "trusted.t", "T", 1, 0));
    EQ(getxattr(fp, "trusted.t", buf, sizeof buf), 1);
    ERR(getxattr(P(t, "missing"), "user.a", buf, sizeof buf), ENOENT);
    /* xattrs go with the inode: visible through a hard link, gone with the last link */
    OK(link(fp, P(t, "g")));
    EQ(getxattr(P(t, "g"), "user.b", buf, sizeof buf), 0);
    OK(unlink(fp));
    OK(unlink(P(t, "g")));
    OK(write_file(fp, "x", 1, 0644));
    ERR(getxattr(fp, "user.b", buf, sizeof buf), ENODATA);
}

/* ======================================================================================== */
/* fallocate, SEEK_DATA/SEEK_HOLE, copy_file_range                                          */
/* ======================================================================================== */
static void c_fallocate(struct t *t)
{
    enum { SZ = 64 * 1024 };
    unsigned char w[SZ], r[SZ * 2];
    fill(w, SZ, 11);
    int fd = open(P(t, "f"), O_CREAT | O_RDWR, 0644);
    EQ(pwrite(fd, w, SZ, 0), SZ);
    struct stat st;
    /* default mode grows the file with zeros and keeps the data */
    OK(fallocate(fd, 0, SZ / 2, SZ)); /* to 1.5*SZ */
    OK(fstat(fd, &st));
    EQ(st.st_size, SZ / 2 + SZ);
    EQ(pread(fd, r, sizeof r, 0), SZ / 2 + SZ);
    CHECK(memcmp(r, w, SZ) == 0);
    CHECK(is_zero(r + SZ, SZ / 2));
    /* KEEP_SIZE: size stays */
    OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4 * SZ));
    OK(fstat(fd, &st));
    EQ(st.st_size, SZ / 2 + SZ);
    EQ(pread(fd, r, SZ, 0), SZ);
    CHECK(memcmp(r, w, SZ) == 0);
    /* posix_fallocate */
    EQ(posix_fallocate(fd, 0, 2 * SZ), 0);
    OK(fstat(fd, &st));
    EQ(st.st_size, 2 * SZ);
    if (!t->no_punch) {
        /* PUNCH_HOLE (with KEEP_SIZE): the range reads as zeros, the rest is intact */
        OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192));
        OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 20000, 3000)); /* unaligned */
        OK(fstat(fd, &st));
        EQ(st.st_size, 2 * SZ);
        EQ(pread(fd, r, SZ, 0), SZ);
        CHECK(memcmp(r, w, 4096) == 0);
        CHECK(is_zero(r + 4096, 8192));
        CHECK(memcmp(r + 12288, w + 12288, 20000 - 12288) == 0);
        CHECK(is_zero(r + 20000, 3000));
        CHECK(memcmp(r + 23000, w + 23000, SZ - 23000) == 0);
        /* punching past EOF does not grow the file */
        OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 3 * SZ, SZ));
        OK(fstat(fd, &st));
        EQ(st.st_size, 2 * SZ);
        /* PUNCH_HOLE without KEEP_SIZE is invalid */
        ERR(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
        /* the data after punch stays right after the page cache is dropped */
        OK(fsync(fd));
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        EQ(pread(fd, r, SZ, 0), SZ);
        CHECK(is_zero(r + 4096, 8192));
        CHECK(memcmp(r + 23000, w + 23000, SZ - 23000) == 0);
        /* ZERO_RANGE: zeros inside (unaligned, KEEP_SIZE or not), the rest intact; past the
         * end it grows the file unless KEEP_SIZE */
        EQ(pwrite(fd, w, SZ, 0), SZ);
        OK(fallocate(fd, FALLOC_FL_ZERO_RANGE, 1000, 5000));
        OK(fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 8192, 4096));
        OK(fstat(fd, &st));
        EQ(st.st_size, 2 * SZ);
        EQ(pread(fd, r, SZ, 0), SZ);
        CHECK(memcmp(r, w, 1000) == 0);
        CHECK(is_zero(r + 1000, 5000));
        CHECK(memcmp(r + 6000, w + 6000, 8192 - 6000) == 0);
        CHECK(is_zero(r + 8192, 4096));
        CHECK(memcmp(r + 12288, w + 12288, SZ - 12288) == 0);
        EQ(pwrite(fd, w, SZ, SZ), SZ);
        OK(fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 2 * SZ - 100, 1000));
        OK(fstat(fd, &st));
        EQ(st.st_size, 2 * SZ);
        OK(fallocate(fd, FALLOC_FL_ZERO_RANGE, 2 * SZ - 100, 1000));
        OK(fstat(fd, &st));
        EQ(st.st_size, 2 * SZ + 900);
        OK(fsync(fd));
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        EQ(pread(fd, r, SZ + 900, SZ), SZ + 900);
        CHECK(memcmp(r, w, SZ - 100) == 0);
        CHECK(is_zero(r + SZ - 100, 1000));
        EQ(pread(fd, r, 5000, 1000), 5000);
        CHECK(is_zero(r, 5000));
    }
    ERR(fallocate(fd, 0, 0, 0), EINVAL);
    ERR(fallocate(fd, 0, -1, 10), EINVAL);
    close(fd);
    fd = open(P(t, "f"), O_RDONLY);
    ERR(fallocate(fd, 0, 0, 10), EBADF);
    close(fd);
}

static void c_seek(struct t *t)
{
    int fd = open(P(t, "f"), O_CREAT | O_RDWR, 0644);
    unsigned char b[4096];
    fill(b, sizeof b, 1);
    const off_t M = 1024 * 1024;
    EQ(pwrite(fd, b, 4096, 0), 4096);
    EQ(pwrite(fd, b, 4096, M), 4096);
    OK(ftruncate(fd, 2 * M));
    OK(fsync(fd));
    EQ(lseek(fd, 0, SEEK_DATA), 0);
    EQ(lseek(fd, 0, SEEK_HOLE), 4096);
    EQ(lseek(fd, 100, SEEK_DATA), 100);
    EQ(lseek(fd, 4096, SEEK_DATA), M);
    EQ(lseek(fd, 5000, SEEK_HOLE), 5000);
    EQ(lseek(fd, M + 10, SEEK_HOLE), M + 4096);
    EQ(lseek(fd, M + 4096, SEEK_HOLE), M + 4096);
    ERR(lseek(fd, M + 4096, SEEK_DATA), ENXIO); /* only a hole up to EOF */
    ERR(lseek(fd, 2 * M, SEEK_DATA), ENXIO);
    ERR(lseek(fd, 2 * M, SEEK_HOLE), ENXIO);
    ERR(lseek(fd, 3 * M, SEEK_HOLE), ENXIO);
    EQ(lseek(fd, 2 * M - 1, SEEK_HOLE), 2 * M - 1);
    /* an empty file has no data */
    int e = open(P(t, "empty"), O_CREAT | O_RDWR, 0644);
    ERR(lseek(e, 0, SEEK_DATA), ENXIO);
    close(e);
    close(fd);
}

static void c_copy_range(struct t *t)
{
    enum { N = 1024 * 1024 + 777 };
    unsigned char *w = malloc(N), *r = malloc(N + 10);
    fill(w, N, 21);
    OK(write_file(P(t, "src"), w, N, 0644));
    int in = open(P(t, "src"), O_RDONLY), out = open(P(t, "dst"), O_CREAT | O_RDWR, 0644);
    size_t done = 0;
    while (done < N) {
        ssize_t c = copy_file_range(in, NULL, out, NULL, N - done, 0);
        if (c <= 0) { report(t, __FILE__, __LINE__, "copy_file_range -> %zd (%s)", c, strerror(errno)); break; }
        done += (size_t)c;
    }
    EQ(done, N);
    EQ(pread(out, r, N + 10, 0), N);
    CHECK(memcmp(w, r, N) == 0);
    /* with explicit offsets: 5000 bytes from src@1000 to dst@300000 */
    off_t io = 1000, oo = 300000;
    done = 0;
    while (done < 5000) {
        ssize_t c = copy_file_range(in, &io, out, &oo, 5000 - done, 0);
        if (c <= 0) { report(t, __FILE__, __LINE__, "copy_file_range@ -> %zd", c); break; }
        done += (size_t)c;
    }
    EQ(io, 6000);
    EQ(oo, 305000);
    EQ(pread(out, r, 5000, 300000), 5000);
    CHECK(memcmp(r, w + 1000, 5000) == 0);
    /* source past EOF copies nothing */
    io = N + 10;
    EQ(copy_file_range(in, &io, out, NULL, 100, 0), 0);
    /* overlapping range in one file is EINVAL; a directory is EISDIR */
    off_t a = 0, b2 = 100;
    int rw = open(P(t, "dst"), O_RDWR);
    ERR(copy_file_range(rw, &a, rw, &b2, 1000, 0), EINVAL);
    close(rw);
    int dfd = open(t->dir, O_RDONLY | O_DIRECTORY);
    ERR(copy_file_range(dfd, NULL, out, NULL, 10, 0), EISDIR);
    close(dfd);
    close(in); close(out);
    free(w); free(r);
}

/* ======================================================================================== */
/* unlinked-but-open files                                                                  */
/* ======================================================================================== */
static void c_orphan(struct t *t)
{
    int fd = open(P(t, "f"), O_CREAT | O_RDWR, 0644);
    unsigned char w[100000], r[100000];
    fill(w, sizeof w, 4);
    EQ(write(fd, w, 50000), 50000);
    OK(unlink(P(t, "f")));
    struct stat st;
    ERR(stat(P(t, "f"), &st), ENOENT);
    OK(fstat(fd, &st));
    EQ(st.st_nlink, 0);
    EQ(pwrite(fd, w + 50000, 50000, 50000), 50000);
    OK(fsync(fd));
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    EQ(pread(fd, r, sizeof r, 0), (ssize_t)sizeof r);
    CHECK(memcmp(w, r, sizeof r) == 0);
    OK(ftruncate(fd, 1000));
    OK(fchmod(fd, 0600));
    OK(fstat(fd, &st));
    EQ(st.st_size, 1000);
    EQO(st.st_mode & 07777, 0600);
    OK(fsetxattr(fd, "user.o", "o", 1, 0));
    /* a second descriptor opened before the unlink keeps working after the first closes */
    int fd2 = open(P(t, "g"), O_CREAT | O_RDWR, 0644);
    int fd3 = open(P(t, "g"), O_RDONLY);
    EQ(write(fd2, "keep", 4), 4);
    OK(unlink(P(t, "g")));
    close(fd2);
    char b[8] = {0};
    EQ(pread(fd3, b, 8, 0), 4);
    CHECK(memcmp(b, "keep", 4) == 0);
    close(fd3);
    close(fd);
    /* the name can be reused at once */
    OK(write_file(P(t, "f"), "new", 3, 0644));
    CHECK(file_has(P(t, "f"), "new"));
    /* mmap of an unlinked file */
    fd = open(P(t, "m"), O_CREAT | O_RDWR, 0644);
    OK(ftruncate(fd, 8192));
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    OK(unlink(P(t, "m")));
    if (m != MAP_FAILED) {
        memcpy(m + 4000, "mapped", 6);
        OK(msync(m, 8192, MS_SYNC));
        EQ(pread(fd, b, 6, 4000), 6);
        CHECK(memcmp(b, "mapped", 6) == 0);
        munmap(m, 8192);
    }
    close(fd);
}

/* ======================================================================================== */
/* timestamps                                                                               */
/* ======================================================================================== */
static void c_times(struct t *t)
{
    struct timespec t0;
    clock_gettime(CLOCK_REALTIME, &t0);
    struct stat dst0 = ST(t->dir);
    nap();
    int fd = open(P(t, "f"), O_CREAT | O_RDWR, 0644);
    struct stat st = ST(P(t, "f"));
    /* creation: all three times equal, about now; parent mtime/ctime move */
    SAME_TS(st.st_atim, st.st_mtim);
    SAME_TS(st.st_mtim, st.st_ctim);
    CHECK(st.st_mtim.tv_sec >= t0.tv_sec - 1 && st.st_mtim.tv_sec <= t0.tv_sec + 5);
    NEWER(ST(t->dir).st_mtim, dst0.st_mtim);
    NEWER(ST(t->dir).st_ctim, dst0.st_ctim);
    /* write moves mtime and ctime (seen after fsync and after close) */
    struct stat s0 = st;
    nap();
    EQ(write(fd, "abc", 3), 3);
    OK(fsync(fd));
    st = ST(P(t, "f"));
    NEWER(st.st_mtim, s0.st_mtim);
    NEWER(st.st_ctim, s0.st_ctim);
    close(fd);
    struct stat s1 = ST(P(t, "f"));
    CHECK(ts_cmp(s1.st_mtim, st.st_mtim) >= 0);
    /* a read does not move mtime/ctime */
    nap();
    char b[8];
    fd = open(P(t, "f"), O_RDONLY);
    EQ(read(fd, b, sizeof b), 3);
    close(fd);
    struct stat s2 = ST(P(t, "f"));
    SAME_TS(s2.st_mtim, s1.st_mtim);
    SAME_TS(s2.st_ctim, s1.st_ctim);
    /* chmod, chown, link, rename, xattr: ctime only */
    nap();
    OK(chmod(P(t, "f"), 0600));
    st = ST(P(t, "f"));
    NEWER(st.st_ctim, s2.st_ctim);
    SAME_TS(st.st_mtim, s2.st_mtim);
    s2 = st; nap();
    OK(chown(P(t, "f"), 7, 7));
    st = ST(P(t, "f"));
    NEWER(st.st_ctim, s2.st_ctim);
    SAME_TS(st.st_mtim, s2.st_mtim);
    s2 = st; nap();
    OK(link(P(t, "f"), P(t, "f2")));
    st = ST(P(t, "f"));
    NEWER(st.st_ctim, s2.st_ctim);
    SAME_TS(st.st_mtim, s2.st_mtim);
    s2 = st; nap();
    OK(rename(P(t, "f2"), P(t, "f3")));
    st = ST(P(t, "f"));
    NEWER(st.st_ctim, s2.st_ctim);
    SAME_TS(st.st_mtim, s2.st_mtim);
    s2 = st; nap();
    OK(setxattr(P(t, "f"), "user.t", "1", 1, 0));
    st = ST(P(t, "f"));
    NEWER(st.st_ctim, s2.st_ctim);
    SAME_TS(st.st_mtim, s2.st_mtim);
    /* a write of zero bytes changes nothing (Linux: no time update for count 0) */
    s2 = st; nap();
    fd = open(P(t, "f"), O_WRONLY);
    EQ(write(fd, "", 0), 0);
    close(fd);
    st = ST(P(t, "f"));
    SAME_TS(st.st_mtim, s2.st_mtim);
    /* directory mtime/ctime move on create, unlink, rename in and out; not on file writes */
    OK(mkdir(P(t, "d"), 0755));
    OK(write_file(P(t, "d/x"), "x", 1, 0644));
    struct stat d0 = ST(P(t, "d"));
    nap();
    fd = open(P(t, "d/x"), O_WRONLY);
    EQ(write(fd, "y", 1), 1);
    close(fd);
    SAME_TS(ST(P(t, "d")).st_mtim, d0.st_mtim);
    OK(rename(P(t, "d/x"), P(t, "d/y")));
    struct stat d1 = ST(P(t, "d"));
    NEWER(d1.st_mtim, d0.st_mtim);
    nap();
    OK(unlink(P(t, "d/y")));
    NEWER(ST(P(t, "d")).st_mtim, d1.st_mtim);
    /* atime with relatime: a read updates atime when atime <= mtime, then not again */
    OK(write_file(P(t, "a"), "atime", 5, 0644));
    struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}}; /* atime == mtime, long ago */
    OK(utimensat(AT_FDCWD, P(t, "a"), old, 0));
    nap(); /* so that the read's atime is later than the ctime utimensat just set */
    /* ctime is now > atime too; make sure the read reaches the filesystem, not the cache */
    fd = open(P(t, "a"), O_RDONLY);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    EQ(read(fd, b, sizeof b), 5);
    close(fd);
    struct stat a1 = ST(P(t, "a"));
    CHECK(a1.st_atim.tv_sec > 1000000000);
    EQ(a1.st_mtim.tv_sec, 1000000000);
    nap();
    fd = open(P(t, "a"), O_RDONLY);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    EQ(read(fd, b, sizeof b), 5);
    close(fd);
    struct stat a2 = ST(P(t, "a"));
    SAME_TS(a2.st_atim, a1.st_atim); /* atime > mtime and ctime, < 24 h old: kept */
    /* a write then a read: atime moves again (atime <= mtime) */
    nap();
    fd = open(P(t, "a"), O_WRONLY);
    EQ(write(fd, "A", 1), 1);
    OK(fsync(fd));
    close(fd);
    nap();
    fd = open(P(t, "a"), O_RDONLY);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    EQ(read(fd, b, sizeof b), 5);
    close(fd);
    NEWER(ST(P(t, "a")).st_atim, a2.st_atim);
    /* readdir updates a directory's atime the same way */
    struct timespec dold[2] = {{1000000000, 0}, {1000000000, 0}};
    OK(utimensat(AT_FDCWD, P(t, "d"), dold, 0));
    DIR *dd = opendir(P(t, "d"));
    while (dd && readdir(dd)) {}
    if (dd) closedir(dd);
    CHECK(ST(P(t, "d")).st_atim.tv_sec > 1000000000);
    /* mmap write moves mtime once written back */
    s2 = ST(P(t, "a"));
    nap();
    fd = open(P(t, "a"), O_RDWR);
    char *m = mmap(NULL, 5, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m != MAP_FAILED) {
        m[0] = 'M';
        msync(m, 5, MS_SYNC);
        munmap(m, 5);
    }
    close(fd);
    NEWER(ST(P(t, "a")).st_mtim, s2.st_mtim);
}

/* ======================================================================================== */
/* permissions as unprivileged users                                                        */
/* ======================================================================================== */
static void u_basic(struct t *t, void *arg)
{
    (void)arg;
    struct stat st;
    /* root-owned 0755 dir: no create, no unlink */
    ERR(open(P(t, "rootdir/new"), O_CREAT | O_WRONLY, 0644), EACCES);
    ERR(mkdir(P(t, "rootdir/newd"), 0755), EACCES);
    ERR(unlink(P(t, "rootdir/r644")), EACCES);
    ERR(rename(P(t, "rootdir/r644"), P(t, "rootdir/r")), EACCES);
    ERR(symlink("x", P(t, "rootdir/sl")), EACCES);
    ERR(mknod(P(t, "rootdir/fifo"), S_IFIFO | 0644, 0), EACCES);
    ERR(link(P(t, "rootdir/r644"), P(t, "open/hl")), EPERM); /* protected_hardlinks or EACCES */
    /* mode bits on files */
    int fd = open(P(t, "rootdir/r644"), O_RDONLY);
    OK(fd);
    if (fd >= 0) close(fd);
    ERR(open(P(t, "rootdir/r644"), O_WRONLY), EACCES);
    ERR(open(P(t, "rootdir/r644"), O_RDONLY | O_TRUNC), EACCES);
    ERR(truncate(P(t, "rootdir/r644"), 0), EACCES);
    ERR(open(P(t, "rootdir/r600"), O_RDONLY), EACCES);
    fd = open(P(t, "rootdir/r666"), O_RDWR);
    OK(fd);
    if (fd >= 0) { EQ(write(fd, "u", 1), 1); close(fd); }
    OK(access(P(t, "rootdir/r644"), R_OK));
    ERR(access(P(t, "rootdir/r644"), W_OK), EACCES);
    ERR(access(P(t, "rootdir/r644"), X_OK), EACCES);
    OK(access(P(t, "rootdir/r755"), X_OK));
    ERR(access(P(t, "rootdir/r600"), R_OK), EACCES);
    /* search permission on directories */
    ERR(stat(P(t, "closed/inside"), &st), EACCES);
    ERR(open(P(t, "closed/inside"), O_RDONLY), EACCES);
    ERR(opendir(P(t, "closed")) ? 0 : -1, EACCES);
    OK(stat(P(t, "xonly/inside"), &st)); /* x without r: lookups work, listing does not */
    ERR(opendir(P(t, "xonly")) ? 0 : -1, EACCES);
    ERR(stat(P(t, "ronly/inside"), &st), EACCES);
    /* ownership changes */
    ERR(chmod(P(t, "rootdir/r666"), 0777), EPERM);
    ERR(chown(P(t, "rootdir/r666"), U1, U1), EPERM);
    struct timespec ts[2] = {{1, 0}, {1, 0}};
    ERR(utimensat(AT_FDCWD, P(t, "rootdir/r666"), ts, 0), EPERM); /* explicit times: owner only */
    OK(utimensat(AT_FDCWD, P(t, "rootdir/r666"), NULL, 0));      /* "now": write access enough */
    ERR(utimensat(AT_FDCWD, P(t, "rootdir/r644"), NULL, 0), EACCES);
    ERR(setxattr(P(t, "rootdir/r644"), "user.x", "1", 1, 0), EACCES);
    char buf[16];
    EQ(getxattr(P(t, "rootdir/r644"), "user.root", buf, sizeof buf), 1);
    /* files the user makes are the user's */
    fd = open(P(t, "open/own"), O_CREAT | O_WRONLY, 0640);
    OK(fd);
    if (fd >= 0) close(fd);
    st = ST(P(t, "open/own"));
    EQ(st.st_uid, U1);
    EQ(st.st_gid, U1);
    OK(mkdir(P(t, "open/owndir"), 0700));
    st = ST(P(t, "open/owndir"));
    EQ(st.st_uid, U1);
    EQ(st.st_gid, U1);
    OK(symlink("own", P(t, "open/ownlink")));
    EQ(ST(P(t, "open/ownlink")).st_uid, U1);
    OK(chmod(P(t, "open/own"), 0604));
    OK(setxattr(P(t, "open/own"), "user.mine", "m", 1, 0));
    OK(utimensat(AT_FDCWD, P(t, "open/own"), ts, 0));
    ERR(setxattr(P(t, "open/own"), "trusted.x", "1", 1, 0), EPERM);
    ERR(chown(P(t, "open/own"), 0, (gid_t)-1), EPERM);
    ERR(chown(P(t, "open/own"), (uid_t)-1, 4321), EPERM);  /* not a member of 4321 */
    OK(chown(P(t, "open/own"), (uid_t)-1, G_OTHER));        /* member (supplementary) */
    EQ(ST(P(t, "open/own")).st_gid, G_OTHER);
    /* owner without write permission on own file is refused writes, but may chmod */
    OK(chmod(P(t, "open/own"), 0400));
    ERR(open(P(t, "open/own"), O_WRONLY), EACCES);
    OK(chmod(P(t, "open/own"), 0600));
}

static void u_sgidchmod(struct t *t, void *arg)
{
    (void)arg;
    /* file owned by the user, group 4321 (user is not a member) */
    OK(chmod(P(t, "open/grp4321"), 02755));
    EQO(ST(P(t, "open/grp4321")).st_mode & 07777, 0755);
}

static void u_sticky_a(struct t *t, void *arg)
{
    (void)arg;
    OK(write_file(P(t, "sticky/a_file"), "A", 1, 0666));
    OK(chmod(P(t, "sticky/a_file"), 0666));
    OK(write_file(P(t, "sticky/a_gone"), "A", 1, 0666));
    OK(unlink(P(t, "sticky/a_gone")));
    OK(rename(P(t, "sticky/a_file"), P(t, "sticky/a_file2")));
}

static void u_sticky_b(struct t *t, void *arg)
{
    (void)arg;
    ERR(unlink(P(t, "sticky/a_file2")), EPERM);
    ERR(rename(P(t, "sticky/a_file2"), P(t, "sticky/b_took")), EPERM);
    ERR(unlink(P(t, "sticky/root_file")), EPERM);
    ERR(rmdir(P(t, "sticky/root_dir")), EPERM);
    OK(write_file(P(t, "sticky/b_file"), "B", 1, 0644));
    OK(unlink(P(t, "sticky/b_file")));
    /* writing into someone else's 0666 file in a sticky dir is still fine (not O_CREAT) */
    int fd = open(P(t, "sticky/a_file2"), O_WRONLY);
    OK(fd);
    if (fd >= 0) close(fd);
}

static void u_setgid_dir(struct t *t, void *arg)
{
    (void)arg;
    OK(write_file(P(t, "sgid/user_file"), "u", 1, 0644));
    struct stat st = ST(P(t, "sgid/user_file"));
    EQ(st.st_uid, U1);
    EQ(st.st_gid, G_OTHER);
    OK(mkdir(P(t, "sgid/user_dir"), 0755));
    st = ST(P(t, "sgid/user_dir"));
    EQ(st.st_gid, G_OTHER);
    CHECK(st.st_mode & S_ISGID);
    /* a non-member creating a setgid, group-exec file in it gets S_ISGID cleared */
    int fd = open(P(t, "sgid/user_sgid"), O_CREAT | O_WRONLY, 02755);
    OK(fd);
    if (fd >= 0) close(fd);
    st = ST(P(t, "sgid/user_sgid"));
    EQ(st.st_gid, G_OTHER);
    EQO(st.st_mode & 07777, 0755);
}

static void u_kill_suid(struct t *t, void *arg)
{
    (void)arg;
    int fd = open(P(t, "open/suid_w"), O_WRONLY);
    OK(fd);
    if (fd >= 0) { EQ(write(fd, "w", 1), 1); close(fd); }
    OK(truncate(P(t, "open/suid_t"), 1));
    fd = open(P(t, "open/sgid_noexec"), O_WRONLY);
    if (fd >= 0) { EQ(write(fd, "w", 1), 1); close(fd); }
    /* own suid file: writing clears it too (no CAP_FSETID) */
    OK(write_file(P(t, "open/mysuid"), "m", 1, 0755));
    OK(chmod(P(t, "open/mysuid"), 04755));
    EQO(ST(P(t, "open/mysuid")).st_mode & 07777, 04755);
    fd = open(P(t, "open/mysuid"), O_WRONLY | O_APPEND);
    if (fd >= 0) { EQ(write(fd, "m", 1), 1); close(fd); }
    EQO(ST(P(t, "open/mysuid")).st_mode & 07777, 0755);
    /* chown of own file to own group clears suid (kernel semantics) */
    OK(chmod(P(t, "open/mysuid"), 04755));
    OK(chown(P(t, "open/mysuid"), (uid_t)-1, U1));
    EQO(ST(P(t, "open/mysuid")).st_mode & 07777, 0755);
    /* ... and so does chown(-1, -1), which changes nothing else (ext4 does the same) */
    OK(chmod(P(t, "open/mysuid"), 06755));
    OK(chown(P(t, "open/mysuid"), (uid_t)-1, (gid_t)-1));
    EQO(ST(P(t, "open/mysuid")).st_mode & 07777, 0755);
    /* open with O_TRUNC by a non-owner clears them */
    fd = open(P(t, "open/suid_o"), O_WRONLY | O_TRUNC);
    OK(fd);
    if (fd >= 0) close(fd);
    /* chgrp of an own set-group-ID file (no group-execute) whose group the caller is not
     * in, to a group it is in: dropped, as Linux decides by the group before the change */
    OK(chown(P(t, "open/sgid_foreign"), (uid_t)-1, G_OTHER));
    EQO(ST(P(t, "open/sgid_foreign")).st_mode & 07777, 0644);
    /* ... and kept when the caller is in the old group */
    OK(chown(P(t, "open/sgid_mine"), (uid_t)-1, G_OTHER));
    EQO(ST(P(t, "open/sgid_mine")).st_mode & 07777, 02644);
}

static void c_perms(struct t *t)
{
    OK(mkdir(P(t, "rootdir"), 0755));
    OK(write_file(P(t, "rootdir/r644"), "r", 1, 0644));
    OK(setxattr(P(t, "rootdir/r644"), "user.root", "R", 1, 0));
    OK(write_file(P(t, "rootdir/r600"), "r", 1, 0600));
    OK(write_file(P(t, "rootdir/r666"), "r", 1, 0644));
    OK(chmod(P(t, "rootdir/r666"), 0666));
    OK(write_file(P(t, "rootdir/r755"), "r", 1, 0755));
    OK(mkdir(P(t, "closed"), 0700));
    OK(write_file(P(t, "closed/inside"), "c", 1, 0644));
    OK(mkdir(P(t, "xonly"), 0711));
    OK(write_file(P(t, "xonly/inside"), "c", 1, 0644));
    OK(mkdir(P(t, "ronly"), 0744));
    OK(write_file(P(t, "ronly/inside"), "c", 1, 0644));
    OK(mkdir(P(t, "open"), 0777));
    OK(chmod(P(t, "open"), 0777));
    as_user(t, U1, U1, G_OTHER, u_basic, NULL);
    /* root's write into the user's file does not change its owner */
    EQ(ST(P(t, "open/own")).st_uid, U1);

    OK(write_file(P(t, "open/grp4321"), "g", 1, 0755));
    OK(chown(P(t, "open/grp4321"), U1, 4321));
    as_user(t, U1, U1, -1, u_sgidchmod, NULL);

    /* sticky directory */
    OK(mkdir(P(t, "sticky"), 0755));
    OK(chmod(P(t, "sticky"), 01777));
    OK(write_file(P(t, "sticky/root_file"), "r", 1, 0666));
    OK(chmod(P(t, "sticky/root_file"), 0666));
    OK(mkdir(P(t, "sticky/root_dir"), 0777));
    as_user(t, U1, U1, -1, u_sticky_a, NULL);
    as_user(t, U2, U2, -1, u_sticky_b, NULL);
    OK(unlink(P(t, "sticky/a_file2"))); /* root may */

    /* setgid directory: group and S_ISGID inherit */
    OK(mkdir(P(t, "sgid"), 0777));
    OK(chown(P(t, "sgid"), 0, G_OTHER));
    OK(chmod(P(t, "sgid"), 02777));
    EQO(ST(P(t, "sgid")).st_mode & 07777, 02777);
    OK(write_file(P(t, "sgid/root_file"), "r", 1, 0644));
    struct stat st = ST(P(t, "sgid/root_file"));
    EQ(st.st_gid, G_OTHER);
    EQ(st.st_uid, 0);
    OK(mkdir(P(t, "sgid/root_dir"), 0755));
    st = ST(P(t, "sgid/root_dir"));
    EQ(st.st_gid, G_OTHER);
    CHECK(st.st_mode & S_ISGID);
    OK(mkdir(P(t, "sgid/root_dir/deeper"), 0755));
    st = ST(P(t, "sgid/root_dir/deeper"));
    EQ(st.st_gid, G_OTHER);
    CHECK(st.st_mode & S_ISGID);
    OK(mknod(P(t, "sgid/fifo"), S_IFIFO | 0644, 0));
    EQ(ST(P(t, "sgid/fifo")).st_gid, G_OTHER);
    OK(symlink("x", P(t, "sgid/sl")));
    EQ(ST(P(t, "sgid/sl")).st_gid, G_OTHER);
    as_user(t, U1, U1, -1, u_setgid_dir, NULL);

    /* suid/sgid cleared on write and truncate by a non-owner */
    OK(write_file(P(t, "open/suid_w"), "s", 1, 0644));
    OK(chmod(P(t, "open/suid_w"), 06777));
    OK(write_file(P(t, "open/suid_t"), "s", 1, 0644));
    OK(chmod(P(t, "open/suid_t"), 06777));
    OK(write_file(P(t, "open/sgid_noexec"), "s", 1, 0644));
    OK(chmod(P(t, "open/sgid_noexec"), 02666));
    OK(write_file(P(t, "open/suid_o"), "s", 1, 0644));
    OK(chmod(P(t, "open/suid_o"), 06777));
    OK(write_file(P(t, "open/sgid_foreign"), "s", 1, 0644));
    OK(chown(P(t, "open/sgid_foreign"), U1, 4321));
    OK(chmod(P(t, "open/sgid_foreign"), 02644));
    OK(write_file(P(t, "open/sgid_mine"), "s", 1, 0644));
    OK(chown(P(t, "open/sgid_mine"), U1, U1));
    OK(chmod(P(t, "open/sgid_mine"), 02644));
    as_user(t, U1, U1, G_OTHER, u_kill_suid, NULL);
    EQO(ST(P(t, "open/suid_w")).st_mode & 07777, 0777);
    EQO(ST(P(t, "open/suid_t")).st_mode & 07777, 0777);
    EQO(ST(P(t, "open/suid_o")).st_mode & 07777, 0777);
    EQ(ST(P(t, "open/suid_o")).st_size, 0);
    /* sgid without group exec: kept by older kernels, dropped for non-members since 6.x */
    mode_t m = ST(P(t, "open/sgid_noexec")).st_mode & 07777;
    CHECK(m == 02666 || m == 0666);
    /* root (CAP_FSETID) writing keeps the bits */
    OK(write_file(P(t, "root_suid"), "s", 1, 0755));
    OK(chmod(P(t, "root_suid"), 06755));
    int fd = open(P(t, "root_suid"), O_WRONLY);
    EQ(write(fd, "w", 1), 1);
    close(fd);
    EQO(ST(P(t, "root_suid")).st_mode & 07777, 06755);
    /* ... and truncating, as on ext4; chown(-1, -1) by root clears them, as on ext4 */
    OK(truncate(P(t, "root_suid"), 0));
    EQO(ST(P(t, "root_suid")).st_mode & 07777, 06755);
    struct stat before = ST(P(t, "root_suid"));
    usleep(10000);
    OK(chown(P(t, "root_suid"), (uid_t)-1, (gid_t)-1));
    struct stat after = ST(P(t, "root_suid"));
    EQO(after.st_mode & 07777, 0755);
    CHECK(after.st_ctim.tv_sec > before.st_ctim.tv_sec ||
          (after.st_ctim.tv_sec == before.st_ctim.tv_sec &&
           after.st_ctim.tv_nsec > before.st_ctim.tv_nsec));
}

/* ======================================================================================== */
/* the 1 TiB sparse file (run only when named)                                              */
/* ======================================================================================== */
static void c_sparse_tib(struct t *t)
{
    const off_t TIB = 1LL << 40, at = TIB - 4096;
    unsigned char w[4096], r[4096];
    fill(w, sizeof w, 77);
    int fd = open(P(t, "sparse"), O_CREAT | O_RDWR, 0644);
    OK(fd);
    EQ(pwrite(fd, w, 4096, at), 4096);
    OK(fsync(fd));
    struct stat st;
    OK(fstat(fd, &st));
    EQ(st.st_size, TIB);
    CHECK(st.st_blocks * 512 <= 1024 * 1024); /* "du" is small */
    EQ(lseek(fd, 0, SEEK_HOLE), 0);
    EQ(lseek(fd, 0, SEEK_DATA), at);
    EQ(lseek(fd, at, SEEK_HOLE), TIB);
    EQ(lseek(fd, 12345, SEEK_DATA), at);
    ERR(lseek(fd, TIB, SEEK_DATA), ENXIO);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    EQ(pread(fd, r, 4096, at), 4096);
    CHECK(memcmp(r, w, 4096) == 0);
    EQ(pread(fd, r, 4096, TIB / 2), 4096);
    CHECK(is_zero(r, 4096));
    EQ(pread(fd, r, 4096, at - 4096), 4096);
    CHECK(is_zero(r, 4096));
    EQ(pread(fd, r, 4096, TIB), 0);
    close(fd);
    printf("  sparse_tib: size %lld, st_blocks %lld\n", (long long)st.st_size, (long long)st.st_blocks);
}

/* ======================================================================================== */
struct tcase { const char *name; void (*fn)(struct t *); int dflt; };
static const struct tcase cases[] = {
    {"lookup", c_lookup, 1},       {"nametoolong", c_nametoolong, 1},
    {"open", c_open, 1},           {"readwrite", c_readwrite, 1},
    {"truncate", c_truncate, 1},   {"chmod", c_chmod, 1},
    {"chown", c_chown, 1},         {"utimens", c_utimens, 1},
    {"mknod", c_mknod, 1},         {"mkdir_rmdir", c_mkdir_rmdir, 1},
    {"unlink", c_unlink, 1},       {"symlink", c_symlink, 1},
    {"link", c_link, 1},           {"rename", c_rename, 1},
    {"readdir", c_readdir, 1},     {"statfs", c_statfs, 1},
    {"fsync", c_fsync, 1},         {"access", c_access, 1},
    {"xattr", c_xattr, 1},         {"fallocate", c_fallocate, 1},
    {"seek", c_seek, 1},           {"copy_range", c_copy_range, 1},
    {"orphan", c_orphan, 1},       {"times", c_times, 1},
    {"perms", c_perms, 1},         {"sparse_tib", c_sparse_tib, 0},
};
#define NCASES (int)(sizeof cases / sizeof cases[0])

static int run_case(const struct tcase *c, const char *base, const char *outside, int no_punch, int no_ns)
{
    struct t *t = calloc(1, sizeof *t);
    t->name = c->name;
    t->outside = outside;
    t->no_punch = no_punch;
    t->no_ns_times = no_ns;
    snprintf(t->dir, sizeof t->dir, "%s/%s", base, c->name);
    if (mkdir(t->dir, 0755) < 0) {
        printf("FAIL %s: mkdir %s: %s\n", c->name, t->dir, strerror(errno));
        free(t);
        return 1;
    }
    umask(022);
    c->fn(t);
    int f = t->fails;
    if (f) printf("FAIL %s (%d check%s)\n", c->name, f, f == 1 ? "" : "s");
    else printf("ok   %s\n", c->name);
    fflush(stdout);
    free(t);
    return f;
}

int main(int argc, char **argv)
{
    const char *outside = NULL;
    int no_punch = 0, no_ns = 0, opt;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt(argc, argv, "o:X:l")) != -1) {
        switch (opt) {
        case 'o': outside = optarg; break;
        case 'X':
            if (!strcmp(optarg, "punch")) no_punch = 1;
            else if (!strcmp(optarg, "ns_times")) no_ns = 1;
            else { fprintf(stderr, "unknown feature %s\n", optarg); return 2; }
            break;
        case 'l':
            for (int i = 0; i < NCASES; i++) printf("%s%s\n", cases[i].name, cases[i].dflt ? "" : " (only when named)");
            return 0;
        default:
            fprintf(stderr, "usage: %s [-o OUTSIDE] [-X punch|ns_times] DIR [case...]\n", argv[0]);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: %s [-o OUTSIDE] [-X punch|ns_times] DIR [case...]\n", argv[0]);
        return 2;
    }
    if (geteuid() != 0) { fprintf(stderr, "posix_ops must run as root\n"); return 2; }
    const char *base = argv[optind++];
    int failed = 0, ran = 0;
    for (int i = 0; i < NCASES; i++) {
        int want = optind == argc ? cases[i].dflt : 0;
        for (int k = optind; k < argc; k++)
            if (!strcmp(argv[k], cases[i].name)) want = 1;
        if (!want) continue;
        ran++;
        if (run_case(&cases[i], base, outside, no_punch, no_ns)) failed++;
    }
    if (!ran) { fprintf(stderr, "no case matched\n"); return 2; }
    printf("posix_ops: %d case(s), %d failed\n", ran, failed);
    return failed ? 1 : 0;
}
