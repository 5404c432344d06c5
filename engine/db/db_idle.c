/*
 * db_idle.c - the idle thread: space reclaim without writes.
 *
 * Deletions sit in the memtable until it fills; on a store that went quiet after an
 * `rm -rf` that may be forever, and deletion-triggered compaction (compaction_picker.c)
 * only sees tables. This thread wakes once a second and, when no write has come (visible_seq unchanged) for
 * idle_flush_seconds and the memtable holds something, asks for a flush (lsm_flush without
 * waiting). The flush's completion wakes the compaction thread, which then picks
 * deletion-heavy files until none qualifies.
 *
 * Invariants: the thread never waits for background work (the flush request does not
 * wait, and it is made only when no immutable memtable is pending, so the write-group
 * stall conditions cannot hold); it flushes a given quiet memtable at most once (after a
 * flush the memtable is empty until the next write); it stops when shutting_down is set.
 */
#include <stdlib.h>
#include <time.h>

#include "db/db_impl.h"

static int64_t mono_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec;
}

void *db_idle_thread(void *arg)
{
    lsm_t *db = arg;
    uint64_t last_written = atomic_load(&db->visible_seq);
    int64_t quiet_since = mono_seconds();
    mutex_lock(&db->mu);
    while (!db->shutting_down) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        mutex_timedwait(&db->mu, &db->bg_cv, &ts);
        if (db->shutting_down)
            break;
        uint64_t w = atomic_load(&db->visible_seq);
        int64_t now = mono_seconds();
        if (w != last_written) {
            last_written = w;
            quiet_since = now;
            continue;
        }
        if (now - quiet_since < db->opt.idle_flush_seconds)
            continue;
        memtable_t *mem = atomic_load(&db->mem);
        int empty = memtable_num_entries(mem) == 0 && memtable_num_range_dels(mem) == 0;
        if (empty || db->n_imm > 0 || db->bg_error || db->soft_error)
            continue;
        quiet_since = now;
        mutex_unlock(&db->mu);
        lsm_flushoptions_t fo = {0};
        char *err = NULL;
        lsm_flush(db, &fo, &err);
        free(err); /* a failed flush is the flush thread's to report and retry */
        mutex_lock(&db->mu);
    }
    mutex_unlock(&db->mu);
    return NULL;
}
