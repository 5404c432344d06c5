/*
 * db_read.c - the read side: superversions, lsm_get, iterators and snapshots.
 *
 * A read pins one superversion (active memtable, immutable memtables, current version),
 * picks its snapshot sequence, and consults the layers newest first: the active memtable,
 * the immutables newest first, then the version (L0 newest first, then one file per
 * level). Layers hold disjoint, decreasing sequence ranges, so the first layer that knows
 * the key (a value, a deletion or a covering range tombstone) decides.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_impl.h"
#include "db/db_iter.h"
#include "db/version_read.h"
#include "table/merger.h"
#include "table/table_cache.h"

/* ---- superversions ---- */

superversion_t *db_sv_acquire(lsm_t *db)
{
    pthread_mutex_lock(&db->mu);
    superversion_t *sv = db->sv;
    atomic_fetch_add_explicit(&sv->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&db->mu);
    return sv;
}

static void sv_free(superversion_t *sv)
{
    memtable_unref(sv->mem);
    for (int i = 0; i < sv->n_imm; i++)
        memtable_unref(sv->imm[i]);
    if (sv->version)
        version_unref(sv->version);
    free(sv);
}

void db_sv_release(lsm_t *db, superversion_t *sv)
{
    (void)db;
    if (atomic_fetch_sub_explicit(&sv->refs, 1, memory_order_acq_rel) == 1)
        sv_free(sv);
}

status_t db_install_sv(lsm_t *db)
{
    superversion_t *sv = calloc(1, sizeof(*sv));
    if (!sv)
        return st_io(ENOMEM, "%s: superversion", db->dir);
    atomic_init(&sv->refs, 1);
    sv->mem = atomic_load(&db->mem);
    memtable_ref(sv->mem);
    sv->n_imm = db->n_imm;
    for (int i = 0; i < db->n_imm; i++) {
        sv->imm[i] = db->imm[db->n_imm - 1 - i].mem; /* newest first */
        memtable_ref(sv->imm[i]);
    }
    sv->version = vset_current(db->vset);
    superversion_t *old = db->sv;
    db->sv = sv;
    if (old)
        db_sv_release(db, old);
    return NULL;
}

static uint64_t read_snapshot(lsm_t *db, const lsm_readoptions_t *ro)
{
    if (ro && ro->snapshot)
        return ro->snapshot->seq;
    return atomic_load_explicit(&db->visible_seq, memory_order_acquire);
}

/* ---- get ---- */

char *lsm_get(lsm_t *db, const lsm_readoptions_t *ro, const char *key, size_t keylen,
              size_t *vallen, char **errptr)
{
    slice_t k = slice_make(key, keylen);
    uint64_t snap = read_snapshot(db, ro);
    superversion_t *sv = db_sv_acquire(db);
    buf_t val;
    buf_init(&val);
    status_t st = NULL;
    mt_get_t r = memtable_get(sv->mem, k, snap, &val);
    for (int i = 0; r == MT_NOT_FOUND && i < sv->n_imm; i++)
        r = memtable_get(sv->imm[i], k, snap, &val);
    if (r == MT_NOT_FOUND) {
        int verify = ro ? ro->verify_checksums : 1, fill = ro ? ro->fill_cache : 1;
        vget_result_t vr;
        st = version_get(sv->version, db->tcache, k, snap, verify, fill, &val, &vr);
        r = (!st && vr == VGET_FOUND) ? MT_FOUND : MT_NOT_FOUND;
    }
    db_sv_release(db, sv);
    atomic_fetch_add_explicit(&db->stats.gets, 1, memory_order_relaxed);
    if (st || r != MT_FOUND || val.oom) {
        if (!st && val.oom)
            st = st_io(ENOMEM, "get");
        buf_free(&val);
        st_to_errptr(st, errptr);
        *vallen = 0;
        return NULL;
    }
    atomic_fetch_add_explicit(&db->stats.gets_found, 1, memory_order_relaxed);
    *vallen = val.len;
    if (!val.data) /* empty value: still a real, freeable pointer */
        return calloc(1, 1);
    return val.data;
}

/* ---- iterators ---- */

typedef struct {
    lsm_t *db;
    superversion_t *sv;
    arena_t arena;
    range_del_t tombs;
    int has_tombs;
} iter_state_t;

static void iter_cleanup(void *arg)
{
    iter_state_t *s = arg;
    if (s->has_tombs)
        range_del_destroy(&s->tombs);
    arena_destroy(&s->arena);
    db_sv_release(s->db, s->sv);
    free(s);
}

static int add_tomb(void *arg, slice_t start, slice_t end, uint64_t seq)
{
    return range_del_add(arg, seq, start, end) != 0;
}

lsm_iterator_t *lsm_create_iterator(lsm_t *db, const lsm_readoptions_t *ro)
{
    iter_state_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->db = db;
    uint64_t snap = read_snapshot(db, ro);
    s->sv = db_sv_acquire(db);
    arena_init(&s->arena, 64 << 10);
    superversion_t *sv = s->sv;
    int verify = ro ? ro->verify_checksums : 1, fill = ro ? ro->fill_cache : 1;

    /* children: active, immutables (newest first), then the version's files */
    int cap = 1 + sv->n_imm, n = 0;
    iter_t **kids = malloc(sizeof(iter_t *) * (size_t)cap);
    iter_t **vkids = NULL;
    int nv = 0;
    status_t st = NULL;
    if (!kids)
        st = st_io(ENOMEM, "iterator");
    if (!st) {
        kids[n++] = memtable_iter_new(sv->mem);
        for (int i = 0; i < sv->n_imm; i++)
            kids[n++] = memtable_iter_new(sv->imm[i]);
        st = version_add_iterators(sv->version, db->tcache, verify, fill, &vkids, &nv);
    }
    /* range tombstones of every layer, if there are any */
    uint64_t ntombs = memtable_num_range_dels(sv->mem);
    for (int i = 0; i < sv->n_imm; i++)
        ntombs += memtable_num_range_dels(sv->imm[i]);
    for (int l = 0; l < sv->version->num_levels; l++)
        for (int i = 0; i < sv->version->nfiles[l]; i++)
            ntombs += sv->version->files[l][i]->num_range_dels;
    if (!st && ntombs > 0) {
        if (range_del_init(&s->tombs, &s->arena) != 0) {
            st = st_io(ENOMEM, "iterator");
        } else {
            s->has_tombs = 1;
            range_del_walk(memtable_range_dels(sv->mem), add_tomb, &s->tombs);
            for (int i = 0; i < sv->n_imm; i++)
                range_del_walk(memtable_range_dels(sv->imm[i]), add_tomb, &s->tombs);
            st = version_add_range_dels(sv->version, db->tcache, &s->tombs, snap);
        }
    }
    iter_t *merged = NULL;
    if (!st) {
        iter_t **all = malloc(sizeof(iter_t *) * (size_t)(n + nv));
        if (!all) {
            st = st_io(ENOMEM, "iterator");
        } else {
            memcpy(all, kids, sizeof(iter_t *) * (size_t)n);
            if (nv)
                memcpy(all + n, vkids, sizeof(iter_t *) * (size_t)nv);
            for (int i = 0; i < n + nv; i++)
                if (!all[i])
                    st = st_io(ENOMEM, "iterator");
            if (!st) {
                merged = merging_iter_new(all, n + nv);
                n = nv = 0; /* owned by the merger now */
                if (!merged)
                    st = st_io(ENOMEM, "iterator");
            }
            free(all);
        }
    }
    for (int i = 0; i < n; i++)
        iter_destroy(kids[i]);
    for (int i = 0; i < nv; i++)
        iter_destroy(vkids[i]);
    free(kids);
    free(vkids);
    if (st) {
        iter_cleanup(s);
        iter_t *e = iter_new_empty(st);
        return lsm_iterator_wrap(e);
    }
    db_iter_args_t a = {
        .internal = merged,
        .snapshot = snap,
        .tombstones = s->has_tombs ? &s->tombs : NULL,
        .lower = (ro && ro->has_lower) ? buf_slice(&ro->lower) : slice_make(NULL, 0),
        .upper = (ro && ro->has_upper) ? buf_slice(&ro->upper) : slice_make(NULL, 0),
        .cleanup = iter_cleanup,
        .cleanup_arg = s,
    };
    if (a.lower.data == NULL && ro && ro->has_lower)
        a.lower.data = "";
    if (a.upper.data == NULL && ro && ro->has_upper)
        a.upper.data = "";
    return lsm_iterator_wrap(db_iter_new(&a));
}

/* ---- snapshots ---- */

const lsm_snapshot_t *lsm_create_snapshot(lsm_t *db)
{
    lsm_snapshot_t *s = malloc(sizeof(*s));
    if (!s)
        return NULL;
    pthread_mutex_lock(&db->mu);
    s->seq = atomic_load(&db->visible_seq);
    s->next = &db->snapshots;
    s->prev = db->snapshots.prev;
    s->prev->next = s;
    db->snapshots.prev = s;
    pthread_mutex_unlock(&db->mu);
    return s;
}

void lsm_release_snapshot(lsm_t *db, const lsm_snapshot_t *snap)
{
    if (!snap)
        return;
    lsm_snapshot_t *s = (lsm_snapshot_t *)snap;
    pthread_mutex_lock(&db->mu);
    s->prev->next = s->next;
    s->next->prev = s->prev;
    pthread_mutex_unlock(&db->mu);
    free(s);
}

uint64_t lsm_snapshot_get_sequence_number(const lsm_snapshot_t *s) { return s->seq; }

uint64_t lsm_get_latest_sequence_number(lsm_t *db) { return atomic_load(&db->visible_seq); }

uint64_t db_oldest_snapshot(lsm_t *db)
{
    if (db->snapshots.next != &db->snapshots)
        return db->snapshots.next->seq;
    return atomic_load(&db->visible_seq);
}
