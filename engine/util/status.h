/*
 * status.h - how the engine reports failure internally.
 *
 * A status is a pointer: NULL means success, anything else is a heap object holding a
 * category, the errno behind it (0 if none) and a message. Whoever receives a non-NULL
 * status owns it and must pass it on or st_free() it. The public API turns a status into
 * the malloc'd "Category: message" string that lsm.h promises.
 */
#ifndef LSM_UTIL_STATUS_H
#define LSM_UTIL_STATUS_H

#include <stdarg.h>

typedef enum {
    ST_OK = 0,
    ST_NOT_FOUND,
    ST_CORRUPTION,
    ST_NOT_SUPPORTED,
    ST_INVALID_ARGUMENT,
    ST_IO_ERROR,
    ST_BUSY,
} st_code_t;

typedef struct status *status_t;

#define ST_OK_VALUE ((status_t)0)

status_t st_error(st_code_t code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An I/O error carrying errno `err` (the message gets strerror appended). */
status_t st_io(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
st_code_t st_code(status_t s);
int st_errno(status_t s);
const char *st_msg(status_t s);
/* A copy of s (NULL stays NULL). */
status_t st_copy(status_t s);
void st_free(status_t s);
/* Returns "Category: message" malloc'd, and frees s. NULL for NULL. */
char *st_to_string(status_t s);
/* Stores st_to_string(s) in *errptr when s is an error; frees s either way. Returns 1 if
 * s was an error. */
int st_to_errptr(status_t s, char **errptr);

#define ST_RETURN_IF_ERR(expr) \
    do { status_t st__ = (expr); if (st__) return st__; } while (0)

#endif
