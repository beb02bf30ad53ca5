/*  hartslag withdraw: withdraw a signal this organisation sent. The broker
    cancels undelivered copies and tells every recipient to delete it. */
#include "commands.h"
#include "control_client.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_withdraw(int argc, char **argv)
{
    static const struct option options[] = {
        {"reason", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        CONTROL_CLIENT_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *state_dir = NULL, *reason = "withdrawn";
    bool json = false;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'r')
            reason = optarg;
        else if (opt == 'j')
            json = true;
        else if (opt == 'h') {
            printf("usage: hartslag withdraw ID [--reason R] [--json] [--config FILE | "
                   "--state-dir DIR]\n\n"
                   "Withdraws a signal you sent (it was unjustified, or the concern is gone):\n"
                   "the broker cancels undelivered copies and the recipients delete it.\n"
                   "  --reason R   a token, e.g. unjustified or resolved (default "
                   "withdrawn)\n" CONTROL_CLIENT_USAGE
                   "exit codes: 0 withdrawn, 1 refused or not confirmed, 2 usage error\n");
            return 0;
        } else if (opt == CONTROL_CLIENT_OPT_CONFIG)
            config = optarg;
        else if (opt == CONTROL_CLIENT_OPT_STATE_DIR)
            state_dir = optarg;
        else {
            fprintf(stderr, "try 'hartslag withdraw --help'\n");
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "hartslag withdraw: give exactly one signal id\n");
        return EXIT_USAGE;
    }
    const char *id = argv[optind];
    control_client_t *client = control_client_open("withdraw", config, state_dir);
    if (!client)
        return 1;
    control_args_t args = {0};
    control_args_add(&args, "withdraw", NULL);
    control_args_add(&args, "id", id);
    control_args_add(&args, "reason", reason);
    control_args_add(&args, "timeout-ms", "15000");
    zmsg_t *reply = control_client_request(client, &args, 20000);
    control_args_clear(&args);
    int rc = 1;
    if (reply) {
        char *status = zmsg_popstr(reply);
        if (status && strcmp(status, "ok") == 0) {
            char *state = zmsg_popstr(reply), *why = zmsg_popstr(reply);
            bool done = state && strcmp(state, "withdrawn") == 0;
            if (json)
                printf("{\"signal_id\":\"%s\",\"state\":\"%s\",\"reason\":\"%s\"}\n", id,
                       state ? state : "", why ? why : "");
            else if (done)
                printf("%s withdrawn; the recipients are told to delete it\n", id);
            else if (state && strcmp(state, "withdrawing") == 0)
                printf("%s: withdrawal recorded, not yet confirmed by the broker; hartslagd "
                       "keeps sending it\n",
                       id);
            else
                printf("%s: the broker refused the withdrawal: %s\n", id, why ? why : "?");
            rc = done ? 0 : 1;
            free(state);
            free(why);
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
