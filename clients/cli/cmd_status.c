/*  hartslag status: the local hartslagd's connection to the broker, its
    outbox and inbox. Exit 0 when the daemon runs and is connected, 1 when
    it is not running or not connected. */
#include "commands.h"
#include "control_client.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int cmd_status(int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        CONTROL_CLIENT_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *state_dir = NULL;
    bool json = false;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'j')
            json = true;
        else if (opt == 'h') {
            printf("usage: hartslag status [--json] [--config FILE | --state-dir DIR]\n\n"
                   "Connection to the broker, outbox and inbox counts, last "
                   "error.\n" CONTROL_CLIENT_USAGE
                   "exit codes: 0 running and connected, 1 not running or not connected,\n"
                   "2 usage error\n");
            return 0;
        } else if (opt == CONTROL_CLIENT_OPT_CONFIG)
            config = optarg;
        else if (opt == CONTROL_CLIENT_OPT_STATE_DIR)
            state_dir = optarg;
        else {
            fprintf(stderr, "try 'hartslag status --help'\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hartslag status: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    control_client_t *client = control_client_open("status", config, state_dir);
    if (!client)
        return 1;
    const char *request[] = {"status", json ? "format=json" : "format=text"};
    zmsg_t *reply = control_client_call(client, request, 2, 0);
    int rc = 1;
    if (reply) {
        char *status = zmsg_popstr(reply);
        if (status && strcmp(status, "ok") == 0) {
            char *text = zmsg_popstr(reply);
            if (text) {
                fputs(text, stdout);
                if (json)
                    fputs("\n", stdout);
                rc = json ? (strstr(text, "\"connected\":true") ? 0 : 1)
                          : (strstr(text, "NOT CONNECTED") ? 1 : 0);
            }
            free(text);
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
