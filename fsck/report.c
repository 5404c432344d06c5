/*
 * report.c - how fsck.lsmfs talks: problems and their questions, pass headers, the end of
 * a run (sync, close, exit status), cancellation.
 *
 * Output follows e2fsck: problems go to stdout, one sentence each, followed by the question
 * and the answer ("Clear? yes"); preen mode prints "STORE: <problem> CLEARED." and stops
 * with "UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY." at a problem it may not fix alone.
 * Operational errors go to stderr. Every problem is counted: fixed, or left (exit 4).
 */
#include "fsck.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const struct {
    const char *ask;      /* the question */
    const char *done;     /* preen mode's past tense */
} questions[] = {
    [Q_NONE] = {"", ""},
    [Q_FIX] = {"Fix", "FIXED"},
    [Q_CLEAR] = {"Clear", "CLEARED"},
    [Q_DELETE] = {"Delete", "DELETED"},
    [Q_CONNECT] = {"Connect to /lost+found", "CONNECTED"},
    [Q_RECLAIM] = {"Reclaim", "RECLAIMED"},
    [Q_CREATE] = {"Create", "CREATED"},
    [Q_RAISE] = {"Raise", "RAISED"},
    [Q_RECOVER] = {"Recover", "RECOVERED"},
    [Q_REBUILD] = {"Rebuild", "REBUILT"},
};

/* Interactive answer: 1 yes, 0 no. 'a' means yes to everything from here on; end of
 * input means no to everything (as e2fsck does when its terminal goes away). */
static int ask_terminal(fsck_t *f, const char *question)
{
    if (f->yes_all) {
        printf("%s? yes\n\n", question);
        return 1;
    }
    for (;;) {
        printf("%s<y>? ", question);
        fflush(stdout);
        char line[64];
        if (!fgets(line, sizeof(line), stdin)) {
            printf("no (end of input: answering no from here on)\n\n");
            f->mode = FSCK_NO;
            return 0;
        }
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        int c = tolower((unsigned char)*p);
        if (c == '\n' || c == '\0' || c == 'y') {
            printf("\n");
            return 1;
        }
        if (c == 'n') {
            printf("\n");
            return 0;
        }
        if (c == 'a') {
            f->yes_all = 1;
            printf("yes to all\n\n");
            return 1;
        }
        printf("please answer y (yes), n (no) or a (yes to all)\n");
    }
}

int fsck_problem(fsck_t *f, unsigned flags, fsck_q_t q, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fsck_progress_done(f);

    if (q == Q_NONE) {
        f->warnings++;
        if (f->mode == FSCK_PREEN)
            printf("%s: %s\n", f->name, msg);
        else
            printf("%s\n", msg);
        return 0;
    }
    f->problems++;
    int yes = 0;
    switch (f->mode) {
    case FSCK_NO:
        printf("%s\n%s? no\n\n", msg, questions[q].ask);
        break;
    case FSCK_YES:
        printf("%s\n%s? yes\n\n", msg, questions[q].ask);
        yes = 1;
        break;
    case FSCK_PREEN:
        if (!(flags & FSCK_PREEN_OK)) {
            printf("%s: %s\n\n%s: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.\n"
                   "\t(i.e., without -a or -p options)\n", f->name, msg, f->name);
            f->unfixed++;
            fsck_finish(f, FSCK_EXIT_UNCORRECTED);
        }
        printf("%s: %s  %s.\n", f->name, msg, questions[q].done);
        yes = 1;
        break;
    case FSCK_ASK:
        printf("%s\n", msg);
        yes = ask_terminal(f, questions[q].ask);
        break;
    }
    if (yes && f->read_only)
        yes = 0;  /* cannot happen (read-only only with -n), but never write then */
    if (yes)
        f->fixed++;
    else
        f->unfixed++;
    fflush(stdout);
    return yes;
}

void fsck_info(fsck_t *f, int verbose_only, const char *fmt, ...)
{
    if (f->mode == FSCK_PREEN && !f->verbose)
        return;
    if (verbose_only && !f->verbose)
        return;
    fsck_progress_done(f);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* -v: the time the pass that just ended took. */
static void pass_time(fsck_t *f)
{
    if (f->verbose && f->prog_pass > 0)
        printf("  (pass %d: %.2f s)\n", f->prog_pass, now_sec() - f->pass_t0);
}

void fsck_pass_start(fsck_t *f, int pass, const char *title)
{
    fsck_progress_done(f);
    pass_time(f);
    f->pass_t0 = now_sec();
    f->prog_pass = pass;
    f->prog_permille = 0;
    f->prog_ms = 0;
    if (f->mode != FSCK_PREEN || f->verbose)
        printf("Pass %d: %s\n", pass, title);
    fflush(stdout);
}

void fsck_pass_end(fsck_t *f)
{
    fsck_progress_done(f);
    pass_time(f);
    f->prog_pass = 0;
}

void fsck_finish(fsck_t *f, int code)
{
    fsck_progress_done(f);
    fflush(stdout);
    if (f->db) {
        char *err = NULL;
        if (f->changed && !f->read_only)
            lsm_flush_wal(f->db, 1, &err);
        if (err) {
            fprintf(stderr, "fsck.lsmfs: %s: syncing the repairs failed: %s\n", f->name, err);
            lsm_free(err);
            code |= FSCK_EXIT_ERROR;
        }
        lsm_close(f->db);
        f->db = NULL;
    }
    lsm_readoptions_destroy(f->ropt);
    lsm_writeoptions_destroy(f->wopt);
    itab_free(&f->itab);
    if (f->changed)
        code |= FSCK_EXIT_NONDESTRUCT;
    if (f->unfixed)
        code |= FSCK_EXIT_UNCORRECTED;
    fflush(stdout);
    exit(code);
}

void *fsck_grow(fsck_t *f, void *p, size_t *cap, size_t first, size_t elem)
{
    size_t n = *cap ? *cap * 2 : first;
    void *q = realloc(p, n * elem);
    if (!q)
        fsck_fatal(f, FSCK_EXIT_ERROR, "out of memory");
    *cap = n;
    return q;
}

void fsck_fatal(fsck_t *f, int code, const char *fmt, ...)
{
    fsck_progress_done(f);
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fsck.lsmfs: %s: ", f->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fsck_finish(f, code);
}

void fsck_poll_cancel(fsck_t *f)
{
    if (!f->cancel || !*f->cancel)
        return;
    fsck_progress_done(f);
    printf("\n%s: fsck.lsmfs cancelled by user request.%s\n", f->name,
           f->changed ? " The repairs made so far are kept." : "");
    fsck_finish(f, FSCK_EXIT_CANCELED);
}

char *fsck_escape(const char *s, size_t len, char *out, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o + 8 >= n) {
            memcpy(out + o, "...", 4);
            return out;
        }
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, n - o, "\\x%02x", c);
    }
    out[o] = '\0';
    return out;
}

const char *fsck_type_name(uint32_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "regular file";
    case S_IFDIR: return "directory";
    case S_IFLNK: return "symlink";
    case S_IFCHR: return "character device";
    case S_IFBLK: return "block device";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "socket";
    default: return "unknown";
    }
}
