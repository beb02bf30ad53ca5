/*  A daemon believes a case's participants only from signatures (issue
    15): a fake broker sends case notices to a real daemon. An honest one is
    stored and acked; one that lists a participant its signed steps do not
    prove (never invited, an acceptance signed by someone else, a step with
    a forged signature) is refused whole, with the reason, and nothing of it
    is kept. Content shared in a case is taken only while the daemon's own
    verified state says it takes part. */
#include "broker_harness.h"
#include "case_action.h"
#include "daemon_harness.h"
#include "sigdomain.h"
#include "testutil.h"
#include "wire.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION 2

static const char *s_yaml =
    "partnership: passart-test\nversion: 2\ncoordinator: gemeente\n"
    "partners:\n"
    "  - {org: gemeente, role: coordinator}\n"
    "  - {org: politie, role: partner}\n"
    "  - {org: welzijn, role: partner}\n"
    "agreements:\n"
    "  - {id: p, from: politie, to: [gemeente], signal_types: [overlast], fields: [datum],"
    "     purpose: casusoverleg, legal_basis: \"Wpg art. 19\", valid_from: 2025-01-01,"
    "     valid_until: 2099-12-31, retention_days: 30, max_queue_days: 7}\n"
    "cases:\n"
    "  - kind: casusoverleg-passart\n"
    "    coordinator: gemeente\n"
    "    participants:\n"
    "      - {org: gemeente, fields: [toelichting]}\n"
    "      - {org: politie, fields: [toelichting]}\n"
    "      - {org: welzijn, fields: [toelichting]}\n"
    "    purpose: casusoverleg\n"
    "    legal_basis: \"Convenant Hartslag Passart art. 5\"\n"
    "    retention_days_after_close: 90\n"
    "    max_open_days: 180\n"
    "    outcomes: [opgelost]\n";

static bh_t *s_bh;
static fb_t *s_fb;
static dh_t *s_politie;
static bh_client_t *s_keys[3]; /* gemeente, politie, welzijn: their sign keys */
static uint8_t s_case[16], s_subject[32];

static void s_setup(void)
{
    tu_watchdog(90);
    const char *orgs[] = {"gemeente", "politie", "welzijn"};
    s_bh = bh_new(orgs, 3, s_yaml);
    cr_assert_not_null(s_bh);
    s_fb = fb_new(s_bh);
    cr_assert_not_null(s_fb);
    snprintf(s_bh->endpoint, sizeof s_bh->endpoint, "%s", s_fb->endpoint);
    for (int i = 0; i < 3; i++)
        cr_assert_not_null(s_keys[i] = bh_client_new(s_bh, orgs[i], false));
    s_politie = dh_new(s_bh, "politie", s_fb->endpoint, NULL);
    cr_assert_not_null(s_politie);
    cr_assert_eq(dh_start(s_politie), 0, "%s", dh_log(s_politie));
    cr_assert_eq(fb_wait_hello(s_fb, 10000, VERSION), 0, "no Hello:\n%s", dh_log(s_politie));
    randombytes_buf(s_case, sizeof s_case);
    randombytes_buf(s_subject, sizeof s_subject);
}

static void s_teardown(void)
{
    dh_destroy(&s_politie);
    for (int i = 0; i < 3; i++)
        bh_client_destroy(&s_keys[i]);
    fb_destroy(&s_fb);
    bh_destroy(&s_bh);
}

TestSuite(case_notice, .init = s_setup, .fini = s_teardown);

/* A signed step by `actor` (its name in the step) with the sign key of
   `signer`; the bytes live in `out` (freed by s_free). */
static Hartslag__SignedCaseAction *s_signed(int signer, const char *actor, Hartslag__CaseVerb verb,
                                            const char *partner)
{
    static uint8_t ids[64][16];
    static int next;
    uint8_t *id = ids[next++ % 64];
    randombytes_buf(id, 16);
    Hartslag__CaseAction a = HARTSLAG__CASE_ACTION__INIT;
    a.action_id = (ProtobufCBinaryData){16, id};
    a.case_id = (ProtobufCBinaryData){16, s_case};
    a.actor = (char *)actor;
    a.actor_user = "medewerker 1";
    a.verb = verb;
    a.created_at_ms = wire_now_ms();
    a.agreements_version = VERSION;
    char *partners[1] = {(char *)partner};
    if (partner) {
        a.partners = partners;
        a.n_partners = 1;
    }
    if (verb == HARTSLAG__CASE_VERB__CASE_OPEN) {
        a.kind = "casusoverleg-passart";
        a.has_subject = 1;
        a.subject = (ProtobufCBinaryData){32, s_subject};
    }
    Hartslag__SignedCaseAction *signed_step = calloc(1, sizeof *signed_step);
    hartslag__signed_case_action__init(signed_step);
    signed_step->action.len = hartslag__case_action__get_packed_size(&a);
    signed_step->action.data = malloc(signed_step->action.len);
    hartslag__case_action__pack(&a, signed_step->action.data);
    signed_step->signature.len = 64;
    signed_step->signature.data = malloc(64);
    cr_assert_eq(sigdomain_sign(SIGDOMAIN_CASE_ACTION, signed_step->action.data,
                                signed_step->action.len, s_keys[signer]->sign_sk,
                                signed_step->signature.data),
                 0);
    return signed_step;
}

static void s_free(Hartslag__SignedCaseAction *signed_step)
{
    free(signed_step->action.data);
    free(signed_step->signature.data);
    free(signed_step);
}

/* Sends a notice of `step` listing `n` participants, and returns the
   daemon's answer: "stored" or the rejection's reason. */
static void s_notice(Hartslag__SignedCaseAction *step, Hartslag__CaseParticipant **parts, size_t n,
                     char *answer, size_t len)
{
    uint8_t notice_id[16];
    randombytes_buf(notice_id, sizeof notice_id);
    Hartslag__CaseNotice notice = HARTSLAG__CASE_NOTICE__INIT;
    notice.notice_id = (ProtobufCBinaryData){16, notice_id};
    notice.action = step;
    notice.at_ms = wire_now_ms();
    notice.audit_index = 7;
    notice.kind = "casusoverleg-passart";
    notice.coordinator = "gemeente";
    notice.participants = parts;
    notice.n_participants = n;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_CASE_NOTICE;
    frame.case_notice = &notice;
    cr_assert_eq(fb_send(s_fb, &frame), 0);
    for (int i = 0; i < 10; i++) {
        Hartslag__Frame *reply = fb_recv(s_fb, 5000, VERSION);
        cr_assert_not_null(reply, "no answer to the notice:\n%s", dh_log(s_politie));
        if (reply->body_case == HARTSLAG__FRAME__BODY_DELIVERY_ACK &&
            memcmp(reply->delivery_ack->signal_id.data, notice_id, 16) == 0) {
            snprintf(answer, len, "%s",
                     reply->delivery_ack->status == HARTSLAG__ACK_STATUS__ACK_STORED
                         ? "stored"
                         : reply->delivery_ack->reason);
            hartslag__frame__free_unpacked(reply, NULL);
            return;
        }
        hartslag__frame__free_unpacked(reply, NULL);
    }
    cr_assert_fail("no DeliveryAck for the notice");
}

static Hartslag__CaseParticipant s_part(const char *org, Hartslag__CaseParticipantState state,
                                        Hartslag__SignedCaseAction **proof, size_t n_proof)
{
    Hartslag__CaseParticipant p = HARTSLAG__CASE_PARTICIPANT__INIT;
    p.org = (char *)org;
    p.state = state;
    p.since_ms = wire_now_ms();
    p.proof = proof;
    p.n_proof = n_proof;
    return p;
}

/* Whether politie's daemon holds the case (case show exits 0). */
static char *s_show(void)
{
    char hex[33], *out = NULL, *err = NULL;
    sodium_bin2hex(hex, sizeof hex, s_case, 16);
    int rc = dh_cli(s_politie, NULL, &out, &err, "case", "show", hex, "--json", NULL);
    free(err);
    if (rc != 0) {
        free(out);
        return NULL;
    }
    return out;
}

Test(case_notice, proven_participants_are_stored_unproven_ones_refuse_the_notice)
{
    Hartslag__SignedCaseAction *open =
        s_signed(0, "gemeente", HARTSLAG__CASE_VERB__CASE_OPEN, "politie");
    Hartslag__SignedCaseAction *open_proof[] = {open};
    char answer[96];

    /* welzijn listed as taking part on the open alone, which never named
       it: refused, nothing kept. */
    Hartslag__CaseParticipant parts[3] = {
        s_part("gemeente", HARTSLAG__CASE_PARTICIPANT_STATE__CASE_ACTIVE, open_proof, 1),
        s_part("politie", HARTSLAG__CASE_PARTICIPANT_STATE__CASE_INVITED, open_proof, 1),
        s_part("welzijn", HARTSLAG__CASE_PARTICIPANT_STATE__CASE_ACTIVE, open_proof, 1),
    };
    Hartslag__CaseParticipant *ptrs[3] = {&parts[0], &parts[1], &parts[2]};
    s_notice(open, ptrs, 3, answer, sizeof answer);
    cr_assert_str_eq(answer, "bad_proof");
    cr_assert_null(s_show(), "a refused notice was kept");

    /* The honest notice: stored. */
    s_notice(open, ptrs, 2, answer, sizeof answer);
    cr_assert_str_eq(answer, "stored", "%s", dh_log(s_politie));
    char *shown = s_show();
    cr_assert_not_null(shown);
    cr_assert(strstr(shown, "\"org\":\"politie\",\"state\":\"invited\""), "%s", shown);
    free(shown);

    /* welzijn invited, then "accepting" with politie's key in welzijn's
       name: the signature does not hold. */
    Hartslag__SignedCaseAction *invite =
        s_signed(0, "gemeente", HARTSLAG__CASE_VERB__CASE_INVITE, "welzijn");
    Hartslag__SignedCaseAction *forged =
        s_signed(1, "welzijn", HARTSLAG__CASE_VERB__CASE_ACCEPT, NULL);
    Hartslag__SignedCaseAction *welzijn_proof[] = {invite, forged};
    parts[2] = s_part("welzijn", HARTSLAG__CASE_PARTICIPANT_STATE__CASE_ACTIVE, welzijn_proof, 2);
    s_notice(forged, ptrs, 3, answer, sizeof answer);
    cr_assert_str_eq(answer, "bad_signature");

    /* An invitation signed by a partner that is not the coordinator. */
    Hartslag__SignedCaseAction *usurped =
        s_signed(1, "politie", HARTSLAG__CASE_VERB__CASE_INVITE, "welzijn");
    Hartslag__SignedCaseAction *usurped_proof[] = {usurped};
    parts[2] = s_part("welzijn", HARTSLAG__CASE_PARTICIPANT_STATE__CASE_INVITED, usurped_proof, 1);
    s_notice(usurped, ptrs, 3, answer, sizeof answer);
    cr_assert_str_eq(answer, "bad_proof");

    /* The real acceptance, by welzijn's own key: stored. */
    Hartslag__SignedCaseAction *accept =
        s_signed(2, "welzijn", HARTSLAG__CASE_VERB__CASE_ACCEPT, NULL);
    welzijn_proof[1] = accept;
    parts[2] = s_part("welzijn", HARTSLAG__CASE_PARTICIPANT_STATE__CASE_ACTIVE, welzijn_proof, 2);
    s_notice(accept, ptrs, 3, answer, sizeof answer);
    cr_assert_str_eq(answer, "stored");
    shown = s_show();
    cr_assert(shown && strstr(shown, "\"org\":\"welzijn\",\"state\":\"active\""), "%s", shown);
    free(shown);
    /* politie is invited but has not accepted: its daemon takes nothing
       shared in the case, whatever a broker delivers. */
    s_keys[2]->case_id = s_case;
    s_keys[2]->subject = s_subject;
    uint8_t *sealed = NULL, signal_id[16];
    size_t len = 0;
    cr_assert_eq(bh_seal(s_bh, s_keys[2], "politie", "case_share", "casusoverleg", "toelichting",
                         NULL, &sealed, &len, signal_id),
                 0);
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    free(sealed);
    for (int i = 0; i < 10; i++) {
        Hartslag__Frame *reply = fb_recv(s_fb, 5000, VERSION);
        cr_assert_not_null(reply, "no answer to the share:\n%s", dh_log(s_politie));
        bool ours = reply->body_case == HARTSLAG__FRAME__BODY_DELIVERY_ACK &&
                    memcmp(reply->delivery_ack->signal_id.data, signal_id, 16) == 0;
        if (ours) {
            cr_assert_eq(reply->delivery_ack->status, HARTSLAG__ACK_STATUS__ACK_REJECTED);
            cr_assert_str_eq(reply->delivery_ack->reason, "case:not_participant");
        }
        hartslag__frame__free_unpacked(reply, NULL);
        if (ours)
            break;
        cr_assert_lt(i, 9, "no DeliveryAck for the share");
    }
    s_free(open);
    s_free(invite);
    s_free(forged);
    s_free(usurped);
    s_free(accept);
}
