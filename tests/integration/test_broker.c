/*  The real hartslag-broker on 127.0.0.1, driven by raw CURVE clients:
    authentication, every denial, hostile frames, replay, offline delivery,
    acks, withdrawal, revocation by SIGHUP, and what the broker keeps. */
#include "broker_harness.h"
#include "instruction.h"
#include "testutil.h"
#include "wire.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bh_t *s_bh;
static const char *s_orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};

static void s_setup(void)
{
    tu_watchdog(60);
    s_bh = bh_new(s_orgs, 4, bh_default_agreements);
    cr_assert_not_null(s_bh);
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
}

static void s_teardown(void)
{
    bh_destroy(&s_bh);
}

TestSuite(broker, .init = s_setup, .fini = s_teardown);

static bh_client_t *s_connect(const char *org)
{
    bh_client_t *client = bh_client_new(s_bh, org, false);
    cr_assert_not_null(client);
    cr_assert_eq(bh_hello(client), 0, "%s got no Welcome", org);
    return client;
}

/* Seals and submits; returns the answer frame (caller frees). */
static Hartslag__Frame *s_submit(bh_client_t *client, const char *to, const char *type,
                                 const char *purpose, const char *fields, uint8_t id[16])
{
    uint8_t *sealed = NULL;
    size_t len = 0;
    cr_assert_eq(bh_seal(s_bh, client, to, type, purpose, fields, NULL, &sealed, &len, id), 0);
    Hartslag__Frame *answer = bh_submit(client, sealed, len, 5000);
    free(sealed);
    cr_assert_not_null(answer, "no answer to Submit");
    return answer;
}

static void s_expect_accepted(Hartslag__Frame *answer, const uint8_t id[16])
{
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_ACCEPTED, "got body %d, reason %s",
                 answer->body_case,
                 answer->body_case == HARTSLAG__FRAME__BODY_DENIED ? answer->denied->reason : "-");
    cr_assert_eq(memcmp(answer->accepted->signal_id.data, id, 16), 0);
    hartslag__frame__free_unpacked(answer, NULL);
}

static void s_expect_denied(Hartslag__Frame *answer, const char *reason)
{
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_DENIED, "got body %d", answer->body_case);
    cr_assert_str_eq(answer->denied->reason, reason);
}

/* Receives the next Deliver for `client` and returns its signal id. */
static bool s_expect_deliver(bh_client_t *client, const uint8_t id[16], bool ack)
{
    Hartslag__Frame *frame = bh_recv(client, 5000);
    if (!frame)
        return false;
    bool ok = frame->body_case == HARTSLAG__FRAME__BODY_DELIVER && frame->deliver->signal;
    if (ok) {
        Hartslag__SignalHeader *header = hartslag__signal_header__unpack(
            NULL, frame->deliver->signal->header.len, frame->deliver->signal->header.data);
        ok = header && memcmp(header->signal_id.data, id, 16) == 0;
        if (header)
            hartslag__signal_header__free_unpacked(header, NULL);
    }
    hartslag__frame__free_unpacked(frame, NULL);
    if (ok && ack)
        bh_ack(client, id, true, NULL);
    return ok;
}

Test(broker, signal_is_routed_to_every_recipient_and_acks_delete_the_ciphertext)
{
    bh_client_t *politie = s_connect("politie");
    bh_client_t *gemeente = s_connect("gemeente");
    bh_client_t *welzijn = s_connect("welzijn");
    uint8_t id[16];
    s_expect_accepted(s_submit(politie, "gemeente,welzijn", "overlast", "casusoverleg",
                               "adres,datum,categorie", id),
                      id);
    cr_assert(s_expect_deliver(gemeente, id, true));
    cr_assert(s_expect_deliver(welzijn, id, true));
    /* Both acks in: the ciphertext is gone from the store (the store's own client). */
    usleep(300000);
    char *out = NULL;
    cr_assert_eq(bh_query(s_bh,
                          "SELECT count(*) FROM signals WHERE sealed IS NOT NULL;"
                          "SELECT count(*) FROM deliveries WHERE state=1;",
                          &out),
                 0);
    cr_assert_str_eq(out, "0\n2\n", "store after acks: %s", out);
    free(out);
    bh_client_destroy(&politie);
    bh_client_destroy(&gemeente);
    bh_client_destroy(&welzijn);
}

Test(broker, unknown_key_gets_no_service_at_all)
{
    bh_client_t *stranger = bh_client_new(s_bh, "politie", true);
    cr_assert_not_null(stranger);
    Hartslag__Hello hello = HARTSLAG__HELLO__INIT;
    hello.org = "politie";
    hello.software = "stranger";
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_HELLO;
    frame.hello = &hello;
    bh_send(stranger, &frame);
    Hartslag__Frame *answer = bh_recv(stranger, 1500);
    cr_assert_null(answer, "an unknown key must not even get an Error back");
    bh_client_destroy(&stranger);
    /* The broker still serves partners. */
    bh_client_t *politie = s_connect("politie");
    bh_client_destroy(&politie);
}

Test(broker, denials_carry_their_reason_and_service_goes_on)
{
    bh_client_t *politie = s_connect("politie");
    bh_client_t *gemeente = s_connect("gemeente");
    uint8_t id[16];

    /* Outside every agreement: wrong type; then a field outside the allowlist. */
    Hartslag__Frame *answer =
        s_submit(politie, "gemeente,welzijn", "huiselijk_geweld", "casusoverleg", "datum", id);
    s_expect_denied(answer, "agreement");
    cr_assert_eq(answer->denied->n_recipients, 2);
    cr_assert_str_eq(answer->denied->recipients[0]->reason, "type_not_allowed");
    hartslag__frame__free_unpacked(answer, NULL);
    answer = s_submit(politie, "gemeente", "overlast", "casusoverleg", "datum,bsn", id);
    s_expect_denied(answer, "agreement");
    cr_assert_str_eq(answer->denied->recipients[0]->reason, "field_not_allowed:bsn");
    hartslag__frame__free_unpacked(answer, NULL);
    /* All or nothing: woonpunt has no agreement, so gemeente gets nothing either. */
    answer = s_submit(politie, "gemeente,woonpunt", "overlast", "casusoverleg", "datum", id);
    s_expect_denied(answer, "agreement");
    cr_assert_str_eq(answer->denied->recipients[0]->reason, "allowed");
    cr_assert_str_eq(answer->denied->recipients[1]->reason, "no_agreement");
    hartslag__frame__free_unpacked(answer, NULL);

    /* Unknown recipient (no certificate). */
    answer = s_submit(politie, "gemeente,onbekend", "overlast", "casusoverleg", "datum", id);
    s_expect_denied(answer, "unknown_recipient");
    hartslag__frame__free_unpacked(answer, NULL);

    /* A signal claiming another sender: sealed by welzijn's name, sent on politie's key. */
    bh_client_t *forger = bh_client_new(s_bh, "politie", false);
    snprintf(forger->org, sizeof forger->org, "welzijn");
    uint8_t *sealed = NULL;
    size_t len = 0;
    cr_assert_eq(bh_seal(s_bh, forger, "gemeente", "overlast", "casusoverleg", "datum", NULL,
                         &sealed, &len, id),
                 0);
    answer = bh_submit(politie, sealed, len, 5000);
    free(sealed);
    s_expect_denied(answer, "sender_mismatch");
    hartslag__frame__free_unpacked(answer, NULL);
    bh_client_destroy(&forger);

    /* Bad signature: flip one signature byte of an otherwise valid signal. */
    cr_assert_eq(bh_seal(s_bh, politie, "gemeente", "overlast", "casusoverleg", "datum", NULL,
                         &sealed, &len, id),
                 0);
    Hartslag__SealedSignal *signal = hartslag__sealed_signal__unpack(NULL, len, sealed);
    signal->signature.data[10] ^= 0x40;
    hartslag__sealed_signal__pack(signal, sealed);
    hartslag__sealed_signal__free_unpacked(signal, NULL);
    answer = bh_submit(politie, sealed, len, 5000);
    free(sealed);
    s_expect_denied(answer, "bad_signature");
    hartslag__frame__free_unpacked(answer, NULL);

    /* And the broker goes on serving: a valid signal is delivered. */
    s_expect_accepted(s_submit(politie, "gemeente", "overlast", "casusoverleg", "datum", id), id);
    cr_assert(s_expect_deliver(gemeente, id, true));

    /* Every denial is in the audit log, with metadata only. */
    usleep(200000);
    char *out = NULL;
    cr_assert_eq(bh_query(s_bh, "SELECT count(*) FROM audit;", &out), 0);
    cr_assert_geq(strtol(out, NULL, 10), 8, "audit records: %s", out);
    free(out);
    bh_client_destroy(&politie);
    bh_client_destroy(&gemeente);
}

Test(broker, hostile_frames_then_a_valid_signal_is_delivered)
{
    bh_client_t *politie = s_connect("politie");
    bh_client_t *gemeente = s_connect("gemeente");
    /* Garbage protobuf, an empty frame, multi-part garbage. */
    bh_send_raw(politie, "\xff\xff\xff\xff\x0f garbage", 13, 1);
    Hartslag__Frame *answer = bh_recv(politie, 3000);
    cr_assert_not_null(answer);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_ERROR);
    hartslag__frame__free_unpacked(answer, NULL);
    bh_send_raw(politie, "", 0, 1);
    answer = bh_recv(politie, 3000);
    cr_assert_not_null(answer);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_ERROR);
    hartslag__frame__free_unpacked(answer, NULL);
    bh_send_raw(politie, "abc", 3, 3);
    answer = bh_recv(politie, 3000);
    cr_assert_not_null(answer);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_ERROR);
    cr_assert_str_eq(answer->error->code, "malformed");
    hartslag__frame__free_unpacked(answer, NULL);
    /* A frame with a valid version but a submit whose header is junk. */
    Hartslag__SealedSignal sealed = HARTSLAG__SEALED_SIGNAL__INIT;
    sealed.header.data = (uint8_t *)"junk";
    sealed.header.len = 4;
    Hartslag__Submit submit = HARTSLAG__SUBMIT__INIT;
    submit.signal = &sealed;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_SUBMIT;
    frame.submit = &submit;
    bh_send(politie, &frame);
    answer = bh_recv(politie, 3000);
    cr_assert_not_null(answer);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_DENIED);
    cr_assert(strncmp(answer->denied->reason, "bad_header:", 11) == 0, "%s",
              answer->denied->reason);
    cr_assert_eq(answer->denied->signal_id.len, 0, "no id can be read from junk");
    hartslag__frame__free_unpacked(answer, NULL);
    /* A header that reads but breaks a rule (no type, no purpose): the
       denial names the signal, so the sender knows which one (issue 13 A3). */
    uint8_t readable_id[16];
    randombytes_buf(readable_id, sizeof readable_id);
    Hartslag__SignalHeader header = HARTSLAG__SIGNAL_HEADER__INIT;
    header.signal_id.data = readable_id;
    header.signal_id.len = sizeof readable_id;
    header.sender = "politie";
    uint8_t header_bytes[256];
    sealed.header.len = hartslag__signal_header__pack(&header, header_bytes);
    sealed.header.data = header_bytes;
    bh_send(politie, &frame);
    answer = bh_recv(politie, 3000);
    cr_assert_not_null(answer);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_DENIED);
    cr_assert(strncmp(answer->denied->reason, "bad_header:", 11) == 0, "%s",
              answer->denied->reason);
    cr_assert_eq(answer->denied->signal_id.len, 16, "Denied.signal_id is empty");
    cr_assert_eq(memcmp(answer->denied->signal_id.data, readable_id, 16), 0);
    hartslag__frame__free_unpacked(answer, NULL);
    /* An oversized frame: libzmq drops the connection; the DEALER reconnects. */
    size_t big = 1 << 20;
    char *blob = calloc(1, big);
    bh_send_raw(politie, blob, big, 1);
    free(blob);
    usleep(500000);
    uint8_t id[16];
    Hartslag__Frame *accepted = NULL;
    for (int attempt = 0; attempt < 10 && !accepted; attempt++) {
        uint8_t *signal = NULL;
        size_t len = 0;
        cr_assert_eq(bh_seal(s_bh, politie, "gemeente", "overlast", "casusoverleg", "datum", NULL,
                             &signal, &len, id),
                     0);
        accepted = bh_submit(politie, signal, len, 1000);
        free(signal);
    }
    cr_assert_not_null(accepted, "no answer after the oversized frame");
    s_expect_accepted(accepted, id);
    cr_assert(s_expect_deliver(gemeente, id, true));
    char *log = bh_log(s_bh);
    cr_assert(strstr(log, "event=bad_frame"), "bad frames are logged");
    free(log);
    bh_client_destroy(&politie);
    bh_client_destroy(&gemeente);
}

Test(broker, replayed_submit_gets_the_same_accepted_and_one_delivery)
{
    bh_client_t *politie = s_connect("politie");
    bh_client_t *gemeente = s_connect("gemeente");
    uint8_t id[16];
    uint8_t *sealed = NULL;
    size_t len = 0;
    cr_assert_eq(bh_seal(s_bh, politie, "gemeente", "overlast", "casusoverleg", "adres", NULL,
                         &sealed, &len, id),
                 0);
    Hartslag__Frame *first = bh_submit(politie, sealed, len, 5000);
    Hartslag__Frame *second = bh_submit(politie, sealed, len, 5000);
    free(sealed);
    cr_assert_not_null(first);
    cr_assert_not_null(second);
    cr_assert_eq(second->body_case, HARTSLAG__FRAME__BODY_ACCEPTED);
    cr_assert_eq(first->accepted->accepted_at_ms, second->accepted->accepted_at_ms);
    cr_assert_eq(first->accepted->audit_index, second->accepted->audit_index);
    hartslag__frame__free_unpacked(second, NULL);
    s_expect_accepted(first, id);
    cr_assert(s_expect_deliver(gemeente, id, true));
    Hartslag__Frame *extra = bh_recv(gemeente, 800);
    cr_assert_null(extra, "a replay must not be delivered twice");
    bh_client_destroy(&politie);
    bh_client_destroy(&gemeente);
}

Test(broker, offline_recipient_gets_it_on_connect_and_again_until_it_acks)
{
    bh_client_t *politie = s_connect("politie");
    uint8_t id[16];
    s_expect_accepted(s_submit(politie, "welzijn", "overlast", "casusoverleg", "datum", id), id);
    /* welzijn connects later; does not ack; reconnects; gets it again. */
    bh_client_t *welzijn = s_connect("welzijn");
    cr_assert(s_expect_deliver(welzijn, id, false));
    bh_client_destroy(&welzijn);
    welzijn = s_connect("welzijn");
    cr_assert(s_expect_deliver(welzijn, id, true));
    bh_client_destroy(&welzijn);
    welzijn = s_connect("welzijn");
    cr_assert_null(bh_recv(welzijn, 800), "acked: not delivered again");
    bh_client_destroy(&welzijn);
    bh_client_destroy(&politie);
}

Test(broker, queue_survives_a_broker_kill)
{
    bh_client_t *politie = s_connect("politie");
    uint8_t id[16];
    s_expect_accepted(s_submit(politie, "gemeente", "overlast", "casusoverleg", "datum", id), id);
    bh_client_destroy(&politie);
    bh_stop(s_bh, SIGKILL);
    cr_assert_eq(bh_start(s_bh, NULL), 0);
    bh_client_t *gemeente = s_connect("gemeente");
    cr_assert(s_expect_deliver(gemeente, id, true), "accepted before the kill, delivered after");
    bh_client_destroy(&gemeente);
}

Test(broker, withdrawal_is_forwarded_until_the_recipient_confirms)
{
    bh_client_t *politie = s_connect("politie");
    bh_client_t *gemeente = s_connect("gemeente");
    uint8_t id[16];
    s_expect_accepted(s_submit(politie, "gemeente", "overlast", "casusoverleg", "datum", id), id);
    cr_assert(s_expect_deliver(gemeente, id, true));
    Hartslag__Withdraw withdraw = HARTSLAG__WITHDRAW__INIT;
    withdraw.signal_id.data = id;
    withdraw.signal_id.len = 16;
    withdraw.reason = "unjustified";
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_WITHDRAW;
    frame.withdraw = &withdraw;
    /* Only the sender may withdraw. */
    bh_send(gemeente, &frame);
    Hartslag__Frame *answer = bh_recv(gemeente, 3000);
    cr_assert_not_null(answer);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_WITHDRAW_RESULT);
    cr_assert_not(answer->withdraw_result->ok);
    cr_assert_str_eq(answer->withdraw_result->reason, "not_sender");
    hartslag__frame__free_unpacked(answer, NULL);
    /* The sender, but unsigned (or signed by another key): refused. */
    bh_send(politie, &frame);
    answer = bh_recv(politie, 3000);
    cr_assert_not_null(answer);
    cr_assert_not(answer->withdraw_result->ok, "an unsigned withdrawal was accepted");
    cr_assert_str_eq(answer->withdraw_result->reason, "bad_signature");
    hartslag__frame__free_unpacked(answer, NULL);
    unsigned char sig[INSTRUCTION_SIGBYTES];
    cr_assert_eq(instruction_withdraw_sign(&withdraw, wire_now_ms(), gemeente->sign_sk, sig), 0);
    bh_send(politie, &frame);
    answer = bh_recv(politie, 3000);
    cr_assert_not_null(answer);
    cr_assert_not(answer->withdraw_result->ok, "a withdrawal signed by gemeente was accepted");
    hartslag__frame__free_unpacked(answer, NULL);
    /* Signed by politie: forwarded with its signature and sender. */
    cr_assert_eq(instruction_withdraw_sign(&withdraw, wire_now_ms(), politie->sign_sk, sig), 0);
    bh_send(politie, &frame);
    answer = bh_recv(politie, 3000);
    cr_assert_not_null(answer);
    cr_assert(answer->withdraw_result->ok);
    hartslag__frame__free_unpacked(answer, NULL);
    answer = bh_recv(gemeente, 3000);
    cr_assert_not_null(answer);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_WITHDRAW);
    cr_assert_eq(memcmp(answer->withdraw->signal_id.data, id, 16), 0);
    cr_assert_str_eq(answer->withdraw->sender, "politie");
    cr_assert_eq(answer->withdraw->signature.len, 64);
    cr_assert_eq(memcmp(answer->withdraw->signature.data, sig, 64), 0, "not forwarded unchanged");
    hartslag__frame__free_unpacked(answer, NULL);
    /* Not confirmed: it comes again after a reconnect; confirmed: never again. */
    bh_client_destroy(&gemeente);
    gemeente = s_connect("gemeente");
    answer = bh_recv(gemeente, 3000);
    cr_assert_not_null(answer);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_WITHDRAW);
    hartslag__frame__free_unpacked(answer, NULL);
    Hartslag__WithdrawResult result = HARTSLAG__WITHDRAW_RESULT__INIT;
    result.signal_id.data = id;
    result.signal_id.len = 16;
    result.ok = true;
    Hartslag__Frame confirm = HARTSLAG__FRAME__INIT;
    confirm.body_case = HARTSLAG__FRAME__BODY_WITHDRAW_RESULT;
    confirm.withdraw_result = &result;
    bh_send(gemeente, &confirm);
    usleep(300000);
    bh_client_destroy(&gemeente);
    gemeente = s_connect("gemeente");
    cr_assert_null(bh_recv(gemeente, 800));
    bh_client_destroy(&gemeente);
    bh_client_destroy(&politie);
}

/* The broker settles an ack of a delivery it has in flight without asking
   the store (on PostgreSQL the write joins the turn and fails the turn if
   the delivery was not pending): a withdrawal in between must take the
   delivery out of flight, so the late ack settles nothing, audits nothing
   and fails no turn. */
Test(broker, an_ack_after_the_withdrawal_of_a_delivery_in_flight_settles_nothing)
{
    bh_client_t *politie = s_connect("politie");
    bh_client_t *gemeente = s_connect("gemeente");
    uint8_t id[16];
    s_expect_accepted(s_submit(politie, "gemeente", "overlast", "casusoverleg", "datum", id), id);
    cr_assert(s_expect_deliver(gemeente, id, false), "not delivered");
    Hartslag__Withdraw withdraw = HARTSLAG__WITHDRAW__INIT;
    withdraw.signal_id.data = id;
    withdraw.signal_id.len = 16;
    withdraw.reason = "unjustified";
    unsigned char sig[INSTRUCTION_SIGBYTES];
    cr_assert_eq(instruction_withdraw_sign(&withdraw, wire_now_ms(), politie->sign_sk, sig), 0);
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_WITHDRAW;
    frame.withdraw = &withdraw;
    bh_send(politie, &frame);
    Hartslag__Frame *answer = bh_recv(politie, 3000);
    cr_assert_not_null(answer);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_WITHDRAW_RESULT);
    cr_assert(answer->withdraw_result->ok);
    hartslag__frame__free_unpacked(answer, NULL);
    answer = bh_recv(gemeente, 3000);
    cr_assert_not_null(answer);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_WITHDRAW);
    hartslag__frame__free_unpacked(answer, NULL);
    /* the recipient had stored it after all: its ack comes late */
    bh_ack(gemeente, id, true, NULL);
    uint8_t next[16];
    s_expect_accepted(s_submit(politie, "gemeente", "overlast", "casusoverleg", "datum", next),
                      next);
    cr_assert(s_expect_deliver(gemeente, next, true));
    usleep(300000);
    char *out = NULL;
    cr_assert_eq(bh_query(s_bh,
                          "SELECT state FROM deliveries ORDER BY seq;"
                          "SELECT count(*) FROM signals WHERE sealed IS NOT NULL;",
                          &out),
                 0);
    cr_assert_str_eq(out, "4\n1\n0\n", "withdrawn stays cancelled, the next acked: %s", out);
    free(out);
    char *log = bh_log(s_bh);
    cr_assert_not_null(log);
    cr_assert_null(strstr(log, "turn_failed"), "a late ack failed a turn:\n%s", log);
    free(log);
    bh_client_destroy(&politie);
    bh_client_destroy(&gemeente);
}

Test(broker, revoked_partner_loses_its_open_connection_after_sighup)
{
    bh_client_t *politie = s_connect("politie");
    bh_client_t *gemeente = s_connect("gemeente");
    uint8_t id[16];
    s_expect_accepted(s_submit(politie, "gemeente", "overlast", "casusoverleg", "datum", id), id);
    cr_assert(s_expect_deliver(gemeente, id, true));
    char path[4300];
    snprintf(path, sizeof path, "%s/politie.cert", s_bh->certs);
    cr_assert_eq(unlink(path), 0);
    bh_signal(s_bh, SIGHUP);
    char *log = NULL;
    for (int i = 0; i < 100; i++) {
        usleep(50000);
        free(log);
        log = bh_log(s_bh);
        if (strstr(log, "event=partner_revoked org=politie"))
            break;
    }
    cr_assert(strstr(log, "event=partner_revoked org=politie"), "reload not logged");
    free(log);
    Hartslag__Frame *answer =
        s_submit(politie, "gemeente", "overlast", "casusoverleg", "datum", id);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_ERROR);
    cr_assert_str_eq(answer->error->code, "not_authenticated");
    hartslag__frame__free_unpacked(answer, NULL);
    cr_assert_null(bh_recv(gemeente, 500), "nothing from the revoked partner is delivered");
    bh_client_destroy(&politie);
    bh_client_destroy(&gemeente);
}

Test(broker, bad_agreements_on_sighup_are_refused_and_the_old_ones_stay)
{
    remove(s_bh->agreements);
    cr_assert_eq(tu_write_file(s_bh->agreements, "partnership: x\nversion: [\n", 0644), 0);
    bh_signal(s_bh, SIGHUP);
    char *log = NULL;
    for (int i = 0; i < 100; i++) {
        usleep(50000);
        free(log);
        log = bh_log(s_bh);
        if (strstr(log, "what=agreements"))
            break;
    }
    cr_assert(strstr(log, "event=reload_refused what=agreements"), "%s", log);
    free(log);
    bh_client_t *politie = s_connect("politie");
    uint8_t id[16];
    s_expect_accepted(s_submit(politie, "gemeente", "overlast", "casusoverleg", "datum", id), id);
    bh_client_destroy(&politie);
}

Test(broker, broker_keeps_no_content)
{
    bh_client_t *politie = s_connect("politie");
    const char *canary = "CANARY-7f3a9c-geheime-inhoud";
    uint8_t id[16];
    uint8_t *sealed = NULL;
    size_t len = 0;
    cr_assert_eq(bh_seal(s_bh, politie, "gemeente,welzijn", "overlast", "casusoverleg",
                         "adres,categorie", canary, &sealed, &len, id),
                 0);
    Hartslag__Frame *answer = bh_submit(politie, sealed, len, 5000);
    free(sealed);
    s_expect_accepted(answer, id);
    bh_stop(s_bh, SIGTERM);
    /* Positive control: the search does find what is there. */
    cr_assert(tu_dir_contains(s_bh->root, "event=accepted", 14));
    cr_assert_eq(bh_store_dump(s_bh), 0); /* a PostgreSQL store into the scan */
    cr_assert_not(tu_dir_contains(s_bh->state, canary, strlen(canary)));
    cr_assert_not(tu_dir_contains(s_bh->root, canary, strlen(canary)), "log or store holds it");
    bh_client_destroy(&politie);
}

Test(broker, sigterm_stops_cleanly)
{
    bh_stop(s_bh, SIGTERM);
    char *log = bh_log(s_bh);
    cr_assert(strstr(log, "event=stopped"), "%s", log);
    free(log);
}
