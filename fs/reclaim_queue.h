/*
 * reclaim_queue.h - reclaiming forgotten unlinked inodes in batches, off the request path.
 *
 * The last FORGET or RELEASE of an unlinked inode queues its number (fs_reclaimq_push);
 * one background thread waits a few milliseconds for more, then reclaims the whole batch
 * with one commit (fs_reclaim_many, reclaim.c). An rm -rf then costs one WAL write per
 * batch instead of one per file, and the FORGET is answered without touching the store.
 *
 * Invariants: a queued inode still has its orphan row, so a crash before its batch commits
 * leaves it for the next mount's orphan scan; everything queued before fs_reclaimq_drain
 * was called is reclaimed (or its commit failed) when drain returns; fs_reclaimq_stop
 * drains, then ends the thread. The queue is bounded by RQ_BATCH_MAX per commit, not in
 * total (a push that cannot grow the array fails, and the caller reclaims inline).
 */
#ifndef LSMFS_RECLAIM_QUEUE_H
#define LSMFS_RECLAIM_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct fs;
typedef struct fs_reclaimq fs_reclaimq_t;

/* Starts the reclaimer thread of fs; NULL if it cannot (reclaims then stay inline). */
fs_reclaimq_t *fs_reclaimq_start(struct fs *fs);
/* Queues inode ino. 0, or -1 when out of memory (the caller reclaims it itself). */
int fs_reclaimq_push(fs_reclaimq_t *q, uint64_t ino);
/* Returns once everything queued before the call has been reclaimed (statfs, remount-ro). */
void fs_reclaimq_drain(fs_reclaimq_t *q);
/* Drains, stops the thread and frees the queue (NULL is fine). */
void fs_reclaimq_stop(fs_reclaimq_t *q);

#endif
