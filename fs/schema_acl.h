/*
 * schema_acl.h - the POSIX ACL value format (Linux's system.posix_acl_access/default xattr
 * layout) and the mode <-> ACL arithmetic, with no store access: shared by the daemon
 * (fs/acl.c), fsck and the unit test.
 *
 * A value is a little-endian u32 version (2) followed by 8-byte entries
 * {u16 tag, u16 perm, u32 id}. A valid ACL has, in this order, exactly one USER_OBJ, any
 * USER entries, exactly one GROUP_OBJ, any GROUP entries, at most one MASK (required when
 * a USER or GROUP entry is present) and exactly one OTHER; perms use only rwx (7).
 * Functions that change a value only rewrite perm fields in place (never the length).
 */
#ifndef LSMFS_SCHEMA_ACL_H
#define LSMFS_SCHEMA_ACL_H

#include <stddef.h>
#include <stdint.h>

#define FS_ACL_NAME_ACCESS "system.posix_acl_access"
#define FS_ACL_NAME_DEFAULT "system.posix_acl_default"
#define FS_ACL_VERSION 2u
#define FS_ACL_HDR 4u
#define FS_ACL_ENTRY 8u

enum { FS_ACL_NONE = 0, FS_ACL_ACCESS = 1, FS_ACL_DEFAULT = 2 };

/* FS_ACL_ACCESS / FS_ACL_DEFAULT for the two ACL xattr names, else FS_ACL_NONE. */
int fs_acl_kind(const char *name);
/* 0 and the entry count (0 for a bare header) if v is a well-formed ACL, else -EINVAL. */
int fs_acl_check(const void *v, size_t len, size_t *count);
/* The rwxrwxrwx bits an access ACL stands for: owner, mask (or group if no mask), other. */
uint32_t fs_acl_perm_bits(const void *v, size_t len);
/* 1 when a valid ACL holds only owner, group and other (the mode says it all). */
int fs_acl_is_minimal(const void *v, size_t len);
/* chmod: sets owner, mask (or group) and other perms from mode's low nine bits. */
void fs_acl_apply_mode(void *v, size_t len, uint32_t mode);
/* Create-time inheritance (v is a copy of the parent's default ACL): every entry that
 * mode's bits also govern is cut to them, and *mode's low nine bits are cut to the ACL's.
 * Returns 1 if the result still needs an ACL (named entries or a mask), 0 if the mode
 * says it all. */
int fs_acl_create_mask(void *v, size_t len, uint32_t *mode);

#endif
