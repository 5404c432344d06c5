/*
 * test_schema.c - the lsmfs on-store format (fs/schema.h): every row's encode/decode round
 * trip, key order (a directory's D rows are one contiguous range, B rows sort by block
 * index), key parsing, and rejection of malformed values at every truncation length, with
 * a wrong version, with trailing bytes and with out-of-range fields, plus a seeded random
 * fuzz of every decoder.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "schema.h"

/* ---- helpers ---- */

static fs_inode_t sample_inode(uint32_t mode)
{
    fs_inode_t in;
    memset(&in, 0, sizeof(in));
    in.mode = mode;
    in.uid = 1000;
    in.gid = 0xfffffffeu;
    in.nlink = 7;
    in.size = 0x123456789abULL;
    in.atime = (fs_time_t){-5, 999999999u};
    in.mtime = (fs_time_t){1700000000, 1};
    in.ctime = (fs_time_t){INT64_MAX, 0};
    in.btime = (fs_time_t){0, 500};
    in.rdev = 0x0102030405060708ULL;
    in.generation = 42;
    in.parent = S_ISDIR(mode) ? 99 : 0;
    in.blocks = 0x12345;
    return in;
}

static fs_super_t sample_super(void)
{
    fs_super_t sb;
    memset(&sb, 0, sizeof(sb));
    sb.format_version = FS_FORMAT_VERSION;
    sb.block_size = 4096;
    for (int i = 0; i < FS_UUID_SIZE; i++)
        sb.uuid[i] = (uint8_t)(0xa0 + i);
    strcpy(sb.label, "my label");
    sb.inode_hwm = 1 << 20;
    sb.features = 0;
    sb.compression = FS_COMPRESS_ZLIB;
    sb.created_sec = 1700000000;
    return sb;
}

static int keycmp(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    size_t lx = (unsigned char)(*x)[0], ly = (unsigned char)(*y)[0];
    int r = memcmp(*x + 1, *y + 1, lx < ly ? lx : ly);
    return r ? r : (lx < ly ? -1 : lx > ly);
}

static int bytes_cmp(const char *a, size_t la, const char *b, size_t lb)
{
    int r = memcmp(a, b, la < lb ? la : lb);
    return r ? r : (la < lb ? -1 : la > lb);
}

/* ---- round trips ---- */

static void test_inode_roundtrip(void **state)
{
    (void)state;
    const uint32_t modes[] = {S_IFREG | 0644, S_IFDIR | 02755, S_IFLNK | 0777, S_IFCHR | 0600,
                              S_IFBLK | 0660, S_IFIFO | 0640, S_IFSOCK | 0755, S_IFREG | 07777};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        fs_inode_t in = sample_inode(modes[i]), out;
        char buf[FS_INODE_SIZE];
        assert_int_equal(fs_inode_encode(&in, buf), FS_INODE_SIZE);
        assert_int_equal(fs_inode_decode(buf, FS_INODE_SIZE, &out), 0);
        assert_memory_equal(&in, &out, sizeof(in));
    }
    /* chattr flags, and bits this version does not know (fsck reports those) */
    const uint32_t flags[] = {FS_INODE_FL_IMMUTABLE, FS_INODE_FL_APPEND, FS_INODE_FL_KNOWN,
                              0x80000000u | FS_INODE_FL_APPEND};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        fs_inode_t in = sample_inode(S_IFREG | 0644), out;
        char buf[FS_INODE_SIZE];
        in.flags = flags[i];
        assert_int_equal(fs_inode_encode(&in, buf), FS_INODE_SIZE);
        assert_int_equal(fs_inode_decode(buf, FS_INODE_SIZE, &out), 0);
        assert_int_equal(out.flags, flags[i]);
    }
}

/* The count of fallocated, unwritten blocks: stored only when > 0 (8 more bytes), so an
 * inode without one is byte-identical to the older format; 0 in the long form, a count
 * above st_blocks or on a non-file does not decode. */
static void test_inode_unwritten(void **state)
{
    (void)state;
    fs_inode_t in = sample_inode(S_IFREG | 0644), out;
    char buf[FS_INODE_SIZE_MAX];
    in.blocks = 10;
    in.unwritten = 7;
    assert_int_equal(fs_inode_encode(&in, buf), FS_INODE_SIZE_MAX);
    assert_int_equal(fs_inode_decode(buf, FS_INODE_SIZE_MAX, &out), 0);
    assert_memory_equal(&in, &out, sizeof(in));
    /* the short form of the same inode decodes with no count */
    assert_int_equal(fs_inode_decode(buf, FS_INODE_SIZE, &out), 0);
    assert_int_equal(out.unwritten, 0);
    in.unwritten = 0;
    assert_int_equal(fs_inode_encode(&in, buf), FS_INODE_SIZE);
    memset(buf + FS_INODE_SIZE, 0, 8);  /* long form holding 0 */
    assert_int_equal(fs_inode_decode(buf, FS_INODE_SIZE_MAX, &out), -EUCLEAN);
    in.unwritten = 11;  /* more than st_blocks: the encoder stores st_blocks */
    assert_int_equal(fs_inode_encode(&in, buf), FS_INODE_SIZE_MAX);
    assert_int_equal(fs_inode_decode(buf, FS_INODE_SIZE_MAX, &out), 0);
    assert_int_equal(out.unwritten, 10);
    buf[FS_INODE_SIZE] = 11;  /* a stored count above st_blocks does not decode */
    assert_int_equal(fs_inode_decode(buf, FS_INODE_SIZE_MAX, &out), -EUCLEAN);
    in = sample_inode(S_IFDIR | 0755);
    in.blocks = 2;
    in.unwritten = 1;
    fs_inode_encode(&in, buf);
    assert_int_equal(fs_inode_decode(buf, FS_INODE_SIZE_MAX, &out), -EUCLEAN);
}

static void test_super_roundtrip(void **state)
{
    (void)state;
    fs_super_t sb = sample_super(), out;
    char buf[FS_SUPER_SIZE];
    assert_int_equal(fs_super_encode(&sb, buf), FS_SUPER_SIZE);
    assert_int_equal(fs_super_decode(buf, FS_SUPER_SIZE, &out), 0);
    assert_memory_equal(&sb, &out, sizeof(sb));
    /* longest label and the smallest / largest block size */
    memset(sb.label, 'x', FS_LABEL_MAX);
    sb.label[FS_LABEL_MAX] = '\0';
    sb.block_size = FS_BLOCK_SIZE_MIN;
    assert_int_equal(fs_super_encode(&sb, buf), FS_SUPER_SIZE);
    assert_int_equal(fs_super_decode(buf, FS_SUPER_SIZE, &out), 0);
    assert_string_equal(out.label, sb.label);
    sb.block_size = FS_BLOCK_SIZE_MAX;
    sb.label[0] = '\0';
    assert_int_equal(fs_super_encode(&sb, buf), FS_SUPER_SIZE);
    assert_int_equal(fs_super_decode(buf, FS_SUPER_SIZE, &out), 0);
    assert_int_equal(out.block_size, FS_BLOCK_SIZE_MAX);
    assert_string_equal(out.label, "");
}

static void test_super_encode_rejects(void **state)
{
    (void)state;
    char buf[FS_SUPER_SIZE];
    fs_super_t sb = sample_super();
    sb.block_size = 3000;
    assert_int_equal(fs_super_encode(&sb, buf), 0);
    sb = sample_super();
    sb.block_size = FS_BLOCK_SIZE_MAX * 2;
    assert_int_equal(fs_super_encode(&sb, buf), 0);
    sb = sample_super();
    sb.inode_hwm = 2;
    assert_int_equal(fs_super_encode(&sb, buf), 0);
    sb = sample_super();
    sb.compression = 1;
    assert_int_equal(fs_super_encode(&sb, buf), 0);
    sb = sample_super();
    sb.features = FS_FEATURE_UNWRITTEN << 1;  /* the first bit this build does not know */
    assert_int_equal(fs_super_encode(&sb, buf), 0);
    sb = sample_super();
    sb.features = FS_FEATURE_IFLAGS;
    assert_int_equal(fs_super_encode(&sb, buf), FS_SUPER_SIZE);
    sb = sample_super();
    memset(sb.label, 'x', sizeof(sb.label));  /* no terminator */
    assert_int_equal(fs_super_encode(&sb, buf), 0);
}

static void test_dentry_roundtrip(void **state)
{
    (void)state;
    char buf[FS_DENTRY_SIZE];
    uint64_t ino;
    unsigned type;
    assert_int_equal(fs_dentry_encode(UINT64_MAX, S_IFDIR >> 12, buf), FS_DENTRY_SIZE);
    assert_int_equal(fs_dentry_decode(buf, FS_DENTRY_SIZE, &ino, &type), 0);
    assert_true(ino == UINT64_MAX);
    assert_int_equal(type, S_IFDIR >> 12);
    fs_dentry_encode(77, S_IFLNK >> 12, buf);
    assert_int_equal(fs_dentry_decode(buf, FS_DENTRY_SIZE, &ino, &type), 0);
    assert_int_equal(ino, 77);
    assert_int_equal(type, S_IFLNK >> 12);
}

static void test_bytes_rows_roundtrip(void **state)
{
    (void)state;
    char buf[FS_XATTR_SIZE_MAX + 1];
    const char *p;
    size_t n;
    /* symlink */
    size_t len = fs_symlink_encode("../a/b", 6, buf);
    assert_int_equal(len, 7);
    assert_int_equal(fs_symlink_decode(buf, len, &p, &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(p, "../a/b", 6);
    char longt[FS_SYMLINK_MAX + 1];
    memset(longt, 'a', sizeof(longt));
    assert_int_equal(fs_symlink_encode(longt, FS_SYMLINK_MAX, buf), FS_SYMLINK_MAX + 1);
    assert_int_equal(fs_symlink_decode(buf, FS_SYMLINK_MAX + 1, &p, &n), 0);
    assert_int_equal(fs_symlink_encode(longt, FS_SYMLINK_MAX + 1, buf), 0);
    assert_int_equal(fs_symlink_encode("", 0, buf), 0);
    assert_int_equal(fs_symlink_encode("a\0b", 3, buf), 0);
    /* xattr: empty value, binary value, largest value */
    len = fs_xattr_encode("", 0, buf);
    assert_int_equal(len, 1);
    assert_int_equal(fs_xattr_decode(buf, len, &p, &n), 0);
    assert_int_equal(n, 0);
    char bin[4] = {0, (char)0xff, 0, 1};
    len = fs_xattr_encode(bin, 4, buf);
    assert_int_equal(fs_xattr_decode(buf, len, &p, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(p, bin, 4);
    char *big = calloc(1, FS_XATTR_SIZE_MAX + 1);
    assert_non_null(big);
    assert_int_equal(fs_xattr_encode(big, FS_XATTR_SIZE_MAX, buf), FS_XATTR_SIZE_MAX + 1);
    assert_int_equal(fs_xattr_decode(buf, FS_XATTR_SIZE_MAX + 1, &p, &n), 0);
    assert_int_equal(fs_xattr_encode(big, FS_XATTR_SIZE_MAX + 1, buf), 0);
    free(big);
    /* orphan */
    int64_t since;
    len = fs_orphan_encode(-12345, buf);
    assert_int_equal(len, FS_ORPHAN_SIZE);
    assert_int_equal(fs_orphan_decode(buf, len, &since), 0);
    assert_int_equal(since, -12345);
    /* snapshot slot */
    unsigned slot = 0;
    len = fs_snapslot_encode(4095, buf);
    assert_int_equal(len, FS_SNAPSLOT_SIZE);
    assert_int_equal(fs_snapslot_decode(buf, len, &slot), 0);
    assert_int_equal(slot, 4095);
    /* blocks: raw bytes bounded by the block size */
    assert_int_equal(fs_block_check(0, 4096), 0);
    assert_int_equal(fs_block_check(4096, 4096), 0);
    assert_int_equal(fs_block_check(4097, 4096), -EUCLEAN);
}

/* ---- keys ---- */

static void test_key_parse_roundtrip(void **state)
{
    (void)state;
    char k[FS_KEY_MAX];
    fs_key_t pk;
    size_t n = fs_key_super(k);
    assert_int_equal(fs_key_parse(k, n, &pk), 0);
    assert_int_equal(pk.type, FS_ROW_SUPER);
    n = fs_key_inode(k, 0x0102030405060708ULL);
    assert_int_equal(n, 9);
    assert_int_equal(k[1], 1);  /* big-endian */
    assert_int_equal(fs_key_parse(k, n, &pk), 0);
    assert_int_equal(pk.type, FS_ROW_INODE);
    assert_true(pk.ino == 0x0102030405060708ULL);
    n = fs_key_block(k, 5, 1ULL << 40);
    assert_int_equal(fs_key_parse(k, n, &pk), 0);
    assert_int_equal(pk.type, FS_ROW_BLOCK);
    assert_int_equal(pk.ino, 5);
    assert_true(pk.index == 1ULL << 40);
    char name[FS_NAME_MAX];
    memset(name, 'n', sizeof(name));
    n = fs_key_dentry(k, 9, name, FS_NAME_MAX);
    assert_int_equal(n, 9 + FS_NAME_MAX);
    assert_int_equal(fs_key_parse(k, n, &pk), 0);
    assert_int_equal(pk.type, FS_ROW_DENTRY);
    assert_int_equal(pk.ino, 9);
    assert_int_equal(pk.namelen, FS_NAME_MAX);
    assert_memory_equal(pk.name, name, FS_NAME_MAX);
    n = fs_key_xattr(k, 3, "user.x", 6);
    assert_int_equal(fs_key_parse(k, n, &pk), 0);
    assert_int_equal(pk.type, FS_ROW_XATTR);
    assert_int_equal(pk.namelen, 6);
    n = fs_key_symlink(k, 4);
    assert_int_equal(fs_key_parse(k, n, &pk), 0);
    assert_int_equal(pk.type, FS_ROW_SYMLINK);
    n = fs_key_orphan(k, 4);
    assert_int_equal(fs_key_parse(k, n, &pk), 0);
    assert_int_equal(pk.type, FS_ROW_ORPHAN);
    n = fs_key_snapslot(k, "daily", 5);
    assert_int_equal(n, 6);
    assert_int_equal(fs_key_parse(k, n, &pk), 0);
    assert_int_equal(pk.type, FS_ROW_SNAPSLOT);
    assert_int_equal(pk.namelen, 5);
    assert_memory_equal(pk.name, "daily", 5);
    assert_int_equal(fs_key_parse(k, 1, &pk), -EUCLEAN); /* "N" without a name */
    assert_int_equal(fs_key_snapslot(k, "", 0), 0);
    assert_int_equal(fs_key_snapslot(k, name, FS_NAME_MAX + 1), 0);
    assert_int_equal(fs_key_snapslot(k, "a\0b", 3), 0);
    /* name builders refuse empty and too long names */
    assert_int_equal(fs_key_dentry(k, 1, "", 0), 0);
    assert_int_equal(fs_key_dentry(k, 1, name, FS_NAME_MAX + 1), 0);
    assert_int_equal(fs_key_xattr(k, 1, name, FS_NAME_MAX + 1), 0);
}

static void test_key_parse_rejects(void **state)
{
    (void)state;
    char k[FS_KEY_MAX + 2] = {0};
    fs_key_t pk;
    assert_int_equal(fs_key_parse(k, 0, &pk), -EUCLEAN);
    k[0] = 'Z';
    assert_int_equal(fs_key_parse(k, 9, &pk), -EUCLEAN);
    size_t n = fs_key_super(k);
    assert_int_equal(fs_key_parse(k, n + 1, &pk), -EUCLEAN);
    n = fs_key_inode(k, 1);
    for (size_t l = 1; l < n; l++)
        assert_int_equal(fs_key_parse(k, l, &pk), -EUCLEAN);
    assert_int_equal(fs_key_parse(k, n + 1, &pk), -EUCLEAN);
    n = fs_key_block(k, 1, 2);
    for (size_t l = 1; l < n; l++)
        assert_int_equal(fs_key_parse(k, l, &pk), -EUCLEAN);
    n = fs_key_dentry(k, 1, "a/b", 3);  /* the builder does not check; the parser does */
    assert_int_equal(fs_key_parse(k, n, &pk), -EUCLEAN);
    n = fs_key_dentry(k, 1, "..", 2);
    assert_int_equal(fs_key_parse(k, n, &pk), -EUCLEAN);
    n = fs_key_dentry(k, 1, "a\0b", 3);
    assert_int_equal(fs_key_parse(k, n, &pk), -EUCLEAN);
    n = fs_key_dentry(k, 1, "ok", 2);
    assert_int_equal(fs_key_parse(k, 9, &pk), -EUCLEAN);  /* no name */
    memset(k + 9, 'a', FS_NAME_MAX + 1);
    assert_int_equal(fs_key_parse(k, 9 + FS_NAME_MAX + 1, &pk), -EUCLEAN);
}

/* All D rows of directory P form one contiguous run in key order, inside
 * [range_start(D,P), range_end(D,P)), whatever the names and neighbours. */
static void test_dentry_prefix_contiguous(void **state)
{
    (void)state;
    const uint64_t P = 0x100;  /* 0x100: its low byte is 0, P-1 ends in 0xff */
    const uint64_t owners[] = {P - 1, P, P + 1, 1, UINT64_MAX, 0xff, 0x1ff};
    const char *names[] = {"a", "zzz", "\x01", "\xff\xff\xff", "lost+found", "A", "a b", "~"};
    enum { NO = sizeof(owners) / sizeof(owners[0]), NN = sizeof(names) / sizeof(names[0]) };
    char *keys[NO * NN * 3 + 8];
    int nk = 0;
    for (int o = 0; o < NO; o++) {
        for (int i = 0; i < NN; i++) {
            char k[FS_KEY_MAX];
            size_t n = fs_key_dentry(k, owners[o], names[i], strlen(names[i]));
            keys[nk] = malloc(n + 1);
            keys[nk][0] = (char)n;
            memcpy(keys[nk] + 1, k, n);
            nk++;
            /* rows of other types of the same inodes must not interleave either */
            n = i % 2 ? fs_key_xattr(k, owners[o], names[i], strlen(names[i]))
                      : fs_key_block(k, owners[o], (uint64_t)i * 1000);
            keys[nk] = malloc(n + 1);
            keys[nk][0] = (char)n;
            memcpy(keys[nk] + 1, k, n);
            nk++;
            n = fs_key_inode(k, owners[o] + (uint64_t)i);
            keys[nk] = malloc(n + 1);
            keys[nk][0] = (char)n;
            memcpy(keys[nk] + 1, k, n);
            nk++;
        }
    }
    qsort(keys, (size_t)nk, sizeof(keys[0]), keycmp);
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX];
    size_t nlo = fs_key_range_start(lo, FS_ROW_DENTRY, P);
    size_t nhi = fs_key_range_end(hi, FS_ROW_DENTRY, P);
    int first = -1, last = -1, count = 0;
    for (int i = 0; i < nk; i++) {
        fs_key_t pk;
        assert_int_equal(fs_key_parse(keys[i] + 1, (unsigned char)keys[i][0], &pk), 0);
        int mine = pk.type == FS_ROW_DENTRY && pk.ino == P;
        int inrange = bytes_cmp(keys[i] + 1, (unsigned char)keys[i][0], lo, nlo) >= 0 &&
                      bytes_cmp(keys[i] + 1, (unsigned char)keys[i][0], hi, nhi) < 0;
        assert_int_equal(mine, inrange);
        if (mine) {
            if (first < 0)
                first = i;
            last = i;
            count++;
        }
    }
    assert_int_equal(count, NN);
    assert_int_equal(last - first + 1, NN);  /* contiguous */
    for (int i = 0; i < nk; i++)
        free(keys[i]);
    /* the range of the largest inode number is bounded too */
    nhi = fs_key_range_end(hi, FS_ROW_DENTRY, UINT64_MAX);
    char k[FS_KEY_MAX];
    size_t n = fs_key_dentry(k, UINT64_MAX, "\xff", 1);
    assert_true(bytes_cmp(k, n, hi, nhi) < 0);
    n = fs_key_inode(k, 0);
    assert_true(bytes_cmp(k, n, hi, nhi) > 0 || k[0] != FS_ROW_DENTRY);
}

static void test_block_keys_sort_by_index(void **state)
{
    (void)state;
    const uint64_t idx[] = {0, 1, 2, 255, 256, 257, 65535, 65536, 1ULL << 32, (1ULL << 40) - 1,
                            1ULL << 40, UINT64_MAX - 1, UINT64_MAX};
    enum { N = sizeof(idx) / sizeof(idx[0]) };
    char prev[FS_KEY_MAX];
    size_t nprev = 0;
    for (int i = 0; i < N; i++) {
        char k[FS_KEY_MAX];
        size_t n = fs_key_block(k, 7, idx[i]);
        if (i > 0)
            assert_true(bytes_cmp(prev, nprev, k, n) < 0);
        memcpy(prev, k, n);
        nprev = n;
    }
    /* and every B row of inode 7 lies in the inode's B range, before inode 8's rows */
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX], k[FS_KEY_MAX];
    size_t nlo = fs_key_range_start(lo, FS_ROW_BLOCK, 7), nhi = fs_key_range_end(hi, FS_ROW_BLOCK, 7);
    size_t n = fs_key_block(k, 7, UINT64_MAX);
    assert_true(bytes_cmp(k, n, lo, nlo) >= 0 && bytes_cmp(k, n, hi, nhi) < 0);
    n = fs_key_block(k, 8, 0);
    assert_true(bytes_cmp(k, n, hi, nhi) >= 0);
    n = fs_key_block(k, 6, UINT64_MAX);
    assert_true(bytes_cmp(k, n, lo, nlo) < 0);
    /* inode keys sort numerically as well */
    char a[FS_KEY_MAX], b[FS_KEY_MAX];
    size_t na = fs_key_inode(a, 255), nb = fs_key_inode(b, 256);
    assert_true(bytes_cmp(a, na, b, nb) < 0);
    /* type ranges cover only their type */
    na = fs_key_type_start(a, FS_ROW_ORPHAN);
    nb = fs_key_type_end(b, FS_ROW_ORPHAN);
    n = fs_key_orphan(k, UINT64_MAX);
    assert_true(bytes_cmp(k, n, a, na) >= 0 && bytes_cmp(k, n, b, nb) < 0);
    n = fs_key_inode(k, UINT64_MAX);
    assert_false(bytes_cmp(k, n, a, na) >= 0 && bytes_cmp(k, n, b, nb) < 0);
}

static void test_name_check(void **state)
{
    (void)state;
    char name[FS_NAME_MAX + 1];
    memset(name, 'x', sizeof(name));
    assert_int_equal(fs_name_check(name, FS_NAME_MAX), 0);
    assert_int_equal(fs_name_check(name, FS_NAME_MAX + 1), -ENAMETOOLONG);
    assert_int_equal(fs_name_check("", 0), -EINVAL);
    assert_int_equal(fs_name_check(".", 1), -EINVAL);
    assert_int_equal(fs_name_check("..", 2), -EINVAL);
    assert_int_equal(fs_name_check("...", 3), 0);
    assert_int_equal(fs_name_check("a/b", 3), -EINVAL);
    assert_int_equal(fs_name_check("a\0b", 3), -EINVAL);
    assert_int_equal(fs_name_check("\xff\xfe", 2), 0);
}

/* ---- malformed values ---- */

static void test_inode_malformed(void **state)
{
    (void)state;
    fs_inode_t in = sample_inode(S_IFREG | 0644), out;
    char buf[FS_INODE_SIZE + 1];
    fs_inode_encode(&in, buf);
    for (size_t l = 0; l < FS_INODE_SIZE; l++)
        assert_int_equal(fs_inode_decode(buf, l, &out), -EUCLEAN);
    buf[FS_INODE_SIZE] = 0;
    assert_int_equal(fs_inode_decode(buf, FS_INODE_SIZE + 1, &out), -EUCLEAN);
    buf[0] = FS_VALUE_VERSION + 1;
    assert_int_equal(fs_inode_decode(buf, FS_INODE_SIZE, &out), -EUCLEAN);
    buf[0] = 0;
    assert_int_equal(fs_inode_decode(buf, FS_INODE_SIZE, &out), -EUCLEAN);

    struct { fs_inode_t in; const char *what; } bad[9];
    int nb = 0;
    bad[nb].in = sample_inode(S_IFREG | 0644); bad[nb].in.mode = 0644; bad[nb++].what = "no type";
    bad[nb].in = sample_inode(S_IFREG | 0644); bad[nb].in.mode = 0170000 | 0644; bad[nb++].what = "type 017";
    bad[nb].in = sample_inode(S_IFREG | 0644); bad[nb].in.mode |= 0x10000; bad[nb++].what = "high bits";
    bad[nb].in = sample_inode(S_IFREG | 0644); bad[nb].in.mtime.nsec = 1000000000u; bad[nb++].what = "nsec";
    bad[nb].in = sample_inode(S_IFREG | 0644); bad[nb].in.size = (uint64_t)INT64_MAX + 1; bad[nb++].what = "size";
    bad[nb].in = sample_inode(S_IFDIR | 0755); bad[nb].in.parent = 0; bad[nb++].what = "dir without parent";
    bad[nb].in = sample_inode(S_IFREG | 0644); bad[nb].in.parent = 5; bad[nb++].what = "file with parent";
    bad[nb].in = sample_inode(S_IFREG | 0644); bad[nb].in.blocks = bad[nb].in.size + 1; bad[nb++].what = "blocks > size";
    for (int i = 0; i < nb; i++) {
        fs_inode_encode(&bad[i].in, buf);
        if (fs_inode_decode(buf, FS_INODE_SIZE, &out) != -EUCLEAN)
            fail_msg("inode with bad %s accepted", bad[i].what);
    }
}

static void test_super_malformed(void **state)
{
    (void)state;
    fs_super_t sb = sample_super(), out;
    char good[FS_SUPER_SIZE + 1], buf[FS_SUPER_SIZE + 1];
    fs_super_encode(&sb, good);
    for (size_t l = 0; l < FS_SUPER_SIZE; l++)
        assert_int_equal(fs_super_decode(good, l, &out), -EUCLEAN);
    good[FS_SUPER_SIZE] = 0;
    assert_int_equal(fs_super_decode(good, FS_SUPER_SIZE + 1, &out), -EUCLEAN);
    /* field offsets: magic 0, version 8, format 9, bsize 10, uuid 14, lablen 30, label 31,
     * hwm 95, features 103, compression 111, created 112 */
    memcpy(buf, good, FS_SUPER_SIZE);
    buf[0] ^= 1;
    assert_int_equal(fs_super_decode(buf, FS_SUPER_SIZE, &out), -EUCLEAN);
    memcpy(buf, good, FS_SUPER_SIZE);
    buf[8] = 9;
    assert_int_equal(fs_super_decode(buf, FS_SUPER_SIZE, &out), -EUCLEAN);
    memcpy(buf, good, FS_SUPER_SIZE);
    buf[9] = FS_FORMAT_VERSION + 1;
    assert_int_equal(fs_super_decode(buf, FS_SUPER_SIZE, &out), -EPROTONOSUPPORT);
    memcpy(buf, good, FS_SUPER_SIZE);
    buf[9] = 0;
    assert_int_equal(fs_super_decode(buf, FS_SUPER_SIZE, &out), -EUCLEAN);
    memcpy(buf, good, FS_SUPER_SIZE);
    buf[10] = 1;  /* 4097 */
    assert_int_equal(fs_super_decode(buf, FS_SUPER_SIZE, &out), -EUCLEAN);
    memcpy(buf, good, FS_SUPER_SIZE);
    buf[30] = FS_LABEL_MAX + 1;
    assert_int_equal(fs_super_decode(buf, FS_SUPER_SIZE, &out), -EUCLEAN);
    memcpy(buf, good, FS_SUPER_SIZE);
    buf[30] = 2;  /* padding after the label must be zero: "my" then " label" */
    assert_int_equal(fs_super_decode(buf, FS_SUPER_SIZE, &out), -EUCLEAN);
    memcpy(buf, good, FS_SUPER_SIZE);
    buf[31] = 0;  /* NUL inside the label */
    assert_int_equal(fs_super_decode(buf, FS_SUPER_SIZE, &out), -EUCLEAN);
    memcpy(buf, good, FS_SUPER_SIZE);
    memset(buf + 95, 0, 8);  /* high-water mark 0 */
    assert_int_equal(fs_super_decode(buf, FS_SUPER_SIZE, &out), -EUCLEAN);
    memcpy(buf, good, FS_SUPER_SIZE);
    buf[103] = 4;  /* unknown feature */
    assert_int_equal(fs_super_decode(buf, FS_SUPER_SIZE, &out), -EPROTONOSUPPORT);
    memcpy(buf, good, FS_SUPER_SIZE);
    buf[111] = 1;  /* unknown compression */
    assert_int_equal(fs_super_decode(buf, FS_SUPER_SIZE, &out), -EUCLEAN);
    memcpy(buf, good, FS_SUPER_SIZE);
    assert_int_equal(fs_super_decode(buf, FS_SUPER_SIZE, &out), 0);
}

static void test_small_rows_malformed(void **state)
{
    (void)state;
    char buf[64];
    uint64_t ino;
    unsigned type;
    const char *p;
    size_t n;
    int64_t since;
    fs_dentry_encode(5, S_IFREG >> 12, buf);
    for (size_t l = 0; l < FS_DENTRY_SIZE; l++)
        assert_int_equal(fs_dentry_decode(buf, l, &ino, &type), -EUCLEAN);
    assert_int_equal(fs_dentry_decode(buf, FS_DENTRY_SIZE + 1, &ino, &type), -EUCLEAN);
    fs_dentry_encode(0, S_IFREG >> 12, buf);
    assert_int_equal(fs_dentry_decode(buf, FS_DENTRY_SIZE, &ino, &type), -EUCLEAN);
    fs_dentry_encode(5, 0, buf);
    assert_int_equal(fs_dentry_decode(buf, FS_DENTRY_SIZE, &ino, &type), -EUCLEAN);
    fs_dentry_encode(5, 3, buf);
    assert_int_equal(fs_dentry_decode(buf, FS_DENTRY_SIZE, &ino, &type), -EUCLEAN);
    fs_dentry_encode(5, S_IFREG >> 12, buf);
    buf[0] = 2;
    assert_int_equal(fs_dentry_decode(buf, FS_DENTRY_SIZE, &ino, &type), -EUCLEAN);

    size_t len = fs_symlink_encode("ab", 2, buf);
    assert_int_equal(fs_symlink_decode(buf, 0, &p, &n), -EUCLEAN);
    assert_int_equal(fs_symlink_decode(buf, 1, &p, &n), -EUCLEAN);  /* empty target */
    buf[0] = 7;
    assert_int_equal(fs_symlink_decode(buf, len, &p, &n), -EUCLEAN);
    len = fs_symlink_encode("ab", 2, buf);
    buf[2] = '\0';
    assert_int_equal(fs_symlink_decode(buf, len, &p, &n), -EUCLEAN);

    len = fs_xattr_encode("v", 1, buf);
    assert_int_equal(fs_xattr_decode(buf, 0, &p, &n), -EUCLEAN);
    buf[0] = 0;
    assert_int_equal(fs_xattr_decode(buf, len, &p, &n), -EUCLEAN);

    len = fs_orphan_encode(1, buf);
    for (size_t l = 0; l < len; l++)
        assert_int_equal(fs_orphan_decode(buf, l, &since), -EUCLEAN);
    assert_int_equal(fs_orphan_decode(buf, len + 1, &since), -EUCLEAN);
    buf[0] = 3;
    assert_int_equal(fs_orphan_decode(buf, len, &since), -EUCLEAN);

    unsigned slot;
    len = fs_snapslot_encode(0, buf); /* slot 0 is .snapshots itself, never a snapshot */
    assert_int_equal(fs_snapslot_decode(buf, len, &slot), -EUCLEAN);
    len = fs_snapslot_encode(FS_SNAPSLOT_MAX + 1, buf);
    assert_int_equal(fs_snapslot_decode(buf, len, &slot), -EUCLEAN);
    len = fs_snapslot_encode(7, buf);
    assert_int_equal(fs_snapslot_decode(buf, len - 1, &slot), -EUCLEAN);
    assert_int_equal(fs_snapslot_decode(buf, len + 1, &slot), -EUCLEAN);
    buf[0] = 3;
    assert_int_equal(fs_snapslot_decode(buf, len, &slot), -EUCLEAN);
}

/* Random bytes into every decoder: no crash, no read outside the buffer (run under ASan),
 * and anything accepted re-encodes to the same bytes. */
static void test_fuzz_decoders(void **state)
{
    (void)state;
    uint64_t x = 0x2545f4914f6cdd1dULL;
    char *buf = malloc(4200);
    assert_non_null(buf);
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0;
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        switch (iter % 4) {
        case 0: len = x % 12; break;
        case 1: len = FS_INODE_SIZE; break;
        case 2: len = FS_SUPER_SIZE; break;
        default: len = x % 4200; break;
        }
        char *v = malloc(len ? len : 1);  /* exact size: ASan sees any overread */
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            v[i] = (char)x;
        }
        if (len > 0 && (x & 1))
            v[0] = FS_VALUE_VERSION;  /* get past the version check more often */
        fs_inode_t in;
        if (fs_inode_decode(v, len, &in) == 0) {
            assert_int_equal(fs_inode_encode(&in, buf), len);
            assert_memory_equal(buf, v, len);
        }
        fs_super_t sb;
        if (fs_super_decode(v, len, &sb) == 0) {
            assert_int_equal(fs_super_encode(&sb, buf), len);
            assert_memory_equal(buf, v, len);
        }
        uint64_t ino;
        unsigned type;
        if (fs_dentry_decode(v, len, &ino, &type) == 0) {
            assert_int_equal(fs_dentry_encode(ino, type, buf), len);
            assert_memory_equal(buf, v, len);
        }
        const char *p;
        size_t n;
        if (fs_symlink_decode(v, len, &p, &n) == 0)
            assert_true(p == v + 1 && n == len - 1);
        if (fs_xattr_decode(v, len, &p, &n) == 0)
            assert_true(p == v + 1 && n == len - 1);
        int64_t since;
        fs_orphan_decode(v, len, &since);
        fs_key_t pk;
        if (len && fs_key_parse(v, len, &pk) == 0 && (pk.type == FS_ROW_DENTRY)) {
            size_t kn = fs_key_dentry(buf, pk.ino, pk.name, pk.namelen);
            assert_int_equal(kn, len);
            assert_memory_equal(buf, v, len);
        }
        free(v);
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inode_roundtrip),
        cmocka_unit_test(test_inode_unwritten),
        cmocka_unit_test(test_super_roundtrip),
        cmocka_unit_test(test_super_encode_rejects),
        cmocka_unit_test(test_dentry_roundtrip),
        cmocka_unit_test(test_bytes_rows_roundtrip),
        cmocka_unit_test(test_key_parse_roundtrip),
        cmocka_unit_test(test_key_parse_rejects),
        cmocka_unit_test(test_dentry_prefix_contiguous),
        cmocka_unit_test(test_block_keys_sort_by_index),
        cmocka_unit_test(test_name_check),
        cmocka_unit_test(test_inode_malformed),
        cmocka_unit_test(test_super_malformed),
        cmocka_unit_test(test_small_rows_malformed),
        cmocka_unit_test(test_fuzz_decoders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
