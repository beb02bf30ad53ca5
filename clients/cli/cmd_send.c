/*  hartslag send: seal and send a signal through the local hartslagd. The
    daemon pseudonymises the subject, checks the agreements, seals, stores
    the signal in its outbox and submits it; this prints the signal id (and
    with --wait, the broker's decision). */
#include "commands.h"
#include "control_client.h"
#include "names.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEND_SUBJECT_MAX 256 /* longest identifier read from stdin */

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: hartslag send --to ORG[,ORG...] --type TYPE --purpose PURPOSE\n"
            "                     (--subject-bsn N | --subject-address ADDR | --subject-case C)\n"
            "                     --field NAME=VALUE... [--text TEXT] [--user USER]\n"
            "                     [--urgency routine|priority|urgent] [--valid-days N]\n"
            "                     [--wait [--timeout SECS]] [--json] [--config FILE | "
            "--state-dir DIR]\n\n"
            "  --to ORGS          recipients, comma-separated\n"
            "  --type, --purpose  signal type and purpose, as in the agreements\n"
            "  --subject-bsn N    the citizen's BSN (elfproef checked); '-' reads it from\n"
            "                     stdin so it does not show in the process list\n"
            "  --subject-address  \"6411 AB 12a\" (postcode, house number, addition)\n"
            "  --subject-case C   a case number of the coordinator\n"
            "  --field NAME=VALUE a content field (repeat); the agreement must allow each\n"
            "  --text TEXT        free explanation (sent as the field 'toelichting')\n"
            "  --user USER        your organisation's id for you (default $HARTSLAG_USER)\n"
            "  --urgency U        routine (default), priority or urgent\n"
            "  --valid-days N     the signal lapses after N days (default 90, at most 730)\n"
            "  --wait             wait for the broker: accepted, or denied with reasons\n"
            "  --timeout SECS     how long --wait waits (default 30)\n"
            "  --json             machine-readable output\n" CONTROL_CLIENT_USAGE
            "\nThe subject's identifier is pseudonymised by hartslagd and never leaves it\n"
            "unencrypted. exit codes: 0 sent (accepted with --wait), 1 refused, denied or\n"
            "failed, 2 usage error\n");
}

/* Reads one line from stdin into `out` (trailing newline removed). */
static int s_read_subject(char *out, size_t outlen)
{
    if (!fgets(out, (int)outlen, stdin))
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return out[0] ? 0 : -1;
}

/* Prints "org=reason org=reason" as an indented list. */
static void s_print_detail(FILE *out, const char *detail)
{
    char *copy = strdup(detail ? detail : "");
    char *save = NULL;
    for (char *item = copy ? strtok_r(copy, " ", &save) : NULL; item;
         item = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(item, '=');
        if (eq) {
            *eq = '\0';
            fprintf(out, "  %-12s %s\n", item, eq + 1);
        }
    }
    free(copy);
}

static void s_json_detail(const char *detail)
{
    printf("{");
    char *copy = strdup(detail ? detail : "");
    char *save = NULL;
    bool first = true;
    for (char *item = copy ? strtok_r(copy, " ", &save) : NULL; item;
         item = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(item, '=');
        if (eq) {
            *eq = '\0';
            /* Tokens from the daemon: [a-z0-9_:.-], no escaping needed. */
            printf("%s\"%s\":\"%s\"", first ? "" : ",", item, eq + 1);
            first = false;
        }
    }
    free(copy);
    printf("}");
}

/* --wait: asks the daemon for the outcome and prints it. */
static int s_wait(control_client_t *client, const char *id, int timeout_s, bool json)
{
    control_args_t args = {0};
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%d", timeout_s * 1000);
    control_args_add(&args, "wait", NULL);
    control_args_add(&args, "id", id);
    control_args_add(&args, "timeout-ms", timeout);
    zmsg_t *reply = control_client_request(client, &args, timeout_s * 1000 + 5000);
    control_args_clear(&args);
    if (!reply)
        return 1;
    char *status = zmsg_popstr(reply);
    if (!status || strcmp(status, "ok") != 0) {
        free(status);
        zmsg_pushstr(reply, "error");
        int rc = control_client_print_error(client, reply);
        zmsg_destroy(&reply);
        return rc;
    }
    char *state = zmsg_popstr(reply), *reason = zmsg_popstr(reply), *detail = zmsg_popstr(reply),
         *index = zmsg_popstr(reply);
    int rc = state && strcmp(state, "accepted") == 0 ? 0 : 1;
    if (json) {
        printf("{\"signal_id\":\"%s\",\"state\":\"%s\",\"reason\":\"%s\",\"audit_index\":%s,"
               "\"recipients\":",
               id, state ? state : "", reason ? reason : "", index && *index ? index : "0");
        s_json_detail(detail);
        printf("}\n");
    } else if (rc == 0)
        printf("%s accepted by the broker (audit index %s)\n", id, index ? index : "?");
    else if (state && strcmp(state, "pending") == 0)
        printf("%s still pending: the broker has not answered within %d s; hartslagd keeps "
               "resubmitting it (see 'hartslag status')\n",
               id, timeout_s);
    else if (state && strcmp(state, "pseudonym") == 0)
        printf("%s waiting for a pseudonym: the pseudonym service has not answered within %d s; "
               "hartslagd sends it when the service answers (see 'hartslag status')\n",
               id, timeout_s);
    else {
        printf("%s %s by the broker: %s\n", id, state ? state : "?",
               reason && *reason ? reason : "no reason given");
        s_print_detail(stdout, detail);
    }
    free(status);
    free(state);
    free(reason);
    free(detail);
    free(index);
    zmsg_destroy(&reply);
    return rc;
}

int cmd_send(int argc, char **argv)
{
    static const struct option options[] = {
        {"to", required_argument, NULL, 't'},
        {"type", required_argument, NULL, 'y'},
        {"purpose", required_argument, NULL, 'p'},
        {"subject-bsn", required_argument, NULL, 'b'},
        {"subject-address", required_argument, NULL, 'a'},
        {"subject-case", required_argument, NULL, 'c'},
        {"field", required_argument, NULL, 'f'},
        {"text", required_argument, NULL, 'x'},
        {"user", required_argument, NULL, 'u'},
        {"urgency", required_argument, NULL, 'g'},
        {"valid-days", required_argument, NULL, 'd'},
        {"wait", no_argument, NULL, 'w'},
        {"timeout", required_argument, NULL, 'T'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        CONTROL_CLIENT_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *state_dir = NULL, *user = getenv("HARTSLAG_USER");
    const char *subject_key = NULL, *subject = NULL;
    bool wait = false, json = false;
    int timeout_s = 30, subjects = 0;
    control_args_t args = {0};
    char subject_buf[SEND_SUBJECT_MAX + 2];
    int rc = EXIT_USAGE;
    control_args_add(&args, "send", NULL);
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 't':
            control_args_add(&args, "to", optarg);
            break;
        case 'y':
            control_args_add(&args, "type", optarg);
            break;
        case 'p':
            control_args_add(&args, "purpose", optarg);
            break;
        case 'b':
        case 'a':
        case 'c':
            subject_key = opt == 'b'   ? "subject-bsn"
                          : opt == 'a' ? "subject-address"
                                       : "subject-case";
            subject = optarg;
            subjects++;
            break;
        case 'f':
            if (!strchr(optarg, '=')) {
                fprintf(stderr, "hartslag send: --field takes NAME=VALUE, got '%s'\n", optarg);
                goto done;
            }
            control_args_add(&args, "field", optarg);
            break;
        case 'x':
            control_args_add(&args, "text", optarg);
            break;
        case 'u':
            user = optarg;
            break;
        case 'g':
            control_args_add(&args, "urgency", optarg);
            break;
        case 'd':
            control_args_add(&args, "valid-days", optarg);
            break;
        case 'w':
            wait = true;
            break;
        case 'T':
            timeout_s = (int)strtol(optarg, NULL, 10);
            if (timeout_s < 1 || timeout_s > 600) {
                fprintf(stderr, "hartslag send: --timeout must be 1..600 seconds\n");
                goto done;
            }
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            s_usage(stdout);
            rc = 0;
            goto done;
        case CONTROL_CLIENT_OPT_CONFIG:
            config = optarg;
            break;
        case CONTROL_CLIENT_OPT_STATE_DIR:
            state_dir = optarg;
            break;
        default:
            s_usage(stderr);
            goto done;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hartslag send: unexpected argument '%s'\n", argv[optind]);
        goto done;
    }
    if (subjects != 1) {
        fprintf(stderr, "hartslag send: give exactly one of --subject-bsn, --subject-address, "
                        "--subject-case\n");
        goto done;
    }
    if (!user || !*user) {
        fprintf(stderr, "hartslag send: --user is required (your organisation's id for you; "
                        "the audit records who sent a signal), or set HARTSLAG_USER\n");
        goto done;
    }
    if (!names_is_user(user)) {
        /* The daemon and the broker refuse it too (lib/names): say it here,
           before anything is sent. The value is not echoed. */
        fprintf(stderr, "hartslag send: --user must be your organisation's id for you: %s\n",
                NAMES_USER_RULE);
        goto done;
    }
    if (strcmp(subject, "-") == 0) {
        if (s_read_subject(subject_buf, sizeof subject_buf) != 0) {
            fprintf(stderr, "hartslag send: no subject identifier on stdin\n");
            goto done;
        }
        subject = subject_buf;
    }
    control_args_add(&args, subject_key, subject);
    control_args_add(&args, "user", user);

    rc = 1;
    control_client_t *client = control_client_open("send", config, state_dir);
    if (!client)
        goto done;
    zmsg_t *reply = control_client_request(client, &args, 0);
    if (reply) {
        char *status = zmsg_popstr(reply);
        if (status && strcmp(status, "ok") == 0) {
            char *id = zmsg_popstr(reply);
            /* Daemons before issue 17 send no state: their signals are pending. */
            char *state = zmsg_popstr(reply);
            bool waiting = state && strcmp(state, "pseudonym") == 0;
            if (wait)
                rc = s_wait(client, id ? id : "", timeout_s, json);
            else {
                if (json)
                    printf("{\"signal_id\":\"%s\",\"state\":\"%s\"}\n", id ? id : "",
                           waiting ? "pseudonym" : "pending");
                else
                    printf("%s\n", id ? id : "");
                if (waiting && !json)
                    fprintf(stderr,
                            "hartslag send: %s is in the outbox, waiting for a pseudonym "
                            "from the pseudonym service; it is sent when the service "
                            "answers (see 'hartslag status')\n",
                            id ? id : "");
                rc = 0;
            }
            free(state);
            free(id);
        } else if (status && strcmp(status, "denied") == 0) {
            char *message = zmsg_popstr(reply), *detail = zmsg_popstr(reply);
            if (json) {
                printf("{\"state\":\"denied\",\"reason\":\"agreement\",\"check\":\"local\","
                       "\"recipients\":");
                s_json_detail(detail);
                printf("}\n");
            } else {
                fprintf(stderr, "hartslag send: denied: %s\n", message ? message : "");
                s_print_detail(stderr, detail);
            }
            free(message);
            free(detail);
            rc = 1;
        } else {
            zmsg_pushstr(reply, status ? status : "error");
            rc = control_client_print_error(client, reply);
        }
        free(status);
        zmsg_destroy(&reply);
    }
    control_client_destroy(&client);
done:
    sodium_memzero(subject_buf, sizeof subject_buf);
    control_args_clear(&args);
    return rc;
}
