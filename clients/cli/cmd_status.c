/*  hartslag status: the local hartslagd's connection to the broker, its
    outbox and inbox, and its health. Exit 0 when the daemon runs and is
    healthy (connected, its database writes, its hook keeps up, no refused
    checkpoint), 1 otherwise: a health check. */
#include "commands.h"
#include "control_client.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int cmd_status(int argc, char **argv)
{
    control_options_t o;
    int done = control_client_options(
        argc, argv, "status",
        "usage: hartslag status [--json] [--config FILE | --state-dir DIR]\n\n"
        "Connection to the broker, outbox and inbox counts, last error, health.\n"
        "Unhealthy: not connected to the broker, the database cannot write (disk\n"
        "full), the hook failing or too far behind, an inconsistent audit checkpoint\n"
        "refused.\n" CONTROL_CLIENT_USAGE
        "exit codes: 0 running and healthy, 1 not running or unhealthy (the reasons\n"
        "are printed), 2 usage error\n",
        &o);
    if (done >= 0)
        return done;
    const char *config = o.config, *state_dir = o.state_dir;
    bool json = o.json;
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
                /* A daemon older than this CLI says nothing about health:
                   then being connected is the test, as before. */
                if (json)
                    rc = strstr(text, "\"healthy\":")
                             ? (strstr(text, "\"healthy\":true") ? 0 : 1)
                             : (strstr(text, "\"connected\":true") ? 0 : 1);
                else
                    rc = strstr(text, "\nhealth       ")
                             ? (strstr(text, "\nhealth       ok\n") ? 0 : 1)
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
