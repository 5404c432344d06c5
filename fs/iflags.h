/*
 * iflags.h - chattr flags (immutable, append-only; FS_INODE_FL_* in schema.h): their ioctl
 * (FS_IOC_GETFLAGS / FS_IOC_SETFLAGS) and the checks every changing operation makes.
 *
 * The kernel does not know a FUSE inode's flags (it never sets S_IMMUTABLE/S_APPEND on
 * them), so the daemon enforces them, for every caller including root, with ext4's rules.
 * Each check takes the inode as loaded under its lock and returns 0 or -EPERM.
 */
#ifndef LSMFS_IFLAGS_H
#define LSMFS_IFLAGS_H

#include "fs.h"

/* 1 when cmd is FS_IOC_GETFLAGS or FS_IOC_SETFLAGS (native or 32-bit), or
 * FS_IOC_FSGETXATTR / FS_IOC_FSSETXATTR (the kernel's fileattr code asks the former before
 * every FS_IOC_SETFLAGS; xfs_io uses both). */
int fs_iflags_is_ioctl(unsigned int cmd);
/* Answers FS_IOC_GETFLAGS / FS_IOC_SETFLAGS on any inode (restricted ioctl: the value is an
 * int, 4 bytes; 8 accepted) and the fsxattr pair (xflags only). Setting or clearing a flag needs uid 0 (CAP_LINUX_IMMUTABLE,
 * which the kernel has checked too); other bits are EOPNOTSUPP. */
void fs_iflags_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, const void *in_buf,
                     size_t in_bufsz, size_t out_bufsz);

/* open with these flags: immutable refuses write access and O_TRUNC; append-only refuses
 * O_TRUNC and write access without O_APPEND. */
int fs_iflags_may_open(const fs_inode_t *in, int open_flags);
/* write of buf at off: immutable refuses; append-only refuses a write below the end unless
 * it rewrites the stored bytes unchanged (a page of the writeback cache). */
int fs_iflags_may_write(fs_t *fs, uint64_t ino, const fs_inode_t *in, const char *buf,
                        size_t size, uint64_t off);
/* fallocate: immutable refuses; append-only allows only mode 0 / KEEP_SIZE. */
int fs_iflags_may_fallocate(const fs_inode_t *in, int mode);
/* setattr: immutable refuses all; append-only refuses size, mode, owner and explicit times
 * (the writeback cache's own mtime+ctime flush excepted). */
int fs_iflags_may_setattr(const fs_inode_t *in, int to_set);
/* unlink/rmdir/rename of this inode, link to it, its xattrs: immutable or append-only. */
int fs_iflags_may_change_entry(const fs_inode_t *in);
/* adding an entry to directory dir (create, link, rename into): immutable. */
int fs_iflags_may_add_to(const fs_inode_t *dir);
/* removing an entry from directory dir (unlink, rmdir, rename out): immutable or append. */
int fs_iflags_may_remove_from(const fs_inode_t *dir);

#endif
