/*  Refused handshakes leave a trace (issue 13 A2): a client whose CURVE key
    is not a partner's is refused, and the broker's log and audit log say so
    once a minute per key, with the key's fingerprint and the peer address;
    a partner's public key with the wrong secret is logged as a failed
    handshake without a key. No secret reaches the log. */
#include "broker_harness.h"
#include "keyfile.h"
#include "testutil.h"
#include "wire.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bh_t *s_bh;
static const char *s_orgs[] = {"gemeente", "politie", "welzijn"};

static void s_setup(void)
{
    tu_watchdog(120);
    cr_assert_eq(sodium_init() >= 0, 1);
    s_bh = bh_new(s_orgs, 3, bh_default_agreements);
    cr_assert_not_null(s_bh);
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
}

static void s_teardown(void)
{
    bh_destroy(&s_bh);
}

TestSuite(broker_auth, .init = s_setup, .fini = s_teardown);

/* The fingerprint as docs/operations.md describes it, computed here. */
static void s_fingerprint(const uint8_t pk[32], char out[20])
{
    uint8_t digest[32];
    crypto_hash_sha256(digest, pk, 32);
    snprintf(out, 20, "%02x%02x:%02x%02x:%02x%02x:%02x%02x", digest[0], digest[1], digest[2],
             digest[3], digest[4], digest[5], digest[6], digest[7]);
}

/* One connection with these keys that sends a Hello; waits until the
   handshake failed (true) or 5 s passed (false: it was admitted or hung). */
static bool s_attempt(const uint8_t pk[32], const uint8_t sk[32])
{
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    zsock_set_curve_serverkey_bin(dealer, s_bh->broker_pk);
    zsock_set_curve_publickey_bin(dealer, pk);
    zsock_set_curve_secretkey_bin(dealer, sk);
    zsock_set_linger(dealer, 0);
    zsock_set_reconnect_ivl(dealer, -1); /* one attempt per socket */
    static int attempts;
    char monitor_ep[64];
    snprintf(monitor_ep, sizeof monitor_ep, "inproc://auth-test-%d-%d", (int)getpid(), ++attempts);
    cr_assert_eq(zmq_socket_monitor(zsock_resolve(dealer), monitor_ep,
                                    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                        ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                        ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                        ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED),
                 0, "monitor: %s", zmq_strerror(zmq_errno()));
    zsock_t *monitor = zsock_new_pair(monitor_ep);
    cr_assert_not_null(monitor);
    zsock_set_rcvtimeo(monitor, 5000);
    cr_assert_eq(zsock_connect(dealer, "%s", s_bh->endpoint), 0);
    Hartslag__Hello hello = HARTSLAG__HELLO__INIT;
    hello.org = "politie";
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.version = WIRE_VERSION;
    frame.body_case = HARTSLAG__FRAME__BODY_HELLO;
    frame.hello = &hello;
    uint8_t *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(wire_pack_frame(&frame, &bytes, &len), 0);
    zmq_send(zsock_resolve(dealer), bytes, len, ZMQ_DONTWAIT);
    free(bytes);
    bool failed = false;
    for (;;) {
        zmsg_t *event = zmsg_recv(monitor);
        if (!event)
            break;
        uint16_t kind;
        memcpy(&kind, zframe_data(zmsg_first(event)), 2);
        zmsg_destroy(&event);
        if (kind == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            break;
        if (kind != ZMQ_EVENT_DISCONNECTED) {
            failed = true;
            break;
        }
    }
    zmq_socket_monitor(zsock_resolve(dealer), NULL, 0);
    zsock_destroy(&monitor);
    zsock_destroy(&dealer);
    return failed;
}

/* How often `needle` occurs in the broker's log after waiting `wait_ms`
   for the loop to write what it was told. */
static int s_log_count(const char *needle, int wait_ms)
{
    int count = 0;
    for (int waited = 0; waited <= wait_ms; waited += 100) {
        char *log = bh_log(s_bh);
        count = 0;
        for (const char *at = strstr(log, needle); at; at = strstr(at + 1, needle))
            count++;
        free(log);
        if (count > 0 && waited >= wait_ms / 2)
            break;
        usleep(100000);
    }
    return count;
}

/* `hartslag audit query --event auth_failed --json` over the stopped broker's store. */
static char *s_query_auth_failed(void)
{
    char db[4300];
    snprintf(db, sizeof db, "%s", bh_store(s_bh));
    char *argv[] = {(char *)tu_bin("hartslag"),
                    "audit",
                    "query",
                    "--db",
                    db,
                    "--event",
                    "auth_failed",
                    "--json",
                    NULL};
    char *out = NULL, *err = NULL;
    int rc = tu_run(argv, NULL, &out, &err);
    cr_assert_eq(rc, 0, "audit query: %s %s", out, err);
    free(err);
    return out;
}

static int s_count(const char *text, const char *needle)
{
    int count = 0;
    for (const char *at = strstr(text, needle); at; at = strstr(at + 1, needle))
        count++;
    return count;
}

Test(broker_auth, unknown_key_is_refused_logged_and_audited_once_a_minute)
{
    uint8_t pk[32], sk[32];
    crypto_box_keypair(pk, sk);
    char fp[20], needle[64];
    s_fingerprint(pk, fp);
    for (int i = 0; i < 10; i++)
        cr_assert(s_attempt(pk, sk), "attempt %d with an unknown key was not refused", i);
    snprintf(needle, sizeof needle, "key=%s", fp);
    cr_assert_eq(s_log_count(needle, 1500), 1, "expected one log line for the key %s", fp);
    char *log = bh_log(s_bh);
    cr_assert(strstr(log, "event=auth_failed reason=unknown_key"), "%s", log);
    cr_assert(strstr(log, "peer=127.0.0.1"), "no peer address: %s", log);
    char secret[41];
    zmq_z85_encode(secret, sk, 32);
    cr_assert_null(strstr(log, secret), "the client's secret key is in the log");
    free(log);
    /* The partners are still served. */
    bh_client_t *politie = bh_client_new(s_bh, "politie", false);
    cr_assert_eq(bh_hello(politie), 0, "a partner was refused");
    bh_client_destroy(&politie);
    bh_stop(s_bh, SIGTERM);
    char *out = s_query_auth_failed();
    cr_assert_eq(s_count(out, fp), 1, "expected one audit record with %s: %s", fp, out);
    cr_assert(strstr(out, "peer=127.0.0.1"), "%s", out);
    free(out);
}

Test(broker_auth, two_unknown_keys_give_a_record_each)
{
    uint8_t pk1[32], sk1[32], pk2[32], sk2[32];
    crypto_box_keypair(pk1, sk1);
    crypto_box_keypair(pk2, sk2);
    char fp1[20], fp2[20];
    s_fingerprint(pk1, fp1);
    s_fingerprint(pk2, fp2);
    cr_assert(s_attempt(pk1, sk1));
    cr_assert(s_attempt(pk2, sk2));
    cr_assert(s_attempt(pk1, sk1));
    bh_stop(s_bh, SIGTERM);
    char *out = s_query_auth_failed();
    cr_assert_eq(s_count(out, fp1), 1, "%s", out);
    cr_assert_eq(s_count(out, fp2), 1, "%s", out);
    free(out);
}

Test(broker_auth, partner_public_key_with_a_wrong_secret_is_logged_without_a_key)
{
    char path[8500], err[600];
    snprintf(path, sizeof path, "%s/politie.cert_secret", s_bh->keys);
    keyfile_t *keys = keyfile_load(path, err, sizeof err);
    cr_assert_not_null(keys, "%s", err);
    uint8_t pk[32], wrong_pk[32], wrong_sk[32];
    memcpy(pk, keyfile_curve_public(keys), 32);
    keyfile_destroy(&keys);
    crypto_box_keypair(wrong_pk, wrong_sk);
    for (int i = 0; i < 3; i++)
        cr_assert(s_attempt(pk, wrong_sk), "a wrong secret was admitted");
    cr_assert_eq(s_log_count("reason=handshake_failed detail=cryptographic key=unknown", 1500), 1);
    char *log = bh_log(s_bh);
    char secret[41];
    zmq_z85_encode(secret, wrong_sk, 32);
    cr_assert_null(strstr(log, secret));
    free(log);
    bh_stop(s_bh, SIGTERM);
    char *out = s_query_auth_failed();
    cr_assert_eq(s_count(out, "handshake_failed:cryptographic"), 1, "%s", out);
    free(out);
}

Test(broker_auth, revoked_partner_is_named_by_the_fingerprint_keys_show_prints)
{
    char cert_path[4300], secret_path[8500], err[600];
    snprintf(cert_path, sizeof cert_path, "%s/welzijn.cert", s_bh->certs);
    char *argv[] = {(char *)tu_bin("hartslag"), "keys", "show", cert_path, NULL};
    char *out = NULL;
    cr_assert_eq(tu_run(argv, NULL, &out, NULL), 0);
    const char *line = strstr(out, "curve key fp: ");
    cr_assert_not_null(line, "%s", out);
    char fp[20];
    snprintf(fp, sizeof fp, "%.19s", line + strlen("curve key fp: "));
    free(out);
    cr_assert_eq(unlink(cert_path), 0);
    bh_signal(s_bh, SIGHUP);
    cr_assert_eq(s_log_count("event=partner_revoked org=welzijn", 3000), 1);
    snprintf(secret_path, sizeof secret_path, "%s/welzijn.cert_secret", s_bh->keys);
    keyfile_t *keys = keyfile_load(secret_path, err, sizeof err);
    cr_assert_not_null(keys, "%s", err);
    uint8_t pk[32], sk[32];
    memcpy(pk, keyfile_curve_public(keys), 32);
    memcpy(sk, keyfile_curve_secret(keys), 32);
    keyfile_destroy(&keys);
    cr_assert(s_attempt(pk, sk), "a revoked partner was admitted");
    char needle[64];
    snprintf(needle, sizeof needle, "reason=unknown_key detail=- key=%s", fp);
    cr_assert_eq(s_log_count(needle, 1500), 1, "no line with %s", needle);
}
