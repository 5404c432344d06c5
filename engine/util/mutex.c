/*
 * mutex.c - the out-of-line parts of mutex.h: the per-thread owner tag (one definition for
 * the whole program, so every file compares the same address) and the assertion failure
 * report. Both are used only by test builds (LSM_TESTING); release code never calls them.
 */
#include "util/mutex.h"

#include <stdio.h>
#include <stdlib.h>

const void *mutex_self(void)
{
    static _Thread_local char tag;
    return &tag;
}

void lsm_assert_fail(const char *what, const char *file, int line, const char *func)
{
    fprintf(stderr, "%s:%d: %s: assertion failed: %s\n", file, line, func, what);
    abort();
}
