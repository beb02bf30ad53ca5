/*  inbound: what arrives for this organisation (docs/protocol.md,
    "Receiving" and "Withdrawing"). A signal is verified, checked against
    our own copy of the agreements, decrypted and stored before it is
    acknowledged; anything else is refused with a reason token. */
#include "case_text.h"
#include "daemon_internal.h"
#include "store_case.h"
#include "store_case_text.h"

#include "dlog.h"
#include "instruction.h"
#include "names.h"
#include "pseudonym.h"
#include "render.h"
#include "strbuf.h"

#define DAY_MS (24ull * 60 * 60 * 1000)

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

static pending_ack_t *s_queue_ack(daemon_t *self, const ProtobufCBinaryData *id, bool stored,
                                  const char *reason);

pending_ack_t *inbound_queue_ack(daemon_t *self, const ProtobufCBinaryData *id, bool stored,
                                 const char *reason)
{
    return s_queue_ack(self, id, stored, reason);
}

/* Queues a DeliveryAck until the turn transaction has committed (it may
   acknowledge a row written in it). NULL when the header had no id. */
static pending_ack_t *s_queue_ack(daemon_t *self, const ProtobufCBinaryData *id, bool stored,
                                  const char *reason)
{
    pending_ack_t *ack = &self->acks[self->n_acks++];
    ack->has_id = id && id->len == sizeof ack->id;
    if (ack->has_id)
        memcpy(ack->id, id->data, sizeof ack->id);
    ack->stored = stored;
    snprintf(ack->reason, sizeof ack->reason, "%s", stored ? "" : reason);
    ack->received = false;
    return ack;
}

/* Refuses a delivered signal: local audit, log, DeliveryAck(ACK_REJECTED). */
static void s_reject(daemon_t *self, const Hartslag__SignalHeader *hdr, const char *id,
                     const char *reason)
{
    store_audit_t audit = {.event = "rejected",
                           .signal_id = id,
                           .counterpart = hdr->sender,
                           .actor_user = hdr->sender_user,
                           .signal_type = hdr->signal_type,
                           .purpose = hdr->purpose,
                           .reason = reason};
    bool begun = daemon_item_begin(self) == 0;
    if (!begun || !daemon_item_end(self, store_audit(self->store, &audit) == 0 &&
                                             inclusion_expect_received(self, hdr) == 0)) {
        /* Unaudited, it is not refused either: no ack, so the broker sends
           it again and the refusal is recorded then. */
        dlog(DLOG_ERROR, "event=audit_failed signal=%s effect=not_acknowledged", id);
        return;
    }
    dlog(DLOG_WARN, "event=signal_rejected signal=%s from=%s type=%s reason=%s", id, hdr->sender,
         hdr->signal_type, reason);
    (void)s_queue_ack(self, &hdr->signal_id, false, reason);
}

static const char *s_urgency_name(Hartslag__Urgency urgency)
{
    switch (urgency) {
    case HARTSLAG__URGENCY__URGENCY_PRIORITY:
        return "priority";
    case HARTSLAG__URGENCY__URGENCY_URGENT:
        return "urgent";
    default:
        return "routine";
    }
}

/* What allowed a signal to us: the clause's id (or the case's kind) and
   how long we keep it. */
typedef struct {
    const char *id;
    uint32_t retention_days;
} allowance_t;

/* Who may say a title, an action's text or a note (lib/case_text.h), by
   the case as this daemon verified it: NULL, or the reason. */
static const char *s_case_text_role(daemon_t *self, const Hartslag__SignalHeader *hdr,
                                    const char *case_hex, case_text_kind_t text)
{
    char coordinator[40], owner[40], item[STORE_ID_HEX];
    if ((text == CASE_TEXT_TITLE || text == CASE_TEXT_ACTION)) {
        int found = store_case_text_coordinator(self->store, case_hex, coordinator);
        if (found < 0)
            return "storage";
        if (found == 0 || strcmp(coordinator, hdr->sender) != 0)
            return "not_coordinator";
    }
    if (text == CASE_TEXT_ACTION || text == CASE_TEXT_NOTE) {
        daemon_id_hex(hdr->case_item.data, hdr->case_item.len, item);
        int found = store_case_text_item_owner(self->store, case_hex, item, owner);
        if (found < 0)
            return "storage";
        if (found == 0)
            return "unknown_item";
        if (text == CASE_TEXT_NOTE && strcmp(owner, hdr->sender) != 0)
            return "not_owner";
    }
    return NULL;
}

/* A share into a case conference (issue 15): allowed by the case as this
   daemon verified it, not by `agreements:` — the case is held and open,
   the sender and we take part now (proven by signed steps, cases.c), the
   purpose is the rule's, the fields are the sender's in the rule. Kept
   until the case could at most have stayed open plus the retention after
   closing (the purge at close is not built yet). */
static bool s_case_allowed(daemon_t *self, const Hartslag__SignalHeader *hdr,
                           allowance_t *allowance, char *reason, size_t reasonlen)
{
    char case_hex[STORE_ID_HEX], kind[65], subject[65], pseudonym[PSEUDONYM_HEXBYTES];
    daemon_id_hex(hdr->case_id.data, hdr->case_id.len, case_hex);
    case_text_kind_t text = case_text_kind(hdr->signal_type);
    bool closed = false;
    char *participants = NULL;
    int found = store_case_get(self->store, case_hex, kind, &closed, subject, &participants);
    const agreements_case_rule_t *rule =
        found > 0 ? agreements_case_rule_lookup(self->agreements, kind, strlen(kind)) : NULL;
    char me[80], sender[80];
    snprintf(me, sizeof me, "{\"org\":\"%.40s\",\"state\":\"active\"", self->settings.org);
    snprintf(sender, sizeof sender, "{\"org\":\"%.40s\",\"state\":\"active\"", hdr->sender);
    pseudonym_to_hex(hdr->subject.data, pseudonym);
    const char *field = NULL;
    const char *why = NULL;
    if (found <= 0)
        why = found < 0 ? "storage" : "unknown_case";
    else if (closed)
        why = "case_closed";
    else if (!rule)
        why = "unknown_case_kind";
    else if (!strstr(participants, me) || !strstr(participants, sender))
        why = "not_participant";
    else if (strcmp(hdr->purpose, rule->purpose) != 0)
        why = "wrong_purpose";
    else if (strcmp(pseudonym, subject) != 0)
        why = "subject_mismatch";
    else if ((why = case_text_shape(text, hdr->has_case_item, (const char *const *)hdr->fields,
                                    hdr->n_fields)))
        ;
    else if (text == CASE_TEXT_SHARE) {
        agreements_case_reason_t verdict =
            agreements_case_share(self->agreements, kind, hdr->sender,
                                  (const char *const *)hdr->fields, hdr->n_fields, &field);
        if (verdict != AGREEMENTS_CASE_ALLOWED)
            why = agreements_case_reason_name(verdict);
    } else
        why = s_case_text_role(self, hdr, case_hex, text);
    free(participants);
    if (why) {
        snprintf(reason, reasonlen, "case:%s%s%s", why, field ? ":" : "", field ? field : "");
        return false;
    }
    allowance->id = rule->kind;
    allowance->retention_days = rule->max_open_days + rule->retention_days_after_close;
    return true;
}

/* The inbox entry `id` was shared in the header's case (about an action,
   a re-share of an earlier item). */
static int s_case_link(daemon_t *self, const Hartslag__SignalHeader *hdr, const char *id)
{
    char case_hex[STORE_ID_HEX], item[STORE_ID_HEX], earlier[STORE_ID_HEX];
    daemon_id_hex(hdr->case_id.data, hdr->case_id.len, case_hex);
    daemon_id_hex(hdr->has_case_item ? hdr->case_item.data : NULL, hdr->case_item.len, item);
    daemon_id_hex(hdr->has_reshare_of ? hdr->reshare_of.data : NULL, hdr->reshare_of.len, earlier);
    if (store_case_inbox_link(self->store, id, case_hex) != 0)
        return -1;
    if (!item[0] && !earlier[0])
        return 0;
    return store_case_text_inbox_mark(self->store, id, item[0] ? item : NULL,
                                      earlier[0] ? earlier : NULL);
}

/* Our own agreements check: may hdr->sender send this to us? On success
   `allowance` names the clause (for retention). Else `reason` says why. */
static bool s_allowed(daemon_t *self, const Hartslag__SignalHeader *hdr, allowance_t *allowance,
                      char *reason, size_t reasonlen)
{
    if (hdr->has_case_id)
        return s_case_allowed(self, hdr, allowance, reason, reasonlen);
    agreements_str_t me = agreements_str(self->settings.org);
    agreements_str_t fields[WIRE_FIELDS_MAX];
    for (size_t i = 0; i < hdr->n_fields && i < WIRE_FIELDS_MAX; i++)
        fields[i] = agreements_str(hdr->fields[i]);
    agreements_request_t req = {
        .sender = agreements_str(hdr->sender),
        .recipients = &me,
        .recipient_count = 1,
        .signal_type = agreements_str(hdr->signal_type),
        .purpose = agreements_str(hdr->purpose),
        .fields = fields,
        .field_count = hdr->n_fields,
        /* Now, not the sender's created_at: a backdated signal must not
           be judged by an agreement that has since ended (issue 18 A5). */
        .at_ms = (int64_t)daemon_now_ms(),
    };
    agreements_decision_t decision;
    if (agreements_evaluate(self->agreements, &req, &decision) != 0 || decision.count != 1) {
        snprintf(reason, reasonlen, "malformed");
        return false;
    }
    if (!decision.allowed) {
        if (agreements_verdict_reason(&decision.recipients[0], reason, reasonlen) != 0)
            snprintf(reason, reasonlen, "%s",
                     agreements_reason_name(decision.recipients[0].reason));
        return false;
    }
    allowance->id = decision.recipients[0].agreement->id;
    allowance->retention_days = decision.recipients[0].agreement->retention_days;
    return true;
}

/* The content's fields as a flat JSON object. */
static void s_fields_json(const Hartslag__SignalContent *content, strbuf_t *out)
{
    strbuf_puts(out, "{");
    for (size_t i = 0; i < content->n_fields; i++) {
        if (i)
            strbuf_puts(out, ",");
        strbuf_json_string(out, content->fields[i]->name);
        strbuf_puts(out, ":");
        strbuf_json_string(out, content->fields[i]->value);
    }
    strbuf_puts(out, "}");
}

static bool s_watched(const daemon_t *self)
{
    for (size_t i = 0; i < DAEMON_WATCHERS_MAX; i++)
        if (self->watchers[i].routing)
            return true;
    return false;
}

/* Renders the watcher event of a stored signal into `ack`, for after the
   commit (the entry's strings are gone by then). */
static void s_render_event(daemon_t *self, pending_ack_t *ack, const store_inbox_t *entry)
{
    if (!s_watched(self))
        return;
    render_inbox_json(entry, &ack->json);
    render_inbox_line(entry, &ack->line);
    /* The line ends in a newline; the control protocol sends lines without. */
    if (strbuf_ok(&ack->line) && ack->line.len && ack->line.data[ack->line.len - 1] == '\n')
        ack->line.data[--ack->line.len] = '\0';
}

void inbound_flush(daemon_t *self, bool committed)
{
    size_t n = self->n_acks;
    self->n_acks = 0;
    if (committed && self->broker) {
        /* Committed: now, and only now, the broker may forget them. */
        for (size_t i = 0; i < n; i++) {
            pending_ack_t *ack = &self->acks[i];
            ProtobufCBinaryData id = {ack->has_id ? sizeof ack->id : 0,
                                      ack->has_id ? ack->id : NULL};
            s_ack(self, id, ack->stored, ack->reason);
        }
    } else if (n)
        dlog(DLOG_WARN, "event=acks_withheld count=%zu reason=not_committed", n);
    for (size_t i = 0; i < n; i++) {
        pending_ack_t *ack = &self->acks[i];
        if (committed && ack->received) {
            dlog(DLOG_INFO, "event=signal_received signal=%s %s", ack->signal_id,
                 strbuf_text(&ack->log));
            if (self->control && strbuf_ok(&ack->json) && strbuf_ok(&ack->line) && ack->json.len)
                control_notify(self, strbuf_text(&ack->json), strbuf_text(&ack->line));
        }
        strbuf_wipe(&ack->log);
        strbuf_wipe(&ack->json);
        strbuf_wipe(&ack->line);
    }
}

void inbound_deliver(daemon_t *self, const Hartslag__Deliver *deliver)
{
    if (self->n_acks == DAEMON_BATCH_MAX)
        daemon_flush(self);
    const Hartslag__SealedSignal *sealed = deliver->signal;
    Hartslag__SignalHeader *hdr = NULL;
    const char *why = NULL;
    if (wire_check_header(sealed->header.data, sealed->header.len, &hdr, &why) != 0) {
        /* Without a readable header there is no id to answer to. */
        dlog(DLOG_WARN, "event=signal_rejected reason=%s", why ? why : "malformed");
        (void)s_queue_ack(self, NULL, false, why ? why : "malformed");
        return;
    }
    char id[STORE_ID_HEX];
    daemon_id_hex(hdr->signal_id.data, hdr->signal_id.len, id);
    Hartslag__SignalContent *content = NULL;
    strbuf_t fields = {0};
    char reason[128];

    if (wire_check_sealed(sealed, hdr, &why) != 0) {
        s_reject(self, hdr, id, why ? why : "malformed");
        goto done;
    }
    char gone[16];
    int known = store_inbox_known(self->store, id, gone);
    if (known < 0) {
        /* No ack: the broker redelivers once the store works again. */
        dlog(DLOG_ERROR, "event=store_failed op=lookup signal=%s", id);
        daemon_set_error(self, "inbox database error: %s", store_error(self->store));
        goto done;
    }
    if (known > 0) {
        /* Acked after the commit too: the row may be this turn's. */
        dlog(DLOG_INFO, "event=signal_redelivered signal=%s from=%s state=%s", id, hdr->sender,
             known == 1 ? "in_inbox" : gone);
        (void)s_queue_ack(self, &hdr->signal_id, true, NULL);
        goto done;
    }
    const cert_t *cert = partners_by_org(self->partners, hdr->sender);
    if (!cert) {
        s_reject(self, hdr, id, "unknown_sender");
        goto done;
    }
    /* Loaded while valid, but a daemon runs for months: the sender's
       certificate must be valid now, when its signal enters our systems. */
    if (!cert_valid_at(cert, (int64_t)daemon_now_ms())) {
        s_reject(self, hdr, id, "sender_certificate_not_valid");
        goto done;
    }
    /* envelope_open verifies the signature itself, and Ed25519 verify is
       the dearest step here: a signal we keep is verified once, there. A
       refusal before it verifies first, so that a bad signature is still
       the reason given whatever else is wrong with the signal. */
    allowance_t allowance = {NULL, 0};
    uint64_t now = daemon_now_ms();
    bool allowed = s_allowed(self, hdr, &allowance, reason, sizeof reason);
    if (!allowed || hdr->valid_until_ms <= now) {
        if (envelope_verify(sealed, cert->sign_key) != ENVELOPE_OK)
            s_reject(self, hdr, id, "bad_signature");
        else
            s_reject(self, hdr, id, allowed ? "lapsed" : reason);
        goto done;
    }
    envelope_peer_t peer;
    memset(&peer, 0, sizeof peer);
    peer.org = cert->org;
    memcpy(peer.sign_pk, cert->sign_key, sizeof peer.sign_pk);
    memcpy(peer.box_pk, cert->box_key, sizeof peer.box_pk);
    envelope_error_t err =
        envelope_open(sealed, hdr, &peer, self->settings.org, self->keyring, &content);
    if (err != ENVELOPE_OK) {
        /* Whatever envelope_open's own verify refused is "bad_signature",
           as when the daemon verified before opening. */
        bool signed_ok = envelope_verify(sealed, cert->sign_key) == ENVELOPE_OK;
        s_reject(self, hdr, id, signed_ok ? envelope_error_token(err) : "bad_signature");
        goto done;
    }
    s_fields_json(content, &fields);
    if (!strbuf_ok(&fields)) {
        dlog(DLOG_ERROR, "event=out_of_memory signal=%s", id);
        goto done;
    }
    char subject[PSEUDONYM_HEXBYTES];
    pseudonym_to_hex(hdr->subject.data, subject);
    /* Retention runs from when we received it: a sender's clock (or a
       backdated created_at) must not make us purge it early. */
    uint64_t retain = now + (uint64_t)allowance.retention_days * DAY_MS;
    if (retain > hdr->valid_until_ms)
        retain = hdr->valid_until_ms;
    store_inbox_t entry = {
        .sender = hdr->sender,
        .sender_user = hdr->sender_user,
        .signal_type = hdr->signal_type,
        .purpose = hdr->purpose,
        .subject = subject,
        .fields = fields.data,
        .free_text = content->free_text,
        .urgency = (char *)s_urgency_name(hdr->urgency),
        .agreement_id = (char *)allowance.id,
        .created_ms = hdr->created_at_ms,
        .valid_until_ms = hdr->valid_until_ms,
        .accepted_ms = deliver->accepted_at_ms,
        .received_ms = now,
        .retain_until_ms = retain,
        .hook_state = self->hook ? "pending" : "none",
        .hook_attempts = 0,
        .hook_next_ms = 0,
    };
    memcpy(entry.signal_id, id, sizeof entry.signal_id);
    /* For the watchers' event (the hook reads the stored, linked entry). */
    char case_hex[STORE_ID_HEX] = "", item_hex[STORE_ID_HEX] = "", earlier_hex[STORE_ID_HEX] = "";
    if (hdr->has_case_id) {
        daemon_id_hex(hdr->case_id.data, hdr->case_id.len, case_hex);
        entry.case_id = case_hex;
    }
    if (hdr->has_case_item) {
        daemon_id_hex(hdr->case_item.data, hdr->case_item.len, item_hex);
        entry.case_item = item_hex;
    }
    if (hdr->has_reshare_of) {
        daemon_id_hex(hdr->reshare_of.data, hdr->reshare_of.len, earlier_hex);
        entry.reshare_of = earlier_hex;
    }
    store_audit_t audit = {.event = "received",
                           .signal_id = id,
                           .counterpart = hdr->sender,
                           .actor_user = hdr->sender_user,
                           .signal_type = hdr->signal_type,
                           .purpose = hdr->purpose,
                           .reason = allowance.id};
    if (daemon_item_begin(self) != 0 ||
        !daemon_item_end(self, store_inbox_add(self->store, &entry) == 0 &&
                                   (!hdr->has_case_id || s_case_link(self, hdr, id) == 0) &&
                                   store_audit(self->store, &audit) == 0 &&
                                   inclusion_expect_received(self, hdr) == 0)) {
        /* No ack: the broker redelivers once the store works again. */
        dlog(DLOG_ERROR, "event=store_failed op=inbox_add signal=%s", id);
        daemon_set_error(self, "inbox database error: %s", self->txn_error);
        goto done;
    }
    /* In the turn transaction: acked, logged and shown once it commits. */
    pending_ack_t *ack = s_queue_ack(self, &hdr->signal_id, true, NULL);
    ack->received = true;
    memcpy(ack->signal_id, id, sizeof ack->signal_id);
    strbuf_printf(&ack->log, "from=%s type=%s purpose=%s urgency=%s", hdr->sender, hdr->signal_type,
                  hdr->purpose, entry.urgency);
    s_render_event(self, ack, &entry);
done:
    strbuf_wipe(&fields);
    envelope_content_destroy(&content);
    hartslag__signal_header__free_unpacked(hdr, NULL);
}

void inbound_notice_lost(daemon_t *self)
{
    if (!self->notice_retry_ms)
        self->notice_retry_ms = daemon_now_ms() + DAEMON_NOTICE_RETRY_MS;
}

void inbound_withdraw(daemon_t *self, const Hartslag__Withdraw *withdraw)
{
    char id[STORE_ID_HEX];
    daemon_id_hex(withdraw->signal_id.data, withdraw->signal_id.len, id);
    if (!id[0] || !names_is_token(withdraw->reason)) {
        dlog(DLOG_WARN, "event=withdraw_refused reason=malformed");
        return;
    }
    store_inbox_t entry;
    int found = store_inbox_get(self->store, id, &entry);
    if (found < 0) {
        dlog(DLOG_ERROR, "event=store_failed op=lookup signal=%s", id);
        return;
    }
    /* Only the signal's sender may withdraw it, and only with its own
       signature: the broker forwards withdrawals but cannot make one
       (issue 18 A1). For a signal we do not hold (yet), the broker names
       the sender whose key must have signed it. */
    const char *sender = found ? entry.sender : withdraw->sender;
    const cert_t *cert =
        sender && names_is_org(sender) ? partners_by_org(self->partners, sender) : NULL;
    if (!cert || !cert_valid_at(cert, (int64_t)daemon_now_ms()) ||
        instruction_withdraw_verify(withdraw, cert->sign_key) != 0) {
        dlog(DLOG_WARN, "event=withdraw_refused signal=%s from=%s reason=bad_signature", id,
             sender && names_is_org(sender) ? sender : "-");
        store_audit_t refused = {.event = "withdraw_refused",
                                 .signal_id = id,
                                 .counterpart = cert ? sender : NULL,
                                 .reason = "bad_signature"};
        if (store_begin(self->store) != 0 || store_audit(self->store, &refused) != 0 ||
            store_commit(self->store) != 0)
            store_rollback(self->store);
        Hartslag__WithdrawResult result = HARTSLAG__WITHDRAW_RESULT__INIT;
        result.signal_id = withdraw->signal_id;
        result.ok = 0;
        result.reason = "bad_signature";
        Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
        frame.body_case = HARTSLAG__FRAME__BODY_WITHDRAW_RESULT;
        frame.withdraw_result = &result;
        (void)link_send(self, &frame);
        if (found)
            store_inbox_clear(&entry);
        return;
    }
    store_audit_t audit = {.event = "withdrawn",
                           .signal_id = id,
                           .counterpart = found ? entry.sender : sender,
                           .actor_user = found ? entry.sender_user : NULL,
                           .signal_type = found ? entry.signal_type : NULL,
                           .purpose = found ? entry.purpose : NULL,
                           .reason = withdraw->reason};
    int removed = -1;
    strbuf_t json = {0}, text = {0};
    /* Only a signal that was in the inbox can be in the case system: tell
       the hook and the watchers about that one (in the same transaction). */
    if (store_begin(self->store) == 0 &&
        (removed = store_inbox_remove(self->store, id, "withdrawn")) >= 0 &&
        store_audit(self->store, &audit) == 0 &&
        (removed == 0 ||
         hooks_removed(self, "withdrawn", id, entry.sender, withdraw->reason, &json, &text) == 0) &&
        store_commit(self->store) == 0) {
        dlog(DLOG_INFO, "event=signal_withdrawn signal=%s from=%s reason=%s removed=%s", id,
             found ? entry.sender : "-", withdraw->reason, removed ? "yes" : "no");
        if (removed == 1)
            control_notify(self, strbuf_text(&json), strbuf_text(&text));
        Hartslag__WithdrawResult result = HARTSLAG__WITHDRAW_RESULT__INIT;
        result.signal_id = withdraw->signal_id;
        result.ok = 1;
        Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
        frame.body_case = HARTSLAG__FRAME__BODY_WITHDRAW_RESULT;
        frame.withdraw_result = &result;
        (void)link_send(self, &frame);
    } else {
        store_rollback(self->store);
        dlog(DLOG_ERROR, "event=store_failed op=withdraw signal=%s", id);
        daemon_set_error(self,
                         "database error: the withdrawal of signal %s could not be stored; "
                         "it will be asked for again",
                         id);
        inbound_notice_lost(self);
    }
    strbuf_wipe(&json);
    strbuf_wipe(&text);
    if (found)
        store_inbox_clear(&entry);
}

/* An alert participant as JSON; false when a value breaks the wire rules. */
static bool s_participant_json(const Hartslag__AlertParticipant *p, strbuf_t *out)
{
    if (!names_is_org(p->org) || !names_is_text(p->contact, NAMES_TEXT_MAX))
        return false;
    strbuf_puts(out, "{\"org\":");
    strbuf_json_string(out, p->org);
    strbuf_puts(out, ",\"contact\":");
    strbuf_json_string(out, p->contact);
    strbuf_puts(out, ",\"signal_types\":[");
    for (size_t i = 0; i < p->n_signal_types; i++) {
        if (!names_is_token(p->signal_types[i]))
            return false;
        if (i)
            strbuf_puts(out, ",");
        strbuf_json_string(out, p->signal_types[i]);
    }
    strbuf_printf(out, "],\"first_at_ms\":%llu,\"last_at_ms\":%llu,\"signal_ids\":[",
                  (unsigned long long)p->first_at_ms, (unsigned long long)p->last_at_ms);
    for (size_t i = 0; i < p->n_signal_ids; i++) {
        char id[STORE_ID_HEX];
        daemon_id_hex(p->signal_ids[i].data, p->signal_ids[i].len, id);
        if (!id[0])
            return false;
        strbuf_printf(out, "%s\"%s\"", i ? "," : "", id);
    }
    strbuf_puts(out, "]}");
    return true;
}

void inbound_alert(daemon_t *self, const Hartslag__Alert *alert)
{
    char id[STORE_ID_HEX];
    daemon_id_hex(alert->alert_id.data, alert->alert_id.len, id);
    if (!id[0] || !names_is_token(alert->rule_id) || alert->subject.len != PSEUDONYM_BYTES ||
        !names_is_text(alert->legal_basis, NAMES_TEXT_MAX) ||
        (alert->lead_org && !names_is_org(alert->lead_org)) ||
        (alert->state && !names_is_token(alert->state)) || alert->n_participants > 64) {
        dlog(DLOG_WARN, "event=alert_refused reason=malformed");
        return;
    }
    /* "Handled, X leads" is the coordinator's word, not the broker's: it
       must carry the coordinator's signature (issue 18 A1). Refused, it is
       acknowledged as rejected so that the broker stops resending it. */
    if (alert->state && strcmp(alert->state, "handled") == 0) {
        const char *coordinator = agreements_coordinator(self->agreements);
        const cert_t *cert = coordinator ? partners_by_org(self->partners, coordinator) : NULL;
        if (!cert || !cert_valid_at(cert, (int64_t)daemon_now_ms()) ||
            instruction_alert_handled_verify(alert, cert->sign_key) != 0) {
            dlog(DLOG_WARN, "event=alert_refused reason=bad_signature alert=%s", id);
            s_ack(self, alert->alert_id, false, "bad_signature");
            return;
        }
    }
    char subject[PSEUDONYM_HEXBYTES];
    pseudonym_to_hex(alert->subject.data, subject);
    strbuf_t participants = {0};
    strbuf_puts(&participants, "[");
    for (size_t i = 0; i < alert->n_participants; i++) {
        if (i)
            strbuf_puts(&participants, ",");
        if (!s_participant_json(alert->participants[i], &participants)) {
            dlog(DLOG_WARN, "event=alert_refused reason=bad_participant alert=%s", id);
            strbuf_wipe(&participants);
            return;
        }
    }
    strbuf_puts(&participants, "]");
    strbuf_t json = {0}, line = {0};
    strbuf_puts(&json, "{\"kind\":\"alert\",\"alert_id\":");
    strbuf_json_string(&json, id);
    strbuf_puts(&json, ",\"rule_id\":");
    strbuf_json_string(&json, alert->rule_id);
    strbuf_puts(&json, ",\"subject\":");
    strbuf_json_string(&json, subject);
    strbuf_puts(&json, ",\"participants\":");
    strbuf_puts(&json, strbuf_text(&participants));
    strbuf_puts(&json, ",\"legal_basis\":");
    strbuf_json_string(&json, alert->legal_basis);
    strbuf_puts(&json, ",\"state\":");
    strbuf_json_string(&json, alert->state ? alert->state : "open");
    strbuf_puts(&json, ",\"lead_org\":");
    strbuf_json_string(&json, alert->lead_org);
    strbuf_printf(&json, ",\"raised_at_ms\":%llu}", (unsigned long long)alert->raised_at_ms);
    store_audit_t audit = {
        .event = alert->state && strcmp(alert->state, "handled") == 0 ? "alert_handled" : "alert",
        .signal_id = id,
        .counterpart = alert->lead_org,
        .reason = alert->rule_id};
    if (!strbuf_ok(&participants) || !strbuf_ok(&json) || store_begin(self->store) != 0 ||
        store_alert_add(self->store, id, alert->rule_id, subject, strbuf_text(&participants),
                        alert->legal_basis, alert->raised_at_ms, alert->state, alert->lead_org,
                        self->hook ? strbuf_text(&json) : NULL) != 0 ||
        store_audit(self->store, &audit) != 0 || store_commit(self->store) != 0) {
        store_rollback(self->store);
        dlog(DLOG_ERROR, "event=store_failed op=alert alert=%s", id);
        daemon_set_error(self,
                         "database error: alert %s could not be stored; it will be asked "
                         "for again",
                         id);
        inbound_notice_lost(self);
        strbuf_wipe(&participants);
        strbuf_wipe(&json);
        return;
    }
    /* Stored: the broker may forget its copy. */
    s_ack(self, alert->alert_id, true, NULL);
    dlog(DLOG_INFO, "event=alert_received alert=%s rule=%s participants=%zu state=%s", id,
         alert->rule_id, alert->n_participants, alert->state ? alert->state : "open");
    strbuf_printf(&line, "ALERT %s  rule %s  subject %.16s…  partners", id, alert->rule_id,
                  subject);
    for (size_t i = 0; i < alert->n_participants; i++)
        strbuf_printf(&line, "%s%s", i ? ", " : " ", alert->participants[i]->org);
    strbuf_printf(&line, "%s%s", alert->lead_org ? "  handled, lead " : "",
                  alert->lead_org ? alert->lead_org : "");
    if (strbuf_ok(&json) && strbuf_ok(&line))
        control_notify(self, strbuf_text(&json), strbuf_text(&line));
    self->next_hook_check_ms = 0;
    strbuf_wipe(&json);
    strbuf_wipe(&line);
    strbuf_wipe(&participants);
}
