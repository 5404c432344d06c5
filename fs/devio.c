/*
 * devio.c - lsmfs's reads and writes of /dev/fuse: libfuse's own, plus FUSE_HANDLE_KILLPRIV_V2.
 *
 * Before every write(2) to a file the kernel asks the filesystem whether privileges must be
 * dropped (a GETXATTR of security.capability: one extra request per write on FUSE), unless
 * the superblock has SB_NOSEC. FUSE sets SB_NOSEC only when the filesystem negotiates
 * FUSE_HANDLE_KILLPRIV_V2, i.e. takes over clearing set-user-ID/set-group-ID: the kernel
 * then flags WRITEs, OPENs with O_TRUNC and size-changing SETATTRs from callers without
 * CAP_FSETID, and no longer sends the mode change itself (also not on chown). lsmfs already
 * clears those bits in its own handlers (ops_file.c, ops_attr.c), so it can claim the
 * feature; libfuse 3.14 has no capability bit for it, so this file does the negotiation at
 * the protocol level through fuse_session_custom_io:
 *  - read: read(2) as libfuse would, then look at the request header. INIT: remember its
 *    unique id and whether the kernel offers KILLPRIV_V2. WRITE (write_flags) and OPEN
 *    (open_flags) with the kernel's kill-suid/sgid flag: set FS_FI_KILL_SUIDGID in the
 *    request's file flags, which libfuse hands to the handler as fuse_file_info.flags.
 *  - writev: writev(2) as libfuse would; the reply to INIT gets FUSE_HANDLE_KILLPRIV_V2 added
 *    to its flags when the kernel offered it.
 * Request layouts are the kernel's (linux/fuse.h); nothing else in the traffic is touched.
 *
 * Invariants: a request shorter than its header plus the fields looked at is passed on
 * unchanged (libfuse rejects it); the INIT reply is patched only if it is a success reply of
 * the expected size.
 */
#include "fs.h"
#include "devio.h"

#include <linux/fuse.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static void note_request(fs_devio_t *io, char *buf, size_t n)
{
    if (n < sizeof(struct fuse_in_header))
        return;
    struct fuse_in_header h;
    memcpy(&h, buf, sizeof(h));
    char *arg = buf + sizeof(h);
    size_t argn = n - sizeof(h);
    switch (h.opcode) {
    case FUSE_INIT: {
        struct fuse_init_in in;
        if (argn < offsetof(struct fuse_init_in, flags) + sizeof(in.flags))
            return;
        memcpy(&in, arg, offsetof(struct fuse_init_in, flags) + sizeof(in.flags));
        io->init_unique = h.unique;
        io->kernel_offers_v2 = in.major == 7 && in.minor >= 33 &&
                               (in.flags & FUSE_HANDLE_KILLPRIV_V2) != 0;
        break;
    }
    case FUSE_WRITE: {
        struct fuse_write_in in;
        if (argn < sizeof(in))
            return;
        memcpy(&in, arg, sizeof(in));
        if (in.write_flags & FUSE_WRITE_KILL_SUIDGID) {
            in.flags |= FS_FI_KILL_SUIDGID;
            memcpy(arg, &in, sizeof(in));
        }
        break;
    }
    case FUSE_OPEN: {
        struct fuse_open_in in;
        if (argn < sizeof(in))
            return;
        memcpy(&in, arg, sizeof(in));
        if (in.open_flags & FUSE_OPEN_KILL_SUIDGID) {
            in.flags |= FS_FI_KILL_SUIDGID;
            memcpy(arg, &in, sizeof(in));
        }
        break;
    }
    default:
        break;
    }
}

static ssize_t devio_read(int fd, void *buf, size_t len, void *userdata)
{
    ssize_t r = read(fd, buf, len);
    if (r > 0)
        note_request(&((fs_t *)userdata)->devio, buf, (size_t)r);
    return r;
}

static ssize_t devio_writev(int fd, struct iovec *iov, int count, void *userdata)
{
    fs_devio_t *io = &((fs_t *)userdata)->devio;
    if (io->kernel_offers_v2 && !atomic_load(&io->killpriv_v2) && count >= 2 &&
        iov[0].iov_len == sizeof(struct fuse_out_header)) {
        struct fuse_out_header oh;
        memcpy(&oh, iov[0].iov_base, sizeof(oh));
        const size_t flags_at = offsetof(struct fuse_init_out, flags);
        if (oh.unique == io->init_unique && oh.error == 0 &&
            iov[1].iov_len >= flags_at + sizeof(uint32_t)) {
            char *p = (char *)iov[1].iov_base + flags_at;
            uint32_t flags;
            memcpy(&flags, p, sizeof(flags));
            flags |= FUSE_HANDLE_KILLPRIV_V2;
            memcpy(p, &flags, sizeof(flags));
            atomic_store(&io->killpriv_v2, 1);
        }
    }
    return writev(fd, iov, count);
}

int fs_devio_attach(fs_devio_t *io, struct fuse_session *se)
{
    io->init_unique = 0;
    io->kernel_offers_v2 = 0;
    atomic_store(&io->killpriv_v2, 0);
    static const struct fuse_custom_io ops = {.read = devio_read, .writev = devio_writev};
    return fuse_session_custom_io(se, &ops, fuse_session_fd(se));
}
