/*
 * fsck.h - fsck.lsmfs: shared state of one check and the helpers every pass uses.
 *
 * A check is a sequence of passes over one store (see docs/FSCK.md):
 *   1 engine      CURRENT/MANIFEST/WAL (by opening), every table's checksums, stray files
 *   2 superblock  magic, version, block size, inode high-water mark, unknown rows
 *   3 inodes      every I row (format, mode, times), orphan marks, symlink targets
 *   4 entries     every D row; directory tree connectivity; lost+found
 *   5 links       nlink and directories' parent field against what pass 4 counted
 *   6 data        orphans reclaimed; B, X and L rows of missing or wrong inodes; blocks
 *                 past the end of a file
 * fsck reaches the store only through lsm.h and lays out or parses rows only through
 * fs/schema.h. Each fix is one write batch; the WAL is synced once at the end.
 *
 * Invariants: the in-memory model (the inode table, lost+found, counts) always describes
 * the store as it is after the fixes made so far; a fix that was declined leaves the model
 * describing the store unchanged and is counted as uncorrected (exit status 4).
 */
#ifndef FSCK_FSCK_H
#define FSCK_FSCK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "itab.h"
#include "lsm.h"
#include "schema.h"

/* e2fsck's exit status bits. */
enum {
    FSCK_EXIT_OK = 0,
    FSCK_EXIT_NONDESTRUCT = 1,   /* errors corrected */
    FSCK_EXIT_REBOOT = 2,        /* corrected, remount advised (not produced: see FSCK.md) */
    FSCK_EXIT_UNCORRECTED = 4,
    FSCK_EXIT_ERROR = 8,         /* operational error */
    FSCK_EXIT_USAGE = 16,
    FSCK_EXIT_CANCELED = 32,
};

typedef enum {
    FSCK_ASK,     /* ask on the terminal for each fix */
    FSCK_NO,      /* -n: read-only, answer no */
    FSCK_PREEN,   /* -p / -a: fix what is safe, stop at anything else */
    FSCK_YES,     /* -y: fix everything */
} fsck_mode_t;

/* The question a problem asks (and what preen mode prints once it is done). */
typedef enum {
    Q_NONE,       /* a warning: nothing to fix, not counted as an error */
    Q_FIX, Q_CLEAR, Q_DELETE, Q_CONNECT, Q_RECLAIM, Q_CREATE, Q_RAISE, Q_RECOVER, Q_REBUILD,
} fsck_q_t;

/* Problem flags. */
#define FSCK_PREEN_OK 1u    /* -p may fix it without asking */

typedef struct {
    uint64_t inodes, dirs, regular, symlinks, specials;
    uint64_t blocks, block_bytes, file_bytes;
    uint64_t xattrs, orphans;
} fsck_counts_t;

/* A damaged table block the rebuild drops (damage.c): its user-key bounds, malloc'd. */
typedef struct {
    char table[64];                  /* file name of the .sst */
    uint64_t offset, size;           /* size 0: the rest of the table / the whole table */
    char *lo, *hi;                   /* NULL: open */
    size_t lo_len, hi_len;
} fsck_damage_t;

typedef struct fsck {
    /* options */
    const char *store;               /* the directory opened: the store, or its checkpoint */
    const char *name;                /* what messages call the store (the store's path) */
    fsck_mode_t mode;
    int verbose;
    int progress_fd;                 /* -C fd, -1 if none */
    volatile sig_atomic_t *cancel;   /* set by SIGINT/SIGTERM */

    /* the store */
    lsm_t *db;
    int read_only;
    lsm_readoptions_t *ropt;
    lsm_writeoptions_t *wopt;
    const lsm_snapshot_t *snap;      /* reading a persistent snapshot's tree, or NULL */

    /* what the passes learned */
    fs_super_t sb;
    int have_sb;                     /* sb is valid */
    int64_t now;                     /* wall clock at start (seconds) */
    fsck_itab_t itab;
    uint64_t lf_ino;                 /* lost+found (0: none yet) */
    uint64_t max_ino;                /* largest inode number any row uses */

    /* results */
    unsigned problems, fixed, unfixed, warnings;
    int changed;                     /* something was written */
    int yes_all;                     /* interactive: 'a' answered */
    fsck_damage_t *damage;           /* blocks the rebuild dropped (damage.c) */
    size_t n_damage;
    fsck_counts_t counts;

    double pass_t0;                  /* when the current pass started (-v timing) */

    /* progress bar */
    int prog_pass;
    unsigned prog_permille;
    long long prog_ms;
} fsck_t;

/* ---- reporting (report.c) ---------------------------------------------------------- */
/* Prints the problem (printf-style, one sentence, no question) and decides, by the mode,
 * whether to fix it: returns 1 if the caller must make the fix now, 0 if not. In preen
 * mode a problem without FSCK_PREEN_OK ends the run (exit 4, "run fsck manually"). */
int fsck_problem(fsck_t *f, unsigned flags, fsck_q_t q, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Informational line: printed unless preening (or only with -v when `verbose_only`). */
void fsck_info(fsck_t *f, int verbose_only, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fsck_pass_start(fsck_t *f, int pass, const char *title);
/* Ends the last pass (erases the progress bar; -v prints its time). */
void fsck_pass_end(fsck_t *f);
/* ---- online.c: a mounted store, checked on a checkpoint ---- */
/* 1 when `arg` is a mounted lsmfs store or the mountpoint of one (/proc/mounts, type
 * fuse.lsmfs) with a live daemon; fills the store path and the mountpoint. */
int fsck_online_find(const char *arg, char *store, size_t sn, char *mnt, size_t mn);
/* Has the daemon of `mnt` make a checkpoint of `store` in a new directory beside it (its
 * path in ckpt) and forks. Returns 0 in the child, which checks ckpt read-only; 1 in the
 * parent once the child has ended and the checkpoint is removed, with the child's exit
 * status in *code; -1 (reason printed) when there is no checkpoint (not -n, no daemon). */
int fsck_online_start(fsck_t *f, const char *store, const char *mnt, char *ckpt, size_t n,
                      int *code);

/* Grows an array of elem-byte items: *cap doubles (starts at first) and p is reallocated
 * to it; returns the new array. Out of memory is fatal (fsck_fatal). */
void *fsck_grow(fsck_t *f, void *p, size_t *cap, size_t first, size_t elem);
/* Operational failure: message on stderr, then fsck_finish with `code`. */
void fsck_fatal(fsck_t *f, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
/* Syncs what was written, closes the store and exits with `code` | what the run did. */
void fsck_finish(fsck_t *f, int code) __attribute__((noreturn));
/* Exits (status 32) if the user interrupted. Call between rows. */
void fsck_poll_cancel(fsck_t *f);
/* Writes a printable, quoted form of bytes (names from the store may hold anything) into
 * out (size n); long names are cut with "...". Returns out. */
char *fsck_escape(const char *s, size_t len, char *out, size_t n);
const char *fsck_type_name(uint32_t mode);

/* ---- progress (progress.c) --------------------------------------------------------- */
void fsck_progress(fsck_t *f, uint64_t cur, uint64_t max);
void fsck_progress_done(fsck_t *f);

/* ---- repairs (repair.c) -------------------------------------------------------------- */
/* Commits one fix's batch (and destroys it); an engine error is fatal (exit 8). */
void fsck_commit(fsck_t *f, lsm_writebatch_t *b);
void fsck_b_put_inode(lsm_writebatch_t *b, uint64_t ino, const fs_inode_t *in);
void fsck_b_put_dentry(lsm_writebatch_t *b, uint64_t parent, const char *name, size_t nlen,
                       uint64_t child, uint32_t mode);
void fsck_b_put_super(lsm_writebatch_t *b, const fs_super_t *sb);
void fsck_b_delete(lsm_writebatch_t *b, const char *key, size_t klen);
/* Range-deletes every row of `type` (B, D or X) that belongs to ino. */
void fsck_b_delete_rows(lsm_writebatch_t *b, int type, uint64_t ino);
/* Deletes every row of an inode: I, L, O and the B, X and D ranges. */
void fsck_b_reclaim(lsm_writebatch_t *b, uint64_t ino);
/* Reads and decodes an inode: 0, -ENOENT, -EUCLEAN; engine errors are fatal. */
int fsck_load_inode(fsck_t *f, uint64_t ino, fs_inode_t *in);
/* 1 if the key exists, 0 if not; engine errors are fatal. */
int fsck_key_exists(fsck_t *f, const char *key, size_t klen);
/* Finds the first entry of directory `parent` naming `child`; copies its name into
 * name (FS_NAME_MAX + 1 bytes) and returns its length, or 0 if there is none. */
size_t fsck_find_entry(fsck_t *f, uint64_t parent, uint64_t child, char *name);

/* ---- scanning (scan.c) ------------------------------------------------------------------ */
/* A forward scan over [lo, hi) of the store (hi NULL: to the end); key and value stay valid until the next step. */
typedef struct {
    lsm_iterator_t *it;
    lsm_readoptions_t *ro;
    const char *what;   /* for messages: "inode rows", ... */
} fsck_scan_t;

void fsck_scan_open(fsck_t *f, fsck_scan_t *s, const char *what, const char *lo, size_t lolen,
                    const char *hi, size_t hilen);
/* All rows of one type (fs_key_type_start/end). */
void fsck_scan_type(fsck_t *f, fsck_scan_t *s, const char *what, int type);
int fsck_scan_valid(fsck_t *f, fsck_scan_t *s);  /* 0 at the end; engine errors are fatal */
void fsck_scan_next(fsck_scan_t *s);
void fsck_scan_seek(fsck_scan_t *s, const char *key, size_t klen);
const char *fsck_scan_key(const fsck_scan_t *s, size_t *len);
const char *fsck_scan_value(const fsck_scan_t *s, size_t *len);
void fsck_scan_close(fsck_scan_t *s);

/* ---- damage.c: which files a rebuild changed ---- */
/* Pass 6 (unwritten.c): ino's empty B rows below its end number `empty`; its inode's
 * count of fallocated, unwritten blocks must say the same. */
void fsck_unwritten_check(fsck_t *f, uint64_t ino, uint64_t empty);
/* After the block scan: the inodes with a count and no block row at all. */
void fsck_unwritten_rest(fsck_t *f);
/* Before lsm_repair_db: records every damaged block's key range (lsm_list_damaged_blocks). */
void fsck_damage_collect(fsck_t *f);
/* After passes 2-6: names each file, directory or inode whose rows lay in a dropped block
 * (path, and for data the byte range), then frees the record. Nothing if none. */
void fsck_damage_report(fsck_t *f);

/* ---- passes ------------------------------------------------------------------------------- */
/* Pass 1: opens the store (f->db) or ends the run with the right status. */
void fsck_pass_engine(fsck_t *f);
void fsck_pass_super(fsck_t *f);
/* In pass 2, live store only: the snapshots' slot rows (snapslots.c). */
void fsck_check_snapslots(fsck_t *f);
void fsck_pass_inodes(fsck_t *f);
void fsck_pass_dirs(fsck_t *f);
void fsck_pass_links(fsck_t *f);
void fsck_pass_data(fsck_t *f);
/* Superblock fix shared by passes 2 and 4: raises the high-water mark above `ino`. */
void fsck_raise_hwm(fsck_t *f, lsm_writebatch_t *b, uint64_t ino);

#endif
