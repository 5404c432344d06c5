/*
 * coding.c - varint encoders and bounds-checked decoders (see coding.h).
 */
#include "util/coding.h"

char *encode_varint32(char *dst, uint32_t v)
{
    unsigned char *p = (unsigned char *)dst;
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return (char *)p;
}

char *encode_varint64(char *dst, uint64_t v)
{
    unsigned char *p = (unsigned char *)dst;
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return (char *)p;
}

int varint_length(uint64_t v)
{
    int n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

const char *decode_varint32(const char *p, const char *limit, uint32_t *v)
{
    uint32_t result = 0;
    for (int shift = 0; shift <= 28 && p < limit; shift += 7) {
        uint32_t byte = *(const unsigned char *)p++;
        if (shift == 28 && byte > 0x0f)
            return NULL; /* more than 32 bits */
        if (byte & 0x80) {
            result |= (byte & 0x7f) << shift;
        } else {
            result |= byte << shift;
            *v = result;
            return p;
        }
    }
    return NULL;
}

const char *decode_varint64(const char *p, const char *limit, uint64_t *v)
{
    uint64_t result = 0;
    for (int shift = 0; shift <= 63 && p < limit; shift += 7) {
        uint64_t byte = *(const unsigned char *)p++;
        if (shift == 63 && byte > 1)
            return NULL; /* more than 64 bits */
        if (byte & 0x80) {
            result |= (byte & 0x7f) << shift;
        } else {
            result |= byte << shift;
            *v = result;
            return p;
        }
    }
    return NULL;
}

int get_varint32(slice_t *in, uint32_t *v)
{
    const char *p = decode_varint32(in->data, in->data + in->size, v);
    if (!p)
        return -1;
    in->size -= (size_t)(p - in->data);
    in->data = p;
    return 0;
}

int get_varint64(slice_t *in, uint64_t *v)
{
    const char *p = decode_varint64(in->data, in->data + in->size, v);
    if (!p)
        return -1;
    in->size -= (size_t)(p - in->data);
    in->data = p;
    return 0;
}

int get_length_prefixed(slice_t *in, slice_t *out)
{
    uint32_t len;
    slice_t tmp = *in;
    if (get_varint32(&tmp, &len) < 0 || tmp.size < len)
        return -1;
    out->data = tmp.data;
    out->size = len;
    in->data = tmp.data + len;
    in->size = tmp.size - len;
    return 0;
}
