/*
 * mapguard.c - SIGBUS-safe reads of mapped files (see mapguard.h).
 *
 * Invariants: `prev` is written only under install_mu and only while SIGBUS is not routed to
 * on_sigbus (so the handler never reads it mid-write); `installed` goes 0 -> 1 once.
 * `guard` is thread-local and non-NULL only while that thread is inside mapguard_run's
 * call of fn. The handler only reads `prev`, clears the guard and siglongjmps
 * (async-signal-safe), or hands the signal on.
 */
#include "util/mapguard.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>

static pthread_mutex_t install_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int installed;         /* 1 once the handler was put in place */
static struct sigaction prev;         /* what SIGBUS did before (written under install_mu) */
static __thread sigjmp_buf *guard __attribute__((tls_model("initial-exec")));

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    sigjmp_buf *jb = guard;
    if (jb) {
        guard = NULL;
        siglongjmp(*jb, 1);
    }
    /* Not a guarded read: behave as before we were installed. */
    if (prev.sa_flags & SA_SIGINFO) {
        if (prev.sa_sigaction) {
            prev.sa_sigaction(sig, si, uc);
            return;
        }
    } else if (prev.sa_handler == SIG_IGN) {
        return;
    } else if (prev.sa_handler != SIG_DFL) {
        prev.sa_handler(sig);
        return;
    }
    /* Default action: restore it; returning re-runs the faulting access, which then
     * terminates the process as it would have without us. */
    signal(SIGBUS, SIG_DFL);
}

/* Puts on_sigbus in place unless it already is (someone may have replaced it since: a
 * test harness or a library that installs its own; we then chain to theirs). */
int mapguard_available(void)
{
    if (!MAPGUARD_SUPPORTED)
        return 0;
    pthread_mutex_lock(&install_mu);
    struct sigaction cur;
    int ok = sigaction(SIGBUS, NULL, &cur) == 0;
    if (ok && !((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigbus)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        prev = cur;
        ok = sigaction(SIGBUS, &sa, NULL) == 0;
    }
    if (ok)
        installed = 1;
    pthread_mutex_unlock(&install_mu);
    return ok;
}

int mapguard_run(void (*fn)(void *arg), void *arg)
{
    if (!installed)
        return -1;
    sigjmp_buf jb;
    if (sigsetjmp(jb, 0)) /* no mask save: SA_NODEFER left the mask untouched */
        return -1;
    guard = &jb;
    fn(arg);
    guard = NULL;
    return 0;
}
