#define _GNU_SOURCE
/*  hook: see hook.h. */
#include "hook.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define HOOK_ENV_MAX 512 /* environment entries passed on */

/*  Invariant: pid > 0 exactly while a child runs; deadline_ms is its kill time. */
struct hook_t {
    char *command;                /* the shell command */
    char *org;                    /* our org, for HARTSLAG_ORG */
    char *workdir;                /* the hook's working directory */
    unsigned timeout_s;           /* seconds a run may take */
    pid_t pid;                    /* running child (its process group), or 0 */
    uint64_t deadline_ms;         /* when it is killed */
    char signal_id[STORE_ID_HEX]; /* the signal it runs for */
};

hook_t *hook_new(const char *command, const char *org, const char *workdir, unsigned timeout_s)
{
    hook_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->command = strdup(command);
    self->org = strdup(org);
    self->workdir = strdup(workdir);
    self->timeout_s = timeout_s ? timeout_s : 30;
    if (!self->command || !self->org || !self->workdir)
        hook_destroy(&self);
    return self;
}

static void s_kill(hook_t *self)
{
    if (self->pid > 0) {
        kill(-self->pid, SIGKILL);
        kill(self->pid, SIGKILL);
        while (waitpid(self->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        self->pid = 0;
    }
}

void hook_destroy(hook_t **self_p)
{
    if (self_p && *self_p) {
        hook_t *self = *self_p;
        s_kill(self);
        free(self->command);
        free(self->org);
        free(self->workdir);
        free(self);
        *self_p = NULL;
    }
}

bool hook_busy(const hook_t *self)
{
    return self->pid > 0;
}

/* An in-memory file holding `json` and a newline, positioned at 0. */
static int s_stdin_file(const char *json)
{
    int fd = memfd_create("hartslag-hook", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = strlen(json);
    const char *p = json;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    if (write(fd, "\n", 1) != 1 || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int hook_start(hook_t *self, const char *signal_id, const char *json, uint64_t now_ms, char *err,
               size_t errlen)
{
    if (self->pid > 0) {
        snprintf(err, errlen, "a hook is already running");
        return -1;
    }
    /* Everything the child needs is prepared here: after fork only
       async-signal-safe calls are allowed (ZeroMQ runs threads). */
    char env_id[64], env_org[64];
    snprintf(env_id, sizeof env_id, "HARTSLAG_SIGNAL_ID=%s", signal_id);
    snprintf(env_org, sizeof env_org, "HARTSLAG_ORG=%s", self->org);
    char *envp[HOOK_ENV_MAX + 3];
    size_t n = 0;
    for (char **e = environ; e && *e && n < HOOK_ENV_MAX; e++)
        if (strncmp(*e, "HARTSLAG_SIGNAL_ID=", 19) != 0 && strncmp(*e, "HARTSLAG_ORG=", 13) != 0)
            envp[n++] = *e;
    envp[n++] = env_id;
    envp[n++] = env_org;
    envp[n] = NULL;
    char *argv[] = {"sh", "-c", self->command, NULL};

    int in = s_stdin_file(json);
    if (in < 0) {
        snprintf(err, errlen, "cannot prepare hook input: %s", strerror(errno));
        return -1;
    }
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot start hook: %s", strerror(errno));
        close(in);
        if (devnull >= 0)
            close(devnull);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        if (chdir(self->workdir) != 0 || dup2(in, STDIN_FILENO) < 0)
            _exit(126);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve("/bin/sh", argv, envp);
        _exit(127);
    }
    setpgid(pid, pid); /* also from the parent, so kill(-pid) works at once */
    close(in);
    if (devnull >= 0)
        close(devnull);
    self->pid = pid;
    self->deadline_ms = now_ms + (uint64_t)self->timeout_s * 1000u;
    snprintf(self->signal_id, sizeof self->signal_id, "%s", signal_id);
    return 0;
}

int hook_poll(hook_t *self, uint64_t now_ms, bool *ok, char signal_id[STORE_ID_HEX], char *why,
              size_t whylen)
{
    if (self->pid <= 0)
        return 0;
    int status = 0;
    pid_t done = waitpid(self->pid, &status, WNOHANG);
    if (done == 0) {
        if (now_ms < self->deadline_ms)
            return 0;
        s_kill(self);
        *ok = false;
        snprintf(why, whylen, "timeout");
    } else {
        self->pid = 0;
        if (done < 0) {
            *ok = false;
            snprintf(why, whylen, "wait_failed");
        } else if (WIFEXITED(status)) {
            *ok = WEXITSTATUS(status) == 0;
            snprintf(why, whylen, "exit:%d", WEXITSTATUS(status));
        } else {
            *ok = false;
            snprintf(why, whylen, "signal:%d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        }
    }
    snprintf(signal_id, STORE_ID_HEX, "%s", self->signal_id);
    return 1;
}
