/*
 * version_set.h - the set of live SST files per level (versions), the MANIFEST that
 * records it, and the choice of what to compact next.
 *
 * A version_t is an immutable snapshot of the tree: per level an array of file_meta_t*.
 * L0 is kept newest first (largest_seq descending, ties by file number descending); files
 * may overlap there. Levels >= 1 are sorted by smallest key and disjoint: each file's
 * largest internal key sorts before the next file's smallest (ikey_compare). Two adjacent
 * files may share a user key only at the boundary (a tombstone end sentinel, or a compaction
 * output cut between versions of one key; the picker then takes both, see below). Applying
 * an edit that breaks this is a Corruption naming both file numbers.
 *
 * Versions are reference counted (atomics); version_unref may run on any thread. Every
 * version with a reference is "live" and every file in a live version must stay on disk
 * (vset_add_live_files).
 *
 * version_set_t owns the current version, the counters (next file number, last sequence,
 * log number) and the MANIFEST writer.
 *
 * Locking: the DB has one mutex (`mu` below). These must be called with it held:
 * vset_log_and_apply, vset_pick_compaction, vset_compact_range, compaction_free,
 * vset_needs_compaction, vset_level_score, and anything that reads or writes a file's
 * being_compacted flag. Callable from any thread without it: vset_current (takes the
 * set's own small lock), version_ref/unref, vset_new_file_number,
 * vset_mark_file_number_used, vset_last_sequence / set_last_sequence, vset_log_number,
 * vset_manifest_file_number, vset_add_live_files, and everything reading a version the
 * caller holds a reference to.
 *
 * MANIFEST life cycle:
 *  - vset_create makes MANIFEST-000001 (one snapshot record: format version, log number 0,
 *    next file number 2, last sequence 0) and CURRENT, and returns an open set appending to
 *    that MANIFEST.
 *  - vset_recover replays the MANIFEST named by CURRENT but never appends to it (its tail
 *    may be torn): the NEW MANIFEST (snapshot record + CURRENT switch) is written by the
 *    first vset_log_and_apply after recovery. The lead should call log_and_apply once at
 *    the end of open (e.g. with the new log number), as LevelDB does. A read-only set
 *    (options.read_only) never writes anything; log_and_apply on it is Not supported.
 *  - The writer rolls to a new MANIFEST (snapshot of the current version, then the edit)
 *    when the current one exceeds options.max_manifest_file_size, and also after any write
 *    error (never appending to a file whose tail is unknown).
 *  - Obsolete MANIFESTs: delete MANIFEST-N only when N < vset_manifest_file_number(vs),
 *    which is the one CURRENT names. A MANIFEST being written has a larger number.
 */
#ifndef LSM_DB_VERSION_SET_H
#define LSM_DB_VERSION_SET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "db/version_edit.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/mutex.h"
#include "util/slice.h"
#include "util/status.h"

typedef struct version_set version_set_t;

typedef struct vset_options {
    int num_levels;                          /* 2..VE_MAX_LEVELS (7) */
    int level0_file_num_compaction_trigger;  /* 4 */
    uint64_t max_bytes_for_level_base;       /* L1 target bytes (256 MiB) */
    double max_bytes_for_level_multiplier;   /* 10 */
    uint64_t target_file_size_base;          /* compaction output size (64 MiB) */
    uint64_t max_manifest_file_size;         /* roll over beyond this (4 MiB; 0 = default) */
    int read_only;                           /* recover only; never write (fsck -n) */
    mutex_t *db_mu;  /* the DB mutex of "Locking" above: test builds assert it is held
                      * where needed (VSET_ASSERT_LOCKED); NULL = not checked */
} vset_options_t;

/* Fills o with the defaults above. */
void vset_options_default(vset_options_t *o);

/* ---- versions ---- */

typedef struct version {
    version_set_t *vset;
    _Atomic int refs;
    int num_levels;
    int nfiles[VE_MAX_LEVELS];
    file_meta_t **files[VE_MAX_LEVELS];  /* files[level][0..nfiles[level]) */
    struct version *prev, *next;         /* the set's list of live versions */
} version_t;

void version_ref(version_t *v);
void version_unref(version_t *v);

static inline int version_num_files(const version_t *v, int level) { return v->nfiles[level]; }
uint64_t version_level_bytes(const version_t *v, int level);

/* A growable list of file pointers (no references held). */
typedef struct {
    file_meta_t **v;
    int n, cap;
} file_list_t;

void file_list_free(file_list_t *l);

/* Files at `level` whose user-key range overlaps [begin, end] (user keys; NULL = open).
 * At L0 the range grows to cover every file that overlaps a file already taken, so the
 * result is closed under overlap. Appends to *out (cleared first). 0, or -1 when out of
 * memory. */
int version_overlapping_inputs(const version_t *v, int level, const slice_t *begin,
                               const slice_t *end, file_list_t *out);
/* 1 if some file at level overlaps the user-key range [begin, end] (NULL = open). */
int version_overlap_in_level(const version_t *v, int level, const slice_t *begin,
                             const slice_t *end);
/* For levels >= 1: index of the first file whose largest internal key >= ikey
 * (nfiles if none). */
int version_find_file(const version_t *v, int level, slice_t ikey);

/* ---- the set ---- */

/* A new store in dir (which must exist and have no CURRENT): writes MANIFEST-000001 and
 * CURRENT, returns the open set. */
status_t vset_create(env_t *env, const char *dir, const vset_options_t *opt,
                     version_set_t **out);
/* Opens an existing store's version set from CURRENT and its MANIFEST.
 * Errors: Invalid argument "<dir>: not an lsm store (no CURRENT file)"; Corruption naming
 * CURRENT or the MANIFEST and offset; Not supported "<dir>: store format version N is
 * newer than this build supports (1)"; Corruption "<dir>/000123.sst: missing (referenced
 * by MANIFEST-000005)" (also for a size that differs from the MANIFEST's); Invalid
 * argument when the store uses more levels than opt->num_levels. */
status_t vset_recover(env_t *env, const char *dir, const vset_options_t *opt,
                      version_set_t **out);
/* Closes the MANIFEST and frees the set. Every version reference must be released first
 * (except the set's own reference to current). */
void vset_close(version_set_t *vs);

/* Applies edit to the current version and makes the result current. Call with *mu held.
 * Fills in the edit's log_number / next_file_number / last_sequence when unset (from the
 * set), checks it (deleted files must exist; levels >= 1 stay disjoint; a file number
 * appears once), appends it to the MANIFEST and fsyncs (with *mu released meanwhile), then
 * installs the new version. One log_and_apply at a time: a second caller waits on the
 * set's condition variable (with *mu) until the first has installed; always pass the same
 * mutex. On error nothing is installed, the counters are unchanged (except that
 * next_file_number may have advanced), the edit is left as given, and the next call will
 * start a new MANIFEST. A failed call may still have made the edit durable: the caller
 * must not delete the files the edit added. */
status_t vset_log_and_apply(version_set_t *vs, version_edit_t *edit, mutex_t *mu);

uint64_t vset_new_file_number(version_set_t *vs);
/* Makes sure future file numbers are > number (e.g. WAL numbers found on disk). */
void vset_mark_file_number_used(version_set_t *vs, uint64_t number);
uint64_t vset_next_file_number(version_set_t *vs); /* the next one to be handed out */
uint64_t vset_last_sequence(version_set_t *vs);
void vset_set_last_sequence(version_set_t *vs, uint64_t seq);
uint64_t vset_log_number(version_set_t *vs);
/* Number of the MANIFEST that CURRENT names. */
uint64_t vset_manifest_file_number(version_set_t *vs);
int vset_num_levels(version_set_t *vs);
const vset_options_t *vset_options(version_set_t *vs);
/* Test builds: aborts unless this thread holds the set's DB mutex (when it has one). */
#define VSET_ASSERT_LOCKED(vs) \
    LSM_ASSERT(vset_options(vs)->db_mu == NULL || mutex_held(vset_options(vs)->db_mu))
const char *vset_dir(version_set_t *vs);
env_t *vset_env(version_set_t *vs);

/* The current version with a reference taken (release with version_unref). */
version_t *vset_current(version_set_t *vs);
/* Calls cb for every file number in every live version (may repeat numbers). */
void vset_add_live_files(version_set_t *vs, void (*cb)(void *arg, uint64_t number), void *arg);

int vset_num_level_files(version_set_t *vs, int level);
uint64_t vset_level_bytes(version_set_t *vs, int level);
/* Target size of a level: L1 = max_bytes_for_level_base, each deeper level * multiplier. */
uint64_t vset_max_bytes_for_level(version_set_t *vs, int level);
/* Appends one line per level to out: "L<n>: <files> files, <bytes> bytes". */
void vset_level_summary(version_set_t *vs, buf_t *out);

/* Round-robin compaction pointer of a level (internal key; empty if none). Valid until
 * the next set. With the DB mutex held; used by compaction_picker.c. */
slice_t vset_compact_pointer(version_set_t *vs, int level);
void vset_set_compact_pointer(version_set_t *vs, int level, slice_t ikey);

/* ---- persistent snapshots (recorded by version edits; with the DB mutex held) ---- */

/* Most persistent snapshots a store may hold. */
#define VSET_MAX_SNAPSHOTS 1024
/* vset_log_and_apply refuses an edit that adds a name that exists (Invalid argument),
 * deletes one that does not (Not found), or goes beyond VSET_MAX_SNAPSHOTS. */
/* The smallest sequence of any persistent snapshot; UINT64_MAX when there is none. */
uint64_t vset_oldest_snapshot(version_set_t *vs);
/* A malloc'd copy of the list (in creation order) in *out; returns the count (-1: no memory). */
int vset_list_snapshots(version_set_t *vs, ve_snapshot_t **out);
/* 0 and *seq when the snapshot exists, else -1. */
int vset_find_snapshot(version_set_t *vs, const char *name, uint64_t *seq);

/* With the DB mutex held: the record a new MANIFEST starts with (current version, counters,
 * compaction pointers, persistent snapshots) into rec, and *v = the current version with a
 * reference (the files the record names). The checkpoint's MANIFEST. */
status_t vset_snapshot_record(version_set_t *vs, buf_t *rec, version_t **v);
/* Without locks: writes dir/MANIFEST-<number> holding the one record rec, syncs it, and
 * points dir/CURRENT at it. */
status_t vset_write_manifest_at(env_t *env, const char *dir, uint64_t number, const buf_t *rec);

/* ---- compaction picking (compaction_picker.c) ---- */

typedef struct compaction {
    version_set_t *vset;
    version_t *input_version;       /* referenced until compaction_free */
    int level;                      /* input level */
    int output_level;               /* level + 1, or level itself for the last level */
    uint64_t max_output_file_size;
    file_list_t inputs[2];          /* [0] at level, [1] at output_level (empty if same) */
    file_list_t grandparents;       /* output_level + 1 files overlapping the inputs */
    /* Deletions of every input already recorded (and the compaction pointer); the caller
     * adds the outputs, then passes it to vset_log_and_apply. */
    version_edit_t edit;
    int trivial_move;               /* move inputs[0][0] down unchanged */
    int manual;
    double score;                   /* what picked it (0 for manual) */
    /* compaction_should_stop_before state */
    int gp_index, seen_key;
    uint64_t overlapped_bytes;
    uint64_t max_grandparent_overlap; /* 10 * target file size */
} compaction_t;

/* 1 when some level scores >= 1 and has a pickable compaction. */
int vset_needs_compaction(version_set_t *vs);
/* Score of each level: L0 = files not being compacted / trigger, Ln = bytes not being
 * compacted / target. The last level scores 0. */
double vset_level_score(version_set_t *vs, int level);
/* Picks the best compaction, or NULL when nothing needs one (or every candidate conflicts
 * with a compaction in progress). Round-robin within a level from its compaction pointer;
 * L0 inputs expand to every overlapping L0 file; level+1 files overlapping the inputs are
 * added; inputs on both levels are then marked being_compacted. */
compaction_t *vset_pick_compaction(version_set_t *vs);
/* Manual compaction of user keys [begin, end] (NULL = open) at level into level+1 (the last
 * level compacts into itself). *out = NULL when level has no file in the range. Busy when
 * a needed file is being compacted (wait for it and retry). */
status_t vset_compact_range(version_set_t *vs, int level, const slice_t *begin,
                            const slice_t *end, compaction_t **out);
/* Deletion-triggered compaction (RocksDB's CompactOnDeletionCollector, by counts): the
 * file whose tombstone share is highest among those where it is at least 1/2 - point
 * deletions plus range tombstones weighted VSET_RANGE_DEL_WEIGHT each, over its entries -
 * and whose newest entry every snapshot sees (largest_seq <= oldest_snapshot, so that the
 * compaction can drop what the tombstones hide). The file's key range is compacted into
 * the next level (the last level into itself), never by a trivial move, so repeated picks
 * carry the tombstones down to the data and drop both. NULL when no file qualifies or one
 * it needs is being compacted. */
#define VSET_RANGE_DEL_WEIGHT 16
compaction_t *vset_pick_deletion_compaction(version_set_t *vs, uint64_t oldest_snapshot);
/* The tombstone share of f in [0, 1] as vset_pick_deletion_compaction scores it. */
double vset_deletion_share(const file_meta_t *f);
/* Clears the being_compacted marks, drops the version reference and frees c. */
void compaction_free(compaction_t *c);

/* For trivial moves: records "delete at level, add at output_level" of inputs[0][0]. */
void compaction_set_trivial_move_edit(compaction_t *c);
/* Call with the internal key of each entry about to be written to an output, in order;
 * 1 means: finish the current output file before this key (its grandparent overlap has
 * grown too large). Only cut between user keys (the caller's job). */
int compaction_should_stop_before(compaction_t *c, slice_t ikey);
/* 1 when no level deeper than the output level has a file whose range contains user_key:
 * a deletion of it (or a range tombstone over it) may then be dropped at the bottom. */
int compaction_is_base_level_for_key(const compaction_t *c, slice_t user_key);
/* The same for a range tombstone [start, end) (user keys): 1 when no deeper level has a
 * file overlapping it, so the tombstone may be dropped. */
int compaction_is_base_level_for_range(const compaction_t *c, slice_t start, slice_t end);
uint64_t compaction_input_bytes(const compaction_t *c);

#endif
