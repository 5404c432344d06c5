/*
 * data.c - file data as fixed-size B rows (see data.h for the contract).
 *
 * Writes put whole blocks: a block the write covers fully is put as is, a partial one is
 * read, merged and put (a block wholly at or past EOF is known to be absent and is not
 * read). Reads of one block use a point lookup, longer reads one bounded iterator. Holes
 * are absent rows; truncation and hole punching drop whole blocks with one range deletion
 * and rewrite at most the two edge blocks. Stored blocks never hold bytes at or past EOF.
 */
#include "data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *block_get(fs_t *fs, uint64_t ino, uint64_t idx, size_t *len, int *rc)
{
    char key[FS_KEY_MAX], *err = NULL;
    size_t klen = fs_key_block(key, ino, idx);
    char *v = lsm_get(fs->db, fs->ropt, key, klen, len, &err);
    *rc = 0;
    if (err) {
        char what[96];
        snprintf(what, sizeof(what), "read data block %llu (bytes %llu..%llu)",
                 (unsigned long long)idx, (unsigned long long)(idx * fs->bsize),
                 (unsigned long long)((idx + 1) * fs->bsize - 1));
        *rc = fs_err_ino(fs, err, ino, what);
        return NULL;
    }
    if (v && fs_block_check(*len, fs->bsize) != 0) {
        fuse_log(FUSE_LOG_ERR, "lsmfs: inode %llu: data block %llu is malformed (%zu bytes)\n",
                 (unsigned long long)ino, (unsigned long long)idx, *len);
        lsm_free(v);
        *rc = -EUCLEAN;
        return NULL;
    }
    return v;
}

static void block_put(lsm_writebatch_t *b, uint64_t ino, uint64_t idx, const char *data,
                      size_t len)
{
    char key[FS_KEY_MAX];
    size_t klen = fs_key_block(key, ino, idx);
    lsm_writebatch_put(b, key, klen, data, len);
}

/* Blocks [from, to) go: one point deletion each when they are few, else one range
 * deletion (to == UINT64_MAX: every block from `from` on). Range tombstones cost later
 * reads a lookup until compaction drops them; a few point deletions cost nothing alike. */
#define DROP_POINT_MAX 64
static void block_del_range(lsm_writebatch_t *b, uint64_t ino, uint64_t from, uint64_t to)
{
    char k1[FS_KEY_MAX], k2[FS_KEY_MAX];
    if (to != UINT64_MAX && to > from && to - from <= DROP_POINT_MAX) {
        for (uint64_t i = from; i < to; i++) {
            size_t n = fs_key_block(k1, ino, i);
            lsm_writebatch_delete(b, k1, n);
        }
        return;
    }
    size_t n1 = fs_key_block(k1, ino, from);
    size_t n2 = to == UINT64_MAX ? fs_key_range_end(k2, FS_ROW_BLOCK, ino)
                                 : fs_key_block(k2, ino, to);
    lsm_writebatch_delete_range(b, k1, n1, k2, n2);
}

/* Copies the part of block idx (data, dlen) that overlaps [off, end) into buf (which maps
 * offset `off`). */
static void copy_overlap(uint32_t bs, uint64_t idx, const char *data, size_t dlen,
                         uint64_t off, uint64_t end, char *buf)
{
    uint64_t bstart = idx * bs;
    uint64_t lo = bstart > off ? bstart : off;
    uint64_t hi = bstart + dlen < end ? bstart + dlen : end;
    if (lo < hi)
        memcpy(buf + (lo - off), data + (lo - bstart), hi - lo);
}

int fs_data_read(fs_t *fs, uint64_t ino, uint64_t size, uint64_t off, size_t len, char *buf,
                 size_t *got)
{
    uint32_t bs = fs->bsize;
    *got = 0;
    if (off >= size || len == 0)
        return 0;
    uint64_t end = size - off < len ? size : off + len;
    memset(buf, 0, end - off);
    uint64_t first = off / bs, last = (end - 1) / bs;
    int rc = 0;
    if (first == last) {
        size_t dlen;
        char *v = block_get(fs, ino, first, &dlen, &rc);
        if (rc)
            return rc;
        if (v) {
            copy_overlap(bs, first, v, dlen, off, end, buf);
            lsm_free(v);
        }
    } else {
        char lo[FS_KEY_MAX], hi[FS_KEY_MAX], *err = NULL;
        size_t nlo = fs_key_block(lo, ino, first), nhi = fs_key_block(hi, ino, last + 1);
        lsm_readoptions_t *ro = lsm_readoptions_create();
        lsm_readoptions_set_iterate_upper_bound(ro, hi, nhi);
        lsm_readoptions_set_snapshot(ro, fs->snap); /* NULL: live */
        lsm_iterator_t *it = lsm_create_iterator(fs->db, ro);
        for (lsm_iter_seek(it, lo, nlo); lsm_iter_valid(it); lsm_iter_next(it)) {
            size_t klen, vlen;
            const char *k = lsm_iter_key(it, &klen);
            const char *v = lsm_iter_value(it, &vlen);
            fs_key_t pk;
            if (fs_key_parse(k, klen, &pk) != 0 || pk.type != FS_ROW_BLOCK || pk.ino != ino ||
                pk.index < first || pk.index > last || fs_block_check(vlen, bs) != 0) {
                rc = -EUCLEAN;
                break;
            }
            copy_overlap(bs, pk.index, v, vlen, off, end, buf);
        }
        lsm_iter_get_error(it, &err);
        lsm_iter_destroy(it);
        lsm_readoptions_destroy(ro);
        if (err) {
            char what[96];
            snprintf(what, sizeof(what), "read data (bytes %llu..%llu)",
                     (unsigned long long)off, (unsigned long long)(end - 1));
            return fs_err_ino(fs, err, ino, what);
        }
        if (rc)
            return rc;
    }
    *got = end - off;
    return 0;
}

static uint64_t nblocks(uint64_t size, uint32_t bs) { return (size + bs - 1) / bs; }

/* Number of stored blocks of ino with index in [from, to) (to = UINT64_MAX: to the end). */
/* Counts the stored B rows of [from, to) (to = UINT64_MAX: to the inode's last), or with
 * empty_only only the empty ones (allocated, never written). */
static int count_rows(fs_t *fs, uint64_t ino, uint64_t from, uint64_t to, int empty_only,
                      uint64_t *n)
{
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX], *err = NULL;
    size_t nlo = fs_key_block(lo, ino, from);
    size_t nhi = to == UINT64_MAX ? fs_key_range_end(hi, FS_ROW_BLOCK, ino)
                                  : fs_key_block(hi, ino, to);
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_readoptions_set_iterate_upper_bound(ro, hi, nhi);
    lsm_iterator_t *it = lsm_create_iterator(fs->db, ro);
    *n = 0;
    for (lsm_iter_seek(it, lo, nlo); lsm_iter_valid(it); lsm_iter_next(it)) {
        size_t vlen = 0;
        if (empty_only)
            lsm_iter_value(it, &vlen);
        *n += vlen == 0;
    }
    lsm_iter_get_error(it, &err);
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
    return err ? fs_err_ino(fs, err, ino, "count data blocks") : 0;
}

static int count_blocks(fs_t *fs, uint64_t ino, uint64_t from, uint64_t to, uint64_t *n)
{
    return count_rows(fs, ino, from, to, 0, n);
}

int fs_data_count_unwritten(fs_t *fs, uint64_t ino, uint64_t from, uint64_t to, uint64_t *n)
{
    *n = 0;
    return from < to ? count_rows(fs, ino, from, to, 1, n) : 0;
}

static void dec(uint64_t *blocks, uint64_t n) { *blocks = *blocks > n ? *blocks - n : 0; }

int fs_data_write(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, uint64_t size,
                  uint64_t *blocks, uint64_t off, const char *buf, size_t len)
{
    FS_ASSERT_ILOCKED(fs->itab, ino);
    uint32_t bs = fs->bsize;
    if (len == 0)
        return 0;
    const int dense = *blocks >= nblocks(size, bs);
    uint64_t end = off + len;
    char *tmp = NULL;
    int rc = 0;
    for (uint64_t idx = off / bs; idx <= (end - 1) / bs; idx++) {
        uint64_t bstart = idx * bs;
        size_t lo = off > bstart ? off - bstart : 0;
        size_t hi = end < bstart + bs ? end - bstart : bs;
        const char *src = buf + (bstart + lo - off);
        if (lo == 0 && hi == bs) {
            if (bstart >= size) {
                (*blocks)++;  /* past EOF: known absent */
            } else if (!dense) {
                size_t olen;
                char *old = block_get(fs, ino, idx, &olen, &rc);
                if (rc)
                    break;
                if (old)
                    lsm_free(old);
                else
                    (*blocks)++;
            }
            block_put(b, ino, idx, src, bs);
            continue;
        }
        if (!tmp && !(tmp = malloc(bs)))
            return -ENOMEM;
        size_t oldlen = 0;
        char *old = NULL;
        if (bstart < size) {
            old = block_get(fs, ino, idx, &oldlen, &rc);
            if (rc)
                break;
        }
        if (old) {
            memcpy(tmp, old, oldlen);
            lsm_free(old);
        } else {
            oldlen = 0;
            (*blocks)++;
        }
        if (lo > oldlen)
            memset(tmp + oldlen, 0, lo - oldlen);
        memcpy(tmp + lo, src, hi - lo);
        block_put(b, ino, idx, tmp, hi > oldlen ? hi : oldlen);
    }
    free(tmp);
    return rc;
}

/* Zeroes bytes [lo, hi) of block idx (if the block exists); a block left without bytes
 * is deleted. */
static int zero_in_block(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, uint64_t idx, size_t lo,
                         size_t hi, uint64_t *blocks)
{
    int rc;
    size_t len;
    char *v = block_get(fs, ino, idx, &len, &rc);
    if (rc || !v)
        return rc;
    if (lo < len) {
        if (hi >= len && lo == 0) {
            block_del_range(b, ino, idx, idx + 1);
            dec(blocks, 1);
        } else if (hi >= len) {
            block_put(b, ino, idx, v, lo);  /* the tail is gone: keep the prefix */
        } else {
            memset(v + lo, 0, hi - lo);
            block_put(b, ino, idx, v, len);
        }
    }
    lsm_free(v);
    return 0;
}

void fs_data_drop_all(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, uint64_t size)
{
    block_del_range(b, ino, 0, size == UINT64_MAX ? UINT64_MAX : nblocks(size, fs->bsize));
}

int fs_data_truncate(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, uint64_t old_size,
                     uint64_t *blocks, uint64_t new_size)
{
    FS_ASSERT_ILOCKED(fs->itab, ino);
    uint32_t bs = fs->bsize;
    if (new_size >= old_size)
        return 0;
    uint64_t keep = nblocks(new_size, bs);  /* blocks [0, keep) may stay */
    uint64_t gone;
    if (*blocks >= nblocks(old_size, bs)) {
        gone = nblocks(old_size, bs) - keep;
    } else {
        int rc = count_blocks(fs, ino, keep, UINT64_MAX, &gone);
        if (rc)
            return rc;
    }
    block_del_range(b, ino, keep, nblocks(old_size, bs)); /* no block lies past the size */
    dec(blocks, gone);
    if (new_size % bs)
        return zero_in_block(fs, b, ino, new_size / bs, new_size % bs, bs, blocks);
    return 0;
}

int fs_data_punch(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, uint64_t size,
                  uint64_t *blocks, uint64_t off, uint64_t len)
{
    FS_ASSERT_ILOCKED(fs->itab, ino);
    uint32_t bs = fs->bsize;
    if (off >= size || len == 0)
        return 0;
    const int dense = *blocks >= nblocks(size, bs);
    uint64_t end = size - off < len ? size : off + len;
    uint64_t h = off / bs, t = (end - 1) / bs;
    int rc;
    if (h == t)
        return zero_in_block(fs, b, ino, h, off - h * bs, end - h * bs, blocks);
    uint64_t fb = h, lb = t + 1;
    if (off % bs) {
        if ((rc = zero_in_block(fs, b, ino, h, off % bs, bs, blocks)))
            return rc;
        fb = h + 1;
    }
    if (end % bs && end != size) {
        if ((rc = zero_in_block(fs, b, ino, t, 0, end % bs, blocks)))
            return rc;
        lb = t;
    }
    if (fb < lb) {
        uint64_t gone = lb - fb;
        if (!dense && (rc = count_blocks(fs, ino, fb, lb, &gone)) != 0)
            return rc;
        block_del_range(b, ino, fb, lb);
        dec(blocks, gone);
    }
    return 0;
}

int fs_data_count_absent(fs_t *fs, uint64_t ino, uint64_t from, uint64_t to, uint64_t *n)
{
    uint64_t stored = 0;
    int rc = from < to ? count_blocks(fs, ino, from, to, &stored) : 0;
    *n = from < to ? (to - from) - stored : 0;
    return rc;
}

int fs_data_allocate(fs_t *fs, lsm_writebatch_t *b, uint64_t ino, uint64_t *blocks,
                     uint64_t *from, uint64_t to, uint64_t max)
{
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX], *err = NULL;
    uint64_t idx = *from, staged = 0;
    if (idx >= to)
        return 0;
    size_t nlo = fs_key_block(lo, ino, idx), nhi = fs_key_block(hi, ino, to);
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_readoptions_set_iterate_upper_bound(ro, hi, nhi);
    lsm_iterator_t *it = lsm_create_iterator(fs->db, ro);
    int rc = 0;
    lsm_iter_seek(it, lo, nlo);
    while (idx < to && staged < max) {
        uint64_t next = to;  /* the next stored block, or the end */
        if (lsm_iter_valid(it)) {
            size_t klen;
            const char *k = lsm_iter_key(it, &klen);
            fs_key_t pk;
            if (fs_key_parse(k, klen, &pk) != 0 || pk.type != FS_ROW_BLOCK || pk.ino != ino ||
                pk.index < idx) {
                rc = -EUCLEAN;
                break;
            }
            next = pk.index;
        }
        for (; idx < next && staged < max; idx++, staged++)
            block_put(b, ino, idx, "", 0);
        if (idx == next && next < to) {
            idx++;  /* stored already: its bytes stay */
            lsm_iter_next(it);
        }
    }
    lsm_iter_get_error(it, &err);
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
    if (err)
        return fs_err_ino(fs, err, ino, "allocate data blocks");
    *from = idx;
    *blocks += staged;
    return rc;
}

int fs_data_seek(fs_t *fs, uint64_t ino, uint64_t size, uint64_t off, int whence,
                 uint64_t *out)
{
    uint32_t bs = fs->bsize;
    if (off >= size)
        return -ENXIO;
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX], *err = NULL;
    uint64_t idx = off / bs, last = (size - 1) / bs;
    size_t nlo = fs_key_block(lo, ino, idx), nhi = fs_key_block(hi, ino, last + 1);
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_readoptions_set_iterate_upper_bound(ro, hi, nhi);
    lsm_readoptions_set_snapshot(ro, fs->snap); /* NULL: live */
    lsm_iterator_t *it = lsm_create_iterator(fs->db, ro);
    lsm_iter_seek(it, lo, nlo);
    int rc = 0;
    uint64_t expect = idx;
    for (; lsm_iter_valid(it); lsm_iter_next(it)) {
        size_t klen;
        const char *k = lsm_iter_key(it, &klen);
        fs_key_t pk;
        if (fs_key_parse(k, klen, &pk) != 0 || pk.type != FS_ROW_BLOCK || pk.ino != ino) {
            rc = -EUCLEAN;
            break;
        }
        size_t vlen;
        lsm_iter_value(it, &vlen);
        /* An empty row is a block fallocate allocated and nothing wrote yet: a hole for
         * SEEK_DATA/SEEK_HOLE, as ext4 reports an unwritten extent. */
        if (whence == SEEK_DATA) {
            if (vlen == 0)
                continue;
            expect = pk.index;
            break;
        }
        if (pk.index != expect || vlen == 0)
            break;  /* a gap: the hole starts at `expect` */
        expect++;
    }
    int found = lsm_iter_valid(it);
    lsm_iter_get_error(it, &err);
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
    if (err)
        return fs_err_ino(fs, err, ino, "seek in data");
    if (rc)
        return rc;
    if (whence == SEEK_DATA) {
        if (!found)
            return -ENXIO;
        uint64_t start = expect * bs;
        *out = start > off ? start : off;
        return 0;
    }
    uint64_t hole = expect * bs;
    if (hole > size)
        hole = size;
    *out = hole > off ? hole : off;
    return 0;
}

#ifdef LSM_TESTING
void fs_data_assert_counts(fs_t *fs, uint64_t ino, const fs_inode_t *in)
{
    FS_ASSERT_ILOCKED(fs->itab, ino);
    if (!S_ISREG(in->mode) || in->blocks > FS_DATA_CHECK_MAX_ROWS)
        return;
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX], *err = NULL;
    size_t nlo = fs_key_block(lo, ino, 0), nhi = fs_key_range_end(hi, FS_ROW_BLOCK, ino);
    uint64_t eof_blocks = nblocks(in->size, fs->bsize), rows = 0, empty = 0, past = 0;
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_readoptions_set_iterate_upper_bound(ro, hi, nhi);
    lsm_iterator_t *it = lsm_create_iterator(fs->db, ro);
    for (lsm_iter_seek(it, lo, nlo); lsm_iter_valid(it); lsm_iter_next(it)) {
        size_t klen, vlen;
        const char *k = lsm_iter_key(it, &klen);
        lsm_iter_value(it, &vlen);
        fs_key_t pk;
        rows++;
        empty += vlen == 0;
        past += fs_key_parse(k, klen, &pk) == 0 && pk.index >= eof_blocks;
    }
    lsm_iter_get_error(it, &err);
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
    if (err) {  /* a read error is reported where it matters, not here */
        lsm_free(err);
        return;
    }
    if (rows != in->blocks || empty != in->unwritten || past != 0)
        fuse_log(FUSE_LOG_ERR, "lsmfs: inode %llu (size %llu): counts %llu block(s), %llu "
                 "unwritten; rows: %llu, %llu empty, %llu past EOF\n",
                 (unsigned long long)ino, (unsigned long long)in->size,
                 (unsigned long long)in->blocks, (unsigned long long)in->unwritten,
                 (unsigned long long)rows, (unsigned long long)empty,
                 (unsigned long long)past);
    FS_ASSERT(rows == in->blocks && empty == in->unwritten && past == 0);
}
#endif
