/*
 * damage.c - which files a rebuild of the store changed.
 *
 * lsm_repair_db drops the table blocks that fail their checksum; their keys cannot be read,
 * but the table's index bounds each block's user keys. fsck_damage_collect records those
 * bounds (lsm_list_damaged_blocks) just before the rebuild; fsck_damage_report, after
 * passes 2-6 have repaired the fallout, turns each bound into the rows it may have held
 * (fs/schema.h's key order: B, D, I, L, O, S, X; within a type by inode, then block index
 * or name) and names every live inode whose rows lie in it: its path and, for data, the
 * byte range. A key in a dropped block is lost, or reads back as an older version kept in
 * another table, so the report says "lost or older".
 *
 * Invariants: bounds are inclusive and may be shortened separators (fs_key_parse_bound
 * pads them), so a report may name more than was lost, never less; only the store is read.
 */
#include "fsck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DAMAGE_MAX_NAMED 200   /* inodes named per block before "... and N more" */
#define PATH_DEPTH_MAX 4096

static int on_block(void *arg, const lsm_damaged_block_t *b)
{
    fsck_t *f = arg;
    fsck_damage_t *v = realloc(f->damage, sizeof(*v) * (f->n_damage + 1));
    if (!v)
        return 1;
    f->damage = v;
    fsck_damage_t *d = &v[f->n_damage];
    memset(d, 0, sizeof(*d));
    const char *base = strrchr(b->table, '/');
    snprintf(d->table, sizeof(d->table), "%s", base ? base + 1 : b->table);
    d->offset = b->offset;
    d->size = b->size;
    if (b->lo && (d->lo = malloc(b->lo_len + 1)) != NULL) {
        memcpy(d->lo, b->lo, b->lo_len);
        d->lo_len = b->lo_len;
    }
    if (b->hi && (d->hi = malloc(b->hi_len + 1)) != NULL) {
        memcpy(d->hi, b->hi, b->hi_len);
        d->hi_len = b->hi_len;
    }
    if ((b->lo && !d->lo) || (b->hi && !d->hi)) {
        free(d->lo);
        free(d->hi);
        return 1;
    }
    f->n_damage++;
    return 0;
}

void fsck_damage_collect(fsck_t *f)
{
    if (strncmp(f->store, "rados://", 8) == 0)
        return;   /* no folder to walk; the rebuild still reports its losses */
    lsm_options_t *o = lsm_options_create();
    if (!o)
        fsck_fatal(f, FSCK_EXIT_ERROR, "out of memory");
    char *err = NULL;
    lsm_list_damaged_blocks(o, f->store, on_block, f, &err);
    lsm_options_destroy(o);
    if (err) {
        printf("%s: the damaged blocks could not all be listed (%s): the files they held "
               "will not be named\n", f->name, err);
        lsm_free(err);
    }
}

/* ---- inode -> path ---- */

/* Parent and name of each non-directory to name, found in one scan of the D rows. */
typedef struct {
    uint64_t ino, parent;
    char name[FS_NAME_MAX + 1];
} named_t;

static int cmp_named(const void *a, const void *b)
{
    uint64_t x = ((const named_t *)a)->ino, y = ((const named_t *)b)->ino;
    return x < y ? -1 : x > y;
}

static void find_names(fsck_t *f, named_t *v, size_t n)
{
    if (n == 0)
        return;
    qsort(v, n, sizeof(*v), cmp_named);
    fsck_scan_t s;
    fsck_scan_type(f, &s, "directory entries", FS_ROW_DENTRY);
    for (; fsck_scan_valid(f, &s); fsck_scan_next(&s)) {
        size_t klen, vlen;
        const char *k = fsck_scan_key(&s, &klen);
        const char *val = fsck_scan_value(&s, &vlen);
        fs_key_t pk;
        uint64_t ino;
        unsigned type;
        if (fs_key_parse(k, klen, &pk) != 0 || fs_dentry_decode(val, vlen, &ino, &type) != 0)
            continue;
        named_t key = {.ino = ino};
        named_t *hit = bsearch(&key, v, n, sizeof(*v), cmp_named);
        if (hit && !hit->parent) {
            hit->parent = pk.ino;
            memcpy(hit->name, pk.name, pk.namelen);
            hit->name[pk.namelen] = '\0';
        }
    }
    fsck_scan_close(&s);
}

/* Writes the path of directory `dir` followed by "/name" (name NULL: the directory's own
 * path) into out; "?" parts where the tree has no answer. */
static void make_path(fsck_t *f, uint64_t dir, const char *name, char *out, size_t n)
{
    char buf[8192];
    size_t pos = sizeof(buf) - 1;
    buf[pos] = '\0';
    if (name) {
        size_t l = strlen(name);
        pos -= l;
        memcpy(buf + pos, name, l);
        buf[--pos] = '/';
    }
    for (int depth = 0; dir != FS_ROOT_INO && depth < PATH_DEPTH_MAX; depth++) {
        const fsck_inode_t *r = itab_live(&f->itab, dir);
        char nm[FS_NAME_MAX + 1];
        size_t l = r && r->dparent ? fsck_find_entry(f, r->dparent, dir, nm) : 0;
        if (!l || pos < l + 2) {
            snprintf(nm, sizeof(nm), "?(inode %llu)", (unsigned long long)dir);
            l = strlen(nm);
            if (pos < l + 2)
                break;
            r = NULL;
        }
        pos -= l;
        memcpy(buf + pos, nm, l);
        buf[--pos] = '/';
        if (!r)
            break;
        dir = r->dparent;
    }
    if (pos == sizeof(buf) - 1)
        buf[--pos] = '/';
    char esc[600];
    snprintf(out, n, "%s", fsck_escape(buf + pos, strlen(buf + pos), esc, sizeof(esc)));
}

/* ---- ranges -> rows ---- */

static const int row_types[] = {FS_ROW_BLOCK, FS_ROW_DENTRY, FS_ROW_INODE, FS_ROW_SYMLINK,
                                FS_ROW_XATTR};

static const char *row_what(int t)
{
    switch (t) {
    case FS_ROW_BLOCK: return "data";
    case FS_ROW_DENTRY: return "directory entries";
    case FS_ROW_INODE: return "attributes (inode row)";
    case FS_ROW_SYMLINK: return "symlink target";
    default: return "extended attributes";
    }
}

typedef struct {
    uint64_t ino;
    int type;
    uint64_t first, last;   /* B rows: block indexes */
} hit_t;

/* The live inodes whose rows of type t lie in [lo, hi]; appended to *hits. */
static size_t collect_hits(fsck_t *f, int t, const fs_key_t *lo, const fs_key_t *hi,
                           hit_t **hits, size_t *nh, size_t *cap)
{
    if (t < lo->type || t > hi->type)
        return 0;
    uint64_t from = t == lo->type ? lo->ino : 0;
    uint64_t to = t == hi->type ? hi->ino : UINT64_MAX;
    size_t added = 0;
    for (size_t i = 0; i < f->itab.n; i++) {
        uint64_t ino = f->itab.ino[i];
        const fsck_inode_t *r = &f->itab.in[i];
        if (ino < from || ino > to || (r->flags & IT_REMOVED))
            continue;
        uint64_t first = 0, last = UINT64_MAX;
        if (t == FS_ROW_BLOCK) {
            if (!S_ISREG(r->mode) || r->size == 0 || !f->sb.block_size)
                continue;
            if (ino == lo->ino && t == lo->type)
                first = lo->index;
            if (ino == hi->ino && t == hi->type)
                last = hi->index;
            uint64_t nblocks = (r->size + f->sb.block_size - 1) / f->sb.block_size;
            if (first >= nblocks)
                continue;
            if (last >= nblocks)
                last = nblocks - 1;
        } else if (t == FS_ROW_DENTRY && !S_ISDIR(r->mode)) {
            continue;
        } else if (t == FS_ROW_SYMLINK && !S_ISLNK(r->mode)) {
            continue;
        }
        if (*nh == *cap) {
            size_t c = *cap ? *cap * 2 : 16;
            hit_t *v = realloc(*hits, sizeof(*v) * c);
            if (!v)
                fsck_fatal(f, FSCK_EXIT_ERROR, "out of memory");
            *hits = v;
            *cap = c;
        }
        (*hits)[(*nh)++] = (hit_t){ino, t, first, last};
        added++;
    }
    return added;
}

static void report_block(fsck_t *f, const fsck_damage_t *d)
{
    fs_key_t lo, hi;
    fs_key_parse_bound(d->lo ? d->lo : "", d->lo ? d->lo_len : 0, &lo);
    if (d->hi) {
        fs_key_parse_bound(d->hi, d->hi_len, &hi);
    } else {
        memset(&hi, 0, sizeof(hi));
        hi.type = 0xff;
        hi.ino = hi.index = UINT64_MAX;
    }
    if (d->size)
        printf("  block at offset %llu (%llu bytes) of %s:\n", (unsigned long long)d->offset,
               (unsigned long long)d->size, d->table);
    else
        printf("  %s from offset %llu on (unreadable index or table):\n", d->table,
               (unsigned long long)d->offset);
    if ((lo.type <= FS_ROW_SUPER && hi.type >= FS_ROW_SUPER))
        printf("    the superblock (checked again in pass 2)\n");
    hit_t *hits = NULL;
    size_t nh = 0, cap = 0;
    for (size_t i = 0; i < sizeof(row_types) / sizeof(row_types[0]); i++)
        collect_hits(f, row_types[i], &lo, &hi, &hits, &nh, &cap);
    named_t *names = calloc(nh ? nh : 1, sizeof(*names));
    if (!names)
        fsck_fatal(f, FSCK_EXIT_ERROR, "out of memory");
    size_t nn = 0;
    for (size_t i = 0; i < nh && i < DAMAGE_MAX_NAMED; i++) {
        const fsck_inode_t *r = itab_live(&f->itab, hits[i].ino);
        int dup = 0;
        for (size_t j = 0; j < nn && !dup; j++)
            dup = names[j].ino == hits[i].ino;
        if (r && !S_ISDIR(r->mode) && !dup)
            names[nn++].ino = hits[i].ino;
    }
    find_names(f, names, nn);
    for (size_t i = 0; i < nh && i < DAMAGE_MAX_NAMED; i++) {
        const hit_t *h = &hits[i];
        const fsck_inode_t *r = itab_live(&f->itab, h->ino);
        char path[700];
        if (r && S_ISDIR(r->mode)) {
            make_path(f, h->ino, NULL, path, sizeof(path));
        } else {
            named_t key = {.ino = h->ino};
            named_t *nm = bsearch(&key, names, nn, sizeof(*names), cmp_named);
            if (nm && nm->parent)
                make_path(f, nm->parent, nm->name, path, sizeof(path));
            else
                snprintf(path, sizeof(path), "(no name; inode %llu)",
                         (unsigned long long)h->ino);
        }
        if (h->type == FS_ROW_BLOCK) {
            uint64_t bs = f->sb.block_size;
            uint64_t end = (h->last + 1) * bs;
            if (r && end > r->size)
                end = r->size;
            printf("    %s (inode %llu): data, offset %llu, length %llu: lost or older\n",
                   path, (unsigned long long)h->ino, (unsigned long long)(h->first * bs),
                   (unsigned long long)(end - h->first * bs));
        } else {
            printf("    %s (inode %llu): %s: lost or older\n", path,
                   (unsigned long long)h->ino, row_what(h->type));
        }
    }
    if (nh > DAMAGE_MAX_NAMED)
        printf("    ... and %zu more\n", nh - DAMAGE_MAX_NAMED);
    if (nh == 0)
        printf("    no live file's rows lay in it (what it held was removed above, or "
               "belonged to deleted files)\n");
    free(names);
    free(hits);
}

void fsck_damage_report(fsck_t *f)
{
    if (f->n_damage == 0)
        return;
    fsck_progress_done(f);
    printf("\n%s: the rebuild dropped %zu damaged table block(s); the rows they held were "
           "lost or read back older. Files changed:\n", f->name, f->n_damage);
    for (size_t i = 0; i < f->n_damage; i++) {
        report_block(f, &f->damage[i]);
        free(f->damage[i].lo);
        free(f->damage[i].hi);
    }
    free(f->damage);
    f->damage = NULL;
    f->n_damage = 0;
}
