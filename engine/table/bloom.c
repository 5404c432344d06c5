/*
 * bloom.c - bloom filter build and query (see bloom.h for the format).
 */
#include "table/bloom.h"

#include <string.h>

#include "util/hash.h"

#define BLOOM_SEED 0xbc9f1d34u

/* murmur3's finalizer. */
static inline uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

uint32_t bloom_hash(slice_t key) { return hash32(key.data, key.size, BLOOM_SEED); }

/* The probe step: an independent-looking odd value derived from h. */
static inline uint32_t probe_delta(uint32_t h) { return fmix32(h ^ 0x9e3779b9u) | 1u; }

int bloom_num_probes(int bits_per_key)
{
    int k = (bits_per_key * 69 + 50) / 100;
    return k < 1 ? 1 : (k > 30 ? 30 : k);
}

void bloom_build(const uint32_t *hashes, size_t n, int bits_per_key, buf_t *out)
{
    if (bits_per_key < 1)
        bits_per_key = 1;
    size_t bits = n * (size_t)bits_per_key;
    if (bits < 64)
        bits = 64;
    size_t bytes = (bits + 7) / 8;
    bits = bytes * 8;
    int k = bloom_num_probes(bits_per_key);
    size_t start = out->len;
    if (buf_reserve(out, bytes + 1) < 0)
        return;
    memset(out->data + start, 0, bytes);
    out->data[start + bytes] = (char)k;
    out->len = start + bytes + 1;
    unsigned char *arr = (unsigned char *)out->data + start;
    for (size_t i = 0; i < n; i++) {
        uint32_t h = hashes[i];
        uint32_t d = probe_delta(h);
        for (int j = 0; j < k; j++) {
            uint32_t pos = (uint32_t)(h % bits);
            arr[pos / 8] |= (unsigned char)(1u << (pos % 8));
            h += d;
        }
    }
}

int bloom_may_match(slice_t filter, uint32_t hash)
{
    if (filter.size < 2)
        return 1;
    const unsigned char *arr = (const unsigned char *)filter.data;
    size_t bits = (filter.size - 1) * 8;
    int k = arr[filter.size - 1];
    if (k < 1 || k > 30)
        return 1;
    uint32_t h = hash;
    uint32_t d = probe_delta(h);
    for (int j = 0; j < k; j++) {
        uint32_t pos = (uint32_t)(h % bits);
        if (!(arr[pos / 8] & (1u << (pos % 8))))
            return 0;
        h += d;
    }
    return 1;
}
