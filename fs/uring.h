/*
 * uring.h - lsmfs's FUSE-over-io_uring transport (kernel 6.14+, CONFIG_FUSE_IO_URING).
 *
 * The kernel hands requests to the daemon through io_uring command entries, one queue per
 * possible CPU, instead of read(2)/write(2) on /dev/fuse: a worker thread registers a
 * header buffer and a payload buffer with the kernel, the completion of that command carries
 * a request, and the reply is committed into the same buffers by a COMMIT_AND_FETCH command
 * that also asks for the next request, so one io_uring_enter(2) both answers a request and
 * waits for the next one. See uring.c for the threading and the protocol details.
 *
 * Life cycle (main.c and devio.c drive it):
 *   fs_uring_setup()   after the mount, before the session loop: rings, buffers and idle
 *                      worker threads; fails cleanly (the caller stays on /dev/fuse).
 *   INIT is answered through /dev/fuse; devio.c offers FUSE_OVER_IO_URING in the reply only
 *   when setup succeeded and the kernel offered it, then calls fs_uring_start().
 *   fs_uring_reply()   devio's writev hook: a reply to a request that came through a ring
 *                      is copied into that ring entry instead of being written to /dev/fuse.
 *   fs_uring_quiesce() after the session loop, before the unmount: joins the workers, so
 *                      no handler touches the session or /dev/fuse while they go away.
 *   fs_uring_stop()    after the unmount: closes the rings, frees everything.
 * Forgets, interrupts and notifications keep travelling through /dev/fuse (the kernel sends
 * them there), so the libfuse loop keeps running beside the rings.
 */
#ifndef LSMFS_URING_H
#define LSMFS_URING_H

#include <stdint.h>
#include <sys/uio.h>

struct fuse_session;
typedef struct fs_uring fs_uring_t;

typedef struct {
    uint64_t requests;      /* requests served through the rings */
    uint64_t polled;        /* of those, found by the busy poll instead of a sleep */
    unsigned queues;        /* kernel queues (possible CPUs) */
    unsigned per_queue;     /* worker threads (ring entries) per queue */
    int registered;         /* 1 once every worker's entry has carried a request */
} fs_uring_info_t;

typedef struct {
    unsigned per_queue;     /* worker threads (ring entries) per kernel queue, >= 1 */
    unsigned poll_us;       /* after committing a reply, spin this long for the next
                             * request before sleeping in the kernel; 0 = sleep at once */
    int nopin;              /* 1: workers float instead of being pinned to their CPU */
} fs_uring_conf_t;

/* Makes the rings and the (idle) workers for session `se` on /dev/fuse descriptor `devfd`:
 * conf->per_queue workers for each of the kernel's queues, each with a payload buffer of
 * `payload` bytes (>= the kernel's max write). Returns 0 or -errno with *out NULL. */
int fs_uring_setup(fs_uring_t **out, struct fuse_session *se, int devfd,
                   const fs_uring_conf_t *conf, size_t payload);

/* INIT has been answered with FUSE_OVER_IO_URING: the workers register their entries. */
void fs_uring_start(fs_uring_t *u);

/* devio's writev hook. If iov (a fuse_out_header, then the reply's payload) answers a
 * request taken from a ring, copies it into that ring entry and returns the reply's size;
 * returns 0 when the reply is not for a ring request (the caller writes it to /dev/fuse). */
ssize_t fs_uring_reply(fs_uring_t *u, const struct iovec *iov, int count);

/* 1 if the calling thread is one of u's ring workers (NULL u: 0). */
int fs_uring_is_worker(fs_uring_t *u);

/* Stops and joins the workers (each leaves within IDLE_WAIT_NS, at once when the connection
 * is gone), so no handler runs on a ring afterwards; the rings stay open until
 * fs_uring_stop. Call once the session loop has ended, before the unmount. NULL is fine. */
void fs_uring_quiesce(fs_uring_t *u);

/* Stops and joins the workers (if fs_uring_quiesce did not) and frees everything (NULL is
 * fine). Call after the session loop has ended and the file system is unmounted. */
void fs_uring_stop(fs_uring_t *u);

void fs_uring_info(fs_uring_t *u, fs_uring_info_t *out);

#endif
