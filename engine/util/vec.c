/*
 * vec.c - vec_grow: one doubling reallocation for the engine's growable arrays.
 *
 * The array pointer is read and written through memcpy, so one function serves every
 * element type without breaking the aliasing rules.
 */
#include "util/vec.h"

#include <stdlib.h>
#include <string.h>

int vec_grow(void *pv, size_t elem, int n, int *cap, int first)
{
    if (n < *cap)
        return 0;
    int nc = *cap ? *cap * 2 : first;
    void *old;
    memcpy(&old, pv, sizeof(old));
    void *p = realloc(old, (size_t)nc * elem);
    if (!p)
        return -1;
    memcpy(pv, &p, sizeof(p));
    *cap = nc;
    return 0;
}
