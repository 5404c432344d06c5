/*
 * online.c - checking a store while it is mounted: `fsck.lsmfs -n MNT`, or `-n STORE`
 * while a daemon has it.
 *
 * The daemon holds the store's LOCK, so fsck cannot open the store itself. It asks the
 * daemon instead, through lsmfsctl's ioctl on the mount root (fs/ctl_proto.h), for a
 * checkpoint (lsm_checkpoint_create: hard links to the tables, copies of the MANIFEST and
 * the WAL tail, consistent with one sequence number) in a new directory beside the store,
 * on the same file system so the links cost no space. The usual passes then run, read-only,
 * on the checkpoint in a child process; the parent waits for it and removes the checkpoint
 * whatever the child's outcome (a cancel with ^C included: the parent ignores SIGINT and
 * SIGTERM and lets the child stop at a row boundary). The mount is held up only for the
 * checkpoint's instant.
 *
 * What an online check sees is the store as of the checkpoint: the tables the daemon uses
 * (damage in one of them is damage in both, they are the same file) and the writes acked
 * before it. Repairs need the store itself, so only -n runs online; -p/-y on a mounted
 * store exit 8 saying to unmount. Stores on RADOS are not checked online (no checkpoint
 * there).
 *
 * A mount whose daemon is dead is not "mounted" here: its store is free, and fsck checks
 * (and repairs) it as usual.
 *
 * Invariants: the checkpoint directory is created by the daemon and is removed by this
 * process before it exits, on every path after it exists; nothing of the live store is
 * written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl_proto.h"
#include "fsck.h"
#include "mounts.h"

int fsck_online_find(const char *arg, char *store, size_t sn, char *mnt, size_t mn)
{
    char real[PATH_MAX];
    if (strncmp(arg, "rados://", 8) == 0 || !realpath(arg, real))
        return 0;
    fs_mount_t m;
    if (fs_mount_find(real, NULL, &m) != 0 && fs_mount_find(NULL, real, &m) != 0)
        return 0;
    snprintf(store, sn, "%s", m.source);
    snprintf(mnt, mn, "%s", m.point);
    /* A mount whose daemon is dead (killed, crashed, its connection aborted) stays listed
     * until unmounted; its store is not in use, so it is checked as an unmounted one. */
    struct statfs sf;
    if (statfs(mnt, &sf) != 0 &&
        (errno == ENOTCONN || errno == ECONNABORTED || errno == ECANCELED))
        return 0;
    return 1;
}

/* Asks the daemon of `mnt` for a checkpoint in `dir` (absolute, not existing). 0 or -1 with
 * the reason printed. */
static int ask_checkpoint(const char *mnt, const char *dir)
{
    struct lsmfs_ctl *c = malloc(sizeof(*c));
    if (!c) {
        fprintf(stderr, "fsck.lsmfs: out of memory\n");
        return -1;
    }
    int r = fs_ctl_call(mnt, LSMFS_CTL_CHECKPOINT, dir, c);
    if (r < 0) {
        fprintf(stderr, "fsck.lsmfs: %s: cannot ask the daemon for a checkpoint: %s\n", mnt,
                strerror(-r));
    } else if (c->error) {
        fprintf(stderr, "fsck.lsmfs: %s: the daemon could not make a checkpoint: %s (%s)\n",
                mnt, c->data, strerror(c->error));
        r = -1;
    }
    free(c);
    return r < 0 ? -1 : 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP ? rmdir(path) : unlink(path))
        fprintf(stderr, "fsck.lsmfs: removing the checkpoint: %s: %s\n", path, strerror(errno));
    return 0;
}

/* Removes the checkpoint (and the half-made `<dir>.tmp` a failed one may leave). */
static void remove_checkpoint(const char *dir)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", dir);
    struct stat st;
    if (lstat(dir, &st) == 0)
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (lstat(tmp, &st) == 0)
        nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int fsck_online_start(fsck_t *f, const char *store, const char *mnt, char *ckpt, size_t n,
                      int *code)
{
    if (f->mode != FSCK_NO) {
        fprintf(stderr, "fsck.lsmfs: %s is mounted on %s: only -n checks a mounted store "
                "(online, on a checkpoint); unmount it to repair\n", store, mnt);
        return -1;
    }
    char copy[PATH_MAX];
    snprintf(copy, sizeof(copy), "%s", store);
    char base[NAME_MAX + 1];
    snprintf(base, sizeof(base), "%s", basename(copy));
    snprintf(copy, sizeof(copy), "%s", store);
    const char *parent = dirname(copy);
    if ((size_t)snprintf(ckpt, n, "%s/.%s.fsck-%ld", parent, base, (long)getpid()) >= n) {
        fprintf(stderr, "fsck.lsmfs: %s: path too long for a checkpoint beside it\n", store);
        return -1;
    }
    remove_checkpoint(ckpt); /* a leftover of a killed run with our pid */
    if (ask_checkpoint(mnt, ckpt) != 0) {
        remove_checkpoint(ckpt);
        return -1;
    }
    printf("%s: mounted on %s: checking a checkpoint of it taken now\n", store, mnt);
    fflush(stdout);

    struct sigaction ign, old_int, old_term;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGTERM, &ign, &old_term);
    pid_t pid = fork();
    if (pid == 0) { /* the child checks; main() installs its own signal handlers */
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        return 0;
    }
    *code = FSCK_EXIT_ERROR;
    if (pid < 0) {
        fprintf(stderr, "fsck.lsmfs: fork: %s\n", strerror(errno));
    } else {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        if (WIFEXITED(status))
            *code = WEXITSTATUS(status);
        else
            fprintf(stderr, "fsck.lsmfs: the check of the checkpoint died (signal %d)\n",
                    WTERMSIG(status));
    }
    remove_checkpoint(ckpt);
    return 1;
}
