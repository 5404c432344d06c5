/*
 * coding.h - fixed-width little-endian integers and LEB128 varints.
 *
 * Every on-disk integer of the engine goes through these helpers. Decoders never read past
 * the limit they are given and report a truncated input by returning NULL.
 */
#ifndef LSM_UTIL_CODING_H
#define LSM_UTIL_CODING_H

#include <stdint.h>
#include <string.h>

#include "util/slice.h"

static inline void encode_fixed32(char *dst, uint32_t v) { memcpy(dst, &v, 4); }
static inline void encode_fixed64(char *dst, uint64_t v) { memcpy(dst, &v, 8); }
static inline uint32_t decode_fixed32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline uint64_t decode_fixed64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline void encode_fixed16(char *dst, uint16_t v) { memcpy(dst, &v, 2); }
static inline uint16_t decode_fixed16(const char *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* Big-endian, for keys that must sort numerically (lsmfs inode numbers). */
static inline void encode_be64(char *dst, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        dst[i] = (char)(v & 0xff);
        v >>= 8;
    }
}
static inline uint64_t decode_be64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | (unsigned char)p[i];
    return v;
}

/* Writes v at dst (room for 5 / 10 bytes) and returns the byte after it. */
char *encode_varint32(char *dst, uint32_t v);
char *encode_varint64(char *dst, uint64_t v);
int varint_length(uint64_t v);

/* Decodes a varint from [p, limit); returns the byte after it, or NULL if the varint is
 * truncated or too long. */
const char *decode_varint32(const char *p, const char *limit, uint32_t *v);
const char *decode_varint64(const char *p, const char *limit, uint64_t *v);

static inline const char *decode_varint32_fast(const char *p, const char *limit, uint32_t *v)
{
    if (p < limit && (*(const unsigned char *)p & 0x80) == 0) {
        *v = *(const unsigned char *)p;
        return p + 1;
    }
    return decode_varint32(p, limit, v);
}

/* Reads a varint32-length-prefixed slice from *in, advancing it. Returns 0 on success,
 * -1 on truncated input. */
int get_length_prefixed(slice_t *in, slice_t *out);
int get_varint32(slice_t *in, uint32_t *v);
int get_varint64(slice_t *in, uint64_t *v);

#endif
