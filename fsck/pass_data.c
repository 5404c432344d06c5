/*
 * pass_data.c - pass 6: orphans, data blocks, extended attributes and symlink rows.
 *
 * Orphans first: fsck runs only on a store nobody has open (it holds the LOCK), so an O
 * row whose inode no entry names is garbage and the inode is reclaimed with all its rows
 * in one batch; an O row of a linked inode just loses the mark. Then one scan per row type
 * (B, X, L), each in inode order, so the rows of one inode are a contiguous group judged
 * with one table lookup: rows of a missing inode, or of an inode of the wrong type (data
 * of a non-regular file, a target row of a non-symlink), go with one range deletion per
 * inode; blocks wholly past the end of a file go with one range deletion from the first
 * such block; a block holding bytes past the end (or more than a block) is cut. Rows whose
 * key or value does not decode are deleted one by one, and so are POSIX ACL rows whose
 * value is not a valid ACL (schema_acl.h).
 */
#include "fsck.h"
#include "symlink_rows.h"
#include "schema_acl.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int reclaimable(const fsck_inode_t *r)
{
    if (S_ISDIR(r->mode))
        return r->dparent == 0 && !(r->flags & IT_HAS_CHILDREN);
    return r->count == 0;
}

static void del_key(fsck_t *f, const char *k, size_t klen)
{
    lsm_writebatch_t *b = lsm_writebatch_create();
    fsck_b_delete(b, k, klen);
    fsck_commit(f, b);
}

static int malformed(fsck_t *f, const char *what, const char *k, size_t klen)
{
    char esc[160];
    if (fsck_problem(f, 0, Q_DELETE, "%s row with a malformed key '%s'.", what,
                     fsck_escape(k, klen, esc, sizeof(esc)))) {
        del_key(f, k, klen);
        return 1;
    }
    return 0;
}

static void check_orphans(fsck_t *f)
{
    fsck_scan_t s;
    fsck_scan_type(f, &s, "orphan rows", FS_ROW_ORPHAN);
    for (; fsck_scan_valid(f, &s); fsck_scan_next(&s)) {
        size_t klen, vlen;
        const char *k = fsck_scan_key(&s, &klen);
        const char *v = fsck_scan_value(&s, &vlen);
        fs_key_t pk;
        if (fs_key_parse(k, klen, &pk) != 0) {
            malformed(f, "Orphan", k, klen);
            continue;
        }
        int64_t since = 0;
        char when[64] = "an unknown time";
        if (fs_orphan_decode(v, vlen, &since) == 0) {
            time_t t = (time_t)since;
            struct tm tm;
            if (localtime_r(&t, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        }
        fsck_inode_t *r = itab_live(&f->itab, pk.ino);
        if (!r) {
            if (fsck_problem(f, FSCK_PREEN_OK, Q_DELETE, "Orphan row of missing inode %llu.",
                             (unsigned long long)pk.ino))
                del_key(f, k, klen);
            continue;
        }
        f->counts.orphans++;
        if (reclaimable(r) && f->mode == FSCK_NO) {
            /* A file unlinked while open when the daemon stopped: the orphan row is how
             * lsmfs finishes that unlink (the next mount reclaims it), not damage - as
             * ext4's orphan list, which e2fsck -n leaves to the kernel. Reported, not
             * counted, so that -n exits 0 on a store that is only waiting for that. */
            fsck_problem(f, 0, Q_NONE, "Orphan inode %llu (%s, %llu bytes, unlinked while "
                         "open since %s) is reclaimed at the next mount (or by -p/-y).",
                         (unsigned long long)pk.ino, fsck_type_name(r->mode),
                         S_ISDIR(r->mode) ? 0ULL : (unsigned long long)r->size, when);
        } else if (reclaimable(r)) {
            if (fsck_problem(f, FSCK_PREEN_OK, Q_RECLAIM, "Orphan inode %llu (%s, %llu bytes, "
                             "unlinked while open since %s) is no longer open.",
                             (unsigned long long)pk.ino, fsck_type_name(r->mode),
                             S_ISDIR(r->mode) ? 0ULL : (unsigned long long)r->size, when)) {
                lsm_writebatch_t *b = lsm_writebatch_create();
                fsck_b_reclaim(b, pk.ino);
                fsck_commit(f, b);
                r->flags |= IT_REMOVED;
            }
        } else if (fsck_problem(f, FSCK_PREEN_OK, Q_DELETE, "Inode %llu (%s) is marked as an "
                                "orphan but is still linked.", (unsigned long long)pk.ino,
                                fsck_type_name(r->mode))) {
            del_key(f, k, klen);
            r->flags &= (uint16_t)~IT_ORPHAN;
        }
        fsck_poll_cancel(f);
    }
    fsck_scan_close(&s);
}

/* The rows of one inode within one row type. */
typedef struct {
    uint64_t ino;
    int active;
    int bad;               /* 1: all rows of this inode must go (missing / wrong type) */
    const char *why;       /* "is missing" / "is a directory" ... */
    uint64_t rows;         /* rows in the group (bad groups) */
    uint64_t beyond;       /* rows past the end of the file */
    uint64_t first_beyond; /* index of the first of them */
    uint64_t empty;        /* empty rows below the end: fallocated, unwritten blocks */
} group_t;

static void group_end(fsck_t *f, group_t *g, int type, const char *rows_name)
{
    if (!g->active)
        return;
    g->active = 0;
    if (g->bad && g->rows) {
        if (fsck_problem(f, FSCK_PREEN_OK, Q_DELETE, "Inode %llu %s, but has %llu %s.",
                         (unsigned long long)g->ino, g->why, (unsigned long long)g->rows,
                         rows_name)) {
            lsm_writebatch_t *b = lsm_writebatch_create();
            fsck_b_delete_rows(b, type, g->ino);
            fsck_commit(f, b);
        }
    } else if (type == FS_ROW_BLOCK && !g->bad) {
        fsck_unwritten_check(f, g->ino, g->empty);
    }
    if (!g->bad && g->beyond) {
        fsck_inode_t *r = itab_live(&f->itab, g->ino);
        if (fsck_problem(f, FSCK_PREEN_OK, Q_DELETE, "Inode %llu (regular file, size %llu) has "
                         "%llu data block(s) past its end, from block %llu.",
                         (unsigned long long)g->ino, r ? (unsigned long long)r->size : 0ULL,
                         (unsigned long long)g->beyond, (unsigned long long)g->first_beyond)) {
            char lo[FS_KEY_MAX], hi[FS_KEY_MAX];
            size_t lolen = fs_key_block(lo, g->ino, g->first_beyond);
            size_t hilen = fs_key_range_end(hi, FS_ROW_BLOCK, g->ino);
            lsm_writebatch_t *b = lsm_writebatch_create();
            lsm_writebatch_delete_range(b, lo, lolen, hi, hilen);
            fsck_commit(f, b);
        }
    }
}

/* Starts the group of `ino`; `want` is the file type the rows need (0: any live inode). */
static void group_start(fsck_t *f, group_t *g, uint64_t ino, uint32_t want)
{
    memset(g, 0, sizeof(*g));
    g->ino = ino;
    g->active = 1;
    fsck_inode_t *r = itab_live(&f->itab, ino);
    if (!r) {
        g->bad = 1;
        g->why = "is missing";
    } else if (want && (r->mode & S_IFMT) != want) {
        g->bad = 1;
        switch (r->mode & S_IFMT) {
        case S_IFDIR: g->why = "is a directory"; break;
        case S_IFREG: g->why = "is a regular file"; break;
        case S_IFLNK: g->why = "is a symlink"; break;
        default: g->why = "is a device, fifo or socket"; break;
        }
    }
}

/* One block of a live regular file. */
static void check_block(fsck_t *f, group_t *g, const fs_key_t *pk, const char *v, size_t vlen)
{
    fsck_inode_t *r = itab_live(&f->itab, pk->ino);
    uint64_t bs = f->sb.block_size;
    uint64_t nblocks = r->size / bs + (r->size % bs != 0);
    if (pk->index >= nblocks) {
        if (g->beyond++ == 0)
            g->first_beyond = pk->index;
        return;
    }
    uint64_t room = r->size - pk->index * bs;  /* bytes of the file from this block on */
    if (room > bs)
        room = bs;
    if (vlen > room) {
        if (fsck_problem(f, FSCK_PREEN_OK, Q_FIX, "Block %llu of inode %llu holds %zu bytes, "
                         "past the end of the file (size %llu, block size %llu).",
                         (unsigned long long)pk->index, (unsigned long long)pk->ino, vlen,
                         (unsigned long long)r->size, (unsigned long long)bs)) {
            char key[FS_KEY_MAX];
            size_t klen = fs_key_block(key, pk->ino, pk->index);
            lsm_writebatch_t *b = lsm_writebatch_create();
            lsm_writebatch_put(b, key, klen, v, (size_t)room);
            fsck_commit(f, b);
            vlen = (size_t)room;
        }
    }
    g->empty += vlen == 0;
    f->counts.blocks++;
    f->counts.block_bytes += vlen;
}

static void check_blocks(fsck_t *f)
{
    fsck_scan_t s;
    group_t g = {0};
    uint64_t n = 0;
    fsck_scan_type(f, &s, "data blocks", FS_ROW_BLOCK);
    for (; fsck_scan_valid(f, &s); fsck_scan_next(&s)) {
        size_t klen, vlen;
        const char *k = fsck_scan_key(&s, &klen);
        const char *v = fsck_scan_value(&s, &vlen);
        fs_key_t pk;
        if (fs_key_parse(k, klen, &pk) != 0) {
            malformed(f, "Data block", k, klen);
            continue;
        }
        if (!g.active || pk.ino != g.ino) {
            group_end(f, &g, FS_ROW_BLOCK, "data block(s)");
            group_start(f, &g, pk.ino, S_IFREG);
        }
        if (g.bad)
            g.rows++;
        else
            check_block(f, &g, &pk, v, vlen);
        if ((++n & 4095) == 0) {
            fsck_progress(f, pk.ino, f->sb.inode_hwm);
            fsck_poll_cancel(f);
        }
    }
    group_end(f, &g, FS_ROW_BLOCK, "data block(s)");
    fsck_scan_close(&s);
    fsck_unwritten_rest(f);
}

/* A POSIX ACL row (fs/schema_acl.h) must hold a valid, non-empty ACL: 1 if it does (or
 * is no ACL), 0 if it should go. Deleting it is safe: the mode already carries the
 * ACL's owner/mask/other bits, so the file falls back to them. */
static int acl_ok(fsck_t *f, const fs_key_t *pk, const char *data, size_t n)
{
    char name[FS_XATTR_NAME_MAX + 1];
    size_t count;
    memcpy(name, pk->name, pk->namelen);
    name[pk->namelen] = '\0';
    if (fs_acl_kind(name) == FS_ACL_NONE || (fs_acl_check(data, n, &count) == 0 && count > 0))
        return 1;
    return !fsck_problem(f, FSCK_PREEN_OK, Q_DELETE, "POSIX ACL '%s' of inode %llu is "
                         "malformed (%zu bytes); without it the file's mode applies.", name,
                         (unsigned long long)pk->ino, n);
}

static void check_xattrs(fsck_t *f)
{
    fsck_scan_t s;
    group_t g = {0};
    fsck_scan_type(f, &s, "extended attributes", FS_ROW_XATTR);
    for (; fsck_scan_valid(f, &s); fsck_scan_next(&s)) {
        size_t klen, vlen, n;
        const char *k = fsck_scan_key(&s, &klen);
        const char *v = fsck_scan_value(&s, &vlen);
        const char *data;
        fs_key_t pk;
        if (fs_key_parse(k, klen, &pk) != 0) {
            malformed(f, "Extended attribute", k, klen);
            continue;
        }
        if (!g.active || pk.ino != g.ino) {
            group_end(f, &g, FS_ROW_XATTR, "extended attribute(s)");
            group_start(f, &g, pk.ino, 0);
        }
        if (g.bad) {
            g.rows++;
            continue;
        }
        if (fs_xattr_decode(v, vlen, &data, &n) != 0) {
            char esc[300];
            if (fsck_problem(f, FSCK_PREEN_OK, Q_DELETE, "Extended attribute '%s' of inode "
                             "%llu is corrupt (%zu bytes that do not decode).",
                             fsck_escape(pk.name, pk.namelen, esc, sizeof(esc)),
                             (unsigned long long)pk.ino, vlen))
                del_key(f, k, klen);
            continue;
        }
        if (!acl_ok(f, &pk, data, n)) {
            del_key(f, k, klen);
            continue;
        }
        f->counts.xattrs++;
    }
    group_end(f, &g, FS_ROW_XATTR, "extended attribute(s)");
    fsck_scan_close(&s);
}

/* A symlink target row that cannot be used is deleted (valid ones were pass 3's). */
static void check_symlink_row(fsck_t *f, const sl_row_t *row)
{
    fsck_inode_t *r = row->r;
    switch (row->kind) {
    case SL_BAD_KEY:
        malformed(f, "Symlink", row->k, row->klen);
        break;
    case SL_NOT_SYMLINK:
        if (fsck_problem(f, FSCK_PREEN_OK, Q_DELETE, "Symlink target row of inode %llu, "
                         "which %s%s.", (unsigned long long)row->pk.ino,
                         r ? "is a " : "is missing", r ? fsck_type_name(r->mode) : ""))
            del_key(f, row->k, row->klen);
        break;
    case SL_CORRUPT:
        if (fsck_problem(f, FSCK_PREEN_OK, Q_DELETE, "Symlink target row of inode %llu is "
                         "corrupt.", (unsigned long long)row->pk.ino))
            del_key(f, row->k, row->klen);
        break;
    case SL_OK:
        break;
    }
}

void fsck_pass_data(fsck_t *f)
{
    fsck_pass_start(f, 6, "Checking orphans, data blocks, extended attributes and symlinks");
    check_orphans(f);
    check_blocks(f);
    check_xattrs(f);
    fsck_scan_symlink_rows(f, check_symlink_row);
}
