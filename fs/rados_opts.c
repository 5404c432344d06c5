/*
 * rados_opts.c - the options of a store on RADOS (rados://POOL/NAME), see rados_opts.h.
 *
 * conf=PATH, id=CLIENT, rados_timeout=SECONDS, lease=SECONDS and takeover are handed to the
 * engine's RADOS backend through the process environment it reads (LSMFS_RADOS_CONF,
 * LSMFS_RADOS_ID, LSMFS_RADOS_TIMEOUT, LSMFS_RADOS_LEASE, LSMFS_RADOS_TAKEOVER; see
 * engine/util/file_rados.h): each tool opens one store, so the settings are per process.
 * Invariants: an option is consumed only if it is one of these (others are left to the
 * caller: lsmfs's options.c); a bad value is refused before anything is set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rados_opts.h"

#define RADOS_OPTS_HELP "conf=PATH, id=CLIENT, rados_timeout=SECONDS, lease=SECONDS, takeover"

static const struct {
    const char *key, *env;
    int seconds; /* the value is a number of seconds */
} map[] = {
    {"conf=", "LSMFS_RADOS_CONF", 0},
    {"id=", "LSMFS_RADOS_ID", 0},
    {"rados_timeout=", "LSMFS_RADOS_TIMEOUT", 1},
    {"lease=", "LSMFS_RADOS_LEASE", 1},
};

/* A whole number of seconds from 1 to 86400 (the backend's accepted range). */
static int seconds_ok(const char *v)
{
    char *end;
    if (*v < '0' || *v > '9')
        return 0;
    unsigned long n = strtoul(v, &end, 10);
    return *end == 0 && n >= 1 && n <= 86400;
}

/* The map entry of opt, or -1 (takeover is handled by the callers). */
static int find(const char *opt)
{
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strncmp(opt, map[i].key, strlen(map[i].key)) == 0)
            return (int)i;
    return -1;
}

int fs_rados_opt(const char *opt)
{
    if (strcmp(opt, "takeover") == 0)
        return setenv("LSMFS_RADOS_TAKEOVER", "1", 1) == 0 ? 1 : -1;
    int i = find(opt);
    if (i < 0)
        return 0;
    const char *v = opt + strlen(map[i].key);
    if (map[i].seconds && !seconds_ok(v))
        return -1;
    return setenv(map[i].env, v, 1) == 0 ? 1 : -1;
}

int fs_rados_opts_parse(const char *prog, const char *list)
{
    /* Check every element first, so that a bad one applies nothing. */
    for (int pass = 0; pass < 2; pass++) {
        const char *p = list;
        while (*p) {
            size_t n = strcspn(p, ",");
            char opt[4096];
            if (n >= sizeof(opt)) {
                fprintf(stderr, "%s: option too long in -o\n", prog);
                return -1;
            }
            memcpy(opt, p, n);
            opt[n] = 0;
            p += n + (p[n] == ',');
            if (n == 0)
                continue;
            int i = find(opt);
            if (i < 0 && strcmp(opt, "takeover") != 0) {
                fprintf(stderr, "%s: unknown option '%s' (-o takes the RADOS store options "
                        RADOS_OPTS_HELP ")\n", prog, opt);
                return -1;
            }
            if (i >= 0 && map[i].seconds && !seconds_ok(opt + strlen(map[i].key))) {
                fprintf(stderr, "%s: bad value in '%s': a whole number of seconds from 1 "
                        "to 86400\n", prog, opt);
                return -1;
            }
            if (pass == 1 && fs_rados_opt(opt) < 0) {
                fprintf(stderr, "%s: cannot apply '%s'\n", prog, opt);
                return -1;
            }
        }
    }
    return 0;
}
