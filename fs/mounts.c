/*
 * mounts.c - the fuse.lsmfs entries of /proc/self/mountinfo (see mounts.h).
 *
 * A mountinfo line: "ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS...] - TYPE SOURCE SUPER".
 * Paths in it have blanks, tabs, newlines and backslashes escaped as \ooo; they are undone
 * before comparing. Lines that do not parse are skipped.
 */
#define _GNU_SOURCE
#include "mounts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Undoes mountinfo's \ooo octal escapes in place. */
static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* Parses one line into *m; 1 if it is a fuse.lsmfs mount. */
static int parse_line(const char *line, fs_mount_t *m)
{
    char type[64];
    const char *sep = strstr(line, " - ");
    if (!sep || sscanf(line, "%*s %*s %31s %*s %4095s", m->majmin, m->point) != 2 ||
        sscanf(sep + 3, "%63s %4095s", type, m->source) != 2 || strcmp(type, "fuse.lsmfs") != 0)
        return 0;
    unescape(m->point);
    unescape(m->source);
    return 1;
}

int fs_mount_find(const char *source, const char *point, fs_mount_t *m)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return -errno;
    fs_mount_t *cur = malloc(sizeof(*cur));
    if (!cur) {
        fclose(f);
        return -ENOMEM;
    }
    char *line = NULL;
    size_t cap = 0;
    int found = 0;
    while (getline(&line, &cap, f) > 0) {
        if (!parse_line(line, cur) || (source && strcmp(cur->source, source) != 0) ||
            (point && strcmp(cur->point, point) != 0))
            continue;
        *m = *cur;
        found = 1;
    }
    free(line);
    free(cur);
    fclose(f);
    return found ? 0 : -ENOENT;
}
