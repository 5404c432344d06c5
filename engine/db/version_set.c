/*
 * version_set.c - versions, the version builder, the MANIFEST writer and recovery
 * (see version_set.h for the contract).
 *
 * Invariants kept here:
 *  - vs->current always holds one reference of the set; every version with refs > 0 is on
 *    the live list (guarded by list_mu, which also guards the current pointer swap).
 *  - A version is only ever built by the builder, which checks the level invariants (L0
 *    newest first, levels >= 1 sorted and disjoint, each file number once) before the
 *    version exists; a bad edit therefore never produces a version.
 *  - At most one vset_log_and_apply is past its wait at any time (`writing`, guarded by the
 *    DB mutex), so the MANIFEST writer is used by one thread while the DB mutex is
 *    released around the write and fsync.
 *  - `manifest` is NULL whenever the next record must start a new MANIFEST: after
 *    recovery (the old tail may be torn), after a write error, and in read-only sets.
 *  - Counters read without the DB mutex are atomics.
 */
#include "util/vec.h"
#include "db/version_set.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "db/filename.h"
#include "lsm.h"
#include "write/wal.h"

#define DEFAULT_MAX_MANIFEST_SIZE (4u << 20)

struct version_set {
    env_t *env;
    char *dir;
    vset_options_t opt;

    pthread_mutex_t list_mu;        /* live list + current pointer */
    version_t live;                 /* list head (dummy) */
    version_t *current;

    _Atomic uint64_t next_file_number;
    _Atomic uint64_t last_sequence;
    _Atomic uint64_t log_number;
    _Atomic uint64_t manifest_file_number; /* the one CURRENT names */

    /* Guarded by the DB mutex (and `writing` while it is released). */
    log_writer_t *manifest;
    int writing;
    pthread_cond_t cv;
    buf_t compact_ptr[VE_MAX_LEVELS];
    ve_snapshot_t *snaps;           /* persistent snapshots (deleted == 0), by creation */
    int n_snaps, cap_snaps;
};

void vset_options_default(vset_options_t *o)
{
    o->num_levels = 7;
    o->level0_file_num_compaction_trigger = 4;
    o->max_bytes_for_level_base = 256ull << 20;
    o->max_bytes_for_level_multiplier = 10;
    o->target_file_size_base = 64ull << 20;
    o->max_manifest_file_size = DEFAULT_MAX_MANIFEST_SIZE;
    o->read_only = 0;
    o->db_mu = NULL;
}

static void sanitize_options(vset_options_t *o)
{
    if (o->num_levels < 2)
        o->num_levels = 2;
    if (o->num_levels > VE_MAX_LEVELS)
        o->num_levels = VE_MAX_LEVELS;
    if (o->level0_file_num_compaction_trigger < 1)
        o->level0_file_num_compaction_trigger = 1;
    if (o->max_bytes_for_level_base == 0)
        o->max_bytes_for_level_base = 1;
    if (!(o->max_bytes_for_level_multiplier >= 1))
        o->max_bytes_for_level_multiplier = 1;
    if (o->target_file_size_base == 0)
        o->target_file_size_base = 1;
    if (o->max_manifest_file_size == 0)
        o->max_manifest_file_size = DEFAULT_MAX_MANIFEST_SIZE;
}

/* ---- versions ---- */

static version_t *version_alloc(version_set_t *vs)
{
    version_t *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    v->vset = vs;
    v->num_levels = vs->opt.num_levels;
    atomic_init(&v->refs, 0);
    return v;
}

static void version_destroy(version_t *v)
{
    for (int l = 0; l < VE_MAX_LEVELS; l++) {
        for (int i = 0; i < v->nfiles[l]; i++)
            file_meta_unref(v->files[l][i]);
        free(v->files[l]);
    }
    free(v);
}

void version_ref(version_t *v)
{
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

void version_unref(version_t *v)
{
    if (!v || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    version_set_t *vs = v->vset;
    pthread_mutex_lock(&vs->list_mu);
    if (v->prev) {
        v->prev->next = v->next;
        v->next->prev = v->prev;
    }
    pthread_mutex_unlock(&vs->list_mu);
    version_destroy(v);
}

uint64_t version_level_bytes(const version_t *v, int level)
{
    uint64_t n = 0;
    for (int i = 0; i < v->nfiles[level]; i++)
        n += v->files[level][i]->size;
    return n;
}

/* Links v (refs 1, the set's) as current and drops the old current. */
static void install_version(version_set_t *vs, version_t *v)
{
    atomic_store_explicit(&v->refs, 1, memory_order_relaxed);
    pthread_mutex_lock(&vs->list_mu);
    version_t *old = vs->current;
    v->next = &vs->live;
    v->prev = vs->live.prev;
    vs->live.prev->next = v;
    vs->live.prev = v;
    vs->current = v;
    pthread_mutex_unlock(&vs->list_mu);
    if (old)
        version_unref(old);
}

/* ---- file lists and overlap queries ---- */

void file_list_free(file_list_t *l)
{
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static int file_list_push(file_list_t *l, file_meta_t *f)
{
    if (vec_grow(&l->v, sizeof(*l->v), l->n, &l->cap, 8))
        return -1;
    l->v[l->n++] = f;
    return 0;
}

/* 1 if f's user-key range misses [begin, end] entirely. */
static int file_outside(const file_meta_t *f, const slice_t *begin, const slice_t *end)
{
    if (begin && slice_compare(ikey_user_key(f->largest), *begin) < 0)
        return 1;
    if (end && slice_compare(ikey_user_key(f->smallest), *end) > 0)
        return 1;
    return 0;
}

int version_overlapping_inputs(const version_t *v, int level, const slice_t *begin,
                               const slice_t *end, file_list_t *out)
{
    out->n = 0;
    slice_t b = begin ? *begin : slice_make(NULL, 0);
    slice_t e = end ? *end : slice_make(NULL, 0);
    int has_b = begin != NULL, has_e = end != NULL;
    int n = v->nfiles[level];
    file_meta_t **files = v->files[level];
    if (level > 0) {
        /* Sorted and disjoint: start at the first file whose largest user key >= begin. */
        int lo = 0, hi = n;
        while (has_b && lo < hi) {
            int mid = lo + (hi - lo) / 2;
            if (slice_compare(ikey_user_key(files[mid]->largest), b) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (int i = lo; i < n; i++) {
            if (has_e && slice_compare(ikey_user_key(files[i]->smallest), e) > 0)
                break;
            if (file_list_push(out, files[i]))
                return -1;
        }
        return 0;
    }
    for (int i = 0; i < n;) {
        file_meta_t *f = files[i++];
        if (file_outside(f, has_b ? &b : NULL, has_e ? &e : NULL))
            continue;
        slice_t fs = ikey_user_key(f->smallest), fl = ikey_user_key(f->largest);
        /* A file reaching beyond the range widens it; start over so that every L0 file
         * overlapping the widened range is taken too. */
        if (has_b && slice_compare(fs, b) < 0) {
            b = fs;
            out->n = 0;
            i = 0;
            continue;
        }
        if (has_e && slice_compare(fl, e) > 0) {
            e = fl;
            out->n = 0;
            i = 0;
            continue;
        }
        if (file_list_push(out, f))
            return -1;
    }
    return 0;
}

int version_overlap_in_level(const version_t *v, int level, const slice_t *begin,
                             const slice_t *end)
{
    int n = v->nfiles[level];
    file_meta_t **files = v->files[level];
    if (level == 0) {
        for (int i = 0; i < n; i++)
            if (!file_outside(files[i], begin, end))
                return 1;
        return 0;
    }
    int lo = 0, hi = n;
    while (begin && lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (slice_compare(ikey_user_key(files[mid]->largest), *begin) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && !file_outside(files[lo], begin, end);
}

int version_find_file(const version_t *v, int level, slice_t ikey)
{
    int lo = 0, hi = v->nfiles[level];
    file_meta_t **files = v->files[level];
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (ikey_compare(files[mid]->largest, ikey) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- the builder: base version + edits -> new version ----
 * Files live in an open-addressing hash table keyed by number, so replaying a long
 * MANIFEST costs O(1) per added or deleted file; the level arrays are built and checked
 * once, at the end. */

typedef struct {
    uint64_t number;
    file_meta_t *meta;   /* NULL: empty slot; (file_meta_t *)1 never used */
    int level;
    int used;            /* 0 empty, 1 live, 2 deleted (tombstone) */
} bslot_t;

typedef struct {
    version_set_t *vs;
    bslot_t *slots;
    size_t cap, live, used;  /* used counts live + tombstones */
} builder_t;

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static void builder_free(builder_t *b)
{
    for (size_t i = 0; i < b->cap; i++)
        if (b->slots[i].used == 1)
            file_meta_unref(b->slots[i].meta);
    free(b->slots);
    b->slots = NULL;
    b->cap = b->live = b->used = 0;
}

static bslot_t *builder_find(builder_t *b, uint64_t number)
{
    if (!b->cap)
        return NULL;
    size_t mask = b->cap - 1;
    for (size_t i = mix64(number) & mask;; i = (i + 1) & mask) {
        bslot_t *s = &b->slots[i];
        if (s->used == 0)
            return NULL;
        if (s->used == 1 && s->number == number)
            return s;
    }
}

static int builder_grow(builder_t *b)
{
    size_t nc = b->cap ? b->cap * 2 : 64;
    if (b->live * 4 < b->cap)
        nc = b->cap; /* mostly tombstones: rehash in place size */
    bslot_t *ns = calloc(nc, sizeof(*ns));
    if (!ns)
        return -1;
    for (size_t i = 0; i < b->cap; i++) {
        if (b->slots[i].used != 1)
            continue;
        size_t j = mix64(b->slots[i].number) & (nc - 1);
        while (ns[j].used)
            j = (j + 1) & (nc - 1);
        ns[j] = b->slots[i];
    }
    free(b->slots);
    b->slots = ns;
    b->cap = nc;
    b->used = b->live;
    return 0;
}

/* Adds f (new reference). Returns NULL or an error (duplicate number, out of memory). */
static status_t builder_add(builder_t *b, int level, file_meta_t *f)
{
    if (builder_find(b, f->number))
        return st_error(ST_CORRUPTION, "file %06" PRIu64 " added twice", f->number);
    if ((b->used + 1) * 4 > b->cap * 3 && builder_grow(b))
        return st_error(ST_IO_ERROR, "out of memory building a version");
    size_t mask = b->cap - 1;
    size_t i = mix64(f->number) & mask;
    while (b->slots[i].used == 1)
        i = (i + 1) & mask;
    if (b->slots[i].used == 0)
        b->used++;
    b->slots[i].used = 1;
    b->slots[i].number = f->number;
    b->slots[i].meta = f;
    b->slots[i].level = level;
    b->live++;
    file_meta_ref(f);
    return NULL;
}

static status_t builder_init(builder_t *b, version_set_t *vs, const version_t *base)
{
    memset(b, 0, sizeof(*b));
    b->vs = vs;
    if (!base)
        return NULL;
    for (int l = 0; l < base->num_levels; l++)
        for (int i = 0; i < base->nfiles[l]; i++) {
            status_t s = builder_add(b, l, base->files[l][i]);
            if (s)
                return s;
        }
    return NULL;
}

static status_t builder_apply(builder_t *b, const version_edit_t *e)
{
    int nl = b->vs->opt.num_levels;
    if (e->oom)
        return st_error(ST_IO_ERROR, "out of memory building a version edit");
    for (int i = 0; i < e->n_deleted_files; i++) {
        const ve_deleted_file_t *d = &e->deleted_files[i];
        bslot_t *s = builder_find(b, d->number);
        if (!s || s->level != d->level)
            return st_error(ST_CORRUPTION, "edit deletes file %06" PRIu64 " at level %d, "
                            "which is not there", d->number, d->level);
        file_meta_unref(s->meta);
        s->meta = NULL;
        s->used = 2;
        b->live--;
    }
    for (int i = 0; i < e->n_new_files; i++) {
        const ve_new_file_t *n = &e->new_files[i];
        if (n->level >= nl)
            return st_error(ST_INVALID_ARGUMENT, "file %06" PRIu64 " is at level %d but "
                            "num_levels is %d", n->meta->number, n->level, nl);
        ST_RETURN_IF_ERR(builder_add(b, n->level, n->meta));
    }
    return NULL;
}

static int cmp_l0(const void *a, const void *b)
{
    const file_meta_t *x = *(file_meta_t *const *)a, *y = *(file_meta_t *const *)b;
    if (x->largest_seq != y->largest_seq)
        return x->largest_seq > y->largest_seq ? -1 : 1;
    return x->number > y->number ? -1 : (x->number < y->number);
}

static int cmp_by_smallest(const void *a, const void *b)
{
    const file_meta_t *x = *(file_meta_t *const *)a, *y = *(file_meta_t *const *)b;
    int r = ikey_compare(x->smallest, y->smallest);
    if (r == 0)
        r = x->number < y->number ? -1 : (x->number > y->number);
    return r;
}

/* Moves the builder's files into a new version and checks the level invariants. */
static status_t builder_finish(builder_t *b, version_t **out)
{
    version_set_t *vs = b->vs;
    version_t *v = version_alloc(vs);
    if (!v)
        return st_error(ST_IO_ERROR, "out of memory building a version");
    int cap[VE_MAX_LEVELS] = {0};
    for (size_t i = 0; i < b->cap; i++)
        if (b->slots[i].used == 1)
            cap[b->slots[i].level]++;
    for (int l = 0; l < v->num_levels; l++) {
        if (cap[l] && !(v->files[l] = malloc((size_t)cap[l] * sizeof(file_meta_t *)))) {
            version_destroy(v);
            return st_error(ST_IO_ERROR, "out of memory building a version");
        }
    }
    for (size_t i = 0; i < b->cap; i++) {
        bslot_t *s = &b->slots[i];
        if (s->used != 1)
            continue;
        v->files[s->level][v->nfiles[s->level]++] = s->meta; /* reference moves */
        s->used = 2;
        s->meta = NULL;
    }
    b->live = 0;
    for (int l = 0; l < v->num_levels; l++) {
        if (v->nfiles[l] < 2)
            continue;
        qsort(v->files[l], (size_t)v->nfiles[l], sizeof(file_meta_t *),
              l == 0 ? cmp_l0 : cmp_by_smallest);
        if (l == 0)
            continue;
        for (int i = 1; i < v->nfiles[l]; i++) {
            file_meta_t *p = v->files[l][i - 1], *f = v->files[l][i];
            if (ikey_compare(p->largest, f->smallest) >= 0) {
                status_t s = st_error(ST_CORRUPTION, "level %d: files %06" PRIu64 " and %06"
                                      PRIu64 " overlap", l, p->number, f->number);
                version_destroy(v);
                return s;
            }
        }
    }
    *out = v;
    return NULL;
}

/* ---- persistent snapshots ---- */

static int snap_find(const version_set_t *vs, const char *name)
{
    for (int i = 0; i < vs->n_snaps; i++)
        if (strcmp(vs->snaps[i].name, name) == 0)
            return i;
    return -1;
}

/* Checks (apply = 0) or applies (apply = 1) the snapshot changes of e, in order. A check
 * that passes guarantees the apply succeeds, except for lack of memory. */
static status_t snap_apply(version_set_t *vs, const version_edit_t *e, int apply)
{
    int n = vs->n_snaps;
    for (int i = 0; i < e->n_snapshots; i++) {
        const ve_snapshot_t *p = &e->snapshots[i];
        int at = snap_find(vs, p->name);
        if (!apply) { /* the check runs on the unchanged list: count, do not look twice */
            if (p->deleted ? at < 0 : at >= 0)
                return st_error(p->deleted ? ST_NOT_FOUND : ST_INVALID_ARGUMENT,
                                "%s: persistent snapshot \"%s\" %s", vs->dir, p->name,
                                p->deleted ? "does not exist" : "exists already");
            n += p->deleted ? -1 : 1;
            if (n > VSET_MAX_SNAPSHOTS)
                return st_error(ST_INVALID_ARGUMENT, "%s: more than %d persistent snapshots",
                                vs->dir, VSET_MAX_SNAPSHOTS);
            continue;
        }
        if (p->deleted) {
            if (at >= 0) {
                memmove(&vs->snaps[at], &vs->snaps[at + 1],
                        (size_t)(vs->n_snaps - at - 1) * sizeof(ve_snapshot_t));
                vs->n_snaps--;
            }
            continue;
        }
        if (at >= 0) {
            vs->snaps[at].seq = p->seq;
            continue;
        }
        if (vec_grow(&vs->snaps, sizeof(*vs->snaps), vs->n_snaps, &vs->cap_snaps, 8))
            return st_error(ST_IO_ERROR, "%s: out of memory", vs->dir);
        vs->snaps[vs->n_snaps++] = *p;
    }
    return NULL;
}

uint64_t vset_oldest_snapshot(version_set_t *vs)
{
    uint64_t m = UINT64_MAX;
    for (int i = 0; i < vs->n_snaps; i++)
        if (vs->snaps[i].seq < m)
            m = vs->snaps[i].seq;
    return m;
}

int vset_list_snapshots(version_set_t *vs, ve_snapshot_t **out)
{
    *out = NULL;
    if (vs->n_snaps == 0)
        return 0;
    *out = malloc((size_t)vs->n_snaps * sizeof(ve_snapshot_t));
    if (!*out)
        return -1;
    memcpy(*out, vs->snaps, (size_t)vs->n_snaps * sizeof(ve_snapshot_t));
    return vs->n_snaps;
}

int vset_find_snapshot(version_set_t *vs, const char *name, uint64_t *seq)
{
    int at = snap_find(vs, name);
    if (at < 0)
        return -1;
    *seq = vs->snaps[at].seq;
    return 0;
}

/* ---- MANIFEST records ---- */

static void encode_snapshot(version_set_t *vs, const version_t *v, uint64_t next_file,
                            buf_t *dst)
{
    version_edit_t e;
    version_edit_init(&e);
    version_edit_set_format_version(&e, LSM_FORMAT_VERSION);
    version_edit_set_log_number(&e, atomic_load(&vs->log_number));
    version_edit_set_next_file_number(&e, next_file);
    version_edit_set_last_sequence(&e, atomic_load(&vs->last_sequence));
    for (int l = 0; l < VE_MAX_LEVELS; l++)
        if (vs->compact_ptr[l].len)
            version_edit_set_compact_pointer(&e, l, buf_slice(&vs->compact_ptr[l]));
    for (int l = 0; l < v->num_levels; l++)
        for (int i = 0; i < v->nfiles[l]; i++)
            version_edit_add_file(&e, l, v->files[l][i]);
    for (int i = 0; i < vs->n_snaps; i++)
        version_edit_snapshot(&e, vs->snaps[i].name, strlen(vs->snaps[i].name),
                              vs->snaps[i].seq, 0);
    version_edit_encode(&e, dst);
    version_edit_free(&e);
}

static status_t set_current_file(env_t *env, const char *dir, uint64_t manifest_number)
{
    char name[64];
    int n = snprintf(name, sizeof(name), "MANIFEST-%06" PRIu64 "\n", manifest_number);
    return file_write_atomic(env, dir, "CURRENT", name, (size_t)n);
}

/* Creates MANIFEST-number holding `records` (each a log record), syncs it and points
 * CURRENT at it. On success *out is the open writer. */
static status_t write_manifest_in(env_t *env, const char *dir, uint64_t number,
                                  const buf_t *records, int nrec, log_writer_t **out)
{
    char path[PATH_MAX];
    fn_manifest(path, sizeof(path), dir, number);
    wfile_t *f;
    ST_RETURN_IF_ERR(wfile_open(env, path, 0, &f));
    log_writer_t *w = log_writer_new(f);
    if (!w) {
        st_free(wfile_close(f));
        return st_error(ST_IO_ERROR, "%s: out of memory", path);
    }
    status_t s = NULL;
    for (int i = 0; i < nrec && !s; i++)
        s = log_add_record(w, buf_slice(&records[i]));
    if (!s)
        s = log_writer_sync(w);
    if (!s)
        s = set_current_file(env, dir, number);
    if (s || !out) {
        status_t c = log_writer_close(w);
        if (!s)
            return c;
        st_free(c);
        return s;
    }
    *out = w;
    return NULL;
}

static status_t write_new_manifest(version_set_t *vs, uint64_t number, const buf_t *records,
                                   int nrec, log_writer_t **out)
{
    return write_manifest_in(vs->env, vs->dir, number, records, nrec, out);
}

status_t vset_snapshot_record(version_set_t *vs, buf_t *rec, version_t **v)
{
    *v = vset_current(vs);
    encode_snapshot(vs, *v, atomic_load(&vs->next_file_number), rec);
    if (rec->oom) {
        version_unref(*v);
        *v = NULL;
        return st_error(ST_IO_ERROR, "%s: out of memory", vs->dir);
    }
    return NULL;
}

status_t vset_write_manifest_at(env_t *env, const char *dir, uint64_t number, const buf_t *rec)
{
    return write_manifest_in(env, dir, number, rec, 1, NULL);
}

/* ---- the set ---- */

static version_set_t *vset_alloc(env_t *env, const char *dir, const vset_options_t *opt)
{
    version_set_t *vs = calloc(1, sizeof(*vs));
    if (!vs)
        return NULL;
    vs->dir = strdup(dir);
    if (!vs->dir) {
        free(vs);
        return NULL;
    }
    vs->env = env;
    vs->opt = *opt;
    sanitize_options(&vs->opt);
    pthread_mutex_init(&vs->list_mu, NULL);
    pthread_cond_init(&vs->cv, NULL);
    vs->live.next = vs->live.prev = &vs->live;
    for (int l = 0; l < VE_MAX_LEVELS; l++)
        buf_init(&vs->compact_ptr[l]);
    atomic_init(&vs->next_file_number, 2);
    atomic_init(&vs->last_sequence, 0);
    atomic_init(&vs->log_number, 0);
    atomic_init(&vs->manifest_file_number, 0);
    return vs;
}

void vset_close(version_set_t *vs)
{
    if (!vs)
        return;
    if (vs->manifest)
        st_free(log_writer_close(vs->manifest));
    version_t *cur = vs->current;
    vs->current = NULL;
    if (cur)
        version_unref(cur);
    /* Versions still referenced would point at a freed set: unlink them so that at least
     * their later unref does not touch the list. */
    pthread_mutex_lock(&vs->list_mu);
    for (version_t *v = vs->live.next; v != &vs->live;) {
        version_t *n = v->next;
        v->prev = v->next = NULL;
        v = n;
    }
    pthread_mutex_unlock(&vs->list_mu);
    for (int l = 0; l < VE_MAX_LEVELS; l++)
        buf_free(&vs->compact_ptr[l]);
    free(vs->snaps);
    pthread_mutex_destroy(&vs->list_mu);
    pthread_cond_destroy(&vs->cv);
    free(vs->dir);
    free(vs);
}

status_t vset_create(env_t *env, const char *dir, const vset_options_t *opt,
                     version_set_t **out)
{
    char path[PATH_MAX];
    *out = NULL;
    if (file_exists(fn_current(path, sizeof(path), dir)))
        return st_error(ST_INVALID_ARGUMENT, "%s: store exists (CURRENT file present)", dir);
    version_set_t *vs = vset_alloc(env, dir, opt);
    if (!vs)
        return st_error(ST_IO_ERROR, "%s: out of memory", dir);
    version_t *v = version_alloc(vs);
    if (!v) {
        vset_close(vs);
        return st_error(ST_IO_ERROR, "%s: out of memory", dir);
    }
    install_version(vs, v);
    atomic_store(&vs->next_file_number, 2);
    buf_t rec;
    buf_init(&rec);
    encode_snapshot(vs, v, 2, &rec);
    status_t s = rec.oom ? st_error(ST_IO_ERROR, "%s: out of memory", dir) : NULL;
    if (!s)
        s = write_new_manifest(vs, 1, &rec, 1, &vs->manifest);
    buf_free(&rec);
    if (s) {
        vset_close(vs);
        return s;
    }
    atomic_store(&vs->manifest_file_number, 1);
    *out = vs;
    return NULL;
}

/* Parses CURRENT's contents: exactly "MANIFEST-<digits>\n". */
static int parse_current(const char *data, size_t len, uint64_t *number)
{
    char name[64];
    if (len < 2 || len >= sizeof(name) || data[len - 1] != '\n')
        return -1;
    memcpy(name, data, len - 1);
    name[len - 1] = 0;
    if (memchr(name, 0, len - 1))
        return -1;
    return fn_parse(name, number) == FT_MANIFEST ? 0 : -1;
}

static status_t check_format_version(version_set_t *vs, uint32_t fv, const char *path,
                                     uint64_t off)
{
    if (fv > LSM_FORMAT_VERSION)
        return st_error(ST_NOT_SUPPORTED, "%s: store format version %u is newer than this "
                        "build supports (%d)", vs->dir, fv, LSM_FORMAT_VERSION);
    if (fv == 0)
        return st_error(ST_CORRUPTION, "%s at offset %" PRIu64 ": invalid format version 0",
                        path, off);
    return NULL;
}

/* Replays the MANIFEST at path into b and the set's counters. */
static status_t replay_manifest(version_set_t *vs, const char *path, builder_t *b)
{
    log_reader_t *r;
    ST_RETURN_IF_ERR(log_reader_open(vs->env, path, &r));
    status_t s = NULL;
    int nrec = 0, has_log = 0, has_next = 0, has_last = 0;
    uint64_t log_number = 0, next_file = 0, last_seq = 0;
    for (;;) {
        slice_t rec;
        int eof = 0;
        s = log_read_record(r, &rec, &eof);
        if (s || eof)
            break;
        uint64_t off = log_reader_record_offset(r);
        version_edit_t e;
        s = version_edit_decode(&e, rec);
        if (s) {
            status_t c = st_make(st_code(s), st_errno(s), "%s at offset %" PRIu64 ": %s", path,
                                 off, st_msg(s));
            st_free(s);
            s = c;
            break;
        }
        if (nrec == 0 && !e.has_format_version)
            s = st_error(ST_CORRUPTION, "%s: first record has no format version", path);
        if (!s && e.has_format_version)
            s = check_format_version(vs, e.format_version, path, off);
        if (!s) {
            s = builder_apply(b, &e);
            if (!s)
                s = snap_apply(vs, &e, 0);
            if (!s)
                s = snap_apply(vs, &e, 1);
            if (s) {
                status_t c = st_make(st_code(s), st_errno(s), "%s at offset %" PRIu64 ": %s",
                                     path, off, st_msg(s));
                st_free(s);
                s = c;
            }
        }
        if (!s) {
            if (e.has_log_number) {
                has_log = 1;
                log_number = e.log_number;
            }
            if (e.has_next_file_number) {
                has_next = 1;
                next_file = e.next_file_number;
            }
            if (e.has_last_sequence) {
                has_last = 1;
                last_seq = e.last_sequence;
            }
            for (int i = 0; i < e.n_compact_pointers; i++)
                vset_set_compact_pointer(vs, e.compact_pointers[i].level,
                                         buf_slice(&e.compact_pointers[i].key));
        }
        version_edit_free(&e);
        nrec++;
        if (s)
            break;
    }
    log_reader_close(r);
    if (s)
        return s;
    if (nrec == 0)
        return st_error(ST_CORRUPTION, "%s: empty MANIFEST", path);
    if (!has_next || !has_log || !has_last)
        return st_error(ST_CORRUPTION, "%s: no %s entry", path,
                        !has_next ? "next file number" : !has_log ? "log number"
                                                                 : "last sequence");
    atomic_store(&vs->log_number, log_number);
    atomic_store(&vs->next_file_number, next_file);
    atomic_store(&vs->last_sequence, last_seq);
    return NULL;
}

/* Every table of v must be on disk with the size the MANIFEST records. */
static status_t check_tables(version_set_t *vs, const version_t *v, uint64_t manifest_number)
{
    char path[PATH_MAX];
    for (int l = 0; l < v->num_levels; l++) {
        for (int i = 0; i < v->nfiles[l]; i++) {
            const file_meta_t *f = v->files[l][i];
            fn_table(path, sizeof(path), vs->dir, f->number);
            uint64_t size;
            status_t s = file_size(path, &size);
            if (s) {
                int missing = st_errno(s) == ENOENT;
                st_free(s);
                if (missing)
                    return st_error(ST_CORRUPTION, "%s: missing (referenced by MANIFEST-%06"
                                    PRIu64 ")", path, manifest_number);
                return st_error(ST_IO_ERROR, "%s: cannot stat (referenced by MANIFEST-%06"
                                PRIu64 ")", path, manifest_number);
            }
            if (size != f->size)
                return st_error(ST_CORRUPTION, "%s: size %" PRIu64 ", but MANIFEST-%06" PRIu64
                                " says %" PRIu64, path, size, manifest_number, f->size);
        }
    }
    return NULL;
}

status_t vset_recover(env_t *env, const char *dir, const vset_options_t *opt,
                      version_set_t **out)
{
    char path[PATH_MAX];
    *out = NULL;
    fn_current(path, sizeof(path), dir);
    if (!file_exists(path))
        return st_error(ST_INVALID_ARGUMENT, "%s: not an lsm store (no CURRENT file)", dir);
    char *data;
    size_t len;
    ST_RETURN_IF_ERR(file_read_all(env, path, &data, &len));
    uint64_t mnum;
    int bad_current = parse_current(data, len, &mnum);
    free(data);
    if (bad_current)
        return st_error(ST_CORRUPTION, "%s: malformed (expected \"MANIFEST-NNNNNN\\n\")", path);
    char mpath[PATH_MAX];
    fn_manifest(mpath, sizeof(mpath), dir, mnum);
    if (!file_exists(mpath))
        return st_error(ST_CORRUPTION, "%s: missing (named by CURRENT)", mpath);

    version_set_t *vs = vset_alloc(env, dir, opt);
    if (!vs)
        return st_error(ST_IO_ERROR, "%s: out of memory", dir);
    builder_t b;
    builder_init(&b, vs, NULL);
    status_t s = replay_manifest(vs, mpath, &b);
    version_t *v = NULL;
    if (!s)
        s = builder_finish(&b, &v);
    builder_free(&b);
    if (s && st_code(s) == ST_CORRUPTION && !v) {
        /* Name the MANIFEST in level-invariant errors from builder_finish. */
        if (strstr(st_msg(s), mpath) == NULL && strstr(st_msg(s), dir) == NULL) {
            status_t c = st_error(ST_CORRUPTION, "%s: %s", mpath, st_msg(s));
            st_free(s);
            s = c;
        }
    }
    if (!s)
        s = check_tables(vs, v, mnum);
    if (s) {
        if (v)
            version_destroy(v);
        vset_close(vs);
        return s;
    }
    install_version(vs, v);
    atomic_store(&vs->manifest_file_number, mnum);
    /* Never hand out a number in use, even if the recorded counter lags behind. */
    vset_mark_file_number_used(vs, mnum);
    vset_mark_file_number_used(vs, atomic_load(&vs->log_number));
    for (int l = 0; l < v->num_levels; l++)
        for (int i = 0; i < v->nfiles[l]; i++)
            vset_mark_file_number_used(vs, v->files[l][i]->number);
    vs->manifest = NULL; /* the next log_and_apply starts a new MANIFEST */
    *out = vs;
    return NULL;
}

status_t vset_log_and_apply(version_set_t *vs, version_edit_t *edit, mutex_t *mu)
{
    ASSERT_HELD(mu);
    if (vs->opt.read_only)
        return st_error(ST_NOT_SUPPORTED, "%s: opened read-only", vs->dir);
    while (vs->writing)
        mutex_wait(mu, &vs->cv);
    vs->writing = 1;

    version_edit_t saved = *edit; /* the has_ flags and values, restored on failure */
    status_t s = snap_apply(vs, edit, 0);
    if (s) {
    } else if (edit->has_log_number) {
        if (edit->log_number < atomic_load(&vs->log_number) ||
            edit->log_number >= atomic_load(&vs->next_file_number))
            s = st_error(ST_INVALID_ARGUMENT, "%s: log number %" PRIu64 " out of range "
                         "[%" PRIu64 ", %" PRIu64 ")", vs->dir, edit->log_number,
                         atomic_load(&vs->log_number), atomic_load(&vs->next_file_number));
    } else {
        version_edit_set_log_number(edit, atomic_load(&vs->log_number));
    }
    if (!edit->has_last_sequence)
        version_edit_set_last_sequence(edit, atomic_load(&vs->last_sequence));

    int roll = vs->manifest == NULL ||
               log_writer_size(vs->manifest) >= vs->opt.max_manifest_file_size;
    uint64_t new_mnum = 0;
    if (!s && roll)
        new_mnum = vset_new_file_number(vs);
    /* Never record a next file number below one already handed out. */
    if (!edit->has_next_file_number ||
        edit->next_file_number < atomic_load(&vs->next_file_number))
        version_edit_set_next_file_number(edit, atomic_load(&vs->next_file_number));

    version_t *v = NULL;
    builder_t b;
    if (!s) {
        s = builder_init(&b, vs, vs->current);
        if (!s)
            s = builder_apply(&b, edit);
        if (!s)
            s = builder_finish(&b, &v);
        builder_free(&b);
    }

    buf_t recs[2];
    buf_init(&recs[0]);
    buf_init(&recs[1]);
    if (!s) {
        int nrec = 0;
        if (roll)
            encode_snapshot(vs, vs->current, edit->next_file_number, &recs[nrec++]);
        version_edit_encode(edit, &recs[nrec++]);
        if (recs[0].oom || recs[1].oom)
            s = st_error(ST_IO_ERROR, "%s: out of memory encoding a version edit", vs->dir);
        log_writer_t *old = vs->manifest, *nw = NULL;
        if (!s) {
            mutex_unlock(mu);
            if (roll) {
                if (old) {
                    st_free(log_writer_close(old));
                    old = NULL;
                }
                s = write_new_manifest(vs, new_mnum, recs, nrec, &nw);
            } else {
                s = log_add_record(old, buf_slice(&recs[0]));
                if (!s)
                    s = log_writer_sync(old);
                if (s) {
                    st_free(log_writer_close(old));
                    old = NULL;
                }
            }
            mutex_lock(mu);
            vs->manifest = roll ? nw : old;
        }
    }
    buf_free(&recs[0]);
    buf_free(&recs[1]);

    if (!s) {
        if (roll)
            atomic_store(&vs->manifest_file_number, new_mnum);
        atomic_store(&vs->log_number, edit->log_number);
        vset_mark_file_number_used(vs, edit->next_file_number - 1);
        uint64_t ls = atomic_load(&vs->last_sequence);
        if (edit->last_sequence > ls)
            atomic_store(&vs->last_sequence, edit->last_sequence);
        for (int i = 0; i < edit->n_compact_pointers; i++)
            vset_set_compact_pointer(vs, edit->compact_pointers[i].level,
                                     buf_slice(&edit->compact_pointers[i].key));
        /* Checked above; only a lack of memory can fail here, and then the in-memory list
         * misses a snapshot the MANIFEST has: the next open has it again. */
        st_free(snap_apply(vs, edit, 1));
        install_version(vs, v);
    } else {
        if (v)
            version_destroy(v);
        edit->has_log_number = saved.has_log_number;
        edit->log_number = saved.log_number;
        edit->has_last_sequence = saved.has_last_sequence;
        edit->last_sequence = saved.last_sequence;
        edit->has_next_file_number = saved.has_next_file_number;
        edit->next_file_number = saved.next_file_number;
    }
    vs->writing = 0;
    pthread_cond_broadcast(&vs->cv);
    return s;
}

/* ---- counters and accessors ---- */

uint64_t vset_new_file_number(version_set_t *vs)
{
    return atomic_fetch_add(&vs->next_file_number, 1);
}

void vset_mark_file_number_used(version_set_t *vs, uint64_t number)
{
    uint64_t cur = atomic_load(&vs->next_file_number);
    while (cur <= number && !atomic_compare_exchange_weak(&vs->next_file_number, &cur,
                                                         number + 1))
        ;
}

uint64_t vset_next_file_number(version_set_t *vs) { return atomic_load(&vs->next_file_number); }
uint64_t vset_last_sequence(version_set_t *vs) { return atomic_load(&vs->last_sequence); }
void vset_set_last_sequence(version_set_t *vs, uint64_t seq) { atomic_store(&vs->last_sequence, seq); }
uint64_t vset_log_number(version_set_t *vs) { return atomic_load(&vs->log_number); }
uint64_t vset_manifest_file_number(version_set_t *vs)
{
    return atomic_load(&vs->manifest_file_number);
}
int vset_num_levels(version_set_t *vs) { return vs->opt.num_levels; }
const vset_options_t *vset_options(version_set_t *vs) { return &vs->opt; }
const char *vset_dir(version_set_t *vs) { return vs->dir; }
env_t *vset_env(version_set_t *vs) { return vs->env; }

version_t *vset_current(version_set_t *vs)
{
    pthread_mutex_lock(&vs->list_mu);
    version_t *v = vs->current;
    version_ref(v);
    pthread_mutex_unlock(&vs->list_mu);
    return v;
}

void vset_add_live_files(version_set_t *vs, void (*cb)(void *arg, uint64_t number), void *arg)
{
    pthread_mutex_lock(&vs->list_mu);
    for (version_t *v = vs->live.next; v != &vs->live; v = v->next)
        for (int l = 0; l < v->num_levels; l++)
            for (int i = 0; i < v->nfiles[l]; i++)
                cb(arg, v->files[l][i]->number);
    pthread_mutex_unlock(&vs->list_mu);
}

int vset_num_level_files(version_set_t *vs, int level)
{
    if (level < 0 || level >= vs->opt.num_levels)
        return 0;
    version_t *v = vset_current(vs);
    int n = v->nfiles[level];
    version_unref(v);
    return n;
}

uint64_t vset_level_bytes(version_set_t *vs, int level)
{
    if (level < 0 || level >= vs->opt.num_levels)
        return 0;
    version_t *v = vset_current(vs);
    uint64_t n = version_level_bytes(v, level);
    version_unref(v);
    return n;
}

uint64_t vset_max_bytes_for_level(version_set_t *vs, int level)
{
    double r = (double)vs->opt.max_bytes_for_level_base;
    for (int l = 2; l <= level; l++)
        r *= vs->opt.max_bytes_for_level_multiplier;
    return r >= 1.8e19 ? UINT64_MAX : (uint64_t)r;
}

void vset_level_summary(version_set_t *vs, buf_t *out)
{
    version_t *v = vset_current(vs);
    for (int l = 0; l < v->num_levels; l++)
        buf_printf(out, "L%d: %d files, %" PRIu64 " bytes\n", l, v->nfiles[l],
                   version_level_bytes(v, l));
    version_unref(v);
}

slice_t vset_compact_pointer(version_set_t *vs, int level)
{
    return buf_slice(&vs->compact_ptr[level]);
}

void vset_set_compact_pointer(version_set_t *vs, int level, slice_t ikey)
{
    if (level < 0 || level >= VE_MAX_LEVELS)
        return;
    buf_clear(&vs->compact_ptr[level]);
    buf_append(&vs->compact_ptr[level], ikey.data, ikey.size);
}
