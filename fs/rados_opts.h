/*
 * rados_opts.h - the options of a store on RADOS (rados://POOL/NAME), shared by lsmfs,
 * mkfs.lsmfs and fsck.lsmfs (all three take them with -o).
 *
 * conf=PATH, id=CLIENT, rados_timeout=SECONDS, lease=SECONDS, takeover. They take effect
 * for the whole process (the engine's RADOS backend reads them from LSMFS_RADOS_*
 * environment variables, see engine/util/file_rados.h), so they must be applied before the
 * store is first opened. Invariant: a bad option or value changes nothing.
 */
#ifndef LSMFS_RADOS_OPTS_H
#define LSMFS_RADOS_OPTS_H

/* 1 if opt was a RADOS store option and is now in effect, 0 if it is none of them, -1 if
 * it is one with a bad value (seconds must be a whole number from 1 to 86400). */
int fs_rados_opt(const char *opt);

/* mkfs.lsmfs/fsck.lsmfs -o LIST: every comma-separated element must be a RADOS store
 * option. Returns 0, or -1 after printing one line "PROG: ..." naming the bad element
 * (nothing is applied then). */
int fs_rados_opts_parse(const char *prog, const char *list);

#endif
