/*
 * files.c — the folder a file is in, and making a new name in it survive a
 * crash (fsync of the folder). One copy for the store's neighbours: the key
 * store, the audit head file, a restored store, the daemon's start checks.
 */
#include "stn_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void stn_dir_of(const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash == out)
        out[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(out, cap, ".");
}

int stn_fsync_dir_of(const char *path)
{
    char dir[STN_PATH_MAX + 16];
    stn_dir_of(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}
