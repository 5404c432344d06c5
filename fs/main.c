/*
 * main.c - the lsmfs command: `lsmfs [-f] [-d] [-o opt,...] STORE MOUNTPOINT`.
 *
 * Arguments may come in any order (mount.fuse3 runs `lsmfs STORE MNT -o opts`). Unless
 * -f is given the daemon detaches, but only after the store is open and the mount is up:
 * the parent waits on a pipe for the child's verdict, so errors (unknown option, store in
 * use, not a store, bad mountpoint) reach the terminal and the exit status. Then the
 * libfuse multi-threaded loop serves requests until unmount (or SIGINT/SIGTERM/SIGHUP),
 * after which the store is flushed, synced and closed.
 */
#include "fs.h"
#include "devio.h"
#include "ops_ioctl.h"
#include "ops_table.h"
#include "log.h"
#include "control.h"
#include "uring.h"
#include "snapview.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
"usage: lsmfs [-f] [-d] [-o opt[,opt...]] STORE MOUNTPOINT\n"
"Mounts the lsmfs store STORE (made by mkfs.lsmfs) on MOUNTPOINT.\n"
"\n"
"  -f                 stay in the foreground\n"
"  -d                 debug output (implies -f)\n"
"  -o OPTS            comma-separated options:\n"
"     ro               read-only\n"
"     sync             every change is synced to the device before it is acknowledged\n"
"     allow_other      let other users access the mount (default_permissions is always on)\n"
"     noatime|relatime|strictatime   access time policy (default relatime)\n"
"     entry_timeout=S, attr_timeout=S  kernel cache timeouts in seconds (default 60)\n"
"     block_cache=SIZE  engine block cache (default 64M)\n"
"     write_buffer=SIZE memtable size (default 64M)\n"
"     reserve=SIZE     space held back in the store for deletes on a full disk\n"
"                      (default: write_buffer, at most 1%% of the store's file\n"
"                      system; 0 = none)\n"
"     writeback        enable the kernel writeback cache (faster many-small-writes, but\n"
"                      data reaches the store only at writeback/fsync; default off)\n"
"     nowriteback      no kernel writeback cache (default)\n"
"     uring            serve requests through FUSE-over-io_uring when the kernel offers\n"
"                      it (default; needs /sys/module/fuse/parameters/enable_uring = Y,\n"
"                      else /dev/fuse is used and one line says so)\n"
"     nouring          always use read/write on /dev/fuse\n"
"     acl, noacl       POSIX ACLs (setfacl/getfacl) on (default) or off\n"
"     uring_threads=N  io_uring workers per CPU queue (default 4, 1-64)\n"
"     uring_poll=US    after a reply, an io_uring worker spins up to US microseconds\n"
"                      for the next request before it sleeps (default 0, 0-1000)\n"
"     uring_nopin      do not pin io_uring workers to their queue's CPU\n"
"     fsname=NAME      name shown in /proc/mounts (default: the store path)\n"
"     log=FILE         append the daemon's messages to FILE (absolute path) instead of\n"
"                      syslog (when detached) or stderr (-f)\n"
"     dev,nodev,suid,nosuid,exec,noexec,dirsync,max_read=N  handed to the kernel\n"
"     remount[,ro|rw] remount the live mount on MOUNTPOINT (what `mount -o remount`\n"
"                      runs); tells its daemon, starts none\n"
"  -h, --help         this text\n"
"  -V, --version      version\n"
"\n"
"Unmount with `fusermount3 -u MOUNTPOINT` or `umount MOUNTPOINT`.\n");
}

/* Parses argv into opts. Returns 0 to go on, 1 for "done, exit 0", -1 for a usage error. */
static int parse_args(int argc, char **argv, fs_opts_t *o)
{
    const char *pos[2] = {NULL, NULL};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("lsmfs %s (libfuse %d, store format %d, lsmfs format %d)\n", LSMFS_VERSION,
                   fuse_version(), LSM_FORMAT_VERSION, FS_FORMAT_VERSION);
            return 1;
        } else if (strcmp(a, "-f") == 0) {
            o->foreground = 1;
        } else if (strcmp(a, "-d") == 0 || strcmp(a, "--debug") == 0) {
            o->debug = 1;
            o->foreground = 1;
        } else if (strcmp(a, "-s") == 0) {
            /* single-threaded in libfuse terms: accepted for compatibility, ignored */
        } else if (strncmp(a, "-o", 2) == 0) {
            const char *list = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
            if (!list) {
                fprintf(stderr, "lsmfs: -o needs an argument\n");
                return -1;
            }
            if (fs_opts_parse(o, list) != 0)
                return -1;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "lsmfs: unknown flag '%s' (see lsmfs --help)\n", a);
            return -1;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "lsmfs: too many arguments ('%s')\n", a);
            return -1;
        }
    }
    if (npos != 2) {
        fprintf(stderr, "lsmfs: need STORE and MOUNTPOINT (see lsmfs --help)\n");
        return -1;
    }
    char buf[PATH_MAX];
    if (strncmp(pos[0], "rados://", 8) == 0) /* a RADOS store is no local path */
        snprintf(buf, sizeof(buf), "%s", pos[0]);
    else if (!realpath(pos[0], buf)) {
        fprintf(stderr, "lsmfs: %s: %s\n", pos[0], strerror(errno));
        return -1;
    }
    o->store = strdup(buf);
    if (!realpath(pos[1], buf)) {
        fprintf(stderr, "lsmfs: mountpoint %s: %s\n", pos[1], strerror(errno));
        return -1;
    }
    o->mountpoint = strdup(buf);
    return o->store && o->mountpoint ? 0 : -1;
}

/* Forks; the parent waits for one status byte from the child and exits with it. */
static int detach(int *notify_fd)
{
    int p[2];
    if (pipe(p) != 0) {
        perror("lsmfs: pipe");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("lsmfs: fork");
        return -1;
    }
    if (pid > 0) {
        close(p[1]);
        unsigned char st = 1;
        ssize_t n;
        do
            n = read(p[0], &st, 1);
        while (n < 0 && errno == EINTR);
        _exit(n == 1 ? st : 1);
    }
    close(p[0]);
    setsid();
    *notify_fd = p[1];
    return 0;
}

static void notify(int *fd, unsigned char status)
{
    if (*fd < 0)
        return;
    ssize_t n = write(*fd, &status, 1);
    (void)n;
    close(*fd);
    *fd = -1;
}

static void quiet_stdio(void)
{
    int nul = open("/dev/null", O_RDWR);
    if (nul < 0)
        return;
    dup2(nul, 0);
    dup2(nul, 1);
    dup2(nul, 2);
    if (nul > 2)
        close(nul);
}

int main(int argc, char **argv)
{
    if (fs_remount_requested(argc, argv)) /* mount -o remount: no new daemon */
        return fs_remount_run(argc, argv);
    fs_opts_t opts;
    fs_opts_init(&opts);
    int r = parse_args(argc, argv, &opts);
    if (r != 0) {
        fs_opts_free(&opts);
        return r > 0 ? 0 : 1;
    }
    if (fs_log_start(&opts) != 0) {
        fs_opts_free(&opts);
        return 1;
    }
    int notify_fd = -1;
    if (!opts.foreground && detach(&notify_fd) != 0)
        return 1;

    int status = 1;
    struct fuse_session *se = NULL;
    int mounted = 0, handlers = 0;
    fs_devio_t devio; /* outlives the session: destroyed before main returns */
    fs_t *fs = fs_open(&opts);
    if (!fs)
        goto out;

    /* libfuse arguments: argv0, -o <our mount options>, [-d] */
    char *fo = NULL;
    if (asprintf(&fo, "fsname=%s,subtype=lsmfs,default_permissions%s%s%s%s",
                 opts.fsname ? opts.fsname : opts.store, opts.allow_other ? ",allow_other" : "",
                 opts.ro ? ",ro" : "", opts.fuse_opts ? "," : "",
                 opts.fuse_opts ? opts.fuse_opts : "") < 0)
        goto out;
    char *fargv[5] = {argv[0], "-o", fo, NULL, NULL};
    int fargc = 3;
    if (opts.debug)
        fargv[fargc++] = "-d";
    struct fuse_args args = FUSE_ARGS_INIT(fargc, fargv);
    struct fuse_lowlevel_ops ops = fs_ops; /* a copy: the session keeps its own */
    fs_snapview_install(&ops);             /* MNT/.snapshots wraps some entries */
    se = fuse_session_new(&args, &ops, sizeof(ops), fs);
    fuse_opt_free_args(&args);
    free(fo);
    if (!se) {
        fprintf(stderr, "lsmfs: cannot start the FUSE session (options rejected by libfuse)\n");
        goto out;
    }
    fs->se = se;
    if (!(fs->snapview = fs_snapview_create(fs)))
        goto out;
    if (fuse_set_signal_handlers(se) != 0)
        goto out;
    handlers = 1;
    if (fuse_session_mount(se, opts.mountpoint) != 0) {
        fprintf(stderr, "lsmfs: cannot mount on %s\n", opts.mountpoint);
        goto out;
    }
    mounted = 1;
    if (opts.uring) {
        /* the kernel's largest request: max_write and max_pages are 1 MiB (fs_init) */
        fs_uring_conf_t uc = {.per_queue = opts.uring_threads, .poll_us = opts.uring_poll,
                              .nopin = opts.uring_nopin};
        r = fs_uring_setup(&fs->uring, se, fuse_session_fd(se), &uc, (1u << 20) + 4096);
        if (r != 0)
            fuse_log(FUSE_LOG_NOTICE, "lsmfs: cannot set up the io_uring transport (%s); "
                     "requests go through /dev/fuse\n", strerror(-r));
    }
    fs->devio = &devio;
    if ((r = fs_devio_attach(fs->devio, se, fs->uring)) != 0) {
        fprintf(stderr, "lsmfs: cannot set up /dev/fuse I/O: %s\n", strerror(-r));
        goto out;
    }
    fs->ctl = fs_ctl_start(fs);
    if (!opts.foreground) {
        notify(&notify_fd, 0);
        if (chdir("/") != 0) { /* not fatal */ }
        quiet_stdio();
        fs_log_detached();
    }
    struct fuse_loop_config *cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, 32);
    fuse_loop_cfg_set_clone_fd(cfg, 0);
    r = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
    status = r == 0 ? 0 : 1;
out:
    if (fs) {
        /* join the ring workers before the handlers' state (fs->se, /dev/fuse) goes away */
        fs_uring_quiesce(fs->uring);
        fs_ctl_stop(fs->ctl);
        fs->ctl = NULL;
        fs->se = NULL;
    }
    if (mounted)
        fuse_session_unmount(se);
    if (fs && fs->uring) { /* after the unmount: the kernel has let go of every entry */
        fs_uring_info_t ui;
        fs_uring_info(fs->uring, &ui);
        fuse_log(FUSE_LOG_INFO, "lsmfs: io_uring served %llu requests (%u queues x %u; "
                 "%llu found by polling)\n", (unsigned long long)ui.requests, ui.queues,
                 ui.per_queue, (unsigned long long)ui.polled);
        fs_uring_stop(fs->uring);
        fs->uring = NULL;
    }
    if (handlers)
        fuse_remove_signal_handlers(se);
    if (se)
        fuse_session_destroy(se);
    fs_close(fs);
    notify(&notify_fd, (unsigned char)status);
    fs_log_stop();
    fs_opts_free(&opts);
    return status;
}
