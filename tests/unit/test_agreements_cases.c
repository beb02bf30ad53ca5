/*  agreements, `cases:` (issue 15): the rules for case conferences. A
    valid section loads with every value; each mistake is refused at its
    line; the questions the broker and daemons ask (may this partner share
    these fields into a case of this kind, may it coordinate, is this an
    outcome code) answer by the rule, default deny. */
#include "agreements.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define HEADER                                                                                     \
    "partnership: test-partnership\n"          /* 1 */                                             \
    "version: 3\n"                             /* 2 */                                             \
    "coordinator: gemeente\n"                  /* 3 */                                             \
    "partners:\n"                              /* 4 */                                             \
    "  - {org: gemeente, role: coordinator}\n" /* 5 */                                             \
    "  - {org: politie, role: partner}\n"      /* 6 */                                             \
    "  - {org: welzijn, role: partner}\n"      /* 7 */                                             \
    "  - {org: ggd, role: partner}\n"          /* 8 */                                             \
    "agreements:\n"                            /* 9 */                                             \
    "  - id: a1\n"                                                                                 \
    "    from: politie\n"                                                                          \
    "    to: [gemeente]\n"                                                                         \
    "    signal_types: [overlast]\n"                                                               \
    "    fields: [adres]\n"                                                                        \
    "    purpose: casusoverleg\n"                                                                  \
    "    legal_basis: \"Wpg art. 19\"\n"                                                           \
    "    valid_from: 2025-01-01\n"                                                                 \
    "    valid_until: 2027-12-31\n"                                                                \
    "    retention_days: 180\n"                                                                    \
    "    max_queue_days: 7\n" /* 20 */

/* Lines 21.. */
#define CASES                                                                                      \
    "cases:\n"                                                          /* 21 */                   \
    "  - kind: casusoverleg-passart\n"                                  /* 22 */                   \
    "    coordinator: gemeente\n"                                       /* 23 */                   \
    "    participants:\n"                                               /* 24 */                   \
    "      - {org: gemeente, fields: [adres, toelichting]}\n"           /* 25 */                   \
    "      - {org: politie, fields: [adres, datum, toelichting]}\n"     /* 26 */                   \
    "      - {org: welzijn, fields: [toelichting]}\n"                   /* 27 */                   \
    "    purpose: casusoverleg\n"                                       /* 28 */                   \
    "    legal_basis: \"Convenant Hartslag Passart art. 5\"\n"          /* 29 */                   \
    "    retention_days_after_close: 90\n"                              /* 30 */                   \
    "    max_open_days: 180\n"                                          /* 31 */                   \
    "    outcomes: [opgelost, doorverwezen, zorgtraject, geen_actie]\n" /* 32 */

static agreements_t *s_load(const char *text)
{
    agreements_errors_t *errors = NULL;
    agreements_t *a = agreements_parse(text, strlen(text), "cases.yaml", &errors);
    if (!a && errors)
        agreements_errors_print(errors, stderr);
    agreements_errors_destroy(&errors);
    cr_assert_not_null(a, "a valid file was refused");
    return a;
}

/* Asserts that `text` is refused with an error at `line` mentioning `needle`. */
static void s_refused(const char *text, uint32_t line, const char *needle)
{
    agreements_errors_t *errors = NULL;
    agreements_t *a = agreements_parse(text, strlen(text), "cases.yaml", &errors);
    cr_assert_null(a, "expected the file to be refused (%s)", needle);
    cr_assert_not_null(errors);
    for (size_t i = 0; i < agreements_errors_count(errors); i++) {
        const agreements_error_t *e = agreements_errors_at(errors, i);
        if (e->line == line && strstr(e->message, needle)) {
            agreements_errors_destroy(&errors);
            return;
        }
    }
    agreements_errors_print(errors, stderr);
    agreements_errors_destroy(&errors);
    cr_assert_fail("no error at line %u containing '%s'", line, needle);
}

Test(agreements_cases, a_case_rule_loads_with_every_value)
{
    agreements_t *a = s_load(HEADER CASES);
    cr_assert_eq(agreements_case_rule_count(a), 1);
    const agreements_case_rule_t *rule = agreements_case_rule(a, 0);
    cr_assert_str_eq(rule->kind, "casusoverleg-passart");
    cr_assert_str_eq(rule->coordinator, "gemeente");
    cr_assert_eq(rule->participant_count, 3);
    cr_assert_str_eq(rule->participants[1].org, "politie");
    cr_assert_eq(rule->participants[1].field_count, 3);
    cr_assert_str_eq(rule->participants[1].fields[1], "datum");
    cr_assert_str_eq(rule->purpose, "casusoverleg");
    cr_assert_str_eq(rule->legal_basis, "Convenant Hartslag Passart art. 5");
    cr_assert_eq(rule->retention_days_after_close, 90);
    cr_assert_eq(rule->max_open_days, 180);
    cr_assert_eq(rule->outcome_count, 4);
    cr_assert_str_eq(rule->outcomes[3], "geen_actie");
    cr_assert_eq(rule->line, 22);
    cr_assert_eq(agreements_case_rule_lookup(a, "casusoverleg-passart", 20), rule);
    cr_assert_null(agreements_case_rule_lookup(a, "casusoverleg", 12));
    cr_assert_null(agreements_case_rule(a, 1));
    agreements_destroy(&a);

    a = s_load(HEADER);
    cr_assert_eq(agreements_case_rule_count(a), 0, "the section is optional");
    cr_assert_eq(agreements_case_coordinate(a, "casusoverleg-passart", "gemeente", NULL),
                 AGREEMENTS_CASE_UNKNOWN_KIND, "no rule: no case conference at all");
    agreements_destroy(&a);
}

Test(agreements_cases, shares_are_decided_by_the_participants_fields_all_or_nothing)
{
    agreements_t *a = s_load(HEADER CASES);
    const char *field = "x";
    const char *ok[] = {"adres", "toelichting"};
    cr_assert_eq(agreements_case_share(a, "casusoverleg-passart", "politie", ok, 2, &field),
                 AGREEMENTS_CASE_ALLOWED);
    cr_assert_null(field);
    const char *one_too_many[] = {"toelichting", "adres"};
    cr_assert_eq(
        agreements_case_share(a, "casusoverleg-passart", "welzijn", one_too_many, 2, &field),
        AGREEMENTS_CASE_FIELD_NOT_ALLOWED);
    cr_assert_str_eq(field, "adres", "the first field outside the list is named");
    cr_assert_eq(agreements_case_share(a, "casusoverleg-passart", "ggd", ok, 1, NULL),
                 AGREEMENTS_CASE_NOT_PARTICIPANT, "a partner the rule does not list");
    cr_assert_eq(agreements_case_share(a, "casusoverleg-passart", "onbekend", ok, 1, NULL),
                 AGREEMENTS_CASE_NOT_PARTICIPANT);
    cr_assert_eq(agreements_case_share(a, "zorgoverleg", "politie", ok, 1, NULL),
                 AGREEMENTS_CASE_UNKNOWN_KIND);
    cr_assert_str_eq(agreements_case_reason_name(AGREEMENTS_CASE_FIELD_NOT_ALLOWED),
                     "field_not_allowed");
    cr_assert_str_eq(agreements_case_reason_name(AGREEMENTS_CASE_NOT_PARTICIPANT),
                     "not_a_participant");
    const agreements_case_rule_t *rule = agreements_case_rule(a, 0);
    cr_assert_null(agreements_case_participant(rule, "ggd", 3));
    cr_assert_str_eq(agreements_case_participant(rule, "welzijnX", 7)->org, "welzijn",
                     "names are (pointer, length)");
    agreements_destroy(&a);
}

Test(agreements_cases, only_the_coordinator_coordinates_and_outcomes_come_from_the_list)
{
    agreements_t *a = s_load(HEADER CASES);
    cr_assert_eq(agreements_case_coordinate(a, "casusoverleg-passart", "gemeente", NULL),
                 AGREEMENTS_CASE_ALLOWED);
    cr_assert_eq(agreements_case_coordinate(a, "casusoverleg-passart", "politie", NULL),
                 AGREEMENTS_CASE_NOT_COORDINATOR);
    cr_assert_eq(agreements_case_coordinate(a, "casusoverleg-passart", "gemeente", "opgelost"),
                 AGREEMENTS_CASE_ALLOWED);
    cr_assert_eq(agreements_case_coordinate(a, "casusoverleg-passart", "gemeente", "verhuisd"),
                 AGREEMENTS_CASE_UNKNOWN_OUTCOME);
    cr_assert_eq(agreements_case_coordinate(a, "casusoverleg-passart", "politie", "opgelost"),
                 AGREEMENTS_CASE_NOT_COORDINATOR, "the role is checked before the outcome");
    agreements_destroy(&a);
}

/* CASES with line `n` (22..32) replaced by `line`. */
static char *s_with(int n, const char *line)
{
    const char *cases = CASES;
    const char *p = cases;
    for (int k = 21; k < n; k++)
        p = strchr(p, '\n') + 1;
    const char *end = strchr(p, '\n') + 1;
    size_t len = strlen(HEADER) + (size_t)(p - cases) + strlen(line) + strlen(end) + 1;
    char *text = malloc(len);
    cr_assert_not_null(text);
    snprintf(text, len, "%s%.*s%s%s", HEADER, (int)(p - cases), cases, line, end);
    return text;
}

static void s_refused_with(int n, const char *line, uint32_t at, const char *needle)
{
    char *text = s_with(n, line);
    s_refused(text, at, needle);
    free(text);
}

Test(agreements_cases, every_mistake_is_refused_at_its_line)
{
    s_refused_with(23, "    coordinator: politie\n", 23, "does not have role coordinator");
    s_refused_with(23, "    coordinator: gemente\n", 23, "did you mean 'gemeente'");
    s_refused_with(25, "      - {org: ggd, fields: [adres]}\n", 25,
                   "the coordinator 'gemeente' must be a participant");
    s_refused_with(26, "      - {org: gemeente, fields: [datum]}\n", 26,
                   "participant 'gemeente' is listed twice");
    s_refused_with(26, "      - {org: politie, fields: []}\n", 26, "fields");
    s_refused_with(26, "      - {org: politie, fields: [adres, adres]}\n", 26, "duplicate");
    s_refused_with(26, "      - {org: politie, fields: [Adres]}\n", 26, "not a valid name");
    s_refused_with(27, "      - {org: welzijn, fields: [x], colour: red}\n", 27,
                   "unknown key 'colour'");
    s_refused_with(30, "    retention_days_after_close: 0\n", 30, "retention_days_after_close");
    s_refused_with(31, "    max_open_days: 4000\n", 31, "max_open_days");
    s_refused_with(32, "    outcomes: []\n", 32, "outcomes");
    s_refused_with(32, "    outcomes: [opgelost, opgelost]\n", 32, "duplicate");
    s_refused_with(29, "    legal_basis: \"\"\n", 29, "legal_basis");
    s_refused_with(28, "    colour: blue\n", 22, "purpose");
    /* a kind twice */
    const char *twice = HEADER CASES "  - kind: casusoverleg-passart\n"
                                     "    coordinator: gemeente\n"
                                     "    participants:\n"
                                     "      - {org: gemeente, fields: [adres]}\n"
                                     "      - {org: politie, fields: [adres]}\n"
                                     "    purpose: casusoverleg\n"
                                     "    legal_basis: \"x\"\n"
                                     "    retention_days_after_close: 9\n"
                                     "    max_open_days: 9\n"
                                     "    outcomes: [opgelost]\n";
    s_refused(twice, 33, "duplicate case kind 'casusoverleg-passart'");
    /* one participant is no conference */
    const char *alone = HEADER "cases:\n"
                               "  - kind: alleen\n"
                               "    coordinator: gemeente\n"
                               "    participants:\n"
                               "      - {org: gemeente, fields: [adres]}\n" /* 25 */
                               "    purpose: casusoverleg\n"
                               "    legal_basis: \"x\"\n"
                               "    retention_days_after_close: 9\n"
                               "    max_open_days: 9\n"
                               "    outcomes: [opgelost]\n";
    s_refused(alone, 25, "at least two participants");
}
