/*
 * fault_env.c - fault rules and the power-cut simulator of fault_env.h.
 *
 * Test programs compile this file into themselves (#include "../crash/fault_env.c"), as
 * the Makefile builds one .c per program. Invariants, all under fe->mu:
 *   - `durable` is the directory listing (name -> inode) as of the last directory sync;
 *     every inode in it has a hard link shadow/<ino>, so its data stays reachable even
 *     after the engine removes or renames over it.
 *   - `inodes` holds, per inode seen, the length its last fdatasync made durable. Inodes
 *     present at fault_env_new count as synced to their size then.
 *   - `fresh` lists paths opened for writing whose inode has not been seen since: the
 *     first write/sync observed on such a path resets that inode's synced length (a new
 *     file, possibly reusing a freed inode number, or a truncated one).
 *   - Once `frozen`, nothing changes any more: hooks fail with EIO, observations are
 *     dropped, and `durable` / `inodes` describe the disk at the moment of the cut.
 */
#include "fault_env.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    int used;
    file_op_t op;          /* FE_ANY_OP = any */
    char pattern[128];     /* empty = any file */
    uint64_t countdown;    /* > 0: fail when it reaches 1 (then the rule is spent) */
    int always;
    int err;
} fe_rule_t;

typedef struct {
    char *name;
    uint64_t ino;
} fe_entry_t;

typedef struct {
    uint64_t ino;
    uint64_t synced;
} fe_inode_t;

struct fault_env {
    env_t env;
    pthread_mutex_t mu;
    char *dir, *shadow;
    fe_rule_t rules[FE_MAX_RULES];
    uint64_t ops[FOP_COUNT + 1];
    uint64_t injected;
    fe_entry_t *durable;
    int n_durable;
    fe_inode_t *inodes;
    int n_inodes, cap_inodes;
    char **fresh;
    int n_fresh, cap_fresh;
    int frozen;
};

static const char *fe_base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static uint64_t fe_mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- inode records (mu held) ---- */

static fe_inode_t *fe_inode(fault_env_t *fe, uint64_t ino, int create)
{
    for (int i = 0; i < fe->n_inodes; i++)
        if (fe->inodes[i].ino == ino)
            return &fe->inodes[i];
    if (!create)
        return NULL;
    if (fe->n_inodes == fe->cap_inodes) {
        int cap = fe->cap_inodes ? fe->cap_inodes * 2 : 64;
        fe_inode_t *v = realloc(fe->inodes, sizeof(*v) * (size_t)cap);
        if (!v)
            return NULL;
        fe->inodes = v;
        fe->cap_inodes = cap;
    }
    fe_inode_t *r = &fe->inodes[fe->n_inodes++];
    r->ino = ino;
    r->synced = 0;
    return r;
}

static int fe_take_fresh(fault_env_t *fe, const char *path)
{
    for (int i = 0; i < fe->n_fresh; i++) {
        if (strcmp(fe->fresh[i], path) == 0) {
            free(fe->fresh[i]);
            fe->fresh[i] = fe->fresh[--fe->n_fresh];
            return 1;
        }
    }
    return 0;
}

static void fe_add_fresh(fault_env_t *fe, const char *path)
{
    for (int i = 0; i < fe->n_fresh; i++)
        if (strcmp(fe->fresh[i], path) == 0)
            return;
    if (fe->n_fresh == fe->cap_fresh) {
        int cap = fe->cap_fresh ? fe->cap_fresh * 2 : 16;
        char **v = realloc(fe->fresh, sizeof(*v) * (size_t)cap);
        if (!v)
            return;
        fe->fresh = v;
        fe->cap_fresh = cap;
    }
    char *p = strdup(path);
    if (p)
        fe->fresh[fe->n_fresh++] = p;
}

/* ---- the durable directory (mu held) ---- */

static void fe_free_entries(fe_entry_t *v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

/* Lists regular files of dir. */
static int fe_list(const char *dir, fe_entry_t **out, int *n_out)
{
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0, cap = 0;
    fe_entry_t *v = NULL;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            fe_entry_t *nv = realloc(v, sizeof(*v) * (size_t)cap);
            if (!nv) {
                closedir(d);
                fe_free_entries(v, n);
                return -1;
            }
            v = nv;
        }
        v[n].name = strdup(de->d_name);
        v[n].ino = (uint64_t)st.st_ino;
        if (!v[n].name)
            continue;
        n++;
    }
    closedir(d);
    *out = v;
    *n_out = n;
    return 0;
}

static int fe_in_entries(const fe_entry_t *v, int n, uint64_t ino)
{
    for (int i = 0; i < n; i++)
        if (v[i].ino == ino)
            return 1;
    return 0;
}

/* The directory was just fsynced: its present listing becomes the durable one. */
static void fe_dir_synced(fault_env_t *fe)
{
    fe_entry_t *now;
    int n;
    if (fe_list(fe->dir, &now, &n) < 0)
        return;
    char p[PATH_MAX], s[PATH_MAX];
    for (int i = 0; i < n; i++) {
        snprintf(s, sizeof(s), "%s/%llu", fe->shadow, (unsigned long long)now[i].ino);
        snprintf(p, sizeof(p), "%s/%s", fe->dir, now[i].name);
        struct stat st;
        if (stat(s, &st) == 0 && (uint64_t)st.st_ino != now[i].ino)
            unlink(s); /* a stale link to an inode number since reused */
        if (link(p, s) < 0 && errno != EEXIST)
            fprintf(stderr, "fault_env: link %s -> %s: %s\n", p, s, strerror(errno));
    }
    /* Drop shadow links and records of inodes that are neither durable nor present. */
    fe_entry_t *sh;
    int nsh;
    if (fe_list(fe->shadow, &sh, &nsh) == 0) {
        for (int i = 0; i < nsh; i++) {
            if (!fe_in_entries(now, n, sh[i].ino)) {
                snprintf(s, sizeof(s), "%s/%s", fe->shadow, sh[i].name);
                unlink(s);
            }
        }
        fe_free_entries(sh, nsh);
    }
    for (int i = 0; i < fe->n_inodes;) {
        if (!fe_in_entries(now, n, fe->inodes[i].ino))
            fe->inodes[i] = fe->inodes[--fe->n_inodes];
        else
            i++;
    }
    fe_free_entries(fe->durable, fe->n_durable);
    fe->durable = now;
    fe->n_durable = n;
}

/* ---- hooks ---- */

static int fe_rule_matches(const fe_rule_t *r, file_op_t op, const char *path)
{
    if (!r->used)
        return 0;
    if (r->op != FE_ANY_OP && r->op != op)
        return 0;
    if (r->pattern[0] && fnmatch(r->pattern, fe_base(path), 0) != 0)
        return 0;
    return 1;
}

static int fe_hook(void *arg, file_op_t op, const char *path)
{
    fault_env_t *fe = arg;
    pthread_mutex_lock(&fe->mu);
    int err = 0;
    if (fe->frozen) {
        err = EIO;
    } else {
        fe->ops[op]++;
        fe->ops[FE_ANY_OP]++;
        for (int i = 0; i < FE_MAX_RULES && !err; i++) {
            fe_rule_t *r = &fe->rules[i];
            if (!fe_rule_matches(r, op, path))
                continue;
            if (r->always) {
                err = r->err;
            } else if (r->countdown <= 1) {
                err = r->err;
                r->used = 0;
            } else {
                r->countdown--;
            }
        }
        if (err)
            fe->injected++;
        else if (op == FOP_OPEN_WRITE)
            fe_add_fresh(fe, path);
    }
    pthread_mutex_unlock(&fe->mu);
    return err;
}

static void fe_observe(void *arg, file_op_t op, const char *path, uint64_t off, uint64_t len)
{
    fault_env_t *fe = arg;
    pthread_mutex_lock(&fe->mu);
    if (!fe->frozen) {
        if (op == FOP_WRITE || op == FOP_SYNC) {
            struct stat st;
            if (stat(path, &st) == 0) {
                /* A first write at offset 0 after an open for writing: a new or
                 * truncated file (an append to a non-empty file starts further on). */
                int fresh = fe_take_fresh(fe, path) && (op == FOP_SYNC || off == 0);
                fe_inode_t *r = fe_inode(fe, (uint64_t)st.st_ino, 1);
                if (r && fresh)
                    r->synced = 0;
                if (r && op == FOP_SYNC)
                    r->synced = len;
            }
        } else if (op == FOP_SYNC_DIR) {
            if (strcmp(path, fe->dir) == 0)
                fe_dir_synced(fe);
        }
    }
    pthread_mutex_unlock(&fe->mu);
}

/* ---- life cycle ---- */

fault_env_t *fault_env_new(const char *dir)
{
    fault_env_t *fe = calloc(1, sizeof(*fe));
    if (!fe)
        return NULL;
    pthread_mutex_init(&fe->mu, NULL);
    fe->dir = strdup(dir);
    size_t n = strlen(dir) + 16;
    fe->shadow = malloc(n);
    if (!fe->dir || !fe->shadow) {
        fault_env_free(fe);
        return NULL;
    }
    snprintf(fe->shadow, n, "%s.fe-shadow", dir);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fe->shadow);
    if (system(cmd) != 0 || mkdir(fe->shadow, 0755) < 0) {
        fprintf(stderr, "fault_env: cannot make %s: %s\n", fe->shadow, strerror(errno));
        fault_env_free(fe);
        return NULL;
    }
    fe->env.fault_hook = fe_hook;
    fe->env.fault_arg = fe;
    fe->env.io_observer = fe_observe;
    fe->env.io_arg = fe;
    /* Baseline: everything present is durable, data and names. */
    pthread_mutex_lock(&fe->mu);
    fe_dir_synced(fe);
    for (int i = 0; i < fe->n_durable; i++) {
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", fe->dir, fe->durable[i].name);
        fe_inode_t *r = fe_inode(fe, fe->durable[i].ino, 1);
        if (r && stat(p, &st) == 0)
            r->synced = (uint64_t)st.st_size;
    }
    pthread_mutex_unlock(&fe->mu);
    return fe;
}

void fault_env_free(fault_env_t *fe)
{
    if (!fe)
        return;
    if (fe->shadow) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fe->shadow);
        if (system(cmd) != 0)
            fprintf(stderr, "fault_env: could not remove %s\n", fe->shadow);
    }
    fe_free_entries(fe->durable, fe->n_durable);
    for (int i = 0; i < fe->n_fresh; i++)
        free(fe->fresh[i]);
    free(fe->fresh);
    free(fe->inodes);
    free(fe->dir);
    free(fe->shadow);
    pthread_mutex_destroy(&fe->mu);
    free(fe);
}

env_t *fault_env_env(fault_env_t *fe) { return &fe->env; }

/* ---- rules ---- */

static int fe_add_rule(fault_env_t *fe, file_op_t op, const char *pattern, uint64_t n,
                       int always, int err)
{
    pthread_mutex_lock(&fe->mu);
    int id = -1;
    for (int i = 0; i < FE_MAX_RULES; i++) {
        if (!fe->rules[i].used) {
            fe_rule_t *r = &fe->rules[i];
            memset(r, 0, sizeof(*r));
            r->used = 1;
            r->op = op;
            if (pattern)
                snprintf(r->pattern, sizeof(r->pattern), "%s", pattern);
            r->countdown = n ? n : 1;
            r->always = always;
            r->err = err;
            id = i;
            break;
        }
    }
    pthread_mutex_unlock(&fe->mu);
    return id;
}

int fault_env_fail_nth(fault_env_t *fe, file_op_t op, const char *pattern, uint64_t n, int err)
{
    return fe_add_rule(fe, op, pattern, n, 0, err);
}

int fault_env_fail_all(fault_env_t *fe, file_op_t op, const char *pattern, int err)
{
    return fe_add_rule(fe, op, pattern, 1, 1, err);
}

void fault_env_remove_rule(fault_env_t *fe, int id)
{
    if (id < 0 || id >= FE_MAX_RULES)
        return;
    pthread_mutex_lock(&fe->mu);
    fe->rules[id].used = 0;
    pthread_mutex_unlock(&fe->mu);
}

void fault_env_clear_rules(fault_env_t *fe)
{
    pthread_mutex_lock(&fe->mu);
    for (int i = 0; i < FE_MAX_RULES; i++)
        fe->rules[i].used = 0;
    pthread_mutex_unlock(&fe->mu);
}

uint64_t fault_env_injected(fault_env_t *fe)
{
    pthread_mutex_lock(&fe->mu);
    uint64_t n = fe->injected;
    pthread_mutex_unlock(&fe->mu);
    return n;
}

uint64_t fault_env_ops(fault_env_t *fe, file_op_t op)
{
    pthread_mutex_lock(&fe->mu);
    uint64_t n = op <= FE_ANY_OP ? fe->ops[op] : 0;
    pthread_mutex_unlock(&fe->mu);
    return n;
}

/* ---- power cut ---- */

void fault_env_freeze(fault_env_t *fe)
{
    pthread_mutex_lock(&fe->mu);
    fe->frozen = 1;
    pthread_mutex_unlock(&fe->mu);
}

int fault_env_frozen(fault_env_t *fe)
{
    pthread_mutex_lock(&fe->mu);
    int f = fe->frozen;
    pthread_mutex_unlock(&fe->mu);
    return f;
}

/* Copies src into dst, keeping `keep` bytes, then `tail` bytes of the rest, then (ZEROS /
 * GARBAGE) filling up to `size` with zeros / random bytes. */
static int fe_copy(const char *src, const char *dst, uint64_t keep_total, uint64_t size,
                   fe_cut_mode_t mode, uint64_t *rs)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[65536];
    uint64_t done = 0;
    int rc = 0;
    while (done < keep_total && rc == 0) {
        size_t want = keep_total - done < sizeof(buf) ? (size_t)(keep_total - done) : sizeof(buf);
        ssize_t r = pread(in, buf, want, (off_t)done);
        if (r <= 0) {
            rc = r < 0 ? -1 : 0;
            break;
        }
        if (write(out, buf, (size_t)r) != r)
            rc = -1;
        done += (uint64_t)r;
    }
    if (rc == 0 && (mode == FE_CUT_ZEROS || mode == FE_CUT_GARBAGE)) {
        while (done < size && rc == 0) {
            size_t want = size - done < sizeof(buf) ? (size_t)(size - done) : sizeof(buf);
            for (size_t i = 0; i < want; i++)
                buf[i] = mode == FE_CUT_ZEROS ? 0 : (char)fe_mix(rs);
            if (write(out, buf, want) != (ssize_t)want)
                rc = -1;
            done += want;
        }
    }
    close(in);
    if (close(out) < 0)
        rc = -1;
    return rc;
}

int fault_env_cut(fault_env_t *fe, fe_cut_mode_t mode, uint64_t seed, fe_cut_stats_t *stats)
{
    fe_cut_stats_t sdummy;
    if (!stats)
        stats = &sdummy;
    memset(stats, 0, sizeof(*stats));
    fault_env_freeze(fe);
    pthread_mutex_lock(&fe->mu);
    uint64_t rs = seed;
    char stage[PATH_MAX], p[2 * PATH_MAX + 2], s[2 * PATH_MAX + 2];
    snprintf(stage, sizeof(stage), "%s/stage", fe->shadow);
    int rc = mkdir(stage, 0755);
    fe_entry_t *now = NULL;
    int n_now = 0;
    if (rc == 0)
        rc = fe_list(fe->dir, &now, &n_now);
    /* 1. Build every durable file in the staging folder. */
    for (int i = 0; i < fe->n_durable && rc == 0; i++) {
        fe_entry_t *e = &fe->durable[i];
        snprintf(s, sizeof(s), "%s/%llu", fe->shadow, (unsigned long long)e->ino);
        struct stat st;
        if (stat(s, &st) < 0 || (uint64_t)st.st_ino != e->ino) {
            fprintf(stderr, "fault_env: lost the data of durable %s (inode %llu)\n", e->name,
                    (unsigned long long)e->ino);
            rc = -1;
            break;
        }
        uint64_t size = (uint64_t)st.st_size;
        fe_inode_t *r = fe_inode(fe, e->ino, 0);
        uint64_t synced = r ? r->synced : 0;
        uint64_t keep = synced < size ? synced : size;
        uint64_t unsynced = size - keep, tail = 0;
        if (unsynced && mode != FE_CUT_DROP)
            tail = fe_mix(&rs) % (unsynced + 1);
        if (unsynced) {
            stats->files_shortened++;
            if (mode == FE_CUT_ZEROS || mode == FE_CUT_GARBAGE)
                stats->bytes_mangled += unsynced - tail;
            else
                stats->bytes_dropped += unsynced - tail;
        }
        if (!fe_in_entries(now, n_now, e->ino))
            stats->files_restored++;
        else {
            int same = 0;
            for (int j = 0; j < n_now; j++)
                if (now[j].ino == e->ino && strcmp(now[j].name, e->name) == 0)
                    same = 1;
            if (!same)
                stats->files_restored++;
        }
        snprintf(p, sizeof(p), "%s/%s", stage, e->name);
        rc = fe_copy(s, p, keep + tail, size, mode, &rs);
        if (rc)
            fprintf(stderr, "fault_env: copying %s: %s\n", s, strerror(errno));
        stats->files_kept++;
    }
    /* 2. Empty the store directory and move the staged files in. */
    for (int i = 0; i < n_now && rc == 0; i++) {
        int durable = 0;
        for (int j = 0; j < fe->n_durable; j++)
            if (strcmp(fe->durable[j].name, now[i].name) == 0 && fe->durable[j].ino == now[i].ino)
                durable = 1;
        if (!durable)
            stats->files_removed++;
        snprintf(p, sizeof(p), "%s/%s", fe->dir, now[i].name);
        if (unlink(p) < 0) {
            fprintf(stderr, "fault_env: unlink %s: %s\n", p, strerror(errno));
            rc = -1;
        }
    }
    for (int i = 0; i < fe->n_durable && rc == 0; i++) {
        snprintf(s, sizeof(s), "%s/%s", stage, fe->durable[i].name);
        snprintf(p, sizeof(p), "%s/%s", fe->dir, fe->durable[i].name);
        if (rename(s, p) < 0) {
            fprintf(stderr, "fault_env: rename %s: %s\n", s, strerror(errno));
            rc = -1;
        }
    }
    fe_free_entries(now, n_now);
    pthread_mutex_unlock(&fe->mu);
    return rc;
}

const char *fault_env_op_name(file_op_t op)
{
    static const char *const names[] = {"open-write", "open-read", "write", "sync", "read",
                                        "rename", "remove", "sync-dir", "truncate", "any"};
    return op <= FE_ANY_OP ? names[op] : "?";
}

const char *fault_env_mode_name(fe_cut_mode_t mode)
{
    static const char *const names[] = {"drop", "prefix", "zeros", "garbage"};
    return mode < FE_CUT_MODES ? names[mode] : "?";
}
