/*  hartslag case: case conferences (issue 15) through this organisation's
    daemon. The steps (open, invite, accept, decline, remove, schedule,
    close) are signed by the daemon and reported done only when the broker
    recorded them; list and show read what the daemon verified. */
#include "alert_ack.h"
#include "cmd_case_agenda.h"
#include "commands.h"
#include "control_client.h"
#include "names.h"

#include <getopt.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASE_LIST_TIMEOUT_MS 5000
#define CASE_STEP_TIMEOUT_MS 20000 /* the daemon answers within 15 s, verdict or not */
#define CASE_PSEUDONYM_MS 10000    /* an open by subject: the service first (daemon: 8 s) */
#define CASE_SUBJECT_MAX 256       /* longest identifier read from stdin */

static const char s_usage_text[] =
    "usage: hartslag case list [--open] [--json]\n"
    "       hartslag case show ID [--json]\n"
    "       hartslag case open (--from-alert ID [--lead ORG] | --from-signal ID |\n"
    "                          --subject-bsn N | --subject-address ADDR | --subject-case C)\n"
    "                          [--kind KIND] [--invite ORG,...] [--title TEXT] [--user USER]\n"
    "       hartslag case invite ID --partner ORG,... [--user USER]\n"
    "       hartslag case accept|decline ID [--user USER]\n"
    "       hartslag case remove ID --partner ORG,... [--user USER]\n"
    "       hartslag case schedule ID --date YYYY-MM-DD [--user USER]\n"
    "       hartslag case close ID --outcome CODE [--user USER]\n"
    "       hartslag case share ID --field NAME=VALUE... [--text TEXT] [--user USER]\n"
    "       hartslag case reshare ID --signal SIGNAL --partner ORG,... [--user USER]\n"
    "       hartslag case plan ID --action OWNER:YYYY-MM-DD[:TEXT]... [--user USER]\n"
    "       hartslag case done ID --item ACTION [--note TEXT] [--user USER]\n"
    "       hartslag case agenda [--date YYYY-MM-DD] [--json | --html [--out FILE]] [--lang "
    "en]\n\n"
    "Case conferences (casuïstiekoverleg) under the coordinator's regie, by the\n"
    "rules of agreements.yaml (cases:). The coordinator opens a case about the\n"
    "subject of an alert or of a received signal, or about a BSN, an address or\n"
    "a case number (pseudonymised by hartslagd through the pseudonym service, as\n"
    "for send; '-' reads it from stdin; without the service nothing is opened),\n"
    "and invites partners (with --lead ORG the alert is then marked handled, ORG\n"
    "leading); an invited partner accepts or declines; the coordinator removes,\n"
    "schedules and closes with an outcome code. Every step is signed by this\n"
    "organisation's daemon and reported done only when the broker recorded it\n"
    "(exit 0); a refusal names the rule that refused it (exit 1). list and show\n"
    "give what this daemon received, each participant's state checked against\n"
    "the signed steps; a case purged after its retention is no longer listed,\n"
    "and show says so. share seals fields and free text to every other partner\n"
    "taking part now (as the signed steps prove it), by the case's rule, and\n"
    "waits for the broker's verdict.\n"
    "The title, an action's text and a note are sealed like a share, once the\n"
    "broker recorded their step: the title to each partner as it accepts, the\n"
    "rest to who takes part then. A partner that joins later gets earlier items\n"
    "only when their author re-shares them (reshare: audited by the broker).\n"
    "  --user USER        your organisation's id for you (default $HARTSLAG_USER)\n"
    "  --json             one JSON object per line (list) or the case (show)\n" CONTROL_CLIENT_USAGE
    "exit codes: 0 ok (a step: the broker recorded it), 1 failure or refusal, 2 usage\n";

static void s_usage(FILE *out)
{
    fputs(s_usage_text, out);
}

/* The string value of "key" in a flat JSON object (tokens and hex only:
   no unescaping needed), into `out`. */
static void s_json_value(const char *json, const char *key, char *out, size_t len)
{
    char needle[48];
    snprintf(needle, sizeof needle, "\"%s\":\"", key);
    const char *at = strstr(json, needle);
    size_t n = 0;
    if (at) {
        at += strlen(needle);
        while (at[n] && at[n] != '"' && n + 1 < len)
            n++;
        memcpy(out, at, n);
    }
    out[n] = '\0';
}

/* The string value of "key" in a JSON object SQLite wrote, unescaped for
   a terminal: \" and \\ are themselves, every escaped control character
   a space (a title is another partner's text: no escape sequences reach
   the screen). "" when absent or null. */
static void s_json_text(const char *json, const char *key, char *out, size_t len)
{
    char needle[48];
    snprintf(needle, sizeof needle, "\"%s\":\"", key);
    const char *at = strstr(json, needle);
    size_t n = 0;
    for (at = at ? at + strlen(needle) : NULL; at && *at && *at != '"' && n + 1 < len; at++) {
        if (*at != '\\')
            out[n++] = *at;
        else if (at[1] == '"' || at[1] == '\\' || at[1] == '/')
            out[n++] = *++at;
        else if (at[1] == 'u' && strlen(at) >= 6) {
            out[n++] = ' ';
            at += 5;
        } else if (at[1]) {
            out[n++] = ' ';
            at++;
        }
    }
    out[n] = '\0';
}

/* One case as a line: id, kind, state, meeting, participants; its title
   (when this organisation holds one) on the next. */
static void s_print_line(const char *json)
{
    char id[40], kind[70], state[16], meeting[16], outcome[70];
    s_json_value(json, "case_id", id, sizeof id);
    s_json_value(json, "case_kind", kind, sizeof kind);
    s_json_value(json, "state", state, sizeof state);
    s_json_value(json, "meeting_date", meeting, sizeof meeting);
    s_json_value(json, "outcome", outcome, sizeof outcome);
    char people[600] = "";
    size_t used = 0;
    for (const char *p = strstr(json, "\"participants\""); p && (p = strstr(p, "\"org\":\""));) {
        p += 7;
        size_t n = strcspn(p, "\"");
        char org[40];
        snprintf(org, sizeof org, "%.*s", (int)(n < 39 ? n : 39), p);
        p += n;
        char member_state[16] = "";
        const char *st = strstr(p, "\"state\":\"");
        if (st) {
            st += 9;
            size_t m = strcspn(st, "\"");
            snprintf(member_state, sizeof member_state, "%.*s", (int)(m < 15 ? m : 15), st);
        }
        if (used + strlen(org) + strlen(member_state) + 4 < sizeof people)
            used += (size_t)snprintf(people + used, sizeof people - used, "%s%s (%s)",
                                     used ? ", " : "", org, member_state);
    }
    printf("%-32s  %-24s  %-6s  %-10s  %s%s%s\n", id, kind, state, meeting[0] ? meeting : "-",
           people, outcome[0] ? "  outcome " : "", outcome);
    char title[4100];
    s_json_text(json, "title", title, sizeof title);
    if (title[0])
        printf("  %s\n", title);
}

static int s_list(control_client_t *client, bool json, bool open_only)
{
    control_args_t args = {0};
    control_args_add(&args, "case", NULL);
    control_args_add(&args, "op", "list");
    if (open_only)
        control_args_add(&args, "open", "yes");
    zmsg_t *reply = control_client_request(client, &args, 0);
    control_args_clear(&args);
    int rc = 1;
    size_t shown = 0;
    while (reply) {
        char *status = zmsg_popstr(reply);
        if (status && strcmp(status, "item") == 0) {
            char *item = zmsg_popstr(reply);
            if (!json && shown == 0)
                printf("%-32s  %-24s  %-6s  %-10s  %s\n", "CASE", "KIND", "STATE", "MEETING",
                       "PARTICIPANTS");
            if (json)
                printf("%s\n", item ? item : "");
            else
                s_print_line(item ? item : "");
            shown++;
            free(item);
            free(status);
            zmsg_destroy(&reply);
            reply = control_client_recv(client, CASE_LIST_TIMEOUT_MS);
            if (!reply)
                fprintf(stderr, "hartslag case: hartslagd stopped answering mid-list\n");
            continue;
        }
        if (status && strcmp(status, "ok") == 0) {
            if (!json && shown == 0)
                printf("no cases\n");
            rc = 0;
        } else {
            zmsg_pushstr(reply, status ? status : "error");
            rc = control_client_print_error(client, reply);
        }
        free(status);
        zmsg_destroy(&reply);
    }
    return rc;
}

static int s_show(control_client_t *client, const char *id, bool json)
{
    control_args_t args = {0};
    control_args_add(&args, "case", NULL);
    control_args_add(&args, "op", "show");
    control_args_add(&args, "id", id);
    zmsg_t *reply = control_client_request(client, &args, CASE_LIST_TIMEOUT_MS);
    control_args_clear(&args);
    if (!reply)
        return 1;
    char *status = zmsg_popstr(reply);
    int rc = 1;
    if (status && strcmp(status, "ok") == 0) {
        char *item = zmsg_popstr(reply);
        if (json)
            printf("%s\n", item ? item : "");
        else {
            s_print_line(item ? item : "");
            /* The steps, one per line, oldest first. */
            const char *steps = item ? strstr(item, "\"steps\":[") : NULL;
            for (const char *p = steps; p && (p = strstr(p, "{\"action_id\""));) {
                char step[16], actor[40], user[80];
                s_json_value(p, "step", step, sizeof step);
                s_json_value(p, "actor", actor, sizeof actor);
                s_json_value(p, "actor_user", user, sizeof user);
                printf("  %-9s by %s%s%s%s\n", step, actor, user[0] ? " (" : "", user,
                       user[0] ? ")" : "");
                /* A plan's actions, and the action a "done" step names. */
                const char *next = strstr(p + 1, "{\"action_id\"");
                for (const char *q = p; (q = strstr(q, "{\"item\":\"")) && (!next || q < next);
                     q++) {
                    char action[40], owner[40], due[16];
                    s_json_value(q, "item", action, sizeof action);
                    s_json_value(q, "owner", owner, sizeof owner);
                    s_json_value(q, "due_date", due, sizeof due);
                    printf("            action %s: %s, due %s\n", action, owner, due);
                }
                const char *done = strstr(p, "\"item\":\"");
                if (strcmp(step, "action_done") == 0 && done && (!next || done < next)) {
                    char action[40];
                    s_json_value(done - 1, "item", action, sizeof action);
                    printf("            action %s done\n", action);
                }
                p++;
            }
            /* What was said in the case: content, for this organisation. */
            char *said = zmsg_popstr(reply);
            if (said && *said)
                printf("said in the case:\n%s\n", said);
            free(said);
        }
        free(item);
        rc = 0;
    } else {
        zmsg_pushstr(reply, status ? status : "error");
        rc = control_client_print_error(client, reply);
    }
    free(status);
    zmsg_destroy(&reply);
    return rc;
}

/* share: the daemon seals it; then waits for the broker's verdict, as
   `send --wait` does. */
static int s_share(control_client_t *client, const control_args_t *args)
{
    zmsg_t *reply = control_client_request(client, args, CASE_LIST_TIMEOUT_MS);
    if (!reply)
        return 1;
    char *status = zmsg_popstr(reply);
    if (!status || strcmp(status, "ok") != 0) {
        zmsg_pushstr(reply, status ? status : "error");
        free(status);
        int rc = control_client_print_error(client, reply);
        zmsg_destroy(&reply);
        return rc;
    }
    free(status);
    char *signal_id = zmsg_popstr(reply);
    zmsg_destroy(&reply);
    control_args_t wait = {0};
    char timeout[24];
    snprintf(timeout, sizeof timeout, "%d", CASE_STEP_TIMEOUT_MS - 5000);
    control_args_add(&wait, "wait", NULL);
    control_args_add(&wait, "id", signal_id ? signal_id : "");
    control_args_add(&wait, "timeout-ms", timeout);
    reply = control_client_request(client, &wait, CASE_STEP_TIMEOUT_MS);
    control_args_clear(&wait);
    int rc = 1;
    status = reply ? zmsg_popstr(reply) : NULL;
    if (status && strcmp(status, "ok") == 0) {
        char *state = zmsg_popstr(reply), *reason = zmsg_popstr(reply),
             *detail = zmsg_popstr(reply), *index = zmsg_popstr(reply);
        if (state && strcmp(state, "accepted") == 0) {
            printf("%s shared in the case: accepted by the broker (audit index %s)\n", signal_id,
                   index ? index : "?");
            rc = 0;
        } else if (state && strcmp(state, "pending") == 0)
            printf("%s still pending: the broker has not answered yet; hartslagd keeps "
                   "resubmitting it (see 'hartslag status')\n",
                   signal_id);
        else
            printf("%s %s by the broker: %s %s\n", signal_id, state ? state : "?",
                   reason && *reason ? reason : "no reason given", detail ? detail : "");
        free(state);
        free(reason);
        free(detail);
        free(index);
    } else if (reply) {
        zmsg_pushstr(reply, status ? status : "error");
        rc = control_client_print_error(client, reply);
    }
    free(status);
    free(signal_id);
    zmsg_destroy(&reply);
    return rc;
}

/* Sends a step and reports the broker's verdict. */
static int s_step(control_client_t *client, const control_args_t *args, const char *op,
                  int timeout_ms)
{
    zmsg_t *reply = control_client_request(client, args, timeout_ms);
    if (!reply)
        return 1;
    char *status = zmsg_popstr(reply);
    int rc = 1;
    if (status && strcmp(status, "ok") == 0) {
        char *case_id = zmsg_popstr(reply);
        char *verb = zmsg_popstr(reply);
        char *index = zmsg_popstr(reply);
        printf("case %s: %s recorded by the broker (audit record %s)\n", case_id ? case_id : "?",
               verb ? verb : op, index ? index : "?");
        free(case_id);
        free(verb);
        free(index);
        rc = 0;
    } else {
        zmsg_pushstr(reply, status ? status : "error");
        rc = control_client_print_error(client, reply);
    }
    free(status);
    zmsg_destroy(&reply);
    return rc;
}

int cmd_case(int argc, char **argv)
{
    /* The agenda has options of its own (--html, --out, --lang). Its word
       is the first operand, maybe after --config FILE / --state-dir DIR. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "--state-dir") == 0) {
            i++;
            continue;
        }
        if (argv[i][0] == '-')
            continue;
        if (strcmp(argv[i], "agenda") == 0) {
            for (int k = i; k + 1 < argc; k++)
                argv[k] = argv[k + 1];
            return case_cmd_agenda(argc - 1, argv);
        }
        break;
    }
    static const struct option options[] = {
        {"open", no_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"from-alert", required_argument, NULL, 'a'},
        {"from-signal", required_argument, NULL, 's'},
        {"subject-bsn", required_argument, NULL, 'b'},
        {"subject-address", required_argument, NULL, 'r'},
        {"subject-case", required_argument, NULL, 'c'},
        {"lead", required_argument, NULL, 'L'},
        {"action", required_argument, NULL, 'A'},
        {"title", required_argument, NULL, 'T'},
        {"note", required_argument, NULL, 'N'},
        {"signal", required_argument, NULL, 'G'},
        {"item", required_argument, NULL, 'I'},
        {"kind", required_argument, NULL, 'k'},
        {"invite", required_argument, NULL, 'i'},
        {"partner", required_argument, NULL, 'p'},
        {"date", required_argument, NULL, 'd'},
        {"outcome", required_argument, NULL, 'O'},
        {"user", required_argument, NULL, 'u'},
        {"field", required_argument, NULL, 'f'},
        {"text", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        CONTROL_CLIENT_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    const char *lead = NULL, *item = NULL, *title = NULL, *note = NULL, *reshared = NULL;
    char actions[32 * 48] = "";
    /* Each action's text (after OWNER:DATE:), in the order of the actions. */
    const char *action_texts[32];
    size_t n_actions = 0;
    const char *config = NULL, *state_dir = NULL, *alert = NULL, *signal = NULL, *kind = NULL,
               *partners = NULL, *date = NULL, *outcome = NULL, *user = getenv("HARTSLAG_USER");
    const char *fields[64], *text = NULL;
    size_t n_fields = 0;
    /* The subject's identifier: passed to the daemon only, never printed. */
    const char *subject_key = NULL, *subject = NULL;
    int subjects = 0;
    bool json = false, open_only = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'o':
            open_only = true;
            break;
        case 'j':
            json = true;
            break;
        case 'a':
            alert = optarg;
            break;
        case 's':
            signal = optarg;
            break;
        case 'b':
        case 'r':
        case 'c':
            subject_key = opt == 'b'   ? "subject-bsn"
                          : opt == 'r' ? "subject-address"
                                       : "subject-case";
            subject = optarg;
            subjects++;
            break;
        case 'L':
            lead = optarg;
            break;
        case 'A': {
            /* OWNER:YYYY-MM-DD, then maybe :TEXT (the text may hold colons). */
            const char *first = strchr(optarg, ':');
            const char *second = first ? strchr(first + 1, ':') : NULL;
            size_t spec = second ? (size_t)(second - optarg) : strlen(optarg);
            size_t used = strlen(actions);
            if (n_actions == 32 || used + spec + 2 > sizeof actions) {
                fprintf(stderr, "hartslag case plan: at most 32 --action\n");
                return EXIT_USAGE;
            }
            snprintf(actions + used, sizeof actions - used, "%s%.*s", used ? "," : "", (int)spec,
                     optarg);
            action_texts[n_actions++] = second ? second + 1 : "";
            break;
        }
        case 'T':
            title = optarg;
            break;
        case 'N':
            note = optarg;
            break;
        case 'G':
            reshared = optarg;
            break;
        case 'I':
            item = optarg;
            break;
        case 'k':
            kind = optarg;
            break;
        case 'i':
        case 'p':
            partners = optarg;
            break;
        case 'd':
            date = optarg;
            break;
        case 'O':
            outcome = optarg;
            break;
        case 'u':
            user = optarg;
            break;
        case 'f':
            if (n_fields == sizeof fields / sizeof fields[0] || !strchr(optarg, '=')) {
                fprintf(stderr, "hartslag case share: --field NAME=VALUE, at most 64\n");
                return EXIT_USAGE;
            }
            fields[n_fields++] = optarg;
            break;
        case 't':
            text = optarg;
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        case CONTROL_CLIENT_OPT_CONFIG:
            config = optarg;
            break;
        case CONTROL_CLIENT_OPT_STATE_DIR:
            state_dir = optarg;
            break;
        default:
            fprintf(stderr, "try 'hartslag case --help'\n");
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        s_usage(stderr);
        return EXIT_USAGE;
    }
    const char *op = argv[optind];
    const char *id = optind + 1 < argc ? argv[optind + 1] : NULL;
    bool takes_id = strcmp(op, "list") != 0 && strcmp(op, "open") != 0;
    size_t operands = (size_t)(argc - optind);
    static const char *const ops[] = {"list",    "show",   "open",     "invite", "accept",
                                      "decline", "remove", "schedule", "close",  "share",
                                      "reshare", "plan",   "done"};
    bool known = false;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        known = known || strcmp(op, ops[i]) == 0;
    if (!known || operands != (takes_id ? 2u : 1u)) {
        fprintf(stderr, "hartslag case: %s; see 'hartslag case --help'\n",
                !known     ? "unknown subcommand"
                : takes_id ? "give one case id"
                           : "unexpected argument");
        return EXIT_USAGE;
    }
    if ((strcmp(op, "plan") == 0 && !actions[0]) || (strcmp(op, "done") == 0 && !item)) {
        fprintf(stderr, "hartslag case %s: %s\n", op,
                strcmp(op, "plan") == 0 ? "give --action OWNER:YYYY-MM-DD (repeatable)"
                                        : "give --item ID (the action's id, see 'case show')");
        return EXIT_USAGE;
    }
    bool needs_partner = strcmp(op, "invite") == 0 || strcmp(op, "remove") == 0;
    if ((needs_partner && !partners) || (strcmp(op, "schedule") == 0 && !date) ||
        (strcmp(op, "close") == 0 && !outcome) ||
        (strcmp(op, "open") == 0 && (alert != NULL) + (signal != NULL) + subjects != 1)) {
        fprintf(stderr, "hartslag case %s: %s\n", op,
                needs_partner                 ? "give --partner ORG[,ORG...]"
                : strcmp(op, "schedule") == 0 ? "give --date YYYY-MM-DD"
                : strcmp(op, "close") == 0
                    ? "give --outcome CODE (agreements.yaml, cases: outcomes)"
                    : "give one of --from-alert ID, --from-signal ID, --subject-bsn N, "
                      "--subject-address ADDR or --subject-case C");
        return EXIT_USAGE;
    }
    if (subject && strcmp(op, "open") != 0) {
        fprintf(stderr, "hartslag case %s: --%s goes with 'case open'\n", op, subject_key);
        return EXIT_USAGE;
    }
    if ((title && strcmp(op, "open") != 0) || (note && strcmp(op, "done") != 0) ||
        (reshared && strcmp(op, "reshare") != 0)) {
        fprintf(stderr, "hartslag case %s: %s\n", op,
                title  ? "--title goes with 'case open'"
                : note ? "--note goes with 'case done'"
                       : "--signal goes with 'case reshare'");
        return EXIT_USAGE;
    }
    if (strcmp(op, "reshare") == 0 && (!reshared || !partners)) {
        fprintf(stderr, "hartslag case reshare: give --signal ID (one this organisation shared "
                        "in the case, see 'case show') and --partner ORG[,ORG...]\n");
        return EXIT_USAGE;
    }
    if (lead && (strcmp(op, "open") != 0 || !alert)) {
        fprintf(stderr, "hartslag case: --lead ORG goes with 'open --from-alert ID' (the "
                        "partner that leads the alert's follow-up)\n");
        return EXIT_USAGE;
    }
    bool takes_step = strcmp(op, "list") != 0 && strcmp(op, "show") != 0;
    if (takes_step && (!user || !*user)) {
        fprintf(stderr,
                "hartslag case %s: --user is required (your organisation's id for you; "
                "the audit records who took the step), or set HARTSLAG_USER\n",
                op);
        return EXIT_USAGE;
    }
    if (takes_step && !names_is_user(user)) {
        /* Not echoed: it may be a name. */
        fprintf(stderr, "hartslag case %s: --user must be your organisation's id for you: %s\n", op,
                NAMES_USER_RULE);
        return EXIT_USAGE;
    }
    char subject_buf[CASE_SUBJECT_MAX + 2] = "";
    if (subject && strcmp(subject, "-") == 0) {
        if (fgets(subject_buf, (int)sizeof subject_buf, stdin))
            subject_buf[strcspn(subject_buf, "\r\n")] = '\0';
        if (!subject_buf[0]) {
            fprintf(stderr, "hartslag case open: no subject identifier on stdin\n");
            return EXIT_USAGE;
        }
        subject = subject_buf;
    }
    control_client_t *client = control_client_open("case", config, state_dir);
    if (!client) {
        sodium_memzero(subject_buf, sizeof subject_buf);
        return 1;
    }
    int rc;
    if (strcmp(op, "list") == 0)
        rc = s_list(client, json, open_only);
    else if (strcmp(op, "show") == 0)
        rc = s_show(client, id, json);
    else if (strcmp(op, "share") == 0) {
        if (n_fields == 0 && !text) {
            fprintf(stderr, "hartslag case share: give --field NAME=VALUE or --text TEXT\n");
            control_client_destroy(&client);
            return EXIT_USAGE;
        }
        control_args_t args = {0};
        control_args_add(&args, "case", NULL);
        control_args_add(&args, "op", "share");
        control_args_add(&args, "id", id);
        for (size_t i = 0; i < n_fields; i++)
            control_args_add(&args, "field", fields[i]);
        if (text)
            control_args_add(&args, "text", text);
        control_args_add(&args, "user", user);
        rc = s_share(client, &args);
        control_args_clear(&args);
    } else if (strcmp(op, "reshare") == 0) {
        control_args_t args = {0};
        control_args_add(&args, "case", NULL);
        control_args_add(&args, "op", "reshare");
        control_args_add(&args, "id", id);
        control_args_add(&args, "signal", reshared);
        control_args_add(&args, "partners", partners);
        control_args_add(&args, "user", user);
        rc = s_share(client, &args);
        control_args_clear(&args);
    } else {
        control_args_t args = {0};
        control_args_add(&args, "case", NULL);
        control_args_add(&args, "op", op);
        if (id)
            control_args_add(&args, "id", id);
        if (alert)
            control_args_add(&args, "alert", alert);
        if (signal)
            control_args_add(&args, "signal", signal);
        if (subject)
            control_args_add(&args, subject_key, subject);
        if (kind)
            control_args_add(&args, "kind", kind);
        if (partners)
            control_args_add(&args, "partners", partners);
        if (date)
            control_args_add(&args, "date", date);
        if (outcome)
            control_args_add(&args, "outcome", outcome);
        if (actions[0])
            control_args_add(&args, "actions", actions);
        for (size_t i = 0; i < n_actions; i++)
            control_args_add(&args, "action-text", action_texts[i]);
        if (title)
            control_args_add(&args, "title", title);
        if (note)
            control_args_add(&args, "note", note);
        if (item)
            control_args_add(&args, "item", item);
        if (user)
            control_args_add(&args, "user", user);
        rc = s_step(client, &args, op, CASE_STEP_TIMEOUT_MS + (subject ? CASE_PSEUDONYM_MS : 0));
        control_args_clear(&args);
        /* The alert the case was opened from is taken up: mark it handled
           once the case is recorded, never before. */
        if (rc == 0 && alert && lead)
            rc = alert_ack_send(client, alert, lead);
        else if (rc == 0 && alert)
            printf("alert %s stays open: mark it handled with 'hartslag alerts ack %s --lead "
                   "ORG' (or open with --lead ORG)\n",
                   alert, alert);
    }
    control_client_destroy(&client);
    sodium_memzero(subject_buf, sizeof subject_buf);
    return rc;
}
