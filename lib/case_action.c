/*  case_action: reading, checking and signing case conference steps; see
    case_action.h. */
#include "case_action.h"

#include "date.h"
#include "names.h"
#include "sigdomain.h"
#include "wire.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int s_fail(const char **reason, const char *why)
{
    if (reason)
        *reason = why;
    return -1;
}

static bool s_id_ok(const ProtobufCBinaryData *id)
{
    return id->data && id->len == CASE_ID_BYTES;
}

static const char *s_partners(const Hartslag__CaseAction *a, size_t min)
{
    if (a->n_partners < min)
        return "no_partners";
    if (a->n_partners > CASE_PARTNERS_MAX)
        return "too_many_partners";
    for (size_t i = 0; i < a->n_partners; i++) {
        if (!names_is_org(a->partners[i]))
            return "bad_partner";
        if (strcmp(a->partners[i], a->actor) == 0)
            return "partner_is_actor";
        for (size_t j = 0; j < i; j++)
            if (strcmp(a->partners[i], a->partners[j]) == 0)
                return "duplicate_partner";
    }
    return NULL;
}

/* The items of a plan: 1..CASE_PLAN_ITEMS_MAX, each with its own id, an
   org as owner and a real date. Whether the owner takes part and the date
   is not before the case opened is the broker's to decide (it holds the
   case). */
static const char *s_plan_items(const Hartslag__CaseAction *a)
{
    if (a->n_plan_items == 0)
        return "no_plan_items";
    if (a->n_plan_items > CASE_PLAN_ITEMS_MAX)
        return "too_many_plan_items";
    for (size_t i = 0; i < a->n_plan_items; i++) {
        const Hartslag__CasePlanItem *item = a->plan_items[i];
        int64_t day;
        if (!item || !s_id_ok(&item->item_id))
            return "bad_item_id";
        if (!names_is_org(item->owner))
            return "bad_owner";
        if (!item->due_date || strlen(item->due_date) != 10 ||
            date_parse_cstr(item->due_date, &day) != 0)
            return "bad_due_date";
        for (size_t j = 0; j < i; j++)
            if (memcmp(a->plan_items[j]->item_id.data, item->item_id.data, CASE_ID_BYTES) == 0)
                return "duplicate_item";
    }
    return NULL;
}

/* The subject of an open, by the rules of a SignalHeader's subject. */
static const char *s_subject(const Hartslag__CaseAction *a)
{
    if (!a->has_subject || a->subject.len != WIRE_SUBJECT_BYTES || !a->subject.data)
        return "bad_subject";
    uint32_t scheme = a->has_subject_scheme ? a->subject_scheme : 1;
    if (scheme != 1 && scheme != 2)
        return "unknown_subject_scheme";
    if (scheme == 2 && (!a->has_subject_key_version || a->subject_key_version == 0))
        return "subject_key_version_missing";
    if (scheme == 1 && a->has_subject_key_version)
        return "mixed_subject_versions";
    return NULL;
}

int case_action_validate(const Hartslag__CaseAction *a, const char **reason)
{
    if (!a)
        return s_fail(reason, "malformed");
    if (!s_id_ok(&a->action_id))
        return s_fail(reason, "bad_action_id");
    if (!s_id_ok(&a->case_id))
        return s_fail(reason, "bad_case_id");
    if (!names_is_org(a->actor))
        return s_fail(reason, "bad_actor");
    if (!names_is_user(a->actor_user))
        return s_fail(reason, "bad_actor_user");
    if (a->created_at_ms < WIRE_TIME_MIN_MS || a->created_at_ms > WIRE_TIME_MAX_MS)
        return s_fail(reason, "bad_created_at");
    if (!case_verb_name(a->verb))
        return s_fail(reason, "bad_verb");
    bool opens = a->verb == HARTSLAG__CASE_VERB__CASE_OPEN;
    bool names_partners = opens || a->verb == HARTSLAG__CASE_VERB__CASE_INVITE ||
                          a->verb == HARTSLAG__CASE_VERB__CASE_REMOVE;
    /* Each verb carries its own fields and nothing else: one reading. */
    if ((!opens &&
         (a->kind || a->has_subject || a->has_subject_scheme || a->has_subject_key_version)) ||
        (!names_partners && a->n_partners > 0) ||
        (a->verb != HARTSLAG__CASE_VERB__CASE_SCHEDULE && a->meeting_date) ||
        (a->verb != HARTSLAG__CASE_VERB__CASE_CLOSE && a->outcome) ||
        (a->verb != HARTSLAG__CASE_VERB__CASE_PLAN && a->n_plan_items > 0) ||
        (a->verb != HARTSLAG__CASE_VERB__CASE_ACTION_DONE && a->has_item_id))
        return s_fail(reason, "unexpected_field");
    const char *why = NULL;
    if (opens) {
        if (!names_is_token(a->kind))
            return s_fail(reason, "bad_kind");
        if ((why = s_subject(a)) || (why = s_partners(a, 0)))
            return s_fail(reason, why);
    } else if (names_partners) {
        if ((why = s_partners(a, 1)))
            return s_fail(reason, why);
    } else if (a->verb == HARTSLAG__CASE_VERB__CASE_SCHEDULE) {
        int64_t day;
        if (date_parse_cstr(a->meeting_date, &day) != 0)
            return s_fail(reason, "bad_meeting_date");
    } else if (a->verb == HARTSLAG__CASE_VERB__CASE_CLOSE) {
        if (!names_is_token(a->outcome))
            return s_fail(reason, "bad_outcome");
    } else if (a->verb == HARTSLAG__CASE_VERB__CASE_PLAN) {
        if ((why = s_plan_items(a)))
            return s_fail(reason, why);
    } else if (a->verb == HARTSLAG__CASE_VERB__CASE_ACTION_DONE) {
        if (!a->has_item_id || !s_id_ok(&a->item_id))
            return s_fail(reason, "bad_item_id");
    }
    return 0;
}

int case_action_check(const uint8_t *bytes, size_t len, Hartslag__CaseAction **out,
                      const char **reason)
{
    if (!out || (!bytes && len > 0))
        return s_fail(reason, "malformed");
    if (len > CASE_ACTION_MAX)
        return s_fail(reason, "action_too_large");
    Hartslag__CaseAction *a = hartslag__case_action__unpack(NULL, len, bytes);
    if (!a)
        return s_fail(reason, "malformed");
    const char *why = NULL;
    if (a->base.n_unknown_fields > 0)
        why = "unknown_field";
    else {
        /* Signed as bytes, read by many: exactly one encoding. */
        uint8_t again[CASE_ACTION_MAX];
        size_t size = hartslag__case_action__get_packed_size(a);
        if (size != len || hartslag__case_action__pack(a, again) != len ||
            memcmp(again, bytes, len) != 0)
            why = "non_canonical";
    }
    if (!why && case_action_validate(a, &why) != 0 && !why)
        why = "malformed";
    if (why) {
        hartslag__case_action__free_unpacked(a, NULL);
        return s_fail(reason, why);
    }
    *out = a;
    return 0;
}

int case_action_sign(const Hartslag__CaseAction *action, const unsigned char sk[64],
                     uint8_t **bytes, size_t *len, unsigned char sig[CASE_SIGBYTES],
                     const char **reason)
{
    if (!bytes || !len || !sk || !sig)
        return s_fail(reason, "malformed");
    if (case_action_validate(action, reason) != 0)
        return -1;
    size_t size = hartslag__case_action__get_packed_size(action);
    if (size > CASE_ACTION_MAX)
        return s_fail(reason, "action_too_large");
    uint8_t *packed = malloc(size ? size : 1);
    if (!packed)
        return s_fail(reason, "out_of_memory");
    hartslag__case_action__pack(action, packed);
    if (sigdomain_sign(SIGDOMAIN_CASE_ACTION, packed, size, sk, sig) != 0) {
        free(packed);
        return s_fail(reason, "sign_failed");
    }
    *bytes = packed;
    *len = size;
    return 0;
}

int case_action_verify(const Hartslag__SignedCaseAction *signed_action, const unsigned char pk[32])
{
    if (!signed_action || !pk || !signed_action->signature.data ||
        signed_action->signature.len != CASE_SIGBYTES ||
        signed_action->action.len > CASE_ACTION_MAX ||
        (!signed_action->action.data && signed_action->action.len > 0))
        return -1;
    return sigdomain_verify(SIGDOMAIN_CASE_ACTION, signed_action->action.data,
                            signed_action->action.len, signed_action->signature.data, pk);
}

const char *case_verb_name(Hartslag__CaseVerb verb)
{
    switch (verb) {
    case HARTSLAG__CASE_VERB__CASE_OPEN:
        return "open";
    case HARTSLAG__CASE_VERB__CASE_INVITE:
        return "invite";
    case HARTSLAG__CASE_VERB__CASE_ACCEPT:
        return "accept";
    case HARTSLAG__CASE_VERB__CASE_DECLINE:
        return "decline";
    case HARTSLAG__CASE_VERB__CASE_REMOVE:
        return "remove";
    case HARTSLAG__CASE_VERB__CASE_SCHEDULE:
        return "schedule";
    case HARTSLAG__CASE_VERB__CASE_CLOSE:
        return "close";
    case HARTSLAG__CASE_VERB__CASE_PLAN:
        return "plan";
    case HARTSLAG__CASE_VERB__CASE_ACTION_DONE:
        return "action_done";
    default:
        return NULL;
    }
}

const char *case_participant_state_name(Hartslag__CaseParticipantState state)
{
    switch (state) {
    case HARTSLAG__CASE_PARTICIPANT_STATE__CASE_INVITED:
        return "invited";
    case HARTSLAG__CASE_PARTICIPANT_STATE__CASE_ACTIVE:
        return "active";
    case HARTSLAG__CASE_PARTICIPANT_STATE__CASE_DECLINED:
        return "declined";
    case HARTSLAG__CASE_PARTICIPANT_STATE__CASE_REMOVED:
        return "removed";
    default:
        return NULL;
    }
}
