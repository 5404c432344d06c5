/*
 * symlink_rows.c - walks the L rows once per call and tells each visitor what the row is
 * (see symlink_rows.h). It reads only; the visitors decide what to report or repair.
 */
#include "symlink_rows.h"

#include <sys/stat.h>

void fsck_scan_symlink_rows(fsck_t *f, void (*visit)(fsck_t *f, const sl_row_t *row))
{
    fsck_scan_t s;
    fsck_scan_type(f, &s, "symlink rows", FS_ROW_SYMLINK);
    for (; fsck_scan_valid(f, &s); fsck_scan_next(&s)) {
        sl_row_t row = {0};
        size_t vlen;
        const char *v = fsck_scan_value(&s, &vlen), *target;
        row.k = fsck_scan_key(&s, &row.klen);
        if (fs_key_parse(row.k, row.klen, &row.pk) != 0) {
            row.kind = SL_BAD_KEY;
        } else {
            row.r = itab_live(&f->itab, row.pk.ino);
            if (!row.r || !S_ISLNK(row.r->mode))
                row.kind = SL_NOT_SYMLINK;
            else if (fs_symlink_decode(v, vlen, &target, &row.n) != 0)
                row.kind = SL_CORRUPT;
            else
                row.kind = SL_OK;
        }
        visit(f, &row);
    }
    fsck_scan_close(&s);
}
