/*
 * fscrash_work.c - the workload and the checker of the filesystem crash test
 * (tests/crash/test_fs_kill.sh).
 *
 *   fscrash_work run    --dir D --journal J --seed S [--workers W] [--ops N] [--wb]
 *   fscrash_work verify --dir D --journal J [--workers W] [-v]
 *
 * `run` forks W workers; worker i works in D/w<i> and keeps its journal in J.<i> (a file
 * OUTSIDE the mount). Each worker runs random operations on a small tree: create, mkdir,
 * write (through open descriptors, sparse or not), ftruncate, unlink (also of open files),
 * rmdir, link, rename (to new names, over files, over empty directories, across
 * directories), fsync, fsync of a directory, syncfs, close, and read-back checks. Every
 * operation is one mutating system call; the worker journals it as
 *     B <seq> <op> <args>     before the call,
 *     C <seq>                 after the call returned success,
 *     F <seq> <errno>         after it failed (the worker then stops),
 * with one write(2) per line on an O_APPEND descriptor, so the journal is exact: every C
 * operation completed, at most one operation (the last B) is in doubt. A worker stops at
 * its first error: exit 3 when the daemon is gone (the error is ENOTCONN/ECONNABORTED/ECANCELED, or
 * the mount answers ENOTCONN right after it: a close whose writeback failed says EIO),
 * exit 1 for any other error or a read-back mismatch, 0 after --ops operations.
 *
 * `verify` replays each journal into a model of the tree (the same apply code the worker
 * used to choose its operations) and compares the mounted tree with it:
 *   - readdir and lstat agree: every listed name stats, no name is listed twice, d_type
 *     matches, and every name the model expects is listed;
 *   - the set of names, their types, and which names are hard links of one inode
 *     (st_ino) are exactly the model's; st_nlink is the number of names (directories:
 *     2 + subdirectories);
 *   - file contents: without the writeback cache exactly the model's bytes; with --wb
 *     (the mount uses the kernel writeback cache; the journal header records it) a file
 *     whose last data change was followed by an fsync holds exactly those bytes (syncfs
 *     is no sync point there, see model_apply), and a file with unsynced writes holds, at
 *     each offset, a byte of one of its versions since the last fsync (zero past a
 *     version's end), and no more bytes than its largest such version.
 * The operation in doubt is checked both ways: the tree must match the model without it
 * or the model with it (a write in doubt may also be partly there). Namespace operations
 * reach the daemon synchronously in both modes, so every completed one must be there.
 * Exit 0 when every worker's tree matches, 1 otherwise (with the differences printed).
 *
 * Content is never stored in the journal: a write's bytes are a pure function of its data
 * seed, so the model regenerates them.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The errors a process sees when the daemon dies: ENOTCONN once the kernel has aborted the
 * connection, ECONNABORTED for requests caught by the abort, and ECANCELED (FUSE-over-
 * io_uring) for a request handed to a ring whose task is already dead, before the kernel
 * has released the ring and aborted the connection. */
#define DEAD_MOUNT_ERR(e) ((e) == ENOTCONN || (e) == ECONNABORTED || (e) == ECANCELED)

#define FSC_MAX_NODES 65536
#define FSC_MAX_DENTS 256
#define FSC_SLOTS 6
#define FSC_MAX_SIZE (512u << 10)
#define FSC_MAX_VERS 8
#define FSC_NAME 24
#define FSC_PATH 256
#define FSC_HIST 8

/* ---- random numbers (splitmix64: reproducible from the seed) ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n) { return n ? rng_next(s) % n : 0; }

static void fill_data(uint64_t dseed, unsigned char *p, size_t n)
{
    uint64_t s = dseed, v = 0;
    for (size_t i = 0; i < n; i++) {
        if ((i & 7) == 0)
            v = rng_next(&s);
        p[i] = (unsigned char)(v >> ((i & 7) * 8));
    }
}

/* ---- the model ---- */

typedef struct {
    unsigned char *data;
    size_t size;
} fbuf_t;

typedef struct {
    char type;            /* 'f' file, 'd' directory, 0 unused */
    int names;            /* dentries naming it (0: unlinked, maybe still open) */
    fbuf_t cur;           /* files: the content after every completed operation */
    fbuf_t vers[FSC_MAX_VERS]; /* files: contents since the last sync (vers[0] synced) */
    int nvers;
    char hist[FSC_HIST][48];   /* the last operations that changed or synced it (diagnostics) */
    int nhist;
} node_t;

typedef struct {
    int dir;              /* node number of the directory (0 = the worker's root) */
    char name[FSC_NAME];
    int node;
} dent_t;

typedef struct {
    node_t *nodes;
    int nnodes;
    dent_t dents[FSC_MAX_DENTS];
    int ndents;
    int slots[FSC_SLOTS]; /* node open in each descriptor slot, -1 none */
    int wb;               /* writeback mode: only fsync makes data certain */
    unsigned next_name;
    uint64_t seq;         /* journal sequence number of the operation being applied */
} model_t;

static void fbuf_free(fbuf_t *b) { free(b->data); b->data = NULL; b->size = 0; }

static int fbuf_copy(fbuf_t *dst, const fbuf_t *src)
{
    dst->size = src->size;
    dst->data = malloc(src->size ? src->size : 1);
    if (!dst->data)
        return -1;
    if (src->size)
        memcpy(dst->data, src->data, src->size);
    return 0;
}

static int fbuf_resize(fbuf_t *b, size_t n)
{
    unsigned char *p = realloc(b->data, n ? n : 1);
    if (!p)
        return -1;
    if (n > b->size)
        memset(p + b->size, 0, n - b->size);
    b->data = p;
    b->size = n;
    return 0;
}

static void die_oom(void)
{
    fprintf(stderr, "fscrash_work: out of memory\n");
    exit(2);
}

static void model_init(model_t *m, int wb)
{
    memset(m, 0, sizeof(*m));
    m->nodes = calloc(FSC_MAX_NODES, sizeof(node_t));
    if (!m->nodes)
        die_oom();
    m->nodes[0].type = 'd';
    m->nodes[0].names = 1;
    m->nnodes = 1;
    m->wb = wb;
    for (int i = 0; i < FSC_SLOTS; i++)
        m->slots[i] = -1;
}

static void node_drop_versions(node_t *n)
{
    for (int i = 0; i < n->nvers; i++)
        fbuf_free(&n->vers[i]);
    n->nvers = 0;
}

static void model_free(model_t *m)
{
    for (int i = 0; i < m->nnodes; i++) {
        fbuf_free(&m->nodes[i].cur);
        node_drop_versions(&m->nodes[i]);
    }
    free(m->nodes);
    m->nodes = NULL;
}

static void model_clone(model_t *dst, const model_t *src)
{
    *dst = *src;
    dst->nodes = calloc(FSC_MAX_NODES, sizeof(node_t));
    if (!dst->nodes)
        die_oom();
    for (int i = 0; i < src->nnodes; i++) {
        const node_t *s = &src->nodes[i];
        node_t *d = &dst->nodes[i];
        d->type = s->type;
        d->names = s->names;
        d->nvers = s->nvers;
        d->nhist = s->nhist;
        memcpy(d->hist, s->hist, sizeof(d->hist));
        if (s->type == 'f' && fbuf_copy(&d->cur, &s->cur) != 0)
            die_oom();
        for (int v = 0; v < s->nvers; v++)
            if (fbuf_copy(&d->vers[v], &s->vers[v]) != 0)
                die_oom();
    }
}

/* The file's content is now certain (synced, or no writeback cache): one version. */
static void node_sync(node_t *n)
{
    if (n->type != 'f')
        return;
    node_drop_versions(n);
    if (fbuf_copy(&n->vers[0], &n->cur) != 0)
        die_oom();
    n->nvers = 1;
}

/* The file's content changed: remember the new version (all of them are possible after a
 * crash in writeback mode). */
static void node_changed(model_t *m, node_t *n)
{
    if (!m->wb || n->nvers == 0) {
        node_sync(n);
        return;
    }
    if (n->nvers == FSC_MAX_VERS) { /* the worker syncs before this happens */
        fprintf(stderr, "fscrash_work: too many unsynced versions\n");
        exit(2);
    }
    if (fbuf_copy(&n->vers[n->nvers], &n->cur) != 0)
        die_oom();
    n->nvers++;
}

/* Notes an operation on a file, with the journal sequence number it had. */
static void node_hist(model_t *m, node_t *n, const char *fmt, ...)
{
    char text[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n->nhist == FSC_HIST) {
        memmove(n->hist[0], n->hist[1], sizeof(n->hist[0]) * (FSC_HIST - 1));
        n->nhist--;
    }
    snprintf(n->hist[n->nhist++], sizeof(n->hist[0]), "#%" PRIu64 " %s", m->seq, text);
}

static int new_node(model_t *m, char type)
{
    if (m->nnodes >= FSC_MAX_NODES)
        return -1;
    int id = m->nnodes++;
    node_t *n = &m->nodes[id];
    memset(n, 0, sizeof(*n));
    n->type = type;
    if (type == 'f')
        node_sync(n);
    return id;
}

static int dent_find(const model_t *m, int dir, const char *name)
{
    for (int i = 0; i < m->ndents; i++)
        if (m->dents[i].dir == dir && strcmp(m->dents[i].name, name) == 0)
            return i;
    return -1;
}

static void dent_remove(model_t *m, int i)
{
    m->dents[i] = m->dents[--m->ndents];
}

/* A node no name and no descriptor reaches can never be seen again: free its contents. */
static void node_gc(model_t *m, int n)
{
    if (n <= 0 || m->nodes[n].names > 0)
        return;
    for (int i = 0; i < FSC_SLOTS; i++)
        if (m->slots[i] == n)
            return;
    fbuf_free(&m->nodes[n].cur);
    node_drop_versions(&m->nodes[n]);
}

/* Resolves "a/b/c" to (parent directory node, last name). Returns 0 or -1. */
static int resolve_parent(const model_t *m, const char *path, int *dir, const char **last)
{
    char comp[FSC_NAME];
    int cur = 0;
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        if (!slash) {
            if (!*p || strlen(p) >= FSC_NAME)
                return -1;
            *dir = cur;
            *last = p;
            return 0;
        }
        size_t len = (size_t)(slash - p);
        if (len == 0 || len >= FSC_NAME)
            return -1;
        memcpy(comp, p, len);
        comp[len] = '\0';
        int d = dent_find(m, cur, comp);
        if (d < 0 || m->nodes[m->dents[d].node].type != 'd')
            return -1;
        cur = m->dents[d].node;
        p = slash + 1;
    }
}

/* Node named by path ("." is the root), or -1. */
static int resolve(const model_t *m, const char *path)
{
    if (strcmp(path, ".") == 0)
        return 0;
    int dir;
    const char *last;
    if (resolve_parent(m, path, &dir, &last) != 0)
        return -1;
    int d = dent_find(m, dir, last);
    return d < 0 ? -1 : m->dents[d].node;
}

static int dir_empty(const model_t *m, int node)
{
    for (int i = 0; i < m->ndents; i++)
        if (m->dents[i].dir == node)
            return 0;
    return 1;
}

static int subdirs(const model_t *m, int node)
{
    int n = 0;
    for (int i = 0; i < m->ndents; i++)
        if (m->dents[i].dir == node && m->nodes[m->dents[i].node].type == 'd')
            n++;
    return n;
}

/* Is node `a` the directory `d` or one of its ancestors... i.e. is d inside a's subtree? */
static int in_subtree(const model_t *m, int a, int d)
{
    while (d != 0) {
        if (d == a)
            return 1;
        int up = -1;
        for (int i = 0; i < m->ndents; i++)
            if (m->dents[i].node == d && m->nodes[d].type == 'd') {
                up = m->dents[i].dir;
                break;
            }
        if (up < 0)
            return 0;
        d = up;
    }
    return a == 0;
}

static void path_of(const model_t *m, int dent, char *out, size_t cap)
{
    char tmp[FSC_PATH];
    snprintf(out, cap, "%s", m->dents[dent].name);
    int dir = m->dents[dent].dir;
    while (dir != 0) {
        int up = -1;
        for (int i = 0; i < m->ndents; i++)
            if (m->dents[i].node == dir) {
                up = i;
                break;
            }
        if (up < 0)
            break;
        snprintf(tmp, sizeof(tmp), "%s/%s", m->dents[up].name, out);
        snprintf(out, cap, "%s", tmp);
        dir = m->dents[up].dir;
    }
}

/* One journaled operation. */
typedef struct {
    char op[12];
    char a[FSC_PATH], b[FSC_PATH];
    long slot;
    uint64_t off, len, dseed;
} op_t;

static void op_format(const op_t *o, char *out, size_t cap)
{
    if (!strcmp(o->op, "create") || !strcmp(o->op, "mkdir") || !strcmp(o->op, "unlink") ||
        !strcmp(o->op, "rmdir") || !strcmp(o->op, "fsyncdir"))
        snprintf(out, cap, "%s %s", o->op, o->a);
    else if (!strcmp(o->op, "link") || !strcmp(o->op, "rename"))
        snprintf(out, cap, "%s %s %s", o->op, o->a, o->b);
    else if (!strcmp(o->op, "open"))
        snprintf(out, cap, "%s %ld %s", o->op, o->slot, o->a);
    else if (!strcmp(o->op, "write"))
        snprintf(out, cap, "%s %ld %" PRIu64 " %" PRIu64 " %" PRIu64, o->op, o->slot, o->off,
                 o->len, o->dseed);
    else if (!strcmp(o->op, "trunc"))
        snprintf(out, cap, "%s %ld %" PRIu64, o->op, o->slot, o->off);
    else if (!strcmp(o->op, "close") || !strcmp(o->op, "fsync") || !strcmp(o->op, "check"))
        snprintf(out, cap, "%s %ld", o->op, o->slot);
    else
        snprintf(out, cap, "%s", o->op);
}

static int op_parse(const char *s, op_t *o)
{
    memset(o, 0, sizeof(*o));
    char rest[2 * FSC_PATH + 64];
    if (sscanf(s, "%11s", o->op) != 1)
        return -1;
    const char *r = s + strlen(o->op);
    while (*r == ' ')
        r++;
    snprintf(rest, sizeof(rest), "%s", r);
    if (!strcmp(o->op, "create") || !strcmp(o->op, "mkdir") || !strcmp(o->op, "unlink") ||
        !strcmp(o->op, "rmdir") || !strcmp(o->op, "fsyncdir"))
        return sscanf(rest, "%255s", o->a) == 1 ? 0 : -1;
    if (!strcmp(o->op, "link") || !strcmp(o->op, "rename"))
        return sscanf(rest, "%255s %255s", o->a, o->b) == 2 ? 0 : -1;
    if (!strcmp(o->op, "open"))
        return sscanf(rest, "%ld %255s", &o->slot, o->a) == 2 ? 0 : -1;
    if (!strcmp(o->op, "write"))
        return sscanf(rest, "%ld %" SCNu64 " %" SCNu64 " %" SCNu64, &o->slot, &o->off, &o->len,
                      &o->dseed) == 4 ? 0 : -1;
    if (!strcmp(o->op, "trunc"))
        return sscanf(rest, "%ld %" SCNu64, &o->slot, &o->off) == 2 ? 0 : -1;
    if (!strcmp(o->op, "close") || !strcmp(o->op, "fsync") || !strcmp(o->op, "check"))
        return sscanf(rest, "%ld", &o->slot) == 1 ? 0 : -1;
    if (!strcmp(o->op, "syncfs"))
        return 0;
    return -1;
}

static int slot_ok(const model_t *m, long s)
{
    return s >= 0 && s < FSC_SLOTS && m->slots[s] >= 0;
}

/* Applies a completed operation to the model. Returns 0, or -1 if it makes no sense in the
 * model (a journal that does not match its own workload). */
static int model_apply(model_t *m, const op_t *o)
{
    int dir, d, n;
    const char *last;
    if (!strcmp(o->op, "create") || !strcmp(o->op, "mkdir")) {
        if (resolve_parent(m, o->a, &dir, &last) || dent_find(m, dir, last) >= 0 ||
            m->ndents >= FSC_MAX_DENTS)
            return -1;
        if ((n = new_node(m, o->op[0] == 'c' ? 'f' : 'd')) < 0)
            return -1;
        dent_t *e = &m->dents[m->ndents++];
        e->dir = dir;
        snprintf(e->name, sizeof(e->name), "%s", last);
        e->node = n;
        m->nodes[n].names = 1;
        return 0;
    }
    if (!strcmp(o->op, "unlink") || !strcmp(o->op, "rmdir")) {
        if (resolve_parent(m, o->a, &dir, &last) || (d = dent_find(m, dir, last)) < 0)
            return -1;
        n = m->dents[d].node;
        if (o->op[0] == 'r' ? (m->nodes[n].type != 'd' || !dir_empty(m, n))
                            : m->nodes[n].type != 'f')
            return -1;
        m->nodes[n].names--;
        dent_remove(m, d);
        node_gc(m, n);
        return 0;
    }
    if (!strcmp(o->op, "link")) {
        if ((n = resolve(m, o->a)) < 0 || m->nodes[n].type != 'f')
            return -1;
        if (resolve_parent(m, o->b, &dir, &last) || dent_find(m, dir, last) >= 0 ||
            m->ndents >= FSC_MAX_DENTS)
            return -1;
        dent_t *e = &m->dents[m->ndents++];
        e->dir = dir;
        snprintf(e->name, sizeof(e->name), "%s", last);
        e->node = n;
        m->nodes[n].names++;
        return 0;
    }
    if (!strcmp(o->op, "rename")) {
        int sdir, s;
        const char *slast;
        if (resolve_parent(m, o->a, &sdir, &slast) || (s = dent_find(m, sdir, slast)) < 0)
            return -1;
        if (resolve_parent(m, o->b, &dir, &last))
            return -1;
        n = m->dents[s].node;
        if (m->nodes[n].type == 'd' && in_subtree(m, n, dir))
            return -1;
        char name[FSC_NAME];
        snprintf(name, sizeof(name), "%s", last);
        d = dent_find(m, dir, name);
        if (d == s)
            return 0;
        if (d >= 0) {
            int t = m->dents[d].node;
            if (t == n)
                return -1; /* two links of one file: the workload never does this */
            if (m->nodes[t].type != m->nodes[n].type ||
                (m->nodes[t].type == 'd' && !dir_empty(m, t)))
                return -1;
            m->nodes[t].names--;
            dent_remove(m, d);
            node_gc(m, t);
            s = dent_find(m, sdir, slast); /* removal moved the array */
        }
        m->dents[s].dir = dir;
        snprintf(m->dents[s].name, sizeof(m->dents[s].name), "%s", name);
        return 0;
    }
    if (!strcmp(o->op, "open")) {
        if (o->slot < 0 || o->slot >= FSC_SLOTS || m->slots[o->slot] >= 0)
            return -1;
        if ((n = resolve(m, o->a)) < 0 || m->nodes[n].type != 'f')
            return -1;
        m->slots[o->slot] = n;
        return 0;
    }
    if (!strcmp(o->op, "close")) {
        if (!slot_ok(m, o->slot))
            return -1;
        n = m->slots[o->slot];
        m->slots[o->slot] = -1;
        node_gc(m, n);
        return 0;
    }
    if (!strcmp(o->op, "write")) {
        if (!slot_ok(m, o->slot) || o->off + o->len > FSC_MAX_SIZE)
            return -1;
        node_t *f = &m->nodes[m->slots[o->slot]];
        if (o->off + o->len > f->cur.size && fbuf_resize(&f->cur, o->off + o->len) != 0)
            die_oom();
        fill_data(o->dseed, f->cur.data + o->off, o->len);
        node_changed(m, f);
        node_hist(m, f, "write [%" PRIu64 ", %" PRIu64 ")", o->off, o->off + o->len);
        return 0;
    }
    if (!strcmp(o->op, "trunc")) {
        if (!slot_ok(m, o->slot) || o->off > FSC_MAX_SIZE)
            return -1;
        node_t *f = &m->nodes[m->slots[o->slot]];
        if (fbuf_resize(&f->cur, o->off) != 0)
            die_oom();
        node_changed(m, f);
        node_hist(m, f, "truncate %" PRIu64, o->off);
        return 0;
    }
    if (!strcmp(o->op, "fsync")) {
        if (!slot_ok(m, o->slot))
            return -1;
        node_sync(&m->nodes[m->slots[o->slot]]);
        node_hist(m, &m->nodes[m->slots[o->slot]], "fsync");
        return 0;
    }
    if (!strcmp(o->op, "syncfs")) {
        /* Not a sync point for file data under the writeback cache: syncfs(2) and sync(2)
         * start the kernel's writeback of a FUSE mount but do not wait until the daemon has
         * the data (a SIGKILL right after syncfs returned lost 1 MiB of a 4 MiB file in 1 of
         * 15 tries; fsync lost nothing). Without the writeback cache every write is already
         * in the daemon, so it changes nothing either way. */
        return 0;
    }
    if (!strcmp(o->op, "fsyncdir"))
        return resolve(m, o->a) >= 0 && m->nodes[resolve(m, o->a)].type == 'd' ? 0 : -1;
    if (!strcmp(o->op, "check"))
        return slot_ok(m, o->slot) ? 0 : -1;
    return -1;
}

/* ---- the worker ---- */

typedef struct {
    model_t m;
    uint64_t rng;
    int jfd;
    int fds[FSC_SLOTS];
    uint64_t seq;
} worker_t;

static void jprintf(worker_t *w, const char *fmt, ...)
{
    char line[2 * FSC_PATH + 128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line) || write(w->jfd, line, (size_t)n) != n) {
        fprintf(stderr, "fscrash_work: journal write failed: %s\n", strerror(errno));
        exit(2);
    }
}

static int pick_dent(worker_t *w, char type)
{
    int cand[FSC_MAX_DENTS], n = 0;
    for (int i = 0; i < w->m.ndents; i++)
        if (!type || w->m.nodes[w->m.dents[i].node].type == type)
            cand[n++] = i;
    return n ? cand[rng_below(&w->rng, (uint64_t)n)] : -1;
}

/* A random directory path ("." or a directory dentry's path). */
static void pick_dir(worker_t *w, char *out, int *node)
{
    int d = rng_below(&w->rng, 3) == 0 ? -1 : pick_dent(w, 'd');
    if (d < 0) {
        snprintf(out, FSC_PATH, ".");
        *node = 0;
        return;
    }
    path_of(&w->m, d, out, FSC_PATH);
    *node = w->m.dents[d].node;
}

static void new_path(worker_t *w, const char *dir, char prefix, char *out)
{
    unsigned id = w->m.next_name++;
    if (strcmp(dir, ".") == 0)
        snprintf(out, FSC_PATH, "%c%u", prefix, id);
    else
        snprintf(out, FSC_PATH, "%s/%c%u", dir, prefix, id);
}

static int free_slot(worker_t *w)
{
    for (int i = 0; i < FSC_SLOTS; i++)
        if (w->m.slots[i] < 0)
            return i;
    return -1;
}

static int open_slot(worker_t *w)
{
    int cand[FSC_SLOTS], n = 0;
    for (int i = 0; i < FSC_SLOTS; i++)
        if (w->m.slots[i] >= 0)
            cand[n++] = i;
    return n ? cand[rng_below(&w->rng, (uint64_t)n)] : -1;
}

/* Chooses the next operation from the model. Returns 0, or -1 to try again. */
static int choose(worker_t *w, op_t *o)
{
    model_t *m = &w->m;
    memset(o, 0, sizeof(*o));
    int files = 0, dirs = 0;
    for (int i = 0; i < m->ndents; i++)
        m->nodes[m->dents[i].node].type == 'f' ? files++ : dirs++;
    unsigned r = (unsigned)rng_below(&w->rng, 100);
    int node, d, s;
    char dir[FSC_PATH];
    if (r < 16 && m->nnodes >= FSC_MAX_NODES - 1)
        return -1;
    if (r < 12) { /* create */
        if (m->ndents >= 60)
            return -1;
        pick_dir(w, dir, &node);
        snprintf(o->op, sizeof(o->op), "create");
        new_path(w, dir, 'f', o->a);
    } else if (r < 16) { /* mkdir */
        if (dirs >= 10 || m->ndents >= 60)
            return -1;
        pick_dir(w, dir, &node);
        snprintf(o->op, sizeof(o->op), "mkdir");
        new_path(w, dir, 'd', o->a);
    } else if (r < 40) { /* write */
        if ((s = open_slot(w)) < 0)
            return -1;
        node_t *f = &m->nodes[m->slots[s]];
        if (m->wb && f->nvers >= FSC_MAX_VERS - 1) {
            snprintf(o->op, sizeof(o->op), "fsync");
            o->slot = s;
            return 0;
        }
        uint64_t off, len;
        unsigned k = (unsigned)rng_below(&w->rng, 10);
        if (k < 4)
            off = f->cur.size; /* append */
        else if (k < 8)
            off = rng_below(&w->rng, f->cur.size + 1);
        else
            off = rng_below(&w->rng, FSC_MAX_SIZE); /* sparse */
        len = rng_below(&w->rng, 10) < 8 ? 1 + rng_below(&w->rng, 8192)
                                         : 1 + rng_below(&w->rng, 192u << 10);
        if (off >= FSC_MAX_SIZE)
            off = FSC_MAX_SIZE - 1;
        if (off + len > FSC_MAX_SIZE)
            len = FSC_MAX_SIZE - off;
        snprintf(o->op, sizeof(o->op), "write");
        o->slot = s;
        o->off = off;
        o->len = len;
        o->dseed = rng_next(&w->rng);
    } else if (r < 45) { /* ftruncate */
        if ((s = open_slot(w)) < 0)
            return -1;
        node_t *f = &m->nodes[m->slots[s]];
        if (m->wb && f->nvers >= FSC_MAX_VERS - 1)
            return -1;
        snprintf(o->op, sizeof(o->op), "trunc");
        o->slot = s;
        o->off = rng_below(&w->rng, f->cur.size + f->cur.size / 2 + 4097);
        if (o->off > FSC_MAX_SIZE)
            o->off = FSC_MAX_SIZE;
    } else if (r < 51) { /* unlink */
        if ((d = pick_dent(w, 'f')) < 0)
            return -1;
        snprintf(o->op, sizeof(o->op), "unlink");
        path_of(m, d, o->a, sizeof(o->a));
    } else if (r < 54) { /* rmdir */
        if ((d = pick_dent(w, 'd')) < 0 || !dir_empty(m, m->dents[d].node))
            return -1;
        snprintf(o->op, sizeof(o->op), "rmdir");
        path_of(m, d, o->a, sizeof(o->a));
    } else if (r < 58) { /* link */
        if ((d = pick_dent(w, 'f')) < 0 || m->ndents >= 60)
            return -1;
        snprintf(o->op, sizeof(o->op), "link");
        path_of(m, d, o->a, sizeof(o->a));
        pick_dir(w, dir, &node);
        new_path(w, dir, 'l', o->b);
    } else if (r < 70) { /* rename */
        if ((d = pick_dent(w, 0)) < 0)
            return -1;
        int src = m->dents[d].node;
        snprintf(o->op, sizeof(o->op), "rename");
        path_of(m, d, o->a, sizeof(o->a));
        int t = rng_below(&w->rng, 2) ? pick_dent(w, m->nodes[src].type) : -1;
        if (t >= 0 && t != d && m->dents[t].node != src &&
            (m->nodes[src].type == 'f' || dir_empty(m, m->dents[t].node)) &&
            !(m->nodes[src].type == 'd' && in_subtree(m, src, m->dents[t].dir))) {
            path_of(m, t, o->b, sizeof(o->b)); /* replace an existing target */
        } else {
            pick_dir(w, dir, &node);
            if (m->nodes[src].type == 'd' && in_subtree(m, src, node))
                return -1;
            new_path(w, dir, m->nodes[src].type == 'd' ? 'd' : 'r', o->b);
        }
    } else if (r < 77) { /* open */
        if ((s = free_slot(w)) < 0 || (d = pick_dent(w, 'f')) < 0)
            return -1;
        snprintf(o->op, sizeof(o->op), "open");
        o->slot = s;
        path_of(m, d, o->a, sizeof(o->a));
    } else if (r < 82) { /* close */
        if ((s = open_slot(w)) < 0)
            return -1;
        snprintf(o->op, sizeof(o->op), "close");
        o->slot = s;
    } else if (r < 90) { /* fsync */
        if ((s = open_slot(w)) < 0)
            return -1;
        snprintf(o->op, sizeof(o->op), "fsync");
        o->slot = s;
    } else if (r < 94) { /* fsync a directory */
        pick_dir(w, dir, &node);
        snprintf(o->op, sizeof(o->op), "fsyncdir");
        snprintf(o->a, sizeof(o->a), "%s", dir);
    } else if (r < 95) {
        snprintf(o->op, sizeof(o->op), "syncfs");
    } else { /* read back and compare with the model */
        if ((s = open_slot(w)) < 0)
            return -1;
        snprintf(o->op, sizeof(o->op), "check");
        o->slot = s;
    }
    return 0;
}

static int pread_all(int fd, unsigned char *p, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r = pread(fd, p + *got, n - *got, (off_t)*got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

/* Runs one operation's system call. Returns 0 or an errno; sets *mismatch for a read-back
 * that differs from the model. */
static int perform(worker_t *w, const op_t *o, int *mismatch)
{
    model_t *m = &w->m;
    int r = 0;
    *mismatch = 0;
    if (!strcmp(o->op, "create")) {
        int fd = open(o->a, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0)
            return errno;
        if (close(fd) != 0)
            return errno;
    } else if (!strcmp(o->op, "mkdir")) {
        r = mkdir(o->a, 0755);
    } else if (!strcmp(o->op, "unlink")) {
        r = unlink(o->a);
    } else if (!strcmp(o->op, "rmdir")) {
        r = rmdir(o->a);
    } else if (!strcmp(o->op, "link")) {
        r = link(o->a, o->b);
    } else if (!strcmp(o->op, "rename")) {
        r = rename(o->a, o->b);
    } else if (!strcmp(o->op, "open")) {
        int fd = open(o->a, O_RDWR);
        if (fd < 0)
            return errno;
        w->fds[o->slot] = fd;
    } else if (!strcmp(o->op, "close")) {
        r = close(w->fds[o->slot]);
        w->fds[o->slot] = -1;
    } else if (!strcmp(o->op, "write")) {
        unsigned char *buf = malloc(o->len);
        if (!buf)
            die_oom();
        fill_data(o->dseed, buf, o->len);
        ssize_t n = pwrite(w->fds[o->slot], buf, o->len, (off_t)o->off);
        int e = errno;
        free(buf);
        if (n < 0)
            return e;
        if ((uint64_t)n != o->len)
            return EIO; /* a short write to a FUSE file is not expected */
    } else if (!strcmp(o->op, "trunc")) {
        r = ftruncate(w->fds[o->slot], (off_t)o->off);
    } else if (!strcmp(o->op, "fsync")) {
        r = fsync(w->fds[o->slot]);
    } else if (!strcmp(o->op, "fsyncdir")) {
        int fd = open(o->a, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
            return errno;
        r = fsync(fd);
        int e = errno;
        close(fd);
        errno = e;
    } else if (!strcmp(o->op, "syncfs")) {
        int fd = open(".", O_RDONLY | O_DIRECTORY);
        if (fd < 0)
            return errno;
        r = syncfs(fd);
        int e = errno;
        close(fd);
        errno = e;
    } else if (!strcmp(o->op, "check")) {
        const fbuf_t *want = &m->nodes[m->slots[o->slot]].cur;
        unsigned char *buf = malloc(want->size + 1);
        size_t got;
        if (!buf)
            die_oom();
        if (pread_all(w->fds[o->slot], buf, want->size + 1, &got) != 0) {
            free(buf);
            return errno;
        }
        if (got != want->size || (got && memcmp(buf, want->data, got) != 0)) {
            size_t at = 0;
            while (at < got && at < want->size && buf[at] == want->data[at])
                at++;
            fprintf(stderr, "fscrash_work: read-back of slot %ld: %zu bytes, model has %zu; "
                            "first difference at offset %zu\n", o->slot, got, want->size, at);
            *mismatch = 1;
        }
        free(buf);
    }
    return r < 0 ? errno : 0;
}

/* Did this error come from the daemon's death? DEAD_MOUNT_ERR says so; any other
 * error (EIO from a failed writeback at close, say) counts only if the mount is dead now. */
static int daemon_gone(int e)
{
    struct statfs sf;
    if (DEAD_MOUNT_ERR(e))
        return 1;
    /* statfs always asks the daemon (a stat may be answered from the attribute cache) */
    return statfs(".", &sf) != 0 && (DEAD_MOUNT_ERR(errno));
}

static int worker_main(const char *dir, const char *journal, uint64_t seed, long ops, int wb)
{
    worker_t w;
    memset(&w, 0, sizeof(w));
    model_init(&w.m, wb);
    w.rng = seed;
    for (int i = 0; i < FSC_SLOTS; i++)
        w.fds[i] = -1;
    w.jfd = open(journal, O_WRONLY | O_APPEND);
    if (w.jfd < 0) {
        fprintf(stderr, "fscrash_work: %s: %s\n", journal, strerror(errno));
        return 2;
    }
    if (mkdir(dir, 0755) != 0 || chdir(dir) != 0) {
        int e = errno;
        jprintf(&w, "F 0 %d\n", e);
        fprintf(stderr, "fscrash_work: %s: %s\n", dir, strerror(e));
        return DEAD_MOUNT_ERR(e) ? 3 : 1;
    }
    jprintf(&w, "H seed=%" PRIu64 " wb=%d\n", seed, wb);
    for (long i = 0; ops == 0 || i < ops; i++) {
        op_t o;
        char text[2 * FSC_PATH + 64];
        while (choose(&w, &o) != 0) {}
        op_format(&o, text, sizeof(text));
        uint64_t seq = ++w.seq;
        jprintf(&w, "B %" PRIu64 " %s\n", seq, text);
        int mismatch;
        int e = perform(&w, &o, &mismatch);
        if (e) {
            jprintf(&w, "F %" PRIu64 " %d\n", seq, e);
            if (daemon_gone(e))
                return 3;
            fprintf(stderr, "fscrash_work: %s/%s: %s failed: %s\n", dir, text, o.op, strerror(e));
            return 1;
        }
        jprintf(&w, "C %" PRIu64 "\n", seq);
        if (mismatch)
            return 1;
        w.m.seq = seq;
        if (model_apply(&w.m, &o) != 0) {
            fprintf(stderr, "fscrash_work: model refused its own operation '%s'\n", text);
            return 2;
        }
    }
    return 0;
}

/* ---- the checker ---- */

typedef struct {
    int errors;
    int quiet;            /* count only (first pass of a two-way check) */
    ino_t *ino_of;        /* node -> st_ino seen (0 none) */
} check_t;

static void cerr(check_t *c, const char *fmt, ...)
{
    c->errors++;
    if (c->quiet || c->errors > 30)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("  ", stdout);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

static int ino_taken(const check_t *c, const model_t *m, ino_t ino, int except)
{
    for (int i = 0; i < m->nnodes; i++)
        if (i != except && c->ino_of[i] == ino)
            return i;
    return -1;
}

typedef struct {
    char s[FSC_HIST * 50];
} hist_buf_t;

static const char *hist_text(const node_t *n, hist_buf_t *b)
{
    b->s[0] = '\0';
    for (int i = 0; i < n->nhist; i++) {
        strcat(b->s, n->hist[i]);
        if (i + 1 < n->nhist)
            strcat(b->s, ", ");
    }
    return n->nhist ? b->s : "none";
}

static void check_content(check_t *c, const node_t *n, const char *path)
{
    hist_buf_t hb;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        cerr(c, "%s: open: %s", path, strerror(errno));
        return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        cerr(c, "%s: fstat: %s", path, strerror(errno));
        close(fd);
        return;
    }
    size_t size = (size_t)st.st_size, got = 0;
    unsigned char *buf = malloc(size + 1);
    if (!buf)
        die_oom();
    if (pread_all(fd, buf, size + 1, &got) != 0)
        cerr(c, "%s: read: %s", path, strerror(errno));
    else if (got != size)
        cerr(c, "%s: st_size %zu but read returned %zu bytes", path, size, got);
    close(fd);
    if (n->nvers <= 1) {
        const fbuf_t *v = n->nvers ? &n->vers[0] : &n->cur;
        if (got != v->size)
            cerr(c, "%s: %zu bytes, expected %zu", path, got, v->size);
        else if (got && memcmp(buf, v->data, got) != 0) {
            size_t at = 0, end = got, zeros = 1;
            while (buf[at] == v->data[at])
                at++;
            while (buf[end - 1] == v->data[end - 1])
                end--;
            for (size_t k = at; k < end && zeros; k++)
                zeros = buf[k] == 0;
            cerr(c, "%s: content differs from the expected bytes in [%zu, %zu) of %zu%s; "
                    "its last operations: %s", path, at, end, got, zeros ? " (zeros there)" : "",
                 hist_text(n, &hb));
        }
    } else {
        size_t maxsize = 0;
        for (int i = 0; i < n->nvers; i++)
            if (n->vers[i].size > maxsize)
                maxsize = n->vers[i].size;
        if (got > maxsize)
            cerr(c, "%s: %zu bytes, more than any version since the last sync (%zu)", path, got,
                 maxsize);
        for (size_t p = 0; p < got && p < maxsize; p++) {
            int ok = 0;
            for (int i = 0; i < n->nvers && !ok; i++)
                ok = (p < n->vers[i].size ? n->vers[i].data[p] : 0) == buf[p];
            if (!ok) {
                cerr(c, "%s: byte %zu (0x%02x) is in none of the %d versions since the last "
                        "sync; its last operations: %s", path, p, buf[p], n->nvers,
                     hist_text(n, &hb));
                break;
            }
        }
    }
    free(buf);
}

static unsigned char dtype_of(mode_t m)
{
    return S_ISDIR(m) ? DT_DIR : S_ISREG(m) ? DT_REG : S_ISLNK(m) ? DT_LNK : DT_UNKNOWN;
}

static void check_dir(check_t *c, const model_t *m, int dnode, const char *path)
{
    DIR *dp = opendir(path);
    if (!dp) {
        cerr(c, "%s: opendir: %s", path, strerror(errno));
        return;
    }
    char (*seen)[256] = NULL;
    int nseen = 0, cap = 0;
    struct dirent *de;
    char sub[FSC_PATH * 2];
    int rd_err = 0;
    for (;;) {
        errno = 0;
        if ((de = readdir(dp)) == NULL) {
            rd_err = errno;
            break;
        }
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        for (int i = 0; i < nseen; i++)
            if (!strcmp(seen[i], de->d_name))
                cerr(c, "%s: readdir lists '%s' twice", path, de->d_name);
        if (nseen == cap) {
            cap = cap ? cap * 2 : 64;
            seen = realloc(seen, (size_t)cap * sizeof(*seen));
            if (!seen)
                die_oom();
        }
        snprintf(seen[nseen++], 256, "%s", de->d_name);
        snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(sub, &st) != 0) {
            cerr(c, "%s: readdir lists it but lstat fails: %s", sub, strerror(errno));
            continue;
        }
        if (de->d_type != DT_UNKNOWN && de->d_type != dtype_of(st.st_mode))
            cerr(c, "%s: readdir type %d, stat mode 0%o", sub, de->d_type, st.st_mode);
        int d = dent_find(m, dnode, de->d_name);
        if (d < 0) {
            cerr(c, "%s: exists (%s, %lld bytes) but should not", sub,
                 S_ISDIR(st.st_mode) ? "directory" : "file", (long long)st.st_size);
            continue;
        }
        int n = m->dents[d].node;
        const node_t *nd = &m->nodes[n];
        if ((nd->type == 'd') != !!S_ISDIR(st.st_mode) || (nd->type == 'f' && !S_ISREG(st.st_mode))) {
            cerr(c, "%s: mode 0%o, expected a %s", sub, st.st_mode,
                 nd->type == 'd' ? "directory" : "regular file");
            continue;
        }
        if (c->ino_of[n] == 0) {
            int other = ino_taken(c, m, st.st_ino, n);
            if (other >= 0)
                cerr(c, "%s: inode %llu also holds another file of the model", sub,
                     (unsigned long long)st.st_ino);
            c->ino_of[n] = st.st_ino;
        } else if (c->ino_of[n] != st.st_ino) {
            cerr(c, "%s: inode %llu, but its hard link elsewhere is inode %llu", sub,
                 (unsigned long long)st.st_ino, (unsigned long long)c->ino_of[n]);
        }
        if (nd->type == 'd') {
            if (st.st_nlink != (nlink_t)(2 + subdirs(m, n)))
                cerr(c, "%s: directory nlink %lu, expected %d", sub, (unsigned long)st.st_nlink,
                     2 + subdirs(m, n));
            check_dir(c, m, n, sub);
        } else {
            if (st.st_nlink != (nlink_t)nd->names)
                cerr(c, "%s: nlink %lu, expected %d", sub, (unsigned long)st.st_nlink,
                     nd->names);
            int first = 1; /* content once per inode, at its first name */
            for (int i = 0; i < d; i++)
                if (m->dents[i].node == n)
                    first = 0;
            if (first)
                check_content(c, nd, sub);
        }
    }
    if (rd_err)
        cerr(c, "%s: readdir: %s", path, strerror(rd_err));
    closedir(dp);
    /* every name the model expects must be listed (and a lookup must agree) */
    for (int i = 0; i < m->ndents; i++) {
        if (m->dents[i].dir != dnode)
            continue;
        int listed = 0;
        for (int k = 0; k < nseen && !listed; k++)
            listed = !strcmp(seen[k], m->dents[i].name);
        if (listed)
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, m->dents[i].name);
        struct stat st;
        if (lstat(sub, &st) == 0)
            cerr(c, "%s: lstat finds it but readdir does not list it", sub);
        else
            cerr(c, "%s: missing (%s)", sub, m->nodes[m->dents[i].node].type == 'd'
                                            ? "directory" : "file");
    }
    free(seen);
}

static int check_tree(const model_t *m, const char *dir, int quiet)
{
    check_t c = {0, quiet, calloc((size_t)m->nnodes, sizeof(ino_t))};
    if (!c.ino_of)
        die_oom();
    struct stat st;
    if (stat(dir, &st) != 0)
        cerr(&c, "%s: %s", dir, strerror(errno));
    else if (st.st_nlink != (nlink_t)(2 + subdirs(m, 0)))
        cerr(&c, "%s: directory nlink %lu, expected %d", dir, (unsigned long)st.st_nlink,
             2 + subdirs(m, 0));
    else
        check_dir(&c, m, 0, dir);
    free(c.ino_of);
    return c.errors;
}

/* A write in doubt may be partly there (the kernel may split it): the model after it allows,
 * at each offset, the byte of any version before or after it. */
static void allow_partial(model_t *after, const model_t *before, const op_t *o)
{
    if (strcmp(o->op, "write") != 0)
        return;
    int n = after->slots[o->slot];
    node_t *a = &after->nodes[n];
    const node_t *b = &before->nodes[n];
    for (int i = 0; i < b->nvers && a->nvers < FSC_MAX_VERS; i++) {
        if (fbuf_copy(&a->vers[a->nvers], &b->vers[i]) != 0)
            die_oom();
        a->nvers++;
    }
}

static int verify_one(const char *dir, const char *journal, int wb, int verbose)
{
    FILE *f = fopen(journal, "r");
    if (!f) {
        printf("%s: %s\n", journal, strerror(errno));
        return 1;
    }
    model_t m;
    model_init(&m, wb);
    char line[2 * FSC_PATH + 128];
    op_t pending;
    int have_pending = 0, lineno = 0, bad = 0, have_header = 0;
    uint64_t pseq = 0, completed = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        uint64_t seq;
        int e;
        if (line[0] == 'H') {
            uint64_t hseed;
            int hwb;
            if (have_header || sscanf(line, "H seed=%" SCNu64 " wb=%d", &hseed, &hwb) != 2) {
                printf("%s:%d: bad journal header '%s'\n", journal, lineno, line);
                bad = 1;
                break;
            }
            have_header = 1;
            m.wb = hwb;
            if (verbose)
                printf("%s: seed %" PRIu64 ", %s\n", dir, hseed,
                       hwb ? "writeback cache" : "no writeback cache");
            continue;
        }
        if (line[0] == 'B' && sscanf(line, "B %" SCNu64, &seq) == 1) {
            const char *p = strchr(line + 2, ' ');
            if (have_pending || !p || op_parse(p + 1, &pending) != 0) {
                printf("%s:%d: bad journal line '%s'\n", journal, lineno, line);
                bad = 1;
                break;
            }
            have_pending = 1;
            pseq = seq;
        } else if (line[0] == 'C' && sscanf(line, "C %" SCNu64, &seq) == 1 && have_pending &&
                   seq == pseq) {
            m.seq = seq;
            if (model_apply(&m, &pending) != 0) {
                printf("%s:%d: operation %" PRIu64 " does not apply to the model\n", journal,
                       lineno, seq);
                bad = 1;
                break;
            }
            have_pending = 0;
            completed++;
        } else if (line[0] == 'F' && sscanf(line, "F %" SCNu64 " %d", &seq, &e) == 2) {
            break; /* the worker stopped here; the op (if any) stays in doubt */
        } else {
            printf("%s:%d: bad journal line '%s'\n", journal, lineno, line);
            bad = 1;
            break;
        }
    }
    fclose(f);
    if (bad) {
        model_free(&m);
        return 1;
    }
    char text[2 * FSC_PATH + 64] = "";
    int rc;
    struct stat st;
    if (!have_header) {
        /* killed before the worker made its directory: it may be missing, or empty */
        model_free(&m);
        if (stat(dir, &st) != 0 && errno == ENOENT) {
            if (verbose)
                printf("%s: never started (no directory)\n", dir);
            return 0;
        }
        model_init(&m, wb);
        rc = check_tree(&m, dir, 0) ? 1 : 0;
        if (verbose || rc)
            printf("%s: never started; the directory must be empty%s\n", dir,
                   rc ? ": MISMATCH (above)" : "");
        model_free(&m);
        return rc;
    }
    if (have_pending) {
        op_format(&pending, text, sizeof(text));
        model_t after;
        model_clone(&after, &m);
        after.seq = pseq;
        if (model_apply(&after, &pending) != 0) {
            /* an op that would fail anyway cannot have changed anything */
            model_free(&after);
            model_clone(&after, &m);
        }
        allow_partial(&after, &m, &pending);
        int e_after = check_tree(&after, dir, 1);
        int e_before = e_after ? check_tree(&m, dir, 1) : 1;
        rc = e_after == 0 || e_before == 0 ? 0 : 1;
        if (verbose || rc)
            printf("%s: %" PRIu64 " operations completed, in doubt: '%s' -> %s\n", dir, completed,
                   text, e_after == 0 ? "done" : e_before == 0 ? "not done" : "NEITHER");
        if (rc) {
            printf(" against the model with '%s' done:\n", text);
            check_tree(&after, dir, 0);
            printf(" against the model without it:\n");
            check_tree(&m, dir, 0);
        }
        model_free(&after);
    } else {
        rc = check_tree(&m, dir, 0) ? 1 : 0;
        if (verbose || rc)
            printf("%s: %" PRIu64 " operations completed, none in doubt%s\n", dir, completed,
                   rc ? ": MISMATCH (above)" : "");
    }
    model_free(&m);
    return rc;
}

/* ---- command line ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: fscrash_work run    --dir D --journal J --seed S [--workers W] [--ops N] [--wb]\n"
            "       fscrash_work verify --dir D --journal J [--workers W] [-v]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *cmd = argv[1], *dir = NULL, *journal = NULL;
    uint64_t seed = 1;
    long ops = 0;
    int workers = 1, wb = 0, verbose = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--dir") && v) { dir = v; i++; }
        else if (!strcmp(a, "--journal") && v) { journal = v; i++; }
        else if (!strcmp(a, "--seed") && v) { seed = strtoull(v, NULL, 0); i++; }
        else if (!strcmp(a, "--ops") && v) { ops = strtol(v, NULL, 0); i++; }
        else if (!strcmp(a, "--workers") && v) { workers = atoi(v); i++; }
        else if (!strcmp(a, "--wb")) wb = 1;
        else if (!strcmp(a, "-v")) verbose = 1;
        else usage();
    }
    if (!dir || !journal || workers < 1 || workers > 64)
        usage();
    char wdir[FSC_PATH * 2], wj[FSC_PATH * 2];
    if (!strcmp(cmd, "verify")) {
        int rc = 0;
        for (int i = 0; i < workers; i++) {
            snprintf(wdir, sizeof(wdir), "%s/w%d", dir, i);
            snprintf(wj, sizeof(wj), "%s.%d", journal, i);
            rc |= verify_one(wdir, wj, wb, verbose);
        }
        return rc;
    }
    if (strcmp(cmd, "run") != 0)
        usage();
    pid_t pids[64];
    for (int i = 0; i < workers; i++) {
        snprintf(wj, sizeof(wj), "%s.%d", journal, i);
        int fd = open(wj, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || close(fd) != 0) {
            fprintf(stderr, "fscrash_work: %s: %s\n", wj, strerror(errno));
            return 2;
        }
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        int e = errno;
        fprintf(stderr, "fscrash_work: %s: %s\n", dir, strerror(e));
        return DEAD_MOUNT_ERR(e) ? 3 : 1;
    }
    for (int i = 0; i < workers; i++) {
        snprintf(wdir, sizeof(wdir), "%s/w%d", dir, i);
        snprintf(wj, sizeof(wj), "%s.%d", journal, i);
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("fscrash_work: fork");
            return 2;
        }
        if (pids[i] == 0)
            _exit(worker_main(wdir, wj, seed * 1000003u + (uint64_t)i, ops, wb));
    }
    int rc = 0;
    for (int i = 0; i < workers; i++) {
        int st;
        if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st)) {
            rc = 2;
            continue;
        }
        int e = WEXITSTATUS(st);
        /* worst wins: 2 (tool error) > 1 (fs error) > 3 (daemon gone) > 0 */
        int rank_e = e == 2 ? 3 : e == 1 ? 2 : e == 3 ? 1 : 0;
        int rank_rc = rc == 2 ? 3 : rc == 1 ? 2 : rc == 3 ? 1 : 0;
        if (rank_e > rank_rc)
            rc = e;
    }
    return rc;
}
