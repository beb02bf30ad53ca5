/*  hartslag audit query | export: find records in a copy of the broker's
    audit store, as a table, JSON or CSV. A BSN or address given to find a
    subject is pseudonymised here with the pseudonym key and never printed. */
#include "audit_events.h"
#include "audit_read.h"
#include "cmd_audit.h"
#include "commands.h"
#include "suggest.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Options shared by query and export. */
enum {
    OPT_DB = 1000,
    OPT_FROM,
    OPT_TO,
    OPT_ORG,
    OPT_EVENT,
    OPT_TYPE,
    OPT_PURPOSE,
    OPT_SIGNAL,
    OPT_SUBJECT,
    OPT_BSN,
    OPT_ADDRESS,
    OPT_KEY,
    OPT_OFFICER,
    OPT_LOOKUP_PURPOSE,
    OPT_LIMIT,
    OPT_JSON,
    OPT_CSV,
};

#define FILTER_OPTIONS                                                                             \
    {"db", required_argument, NULL, OPT_DB}, {"from", required_argument, NULL, OPT_FROM},          \
        {"to", required_argument, NULL, OPT_TO}, {"org", required_argument, NULL, OPT_ORG},        \
        {"event", required_argument, NULL, OPT_EVENT},                                             \
        {"type", required_argument, NULL, OPT_TYPE},                                               \
        {"purpose", required_argument, NULL, OPT_PURPOSE},                                         \
        {"signal", required_argument, NULL, OPT_SIGNAL},                                           \
        {"subject", required_argument, NULL, OPT_SUBJECT},                                         \
        {"bsn", required_argument, NULL, OPT_BSN},                                                 \
        {"address", required_argument, NULL, OPT_ADDRESS},                                         \
        {"pseudonym-key", required_argument, NULL, OPT_KEY},                                       \
        {"officer", required_argument, NULL, OPT_OFFICER},                                         \
        {"lookup-purpose", required_argument, NULL, OPT_LOOKUP_PURPOSE},                           \
        {"limit", required_argument, NULL, OPT_LIMIT},                                             \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

#define FILTER_USAGE                                                                               \
    "  --db STORE            a copy of the broker's state_dir/broker.db, or its\n"                 \
    "                        postgresql://... store (required)\n"                                  \
    "  --from DATE|TIME      records at or after (2026-03-01 or 2026-03-01T14:00:00+01:00;\n"      \
    "                        a time without zone is UTC)\n"                                        \
    "  --to DATE|TIME        records before TIME; a bare DATE includes that whole day\n"           \
    "  --org ORG             ORG acted, was the counterpart, or was acted for\n"                   \
    "  --event E             submitted, accepted, denied, delivered, acked,\n"                     \
    "                        rejected_by_recipient, withdrawn, expired, alert, alert_handled,\n"   \
    "                        auth_failed, partner_added, partner_revoked, partner_expired,\n"      \
    "                        agreements_loaded, agreements_refused, recovered, purged\n"           \
    "  --type T              signal type (e.g. overlast)\n"                                        \
    "  --purpose P           purpose (e.g. casusoverleg)\n"                                        \
    "  --signal HEX          signal id (32 hex digits)\n"                                          \
    "  --subject HEX         subject pseudonym (64 hex digits)\n"                                  \
    "  --bsn N | --address A a citizen's BSN or address (\"6411 AB 12a\"), looked up through\n"    \
    "                        the pseudonym service with --officer FILE and\n"                      \
    "                        --lookup-purpose art15|audit_query (the service records the\n"        \
    "                        lookup); never printed. '-' reads it from standard input\n"           \
    "  --limit N             at most N records\n"

typedef struct {
    const char *db;          /* --db */
    const char *bsn;         /* --bsn (never printed) */
    const char *address;     /* --address (never printed) */
    const char *subject_hex; /* --subject */
    const char *officer;     /* --officer */
    const char *lookup;      /* --lookup-purpose */
    audit_filter_t filter;   /* the rest */
} filter_args_t;

/* Handles one filter option; 0 taken, 2 usage error (message printed). */
static int s_filter_option(const char *command, int opt, const char *arg, filter_args_t *args)
{
    audit_filter_t *f = &args->filter;
    switch (opt) {
    case OPT_DB:
        args->db = arg;
        return 0;
    case OPT_FROM:
    case OPT_TO: {
        int64_t ms;
        if (audit_parse_time(arg, opt == OPT_TO, &ms) != 0) {
            fprintf(stderr,
                    "hartslag audit %s: %s wants a date (2026-03-01) or a time "
                    "(2026-03-01T14:00:00Z), not '%s'\n",
                    command, opt == OPT_FROM ? "--from" : "--to", arg);
            return EXIT_USAGE;
        }
        if (opt == OPT_FROM) {
            f->has_from = true;
            f->from_ms = ms;
        } else {
            f->has_to = true;
            f->to_ms = ms;
        }
        return 0;
    }
    case OPT_ORG:
        f->org = arg;
        return 0;
    case OPT_EVENT:
        f->event = arg;
        return 0;
    case OPT_TYPE:
        f->type = arg;
        return 0;
    case OPT_PURPOSE:
        f->purpose = arg;
        return 0;
    case OPT_SIGNAL:
        if (audit_unhex(arg, f->signal, AUDIT_READ_SIGNAL_BYTES) != 0) {
            fprintf(stderr, "hartslag audit %s: --signal wants a signal id of 32 hex digits\n",
                    command);
            return EXIT_USAGE;
        }
        f->has_signal = true;
        return 0;
    case OPT_SUBJECT:
        args->subject_hex = arg;
        return 0;
    case OPT_BSN:
        args->bsn = arg;
        return 0;
    case OPT_ADDRESS:
        args->address = arg;
        return 0;
    case OPT_KEY:
        fprintf(stderr,
                "hartslag audit %s: --pseudonym-key is retired: no tool holds a pseudonym "
                "key any more. Use --officer FILE --lookup-purpose art15|audit_query "
                "(docs/audit.md)\n",
                command);
        return EXIT_USAGE;
    case OPT_OFFICER:
        args->officer = arg;
        return 0;
    case OPT_LOOKUP_PURPOSE:
        args->lookup = arg;
        return 0;
    case OPT_LIMIT: {
        char *end = NULL;
        errno = 0;
        unsigned long long n = strtoull(arg, &end, 10);
        if (errno || !end || *end || end == arg || arg[0] == '-' || n == 0) {
            fprintf(stderr, "hartslag audit %s: --limit wants a positive number\n", command);
            return EXIT_USAGE;
        }
        f->limit = (uint64_t)n;
        return 0;
    }
    default:
        fprintf(stderr, "try 'hartslag audit %s --help'\n", command);
        return EXIT_USAGE;
    }
}

/* After parsing: checks --db and positional arguments, resolves the
   subject. 0, 1 (failure) or 2 (usage); messages printed. */
static int s_filter_finish(const char *command, int argc, filter_args_t *args)
{
    if (optind < argc) {
        fprintf(stderr, "hartslag audit %s: unexpected argument (options start with --)\n",
                command);
        return EXIT_USAGE;
    }
    if (!args->db) {
        fprintf(stderr, "hartslag audit %s: give --db: %s\n", command, audit_read_db_hint(NULL));
        return EXIT_USAGE;
    }
    if (args->filter.has_from && args->filter.has_to &&
        args->filter.from_ms >= args->filter.to_ms) {
        fprintf(stderr, "hartslag audit %s: --from must be before --to\n", command);
        return EXIT_USAGE;
    }
    if (args->bsn || args->address || args->subject_hex) {
        char err[AUDIT_READ_ERR_MAX];
        int rc = audit_subject_resolve(args->bsn, args->address, args->subject_hex, args->officer,
                                       args->lookup, args->filter.subject, err, sizeof err);
        if (rc != 0) {
            audit_read_report_error(command, err);
            return rc == 2 ? EXIT_USAGE : 1;
        }
        args->filter.has_subject = true;
    }
    return 0;
}

static void s_warn_unreadable(const char *command, uint64_t unreadable, uint64_t purged)
{
    if (unreadable)
        fprintf(stderr,
                "hartslag audit %s: warning: %" PRIu64 " record(s) could not be read and are "
                "not shown — run 'hartslag audit verify'\n",
                command, unreadable);
    if (purged)
        fprintf(stderr,
                "hartslag audit %s: note: %" PRIu64 " record(s) were purged after the "
                "retention period and are not shown\n",
                command, purged);
}

/* ------------------------------------------------------------------------
   Output per record */

typedef enum { OUT_TABLE, OUT_JSON, OUT_CSV } out_format_t;

typedef struct {
    out_format_t format; /* how to print */
    uint64_t count;      /* records printed so far */
} out_ctx_t;

static void s_table_header(void)
{
    printf("%-6s %-20s %-21s %-14s %-16s %-14s %-14s %-16s %-32s %s\n", "INDEX", "TIME (UTC)",
           "EVENT", "ACTOR", "USER", "COUNTERPART", "TYPE", "PURPOSE", "SIGNAL", "OUTCOME");
}

static int s_print_record(void *arg, uint64_t index, const Hartslag__AuditRecord *r)
{
    out_ctx_t *ctx = arg;
    if (ctx->count == 0 && ctx->format == OUT_CSV)
        audit_record_csv_header(stdout);
    if (ctx->format == OUT_JSON) {
        fputs(ctx->count ? ",\n" : "[\n", stdout);
        audit_record_json(stdout, index, r);
    } else if (ctx->format == OUT_CSV)
        audit_record_csv(stdout, index, r);
    else {
        if (ctx->count == 0)
            s_table_header();
        char time[AUDIT_READ_TIME_MAX], signal[33] = "-";
        audit_format_time((int64_t)(r->time_ms > INT64_MAX ? INT64_MAX : r->time_ms), time);
        if (r->has_signal_id && r->signal_id.len == AUDIT_READ_SIGNAL_BYTES)
            audit_hex(r->signal_id.data, AUDIT_READ_SIGNAL_BYTES, signal);
        printf("%-6" PRIu64 " %-20s ", index, time);
        audit_term_text(stdout, r->event, 21);
        fputc(' ', stdout);
        audit_term_text(stdout, r->actor_org, 14);
        fputc(' ', stdout);
        audit_term_text(stdout, r->actor_user ? r->actor_user : "-", 16);
        fputc(' ', stdout);
        /* The broker delivers on behalf of the sender: show both. */
        char counterpart[200];
        snprintf(counterpart, sizeof counterpart, "%s%s%s",
                 r->counterpart_org ? r->counterpart_org : "-", r->on_behalf_of ? " for " : "",
                 r->on_behalf_of ? r->on_behalf_of : "");
        audit_term_text(stdout, counterpart, 14);
        fputc(' ', stdout);
        audit_term_text(stdout, r->signal_type ? r->signal_type : "-", 14);
        fputc(' ', stdout);
        audit_term_text(stdout, r->purpose ? r->purpose : "-", 16);
        printf(" %-32s ", signal);
        audit_term_text(stdout, r->outcome, 0);
        if (r->reason) {
            fputs(": ", stdout);
            audit_term_text(stdout, r->reason, 0);
        }
        fputc('\n', stdout);
    }
    ctx->count++;
    return 0;
}

/* Checks --event against the table of event names (lib/audit_events): an
   unknown name is a typo, not an empty result. 0, or 2 (message printed). */
static int s_check_event(const char *command, const char *event)
{
    if (!event || audit_event_find(event))
        return 0;
    const char *names[64];
    size_t n = 0;
    for (size_t i = 0; i < audit_event_count() && n < 64; i++)
        names[n++] = audit_event_at(i)->name;
    const char *near = suggest_nearest(event, names, n);
    fprintf(stderr, "hartslag audit %s: unknown event '", command);
    audit_term_text(stderr, event, 0);
    if (near)
        fprintf(stderr, "'; did you mean '%s'?\n", near);
    else
        fprintf(stderr, "' (see --help for the events)\n");
    return EXIT_USAGE;
}

/* The values of one filter dimension that occur in the log. */
typedef struct {
    const audit_filter_t *filter; /* what was asked */
    audit_counter_t *seen;        /* "o\tORG", "t\tTYPE", "p\tPURPOSE" */
    bool failed;                  /* out of memory */
} known_ctx_t;

static void s_seen(known_ctx_t *k, char dim, const char *value)
{
    if (!value)
        return;
    char key[AUDIT_COUNTER_KEY_MAX], clean[AUDIT_COUNTER_KEY_MAX - 8];
    audit_clean_text(value, clean, sizeof clean);
    snprintf(key, sizeof key, "%c\t%s", dim, clean);
    if (audit_counter_add(k->seen, key, 1) != 0)
        k->failed = true;
}

static int s_collect_known(void *arg, uint64_t index, const Hartslag__AuditRecord *r)
{
    (void)index;
    known_ctx_t *k = arg;
    if (k->filter->org) {
        s_seen(k, 'o', r->actor_org);
        s_seen(k, 'o', r->counterpart_org);
        s_seen(k, 'o', r->on_behalf_of);
    }
    if (k->filter->type)
        s_seen(k, 't', r->signal_type);
    if (k->filter->purpose)
        s_seen(k, 'p', r->purpose);
    return k->failed ? -1 : 0;
}

/* Nothing matched: is one of --org, --type, --purpose a value the log has
   never held (a typo)? Then a usage error naming the nearest value. Costs
   one more walk, only when nothing matched. 0 (they all occur: the answer
   is "no records match"), 2 (message printed) or 1 (failure). */
static int s_check_values(const char *command, audit_reader_t *reader, const audit_filter_t *f)
{
    if (!f->org && !f->type && !f->purpose)
        return 0;
    known_ctx_t k = {f, audit_counter_new(), false};
    char err[AUDIT_READ_ERR_MAX];
    if (!k.seen ||
        audit_reader_each(reader, NULL, s_collect_known, &k, NULL, NULL, err, sizeof err) < 0) {
        audit_read_report_error(command, k.seen && !k.failed ? err : "out of memory");
        audit_counter_destroy(&k.seen);
        return 1;
    }
    const struct {
        char dim;
        const char *value, *option;
    } asked[] = {{'o', f->org, "--org"}, {'t', f->type, "--type"}, {'p', f->purpose, "--purpose"}};
    size_t n = 0;
    const audit_count_t *all = audit_counter_sorted(k.seen, &n);
    const char **names = calloc(n ? n : 1, sizeof *names);
    int rc = names ? 0 : 1;
    for (size_t a = 0; names && a < sizeof asked / sizeof *asked && rc == 0; a++) {
        if (!asked[a].value)
            continue;
        char key[AUDIT_COUNTER_KEY_MAX];
        snprintf(key, sizeof key, "%c\t%s", asked[a].dim, asked[a].value);
        if (audit_counter_get(k.seen, key) > 0)
            continue;
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (all[i].key[0] == asked[a].dim)
                names[m++] = all[i].key + 2;
        const char *near = suggest_nearest(asked[a].value, names, m);
        fprintf(stderr, "hartslag audit %s: %s '", command, asked[a].option);
        audit_term_text(stderr, asked[a].value, 0);
        fprintf(stderr, "' does not occur in this log");
        if (near) {
            fprintf(stderr, "; did you mean '");
            audit_term_text(stderr, near, 0);
            fprintf(stderr, "'?\n");
        } else
            fprintf(stderr, "\n");
        rc = EXIT_USAGE;
    }
    if (!names)
        fprintf(stderr, "hartslag audit %s: out of memory\n", command);
    free(names);
    audit_counter_destroy(&k.seen);
    return rc;
}

/* Runs the filter over the store and prints. Returns the exit code. */
static int s_run(const char *command, filter_args_t *args, out_format_t format, bool empty_is_ok)
{
    int rc = s_check_event(command, args->filter.event);
    if (rc != 0)
        return rc;
    char err[AUDIT_READ_ERR_MAX];
    audit_reader_t *reader = audit_reader_open(args->db, err, sizeof err);
    if (!reader) {
        audit_read_report_error(command, err);
        return 1;
    }
    out_ctx_t ctx = {format, 0};
    uint64_t unreadable = 0, purged = 0;
    int64_t n = audit_reader_each(reader, &args->filter, s_print_record, &ctx, &unreadable, &purged,
                                  err, sizeof err);
    if (n == 0 && (rc = s_check_values(command, reader, &args->filter)) != 0) {
        audit_reader_destroy(&reader);
        return rc;
    }
    audit_reader_destroy(&reader);
    if (format == OUT_JSON)
        fputs(ctx.count ? "\n]\n" : "[]\n", stdout);
    else if (format == OUT_CSV && ctx.count == 0)
        audit_record_csv_header(stdout);
    if (n < 0) {
        audit_read_report_error(command, err);
        return 1;
    }
    s_warn_unreadable(command, unreadable, purged);
    if (format == OUT_TABLE) {
        if (n == 0)
            printf("no records match\n");
        else
            printf("%" PRId64 " record%s\n", n, n == 1 ? "" : "s");
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "hartslag audit %s: cannot write the output\n", command);
        return 1;
    }
    return n > 0 || empty_is_ok ? 0 : 1;
}

int audit_cmd_query(int argc, char **argv)
{
    static const struct option options[] = {
        FILTER_OPTIONS,
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    filter_args_t args;
    memset(&args, 0, sizeof args);
    bool json = false;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            printf("usage: hartslag audit query --db STORE [FILTERS] [--limit N] [--json]\n\n"
                   "Lists the audit records that match every filter given, oldest first.\n"
                   "Times are shown in UTC.\n\n" FILTER_USAGE
                   "  --json                one JSON array of records (binary fields as hex)\n\n"
                   "An unknown --event, or an --org, --type or --purpose that occurs nowhere\n"
                   "in the log, is a usage error with the nearest known value (a typo).\n\n"
                   "exit codes: 0 records found, 1 none found or failure, 2 usage error\n");
            return 0;
        }
        if (opt == OPT_JSON) {
            json = true;
            continue;
        }
        int rc = s_filter_option("query", opt, optarg, &args);
        if (rc != 0)
            return rc;
    }
    int rc = s_filter_finish("query", argc, &args);
    if (rc != 0)
        return rc;
    return s_run("query", &args, json ? OUT_JSON : OUT_TABLE, false);
}

int audit_cmd_export(int argc, char **argv)
{
    static const struct option options[] = {
        FILTER_OPTIONS,
        {"json", no_argument, NULL, OPT_JSON},
        {"csv", no_argument, NULL, OPT_CSV},
        {NULL, 0, NULL, 0},
    };
    filter_args_t args;
    memset(&args, 0, sizeof args);
    int json = 0, csv = 0;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            printf(
                "usage: hartslag audit export --db STORE (--csv | --json) [FILTERS] [--limit N]\n\n"
                "Writes the matching records to standard output, oldest first:\n"
                "  --csv   RFC 4180 CSV with a header line (CRLF line ends); field names\n"
                "          joined with ';'; binary fields (signal_id, subject, prev_hash)\n"
                "          as hex; times as UTC and as Unix milliseconds\n"
                "  --json  one JSON array of records (UTF-8)\n"
                "Values are exported as recorded, except that a CSV cell starting with\n"
                "= + - @ tab or CR gets a leading ' so that no spreadsheet runs it as a\n"
                "formula (OWASP); JSON is exact.\n\n" FILTER_USAGE
                "\nAn unknown --event, or an --org, --type or --purpose that occurs nowhere in\n"
                "the log, is a usage error with the nearest known value (a typo).\n"
                "exit codes: 0 written (also when nothing matched), 1 failure, 2 usage "
                "error\n");
            return 0;
        }
        if (opt == OPT_JSON) {
            json = 1;
            continue;
        }
        if (opt == OPT_CSV) {
            csv = 1;
            continue;
        }
        int rc = s_filter_option("export", opt, optarg, &args);
        if (rc != 0)
            return rc;
    }
    if (json + csv != 1) {
        fprintf(stderr, "hartslag audit export: give exactly one of --csv or --json\n");
        return EXIT_USAGE;
    }
    int rc = s_filter_finish("export", argc, &args);
    if (rc != 0)
        return rc;
    return s_run("export", &args, json ? OUT_JSON : OUT_CSV, true);
}
