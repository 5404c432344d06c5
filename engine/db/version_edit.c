/*
 * version_edit.c - file metas and the encoding of version edits (see version_edit.h).
 *
 * A meta and its two keys are one allocation, so a meta is either fully built or absent.
 * The decoder consumes its input strictly front to back through the bounded helpers of
 * util/coding.h; each field is checked before it is stored, and on any error everything
 * decoded so far is released and the edit is left empty.
 */
#include "util/vec.h"
#include "db/version_edit.h"

#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "util/coding.h"

enum {
    TAG_END = 0,
    TAG_LOG_NUMBER = 1,
    TAG_NEXT_FILE_NUMBER = 2,
    TAG_LAST_SEQUENCE = 3,
    TAG_FORMAT_VERSION = 4,
    TAG_COMPACT_POINTER = 5,
    TAG_DELETED_FILE = 6,
    TAG_NEW_FILE = 7,
    TAG_SNAPSHOT = 8,
    TAG_SNAPSHOT_DELETED = 9,
    TAG_FILE_DELETIONS = 10,
};

file_meta_t *file_meta_new(uint64_t number, uint64_t size, slice_t smallest, slice_t largest,
                           uint64_t smallest_seq, uint64_t largest_seq, uint64_t num_entries,
                           uint64_t num_range_dels)
{
    file_meta_t *f = malloc(sizeof(*f) + smallest.size + largest.size + 1);
    if (!f)
        return NULL;
    char *keys = (char *)(f + 1);
    if (smallest.size)
        memcpy(keys, smallest.data, smallest.size);
    if (largest.size)
        memcpy(keys + smallest.size, largest.data, largest.size);
    f->number = number;
    f->size = size;
    f->smallest = slice_make(keys, smallest.size);
    f->largest = slice_make(keys + smallest.size, largest.size);
    f->smallest_seq = smallest_seq;
    f->largest_seq = largest_seq;
    f->num_entries = num_entries;
    f->num_range_dels = num_range_dels;
    f->num_deletions = 0;
    atomic_init(&f->refs, 1);
    f->being_compacted = 0;
    return f;
}

void file_meta_ref(file_meta_t *f)
{
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}

void file_meta_unref(file_meta_t *f)
{
    if (f && atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1)
        free(f);
}

void version_edit_init(version_edit_t *e)
{
    memset(e, 0, sizeof(*e));
}

void version_edit_free(version_edit_t *e)
{
    for (int i = 0; i < e->n_new_files; i++)
        file_meta_unref(e->new_files[i].meta);
    for (int i = 0; i < e->n_compact_pointers; i++)
        buf_free(&e->compact_pointers[i].key);
    free(e->new_files);
    free(e->deleted_files);
    free(e->compact_pointers);
    free(e->snapshots);
    version_edit_init(e);
}

/* Makes room for one more element in a growable array; 0 or -1. */
static int grow(void *arr, int n, int *cap, size_t elem) { return vec_grow(arr, elem, n, cap, 4); }

void version_edit_add_file(version_edit_t *e, int level, file_meta_t *f)
{
    if (grow(&e->new_files, e->n_new_files, &e->cap_new_files, sizeof(ve_new_file_t))) {
        e->oom = 1;
        return;
    }
    file_meta_ref(f);
    e->new_files[e->n_new_files].level = level;
    e->new_files[e->n_new_files].meta = f;
    e->n_new_files++;
}

void version_edit_add_new_file(version_edit_t *e, int level, uint64_t number, uint64_t size,
                               slice_t smallest, slice_t largest, uint64_t smallest_seq,
                               uint64_t largest_seq, uint64_t num_entries,
                               uint64_t num_range_dels)
{
    file_meta_t *f = file_meta_new(number, size, smallest, largest, smallest_seq, largest_seq,
                                   num_entries, num_range_dels);
    if (!f) {
        e->oom = 1;
        return;
    }
    version_edit_add_file(e, level, f);
    file_meta_unref(f);
}

void version_edit_delete_file(version_edit_t *e, int level, uint64_t number)
{
    if (grow(&e->deleted_files, e->n_deleted_files, &e->cap_deleted_files,
             sizeof(ve_deleted_file_t))) {
        e->oom = 1;
        return;
    }
    e->deleted_files[e->n_deleted_files].level = level;
    e->deleted_files[e->n_deleted_files].number = number;
    e->n_deleted_files++;
}

void version_edit_set_compact_pointer(version_edit_t *e, int level, slice_t ikey)
{
    for (int i = 0; i < e->n_compact_pointers; i++) {
        if (e->compact_pointers[i].level == level) {
            buf_clear(&e->compact_pointers[i].key);
            buf_append(&e->compact_pointers[i].key, ikey.data, ikey.size);
            e->oom |= e->compact_pointers[i].key.oom;
            return;
        }
    }
    if (grow(&e->compact_pointers, e->n_compact_pointers, &e->cap_compact_pointers,
             sizeof(ve_compact_pointer_t))) {
        e->oom = 1;
        return;
    }
    ve_compact_pointer_t *cp = &e->compact_pointers[e->n_compact_pointers++];
    cp->level = level;
    buf_init(&cp->key);
    buf_append(&cp->key, ikey.data, ikey.size);
    e->oom |= cp->key.oom;
}

void version_edit_snapshot(version_edit_t *e, const char *name, size_t len, uint64_t seq,
                           int deleted)
{
    if (len == 0 || len > VE_MAX_SNAPSHOT_NAME || memchr(name, 0, len) ||
        grow(&e->snapshots, e->n_snapshots, &e->cap_snapshots, sizeof(ve_snapshot_t))) {
        e->oom = 1;
        return;
    }
    ve_snapshot_t *p = &e->snapshots[e->n_snapshots++];
    p->deleted = deleted;
    p->seq = deleted ? 0 : seq;
    memcpy(p->name, name, len);
    p->name[len] = 0;
}

void version_edit_encode(const version_edit_t *e, buf_t *dst)
{
    if (e->has_format_version) {
        buf_put_varint32(dst, TAG_FORMAT_VERSION);
        buf_put_varint32(dst, e->format_version);
    }
    if (e->has_log_number) {
        buf_put_varint32(dst, TAG_LOG_NUMBER);
        buf_put_varint64(dst, e->log_number);
    }
    if (e->has_next_file_number) {
        buf_put_varint32(dst, TAG_NEXT_FILE_NUMBER);
        buf_put_varint64(dst, e->next_file_number);
    }
    if (e->has_last_sequence) {
        buf_put_varint32(dst, TAG_LAST_SEQUENCE);
        buf_put_varint64(dst, e->last_sequence);
    }
    for (int i = 0; i < e->n_compact_pointers; i++) {
        buf_put_varint32(dst, TAG_COMPACT_POINTER);
        buf_put_varint32(dst, (uint32_t)e->compact_pointers[i].level);
        buf_put_length_prefixed(dst, buf_slice(&e->compact_pointers[i].key));
    }
    for (int i = 0; i < e->n_deleted_files; i++) {
        buf_put_varint32(dst, TAG_DELETED_FILE);
        buf_put_varint32(dst, (uint32_t)e->deleted_files[i].level);
        buf_put_varint64(dst, e->deleted_files[i].number);
    }
    for (int i = 0; i < e->n_new_files; i++) {
        const file_meta_t *f = e->new_files[i].meta;
        buf_put_varint32(dst, TAG_NEW_FILE);
        buf_put_varint32(dst, (uint32_t)e->new_files[i].level);
        buf_put_varint64(dst, f->number);
        buf_put_varint64(dst, f->size);
        buf_put_length_prefixed(dst, f->smallest);
        buf_put_length_prefixed(dst, f->largest);
        buf_put_varint64(dst, f->smallest_seq);
        buf_put_varint64(dst, f->largest_seq);
        buf_put_varint64(dst, f->num_entries);
        buf_put_varint64(dst, f->num_range_dels);
        if (f->num_deletions) {
            buf_put_varint32(dst, TAG_FILE_DELETIONS);
            buf_put_varint64(dst, f->number);
            buf_put_varint64(dst, f->num_deletions);
        }
    }
    for (int i = 0; i < e->n_snapshots; i++) {
        const ve_snapshot_t *p = &e->snapshots[i];
        buf_put_varint32(dst, p->deleted ? TAG_SNAPSHOT_DELETED : TAG_SNAPSHOT);
        buf_put_length_prefixed(dst, slice_make(p->name, strlen(p->name)));
        if (!p->deleted)
            buf_put_varint64(dst, p->seq);
    }
    buf_put_varint32(dst, TAG_END);
    if (e->oom)
        dst->oom = 1;
}

static status_t bad(const char *what, size_t off)
{
    return st_error(ST_CORRUPTION, "bad version edit: %s at byte %zu", what, off);
}

static int get_level(slice_t *in, int *level)
{
    uint32_t v;
    if (get_varint32(in, &v) != 0 || v >= VE_MAX_LEVELS)
        return -1;
    *level = (int)v;
    return 0;
}

static status_t decode_new_file(version_edit_t *e, slice_t *in, size_t off)
{
    int level;
    uint64_t number, size, sseq, lseq, nent, nrd;
    slice_t smallest, largest;
    if (get_level(in, &level) != 0)
        return bad("new file: bad level", off);
    if (get_varint64(in, &number) != 0 || get_varint64(in, &size) != 0)
        return bad("new file: truncated number or size", off);
    if (get_length_prefixed(in, &smallest) != 0 || get_length_prefixed(in, &largest) != 0)
        return bad("new file: truncated key", off);
    if (!ikey_valid(smallest) || !ikey_valid(largest))
        return bad("new file: invalid internal key", off);
    if (ikey_compare(smallest, largest) > 0)
        return bad("new file: smallest key after largest", off);
    if (get_varint64(in, &sseq) != 0 || get_varint64(in, &lseq) != 0 ||
        get_varint64(in, &nent) != 0 || get_varint64(in, &nrd) != 0)
        return bad("new file: truncated counters", off);
    if (sseq > lseq)
        return bad("new file: smallest sequence above largest", off);
    version_edit_add_new_file(e, level, number, size, smallest, largest, sseq, lseq, nent, nrd);
    if (e->oom)
        return st_error(ST_IO_ERROR, "out of memory decoding a version edit");
    return NULL;
}

static status_t decode_field(version_edit_t *e, uint32_t tag, slice_t *in, size_t off)
{
    uint64_t v64;
    uint32_t v32;
    int level;
    slice_t key;
    switch (tag) {
    case TAG_LOG_NUMBER:
    case TAG_NEXT_FILE_NUMBER:
    case TAG_LAST_SEQUENCE: {
        int *has = tag == TAG_LOG_NUMBER ? &e->has_log_number
                 : tag == TAG_NEXT_FILE_NUMBER ? &e->has_next_file_number
                 : &e->has_last_sequence;
        uint64_t *dst = tag == TAG_LOG_NUMBER ? &e->log_number
                      : tag == TAG_NEXT_FILE_NUMBER ? &e->next_file_number
                      : &e->last_sequence;
        if (*has)
            return bad("field given twice", off);
        if (get_varint64(in, &v64) != 0)
            return bad("truncated number", off);
        if (tag == TAG_LAST_SEQUENCE && v64 > MAX_SEQUENCE)
            return bad("sequence out of range", off);
        *has = 1;
        *dst = v64;
        return NULL;
    }
    case TAG_FORMAT_VERSION:
        if (e->has_format_version)
            return bad("field given twice", off);
        if (get_varint32(in, &v32) != 0)
            return bad("truncated format version", off);
        version_edit_set_format_version(e, v32);
        return NULL;
    case TAG_COMPACT_POINTER:
        if (get_level(in, &level) != 0)
            return bad("compact pointer: bad level", off);
        if (get_length_prefixed(in, &key) != 0)
            return bad("compact pointer: truncated key", off);
        if (!ikey_valid(key))
            return bad("compact pointer: invalid internal key", off);
        version_edit_set_compact_pointer(e, level, key);
        if (e->oom)
            return st_error(ST_IO_ERROR, "out of memory decoding a version edit");
        return NULL;
    case TAG_DELETED_FILE:
        if (get_level(in, &level) != 0)
            return bad("deleted file: bad level", off);
        if (get_varint64(in, &v64) != 0)
            return bad("deleted file: truncated number", off);
        version_edit_delete_file(e, level, v64);
        if (e->oom)
            return st_error(ST_IO_ERROR, "out of memory decoding a version edit");
        return NULL;
    case TAG_NEW_FILE:
        return decode_new_file(e, in, off);
    case TAG_FILE_DELETIONS: {
        uint64_t count;
        if (get_varint64(in, &v64) != 0 || get_varint64(in, &count) != 0)
            return bad("file deletions: truncated", off);
        for (int i = e->n_new_files - 1; i >= 0; i--) {
            file_meta_t *f = e->new_files[i].meta;
            if (f->number == v64) {
                if (count > f->num_entries)
                    return bad("file deletions: more than the file's entries", off);
                f->num_deletions = count;
                return NULL;
            }
        }
        return bad("file deletions: no such new file before it", off);
    }
    case TAG_SNAPSHOT:
    case TAG_SNAPSHOT_DELETED:
        if (get_length_prefixed(in, &key) != 0)
            return bad("snapshot: truncated name", off);
        if (key.size == 0 || key.size > VE_MAX_SNAPSHOT_NAME || memchr(key.data, 0, key.size))
            return bad("snapshot: invalid name", off);
        v64 = 0;
        if (tag == TAG_SNAPSHOT && (get_varint64(in, &v64) != 0 || v64 > MAX_SEQUENCE))
            return bad("snapshot: bad sequence", off);
        version_edit_snapshot(e, key.data, key.size, v64, tag == TAG_SNAPSHOT_DELETED);
        if (e->oom)
            return st_error(ST_IO_ERROR, "out of memory decoding a version edit");
        return NULL;
    default: /* a whole, checksummed record with a tag this build does not know */
        return st_error(ST_NOT_SUPPORTED, "MANIFEST record with unknown tag %u at byte %zu: "
                        "the store was written by a newer version of the engine", tag, off);
    }
}

status_t version_edit_decode(version_edit_t *e, slice_t src)
{
    slice_t in = src;
    version_edit_init(e);
    for (;;) {
        size_t off = src.size - in.size;
        uint32_t tag;
        if (get_varint32(&in, &tag) != 0) {
            version_edit_free(e);
            return bad("truncated (no end tag)", off);
        }
        if (tag == TAG_END) {
            if (in.size != 0) {
                version_edit_free(e);
                return bad("bytes after the end tag", src.size - in.size);
            }
            return NULL;
        }
        status_t s = decode_field(e, tag, &in, off);
        if (s) {
            version_edit_free(e);
            return s;
        }
    }
}
