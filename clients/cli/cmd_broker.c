/*  hartslag broker status: the operator's view of the running broker over
    its local control socket (broker/control.h): partners connected and
    since when, deliveries queued per partner and the oldest, alerts open,
    the latest audit checkpoint and who cosigned it, the agreements
    version. Exit 0 when the broker runs and answers, 1 when it does not. */
#include "commands.h"
#include "control_client.h"

#include "broker_config_schema.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define BROKER_DEFAULT_STATE_DIR "/var/lib/hartslag/broker"

static const char *s_usage =
    "usage: hartslag broker status [--json] [--config FILE | --state-dir DIR]\n\n"
    "What the running hartslag-broker does now: its partners (connected since when,\n"
    "deliveries queued for each and the oldest), open alerts, the latest audit\n"
    "checkpoint and which partners cosigned it, the agreements version.\n"
    "  --config FILE      the broker's configuration (its state_dir is used)\n"
    "  --state-dir DIR    the broker's state_dir (default " BROKER_DEFAULT_STATE_DIR ")\n"
    "  --json             one JSON object\n"
    "Run it as the user that runs the broker (the control socket is mode 0600).\n"
    "exit codes: 0 the broker runs and answered, 1 it does not run or did not\n"
    "answer, 2 usage error\n";

/* The state directory from --state-dir, --config or the default; prints
   the problem and returns -1 when the configuration cannot be read. */
static int s_state_dir(const control_options_t *o, char *out, size_t outlen)
{
    if (o->state_dir) {
        snprintf(out, outlen, "%s", o->state_dir);
        return 0;
    }
    if (!o->config) {
        snprintf(out, outlen, "%s", BROKER_DEFAULT_STATE_DIR);
        return 0;
    }
    char err[1024];
    config_t *conf =
        config_load(o->config, broker_config_schema, BROKER_CONFIG_KEYS, err, sizeof err);
    if (!conf) {
        fprintf(stderr, "hartslag broker: %s\n", err);
        return -1;
    }
    const char *path = config_path(conf, "state_dir", out, outlen);
    config_destroy(&conf);
    if (!path) {
        fprintf(stderr, "hartslag broker: %s has no state_dir\n", o->config);
        return -1;
    }
    return 0;
}

static int s_status(int argc, char **argv)
{
    control_options_t o;
    int done = control_client_options(argc, argv, "broker status", s_usage, &o);
    if (done >= 0)
        return done;
    if (optind < argc) {
        fprintf(stderr, "hartslag broker status: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    char dir[4096];
    if (s_state_dir(&o, dir, sizeof dir) != 0)
        return 1;
    control_client_t *client = control_client_open_dir("broker status", dir, "hartslag-broker");
    if (!client)
        return 1;
    const char *request[] = {"status", o.json ? "format=json" : "format=text"};
    zmsg_t *reply = control_client_call(client, request, 2, 0);
    int rc = 1;
    if (reply) {
        char *status = zmsg_popstr(reply);
        if (status && strcmp(status, "ok") == 0) {
            char *text = zmsg_popstr(reply);
            if (text) {
                fputs(text, stdout);
                if (o.json)
                    fputs("\n", stdout);
                rc = 0;
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

int cmd_broker(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "status") == 0)
        return s_status(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(s_usage, stdout);
        return 0;
    }
    fputs(s_usage, stderr);
    return EXIT_USAGE;
}
