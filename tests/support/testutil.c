#define _GNU_SOURCE
/*  testutil: see testutil.h. */
#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *tu_tmpdir(void)
{
    char *path = strdup("/tmp/hartslag-test-XXXXXX");
    if (path && !mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

void tu_rmtree(const char *path)
{
    if (!path || strncmp(path, "/tmp/", 5) != 0)
        return;
    DIR *dir = opendir(path);
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            char child[4096];
            snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
            struct stat st;
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
                tu_rmtree(child);
            else
                unlink(child);
        }
        closedir(dir);
    }
    rmdir(path);
}

const char *tu_bin(const char *name)
{
    static char paths[8][4096];
    static int next;
    const char *dir = getenv("HARTSLAG_BIN");
    char *slot = paths[next++ % 8];
    snprintf(slot, 4096, "%s/%s", dir ? dir : "build", name);
    return slot;
}

const char *tu_src(void)
{
    const char *src = getenv("HARTSLAG_SRC");
    return src ? src : ".";
}

/* Appends what is readable on fd to *buf. Returns bytes read, 0 at EOF. */
static ssize_t s_drain(int fd, char **buf, size_t *len)
{
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n > 0) {
        char *more = realloc(*buf, *len + (size_t)n + 1);
        if (!more)
            return -1;
        memcpy(more + *len, chunk, (size_t)n);
        *len += (size_t)n;
        more[*len] = '\0';
        *buf = more;
    }
    return n;
}

int tu_run(char *const argv[], const char *stdin_text, char **out, char **err)
{
    int in_pipe[2], out_pipe[2], err_pipe[2];
    if (pipe(in_pipe) || pipe(out_pipe) || pipe(err_pipe))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in_pipe[0], 0);
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        close(in_pipe[1]);
        close(out_pipe[0]);
        close(err_pipe[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (stdin_text) {
        size_t left = strlen(stdin_text);
        const char *p = stdin_text;
        while (left > 0) {
            ssize_t n = write(in_pipe[1], p, left);
            if (n <= 0)
                break;
            p += n;
            left -= (size_t)n;
        }
    }
    close(in_pipe[1]);
    char *obuf = calloc(1, 1), *ebuf = calloc(1, 1);
    size_t olen = 0, elen = 0;
    struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0 && poll(fds, 2, -1) > 0) {
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd >= 0 && fds[i].revents) {
                if (s_drain(fds[i].fd, i == 0 ? &obuf : &ebuf, i == 0 ? &olen : &elen) <= 0) {
                    close(fds[i].fd);
                    fds[i].fd = -1;
                    open_fds--;
                }
            }
        }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (out)
        *out = obuf;
    else
        free(obuf);
    if (err)
        *err = ebuf;
    else
        free(ebuf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, file)) > 0) {
        n += got;
        if (n == cap) {
            char *more = realloc(buf, cap * 2 + 1);
            if (!more) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = more;
            cap *= 2;
        }
    }
    fclose(file);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

int tu_write_file(const char *path, const char *text, int mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    fchmod(fd, (mode_t)mode);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

bool tu_dir_contains(const char *dir_path, const void *needle, size_t len)
{
    DIR *dir = opendir(dir_path);
    if (!dir)
        return false;
    bool found = false;
    struct dirent *entry;
    while (!found && (entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", dir_path, entry->d_name);
        struct stat st;
        if (lstat(child, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            found = tu_dir_contains(child, needle, len);
        } else if (S_ISREG(st.st_mode)) {
            size_t flen = 0;
            char *text = tu_read_file(child, &flen);
            if (text && flen >= len)
                found = memmem(text, flen, needle, len) != NULL;
            free(text);
        }
    }
    closedir(dir);
    return found;
}

static void s_watchdog_fired(int signum)
{
    (void)signum;
    static const char message[] = "test watchdog: the test ran past its time limit\n";
    ssize_t written = write(STDERR_FILENO, message, sizeof message - 1);
    (void)written;
    _exit(124);
}

void tu_watchdog(unsigned seconds)
{
    struct sigaction action = {.sa_handler = s_watchdog_fired};
    sigemptyset(&action.sa_mask);
    sigaction(SIGALRM, &action, NULL);
    alarm(seconds);
}

pid_t tu_spawn(char *const argv[], const char *stdout_path, const char *stderr_path, bool append,
               char *const env_extra[])
{
    extern char **environ;
    size_t n_env = 0, n_extra = 0;
    while (environ[n_env])
        n_env++;
    while (env_extra && env_extra[n_extra])
        n_extra++;
    char **env = calloc(n_env + n_extra + 1, sizeof *env);
    if (!env)
        return -1;
    for (size_t i = 0; i < n_env; i++)
        env[i] = environ[i];
    for (size_t i = 0; i < n_extra; i++)
        env[n_env + i] = env_extra[i];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    int flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
    if (stdout_path)
        posix_spawn_file_actions_addopen(&actions, 1, stdout_path, flags, 0644);
    if (stderr_path)
        posix_spawn_file_actions_addopen(&actions, 2, stderr_path, flags, 0644);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &actions, NULL, argv, env) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    free(env);
    return pid;
}

int tu_listen_port(void)
{
    enum { LOW = 20000, HIGH = 32000 }; /* below 32768, the ephemeral range's start */
    if (sodium_init() < 0)
        return -1;
    for (int attempt = 0; attempt < 200; attempt++) {
        int port = LOW + (int)randombytes_uniform(HIGH - LOW);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            return -1;
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int bound = bind(fd, (struct sockaddr *)&addr, sizeof addr);
        close(fd);
        if (bound == 0)
            return port;
    }
    return -1;
}
