/*  cases: deciding, recording and forwarding case conference steps; see
    cases.h. */
#include "cases.h"

#include "case_text.h"

#include "case_action.h"
#include "cert.h"
#include "date.h"
#include "log.h"
#include "names.h"
#include "wire.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DIGEST_BYTES 32

/* The past tense of a verb, as the audit log names the step. */
static const char *s_event(Hartslag__CaseVerb verb)
{
    switch (verb) {
    case HARTSLAG__CASE_VERB__CASE_OPEN:
        return "case_opened";
    case HARTSLAG__CASE_VERB__CASE_INVITE:
        return "case_invited";
    case HARTSLAG__CASE_VERB__CASE_ACCEPT:
        return "case_joined";
    case HARTSLAG__CASE_VERB__CASE_DECLINE:
        return "case_declined";
    case HARTSLAG__CASE_VERB__CASE_REMOVE:
        return "case_participant_removed";
    case HARTSLAG__CASE_VERB__CASE_SCHEDULE:
        return "case_scheduled";
    case HARTSLAG__CASE_VERB__CASE_CLOSE:
        return "case_closed";
    case HARTSLAG__CASE_VERB__CASE_PLAN:
        return "case_plan";
    case HARTSLAG__CASE_VERB__CASE_ACTION_DONE:
        return "case_action";
    default:
        return "case_refused";
    }
}

/* The state of `org` in a member list, or -1 when it was never invited. */
static int s_state_of(const case_member_t *members, size_t n, const char *org)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(members[i].org, org) == 0)
            return (int)members[i].state;
    return -1;
}

static bool s_takes_part(const case_member_t *members, size_t n, const char *org)
{
    return s_state_of(members, n, org) == CASE_MEMBER_ACTIVE;
}

typedef struct {
    const cases_ctx_t *ctx;
    const char *org; /* the authenticated actor */
    const Hartslag__SignedCaseAction *step;
    Hartslag__CaseAction *action;       /* NULL when unreadable */
    const agreements_case_rule_t *rule; /* the case's rule in force, or NULL */
    case_row_t row;                     /* the case (after open: as opened) */
    bool exists;
    case_member_t members[STORE_CASE_MEMBERS_MAX];
    size_t n_members;
    char owner_due[11]; /* action_done: the item's due date */
    case_verdict_t *verdict;
} step_t;

/* A record about the step; the case, kind and subject filled in. */
static void s_record_init(step_t *s, Hartslag__AuditRecord *record, const char *event)
{
    const cases_ctx_t *ctx = s->ctx;
    Hartslag__AuditRecord init = HARTSLAG__AUDIT_RECORD__INIT;
    *record = init;
    record->time_ms = (uint64_t)ctx->now_ms;
    record->event = (char *)event;
    record->actor_org = (char *)s->org;
    record->outcome = "ok";
    if (!s->action)
        return;
    record->actor_user = s->action->actor_user;
    record->has_case_id = 1;
    record->case_id = s->action->case_id;
    if (s->exists || s->action->verb == HARTSLAG__CASE_VERB__CASE_OPEN) {
        record->agreement_id = s->exists ? s->row.kind : s->action->kind;
        record->has_subject = 1;
        record->subject.data = s->exists ? s->row.subject : s->action->subject.data;
        record->subject.len = 32;
    }
    /* The records of an open say which service key made the pseudonym, as
       a signal's records do (docs/pseudonyms.md, "Rotating"). */
    if (s->action->verb == HARTSLAG__CASE_VERB__CASE_OPEN && s->action->has_subject_key_version) {
        record->has_subject_key_version = 1;
        record->subject_key_version = s->action->subject_key_version;
    }
    if (s->rule) {
        record->purpose = (char *)s->rule->purpose;
        record->legal_basis = (char *)s->rule->legal_basis;
    }
    record->has_agreements_version = 1;
    record->agreements_version = agreements_version(ctx->agreements);
    record->has_agreements_hash = 1;
    record->agreements_hash.data = (uint8_t *)agreements_hash(ctx->agreements);
    record->agreements_hash.len = AGREEMENTS_HASH_BYTES;
}

/* Refuses the step: one audited record, nothing else changes. */
static int s_refuse(step_t *s, const char *reason)
{
    case_verdict_t *v = s->verdict;
    v->ok = false;
    snprintf(v->reason, sizeof v->reason, "%s", reason);
    Hartslag__AuditRecord record;
    s_record_init(s, &record, s->action ? s_event(s->action->verb) : "case_refused");
    record.outcome = "refused";
    record.reason = v->reason;
    if (s->ctx->audit(s->ctx->arg, &record) < 0)
        return -1;
    log_event(HLOG_INFO, "case_refused", "actor", s->org, "step",
              s->action ? case_verb_name(s->action->verb) : "unreadable", "reason", v->reason,
              NULL);
    return 0;
}

static int s_refuse_partner(step_t *s, const char *why, const char *partner)
{
    char reason[96];
    snprintf(reason, sizeof reason, "%s:%s", why, partner);
    return s_refuse(s, reason);
}

/* Checks one partner an open or invite names. NULL when it may be invited. */
static const char *s_invitable(step_t *s, const char *partner)
{
    const cert_t *cert = partners_by_org(s->ctx->partners, partner);
    if (!cert || !cert_valid_at(cert, s->ctx->now_ms))
        return "unknown_partner";
    if (!agreements_case_participant(s->rule, partner, strlen(partner)))
        return "not_participant";
    int state = s_state_of(s->members, s->n_members, partner);
    if (state == CASE_MEMBER_INVITED || state == CASE_MEMBER_ACTIVE)
        return "already_participant";
    return NULL;
}

/* The rules of each verb against the case. 1 allowed, 0 refused (done), -1 error. */
static int s_decide(step_t *s)
{
    const Hartslag__CaseAction *a = s->action;
    const cases_ctx_t *ctx = s->ctx;
    Hartslag__CaseVerb verb = a->verb;
    if (verb == HARTSLAG__CASE_VERB__CASE_OPEN) {
        if (s->exists)
            return s_refuse(s, "duplicate_case_id") ? -1 : 0;
        agreements_case_reason_t why =
            agreements_case_coordinate(ctx->agreements, a->kind, s->org, NULL);
        if (why != AGREEMENTS_CASE_ALLOWED)
            return s_refuse(s, agreements_case_reason_name(why)) ? -1 : 0;
        s->rule = agreements_case_rule_lookup(ctx->agreements, a->kind, strlen(a->kind));
    } else {
        if (!s->exists)
            return s_refuse(s, "unknown_case") ? -1 : 0;
        if (s->row.closed_at_ms != 0)
            return s_refuse(s, "case_closed") ? -1 : 0;
        /* Every step but answering an invitation and marking one's own
           action done is the coordinator's. */
        bool coordinates = verb != HARTSLAG__CASE_VERB__CASE_ACCEPT &&
                           verb != HARTSLAG__CASE_VERB__CASE_DECLINE &&
                           verb != HARTSLAG__CASE_VERB__CASE_ACTION_DONE;
        if (coordinates && strcmp(s->org, s->row.coordinator) != 0)
            return s_refuse(s, "not_coordinator") ? -1 : 0;
        /* A rule taken out of the agreements ends the case's work: it can
           only be closed (with any outcome token: the list is gone too). */
        if (!s->rule && verb != HARTSLAG__CASE_VERB__CASE_CLOSE)
            return s_refuse(s, "unknown_case_kind") ? -1 : 0;
    }
    switch (verb) {
    case HARTSLAG__CASE_VERB__CASE_OPEN:
    case HARTSLAG__CASE_VERB__CASE_INVITE:
        if (s->n_members + a->n_partners > STORE_CASE_MEMBERS_MAX)
            return s_refuse(s, "too_many_participants") ? -1 : 0;
        for (size_t i = 0; i < a->n_partners; i++) {
            const char *why = s_invitable(s, a->partners[i]);
            if (why)
                return s_refuse_partner(s, why, a->partners[i]) ? -1 : 0;
        }
        break;
    case HARTSLAG__CASE_VERB__CASE_ACCEPT:
    case HARTSLAG__CASE_VERB__CASE_DECLINE:
        if (s_state_of(s->members, s->n_members, s->org) != CASE_MEMBER_INVITED)
            return s_refuse(s, "not_invited") ? -1 : 0;
        /* The rule may have changed since the invitation: joining needs
           the partner in today's rule (declining never does). */
        if (a->verb == HARTSLAG__CASE_VERB__CASE_ACCEPT &&
            !agreements_case_participant(s->rule, s->org, strlen(s->org)))
            return s_refuse(s, "not_participant") ? -1 : 0;
        break;
    case HARTSLAG__CASE_VERB__CASE_REMOVE:
        for (size_t i = 0; i < a->n_partners; i++) {
            int state = s_state_of(s->members, s->n_members, a->partners[i]);
            if (state != CASE_MEMBER_INVITED && state != CASE_MEMBER_ACTIVE)
                return s_refuse_partner(s, "not_participant", a->partners[i]) ? -1 : 0;
        }
        break;
    case HARTSLAG__CASE_VERB__CASE_PLAN: {
        /* All or nothing: every owner takes part now, no date before the
           day the case opened, every item new to the case. */
        int64_t opened_day = s->row.opened_at_ms / (24LL * 60 * 60 * 1000), n_items = 0;
        if (broker_store_case_item_count(ctx->store, a->case_id.data, &n_items) != 0)
            return -1;
        if (n_items + (int64_t)a->n_plan_items > STORE_CASE_ITEMS_MAX)
            return s_refuse(s, "too_many_items") ? -1 : 0;
        for (size_t i = 0; i < a->n_plan_items; i++) {
            const Hartslag__CasePlanItem *item = a->plan_items[i];
            int64_t due = 0;
            case_item_t held;
            if (!s_takes_part(s->members, s->n_members, item->owner))
                return s_refuse_partner(s, "owner_not_participant", item->owner) ? -1 : 0;
            if (date_parse_cstr(item->due_date, &due) != 0 || due < opened_day)
                return s_refuse_partner(s, "due_before_opening", item->due_date) ? -1 : 0;
            int found =
                broker_store_case_item_find(ctx->store, a->case_id.data, item->item_id.data, &held);
            if (found != 0)
                return found < 0 || s_refuse(s, "duplicate_item") ? -1 : 0;
        }
        break;
    }
    case HARTSLAG__CASE_VERB__CASE_ACTION_DONE: {
        /* Only the action's owner, while it takes part, and only once: a
           done action stays done (the same signed step again is a retry,
           answered by s_repeat before this). */
        case_item_t item;
        int found =
            broker_store_case_item_find(ctx->store, a->case_id.data, a->item_id.data, &item);
        if (found < 0)
            return -1;
        if (found == 0)
            return s_refuse(s, "unknown_item") ? -1 : 0;
        if (strcmp(item.owner, s->org) != 0)
            return s_refuse(s, "not_owner") ? -1 : 0;
        if (!s_takes_part(s->members, s->n_members, s->org))
            return s_refuse(s, "not_participant") ? -1 : 0;
        if (item.done_at_ms != 0)
            return s_refuse(s, "already_done") ? -1 : 0;
        snprintf(s->owner_due, sizeof s->owner_due, "%s", item.due_date);
        break;
    }
    case HARTSLAG__CASE_VERB__CASE_CLOSE:
        if (s->rule) {
            agreements_case_reason_t why =
                agreements_case_coordinate(ctx->agreements, s->row.kind, s->org, a->outcome);
            if (why != AGREEMENTS_CASE_ALLOWED)
                return s_refuse(s, agreements_case_reason_name(why)) ? -1 : 0;
        }
        break;
    default:
        break;
    }
    return 1;
}

/* Sets `org`'s state, in the store and in the member list the notices show. */
static int s_member(step_t *s, const char *org, case_member_state_t state)
{
    const uint8_t *step_id = s->action->action_id.data;
    if (broker_store_case_member_set(s->ctx->store, s->action->case_id.data, org, state,
                                     s->ctx->now_ms, step_id) != 0)
        return -1;
    case_member_t *m = NULL;
    for (size_t i = 0; i < s->n_members && !m; i++)
        if (strcmp(s->members[i].org, org) == 0)
            m = &s->members[i];
    if (!m && s->n_members < STORE_CASE_MEMBERS_MAX) {
        m = &s->members[s->n_members++];
        snprintf(m->org, sizeof m->org, "%s", org);
        memcpy(m->invited_by, step_id, STORE_CASE_ID_BYTES);
    }
    if (m) {
        m->state = state;
        m->since_ms = s->ctx->now_ms;
        memcpy(m->state_by, step_id, STORE_CASE_ID_BYTES);
        if (state == CASE_MEMBER_INVITED)
            memcpy(m->invited_by, step_id, STORE_CASE_ID_BYTES);
    }
    return 0;
}

/* One record per partner the step names (or one for the step). */
static int64_t s_audit(step_t *s, const char *counterpart)
{
    Hartslag__AuditRecord record;
    s_record_init(s, &record, s_event(s->action->verb));
    record.counterpart_org = (char *)counterpart;
    if (s->action->verb == HARTSLAG__CASE_VERB__CASE_SCHEDULE)
        record.meeting_date = s->action->meeting_date;
    if (s->action->verb == HARTSLAG__CASE_VERB__CASE_CLOSE)
        record.case_outcome = s->action->outcome;
    return s->ctx->audit(s->ctx->arg, &record);
}

/* Applies an allowed step. 0, or -1. */
static int s_apply(step_t *s)
{
    const Hartslag__CaseAction *a = s->action;
    const cases_ctx_t *ctx = s->ctx;
    const uint8_t *case_id = a->case_id.data;
    int64_t first = -1;
    switch (a->verb) {
    case HARTSLAG__CASE_VERB__CASE_OPEN:
        memset(&s->row, 0, sizeof s->row);
        snprintf(s->row.kind, sizeof s->row.kind, "%s", a->kind);
        snprintf(s->row.coordinator, sizeof s->row.coordinator, "%s", s->org);
        memcpy(s->row.subject, a->subject.data, sizeof s->row.subject);
        s->row.opened_at_ms = ctx->now_ms;
        if ((first = s_audit(s, NULL)) < 0)
            return -1;
        s->row.audit_index = first;
        s->exists = true;
        if (broker_store_case_add(ctx->store, case_id, &s->row) != 0 ||
            s_member(s, s->org, CASE_MEMBER_ACTIVE) != 0)
            return -1;
        for (size_t i = 0; i < a->n_partners; i++) {
            /* The records of an open name the invited too: case_invited. */
            Hartslag__AuditRecord record;
            s_record_init(s, &record, "case_invited");
            record.counterpart_org = a->partners[i];
            if (ctx->audit(ctx->arg, &record) < 0 ||
                s_member(s, a->partners[i], CASE_MEMBER_INVITED) != 0)
                return -1;
        }
        break;
    case HARTSLAG__CASE_VERB__CASE_INVITE:
    case HARTSLAG__CASE_VERB__CASE_REMOVE:
        for (size_t i = 0; i < a->n_partners; i++) {
            int64_t index = s_audit(s, a->partners[i]);
            if (index < 0 ||
                s_member(s, a->partners[i],
                         a->verb == HARTSLAG__CASE_VERB__CASE_INVITE ? CASE_MEMBER_INVITED
                                                                     : CASE_MEMBER_REMOVED) != 0)
                return -1;
            if (first < 0)
                first = index;
        }
        break;
    case HARTSLAG__CASE_VERB__CASE_ACCEPT:
    case HARTSLAG__CASE_VERB__CASE_DECLINE:
        if ((first = s_audit(s, s->row.coordinator)) < 0 ||
            s_member(s, s->org,
                     a->verb == HARTSLAG__CASE_VERB__CASE_ACCEPT ? CASE_MEMBER_ACTIVE
                                                                 : CASE_MEMBER_DECLINED) != 0)
            return -1;
        break;
    case HARTSLAG__CASE_VERB__CASE_SCHEDULE:
        if ((first = s_audit(s, NULL)) < 0 ||
            broker_store_case_schedule(ctx->store, case_id, a->meeting_date) != 0)
            return -1;
        break;
    case HARTSLAG__CASE_VERB__CASE_PLAN:
        /* One record per action: the coordinator gave it to its owner. */
        for (size_t i = 0; i < a->n_plan_items; i++) {
            const Hartslag__CasePlanItem *item = a->plan_items[i];
            Hartslag__AuditRecord record;
            s_record_init(s, &record, "case_plan");
            record.counterpart_org = item->owner;
            record.has_case_item = 1;
            record.case_item = item->item_id;
            record.due_date = item->due_date;
            int64_t index = ctx->audit(ctx->arg, &record);
            if (index < 0 ||
                broker_store_case_item_add(ctx->store, case_id, item->item_id.data, item->owner,
                                           item->due_date, ctx->now_ms) != 0)
                return -1;
            if (first < 0)
                first = index;
        }
        break;
    case HARTSLAG__CASE_VERB__CASE_ACTION_DONE: {
        Hartslag__AuditRecord record;
        s_record_init(s, &record, "case_action");
        record.counterpart_org = s->row.coordinator;
        record.has_case_item = 1;
        record.case_item = a->item_id;
        record.due_date = s->owner_due;
        record.case_action_state = "done";
        if ((first = ctx->audit(ctx->arg, &record)) < 0 ||
            broker_store_case_item_done(ctx->store, case_id, a->item_id.data, ctx->now_ms) != 0)
            return -1;
        break;
    }
    case HARTSLAG__CASE_VERB__CASE_CLOSE:
        if ((first = s_audit(s, NULL)) < 0 ||
            broker_store_case_close(ctx->store, case_id, a->outcome, ctx->now_ms) != 0)
            return -1;
        s->row.closed_at_ms = ctx->now_ms;
        break;
    default:
        return -1;
    }
    uint8_t digest[S_DIGEST_BYTES];
    crypto_generichash(digest, sizeof digest, s->step->action.data, s->step->action.len, NULL, 0);
    case_signed_t signed_step = {s->step->action.data, s->step->action.len,
                                 s->step->signature.data};
    if (broker_store_case_action_add(ctx->store, a->action_id.data, case_id, s->org, digest,
                                     &signed_step, ctx->now_ms, first) != 0)
        return -1;
    s->verdict->ok = true;
    s->verdict->at_ms = ctx->now_ms;
    s->verdict->audit_index = first;
    return 0;
}

/* Did this step change `org`'s state? */
static bool s_named(const Hartslag__CaseAction *a, const char *org)
{
    if (strcmp(a->actor, org) == 0)
        return true;
    for (size_t i = 0; i < a->n_partners; i++)
        if (strcmp(a->partners[i], org) == 0)
            return true;
    return false;
}

/* The CaseNotice for everyone the step concerns: who is invited or takes
   part after it, and whoever it removed or who declined. */
static int s_notify(step_t *s)
{
    const cases_ctx_t *ctx = s->ctx;
    Hartslag__CaseParticipant parts[STORE_CASE_MEMBERS_MAX];
    Hartslag__CaseParticipant *part_ptrs[STORE_CASE_MEMBERS_MAX];
    Hartslag__SignedCaseAction proofs[STORE_CASE_MEMBERS_MAX][2];
    Hartslag__SignedCaseAction *proof_ptrs[STORE_CASE_MEMBERS_MAX][2];
    int rc = 0;
    memset(proofs, 0, sizeof proofs);
    for (size_t i = 0; i < s->n_members; i++) {
        Hartslag__CaseParticipant init = HARTSLAG__CASE_PARTICIPANT__INIT;
        parts[i] = init;
        parts[i].org = s->members[i].org;
        parts[i].state = (Hartslag__CaseParticipantState)s->members[i].state;
        parts[i].since_ms = (uint64_t)s->members[i].since_ms;
        part_ptrs[i] = &parts[i];
        /* The signed steps behind the state, read back from the store. */
        const uint8_t *ids[2] = {s->members[i].invited_by, s->members[i].state_by};
        size_t n_ids = memcmp(ids[0], ids[1], STORE_CASE_ID_BYTES) == 0 ? 1 : 2;
        for (size_t k = 0; k < n_ids && rc == 0; k++) {
            Hartslag__SignedCaseAction proof_init = HARTSLAG__SIGNED_CASE_ACTION__INIT;
            proofs[i][k] = proof_init;
            int found = broker_store_case_action_bytes(
                ctx->store, ids[k], &proofs[i][k].action.data, &proofs[i][k].action.len,
                &proofs[i][k].signature.data, &proofs[i][k].signature.len);
            if (found != 1)
                rc = -1; /* a participant without its steps: the store is damaged */
            proof_ptrs[i][k] = &proofs[i][k];
        }
        parts[i].proof = proof_ptrs[i];
        parts[i].n_proof = n_ids;
    }
    Hartslag__CaseNotice notice = HARTSLAG__CASE_NOTICE__INIT;
    notice.notice_id = s->action->action_id;
    notice.action = (Hartslag__SignedCaseAction *)s->step;
    notice.at_ms = (uint64_t)ctx->now_ms;
    notice.audit_index = (uint64_t)s->verdict->audit_index;
    notice.kind = s->row.kind;
    notice.coordinator = s->row.coordinator;
    notice.closed = s->row.closed_at_ms != 0;
    notice.participants = part_ptrs;
    notice.n_participants = s->n_members;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.version = WIRE_VERSION;
    frame.body_case = HARTSLAG__FRAME__BODY_CASE_NOTICE;
    frame.case_notice = &notice;
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (rc == 0 && wire_pack_frame(&frame, &bytes, &len) != 0)
        rc = -1;
    for (size_t i = 0; i < s->n_members; i++)
        for (size_t k = 0; k < 2; k++) {
            free(proofs[i][k].action.data);
            free(proofs[i][k].signature.data);
        }
    for (size_t i = 0; i < s->n_members && rc == 0; i++) {
        const case_member_t *m = &s->members[i];
        bool concerned = m->state == CASE_MEMBER_INVITED || m->state == CASE_MEMBER_ACTIVE ||
                         s_named(s->action, m->org);
        if (!concerned)
            continue;
        rc = broker_store_notice_add(ctx->store, m->org, NOTICE_CASE, s->action->action_id.data,
                                     bytes, len);
        if (rc == 0 && ctx->notify)
            ctx->notify(ctx->arg, m->org);
    }
    free(bytes);
    return rc;
}

/* A step seen before: the same bytes from the same partner get the same
   answer (a retry after a lost reply); anything else is refused. 1 when
   it was seen (answered), 0 when new, -1 on error. */
static int s_repeat(step_t *s)
{
    uint8_t stored[S_DIGEST_BYTES], digest[S_DIGEST_BYTES];
    int64_t at_ms = 0, index = 0;
    int found = broker_store_case_action_find(s->ctx->store, s->action->action_id.data, stored,
                                              &at_ms, &index);
    if (found <= 0)
        return found;
    crypto_generichash(digest, sizeof digest, s->step->action.data, s->step->action.len, NULL, 0);
    if (sodium_memcmp(stored, digest, sizeof digest) != 0)
        return s_refuse(s, "duplicate_action_id") ? -1 : 1;
    s->verdict->ok = true;
    s->verdict->at_ms = at_ms;
    s->verdict->audit_index = index;
    return 1;
}

int cases_take(const cases_ctx_t *ctx, const char *org, const Hartslag__SignedCaseAction *step,
               case_verdict_t *verdict)
{
    memset(verdict, 0, sizeof *verdict);
    step_t s = {.ctx = ctx, .org = org, .step = step, .verdict = verdict};
    const char *why = NULL;
    if (!step || case_action_check(step->action.data, step->action.len, &s.action, &why) != 0) {
        /* Name the step in the answer when its id can still be read, so
           that the actor knows which of its steps was refused. */
        Hartslag__CaseAction *peek =
            step && step->action.len <= CASE_ACTION_MAX
                ? hartslag__case_action__unpack(NULL, step->action.len, step->action.data)
                : NULL;
        if (peek && peek->action_id.len == sizeof verdict->action_id) {
            memcpy(verdict->action_id, peek->action_id.data, sizeof verdict->action_id);
            verdict->has_action_id = true;
        }
        if (peek)
            hartslag__case_action__free_unpacked(peek, NULL);
        char reason[64];
        snprintf(reason, sizeof reason, "bad_action:%s", why ? why : "missing");
        return s_refuse(&s, reason);
    }
    memcpy(verdict->action_id, s.action->action_id.data, sizeof verdict->action_id);
    verdict->has_action_id = true;
    int rc = 0;
    const Hartslag__CaseAction *a = s.action;
    const cert_t *cert = partners_by_org(ctx->partners, org);
    if (strcmp(a->actor, org) != 0)
        rc = s_refuse(&s, "actor_mismatch");
    else if (!cert || case_action_verify(step, cert->sign_key) != 0)
        rc = s_refuse(&s, "bad_signature");
    else if ((int64_t)a->created_at_ms > ctx->now_ms + ctx->clock_skew_ms)
        rc = s_refuse(&s, "clock_skew");
    else {
        int seen = s_repeat(&s);
        if (seen != 0) {
            rc = seen < 0 ? -1 : 0;
            goto done;
        }
        /* Older than a retry could be: a replay of a step taken elsewhere
           or a backdated one. */
        if ((int64_t)a->created_at_ms < ctx->now_ms - ctx->clock_skew_ms - ctx->max_age_ms) {
            rc = s_refuse(&s, "backdated");
            goto done;
        }
        int found = broker_store_case_find(ctx->store, a->case_id.data, &s.row);
        if (found < 0) {
            rc = -1;
            goto done;
        }
        s.exists = found == 1;
        if (s.exists) {
            s.rule = agreements_case_rule_lookup(ctx->agreements, s.row.kind, strlen(s.row.kind));
            if (broker_store_case_members(ctx->store, a->case_id.data, s.members,
                                          STORE_CASE_MEMBERS_MAX, &s.n_members) != 0) {
                rc = -1;
                goto done;
            }
        }
        int allowed = s_decide(&s);
        if (allowed == 1)
            rc = s_apply(&s) == 0 && s_notify(&s) == 0 ? 0 : -1;
        else
            rc = allowed < 0 ? -1 : 0;
        if (rc == 0 && verdict->ok) {
            char hex[33];
            sodium_bin2hex(hex, sizeof hex, a->case_id.data, 16);
            log_event(HLOG_INFO, "case_step", "step", case_verb_name(a->verb), "actor", org, "case",
                      hex, NULL);
        }
    }
done:
    hartslag__case_action__free_unpacked(s.action, NULL);
    return rc;
}

int cases_share(const cases_ctx_t *ctx, const char *org, const Hartslag__SignalHeader *header,
                case_share_t *share)
{
    memset(share, 0, sizeof *share);
    case_text_kind_t text = case_text_kind(header->signal_type);
    size_t n = header->n_recipients < ENVELOPE_RECIPIENTS_MAX ? header->n_recipients
                                                              : ENVELOPE_RECIPIENTS_MAX;
    case_row_t row;
    int found = broker_store_case_find(ctx->store, header->case_id.data, &row);
    if (found < 0)
        return -1;
    const char *why = NULL;
    const char *field = NULL;
    case_member_t members[STORE_CASE_MEMBERS_MAX];
    size_t n_members = 0;
    if (found == 0)
        why = "unknown_case";
    else {
        snprintf(share->kind, sizeof share->kind, "%s", row.kind);
        share->rule = agreements_case_rule_lookup(ctx->agreements, row.kind, strlen(row.kind));
        if (broker_store_case_members(ctx->store, header->case_id.data, members,
                                      STORE_CASE_MEMBERS_MAX, &n_members) != 0)
            return -1;
        if (row.closed_at_ms != 0)
            why = "case_closed";
        else if (!share->rule)
            why = "unknown_case_kind";
        else if (!s_takes_part(members, n_members, org))
            why = "not_participant";
        else if (strcmp(header->purpose, share->rule->purpose) != 0)
            why = "wrong_purpose";
        else if (sodium_memcmp(header->subject.data, row.subject, sizeof row.subject) != 0)
            why = "subject_mismatch";
        else if ((why = case_text_shape(text, header->has_case_item,
                                        (const char *const *)header->fields, header->n_fields)))
            ;
        else if (text == CASE_TEXT_SHARE) {
            agreements_case_reason_t verdict = agreements_case_share(
                ctx->agreements, row.kind, org, (const char *const *)header->fields,
                header->n_fields, &field);
            if (verdict != AGREEMENTS_CASE_ALLOWED)
                why = agreements_case_reason_name(verdict);
        } else if ((text == CASE_TEXT_TITLE || text == CASE_TEXT_ACTION) &&
                   strcmp(org, row.coordinator) != 0)
            why = "not_coordinator";
        else if (text == CASE_TEXT_ACTION || text == CASE_TEXT_NOTE) {
            /* The text of an action the plan holds; a note only by its owner. */
            case_item_t item;
            int held = broker_store_case_item_find(ctx->store, header->case_id.data,
                                                   header->case_item.data, &item);
            if (held < 0)
                return -1;
            if (held == 0)
                why = "unknown_item";
            else if (text == CASE_TEXT_NOTE && strcmp(item.owner, org) != 0)
                why = "not_owner";
        }
    }
    share->allowed = true;
    for (size_t i = 0; i < n; i++) {
        char *out = share->recipient_reason[i];
        size_t len = sizeof share->recipient_reason[i];
        if (why && field)
            snprintf(out, len, "%s:%s", why, field);
        else if (why)
            snprintf(out, len, "%s", why);
        else if (!s_takes_part(members, n_members, header->recipients[i]))
            snprintf(out, len, "not_participant");
        else {
            snprintf(out, len, "allowed");
            continue;
        }
        share->allowed = false;
    }
    if (!share->allowed)
        snprintf(share->reason, sizeof share->reason, "case");
    return 0;
}
