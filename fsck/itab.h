/*
 * itab.h - fsck's in-memory inode table: one compact record per inode row of the store.
 *
 * Inode numbers arrive in increasing order (the I rows are scanned in key order, and the
 * one inode fsck may create, lost+found, takes the high-water mark, which is above every
 * number in use), so the table is two parallel arrays sorted by inode number: the numbers
 * themselves (searched by interpolation then binary search) and 40-byte records. No
 * per-inode allocation, no hashing: 1,000,000 inodes cost about 40 MB.
 */
#ifndef FSCK_ITAB_H
#define FSCK_ITAB_H

#include <stddef.h>
#include <stdint.h>

/* Per-inode flags. */
enum {
    IT_ORPHAN = 1 << 0,       /* has an O row */
    IT_HAS_TARGET = 1 << 1,   /* symlink with a valid L row */
    IT_REACHED = 1 << 2,      /* directory reachable from the root */
    IT_VISITING = 1 << 3,     /* on the parent walk now under way */
    IT_DISCONNECTED = 1 << 4, /* unreachable and left so (fix declined) */
    IT_REMOVED = 1 << 5,      /* cleared or reclaimed: treat as missing from here on */
    IT_HAS_CHILDREN = 1 << 6, /* directory with at least one valid entry */
    IT_MULTI_PARENT = 1 << 7, /* directory named by more than one entry */
    IT_UNWRITTEN = 1 << 8,    /* file whose inode counts fallocated, unwritten blocks */
    IT_UNWRITTEN_SEEN = 1 << 9, /* that count was checked against its rows (unwritten.c) */
};

typedef struct {
    union {
        uint64_t size;        /* non-directories: st_size */
        uint64_t parent;      /* directories: the parent recorded in the inode */
    };
    uint64_t dparent;         /* directories: the directory holding its entry (0: none) */
    uint32_t nlink;           /* as stored */
    uint32_t count;           /* non-directories: entries naming it; directories: subdirs */
    uint32_t mode;
    uint16_t flags;
} fsck_inode_t;

typedef struct {
    uint64_t *ino;
    fsck_inode_t *in;
    size_t n, cap;
} fsck_itab_t;

void itab_init(fsck_itab_t *t);
void itab_free(fsck_itab_t *t);
/* Reserves room for `n` inodes up front (a hint; the table grows anyway). 0 or -ENOMEM. */
int itab_reserve(fsck_itab_t *t, size_t n);
/* Appends an inode; `ino` must be above every number already in the table. Returns the
 * new record (zeroed), or NULL on -ENOMEM or an out-of-order number. */
fsck_inode_t *itab_append(fsck_itab_t *t, uint64_t ino);
/* Inserts an inode anywhere (moves the records above it: for the rare inode fsck
 * creates below others, e.g. a new root). NULL on -ENOMEM or if `ino` is present. */
fsck_inode_t *itab_insert(fsck_itab_t *t, uint64_t ino);
/* The record of `ino`, or NULL if the table has none (removed inodes are still found:
 * check IT_REMOVED). */
fsck_inode_t *itab_find(const fsck_itab_t *t, uint64_t ino);
/* Like itab_find, but NULL for removed inodes too. */
fsck_inode_t *itab_live(const fsck_itab_t *t, uint64_t ino);
/* Inode number of a record returned by this table. */
uint64_t itab_ino_of(const fsck_itab_t *t, const fsck_inode_t *r);

#endif
