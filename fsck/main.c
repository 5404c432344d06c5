/*
 * main.c - fsck.lsmfs: command line, signals, the sequence of passes and the summary.
 *
 *   fsck.lsmfs [-n|-p|-a|-y] [-f] [-v] [-C fd] [-o rados-options] STORE|MOUNTPOINT
 *
 * A mounted store is checked online, with -n only, on a checkpoint (online.c).
 *
 * Options and exit status are e2fsck's (see docs/FSCK.md). Without -n/-p/-y every fix is
 * asked on the terminal; with no terminal on stdin the run is read-only, as -n. SIGINT
 * and SIGTERM only set a flag that the passes poll between rows: the run stops at a row
 * boundary, keeps (and syncs) the fixes already made and exits with 32 (| 1 if it fixed
 * anything). The signal flag is the one piece of static state, as a handler needs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsck.h"
#include "version.h"
#include "rados_opts.h"

static volatile sig_atomic_t cancel_requested;

static void on_signal(int sig)
{
    (void)sig;
    cancel_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
"usage: fsck.lsmfs [-n|-p|-a|-y] [-f] [-v] [-C fd] [-o opts] STORE|MOUNTPOINT\n"
"  a mounted store is checked online with -n (on a checkpoint its daemon makes)\n"
"  -n      check only: open the store read-only, change nothing, answer no\n"
"  -p, -a  preen: make every safe fix without asking, stop at anything else\n"
"  -y      answer yes to every fix\n"
"          (none of these: ask on the terminal for each fix)\n"
"  -f      check even if clean (always done; accepted for fsck(8))\n"
"  -v      verbose: per-pass details and a detailed summary\n"
"  -C fd   progress: a bar on stdout (fd 0) or lines for fsck(8) on fd\n"
"  -o OPTS for a rados://POOL/NAME store: conf=PATH,id=CLIENT,rados_timeout=SECONDS,\n"
"          lease=SECONDS,takeover (as lsmfs -o; see docs/SCALE.md)\n"
"  -V, --version  print the version\n"
"exit status: 0 clean, 1 errors corrected, 4 errors left uncorrected, 8 operational\n"
"error, 16 usage error, 32 cancelled\n");
}

/* The summary line (and with -v the details); `snap`: the snapshot's name, or NULL. */
static void summary(fsck_t *f, const char *snap)
{
    fsck_counts_t *c = &f->counts;
    for (size_t i = 0; i < f->itab.n; i++) {
        const fsck_inode_t *r = &f->itab.in[i];
        if (r->flags & IT_REMOVED)
            continue;
        c->inodes++;
        switch (r->mode & S_IFMT) {
        case S_IFDIR: c->dirs++; break;
        case S_IFREG: c->regular++; c->file_bytes += r->size; break;
        case S_IFLNK: c->symlinks++; break;
        default: c->specials++; break;
        }
    }
    uint64_t issued = f->sb.inode_hwm > 1 ? f->sb.inode_hwm - 1 : 0;
    printf("%s%s%s: %llu/%llu files (%llu directories, %llu regular files, %llu symlinks, "
           "%llu other), %llu blocks, %llu bytes\n", f->name, snap ? "@" : "", snap ? snap : "",
           (unsigned long long)c->inodes, (unsigned long long)issued,
           (unsigned long long)c->dirs, (unsigned long long)c->regular,
           (unsigned long long)c->symlinks, (unsigned long long)c->specials,
           (unsigned long long)c->blocks, (unsigned long long)c->file_bytes);
    if (f->verbose) {
        printf("\n%12llu inodes used (of %llu numbers issued)\n"
               "%12llu directories\n%12llu regular files\n%12llu symbolic links\n"
               "%12llu devices, fifos and sockets\n%12llu orphans\n"
               "%12llu extended attributes\n%12llu data blocks of %u bytes (%llu bytes stored)\n"
               "%12llu bytes in regular files\n",
               (unsigned long long)c->inodes, (unsigned long long)issued,
               (unsigned long long)c->dirs, (unsigned long long)c->regular,
               (unsigned long long)c->symlinks, (unsigned long long)c->specials,
               (unsigned long long)c->orphans, (unsigned long long)c->xattrs,
               (unsigned long long)c->blocks, f->sb.block_size,
               (unsigned long long)c->block_bytes, (unsigned long long)c->file_bytes);
        printf("%12u problems: %u fixed, %u left, %u warnings\n", f->problems, f->fixed,
               f->unfixed, f->warnings);
    }
}

/* Passes 2-6: the tree as f->ropt reads it (the live store, or f->snap's point). */
static void check_tree(fsck_t *f)
{
    fsck_pass_super(f);
    fsck_poll_cancel(f);
    fsck_pass_inodes(f);
    fsck_poll_cancel(f);
    fsck_pass_dirs(f);
    fsck_poll_cancel(f);
    fsck_pass_links(f);
    fsck_poll_cancel(f);
    fsck_pass_data(f);
    fsck_pass_end(f);
}

/* Every persistent snapshot's tree (lsmfsctl snapshot create), checked read-only after the
 * live one: a snapshot is immutable, so what is wrong in it is reported and counted as
 * left uncorrected (exit 4), whatever the mode; deleting the snapshot is the remedy. */
static void check_snapshots(fsck_t *f)
{
    char **names = NULL;
    uint64_t *seqs = NULL;
    size_t n = lsm_list_persistent_snapshots(f->db, &names, &seqs);
    fsck_mode_t mode = f->mode;
    for (size_t i = 0; i < n && !*f->cancel; i++) {
        const lsm_snapshot_t *s = lsm_get_persistent_snapshot(f->db, names[i]);
        if (!s)
            continue;
        fsck_info(f, 0, "\nSnapshot %s (sequence %llu): checking its tree, read-only",
                  names[i], (unsigned long long)seqs[i]);
        /* a fresh run of passes 2-6 at the snapshot's point */
        memset(&f->sb, 0, sizeof(f->sb));
        f->have_sb = 0;
        itab_free(&f->itab);
        f->lf_ino = 0;
        f->max_ino = 0;
        memset(&f->counts, 0, sizeof(f->counts));
        unsigned unfixed = f->unfixed, problems = f->problems;
        f->mode = FSCK_NO;
        f->snap = s;
        lsm_readoptions_set_snapshot(f->ropt, s);
        check_tree(f);
        lsm_readoptions_set_snapshot(f->ropt, NULL);
        f->snap = NULL;
        f->mode = mode;
        lsm_release_snapshot(f->db, s);
        if (f->problems > problems)
            printf("%s: snapshot %s: %u problem(s) in its tree; a snapshot cannot be repaired "
                   "(delete it with lsmfsctl snapshot delete MNT %s)\n", f->name, names[i],
                   f->problems - problems, names[i]);
        f->unfixed = unfixed + (f->problems - problems);
        summary(f, names[i]);
    }
    lsm_free_persistent_snapshot_list(names, seqs, n);
}

static int parse_fd(const char *s, int *fd)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 1000000)
        return -1;
    *fd = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    fsck_t f;
    memset(&f, 0, sizeof(f));
    f.progress_fd = -1;
    f.cancel = &cancel_requested;
    int modes = 0, c;
    fsck_mode_t mode = FSCK_ASK;
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                                   {"version", no_argument, NULL, 'V'},
                                                   {NULL, 0, NULL, 0}};
    while ((c = getopt_long(argc, argv, "npayfvC:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': mode = FSCK_NO; modes |= 1; break;
        case 'p': case 'a': mode = FSCK_PREEN; modes |= 2; break;
        case 'y': mode = FSCK_YES; modes |= 4; break;
        case 'f': break;
        case 'v': f.verbose = 1; break;
        case 'C':
            if (parse_fd(optarg, &f.progress_fd) != 0) {
                fprintf(stderr, "fsck.lsmfs: bad progress file descriptor '%s'\n", optarg);
                return FSCK_EXIT_USAGE;
            }
            break;
        case 'o':
            if (fs_rados_opts_parse("fsck.lsmfs", optarg) != 0)
                return FSCK_EXIT_USAGE;
            break;
        case 'h': usage(stdout); return FSCK_EXIT_OK;
        case 'V':
            printf("fsck.lsmfs %s (store format %d, lsmfs format %d)\n", LSMFS_VERSION_STRING,
                   LSM_FORMAT_VERSION, FS_FORMAT_VERSION);
            return FSCK_EXIT_OK;
        default: usage(stderr); return FSCK_EXIT_USAGE;
        }
    }
    if (modes & (modes - 1)) {
        fprintf(stderr, "fsck.lsmfs: only one of the options -p/-a, -n or -y may be given\n");
        return FSCK_EXIT_USAGE;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "fsck.lsmfs: %s\n", optind >= argc ? "missing STORE" : "too many arguments");
        usage(stderr);
        return FSCK_EXIT_USAGE;
    }
    f.store = argv[optind];
    if (f.progress_fd > 0 && fcntl(f.progress_fd, F_GETFD) < 0)
        f.progress_fd = -1;  /* as e2fsck: a closed descriptor means no progress */
    if (mode == FSCK_ASK && !isatty(STDIN_FILENO)) {
        printf("%s: stdin is not a terminal: checking read-only, as with -n\n", f.store);
        mode = FSCK_NO;
    }
    f.mode = mode;
    f.name = f.store;
    f.now = (int64_t)time(NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Mounted: -n checks a checkpoint the daemon makes (online.c); repairs need it unmounted. */
    char online_store[PATH_MAX + 1], online_mnt[PATH_MAX + 1], ckpt[PATH_MAX + 1];
    if (fsck_online_find(f.store, online_store, sizeof(online_store), online_mnt,
                         sizeof(online_mnt))) {
        int code;
        int r = fsck_online_start(&f, online_store, online_mnt, ckpt, sizeof(ckpt), &code);
        if (r < 0)
            return FSCK_EXIT_ERROR;
        if (r > 0)
            return code;
        f.store = ckpt;
        f.name = online_store;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    f.ropt = lsm_readoptions_create();
    f.wopt = lsm_writeoptions_create();
    if (!f.ropt || !f.wopt)
        fsck_fatal(&f, FSCK_EXIT_ERROR, "out of memory");
    lsm_readoptions_set_verify_checksums(f.ropt, 1);
    lsm_readoptions_set_fill_cache(f.ropt, 0);

    fsck_pass_engine(&f);
    fsck_poll_cancel(&f);
    check_tree(&f);
    fsck_damage_report(&f);

    if (f.changed)
        printf("\n%s: ***** FILE SYSTEM WAS MODIFIED *****\n", f.name);
    summary(&f, NULL);
    check_snapshots(&f);
    fsck_finish(&f, FSCK_EXIT_OK);
}
