/*
 * mutex.h - the engine's mutex, which knows in test builds which thread holds it, and the
 * assertions that use that: ASSERT_HELD(m) / ASSERT_NOT_HELD(m) at the top of a function
 * whose comment says "mu held" / "without mu" (as LevelDB's Mutex::AssertHeld), and
 * LSM_ASSERT(cond) for invariants.
 *
 * Built with -DLSM_TESTING (the test variants: build/check, asan, tsan) a mutex_t records
 * its owner, a per-thread address, after every lock and clears it before every unlock and
 * around a condition wait; a failed assertion prints the expression, file and line and
 * aborts. Without LSM_TESTING (release) mutex_t is a bare pthread mutex, the wrappers are
 * inline calls to pthread and the assertions compile to nothing: release code must not
 * depend on them, so an assertion's argument must have no side effect.
 *
 * Invariants: owner is the address of the holding thread's tag while a thread holds the
 * mutex and NULL otherwise (written only by the holder, read with relaxed atomics: a
 * thread reading its own tag needs no ordering, any other value means "not me").
 */
#ifndef LSM_UTIL_MUTEX_H
#define LSM_UTIL_MUTEX_H

#include <pthread.h>
#include <time.h>

#ifdef LSM_TESTING
#include <stdatomic.h>
#endif

typedef struct mutex {
    pthread_mutex_t mu;
#ifdef LSM_TESTING
    _Atomic(const void *) owner;
#endif
} mutex_t;

/* The address of a thread-local byte (mutex.c): unique per live thread. */
const void *mutex_self(void);
/* Prints "file:line: func: assertion failed: what" and aborts. */
void lsm_assert_fail(const char *what, const char *file, int line, const char *func)
    __attribute__((noreturn));

#ifdef LSM_TESTING
static inline void mutex_set_owner(mutex_t *m, const void *who)
{
    atomic_store_explicit(&m->owner, who, memory_order_relaxed);
}
static inline int mutex_held(mutex_t *m)
{
    return atomic_load_explicit(&m->owner, memory_order_relaxed) == mutex_self();
}
#define LSM_ASSERT(cond) \
    ((cond) ? (void)0 : lsm_assert_fail(#cond, __FILE__, __LINE__, __func__))
#define ASSERT_HELD(m) LSM_ASSERT(mutex_held(m))
#define ASSERT_NOT_HELD(m) LSM_ASSERT(!mutex_held(m))
#else
#define mutex_set_owner(m, who) ((void)0)
#define LSM_ASSERT(cond) ((void)0)
#define ASSERT_HELD(m) ((void)0)
#define ASSERT_NOT_HELD(m) ((void)0)
#endif

static inline void mutex_init(mutex_t *m)
{
    pthread_mutex_init(&m->mu, NULL);
    mutex_set_owner(m, NULL);
}

static inline void mutex_destroy(mutex_t *m)
{
    ASSERT_NOT_HELD(m);
    pthread_mutex_destroy(&m->mu);
}

static inline void mutex_lock(mutex_t *m)
{
    ASSERT_NOT_HELD(m); /* not recursive: this thread would deadlock */
    pthread_mutex_lock(&m->mu);
    mutex_set_owner(m, mutex_self());
}

static inline void mutex_unlock(mutex_t *m)
{
    ASSERT_HELD(m);
    mutex_set_owner(m, NULL);
    pthread_mutex_unlock(&m->mu);
}

/* pthread_cond_wait on m, which the caller holds (and holds again on return). */
static inline void mutex_wait(mutex_t *m, pthread_cond_t *cv)
{
    ASSERT_HELD(m);
    mutex_set_owner(m, NULL);
    pthread_cond_wait(cv, &m->mu);
    mutex_set_owner(m, mutex_self());
}

/* pthread_cond_timedwait on m (held); returns its result (0 or ETIMEDOUT). */
static inline int mutex_timedwait(mutex_t *m, pthread_cond_t *cv, const struct timespec *ts)
{
    ASSERT_HELD(m);
    mutex_set_owner(m, NULL);
    int r = pthread_cond_timedwait(cv, &m->mu, ts);
    mutex_set_owner(m, mutex_self());
    return r;
}

#endif
