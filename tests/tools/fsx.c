/*
 * fsx.c - file data integrity exerciser in the manner of the classic fsx: random writes,
 * reads, truncates (down and up), fallocate (plain and KEEP_SIZE), punch-hole, mmap reads and
 * writes, fsync + page-cache drops and close/reopen on one file, checked against an in-memory
 * model of what the file must contain.
 *
 *   fsx [-S seed] [-N ops] [-l maxlen] [-o maxoplen] [-F] [-H] [-M] [-m modelfile] [-v] [-T] FILE
 *
 *   -T prints the mean time of each op type at the end (ops over 1 s are always reported);
 *   -F no fallocate, -H no punch-hole, -M no mmap (for reference targets that lack them);
 *   -m writes the final model to modelfile, so a script can compare the file after remount.
 *
 * Invariants: the run is reproducible from the seed (printed first); the model's bytes at and
 * beyond the model size are always zero; every read and every periodic whole-file check must
 * match the model byte for byte, and the size must match. On the first mismatch it prints the
 * seed, the op number, the first differing offset with expected/actual bytes and the last
 * 64 ops, and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum op { OP_READ, OP_WRITE, OP_MAPREAD, OP_MAPWRITE, OP_TRUNC, OP_FALLOC, OP_FALLOC_KEEP,
          OP_PUNCH, OP_SYNC_DROP, OP_REOPEN, OP_CHECK, OP_COUNT };
static const char *op_names[OP_COUNT] = {"read", "write", "mapread", "mapwrite", "truncate",
    "fallocate", "falloc_keep", "punch", "sync_drop", "reopen", "check"};

#define LOG_N 64

struct logent { long n; enum op op; long long off, len, size_before; };

struct fsx {
    const char *path;
    int fd;
    uint64_t rng;
    long long maxlen, maxop, size;
    unsigned char *model, *buf;
    int no_falloc, no_punch, no_mmap, verbose;
    long opno;
    struct logent log[LOG_N];
    long pagesize;
    unsigned long long seed;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(struct fsx *f)
{
    uint64_t x = f->rng;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    f->rng = x;
    return x * 2685821657736338717ULL;
}

static long long rnd_range(struct fsx *f, long long n) { return n > 0 ? (long long)(rnd(f) % (uint64_t)n) : 0; }

static void log_op(struct fsx *f, enum op op, long long off, long long len)
{
    struct logent *e = &f->log[f->opno % LOG_N];
    e->n = f->opno; e->op = op; e->off = off; e->len = len; e->size_before = f->size;
    if (f->verbose)
        printf("%6ld %-11s off %9lld len %8lld (size %lld)\n", f->opno, op_names[op], off, len, f->size);
}

static void dump_log(struct fsx *f)
{
    printf("last ops (oldest first):\n");
    long first = f->opno - LOG_N + 1;
    if (first < 1) first = 1;
    for (long n = first; n <= f->opno; n++) {
        struct logent *e = &f->log[n % LOG_N];
        if (e->n != n) continue;
        printf("  %6ld %-11s off %9lld (0x%llx) len %8lld end %9lld  size before %lld\n", e->n,
               op_names[e->op], e->off, e->off, e->len, e->off + e->len, e->size_before);
    }
}

static void die(struct fsx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(struct fsx *f, const char *fmt, ...)
{
    va_list ap;
    printf("fsx FAILED at op %ld (seed %llu, rerun with -S %llu): ", f->opno, f->seed, f->seed);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    dump_log(f);
    fflush(stdout);
    exit(1);
}

static void compare(struct fsx *f, const unsigned char *got, long long off, long long len, const char *what)
{
    if (memcmp(got, f->model + off, (size_t)len) == 0) return;
    long long i = 0;
    while (i < len && got[i] == f->model[off + i]) i++;
    printf("%s mismatch at file offset %lld (0x%llx), %lld bytes into a %lld-byte %s at %lld\n",
           what, off + i, off + i, i, len, what, off);
    printf("  expected:");
    for (long long k = i; k < len && k < i + 16; k++) printf(" %02x", f->model[off + k]);
    printf("\n  got:     ");
    for (long long k = i; k < len && k < i + 16; k++) printf(" %02x", got[k]);
    printf("\n");
    die(f, "data mismatch (%s)", what);
}

static void check_size(struct fsx *f, const char *when)
{
    struct stat st;
    if (fstat(f->fd, &st) < 0) die(f, "fstat: %s", strerror(errno));
    if (st.st_size != f->size)
        die(f, "size is %lld, model says %lld (%s)", (long long)st.st_size, f->size, when);
}

static void do_read(struct fsx *f, long long off, long long len)
{
    ssize_t want = off >= f->size ? 0 : (ssize_t)(len < f->size - off ? len : f->size - off);
    ssize_t got = pread(f->fd, f->buf, (size_t)len, off);
    if (got < 0) die(f, "pread(%lld, %lld): %s", off, len, strerror(errno));
    if (got != want) die(f, "pread(%lld, %lld) returned %zd, want %zd", off, len, got, want);
    compare(f, f->buf, off, got, "read");
}

static void full_check(struct fsx *f)
{
    check_size(f, "full check");
    do_read(f, 0, f->size + 1);
}

static void pattern(struct fsx *f, unsigned char *p, long long off, long long len)
{
    for (long long i = 0; i < len; i++)
        p[i] = (unsigned char)(((off + i) % 253) ^ (f->opno & 0xff)) | 1; /* never 0: holes stay visible */
}

static void do_write(struct fsx *f, long long off, long long len)
{
    pattern(f, f->model + off, off, len);
    ssize_t w = pwrite(f->fd, f->model + off, (size_t)len, off);
    if (w != len) die(f, "pwrite(%lld, %lld) returned %zd: %s", off, len, w, strerror(errno));
    if (off + len > f->size) f->size = off + len;
}

static void do_truncate(struct fsx *f, long long nsize)
{
    if (ftruncate(f->fd, nsize) < 0) die(f, "ftruncate(%lld): %s", nsize, strerror(errno));
    if (nsize < f->size) memset(f->model + nsize, 0, (size_t)(f->size - nsize));
    f->size = nsize;
}

static void do_mapread(struct fsx *f, long long off, long long len)
{
    if (f->size == 0) return;
    if (off >= f->size) off = off % f->size;
    if (off + len > f->size) len = f->size - off;
    long long pg = off & ~(long long)(f->pagesize - 1);
    size_t mlen = (size_t)(off + len - pg);
    unsigned char *m = mmap(NULL, mlen, PROT_READ, MAP_SHARED, f->fd, pg);
    if (m == MAP_FAILED) die(f, "mmap read(%lld, %zu): %s", pg, mlen, strerror(errno));
    memcpy(f->buf, m + (off - pg), (size_t)len);
    munmap(m, mlen);
    compare(f, f->buf, off, len, "mapread");
}

static void do_mapwrite(struct fsx *f, long long off, long long len)
{
    if (off + len > f->size) do_truncate(f, off + len); /* mapped pages must lie inside the file */
    long long pg = off & ~(long long)(f->pagesize - 1);
    size_t mlen = (size_t)(off + len - pg);
    unsigned char *m = mmap(NULL, mlen, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, pg);
    if (m == MAP_FAILED) die(f, "mmap write(%lld, %zu): %s", pg, mlen, strerror(errno));
    pattern(f, f->model + off, off, len);
    memcpy(m + (off - pg), f->model + off, (size_t)len);
    if (msync(m, mlen, MS_SYNC) < 0) die(f, "msync: %s", strerror(errno));
    munmap(m, mlen);
}

static void do_falloc(struct fsx *f, int mode, long long off, long long len)
{
    if (fallocate(f->fd, mode, off, len) < 0)
        die(f, "fallocate(mode %#x, %lld, %lld): %s", mode, off, len, strerror(errno));
    if (mode & FALLOC_FL_PUNCH_HOLE) {
        long long end = off + len < f->size ? off + len : f->size;
        if (off < end) memset(f->model + off, 0, (size_t)(end - off));
    } else if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > f->size) {
        f->size = off + len;
    }
}

static void do_reopen(struct fsx *f)
{
    if (close(f->fd) < 0) die(f, "close: %s", strerror(errno));
    f->fd = open(f->path, O_RDWR);
    if (f->fd < 0) die(f, "reopen %s: %s", f->path, strerror(errno));
}

static void sync_drop(struct fsx *f)
{
    if (fsync(f->fd) < 0) die(f, "fsync: %s", strerror(errno));
    posix_fadvise(f->fd, 0, 0, POSIX_FADV_DONTNEED);
}

static void one_op(struct fsx *f)
{
    /* weights: reads and writes dominate; the rest keep the file shape changing */
    static const struct { enum op op; int w; } table[] = {
        {OP_READ, 20}, {OP_WRITE, 24}, {OP_MAPREAD, 6}, {OP_MAPWRITE, 6}, {OP_TRUNC, 8},
        {OP_FALLOC, 4}, {OP_FALLOC_KEEP, 3}, {OP_PUNCH, 7}, {OP_SYNC_DROP, 4}, {OP_REOPEN, 2},
    };
    int total = 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) total += table[i].w;
    enum op op = OP_READ;
    for (;;) {
        int r = (int)rnd_range(f, total);
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
            if (r < table[i].w) { op = table[i].op; break; }
            r -= table[i].w;
        }
        if ((op == OP_MAPREAD || op == OP_MAPWRITE) && f->no_mmap) continue;
        if ((op == OP_FALLOC || op == OP_FALLOC_KEEP) && f->no_falloc) continue;
        if (op == OP_PUNCH && (f->no_punch || f->no_falloc)) continue;
        break;
    }
    long long off = rnd_range(f, f->maxlen);
    long long len = 1 + rnd_range(f, f->maxop);
    /* a third of the ops are block aligned, the rest land anywhere */
    if (rnd_range(f, 3) == 0) { off &= ~4095LL; len = (len + 4095) & ~4095LL; }
    if (off + len > f->maxlen) len = f->maxlen - off;
    if (len <= 0) { off = 0; len = 1; }
    switch (op) {
    case OP_READ:
        if (f->size && rnd_range(f, 4)) off = rnd_range(f, f->size); /* mostly inside the file */
        log_op(f, op, off, len);
        do_read(f, off, len);
        break;
    case OP_WRITE: log_op(f, op, off, len); do_write(f, off, len); break;
    case OP_MAPREAD: log_op(f, op, off, len); do_mapread(f, off, len); break;
    case OP_MAPWRITE: log_op(f, op, off, len); do_mapwrite(f, off, len); break;
    case OP_TRUNC: {
        long long ns = rnd_range(f, f->maxlen + 1);
        if (rnd_range(f, 4) == 0) ns &= ~4095LL;
        log_op(f, op, ns, 0);
        do_truncate(f, ns);
        break;
    }
    case OP_FALLOC: log_op(f, op, off, len); do_falloc(f, 0, off, len); break;
    case OP_FALLOC_KEEP: log_op(f, op, off, len); do_falloc(f, FALLOC_FL_KEEP_SIZE, off, len); break;
    case OP_PUNCH:
        if (f->size && rnd_range(f, 4)) off = rnd_range(f, f->size);
        if (off + len > f->maxlen) len = f->maxlen - off;
        log_op(f, op, off, len);
        do_falloc(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
        break;
    case OP_SYNC_DROP: log_op(f, op, 0, 0); sync_drop(f); break;
    case OP_REOPEN: log_op(f, op, 0, 0); do_reopen(f); break;
    default: break;
    }
}

int main(int argc, char **argv)
{
    struct fsx f = {0};
    unsigned long long seed = (unsigned long long)time(NULL) ^ (unsigned long long)getpid() << 16;
    long nops = 10000;
    const char *modelout = NULL;
    f.maxlen = 4 << 20;
    f.maxop = 256 << 10;
    int opt, timing = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt(argc, argv, "S:N:l:o:FHMm:vT")) != -1) {
        switch (opt) {
        case 'S': seed = strtoull(optarg, NULL, 0); break;
        case 'N': nops = strtol(optarg, NULL, 0); break;
        case 'l': f.maxlen = strtoll(optarg, NULL, 0); break;
        case 'o': f.maxop = strtoll(optarg, NULL, 0); break;
        case 'F': f.no_falloc = 1; break;
        case 'H': f.no_punch = 1; break;
        case 'M': f.no_mmap = 1; break;
        case 'm': modelout = optarg; break;
        case 'v': f.verbose = 1; break;
        case 'T': timing = 1; break;
        default:
            fprintf(stderr, "usage: fsx [-S seed] [-N ops] [-l maxlen] [-o maxoplen] [-F] [-H] [-M] "
                            "[-m modelfile] [-v] FILE\n");
            return 2;
        }
    }
    if (optind != argc - 1 || f.maxlen < 1 || f.maxop < 1) {
        fprintf(stderr, "usage: fsx [options] FILE (see the header of fsx.c)\n");
        return 2;
    }
    f.path = argv[optind];
    f.seed = seed;
    f.rng = seed ? seed : 1;
    f.pagesize = sysconf(_SC_PAGESIZE);
    f.model = calloc(1, (size_t)f.maxlen + (size_t)f.maxop + 1);
    f.buf = malloc((size_t)f.maxlen + (size_t)f.maxop + 1);
    if (!f.model || !f.buf) { fprintf(stderr, "fsx: out of memory\n"); return 2; }
    printf("fsx: seed %llu, %ld ops, file up to %lld bytes, ops up to %lld bytes, %s\n", seed, nops,
           f.maxlen, f.maxop, f.path);
    f.fd = open(f.path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (f.fd < 0) { printf("fsx: open %s: %s\n", f.path, strerror(errno)); return 1; }
    double slow_total = 0, op_time[OP_COUNT] = {0};
    long op_count[OP_COUNT] = {0};
    long slow_n = 0;
    for (f.opno = 1; f.opno <= nops; f.opno++) {
        double t0 = mono_now();
        one_op(&f);
        double dt = mono_now() - t0;
        op_time[f.log[f.opno % LOG_N].op] += dt;
        op_count[f.log[f.opno % LOG_N].op]++;
        if (dt > 1.0) { /* a hang-in-the-making is worth seeing before the time limit hits */
            struct logent *e = &f.log[f.opno % LOG_N];
            if (slow_n++ < 20)
                printf("fsx: slow op %ld: %s off %lld len %lld took %.1f s\n", f.opno, op_names[e->op],
                       e->off, e->len, dt);
            slow_total += dt;
        }
        if (f.opno % 500 == 0) {
            log_op(&f, OP_CHECK, 0, f.size);
            if (f.opno % 1000 == 0) sync_drop(&f);
            full_check(&f);
        }
    }
    f.opno--;
    sync_drop(&f);
    full_check(&f);
    close(f.fd);
    if (modelout) {
        FILE *m = fopen(modelout, "w");
        if (!m || fwrite(f.model, 1, (size_t)f.size, m) != (size_t)f.size || fclose(m) != 0) {
            printf("fsx: cannot write model %s\n", modelout);
            free(f.model);
            free(f.buf);
            return 1;
        }
    }
    printf("fsx: ok, seed %llu, %ld ops, final size %lld", seed, nops, f.size);
    if (slow_n) printf(" (%ld ops took over 1 s, %.1f s in all)", slow_n, slow_total);
    printf("\n");
    if (timing) {
        printf("fsx: time per op type:");
        for (int i = 0; i < OP_COUNT; i++)
            if (op_count[i])
                printf(" %s %ld x %.2f ms;", op_names[i], op_count[i], op_time[i] * 1e3 / (double)op_count[i]);
        printf("\n");
    }
    free(f.model);
    free(f.buf);
    return 0;
}
