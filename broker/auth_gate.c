/*  auth_gate: the broker's ZAP handler and handshake monitor; see
    auth_gate.h and RFC 27 (ZAP). */
#include "auth_gate.h"

#include <stdio.h>
#include <string.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_VERSION "1.0"
#define ZAP_FRAMES_MIN 6    /* version, id, domain, address, identity, mechanism */
#define ZAP_FRAMES_MAX 16   /* with the credentials of any mechanism */
#define ZAP_TEXT_MAX 255    /* a request id or a domain we copy */
#define SERVE_BATCH_MAX 256 /* requests or events handled per call: the loop goes on */

struct auth_gate_t {
    zsock_t *zap;         /* REP on inproc://zeromq.zap.01 */
    zsock_t *monitor;     /* PAIR fed by zmq_socket_monitor of the router */
    char domain[64];      /* the router's ZAP domain */
    char monitor_ep[128]; /* inproc endpoint of the monitor */
};

auth_gate_t *auth_gate_new(zsock_t *router, const char *domain, char *err, size_t errlen)
{
    auth_gate_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(self->domain, sizeof self->domain, "%s", domain);
    self->zap = zsock_new(ZMQ_REP);
    if (!self->zap || zsock_bind(self->zap, ZAP_ENDPOINT) != 0) {
        snprintf(err, errlen, "cannot start the ZAP handler: %s", zmq_strerror(zmq_errno()));
        auth_gate_destroy(&self);
        return NULL;
    }
    zsock_set_linger(self->zap, 0);
    snprintf(self->monitor_ep, sizeof self->monitor_ep, "inproc://hartslag-broker-monitor-%p",
             (void *)self);
    if (zmq_socket_monitor(zsock_resolve(router), self->monitor_ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0 ||
        !(self->monitor = zsock_new(ZMQ_PAIR)) ||
        zsock_connect(self->monitor, "%s", self->monitor_ep) != 0) {
        snprintf(err, errlen, "cannot monitor the broker socket: %s", zmq_strerror(zmq_errno()));
        auth_gate_destroy(&self);
        return NULL;
    }
    zsock_set_linger(self->monitor, 0);
    return self;
}

void auth_gate_destroy(auth_gate_t **self_p)
{
    if (self_p && *self_p) {
        auth_gate_t *self = *self_p;
        zsock_destroy(&self->monitor);
        zsock_destroy(&self->zap);
        free(self);
        *self_p = NULL;
    }
}

zsock_t *auth_gate_zap(auth_gate_t *self)
{
    return self->zap;
}

zsock_t *auth_gate_monitor(auth_gate_t *self)
{
    return self->monitor;
}

/* A frame as a bounded string: "" when it is longer than `outlen - 1`. */
static void s_text(zframe_t *frame, char *out, size_t outlen)
{
    size_t len = frame ? zframe_size(frame) : 0;
    if (len >= outlen)
        len = 0;
    if (len)
        memcpy(out, zframe_data(frame), len);
    out[len] = '\0';
}

static void s_reply(auth_gate_t *self, zframe_t *request_id, const char *status, const char *text,
                    const char *user_id)
{
    zmsg_t *reply = zmsg_new();
    zmsg_addstr(reply, ZAP_VERSION);
    zmsg_append(reply, &request_id);
    zmsg_addstr(reply, status);
    zmsg_addstr(reply, text);
    zmsg_addstr(reply, user_id);
    zmsg_addmem(reply, NULL, 0); /* no metadata */
    zmsg_send(&reply, self->zap);
}

/* One ZAP request: admitted (200, User-Id = the Z85 key, which the loop
   reads back) or refused (400). A malformed request is refused too. */
static void s_request(auth_gate_t *self, zmsg_t *request, auth_gate_admit_fn *admit,
                      auth_gate_refused_fn *refused, void *arg)
{
    size_t n = zmsg_size(request);
    zframe_t *version = zmsg_first(request);
    zframe_t *request_id = zmsg_next(request);
    zframe_t *domain = zmsg_next(request);
    zframe_t *address = zmsg_next(request);
    zframe_t *identity = zmsg_next(request);
    zframe_t *mechanism = zmsg_next(request);
    zframe_t *credential = zmsg_next(request);
    (void)identity;
    char text[ZAP_TEXT_MAX + 1], peer[AUTH_GATE_ADDRESS_MAX + 1];
    s_text(address, peer, sizeof peer);
    s_text(version, text, sizeof text);
    bool ok = n >= ZAP_FRAMES_MIN && n <= ZAP_FRAMES_MAX && strcmp(text, ZAP_VERSION) == 0;
    s_text(domain, text, sizeof text);
    ok = ok && strcmp(text, self->domain) == 0;
    s_text(mechanism, text, sizeof text);
    ok = ok && strcmp(text, "CURVE") == 0 && n == ZAP_FRAMES_MIN + 1 &&
         zframe_size(credential) == AUTH_GATE_KEYBYTES;
    /* The request id goes back unchanged (RFC 27), whatever it holds. */
    zframe_t *id = request_id ? zframe_dup(request_id) : zframe_new(NULL, 0);
    if (!ok) {
        s_reply(self, id, "400", "malformed request", "");
        refused(arg, NULL, peer[0] ? peer : NULL, "handshake_failed", "zap_request");
        return;
    }
    const uint8_t *key = zframe_data(credential);
    if (!admit(arg, key)) {
        s_reply(self, id, "400", "not a partner of this broker", "");
        refused(arg, key, peer[0] ? peer : NULL, "unknown_key", NULL);
        return;
    }
    char user_id[41];
    zmq_z85_encode(user_id, key, AUTH_GATE_KEYBYTES);
    s_reply(self, id, "200", "OK", user_id);
}

/* One monitor event: a handshake that failed before ZAP. */
static void s_event(zmsg_t *event, auth_gate_refused_fn *refused, void *arg)
{
    zframe_t *head = zmsg_first(event);
    if (!head || zframe_size(head) != 6)
        return;
    uint16_t kind;
    uint32_t value;
    memcpy(&kind, zframe_data(head), 2);
    memcpy(&value, zframe_data(head) + 2, 4);
    if (kind != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && kind != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        return;
    const char *detail = "protocol";
    if (kind == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        detail = "no_detail";
    else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
        detail = "cryptographic";
    refused(arg, NULL, NULL, "handshake_failed", detail);
}

void auth_gate_serve(auth_gate_t *self, auth_gate_admit_fn *admit, auth_gate_refused_fn *refused,
                     void *arg)
{
    for (int i = 0; i < SERVE_BATCH_MAX; i++) {
        zmsg_t *request = zmsg_recv_nowait(self->zap);
        if (!request)
            break;
        s_request(self, request, admit, refused, arg);
        zmsg_destroy(&request);
    }
    for (int i = 0; i < SERVE_BATCH_MAX; i++) {
        zmsg_t *event = zmsg_recv_nowait(self->monitor);
        if (!event)
            break;
        s_event(event, refused, arg);
        zmsg_destroy(&event);
    }
}
