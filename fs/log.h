/*
 * log.h - the daemon's log destination (log.c): stderr in the foreground, -o log=FILE, or
 * syslog (LOG_DAEMON, "lsmfs[pid]") once detached. Messages are written with fuse_log().
 */
#ifndef LSMFS_LOG_H
#define LSMFS_LOG_H

#include "fs.h"

/* Routes fuse_log() (ours and libfuse's) to opts' destination: log=FILE when given (opened
 * now: 0, or -1 with a message on stderr), else stderr. Call once, before any thread. */
int fs_log_start(const fs_opts_t *opts);
/* The daemon detached (stderr is /dev/null now): without log=FILE, switch to syslog. */
void fs_log_detached(void);
/* Closes the file / syslog; later messages go to stderr. After the last thread is gone. */
void fs_log_stop(void);
/* lsm_logger_fn for the engine's info log (arg unused). */
void fs_log_engine(void *arg, int level, const char *msg);

#endif
