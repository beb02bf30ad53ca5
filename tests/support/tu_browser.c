/*  tu_browser: see tu_browser.h. */
#include "tu_browser.h"

#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Runs argv with stdout and stderr to files, in its own process group,
   killed (the whole group) after TU_BROWSER_TIMEOUT_S. */
static int s_run_bounded(char *const argv[], const char *out_path, const char *err_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setpgid(0, 0);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open("/dev/null", O_RDONLY);
        if (out < 0 || err < 0 || in < 0)
            _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid);
    int status = 0;
    for (int waited_ms = 0;; waited_ms += 100) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid)
            break;
        if (waited_ms >= TU_BROWSER_TIMEOUT_S * 1000) {
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    /* Chromium's helpers may linger: end the group (only ours). */
    kill(-pid, SIGKILL);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Chromium with the flags every run takes, then `extra` (NULL-ended, at
   most 4), then the page. */
static int s_chromium(const char *dir, const char *html, const char *const *extra, char **out,
                      char **log)
{
    char url[4400], profile[4400], out_path[4400], err_path[4400];
    snprintf(url, sizeof url, "file://%s", html);
    snprintf(profile, sizeof profile, "--user-data-dir=%s/chromium-profile", dir);
    snprintf(out_path, sizeof out_path, "%s/chromium.out", dir);
    snprintf(err_path, sizeof err_path, "%s/chromium.err", dir);
    char *argv[20] = {TU_BROWSER_CHROMIUM,
                      "--headless",
                      "--no-sandbox",
                      "--disable-gpu",
                      "--disable-dev-shm-usage",
                      "--no-first-run",
                      "--disable-background-networking",
                      "--disable-component-update",
                      "--disable-sync",
                      profile,
                      "--enable-logging=stderr",
                      "--v=0"};
    size_t n = 12;
    for (size_t i = 0; extra[i] && i < 4; i++)
        argv[n++] = (char *)extra[i];
    argv[n++] = url;
    argv[n] = NULL;
    int rc = s_run_bounded(argv, out_path, err_path);
    if (out)
        *out = tu_read_file(out_path, NULL);
    if (log)
        *log = tu_read_file(err_path, NULL);
    return rc;
}

int tu_browser_dump_dom(const char *dir, const char *html, char **dom, char **log)
{
    const char *extra[] = {"--dump-dom", NULL};
    return s_chromium(dir, html, extra, dom, log);
}

int tu_browser_screenshot(const char *dir, const char *html, const char *png, int width, int height,
                          char **log)
{
    char size[64], shot[4400];
    snprintf(size, sizeof size, "--window-size=%d,%d", width, height);
    snprintf(shot, sizeof shot, "--screenshot=%s", png);
    const char *extra[] = {"--hide-scrollbars", size, shot, NULL};
    return s_chromium(dir, html, extra, NULL, log);
}

const char *tu_browser_console_error(const char *log)
{
    static const char *bad[] = {"Uncaught",           "CONSOLE",
                                "Refused to",         "Content Security Policy",
                                "ERR_FILE_NOT_FOUND", "net::ERR_"};
    for (size_t i = 0; log && i < sizeof bad / sizeof *bad; i++)
        if (strstr(log, bad[i]))
            return bad[i];
    return log ? NULL : "no log";
}
