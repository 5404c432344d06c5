/*
 * slice.h - a borrowed byte range (pointer + length), the engine's key and value currency.
 *
 * A slice never owns its bytes; the owner must outlive every slice taken from it.
 */
#ifndef LSM_UTIL_SLICE_H
#define LSM_UTIL_SLICE_H

#include <stddef.h>
#include <string.h>

typedef struct {
    const char *data;
    size_t size;
} slice_t;

static inline slice_t slice_make(const char *d, size_t n)
{
    slice_t s = {d, n};
    return s;
}

static inline slice_t slice_str(const char *s) { return slice_make(s, strlen(s)); }

/* Bytewise three-way comparison, shorter first on a common prefix. */
static inline int slice_compare(slice_t a, slice_t b)
{
    size_t n = a.size < b.size ? a.size : b.size;
    int r = n ? memcmp(a.data, b.data, n) : 0;
    if (r == 0)
        r = (a.size < b.size) ? -1 : (a.size > b.size);
    return r;
}

static inline int slice_equal(slice_t a, slice_t b)
{
    return a.size == b.size && (a.size == 0 || memcmp(a.data, b.data, a.size) == 0);
}

static inline int slice_starts_with(slice_t s, slice_t prefix)
{
    return s.size >= prefix.size && memcmp(s.data, prefix.data, prefix.size) == 0;
}

#endif
