/*
 * acl.h - POSIX ACLs in the daemon (acl.c): stored as the X rows system.posix_acl_access
 * and system.posix_acl_default, enforced by the kernel (FUSE_CAP_POSIX_ACL with
 * default_permissions). The kernel leaves to the file system what ext4 does in its own
 * code: the mode follows a new access ACL, chmod rewrites the ACL, and a new inode inherits
 * its directory's default ACL. Each helper stages its rows into the caller's batch, so the
 * ACL change commits atomically with the operation. Callers hold the inode's lock (for
 * fs_acl_inherit: the parent's, which guards the parent's default ACL).
 */
#ifndef LSMFS_ACL_H
#define LSMFS_ACL_H

#include "fs.h"
#include "schema_acl.h"

/* Whether this mount handles ACLs (not -o noacl). */
int fs_acl_enabled(const fs_t *fs);
/* setxattr of an ACL name on inode ino (in: its inode, updated): checks the value
 * (-EINVAL), refuses a default ACL on a non-directory (-EACCES), sets the mode's
 * permission bits from an access ACL (and drops set-group-ID when the caller is neither
 * root nor in the file's group), stages the X row, or its deletion when the mode says it
 * all. */
int fs_acl_set(fuse_req_t req, lsm_writebatch_t *b, uint64_t ino, fs_inode_t *in, int kind,
               const char *value, size_t size);
/* chmod of ino to mode: rewrites its access ACL's owner/mask/other entries, if it has one. */
int fs_acl_chmod(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, uint32_t mode);
/* New inode ino in directory parent (in: as fs_inode_new made it, umask applied;
 * req_mode: the mode the caller asked for). If the parent has a default ACL, the umask
 * does not apply: the mode is cut by the ACL instead, the ACL becomes the new inode's
 * access ACL (when it says more than the mode) and, for a directory, its default ACL.
 * Symlinks take no ACL. */
int fs_acl_inherit(fs_t *fs, lsm_writebatch_t *b, uint64_t parent, uint64_t ino,
                   fs_inode_t *in, uint32_t req_mode);

#endif
