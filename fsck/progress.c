/*
 * progress.c - the -C fd progress report, as e2fsck makes it.
 *
 * fd 0: a bar on stdout, redrawn in place ("STORE: |=====     |  45.0%  pass 3"), at most
 * ten times a second and erased before any other output. fd > 0: one line per change of a
 * tenth of a percent, "pass current max device", the format fsck(8) reads from its
 * children to draw its own bar. Pass positions are inode numbers against the high-water
 * mark (rows are scanned in inode order), so no pass needs counting in advance.
 */
#include "fsck.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fsck_progress(fsck_t *f, uint64_t cur, uint64_t max)
{
    if (f->progress_fd < 0 || max == 0)
        return;
    if (cur > max)
        cur = max;
    unsigned pm = (unsigned)((unsigned __int128)cur * 1000 / max);
    if (pm == f->prog_permille && f->prog_ms != 0)
        return;
    long long t = now_ms();
    if (f->progress_fd == 0) {
        if (f->prog_ms != 0 && t - f->prog_ms < 100 && pm < 1000)
            return;
        char bar[41];
        int fill = (int)(pm * 40 / 1000);
        memset(bar, '=', (size_t)fill);
        memset(bar + fill, ' ', (size_t)(40 - fill));
        bar[40] = '\0';
        printf("\r%s: |%s| %5.1f%%  pass %d", f->name, bar, pm / 10.0, f->prog_pass);
        fflush(stdout);
    } else {
        char line[4200];
        int n = snprintf(line, sizeof(line), "%d %llu %llu %s\n", f->prog_pass,
                         (unsigned long long)cur, (unsigned long long)max, f->name);
        if (n > 0 && write(f->progress_fd, line, (size_t)n) < 0)
            f->progress_fd = -1;  /* the reader went away: stop reporting */
    }
    f->prog_permille = pm;
    f->prog_ms = t;
}

void fsck_progress_done(fsck_t *f)
{
    if (f->progress_fd == 0 && f->prog_ms != 0) {
        printf("\r%*s\r", (int)strlen(f->name) + 64, "");
        fflush(stdout);
    }
    f->prog_ms = 0;
}
