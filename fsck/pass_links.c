/*
 * pass_links.c - pass 5: link counts and directories' parent field.
 *
 * After pass 4 every inode's entries are counted and every directory has one parent link.
 * The stored nlink must be: for a non-directory, the number of entries naming it; for a
 * directory, 2 + its subdirectories ("." and its entry in the parent, or the root's own
 * ".."); and a directory's recorded parent must be the directory that holds its entry
 * (the root's is itself). Inodes left disconnected (a reconnection was declined) and
 * orphans that pass 6 will reclaim are skipped. One inode = at most one rewrite.
 */
#include "fsck.h"

#include <stdio.h>
#include <sys/stat.h>

/* An orphan nothing names: pass 6 deletes it. */
static int reclaimable(const fsck_inode_t *r)
{
    if (!(r->flags & IT_ORPHAN))
        return 0;
    if (S_ISDIR(r->mode))
        return r->dparent == 0 && !(r->flags & IT_HAS_CHILDREN);
    return r->count == 0;
}

void fsck_pass_links(fsck_t *f)
{
    fsck_pass_start(f, 5, "Checking reference counts");
    fsck_itab_t *t = &f->itab;
    for (size_t i = 0; i < t->n; i++) {
        fsck_inode_t *r = &t->in[i];
        if (S_ISDIR(r->mode) && !(r->flags & IT_REMOVED) && r->dparent != 0) {
            fsck_inode_t *p = itab_live(t, r->dparent);
            if (p && S_ISDIR(p->mode))
                p->count++;
        }
    }
    for (size_t i = 0; i < t->n; i++) {
        fsck_inode_t *r = &t->in[i];
        uint64_t ino = t->ino[i];
        if ((r->flags & (IT_REMOVED | IT_DISCONNECTED)) || reclaimable(r))
            continue;
        int dir = S_ISDIR(r->mode);
        uint64_t want = dir ? 2 + (uint64_t)r->count : r->count;
        uint64_t want_parent = dir ? (ino == FS_ROOT_INO ? FS_ROOT_INO : r->dparent) : 0;
        int fix_nlink = 0, fix_parent = 0;
        if (r->nlink != want)
            fix_nlink = fsck_problem(f, FSCK_PREEN_OK, Q_FIX, "Inode %llu (%s) ref count is "
                                     "%u, should be %llu.", (unsigned long long)ino,
                                     fsck_type_name(r->mode), r->nlink,
                                     (unsigned long long)want);
        if (dir && want_parent != 0 && r->parent != want_parent)
            fix_parent = fsck_problem(f, FSCK_PREEN_OK, Q_FIX, "Directory inode %llu records "
                                      "parent %llu, but its entry is in directory %llu.",
                                      (unsigned long long)ino, (unsigned long long)r->parent,
                                      (unsigned long long)want_parent);
        if (fix_nlink || fix_parent) {
            fs_inode_t in;
            if (fsck_load_inode(f, ino, &in) == 0) {
                if (fix_nlink) {
                    in.nlink = want > UINT32_MAX ? UINT32_MAX : (uint32_t)want;
                    r->nlink = in.nlink;
                }
                if (fix_parent) {
                    in.parent = want_parent;
                    r->parent = want_parent;
                }
                lsm_writebatch_t *b = lsm_writebatch_create();
                fsck_b_put_inode(b, ino, &in);
                fsck_commit(f, b);
            }
        }
        if ((i & 4095) == 0) {
            fsck_progress(f, ino, f->sb.inode_hwm);
            fsck_poll_cancel(f);
        }
    }
}
