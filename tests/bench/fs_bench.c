/*
 * fs_bench.c - the timed workloads of fsbench.sh, one subcommand each, so that the timing
 * excludes process start-up and shell loops:
 *
 *   fs_bench create DIR N            N empty files f0000000..      -> ops
 *   fs_bench stat DIR N              stat each                      -> ops
 *   fs_bench readdir DIR N           list DIR (must hold N entries) -> entries
 *   fs_bench rename DIR N            f* -> r* in the same dir       -> ops
 *   fs_bench unlink DIR N            remove r*                      -> ops
 *   fs_bench small_write DIR N SIZE  N files of SIZE bytes          -> bytes
 *   fs_bench small_read DIR N SIZE   read them back and check       -> bytes
 *   fs_bench seq_write FILE BYTES    1 MiB writes, fsync at the end -> bytes
 *   fs_bench seq_read FILE           read it all, check             -> bytes
 *   fs_bench rand_prep FILE BYTES    make the file (not timed)
 *   fs_bench rand_write FILE OPS     4 KiB pwrites at random aligned offsets, fsync -> ops
 *   fs_bench rand_read FILE OPS      4 KiB preads at random aligned offsets         -> ops
 *   fs_bench append_fsync FILE N     N appends of 4 KiB, each followed by fsync     -> ops
 *   fs_bench par_create DIR T N SIZE T threads each creating N files of SIZE bytes -> files
 *   fs_bench null_req FILE N         N fgetxattr of a name FILE does not have: each is one
 *                                    round trip to the daemon that does no work (the FUSE
 *                                    kernel never caches xattrs); ENODATA expected. A FUSE
 *                                    daemon without xattrs (passthrough_ll) answers ENOTSUP
 *                                    once, after which the kernel stops asking: that row
 *                                    is then the syscall, not a round trip -> ops
 *
 * Output is one line "SECONDS COUNT UNIT". Any failed syscall prints the error (with the
 * path and the index reached) and exits 1, so the caller can report FAILED instead of a
 * number. Data written is a deterministic non-zero pattern, and reads verify it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *what, const char *path, long long i)
{
    fprintf(stderr, "fs_bench: %s %s (item %lld): %s\n", what, path, i, strerror(errno));
    exit(1);
}

static void pat(unsigned char *b, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (size_t i = 0; i < n; i += 8) {
        x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
        uint64_t v = x * 2685821657736338717ULL | 0x0101010101010101ULL;
        memcpy(b + i, &v, n - i < 8 ? n - i : 8);
    }
}

static void result(double t0, long long count, const char *unit)
{
    printf("%.6f %lld %s\n", now() - t0, count, unit);
}

static void name(char *out, size_t cap, const char *dir, char p, long long i)
{
    snprintf(out, cap, "%s/%c%07lld", dir, p, i);
}

static int c_meta(const char *op, const char *dir, long long n)
{
    char a[4096], b[4096];
    double t0 = now();
    if (!strcmp(op, "create")) {
        for (long long i = 0; i < n; i++) {
            name(a, sizeof a, dir, 'f', i);
            int fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0644);
            if (fd < 0) fail("create", a, i);
            close(fd);
        }
    } else if (!strcmp(op, "stat")) {
        struct stat st;
        for (long long i = 0; i < n; i++) {
            name(a, sizeof a, dir, 'f', i);
            if (stat(a, &st) < 0) fail("stat", a, i);
        }
    } else if (!strcmp(op, "readdir")) {
        DIR *d = opendir(dir);
        if (!d) fail("opendir", dir, 0);
        long long cnt = 0;
        struct dirent *de;
        errno = 0;
        while ((de = readdir(d))) if (de->d_name[0] != '.') cnt++;
        if (errno) fail("readdir", dir, cnt);
        closedir(d);
        if (cnt != n) { fprintf(stderr, "fs_bench: readdir found %lld entries, want %lld\n", cnt, n); exit(1); }
    } else if (!strcmp(op, "rename")) {
        for (long long i = 0; i < n; i++) {
            name(a, sizeof a, dir, 'f', i);
            name(b, sizeof b, dir, 'r', i);
            if (rename(a, b) < 0) fail("rename", a, i);
        }
    } else if (!strcmp(op, "unlink")) {
        for (long long i = 0; i < n; i++) {
            name(a, sizeof a, dir, 'r', i);
            if (unlink(a) < 0) fail("unlink", a, i);
        }
    } else {
        return 2;
    }
    result(t0, n, "ops");
    return 0;
}

static int c_small(int write_, const char *dir, long long n, size_t size)
{
    unsigned char *buf = malloc(size + 1), *got = malloc(size + 1);
    char a[4096];
    double t0 = now();
    for (long long i = 0; i < n; i++) {
        name(a, sizeof a, dir, 's', i);
        pat(buf, size, (uint64_t)i);
        if (write_) {
            int fd = open(a, O_CREAT | O_TRUNC | O_WRONLY, 0644);
            if (fd < 0) fail("create", a, i);
            if (write(fd, buf, size) != (ssize_t)size) fail("write", a, i);
            if (close(fd) < 0) fail("close", a, i);
        } else {
            int fd = open(a, O_RDONLY);
            if (fd < 0) fail("open", a, i);
            ssize_t r = read(fd, got, size + 1);
            if (r != (ssize_t)size || memcmp(buf, got, size)) { errno = EIO; fail("verify", a, i); }
            close(fd);
        }
    }
    result(t0, n * (long long)size, "bytes");
    free(buf); free(got);
    return 0;
}

static int c_seq(int write_, const char *path, long long bytes)
{
    enum { B = 1 << 20 };
    unsigned char *buf = malloc(B), *want = malloc(B);
    double t0 = now();
    int fd = open(path, write_ ? O_CREAT | O_TRUNC | O_WRONLY : O_RDONLY, 0644);
    if (fd < 0) fail("open", path, 0);
    long long done = 0;
    if (write_) {
        for (; done < bytes; done += B) {
            pat(buf, B, (uint64_t)(done / B));
            if (write(fd, buf, B) != B) fail("write", path, done);
        }
        if (fsync(fd) < 0) fail("fsync", path, done);
    } else {
        for (;;) {
            ssize_t r = read(fd, buf, B);
            if (r < 0) fail("read", path, done);
            if (r == 0) break;
            pat(want, B, (uint64_t)(done / B));
            if (r != B || memcmp(buf, want, B)) { errno = EIO; fail("verify", path, done); }
            done += r;
        }
    }
    if (close(fd) < 0) fail("close", path, done);
    result(t0, done, "bytes");
    free(buf); free(want);
    return 0;
}

static int c_rand(const char *op, const char *path, long long arg)
{
    unsigned char buf[4096];
    if (!strcmp(op, "rand_prep")) {
        return c_seq(1, path, arg) ? 1 : 0;
    }
    int fd = open(path, O_RDWR);
    if (fd < 0) fail("open", path, 0);
    struct stat st;
    fstat(fd, &st);
    long long blocks = st.st_size / 4096;
    if (blocks < 1) { errno = EINVAL; fail("size", path, 0); }
    uint64_t x = 88172645463325252ULL;
    int w = !strcmp(op, "rand_write");
    pat(buf, sizeof buf, 7);
    double t0 = now();
    for (long long i = 0; i < arg; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        off_t off = (off_t)(x % (uint64_t)blocks) * 4096;
        ssize_t r = w ? pwrite(fd, buf, 4096, off) : pread(fd, buf, 4096, off);
        if (r != 4096) fail(w ? "pwrite" : "pread", path, i);
    }
    if (w && fsync(fd) < 0) fail("fsync", path, arg);
    result(t0, arg, "ops");
    close(fd);
    return 0;
}

static int c_append(const char *path, long long n)
{
    unsigned char buf[4096];
    pat(buf, sizeof buf, 3);
    double t0 = now();
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_APPEND, 0644);
    if (fd < 0) fail("open", path, 0);
    for (long long i = 0; i < n; i++) {
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) fail("append", path, i);
        if (fsync(fd) < 0) fail("fsync", path, i);
    }
    close(fd);
    result(t0, n, "ops");
    return 0;
}

static int c_null(const char *path, long long n)
{
    int fd = open(path, O_CREAT | O_RDWR, 0644);
    if (fd < 0) fail("open", path, 0);
    char v[16];
    double t0 = now();
    for (long long i = 0; i < n; i++)
        if (fgetxattr(fd, "user.lsmfs-bench-none", v, sizeof v) >= 0 ||
            (errno != ENODATA && errno != ENOTSUP))
            fail("fgetxattr (expected ENODATA)", path, i);
    result(t0, n, "ops");
    close(fd);
    return 0;
}

struct par { const char *dir; int id; long long n; size_t size; int err; };

static void *par_worker(void *arg)
{
    struct par *p = arg;
    unsigned char *buf = malloc(p->size + 1);
    pat(buf, p->size, (uint64_t)p->id);
    char a[4096];
    for (long long i = 0; i < p->n; i++) {
        snprintf(a, sizeof a, "%s/w%d_%07lld", p->dir, p->id, i);
        int fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0 || write(fd, buf, p->size) != (ssize_t)p->size || close(fd) < 0) {
            fprintf(stderr, "fs_bench: par_create %s: %s\n", a, strerror(errno));
            p->err = 1;
            break;
        }
    }
    free(buf);
    return NULL;
}

static int c_par(const char *dir, int threads, long long n, size_t size)
{
    pthread_t th[64];
    struct par p[64];
    if (threads < 1 || threads > 64) return 2;
    double t0 = now();
    for (int i = 0; i < threads; i++) {
        p[i] = (struct par){.dir = dir, .id = i, .n = n, .size = size};
        pthread_create(&th[i], NULL, par_worker, &p[i]);
    }
    int err = 0;
    for (int i = 0; i < threads; i++) { pthread_join(th[i], NULL); err |= p[i].err; }
    if (err) return 1;
    result(t0, n * threads, "files");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) goto usage;
    const char *op = argv[1];
    if (!strcmp(op, "create") || !strcmp(op, "stat") || !strcmp(op, "readdir") ||
        !strcmp(op, "rename") || !strcmp(op, "unlink")) {
        if (argc != 4) goto usage;
        return c_meta(op, argv[2], atoll(argv[3]));
    }
    if (!strcmp(op, "small_write") || !strcmp(op, "small_read")) {
        if (argc != 5) goto usage;
        return c_small(op[6] == 'w', argv[2], atoll(argv[3]), (size_t)atoll(argv[4]));
    }
    if (!strcmp(op, "seq_write") && argc == 4) return c_seq(1, argv[2], atoll(argv[3]));
    if (!strcmp(op, "seq_read") && argc == 3) return c_seq(0, argv[2], 0);
    if ((!strcmp(op, "rand_prep") || !strcmp(op, "rand_write") || !strcmp(op, "rand_read")) && argc == 4)
        return c_rand(op, argv[2], atoll(argv[3]));
    if (!strcmp(op, "append_fsync") && argc == 4) return c_append(argv[2], atoll(argv[3]));
    if (!strcmp(op, "null_req") && argc == 4) return c_null(argv[2], atoll(argv[3]));
    if (!strcmp(op, "par_create") && argc == 6)
        return c_par(argv[2], atoi(argv[3]), atoll(argv[4]), (size_t)atoll(argv[5]));
usage:
    fprintf(stderr, "usage: see the header of tests/bench/fs_bench.c\n");
    return 2;
}
