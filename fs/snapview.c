/*
 * snapview.c - MNT/.snapshots/NAME/...: every persistent snapshot as a read-only tree.
 *
 * Node ids. Live inodes use their inode number (always < 2^48). A node id with bit 63 set
 * belongs to the view: bits 62..48 are a slot, bits 47..0 an inode number of the store as
 * seen by that slot's snapshot. Slot 0 is the ".snapshots" directory itself (node SV_DIR).
 * sv_decode() is the one place that takes a node id apart. stat shows the node id as
 * st_ino, so files in a snapshot have inode numbers distinct from live ones (st_dev cannot
 * differ: see docs/SNAPSHOTS.md).
 *
 * Slots. A slot holds one snapshot's name, sequence, an engine snapshot handle and a
 * read-only fs_t ("view": db, opts, bsize and a readoption at the snapshot) that the
 * ordinary read helpers (fs_inode_load, fs_dentry_load, fs_data_read...) are called with.
 * refs counts the kernel's lookups of the slot's nodes plus its open handles. A slot is
 * made at the first lookup of its name and kept while the snapshot exists; after the
 * snapshot is deleted (rmdir or lsmfsctl) it is freed when refs reaches 0, so files open
 * in a deleted snapshot keep reading it and the engine releases its versions after that.
 *
 * Rules: ".snapshots" never appears in readdir of the root (there is no row for it) but
 * looking it up works; nothing in the view changes (EROFS); in ".snapshots" mkdir NAME
 * creates a snapshot and rmdir NAME deletes one (root or the daemon's user, else EPERM).
 */
#include "snapview.h"
#include "data.h"
#include "ops_ioctl.h"
#include "snapslot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SV_BIT (1ULL << 63)
#define SV_SLOT_SHIFT 48
#define SV_INO_MASK ((1ULL << SV_SLOT_SHIFT) - 1)
#define SV_SLOTS (FS_SNAPSLOT_MAX + 1)
#define SV_DIR (SV_BIT | FS_ROOT_INO) /* slot 0 */

typedef struct {
    unsigned idx;
    char *name;
    uint64_t seq;
    const lsm_snapshot_t *snap;
    fs_t *view;
    uint64_t refs;
    int deleted;
} sv_slot_t;

struct fs_snapview {
    pthread_mutex_t mu;       /* the slot table and refs */
    pthread_mutex_t alloc_mu; /* taken before mu: handing out slots, creating, deleting */
    sv_slot_t *slot[SV_SLOTS];
};

/* A node id taken apart: kind LIVE (not ours), DIR (.snapshots), SNAP (s, ino), STALE. */
enum { SV_LIVE, SV_IN_DIR, SV_IN_SNAP, SV_STALE };
typedef struct {
    int kind;
    sv_slot_t *s;
    uint64_t ino;
    uint64_t node; /* as given */
} sv_node_t;

static sv_node_t sv_decode(fs_t *fs, uint64_t node)
{
    sv_node_t n = {SV_LIVE, NULL, node, node};
    if (!(node & SV_BIT))
        return n;
    unsigned idx = (unsigned)((node & ~SV_BIT) >> SV_SLOT_SHIFT);
    n.ino = node & SV_INO_MASK;
    if (idx == 0) {
        n.kind = node == SV_DIR ? SV_IN_DIR : SV_STALE;
        return n;
    }
    n.kind = SV_STALE;
    if (idx < SV_SLOTS && fs->snapview) {
        pthread_mutex_lock(&fs->snapview->mu);
        n.s = fs->snapview->slot[idx];
        pthread_mutex_unlock(&fs->snapview->mu);
        if (n.s)
            n.kind = SV_IN_SNAP;
    }
    return n;
}

static uint64_t sv_encode(const sv_slot_t *s, uint64_t ino)
{
    return SV_BIT | ((uint64_t)s->idx << SV_SLOT_SHIFT) | (ino & SV_INO_MASK);
}

static int is_ours(uint64_t node) { return (node & SV_BIT) != 0; }

/* The generation of a view node: the inode's, mixed with its snapshot's sequence. File
 * handles carry (node id, 32-bit generation) and slots are given out per mount, so after a
 * remount a handle's slot may belong to another snapshot: the generation then differs and
 * the kernel answers ESTALE instead of opening another snapshot's file. */
static uint64_t sv_generation(const sv_slot_t *s, const fs_inode_t *in)
{
    uint64_t h = (s->seq + 1) * 0x9e3779b97f4a7c15ULL;
    return (uint32_t)(in->generation ^ (h >> 32) ^ h);
}

/* 1 if (parent, name) is in the view or is ".snapshots" in the root: changes refused. */
static int sv_touches(uint64_t parent, const char *name)
{
    return is_ours(parent) ||
           (parent == FUSE_ROOT_ID && name && strcmp(name, FS_SNAPDIR_NAME) == 0);
}

static int may_change(fuse_req_t req)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    return ctx->uid == 0 || ctx->uid == getuid();
}

/* ---- slots ---------------------------------------------------------------------------- */
static void slot_free(sv_slot_t *s, fs_t *fs)
{
    if (s->view) {
        lsm_readoptions_destroy(s->view->ropt);
        free(s->view);
    }
    if (s->snap)
        lsm_release_snapshot(fs->db, s->snap);
    free(s->name);
    free(s);
}

static void sv_ref(fs_t *fs, sv_slot_t *s, uint64_t n)
{
    pthread_mutex_lock(&fs->snapview->mu);
    s->refs += n;
    pthread_mutex_unlock(&fs->snapview->mu);
}

static void sv_unref(fs_t *fs, sv_slot_t *s, uint64_t n)
{
    struct fs_snapview *sv = fs->snapview;
    pthread_mutex_lock(&sv->mu);
    s->refs = s->refs > n ? s->refs - n : 0;
    int gone = s->refs == 0 && s->deleted;
    if (gone)
        sv->slot[s->idx] = NULL;
    pthread_mutex_unlock(&sv->mu);
    if (gone)
        slot_free(s, fs);
}

/* The sequence of persistent snapshot name: 0 and *seq, or -ENOENT. */
static int snap_seq(fs_t *fs, const char *name, uint64_t *seq)
{
    char **names;
    uint64_t *seqs;
    size_t n = lsm_list_persistent_snapshots(fs->db, &names, &seqs);
    int r = -ENOENT;
    for (size_t i = 0; i < n && r; i++)
        if (strcmp(names[i], name) == 0) {
            *seq = seqs[i];
            r = 0;
        }
    lsm_free_persistent_snapshot_list(names, seqs, n);
    return r;
}

/* The in-memory slot of snapshot (name, seq), with one more reference: 1, or 0 if none. */
static int slot_find(struct fs_snapview *sv, const char *name, uint64_t seq, sv_slot_t **out)
{
    pthread_mutex_lock(&sv->mu);
    for (unsigned i = 1; i < SV_SLOTS; i++) {
        sv_slot_t *s = sv->slot[i];
        if (s && !s->deleted && s->seq == seq && strcmp(s->name, name) == 0) {
            s->refs++;
            *out = s;
            pthread_mutex_unlock(&sv->mu);
            return 1;
        }
    }
    pthread_mutex_unlock(&sv->mu);
    return 0;
}

/* Makes the slot idx (free in memory) for snapshot `name`, with one reference. */
static int slot_make(fs_t *fs, const char *name, unsigned idx, sv_slot_t **out)
{
    struct fs_snapview *sv = fs->snapview;
    sv_slot_t *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->idx = idx;
    s->name = strdup(name);
    s->view = calloc(1, sizeof(*s->view));
    s->snap = lsm_get_persistent_snapshot(fs->db, name);
    int r = -ENOMEM;
    if (s->name && s->view && s->snap) {
        fs_t *v = s->view;
        v->db = fs->db;
        v->opts = fs->opts;
        v->sb = fs->sb;
        v->bsize = fs->bsize;
        v->snap = s->snap;
        v->ropt = lsm_readoptions_create();
        lsm_readoptions_set_snapshot(v->ropt, s->snap);
        s->seq = lsm_snapshot_get_sequence_number(s->snap);
        s->refs = 1;
        pthread_mutex_lock(&sv->mu);
        sv->slot[idx] = s;
        pthread_mutex_unlock(&sv->mu);
        *out = s;
        return 0;
    }
    if (s->name && s->view && !s->snap)
        r = -ENOENT; /* deleted in between */
    free(s->view);
    s->view = NULL;
    slot_free(s, fs);
    return r;
}

/* 1 if slot idx is taken in memory (by any snapshot, deleted ones still in use too). */
static int slot_busy(struct fs_snapview *sv, unsigned idx)
{
    pthread_mutex_lock(&sv->mu);
    int busy = sv->slot[idx] != NULL;
    pthread_mutex_unlock(&sv->mu);
    return busy;
}

/* Under alloc_mu: the lowest slot that neither an existing snapshot's row nor memory
 * holds; its row for `name` (and the deletion of stale rows) is added to b. */
static int slot_pick(fs_t *fs, const char *name, lsm_writebatch_t *b, unsigned *idx)
{
    unsigned char used[FS_SNAPSLOT_MAX + 1];
    int r = fs_snapslot_scan(fs, used, b, 0, NULL);
    if (r)
        return r;
    for (unsigned i = 1; i < SV_SLOTS; i++)
        if (!used[i] && !slot_busy(fs->snapview, i)) {
            fs_snapslot_put(b, name, i);
            *idx = i;
            return 0;
        }
    return -ENFILE;
}

/* Under alloc_mu: the slot of snapshot `name` for this mount: its row's, or (made by an
 * older build, offline, or the row was lost) a new one, persisted and synced before any
 * node id with it is handed out. On a read-only mount a new slot is kept in memory only. */
static int slot_assign(fs_t *fs, const char *name, unsigned *idx)
{
    int r = fs_snapslot_load(fs, name, idx);
    if (r == 0 && !slot_busy(fs->snapview, *idx))
        return 0;
    if (r && r != -ENOENT)
        return r;
    lsm_writebatch_t *b = lsm_writebatch_create();
    if ((r = slot_pick(fs, name, b, idx)) != 0) {
        lsm_writebatch_destroy(b);
        return r;
    }
    r = fs_commit(fs, b);
    if (r == -EROFS)
        return 0;
    char *err = NULL;
    if (r == 0)
        lsm_flush_wal(fs->db, 1, &err);
    return err ? fs_err(fs, err, "sync snapshot slot") : r;
}

/* The slot of snapshot `name` (made on first use), with one more reference. */
static int slot_get(fs_t *fs, const char *name, sv_slot_t **out)
{
    struct fs_snapview *sv = fs->snapview;
    uint64_t seq;
    unsigned idx;
    int r = snap_seq(fs, name, &seq);
    if (r)
        return r;
    if (slot_find(sv, name, seq, out))
        return 0;
    pthread_mutex_lock(&sv->alloc_mu);
    if (!slot_find(sv, name, seq, out)) {
        r = slot_assign(fs, name, &idx);
        if (r == 0)
            r = slot_make(fs, name, idx, out);
    }
    pthread_mutex_unlock(&sv->alloc_mu);
    return r;
}

/* The slot idx, not in memory yet (a file handle from before a remount): made from the
 * row that holds idx, with one more reference. -ESTALE when no snapshot has it. */
static int slot_get_idx(fs_t *fs, unsigned idx, sv_slot_t **out)
{
    struct fs_snapview *sv = fs->snapview;
    unsigned char used[FS_SNAPSLOT_MAX + 1];
    char *name = NULL;
    int r = -ESTALE;
    if (idx == 0 || idx >= SV_SLOTS)
        return r;
    pthread_mutex_lock(&sv->alloc_mu);
    pthread_mutex_lock(&sv->mu);
    sv_slot_t *s = sv->slot[idx];
    if (s && !s->deleted) {
        s->refs++;
        *out = s;
        r = 0;
    }
    pthread_mutex_unlock(&sv->mu);
    if (r != 0 && !s && (r = fs_snapslot_scan(fs, used, NULL, idx, &name)) == 0) {
        uint64_t seq;
        sv_slot_t *other;
        r = -ESTALE;
        if (name && snap_seq(fs, name, &seq) == 0) {
            if (slot_find(sv, name, seq, &other))
                sv_unref(fs, other, 1); /* the name lives in another slot this mount */
            else if ((r = slot_make(fs, name, idx, out)) == -ENOENT)
                r = -ESTALE;
        }
    }
    pthread_mutex_unlock(&sv->alloc_mu);
    free(name);
    return r;
}

int fs_snapview_snapshot_create(fs_t *fs, const char *name, uint64_t *seq, char **err)
{
    struct fs_snapview *sv = fs->snapview;
    uint64_t old;
    unsigned idx;
    *err = NULL;
    pthread_mutex_lock(&sv->alloc_mu);
    int r = snap_seq(fs, name, &old) == 0 ? -EEXIST : 0;
    lsm_writebatch_t *b = r ? NULL : lsm_writebatch_create();
    if (b && (r = slot_pick(fs, name, b, &idx)) != 0)
        lsm_writebatch_destroy(b);
    if (b && r == 0)
        r = fs_commit(fs, b); /* made durable by the creation's WAL sync */
    if (r == 0) {
        *seq = lsm_create_persistent_snapshot(fs->db, name, err);
        if (*err) {
            int e = lsm_error_errno(*err);
            r = e == EINVAL ? -EEXIST : -(e > 0 ? e : EIO);
            b = lsm_writebatch_create();
            fs_snapslot_del(b, name);
            fs_commit(fs, b);
        }
    }
    pthread_mutex_unlock(&sv->alloc_mu);
    return r;
}

int fs_snapview_snapshot_delete(fs_t *fs, const char *name, char **err)
{
    struct fs_snapview *sv = fs->snapview;
    *err = NULL;
    pthread_mutex_lock(&sv->alloc_mu);
    lsm_delete_persistent_snapshot(fs->db, name, err);
    int r = 0;
    if (*err) {
        int e = lsm_error_errno(*err);
        r = -(e > 0 ? e : EIO);
    } else {
        lsm_writebatch_t *b = lsm_writebatch_create();
        fs_snapslot_del(b, name);
        fs_commit(fs, b); /* if lost, the row is stale and the next pick drops it */
        fs_snapview_forget_name(fs, name);
    }
    pthread_mutex_unlock(&sv->alloc_mu);
    return r;
}

struct fs_snapview *fs_snapview_create(fs_t *fs)
{
    struct fs_snapview *sv = calloc(1, sizeof(*sv));
    if (sv) {
        pthread_mutex_init(&sv->mu, NULL);
        pthread_mutex_init(&sv->alloc_mu, NULL);
        fs->snapshot_create = fs_snapview_snapshot_create; /* lsmfsctl snapshot create */
        fs->snapshot_delete = fs_snapview_snapshot_delete; /* and delete */
    }
    return sv;
}

void fs_snapview_destroy(struct fs_snapview *sv, fs_t *fs)
{
    if (!sv)
        return;
    for (unsigned i = 0; i < SV_SLOTS; i++)
        if (sv->slot[i])
            slot_free(sv->slot[i], fs);
    pthread_mutex_destroy(&sv->mu);
    pthread_mutex_destroy(&sv->alloc_mu);
    free(sv);
}

void fs_snapview_forget_name(fs_t *fs, const char *name)
{
    struct fs_snapview *sv = fs->snapview;
    if (!sv)
        return;
    pthread_mutex_lock(&sv->mu);
    for (unsigned i = 1; i < SV_SLOTS; i++) {
        sv_slot_t *s = sv->slot[i];
        if (s && !s->deleted && strcmp(s->name, name) == 0) {
            s->deleted = 1;
            if (s->refs == 0) {
                sv->slot[i] = NULL;
                slot_free(s, fs);
            }
        }
    }
    pthread_mutex_unlock(&sv->mu);
}

/* ---- attributes and entries ------------------------------------------------------------ */
static void dir_stat(fs_t *fs, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = SV_DIR;
    st->st_mode = S_IFDIR | 0755;
    char **names;
    uint64_t *seqs;
    size_t n = lsm_list_persistent_snapshots(fs->db, &names, &seqs);
    lsm_free_persistent_snapshot_list(names, seqs, n);
    st->st_nlink = 2 + n; /* one ".." per snapshot root, as for any directory */
    st->st_uid = getuid();
    st->st_gid = getgid();
    st->st_blksize = fs->bsize;
    st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = fs->sb.created_sec;
}

static void reply_dir_entry(fuse_req_t req, fs_t *fs)
{
    struct fuse_entry_param e;
    memset(&e, 0, sizeof(e));
    e.ino = SV_DIR;
    e.attr_timeout = fs->opts->attr_timeout;
    e.entry_timeout = fs->opts->entry_timeout;
    dir_stat(fs, &e.attr);
    fuse_reply_entry(req, &e);
}

/* Replies an entry for ino of slot s, counting the lookup (the caller holds no ref for
 * it; `taken`: the caller already counted it). */
static void reply_snap_entry(fuse_req_t req, fs_t *fs, sv_slot_t *s, uint64_t ino,
                             const fs_inode_t *in, int taken, double entry_timeout)
{
    struct fuse_entry_param e;
    memset(&e, 0, sizeof(e));
    e.ino = sv_encode(s, ino);
    e.generation = sv_generation(s, in);
    e.attr_timeout = fs->opts->attr_timeout;
    e.entry_timeout = entry_timeout;
    fs_stat_fill(fs, e.ino, in, &e.attr);
    if (!taken)
        sv_ref(fs, s, 1);
    if (fuse_reply_entry(req, &e) != 0)
        sv_unref(fs, s, 1); /* the kernel never got it */
}

/* Looks name up in .snapshots: the root of that snapshot. */
static void lookup_in_dir(fuse_req_t req, fs_t *fs, const char *name)
{
    sv_slot_t *s;
    fs_inode_t in;
    int r = slot_get(fs, name, &s);
    if (r == -ENOENT) {
        struct fuse_entry_param e;
        memset(&e, 0, sizeof(e)); /* negative, not cached: snapshots come and go */
        fuse_reply_entry(req, &e);
        return;
    }
    if (r)
        return fs_reply_err(req, r);
    if ((r = fs_inode_load(s->view, FS_ROOT_INO, &in)) != 0) {
        sv_unref(fs, s, 1);
        return fs_reply_err(req, r == -ENOENT ? -EUCLEAN : r);
    }
    /* entry not cached: every walk through .snapshots/NAME asks again, so a deleted or
     * re-created name is seen at once */
    reply_snap_entry(req, fs, s, FS_ROOT_INO, &in, 1, 0);
}

/* "." and ".." by node id (file handles, ops_export.c) inside the view. */
static void lookup_self(fuse_req_t req, fs_t *fs, sv_node_t *p, const char *name)
{
    fs_inode_t in;
    int dotdot = name[1] == '.';
    if (p->kind == SV_IN_DIR)
        return dotdot ? fs_op_lookup_self(req, FUSE_ROOT_ID, ".") : reply_dir_entry(req, fs);
    int taken = 0, r;
    if (p->kind != SV_IN_SNAP) { /* a handle from before a remount: slots are persisted */
        unsigned idx = (unsigned)((p->node & ~SV_BIT) >> SV_SLOT_SHIFT);
        if ((r = slot_get_idx(fs, idx, &p->s)) != 0)
            return fs_reply_err(req, r);
        taken = 1;
    }
    uint64_t ino = p->ino;
    r = fs_inode_load(p->s->view, ino, &in);
    if (r == 0 && dotdot) {
        if (!S_ISDIR(in.mode) || (ino != FS_ROOT_INO && in.parent == 0))
            r = -ENOTDIR;
        else if (ino == FS_ROOT_INO)
            r = 1;
        if (r) {
            if (taken)
                sv_unref(fs, p->s, 1);
            return r == 1 ? reply_dir_entry(req, fs) : fs_reply_err(req, r);
        }
        ino = in.parent;
        r = fs_inode_load(p->s->view, ino, &in);
    }
    if (r) {
        if (taken)
            sv_unref(fs, p->s, 1);
        return fs_reply_err(req, r == -ENOENT ? -ESTALE : r);
    }
    reply_snap_entry(req, fs, p->s, ino, &in, taken, fs->opts->entry_timeout);
}

static void sv_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    fs_t *fs = fs_of(req);
    if (!is_ours(parent)) {
        if (parent == FUSE_ROOT_ID && strcmp(name, FS_SNAPDIR_NAME) == 0)
            return reply_dir_entry(req, fs);
        return fs_op_lookup(req, parent, name);
    }
    sv_node_t p = sv_decode(fs, parent);
    if (strlen(name) > FS_NAME_MAX)
        return fs_reply_err(req, -ENAMETOOLONG);
    if (fs_is_self_lookup(name))
        return lookup_self(req, fs, &p, name);
    if (p.kind == SV_IN_DIR)
        return lookup_in_dir(req, fs, name);
    if (p.kind != SV_IN_SNAP)
        return fs_reply_err(req, -ESTALE);
    uint64_t ino;
    unsigned type;
    fs_inode_t in;
    int r = fs_dentry_load(p.s->view, p.ino, name, &ino, &type);
    if (r == -ENOENT) {
        struct fuse_entry_param e;
        memset(&e, 0, sizeof(e));
        e.entry_timeout = fs->opts->entry_timeout; /* a snapshot never changes */
        fuse_reply_entry(req, &e);
        return;
    }
    if (r == 0)
        r = fs_inode_load(p.s->view, ino, &in);
    if (r)
        return fs_reply_err(req, r == -ENOENT ? -EUCLEAN : r);
    reply_snap_entry(req, fs, p.s, ino, &in, 0, fs->opts->entry_timeout);
}

static void sv_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    if (!is_ours(ino))
        return fs_op_forget(req, ino, nlookup);
    fs_t *fs = fs_of(req);
    sv_node_t n = sv_decode(fs, ino);
    if (n.kind == SV_IN_SNAP)
        sv_unref(fs, n.s, nlookup);
    fuse_reply_none(req);
}

static void sv_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
    fs_t *fs = fs_of(req);
    size_t live = 0;
    for (size_t i = 0; i < count; i++) {
        if (!is_ours(f[i].ino)) {
            f[live++] = f[i];
            continue;
        }
        sv_node_t n = sv_decode(fs, f[i].ino);
        if (n.kind == SV_IN_SNAP)
            sv_unref(fs, n.s, f[i].nlookup);
    }
    fs_op_forget_multi(req, live, f); /* replies */
}

static void sv_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    if (!is_ours(ino))
        return fs_op_getattr(req, ino, fi);
    fs_t *fs = fs_of(req);
    sv_node_t n = sv_decode(fs, ino);
    struct stat st;
    if (n.kind == SV_IN_DIR) {
        dir_stat(fs, &st);
    } else if (n.kind == SV_IN_SNAP) {
        fs_inode_t in;
        int r = fs_inode_load(n.s->view, n.ino, &in);
        if (r)
            return fs_reply_err(req, r == -ENOENT ? -ESTALE : r);
        fs_stat_fill(fs, ino, &in, &st);
    } else {
        return fs_reply_err(req, -ESTALE);
    }
    fuse_reply_attr(req, &st, fs->opts->attr_timeout);
}

static void sv_readlink(fuse_req_t req, fuse_ino_t ino)
{
    if (!is_ours(ino))
        return fs_op_readlink(req, ino);
    fs_t *fs = fs_of(req);
    sv_node_t n = sv_decode(fs, ino);
    if (n.kind != SV_IN_SNAP)
        return fs_reply_err(req, n.kind == SV_IN_DIR ? -EINVAL : -ESTALE);
    char key[FS_KEY_MAX], *err = NULL, buf[FS_SYMLINK_MAX + 1];
    size_t klen = fs_key_symlink(key, n.ino), vlen = 0, len;
    const char *target;
    char *v = lsm_get(fs->db, n.s->view->ropt, key, klen, &vlen, &err);
    if (err)
        return fs_reply_err(req, fs_err_ino(fs, err, n.ino, "readlink (snapshot)"));
    if (!v)
        return fs_reply_err(req, -EINVAL);
    int r = fs_symlink_decode(v, vlen, &target, &len);
    if (r == 0) {
        memcpy(buf, target, len);
        buf[len] = '\0';
    }
    lsm_free(v);
    if (r)
        return fs_reply_err(req, -EUCLEAN);
    fuse_reply_readlink(req, buf);
}

/* ---- changes: refused, except mkdir/rmdir in .snapshots ------------------------------ */
static void sv_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
    if (is_ours(ino))
        return fs_reply_err(req, -EROFS);
    fs_op_setattr(req, ino, attr, to_set, fi);
}

static void sv_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                     dev_t rdev)
{
    if (sv_touches(parent, name))
        return fs_reply_err(req, -EROFS);
    fs_op_mknod(req, parent, name, mode, rdev);
}

/* mkdir .snapshots/NAME: a new snapshot of the whole file system. */
static void snap_create(fuse_req_t req, fs_t *fs, const char *name)
{
    if (fs->opts->ro || atomic_load(&fs->remount_ro))
        return fs_reply_err(req, -EROFS);
    if (!may_change(req))
        return fs_reply_err(req, -EPERM);
    if (!fs_ctl_snapshot_name_ok(name))
        return fs_reply_err(req, strlen(name) > FS_NAME_MAX ? -ENAMETOOLONG : -EINVAL);
    char *err = NULL;
    uint64_t seq;
    int r = fs_snapview_snapshot_create(fs, name, &seq, &err);
    if (err)
        fs_err(fs, err, "snapshot create");
    if (r)
        return fs_reply_err(req, r);
    lookup_in_dir(req, fs, name);
}

static void sv_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    fs_t *fs = fs_of(req);
    if (parent == SV_DIR)
        return snap_create(req, fs, name);
    if (sv_touches(parent, name))
        return fs_reply_err(req, -EROFS);
    fs_op_mkdir(req, parent, name, mode);
}

/* rmdir .snapshots/NAME: deletes the snapshot (what is open in it stays readable). */
static void sv_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    fs_t *fs = fs_of(req);
    if (parent != SV_DIR) {
        if (sv_touches(parent, name))
            return fs_reply_err(req, -EROFS);
        return fs_op_rmdir(req, parent, name);
    }
    if (fs->opts->ro || atomic_load(&fs->remount_ro))
        return fs_reply_err(req, -EROFS);
    if (!may_change(req))
        return fs_reply_err(req, -EPERM);
    char *err = NULL;
    int r = fs_snapview_snapshot_delete(fs, name, &err);
    lsm_free(err);
    if (r)
        return fs_reply_err(req, r);
    fs_reply_err(req, 0);
}

static void sv_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    if (sv_touches(parent, name))
        return fs_reply_err(req, -EROFS);
    fs_op_unlink(req, parent, name);
}

static void sv_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
    if (sv_touches(parent, name))
        return fs_reply_err(req, -EROFS);
    fs_op_symlink(req, link, parent, name);
}

static void sv_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
                      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
    if (sv_touches(parent, name) || sv_touches(newparent, newname))
        return fs_reply_err(req, -EROFS);
    fs_op_rename(req, parent, name, newparent, newname, flags);
}

static void sv_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    if (sv_touches(newparent, newname))
        return fs_reply_err(req, -EROFS);
    if (is_ours(ino)) /* a snapshot's file into the live tree: another tree, as btrfs says */
        return fs_reply_err(req, -EXDEV);
    fs_op_link(req, ino, newparent, newname);
}

static void sv_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    if (sv_touches(parent, name))
        return fs_reply_err(req, -EROFS);
    fs_op_create(req, parent, name, mode, fi);
}

static void sv_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags)
{
    if (is_ours(ino))
        return fs_reply_err(req, -EROFS);
    fs_op_setxattr(req, ino, name, value, size, flags);
}

static void sv_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    if (is_ours(ino))
        return fs_reply_err(req, -EROFS);
    fs_op_removexattr(req, ino, name);
}

static void sv_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    if (is_ours(ino))
        return fs_reply_err(req, -EROFS);
    fs_op_write(req, ino, buf, size, off, fi);
}

static void sv_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                         struct fuse_file_info *fi)
{
    if (is_ours(ino))
        return fs_reply_err(req, -EROFS);
    fs_op_fallocate(req, ino, mode, off, len, fi);
}

static void sv_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                               struct fuse_file_info *fi_in, fuse_ino_t ino_out,
                               off_t off_out, struct fuse_file_info *fi_out, size_t len,
                               int flags)
{
    if (is_ours(ino_out))
        return fs_reply_err(req, -EROFS);
    if (is_ours(ino_in)) /* EXDEV: the kernel copies through splice instead */
        return fs_reply_err(req, -EXDEV);
    fs_op_copy_file_range(req, ino_in, off_in, fi_in, ino_out, off_out, fi_out, len, flags);
}

static void sv_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
                     struct fuse_file_info *fi, unsigned flags, const void *in_buf,
                     size_t in_bufsz, size_t out_bufsz)
{
    if (is_ours(ino))
        return fs_reply_err(req, -ENOTTY);
    fs_op_ioctl(req, ino, cmd, arg, fi, flags, in_buf, in_bufsz, out_bufsz);
}

static void sv_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    if (!is_ours(ino))
        return fs_op_access(req, ino, mask);
    fs_reply_err(req, (mask & W_OK) ? -EROFS : 0);
}

/* ---- files ------------------------------------------------------------------------------ */
static void sv_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    if (!is_ours(ino))
        return fs_op_open(req, ino, fi);
    fs_t *fs = fs_of(req);
    sv_node_t n = sv_decode(fs, ino);
    if (n.kind == SV_IN_DIR)
        return fs_reply_err(req, -EISDIR);
    if (n.kind != SV_IN_SNAP)
        return fs_reply_err(req, -ESTALE);
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
        return fs_reply_err(req, -EROFS);
    fs_inode_t in;
    int r = fs_inode_load(n.s->view, n.ino, &in);
    if (r)
        return fs_reply_err(req, r);
    if (S_ISDIR(in.mode))
        return fs_reply_err(req, -EISDIR);
    fi->keep_cache = 1; /* a snapshot's data never changes */
    fi->fh = 0;
    sv_ref(fs, n.s, 1);
    if (fuse_reply_open(req, fi) != 0)
        sv_unref(fs, n.s, 1);
}

static void sv_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    if (!is_ours(ino))
        return fs_op_read(req, ino, size, off, fi);
    fs_t *fs = fs_of(req);
    sv_node_t n = sv_decode(fs, ino);
    if (n.kind != SV_IN_SNAP)
        return fs_reply_err(req, n.kind == SV_IN_DIR ? -EISDIR : -ESTALE);
    fs_inode_t in;
    char *buf;
    size_t got;
    int r = fs_read_buf(n.s->view, n.ino, size, off, &in, &buf, &got);
    if (r)
        return fs_reply_err(req, r);
    atomic_fetch_add(&fs->stats.reads, 1);
    atomic_fetch_add(&fs->stats.bytes_read, got);
    fuse_reply_buf(req, buf, got);
    free(buf);
}

static void sv_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    if (!is_ours(ino))
        return fs_op_release(req, ino, fi);
    fs_t *fs = fs_of(req);
    sv_node_t n = sv_decode(fs, ino);
    if (n.kind == SV_IN_SNAP)
        sv_unref(fs, n.s, 1);
    fs_reply_err(req, 0);
}

static void sv_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    if (!is_ours(ino))
        return fs_op_fsync(req, ino, datasync, fi);
    fs_reply_err(req, 0); /* nothing to write */
}

static void sv_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
                     struct fuse_file_info *fi)
{
    if (!is_ours(ino))
        return fs_op_lseek(req, ino, off, whence, fi);
    fs_t *fs = fs_of(req);
    sv_node_t n = sv_decode(fs, ino);
    fs_inode_t in;
    uint64_t out;
    if (n.kind != SV_IN_SNAP)
        return fs_reply_err(req, -ESTALE);
    if (whence != SEEK_DATA && whence != SEEK_HOLE)
        return fs_reply_err(req, -EINVAL);
    if (off < 0)
        return fs_reply_err(req, -ENXIO);
    int r = fs_inode_load(n.s->view, n.ino, &in);
    if (r == 0)
        r = fs_data_seek(n.s->view, n.ino, in.size, (uint64_t)off, whence, &out);
    if (r)
        return fs_reply_err(req, r);
    fuse_reply_lseek(req, (off_t)out);
}

/* ---- extended attributes ----------------------------------------------------------------- */
static void sv_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    if (!is_ours(ino))
        return fs_op_getxattr(req, ino, name, size);
    fs_t *fs = fs_of(req);
    sv_node_t n = sv_decode(fs, ino);
    if (n.kind == SV_IN_DIR)
        return fs_reply_err(req, -ENODATA);
    if (n.kind != SV_IN_SNAP)
        return fs_reply_err(req, -ESTALE);
    fs_xattr_reply_get(req, n.s->view, n.ino, name, size);
}

static void sv_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    if (!is_ours(ino))
        return fs_op_listxattr(req, ino, size);
    fs_t *fs = fs_of(req);
    sv_node_t n = sv_decode(fs, ino);
    if (n.kind == SV_IN_DIR) {
        fuse_reply_xattr(req, 0);
        return;
    }
    if (n.kind != SV_IN_SNAP)
        return fs_reply_err(req, -ESTALE);
    fs_xattr_reply_list(req, n.s->view, n.ino, size);
}

/* ---- directories ------------------------------------------------------------------------
 * A handle on .snapshots holds the list of names taken at offset 0; a handle on a
 * directory of a snapshot holds an iterator over its D rows (the snapshot never changes,
 * so offsets are stable without anything else). Offsets: 0 ".", 1 "..", 2+i entry i. */
typedef struct {
    pthread_mutex_t mu;
    sv_slot_t *s;            /* NULL: .snapshots */
    uint64_t ino;
    lsm_readoptions_t *ro;
    lsm_iterator_t *it;
    off_t pos;
    char **names;
    uint64_t *seqs;
    size_t n;
} sv_dir_t;

static void sv_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    if (!is_ours(ino))
        return fs_op_opendir(req, ino, fi);
    fs_t *fs = fs_of(req);
    sv_node_t n = sv_decode(fs, ino);
    if (n.kind == SV_STALE)
        return fs_reply_err(req, -ESTALE);
    if (n.kind == SV_IN_SNAP) {
        fs_inode_t in;
        int r = fs_inode_load(n.s->view, n.ino, &in);
        if (r)
            return fs_reply_err(req, r);
        if (!S_ISDIR(in.mode))
            return fs_reply_err(req, -ENOTDIR);
    }
    sv_dir_t *d = calloc(1, sizeof(*d));
    if (!d)
        return fs_reply_err(req, -ENOMEM);
    pthread_mutex_init(&d->mu, NULL);
    d->s = n.s;
    d->ino = n.ino;
    fi->fh = (uint64_t)(uintptr_t)d;
    fi->cache_readdir = n.kind == SV_IN_SNAP; /* never changes */
    if (d->s)
        sv_ref(fs, d->s, 1);
    if (fuse_reply_open(req, fi) != 0) {
        if (d->s)
            sv_unref(fs, d->s, 1);
        pthread_mutex_destroy(&d->mu);
        free(d);
    }
}

static void dir_reset(sv_dir_t *d)
{
    if (d->it)
        lsm_iter_destroy(d->it);
    if (d->ro)
        lsm_readoptions_destroy(d->ro);
    lsm_free_persistent_snapshot_list(d->names, d->seqs, d->n);
    d->it = NULL;
    d->ro = NULL;
    d->names = NULL;
    d->seqs = NULL;
    d->n = 0;
}

/* Adds one entry; returns 0 when it did not fit. plus: with attributes (ino 0: none). */
static size_t add_entry(fuse_req_t req, fs_t *fs, char *buf, size_t room, const char *name,
                        uint64_t node, const sv_slot_t *s, const fs_inode_t *in, mode_t type,
                        off_t next, int plus)
{
    struct fuse_entry_param e;
    memset(&e, 0, sizeof(e));
    if (in) {
        e.ino = node;
        e.generation = sv_generation(s, in);
        e.attr_timeout = fs->opts->attr_timeout;
        e.entry_timeout = fs->opts->entry_timeout;
        fs_stat_fill(fs, node, in, &e.attr);
    } else {
        e.attr.st_ino = node;
        e.attr.st_mode = type;
    }
    size_t n = plus ? fuse_add_direntry_plus(req, buf, room, name, &e, next)
                    : fuse_add_direntry(req, buf, room, name, &e.attr, next);
    return n > room ? 0 : n;
}

/* The next entry of a snapshot's directory at d->pos: 1 found, 0 end, <0 error. */
static int snapdir_entry(fs_t *fs, sv_dir_t *d, char *name, uint64_t *ino, unsigned *type)
{
    char lo[FS_KEY_MAX], hi[FS_KEY_MAX], *err = NULL;
    if (!d->it || d->pos < 2) {
        if (!d->ro) {
            d->ro = lsm_readoptions_create();
            size_t nhi = fs_key_range_end(hi, FS_ROW_DENTRY, d->ino);
            lsm_readoptions_set_iterate_upper_bound(d->ro, hi, nhi);
            lsm_readoptions_set_snapshot(d->ro, d->s->snap);
        }
        if (d->it)
            lsm_iter_destroy(d->it);
        d->it = lsm_create_iterator(fs->db, d->ro);
        lsm_iter_seek(d->it, lo, fs_key_range_start(lo, FS_ROW_DENTRY, d->ino));
        d->pos = 2;
    }
    if (!lsm_iter_valid(d->it)) {
        lsm_iter_get_error(d->it, &err);
        return err ? fs_err(fs, err, "readdir (snapshot)") : 0;
    }
    size_t klen, vlen;
    const char *k = lsm_iter_key(d->it, &klen);
    const char *v = lsm_iter_value(d->it, &vlen);
    fs_key_t pk;
    if (fs_key_parse(k, klen, &pk) != 0 || pk.type != FS_ROW_DENTRY || pk.ino != d->ino ||
        fs_dentry_decode(v, vlen, ino, type) != 0)
        return -EUCLEAN;
    memcpy(name, pk.name, pk.namelen);
    name[pk.namelen] = '\0';
    return 1;
}

static void sv_do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                          struct fuse_file_info *fi, int plus)
{
    fs_t *fs = fs_of(req);
    sv_dir_t *d = (sv_dir_t *)(uintptr_t)fi->fh;
    if (!d || off < 0)
        return fs_reply_err(req, -EBADF);
    char *buf = malloc(size ? size : 1), name[FS_NAME_MAX + 1];
    if (!buf)
        return fs_reply_err(req, -ENOMEM);
    size_t used = 0, n;
    int r = 0;
    fs_inode_t din;
    pthread_mutex_lock(&d->mu);
    if (off == 0)
        dir_reset(d);
    if (d->s && (r = fs_inode_load(d->s->view, d->ino, &din)) != 0)
        goto out;
    for (; off < 2; off++) { /* "." and ".." (no attributes: no lookup counted) */
        uint64_t node = off == 0 ? ino : d->s == NULL ? FUSE_ROOT_ID
                        : d->ino == FS_ROOT_INO ? SV_DIR : sv_encode(d->s, din.parent);
        if (!(n = add_entry(req, fs, buf + used, size - used, off ? ".." : ".", node, NULL, NULL,
                            S_IFDIR, off + 1, plus)))
            goto out;
        used += n;
    }
    if (!d->s) { /* .snapshots: the names, as of offset 0 */
        if (!d->names)
            d->n = lsm_list_persistent_snapshots(fs->db, &d->names, &d->seqs);
        for (; (size_t)(off - 2) < d->n; off++) {
            sv_slot_t *s; /* the node a lookup of the name gives, for d_ino */
            uint64_t node = SV_DIR;
            if (slot_get(fs, d->names[off - 2], &s) == 0) {
                node = sv_encode(s, FS_ROOT_INO);
                sv_unref(fs, s, 1);
            }
            if (!(n = add_entry(req, fs, buf + used, size - used, d->names[off - 2], node,
                                NULL, NULL, S_IFDIR, off + 1, plus)))
                break;
            used += n;
        }
        goto out;
    }
    if (d->it && off < d->pos)
        d->pos = 0; /* going back: walk again */
    uint64_t cino;
    unsigned type;
    while ((r = snapdir_entry(fs, d, name, &cino, &type)) == 1) {
        if (d->pos >= off) {
            fs_inode_t cin;
            int lr = plus ? fs_inode_load(d->s->view, cino, &cin) : 0;
            if (lr && lr != -ENOENT) {
                r = lr;
                break;
            }
            uint64_t node = sv_encode(d->s, cino);
            if (!(n = add_entry(req, fs, buf + used, size - used, name, node, d->s,
                                plus && !lr ? &cin : NULL, (mode_t)type << 12, d->pos + 1,
                                plus)))
                break;
            if (plus && !lr)
                sv_ref(fs, d->s, 1);
            used += n;
        }
        lsm_iter_next(d->it);
        d->pos++;
    }
    if (r > 0)
        r = 0;
out:
    pthread_mutex_unlock(&d->mu);
    if (r)
        fs_reply_err(req, r);
    else
        fuse_reply_buf(req, buf, used);
    free(buf);
}

static void sv_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    if (!is_ours(ino))
        return fs_op_readdir(req, ino, size, off, fi);
    sv_do_readdir(req, ino, size, off, fi, 0);
}

static void sv_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    if (!is_ours(ino))
        return fs_op_readdirplus(req, ino, size, off, fi);
    sv_do_readdir(req, ino, size, off, fi, 1);
}

static void sv_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    if (!is_ours(ino))
        return fs_op_releasedir(req, ino, fi);
    fs_t *fs = fs_of(req);
    sv_dir_t *d = (sv_dir_t *)(uintptr_t)fi->fh;
    if (d) {
        dir_reset(d);
        if (d->s)
            sv_unref(fs, d->s, 1);
        pthread_mutex_destroy(&d->mu);
        free(d);
    }
    fs_reply_err(req, 0);
}

static void sv_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
                        struct fuse_file_info *fi)
{
    if (!is_ours(ino))
        return fs_op_fsyncdir(req, ino, datasync, fi);
    fs_reply_err(req, 0);
}

void fs_snapview_install(struct fuse_lowlevel_ops *ops)
{
    ops->lookup = sv_lookup;
    ops->forget = sv_forget;
    ops->forget_multi = sv_forget_multi;
    ops->getattr = sv_getattr;
    ops->setattr = sv_setattr;
    ops->readlink = sv_readlink;
    ops->mknod = sv_mknod;
    ops->mkdir = sv_mkdir;
    ops->unlink = sv_unlink;
    ops->rmdir = sv_rmdir;
    ops->symlink = sv_symlink;
    ops->rename = sv_rename;
    ops->link = sv_link;
    ops->open = sv_open;
    ops->read = sv_read;
    ops->write = sv_write;
    ops->release = sv_release;
    ops->fsync = sv_fsync;
    ops->opendir = sv_opendir;
    ops->readdir = sv_readdir;
    ops->readdirplus = sv_readdirplus;
    ops->releasedir = sv_releasedir;
    ops->fsyncdir = sv_fsyncdir;
    ops->setxattr = sv_setxattr;
    ops->getxattr = sv_getxattr;
    ops->listxattr = sv_listxattr;
    ops->removexattr = sv_removexattr;
    ops->access = sv_access;
    ops->create = sv_create;
    ops->fallocate = sv_fallocate;
    ops->lseek = sv_lseek;
    ops->copy_file_range = sv_copy_file_range;
    ops->ioctl = sv_ioctl;
}
