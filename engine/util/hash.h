/*
 * hash.h - a fast 32-bit hash for bloom filters and cache sharding (not cryptographic).
 * The value is part of the SST filter format: never change it without a format bump.
 */
#ifndef LSM_UTIL_HASH_H
#define LSM_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

uint32_t hash32(const char *data, size_t n, uint32_t seed);

#endif
