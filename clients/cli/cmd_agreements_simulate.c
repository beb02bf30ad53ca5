/*  hartslag agreements simulate NEW.yaml --db broker.db [--from D] [--to D]
    [--json] [--detail]. See cmd_agreements_simulate.h.

    Every exchange the log decided by the agreements is replayed against
    NEW: an `accepted` record (one per recipient) was allowed; a `denied`
    record whose reason starts with "agreement:" was refused for that
    recipient ("agreement:allowed": allowed, but another recipient of the
    signal was not). Its metadata (sender, recipient, type, purpose, field
    names, time) is asked of NEW with agreements_evaluate, at the record's
    time. Other denials (a bad header, a replay, a rate limit) were not the
    agreements' decision and are counted apart. The output counts what
    would newly be refused (per partner pair and reason), newly allowed
    (per pair) and stay as it was; never a pseudonym, and signal ids only
    with --detail (for the officer). */
#include "cmd_agreements_simulate.h"

#include "agreements.h"
#include "audit_read.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_REASON_MAX 200

typedef struct {
    const agreements_t *next;
    bool detail;
    uint64_t exchanges;       /* decided by the agreements */
    uint64_t stay_allowed;    /* allowed before and after */
    uint64_t stay_refused;    /* refused before and after */
    uint64_t skipped;         /* denied for a reason outside the agreements */
    audit_counter_t *refused; /* "from\tto\treason" -> newly refused */
    audit_counter_t *allowed; /* "from\tto" -> newly allowed */
    audit_counter_t *ids;     /* --detail: "kind\tfrom\tto\treason\tid" -> 1 */
    bool failed;              /* out of memory */
} simulation_t;

static int s_usage(FILE *out, const char *why)
{
    if (why)
        fprintf(out, "hartslag agreements: %s\n", why);
    fputs("usage: hartslag agreements simulate NEW.yaml --db BROKER.db [--from DATE] [--to DATE]\n"
          "                                     [--json] [--detail]\n",
          out);
    return 2;
}

/* Whether NEW allows this exchange; the reason token when not. */
static bool s_allowed_by_next(const agreements_t *next, const Hartslag__AuditRecord *r,
                              char *reason, size_t reason_len)
{
    agreements_str_t recipient = {r->counterpart_org, strlen(r->counterpart_org)};
    size_t n_fields = r->n_fields < AGREEMENTS_FIELDS_MAX ? r->n_fields : AGREEMENTS_FIELDS_MAX;
    agreements_str_t fields[AGREEMENTS_FIELDS_MAX];
    for (size_t i = 0; i < n_fields; i++)
        fields[i] = (agreements_str_t){r->fields[i], strlen(r->fields[i])};
    agreements_request_t request = {
        .sender = {r->actor_org, strlen(r->actor_org)},
        .recipients = &recipient,
        .recipient_count = 1,
        .signal_type = {r->signal_type, strlen(r->signal_type)},
        .purpose = {r->purpose, strlen(r->purpose)},
        .fields = fields,
        .field_count = n_fields,
        .at_ms = r->time_ms > INT64_MAX ? INT64_MAX : (int64_t)r->time_ms,
    };
    agreements_decision_t decision;
    if (agreements_evaluate(next, &request, &decision) != 0 || decision.count != 1) {
        snprintf(reason, reason_len, "malformed");
        return false;
    }
    if (decision.allowed)
        return true;
    if (agreements_verdict_reason(&decision.recipients[0], reason, reason_len) != 0)
        reason[reason_len - 1] = '\0';
    return false;
}

static void s_add(simulation_t *sim, audit_counter_t *counter, const char *key)
{
    if (audit_counter_add(counter, key, 1) != 0)
        sim->failed = true;
}

static int s_one(void *arg, uint64_t index, const Hartslag__AuditRecord *r)
{
    (void)index;
    simulation_t *sim = arg;
    bool accepted = strcmp(r->event, "accepted") == 0;
    bool denied = strcmp(r->event, "denied") == 0;
    if (!accepted && !denied)
        return 0;
    if (!r->counterpart_org || !r->signal_type || !r->purpose || !r->actor_org ||
        (denied && (!r->reason || strncmp(r->reason, "agreement:", 10) != 0))) {
        sim->skipped += denied;
        return 0;
    }
    bool was_allowed = accepted || strcmp(r->reason, "agreement:allowed") == 0;
    char reason[S_REASON_MAX] = "";
    bool now_allowed = s_allowed_by_next(sim->next, r, reason, sizeof reason);
    sim->exchanges++;
    char key[3 * S_REASON_MAX];
    if (was_allowed && now_allowed)
        sim->stay_allowed++;
    else if (!was_allowed && !now_allowed)
        sim->stay_refused++;
    else if (was_allowed) {
        snprintf(key, sizeof key, "%s\t%s\t%s", r->actor_org, r->counterpart_org, reason);
        s_add(sim, sim->refused, key);
    } else {
        snprintf(key, sizeof key, "%s\t%s", r->actor_org, r->counterpart_org);
        s_add(sim, sim->allowed, key);
    }
    if (sim->detail && was_allowed != now_allowed && r->has_signal_id &&
        r->signal_id.len == AUDIT_READ_SIGNAL_BYTES) {
        char hex[2 * AUDIT_READ_SIGNAL_BYTES + 1];
        audit_hex(r->signal_id.data, r->signal_id.len, hex);
        snprintf(key, sizeof key, "%s\t%s\t%s\t%s\t%s", now_allowed ? "allowed" : "refused",
                 r->actor_org, r->counterpart_org, now_allowed ? "-" : reason, hex);
        s_add(sim, sim->ids, key);
    }
    return sim->failed ? -1 : 0;
}

/* Splits a counter key at its tabs (in place) into up to `max` parts. */
static size_t s_split(char *key, char **parts, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *p = strtok_r(key, "\t", &save); p && n < max;
         p = strtok_r(NULL, "\t", &save))
        parts[n++] = p;
    return n;
}

static uint64_t s_total(audit_counter_t *counter)
{
    size_t n = 0;
    const audit_count_t *all = audit_counter_sorted(counter, &n);
    uint64_t total = 0;
    for (size_t i = 0; all && i < n; i++)
        total += all[i].count;
    return total;
}

static void s_print_text(simulation_t *sim, const char *file, const char *db, uint64_t purged,
                         uint64_t unreadable)
{
    char hash[AGREEMENTS_HASH_HEX];
    agreements_hash_hex(sim->next, hash);
    printf("dry run of %s (version %llu, sha256 %s)\n", file,
           (unsigned long long)agreements_version(sim->next), hash);
    printf("against %" PRIu64 " exchanges the agreements decided in %s\n", sim->exchanges, db);
    printf("  unchanged:      %" PRIu64 " (%" PRIu64 " allowed, %" PRIu64 " refused)\n",
           sim->stay_allowed + sim->stay_refused, sim->stay_allowed, sim->stay_refused);
    size_t n = 0;
    const audit_count_t *all = audit_counter_sorted(sim->refused, &n);
    printf("  newly refused:  %" PRIu64 "\n", s_total(sim->refused));
    for (size_t i = 0; all && i < n; i++) {
        char *copy = strdup(all[i].key), *p[3] = {0};
        if (copy && s_split(copy, p, 3) == 3)
            printf("    %s -> %s: %" PRIu64 " (%s)\n", p[0], p[1], all[i].count, p[2]);
        free(copy);
    }
    all = audit_counter_sorted(sim->allowed, &n);
    printf("  newly allowed:  %" PRIu64 "\n", s_total(sim->allowed));
    for (size_t i = 0; all && i < n; i++) {
        char *copy = strdup(all[i].key), *p[2] = {0};
        if (copy && s_split(copy, p, 2) == 2)
            printf("    %s -> %s: %" PRIu64 "\n", p[0], p[1], all[i].count);
        free(copy);
    }
    if (sim->skipped)
        printf("  not decided by the agreements (refused for another reason): %" PRIu64 "\n",
               sim->skipped);
    if (sim->detail) {
        all = audit_counter_sorted(sim->ids, &n);
        printf("signals that would change:\n");
        for (size_t i = 0; all && i < n; i++) {
            char *copy = strdup(all[i].key), *p[5] = {0};
            if (copy && s_split(copy, p, 5) == 5)
                printf("  %s %s -> %s %s%s%s\n", p[4], p[1], p[2], p[0],
                       strcmp(p[3], "-") ? " " : "", strcmp(p[3], "-") ? p[3] : "");
            free(copy);
        }
    }
    if (purged || unreadable)
        printf("warning: %" PRIu64 " records were purged after the retention period and %" PRIu64
               " could not be read: the dry run covers only the rest\n",
               purged, unreadable);
}

static void s_print_json(simulation_t *sim, uint64_t purged, uint64_t unreadable)
{
    char hash[AGREEMENTS_HASH_HEX];
    agreements_hash_hex(sim->next, hash);
    printf("{\"version\":%llu,\"sha256\":\"%s\",\"exchanges\":%" PRIu64
           ",\"unchanged\":{\"allowed\":%" PRIu64 ",\"refused\":%" PRIu64 "},\"newly_refused\":[",
           (unsigned long long)agreements_version(sim->next), hash, sim->exchanges,
           sim->stay_allowed, sim->stay_refused);
    size_t n = 0;
    const audit_count_t *all = audit_counter_sorted(sim->refused, &n);
    for (size_t i = 0; all && i < n; i++) {
        char *copy = strdup(all[i].key), *p[3] = {0};
        if (copy && s_split(copy, p, 3) == 3) {
            printf("%s{\"from\":", i ? "," : "");
            audit_json_string(stdout, p[0]);
            fputs(",\"to\":", stdout);
            audit_json_string(stdout, p[1]);
            fputs(",\"reason\":", stdout);
            audit_json_string(stdout, p[2]);
            printf(",\"count\":%" PRIu64 "}", all[i].count);
        }
        free(copy);
    }
    fputs("],\"newly_allowed\":[", stdout);
    all = audit_counter_sorted(sim->allowed, &n);
    for (size_t i = 0; all && i < n; i++) {
        char *copy = strdup(all[i].key), *p[2] = {0};
        if (copy && s_split(copy, p, 2) == 2) {
            printf("%s{\"from\":", i ? "," : "");
            audit_json_string(stdout, p[0]);
            fputs(",\"to\":", stdout);
            audit_json_string(stdout, p[1]);
            printf(",\"count\":%" PRIu64 "}", all[i].count);
        }
        free(copy);
    }
    printf("],\"not_decided_by_agreements\":%" PRIu64 ",\"purged\":%" PRIu64
           ",\"unreadable\":%" PRIu64,
           sim->skipped, purged, unreadable);
    if (sim->detail) {
        fputs(",\"signals\":[", stdout);
        all = audit_counter_sorted(sim->ids, &n);
        for (size_t i = 0; all && i < n; i++) {
            char *copy = strdup(all[i].key), *p[5] = {0};
            if (copy && s_split(copy, p, 5) == 5)
                printf("%s{\"signal_id\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"now\":\"%s\"}",
                       i ? "," : "", p[4], p[1], p[2], p[0]);
            free(copy);
        }
        fputs("]", stdout);
    }
    puts("}");
}

int agreements_cmd_simulate(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"detail", no_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *from = NULL, *to = NULL;
    bool json = false, detail = false;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'd')
            db = optarg;
        else if (c == 'f')
            from = optarg;
        else if (c == 't')
            to = optarg;
        else if (c == 'j')
            json = true;
        else if (c == 'D')
            detail = true;
        else if (c == 'h')
            return s_usage(stdout, NULL), 0;
        else
            return s_usage(stderr, "simulate: unknown option");
    }
    if (!db || optind != argc - 1)
        return s_usage(stderr, "simulate: one NEW.yaml and --db BROKER.db are required");
    audit_filter_t filter = {0};
    if (from && audit_parse_time(from, false, &filter.from_ms) != 0)
        return s_usage(stderr, "simulate: --from takes YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z]");
    if (to && audit_parse_time(to, true, &filter.to_ms) != 0)
        return s_usage(stderr, "simulate: --to takes YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z]");
    filter.has_from = from != NULL;
    filter.has_to = to != NULL;
    const char *file = argv[optind];
    agreements_errors_t *errors = NULL;
    agreements_t *next = agreements_load(file, &errors);
    if (!next) {
        const agreements_error_t *e = errors ? agreements_errors_at(errors, 0) : NULL;
        fprintf(stderr, "hartslag agreements: %s:%u:%u: %s (hartslag agreements check)\n", file,
                e ? e->line : 0, e ? e->column : 0, e ? e->message : "cannot be read");
        agreements_errors_destroy(&errors);
        return 1;
    }
    char err[AUDIT_READ_ERR_MAX];
    audit_reader_t *reader = audit_reader_open(db, err, sizeof err);
    if (!reader) {
        fprintf(stderr, "hartslag agreements: %s\n", err);
        agreements_destroy(&next);
        return 1;
    }
    simulation_t sim = {.next = next,
                        .detail = detail,
                        .refused = audit_counter_new(),
                        .allowed = audit_counter_new(),
                        .ids = audit_counter_new()};
    uint64_t unreadable = 0, purged = 0;
    int rc = 1;
    if (!sim.refused || !sim.allowed || !sim.ids)
        fprintf(stderr, "hartslag agreements: out of memory\n");
    else if (audit_reader_each(reader, &filter, s_one, &sim, &unreadable, &purged, err,
                               sizeof err) < 0)
        fprintf(stderr, "hartslag agreements: %s: %s\n", db, sim.failed ? "out of memory" : err);
    else {
        if (json)
            s_print_json(&sim, purged, unreadable);
        else
            s_print_text(&sim, file, db, purged, unreadable);
        rc = 0;
    }
    audit_counter_destroy(&sim.refused);
    audit_counter_destroy(&sim.allowed);
    audit_counter_destroy(&sim.ids);
    audit_reader_destroy(&reader);
    agreements_destroy(&next);
    return rc;
}
