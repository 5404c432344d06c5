/*
 * reserve.h - the default size of a store's space reserve (the engine's RESERVE file, held
 * back so that deletes still work on a full disk; docs/DURABILITY.md "Full disk").
 */
#ifndef LSMFS_RESERVE_H
#define LSMFS_RESERVE_H

#include <stdint.h>

/* The reserve never defaults above this (the size of the default memtable). */
#define FS_RESERVE_DEFAULT_MAX (64ull << 20)

/* Default reserve of the store in `store`: min(cap, 1% of the file system it lies on),
 * rounded down to 64 KiB; cap when the file system's size cannot be read. */
uint64_t fs_reserve_default(const char *store, uint64_t cap);

#endif
