/*
 * version_edit.h - file metadata and version edits: the records of the MANIFEST.
 *
 * A file_meta_t describes one SST: its number, size, key range (owned copies of the
 * smallest and largest internal keys, which must cover the file's range tombstones too),
 * sequence range and entry counts. Metas are shared by every version and edit that lists
 * the file, and reference counted (atomics), so they may be released from any thread.
 * `being_compacted` is guarded by the DB mutex.
 *
 * A version_edit_t is one change to the set of live files plus the counters that go with
 * it. Encoded, it is a list of tagged fields closed by a zero tag:
 *
 *     field   = varint32 tag, then the tag's body
 *     1 log_number        varint64        WALs numbered below it are obsolete
 *     2 next_file_number  varint64
 *     3 last_sequence     varint64
 *     4 format_version    varint32        first record of every MANIFEST (a snapshot)
 *     5 compact_pointer   varint32 level, length-prefixed internal key
 *     6 deleted_file      varint32 level, varint64 number
 *     7 new_file          varint32 level, varint64 number, varint64 size,
 *                         length-prefixed smallest, length-prefixed largest,
 *                         varint64 smallest_seq, largest_seq, num_entries, num_range_dels
 *     8 snapshot          length-prefixed name (1..VE_MAX_SNAPSHOT_NAME bytes, no NUL),
 *                         varint64 sequence: a persistent snapshot (lsm.h) now exists
 *     9 snapshot_deleted  length-prefixed name: that persistent snapshot is gone
 *    10 file_deletions    varint64 number, varint64 count: point deletions in a file added
 *                         by an earlier tag 7 of the same record (optional; picks
 *                         deletion-triggered compactions)
 *     0 end               (the last byte; nothing may follow it)
 *
 * The end tag makes every truncation of a record detectable on its own. A tag this build
 * does not know (in a record whose checksum held, so written on purpose by a newer engine)
 * is NotSupported: the store is refused with that reason, and fsck does not "repair" it.
 * Decoding rejects anything malformed with a Corruption status (a scalar field given twice, a
 * level >= VE_MAX_LEVELS, an invalid internal key, smallest > largest, truncation,
 * trailing bytes); it never reads out of bounds.
 */
#ifndef LSM_DB_VERSION_EDIT_H
#define LSM_DB_VERSION_EDIT_H

#include <stdatomic.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/slice.h"
#include "util/status.h"

/* Most levels a store may have (options.num_levels is clamped to this). */
#define VE_MAX_LEVELS 8
/* Longest persistent snapshot name, in bytes. */
#define VE_MAX_SNAPSHOT_NAME 255

typedef struct file_meta {
    uint64_t number;
    uint64_t size;
    slice_t smallest;        /* internal keys; bytes owned by the meta */
    slice_t largest;
    uint64_t smallest_seq;
    uint64_t largest_seq;
    uint64_t num_entries;    /* point entries */
    uint64_t num_range_dels; /* range tombstones */
    uint64_t num_deletions;  /* point deletions among num_entries (tag 10; 0 = unknown) */
    _Atomic int refs;
    int being_compacted;     /* guarded by the DB mutex */
} file_meta_t;

/* A new meta with one reference, copying the keys. NULL when out of memory. */
file_meta_t *file_meta_new(uint64_t number, uint64_t size, slice_t smallest, slice_t largest,
                           uint64_t smallest_seq, uint64_t largest_seq, uint64_t num_entries,
                           uint64_t num_range_dels);
void file_meta_ref(file_meta_t *f);
void file_meta_unref(file_meta_t *f);

typedef struct {
    int level;
    file_meta_t *meta;       /* one reference held by the edit */
} ve_new_file_t;

typedef struct {
    int level;
    uint64_t number;
} ve_deleted_file_t;

typedef struct {
    int level;
    buf_t key;               /* internal key */
} ve_compact_pointer_t;

typedef struct {
    int deleted;             /* 0: tag 8 (add name at seq), 1: tag 9 (delete name) */
    uint64_t seq;
    char name[VE_MAX_SNAPSHOT_NAME + 1];
} ve_snapshot_t;

typedef struct version_edit {
    int has_log_number, has_next_file_number, has_last_sequence, has_format_version;
    uint64_t log_number;
    uint64_t next_file_number;
    uint64_t last_sequence;
    uint32_t format_version;

    ve_new_file_t *new_files;
    int n_new_files, cap_new_files;
    ve_deleted_file_t *deleted_files;
    int n_deleted_files, cap_deleted_files;
    ve_compact_pointer_t *compact_pointers;
    int n_compact_pointers, cap_compact_pointers;
    ve_snapshot_t *snapshots;  /* persistent snapshot changes, applied in order */
    int n_snapshots, cap_snapshots;
    int oom;                 /* an add failed for lack of memory: encode/apply refuse */
} version_edit_t;

void version_edit_init(version_edit_t *e);
/* Releases everything the edit holds and leaves it empty (re-initialised). */
void version_edit_free(version_edit_t *e);

static inline void version_edit_set_log_number(version_edit_t *e, uint64_t n)
{
    e->has_log_number = 1;
    e->log_number = n;
}
static inline void version_edit_set_next_file_number(version_edit_t *e, uint64_t n)
{
    e->has_next_file_number = 1;
    e->next_file_number = n;
}
static inline void version_edit_set_last_sequence(version_edit_t *e, uint64_t s)
{
    e->has_last_sequence = 1;
    e->last_sequence = s;
}
static inline void version_edit_set_format_version(version_edit_t *e, uint32_t v)
{
    e->has_format_version = 1;
    e->format_version = v;
}

/* Adds file f at level (takes a new reference to f). */
void version_edit_add_file(version_edit_t *e, int level, file_meta_t *f);
/* Convenience: builds the meta (copying the keys) and adds it. */
void version_edit_add_new_file(version_edit_t *e, int level, uint64_t number, uint64_t size,
                               slice_t smallest, slice_t largest, uint64_t smallest_seq,
                               uint64_t largest_seq, uint64_t num_entries,
                               uint64_t num_range_dels);
void version_edit_delete_file(version_edit_t *e, int level, uint64_t number);
void version_edit_set_compact_pointer(version_edit_t *e, int level, slice_t ikey);
/* Records that persistent snapshot `name` (1..VE_MAX_SNAPSHOT_NAME bytes) now exists at seq,
 * or (deleted = 1) is gone. A bad name sets oom-like failure: the edit refuses to encode. */
void version_edit_snapshot(version_edit_t *e, const char *name, size_t len, uint64_t seq,
                           int deleted);

/* Appends the encoding to dst (dst->oom is set on allocation failure). */
void version_edit_encode(const version_edit_t *e, buf_t *dst);
/* Decodes src into e (which must be freshly initialised; on error it is left empty).
 * Returns NULL or a Corruption status whose message says what is wrong (the caller adds
 * the file name and offset). */
status_t version_edit_decode(version_edit_t *e, slice_t src);

#endif
