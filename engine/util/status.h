/*
 * status.h - how the engine reports failure internally.
 *
 * A status is a pointer: NULL means success, anything else is a heap object holding a
 * category, the errno behind it (0 if none) and a message. Whoever receives a non-NULL
 * status owns it and must pass it on or st_free() it. The public API turns a status into
 * the malloc'd "Category: message" string that lsm.h promises.
 *
 * The errno is data from the failing syscall to the API, never recovered from the text:
 * a status that wraps another (adds a path, an offset, a hint) is made with st_make and
 * the inner st_errno, and st_to_string stores the code and errno after the string's
 * terminating NUL, where st_string_info (and through it lsm_error_errno) reads them.
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
/* A status with this code and errno and exactly this message (no strerror appended): for
 * wrapping another status, st_make(st_code(in), st_errno(in), "...: %s", st_msg(in)). */
status_t st_make(st_code_t code, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
st_code_t st_code(status_t s);
int st_errno(status_t s);
const char *st_msg(status_t s);
/* A copy of s (NULL stays NULL). */
status_t st_copy(status_t s);
void st_free(status_t s);
/* Returns "Category: message" malloc'd, and frees s. NULL for NULL. The allocation also
 * holds s's code and errno after the terminating NUL (st_string_info). */
char *st_to_string(status_t s);
/* The code and errno of a string st_to_string made (unmodified, not a copy). Returns 0
 * (and ST_IO_ERROR, 0) for a string without them. */
int st_string_info(const char *str, st_code_t *code, int *err);
/* Stores st_to_string(s) in *errptr when s is an error; frees s either way. Returns 1 if
 * s was an error. */
int st_to_errptr(status_t s, char **errptr);

#define ST_RETURN_IF_ERR(expr) \
    do { status_t st__ = (expr); if (st__) return st__; } while (0)

#endif
