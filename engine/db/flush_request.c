/*
 * flush_request.c - lsm_flush: a user's request to write the memtable to L0 now.
 *
 * It sits above both the write path and the flush thread: it forces a memtable switch with
 * an empty write through the write thread (db_write.c), so that the switch happens where no
 * WAL write or memtable insert is in flight, and then waits for the flush thread
 * (db_flush.c) to have written every memtable that existed at the call. It waits under
 * db->mu on bg_cv and gives up on a background error or on close.
 */
#include <stdlib.h>

#include "db/db_impl.h"

void lsm_flush(lsm_t *db, const lsm_flushoptions_t *fo, char **errptr)
{
    if (db->read_only)
        return;
    mutex_lock(&db->mu);
    memtable_t *mem = atomic_load(&db->mem);
    int empty = memtable_num_entries(mem) == 0 && memtable_num_range_dels(mem) == 0;
    uint64_t target = db->flushes_done + db->n_imm + (empty ? 0 : 1);
    if (!empty)
        db->force_switch = 1;
    mutex_unlock(&db->mu);
    status_t st = NULL;
    if (!empty) {
        /* An empty write through the write thread: its leader's preprocess switches
         * memtables at a point where no WAL write or memtable insert is in flight. */
        write_batch_t wb;
        wb_init(&wb);
        wt_writer_t w;
        wt_writer_init(&w, &wb, 0, 0);
        st = db_write_raw(db, &w);
        wb_destroy(&wb);
    }
    if (!st && (!fo || fo->wait)) {
        mutex_lock(&db->mu);
        while (db->flushes_done < target && !db->bg_error && !db->soft_error && !db->shutting_down)
            mutex_wait(&db->mu, &db->bg_cv);
        if (db->flushes_done < target)
            st = db->bg_error ? st_copy(db->bg_error)
                 : db->soft_error ? st_copy(db->soft_error)
                                  : st_error(ST_BUSY, "%s: store is closing", db->dir);
        mutex_unlock(&db->mu);
    }
    st_to_errptr(st, errptr);
}
