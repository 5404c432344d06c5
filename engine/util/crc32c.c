/*
 * crc32c.c - CRC-32C with a hardware path (SSE4.2) and a slicing-by-8 fallback.
 *
 * The fallback tables and the hardware path's chunk-shift table are computed once
 * (pthread_once) and are read-only afterwards; the CPU probe is likewise done once. Neither is mutable state in any meaningful sense.
 */
#include "util/crc32c.h"

#include <pthread.h>
#include <string.h>

#define POLY 0x82f63b78u /* reflected Castagnoli polynomial */

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

uint32_t crc32c_extend_sw(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&table_once, build_tables);
    const unsigned char *p = data;
    uint32_t c = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
        n--;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= c;
        c = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
            table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^
            table[2][(w >> 40) & 0xff] ^ table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
    return ~c;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

/* One stream of crc32 instructions is latency bound (3 cycles per 8 bytes). Long inputs
 * run three independent streams over consecutive HW_CHUNK-byte chunks and join them with
 * the shift operator: for a raw register r, crc(r, D) = shift(r, |D|) ^ crc(0, D), and
 * shift by HW_CHUNK bytes is linear, so it is four table lookups (shift_tab, built once
 * from the hardware crc of zero bytes). */
#define HW_CHUNK 256

static uint32_t shift_tab[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

__attribute__((target("sse4.2"))) static uint64_t hw_words(uint64_t c, const unsigned char *p,
                                                           size_t words)
{
    for (size_t i = 0; i < words; i++) {
        uint64_t w;
        memcpy(&w, p + 8 * i, 8);
        c = _mm_crc32_u64(c, w);
    }
    return c;
}

__attribute__((target("sse4.2"))) static void build_shift(void)
{
    static const unsigned char zeros[HW_CHUNK];
    for (int k = 0; k < 4; k++)
        for (uint32_t v = 0; v < 256; v++)
            shift_tab[k][v] = (uint32_t)hw_words((uint64_t)v << (8 * k), zeros, HW_CHUNK / 8);
}

static inline uint32_t shift_chunk(uint32_t r)
{
    return shift_tab[0][r & 0xff] ^ shift_tab[1][(r >> 8) & 0xff] ^
           shift_tab[2][(r >> 16) & 0xff] ^ shift_tab[3][r >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_extend_hw(uint32_t crc,
                                                                   const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t c = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        n--;
    }
    if (n >= 3 * HW_CHUNK) {
        pthread_once(&shift_once, build_shift);
        while (n >= 3 * HW_CHUNK) {
            uint64_t a = c, b = 0, d = 0;
            for (size_t i = 0; i < HW_CHUNK; i += 8) {
                uint64_t wa, wb, wd;
                memcpy(&wa, p + i, 8);
                memcpy(&wb, p + HW_CHUNK + i, 8);
                memcpy(&wd, p + 2 * HW_CHUNK + i, 8);
                a = _mm_crc32_u64(a, wa);
                b = _mm_crc32_u64(b, wb);
                d = _mm_crc32_u64(d, wd);
            }
            c = shift_chunk(shift_chunk((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)d;
            p += 3 * HW_CHUNK;
            n -= 3 * HW_CHUNK;
        }
    }
    c = hw_words(c, p, n / 8);
    p += n & ~(size_t)7;
    n &= 7;
    while (n--)
        c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}

static int hw_flag;
static pthread_once_t hw_once = PTHREAD_ONCE_INIT;
static void probe_hw(void)
{
    __builtin_cpu_init();
    hw_flag = __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

int crc32c_hw_available(void)
{
    pthread_once(&hw_once, probe_hw);
    return hw_flag;
}

uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n)
{
    if (crc32c_hw_available())
        return crc32c_extend_hw(crc, data, n);
    return crc32c_extend_sw(crc, data, n);
}
#else
int crc32c_hw_available(void) { return 0; }
uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n) { return crc32c_extend_sw(crc, data, n); }
#endif
