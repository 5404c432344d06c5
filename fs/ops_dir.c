/*
 * ops_dir.c - directory listing: opendir, readdir, readdirplus, releasedir, fsyncdir.
 *
 * A directory is the key range of its D rows. Each open directory handle reads through
 * an engine snapshot taken at offset 0 (opendir / rewinddir), so offsets are stable while
 * entries are added and removed: offset 0 is ".", 1 is "..", 2+i is the i-th entry of the
 * snapshot in key (name) order. A handle keeps its iterator between calls; a readdir at
 * another offset re-walks the snapshot to it. readdirplus counts a kernel lookup for each
 * entry it returns with attributes (not for "." and "..").
 * Open directories count as open inodes, so an rmdir'ed directory that is still open
 * stays an orphan until its last releasedir.
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    pthread_mutex_t mu;
    uint64_t ino;
    const lsm_snapshot_t *snap;
    lsm_readoptions_t *ro;
    lsm_iterator_t *it;
    off_t pos;              /* offset of the entry the iterator stands on (>= 2), or 0/1 */
} dirh_t;

static void dirh_reset(fs_t *fs, dirh_t *d)
{
    if (d->it)
        lsm_iter_destroy(d->it);
    if (d->ro)
        lsm_readoptions_destroy(d->ro);
    if (d->snap)
        lsm_release_snapshot(fs->db, d->snap);
    d->it = NULL;
    d->ro = NULL;
    d->snap = NULL;
}

void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    fs_t *fs = fs_of(req);
    fs_inode_t in;
    int r = fs_inode_load(fs, ino, &in);
    if (r)
        return fs_reply_err(req, r);
    if (!S_ISDIR(in.mode))
        return fs_reply_err(req, -ENOTDIR);
    dirh_t *d = calloc(1, sizeof(*d));
    if (!d)
        return fs_reply_err(req, -ENOMEM);
    pthread_mutex_init(&d->mu, NULL);
    d->ino = ino;
    fi->fh = (uint64_t)(uintptr_t)d;
    fs_itab_open(fs->itab, ino);
    if (fuse_reply_open(req, fi) != 0) {
        pthread_mutex_destroy(&d->mu);
        free(d);
        if (fs_itab_release(fs->itab, ino))
            fs_reclaim_if_unused(fs, ino);
    }
}

/* Positions the handle at offset off (>= 2); 0 or -errno. */
static int dirh_seek(fs_t *fs, dirh_t *d, off_t off)
{
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX];
    if (!d->snap) {  /* the view this handle's offsets refer to, until offset 0 again */
        d->snap = lsm_create_snapshot(fs->db);
        d->ro = lsm_readoptions_create();
        size_t nhi = fs_key_range_end(hi, FS_ROW_DENTRY, d->ino);
        lsm_readoptions_set_iterate_upper_bound(d->ro, hi, nhi);
        lsm_readoptions_set_snapshot(d->ro, d->snap);
    }
    if (!d->it || off < d->pos) {  /* going back: walk the same snapshot again */
        if (d->it)
            lsm_iter_destroy(d->it);
        d->it = lsm_create_iterator(fs->db, d->ro);
        size_t nlo = fs_key_range_start(lo, FS_ROW_DENTRY, d->ino);
        lsm_iter_seek(d->it, lo, nlo);
        d->pos = 2;
    }
    while (d->pos < off && lsm_iter_valid(d->it)) {
        lsm_iter_next(d->it);
        d->pos++;
    }
    char *err = NULL;
    lsm_iter_get_error(d->it, &err);
    return err ? fs_err(fs, err, "readdir") : 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi, int plus)
{
    fs_t *fs = fs_of(req);
    dirh_t *d = (dirh_t *)(uintptr_t)fi->fh;
    fs_inode_t din;
    int r = 0, touch = 0;
    if (!d || off < 0)
        return fs_reply_err(req, -EBADF);
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return fs_reply_err(req, -ENOMEM);
    size_t used = 0;
    const off_t start = off;
    pthread_mutex_lock(&d->mu);
    if (off == 0)
        dirh_reset(fs, d);  /* opendir or rewinddir: a fresh view */
    if ((r = fs_inode_load(fs, ino, &din)) != 0)
        goto out;
    /* "." and ".." */
    for (; off < 2; off++) {
        struct stat st;
        memset(&st, 0, sizeof(st));
        st.st_ino = off == 0 ? ino : (din.parent ? din.parent : ino);
        st.st_mode = S_IFDIR;
        const char *name = off == 0 ? "." : "..";
        size_t n;
        if (plus) {
            struct fuse_entry_param e;
            memset(&e, 0, sizeof(e));
            e.attr = st;  /* ino 0: no lookup is counted */
            n = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, off + 1);
        } else {
            n = fuse_add_direntry(req, buf + used, size - used, name, &st, off + 1);
        }
        if (n > size - used)
            goto done;
        used += n;
    }
    if ((r = dirh_seek(fs, d, off)) != 0)
        goto out;
    for (; lsm_iter_valid(d->it); lsm_iter_next(d->it), d->pos++) {
        size_t klen, vlen, n;
        const char *k = lsm_iter_key(d->it, &klen);
        const char *v = lsm_iter_value(d->it, &vlen);
        fs_key_t pk;
        uint64_t cino;
        unsigned type;
        char name[FS_NAME_MAX + 1];
        if (fs_key_parse(k, klen, &pk) != 0 || pk.type != FS_ROW_DENTRY || pk.ino != ino ||
            fs_dentry_decode(v, vlen, &cino, &type) != 0) {
            fuse_log(FUSE_LOG_ERR, "lsmfs: directory %llu: malformed entry\n",
                     (unsigned long long)ino);
            r = -EUCLEAN;
            goto out;
        }
        memcpy(name, pk.name, pk.namelen);
        name[pk.namelen] = '\0';
        if (plus) {
            fs_inode_t cin;
            struct fuse_entry_param e;
            memset(&e, 0, sizeof(e));
            int lr = fs_inode_load(fs, cino, &cin);
            if (lr == -ENOENT || (lr == 0 && cin.nlink == 0))
                continue;  /* removed since the snapshot */
            if (lr) {
                r = lr;
                goto out;
            }
            e.ino = cino;
            e.generation = cin.generation;
            e.attr_timeout = fs->opts->attr_timeout;
            e.entry_timeout = fs->opts->entry_timeout;
            fs_stat_fill(fs, cino, &cin, &e.attr);
            n = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, d->pos + 1);
            if (n > size - used)
                break;
            fs_itab_ref(fs->itab, cino, 1);
        } else {
            struct stat st;
            memset(&st, 0, sizeof(st));
            st.st_ino = cino;
            st.st_mode = type << 12;
            n = fuse_add_direntry(req, buf + used, size - used, name, &st, d->pos + 1);
            if (n > size - used)
                break;
        }
        used += n;
    }
    {
        char *err = NULL;
        lsm_iter_get_error(d->it, &err);
        if (err)
            r = fs_err(fs, err, "readdir");
    }
done:
    touch = r == 0 && start == 0 && !fs->opts->ro && fs_atime_due(fs, &din, fs_now());
out:
    pthread_mutex_unlock(&d->mu);
    if (touch)
        fs_touch_atime(fs, ino);
    if (r)
        fs_reply_err(req, r);
    else
        fuse_reply_buf(req, buf, used);
    free(buf);
}

void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    do_readdir(req, ino, size, off, fi, 0);
}

void fs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    do_readdir(req, ino, size, off, fi, 1);
}

void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    fs_t *fs = fs_of(req);
    dirh_t *d = (dirh_t *)(uintptr_t)fi->fh;
    if (d) {
        dirh_reset(fs, d);
        pthread_mutex_destroy(&d->mu);
        free(d);
    }
    if (fs_itab_release(fs->itab, ino))
        fs_reclaim_if_unused(fs, ino);
    fs_reply_err(req, 0);
}

void fs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    fs_op_fsync(req, ino, datasync, fi);
}
