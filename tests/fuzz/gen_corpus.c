/*
 * gen_corpus.c - writes the fuzzers' seed corpus (tests/fuzz/corpus/<target>/) with the
 * engine's and the filesystem's own writers, so every seed is a valid input that reaches
 * deep into its decoder. Small on purpose (a few KiB per target; the whole corpus stays
 * far below 1 MiB).
 *
 *   gen_corpus OUTDIR        (make -f tests/fuzz/fuzz.mk corpus)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/dbformat.h"
#include "db/version_edit.h"
#include "schema.h"
#include "table/table_builder.h"
#include "util/buf.h"
#include "util/file.h"
#include "write/wal.h"
#include "write/write_batch.h"

static const char *g_out;

static void check(status_t st, const char *what)
{
    if (st) {
        fprintf(stderr, "gen_corpus: %s: %s\n", what, st_msg(st));
        exit(1);
    }
}

static void path_of(char *p, size_t n, const char *target, const char *name)
{
    snprintf(p, n, "%s/%s", g_out, target);
    mkdir(p, 0755);
    snprintf(p, n, "%s/%s/%s", g_out, target, name);
}

static void save(const char *target, const char *name, const void *data, size_t len)
{
    char p[512];
    path_of(p, sizeof(p), target, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: %s: %s\n", p, strerror(errno));
        exit(1);
    }
}

static void batch_small(write_batch_t *b, uint64_t seq)
{
    wb_init(b);
    wb_put(b, slice_make("apple", 5), slice_make("red", 3));
    wb_delete(b, slice_make("banana", 6));
    wb_delete_range(b, slice_make("c", 1), slice_make("d", 1));
    wb_put(b, slice_make("", 0), slice_make("empty key", 9));
    wb_set_sequence(b, seq);
}

static void gen_write_batch(void)
{
    write_batch_t b;
    batch_small(&b, 42);
    save("write_batch", "mixed", b.rep.data, b.rep.len);
    wb_destroy(&b);
    wb_init(&b);
    save("write_batch", "empty", b.rep.data, b.rep.len);
    wb_put(&b, slice_make("k", 1), slice_make("v", 1));
    save("write_batch", "one_put", b.rep.data, b.rep.len);
    wb_destroy(&b);
}

static log_writer_t *new_log(const char *target, const char *name)
{
    char p[512];
    path_of(p, sizeof(p), target, name);
    wfile_t *f;
    check(wfile_open(NULL, p, 0, &f), p);
    log_writer_t *w = log_writer_new(f);
    if (!w)
        exit(1);
    return w;
}

static void gen_wal(void)
{
    log_writer_t *w = new_log("wal", "three_batches");
    for (int i = 0; i < 3; i++) {
        write_batch_t b;
        batch_small(&b, 1 + 4 * (uint64_t)i);
        check(log_add_record(w, wb_rep(&b)), "wal");
        wb_destroy(&b);
    }
    check(log_writer_close(w), "wal");
    /* One record fragmented over two blocks (FIRST + LAST) and a small one after it. */
    w = new_log("wal", "fragmented");
    write_batch_t b;
    wb_init(&b);
    static char big[LOG_BLOCK_SIZE + 100];
    memset(big, 'x', sizeof(big));
    wb_put(&b, slice_make("big", 3), slice_make(big, sizeof(big)));
    wb_set_sequence(&b, 1);
    check(log_add_record(w, wb_rep(&b)), "wal");
    wb_destroy(&b);
    batch_small(&b, 2);
    check(log_add_record(w, wb_rep(&b)), "wal");
    wb_destroy(&b);
    check(log_writer_close(w), "wal");
}

static void gen_sst(const char *name, int compression, int bloom, int n)
{
    char p[512];
    path_of(p, sizeof(p), "sst", name);
    wfile_t *f;
    check(wfile_open(NULL, p, 0, &f), p);
    table_options_t o;
    table_options_default(&o);
    o.block_size = 256;
    o.restart_interval = 4;
    o.compression = compression;
    o.bloom_bits_per_key = bloom;
    table_builder_t *tb = table_builder_new(&o, f);
    for (int i = 0; i < n; i++) {
        char k[32], ik[40], v[32];
        int kl = snprintf(k, sizeof(k), "key%04d", i);
        ikey_encode(ik, slice_make(k, (size_t)kl), 100 + (uint64_t)i,
                    i % 5 == 4 ? TYPE_DELETION : TYPE_VALUE);
        int vl = snprintf(v, sizeof(v), "value%d", i * 7);
        check(table_builder_add(tb, slice_make(ik, (size_t)kl + 8),
                                slice_make(v, i % 5 == 4 ? 0 : (size_t)vl)), "sst add");
    }
    check(table_builder_add_range_del(tb, slice_make("key0003", 7), slice_make("key0006", 7), 99),
          "sst tombstone");
    check(table_builder_finish(tb), "sst finish");
    table_builder_destroy(tb);
    check(wfile_close(f), "sst close");
}

static void gen_manifest(void)
{
    version_edit_t e;
    version_edit_init(&e);
    version_edit_set_format_version(&e, 1);
    version_edit_set_log_number(&e, 3);
    version_edit_set_next_file_number(&e, 10);
    version_edit_set_last_sequence(&e, 77);
    buf_t snap, edit;
    buf_init(&snap);
    buf_init(&edit);
    version_edit_encode(&e, &snap);
    version_edit_t e2;
    version_edit_init(&e2);
    version_edit_set_next_file_number(&e2, 12);
    char lo[16], hi[16];
    ikey_encode(lo, slice_make("aaaa", 4), 5, TYPE_VALUE);
    ikey_encode(hi, slice_make("mmmm", 4), 9, TYPE_VALUE);
    version_edit_add_new_file(&e2, 0, 11, 1234, slice_make(lo, 12), slice_make(hi, 12), 5, 9, 3, 0);
    version_edit_delete_file(&e2, 1, 4);
    version_edit_set_compact_pointer(&e2, 1, slice_make(hi, 12));
    version_edit_encode(&e2, &edit);
    /* Raw edits feed the decoder half of the target; logs feed recovery. */
    save("manifest", "edit_snapshot", snap.data, snap.len);
    save("manifest", "edit_files", edit.data, edit.len);
    log_writer_t *w = new_log("manifest", "manifest_snapshot_only");
    check(log_add_record(w, buf_slice(&snap)), "manifest");
    check(log_writer_close(w), "manifest");
    w = new_log("manifest", "manifest_two_edits");
    check(log_add_record(w, buf_slice(&snap)), "manifest");
    check(log_add_record(w, buf_slice(&edit)), "manifest");
    check(log_writer_close(w), "manifest");
    /* 0xC0 + 40 bytes of CURRENT + MANIFEST. */
    char cur[41];
    memset(cur, '\n', sizeof(cur));
    cur[0] = (char)0xC0;
    memcpy(cur + 1, "MANIFEST-000001\n", 16);
    buf_t all;
    buf_init(&all);
    buf_append(&all, cur, sizeof(cur));
    char p[512];
    path_of(p, sizeof(p), "manifest", "manifest_snapshot_only");
    char *data;
    size_t len;
    check(file_read_all(NULL, p, &data, &len), p);
    buf_append(&all, data, len);
    free(data);
    save("manifest", "current_and_manifest", all.data, all.len);
    buf_free(&all);
    buf_free(&snap);
    buf_free(&edit);
    version_edit_free(&e);
    version_edit_free(&e2);
}

static void save_sel(const char *name, int sel, const char *v, size_t n)
{
    static char buf[FS_XATTR_SIZE_MAX + 16];
    buf[0] = (char)sel;
    memcpy(buf + 1, v, n);
    save("fs_schema", name, buf, n + 1);
}

static void gen_fs_schema(void)
{
    char v[4200];
    fs_super_t sb;
    memset(&sb, 0, sizeof(sb));
    sb.format_version = FS_FORMAT_VERSION;
    sb.block_size = 4096;
    memcpy(sb.uuid, "0123456789abcdef", 16);
    strcpy(sb.label, "fuzz");
    sb.inode_hwm = 1000;
    sb.created_sec = 1700000000;
    size_t n = fs_super_encode(&sb, v);
    if (n)
        save_sel("super", 0, v, n);
    fs_inode_t in;
    memset(&in, 0, sizeof(in));
    in.mode = 0100644;
    in.nlink = 1;
    in.size = 12345;
    in.mtime.sec = 1700000000;
    in.mtime.nsec = 999;
    in.blocks = 4;
    save_sel("inode_file", 1, v, fs_inode_encode(&in, v));
    in.mode = 040755;
    in.nlink = 2;
    in.parent = 1;
    in.size = 0;
    in.blocks = 0;
    save_sel("inode_dir", 1, v, fs_inode_encode(&in, v));
    save_sel("dentry", 2, v, fs_dentry_encode(77, 8, v));
    save_sel("symlink", 3, v, fs_symlink_encode("../target/file", 14, v));
    save_sel("xattr", 4, v, fs_xattr_encode("attribute value", 15, v));
    save_sel("orphan", 5, v, fs_orphan_encode(1700000000, v));
    save_sel("key_dentry", 6, v, fs_key_dentry(v, 1, "hello.txt", 9));
    save_sel("key_block", 6, v, fs_key_block(v, 42, 7));
    save_sel("key_xattr", 6, v, fs_key_xattr(v, 42, "user.x", 6));
    save_sel("key_inode", 6, v, fs_key_inode(v, 42));
    save_sel("key_super", 6, v, fs_key_super(v));
    save_sel("name", 8, "file.txt", 8);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus OUTDIR\n");
        return 2;
    }
    g_out = argv[1];
    mkdir(g_out, 0755);
    gen_write_batch();
    gen_wal();
    gen_sst("plain", 0, 10, 40);
    gen_sst("zlib", 2, 10, 40);
    gen_sst("nobloom_tiny", 0, 0, 3);
    gen_manifest();
    gen_fs_schema();
    printf("gen_corpus: seeds written to %s\n", g_out);
    return 0;
}
