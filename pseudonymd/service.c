/*  service: the pseudonym service's loop; see service.h. */
#include "service.h"

#include "clients.h"
#include "rate_limit.h"
#include "replay.h"
#include "request.h"
#include "settings.h"
#include "store.h"
#include "zap.h"

#include "cert.h"
#include "keyfile.h"
#include "log.h"
#include "oprf.h"
#include "wire.h"
#include "z85.h"

#include <czmq.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define ZAP_DOMAIN "hartslag-pseudonymd"
#define ALERTS_PER_SEND 64 /* pending alerts sent per coordinator frame */

static volatile sig_atomic_t s_stop;
static volatile sig_atomic_t s_reload;

void service_request_stop(void)
{
    s_stop = 1;
}

void service_request_reload(void)
{
    s_reload = 1;
}

/*  Invariant: `clients` and `settings` were loaded together (a reload
    swaps both or neither); oprf_sk is the secret of oprf_pk (checked by
    keyfile_oprf_load); every record of a frame is committed before the
    frame is answered. */
struct service_t {
    char config_path[SETTINGS_PATH_MAX]; /* for SIGHUP */
    settings_t *settings;                /* the configuration in force */
    clients_t *clients;                  /* who may ask */
    keyfile_t *keys;                     /* CURVE (transport), Ed25519 (checkpoints) */
    uint8_t *oprf_sk;                    /* OPRF secret scalar (sodium_malloc, locked) */
    uint8_t oprf_pk[OPRF_ELEMENTBYTES];  /* its public element */
    uint32_t oprf_version;               /* its version */
    store_t *store;                      /* audit log and limit alerts */
    rate_limit_t *rate;                  /* per-client counters */
    replay_t *replay;                    /* recent request ids */
    zap_t *zap;                          /* the handshake gate */
    zsock_t *router;                     /* the service socket */
    char endpoint[256];                  /* as bound */
    zframe_t *coordinator;               /* routing id of the coordinator's last frame */
    int64_t alerts_sent_ms;              /* when pending alerts were last sent */
    int64_t next_checkpoint_ms;          /* when to sign the next checkpoint */
    int64_t now_ms;                      /* this turn's clock */
};

/* ---------------------------------------------------------------------------
   Setup */

static bool s_admit(void *arg, const uint8_t key[ZAP_KEYBYTES])
{
    service_t *self = arg;
    const client_t *client = clients_by_key(self->clients, key);
    return client && !settings_is_revoked(self->settings, client->org);
}

service_t *service_new(const char *config_path, char *err, size_t errlen)
{
    service_t *self = calloc(1, sizeof *self);
    char why[4800];
    if (!self || sodium_init() < 0) {
        snprintf(err, errlen, "out of memory");
        free(self);
        return NULL;
    }
    snprintf(self->config_path, sizeof self->config_path, "%s", config_path);
    self->now_ms = (int64_t)wire_now_ms();
    self->settings = settings_load(config_path, why, sizeof why);
    if (!self->settings) {
        snprintf(err, errlen, "%s", why);
        goto fail;
    }
    const settings_t *s = self->settings;
    self->keys = keyfile_load(s->keys, why, sizeof why);
    if (!self->keys) {
        snprintf(err, errlen, "%s", why);
        goto fail;
    }
    if (strcmp(keyfile_org(self->keys), s->org) != 0) {
        snprintf(err, errlen, "%s holds the keys of '%s', not of org '%s'", s->keys,
                 keyfile_org(self->keys), s->org);
        goto fail;
    }
    self->oprf_sk = sodium_malloc(OPRF_SCALARBYTES);
    char oprf_org[NAMES_ORG_MAX + 1];
    if (!self->oprf_sk || keyfile_oprf_load(s->oprf_key, self->oprf_sk, self->oprf_pk,
                                            &self->oprf_version, oprf_org, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s", self->oprf_sk ? why : "out of secure memory");
        goto fail;
    }
    if (strcmp(oprf_org, s->org) != 0) {
        snprintf(err, errlen, "%s is the OPRF key of '%s', not of org '%s'", s->oprf_key, oprf_org,
                 s->org);
        goto fail;
    }
    self->clients = clients_load(s->certificates, self->now_ms, why, sizeof why);
    if (!self->clients) {
        snprintf(err, errlen, "%s", why);
        goto fail;
    }
    /* Its certificate, when it is in the directory, must name the keys it
       holds: the daemons check every proof against that OPRF key. */
    cert_t own;
    if (clients_service_cert(s->certificates, s->org, self->now_ms, &own) &&
        (memcmp(own.oprf_key, self->oprf_pk, OPRF_ELEMENTBYTES) != 0 ||
         own.oprf_key_version != self->oprf_version ||
         memcmp(own.curve_key, keyfile_curve_public(self->keys), CERT_KEYBYTES) != 0)) {
        snprintf(err, errlen,
                 "the certificate of '%s' in %s names other keys than %s and %s (OPRF key "
                 "version %" PRIu32 " there, %" PRIu32 " here): the clients would refuse "
                 "every answer",
                 s->org, s->certificates, s->keys, s->oprf_key, own.oprf_key_version,
                 self->oprf_version);
        goto fail;
    }
    self->store = store_open(s->store, s->org, why, sizeof why);
    self->rate = rate_limit_new();
    self->replay = replay_new();
    if (!self->store || !self->rate || !self->replay) {
        snprintf(err, errlen, "%s", self->store ? "out of memory" : why);
        goto fail;
    }
    if (!zsys_has_curve()) {
        snprintf(err, errlen, "this libzmq has no CURVE support");
        goto fail;
    }
    /* ZAP before the bind: without a handler libzmq would admit any CURVE
       client. */
    self->zap = zap_new(ZAP_DOMAIN, why, sizeof why);
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->zap || !self->router) {
        snprintf(err, errlen, "%s", self->zap ? "cannot create the service socket" : why);
        goto fail;
    }
    zsock_set_zap_domain(self->router, ZAP_DOMAIN);
    zsock_set_curve_server(self->router, 1);
    zsock_set_curve_secretkey_bin(self->router, keyfile_curve_secret(self->keys));
    zsock_set_curve_publickey_bin(self->router, keyfile_curve_public(self->keys));
    /* Room for CURVE's box overhead: a frame just over PSD_FRAME_MAX is
       still read and refused as malformed instead of cutting the link. */
    zsock_set_maxmsgsize(self->router, PSD_FRAME_MAX + 256);
    zsock_set_router_mandatory(self->router, 1);
    zsock_set_heartbeat_ivl(self->router, 2000);
    zsock_set_heartbeat_timeout(self->router, 6000);
    zsock_set_linger(self->router, 1000);
    zsock_set_sndtimeo(self->router, 0);
    if (zsock_bind(self->router, "%s", s->bind) < 0) {
        snprintf(err, errlen, "cannot bind %s: %s", s->bind, zmq_strerror(zmq_errno()));
        goto fail;
    }
    char *endpoint = zsock_last_endpoint(self->router);
    snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint ? endpoint : s->bind);
    free(endpoint);
    return self;
fail:
    service_destroy(&self);
    return NULL;
}

void service_destroy(service_t **self_p)
{
    if (self_p && *self_p) {
        service_t *self = *self_p;
        zsock_destroy(&self->router);
        zap_destroy(&self->zap);
        zframe_destroy(&self->coordinator);
        replay_destroy(&self->replay);
        rate_limit_destroy(&self->rate);
        store_destroy(&self->store);
        clients_destroy(&self->clients);
        sodium_free(self->oprf_sk); /* wipes */
        keyfile_destroy(&self->keys);
        free(self->settings);
        free(self);
        *self_p = NULL;
    }
}

const char *service_endpoint(const service_t *self)
{
    return self->endpoint;
}

/* ---------------------------------------------------------------------------
   Answers */

/* Sends one PseudonymFrame to `routing`; false when the peer is gone. */
static bool s_send(service_t *self, zframe_t *routing, Hartslag__PseudonymFrame *frame)
{
    frame->version = PSD_PROTOCOL_VERSION;
    size_t len = hartslag__pseudonym_frame__get_packed_size(frame);
    zframe_t *body = zframe_new(NULL, len);
    if (!body)
        return false;
    hartslag__pseudonym_frame__pack(frame, zframe_data(body));
    zmsg_t *msg = zmsg_new();
    zframe_t *to = zframe_dup(routing);
    zmsg_append(msg, &to);
    zmsg_append(msg, &body);
    if (zmsg_send(&msg, self->router) != 0) {
        zmsg_destroy(&msg);
        return false;
    }
    return true;
}

static void s_refuse(service_t *self, zframe_t *routing, const psd_request_t *req, int id_known,
                     psd_refusal_t code, const char *detail, uint64_t retry_after_ms)
{
    Hartslag__PseudonymFrame frame = HARTSLAG__PSEUDONYM_FRAME__INIT;
    Hartslag__PseudonymRefusal refusal = HARTSLAG__PSEUDONYM_REFUSAL__INIT;
    refusal.request_id.data = (uint8_t *)req->request_id;
    refusal.request_id.len = id_known ? PSD_REQUEST_ID_BYTES : 0;
    refusal.code = (char *)psd_refusal_name(code);
    refusal.detail = detail && detail[0] ? (char *)detail : NULL;
    if (code == PSD_RATE_LIMITED) {
        refusal.has_retry_after_ms = true;
        refusal.retry_after_ms = retry_after_ms;
    }
    frame.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_REFUSAL;
    frame.refusal = &refusal;
    s_send(self, routing, &frame);
}

/* Sends the pending limit alerts to the coordinator's last connection. */
static void s_send_alerts(service_t *self, bool force)
{
    if (!self->coordinator ||
        (!force && self->now_ms - self->alerts_sent_ms < SERVICE_ALERT_RESEND_MS))
        return;
    store_alert_t pending[ALERTS_PER_SEND];
    size_t n = store_alerts_pending(self->store, pending, ALERTS_PER_SEND);
    self->alerts_sent_ms = self->now_ms;
    for (size_t i = 0; i < n; i++) {
        Hartslag__PseudonymFrame frame = HARTSLAG__PSEUDONYM_FRAME__INIT;
        Hartslag__PseudonymLimitAlert alert = HARTSLAG__PSEUDONYM_LIMIT_ALERT__INIT;
        alert.alert_id.data = pending[i].alert_id;
        alert.alert_id.len = PSD_ALERT_ID_BYTES;
        alert.time_ms = (uint64_t)pending[i].time_ms;
        alert.client_org = pending[i].client_org;
        alert.limit = pending[i].limit;
        alert.allowed = pending[i].allowed;
        alert.audit_index = pending[i].audit_index;
        frame.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_LIMIT_ALERT;
        frame.limit_alert = &alert;
        if (!s_send(self, self->coordinator, &frame)) {
            zframe_destroy(&self->coordinator); /* gone: wait for its next frame */
            return;
        }
    }
}

/* ---------------------------------------------------------------------------
   One frame */

/* What handling one request decided, before it is committed and answered. */
typedef struct {
    psd_refusal_t code;                                   /* PSD_OK: evaluated */
    char detail[160];                                     /* refusal text */
    uint64_t retry_after_ms;                              /* rate_limited */
    bool alert;                                           /* raise a limit alert */
    rate_limit_result_t limit;                            /* which limit */
    uint32_t allowed;                                     /* its value */
    uint8_t evaluated[OPRF_BATCH_MAX][OPRF_ELEMENTBYTES]; /* PSD_OK: the answers */
    uint8_t proof[OPRF_PROOFBYTES];                       /* PSD_OK: the proof */
} decision_t;

/* The checks that need the service's state, in the order of service.h. */
static void s_decide(service_t *self, const client_t *client, const psd_request_t *req,
                     decision_t *d)
{
    const settings_t *s = self->settings;
    int64_t skew = (int64_t)req->sent_at_ms - self->now_ms;
    rate_limit_refusal_t refusal = {0};
    d->code = PSD_OK;
    if (settings_is_revoked(s, client->org)) {
        d->code = PSD_REVOKED;
        snprintf(d->detail, sizeof d->detail, "this client is revoked");
    } else if (!settings_purpose_allowed(s, client->role, req->purpose)) {
        d->code = PSD_PURPOSE_NOT_ALLOWED;
        snprintf(d->detail, sizeof d->detail, "purpose '%s' is not allowed for this role",
                 req->purpose);
    } else if (req->key_version != self->oprf_version) {
        d->code = PSD_KEY_VERSION;
        snprintf(d->detail, sizeof d->detail, "the service key version is %" PRIu32,
                 self->oprf_version);
    } else if (req->sent_at_ms > (uint64_t)INT64_MAX || skew > SERVICE_STALE_MS ||
               skew < -SERVICE_STALE_MS) {
        d->code = PSD_STALE;
        snprintf(d->detail, sizeof d->detail, "sent_at_ms is more than 5 minutes off");
    } else if (replay_seen(self->replay, client->org, req->request_id, self->now_ms)) {
        d->code = PSD_REPLAY;
        snprintf(d->detail, sizeof d->detail, "this request id was used in the last 10 minutes");
    } else if ((d->limit = rate_limit_take(self->rate, client->org, settings_limits(s, client->org),
                                           (uint32_t)req->n, self->now_ms, &refusal)) !=
               RATE_LIMIT_OK) {
        d->code = PSD_RATE_LIMITED;
        d->retry_after_ms = refusal.retry_after_ms;
        d->alert = refusal.first_in_window;
        d->allowed = refusal.allowed;
        snprintf(d->detail, sizeof d->detail, "over the limit of %" PRIu32 " %s", refusal.allowed,
                 d->limit == RATE_LIMIT_PER_DAY ? "a day" : "a minute");
    } else if (oprf_blind_evaluate(self->oprf_sk, self->oprf_pk,
                                   (const uint8_t(*)[OPRF_ELEMENTBYTES])req->blinded, req->n, NULL,
                                   d->evaluated, d->proof) != OPRF_OK) {
        /* The parser checked every element: this is not the client's doing. */
        d->code = PSD_INVALID_ELEMENT;
        snprintf(d->detail, sizeof d->detail, "the batch could not be evaluated");
    }
}

/* Audits the decision in one transaction, with its limit alert (which
   names the refusal's record). 0, or -1 (nothing committed). */
static int s_record(service_t *self, const client_t *client, const psd_request_t *req,
                    const decision_t *d)
{
    if (store_begin(self->store) != 0)
        return -1;
    store_event_t event = {
        .time_ms = self->now_ms,
        .event = d->code == PSD_OK ? "pseudonym_evaluated" : "pseudonym_refused",
        .actor = client->org,
        .purpose = req->purpose[0] ? req->purpose : NULL,
        .count = (uint32_t)req->n,
        .ok = d->code == PSD_OK,
        .reason = d->code == PSD_OK ? NULL : psd_refusal_name(d->code),
    };
    int64_t index = store_audit(self->store, &event);
    if (index >= 0 && d->alert) {
        store_alert_t alert = {
            .time_ms = self->now_ms, .allowed = d->allowed, .audit_index = (uint64_t)index};
        randombytes_buf(alert.alert_id, sizeof alert.alert_id);
        snprintf(alert.client_org, sizeof alert.client_org, "%s", client->org);
        snprintf(alert.limit, sizeof alert.limit, "%s", rate_limit_name(d->limit));
        store_event_t raised = {.time_ms = self->now_ms,
                                .event = "pseudonym_limit_alert",
                                .actor = client->org,
                                .count = (uint32_t)req->n,
                                .ok = true,
                                .reason = alert.limit,
                                .counterpart = self->settings->coordinator};
        if (store_alert_add(self->store, &alert) != 0 || store_audit(self->store, &raised) < 0)
            index = -1;
    }
    if (index < 0) {
        store_rollback(self->store);
        return -1;
    }
    return store_commit(self->store);
}

static void s_answer(service_t *self, zframe_t *routing, const psd_request_t *req,
                     const decision_t *d)
{
    if (d->code != PSD_OK) {
        s_refuse(self, routing, req, 1, d->code, d->detail, d->retry_after_ms);
        return;
    }
    Hartslag__PseudonymFrame frame = HARTSLAG__PSEUDONYM_FRAME__INIT;
    Hartslag__PseudonymResponse response = HARTSLAG__PSEUDONYM_RESPONSE__INIT;
    ProtobufCBinaryData evaluated[OPRF_BATCH_MAX];
    for (size_t i = 0; i < req->n; i++) {
        evaluated[i].data = (uint8_t *)d->evaluated[i];
        evaluated[i].len = OPRF_ELEMENTBYTES;
    }
    response.request_id.data = (uint8_t *)req->request_id;
    response.request_id.len = PSD_REQUEST_ID_BYTES;
    response.key_version = self->oprf_version;
    response.n_evaluated = req->n;
    response.evaluated = evaluated;
    response.proof.data = (uint8_t *)d->proof;
    response.proof.len = OPRF_PROOFBYTES;
    frame.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_RESPONSE;
    frame.response = &response;
    s_send(self, routing, &frame);
}

static void s_on_request(service_t *self, zframe_t *routing, const client_t *client,
                         const psd_request_t *req)
{
    decision_t *d = calloc(1, sizeof *d);
    if (!d)
        return;
    s_decide(self, client, req, d);
    char count[24];
    snprintf(count, sizeof count, "%zu", req->n);
    if (s_record(self, client, req, d) != 0) {
        /* Fail closed: nothing is answered that is not audited. */
        log_event(HLOG_ERROR, "store_unavailable", "client", client->org, NULL);
        free(d);
        return;
    }
    if (d->code == PSD_OK)
        replay_remember(self->replay, client->org, req->request_id, self->now_ms);
    if (d->code == PSD_RATE_LIMITED) {
        char allowed[16];
        snprintf(allowed, sizeof allowed, "%" PRIu32, d->allowed);
        log_event(HLOG_WARN, "rate_limited", "client", client->org, "limit",
                  rate_limit_name(d->limit), "allowed", allowed, "count", count, "alert",
                  d->alert ? "raised" : "already_raised", NULL);
    } else if (d->code != PSD_OK)
        log_event(HLOG_INFO, "refused", "client", client->org, "reason", psd_refusal_name(d->code),
                  "count", count, NULL);
    else
        log_event(HLOG_DEBUG, "evaluated", "client", client->org, "purpose", req->purpose, "count",
                  count, NULL);
    s_answer(self, routing, req, d);
    bool alert = d->alert;
    sodium_memzero(d, sizeof *d);
    free(d);
    if (alert)
        s_send_alerts(self, true);
}

/* A refusal the parser or the identity check decided: audited, answered. */
static void s_on_refusal(service_t *self, zframe_t *routing, const char *org,
                         const psd_request_t *req, int id_known, psd_refusal_t code,
                         const char *detail)
{
    store_event_t event = {.time_ms = self->now_ms,
                           .event = "pseudonym_refused",
                           .actor = org,
                           .ok = false,
                           .reason = psd_refusal_name(code)};
    if (store_begin(self->store) != 0 || store_audit(self->store, &event) < 0 ||
        store_commit(self->store) != 0) {
        store_rollback(self->store);
        log_event(HLOG_ERROR, "store_unavailable", "client", org, NULL);
        return;
    }
    log_event(HLOG_INFO, "refused", "client", org, "reason", psd_refusal_name(code), NULL);
    s_refuse(self, routing, req, id_known, code, detail, 0);
}

static void s_on_ack(service_t *self, const client_t *client, const psd_request_t *req)
{
    if (strcmp(client->org, self->settings->coordinator) != 0)
        return; /* only the coordinator acknowledges alerts; others are ignored */
    if (store_begin(self->store) != 0)
        return;
    int found = store_alert_ack(self->store, req->alert_id, self->now_ms);
    store_event_t event = {.time_ms = self->now_ms,
                           .event = "pseudonym_limit_alert_acked",
                           .actor = client->org,
                           .ok = true};
    if (found < 0 || (found == 1 && store_audit(self->store, &event) < 0) ||
        store_commit(self->store) != 0) {
        store_rollback(self->store);
        log_event(HLOG_ERROR, "store_unavailable", "client", client->org, NULL);
        return;
    }
    if (found == 1)
        log_event(HLOG_INFO, "limit_alert_acked", "coordinator", client->org, NULL);
}

static void s_on_heartbeat(service_t *self, zframe_t *routing)
{
    Hartslag__PseudonymFrame frame = HARTSLAG__PSEUDONYM_FRAME__INIT;
    Hartslag__Heartbeat heartbeat = HARTSLAG__HEARTBEAT__INIT;
    heartbeat.sent_at_ms = (uint64_t)self->now_ms;
    frame.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_HEARTBEAT;
    frame.heartbeat = &heartbeat;
    s_send(self, routing, &frame);
}

/* The client that authenticated `body`'s connection, or NULL. */
static const client_t *s_client(service_t *self, zframe_t *body)
{
    const char *user_id = zframe_meta(body, "User-Id");
    uint8_t key[ZAP_KEYBYTES];
    if (!user_id || strlen(user_id) != 40 || z85_decode(key, sizeof key, user_id) != 0)
        return NULL;
    return clients_by_key(self->clients, key);
}

static void s_on_message(service_t *self, zmsg_t *msg)
{
    zframe_t *routing = zmsg_first(msg);
    zframe_t *body = zmsg_next(msg);
    if (!routing || !body)
        return;
    psd_request_t *req = calloc(1, sizeof *req);
    if (!req)
        return;
    const client_t *client = s_client(self, body);
    int id_known = 0;
    char detail[160];
    psd_refusal_t code = zmsg_size(msg) != 2
                             ? PSD_MALFORMED
                             : psd_request_parse(zframe_data(body), zframe_size(body), req,
                                                 &id_known, detail, sizeof detail);
    if (zmsg_size(msg) != 2)
        snprintf(detail, sizeof detail, "one frame per message");
    if (!client) {
        /* The certificate went away after the handshake (a reload). */
        s_on_refusal(self, routing, "unknown", req, id_known, PSD_UNKNOWN_CLIENT,
                     "this key is no client of the service");
    } else if (code != PSD_OK) {
        s_on_refusal(self, routing, client->org, req, id_known, code, detail);
    } else if (req->kind == PSD_MSG_REQUEST) {
        s_on_request(self, routing, client, req);
    } else if (req->kind == PSD_MSG_ALERT_ACK) {
        s_on_ack(self, client, req);
    } else
        s_on_heartbeat(self, routing);
    if (client && strcmp(client->org, self->settings->coordinator) == 0) {
        bool moved = !self->coordinator || !zframe_eq(self->coordinator, routing);
        if (moved) {
            zframe_destroy(&self->coordinator);
            self->coordinator = zframe_dup(routing);
        }
        s_send_alerts(self, moved || (code == PSD_OK && req->kind == PSD_MSG_HEARTBEAT));
    }
    sodium_memzero(req, sizeof *req);
    free(req);
}

/* ---------------------------------------------------------------------------
   Reload, checkpoints, the loop */

static void s_reload_all(service_t *self)
{
    char why[4800];
    settings_t *fresh = settings_load(self->config_path, why, sizeof why);
    clients_t *clients =
        fresh ? clients_load(fresh->certificates, self->now_ms, why, sizeof why) : NULL;
    if (!fresh || !clients) {
        log_event(HLOG_ERROR, "reload_refused", "reason", why, NULL);
        free(fresh);
        return;
    }
    const settings_t *old = self->settings;
    if (strcmp(fresh->org, old->org) || strcmp(fresh->bind, old->bind) ||
        strcmp(fresh->keys, old->keys) || strcmp(fresh->oprf_key, old->oprf_key) ||
        strcmp(fresh->store, old->store))
        log_event(HLOG_WARN, "restart_needed", "reason",
                  "org, bind, keys, oprf_key and store change at a restart only", NULL);
    /* Those five stay as they were started. */
    memcpy(fresh->org, old->org, sizeof fresh->org);
    memcpy(fresh->bind, old->bind, sizeof fresh->bind);
    memcpy(fresh->keys, old->keys, sizeof fresh->keys);
    memcpy(fresh->oprf_key, old->oprf_key, sizeof fresh->oprf_key);
    memcpy(fresh->store, old->store, sizeof fresh->store);
    free(self->settings);
    clients_destroy(&self->clients);
    self->settings = fresh;
    self->clients = clients;
    if (self->coordinator && !clients_by_org(clients, fresh->coordinator))
        zframe_destroy(&self->coordinator);
    char n[24];
    snprintf(n, sizeof n, "%zu", clients_count(clients));
    log_event(HLOG_INFO, "reloaded", "clients", n, NULL);
}

static void s_checkpoint(service_t *self, bool force)
{
    if (!force && self->now_ms < self->next_checkpoint_ms)
        return;
    self->next_checkpoint_ms = self->now_ms + SERVICE_CHECKPOINT_MS;
    if (store_begin(self->store) != 0)
        return;
    if (store_checkpoint(self->store, keyfile_sign_secret(self->keys), self->now_ms) != 0 ||
        store_commit(self->store) != 0) {
        store_rollback(self->store);
        log_event(HLOG_ERROR, "checkpoint_failed", NULL);
    }
}

int service_run(service_t *self)
{
    zpoller_t *poller = zpoller_new(self->router, zap_socket(self->zap), NULL);
    if (!poller)
        return -1;
    char n[24], version[16];
    snprintf(n, sizeof n, "%zu", clients_count(self->clients));
    snprintf(version, sizeof version, "%" PRIu32, self->oprf_version);
    log_event(HLOG_INFO, "started", "org", self->settings->org, "endpoint", self->endpoint,
              "clients", n, "key_version", version, NULL);
    while (!s_stop) {
        zsock_t *which = zpoller_wait(poller, 200);
        self->now_ms = (int64_t)wire_now_ms();
        if (s_reload) {
            s_reload = 0;
            s_reload_all(self);
        }
        if (which == zap_socket(self->zap)) {
            size_t refused = zap_serve(self->zap, s_admit, self);
            if (refused) {
                char count[24];
                snprintf(count, sizeof count, "%zu", refused);
                log_event(HLOG_WARN, "handshake_refused", "reason", "unknown_key", "count", count,
                          NULL);
            }
        } else if (which == self->router) {
            for (int i = 0; i < 256; i++) {
                zmsg_t *msg = zmsg_recv_nowait(self->router);
                if (!msg)
                    break;
                s_on_message(self, msg);
                zmsg_destroy(&msg);
            }
        }
        /* A signal interrupts the wait (zpoller says "terminated"): only
           s_stop ends the loop, SIGHUP is a reload. */
        s_checkpoint(self, false);
    }
    s_checkpoint(self, true);
    zpoller_destroy(&poller);
    log_event(HLOG_INFO, "stopped", NULL);
    return 0;
}
