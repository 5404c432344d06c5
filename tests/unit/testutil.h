/*
 * testutil.h - helpers shared by unit tests (include after <cmocka.h>): run a function in
 * a forked child and see how it ended (for assertions that must abort), and make and
 * remove a temporary store directory. Header-only; each helper fails the calling test through
 * cmocka when the system call itself fails.
 */
#ifndef LSM_TESTS_UNIT_TESTUTIL_H
#define LSM_TESTS_UNIT_TESTUTIL_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs fn(arg) in a forked child with stderr sent to /dev/null (an expected assertion
 * message is noise). Returns the signal that ended the child, or 0 when it exited 0; any
 * other exit status fails the test. */
static inline int tu_run_child(void (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, 2);
        fn(arg);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        return WTERMSIG(status);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return 0;
}

/* Makes a fresh directory /tmp/<name>.XXXXXX and writes its path to dir (n bytes).
 * Returns 0, or -1 (the shape a cmocka setup returns). */
static inline int tu_make_tmpdir(char *dir, size_t n, const char *name)
{
    if (snprintf(dir, n, "/tmp/%s.XXXXXX", name) >= (int)n)
        return -1;
    return mkdtemp(dir) ? 0 : -1;
}

/* rm -rf path (a path made from tu_make_tmpdir: no shell quoting needed; a missing path
 * is fine). Returns 0, or -1 (the shape a cmocka teardown returns). */
static inline int tu_rm_rf(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    return system(cmd) == 0 ? 0 : -1;
}

/* rm -rf dir, failing the test when that fails. */
static inline void tu_remove_tree(const char *dir)
{
    assert_int_equal(tu_rm_rf(dir), 0);
}

#endif
