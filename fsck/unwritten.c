/*
 * unwritten.c - pass 6's check of the fallocated, unwritten block counts.
 *
 * An inode that fallocate gave empty B rows counts them (fs_inode_t.unwritten; the
 * daemon holds that much space for the file, fs/falloc_hold.h, and sums the counts at
 * mount). The count must equal the number of empty B rows below the file's end: pass 6
 * counts them per inode while it scans the blocks (fsck_unwritten_check at the end of each
 * inode's rows), then fsck_unwritten_rest checks the inodes that claim a count but have
 * no block row at all. A wrong count is rewritten to the rows' number (preen may fix it:
 * it only changes how much space is held, never data).
 */
#include "fsck.h"

#include <inttypes.h>

void fsck_unwritten_check(fsck_t *f, uint64_t ino, uint64_t empty)
{
    fsck_inode_t *r = itab_live(&f->itab, ino);
    if (!r || (!(r->flags & IT_UNWRITTEN) && empty == 0))
        return;
    r->flags |= IT_UNWRITTEN_SEEN;
    fs_inode_t in;
    if (fsck_load_inode(f, ino, &in) != 0 || in.unwritten == empty)
        return;
    if (!fsck_problem(f, FSCK_PREEN_OK, Q_FIX, "Inode %" PRIu64 " counts %" PRIu64
                      " fallocated, unwritten block(s) (space held for it), but has %" PRIu64
                      ".", ino, in.unwritten, empty))
        return;
    in.unwritten = empty;
    if (in.blocks < empty)  /* the count may never exceed the stored blocks */
        in.blocks = empty;
    lsm_writebatch_t *b = lsm_writebatch_create();
    fsck_b_put_inode(b, ino, &in);
    fsck_commit(f, b);
    if (empty == 0)
        r->flags &= (uint16_t)~IT_UNWRITTEN;
}

void fsck_unwritten_rest(fsck_t *f)
{
    for (size_t i = 0; i < f->itab.n; i++) {
        fsck_inode_t *r = &f->itab.in[i];
        if ((r->flags & (IT_UNWRITTEN | IT_UNWRITTEN_SEEN | IT_REMOVED)) == IT_UNWRITTEN)
            fsck_unwritten_check(f, f->itab.ino[i], 0);
    }
}
