/*
 * fault_env.h - a fault-injecting, power-cut-simulating env_t for tests (LSM_TESTING only).
 *
 * Built on the two hooks of engine/util/file.h: the fault hook (asked before every open,
 * read, write, sync, rename, remove, truncate and directory sync) and the io observer (told
 * after every successful write, sync, directory sync and rename).
 *
 * Fault rules: "fail the Nth matching operation once" or "fail every matching operation",
 * where an operation matches by kind (a file_op_t, or FE_ANY_OP) and by the base name of
 * the path the engine passes to the hook (an fnmatch pattern; NULL matches every file).
 * For a rename the hook sees the source path (CURRENT.tmp for a CURRENT switch).
 *
 * Power-cut model (fault_env_freeze + fault_env_cut), for ONE store directory:
 *   - The directory's durable state is the set of (name -> inode) entries it had at its
 *     last fsync (file_sync_dir through this env), or at fault_env_new, which takes
 *     everything present then as durable. Entries created, renamed or removed since are
 *     not durable: a cut removes files created since, restores files removed since and
 *     reverts renames (the old name gets the old inode back, whatever its content).
 *     Removed/overwritten inodes stay reachable through hard links in a shadow directory
 *     (<dir>.fe-shadow, same file system) made at each directory sync.
 *   - A file's durable data is the prefix up to the length given by its last fdatasync
 *     (wfile_sync through this env), tracked per inode. At the cut each file keeps that
 *     prefix; what lies beyond it follows the cut mode: dropped (FE_CUT_DROP), a random
 *     part of it kept (FE_CUT_PREFIX: writeback got that far), or a random part kept and
 *     the rest of the old length turned into zeros (FE_CUT_ZEROS) or random bytes
 *     (FE_CUT_GARBAGE): torn sectors whose size update made it to disk.
 *   - fault_env_freeze is the moment the power goes: it snapshots the durable state, and
 *     from then on every operation through the env fails with EIO and observations are
 *     ignored, so nothing the engine does afterwards (it keeps running until the test
 *     closes it) can make more data durable. fault_env_cut then rewrites the directory.
 * Not modelled: data of a file made durable by something other than fdatasync through the
 * env (e.g. files written without the env, like LOCK, count as durable once listed at a
 * directory sync); reordering of writes within a file (unsynced data is lost as a suffix,
 * never as holes, except in the ZEROS/GARBAGE modes); a truncate or O_TRUNC of a file
 * being undone (the synced length is reset to 0 when a file is opened for writing, and a
 * file shorter than its synced length keeps its current length); sub-directories; file
 * metadata other than size; the file system's own journaling beyond "a directory fsync
 * makes every entry of that directory durable".
 *
 * Thread safety: every entry point may be called from any thread (one mutex inside).
 */
#ifndef TESTS_CRASH_FAULT_ENV_H
#define TESTS_CRASH_FAULT_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "util/file.h"

#ifndef LSM_TESTING
#error "fault_env needs a test build (-DLSM_TESTING)"
#endif

#define FE_ANY_OP FOP_COUNT
#define FE_MAX_RULES 16

typedef struct fault_env fault_env_t;

typedef enum { FE_CUT_DROP, FE_CUT_PREFIX, FE_CUT_ZEROS, FE_CUT_GARBAGE, FE_CUT_MODES } fe_cut_mode_t;

/* What a cut did (for logs and assertions). */
typedef struct {
    int files_kept;          /* durable entries written back */
    int files_removed;       /* entries that were never made durable */
    int files_restored;      /* durable entries whose name had gone (removed / renamed) */
    int files_shortened;     /* files that lost or mangled unsynced bytes */
    uint64_t bytes_dropped;  /* unsynced bytes cut off */
    uint64_t bytes_mangled;  /* unsynced bytes turned into zeros / garbage */
} fe_cut_stats_t;

/* A new env for the store directory `dir` (which must exist). Takes the directory's
 * present contents as durable. NULL on error (message on stderr). */
fault_env_t *fault_env_new(const char *dir);
/* Removes the shadow directory and frees. The env must no longer be in use. */
void fault_env_free(fault_env_t *fe);
/* The env_t to put in lsm_options_t.env. */
env_t *fault_env_env(fault_env_t *fe);

/* Fail the n-th (1 = the next) operation of kind `op` on a file matching `pattern`, once,
 * with errno err. Returns a rule id >= 0, or -1 when the rule table is full. */
int fault_env_fail_nth(fault_env_t *fe, file_op_t op, const char *pattern, uint64_t n, int err);
/* Fail every matching operation with err until the rule is removed. */
int fault_env_fail_all(fault_env_t *fe, file_op_t op, const char *pattern, int err);
void fault_env_remove_rule(fault_env_t *fe, int id);
void fault_env_clear_rules(fault_env_t *fe);
/* Failures injected so far (all rules), and operations seen of one kind (or FE_ANY_OP),
 * counting failed ones. */
uint64_t fault_env_injected(fault_env_t *fe);
uint64_t fault_env_ops(fault_env_t *fe, file_op_t op);

/* The power goes off now (idempotent). */
void fault_env_freeze(fault_env_t *fe);
int fault_env_frozen(fault_env_t *fe);
/* Rewrites the directory to what the power cut leaves (freezing first if needed). Call
 * after the DB using this env is closed. 0, or -1 with a message on stderr. Afterwards the
 * env is spent: free it and open the store without it. */
int fault_env_cut(fault_env_t *fe, fe_cut_mode_t mode, uint64_t seed, fe_cut_stats_t *stats);

const char *fault_env_op_name(file_op_t op);
const char *fault_env_mode_name(fe_cut_mode_t mode);

#endif
