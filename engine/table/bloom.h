/*
 * bloom.h - the bloom filter of an SST (one per table, over user keys).
 *
 * Format: ceil(bits/8) bytes of bit array, then one byte k (number of probes). bits is
 * n * bits_per_key rounded up to whole bytes, at least 64. k = round(bits_per_key * ln 2),
 * clamped to [1, 30]. Probe positions come from one hash32 value by double hashing:
 * h, h + d, h + 2d, ... (32-bit wrapping) mod bits, with d = fmix32(h ^ 0x9e3779b9) | 1
 * (murmur3's finalizer; a rotation of h, as LevelDB uses, correlates the probes and costs
 * ~50% more false positives at 10 bits/key). bloom_hash = hash32(key, 0xbc9f1d34). The builder works
 * from hashes (bloom_hash), so it keeps 4 bytes per key instead of the keys.
 * A filter too short to be valid, or with k > 30, matches everything (never a false
 * negative, whatever the bytes).
 */
#ifndef LSM_TABLE_BLOOM_H
#define LSM_TABLE_BLOOM_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/slice.h"

uint32_t bloom_hash(slice_t key);
/* The number of probes used for bits_per_key. */
int bloom_num_probes(int bits_per_key);
/* Appends a filter over hashes[0, n) to out. */
void bloom_build(const uint32_t *hashes, size_t n, int bits_per_key, buf_t *out);
int bloom_may_match(slice_t filter, uint32_t hash);

#endif
