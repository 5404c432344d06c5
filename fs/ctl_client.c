/*
 * ctl_client.c - the caller's side of the lsmfsctl ioctl (ctl_proto.h), shared by lsmfsctl
 * and fsck.lsmfs's online check: fills the request, opens the mount root, makes the call.
 * Messages are the callers' business; this only says whether the daemon answered.
 */
#define _GNU_SOURCE
#include "ctl_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int fs_ctl_call(const char *mnt, uint32_t op, const char *arg, struct lsmfs_ctl *c)
{
    memset(c, 0, sizeof(*c));
    c->magic = LSMFS_CTL_MAGIC;
    c->op = op;
    size_t n = strlen(arg);
    if (n + 1 > sizeof(c->data))
        return -E2BIG;
    memcpy(c->data, arg, n + 1);
    c->len = (uint32_t)n + 1;
    int fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = ioctl(fd, LSMFS_IOC_CTL, c);
    int e = errno;
    close(fd);
    if (r < 0)
        return -e;
    c->data[sizeof(c->data) - 1] = 0;
    return 0;
}
