/*  hartslag agreements explain --case: see cmd_agreements_case.h. */
#include "cmd_agreements_case.h"

#include "agreements.h"
#include "json_out.h"
#include "names.h"
#include "suggest.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASE_LIST_MAX 64 /* --to and --fields items */

typedef struct {
    const char *file, *kind, *from, *outcome;
    char *to[CASE_LIST_MAX];
    size_t to_count;
    char *fields[CASE_LIST_MAX];
    size_t field_count;
    bool has_to, has_fields, json;
} case_request_t;

typedef struct {
    const char *org;
    const char *reason; /* NULL: allowed */
} case_recipient_t;

static int s_usage(FILE *out, const char *problem)
{
    if (problem)
        fprintf(out, "hartslag agreements: %s\n", problem);
    fprintf(out,
            "usage: hartslag agreements explain FILE --case KIND --from ORG [--to ORG[,ORG...]]\n"
            "           [--fields F[,F...]] [--outcome CODE] [--json]\n");
    return problem ? 2 : 0;
}

/* Splits `arg` (modified in place) at commas. -1 when an item is empty or
   there are more than `max`. */
static int s_split(char *arg, char **items, size_t max, size_t *count)
{
    *count = 0;
    if (arg[0] == '\0')
        return 0;
    for (char *p = arg;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (*p == '\0' || *count == max)
            return -1;
        items[(*count)++] = p;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

/* A word from the command line, printed only when it is a name: the
   terminal gets no control bytes from an argument. */
static const char *s_shown(const char *word)
{
    return names_is_org(word) || names_is_token(word) ? word : "(not a valid name)";
}

static void s_hint_kind(const agreements_t *agreements, const char *kind)
{
    const char *kinds[256];
    size_t n = 0;
    for (size_t i = 0; i < agreements_case_rule_count(agreements) && n < 256; i++)
        kinds[n++] = agreements_case_rule(agreements, i)->kind;
    const char *near = names_is_token(kind) ? suggest_nearest(kind, kinds, n) : NULL;
    if (near)
        printf("hint: no case conference rule has the kind '%s': did you mean '%s'?\n", kind, near);
    else if (n == 0)
        printf("hint: the file has no `cases:` section\n");
}

static void s_print_list(const char *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? ", " : "", items[i]);
}

static void s_rule_human(const agreements_case_rule_t *rule, uint64_t version)
{
    printf("case conference %s (line %u, agreements version %llu)\n", rule->kind, rule->line,
           (unsigned long long)version);
    printf("  coordinator: %s\n", rule->coordinator);
    printf("  purpose: %s; legal basis: %s\n", rule->purpose, rule->legal_basis);
    for (size_t i = 0; i < rule->participant_count; i++) {
        printf("  participant %s may share: ", rule->participants[i].org);
        s_print_list(rule->participants[i].fields, rule->participants[i].field_count);
        putchar('\n');
    }
    printf("  content kept %u days after closing; flagged after %u days open\n",
           rule->retention_days_after_close, rule->max_open_days);
    printf("  outcomes: ");
    s_print_list(rule->outcomes, rule->outcome_count);
    putchar('\n');
}

static void s_json_list(const char *const *items, size_t n)
{
    putchar('[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            putchar(',');
        json_out_string(stdout, items[i]);
    }
    putchar(']');
}

static void s_json_reason(const char *reason)
{
    if (reason)
        json_out_string(stdout, reason);
    else
        printf("null");
}

static void s_rule_json(const agreements_case_rule_t *rule)
{
    if (!rule) {
        printf("null");
        return;
    }
    printf("{\"kind\":");
    json_out_string(stdout, rule->kind);
    printf(",\"line\":%u,\"coordinator\":", rule->line);
    json_out_string(stdout, rule->coordinator);
    printf(",\"purpose\":");
    json_out_string(stdout, rule->purpose);
    printf(",\"legal_basis\":");
    json_out_string(stdout, rule->legal_basis);
    printf(",\"retention_days_after_close\":%u,\"max_open_days\":%u,\"outcomes\":",
           rule->retention_days_after_close, rule->max_open_days);
    s_json_list(rule->outcomes, rule->outcome_count);
    printf(",\"participants\":[");
    for (size_t i = 0; i < rule->participant_count; i++) {
        printf("%s{\"org\":", i ? "," : "");
        json_out_string(stdout, rule->participants[i].org);
        printf(",\"fields\":");
        s_json_list(rule->participants[i].fields, rule->participants[i].field_count);
        putchar('}');
    }
    printf("]}");
}

static int s_parse(int argc, char **argv, case_request_t *req)
{
    memset(req, 0, sizeof *req);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return 1;
        else if (strcmp(a, "--json") == 0)
            req->json = true;
        else if (strcmp(a, "--case") == 0 && has_value)
            req->kind = argv[++i];
        else if (strcmp(a, "--from") == 0 && has_value)
            req->from = argv[++i];
        else if (strcmp(a, "--outcome") == 0 && has_value)
            req->outcome = argv[++i];
        else if (strcmp(a, "--to") == 0 && has_value) {
            req->has_to = true;
            if (s_split(argv[++i], req->to, CASE_LIST_MAX, &req->to_count) != 0 ||
                req->to_count == 0)
                return s_usage(stderr, "explain: --to needs 1 to 64 comma-separated orgs");
        } else if (strcmp(a, "--fields") == 0 && has_value) {
            req->has_fields = true;
            if (s_split(argv[++i], req->fields, CASE_LIST_MAX, &req->field_count) != 0)
                return s_usage(stderr,
                               "explain: --fields needs comma-separated names (at most 64)");
        } else if (a[0] == '-' && a[1] != '\0')
            return s_usage(stderr, "explain: unknown option or missing value");
        else if (!req->file)
            req->file = a;
        else
            return s_usage(stderr, "explain: one FILE only");
    }
    if (!req->file || !req->kind || !req->from)
        return s_usage(stderr, "explain: FILE, --case and --from are required");
    if (req->outcome && (req->has_to || req->has_fields))
        return s_usage(stderr, "explain: --outcome asks about closing; --to and --fields about "
                               "sharing: ask one at a time");
    return 0;
}

int agreements_cmd_explain_case(int argc, char **argv)
{
    case_request_t req;
    int parsed = s_parse(argc, argv, &req);
    if (parsed == 1)
        return s_usage(stdout, NULL);
    if (parsed != 0)
        return parsed;

    agreements_errors_t *errors = NULL;
    agreements_t *agreements = agreements_load(req.file, &errors);
    if (!agreements) {
        agreements_errors_print(errors, stderr);
        fprintf(stderr, "hartslag agreements: %s is invalid; run 'hartslag agreements check'\n",
                req.file);
        agreements_errors_destroy(&errors);
        return 1;
    }
    const agreements_case_rule_t *rule =
        agreements_case_rule_lookup(agreements, req.kind, strlen(req.kind));
    bool sharing = req.has_to || req.has_fields;
    const char *question = req.outcome ? "close" : sharing ? "share" : "take_part";

    /* The sender's own verdict, then one per recipient: all or nothing. */
    const char *field = NULL;
    agreements_case_reason_t verdict;
    if (req.outcome)
        verdict = agreements_case_coordinate(agreements, req.kind, req.from, req.outcome);
    else if (sharing)
        verdict = agreements_case_share(agreements, req.kind, req.from,
                                        (const char *const *)req.fields, req.field_count, &field);
    else if (!rule)
        verdict = AGREEMENTS_CASE_UNKNOWN_KIND;
    else
        verdict = agreements_case_participant(rule, req.from, strlen(req.from))
                      ? AGREEMENTS_CASE_ALLOWED
                      : AGREEMENTS_CASE_NOT_PARTICIPANT;
    char reason[160] = "";
    if (verdict != AGREEMENTS_CASE_ALLOWED)
        snprintf(reason, sizeof reason, "%s%s%s", agreements_case_reason_name(verdict),
                 field ? ":" : "", field ? s_shown(field) : "");
    bool allowed = verdict == AGREEMENTS_CASE_ALLOWED;
    case_recipient_t recipients[CASE_LIST_MAX];
    for (size_t i = 0; i < req.to_count; i++) {
        recipients[i].org = req.to[i];
        recipients[i].reason =
            rule && agreements_case_participant(rule, req.to[i], strlen(req.to[i]))
                ? NULL
                : (rule ? "not_participant" : "unknown_case_kind");
        if (recipients[i].reason)
            allowed = false;
    }
    uint64_t version = agreements_version(agreements);

    if (req.json) {
        printf("{\"allowed\":%s,\"version\":%llu,\"question\":\"%s\",\"request\":{\"case\":",
               allowed ? "true" : "false", (unsigned long long)version, question);
        json_out_string(stdout, req.kind);
        printf(",\"from\":");
        json_out_string(stdout, req.from);
        printf(",\"to\":");
        s_json_list((const char *const *)req.to, req.to_count);
        printf(",\"fields\":");
        s_json_list((const char *const *)req.fields, req.field_count);
        printf(",\"outcome\":");
        s_json_reason(req.outcome);
        printf("},\"rule\":");
        s_rule_json(rule);
        printf(",\"reason\":");
        s_json_reason(reason[0] ? reason : NULL);
        printf(",\"recipients\":[");
        for (size_t i = 0; i < req.to_count; i++) {
            printf("%s{\"to\":", i ? "," : "");
            json_out_string(stdout, recipients[i].org);
            printf(",\"allowed\":%s,\"reason\":", recipients[i].reason ? "false" : "true");
            s_json_reason(recipients[i].reason);
            putchar('}');
        }
        printf("]}\n");
    } else {
        if (rule)
            s_rule_human(rule, version);
        if (req.outcome)
            printf("%s closes a case with outcome %s: ", s_shown(req.from), s_shown(req.outcome));
        else if (sharing) {
            printf("%s shares ", s_shown(req.from));
            if (req.field_count == 0)
                printf("no fields");
            for (size_t i = 0; i < req.field_count; i++)
                printf("%s%s", i ? ", " : "", s_shown(req.fields[i]));
            printf(" into the case: ");
        } else
            printf("%s takes part: ", s_shown(req.from));
        printf("%s%s\n", reason[0] ? "denied: " : "allowed", reason);
        for (size_t i = 0; i < req.to_count; i++) {
            printf("  -> %s: ", s_shown(recipients[i].org));
            if (recipients[i].reason)
                printf("denied: %s (not a participant of this kind)\n", recipients[i].reason);
            else
                printf("may receive, once it has accepted the invitation\n");
        }
        printf("result: %s\n", allowed ? "allowed" : "denied (all or nothing)");
        if (allowed && req.outcome)
            printf("note: the broker also requires that the case is open\n");
        else if (allowed)
            printf("note: the broker also requires that the case is open and that the sender "
                   "and every recipient take part in it now\n");
        if (!rule)
            s_hint_kind(agreements, req.kind);
    }
    agreements_destroy(&agreements);
    return allowed ? 0 : 1;
}
