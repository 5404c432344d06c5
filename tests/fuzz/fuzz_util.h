/*
 * fuzz_util.h - helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c).
 *
 * The engine reads its files through paths, so a target writes the input to a scratch
 * file first: one per process (libFuzzer runs inputs one after another in a process, and
 * -fork/-jobs workers are separate processes), under /dev/shm when it exists.
 * fuzz_touch reads every byte of a slice so that a bad pointer or length shows up under
 * AddressSanitizer right where it was returned.
 */
#ifndef TESTS_FUZZ_FUZZ_UTIL_H
#define TESTS_FUZZ_FUZZ_UTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/slice.h"

/* A scratch directory of this process (created on first use). */
static inline const char *fuzz_dir(void)
{
    static char dir[64];
    if (!dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof(dir), "%s/lsm-fuzz.%d", base, (int)getpid());
        mkdir(dir, 0755);
    }
    return dir;
}

/* Writes data to dir/name (replacing it); returns the path (static buffer per name slot). */
static inline const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size,
                                          char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", fuzz_dir(), name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        abort();
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w <= 0)
            abort();
        done += (size_t)w;
    }
    close(fd);
    return path;
}

static inline unsigned fuzz_touch(slice_t s)
{
    unsigned h = 0;
    for (size_t i = 0; i < s.size; i++)
        h = h * 31 + (unsigned char)s.data[i];
    return h;
}

#endif
