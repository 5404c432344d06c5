/*
 * pass_engine.c - pass 1: the engine's own files.
 *
 * What it checks, in order: the store directory and its file names (anything that is not
 * CURRENT, LOCK, MANIFEST-*, *.log, *.sst or *.tmp is reported and left alone); CURRENT
 * and the MANIFEST it names and the WAL replay, by opening the store (read-only for -n,
 * read-write otherwise); then every block of every live table against its checksum
 * (lsm_verify_checksum).
 *
 * A WAL cut short in its middle (the engine's open reports, in lsm.wal-gap, a live WAL
 * whose successor starts past the sequence where it ends: records between were lost, not
 * a torn last write of a crash) is reported; -n exits 4, and otherwise recovery (asked,
 * never by -p) keeps the history after the gap, which the other passes then check. It is
 * looked for with a read-only open first, so that a declined answer changes nothing.
 *
 * Two salvages, both asked and never done by -p (they lose data): a WAL damaged in the
 * middle (the engine refuses to open, as it must) is recovered to the last batch before
 * the damage by opening with paranoid_checks off (point-in-time recovery). Damage to
 * tables, the MANIFEST or CURRENT (open or checksum verification fails) is repaired by
 * rebuilding the store with lsm_repair_db, which keeps every block and WAL record that
 * still reads; the store is then reopened, verified again, and the other passes repair the
 * file-system-level fallout (e.g. entries whose inode lay in a lost block). Declined (or
 * -n, -p), the damage is reported with the engine's message (file and offset) and the run
 * ends with status 4 before any file system check, because rows read from a damaged store
 * cannot be trusted. A store that is open elsewhere (the LOCK is held) is refused with
 * status 8.
 */
#include "fsck.h"
#include "mounts.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct {
    int current, manifests, logs, tables, temps, strays;
} dir_census_t;

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n > m && strcmp(s + n - m, suf) == 0;
}

static int engine_name(const char *name, dir_census_t *c)
{
    if (strcmp(name, "CURRENT") == 0) {
        c->current = 1;
        return 1;
    }
    if (strcmp(name, "LOCK") == 0 || strcmp(name, "RESERVE") == 0)
        return 1;
    if (strncmp(name, "MANIFEST-", 9) == 0 && name[9]) {
        c->manifests++;
        return 1;
    }
    if (has_suffix(name, ".log")) {
        c->logs++;
        return 1;
    }
    if (has_suffix(name, ".sst")) {
        c->tables++;
        return 1;
    }
    if (has_suffix(name, ".tmp")) {
        c->temps++;
        return 1;
    }
    return 0;
}

static void census(fsck_t *f, dir_census_t *c)
{
    if (strncmp(f->store, "rados://", 8) == 0) {
        /* A store on RADOS has no folder to look through: the engine's open finds its
         * files; strays and temporaries are not counted there. */
        memset(c, 0, sizeof(*c));
        c->current = 1; /* a missing CURRENT shows as a failed open */
        return;
    }
    struct stat st;
    if (stat(f->store, &st) != 0)
        fsck_fatal(f, FSCK_EXIT_ERROR, "%s", strerror(errno));
    if (!S_ISDIR(st.st_mode))
        fsck_fatal(f, FSCK_EXIT_ERROR, "not a directory (an lsmfs store is a directory)");
    DIR *d = opendir(f->store);
    if (!d)
        fsck_fatal(f, FSCK_EXIT_ERROR, "cannot list the store: %s", strerror(errno));
    memset(c, 0, sizeof(*c));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (engine_name(e->d_name, c))
            continue;
        c->strays++;
        char esc[300];
        fsck_problem(f, 0, Q_NONE, "Warning: '%s' in the store is not a file of the engine "
                     "(left alone).", fsck_escape(e->d_name, strlen(e->d_name), esc, sizeof(esc)));
    }
    closedir(d);
}

/* Damage left unrepaired: say what and why, and end the run with status 4. `counted`:
 * fsck_problem already counted it (a declined rebuild). */
static void __attribute__((noreturn)) engine_damage_counted(fsck_t *f, const char *what,
                                                            const char *msg, int counted)
{
    fsck_progress_done(f);
    printf("%s: %s\n    %s\n"
           "The engine's files are damaged. The file system checks (passes 2-6) were not run.\n"
           "Run fsck.lsmfs -y to rebuild the store from its readable tables and WALs (what "
           "lay in the damaged parts is lost), or restore it from a backup.\n",
           f->name, what, msg);
    if (!counted) {
        f->problems++;
        f->unfixed++;
    }
    fsck_finish(f, FSCK_EXIT_UNCORRECTED);
}

static void __attribute__((noreturn)) engine_damage(fsck_t *f, const char *what, const char *msg)
{
    engine_damage_counted(f, what, msg, 0);
}

/* The engine's info log during fsck's opens. Everything fsck needs from an open comes
 * back as its error or a property (a WAL cut short: lsm.wal-gap, reported once by
 * wal_gap_problem), so the engine's own lines are shown only with -v, not on stderr from
 * each of the (up to three) opens. */
static void engine_log(void *arg, int level, const char *msg)
{
    fsck_info((fsck_t *)arg, 1, "engine (level %d): %s", level, msg);
}

static lsm_t *open_store(fsck_t *f, int read_only, int paranoid, char **err)
{
    lsm_options_t *o = lsm_options_create();
    if (!o)
        fsck_fatal(f, FSCK_EXIT_ERROR, "out of memory");
    lsm_options_set_create_if_missing(o, 0);
    lsm_options_set_paranoid_checks(o, (unsigned char)paranoid);
    lsm_options_set_disable_auto_compactions(o, 1);
    lsm_options_set_block_cache_size(o, 8u << 20);
    lsm_options_set_info_log(o, engine_log, f);
    lsm_t *db = read_only ? lsm_open_for_read_only(o, f->store, 0, err)
                          : lsm_open(o, f->store, err);
    lsm_options_destroy(o);
    return db;
}

/* 1 when a fuse.lsmfs mount has the store as its source (lsmfs's default fsname). */
static int store_is_mounted(const char *store)
{
    char real[PATH_MAX];
    fs_mount_t m;
    return realpath(store, real) && fs_mount_find(real, NULL, &m) == 0;
}

/* Opens the store; when it is locked but not mounted (umount returns ~1-2 s before the
 * daemon has closed it), says so and waits up to FSCK_BUSY_WAIT_S for the lock. */
#define FSCK_BUSY_WAIT_S 15
static lsm_t *open_store_waiting(fsck_t *f, int read_only, int paranoid, char **err)
{
    lsm_t *db = open_store(f, read_only, paranoid, err);
    if (db || lsm_error_errno(*err) != EBUSY || store_is_mounted(f->store))
        return db;
    printf("%s: in use, but not mounted: waiting up to %d s for the daemon that is closing "
           "it\n", f->store, FSCK_BUSY_WAIT_S);
    for (int i = 0; i < FSCK_BUSY_WAIT_S * 10 && !db && lsm_error_errno(*err) == EBUSY; i++) {
        lsm_free(*err);
        *err = NULL;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        db = open_store(f, read_only, paranoid, err);
    }
    return db;
}

/* The engine's description of a WAL cut short, or NULL (caller frees with lsm_free). */
static char *wal_gap(lsm_t *db)
{
    char *gap = lsm_property_value(db, "lsm.wal-gap");
    if (gap && !gap[0]) {
        lsm_free(gap);
        gap = NULL;
    }
    return gap;
}

/* Reports a WAL cut short; returns 1 when the history after the gap is to be kept (the
 * store may be opened read-write), 0 when declined (for -n: always). */
static int wal_gap_problem(fsck_t *f, const char *gap)
{
    return fsck_problem(f, 0, Q_RECOVER,
        "The write-ahead log was cut short in its middle: %s\nThis is not the torn last "
        "write of a crash: the log was truncated or lost part of its end after later writes "
        "had been logged. Recovery keeps the history after the gap (what the lost records "
        "wrote is gone; the file system checks repair what it breaks).", gap);
}

/* Before a read-write open: looks for a WAL cut short with a read-only open (which changes
 * nothing) and asks about it. Returns 0 when the check must stay read-only. */
static int probe_wal_gap(fsck_t *f)
{
    char *err = NULL;
    lsm_t *db = open_store_waiting(f, 1, 1, &err);
    if (!db) {
        lsm_free(err);   /* the real open reports it */
        return 1;
    }
    char *gap = wal_gap(db);
    lsm_close(db);
    int yes = 1;
    if (gap)
        yes = wal_gap_problem(f, gap);
    lsm_free(gap);
    return yes;
}

static int is_wal_message(const char *err)
{
    return strstr(err, ".log") != NULL;
}

/* Offers to rebuild a store whose tables, MANIFEST or CURRENT are damaged (`what`, `msg`:
 * the engine's complaint). Returns the rebuilt store, opened read-write; ends the run with
 * status 4 when declined (always for -n and -p) and 8 when the rebuild fails. */
static lsm_t *rebuild_store(fsck_t *f, const char *what, const char *msg)
{
    if (f->mode == FSCK_NO || f->mode == FSCK_PREEN)
        engine_damage(f, what, msg);
    if (!fsck_problem(f, 0, Q_REBUILD, "%s: %s\nRebuild the store from its readable tables "
                      "and WALs (what lies in the damaged parts is lost)", what, msg))
        engine_damage_counted(f, what, msg, 1);
    fsck_damage_collect(f);
    lsm_options_t *o = lsm_options_create();
    if (!o)
        fsck_fatal(f, FSCK_EXIT_ERROR, "out of memory");
    char *err = NULL;
    lsm_repair_db(o, f->store, &err);
    lsm_options_destroy(o);
    if (err) {
        if (lsm_error_errno(err) == EBUSY)
            fsck_fatal(f, FSCK_EXIT_ERROR, "%s is in use (mounted?)", f->name);
        fsck_fatal(f, FSCK_EXIT_ERROR, "rebuilding the store failed: %s", err);
    }
    f->changed = 1;
    lsm_t *db = open_store(f, 0, 1, &err);
    if (!db)
        fsck_fatal(f, FSCK_EXIT_ERROR, "the rebuilt store does not open: %s", err);
    lsm_verify_checksum(db, &err);
    if (err) {
        lsm_close(db);
        fsck_fatal(f, FSCK_EXIT_ERROR, "the rebuilt store does not verify: %s", err);
    }
    return db;
}

void fsck_pass_engine(fsck_t *f)
{
    fsck_pass_start(f, 1, "Checking the engine: files, MANIFEST, WAL replay, table checksums");
    dir_census_t c;
    census(f, &c);
    if (!c.current) {
        if (c.manifests == 0 && c.tables == 0 && c.logs == 0)
            fsck_fatal(f, FSCK_EXIT_ERROR, "not an lsmfs store (no CURRENT file; make one "
                       "with mkfs.lsmfs)");
        /* No store opens without CURRENT: the rebuild (if taken) makes one. */
        lsm_t *db = rebuild_store(f, "CURRENT is missing",
                                  "the engine cannot tell which MANIFEST is live");
        f->db = db;
        f->read_only = 0;
        fsck_info(f, 1, "  rebuilt from %d table file(s) and %d log file(s)", c.tables, c.logs);
        return;
    }
    fsck_progress(f, 1, 4);

    int read_only = f->mode == FSCK_NO;
    if (!read_only && !probe_wal_gap(f))
        read_only = 1;
    int gap_asked = !read_only || f->mode != FSCK_NO;
    char *err = NULL;
    lsm_t *db = open_store_waiting(f, read_only, 1, &err);
    if (db && !gap_asked) {
        char *gap = wal_gap(db);
        if (gap)
            wal_gap_problem(f, gap);
        lsm_free(gap);
    } else if (db && !read_only && f->problems) {
        char *gap = wal_gap(db);
        if (gap)
            f->changed = 1;   /* replay kept the history after the gap */
        lsm_free(gap);
    }
    uint64_t total, free_bytes, avail;
    if (!db && strncmp(f->store, "rados://", 8) == 0 &&
        lsm_location_space(f->store, &total, &free_bytes, &avail) != 0)
        /* the cluster or the pool cannot be used: an operational error, never damage */
        fsck_fatal(f, FSCK_EXIT_ERROR, "cannot open the store: %s (nothing was checked or "
                   "changed)", err);
    if (!db) {
        int e = lsm_error_errno(err);
        if (e == EBUSY) {
            lsm_free(err);
            fsck_fatal(f, FSCK_EXIT_ERROR, "%s is in use (mounted?)", f->name);
        }
        if (e == EUCLEAN && is_wal_message(err)) {
            int yes = fsck_problem(f, 0, Q_RECOVER,
                "The write-ahead log is damaged: %s\nRecovery keeps every batch written before "
                "the damage and discards the rest (point-in-time recovery).", err);
            lsm_free(err);
            err = NULL;
            /* Declined: still check what recovery would keep, without writing anything. */
            read_only = read_only || !yes;
            db = open_store(f, read_only, 0, &err);
            if (db && !read_only)
                f->changed = 1;  /* recovery rewrote the store without the damaged tail */
        }
    }
    if (!db) {
        int e = lsm_error_errno(err);
        if (e == EBUSY)
            fsck_fatal(f, FSCK_EXIT_ERROR, "%s is in use (mounted?)", f->name);
        if ((e == EUCLEAN || e == ENOENT || e == EIO) && is_wal_message(err))
            engine_damage(f, "the store cannot be opened", err);
        if (e == EUCLEAN || e == ENOENT || e == EIO) {
            db = rebuild_store(f, "the store cannot be opened", err);
            lsm_free(err);
            err = NULL;
            read_only = 0;
        }
    }
    if (!db)
        fsck_fatal(f, FSCK_EXIT_ERROR, "cannot open the store: %s", err);
    f->db = db;
    f->read_only = read_only;
    fsck_progress(f, 2, 4);

    lsm_verify_checksum(db, &err);
    if (err) {
        int e = lsm_error_errno(err);
        if (e == ENOMEM)
            fsck_fatal(f, FSCK_EXIT_ERROR, "verifying the tables: %s", err);
        if (f->mode == FSCK_NO || f->mode == FSCK_PREEN)
            engine_damage(f, "a table is damaged or missing", err);
        lsm_close(db);
        f->db = NULL;
        db = rebuild_store(f, "a table is damaged or missing", err);
        lsm_free(err);
        err = NULL;
        f->db = db;
        f->read_only = 0;
    }
    fsck_progress(f, 4, 4);
    fsck_info(f, 1, "  %d table file(s), %d log file(s), %d manifest(s): opened, WAL replayed, "
              "every table block matches its checksum", c.tables, c.logs, c.manifests);
}
