/*
 * schema.c - key builders and value codecs of the lsmfs on-store format (see schema.h).
 *
 * Integers in keys are big-endian (so that they sort), integers in values little-endian at
 * fixed offsets. Every decoder first checks the exact length and the version byte, then
 * reads fields only inside [val, val + len), then range-checks them; it never trusts the
 * input (the decoders are fuzzed).
 */
#include "schema.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* ---- byte order helpers (kept local: fs/ uses only lsm.h from the engine) ---- */

static void put_be64(char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_be64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | (unsigned char)p[i];
    return v;
}

static char *put_le(char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = (char)(v & 0xff);
        v >>= 8;
    }
    return p + n;
}

static uint64_t get_le(const char **pp, int n)
{
    const unsigned char *p = (const unsigned char *)*pp;
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    *pp += n;
    return v;
}

/* ---- keys ---- */

static size_t key_ino(char *out, int type, uint64_t ino)
{
    out[0] = (char)type;
    put_be64(out + 1, ino);
    return 9;
}

static size_t key_ino_name(char *out, int type, uint64_t ino, const char *name, size_t n)
{
    if (n == 0 || n > FS_NAME_MAX)
        return 0;
    key_ino(out, type, ino);
    memcpy(out + 9, name, n);
    return 9 + n;
}

size_t fs_key_super(char *out)
{
    out[0] = FS_ROW_SUPER;
    return 1;
}

size_t fs_key_inode(char *out, uint64_t ino) { return key_ino(out, FS_ROW_INODE, ino); }
size_t fs_key_symlink(char *out, uint64_t ino) { return key_ino(out, FS_ROW_SYMLINK, ino); }
size_t fs_key_orphan(char *out, uint64_t ino) { return key_ino(out, FS_ROW_ORPHAN, ino); }

size_t fs_key_snapslot(char *out, const char *name, size_t namelen)
{
    if (namelen == 0 || namelen > FS_NAME_MAX || memchr(name, '\0', namelen))
        return 0;
    out[0] = FS_ROW_SNAPSLOT;
    memcpy(out + 1, name, namelen);
    return 1 + namelen;
}

size_t fs_key_dentry(char *out, uint64_t parent, const char *name, size_t namelen)
{
    return key_ino_name(out, FS_ROW_DENTRY, parent, name, namelen);
}

size_t fs_key_xattr(char *out, uint64_t ino, const char *name, size_t namelen)
{
    return key_ino_name(out, FS_ROW_XATTR, ino, name, namelen);
}

size_t fs_key_block(char *out, uint64_t ino, uint64_t index)
{
    key_ino(out, FS_ROW_BLOCK, ino);
    put_be64(out + 9, index);
    return 17;
}

size_t fs_key_range_start(char *out, int type, uint64_t ino) { return key_ino(out, type, ino); }

size_t fs_key_range_end(char *out, int type, uint64_t ino)
{
    if (ino == UINT64_MAX) {  /* no ino+1: the next row type bounds it */
        out[0] = (char)(type + 1);
        return 1;
    }
    return key_ino(out, type, ino + 1);
}

size_t fs_key_type_start(char *out, int type)
{
    out[0] = (char)type;
    return 1;
}

size_t fs_key_type_end(char *out, int type)
{
    out[0] = (char)(type + 1);
    return 1;
}

int fs_key_parse(const char *key, size_t len, fs_key_t *out)
{
    memset(out, 0, sizeof(*out));
    if (len < 1)
        return -EUCLEAN;
    out->type = (unsigned char)key[0];
    switch (out->type) {
    case FS_ROW_SUPER:
        return len == 1 ? 0 : -EUCLEAN;
    case FS_ROW_INODE:
    case FS_ROW_SYMLINK:
    case FS_ROW_ORPHAN:
        if (len != 9)
            return -EUCLEAN;
        out->ino = get_be64(key + 1);
        return 0;
    case FS_ROW_BLOCK:
        if (len != 17)
            return -EUCLEAN;
        out->ino = get_be64(key + 1);
        out->index = get_be64(key + 9);
        return 0;
    case FS_ROW_SNAPSLOT:
        if (len < 2 || len > 1 + FS_NAME_MAX || memchr(key + 1, '\0', len - 1))
            return -EUCLEAN;
        out->name = key + 1;
        out->namelen = len - 1;
        return 0;
    case FS_ROW_DENTRY:
    case FS_ROW_XATTR:
        if (len < 10 || len > 9 + FS_NAME_MAX)
            return -EUCLEAN;
        out->ino = get_be64(key + 1);
        out->name = key + 9;
        out->namelen = len - 9;
        if (memchr(out->name, '\0', out->namelen))
            return -EUCLEAN;
        if (out->type == FS_ROW_DENTRY && fs_name_check(out->name, out->namelen) != 0)
            return -EUCLEAN;
        return 0;
    default:
        return -EUCLEAN;
    }
}

void fs_key_parse_bound(const char *key, size_t len, fs_key_t *out)
{
    char pad[17] = {0};
    memcpy(pad, key, len < sizeof(pad) ? len : sizeof(pad));
    memset(out, 0, sizeof(*out));
    out->type = (unsigned char)pad[0];
    out->ino = get_be64(pad + 1);
    out->index = get_be64(pad + 9);
}

int fs_name_check(const char *name, size_t len)
{
    if (len == 0)
        return -EINVAL;
    if (len > FS_NAME_MAX)
        return -ENAMETOOLONG;
    if (memchr(name, '/', len) || memchr(name, '\0', len))
        return -EINVAL;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return -EINVAL;
    return 0;
}

/* ---- superblock ---- */

int fs_super_check(const fs_super_t *sb)
{
    uint32_t bs = sb->block_size;
    if (sb->format_version != FS_FORMAT_VERSION)
        return -EINVAL;
    if (bs < FS_BLOCK_SIZE_MIN || bs > FS_BLOCK_SIZE_MAX || (bs & (bs - 1)) != 0)
        return -EINVAL;
    if (memchr(sb->label, '\0', sizeof(sb->label)) == NULL)
        return -EINVAL;
    if (sb->inode_hwm < FS_FIRST_FREE_INO)
        return -EINVAL;
    if (sb->compression != FS_COMPRESS_NONE && sb->compression != FS_COMPRESS_ZLIB)
        return -EINVAL;
    if (sb->features & ~FS_FEATURES_KNOWN)
        return -EINVAL;
    return 0;
}

size_t fs_super_encode(const fs_super_t *sb, char *out)
{
    if (fs_super_check(sb) != 0)
        return 0;
    size_t lablen = strlen(sb->label);
    char *p = put_le(out, FS_SUPER_MAGIC, 8);
    p = put_le(p, FS_VALUE_VERSION, 1);
    p = put_le(p, sb->format_version, 1);
    p = put_le(p, sb->block_size, 4);
    memcpy(p, sb->uuid, FS_UUID_SIZE);
    p += FS_UUID_SIZE;
    p = put_le(p, lablen, 1);
    memset(p, 0, FS_LABEL_MAX);
    memcpy(p, sb->label, lablen);
    p += FS_LABEL_MAX;
    p = put_le(p, sb->inode_hwm, 8);
    p = put_le(p, sb->features, 8);
    p = put_le(p, sb->compression, 1);
    p = put_le(p, (uint64_t)sb->created_sec, 8);
    return (size_t)(p - out);
}

int fs_super_decode(const char *val, size_t len, fs_super_t *sb)
{
    memset(sb, 0, sizeof(*sb));
    if (len < 10)
        return -EUCLEAN;
    const char *p = val;
    if (get_le(&p, 8) != FS_SUPER_MAGIC)
        return -EUCLEAN;
    if (get_le(&p, 1) != FS_VALUE_VERSION)
        return -EUCLEAN;
    sb->format_version = (uint32_t)get_le(&p, 1);
    if (sb->format_version > FS_FORMAT_VERSION)
        return -EPROTONOSUPPORT;
    if (len != FS_SUPER_SIZE || sb->format_version != FS_FORMAT_VERSION)
        return -EUCLEAN;
    sb->block_size = (uint32_t)get_le(&p, 4);
    memcpy(sb->uuid, p, FS_UUID_SIZE);
    p += FS_UUID_SIZE;
    size_t lablen = (size_t)get_le(&p, 1);
    if (lablen > FS_LABEL_MAX)
        return -EUCLEAN;
    memcpy(sb->label, p, lablen);
    sb->label[lablen] = '\0';
    if (memchr(p, '\0', lablen))
        return -EUCLEAN;
    for (size_t i = lablen; i < FS_LABEL_MAX; i++)
        if (p[i] != 0)
            return -EUCLEAN;
    p += FS_LABEL_MAX;
    sb->inode_hwm = get_le(&p, 8);
    sb->features = get_le(&p, 8);
    sb->compression = (uint32_t)get_le(&p, 1);
    sb->created_sec = (int64_t)get_le(&p, 8);
    if (sb->features & ~FS_FEATURES_KNOWN)
        return -EPROTONOSUPPORT;
    if (fs_super_check(sb) != 0)
        return -EUCLEAN;
    return 0;
}

/* ---- inode ---- */

static char *put_time(char *p, fs_time_t t)
{
    p = put_le(p, (uint64_t)t.sec, 8);
    return put_le(p, t.nsec, 4);
}

static fs_time_t get_time(const char **pp)
{
    fs_time_t t;
    t.sec = (int64_t)get_le(pp, 8);
    t.nsec = (uint32_t)get_le(pp, 4);
    return t;
}

static int mode_type_ok(uint32_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR: case S_IFBLK: case S_IFIFO:
    case S_IFSOCK:
        return (mode & ~(uint32_t)(S_IFMT | 07777)) == 0;
    default:
        return 0;
    }
}

size_t fs_inode_encode(const fs_inode_t *ino, char *out)
{
    char *p = put_le(out, FS_VALUE_VERSION, 1);
    p = put_le(p, ino->mode, 4);
    p = put_le(p, ino->uid, 4);
    p = put_le(p, ino->gid, 4);
    p = put_le(p, ino->nlink, 4);
    p = put_le(p, ino->size, 8);
    p = put_time(p, ino->atime);
    p = put_time(p, ino->mtime);
    p = put_time(p, ino->ctime);
    p = put_time(p, ino->btime);
    p = put_le(p, ino->rdev, 8);
    p = put_le(p, ino->flags, 4);
    p = put_le(p, ino->generation, 8);
    p = put_le(p, ino->parent, 8);
    p = put_le(p, ino->blocks, 8);
    /* never more unwritten blocks than stored ones: a last defence that keeps the row
     * decodable (the daemon never stages more: fs_batch_inode asserts it in test builds;
     * fsck recounts) */
    uint64_t unwritten = ino->unwritten < ino->blocks ? ino->unwritten : ino->blocks;
    if (unwritten > 0 && S_ISREG(ino->mode))
        p = put_le(p, unwritten, 8);
    return (size_t)(p - out);
}

int fs_inode_decode(const char *val, size_t len, fs_inode_t *ino)
{
    memset(ino, 0, sizeof(*ino));
    if ((len != FS_INODE_SIZE && len != FS_INODE_SIZE_MAX) ||
        (unsigned char)val[0] != FS_VALUE_VERSION)
        return -EUCLEAN;
    const char *p = val + 1;
    ino->mode = (uint32_t)get_le(&p, 4);
    ino->uid = (uint32_t)get_le(&p, 4);
    ino->gid = (uint32_t)get_le(&p, 4);
    ino->nlink = (uint32_t)get_le(&p, 4);
    ino->size = get_le(&p, 8);
    ino->atime = get_time(&p);
    ino->mtime = get_time(&p);
    ino->ctime = get_time(&p);
    ino->btime = get_time(&p);
    ino->rdev = get_le(&p, 8);
    ino->flags = (uint32_t)get_le(&p, 4);
    ino->generation = get_le(&p, 8);
    ino->parent = get_le(&p, 8);
    ino->blocks = get_le(&p, 8);
    if (len == FS_INODE_SIZE_MAX) {  /* the field is there only when it is not 0 */
        ino->unwritten = get_le(&p, 8);
        if (ino->unwritten == 0 || ino->unwritten > ino->blocks || !S_ISREG(ino->mode))
            return -EUCLEAN;
    }
    if (!mode_type_ok(ino->mode))
        return -EUCLEAN;
    if (ino->size > (uint64_t)INT64_MAX || ino->blocks > ino->size)
        return -EUCLEAN;
    if (ino->atime.nsec >= 1000000000u || ino->mtime.nsec >= 1000000000u ||
        ino->ctime.nsec >= 1000000000u || ino->btime.nsec >= 1000000000u)
        return -EUCLEAN;
    if (S_ISDIR(ino->mode) ? ino->parent == 0 : ino->parent != 0)
        return -EUCLEAN;
    return 0;
}

/* ---- dentry ---- */

size_t fs_dentry_encode(uint64_t ino, unsigned type, char *out)
{
    char *p = put_le(out, FS_VALUE_VERSION, 1);
    p = put_le(p, ino, 8);
    p = put_le(p, type, 1);
    return (size_t)(p - out);
}

int fs_dentry_decode(const char *val, size_t len, uint64_t *ino, unsigned *type)
{
    if (len != FS_DENTRY_SIZE || (unsigned char)val[0] != FS_VALUE_VERSION)
        return -EUCLEAN;
    const char *p = val + 1;
    *ino = get_le(&p, 8);
    *type = (unsigned)get_le(&p, 1);
    if (*ino == 0 || !mode_type_ok((uint32_t)*type << 12))
        return -EUCLEAN;
    return 0;
}

/* ---- versioned byte strings ---- */

static size_t bytes_encode(const void *data, size_t n, char *out)
{
    out[0] = FS_VALUE_VERSION;
    if (n)
        memcpy(out + 1, data, n);
    return n + 1;
}

static int bytes_decode(const char *val, size_t len, const char **data, size_t *n)
{
    if (len < 1 || (unsigned char)val[0] != FS_VALUE_VERSION)
        return -EUCLEAN;
    *data = val + 1;
    *n = len - 1;
    return 0;
}

size_t fs_symlink_encode(const char *target, size_t n, char *out)
{
    if (n == 0 || n > FS_SYMLINK_MAX || memchr(target, '\0', n))
        return 0;
    return bytes_encode(target, n, out);
}

int fs_symlink_decode(const char *val, size_t len, const char **target, size_t *n)
{
    if (bytes_decode(val, len, target, n) != 0)
        return -EUCLEAN;
    if (*n == 0 || *n > FS_SYMLINK_MAX || memchr(*target, '\0', *n))
        return -EUCLEAN;
    return 0;
}

size_t fs_xattr_encode(const void *data, size_t n, char *out)
{
    if (n > FS_XATTR_SIZE_MAX)
        return 0;
    return bytes_encode(data, n, out);
}

int fs_xattr_decode(const char *val, size_t len, const char **data, size_t *n)
{
    if (bytes_decode(val, len, data, n) != 0 || *n > FS_XATTR_SIZE_MAX)
        return -EUCLEAN;
    return 0;
}

size_t fs_orphan_encode(int64_t since_sec, char *out)
{
    char *p = put_le(out, FS_VALUE_VERSION, 1);
    p = put_le(p, (uint64_t)since_sec, 8);
    return (size_t)(p - out);
}

int fs_orphan_decode(const char *val, size_t len, int64_t *since_sec)
{
    if (len != FS_ORPHAN_SIZE || (unsigned char)val[0] != FS_VALUE_VERSION)
        return -EUCLEAN;
    const char *p = val + 1;
    *since_sec = (int64_t)get_le(&p, 8);
    return 0;
}

size_t fs_snapslot_encode(unsigned slot, char *out)
{
    char *p = put_le(out, FS_VALUE_VERSION, 1);
    p = put_le(p, slot, 2);
    return (size_t)(p - out);
}

int fs_snapslot_decode(const char *val, size_t len, unsigned *slot)
{
    if (len != FS_SNAPSLOT_SIZE || (unsigned char)val[0] != FS_VALUE_VERSION)
        return -EUCLEAN;
    const char *p = val + 1;
    *slot = (unsigned)get_le(&p, 2);
    return *slot >= 1 && *slot <= FS_SNAPSLOT_MAX ? 0 : -EUCLEAN;
}

int fs_block_check(size_t len, uint32_t block_size)
{
    return len <= block_size ? 0 : -EUCLEAN;
}
