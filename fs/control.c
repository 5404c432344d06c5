/*
 * control.c - the daemon's side of the control channel (see control.h for the protocol).
 *
 * One thread accepts connections on the abstract socket "lsmfs-ctl:<major>:<minor>" of the
 * mount and serves them one at a time; each connection is one command and one answer.
 * The mount's device number comes from /proc/self/mountinfo (the last fuse.lsmfs entry on
 * our mountpoint), read without touching the mount itself, so the thread can start before
 * the FUSE loop runs. Invariants: fs->remount_ro is set before the flush starts (no change
 * can slip in after it), and only root or the daemon's own user is obeyed.
 */
#include "fs.h"
#include "control.h"
#include "mounts.h"
#include "reclaim_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct fs_ctl {
    fs_t *fs;
    int lfd;         /* listening socket */
    int wake[2];     /* a byte on wake[1] ends the thread */
    pthread_t thread;
};

/* The device number of the last fuse.lsmfs mount on `mnt`, as "major:minor". */
static int mount_dev(const char *mnt, char *dev, size_t devsz)
{
    fs_mount_t m;
    int r = fs_mount_find(NULL, mnt, &m);
    if (r == 0)
        snprintf(dev, devsz, "%s", m.majmin);
    return r;
}

int fs_ctl_address(const char *majmin, struct sockaddr_un *sa, socklen_t *len)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    int n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "lsmfs-ctl:%s", majmin);
    if (n < 0 || (size_t)n >= sizeof(sa->sun_path) - 1)
        return -ENAMETOOLONG;
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    return 0;
}

/* "ro": refuse changes, then flush and sync. Returns NULL or an error text. */
static const char *go_read_only(fs_t *fs, char *msg, size_t msgsz)
{
    fs_reclaimq_drain(fs->rq);  /* queued reclaims commit before changes are refused */
    atomic_store(&fs->remount_ro, 1);
    char *err = NULL;
    lsm_flushoptions_t *fo = lsm_flushoptions_create();
    lsm_flushoptions_set_wait(fo, 1);
    lsm_flush(fs->db, fo, &err);
    lsm_flushoptions_destroy(fo);
    if (!err)
        lsm_flush_wal(fs->db, 1, &err);
    if (err) {
        snprintf(msg, msgsz, "flushing the store failed: %s", err);
        lsm_free(err);
        return msg;
    }
    return NULL;
}

static void serve(fs_ctl_t *c, int cfd)
{
    struct ucred cr;
    socklen_t crl = sizeof(cr);
    char cmd[16] = {0}, msg[512];
    const char *bad = NULL;
    if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) != 0 ||
        (cr.uid != 0 && cr.uid != geteuid())) {
        bad = "permission denied";
    } else {
        struct pollfd p = {.fd = cfd, .events = POLLIN};
        ssize_t n = poll(&p, 1, 5000) == 1 ? read(cfd, cmd, sizeof(cmd) - 1) : -1;
        if (n <= 0)
            bad = "no command";
        else if (strcmp(cmd, "ping\n") == 0)
            bad = NULL;
        else if (strcmp(cmd, "ro\n") == 0)
            bad = go_read_only(c->fs, msg, sizeof(msg));
        else if (strcmp(cmd, "rw\n") == 0) {
            if (c->fs->opts->ro)
                bad = "the store was opened read-only (-o ro); unmount and mount it again "
                      "without ro";
            else
                atomic_store(&c->fs->remount_ro, 0);
        } else
            bad = "unknown command";
    }
    char out[600];
    int len = bad ? snprintf(out, sizeof(out), "err %s\n", bad) : snprintf(out, sizeof(out), "ok\n");
    if (write(cfd, out, (size_t)len) < 0) { /* the client went away: nothing to tell */ }
    fuse_log(FUSE_LOG_INFO, "lsmfs: control: %.*s -> %s", (int)strcspn(cmd, "\n"), cmd, out);
}

static void *ctl_thread(void *arg)
{
    fs_ctl_t *c = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = c->lfd, .events = POLLIN}, {.fd = c->wake[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        if (p[0].revents & POLLIN) {
            int cfd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (cfd >= 0) {
                serve(c, cfd);
                close(cfd);
            }
        }
    }
    return NULL;
}

fs_ctl_t *fs_ctl_start(fs_t *fs)
{
    char dev[64];
    struct sockaddr_un sa;
    socklen_t salen;
    int r = mount_dev(fs->opts->mountpoint, dev, sizeof(dev));
    if (r == 0)
        r = fs_ctl_address(dev, &sa, &salen);
    fs_ctl_t *c = r == 0 ? calloc(1, sizeof(*c)) : NULL;
    if (!c)
        goto fail;
    c->fs = fs;
    c->wake[0] = c->wake[1] = -1;
    c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->lfd < 0 || bind(c->lfd, (struct sockaddr *)&sa, salen) != 0 || listen(c->lfd, 4) != 0 ||
        pipe2(c->wake, O_CLOEXEC) != 0 || pthread_create(&c->thread, NULL, ctl_thread, c) != 0) {
        r = -errno;
        if (c->lfd >= 0)
            close(c->lfd);
        if (c->wake[0] >= 0) {
            close(c->wake[0]);
            close(c->wake[1]);
        }
        free(c);
        c = NULL;
        goto fail;
    }
    return c;
fail:
    fuse_log(FUSE_LOG_WARNING, "lsmfs: no control channel (%s): `mount -o remount` will not "
             "reach this daemon\n", strerror(-r));
    return NULL;
}

void fs_ctl_stop(fs_ctl_t *c)
{
    if (!c)
        return;
    if (write(c->wake[1], "x", 1) < 0) { /* a full pipe wakes the thread just as well */ }
    pthread_join(c->thread, NULL);
    close(c->lfd);
    close(c->wake[0]);
    close(c->wake[1]);
    free(c);
}
