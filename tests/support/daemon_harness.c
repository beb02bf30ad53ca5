/*  daemon_harness: see daemon_harness.h. */
#include "daemon_harness.h"

#include "keyfile.h"
#include "testutil.h"
#include "wire.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

dh_t *dh_new(bh_t *bh, const char *org, const char *endpoint, const char *extra_config)
{
    dh_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->bh = bh;
    snprintf(self->org, sizeof self->org, "%s", org);
    snprintf(self->dir, sizeof self->dir, "%s/%s", bh->root, org);
    snprintf(self->state, sizeof self->state, "%s/state", self->dir);
    snprintf(self->config, sizeof self->config, "%s/hartslagd.yaml", self->dir);
    snprintf(self->log, sizeof self->log, "%s/hartslagd.log", self->dir);
    snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint ? endpoint : bh->endpoint);
    mkdir(self->dir, 0700);
    /* The partnership's pseudonym service, started with the first daemon
       (a test that stopped it on purpose starts it again itself). */
    if (!bh->service_started && bh_service_start(bh, NULL) != 0) {
        free(self);
        return NULL;
    }
    char config[40000];
    snprintf(config, sizeof config,
             "org: %s\nkeys: %s/%s.cert_secret\nbroker: %s\nbroker_cert: %s/broker.cert\n"
             "certificates: %s\nagreements: %s\npseudonym_service: %s\n"
             "pseudonym_service_cert: %s\nstate_dir: state\n%s",
             org, bh->keys, org, self->endpoint, bh->keys, bh->certs, bh->agreements,
             bh->service_endpoint, bh->service_cert, extra_config ? extra_config : "");
    remove(self->config);
    if (tu_write_file(self->config, config, 0600) != 0) {
        free(self);
        return NULL;
    }
    return self;
}

void dh_destroy(dh_t **self_p)
{
    if (self_p && *self_p) {
        dh_stop(*self_p, SIGKILL);
        free(*self_p);
        *self_p = NULL;
    }
}

int dh_start(dh_t *self)
{
    size_t offset = 0;
    free(tu_read_file(self->log, &offset));
    self->log_offset = offset;
    char *argv[] = {(char *)tu_bin("hartslagd"), "--config", self->config, NULL};
    pid_t pid = tu_spawn(argv, NULL, self->log, true, NULL);
    if (pid < 0)
        return -1;
    self->pid = pid;
    if (!dh_wait_log(self, "event=started", 10000))
        return -1;
    char sock[4600];
    snprintf(sock, sizeof sock, "%s/control.sock", self->state);
    for (int i = 0; i < 200; i++) {
        if (access(sock, F_OK) == 0)
            return 0;
        usleep(10000);
    }
    return -1;
}

void dh_stop(dh_t *self, int sig)
{
    if (self->pid <= 0)
        return;
    kill(self->pid, sig);
    for (int i = 0; i < 400; i++) {
        if (waitpid(self->pid, NULL, WNOHANG) == self->pid) {
            self->pid = 0;
            return;
        }
        usleep(25000);
    }
    kill(self->pid, SIGKILL);
    waitpid(self->pid, NULL, 0);
    self->pid = 0;
}

char *dh_log(const dh_t *self)
{
    char *text = tu_read_file(self->log, NULL);
    return text ? text : strdup("");
}

bool dh_wait_log(dh_t *self, const char *needle, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        size_t len = 0;
        char *log = tu_read_file(self->log, &len);
        bool found = log && len > self->log_offset && strstr(log + self->log_offset, needle);
        free(log);
        if (found)
            return true;
        if (self->pid > 0 && waitpid(self->pid, NULL, WNOHANG) == self->pid) {
            self->pid = 0;
            return false;
        }
        usleep(20000);
    }
    return false;
}

int dh_log_count(const dh_t *self, const char *needle)
{
    char *log = dh_log(self);
    int n = 0;
    for (const char *p = log; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(log);
    return n;
}

int dh_cli(dh_t *self, const char *stdin_text, char **out, char **err, const char *cmd, ...)
{
    char *argv[64];
    size_t n = 0;
    argv[n++] = (char *)tu_bin("hartslag");
    argv[n++] = (char *)cmd;
    argv[n++] = "--state-dir";
    argv[n++] = self->state;
    va_list ap;
    va_start(ap, cmd);
    const char *arg;
    while ((arg = va_arg(ap, const char *)) != NULL && n < 63)
        argv[n++] = (char *)arg;
    va_end(ap);
    argv[n] = NULL;
    return tu_run(argv, stdin_text, out, err);
}

int dh_inbox_count(dh_t *self)
{
    char *out = NULL;
    int rc = dh_cli(self, NULL, &out, NULL, "inbox", "--json", (char *)NULL);
    int n = -1;
    if (rc == 0 && out) {
        n = 0;
        for (const char *p = out; (p = strstr(p, "\"kind\":\"signal\"")) != NULL; p++)
            n++;
    }
    free(out);
    return n;
}

bool dh_wait_inbox(dh_t *self, int count, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        if (dh_inbox_count(self) == count)
            return true;
        usleep(50000);
    }
    return false;
}

int dh_send(dh_t *self, const char *to, const char *type, const char *purpose, const char *bsn,
            const char *const *fields, const char *text, bool wait, char id[33])
{
    char *argv[80];
    size_t n = 0;
    argv[n++] = (char *)tu_bin("hartslag");
    argv[n++] = "send";
    argv[n++] = "--state-dir";
    argv[n++] = self->state;
    argv[n++] = "--user";
    argv[n++] = "tester-1";
    argv[n++] = "--to";
    argv[n++] = (char *)to;
    argv[n++] = "--type";
    argv[n++] = (char *)type;
    argv[n++] = "--purpose";
    argv[n++] = (char *)purpose;
    argv[n++] = "--subject-bsn";
    argv[n++] = "-";
    for (size_t i = 0; fields && fields[i] && n < 70; i++) {
        argv[n++] = "--field";
        argv[n++] = (char *)fields[i];
    }
    if (text) {
        argv[n++] = "--text";
        argv[n++] = (char *)text;
    }
    if (wait)
        argv[n++] = "--wait";
    argv[n] = NULL;
    char input[64];
    snprintf(input, sizeof input, "%s\n", bsn);
    char *out = NULL;
    int rc = tu_run(argv, input, &out, NULL);
    if (rc == 0 && out && strlen(out) >= 32) {
        memcpy(id, out, 32);
        id[32] = '\0';
    } else
        rc = -1;
    free(out);
    return rc == 0 ? 0 : -1;
}

/* ---- fake broker */

fb_t *fb_new(bh_t *bh)
{
    char path[4300], err[600];
    snprintf(path, sizeof path, "%s/broker.cert_secret", bh->keys);
    keyfile_t *keys = keyfile_load(path, err, sizeof err);
    if (!keys)
        return NULL;
    fb_t *self = calloc(1, sizeof *self);
    self->router = zsock_new(ZMQ_ROUTER);
    zsock_set_curve_server(self->router, 1);
    zsock_set_curve_publickey_bin(self->router, keyfile_curve_public(keys));
    zsock_set_curve_secretkey_bin(self->router, keyfile_curve_secret(keys));
    keyfile_destroy(&keys);
    int port = zsock_bind(self->router, "tcp://127.0.0.1:*");
    if (port < 0) {
        fb_destroy(&self);
        return NULL;
    }
    snprintf(self->endpoint, sizeof self->endpoint, "tcp://127.0.0.1:%d", port);
    return self;
}

void fb_destroy(fb_t **self_p)
{
    if (self_p && *self_p) {
        zframe_destroy(&(*self_p)->peer);
        zsock_destroy(&(*self_p)->router);
        free(*self_p);
        *self_p = NULL;
    }
}

int fb_send(fb_t *self, Hartslag__Frame *frame)
{
    if (!self->peer)
        return -1;
    frame->version = WIRE_VERSION;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (wire_pack_frame(frame, &buf, &len) != 0)
        return -1;
    void *sock = zsock_resolve(self->router);
    int rc = zmq_send(sock, zframe_data(self->peer), zframe_size(self->peer), ZMQ_SNDMORE);
    if (rc >= 0)
        rc = zmq_send(sock, buf, len, 0);
    free(buf);
    return rc < 0 ? -1 : 0;
}

/* Receives one raw frame, remembering the peer. */
static Hartslag__Frame *s_recv_one(fb_t *self, int timeout_ms)
{
    zsock_set_rcvtimeo(self->router, timeout_ms);
    zmsg_t *msg = zmsg_recv(self->router);
    if (!msg)
        return NULL;
    zframe_t *peer = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
    Hartslag__Frame *frame = NULL;
    const char *reason = NULL;
    if (peer && body &&
        wire_unpack_frame(zframe_data(body), zframe_size(body), &frame, &reason) == 0) {
        zframe_destroy(&self->peer);
        self->peer = peer;
        peer = NULL;
    }
    zframe_destroy(&peer);
    zframe_destroy(&body);
    zmsg_destroy(&msg);
    return frame;
}

static void s_welcome(fb_t *self, const char *org, uint64_t version)
{
    Hartslag__Welcome welcome = HARTSLAG__WELCOME__INIT;
    welcome.org = (char *)org;
    welcome.agreements_version = version;
    welcome.server_time_ms = wire_now_ms();
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_WELCOME;
    frame.welcome = &welcome;
    (void)fb_send(self, &frame);
}

Hartslag__Frame *fb_recv(fb_t *self, int timeout_ms, uint64_t version)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    while (zclock_mono() < deadline) {
        Hartslag__Frame *frame = s_recv_one(self, (int)(deadline - zclock_mono()));
        if (!frame)
            return NULL;
        if (frame->body_case == HARTSLAG__FRAME__BODY_HELLO)
            s_welcome(self, frame->hello->org, version);
        else if (frame->body_case != HARTSLAG__FRAME__BODY_HEARTBEAT)
            return frame;
        hartslag__frame__free_unpacked(frame, NULL);
    }
    return NULL;
}

int fb_wait_hello(fb_t *self, int timeout_ms, uint64_t version)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    while (zclock_mono() < deadline) {
        Hartslag__Frame *frame = s_recv_one(self, (int)(deadline - zclock_mono()));
        if (!frame)
            return -1;
        bool hello = frame->body_case == HARTSLAG__FRAME__BODY_HELLO;
        if (hello)
            s_welcome(self, frame->hello->org, version);
        hartslag__frame__free_unpacked(frame, NULL);
        if (hello)
            return 0;
    }
    return -1;
}

int fb_deliver(fb_t *self, const uint8_t *sealed, size_t len)
{
    Hartslag__SealedSignal *signal = NULL;
    if (envelope_unpack(sealed, len, &signal) != ENVELOPE_OK)
        return -1;
    Hartslag__Deliver deliver = HARTSLAG__DELIVER__INIT;
    deliver.signal = signal;
    deliver.accepted_at_ms = wire_now_ms();
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_DELIVER;
    frame.deliver = &deliver;
    int rc = fb_send(self, &frame);
    hartslag__sealed_signal__free_unpacked(signal, NULL);
    return rc;
}

/* ---- the control socket under load -------------------------------------- */

int dh_control_open(dh_control_t *control, dh_t *daemon)
{
    control->in_flight = 0;
    control->dealer = zsock_new(ZMQ_DEALER);
    if (!control->dealer)
        return -1;
    zsock_set_linger(control->dealer, 0);
    if (zsock_connect(control->dealer, "ipc://%s/control.sock", daemon->state) != 0) {
        zsock_destroy(&control->dealer);
        return -1;
    }
    return 0;
}

void dh_control_close(dh_control_t *control)
{
    zsock_destroy(&control->dealer);
}

void dh_control_send(dh_control_t *control, const char *to, const char *type,
                     const char *case_prefix, const char *user, long number)
{
    char to_arg[160], type_arg[80], subject[80], field[48], user_arg[80];
    snprintf(to_arg, sizeof to_arg, "to=%s", to);
    snprintf(type_arg, sizeof type_arg, "type=%s", type);
    snprintf(subject, sizeof subject, "subject-case=%s-%ld", case_prefix, number);
    snprintf(field, sizeof field, "field=nummer=%ld", number);
    snprintf(user_arg, sizeof user_arg, "user=%s", user);
    zstr_sendx(control->dealer, "send", to_arg, type_arg, "purpose=test", subject, field, user_arg,
               NULL);
    control->in_flight++;
}

int dh_control_reply(dh_control_t *control, int timeout_ms)
{
    zpoller_t *poller = zpoller_new(control->dealer, NULL);
    void *which = zpoller_wait(poller, timeout_ms);
    zpoller_destroy(&poller);
    if (!which)
        return -1;
    zmsg_t *reply = zmsg_recv(control->dealer);
    char *status = reply ? zmsg_popstr(reply) : NULL;
    int ok = status && strcmp(status, "ok") == 0;
    free(status);
    zmsg_destroy(&reply);
    control->in_flight--;
    return ok;
}
