/*
 * reclaim_queue.c - the batch reclaimer thread (reclaim_queue.h): a queue of inode
 * numbers under one mutex, one thread that takes the whole queue at a time and hands it to
 * fs_reclaim_many (one commit per batch); and fs_reclaim_if_unused, which routes an inode to
 * the queue or, without one, to fs_reclaim_one (reclaim.c) inline.
 *
 * Invariants: `pushed` counts every number ever queued, `done` the ones whose batch has
 * been handled (reclaimed, skipped as still in use, or left to the orphan scan after a
 * failed commit); a drainer waits for done >= pushed as it was at its call. The thread
 * waits RQ_DELAY_MS after the first number of a batch unless the batch is full, a drain
 * asks, or the queue stops.
 */
#include "reclaim_queue.h"
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#define RQ_DELAY_MS 5
#define RQ_BATCH_MAX 512

struct fs_reclaimq {
    fs_t *fs;
    pthread_mutex_t mu;
    pthread_cond_t work;  /* the thread waits here: numbers queued, urgent, stop */
    pthread_cond_t done_cv; /* drainers wait here */
    uint64_t *inos;
    size_t n, cap;
    uint64_t pushed, done;
    int urgent, stop;
    pthread_t thread;
};

static void deadline_in_ms(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += ms * 1000000L;
    while (ts->tv_nsec >= 1000000000L) {
        ts->tv_nsec -= 1000000000L;
        ts->tv_sec++;
    }
}

static void *reclaimer(void *arg)
{
    fs_reclaimq_t *q = arg;
    uint64_t *batch = NULL;
    size_t bcap = 0;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->n == 0 && !q->stop)
            pthread_cond_wait(&q->work, &q->mu);
        if (q->n == 0 && q->stop)
            break;
        if (!q->urgent && !q->stop && q->n < RQ_BATCH_MAX) {
            struct timespec ts;
            deadline_in_ms(&ts, RQ_DELAY_MS);
            while (!q->urgent && !q->stop && q->n < RQ_BATCH_MAX &&
                   pthread_cond_timedwait(&q->work, &q->mu, &ts) != ETIMEDOUT) {
            }
        }
        q->urgent = 0;
        /* swap arrays: the pushers go on filling the other one while this batch commits */
        uint64_t *mine = q->inos;
        size_t n = q->n, cap = q->cap;
        q->inos = batch;
        q->cap = bcap;
        q->n = 0;
        batch = mine;
        bcap = cap;
        pthread_mutex_unlock(&q->mu);
        for (size_t i = 0; i < n; i += RQ_BATCH_MAX)
            fs_reclaim_many(q->fs, batch + i, n - i < RQ_BATCH_MAX ? n - i : RQ_BATCH_MAX);
        pthread_mutex_lock(&q->mu);
        q->done += n;
        pthread_cond_broadcast(&q->done_cv);
    }
    pthread_mutex_unlock(&q->mu);
    free(batch);
    return NULL;
}

fs_reclaimq_t *fs_reclaimq_start(fs_t *fs)
{
    fs_reclaimq_t *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->fs = fs;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->work, &ca);
    pthread_cond_init(&q->done_cv, NULL);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&q->thread, NULL, reclaimer, q) != 0) {
        pthread_cond_destroy(&q->work);
        pthread_cond_destroy(&q->done_cv);
        pthread_mutex_destroy(&q->mu);
        free(q);
        return NULL;
    }
    return q;
}

void fs_reclaim_if_unused(fs_t *fs, uint64_t ino)
{
    if (fs->opts->ro)
        return;
    if (fs->rq && fs_reclaimq_push(fs->rq, ino) == 0)
        return;
    fs_reclaim_one(fs, ino);
}

int fs_reclaimq_push(fs_reclaimq_t *q, uint64_t ino)
{
    pthread_mutex_lock(&q->mu);
    if (q->stop) {  /* fs_close's orphan scan reclaims it */
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        uint64_t *p = realloc(q->inos, cap * sizeof(*p));
        if (!p) {
            pthread_mutex_unlock(&q->mu);
            return -1;
        }
        q->inos = p;
        q->cap = cap;
    }
    q->inos[q->n++] = ino;
    q->pushed++;
    if (q->n == 1 || q->n == RQ_BATCH_MAX)
        pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

void fs_reclaimq_drain(fs_reclaimq_t *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    uint64_t want = q->pushed;
    if (q->done < want) {
        q->urgent = 1;
        pthread_cond_signal(&q->work);
        while (q->done < want)
            pthread_cond_wait(&q->done_cv, &q->mu);
    }
    pthread_mutex_unlock(&q->mu);
}

void fs_reclaimq_stop(fs_reclaimq_t *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    pthread_cond_destroy(&q->work);
    pthread_cond_destroy(&q->done_cv);
    pthread_mutex_destroy(&q->mu);
    free(q->inos);
    free(q);
}
