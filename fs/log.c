/*
 * log.c - where a running lsmfs daemon's messages go.
 *
 * Three destinations: stderr (in the foreground, -f / -d: the default there), a file named
 * by -o log=FILE (appended to, one time-stamped line per message), or syslog (facility
 * LOG_DAEMON, ident "lsmfs", LOG_PID: journald shows them as lsmfs[pid]) once a daemon
 * without log=FILE has detached and its stderr is /dev/null. Every line names the store,
 * so the mounts of one machine can be told apart. libfuse's own messages (fuse_log) and
 * the engine's info log (lsm_options_set_info_log: background flush/compaction failures,
 * checksum mismatches found by them, a write error that stops writes, stalls) come through
 * here too.
 *
 * State: libfuse's log hook (fuse_set_log_func) takes no user pointer, so the destination
 * is the one piece of file-scope state of the daemon. It is written only by fs_log_start
 * and fs_log_detached, which main() calls before the FUSE loop starts any thread, and by
 * fs_log_stop after the loop's threads are gone; everything else only reads it. Lines are
 * written with one write(2) (file, stderr) or one syslog(3) call, so threads never
 * interleave within a line.
 */
#include "fs.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

enum { DEST_STDERR, DEST_FILE, DEST_SYSLOG };

static struct {
    int dest;
    int fd;              /* DEST_FILE */
    int debug;           /* pass FUSE_LOG_DEBUG lines on */
    const char *store;   /* owned by the options */
} lg = {DEST_STDERR, -1, 0, NULL};

static const char *level_name(int level)
{
    switch (level) {
    case FUSE_LOG_EMERG: case FUSE_LOG_ALERT: case FUSE_LOG_CRIT: return "critical";
    case FUSE_LOG_ERR: return "error";
    case FUSE_LOG_WARNING: return "warning";
    case FUSE_LOG_NOTICE: case FUSE_LOG_INFO: return "info";
    default: return "debug";
    }
}

/* Drops a leading "lsmfs: " and "STORE: " from msg: each destination adds its own. */
static const char *strip_prefixes(const char *msg)
{
    if (strncmp(msg, "lsmfs: ", 7) == 0)
        msg += 7;
    size_t n = lg.store ? strlen(lg.store) : 0;
    if (n && strncmp(msg, lg.store, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        msg += n + 2;
    return msg;
}

static void emit(int level, const char *text)
{
    const char *msg = strip_prefixes(text);
    size_t mlen = strlen(msg);
    while (mlen && msg[mlen - 1] == '\n')
        mlen--;
    const char *store = lg.store ? lg.store : "-";
    char line[2048];
    int n;
    switch (lg.dest) {
    case DEST_SYSLOG:
        syslog(level <= FUSE_LOG_CRIT ? LOG_CRIT : (int)level, "%s: %.*s", store, (int)mlen, msg);
        return;
    case DEST_FILE: {
        struct timespec ts;
        struct tm tm;
        char when[32];
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        n = snprintf(line, sizeof(line), "%s lsmfs[%ld]: %s: %s: %.*s\n", when, (long)getpid(),
                     store, level_name(level), (int)mlen, msg);
        break;
    }
    default:
        n = snprintf(line, sizeof(line), "lsmfs: %s: %.*s\n", store, (int)mlen, msg);
        break;
    }
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line)) {
        n = sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    ssize_t w = write(lg.dest == DEST_FILE ? lg.fd : STDERR_FILENO, line, (size_t)n);
    (void)w;
}

static void fuse_hook(enum fuse_log_level level, const char *fmt, va_list ap)
{
    if (level == FUSE_LOG_DEBUG && !lg.debug)
        return;
    if (level == FUSE_LOG_DEBUG && lg.dest == DEST_STDERR) {
        vfprintf(stderr, fmt, ap);  /* -d's request trace, as libfuse prints it */
        return;
    }
    char text[1536];
    vsnprintf(text, sizeof(text), fmt, ap);
    emit((int)level, text);
}

int fs_log_start(const fs_opts_t *o)
{
    lg.store = o->store;
    lg.debug = o->debug;
    if (o->log_file) {
        int fd = open(o->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0) {
            fprintf(stderr, "lsmfs: log file %s: %s\n", o->log_file, strerror(errno));
            return -1;
        }
        lg.fd = fd;
        lg.dest = DEST_FILE;
    }
    fuse_set_log_func(fuse_hook);
    return 0;
}

void fs_log_detached(void)
{
    if (lg.dest != DEST_STDERR)
        return;
    openlog("lsmfs", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    lg.dest = DEST_SYSLOG;
}

void fs_log_stop(void)
{
    if (lg.dest == DEST_SYSLOG)
        closelog();
    if (lg.fd >= 0)
        close(lg.fd);
    lg.fd = -1;
    lg.dest = DEST_STDERR;
}

void fs_log_engine(void *arg, int level, const char *msg)
{
    (void)arg;
    fuse_log(level == LSM_LOG_ERROR ? FUSE_LOG_ERR
             : level == LSM_LOG_WARN ? FUSE_LOG_WARNING : FUSE_LOG_INFO, "%s\n", msg);
}
