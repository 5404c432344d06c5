/*
 * fsck_damage.c - builds a small lsmfs tree and damages it on purpose, for
 * tests/integration/test_fsck.sh. Rows are written only through lsm.h and fs/schema.h;
 * engine-level damage is done to the files themselves.
 *
 *   fsck_damage STORE populate      a fixed tree on a fresh store (mkfs.lsmfs made it)
 *   fsck_damage STORE verify        every file populate made is reachable from the root
 *                                   (by any path) with its exact data; exit 0 or 1
 *   fsck_damage STORE CLASS         one problem class (see main and damage_rows)
 *   fsck_damage STORE randomSEED    six random mutations of rows (seeded)
 *
 * The tree (inode numbers are fixed because populate needs a fresh store):
 *   /d1 (3)   /d1/d2 (4)   /d1/f1 (5, 10000 bytes)   /f2 (6, 100 bytes, xattr user.x,
 *   hard link /hl)   /d1/d2/f3 (7, 5000 bytes)   /s (8, symlink to "d1/f1")
 * File data is a pattern of the inode number and offset, so verify needs no copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lsm.h"
#include "schema.h"
#include "schema_rows.h"

enum { D1 = 3, D2 = 4, F1 = 5, F2 = 6, F3 = 7, SL = 8, NEXT_FREE = 9 };
static const char SL_TARGET[] = "d1/f1";

static lsm_t *open_db(const char *store)
{
    char *err = NULL;
    lsm_options_t *o = lsm_options_create();
    lsm_options_set_disable_auto_compactions(o, 1);
    lsm_t *db = lsm_open(o, store, &err);
    lsm_options_destroy(o);
    if (!db) {
        fprintf(stderr, "fsck_damage: open %s: %s\n", store, err);
        exit(2);
    }
    return db;
}

static void write_batch(lsm_t *db, lsm_writebatch_t *b)
{
    char *err = NULL;
    lsm_writeoptions_t *wo = lsm_writeoptions_create();
    lsm_writeoptions_set_sync(wo, 1);
    lsm_write(db, wo, b, &err);
    lsm_writeoptions_destroy(wo);
    lsm_writebatch_destroy(b);
    if (err) {
        fprintf(stderr, "fsck_damage: write: %s\n", err);
        exit(2);
    }
}

static void flush_db(lsm_t *db)
{
    char *err = NULL;
    lsm_flushoptions_t *fo = lsm_flushoptions_create();
    lsm_flushoptions_set_wait(fo, 1);
    lsm_flush(db, fo, &err);
    lsm_flushoptions_destroy(fo);
    if (err) {
        fprintf(stderr, "fsck_damage: flush: %s\n", err);
        exit(2);
    }
}

static char *get(lsm_t *db, const char *k, size_t klen, size_t *vlen)
{
    char *err = NULL;
    lsm_readoptions_t *ro = lsm_readoptions_create();
    char *v = lsm_get(db, ro, k, klen, vlen, &err);
    lsm_readoptions_destroy(ro);
    if (err) {
        fprintf(stderr, "fsck_damage: get: %s\n", err);
        exit(2);
    }
    return v;
}

static int load_super(lsm_t *db, fs_super_t *sb)
{
    char k[FS_KEY_MAX];
    size_t vlen;
    char *v = get(db, k, fs_key_super(k), &vlen);
    int r = v ? fs_super_decode(v, vlen, sb) : -ENOENT;
    lsm_free(v);
    return r;
}

static int load_inode(lsm_t *db, uint64_t ino, fs_inode_t *in)
{
    char k[FS_KEY_MAX];
    size_t vlen;
    char *v = get(db, k, fs_key_inode(k, ino), &vlen);
    int r = v ? fs_inode_decode(v, vlen, in) : -ENOENT;
    lsm_free(v);
    return r;
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

static void del_dentry(lsm_writebatch_t *b, uint64_t parent, const char *name)
{
    fs_row_del_dentry(b, parent, name, strlen(name));
}

static unsigned char pattern(uint64_t ino, uint64_t off)
{
    return (unsigned char)((ino * 131 + off * 7 + off / 251) & 0xff);
}

static void put_data(lsm_writebatch_t *b, uint64_t ino, uint64_t size, uint32_t bs)
{
    char *blk = malloc(bs), k[FS_KEY_MAX];
    for (uint64_t idx = 0; idx * bs < size; idx++) {
        size_t n = size - idx * bs < bs ? (size_t)(size - idx * bs) : bs;
        for (size_t i = 0; i < n; i++)
            blk[i] = (char)pattern(ino, idx * bs + i);
        lsm_writebatch_put(b, k, fs_key_block(k, ino, idx), blk, n);
    }
    free(blk);
}

static fs_inode_t new_inode(uint32_t mode, uint32_t nlink, uint64_t size, uint64_t parent)
{
    fs_inode_t in;
    memset(&in, 0, sizeof(in));
    in.mode = mode;
    in.nlink = nlink;
    in.size = size;
    in.parent = parent;
    in.generation = 1;
    fs_time_t t = {1700000000, 5};
    in.atime = in.mtime = in.ctime = in.btime = t;
    return in;
}

static int populate(lsm_t *db)
{
    fs_super_t sb;
    if (load_super(db, &sb) != 0 || sb.inode_hwm != FS_FIRST_FREE_INO) {
        fprintf(stderr, "fsck_damage: populate needs a fresh store made by mkfs.lsmfs\n");
        return 2;
    }
    lsm_writebatch_t *b = lsm_writebatch_create();
    sb.inode_hwm = NEXT_FREE + 1024;
    char k[FS_KEY_MAX], v[FS_SUPER_SIZE + FS_SYMLINK_MAX + 1];
    lsm_writebatch_put(b, k, fs_key_super(k), v, fs_super_encode(&sb, v));
    fs_inode_t root;
    if (load_inode(db, FS_ROOT_INO, &root) != 0)
        return 2;
    root.nlink = 4;  /* lost+found, d1 */
    put_inode(b, FS_ROOT_INO, &root);
    fs_inode_t in = new_inode(S_IFDIR | 0755, 3, 0, FS_ROOT_INO);
    put_inode(b, D1, &in);
    put_dentry(b, FS_ROOT_INO, "d1", D1, in.mode);
    in = new_inode(S_IFDIR | 0755, 2, 0, D1);
    put_inode(b, D2, &in);
    put_dentry(b, D1, "d2", D2, in.mode);
    in = new_inode(S_IFREG | 0644, 1, 10000, 0);
    put_inode(b, F1, &in);
    put_dentry(b, D1, "f1", F1, in.mode);
    put_data(b, F1, 10000, sb.block_size);
    in = new_inode(S_IFREG | 0644, 2, 100, 0);
    put_inode(b, F2, &in);
    put_dentry(b, FS_ROOT_INO, "f2", F2, in.mode);
    put_dentry(b, FS_ROOT_INO, "hl", F2, in.mode);
    put_data(b, F2, 100, sb.block_size);
    lsm_writebatch_put(b, k, fs_key_xattr(k, F2, "user.x", 6), v, fs_xattr_encode("val", 3, v));
    in = new_inode(S_IFREG | 0600, 1, 5000, 0);
    put_inode(b, F3, &in);
    put_dentry(b, D2, "f3", F3, in.mode);
    put_data(b, F3, 5000, sb.block_size);
    in = new_inode(S_IFLNK | 0777, 1, sizeof(SL_TARGET) - 1, 0);
    put_inode(b, SL, &in);
    put_dentry(b, FS_ROOT_INO, "s", SL, in.mode);
    lsm_writebatch_put(b, k, fs_key_symlink(k, SL), v,
                       fs_symlink_encode(SL_TARGET, sizeof(SL_TARGET) - 1, v));
    write_batch(db, b);
    flush_db(db);
    return 0;
}

/* ---- verify ---- */

typedef struct {
    uint64_t *v;
    size_t n, cap;
} ulist_t;

static void ulist_push(ulist_t *l, uint64_t x)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = x;
}

static int ulist_has(const ulist_t *l, uint64_t x)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == x)
            return 1;
    return 0;
}

/* Every inode reachable from the root through D rows (breadth first). */
static void reachable(lsm_t *db, ulist_t *seen)
{
    ulist_push(seen, FS_ROOT_INO);
    for (size_t i = 0; i < seen->n; i++) {
        char lo[FS_KEY_MAX], hi[FS_KEY_MAX];
        size_t lolen = fs_key_range_start(lo, FS_ROW_DENTRY, seen->v[i]);
        size_t hilen = fs_key_range_end(hi, FS_ROW_DENTRY, seen->v[i]);
        lsm_readoptions_t *ro = lsm_readoptions_create();
        lsm_readoptions_set_iterate_upper_bound(ro, hi, hilen);
        lsm_iterator_t *it = lsm_create_iterator(db, ro);
        for (lsm_iter_seek(it, lo, lolen); lsm_iter_valid(it); lsm_iter_next(it)) {
            size_t vlen;
            const char *v = lsm_iter_value(it, &vlen);
            uint64_t child;
            unsigned type;
            if (fs_dentry_decode(v, vlen, &child, &type) == 0 && !ulist_has(seen, child))
                ulist_push(seen, child);
        }
        lsm_iter_destroy(it);
        lsm_readoptions_destroy(ro);
    }
}

static int check_file(lsm_t *db, uint64_t ino, uint64_t size, uint32_t bs)
{
    fs_inode_t in;
    if (load_inode(db, ino, &in) != 0 || in.size != size) {
        fprintf(stderr, "verify: inode %llu is missing or has the wrong size\n",
                (unsigned long long)ino);
        return 1;
    }
    for (uint64_t idx = 0; idx * bs < size; idx++) {
        char k[FS_KEY_MAX];
        size_t vlen;
        char *v = get(db, k, fs_key_block(k, ino, idx), &vlen);
        size_t want = size - idx * bs < bs ? (size_t)(size - idx * bs) : bs;
        int bad = !v || vlen != want;
        for (size_t i = 0; !bad && i < vlen; i++)
            bad = (unsigned char)v[i] != pattern(ino, idx * bs + i);
        lsm_free(v);
        if (bad) {
            fprintf(stderr, "verify: block %llu of inode %llu is wrong\n",
                    (unsigned long long)idx, (unsigned long long)ino);
            return 1;
        }
    }
    return 0;
}

static int verify(lsm_t *db)
{
    fs_super_t sb;
    if (load_super(db, &sb) != 0) {
        fprintf(stderr, "verify: no superblock\n");
        return 1;
    }
    ulist_t seen = {0};
    reachable(db, &seen);
    int bad = 0;
    const uint64_t want[] = {D1, D2, F1, F2, F3, SL};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!ulist_has(&seen, want[i])) {
            fprintf(stderr, "verify: inode %llu is not reachable from the root\n",
                    (unsigned long long)want[i]);
            bad = 1;
        }
    bad |= check_file(db, F1, 10000, sb.block_size);
    bad |= check_file(db, F2, 100, sb.block_size);
    bad |= check_file(db, F3, 5000, sb.block_size);
    char k[FS_KEY_MAX];
    size_t vlen, n;
    const char *t;
    char *v = get(db, k, fs_key_symlink(k, SL), &vlen);
    if (!v || fs_symlink_decode(v, vlen, &t, &n) != 0 || n != sizeof(SL_TARGET) - 1 ||
        memcmp(t, SL_TARGET, n) != 0) {
        fprintf(stderr, "verify: symlink %d lost its target\n", SL);
        bad = 1;
    }
    lsm_free(v);
    free(seen.v);
    return bad;
}

/* ---- file-level damage ---- */

/* Path of the newest (highest-numbered) file with the suffix, or of the named file. */
static int newest_file(const char *store, const char *suffix, char *out, size_t n)
{
    DIR *d = opendir(store);
    if (!d)
        return -1;
    unsigned long long best = 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (len <= sl || strcmp(e->d_name + len - sl, suffix) != 0)
            continue;
        unsigned long long num = strtoull(e->d_name, NULL, 10);
        if (!found || num > best) {
            best = num;
            found = 1;
            snprintf(out, n, "%s/%s", store, e->d_name);
        }
    }
    closedir(d);
    return found ? 0 : -1;
}

static int flip_byte(const char *path, double where)
{
    int fd = open(path, O_RDWR);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
        fprintf(stderr, "fsck_damage: %s: %s\n", path, strerror(errno));
        return 2;
    }
    off_t off = (off_t)((double)st.st_size * where);
    unsigned char c;
    if (pread(fd, &c, 1, off) != 1)
        return 2;
    c ^= 0x5a;
    if (pwrite(fd, &c, 1, off) != 1 || fsync(fd) != 0)
        return 2;
    close(fd);
    printf("flipped a byte of %s at offset %lld\n", path, (long long)off);
    return 0;
}

/* Flips a byte inside the stored data of block `index` of inode `ino` (populate's pattern,
 * found in the uncompressed table by a whole block's bytes: a shorter run of one inode's
 * pattern can match another inode's). */
static int flip_file_block(const char *path, uint64_t ino, uint64_t index, uint32_t bs)
{
    unsigned char want[4096];
    if (bs > sizeof(want))
        return 2;
    for (uint64_t i = 0; i < sizeof(want); i++)
        want[i] = pattern(ino, index * bs + i);
    (void)bs;
    int fd = open(path, O_RDWR);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0)
        return 2;
    unsigned char *buf = malloc((size_t)st.st_size);
    if (!buf || pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
        return 2;
    for (off_t off = 0; off + (off_t)sizeof(want) <= st.st_size; off++) {
        if (memcmp(buf + off, want, sizeof(want)) != 0)
            continue;
        unsigned char c = buf[off + 10] ^ 0x5a;
        free(buf);
        if (pwrite(fd, &c, 1, off + 10) != 1 || fsync(fd) != 0)
            return 2;
        close(fd);
        printf("flipped a byte of block %llu of inode %llu in %s at offset %lld\n",
               (unsigned long long)index, (unsigned long long)ino, path, (long long)off + 10);
        return 0;
    }
    fprintf(stderr, "fsck_damage: %s: block %llu of inode %llu not found (compressed?)\n",
            path, (unsigned long long)index, (unsigned long long)ino);
    free(buf);
    close(fd);
    return 2;
}

static int current_manifest(const char *store, char *out, size_t n)
{
    char path[4096], name[256] = "";
    snprintf(path, sizeof(path), "%s/CURRENT", store);
    FILE *fp = fopen(path, "r");
    if (!fp || !fgets(name, sizeof(name), fp)) {
        if (fp)
            fclose(fp);
        return -1;
    }
    fclose(fp);
    name[strcspn(name, "\n")] = '\0';
    snprintf(out, n, "%s/%s", store, name);
    return 0;
}

/* ---- random damage: for convergence runs (after -y, -n must find nothing) ---- */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* `n` random mutations of existing rows (delete, new random value, one flipped byte) and
 * new rows with random keys of every type near the inodes in use. */
static int damage_random(lsm_t *db, uint64_t seed, int n)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    char *keys[512];
    size_t klens[512], nkeys = 0;
    lsm_readoptions_t *ro = lsm_readoptions_create();
    lsm_iterator_t *it = lsm_create_iterator(db, ro);
    for (lsm_iter_seek_to_first(it); lsm_iter_valid(it) && nkeys < 512; lsm_iter_next(it)) {
        const char *k = lsm_iter_key(it, &klens[nkeys]);
        keys[nkeys] = malloc(klens[nkeys]);
        memcpy(keys[nkeys], k, klens[nkeys]);
        nkeys++;
    }
    lsm_iter_destroy(it);
    lsm_readoptions_destroy(ro);
    static const char types[] = "SIDBLXOQ";
    for (int i = 0; i < n; i++) {
        lsm_writebatch_t *b = lsm_writebatch_create();
        char k[FS_KEY_MAX + 8], v[200];
        size_t vlen = rnd(&s) % sizeof(v);
        for (size_t j = 0; j < vlen; j++)
            v[j] = (char)rnd(&s);
        uint64_t what = rnd(&s) % 4;
        if (what < 3 && nkeys) {
            size_t which = rnd(&s) % nkeys;
            if (what == 0) {
                lsm_writebatch_delete(b, keys[which], klens[which]);
            } else if (what == 1) {
                lsm_writebatch_put(b, keys[which], klens[which], v, vlen);
            } else {
                size_t ol;
                char *old = get(db, keys[which], klens[which], &ol);
                if (old && ol) {
                    old[rnd(&s) % ol] ^= (char)(1u << (rnd(&s) % 8));
                    lsm_writebatch_put(b, keys[which], klens[which], old, ol);
                }
                lsm_free(old);
            }
        } else {
            int t = types[rnd(&s) % (sizeof(types) - 1)];
            uint64_t ino = rnd(&s) % 14;
            size_t klen;
            char name[8] = {'n', (char)('a' + rnd(&s) % 3), 0};
            switch (t) {
            case 'I': klen = fs_key_inode(k, ino); break;
            case 'D': klen = fs_key_dentry(k, ino, name, 2); break;
            case 'B': klen = fs_key_block(k, ino, rnd(&s) % 4); break;
            case 'L': klen = fs_key_symlink(k, ino); break;
            case 'X': klen = fs_key_xattr(k, ino, name, 2); break;
            case 'O': klen = fs_key_orphan(k, ino); break;
            default: k[0] = (char)t; klen = 1 + rnd(&s) % 12; break;
            }
            if (rnd(&s) % 2 && t == 'D') {   /* sometimes a well-formed entry */
                fs_inode_t in;
                uint64_t child = 1 + rnd(&s) % 12;
                if (load_inode(db, child, &in) == 0)
                    vlen = fs_dentry_encode(child, (in.mode & S_IFMT) >> 12, v);
            }
            lsm_writebatch_put(b, k, klen, v, vlen);
        }
        write_batch(db, b);
    }
    for (size_t i = 0; i < nkeys; i++)
        free(keys[i]);
    return 0;
}

/* ---- row-level damage ---- */

static int damage_rows(lsm_t *db, const char *cls)
{
    lsm_writebatch_t *b = lsm_writebatch_create();
    char k[FS_KEY_MAX], v[FS_SUPER_SIZE + 64];
    fs_inode_t in;
    fs_super_t sb;
    if (load_super(db, &sb) != 0)
        return 2;
    if (strcmp(cls, "dangling") == 0) {
        put_dentry(b, D1, "ghost", 999999, S_IFREG);
    } else if (strcmp(cls, "snapslots-gone") == 0) { /* as a build before slot rows left it */
        lsm_readoptions_t *ro = lsm_readoptions_create();
        lsm_iterator_t *it = lsm_create_iterator(db, ro);
        char lo[1] = {FS_ROW_SNAPSLOT};
        for (lsm_iter_seek(it, lo, 1); lsm_iter_valid(it); lsm_iter_next(it)) {
            size_t klen;
            const char *key = lsm_iter_key(it, &klen);
            if (klen == 0 || key[0] != FS_ROW_SNAPSLOT)
                break;
            lsm_writebatch_delete(b, key, klen);
        }
        lsm_iter_destroy(it);
        lsm_readoptions_destroy(ro);
    } else if (strcmp(cls, "snapslot-bad") == 0) { /* a malformed and a duplicate slot row */
        size_t klen = fs_key_snapslot(k, "bad", 3);
        lsm_writebatch_put(b, k, klen, "\x07", 1);
        fs_snapslot_encode(1, v);
        lsm_writebatch_put(b, k, fs_key_snapslot(k, "dup-a", 5), v, FS_SNAPSLOT_SIZE);
        lsm_writebatch_put(b, k, fs_key_snapslot(k, "dup-b", 5), v, FS_SNAPSLOT_SIZE);
    } else if (strcmp(cls, "nlink") == 0) {
        load_inode(db, F2, &in);
        in.nlink = 5;
        put_inode(b, F2, &in);
        load_inode(db, D1, &in);
        in.nlink = 7;
        put_inode(b, D1, &in);
    } else if (strcmp(cls, "unreachable") == 0) {
        del_dentry(b, D1, "d2");         /* d2 and its file f3 hang loose */
        in = new_inode(S_IFREG | 0644, 1, 3000, 0);
        put_inode(b, NEXT_FREE, &in);     /* a file nothing names */
        put_data(b, NEXT_FREE, 3000, sb.block_size);
    } else if (strcmp(cls, "cycle") == 0) {
        del_dentry(b, FS_ROOT_INO, "d1"); /* d1 moves under its own child d2 */
        put_dentry(b, D2, "loop", D1, S_IFDIR);
    } else if (strcmp(cls, "beyond") == 0) {
        char blk[300];
        for (int i = 0; i < 300; i++)
            blk[i] = (char)pattern(F2, (uint64_t)i);
        lsm_writebatch_put(b, k, fs_key_block(k, F2, 0), blk, 300);  /* size is 100 */
        lsm_writebatch_put(b, k, fs_key_block(k, F2, 7), blk, 300);
        lsm_writebatch_put(b, k, fs_key_block(k, F3, 9), blk, 10);
    } else if (strcmp(cls, "unwritten") == 0) {
        /* f1 claims every stored block as fallocated and unwritten (each has data) */
        load_inode(db, F1, &in);
        in.unwritten = in.blocks ? in.blocks : 1;
        in.blocks = in.unwritten;
        put_inode(b, F1, &in);
    } else if (strcmp(cls, "orphan") == 0) {
        in = new_inode(S_IFREG | 0644, 0, 9000, 0);
        put_inode(b, NEXT_FREE, &in);
        put_data(b, NEXT_FREE, 9000, sb.block_size);
        lsm_writebatch_put(b, k, fs_key_orphan(k, NEXT_FREE), v, fs_orphan_encode(1700000000, v));
    } else if (strcmp(cls, "xattr") == 0) {
        lsm_writebatch_put(b, k, fs_key_xattr(k, 888888, "user.a", 6), v, fs_xattr_encode("1", 1, v));
        lsm_writebatch_put(b, k, fs_key_xattr(k, 888888, "user.b", 6), v, fs_xattr_encode("2", 1, v));
    } else if (strcmp(cls, "badacl") == 0) {
        /* a POSIX ACL of version 3 on /f2 (the xattr decodes; the ACL inside does not) */
        static const char acl[] = {3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 4, 0, 4, 0, 0, 0, 0, 0,
                                   0x20, 0, 4, 0, 0, 0, 0, 0};
        const char *name = "system.posix_acl_access";
        lsm_writebatch_put(b, k, fs_key_xattr(k, F2, name, strlen(name)), v,
                           fs_xattr_encode(acl, sizeof(acl), v));
    } else if (strcmp(cls, "hwm") == 0) {
        sb.inode_hwm = FS_FIRST_FREE_INO;
        lsm_writebatch_put(b, k, fs_key_super(k), v, fs_super_encode(&sb, v));
    } else if (strcmp(cls, "badname") == 0) {
        put_dentry(b, FS_ROOT_INO, "a/b", F3, S_IFREG);
        put_dentry(b, D1, "..", F1, S_IFREG);
        put_dentry(b, D1, ".", D1, S_IFDIR);
    } else if (strcmp(cls, "super") == 0) {
        lsm_writebatch_delete(b, k, fs_key_super(k));
    } else if (strcmp(cls, "badinode") == 0) {
        lsm_writebatch_put(b, k, fs_key_inode(k, F3), "garbage", 7);
    } else if (strcmp(cls, "dirlink") == 0) {
        put_dentry(b, FS_ROOT_INO, "d2link", D2, S_IFDIR);
    } else if (strcmp(cls, "chattr") == 0 || strcmp(cls, "nofeature") == 0) {
        /* chattr: legal, the flags chattr sets and the superblock's feature bit;
         * nofeature: the same flags without the bit */
        if (strcmp(cls, "chattr") == 0) {
            sb.features |= FS_FEATURE_IFLAGS;
            lsm_writebatch_put(b, k, fs_key_super(k), v, fs_super_encode(&sb, v));
        }
        load_inode(db, F1, &in);
        in.flags = FS_INODE_FL_IMMUTABLE;
        put_inode(b, F1, &in);
        load_inode(db, D1, &in);
        in.flags = FS_INODE_FL_IMMUTABLE | FS_INODE_FL_APPEND;
        put_inode(b, D1, &in);
    } else if (strcmp(cls, "flags") == 0) {   /* a bit lsmfs does not know, beside a known one */
        sb.features |= FS_FEATURE_IFLAGS;
        lsm_writebatch_put(b, k, fs_key_super(k), v, fs_super_encode(&sb, v));
        load_inode(db, F2, &in);
        in.flags = 0x40000000u | FS_INODE_FL_APPEND;
        put_inode(b, F2, &in);
    } else if (strcmp(cls, "nolf") == 0) {
        del_dentry(b, FS_ROOT_INO, "lost+found");
        lsm_writebatch_delete(b, k, fs_key_inode(k, FS_LOST_FOUND_INO));
        del_dentry(b, D1, "d2");
    } else {
        lsm_writebatch_destroy(b);
        return -1;
    }
    write_batch(db, b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fsck_damage STORE populate|verify|dangling|nlink|unreachable|"
                "cycle|beyond|unwritten|orphan|xattr|hwm|badname|super|badinode|dirlink|nolf|"
                "sst-flip|sst-data|sst-missing|manifest|wal|wal-batches|snapslots-gone|"
                "snapslot-bad\n");
        return 2;
    }
    const char *store = argv[1], *cls = argv[2];
    char path[4096];
    if (strcmp(cls, "sst-flip") == 0) {
        if (newest_file(store, ".sst", path, sizeof(path)) != 0)
            return 2;
        return flip_byte(path, 0.3);
    }
    if (strcmp(cls, "sst-data") == 0) {   /* block 0 of /d1/d2/f3 */
        if (newest_file(store, ".sst", path, sizeof(path)) != 0)
            return 2;
        return flip_file_block(path, F3, 0, FS_BLOCK_SIZE_DEFAULT);
    }
    if (strcmp(cls, "sst-missing") == 0) {
        if (newest_file(store, ".sst", path, sizeof(path)) != 0 || unlink(path) != 0)
            return 2;
        printf("removed %s\n", path);
        return 0;
    }
    if (strcmp(cls, "wal") == 0 || strcmp(cls, "wal-batches") == 0) {
        /* 200 files in 200 batches that stay in the WAL, then (wal) a byte flipped mid-log;
         * wal-batches leaves the WAL whole. */
        lsm_t *db = open_db(store);
        fs_inode_t root;
        if (load_inode(db, FS_ROOT_INO, &root) != 0)
            return 2;
        for (int i = 0; i < 200; i++) {
            char name[32];
            snprintf(name, sizeof(name), "w%03d", i);
            lsm_writebatch_t *b = lsm_writebatch_create();
            fs_inode_t in = new_inode(S_IFREG | 0644, 1, 700, 0);
            put_inode(b, NEXT_FREE + (uint64_t)i, &in);
            put_dentry(b, FS_ROOT_INO, name, NEXT_FREE + (uint64_t)i, in.mode);
            put_data(b, NEXT_FREE + (uint64_t)i, 700, 4096);
            root.mtime.sec++;
            put_inode(b, FS_ROOT_INO, &root);
            write_batch(db, b);
        }
        lsm_close(db);
        if (strcmp(cls, "wal-batches") == 0)
            return 0;
        if (newest_file(store, ".log", path, sizeof(path)) != 0)
            return 2;
        return flip_byte(path, 0.5);
    }
    if (strcmp(cls, "manifest") == 0) {
        if (current_manifest(store, path, sizeof(path)) != 0)
            return 2;
        return flip_byte(path, 0.2);
    }
    lsm_t *db = open_db(store);
    int rc;
    if (strcmp(cls, "populate") == 0)
        rc = populate(db);
    else if (strcmp(cls, "verify") == 0)
        rc = verify(db);
    else if (strncmp(cls, "random", 6) == 0)
        rc = damage_random(db, strtoull(cls + 6, NULL, 10), 6);
    else
        rc = damage_rows(db, cls);
    lsm_close(db);
    if (rc < 0) {
        fprintf(stderr, "fsck_damage: unknown class '%s'\n", cls);
        return 2;
    }
    return rc;
}
