/*
 * c_api.c - the option, batch and iterator parts of lsm.h, and the small conveniences
 * (lsm_put/lsm_delete/lsm_delete_range as one-record batches, lsm_free, lsm_error_errno).
 *
 * The DB operations themselves live in db_open.c, db_write.c, db_read.c and db_stats.c.
 * Every function here is a thin wrapper: no state beyond the objects it is handed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_impl.h"
#include "db/options.h"
#include "write/write_batch.h"

/* ---- options ---- */

lsm_options_t *lsm_options_create(void)
{
    lsm_options_t *o = malloc(sizeof(*o));
    if (o)
        options_init_defaults(o);
    return o;
}
void lsm_options_destroy(lsm_options_t *o) { free(o); }
void lsm_options_set_create_if_missing(lsm_options_t *o, unsigned char v) { o->create_if_missing = v; }
void lsm_options_set_error_if_exists(lsm_options_t *o, unsigned char v) { o->error_if_exists = v; }
void lsm_options_set_paranoid_checks(lsm_options_t *o, unsigned char v) { o->paranoid_checks = v; }
void lsm_options_set_write_buffer_size(lsm_options_t *o, size_t s) { o->write_buffer_size = s; }
void lsm_options_set_max_write_buffer_number(lsm_options_t *o, int n) { o->max_write_buffer_number = n; }
void lsm_options_set_enable_pipelined_write(lsm_options_t *o, unsigned char v) { o->enable_pipelined_write = v; }
void lsm_options_set_allow_concurrent_memtable_write(lsm_options_t *o, unsigned char v)
{
    o->allow_concurrent_memtable_write = v;
}
void lsm_options_set_compression(lsm_options_t *o, int t) { o->compression = t; }
void lsm_options_set_level0_file_num_compaction_trigger(lsm_options_t *o, int n)
{
    o->level0_file_num_compaction_trigger = n;
}
void lsm_options_set_level0_slowdown_writes_trigger(lsm_options_t *o, int n)
{
    o->level0_slowdown_writes_trigger = n;
}
void lsm_options_set_level0_stop_writes_trigger(lsm_options_t *o, int n) { o->level0_stop_writes_trigger = n; }
void lsm_options_set_max_bytes_for_level_base(lsm_options_t *o, uint64_t n) { o->max_bytes_for_level_base = n; }
void lsm_options_set_max_bytes_for_level_multiplier(lsm_options_t *o, double n)
{
    o->max_bytes_for_level_multiplier = n;
}
void lsm_options_set_target_file_size_base(lsm_options_t *o, uint64_t n) { o->target_file_size_base = n; }
void lsm_options_set_num_levels(lsm_options_t *o, int n) { o->num_levels = n; }
void lsm_options_set_disable_auto_compactions(lsm_options_t *o, int d) { o->disable_auto_compactions = d; }
void lsm_options_set_sst_partition_prefix_len(lsm_options_t *o, int n) { o->sst_partition_prefix_len = n; }
void lsm_options_set_block_cache_size(lsm_options_t *o, size_t b) { o->block_cache_size = b; }
void lsm_options_set_bloom_bits_per_key(lsm_options_t *o, int b) { o->bloom_bits_per_key = b; }
void lsm_options_set_block_size(lsm_options_t *o, size_t b) { o->block_size = b; }
void lsm_options_set_max_open_files(lsm_options_t *o, int n) { o->max_open_files = n; }
void lsm_options_set_mmap_reads(lsm_options_t *o, int on) { o->mmap_reads = on != 0; }
void lsm_options_set_reserve_bytes(lsm_options_t *o, uint64_t b) { o->reserve_bytes = b; }
void lsm_options_set_idle_flush_seconds(lsm_options_t *o, int s) { o->idle_flush_seconds = s < 0 ? 0 : s; }
void lsm_options_set_info_log(lsm_options_t *o, lsm_logger_fn fn, void *arg)
{
    o->info_log = fn;
    o->info_log_arg = arg;
}

lsm_readoptions_t *lsm_readoptions_create(void)
{
    lsm_readoptions_t *o = calloc(1, sizeof(*o));
    if (o) {
        o->verify_checksums = 1;
        o->fill_cache = 1;
        buf_init(&o->lower);
        buf_init(&o->upper);
    }
    return o;
}
void lsm_readoptions_destroy(lsm_readoptions_t *o)
{
    if (!o)
        return;
    buf_free(&o->lower);
    buf_free(&o->upper);
    free(o);
}
void lsm_readoptions_set_verify_checksums(lsm_readoptions_t *o, unsigned char v) { o->verify_checksums = v; }
void lsm_readoptions_set_fill_cache(lsm_readoptions_t *o, unsigned char v) { o->fill_cache = v; }
void lsm_readoptions_set_snapshot(lsm_readoptions_t *o, const lsm_snapshot_t *s) { o->snapshot = s; }
void lsm_readoptions_set_iterate_upper_bound(lsm_readoptions_t *o, const char *k, size_t n)
{
    buf_clear(&o->upper);
    o->has_upper = k != NULL;
    if (k)
        buf_append(&o->upper, k, n);
}
void lsm_readoptions_set_iterate_lower_bound(lsm_readoptions_t *o, const char *k, size_t n)
{
    buf_clear(&o->lower);
    o->has_lower = k != NULL;
    if (k)
        buf_append(&o->lower, k, n);
}

lsm_writeoptions_t *lsm_writeoptions_create(void) { return calloc(1, sizeof(lsm_writeoptions_t)); }
void lsm_writeoptions_destroy(lsm_writeoptions_t *o) { free(o); }
void lsm_writeoptions_set_sync(lsm_writeoptions_t *o, unsigned char v) { o->sync = v; }
void lsm_writeoptions_disable_WAL(lsm_writeoptions_t *o, int d) { o->disable_wal = d; }

lsm_flushoptions_t *lsm_flushoptions_create(void)
{
    lsm_flushoptions_t *o = malloc(sizeof(*o));
    if (o)
        o->wait = 1;
    return o;
}
void lsm_flushoptions_destroy(lsm_flushoptions_t *o) { free(o); }
void lsm_flushoptions_set_wait(lsm_flushoptions_t *o, unsigned char v) { o->wait = v; }

/* ---- write batches ---- */

struct lsm_writebatch_t {
    write_batch_t wb;
};

write_batch_t *lsm_writebatch_rep(lsm_writebatch_t *b) { return &b->wb; }

lsm_writebatch_t *lsm_writebatch_create(void)
{
    lsm_writebatch_t *b = malloc(sizeof(*b));
    if (b)
        wb_init(&b->wb);
    return b;
}

lsm_writebatch_t *lsm_writebatch_create_from(const char *rep, size_t size)
{
    lsm_writebatch_t *b = lsm_writebatch_create();
    if (!b)
        return NULL;
    status_t st = wb_set_rep(&b->wb, slice_make(rep, size));
    if (st) {
        st_free(st);
        lsm_writebatch_destroy(b);
        return NULL;
    }
    return b;
}

void lsm_writebatch_destroy(lsm_writebatch_t *b)
{
    if (!b)
        return;
    wb_destroy(&b->wb);
    free(b);
}
void lsm_writebatch_clear(lsm_writebatch_t *b) { wb_clear(&b->wb); }
int lsm_writebatch_count(lsm_writebatch_t *b) { return (int)wb_count(&b->wb); }
void lsm_writebatch_put(lsm_writebatch_t *b, const char *k, size_t klen, const char *v, size_t vlen)
{
    wb_put(&b->wb, slice_make(k, klen), slice_make(v, vlen));
}
void lsm_writebatch_delete(lsm_writebatch_t *b, const char *k, size_t klen)
{
    wb_delete(&b->wb, slice_make(k, klen));
}
void lsm_writebatch_delete_range(lsm_writebatch_t *b, const char *s, size_t slen, const char *e,
                                 size_t elen)
{
    wb_delete_range(&b->wb, slice_make(s, slen), slice_make(e, elen));
}
const char *lsm_writebatch_data(lsm_writebatch_t *b, size_t *size)
{
    *size = wb_byte_size(&b->wb);
    return b->wb.rep.data;
}

typedef struct {
    void *state;
    void (*put)(void *, const char *, size_t, const char *, size_t);
    void (*deleted)(void *, const char *, size_t);
    void (*deleted_range)(void *, const char *, size_t, const char *, size_t);
} iterate_ctx_t;

static int it_put(void *arg, uint64_t seq, slice_t k, slice_t v)
{
    (void)seq;
    iterate_ctx_t *c = arg;
    if (c->put)
        c->put(c->state, k.data, k.size, v.data, v.size);
    return 0;
}
static int it_del(void *arg, uint64_t seq, slice_t k)
{
    (void)seq;
    iterate_ctx_t *c = arg;
    if (c->deleted)
        c->deleted(c->state, k.data, k.size);
    return 0;
}
static int it_range(void *arg, uint64_t seq, slice_t s, slice_t e)
{
    (void)seq;
    iterate_ctx_t *c = arg;
    if (c->deleted_range)
        c->deleted_range(c->state, s.data, s.size, e.data, e.size);
    return 0;
}

void lsm_writebatch_iterate_ranges(lsm_writebatch_t *b, void *state,
                                   void (*put)(void *, const char *, size_t, const char *, size_t),
                                   void (*deleted)(void *, const char *, size_t),
                                   void (*deleted_range)(void *, const char *, size_t, const char *,
                                                         size_t))
{
    iterate_ctx_t c = {state, put, deleted, deleted_range};
    static const wb_handler_t h = {it_put, it_del, it_range};
    st_free(wb_iterate(wb_rep(&b->wb), &h, &c));
}

void lsm_writebatch_iterate(lsm_writebatch_t *b, void *state,
                            void (*put)(void *, const char *, size_t, const char *, size_t),
                            void (*deleted)(void *, const char *, size_t))
{
    lsm_writebatch_iterate_ranges(b, state, put, deleted, NULL);
}

/* ---- single-record writes ---- */

static void write_one(lsm_t *db, const lsm_writeoptions_t *wo, write_batch_t *wb, char **errptr)
{
    status_t st = wb_oom(wb) ? st_io(ENOMEM, "write batch") : db_write(db, wo, wb);
    st_to_errptr(st, errptr);
    wb_destroy(wb);
}

void lsm_put(lsm_t *db, const lsm_writeoptions_t *wo, const char *k, size_t klen, const char *v,
             size_t vlen, char **errptr)
{
    write_batch_t wb;
    wb_init(&wb);
    wb_put(&wb, slice_make(k, klen), slice_make(v, vlen));
    write_one(db, wo, &wb, errptr);
}

void lsm_delete(lsm_t *db, const lsm_writeoptions_t *wo, const char *k, size_t klen, char **errptr)
{
    write_batch_t wb;
    wb_init(&wb);
    wb_delete(&wb, slice_make(k, klen));
    write_one(db, wo, &wb, errptr);
}

void lsm_delete_range(lsm_t *db, const lsm_writeoptions_t *wo, const char *s, size_t slen,
                      const char *e, size_t elen, char **errptr)
{
    write_batch_t wb;
    wb_init(&wb);
    wb_delete_range(&wb, slice_make(s, slen), slice_make(e, elen));
    write_one(db, wo, &wb, errptr);
}

void lsm_write(lsm_t *db, const lsm_writeoptions_t *wo, lsm_writebatch_t *b, char **errptr)
{
    status_t st = wb_oom(&b->wb) ? st_io(ENOMEM, "write batch") : db_write(db, wo, &b->wb);
    st_to_errptr(st, errptr);
}

/* ---- iterators ---- */

struct lsm_iterator_t {
    iter_t *it;
};

static lsm_iterator_t *lsm_iterator_wrap(iter_t *it)
{
    if (!it)
        return NULL;
    lsm_iterator_t *w = malloc(sizeof(*w));
    if (!w) {
        iter_destroy(it);
        return NULL;
    }
    w->it = it;
    return w;
}

lsm_iterator_t *lsm_create_iterator(lsm_t *db, const lsm_readoptions_t *ro)
{
    return lsm_iterator_wrap(db_new_iterator(db, ro));
}

void lsm_iter_destroy(lsm_iterator_t *i)
{
    if (!i)
        return;
    iter_destroy(i->it);
    free(i);
}
unsigned char lsm_iter_valid(const lsm_iterator_t *i) { return (unsigned char)iter_valid(i->it); }
void lsm_iter_seek_to_first(lsm_iterator_t *i) { iter_seek_to_first(i->it); }
void lsm_iter_seek_to_last(lsm_iterator_t *i) { iter_seek_to_last(i->it); }
void lsm_iter_seek(lsm_iterator_t *i, const char *k, size_t n) { iter_seek(i->it, slice_make(k, n)); }
void lsm_iter_seek_for_prev(lsm_iterator_t *i, const char *k, size_t n)
{
    iter_seek_for_prev(i->it, slice_make(k, n));
}
void lsm_iter_next(lsm_iterator_t *i) { iter_next(i->it); }
void lsm_iter_prev(lsm_iterator_t *i) { iter_prev(i->it); }
const char *lsm_iter_key(const lsm_iterator_t *i, size_t *klen)
{
    slice_t k = iter_key(i->it);
    *klen = k.size;
    return k.data;
}
const char *lsm_iter_value(const lsm_iterator_t *i, size_t *vlen)
{
    slice_t v = iter_value(i->it);
    *vlen = v.size;
    return v.data;
}
void lsm_iter_get_error(const lsm_iterator_t *i, char **errptr)
{
    status_t st = iter_status(i->it);
    if (st)
        st_to_errptr(st_copy(st), errptr);
}

/* ---- utility ---- */

void lsm_free(void *p) { free(p); }

int lsm_error_errno(const char *err)
{
    if (!err)
        return 0;
    st_code_t code;
    int e;
    st_string_info(err, &code, &e); /* the code and errno the status carried; no text */
    switch (code) {
    case ST_BUSY: return EBUSY;
    case ST_INVALID_ARGUMENT: return EINVAL;
    case ST_NOT_FOUND: return ENOENT;
    case ST_NOT_SUPPORTED: return ENOTSUP;
    case ST_CORRUPTION: return EUCLEAN;
    default: break;
    }
    /* An I/O error: its errno when it is one a caller can act on, else EIO. */
    static const int io_errnos[] = {ENOSPC, EDQUOT, EROFS, ENOMEM, EFBIG, EACCES, EPERM};
    for (size_t i = 0; i < sizeof(io_errnos) / sizeof(io_errnos[0]); i++)
        if (e == io_errnos[i])
            return e;
    return EIO;
}
