/*
 * ops_entry.c - the namespace: lookup, forget, mknod/mkdir/symlink/link, unlink, rmdir,
 * rename (with RENAME_NOREPLACE, RENAME_EXCHANGE and RENAME_WHITEOUT), readlink.
 *
 * Each operation locks the inodes it changes (parents and children, stripe order), checks
 * under the locks, then commits one batch: e.g. create = new inode + dentry + parent
 * times; unlink = dentry delete + inode (nlink-1) or, for the last link, either every row
 * of the inode (the kernel has forgotten it and nobody has it open) or an orphan row (the
 * last forget or release reclaims it). Directory link counts are 2 + number of subdirectories.
 */
#include "fs.h"
#include "iflags.h"
#include "acl.h"
#include "falloc_hold.h"
#include "inode_count.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int is_ro(fs_t *fs) { return fs->opts->ro; }

void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    fs_t *fs = fs_of(req);
    uint64_t ino;
    unsigned type;
    fs_inode_t in;
    if (strlen(name) > FS_NAME_MAX)
        return fs_reply_err(req, -ENAMETOOLONG);
    if (fs_is_self_lookup(name))  /* only file-handle decoding asks (ops_export.c) */
        return fs_op_lookup_self(req, parent, name);
    int r = fs_dentry_load(fs, parent, name, &ino, &type);
    if (r == -ENOENT) {
        struct fuse_entry_param e;
        memset(&e, 0, sizeof(e));
        e.entry_timeout = fs->opts->entry_timeout;  /* negative entry: we are the only writer */
        fuse_reply_entry(req, &e);
        return;
    }
    if (r == 0)
        r = fs_inode_load(fs, ino, &in);
    if (r != 0)
        return fs_reply_err(req, r == -ENOENT ? -EUCLEAN : r);  /* dangling entry */
    fs_reply_entry(req, ino, &in);
}

void fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    fs_t *fs = fs_of(req);
    if (fs_itab_forget(fs->itab, ino, nlookup))
        fs_reclaim_if_unused(fs, ino);
    fuse_reply_none(req);
}

void fs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
    fs_t *fs = fs_of(req);
    for (size_t i = 0; i < count; i++)
        if (fs_itab_forget(fs->itab, f[i].ino, f[i].nlookup))
            fs_reclaim_if_unused(fs, f[i].ino);
    fuse_reply_none(req);
}

static void touch_dir(fs_inode_t *dir, fs_time_t now)
{
    dir->mtime = dir->ctime = now;
}

int fs_make_node(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                 dev_t rdev, const char *link, uint64_t *ino_out, fs_inode_t *in_out,
                 int open_it)
{
    fs_t *fs = fs_of(req);
    fs_inode_t pin, in;
    uint64_t ino, old;
    unsigned type;
    int r = fs_check_name(name);
    if (r)
        return r;
    if (is_ro(fs))
        return -EROFS;
    size_t linklen = link ? strlen(link) : 0;
    if (link && (linklen == 0 || linklen > FS_SYMLINK_MAX))
        return linklen ? -ENAMETOOLONG : -ENOENT;
    fs_ilock(fs->itab, parent);
    if ((r = fs_inode_load(fs, parent, &pin)) != 0)
        goto out;
    if (!S_ISDIR(pin.mode)) {
        r = -ENOTDIR;
        goto out;
    }
    if (pin.nlink == 0) {
        r = -ENOENT;  /* removed directory */
        goto out;
    }
    if ((r = fs_iflags_may_add_to(&pin)) != 0)
        goto out;
    r = fs_dentry_load(fs, parent, name, &old, &type);
    if (r == 0)
        r = -EEXIST;
    if (r != -ENOENT)
        goto out;
    if (S_ISDIR(mode) && pin.nlink >= FS_LINK_MAX) {
        r = -EMLINK;
        goto out;
    }
    if ((r = fs_alloc_ino(fs, &ino)) != 0)
        goto out;
    fs_inode_new(req, &pin, mode, &in);
    if (link) {
        in.mode = S_IFLNK | 0777;
        in.size = linklen;
    }
    if (S_ISCHR(mode) || S_ISBLK(mode))
        in.rdev = rdev;
    lsm_writebatch_t *b = lsm_writebatch_create();
    if (S_ISDIR(mode)) {
        in.parent = parent;
        pin.nlink++;
    }
    touch_dir(&pin, in.ctime);
    if (fs_acl_enabled(fs) && (r = fs_acl_inherit(fs, b, parent, ino, &in, mode)) != 0) {
        lsm_writebatch_destroy(b);
        goto out;
    }
    fs_batch_inode(b, ino, &in);
    fs_batch_inode(b, parent, &pin);
    fs_batch_dentry(b, parent, name, ino, (in.mode & S_IFMT) >> 12);
    if (link) {
        char key[FS_KEY_MAX], val[FS_SYMLINK_MAX + 1];
        size_t klen = fs_key_symlink(key, ino);
        size_t vlen = fs_symlink_encode(link, linklen, val);
        lsm_writebatch_put(b, key, klen, val, vlen);
    }
    if ((r = fs_commit(fs, b)) == 0) {
        fs_inodes_add(fs, 1);
        if (open_it)
            fs_itab_open(fs->itab, ino);
        *ino_out = ino;
        *in_out = in;
    }
out:
    fs_iunlock(fs->itab, parent);
    return r;
}

static void make_and_reply(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                           dev_t rdev, const char *link)
{
    uint64_t ino;
    fs_inode_t in;
    int r = fs_make_node(req, parent, name, mode, rdev, link, &ino, &in, 0);
    if (r)
        return fs_reply_err(req, r);
    fs_reply_entry(req, ino, &in);
}

void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
    switch (mode & S_IFMT) {
    case S_IFREG: case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK:
        break;
    case 0:
        mode |= S_IFREG;
        break;
    default:
        return fs_reply_err(req, -EINVAL);
    }
    make_and_reply(req, parent, name, mode, rdev, NULL);
}

void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    make_and_reply(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL);
}

void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
    make_and_reply(req, parent, name, S_IFLNK | 0777, 0, link);
}

void fs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
    fs_t *fs = fs_of(req);
    char key[FS_KEY_MAX], *err = NULL, buf[FS_SYMLINK_MAX + 1];
    size_t klen = fs_key_symlink(key, ino), vlen = 0, n;
    const char *target;
    char *v = lsm_get(fs->db, fs->ropt, key, klen, &vlen, &err);
    if (err)
        return fs_reply_err(req, fs_err_ino(fs, err, ino, "readlink"));
    if (!v)
        return fs_reply_err(req, -EINVAL);  /* not a symlink */
    if (fs_symlink_decode(v, vlen, &target, &n) != 0) {
        lsm_free(v);
        return fs_reply_err(req, -EUCLEAN);
    }
    memcpy(buf, target, n);
    buf[n] = '\0';
    lsm_free(v);
    fs_inode_t in;
    if (!fs->opts->ro && fs_inode_load(fs, ino, &in) == 0 && fs_atime_due(fs, &in, fs_now()))
        fs_touch_atime(fs, ino);
    fuse_reply_readlink(req, buf);
}

void fs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    fs_t *fs = fs_of(req);
    fs_inode_t in, pin;
    uint64_t old;
    unsigned type;
    int r = fs_check_name(newname);
    if (r)
        return fs_reply_err(req, r);
    if (is_ro(fs))
        return fs_reply_err(req, -EROFS);
    uint64_t set[2] = {ino, newparent};
    fs_lockset_t ls;
    fs_ilock_set(fs->itab, set, 2, &ls);
    if ((r = fs_inode_load(fs, ino, &in)) || (r = fs_inode_load(fs, newparent, &pin)))
        goto out;
    r = -EPERM;
    if (S_ISDIR(in.mode))
        goto out;
    r = -ENOENT;
    if (in.nlink == 0 || pin.nlink == 0)
        goto out;
    if ((r = fs_iflags_may_change_entry(&in)) != 0 || (r = fs_iflags_may_add_to(&pin)) != 0)
        goto out;
    r = -EMLINK;
    if (in.nlink >= FS_LINK_MAX)
        goto out;
    r = fs_dentry_load(fs, newparent, newname, &old, &type);
    if (r == 0)
        r = -EEXIST;
    if (r != -ENOENT)
        goto out;
    fs_time_t now = fs_now();
    in.nlink++;
    in.ctime = now;
    touch_dir(&pin, now);
    lsm_writebatch_t *b = lsm_writebatch_create();
    fs_batch_inode(b, ino, &in);
    fs_batch_inode(b, newparent, &pin);
    fs_batch_dentry(b, newparent, newname, ino, (in.mode & S_IFMT) >> 12);
    r = fs_commit(fs, b);
out:
    fs_iunlock_set(fs->itab, &ls);
    if (r)
        return fs_reply_err(req, r);
    fs_reply_entry(req, ino, &in);
}

/* Stages what happens to inode `ino` whose link count is now in->nlink: still linked →
 * new inode row; unlinked but known to the kernel or open → inode row + orphan row (the
 * last forget/release reclaims it); else every row goes (returns 1: one inode fewer once
 * the batch commits). */
static int stage_unlinked(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, const fs_inode_t *in)
{
    if (in->nlink > 0) {
        fs_batch_inode(b, ino, in);
    } else if (fs_itab_orphan_if_busy(fs->itab, ino)) {
        char key[FS_KEY_MAX], val[FS_ORPHAN_SIZE];
        size_t klen = fs_key_orphan(key, ino);
        size_t vlen = fs_orphan_encode(in->ctime.sec, val);
        fs_batch_inode(b, ino, in);
        lsm_writebatch_put(b, key, klen, val, vlen);
    } else {
        fs_batch_reclaim(fs, b, ino, in);
        return 1;
    }
    return 0;
}

/* Looks up parent/name and locks {parent, child, extra...}, retrying until the entry is
 * the same before and after locking. */
static int lock_entry(fs_t *fs, uint64_t parent, const char *name, uint64_t *child,
                      unsigned *type, fs_lockset_t *ls)
{
    for (;;) {
        int r = fs_dentry_load(fs, parent, name, child, type);
        if (r)
            return r;
        uint64_t set[2] = {parent, *child};
        fs_ilock_set(fs->itab, set, 2, ls);
        uint64_t again;
        unsigned t2;
        r = fs_dentry_load(fs, parent, name, &again, &t2);
        if (r == 0 && again == *child)
            return 0;
        fs_iunlock_set(fs->itab, ls);
        if (r)
            return r;
    }
}

static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name, int dir)
{
    fs_t *fs = fs_of(req);
    fs_inode_t pin, in;
    uint64_t ino;
    unsigned type;
    fs_lockset_t ls;
    if (strlen(name) > FS_NAME_MAX)
        return fs_reply_err(req, -ENAMETOOLONG);
    if (is_ro(fs))
        return fs_reply_err(req, -EROFS);
    int r = lock_entry(fs, parent, name, &ino, &type, &ls);
    if (r)
        return fs_reply_err(req, r);
    if ((r = fs_inode_load(fs, parent, &pin)) || (r = fs_inode_load(fs, ino, &in)))
        goto out;
    if ((r = fs_iflags_may_remove_from(&pin)) || (r = fs_iflags_may_change_entry(&in)))
        goto out;
    if (dir && !S_ISDIR(in.mode)) {
        r = -ENOTDIR;
        goto out;
    }
    if (!dir && S_ISDIR(in.mode)) {
        r = -EISDIR;
        goto out;
    }
    if (dir && (r = fs_dir_nonempty(fs, ino)) != 0) {
        r = r > 0 ? -ENOTEMPTY : r;
        goto out;
    }
    fs_time_t now = fs_now();
    lsm_writebatch_t *b = lsm_writebatch_create();
    fs_batch_dentry_del(b, parent, name);
    if (dir) {
        in.nlink = 0;
        pin.nlink--;
    } else {
        in.nlink--;
    }
    in.ctime = now;
    touch_dir(&pin, now);
    fs_batch_inode(b, parent, &pin);
    int gone = stage_unlinked(fs, b, ino, &in);
    if ((r = fs_commit_ex(fs, b, 1)) == 0 && gone) {
        fs_inodes_add(fs, -1);
        fs_hold_add(fs, -(int64_t)in.unwritten);
    }
out:
    fs_iunlock_set(fs->itab, &ls);
    fs_reply_err(req, r);
}

void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    remove_entry(req, parent, name, 0);
}

void fs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    remove_entry(req, parent, name, 1);
}

/* ---- rename ---- */

/* Stages a whiteout (what overlayfs leaves in its upper layer for a deleted name: a
 * character device 0/0, mode 0) as a new inode under parent/name, owned as mknod would own
 * it. The caller holds parent's lock; the batch also carries the rename. */
static int stage_whiteout(fuse_req_t req, lsm_writebatch_t *b, const fs_inode_t *pin,
                          uint64_t parent, const char *name)
{
    fs_t *fs = fs_of(req);
    uint64_t wino;
    fs_inode_t win;
    int r = fs_alloc_ino(fs, &wino);
    if (r)
        return r;
    fs_inode_new(req, pin, S_IFCHR, &win);
    win.rdev = 0;
    fs_batch_inode(b, wino, &win);
    fs_batch_dentry(b, parent, name, wino, S_IFCHR >> 12);
    return 0;
}

static int rename_locked(fuse_req_t req, fs_t *fs, uint64_t parent, const char *name, uint64_t newparent,
                         const char *newname, unsigned flags, uint64_t sino, unsigned stype,
                         uint64_t tino, unsigned ttype)
{
    FS_ASSERT_ILOCKED(fs->itab, parent);
    FS_ASSERT_ILOCKED(fs->itab, newparent);
    fs_inode_t pin, npin_store, sin, tin;
    fs_inode_t *npin = parent == newparent ? &pin : &npin_store;
    int r;
    if (sino == tino)
        return 0;  /* two links to one inode (or the same name): nothing to do */
    if ((flags & RENAME_NOREPLACE) && tino)
        return -EEXIST;
    if ((flags & RENAME_EXCHANGE) && !tino)
        return -ENOENT;
    if (sino == newparent || tino == parent)
        return -EINVAL;
    if ((r = fs_inode_load(fs, parent, &pin)) || (r = fs_inode_load(fs, sino, &sin)))
        return r;
    if (npin != &pin && (r = fs_inode_load(fs, newparent, npin)))
        return r;
    if (tino && (r = fs_inode_load(fs, tino, &tin)))
        return r;
    if (!S_ISDIR(npin->mode))
        return -ENOTDIR;
    if (npin->nlink == 0)
        return -ENOENT;
    /* chattr flags: the source leaves its directory, enters the new one, and a target is
     * removed (EXCHANGE: both ways) */
    if ((r = fs_iflags_may_remove_from(&pin)) || (r = fs_iflags_may_add_to(npin)) ||
        (r = fs_iflags_may_change_entry(&sin)) ||
        (tino && ((r = fs_iflags_may_remove_from(npin)) || (r = fs_iflags_may_change_entry(&tin)))) ||
        ((flags & RENAME_EXCHANGE) && (r = fs_iflags_may_add_to(&pin))))
        return r;
    int sdir = S_ISDIR(sin.mode), tdir = tino && S_ISDIR(tin.mode);
    if (tino && !(flags & RENAME_EXCHANGE)) {
        if (sdir && !tdir)
            return -ENOTDIR;
        if (!sdir && tdir)
            return -EISDIR;
        if (tdir && (r = fs_dir_nonempty(fs, tino)) != 0)
            return r > 0 ? -ENOTEMPTY : r;
    }
    fs_time_t now = fs_now();
    int gone = 0;
    lsm_writebatch_t *b = lsm_writebatch_create();
    if (flags & RENAME_EXCHANGE) {
        fs_batch_dentry(b, parent, name, tino, ttype);
        fs_batch_dentry(b, newparent, newname, sino, stype);
        if (parent != newparent) {
            if (sdir) {
                sin.parent = newparent;
                pin.nlink--;
                npin->nlink++;
            }
            if (tdir) {
                tin.parent = parent;
                npin->nlink--;
                pin.nlink++;
            }
        }
        tin.ctime = now;
        fs_batch_inode(b, tino, &tin);
    } else {
        if (flags & RENAME_WHITEOUT) {
            if ((r = stage_whiteout(req, b, &pin, parent, name)) != 0) {
                lsm_writebatch_destroy(b);
                return r;
            }
        } else {
            fs_batch_dentry_del(b, parent, name);
        }
        fs_batch_dentry(b, newparent, newname, sino, stype);
        if (sdir && parent != newparent) {
            if (!tino && npin->nlink >= FS_LINK_MAX) {
                lsm_writebatch_destroy(b);
                return -EMLINK;
            }
            sin.parent = newparent;
            pin.nlink--;
            npin->nlink++;
        }
        if (tino) {
            if (tdir) {
                tin.nlink = 0;
                npin->nlink--;
            } else {
                tin.nlink--;
            }
            tin.ctime = now;
            gone = stage_unlinked(fs, b, tino, &tin);
        }
    }
    sin.ctime = now;
    touch_dir(&pin, now);
    touch_dir(npin, now);
    fs_batch_inode(b, sino, &sin);
    fs_batch_inode(b, parent, &pin);
    if (npin != &pin)
        fs_batch_inode(b, newparent, npin);
    if ((r = fs_commit_ex(fs, b, 1)) == 0 && gone) { /* may drop the file it replaces */
        fs_inodes_add(fs, -1);
        fs_hold_add(fs, -(int64_t)tin.unwritten);
    }
    return r;
}

void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                  const char *newname, unsigned int flags)
{
    fs_t *fs = fs_of(req);
    int r;
    if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
        return fs_reply_err(req, -EINVAL);
    if ((flags & RENAME_EXCHANGE) && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)))
        return fs_reply_err(req, -EINVAL);
    if (strlen(name) > FS_NAME_MAX)
        return fs_reply_err(req, -ENAMETOOLONG);
    if ((r = fs_check_name(newname)) != 0)
        return fs_reply_err(req, r);
    if (is_ro(fs))
        return fs_reply_err(req, -EROFS);
    for (;;) {
        uint64_t sino, tino = 0, s2, t2 = 0;
        unsigned stype, ttype = 0, x;
        if ((r = fs_dentry_load(fs, parent, name, &sino, &stype)) != 0)
            break;
        r = fs_dentry_load(fs, newparent, newname, &tino, &ttype);
        if (r == -ENOENT)
            tino = 0;
        else if (r)
            break;
        uint64_t set[4] = {parent, newparent, sino, tino};
        fs_lockset_t ls;
        fs_ilock_set(fs->itab, set, 4, &ls);
        r = fs_dentry_load(fs, parent, name, &s2, &x);
        int r2 = fs_dentry_load(fs, newparent, newname, &t2, &x);
        if (r2 == -ENOENT)
            t2 = 0;
        if (r == 0 && (r2 == 0 || r2 == -ENOENT) && s2 == sino && t2 == tino) {
            r = rename_locked(req, fs, parent, name, newparent, newname, flags, sino, stype, tino,
                              ttype);
            fs_iunlock_set(fs->itab, &ls);
            break;
        }
        fs_iunlock_set(fs->itab, &ls);
        if (r)
            break;
    }
    fs_reply_err(req, r);
}
