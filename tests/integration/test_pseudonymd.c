/*  hartslag-pseudonymd (issue 17): the service as its clients see it, a
    real process on loopback with keys made by `hartslag keys`.

    Clients are DEALER sockets with the CURVE keys of a partner (politie,
    welzijn), the coordinator (gemeente) or an officer (fg), each blinding
    with lib/oprf exactly as a daemon will. */
#include "cert.h"
#include "hartslag.pb-c.h"
#include "keyfile.h"
#include "oprf.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <czmq.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *s_dir;
static char s_endpoint[256];
static pid_t s_pid;
static uint8_t s_service_curve[32]; /* the service's CURVE public key */
static uint8_t s_oprf_pk[32];       /* its OPRF public element */
static char s_config[4200], s_log[4200], s_store[4200];

static char *s_path(const char *name)
{
    static char path[8][4200];
    static int next;
    char *slot = path[next++ % 8];
    snprintf(slot, 4200, "%s/%s", s_dir, name);
    return slot;
}

static void s_keys(char *const args[])
{
    char *argv[24] = {(char *)tu_bin("hartslag"), "keys"};
    int n = 2;
    for (int i = 0; args[i] && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = tu_run(argv, NULL, &out, &err);
    cr_assert_eq(rc, 0, "hartslag keys %s failed: %s", args[0], err);
    free(out);
    free(err);
}

static void s_partner(const char *org, const char *role)
{
    char *args[] = {"init",       "--org",     (char *)org,     "--name", "Test org",     "--role",
                    (char *)role, "--contact", "c@example.org", "--out",  s_path("keys"), NULL};
    s_keys(args);
    char from[4200], to[4200];
    snprintf(from, sizeof from, "%s/keys/%s.cert", s_dir, org);
    snprintf(to, sizeof to, "%s/certs/%s.cert", s_dir, org);
    size_t len = 0;
    char *text = tu_read_file(from, &len);
    cr_assert_not_null(text);
    cr_assert_eq(tu_write_file(to, text, 0644), 0);
    free(text);
}

/* The configuration; `extra` is appended (YAML). */
static void s_write_config(const char *limits, const char *extra)
{
    char text[4096];
    snprintf(text, sizeof text,
             "org: ttp\nbind: tcp://127.0.0.1:*\nkeys: svc/ttp.cert_secret\n"
             "oprf_key: svc/ttp.oprf_secret\ncertificates: certs\nstore: pseudonymd.db\n"
             "coordinator: gemeente\nlog_level: debug\nlimits:\n%s%s",
             limits ? limits : "  default: {per_minute: 1000, per_day: 100000}\n",
             extra ? extra : "");
    remove(s_config);
    cr_assert_eq(tu_write_file(s_config, text, 0644), 0);
}

static void s_start(void)
{
    size_t offset = 0;
    free(tu_read_file(s_log, &offset));
    char *argv[] = {(char *)tu_bin("hartslag-pseudonymd"), "--config", s_config, NULL};
    s_pid = tu_spawn(argv, NULL, s_log, true, NULL);
    cr_assert_gt(s_pid, 0);
    for (int i = 0; i < 400; i++) {
        usleep(25000);
        size_t len = 0;
        char *log = tu_read_file(s_log, &len);
        const char *run = log && len > offset ? log + offset : NULL;
        const char *started = run ? strstr(run, "event=started") : NULL;
        const char *ep = started ? strstr(started, "endpoint=") : NULL;
        if (ep) {
            ep += strlen("endpoint=");
            size_t n = strcspn(ep, " \n");
            cr_assert_lt(n, sizeof s_endpoint);
            memcpy(s_endpoint, ep, n);
            s_endpoint[n] = '\0';
            free(log);
            return;
        }
        if (waitpid(s_pid, NULL, WNOHANG) == s_pid) {
            s_pid = 0;
            cr_assert_fail("hartslag-pseudonymd did not start: %s", run ? run : "(no log)");
        }
        free(log);
    }
    cr_assert_fail("hartslag-pseudonymd did not start in 10 s");
}

/* Stops the service; a clean stop exits 0 and (under the sanitizers)
   reports nothing. */
static void s_stop(void)
{
    if (s_pid <= 0)
        return;
    kill(s_pid, SIGTERM);
    for (int i = 0; i < 400; i++) {
        int status = 0;
        if (waitpid(s_pid, &status, WNOHANG) == s_pid) {
            s_pid = 0;
            size_t len = 0;
            char *log = tu_read_file(s_log, &len);
            cr_assert(log && !strstr(log, "Sanitizer") && !strstr(log, "runtime error"),
                      "the service reported: %s", log ? log : "");
            free(log);
            cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "unclean stop");
            return;
        }
        usleep(25000);
    }
    kill(s_pid, SIGKILL);
    waitpid(s_pid, NULL, 0);
    s_pid = 0;
}

static void s_setup(void)
{
    tu_watchdog(60);
    cr_assert(sodium_init() >= 0);
    s_dir = tu_tmpdir();
    snprintf(s_config, sizeof s_config, "%s/pseudonymd.yaml", s_dir);
    snprintf(s_log, sizeof s_log, "%s/pseudonymd.log", s_dir);
    snprintf(s_store, sizeof s_store, "%s/pseudonymd.db", s_dir);
    cr_assert_eq(mkdir(s_path("certs"), 0755), 0);
    char *svc[] = {"pseudonym-service", "--org", "ttp", "--out", s_path("svc"), NULL};
    s_keys(svc);
    s_partner("politie", "partner");
    s_partner("welzijn", "partner");
    s_partner("gemeente", "coordinator");
    s_partner("fg", "officer");
    /* The service's own certificate sits in the directory too: no client. */
    size_t len = 0;
    char *text = tu_read_file(s_path("svc/ttp.cert"), &len);
    cr_assert_eq(tu_write_file(s_path("certs/ttp.cert"), text, 0644), 0);
    free(text);
    char err[600];
    keyfile_t *keys = keyfile_load(s_path("svc/ttp.cert_secret"), err, sizeof err);
    cr_assert_not_null(keys, "%s", err);
    memcpy(s_service_curve, keyfile_curve_public(keys), 32);
    keyfile_destroy(&keys);
    uint32_t version;
    cr_assert_eq(keyfile_oprf_load(s_path("svc/ttp.oprf_secret"), NULL, s_oprf_pk, &version, NULL,
                                   err, sizeof err),
                 0, "%s", err);
}

static void s_teardown(void)
{
    s_stop();
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(pseudonymd, .init = s_setup, .fini = s_teardown);

/* A DEALER with the keys of `org` (NULL: a random key nobody knows). */
static zsock_t *s_client(const char *org)
{
    uint8_t pk[32], sk[32];
    if (org) {
        char path[4200], err[600];
        snprintf(path, sizeof path, "%s/keys/%s.cert_secret", s_dir, org);
        keyfile_t *keys = keyfile_load(path, err, sizeof err);
        cr_assert_not_null(keys, "%s", err);
        memcpy(pk, keyfile_curve_public(keys), 32);
        memcpy(sk, keyfile_curve_secret(keys), 32);
        keyfile_destroy(&keys);
    } else
        crypto_box_keypair(pk, sk);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    cr_assert_not_null(dealer);
    zsock_set_curve_serverkey_bin(dealer, s_service_curve);
    zsock_set_curve_publickey_bin(dealer, pk);
    zsock_set_curve_secretkey_bin(dealer, sk);
    zsock_set_linger(dealer, 0);
    zsock_set_sndtimeo(dealer, 5000);
    zsock_set_rcvtimeo(dealer, 5000);
    cr_assert_eq(zsock_connect(dealer, "%s", s_endpoint), 0);
    return dealer;
}

static void s_send_frame(zsock_t *dealer, Hartslag__PseudonymFrame *frame)
{
    frame->version = 1;
    size_t len = hartslag__pseudonym_frame__get_packed_size(frame);
    zframe_t *body = zframe_new(NULL, len);
    hartslag__pseudonym_frame__pack(frame, zframe_data(body));
    cr_assert_eq(zframe_send(&body, dealer, 0), 0);
}

static void s_send_raw(zsock_t *dealer, const void *bytes, size_t len)
{
    zframe_t *body = zframe_new(bytes, len);
    cr_assert_eq(zframe_send(&body, dealer, 0), 0);
}

/* The next frame from the service, or NULL after the receive timeout. */
static Hartslag__PseudonymFrame *s_recv(zsock_t *dealer)
{
    zframe_t *body = zframe_recv(dealer);
    if (!body)
        return NULL;
    Hartslag__PseudonymFrame *frame =
        hartslag__pseudonym_frame__unpack(NULL, zframe_size(body), zframe_data(body));
    zframe_destroy(&body);
    cr_assert_not_null(frame, "the service sent an unreadable frame");
    cr_assert_eq(frame->version, 1);
    return frame;
}

/* The next answer that is not a limit alert or a heartbeat. */
static Hartslag__PseudonymFrame *s_answer(zsock_t *dealer)
{
    for (;;) {
        Hartslag__PseudonymFrame *frame = s_recv(dealer);
        if (!frame || (frame->body_case != HARTSLAG__PSEUDONYM_FRAME__BODY_LIMIT_ALERT &&
                       frame->body_case != HARTSLAG__PSEUDONYM_FRAME__BODY_HEARTBEAT))
            return frame;
        hartslag__pseudonym_frame__free_unpacked(frame, NULL);
    }
}

/* One request of its parts. */
typedef struct {
    uint8_t id[16];
    uint64_t sent_at_ms;
    const char *purpose;
    uint32_t key_version;
    size_t n;
    uint8_t (*blinded)[32];
} req_t;

static void s_send_request(zsock_t *dealer, const req_t *r)
{
    Hartslag__PseudonymFrame frame = HARTSLAG__PSEUDONYM_FRAME__INIT;
    Hartslag__PseudonymRequest req = HARTSLAG__PSEUDONYM_REQUEST__INIT;
    ProtobufCBinaryData items[80];
    cr_assert_leq(r->n, 80);
    for (size_t i = 0; i < r->n; i++) {
        items[i].data = r->blinded[i];
        items[i].len = 32;
    }
    req.request_id.data = (uint8_t *)r->id;
    req.request_id.len = 16;
    req.sent_at_ms = r->sent_at_ms;
    req.purpose = (char *)r->purpose;
    req.key_version = r->key_version;
    req.n_blinded = r->n;
    req.blinded = items;
    frame.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_REQUEST;
    frame.request = &req;
    s_send_frame(dealer, &frame);
}

static uint64_t s_now_ms(void)
{
    return (uint64_t)zclock_time();
}

/* A fresh request of `n` blinded inputs "bsn:<base+i>"; blinds kept. */
typedef struct {
    req_t req;
    uint8_t blinded[80][32];
    uint8_t blinds[80][32];
    char inputs[80][32];
} batch_t;

static void s_batch(batch_t *b, size_t n, int base, const char *purpose)
{
    memset(b, 0, sizeof *b);
    for (size_t i = 0; i < n && i < OPRF_BATCH_MAX; i++) {
        snprintf(b->inputs[i], sizeof b->inputs[i], "bsn:%09d", base + (int)i);
        cr_assert_eq(oprf_blind((const uint8_t *)b->inputs[i], strlen(b->inputs[i]), NULL,
                                b->blinds[i], b->blinded[i]),
                     OPRF_OK);
    }
    randombytes_buf(b->req.id, 16);
    b->req.sent_at_ms = s_now_ms();
    b->req.purpose = purpose;
    b->req.key_version = 1;
    b->req.n = n;
    b->req.blinded = b->blinded;
}

/* Sends `b` and expects a response whose proof verifies; outputs in `out`. */
static void s_expect_ok(zsock_t *dealer, batch_t *b, uint8_t (*out)[64])
{
    s_send_request(dealer, &b->req);
    Hartslag__PseudonymFrame *f = s_answer(dealer);
    cr_assert_not_null(f, "no answer to a good request");
    cr_assert_eq(f->body_case, HARTSLAG__PSEUDONYM_FRAME__BODY_RESPONSE, "refused: %s",
                 f->body_case == HARTSLAG__PSEUDONYM_FRAME__BODY_REFUSAL ? f->refusal->code : "?");
    Hartslag__PseudonymResponse *r = f->response;
    cr_assert_eq(r->request_id.len, 16);
    cr_assert_eq(memcmp(r->request_id.data, b->req.id, 16), 0);
    cr_assert_eq(r->key_version, 1);
    cr_assert_eq(r->n_evaluated, b->req.n);
    cr_assert_eq(r->proof.len, 64);
    uint8_t evaluated[64][32];
    const uint8_t *inputs[64];
    size_t lens[64];
    for (size_t i = 0; i < b->req.n; i++) {
        cr_assert_eq(r->evaluated[i].len, 32);
        memcpy(evaluated[i], r->evaluated[i].data, 32);
        inputs[i] = (const uint8_t *)b->inputs[i];
        lens[i] = strlen(b->inputs[i]);
    }
    uint8_t local[64][64];
    cr_assert_eq(oprf_finalize(s_oprf_pk, inputs, lens, (const uint8_t(*)[32])b->blinds,
                               (const uint8_t(*)[32])b->blinded, (const uint8_t(*)[32])evaluated,
                               b->req.n, r->proof.data, out ? out : local),
                 OPRF_OK, "the service's proof does not verify");
    hartslag__pseudonym_frame__free_unpacked(f, NULL);
}

/* Sends `r` and expects the refusal `code`; returns retry_after_ms. */
static uint64_t s_expect_refusal(zsock_t *dealer, const req_t *r, const char *code)
{
    s_send_request(dealer, r);
    Hartslag__PseudonymFrame *f = s_answer(dealer);
    cr_assert_not_null(f, "no answer, expected %s", code);
    cr_assert_eq(f->body_case, HARTSLAG__PSEUDONYM_FRAME__BODY_REFUSAL, "expected %s", code);
    cr_assert_str_eq(f->refusal->code, code);
    cr_assert_eq(f->refusal->request_id.len, 16);
    cr_assert_eq(memcmp(f->refusal->request_id.data, r->id, 16), 0);
    uint64_t retry = f->refusal->has_retry_after_ms ? f->refusal->retry_after_ms : 0;
    hartslag__pseudonym_frame__free_unpacked(f, NULL);
    return retry;
}

static void s_good(zsock_t *dealer)
{
    batch_t *b = calloc(1, sizeof *b);
    s_batch(b, 2, 111, "send");
    s_expect_ok(dealer, b, NULL);
    free(b);
}

Test(pseudonymd, evaluates_a_batch_and_the_proof_verifies)
{
    s_write_config(NULL, NULL);
    s_start();
    zsock_t *politie = s_client("politie");
    batch_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    uint8_t out_a[64][64], out_b[64][64];
    s_batch(a, 64, 100000000, "send");
    s_expect_ok(politie, a, out_a);
    /* The same inputs with fresh blinds, from another client: equal
       outputs (the same pseudonym at every partner); different inputs
       differ. */
    zsock_t *gemeente = s_client("gemeente");
    s_batch(b, 2, 100000000, "send");
    s_expect_ok(gemeente, b, out_b);
    cr_assert_eq(memcmp(out_a[0], out_b[0], 64), 0);
    cr_assert_eq(memcmp(out_a[1], out_b[1], 64), 0);
    cr_assert_neq(memcmp(out_a[0], out_a[1], 64), 0);
    /* An officer may ask for an access request. */
    zsock_t *fg = s_client("fg");
    s_batch(b, 1, 100000000, "art15");
    s_expect_ok(fg, b, out_b);
    cr_assert_eq(memcmp(out_a[0], out_b[0], 64), 0);
    zsock_destroy(&fg);
    zsock_destroy(&gemeente);
    zsock_destroy(&politie);
    free(a);
    free(b);
}

Test(pseudonymd, each_bad_input_gets_its_refusal_and_the_service_keeps_serving)
{
    s_write_config(NULL, NULL);
    s_start();
    zsock_t *politie = s_client("politie");
    s_good(politie);
    batch_t *b = calloc(1, sizeof *b);

    /* malformed: not a frame; a frame of another version; a short id. */
    s_send_raw(politie, "\xff\xff\xff garbage", 12);
    Hartslag__PseudonymFrame *f = s_answer(politie);
    cr_assert_not_null(f);
    cr_assert_eq(f->body_case, HARTSLAG__PSEUDONYM_FRAME__BODY_REFUSAL);
    cr_assert_str_eq(f->refusal->code, "malformed");
    cr_assert_eq(f->refusal->request_id.len, 0);
    hartslag__pseudonym_frame__free_unpacked(f, NULL);
    s_good(politie);
    /* Over PSD_FRAME_MAX (4096) but within the socket's limit: read and
       refused. (Far larger messages are cut by libzmq's ZMQ_MAXMSGSIZE.) */
    uint8_t big[4200];
    memset(big, 0x0a, sizeof big);
    s_send_raw(politie, big, sizeof big);
    f = s_answer(politie);
    cr_assert_not_null(f, "an oversized frame got no answer");
    cr_assert_str_eq(f->refusal->code, "malformed");
    hartslag__pseudonym_frame__free_unpacked(f, NULL);
    s_good(politie);

    /* invalid_element: bit 255 set; the identity; a short element. */
    s_batch(b, 3, 200, "send");
    b->blinded[1][31] |= 0x80;
    s_expect_refusal(politie, &b->req, "invalid_element");
    s_batch(b, 3, 200, "send");
    memset(b->blinded[2], 0, 32);
    s_expect_refusal(politie, &b->req, "invalid_element");
    s_good(politie);

    /* batch_too_large: 65, and 0. */
    s_batch(b, 65, 300, "send");
    for (size_t i = 64; i < 65; i++)
        memcpy(b->blinded[i], b->blinded[0], 32);
    s_expect_refusal(politie, &b->req, "batch_too_large");
    s_batch(b, 0, 300, "send");
    s_expect_refusal(politie, &b->req, "batch_too_large");
    s_good(politie);

    /* replay: the same id again, even with new elements. */
    s_batch(b, 1, 400, "send");
    s_expect_ok(politie, b, NULL);
    uint8_t id[16];
    memcpy(id, b->req.id, 16);
    s_batch(b, 1, 401, "send");
    memcpy(b->req.id, id, 16);
    s_expect_refusal(politie, &b->req, "replay");
    s_good(politie);

    /* stale: ten minutes behind, and ten ahead. */
    s_batch(b, 1, 500, "send");
    b->req.sent_at_ms -= 10 * 60 * 1000;
    s_expect_refusal(politie, &b->req, "stale");
    s_batch(b, 1, 500, "send");
    b->req.sent_at_ms += 10 * 60 * 1000;
    s_expect_refusal(politie, &b->req, "stale");
    s_good(politie);

    /* key_version: not the service's. */
    s_batch(b, 1, 600, "send");
    b->req.key_version = 2;
    s_expect_refusal(politie, &b->req, "key_version");
    s_good(politie);

    /* purpose_not_allowed: a partner asking for an access request; an
       officer asking to send. A purpose out of the token rules is malformed. */
    s_batch(b, 1, 700, "art15");
    s_expect_refusal(politie, &b->req, "purpose_not_allowed");
    zsock_t *fg = s_client("fg");
    s_batch(b, 1, 700, "send");
    s_expect_refusal(fg, &b->req, "purpose_not_allowed");
    s_batch(b, 1, 700, "Send Now");
    s_expect_refusal(politie, &b->req, "malformed");
    s_good(politie);
    s_batch(b, 1, 701, "audit_query");
    s_expect_ok(fg, b, NULL);

    /* revoked: welzijn is revoked by a reload while connected. */
    zsock_t *welzijn = s_client("welzijn");
    s_good(welzijn);
    s_write_config(NULL, "revoked: [welzijn]\n");
    kill(s_pid, SIGHUP);
    bool refused = false;
    for (int i = 0; i < 100 && !refused; i++) {
        usleep(20000);
        s_batch(b, 1, 800, "send");
        s_send_request(welzijn, &b->req);
        f = s_answer(welzijn);
        if (!f) {
            size_t len = 0;
            char *log = tu_read_file(s_log, &len);
            cr_assert_fail("no answer after the reload; log: %s", log ? log : "");
        }
        refused = f->body_case == HARTSLAG__PSEUDONYM_FRAME__BODY_REFUSAL &&
                  strcmp(f->refusal->code, "revoked") == 0;
        hartslag__pseudonym_frame__free_unpacked(f, NULL);
    }
    cr_assert(refused, "a revoked client was still served after SIGHUP");
    s_good(politie);
    /* ... and a new connection of welzijn is not admitted at all. */
    zsock_t *again = s_client("welzijn");
    zsock_set_rcvtimeo(again, 1000);
    s_batch(b, 1, 801, "send");
    s_send_request(again, &b->req);
    cr_assert_null(s_recv(again), "a revoked key finished a handshake");
    zsock_destroy(&again);

    zsock_destroy(&welzijn);
    zsock_destroy(&fg);
    zsock_destroy(&politie);
    free(b);
}

Test(pseudonymd, an_unknown_key_gets_no_answer)
{
    s_write_config(NULL, NULL);
    s_start();
    zsock_t *stranger = s_client(NULL);
    zsock_set_rcvtimeo(stranger, 1500);
    batch_t *b = calloc(1, sizeof *b);
    s_batch(b, 1, 900, "send");
    s_send_request(stranger, &b->req);
    cr_assert_null(s_recv(stranger), "an unknown key was answered");
    zsock_destroy(&stranger);
    /* The service goes on serving its clients. */
    zsock_t *politie = s_client("politie");
    s_good(politie);
    zsock_destroy(&politie);
    free(b);
    size_t len = 0;
    char *log = tu_read_file(s_log, &len);
    cr_assert(log && strstr(log, "event=handshake_refused"), "no log line for the refusal");
    free(log);
}

/* The records of the service's audit log, as "event actor purpose count
   outcome reason" lines. */
static char *s_audit_lines(void)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(s_store, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT record FROM audit ORDER BY idx", -1, &st, NULL),
                 SQLITE_OK);
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    while (sqlite3_step(st) == SQLITE_ROW) {
        Hartslag__AuditRecord *r = hartslag__audit_record__unpack(
            NULL, (size_t)sqlite3_column_bytes(st, 0), sqlite3_column_blob(st, 0));
        cr_assert_not_null(r);
        int n = snprintf(out + len, cap - len, "%s %s %s %u %s %s\n", r->event, r->actor_org,
                         r->purpose ? r->purpose : "-", r->count, r->outcome,
                         r->reason ? r->reason : "-");
        if (n > 0 && (size_t)n < cap - len)
            len += (size_t)n;
        hartslag__audit_record__free_unpacked(r, NULL);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

/* The next limit alert on `dealer` (after heartbeats), or NULL. */
static Hartslag__PseudonymFrame *s_next_alert(zsock_t *dealer)
{
    for (int i = 0; i < 10; i++) {
        Hartslag__PseudonymFrame *f = s_recv(dealer);
        if (!f)
            return NULL;
        if (f->body_case == HARTSLAG__PSEUDONYM_FRAME__BODY_LIMIT_ALERT)
            return f;
        hartslag__pseudonym_frame__free_unpacked(f, NULL);
    }
    return NULL;
}

static void s_heartbeat(zsock_t *dealer)
{
    Hartslag__PseudonymFrame frame = HARTSLAG__PSEUDONYM_FRAME__INIT;
    Hartslag__Heartbeat hb = HARTSLAG__HEARTBEAT__INIT;
    hb.sent_at_ms = s_now_ms();
    frame.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_HEARTBEAT;
    frame.heartbeat = &hb;
    s_send_frame(dealer, &frame);
}

Test(pseudonymd, rate_limit_refuses_audits_and_alerts_the_coordinator_until_acked)
{
    s_write_config("  default: {per_minute: 1000, per_day: 100000}\n"
                   "  clients:\n    politie: {per_minute: 5, per_day: 1000}\n",
                   NULL);
    s_start();
    /* Not across a minute boundary: the per-minute window is fixed. */
    while (s_now_ms() % 60000 > 55000)
        usleep(100000);
    zsock_t *gemeente = s_client("gemeente");
    s_heartbeat(gemeente);
    Hartslag__PseudonymFrame *f = s_recv(gemeente);
    cr_assert_not_null(f, "no heartbeat answer");
    cr_assert_eq(f->body_case, HARTSLAG__PSEUDONYM_FRAME__BODY_HEARTBEAT);
    hartslag__pseudonym_frame__free_unpacked(f, NULL);

    zsock_t *politie = s_client("politie");
    batch_t *b = calloc(1, sizeof *b);
    s_batch(b, 5, 1000, "send");
    s_expect_ok(politie, b, NULL);
    s_batch(b, 1, 2000, "send");
    uint64_t retry = s_expect_refusal(politie, &b->req, "rate_limited");
    cr_assert(retry > 0 && retry <= 60000, "retry_after_ms %llu", (unsigned long long)retry);
    s_batch(b, 1, 2001, "send");
    s_expect_refusal(politie, &b->req, "rate_limited");
    /* The coordinator's connection gets the alert... */
    f = s_next_alert(gemeente);
    cr_assert_not_null(f, "the coordinator got no limit alert");
    Hartslag__PseudonymLimitAlert *alert = f->limit_alert;
    cr_assert_str_eq(alert->client_org, "politie");
    cr_assert_str_eq(alert->limit, "per_minute");
    cr_assert_eq(alert->allowed, 5);
    cr_assert_eq(alert->alert_id.len, 16);
    uint8_t alert_id[16];
    memcpy(alert_id, alert->alert_id.data, 16);
    uint64_t audit_index = alert->audit_index;
    hartslag__pseudonym_frame__free_unpacked(f, NULL);
    /* Other clients are not limited by politie's use. */
    s_good(gemeente);

    /* ... once for the window, not once per refusal; and again on a new
       connection while it is not acknowledged. */
    zsock_destroy(&gemeente);
    gemeente = s_client("gemeente");
    s_heartbeat(gemeente);
    f = s_next_alert(gemeente);
    cr_assert_not_null(f, "an unacknowledged alert was not sent again");
    cr_assert_eq(memcmp(f->limit_alert->alert_id.data, alert_id, 16), 0);
    hartslag__pseudonym_frame__free_unpacked(f, NULL);
    zsock_set_rcvtimeo(gemeente, 700);
    cr_assert_null(s_next_alert(gemeente), "one refusal window raised two alerts");

    /* An ack from another client is ignored; the coordinator's ends it. */
    Hartslag__PseudonymFrame frame = HARTSLAG__PSEUDONYM_FRAME__INIT;
    Hartslag__PseudonymLimitAlertAck ack = HARTSLAG__PSEUDONYM_LIMIT_ALERT_ACK__INIT;
    ack.alert_id.data = alert_id;
    ack.alert_id.len = 16;
    frame.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_LIMIT_ALERT_ACK;
    frame.limit_alert_ack = &ack;
    s_send_frame(politie, &frame);
    s_send_frame(gemeente, &frame);
    s_good(gemeente);
    zsock_destroy(&gemeente);
    gemeente = s_client("gemeente");
    zsock_set_rcvtimeo(gemeente, 1000);
    s_heartbeat(gemeente);
    cr_assert_null(s_next_alert(gemeente), "an acknowledged alert was sent again");

    /* The audit: the refusals and the alert, with the count, never elements. */
    s_stop();
    char *lines = s_audit_lines();
    cr_assert(strstr(lines, "pseudonym_evaluated politie send 5 ok -\n"), "%s", lines);
    cr_assert(strstr(lines, "pseudonym_refused politie send 1 refused rate_limited\n"), "%s",
              lines);
    cr_assert(strstr(lines, "pseudonym_limit_alert politie - 1 ok per_minute\n"), "%s", lines);
    cr_assert(strstr(lines, "pseudonym_limit_alert_acked gemeente - 0 ok -\n"), "%s", lines);
    /* The alert names the refusal's record. */
    int line_no = 0;
    const char *p = lines;
    for (; p && line_no < (int)audit_index; line_no++)
        p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    cr_assert(p && strncmp(p, "pseudonym_refused politie send 1 refused rate_limited", 52) == 0,
              "audit_index %llu does not name the refusal", (unsigned long long)audit_index);
    free(lines);
    size_t len = 0;
    char *log = tu_read_file(s_log, &len);
    cr_assert(strstr(log, "event=rate_limited client=politie limit=per_minute allowed=5"), "%s",
              log);
    free(log);

    /* The log is the broker's format: `hartslag audit verify` checks its
       tree and its checkpoints against the service's sign key. Today the
       CLI takes that key from a certificate of role broker only
       (--broker-cert), so the test hands it one with the service's key. */
    cert_t svc, signer;
    char why[600];
    cr_assert_eq(cert_load(s_path("svc/ttp.cert"), &svc, why, sizeof why), 0, "%s", why);
    signer = svc;
    signer.role = CERT_ROLE_BROKER;
    memset(signer.oprf_key, 0, sizeof signer.oprf_key);
    signer.oprf_key_version = 0;
    cr_assert_eq(cert_save(&signer, s_path("signer.cert"), why, sizeof why), 0, "%s", why);
    char *verify[] = {
        (char *)tu_bin("hartslag"), "audit", "verify", "--db", s_store, "--broker-cert",
        s_path("signer.cert"),      NULL};
    char *out = NULL, *err = NULL;
    cr_assert_eq(tu_run(verify, NULL, &out, &err), 0, "audit verify: %s %s", out, err);
    free(out);
    free(err);
    zsock_destroy(&gemeente);
    zsock_destroy(&politie);
    free(b);
}

/* The canary scan: nothing the clients sent or got back is in any file the
   service writes (store, WAL, log). */
Test(pseudonymd, the_store_holds_no_element)
{
    s_write_config(NULL, NULL);
    s_start();
    zsock_t *politie = s_client("politie");
    batch_t *b = calloc(1, sizeof *b);
    s_batch(b, 8, 123456782, "send");
    uint8_t out[64][64];
    s_expect_ok(politie, b, out);
    batch_t *bad = calloc(1, sizeof *bad);
    s_batch(bad, 2, 55555, "send");
    bad->req.key_version = 9;
    s_expect_refusal(politie, &bad->req, "key_version");
    zsock_destroy(&politie);
    s_stop();
    for (size_t i = 0; i < 8; i++) {
        cr_assert_not(tu_dir_contains(s_dir, b->blinded[i], 32), "blinded element %zu stored", i);
        cr_assert_not(tu_dir_contains(s_dir, out[i], 32), "an output was stored");
        cr_assert_not(tu_dir_contains(s_dir, b->inputs[i], strlen(b->inputs[i])));
    }
    for (size_t i = 0; i < 2; i++)
        cr_assert_not(tu_dir_contains(s_dir, bad->blinded[i], 32), "refused element %zu stored", i);
    cr_assert_not(tu_dir_contains(s_dir, b->req.id, 16), "a request id was stored");
    /* The scan can fail: the store does hold the audit's words. */
    cr_assert(tu_dir_contains(s_dir, "pseudonym_evaluated", 19));
    free(b);
    free(bad);
}

/* Runs the service expecting it not to start; returns its stderr. */
static char *s_start_fails(int want_rc)
{
    char *argv[] = {(char *)tu_bin("hartslag-pseudonymd"), "--config", s_config, NULL};
    char *out = NULL, *err = NULL;
    int rc = tu_run(argv, NULL, &out, &err);
    cr_assert_eq(rc, want_rc, "exit %d: %s", rc, err);
    free(out);
    return err;
}

Test(pseudonymd, refuses_to_start_with_a_bad_configuration_or_other_keys)
{
    /* A typo is named with its line and column. */
    s_write_config(NULL, "revokd: [welzijn]\n");
    char *err = s_start_fails(3);
    cr_assert(strstr(err, "pseudonymd.yaml:11:1: unknown key 'revokd'"), "%s", err);
    free(err);

    /* The service's certificate in the directory names another OPRF key:
       every daemon would refuse its proofs, so it does not start. */
    char *other[] = {"pseudonym-service", "--org", "ttp", "--key-version", "2", "--out",
                     s_path("other"),     NULL};
    s_keys(other);
    size_t len = 0;
    char *text = tu_read_file(s_path("other/ttp.cert"), &len);
    cr_assert_eq(remove(s_path("certs/ttp.cert")), 0);
    cr_assert_eq(tu_write_file(s_path("certs/ttp.cert"), text, 0644), 0);
    free(text);
    s_write_config(NULL, NULL);
    err = s_start_fails(3);
    cr_assert(strstr(err, "names other keys"), "%s", err);
    free(err);

    /* An OPRF key file that group or others can read is refused. */
    cr_assert_eq(remove(s_path("certs/ttp.cert")), 0);
    cr_assert_eq(chmod(s_path("svc/ttp.oprf_secret"), 0640), 0);
    err = s_start_fails(3);
    cr_assert(strstr(err, "chmod 600"), "%s", err);
    free(err);
    cr_assert_eq(chmod(s_path("svc/ttp.oprf_secret"), 0600), 0);
    s_start();
    zsock_t *politie = s_client("politie");
    s_good(politie);
    zsock_destroy(&politie);
}
