/*  hartslag alerts: the multi-agency alerts this organisation received
    (DESIGN §10), and, for the coordinator, marking a match handled. */
#include "alert_ack.h"
#include "commands.h"
#include "control_client.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALERTS_LIST_TIMEOUT_MS 5000

static const char s_usage_text[] =
    "usage: hartslag alerts [--json] [--config FILE | --state-dir DIR]\n"
    "       hartslag alerts ack ID --lead ORG [--config FILE | --state-dir DIR]\n\n"
    "Lists the alerts raised when several partners signalled about the same subject\n"
    "(one JSON object per line with --json: rule, subject pseudonym, partners with\n"
    "their signal types, dates and contact, state and lead). The coordinator marks a\n"
    "match handled (afgestemd) with 'ack', naming the partner that leads; the broker\n"
    "records it and tells the partners in the match; 'ack' waits for the broker's\n"
    "verdict and reports a refusal (unknown alert, lead not in the match) or no\n"
    "answer within 15 s as a failure.\n" CONTROL_CLIENT_USAGE
    "exit codes: 0 ok (ack: the broker confirmed), 1 failure or refusal, 2 usage error\n";

static void s_usage(FILE *out)
{
    fputs(s_usage_text, out);
}

/* One alert object as a readable line. */
static void s_print_line(const char *json)
{
    const char *fields[] = {"alert_id", "rule_id", "state", "lead_org"};
    char values[4][80];
    for (int i = 0; i < 4; i++) {
        char key[32];
        snprintf(key, sizeof key, "\"%s\":\"", fields[i]);
        const char *at = strstr(json, key);
        size_t n = 0;
        if (at) {
            at += strlen(key);
            while (at[n] && at[n] != '"' && n < sizeof values[i] - 1)
                n++;
            memcpy(values[i], at, n);
        }
        values[i][n] = '\0';
    }
    /* The partners by name: "2 partners" leaves the coordinator to look up
       who they are. Org ids are tokens, so they need no unescaping. */
    char names[600] = "";
    size_t used = 0;
    for (const char *p = strstr(json, "\"participants\""); p && (p = strstr(p, "\"org\":\""));) {
        p += 7;
        size_t n = strcspn(p, "\"");
        if (used + n + 3 < sizeof names) {
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%.*s", used ? ", " : "",
                                     (int)n, p);
        }
        p += n;
    }
    printf("%-32s  %-24s  %-8s  partners %s%s%s\n", values[0], values[1],
           values[2][0] ? values[2] : "open", names[0] ? names : "-", values[3][0] ? "  lead " : "",
           values[3]);
}

static int s_list(int argc, char **argv)
{
    control_options_t o;
    int done = control_client_options(argc, argv, "alerts", s_usage_text, &o);
    if (done >= 0)
        return done;
    const char *config = o.config, *state_dir = o.state_dir;
    bool json = o.json;
    if (optind != argc) {
        s_usage(stderr);
        return EXIT_USAGE;
    }
    control_client_t *client = control_client_open("alerts", config, state_dir);
    if (!client)
        return 1;
    control_args_t args = {0};
    control_args_add(&args, "inbox", NULL);
    control_args_add(&args, "format", "json");
    control_args_add(&args, "alerts", "yes");
    zmsg_t *reply = control_client_request(client, &args, 0);
    control_args_clear(&args);
    int rc = 1;
    size_t shown = 0;
    while (reply) {
        char *status = zmsg_popstr(reply);
        if (status && strcmp(status, "item") == 0) {
            char *item = zmsg_popstr(reply);
            if (!json && shown == 0)
                printf("%-32s  %-24s  %-8s  %s\n", "ALERT", "RULE", "STATE", "PARTNERS");
            if (json)
                printf("%s\n", item ? item : "");
            else
                s_print_line(item ? item : "");
            shown++;
            free(item);
            free(status);
            zmsg_destroy(&reply);
            reply = control_client_recv(client, ALERTS_LIST_TIMEOUT_MS);
            if (!reply)
                fprintf(stderr, "hartslag alerts: hartslagd stopped answering mid-list\n");
            continue;
        }
        if (status && strcmp(status, "ok") == 0) {
            if (!json && shown == 0)
                printf("no alerts\n");
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

static int s_ack(int argc, char **argv)
{
    static const struct option options[] = {
        {"lead", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        CONTROL_CLIENT_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *state_dir = NULL, *lead = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'l')
            lead = optarg;
        else if (opt == 'h') {
            s_usage(stdout);
            return 0;
        } else if (opt == CONTROL_CLIENT_OPT_CONFIG)
            config = optarg;
        else if (opt == CONTROL_CLIENT_OPT_STATE_DIR)
            state_dir = optarg;
        else {
            s_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || !lead) {
        fprintf(stderr, "hartslag alerts ack: give one alert id and --lead ORG\n");
        return EXIT_USAGE;
    }
    control_client_t *client = control_client_open("alerts", config, state_dir);
    if (!client)
        return 1;
    int rc = alert_ack_send(client, argv[optind], lead);
    control_client_destroy(&client);
    return rc;
}

int cmd_alerts(int argc, char **argv)
{
    /* "ack" may follow --config FILE / --state-dir DIR: take it out wherever it is. */
    for (int i = 1; i < argc; i++) {
        bool value_of_option = i > 1 && (strcmp(argv[i - 1], "--config") == 0 ||
                                         strcmp(argv[i - 1], "--state-dir") == 0);
        if (strcmp(argv[i], "ack") == 0 && !value_of_option) {
            for (int k = i; k + 1 < argc; k++)
                argv[k] = argv[k + 1];
            return s_ack(argc - 1, argv);
        }
    }
    return s_list(argc, argv);
}
