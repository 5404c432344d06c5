/*
 * read_pool.c - the threads that serve large READs handed over by ring workers
 * (read_pool.h).
 *
 * A fixed ring of jobs under one mutex: at most one job per ring worker can be waiting
 * (its worker blocks until the reply), so RP_SLOTS bounds nothing in practice; a push into
 * a full ring fails and the worker serves the READ itself.
 *
 * Invariants: head..head+count (mod RP_SLOTS) are the queued jobs; `stop` is set only by
 * fs_read_pool_stop, and a thread leaves only when stop is set and nothing is queued.
 */
#include "read_pool.h"
#include "fs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define RP_SLOTS 64

typedef struct {
    fuse_req_t req;
    uint64_t ino;
    size_t size;
    off_t off;
} rp_job_t;

struct fs_read_pool {
    fs_t *fs;
    fs_read_fn serve;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rp_job_t jobs[RP_SLOTS];
    unsigned head, count;
    int stop;
    unsigned nthreads;
    pthread_t *th;
    atomic_uint_fast64_t served;
};

static void *pool_main(void *arg)
{
    fs_read_pool_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->count == 0 && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->count == 0)
            break; /* stop, and nothing left */
        rp_job_t j = p->jobs[p->head];
        p->head = (p->head + 1) % RP_SLOTS;
        p->count--;
        pthread_mutex_unlock(&p->mu);
        p->serve(p->fs, j.req, j.ino, j.size, j.off);
        atomic_fetch_add_explicit(&p->served, 1, memory_order_relaxed);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

fs_read_pool_t *fs_read_pool_start(fs_t *fs, unsigned nthreads, fs_read_fn serve)
{
    fs_read_pool_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (nthreads == 0)
        nthreads = 1;
    p->fs = fs;
    p->serve = serve;
    p->th = calloc(nthreads, sizeof(pthread_t));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->served, 0);
    for (unsigned i = 0; p->th && i < nthreads; i++) {
        if (pthread_create(&p->th[i], NULL, pool_main, p) != 0)
            break;
        p->nthreads++;
    }
    if (p->nthreads == 0) {
        fs_read_pool_stop(p);
        return NULL;
    }
    return p;
}

int fs_read_pool_push(fs_read_pool_t *p, fuse_req_t req, uint64_t ino, size_t size, off_t off)
{
    if (!p)
        return -1;
    pthread_mutex_lock(&p->mu);
    int ok = !p->stop && p->count < RP_SLOTS;
    if (ok) {
        p->jobs[(p->head + p->count) % RP_SLOTS] = (rp_job_t){req, ino, size, off};
        p->count++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return ok ? 0 : -1;
}

uint64_t fs_read_pool_served(fs_read_pool_t *p)
{
    return p ? (uint64_t)atomic_load_explicit(&p->served, memory_order_relaxed) : 0;
}

void fs_read_pool_stop(fs_read_pool_t *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->th[i], NULL);
    free(p->th);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
