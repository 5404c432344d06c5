/*
 * fhandle.c - file handles from the shell, for tests/integration/test_fhandle.sh.
 *
 *   fhandle save PATH HANDLEFILE   name_to_handle_at(PATH) -> the handle's bytes in HANDLEFILE
 *   fhandle open MOUNT HANDLEFILE  open_by_handle_at(MOUNT, handle): prints "ino <st_ino>"
 *                                  and, for a regular file, its first line; on failure the
 *                                  errno name (ESTALE, ...) and exit 1
 * Needs CAP_DAC_READ_SEARCH (root) for open_by_handle_at. Never changes the files it opens.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int save(const char *path, const char *out)
{
    struct file_handle *fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
    int mount_id;
    if (!fh)
        return 2;
    fh->handle_bytes = MAX_HANDLE_SZ;
    if (name_to_handle_at(AT_FDCWD, path, fh, &mount_id, 0) != 0) {
        printf("%s\n", strerrorname_np(errno));
        free(fh);
        return 1;
    }
    FILE *f = fopen(out, "wb");
    size_t n = sizeof(*fh) + fh->handle_bytes;
    int ok = f && fwrite(fh, 1, n, f) == n;
    if (f && fclose(f) != 0)
        ok = 0;
    free(fh);
    return ok ? 0 : 2;
}

static int open_handle(const char *mnt, const char *in)
{
    char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
    FILE *f = fopen(in, "rb");
    if (!f)
        return 2;
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    struct file_handle *fh = (struct file_handle *)buf;
    if (n < sizeof(*fh) || n != sizeof(*fh) + fh->handle_bytes)
        return 2;
    int mfd = open(mnt, O_RDONLY | O_DIRECTORY);
    if (mfd < 0)
        return 2;
    int fd = open_by_handle_at(mfd, fh, O_RDONLY);
    close(mfd);
    if (fd < 0) {
        printf("%s\n", strerrorname_np(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0)
        return 2;
    printf("ino %llu\n", (unsigned long long)st.st_ino);
    if (S_ISREG(st.st_mode)) {
        char line[256] = {0};
        ssize_t r = read(fd, line, sizeof(line) - 1);
        if (r > 0)
            printf("%.*s\n", (int)strcspn(line, "\n"), line);
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "save") == 0)
        return save(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "open") == 0)
        return open_handle(argv[2], argv[3]);
    fprintf(stderr, "usage: fhandle save PATH HANDLEFILE | fhandle open MOUNT HANDLEFILE\n");
    return 2;
}
