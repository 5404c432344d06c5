/*
 * ops_ioctl.c - the daemon's side of the lsmfsctl ioctl channel (ctl_proto.h): snapshots, checkpoints,
 * statistics and manual compaction for lsmfsctl, through one ioctl on the mount root.
 *
 * Invariants:
 *   - FS_IOC_GETFLAGS/SETFLAGS (chattr) go to iflags.c, on any inode.
 *   - Only the root directory answers LSMFS_IOC_CTL; any other inode or command is ENOTTY, a malformed
 *     request EINVAL. The reply is always the whole struct (the kernel copies it back).
 *   - Changes (snapshot create/delete, checkpoint, compact) are allowed to root and to the
 *     user who runs the daemon (the mount's owner) only: EPERM otherwise. A checkpoint
 *     writes where the caller says with the daemon's rights, hence the same rule.
 *     Listing and statistics are open to everyone who can open the root.
 *   - Engine calls go through lsm.h only; nothing here holds fs locks while the engine
 *     works, so a long compaction or checkpoint occupies one FUSE worker thread and nothing
 *     else.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops_ioctl.h"
#include "ctl_proto.h"
#include "fs.h"
#include "read_pool.h"
#include "iflags.h"
#include "snapusage.h"

/* Appends printf output to the reply, truncating at its end. */
static void say(struct lsmfs_ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct lsmfs_ctl *c, const char *fmt, ...)
{
    size_t at = c->len ? c->len - 1 : 0; /* over the previous NUL */
    if (at >= sizeof(c->data) - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->data + at, sizeof(c->data) - at, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    size_t end = at + (size_t)n;
    if (end > sizeof(c->data) - 1)
        end = sizeof(c->data) - 1;
    c->len = (uint32_t)end + 1;
}

/* Sets an error: errno and a message (from the engine when err is given; frees it). */
static void fail(struct lsmfs_ctl *c, int e, char *err, const char *what)
{
    c->error = e;
    c->len = 0;
    if (err) {
        say(c, "%s: %s", what, err);
        lsm_free(err);
    } else {
        say(c, "%s: %s", what, strerror(e));
    }
}

int fs_ctl_snapshot_name_ok(const char *name)
{
    size_t n = strlen(name);
    return n >= 1 && n <= 255 && !strchr(name, '/') && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0;
}

static int may_change(fuse_req_t req)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    return ctx->uid == 0 || ctx->uid == getuid();
}

static void snap_create(fs_t *fs, struct lsmfs_ctl *c)
{
    if (!fs_ctl_snapshot_name_ok(c->data))
        return fail(c, EINVAL, NULL, "snapshot name (1..255 bytes, no '/', not . or ..)");
    char *err = NULL;
    uint64_t seq = 0;
    int r;
    if (fs->snapshot_create) {
        r = fs->snapshot_create(fs, c->data, &seq, &err); /* with its slot row */
    } else {
        seq = lsm_create_persistent_snapshot(fs->db, c->data, &err);
        r = err ? -lsm_error_errno(err) : 0;
    }
    if (r)
        return fail(c, -r, err, "snapshot create");
    c->len = 0;
    say(c, "%" PRIu64 "\n", seq);
}

static void snap_delete(fs_t *fs, struct lsmfs_ctl *c)
{
    char *err = NULL;
    int r;
    if (fs->snapshot_delete) {
        r = fs->snapshot_delete(fs, c->data, &err); /* the view lets go of it too */
    } else {
        lsm_delete_persistent_snapshot(fs->db, c->data, &err);
        r = err ? -lsm_error_errno(err) : 0;
    }
    if (r)
        return fail(c, -r, err, "snapshot delete");
    c->len = 0;
    say(c, "%s", "");
}

static void snap_list(fs_t *fs, struct lsmfs_ctl *c)
{
    char **names;
    uint64_t *seqs;
    size_t n = lsm_list_persistent_snapshots(fs->db, &names, &seqs);
    c->len = 0;
    say(c, "%s", "");
    for (size_t i = 0; i < n; i++)
        say(c, "%s %" PRIu64 "\n", names[i], seqs[i]);
    lsm_free_persistent_snapshot_list(names, seqs, n);
}

static void snap_usage(fs_t *fs, struct lsmfs_ctl *c)
{
    char **names;
    uint64_t *seqs, total = 0;
    size_t n = lsm_list_persistent_snapshots(fs->db, &names, &seqs);
    uint64_t *bytes = calloc(n ? n : 1, sizeof(*bytes));
    int r = bytes ? fs_snap_usage(fs, names, seqs, n, bytes) : -ENOMEM;
    if (r) {
        fail(c, -r, NULL, "snapshot usage");
    } else {
        c->len = 0;
        say(c, "%s", "");
        for (size_t i = 0; i < n; i++) {
            say(c, "%s %" PRIu64 "\n", names[i], bytes[i]);
            total += bytes[i];
        }
        say(c, "total %" PRIu64 "\n", total);
    }
    free(bytes);
    lsm_free_persistent_snapshot_list(names, seqs, n);
}

static void checkpoint(fs_t *fs, struct lsmfs_ctl *c)
{
    if (c->data[0] != '/')
        return fail(c, EINVAL, NULL, "checkpoint directory must be an absolute path");
    char *err = NULL;
    uint64_t seq = 0;
    lsm_checkpoint_create(fs->db, c->data, &seq, &err);
    if (err)
        return fail(c, lsm_error_errno(err), err, "checkpoint");
    c->len = 0;
    say(c, "%" PRIu64 "\n", seq);
}

static void stats(fs_t *fs, struct lsmfs_ctl *c)
{
    c->len = 0;
    say(c, "fs.reads: %" PRIu64 "\nfs.bytes-read: %" PRIu64
        "\nfs.writes: %" PRIu64 "\nfs.bytes-written: %" PRIu64 "\nfs.fsyncs: %" PRIu64
        "\nfs.reads-pooled: %" PRIu64 "\nfs.batches: %" PRIu64 "\nfs.errors: %" PRIu64 "\n",
        (uint64_t)atomic_load(&fs->stats.reads),
        (uint64_t)atomic_load(&fs->stats.bytes_read), (uint64_t)atomic_load(&fs->stats.writes),
        (uint64_t)atomic_load(&fs->stats.bytes_written), (uint64_t)atomic_load(&fs->stats.fsyncs),
        fs_read_pool_served(fs->rpool), (uint64_t)atomic_load(&fs->stats.batches),
        (uint64_t)atomic_load(&fs->stats.errors));
    uint64_t v = 0;
    if (lsm_property_int(fs->db, "lsm.total-sst-files-size", &v) == 0)
        say(c, "lsm.total-sst-files-size: %" PRIu64 "\n", v);
    if (lsm_property_int(fs->db, "lsm.num-persistent-snapshots", &v) == 0)
        say(c, "lsm.num-persistent-snapshots: %" PRIu64 "\n", v);
    char *text = lsm_property_value(fs->db, "lsm.stats");
    if (text) {
        say(c, "%s", text);
        lsm_free(text);
    }
}

static void compact(fs_t *fs, struct lsmfs_ctl *c)
{
    uint64_t before = 0, after = 0;
    lsm_property_int(fs->db, "lsm.total-sst-files-size", &before);
    char *err = NULL;
    lsm_compact_range(fs->db, NULL, 0, NULL, 0, &err);
    if (err)
        return fail(c, lsm_error_errno(err), err, "compact");
    lsm_property_int(fs->db, "lsm.total-sst-files-size", &after);
    c->len = 0;
    say(c, "tables: %" PRIu64 " bytes before, %" PRIu64 " bytes after\n", before, after);
}

void fs_op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
                 struct fuse_file_info *fi, unsigned flags, const void *in_buf,
                 size_t in_bufsz, size_t out_bufsz)
{
    (void)arg;
    (void)fi;
    fs_t *fs = fs_of(req);
    if (fs_iflags_is_ioctl(cmd))  /* chattr/lsattr, on any inode (iflags.c) */
        return fs_iflags_ioctl(req, ino, cmd, in_buf, in_bufsz, out_bufsz);
    if (cmd != LSMFS_IOC_CTL || ino != FUSE_ROOT_ID || (flags & FUSE_IOCTL_COMPAT))
        return fs_reply_err(req, -ENOTTY);
    if (in_bufsz != sizeof(struct lsmfs_ctl) || out_bufsz != sizeof(struct lsmfs_ctl))
        return fs_reply_err(req, -EINVAL);
    struct lsmfs_ctl *c = malloc(sizeof(*c));
    if (!c)
        return fs_reply_err(req, -ENOMEM);
    memcpy(c, in_buf, sizeof(*c));
    if (c->magic != LSMFS_CTL_MAGIC || c->len == 0 || c->len > sizeof(c->data) ||
        c->data[c->len - 1] != 0) {
        free(c);
        return fs_reply_err(req, -EINVAL);
    }
    c->error = 0;
    int changes = c->op == LSMFS_CTL_SNAP_CREATE || c->op == LSMFS_CTL_SNAP_DELETE ||
                  c->op == LSMFS_CTL_CHECKPOINT || c->op == LSMFS_CTL_COMPACT;
    if (changes && fs->opts->ro)
        fail(c, EROFS, NULL, "mounted read-only");
    else if (changes && !may_change(req))
        fail(c, EPERM, NULL, "only the mount's owner or root may do this");
    else if (c->op == LSMFS_CTL_SNAP_CREATE)
        snap_create(fs, c);
    else if (c->op == LSMFS_CTL_SNAP_DELETE)
        snap_delete(fs, c);
    else if (c->op == LSMFS_CTL_SNAP_LIST)
        snap_list(fs, c);
    else if (c->op == LSMFS_CTL_SNAP_USAGE)
        snap_usage(fs, c);
    else if (c->op == LSMFS_CTL_CHECKPOINT)
        checkpoint(fs, c);
    else if (c->op == LSMFS_CTL_STATS)
        stats(fs, c);
    else if (c->op == LSMFS_CTL_COMPACT)
        compact(fs, c);
    else
        fail(c, EINVAL, NULL, "unknown control operation");
    fuse_reply_ioctl(req, 0, c, sizeof(*c));
    free(c);
}
