/*  agreements: parsing, validation (every error with its line), hostile
    files, and the evaluation of requests (every deny reason, all-or-nothing,
    date boundaries, precedence). */
#include "date.h"
#include "agreements.h"

#include "testutil.h"
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------- helpers */

/* Nine lines of partners, so agreements start at line 11 in every fixture below. */
#define HEADER                                                                                     \
    "partnership: test-partnership\n"                       /* 1 */                                \
    "version: 3\n"                                          /* 2 */                                \
    "coordinator: gemeente\n"                               /* 3 */                                \
    "partners:\n"                                           /* 4 */                                \
    "  - {org: gemeente, role: coordinator}\n"              /* 5 */                                \
    "  - {org: politie, role: partner}\n"                   /* 6 */                                \
    "  - {org: welzijn, role: partner}\n"                   /* 7 */                                \
    "  - {org: woonpunt, role: partner, may_send: false}\n" /* 8 */                                \
    "  - {org: ggd, role: partner, may_receive: false}\n"   /* 9 */

/* One complete agreement, lines 11..21 when it is the first. */
#define AGREEMENT_A1                                                                               \
    "  - id: a1\n"                            /* 11 */                                             \
    "    from: politie\n"                     /* 12 */                                             \
    "    to: [gemeente, welzijn]\n"           /* 13 */                                             \
    "    signal_types: [overlast, drugs]\n"   /* 14 */                                             \
    "    fields: [adres, datum, categorie]\n" /* 15 */                                             \
    "    purpose: casusoverleg\n"             /* 16 */                                             \
    "    legal_basis: \"Wpg art. 19\"\n"      /* 17 */                                             \
    "    valid_from: 2025-01-01\n"            /* 18 */                                             \
    "    valid_until: 2025-12-31\n"           /* 19 */                                             \
    "    retention_days: 180\n"               /* 20 */                                             \
    "    max_queue_days: 7\n"                 /* 21 */

static const char *s_policy = HEADER "agreements:\n" AGREEMENT_A1 "  - id: a2\n" /* 22 */
                                     "    from: politie\n"
                                     "    to: [gemeente]\n"
                                     "    signal_types: [zorg]\n"
                                     "    fields: [bsn, adres]\n"
                                     "    purpose: veiligheidshuis\n"
                                     "    legal_basis: \"Wpg art. 19 lid 1 sub a\"\n"
                                     "    valid_from: 2026-01-01\n"
                                     "    valid_until: 2026-12-31\n"
                                     "    retention_days: 365\n"
                                     "    max_queue_days: 14\n"
                                     "  - id: a3\n"
                                     "    from: woonpunt\n"
                                     "    to: [gemeente]\n"
                                     "    signal_types: [overlast]\n"
                                     "    fields: [adres]\n"
                                     "    purpose: casusoverleg\n"
                                     "    legal_basis: \"AVG art. 6 lid 1 sub e\"\n"
                                     "    valid_from: 2025-01-01\n"
                                     "    valid_until: 2027-12-31\n"
                                     "    retention_days: 90\n"
                                     "    max_queue_days: 7\n"
                                     "  - id: a4\n"
                                     "    from: gemeente\n"
                                     "    to: [ggd, politie]\n"
                                     "    signal_types: [casus]\n"
                                     "    fields: [datum]\n"
                                     "    purpose: casusoverleg\n"
                                     "    legal_basis: \"AVG art. 6 lid 1 sub e\"\n"
                                     "    valid_from: 2025-01-01\n"
                                     "    valid_until: 2027-12-31\n"
                                     "    retention_days: 90\n"
                                     "    max_queue_days: 7\n"
                                     "alerts:\n"
                                     "  - id: multi\n"
                                     "    distinct_senders: 2\n"
                                     "    window_days: 90\n"
                                     "    signal_types: [overlast, drugs]\n"
                                     "    notify: [gemeente]\n"
                                     "    notify_senders: true\n"
                                     "    legal_basis: \"convenant art. 6\"\n";

static agreements_t *s_load_ok(const char *text)
{
    agreements_errors_t *errors = NULL;
    agreements_t *a = agreements_parse(text, strlen(text), "test.yaml", &errors);
    if (!a)
        agreements_errors_print(errors, stderr);
    cr_assert_not_null(a, "expected the fixture to parse");
    cr_assert_null(errors);
    return a;
}

/* Parses text that must fail; returns its errors (caller destroys). */
static agreements_errors_t *s_load_bad(const char *text, size_t len)
{
    agreements_errors_t *errors = NULL;
    agreements_t *a = agreements_parse(text, len, "bad.yaml", &errors);
    cr_assert_null(a, "expected the file to be refused");
    cr_assert_not_null(errors);
    cr_assert_gt(agreements_errors_count(errors), 0);
    return errors;
}

/* Asserts that some error is at `line` (and `column`, when not 0) and mentions `needle`. */
static void s_expect(const agreements_errors_t *errors, uint32_t line, uint32_t column,
                     const char *needle)
{
    for (size_t i = 0; i < agreements_errors_count(errors); i++) {
        const agreements_error_t *e = agreements_errors_at(errors, i);
        if (e->line == line && (column == 0 || e->column == column) && strstr(e->message, needle))
            return;
    }
    agreements_errors_print(errors, stderr);
    cr_assert_fail("no error at line %u col %u containing '%s'", line, column, needle);
}

static void s_expect_error(const char *text, uint32_t line, uint32_t column, const char *needle)
{
    agreements_errors_t *errors = s_load_bad(text, strlen(text));
    s_expect(errors, line, column, needle);
    agreements_errors_destroy(&errors);
}

static int64_t s_ms(const char *date, int hour, int minute, int second, int ms)
{
    int64_t day;
    cr_assert_eq(date_parse_cstr(date, &day), 0, "bad date %s", date);
    return (int64_t)day * 86400000 + ((int64_t)hour * 3600 + minute * 60 + second) * 1000 + ms;
}

/* Evaluates with recipients and fields given as comma lists (parsed here). */
typedef struct {
    agreements_str_t to[AGREEMENTS_RECIPIENTS_MAX + 1];
    agreements_str_t fields[16];
    char to_buf[512];
    char fields_buf[512];
    agreements_request_t req;
    agreements_decision_t decision;
} eval_t;

static size_t s_split(char *buf, agreements_str_t *items, size_t max)
{
    size_t n = 0;
    if (buf[0] == '\0')
        return 0;
    char *p = buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        cr_assert_lt(n, max);
        items[n++] = agreements_str(p);
        if (!comma)
            break;
        p = comma + 1;
    }
    return n;
}

static int s_eval(const agreements_t *a, eval_t *e, const char *from, const char *to,
                  const char *type, const char *purpose, const char *fields, int64_t at_ms)
{
    memset(e, 0, sizeof *e);
    snprintf(e->to_buf, sizeof e->to_buf, "%s", to);
    snprintf(e->fields_buf, sizeof e->fields_buf, "%s", fields);
    e->req.sender = agreements_str(from);
    e->req.recipients = e->to;
    e->req.recipient_count = s_split(e->to_buf, e->to, AGREEMENTS_RECIPIENTS_MAX + 1);
    e->req.signal_type = agreements_str(type);
    e->req.purpose = agreements_str(purpose);
    e->req.fields = e->fields;
    e->req.field_count = s_split(e->fields_buf, e->fields, 16);
    e->req.at_ms = at_ms;
    return agreements_evaluate(a, &e->req, &e->decision);
}

/* The full reason of recipient i: "allowed", "no_agreement", "field_not_allowed:bsn", ... */
static const char *s_reason(const eval_t *e, size_t i)
{
    static char buf[128];
    cr_assert_lt(i, e->decision.count);
    cr_assert_eq(agreements_verdict_reason(&e->decision.recipients[i], buf, sizeof buf), 0);
    return buf;
}

/* ------------------------------------------------------------- accessors */

Test(agreements, loads_the_model)
{
    agreements_t *a = s_load_ok(s_policy);
    cr_assert_str_eq(agreements_partnership(a), "test-partnership");
    cr_assert_eq(agreements_version(a), 3);
    cr_assert_str_eq(agreements_coordinator(a), "gemeente");
    cr_assert_eq(agreements_partner_count(a), 5);
    cr_assert_eq(agreements_count(a), 4);
    const agreements_agreement_t *a1 = agreements_at(a, 0);
    cr_assert_str_eq(a1->id, "a1");
    cr_assert_str_eq(a1->from, "politie");
    cr_assert_eq(a1->to_count, 2);
    cr_assert_str_eq(a1->to[1], "welzijn");
    cr_assert_eq(a1->signal_type_count, 2);
    cr_assert_str_eq(a1->fields[2], "categorie");
    cr_assert_str_eq(a1->legal_basis, "Wpg art. 19");
    cr_assert_eq(a1->retention_days, 180);
    cr_assert_eq(a1->max_queue_days, 7);
    cr_assert_eq(a1->line, 11);
    cr_assert_eq(a1->column, 5);
    char date[11];
    date_format(a1->valid_until, date);
    cr_assert_str_eq(date, "2025-12-31");
    cr_assert_null(agreements_at(a, 4));

    const agreements_partner_t *p = agreements_partner_lookup(a, "woonpunt", 8);
    cr_assert_not_null(p);
    cr_assert_eq(p->role, AGREEMENTS_ROLE_PARTNER);
    cr_assert_not(p->may_send);
    cr_assert(p->may_receive);
    cr_assert_not(p->receives_alerts);
    p = agreements_partner_lookup(a, "gemeente", 8);
    cr_assert_eq(p->role, AGREEMENTS_ROLE_COORDINATOR);
    cr_assert(p->receives_alerts);
    cr_assert_null(agreements_partner_lookup(a, "gemeent", 7));
    cr_assert_str_eq(agreements_partner(a, 1)->org, "politie");
    cr_assert_null(agreements_partner(a, 5));

    cr_assert_eq(agreements_alert_count(a), 1);
    const agreements_alert_rule_t *r = agreements_alert(a, 0);
    cr_assert_str_eq(r->id, "multi");
    cr_assert_eq(r->distinct_senders, 2);
    cr_assert_eq(r->window_days, 90);
    cr_assert(r->notify_senders);
    cr_assert_eq(r->notify_count, 1);
    cr_assert_str_eq(r->notify[0], "gemeente");
    cr_assert(agreements_alert_covers(r, "drugs", 5));
    cr_assert_not(agreements_alert_covers(r, "zorg", 4));
    cr_assert_null(agreements_alert(a, 1));
    agreements_destroy(&a);
    cr_assert_null(a);
    agreements_destroy(&a); /* safe twice */
}

Test(agreements, example_file_is_valid)
{
    const char *src = getenv("HARTSLAG_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/agreements.yaml", src ? src : ".");
    agreements_errors_t *errors = NULL;
    agreements_t *a = agreements_load(path, &errors);
    if (!a)
        agreements_errors_print(errors, stderr);
    cr_assert_not_null(a);
    cr_assert_str_eq(agreements_partnership(a), "passart-heerlen");
    cr_assert_str_eq(agreements_coordinator(a), "gemeente");
    /* the broker demo relies on this one */
    eval_t e;
    cr_assert_eq(s_eval(a, &e, "politie", "gemeente,welzijn", "overlast", "casusoverleg",
                        "adres,datum,categorie,toelichting", s_ms("2026-06-01", 12, 0, 0, 0)),
                 0);
    cr_assert(e.decision.allowed);
    cr_assert_eq(e.decision.version, 7);
    agreements_destroy(&a);
}

/* ------------------------------------------------------------ evaluation */

Test(agreements, allows_with_clause_details)
{
    agreements_t *a = s_load_ok(s_policy);
    eval_t e;
    cr_assert_eq(s_eval(a, &e, "politie", "gemeente", "overlast", "casusoverleg", "adres,datum",
                        s_ms("2025-06-01", 12, 0, 0, 0)),
                 0);
    cr_assert(e.decision.allowed);
    cr_assert_eq(e.decision.count, 1);
    cr_assert_eq(e.decision.version, 3);
    const agreements_verdict_t *v = &e.decision.recipients[0];
    cr_assert_eq(v->reason, AGREEMENTS_ALLOWED);
    cr_assert_str_eq(v->agreement->id, "a1");
    cr_assert_str_eq(v->agreement->legal_basis, "Wpg art. 19");
    cr_assert_eq(v->agreement->retention_days, 180);
    cr_assert_eq(v->agreement->max_queue_days, 7);
    cr_assert_str_eq(s_reason(&e, 0), "allowed");
    /* no fields at all is covered by any agreement */
    cr_assert_eq(s_eval(a, &e, "politie", "welzijn", "drugs", "casusoverleg", "",
                        s_ms("2025-06-01", 0, 0, 0, 0)),
                 0);
    cr_assert(e.decision.allowed);
    agreements_destroy(&a);
}

Test(agreements, deny_no_agreement)
{
    agreements_t *a = s_load_ok(s_policy);
    eval_t e;
    cr_assert_eq(s_eval(a, &e, "welzijn", "politie", "overlast", "casusoverleg", "adres",
                        s_ms("2025-06-01", 0, 0, 0, 0)),
                 0);
    cr_assert_not(e.decision.allowed);
    cr_assert_str_eq(s_reason(&e, 0), "no_agreement");
    cr_assert_null(e.decision.recipients[0].agreement);
    /* sending to oneself is never agreed */
    cr_assert_eq(s_eval(a, &e, "politie", "politie", "overlast", "casusoverleg", "adres",
                        s_ms("2025-06-01", 0, 0, 0, 0)),
                 0);
    cr_assert_str_eq(s_reason(&e, 0), "no_agreement");
    agreements_destroy(&a);
}

Test(agreements, deny_type_not_allowed)
{
    agreements_t *a = s_load_ok(s_policy);
    eval_t e;
    cr_assert_eq(s_eval(a, &e, "politie", "gemeente", "inbraak", "casusoverleg", "adres",
                        s_ms("2025-06-01", 0, 0, 0, 0)),
                 0);
    cr_assert_not(e.decision.allowed);
    cr_assert_str_eq(s_reason(&e, 0), "type_not_allowed");
    cr_assert_str_eq(e.decision.recipients[0].agreement->id, "a1"); /* first, file order */
    /* a type known from another pair is still not allowed here */
    cr_assert_eq(s_eval(a, &e, "politie", "welzijn", "zorg", "veiligheidshuis", "bsn",
                        s_ms("2026-06-01", 0, 0, 0, 0)),
                 0);
    cr_assert_str_eq(s_reason(&e, 0), "type_not_allowed");
    agreements_destroy(&a);
}

Test(agreements, deny_purpose_mismatch)
{
    agreements_t *a = s_load_ok(s_policy);
    eval_t e;
    cr_assert_eq(s_eval(a, &e, "politie", "gemeente", "overlast", "veiligheidshuis", "adres",
                        s_ms("2025-06-01", 0, 0, 0, 0)),
                 0);
    cr_assert_str_eq(s_reason(&e, 0), "purpose_mismatch");
    cr_assert_str_eq(e.decision.recipients[0].agreement->id, "a1");
    cr_assert_eq(s_eval(a, &e, "politie", "gemeente", "overlast", "onbekend-doel", "adres",
                        s_ms("2025-06-01", 0, 0, 0, 0)),
                 0);
    cr_assert_str_eq(s_reason(&e, 0), "purpose_mismatch");
    agreements_destroy(&a);
}

Test(agreements, deny_not_yet_valid_and_expired)
{
    agreements_t *a = s_load_ok(s_policy);
    eval_t e;
    /* a1 says type_not_allowed, a2 gets further: not_yet_valid wins (more specific) */
    cr_assert_eq(s_eval(a, &e, "politie", "gemeente", "zorg", "veiligheidshuis", "bsn",
                        s_ms("2025-06-01", 0, 0, 0, 0)),
                 0);
    cr_assert_str_eq(s_reason(&e, 0), "not_yet_valid");
    cr_assert_str_eq(e.decision.recipients[0].agreement->id, "a2");
    cr_assert_eq(s_eval(a, &e, "politie", "gemeente", "overlast", "casusoverleg", "adres",
                        s_ms("2026-02-01", 0, 0, 0, 0)),
                 0);
    cr_assert_str_eq(s_reason(&e, 0), "expired");
    agreements_destroy(&a);
}

Test(agreements, deny_field_not_allowed)
{
    agreements_t *a = s_load_ok(s_policy);
    eval_t e;
    cr_assert_eq(s_eval(a, &e, "politie", "gemeente", "overlast", "casusoverleg", "adres,bsn,datum",
                        s_ms("2025-06-01", 0, 0, 0, 0)),
                 0);
    cr_assert_not(e.decision.allowed);
    cr_assert_str_eq(s_reason(&e, 0), "field_not_allowed:bsn");
    cr_assert_eq(e.decision.recipients[0].reason, AGREEMENTS_FIELD_NOT_ALLOWED);
    cr_assert_eq(e.decision.recipients[0].field.len, 3);
    /* a field no agreement names at all */
    cr_assert_eq(s_eval(a, &e, "politie", "gemeente", "overlast", "casusoverleg", "adres,naam",
                        s_ms("2025-06-01", 0, 0, 0, 0)),
                 0);
    cr_assert_str_eq(s_reason(&e, 0), "field_not_allowed:naam");
    agreements_destroy(&a);
}

Test(agreements, deny_unknown_partner)
{
    agreements_t *a = s_load_ok(s_policy);
    eval_t e;
    cr_assert_eq(s_eval(a, &e, "politie", "belastingdienst", "overlast", "casusoverleg", "adres",
                        s_ms("2025-06-01", 0, 0, 0, 0)),
                 0);
    cr_assert_str_eq(s_reason(&e, 0), "unknown_partner");
    cr_assert_eq(s_eval(a, &e, "hacker", "gemeente,welzijn", "overlast", "casusoverleg", "adres",
                        s_ms("2025-06-01", 0, 0, 0, 0)),
                 0);
    cr_assert_str_eq(s_reason(&e, 0), "unknown_partner");
    cr_assert_str_eq(s_reason(&e, 1), "unknown_partner");
    agreements_destroy(&a);
}

Test(agreements, deny_role_not_allowed)
{
    agreements_t *a = s_load_ok(s_policy);
    eval_t e;
    /* woonpunt has an agreement (a3) but may_send: false */
    cr_assert_eq(s_eval(a, &e, "woonpunt", "gemeente", "overlast", "casusoverleg", "adres",
                        s_ms("2025-06-01", 0, 0, 0, 0)),
                 0);
    cr_assert_str_eq(s_reason(&e, 0), "role_not_allowed");
    /* ggd is named in a4 but has may_receive: false; politie in the same clause is fine */
    cr_assert_eq(s_eval(a, &e, "gemeente", "politie,ggd", "casus", "casusoverleg", "datum",
                        s_ms("2025-06-01", 0, 0, 0, 0)),
                 0);
    cr_assert_not(e.decision.allowed);
    cr_assert_str_eq(s_reason(&e, 0), "allowed");
    cr_assert_str_eq(s_reason(&e, 1), "role_not_allowed");
    agreements_destroy(&a);
}

Test(agreements, all_or_nothing_over_recipients)
{
    agreements_t *a = s_load_ok(s_policy);
    eval_t e;
    int64_t at = s_ms("2025-06-01", 0, 0, 0, 0);
    cr_assert_eq(
        s_eval(a, &e, "politie", "gemeente,welzijn", "overlast", "casusoverleg", "adres", at), 0);
    cr_assert(e.decision.allowed);
    cr_assert_eq(e.decision.count, 2);
    /* one recipient without an agreement denies the whole signal, each with its own reason */
    cr_assert_eq(s_eval(a, &e, "politie", "gemeente,woonpunt,welzijn", "overlast", "casusoverleg",
                        "adres", at),
                 0);
    cr_assert_not(e.decision.allowed);
    cr_assert_eq(e.decision.count, 3);
    cr_assert_str_eq(s_reason(&e, 0), "allowed");
    cr_assert_str_eq(s_reason(&e, 1), "no_agreement");
    cr_assert_str_eq(s_reason(&e, 2), "allowed");
    /* a field covered for one recipient but not the other */
    cr_assert_eq(s_eval(a, &e, "politie", "gemeente,welzijn", "zorg", "veiligheidshuis", "bsn",
                        s_ms("2026-06-01", 0, 0, 0, 0)),
                 0);
    cr_assert_not(e.decision.allowed);
    cr_assert_str_eq(s_reason(&e, 0), "allowed");
    cr_assert_str_eq(s_reason(&e, 1), "type_not_allowed");
    agreements_destroy(&a);
}

Test(agreements, date_boundaries_are_whole_utc_days)
{
    agreements_t *a = s_load_ok(s_policy);
    eval_t e;
    struct {
        const char *date;
        int h, m, s, ms;
        const char *reason;
    } cases[] = {
        {"2024-12-31", 23, 59, 59, 999, "not_yet_valid"}, {"2025-01-01", 0, 0, 0, 0, "allowed"},
        {"2025-01-01", 23, 59, 59, 999, "allowed"},       {"2025-12-31", 0, 0, 0, 0, "allowed"},
        {"2025-12-31", 23, 59, 59, 999, "allowed"},       {"2026-01-01", 0, 0, 0, 0, "expired"},
        {"2024-12-31", 0, 0, 0, 0, "not_yet_valid"},      {"2026-01-01", 23, 0, 0, 0, "expired"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t at = s_ms(cases[i].date, cases[i].h, cases[i].m, cases[i].s, cases[i].ms);
        cr_assert_eq(s_eval(a, &e, "politie", "gemeente", "overlast", "casusoverleg", "adres", at),
                     0);
        cr_assert_str_eq(s_reason(&e, 0), cases[i].reason, "%s %02d:%02d: got %s want %s",
                         cases[i].date, cases[i].h, cases[i].m, s_reason(&e, 0), cases[i].reason);
    }
    agreements_destroy(&a);
}

Test(agreements, several_agreements_choose_first_that_allows)
{
    static const char *text =
        HEADER "agreements:\n"
               "  - {id: narrow, from: politie, to: [gemeente], signal_types: [overlast], "
               "fields: [adres], purpose: casusoverleg, legal_basis: \"one\", valid_from: "
               "2025-01-01, valid_until: 2025-12-31, retention_days: 30, max_queue_days: 3}\n"
               "  - {id: wide, from: politie, to: [gemeente], signal_types: [overlast], "
               "fields: [adres, datum], purpose: casusoverleg, legal_basis: \"two\", valid_from: "
               "2025-01-01, valid_until: 2026-12-31, retention_days: 60, max_queue_days: 5}\n"
               "  - {id: also, from: politie, to: [gemeente], signal_types: [overlast], "
               "fields: [adres, datum], purpose: casusoverleg, legal_basis: \"three\", valid_from: "
               "2025-01-01, valid_until: 2026-12-31, retention_days: 90, max_queue_days: 5}\n"
               "  - {id: expired-one, from: politie, to: [welzijn], signal_types: [overlast], "
               "fields: [adres], purpose: casusoverleg, legal_basis: \"x\", valid_from: "
               "2024-01-01, valid_until: 2024-12-31, retention_days: 30, max_queue_days: 3}\n"
               "  - {id: narrow-fields, from: politie, to: [welzijn], signal_types: [overlast], "
               "fields: [datum], purpose: casusoverleg, legal_basis: \"y\", valid_from: "
               "2025-01-01, valid_until: 2025-12-31, retention_days: 30, max_queue_days: 3}\n";
    agreements_t *a = s_load_ok(text);
    eval_t e;
    int64_t at = s_ms("2025-06-01", 0, 0, 0, 0);
    cr_assert_eq(s_eval(a, &e, "politie", "gemeente", "overlast", "casusoverleg", "adres", at), 0);
    cr_assert_str_eq(e.decision.recipients[0].agreement->id, "narrow");
    cr_assert_eq(
        s_eval(a, &e, "politie", "gemeente", "overlast", "casusoverleg", "adres,datum", at), 0);
    cr_assert_str_eq(e.decision.recipients[0].agreement->id, "wide");
    cr_assert_eq(s_eval(a, &e, "politie", "gemeente", "overlast", "casusoverleg", "adres",
                        s_ms("2026-03-01", 0, 0, 0, 0)),
                 0);
    cr_assert_str_eq(e.decision.recipients[0].agreement->id, "wide");
    /* precedence: expired (stage 3) loses to field_not_allowed (stage 4) */
    cr_assert_eq(s_eval(a, &e, "politie", "welzijn", "overlast", "casusoverleg", "adres", at), 0);
    cr_assert_str_eq(s_reason(&e, 0), "field_not_allowed:adres");
    cr_assert_str_eq(e.decision.recipients[0].agreement->id, "narrow-fields");
    agreements_destroy(&a);
}

Test(agreements, names_are_ptr_and_length)
{
    agreements_t *a = s_load_ok(s_policy);
    /* protobuf-style: names inside larger buffers, not NUL-terminated where they end */
    const char *wire = "politiegemeentewelzijnoverlastcasusoverlegadresdatum";
    agreements_str_t to[2] = {{wire + 7, 8}, {wire + 15, 7}};
    agreements_str_t fields[2] = {{wire + 42, 5}, {wire + 47, 5}};
    agreements_request_t req = {.sender = {wire, 7},
                                .recipients = to,
                                .recipient_count = 2,
                                .signal_type = {wire + 22, 8},
                                .purpose = {wire + 30, 12},
                                .fields = fields,
                                .field_count = 2,
                                .at_ms = s_ms("2025-06-01", 0, 0, 0, 0)};
    agreements_decision_t d;
    cr_assert_eq(agreements_evaluate(a, &req, &d), 0);
    cr_assert(d.allowed);
    /* one byte too many is another name */
    req.sender.len = 8;
    cr_assert_eq(agreements_evaluate(a, &req, &d), 0);
    cr_assert_not(d.allowed);
    cr_assert_eq(d.recipients[0].reason, AGREEMENTS_UNKNOWN_PARTNER);
    agreements_destroy(&a);
}

Test(agreements, malformed_requests_are_refused)
{
    agreements_t *a = s_load_ok(s_policy);
    agreements_str_t to[AGREEMENTS_RECIPIENTS_MAX + 1];
    for (size_t i = 0; i <= AGREEMENTS_RECIPIENTS_MAX; i++)
        to[i] = agreements_str("gemeente");
    agreements_request_t req = {.sender = agreements_str("politie"),
                                .recipients = to,
                                .recipient_count = 0,
                                .signal_type = agreements_str("overlast"),
                                .purpose = agreements_str("casusoverleg"),
                                .at_ms = s_ms("2025-06-01", 0, 0, 0, 0)};
    agreements_decision_t d;
    d.allowed = true;
    cr_assert_eq(agreements_evaluate(a, &req, &d), -1);
    cr_assert_not(d.allowed);
    cr_assert_eq(d.count, 0);
    req.recipient_count = AGREEMENTS_RECIPIENTS_MAX + 1;
    cr_assert_eq(agreements_evaluate(a, &req, &d), -1);
    req.recipient_count = AGREEMENTS_RECIPIENTS_MAX; /* 64 of the same: fine */
    cr_assert_eq(agreements_evaluate(a, &req, &d), 0);
    cr_assert(d.allowed);
    cr_assert_eq(d.count, AGREEMENTS_RECIPIENTS_MAX);
    req.field_count = 1; /* fields NULL */
    cr_assert_eq(agreements_evaluate(a, &req, &d), -1);
    req.field_count = 0;
    cr_assert_eq(agreements_evaluate(NULL, &req, &d), -1);
    cr_assert_eq(agreements_evaluate(a, NULL, &d), -1);
    cr_assert_eq(agreements_evaluate(a, &req, NULL), -1);
    agreements_destroy(&a);
}

Test(agreements, day_from_ms)
{
    cr_assert_eq(agreements_day_from_ms(0), 0);
    cr_assert_eq(agreements_day_from_ms(86399999), 0);
    cr_assert_eq(agreements_day_from_ms(86400000), 1);
    cr_assert_eq(agreements_day_from_ms(-1), -1);
    cr_assert_eq(agreements_day_from_ms(-86400000), -1);
    cr_assert_eq(agreements_day_from_ms(-86400001), -2);
    cr_assert_eq(agreements_day_from_ms(INT64_MAX), INT32_MAX);
    cr_assert_eq(agreements_day_from_ms(INT64_MIN), INT32_MIN);
}

Test(agreements, reason_names)
{
    cr_assert_str_eq(agreements_reason_name(AGREEMENTS_NO_AGREEMENT), "no_agreement");
    cr_assert_str_eq(agreements_reason_name(AGREEMENTS_TYPE_NOT_ALLOWED), "type_not_allowed");
    cr_assert_str_eq(agreements_reason_name(AGREEMENTS_FIELD_NOT_ALLOWED), "field_not_allowed");
    cr_assert_str_eq(agreements_reason_name(AGREEMENTS_PURPOSE_MISMATCH), "purpose_mismatch");
    cr_assert_str_eq(agreements_reason_name(AGREEMENTS_NOT_YET_VALID), "not_yet_valid");
    cr_assert_str_eq(agreements_reason_name(AGREEMENTS_EXPIRED), "expired");
    cr_assert_str_eq(agreements_reason_name(AGREEMENTS_UNKNOWN_PARTNER), "unknown_partner");
    cr_assert_str_eq(agreements_reason_name(AGREEMENTS_ROLE_NOT_ALLOWED), "role_not_allowed");
    agreements_verdict_t v = {.reason = AGREEMENTS_FIELD_NOT_ALLOWED, .field = {"a\nb", 3}};
    char buf[64];
    cr_assert_eq(agreements_verdict_reason(&v, buf, sizeof buf), 0);
    cr_assert_str_eq(buf, "field_not_allowed:a?b"); /* request bytes never reach a log raw */
    cr_assert_eq(agreements_verdict_reason(&v, buf, 5), -1);
}

/* ------------------------------------------------------------ validation */

Test(agreements_validation, unknown_keys)
{
    s_expect_error("colour: blue\n" HEADER "agreements:\n" AGREEMENT_A1, 1, 1,
                   "unknown key 'colour'");
    s_expect_error(HEADER "agreements:\n" AGREEMENT_A1 "    colour: blue\n", 22, 5,
                   "unknown key 'colour' in agreement 'a1'");
    s_expect_error(HEADER "agreements:\n" AGREEMENT_A1
                          "alerts:\n  - {id: x, distinct_senders: 2, window_days: 9, notify: "
                          "[gemeente], legal_basis: b, sound: loud}\n",
                   23, 86, "unknown key 'sound'");
}

Test(agreements_validation, duplicate_ids_and_keys)
{
    s_expect_error(HEADER "agreements:\n" AGREEMENT_A1 AGREEMENT_A1, 22, 9,
                   "duplicate agreement id 'a1' (first at line 11)");
    s_expect_error(HEADER "agreements:\n" AGREEMENT_A1 "    purpose: veiligheidshuis\n", 22, 5,
                   "duplicate key 'purpose'");
    s_expect_error("partnership: test\n"
                   "version: 1\n"
                   "coordinator: gemeente\n"
                   "partners:\n"
                   "  - {org: gemeente, role: coordinator}\n"
                   "  - {org: gemeente, role: partner}\n"
                   "agreements: []\n",
                   6, 11, "duplicate partner 'gemeente'");
    s_expect_error(HEADER "agreements:\n" AGREEMENT_A1 "alerts:\n"
                          "  - {id: x, distinct_senders: 2, window_days: 9, notify: [gemeente], "
                          "legal_basis: b}\n"
                          "  - {id: x, distinct_senders: 2, window_days: 9, notify: [gemeente], "
                          "legal_basis: b}\n",
                   24, 10, "duplicate alert id 'x'");
    s_expect_error(HEADER "agreements:\n"
                          "  - id: a1\n"
                          "    from: politie\n"
                          "    to: [gemeente, welzijn, gemeente]\n" /* 13 */
                          "    signal_types: [overlast, overlast]\n"
                          "    fields: [adres]\n"
                          "    purpose: casusoverleg\n"
                          "    legal_basis: \"Wpg art. 19\"\n"
                          "    valid_from: 2025-01-01\n"
                          "    valid_until: 2025-12-31\n"
                          "    retention_days: 180\n"
                          "    max_queue_days: 7\n",
                   13, 29, "duplicate recipient 'gemeente'");
}

Test(agreements_validation, partners_not_in_partner_list)
{
    const char *text = HEADER "agreements:\n"
                              "  - id: a1\n"
                              "    from: brandweer\n"             /* 12 */
                              "    to: [gemeente, belastingen]\n" /* 13 */
                              "    signal_types: [overlast]\n"
                              "    fields: [adres]\n"
                              "    purpose: casusoverleg\n"
                              "    legal_basis: \"Wpg art. 19\"\n"
                              "    valid_from: 2025-01-01\n"
                              "    valid_until: 2025-12-31\n"
                              "    retention_days: 180\n"
                              "    max_queue_days: 7\n"
                              "alerts:\n"
                              "  - id: m\n" /* 24 */
                              "    distinct_senders: 2\n"
                              "    window_days: 90\n"
                              "    notify: [burgemeester]\n" /* 26 */
                              "    legal_basis: \"art. 6\"\n";
    agreements_errors_t *errors = s_load_bad(text, strlen(text));
    s_expect(errors, 12, 11, "sender 'brandweer' is not in the partner list");
    s_expect(errors, 13, 20, "recipient 'belastingen' is not in the partner list");
    s_expect(errors, 26, 14, "alert target 'burgemeester' is not in the partner list");
    cr_assert_eq(agreements_errors_count(errors), 3,
                 "all errors are collected, not only the first");
    agreements_errors_destroy(&errors);
    s_expect_error("partnership: t\nversion: 1\ncoordinator: regie\npartners:\n"
                   "  - {org: gemeente, role: coordinator}\nagreements: []\n",
                   3, 14, "coordinator 'regie' is not in the partner list");
}

Test(agreements_validation, empty_lists)
{
    s_expect_error("partnership: t\nversion: 1\ncoordinator: gemeente\npartners: []\n"
                   "agreements: []\n",
                   4, 11, "partners must not be empty");
    s_expect_error(HEADER "agreements: []\n", 10, 13, "agreements must not be empty");
    s_expect_error(HEADER "agreements:\n"
                          "  - id: a1\n"
                          "    from: politie\n"
                          "    to: []\n" /* 13 */
                          "    signal_types: [overlast]\n"
                          "    fields: []\n" /* 15 */
                          "    purpose: casusoverleg\n"
                          "    legal_basis: \"Wpg art. 19\"\n"
                          "    valid_from: 2025-01-01\n"
                          "    valid_until: 2025-12-31\n"
                          "    retention_days: 180\n"
                          "    max_queue_days: 7\n",
                   13, 9, "to must not be empty");
    s_expect_error(HEADER "agreements:\n" AGREEMENT_A1 "alerts:\n"
                          "  - {id: x, distinct_senders: 2, window_days: 9, notify: [], "
                          "legal_basis: b}\n",
                   23, 58, "notify must not be empty");
    s_expect_error(HEADER "agreements:\n" AGREEMENT_A1 "alerts: []\n", 22, 9,
                   "alerts must not be empty");
}

Test(agreements_validation, invalid_dates)
{
    const char *text = HEADER "agreements:\n"
                              "  - id: a1\n"
                              "    from: politie\n"
                              "    to: [gemeente]\n"
                              "    signal_types: [overlast]\n"
                              "    fields: [adres]\n"
                              "    purpose: casusoverleg\n"
                              "    legal_basis: \"Wpg art. 19\"\n"
                              "    valid_from: 2025-02-30\n"  /* 18 */
                              "    valid_until: 31-12-2025\n" /* 19 */
                              "    retention_days: 180\n"
                              "    max_queue_days: 7\n";
    agreements_errors_t *errors = s_load_bad(text, strlen(text));
    s_expect(errors, 18, 17, "valid_from must be a date YYYY-MM-DD");
    s_expect(errors, 19, 18, "valid_until must be a date YYYY-MM-DD");
    agreements_errors_destroy(&errors);
}

Test(agreements_validation, valid_until_before_valid_from)
{
    s_expect_error(HEADER "agreements:\n"
                          "  - id: a1\n"
                          "    from: politie\n"
                          "    to: [gemeente]\n"
                          "    signal_types: [overlast]\n"
                          "    fields: [adres]\n"
                          "    purpose: casusoverleg\n"
                          "    legal_basis: \"Wpg art. 19\"\n"
                          "    valid_from: 2025-06-01\n"
                          "    valid_until: 2025-05-31\n" /* 19 */
                          "    retention_days: 180\n"
                          "    max_queue_days: 7\n",
                   19, 18, "valid_until 2025-05-31 is before valid_from 2025-06-01");
}

Test(agreements_validation, day_counts_out_of_range)
{
    const char *text = HEADER "agreements:\n"
                              "  - id: a1\n"
                              "    from: politie\n"
                              "    to: [gemeente]\n"
                              "    signal_types: [overlast]\n"
                              "    fields: [adres]\n"
                              "    purpose: casusoverleg\n"
                              "    legal_basis: \"Wpg art. 19\"\n"
                              "    valid_from: 2025-01-01\n"
                              "    valid_until: 2025-12-31\n"
                              "    retention_days: 3651\n" /* 20 */
                              "    max_queue_days: 0\n"    /* 21 */
                              "  - id: a2\n"
                              "    from: politie\n"
                              "    to: [welzijn]\n"
                              "    signal_types: [overlast]\n"
                              "    fields: [adres]\n"
                              "    purpose: casusoverleg\n"
                              "    legal_basis: \"Wpg art. 19\"\n"
                              "    valid_from: 2025-01-01\n"
                              "    valid_until: 2025-12-31\n"
                              "    retention_days: -5\n"  /* 31 */
                              "    max_queue_days: 366\n" /* 32 */
                              "alerts:\n"
                              "  - id: m\n"
                              "    distinct_senders: 1\n" /* 35 */
                              "    window_days: 3651\n"   /* 36 */
                              "    notify: [gemeente]\n"
                              "    legal_basis: \"art. 6\"\n"
                              "  - id: n\n"
                              "    distinct_senders: 65\n" /* 40 */
                              "    window_days: 0\n"       /* 41 */
                              "    notify: [gemeente]\n"
                              "    legal_basis: \"art. 6\"\n";
    agreements_errors_t *errors = s_load_bad(text, strlen(text));
    s_expect(errors, 20, 21, "retention_days must be between 1 and 3650");
    s_expect(errors, 21, 21, "max_queue_days must be between 1 and 365");
    s_expect(errors, 31, 21, "retention_days must be a whole number");
    s_expect(errors, 32, 21, "max_queue_days must be between 1 and 365");
    s_expect(errors, 35, 23, "distinct_senders must be between 2 and 64");
    s_expect(errors, 36, 18, "window_days must be between 1 and 3650");
    s_expect(errors, 40, 23, "distinct_senders must be between 2 and 64");
    s_expect(errors, 41, 18, "window_days must be between 1 and 3650");
    cr_assert_eq(agreements_errors_count(errors), 8);
    agreements_errors_destroy(&errors);
    /* edges are fine */
    agreements_t *a = s_load_ok(
        HEADER "agreements:\n"
               "  - {id: a, from: politie, to: [gemeente], signal_types: [t], fields: [f], "
               "purpose: p, legal_basis: b, valid_from: 2025-01-01, valid_until: 2025-01-01, "
               "retention_days: 1, max_queue_days: 365}\n"
               "  - {id: b, from: politie, to: [gemeente], signal_types: [t], fields: [f], "
               "purpose: p, legal_basis: b, valid_from: 2025-01-01, valid_until: 2025-01-01, "
               "retention_days: 3650, max_queue_days: 1}\n"
               "alerts:\n"
               "  - {id: m, distinct_senders: 64, window_days: 3650, notify: [gemeente], "
               "legal_basis: b}\n");
    agreements_destroy(&a);
}

Test(agreements_validation, names_outside_the_charset)
{
    const char *text = HEADER "agreements:\n"
                              "  - id: A1\n" /* 11 */
                              "    from: politie\n"
                              "    to: [gemeente]\n"
                              "    signal_types: [Overlast, ok]\n"   /* 14 */
                              "    fields: [adres, \"post code\"]\n" /* 15 */
                              "    purpose: casus.overleg\n"         /* 16 */
                              "    legal_basis: \"Wpg art. 19\"\n"
                              "    valid_from: 2025-01-01\n"
                              "    valid_until: 2025-12-31\n"
                              "    retention_days: 180\n"
                              "    max_queue_days: 7\n";
    agreements_errors_t *errors = s_load_bad(text, strlen(text));
    s_expect(errors, 11, 9, "agreement id 'A1' is not a valid name");
    s_expect(errors, 14, 20, "signal type 'Overlast' is not a valid name");
    s_expect(errors, 15, 21, "field 'post code' is not a valid name");
    s_expect(errors, 16, 14, "purpose 'casus.overleg' is not a valid name");
    agreements_errors_destroy(&errors);
    char long_name[600];
    snprintf(long_name, sizeof long_name, HEADER "agreements:\n  - id: %065d\n", 0);
    s_expect_error(long_name, 11, 9, "is not a valid name");
    s_expect_error("partnership: t\nversion: 1\ncoordinator: gemeente\npartners:\n"
                   "  - {org: Gemeente, role: coordinator}\nagreements: []\n",
                   5, 11, "partner org 'Gemeente' is not a valid org id");
}

Test(agreements_validation, alert_targets_must_be_coordinator_unless_allowed)
{
    s_expect_error(HEADER "agreements:\n" AGREEMENT_A1 "alerts:\n"
                          "  - id: m\n"
                          "    distinct_senders: 2\n"
                          "    window_days: 90\n"
                          "    notify: [gemeente, politie]\n" /* 26 */
                          "    legal_basis: \"art. 6\"\n",
                   26, 24, "alert target 'politie' is not the coordinator");
    /* receives_alerts: true allows it */
    agreements_t *a = s_load_ok("partnership: t\nversion: 1\ncoordinator: gemeente\npartners:\n"
                                "  - {org: gemeente, role: coordinator}\n"
                                "  - {org: politie, role: partner, receives_alerts: true}\n"
                                "agreements:\n"
                                "  - {id: a, from: politie, to: [gemeente], signal_types: [t], "
                                "fields: [f], purpose: p, legal_basis: b, valid_from: 2025-01-01, "
                                "valid_until: 2025-01-01, retention_days: 1, max_queue_days: 1}\n"
                                "alerts:\n"
                                "  - {id: m, distinct_senders: 2, window_days: 9, notify: "
                                "[politie], legal_basis: b}\n");
    cr_assert(agreements_partner_lookup(a, "politie", 7)->receives_alerts);
    agreements_destroy(&a);
    /* an alert on a type no agreement allows is a typo */
    s_expect_error(HEADER "agreements:\n" AGREEMENT_A1 "alerts:\n"
                          "  - id: m\n"
                          "    distinct_senders: 2\n"
                          "    window_days: 90\n"
                          "    signal_types: [overlast, overlats]\n" /* 26 */
                          "    notify: [gemeente]\n"
                          "    legal_basis: \"art. 6\"\n",
                   26, 30, "alert signal type 'overlats' is not allowed by any agreement");
}

Test(agreements_validation, missing_required_keys)
{
    s_expect_error(HEADER "agreements:\n"
                          "  - id: a1\n" /* 11 */
                          "    from: politie\n"
                          "    to: [gemeente]\n"
                          "    signal_types: [overlast]\n"
                          "    fields: [adres]\n"
                          "    legal_basis: \"Wpg art. 19\"\n"
                          "    valid_from: 2025-01-01\n"
                          "    valid_until: 2025-12-31\n"
                          "    retention_days: 180\n"
                          "    max_queue_days: 7\n",
                   11, 5, "agreement 'a1': missing required key 'purpose'");
    s_expect_error("partnership: t\nversion: 1\ncoordinator: gemeente\nagreements: []\n", 1, 1,
                   "missing required key 'partners'");
    s_expect_error("partnership: t\nversion: 1\ncoordinator: gemeente\npartners:\n"
                   "  - {org: gemeente}\nagreements: []\n",
                   5, 5, "partner 'gemeente': missing required key 'role'");
}

Test(agreements_validation, types_of_values)
{
    const char *text = "partnership: [a, b]\n"                                   /* 1 */
                       "version: \"7\"\n"                                        /* 2 */
                       "coordinator: gemeente\n"                                 /* 3 */
                       "partners:\n"                                             /* 4 */
                       "  - {org: gemeente, role: coordinator, may_send: yes}\n" /* 5 */
                       "  - {org: politie, role: boss}\n"                        /* 6 */
                       "  - politie\n"                                           /* 7 */
                       "agreements: {a: b}\n";                                   /* 8 */
    agreements_errors_t *errors = s_load_bad(text, strlen(text));
    s_expect(errors, 1, 14, "partnership must be a single value");
    s_expect(errors, 2, 10, "version must be a whole number");
    s_expect(errors, 5, 50, "may_send must be true or false");
    s_expect(errors, 6, 26, "role must be partner or coordinator");
    s_expect(errors, 7, 5, "partner #3 must be a mapping");
    s_expect(errors, 8, 13, "agreements must be a list");
    agreements_errors_destroy(&errors);
    s_expect_error("partnership: t\nversion: 0\n", 2, 10, "version must be between 1 and");
    s_expect_error("partnership: t\nversion: 07\n", 2, 10, "version must be a whole number");
    s_expect_error("- a\n- b\n", 1, 1, "the agreements file must be a mapping");
    s_expect_error("just text\n", 1, 1, "the agreements file must be a mapping");
}

Test(agreements_validation, roles_and_senders)
{
    s_expect_error("partnership: t\nversion: 1\ncoordinator: politie\npartners:\n"
                   "  - {org: gemeente, role: coordinator}\n"
                   "  - {org: politie, role: partner}\nagreements: []\n",
                   3, 14, "coordinator 'politie' must have role coordinator");
    s_expect_error("partnership: t\nversion: 1\ncoordinator: gemeente\npartners:\n"
                   "  - {org: gemeente, role: coordinator}\n"
                   "  - {org: politie, role: coordinator}\nagreements: []\n",
                   6, 5, "partner 'politie' has role coordinator, but the coordinator is");
    s_expect_error(HEADER "agreements:\n"
                          "  - id: a1\n"
                          "    from: politie\n"
                          "    to: [gemeente, politie]\n" /* 13 */
                          "    signal_types: [overlast]\n"
                          "    fields: [adres]\n"
                          "    purpose: casusoverleg\n"
                          "    legal_basis: \"Wpg art. 19\"\n"
                          "    valid_from: 2025-01-01\n"
                          "    valid_until: 2025-12-31\n"
                          "    retention_days: 180\n"
                          "    max_queue_days: 7\n",
                   13, 9, "'politie' cannot be both sender and recipient");
    s_expect_error(HEADER "agreements:\n"
                          "  - id: a1\n"
                          "    from: politie\n"
                          "    to: [gemeente]\n"
                          "    signal_types: [overlast]\n"
                          "    fields: [adres]\n"
                          "    purpose: casusoverleg\n"
                          "    legal_basis: \"\"\n" /* 17 */
                          "    valid_from: 2025-01-01\n"
                          "    valid_until: 2025-12-31\n"
                          "    retention_days: 180\n"
                          "    max_queue_days: 7\n",
                   17, 18, "legal_basis must be 1 to 256 bytes of UTF-8 text");
}

Test(agreements_validation, many_errors_collected_and_sorted)
{
    /* 150 agreements each with a bad retention: the list stops at the cap */
    size_t cap = 200 * 200 + 1024;
    char *text = malloc(cap);
    size_t o = (size_t)snprintf(text, cap, HEADER "agreements:\n");
    for (int i = 0; i < 150; i++)
        o += (size_t)snprintf(text + o, cap - o,
                              "  - {id: a%d, from: politie, to: [gemeente], signal_types: [t], "
                              "fields: [f], purpose: p, legal_basis: b, valid_from: 2025-01-01, "
                              "valid_until: 2025-01-01, retention_days: 0, max_queue_days: 1}\n",
                              i);
    agreements_errors_t *errors = s_load_bad(text, o);
    cr_assert_eq(agreements_errors_count(errors), AGREEMENTS_ERRORS_MAX);
    cr_assert(agreements_errors_truncated(errors));
    for (size_t i = 1; i < agreements_errors_count(errors); i++)
        cr_assert_leq(agreements_errors_at(errors, i - 1)->line,
                      agreements_errors_at(errors, i)->line);
    cr_assert_eq(agreements_errors_at(errors, 0)->line, 11);
    cr_assert_str_eq(agreements_errors_at(errors, 0)->file, "bad.yaml");
    cr_assert_null(agreements_errors_at(errors, AGREEMENTS_ERRORS_MAX));
    agreements_errors_destroy(&errors);
    cr_assert_null(errors);
    free(text);
}

Test(agreements_validation, message_format)
{
    const char *text = HEADER "agreements: []\n";
    agreements_errors_t *errors = s_load_bad(text, strlen(text));
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    agreements_errors_print(errors, out);
    fclose(out);
    cr_assert_not_null(strstr(buf, "bad.yaml:10:13: agreements must not be empty\n"), "%s", buf);
    free(buf);
    agreements_errors_destroy(&errors);
}

Test(agreements_validation, yaml_syntax_error_position)
{
    s_expect_error("partnership: t\nversion: 1\npartners: [a, b\n", 4, 1, "YAML syntax error");
    s_expect_error("partnership: t\n  version: 1\n", 2, 10, "YAML syntax error");
    s_expect_error("partnership: t\n---\npartnership: u\n", 2, 1, "more than one YAML document");
    s_expect_error("partnership: !!str t\n", 1, 14, "tags (!) are not allowed");
}

Test(agreements_validation, load_from_file)
{
    agreements_errors_t *errors = NULL;
    cr_assert_null(agreements_load("/nonexistent/agreements.yaml", &errors));
    cr_assert_eq(agreements_errors_count(errors), 1);
    cr_assert_not_null(strstr(agreements_errors_at(errors, 0)->message, "cannot open"));
    cr_assert_eq(agreements_errors_at(errors, 0)->line, 0);
    agreements_errors_destroy(&errors);
    cr_assert_null(agreements_load("/tmp", &errors));
    cr_assert_not_null(strstr(agreements_errors_at(errors, 0)->message, "not a regular file"));
    agreements_errors_destroy(&errors);
    cr_assert_null(agreements_load(NULL, NULL)); /* no error list wanted: fine */
}

/* --------------------------------------------------------------- hostile */

/* Every hostile file must be refused with a message, within the test timeout. */
static void s_hostile(const char *text, size_t len, const char *needle)
{
    agreements_errors_t *errors = s_load_bad(text, len);
    const agreements_error_t *e = agreements_errors_at(errors, 0);
    cr_assert_gt(strlen(e->message), 0);
    if (needle) {
        bool found = false;
        for (size_t i = 0; i < agreements_errors_count(errors); i++)
            found = found || strstr(agreements_errors_at(errors, i)->message, needle);
        if (!found)
            agreements_errors_print(errors, stderr);
        cr_assert(found, "expected '%s'", needle);
    }
    agreements_errors_destroy(&errors);
}

Test(agreements_hostile, ten_megabyte_scalar)
{
    tu_watchdog(10);
    size_t n = 10 * 1024 * 1024;
    char *text = malloc(n + 32);
    memcpy(text, "partnership: ", 13);
    memset(text + 13, 'a', n);
    memcpy(text + 13 + n, "\n", 2);
    s_hostile(text, 13 + n + 1, "file too large");

    /* the same through a file */
    char path[] = "/tmp/hartslag-agreements-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, 13 + n + 1), (ssize_t)(13 + n + 1));
    close(fd);
    agreements_errors_t *errors = NULL;
    cr_assert_null(agreements_load(path, &errors));
    cr_assert_not_null(strstr(agreements_errors_at(errors, 0)->message, "file too large"));
    agreements_errors_destroy(&errors);
    unlink(path);

    /* a long scalar inside the size cap is refused by the scalar cap */
    size_t m = AGREEMENTS_SCALAR_MAX + 1;
    memset(text + 13, 'a', m);
    memcpy(text + 13 + m, "\n", 2);
    s_hostile(text, 13 + m + 1, "value too long");
    free(text);
}

Test(agreements_hostile, deep_nesting)
{
    tu_watchdog(10);
    size_t depth = 10000;
    char *text = malloc(2 * depth + 2);
    memset(text, '[', depth);
    memset(text + depth, ']', depth);
    text[2 * depth] = '\n';
    s_hostile(text, 2 * depth + 1, "nesting deeper than 16");
    /* block mappings, too */
    size_t cap = depth * (depth < 200 ? depth : 200);
    char *block = malloc(cap);
    size_t o = 0;
    for (size_t i = 0; i < 100; i++) {
        for (size_t k = 0; k < i; k++)
            block[o++] = ' ';
        o += (size_t)snprintf(block + o, cap - o, "k%zu:\n", i);
    }
    s_hostile(block, o, "nesting deeper than 16");
    free(block);
    free(text);
}

Test(agreements_hostile, billion_laughs)
{
    tu_watchdog(10);
    const char *text =
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
        "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
        "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    agreements_errors_t *errors = s_load_bad(text, strlen(text));
    s_expect(errors, 1, 4, "anchors (&) are not allowed");
    s_expect(errors, 2, 8, "aliases (*) are not allowed");
    agreements_errors_destroy(&errors);
    /* an anchor in an otherwise valid file is refused too */
    s_expect_error(HEADER "agreements:\n  - &x\n    id: a1\n", 11, 5,
                   "anchors (&) are not allowed");
}

Test(agreements_hostile, random_binary)
{
    tu_watchdog(10);
    unsigned seed = 20250101;
    srand(seed);
    for (int round = 0; round < 50; round++) {
        size_t n = 1 + (size_t)(rand() % 65536);
        unsigned char *bin = malloc(n);
        for (size_t i = 0; i < n; i++)
            bin[i] = (unsigned char)rand();
        agreements_errors_t *errors = NULL;
        agreements_t *a = agreements_parse((const char *)bin, n, "random.bin", &errors);
        cr_assert_null(a);
        cr_assert_gt(agreements_errors_count(errors), 0);
        agreements_errors_destroy(&errors);
        /* and without NUL bytes, so libyaml has to find the problem itself */
        for (size_t i = 0; i < n; i++)
            bin[i] = (unsigned char)(0x80 | bin[i]);
        a = agreements_parse((const char *)bin, n, "random.bin", &errors);
        cr_assert_null(a);
        cr_assert_gt(agreements_errors_count(errors), 0);
        agreements_errors_destroy(&errors);
        free(bin);
    }
    s_hostile("partnership: t\n\x00\x01\x02", 18, "NUL byte");
}

Test(agreements_hostile, empty_file)
{
    tu_watchdog(10);
    s_hostile("", 0, "empty file");
    s_hostile("# only a comment\n\n", 18, "empty file");
    s_hostile(NULL, 0, "empty file");
    agreements_errors_t *errors = s_load_bad("", 0);
    cr_assert_eq(agreements_errors_at(errors, 0)->line, 1);
    agreements_errors_destroy(&errors);
}

Test(agreements_hostile, many_nodes)
{
    tu_watchdog(10);
    /* 400k tiny list items fit in 1 MiB but not under the node cap */
    size_t n = 400000;
    char *text = malloc(2 * n + 16);
    size_t o = (size_t)snprintf(text, 16, "x: [");
    for (size_t i = 0; i < n; i++) {
        text[o++] = '1';
        text[o++] = ',';
    }
    text[o++] = ']';
    s_hostile(text, o, "too many YAML nodes");
    free(text);
}

Test(agreements_hostile, long_lists_stay_fast)
{
    tu_watchdog(10);
    /* 60,000 entries in one list: distinct ones are accepted, repeats are reported
       (and capped), and neither takes quadratic time. */
    size_t n = 60000, cap = n * 12 + 4096;
    char *text = malloc(cap);
    for (int repeat = 0; repeat < 2; repeat++) {
        size_t o = (size_t)snprintf(text, cap,
                                    HEADER "agreements:\n"
                                           "  - id: a1\n"
                                           "    from: politie\n"
                                           "    to: [gemeente]\n"
                                           "    signal_types: [overlast]\n"
                                           "    fields: [");
        for (size_t i = 0; i < n; i++)
            o += (size_t)snprintf(text + o, cap - o, "%sf%zu", i ? ", " : "", repeat ? i % 7 : i);
        o += (size_t)snprintf(text + o, cap - o,
                              "]\n    purpose: p\n    legal_basis: b\n    valid_from: 2025-01-01\n"
                              "    valid_until: 2025-12-31\n    retention_days: 1\n"
                              "    max_queue_days: 1\n");
        agreements_errors_t *errors = NULL;
        agreements_t *a = agreements_parse(text, o, "long.yaml", &errors);
        if (repeat == 0) {
            cr_assert_not_null(a);
            cr_assert_eq(agreements_at(a, 0)->field_count, n);
            eval_t e;
            cr_assert_eq(s_eval(a, &e, "politie", "gemeente", "overlast", "p", "f59999,f0,f31337",
                                s_ms("2025-06-01", 0, 0, 0, 0)),
                         0);
            cr_assert(e.decision.allowed);
            agreements_destroy(&a);
        } else {
            cr_assert_null(a);
            s_expect(errors, 15, 0, "duplicate field 'f0' (first at line 15)");
            cr_assert(agreements_errors_truncated(errors));
            agreements_errors_destroy(&errors);
        }
    }
    free(text);
}

/* ------------------------------------------------- identity (issue 14) */

/* The identity of a version is (version, SHA-256 of the exact bytes): the
   hash is recomputed here with libsodium on the same bytes, and one more
   comment byte gives the same version another hash. */
Test(agreements, hash_is_sha256_of_the_exact_bytes)
{
    const char *text = HEADER "agreements:\n" AGREEMENT_A1;
    const char *text2 = HEADER "agreements:\n" AGREEMENT_A1 "# a comment\n";
    agreements_t *a = agreements_parse(text, strlen(text), "a.yaml", NULL);
    agreements_t *b = agreements_parse(text2, strlen(text2), "b.yaml", NULL);
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    unsigned char want[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(want, (const unsigned char *)text, strlen(text));
    cr_assert_eq(memcmp(agreements_hash(a), want, sizeof want), 0);
    char hex[AGREEMENTS_HASH_HEX], want_hex[sizeof want * 2 + 1];
    agreements_hash_hex(a, hex);
    sodium_bin2hex(want_hex, sizeof want_hex, want, sizeof want);
    cr_assert_str_eq(hex, want_hex);
    cr_assert_eq(agreements_version(a), agreements_version(b));
    cr_assert_neq(memcmp(agreements_hash(a), agreements_hash(b), AGREEMENTS_HASH_BYTES), 0);
    agreements_destroy(&a);
    agreements_destroy(&b);
}

/* ---------------------------------------- better messages (issue 14 item 7) */

/* A misspelt key is an unknown key at its own line:column with the nearest
   name, and its required namesake is not reported missing as well. */
Test(agreements_validation, misspelt_key_is_named_at_its_own_position)
{
    const char *text = HEADER "agreements:\n"
                              "  - id: a1\n"                            /* 11 */
                              "    from: politie\n"                     /* 12 */
                              "    to: [gemeente, welzjin]\n"           /* 13 */
                              "    signal_types: [overlast, drugs]\n"   /* 14 */
                              "    fields: [adres, datum, categorie]\n" /* 15 */
                              "    purpse: casusoverleg\n"              /* 16 */
                              "    legal_basiss: \"Wpg art. 19\"\n"     /* 17 */
                              "    valid_from: 2025-01-01\n"            /* 18 */
                              "    valid_until: 2025-12-31\n"           /* 19 */
                              "    retention_days: 180\n"               /* 20 */
                              "    max_queue_days: 7\n";                /* 21 */
    agreements_errors_t *errors = s_load_bad(text, strlen(text));
    s_expect(errors, 16, 5, "unknown key 'purpse' in agreement 'a1': did you mean 'purpose'?");
    s_expect(errors, 17, 5,
             "unknown key 'legal_basiss' in agreement 'a1': did you mean 'legal_basis'?");
    s_expect(errors, 13, 20,
             "recipient 'welzjin' is not in the partner list: did you mean "
             "'welzijn'?");
    for (size_t i = 0; i < agreements_errors_count(errors); i++)
        cr_assert_null(strstr(agreements_errors_at(errors, i)->message, "missing required key"),
                       "%s", agreements_errors_at(errors, i)->message);
    cr_assert_eq(agreements_errors_count(errors), 3);
    agreements_errors_destroy(&errors);
    /* a key far from every name keeps the list of expected keys */
    s_expect_error(HEADER "agreements:\n" AGREEMENT_A1 "    remarks: x\n", 22, 5,
                   "unknown key 'remarks' in agreement 'a1' (expected: id,");
}

Test(agreements_validation, yaml_mistakes_in_plain_words)
{
    s_expect_error("partnership: p\nversion: 1\n\tcoordinator: g\n", 3, 1,
                   "a tab is not allowed for indentation in YAML; use spaces");
    s_expect_error("partnership: t\n  version: 1\n", 2, 10, "check this line's indentation");
    s_expect_error("partnership: p\nversion: 1\ncoordinator: g\npartners:\n  - org: g\n"
                   "   role: coordinator\n",
                   6, 4, "indented differently from the keys above it");
}
