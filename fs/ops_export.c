/*
 * ops_export.c - what NFS-style file handles need (FUSE_CAP_EXPORT_SUPPORT).
 *
 * With export support the kernel encodes a handle as (node id, generation) and decodes it
 * with LOOKUP(node id, ".") - and a directory's parent with LOOKUP(dir, "..") - even when
 * the inode is no longer in its caches (drop_caches) or after a remount. Node ids are
 * lsmfs inode numbers, which are never reused (fs_alloc_ino only raises the persisted
 * high-water mark), and every inode carries its generation too, so a handle can name no
 * other file than the one it was made for. A removed inode, or one whose last link is gone
 * (an open orphan), answers ESTALE. Each successful reply counts one kernel lookup.
 */
#include "fs.h"

#include <errno.h>
#include <string.h>

int fs_is_self_lookup(const char *name)
{
    return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

void fs_op_lookup_self(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    fs_t *fs = fs_of(req);
    fs_inode_t in;
    int r = fs_inode_load(fs, ino, &in);
    if (r == 0 && in.nlink == 0)
        r = -ENOENT;
    if (r == 0 && name[1] == '.') {   /* ".." : the parent of a directory */
        uint64_t parent = ino == FUSE_ROOT_ID ? FUSE_ROOT_ID : in.parent;
        if (!S_ISDIR(in.mode) || parent == 0)
            return fs_reply_err(req, -ENOTDIR);
        ino = parent;
        r = fs_inode_load(fs, ino, &in);
    }
    if (r != 0)
        return fs_reply_err(req, r == -ENOENT ? -ESTALE : r);
    fs_reply_entry(req, ino, &in);
}
