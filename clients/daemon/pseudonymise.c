/*  pseudonymise: the daemon's side of the pseudonym service (issue 17,
    docs/pseudonyms.md). A subject becomes a pseudonym without this daemon
    ever holding a key that could make one: the identifier is blinded
    here, evaluated blind by the service, and the answer counts only when
    its proof verifies against the service's public key in its
    certificate. A signal whose subject is not in the memory-only cache
    waits in the outbox (state "pseudonym") until the service answered;
    several waiting signals share one request (a batch of up to 64), and
    two requests may be in flight: while the service evaluates one batch,
    this daemon blinds the next or checks the other's proof, so a backlog
    of new subjects keeps both cores busy.

    No fallback: a refusal, a bad proof or a silent service leaves the
    signals waiting, with the reason in `status`, and nothing is sent with
    a wrong or missing pseudonym. */
#include "daemon_internal.h"

#include "dlog.h"

#define SERVICE_ANSWER_MS 3000     /* an unanswered request is given up after this */
#define SERVICE_BACKOFF_MIN_MS 500 /* first wait after a failure */
#define SERVICE_BACKOFF_MAX_MS 30000
#define SERVICE_BAD_PROOF_WAIT_MS 60000 /* a service that fails its proof is asked rarely */
#define SERVICE_HEARTBEAT_MS 10000      /* so the service knows where to send a limit alert */
#define SERVICE_RESCAN_MS 5000          /* look for waiting signals at least this often */

int pseudonymise_open(daemon_t *self, char *err, size_t errlen)
{
    char cerr[600];
    const char *path = self->settings.pseudonym_service_cert;
    if (cert_load(path, &self->service_cert, cerr, sizeof cerr) != 0) {
        snprintf(err, errlen, "pseudonym_service_cert: %s", cerr);
        return -1;
    }
    if (self->service_cert.role != CERT_ROLE_PSEUDONYM_SERVICE) {
        snprintf(err, errlen,
                 "pseudonym_service_cert %s is not a pseudonym service's certificate "
                 "(role %s)",
                 path, cert_role_name(self->service_cert.role));
        return -1;
    }
    if (!cert_valid_at(&self->service_cert, (int64_t)daemon_now_ms())) {
        snprintf(err, errlen, "pseudonym_service_cert %s is not valid today", path);
        return -1;
    }
    memcpy(self->service_key.public_key, self->service_cert.oprf_key, OPRF_ELEMENTBYTES);
    self->service_key.key_version = self->service_cert.oprf_key_version;
    if (oprf_element_check(self->service_key.public_key) != OPRF_OK) {
        snprintf(err, errlen, "pseudonym_service_cert %s: its oprf-key is not a valid public key",
                 path);
        return -1;
    }
    self->subject_cache = subject_cache_new();
    bool batches = true;
    for (int f = 0; f < PSEUDONYM_FLIGHTS; f++)
        batches = (self->flights[f].batch = pseudonym_batch_new()) != NULL && batches;
    self->service = zsock_new(ZMQ_DEALER);
    if (!self->subject_cache || !batches || !self->service) {
        snprintf(err, errlen, "out of memory (pseudonym service)");
        return -1;
    }
    zsock_set_curve_serverkey_bin(self->service, self->service_cert.curve_key);
    zsock_set_curve_publickey_bin(self->service, keyfile_curve_public(self->keys));
    zsock_set_curve_secretkey_bin(self->service, keyfile_curve_secret(self->keys));
    zsock_set_reconnect_ivl(self->service, 100);
    zsock_set_reconnect_ivl_max(self->service, 5000);
    zsock_set_maxmsgsize(self->service, PSEUDONYM_SERVICE_FRAME_MAX);
    /* Nothing queues towards a service that is not there: a request that
       cannot leave now is retried later, not delivered late. */
    zsock_set_immediate(self->service, 1);
    zsock_set_linger(self->service, 0);
    zsock_set_sndtimeo(self->service, 0);
    if (zsock_connect(self->service, "%s", self->settings.pseudonym_service) != 0) {
        snprintf(err, errlen,
                 "cannot connect to the pseudonym service at %s (check "
                 "pseudonym_service)",
                 self->settings.pseudonym_service);
        return -1;
    }
    self->pseudonyms_due = true; /* signals may be waiting since the last run */
    return 0;
}

void pseudonymise_close(daemon_t *self)
{
    zsock_destroy(&self->service);
    subject_cache_destroy(&self->subject_cache);
    for (int f = 0; f < PSEUDONYM_FLIGHTS; f++)
        pseudonym_batch_destroy(&self->flights[f].batch);
}

bool pseudonymise_in_flight(const daemon_t *self)
{
    for (int f = 0; f < PSEUDONYM_FLIGHTS; f++)
        if (self->flights[f].deadline_ms)
            return true;
    return false;
}

/* Forgets every request out: their signals stay waiting, and a late
   answer is no longer ours. */
static void s_land_all(daemon_t *self)
{
    for (int f = 0; f < PSEUDONYM_FLIGHTS; f++) {
        pseudonym_batch_reset(self->flights[f].batch);
        self->flights[f].deadline_ms = 0;
    }
}

int pseudonymise_cached(daemon_t *self, pseudonym_kind_t kind, const char *id,
                        unsigned char out[PSEUDONYM_BYTES], const char **error)
{
    unsigned char input[PSEUDONYM_INPUT_MAX];
    size_t len = 0;
    if (pseudonym_oprf_input(kind, id, input, &len, error) != 0)
        return -1;
    bool found = subject_cache_get(self->subject_cache, input, len, self->service_key.key_version,
                                   daemon_now_ms(), out);
    sodium_memzero(input, sizeof input);
    return found ? 1 : 0;
}

static void s_problem(daemon_t *self, uint64_t now, uint64_t wait_ms, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A failure: the signals keep waiting, asked again after a growing wait. */
static void s_problem(daemon_t *self, uint64_t now, uint64_t wait_ms, const char *fmt, ...)
{
    char text[sizeof self->service_problem];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (strcmp(text, self->service_problem) != 0) {
        char q[400];
        dlog(DLOG_WARN, "event=pseudonym_service_problem endpoint=%s problem=%s",
             self->settings.pseudonym_service, dlog_quote(text, q, sizeof q));
        snprintf(self->service_problem, sizeof self->service_problem, "%s", text);
    }
    if (!self->service_down_since_ms)
        self->service_down_since_ms = now;
    if (!wait_ms) {
        wait_ms = self->service_backoff_ms ? self->service_backoff_ms : SERVICE_BACKOFF_MIN_MS;
        self->service_backoff_ms =
            wait_ms * 2 > SERVICE_BACKOFF_MAX_MS ? SERVICE_BACKOFF_MAX_MS : wait_ms * 2;
    }
    self->service_next_ms = now + wait_ms;
    case_open_failed(self, text); /* a person waits for those: told now */
    s_land_all(self);
}

typedef struct {
    daemon_t *self;
    pseudonym_flight_t *flight; /* the request being built */
    size_t slots;
    char hits[OPRF_BATCH_MAX][STORE_ID_HEX]; /* cached: sealed after the scan */
    unsigned char pseudonyms[OPRF_BATCH_MAX][PSEUDONYM_BYTES];
    size_t n_hits;
} gather_t;

/* Puts one waiting signal's subject in the batch (or, when an earlier
   answer in this run gave its pseudonym, notes it to be sealed once the
   scan is over: the scan reads the rows sealing would change). */
/* True when the signal is in a request out now. */
static bool s_asked(const daemon_t *self, const char *signal_id)
{
    for (int f = 0; f < PSEUDONYM_FLIGHTS; f++) {
        const pseudonym_flight_t *flight = &self->flights[f];
        if (!flight->deadline_ms)
            continue;
        for (size_t i = 0; i < pseudonym_batch_size(flight->batch); i++)
            if (memcmp(flight->ids[i], signal_id, STORE_ID_HEX) == 0)
                return true;
    }
    return false;
}

static int s_gather(void *arg, const store_outbox_t *entry)
{
    gather_t *g = arg;
    daemon_t *self = g->self;
    if (s_asked(self, entry->signal_id))
        return 0;
    Hartslag__SignalDraft *draft = outbound_open_draft(self, entry->sealed, entry->sealed_len);
    pseudonym_kind_t kind;
    if (!draft || pseudonym_kind_from_string(draft->subject_kind, &kind) != 0) {
        outbound_free_draft(&draft);
        dlog(DLOG_ERROR, "event=draft_unreadable signal=%s", entry->signal_id);
        return 0;
    }
    unsigned char pseudonym[PSEUDONYM_BYTES];
    const char *why = NULL;
    int cached = pseudonymise_cached(self, kind, draft->subject, pseudonym, &why);
    if (cached == 1) {
        outbound_free_draft(&draft);
        memcpy(g->hits[g->n_hits], entry->signal_id, STORE_ID_HEX);
        memcpy(g->pseudonyms[g->n_hits++], pseudonym, PSEUDONYM_BYTES);
        sodium_memzero(pseudonym, sizeof pseudonym);
        return g->n_hits == OPRF_BATCH_MAX;
    }
    size_t slot = 0;
    int added =
        cached == 0 ? pseudonym_batch_add(g->flight->batch, kind, draft->subject, &slot, &why) : -1;
    outbound_free_draft(&draft);
    if (added != 0) {
        dlog(DLOG_ERROR, "event=draft_unreadable signal=%s reason=subject", entry->signal_id);
        return 0;
    }
    memcpy(g->flight->ids[slot], entry->signal_id, STORE_ID_HEX);
    g->slots = slot + 1;
    return g->slots == OPRF_BATCH_MAX; /* full: the rest go with the next request */
}

static void s_ask(daemon_t *self, uint64_t now, int f)
{
    pseudonym_flight_t *flight = &self->flights[f];
    pseudonym_batch_reset(flight->batch);
    gather_t *g = sodium_malloc(sizeof *g);
    if (!g)
        return;
    memset(g, 0, sizeof *g);
    g->self = self;
    g->flight = flight;
    /* Opens first: a person waits for them, and a full outbox must not
       keep them out of every batch. */
    case_open_gather(self, f);
    g->slots = pseudonym_batch_size(flight->batch);
    int scanned = store_outbox_each(self->store, "pseudonym", s_gather, g);
    for (size_t i = 0; i < g->n_hits; i++)
        (void)outbound_seal_waiting(self, g->hits[i], g->pseudonyms[i]);
    if (g->n_hits)
        daemon_flush(self); /* submitted now, not after the next poll */
    if (g->n_hits == OPRF_BATCH_MAX)
        self->pseudonyms_due = true; /* more may wait */
    sodium_memzero(g, sizeof *g);
    sodium_free(g);
    if (scanned != 0) {
        dlog(DLOG_ERROR, "event=store_failed op=outbox_scan_waiting");
        return;
    }
    size_t asked = pseudonym_batch_size(flight->batch);
    if (asked == 0)
        return;
    uint8_t *bytes = NULL;
    size_t len = 0;
    const char *why = NULL;
    if (pseudonym_batch_request(flight->batch, "send", &self->service_key, now, &bytes, &len,
                                &why) != 0) {
        s_problem(self, now, 0, "cannot build a request: %s", why);
        return;
    }
    zframe_t *frame = zframe_new(bytes, len);
    free(bytes);
    if (!frame || zframe_send(&frame, self->service, ZFRAME_DONTWAIT) != 0) {
        zframe_destroy(&frame);
        s_problem(self, now, 0, "the pseudonym service at %s cannot be reached",
                  self->settings.pseudonym_service);
        return;
    }
    flight->deadline_ms = now + SERVICE_ANSWER_MS;
    if (asked == OPRF_BATCH_MAX)
        self->pseudonyms_due = true; /* a full batch: more may wait for the other request */
    int in_flight = 0;
    for (int i = 0; i < PSEUDONYM_FLIGHTS; i++)
        in_flight += self->flights[i].deadline_ms != 0;
    dlog(DLOG_DEBUG, "event=pseudonyms_requested count=%zu in_flight=%d", asked, in_flight);
}

/* Sends a small frame (heartbeat, ack) without waiting: 0, or -1 when no
   connection takes it now. */
static int s_send_frame(daemon_t *self, const Hartslag__PseudonymFrame *frame)
{
    uint8_t bytes[64];
    size_t len = hartslag__pseudonym_frame__get_packed_size(frame);
    if (len > sizeof bytes)
        return -1;
    hartslag__pseudonym_frame__pack(frame, bytes);
    zframe_t *out = zframe_new(bytes, len);
    int rc = out ? zframe_send(&out, self->service, ZFRAME_DONTWAIT) : -1;
    zframe_destroy(&out);
    return rc;
}

/* A Heartbeat now and then: the service can only send to a client it has
   heard from, and the coordinator's daemon must be reachable for limit
   alerts even when it sends nothing itself. */
static void s_heartbeat(daemon_t *self, uint64_t now_ms)
{
    Hartslag__Heartbeat heartbeat = HARTSLAG__HEARTBEAT__INIT;
    heartbeat.sent_at_ms = now_ms;
    Hartslag__PseudonymFrame frame = HARTSLAG__PSEUDONYM_FRAME__INIT;
    frame.version = 1;
    frame.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_HEARTBEAT;
    frame.heartbeat = &heartbeat;
    if (s_send_frame(self, &frame) == 0)
        self->service_heartbeat_ms = now_ms; /* else: not connected yet, next tick */
}

void pseudonymise_tick(daemon_t *self, uint64_t now_ms)
{
    case_open_tick(self, now_ms);
    if (now_ms - self->service_heartbeat_ms >= SERVICE_HEARTBEAT_MS)
        s_heartbeat(self, now_ms);
    for (int f = 0; f < PSEUDONYM_FLIGHTS; f++)
        if (self->flights[f].deadline_ms && now_ms >= self->flights[f].deadline_ms) {
            s_problem(self, now_ms, 0, "no answer from the pseudonym service at %s",
                      self->settings.pseudonym_service);
            break;
        }
    if (now_ms < self->service_next_ms)
        return;
    int free_flight = -1;
    for (int f = PSEUDONYM_FLIGHTS - 1; f >= 0; f--)
        if (!self->flights[f].deadline_ms)
            free_flight = f;
    if (free_flight < 0)
        return;
    /* Asked when a signal began waiting or an answer came, after a
       failure, and every few seconds anyway: no waiting signal can be
       forgotten by a missed wake-up. A second request joins one in flight
       only while the service answers: a silent one gets one probe. */
    bool idle = !pseudonymise_in_flight(self);
    if (idle ? (self->pseudonyms_due || self->service_down_since_ms ||
                now_ms - self->service_scan_ms >= SERVICE_RESCAN_MS)
             : (self->pseudonyms_due && !self->service_down_since_ms)) {
        self->pseudonyms_due = false;
        self->service_scan_ms = now_ms;
        s_ask(self, now_ms, free_flight);
    }
}

static void s_answered(daemon_t *self, uint64_t now, int f,
                       const uint8_t (*pseudonyms)[PSEUDONYM_BYTES])
{
    pseudonym_flight_t *flight = &self->flights[f];
    size_t n = pseudonym_batch_size(flight->batch);
    for (size_t i = 0; i < n; i++) {
        /* The cache first: another waiting signal about the same subject in
           this batch (or the next) needs no request of its own. */
        size_t len = 0;
        const uint8_t *input = pseudonym_batch_input(flight->batch, i, &len);
        if (input)
            subject_cache_put(self->subject_cache, input, len, self->service_key.key_version, now,
                              pseudonyms[i]);
        if (flight->ids[i][0])
            (void)outbound_seal_waiting(self, flight->ids[i], pseudonyms[i]);
    }
    case_open_answered(self, f, pseudonyms);
    if (self->service_down_since_ms || self->service_problem[0])
        dlog(DLOG_INFO, "event=pseudonym_service_answering endpoint=%s",
             self->settings.pseudonym_service);
    self->service_problem[0] = '\0';
    self->service_down_since_ms = 0;
    self->service_backoff_ms = 0;
    self->service_next_ms = 0;
    /* Signals that began waiting while this request was out are not in
       it: look again at once (most are now in the cache). */
    self->pseudonyms_due = true;
    pseudonym_batch_reset(flight->batch);
    flight->deadline_ms = 0;
}

/* The coordinator's daemon: a client of the service went over its limit. */
static void s_limit_alert(daemon_t *self, const Hartslag__PseudonymLimitAlert *alert)
{
    if (alert->alert_id.len != 16 || !names_is_org(alert->client_org) ||
        !names_is_token(alert->limit))
        return;
    char id[33];
    sodium_bin2hex(id, sizeof id, alert->alert_id.data, alert->alert_id.len);
    char json[512];
    snprintf(json, sizeof json,
             "{\"kind\":\"pseudonym_limit\",\"alert_id\":\"%s\",\"client\":\"%s\","
             "\"limit\":\"%s\",\"allowed\":%u,\"time_ms\":%llu,\"service_audit_index\":%llu}",
             id, alert->client_org, alert->limit, alert->allowed,
             (unsigned long long)alert->time_ms, (unsigned long long)alert->audit_index);
    store_audit_t audit = {
        .event = "pseudonym_limit_alert", .counterpart = alert->client_org, .reason = alert->limit};
    bool stored =
        daemon_item_begin(self) == 0 &&
        daemon_item_end(self,
                        store_audit(self->store, &audit) == 0 &&
                            (!self->hook ||
                             store_hook_event_add(self->store, id, "pseudonym_limit", json) == 0));
    if (!stored || daemon_flush(self) != 0)
        return; /* not acknowledged: the service sends it again */
    dlog(DLOG_WARN, "event=pseudonym_limit_alert client=%s limit=%s allowed=%u alert=%s",
         alert->client_org, alert->limit, alert->allowed, id);
    daemon_set_error(self, "the pseudonym service refused '%s' over its %s limit (%u)",
                     alert->client_org, alert->limit, alert->allowed);
    Hartslag__PseudonymLimitAlertAck ack = HARTSLAG__PSEUDONYM_LIMIT_ALERT_ACK__INIT;
    ack.alert_id = alert->alert_id;
    Hartslag__PseudonymFrame frame = HARTSLAG__PSEUDONYM_FRAME__INIT;
    frame.version = 1;
    frame.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_LIMIT_ALERT_ACK;
    frame.limit_alert_ack = &ack;
    (void)s_send_frame(self, &frame); /* lost: the service sends the alert again */
}

void pseudonymise_handle(daemon_t *self)
{
    for (int budget = 0; budget < 64; budget++) {
        zframe_t *in = zframe_recv_nowait(self->service);
        if (!in)
            return;
        uint64_t now = daemon_now_ms();
        Hartslag__PseudonymFrame *frame = pseudonym_frame_unpack(zframe_data(in), zframe_size(in));
        zframe_destroy(&in);
        if (!frame) {
            dlog(DLOG_WARN, "event=pseudonym_service_frame_refused reason=malformed");
            continue;
        }
        if (frame->body_case == HARTSLAG__PSEUDONYM_FRAME__BODY_LIMIT_ALERT) {
            s_limit_alert(self, frame->limit_alert);
            hartslag__pseudonym_frame__free_unpacked(frame, NULL);
            continue;
        }
        if (frame->body_case == HARTSLAG__PSEUDONYM_FRAME__BODY_HEARTBEAT) {
            hartslag__pseudonym_frame__free_unpacked(frame, NULL);
            continue;
        }
        if (!pseudonymise_in_flight(self)) { /* nothing asked (any more) */
            hartslag__pseudonym_frame__free_unpacked(frame, NULL);
            continue;
        }
        uint8_t(*pseudonyms)[PSEUDONYM_BYTES] = sodium_malloc(OPRF_BATCH_MAX * PSEUDONYM_BYTES);
        pseudonym_refusal_t refusal;
        memset(&refusal, 0, sizeof refusal);
        /* The request it answers, by its request id. */
        pseudonym_answer_t answer =
            pseudonyms ? PSEUDONYM_ANSWER_NOT_OURS : PSEUDONYM_ANSWER_MALFORMED;
        int f = -1;
        for (int i = 0; pseudonyms && i < PSEUDONYM_FLIGHTS; i++) {
            if (!self->flights[i].deadline_ms)
                continue;
            answer = pseudonym_batch_answer(self->flights[i].batch, &self->service_key, frame,
                                            pseudonyms, &refusal);
            if (answer != PSEUDONYM_ANSWER_NOT_OURS) {
                f = i;
                break;
            }
        }
        hartslag__pseudonym_frame__free_unpacked(frame, NULL);
        char fp[CERT_CURVE_FINGERPRINT_SIZE];
        switch (answer) {
        case PSEUDONYM_ANSWER_OK:
            s_answered(self, now, f, (const uint8_t(*)[PSEUDONYM_BYTES])pseudonyms);
            break;
        case PSEUDONYM_ANSWER_NOT_OURS:
            break;
        case PSEUDONYM_ANSWER_REFUSED:
            s_problem(self, now, refusal.retry_after_ms, "the pseudonym service refused: %s%s%s",
                      refusal.code, refusal.detail[0] ? " - " : "", refusal.detail);
            break;
        case PSEUDONYM_ANSWER_BAD_PROOF:
        case PSEUDONYM_ANSWER_KEY_VERSION:
            /* Never a fallback: say which key we expected, and wait. */
            cert_curve_fingerprint(self->service_cert.curve_key, fp);
            dlog(DLOG_ERROR,
                 "event=pseudonym_refused reason=%s expected_key_version=%u service=%s "
                 "service_cert=%s",
                 answer == PSEUDONYM_ANSWER_BAD_PROOF ? "proof_invalid" : "key_version",
                 self->service_key.key_version, fp, self->settings.pseudonym_service_cert);
            s_problem(self, now, SERVICE_BAD_PROOF_WAIT_MS, "%s (expected key version %u of %s)",
                      pseudonym_answer_text(answer), self->service_key.key_version,
                      self->settings.pseudonym_service_cert);
            break;
        case PSEUDONYM_ANSWER_MALFORMED:
            s_problem(self, now, 0, "%s", pseudonym_answer_text(answer));
            break;
        }
        if (pseudonyms) {
            sodium_memzero(pseudonyms, OPRF_BATCH_MAX * PSEUDONYM_BYTES);
            sodium_free(pseudonyms);
        }
    }
}

const char *pseudonymise_problem(const daemon_t *self, uint64_t *since_ms)
{
    if (since_ms)
        *since_ms = self->service_down_since_ms;
    return self->service_problem;
}
