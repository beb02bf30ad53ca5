/*  zap: the pseudonym service's ZAP handler; see zap.h and RFC 27. */
#include "zap.h"

#include <stdio.h>
#include <string.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_VERSION "1.0"
#define ZAP_FRAMES 7        /* version, id, domain, address, identity, mechanism, key */
#define ZAP_TEXT_MAX 255    /* a version, domain or mechanism we compare */
#define SERVE_BATCH_MAX 256 /* requests per call: the loop goes on */

struct zap_t {
    zsock_t *rep;    /* REP on inproc://zeromq.zap.01 */
    char domain[64]; /* the service socket's ZAP domain */
};

zap_t *zap_new(const char *domain, char *err, size_t errlen)
{
    zap_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(self->domain, sizeof self->domain, "%s", domain);
    self->rep = zsock_new(ZMQ_REP);
    if (!self->rep || zsock_bind(self->rep, ZAP_ENDPOINT) != 0) {
        snprintf(err, errlen, "cannot start the ZAP handler: %s", zmq_strerror(zmq_errno()));
        zap_destroy(&self);
        return NULL;
    }
    zsock_set_linger(self->rep, 0);
    return self;
}

void zap_destroy(zap_t **self_p)
{
    if (self_p && *self_p) {
        zsock_destroy(&(*self_p)->rep);
        free(*self_p);
        *self_p = NULL;
    }
}

zsock_t *zap_socket(zap_t *self)
{
    return self->rep;
}

static bool s_is(zframe_t *frame, const char *text)
{
    size_t len = strlen(text);
    return frame && zframe_size(frame) == len && len <= ZAP_TEXT_MAX &&
           memcmp(zframe_data(frame), text, len) == 0;
}

static void s_reply(zap_t *self, zframe_t *request_id, const char *status, const char *text,
                    const char *user_id)
{
    zmsg_t *reply = zmsg_new();
    zmsg_addstr(reply, ZAP_VERSION);
    zmsg_append(reply, &request_id);
    zmsg_addstr(reply, status);
    zmsg_addstr(reply, text);
    zmsg_addstr(reply, user_id);
    zmsg_addmem(reply, NULL, 0); /* no metadata */
    zmsg_send(&reply, self->rep);
}

/* One request: 200 with User-Id = the Z85 key, or 400. */
static bool s_request(zap_t *self, zmsg_t *request, zap_admit_fn *admit, void *arg)
{
    size_t n = zmsg_size(request);
    zframe_t *version = zmsg_first(request);
    zframe_t *request_id = zmsg_next(request);
    zframe_t *domain = zmsg_next(request);
    zmsg_next(request); /* address */
    zmsg_next(request); /* identity */
    zframe_t *mechanism = zmsg_next(request);
    zframe_t *key = zmsg_next(request);
    zframe_t *id = request_id ? zframe_dup(request_id) : zframe_new(NULL, 0);
    bool ok = n == ZAP_FRAMES && s_is(version, ZAP_VERSION) && s_is(domain, self->domain) &&
              s_is(mechanism, "CURVE") && zframe_size(key) == ZAP_KEYBYTES &&
              admit(arg, zframe_data(key));
    if (!ok) {
        s_reply(self, id, "400", "not a client of this pseudonym service", "");
        return false;
    }
    char user_id[41];
    zmq_z85_encode(user_id, zframe_data(key), ZAP_KEYBYTES);
    s_reply(self, id, "200", "OK", user_id);
    return true;
}

size_t zap_serve(zap_t *self, zap_admit_fn *admit, void *arg)
{
    size_t refused = 0;
    for (int i = 0; i < SERVE_BATCH_MAX; i++) {
        zmsg_t *request = zmsg_recv_nowait(self->rep);
        if (!request)
            break;
        if (!s_request(self, request, admit, arg))
            refused++;
        zmsg_destroy(&request);
    }
    return refused;
}
