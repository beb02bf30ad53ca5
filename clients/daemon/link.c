/*  link: the daemon's side of the broker connection (docs/protocol.md). */
#include "daemon_internal.h"

#include "dlog.h"
#include "names.h"

#include <errno.h>
#include <sodium.h>

#define LINK_RECV_BATCH 256           /* frames handled per loop turn */
#define LINK_STANDBY_RETRY_MAX_MS 500 /* longest wait between connects, two endpoints */

int link_connect(daemon_t *self, char *err, size_t errlen)
{
    if (!zmq_has("curve")) {
        snprintf(err, errlen, "this libzmq has no CURVE support; install libzmq with libsodium");
        return -1;
    }
    self->broker = zsock_new(ZMQ_DEALER);
    if (!self->broker) {
        snprintf(err, errlen, "cannot create the broker socket");
        return -1;
    }
    /* The monitor sees what the socket hides from zmq_send: a refused TCP
       connect, a refused key, a failed handshake (docs/daemon.md,
       "Connection"). It is attached before connect so no event is lost. */
    char monitor[64];
    snprintf(monitor, sizeof monitor, "inproc://hartslagd-link-monitor-%p", (void *)self);
    if (zmq_socket_monitor(
            zsock_resolve(self->broker), monitor,
            ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |
                ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
        !(self->monitor = zsock_new(ZMQ_PAIR)) ||
        zsock_connect(self->monitor, "%s", monitor) != 0) {
        snprintf(err, errlen, "cannot monitor the broker socket: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    zsock_set_curve_serverkey_bin(self->broker, self->broker_cert.curve_key);
    zsock_set_curve_publickey_bin(self->broker, keyfile_curve_public(self->keys));
    zsock_set_curve_secretkey_bin(self->broker, keyfile_curve_secret(self->keys));
    zsock_set_heartbeat_ivl(self->broker, 2000);
    zsock_set_heartbeat_timeout(self->broker, 6000);
    zsock_set_heartbeat_ttl(self->broker, 6000);
    zsock_set_reconnect_ivl(self->broker, 100);
    /* With a standby, the endpoint that does not listen now is the one
       that takes over: the daemon must find it within a second of it
       binding, not after libzmq's backoff has grown to 5 s. */
    bool standby = strchr(self->settings.broker, ',') != NULL;
    zsock_set_reconnect_ivl_max(self->broker, standby ? LINK_STANDBY_RETRY_MAX_MS : 5000);
    zsock_set_maxmsgsize(self->broker, (int)WIRE_FRAME_MAX);
    /* Queue nothing while disconnected: the outbox is the queue. */
    zsock_set_immediate(self->broker, 1);
    zsock_set_linger(self->broker, 500);
    /* "tcp://a:7455,tcp://b:7455": an active broker and its standby. Only
       the active one listens, and with ZMQ_IMMEDIATE nothing goes to a
       connection that is not up: the daemon talks to one at a time. */
    const char *endpoint = self->settings.broker;
    while (*endpoint) {
        size_t len = strcspn(endpoint, ",");
        char one[sizeof self->settings.broker];
        snprintf(one, sizeof one, "%.*s", (int)len, endpoint);
        if (!one[0] || zsock_connect(self->broker, "%s", one) != 0) {
            snprintf(err, errlen,
                     "cannot connect to broker endpoint '%s' (expected e.g. %s, or two "
                     "separated by a comma)",
                     one, "tcp://127.0.0.1:7455");
            return -1;
        }
        endpoint += len + (endpoint[len] == ',');
    }
    return 0;
}

/* Sets the link problem; logs and records it when it changed. */
static void s_problem(daemon_t *self, link_problem_t problem, uint32_t value)
{
    if (problem == self->link_problem)
        return;
    self->link_problem = problem;
    self->link_problem_ms = daemon_now_ms();
    if (problem == LINK_OK)
        return;
    char fix[400], q[500];
    const char *code = link_problem_code(self, fix, sizeof fix);
    dlog(DLOG_ERROR, "event=broker_link_failed problem=%s broker=%s detail=%u fix=%s", code,
         self->settings.broker, value, dlog_quote(fix, q, sizeof q));
    daemon_set_error(self, "%s: %s", code, fix);
}

const char *link_problem_code(const daemon_t *self, char *fix, size_t fixlen)
{
    switch (self->link_problem) {
    case LINK_UNREACHABLE:
        snprintf(fix, fixlen,
                 "nothing answers at %s: check that hartslag-broker runs there and that 'broker:' "
                 "in the configuration is right (host, port, firewall)",
                 self->settings.broker);
        return "broker_unreachable";
    case LINK_KEY_REFUSED:
        snprintf(fix, fixlen,
                 "the broker refused this daemon's key: give %s.cert (see 'hartslag keys show') "
                 "to the broker's operator for its certificates directory and a reload, or check "
                 "'keys:' points at the current secret file",
                 self->settings.org);
        return "key_refused";
    case LINK_HANDSHAKE_FAILED:
        snprintf(fix, fixlen,
                 "the encrypted handshake with %s failed: check that broker_cert (%s) is the "
                 "certificate of that broker (compare 'hartslag keys show' fingerprints)",
                 self->settings.broker, self->settings.broker_cert);
        return "handshake_failed";
    case LINK_NO_WELCOME:
        snprintf(fix, fixlen,
                 "the broker took the connection but did not answer Hello within %d s: check "
                 "the broker's log for this org",
                 DAEMON_WELCOME_WAIT_MS / 1000);
        return "no_welcome";
    case LINK_OK:
        break;
    }
    if (fixlen)
        fix[0] = '\0';
    return NULL;
}

void link_monitor(daemon_t *self)
{
    for (int i = 0; i < 64; i++) {
        zmsg_t *msg = zmsg_recv_nowait(self->monitor);
        if (!msg)
            return;
        zframe_t *head = zmsg_first(msg);
        if (!head || zframe_size(head) != 6) {
            zmsg_destroy(&msg);
            continue;
        }
        uint16_t event;
        uint32_t value;
        memcpy(&event, zframe_data(head), 2);
        memcpy(&value, zframe_data(head) + 2, 4);
        zmsg_destroy(&msg);
        dlog(DLOG_DEBUG, "event=broker_socket socket_event=0x%x value=%u", event, value);
        switch (event) {
        case ZMQ_EVENT_CONNECT_RETRIED:
            /* After a refused key or handshake, libzmq reconnects too: keep
               the better reason while a TCP connection was made. */
            if (!self->link_tcp_up)
                s_problem(self, LINK_UNREACHABLE, value);
            self->link_tcp_up = false;
            break;
        case ZMQ_EVENT_CONNECTED:
            self->link_tcp_up = true;
            if (self->link_problem == LINK_UNREACHABLE)
                s_problem(self, LINK_OK, 0);
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            s_problem(self, LINK_KEY_REFUSED, value);
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            s_problem(self, LINK_HANDSHAKE_FAILED, value);
            break;
        case ZMQ_EVENT_DISCONNECTED:
            /* The broker's connection is gone: a restart, or the active
               one of two brokers died. Hello again as soon as a connection
               takes it (HELLO_RETRY_MS), so that the Welcome resubmits the
               outbox at once rather than after DAEMON_SILENCE_MS. The link
               problem stays as it is: a refused handshake also ends in a
               disconnect, and its reason is the better one. */
            if (self->connected) {
                self->connected = false;
                self->hello_sent = false;
                self->last_hello_ms = 0;
                dlog(DLOG_INFO, "event=broker_disconnected");
            }
            break;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            self->handshake_ms = daemon_now_ms();
            if (self->link_problem != LINK_NO_WELCOME)
                s_problem(self, LINK_OK, 0);
            break;
        default:
            break;
        }
    }
}

void link_tick(daemon_t *self, uint64_t now_ms)
{
    if (self->handshake_ms && !self->connected &&
        now_ms - self->handshake_ms > DAEMON_WELCOME_WAIT_MS)
        s_problem(self, LINK_NO_WELCOME, 0);
}

int link_send(daemon_t *self, Hartslag__Frame *frame)
{
    frame->version = WIRE_VERSION;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (wire_pack_frame(frame, &buf, &len) != 0) {
        dlog(DLOG_ERROR, "event=pack_failed body=%d", (int)frame->body_case);
        return -1;
    }
    int rc = zmq_send(zsock_resolve(self->broker), buf, len, ZMQ_DONTWAIT);
    free(buf);
    if (rc < 0) {
        dlog(DLOG_DEBUG, "event=send_deferred body=%d errno=%d", (int)frame->body_case, errno);
        return -1;
    }
    return 0;
}

bool link_send_hello(daemon_t *self)
{
    Hartslag__Hello hello = HARTSLAG__HELLO__INIT;
    hello.org = self->settings.org;
    hello.software = "hartslagd/" DAEMON_VERSION;
    hello.has_agreements_version = 1;
    hello.agreements_version = agreements_version(self->agreements);
    uint64_t held = 0;
    unsigned char root[32];
    if (store_checkpoint_latest(self->store, &held, root) == 1) {
        hello.has_checkpoint_size = 1;
        hello.checkpoint_size = held;
    }
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_HELLO;
    frame.hello = &hello;
    self->last_hello_ms = daemon_now_ms();
    if (link_send(self, &frame) != 0)
        return false; /* not connected yet */
    dlog(DLOG_DEBUG, "event=hello_sent");
    return true;
}

void link_send_heartbeat(daemon_t *self)
{
    Hartslag__Heartbeat beat = HARTSLAG__HEARTBEAT__INIT;
    beat.sent_at_ms = daemon_now_ms();
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_HEARTBEAT;
    frame.heartbeat = &beat;
    self->last_heartbeat_ms = beat.sent_at_ms;
    (void)link_send(self, &frame);
}

static void s_welcome(daemon_t *self, const Hartslag__Welcome *welcome)
{
    bool was = self->connected;
    self->connected = true;
    self->handshake_ms = 0;
    s_problem(self, LINK_OK, 0);
    self->welcome_ms = daemon_now_ms();
    self->broker_agreements_version = welcome->agreements_version;
    if (strcmp(welcome->org, self->settings.org) != 0)
        dlog(DLOG_ERROR, "event=identity_mismatch broker_says=%s", welcome->org);
    if (!was)
        dlog(DLOG_INFO, "event=connected broker=%s agreements_version=%llu", self->settings.broker,
             (unsigned long long)welcome->agreements_version);
    self->broker_agreements_hash[0] = '\0';
    if (welcome->has_agreements_hash && welcome->agreements_hash.len == AGREEMENTS_HASH_BYTES)
        sodium_bin2hex(self->broker_agreements_hash, sizeof self->broker_agreements_hash,
                       welcome->agreements_hash.data, welcome->agreements_hash.len);
    char ours[AGREEMENTS_HASH_HEX];
    agreements_hash_hex(self->agreements, ours);
    if (welcome->agreements_version != agreements_version(self->agreements))
        dlog(DLOG_WARN,
             "event=agreements_version_differs ours=%llu broker=%llu hint=\"update "
             "agreements.yaml and send SIGHUP\"",
             (unsigned long long)agreements_version(self->agreements),
             (unsigned long long)welcome->agreements_version);
    else if (self->broker_agreements_hash[0] && strcmp(ours, self->broker_agreements_hash) != 0)
        dlog(DLOG_WARN,
             "event=agreements_hash_differs version=%llu ours=%s broker=%s hint=\"same version "
             "number, other content: get the file the broker enforces from the coordinator, "
             "check it with sha256sum, and send SIGHUP\"",
             (unsigned long long)agreements_version(self->agreements), ours,
             self->broker_agreements_hash);
    /* Resubmit at once what is pending: the broker may be new. */
    outbound_resubmit(self);
}

static void s_error(daemon_t *self, const Hartslag__Error *error)
{
    char qcode[128], qdetail[300];
    dlog(DLOG_WARN, "event=broker_error code=%s detail=%s",
         dlog_quote(error->code, qcode, sizeof qcode),
         dlog_quote(error->detail ? error->detail : "", qdetail, sizeof qdetail));
    daemon_set_error(self, "broker error %s%s%s", error->code, error->detail ? ": " : "",
                     error->detail ? error->detail : "");
    if (strcmp(error->code, "not_authenticated") == 0)
        self->connected = false;
    /* A broker without AlertAckResult refuses an AlertAck with these
       (no id): the waiting `alerts ack` hears it all the same. */
    if (strcmp(error->code, "unknown_alert") == 0 || strcmp(error->code, "lead_not_in_match") == 0)
        control_alert_verdict(self, NULL, error->code);
}

/* The broker's verdict on an AlertAck of ours. */
static void s_alert_ack_result(daemon_t *self, const Hartslag__AlertAckResult *result)
{
    char id[STORE_ID_HEX];
    daemon_id_hex(result->alert_id.data, result->alert_id.len, id);
    if (!id[0] || (!result->ok && (!result->reason || !names_is_token(result->reason)))) {
        dlog(DLOG_WARN, "event=frame_refused reason=bad_alert_ack_result");
        return;
    }
    control_alert_verdict(self, id, result->ok ? NULL : result->reason);
}

/* Deliver and Accepted join the turn transaction (and Heartbeat touches
   nothing); every other frame is handled after it has been committed, so
   that frames take effect in the order they came. */
static bool s_batched(const Hartslag__Frame *frame)
{
    return frame->body_case == HARTSLAG__FRAME__BODY_DELIVER ||
           frame->body_case == HARTSLAG__FRAME__BODY_ACCEPTED ||
           frame->body_case == HARTSLAG__FRAME__BODY_DELIVERY_OUTCOME ||
           frame->body_case == HARTSLAG__FRAME__BODY_HEARTBEAT;
}

/* Handles one frame from the broker. */
static void s_dispatch(daemon_t *self, const Hartslag__Frame *frame)
{
    if (!s_batched(frame))
        daemon_flush(self);
    switch (frame->body_case) {
    case HARTSLAG__FRAME__BODY_WELCOME:
        s_welcome(self, frame->welcome);
        break;
    case HARTSLAG__FRAME__BODY_ACCEPTED:
        outbound_accepted(self, frame->accepted);
        break;
    case HARTSLAG__FRAME__BODY_DENIED:
        outbound_denied(self, frame->denied);
        break;
    case HARTSLAG__FRAME__BODY_DELIVER:
        inbound_deliver(self, frame->deliver);
        break;
    case HARTSLAG__FRAME__BODY_WITHDRAW:
        inbound_withdraw(self, frame->withdraw);
        break;
    case HARTSLAG__FRAME__BODY_WITHDRAW_RESULT:
        outbound_withdraw_result(self, frame->withdraw_result);
        break;
    case HARTSLAG__FRAME__BODY_EXPIRED:
        outbound_expired(self, frame->expired);
        break;
    case HARTSLAG__FRAME__BODY_DELIVERY_OUTCOME:
        outbound_outcome(self, frame->delivery_outcome);
        break;
    case HARTSLAG__FRAME__BODY_ALERT:
        inbound_alert(self, frame->alert);
        break;
    case HARTSLAG__FRAME__BODY_HEARTBEAT:
        /* Never answered: the broker answers ours, so answering its would ping-pong. */
        break;
    case HARTSLAG__FRAME__BODY_ERROR:
        s_error(self, frame->error);
        break;
    case HARTSLAG__FRAME__BODY_CHECKPOINT:
        checkpoints_handle(self, frame->checkpoint);
        break;
    case HARTSLAG__FRAME__BODY_CASE_NOTICE:
        cases_notice(self, frame->case_notice);
        break;
    case HARTSLAG__FRAME__BODY_CASE_RESULT:
        cases_result(self, frame->case_result);
        break;
    case HARTSLAG__FRAME__BODY_ALERT_ACK_RESULT:
        s_alert_ack_result(self, frame->alert_ack_result);
        break;
    case HARTSLAG__FRAME__BODY_INCLUSION_PROOF:
        inclusion_handle(self, frame->inclusion_proof);
        break;
    default:
        dlog(DLOG_WARN, "event=unexpected_frame body=%d", (int)frame->body_case);
        break;
    }
}

void link_frame(daemon_t *self, const uint8_t *data, size_t size)
{
    Hartslag__Frame *frame = NULL;
    const char *reason = NULL;
    if (wire_unpack_frame(data, size, &frame, &reason) != 0) {
        dlog(DLOG_WARN, "event=frame_refused reason=%s", reason ? reason : "malformed");
        return;
    }
    self->last_heard_ms = daemon_now_ms();
    s_dispatch(self, frame);
    hartslag__frame__free_unpacked(frame, NULL);
}

void link_handle(daemon_t *self)
{
    void *sock = zsock_resolve(self->broker);
    for (int i = 0; i < LINK_RECV_BATCH; i++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        bool more = zmq_msg_more(&msg);
        if (more) {
            /* The broker sends one frame per message; drop a multi-part one whole. */
            while (more) {
                zmq_msg_close(&msg);
                zmq_msg_init(&msg);
                if (zmq_msg_recv(&msg, sock, 0) < 0)
                    break;
                more = zmq_msg_more(&msg);
            }
            zmq_msg_close(&msg);
            dlog(DLOG_WARN, "event=frame_refused reason=multipart");
            continue;
        }
        link_frame(self, zmq_msg_data(&msg), zmq_msg_size(&msg));
        zmq_msg_close(&msg);
    }
}
