/*
 * slice.h - a borrowed byte range (pointer + length), the engine's key and value currency.
 *
 * A slice never owns its bytes; the owner must outlive every slice taken from it.
 */
#ifndef LSM_UTIL_SLICE_H
#define LSM_UTIL_SLICE_H

#include <stddef.h>
#include <stdint.h>
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

/* Big-endian value of 8 bytes: comparing two of them as integers orders them bytewise. */
static inline uint64_t slice_load_be64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Bytewise three-way comparison (only the sign is meaningful), shorter first on a common
 * prefix. Short keys - the common case - are compared inline 8 bytes at a time instead
 * of through a memcmp call. */
static inline int slice_compare(slice_t a, slice_t b)
{
    size_t n = a.size < b.size ? a.size : b.size;
    if (n <= 32) {
        const unsigned char *p = (const unsigned char *)a.data, *q = (const unsigned char *)b.data;
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t x = slice_load_be64(a.data + i), y = slice_load_be64(b.data + i);
            if (x != y)
                return x < y ? -1 : 1;
        }
        for (; i < n; i++)
            if (p[i] != q[i])
                return p[i] < q[i] ? -1 : 1;
    } else {
        int r = memcmp(a.data, b.data, n);
        if (r != 0)
            return r;
    }
    return (a.size < b.size) ? -1 : (a.size > b.size);
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
