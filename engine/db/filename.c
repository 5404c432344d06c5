/*
 * filename.c - building and classifying the names of a store's files (see filename.h).
 *
 * Numbers are printed with at least six digits ("000042.sst") and parsed strictly: only
 * decimal digits, at least one, no sign, no overflow of 64 bits. A name that does not match
 * one of the patterns exactly is FT_UNKNOWN, so open never mistakes a stray file for one of
 * its own.
 */
#include "db/filename.h"

#include <stdio.h>
#include <string.h>

static char *numbered(char *out, size_t n, const char *dir, uint64_t number, const char *suffix)
{
    snprintf(out, n, "%s/%06llu.%s", dir, (unsigned long long)number, suffix);
    return out;
}

char *fn_log(char *out, size_t n, const char *dir, uint64_t number)
{
    return numbered(out, n, dir, number, "log");
}

char *fn_table(char *out, size_t n, const char *dir, uint64_t number)
{
    return numbered(out, n, dir, number, "sst");
}

char *fn_manifest(char *out, size_t n, const char *dir, uint64_t number)
{
    snprintf(out, n, "%s/MANIFEST-%06llu", dir, (unsigned long long)number);
    return out;
}

char *fn_current(char *out, size_t n, const char *dir)
{
    snprintf(out, n, "%s/CURRENT", dir);
    return out;
}

char *fn_lock(char *out, size_t n, const char *dir)
{
    snprintf(out, n, "%s/LOCK", dir);
    return out;
}

char *fn_reserve(char *out, size_t n, const char *dir)
{
    snprintf(out, n, "%s/RESERVE", dir);
    return out;
}

/* Parses the decimal digits in [p, p+len); 0 on success. */
static int parse_number(const char *p, size_t len, uint64_t *out)
{
    if (len == 0)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

file_type_t fn_parse(const char *name, uint64_t *number)
{
    size_t len = strlen(name);
    uint64_t v;
    if (strcmp(name, "CURRENT") == 0)
        return FT_CURRENT;
    if (strcmp(name, "LOCK") == 0)
        return FT_LOCK;
    if (strcmp(name, "RESERVE") == 0)
        return FT_RESERVE;
    if (len > 4 && ends_with(name, len, ".tmp"))
        return FT_TEMP;
    if (len > 9 && memcmp(name, "MANIFEST-", 9) == 0) {
        if (parse_number(name + 9, len - 9, &v) != 0)
            return FT_UNKNOWN;
        *number = v;
        return FT_MANIFEST;
    }
    if (ends_with(name, len, ".log") && parse_number(name, len - 4, &v) == 0) {
        *number = v;
        return FT_LOG;
    }
    if (ends_with(name, len, ".sst") && parse_number(name, len - 4, &v) == 0) {
        *number = v;
        return FT_TABLE;
    }
    return FT_UNKNOWN;
}
