/*
 * test_flush_wal.c - lsm_flush_wal honours its `sync` argument: sync = 0 leaves the WAL's
 * bytes in the kernel (the log file already holds them) without a device flush, sync = 1
 * adds exactly one fdatasync, and both report no error on a healthy store. lsm.stats
 * counts syncing write groups ("wal.syncs") apart from the fdatasyncs they ran
 * ("wal.file-syncs"): a sync of a WAL with nothing new since the last one is a group that
 * runs none.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "lsm.h"
#include "testutil.h"
#include "testdb.h"

static unsigned long long wal_syncs(lsm_t *db) { return tu_stat(db, "wal.syncs"); }
static unsigned long long file_syncs(lsm_t *db) { return tu_stat(db, "wal.file-syncs"); }

/* Total size of the *.log files in dir, as the kernel sees them. */
static long long log_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    long long total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".log") != 0)
            continue;
        char p[512];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        assert_int_equal(stat(p, &st), 0);
        total += st.st_size;
    }
    closedir(d);
    return total;
}

static void test_sync_argument_is_honoured(void **state)
{
    (void)state;
    char dir[64];
    lsm_options_t *o;
    lsm_t *db = tu_open_fresh(dir, sizeof(dir), "test_flush_wal", &o);
    char *err = NULL;
    lsm_writeoptions_t *wo = lsm_writeoptions_create(); /* not synced */
    long long before = log_bytes(dir);
    lsm_put(db, wo, "key", 3, "value", 5, &err);
    assert_null(err);
    unsigned long long s0 = wal_syncs(db), f0 = file_syncs(db);

    lsm_flush_wal(db, 0, &err);
    assert_null(err);
    assert_int_equal(wal_syncs(db), s0);         /* no device flush */
    assert_int_equal(file_syncs(db), f0);
    assert_true(log_bytes(dir) > before);        /* the record is in the kernel */

    lsm_flush_wal(db, 1, &err);
    assert_null(err);
    assert_int_equal(wal_syncs(db), s0 + 1);     /* one syncing group ... */
    assert_int_equal(file_syncs(db), f0 + 1);    /* ... that ran one fdatasync */

    lsm_flush_wal(db, 1, &err);                  /* nothing new: a group, no fdatasync */
    assert_null(err);
    assert_int_equal(wal_syncs(db), s0 + 2);
    assert_int_equal(file_syncs(db), f0 + 1);

    lsm_put(db, wo, "key2", 4, "value", 5, &err);
    assert_null(err);
    lsm_flush_wal(db, 1, &err);                  /* a new record: synced again */
    assert_null(err);
    assert_int_equal(file_syncs(db), f0 + 2);

    lsm_writeoptions_destroy(wo);
    lsm_close(db);
    lsm_options_destroy(o);
    tu_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_argument_is_honoured),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
