/*  bench_agreements: decisions per second of the policy engine on one core.

    A 200-agreement file for 30 partners is generated in memory and parsed;
    then a fixed mix of requests (about half allowed, the rest denied for
    every kind of reason, one to three recipients, two to five fields) is
    decided in a loop for about a second. Names are passed as (pointer,
    length), as the broker passes protobuf strings. A figure, never a
    pass/fail: DESIGN §12. */
#include "agreements.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PARTNERS 30
#define AGREEMENTS 200
#define TYPES 40
#define FIELDS 60
#define PURPOSES 6
#define MIX 4096
#define BASE_DAY 20089 /* 2025-01-01 */

static uint64_t s_state = 0x62656e6368ull;

static uint32_t s_rand(uint32_t n)
{
    s_state ^= s_state << 13;
    s_state ^= s_state >> 7;
    s_state ^= s_state << 17;
    return (uint32_t)(s_state % n);
}

typedef struct {
    int from, to[3], nto;
    int types[3], ntypes;
    int fields[8], nfields;
    int purpose;
} spec_t;

static char s_org[PARTNERS][32], s_type[TYPES][32], s_field[FIELDS][32], s_purpose[PURPOSES][32];

typedef struct {
    agreements_str_t to[3];
    agreements_str_t fields[5];
    agreements_request_t req;
} request_t;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    for (unsigned i = 0; i < PARTNERS; i++)
        snprintf(s_org[i], sizeof s_org[i], "partner-%02u", i);
    for (unsigned i = 0; i < TYPES; i++)
        snprintf(s_type[i], sizeof s_type[i], "signaal-type-%02u", i);
    for (unsigned i = 0; i < FIELDS; i++)
        snprintf(s_field[i], sizeof s_field[i], "veld_%02u", i);
    for (unsigned i = 0; i < PURPOSES; i++)
        snprintf(s_purpose[i], sizeof s_purpose[i], "doel-%u", i);

    static spec_t specs[AGREEMENTS];
    size_t cap = 256 * 1024, o = 0;
    char *yaml = malloc(cap);
    if (!yaml)
        return 1;
#define OUT(...) o += (size_t)snprintf(yaml + o, cap - o, __VA_ARGS__)
    OUT("partnership: bench\nversion: 1\ncoordinator: %s\npartners:\n", s_org[0]);
    for (int i = 0; i < PARTNERS; i++)
        OUT("  - {org: %s, role: %s}\n", s_org[i], i ? "partner" : "coordinator");
    OUT("agreements:\n");
    for (int k = 0; k < AGREEMENTS; k++) {
        spec_t *s = &specs[k];
        s->from = (int)s_rand(PARTNERS);
        s->nto = 1 + (int)s_rand(3);
        for (int i = 0; i < s->nto; i++) {
            s->to[i] = (s->from + 1 + i + (int)s_rand(3) * 3) % PARTNERS;
            for (int j = 0; j < i; j++)
                if (s->to[j] == s->to[i] || s->to[i] == s->from)
                    s->to[i] = -1;
            if (s->to[i] < 0 || s->to[i] == s->from) {
                s->nto = i;
                break;
            }
        }
        if (s->nto == 0) {
            s->to[0] = (s->from + 1) % PARTNERS;
            s->nto = 1;
        }
        s->ntypes = 1 + (int)s_rand(3);
        for (int i = 0; i < s->ntypes; i++)
            s->types[i] = (k * 3 + i) % TYPES;
        s->nfields = 3 + (int)s_rand(6);
        for (int i = 0; i < s->nfields; i++)
            s->fields[i] = (k * 7 + i) % FIELDS;
        s->purpose = (int)s_rand(PURPOSES);
        OUT("  - id: agreement-%03d\n    from: %s\n    to: [", k, s_org[s->from]);
        for (int i = 0; i < s->nto; i++)
            OUT("%s%s", i ? ", " : "", s_org[s->to[i]]);
        OUT("]\n    signal_types: [");
        for (int i = 0; i < s->ntypes; i++)
            OUT("%s%s", i ? ", " : "", s_type[s->types[i]]);
        OUT("]\n    fields: [");
        for (int i = 0; i < s->nfields; i++)
            OUT("%s%s", i ? ", " : "", s_field[s->fields[i]]);
        OUT("]\n    purpose: %s\n    legal_basis: \"convenant art. %d\"\n"
            "    valid_from: 2025-01-01\n    valid_until: 2027-12-31\n"
            "    retention_days: 180\n    max_queue_days: 7\n",
            s_purpose[s->purpose], k);
    }
#undef OUT
    agreements_errors_t *errors = NULL;
    agreements_t *ag = agreements_parse(yaml, o, "bench.yaml", &errors);
    if (!ag) {
        agreements_errors_print(errors, stderr);
        agreements_errors_destroy(&errors);
        free(yaml);
        return 1;
    }

    /* The mix: half built from an agreement (allowed), half perturbed to be denied. */
    static request_t mix[MIX];
    for (int m = 0; m < MIX; m++) {
        const spec_t *s = &specs[s_rand(AGREEMENTS)];
        request_t *r = &mix[m];
        int nto = 1 + (int)s_rand((uint32_t)s->nto);
        for (int i = 0; i < nto; i++)
            r->to[i] = agreements_str(s_org[s->to[i]]);
        int nfields = 2 + (int)s_rand(4);
        if (nfields > s->nfields)
            nfields = s->nfields;
        for (int i = 0; i < nfields; i++)
            r->fields[i] = agreements_str(s_field[s->fields[i]]);
        r->req.sender = agreements_str(s_org[s->from]);
        r->req.recipients = r->to;
        r->req.recipient_count = (size_t)nto;
        r->req.signal_type = agreements_str(s_type[s->types[0]]);
        r->req.purpose = agreements_str(s_purpose[s->purpose]);
        r->req.fields = r->fields;
        r->req.field_count = (size_t)nfields;
        r->req.at_ms = ((int64_t)BASE_DAY + s_rand(1000)) * 86400000 + s_rand(86400000);
        switch (m % 8) {
        case 4:
            r->req.signal_type = agreements_str(s_type[s_rand(TYPES)]);
            break;
        case 5:
            r->fields[0] = agreements_str(s_field[s_rand(FIELDS)]);
            break;
        case 6:
            r->to[0] = agreements_str(s_org[s_rand(PARTNERS)]);
            break;
        case 7:
            r->req.at_ms = ((int64_t)BASE_DAY + 1100) * 86400000;
            break;
        default:
            break;
        }
    }

    /* warm up, count the mix's outcome */
    agreements_decision_t d;
    size_t allowed = 0;
    for (int m = 0; m < MIX; m++) {
        if (agreements_evaluate(ag, &mix[m].req, &d) != 0)
            return 1;
        allowed += d.allowed;
    }

    size_t decisions = 0;
    volatile size_t sink = 0;
    double start = s_now(), elapsed;
    do {
        for (int m = 0; m < MIX; m++) {
            int rc = agreements_evaluate(ag, &mix[m].req, &d);
            sink += (size_t)rc + d.allowed;
        }
        decisions += MIX;
        elapsed = s_now() - start;
    } while (elapsed < 1.0);

    printf("agreements: %.0f decisions/s (%d agreements)\n", (double)decisions / elapsed,
           AGREEMENTS);
    printf("  mix: %d requests, %.0f%% allowed; %zu partners; %.1f ns per decision\n", MIX,
           100.0 * (double)allowed / MIX, agreements_partner_count(ag),
           elapsed * 1e9 / (double)decisions);
    agreements_destroy(&ag);
    free(yaml);
    return 0;
}
