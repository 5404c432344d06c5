/*
 * mapguard.h - run a read of mapped file memory so that a failed page-in is an error, not a
 * crash.
 *
 * Reading a file through mmap turns an I/O error (or a file cut short under the mapping)
 * into SIGBUS at the faulting instruction. mapguard_run calls fn(arg) with this thread
 * marked "inside a guarded read": a SIGBUS raised by that thread while fn runs jumps back
 * out of fn and mapguard_run returns -1 (fn is abandoned: it must not hold locks or
 * allocations that would leak, and must not leave shared state half-written). Outside a
 * guarded read SIGBUS keeps its previous meaning (the handler that was installed before,
 * or the default: terminate).
 *
 * Invariants: the SIGBUS handler is process-wide (installed by mapguard_available, again
 * if something replaced it since), chains to the handler it replaced, and touches only
 * the calling thread's guard pointer
 * (thread-local, set only for the duration of fn). The handler runs with SA_NODEFER, so
 * jumping out of it leaves the thread's signal mask as it was. Guards do not nest.
 *
 * Only the pages fn touches are protected: a caller that keeps using mapped bytes after
 * mapguard_run returned relies on them staying resident (they were just read), which the
 * kernel does not promise under memory pressure. table.c touches every page of a block
 * under the guard right before parsing it, which makes that window microseconds.
 */
#ifndef LSM_UTIL_MAPGUARD_H
#define LSM_UTIL_MAPGUARD_H

/* ThreadSanitizer runs a program's signal handlers itself, deferred to points of its
 * choosing, so a SIGBUS cannot jump out of the faulting read there: in a TSan build guarded
 * reads are unsupported, mapguard_available() says 0 and tables read with pread. */
#if defined(__SANITIZE_THREAD__)
#define MAPGUARD_SUPPORTED 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MAPGUARD_SUPPORTED 0
#endif
#endif
#ifndef MAPGUARD_SUPPORTED
#define MAPGUARD_SUPPORTED 1
#endif

/* 0 when fn returned, -1 when a SIGBUS interrupted it (or mapguard_available never
 * succeeded: then fn is not called at all). */
int mapguard_run(void (*fn)(void *arg), void *arg);

/* Makes sure the handler is in place (installs it, or re-installs it over one put there
 * since; a system call and a mutex, so call it when opening a mapping, not per read).
 * 1 when guarded reads work, 0 when not: then do not read mapped files at all. Code that
 * replaces the SIGBUS handler after the last call turns guarded faults back into crashes. */
int mapguard_available(void);

#endif
