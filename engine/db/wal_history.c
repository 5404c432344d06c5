/*
 * wal_history.c - the unbroken-history check of the live WALs (see wal_history.h).
 */
#include "db/wal_history.h"

#include <stdio.h>
#include <stdlib.h>

void wal_history_note(wal_history_t *h, const char *dir, uint64_t log, int has_records,
                      uint64_t first_seq, uint64_t next_seq, uint64_t valid_end,
                      uint64_t dropped)
{
    if (!has_records)
        return;
    if (h->log && first_seq > h->next_seq && first_seq != h->manifest_last + 1 && !h->gap) {
        char msg[1024];
        snprintf(msg, sizeof(msg),
                 "%s/%06llu.log: cut short: its records end at sequence %llu (offset %llu%s), "
                 "but %06llu.log continues at sequence %llu: the %llu sequence number(s) "
                 "between were lost from the end of %06llu.log",
                 dir, (unsigned long long)h->log, (unsigned long long)(h->next_seq - 1),
                 (unsigned long long)h->valid_end, h->dropped ? ", then a torn record" : "",
                 (unsigned long long)log, (unsigned long long)first_seq,
                 (unsigned long long)(first_seq - h->next_seq), (unsigned long long)h->log);
        h->gap = malloc(sizeof(msg));
        if (h->gap)
            snprintf(h->gap, sizeof(msg), "%s", msg);
    }
    h->log = log;
    h->next_seq = next_seq;
    h->valid_end = valid_end;
    h->dropped = dropped;
}
