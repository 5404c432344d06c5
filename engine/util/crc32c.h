/*
 * crc32c.h - CRC-32C (Castagnoli), as used by every checksum in the store.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it and a slicing-by-8 table
 * otherwise; both give identical results (the unit test checks the RFC 3720 vectors on
 * both paths). Stored checksums are masked (rotated and offset) so that a CRC computed
 * over data that itself contains CRCs does not degenerate.
 */
#ifndef LSM_UTIL_CRC32C_H
#define LSM_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC of data[0..n) continuing from a previous crc (0 to start). */
uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n);
static inline uint32_t crc32c_value(const void *data, size_t n) { return crc32c_extend(0, data, n); }

/* The portable path, exposed for tests. */
uint32_t crc32c_extend_sw(uint32_t crc, const void *data, size_t n);
/* 1 when the hardware path is in use. */
int crc32c_hw_available(void);

#define CRC32C_MASK_DELTA 0xa282ead8u
static inline uint32_t crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + CRC32C_MASK_DELTA; }
static inline uint32_t crc32c_unmask(uint32_t m)
{
    uint32_t rot = m - CRC32C_MASK_DELTA;
    return (rot >> 17) | (rot << 15);
}

#endif
