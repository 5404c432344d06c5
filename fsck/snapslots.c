/*
 * snapslots.c - the N rows (schema.h): each persistent snapshot's MNT/.snapshots slot,
 * which its inode numbers and file handles derive from (fs/snapslot.h). Checked once, on
 * the live store (a snapshot's own N rows are history and never read).
 *
 * A row that does not parse or decode, and a row that repeats a slot an earlier row of an
 * existing snapshot holds, are reported and deleted: the daemon then gives that snapshot a
 * free slot at its first lookup (its inode numbers change once; handles made before get
 * ESTALE). Rows of names that are no longer snapshots are stale - a crash between deleting
 * a snapshot and its row - and harmless (the daemon drops them when it hands out a slot):
 * shown with -v only, never counted as a problem.
 */
#include "fsck.h"

#include <stdlib.h>
#include <string.h>

static int is_snapshot(char **names, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return 1;
    return 0;
}

static void drop(fsck_t *f, const char *k, size_t klen)
{
    lsm_writebatch_t *b = lsm_writebatch_create();
    fsck_b_delete(b, k, klen);
    fsck_commit(f, b);
}

void fsck_check_snapslots(fsck_t *f)
{
    char **names;
    uint64_t *seqs;
    size_t n = lsm_list_persistent_snapshots(f->db, &names, &seqs);
    unsigned char *used = calloc(FS_SNAPSLOT_MAX + 1, 1);
    if (!used)
        fsck_fatal(f, FSCK_EXIT_ERROR, "out of memory");
    fsck_scan_t s;
    fsck_scan_type(f, &s, "snapshot slot rows", FS_ROW_SNAPSLOT);
    for (; fsck_scan_valid(f, &s); fsck_scan_next(&s)) {
        size_t klen, vlen;
        const char *k = fsck_scan_key(&s, &klen);
        const char *v = fsck_scan_value(&s, &vlen);
        char esc[160];
        fs_key_t pk;
        unsigned slot;
        fsck_escape(k + 1, klen - 1, esc, sizeof(esc));
        if (fs_key_parse(k, klen, &pk) != 0) {
            if (fsck_problem(f, FSCK_PREEN_OK, Q_DELETE, "Snapshot slot row with key '%s' "
                             "(%zu bytes) is malformed.", esc, klen))
                drop(f, k, klen);
        } else if (!is_snapshot(names, n, pk.name, pk.namelen)) {
            fsck_info(f, 1, "  stale slot row of deleted snapshot %s (harmless)", esc);
        } else if (fs_snapslot_decode(v, vlen, &slot) != 0) {
            if (fsck_problem(f, FSCK_PREEN_OK, Q_DELETE, "Snapshot %s: its slot row (%zu "
                             "bytes) does not decode; it gets a new slot (new inode numbers "
                             "in MNT/.snapshots/%s) at its next lookup.", esc, vlen, esc))
                drop(f, k, klen);
        } else if (used[slot]) {
            if (fsck_problem(f, FSCK_PREEN_OK, Q_DELETE, "Snapshot %s has slot %u, which "
                             "another snapshot has; it gets a new slot (new inode numbers "
                             "in MNT/.snapshots/%s) at its next lookup.", esc, slot, esc))
                drop(f, k, klen);
        } else {
            used[slot] = 1;
        }
        fsck_poll_cancel(f);
    }
    fsck_scan_close(&s);
    free(used);
    lsm_free_persistent_snapshot_list(names, seqs, n);
}
