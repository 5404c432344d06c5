/*
 * hash.c - the 32-bit hash (a Murmur-style multiply-and-mix over 4-byte words).
 */
#include "util/hash.h"

#include "util/coding.h"

uint32_t hash32(const char *data, size_t n, uint32_t seed)
{
    const uint32_t m = 0xc6a4a793u;
    const uint32_t r = 24;
    const char *limit = data + n;
    uint32_t h = seed ^ (uint32_t)(n * m);
    while (data + 4 <= limit) {
        uint32_t w = decode_fixed32(data);
        data += 4;
        h += w;
        h *= m;
        h ^= (h >> 16);
    }
    switch (limit - data) {
    case 3:
        h += (uint32_t)(unsigned char)data[2] << 16;
        /* fallthrough */
    case 2:
        h += (uint32_t)(unsigned char)data[1] << 8;
        /* fallthrough */
    case 1:
        h += (uint32_t)(unsigned char)data[0];
        h *= m;
        h ^= (h >> r);
        break;
    }
    return h;
}
