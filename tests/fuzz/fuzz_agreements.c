/*  fuzz_agreements: an agreements.yaml as a partner or a privacy officer
    might hand it to `hartslag agreements check`, and the evaluations the
    broker runs against what parses.

    agreements_parse on the input. When it fails: the error list exists,
    every message is one NUL-terminated line, printing it works. When it
    parses: the accessors agree with each other, and a handful of requests
    built from the parsed names (and from a hash of the input) are
    evaluated, with the decision checked against agreements.h's contract.
    Dates: a short input is also tried as a YYYY-MM-DD date, which must
    format back to itself.
*/
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "date.h"
#include "agreements.h"
#include "fuzz_common.h"

#define REQUESTS 8

static FILE *s_null; /* /dev/null, for agreements_errors_print */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    s_null = fopen("/dev/null", "w");
    FUZZ_CHECK(s_null != NULL);
    return 0;
}

/* splitmix64: the request choices, from a hash of the input. */
static uint64_t s_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t s_hash(const uint8_t *data, size_t size)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 0x100000001b3ull;
    return h;
}

/* Any name the file knows, or sometimes one it does not. */
static agreements_str_t s_some_org(const agreements_t *a, uint64_t *rng)
{
    size_t n = agreements_partner_count(a);
    uint64_t r = s_next(rng);
    if (n == 0 || r % 8 == 0)
        return agreements_str(r % 16 == 0 ? "" : "onbekend");
    return agreements_str(agreements_partner(a, (size_t)(r >> 8) % n)->org);
}

static void s_check_decision(const agreements_request_t *req, const agreements_decision_t *d)
{
    FUZZ_CHECK(d->count == req->recipient_count);
    bool all = d->count > 0;
    char buf[AGREEMENTS_MESSAGE_MAX];
    for (size_t i = 0; i < d->count; i++) {
        const agreements_verdict_t *v = &d->recipients[i];
        FUZZ_CHECK(v->recipient.str == req->recipients[i].str &&
                   v->recipient.len == req->recipients[i].len);
        if (v->reason != AGREEMENTS_ALLOWED)
            all = false;
        else
            FUZZ_CHECK(v->agreement != NULL);
        FUZZ_CHECK(agreements_reason_name(v->reason) != NULL);
        /* A truncated reason is still a NUL-terminated string. */
        for (size_t size = 1; size <= sizeof buf; size = size * 4 + 1) {
            memset(buf, 'x', sizeof buf);
            int rc = agreements_verdict_reason(v, buf, size);
            FUZZ_CHECK(memchr(buf, '\0', size) != NULL);
            FUZZ_CHECK(rc == 0 || rc == -1);
        }
    }
    FUZZ_CHECK(d->allowed == all);
}

/* The accessors of a parsed file agree with each other. */
static void s_check_views(const agreements_t *a)
{
    FUZZ_CHECK(agreements_partnership(a) != NULL);
    size_t np = agreements_partner_count(a);
    FUZZ_CHECK(np <= AGREEMENTS_PARTNERS_MAX);
    for (size_t i = 0; i < np; i++) {
        const agreements_partner_t *p = agreements_partner(a, i);
        FUZZ_CHECK(p != NULL && p->org != NULL);
        FUZZ_CHECK(agreements_partner_lookup(a, p->org, strlen(p->org)) == p);
    }
    for (size_t i = 0; i < agreements_count(a); i++) {
        const agreements_agreement_t *g = agreements_at(a, i);
        FUZZ_CHECK(g != NULL && g->id && g->from && g->purpose);
        FUZZ_CHECK(g->to_count >= 1 && g->signal_type_count >= 1 && g->field_count >= 1);
        FUZZ_CHECK(g->valid_from <= g->valid_until);
        FUZZ_CHECK(agreements_partner_lookup(a, g->from, strlen(g->from)) != NULL);
    }
    for (size_t i = 0; i < agreements_alert_count(a); i++) {
        const agreements_alert_rule_t *r = agreements_alert(a, i);
        FUZZ_CHECK(r != NULL && r->id && r->notify_count >= 1);
        for (size_t j = 0; j < r->signal_type_count; j++)
            FUZZ_CHECK(agreements_alert_covers(r, r->signal_types[j], strlen(r->signal_types[j])));
    }
}

/* Requests: one that an agreement exactly describes, then mixtures. */
static void s_evaluate(const agreements_t *a, uint64_t seed)
{
    uint64_t rng = seed;
    agreements_str_t recipients[AGREEMENTS_RECIPIENTS_MAX + 1];
    agreements_str_t fields[AGREEMENTS_FIELDS_MAX + 1];
    agreements_decision_t d;
    size_t n = agreements_count(a);

    for (int k = 0; k < REQUESTS; k++) {
        agreements_request_t req;
        memset(&req, 0, sizeof req);
        const agreements_agreement_t *g = n ? agreements_at(a, (size_t)s_next(&rng) % n) : NULL;
        bool exact = g && k == 0;
        uint64_t r = s_next(&rng);
        req.sender = g && (exact || r % 4) ? agreements_str(g->from) : s_some_org(a, &rng);
        req.recipient_count = exact ? 1 : (size_t)(s_next(&rng) % 4);
        if (!exact && s_next(&rng) % 64 == 0)
            req.recipient_count = AGREEMENTS_RECIPIENTS_MAX + (size_t)(s_next(&rng) % 2);
        for (size_t i = 0; i < req.recipient_count; i++)
            recipients[i] = g && s_next(&rng) % 2
                                ? agreements_str(g->to[s_next(&rng) % g->to_count])
                                : s_some_org(a, &rng);
        if (exact)
            recipients[0] = agreements_str(g->to[0]);
        req.recipients = recipients;
        req.signal_type = agreements_str(g && (exact || s_next(&rng) % 4)
                                             ? g->signal_types[s_next(&rng) % g->signal_type_count]
                                             : "overlast");
        req.purpose =
            agreements_str(g && (exact || s_next(&rng) % 4) ? g->purpose : "casusoverleg");
        req.field_count =
            g ? (exact ? g->field_count : (size_t)(s_next(&rng) % (g->field_count + 2)))
              : (size_t)(s_next(&rng) % 3);
        if (!exact && s_next(&rng) % 64 == 0)
            req.field_count = AGREEMENTS_FIELDS_MAX + (size_t)(s_next(&rng) % 2);
        for (size_t i = 0; i < req.field_count; i++)
            fields[i] = g && (exact || s_next(&rng) % 8)
                            ? agreements_str(g->fields[exact ? i : s_next(&rng) % g->field_count])
                            : agreements_str(s_next(&rng) % 2 ? "bsn" : "");
        req.fields = fields;
        int64_t day = g ? (int64_t)g->valid_from + (int64_t)(s_next(&rng) % 3) - 1 : 20000;
        if (exact)
            day = g->valid_from;
        req.at_ms = day * 86400000 + (int64_t)(s_next(&rng) % 86400000);
        if (!exact && s_next(&rng) % 32 == 0)
            req.at_ms = (int64_t)s_next(&rng); /* any time at all, INT64_MIN included */

        memset(&d, 0xa5, sizeof d);
        int rc = agreements_evaluate(a, &req, &d);
        bool malformed = req.recipient_count == 0 ||
                         req.recipient_count > AGREEMENTS_RECIPIENTS_MAX ||
                         req.field_count > AGREEMENTS_FIELDS_MAX;
        if (malformed) {
            FUZZ_CHECK(rc == -1 && !d.allowed && d.count == 0);
            continue;
        }
        FUZZ_CHECK(rc == 0);
        s_check_decision(&req, &d);
        if (exact) {
            /* What an agreement literally describes is allowed, unless a
               role forbids it. */
            FUZZ_CHECK(d.recipients[0].reason == AGREEMENTS_ALLOWED ||
                       d.recipients[0].reason == AGREEMENTS_ROLE_NOT_ALLOWED);
        }
        (void)agreements_day_from_ms(req.at_ms);
    }
}

/* A strict date formats back to exactly its text. */
static void s_check_date(const uint8_t *data, size_t size)
{
    int64_t day = 0;
    if (date_parse((const char *)data, size, &day) != 0)
        return;
    char buf[11];
    date_format(day, buf);
    FUZZ_CHECK(size == 10 && memcmp(buf, data, 10) == 0);
    int64_t again = 0;
    FUZZ_CHECK(date_parse(buf, 10, &again) == 0 && again == day);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size <= 16)
        s_check_date(data, size);

    agreements_errors_t *errors = NULL;
    agreements_t *a = agreements_parse((const char *)data, size, "fuzz", &errors);
    if (!a) {
        FUZZ_CHECK(errors != NULL);
        size_t n = agreements_errors_count(errors);
        FUZZ_CHECK(n >= 1 && n <= AGREEMENTS_ERRORS_MAX + 1);
        for (size_t i = 0; i < n; i++) {
            const agreements_error_t *e = agreements_errors_at(errors, i);
            FUZZ_CHECK(e != NULL);
            FUZZ_CHECK(memchr(e->message, '\0', sizeof e->message) != NULL);
            FUZZ_CHECK(strchr(e->message, '\n') == NULL);
        }
        agreements_errors_print(errors, s_null);
        agreements_errors_destroy(&errors);
        FUZZ_CHECK(errors == NULL);
        return 0;
    }
    FUZZ_CHECK(errors == NULL);
    s_check_views(a);
    s_evaluate(a, s_hash(data, size));
    agreements_destroy(&a);
    FUZZ_CHECK(a == NULL);
    return 0;
}
