/*
 * mkfs.c - mkfs.lsmfs: make a new, empty lsmfs store.
 *
 *   mkfs.lsmfs [-b blocksize] [-L label] [-c none|zlib] [-f] [-q] [-o rados-options] STORE
 *
 * Every argument is checked before anything is written: a bad one prints a message and
 * exits 1 with the disk untouched. STORE is created if missing; a non-empty directory is
 * refused unless -f, which first destroys the store that is there (refused while that
 * store is in use). The new store gets, in one synced batch, the superblock, the root
 * directory (inode 1, FUSE_ROOT_ID, owned by the caller) and lost+found (inode 2, 0700).
 * Rows are made only through fs/schema.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lsm.h"
#include "reserve.h"
#include "version.h"
#include "schema.h"
#include "rados_opts.h"
#include "schema_rows.h"

static void usage(FILE *f)
{
    fprintf(f,
"usage: mkfs.lsmfs [-b blocksize] [-L label] [-c none|zlib] [-f] [-q] [-o opts] STORE\n"
"  -b SIZE   data block size in bytes, a power of two from %u to %u (default %u)\n"
"  -L LABEL  file system label, at most %d bytes\n"
"  -c ALG    compression of the store's tables: none (default) or zlib\n"
"  -f        overwrite: destroy the store already in STORE\n"
"  -q        quiet: print nothing on success\n"
"  -o OPTS   for a rados://POOL/NAME store: conf=PATH,id=CLIENT,rados_timeout=SECONDS,\n"
"            lease=SECONDS,takeover (as lsmfs -o; see docs/SCALE.md)\n"
"  -V, --version  print the version\n",
            FS_BLOCK_SIZE_MIN, FS_BLOCK_SIZE_MAX, FS_BLOCK_SIZE_DEFAULT, FS_LABEL_MAX);
}

/* 1 if the directory has any entry besides . and ..; 0 if empty; -1 on error. */
static int dir_nonempty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n = 1;
            break;
        }
    closedir(d);
    return n;
}

/* Removes the engine's files of the store (-f); 0 on success, else says why. */
static int destroy_store(const char *store)
{
    char *err = NULL;
    lsm_options_t *o = lsm_options_create();
    lsm_destroy_db(o, store, &err);
    lsm_options_destroy(o);
    if (err) {
        fprintf(stderr, "mkfs.lsmfs: %s: cannot destroy the old store: %s\n", store, err);
        lsm_free(err);
        return 1;
    }
    return 0;
}

static void make_uuid(uint8_t *u)
{
    size_t got = 0;
    while (got < FS_UUID_SIZE) {
        ssize_t n = getrandom(u + got, FS_UUID_SIZE - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < FS_UUID_SIZE) {  /* no entropy source: time and pid, still unique enough */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t a = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        uint64_t b = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^ a;
        memcpy(u, &a, 8);
        memcpy(u + 8, &b, 8);
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);  /* RFC 4122 version 4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
}

static void uuid_str(const uint8_t *u, char *out)
{
    static const int dash[] = {4, 6, 8, 10};
    char *p = out;
    for (int i = 0; i < FS_UUID_SIZE; i++) {
        for (int d = 0; d < 4; d++)
            if (i == dash[d])
                *p++ = '-';
        p += sprintf(p, "%02x", u[i]);
    }
}

static int parse_block_size(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    if (*end == 'k' || *end == 'K') {
        v *= 1024;
        end++;
    }
    if (*end != '\0' || v < FS_BLOCK_SIZE_MIN || v > FS_BLOCK_SIZE_MAX || (v & (v - 1)))
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* What the command line asks for. */
typedef struct {
    fs_super_t sb;     /* block size, label and compression filled in */
    int force, quiet;
    const char *store;
} mkfs_args_t;

/* Step 1: parses and checks the command line into a. Returns 0 to go on, 1 to exit 0
 * (--help, --version), -1 to exit 1 (a message was printed). Nothing is written. */
static int parse_args(int argc, char **argv, mkfs_args_t *a)
{
    memset(a, 0, sizeof(*a));
    a->sb.format_version = FS_FORMAT_VERSION;
    a->sb.block_size = FS_BLOCK_SIZE_DEFAULT;
    a->sb.inode_hwm = FS_FIRST_FREE_INO;
    a->sb.compression = FS_COMPRESS_NONE;
    int c;
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    while ((c = getopt_long(argc, argv, "b:L:c:fqo:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (parse_block_size(optarg, &a->sb.block_size) != 0) {
                fprintf(stderr, "mkfs.lsmfs: bad block size '%s': need a power of two from %u to %u\n",
                        optarg, FS_BLOCK_SIZE_MIN, FS_BLOCK_SIZE_MAX);
                return -1;
            }
            break;
        case 'L':
            if (strlen(optarg) > FS_LABEL_MAX) {
                fprintf(stderr, "mkfs.lsmfs: label '%s' is longer than %d bytes\n", optarg,
                        FS_LABEL_MAX);
                return -1;
            }
            strcpy(a->sb.label, optarg);
            break;
        case 'c':
            if (strcmp(optarg, "none") == 0) {
                a->sb.compression = FS_COMPRESS_NONE;
            } else if (strcmp(optarg, "zlib") == 0) {
                a->sb.compression = FS_COMPRESS_ZLIB;
            } else {
                fprintf(stderr, "mkfs.lsmfs: unknown compression '%s' (none or zlib)\n", optarg);
                return -1;
            }
            break;
        case 'f': a->force = 1; break;
        case 'q': a->quiet = 1; break;
        case 'o':
            if (fs_rados_opts_parse("mkfs.lsmfs", optarg) != 0)
                return -1;
            break;
        case 'h': usage(stdout); return 1;
        case 'V':
            printf("mkfs.lsmfs %s (store format %d, lsmfs format %d)\n", LSMFS_VERSION_STRING,
                   LSM_FORMAT_VERSION, FS_FORMAT_VERSION);
            return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "mkfs.lsmfs: %s\n", optind >= argc ? "missing STORE" : "too many arguments");
        usage(stderr);
        return -1;
    }
    a->store = argv[optind];
    return 0;
}

/* -f on a non-empty local store: refuses (EBUSY) a store that is open (mounted or in
 * fsck), else destroys it. 0 or -1 (a message was printed). */
static int destroy_unused_store(const char *store)
{
    char *err = NULL;
    lsm_options_t *o = lsm_options_create();
    lsm_t *db = lsm_open(o, store, &err);
    if (db) {
        lsm_close(db);
    } else if (lsm_error_errno(err) == EBUSY) {
        fprintf(stderr, "mkfs.lsmfs: %s: store is in use (unmount it first)\n", store);
        lsm_free(err);
        lsm_options_destroy(o);
        return -1;
    }
    lsm_free(err);
    lsm_options_destroy(o);
    return destroy_store(store);
}

/* Step 2: makes the location ready for a new store: a missing directory is made, a
 * non-empty one is refused without -f and emptied with it; a RADOS store is destroyed
 * with -f. 0 or -1 (a message was printed). */
static int prepare_location(const char *store, int force)
{
    struct stat st;
    int remote = strncmp(store, "rados://", 8) == 0; /* a RADOS store: no folder to make */
    if (remote)
        return force ? destroy_store(store) : 0;
    if (stat(store, &st) != 0) {
        if (errno != ENOENT || mkdir(store, 0755) != 0) {
            fprintf(stderr, "mkfs.lsmfs: %s: %s\n", store, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "mkfs.lsmfs: %s exists and is not a directory\n", store);
        return -1;
    }
    int ne = dir_nonempty(store);
    if (ne < 0) {
        fprintf(stderr, "mkfs.lsmfs: %s: %s\n", store, strerror(errno));
        return -1;
    }
    if (ne && !force) {
        fprintf(stderr, "mkfs.lsmfs: %s is not empty (use -f to destroy what is there)\n",
                store);
        return -1;
    }
    return ne ? destroy_unused_store(store) : 0;
}

/* The root directory's inode: owned by the caller, made at t. */
static void root_inode(fs_inode_t *root, fs_time_t t)
{
    memset(root, 0, sizeof(*root));
    root->mode = S_IFDIR | 0755;
    root->uid = getuid();
    root->gid = getgid();
    root->nlink = 3;  /* ".", its own "..", and lost+found's ".." */
    root->atime = root->mtime = root->ctime = root->btime = t;
    root->generation = 1;
    root->parent = FS_ROOT_INO;
}

/* Step 3: writes the superblock, root and lost+found rows into db in one synced batch,
 * then flushes. NULL, or the engine's error (free with lsm_free). */
static char *write_rows(lsm_t *db, const fs_super_t *sb, fs_time_t t)
{
    char *err = NULL;
    fs_inode_t root;
    root_inode(&root, t);
    lsm_writebatch_t *b = lsm_writebatch_create();
    fs_row_put_super(b, sb);
    fs_row_put_inode(b, FS_ROOT_INO, &root);
    fs_row_put_lost_found(b, FS_LOST_FOUND_INO, root.uid, root.gid, t, NULL);

    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    lsm_writeoptions_set_sync(wo, 1);
    lsm_write(db, wo, b, &err);
    lsm_writeoptions_destroy(wo);
    lsm_writebatch_destroy(b);
    if (!err) {
        lsm_flushoptions_t *fo = lsm_flushoptions_create();
        lsm_flushoptions_set_wait(fo, 1);
        lsm_flush(db, fo, &err);
        lsm_flushoptions_destroy(fo);
    }
    return err;
}

/* Step 3: creates the store (it must not exist yet) and writes the new file system into
 * it; sb gets its uuid and creation time. 0 or -1 (a message was printed). */
static int create_store(const char *store, fs_super_t *sb)
{
    make_uuid(sb->uuid);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    sb->created_sec = now.tv_sec;

    char *err = NULL;
    lsm_options_t *o = lsm_options_create();
    lsm_options_set_create_if_missing(o, 1);
    lsm_options_set_error_if_exists(o, 1);
    lsm_options_set_compression(o, (int)sb->compression);
    lsm_t *db = lsm_open(o, store, &err);
    lsm_options_destroy(o);
    if (!db) {
        fprintf(stderr, "mkfs.lsmfs: %s: cannot create the store: %s\n", store, err);
        lsm_free(err);
        return -1;
    }
    err = write_rows(db, sb, (fs_time_t){now.tv_sec, (uint32_t)now.tv_nsec});
    lsm_close(db);
    if (err) {
        fprintf(stderr, "mkfs.lsmfs: %s: writing the new file system failed: %s\n", store, err);
        lsm_free(err);
        return -1;
    }
    return 0;
}

/* Step 4: tells what was made. */
static void report(const char *store, const fs_super_t *sb)
{
    char u[40];
    uuid_str(sb->uuid, u);
    printf("lsmfs file system created in %s\n"
           "  uuid:        %s\n"
           "  block size:  %u\n"
           "  label:       %s\n"
           "  compression: %s\n"
           "  reserve:     %llu KiB (space kept for deletes on a full disk: min(64 MiB,\n"
           "               1%% of the file system); lsmfs -o reserve=SIZE changes it)\n",
           store, u, sb->block_size, sb->label[0] ? sb->label : "(none)",
           sb->compression == FS_COMPRESS_ZLIB ? "zlib" : "none",
           (unsigned long long)(fs_reserve_default(store, FS_RESERVE_DEFAULT_MAX) >> 10));
}

int main(int argc, char **argv)
{
    mkfs_args_t a;
    int r = parse_args(argc, argv, &a);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (prepare_location(a.store, a.force) != 0 || create_store(a.store, &a.sb) != 0)
        return 1;
    if (!a.quiet)
        report(a.store, &a.sb);
    return 0;
}
