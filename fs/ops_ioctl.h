/*
 * ops_ioctl.h - the lsmfsctl ioctl handler (ops_ioctl.c; protocol in ctl_proto.h).
 */
#ifndef LSMFS_OPS_IOCTL_H
#define LSMFS_OPS_IOCTL_H

#include "fs.h"

/* The FUSE ioctl operation: answers LSMFS_IOC_CTL on the root directory and the chattr
 * flags ioctls on any inode (iflags.h), ENOTTY otherwise. */
void fs_op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
                 struct fuse_file_info *fi, unsigned flags, const void *in_buf,
                 size_t in_bufsz, size_t out_bufsz);
/* 1 when name may name a snapshot: 1..255 bytes, no '/', not "." or "..". */
int fs_ctl_snapshot_name_ok(const char *name);

#endif
