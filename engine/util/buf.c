/*
 * buf.c - growable byte buffer (see buf.h). Capacity doubles; data is always
 * NUL-terminated past len when cap allows, which keeps printf-built text printable.
 */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/coding.h"

void buf_init(buf_t *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void buf_free(buf_t *b)
{
    free(b->data);
    buf_init(b);
}

int buf_reserve(buf_t *b, size_t n)
{
    if (b->oom)
        return -1;
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->oom = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void buf_append(buf_t *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void buf_push(buf_t *b, char c) { buf_append(b, &c, 1); }

void buf_put_fixed32(buf_t *b, uint32_t v)
{
    char t[4];
    encode_fixed32(t, v);
    buf_append(b, t, 4);
}

void buf_put_fixed64(buf_t *b, uint64_t v)
{
    char t[8];
    encode_fixed64(t, v);
    buf_append(b, t, 8);
}

void buf_put_varint32(buf_t *b, uint32_t v)
{
    char t[5];
    buf_append(b, t, (size_t)(encode_varint32(t, v) - t));
}

void buf_put_varint64(buf_t *b, uint64_t v)
{
    char t[10];
    buf_append(b, t, (size_t)(encode_varint64(t, v) - t));
}

void buf_put_length_prefixed(buf_t *b, slice_t s)
{
    buf_put_varint32(b, (uint32_t)s.size);
    buf_append(b, s.data, s.size);
}

void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n > 0 && buf_reserve(b, (size_t)n) == 0) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
    }
    va_end(ap);
}
