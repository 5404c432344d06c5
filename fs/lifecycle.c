/*
 * lifecycle.c - opening and closing an lsmfs store for the daemon.
 *
 * fs_open: opens the store (read-only open under -o ro), reads and checks the superblock
 * and the root inode, starts inode numbering at the persisted high-water mark (numbers
 * below it may have been used before a crash) and reclaims every orphan (O row) left by a
 * crash while unlinked files were open. fs_close: flushes the memtable, syncs the WAL and
 * closes the store, so that a clean unmount leaves nothing to replay.
 * Failures print one line naming the store and what is wrong with it.
 */
#include "fs.h"
#include "snapview.h"
#include "mounts.h"
#include "inode_count.h"
#include "log.h"
#include "read_pool.h"
#include "reclaim_queue.h"
#include "reserve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static lsm_t *open_db(fs_opts_t *o, int compression, char **err)
{
    lsm_options_t *lo = lsm_options_create();
    lsm_options_set_create_if_missing(lo, 0);
    lsm_options_set_block_cache_size(lo, o->block_cache);
    lsm_options_set_write_buffer_size(lo, o->write_buffer);
    lsm_options_set_reserve_bytes(lo, o->reserve == (size_t)-1
                                          ? fs_reserve_default(o->store, o->write_buffer)
                                          : o->reserve);
    lsm_options_set_compression(lo, compression);
    lsm_options_set_info_log(lo, fs_log_engine, NULL);
    lsm_options_set_allow_concurrent_memtable_write(lo, 1);
    lsm_options_set_bloom_bits_per_key(lo, 10);
    /* Tables never mix row types (S/I/D/B/L/X/O): data blocks of appended files then move
     * down the levels by trivial moves instead of being merged again and again with the
     * inode rows every write updates. */
    lsm_options_set_sst_partition_prefix_len(lo, 1);
    lsm_t *db = o->ro ? lsm_open_for_read_only(lo, o->store, 0, err)
                      : lsm_open(lo, o->store, err);
    lsm_options_destroy(lo);
    return db;
}

/* "store in use", naming where it is mounted when /proc/self/mountinfo shows a fuse.lsmfs
 * mount with the store as its source (the default fsname). Two mounts of one store would
 * be two writers of one engine: the LOCK refuses the second, and a bind mount of the first
 * is the way to see the files in a second place. */
static void report_in_use(const char *store)
{
    fs_mount_t m;
    const char *at = fs_mount_find(store, NULL, &m) == 0 ? m.point : NULL;
    if (at)
        fprintf(stderr, "lsmfs: %s: store is already in use: it is mounted on %s. One store has "
                "one mount (two would be two writers of one store); to see it in another "
                "place too, bind-mount that one: mount --bind %s NEWDIR\n", store, at, at);
    else
        fprintf(stderr, "lsmfs: %s: store is already in use (mounted, or open in fsck.lsmfs). "
                "One store has one mount; to see a mounted store in another place too, "
                "bind-mount its mountpoint (mount --bind MOUNTPOINT NEWDIR)\n", store);
}

static int read_super(fs_t *fs)
{
    char key[FS_KEY_MAX], *err = NULL;
    size_t klen = fs_key_super(key), vlen = 0;
    char *v = lsm_get(fs->db, fs->ropt, key, klen, &vlen, &err);
    if (err) {
        fprintf(stderr, "lsmfs: %s: cannot read the superblock: %s\n", fs->opts->store, err);
        lsm_free(err);
        return -1;
    }
    if (!v) {
        fprintf(stderr, "lsmfs: %s: no superblock: not an lsmfs store (make one with mkfs.lsmfs)\n",
                fs->opts->store);
        return -1;
    }
    int r = fs_super_decode(v, vlen, &fs->sb);
    lsm_free(v);
    if (r == -EPROTONOSUPPORT) {
        fprintf(stderr, "lsmfs: %s: made by a newer lsmfs (format or features unknown to %s)\n",
                fs->opts->store, LSMFS_VERSION);
        return -1;
    }
    if (r) {
        fprintf(stderr, "lsmfs: %s: the superblock is damaged (run fsck.lsmfs)\n",
                fs->opts->store);
        return -1;
    }
    return 0;
}

/* Deletes every row of every orphan. Returns the number reclaimed, or -1. */
static long reclaim_orphans(fs_t *fs)
{
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX], *err = NULL;
    size_t nlo = fs_key_type_start(lo, FS_ROW_ORPHAN), nhi = fs_key_type_end(hi, FS_ROW_ORPHAN);
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_readoptions_set_iterate_upper_bound(ro, hi, nhi);
    lsm_iterator_t *it = lsm_create_iterator(fs->db, ro);
    lsm_writebatch_t *b = lsm_writebatch_create();
    long n = 0;
    for (lsm_iter_seek(it, lo, nlo); lsm_iter_valid(it); lsm_iter_next(it)) {
        size_t klen;
        const char *k = lsm_iter_key(it, &klen);
        fs_key_t pk;
        if (fs_key_parse(k, klen, &pk) != 0 || pk.type != FS_ROW_ORPHAN)
            continue;  /* fsck's business */
        fs_batch_reclaim(fs, b, pk.ino, NULL);
        n++;
    }
    lsm_iter_get_error(it, &err);
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
    if (err) {
        fprintf(stderr, "lsmfs: %s: scanning orphans: %s\n", fs->opts->store, err);
        lsm_free(err);
        lsm_writebatch_destroy(b);
        return -1;
    }
    if (n == 0) {
        lsm_writebatch_destroy(b);
        return 0;
    }
    return fs_commit_ex(fs, b, 1) == 0 ? n : -1;
}

fs_t *fs_open(fs_opts_t *opts)
{
    struct stat st;
    if (strncmp(opts->store, "rados://", 8) == 0) {
        /* A RADOS store: the engine checks it (cluster, pool, store) when it opens it. */
    } else if (stat(opts->store, &st) != 0) {
        fprintf(stderr, "lsmfs: %s: %s\n", opts->store, strerror(errno));
        return NULL;
    } else if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "lsmfs: %s: not a directory\n", opts->store);
        return NULL;
    }
    fs_t *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return NULL;
    fs->opts = opts;
    pthread_mutex_init(&fs->alloc_mu, NULL);
    fs->ropt = lsm_readoptions_create();
    fs->wopt = lsm_writeoptions_create();
    lsm_writeoptions_set_sync(fs->wopt, opts->sync ? 1 : 0);
    fs->itab = fs_itab_create();
    char *err = NULL;
    fs->db = open_db(opts, lsm_no_compression, &err);
    /* `umount` returns before the previous daemon of this store has closed it: give a
     * store that is busy a few seconds to come free before calling it in use. */
    for (int tries = 0; !fs->db && lsm_error_errno(err) == EBUSY && tries < 30; tries++) {
        lsm_free(err);
        err = NULL;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        fs->db = open_db(opts, lsm_no_compression, &err);
    }
    if (!fs->db) {
        int e = lsm_error_errno(err);
        if (e == EBUSY)
            report_in_use(opts->store);
        else if (e == ENOENT || e == EINVAL)
            fprintf(stderr, "lsmfs: %s: not an lsmfs store (make one with mkfs.lsmfs): %s\n",
                    opts->store, err ? err : "");
        else
            fprintf(stderr, "lsmfs: %s: cannot open the store: %s\n", opts->store,
                    err ? err : "unknown error");
        lsm_free(err);
        goto fail;
    }
    if (read_super(fs) != 0)
        goto fail;
    if (fs->sb.compression != lsm_no_compression) {
        /* new SSTs use the compression mkfs chose */
        lsm_close(fs->db);
        fs->db = open_db(opts, (int)fs->sb.compression, &err);
        if (!fs->db) {
            fprintf(stderr, "lsmfs: %s: cannot reopen the store: %s\n", opts->store, err);
            lsm_free(err);
            goto fail;
        }
    }
    fs->bsize = fs->sb.block_size;
    fs->next_ino = fs->sb.inode_hwm;
    fs_inode_t root;
    if (fs_inode_load(fs, FS_ROOT_INO, &root) != 0 || !S_ISDIR(root.mode)) {
        fprintf(stderr, "lsmfs: %s: the root directory is missing or damaged (run fsck.lsmfs)\n",
                opts->store);
        goto fail;
    }
    if (!opts->ro) {
        long n = reclaim_orphans(fs);
        if (n < 0)
            goto fail;
        if (n > 0)
            fuse_log(FUSE_LOG_INFO, "lsmfs: %s: reclaimed %ld orphaned inode(s)\n",
                     opts->store, n);
    }
    if (fs_inodes_count(fs) != 0)  /* after the orphans went: df -i counts what is left */
        goto fail;
    if (!opts->ro)
        fs->rq = fs_reclaimq_start(fs);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    fs->rpool = fs_read_pool_start(fs, ncpu > 0 ? (unsigned)ncpu : 1, fs_serve_read);
    return fs;
fail:
    fs_close(fs);
    return NULL;
}

void fs_close(fs_t *fs)
{
    if (!fs)
        return;
    fs_snapview_destroy(fs->snapview, fs); /* it holds engine snapshots */
    fs->snapview = NULL;
    fs_read_pool_stop(fs->rpool);  /* after the ring workers were joined (main.c) */
    fs->rpool = NULL;
    fs_reclaimq_stop(fs->rq);  /* what it still holds is reclaimed before the scan below */
    fs->rq = NULL;
    if (fs->db) {
        if (!fs->opts->ro) {
            /* nothing is open or known any more: orphans can go now */
            if (fs->bsize && reclaim_orphans(fs) < 0)
                fuse_log(FUSE_LOG_ERR, "lsmfs: %s: orphans are left for the next mount\n",
                         fs->opts->store);
            char *err = NULL;
            lsm_flushoptions_t *fo = lsm_flushoptions_create();
            lsm_flushoptions_set_wait(fo, 1);
            lsm_flush(fs->db, fo, &err);
            lsm_flushoptions_destroy(fo);
            if (err) {
                fuse_log(FUSE_LOG_ERR, "lsmfs: %s: flush at unmount: %s\n", fs->opts->store, err);
                lsm_free(err);
                err = NULL;
            }
            lsm_flush_wal(fs->db, 1, &err);
            if (err) {
                fuse_log(FUSE_LOG_ERR, "lsmfs: %s: sync at unmount: %s\n", fs->opts->store, err);
                lsm_free(err);
            }
        }
        lsm_close(fs->db);
    }
    if (fs->ropt)
        lsm_readoptions_destroy(fs->ropt);
    if (fs->wopt)
        lsm_writeoptions_destroy(fs->wopt);
    fs_itab_destroy(fs->itab);
    pthread_mutex_destroy(&fs->alloc_mu);
    free(fs);
}
