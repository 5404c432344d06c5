/*
 * test_fs_store.c - the daemon's row layer without FUSE, against a real lsm_t in a temp
 * directory: store.c (inode and dentry rows, commits, read-only refusal, inode-number
 * allocation that persists the high-water mark first), data.c (writes with holes, reads,
 * the stored-block count, truncate, punch, SEEK_DATA/SEEK_HOLE) and inode_table.c's
 * lookup/open counts (when an orphan becomes reclaimable). The daemon files are compiled
 * into this test; the few libfuse calls they reference are stubs below.
 */
#define _GNU_SOURCE /* SEEK_DATA, SEEK_HOLE, as in the daemon */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../fs/data.c"
#include "../../fs/inode_table.c"
#include "../../fs/store.c"
#include "testutil.h"

/* ---- libfuse stubs: no session exists here ---- */
void fuse_log(enum fuse_log_level level, const char *fmt, ...) { (void)level, (void)fmt; }
void *fuse_req_userdata(fuse_req_t req) { (void)req; return NULL; }
const struct fuse_ctx *fuse_req_ctx(fuse_req_t req) { (void)req; return NULL; }
int fuse_lowlevel_notify_inval_inode(struct fuse_session *se, fuse_ino_t ino, off_t off,
                                     off_t len)
{
    (void)se, (void)ino, (void)off, (void)len;
    return 0;
}

#define BS 4096u

typedef struct {
    char dir[64];
    fs_opts_t opts;
    fs_t fs;
} fx_t;

static int setup(void **state)
{
    fx_t *x = calloc(1, sizeof(*x));
    if (!x || tu_make_tmpdir(x->dir, sizeof(x->dir), "test_fs_store"))
        return -1;
    lsm_options_t *o = lsm_options_create();
    lsm_options_set_create_if_missing(o, 1);
    char *err = NULL;
    x->fs.db = lsm_open(o, x->dir, &err);
    lsm_options_destroy(o);
    if (!x->fs.db) {
        lsm_free(err);
        return -1;
    }
    x->fs.ropt = lsm_readoptions_create();
    x->fs.wopt = lsm_writeoptions_create();
    x->fs.opts = &x->opts;
    x->fs.sb.format_version = FS_FORMAT_VERSION;
    x->fs.sb.block_size = BS;
    x->fs.sb.inode_hwm = 3;
    x->fs.bsize = BS;
    x->fs.next_ino = 3;
    x->fs.itab = fs_itab_create();
    pthread_mutex_init(&x->fs.alloc_mu, NULL);
    *state = x;
    return x->fs.itab ? 0 : -1;
}

static int teardown(void **state)
{
    fx_t *x = *state;
    lsm_close(x->fs.db);
    lsm_readoptions_destroy(x->fs.ropt);
    lsm_writeoptions_destroy(x->fs.wopt);
    fs_itab_destroy(x->fs.itab);
    pthread_mutex_destroy(&x->fs.alloc_mu);
    int r = tu_rm_rf(x->dir);
    free(x);
    return r;
}

static fs_inode_t file_inode(uint64_t size)
{
    fs_inode_t in;
    memset(&in, 0, sizeof(in));
    in.mode = S_IFREG | 0644;
    in.nlink = 1;
    in.size = size;
    in.generation = 1;
    in.mtime = in.ctime = in.atime = in.btime = (fs_time_t){1700000000, 5};
    return in;
}

/* ---- store.c ---- */

static void test_inode_and_dentry_rows(void **state)
{
    fs_t *fs = &((fx_t *)*state)->fs;
    fs_inode_t in = file_inode(123), got;
    assert_int_equal(fs_inode_load(fs, 7, &got), -ENOENT);
    lsm_writebatch_t *b = lsm_writebatch_create();
    fs_batch_inode(b, 7, &in);
    fs_batch_dentry(b, FS_ROOT_INO, "seven", 7, S_IFREG >> 12);
    assert_int_equal(fs_commit(fs, b), 0);
    assert_int_equal(fs_inode_load(fs, 7, &got), 0);
    assert_memory_equal(&got, &in, sizeof(in));
    uint64_t ino = 0;
    unsigned type = 0;
    assert_int_equal(fs_dentry_load(fs, FS_ROOT_INO, "seven", &ino, &type), 0);
    assert_int_equal(ino, 7);
    assert_int_equal(type, S_IFREG >> 12);
    assert_int_equal(fs_dir_nonempty(fs, FS_ROOT_INO), 1);
    assert_int_equal(fs_dir_nonempty(fs, 7), 0);
    assert_int_equal(fs_dentry_load(fs, FS_ROOT_INO, "eight", &ino, &type), -ENOENT);
    char longname[FS_NAME_MAX + 2];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(fs_dentry_load(fs, FS_ROOT_INO, longname, &ino, &type), -ENAMETOOLONG);

    b = lsm_writebatch_create();
    fs_batch_dentry_del(b, FS_ROOT_INO, "seven");
    assert_int_equal(fs_commit(fs, b), 0);
    assert_int_equal(fs_dentry_load(fs, FS_ROOT_INO, "seven", &ino, &type), -ENOENT);
    assert_int_equal(fs_dir_nonempty(fs, FS_ROOT_INO), 0);
}

static void test_malformed_inode_row_is_euclean(void **state)
{
    fs_t *fs = &((fx_t *)*state)->fs;
    char key[FS_KEY_MAX], *err = NULL;
    size_t klen = fs_key_inode(key, 9);
    lsm_put(fs->db, fs->wopt, key, klen, "short", 5, &err);
    assert_null(err);
    fs_inode_t got;
    assert_int_equal(fs_inode_load(fs, 9, &got), -EUCLEAN);
}

static void test_read_only_commit_is_refused(void **state)
{
    fx_t *x = *state;
    fs_t *fs = &x->fs;
    fs_inode_t in = file_inode(1), got;
    x->opts.ro = 1;
    lsm_writebatch_t *b = lsm_writebatch_create();
    fs_batch_inode(b, 11, &in);
    assert_int_equal(fs_commit(fs, b), -EROFS); /* and the batch is consumed */
    x->opts.ro = 0;
    atomic_store(&fs->remount_ro, 1);
    b = lsm_writebatch_create();
    fs_batch_inode(b, 11, &in);
    assert_int_equal(fs_commit(fs, b), -EROFS);
    atomic_store(&fs->remount_ro, 0);
    assert_int_equal(fs_inode_load(fs, 11, &got), -ENOENT);
}

static void test_alloc_ino_persists_mark_first(void **state)
{
    fs_t *fs = &((fx_t *)*state)->fs;
    uint64_t a = 0, b = 0;
    assert_int_equal(fs_alloc_ino(fs, &a), 0);
    assert_int_equal(fs_alloc_ino(fs, &b), 0);
    assert_int_equal(a, 3);
    assert_int_equal(b, 4);
    /* the stored superblock's mark is above both numbers */
    char key[FS_KEY_MAX], *err = NULL;
    size_t vlen = 0, klen = fs_key_super(key);
    char *v = lsm_get(fs->db, fs->ropt, key, klen, &vlen, &err);
    assert_null(err);
    assert_non_null(v);
    fs_super_t sb;
    assert_int_equal(fs_super_decode(v, vlen, &sb), 0);
    lsm_free(v);
    assert_true(sb.inode_hwm > b);
    assert_int_equal(sb.inode_hwm, fs->sb.inode_hwm);
    for (int i = 0; i < FS_INO_CHUNK; i++)
        assert_int_equal(fs_alloc_ino(fs, &a), 0);
    assert_true(fs->sb.inode_hwm > a); /* raised again past the first chunk */
}

/* ---- data.c ---- */

static void write_at(fs_t *fs, uint64_t ino, fs_inode_t *in, uint64_t off, const char *buf,
                     size_t len)
{
    lsm_writebatch_t *b = lsm_writebatch_create();
    fs_ilock(fs->itab, ino);
    assert_int_equal(fs_data_write(fs, b, ino, in->size, &in->blocks, off, buf, len), 0);
    fs_iunlock(fs->itab, ino);
    if (off + len > in->size)
        in->size = off + len;
    fs_batch_inode(b, ino, in);
    assert_int_equal(fs_commit(fs, b), 0);
}

static void test_data_write_holes_read(void **state)
{
    fs_t *fs = &((fx_t *)*state)->fs;
    fs_inode_t in = file_inode(0);
    char a[100], c[BS + 10];
    memset(a, 'a', sizeof(a));
    memset(c, 'c', sizeof(c));
    write_at(fs, 20, &in, 10, a, sizeof(a));          /* block 0 */
    write_at(fs, 20, &in, 3 * BS - 5, c, sizeof(c));  /* blocks 2..4; block 1 a hole */
    assert_int_equal(in.size, 4 * BS + 5);
    assert_int_equal(in.blocks, 4);

    char *buf = malloc(5 * BS);
    size_t got = 0;
    assert_int_equal(fs_data_read(fs, 20, in.size, 0, 5 * BS, buf, &got), 0);
    assert_int_equal(got, in.size);
    for (size_t i = 0; i < got; i++) {
        char want = (i >= 10 && i < 110) ? 'a' : (i >= 3 * BS - 5) ? 'c' : 0;
        if (buf[i] != want)
            fail_msg("byte %zu is %d, want %d", i, buf[i], want);
    }
    assert_int_equal(fs_data_read(fs, 20, in.size, in.size + 1, 10, buf, &got), 0);
    assert_int_equal(got, 0);

    uint64_t pos = 0;
    assert_int_equal(fs_data_seek(fs, 20, in.size, 0, SEEK_HOLE, &pos), 0);
    assert_int_equal(pos, BS);
    assert_int_equal(fs_data_seek(fs, 20, in.size, BS, SEEK_DATA, &pos), 0);
    assert_int_equal(pos, 2 * BS);
    assert_int_equal(fs_data_seek(fs, 20, in.size, in.size, SEEK_DATA, &pos), -ENXIO);
    uint64_t absent = 0;
    assert_int_equal(fs_data_count_absent(fs, 20, 0, 6, &absent), 0);
    assert_int_equal(absent, 2); /* blocks 1 and 5 */
    free(buf);
}

static void test_data_truncate_and_punch(void **state)
{
    fs_t *fs = &((fx_t *)*state)->fs;
    fs_inode_t in = file_inode(0);
    char *d = malloc(4 * BS), *r = malloc(4 * BS);
    memset(d, 'x', 4 * BS);
    write_at(fs, 30, &in, 0, d, 4 * BS);
    assert_int_equal(in.blocks, 4);

    /* punch [BS/2, 2 * BS + 1): block 1 goes, blocks 0 and 2 keep their outer bytes */
    lsm_writebatch_t *b = lsm_writebatch_create();
    fs_ilock(fs->itab, 30);
    assert_int_equal(fs_data_punch(fs, b, 30, in.size, &in.blocks, BS / 2, BS + BS / 2 + 1), 0);
    fs_iunlock(fs->itab, 30);
    fs_batch_inode(b, 30, &in);
    assert_int_equal(fs_commit(fs, b), 0);
    assert_int_equal(in.blocks, 3);
    size_t got = 0;
    assert_int_equal(fs_data_read(fs, 30, in.size, 0, 4 * BS, r, &got), 0);
    assert_int_equal(got, 4 * BS);
    for (size_t i = 0; i < got; i++) {
        char want = (i >= BS / 2 && i < 2 * BS + 1) ? 0 : 'x';
        if (r[i] != want)
            fail_msg("after punch byte %zu is %d, want %d", i, r[i], want);
    }

    /* truncate to BS + 1, then grow back: nothing old shows past the cut */
    b = lsm_writebatch_create();
    fs_ilock(fs->itab, 30);
    assert_int_equal(fs_data_truncate(fs, b, 30, in.size, &in.blocks, BS + 1), 0);
    fs_iunlock(fs->itab, 30);
    in.size = BS + 1;
    fs_batch_inode(b, 30, &in);
    assert_int_equal(fs_commit(fs, b), 0);
    assert_int_equal(in.blocks, 1); /* block 0 only: block 1 was punched */
    b = lsm_writebatch_create();
    fs_ilock(fs->itab, 30);
    assert_int_equal(fs_data_truncate(fs, b, 30, in.size, &in.blocks, 4 * BS), 0);
    fs_iunlock(fs->itab, 30);
    in.size = 4 * BS;
    fs_batch_inode(b, 30, &in);
    assert_int_equal(fs_commit(fs, b), 0);
    assert_int_equal(fs_data_read(fs, 30, in.size, 0, 4 * BS, r, &got), 0);
    for (size_t i = BS / 2; i < got; i++)
        if (r[i] != 0)
            fail_msg("after truncate and growth byte %zu is %d", i, r[i]);
    free(d);
    free(r);
}

/* ---- inode_table.c ---- */

static void test_itab_counts_and_orphans(void **state)
{
    fs_itab_t *t = ((fx_t *)*state)->fs.itab;
    assert_int_equal(fs_itab_busy(t, 40), 0);
    assert_int_equal(fs_itab_orphan_if_busy(t, 40), 0); /* unknown: reclaim now */
    fs_itab_ref(t, 40, 2);
    fs_itab_open(t, 40);
    assert_int_equal(fs_itab_nlookup(t, 40), 2);
    assert_int_equal(fs_itab_nopen(t, 40), 1);
    assert_int_equal(fs_itab_size(t), 1);
    assert_int_equal(fs_itab_orphan_if_busy(t, 40), 1);
    assert_int_equal(fs_itab_forget(t, 40, 5), 0); /* more than known: 0, still open */
    assert_int_equal(fs_itab_nlookup(t, 40), 0);
    assert_int_equal(fs_itab_busy(t, 40), 1);
    assert_int_equal(fs_itab_release(t, 40), 1);   /* the last user of an orphan */
    assert_int_equal(fs_itab_busy(t, 40), 0);
    assert_int_equal(fs_itab_size(t), 0);           /* entry gone */
    assert_int_equal(fs_itab_release(t, 40), 0);   /* unknown inode: nothing */

    fs_itab_ref(t, 41, 1);                          /* not an orphan: never reclaimable */
    assert_int_equal(fs_itab_forget(t, 41, 1), 0);
    assert_int_equal(fs_itab_size(t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inode_and_dentry_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_inode_row_is_euclean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_commit_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_ino_persists_mark_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_write_holes_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_truncate_and_punch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_itab_counts_and_orphans, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
