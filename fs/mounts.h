/*
 * mounts.h - finding lsmfs mounts in the kernel's mount table (/proc/self/mountinfo).
 *
 * Shared by the daemon (the "store in use" message, the remount control channel) and
 * fsck.lsmfs (online checks, waiting for a closing daemon): one parser of the table, with
 * its octal escapes (\040 for a blank) undone. Only fuse.lsmfs mounts are considered; when
 * several match, the last one listed (the top of a stack of mounts) is the answer.
 */
#ifndef LSMFS_MOUNTS_H
#define LSMFS_MOUNTS_H

#include <stddef.h>

typedef struct fs_mount {
    char point[4096];   /* the mountpoint */
    char source[4096];  /* the source: the store path unless fsname= said otherwise */
    char majmin[32];    /* the mount's device number, "major:minor" (its st_dev) */
} fs_mount_t;

/* Finds the last fuse.lsmfs mount whose source is `source` (when not NULL) and whose
 * mountpoint is `point` (when not NULL). 0 and *m filled, -ENOENT when none matches, or
 * -errno when the table cannot be read. */
int fs_mount_find(const char *source, const char *point, fs_mount_t *m);

#endif
