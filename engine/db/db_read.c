/*
 * db_read.c - the read side: lsm_get, iterators and snapshots (superversions: superversion.c).
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
#include "db/table_cache.h"

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

/* The range tombstones an iterator must honour, looked up where they live instead of being
 * copied: the memtables' fragment sets and, for tables, the fragment set each table_t keeps
 * in memory (pinned here for the iterator's life). Only layers that hold tombstones are
 * listed; per key the cost is one lookup per such memtable and L0 file plus one binary
 * search per deeper level. */
typedef struct {
    file_meta_t **files; /* the level's files, sorted (levels >= 1) */
    table_t **tables;    /* tables[i] pinned when files[i] has tombstones, else NULL */
    int n;
} tv_level_t;

typedef struct {
    lsm_t *db;
    superversion_t *sv;
    range_del_t *mems[1 + DB_MAX_IMM];
    int n_mems;
    table_t **l0;        /* L0 tables with tombstones */
    int n_l0;
    tv_level_t levels[VE_MAX_LEVELS];
    cache_handle_t **handles;
    int n_handles;
} iter_state_t;

static void iter_cleanup(void *arg)
{
    iter_state_t *s = arg;
    for (int i = 0; i < s->n_handles; i++)
        table_cache_release(s->db->tcache, s->handles[i]);
    free(s->handles);
    free(s->l0);
    for (int l = 0; l < VE_MAX_LEVELS; l++)
        free(s->levels[l].tables);
    db_sv_release(s->db, s->sv);
    free(s);
}

static uint64_t tv_max_covering(void *arg, slice_t ukey, uint64_t snap)
{
    iter_state_t *s = arg;
    uint64_t best = 0, x;
    for (int i = 0; i < s->n_mems; i++)
        if ((x = range_del_max_covering(s->mems[i], ukey, snap)) > best)
            best = x;
    for (int i = 0; i < s->n_l0; i++)
        if ((x = table_max_covering_tombstone(s->l0[i], ukey, snap)) > best)
            best = x;
    for (int l = 1; l < VE_MAX_LEVELS; l++) {
        tv_level_t *lv = &s->levels[l];
        if (!lv->tables)
            continue;
        int lo = 0, hi = lv->n; /* first file whose largest user key >= ukey */
        while (lo < hi) {
            int mid = lo + (hi - lo) / 2;
            if (slice_compare(ikey_user_key(lv->files[mid]->largest), ukey) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        /* A boundary user key may sit in two adjacent files: look at both. */
        for (int i = lo; i < lv->n && i <= lo + 1; i++) {
            if (slice_compare(ikey_user_key(lv->files[i]->smallest), ukey) > 0)
                break;
            if (lv->tables[i] && (x = table_max_covering_tombstone(lv->tables[i], ukey, snap)) > best)
                best = x;
        }
    }
    return best;
}

static status_t tv_pin(iter_state_t *s, file_meta_t *f, table_t **out)
{
    cache_handle_t *h;
    status_t st = table_cache_get(s->db->tcache, f->number, f->size, &h);
    if (st)
        return st;
    s->handles[s->n_handles++] = h;
    *out = table_cache_table(h);
    return NULL;
}

/* Fills the tombstone view; sets *any when some layer has tombstones. */
static status_t tv_build(iter_state_t *s, int *any)
{
    superversion_t *sv = s->sv;
    version_t *v = sv->version;
    *any = 0;
    if (memtable_num_range_dels(sv->mem))
        s->mems[s->n_mems++] = memtable_range_dels(sv->mem);
    for (int i = 0; i < sv->n_imm; i++)
        if (memtable_num_range_dels(sv->imm[i]))
            s->mems[s->n_mems++] = memtable_range_dels(sv->imm[i]);
    int ntab = 0;
    for (int l = 0; l < v->num_levels; l++)
        for (int i = 0; i < v->nfiles[l]; i++)
            ntab += v->files[l][i]->num_range_dels > 0;
    *any = s->n_mems > 0 || ntab > 0;
    if (ntab == 0)
        return NULL;
    s->handles = malloc(sizeof(cache_handle_t *) * (size_t)ntab);
    s->l0 = malloc(sizeof(table_t *) * (size_t)(v->nfiles[0] ? v->nfiles[0] : 1));
    if (!s->handles || !s->l0)
        return st_io(ENOMEM, "iterator");
    status_t st = NULL;
    for (int i = 0; i < v->nfiles[0] && !st; i++)
        if (v->files[0][i]->num_range_dels > 0)
            st = tv_pin(s, v->files[0][i], &s->l0[s->n_l0++]);
    for (int l = 1; l < v->num_levels && l < VE_MAX_LEVELS && !st; l++) {
        int has = 0;
        for (int i = 0; i < v->nfiles[l]; i++)
            has |= v->files[l][i]->num_range_dels > 0;
        if (!has)
            continue;
        tv_level_t *lv = &s->levels[l];
        lv->files = v->files[l];
        lv->n = v->nfiles[l];
        lv->tables = calloc((size_t)lv->n, sizeof(table_t *));
        if (!lv->tables)
            return st_io(ENOMEM, "iterator");
        for (int i = 0; i < lv->n && !st; i++)
            if (lv->files[i]->num_range_dels > 0)
                st = tv_pin(s, lv->files[i], &lv->tables[i]);
    }
    return st;
}

iter_t *db_new_iterator(lsm_t *db, const lsm_readoptions_t *ro)
{
    iter_state_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->db = db;
    uint64_t snap = read_snapshot(db, ro);
    s->sv = db_sv_acquire(db);
    superversion_t *sv = s->sv;
    int verify = ro ? ro->verify_checksums : 1, fill = ro ? ro->fill_cache : 1;

    /* children: active, immutables (newest first), then the version's files */
    int n = 0, nv = 0, any_tombs = 0;
    iter_t **kids = malloc(sizeof(iter_t *) * (size_t)(1 + sv->n_imm));
    iter_t **vkids = NULL;
    status_t st = kids ? NULL : st_io(ENOMEM, "iterator");
    if (!st) {
        kids[n++] = memtable_iter_new(sv->mem);
        for (int i = 0; i < sv->n_imm; i++)
            kids[n++] = memtable_iter_new(sv->imm[i]);
        st = version_add_iterators(sv->version, db->tcache, verify, fill, &vkids, &nv);
    }
    if (!st)
        st = tv_build(s, &any_tombs);
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
        return iter_new_empty(st);
    }
    db_iter_args_t a = {
        .internal = merged,
        .snapshot = snap,
        .max_covering = any_tombs ? tv_max_covering : NULL,
        .cover_arg = s,
        .lower = slice_make(NULL, 0),
        .upper = slice_make(NULL, 0),
        .cleanup = iter_cleanup,
        .cleanup_arg = s,
    };
    if (ro && ro->has_lower)
        a.lower = slice_make(ro->lower.data ? ro->lower.data : "", ro->lower.len);
    if (ro && ro->has_upper)
        a.upper = slice_make(ro->upper.data ? ro->upper.data : "", ro->upper.len);
    return db_iter_new(&a);
}

/* ---- snapshots ---- */

const lsm_snapshot_t *lsm_create_snapshot(lsm_t *db)
{
    lsm_snapshot_t *s = malloc(sizeof(*s));
    if (!s)
        return NULL;
    mutex_lock(&db->mu);
    s->seq = atomic_load(&db->visible_seq);
    s->next = &db->snapshots;
    s->prev = db->snapshots.prev;
    s->prev->next = s;
    db->snapshots.prev = s;
    mutex_unlock(&db->mu);
    return s;
}

void lsm_release_snapshot(lsm_t *db, const lsm_snapshot_t *snap)
{
    if (!snap)
        return;
    lsm_snapshot_t *s = (lsm_snapshot_t *)snap;
    mutex_lock(&db->mu);
    s->prev->next = s->next;
    s->next->prev = s->prev;
    mutex_unlock(&db->mu);
    free(s);
}

uint64_t lsm_snapshot_get_sequence_number(const lsm_snapshot_t *s) { return s->seq; }

uint64_t lsm_get_latest_sequence_number(lsm_t *db) { return atomic_load(&db->visible_seq); }

uint64_t db_oldest_snapshot(lsm_t *db)
{
    ASSERT_HELD(&db->mu);
    uint64_t oldest = atomic_load(&db->visible_seq);
    if (db->snapshots.next != &db->snapshots)
        oldest = db->snapshots.next->seq;
    uint64_t p = vset_oldest_snapshot(db->vset); /* persistent snapshots (db_snapshot.c) */
    return p < oldest ? p : oldest;
}
