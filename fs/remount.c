/*
 * remount.c - `lsmfs [SOURCE] MOUNTPOINT -o remount[,ro|rw][,flags]`, which mount(8) runs
 * (through mount.fuse3) for `mount -o remount,ro MOUNTPOINT`.
 *
 * No daemon is started. The existing lsmfs mount on MOUNTPOINT is remounted with mount(2)
 * and MS_REMOUNT, keeping every per-mount flag the options do not change (MS_REMOUNT sets
 * them all), and its daemon is told through the control channel (control.h):
 *   to read-only:  kernel first (from then on no new write reaches the daemon; the kernel
 *                  writes back dirty pages, and refuses with EBUSY while a file is open for
 *                  writing), then the daemon (refuse changes, flush, sync);
 *   to read-write: daemon first (it may refuse: store opened with -o ro), then the kernel;
 *                  if the kernel refuses, the daemon is set back to read-only.
 * Options: ro/rw and the VFS flags (nosuid, nodev, noexec, noatime, ...) take effect; what
 * mount(8) copies from /proc/mounts (user_id=, group_id=, allow_other, ...) and fstab
 * bookkeeping are ignored; the daemon's own options (sync, writeback, timeouts, sizes)
 * cannot change on a live mount and are ignored with a warning; anything else is an error.
 */
#include "fs.h"
#include "control.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define FUSE_MAGIC 0x65735546

/* A VFS flag an option sets (on) or clears (off). */
static const struct { const char *on, *off; unsigned long flag; } vfs_flags[] = {
    {"ro", "rw", MS_RDONLY},          {"nosuid", "suid", MS_NOSUID},
    {"nodev", "dev", MS_NODEV},       {"noexec", "exec", MS_NOEXEC},
    {"noatime", "atime", MS_NOATIME}, {"nodiratime", "diratime", MS_NODIRATIME},
    {"dirsync", NULL, MS_DIRSYNC},    {"lazytime", "nolazytime", MS_LAZYTIME},
};
static const char *const ignored[] = {
    "remount", "defaults", "auto", "noauto", "user", "nouser", "users", "owner", "group",
    "_netdev", "nofail", "async", "loud", "silent", "default_permissions", "allow_other",
    "allow_root", "auto_unmount", NULL,
};
static const char *const ignored_keys[] = {
    "user_id", "group_id", "fsname", "subtype", "max_read", "blksize", "rootmode", "comment",
    NULL,
};
static const char *const daemon_opts[] = {
    "sync", "writeback", "nowriteback", "debug", "entry_timeout", "attr_timeout",
    "block_cache", "write_buffer", "reserve", NULL,
};

static int in_list(const char *const *l, const char *s, size_t n)
{
    for (int i = 0; l[i]; i++)
        if (strlen(l[i]) == n && strncmp(l[i], s, n) == 0)
            return 1;
    return 0;
}

/* Applies one option to *flags. 0, or -1 after a message. */
static int one_opt(const char *opt, unsigned long *flags)
{
    size_t klen = strcspn(opt, "=");
    int has_val = opt[klen] == '=';
    if (klen == 0 || (!has_val && in_list(ignored, opt, klen)) ||
        (has_val && in_list(ignored_keys, opt, klen)) || strncmp(opt, "x-", 2) == 0)
        return 0;
    if (in_list(daemon_opts, opt, klen)) {
        fprintf(stderr, "lsmfs: remount: '%s' cannot change on a mounted lsmfs; ignored "
                "(unmount and mount again to change it)\n", opt);
        return 0;
    }
    if (!has_val) {
        if (strcmp(opt, "relatime") == 0 || strcmp(opt, "strictatime") == 0) {
            *flags &= ~(unsigned long)(MS_NOATIME | MS_RELATIME | MS_STRICTATIME);
            *flags |= opt[0] == 'r' ? MS_RELATIME : MS_STRICTATIME;
            return 0;
        }
        for (size_t i = 0; i < sizeof(vfs_flags) / sizeof(vfs_flags[0]); i++) {
            if (strcmp(opt, vfs_flags[i].on) == 0) {
                *flags |= vfs_flags[i].flag;
                if (vfs_flags[i].flag == MS_NOATIME)
                    *flags &= ~(unsigned long)(MS_RELATIME | MS_STRICTATIME);
                return 0;
            }
            if (vfs_flags[i].off && strcmp(opt, vfs_flags[i].off) == 0) {
                *flags &= ~vfs_flags[i].flag;
                return 0;
            }
        }
    }
    fprintf(stderr, "lsmfs: remount: unknown or invalid option '%s'\n", opt);
    return -1;
}

/* Every token of every -o list, applied in order. */
static int apply_opts(int argc, char **argv, unsigned long *flags)
{
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "-o", 2) != 0)
            continue;
        const char *list = argv[i][2] ? argv[i] + 2 : (i + 1 < argc ? argv[++i] : "");
        char *copy = strdup(list), *save = NULL;
        if (!copy)
            return -1;
        int r = 0;
        for (char *t = strtok_r(copy, ",", &save); t && r == 0; t = strtok_r(NULL, ",", &save))
            r = one_opt(t, flags);
        free(copy);
        if (r)
            return -1;
    }
    return 0;
}

int fs_remount_requested(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "-o", 2) != 0)
            continue;
        const char *l = argv[i][2] ? argv[i] + 2 : (i + 1 < argc ? argv[i + 1] : "");
        for (const char *p = l; (p = strstr(p, "remount")) != NULL; p += 7)
            if ((p == l || p[-1] == ',') && (p[7] == '\0' || p[7] == ','))
                return 1;
    }
    return 0;
}

/* The mountpoint: the last argument that is neither a flag nor an -o list. */
static const char *find_mountpoint(int argc, char **argv)
{
    const char *mnt = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0)
            i++;
        else if (argv[i][0] != '-')
            mnt = argv[i];
    }
    return mnt;
}

/* The mount's current flags as mount(2) flags. */
static unsigned long current_flags(const struct statvfs *v)
{
    static const struct { unsigned long st, ms; } map[] = {
        {ST_RDONLY, MS_RDONLY},     {ST_NOSUID, MS_NOSUID},   {ST_NODEV, MS_NODEV},
        {ST_NOEXEC, MS_NOEXEC},     {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME},
        {ST_RELATIME, MS_RELATIME}, {ST_SYNCHRONOUS, MS_SYNCHRONOUS},
    };
    unsigned long f = 0;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (v->f_flag & map[i].st)
            f |= map[i].ms;
    return f;
}

/* Sends "ro"/"rw" to the daemon of the mount with device dev. 0, or -1 after a message. */
static int tell_daemon(const char *mnt, dev_t dev, const char *cmd)
{
    char majmin[64], ans[600] = {0};
    snprintf(majmin, sizeof(majmin), "%u:%u", major(dev), minor(dev));
    struct sockaddr_un sa;
    socklen_t len;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || fs_ctl_address(majmin, &sa, &len) != 0 ||
        connect(fd, (struct sockaddr *)&sa, len) != 0) {
        fprintf(stderr, "lsmfs: remount: the daemon of %s does not answer on its control "
                "channel (not an lsmfs mount, or an lsmfs without remount support): %s\n",
                mnt, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char line[8];
    int n = snprintf(line, sizeof(line), "%s\n", cmd);
    ssize_t got = write(fd, line, (size_t)n) == n ? read(fd, ans, sizeof(ans) - 1) : -1;
    close(fd);
    if (got > 0 && strcmp(ans, "ok\n") == 0)
        return 0;
    ans[strcspn(ans, "\n")] = '\0';
    fprintf(stderr, "lsmfs: remount: the daemon of %s refused '%s': %s\n", mnt, cmd,
            got > 0 && strncmp(ans, "err ", 4) == 0 ? ans + 4 : "no answer");
    return -1;
}

int fs_remount_run(int argc, char **argv)
{
    const char *arg = find_mountpoint(argc, argv);
    char mnt[PATH_MAX];
    if (!arg) {
        fprintf(stderr, "lsmfs: remount: need the MOUNTPOINT\n");
        return 1;
    }
    if (!realpath(arg, mnt)) {
        fprintf(stderr, "lsmfs: remount: %s: %s\n", arg, strerror(errno));
        return 1;
    }
    struct stat st, up;
    struct statfs sf;
    struct statvfs sv;
    char parent[PATH_MAX + 4];
    snprintf(parent, sizeof(parent), "%s/..", mnt);
    if (stat(mnt, &st) != 0 || statfs(mnt, &sf) != 0 || statvfs(mnt, &sv) != 0 ||
        stat(parent, &up) != 0) {
        fprintf(stderr, "lsmfs: remount: %s: %s\n", mnt, strerror(errno));
        return 1;
    }
    if (sf.f_type != FUSE_MAGIC || (st.st_dev == up.st_dev && strcmp(mnt, "/") != 0)) {
        fprintf(stderr, "lsmfs: remount: %s is not a mounted lsmfs\n", mnt);
        return 1;
    }
    unsigned long was = current_flags(&sv), flags = was;
    if (apply_opts(argc, argv, &flags) != 0)
        return 1;
    int to_ro = (flags & MS_RDONLY) != 0;
    if (!to_ro && tell_daemon(mnt, st.st_dev, "rw") != 0)
        return 1;
    if (to_ro && tell_daemon(mnt, st.st_dev, "ping") != 0)
        return 1;
    if (mount(NULL, mnt, NULL, MS_REMOUNT | flags, NULL) != 0) {
        int e = errno;
        fprintf(stderr, "lsmfs: remount: mount(2) of %s: %s%s\n", mnt, strerror(e),
                e == EBUSY && to_ro ? " (a file is open for writing)" : "");
        if (!to_ro && (was & MS_RDONLY))
            tell_daemon(mnt, st.st_dev, "ro");
        return 1;
    }
    if (to_ro && tell_daemon(mnt, st.st_dev, "ro") != 0)
        return 1;
    return 0;
}
