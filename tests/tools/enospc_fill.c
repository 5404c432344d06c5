/*
 * enospc_fill.c - the engine on a file system that runs out of space (tests/crash/
 * test_enospc.sh runs it on a small tmpfs).
 *
 *   enospc_fill STORE FILLER
 *
 * 1. Writes keys until a write fails; the error must be ENOSPC (lsm_error_errno) and say
 *    so; the failed key must not be visible.
 * 2. Reads back every acknowledged key while the disk is full.
 * 3. Removes FILLER (a file the script made on the same file system) to free space;
 *    writes must work again within a few seconds (the engine retires the broken WAL, the
 *    background retries its failed flush).
 * 4. Closes, reopens and checks every acknowledged key, and lsm_verify_checksum.
 * Exit 0 on success, 1 on a failed check (message on stderr), 2 on usage errors.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lsm.h"

#define VALUE_SIZE 2000
#define MAX_KEYS 200000

static void key_of(char *k, int i) { sprintf(k, "key%07d", i); }

static size_t value_of(char *v, int i)
{
    int n = sprintf(v, "value of %d:", i);
    for (int j = n; j < VALUE_SIZE; j++)
        v[j] = (char)('A' + (i * 7 + j) % 26);
    return VALUE_SIZE;
}

static int fail(const char *what, const char *err)
{
    fprintf(stderr, "enospc_fill: FAIL: %s%s%s\n", what, err ? ": " : "", err ? err : "");
    return 1;
}

static char *put(lsm_t *db, int i, int sync)
{
    char k[32], v[VALUE_SIZE], *err = NULL;
    key_of(k, i);
    size_t vl = value_of(v, i);
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    lsm_writeoptions_set_sync(wo, (unsigned char)sync);
    lsm_put(db, wo, k, strlen(k), v, vl, &err);
    lsm_writeoptions_destroy(wo);
    return err;
}

/* 1 present with the right value, 0 absent, -1 wrong value or read error. */
static int check(lsm_t *db, int i, char **errout)
{
    char k[32], v[VALUE_SIZE], *err = NULL;
    key_of(k, i);
    size_t want = value_of(v, i), n = 0;
    lsm_readoptions_t *ro = lsm_readoptions_create();
    char *got = lsm_get(db, ro, k, strlen(k), &n, &err);
    lsm_readoptions_destroy(ro);
    if (err) {
        *errout = err;
        return -1;
    }
    if (!got)
        return 0;
    int ok = n == want && memcmp(got, v, n) == 0;
    lsm_free(got);
    return ok ? 1 : -1;
}

static int check_all(lsm_t *db, int n, const char *when)
{
    for (int i = 0; i < n; i++) {
        char *err = NULL;
        int r = check(db, i, &err);
        if (r != 1) {
            fprintf(stderr, "enospc_fill: FAIL: %s: key %d %s%s\n", when, i,
                    r == 0 ? "lost" : "wrong", err ? err : "");
            lsm_free(err);
            return 1;
        }
    }
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: enospc_fill STORE FILLER\n");
        return 2;
    }
    const char *dir = argv[1], *filler = argv[2];
    lsm_options_t *o = lsm_options_create();
    lsm_options_set_create_if_missing(o, 1);
    lsm_options_set_write_buffer_size(o, 256 * 1024);
    lsm_options_set_target_file_size_base(o, 256 * 1024);
    lsm_options_set_max_bytes_for_level_base(o, 1024 * 1024);
    char *err = NULL;
    lsm_t *db = lsm_open(o, dir, &err);
    if (err)
        return fail("open", err);

    /* 1. Fill. */
    int acked = 0;
    for (; acked < MAX_KEYS; acked++) {
        err = put(db, acked, acked % 4 == 0);
        if (err)
            break;
    }
    if (!err)
        return fail("the file system never ran out of space", NULL);
    printf("enospc_fill: %d keys (%d KiB) acknowledged, then: %s\n", acked,
           acked * (VALUE_SIZE / 1024), err);
    if (lsm_error_errno(err) != ENOSPC)
        return fail("the write failed with something other than ENOSPC", err);
    if (!strstr(err, "No space left on device"))
        return fail("the message does not say the device is full", err);
    lsm_free(err);
    err = NULL;
    int failed_key = acked;
    /* More writes fail the same way and stay invisible. */
    int went_through = 0;
    for (int i = 0; i < 5 && !went_through; i++) {
        err = put(db, failed_key, 1);
        if (!err) {
            went_through = 1;
            break;
        }
        if (lsm_error_errno(err) != ENOSPC)
            return fail("a later write failed with something other than ENOSPC", err);
        lsm_free(err);
        err = NULL;
    }
    if (went_through) { /* background work freed some space (obsolete files): fine */
        acked++;
        failed_key = -1;
    }
    if (failed_key >= 0 && check(db, failed_key, &err) != 0)
        return fail("a failed write is visible", err);

    /* 2. Reads work on a full disk. */
    if (check_all(db, acked, "reading on a full disk"))
        return 1;
    printf("enospc_fill: all %d keys read back on the full file system\n", acked);

    /* 3. Free space: writes work again. */
    if (unlink(filler) < 0)
        return fail("cannot remove the filler file", strerror(errno));
    /* A write that would wait for the background gets the background's last error
     * (the failed flush) until its next retry, within a second: retry for a while. */
    int retried = 0;
    for (int i = 0; i < 100; i++, acked++) {
        for (int t = 0;; t++) {
            err = put(db, acked, i % 4 == 0);
            if (!err)
                break;
            if (t >= 150)
                return fail("writes still fail 15 s after space was freed", err);
            if (lsm_error_errno(err) != ENOSPC)
                return fail("a write after freeing space failed with something other than "
                            "ENOSPC", err);
            lsm_free(err);
            err = NULL;
            retried++;
            sleep_ms(100);
        }
    }
    for (int t = 0;; t++) {
        lsm_flush(db, NULL, &err);
        if (!err)
            break;
        if (t > 150)
            return fail("flush still fails 15 s after space was freed", err);
        lsm_free(err);
        err = NULL;
        sleep_ms(100);
    }
    printf("enospc_fill: writes and flush work again after freeing space (%d keys, %d "
           "retries of 100 ms)\n", acked, retried);

    /* 4. Reopen: nothing acknowledged is lost. */
    lsm_close(db);
    db = lsm_open(o, dir, &err);
    if (err)
        return fail("reopen", err);
    if (check_all(db, acked, "after reopen"))
        return 1;
    lsm_verify_checksum(db, &err);
    if (err)
        return fail("verify_checksum after reopen", err);
    lsm_close(db);
    lsm_options_destroy(o);
    printf("enospc_fill: reopened, all %d keys there, checksums fine\n", acked);
    return 0;
}
