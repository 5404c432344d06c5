/*
 * test_schema_acl.c - POSIX ACL values (fs/schema_acl.h): the checker accepts what setfacl
 * writes and refuses every malformation (length, version, unknown tag, perm bits, order,
 * a missing or repeated owner/group/other, named entries without a mask); the mode the
 * access ACL stands for; chmod rewriting owner/mask/other; create-time inheritance cutting
 * ACL and mode by each other, with and without a mask.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "schema_acl.h"

enum { UO = 1, U = 2, GO = 4, G = 8, M = 0x10, O = 0x20 };

/* Builds a value from (tag, perm, id) triples; returns its length. */
static size_t mk(unsigned char *out, const unsigned (*e)[3], size_t n)
{
    memset(out, 0, FS_ACL_HDR + n * FS_ACL_ENTRY);
    out[0] = 2;
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = out + FS_ACL_HDR + i * FS_ACL_ENTRY;
        p[0] = (unsigned char)e[i][0];
        p[2] = (unsigned char)e[i][1];
        p[4] = (unsigned char)e[i][2];
        p[5] = (unsigned char)(e[i][2] >> 8);
    }
    return FS_ACL_HDR + n * FS_ACL_ENTRY;
}

static unsigned perm_of(const unsigned char *v, size_t i) { return v[FS_ACL_HDR + i * 8 + 2]; }

static void test_kind(void **s)
{
    (void)s;
    assert_int_equal(fs_acl_kind("system.posix_acl_access"), FS_ACL_ACCESS);
    assert_int_equal(fs_acl_kind("system.posix_acl_default"), FS_ACL_DEFAULT);
    assert_int_equal(fs_acl_kind("system.posix_acl_accessX"), FS_ACL_NONE);
    assert_int_equal(fs_acl_kind("user.x"), FS_ACL_NONE);
}

static void test_check_accepts(void **s)
{
    (void)s;
    unsigned char v[128];
    size_t count;
    const unsigned minimal[][3] = {{UO, 6, 0}, {GO, 4, 0}, {O, 4, 0}};
    assert_int_equal(fs_acl_check(v, mk(v, minimal, 3), &count), 0);
    assert_int_equal(count, 3);
    const unsigned full[][3] = {{UO, 7, 0}, {U, 4, 65534}, {U, 6, 1000}, {GO, 5, 0},
                                {G, 1, 100}, {M, 7, 0}, {O, 0, 0}};
    assert_int_equal(fs_acl_check(v, mk(v, full, 7), &count), 0);
    assert_int_equal(count, 7);
    assert_int_equal(fs_acl_check(v, mk(v, NULL, 0), &count), 0);  /* bare header */
    assert_int_equal(count, 0);
}

static void test_check_rejects(void **s)
{
    (void)s;
    unsigned char v[128];
    size_t count, n;
    const unsigned ok[][3] = {{UO, 6, 0}, {GO, 4, 0}, {O, 4, 0}};
    n = mk(v, ok, 3);
    for (size_t len = 0; len < n; len++)  /* every truncation */
        if (len < FS_ACL_HDR || (len - FS_ACL_HDR) % FS_ACL_ENTRY)
            assert_int_equal(fs_acl_check(v, len, &count), -EINVAL);
    v[0] = 3;
    assert_int_equal(fs_acl_check(v, n, &count), -EINVAL);  /* version */
    const unsigned bad_perm[][3] = {{UO, 8, 0}, {GO, 4, 0}, {O, 4, 0}};
    assert_int_equal(fs_acl_check(v, mk(v, bad_perm, 3), &count), -EINVAL);
    const unsigned bad_tag[][3] = {{UO, 6, 0}, {3, 4, 0}, {GO, 4, 0}, {O, 4, 0}};
    assert_int_equal(fs_acl_check(v, mk(v, bad_tag, 4), &count), -EINVAL);
    const unsigned order[][3] = {{GO, 4, 0}, {UO, 6, 0}, {O, 4, 0}};
    assert_int_equal(fs_acl_check(v, mk(v, order, 3), &count), -EINVAL);
    const unsigned no_other[][3] = {{UO, 6, 0}, {GO, 4, 0}};
    assert_int_equal(fs_acl_check(v, mk(v, no_other, 2), &count), -EINVAL);
    const unsigned two_owners[][3] = {{UO, 6, 0}, {UO, 6, 0}, {GO, 4, 0}, {O, 4, 0}};
    assert_int_equal(fs_acl_check(v, mk(v, two_owners, 4), &count), -EINVAL);
    const unsigned no_mask[][3] = {{UO, 6, 0}, {U, 4, 7}, {GO, 4, 0}, {O, 4, 0}};
    assert_int_equal(fs_acl_check(v, mk(v, no_mask, 4), &count), -EINVAL);
    const unsigned two_masks[][3] = {{UO, 6, 0}, {U, 4, 7}, {GO, 4, 0}, {M, 4, 0},
                                     {M, 4, 0}, {O, 4, 0}};
    assert_int_equal(fs_acl_check(v, mk(v, two_masks, 6), &count), -EINVAL);
}

static void test_mode_and_chmod(void **s)
{
    (void)s;
    unsigned char v[128];
    const unsigned masked[][3] = {{UO, 6, 0}, {U, 7, 9}, {GO, 4, 0}, {M, 5, 0}, {O, 1, 0}};
    size_t n = mk(v, masked, 5);
    assert_int_equal(fs_acl_perm_bits(v, n), 0651);  /* group bits are the mask's */
    assert_false(fs_acl_is_minimal(v, n));
    fs_acl_apply_mode(v, n, 0100740);
    assert_int_equal(perm_of(v, 0), 7);
    assert_int_equal(perm_of(v, 1), 7);  /* named entry untouched */
    assert_int_equal(perm_of(v, 2), 4);  /* group untouched: the mask moves */
    assert_int_equal(perm_of(v, 3), 4);
    assert_int_equal(perm_of(v, 4), 0);
    const unsigned minimal[][3] = {{UO, 6, 0}, {GO, 4, 0}, {O, 4, 0}};
    n = mk(v, minimal, 3);
    assert_true(fs_acl_is_minimal(v, n));
    fs_acl_apply_mode(v, n, 0751);
    assert_int_equal(fs_acl_perm_bits(v, n), 0751);
}

static void test_create_mask(void **s)
{
    (void)s;
    unsigned char v[128];
    const unsigned def[][3] = {{UO, 7, 0}, {U, 7, 9}, {GO, 5, 0}, {M, 7, 0}, {O, 5, 0}};
    size_t n = mk(v, def, 5);
    uint32_t mode = 0100666;  /* touch(1) asks for 0666 */
    assert_int_equal(fs_acl_create_mask(v, n, &mode), 1);
    assert_int_equal(mode, 0100664);
    assert_int_equal(perm_of(v, 0), 6);
    assert_int_equal(perm_of(v, 1), 7);  /* named: limited through the mask */
    assert_int_equal(perm_of(v, 2), 5);  /* group entry kept when a mask exists */
    assert_int_equal(perm_of(v, 3), 6);
    assert_int_equal(perm_of(v, 4), 4);
    const unsigned minimal[][3] = {{UO, 7, 0}, {GO, 5, 0}, {O, 0, 0}};
    n = mk(v, minimal, 3);
    mode = 040777 | 02000;  /* a set-group-ID directory keeps its high bits */
    assert_int_equal(fs_acl_create_mask(v, n, &mode), 0);
    assert_int_equal(mode, 040750 | 02000);
    assert_int_equal(perm_of(v, 1), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind),
        cmocka_unit_test(test_check_accepts),
        cmocka_unit_test(test_check_rejects),
        cmocka_unit_test(test_mode_and_chmod),
        cmocka_unit_test(test_create_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
