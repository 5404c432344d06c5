/*
 * ctl_proto.h - the control channel between lsmfsctl and a running lsmfs daemon.
 *
 * One ioctl on the mount's root directory, LSMFS_IOC_CTL, carrying one fixed-size
 * struct lsmfs_ctl both ways (a "restricted" FUSE ioctl: the kernel copies _IOC_SIZE bytes
 * in and out, so no retry protocol is needed). The caller fills magic, op and the argument
 * in data[0..len) (NUL-terminated text); the daemon answers with error = 0 or an errno and
 * a NUL-terminated text reply (or error message) in data, len bytes including the NUL.
 *
 * Why an ioctl (docs/SNAPSHOTS.md "Control channel"): it addresses the daemon by its mount
 * path, needs no file or socket that could go stale or be reached by another mount, and
 * FUSE hands the daemon the caller's uid/pid with it (fuse_req_ctx), which is what the
 * permission checks use. The kernel only forwards it on an open file of the mount.
 */
#ifndef LSMFS_CTL_PROTO_H
#define LSMFS_CTL_PROTO_H

#include <stdint.h>
#include <sys/ioctl.h>

#define LSMFS_CTL_MAGIC 0x4c534d43u /* "LSMC" */
#define LSMFS_CTL_DATA 8000

enum {
    LSMFS_CTL_SNAP_CREATE = 1, /* data: name; reply: "<seq>\n" */
    LSMFS_CTL_SNAP_DELETE = 2, /* data: name */
    LSMFS_CTL_SNAP_LIST = 3,   /* reply: one "<name> <seq>\n" per snapshot */
    LSMFS_CTL_CHECKPOINT = 4,  /* data: absolute directory path; reply: "<seq>\n" */
    LSMFS_CTL_STATS = 5,       /* reply: "key: value" lines (fs.* then lsm.stats) */
    LSMFS_CTL_COMPACT = 6,     /* reply: sizes before/after */
    LSMFS_CTL_SNAP_USAGE = 7,  /* reply: "<name> <bytes>\n" per snapshot, "total <bytes>\n"
                                * (fs/snapusage.h: scans the store) */
};

struct lsmfs_ctl {
    uint32_t magic;
    uint32_t op;
    int32_t error;
    uint32_t len;
    char data[LSMFS_CTL_DATA];
};

#define LSMFS_IOC_CTL _IOWR('L', 0x14, struct lsmfs_ctl)

/* One call (ctl_client.c): fills *c with op and arg, asks the daemon of the mount `mnt`.
 * 0 when the daemon answered (its verdict in c->error, its NUL-terminated text in c->data);
 * -errno when the call did not reach it (-E2BIG: arg too long; open's or ioctl's errno). */
int fs_ctl_call(const char *mnt, uint32_t op, const char *arg, struct lsmfs_ctl *c);

#endif
