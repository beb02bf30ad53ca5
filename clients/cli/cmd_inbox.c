/*  hartslag inbox / show: what this organisation received (and sent). */
#include "commands.h"
#include "control_client.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INBOX_LIST_TIMEOUT_MS 30000 /* between two items of a long list */

/* Frees a string that may hold content, wiping it first. */
static void s_free_wiped(char *text)
{
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
}

int cmd_inbox(int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"alerts", no_argument, NULL, 'a'},
        {"limit", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        CONTROL_CLIENT_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *state_dir = NULL, *limit = NULL;
    bool json = false, alerts = false;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'j')
            json = true;
        else if (opt == 'a')
            alerts = true;
        else if (opt == 'l')
            limit = optarg;
        else if (opt == 'h') {
            printf("usage: hartslag inbox [--json] [--alerts] [--limit N] [--config FILE | "
                   "--state-dir DIR]\n\n"
                   "Lists received signals, newest first: id, received, sender, type, purpose,\n"
                   "urgency and field names (values: 'hartslag show ID'). --json prints one\n"
                   "JSON object per line with the full signal (docs/daemon.md). --alerts lists\n"
                   "the multi-agency alerts instead (always JSON).\n" CONTROL_CLIENT_USAGE
                   "exit codes: 0 success, 1 failure, 2 usage error\n");
            return 0;
        } else if (opt == CONTROL_CLIENT_OPT_CONFIG)
            config = optarg;
        else if (opt == CONTROL_CLIENT_OPT_STATE_DIR)
            state_dir = optarg;
        else {
            fprintf(stderr, "try 'hartslag inbox --help'\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hartslag inbox: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    control_client_t *client = control_client_open("inbox", config, state_dir);
    if (!client)
        return 1;
    control_args_t args = {0};
    control_args_add(&args, "inbox", NULL);
    control_args_add(&args, "format", json || alerts ? "json" : "text");
    if (alerts)
        control_args_add(&args, "alerts", "yes");
    if (limit)
        control_args_add(&args, "limit", limit);
    int rc = 1;
    size_t shown = 0;
    zmsg_t *reply = control_client_request(client, &args, 0);
    control_args_clear(&args);
    while (reply) {
        char *status = zmsg_popstr(reply);
        if (status && strcmp(status, "item") == 0) {
            char *item = zmsg_popstr(reply);
            if (!json && !alerts && shown == 0)
                printf("%-32s  %-20s  %-12s %-16s %-16s %-8s\n", "SIGNAL", "RECEIVED", "FROM",
                       "TYPE", "PURPOSE", "URGENCY");
            fputs(item ? item : "", stdout);
            if (json || alerts)
                fputs("\n", stdout);
            shown++;
            s_free_wiped(item);
            free(status);
            zmsg_destroy(&reply);
            reply = control_client_recv(client, INBOX_LIST_TIMEOUT_MS);
            if (!reply)
                fprintf(stderr, "hartslag inbox: hartslagd stopped answering mid-list\n");
            continue;
        }
        if (status && strcmp(status, "ok") == 0) {
            if (!json && !alerts && shown == 0)
                printf("the inbox is empty\n");
            rc = 0;
        } else {
            zmsg_pushstr(reply, status ? status : "error");
            rc = control_client_print_error(client, reply);
        }
        free(status);
        zmsg_destroy(&reply);
    }
    control_client_destroy(&client);
    return rc;
}

int cmd_show(int argc, char **argv)
{
    control_options_t o;
    int done = control_client_options(
        argc, argv, "show",
        "usage: hartslag show ID [--json] [--config FILE | --state-dir DIR]\n\n"
        "Shows one signal: a received one with its content, or a sent one with\n"
        "its state at the broker.\n" CONTROL_CLIENT_USAGE
        "exit codes: 0 success, 1 not found or failure, 2 usage error\n",
        &o);
    if (done >= 0)
        return done;
    const char *config = o.config, *state_dir = o.state_dir;
    bool json = o.json;
    if (optind + 1 != argc) {
        fprintf(stderr, "hartslag show: give exactly one signal id (see 'hartslag inbox')\n");
        return EXIT_USAGE;
    }
    control_client_t *client = control_client_open("show", config, state_dir);
    if (!client)
        return 1;
    control_args_t args = {0};
    control_args_add(&args, "show", NULL);
    control_args_add(&args, "id", argv[optind]);
    control_args_add(&args, "format", json ? "json" : "text");
    zmsg_t *reply = control_client_request(client, &args, 0);
    control_args_clear(&args);
    int rc = 1;
    if (reply) {
        char *status = zmsg_popstr(reply);
        if (status && strcmp(status, "ok") == 0) {
            char *text = zmsg_popstr(reply);
            fputs(text ? text : "", stdout);
            if (json)
                fputs("\n", stdout);
            s_free_wiped(text);
            rc = 0;
        } else {
            zmsg_pushstr(reply, status ? status : "error");
            rc = control_client_print_error(client, reply);
        }
        free(status);
        zmsg_destroy(&reply);
    }
    control_client_destroy(&client);
    return rc;
}
