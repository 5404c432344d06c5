/*
 * db_reserve.c - the space reserve: allocated bytes the store holds back for the day its
 * file system fills up.
 *
 * An LSM store frees space only by writing: a delete is a new WAL record, the WAL goes
 * away only after a flush has written a table, and deleted data leaves the tables only when
 * a compaction rewrites them. On a full disk all of that fails with ENOSPC, so without help
 * nothing can ever be deleted again, and even opening the store (which writes the replayed
 * WAL to a table) fails. With opt.reserve_bytes > 0 the store keeps a file, RESERVE, of that
 * many allocated bytes. Only a write that frees space may use it: its caller, seeing
 * ENOSPC, releases the reserve (lsm_release_reserve) and retries; lsmfs does this for
 * unlink, rmdir, rename, truncate, punch hole and xattr removal. The flush and compaction
 * waiting out their ENOSPC retry at once in the space given back, turning the deletes into
 * freed WALs and tables. Nothing else releases it: a background job that released it by
 * itself would hand it to the very writes that filled the disk, leaving nothing for the
 * deletes. Open uses it only when it cannot even write the new MANIFEST (a few KiB; a
 * replayed WAL that finds no room for its table stays in memory instead, see db_open.c), so
 * that a store on a full disk can still be mounted and emptied. Once background work has
 * freed room for it twice over, db_reserve_ensure makes the reserve again.
 *
 * Invariants: reserve_held is the size RESERVE had when last made (0 after a release or a
 * failed make); RESERVE holds no data, so losing it in a crash (or finding a partial one)
 * costs nothing: open sizes it again. reserve_mu serialises the file operations.
 */
#include <errno.h>
#include <stdio.h>

#include "db/db_impl.h"
#include "db/filename.h"

int db_is_no_space(status_t st)
{
    int e = st_errno(st);
    return st && (e == ENOSPC || e == EDQUOT);
}

void db_reserve_adopt(lsm_t *db)
{
    char path[4096];
    uint64_t size = 0;
    if (db->read_only)
        return;
    status_t st = file_size(fn_reserve(path, sizeof(path), db->dir), &size);
    st_free(st);
    atomic_store(&db->reserve_held, st ? 0 : size);
}

void db_reserve_ensure(lsm_t *db)
{
    ASSERT_NOT_HELD(&db->mu);
    uint64_t want = db->opt.reserve_bytes;
    if (db->read_only || want == 0 || atomic_load(&db->reserve_held) == want)
        return;
    pthread_mutex_lock(&db->reserve_mu);
    uint64_t held = atomic_load(&db->reserve_held), avail = 0;
    /* Only when the space is plainly there: taking the last free bytes back as soon as a
     * compaction frees them would make the reserve flap with every write. A smaller
     * reserve left from before is kept as it is until then. */
    if (held != want && file_space_available(db->dir, &avail) == 0 && avail + held >= 2 * want) {
        char path[4096];
        status_t st = file_allocate(db->env, fn_reserve(path, sizeof(path), db->dir), want);
        atomic_store(&db->reserve_held, st ? 0 : want);
        st_free(st);
    }
    pthread_mutex_unlock(&db->reserve_mu);
}

uint64_t db_reserve_release(lsm_t *db, const char *why)
{
    ASSERT_NOT_HELD(&db->mu);
    if (db->read_only || atomic_load(&db->reserve_held) == 0)
        return 0;
    pthread_mutex_lock(&db->reserve_mu);
    uint64_t held = atomic_load(&db->reserve_held);
    if (held) {
        char path[4096];
        status_t st = file_remove(db->env, fn_reserve(path, sizeof(path), db->dir));
        atomic_store(&db->reserve_held, 0); /* removed, or gone / not ours: none held */
        if (st) {
            db_log(db, LSM_LOG_ERROR, "cannot release the space reserve: %s", st_msg(st));
            st_free(st);
            held = 0;
        } else {
            db_log(db, LSM_LOG_WARN, "file system full (%s): released the %llu-byte space "
                   "reserve", why, (unsigned long long)held);
        }
    }
    pthread_mutex_unlock(&db->reserve_mu);
    if (held) {
        mutex_lock(&db->mu);
        pthread_cond_broadcast(&db->bg_cv);
        mutex_unlock(&db->mu);
    }
    return held;
}

uint64_t lsm_release_reserve(lsm_t *db) { return db_reserve_release(db, "a write that frees space"); }
