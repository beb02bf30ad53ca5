/*  control: the broker's local control socket; see control.h. */
#include "control.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONTROL_FRAMES_MAX 8      /* frames in one request */
#define CONTROL_SERVE_BATCH_MAX 8 /* requests per call: the loop goes on */

struct broker_control_t {
    zsock_t *sock;   /* ROUTER on ipc://path */
    char path[4200]; /* the socket file */
};

broker_control_t *broker_control_new(const char *state_dir, char *err, size_t errlen)
{
    broker_control_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int n = snprintf(self->path, sizeof self->path, "%s/control.sock", state_dir);
    if (n < 0 || (size_t)n > BROKER_CONTROL_SUN_PATH_MAX) {
        snprintf(err, errlen,
                 "state_dir path too long for a control socket (at most %d bytes with "
                 "'/control.sock'); choose a shorter state_dir",
                 BROKER_CONTROL_SUN_PATH_MAX);
        free(self);
        return NULL;
    }
    /* The router's bind succeeded, so no other broker serves this state
       directory from this endpoint; a socket file left here is stale. */
    unlink(self->path);
    self->sock = zsock_new(ZMQ_ROUTER);
    if (!self->sock) {
        snprintf(err, errlen, "cannot create the control socket");
        free(self);
        return NULL;
    }
    zsock_set_router_mandatory(self->sock, 1);
    zsock_set_maxmsgsize(self->sock, BROKER_CONTROL_MSG_MAX);
    zsock_set_linger(self->sock, 0);
    mode_t old = umask(0077);
    int rc = zsock_bind(self->sock, "ipc://%s", self->path);
    umask(old);
    if (rc != 0 || chmod(self->path, 0600) != 0) {
        snprintf(err, errlen, "cannot bind control socket %s: %s", self->path,
                 zmq_strerror(zmq_errno()));
        broker_control_destroy(&self);
        return NULL;
    }
    return self;
}

void broker_control_destroy(broker_control_t **self_p)
{
    if (self_p && *self_p) {
        broker_control_t *self = *self_p;
        if (self->sock) {
            zsock_destroy(&self->sock);
            unlink(self->path);
        }
        free(self);
        *self_p = NULL;
    }
}

zsock_t *broker_control_socket(broker_control_t *self)
{
    return self->sock;
}

/* Sends [routing, frames...] without blocking; a client that went away is
   not waited for. */
static void s_send(broker_control_t *self, zframe_t *routing, const char *const *frames, size_t n)
{
    void *sock = zsock_resolve(self->sock);
    if (zmq_send(sock, zframe_data(routing), zframe_size(routing), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (zmq_send(sock, frames[i], strlen(frames[i]),
                     (i + 1 < n ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0)
            return;
}

static void s_request(broker_control_t *self, zmsg_t *msg, broker_control_status_fn *status,
                      void *arg)
{
    zframe_t *routing = zmsg_first(msg);
    size_t n = zmsg_size(msg);
    char *args[CONTROL_FRAMES_MAX] = {0};
    size_t n_args = 0;
    for (zframe_t *frame = zmsg_next(msg); frame && n_args < CONTROL_FRAMES_MAX;
         frame = zmsg_next(msg))
        args[n_args++] = zframe_strdup(frame);
    if (n < 2 || n - 1 > CONTROL_FRAMES_MAX || !args[0]) {
        const char *frames[] = {"error", "malformed", "send a command word and key=value options"};
        s_send(self, routing, frames, 3);
    } else if (strcmp(args[0], "status") == 0) {
        bool json = false;
        for (size_t i = 1; i < n_args; i++)
            if (args[i] && strcmp(args[i], "format=json") == 0)
                json = true;
        char err[512] = "";
        char *payload = status(arg, json, err, sizeof err);
        if (payload) {
            const char *frames[] = {"ok", payload};
            s_send(self, routing, frames, 2);
        } else {
            const char *frames[] = {"error", "unavailable", err};
            s_send(self, routing, frames, 3);
        }
        free(payload);
    } else {
        const char *frames[] = {"error", "unknown_command",
                                "this broker knows one command: status"};
        s_send(self, routing, frames, 3);
    }
    for (size_t i = 0; i < n_args; i++)
        free(args[i]);
}

void broker_control_serve(broker_control_t *self, broker_control_status_fn *status, void *arg)
{
    for (int i = 0; i < CONTROL_SERVE_BATCH_MAX; i++) {
        zmsg_t *msg = zmsg_recv_nowait(self->sock);
        if (!msg)
            return;
        s_request(self, msg, status, arg);
        zmsg_destroy(&msg);
    }
}
