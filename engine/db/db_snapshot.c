/*
 * db_snapshot.c - persistent (named) snapshots and checkpoints (see lsm.h).
 *
 * A persistent snapshot is a name and a sequence recorded in the MANIFEST by a version edit
 * (tag 8 / 9, db/version_edit.h); the version set keeps the list and db_oldest_snapshot
 * counts its smallest sequence, so compaction keeps every version a persistent snapshot may
 * read exactly as it does for live snapshots, across reopen and crash.
 *
 * Invariants:
 *  - Creation pins the sequence with a live snapshot before anything else, so no compaction
 *    can drop what it shows between choosing the sequence and the edit being durable; the
 *    WAL is synced up to that sequence before the edit is written, so after a power cut the
 *    snapshot never names writes that were lost (and later sequences are never reused for
 *    it: the edit records last_sequence >= the snapshot's).
 *  - lsm_get_persistent_snapshot inserts its handle into the live list in sequence order
 *    (the list is oldest first; db_oldest_snapshot reads its head).
 *  - A checkpoint disables file deletion while it links and copies, lists the tables of one
 *    version and the WALs from that version's log number up to the current one under the
 *    DB mutex, copies the WALs oldest first (only the current one still grows, so the copies
 *    are a prefix of the write history), and publishes the directory by renaming
 *    "<dir>.tmp" to "<dir>" after everything in it is synced.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/vec.h"
#include "db/db_impl.h"
#include "db/filename.h"

/* ---- persistent snapshots ---- */

static status_t check_name(const lsm_t *db, const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > VE_MAX_SNAPSHOT_NAME)
        return st_error(ST_INVALID_ARGUMENT, "%s: snapshot name must be 1..%d bytes", db->dir,
                        VE_MAX_SNAPSHOT_NAME);
    return NULL;
}

/* Writes one edit holding a snapshot change (and, for an add, last_sequence >= seq). */
static status_t log_snapshot_edit(lsm_t *db, const char *name, uint64_t seq, int deleted)
{
    version_edit_t e;
    version_edit_init(&e);
    version_edit_snapshot(&e, name, strlen(name), seq, deleted);
    mutex_lock(&db->mu);
    if (!deleted && seq > vset_last_sequence(db->vset))
        version_edit_set_last_sequence(&e, seq);
    status_t s = e.oom ? st_error(ST_IO_ERROR, "%s: out of memory", db->dir)
                       : vset_log_and_apply(db->vset, &e, &db->mu);
    mutex_unlock(&db->mu);
    version_edit_free(&e);
    return s;
}

uint64_t lsm_create_persistent_snapshot(lsm_t *db, const char *name, char **errptr)
{
    status_t s = check_name(db, name);
    if (!s && db->read_only)
        s = st_error(ST_NOT_SUPPORTED, "%s: opened read-only", db->dir);
    if (s) {
        st_to_errptr(s, errptr);
        return 0;
    }
    const lsm_snapshot_t *pin = lsm_create_snapshot(db);
    if (!pin) {
        st_to_errptr(st_io(ENOMEM, "%s: snapshot", db->dir), errptr);
        return 0;
    }
    uint64_t seq = pin->seq;
    s = db_sync_wal(db);
    if (!s)
        s = log_snapshot_edit(db, name, seq, 0);
    lsm_release_snapshot(db, pin);
    st_to_errptr(s, errptr);
    return s ? 0 : seq;
}

void lsm_delete_persistent_snapshot(lsm_t *db, const char *name, char **errptr)
{
    status_t s = check_name(db, name);
    if (!s && db->read_only)
        s = st_error(ST_NOT_SUPPORTED, "%s: opened read-only", db->dir);
    if (!s)
        s = log_snapshot_edit(db, name, 0, 1);
    if (!s) { /* the versions it held go at the next compactions; let the picker look */
        mutex_lock(&db->mu);
        pthread_cond_broadcast(&db->bg_cv);
        mutex_unlock(&db->mu);
    }
    st_to_errptr(s, errptr);
}

const lsm_snapshot_t *lsm_get_persistent_snapshot(lsm_t *db, const char *name)
{
    if (!name)
        return NULL;
    lsm_snapshot_t *s = malloc(sizeof(*s));
    if (!s)
        return NULL;
    mutex_lock(&db->mu);
    if (vset_find_snapshot(db->vset, name, &s->seq) != 0) {
        mutex_unlock(&db->mu);
        free(s);
        return NULL;
    }
    lsm_snapshot_t *at = db->snapshots.next; /* first with a larger sequence */
    while (at != &db->snapshots && at->seq <= s->seq)
        at = at->next;
    s->next = at;
    s->prev = at->prev;
    s->prev->next = s;
    at->prev = s;
    mutex_unlock(&db->mu);
    return s;
}

size_t lsm_list_persistent_snapshots(lsm_t *db, char ***names, uint64_t **seqs)
{
    *names = NULL;
    *seqs = NULL;
    ve_snapshot_t *l;
    mutex_lock(&db->mu);
    int n = vset_list_snapshots(db->vset, &l);
    mutex_unlock(&db->mu);
    if (n <= 0)
        return 0;
    char **nv = calloc((size_t)n, sizeof(char *));
    uint64_t *sv = calloc((size_t)n, sizeof(uint64_t));
    int ok = nv && sv;
    for (int i = 0; ok && i < n; i++) {
        nv[i] = strdup(l[i].name);
        sv[i] = l[i].seq;
        ok = nv[i] != NULL;
    }
    free(l);
    if (!ok) {
        lsm_free_persistent_snapshot_list(nv, sv, (size_t)n);
        return 0;
    }
    *names = nv;
    *seqs = sv;
    return (size_t)n;
}

void lsm_free_persistent_snapshot_list(char **names, uint64_t *seqs, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    free(seqs);
}

/* ---- checkpoints ---- */

typedef struct {
    uint64_t lo, hi; /* WAL numbers to copy */
    uint64_t *v;
    int n, cap, oom;
} wal_list_t;

static int collect_wal(void *arg, const char *name)
{
    wal_list_t *w = arg;
    uint64_t num;
    if (fn_parse(name, &num) != FT_LOG || num < w->lo || num > w->hi)
        return 0;
    if (vec_grow(&w->v, sizeof(*w->v), w->n, &w->cap, 8)) {
        w->oom = 1;
        return 1;
    }
    w->v[w->n++] = num;
    return 0;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int remove_entry(void *arg, const char *name)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", (const char *)arg, name);
    unlink(p);
    return 0;
}

/* Links the tables of v and copies the WALs into tmp. */
static status_t fill_checkpoint(lsm_t *db, const char *tmp, const version_t *v,
                                const wal_list_t *wals)
{
    char from[PATH_MAX], to[PATH_MAX];
    for (int l = 0; l < v->num_levels; l++) {
        for (int i = 0; i < v->nfiles[l]; i++) {
            const file_meta_t *f = v->files[l][i];
            int linked;
            fn_table(from, sizeof(from), db->dir, f->number);
            fn_table(to, sizeof(to), tmp, f->number);
            ST_RETURN_IF_ERR(file_link_or_copy(db->env, from, to, &linked));
        }
    }
    for (int i = 0; i < wals->n; i++) {
        fn_log(from, sizeof(from), db->dir, wals->v[i]);
        fn_log(to, sizeof(to), tmp, wals->v[i]);
        ST_RETURN_IF_ERR(file_copy(db->env, from, to, NULL));
    }
    return NULL;
}

void lsm_checkpoint_create(lsm_t *db, const char *dir, uint64_t *seq_out, char **errptr)
{
    char tmp[PATH_MAX];
    status_t s = NULL;
    if (!dir || !*dir || strlen(dir) + 5 >= sizeof(tmp))
        s = st_error(ST_INVALID_ARGUMENT, "checkpoint: bad directory name");
    else if (db->read_only)
        s = st_error(ST_NOT_SUPPORTED, "%s: opened read-only", db->dir);
    else if (file_exists(dir))
        s = st_error(ST_INVALID_ARGUMENT, "%s: exists already", dir);
    if (!s) {
        snprintf(tmp, sizeof(tmp), "%s.tmp", dir);
        if (file_exists(tmp))
            s = st_error(ST_INVALID_ARGUMENT, "%s: exists (an unfinished checkpoint? remove it)",
                         tmp);
        else if (mkdir(tmp, 0755) < 0)
            s = st_io(errno, "%s: mkdir", tmp);
    }
    if (s) {
        st_to_errptr(s, errptr);
        return;
    }

    buf_t rec;
    buf_init(&rec);
    version_t *v = NULL;
    wal_list_t wals = {0};
    mutex_lock(&db->mu);
    db->deletions_disabled++;
    uint64_t mnum = vset_new_file_number(db->vset);
    s = vset_snapshot_record(db->vset, &rec, &v);
    wals.lo = vset_log_number(db->vset);
    wals.hi = db->wal_number;
    uint64_t seq = atomic_load(&db->visible_seq);
    mutex_unlock(&db->mu);

    if (!s)
        s = file_list_dir(db->dir, collect_wal, &wals);
    if (!s && wals.oom)
        s = st_io(ENOMEM, "%s: listing WALs", db->dir);
    if (!s) {
        if (wals.n)
            qsort(wals.v, (size_t)wals.n, sizeof(uint64_t), u64_cmp);
        s = fill_checkpoint(db, tmp, v, &wals);
    }
    if (!s)
        s = vset_write_manifest_at(db->env, tmp, mnum, &rec);
    if (!s)
        s = file_sync_dir(db->env, tmp);
    if (!s)
        s = file_rename(db->env, tmp, dir);
    if (!s) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%s", dir);
        char *slash = strrchr(parent, '/');
        if (slash == parent)
            parent[1] = 0;
        else if (slash)
            *slash = 0;
        else
            snprintf(parent, sizeof(parent), ".");
        s = file_sync_dir(db->env, parent);
    }
    if (s && file_exists(tmp)) {
        st_free(file_list_dir(tmp, remove_entry, tmp));
        rmdir(tmp);
    }
    if (v)
        version_unref(v);
    buf_free(&rec);
    free(wals.v);

    mutex_lock(&db->mu);
    db->deletions_disabled--;
    mutex_unlock(&db->mu);
    if (!s && seq_out)
        *seq_out = seq;
    st_to_errptr(s, errptr);
}
