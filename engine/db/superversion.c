/*
 * superversion.c - the superversion: the memtable, immutables and version a read pins.
 *
 * Invariants: a superversion never changes after db_install_sv built it (under db->mu);
 * db->sv always points to one holding a reference of its own; each reader holds one
 * reference from db_sv_acquire to db_sv_release, and the last release frees it and drops
 * its references to the memtables and the version. Readers and writers (db_write.c,
 * db_flush.c, db_compact.c, db_open.c) both call down into this file.
 */
#include <errno.h>
#include <stdlib.h>

#include "db/db_impl.h"

superversion_t *db_sv_acquire(lsm_t *db)
{
    mutex_lock(&db->mu);
    superversion_t *sv = db->sv;
    atomic_fetch_add_explicit(&sv->refs, 1, memory_order_relaxed);
    mutex_unlock(&db->mu);
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
    int before = atomic_fetch_sub_explicit(&sv->refs, 1, memory_order_acq_rel);
    LSM_ASSERT(before > 0);
    if (before == 1)
        sv_free(sv);
}

status_t db_install_sv(lsm_t *db)
{
    ASSERT_HELD(&db->mu);
    LSM_ASSERT(db->n_imm >= 0 && db->n_imm <= DB_MAX_IMM);
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
