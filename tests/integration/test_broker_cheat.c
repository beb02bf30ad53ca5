/*  What one partner (or the broker's clock) cannot do to the others
    through the broker (issue 18): backdate a signal, keep receiving after
    its certificate expired, flood the audit log. Real broker, raw CURVE
    clients on 127.0.0.1. */
#include "broker_harness.h"
#include "cert.h"
#include "testutil.h"
#include "wire.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const s_orgs[] = {"gemeente", "politie", "welzijn"};
static bh_t *s_bh;

static void s_setup(void)
{
    tu_watchdog(90);
    s_bh = bh_new(s_orgs, 3, bh_default_agreements);
    cr_assert_not_null(s_bh);
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
}

static void s_teardown(void)
{
    bh_destroy(&s_bh);
}

TestSuite(broker_cheat, .init = s_setup, .fini = s_teardown);

static bh_client_t *s_connect(const char *org)
{
    bh_client_t *client = bh_client_new(s_bh, org, false);
    cr_assert_not_null(client);
    cr_assert_eq(bh_hello(client), 0, "%s: no Welcome", org);
    return client;
}

/* Seals from `client` to gemeente and submits; the answer frame. */
static Hartslag__Frame *s_submit(bh_client_t *client, uint8_t id[16])
{
    uint8_t *sealed = NULL;
    size_t len = 0;
    cr_assert_eq(bh_seal(s_bh, client, "gemeente", "overlast", "casusoverleg", "datum", NULL,
                         &sealed, &len, id),
                 0);
    Hartslag__Frame *answer = bh_submit(client, sealed, len, 5000);
    free(sealed);
    cr_assert_not_null(answer, "no answer to Submit");
    return answer;
}

Test(broker_cheat, a_backdated_signal_is_refused)
{
    bh_client_t *politie = s_connect("politie");
    uint8_t id[16];
    /* Sealed four days ago: longer than a daemon may have been offline
       (max_submit_age, three days, plus the clock skew). */
    politie->created_at_ms = wire_now_ms() - 4ull * 86400000ull;
    Hartslag__Frame *answer = s_submit(politie, id);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_DENIED);
    cr_assert_str_eq(answer->denied->reason, "backdated");
    hartslag__frame__free_unpacked(answer, NULL);
    /* An hour ago (a daemon that was offline resubmits): accepted. */
    politie->created_at_ms = wire_now_ms() - 3600000ull;
    answer = s_submit(politie, id);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_ACCEPTED, "body %d",
                 (int)answer->body_case);
    hartslag__frame__free_unpacked(answer, NULL);
    bh_client_destroy(&politie);
}

#define FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

/* Restarts the broker with its clock at 23:59:`second` UTC of today (real
   time flows on from there), through libfaketime: a certificate valid
   until today then expires while the test watches. */
static void s_restart_before_midnight(int second)
{
    bh_stop(s_bh, SIGTERM);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char faked[64];
    snprintf(faked, sizeof faked, "@%04d-%02d-%02d 23:59:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, second);
    cr_assert_eq(access(FAKETIME_LIB, R_OK), 0, "libfaketime is missing (scripts/deps.sh)");
    setenv("LD_PRELOAD", FAKETIME_LIB, 1);
    setenv("FAKETIME", faked, 1);
    setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
    setenv("TZ", "UTC", 1);
    /* Under AddressSanitizer the runtime wants to be the first library;
       libfaketime only wraps clock calls, so the order does not matter. */
    const char *asan = getenv("ASAN_OPTIONS");
    char *saved = asan ? strdup(asan) : NULL;
    char options[1024];
    snprintf(options, sizeof options, "%s%sverify_asan_link_order=0", asan ? asan : "",
             asan && *asan ? ":" : "");
    setenv("ASAN_OPTIONS", options, 1);
    int rc = bh_start(s_bh, NULL);
    if (saved)
        setenv("ASAN_OPTIONS", saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(saved);
    unsetenv("LD_PRELOAD");
    unsetenv("FAKETIME");
    unsetenv("FAKETIME_DONT_FAKE_MONOTONIC");
    cr_assert_eq(rc, 0, "the broker did not start under libfaketime");
}

static bool s_wait_log(const char *needle, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        char *log = bh_log(s_bh);
        bool found = log && strstr(log, needle);
        free(log);
        if (found)
            return true;
        usleep(100000);
    }
    return false;
}

Test(broker_cheat, a_partner_whose_certificate_expires_is_cut_off)
{
    /* politie's certificate is valid until today, inclusive. */
    char path[4300], err[600];
    snprintf(path, sizeof path, "%s/politie.cert", s_bh->certs);
    cert_t cert;
    cr_assert_eq(cert_load(path, &cert, err, sizeof err), 0, "%s", err);
    cert.valid_until = (int64_t)(time(NULL) / 86400);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(cert_save(&cert, path, err, sizeof err), 0, "%s", err);
    s_restart_before_midnight(50);

    bh_client_t *politie = s_connect("politie");
    bh_client_t *gemeente = s_connect("gemeente");
    /* A signal for politie that it receives but never acknowledges: the
       broker would send it again after 10 s. */
    uint8_t *sealed = NULL, id[16];
    size_t len = 0;
    cr_assert_eq(bh_seal(s_bh, gemeente, "politie", "zorgmelding", "zorgcoordinatie", "datum", NULL,
                         &sealed, &len, id),
                 0);
    Hartslag__Frame *answer = bh_submit(gemeente, sealed, len, 5000);
    free(sealed);
    cr_assert(answer && answer->body_case == HARTSLAG__FRAME__BODY_ACCEPTED);
    hartslag__frame__free_unpacked(answer, NULL);
    Hartslag__Frame *frame = bh_recv(politie, 5000);
    cr_assert(frame && frame->body_case == HARTSLAG__FRAME__BODY_DELIVER, "no delivery");
    hartslag__frame__free_unpacked(frame, NULL);

    /* Midnight passes at the broker while politie keeps its connection
       alive: politie is cut off and audited. */
    bool cut_off = false;
    for (int i = 0; i < 30 && !cut_off; i++) {
        Hartslag__Heartbeat beat = HARTSLAG__HEARTBEAT__INIT;
        Hartslag__Frame ping = HARTSLAG__FRAME__INIT;
        ping.body_case = HARTSLAG__FRAME__BODY_HEARTBEAT;
        ping.heartbeat = &beat;
        cr_assert_eq(bh_send(politie, &ping), 0);
        cut_off = s_wait_log("event=partner_expired org=politie", 500);
    }
    cr_assert(cut_off, "the broker kept politie connected after its certificate expired");
    /* What was sent before the cut-off may still be on its way. */
    zpoller_t *poller = zpoller_new(politie->dealer, NULL);
    while (zpoller_wait(poller, 300)) {
        zframe_t *earlier = zframe_recv(politie->dealer);
        zframe_destroy(&earlier);
    }
    /* Nothing more is pushed to it: no redelivery (due after 10 s without
       an ack), no checkpoint, no notice; only answers to what it sent. */
    int64_t until = zclock_mono() + 12000;
    while (zclock_mono() < until) {
        if (!zpoller_wait(poller, (int)(until - zclock_mono())))
            continue;
        zframe_t *payload = zframe_recv(politie->dealer);
        cr_assert_not_null(payload);
        Hartslag__Frame *late =
            hartslag__frame__unpack(NULL, zframe_size(payload), zframe_data(payload));
        zframe_destroy(&payload);
        cr_assert_not_null(late);
        cr_assert(late->body_case == HARTSLAG__FRAME__BODY_ERROR ||
                      late->body_case == HARTSLAG__FRAME__BODY_HEARTBEAT,
                  "the broker pushed frame %d to politie after its certificate expired",
                  (int)late->body_case);
        hartslag__frame__free_unpacked(late, NULL);
    }
    zpoller_destroy(&poller);
    /* What politie sends is refused, and the log says why. */
    cr_assert_eq(bh_hello(politie), -1, "politie still gets a Welcome");
    cr_assert(s_wait_log("event=auth_failed reason=certificate_not_valid", 5000));
    bh_client_destroy(&politie);
    bh_client_destroy(&gemeente);

    bh_stop(s_bh, SIGTERM);
    char *argv[] = {
        (char *)tu_bin("hartslag"), "audit",  "query", "--db", (char *)bh_store(s_bh), "--event",
        "partner_expired",          "--json", NULL};
    char *out = NULL;
    cr_assert_eq(tu_run(argv, NULL, &out, NULL), 0, "no partner_expired record: %s", out);
    cr_assert(strstr(out, "\"politie\""), "%s", out);
    free(out);
}

static long long s_audit_records(void)
{
    char *out = NULL;
    long long n = -1;
    if (bh_query(s_bh, "SELECT COUNT(*) FROM audit;", &out) == 0 && out)
        n = strtoll(out, NULL, 10);
    free(out);
    return n;
}

/* Sends `n` copies of `frame` from `client` as fast as it can and reads
   whatever comes back. */
static void s_flood(bh_client_t *client, Hartslag__Frame *frame, int n)
{
    for (int i = 0; i < n; i++)
        cr_assert_eq(bh_send(client, frame), 0);
    Hartslag__Frame *answer;
    while ((answer = bh_recv(client, 300)) != NULL)
        hartslag__frame__free_unpacked(answer, NULL);
}

Test(broker_cheat, one_partner_cannot_flood_the_audit_log)
{
    /* 10 frames a second, a burst of 20: the budget every frame type of one
       partner shares. */
    bh_stop(s_bh, SIGTERM);
    cr_assert_eq(bh_start(s_bh, "rate_limit: 10\nrate_burst: 20\n"), 0);
    bh_client_t *politie = s_connect("politie");
    usleep(300000);
    long long before = s_audit_records();
    cr_assert_geq(before, 0);
    int64_t started = zclock_mono();

    /* Submits: every one a valid signal. */
    for (int i = 0; i < 300; i++) {
        uint8_t *sealed = NULL, id[16];
        size_t len = 0;
        cr_assert_eq(bh_seal(s_bh, politie, "gemeente", "overlast", "casusoverleg", "datum", NULL,
                             &sealed, &len, id),
                     0);
        Hartslag__SealedSignal *signal = hartslag__sealed_signal__unpack(NULL, len, sealed);
        cr_assert_not_null(signal);
        Hartslag__Submit submit = HARTSLAG__SUBMIT__INIT;
        submit.signal = signal;
        Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
        frame.body_case = HARTSLAG__FRAME__BODY_SUBMIT;
        frame.submit = &submit;
        cr_assert_eq(bh_send(politie, &frame), 0);
        hartslag__sealed_signal__free_unpacked(signal, NULL);
        free(sealed);
    }
    /* Hellos that claim another org. */
    Hartslag__Hello hello = HARTSLAG__HELLO__INIT;
    hello.org = "gemeente";
    Hartslag__Frame wrong_hello = HARTSLAG__FRAME__INIT;
    wrong_hello.body_case = HARTSLAG__FRAME__BODY_HELLO;
    wrong_hello.hello = &hello;
    s_flood(politie, &wrong_hello, 300);
    /* Withdrawals of signals that do not exist. */
    uint8_t nothing[16] = {0};
    Hartslag__Withdraw withdraw = HARTSLAG__WITHDRAW__INIT;
    withdraw.signal_id.data = nothing;
    withdraw.signal_id.len = sizeof nothing;
    withdraw.reason = "unjustified";
    Hartslag__Frame withdraw_frame = HARTSLAG__FRAME__INIT;
    withdraw_frame.body_case = HARTSLAG__FRAME__BODY_WITHDRAW;
    withdraw_frame.withdraw = &withdraw;
    s_flood(politie, &withdraw_frame, 300);
    /* Alert acks from a partner that is not the coordinator. */
    Hartslag__AlertAck ack = HARTSLAG__ALERT_ACK__INIT;
    ack.alert_id.data = nothing;
    ack.alert_id.len = sizeof nothing;
    ack.lead_org = "politie";
    Hartslag__Frame ack_frame = HARTSLAG__FRAME__INIT;
    ack_frame.body_case = HARTSLAG__FRAME__BODY_ALERT_ACK;
    ack_frame.alert_ack = &ack;
    s_flood(politie, &ack_frame, 300);
    /* Cosignatures of nothing, and frames that do not unpack. */
    Hartslag__Cosignature cosignature = HARTSLAG__COSIGNATURE__INIT;
    cosignature.tree_size = 1;
    cosignature.signature.data = (uint8_t *)"junk";
    cosignature.signature.len = 4;
    Hartslag__Frame cosig_frame = HARTSLAG__FRAME__INIT;
    cosig_frame.body_case = HARTSLAG__FRAME__BODY_COSIGNATURE;
    cosig_frame.cosignature = &cosignature;
    s_flood(politie, &cosig_frame, 300);
    for (int i = 0; i < 300; i++)
        cr_assert_eq(bh_send_raw(politie, "\x08\x01\x9a", 3, 1), 0);
    /* Correct Hellos: each would resend the delivery window. */
    hello.org = "politie";
    s_flood(politie, &wrong_hello, 300);
    usleep(1500000);

    double seconds = (double)(zclock_mono() - started) / 1000.0;
    long long grown = s_audit_records() - before;
    /* At most the budget: 20 + 10 per second frames, each at most two
       records (a Submit: submitted + accepted for its one recipient). */
    long long budget = 2 * (20 + (long long)(10 * seconds + 1));
    cr_assert_leq(grown, budget, "%lld records in %.1f s from one partner (budget %lld)", grown,
                  seconds, budget);
    cr_assert(s_wait_log("event=rate_limited org=politie", 1000), "refusals not logged");
    bh_client_destroy(&politie);
}
