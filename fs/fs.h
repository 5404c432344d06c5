/*
 * fs.h - the lsmfs daemon's state and the helpers every operation module shares.
 *
 * One fs_t per mount, reached from each request through fuse_req_userdata(); there is no
 * other global state. The store is used only through lsm.h, and rows are laid out only
 * through schema.h. Invariants the helpers keep:
 *   - every change an operation makes goes into one lsm_writebatch committed by
 *     fs_commit() (synced when mounted with -o sync);
 *   - every inode number handed out is below the superblock's persisted high-water mark
 *     (fs_alloc_ino raises it, in chunks, before handing out a number past it);
 *   - an operation that read-modify-writes an inode holds that inode's lock (inode_table.h).
 */
#ifndef LSMFS_FS_H
#define LSMFS_FS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>

#include "inode_table.h"
#include "lsm.h"
#include "schema.h"

#include "version.h"
#define LSMFS_VERSION LSMFS_VERSION_STRING

/* Raise the persisted inode high-water mark this many numbers ahead of use. */
#define FS_INO_CHUNK 1024
/* Data per copy_file_range request (one batch); callers loop for more. */
#define FS_COPY_CHUNK (8u << 20)
/* Largest file size: leaves room so that offset + length never overflows. */
#define FS_MAX_FILE_SIZE ((uint64_t)INT64_MAX - (1u << 20) * 2)
#define FS_LINK_MAX 65000

enum { FS_ATIME_RELATIME = 0, FS_ATIME_NOATIME, FS_ATIME_STRICTATIME };

typedef struct {
    char *store;            /* absolute path of the store directory */
    char *mountpoint;
    int foreground, debug;
    int ro, sync, allow_other, writeback;
    int uring;              /* serve requests through io_uring where the kernel allows */
    unsigned uring_threads; /* io_uring workers (ring entries) per kernel queue */
    unsigned uring_poll;    /* us an io_uring worker spins for the next request (uring.h) */
    int uring_nopin;        /* io_uring workers not pinned to their queue's CPU */
    int atime_mode;
    double entry_timeout, attr_timeout;
    size_t block_cache, write_buffer;
    size_t reserve;         /* engine space reserve; (size_t)-1 = fs_reserve_default */
    char *fsname;           /* NULL: the store path */
    char *fuse_opts;        /* options handed to libfuse as one -o string (malloc'd) */
    char *log_file;         /* -o log=FILE (log.c); NULL: stderr, or syslog once detached */
    int noacl;              /* -o noacl: no POSIX ACLs (acl.h); default: ACLs on */
} fs_opts_t;

typedef struct {
    atomic_uint_fast64_t ops, writes, bytes_written, reads, bytes_read, fsyncs, batches,
        errors, orphans_reclaimed;
} fs_stats_t;

typedef struct fs {
    lsm_t *db;
    lsm_readoptions_t *ropt;
    lsm_writeoptions_t *wopt;
    fs_opts_t *opts;
    fs_super_t sb;
    uint32_t bsize;
    fs_itab_t *itab;
    struct fuse_session *se;    /* for attribute invalidations (NULL until mounted) */
    pthread_mutex_t alloc_mu;   /* guards next_ino and sb.inode_hwm */
    uint64_t next_ino;
    fs_stats_t stats;
    struct fs_devio *devio;     /* /dev/fuse I/O and the KILLPRIV_V2 negotiation (devio.h),
                                 * owned by main.c; NULL when not mounted */
    atomic_int remount_ro;      /* 1 after `mount -o remount,ro`: every commit gets EROFS */
    struct fs_ctl *ctl;         /* control channel (control.c), NULL when unavailable */
    struct fs_uring *uring;     /* the io_uring transport, or NULL (uring.h) */
    atomic_int_fast64_t inodes_used; /* I rows in the store, for df -i (inode_count.h) */
    atomic_int_fast64_t held_blocks; /* fallocated, unwritten blocks: space held (falloc_hold.h) */
    struct fs_snapview *snapview; /* MNT/.snapshots (snapview.h), NULL until mounted */
    /* lsmfsctl's snapshot create/delete (ops_ioctl.c) done the way MNT/.snapshots needs
     * (its slot rows written or dropped in step, its open slots let go); set by
     * fs_snapview_create, NULL before: then the plain engine calls. Hooks, so that the
     * ioctl handler below the view does not call up into it. 0 or -errno; *err as lsm.h. */
    int (*snapshot_create)(struct fs *fs, const char *name, uint64_t *seq, char **err);
    int (*snapshot_delete)(struct fs *fs, const char *name, char **err);
    const lsm_snapshot_t *snap; /* NULL: the live store; set only in snapview's read-only
                                 * views, whose ropt reads at it (data.c's iterators too) */
    struct fs_reclaimq *rq;     /* batch reclaimer (reclaim_queue.h), NULL: reclaim inline */
    struct fs_read_pool *rpool; /* large READs off the ring workers (read_pool.h), or NULL */
} fs_t;

/* ---- lifecycle (lifecycle.c) ---- */
/* Opens the store, checks its superblock, reclaims orphans; on failure prints a message
 * naming the store and returns NULL. */
fs_t *fs_open(fs_opts_t *opts);
/* Flushes, syncs and closes the store. */
void fs_close(fs_t *fs);

/* ---- store helpers (store.c; fs_batch_reclaim: reclaim.c; stat and replies: reply.c) ---- */
static inline fs_t *fs_of(fuse_req_t req) { return (fs_t *)fuse_req_userdata(req); }
/* Frees an engine error message and returns the matching -errno (logs it). */
int fs_err(fs_t *fs, char *err, const char *what);
/* The same for an error reading inode ino's rows: the message names the inode and how to
 * find its path (corruption reports must say which file is hit). */
int fs_err_ino(fs_t *fs, char *err, uint64_t ino, const char *what);
int fs_inode_load(fs_t *fs, uint64_t ino, fs_inode_t *out);
void fs_batch_inode(lsm_writebatch_t *b, uint64_t ino, const fs_inode_t *in);
int fs_dentry_load(fs_t *fs, uint64_t parent, const char *name, uint64_t *ino, unsigned *type);
void fs_batch_dentry(lsm_writebatch_t *b, uint64_t parent, const char *name, uint64_t ino,
                     unsigned type);
void fs_batch_dentry_del(lsm_writebatch_t *b, uint64_t parent, const char *name);
/* Adds the deletion of every row of inode `ino` (I, L, X*, B*, O) to the batch. */
/* Stages the deletion of every row of inode ino (in: its inode when known, else NULL). */
void fs_batch_reclaim(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, const fs_inode_t *in);
/* Applies and destroys the batch. 0 or -errno. */
int fs_commit(fs_t *fs, lsm_writebatch_t *b);
/* The same; frees=1 for a change that gives space back (unlink, rmdir, rename, truncate,
 * punch hole, xattr removal, reclaim): on a full file system it may use the store's space
 * reserve (a non-freeing change just gets ENOSPC). */
int fs_commit_ex(fs_t *fs, lsm_writebatch_t *b, int frees);
/* 1 if directory `ino` has an entry. <0 on error. */
int fs_dir_nonempty(fs_t *fs, uint64_t ino);
int fs_alloc_ino(fs_t *fs, uint64_t *ino);
int fs_write_super(fs_t *fs, const fs_super_t *sb);
/* Sets a superblock feature bit (FS_FEATURE_*) before the first row that needs it is
 * written, so that an lsmfs that does not know it refuses the whole store instead of
 * misreading those rows. The superblock goes alone, before the caller's batch. */
int fs_add_feature(fs_t *fs, uint64_t feature);

fs_time_t fs_now(void);
void fs_stat_fill(fs_t *fs, uint64_t ino, const fs_inode_t *in, struct stat *st);
/* Replies an entry for ino (counting one kernel lookup). */
void fs_reply_entry(fuse_req_t req, uint64_t ino, const fs_inode_t *in);
/* Replies 0 (success, no data) or -errno, the fs/ convention; test builds assert the sign. */
void fs_reply_err(fuse_req_t req, int negerr);
/* -ENAMETOOLONG / -EINVAL for a bad name. */
int fs_check_name(const char *name);
/* Inode for a new file: owner from the request, setgid-directory inheritance, umask. */
void fs_inode_new(fuse_req_t req, const fs_inode_t *parent, mode_t mode, fs_inode_t *out);
/* Whether relatime/strictatime wants atime of `in` bumped to `now`. */
int fs_atime_due(fs_t *fs, const fs_inode_t *in, fs_time_t now);
/* Bumps atime of ino if still due (own batch) and drops the kernel's cached attributes
 * (attributes only: safe inside a request). Call with no inode locks held. */
void fs_touch_atime(fs_t *fs, uint64_t ino);

/* ---- operations (ops_*.c) ---- */
void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
/* LOOKUP of "." and ".." by inode, for file handles (ops_export.c). */
int fs_is_self_lookup(const char *name);
void fs_op_lookup_self(fuse_req_t req, fuse_ino_t ino, const char *name);
void fs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f);
void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void fs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                  const char *newname, unsigned int flags);
void fs_op_readlink(fuse_req_t req, fuse_ino_t ino);
/* Creates a node and its dentry in one batch; used by mknod/mkdir/symlink/create. */
int fs_make_node(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                 dev_t rdev, const char *link, uint64_t *ino_out, fs_inode_t *in_out,
                 int open_it);
/* reclaim_queue.c: called with no locks held when nlink may have dropped to 0 and the last
 * handle closed; queues the inode for the batch reclaimer, or when there is none (or the
 * queue refuses) reclaims it at once with fs_reclaim_one. */
void fs_reclaim_if_unused(fs_t *fs, uint64_t ino);
/* reclaim.c: reclaims ino in its own commit if it is unlinked and unused (inline reclaim). */
void fs_reclaim_one(fs_t *fs, uint64_t ino);
/* reclaim.c: reclaims those of inos[0..n) (sorted here) that are unlinked and unused, in one
 * commit; the batch reclaimer's work (reclaim_queue.h). Returns how many went. */
size_t fs_reclaim_many(fs_t *fs, uint64_t *inos, size_t n);

void fs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                   struct fuse_file_info *fi);
void fs_op_access(fuse_req_t req, fuse_ino_t ino, int mask);
void fs_op_statfs(fuse_req_t req, fuse_ino_t ino);
/* Whether the caller's group or one of its supplementary groups is gid. */
int fs_caller_in_group(fuse_req_t req, gid_t gid);
/* Drops privileges of a non-directory as Linux does on write/truncate by a caller without
 * CAP_FSETID: set-user-ID always, set-group-ID with group-execute, and set-group-ID without
 * it when a non-root caller is not in the file's group. */
void fs_drop_suidgid(fuse_req_t req, fs_inode_t *in);

void fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                  struct fuse_file_info *fi);
/* ops_file.c: loads inode ino of fs into *in and reads size bytes at off into a new *buf
 * (free it), *got of them. 0 or -errno (then *buf is NULL). Shared by read and the
 * snapshot view's read. */
int fs_read_buf(fs_t *fs, uint64_t ino, size_t size, off_t off, fs_inode_t *in, char **buf,
                size_t *got);
/* ops_file.c: answers READ req of ino - from fs_op_read, or from the read pool's threads
 * (read_pool.h), which lifecycle.c hands this function. */
void fs_serve_read(fs_t *fs, fuse_req_t req, uint64_t ino, size_t size, off_t off);
void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                struct fuse_file_info *fi);
void fs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                 struct fuse_file_info *fi);
void fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void fs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                     struct fuse_file_info *fi);
void fs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
                 struct fuse_file_info *fi);
void fs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                           struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
                           struct fuse_file_info *fi_out, size_t len, int flags);

void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info *fi);
void fs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi);
void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

void fs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                    size_t size, int flags);
void fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void fs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
/* getxattr/listxattr of ino read through fs (the live fs_t or a snapshot view's). */
void fs_xattr_reply_get(fuse_req_t req, fs_t *fs, uint64_t ino, const char *name, size_t size);
void fs_xattr_reply_list(fuse_req_t req, fs_t *fs, uint64_t ino, size_t size);

/* ---- options (options.c) ---- */
/* Parses one comma-separated -o list into opts; unknown options are an error (message on
 * stderr). Returns 0 or -1. */
int fs_opts_parse(fs_opts_t *opts, const char *list);
void fs_opts_init(fs_opts_t *opts);
void fs_opts_free(fs_opts_t *opts);
/* rados_opts.c: 1 if opt was a RADOS store option (conf=, id=, rados_timeout=, lease=,
 * takeover) and is now in effect, 0 if it is none of them, -1 on failure. */
int fs_rados_opt(const char *opt);

#endif
