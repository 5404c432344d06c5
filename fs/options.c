/*
 * options.c - the -o options of lsmfs.
 *
 * Every option is either lsmfs's own (sync, ro, timeouts, cache sizes, atime policy,
 * writeback, the io_uring transport), a mount option handed on to libfuse/the kernel
 * (allow_other, nodev, ...),
 * or fstab/mount(8) bookkeeping that only matters to mount itself (defaults, noauto,
 * _netdev, x-*, ...), which is accepted and dropped. Anything else is refused with a
 * message, so a typo never mounts with a silently different meaning.
 */
#include "fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fs_opts_init(fs_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->entry_timeout = 60.0;
    o->attr_timeout = 60.0;
    o->writeback = 0;
    o->block_cache = 64u << 20;
    o->write_buffer = 64u << 20;
    o->reserve = (size_t)-1;
    o->atime_mode = FS_ATIME_RELATIME;
    o->uring = 1;
    o->uring_threads = 4;
}

void fs_opts_free(fs_opts_t *o)
{
    free(o->store);
    free(o->mountpoint);
    free(o->fsname);
    free(o->fuse_opts);
    free(o->log_file);
    memset(o, 0, sizeof(*o));
}

/* Parses "123", "64k", "16M", "1G". */
static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    unsigned long long mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1ull << 10; end++; break;
    case 'm': case 'M': mul = 1ull << 20; end++; break;
    case 'g': case 'G': mul = 1ull << 30; end++; break;
    default: break;
    }
    if (*end != '\0' || v > (unsigned long long)SIZE_MAX / mul)
        return -1;
    *out = (size_t)(v * mul);
    return 0;
}

static int parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !(v >= 0) || v > 86400 * 365)
        return -1;
    *out = v;
    return 0;
}

/* Appends one option to the libfuse -o string. */
static int add_fuse_opt(fs_opts_t *o, const char *opt)
{
    size_t old = o->fuse_opts ? strlen(o->fuse_opts) : 0;
    char *n = realloc(o->fuse_opts, old + strlen(opt) + 2);
    if (!n)
        return -1;
    if (old)
        n[old++] = ',';
    strcpy(n + old, opt);
    o->fuse_opts = n;
    return 0;
}

/* Mount flags libfuse passes to the kernel as they are. */
static const char *const passthrough[] = {
    "dev", "nodev", "suid", "nosuid", "exec", "noexec", "dirsync", "allow_root",
    "auto_unmount", NULL,
};

/* fstab / mount(8) bookkeeping: accepted, meaningless to the daemon. */
static const char *const ignored[] = {
    "defaults", "auto", "noauto", "user", "nouser", "users", "owner", "group", "_netdev",
    "nofail", "async", "rw", "diratime", "nodiratime", "lazytime", "nolazytime", "loud",
    "silent", "default_permissions", "atime", NULL,
};

static int in_list(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

static int one_opt(fs_opts_t *o, const char *opt)
{
    const char *eq = strchr(opt, '=');
    const char *val = eq ? eq + 1 : NULL;
    size_t klen = eq ? (size_t)(eq - opt) : strlen(opt);
#define KEY(s) (klen == strlen(s) && strncmp(opt, s, klen) == 0)
    if (klen == 0)
        return 0;
    if (!eq && in_list(ignored, opt))
        return 0;
    if (strncmp(opt, "x-", 2) == 0 || KEY("comment"))
        return 0;
    if (!eq && in_list(passthrough, opt))
        return add_fuse_opt(o, opt);
    int rados = fs_rados_opt(opt);
    if (rados)
        return rados > 0 ? 0 : -1;
    if (!eq && strcmp(opt, "allow_other") == 0) {
        o->allow_other = 1;
        return 0;
    }
    if (!eq && strcmp(opt, "ro") == 0) {
        o->ro = 1;
        return 0;
    }
    if (!eq && strcmp(opt, "sync") == 0) {
        o->sync = 1;
        return 0;
    }
    if (!eq && strcmp(opt, "debug") == 0) {
        o->debug = 1;
        return 0;
    }
    if (!eq && strcmp(opt, "noatime") == 0) {
        o->atime_mode = FS_ATIME_NOATIME;
        return add_fuse_opt(o, opt);
    }
    if (!eq && strcmp(opt, "relatime") == 0) {
        o->atime_mode = FS_ATIME_RELATIME;
        return 0;
    }
    if (!eq && strcmp(opt, "strictatime") == 0) {
        o->atime_mode = FS_ATIME_STRICTATIME;
        return 0;
    }
    if (!eq && strcmp(opt, "writeback") == 0) {
        o->writeback = 1;
        return 0;
    }
    if (!eq && strcmp(opt, "nowriteback") == 0) {
        o->writeback = 0;
        return 0;
    }
    if (!eq && (strcmp(opt, "acl") == 0 || strcmp(opt, "noacl") == 0)) {
        o->noacl = opt[0] == 'n';  /* POSIX ACLs (acl.c) */
        return 0;
    }
    if (!eq && (strcmp(opt, "uring") == 0 || strcmp(opt, "nouring") == 0)) {
        o->uring = opt[0] == 'u';
        return 0;
    }
    if (!eq && strcmp(opt, "uring_nopin") == 0) {
        o->uring_nopin = 1;
        return 0;
    }
    if (eq && KEY("uring_poll")) {
        char *end;
        unsigned long n = strtoul(val, &end, 10);
        if (*val < '0' || *val > '9' || *end != '\0' || n > 1000) { /* decimal only */
            fprintf(stderr, "lsmfs: invalid option 'uring_poll=%s': expected microseconds, "
                    "0 to 1000\n", val);
            return -2; /* reported */
        }
        o->uring_poll = (unsigned)n;
        return 0;
    }
    if (eq && KEY("uring_threads")) {
        size_t n;
        if (parse_size(val, &n) != 0 || n < 1 || n > 64)
            return -1;
        o->uring_threads = (unsigned)n;
        return 0;
    }
    if (eq && KEY("fsname")) {
        free(o->fsname);
        o->fsname = strdup(val);
        return o->fsname && *val && !strchr(val, ',') ? 0 : -1;
    }
    if (eq && KEY("subtype"))
        return strcmp(val, "lsmfs") == 0 ? 0 : -1;
    if (eq && KEY("entry_timeout"))
        return parse_seconds(val, &o->entry_timeout);
    if (eq && KEY("attr_timeout"))
        return parse_seconds(val, &o->attr_timeout);
    if (eq && KEY("block_cache"))
        return parse_size(val, &o->block_cache);
    if (eq && KEY("write_buffer")) {
        if (parse_size(val, &o->write_buffer) != 0 || o->write_buffer < (64u << 10))
            return -1;
        return 0;
    }
    if (eq && KEY("reserve"))
        return parse_size(val, &o->reserve);
    if (eq && KEY("log")) {
        free(o->log_file);
        o->log_file = *val == '/' ? strdup(val) : NULL;  /* absolute: the daemon does chdir("/") */
        return o->log_file ? 0 : -1;
    }
    if (eq && KEY("max_read"))
        return add_fuse_opt(o, opt);
#undef KEY
    return -1;
}

int fs_opts_parse(fs_opts_t *o, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return -1;
    int rc = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int r = one_opt(o, t);
        if (r == -2) { /* one_opt said what was wrong */
            rc = -1;
            break;
        }
        if (r != 0) {
            fprintf(stderr, "lsmfs: unknown or invalid option '%s' (see lsmfs --help)\n", t);
            rc = -1;
            break;
        }
    }
    free(copy);
    return rc;
}
