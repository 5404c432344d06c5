/*
 * store.c - the daemon's row-level access to the store: load and stage inodes and dentries,
 * commit a batch, allocate inode numbers, and the small helpers (times, names, new inodes)
 * every operation module uses. Below it is only fs.h's vocabulary and the store's API:
 * file data is data.c, deleting an inode's rows reclaim.c, replies to the kernel reply.c.
 *
 * Rows are built only through schema.h. Batches are created by the caller and always
 * consumed by fs_commit(), which applies them with one lsm_write (synced under -o sync).
 */
#include "fs.h"
#include "schema_rows.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

int fs_err(fs_t *fs, char *err, const char *what)
{
    int e = lsm_error_errno(err);
    if (e <= 0)
        e = EIO;
    atomic_fetch_add(&fs->stats.errors, 1);
    if (fs->opts->debug || e == EIO || e == EUCLEAN || e == ENOSPC)
        fuse_log(FUSE_LOG_ERR, "lsmfs: %s: %s\n", what, err);
    lsm_free(err);
    return -e;
}

int fs_err_ino(fs_t *fs, char *err, uint64_t ino, const char *what)
{
    char w[PATH_MAX + 160];
    snprintf(w, sizeof(w), "inode %llu (its path: find %s -inum %llu): %s",
             (unsigned long long)ino, fs->opts->mountpoint ? fs->opts->mountpoint : "MNT",
             (unsigned long long)ino, what);
    return fs_err(fs, err, w);
}

int fs_inode_load(fs_t *fs, uint64_t ino, fs_inode_t *out)
{
    char key[FS_KEY_MAX], *err = NULL;
    size_t klen = fs_key_inode(key, ino), vlen = 0;
    char *v = lsm_get(fs->db, fs->ropt, key, klen, &vlen, &err);
    if (err)
        return fs_err_ino(fs, err, ino, "read inode");
    if (!v)
        return -ENOENT;
    int r = fs_inode_decode(v, vlen, out);
    lsm_free(v);
    if (r != 0) {
        fuse_log(FUSE_LOG_ERR, "lsmfs: inode %llu: malformed inode row (%zu bytes)\n",
                 (unsigned long long)ino, vlen);
        return -EUCLEAN;
    }
    return 0;
}

void fs_batch_inode(lsm_writebatch_t *b, uint64_t ino, const fs_inode_t *in)
{
    /* a file never counts more unwritten blocks than stored ones (the encoder caps it,
     * a last defence that keeps the row decodable: a test build stops here instead) */
    FS_ASSERT(in->unwritten <= in->blocks);
    fs_row_put_inode(b, ino, in);
}

int fs_dentry_load(fs_t *fs, uint64_t parent, const char *name, uint64_t *ino, unsigned *type)
{
    char key[FS_KEY_MAX], *err = NULL;
    size_t klen = fs_key_dentry(key, parent, name, strlen(name)), vlen = 0;
    if (klen == 0)
        return strlen(name) > FS_NAME_MAX ? -ENAMETOOLONG : -EINVAL;
    char *v = lsm_get(fs->db, fs->ropt, key, klen, &vlen, &err);
    if (err)
        return fs_err(fs, err, "read directory entry");
    if (!v)
        return -ENOENT;
    int r = fs_dentry_decode(v, vlen, ino, type);
    lsm_free(v);
    if (r != 0) {
        fuse_log(FUSE_LOG_ERR, "lsmfs: directory %llu: malformed entry '%s'\n",
                 (unsigned long long)parent, name);
        return -EUCLEAN;
    }
    return 0;
}

void fs_batch_dentry(lsm_writebatch_t *b, uint64_t parent, const char *name, uint64_t ino,
                     unsigned type)
{
    fs_row_put_dentry(b, parent, name, strlen(name), ino, type); /* names were checked */
}

void fs_batch_dentry_del(lsm_writebatch_t *b, uint64_t parent, const char *name)
{
    fs_row_del_dentry(b, parent, name, strlen(name));
}

int fs_commit(fs_t *fs, lsm_writebatch_t *b)
{
    return fs_commit_ex(fs, b, 0);
}

int fs_commit_ex(fs_t *fs, lsm_writebatch_t *b, int frees)
{
    char *err = NULL;
    if (fs->opts->ro || atomic_load(&fs->remount_ro)) {
        lsm_writebatch_destroy(b);
        return -EROFS;
    }
    lsm_write(fs->db, fs->wopt, b, &err);
    if (err && frees && lsm_error_errno(err) == ENOSPC && lsm_release_reserve(fs->db) > 0) {
        /* The file system is full, and this change gives space back: it may use the
         * store's reserve. A flush then turns the WAL it fills into a (small) table so the
         * WAL's space comes back, and lets compaction drop the deleted rows. */
        lsm_free(err);
        err = NULL;
        lsm_write(fs->db, fs->wopt, b, &err);
        if (!err) {
            lsm_flushoptions_t *fo = lsm_flushoptions_create();
            char *ferr = NULL;
            lsm_flushoptions_set_wait(fo, 0);
            lsm_flush(fs->db, fo, &ferr);
            lsm_flushoptions_destroy(fo);
            lsm_free(ferr);
        }
    }
    lsm_writebatch_destroy(b);
    atomic_fetch_add(&fs->stats.batches, 1);
    if (err)
        return fs_err(fs, err, "write batch");
    return 0;
}

int fs_dir_nonempty(fs_t *fs, uint64_t ino)
{
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX], *err = NULL;
    size_t nlo = fs_key_range_start(lo, FS_ROW_DENTRY, ino);
    size_t nhi = fs_key_range_end(hi, FS_ROW_DENTRY, ino);
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_readoptions_set_iterate_upper_bound(ro, hi, nhi);
    lsm_iterator_t *it = lsm_create_iterator(fs->db, ro);
    lsm_iter_seek(it, lo, nlo);
    int r = lsm_iter_valid(it) ? 1 : 0;
    lsm_iter_get_error(it, &err);
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
    if (err)
        return fs_err(fs, err, "scan directory");
    return r;
}

int fs_write_super(fs_t *fs, const fs_super_t *sb)
{
    char key[FS_KEY_MAX], val[FS_SUPER_SIZE], *err = NULL;
    size_t klen = fs_key_super(key);
    size_t vlen = fs_super_encode(sb, val);
    if (vlen == 0)
        return -EINVAL;
    lsm_put(fs->db, fs->wopt, key, klen, val, vlen, &err);
    if (err)
        return fs_err(fs, err, "write superblock");
    return 0;
}

int fs_add_feature(fs_t *fs, uint64_t feature)
{
    int r = 0;
    pthread_mutex_lock(&fs->alloc_mu);  /* guards fs->sb, see fs_alloc_ino */
    if (!(fs->sb.features & feature)) {
        fs_super_t nsb = fs->sb;
        nsb.features |= feature;
        r = atomic_load(&fs->remount_ro) ? -EROFS : fs_write_super(fs, &nsb);
        if (r == 0)
            fs->sb = nsb;
    }
    pthread_mutex_unlock(&fs->alloc_mu);
    return r;
}

int fs_alloc_ino(fs_t *fs, uint64_t *ino)
{
    int r = 0;
    pthread_mutex_lock(&fs->alloc_mu);
    if (fs->next_ino >= fs->sb.inode_hwm) {
        /* Persist the raised mark before using any number past the old one: the WAL is
         * replayed in order, so any batch using a number is preceded by this put. */
        fs_super_t nsb = fs->sb;
        nsb.inode_hwm = fs->next_ino + FS_INO_CHUNK;
        r = fs_write_super(fs, &nsb);
        if (r == 0)
            fs->sb = nsb;
    }
    if (r == 0)
        *ino = fs->next_ino++;
    pthread_mutex_unlock(&fs->alloc_mu);
    return r;
}

fs_time_t fs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    fs_time_t t = {ts.tv_sec, (uint32_t)ts.tv_nsec};
    return t;
}

static int time_cmp(fs_time_t a, fs_time_t b)
{
    if (a.sec != b.sec)
        return a.sec < b.sec ? -1 : 1;
    return a.nsec < b.nsec ? -1 : a.nsec > b.nsec;
}

int fs_atime_due(fs_t *fs, const fs_inode_t *in, fs_time_t now)
{
    switch (fs->opts->atime_mode) {
    case FS_ATIME_NOATIME:
        return 0;
    case FS_ATIME_STRICTATIME:
        return time_cmp(in->atime, now) != 0;
    default:  /* relatime: after a change, or once a day */
        return time_cmp(in->atime, in->mtime) <= 0 || time_cmp(in->atime, in->ctime) <= 0 ||
               now.sec - in->atime.sec >= 24 * 3600;
    }
}

void fs_touch_atime(fs_t *fs, uint64_t ino)
{
    fs_inode_t in;
    fs_time_t now = fs_now();
    int done = 0;
    if (fs->opts->ro || fs->opts->atime_mode == FS_ATIME_NOATIME)
        return;
    fs_ilock(fs->itab, ino);
    if (fs_inode_load(fs, ino, &in) == 0 && fs_atime_due(fs, &in, now)) {
        in.atime = now;
        lsm_writebatch_t *b = lsm_writebatch_create();
        fs_batch_inode(b, ino, &in);
        done = fs_commit(fs, b) == 0;
    }
    fs_iunlock(fs->itab, ino);
    if (done && fs->se)
        fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);  /* attributes only */
}

int fs_check_name(const char *name)
{
    return fs_name_check(name, strlen(name));
}

void fs_inode_new(fuse_req_t req, const fs_inode_t *parent, mode_t mode, fs_inode_t *out)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    fs_t *fs = fs_of(req);
    fs_time_t now = fs_now();
    memset(out, 0, sizeof(*out));
    /* FUSE_CAP_DONT_MASK: the kernel left the umask to us. */
    if (fs->opts && ctx)
        mode &= ~(ctx->umask & 0777);
    out->mode = mode;
    out->uid = ctx ? ctx->uid : 0;
    out->gid = ctx ? ctx->gid : 0;
    if (parent && (parent->mode & S_ISGID)) {
        out->gid = parent->gid;
        if (S_ISDIR(mode))
            out->mode |= S_ISGID;
    }
    out->nlink = S_ISDIR(mode) ? 2 : 1;
    out->atime = out->mtime = out->ctime = out->btime = now;
    out->generation = 1;
}
