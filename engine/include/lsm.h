/*
 * lsm.h - the public C API of liblsm, the LSM key-value engine under lsmfs.
 *
 * The API mirrors RocksDB's rocksdb/c.h with the prefix lsm_ instead of rocksdb_: the same
 * names, the same argument order and the same error convention. A function that can fail
 * takes `char **errptr` as its last argument. On success *errptr is left untouched (so it
 * must be NULL on entry, as in RocksDB); on failure it receives a malloc'd message that the
 * caller frees with lsm_free(). Messages start with a category ("IO error: ",
 * "Corruption: ", "Invalid argument: ", "Not found: ", "Busy: ", "Not supported: ") and
 * name the file involved; lsm_error_errno() gives the errno behind a message.
 *
 * Everything that returns memory (values, property texts, error messages) returns it
 * malloc'd; free it with lsm_free().
 *
 * Thread safety: an lsm_t may be used from any number of threads at once. Options,
 * write/read options, batches and iterators belong to one thread at a time.
 *
 * Differences from c.h, all additive: lsm_delete_range and lsm_compact_range take the
 * default column family (there are no column families) and compact_range reports errors;
 * lsm_sync_wal; lsm_error_errno; a few options that lsmfs needs.
 */
#ifndef LSM_H
#define LSM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lsm_t lsm_t;
typedef struct lsm_options_t lsm_options_t;
typedef struct lsm_readoptions_t lsm_readoptions_t;
typedef struct lsm_writeoptions_t lsm_writeoptions_t;
typedef struct lsm_flushoptions_t lsm_flushoptions_t;
typedef struct lsm_writebatch_t lsm_writebatch_t;
typedef struct lsm_iterator_t lsm_iterator_t;
typedef struct lsm_snapshot_t lsm_snapshot_t;

/* Version of the on-disk store format this library reads and writes. */
#define LSM_FORMAT_VERSION 1

/* ---- DB operations ---------------------------------------------------------------- */

lsm_t *lsm_open(const lsm_options_t *options, const char *name, char **errptr);
/* Opens without writing anything to the directory: the WAL is replayed into memory, no new
 * files are made, writes fail with "Not supported". Used by fsck -n. */
lsm_t *lsm_open_for_read_only(const lsm_options_t *options, const char *name,
                              unsigned char error_if_wal_file_exists, char **errptr);
void lsm_close(lsm_t *db);

void lsm_put(lsm_t *db, const lsm_writeoptions_t *options, const char *key, size_t keylen,
             const char *val, size_t vallen, char **errptr);
void lsm_delete(lsm_t *db, const lsm_writeoptions_t *options, const char *key,
                size_t keylen, char **errptr);
/* Deletes every key k with start_key <= k < end_key. */
void lsm_delete_range(lsm_t *db, const lsm_writeoptions_t *options, const char *start_key,
                      size_t start_key_len, const char *end_key, size_t end_key_len,
                      char **errptr);
/* Applies the whole batch atomically: after a crash either all of it or none is there. */
void lsm_write(lsm_t *db, const lsm_writeoptions_t *options, lsm_writebatch_t *batch,
               char **errptr);
/* Returns NULL (and leaves *errptr alone) if the key is absent; else a malloc'd value. */
char *lsm_get(lsm_t *db, const lsm_readoptions_t *options, const char *key, size_t keylen,
              size_t *vallen, char **errptr);

lsm_iterator_t *lsm_create_iterator(lsm_t *db, const lsm_readoptions_t *options);

const lsm_snapshot_t *lsm_create_snapshot(lsm_t *db);
void lsm_release_snapshot(lsm_t *db, const lsm_snapshot_t *snapshot);
uint64_t lsm_snapshot_get_sequence_number(const lsm_snapshot_t *snapshot);
uint64_t lsm_get_latest_sequence_number(lsm_t *db);

/* ---- Persistent snapshots and checkpoints (not in c.h; see docs/SNAPSHOTS.md) -------- */

/* A persistent snapshot is a named sequence number recorded in the MANIFEST: compaction
 * keeps every version it may read, as for a live snapshot, and it survives close, kill -9
 * and power cut (the WAL is synced up to it first). Names are 1..255 bytes (no NUL); at
 * most 1024 per store. Returns the snapshot's sequence; errors: "Invalid argument" when
 * the name exists already (or is bad, or too many), "Not supported" when read-only. */
uint64_t lsm_create_persistent_snapshot(lsm_t *db, const char *name, char **errptr);
/* Forgets the name ("Not found" when there is none); the versions only it held go at the
 * next compactions. Handles from lsm_get_persistent_snapshot stay valid until released. */
void lsm_delete_persistent_snapshot(lsm_t *db, const char *name, char **errptr);
/* A snapshot handle at the named snapshot's sequence for lsm_readoptions_set_snapshot,
 * released with lsm_release_snapshot; NULL when there is no such name. */
const lsm_snapshot_t *lsm_get_persistent_snapshot(lsm_t *db, const char *name);
/* Every persistent snapshot in creation order: *names[i] and *seqs[i]; returns the count
 * (0: none, both NULL). Free with lsm_free_persistent_snapshot_list. */
size_t lsm_list_persistent_snapshots(lsm_t *db, char ***names, uint64_t **seqs);
void lsm_free_persistent_snapshot_list(char **names, uint64_t *seqs, size_t n);
/* Makes an openable copy of the store in dir, which must not exist (as RocksDB's
 * Checkpoint::CreateCheckpoint): tables are hard-linked (copied across file systems), the
 * WALs still needed are copied, and a fresh MANIFEST + CURRENT describe the linked tables.
 * The copy holds a prefix of the write history containing every write acknowledged before
 * the call (and perhaps some that completed during it); *seq (may be NULL) receives the
 * sequence that is certainly included. Persistent snapshots come along. Built in
 * "<dir>.tmp" and renamed, so dir exists only complete. */
void lsm_checkpoint_create(lsm_t *db, const char *dir, uint64_t *seq, char **errptr);

/* Returns NULL if the property is unknown, else a malloc'd text. Properties:
 *   "lsm.stats"                    human-readable statistics (write path, levels, cache)
 *   "lsm.num-files-at-level<N>"    number of SST files at level N
 *   "lsm.estimate-num-keys", "lsm.cur-size-all-mem-tables", "lsm.num-immutable-mem-table"
 *   "lsm.reserve-bytes"            bytes the space reserve holds now (0 when released)
 *   "lsm.num-persistent-snapshots" persistent snapshots recorded in the MANIFEST
 *   "lsm.wal-gap"                  empty, or why the open found a live WAL cut short: a
 *                                  later WAL starts past the sequence where it ends, so
 *                                  records between were lost (replay still went on) */
char *lsm_property_value(lsm_t *db, const char *propname);
/* Returns 0 and sets *out_val for a numeric property, -1 if unknown. */
int lsm_property_int(lsm_t *db, const char *propname, uint64_t *out_val);

/* Flushes the memtable to an SST (waits if the flush options say so). */
void lsm_flush(lsm_t *db, const lsm_flushoptions_t *options, char **errptr);
/* sync = 1: makes everything written so far durable: fdatasync of the WAL through the
 * write group, so that many callers at once share one device flush. sync = 0: only makes
 * sure it is in the kernel (survives a process crash), which every lsm_write already
 * did, so no device flush happens. */
void lsm_flush_wal(lsm_t *db, unsigned char sync, char **errptr);
/* Compacts the key range [start, limit] (NULL = open end) down the levels. */
void lsm_compact_range(lsm_t *db, const char *start_key, size_t start_key_len,
                       const char *limit_key, size_t limit_key_len, char **errptr);
/* Reads every block of every live file and checks its checksum. */
void lsm_verify_checksum(lsm_t *db, char **errptr);
/* Gives back the store's space reserve (see lsm_options_set_reserve_bytes) so that work
 * which frees space can run on a full disk: call it when a write that deletes data failed
 * with ENOSPC, then retry that write. Returns the bytes released (0: no reserve held). The
 * engine recreates the reserve by itself once flushes and compactions have freed room. */
uint64_t lsm_release_reserve(lsm_t *db);

void lsm_destroy_db(const lsm_options_t *options, const char *name, char **errptr);
/* Capacity of the place a store lives (its local file system, or its Ceph cluster for
 * rados://POOL/NAME): bytes in total, free, and available to an unprivileged writer.
 * 0 on success, -1 with errno set on failure. */
int lsm_location_space(const char *name, uint64_t *total, uint64_t *free_bytes,
                       uint64_t *avail);
/* Rebuilds a damaged store (as rocksdb_repair_db): takes its LOCK (Busy if open), salvages
 * every readable data block of every table and every readable WAL record, and writes new
 * tables at the last level plus a new MANIFEST and CURRENT; only then removes the old
 * tables, WALs and MANIFESTs. Keeps every version and tombstone it can read; what lay in
 * a damaged block or an unreadable table is lost (reported on stderr). */
void lsm_repair_db(const lsm_options_t *options, const char *name, char **errptr);
/* One damaged part of a table, as lsm_list_damaged_blocks reports it: a data block at
 * [offset, offset + size) of `table` (size 0: the table's index is unreadable from there
 * on, or the whole table is unreadable). The keys it held cannot be read, but each of them
 * lies in the user-key range [lo, hi] (both inclusive), taken from the table's index;
 * lo NULL: open below, hi NULL: open above. The bounds may be shortened separators rather
 * than keys that existed. Older versions of those keys in other tables are not damaged,
 * so after lsm_repair_db such a key may read back as an older value or not at all. */
typedef struct {
    const char *table;
    uint64_t offset, size;
    const char *lo, *hi;
    size_t lo_len, hi_len;
} lsm_damaged_block_t;
/* Reads every table of the store (as lsm_repair_db would salvage it, without the LOCK and
 * without changing anything) and calls fn for each damaged data block or unreadable
 * table; fn returning non-zero stops the walk. Returns the number reported (0: every
 * block of every table reads); an I/O error other than damage goes to *errptr. */
uint64_t lsm_list_damaged_blocks(const lsm_options_t *options, const char *name,
                                 int (*fn)(void *arg, const lsm_damaged_block_t *b),
                                 void *arg, char **errptr);

/* ---- Write batch ------------------------------------------------------------------- */

lsm_writebatch_t *lsm_writebatch_create(void);
/* A batch from a serialized rep (see lsm_writebatch_data); rejects a malformed rep. */
lsm_writebatch_t *lsm_writebatch_create_from(const char *rep, size_t size);
void lsm_writebatch_destroy(lsm_writebatch_t *b);
void lsm_writebatch_clear(lsm_writebatch_t *b);
int lsm_writebatch_count(lsm_writebatch_t *b);
void lsm_writebatch_put(lsm_writebatch_t *b, const char *key, size_t klen, const char *val,
                        size_t vlen);
void lsm_writebatch_delete(lsm_writebatch_t *b, const char *key, size_t klen);
void lsm_writebatch_delete_range(lsm_writebatch_t *b, const char *start_key,
                                 size_t start_key_len, const char *end_key,
                                 size_t end_key_len);
/* Calls put / deleted for each record in order (range deletions are skipped; see below). */
void lsm_writebatch_iterate(lsm_writebatch_t *b, void *state,
                            void (*put)(void *, const char *k, size_t klen, const char *v,
                                        size_t vlen),
                            void (*deleted)(void *, const char *k, size_t klen));
/* The same, with range deletions reaching deleted_range(start, end). Any callback may be NULL. */
void lsm_writebatch_iterate_ranges(lsm_writebatch_t *b, void *state,
                                   void (*put)(void *, const char *k, size_t klen,
                                               const char *v, size_t vlen),
                                   void (*deleted)(void *, const char *k, size_t klen),
                                   void (*deleted_range)(void *, const char *s, size_t slen,
                                                         const char *e, size_t elen));
const char *lsm_writebatch_data(lsm_writebatch_t *b, size_t *size);

/* ---- Iterator ------------------------------------------------------------------------ */

void lsm_iter_destroy(lsm_iterator_t *iter);
unsigned char lsm_iter_valid(const lsm_iterator_t *iter);
void lsm_iter_seek_to_first(lsm_iterator_t *iter);
void lsm_iter_seek_to_last(lsm_iterator_t *iter);
void lsm_iter_seek(lsm_iterator_t *iter, const char *k, size_t klen);
void lsm_iter_seek_for_prev(lsm_iterator_t *iter, const char *k, size_t klen);
void lsm_iter_next(lsm_iterator_t *iter);
void lsm_iter_prev(lsm_iterator_t *iter);
/* Key and value stay valid until the iterator moves or is destroyed. */
const char *lsm_iter_key(const lsm_iterator_t *iter, size_t *klen);
const char *lsm_iter_value(const lsm_iterator_t *iter, size_t *vlen);
void lsm_iter_get_error(const lsm_iterator_t *iter, char **errptr);

/* ---- Options --------------------------------------------------------------------------- */

lsm_options_t *lsm_options_create(void);
void lsm_options_destroy(lsm_options_t *opt);
void lsm_options_set_create_if_missing(lsm_options_t *opt, unsigned char v);
void lsm_options_set_error_if_exists(lsm_options_t *opt, unsigned char v);
/* Check every checksum we read, and fail open on any corruption in a WAL (default on).
 * Off: recovery stops at the first damaged WAL record and keeps the prefix before it
 * (point-in-time recovery). */
void lsm_options_set_paranoid_checks(lsm_options_t *opt, unsigned char v);
void lsm_options_set_write_buffer_size(lsm_options_t *opt, size_t s);
void lsm_options_set_max_write_buffer_number(lsm_options_t *opt, int n);
void lsm_options_set_enable_pipelined_write(lsm_options_t *opt, unsigned char v);
void lsm_options_set_allow_concurrent_memtable_write(lsm_options_t *opt, unsigned char v);
enum { lsm_no_compression = 0, lsm_zlib_compression = 2 };
void lsm_options_set_compression(lsm_options_t *opt, int t);
/* LSM tree shape (see docs/ENGINE.md): L0 compaction trigger, slowdown and stop; size of
 * L1 and the multiplier per level; target SST size; number of levels. */
void lsm_options_set_level0_file_num_compaction_trigger(lsm_options_t *opt, int n);
void lsm_options_set_level0_slowdown_writes_trigger(lsm_options_t *opt, int n);
void lsm_options_set_level0_stop_writes_trigger(lsm_options_t *opt, int n);
void lsm_options_set_max_bytes_for_level_base(lsm_options_t *opt, uint64_t n);
void lsm_options_set_max_bytes_for_level_multiplier(lsm_options_t *opt, double n);
void lsm_options_set_target_file_size_base(lsm_options_t *opt, uint64_t n);
void lsm_options_set_num_levels(lsm_options_t *opt, int n);
void lsm_options_set_disable_auto_compactions(lsm_options_t *opt, int disable);
/* Compaction outputs never mix keys whose first n bytes differ (0 = off), as RocksDB's
 * fixed-prefix SstPartitioner: key families then live in tables of their own. */
void lsm_options_set_sst_partition_prefix_len(lsm_options_t *opt, int n);
/* SST block cache capacity in bytes (0 = no cache), bloom filter bits per key (0 = none),
 * data block size, open-file budget of the table cache. */
void lsm_options_set_block_cache_size(lsm_options_t *opt, size_t bytes);
void lsm_options_set_bloom_bits_per_key(lsm_options_t *opt, int bits);
void lsm_options_set_block_size(lsm_options_t *opt, size_t bytes);
void lsm_options_set_max_open_files(lsm_options_t *opt, int n);
/* 1 (default): tables in local files are mapped, and uncompressed data blocks are read
 * where they lie in the mapping (the page cache is their cache, as in LevelDB; the block
 * cache then holds only compressed blocks). An I/O error while reading a mapped block is
 * an I/O error status, not a crash: the first open installs a process-wide SIGBUS handler
 * that turns a fault inside the engine's guarded read into that status and hands every
 * other SIGBUS to the handler that was there before. 0: every block is read with pread
 * into the block cache, and no handler is installed. */
void lsm_options_set_mmap_reads(lsm_options_t *opt, int on);
/* Space reserve (default 0 = none): the store keeps a file (RESERVE) of this many allocated
 * bytes for the writes that free space on a full file system (lsm_release_reserve), and
 * makes it again once flushes and compactions have left room for it twice over. */
void lsm_options_set_reserve_bytes(lsm_options_t *opt, uint64_t bytes);
/* Space reclaim when idle (default 10 s, 0 = off): once no write has come for this long,
 * a non-empty memtable is flushed, so that its deletions reach the tables and
 * deletion-triggered compaction (files whose tombstone share is >= 1/2) gives the space
 * back without further writes or a reopen. See docs/SNAPSHOTS.md "Space". */
void lsm_options_set_idle_flush_seconds(lsm_options_t *opt, int seconds);
/* Info log (in the spirit of RocksDB's info_log / EventListener::OnBackgroundError): the
 * engine reports what no caller is waiting to hear about - a flush or compaction that failed
 * (checksum mismatch, I/O error, full disk) and keeps retrying, background work that has
 * been failing for a minute or more, the recovery from it, a write error that makes the
 * store refuse writes until reopened, the space reserve given up. `fn` gets one line of
 * text without a trailing newline (naming the store directory and the file involved) and
 * may be called from any engine thread, with engine locks held: it must not call back into
 * the engine. Without a logger (the default) these lines go to stderr. */
enum { LSM_LOG_ERROR = 3, LSM_LOG_WARN = 4, LSM_LOG_INFO = 6 }; /* syslog's levels */
typedef void (*lsm_logger_fn)(void *arg, int level, const char *msg);
void lsm_options_set_info_log(lsm_options_t *opt, lsm_logger_fn fn, void *arg);

lsm_readoptions_t *lsm_readoptions_create(void);
void lsm_readoptions_destroy(lsm_readoptions_t *opt);
void lsm_readoptions_set_verify_checksums(lsm_readoptions_t *opt, unsigned char v);
void lsm_readoptions_set_fill_cache(lsm_readoptions_t *opt, unsigned char v);
void lsm_readoptions_set_snapshot(lsm_readoptions_t *opt, const lsm_snapshot_t *snap);
/* Iterator bounds: keys < upper (exclusive) and >= lower (inclusive). The bytes are copied. */
void lsm_readoptions_set_iterate_upper_bound(lsm_readoptions_t *opt, const char *key,
                                             size_t keylen);
void lsm_readoptions_set_iterate_lower_bound(lsm_readoptions_t *opt, const char *key,
                                             size_t keylen);

lsm_writeoptions_t *lsm_writeoptions_create(void);
void lsm_writeoptions_destroy(lsm_writeoptions_t *opt);
/* fdatasync the WAL before the write returns. */
void lsm_writeoptions_set_sync(lsm_writeoptions_t *opt, unsigned char v);
/* Skip the WAL: the write is lost on a crash unless flushed first. */
void lsm_writeoptions_disable_WAL(lsm_writeoptions_t *opt, int disable);

lsm_flushoptions_t *lsm_flushoptions_create(void);
void lsm_flushoptions_destroy(lsm_flushoptions_t *opt);
void lsm_flushoptions_set_wait(lsm_flushoptions_t *opt, unsigned char v);

/* ---- Utility ------------------------------------------------------------------------- */

void lsm_free(void *ptr);
/* The errno behind an error message from this API: EBUSY (locked), EINVAL, ENOENT (not
 * found), ENOTSUP, EUCLEAN (corruption), or for an I/O error the failing call's ENOSPC,
 * EDQUOT, EROFS, ENOMEM, EFBIG, EACCES or EPERM, else EIO. It is read from data the engine
 * stores with the message (never from its text), so `err` must be the pointer this API
 * returned, unmodified; 0 for NULL. */
int lsm_error_errno(const char *err);

#ifdef __cplusplus
}
#endif
#endif /* LSM_H */
