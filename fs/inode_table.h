/*
 * inode_table.h - what the daemon remembers about inodes between requests.
 *
 * Two things, both in memory only:
 *   - for every inode the kernel knows (FUSE lookup count > 0) or that is open, the lookup
 *     count, the number of open file handles and whether it is an orphan (unlinked while
 *     known). An inode whose last link goes while the kernel still knows it or has it open
 *     stays (with an orphan row) until both counts are zero: a path walk that resolved the
 *     name before the unlink may still open it, and the kernel may still write back its
 *     attributes.
 *   - a striped table of per-inode mutexes. Operations that read-modify-write an inode or a
 *     directory hold the lock of every inode they change; sets of locks are always taken
 *     in stripe order, so two operations never deadlock.
 *
 * The table never holds a file descriptor (there is none per inode in lsmfs).
 */
#ifndef LSMFS_INODE_TABLE_H
#define LSMFS_INODE_TABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct fs_itab fs_itab_t;

fs_itab_t *fs_itab_create(void);
void fs_itab_destroy(fs_itab_t *t);

/* Adds n kernel lookups of ino. */
void fs_itab_ref(fs_itab_t *t, uint64_t ino, uint64_t n);
/* Drops n lookups (clamped at the count); returns 1 if the inode is an orphan that is now
 * neither known to the kernel nor open (the caller reclaims it). */
int fs_itab_forget(fs_itab_t *t, uint64_t ino, uint64_t n);
/* Open handles: open adds one, release drops one; release returns 1 as forget does. */
void fs_itab_open(fs_itab_t *t, uint64_t ino);
int fs_itab_release(fs_itab_t *t, uint64_t ino);
/* If the kernel knows ino or it is open: marks it an orphan and returns 1; else 0. */
int fs_itab_orphan_if_busy(fs_itab_t *t, uint64_t ino);
/* 1 if the kernel knows ino or it is open. */
int fs_itab_busy(fs_itab_t *t, uint64_t ino);
uint32_t fs_itab_nopen(fs_itab_t *t, uint64_t ino);
uint64_t fs_itab_nlookup(fs_itab_t *t, uint64_t ino);
/* Number of inodes in the table. */
size_t fs_itab_size(fs_itab_t *t);

/* ---- per-inode locks ---- */
#define FS_LOCKSET_MAX 4
typedef struct {
    int n;
    unsigned stripe[FS_LOCKSET_MAX];
} fs_lockset_t;

void fs_ilock(fs_itab_t *t, uint64_t ino);
void fs_iunlock(fs_itab_t *t, uint64_t ino);
/* Locks the inodes inos[0..n) (n <= FS_LOCKSET_MAX, zeros ignored, duplicates fine). */
void fs_ilock_set(fs_itab_t *t, const uint64_t *inos, int n, fs_lockset_t *ls);
void fs_iunlock_set(fs_itab_t *t, fs_lockset_t *ls);

/* Lock assertions, active in test builds (LSM_TESTING) only and empty in release builds,
 * so their arguments must have no side effects: FS_ASSERT_ILOCKED(t, ino) where a comment
 * says the caller holds ino's lock, FS_ASSERT_NOT_ILOCKED where it must not (a second
 * fs_ilock of the same stripe by one thread deadlocks). A stripe is shared by many inodes:
 * the check is that this thread holds the lock that guards ino. FS_ASSERT(cond) is the
 * same for any invariant of the daemon. */
#ifdef LSM_TESTING
#include <assert.h>
int fs_ilock_held(fs_itab_t *t, uint64_t ino);
#define FS_ASSERT(cond) assert(cond)
#define FS_ASSERT_ILOCKED(t, ino) assert(fs_ilock_held((t), (ino)))
#define FS_ASSERT_NOT_ILOCKED(t, ino) assert(!fs_ilock_held((t), (ino)))
#else
#define FS_ASSERT(cond) ((void)0)
#define FS_ASSERT_ILOCKED(t, ino) ((void)0)
#define FS_ASSERT_NOT_ILOCKED(t, ino) ((void)0)
#endif

#endif
