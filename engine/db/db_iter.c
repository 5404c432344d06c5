/*
 * db_iter.c - the user-key view of a merged internal iterator at one snapshot (see
 * db_iter.h). The scheme is LevelDB's DBIter, extended with range tombstones and bounds.
 *
 * Entries considered: sequence <= snapshot and type VALUE or DELETION (anything else in
 * the stream is passed over). The state of a user key is decided by its newest such entry:
 * a VALUE that no tombstone with a larger sequence (<= snapshot) covers makes it live,
 * anything else makes it absent.
 *
 * Invariants while valid:
 *   - forward: the internal iterator is at the entry being yielded (the newest considered
 *     entry of the current user key); key() and value() read straight from it;
 *   - reverse: the current user key and value are copied into `saved_key`/`saved_val`, and
 *     the internal iterator is at the last entry before every entry of that user key whose
 *     sequence is <= snapshot (entries in between are all newer than the snapshot), or
 *     invalid if there is none.
 * Bounds: no entry with user key < lower or >= upper is ever yielded; scans stop at the
 * first entry outside them.
 */
#include "db/db_iter.h"

#include <stdlib.h>

#include "base/dbformat.h"
#include "util/buf.h"

enum { DIR_FWD, DIR_REV };

typedef struct {
    iter_t base;
    iter_t *in;
    uint64_t snapshot;
    uint64_t (*max_covering)(void *arg, slice_t user_key, uint64_t snapshot);
    void *cover_arg;
    buf_t lower, upper;
    int has_lower, has_upper;
    void (*cleanup)(void *);
    void *cleanup_arg;

    int valid;
    int dir;
    buf_t saved_key; /* reverse: current user key; forward: key being skipped */
    buf_t saved_val; /* reverse: current value */
    buf_t seek_buf;  /* scratch for internal seek keys */
    status_t st;     /* our own error (malformed key, out of memory) */
} db_iter_t;

static inline db_iter_t *di(iter_t *it) { return (db_iter_t *)it; }

static void set_error(db_iter_t *d, status_t s)
{
    if (!d->st)
        d->st = s;
    else
        st_free(s);
    d->valid = 0;
}

/* Parses the internal iterator's current key; on a malformed key records corruption. */
static int parse_cur(db_iter_t *d, slice_t *uk, uint64_t *seq, value_type_t *type)
{
    slice_t ik = iter_key(d->in);
    if (!ikey_valid(ik)) {
        set_error(d, st_error(ST_CORRUPTION, "db iterator: malformed internal key of %zu bytes",
                              ik.size));
        return -1;
    }
    uint64_t tr = ikey_trailer(ik);
    *uk = ikey_user_key(ik);
    *seq = tr >> 8;
    *type = (value_type_t)(tr & 0xff);
    return 0;
}

static inline int below_lower(db_iter_t *d, slice_t uk)
{
    return d->has_lower && slice_compare(uk, buf_slice(&d->lower)) < 0;
}

static inline int at_or_above_upper(db_iter_t *d, slice_t uk)
{
    return d->has_upper && slice_compare(uk, buf_slice(&d->upper)) >= 0;
}

/* 1 if a tombstone visible at the snapshot and newer than seq covers uk. */
static inline int covered(db_iter_t *d, slice_t uk, uint64_t seq)
{
    return d->max_covering && d->max_covering(d->cover_arg, uk, d->snapshot) > seq;
}

static void save(buf_t *b, slice_t s)
{
    buf_clear(b);
    buf_append(b, s.data, s.size);
}

/* Builds the internal key (uk, seq, type) in seek_buf. NULL when out of memory. */
static slice_t *seek_key(db_iter_t *d, slice_t uk, uint64_t seq, value_type_t type, slice_t *out)
{
    buf_clear(&d->seek_buf);
    if (buf_reserve(&d->seek_buf, uk.size + 8) < 0) {
        set_error(d, st_error(ST_IO_ERROR, "db iterator: out of memory for a seek key"));
        return NULL;
    }
    ikey_encode(d->seek_buf.data, uk, seq, type);
    d->seek_buf.len = uk.size + 8;
    *out = buf_slice(&d->seek_buf);
    return out;
}

/* Forward scan from the internal iterator's position to the next live user key. With
 * `skipping`, entries of user keys <= saved_key are passed over. */
static void find_next_user_entry(db_iter_t *d, int skipping)
{
    d->dir = DIR_FWD;
    for (; iter_valid(d->in); iter_next(d->in)) {
        slice_t uk;
        uint64_t seq;
        value_type_t type;
        if (parse_cur(d, &uk, &seq, &type) < 0)
            return;
        if (at_or_above_upper(d, uk))
            break;
        if (seq > d->snapshot)
            continue;
        if (type != TYPE_VALUE && type != TYPE_DELETION)
            continue;
        if (skipping && slice_compare(uk, buf_slice(&d->saved_key)) <= 0)
            continue;
        /* The newest considered entry of uk: it decides. Either way, older entries of uk
         * are skipped from here on. */
        if (type == TYPE_VALUE && !covered(d, uk, seq)) {
            d->valid = 1;
            return;
        }
        save(&d->saved_key, uk);
        if (d->saved_key.oom) {
            set_error(d, st_error(ST_IO_ERROR, "db iterator: out of memory"));
            return;
        }
        skipping = 1;
    }
    d->valid = 0;
}

/* Backward scan from the internal iterator's position to the previous live user key,
 * leaving it in saved_key/saved_val. Entries of one user key come newest-last in this
 * direction, so the last considered entry of a key decides its state. */
static void find_prev_user_entry(db_iter_t *d)
{
    d->dir = DIR_REV;
    int live = 0; /* saved_key/saved_val hold a live key still being completed */
    for (; iter_valid(d->in); iter_prev(d->in)) {
        slice_t uk;
        uint64_t seq;
        value_type_t type;
        if (parse_cur(d, &uk, &seq, &type) < 0)
            return;
        if (below_lower(d, uk))
            break;
        if (at_or_above_upper(d, uk))
            continue;
        if (seq > d->snapshot || (type != TYPE_VALUE && type != TYPE_DELETION))
            continue;
        if (live && slice_compare(uk, buf_slice(&d->saved_key)) < 0)
            break; /* reached the key before a finished live one */
        if (type == TYPE_VALUE && !covered(d, uk, seq)) {
            save(&d->saved_key, uk);
            save(&d->saved_val, iter_value(d->in));
            if (d->saved_key.oom || d->saved_val.oom) {
                set_error(d, st_error(ST_IO_ERROR, "db iterator: out of memory"));
                return;
            }
            live = 1;
        } else {
            live = 0;
        }
    }
    d->valid = live;
}

/* ---- iter ops --------------------------------------------------------------------------- */

static int dbi_valid(iter_t *it) { return di(it)->valid; }

static void dbi_seek(iter_t *it, slice_t target)
{
    db_iter_t *d = di(it);
    d->valid = 0;
    if (d->st)
        return;
    if (d->has_lower && slice_compare(target, buf_slice(&d->lower)) < 0)
        target = buf_slice(&d->lower);
    slice_t k;
    if (!seek_key(d, target, d->snapshot, TYPE_FOR_SEEK, &k))
        return;
    iter_seek(d->in, k);
    find_next_user_entry(d, 0);
}

static void dbi_seek_to_first(iter_t *it)
{
    db_iter_t *d = di(it);
    if (d->has_lower) {
        dbi_seek(it, buf_slice(&d->lower));
        return;
    }
    d->valid = 0;
    if (d->st)
        return;
    iter_seek_to_first(d->in);
    find_next_user_entry(d, 0);
}

/* Positions the internal iterator at the last entry with user key < upper. */
static void position_before_upper(db_iter_t *d)
{
    slice_t k;
    /* (upper, MAX_SEQUENCE, TYPE_FOR_SEEK) is the first possible entry of upper. */
    if (!seek_key(d, buf_slice(&d->upper), MAX_SEQUENCE, TYPE_FOR_SEEK, &k))
        return;
    iter_seek(d->in, k);
    if (iter_valid(d->in))
        iter_prev(d->in);
    else if (!iter_status(d->in))
        iter_seek_to_last(d->in);
}

static void dbi_seek_to_last(iter_t *it)
{
    db_iter_t *d = di(it);
    d->valid = 0;
    if (d->st)
        return;
    if (d->has_upper) {
        position_before_upper(d);
        if (d->st)
            return;
    } else {
        iter_seek_to_last(d->in);
    }
    find_prev_user_entry(d);
}

static void dbi_seek_for_prev(iter_t *it, slice_t target)
{
    db_iter_t *d = di(it);
    d->valid = 0;
    if (d->st)
        return;
    if (d->has_upper && slice_compare(target, buf_slice(&d->upper)) >= 0) {
        dbi_seek_to_last(it);
        return;
    }
    /* (target, 0, DELETION) is the last possible entry of target. */
    slice_t k;
    if (!seek_key(d, target, 0, TYPE_DELETION, &k))
        return;
    iter_seek_for_prev(d->in, k);
    find_prev_user_entry(d);
}

static void dbi_next(iter_t *it)
{
    db_iter_t *d = di(it);
    if (!d->valid)
        return;
    if (d->dir == DIR_REV) {
        /* The internal iterator is before the entries of saved_key: step into them and
         * let the skip pass over them. */
        if (iter_valid(d->in)) {
            iter_next(d->in);
        } else {
            if (iter_status(d->in)) {
                d->valid = 0;
                return;
            }
            iter_seek_to_first(d->in);
        }
    } else {
        save(&d->saved_key, ikey_user_key(iter_key(d->in)));
        if (d->saved_key.oom) {
            set_error(d, st_error(ST_IO_ERROR, "db iterator: out of memory"));
            return;
        }
        iter_next(d->in);
    }
    find_next_user_entry(d, 1);
}

static void dbi_prev(iter_t *it)
{
    db_iter_t *d = di(it);
    if (!d->valid)
        return;
    if (d->dir == DIR_FWD) {
        /* Step back past every entry of the current user key (the newer, invisible ones
         * come before the current entry). */
        save(&d->saved_key, ikey_user_key(iter_key(d->in)));
        if (d->saved_key.oom) {
            set_error(d, st_error(ST_IO_ERROR, "db iterator: out of memory"));
            return;
        }
        for (;;) {
            iter_prev(d->in);
            if (!iter_valid(d->in)) {
                d->valid = 0;
                d->dir = DIR_REV;
                return;
            }
            if (slice_compare(ikey_user_key(iter_key(d->in)), buf_slice(&d->saved_key)) < 0)
                break;
        }
    }
    find_prev_user_entry(d);
}

static slice_t dbi_key(iter_t *it)
{
    db_iter_t *d = di(it);
    if (d->dir == DIR_FWD)
        return ikey_user_key(iter_key(d->in));
    return buf_slice(&d->saved_key);
}

static slice_t dbi_value(iter_t *it)
{
    db_iter_t *d = di(it);
    if (d->dir == DIR_FWD)
        return iter_value(d->in);
    return buf_slice(&d->saved_val);
}

static status_t dbi_status(iter_t *it)
{
    db_iter_t *d = di(it);
    return d->st ? d->st : iter_status(d->in);
}

static void dbi_destroy(iter_t *it)
{
    db_iter_t *d = di(it);
    iter_destroy(d->in);
    if (d->cleanup)
        d->cleanup(d->cleanup_arg);
    buf_free(&d->lower);
    buf_free(&d->upper);
    buf_free(&d->saved_key);
    buf_free(&d->saved_val);
    buf_free(&d->seek_buf);
    st_free(d->st);
    free(d);
}

static const iter_ops_t db_iter_ops = {
    dbi_valid, dbi_seek_to_first, dbi_seek_to_last, dbi_seek,  dbi_seek_for_prev, dbi_next,
    dbi_prev,  dbi_key,           dbi_value,        dbi_status, dbi_destroy,
};

iter_t *db_iter_new(const db_iter_args_t *args)
{
    db_iter_t *d = calloc(1, sizeof(*d));
    if (!d) {
        iter_destroy(args->internal);
        if (args->cleanup)
            args->cleanup(args->cleanup_arg);
        return NULL;
    }
    d->base.ops = &db_iter_ops;
    d->in = args->internal;
    d->snapshot = args->snapshot > MAX_SEQUENCE ? MAX_SEQUENCE : args->snapshot;
    d->max_covering = args->max_covering;
    d->cover_arg = args->cover_arg;
    d->cleanup = args->cleanup;
    d->cleanup_arg = args->cleanup_arg;
    buf_init(&d->lower);
    buf_init(&d->upper);
    buf_init(&d->saved_key);
    buf_init(&d->saved_val);
    buf_init(&d->seek_buf);
    d->dir = DIR_FWD;
    if (args->lower.data) {
        d->has_lower = 1;
        buf_append(&d->lower, args->lower.data, args->lower.size);
    }
    if (args->upper.data) {
        d->has_upper = 1;
        buf_append(&d->upper, args->upper.data, args->upper.size);
    }
    if (d->lower.oom || d->upper.oom) {
        dbi_destroy(&d->base);
        return NULL;
    }
    return &d->base;
}
