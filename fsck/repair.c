/*
 * repair.c - the writes fsck makes, and the point reads its fixes need.
 *
 * Every fix builds one lsm write batch (all of it lands or none of it) and commits it
 * here, without sync: the WAL is synced once at the end of the run (fsck_finish), so a
 * crash in the middle loses at most whole fixes, never half of one. Rows are laid out
 * only through fs/schema.h.
 */
#include "fsck.h"
#include "schema_rows.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void fsck_commit(fsck_t *f, lsm_writebatch_t *b)
{
    char *err = NULL;
    if (f->read_only) {
        lsm_writebatch_destroy(b);
        return;
    }
    lsm_write(f->db, f->wopt, b, &err);
    lsm_writebatch_destroy(b);
    if (err) {
        /* Keep the message: fsck_fatal may not return to free it, and exit frees all. */
        fsck_fatal(f, FSCK_EXIT_ERROR, "writing a repair failed: %s", err);
    }
    f->changed = 1;
}

void fsck_b_put_inode(lsm_writebatch_t *b, uint64_t ino, const fs_inode_t *in)
{
    fs_row_put_inode(b, ino, in);
}

void fsck_b_put_dentry(lsm_writebatch_t *b, uint64_t parent, const char *name, size_t nlen,
                       uint64_t child, uint32_t mode)
{
    fs_row_put_dentry(b, parent, name, nlen, child, (mode & S_IFMT) >> 12);
}

void fsck_b_put_super(lsm_writebatch_t *b, const fs_super_t *sb)
{
    fs_row_put_super(b, sb);
}

void fsck_b_delete(lsm_writebatch_t *b, const char *key, size_t klen)
{
    lsm_writebatch_delete(b, key, klen);
}

void fsck_b_delete_rows(lsm_writebatch_t *b, int type, uint64_t ino)
{
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX];
    size_t lolen = fs_key_range_start(lo, type, ino);
    size_t hilen = fs_key_range_end(hi, type, ino);
    lsm_writebatch_delete_range(b, lo, lolen, hi, hilen);
}

void fsck_b_reclaim(lsm_writebatch_t *b, uint64_t ino)
{
    char key[FS_KEY_MAX];
    fsck_b_delete_rows(b, FS_ROW_BLOCK, ino);
    fsck_b_delete_rows(b, FS_ROW_XATTR, ino);
    fsck_b_delete_rows(b, FS_ROW_DENTRY, ino);
    lsm_writebatch_delete(b, key, fs_key_symlink(key, ino));
    lsm_writebatch_delete(b, key, fs_key_orphan(key, ino));
    lsm_writebatch_delete(b, key, fs_key_inode(key, ino));
}

static char *get(fsck_t *f, const char *key, size_t klen, size_t *vlen)
{
    char *err = NULL;
    char *v = lsm_get(f->db, f->ropt, key, klen, vlen, &err);
    if (err)
        fsck_fatal(f, lsm_error_errno(err) == EUCLEAN ? FSCK_EXIT_UNCORRECTED : FSCK_EXIT_ERROR,
                   "reading a row failed: %s", err);
    return v;
}

int fsck_load_inode(fsck_t *f, uint64_t ino, fs_inode_t *in)
{
    char key[FS_KEY_MAX];
    size_t vlen;
    char *v = get(f, key, fs_key_inode(key, ino), &vlen);
    if (!v)
        return -ENOENT;
    int r = fs_inode_decode(v, vlen, in);
    lsm_free(v);
    return r ? -EUCLEAN : 0;
}

int fsck_key_exists(fsck_t *f, const char *key, size_t klen)
{
    size_t vlen;
    char *v = get(f, key, klen, &vlen);
    lsm_free(v);
    return v != NULL;
}

size_t fsck_find_entry(fsck_t *f, uint64_t parent, uint64_t child, char *name)
{
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX];
    size_t lolen = fs_key_range_start(lo, FS_ROW_DENTRY, parent);
    size_t hilen = fs_key_range_end(hi, FS_ROW_DENTRY, parent);
    fsck_scan_t s;
    size_t found = 0;
    fsck_scan_open(f, &s, "directory entries", lo, lolen, hi, hilen);
    for (; !found && fsck_scan_valid(f, &s); fsck_scan_next(&s)) {
        size_t klen, vlen;
        const char *k = fsck_scan_key(&s, &klen);
        const char *v = fsck_scan_value(&s, &vlen);
        fs_key_t pk;
        uint64_t ino;
        unsigned type;
        if (fs_key_parse(k, klen, &pk) != 0 || fs_dentry_decode(v, vlen, &ino, &type) != 0)
            continue;
        if (ino == child) {
            memcpy(name, pk.name, pk.namelen);
            name[pk.namelen] = '\0';
            found = pk.namelen;
        }
    }
    fsck_scan_close(&s);
    return found;
}
