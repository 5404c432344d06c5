/*
 * fsck_mkstore.c - fills a fresh lsmfs store with many files quickly, for fsck.lsmfs's
 * speed measurement (docs/FSCK.md). Rows go straight through lsm.h and fs/schema.h (no
 * FUSE), a batch per directory, without the WAL, flushed at the end; the result is a
 * consistent file system that fsck must find clean.
 *
 *   fsck_mkstore STORE NFILES [FILES_PER_DIR [BYTES_PER_FILE]]
 *
 * Layout: /dNNNNNN directories under the root, each holding FILES_PER_DIR (default 1000)
 * regular files fNNNNNN of BYTES_PER_FILE bytes (default 0; at most one block).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lsm.h"
#include "schema.h"
#include "schema_rows.h"

static void die(const char *what, char *err)
{
    fprintf(stderr, "fsck_mkstore: %s: %s\n", what, err ? err : "failed");
    exit(1);
}

static void put_inode(lsm_writebatch_t *b, uint64_t ino, const fs_inode_t *in)
{
    fs_row_put_inode(b, ino, in);
}

static void put_dentry(lsm_writebatch_t *b, uint64_t parent, const char *name, uint64_t child,
                       uint32_t mode)
{
    fs_row_put_dentry(b, parent, name, strlen(name), child, (mode & S_IFMT) >> 12);
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: fsck_mkstore STORE NFILES [FILES_PER_DIR [BYTES_PER_FILE]]\n");
        return 2;
    }
    uint64_t nfiles = strtoull(argv[2], NULL, 10);
    uint64_t per_dir = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000;
    uint64_t bytes = argc > 4 ? strtoull(argv[4], NULL, 10) : 0;
    if (per_dir == 0 || per_dir > 60000)
        per_dir = 1000;
    char *err = NULL;
    lsm_options_t *o = lsm_options_create();
    lsm_options_set_write_buffer_size(o, 64u << 20);
    lsm_t *db = lsm_open(o, argv[1], &err);
    lsm_options_destroy(o);
    if (!db)
        die("open", err);
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    lsm_writeoptions_disable_WAL(wo, 1);

    char k[FS_KEY_MAX], v[FS_SUPER_SIZE];
    size_t vlen;
    char *sv = lsm_get(db, ro, k, fs_key_super(k), &vlen, &err);
    fs_super_t sb;
    fs_inode_t root;
    if (!sv || fs_super_decode(sv, vlen, &sb) != 0 || sb.inode_hwm != FS_FIRST_FREE_INO)
        die("superblock", "needs a fresh store made by mkfs.lsmfs");
    lsm_free(sv);
    if (bytes > sb.block_size)
        bytes = sb.block_size;
    char *rv = lsm_get(db, ro, k, fs_key_inode(k, FS_ROOT_INO), &vlen, &err);
    if (!rv || fs_inode_decode(rv, vlen, &root) != 0)
        die("root inode", err);
    lsm_free(rv);

    char *data = calloc(1, bytes + 1);
    for (uint64_t i = 0; i < bytes; i++)
        data[i] = (char)('a' + i % 26);
    uint64_t ndirs = (nfiles + per_dir - 1) / per_dir;
    uint64_t next = FS_FIRST_FREE_INO;
    fs_time_t t = root.mtime;
    for (uint64_t d = 0; d < ndirs; d++) {
        lsm_writebatch_t *b = lsm_writebatch_create();
        uint64_t dino = next++;
        uint64_t n = nfiles - d * per_dir < per_dir ? nfiles - d * per_dir : per_dir;
        fs_inode_t din;
        memset(&din, 0, sizeof(din));
        din.mode = S_IFDIR | 0755;
        din.nlink = 2;
        din.parent = FS_ROOT_INO;
        din.generation = 1;
        din.atime = din.mtime = din.ctime = din.btime = t;
        put_inode(b, dino, &din);
        char name[32];
        snprintf(name, sizeof(name), "d%06llu", (unsigned long long)d);
        put_dentry(b, FS_ROOT_INO, name, dino, din.mode);
        for (uint64_t i = 0; i < n; i++) {
            uint64_t ino = next++;
            fs_inode_t in = din;
            in.mode = S_IFREG | 0644;
            in.nlink = 1;
            in.parent = 0;
            in.size = bytes;
            put_inode(b, ino, &in);
            snprintf(name, sizeof(name), "f%06llu", (unsigned long long)i);
            put_dentry(b, dino, name, ino, in.mode);
            if (bytes)
                lsm_writebatch_put(b, k, fs_key_block(k, ino, 0), data, bytes);
        }
        lsm_write(db, wo, b, &err);
        lsm_writebatch_destroy(b);
        if (err)
            die("write", err);
    }
    lsm_writebatch_t *b = lsm_writebatch_create();
    root.nlink = (uint32_t)(3 + ndirs);  /* ".", its "..", lost+found, the new dirs */
    put_inode(b, FS_ROOT_INO, &root);
    sb.inode_hwm = next + 1024;
    lsm_writebatch_put(b, k, fs_key_super(k), v, fs_super_encode(&sb, v));
    lsm_write(db, wo, b, &err);
    lsm_writebatch_destroy(b);
    if (err)
        die("write", err);
    lsm_flushoptions_t *fo = lsm_flushoptions_create();
    lsm_flushoptions_set_wait(fo, 1);
    lsm_flush(db, fo, &err);
    lsm_flushoptions_destroy(fo);
    if (err)
        die("flush", err);
    lsm_readoptions_destroy(ro);
    lsm_writeoptions_destroy(wo);
    lsm_close(db);
    free(data);
    printf("%llu files in %llu directories, %llu bytes each\n", (unsigned long long)nfiles,
           (unsigned long long)ndirs, (unsigned long long)bytes);
    return 0;
}
