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

/* What one locked visit of an inode's entry does (the public counters below). */
typedef enum {
    IT_REF, IT_FORGET, IT_ORPHAN_IF_BUSY, IT_BUSY, IT_OPEN, IT_RELEASE, IT_NOPEN, IT_NLOOKUP
} itab_op_t;

static int in_use(const ient_t *e) { return e->nlookup || e->nopen; }

/* 1 when e is an orphan no one knows or holds open any more: its rows can go. */
static int reclaimable(const ient_t *e) { return e->orphan && !in_use(e); }

/* Applies op (with argument n) to entry e; returns the op's answer. */
static uint64_t apply(ient_t *e, itab_op_t op, uint64_t n)
{
    switch (op) {
    case IT_REF:
        e->nlookup += n;
        return 0;
    case IT_FORGET:
        e->nlookup = n >= e->nlookup ? 0 : e->nlookup - n;
        return (uint64_t)reclaimable(e);
    case IT_ORPHAN_IF_BUSY:
        if (!in_use(e))
            return 0;
        e->orphan = 1;
        return 1;
    case IT_BUSY:
        return (uint64_t)in_use(e);
    case IT_OPEN:
        e->nopen++;
        return 0;
    case IT_RELEASE:
        if (e->nopen)
            e->nopen--;
        return (uint64_t)reclaimable(e);
    case IT_NOPEN:
        return e->nopen;
    case IT_NLOOKUP:
        return e->nlookup;
    }
    return 0;
}

/* Applies op to ino's entry under its shard's lock: REF and OPEN create the entry, FORGET
 * and RELEASE drop it once unused; with no entry (or no memory) the answer is 0. */
static uint64_t visit(fs_itab_t *t, uint64_t ino, itab_op_t op, uint64_t n)
{
    uint64_t h, r = 0;
    shard_t *s = shard_of(t, ino, &h);
    pthread_mutex_lock(&s->mu);
    ient_t *e = find(s, h, ino, op == IT_REF || op == IT_OPEN);
    if (e) {
        r = apply(e, op, n);
        if (op == IT_FORGET || op == IT_RELEASE)
            drop_if_unused(s, h, e);
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

void fs_itab_ref(fs_itab_t *t, uint64_t ino, uint64_t n) { visit(t, ino, IT_REF, n); }
int fs_itab_forget(fs_itab_t *t, uint64_t ino, uint64_t n) { return (int)visit(t, ino, IT_FORGET, n); }
int fs_itab_orphan_if_busy(fs_itab_t *t, uint64_t ino) { return (int)visit(t, ino, IT_ORPHAN_IF_BUSY, 0); }
int fs_itab_busy(fs_itab_t *t, uint64_t ino) { return (int)visit(t, ino, IT_BUSY, 0); }
void fs_itab_open(fs_itab_t *t, uint64_t ino) { visit(t, ino, IT_OPEN, 0); }
int fs_itab_release(fs_itab_t *t, uint64_t ino) { return (int)visit(t, ino, IT_RELEASE, 0); }
uint32_t fs_itab_nopen(fs_itab_t *t, uint64_t ino) { return (uint32_t)visit(t, ino, IT_NOPEN, 0); }
uint64_t fs_itab_nlookup(fs_itab_t *t, uint64_t ino) { return visit(t, ino, IT_NLOOKUP, 0); }

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
