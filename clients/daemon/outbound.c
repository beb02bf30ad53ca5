/*  outbound: signals this organisation sends, and their withdrawal
    (docs/protocol.md, "Sending"). The subject's identifier is turned into
    its pseudonym here and goes nowhere else: not into the store, not into
    a log line, not into an error text. */
#include "daemon_internal.h"

#include "dlog.h"
#include "instruction.h"
#include "names.h"
#include "pseudonym.h"

#define DAY_MS (24ull * 60 * 60 * 1000)
#define OUTBOUND_REASON_MAX 128 /* a reason token from the broker */

/* Broker reasons: 1..128 of [a-z0-9_:.-] (e.g. "field_not_allowed:adres"). */
static bool s_is_reason(const char *text)
{
    size_t len = text ? strlen(text) : 0;
    if (len == 0 || len > OUTBOUND_REASON_MAX)
        return false;
    for (const char *p = text; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == ':' ||
              *p == '-' || *p == '.'))
            return false;
    return true;
}

static void s_fail(send_result_t *result, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_fail(send_result_t *result, const char *code, const char *fmt, ...)
{
    snprintf(result->code, sizeof result->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(result->message, sizeof result->message, fmt, ap);
    va_end(ap);
}

static int s_recipient_keys(daemon_t *self, const char *const *orgs, size_t n_orgs,
                            envelope_recipient_t *recipients, send_result_t *result);
static int s_seal_store(daemon_t *self, const Hartslag__SignalDraft *d,
                        const unsigned char pseudonym[PSEUDONYM_BYTES], const char *waiting_id,
                        send_result_t *result);
static int s_store_waiting(daemon_t *self, const Hartslag__SignalDraft *d, send_result_t *result);

static int s_urgency(const char *name, Hartslag__Urgency *out)
{
    if (!name || strcmp(name, "routine") == 0)
        *out = HARTSLAG__URGENCY__URGENCY_ROUTINE;
    else if (strcmp(name, "priority") == 0)
        *out = HARTSLAG__URGENCY__URGENCY_PRIORITY;
    else if (strcmp(name, "urgent") == 0)
        *out = HARTSLAG__URGENCY__URGENCY_URGENT;
    else
        return -1;
    return 0;
}

/* Sends one outbox entry's Submit (when the socket takes it). */
static void s_submit(daemon_t *self, const store_outbox_t *entry)
{
    Hartslag__SealedSignal *sealed = NULL;
    if (!entry->sealed ||
        envelope_unpack(entry->sealed, entry->sealed_len, &sealed) != ENVELOPE_OK) {
        dlog(DLOG_ERROR, "event=outbox_corrupt signal=%s", entry->signal_id);
        return;
    }
    Hartslag__Submit submit = HARTSLAG__SUBMIT__INIT;
    submit.signal = sealed;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_SUBMIT;
    frame.submit = &submit;
    if (link_send(self, &frame) == 0) {
        (void)store_outbox_count_submit(self->store, entry->signal_id);
        dlog(DLOG_DEBUG, "event=submitted signal=%s", entry->signal_id);
    }
    hartslag__sealed_signal__free_unpacked(sealed, NULL);
}

static void s_send_withdraw(daemon_t *self, const char *signal_id, const char *reason)
{
    uint8_t id[WIRE_SIGNAL_ID_BYTES];
    if (daemon_id_parse(signal_id, id) != 0)
        return;
    Hartslag__Withdraw withdraw = HARTSLAG__WITHDRAW__INIT;
    withdraw.signal_id.data = id;
    withdraw.signal_id.len = sizeof id;
    withdraw.reason = (char *)(reason ? reason : "withdrawn");
    /* Signed, so that only we can make our recipients delete it. */
    unsigned char sig[INSTRUCTION_SIGBYTES];
    if (instruction_withdraw_sign(&withdraw, daemon_now_ms(), keyfile_sign_secret(self->keys),
                                  sig) != 0) {
        dlog(DLOG_ERROR, "event=withdraw_not_signed signal=%s", signal_id);
        return;
    }
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_WITHDRAW;
    frame.withdraw = &withdraw;
    (void)link_send(self, &frame);
}

static int s_resubmit_one(void *arg, const store_outbox_t *entry)
{
    s_submit(arg, entry);
    return 0;
}

static int s_rewithdraw_one(void *arg, const store_outbox_t *entry)
{
    s_send_withdraw(arg, entry->signal_id, entry->withdraw_reason);
    return 0;
}

void outbound_resubmit(daemon_t *self)
{
    self->last_resubmit_ms = daemon_now_ms();
    if (store_outbox_each(self->store, "pending", s_resubmit_one, self) != 0 ||
        store_outbox_each(self->store, "withdrawing", s_rewithdraw_one, self) != 0)
        dlog(DLOG_ERROR, "event=store_failed op=outbox_scan");
}

/* Splits and checks the recipient list into recipients[] (pointers into
   `buf`). */
static int s_recipients(daemon_t *self, const char *to, char *buf, size_t buflen, const char **orgs,
                        size_t *count, send_result_t *result)
{
    if (!to || !*to) {
        s_fail(result, "usage", "no recipient: give --to ORG[,ORG...]");
        return -1;
    }
    if (strlen(to) >= buflen) {
        s_fail(result, "usage", "--to is too long");
        return -1;
    }
    snprintf(buf, buflen, "%s", to);
    *count = 0;
    char *save = NULL;
    for (char *org = strtok_r(buf, ",", &save); org; org = strtok_r(NULL, ",", &save)) {
        if (!names_is_org(org)) {
            s_fail(result, "usage", "'%s' is not an org id ([a-z0-9-], at most 32)", org);
            return -1;
        }
        if (strcmp(org, self->settings.org) == 0) {
            s_fail(result, "usage", "cannot send a signal to yourself (%s)", org);
            return -1;
        }
        for (size_t i = 0; i < *count; i++)
            if (strcmp(orgs[i], org) == 0) {
                s_fail(result, "usage", "recipient %s is named twice", org);
                return -1;
            }
        if (*count == ENVELOPE_RECIPIENTS_MAX) {
            s_fail(result, "usage", "at most %d recipients", ENVELOPE_RECIPIENTS_MAX);
            return -1;
        }
        orgs[(*count)++] = org;
    }
    if (*count == 0) {
        s_fail(result, "usage", "no recipient: give --to ORG[,ORG...]");
        return -1;
    }
    return 0;
}

/* The sender-side check against our copy of the agreements. */
static int s_precheck(daemon_t *self, const send_request_t *req, const char **orgs, size_t n_orgs,
                      send_result_t *result)
{
    agreements_str_t recipients[ENVELOPE_RECIPIENTS_MAX];
    agreements_str_t fields[WIRE_FIELDS_MAX + 1];
    for (size_t i = 0; i < n_orgs; i++)
        recipients[i] = agreements_str(orgs[i]);
    size_t n_fields = 0;
    for (size_t i = 0; i < req->n_fields; i++)
        fields[n_fields++] = agreements_str(req->field_names[i]);
    if (req->free_text)
        fields[n_fields++] = agreements_str(ENVELOPE_FREE_TEXT_FIELD);
    agreements_request_t areq = {
        .sender = agreements_str(self->settings.org),
        .recipients = recipients,
        .recipient_count = n_orgs,
        .signal_type = agreements_str(req->signal_type),
        .purpose = agreements_str(req->purpose),
        .fields = fields,
        .field_count = n_fields,
        .at_ms = (int64_t)daemon_now_ms(),
    };
    agreements_decision_t decision;
    if (agreements_evaluate(self->agreements, &areq, &decision) != 0) {
        s_fail(result, "usage", "too many recipients or fields");
        return -1;
    }
    if (decision.allowed)
        return 0;
    size_t pos = 0;
    for (size_t i = 0; i < decision.count; i++) {
        char reason[160];
        if (agreements_verdict_reason(&decision.recipients[i], reason, sizeof reason) != 0)
            snprintf(reason, sizeof reason, "%s",
                     agreements_reason_name(decision.recipients[i].reason));
        int n = snprintf(result->detail + pos, sizeof result->detail - pos, "%s%s=%s", i ? " " : "",
                         orgs[i], reason);
        if (n < 0 || (size_t)n >= sizeof result->detail - pos)
            break;
        pos += (size_t)n;
    }
    s_fail(result, "denied",
           "the agreements (version %llu) do not allow this signal; nothing was sent "
           "(see 'hartslag agreements explain')",
           (unsigned long long)agreements_version(self->agreements));
    store_audit_t audit = {.event = "denied",
                           .counterpart = req->to,
                           .actor_user = req->user,
                           .signal_type = req->signal_type,
                           .purpose = req->purpose,
                           .reason = "local_precheck"};
    if (daemon_item_begin(self) == 0)
        (void)daemon_item_end(self, store_audit(self->store, &audit) == 0);
    dlog(DLOG_INFO,
         "event=send_refused reason=agreement check=local type=%s purpose=%s detail=\"%s\"",
         req->signal_type, req->purpose, result->detail);
    return -1;
}

/* A share into a case conference: the pseudonym is the case's and the
   case's rule was checked (cases.c), so no pseudonym service and no
   `agreements:` precheck; sealed and stored at once. */
static int s_send_case(daemon_t *self, const send_request_t *req, const char **orgs, size_t n_orgs,
                       Hartslag__Urgency urgency, send_result_t *result)
{
    uint64_t now = daemon_now_ms();
    unsigned char id[ENVELOPE_SIGNAL_ID_BYTES];
    for (int i = 0; i < 6; i++)
        id[i] = (unsigned char)(now >> (40 - 8 * i));
    randombytes_buf(id + 6, sizeof id - 6);
    Hartslag__ContentField fields[WIRE_FIELDS_MAX];
    Hartslag__ContentField *field_ptrs[WIRE_FIELDS_MAX];
    for (size_t i = 0; i < req->n_fields; i++) {
        hartslag__content_field__init(&fields[i]);
        fields[i].name = (char *)req->field_names[i];
        fields[i].value = (char *)req->field_values[i];
        field_ptrs[i] = &fields[i];
    }
    Hartslag__SignalDraft draft = HARTSLAG__SIGNAL_DRAFT__INIT;
    draft.signal_id = (ProtobufCBinaryData){sizeof id, id};
    draft.n_recipients = n_orgs;
    draft.recipients = (char **)orgs;
    draft.signal_type = (char *)req->signal_type;
    draft.purpose = (char *)req->purpose;
    draft.sender_user = (char *)req->user;
    draft.urgency = urgency;
    draft.created_at_ms = now;
    draft.valid_until_ms = now + (uint64_t)req->valid_days * DAY_MS;
    draft.n_fields = req->n_fields;
    draft.fields = field_ptrs;
    draft.free_text = (char *)req->free_text;
    draft.subject_kind = "case";
    draft.subject = "";
    draft.has_case_id = 1;
    draft.case_id = (ProtobufCBinaryData){ENVELOPE_SIGNAL_ID_BYTES, (uint8_t *)req->case_id};
    if (req->case_item) {
        draft.has_case_item = 1;
        draft.case_item =
            (ProtobufCBinaryData){ENVELOPE_SIGNAL_ID_BYTES, (uint8_t *)req->case_item};
    }
    if (req->reshare_of) {
        draft.has_reshare_of = 1;
        draft.reshare_of =
            (ProtobufCBinaryData){ENVELOPE_SIGNAL_ID_BYTES, (uint8_t *)req->reshare_of};
    }
    return s_seal_store(self, &draft, req->pseudonym, NULL, result);
}

int outbound_send(daemon_t *self, const send_request_t *req, send_result_t *result)
{
    memset(result, 0, sizeof *result);
    if (self->n_submits == DAEMON_SENDS_MAX)
        daemon_flush(self);
    char tobuf[ENVELOPE_RECIPIENTS_MAX * (NAMES_ORG_MAX + 1) + 1];
    const char *orgs[ENVELOPE_RECIPIENTS_MAX];
    size_t n_orgs = 0;
    if (s_recipients(self, req->to, tobuf, sizeof tobuf, orgs, &n_orgs, result) != 0)
        return -1;
    if (!names_is_token(req->signal_type) || !names_is_token(req->purpose)) {
        s_fail(result, "usage", "--type and --purpose must be tokens ([a-z0-9_-], at most 64)");
        return -1;
    }
    if (!names_is_user(req->user)) {
        s_fail(result, "usage", "--user must be your organisation's id for you: " NAMES_USER_RULE);
        return -1;
    }
    Hartslag__Urgency urgency;
    if (s_urgency(req->urgency, &urgency) != 0) {
        s_fail(result, "usage", "--urgency must be routine, priority or urgent");
        return -1;
    }
    if (req->valid_days < 1 || req->valid_days > DAEMON_VALID_DAYS_MAX) {
        s_fail(result, "usage", "--valid-days must be 1..%d", DAEMON_VALID_DAYS_MAX);
        return -1;
    }
    if (req->n_fields > WIRE_FIELDS_MAX) {
        s_fail(result, "usage", "at most %d fields", WIRE_FIELDS_MAX);
        return -1;
    }
    for (size_t i = 0; i < req->n_fields; i++) {
        if (!names_is_token(req->field_names[i])) {
            s_fail(result, "usage", "field name '%s' is not a token ([a-z0-9_-])",
                   req->field_names[i]);
            return -1;
        }
        if (strcmp(req->field_names[i], ENVELOPE_FREE_TEXT_FIELD) == 0) {
            s_fail(result, "usage", "give the explanation with --text, not as a field");
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(req->field_names[i], req->field_names[j]) == 0) {
                s_fail(result, "usage", "field '%s' is given twice", req->field_names[i]);
                return -1;
            }
    }
    if (req->n_fields == 0 && !req->free_text) {
        s_fail(result, "usage", "a signal needs at least one --field or --text");
        return -1;
    }
    if (req->case_id && req->pseudonym)
        return s_send_case(self, req, orgs, n_orgs, urgency, result);
    pseudonym_kind_t kind;
    if (!req->subject_kind || pseudonym_kind_from_string(req->subject_kind, &kind) != 0 ||
        !req->subject) {
        s_fail(result, "usage",
               "give the subject: --subject-bsn, --subject-address or --subject-case");
        return -1;
    }
    char subject_id[PSEUDONYM_NORMALISED_MAX + 1];
    const char *perr = NULL;
    if (pseudonym_normalise(kind, req->subject, subject_id, sizeof subject_id, &perr) != 0) {
        s_fail(result, "usage", "invalid --subject-%s: %s", req->subject_kind,
               perr ? perr : "not accepted");
        return -1;
    }
    unsigned char subject[PSEUDONYM_BYTES];
    int cached = pseudonymise_cached(self, kind, subject_id, subject, &perr);
    if (cached < 0) {
        sodium_memzero(subject_id, sizeof subject_id);
        s_fail(result, "usage", "invalid --subject-%s: %s", req->subject_kind,
               perr ? perr : "not accepted");
        return -1;
    }
    int rc = -1;
    if (s_precheck(self, req, orgs, n_orgs, result) != 0)
        goto done;
    envelope_recipient_t recipients[ENVELOPE_RECIPIENTS_MAX];
    if (s_recipient_keys(self, orgs, n_orgs, recipients, result) != 0)
        goto done;
    uint64_t now = daemon_now_ms();
    unsigned char id[ENVELOPE_SIGNAL_ID_BYTES];
    for (int i = 0; i < 6; i++)
        id[i] = (unsigned char)(now >> (40 - 8 * i));
    randombytes_buf(id + 6, sizeof id - 6);
    Hartslag__ContentField fields[WIRE_FIELDS_MAX];
    Hartslag__ContentField *field_ptrs[WIRE_FIELDS_MAX];
    for (size_t i = 0; i < req->n_fields; i++) {
        hartslag__content_field__init(&fields[i]);
        fields[i].name = (char *)req->field_names[i];
        fields[i].value = (char *)req->field_values[i];
        field_ptrs[i] = &fields[i];
    }
    Hartslag__SignalDraft draft = HARTSLAG__SIGNAL_DRAFT__INIT;
    draft.signal_id.data = id;
    draft.signal_id.len = sizeof id;
    draft.n_recipients = n_orgs;
    draft.recipients = (char **)orgs;
    draft.signal_type = (char *)req->signal_type;
    draft.purpose = (char *)req->purpose;
    draft.sender_user = (char *)req->user;
    draft.urgency = urgency;
    draft.created_at_ms = now;
    draft.valid_until_ms = now + (uint64_t)req->valid_days * DAY_MS;
    draft.n_fields = req->n_fields;
    draft.fields = field_ptrs;
    draft.free_text = (char *)req->free_text;
    draft.subject_kind = (char *)req->subject_kind;
    draft.subject = subject_id;
    rc = cached ? s_seal_store(self, &draft, subject, NULL, result)
                : s_store_waiting(self, &draft, result);
done:
    sodium_memzero(subject_id, sizeof subject_id);
    sodium_memzero(subject, sizeof subject);
    return rc;
}

/* The recipients' box keys from their certificates, valid now. */
static int s_recipient_keys(daemon_t *self, const char *const *orgs, size_t n_orgs,
                            envelope_recipient_t *recipients, send_result_t *result)
{
    for (size_t i = 0; i < n_orgs; i++) {
        const cert_t *cert = partners_by_org(self->partners, orgs[i]);
        if (cert && !cert_valid_at(cert, (int64_t)daemon_now_ms())) {
            s_fail(result, "unknown_partner",
                   "the certificate of '%s' is no longer valid (ask the coordinator for its "
                   "renewed one, then send hartslagd SIGHUP)",
                   orgs[i]);
            return -1;
        }
        if (!cert) {
            s_fail(result, "unknown_partner",
                   "no valid certificate for '%s' in %s (ask the coordinator for it, then "
                   "send hartslagd SIGHUP)",
                   orgs[i], self->settings.certificates);
            return -1;
        }
        recipients[i].org = orgs[i];
        memcpy(recipients[i].box_pk, cert->box_key, sizeof recipients[i].box_pk);
    }
    return 0;
}

/* "org,org,..." of the draft's recipients into `joined`. */
static void s_join_recipients(const Hartslag__SignalDraft *d, char *joined, size_t size)
{
    size_t pos = 0;
    joined[0] = '\0';
    for (size_t i = 0; i < d->n_recipients && pos < size; i++)
        pos += (size_t)snprintf(joined + pos, size - pos, "%s%s", i ? "," : "", d->recipients[i]);
}

/* A new outbox row for the draft (strings borrowed from `d` and `joined`). */
static void s_outbox_entry(const Hartslag__SignalDraft *d, const char *hex, char *joined,
                           uint8_t *sealed, size_t sealed_len, const char *state,
                           store_outbox_t *entry)
{
    memset(entry, 0, sizeof *entry);
    memcpy(entry->signal_id, hex, sizeof entry->signal_id);
    entry->sealed = sealed;
    entry->sealed_len = sealed_len;
    entry->recipients = joined;
    entry->signal_type = d->signal_type;
    entry->purpose = d->purpose;
    entry->sender_user = d->sender_user;
    entry->state = (char *)state;
    entry->created_ms = d->created_at_ms;
}

/* Seals `draft` with its pseudonym and writes the outbox entry (new, or
   the waiting entry `waiting_id`), its audit row and the expected records,
   in one item of the turn transaction; submitted after the commit. */
static int s_seal_store(daemon_t *self, const Hartslag__SignalDraft *d,
                        const unsigned char pseudonym[PSEUDONYM_BYTES], const char *waiting_id,
                        send_result_t *result)
{
    if (self->n_submits == DAEMON_SENDS_MAX)
        daemon_flush(self);
    envelope_recipient_t recipients[ENVELOPE_RECIPIENTS_MAX];
    if (d->n_recipients == 0 || d->n_recipients > ENVELOPE_RECIPIENTS_MAX ||
        d->n_fields > WIRE_FIELDS_MAX ||
        s_recipient_keys(self, (const char *const *)d->recipients, d->n_recipients, recipients,
                         result) != 0) {
        if (!result->code[0])
            s_fail(result, "invalid", "the signal's recipients or fields are out of range");
        return -1;
    }
    envelope_field_t fields[WIRE_FIELDS_MAX];
    for (size_t i = 0; i < d->n_fields; i++) {
        fields[i].name = d->fields[i]->name;
        fields[i].value = d->fields[i]->value;
    }
    envelope_draft_t draft;
    memset(&draft, 0, sizeof draft);
    memcpy(draft.subject, pseudonym, sizeof draft.subject);
    draft.subject_scheme = PSEUDONYM_SCHEME_OPRF;
    draft.subject_key_version = self->service_key.key_version;
    draft.signal_id = d->signal_id.len == ENVELOPE_SIGNAL_ID_BYTES ? d->signal_id.data : NULL;
    draft.sender = self->settings.org;
    draft.sender_user = d->sender_user;
    draft.signal_type = d->signal_type;
    draft.purpose = d->purpose;
    draft.agreements_version = agreements_version(self->agreements);
    draft.fields = fields;
    draft.n_fields = d->n_fields;
    draft.free_text = d->free_text;
    draft.created_at_ms = d->created_at_ms;
    draft.valid_until_ms = d->valid_until_ms;
    draft.urgency = d->urgency;
    draft.case_id =
        d->has_case_id && d->case_id.len == ENVELOPE_SIGNAL_ID_BYTES ? d->case_id.data : NULL;
    draft.case_item =
        d->has_case_item && d->case_item.len == ENVELOPE_SIGNAL_ID_BYTES ? d->case_item.data : NULL;
    draft.reshare_of = d->has_reshare_of && d->reshare_of.len == ENVELOPE_SIGNAL_ID_BYTES
                           ? d->reshare_of.data
                           : NULL;
    envelope_sender_t sender = {.sign_sk = keyfile_sign_secret(self->keys),
                                .keyring = self->keyring};
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    unsigned char id[ENVELOPE_SIGNAL_ID_BYTES];
    const char *why = NULL;
    envelope_error_t err =
        envelope_seal(&draft, &sender, recipients, d->n_recipients, &sealed, &sealed_len, id, &why);
    sodium_memzero(draft.subject, sizeof draft.subject);
    if (err != ENVELOPE_OK) {
        s_fail(result, err == ENVELOPE_ERR_NOMEM ? "internal" : "invalid", "cannot seal: %s%s%s",
               envelope_strerror(err), why ? " " : "", why ? why : "");
        return -1;
    }
    char hex[STORE_ID_HEX];
    daemon_id_hex(id, sizeof id, hex);
    char joined[ENVELOPE_RECIPIENTS_MAX * (NAMES_ORG_MAX + 1) + 1];
    s_join_recipients(d, joined, sizeof joined);
    store_audit_t audit = {.event = "sent",
                           .signal_id = hex,
                           .counterpart = joined,
                           .actor_user = d->sender_user,
                           .signal_type = d->signal_type,
                           .purpose = d->purpose};
    bool written = false;
    if (daemon_item_begin(self) == 0) {
        bool ok;
        if (waiting_id) {
            ok = store_outbox_seal(self->store, waiting_id, sealed, sealed_len) == 1;
        } else {
            store_outbox_t entry;
            s_outbox_entry(d, hex, joined, sealed, sealed_len, "pending", &entry);
            ok = store_outbox_add(self->store, &entry) == 0;
        }
        written = daemon_item_end(self, ok && store_audit(self->store, &audit) == 0 &&
                                            inclusion_expect_sent(self, sealed, sealed_len) == 0);
    }
    if (!written) {
        s_fail(result, "internal", "cannot store the signal in the outbox: %s",
               self->txn_error[0] ? self->txn_error : "not waiting any more");
        free(sealed);
        return -1;
    }
    /* In the turn transaction: submitted (and answered, control.c) once it
       commits; never before, so the broker never holds a signal our outbox
       could lose. */
    pending_submit_t *pending = &self->submits[self->n_submits++];
    memcpy(pending->signal_id, hex, sizeof pending->signal_id);
    pending->sealed = sealed;
    pending->sealed_len = sealed_len;
    strbuf_printf(&pending->log, "to=%s type=%s purpose=%s fields=%zu", joined, d->signal_type,
                  d->purpose, d->n_fields + (d->free_text ? 1 : 0));
    memcpy(result->signal_id, hex, sizeof result->signal_id);
    result->state = "pending";
    return 0;
}

/* No pseudonym at hand: the signal waits in the outbox as its draft, sealed
   to our own box key, until the pseudonym service answers
   (pseudonymise.c). The identifier is never stored in clear. */
static int s_store_waiting(daemon_t *self, const Hartslag__SignalDraft *d, send_result_t *result)
{
    size_t plain_len = hartslag__signal_draft__get_packed_size(d);
    size_t box_len = plain_len + crypto_box_SEALBYTES;
    uint8_t *plain = sodium_malloc(plain_len ? plain_len : 1);
    uint8_t *box = malloc(box_len);
    if (!plain || !box) {
        if (plain)
            sodium_free(plain);
        free(box);
        s_fail(result, "internal", "out of memory");
        return -1;
    }
    hartslag__signal_draft__pack(d, plain);
    int sealed = crypto_box_seal(box, plain, plain_len, keyfile_box_public(self->keys));
    sodium_memzero(plain, plain_len);
    sodium_free(plain);
    if (sealed != 0) {
        free(box);
        s_fail(result, "internal", "cannot seal the waiting signal");
        return -1;
    }
    char hex[STORE_ID_HEX];
    daemon_id_hex(d->signal_id.data, d->signal_id.len, hex);
    char joined[ENVELOPE_RECIPIENTS_MAX * (NAMES_ORG_MAX + 1) + 1];
    s_join_recipients(d, joined, sizeof joined);
    store_outbox_t entry;
    s_outbox_entry(d, hex, joined, box, box_len, "pseudonym", &entry);
    bool written = daemon_item_begin(self) == 0 &&
                   daemon_item_end(self, store_outbox_add(self->store, &entry) == 0);
    free(box);
    if (!written) {
        s_fail(result, "internal", "cannot store the signal in the outbox: %s", self->txn_error);
        return -1;
    }
    dlog(DLOG_INFO, "event=signal_waiting signal=%s reason=pseudonym to=%s type=%s purpose=%s", hex,
         joined, d->signal_type, d->purpose);
    self->pseudonyms_due = true;
    memcpy(result->signal_id, hex, sizeof result->signal_id);
    result->state = "pseudonym";
    return 0;
}

Hartslag__SignalDraft *outbound_open_draft(daemon_t *self, const uint8_t *sealed, size_t len)
{
    if (!sealed || len <= crypto_box_SEALBYTES || len > 2 * ENVELOPE_SEALED_MAX)
        return NULL;
    size_t plain_len = len - crypto_box_SEALBYTES;
    uint8_t *plain = sodium_malloc(plain_len);
    if (!plain)
        return NULL;
    Hartslag__SignalDraft *draft = NULL;
    if (crypto_box_seal_open(plain, sealed, len, keyfile_box_public(self->keys),
                             keyfile_box_secret(self->keys)) == 0)
        draft = hartslag__signal_draft__unpack(NULL, plain_len, plain);
    sodium_memzero(plain, plain_len);
    sodium_free(plain);
    return draft;
}

void outbound_free_draft(Hartslag__SignalDraft **draft_p)
{
    if (!draft_p || !*draft_p)
        return;
    Hartslag__SignalDraft *d = *draft_p;
    if (d->subject)
        sodium_memzero(d->subject, strlen(d->subject));
    for (size_t i = 0; i < d->n_fields; i++)
        if (d->fields[i]->value)
            sodium_memzero(d->fields[i]->value, strlen(d->fields[i]->value));
    if (d->free_text)
        sodium_memzero(d->free_text, strlen(d->free_text));
    hartslag__signal_draft__free_unpacked(d, NULL);
    *draft_p = NULL;
}

int outbound_seal_waiting(daemon_t *self, const char *signal_id,
                          const unsigned char pseudonym[PSEUDONYM_BYTES])
{
    store_outbox_t entry;
    int found = store_outbox_get(self->store, signal_id, &entry);
    if (found <= 0 || strcmp(entry.state, "pseudonym") != 0) {
        if (found > 0)
            store_outbox_clear(&entry);
        return found < 0 ? -1 : 0; /* withdrawn meanwhile: nothing to send */
    }
    Hartslag__SignalDraft *draft = outbound_open_draft(self, entry.sealed, entry.sealed_len);
    store_outbox_clear(&entry);
    send_result_t result;
    memset(&result, 0, sizeof result);
    int rc = -1;
    if (!draft) {
        s_fail(&result, "invalid", "the waiting draft cannot be opened with our keys");
    } else {
        rc = s_seal_store(self, draft, pseudonym, signal_id, &result);
    }
    outbound_free_draft(&draft);
    if (rc == 0) {
        dlog(DLOG_INFO, "event=signal_pseudonymised signal=%s", signal_id);
        return 0;
    }
    if (strcmp(result.code, "internal") == 0) {
        dlog(DLOG_ERROR, "event=store_failed op=seal_waiting signal=%s", signal_id);
        return -1; /* keeps waiting; tried again with the next answer */
    }
    /* It can never be sealed (a recipient's certificate is gone): say so
       in the outbox rather than wait for ever. */
    if (daemon_item_begin(self) == 0)
        (void)daemon_item_end(self,
                              store_outbox_set_state(self->store, signal_id, "denied", "not_sealed",
                                                     result.message, true) == 0);
    dlog(DLOG_WARN, "event=signal_not_sealed signal=%s code=%s", signal_id, result.code);
    return -1;
}

void outbound_flush(daemon_t *self, bool committed)
{
    size_t n = self->n_submits;
    self->n_submits = 0;
    for (size_t i = 0; i < n; i++) {
        pending_submit_t *p = &self->submits[i];
        if (committed) {
            dlog(DLOG_INFO, "event=signal_sent signal=%s %s", p->signal_id, strbuf_text(&p->log));
            if (self->connected && self->broker) {
                store_outbox_t entry;
                memset(&entry, 0, sizeof entry);
                memcpy(entry.signal_id, p->signal_id, sizeof entry.signal_id);
                entry.sealed = p->sealed;
                entry.sealed_len = p->sealed_len;
                s_submit(self, &entry);
            }
        }
        free(p->sealed);
        p->sealed = NULL;
        strbuf_wipe(&p->log);
    }
    n = self->n_accepts;
    size_t written = self->n_accepts_written;
    self->n_accepts = self->n_accepts_written = 0;
    for (size_t i = 0; i < n; i++) {
        pending_accept_t *a = &self->accepts[i];
        if (!committed || i >= written) {
            if (a->updated)
                dlog(DLOG_ERROR, "event=store_failed op=accepted signal=%s", a->signal_id);
            continue; /* still pending: resubmitted, accepted again */
        }
        if (a->updated)
            dlog(DLOG_INFO, "event=signal_accepted signal=%s audit_index=%llu", a->signal_id,
                 (unsigned long long)a->audit_index);
        if (a->known && self->control)
            control_resolve(self, WAIT_OUTCOME, a->signal_id);
    }
}

bool outbound_unwritten(const daemon_t *self)
{
    return self->n_accepts_written < self->n_accepts;
}

bool outbound_write(daemon_t *self)
{
    if (!outbound_unwritten(self))
        return false;
    for (size_t i = self->n_accepts_written; i < self->n_accepts; i++) {
        pending_accept_t *a = &self->accepts[i];
        int moved = -1;
        if (daemon_item_begin(self) == 0) {
            moved = store_outbox_accept(self->store, a->signal_id, a->accepted_ms, a->audit_index);
            if (moved == 1 && inclusion_accepted(self, a->signal_id, a->audit_index) != 0)
                moved = -1;
            if (!daemon_item_end(self, moved >= 0))
                moved = -1;
        }
        a->updated = moved == 1;
        a->known = moved != 0;
        if (moved < 0)
            dlog(DLOG_ERROR, "event=store_failed op=accepted signal=%s", a->signal_id);
        else if (moved == 0) {
            /* Not pending: accepted already (a resubmission), or not ours. */
            store_outbox_t entry;
            int found = store_outbox_get(self->store, a->signal_id, &entry);
            a->known = found != 0;
            if (found == 0)
                dlog(DLOG_WARN, "event=accepted_unknown signal=%s", a->signal_id);
            else if (found > 0)
                store_outbox_clear(&entry);
        }
    }
    self->n_accepts_written = self->n_accepts;
    return true;
}

/* Loads the outbox entry of a broker answer; 1 found, 0 not (logged). */
static int s_entry(daemon_t *self, const ProtobufCBinaryData *sid, char id[STORE_ID_HEX],
                   store_outbox_t *entry, const char *what)
{
    daemon_id_hex(sid->data, sid->len, id);
    if (!id[0]) {
        dlog(DLOG_WARN, "event=%s_refused reason=bad_signal_id", what);
        return 0;
    }
    int found = store_outbox_get(self->store, id, entry);
    if (found <= 0)
        dlog(found < 0 ? DLOG_ERROR : DLOG_WARN, "event=%s_unknown signal=%s", what, id);
    return found > 0;
}

void outbound_accepted(daemon_t *self, const Hartslag__Accepted *accepted)
{
    if (self->n_accepts == DAEMON_BATCH_MAX)
        daemon_flush(self);
    char id[STORE_ID_HEX];
    daemon_id_hex(accepted->signal_id.data, accepted->signal_id.len, id);
    if (!id[0]) {
        dlog(DLOG_WARN, "event=accepted_refused reason=bad_signal_id");
        return;
    }
    /* Written at daemon_flush (outbound_write), logged and told to
       `send --wait` once that commit is done. */
    pending_accept_t *a = &self->accepts[self->n_accepts++];
    memset(a, 0, sizeof *a);
    memcpy(a->signal_id, id, sizeof a->signal_id);
    a->accepted_ms = accepted->accepted_at_ms;
    a->audit_index = accepted->audit_index;
}

void outbound_denied(daemon_t *self, const Hartslag__Denied *denied)
{
    char id[STORE_ID_HEX];
    store_outbox_t entry;
    if (!s_entry(self, &denied->signal_id, id, &entry, "denied"))
        return;
    const char *reason = s_is_reason(denied->reason) ? denied->reason : "unreadable_reason";
    /* Not a verdict on the signal: the broker is busy or its disk failed.
       The entry stays pending and is submitted again. */
    if (strcmp(reason, "rate_limited") == 0 || strcmp(reason, "storage_unavailable") == 0) {
        dlog(DLOG_WARN, "event=submit_deferred signal=%s reason=%s retry_in_ms=%d", id, reason,
             DAEMON_RESUBMIT_MS);
        store_outbox_clear(&entry);
        return;
    }
    char detail[2048] = "";
    size_t pos = 0;
    for (size_t i = 0; i < denied->n_recipients && i < ENVELOPE_RECIPIENTS_MAX; i++) {
        const Hartslag__RecipientDenial *r = denied->recipients[i];
        if (!names_is_org(r->recipient) || !s_is_reason(r->reason))
            continue;
        int n = snprintf(detail + pos, sizeof detail - pos, "%s%s=%s", pos ? " " : "", r->recipient,
                         r->reason);
        if (n < 0 || (size_t)n >= sizeof detail - pos)
            break;
        pos += (size_t)n;
    }
    if (strcmp(entry.state, "pending") == 0) {
        store_audit_t audit = {.event = "denied",
                               .signal_id = id,
                               .counterpart = entry.recipients,
                               .actor_user = entry.sender_user,
                               .signal_type = entry.signal_type,
                               .purpose = entry.purpose,
                               .reason = reason};
        if (store_begin(self->store) == 0 &&
            store_outbox_set_state(self->store, id, "denied", reason, pos ? detail : NULL, true) ==
                0 &&
            store_audit(self->store, &audit) == 0 && store_commit(self->store) == 0)
            dlog(DLOG_INFO, "event=signal_denied signal=%s reason=%s detail=\"%s\"", id, reason,
                 detail);
        else {
            store_rollback(self->store);
            dlog(DLOG_ERROR, "event=store_failed op=denied signal=%s", id);
        }
    }
    store_outbox_clear(&entry);
    control_resolve(self, WAIT_OUTCOME, id);
}

void outbound_expired(daemon_t *self, const Hartslag__Expired *expired)
{
    char id[STORE_ID_HEX];
    store_outbox_t entry;
    if (!s_entry(self, &expired->signal_id, id, &entry, "expired"))
        return;
    if (!names_is_org(expired->recipient)) {
        store_outbox_clear(&entry);
        return;
    }
    char detail[2048];
    snprintf(detail, sizeof detail, "%s%s%s=expired", entry.detail ? entry.detail : "",
             entry.detail ? " " : "", expired->recipient);
    store_audit_t audit = {.event = "expired",
                           .signal_id = id,
                           .counterpart = expired->recipient,
                           .actor_user = entry.sender_user,
                           .signal_type = entry.signal_type,
                           .purpose = entry.purpose,
                           .reason = "max_queue_days"};
    if (store_begin(self->store) == 0 &&
        store_outbox_set_state(self->store, id, "expired", "not_delivered", detail, true) == 0 &&
        store_audit(self->store, &audit) == 0 && store_commit(self->store) == 0)
        dlog(DLOG_WARN, "event=signal_expired signal=%s recipient=%s", id, expired->recipient);
    else {
        store_rollback(self->store);
        dlog(DLOG_ERROR, "event=store_failed op=expired signal=%s", id);
    }
    store_outbox_clear(&entry);
}

void outbound_outcome(daemon_t *self, const Hartslag__DeliveryOutcome *outcome)
{
    if (outcome->notice_id.len != 16 || !names_is_org(outcome->recipient) ||
        (!outcome->stored && outcome->reason && !s_is_reason(outcome->reason))) {
        dlog(DLOG_WARN, "event=frame_refused reason=bad_delivery_outcome");
        return;
    }
    char id[STORE_ID_HEX];
    daemon_id_hex(outcome->signal_id.data, outcome->signal_id.len, id);
    if (!id[0]) {
        dlog(DLOG_WARN, "event=frame_refused reason=bad_delivery_outcome");
        return;
    }
    if (self->n_acks == DAEMON_BATCH_MAX)
        daemon_flush(self);
    /* Written in the turn transaction, like deliveries: an fsync per
       outcome would halve a busy sender's throughput. The broker's notice
       is acknowledged after the commit (inbound_flush), and also when the
       signal is unknown here (an outbox restored from an older backup): the
       broker keeps a notice until it is. */
    store_outbox_t entry;
    int found = store_outbox_get(self->store, id, &entry);
    if (found < 0) {
        dlog(DLOG_ERROR, "event=store_failed op=outcome signal=%s", id);
        return; /* not acknowledged: the broker sends it again */
    }
    if (found == 0)
        dlog(DLOG_WARN, "event=outcome_unknown signal=%s", id);
    else {
        const char *reason = outcome->stored   ? NULL
                             : outcome->reason ? outcome->reason
                                               : "unspecified";
        store_audit_t audit = {.event = outcome->stored ? "delivered" : "rejected_by_recipient",
                               .signal_id = id,
                               .counterpart = outcome->recipient,
                               .actor_user = entry.sender_user,
                               .signal_type = entry.signal_type,
                               .purpose = entry.purpose,
                               .reason = reason};
        int added = -1;
        bool ok =
            daemon_item_begin(self) == 0 &&
            daemon_item_end(
                self, (added = store_outcome_add(self->store, id, outcome->recipient,
                                                 outcome->stored, reason, outcome->at_ms)) >= 0 &&
                          (added == 0 || store_audit(self->store, &audit) == 0));
        store_outbox_clear(&entry);
        if (!ok) {
            dlog(DLOG_ERROR, "event=store_failed op=outcome signal=%s", id);
            inbound_notice_lost(self); /* asked for again with a Hello */
            return;
        }
        if (added == 1)
            dlog(outcome->stored ? DLOG_INFO : DLOG_WARN, "event=%s signal=%s recipient=%s%s%s",
                 outcome->stored ? "recipient_stored" : "recipient_refused", id, outcome->recipient,
                 reason ? " reason=" : "", reason ? reason : "");
    }
    (void)inbound_queue_ack(self, &outcome->notice_id, true, NULL);
}

int outbound_withdraw(daemon_t *self, const char *signal_id, const char *reason,
                      send_result_t *result)
{
    memset(result, 0, sizeof *result);
    if (!names_is_token(reason)) {
        s_fail(result, "usage", "--reason must be a token, e.g. unjustified or resolved");
        return -1;
    }
    store_outbox_t entry;
    int found = store_outbox_get(self->store, signal_id, &entry);
    if (found <= 0) {
        s_fail(result, found < 0 ? "internal" : "not_found",
               found < 0 ? "outbox database error"
                         : "no signal %s in the outbox (only the "
                           "sender can withdraw a signal)",
               signal_id);
        return -1;
    }
    int rc = -1;
    if (strcmp(entry.state, "denied") == 0)
        s_fail(result, "invalid", "signal %s was denied; there is nothing to withdraw", signal_id);
    else if (strcmp(entry.state, "withdrawn") == 0)
        s_fail(result, "invalid", "signal %s is already withdrawn", signal_id);
    else if (strcmp(entry.state, "pseudonym") == 0) {
        /* Never sealed, never sent: withdrawn here, its draft wiped. */
        store_audit_t audit = {.event = "withdrawn",
                               .signal_id = signal_id,
                               .counterpart = entry.recipients,
                               .actor_user = entry.sender_user,
                               .signal_type = entry.signal_type,
                               .purpose = entry.purpose,
                               .reason = reason};
        if (daemon_item_begin(self) != 0 ||
            !daemon_item_end(self, store_outbox_set_state(self->store, signal_id, "withdrawn",
                                                          reason, NULL, true) == 0 &&
                                       store_audit(self->store, &audit) == 0))
            s_fail(result, "internal", "outbox database error: %s", self->txn_error);
        else {
            dlog(DLOG_INFO, "event=withdrawn signal=%s reason=%s before=pseudonym", signal_id,
                 reason);
            memcpy(result->signal_id, signal_id, sizeof result->signal_id);
            result->state = "withdrawn";
            rc = 0;
        }
    } else if (store_outbox_set_withdrawing(self->store, signal_id, reason) != 0)
        s_fail(result, "internal", "outbox database error: %s", store_error(self->store));
    else {
        dlog(DLOG_INFO, "event=withdraw_requested signal=%s reason=%s", signal_id, reason);
        s_send_withdraw(self, signal_id, reason);
        memcpy(result->signal_id, signal_id, sizeof result->signal_id);
        rc = 0;
    }
    store_outbox_clear(&entry);
    return rc;
}

void outbound_withdraw_result(daemon_t *self, const Hartslag__WithdrawResult *wr)
{
    char id[STORE_ID_HEX];
    store_outbox_t entry;
    if (!s_entry(self, &wr->signal_id, id, &entry, "withdraw_result"))
        return;
    if (strcmp(entry.state, "withdrawing") == 0) {
        const char *reason = wr->reason && s_is_reason(wr->reason) ? wr->reason : NULL;
        store_audit_t audit = {.event = wr->ok ? "withdrawn" : "withdraw_refused",
                               .signal_id = id,
                               .counterpart = entry.recipients,
                               .actor_user = entry.sender_user,
                               .signal_type = entry.signal_type,
                               .purpose = entry.purpose,
                               .reason = wr->ok ? entry.withdraw_reason : reason};
        char refused[160];
        snprintf(refused, sizeof refused, "withdraw_refused:%s", reason ? reason : "unknown");
        const char *state = wr->ok ? "withdrawn" : entry.accepted_ms ? "accepted" : "pending";
        if (store_begin(self->store) == 0 &&
            store_outbox_set_state(self->store, id, state, wr->ok ? NULL : refused, NULL, wr->ok) ==
                0 &&
            store_audit(self->store, &audit) == 0 && store_commit(self->store) == 0)
            dlog(wr->ok ? DLOG_INFO : DLOG_WARN, "event=%s signal=%s%s%s",
                 wr->ok ? "signal_withdrawn" : "withdraw_refused", id,
                 wr->ok ? "" : " reason=", wr->ok ? "" : (reason ? reason : "unknown"));
        else {
            store_rollback(self->store);
            dlog(DLOG_ERROR, "event=store_failed op=withdraw_result signal=%s", id);
        }
    }
    store_outbox_clear(&entry);
    control_resolve(self, WAIT_WITHDRAW, id);
}
