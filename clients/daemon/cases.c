/*  cases: this daemon's part in case conferences (issue 15).

    Steps. A `case` control request (open, invite, accept, decline, remove,
    schedule, close) becomes a CaseAction signed with our sign key and sent
    in a CaseRequest; the request is answered once the broker's CaseResult
    came, "ok" only when the broker recorded the step, so that `hartslag
    case` never reports a step it has not seen taken.

    Notices. A CaseNotice is believed only as far as signatures carry it:
    the step is checked against its actor's certificate, and every
    participant's state against the signed steps in its proof (the
    coordinator's invitation, the partner's own answer, the coordinator's
    removal), the coordinator against the case's rule in our agreements. A
    notice that fails any check is refused whole (acked as rejected, with
    the reason) and nothing of it is kept. What passes is stored
    (store_case.h), audited locally, handed to the hook and the watchers,
    and acked.

    Elsewhere: an open about a subject identifier waits for its pseudonym
    in case_open.c; what is said in a case is case_texts.c; the case's own
    rows go after retention_days_after_close in case_purge.c. */
#include "case_action.h"
#include "daemon_internal.h"
#include "dlog.h"
#include "names.h"
#include "store_case.h"
#include "store_case_text.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CASES_WAIT_MS 15000 /* the broker's verdict on a step */

static void s_ack(daemon_t *self, ProtobufCBinaryData id, bool stored, const char *reason)
{
    Hartslag__DeliveryAck ack = HARTSLAG__DELIVERY_ACK__INIT;
    ack.signal_id = id;
    ack.status = stored ? HARTSLAG__ACK_STATUS__ACK_STORED : HARTSLAG__ACK_STATUS__ACK_REJECTED;
    ack.reason = stored ? NULL : (char *)reason;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_DELIVERY_ACK;
    frame.delivery_ack = &ack;
    (void)link_send(self, &frame);
}

/* ---- notices */

/* Reads and checks one signed step of case `case_id`: NULL and *out, or
   the reason it fails. */
static const char *s_step(daemon_t *self, const Hartslag__SignedCaseAction *signed_step,
                          const uint8_t case_id[CASE_ID_BYTES], Hartslag__CaseAction **out)
{
    const char *why = NULL;
    *out = NULL;
    if (!signed_step ||
        case_action_check(signed_step->action.data, signed_step->action.len, out, &why) != 0)
        return "bad_step";
    const cert_t *cert = partners_by_org(self->partners, (*out)->actor);
    const char *reason = NULL;
    if (memcmp((*out)->case_id.data, case_id, CASE_ID_BYTES) != 0)
        reason = "other_case";
    else if (!cert)
        reason = "unknown_actor";
    else if (case_action_verify(signed_step, cert->sign_key) != 0)
        reason = "bad_signature";
    if (reason) {
        hartslag__case_action__free_unpacked(*out, NULL);
        *out = NULL;
    }
    return reason;
}

static bool s_names(const Hartslag__CaseAction *step, const char *org)
{
    for (size_t i = 0; i < step->n_partners; i++)
        if (strcmp(step->partners[i], org) == 0)
            return true;
    return false;
}

/* Checks one participant's state against its proof. NULL when it holds;
   the coordinator's open step is handed out in *open (the caller frees). */
static const char *s_participant(daemon_t *self, const Hartslag__CaseParticipant *part,
                                 const char *coordinator, const uint8_t case_id[CASE_ID_BYTES],
                                 Hartslag__CaseAction **open)
{
    if (!names_is_org(part->org) || part->n_proof < 1 || part->n_proof > 2)
        return "bad_proof";
    Hartslag__CaseAction *first = NULL, *second = NULL;
    const char *why = s_step(self, part->proof[0], case_id, &first);
    if (why)
        return why;
    bool own = strcmp(part->org, coordinator) == 0;
    Hartslag__CaseParticipantState expected = HARTSLAG__CASE_PARTICIPANT_STATE__CASE_INVITED;
    if (strcmp(first->actor, coordinator) != 0)
        why = "bad_proof";
    else if (own && first->verb == HARTSLAG__CASE_VERB__CASE_OPEN)
        expected = HARTSLAG__CASE_PARTICIPANT_STATE__CASE_ACTIVE;
    else if (own ||
             (first->verb != HARTSLAG__CASE_VERB__CASE_OPEN &&
              first->verb != HARTSLAG__CASE_VERB__CASE_INVITE) ||
             !s_names(first, part->org))
        why = "bad_proof";
    if (!why && part->n_proof == 2) {
        why = s_step(self, part->proof[1], case_id, &second);
        if (!why) {
            bool by_self = strcmp(second->actor, part->org) == 0;
            if (own)
                why = "bad_proof"; /* the coordinator takes part from its open on */
            else if (second->verb == HARTSLAG__CASE_VERB__CASE_ACCEPT && by_self)
                expected = HARTSLAG__CASE_PARTICIPANT_STATE__CASE_ACTIVE;
            else if (second->verb == HARTSLAG__CASE_VERB__CASE_DECLINE && by_self)
                expected = HARTSLAG__CASE_PARTICIPANT_STATE__CASE_DECLINED;
            else if (second->verb == HARTSLAG__CASE_VERB__CASE_REMOVE &&
                     strcmp(second->actor, coordinator) == 0 && s_names(second, part->org))
                expected = HARTSLAG__CASE_PARTICIPANT_STATE__CASE_REMOVED;
            else
                why = "bad_proof";
        }
    }
    if (!why && part->state != expected)
        why = "state_not_proven";
    if (!why && own && first->verb == HARTSLAG__CASE_VERB__CASE_OPEN) {
        *open = first;
        first = NULL;
    }
    if (first)
        hartslag__case_action__free_unpacked(first, NULL);
    if (second)
        hartslag__case_action__free_unpacked(second, NULL);
    return why;
}

/* The step's own values as a JSON object (partners, meeting_date, outcome). */
static void s_detail(const Hartslag__CaseAction *step, strbuf_t *out)
{
    strbuf_puts(out, "{\"partners\":[");
    for (size_t i = 0; i < step->n_partners; i++) {
        strbuf_puts(out, i ? "," : "");
        strbuf_json_string(out, step->partners[i]);
    }
    strbuf_puts(out, "],\"meeting_date\":");
    strbuf_json_string(out, step->meeting_date);
    strbuf_puts(out, ",\"outcome\":");
    strbuf_json_string(out, step->outcome);
    strbuf_puts(out, ",\"actions\":[");
    for (size_t i = 0; i < step->n_plan_items; i++) {
        const Hartslag__CasePlanItem *item = step->plan_items[i];
        char id[STORE_ID_HEX];
        daemon_id_hex(item->item_id.data, item->item_id.len, id);
        strbuf_puts(out, i ? ",{\"item\":" : "{\"item\":");
        strbuf_json_string(out, id);
        strbuf_puts(out, ",\"owner\":");
        strbuf_json_string(out, item->owner);
        strbuf_puts(out, ",\"due_date\":");
        strbuf_json_string(out, item->due_date);
        strbuf_puts(out, "}");
    }
    strbuf_puts(out, "],\"item\":");
    if (step->has_item_id) {
        char id[STORE_ID_HEX];
        daemon_id_hex(step->item_id.data, step->item_id.len, id);
        strbuf_json_string(out, id);
    } else
        strbuf_puts(out, "null");
    strbuf_puts(out, "}");
}

/* What the step means, for the watchers' text line. */
static void s_line(const Hartslag__CaseAction *step, const char *case_id, strbuf_t *out)
{
    strbuf_printf(out, "CASE %s  %s by %s", case_id, case_verb_name(step->verb), step->actor);
    for (size_t i = 0; i < step->n_partners; i++)
        strbuf_printf(out, "%s%s", i ? ", " : ": ", step->partners[i]);
    if (step->meeting_date)
        strbuf_printf(out, "  meeting %s", step->meeting_date);
    if (step->outcome)
        strbuf_printf(out, "  outcome %s", step->outcome);
    for (size_t i = 0; i < step->n_plan_items; i++) {
        char id[STORE_ID_HEX];
        daemon_id_hex(step->plan_items[i]->item_id.data, step->plan_items[i]->item_id.len, id);
        strbuf_printf(out, "%saction %s for %s by %s", i ? ", " : "  ", id,
                      step->plan_items[i]->owner, step->plan_items[i]->due_date);
    }
    if (step->has_item_id) {
        char id[STORE_ID_HEX];
        daemon_id_hex(step->item_id.data, step->item_id.len, id);
        strbuf_printf(out, "  action %s done", id);
    }
}

void cases_notice(daemon_t *self, const Hartslag__CaseNotice *notice)
{
    if (notice->notice_id.len != CASE_ID_BYTES || !notice->action || notice->n_participants > 64 ||
        !names_is_token(notice->kind) || !names_is_org(notice->coordinator)) {
        dlog(DLOG_WARN, "event=case_notice_refused reason=malformed");
        if (notice->notice_id.len == CASE_ID_BYTES)
            s_ack(self, notice->notice_id, false, "malformed");
        return;
    }
    /* The step's own case id names the case every proof must be about. */
    Hartslag__CaseAction *peek = NULL;
    const char *why = NULL;
    if (case_action_check(notice->action->action.data, notice->action->action.len, &peek, &why) !=
        0) {
        dlog(DLOG_WARN, "event=case_notice_refused reason=bad_step");
        s_ack(self, notice->notice_id, false, "bad_step");
        return;
    }
    uint8_t case_id[CASE_ID_BYTES];
    memcpy(case_id, peek->case_id.data, CASE_ID_BYTES);
    hartslag__case_action__free_unpacked(peek, NULL);
    char case_hex[STORE_ID_HEX];
    daemon_id_hex(case_id, CASE_ID_BYTES, case_hex);

    Hartslag__CaseAction *step = NULL, *open = NULL;
    why = s_step(self, notice->action, case_id, &step);
    const agreements_case_rule_t *rule =
        agreements_case_rule_lookup(self->agreements, notice->kind, strlen(notice->kind));
    if (!why && (!rule || strcmp(rule->coordinator, notice->coordinator) != 0))
        why = rule ? "not_coordinator" : "unknown_case_kind";
    strbuf_t participants = {0}, json = {0}, line = {0}, detail = {0};
    strbuf_puts(&participants, "[");
    bool listed_self = false;
    for (size_t i = 0; !why && i < notice->n_participants; i++) {
        const Hartslag__CaseParticipant *part = notice->participants[i];
        why = s_participant(self, part, notice->coordinator, case_id, &open);
        if (why)
            break;
        listed_self = listed_self || strcmp(part->org, self->settings.org) == 0;
        strbuf_puts(&participants, i ? ",{\"org\":" : "{\"org\":");
        strbuf_json_string(&participants, part->org);
        strbuf_puts(&participants, ",\"state\":");
        strbuf_json_string(&participants, case_participant_state_name(part->state));
        strbuf_printf(&participants, ",\"since_ms\":%llu}", (unsigned long long)part->since_ms);
    }
    strbuf_puts(&participants, "]");
    if (!why && !open)
        why = "no_open_step"; /* the coordinator's proof is the open: kind and subject */
    else if (!why && (strcmp(open->kind, notice->kind) != 0 || !listed_self))
        why = listed_self ? "other_kind" : "not_concerned";
    if (why) {
        char reason[80];
        snprintf(reason, sizeof reason, "%s", why);
        dlog(DLOG_WARN, "event=case_notice_refused case=%s reason=%s", case_hex, reason);
        s_ack(self, notice->notice_id, false, reason);
        goto done;
    }
    char subject[65], action_hex[STORE_ID_HEX];
    sodium_bin2hex(subject, sizeof subject, open->subject.data, 32);
    daemon_id_hex(step->action_id.data, CASE_ID_BYTES, action_hex);
    s_detail(step, &detail);
    const char *verb = case_verb_name(step->verb);
    strbuf_puts(&json, "{\"kind\":\"case\",\"case_id\":");
    strbuf_json_string(&json, case_hex);
    strbuf_puts(&json, ",\"step\":");
    strbuf_json_string(&json, verb);
    strbuf_puts(&json, ",\"actor\":");
    strbuf_json_string(&json, step->actor);
    strbuf_puts(&json, ",\"case_kind\":");
    strbuf_json_string(&json, notice->kind);
    strbuf_puts(&json, ",\"coordinator\":");
    strbuf_json_string(&json, notice->coordinator);
    strbuf_printf(&json, ",\"closed\":%s,\"at_ms\":%llu,\"detail\":%s,\"participants\":%s}",
                  notice->closed ? "true" : "false", (unsigned long long)notice->at_ms,
                  strbuf_text(&detail), strbuf_text(&participants));
    s_line(step, case_hex, &line);
    store_case_t row = {
        .case_id = case_hex,
        .kind = notice->kind,
        .coordinator = notice->coordinator,
        .subject = subject,
        .closed = notice->closed,
        .outcome = step->verb == HARTSLAG__CASE_VERB__CASE_CLOSE ? step->outcome : NULL,
        .meeting_date =
            step->verb == HARTSLAG__CASE_VERB__CASE_SCHEDULE ? step->meeting_date : NULL,
        .opened_ms = open->created_at_ms,
        .updated_ms = notice->at_ms,
        .participants = strbuf_text(&participants),
    };
    store_case_step_t stored_step = {
        .action_id = action_hex,
        .case_id = case_hex,
        .verb = verb,
        .actor = step->actor,
        .actor_user = step->actor_user,
        .at_ms = notice->at_ms,
        .audit_index = notice->audit_index,
        .detail = strbuf_text(&detail),
    };
    /* The case closed, or we were removed or left: what was shared in it
       is kept retention_days_after_close from now at the latest, then the
       inbox's purge removes it (audited, a `purged` hook event). */
    bool left = false;
    for (size_t i = 0; i < notice->n_participants; i++) {
        const Hartslag__CaseParticipant *part = notice->participants[i];
        if (strcmp(part->org, self->settings.org) == 0)
            left = part->state == HARTSLAG__CASE_PARTICIPANT_STATE__CASE_REMOVED ||
                   part->state == HARTSLAG__CASE_PARTICIPANT_STATE__CASE_DECLINED;
    }
    uint64_t until_ms =
        notice->closed || left
            ? daemon_now_ms() + (uint64_t)rule->retention_days_after_close * 24ull * 60 * 60 * 1000
            : 0;
    /* The case's own rows follow at the same time (case_purge.c). */
    row.purge_after_ms = until_ms;
    /* A purged case stays purged: a notice no newer than the last step we
       held (sent again) is acknowledged and not kept; a newer one (invited
       again after we left) makes the case ours again. Broker time against
       broker time: our clock does not enter into it. */
    uint64_t purged_ms = 0, last_step_ms = 0;
    int gone = store_case_gone(self->store, case_hex, &purged_ms, &last_step_ms);
    if (gone == 1 && notice->at_ms <= last_step_ms) {
        dlog(DLOG_INFO, "event=case_notice_ignored case=%s reason=purged", case_hex);
        s_ack(self, notice->notice_id, true, NULL);
        goto done;
    }
    char event[40];
    snprintf(event, sizeof event, "case_%s", verb);
    store_audit_t audit = {.event = event,
                           .signal_id = case_hex,
                           .counterpart = step->actor,
                           .actor_user = step->actor_user,
                           .purpose = rule->purpose};
    if (!strbuf_ok(&participants) || !strbuf_ok(&json) || !strbuf_ok(&detail) || gone < 0 ||
        store_begin(self->store) != 0 ||
        (gone == 1 && store_case_ungone(self->store, case_hex) != 0) ||
        store_case_put(self->store, &row) != 0 ||
        store_case_step_add(self->store, &stored_step) != 0 ||
        (until_ms && store_case_retain_until(self->store, case_hex, until_ms) != 0) ||
        store_audit(self->store, &audit) != 0 ||
        (self->hook && store_hook_event_add(self->store, case_hex, "case", strbuf_text(&json))) ||
        store_commit(self->store) != 0) {
        store_rollback(self->store);
        dlog(DLOG_ERROR, "event=store_failed op=case_notice case=%s", case_hex);
        daemon_set_error(self,
                         "database error: a step in case %s could not be stored; it will be "
                         "asked for again",
                         case_hex);
        inbound_notice_lost(self);
        goto done;
    }
    s_ack(self, notice->notice_id, true, NULL);
    dlog(DLOG_INFO, "event=case_step case=%s step=%s actor=%s", case_hex, verb, step->actor);
    if (strcmp(step->actor, self->settings.org) == 0)
        case_texts_settle(self, case_hex, action_hex, true);
    else if (step->verb == HARTSLAG__CASE_VERB__CASE_ACCEPT &&
             strcmp(notice->coordinator, self->settings.org) == 0 && !notice->closed)
        case_texts_joined(self, case_hex, step->actor);
    if (strbuf_ok(&line))
        control_notify(self, strbuf_text(&json), strbuf_text(&line));
    self->next_hook_check_ms = 0;
done:
    if (step)
        hartslag__case_action__free_unpacked(step, NULL);
    if (open)
        hartslag__case_action__free_unpacked(open, NULL);
    strbuf_wipe(&participants);
    strbuf_wipe(&json);
    strbuf_wipe(&line);
    strbuf_wipe(&detail);
}

/* ---- steps */

void cases_answer(daemon_t *self, waiter_t *w, const Hartslag__CaseResult *result)
{
    char message[400];
    if (!result) {
        snprintf(message, sizeof message,
                 "no answer from the broker about the %s step in case %s: it was sent, but it is "
                 "not known whether the broker recorded it; check 'hartslag case show %s' and "
                 "'hartslag status', then try again",
                 w->verb, w->case_id, w->case_id);
        control_error(self, w->routing, "no_verdict", message);
    } else if (result->ok) {
        char index[24];
        snprintf(index, sizeof index, "%llu", (unsigned long long)result->audit_index);
        const char *frames[] = {"ok", w->case_id, w->verb, index};
        (void)control_answer(self, w->routing, frames, 4);
    } else {
        snprintf(message, sizeof message, "the broker refused the %s step in case %s (%s)", w->verb,
                 w->case_id, result->reason ? result->reason : "no reason given");
        const char *frames[] = {"error", "refused", message, result->reason ? result->reason : ""};
        (void)control_answer(self, w->routing, frames, 4);
    }
    zframe_destroy(&w->routing);
}

void cases_result(daemon_t *self, const Hartslag__CaseResult *result)
{
    char id[STORE_ID_HEX];
    daemon_id_hex(result->action_id.data, result->action_id.len, id);
    if (!id[0] || (!result->ok && (!result->reason || !names_is_text(result->reason, 96)))) {
        dlog(DLOG_WARN, "event=frame_refused reason=bad_case_result");
        return;
    }
    if (result->ok)
        dlog(DLOG_INFO, "event=case_step_confirmed step_id=%s", id);
    else
        dlog(DLOG_WARN, "event=case_step_refused step_id=%s reason=%s", id, result->reason);
    /* The step's texts go out once it was recorded, and never when it was
       refused (case_texts.c); without a waiter the notice settles them. */
    if (!result->ok)
        case_texts_settle(self, NULL, id, false);
    for (size_t i = 0; i < DAEMON_WAITERS_MAX; i++) {
        waiter_t *w = &self->waiters[i];
        if (w->routing && w->kind == WAIT_CASE && strcmp(w->signal_id, id) == 0) {
            if (result->ok)
                case_texts_settle(self, w->case_id, id, true);
            cases_answer(self, w, result);
        }
    }
}

/* A new 16-byte id: creation ms (6, big-endian) and 10 random bytes, as
   signal ids are made. */
static void s_new_id(uint8_t id[CASE_ID_BYTES])
{
    uint64_t now = daemon_now_ms();
    for (int i = 0; i < 6; i++)
        id[i] = (uint8_t)(now >> (8 * (5 - i)));
    randombytes_buf(id + 6, CASE_ID_BYTES - 6);
}

/* Splits a comma-separated list of orgs into `out` (pointers into `buf`). */
static size_t s_split(char *buf, char **out, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *org = strtok_r(buf, ",", &save); org && n < max;
         org = strtok_r(NULL, ",", &save))
        out[n++] = org;
    return n;
}

typedef struct {
    daemon_t *self;
    zframe_t *routing;
    size_t count;
    bool failed;
} case_list_t;

static int s_list_one(void *arg, const char *json)
{
    case_list_t *ctx = arg;
    const char *frames[] = {"item", json};
    ctx->count++;
    if (control_answer(ctx->self, ctx->routing, frames, 2) != 0) {
        ctx->failed = true;
        return -1;
    }
    return 0;
}

static void s_list(daemon_t *self, const request_t *req)
{
    const char *open_only = control_opt(req, "open");
    case_list_t ctx = {self, req->routing, 0, false};
    int rc =
        store_case_each(self->store, open_only && strcmp(open_only, "yes") == 0, s_list_one, &ctx);
    if (ctx.failed)
        return;
    if (rc != 0) {
        control_error(self, req->routing, "internal", "cannot read the cases database");
        return;
    }
    char count[24];
    snprintf(count, sizeof count, "%zu", ctx.count);
    const char *frames[] = {"ok", count};
    (void)control_answer(self, req->routing, frames, 2);
}

static bool s_hex_id(const char *hex, uint8_t id[CASE_ID_BYTES])
{
    return hex && strlen(hex) == 32 &&
           sodium_hex2bin(id, CASE_ID_BYTES, hex, 32, NULL, NULL, NULL) == 0;
}

static void s_show(daemon_t *self, const request_t *req)
{
    const char *id = control_opt(req, "id");
    uint8_t bin[CASE_ID_BYTES];
    if (!s_hex_id(id, bin)) {
        control_error(self, req->routing, "usage", "give the case id: 32 hex digits");
        return;
    }
    char *json = NULL;
    int found = store_case_json(self->store, id, &json);
    uint64_t purged_ms = 0, last_step_ms = 0;
    if (found == 0 && store_case_gone(self->store, id, &purged_ms, &last_step_ms) == 1) {
        char message[300], when[40];
        time_t secs = (time_t)(purged_ms / 1000);
        struct tm tm;
        if (!localtime_r(&secs, &tm) || strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm) == 0)
            snprintf(when, sizeof when, "%llu ms", (unsigned long long)purged_ms);
        snprintf(message, sizeof message,
                 "case %s was purged from this organisation's store on %s, after its retention "
                 "(retention_days_after_close in agreements.yaml); nothing of it is held any more",
                 id, when);
        control_error(self, req->routing, "purged", message);
        return;
    }
    if (found <= 0) {
        char message[200];
        snprintf(message, sizeof message,
                 found < 0 ? "cannot read the cases database"
                           : "case %s is not among this organisation's cases (see 'hartslag "
                             "case list')",
                 id);
        control_error(self, req->routing, found < 0 ? "internal" : "not_found", message);
        return;
    }
    /* What was said in the case, ours and received: "said" (content, for
       this organisation's own eyes; it never leaves the daemon otherwise). */
    char *said = NULL, *lines = NULL;
    strbuf_t out = {0};
    if (store_case_text_json(self->store, id, self->settings.org, &said) == 0 &&
        store_case_text_lines(self->store, id, self->settings.org, &lines) == 0) {
        size_t len = strlen(json);
        strbuf_printf(&out, "%.*s,\"said\":%s}", (int)(len ? len - 1 : 0), json, said);
    }
    if (!said || !lines || !strbuf_ok(&out)) {
        control_error(self, req->routing, "internal", "cannot read what was said in the case");
    } else {
        const char *frames[] = {"ok", strbuf_text(&out), lines};
        (void)control_answer(self, req->routing, frames, 3);
    }
    char *copies[] = {said, lines};
    for (size_t i = 0; i < 2; i++)
        if (copies[i]) {
            sodium_memzero(copies[i], strlen(copies[i]));
            free(copies[i]);
        }
    strbuf_wipe(&out);
    free(json);
}

/* Reads the subject of a new case from the alert or inbox signal named:
   0, -1 (not held, or the store failed: `err` says which), -2 (neither
   named). */
static int s_open_subject(daemon_t *self, const request_t *req, uint8_t subject[32], char *err,
                          size_t errlen)
{
    const char *alert = control_opt(req, "alert");
    const char *signal = control_opt(req, "signal");
    char hex[65] = "";
    int found = 0;
    if (alert) {
        found = store_case_alert_subject(self->store, alert, hex);
        if (found == 0)
            snprintf(err, errlen,
                     "alert %s is not among this organisation's alerts; see 'hartslag alerts'",
                     alert);
    } else if (signal) {
        store_inbox_t entry;
        found = store_inbox_get(self->store, signal, &entry);
        if (found > 0) {
            snprintf(hex, sizeof hex, "%s", entry.subject ? entry.subject : "");
            store_inbox_clear(&entry);
        } else if (found == 0)
            snprintf(err, errlen, "signal %s is not in the inbox; see 'hartslag inbox'", signal);
    } else {
        snprintf(err, errlen,
                 "name the subject: --from-alert ID, --from-signal ID, --subject-bsn N, "
                 "--subject-address ADDR or --subject-case C");
        return -2;
    }
    if (found < 0)
        snprintf(err, errlen, "cannot read the database");
    if (found <= 0)
        return -1;
    if (strlen(hex) != 64 || sodium_hex2bin(subject, 32, hex, 64, NULL, NULL, NULL) != 0) {
        snprintf(err, errlen, "the stored subject is not a pseudonym");
        return -1;
    }
    return 0;
}

#define CASE_TEXT_MAX 4000 /* a title, an action's text or a note, in bytes */

/* The texts a step may carry: --title on open, one --action's text per
   action on plan, --note on done. NULL-free, bounded, UTF-8 checked as
   any content (names_is_text). 0, or -1 with the reason in `err`. */
static int s_texts_check(const request_t *req, Hartslag__CaseVerb verb, size_t n_actions, char *err,
                         size_t errlen)
{
    const char *title = control_opt(req, "title");
    const char *note = control_opt(req, "note");
    size_t n_texts = 0;
    for (size_t i = 1; i < req->n_args; i++)
        if (strncmp(req->args[i], "action-text=", 12) == 0) {
            const char *text = req->args[i] + 12;
            if (*text && !names_is_text(text, CASE_TEXT_MAX)) {
                snprintf(err, errlen, "an action's text is at most %d bytes of text",
                         CASE_TEXT_MAX);
                return -1;
            }
            n_texts++;
        }
    if (title && (verb != HARTSLAG__CASE_VERB__CASE_OPEN || !names_is_text(title, CASE_TEXT_MAX)))
        snprintf(err, errlen, "--title goes with 'case open' and is at most %d bytes of text",
                 CASE_TEXT_MAX);
    else if (note &&
             (verb != HARTSLAG__CASE_VERB__CASE_ACTION_DONE || !names_is_text(note, CASE_TEXT_MAX)))
        snprintf(err, errlen, "--note goes with 'case done' and is at most %d bytes of text",
                 CASE_TEXT_MAX);
    else if (n_texts && (verb != HARTSLAG__CASE_VERB__CASE_PLAN || n_texts != n_actions))
        snprintf(err, errlen, "an action's text goes with its action in 'case plan'");
    else
        return 0;
    return -1;
}

/* Keeps the step's texts pending on it (case_texts_pending). */
static int s_texts_keep(daemon_t *self, const request_t *req, const Hartslag__CaseAction *a,
                        const char *case_hex, const char *step_hex)
{
    const char *user = a->actor_user;
    const char *title = control_opt(req, "title");
    const char *note = control_opt(req, "note");
    if (title && case_texts_pending(self, case_hex, step_hex, "title", NULL, user, title) != 0)
        return -1;
    if (note && a->has_item_id) {
        char item[STORE_ID_HEX];
        daemon_id_hex(a->item_id.data, a->item_id.len, item);
        if (case_texts_pending(self, case_hex, step_hex, "note", item, user, note) != 0)
            return -1;
    }
    size_t k = 0;
    for (size_t i = 1; i < req->n_args && k < a->n_plan_items; i++) {
        if (strncmp(req->args[i], "action-text=", 12) != 0)
            continue;
        const Hartslag__CasePlanItem *item = a->plan_items[k++];
        const char *text = req->args[i] + 12;
        char item_hex[STORE_ID_HEX];
        daemon_id_hex(item->item_id.data, item->item_id.len, item_hex);
        if (*text &&
            case_texts_pending(self, case_hex, step_hex, "action_text", item_hex, user, text) != 0)
            return -1;
    }
    return 0;
}

/* A step; `given` is the subject's pseudonym of an open that waited for
   it (case_open.c), else NULL. */
static void s_command(daemon_t *self, request_t *req, const uint8_t *given)
{
    const char *op = control_opt(req, "op");
    if (!op) {
        control_error(self, req->routing, "usage", "a case request needs op=");
        return;
    }
    if (strcmp(op, "list") == 0) {
        s_list(self, req);
        return;
    }
    if (strcmp(op, "show") == 0) {
        s_show(self, req);
        return;
    }
    if (strcmp(op, "agenda") == 0) {
        cases_agenda(self, req);
        return;
    }
    static const struct {
        const char *name;
        Hartslag__CaseVerb verb;
    } verbs[] = {
        {"open", HARTSLAG__CASE_VERB__CASE_OPEN},
        {"invite", HARTSLAG__CASE_VERB__CASE_INVITE},
        {"accept", HARTSLAG__CASE_VERB__CASE_ACCEPT},
        {"decline", HARTSLAG__CASE_VERB__CASE_DECLINE},
        {"remove", HARTSLAG__CASE_VERB__CASE_REMOVE},
        {"schedule", HARTSLAG__CASE_VERB__CASE_SCHEDULE},
        {"close", HARTSLAG__CASE_VERB__CASE_CLOSE},
        {"plan", HARTSLAG__CASE_VERB__CASE_PLAN},
        {"done", HARTSLAG__CASE_VERB__CASE_ACTION_DONE},
    };
    int which = -1;
    for (int i = 0; i < (int)(sizeof verbs / sizeof verbs[0]); i++)
        if (strcmp(op, verbs[i].name) == 0)
            which = i;
    if (which < 0) {
        control_error(self, req->routing, "usage", "unknown case op");
        return;
    }
    Hartslag__CaseAction a = HARTSLAG__CASE_ACTION__INIT;
    uint8_t action_id[CASE_ID_BYTES], case_id[CASE_ID_BYTES], subject[32];
    char partners_buf[1200] = "", err[300] = "";
    char *partners[CASE_PARTNERS_MAX];
    a.verb = verbs[which].verb;
    s_new_id(action_id);
    a.action_id = (ProtobufCBinaryData){CASE_ID_BYTES, action_id};
    a.actor = self->settings.org;
    const char *user = control_opt(req, "user");
    a.actor_user = (char *)(user ? user : "");
    a.created_at_ms = daemon_now_ms();
    a.agreements_version = agreements_version(self->agreements);
    if (a.verb == HARTSLAG__CASE_VERB__CASE_OPEN) {
        s_new_id(case_id);
        const char *kind = control_opt(req, "kind");
        if (!kind && agreements_case_rule_count(self->agreements) == 1)
            kind = agreements_case_rule(self->agreements, 0)->kind;
        if (!kind) {
            control_error(self, req->routing, "usage",
                          "name the kind of case conference: --kind (agreements.yaml, cases:)");
            return;
        }
        bool by_id = case_open_names_subject(req);
        int got = 0;
        if (by_id && (control_opt(req, "alert") || control_opt(req, "signal"))) {
            control_error(self, req->routing, "usage",
                          "give one of --from-alert, --from-signal or a --subject-* option");
            return;
        }
        if (given)
            memcpy(subject, given, sizeof subject);
        else if (by_id) {
            /* What can be checked here is, before the service is asked. */
            char code[32];
            if (s_texts_check(req, a.verb, 0, err, sizeof err) != 0) {
                control_error(self, req->routing, "usage", err);
                return;
            }
            got = case_open_subject(self, req, subject, code, sizeof code, err, sizeof err);
            if (got == 1)
                return; /* the request waits for its pseudonym (case_open.c) */
            if (got != 0) {
                control_error(self, req->routing, code, err);
                return;
            }
        } else if ((got = s_open_subject(self, req, subject, err, sizeof err)) != 0) {
            control_error(self, req->routing, got == -2 ? "usage" : "not_found", err);
            return;
        }
        a.kind = (char *)kind;
        a.has_subject = 1;
        a.subject = (ProtobufCBinaryData){32, subject};
        /* Every subject this daemon holds is a pseudonym from the service
           (scheme 2) under the key of its certificate: the daemons refuse
           answers made with any other version. */
        a.has_subject_scheme = 1;
        a.subject_scheme = PSEUDONYM_SCHEME_OPRF;
        a.has_subject_key_version = 1;
        a.subject_key_version = self->service_key.key_version;
    } else if (!s_hex_id(control_opt(req, "id"), case_id)) {
        control_error(self, req->routing, "usage", "give the case id: 32 hex digits");
        return;
    }
    a.case_id = (ProtobufCBinaryData){CASE_ID_BYTES, case_id};
    const char *list = control_opt(req, "partners");
    if (list && strlen(list) < sizeof partners_buf) {
        snprintf(partners_buf, sizeof partners_buf, "%s", list);
        a.n_partners = s_split(partners_buf, partners, CASE_PARTNERS_MAX);
        a.partners = partners;
    }
    a.meeting_date = (char *)control_opt(req, "date");
    a.outcome = (char *)control_opt(req, "outcome");
    /* plan: "owner:YYYY-MM-DD,..." -> items with ids made here; done: the
       item's id. The broker and the library check the rest. */
    char actions_buf[CASE_PLAN_ITEMS_MAX * 48];
    char *action_specs[CASE_PLAN_ITEMS_MAX];
    Hartslag__CasePlanItem items[CASE_PLAN_ITEMS_MAX], *item_ptrs[CASE_PLAN_ITEMS_MAX];
    uint8_t item_ids[CASE_PLAN_ITEMS_MAX][CASE_ID_BYTES], done_item[CASE_ID_BYTES];
    const char *actions = control_opt(req, "actions");
    if (a.verb == HARTSLAG__CASE_VERB__CASE_PLAN) {
        if (!actions || strlen(actions) >= sizeof actions_buf) {
            control_error(self, req->routing, "usage",
                          "give the plan's actions: --action OWNER:YYYY-MM-DD (at most 32)");
            return;
        }
        snprintf(actions_buf, sizeof actions_buf, "%s", actions);
        size_t n = s_split(actions_buf, action_specs, CASE_PLAN_ITEMS_MAX);
        for (size_t i = 0; i < n; i++) {
            char *colon = strchr(action_specs[i], ':');
            if (!colon) {
                control_error(self, req->routing, "usage",
                              "an action is OWNER:YYYY-MM-DD, e.g. politie:2026-12-20");
                return;
            }
            *colon = '\0';
            hartslag__case_plan_item__init(&items[i]);
            s_new_id(item_ids[i]);
            items[i].item_id = (ProtobufCBinaryData){CASE_ID_BYTES, item_ids[i]};
            items[i].owner = action_specs[i];
            items[i].due_date = colon + 1;
            item_ptrs[i] = &items[i];
        }
        a.n_plan_items = n;
        a.plan_items = item_ptrs;
    } else if (a.verb == HARTSLAG__CASE_VERB__CASE_ACTION_DONE) {
        if (!s_hex_id(control_opt(req, "item"), done_item)) {
            control_error(self, req->routing, "usage",
                          "give the action's id: 32 hex digits (see 'hartslag case show')");
            return;
        }
        a.has_item_id = 1;
        a.item_id = (ProtobufCBinaryData){CASE_ID_BYTES, done_item};
    }
    uint8_t *bytes = NULL;
    size_t len = 0;
    unsigned char sig[CASE_SIGBYTES];
    const char *why = NULL;
    char texts_err[120] = "";
    if (s_texts_check(req, a.verb, a.n_plan_items, texts_err, sizeof texts_err) != 0) {
        control_error(self, req->routing, "usage", texts_err);
        return;
    }
    if (case_action_sign(&a, keyfile_sign_secret(self->keys), &bytes, &len, sig, &why) != 0) {
        snprintf(err, sizeof err, "the %s step is not valid (%s)", op, why ? why : "unknown");
        control_error(self, req->routing, "usage", err);
        return;
    }
    if (!self->connected) {
        free(bytes);
        control_error(self, req->routing, "not_connected",
                      "not connected to the broker; nothing was sent. Try again when 'hartslag "
                      "status' says connected");
        return;
    }
    Hartslag__SignedCaseAction signed_step = HARTSLAG__SIGNED_CASE_ACTION__INIT;
    signed_step.action = (ProtobufCBinaryData){len, bytes};
    signed_step.signature = (ProtobufCBinaryData){CASE_SIGBYTES, sig};
    Hartslag__CaseRequest request = HARTSLAG__CASE_REQUEST__INIT;
    request.action = &signed_step;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_CASE_REQUEST;
    frame.case_request = &request;
    char action_hex[STORE_ID_HEX], case_hex[STORE_ID_HEX];
    daemon_id_hex(action_id, CASE_ID_BYTES, action_hex);
    daemon_id_hex(case_id, CASE_ID_BYTES, case_hex);
    /* The step's texts wait for its verdict (case_texts.c): kept first, so
       that a recorded step never lacks them. */
    if (s_texts_keep(self, req, &a, case_hex, action_hex) != 0) {
        free(bytes);
        control_error(self, req->routing, "internal",
                      "cannot keep the step's text; nothing was sent");
        return;
    }
    int sent = link_send(self, &frame);
    free(bytes);
    if (sent != 0) {
        case_texts_settle(self, case_hex, action_hex, false);
        control_error(self, req->routing, "not_connected",
                      "the broker connection is not ready; nothing was sent");
        return;
    }
    dlog(DLOG_INFO, "event=case_step_sent case=%s step=%s step_id=%s", case_hex, op, action_hex);
    for (size_t i = 0; i < DAEMON_WAITERS_MAX; i++) {
        waiter_t *w = &self->waiters[i];
        if (w->routing)
            continue;
        w->routing = zframe_dup(req->routing);
        w->kind = WAIT_CASE;
        snprintf(w->signal_id, sizeof w->signal_id, "%s", action_hex);
        snprintf(w->case_id, sizeof w->case_id, "%s", case_hex);
        snprintf(w->verb, sizeof w->verb, "%s", op);
        w->deadline_ms = daemon_now_ms() + CASES_WAIT_MS;
        return;
    }
    control_error(self, req->routing, "no_verdict",
                  "the step was sent, but too many requests wait to follow the broker's answer; "
                  "check 'hartslag case show' for the state");
}

void cases_command(daemon_t *self, request_t *req)
{
    s_command(self, req, NULL);
}

void cases_open_resume(daemon_t *self, request_t *req, const uint8_t pseudonym[PSEUDONYM_BYTES])
{
    s_command(self, req, pseudonym);
}
