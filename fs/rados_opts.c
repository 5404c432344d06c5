/*
 * rados_opts.c - the mount options of a store on RADOS (rados://POOL/NAME).
 *
 * conf=PATH, id=CLIENT, rados_timeout=SECONDS, lease=SECONDS and takeover are handed to the
 * engine's RADOS backend through the process environment it reads (LSMFS_RADOS_CONF,
 * LSMFS_RADOS_ID, LSMFS_RADOS_TIMEOUT, LSMFS_RADOS_LEASE, LSMFS_RADOS_TAKEOVER; see
 * engine/util/file_rados.h): the daemon opens one store, so the settings are per process.
 * Invariant: an option is consumed only if it is one of these; others are left to options.c.
 */
#include <stdlib.h>
#include <string.h>

#include "fs.h"

int fs_rados_opt(const char *opt)
{
    static const struct { const char *key, *env; } map[] = {
        {"conf=", "LSMFS_RADOS_CONF"},     {"id=", "LSMFS_RADOS_ID"},
        {"rados_timeout=", "LSMFS_RADOS_TIMEOUT"}, {"lease=", "LSMFS_RADOS_LEASE"},
    };
    if (strcmp(opt, "takeover") == 0)
        return setenv("LSMFS_RADOS_TAKEOVER", "1", 1) == 0 ? 1 : -1;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        size_t n = strlen(map[i].key);
        if (strncmp(opt, map[i].key, n) == 0)
            return setenv(map[i].env, opt + n, 1) == 0 ? 1 : -1;
    }
    return 0;
}
