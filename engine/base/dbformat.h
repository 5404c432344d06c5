/*
 * dbformat.h - internal keys: the user key plus an 8-byte trailer (sequence << 8 | type).
 *
 * Order: user keys bytewise ascending; for equal user keys, trailer descending, so the
 * newest version of a key comes first and a seek to (key, snapshot) lands on the newest
 * version visible at that snapshot. These rules are part of the SST and memtable formats.
 */
#ifndef LSM_DB_DBFORMAT_H
#define LSM_DB_DBFORMAT_H

#include <stdint.h>

#include "util/coding.h"
#include "util/slice.h"

typedef enum {
    TYPE_DELETION = 0x0,
    TYPE_VALUE = 0x1,
    TYPE_RANGE_DELETION = 0xF,
} value_type_t;

/* The type used in seek keys: the largest, so (k, s, TYPE_FOR_SEEK) sorts before every
 * entry of k with sequence <= s. */
#define TYPE_FOR_SEEK TYPE_RANGE_DELETION

#define MAX_SEQUENCE ((1ull << 56) - 1)

static inline uint64_t pack_seq_type(uint64_t seq, value_type_t t) { return (seq << 8) | (uint64_t)t; }

static inline slice_t ikey_user_key(slice_t ikey) { return slice_make(ikey.data, ikey.size - 8); }
static inline uint64_t ikey_trailer(slice_t ikey) { return decode_fixed64(ikey.data + ikey.size - 8); }
static inline uint64_t ikey_seq(slice_t ikey) { return ikey_trailer(ikey) >> 8; }
static inline value_type_t ikey_type(slice_t ikey) { return (value_type_t)(ikey_trailer(ikey) & 0xff); }

/* Validity of an internal key read from disk: room for a trailer and a known type. */
static inline int ikey_valid(slice_t ikey)
{
    if (ikey.size < 8)
        return 0;
    unsigned t = (unsigned)(ikey_trailer(ikey) & 0xff);
    return t == TYPE_DELETION || t == TYPE_VALUE || t == TYPE_RANGE_DELETION;
}

static inline int ikey_compare(slice_t a, slice_t b)
{
    int r = slice_compare(ikey_user_key(a), ikey_user_key(b));
    if (r == 0) {
        uint64_t ta = ikey_trailer(a), tb = ikey_trailer(b);
        r = ta > tb ? -1 : (ta < tb);
    }
    return r;
}

/* Writes user_key + trailer into dst (room for key.size + 8). */
static inline void ikey_encode(char *dst, slice_t user_key, uint64_t seq, value_type_t t)
{
    memcpy(dst, user_key.data, user_key.size);
    encode_fixed64(dst + user_key.size, pack_seq_type(seq, t));
}

#endif
