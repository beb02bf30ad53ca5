/*  fileio: bounded reads, careful writes; see fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int s_read(const char *path, size_t max, bool secret, char **text, size_t *len, char *err,
                  size_t errlen)
{
    *text = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        close(fd);
        return -1;
    }
    if (secret && (st.st_mode & 077) != 0) {
        snprintf(err, errlen,
                 "secret key file %s is accessible by group or others (mode %04o); "
                 "it must be readable by its owner only: run 'chmod 600 %s'",
                 path, (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return -1;
    }
    if (secret && st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(err, errlen,
                 "secret key file %s is owned by another user (uid %u); "
                 "run 'chown %u %s'",
                 path, (unsigned)st.st_uid, (unsigned)geteuid(), path);
        close(fd);
        return -1;
    }
    if (st.st_size < 0 || (size_t)st.st_size > max) {
        snprintf(err, errlen, "%s is too large (%lld bytes, at most %zu)", path,
                 (long long)st.st_size, max);
        close(fd);
        return -1;
    }
    size_t cap = (size_t)st.st_size + 1;
    char *buf = NULL;
    if (secret)
        buf = sodium_init() >= 0 ? sodium_malloc(cap) : NULL;
    else
        buf = malloc(cap);
    if (!buf) {
        snprintf(err, errlen, "out of memory reading %s", path);
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got < cap - 1) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            close(fd);
            secret ? sodium_free(buf) : free(buf);
            return -1;
        }
        if (n == 0)
            break; /* file shrank while we read: take what is there */
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *text = buf;
    *len = got;
    return 0;
}

int fileio_read(const char *path, size_t max, char **text, size_t *len, char *err, size_t errlen)
{
    return s_read(path, max, false, text, len, err, errlen);
}

int fileio_read_secret(const char *path, size_t max, char **text, size_t *len, char *err,
                       size_t errlen)
{
    return s_read(path, max, true, text, len, err, errlen);
}

int fileio_write_new(const char *path, const void *bytes, size_t len, int mode, char *err,
                     size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s%s", path, strerror(errno),
                 errno == EEXIST ? " (remove it first if you mean to replace it)" : "");
        return -1;
    }
    /* The umask may have widened nothing but could have narrowed; set exactly. */
    if (fchmod(fd, (mode_t)mode) != 0)
        goto fail;
    const char *p = bytes;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail;
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0)
        goto fail;
    close(fd);
    return 0;
fail:
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    close(fd);
    unlink(path);
    return -1;
}

/* Opens (creating 0600 when `create`) and narrows one file; ENOENT without
   `create` is not an error. */
static int s_private(const char *path, bool create, bool *narrowed, char *err, size_t errlen)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
    if (fd < 0) {
        if (!create && errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot open %s: %s%s", path, strerror(errno),
                 errno == ELOOP ? " (a symbolic link: point the state directory at the file "
                                  "itself)"
                                : "");
        return -1;
    }
    struct stat st;
    int rc = fstat(fd, &st);
    if (rc == 0 && (st.st_mode & 077)) {
        rc = fchmod(fd, 0600);
        *narrowed = true;
    }
    if (rc != 0)
        snprintf(err, errlen, "cannot make %s private (0600): %s", path, strerror(errno));
    close(fd);
    return rc == 0 ? 0 : -1;
}

int fileio_private_db(const char *path, bool *narrowed, char *err, size_t errlen)
{
    *narrowed = false;
    if (s_private(path, true, narrowed, err, errlen) != 0)
        return -1;
    static const char *const companions[] = {"-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof companions / sizeof companions[0]; i++) {
        char companion[4200];
        if ((size_t)snprintf(companion, sizeof companion, "%s%s", path, companions[i]) >=
            sizeof companion) {
            snprintf(err, errlen, "path too long: %s", path);
            return -1;
        }
        if (s_private(companion, false, narrowed, err, errlen) != 0)
            return -1;
    }
    return 0;
}
