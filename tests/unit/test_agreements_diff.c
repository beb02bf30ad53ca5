/*  agreements_diff: every attribute change in terraform-plan form, renames,
    the affected partners, and a property test: random pairs of agreement
    files (a base and a mutation of it) are diffed by the library and the
    affected partners are checked against a simple oracle that compares the
    generator's own structures. Fixed seed; HARTSLAG_SEED replays another. */
#include "agreements_diff.h"

#include "testutil.h"
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- helpers */

static agreements_t *s_parse(const char *text)
{
    agreements_errors_t *errors = NULL;
    agreements_t *ag = agreements_parse(text, strlen(text), "t.yaml", &errors);
    if (!ag)
        agreements_errors_print(errors, stderr);
    agreements_errors_destroy(&errors);
    cr_assert_not_null(ag, "fixture does not parse:\n%s", text);
    return ag;
}

/* The whole diff as text, one change a line, then "affected: a,b". */
static char *s_render(const char *old_text, const char *new_text)
{
    agreements_t *o = s_parse(old_text), *n = s_parse(new_text);
    agreements_diff_t *d = agreements_diff_new(o, n);
    cr_assert_not_null(d);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    for (size_t i = 0; i < agreements_diff_count(d); i++) {
        agreements_change_print(agreements_diff_at(d, i), f);
        fputc('\n', f);
    }
    fprintf(f, "affected:");
    for (size_t i = 0; i < agreements_diff_affected_count(d); i++)
        fprintf(f, "%s%s", i ? "," : " ", agreements_diff_affected(d, i));
    fputc('\n', f);
    fclose(f);
    agreements_diff_destroy(&d);
    agreements_diff_destroy(&d); /* safe twice */
    agreements_destroy(&o);
    agreements_destroy(&n);
    return buf;
}

#define HEAD(version)                                                                              \
    "partnership: p\nversion: " version "\ncoordinator: gemeente\npartners:\n"                     \
    "  - {org: gemeente, role: coordinator}\n"                                                     \
    "  - {org: politie, role: partner}\n"                                                          \
    "  - {org: welzijn, role: partner}\n"                                                          \
    "  - {org: ggd, role: partner, receives_alerts: true}\n"

#define AG(id, to, fields, basis)                                                                  \
    "  - id: " id "\n    from: politie\n    to: " to "\n    signal_types: [overlast]\n"            \
    "    fields: " fields "\n    purpose: casusoverleg\n    legal_basis: \"" basis "\"\n"          \
    "    valid_from: 2025-01-01\n    valid_until: 2027-12-31\n"                                    \
    "    retention_days: 180\n    max_queue_days: 7\n"

#define BASE HEAD("1") "agreements:\n" AG("a1", "[gemeente]", "[adres, datum]", "Wpg art. 19")

Test(agreements_diff, identical_files_have_no_changes)
{
    char *t = s_render(BASE, BASE);
    cr_assert_str_eq(t, "affected:\n");
    free(t);
}

Test(agreements_diff, legal_basis_in_terraform_form)
{
    char *t = s_render(
        BASE, HEAD("2") "agreements:\n" AG("a1", "[gemeente]", "[adres, datum]", "Wpg art. 20"));
    cr_assert_str_eq(t, "~ version: 1 -> 2\n"
                        "~ agreement a1: legal_basis \"Wpg art. 19\" -> \"Wpg art. 20\"\n"
                        "affected: gemeente,politie\n");
    free(t);
}

Test(agreements_diff, version_alone_affects_no_one)
{
    char *t = s_render(
        BASE, HEAD("2") "agreements:\n" AG("a1", "[gemeente]", "[adres, datum]", "Wpg art. 19"));
    cr_assert_str_eq(t, "~ version: 1 -> 2\naffected:\n");
    free(t);
}

Test(agreements_diff, reordered_list_is_no_change)
{
    char *t = s_render(
        BASE, HEAD("1") "agreements:\n" AG("a1", "[gemeente]", "[datum, adres]", "Wpg art. 19"));
    cr_assert_str_eq(t, "affected:\n");
    free(t);
}

Test(agreements_diff, fields_and_recipients)
{
    char *t = s_render(
        BASE, HEAD("1") "agreements:\n" AG("a1", "[gemeente, welzijn]", "[adres]", "Wpg art. 19"));
    cr_assert_str_eq(t, "~ agreement a1: to [gemeente] -> [gemeente, welzijn]\n"
                        "~ agreement a1: fields [adres, datum] -> [adres]\n"
                        "affected: gemeente,politie,welzijn\n");
    free(t);
}

Test(agreements_diff, rename_with_equal_body_is_a_rename)
{
    char *t = s_render(BASE, HEAD("1") "agreements:\n" AG("politie-overlast", "[gemeente]",
                                                          "[adres, datum]", "Wpg art. 19"));
    cr_assert_str_eq(t, "~ agreement a1: renamed to politie-overlast (no other change)\n"
                        "affected: gemeente,politie\n");
    free(t);
}

Test(agreements_diff, rename_with_other_body_is_remove_and_add)
{
    char *t =
        s_render(BASE, HEAD("1") "agreements:\n" AG("a2", "[gemeente]", "[adres]", "Wpg art. 19"));
    cr_assert_str_eq(t, "- agreement a1\n+ agreement a2\naffected: gemeente,politie\n");
    free(t);
}

Test(agreements_diff, partner_flags_name_and_addition)
{
    const char *n = "partnership: p\nversion: 1\ncoordinator: gemeente\npartners:\n"
                    "  - {org: gemeente, role: coordinator}\n"
                    "  - {org: politie, role: partner, name: Politie Limburg}\n"
                    "  - {org: welzijn, role: partner, may_receive: false}\n"
                    "  - {org: ggd, role: partner, receives_alerts: true}\n"
                    "  - {org: woonpunt, role: partner}\n"
                    "agreements:\n" AG("a1", "[gemeente]", "[adres, datum]", "Wpg art. 19");
    char *t = s_render(BASE, n);
    cr_assert_str_eq(t, "~ partner politie: name (none) -> \"Politie Limburg\"\n"
                        "~ partner welzijn: may_receive true -> false\n"
                        "+ partner woonpunt\n"
                        "affected: politie,welzijn,woonpunt\n");
    free(t);
}

#define ALERT(id, notify, senders)                                                                 \
    "alerts:\n  - id: " id "\n    distinct_senders: 2\n    window_days: 30\n"                      \
    "    notify: " notify "\n    notify_senders: " senders "\n    legal_basis: \"x\"\n"

Test(agreements_diff, alert_rules)
{
    char *t = s_render(BASE ALERT("r1", "[gemeente]", "false"),
                       BASE ALERT("r1", "[gemeente, ggd]", "true"));
    cr_assert_str_eq(t, "~ alert r1: notify [gemeente] -> [gemeente, ggd]\n"
                        "~ alert r1: notify_senders false -> true\n"
                        "affected: gemeente,ggd\n");
    free(t);
    t = s_render(BASE ALERT("r1", "[ggd]", "false"), BASE ALERT("r2", "[ggd]", "false"));
    cr_assert_str_eq(t, "~ alert r1: renamed to r2 (no other change)\naffected: ggd\n");
    free(t);
}

#define CASE(kind, welzijn_fields, retention, outcomes)                                            \
    "cases:\n  - kind: " kind "\n    coordinator: gemeente\n    participants:\n"                   \
    "      - {org: politie, fields: [adres]}\n"                                                    \
    "      - {org: gemeente, fields: [adres, toelichting]}\n"                                      \
    "      - {org: welzijn, fields: " welzijn_fields "}\n"                                         \
    "    purpose: casusoverleg\n    legal_basis: \"art. 5\"\n"                                     \
    "    retention_days_after_close: " retention "\n    max_open_days: 90\n"                       \
    "    outcomes: " outcomes "\n"

Test(agreements_diff, case_conference_rules)
{
    char *t =
        s_render(BASE CASE("overleg", "[toelichting]", "30", "[opgelost, geen_actie]"),
                 BASE CASE("overleg", "[toelichting, datum]", "30", "[geen_actie, opgelost]"));
    cr_assert_str_eq(t,
                     "~ case overleg: participants gemeente [adres, toelichting]; politie "
                     "[adres]; welzijn [toelichting] -> gemeente [adres, toelichting]; politie "
                     "[adres]; welzijn [datum, toelichting]\n"
                     "affected: gemeente,politie,welzijn\n",
                     "a participant's fields changed; reordered outcomes are no change: %s", t);
    free(t);
    t = s_render(BASE CASE("overleg", "[toelichting]", "30", "[opgelost]"),
                 BASE CASE("overleg", "[toelichting]", "60", "[opgelost, verhuisd]"));
    cr_assert_str_eq(t, "~ case overleg: retention_days_after_close 30 -> 60\n"
                        "~ case overleg: outcomes [opgelost] -> [opgelost, verhuisd]\n"
                        "affected: gemeente,politie,welzijn\n");
    free(t);
    t = s_render(BASE, BASE CASE("overleg", "[toelichting]", "30", "[opgelost]"));
    cr_assert_str_eq(t, "+ case overleg\naffected: gemeente,politie,welzijn\n");
    free(t);
    t = s_render(BASE CASE("overleg", "[toelichting]", "30", "[opgelost]"), BASE);
    cr_assert_str_eq(t, "- case overleg\naffected: gemeente,politie,welzijn\n");
    free(t);
}

Test(agreements_diff, quoting_of_hostile_text)
{
    char *t = s_render(BASE, HEAD("1") "agreements:\n" AG("a1", "[gemeente]", "[adres, datum]",
                                                          "say \\\"hi\\\" \\\\"));
    cr_assert_str_eq(t, "~ agreement a1: legal_basis \"Wpg art. 19\" -> \"say \\\"hi\\\" \\\\\"\n"
                        "affected: gemeente,politie\n");
    free(t);
}

/* ------------------------------------------------------------ property */

#define PAIRS 400
#define ORGS 5
#define GEN_MAX 8
#define FIELDS 5

static const char *s_orgs[ORGS] = {"gemeente", "politie", "welzijn", "ggd", "woonpunt"};
static const char *s_fields[FIELDS] = {"adres", "datum", "bsn", "categorie", "naam"};

static uint64_t s_state;

static uint64_t s_next(void)
{
    uint64_t z = (s_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int s_rand(int n)
{
    return (int)(s_next() % (uint64_t)n);
}

typedef struct {
    char id[16];
    int from;
    bool to[ORGS];
    bool field[FIELDS];
    int basis;     /* legal basis article */
    int retention; /* days */
} gen_ag_t;

typedef struct {
    bool may_send[ORGS];
    gen_ag_t ag[GEN_MAX];
    int n;
} gen_t;

static void s_gen_ag(gen_ag_t *a, int serial)
{
    memset(a, 0, sizeof *a);
    snprintf(a->id, sizeof a->id, "a%d", serial);
    a->from = s_rand(ORGS);
    a->to[(a->from + 1 + s_rand(ORGS - 1)) % ORGS] = true;
    if (s_rand(2))
        a->to[(a->from + 1 + s_rand(ORGS - 1)) % ORGS] = true;
    a->field[s_rand(FIELDS)] = true;
    a->field[s_rand(FIELDS)] = true;
    a->basis = 19 + s_rand(2);
    a->retention = 100 + s_rand(2);
}

static size_t s_yaml(const gen_t *g, char *buf, size_t cap)
{
    size_t o = 0;
#define OUT(...) o += (size_t)snprintf(buf + o, cap - o, __VA_ARGS__)
    OUT("partnership: prop\nversion: 1\ncoordinator: gemeente\npartners:\n");
    for (int i = 0; i < ORGS; i++)
        OUT("  - {org: %s, role: %s, may_send: %s}\n", s_orgs[i], i ? "partner" : "coordinator",
            g->may_send[i] ? "true" : "false");
    OUT("agreements:\n");
    for (int k = 0; k < g->n; k++) {
        const gen_ag_t *a = &g->ag[k];
        OUT("  - id: %s\n    from: %s\n    to: [", a->id, s_orgs[a->from]);
        bool first = true;
        for (int i = ORGS - 1; i >= 0; i--) /* not in file order of partners */
            if (a->to[i]) {
                OUT("%s%s", first ? "" : ", ", s_orgs[i]);
                first = false;
            }
        OUT("]\n    signal_types: [overlast]\n    fields: [");
        first = true;
        for (int i = 0; i < FIELDS; i++)
            if (a->field[i]) {
                OUT("%s%s", first ? "" : ", ", s_fields[i]);
                first = false;
            }
        OUT("]\n    purpose: casusoverleg\n    legal_basis: \"Wpg art. %d\"\n"
            "    valid_from: 2025-01-01\n    valid_until: 2027-12-31\n"
            "    retention_days: %d\n    max_queue_days: 7\n",
            a->basis, a->retention);
    }
#undef OUT
    cr_assert_lt(o, cap);
    return o;
}

static bool s_body_eq(const gen_ag_t *a, const gen_ag_t *b)
{
    return a->from == b->from && memcmp(a->to, b->to, sizeof a->to) == 0 &&
           memcmp(a->field, b->field, sizeof a->field) == 0 && a->basis == b->basis &&
           a->retention == b->retention;
}

static const gen_ag_t *s_find(const gen_t *g, const char *id)
{
    for (int k = 0; k < g->n; k++)
        if (strcmp(g->ag[k].id, id) == 0)
            return &g->ag[k];
    return NULL;
}

static void s_mark(bool affected[ORGS], const gen_ag_t *a)
{
    affected[a->from] = true;
    for (int i = 0; i < ORGS; i++)
        affected[i] |= a->to[i];
}

/* The oracle: an org is affected when an entry naming it is not found,
   identical (id included), on the other side. */
static void s_oracle(const gen_t *o, const gen_t *n, bool affected[ORGS])
{
    memset(affected, 0, ORGS * sizeof *affected);
    for (int i = 0; i < ORGS; i++)
        if (o->may_send[i] != n->may_send[i])
            affected[i] = true;
    for (int k = 0; k < o->n; k++) {
        const gen_ag_t *b = s_find(n, o->ag[k].id);
        if (!b || !s_body_eq(&o->ag[k], b))
            s_mark(affected, &o->ag[k]);
    }
    for (int k = 0; k < n->n; k++) {
        const gen_ag_t *a = s_find(o, n->ag[k].id);
        if (!a || !s_body_eq(a, &n->ag[k]))
            s_mark(affected, &n->ag[k]);
    }
}

/* Mutates a copy; returns the renamed pair's old id in *renamed_from when
   the one mutation was a pure rename to a fresh id. */
static void s_mutate(const gen_t *base, gen_t *out, int *serial, char renamed_from[16])
{
    *out = *base;
    renamed_from[0] = '\0';
    int steps = s_rand(4); /* 0: identical */
    for (int s = 0; s < steps; s++) {
        gen_ag_t *a = out->n ? &out->ag[s_rand(out->n)] : NULL;
        switch (s_rand(7)) {
        case 0:
            out->may_send[s_rand(ORGS)] ^= true;
            break;
        case 1:
            if (a)
                a->basis = 19 + s_rand(2);
            break;
        case 2:
            if (a)
                a->field[s_rand(FIELDS)] ^= true;
            if (a)
                a->field[0] = true; /* never an empty list */
            break;
        case 3:
            if (a) {
                int t = (a->from + 1 + s_rand(ORGS - 1)) % ORGS;
                a->to[t] = true;
            }
            break;
        case 4:
            if (out->n > 1) {
                int victim = s_rand(out->n);
                out->n--;
                out->ag[victim] = out->ag[out->n];
            }
            break;
        case 5:
            if (out->n < GEN_MAX)
                s_gen_ag(&out->ag[out->n++], (*serial)++);
            break;
        case 6:
            if (a) {
                if (steps == 1)
                    snprintf(renamed_from, 16, "%s", a->id);
                snprintf(a->id, sizeof a->id, "a%d", (*serial)++);
            }
            break;
        }
    }
}

Test(agreements_diff, property_affected_partners_match_oracle)
{
    tu_watchdog(120);
    uint64_t seed = 0x14d1ffull;
    const char *env = getenv("HARTSLAG_SEED");
    if (env)
        seed = strtoull(env, NULL, 0);
    s_state = seed;
    fprintf(stderr, "agreements_diff property: seed 0x%" PRIx64 "\n", seed);
    static char ybuf[2][16384];
    int renames_seen = 0, unchanged_seen = 0;
    for (int p = 0; p < PAIRS; p++) {
        gen_t base, next;
        memset(&base, 0, sizeof base);
        int serial = 0;
        for (int i = 0; i < ORGS; i++)
            base.may_send[i] = s_rand(5) != 0;
        base.n = 1 + s_rand(GEN_MAX - 1);
        for (int k = 0; k < base.n; k++)
            s_gen_ag(&base.ag[k], serial++);
        char renamed_from[16];
        s_mutate(&base, &next, &serial, renamed_from);
        size_t l0 = s_yaml(&base, ybuf[0], sizeof ybuf[0]);
        size_t l1 = s_yaml(&next, ybuf[1], sizeof ybuf[1]);
        agreements_errors_t *errors = NULL;
        agreements_t *o = agreements_parse(ybuf[0], l0, "old", &errors);
        cr_assert_not_null(o, "pair %d: old does not parse", p);
        agreements_t *n = agreements_parse(ybuf[1], l1, "new", &errors);
        cr_assert_not_null(n, "pair %d: new does not parse", p);
        agreements_diff_t *d = agreements_diff_new(o, n);
        cr_assert_not_null(d);

        bool want[ORGS];
        s_oracle(&base, &next, want);
        bool any = false;
        for (int i = 0; i < ORGS; i++) {
            any |= want[i];
            cr_assert_eq(agreements_diff_affects(d, s_orgs[i]), want[i],
                         "pair %d (seed 0x%" PRIx64 "): %s affected %d, oracle %d\n%s\n---\n%s", p,
                         seed, s_orgs[i], !want[i], want[i], ybuf[0], ybuf[1]);
        }
        /* no affected partner <=> no change at all (the version never changes here) */
        cr_assert_eq(agreements_diff_count(d) > 0, any, "pair %d: %zu changes, affected %d", p,
                     agreements_diff_count(d), any);
        if (!any)
            unchanged_seen++;
        if (renamed_from[0]) {
            const gen_ag_t *old_ag = s_find(&base, renamed_from);
            const gen_ag_t *new_ag = NULL;
            for (int k = 0; k < next.n; k++)
                if (!s_find(&base, next.ag[k].id))
                    new_ag = &next.ag[k];
            cr_assert_not_null(new_ag);
            /* a pure rename with no other entry of equal body is exactly one rename */
            bool unique = true;
            for (int k = 0; k < base.n; k++)
                if (&base.ag[k] != old_ag && s_body_eq(&base.ag[k], old_ag))
                    unique = false;
            if (unique) {
                cr_assert_eq(agreements_diff_count(d), 1);
                const agreements_change_t *c = agreements_diff_at(d, 0);
                cr_assert_eq(c->op, AGREEMENTS_DIFF_RENAMED);
                cr_assert_str_eq(c->old_value, renamed_from);
                cr_assert_str_eq(c->new_value, new_ag->id);
                renames_seen++;
            }
        }
        /* every rename pairs two equal bodies */
        for (size_t i = 0; i < agreements_diff_count(d); i++) {
            const agreements_change_t *c = agreements_diff_at(d, i);
            if (c->op != AGREEMENTS_DIFF_RENAMED)
                continue;
            const gen_ag_t *a = s_find(&base, c->old_value), *b = s_find(&next, c->new_value);
            cr_assert(a && b && s_body_eq(a, b) && !s_find(&next, a->id) && !s_find(&base, b->id));
        }
        agreements_diff_destroy(&d);
        agreements_destroy(&o);
        agreements_destroy(&n);
    }
    cr_assert_gt(renames_seen, 5, "the generator must produce renames (%d)", renames_seen);
    cr_assert_gt(unchanged_seen, 5, "and unchanged pairs (%d)", unchanged_seen);
}
