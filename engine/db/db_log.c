/*
 * db_log.c - the engine's info log: the lines the engine has to say about background work
 * that no caller is waiting for (see lsm_options_set_info_log in lsm.h).
 *
 * db_log formats one line that starts with the store directory and hands it to the
 * caller's logger, or writes it to stderr when there is none. The background-error helpers
 * keep the log short while a flush or compaction keeps retrying once a second: a failure is
 * logged when it starts or its message changes (other than in its numbers), again after 1, 2, 4, 8... minutes of
 * failing ("still failing"), and once when work succeeds again. Their state lives in the
 * DB handle and is guarded by `mu` (every helper here that touches it runs with mu held).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "db/db_impl.h"
#include "util/clock.h"

void db_log(lsm_t *db, int level, const char *fmt, ...)
{
    char msg[1024];
    int n = snprintf(msg, sizeof(msg), "%s: ", db->dir ? db->dir : "(store)");
    if (n < 0 || (size_t)n >= sizeof(msg))
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    if (db->opt.info_log)
        db->opt.info_log(db->opt.info_log_arg, level, msg);
    else
        fprintf(stderr, "lsm: %s\n", msg);
}

/* 1 when a and b differ in more than their digits: each retry of a failing flush writes a
 * table with a new number, which is not news. */
static int differs_beyond_digits(const char *a, const char *b)
{
    for (;;) {
        while (*a >= '0' && *a <= '9')
            a++;
        while (*b >= '0' && *b <= '9')
            b++;
        if (*a != *b)
            return 1;
        if (!*a)
            return 0;
        a++;
        b++;
    }
}

void db_log_bg_failure(lsm_t *db, const char *what, status_t st)
{
    ASSERT_HELD(&db->mu);
    uint64_t now = clock_now_us();
    const char *old = db->soft_error ? st_msg(db->soft_error) : NULL;
    if (!old || differs_beyond_digits(old, st_msg(st))) {
        db_log(db, LSM_LOG_ERROR, "background %s failed, retrying every second: %s", what,
               st_msg(st));
        if (!old) {
            db->bg_fail_since_us = now;
            db->bg_fail_next_report_s = 60;
        }
        return;
    }
    uint64_t secs = (now - db->bg_fail_since_us) / 1000000u;
    if (secs >= db->bg_fail_next_report_s) {
        db_log(db, LSM_LOG_ERROR, "background %s still failing after %llu s (writes will stall "
               "once the memtables are full): %s", what, (unsigned long long)secs, st_msg(st));
        db->bg_fail_next_report_s *= 2;
    }
}

void db_log_bg_recovered(lsm_t *db)
{
    ASSERT_HELD(&db->mu);
    if (!db->soft_error)
        return;
    uint64_t secs = (clock_now_us() - db->bg_fail_since_us) / 1000000u;
    db_log(db, LSM_LOG_INFO, "background work succeeds again after %llu s of failures",
           (unsigned long long)secs);
}
