/*
 * test_mapguard.c - guarded reads of mapped files (util/mapguard.h): a read that faults
 * with SIGBUS (a page past the end of a file cut short under its mapping) returns -1 and
 * the thread carries on, over and over and from several threads at once; reads of good
 * pages return 0 with the right bytes; and a SIGBUS outside any guard still terminates the
 * process (checked in a child), so the handler hides nothing but guarded reads.
 * cmocka installs its own SIGBUS handler around every test, so each test first calls
 * mapguard_available(), which puts ours back (as table_open does for every table).
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/mapguard.h"

#define PAGES 4

typedef struct {
    const volatile char *p;
    int sum;
    int done;     /* set after the read: stays 0 when the read was cut short */
} rd_t;

static void read_byte(void *arg)
{
    rd_t *r = arg;
    r->sum += r->p[0];
    r->done = 1;
}

/* A file of PAGES pages, page i filled with byte 'a'+i, mapped whole, then cut to one
 * page: pages 1.. of the mapping now fault with SIGBUS. */
static char *cut_mapping(char *path, size_t plen, long *pg)
{
    *pg = sysconf(_SC_PAGESIZE);
    snprintf(path, plen, "/tmp/test_mapguard.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char *buf = malloc((size_t)*pg);
    for (int i = 0; i < PAGES; i++) {
        memset(buf, 'a' + i, (size_t)*pg);
        assert_int_equal(pwrite(fd, buf, (size_t)*pg, (off_t)i * *pg), *pg);
    }
    free(buf);
    char *m = mmap(NULL, (size_t)*pg * PAGES, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(ftruncate(fd, *pg), 0);
    close(fd);
    return m;
}

static void test_good_and_bad_pages(void **state)
{
    (void)state;
    assert_int_equal(mapguard_available(), 1);
    char path[64];
    long pg;
    char *m = cut_mapping(path, sizeof(path), &pg);
    for (int round = 0; round < 200; round++) {
        rd_t ok = {m + (round % pg), 0, 0};
        assert_int_equal(mapguard_run(read_byte, &ok), 0);
        assert_int_equal(ok.done, 1);
        assert_int_equal(ok.sum, 'a');
        rd_t bad = {m + pg * (1 + round % (PAGES - 1)), 0, 0};
        assert_int_equal(mapguard_run(read_byte, &bad), -1);
        assert_int_equal(bad.done, 0);
    }
    munmap(m, (size_t)pg * PAGES);
    unlink(path);
}

typedef struct {
    char *m;
    long pg;
    int fails, oks;
} thr_t;

static void *reader(void *arg)
{
    thr_t *t = arg;
    for (int i = 0; i < 2000; i++) {
        rd_t r = {t->m + (i % 2 ? t->pg * 2 : 5), 0, 0};
        if (mapguard_run(read_byte, &r) < 0)
            t->fails++;
        else if (r.done && r.sum == 'a')
            t->oks++;
    }
    return NULL;
}

/* Guards are per thread: faults in one thread never jump into another's read. */
static void test_threads(void **state)
{
    (void)state;
    char path[64];
    long pg;
    assert_int_equal(mapguard_available(), 1); /* cmocka puts its own handler per test */
    char *m = cut_mapping(path, sizeof(path), &pg);
    pthread_t th[4];
    thr_t a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (thr_t){m, pg, 0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, reader, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(a[i].fails, 1000);
        assert_int_equal(a[i].oks, 1000);
    }
    munmap(m, (size_t)pg * PAGES);
    unlink(path);
}

/* Outside a guard SIGBUS still kills: the child arms the handler with a guarded read,
 * then touches a cut page unguarded. */
static void test_unguarded_still_fatal(void **state)
{
    (void)state;
    char path[64];
    long pg;
    char *m = cut_mapping(path, sizeof(path), &pg);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL); /* not cmocka's: what a program has by default */
        if (!mapguard_available())
            _exit(2);
        rd_t r = {m + pg, 0, 0};
        if (mapguard_run(read_byte, &r) != -1)
            _exit(3);
        volatile char c = m[pg * 2];
        (void)c;
        _exit(0);
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFSIGNALED(ws));
    assert_int_equal(WTERMSIG(ws), SIGBUS);
    munmap(m, (size_t)pg * PAGES);
    unlink(path);
}

int main(void)
{
    if (!MAPGUARD_SUPPORTED) {
        fprintf(stderr, "test_mapguard: skipped: guarded mapped reads are off in a TSan build "
                        "(mapguard.h)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_and_bad_pages),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_unguarded_still_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
