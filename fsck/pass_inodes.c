/*
 * pass_inodes.c - pass 3: every inode row, then the orphan marks and symlink targets.
 *
 * One scan over the I rows in key (= inode number) order builds the inode table. A row
 * whose key or value does not decode (fs_inode_decode checks the type bits, flags,
 * nanoseconds and the directory parent field) is cleared: nothing in it can be trusted,
 * and whatever pointed at it is cleaned up by passes 4 and 6. A decodable inode is
 * repaired in place: a device number on a non-device is zeroed, flag bits other than the
 * chattr flags lsmfs knows (immutable, append-only) are reported and cleared, and a
 * flagged inode makes sure the superblock has FS_FEATURE_IFLAGS. Times are never changed:
 * every value the format can hold is legal, however far in the future. A missing or non-directory root is replaced by an empty root
 * directory (its former children reach lost+found in pass 4).
 *
 * Then the O rows mark orphans, and the L rows give symlinks their targets: a symlink
 * without a valid target is cleared, one whose size disagrees with its target gets the
 * target's length.
 */
#include "fsck.h"
#include "symlink_rows.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void clear_inode_row(fsck_t *f, const char *key, size_t klen)
{
    lsm_writebatch_t *b = lsm_writebatch_create();
    fsck_b_delete(b, key, klen);
    fsck_commit(f, b);
}

/* Repairs of a decodable inode; returns 1 if `in` was changed (and must be written). */
static int repair_fields(fsck_t *f, uint64_t ino, fs_inode_t *in)
{
    int changed = 0;
    /* Times are not checked here: any second count the format holds (int64) is a legal
     * time, in the past or the future, and fs_inode_decode already refused nanoseconds
     * >= 1e9. A clock far ahead is no damage; fsck never changes a valid file's times. */
    /* chattr flags this version knows (FS_INODE_FL_KNOWN) are legal on any inode; other
     * bits mean nothing to this daemon (a newer lsmfs, or damage): reported, cleared. */
    if ((in->flags & ~FS_INODE_FL_KNOWN) &&
        fsck_problem(f, 0, Q_CLEAR, "Inode %llu (%s) has unknown flags 0x%x (known: 0x%x).",
                     (unsigned long long)ino, fsck_type_name(in->mode),
                     in->flags & ~FS_INODE_FL_KNOWN, FS_INODE_FL_KNOWN)) {
        in->flags &= FS_INODE_FL_KNOWN;
        changed = 1;
    }
    if (in->rdev != 0 && !S_ISCHR(in->mode) && !S_ISBLK(in->mode) &&
        fsck_problem(f, FSCK_PREEN_OK, Q_FIX, "Inode %llu (%s) has a device number 0x%llx.",
                     (unsigned long long)ino, fsck_type_name(in->mode),
                     (unsigned long long)in->rdev)) {
        in->rdev = 0;
        changed = 1;
    }
    return changed;
}

/* A flagged inode needs FS_FEATURE_IFLAGS in the superblock (an lsmfs that does not know
 * flags must refuse the store, not call the inode corrupt); *asked: once per run. */
static void need_flags_feature(fsck_t *f, uint64_t ino, const fs_inode_t *in, int *asked)
{
    if (!(in->flags & FS_INODE_FL_KNOWN) || (f->sb.features & FS_FEATURE_IFLAGS) ||
        !f->have_sb || *asked)
        return;
    *asked = 1;
    if (fsck_problem(f, FSCK_PREEN_OK, Q_FIX, "Inode %llu has chattr flags 0x%x, but the "
                     "superblock lacks feature bit 0x%llx (flags in use).",
                     (unsigned long long)ino, in->flags & FS_INODE_FL_KNOWN,
                     (unsigned long long)FS_FEATURE_IFLAGS)) {
        f->sb.features |= FS_FEATURE_IFLAGS;
        lsm_writebatch_t *b = lsm_writebatch_create();
        fsck_b_put_super(b, &f->sb);
        fsck_commit(f, b);
    }
}

static void scan_inodes(fsck_t *f)
{
    int feature_asked = 0;
    fsck_scan_t s;
    fsck_scan_type(f, &s, "inode rows", FS_ROW_INODE);
    for (; fsck_scan_valid(f, &s); fsck_scan_next(&s)) {
        size_t klen, vlen;
        const char *k = fsck_scan_key(&s, &klen);
        const char *v = fsck_scan_value(&s, &vlen);
        char esc[160];
        fs_key_t pk;
        fs_inode_t in;
        if (fs_key_parse(k, klen, &pk) != 0) {
            if (fsck_problem(f, 0, Q_DELETE, "Inode row with a malformed key '%s'.",
                             fsck_escape(k, klen, esc, sizeof(esc))))
                clear_inode_row(f, k, klen);
            continue;
        }
        fsck_progress(f, pk.ino, f->sb.inode_hwm);
        if (pk.ino == 0) {
            if (fsck_problem(f, 0, Q_CLEAR, "Inode 0 is not a valid inode number."))
                clear_inode_row(f, k, klen);
            continue;
        }
        if (fs_inode_decode(v, vlen, &in) != 0) {
            if (fsck_problem(f, 0, Q_CLEAR, "Inode %llu is corrupt: its %zu-byte record does "
                             "not decode (bad length, version, type, flags or times).",
                             (unsigned long long)pk.ino, vlen))
                clear_inode_row(f, k, klen);
            continue;
        }
        if (pk.ino == FS_ROOT_INO && !S_ISDIR(in.mode)) {
            if (fsck_problem(f, 0, Q_CLEAR, "Root inode is not a directory (it is a %s).",
                             fsck_type_name(in.mode)))
                clear_inode_row(f, k, klen);
            continue;
        }
        if (repair_fields(f, pk.ino, &in)) {
            lsm_writebatch_t *b = lsm_writebatch_create();
            fsck_b_put_inode(b, pk.ino, &in);
            fsck_commit(f, b);
        }
        need_flags_feature(f, pk.ino, &in, &feature_asked);
        fsck_inode_t *r = itab_append(&f->itab, pk.ino);
        if (!r)
            fsck_fatal(f, FSCK_EXIT_ERROR, "out of memory for the inode table (%zu inodes)",
                       f->itab.n);
        r->mode = in.mode;
        r->nlink = in.nlink;
        if (in.unwritten)
            r->flags |= IT_UNWRITTEN;
        if (S_ISDIR(in.mode))
            r->parent = in.parent;
        else
            r->size = in.size;
        fsck_poll_cancel(f);
    }
    fsck_scan_close(&s);
}

static void make_root(fsck_t *f)
{
    if (itab_live(&f->itab, FS_ROOT_INO))
        return;
    if (!fsck_problem(f, 0, Q_CREATE, "Root inode is missing."))
        return;
    fs_inode_t in;
    memset(&in, 0, sizeof(in));
    in.mode = S_IFDIR | 0755;
    in.nlink = 2;
    in.parent = FS_ROOT_INO;
    in.generation = 1;
    in.atime = in.mtime = in.ctime = in.btime = (fs_time_t){f->now, 0};
    lsm_writebatch_t *b = lsm_writebatch_create();
    fsck_b_put_inode(b, FS_ROOT_INO, &in);
    fsck_commit(f, b);
    fsck_inode_t *r = itab_find(&f->itab, FS_ROOT_INO);
    if (!r)
        r = itab_insert(&f->itab, FS_ROOT_INO);
    if (!r)
        fsck_fatal(f, FSCK_EXIT_ERROR, "out of memory");
    memset(r, 0, sizeof(*r));
    r->mode = in.mode;
    r->nlink = in.nlink;
    r->parent = FS_ROOT_INO;
}

static void scan_orphans(fsck_t *f)
{
    fsck_scan_t s;
    fsck_scan_type(f, &s, "orphan rows", FS_ROW_ORPHAN);
    for (; fsck_scan_valid(f, &s); fsck_scan_next(&s)) {
        size_t klen;
        const char *k = fsck_scan_key(&s, &klen);
        fs_key_t pk;
        if (fs_key_parse(k, klen, &pk) != 0)
            continue;  /* pass 6 */
        fsck_inode_t *r = itab_live(&f->itab, pk.ino);
        if (r)
            r->flags |= IT_ORPHAN;
    }
    fsck_scan_close(&s);
}

/* A valid target marks its symlink and fixes the symlink's size; bad rows are pass 6's. */
static void symlink_target(fsck_t *f, const sl_row_t *row)
{
    fsck_inode_t *r = row->r;
    size_t n = row->n;
    if (row->kind != SL_OK)
        return;  /* pass 6 */
    r->flags |= IT_HAS_TARGET;
    if (r->size == n)
        return;
    if (fsck_problem(f, FSCK_PREEN_OK, Q_FIX, "Symlink %llu has size %llu, but its target "
                     "is %zu bytes.", (unsigned long long)row->pk.ino,
                     (unsigned long long)r->size, n)) {
        fs_inode_t in;
        if (fsck_load_inode(f, row->pk.ino, &in) == 0) {
            in.size = n;
            lsm_writebatch_t *b = lsm_writebatch_create();
            fsck_b_put_inode(b, row->pk.ino, &in);
            fsck_commit(f, b);
            r->size = n;
        }
    }
}

static void symlinks_without_target(fsck_t *f)
{
    for (size_t i = 0; i < f->itab.n; i++) {
        fsck_inode_t *r = &f->itab.in[i];
        if (!S_ISLNK(r->mode) || (r->flags & (IT_HAS_TARGET | IT_REMOVED)))
            continue;
        uint64_t ino = f->itab.ino[i];
        if (fsck_problem(f, 0, Q_CLEAR, "Symlink %llu has no valid target.",
                         (unsigned long long)ino)) {
            lsm_writebatch_t *b = lsm_writebatch_create();
            fsck_b_reclaim(b, ino);
            fsck_commit(f, b);
            r->flags |= IT_REMOVED;
        }
    }
}

void fsck_pass_inodes(fsck_t *f)
{
    fsck_pass_start(f, 3, "Checking inodes, orphan marks and symlink targets");
    uint64_t est = 0;
    if (lsm_property_int(f->db, "lsm.estimate-num-keys", &est) != 0 || est > f->sb.inode_hwm)
        est = f->sb.inode_hwm;
    if (est > (1u << 26))
        est = 1u << 26;
    itab_reserve(&f->itab, (size_t)est + 16);
    scan_inodes(f);
    make_root(f);
    scan_orphans(f);
    fsck_scan_symlink_rows(f, symlink_target);
    symlinks_without_target(f);
    fsck_info(f, 1, "  %zu inodes", f->itab.n);
}
