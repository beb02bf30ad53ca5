/*  audit_events and suggest: the audit vocabulary and "did you mean". */
#include "audit_events.h"
#include "suggest.h"

#include <criterion/criterion.h>
#include <string.h>

Test(audit_events, every_event_has_both_languages_and_is_found)
{
    cr_assert_geq(audit_event_count(), 16);
    for (size_t i = 0; i < audit_event_count(); i++) {
        const audit_event_t *e = audit_event_at(i);
        cr_assert_eq(audit_event_find(e->name), e);
        cr_assert(strlen(e->nl) > 0 && strlen(e->en) > 0);
        cr_assert_str_neq(e->nl, e->name);
    }
    cr_assert_null(audit_event_find("acepted"));
    cr_assert_str_eq(audit_event_describe("no_such", true), "no_such");
}

Test(audit_events, reasons_are_words_not_tokens)
{
    char out[256];
    audit_reason_describe("agreement:field_not_allowed:adres", false, out, sizeof out);
    cr_assert_str_eq(out, "het gegevensveld 'adres' valt buiten de afspraak");
    audit_reason_describe("joined:welzijn", true, out, sizeof out);
    cr_assert_str_eq(out, "welzijn also signalled");
    audit_reason_describe("agreement:allowed", false, out, sizeof out);
    cr_assert_null(strstr(out, "allowed"));
    cr_assert(strstr(out, "een andere ontvanger"), "%s", out);
    cr_assert(audit_reason_is_other_recipient("agreement:allowed"));
    cr_assert_not(audit_reason_is_other_recipient("agreement:no_agreement"));
    audit_reason_describe("unjustified", false, out, sizeof out);
    cr_assert_str_eq(out, "onterecht verstuurd");
    /* Unknown: copied, cleaned. */
    audit_reason_describe("new_reason <b>", false, out, sizeof out);
    cr_assert_str_eq(out, "new_reason??b?");
    audit_reason_describe("joined:<script>", false, out, 12);
    cr_assert_eq(strlen(out), 11);
}

Test(suggest, nearest_within_a_small_distance)
{
    const char *words[] = {"accepted", "acked", "alert", "denied", "withdrawn"};
    cr_assert_str_eq(suggest_nearest("acepted", words, 5), "accepted");
    cr_assert_str_eq(suggest_nearest("accpeted", words, 5), "accepted"); /* transposition */
    cr_assert_str_eq(suggest_nearest("alret", words, 5), "alert");
    cr_assert_null(suggest_nearest("purged", words, 5));
    cr_assert_null(suggest_nearest("x", words, 5));
    cr_assert_eq(suggest_distance("kitten", "sitting"), 3);
    cr_assert_eq(suggest_distance("", "abc"), 3);
}

Test(audit_events, every_case_event_has_words_in_both_languages)
{
    /* The events of case conferences the broker writes (broker/cases.c,
       broker/broker.c) and the plan's two (proto: CASE_PLAN,
       CASE_ACTION_DONE). */
    const char *names[] = {"case_opened",
                           "case_invited",
                           "case_joined",
                           "case_declined",
                           "case_participant_removed",
                           "case_scheduled",
                           "case_shared",
                           "case_plan",
                           "case_action",
                           "case_closed",
                           "case_refused"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const audit_event_t *e = audit_event_find(names[i]);
        cr_assert_not_null(e, "%s has no words", names[i]);
        cr_assert_str_neq(e->nl, e->en, "%s", names[i]);
        cr_assert_null(strchr(e->nl, '_'), "%s: a token in the Dutch text", names[i]);
        cr_assert_null(strchr(e->en, '_'), "%s: a token in the English text", names[i]);
    }
    cr_assert(strstr(audit_event_describe("case_plan", false), "plan van aanpak"));
    cr_assert(strstr(audit_event_describe("case_action", true), "done"));
}
