/*
 * schema_acl.c - POSIX ACL values (see schema_acl.h): validation and the mode <-> ACL
 * arithmetic. Pure functions on bytes; every caller checks a value with fs_acl_check
 * before handing it to the others (they assume a valid ACL and never read past len).
 */
#include "schema_acl.h"

#include <errno.h>
#include <string.h>

enum {
    TAG_USER_OBJ = 0x01, TAG_USER = 0x02, TAG_GROUP_OBJ = 0x04, TAG_GROUP = 0x08,
    TAG_MASK = 0x10, TAG_OTHER = 0x20,
};

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned get16(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static size_t entries(size_t len) { return (len - FS_ACL_HDR) / FS_ACL_ENTRY; }
static unsigned char *entry(const void *v, size_t i)
{
    return (unsigned char *)v + FS_ACL_HDR + i * FS_ACL_ENTRY;
}

int fs_acl_kind(const char *name)
{
    if (strcmp(name, FS_ACL_NAME_ACCESS) == 0)
        return FS_ACL_ACCESS;
    if (strcmp(name, FS_ACL_NAME_DEFAULT) == 0)
        return FS_ACL_DEFAULT;
    return FS_ACL_NONE;
}

int fs_acl_check(const void *v, size_t len, size_t *count)
{
    if (len < FS_ACL_HDR || (len - FS_ACL_HDR) % FS_ACL_ENTRY != 0 ||
        get32(v) != FS_ACL_VERSION)
        return -EINVAL;
    size_t n = entries(len);
    *count = n;
    if (n == 0)
        return 0;
    /* Tags must come in non-decreasing order; the singletons exactly once. */
    unsigned last = 0, named = 0, seen = 0;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *e = entry(v, i);
        unsigned tag = get16(e), perm = get16(e + 2);
        if (perm & ~7u)
            return -EINVAL;
        switch (tag) {
        case TAG_USER: case TAG_GROUP:
            named = 1;
            break;
        case TAG_USER_OBJ: case TAG_GROUP_OBJ: case TAG_MASK: case TAG_OTHER:
            if (seen & tag)
                return -EINVAL;
            break;
        default:
            return -EINVAL;
        }
        if (tag < last)
            return -EINVAL;
        last = tag;
        seen |= tag;
    }
    unsigned need = TAG_USER_OBJ | TAG_GROUP_OBJ | TAG_OTHER | (named ? TAG_MASK : 0);
    return (seen & need) == need ? 0 : -EINVAL;
}

/* The entry with this singleton tag (USER_OBJ, GROUP_OBJ, MASK, OTHER), or NULL. */
static unsigned char *find(const void *v, size_t len, unsigned tag)
{
    for (size_t i = 0; i < entries(len); i++)
        if (get16(entry(v, i)) == tag)
            return entry(v, i);
    return NULL;
}

/* The entry that stands for the mode's group bits: the mask if there is one. */
static unsigned char *group_class(const void *v, size_t len)
{
    unsigned char *m = find(v, len, TAG_MASK);
    return m ? m : find(v, len, TAG_GROUP_OBJ);
}

uint32_t fs_acl_perm_bits(const void *v, size_t len)
{
    return (uint32_t)get16(find(v, len, TAG_USER_OBJ) + 2) << 6 |
           (uint32_t)get16(group_class(v, len) + 2) << 3 |
           (uint32_t)get16(find(v, len, TAG_OTHER) + 2);
}

int fs_acl_is_minimal(const void *v, size_t len)
{
    (void)v;  /* a valid ACL of three entries is owner, group, other */
    return entries(len) == 3;
}

void fs_acl_apply_mode(void *v, size_t len, uint32_t mode)
{
    put16(find(v, len, TAG_USER_OBJ) + 2, (mode >> 6) & 7);
    put16(group_class(v, len) + 2, (mode >> 3) & 7);
    put16(find(v, len, TAG_OTHER) + 2, mode & 7);
}

int fs_acl_create_mask(void *v, size_t len, uint32_t *mode)
{
    /* The owner, group-class and other entries and the mode's three classes limit each
     * other; named users/groups are limited through the mask, which the kernel applies. */
    unsigned char *cls[3] = {find(v, len, TAG_USER_OBJ), group_class(v, len),
                             find(v, len, TAG_OTHER)};
    uint32_t bits = 0;
    for (int c = 0; c < 3; c++) {
        unsigned shift = (unsigned)(2 - c) * 3;
        unsigned p = get16(cls[c] + 2) & ((*mode >> shift) & 7);
        put16(cls[c] + 2, p);
        bits |= (uint32_t)p << shift;
    }
    *mode = (*mode & ~0777u) | bits;
    return !fs_acl_is_minimal(v, len);
}
