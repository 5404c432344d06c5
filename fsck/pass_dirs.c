/*
 * pass_dirs.c - pass 4: directory entries and the shape of the tree.
 *
 * One scan over the D rows (directory by directory, in inode order). An entry must have a
 * well-formed key (fs_key_parse also rejects "", ".", "..", '/' and NUL in names) and
 * value, sit in an existing directory, and name an existing inode other than the root,
 * with the inode's file type; entries failing that are deleted (a wrong type is
 * corrected instead). Every entry is counted against its inode; for a directory the first
 * entry becomes its parent link, and further entries (hard links to a directory) are
 * deleted afterwards, keeping the one that agrees with the parent recorded in the inode.
 *
 * Connectivity: each directory now has at most one parent link, so following the links
 * from any directory either reaches the root or ends (no parent) or loops (a cycle). One
 * walk per directory with three marks (reached, on the current walk, left disconnected)
 * visits each directory a bounded number of times. A directory whose walk fails is
 * reconnected at the top of its chain (where the links end or the cycle closed): its old
 * entry, if any, is deleted and it gets the entry "#ino" in /lost+found, in one batch.
 * Then every non-directory named by no entry (and not an orphan, which pass 6 reclaims)
 * gets "#ino" in /lost+found. /lost+found is created when first needed, and at the end
 * of the pass if it is missing anyway.
 */
#include "fsck.h"
#include "schema_rows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    uint64_t parent, child;
    size_t nlen;
    char name[FS_NAME_MAX + 1];
} extra_entry_t;

typedef struct {
    extra_entry_t *extra;      /* second and later entries naming a directory */
    size_t n_extra, cap_extra;
    size_t *chain;             /* slots on the current parent walk */
    size_t n_chain, cap_chain;
    uint64_t lf_entry_ino;     /* what root's "lost+found" names (0: nothing) */
    int lf_declined;           /* creating /lost+found was refused, or its name is taken */
} dirs_t;

static const char LF_NAME[] = "lost+found";

static void del_key(fsck_t *f, const char *k, size_t klen)
{
    lsm_writebatch_t *b = lsm_writebatch_create();
    fsck_b_delete(b, k, klen);
    fsck_commit(f, b);
}

static void push_extra(fsck_t *f, dirs_t *d, uint64_t parent, const fs_key_t *pk, uint64_t child)
{
    if (d->n_extra == d->cap_extra)
        d->extra = fsck_grow(f, d->extra, &d->cap_extra, 16, sizeof(*d->extra));
    extra_entry_t *e = &d->extra[d->n_extra++];
    e->parent = parent;
    e->child = child;
    e->nlen = pk->namelen;
    memcpy(e->name, pk->name, pk->namelen);
    e->name[pk->namelen] = '\0';
}

/* One D row. */
static void check_entry(fsck_t *f, dirs_t *d, const char *k, size_t klen, const char *v,
                        size_t vlen)
{
    char esc[300];
    fs_key_t pk;
    uint64_t child = 0;
    unsigned type = 0;
    if (fs_key_parse(k, klen, &pk) != 0) {
        int vok = fs_dentry_decode(v, vlen, &child, &type) == 0;
        char what[64] = "";
        if (vok)
            snprintf(what, sizeof(what), " (it names inode %llu)", (unsigned long long)child);
        /* The directory part of the key is sound if the key is long enough: let the schema
         * read it from the same 9 bytes followed by a harmless name. */
        char probe[FS_PREFIX_LEN + 1];
        fs_key_t pp;
        int pok = 0;
        if (klen >= FS_PREFIX_LEN) {
            memcpy(probe, k, FS_PREFIX_LEN);
            probe[FS_PREFIX_LEN] = 'x';
            pok = fs_key_parse(probe, sizeof(probe), &pp) == 0;
        }
        int ok;
        if (pok)
            ok = fsck_problem(f, 0, Q_DELETE, "Entry '%s' in directory %llu has an invalid name "
                              "(\".\", \"..\", '/', NUL or more than %d bytes)%s.",
                              fsck_escape(k + FS_PREFIX_LEN, klen - FS_PREFIX_LEN, esc,
                                          sizeof(esc)),
                              (unsigned long long)pp.ino, FS_NAME_MAX, what);
        else
            ok = fsck_problem(f, 0, Q_DELETE, "Directory entry with a malformed key '%s'%s.",
                              fsck_escape(k, klen, esc, sizeof(esc)), what);
        if (ok)
            del_key(f, k, klen);
        return;
    }
    fsck_escape(pk.name, pk.namelen, esc, sizeof(esc));
    uint64_t pino = pk.ino;
    fsck_inode_t *p = itab_live(&f->itab, pino);
    if (!p || !S_ISDIR(p->mode)) {
        if (fsck_problem(f, 0, Q_CLEAR, "Entry '%s' is in inode %llu, which %s.", esc,
                         (unsigned long long)pino,
                         !p ? "does not exist" : "is not a directory"))
            del_key(f, k, klen);
        return;
    }
    if (fs_dentry_decode(v, vlen, &child, &type) != 0) {
        if (fsck_problem(f, 0, Q_CLEAR, "Entry '%s' in directory %llu is corrupt (its value "
                         "does not decode).", esc, (unsigned long long)pino))
            del_key(f, k, klen);
        return;
    }
    if (child == FS_ROOT_INO) {
        if (fsck_problem(f, FSCK_PREEN_OK, Q_CLEAR, "Entry '%s' in directory %llu is a link to "
                         "the root directory.", esc, (unsigned long long)pino))
            del_key(f, k, klen);
        return;
    }
    fsck_inode_t *c = itab_live(&f->itab, child);
    if (!c) {
        if (fsck_problem(f, FSCK_PREEN_OK, Q_CLEAR, "Entry '%s' in directory %llu has "
                         "deleted/unused inode %llu.", esc, (unsigned long long)pino,
                         (unsigned long long)child))
            del_key(f, k, klen);
        return;
    }
    if (type != (c->mode & S_IFMT) >> 12 &&
        fsck_problem(f, FSCK_PREEN_OK, Q_FIX, "Entry '%s' in directory %llu (inode %llu) has "
                     "file type %u, but the inode is a %s.", esc, (unsigned long long)pino,
                     (unsigned long long)child, type, fsck_type_name(c->mode))) {
        lsm_writebatch_t *b = lsm_writebatch_create();
        fsck_b_put_dentry(b, pino, pk.name, pk.namelen, child, c->mode);
        fsck_commit(f, b);
    }
    p->flags |= IT_HAS_CHILDREN;
    if (pino == FS_ROOT_INO && pk.namelen == sizeof(LF_NAME) - 1 &&
        memcmp(pk.name, LF_NAME, pk.namelen) == 0)
        d->lf_entry_ino = child;
    if (S_ISDIR(c->mode)) {
        if (c->dparent == 0) {
            c->dparent = pino;
        } else {
            c->flags |= IT_MULTI_PARENT;
            push_extra(f, d, pino, &pk, child);
        }
    } else {
        c->count++;
    }
}

static void scan_entries(fsck_t *f, dirs_t *d)
{
    fsck_scan_t s;
    fsck_scan_type(f, &s, "directory entries", FS_ROW_DENTRY);
    uint64_t n = 0;
    for (; fsck_scan_valid(f, &s); fsck_scan_next(&s)) {
        size_t klen, vlen;
        const char *k = fsck_scan_key(&s, &klen);
        const char *v = fsck_scan_value(&s, &vlen);
        check_entry(f, d, k, klen, v, vlen);
        if ((++n & 1023) == 0) {
            fs_key_t pk;
            if (fs_key_parse(k, klen, &pk) == 0)
                fsck_progress(f, pk.ino, f->sb.inode_hwm);
            fsck_poll_cancel(f);
        }
    }
    fsck_scan_close(&s);
}

/* Directories named by several entries keep one: the entry in the directory the inode
 * records as its parent if there is one, else the first found. */
static void resolve_extra_links(fsck_t *f, dirs_t *d)
{
    for (size_t i = 0; i < d->n_extra; i++) {
        extra_entry_t *e = &d->extra[i];
        fsck_inode_t *c = itab_live(&f->itab, e->child);
        if (!c)
            continue;
        uint64_t drop_parent = e->parent, keep_parent = c->dparent;
        char name[FS_NAME_MAX + 1];
        size_t nlen = e->nlen;
        memcpy(name, e->name, nlen + 1);
        if (c->parent == e->parent && c->dparent != c->parent) {
            /* This entry is the one the inode agrees with: drop the first one instead. */
            nlen = fsck_find_entry(f, c->dparent, e->child, name);
            if (nlen == 0)
                continue;
            drop_parent = c->dparent;
            keep_parent = e->parent;
        }
        char esc[300];
        if (fsck_problem(f, 0, Q_CLEAR, "Entry '%s' in directory %llu is a second link to "
                         "directory %llu (which is also in directory %llu).",
                         fsck_escape(name, nlen, esc, sizeof(esc)),
                         (unsigned long long)drop_parent, (unsigned long long)e->child,
                         (unsigned long long)keep_parent)) {
            char key[FS_KEY_MAX];
            size_t klen = fs_key_dentry(key, drop_parent, name, nlen);
            del_key(f, key, klen);
            if (drop_parent == FS_ROOT_INO && nlen == sizeof(LF_NAME) - 1 &&
                memcmp(name, LF_NAME, nlen) == 0)
                d->lf_entry_ino = 0;
        }
        c->dparent = keep_parent;  /* declined: the model still keeps one parent */
    }
}

/* Makes /lost+found usable if it is not; returns 1 if f->lf_ino can take entries. */
static int ensure_lost_found(fsck_t *f, dirs_t *d)
{
    if (f->lf_ino)
        return 1;
    if (d->lf_declined || !itab_live(&f->itab, FS_ROOT_INO))
        return 0;
    if (!fsck_problem(f, FSCK_PREEN_OK, Q_CREATE, "/lost+found is missing.")) {
        d->lf_declined = 1;
        return 0;
    }
    uint64_t ino = f->sb.inode_hwm;
    if (ino <= f->max_ino)
        ino = f->max_ino + 1;
    if (f->itab.n && ino <= f->itab.ino[f->itab.n - 1])
        ino = f->itab.ino[f->itab.n - 1] + 1;
    fs_inode_t in;
    lsm_writebatch_t *b = lsm_writebatch_create();
    fs_row_put_lost_found(b, ino, 0, 0, (fs_time_t){f->now, 0}, &in);
    fsck_raise_hwm(f, b, ino);
    fsck_commit(f, b);
    if (ino > f->max_ino)
        f->max_ino = ino;
    fsck_inode_t *r = itab_append(&f->itab, ino);
    if (!r)
        fsck_fatal(f, FSCK_EXIT_ERROR, "out of memory");
    r->mode = in.mode;
    r->nlink = in.nlink;
    r->parent = FS_ROOT_INO;
    r->dparent = FS_ROOT_INO;
    r->flags = IT_REACHED;
    f->lf_ino = ino;
    d->lf_entry_ino = ino;
    return 1;
}

/* Adopts the root's "lost+found" entry if it names a directory; unlinks it otherwise. */
static void find_lost_found(fsck_t *f, dirs_t *d)
{
    if (!d->lf_entry_ino)
        return;
    fsck_inode_t *c = itab_live(&f->itab, d->lf_entry_ino);
    if (c && S_ISDIR(c->mode) && c->dparent == FS_ROOT_INO) {
        f->lf_ino = d->lf_entry_ino;
        return;
    }
    if (!c)
        return;
    if (S_ISDIR(c->mode)) {
        d->lf_declined = 1;  /* a second link to another directory, kept: the name is taken */
        return;
    }
    if (fsck_problem(f, 0, Q_CLEAR, "/lost+found is not a directory (inode %llu is a %s); "
                     "it will be reconnected inside a new /lost+found.",
                     (unsigned long long)d->lf_entry_ino, fsck_type_name(c->mode))) {
        char key[FS_KEY_MAX];
        size_t klen = fs_key_dentry(key, FS_ROOT_INO, LF_NAME, sizeof(LF_NAME) - 1);
        del_key(f, key, klen);
        c->count--;
        d->lf_entry_ino = 0;
    } else {
        d->lf_declined = 1;  /* the name is taken */
    }
}

/* Puts entry "#ino" (or "#ino.N" if that is taken) for `ino` into /lost+found in `b`. */
static void lf_entry(fsck_t *f, lsm_writebatch_t *b, uint64_t ino, uint32_t mode)
{
    char name[64], key[FS_KEY_MAX];
    int n = snprintf(name, sizeof(name), "#%llu", (unsigned long long)ino);
    for (int i = 1; fsck_key_exists(f, key, fs_key_dentry(key, f->lf_ino, name, (size_t)n)); i++)
        n = snprintf(name, sizeof(name), "#%llu.%d", (unsigned long long)ino, i);
    fsck_b_put_dentry(b, f->lf_ino, name, (size_t)n, ino, mode);
}

static void chain_push(fsck_t *f, dirs_t *d, size_t slot)
{
    if (d->n_chain == d->cap_chain)
        d->chain = fsck_grow(f, d->chain, &d->cap_chain, 64, sizeof(*d->chain));
    d->chain[d->n_chain++] = slot;
}

static void chain_mark(fsck_t *f, dirs_t *d, uint16_t flag)
{
    for (size_t i = 0; i < d->n_chain; i++) {
        fsck_inode_t *r = &f->itab.in[d->chain[i]];
        r->flags = (uint16_t)((r->flags & ~IT_VISITING) | flag);
    }
    d->n_chain = 0;
}

/* Moves directory `top` (unreachable) into /lost+found. Returns 1 if done. */
static int reconnect_dir(fsck_t *f, dirs_t *d, uint64_t top)
{
    fsck_inode_t *r = itab_live(&f->itab, top);
    uint64_t old_parent = r->dparent;
    char name[FS_NAME_MAX + 1], esc[300];
    size_t nlen = old_parent ? fsck_find_entry(f, old_parent, top, name) : 0;
    int yes;
    if (old_parent)
        yes = fsck_problem(f, FSCK_PREEN_OK, Q_CONNECT, "Directory inode %llu ('%s' in "
                           "directory %llu) is in a cycle of directories unreachable from "
                           "the root.", (unsigned long long)top,
                           fsck_escape(name, nlen, esc, sizeof(esc)),
                           (unsigned long long)old_parent);
    else
        yes = fsck_problem(f, FSCK_PREEN_OK, Q_CONNECT, "Unconnected directory inode %llu "
                           "(no entry names it).", (unsigned long long)top);
    if (!yes || !ensure_lost_found(f, d))
        return 0;
    lsm_writebatch_t *b = lsm_writebatch_create();
    if (nlen) {
        char key[FS_KEY_MAX];
        fsck_b_delete(b, key, fs_key_dentry(key, old_parent, name, nlen));
    }
    lf_entry(f, b, top, S_IFDIR);
    fs_inode_t in;
    if (fsck_load_inode(f, top, &in) == 0) {
        in.parent = f->lf_ino;
        fsck_b_put_inode(b, top, &in);
    }
    fsck_commit(f, b);
    r = itab_live(&f->itab, top);  /* ensure_lost_found may have moved the table */
    r->dparent = f->lf_ino;
    r->parent = f->lf_ino;
    return 1;
}

/* Walks up from directory slot `start`; reconnects the chain if it does not reach the
 * root. */
static void walk_dir(fsck_t *f, dirs_t *d, size_t start)
{
    size_t cur = start;
    uint64_t top = 0;
    for (;;) {
        fsck_inode_t *r = &f->itab.in[cur];
        if (r->flags & IT_REACHED) {
            chain_mark(f, d, IT_REACHED);
            return;
        }
        if (r->flags & IT_DISCONNECTED) {
            chain_mark(f, d, IT_DISCONNECTED);
            return;
        }
        if (r->flags & IT_VISITING) {   /* a cycle closes here */
            top = f->itab.ino[cur];
            break;
        }
        r->flags |= IT_VISITING;
        chain_push(f, d, cur);
        fsck_inode_t *p = r->dparent ? itab_live(&f->itab, r->dparent) : NULL;
        if (!p || !S_ISDIR(p->mode)) {  /* the links end here */
            top = f->itab.ino[cur];
            break;
        }
        cur = (size_t)(p - f->itab.in);
    }
    fsck_inode_t *t = itab_live(&f->itab, top);
    if ((t->flags & IT_ORPHAN) && t->dparent == 0 && !(t->flags & IT_HAS_CHILDREN)) {
        chain_mark(f, d, IT_DISCONNECTED);  /* an orphan: pass 6 reclaims it */
        return;
    }
    if (reconnect_dir(f, d, top))
        chain_mark(f, d, IT_REACHED);
    else
        chain_mark(f, d, IT_DISCONNECTED);
}

static void check_connectivity(fsck_t *f, dirs_t *d)
{
    fsck_inode_t *root = itab_live(&f->itab, FS_ROOT_INO);
    if (!root) {
        fsck_info(f, 0, "  no root directory: connectivity not checked");
        return;
    }
    root->flags |= IT_REACHED;
    root->dparent = 0;
    for (size_t i = 0; i < f->itab.n; i++) {
        fsck_inode_t *r = &f->itab.in[i];
        if (!S_ISDIR(r->mode) || (r->flags & (IT_REMOVED | IT_REACHED | IT_DISCONNECTED)))
            continue;
        walk_dir(f, d, i);
        if ((i & 4095) == 0) {
            fsck_progress(f, f->itab.ino[i], f->sb.inode_hwm);
            fsck_poll_cancel(f);
        }
    }
    for (size_t i = 0; i < f->itab.n; i++) {
        fsck_inode_t *r = &f->itab.in[i];
        if (S_ISDIR(r->mode) || (r->flags & IT_REMOVED) || r->count > 0 ||
            (r->flags & IT_ORPHAN))
            continue;
        uint64_t ino = f->itab.ino[i];
        if (!fsck_problem(f, FSCK_PREEN_OK, Q_CONNECT, "Unattached inode %llu (%s, %llu "
                          "bytes, link count %u).", (unsigned long long)ino,
                          fsck_type_name(r->mode), (unsigned long long)r->size, r->nlink) ||
            !ensure_lost_found(f, d)) {
            f->itab.in[i].flags |= IT_DISCONNECTED;
            continue;
        }
        uint32_t mode = f->itab.in[i].mode;
        lsm_writebatch_t *b = lsm_writebatch_create();
        lf_entry(f, b, ino, mode);
        fsck_commit(f, b);
        f->itab.in[i].count = 1;
    }
}

void fsck_pass_dirs(fsck_t *f)
{
    fsck_pass_start(f, 4, "Checking directory entries and connectivity");
    dirs_t d;
    memset(&d, 0, sizeof(d));
    scan_entries(f, &d);
    resolve_extra_links(f, &d);
    find_lost_found(f, &d);
    check_connectivity(f, &d);
    ensure_lost_found(f, &d);  /* a store always has one, needed or not this time */
    free(d.extra);
    free(d.chain);
}
