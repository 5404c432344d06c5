/*
 * wal_history.h - checks, during WAL replay, that the live WALs hold one unbroken history.
 *
 * Sequence numbers are consumed only by batches that reached a WAL (a group whose WAL
 * write fails consumes none), and a new WAL takes writes only after the previous one was
 * synced (db_new_wal). So the first record of a WAL continues exactly where the previous
 * WAL with records ended (first seq == previous last seq + count), also after a power
 * cut: a crash between creating a WAL and syncing the old one can tear the old one's
 * tail, but then the new one holds no record yet. One legitimate gap: an open that kept
 * a replayed WAL live (full disk) starts the next WAL right after the sequence it wrote to
 * the MANIFEST, which may lie past the kept WAL's end (its unsynced tail was lost in a
 * crash); so a WAL that starts exactly at the MANIFEST's last sequence + 1 is no gap. A WAL whose successor starts further on
 * lost records from its end: it was cut short (truncated, or its tail never reached the
 * disk), and replay would silently build a shorter history. The check only reports: it
 * never changes what replay does. Batches written with disable_WAL also leave such a gap;
 * lsmfs never writes without the WAL.
 */
#ifndef LSM_DB_WAL_HISTORY_H
#define LSM_DB_WAL_HISTORY_H

#include <stdint.h>

typedef struct {
    uint64_t manifest_last;  /* the MANIFEST's last sequence when replay began */
    uint64_t log;            /* last WAL that held a record (0: none yet) */
    uint64_t next_seq;       /* the sequence its successor must start at */
    uint64_t valid_end;      /* where its last whole record ends */
    uint64_t dropped;        /* torn-tail bytes after that */
    char *gap;               /* malloc'd description of the first gap found, or NULL */
} wal_history_t;

/* Called once per replayed WAL with the sequence range of its records (first..next-1;
 * nothing when it holds no record), where its last record ends and the torn bytes. */
void wal_history_note(wal_history_t *h, const char *dir, uint64_t log, int has_records,
                      uint64_t first_seq, uint64_t next_seq, uint64_t valid_end,
                      uint64_t dropped);

#endif
