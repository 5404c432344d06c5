/*
 * schema.h - the on-store format of lsmfs: every key and every value the filesystem keeps
 * in the LSM store, and nothing else. lsmfs, mkfs.lsmfs and fsck.lsmfs lay out rows only
 * through this module.
 *
 * Keys (integers big-endian so that byte order is numeric order):
 *
 *   S                          superblock
 *   I ino                      inode
 *   D parent name              directory entry (name: 1..255 bytes, no '/' or NUL)
 *   B ino index                one data block of `block_size` bytes (a missing one is a hole)
 *   L ino                      symlink target
 *   X ino name                 extended attribute (name: 1..255 bytes, no NUL)
 *   O ino                      orphan: nlink 0 but still open; reclaimed at last release/mount
 *   N name                     the MNT/.snapshots slot of persistent snapshot `name` (its
 *                              view's inode numbers derive from it; fs/snapview.c)
 *
 * Every D row of a directory shares the 9-byte prefix "D"+parent, so a directory is one
 * contiguous key range; the same holds for B and X rows of an inode; B rows of an inode
 * sort by block index.
 *
 * Values are an explicit little-endian fixed layout that starts with a version byte
 * (FS_VALUE_VERSION), except data blocks, which are the raw bytes of the block (0 ..
 * block_size bytes; bytes past the stored length read as zeros). Decoders check the exact
 * length, the version, and every field's range, and never read outside the buffer they
 * are given: a malformed value is an error (-EUCLEAN), never a crash.
 */
#ifndef LSMFS_SCHEMA_H
#define LSMFS_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

/* Format of the rows below; stored in the superblock. */
#define FS_FORMAT_VERSION 1
/* First byte of every versioned value. */
#define FS_VALUE_VERSION 1
/* "LSMFS-SB" read as a little-endian 64-bit integer. */
#define FS_SUPER_MAGIC 0x42532d53464d534cULL

#define FS_ROOT_INO 1            /* FUSE_ROOT_ID */
#define FS_LOST_FOUND_INO 2      /* made by mkfs */
#define FS_FIRST_FREE_INO 3      /* first number mkfs leaves for the daemon */
#define FS_NAME_MAX 255
#define FS_SYMLINK_MAX 4095      /* PATH_MAX - 1 */
#define FS_XATTR_NAME_MAX 255
#define FS_XATTR_SIZE_MAX 65536
#define FS_LABEL_MAX 64
#define FS_UUID_SIZE 16
#define FS_BLOCK_SIZE_MIN 512
#define FS_BLOCK_SIZE_MAX (1u << 20)
#define FS_BLOCK_SIZE_DEFAULT 4096

/* Row types: the first byte of every key. */
enum {
    FS_ROW_SUPER = 'S',
    FS_ROW_INODE = 'I',
    FS_ROW_DENTRY = 'D',
    FS_ROW_BLOCK = 'B',
    FS_ROW_SYMLINK = 'L',
    FS_ROW_XATTR = 'X',
    FS_ROW_ORPHAN = 'O',
    FS_ROW_SNAPSLOT = 'N',
};

/* Longest key any builder makes: type + ino + 255-byte name. */
#define FS_KEY_MAX (1 + 8 + 255)
/* Prefix of every D row of one directory / X row / B row of one inode. */
#define FS_PREFIX_LEN 9

/* Superblock feature bits; a store with a bit this build does not know is refused. */
#define FS_FEATURE_IFLAGS 1ULL   /* an inode may carry chattr flags (set at the first one) */
#define FS_FEATURE_UNWRITTEN 2ULL /* an inode may count unwritten blocks (first fallocate) */
#define FS_FEATURES_KNOWN (FS_FEATURE_IFLAGS | FS_FEATURE_UNWRITTEN)

/* Compression of the store's SSTs, as mkfs chose (values of lsm.h's enum). */
enum { FS_COMPRESS_NONE = 0, FS_COMPRESS_ZLIB = 2 };

/* ---- keys ----------------------------------------------------------------------------
 * Builders write into `out` (at least FS_KEY_MAX bytes) and return the key length. Those
 * taking a name return 0 if the name is empty or longer than FS_NAME_MAX. */
size_t fs_key_super(char *out);
size_t fs_key_inode(char *out, uint64_t ino);
size_t fs_key_dentry(char *out, uint64_t parent, const char *name, size_t namelen);
size_t fs_key_block(char *out, uint64_t ino, uint64_t index);
size_t fs_key_symlink(char *out, uint64_t ino);
size_t fs_key_xattr(char *out, uint64_t ino, const char *name, size_t namelen);
size_t fs_key_orphan(char *out, uint64_t ino);
/* The slot row of persistent snapshot `name` (1..255 bytes, no NUL; 0 otherwise). */
size_t fs_key_snapslot(char *out, const char *name, size_t namelen);
/* [start, end) covering every row of `type` (D, B or X) that belongs to `ino`. */
size_t fs_key_range_start(char *out, int type, uint64_t ino);
size_t fs_key_range_end(char *out, int type, uint64_t ino);
/* [start, end) covering every row of one type (I, O, ...), for whole-store scans. */
size_t fs_key_type_start(char *out, int type);
size_t fs_key_type_end(char *out, int type);

/* A key taken apart. `name` points into the parsed key. */
typedef struct {
    int type;               /* FS_ROW_* */
    uint64_t ino;           /* owner (parent for D rows); 0 for S and N */
    uint64_t index;         /* block index of a B row */
    const char *name;       /* D, X and N rows */
    size_t namelen;
} fs_key_t;

/* Returns 0, or -EUCLEAN for a key that no builder above could have made. */
int fs_key_parse(const char *key, size_t len, fs_key_t *out);
/* Reads a key range's bound (any bytes, e.g. a table index's shortened separator): type =
 * first byte (0 if empty), ino and index = the big-endian bytes after it, zero-padded when
 * cut short. Zero padding keeps a bound a bound: it can only move it up, and never past
 * the next real key. name is not set. */
void fs_key_parse_bound(const char *key, size_t len, fs_key_t *out);

/* ---- superblock ------------------------------------------------------------------------ */
typedef struct {
    uint32_t format_version;          /* FS_FORMAT_VERSION */
    uint32_t block_size;              /* power of two, FS_BLOCK_SIZE_MIN..MAX */
    uint8_t uuid[FS_UUID_SIZE];
    char label[FS_LABEL_MAX + 1];     /* NUL-terminated */
    uint64_t inode_hwm;               /* every inode number in use is below this */
    uint64_t features;
    uint32_t compression;             /* FS_COMPRESS_* */
    int64_t created_sec;              /* mkfs time */
} fs_super_t;

#define FS_SUPER_SIZE (8 + 1 + 1 + 4 + FS_UUID_SIZE + 1 + FS_LABEL_MAX + 8 + 8 + 1 + 8)

/* Encodes into out (FS_SUPER_SIZE bytes); returns the length, or 0 if a field is out of
 * range (fs_super_check). */
size_t fs_super_encode(const fs_super_t *sb, char *out);
/* 0, or -EUCLEAN (malformed) / -EPROTONOSUPPORT (newer format or unknown features). */
int fs_super_decode(const char *val, size_t len, fs_super_t *sb);
/* 0 if every field is in range, else -EINVAL. */
int fs_super_check(const fs_super_t *sb);

/* ---- inode ------------------------------------------------------------------------------ */
typedef struct {
    int64_t sec;
    uint32_t nsec;          /* < 1e9 */
} fs_time_t;

typedef struct {
    uint32_t mode;          /* type and permission bits (st_mode) */
    uint32_t uid, gid;
    uint32_t nlink;
    uint64_t size;
    fs_time_t atime, mtime, ctime, btime;
    uint64_t rdev;
    uint32_t flags;         /* FS_INODE_FL_* (chattr); other bits: unknown, fsck reports */
    uint64_t generation;
    uint64_t parent;        /* directories: the parent directory; 0 for other types */
    uint64_t blocks;        /* number of stored B rows (st_blocks); <= size */
    uint64_t unwritten;     /* empty B rows (fallocated, not written yet); <= blocks. Their
                             * space is held (fs/falloc_hold.h). Stored only when > 0 */
} fs_inode_t;

#define FS_INODE_SIZE (1 + 4 * 4 + 8 + 4 * 12 + 8 + 4 + 8 + 8 + 8)
/* An inode with unwritten blocks carries one more field: 8 bytes, the count. Rows without
 * it (every inode without a pending fallocate) are byte-identical to the older format. */
#define FS_INODE_SIZE_MAX (FS_INODE_SIZE + 8)

/* Inode flags, set by FS_IOC_SETFLAGS (chattr) and enforced by the daemon for everyone;
 * the values are Linux's FS_*_FL, so FS_IOC_GETFLAGS hands them out unchanged. */
#define FS_INODE_FL_IMMUTABLE 0x10u   /* FS_IMMUTABLE_FL, chattr +i */
#define FS_INODE_FL_APPEND 0x20u      /* FS_APPEND_FL, chattr +a */
#define FS_INODE_FL_KNOWN (FS_INODE_FL_IMMUTABLE | FS_INODE_FL_APPEND)

/* FS_INODE_SIZE bytes, FS_INODE_SIZE_MAX when ino->unwritten > 0. */
size_t fs_inode_encode(const fs_inode_t *ino, char *out);
/* 0, or -EUCLEAN if len, version, file type or a time's nanoseconds are wrong. Unknown
 * flag bits decode (fsck reports and clears them; the daemon ignores them). */
int fs_inode_decode(const char *val, size_t len, fs_inode_t *ino);

/* ---- dentry ------------------------------------------------------------------------------ */
#define FS_DENTRY_SIZE (1 + 8 + 1)
/* `type` is the file type as in st_mode >> 12 (DT_* values). */
size_t fs_dentry_encode(uint64_t ino, unsigned type, char *out);
int fs_dentry_decode(const char *val, size_t len, uint64_t *ino, unsigned *type);

/* ---- symlink, xattr, orphan -------------------------------------------------------------- */
/* Versioned byte strings: version byte + bytes. The encoder returns the length written into
 * out (room for 1 + n bytes), or 0 if n is out of range. */
size_t fs_symlink_encode(const char *target, size_t n, char *out);
/* Points *target into val. 1 .. FS_SYMLINK_MAX bytes, no NUL. */
int fs_symlink_decode(const char *val, size_t len, const char **target, size_t *n);
size_t fs_xattr_encode(const void *data, size_t n, char *out);
int fs_xattr_decode(const char *val, size_t len, const char **data, size_t *n);
#define FS_ORPHAN_SIZE 9
/* Orphan rows carry the time they were made (for fsck's report). */
size_t fs_orphan_encode(int64_t since_sec, char *out);
int fs_orphan_decode(const char *val, size_t len, int64_t *since_sec);
/* Snapshot slot rows: version byte + 16-bit slot, 1 .. FS_SNAPSLOT_MAX. */
#define FS_SNAPSLOT_SIZE 3
#define FS_SNAPSLOT_MAX 4095
size_t fs_snapslot_encode(unsigned slot, char *out);
int fs_snapslot_decode(const char *val, size_t len, unsigned *slot);

/* ---- data blocks ---------------------------------------------------------------------------
 * Raw bytes; the check only bounds the length by the block size. */
int fs_block_check(size_t len, uint32_t block_size);

/* ---- names ------------------------------------------------------------------------------- */
/* 0 if `name` can be a directory entry: 1..255 bytes, no '/', no NUL, not "." or "..".
 * -ENAMETOOLONG or -EINVAL otherwise. */
int fs_name_check(const char *name, size_t len);

#endif
