/*  hartslag case agenda: see cmd_case_agenda.h. */
#include "cmd_case_agenda.h"

#include "audit_read.h"
#include "commands.h"
#include "control_client.h"
#include "date.h"
#include "exit_codes.h"
#include "fileio.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AGENDA_TIMEOUT_MS 5000
#define AGENDA_CASES_MAX 500 /* far above any meeting */

typedef struct {
    char case_id[33];
    char kind[65];
    char coordinator[33];
    char meeting_date[11];
    char participants[1200]; /* "org:state,org:state" */
    int64_t opened_ms;
    bool overdue, scheduled;
} agenda_case_t;

typedef struct {
    char case_id[33];
    char item[33];
    char owner[33];
    char due_date[11];
} agenda_action_t;

typedef struct {
    bool en;
    const char *date;
    agenda_case_t *cases;
    size_t n;
    agenda_action_t *actions;
    size_t n_actions;
} agenda_t;

static const char s_usage_text[] =
    "usage: hartslag case agenda [--date YYYY-MM-DD] [--json | --html [--out FILE]] [--lang en]\n"
    "The list for a meeting of the case conference: the open cases scheduled on\n"
    "the date (default today), then those open longer than their rule allows.\n"
    "  --html      a self-contained page for the meeting room (no scripts, no network)\n"
    "  --out FILE  write the page there (mode 0600, never overwritten); else stdout\n"
    "  --lang en   English instead of Dutch\n" CONTROL_CLIENT_USAGE
    "exit codes: 0 ok, 1 failure, 2 usage\n";

/* A participant's state in words. */
static const char *s_state(const char *state, bool en)
{
    static const struct {
        const char *token, *nl, *en;
    } words[] = {
        {"active", "neemt deel", "takes part"},
        {"invited", "uitgenodigd", "invited"},
        {"declined", "afgezegd", "declined"},
        {"removed", "verwijderd", "removed"},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(state, words[i].token) == 0)
            return en ? words[i].en : words[i].nl;
    return en ? "unknown" : "onbekend";
}

/* Calls out(org, state-in-words) for each "org:state" of the list. */
static void s_each_participant(const char *list, bool en,
                               void (*out)(void *arg, const char *org, const char *state),
                               void *arg)
{
    char copy[1200];
    snprintf(copy, sizeof copy, "%s", list);
    for (char *save = NULL, *item = strtok_r(copy, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(item, ':');
        if (!colon)
            continue;
        *colon = '\0';
        out(arg, item, s_state(colon + 1, en));
    }
}

static void s_text_participant(void *arg, const char *org, const char *state)
{
    int *first = arg;
    printf("%s%s (%s)", *first ? "" : ", ", org, state);
    *first = 0;
}

static void s_html_participant(void *arg, const char *org, const char *state)
{
    FILE *f = arg;
    fputs("<li>", f);
    audit_html_text(f, org);
    fputs(" <span class=\"state\">", f);
    audit_html_text(f, state);
    fputs("</span></li>", f);
}

static void s_long_date(const char *iso, bool en, char *out, size_t len)
{
    static const char *nl[] = {"januari",   "februari", "maart",    "april",
                               "mei",       "juni",     "juli",     "augustus",
                               "september", "oktober",  "november", "december"};
    static const char *eng[] = {"January",   "February", "March",    "April",
                                "May",       "June",     "July",     "August",
                                "September", "October",  "November", "December"};
    int y, m, d;
    if (sscanf(iso, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12)
        snprintf(out, len, "%s", iso);
    else if (en)
        snprintf(out, len, "%d %s %d", d, eng[m - 1], y);
    else
        snprintf(out, len, "%d %s %d", d, nl[m - 1], y);
}

static void s_print_text(const agenda_t *a)
{
    char when[40];
    s_long_date(a->date, a->en, when, sizeof when);
    printf(a->en ? "Agenda of the case conference, %s\n" : "Agenda casuïstiekoverleg, %s\n", when);
    for (int part = 0; part < 2; part++) {
        size_t count = 0;
        for (size_t i = 0; i < a->n; i++)
            count += part == 0 ? a->cases[i].scheduled : !a->cases[i].scheduled;
        if (part == 0)
            printf(a->en ? "\nScheduled for this meeting (%zu):\n"
                         : "\nIngepland voor dit overleg (%zu):\n",
                   count);
        else if (count)
            printf(a->en ? "\nOpen longer than the agreements allow (%zu):\n"
                         : "\nLanger open dan de afspraken toestaan (%zu):\n",
                   count);
        if (part == 0 && count == 0)
            printf(a->en ? "  none\n" : "  geen\n");
        for (size_t i = 0; i < a->n; i++) {
            const agenda_case_t *c = &a->cases[i];
            if ((part == 0) != c->scheduled)
                continue;
            char opened[AUDIT_READ_LOCAL_MAX];
            audit_format_local(c->opened_ms, opened);
            printf(a->en ? "  case %s (%s), coordinator %s, opened %s%s\n"
                         : "  casus %s (%s), regie %s, geopend %s%s\n",
                   c->case_id, c->kind, c->coordinator, opened,
                   c->overdue ? (a->en ? "; open too long" : "; te lang open") : "");
            printf(a->en ? "    participants: " : "    deelnemers: ");
            int first = 1;
            s_each_participant(c->participants, a->en, s_text_participant, &first);
            printf("\n");
        }
    }
    printf(a->en ? "\nActions due by this date and not done (%zu):\n"
                 : "\nActies die uiterlijk deze dag af moesten en nog open zijn (%zu):\n",
           a->n_actions);
    if (a->n_actions == 0)
        printf(a->en ? "  none\n" : "  geen\n");
    for (size_t i = 0; i < a->n_actions; i++) {
        const agenda_action_t *x = &a->actions[i];
        printf(a->en ? "  case %s: action %s of %s, due %s\n"
                     : "  casus %s: actie %s van %s, uiterlijk %s\n",
               x->case_id, x->item, x->owner, x->due_date);
    }
    printf(a->en ? "\nTimes are Dutch local time. Only the cases this organisation's daemon "
                   "holds; what was shared is in each case (hartslag case show).\n"
                 : "\nTijden zijn Nederlandse tijd. Alleen de zaken die de daemon van deze "
                   "organisatie kent; wat er gedeeld is staat bij elke casus (hartslag case "
                   "show).\n");
}

static const char s_css[] =
    "body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#111}"
    "h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}"
    "table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ccc;"
    "padding:.4rem;text-align:left;vertical-align:top}ul{margin:0;padding-left:1.2rem}"
    ".state{color:#555}.overdue{color:#a00;font-weight:bold}footer{margin-top:2rem;color:#555}";

static void s_print_html(FILE *f, const agenda_t *a)
{
    char when[40];
    s_long_date(a->date, a->en, when, sizeof when);
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'\">\n<title>%s %s</title>\n<style>%s</style>\n</head>\n"
            "<body>\n<h1>%s %s</h1>\n",
            a->en ? "en" : "nl",
            a->en ? "Agenda of the case conference" : "Agenda casuïstiekoverleg", when, s_css,
            a->en ? "Agenda of the case conference" : "Agenda casuïstiekoverleg", when);
    for (int part = 0; part < 2; part++) {
        fprintf(f, "<section id=\"%s\">\n<h2>%s</h2>\n", part == 0 ? "scheduled" : "overdue",
                part == 0 ? (a->en ? "Scheduled for this meeting" : "Ingepland voor dit overleg")
                          : (a->en ? "Open longer than the agreements allow"
                                   : "Langer open dan de afspraken toestaan"));
        size_t shown = 0;
        for (size_t i = 0; i < a->n; i++) {
            const agenda_case_t *c = &a->cases[i];
            if ((part == 0) != c->scheduled)
                continue;
            if (shown++ == 0)
                fprintf(f, "<table>\n<tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>\n",
                        a->en ? "Case" : "Casus", a->en ? "Kind" : "Soort overleg",
                        a->en ? "Opened" : "Geopend", a->en ? "Participants" : "Deelnemers");
            char opened[AUDIT_READ_LOCAL_MAX];
            audit_format_local(c->opened_ms, opened);
            fprintf(f, "<tr class=\"case\"><td>");
            audit_html_text(f, c->case_id);
            fprintf(f, "</td><td>");
            audit_html_text(f, c->kind);
            fprintf(f, "</td><td>");
            audit_html_text(f, opened);
            if (c->overdue)
                fprintf(f, " <span class=\"overdue\">%s</span>",
                        a->en ? "open too long" : "te lang open");
            fprintf(f, "</td><td><ul>");
            s_each_participant(c->participants, a->en, s_html_participant, f);
            fprintf(f, "</ul></td></tr>\n");
        }
        if (shown)
            fprintf(f, "</table>\n");
        else
            fprintf(f, "<p>%s</p>\n", a->en ? "None." : "Geen.");
        fprintf(f, "</section>\n");
    }
    fprintf(f, "<section id=\"actions\">\n<h2>%s</h2>\n",
            a->en ? "Actions due and not done" : "Acties die af moesten en nog open zijn");
    if (a->n_actions == 0)
        fprintf(f, "<p>%s</p>\n", a->en ? "None." : "Geen.");
    else
        fprintf(f, "<table>\n<tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>\n",
                a->en ? "Case" : "Casus", a->en ? "Action" : "Actie", a->en ? "Owner" : "Wie",
                a->en ? "Due" : "Uiterlijk");
    for (size_t i = 0; i < a->n_actions; i++) {
        const agenda_action_t *x = &a->actions[i];
        fprintf(f, "<tr class=\"action\"><td>");
        audit_html_text(f, x->case_id);
        fprintf(f, "</td><td>");
        audit_html_text(f, x->item);
        fprintf(f, "</td><td>");
        audit_html_text(f, x->owner);
        fprintf(f, "</td><td>");
        audit_html_text(f, x->due_date);
        fprintf(f, "</td></tr>\n");
    }
    if (a->n_actions)
        fprintf(f, "</table>\n");
    fprintf(f, "</section>\n");
    fprintf(f, "<footer>%s</footer>\n</body>\n</html>\n",
            a->en ? "Times are Dutch local time. Only the cases this organisation's daemon "
                    "holds; no content of any case is on this page."
                  : "Tijden zijn Nederlandse tijd. Alleen de zaken die de daemon van deze "
                    "organisatie kent; er staat geen inhoud van een casus op deze pagina.");
}

/* Pops the next frame into `out` (empty when missing). */
static void s_pop(zmsg_t *msg, char *out, size_t len)
{
    char *text = zmsg_popstr(msg);
    snprintf(out, len, "%s", text ? text : "");
    free(text);
}

static int s_fetch(control_client_t *client, agenda_t *a, bool json)
{
    control_args_t args = {0};
    control_args_add(&args, "case", NULL);
    control_args_add(&args, "op", "agenda");
    control_args_add(&args, "date", a->date);
    zmsg_t *reply = control_client_request(client, &args, 0);
    control_args_clear(&args);
    while (reply) {
        char *status = zmsg_popstr(reply);
        if (status && strcmp(status, "item") == 0) {
            char *item = zmsg_popstr(reply);
            if (json)
                printf("%s\n", item ? item : "");
            free(item);
            if (a->n < AGENDA_CASES_MAX) {
                agenda_case_t *c = &a->cases[a->n++];
                char opened[24], overdue[16], scheduled[16];
                s_pop(reply, c->case_id, sizeof c->case_id);
                s_pop(reply, c->kind, sizeof c->kind);
                s_pop(reply, c->coordinator, sizeof c->coordinator);
                s_pop(reply, c->meeting_date, sizeof c->meeting_date);
                s_pop(reply, c->participants, sizeof c->participants);
                s_pop(reply, opened, sizeof opened);
                s_pop(reply, overdue, sizeof overdue);
                s_pop(reply, scheduled, sizeof scheduled);
                c->opened_ms = strtoll(opened, NULL, 10);
                c->overdue = strcmp(overdue, "overdue") == 0;
                c->scheduled = strcmp(scheduled, "scheduled") == 0;
            }
            free(status);
            zmsg_destroy(&reply);
            reply = control_client_recv(client, AGENDA_TIMEOUT_MS);
            if (!reply) {
                fprintf(stderr, "hartslag case: hartslagd stopped answering mid-agenda\n");
                return 1;
            }
            continue;
        }
        if (status && strcmp(status, "action") == 0) {
            char *item = zmsg_popstr(reply);
            if (json)
                printf("%s\n", item ? item : "");
            free(item);
            if (a->n_actions < AGENDA_CASES_MAX) {
                agenda_action_t *x = &a->actions[a->n_actions++];
                s_pop(reply, x->case_id, sizeof x->case_id);
                s_pop(reply, x->item, sizeof x->item);
                s_pop(reply, x->owner, sizeof x->owner);
                s_pop(reply, x->due_date, sizeof x->due_date);
            }
            free(status);
            zmsg_destroy(&reply);
            reply = control_client_recv(client, AGENDA_TIMEOUT_MS);
            if (!reply) {
                fprintf(stderr, "hartslag case: hartslagd stopped answering mid-agenda\n");
                return 1;
            }
            continue;
        }
        int rc = 0;
        if (!status || strcmp(status, "ok") != 0) {
            zmsg_pushstr(reply, status ? status : "error");
            rc = control_client_print_error(client, reply);
        }
        free(status);
        zmsg_destroy(&reply);
        return rc;
    }
    return 1;
}

int case_cmd_agenda(int argc, char **argv)
{
    static const struct option options[] = {
        {"date", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"html", no_argument, NULL, 'H'},
        {"out", required_argument, NULL, 'o'},
        {"lang", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        CONTROL_CLIENT_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *state_dir = NULL, *date = NULL, *out = NULL, *lang = NULL;
    bool json = false, html = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'd':
            date = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'H':
            html = true;
            break;
        case 'o':
            out = optarg;
            break;
        case 'l':
            lang = optarg;
            break;
        case 'h':
            fputs(s_usage_text, stdout);
            return 0;
        case CONTROL_CLIENT_OPT_CONFIG:
            config = optarg;
            break;
        case CONTROL_CLIENT_OPT_STATE_DIR:
            state_dir = optarg;
            break;
        default:
            fputs(s_usage_text, stderr);
            return EXIT_USAGE;
        }
    }
    int64_t day;
    char today[11];
    if (!date) {
        time_t now = time(NULL);
        struct tm local;
        localtime_r(&now, &local);
        strftime(today, sizeof today, "%Y-%m-%d", &local);
        date = today;
    }
    if (optind != argc || strlen(date) != 10 || date_parse_cstr(date, &day) != 0 ||
        (lang && strcmp(lang, "en") != 0 && strcmp(lang, "nl") != 0) || (json && html) ||
        (out && !html)) {
        fprintf(stderr, "hartslag case agenda: --date YYYY-MM-DD, --lang nl|en, --json or "
                        "--html (--out only with --html)\n");
        return EXIT_USAGE;
    }
    agenda_t agenda = {.en = lang && strcmp(lang, "en") == 0, .date = date};
    agenda.cases = calloc(AGENDA_CASES_MAX, sizeof *agenda.cases);
    agenda.actions = calloc(AGENDA_CASES_MAX, sizeof *agenda.actions);
    control_client_t *client =
        agenda.cases && agenda.actions ? control_client_open("case", config, state_dir) : NULL;
    if (!client) {
        free(agenda.cases);
        free(agenda.actions);
        return 1;
    }
    int rc = s_fetch(client, &agenda, json);
    control_client_destroy(&client);
    if (rc == 0 && html && !out)
        s_print_html(stdout, &agenda);
    else if (rc == 0 && html) {
        /* Never overwrite: the page of an earlier meeting is a record. */
        char *page = NULL, err[300];
        size_t len = 0;
        FILE *mem = open_memstream(&page, &len);
        if (mem) {
            s_print_html(mem, &agenda);
            if (fclose(mem) != 0) {
                free(page);
                page = NULL;
            }
        }
        if (!page || fileio_write_new(out, page, len, 0600, err, sizeof err) != 0) {
            fprintf(stderr, "hartslag case agenda: %s\n", page ? err : "out of memory");
            rc = 1;
        } else
            printf("agenda for %s written to %s (mode 0600)\n", date, out);
        free(page);
    } else if (rc == 0 && !json)
        s_print_text(&agenda);
    free(agenda.cases);
    free(agenda.actions);
    return rc;
}
