/*
 * mtwrite.c - concurrent writers: 8 threads writing disjoint regions of one shared file, and
 * 8 threads each writing its own set of files, then every byte verified.
 *
 *   mtwrite [-t threads] [-r region_bytes] [-f files_per_thread] [-s seed] [-V] DIR
 *
 * -V verifies only (the files a previous run left in DIR, e.g. after a remount).
 * Invariants: every byte's expected value is a pure function of (file id, offset, seed), so
 * verification needs no shared state; writes use random chunk sizes and orders so writers
 * interleave inside blocks at region edges (regions are not block aligned). Exit 0 only when
 * all data matches and every syscall succeeded; mismatches print file, offset, want/got.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cfg {
    const char *dir;
    int threads, files;
    long long region;
    unsigned seed;
};

struct worker {
    const struct cfg *c;
    int id;
    int fd; /* shared file, for the one-file phase */
    int errors;
};

static unsigned char byte_at(unsigned seed, unsigned file, long long off)
{
    uint64_t x = ((uint64_t)seed << 40) ^ ((uint64_t)file << 32) ^ (uint64_t)(off >> 3);
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33;
    return (unsigned char)(x >> ((off & 7) * 8));
}

static void gen(unsigned char *p, unsigned seed, unsigned file, long long off, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = byte_at(seed, file, off + (long long)i);
}

static uint32_t xs(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    return *s = x;
}

/* Writes [start, start+len) of fd with data of file id `file`, in random-size chunks in a
 * shuffled order. Returns the number of failures. */
static int write_region(int fd, unsigned seed, unsigned file, long long start, long long len, uint32_t rs)
{
    enum { MAXCH = 200000 };
    unsigned char *buf = malloc(MAXCH);
    long long nch = 0, *offs = malloc(sizeof(long long) * (size_t)(len / 512 + 2));
    long long *lens = malloc(sizeof(long long) * (size_t)(len / 512 + 2));
    for (long long o = 0; o < len;) {
        long long n = 512 + xs(&rs) % (MAXCH - 512);
        if (n > len - o) n = len - o;
        offs[nch] = start + o; lens[nch++] = n;
        o += n;
    }
    for (long long i = nch - 1; i > 0; i--) {
        long long j = xs(&rs) % (uint32_t)(i + 1), t;
        t = offs[i]; offs[i] = offs[j]; offs[j] = t;
        t = lens[i]; lens[i] = lens[j]; lens[j] = t;
    }
    int err = 0;
    for (long long i = 0; i < nch; i++) {
        gen(buf, seed, file, offs[i], (size_t)lens[i]);
        ssize_t w = pwrite(fd, buf, (size_t)lens[i], offs[i]);
        if (w != lens[i]) {
            printf("pwrite %lld@%lld -> %zd: %s\n", lens[i], offs[i], w, strerror(errno));
            err++;
            break;
        }
    }
    free(buf); free(offs); free(lens);
    return err;
}

static int verify(const char *path, unsigned seed, unsigned file, long long size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) { printf("open %s: %s\n", path, strerror(errno)); return 1; }
    struct stat st;
    fstat(fd, &st);
    int err = 0;
    if (st.st_size != size) { printf("%s: size %lld, want %lld\n", path, (long long)st.st_size, size); err++; }
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    enum { B = 1 << 20 };
    unsigned char *got = malloc(B), *want = malloc(B);
    for (long long off = 0; off < size && !err;) {
        size_t n = (size_t)(size - off < B ? size - off : B);
        ssize_t r = pread(fd, got, n, off);
        if (r != (ssize_t)n) { printf("%s: pread %zu@%lld -> %zd\n", path, n, off, r); err++; break; }
        gen(want, seed, file, off, n);
        if (memcmp(got, want, n)) {
            size_t i = 0;
            while (got[i] == want[i]) i++;
            printf("%s: mismatch at offset %lld: want %02x got %02x\n", path, off + (long long)i, want[i], got[i]);
            err++;
        }
        off += (long long)n;
    }
    free(got); free(want);
    close(fd);
    return err;
}

static void *shared_worker(void *arg)
{
    struct worker *w = arg;
    const struct cfg *c = w->c;
    w->errors += write_region(w->fd, c->seed, 0, (long long)w->id * c->region, c->region,
                              c->seed * 31u + (uint32_t)w->id + 1);
    return NULL;
}

static long long own_size(const struct cfg *c, int thread, int k)
{
    uint32_t s = c->seed ^ (uint32_t)(thread * 7919 + k * 104729 + 1);
    long long sizes[] = {0, 1, 4095, 4096, 4097, 65536, 100000, 1 << 20};
    return sizes[xs(&s) % 8] + (k % 3 == 0 ? (long long)(xs(&s) % 300000) : 0);
}

static void *own_worker(void *arg)
{
    struct worker *w = arg;
    const struct cfg *c = w->c;
    char path[4096];
    for (int k = 0; k < c->files; k++) {
        snprintf(path, sizeof path, "%s/t%d/f%04d", c->dir, w->id, k);
        int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
        if (fd < 0) { printf("create %s: %s\n", path, strerror(errno)); w->errors++; return NULL; }
        long long sz = own_size(c, w->id, k);
        w->errors += write_region(fd, c->seed, (unsigned)(1000 + w->id * 10000 + k), 0, sz, (uint32_t)(k + 1));
        if (k % 16 == 0 && fsync(fd) < 0) { printf("fsync %s: %s\n", path, strerror(errno)); w->errors++; }
        if (close(fd) < 0) { printf("close %s: %s\n", path, strerror(errno)); w->errors++; }
    }
    return NULL;
}

static int verify_all(const struct cfg *c)
{
    char path[4096];
    int err = 0;
    snprintf(path, sizeof path, "%s/shared", c->dir);
    err += verify(path, c->seed, 0, c->region * c->threads);
    for (int t = 0; t < c->threads; t++)
        for (int k = 0; k < c->files; k++) {
            snprintf(path, sizeof path, "%s/t%d/f%04d", c->dir, t, k);
            err += verify(path, c->seed, (unsigned)(1000 + t * 10000 + k), own_size(c, t, k));
        }
    return err;
}

int main(int argc, char **argv)
{
    struct cfg c = {.threads = 8, .files = 40, .region = 3 * 1024 * 1024 + 1234, .seed = 1};
    int verify_only = 0, opt;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt(argc, argv, "t:r:f:s:V")) != -1) {
        switch (opt) {
        case 't': c.threads = atoi(optarg); break;
        case 'r': c.region = atoll(optarg); break;
        case 'f': c.files = atoi(optarg); break;
        case 's': c.seed = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'V': verify_only = 1; break;
        default: fprintf(stderr, "usage: mtwrite [-t n] [-r bytes] [-f n] [-s seed] [-V] DIR\n"); return 2;
        }
    }
    if (optind != argc - 1 || c.threads < 1 || c.threads > 64) {
        fprintf(stderr, "usage: mtwrite [-t n] [-r bytes] [-f n] [-s seed] [-V] DIR\n");
        return 2;
    }
    c.dir = argv[optind];
    if (verify_only) {
        int e = verify_all(&c);
        printf("mtwrite verify: %s\n", e ? "FAILED" : "ok");
        return e ? 1 : 0;
    }
    char path[4096];
    int errors = 0;
    snprintf(path, sizeof path, "%s/shared", c.dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0) { printf("create %s: %s\n", path, strerror(errno)); return 1; }
    pthread_t th[64];
    struct worker w[64];
    for (int i = 0; i < c.threads; i++) {
        w[i] = (struct worker){.c = &c, .id = i, .fd = fd};
        pthread_create(&th[i], NULL, shared_worker, &w[i]);
    }
    for (int i = 0; i < c.threads; i++) { pthread_join(th[i], NULL); errors += w[i].errors; }
    if (fsync(fd) < 0) { printf("fsync shared: %s\n", strerror(errno)); errors++; }
    close(fd);
    printf("mtwrite: %d threads wrote %lld bytes each into one file\n", c.threads, c.region);
    for (int i = 0; i < c.threads; i++) {
        snprintf(path, sizeof path, "%s/t%d", c.dir, i);
        if (mkdir(path, 0755) < 0 && errno != EEXIST) { printf("mkdir %s: %s\n", path, strerror(errno)); return 1; }
    }
    for (int i = 0; i < c.threads; i++) {
        w[i] = (struct worker){.c = &c, .id = i, .fd = -1};
        pthread_create(&th[i], NULL, own_worker, &w[i]);
    }
    for (int i = 0; i < c.threads; i++) { pthread_join(th[i], NULL); errors += w[i].errors; }
    printf("mtwrite: %d threads wrote %d files each\n", c.threads, c.files);
    errors += verify_all(&c);
    printf("mtwrite: %s\n", errors ? "FAILED" : "ok");
    return errors ? 1 : 0;
}
