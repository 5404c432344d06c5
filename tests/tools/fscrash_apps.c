/*
 * fscrash_apps.c - application write patterns for the filesystem crash test
 * (tests/crash/test_fs_apps.sh), and their checkers.
 *
 *   fscrash_apps replace        --dir D --journal J --seed S [--files N]
 *   fscrash_apps verify-replace --dir D --journal J --seed S [--files N]
 *   fscrash_apps append         --file F --journal J --seed S
 *   fscrash_apps verify-append  --file F --journal J --seed S [--wb]
 *
 * replace: the editor / package-manager pattern. For generation g = 1, 2, ... of file
 * t<i> (round robin over N files): write the whole new content to t<i>.tmp, fsync it,
 * close, rename over t<i>; every few generations fsync the directory too. Journal (outside
 * the mount): "B <g> <i>" before the rename, "C <g>" after it returned. The content of
 * generation g is a pure function of (seed, i, g), starting with a header naming both.
 * verify-replace: every t<i> holds exactly, completely, the content of the last generation
 * whose rename completed, or of the one in doubt (never a mix, never missing once a rename
 * completed).
 *
 * append: the log pattern. Records of varying length (a pure function of seed and record
 * number) are appended with write(2) on an O_APPEND descriptor (a short count, which the
 * daemon's death can cause, is journaled and the rest retried); every few records an
 * fsync. Journal: "W <bytes>" after each write returned (total length so far), "S
 * <bytes>" after each fsync returned. verify-append: the log is a prefix of the record
 * stream, at least as long as the last fsync'ed length, and no longer than what was
 * written (plus the write in doubt); without the writeback cache (no --wb) it holds at
 * least every completed write too.
 *
 * Both loops run until an error (the daemon was killed): exit 3 when the mount is dead,
 * 1 on any other error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

/* The errors a process sees when the daemon dies: ENOTCONN once the kernel has aborted the
 * connection, ECONNABORTED for requests caught by the abort, and ECANCELED (FUSE-over-
 * io_uring) for a request handed to a ring whose task is already dead, before the kernel
 * has released the ring and aborted the connection. */
#define DEAD_MOUNT_ERR(e) ((e) == ENOTCONN || (e) == ECONNABORTED || (e) == ECANCELED)

#define APP_MAX_FILES 16
#define APP_MAX_CONTENT (160u << 10)

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void die(const char *what)
{
    fprintf(stderr, "fscrash_apps: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void jwrite(int fd, const char *fmt, ...)
{
    char line[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || write(fd, line, (size_t)n) != n)
        die("journal write");
}

/* Exit status after a failed call: 3 when the daemon is gone, 1 otherwise. */
/* probe: a path in the mount, asked with statfs (which always reaches the daemon). */
static int stop_at(const char *probe, const char *what, int e)
{
    struct statfs sf;
    if (DEAD_MOUNT_ERR(e) ||
        (statfs(probe, &sf) != 0 && (DEAD_MOUNT_ERR(errno))))
        return 3;
    fprintf(stderr, "fscrash_apps: %s: %s\n", what, strerror(e));
    return 1;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap);
    for (;;) {
        if (!b)
            die("malloc");
        if (n == cap && !(b = realloc(b, cap *= 2)))
            die("realloc");
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(b);
            close(fd);
            errno = e;
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *len = n;
    return b;
}

/* ---- replace ---- */

/* Content of generation g of file i: header line, then pseudo-random bytes. */
static unsigned char *gen_content(uint64_t seed, int i, uint64_t g, size_t *len)
{
    uint64_t s = seed ^ ((uint64_t)i << 56) ^ (g * 0x100000001b3ull);
    size_t n = 64 + (size_t)(rng_next(&s) % APP_MAX_CONTENT);
    unsigned char *p = malloc(n);
    if (!p)
        die("malloc");
    int h = snprintf((char *)p, 64, "file %d generation %" PRIu64 "\n", i, g);
    for (size_t k = (size_t)h; k < n; k++)
        p[k] = (unsigned char)rng_next(&s);
    *len = n;
    return p;
}

static int run_replace(const char *dir, const char *journal, uint64_t seed, int files)
{
    int jfd = open(journal, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (jfd < 0)
        die(journal);
    if (chdir(dir) != 0)
        return stop_at(".", dir, errno);
    char tmp[64], name[64];
    for (uint64_t g = 1;; g++) {
        int i = (int)(g % (uint64_t)files);
        size_t len;
        unsigned char *p = gen_content(seed, i, g, &len);
        snprintf(tmp, sizeof(tmp), "t%d.tmp", i);
        snprintf(name, sizeof(name), "t%d", i);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            int oerr = errno;
            free(p);
            return stop_at(".", "open temp", oerr);
        }
        int wr = write_all(fd, p, len), werr = errno;
        free(p);
        if (wr != 0)
            return stop_at(".", "write temp", werr);
        if (fsync(fd) != 0)
            return stop_at(".", "fsync temp", errno);
        if (close(fd) != 0)
            return stop_at(".", "close temp", errno);
        jwrite(jfd, "B %" PRIu64 " %d\n", g, i);
        if (rename(tmp, name) != 0)
            return stop_at(".", "rename", errno);
        jwrite(jfd, "C %" PRIu64 "\n", g);
        if (g % 4 == 0) {
            int d = open(".", O_RDONLY | O_DIRECTORY);
            if (d < 0)
                return stop_at(".", "open dir", errno);
            if (fsync(d) != 0)
                return stop_at(".", "fsync dir", errno);
            close(d);
        }
    }
}

static int verify_replace(const char *dir, const char *journal, uint64_t seed, int files)
{
    uint64_t last[APP_MAX_FILES] = {0}, doubt_g = 0, b_g = 0;
    int doubt_i = -1, b_i = -1, bad = 0;
    FILE *f = fopen(journal, "r");
    if (!f)
        die(journal);
    char line[128];
    uint64_t g;
    int i;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "B %" SCNu64 " %d", &g, &i) == 2 && i >= 0 && i < files) {
            b_g = g;
            b_i = i;
        } else if (sscanf(line, "C %" SCNu64, &g) == 1 && g == b_g && b_i >= 0) {
            last[b_i] = g;
            b_i = -1;
        } else {
            printf("%s: bad journal line '%s'\n", journal, line);
            bad = 1;
        }
    }
    fclose(f);
    if (b_i >= 0) {
        doubt_g = b_g;
        doubt_i = b_i;
    }
    uint64_t renames = 0;
    for (i = 0; i < files; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/t%d", dir, i);
        size_t len;
        unsigned char *got = read_file(path, &len);
        renames += last[i];
        if (!got) {
            if (errno == ENOENT && last[i] == 0)
                continue; /* never replaced (or only in doubt) */
            printf("%s: %s (last completed generation %" PRIu64 ")\n", path, strerror(errno),
                   last[i]);
            bad = 1;
            continue;
        }
        int ok = 0;
        uint64_t cands[2] = {last[i], i == doubt_i ? doubt_g : 0};
        for (int c = 0; c < 2 && !ok; c++) {
            if (cands[c] == 0)
                continue;
            size_t wl;
            unsigned char *want = gen_content(seed, i, cands[c], &wl);
            ok = wl == len && memcmp(want, got, len) == 0;
            free(want);
        }
        if (!ok) {
            char head[64] = "";
            memcpy(head, got, len < 63 ? len : 63);
            head[strcspn(head, "\n")] = '\0';
            printf("%s: %zu bytes starting '%s', expected all of generation %" PRIu64 "%s\n",
                   path, len, head, last[i], i == doubt_i ? " or the one in doubt" : "");
            bad = 1;
        }
        free(got);
    }
    printf("replace: %d files, %" PRIu64 " renames completed%s\n", files, renames,
           doubt_i >= 0 ? " (one rename in doubt)" : "");
    return bad;
}

/* ---- append ---- */

/* Record n of the log: "rec <n> " then letters, then a newline; 16..2000 bytes. */
static size_t record(uint64_t seed, uint64_t n, char *out)
{
    uint64_t s = seed ^ (n * 0x9e3779b97f4a7c15ull);
    size_t len = 16 + (size_t)(rng_next(&s) % 1985);
    int h = snprintf(out, 32, "rec %" PRIu64 " ", n);
    for (size_t k = (size_t)h; k + 1 < len; k++)
        out[k] = (char)('a' + rng_next(&s) % 26);
    out[len - 1] = '\n';
    return len;
}

static int run_append(const char *file, const char *journal, uint64_t seed)
{
    int jfd = open(journal, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (jfd < 0)
        die(journal);
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        return stop_at(file, "open log", errno);
    char rec[2048];
    uint64_t total = 0, s = seed;
    for (uint64_t n = 1;; n++) {
        size_t len = record(seed, n, rec), done = 0;
        while (done < len) { /* a write cut short by the daemon's death returns a count */
            ssize_t w = write(fd, rec + done, len - done);
            if (w < 0)
                return stop_at(file, "append", errno);
            done += (size_t)w;
            total += (uint64_t)w;
            jwrite(jfd, "W %" PRIu64 "\n", total);
        }
        if (rng_next(&s) % 8 == 0) {
            if (fsync(fd) != 0)
                return stop_at(file, "fsync log", errno);
            jwrite(jfd, "S %" PRIu64 "\n", total);
        }
    }
}

static int verify_append(const char *file, const char *journal, uint64_t seed, int wb)
{
    uint64_t written = 0, synced = 0, v;
    FILE *f = fopen(journal, "r");
    if (!f)
        die(journal);
    char line[128];
    int bad = 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "W %" SCNu64, &v) == 1)
            written = v;
        else if (sscanf(line, "S %" SCNu64, &v) == 1)
            synced = v;
        else {
            printf("%s: bad journal line '%s'\n", journal, line);
            bad = 1;
        }
    }
    fclose(f);
    size_t len = 0;
    unsigned char *got = read_file(file, &len);
    if (!got) {
        if (errno == ENOENT && written == 0)
            return bad;
        printf("%s: %s\n", file, strerror(errno));
        return 1;
    }
    /* compare with the record stream */
    char rec[2048];
    size_t pos = 0, doubt = 0;
    uint64_t n = 1;
    while (pos < len) {
        size_t rl = record(seed, n++, rec);
        size_t cmp = len - pos < rl ? len - pos : rl;
        if (memcmp(got + pos, rec, cmp) != 0) {
            size_t at = 0;
            while (got[pos + at] == (unsigned char)rec[at])
                at++;
            printf("%s: not a prefix of what was appended: differs at offset %zu (record %"
                   PRIu64 ")\n", file, pos + at, n - 1);
            bad = 1;
            break;
        }
        pos += rl;
    }
    /* the rest of the record being written (the next one, at a record boundary) may be in
     * doubt: the log may end anywhere up to its end */
    for (pos = 0, n = 1; pos <= written; n++)
        pos += record(seed, n, rec);
    doubt = pos - written;
    if (len < synced) {
        printf("%s: %zu bytes, but %" PRIu64 " were fsync'ed\n", file, len, synced);
        bad = 1;
    }
    if (!wb && len < written) {
        printf("%s: %zu bytes, but %" PRIu64 " were written (no writeback cache: every completed"
               " write must survive the daemon)\n", file, len, written);
        bad = 1;
    }
    if (len > written + doubt) {
        printf("%s: %zu bytes, more than the %" PRIu64 " written + %zu in doubt\n", file, len,
               written, doubt);
        bad = 1;
    }
    printf("append: %zu bytes (%" PRIu64 " written, %" PRIu64 " fsync'ed)\n", len, written, synced);
    free(got);
    return bad;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: fscrash_apps replace|verify-replace --dir D --journal J --seed S [--files N]\n"
            "       fscrash_apps append|verify-append --file F --journal J --seed S [--wb]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *cmd = argv[1], *dir = NULL, *file = NULL, *journal = NULL;
    uint64_t seed = 0;
    int files = 4, wb = 0, have_seed = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--dir") && v) { dir = v; i++; }
        else if (!strcmp(a, "--file") && v) { file = v; i++; }
        else if (!strcmp(a, "--journal") && v) { journal = v; i++; }
        else if (!strcmp(a, "--seed") && v) { seed = strtoull(v, NULL, 0); have_seed = 1; i++; }
        else if (!strcmp(a, "--files") && v) { files = atoi(v); i++; }
        else if (!strcmp(a, "--wb")) wb = 1;
        else usage();
    }
    if (!journal || !have_seed || files < 1 || files > APP_MAX_FILES)
        usage();
    if (!strcmp(cmd, "replace") && dir)
        return run_replace(dir, journal, seed, files);
    if (!strcmp(cmd, "verify-replace") && dir)
        return verify_replace(dir, journal, seed, files);
    if (!strcmp(cmd, "append") && file)
        return run_append(file, journal, seed);
    if (!strcmp(cmd, "verify-append") && file)
        return verify_append(file, journal, seed, wb);
    usage();
    return 2;
}
