/*
 * schema_rows.c - turning lsmfs rows into write-batch puts (see schema_rows.h): keys and
 * values come from schema.c only, and nothing is added that did not encode.
 */
#include "schema_rows.h"

#include <string.h>
#include <sys/stat.h>

void fs_row_put_inode(lsm_writebatch_t *b, uint64_t ino, const fs_inode_t *in)
{
    char key[FS_KEY_MAX], val[FS_INODE_SIZE_MAX];
    size_t klen = fs_key_inode(key, ino);
    size_t vlen = fs_inode_encode(in, val);
    lsm_writebatch_put(b, key, klen, val, vlen);
}

int fs_row_put_dentry(lsm_writebatch_t *b, uint64_t parent, const char *name, size_t namelen,
                      uint64_t child, unsigned type)
{
    char key[FS_KEY_MAX], val[FS_DENTRY_SIZE];
    size_t klen = fs_key_dentry(key, parent, name, namelen);
    if (klen == 0)
        return -1;
    size_t vlen = fs_dentry_encode(child, type, val);
    lsm_writebatch_put(b, key, klen, val, vlen);
    return 0;
}

void fs_row_del_dentry(lsm_writebatch_t *b, uint64_t parent, const char *name, size_t namelen)
{
    char key[FS_KEY_MAX];
    size_t klen = fs_key_dentry(key, parent, name, namelen);
    lsm_writebatch_delete(b, key, klen);
}

int fs_row_put_super(lsm_writebatch_t *b, const fs_super_t *sb)
{
    char key[FS_KEY_MAX], val[FS_SUPER_SIZE];
    size_t klen = fs_key_super(key);
    size_t vlen = fs_super_encode(sb, val);
    if (vlen == 0)
        return -1;
    lsm_writebatch_put(b, key, klen, val, vlen);
    return 0;
}

void fs_row_put_lost_found(lsm_writebatch_t *b, uint64_t ino, uint32_t uid, uint32_t gid,
                           fs_time_t now, fs_inode_t *out)
{
    static const char name[] = "lost+found";
    fs_inode_t in;
    memset(&in, 0, sizeof(in));
    in.mode = S_IFDIR | 0700;
    in.uid = uid;
    in.gid = gid;
    in.nlink = 2;
    in.atime = in.mtime = in.ctime = in.btime = now;
    in.generation = 1;
    in.parent = FS_ROOT_INO;
    fs_row_put_inode(b, ino, &in);
    fs_row_put_dentry(b, FS_ROOT_INO, name, sizeof(name) - 1, ino, S_IFDIR >> 12);
    if (out)
        *out = in;
}
