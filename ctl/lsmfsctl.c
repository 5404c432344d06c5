/*
 * lsmfsctl.c - drive a running lsmfs daemon: snapshots, checkpoints, statistics, compaction.
 *
 *     lsmfsctl snapshot create|delete MNT NAME
 *     lsmfsctl snapshot list|usage MNT
 *     lsmfsctl checkpoint MNT DIR
 *     lsmfsctl stats MNT [--watch SECONDS [--count N]]
 *     lsmfsctl compact MNT
 *
 * Everything goes through one ioctl on the mount's root directory (fs/ctl_proto.h); this
 * program holds no state. Exit status: 0 done, 1 the daemon refused or failed (its message
 * on stderr), 2 usage error or MNT is not an lsmfs mount root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_proto.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: lsmfsctl snapshot create|delete MNT NAME\n"
               "       lsmfsctl snapshot list|usage MNT\n"
               "       lsmfsctl checkpoint MNT DIR\n"
               "       lsmfsctl stats MNT [--watch SECONDS [--count N]]\n"
               "       lsmfsctl compact MNT\n");
}

/* Sends op with arg to the daemon behind mnt; the reply text in c. 0, 1 (refused) or 2. */
static int call(const char *mnt, uint32_t op, const char *arg, struct lsmfs_ctl *c)
{
    int r = fs_ctl_call(mnt, op, arg, c);
    if (r == -E2BIG) {
        fprintf(stderr, "lsmfsctl: argument too long\n");
        return 2;
    }
    if (r == -ENOTTY || r == -ENOSYS || r == -EINVAL) {
        fprintf(stderr, "lsmfsctl: %s: not the root of an lsmfs mount (%s)\n", mnt, strerror(-r));
        return 2;
    }
    if (r < 0) {
        fprintf(stderr, "lsmfsctl: %s: %s\n", mnt, strerror(-r));
        return 2;
    }
    if (c->error) {
        fprintf(stderr, "lsmfsctl: %s (%s)\n", c->data, strerror(c->error));
        return 1;
    }
    return 0;
}

/* The value of "key: <number>" in a stats reply; 0 when absent. */
static uint64_t stat_value(const char *text, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, key, kl) == 0 && p[kl] == ':')
            return strtoull(p + kl + 1, NULL, 10);
    return 0;
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmd_stats(const char *mnt, int watch, int count)
{
    static struct lsmfs_ctl c;
    int rc = call(mnt, LSMFS_CTL_STATS, "", &c);
    if (rc)
        return rc;
    if (watch <= 0) {
        fputs(c.data, stdout);
        /* what only snapshots can read (a scan of the store; skipped when there is none) */
        if (stat_value(c.data, "lsm.num-persistent-snapshots") > 0 &&
            call(mnt, LSMFS_CTL_SNAP_USAGE, "", &c) == 0) {
            const char *t = strstr(c.data, "total ");
            printf("snapshots.held-bytes: %s", t && (t == c.data || t[-1] == '\n') ? t + 6 : "?\n");
        } else {
            printf("snapshots.held-bytes: 0\n");
        }
        return 0;
    }
    /* reads and writes of file data, committed batches (each changing operation is one),
     * bytes, fsyncs */
    static const char *keys[] = {"fs.reads", "fs.writes", "fs.batches", "fs.bytes-read",
                                 "fs.bytes-written", "fs.fsyncs"};
    enum { NK = sizeof(keys) / sizeof(keys[0]) };
    uint64_t prev[NK];
    for (int i = 0; i < NK; i++)
        prev[i] = stat_value(c.data, keys[i]);
    double t0 = now_seconds();
    printf("%10s %10s %10s %12s %12s %10s %14s\n", "reads/s", "writes/s", "commits/s", "read-MB/s",
           "write-MB/s", "fsyncs/s", "sst-bytes");
    for (int n = 0; count <= 0 || n < count; n++) {
        sleep((unsigned)watch);
        rc = call(mnt, LSMFS_CTL_STATS, "", &c);
        if (rc)
            return rc;
        double t1 = now_seconds(), dt = t1 - t0 > 0 ? t1 - t0 : 1;
        double r[NK];
        for (int i = 0; i < NK; i++) {
            uint64_t v = stat_value(c.data, keys[i]);
            r[i] = (double)(v - prev[i]) / dt;
            prev[i] = v;
        }
        t0 = t1;
        printf("%10.0f %10.0f %10.0f %12.2f %12.2f %10.0f %14" PRIu64 "\n", r[0], r[1], r[2],
               r[3] / 1e6, r[4] / 1e6, r[5], stat_value(c.data, "lsm.total-sst-files-size"));
        fflush(stdout);
    }
    return 0;
}

/* DIR made absolute (the daemon's working directory is not the caller's). */
static int absolute_dir(const char *dir, char *out, size_t n)
{
    if (dir[0] == '/')
        return snprintf(out, n, "%s", dir) < (int)n ? 0 : -1;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return -1;
    return snprintf(out, n, "%s/%s", cwd, dir) < (int)n ? 0 : -1;
}

int main(int argc, char **argv)
{
    static struct lsmfs_ctl c;
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc < 3) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    int rc;
    if (strcmp(cmd, "snapshot") == 0 && argc >= 4) {
        const char *sub = argv[2], *mnt = argv[3];
        if (strcmp(sub, "list") == 0 && argc == 4) {
            rc = call(mnt, LSMFS_CTL_SNAP_LIST, "", &c);
        } else if (strcmp(sub, "usage") == 0 && argc == 4) {
            rc = call(mnt, LSMFS_CTL_SNAP_USAGE, "", &c);
        } else if ((strcmp(sub, "create") == 0 || strcmp(sub, "delete") == 0) && argc == 5) {
            rc = call(mnt, sub[0] == 'c' ? LSMFS_CTL_SNAP_CREATE : LSMFS_CTL_SNAP_DELETE,
                      argv[4], &c);
        } else {
            usage(stderr);
            return 2;
        }
        if (rc == 0)
            fputs(c.data, stdout);
        return rc;
    }
    if (strcmp(cmd, "checkpoint") == 0 && argc == 4) {
        char dir[PATH_MAX];
        if (absolute_dir(argv[3], dir, sizeof(dir)) != 0) {
            fprintf(stderr, "lsmfsctl: %s: path too long\n", argv[3]);
            return 2;
        }
        rc = call(argv[2], LSMFS_CTL_CHECKPOINT, dir, &c);
        if (rc == 0)
            printf("checkpoint %s at sequence %s", dir, c.data);
        return rc;
    }
    if (strcmp(cmd, "stats") == 0) {
        int watch = 0, count = 0;
        for (int i = 3; i < argc; i++) {
            if (strcmp(argv[i], "--watch") == 0 && i + 1 < argc)
                watch = atoi(argv[++i]);
            else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
                count = atoi(argv[++i]);
            else {
                usage(stderr);
                return 2;
            }
        }
        return cmd_stats(argv[2], watch, count);
    }
    if (strcmp(cmd, "compact") == 0 && argc == 3) {
        rc = call(argv[2], LSMFS_CTL_COMPACT, "", &c);
        if (rc == 0)
            fputs(c.data, stdout);
        return rc;
    }
    usage(stderr);
    return 2;
}
