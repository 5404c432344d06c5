/*
 * random.h - small, fast pseudo-random generator (xorshift64*), one per owner, no globals.
 */
#ifndef LSM_UTIL_RANDOM_H
#define LSM_UTIL_RANDOM_H

#include <stdint.h>

typedef struct {
    uint64_t s;
} rnd_t;

static inline void rnd_seed(rnd_t *r, uint64_t seed) { r->s = seed ? seed : 0x9e3779b97f4a7c15ull; }
static inline uint64_t rnd_next(rnd_t *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dull;
}
/* Uniform in [0, n). */
static inline uint64_t rnd_uniform(rnd_t *r, uint64_t n) { return n ? rnd_next(r) % n : 0; }
/* True with probability 1/n. */
static inline int rnd_one_in(rnd_t *r, uint64_t n) { return rnd_uniform(r, n) == 0; }

#endif
