/*
 * compaction_picker.c - deciding what to compact next (metadata only; db_impl runs it).
 *
 * Scores: L0 by the number of files not being compacted over the L0 trigger, Ln by the
 * bytes not being compacted over the level's target; the last level is never a source of
 * an automatic compaction. The best-scoring level with score >= 1 that has a candidate
 * without conflicts wins.
 *
 * Invariants of a compaction_t built here:
 *  - inputs[0] at level is closed: at L0 under key overlap (every L0 file overlapping the
 *    chosen range is in it), at Ln under "same user key at the boundary" (a file whose
 *    first user key equals the inputs' last user key holds older versions of that key and
 *    must come along, or the newer versions would sink below the older ones);
 *  - inputs[1] is every output-level file overlapping the user-key range of inputs[0];
 *  - no input was being_compacted when picked; all are marked being_compacted until
 *    compaction_free (everything under the DB mutex);
 *  - edit already deletes every input and moves the level's compaction pointer to the
 *    largest key of inputs[0], so the next automatic pick at this level starts after it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"
#include "base/dbformat.h"
#include "db/version_set.h"

/* 1 if the internal key is the "end of a range tombstone" sentinel a file may use as its
 * largest key: such a file holds nothing at that user key. */
static int is_range_end_sentinel(slice_t ikey)
{
    return ikey_type(ikey) == TYPE_RANGE_DELETION && ikey_seq(ikey) == MAX_SEQUENCE;
}

static int push(file_list_t *l, file_meta_t *f)
{
    if (vec_grow(&l->v, sizeof(*l->v), l->n, &l->cap, 8))
        return -1;
    l->v[l->n++] = f;
    return 0;
}

static int contains(const file_list_t *l, const file_meta_t *f)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i] == f)
            return 1;
    return 0;
}

static int any_busy(const file_list_t *l)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i]->being_compacted)
            return 1;
    return 0;
}

static uint64_t total_bytes(const file_list_t *l)
{
    uint64_t n = 0;
    for (int i = 0; i < l->n; i++)
        n += l->v[i]->size;
    return n;
}

/* User-key range [*lo, *hi] of the files in a and b (either may be empty). */
static void key_range(const file_list_t *a, const file_list_t *b, slice_t *lo, slice_t *hi)
{
    int first = 1;
    const file_list_t *ls[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        if (!ls[k])
            continue;
        for (int i = 0; i < ls[k]->n; i++) {
            slice_t s = ikey_user_key(ls[k]->v[i]->smallest);
            slice_t l = ikey_user_key(ls[k]->v[i]->largest);
            if (first || slice_compare(s, *lo) < 0)
                *lo = s;
            if (first || slice_compare(l, *hi) > 0)
                *hi = l;
            first = 0;
        }
    }
}

/* Largest internal key among the files of l (l non-empty). */
static slice_t largest_ikey(const file_list_t *l)
{
    slice_t m = l->v[0]->largest;
    for (int i = 1; i < l->n; i++)
        if (ikey_compare(l->v[i]->largest, m) > 0)
            m = l->v[i]->largest;
    return m;
}

/* Level >= 1: adds the files after the inputs that start with the inputs' last user key. */
static int add_boundary_inputs(const version_t *v, int level, file_list_t *in)
{
    if (level == 0 || in->n == 0)
        return 0;
    for (;;) {
        slice_t big = largest_ikey(in);
        if (is_range_end_sentinel(big))
            return 0;
        int idx = version_find_file(v, level, big);
        /* files[idx] holds big itself (it is an input); the candidate is the next one. */
        idx++;
        if (idx >= v->nfiles[level])
            return 0;
        file_meta_t *g = v->files[level][idx];
        if (contains(in, g) ||
            !slice_equal(ikey_user_key(g->smallest), ikey_user_key(big)))
            return 0;
        if (push(in, g))
            return -1;
    }
}

double vset_level_score(version_set_t *vs, int level)
{
    VSET_ASSERT_LOCKED(vs);
    int nl = vset_num_levels(vs);
    if (level < 0 || level >= nl - 1)
        return 0;
    const vset_options_t *o = vset_options(vs);
    version_t *v = vset_current(vs);
    double score;
    if (level == 0) {
        int n = 0;
        for (int i = 0; i < v->nfiles[0]; i++)
            n += !v->files[0][i]->being_compacted;
        score = (double)n / o->level0_file_num_compaction_trigger;
    } else {
        uint64_t bytes = 0;
        for (int i = 0; i < v->nfiles[level]; i++)
            if (!v->files[level][i]->being_compacted)
                bytes += v->files[level][i]->size;
        score = (double)bytes / (double)vset_max_bytes_for_level(vs, level);
    }
    version_unref(v);
    return score;
}

/* Finds inputs for an automatic compaction at level (< last). 1 = found (in0/in1 filled),
 * 0 = none without conflict, -1 = out of memory. */
static int try_level(version_set_t *vs, const version_t *v, int level, file_list_t *in0,
                     file_list_t *in1)
{
    int n = v->nfiles[level];
    if (n == 0)
        return 0;
    if (level == 0)
        for (int i = 0; i < n; i++)
            if (v->files[0][i]->being_compacted)
                return 0; /* one L0 compaction at a time */
    /* Round robin: start at the first file whose largest key is past the pointer. */
    slice_t ptr = vset_compact_pointer(vs, level);
    int start = 0;
    if (ptr.size) {
        if (level == 0) {
            start = n;
            for (int i = 0; i < n; i++)
                if (ikey_compare(v->files[0][i]->largest, ptr) > 0) {
                    start = i;
                    break;
                }
        } else {
            start = version_find_file(v, level, ptr);
            if (start < n && ikey_compare(v->files[level][start]->largest, ptr) == 0)
                start++;
        }
        if (start >= n)
            start = 0;
    }
    for (int k = 0; k < n; k++) {
        file_meta_t *f = v->files[level][(start + k) % n];
        if (f->being_compacted)
            continue;
        in0->n = in1->n = 0;
        slice_t lo, hi;
        if (level == 0) {
            lo = ikey_user_key(f->smallest);
            hi = ikey_user_key(f->largest);
            if (version_overlapping_inputs(v, 0, &lo, &hi, in0))
                return -1;
        } else {
            if (push(in0, f) || add_boundary_inputs(v, level, in0))
                return -1;
            if (any_busy(in0))
                continue;
        }
        key_range(in0, NULL, &lo, &hi);
        if (version_overlapping_inputs(v, level + 1, &lo, &hi, in1))
            return -1;
        if (any_busy(in1)) {
            if (level == 0)
                return 0; /* every L0 candidate expands to the same busy range */
            continue;
        }
        return 1;
    }
    return 0;
}

/* Builds the compaction around chosen inputs (taking over in0/in1). NULL on OOM. */
static compaction_t *make_compaction(version_set_t *vs, version_t *v, int level,
                                     int output_level, file_list_t *in0, file_list_t *in1,
                                     int manual, double score)
{
    compaction_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    const vset_options_t *o = vset_options(vs);
    c->vset = vs;
    c->input_version = v;
    c->level = level;
    c->output_level = output_level;
    c->max_output_file_size = o->target_file_size_base;
    c->max_grandparent_overlap = 10 * o->target_file_size_base;
    c->manual = manual;
    c->score = score;
    c->inputs[0] = *in0;
    c->inputs[1] = *in1;
    memset(in0, 0, sizeof(*in0));
    memset(in1, 0, sizeof(*in1));
    version_edit_init(&c->edit);

    slice_t lo, hi;
    key_range(&c->inputs[0], &c->inputs[1], &lo, &hi);
    if (output_level + 1 < v->num_levels &&
        version_overlapping_inputs(v, output_level + 1, &lo, &hi, &c->grandparents)) {
        compaction_free(c);
        return NULL;
    }
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < c->inputs[w].n; i++)
            version_edit_delete_file(&c->edit, w ? output_level : level,
                                     c->inputs[w].v[i]->number);
    slice_t big = largest_ikey(&c->inputs[0]);
    version_edit_set_compact_pointer(&c->edit, level, big);
    if (c->edit.oom) {
        compaction_free(c);
        return NULL;
    }
    vset_set_compact_pointer(vs, level, big);
    c->trivial_move = output_level != level && c->inputs[0].n == 1 && c->inputs[1].n == 0 &&
                      total_bytes(&c->grandparents) <= c->max_grandparent_overlap;
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < c->inputs[w].n; i++)
            c->inputs[w].v[i]->being_compacted = 1;
    return c;
}

/* Levels ordered by score, descending (only those with score >= 1). */
static int ranked_levels(version_set_t *vs, int *levels, double *scores)
{
    int nl = vset_num_levels(vs), k = 0;
    for (int l = 0; l < nl - 1; l++) {
        double s = vset_level_score(vs, l);
        if (s < 1)
            continue;
        int j = k++;
        while (j > 0 && scores[j - 1] < s) {
            levels[j] = levels[j - 1];
            scores[j] = scores[j - 1];
            j--;
        }
        levels[j] = l;
        scores[j] = s;
    }
    return k;
}

int vset_needs_compaction(version_set_t *vs)
{
    VSET_ASSERT_LOCKED(vs);
    int levels[VE_MAX_LEVELS];
    double scores[VE_MAX_LEVELS];
    int k = ranked_levels(vs, levels, scores);
    if (k == 0)
        return 0;
    version_t *v = vset_current(vs);
    file_list_t in0 = {0}, in1 = {0};
    int found = 0;
    for (int i = 0; i < k && !found; i++)
        found = try_level(vs, v, levels[i], &in0, &in1) != 0;
    file_list_free(&in0);
    file_list_free(&in1);
    version_unref(v);
    return found;
}

compaction_t *vset_pick_compaction(version_set_t *vs)
{
    VSET_ASSERT_LOCKED(vs);
    int levels[VE_MAX_LEVELS];
    double scores[VE_MAX_LEVELS];
    int k = ranked_levels(vs, levels, scores);
    if (k == 0)
        return NULL;
    version_t *v = vset_current(vs);
    file_list_t in0 = {0}, in1 = {0};
    for (int i = 0; i < k; i++) {
        int r = try_level(vs, v, levels[i], &in0, &in1);
        if (r < 0)
            break;
        if (r == 1) {
            compaction_t *c = make_compaction(vs, v, levels[i], levels[i] + 1, &in0, &in1, 0,
                                              scores[i]);
            if (c)
                return c; /* c owns the version reference */
            break;
        }
    }
    file_list_free(&in0);
    file_list_free(&in1);
    version_unref(v);
    return NULL;
}

status_t vset_compact_range(version_set_t *vs, int level, const slice_t *begin,
                            const slice_t *end, compaction_t **out)
{
    VSET_ASSERT_LOCKED(vs);
    *out = NULL;
    int nl = vset_num_levels(vs);
    if (level < 0 || level >= nl)
        return st_error(ST_INVALID_ARGUMENT, "%s: compact_range: level %d out of range "
                        "(num_levels %d)", vset_dir(vs), level, nl);
    version_t *v = vset_current(vs);
    file_list_t in0 = {0}, in1 = {0};
    status_t s = NULL;
    int output_level = level == nl - 1 ? level : level + 1;
    if (version_overlapping_inputs(v, level, begin, end, &in0) ||
        add_boundary_inputs(v, level, &in0)) {
        s = st_error(ST_IO_ERROR, "%s: out of memory picking a compaction", vset_dir(vs));
        goto fail;
    }
    if (in0.n == 0)
        goto fail;
    if (output_level != level) {
        slice_t lo, hi;
        key_range(&in0, NULL, &lo, &hi);
        if (version_overlapping_inputs(v, output_level, &lo, &hi, &in1)) {
            s = st_error(ST_IO_ERROR, "%s: out of memory picking a compaction", vset_dir(vs));
            goto fail;
        }
    }
    if (any_busy(&in0) || any_busy(&in1)) {
        s = st_error(ST_BUSY, "%s: compact_range: files of level %d or %d in the range are "
                     "being compacted", vset_dir(vs), level, output_level);
        goto fail;
    }
    *out = make_compaction(vs, v, level, output_level, &in0, &in1, 1, 0);
    if (*out)
        return NULL;
    s = st_error(ST_IO_ERROR, "%s: out of memory picking a compaction", vset_dir(vs));
fail:
    file_list_free(&in0);
    file_list_free(&in1);
    version_unref(v);
    return s;
}

double vset_deletion_share(const file_meta_t *f)
{
    double dels = (double)f->num_deletions + VSET_RANGE_DEL_WEIGHT * (double)f->num_range_dels;
    double all = (double)f->num_entries + (double)f->num_range_dels;
    if (dels <= 0 || all <= 0)
        return 0;
    return dels >= all ? 1.0 : dels / all;
}

compaction_t *vset_pick_deletion_compaction(version_set_t *vs, uint64_t oldest_snapshot)
{
    VSET_ASSERT_LOCKED(vs);
    version_t *v = vset_current(vs);
    file_meta_t *best = NULL;
    int best_level = -1;
    double best_share = 0;
    for (int l = 0; l < v->num_levels; l++) {
        for (int i = 0; i < v->nfiles[l]; i++) {
            file_meta_t *f = v->files[l][i];
            double share = vset_deletion_share(f);
            if (f->being_compacted || f->largest_seq > oldest_snapshot || share < 0.5)
                continue;
            if (share > best_share) {
                best = f;
                best_level = l;
                best_share = share;
            }
        }
    }
    compaction_t *c = NULL;
    if (best) {
        slice_t lo = ikey_user_key(best->smallest), hi = ikey_user_key(best->largest);
        status_t s = vset_compact_range(vs, best_level, &lo, &hi, &c);
        st_free(s); /* Busy or out of memory: no pick this time */
        if (c) {
            c->trivial_move = 0;
            c->manual = 0;
            c->score = best_share;
        }
    }
    version_unref(v);
    return c;
}

void compaction_free(compaction_t *c)
{
    if (!c)
        return;
    for (int w = 0; w < 2; w++) {
        for (int i = 0; i < c->inputs[w].n; i++)
            c->inputs[w].v[i]->being_compacted = 0;
        file_list_free(&c->inputs[w]);
    }
    file_list_free(&c->grandparents);
    version_edit_free(&c->edit);
    version_unref(c->input_version);
    free(c);
}

void compaction_set_trivial_move_edit(compaction_t *c)
{
    if (c->inputs[0].n == 1)
        version_edit_add_file(&c->edit, c->output_level, c->inputs[0].v[0]);
}

int compaction_should_stop_before(compaction_t *c, slice_t ikey)
{
    const file_list_t *gp = &c->grandparents;
    while (c->gp_index < gp->n && ikey_compare(ikey, gp->v[c->gp_index]->largest) > 0) {
        if (c->seen_key)
            c->overlapped_bytes += gp->v[c->gp_index]->size;
        c->gp_index++;
    }
    c->seen_key = 1;
    if (c->overlapped_bytes > c->max_grandparent_overlap) {
        c->overlapped_bytes = 0;
        return 1;
    }
    return 0;
}

int compaction_is_base_level_for_key(const compaction_t *c, slice_t user_key)
{
    const version_t *v = c->input_version;
    for (int l = c->output_level + 1; l < v->num_levels; l++)
        if (version_overlap_in_level(v, l, &user_key, &user_key))
            return 0;
    return 1;
}

int compaction_is_base_level_for_range(const compaction_t *c, slice_t start, slice_t end)
{
    const version_t *v = c->input_version;
    if (slice_compare(start, end) >= 0)
        return 1;
    for (int l = c->output_level + 1; l < v->num_levels; l++) {
        /* Files touching [start, end]; a file starting exactly at end is outside. */
        file_list_t hits = {0};
        if (version_overlapping_inputs(v, l, &start, &end, &hits)) {
            file_list_free(&hits);
            return 0; /* out of memory: the safe answer */
        }
        int overlap = 0;
        for (int i = 0; i < hits.n && !overlap; i++)
            overlap = slice_compare(ikey_user_key(hits.v[i]->smallest), end) < 0;
        file_list_free(&hits);
        if (overlap)
            return 0;
    }
    return 1;
}

uint64_t compaction_input_bytes(const compaction_t *c)
{
    return total_bytes(&c->inputs[0]) + total_bytes(&c->inputs[1]);
}
