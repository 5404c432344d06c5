/*
 * filename.h - the names of the files in a store directory.
 *
 *     CURRENT             names the live MANIFEST (one line, "MANIFEST-NNNNNN\n")
 *     MANIFEST-NNNNNN     log of version edits (log format, see write/wal.h)
 *     NNNNNN.log          write-ahead log
 *     NNNNNN.sst          sorted table
 *     LOCK                flock'ed while the store is open
 *     RESERVE             allocated space given back when the disk fills (db_reserve.c)
 *     *.tmp               being written; removed at open
 * File numbers come from one counter (version_set's next_file_number), so every file name
 * is unique for the life of the store.
 */
#ifndef LSM_DB_FILENAME_H
#define LSM_DB_FILENAME_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    FT_UNKNOWN = 0, FT_LOG, FT_TABLE, FT_MANIFEST, FT_CURRENT, FT_LOCK, FT_TEMP, FT_RESERVE,
} file_type_t;

/* Each writes "dir/name" into out (size n) and returns out. */
char *fn_log(char *out, size_t n, const char *dir, uint64_t number);
char *fn_table(char *out, size_t n, const char *dir, uint64_t number);
char *fn_manifest(char *out, size_t n, const char *dir, uint64_t number);
char *fn_current(char *out, size_t n, const char *dir);
char *fn_lock(char *out, size_t n, const char *dir);
char *fn_reserve(char *out, size_t n, const char *dir);

/* Classifies a bare file name; sets *number for numbered files. */
file_type_t fn_parse(const char *name, uint64_t *number);

#endif
