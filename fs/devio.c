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
 * The same two hooks carry the io_uring transport's negotiation (uring.h): INIT's reply
 * claims FUSE_OVER_IO_URING (flags2) when the kernel offered it and the rings were set up,
 * and the rings are started once that reply is written; from then on a reply whose unique
 * belongs to a request taken from a ring is committed into that ring, not written here.
 * Request layouts are the kernel's (linux/fuse.h); nothing else in the traffic is touched.
 *
 * Forget gathering: with the rings on, /dev/fuse carries little but FORGETs (and the
 * occasional INTERRUPT). An rm -rf sends one FORGET per file, and reading each as it comes
 * costs a thread wake-up apiece. After a FORGET is read, the next read of /dev/fuse waits
 * until FORGET_GATHER_NS have passed: the kernel queues the forgets meanwhile and hands
 * them over as one BATCH_FORGET. Only a FORGET arms the wait, so INIT, an INTERRUPT
 * right after a forget waits at most that long, and without the rings nothing waits.
 *
 * Invariants: a request shorter than its header plus the fields looked at is passed on
 * unchanged (libfuse rejects it); the INIT reply is patched only if it is a success reply of
 * the expected size.
 */
#include "fs.h"
#include "devio.h"
#include "uring.h"

#include <linux/fuse.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FORGET_GATHER_NS 1000000 /* 1 ms */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#ifndef FUSE_OVER_IO_URING
#define FUSE_OVER_IO_URING (1ULL << 41) /* ABI 7.42; Debian 12's header is 7.38 */
#endif
#define URING_FLAG2 ((uint32_t)(FUSE_OVER_IO_URING >> 32))

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
        memset(&in, 0, sizeof(in));
        if (argn < offsetof(struct fuse_init_in, flags) + sizeof(in.flags))
            return;
        memcpy(&in, arg, argn < sizeof(in) ? argn : sizeof(in));
        io->init_unique = h.unique;
        io->kernel_offers_v2 = in.major == 7 && in.minor >= 33 &&
                               (in.flags & FUSE_HANDLE_KILLPRIV_V2) != 0;
        io->kernel_offers_uring = in.major == 7 && (in.flags & FUSE_INIT_EXT) &&
                                  argn >= offsetof(struct fuse_init_in, flags2) +
                                              sizeof(in.flags2) &&
                                  (in.flags2 & URING_FLAG2) != 0;
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

/* With the rings on: waits out the forget-gathering pause (see the top), then reads;
 * a FORGET read starts the next pause. */
static ssize_t devio_read(int fd, void *buf, size_t len, void *userdata)
{
    fs_devio_t *io = ((fs_t *)userdata)->devio;
    int gather = atomic_load_explicit(&io->uring_on, memory_order_relaxed);
    if (gather) {
        int64_t wait = atomic_load_explicit(&io->forget_quiet_until, memory_order_relaxed) -
                       mono_ns();
        if (wait > 0 && wait <= FORGET_GATHER_NS) {
            struct timespec ts = {0, (long)wait};
            nanosleep(&ts, NULL);
        }
    }
    ssize_t r = read(fd, buf, len);
    if (r > 0)
        note_request(io, buf, (size_t)r);
    if (gather && r >= (ssize_t)sizeof(struct fuse_in_header)) {
        uint32_t opcode;
        memcpy(&opcode, (char *)buf + offsetof(struct fuse_in_header, opcode), sizeof(opcode));
        if (opcode == FUSE_FORGET || opcode == FUSE_BATCH_FORGET)
            atomic_store_explicit(&io->forget_quiet_until, mono_ns() + FORGET_GATHER_NS,
                                  memory_order_relaxed);
    }
    return r;
}

/* Patches our INIT reply (iov[1], a fuse_init_out) with the features libfuse does not know.
 * Returns 1 when it claimed FUSE_OVER_IO_URING. */
static int patch_init_reply(fs_devio_t *io, struct iovec *iov)
{
    const size_t flags_at = offsetof(struct fuse_init_out, flags);
    const size_t flags2_at = offsetof(struct fuse_init_out, flags2);
    char *p = iov[1].iov_base;
    uint32_t flags, flags2;
    memcpy(&flags, p + flags_at, sizeof(flags));
    if (io->kernel_offers_v2) {
        flags |= FUSE_HANDLE_KILLPRIV_V2;
        atomic_store(&io->killpriv_v2, 1);
    }
    int uring = 0;
    if (io->uring && io->kernel_offers_uring && iov[1].iov_len >= flags2_at + sizeof(flags2)) {
        memcpy(&flags2, p + flags2_at, sizeof(flags2));
        if (!(flags & FUSE_INIT_EXT))
            flags2 = 0; /* the kernel ignores flags2 without INIT_EXT: nothing to keep */
        flags |= FUSE_INIT_EXT;
        flags2 |= URING_FLAG2;
        memcpy(p + flags2_at, &flags2, sizeof(flags2));
        uring = 1;
    }
    memcpy(p + flags_at, &flags, sizeof(flags));
    return uring;
}

static ssize_t devio_writev(int fd, struct iovec *iov, int count, void *userdata)
{
    fs_devio_t *io = ((fs_t *)userdata)->devio;
    if (atomic_load_explicit(&io->uring_on, memory_order_acquire)) {
        ssize_t r = fs_uring_reply(io->uring, iov, count);
        if (r > 0)
            return r;
    }
    int is_init = 0, uring = 0;
    if (!atomic_load(&io->init_answered) && count >= 2 &&
        iov[0].iov_len == sizeof(struct fuse_out_header) &&
        iov[1].iov_len >= offsetof(struct fuse_init_out, flags) + sizeof(uint32_t)) {
        struct fuse_out_header oh;
        memcpy(&oh, iov[0].iov_base, sizeof(oh));
        if (oh.unique == io->init_unique && oh.error == 0) {
            is_init = 1;
            uring = patch_init_reply(io, iov);
        }
    }
    ssize_t r = writev(fd, iov, count);
    if (is_init)
        atomic_store(&io->init_answered, 1);
    if (is_init && io->uring) {
        if (uring && r >= 0) {
            atomic_store_explicit(&io->uring_on, 1, memory_order_release);
            fs_uring_start(io->uring);
        } else {
            fuse_log(FUSE_LOG_NOTICE, "lsmfs: %s; requests go through /dev/fuse\n",
                     io->kernel_offers_uring
                         ? "the INIT reply with io_uring failed"
                         : "the kernel does not offer FUSE-over-io_uring "
                           "(/sys/module/fuse/parameters/enable_uring is not Y)");
        }
    }
    return r;
}

int fs_devio_attach(fs_devio_t *io, struct fuse_session *se, struct fs_uring *uring)
{
    io->init_unique = 0;
    io->kernel_offers_v2 = 0;
    atomic_store(&io->killpriv_v2, 0);
    atomic_store(&io->init_answered, 0);
    io->uring = uring;
    io->kernel_offers_uring = 0;
    atomic_store(&io->uring_on, 0);
    atomic_store(&io->forget_quiet_until, 0);
    static const struct fuse_custom_io ops = {.read = devio_read, .writev = devio_writev};
    return fuse_session_custom_io(se, &ops, fuse_session_fd(se));
}
