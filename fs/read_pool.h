/*
 * read_pool.h - large READs served off the io_uring worker that took them, on threads free
 * to run on any CPU.
 *
 * The kernel puts a request on the queue of the CPU its caller runs on, and lsmfs pins that
 * queue's workers to the same CPU: right for the synchronous requests that dominate
 * (the caller sleeps, the worker runs where its data is warm). Readahead is different: the
 * kernel sends several 128 KiB READs at once, asynchronously, from the reader's CPU, and
 * pinned workers then serve all of them, and the reader's own copying, on that one CPU
 * while the others idle. A ring worker that takes a READ of at least FS_READ_POOL_MIN bytes
 * hands it here and waits for the reply to commit it (uring.c's "reply from another
 * thread"); the pool's threads are not pinned, so the reads spread over the CPUs.
 *
 * Invariants: a queued READ is replied exactly once, by a pool thread; fs_read_pool_stop
 * serves what is queued before the threads end (so no ring worker waits for ever), and
 * must run after the ring workers have been joined (no push after stop).
 */
#ifndef LSMFS_READ_POOL_H
#define LSMFS_READ_POOL_H

#include "fs.h" /* fuse_req_t, with lsmfs's FUSE_USE_VERSION */

/* READs at least this large are worth a hand-off (a readahead window's request). */
#define FS_READ_POOL_MIN (64u * 1024)

typedef struct fs_read_pool fs_read_pool_t;

/* How a pool thread answers a READ (ops_file.c's fs_serve_read: the pool sits below the
 * request handlers and is handed the one it calls). */
typedef void (*fs_read_fn)(fs_t *fs, fuse_req_t req, uint64_t ino, size_t size, off_t off);

/* Starts nthreads (0 counts as 1) pool threads answering with serve; NULL if it cannot
 * (reads then stay on the ring workers). */
fs_read_pool_t *fs_read_pool_start(fs_t *fs, unsigned nthreads, fs_read_fn serve);
/* Queues READ req; 0, or -1 when there is no pool or no room (the caller serves it). */
int fs_read_pool_push(fs_read_pool_t *p, fuse_req_t req, uint64_t ino, size_t size, off_t off);
/* READs served by the pool so far. */
uint64_t fs_read_pool_served(fs_read_pool_t *p);
/* Serves what is queued, stops and joins the threads, frees p (NULL is fine). */
void fs_read_pool_stop(fs_read_pool_t *p);

#endif
