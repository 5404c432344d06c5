/*
 * fuzz_fs_schema.c - libFuzzer target: the filesystem's on-store decoders (fs/schema.h).
 *
 * The first input byte picks a decoder (superblock, inode, dentry, symlink, xattr,
 * orphan, key parse, block and name checks), the rest is the value or key. A decoder must
 * reject or accept without reading outside the input; what it accepts must survive
 * encode -> decode -> encode unchanged (a canonical round trip), and pointers it returns
 * must lie within the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

static void within(const char *p, size_t n, const char *lo, size_t len)
{
    if (n && (p < lo || p + n > lo + len))
        abort();
}

static void same(const char *a, size_t na, const char *b, size_t nb)
{
    if (na != nb || memcmp(a, b, na) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int which = data[0] % 9;
    size_t len = size - 1;
    char *val = malloc(len ? len : 1); /* exact-size copy: overreads hit the redzone */
    if (!val)
        return 0;
    memcpy(val, data + 1, len);
    static char a[FS_XATTR_SIZE_MAX + 16], b[FS_XATTR_SIZE_MAX + 16];
    switch (which) {
    case 0: {
        fs_super_t sb, sb2;
        if (fs_super_decode(val, len, &sb) == 0) {
            fs_super_check(&sb);
            size_t n = fs_super_encode(&sb, a);
            if (n) {
                if (fs_super_decode(a, n, &sb2) != 0)
                    abort();
                same(a, n, b, fs_super_encode(&sb2, b));
            }
        }
        break;
    }
    case 1: {
        fs_inode_t in, in2;
        if (fs_inode_decode(val, len, &in) == 0) {
            size_t n = fs_inode_encode(&in, a);
            if (fs_inode_decode(a, n, &in2) != 0)
                abort();
            same(a, n, b, fs_inode_encode(&in2, b));
        }
        break;
    }
    case 2: {
        uint64_t ino, ino2;
        unsigned type, type2;
        if (fs_dentry_decode(val, len, &ino, &type) == 0) {
            size_t n = fs_dentry_encode(ino, type, a);
            if (fs_dentry_decode(a, n, &ino2, &type2) != 0 || ino2 != ino || type2 != type)
                abort();
        }
        break;
    }
    case 3: {
        const char *t, *t2;
        size_t n, n2;
        if (fs_symlink_decode(val, len, &t, &n) == 0) {
            within(t, n, val, len);
            size_t e = fs_symlink_encode(t, n, a);
            if (!e || fs_symlink_decode(a, e, &t2, &n2) != 0)
                abort();
            same(t, n, t2, n2);
        }
        break;
    }
    case 4: {
        const char *d, *d2;
        size_t n, n2;
        if (fs_xattr_decode(val, len, &d, &n) == 0) {
            within(d, n, val, len);
            size_t e = fs_xattr_encode(d, n, a);
            if (!e || fs_xattr_decode(a, e, &d2, &n2) != 0)
                abort();
            same(d, n, d2, n2);
        }
        break;
    }
    case 5: {
        int64_t since, since2;
        if (fs_orphan_decode(val, len, &since) == 0) {
            size_t n = fs_orphan_encode(since, a);
            if (fs_orphan_decode(a, n, &since2) != 0 || since2 != since)
                abort();
        }
        break;
    }
    case 6: {
        fs_key_t k;
        if (fs_key_parse(val, len, &k) == 0) {
            within(k.name, k.namelen, val, len);
            size_t n = 0;
            switch (k.type) {
            case FS_ROW_SUPER: n = fs_key_super(a); break;
            case FS_ROW_INODE: n = fs_key_inode(a, k.ino); break;
            case FS_ROW_DENTRY: n = fs_key_dentry(a, k.ino, k.name, k.namelen); break;
            case FS_ROW_BLOCK: n = fs_key_block(a, k.ino, k.index); break;
            case FS_ROW_SYMLINK: n = fs_key_symlink(a, k.ino); break;
            case FS_ROW_XATTR: n = fs_key_xattr(a, k.ino, k.name, k.namelen); break;
            case FS_ROW_ORPHAN: n = fs_key_orphan(a, k.ino); break;
            case FS_ROW_SNAPSLOT: n = fs_key_snapslot(a, k.name, k.namelen); break;
            default: abort(); /* parse accepted a type no builder makes */
            }
            same(a, n, val, len); /* keys have one spelling */
        }
        break;
    }
    case 7: {
        uint32_t bs = len >= 4 ? (uint32_t)data[1] << 12 : 4096;
        fs_block_check(len, bs ? bs : 4096);
        break;
    }
    default:
        fs_name_check(val, len);
        break;
    }
    free(val);
    return 0;
}
