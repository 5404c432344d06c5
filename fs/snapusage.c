/*
 * snapusage.c - how much data the persistent snapshots hold (`lsmfsctl snapshot usage`,
 * the snapshots.held-bytes line of `lsmfsctl stats`; docs/SNAPSHOTS.md "Space").
 *
 * For snapshots S1 < S2 < ... < Sn (by sequence) and the live store L = S(n+1), the bytes
 * of Si are the keys + values of the rows Si sees that S(i+1) does not see identically
 * (absent there or with other bytes). A version visible at Si and not at S(i+1) is visible
 * at no later point either, so each version is counted once, at the newest snapshot that
 * sees it, and the sum is exactly the logical data (uncompressed, before table overhead)
 * that only snapshots can read. It is a lower bound of the space they pin: the engine
 * keeps every version newer than the oldest snapshot, also versions no snapshot sees.
 *
 * Cost: one merged scan of two snapshots of the whole store per snapshot, through lsm.h
 * iterators without filling the block cache; nothing is locked.
 */
#include "snapusage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int key_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

static lsm_iterator_t *scan(fs_t *fs, const lsm_snapshot_t *at, lsm_readoptions_t **ro)
{
    *ro = lsm_readoptions_create();
    lsm_readoptions_set_fill_cache(*ro, 0);
    lsm_readoptions_set_snapshot(*ro, at);
    lsm_iterator_t *it = lsm_create_iterator(fs->db, *ro);
    lsm_iter_seek_to_first(it);
    return it;
}

/* Bytes of the rows visible at a but not identically at b (b NULL: the live store). */
static int diff_bytes(fs_t *fs, const lsm_snapshot_t *a, const lsm_snapshot_t *b,
                      uint64_t *out)
{
    lsm_readoptions_t *roa, *rob;
    lsm_iterator_t *ia = scan(fs, a, &roa), *ib = scan(fs, b, &rob);
    uint64_t sum = 0;
    while (lsm_iter_valid(ia)) {
        size_t ka, va, kb = 0, vb = 0;
        const char *k = lsm_iter_key(ia, &ka), *v = lsm_iter_value(ia, &va);
        int c = 1;
        const char *kk = NULL, *vv = NULL;
        if (lsm_iter_valid(ib)) {
            kk = lsm_iter_key(ib, &kb);
            vv = lsm_iter_value(ib, &vb);
            c = key_cmp(kk, kb, k, ka);
        }
        if (c < 0) { /* only at b */
            lsm_iter_next(ib);
            continue;
        }
        if (c > 0 || va != vb || memcmp(v, vv, va) != 0)
            sum += ka + va;
        if (c == 0)
            lsm_iter_next(ib);
        lsm_iter_next(ia);
    }
    char *err = NULL;
    lsm_iter_get_error(ia, &err);
    if (!err)
        lsm_iter_get_error(ib, &err);
    lsm_iter_destroy(ia);
    lsm_iter_destroy(ib);
    lsm_readoptions_destroy(roa);
    lsm_readoptions_destroy(rob);
    *out = sum;
    return err ? fs_err(fs, err, "snapshot usage scan") : 0;
}

int fs_snap_usage(fs_t *fs, char **names, const uint64_t *seqs, size_t n, uint64_t *bytes)
{
    /* order by sequence (creation order, which the list already is; checked) */
    size_t *ord = malloc((n ? n : 1) * sizeof(*ord));
    const lsm_snapshot_t **h = calloc(n ? n : 1, sizeof(*h));
    int r = ord && h ? 0 : -ENOMEM;
    for (size_t i = 0; i < n && !r; i++) {
        size_t j = i;
        for (; j > 0 && seqs[ord[j - 1]] > seqs[i]; j--)
            ord[j] = ord[j - 1];
        ord[j] = i;
    }
    for (size_t i = 0; i < n && !r; i++)
        if (!(h[i] = lsm_get_persistent_snapshot(fs->db, names[i])))
            r = -ENOENT; /* deleted meanwhile */
    for (size_t i = 0; i < n && !r; i++)
        r = diff_bytes(fs, h[ord[i]], i + 1 < n ? h[ord[i + 1]] : NULL, &bytes[ord[i]]);
    for (size_t i = 0; h && i < n; i++)
        if (h[i])
            lsm_release_snapshot(fs->db, h[i]);
    free(ord);
    free(h);
    return r;
}
