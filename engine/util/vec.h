/*
 * vec.h - growing the engine's arrays of (pointer, count, capacity): lists of file metas,
 * of file numbers, of output tables.
 *
 * Invariant: after vec_grow returns 0 the array has room for element n (capacity > n);
 * after it returns -1 nothing has changed (the old array and capacity stay valid).
 */
#ifndef LSM_UTIL_VEC_H
#define LSM_UTIL_VEC_H

#include <stddef.h>

/* Makes room for element n of the array *pv (elements of `elem` bytes, capacity *cap):
 * when it is full the capacity doubles, starting at `first`. pv is the address of the
 * array pointer (any element type). Returns 0, or -1 when out of memory. */
int vec_grow(void *pv, size_t elem, int n, int *cap, int first);

#endif
