/*
 * devio.h - lsmfs's own reads and writes of /dev/fuse (libfuse's custom session I/O), used
 * to negotiate FUSE_HANDLE_KILLPRIV_V2 and FUSE_OVER_IO_URING, which Debian 12's libfuse
 * 3.14 does not know, and to route replies of io_uring requests back into their ring.
 * See devio.c for why and how.
 */
#ifndef LSMFS_DEVIO_H
#define LSMFS_DEVIO_H

#include <stdatomic.h>
#include <stdint.h>

struct fuse_session;
struct fs_uring;

/* Set in fuse_file_info.flags of a WRITE or OPEN when the kernel asked the filesystem to
 * drop set-user-ID/set-group-ID (the caller lacks CAP_FSETID). No open(2) flag uses it. */
#define FS_FI_KILL_SUIDGID 0x40000000

typedef struct fs_devio {
    uint64_t init_unique;     /* unique id of the INIT request (its reply gets patched) */
    int kernel_offers_v2;     /* the kernel's INIT carried FUSE_HANDLE_KILLPRIV_V2 */
    atomic_int killpriv_v2;   /* 1 once our INIT reply claimed it */
    atomic_int init_answered; /* 1 once the INIT reply went out (no more patching) */
    struct fs_uring *uring;   /* io_uring transport ready to start, or NULL (uring.h) */
    int kernel_offers_uring;  /* the kernel's INIT carried FUSE_OVER_IO_URING */
    atomic_int uring_on;      /* 1 once our INIT reply claimed it (replies may use rings) */
    atomic_int_fast64_t forget_quiet_until; /* CLOCK_MONOTONIC ns: no /dev/fuse read before */
} fs_devio_t;

/* Routes the mounted session's reads and writes through devio (call after
 * fuse_session_mount, before the loop). The session's userdata must be the fs_t whose devio is
 * `io`. `uring` (or NULL) is an io_uring transport set up for this session: INIT then
 * claims FUSE_OVER_IO_URING when the kernel offers it and starts the rings, and replies to
 * requests that came through a ring go back through it. Returns 0 or -errno. */
int fs_devio_attach(fs_devio_t *io, struct fuse_session *se, struct fs_uring *uring);

#endif
