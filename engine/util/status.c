/*
 * status.c - heap-allocated error statuses (see status.h).
 *
 * Allocation failure while building a status falls back to a static "out of memory"
 * status that st_free recognises and never frees, so error paths never crash.
 * A string made by st_to_string is "Category: message", NUL, then a struct st_tail
 * (unaligned; read with memcpy) whose magic tells it from any other string's bytes.
 */
#include "util/status.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct status {
    st_code_t code;
    int err;
    char msg[];
};

/* What st_to_string stores after the NUL of the message. */
struct st_tail {
    uint32_t magic;
    int32_t code;
    int32_t err;
    uint32_t check; /* magic ^ code ^ err: a second guard against foreign bytes */
};
#define ST_TAIL_MAGIC 0x4c534d45u /* "LSME" */

static struct status oom_status = {ST_IO_ERROR, ENOMEM, {0}};

static status_t st_vmake(st_code_t code, int err, int add_strerror, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        n = 0;
    const char *suffix = err && add_strerror ? strerror(err) : NULL;
    size_t extra = suffix ? strlen(suffix) + 2 : 0;
    struct status *s = malloc(sizeof(*s) + (size_t)n + extra + 1);
    if (!s)
        return &oom_status;
    s->code = code;
    s->err = err;
    vsnprintf(s->msg, (size_t)n + 1, fmt, ap);
    if (suffix) {
        memcpy(s->msg + n, ": ", 2);
        memcpy(s->msg + n + 2, suffix, extra - 2 + 1);
    }
    return s;
}

status_t st_error(st_code_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    status_t s = st_vmake(code, 0, 0, fmt, ap);
    va_end(ap);
    return s;
}

status_t st_io(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    status_t s = st_vmake(ST_IO_ERROR, err, 1, fmt, ap);
    va_end(ap);
    return s;
}

status_t st_make(st_code_t code, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    status_t s = st_vmake(code, err, 0, fmt, ap);
    va_end(ap);
    return s;
}

st_code_t st_code(status_t s) { return s ? s->code : ST_OK; }
int st_errno(status_t s) { return s ? s->err : 0; }
const char *st_msg(status_t s) { return s ? (s == &oom_status ? "out of memory" : s->msg) : "OK"; }

status_t st_copy(status_t s)
{
    if (!s || s == &oom_status)
        return s;
    size_t len = strlen(s->msg);
    struct status *c = malloc(sizeof(*c) + len + 1);
    if (!c)
        return &oom_status;
    memcpy(c, s, sizeof(*c) + len + 1);
    return c;
}

void st_free(status_t s)
{
    if (s && s != &oom_status)
        free(s);
}

static const char *category(st_code_t c)
{
    switch (c) {
    case ST_OK: return "OK";
    case ST_NOT_FOUND: return "Not found";
    case ST_CORRUPTION: return "Corruption";
    case ST_NOT_SUPPORTED: return "Not supported";
    case ST_INVALID_ARGUMENT: return "Invalid argument";
    case ST_IO_ERROR: return "IO error";
    case ST_BUSY: return "Busy";
    }
    return "Unknown";
}

char *st_to_string(status_t s)
{
    if (!s)
        return NULL;
    const char *cat = category(s->code);
    const char *msg = st_msg(s);
    size_t n = strlen(cat) + 2 + strlen(msg) + 1;
    char *out = malloc(n + sizeof(struct st_tail));
    if (out) {
        snprintf(out, n, "%s: %s", cat, msg);
        struct st_tail t = {ST_TAIL_MAGIC, (int32_t)s->code, (int32_t)s->err, 0};
        t.check = t.magic ^ (uint32_t)t.code ^ (uint32_t)t.err;
        memcpy(out + n, &t, sizeof(t));
    }
    st_free(s);
    return out;
}

int st_string_info(const char *str, st_code_t *code, int *err)
{
    *code = ST_IO_ERROR;
    *err = 0;
    if (!str)
        return 0;
    struct st_tail t;
    memcpy(&t, str + strlen(str) + 1, sizeof(t));
    if (t.magic != ST_TAIL_MAGIC || t.check != (t.magic ^ (uint32_t)t.code ^ (uint32_t)t.err))
        return 0;
    *code = (st_code_t)t.code;
    *err = t.err;
    return 1;
}

int st_to_errptr(status_t s, char **errptr)
{
    if (!s)
        return 0;
    if (errptr) {
        free(*errptr);
        *errptr = st_to_string(s);
    } else {
        st_free(s);
    }
    return 1;
}
