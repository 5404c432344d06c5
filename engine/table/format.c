/*
 * format.c - block handles, the footer, block trailers and reading a block (see format.h).
 *
 * Invariants: a reader never trusts a length from the file before bounding it (a handle
 * must lie inside the file, a block or its uncompressed form is at most BLOCK_MAX_SIZE,
 * a zlib stream must inflate to exactly the length it declares); every error names the
 * file and the offset of the block.
 */
#include "table/format.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/coding.h"
#include "util/crc32c.h"

void block_handle_encode(buf_t *b, block_handle_t h)
{
    buf_put_varint64(b, h.offset);
    buf_put_varint64(b, h.size);
}

int block_handle_decode(slice_t *in, block_handle_t *h)
{
    if (get_varint64(in, &h->offset) < 0 || get_varint64(in, &h->size) < 0)
        return -1;
    return 0;
}

void footer_encode(char dst[FOOTER_SIZE], const footer_t *f)
{
    memset(dst, 0, FOOTER_SIZE);
    char *p = dst;
    p = encode_varint64(p, f->metaindex.offset);
    p = encode_varint64(p, f->metaindex.size);
    p = encode_varint64(p, f->index.offset);
    p = encode_varint64(p, f->index.size);
    encode_fixed32(dst + FOOTER_HANDLES_LEN, f->version);
    encode_fixed32(dst + FOOTER_HANDLES_LEN + 4,
                   crc32c_mask(crc32c_value(dst, FOOTER_HANDLES_LEN + 4)));
    encode_fixed64(dst + FOOTER_HANDLES_LEN + 8, TABLE_MAGIC);
}

status_t footer_decode(const char *src, int verify, footer_t *f, const char *path)
{
    if (decode_fixed64(src + FOOTER_HANDLES_LEN + 8) != TABLE_MAGIC)
        return st_error(ST_CORRUPTION, "%s: bad magic number in footer: not an SST", path);
    if (verify) {
        uint32_t want = crc32c_unmask(decode_fixed32(src + FOOTER_HANDLES_LEN + 4));
        if (crc32c_value(src, FOOTER_HANDLES_LEN + 4) != want)
            return st_error(ST_CORRUPTION, "%s: footer checksum mismatch", path);
    }
    f->version = decode_fixed32(src + FOOTER_HANDLES_LEN);
    if (f->version != TABLE_FORMAT_VERSION)
        return st_error(ST_CORRUPTION, "%s: unsupported table format version %u", path,
                        (unsigned)f->version);
    slice_t in = slice_make(src, FOOTER_HANDLES_LEN);
    if (block_handle_decode(&in, &f->metaindex) < 0 || block_handle_decode(&in, &f->index) < 0)
        return st_error(ST_CORRUPTION, "%s: malformed block handles in footer", path);
    return NULL;
}

uint32_t block_crc(const char *data, size_t n, char type)
{
    uint32_t c = crc32c_value(data, n);
    c = crc32c_extend(c, &type, 1);
    return crc32c_mask(c);
}

int block_compress_zlib(slice_t raw, buf_t *out)
{
    buf_clear(out);
    if (raw.size > BLOCK_MAX_SIZE)
        return 0;
    uLongf bound = compressBound((uLong)raw.size);
    if (buf_reserve(out, 5 + (size_t)bound) < 0)
        return 0;
    char *p = encode_varint32(out->data, (uint32_t)raw.size);
    size_t hdr = (size_t)(p - out->data);
    uLongf dlen = bound;
    /* Level 1: flush and compaction throughput matters more than the last few percent. */
    if (compress2((Bytef *)p, &dlen, (const Bytef *)raw.data, (uLong)raw.size, 1) != Z_OK)
        return 0;
    out->len = hdr + (size_t)dlen;
    return out->len < raw.size - raw.size / 8;
}

static status_t zlib_inflate(const char *path, uint64_t off, const char *src, size_t n,
                             block_contents_t *out)
{
    uint32_t ulen;
    const char *p = decode_varint32(src, src + n, &ulen);
    if (!p)
        return st_error(ST_CORRUPTION, "%s: block at offset %llu: bad zlib length header", path,
                        (unsigned long long)off);
    size_t clen = n - (size_t)(p - src);
    /* deflate cannot expand data by more than ~1032:1 */
    if (ulen > BLOCK_MAX_SIZE || (uint64_t)ulen > (uint64_t)clen * 1100 + 64)
        return st_error(ST_CORRUPTION, "%s: block at offset %llu: implausible uncompressed "
                        "length %u", path, (unsigned long long)off, (unsigned)ulen);
    char *d = malloc(ulen ? ulen : 1);
    if (!d)
        return st_io(ENOMEM, "%s: block at offset %llu", path, (unsigned long long)off);
    uLongf dlen = ulen;
    int zr = uncompress((Bytef *)d, &dlen, (const Bytef *)p, (uLong)clen);
    if (zr != Z_OK || dlen != ulen) {
        free(d);
        return st_error(ST_CORRUPTION, "%s: block at offset %llu: zlib data is damaged (%d)",
                        path, (unsigned long long)off, zr);
    }
    out->data = d;
    out->size = ulen;
    return NULL;
}

status_t block_handle_check(const char *path, uint64_t file_size, block_handle_t h)
{
    if (h.size > BLOCK_MAX_SIZE || h.offset > file_size ||
        file_size - h.offset < h.size + BLOCK_TRAILER_SIZE)
        return st_error(ST_CORRUPTION, "%s: block handle (offset %llu, size %llu) lies outside "
                        "the file (%llu bytes)", path, (unsigned long long)h.offset,
                        (unsigned long long)h.size, (unsigned long long)file_size);
    return NULL;
}

status_t block_decode(const char *path, block_handle_t h, const char *raw, int verify,
                      block_contents_t *out, int *borrowed)
{
    size_t n = (size_t)h.size;
    out->data = NULL;
    out->size = 0;
    *borrowed = 0;
    char type = raw[n];
    if (verify && decode_fixed32(raw + n + 1) != block_crc(raw, n, type))
        return st_error(ST_CORRUPTION, "%s: block checksum mismatch at offset %llu (size %llu)",
                        path, (unsigned long long)h.offset, (unsigned long long)h.size);
    switch (type) {
    case BLOCK_TYPE_NONE:
        out->data = (char *)raw;
        out->size = n;
        *borrowed = 1;
        return NULL;
    case BLOCK_TYPE_ZLIB:
        return zlib_inflate(path, h.offset, raw, n, out);
    default:
        return st_error(ST_CORRUPTION, "%s: block at offset %llu: unknown compression type %d",
                        path, (unsigned long long)h.offset, (unsigned char)type);
    }
}

status_t block_read(rfile_t *f, uint64_t file_size, block_handle_t h, int verify,
                    block_contents_t *out)
{
    const char *path = rfile_path(f);
    out->data = NULL;
    out->size = 0;
    ST_RETURN_IF_ERR(block_handle_check(path, file_size, h));
    size_t n = (size_t)h.size;
    char *buf = malloc(n + BLOCK_TRAILER_SIZE);
    if (!buf)
        return st_io(ENOMEM, "%s: block at offset %llu", path, (unsigned long long)h.offset);
    status_t s = rfile_read(f, h.offset, n + BLOCK_TRAILER_SIZE, buf);
    int borrowed = 0;
    if (!s)
        s = block_decode(path, h, buf, verify, out, &borrowed);
    if (s || !borrowed)
        free(buf);
    return s;
}
