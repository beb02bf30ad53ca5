/*  hartslagd as a recipient, against a fake broker (the broker's CURVE
    keys, no policy): redelivery is stored once and acknowledged again;
    what the daemon's own agreements forbid, a bad signature and a signal
    for someone else are refused with a reason; the hook gets the signal as
    JSON, and a failing or hanging hook never loses it. */
#include "audit_log.h"
#include "cert.h"
#include "checkpoint.h"
#include "daemon_harness.h"
#include "envelope.h"
#include "instruction.h"
#include "keyfile.h"
#include "testutil.h"
#include "wire.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define VERSION 3 /* bh_default_agreements */

static bh_t *s_bh;
static fb_t *s_fb;
static dh_t *s_gemeente;
static bh_client_t *s_politie; /* only its keys are used, to seal */

static void s_setup(void)
{
    tu_watchdog(90);
    const char *orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};
    s_bh = bh_new(orgs, 4, bh_default_agreements);
    cr_assert_not_null(s_bh);
    s_fb = fb_new(s_bh);
    cr_assert_not_null(s_fb);
    /* The client only seals; it connects to the fake broker and never sends. */
    snprintf(s_bh->endpoint, sizeof s_bh->endpoint, "%s", s_fb->endpoint);
    s_politie = bh_client_new(s_bh, "politie", false);
    cr_assert_not_null(s_politie);
}

static void s_teardown(void)
{
    dh_destroy(&s_gemeente);
    bh_client_destroy(&s_politie);
    fb_destroy(&s_fb);
    bh_destroy(&s_bh);
}

TestSuite(recipient, .init = s_setup, .fini = s_teardown);

static void s_start(const char *extra_config)
{
    if (!s_gemeente)
        s_gemeente = dh_new(s_bh, "gemeente", s_fb->endpoint, extra_config);
    cr_assert_not_null(s_gemeente);
    cr_assert_eq(dh_start(s_gemeente), 0, "%s", dh_log(s_gemeente));
    cr_assert_eq(fb_wait_hello(s_fb, 10000, VERSION), 0, "no Hello:\n%s", dh_log(s_gemeente));
}

/* Waits for the DeliveryAck of `id`. */
static Hartslag__Frame *s_ack(const uint8_t id[16])
{
    for (int i = 0; i < 10; i++) {
        Hartslag__Frame *frame = fb_recv(s_fb, 5000, VERSION);
        cr_assert_not_null(frame, "no DeliveryAck:\n%s", dh_log(s_gemeente));
        if (frame->body_case == HARTSLAG__FRAME__BODY_DELIVERY_ACK &&
            frame->delivery_ack->signal_id.len == 16 &&
            memcmp(frame->delivery_ack->signal_id.data, id, 16) == 0)
            return frame;
        hartslag__frame__free_unpacked(frame, NULL);
    }
    cr_assert_fail("no DeliveryAck for the signal");
    return NULL;
}

static void s_expect_ack(const uint8_t id[16], bool stored, const char *reason)
{
    Hartslag__Frame *frame = s_ack(id);
    Hartslag__DeliveryAck *ack = frame->delivery_ack;
    cr_assert_eq(ack->status,
                 stored ? HARTSLAG__ACK_STATUS__ACK_STORED : HARTSLAG__ACK_STATUS__ACK_REJECTED,
                 "ack status %d reason %s", ack->status, ack->reason ? ack->reason : "-");
    if (reason)
        cr_assert(ack->reason && strcmp(ack->reason, reason) == 0, "reason %s, expected %s",
                  ack->reason ? ack->reason : "(none)", reason);
    hartslag__frame__free_unpacked(frame, NULL);
}

static void s_seal(const char *to, const char *type, const char *purpose, const char *fields,
                   const char *canary, uint8_t **sealed, size_t *len, uint8_t id[16])
{
    cr_assert_eq(bh_seal(s_bh, s_politie, to, type, purpose, fields, canary, sealed, len, id), 0);
}

Test(recipient, redelivery_is_acknowledged_and_stored_once)
{
    s_start(NULL);
    uint8_t *sealed = NULL, id[16];
    size_t len = 0;
    s_seal("gemeente,welzijn", "overlast", "casusoverleg", "adres,datum", NULL, &sealed, &len, id);
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    s_expect_ack(id, true, NULL);
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    s_expect_ack(id, true, NULL);
    cr_assert_eq(dh_inbox_count(s_gemeente), 1);

    /* Also across a hard restart of the daemon. */
    dh_stop(s_gemeente, SIGKILL);
    s_start(NULL);
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    s_expect_ack(id, true, NULL);
    cr_assert_eq(dh_inbox_count(s_gemeente), 1);
    cr_assert_eq(dh_log_count(s_gemeente, "event=signal_received"), 1);
    cr_assert_eq(dh_log_count(s_gemeente, "event=signal_redelivered"), 2);
    free(sealed);
}

Test(recipient, refuses_what_its_own_agreements_forbid)
{
    s_start(NULL);
    uint8_t *sealed = NULL, id[16];
    size_t len = 0;
    /* politie -> gemeente zorgmelding: no agreement covers it. */
    s_seal("gemeente", "zorgmelding", "zorgcoordinatie", "datum", NULL, &sealed, &len, id);
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    s_expect_ack(id, false, "type_not_allowed");
    free(sealed);
    /* A field the agreement does not allow. */
    s_seal("gemeente", "overlast", "casusoverleg", "adres,bsn", NULL, &sealed, &len, id);
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    s_expect_ack(id, false, "field_not_allowed:bsn");
    free(sealed);
    cr_assert_eq(dh_inbox_count(s_gemeente), 0);
    cr_assert(dh_wait_log(s_gemeente, "event=signal_rejected", 1000));
}

/* Delivers `sealed` with its first ciphertext or signature byte flipped. */
static void s_deliver_tampered(const uint8_t *sealed, size_t len, bool signature)
{
    Hartslag__SealedSignal *signal = NULL;
    cr_assert_eq(envelope_unpack(sealed, len, &signal), ENVELOPE_OK);
    if (signature)
        signal->signature.data[0] ^= 1;
    else
        signal->ciphertext.data[0] ^= 1;
    Hartslag__Deliver deliver = HARTSLAG__DELIVER__INIT;
    deliver.signal = signal;
    deliver.accepted_at_ms = wire_now_ms();
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_DELIVER;
    frame.deliver = &deliver;
    cr_assert_eq(fb_send(s_fb, &frame), 0);
    hartslag__sealed_signal__free_unpacked(signal, NULL);
}

Test(recipient, refuses_a_bad_signature_and_a_signal_for_someone_else)
{
    s_start(NULL);
    uint8_t *sealed = NULL, id[16];
    size_t len = 0;
    s_seal("gemeente", "overlast", "casusoverleg", "adres", NULL, &sealed, &len, id);
    s_deliver_tampered(sealed, len, false);
    s_expect_ack(id, false, "bad_signature");
    free(sealed);

    s_seal("welzijn", "overlast", "casusoverleg", "adres", NULL, &sealed, &len, id);
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    s_expect_ack(id, false, NULL);
    free(sealed);
    cr_assert_eq(dh_inbox_count(s_gemeente), 0);
}

/* The daemon verifies the signature once, inside envelope_open, for a
   signal it keeps; a refusal for another reason must still name a bad
   signature first (the header's claims are not to be trusted then). */
Test(recipient, a_bad_signature_is_the_reason_even_when_the_agreements_forbid_it)
{
    s_start(NULL);
    uint8_t *sealed = NULL, id[16];
    size_t len = 0;
    /* politie -> gemeente zorgmelding: no agreement covers it. */
    s_seal("gemeente", "zorgmelding", "zorgcoordinatie", "datum", NULL, &sealed, &len, id);
    s_deliver_tampered(sealed, len, true);
    s_expect_ack(id, false, "bad_signature");
    /* The same signal, intact: now the agreements are the reason. */
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    s_expect_ack(id, false, "type_not_allowed");
    free(sealed);
    cr_assert_eq(dh_inbox_count(s_gemeente), 0);
}

/* Sends `withdraw` as the (fake) broker and returns whether the daemon
   confirmed it; *reason gets a refusal's reason (caller frees). */
static bool s_withdraw(Hartslag__Withdraw *withdraw, char **reason)
{
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_WITHDRAW;
    frame.withdraw = withdraw;
    cr_assert_eq(fb_send(s_fb, &frame), 0);
    Hartslag__Frame *reply = fb_recv(s_fb, 5000, VERSION);
    cr_assert_not_null(reply);
    cr_assert_eq(reply->body_case, HARTSLAG__FRAME__BODY_WITHDRAW_RESULT);
    bool ok = reply->withdraw_result->ok;
    if (reason)
        *reason = reply->withdraw_result->reason ? strdup(reply->withdraw_result->reason) : NULL;
    hartslag__frame__free_unpacked(reply, NULL);
    return ok;
}

/* Only the sender's signature makes a recipient delete a signal: the
   broker (here a fake one holding the broker's keys) cannot forge a
   withdrawal, unsigned, signed with its own key, or with the reason
   changed (issue 18 A1). */
Test(recipient, withdraw_from_the_broker_deletes_and_is_confirmed)
{
    s_start(NULL);
    uint8_t *sealed = NULL, id[16];
    size_t len = 0;
    s_seal("gemeente", "overlast", "casusoverleg", "adres", NULL, &sealed, &len, id);
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    s_expect_ack(id, true, NULL);
    Hartslag__Withdraw withdraw = HARTSLAG__WITHDRAW__INIT;
    withdraw.signal_id.data = id;
    withdraw.signal_id.len = 16;
    withdraw.reason = "resolved";
    withdraw.sender = "politie";
    char *reason = NULL;
    cr_assert_not(s_withdraw(&withdraw, &reason), "an unsigned withdrawal deleted the signal");
    cr_assert_str_eq(reason, "bad_signature");
    free(reason);
    char path[4300], why[600];
    snprintf(path, sizeof path, "%s/broker.cert_secret", s_bh->keys);
    keyfile_t *broker_keys = keyfile_load(path, why, sizeof why);
    cr_assert_not_null(broker_keys, "%s", why);
    unsigned char sig[INSTRUCTION_SIGBYTES];
    cr_assert_eq(
        instruction_withdraw_sign(&withdraw, wire_now_ms(), keyfile_sign_secret(broker_keys), sig),
        0);
    keyfile_destroy(&broker_keys);
    cr_assert_not(s_withdraw(&withdraw, NULL), "the broker's own signature deleted the signal");
    cr_assert_eq(instruction_withdraw_sign(&withdraw, wire_now_ms(), s_politie->sign_sk, sig), 0);
    withdraw.reason = "unjustified";
    cr_assert_not(s_withdraw(&withdraw, NULL), "a withdrawal with another reason was accepted");
    cr_assert_eq(dh_inbox_count(s_gemeente), 1);
    cr_assert(dh_wait_log(s_gemeente, "event=withdraw_refused", 1000));
    /* The sender's own signature: deleted and confirmed. */
    withdraw.reason = "resolved";
    cr_assert(s_withdraw(&withdraw, NULL), "politie's signed withdrawal was refused:\n%s",
              dh_log(s_gemeente));
    cr_assert_eq(dh_inbox_count(s_gemeente), 0);
    /* A late redelivery does not bring it back. */
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    s_expect_ack(id, true, NULL);
    cr_assert_eq(dh_inbox_count(s_gemeente), 0);
    free(sealed);
}

Test(recipient, hook_gets_the_signal_as_json)
{
    s_start("hook: \"cat > hook-$HARTSLAG_SIGNAL_ID.json\"\n");
    uint8_t *sealed = NULL, id[16];
    size_t len = 0;
    s_seal("gemeente", "overlast", "casusoverleg", "adres,categorie", "a \"quoted\" canary\\",
           &sealed, &len, id);
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    s_expect_ack(id, true, NULL);
    cr_assert(dh_wait_log(s_gemeente, "event=hook_ok", 10000), "%s", dh_log(s_gemeente));
    char hex[33], path[4800];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    snprintf(path, sizeof path, "%s/hook-%s.json", s_gemeente->state, hex);
    char *json = tu_read_file(path, NULL);
    cr_assert_not_null(json, "the hook wrote nothing");
    cr_assert(strstr(json, "\"signal_id\":\"") && strstr(json, hex), "%s", json);
    cr_assert(strstr(json, "\"sender\":\"politie\"") && strstr(json, "\"type\":\"overlast\""));
    cr_assert(strstr(json, "\"fields\":{\"adres\":\"a \\\"quoted\\\" canary\\\\\","), "%s", json);
    cr_assert(strstr(json, "\"subject\":\"") && strstr(json, "\"created_at\":\""));
    cr_assert_eq(json[strlen(json) - 1], '\n');
    free(json);
    free(sealed);
}

Test(recipient, a_failing_hook_is_retried_and_never_loses_the_signal)
{
    s_start("hook: \"if [ -e tried ]; then cat > got.json; else touch tried; exit 3; fi\"\n");
    uint8_t *sealed = NULL, id[16];
    size_t len = 0;
    s_seal("gemeente", "overlast", "casusoverleg", "adres", NULL, &sealed, &len, id);
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    s_expect_ack(id, true, NULL);
    cr_assert(dh_wait_log(s_gemeente, "event=hook_failed", 10000));
    cr_assert(dh_wait_log(s_gemeente, "why=exit:3", 100));
    cr_assert_eq(dh_inbox_count(s_gemeente), 1);
    cr_assert(dh_wait_log(s_gemeente, "event=hook_ok", 15000), "%s", dh_log(s_gemeente));
    char path[4700];
    snprintf(path, sizeof path, "%s/got.json", s_gemeente->state);
    char *json = tu_read_file(path, NULL);
    cr_assert(json && strstr(json, "\"kind\":\"signal\""));
    free(json);
    cr_assert_eq(dh_inbox_count(s_gemeente), 1);
    free(sealed);
}

Test(recipient, a_hanging_hook_is_killed_and_retried_after_a_restart)
{
    s_start("hook: \"sleep 60\"\nhook_timeout: 1\n");
    uint8_t *sealed = NULL, id[16];
    size_t len = 0;
    s_seal("gemeente", "overlast", "casusoverleg", "adres", NULL, &sealed, &len, id);
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    s_expect_ack(id, true, NULL);
    cr_assert(dh_wait_log(s_gemeente, "why=timeout", 10000), "%s", dh_log(s_gemeente));
    /* The hook state survives a restart: still pending, still in the inbox. */
    dh_stop(s_gemeente, SIGTERM);
    s_start(NULL);
    char *out = NULL;
    cr_assert_eq(dh_cli(s_gemeente, NULL, &out, NULL, "inbox", "--json", (char *)NULL), 0);
    cr_assert(strstr(out, "\"hook_state\":\"pending\""), "%s", out);
    free(out);
    free(sealed);
}

/* A sender that backdates created_at cannot move the recipient's clocks:
   retention runs from receipt (issue 18 A5). Here 200 days back: counted
   from created_at, the agreement's 180-day retention would already be
   over and the next purge run would delete it. */
Test(recipient, a_backdated_signal_is_judged_and_kept_from_now)
{
    /* gemeente's agreements began five days ago. */
    uint64_t now = wire_now_ms();
    uint64_t valid_from = (now / 86400000ull - 5) * 86400000ull;
    time_t from_s = (time_t)(valid_from / 1000);
    struct tm from_tm;
    gmtime_r(&from_s, &from_tm);
    char from_line[64];
    strftime(from_line, sizeof from_line, "valid_from: %Y-%m-%d", &from_tm);
    char *agreements = strdup(bh_default_agreements);
    cr_assert_not_null(agreements);
    for (char *at; (at = strstr(agreements, "valid_from: 2025-01-01")) != NULL;)
        memcpy(at, from_line, strlen("valid_from: 2025-01-01"));
    char path[4400];
    snprintf(path, sizeof path, "%s/recent-agreements.yaml", s_bh->root);
    cr_assert_eq(tu_write_file(path, agreements, 0644), 0);
    free(agreements);
    s_gemeente = dh_new(s_bh, "gemeente", s_fb->endpoint, NULL);
    cr_assert_not_null(s_gemeente);
    char *config = tu_read_file(s_gemeente->config, NULL);
    cr_assert_not_null(config);
    char *at = strstr(config, s_bh->agreements);
    cr_assert_not_null(at);
    char rewritten[50000];
    snprintf(rewritten, sizeof rewritten, "%.*s%s%s", (int)(at - config), config, path,
             at + strlen(s_bh->agreements));
    free(config);
    cr_assert_eq(tu_write_file(s_gemeente->config, rewritten, 0600), 0);
    s_start(NULL);
    s_politie->created_at_ms = now - 200ull * 86400000ull;
    uint8_t *sealed = NULL, id[16];
    size_t len = 0;
    s_seal("gemeente", "overlast", "casusoverleg", "adres,datum", NULL, &sealed, &len, id);
    s_politie->created_at_ms = 0;
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    s_expect_ack(id, true, NULL);
    free(sealed);
    char hex[33], *out = NULL;
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    cr_assert_eq(dh_cli(s_gemeente, NULL, &out, NULL, "show", hex, "--json", NULL), 0, "%s", out);
    const char *retain_at = strstr(out, "\"retain_until_ms\":");
    cr_assert(retain_at, "%s", out);
    uint64_t retain = strtoull(retain_at + 18, NULL, 10);
    /* From receipt: 180 days, capped by the signal's own validity (30
       days from now), never in the past. */
    cr_assert_geq(retain, now + 29ull * 86400000ull, "retention counted from created_at: %s", out);
    free(out);
    /* Dated before the agreement began: judged by the agreement in force
       now, not refused as not yet valid. */
    s_politie->created_at_ms = valid_from - 86400000ull;
    s_seal("gemeente", "overlast", "casusoverleg", "adres,datum", NULL, &sealed, &len, id);
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    s_expect_ack(id, true, NULL);
    free(sealed);
    s_politie->created_at_ms = 0;
}

/* A checkpoint note for `size` with an arbitrary root, signed with the
   broker's audit key as the real broker would. */
static void s_checkpoint_note(uint64_t size, uint8_t fill, char *note, size_t cap, size_t *len)
{
    char path[4300], why[600];
    snprintf(path, sizeof path, "%s/broker.cert_secret", s_bh->keys);
    keyfile_t *keys = keyfile_load(path, why, sizeof why);
    cr_assert_not_null(keys, "%s", why);
    checkpoint_t cp;
    memset(&cp, 0, sizeof cp);
    audit_log_origin_for("test-partnership", cp.origin, sizeof cp.origin);
    cp.size = size;
    memset(cp.root, fill, sizeof cp.root);
    cr_assert_eq(checkpoint_sign(&cp, keyfile_sign_secret(keys), note, cap, len), CHECKPOINT_OK);
    keyfile_destroy(&keys);
}

static void s_send_checkpoint(uint64_t size, uint8_t fill, uint64_t from_size)
{
    char note[CHECKPOINT_NOTE_MAX];
    size_t len = 0;
    s_checkpoint_note(size, fill, note, sizeof note, &len);
    Hartslag__Checkpoint message = HARTSLAG__CHECKPOINT__INIT;
    message.note.data = (uint8_t *)note;
    message.note.len = len;
    message.from_size = from_size;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_CHECKPOINT;
    frame.checkpoint = &message;
    cr_assert_eq(fb_send(s_fb, &frame), 0);
}

/* Counts what the daemon sends within `ms`: Hellos, and cosignatures of
   tree size `size`. */
static void s_count_frames(int ms, uint64_t size, int *hellos, int *cosignatures)
{
    *hellos = *cosignatures = 0;
    zpoller_t *poller = zpoller_new(s_fb->router, NULL);
    int64_t until = zclock_mono() + ms;
    while (zclock_mono() < until) {
        if (!zpoller_wait(poller, (int)(until - zclock_mono())))
            continue;
        zmsg_t *msg = zmsg_recv(s_fb->router);
        zframe_t *payload = msg ? zmsg_last(msg) : NULL;
        Hartslag__Frame *frame =
            payload ? hartslag__frame__unpack(NULL, zframe_size(payload), zframe_data(payload))
                    : NULL;
        if (frame && frame->body_case == HARTSLAG__FRAME__BODY_HELLO)
            (*hellos)++;
        if (frame && frame->body_case == HARTSLAG__FRAME__BODY_COSIGNATURE &&
            frame->cosignature->tree_size == size)
            (*cosignatures)++;
        if (frame)
            hartslag__frame__free_unpacked(frame, NULL);
        zmsg_destroy(&msg);
    }
    zpoller_destroy(&poller);
}

/* A broker that keeps sending newer checkpoints without a proof from the
   one the daemon holds is withholding it: counted, shown, evidence kept,
   and answered by cosigning what the daemon holds, not by Hellos that
   make the broker resend everything in flight (issue 18 A3). */
Test(recipient, withheld_consistency_proofs_are_counted_and_kept)
{
    s_start(NULL);
    s_send_checkpoint(2, 0xaa, 0); /* the first: nothing held, nothing to prove */
    int hellos = 0, cosignatures = 0;
    s_count_frames(1000, 2, &hellos, &cosignatures);
    cr_assert_eq(cosignatures, 1, "the first checkpoint was not cosigned:\n%s", dh_log(s_gemeente));
    for (int i = 0; i < 5; i++)
        s_send_checkpoint(5 + (uint64_t)i, 0xbb, 1); /* a proof from 1, but we hold 2 */
    s_count_frames(1500, 2, &hellos, &cosignatures);
    cr_assert_eq(hellos, 0, "the daemon answered withheld proofs with %d Hellos", hellos);
    cr_assert_eq(cosignatures, 5, "the daemon did not tell the broker what it holds (%d)",
                 cosignatures);
    char *out = NULL;
    cr_assert_eq(dh_cli(s_gemeente, NULL, &out, NULL, "status", "--json", NULL), 0, "%s", out);
    cr_assert(strstr(out, "\"unproven_checkpoints\":5,"), "%s", out);
    cr_assert(strstr(out, "\"checkpoint_size\":2,"), "%s", out);
    free(out);
    cr_assert_eq(dh_cli(s_gemeente, NULL, &out, NULL, "status", NULL), 0, "%s", out);
    cr_assert(strstr(out, "no consistency proof for 0 minutes (5 newer checkpoints offered"), "%s",
              out);
    free(out);
    cr_assert(dh_wait_log(s_gemeente, "event=checkpoint_unproven held=2 offered=5", 1000));
    /* The first offer is kept as evidence, not as an inconsistency. */
    char db[4600];
    snprintf(db, sizeof db, "%s/hartslagd.db", s_gemeente->state);
    sqlite3 *handle = NULL;
    sqlite3_stmt *stmt = NULL;
    cr_assert_eq(sqlite3_open_v2(db, &handle, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(handle,
                                    "SELECT COUNT(*) FROM checkpoint_evidence WHERE kind = "
                                    "'unproven' AND new_size = 5 AND held_size = 2",
                                    -1, &stmt, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(stmt, 0), 1, "no evidence kept");
    sqlite3_finalize(stmt);
    sqlite3_close(handle);
}

/* Sends an Alert in state "handled" (lead welzijn), signed with `sk` (NULL:
   unsigned), and returns the daemon's DeliveryAck status. */
static bool s_handled_alert(const uint8_t alert_id[16], const unsigned char *sk, char **reason)
{
    Hartslag__AlertAck ack = HARTSLAG__ALERT_ACK__INIT;
    ack.alert_id.data = (uint8_t *)alert_id;
    ack.alert_id.len = 16;
    ack.lead_org = "welzijn";
    unsigned char sig[INSTRUCTION_SIGBYTES];
    if (sk)
        cr_assert_eq(instruction_alert_ack_sign(&ack, wire_now_ms(), sk, sig), 0);
    Hartslag__AlertParticipant p1 = HARTSLAG__ALERT_PARTICIPANT__INIT, p2 = p1;
    p1.org = "politie";
    p1.contact = "test@politie.example";
    p2.org = "welzijn";
    p2.contact = "test@welzijn.example";
    Hartslag__AlertParticipant *participants[] = {&p1, &p2};
    uint8_t subject[32];
    randombytes_buf(subject, sizeof subject);
    Hartslag__Alert alert = HARTSLAG__ALERT__INIT;
    alert.alert_id = ack.alert_id;
    alert.rule_id = "multi-agency-match";
    alert.subject.data = subject;
    alert.subject.len = sizeof subject;
    alert.participants = participants;
    alert.n_participants = 2;
    alert.legal_basis = "test";
    alert.raised_at_ms = wire_now_ms();
    alert.state = "handled";
    alert.lead_org = "welzijn";
    if (sk) {
        alert.has_handled_signed_at_ms = 1;
        alert.handled_signed_at_ms = ack.signed_at_ms;
        alert.has_handled_signature = 1;
        alert.handled_signature = ack.signature;
    }
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_ALERT;
    frame.alert = &alert;
    cr_assert_eq(fb_send(s_fb, &frame), 0);
    Hartslag__Frame *reply = s_ack(alert_id);
    bool stored = reply->delivery_ack->status == HARTSLAG__ACK_STATUS__ACK_STORED;
    if (reason)
        *reason = reply->delivery_ack->reason ? strdup(reply->delivery_ack->reason) : NULL;
    hartslag__frame__free_unpacked(reply, NULL);
    return stored;
}

/* "Handled, welzijn leads" is the coordinator's instruction: a partner
   takes it only with the coordinator's signature, never on the broker's
   word or another partner's (issue 18 A1). */
Test(recipient, a_handled_alert_needs_the_coordinators_signature)
{
    s_start(NULL);
    uint8_t alert_id[16];
    randombytes_buf(alert_id, sizeof alert_id);
    char *reason = NULL;
    cr_assert_not(s_handled_alert(alert_id, NULL, &reason), "an unsigned 'handled' was stored");
    cr_assert_str_eq(reason, "bad_signature");
    free(reason);
    cr_assert_not(s_handled_alert(alert_id, s_politie->sign_sk, NULL),
                  "a partner's signature passed as the coordinator's");
    char path[4300], why[600];
    snprintf(path, sizeof path, "%s/gemeente.cert_secret", s_bh->keys);
    keyfile_t *coordinator = keyfile_load(path, why, sizeof why);
    cr_assert_not_null(coordinator, "%s", why);
    cr_assert(s_handled_alert(alert_id, keyfile_sign_secret(coordinator), NULL),
              "the coordinator's signed acknowledgement was refused:\n%s", dh_log(s_gemeente));
    uint8_t second[16];
    randombytes_buf(second, sizeof second);
    cr_assert(s_handled_alert(second, keyfile_sign_secret(coordinator), NULL));
    keyfile_destroy(&coordinator);
    char *out = NULL;
    cr_assert_eq(dh_cli(s_gemeente, NULL, &out, NULL, "alerts", "--json", NULL), 0);
    cr_assert(strstr(out, "\"lead_org\":\"welzijn\""), "%s", out);
    free(out);
    /* --limit holds for alerts too. */
    cr_assert_eq(
        dh_cli(s_gemeente, NULL, &out, NULL, "inbox", "--alerts", "--json", "--limit", "1", NULL),
        0);
    int alerts = 0;
    for (const char *p = out; (p = strstr(p, "\"kind\":\"alert\"")) != NULL; p++)
        alerts++;
    cr_assert_eq(alerts, 1, "%s", out);
    free(out);
}

/* status is the health check: a hook that cannot keep up (100 or more
   signals waiting for it) makes it exit 1 with hook_backlog (issue 13 C8). */
Test(recipient, a_hook_backlog_makes_the_daemon_unhealthy)
{
    s_start("hook: \"sleep 20\"\nhook_timeout: 60\n");
    char *out = NULL;
    cr_assert_eq(dh_cli(s_gemeente, NULL, &out, NULL, "status", "--json", NULL), 0, "%s", out);
    free(out);
    for (int i = 0; i < 101; i++) {
        uint8_t *sealed = NULL, id[16];
        size_t len = 0;
        s_seal("gemeente", "overlast", "casusoverleg", "datum", NULL, &sealed, &len, id);
        cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
        s_expect_ack(id, true, NULL);
        free(sealed);
    }
    int rc = dh_cli(s_gemeente, NULL, &out, NULL, "status", "--json", NULL);
    cr_assert_eq(rc, 1, "status exit %d with 100 signals waiting for the hook: %s", rc, out);
    cr_assert(strstr(out, "\"code\":\"hook_backlog\""), "%s", out);
    free(out);
    dh_stop(s_gemeente, SIGKILL);
}

/* `alerts ack` reports only what the broker confirmed: no verdict within
   the daemon's wait is a failure, not "marked handled" (issue 13 B6). The
   acknowledgement it sent is signed with the coordinator's key (issue 18
   A1). */
Test(recipient, alerts_ack_without_a_verdict_fails)
{
    tu_watchdog(60);
    s_start(NULL);
    uint8_t alert_id[16], subject[32];
    randombytes_buf(alert_id, sizeof alert_id);
    randombytes_buf(subject, sizeof subject);
    Hartslag__AlertParticipant p1 = HARTSLAG__ALERT_PARTICIPANT__INIT, p2 = p1;
    p1.org = "politie";
    p1.contact = "test@politie.example";
    p2.org = "welzijn";
    p2.contact = "test@welzijn.example";
    Hartslag__AlertParticipant *participants[] = {&p1, &p2};
    Hartslag__Alert alert = HARTSLAG__ALERT__INIT;
    alert.alert_id.data = alert_id;
    alert.alert_id.len = sizeof alert_id;
    alert.rule_id = "multi-agency-match";
    alert.subject.data = subject;
    alert.subject.len = sizeof subject;
    alert.participants = participants;
    alert.n_participants = 2;
    alert.legal_basis = "test";
    alert.raised_at_ms = wire_now_ms();
    alert.state = "open";
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_ALERT;
    frame.alert = &alert;
    cr_assert_eq(fb_send(s_fb, &frame), 0);
    Hartslag__Frame *reply = s_ack(alert_id);
    cr_assert_eq(reply->delivery_ack->status, HARTSLAG__ACK_STATUS__ACK_STORED);
    hartslag__frame__free_unpacked(reply, NULL);
    char hex[33], *out = NULL, *err = NULL;
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", alert_id[i]);
    int rc = dh_cli(s_gemeente, NULL, &out, &err, "alerts", "ack", hex, "--lead", "politie", NULL);
    cr_assert_eq(rc, 1, "no verdict came, yet exit %d: %s%s", rc, out, err);
    cr_assert_null(strstr(out ? out : "", "marked handled"), "%s", out);
    free(out);
    free(err);
    /* What reached the broker: the coordinator's signed acknowledgement. */
    Hartslag__Frame *sent = NULL;
    for (int i = 0; i < 10 && !sent; i++) {
        sent = fb_recv(s_fb, 2000, VERSION);
        if (sent && sent->body_case != HARTSLAG__FRAME__BODY_ALERT_ACK) {
            hartslag__frame__free_unpacked(sent, NULL);
            sent = NULL;
        }
    }
    cr_assert_not_null(sent, "no AlertAck reached the broker");
    char path[4300], why[600];
    snprintf(path, sizeof path, "%s/gemeente.cert", s_bh->certs);
    cert_t coordinator;
    cr_assert_eq(cert_load(path, &coordinator, why, sizeof why), 0, "%s", why);
    cr_assert_eq(instruction_alert_ack_verify(sent->alert_ack, coordinator.sign_key), 0,
                 "the AlertAck is not signed with the coordinator's key");
    hartslag__frame__free_unpacked(sent, NULL);
}
