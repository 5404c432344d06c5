/*
 * snapslot.c - reading and writing the N rows that keep each persistent snapshot's
 * MNT/.snapshots slot (snapslot.h says the invariants; snapview.c decides when).
 * Rows are read from the live store (fs->ropt), never at a snapshot.
 */
#include "snapslot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int fs_snapslot_load(fs_t *fs, const char *name, unsigned *slot)
{
    char key[FS_KEY_MAX], *err = NULL;
    size_t klen = fs_key_snapslot(key, name, strlen(name)), vlen = 0;
    if (!klen)
        return -ENOENT;
    char *v = lsm_get(fs->db, fs->ropt, key, klen, &vlen, &err);
    if (err)
        return fs_err(fs, err, "read snapshot slot");
    if (!v)
        return -ENOENT;
    int r = fs_snapslot_decode(v, vlen, slot);
    lsm_free(v);
    return r ? -ENOENT : 0; /* a malformed row is as good as none: a new slot replaces it */
}

/* 1 if name is among the n names. */
static int listed(char **names, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return 1;
    return 0;
}

int fs_snapslot_scan(fs_t *fs, unsigned char *used, lsm_writebatch_t *b, unsigned want,
                     char **want_name)
{
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX], *err = NULL;
    char **names;
    uint64_t *seqs;
    size_t n = lsm_list_persistent_snapshots(fs->db, &names, &seqs);
    memset(used, 0, FS_SNAPSLOT_MAX + 1);
    if (want_name)
        *want_name = NULL;
    lsm_readoptions_t *ro = lsm_readoptions_create();
    size_t nlo = fs_key_type_start(lo, FS_ROW_SNAPSLOT), nhi = fs_key_type_end(hi, FS_ROW_SNAPSLOT);
    lsm_readoptions_set_iterate_upper_bound(ro, hi, nhi);
    lsm_iterator_t *it = lsm_create_iterator(fs->db, ro);
    int r = 0;
    for (lsm_iter_seek(it, lo, nlo); lsm_iter_valid(it) && r == 0; lsm_iter_next(it)) {
        size_t klen, vlen;
        const char *k = lsm_iter_key(it, &klen);
        const char *v = lsm_iter_value(it, &vlen);
        fs_key_t pk;
        unsigned slot;
        if (fs_key_parse(k, klen, &pk) != 0 || pk.type != FS_ROW_SNAPSLOT)
            continue; /* fsck's to judge; never a slot */
        if (!listed(names, n, pk.name, pk.namelen)) {
            if (b)
                lsm_writebatch_delete(b, k, klen);
            continue;
        }
        if (fs_snapslot_decode(v, vlen, &slot) != 0 || used[slot])
            continue; /* malformed or a duplicate: that name gets a new slot when seen */
        used[slot] = 1;
        if (want && slot == want && want_name && !*want_name &&
            !(*want_name = strndup(pk.name, pk.namelen)))
            r = -ENOMEM;
    }
    lsm_iter_get_error(it, &err);
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
    lsm_free_persistent_snapshot_list(names, seqs, n);
    if (err)
        r = fs_err(fs, err, "scan snapshot slots");
    if (r && want_name) {
        free(*want_name);
        *want_name = NULL;
    }
    return r;
}

void fs_snapslot_put(lsm_writebatch_t *b, const char *name, unsigned slot)
{
    char key[FS_KEY_MAX], val[FS_SNAPSLOT_SIZE];
    size_t klen = fs_key_snapslot(key, name, strlen(name));
    if (klen)
        lsm_writebatch_put(b, key, klen, val, fs_snapslot_encode(slot, val));
}

void fs_snapslot_del(lsm_writebatch_t *b, const char *name)
{
    char key[FS_KEY_MAX];
    size_t klen = fs_key_snapslot(key, name, strlen(name));
    if (klen)
        lsm_writebatch_delete(b, key, klen);
}
