/*  hartslag watch: prints each new signal (and alert) as it arrives, and
    each signal withdrawn or purged from the inbox, one line each (JSON
    with --json), until interrupted. The watch is renewed
    every few seconds, so a restarted daemon picks the watcher up again. */
#include "commands.h"
#include "control_client.h"

#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define WATCH_RENEW_MS 10000   /* re-register this often */
#define WATCH_SILENCE_MS 35000 /* no answer to renewals this long: daemon gone */

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static uint64_t s_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

int cmd_watch(int argc, char **argv)
{
    control_options_t o;
    int done = control_client_options(
        argc, argv, "watch",
        "usage: hartslag watch [--json] [--config FILE | --state-dir DIR]\n\n"
        "Prints each new signal (and alert) as it arrives, and each signal withdrawn\n"
        "or purged from the inbox ({\"kind\":\"withdrawn\"|\"purged\",...}: ids and\n"
        "reasons only), one line each (one JSON object per line with --json), until\n"
        "interrupted (Ctrl-C).\n" CONTROL_CLIENT_USAGE
        "exit codes: 0 interrupted, 1 the daemon went away, 2 usage error\n",
        &o);
    if (done >= 0)
        return done;
    const char *config = o.config, *state_dir = o.state_dir;
    bool json = o.json;
    if (optind < argc) {
        fprintf(stderr, "hartslag watch: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    control_client_t *client = control_client_open("watch", config, state_dir);
    if (!client)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    const char *watch[] = {"watch", json ? "format=json" : "format=text"};
    int rc = 0;
    uint64_t renewed = 0, answered = s_now_ms();
    while (!s_stop) {
        uint64_t now = s_now_ms();
        if (now - renewed >= WATCH_RENEW_MS) {
            (void)control_client_send(client, watch, 2);
            renewed = now;
        }
        if (now - answered > WATCH_SILENCE_MS) {
            fprintf(stderr, "hartslag watch: hartslagd stopped answering on %s\n",
                    control_client_path(client));
            rc = 1;
            break;
        }
        zmsg_t *msg = control_client_recv(client, 500);
        if (!msg)
            continue;
        answered = s_now_ms();
        char *status = zmsg_popstr(msg);
        if (status && strcmp(status, "item") == 0) {
            char *item = zmsg_popstr(msg);
            if (item) {
                printf("%s\n", item);
                fflush(stdout);
                sodium_memzero(item, strlen(item));
                free(item);
            }
        } else if (status && strcmp(status, "error") == 0) {
            zmsg_pushstr(msg, status);
            rc = control_client_print_error(client, msg);
            free(status);
            zmsg_destroy(&msg);
            break;
        }
        free(status);
        zmsg_destroy(&msg);
    }
    const char *unwatch[] = {"unwatch"};
    (void)control_client_send(client, unwatch, 1);
    control_client_destroy(&client);
    return rc;
}
