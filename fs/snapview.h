/*
 * snapview.h - MNT/.snapshots: the read-only view of persistent snapshots (snapview.c,
 * docs/SNAPSHOTS.md "The .snapshots view").
 *
 * The view wraps the FUSE operation table: every operation first asks whether its node id
 * belongs to the view (high bit set) or names ".snapshots" in the root; only then does it
 * differ from the live operation, which it calls unchanged otherwise.
 */
#ifndef LSMFS_SNAPVIEW_H
#define LSMFS_SNAPVIEW_H

#include "fs.h"

/* The name of the hidden directory in the root. */
#define FS_SNAPDIR_NAME ".snapshots"

/* The view's state for one mount (NULL on failure). Destroy before the store closes: it
 * holds engine snapshot handles. */
struct fs_snapview *fs_snapview_create(fs_t *fs);
void fs_snapview_destroy(struct fs_snapview *sv, fs_t *fs);
/* Replaces the operations of ops that must know the view by wrappers (call after every
 * live operation is set). */
void fs_snapview_install(struct fuse_lowlevel_ops *ops);
/* Creates / deletes persistent snapshot `name` with its persisted slot (snapslot.h): every
 * creation and deletion goes through here (mkdir/rmdir in .snapshots, lsmfsctl). Return 0
 * or a negative errno (-EEXIST for an existing name); *err: the engine's message (the
 * caller frees it), NULL if none. */
int fs_snapview_snapshot_create(fs_t *fs, const char *name, uint64_t *seq, char **err);
int fs_snapview_snapshot_delete(fs_t *fs, const char *name, char **err);
/* The persistent snapshot `name` was deleted (rmdir or lsmfsctl): the view lets go of it
 * once nothing of it is known to the kernel or open any more. */
void fs_snapview_forget_name(fs_t *fs, const char *name);

#endif
