/*  agreements, property test: random agreement sets are written as YAML
    text, parsed by the library, and 100,000+ random requests are decided by
    the engine and by a brute-force oracle here that scans the generator's
    own structures. Every decision, reason, clause and field must agree.

    The seed is fixed and printed; set HARTSLAG_SEED to replay another. */
#include "agreements.h"

#include "testutil.h"
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETS 1000
#define REQUESTS_PER_SET 120
#define ORGS_MAX 7
#define TYPES 6
#define FIELDS 8
#define PURPOSES 3
#define GEN_AGREEMENTS_MAX 14
#define BASE_DAY 20000 /* 2024-10-04 */

/* --------------------------------------------------------------- random */

static uint64_t s_state;

static uint64_t s_next(void)
{
    /* splitmix64: tiny, and the same sequence on every platform */
    uint64_t z = (s_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int s_rand(int n)
{
    return (int)(s_next() % (uint64_t)n);
}

/* ------------------------------------------------------------ generator */

static const char *s_orgs[ORGS_MAX + 1] = {"gemeente",     "politie", "welzijn",
                                           "woonpunt",     "ggd",     "reclassering",
                                           "sociaal-team", "onbekend"}; /* last: never a partner */
static const char *s_types[TYPES + 1] = {"overlast", "drugs", "zorg",     "huur",
                                         "geweld",   "casus", "t-unknown"};
static const char *s_fields[FIELDS + 1] = {"adres",     "datum",         "bsn",
                                           "categorie", "toelichting",   "naam",
                                           "telefoon",  "geboortedatum", "f-unknown"};
static const char *s_purposes[PURPOSES + 1] = {"casusoverleg", "veiligheidshuis", "zorgcoordinatie",
                                               "p-unknown"};

typedef struct {
    char id[16];
    int from;
    int to[ORGS_MAX];
    int nto;
    bool type[TYPES];
    bool field[FIELDS];
    int purpose;
    int32_t valid_from, valid_until;
} gen_agreement_t;

typedef struct {
    int npartners;
    bool may_send[ORGS_MAX];
    bool may_receive[ORGS_MAX];
    gen_agreement_t ag[GEN_AGREEMENTS_MAX];
    int n;
} gen_set_t;

static void s_date(int32_t day, char buf[11])
{
    /* Independent of the library: walk months from 1970. */
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = 1970, m = 0;
    for (;;) {
        int ylen = ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 366 : 365;
        if (day < ylen)
            break;
        day -= ylen;
        y++;
    }
    for (;;) {
        int len = mdays[m] + (m == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
        if (day < len)
            break;
        day -= len;
        m++;
    }
    snprintf(buf, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)(m + 1) % 100u,
             (unsigned)(day + 1) % 100u);
}

static void s_generate(gen_set_t *set)
{
    memset(set, 0, sizeof *set);
    set->npartners = 2 + s_rand(ORGS_MAX - 1);
    for (int i = 0; i < set->npartners; i++) {
        set->may_send[i] = s_rand(10) != 0;
        set->may_receive[i] = s_rand(10) != 0;
    }
    set->n = 1 + s_rand(GEN_AGREEMENTS_MAX);
    for (int k = 0; k < set->n; k++) {
        gen_agreement_t *a = &set->ag[k];
        snprintf(a->id, sizeof a->id, "a%d", k);
        a->from = s_rand(set->npartners);
        int want = 1 + s_rand(3);
        for (int tries = 0; tries < 10 && a->nto < want; tries++) {
            int r = s_rand(set->npartners);
            bool dup = r == a->from;
            for (int i = 0; i < a->nto; i++)
                dup = dup || a->to[i] == r;
            if (!dup)
                a->to[a->nto++] = r;
        }
        if (a->nto == 0)
            a->to[a->nto++] = (a->from + 1) % set->npartners;
        int nt = 1 + s_rand(3), nf = 1 + s_rand(4);
        for (int i = 0; i < nt; i++)
            a->type[s_rand(TYPES)] = true;
        for (int i = 0; i < nf; i++)
            a->field[s_rand(FIELDS)] = true;
        a->purpose = s_rand(PURPOSES);
        a->valid_from = BASE_DAY + s_rand(30);
        a->valid_until = a->valid_from + s_rand(30);
    }
}

/* Writes the set as YAML, mixing block and flow styles. Returns the length. */
static size_t s_yaml(const gen_set_t *set, char *buf, size_t cap)
{
    size_t o = 0;
#define OUT(...) o += (size_t)snprintf(buf + o, cap - o, __VA_ARGS__)
    OUT("# generated\npartnership: property\nversion: %d\ncoordinator: gemeente\npartners:\n",
        1 + s_rand(1000));
    for (int i = 0; i < set->npartners; i++) {
        OUT("  - org: %s\n    role: %s\n", s_orgs[i], i == 0 ? "coordinator" : "partner");
        if (!set->may_send[i] || s_rand(4) == 0)
            OUT("    may_send: %s\n", set->may_send[i] ? "true" : "false");
        if (!set->may_receive[i] || s_rand(4) == 0)
            OUT("    may_receive: %s\n", set->may_receive[i] ? "true" : "false");
    }
    OUT("agreements:\n");
    for (int k = 0; k < set->n; k++) {
        const gen_agreement_t *a = &set->ag[k];
        bool flow = s_rand(2);
        OUT("  - id: %s\n    from: %s\n    to:%s", a->id, s_orgs[a->from], flow ? " [" : "\n");
        for (int i = 0; i < a->nto; i++) {
            if (flow)
                OUT("%s%s", i ? ", " : "", s_orgs[a->to[i]]);
            else
                OUT("      - %s\n", s_orgs[a->to[i]]);
        }
        OUT(flow ? "]\n    signal_types: [" : "    signal_types:\n");
        bool first = true;
        for (int i = 0; i < TYPES; i++)
            if (a->type[i]) {
                if (flow)
                    OUT("%s%s", first ? "" : ", ", s_types[i]);
                else
                    OUT("      - %s\n", s_types[i]);
                first = false;
            }
        OUT(flow ? "]\n    fields: [" : "    fields:\n");
        first = true;
        for (int i = FIELDS - 1; i >= 0; i--) /* not in id order */
            if (a->field[i]) {
                if (flow)
                    OUT("%s%s", first ? "" : ", ", s_fields[i]);
                else
                    OUT("      - \"%s\"\n", s_fields[i]);
                first = false;
            }
        char from[11], until[11];
        s_date(a->valid_from, from);
        s_date(a->valid_until, until);
        OUT("%s    purpose: %s\n    legal_basis: \"Wpg art. %d\"\n    valid_from: %s\n"
            "    valid_until: %s\n    retention_days: %d\n    max_queue_days: %d\n",
            flow ? "]\n" : "", s_purposes[a->purpose], k, from, until, 1 + s_rand(3650),
            1 + s_rand(365));
    }
#undef OUT
    cr_assert_lt(o, cap);
    return o;
}

/* --------------------------------------------------------------- oracle */

typedef struct {
    int sender; /* index into s_orgs */
    int to[6];  /* indices into s_orgs */
    int nto;
    int type;     /* index into s_types */
    int purpose;  /* index into s_purposes */
    int field[6]; /* indices into s_fields */
    int nfields;
    int64_t at_ms;
} gen_request_t;

typedef struct {
    agreements_reason_t reason;
    const char *agreement; /* id, or NULL */
    int field;             /* field_not_allowed: index into s_fields */
} oracle_verdict_t;

static bool s_is_partner(const gen_set_t *set, int org)
{
    return org < set->npartners;
}

static oracle_verdict_t s_oracle(const gen_set_t *set, const gen_request_t *rq, int rec)
{
    oracle_verdict_t v = {AGREEMENTS_NO_AGREEMENT, NULL, -1};
    if (!s_is_partner(set, rq->sender) || !s_is_partner(set, rec)) {
        v.reason = AGREEMENTS_UNKNOWN_PARTNER;
        return v;
    }
    if (!set->may_send[rq->sender] || !set->may_receive[rec]) {
        v.reason = AGREEMENTS_ROLE_NOT_ALLOWED;
        return v;
    }
    int64_t day = rq->at_ms / 86400000; /* requests are after 1970: no flooring issue */
    int best = 0;
    for (int k = 0; k < set->n; k++) {
        const gen_agreement_t *a = &set->ag[k];
        bool to_rec = false;
        for (int i = 0; i < a->nto; i++)
            to_rec = to_rec || a->to[i] == rec;
        if (a->from != rq->sender || !to_rec)
            continue;
        int stage;
        agreements_reason_t reason;
        int field = -1;
        if (rq->type >= TYPES || !a->type[rq->type]) {
            stage = 1;
            reason = AGREEMENTS_TYPE_NOT_ALLOWED;
        } else if (rq->purpose != a->purpose) {
            stage = 2;
            reason = AGREEMENTS_PURPOSE_MISMATCH;
        } else if (day < a->valid_from) {
            stage = 3;
            reason = AGREEMENTS_NOT_YET_VALID;
        } else if (day > a->valid_until) {
            stage = 3;
            reason = AGREEMENTS_EXPIRED;
        } else {
            for (int i = 0; i < rq->nfields && field < 0; i++)
                if (rq->field[i] >= FIELDS || !a->field[rq->field[i]])
                    field = rq->field[i];
            if (field < 0) {
                v.reason = AGREEMENTS_ALLOWED;
                v.agreement = a->id;
                v.field = -1;
                return v;
            }
            stage = 4;
            reason = AGREEMENTS_FIELD_NOT_ALLOWED;
        }
        if (stage > best) {
            best = stage;
            v.reason = reason;
            v.agreement = a->id;
            v.field = field;
        }
    }
    return v;
}

static void s_request(const gen_set_t *set, gen_request_t *rq)
{
    memset(rq, 0, sizeof *rq);
    int32_t day;
    if (s_rand(2)) {
        /* derived from an agreement, so that allowed requests are common */
        const gen_agreement_t *a = &set->ag[s_rand(set->n)];
        rq->sender = a->from;
        rq->nto = 1 + s_rand(a->nto);
        for (int i = 0; i < rq->nto; i++)
            rq->to[i] = a->to[s_rand(a->nto)];
        do
            rq->type = s_rand(TYPES);
        while (!a->type[rq->type] && s_rand(8));
        rq->purpose = s_rand(4) ? a->purpose : s_rand(PURPOSES + 1);
        rq->nfields = s_rand(4);
        for (int i = 0; i < rq->nfields; i++) {
            do
                rq->field[i] = s_rand(FIELDS);
            while (!a->field[rq->field[i]] && s_rand(6));
        }
        day = a->valid_from - 1 + s_rand(a->valid_until - a->valid_from + 3);
    } else {
        rq->sender = s_rand(20) ? s_rand(set->npartners) : ORGS_MAX;
        rq->nto = 1 + s_rand(5);
        for (int i = 0; i < rq->nto; i++)
            rq->to[i] = s_rand(20) ? s_rand(set->npartners) : s_rand(ORGS_MAX + 1);
        rq->type = s_rand(TYPES + 1);
        rq->purpose = s_rand(PURPOSES + 1);
        rq->nfields = s_rand(6);
        for (int i = 0; i < rq->nfields; i++)
            rq->field[i] = s_rand(FIELDS + 1);
        day = BASE_DAY - 2 + s_rand(64);
    }
    rq->at_ms = (int64_t)day * 86400000 + (int64_t)s_rand(86400000);
}

/* ----------------------------------------------------------------- test */

Test(agreements_property, engine_equals_oracle)
{
    tu_watchdog(300);
    uint64_t seed = 0x4861727473ull; /* "Harts" */
    const char *env = getenv("HARTSLAG_SEED");
    if (env)
        seed = strtoull(env, NULL, 0);
    printf("agreements property test: seed %" PRIu64 " (HARTSLAG_SEED to replay)\n", seed);
    fflush(stdout);
    s_state = seed;

    size_t cap = 64 * 1024;
    char *yaml = malloc(cap);
    size_t requests = 0, allowed = 0, reasons[AGREEMENTS_ROLE_NOT_ALLOWED + 1] = {0};
    /* HARTSLAG_PROPERTY_SCALE (percent, default 100): make valgrind runs a
       fraction of the sets. */
    int sets = SETS;
    const char *scale = getenv("HARTSLAG_PROPERTY_SCALE");
    if (scale) {
        long pct = strtol(scale, NULL, 10);
        sets = pct >= 1 && pct <= 100 ? (int)(SETS * pct / 100) : SETS;
        sets = sets > 0 ? sets : 1;
    }
    for (int round = 0; round < sets; round++) {
        gen_set_t set;
        s_generate(&set);
        size_t len = s_yaml(&set, yaml, cap);
        agreements_errors_t *errors = NULL;
        agreements_t *a = agreements_parse(yaml, len, "generated.yaml", &errors);
        if (!a) {
            agreements_errors_print(errors, stderr);
            fprintf(stderr, "%.*s\n", (int)len, yaml);
        }
        cr_assert_not_null(a, "round %d: generated file refused", round);
        cr_assert_eq(agreements_count(a), (size_t)set.n);

        for (int q = 0; q < REQUESTS_PER_SET; q++) {
            gen_request_t rq;
            s_request(&set, &rq);
            agreements_str_t to[6], fields[6];
            for (int i = 0; i < rq.nto; i++)
                to[i] = agreements_str(s_orgs[rq.to[i]]);
            for (int i = 0; i < rq.nfields; i++)
                fields[i] = agreements_str(s_fields[rq.field[i]]);
            agreements_request_t req = {.sender = agreements_str(s_orgs[rq.sender]),
                                        .recipients = to,
                                        .recipient_count = (size_t)rq.nto,
                                        .signal_type = agreements_str(s_types[rq.type]),
                                        .purpose = agreements_str(s_purposes[rq.purpose]),
                                        .fields = fields,
                                        .field_count = (size_t)rq.nfields,
                                        .at_ms = rq.at_ms};
            agreements_decision_t d;
            cr_assert_eq(agreements_evaluate(a, &req, &d), 0);
            cr_assert_eq(d.count, (size_t)rq.nto);
            bool all = true;
            for (int i = 0; i < rq.nto; i++) {
                oracle_verdict_t want = s_oracle(&set, &rq, rq.to[i]);
                const agreements_verdict_t *got = &d.recipients[i];
                all = all && want.reason == AGREEMENTS_ALLOWED;
                reasons[want.reason]++;
                if (got->reason != want.reason ||
                    (want.agreement == NULL) != (got->agreement == NULL) ||
                    (want.agreement && strcmp(want.agreement, got->agreement->id) != 0) ||
                    (want.field >= 0 &&
                     (got->field.len != strlen(s_fields[want.field]) ||
                      memcmp(got->field.str, s_fields[want.field], got->field.len) != 0))) {
                    fprintf(stderr, "%.*s\n", (int)len, yaml);
                    cr_assert_fail(
                        "round %d request %d recipient %s: engine %s (%s) oracle %s (%s)", round, q,
                        s_orgs[rq.to[i]], agreements_reason_name(got->reason),
                        got->agreement ? got->agreement->id : "-",
                        agreements_reason_name(want.reason), want.agreement ? want.agreement : "-");
                }
            }
            cr_assert_eq(d.allowed, all, "round %d request %d: all-or-nothing", round, q);
            requests++;
            allowed += all;
        }
        agreements_destroy(&a);
    }
    free(yaml);
    printf("agreements property test: %zu requests, %zu allowed; verdicts by reason:", requests,
           allowed);
    for (int r = 0; r <= AGREEMENTS_ROLE_NOT_ALLOWED; r++)
        printf(" %s %zu", agreements_reason_name((agreements_reason_t)r), reasons[r]);
    printf("\n");
    /* at full scale: at least 100,000 requests, every outcome over 100 times */
    cr_assert_geq(requests, (size_t)100000 * (size_t)sets / SETS);
    /* the generator must exercise every outcome, or the comparison proves little */
    for (int r = 0; r <= AGREEMENTS_ROLE_NOT_ALLOWED; r++)
        cr_assert_gt(reasons[r], (size_t)100 * (size_t)sets / SETS, "reason %s too rare",
                     agreements_reason_name(r));
}
