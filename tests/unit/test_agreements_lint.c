/*  Tests for lib/agreements_lint: a later agreement whose whole scope an
    earlier one allows is reported as shadowed (or duplicate when equal);
    one that is wider, comes first, or differs in sender, purpose, a
    recipient, a type, a field or its validity is not. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "agreements.h"
#include "agreements_lint.h"

#define HEAD                                                                                       \
    "partnership: lint\nversion: 1\ncoordinator: gemeente\npartners:\n"                            \
    "  - {org: gemeente, role: coordinator}\n  - {org: politie, role: partner}\n"                  \
    "  - {org: welzijn, role: partner}\nagreements:\n"

/* One agreement entry. */
#define RULE(id, from, to, types, fields, purpose, from_day, until_day)                            \
    "  - id: " id "\n    from: " from "\n    to: [" to "]\n    signal_types: [" types              \
    "]\n    fields: [" fields "]\n    purpose: " purpose "\n    legal_basis: \"x\"\n"              \
    "    valid_from: " from_day "\n    valid_until: " until_day "\n"                               \
    "    retention_days: 30\n    max_queue_days: 7\n"

#define WIDE                                                                                       \
    RULE("wide", "politie", "gemeente, welzijn", "overlast, drugs", "adres, datum", "p",           \
         "2025-01-01", "2030-12-31")

typedef struct {
    int n;
    char shadowed[8][64];
    char by[8][64];
    bool duplicate[8];
} seen_t;

static void s_seen(void *arg, const agreements_agreement_t *shadowed,
                   const agreements_agreement_t *by, bool duplicate)
{
    seen_t *seen = arg;
    if (seen->n < 8) {
        snprintf(seen->shadowed[seen->n], 64, "%s", shadowed->id);
        snprintf(seen->by[seen->n], 64, "%s", by->id);
        seen->duplicate[seen->n] = duplicate;
    }
    seen->n++;
}

static seen_t s_lint(const char *text)
{
    agreements_errors_t *errors = NULL;
    agreements_t *a = agreements_parse(text, strlen(text), "lint.yaml", &errors);
    if (!a) {
        const agreements_error_t *e = errors ? agreements_errors_at(errors, 0) : NULL;
        cr_assert_fail("does not parse: %s", e ? e->message : "?");
    }
    seen_t seen = {0};
    size_t n = agreements_lint_shadowed(a, s_seen, &seen);
    cr_assert_eq(n, (size_t)seen.n);
    agreements_destroy(&a);
    return seen;
}

Test(agreements_lint, a_narrower_later_rule_is_shadowed)
{
    seen_t seen = s_lint(HEAD WIDE RULE("narrow", "politie", "gemeente", "overlast", "adres", "p",
                                        "2026-01-01", "2027-12-31"));
    cr_assert_eq(seen.n, 1);
    cr_assert_str_eq(seen.shadowed[0], "narrow");
    cr_assert_str_eq(seen.by[0], "wide");
    cr_assert_not(seen.duplicate[0]);
}

Test(agreements_lint, an_equal_rule_is_a_duplicate)
{
    seen_t seen = s_lint(HEAD WIDE RULE("again", "politie", "welzijn, gemeente", "drugs, overlast",
                                        "datum, adres", "p", "2025-01-01", "2030-12-31"));
    cr_assert_eq(seen.n, 1);
    cr_assert_str_eq(seen.shadowed[0], "again");
    cr_assert(seen.duplicate[0]);
}

Test(agreements_lint, a_narrower_rule_first_is_not_shadowed)
{
    seen_t seen = s_lint(HEAD RULE("narrow", "politie", "gemeente", "overlast", "adres", "p",
                                   "2026-01-01", "2027-12-31") WIDE);
    cr_assert_eq(seen.n, 0, "the narrow rule decides first; the wide one decides the rest");
}

Test(agreements_lint, any_difference_in_scope_is_not_shadowed)
{
    const char *others[] = {
        RULE("o1", "gemeente", "welzijn", "overlast", "adres", "p", "2026-01-01", "2027-12-31"),
        RULE("o2", "politie", "gemeente", "overlast", "adres", "q", "2026-01-01", "2027-12-31"),
        RULE("o3", "politie", "gemeente, gemeente2", "overlast", "adres", "p", "2026-01-01",
             "2027-12-31"),
        RULE("o4", "politie", "gemeente", "overlast, zorg", "adres", "p", "2026-01-01",
             "2027-12-31"),
        RULE("o5", "politie", "gemeente", "overlast", "adres, bsn", "p", "2026-01-01",
             "2027-12-31"),
        RULE("o6", "politie", "gemeente", "overlast", "adres", "p", "2024-01-01", "2027-12-31"),
        RULE("o7", "politie", "gemeente", "overlast", "adres", "p", "2026-01-01", "2031-01-01"),
    };
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        char text[4096];
        snprintf(text, sizeof text, "%s%s%s", HEAD, WIDE, others[i]);
        if (strstr(others[i], "gemeente2")) /* a recipient outside the wide rule */
            snprintf(text, sizeof text, "%s  - {org: gemeente2, role: partner}\nagreements:\n%s%s",
                     "partnership: lint\nversion: 1\ncoordinator: gemeente\npartners:\n"
                     "  - {org: gemeente, role: coordinator}\n  - {org: politie, role: partner}\n"
                     "  - {org: welzijn, role: partner}\n",
                     WIDE, others[i]);
        seen_t seen = s_lint(text);
        cr_assert_eq(seen.n, 0, "case %zu: %s", i, seen.n ? seen.shadowed[0] : "");
    }
}
