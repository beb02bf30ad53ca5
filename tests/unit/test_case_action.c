/*  case_action (issue 15): a case conference step is read as hostile
    input (size cap, canonical bytes, the fields of its verb and no other)
    and signed under its own purpose, so that the broker can forward it but
    never forge it. */
#include "case_action.h"
#include "sigdomain.h"
#include "wire.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static uint8_t s_action_id[16], s_case_id[16], s_subject[32];
static char *s_partners[3] = {"politie", "welzijn", "politie"};
static uint8_t s_item_ids[CASE_PLAN_ITEMS_MAX + 1][16];
static Hartslag__CasePlanItem s_items[CASE_PLAN_ITEMS_MAX + 1];
static Hartslag__CasePlanItem *s_item_ptrs[CASE_PLAN_ITEMS_MAX + 1];

static Hartslag__CaseAction s_action(Hartslag__CaseVerb verb)
{
    Hartslag__CaseAction a = HARTSLAG__CASE_ACTION__INIT;
    memset(s_action_id, 1, sizeof s_action_id);
    memset(s_case_id, 2, sizeof s_case_id);
    memset(s_subject, 3, sizeof s_subject);
    a.action_id = (ProtobufCBinaryData){16, s_action_id};
    a.case_id = (ProtobufCBinaryData){16, s_case_id};
    a.actor = "gemeente";
    a.actor_user = "regisseur 1";
    a.verb = verb;
    a.created_at_ms = WIRE_TIME_MIN_MS + 1000;
    a.agreements_version = 3;
    if (verb == HARTSLAG__CASE_VERB__CASE_OPEN) {
        a.kind = "casusoverleg-passart";
        a.has_subject = 1;
        a.subject = (ProtobufCBinaryData){32, s_subject};
    }
    if (verb == HARTSLAG__CASE_VERB__CASE_OPEN || verb == HARTSLAG__CASE_VERB__CASE_INVITE ||
        verb == HARTSLAG__CASE_VERB__CASE_REMOVE) {
        a.partners = s_partners;
        a.n_partners = 2;
    }
    if (verb == HARTSLAG__CASE_VERB__CASE_SCHEDULE)
        a.meeting_date = "2027-01-14";
    if (verb == HARTSLAG__CASE_VERB__CASE_CLOSE)
        a.outcome = "opgelost";
    if (verb == HARTSLAG__CASE_VERB__CASE_PLAN) {
        for (size_t i = 0; i <= CASE_PLAN_ITEMS_MAX; i++) {
            Hartslag__CasePlanItem init = HARTSLAG__CASE_PLAN_ITEM__INIT;
            memset(s_item_ids[i], (int)(0x40 + i), 16);
            s_items[i] = init;
            s_items[i].item_id = (ProtobufCBinaryData){16, s_item_ids[i]};
            s_items[i].owner = i % 2 ? "welzijn" : "politie";
            s_items[i].due_date = "2026-12-20";
            s_item_ptrs[i] = &s_items[i];
        }
        a.plan_items = s_item_ptrs;
        a.n_plan_items = 2;
    }
    if (verb == HARTSLAG__CASE_VERB__CASE_ACTION_DONE) {
        memset(s_item_ids[0], 0x40, 16);
        a.has_item_id = 1;
        a.item_id = (ProtobufCBinaryData){16, s_item_ids[0]};
    }
    return a;
}

static const char *s_why(const Hartslag__CaseAction *a)
{
    const char *why = NULL;
    return case_action_validate(a, &why) == 0 ? "ok" : why;
}

Test(case_action, every_verb_valid_as_built)
{
    for (int verb = HARTSLAG__CASE_VERB__CASE_OPEN; verb <= HARTSLAG__CASE_VERB__CASE_ACTION_DONE;
         verb++) {
        Hartslag__CaseAction a = s_action((Hartslag__CaseVerb)verb);
        cr_assert_str_eq(s_why(&a), "ok", "%s", case_verb_name(a.verb));
    }
}

Test(case_action, each_rule_has_its_reason)
{
    Hartslag__CaseAction a = s_action(HARTSLAG__CASE_VERB__CASE_OPEN);
    a.action_id.len = 15;
    cr_assert_str_eq(s_why(&a), "bad_action_id");
    a = s_action(HARTSLAG__CASE_VERB__CASE_OPEN);
    a.actor = "Gemeente!";
    cr_assert_str_eq(s_why(&a), "bad_actor");
    a = s_action(HARTSLAG__CASE_VERB__CASE_OPEN);
    a.n_partners = 3; /* politie twice */
    cr_assert_str_eq(s_why(&a), "duplicate_partner");
    a = s_action(HARTSLAG__CASE_VERB__CASE_OPEN);
    a.partners[0] = "gemeente";
    cr_assert_str_eq(s_why(&a), "partner_is_actor");
    s_partners[0] = "politie";
    a = s_action(HARTSLAG__CASE_VERB__CASE_OPEN);
    a.subject.len = 31;
    cr_assert_str_eq(s_why(&a), "bad_subject");
    a = s_action(HARTSLAG__CASE_VERB__CASE_OPEN);
    a.has_subject_scheme = 1;
    a.subject_scheme = 2;
    cr_assert_str_eq(s_why(&a), "subject_key_version_missing");
    a = s_action(HARTSLAG__CASE_VERB__CASE_INVITE);
    a.n_partners = 0;
    cr_assert_str_eq(s_why(&a), "no_partners");
    a = s_action(HARTSLAG__CASE_VERB__CASE_SCHEDULE);
    a.meeting_date = "2027-02-30";
    cr_assert_str_eq(s_why(&a), "bad_meeting_date");
    a = s_action(HARTSLAG__CASE_VERB__CASE_CLOSE);
    a.outcome = "Op gelost";
    cr_assert_str_eq(s_why(&a), "bad_outcome");
    a = s_action(HARTSLAG__CASE_VERB__CASE_CLOSE);
    a.created_at_ms = 1;
    cr_assert_str_eq(s_why(&a), "bad_created_at");
    a = s_action(HARTSLAG__CASE_VERB__CASE_OPEN);
    a.verb = (Hartslag__CaseVerb)99;
    cr_assert_str_eq(s_why(&a), "bad_verb");
}

Test(case_action, a_field_of_another_verb_is_refused)
{
    Hartslag__CaseAction a = s_action(HARTSLAG__CASE_VERB__CASE_ACCEPT);
    a.outcome = "opgelost";
    cr_assert_str_eq(s_why(&a), "unexpected_field");
    a = s_action(HARTSLAG__CASE_VERB__CASE_CLOSE);
    a.partners = s_partners;
    a.n_partners = 1;
    cr_assert_str_eq(s_why(&a), "unexpected_field");
    a = s_action(HARTSLAG__CASE_VERB__CASE_INVITE);
    a.kind = "casusoverleg-passart";
    cr_assert_str_eq(s_why(&a), "unexpected_field");
}

Test(case_action, a_plan_has_one_to_32_items_each_well_formed)
{
    Hartslag__CaseAction a = s_action(HARTSLAG__CASE_VERB__CASE_PLAN);
    a.n_plan_items = 0;
    cr_assert_str_eq(s_why(&a), "no_plan_items");
    a.n_plan_items = CASE_PLAN_ITEMS_MAX;
    cr_assert_str_eq(s_why(&a), "ok");
    a.n_plan_items = CASE_PLAN_ITEMS_MAX + 1;
    cr_assert_str_eq(s_why(&a), "too_many_plan_items");
    a = s_action(HARTSLAG__CASE_VERB__CASE_PLAN);
    s_items[1].item_id.len = 15;
    cr_assert_str_eq(s_why(&a), "bad_item_id");
    a = s_action(HARTSLAG__CASE_VERB__CASE_PLAN);
    memcpy(s_item_ids[1], s_item_ids[0], 16);
    cr_assert_str_eq(s_why(&a), "duplicate_item");
    a = s_action(HARTSLAG__CASE_VERB__CASE_PLAN);
    s_items[0].owner = "Politie Noord";
    cr_assert_str_eq(s_why(&a), "bad_owner");
    const char *bad_dates[] = {"2026-02-29", "2026-12-1", "20-12-2026", "2026-12-20x", ""};
    for (size_t i = 0; i < sizeof bad_dates / sizeof bad_dates[0]; i++) {
        a = s_action(HARTSLAG__CASE_VERB__CASE_PLAN);
        s_items[1].due_date = (char *)bad_dates[i];
        cr_assert_str_eq(s_why(&a), "bad_due_date", "%s", bad_dates[i]);
    }
    a = s_action(HARTSLAG__CASE_VERB__CASE_PLAN);
    s_items[1].due_date = "2028-02-29";
    cr_assert_str_eq(s_why(&a), "ok");
}

Test(case_action, an_action_done_names_one_item_and_nothing_else)
{
    Hartslag__CaseAction a = s_action(HARTSLAG__CASE_VERB__CASE_ACTION_DONE);
    a.has_item_id = 0;
    cr_assert_str_eq(s_why(&a), "bad_item_id");
    a = s_action(HARTSLAG__CASE_VERB__CASE_ACTION_DONE);
    a.item_id.len = 17;
    cr_assert_str_eq(s_why(&a), "bad_item_id");
    /* Plan items belong to a plan, an item id to a done action. */
    Hartslag__CaseAction plan = s_action(HARTSLAG__CASE_VERB__CASE_PLAN);
    a = s_action(HARTSLAG__CASE_VERB__CASE_ACTION_DONE);
    a.plan_items = plan.plan_items;
    a.n_plan_items = 1;
    cr_assert_str_eq(s_why(&a), "unexpected_field");
    plan.has_item_id = 1;
    plan.item_id = (ProtobufCBinaryData){16, s_item_ids[0]};
    cr_assert_str_eq(s_why(&plan), "unexpected_field");
    a = s_action(HARTSLAG__CASE_VERB__CASE_CLOSE);
    a.has_item_id = 1;
    a.item_id = (ProtobufCBinaryData){16, s_item_ids[0]};
    cr_assert_str_eq(s_why(&a), "unexpected_field");
    /* Signed and read back: the items survive the trip. */
    unsigned char pk[32], sk[64], sig[CASE_SIGBYTES];
    crypto_sign_keypair(pk, sk);
    plan = s_action(HARTSLAG__CASE_VERB__CASE_PLAN);
    uint8_t *bytes = NULL;
    size_t len = 0;
    const char *why = NULL;
    cr_assert_eq(case_action_sign(&plan, sk, &bytes, &len, sig, &why), 0, "%s", why);
    Hartslag__CaseAction *read = NULL;
    cr_assert_eq(case_action_check(bytes, len, &read, &why), 0, "%s", why);
    cr_assert_eq(read->n_plan_items, 2);
    cr_assert_str_eq(read->plan_items[1]->owner, "welzijn");
    cr_assert_str_eq(read->plan_items[1]->due_date, "2026-12-20");
    cr_assert_str_eq(case_verb_name(read->verb), "plan");
    hartslag__case_action__free_unpacked(read, NULL);
    free(bytes);
}

Test(case_action, signed_bytes_verify_and_read_back)
{
    unsigned char pk[32], sk[64], other_pk[32], other_sk[64], sig[CASE_SIGBYTES];
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(other_pk, other_sk);
    Hartslag__CaseAction a = s_action(HARTSLAG__CASE_VERB__CASE_OPEN);
    uint8_t *bytes = NULL;
    size_t len = 0;
    const char *why = NULL;
    cr_assert_eq(case_action_sign(&a, sk, &bytes, &len, sig, &why), 0, "%s", why);
    Hartslag__SignedCaseAction signed_action = HARTSLAG__SIGNED_CASE_ACTION__INIT;
    signed_action.action = (ProtobufCBinaryData){len, bytes};
    signed_action.signature = (ProtobufCBinaryData){sizeof sig, sig};
    cr_assert_eq(case_action_verify(&signed_action, pk), 0);
    cr_assert_eq(case_action_verify(&signed_action, other_pk), -1);
    Hartslag__CaseAction *read = NULL;
    cr_assert_eq(case_action_check(bytes, len, &read, &why), 0, "%s", why);
    cr_assert_str_eq(read->kind, "casusoverleg-passart");
    cr_assert_eq(read->n_partners, 2);
    hartslag__case_action__free_unpacked(read, NULL);
    /* One changed byte: the signature no longer holds. */
    bytes[len - 1] ^= 1;
    cr_assert_eq(case_action_verify(&signed_action, pk), -1);
    /* The signature is the case-action purpose's, not another's. */
    bytes[len - 1] ^= 1;
    unsigned char withdraw_sig[64];
    cr_assert_eq(sigdomain_sign(SIGDOMAIN_WITHDRAW, bytes, len, sk, withdraw_sig), 0);
    signed_action.signature.data = withdraw_sig;
    cr_assert_eq(case_action_verify(&signed_action, pk), -1);
    free(bytes);
    /* What validation refuses is never signed. */
    a.kind = NULL;
    cr_assert_eq(case_action_sign(&a, sk, &bytes, &len, sig, &why), -1);
    cr_assert_str_eq(why, "bad_kind");
}

Test(case_action, hostile_bytes_are_refused_with_a_reason)
{
    Hartslag__CaseAction a = s_action(HARTSLAG__CASE_VERB__CASE_INVITE);
    uint8_t bytes[CASE_ACTION_MAX + 16];
    size_t len = hartslag__case_action__pack(&a, bytes);
    Hartslag__CaseAction *read = NULL;
    const char *why = NULL;
    /* Non-canonical: the same field twice (the last one wins in protobuf). */
    uint8_t twice[CASE_ACTION_MAX];
    memcpy(twice, bytes, len);
    twice[len] = 0x28;     /* field 5 (verb), varint */
    twice[len + 1] = 0x02; /* invite again */
    cr_assert_eq(case_action_check(twice, len + 2, &read, &why), -1);
    cr_assert_str_eq(why, "non_canonical");
    /* An unknown field. */
    memcpy(twice, bytes, len);
    twice[len] = 0xf8; /* field 31, varint */
    twice[len + 1] = 0x01;
    twice[len + 2] = 0x01;
    cr_assert_eq(case_action_check(twice, len + 3, &read, &why), -1);
    cr_assert_str_eq(why, "unknown_field");
    cr_assert_eq(case_action_check(bytes, len - 3, &read, &why), -1);
    cr_assert_str_eq(why, "malformed");
    cr_assert_eq(case_action_check(bytes, CASE_ACTION_MAX + 1, &read, &why), -1);
    cr_assert_str_eq(why, "action_too_large");
    cr_assert_null(read);
}
