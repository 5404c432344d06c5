/*
 * inode_table.c - lookup/open counts of kernel-known inodes and striped inode locks.
 *
 * The counts live in a hash table split into FS_ITAB_SHARDS shards, each a chained hash
 * with its own mutex, so that requests on different inodes rarely contend. An entry
 * exists exactly while nlookup > 0 or nopen > 0. Inode locks are a fixed array of
 * mutexes indexed by a hash of the inode number; a lock set sorts and de-duplicates its
 * stripes before taking them (global stripe order = no deadlock).
 */
#include "inode_table.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define FS_ITAB_SHARDS 64
#define FS_ILOCK_STRIPES 1024

typedef struct ient {
    struct ient *next;
    uint64_t ino;
    uint64_t nlookup;
    uint32_t nopen;
    int orphan;             /* unlinked while known or open: reclaim when both reach 0 */
} ient_t;

typedef struct {
    pthread_mutex_t mu;
    ient_t **buckets;
    size_t nbuckets;        /* power of two */
    size_t count;
} shard_t;

struct fs_itab {
    shard_t shards[FS_ITAB_SHARDS];
    pthread_mutex_t locks[FS_ILOCK_STRIPES];
#ifdef LSM_TESTING
    /* Test builds: the tag of the thread holding each stripe, NULL when free (written by
     * the holder only; relaxed atomics, see stripe_lock). */
    _Atomic(const void *) holder[FS_ILOCK_STRIPES];
#endif
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

fs_itab_t *fs_itab_create(void)
{
    fs_itab_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    for (int i = 0; i < FS_ITAB_SHARDS; i++) {
        pthread_mutex_init(&t->shards[i].mu, NULL);
        t->shards[i].nbuckets = 64;
        t->shards[i].buckets = calloc(64, sizeof(ient_t *));
        if (!t->shards[i].buckets) {
            fs_itab_destroy(t);
            return NULL;
        }
    }
    for (int i = 0; i < FS_ILOCK_STRIPES; i++)
        pthread_mutex_init(&t->locks[i], NULL);
    return t;
}

void fs_itab_destroy(fs_itab_t *t)
{
    if (!t)
        return;
    for (int i = 0; i < FS_ITAB_SHARDS; i++) {
        shard_t *s = &t->shards[i];
        for (size_t b = 0; s->buckets && b < s->nbuckets; b++) {
            ient_t *e = s->buckets[b];
            while (e) {
                ient_t *n = e->next;
                free(e);
                e = n;
            }
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    for (int i = 0; i < FS_ILOCK_STRIPES; i++)
        pthread_mutex_destroy(&t->locks[i]);
    free(t);
}

static shard_t *shard_of(fs_itab_t *t, uint64_t ino, uint64_t *h)
{
    *h = mix(ino);
    return &t->shards[*h % FS_ITAB_SHARDS];
}

/* Bucket chain head for h; the shard lock is held. */
static ient_t **slot(shard_t *s, uint64_t h) { return &s->buckets[(h / FS_ITAB_SHARDS) & (s->nbuckets - 1)]; }

static void grow(shard_t *s)
{
    size_t nb = s->nbuckets * 2;
    ient_t **nbk = calloc(nb, sizeof(ient_t *));
    if (!nbk)
        return;  /* stay at this size: chains just get longer */
    for (size_t b = 0; b < s->nbuckets; b++) {
        ient_t *e = s->buckets[b];
        while (e) {
            ient_t *n = e->next;
            size_t i = (mix(e->ino) / FS_ITAB_SHARDS) & (nb - 1);
            e->next = nbk[i];
            nbk[i] = e;
            e = n;
        }
    }
    free(s->buckets);
    s->buckets = nbk;
    s->nbuckets = nb;
}

/* Finds (create=1: or makes) the entry; shard lock held. NULL if absent / out of memory. */
static ient_t *find(shard_t *s, uint64_t h, uint64_t ino, int create)
{
    ient_t **p = slot(s, h);
    for (ient_t *e = *p; e; e = e->next)
        if (e->ino == ino)
            return e;
    if (!create)
        return NULL;
    ient_t *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->ino = ino;
    e->next = *p;
    *p = e;
    if (++s->count > s->nbuckets * 2)
        grow(s);
    return e;
}

static void drop_if_unused(shard_t *s, uint64_t h, ient_t *e)
{
    if (e->nlookup || e->nopen)
        return;
    for (ient_t **p = slot(s, h); *p; p = &(*p)->next) {
        if (*p == e) {
            *p = e->next;
            free(e);
            s->count--;
            return;
        }
    }
}

void fs_itab_ref(fs_itab_t *t, uint64_t ino, uint64_t n)
{
    uint64_t h;
    shard_t *s = shard_of(t, ino, &h);
    pthread_mutex_lock(&s->mu);
    ient_t *e = find(s, h, ino, 1);
    if (e)
        e->nlookup += n;
    pthread_mutex_unlock(&s->mu);
}

int fs_itab_forget(fs_itab_t *t, uint64_t ino, uint64_t n)
{
    uint64_t h;
    int reclaim = 0;
    shard_t *s = shard_of(t, ino, &h);
    pthread_mutex_lock(&s->mu);
    ient_t *e = find(s, h, ino, 0);
    if (e) {
        e->nlookup = n >= e->nlookup ? 0 : e->nlookup - n;
        reclaim = e->orphan && e->nlookup == 0 && e->nopen == 0;
        drop_if_unused(s, h, e);
    }
    pthread_mutex_unlock(&s->mu);
    return reclaim;
}

int fs_itab_orphan_if_busy(fs_itab_t *t, uint64_t ino)
{
    uint64_t h;
    int busy = 0;
    shard_t *s = shard_of(t, ino, &h);
    pthread_mutex_lock(&s->mu);
    ient_t *e = find(s, h, ino, 0);
    if (e && (e->nlookup || e->nopen)) {
        e->orphan = 1;
        busy = 1;
    }
    pthread_mutex_unlock(&s->mu);
    return busy;
}

int fs_itab_busy(fs_itab_t *t, uint64_t ino)
{
    uint64_t h;
    shard_t *s = shard_of(t, ino, &h);
    pthread_mutex_lock(&s->mu);
    ient_t *e = find(s, h, ino, 0);
    int busy = e && (e->nlookup || e->nopen);
    pthread_mutex_unlock(&s->mu);
    return busy;
}

void fs_itab_open(fs_itab_t *t, uint64_t ino)
{
    uint64_t h;
    shard_t *s = shard_of(t, ino, &h);
    pthread_mutex_lock(&s->mu);
    ient_t *e = find(s, h, ino, 1);
    if (e)
        e->nopen++;
    pthread_mutex_unlock(&s->mu);
}

int fs_itab_release(fs_itab_t *t, uint64_t ino)
{
    uint64_t h;
    int reclaim = 0;
    shard_t *s = shard_of(t, ino, &h);
    pthread_mutex_lock(&s->mu);
    ient_t *e = find(s, h, ino, 0);
    if (e) {
        if (e->nopen)
            e->nopen--;
        reclaim = e->orphan && e->nlookup == 0 && e->nopen == 0;
        drop_if_unused(s, h, e);
    }
    pthread_mutex_unlock(&s->mu);
    return reclaim;
}

uint32_t fs_itab_nopen(fs_itab_t *t, uint64_t ino)
{
    uint64_t h;
    shard_t *s = shard_of(t, ino, &h);
    pthread_mutex_lock(&s->mu);
    ient_t *e = find(s, h, ino, 0);
    uint32_t n = e ? e->nopen : 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}

uint64_t fs_itab_nlookup(fs_itab_t *t, uint64_t ino)
{
    uint64_t h;
    shard_t *s = shard_of(t, ino, &h);
    pthread_mutex_lock(&s->mu);
    ient_t *e = find(s, h, ino, 0);
    uint64_t n = e ? e->nlookup : 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t fs_itab_size(fs_itab_t *t)
{
    size_t n = 0;
    for (int i = 0; i < FS_ITAB_SHARDS; i++) {
        pthread_mutex_lock(&t->shards[i].mu);
        n += t->shards[i].count;
        pthread_mutex_unlock(&t->shards[i].mu);
    }
    return n;
}

/* ---- locks ---- */

static unsigned stripe_of(uint64_t ino) { return (unsigned)(mix(ino ^ 0x9e3779b97f4a7c15ULL) % FS_ILOCK_STRIPES); }

#ifdef LSM_TESTING
/* A per-thread address: what holder[] records. */
static const void *thread_tag(void)
{
    static _Thread_local char tag;
    return &tag;
}
static int stripe_held(fs_itab_t *t, unsigned s)
{
    return atomic_load_explicit(&t->holder[s], memory_order_relaxed) == thread_tag();
}
int fs_ilock_held(fs_itab_t *t, uint64_t ino) { return stripe_held(t, stripe_of(ino)); }
#define SET_HOLDER(t, s, who) atomic_store_explicit(&(t)->holder[s], (who), memory_order_relaxed)
#else
#define SET_HOLDER(t, s, who) ((void)0)
#endif

/* Stripe s, which this thread must not hold already (that would deadlock; test builds
 * abort instead). */
static void stripe_lock(fs_itab_t *t, unsigned s)
{
    FS_ASSERT(!stripe_held(t, s));
    pthread_mutex_lock(&t->locks[s]);
    SET_HOLDER(t, s, thread_tag());
}

static void stripe_unlock(fs_itab_t *t, unsigned s)
{
    FS_ASSERT(stripe_held(t, s));
    SET_HOLDER(t, s, NULL);
    pthread_mutex_unlock(&t->locks[s]);
}

void fs_ilock(fs_itab_t *t, uint64_t ino) { stripe_lock(t, stripe_of(ino)); }
void fs_iunlock(fs_itab_t *t, uint64_t ino) { stripe_unlock(t, stripe_of(ino)); }

void fs_ilock_set(fs_itab_t *t, const uint64_t *inos, int n, fs_lockset_t *ls)
{
    ls->n = 0;
    for (int i = 0; i < n && i < FS_LOCKSET_MAX; i++) {
        if (inos[i] == 0)
            continue;
        unsigned s = stripe_of(inos[i]);
        int j = ls->n;
        int dup = 0;
        for (int k = 0; k < ls->n; k++)
            dup |= ls->stripe[k] == s;
        if (dup)
            continue;
        while (j > 0 && ls->stripe[j - 1] > s) {  /* insertion sort */
            ls->stripe[j] = ls->stripe[j - 1];
            j--;
        }
        ls->stripe[j] = s;
        ls->n++;
    }
    for (int i = 0; i < ls->n; i++)
        stripe_lock(t, ls->stripe[i]);
}

void fs_iunlock_set(fs_itab_t *t, fs_lockset_t *ls)
{
    for (int i = ls->n - 1; i >= 0; i--)
        stripe_unlock(t, ls->stripe[i]);
    ls->n = 0;
}
