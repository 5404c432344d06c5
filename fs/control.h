/*
 * control.h - the running daemon's control channel, and the `lsmfs -o remount,...` client
 * that uses it.
 *
 * Channel: an abstract AF_UNIX stream socket named "lsmfs-ctl:<major>:<minor>", where
 * major:minor is the device number of the mount (st_dev of the mountpoint, as stat(2) and
 * /proc/self/mountinfo show it). Abstract, so nothing is left in the store or on disk when
 * the daemon dies; named by the mount, so a remount finds the daemon from the mountpoint
 * alone (whatever fsname= says). Only root or the daemon's own user may use it
 * (SO_PEERCRED). Protocol: one line per connection, "ro\n" or "rw\n"; the answer is one
 * line, "ok\n" or "err <message>\n". "ping\n" just answers "ok\n".
 *   ro: the daemon refuses every change to the store from then on (EROFS, also its own
 *       atime updates and orphan reclaim), then flushes the memtable to a table and syncs
 *       the WAL; "ok" comes after the flush.
 *   rw: accepted again; refused when the daemon opened the store read-only (-o ro).
 */
#ifndef LSMFS_CONTROL_H
#define LSMFS_CONTROL_H

#include <sys/socket.h>
#include <sys/un.h>

struct fs;

typedef struct fs_ctl fs_ctl_t;

/* Starts the control thread of a mounted fs (after fuse_session_mount). NULL when the
 * channel cannot be set up (a warning is logged; the mount works, remount does not). */
fs_ctl_t *fs_ctl_start(struct fs *fs);
/* Stops and frees it (NULL is fine). */
void fs_ctl_stop(fs_ctl_t *ctl);

/* The channel's address for the mount with device number "major:minor". 0 or -errno. */
int fs_ctl_address(const char *majmin, struct sockaddr_un *sa, socklen_t *len);

/* 1 if some -o list in argv holds the "remount" option. */
int fs_remount_requested(int argc, char **argv);
/* `lsmfs [SOURCE] MOUNTPOINT -o remount,...`: remounts the existing mount (mount(2) with
 * MS_REMOUNT, keeping its other flags) and tells its daemon. Returns the exit status. */
int fs_remount_run(int argc, char **argv);

#endif
