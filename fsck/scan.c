/*
 * scan.c - bounded forward scans over the store for fsck's passes.
 *
 * Each scan is one engine iterator with lower and upper bounds (so it never wanders into
 * the next row type), checksums verified, without filling the block cache (a check reads
 * everything once). The iterator reads a consistent snapshot taken when the scan opens;
 * fixes written meanwhile are not seen by it. An engine error during a scan ends the run:
 * corruption with status 4 (the store is damaged), anything else with 8.
 */
#include "fsck.h"

#include <errno.h>
#include <stdlib.h>

void fsck_scan_open(fsck_t *f, fsck_scan_t *s, const char *what, const char *lo, size_t lolen,
                    const char *hi, size_t hilen)
{
    s->what = what;
    s->ro = lsm_readoptions_create();
    if (!s->ro)
        fsck_fatal(f, FSCK_EXIT_ERROR, "out of memory");
    lsm_readoptions_set_verify_checksums(s->ro, 1);
    lsm_readoptions_set_fill_cache(s->ro, 0);
    lsm_readoptions_set_iterate_lower_bound(s->ro, lo, lolen);
    if (hi)
        lsm_readoptions_set_iterate_upper_bound(s->ro, hi, hilen);
    if (f->snap)
        lsm_readoptions_set_snapshot(s->ro, f->snap);
    s->it = lsm_create_iterator(f->db, s->ro);
    if (!s->it)
        fsck_fatal(f, FSCK_EXIT_ERROR, "cannot create an iterator over the %s", what);
    lsm_iter_seek(s->it, lo, lolen);
}

void fsck_scan_type(fsck_t *f, fsck_scan_t *s, const char *what, int type)
{
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX];
    size_t lolen = fs_key_type_start(lo, type);
    size_t hilen = fs_key_type_end(hi, type);
    fsck_scan_open(f, s, what, lo, lolen, hi, hilen);
}

int fsck_scan_valid(fsck_t *f, fsck_scan_t *s)
{
    if (lsm_iter_valid(s->it))
        return 1;
    char *err = NULL;
    lsm_iter_get_error(s->it, &err);
    if (err) {
        int code = lsm_error_errno(err) == EUCLEAN ? FSCK_EXIT_UNCORRECTED : FSCK_EXIT_ERROR;
        fsck_scan_close(s);
        fsck_fatal(f, code, "reading the %s failed: %s", s->what, err);
    }
    return 0;
}

void fsck_scan_next(fsck_scan_t *s) { lsm_iter_next(s->it); }

void fsck_scan_seek(fsck_scan_t *s, const char *key, size_t klen)
{
    lsm_iter_seek(s->it, key, klen);
}

const char *fsck_scan_key(const fsck_scan_t *s, size_t *len) { return lsm_iter_key(s->it, len); }

const char *fsck_scan_value(const fsck_scan_t *s, size_t *len)
{
    return lsm_iter_value(s->it, len);
}

void fsck_scan_close(fsck_scan_t *s)
{
    if (s->it)
        lsm_iter_destroy(s->it);
    lsm_readoptions_destroy(s->ro);
    s->it = NULL;
    s->ro = NULL;
}
