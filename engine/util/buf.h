/*
 * buf.h - a growable byte buffer (batch reps, block builders, encoded edits).
 *
 * On allocation failure the buffer sets `oom` and stops growing; writers check it once at
 * the end instead of after every append.
 */
#ifndef LSM_UTIL_BUF_H
#define LSM_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "util/slice.h"

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int oom;
} buf_t;

void buf_init(buf_t *b);
void buf_free(buf_t *b);
static inline void buf_clear(buf_t *b) { b->len = 0; }
/* Makes room for n more bytes; returns 0, or -1 (and sets oom) on allocation failure. */
int buf_reserve(buf_t *b, size_t n);
void buf_append(buf_t *b, const void *p, size_t n);
void buf_push(buf_t *b, char c);
void buf_put_fixed32(buf_t *b, uint32_t v);
void buf_put_fixed64(buf_t *b, uint64_t v);
void buf_put_varint32(buf_t *b, uint32_t v);
void buf_put_varint64(buf_t *b, uint64_t v);
void buf_put_length_prefixed(buf_t *b, slice_t s);
/* printf into the buffer (used by the stats text). */
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline slice_t buf_slice(const buf_t *b) { return slice_make(b->data, b->len); }
/* Truncate to n bytes (n <= len). */
static inline void buf_truncate(buf_t *b, size_t n) { b->len = n; }

#endif
