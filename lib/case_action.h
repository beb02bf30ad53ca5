/*  case_action: one step in a case conference (issue 15), as its actor
    signs it and as everyone else reads it off the network.

    A CaseAction travels serialized inside a SignedCaseAction, so that the
    actor's signature (lib/sigdomain, purpose "case-action") covers exactly
    the bytes sent, and the broker forwards those bytes unchanged in every
    CaseNotice. A participant's daemon seals case content only to partners
    whose invitation (signed by the coordinator) and acceptance (signed by
    the partner) it has checked itself: a broker that claims someone joined
    cannot make anyone share with them.

    Reading is hostile-input reading, as lib/wire does for headers: the size
    is capped before protobuf-c sees the bytes, the encoding must be
    canonical, and every field is checked for the verb it belongs to.
    Reasons are short tokens, safe to log and send back.

    Pure functions; no globals. */
#ifndef HARTSLAG_CASE_ACTION_H
#define HARTSLAG_CASE_ACTION_H

#include "hartslag.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define CASE_ACTION_MAX 2048   /* a serialized CaseAction */
#define CASE_ID_BYTES 16       /* CaseAction.case_id, .action_id, SignalHeader.case_id */
#define CASE_PARTNERS_MAX 32   /* CaseAction.partners entries */
#define CASE_SIGBYTES 64       /* Ed25519 */
#define CASE_PLAN_ITEMS_MAX 32 /* CaseAction.plan_items entries */

/* Unpacks and checks a serialized CaseAction. Reasons:
     len <= CASE_ACTION_MAX ............................. action_too_large
     protobuf-c reads it, no unknown fields ............. malformed, unknown_field
     re-packing gives the same bytes .................... non_canonical
   then every rule of case_action_validate. On success *out is the action
   (free with hartslag__case_action__free_unpacked(a, NULL)). */
int case_action_check(const uint8_t *bytes, size_t len, Hartslag__CaseAction **out,
                      const char **reason) __attribute__((warn_unused_result));

/* The rules for a CaseAction's values, on what arrives and on what is
   about to be signed:
     action_id, case_id exactly 16 bytes ............... bad_action_id, bad_case_id
     actor names_is_org, actor_user names_is_user ...... bad_actor, bad_actor_user
     created_at_ms within the wire's time bounds ....... bad_created_at
     verb a known CaseVerb ............................. bad_verb
     open: kind a token, subject 32 bytes, the subject
       scheme rules of a SignalHeader .................. bad_kind, bad_subject, ...
     invite, remove: 1..CASE_PARTNERS_MAX partners ..... no_partners, too_many_partners
     open: 0..CASE_PARTNERS_MAX partners
     partners: orgs, distinct, never the actor ......... bad_partner, duplicate_partner,
                                                         partner_is_actor
     schedule: meeting_date a real YYYY-MM-DD .......... bad_meeting_date
     close: outcome a token ............................ bad_outcome
     plan: 1..CASE_PLAN_ITEMS_MAX items ................ no_plan_items, too_many_plan_items
       each: item_id 16 bytes, distinct ................ bad_item_id, duplicate_item
             owner an org, due_date a real YYYY-MM-DD .. bad_owner, bad_due_date
     action_done: item_id 16 bytes ..................... bad_item_id
     no field that the verb does not use ............... unexpected_field
   Returns 0 or -1. */
int case_action_validate(const Hartslag__CaseAction *action, const char **reason)
    __attribute__((warn_unused_result));

/* Validates, packs and signs `action` with the actor's sign key: *bytes
   (malloc'd, the caller frees) and its length, and the signature in `sig`.
   0, or -1 with the reason. */
int case_action_sign(const Hartslag__CaseAction *action, const unsigned char sk[64],
                     uint8_t **bytes, size_t *len, unsigned char sig[CASE_SIGBYTES],
                     const char **reason) __attribute__((warn_unused_result));

/* 0 when signed_action->signature is pk's case-action signature of
   signed_action->action; -1 otherwise (missing, wrong length, forged). */
int case_action_verify(const Hartslag__SignedCaseAction *signed_action, const unsigned char pk[32])
    __attribute__((warn_unused_result));

/* "open", "invite", "accept", "decline", "remove", "schedule", "close",
   "plan", "action_done"; NULL for another value. */
const char *case_verb_name(Hartslag__CaseVerb verb);

/* The participant states: "invited", "active", "declined", "removed";
   NULL for another value. */
const char *case_participant_state_name(Hartslag__CaseParticipantState state);

#endif
