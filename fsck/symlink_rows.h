/*
 * symlink_rows.h - the one scan of the symlink target rows (L rows) that pass 3 (sizes,
 * which symlinks have a target) and pass 6 (rows to delete) both walk: each row is
 * classified once, the same way for both passes.
 */
#ifndef FSCK_SYMLINK_ROWS_H
#define FSCK_SYMLINK_ROWS_H

#include "fsck.h"

typedef enum {
    SL_BAD_KEY,      /* the key does not parse */
    SL_NOT_SYMLINK,  /* its inode is missing (r NULL) or not a symlink */
    SL_CORRUPT,      /* the value does not decode */
    SL_OK            /* a target of n bytes for symlink r */
} sl_kind_t;

typedef struct {
    sl_kind_t kind;
    const char *k;   /* the row's key (valid during the visit) */
    size_t klen;
    fs_key_t pk;     /* parsed key (not for SL_BAD_KEY) */
    fsck_inode_t *r; /* the inode's model entry, or NULL */
    size_t n;        /* SL_OK: target length */
} sl_row_t;

/* Calls visit for every L row, in key order. */
void fsck_scan_symlink_rows(fsck_t *f, void (*visit)(fsck_t *f, const sl_row_t *row));

#endif
