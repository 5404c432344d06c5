/*
 * testdb.h - helpers for unit tests that work on a real store through lsm.h (include
 * after <cmocka.h> and testutil.h): open a fresh store in a new temporary directory, and
 * read one counter of lsm.stats. Header-only; each helper fails the calling test through
 * cmocka when the engine call fails.
 */
#ifndef LSM_TESTS_UNIT_TESTDB_H
#define LSM_TESTS_UNIT_TESTDB_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lsm.h"

/* A store created in a new directory /tmp/<name>.XXXXXX (its path written to dir, n bytes)
 * with default options plus create_if_missing. The caller closes the store, destroys *o
 * and removes dir (tu_remove_tree). */
static inline lsm_t *tu_open_fresh(char *dir, size_t n, const char *name, lsm_options_t **o)
{
    assert_int_equal(tu_make_tmpdir(dir, n, name), 0);
    *o = lsm_options_create();
    assert_non_null(*o);
    lsm_options_set_create_if_missing(*o, 1);
    char *err = NULL;
    lsm_t *db = lsm_open(*o, dir, &err);
    assert_null(err);
    assert_non_null(db);
    return db;
}

/* The number after "name: " in lsm.stats (the counter must be there). */
static inline uint64_t tu_stat(lsm_t *db, const char *name)
{
    char *s = lsm_property_value(db, "lsm.stats");
    assert_non_null(s);
    size_t len = strlen(name);
    const char *p = s;
    /* a whole name followed by ": ", not the tail of a longer one */
    while ((p = strstr(p, name)) != NULL &&
           ((p > s && p[-1] != '\n' && p[-1] != ' ') || strncmp(p + len, ": ", 2) != 0))
        p += len;
    assert_non_null(p);
    uint64_t v = strtoull(p + len + 2, NULL, 10);
    lsm_free(s);
    return v;
}

#endif
