/*
 * pass_super.c - pass 2: the superblock, and rows that belong to no row type.
 *
 * The S row must decode (magic, value and format version, block size a power of two in
 * range, known features). Its inode high-water mark must be above every inode number any
 * row uses, or the daemon would hand out a number that is taken: the largest number of
 * each row type is one bounded seek to the last key of that type, so this costs seven
 * seeks, not a scan. A missing or undecodable superblock is rebuilt (when allowed): the
 * block size is inferred from the data blocks (full blocks of multi-block files have
 * exactly the block size), the uuid is new and the label is lost. A newer format or
 * unknown feature bits end the run (status 8): this fsck cannot judge such a store.
 *
 * Keys outside every row type (the gaps between 'B', 'D', 'I', 'L', 'N', 'O', 'S', 'X') and
 * malformed S keys are reported and deleted; the gaps are empty in a sound store, so
 * scanning them is cheap.
 */
#include "fsck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const int row_types[] = {
    FS_ROW_BLOCK, FS_ROW_DENTRY, FS_ROW_INODE, FS_ROW_SYMLINK, FS_ROW_SNAPSLOT, FS_ROW_ORPHAN,
    FS_ROW_SUPER, FS_ROW_XATTR,
};
#define N_ROW_TYPES (sizeof(row_types) / sizeof(row_types[0]))

void fsck_raise_hwm(fsck_t *f, lsm_writebatch_t *b, uint64_t ino)
{
    if (ino < f->sb.inode_hwm)
        return;
    f->sb.inode_hwm = ino + 1;
    if (f->have_sb)
        fsck_b_put_super(b, &f->sb);
}

/* Largest inode number among the rows of one type (0 if there are none). */
static uint64_t last_ino_of_type(fsck_t *f, int type)
{
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX];
    size_t lolen = fs_key_type_start(lo, type), hilen = fs_key_type_end(hi, type);
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_readoptions_set_iterate_lower_bound(ro, lo, lolen);
    lsm_readoptions_set_iterate_upper_bound(ro, hi, hilen);
    if (f->snap)
        lsm_readoptions_set_snapshot(ro, f->snap);
    lsm_iterator_t *it = lsm_create_iterator(f->db, ro);
    uint64_t ino = 0;
    int steps = 0;
    /* Walk back past malformed keys (pass 3/6 deal with them), a bounded number. */
    for (lsm_iter_seek_to_last(it); lsm_iter_valid(it) && steps < 1000; lsm_iter_prev(it), steps++) {
        size_t klen;
        const char *k = lsm_iter_key(it, &klen);
        fs_key_t pk;
        if (fs_key_parse(k, klen, &pk) == 0) {
            ino = pk.ino;
            break;
        }
    }
    char *err = NULL;
    lsm_iter_get_error(it, &err);
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
    if (err)
        fsck_fatal(f, lsm_error_errno(err) == EUCLEAN ? FSCK_EXIT_UNCORRECTED : FSCK_EXIT_ERROR,
                   "reading the last row of type '%c': %s", type, err);
    return ino;
}

/* Deletes (when allowed) every key in [lo, hi) (hi NULL: to the end): keys no row type
 * owns. */
static void unknown_rows(fsck_t *f, const char *lo, size_t lolen, const char *hi, size_t hilen)
{
    fsck_scan_t s;
    fsck_scan_open(f, &s, "rows of unknown type", lo, lolen, hi, hilen);
    for (; fsck_scan_valid(f, &s); fsck_scan_next(&s)) {
        size_t klen;
        const char *k = fsck_scan_key(&s, &klen);
        char esc[160];
        if (fsck_problem(f, 0, Q_DELETE, "Row with key '%s' (%zu bytes) is of no known type.",
                         fsck_escape(k, klen, esc, sizeof(esc)), klen)) {
            lsm_writebatch_t *b = lsm_writebatch_create();
            fsck_b_delete(b, k, klen);
            fsck_commit(f, b);
        }
        fsck_poll_cancel(f);
    }
    fsck_scan_close(&s);
}

static void check_key_space(fsck_t *f)
{
    /* Gaps: [start, first type), then between consecutive types, then past the last.
     * row_types is sorted by byte value. */
    char lo[2] = {0}, hi[2] = {0};
    size_t lolen = 0;
    for (size_t i = 0; i <= N_ROW_TYPES; i++) {
        if (i < N_ROW_TYPES) {
            hi[0] = (char)row_types[i];
            if (lolen == 0 || (unsigned char)lo[0] < (unsigned char)hi[0])
                unknown_rows(f, lo, lolen, hi, 1);
            lo[0] = (char)(row_types[i] + 1);
            lolen = 1;
        } else {
            unknown_rows(f, lo, lolen, NULL, 0);
        }
    }
    /* Inside 'S': only the one-byte key "S". */
    char slo[2] = {FS_ROW_SUPER, 0}, shi[1] = {FS_ROW_SUPER + 1};
    unknown_rows(f, slo, 2, shi, 1);
}

static uint32_t pow2_at_least(uint64_t n)
{
    uint32_t p = FS_BLOCK_SIZE_MIN;
    while (p < n && p < FS_BLOCK_SIZE_MAX)
        p <<= 1;
    return p;
}

/* Block size a store without a superblock most likely has. */
static uint32_t guess_block_size(fsck_t *f)
{
    fsck_scan_t s;
    uint64_t maxlen = 0;
    int multi = 0;
    fsck_scan_type(f, &s, "data blocks", FS_ROW_BLOCK);
    for (; fsck_scan_valid(f, &s); fsck_scan_next(&s)) {
        size_t klen, vlen;
        const char *k = fsck_scan_key(&s, &klen);
        fs_key_t pk;
        if (fs_key_parse(k, klen, &pk) != 0)
            continue;
        fsck_scan_value(&s, &vlen);
        if (vlen > maxlen)
            maxlen = vlen;
        if (pk.index > 0)
            multi = 1;
    }
    fsck_scan_close(&s);
    uint32_t bs = pow2_at_least(maxlen);
    if (!multi && bs < FS_BLOCK_SIZE_DEFAULT)
        bs = FS_BLOCK_SIZE_DEFAULT;  /* any size >= the longest block reads one-block files */
    return bs;
}

static void rebuild_super(fsck_t *f, const char *why)
{
    fs_super_t sb;
    memset(&sb, 0, sizeof(sb));
    sb.format_version = FS_FORMAT_VERSION;
    sb.block_size = guess_block_size(f);
    sb.inode_hwm = f->max_ino + 1 > FS_FIRST_FREE_INO ? f->max_ino + 1 : FS_FIRST_FREE_INO;
    sb.compression = FS_COMPRESS_NONE;
    sb.created_sec = f->now;
    if (getrandom(sb.uuid, sizeof(sb.uuid), 0) != (ssize_t)sizeof(sb.uuid))
        memcpy(sb.uuid, &f->now, sizeof(f->now));
    sb.uuid[6] = (uint8_t)((sb.uuid[6] & 0x0f) | 0x40);
    sb.uuid[8] = (uint8_t)((sb.uuid[8] & 0x3f) | 0x80);
    f->sb = sb;  /* the passes below use the inferred geometry either way */
    if (fsck_problem(f, 0, Q_REBUILD, "The superblock %s. A new one would have block size %u "
                     "(inferred from the data blocks), inode high-water mark %llu, a new uuid "
                     "and no label.", why, sb.block_size, (unsigned long long)sb.inode_hwm)) {
        lsm_writebatch_t *b = lsm_writebatch_create();
        fsck_b_put_super(b, &sb);
        fsck_commit(f, b);
        f->have_sb = 1;
    }
}

void fsck_pass_super(fsck_t *f)
{
    fsck_pass_start(f, 2, "Checking the superblock and the key space");
    f->max_ino = 0;
    for (size_t i = 0; i < N_ROW_TYPES; i++) {
        if (row_types[i] == FS_ROW_SUPER)
            continue;
        uint64_t m = last_ino_of_type(f, row_types[i]);
        if (m > f->max_ino)
            f->max_ino = m;
        fsck_progress(f, i + 1, N_ROW_TYPES + 3);
    }

    char key[FS_KEY_MAX];
    size_t klen = fs_key_super(key), vlen = 0;
    char *err = NULL;
    char *v = lsm_get(f->db, f->ropt, key, klen, &vlen, &err);
    if (err)
        fsck_fatal(f, FSCK_EXIT_ERROR, "reading the superblock: %s", err);
    int r = v ? fs_super_decode(v, vlen, &f->sb) : -ENOENT;
    lsm_free(v);
    if (r == -EPROTONOSUPPORT)
        fsck_fatal(f, FSCK_EXIT_ERROR, "the superblock has format version %u or feature bits "
                   "0x%llx that this fsck.lsmfs does not know; use a newer fsck",
                   f->sb.format_version, (unsigned long long)f->sb.features);
    if (r == 0) {
        f->have_sb = 1;
        fsck_info(f, 1, "  superblock: format %u, block size %u, inode high-water mark %llu",
                  f->sb.format_version, f->sb.block_size, (unsigned long long)f->sb.inode_hwm);
    } else {
        rebuild_super(f, r == -ENOENT ? "is missing" : "is corrupt (bad magic, version or field)");
    }
    fsck_progress(f, N_ROW_TYPES + 1, N_ROW_TYPES + 3);

    if (f->sb.inode_hwm <= f->max_ino &&
        fsck_problem(f, FSCK_PREEN_OK, Q_RAISE, "The inode high-water mark is %llu, but inode "
                     "%llu is in use: new files would reuse numbers.",
                     (unsigned long long)f->sb.inode_hwm, (unsigned long long)f->max_ino)) {
        lsm_writebatch_t *b = lsm_writebatch_create();
        fsck_raise_hwm(f, b, f->max_ino);
        fsck_commit(f, b);
    }
    check_key_space(f);
    if (!f->snap)
        fsck_check_snapslots(f);
    fsck_progress(f, N_ROW_TYPES + 3, N_ROW_TYPES + 3);
}
