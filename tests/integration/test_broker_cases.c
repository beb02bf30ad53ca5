/*  Case conferences at the broker (issue 15): the coordinator opens a case
    and invites, partners accept or decline, what is shared reaches only
    the current participants, every step is signed, decided by the case's
    rule (default deny, all or nothing), audited and forwarded to the
    partners it concerns. Runs on SQLite and, in the PostgreSQL pass, on
    PostgreSQL. */
#include "broker_harness.h"
#include "case_action.h"
#include "cert.h"
#include "db.h"
#include "sigdomain.h"
#include "testutil.h"
#include "wire.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_agreements =
    "partnership: test-partnership\n"
    "version: 3\n"
    "coordinator: gemeente\n"
    "partners:\n"
    "  - {org: gemeente, role: coordinator}\n"
    "  - {org: politie, role: partner}\n"
    "  - {org: welzijn, role: partner}\n"
    "  - {org: woonpunt, role: partner}\n"
    "agreements:\n"
    "  - id: politie-overlast\n"
    "    from: politie\n"
    "    to: [gemeente, welzijn]\n"
    "    signal_types: [overlast]\n"
    "    fields: [adres, datum]\n"
    "    purpose: casusoverleg\n"
    "    legal_basis: \"Wpg art. 19\"\n"
    "    valid_from: 2025-01-01\n"
    "    valid_until: 2099-12-31\n"
    "    retention_days: 180\n"
    "    max_queue_days: 7\n"
    "cases:\n"
    "  - kind: casusoverleg-passart\n"
    "    coordinator: gemeente\n"
    "    participants:\n"
    "      - {org: gemeente, fields: [adres, toelichting]}\n"
    "      - {org: politie, fields: [adres, datum, toelichting]}\n"
    "      - {org: welzijn, fields: [toelichting]}\n"
    "    purpose: casusoverleg\n"
    "    legal_basis: \"Convenant Hartslag Passart art. 5\"\n"
    "    retention_days_after_close: 90\n"
    "    max_open_days: 180\n"
    "    outcomes: [opgelost, doorverwezen, zorgtraject, geen_actie]\n";

static bh_t *s_bh;
static bh_client_t *s_gemeente, *s_politie, *s_welzijn, *s_woonpunt;
static uint8_t s_case[16], s_subject[32];

static void s_setup(void)
{
    tu_watchdog(120);
    const char *orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};
    s_bh = bh_new(orgs, 4, s_agreements);
    cr_assert_not_null(s_bh);
    cr_assert_eq(bh_start(s_bh, NULL), 0, "%s", bh_log(s_bh));
    s_gemeente = bh_client_new(s_bh, "gemeente", false);
    s_politie = bh_client_new(s_bh, "politie", false);
    s_welzijn = bh_client_new(s_bh, "welzijn", false);
    s_woonpunt = bh_client_new(s_bh, "woonpunt", false);
    cr_assert_eq(bh_hello(s_gemeente), 0);
    cr_assert_eq(bh_hello(s_politie), 0);
    cr_assert_eq(bh_hello(s_welzijn), 0);
    cr_assert_eq(bh_hello(s_woonpunt), 0);
    randombytes_buf(s_case, sizeof s_case);
    randombytes_buf(s_subject, sizeof s_subject);
}

static void s_teardown(void)
{
    bh_client_destroy(&s_gemeente);
    bh_client_destroy(&s_politie);
    bh_client_destroy(&s_welzijn);
    bh_client_destroy(&s_woonpunt);
    bh_destroy(&s_bh);
}

TestSuite(broker_cases, .init = s_setup, .fini = s_teardown);

/* A step by `client`: verb, partners (comma-separated or NULL), and the
   verb's own value (kind, date or outcome). */
typedef struct {
    Hartslag__CaseVerb verb;
    const char *partners;
    const char *value;
    const uint8_t *case_id; /* NULL: s_case */
    const char *actor;      /* NULL: the client's org */
    bool forge;             /* sign with a key that is not the actor's */
    const char *items;      /* plan: "I:owner:due,..." (I: one character, the item id's bytes) */
    char item;              /* action_done: the item id's byte */
} step_t;

static void s_step_bytes(bh_client_t *client, const step_t *step, uint8_t action_id[16],
                         uint8_t **bytes, size_t *len, uint8_t sig[64])
{
    Hartslag__CaseAction a = HARTSLAG__CASE_ACTION__INIT;
    uint64_t now = wire_now_ms();
    for (int i = 0; i < 6; i++)
        action_id[i] = (uint8_t)(now >> (8 * (5 - i)));
    randombytes_buf(action_id + 6, 10);
    a.action_id.data = action_id;
    a.action_id.len = 16;
    a.case_id.data = (uint8_t *)(step->case_id ? step->case_id : s_case);
    a.case_id.len = 16;
    a.actor = (char *)(step->actor ? step->actor : client->org);
    a.actor_user = "medewerker 7";
    a.verb = step->verb;
    a.created_at_ms = now;
    a.agreements_version = 3;
    char list[256] = "";
    char *partners[8];
    if (step->partners) {
        snprintf(list, sizeof list, "%s", step->partners);
        for (char *save = NULL, *org = strtok_r(list, ",", &save); org && a.n_partners < 8;
             org = strtok_r(NULL, ",", &save))
            partners[a.n_partners++] = org;
        a.partners = partners;
    }
    if (step->verb == HARTSLAG__CASE_VERB__CASE_OPEN) {
        a.kind = (char *)step->value;
        a.has_subject = 1;
        a.subject.data = s_subject;
        a.subject.len = 32;
    } else if (step->verb == HARTSLAG__CASE_VERB__CASE_SCHEDULE)
        a.meeting_date = (char *)step->value;
    else if (step->verb == HARTSLAG__CASE_VERB__CASE_CLOSE)
        a.outcome = (char *)step->value;
    char items_buf[512] = "";
    uint8_t item_ids[8][16];
    Hartslag__CasePlanItem items[8];
    Hartslag__CasePlanItem *item_ptrs[8];
    if (step->items) {
        snprintf(items_buf, sizeof items_buf, "%s", step->items);
        for (char *save = NULL, *one = strtok_r(items_buf, ",", &save); one && a.n_plan_items < 8;
             one = strtok_r(NULL, ",", &save)) {
            size_t k = a.n_plan_items++;
            Hartslag__CasePlanItem init = HARTSLAG__CASE_PLAN_ITEM__INIT;
            items[k] = init;
            memset(item_ids[k], one[0], 16);
            items[k].item_id = (ProtobufCBinaryData){16, item_ids[k]};
            cr_assert(strlen(one) > 2 && one[1] == ':');
            char *owner = one + 2, *due = strchr(owner, ':');
            cr_assert_not_null(due);
            *due++ = '\0';
            items[k].owner = owner;
            items[k].due_date = due;
            item_ptrs[k] = &items[k];
        }
        a.plan_items = item_ptrs;
    }
    uint8_t done_id[16];
    if (step->item) {
        memset(done_id, step->item, sizeof done_id);
        a.has_item_id = 1;
        a.item_id = (ProtobufCBinaryData){16, done_id};
    }
    uint8_t other_pk[32], other_sk[64];
    crypto_sign_keypair(other_pk, other_sk);
    /* Packed and signed as they are, so that the broker's checks are
       what a bad step meets (case_action_sign would refuse it first). */
    *len = hartslag__case_action__get_packed_size(&a);
    *bytes = malloc(*len);
    cr_assert_not_null(*bytes);
    hartslag__case_action__pack(&a, *bytes);
    cr_assert_eq(sigdomain_sign(SIGDOMAIN_CASE_ACTION, *bytes, *len,
                                step->forge ? other_sk : client->sign_sk, sig),
                 0);
}

static int s_send_step(bh_client_t *client, const uint8_t *bytes, size_t len, uint8_t sig[64])
{
    Hartslag__SignedCaseAction signed_action = HARTSLAG__SIGNED_CASE_ACTION__INIT;
    signed_action.action.data = (uint8_t *)bytes;
    signed_action.action.len = len;
    signed_action.signature.data = sig;
    signed_action.signature.len = 64;
    Hartslag__CaseRequest request = HARTSLAG__CASE_REQUEST__INIT;
    request.action = &signed_action;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_CASE_REQUEST;
    frame.case_request = &request;
    return bh_send(client, &frame);
}

#define STEP(verb_, partners_, value_)                                                             \
    (&(step_t){.verb = HARTSLAG__CASE_VERB__CASE_##verb_, .partners = partners_, .value = value_})

/* The broker's answer to the client's step (other frames are skipped). */
static Hartslag__CaseResult *s_result(bh_client_t *client, const uint8_t action_id[16],
                                      Hartslag__Frame **frame_p)
{
    for (int tries = 0; tries < 20; tries++) {
        Hartslag__Frame *frame = bh_recv(client, 5000);
        cr_assert_not_null(frame, "no CaseResult from the broker");
        if (frame->body_case == HARTSLAG__FRAME__BODY_CASE_RESULT &&
            frame->case_result->action_id.len == 16 &&
            memcmp(frame->case_result->action_id.data, action_id, 16) == 0) {
            *frame_p = frame;
            return frame->case_result;
        }
        hartslag__frame__free_unpacked(frame, NULL);
    }
    cr_assert_fail("no CaseResult for the step");
    return NULL;
}

/* Takes a step; "ok" or the refusal's reason, in `out`. */
static void s_take(bh_client_t *client, const step_t *step, char *out, size_t len)
{
    uint8_t id[16], sig[64];
    uint8_t *bytes = NULL;
    size_t n = 0;
    s_step_bytes(client, step, id, &bytes, &n, sig);
    cr_assert_eq(s_send_step(client, bytes, n, sig), 0);
    free(bytes);
    Hartslag__Frame *frame = NULL;
    Hartslag__CaseResult *result = s_result(client, id, &frame);
    snprintf(out, len, "%s", result->ok ? "ok" : result->reason ? result->reason : "?");
    if (result->ok)
        cr_assert(result->has_audit_index && result->has_at_ms);
    hartslag__frame__free_unpacked(frame, NULL);
}

static void s_expect(bh_client_t *client, const step_t *step, const char *want)
{
    char got[128];
    s_take(client, step, got, sizeof got);
    cr_assert_str_eq(got, want, "%s: step %d", client->org, (int)step->verb);
}

/* A participant's state is proven by signed steps: the invitation (the
   coordinator's open or invite naming it, or its own open), then its own
   answer or the coordinator's removal. */
static void s_check_proof(const Hartslag__CaseParticipant *part)
{
    bool coordinator = strcmp(part->org, "gemeente") == 0;
    size_t want =
        coordinator || part->state == HARTSLAG__CASE_PARTICIPANT_STATE__CASE_INVITED ? 1 : 2;
    cr_assert_eq(part->n_proof, want, "%s: %zu proofs", part->org, part->n_proof);
    for (size_t k = 0; k < part->n_proof; k++) {
        Hartslag__CaseAction *step = NULL;
        const char *why = NULL;
        cr_assert_eq(
            case_action_check(part->proof[k]->action.data, part->proof[k]->action.len, &step, &why),
            0, "%s", why);
        char path[4400], err[600];
        snprintf(path, sizeof path, "%s/%s.cert", s_bh->certs, step->actor);
        cert_t cert;
        cr_assert_eq(cert_load(path, &cert, err, sizeof err), 0, "%s", err);
        cr_assert_eq(case_action_verify(part->proof[k], cert.sign_key), 0, "%s", part->org);
        cr_assert_eq(memcmp(step->case_id.data, s_case, 16), 0);
        if (k == 0) {
            bool names = coordinator && step->verb == HARTSLAG__CASE_VERB__CASE_OPEN;
            for (size_t p = 0; p < step->n_partners; p++)
                names = names || strcmp(step->partners[p], part->org) == 0;
            cr_assert(names, "%s: the first proof does not invite it", part->org);
        } else if (part->state == HARTSLAG__CASE_PARTICIPANT_STATE__CASE_REMOVED)
            cr_assert_eq(step->verb, HARTSLAG__CASE_VERB__CASE_REMOVE);
        else
            cr_assert_str_eq(step->actor, part->org);
        hartslag__case_action__free_unpacked(step, NULL);
    }
}

/* The next CaseNotice `client` receives (acked, as a daemon does), with
   its verb and the participants as "org=state,..." in `participants`. */
static Hartslag__CaseVerb s_notice(bh_client_t *client, char *participants, size_t len)
{
    for (int tries = 0; tries < 20; tries++) {
        Hartslag__Frame *frame = bh_recv(client, 5000);
        cr_assert_not_null(frame, "%s: no CaseNotice", client->org);
        if (frame->body_case != HARTSLAG__FRAME__BODY_CASE_NOTICE) {
            hartslag__frame__free_unpacked(frame, NULL);
            continue;
        }
        Hartslag__CaseNotice *notice = frame->case_notice;
        Hartslag__CaseAction *action = NULL;
        const char *why = NULL;
        cr_assert_eq(case_action_check(notice->action->action.data, notice->action->action.len,
                                       &action, &why),
                     0, "%s", why);
        cr_assert_eq(memcmp(action->case_id.data, s_case, 16), 0);
        size_t used = 0;
        participants[0] = '\0';
        for (size_t i = 0; i < notice->n_participants; i++) {
            used += (size_t)snprintf(participants + used, len - used, "%s%s=%s", i ? "," : "",
                                     notice->participants[i]->org,
                                     case_participant_state_name(notice->participants[i]->state));
            s_check_proof(notice->participants[i]);
        }
        Hartslag__CaseVerb verb = action->verb;
        cr_assert_eq(bh_ack(client, notice->notice_id.data, true, NULL), 0);
        hartslag__case_action__free_unpacked(action, NULL);
        hartslag__frame__free_unpacked(frame, NULL);
        return verb;
    }
    cr_assert_fail("%s: no CaseNotice among 20 frames", client->org);
    return 0;
}

/* The id of a delivered signal (in the frame's header). */
static const uint8_t *s_signal_id(const Hartslag__Frame *frame)
{
    static uint8_t id[16];
    Hartslag__SignalHeader *header = hartslag__signal_header__unpack(
        NULL, frame->deliver->signal->header.len, frame->deliver->signal->header.data);
    cr_assert_not_null(header);
    memcpy(id, header->signal_id.data, 16);
    hartslag__signal_header__free_unpacked(header, NULL);
    return id;
}

/* A share by `client` into the case: the Submit's answer ("accepted" or
   the Denied reason with its per-recipient reasons). */
/* Says something of `type` in the case (lib/case_text.h), about the plan's
   action whose id is 16 bytes of `item` (0: none). */
static void s_say(bh_client_t *client, const char *type, const char *to, const char *fields,
                  char item, uint8_t id[16], char *out, size_t len)
{
    client->case_id = s_case;
    client->subject = s_subject;
    uint8_t item_id[16];
    memset(item_id, item, sizeof item_id);
    client->case_item = item ? item_id : NULL;
    uint8_t *sealed = NULL;
    size_t n = 0;
    cr_assert_eq(bh_seal(s_bh, client, to, type, "casusoverleg", fields, NULL, &sealed, &n, id), 0);
    client->case_item = NULL;
    Hartslag__Frame *answer = bh_submit(client, sealed, n, 5000);
    free(sealed);
    /* Case notices and deliveries come at any time: taken and
       acknowledged here. */
    while (answer && (answer->body_case == HARTSLAG__FRAME__BODY_CASE_NOTICE ||
                      answer->body_case == HARTSLAG__FRAME__BODY_DELIVER)) {
        cr_assert_eq(bh_ack(client,
                            answer->body_case == HARTSLAG__FRAME__BODY_CASE_NOTICE
                                ? answer->case_notice->notice_id.data
                                : s_signal_id(answer),
                            true, NULL),
                     0);
        hartslag__frame__free_unpacked(answer, NULL);
        answer = bh_recv(client, 5000);
    }
    cr_assert_not_null(answer);
    if (answer->body_case == HARTSLAG__FRAME__BODY_ACCEPTED)
        snprintf(out, len, "accepted");
    else {
        cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_DENIED, "frame %d: %s",
                     (int)answer->body_case,
                     answer->body_case == HARTSLAG__FRAME__BODY_ERROR ? answer->error->code : "");
        size_t used = (size_t)snprintf(out, len, "%s", answer->denied->reason);
        for (size_t i = 0; i < answer->denied->n_recipients; i++)
            used += (size_t)snprintf(out + used, len - used, " %s=%s",
                                     answer->denied->recipients[i]->recipient,
                                     answer->denied->recipients[i]->reason);
    }
    hartslag__frame__free_unpacked(answer, NULL);
}

static void s_share(bh_client_t *client, const char *to, const char *fields, uint8_t id[16],
                    char *out, size_t len)
{
    s_say(client, "case_share", to, fields, 0, id, out, len);
}

/* The case's audit records, "event/outcome/counterpart" in log order. */
static void s_case_records(char *out, size_t len)
{
    char why[512];
    db_t *db = db_open(bh_store(s_bh), DB_READONLY, why, sizeof why);
    cr_assert_not_null(db, "%s", why);
    db_stmt_t *st = db_prepare(db, "SELECT record FROM audit ORDER BY idx");
    cr_assert_not_null(st, "%s", db_errmsg(db));
    size_t used = 0;
    out[0] = '\0';
    while (db_step(st) == DB_ROW) {
        size_t n = 0;
        const void *bytes = db_column_blob(st, 0, &n);
        Hartslag__AuditRecord *r = hartslag__audit_record__unpack(NULL, n, bytes);
        cr_assert_not_null(r);
        if (r->has_case_id && r->case_id.len == 16 && memcmp(r->case_id.data, s_case, 16) == 0) {
            used += (size_t)snprintf(out + used, len - used, "%s/%s/%s%s%s", r->event, r->outcome,
                                     r->counterpart_org ? r->counterpart_org : "-",
                                     r->case_outcome ? "/" : "",
                                     r->case_outcome ? r->case_outcome : "");
            /* A plan's action: its id's byte, due date and state. */
            if (r->has_case_item && r->case_item.len == 16)
                used += (size_t)snprintf(out + used, len - used, "/%c/%s%s%s", r->case_item.data[0],
                                         r->due_date ? r->due_date : "-",
                                         r->case_action_state ? "/" : "",
                                         r->case_action_state ? r->case_action_state : "");
            used += (size_t)snprintf(out + used, len - used, " ");
        }
        hartslag__audit_record__free_unpacked(r, NULL);
    }
    db_reset(st);
    db_close(&db);
}

Test(broker_cases, a_case_from_opening_to_closing)
{
    char got[512], parts[256];
    s_expect(s_gemeente, STEP(OPEN, "politie", "casusoverleg-passart"), "ok");
    /* The coordinator and the invited hear of it; nobody else. */
    cr_assert_eq(s_notice(s_gemeente, parts, sizeof parts), HARTSLAG__CASE_VERB__CASE_OPEN);
    cr_assert_eq(s_notice(s_politie, parts, sizeof parts), HARTSLAG__CASE_VERB__CASE_OPEN);
    cr_assert_str_eq(parts, "gemeente=active,politie=invited");

    /* Invited is not taking part: nothing is shared with politie yet. */
    uint8_t id[16];
    s_share(s_gemeente, "politie", "adres", id, got, sizeof got);
    cr_assert_str_eq(got, "case politie=not_participant");

    s_expect(s_politie, STEP(ACCEPT, NULL, NULL), "ok");
    cr_assert_eq(s_notice(s_politie, parts, sizeof parts), HARTSLAG__CASE_VERB__CASE_ACCEPT);
    cr_assert_str_eq(parts, "gemeente=active,politie=active");
    cr_assert_eq(s_notice(s_gemeente, parts, sizeof parts), HARTSLAG__CASE_VERB__CASE_ACCEPT);

    /* Shared into the case: delivered, as a signal that names the case. */
    s_share(s_gemeente, "politie", "adres,toelichting", id, got, sizeof got);
    cr_assert_str_eq(got, "accepted");
    Hartslag__Frame *frame = NULL;
    for (int i = 0; i < 10 && !frame; i++) {
        frame = bh_recv(s_politie, 5000);
        cr_assert_not_null(frame);
        if (frame->body_case != HARTSLAG__FRAME__BODY_DELIVER) {
            hartslag__frame__free_unpacked(frame, NULL);
            frame = NULL;
        }
    }
    cr_assert_not_null(frame);
    Hartslag__SignalHeader *header = hartslag__signal_header__unpack(
        NULL, frame->deliver->signal->header.len, frame->deliver->signal->header.data);
    cr_assert(header->has_case_id && memcmp(header->case_id.data, s_case, 16) == 0);
    cr_assert_eq(memcmp(header->signal_id.data, id, 16), 0);
    cr_assert_eq(bh_ack(s_politie, id, true, NULL), 0);
    hartslag__signal_header__free_unpacked(header, NULL);
    hartslag__frame__free_unpacked(frame, NULL);

    /* A field outside the sender's list refuses the whole share. */
    s_share(s_politie, "gemeente", "adres,categorie", id, got, sizeof got);
    cr_assert_str_eq(got, "case gemeente=field_not_allowed:categorie");

    /* welzijn is invited, declines; a share to it is refused. */
    s_expect(s_gemeente, STEP(INVITE, "welzijn", NULL), "ok");
    cr_assert_eq(s_notice(s_welzijn, parts, sizeof parts), HARTSLAG__CASE_VERB__CASE_INVITE);
    cr_assert_str_eq(parts, "gemeente=active,politie=active,welzijn=invited");
    s_expect(s_welzijn, STEP(DECLINE, NULL, NULL), "ok");
    s_share(s_politie, "gemeente,welzijn", "toelichting", id, got, sizeof got);
    cr_assert_str_eq(got, "case gemeente=allowed welzijn=not_participant");

    s_expect(s_gemeente, STEP(SCHEDULE, NULL, "2027-01-14"), "ok");
    s_expect(s_gemeente, STEP(CLOSE, NULL, "onbekend"), "unknown_outcome");
    s_expect(s_gemeente, STEP(CLOSE, NULL, "zorgtraject"), "ok");
    s_share(s_politie, "gemeente", "toelichting", id, got, sizeof got);
    cr_assert_str_eq(got, "case gemeente=case_closed");
    s_expect(s_gemeente, STEP(INVITE, "welzijn", NULL), "case_closed");

    char records[4096];
    s_case_records(records, sizeof records);
    cr_assert_str_eq(records,
                     "case_opened/ok/- case_invited/ok/politie case_joined/ok/gemeente "
                     "case_shared/ok/politie case_invited/ok/welzijn "
                     "case_declined/ok/gemeente case_scheduled/ok/- "
                     "case_closed/refused/- case_closed/ok/-/zorgtraject "
                     "case_invited/refused/- ",
                     "%s", records);
}

Test(broker_cases, default_deny_all_or_nothing)
{
    char got[256];
    /* Only the rule's coordinator opens; only listed partners take part. */
    s_expect(s_politie, STEP(OPEN, NULL, "casusoverleg-passart"), "not_coordinator");
    s_expect(s_gemeente, STEP(OPEN, NULL, "buurtoverleg"), "unknown_case_kind");
    s_expect(s_gemeente, STEP(OPEN, "politie,woonpunt", "casusoverleg-passart"),
             "not_participant:woonpunt");
    /* Nothing of the refused open exists: inviting into it is unknown. */
    s_expect(s_gemeente, STEP(INVITE, "politie", NULL), "unknown_case");
    s_expect(s_gemeente, STEP(OPEN, NULL, "casusoverleg-passart"), "ok");
    s_expect(s_gemeente, STEP(OPEN, NULL, "casusoverleg-passart"), "duplicate_case_id");
    /* Only the case's coordinator invites; one bad partner refuses all. */
    s_expect(s_politie, STEP(INVITE, "welzijn", NULL), "not_coordinator");
    s_expect(s_gemeente, STEP(INVITE, "welzijn,woonpunt", NULL), "not_participant:woonpunt");
    /* An uninvited partner cannot join; a participant cannot be removed twice. */
    s_expect(s_welzijn, STEP(ACCEPT, NULL, NULL), "not_invited");
    s_expect(s_gemeente, STEP(REMOVE, "welzijn", NULL), "not_participant:welzijn");
    /* A step signed with another key, or in another org's name, is refused. */
    s_expect(s_gemeente,
             &(step_t){.verb = HARTSLAG__CASE_VERB__CASE_INVITE,
                       .partners = "welzijn",
                       .value = NULL,
                       .forge = true},
             "bad_signature");
    s_expect(s_politie,
             &(step_t){.verb = HARTSLAG__CASE_VERB__CASE_INVITE,
                       .partners = "welzijn",
                       .value = NULL,
                       .actor = "gemeente"},
             "actor_mismatch");
    s_expect(s_gemeente, STEP(SCHEDULE, NULL, "2027-02-30"), "bad_action:bad_meeting_date");
    /* A partner outside the case cannot share into it. */
    uint8_t id[16];
    s_share(s_woonpunt, "gemeente", "toelichting", id, got, sizeof got);
    cr_assert_str_eq(got, "case gemeente=not_participant");
    /* After all that, the case is as opened: the coordinator alone. */
    s_expect(s_gemeente, STEP(INVITE, "welzijn", NULL), "ok");
}

Test(broker_cases, a_removed_participant_receives_nothing_more)
{
    char got[256], parts[256];
    s_expect(s_gemeente, STEP(OPEN, "politie,welzijn", "casusoverleg-passart"), "ok");
    s_expect(s_politie, STEP(ACCEPT, NULL, NULL), "ok");
    s_expect(s_welzijn, STEP(ACCEPT, NULL, NULL), "ok");
    uint8_t id[16];
    s_share(s_gemeente, "politie,welzijn", "toelichting", id, got, sizeof got);
    cr_assert_str_eq(got, "accepted");
    s_expect(s_gemeente, STEP(REMOVE, "welzijn", NULL), "ok");
    /* welzijn is told it was removed: its notices end with that step. */
    Hartslag__CaseVerb last = 0;
    for (int i = 0; i < 4 && last != HARTSLAG__CASE_VERB__CASE_REMOVE; i++)
        last = s_notice(s_welzijn, parts, sizeof parts);
    cr_assert_eq(last, HARTSLAG__CASE_VERB__CASE_REMOVE);
    cr_assert_str_eq(parts, "gemeente=active,politie=active,welzijn=removed");
    s_share(s_gemeente, "politie,welzijn", "toelichting", id, got, sizeof got);
    cr_assert_str_eq(got, "case politie=allowed welzijn=not_participant");
    s_share(s_welzijn, "gemeente", "toelichting", id, got, sizeof got);
    cr_assert_str_eq(got, "case gemeente=not_participant");
    /* Nothing more reaches welzijn: no delivery, no notice. */
    Hartslag__Frame *frame = bh_recv(s_welzijn, 1500);
    cr_assert_null(frame, "welzijn received frame %d after its removal",
                   frame ? (int)frame->body_case : 0);
}

Test(broker_cases, a_repeated_step_is_answered_once_and_taken_once)
{
    uint8_t id[16], sig[64];
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_step_bytes(s_gemeente, STEP(OPEN, "politie", "casusoverleg-passart"), id, &bytes, &len, sig);
    uint64_t index[2];
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(s_send_step(s_gemeente, bytes, len, sig), 0);
        Hartslag__Frame *frame = NULL;
        Hartslag__CaseResult *result = s_result(s_gemeente, id, &frame);
        cr_assert(result->ok, "%s", result->reason);
        index[i] = result->audit_index;
        hartslag__frame__free_unpacked(frame, NULL);
    }
    free(bytes);
    cr_assert_eq(index[0], index[1]);
    char records[1024];
    s_case_records(records, sizeof records);
    cr_assert_str_eq(records, "case_opened/ok/- case_invited/ok/politie ");
}

#define PLAN(items_) (&(step_t){.verb = HARTSLAG__CASE_VERB__CASE_PLAN, .items = items_})
#define DONE(item_) (&(step_t){.verb = HARTSLAG__CASE_VERB__CASE_ACTION_DONE, .item = item_})

Test(broker_cases, a_plan_of_action_and_its_actions_done)
{
    char parts[256];
    s_expect(s_gemeente, STEP(OPEN, "politie,welzijn", "casusoverleg-passart"), "ok");
    s_expect(s_politie, STEP(ACCEPT, NULL, NULL), "ok");
    /* Only the coordinator plans; every owner takes part now (welzijn is
       only invited, woonpunt not even that); no due date before the case
       opened; one bad item refuses the whole plan. */
    s_expect(s_politie, PLAN("A:politie:2099-12-20"), "not_coordinator");
    s_expect(s_gemeente, PLAN("A:politie:2099-12-20,B:welzijn:2099-12-21"),
             "owner_not_participant:welzijn");
    s_expect(s_gemeente, PLAN("A:woonpunt:2099-12-20"), "owner_not_participant:woonpunt");
    s_expect(s_gemeente, PLAN("A:politie:2099-12-20,B:gemeente:2020-01-01"),
             "due_before_opening:2020-01-01");
    /* (Unreadable steps are audited without the case: they name none.) */
    s_expect(s_gemeente, PLAN("A:politie:2027-02-30"), "bad_action:bad_due_date");
    s_expect(s_gemeente, PLAN("A:politie:2099-12-20,A:gemeente:2099-12-20"),
             "bad_action:duplicate_item");
    /* Nothing of the refused plans exists: marking A done is unknown. */
    s_expect(s_politie, DONE('A'), "unknown_item");
    s_expect(s_gemeente, PLAN("A:politie:2099-12-20,B:gemeente:2099-12-31"), "ok");
    /* Participants hear of the plan as of any step. */
    Hartslag__CaseVerb last = 0;
    for (int i = 0; i < 4 && last != HARTSLAG__CASE_VERB__CASE_PLAN; i++)
        last = s_notice(s_politie, parts, sizeof parts);
    cr_assert_eq(last, HARTSLAG__CASE_VERB__CASE_PLAN);
    cr_assert_str_eq(parts, "gemeente=active,politie=active,welzijn=invited");
    /* An item id is the case's once. */
    s_expect(s_gemeente, PLAN("A:gemeente:2099-12-20"), "duplicate_item");
    /* Only the owner marks its action done, and once. */
    s_expect(s_gemeente, DONE('A'), "not_owner");
    s_expect(s_welzijn, DONE('A'), "not_owner");
    s_expect(s_politie, DONE('C'), "unknown_item");
    s_expect(s_politie, DONE('A'), "ok");
    last = 0;
    for (int i = 0; i < 4 && last != HARTSLAG__CASE_VERB__CASE_ACTION_DONE; i++)
        last = s_notice(s_gemeente, parts, sizeof parts);
    cr_assert_eq(last, HARTSLAG__CASE_VERB__CASE_ACTION_DONE);
    s_expect(s_politie, DONE('A'), "already_done");
    /* A removed owner no longer acts in the case. */
    s_expect(s_gemeente, PLAN("D:politie:2099-12-20"), "ok");
    s_expect(s_gemeente, STEP(REMOVE, "politie", NULL), "ok");
    s_expect(s_politie, DONE('D'), "not_participant");
    s_expect(s_gemeente, STEP(CLOSE, NULL, "opgelost"), "ok");
    s_expect(s_gemeente, DONE('B'), "case_closed");
    s_expect(s_gemeente, PLAN("E:gemeente:2099-12-20"), "case_closed");

    char records[4096];
    s_case_records(records, sizeof records);
    cr_assert_str_eq(records,
                     "case_opened/ok/- case_invited/ok/politie case_invited/ok/welzijn "
                     "case_joined/ok/gemeente "
                     "case_plan/refused/- case_plan/refused/- case_plan/refused/- "
                     "case_plan/refused/- case_action/refused/- "
                     "case_plan/ok/politie/A/2099-12-20 case_plan/ok/gemeente/B/2099-12-31 "
                     "case_plan/refused/- case_action/refused/- case_action/refused/- "
                     "case_action/refused/- case_action/ok/gemeente/A/2099-12-20/done "
                     "case_action/refused/- case_plan/ok/politie/D/2099-12-20 "
                     "case_participant_removed/ok/politie case_action/refused/- "
                     "case_closed/ok/-/opgelost case_action/refused/- case_plan/refused/- ",
                     "%s", records);
}

/* What is said besides shares (lib/case_text.h): the title and an
   action's text only by the coordinator, a note only by the action's
   owner, each about an action the plan holds, and only free text. */
Test(broker_cases, the_case_s_own_words_by_who_may_say_them)
{
    char got[256];
    uint8_t id[16];
    s_expect(s_gemeente, STEP(OPEN, "politie,welzijn", "casusoverleg-passart"), "ok");
    s_expect(s_politie, STEP(ACCEPT, NULL, NULL), "ok");
    s_expect(s_welzijn, STEP(ACCEPT, NULL, NULL), "ok");
    s_expect(s_gemeente, PLAN("A:politie:2099-12-20"), "ok");
    s_say(s_politie, "case_title", "gemeente", "toelichting", 0, id, got, sizeof got);
    cr_assert_str_eq(got, "case gemeente=not_coordinator");
    s_say(s_gemeente, "case_title", "politie", "adres", 0, id, got, sizeof got);
    cr_assert_str_eq(got, "case politie=text_fields_only");
    s_say(s_gemeente, "case_title", "politie,welzijn", "toelichting", 0, id, got, sizeof got);
    cr_assert_str_eq(got, "accepted");
    s_say(s_gemeente, "case_action_text", "politie", "toelichting", 0, id, got, sizeof got);
    cr_assert_str_eq(got, "case politie=bad_case_item");
    s_say(s_gemeente, "case_action_text", "politie", "toelichting", 'B', id, got, sizeof got);
    cr_assert_str_eq(got, "case politie=unknown_item");
    s_say(s_politie, "case_action_text", "gemeente", "toelichting", 'A', id, got, sizeof got);
    cr_assert_str_eq(got, "case gemeente=not_coordinator");
    s_say(s_gemeente, "case_action_text", "politie,welzijn", "toelichting", 'A', id, got,
          sizeof got);
    cr_assert_str_eq(got, "accepted");
    s_say(s_welzijn, "case_action_note", "gemeente", "toelichting", 'A', id, got, sizeof got);
    cr_assert_str_eq(got, "case gemeente=not_owner");
    s_say(s_politie, "case_action_note", "gemeente,welzijn", "toelichting", 'A', id, got,
          sizeof got);
    cr_assert_str_eq(got, "accepted");
    s_say(s_politie, "case_share", "gemeente", "adres", 'A', id, got, sizeof got);
    cr_assert_str_eq(got, "case gemeente=bad_case_item");
    s_say(s_gemeente, "casusinfo", "politie", "toelichting", 0, id, got, sizeof got);
    cr_assert_str_eq(got, "case politie=wrong_signal_type");
}

/* The rule changed between the invitation and the answer: joining needs
   the partner in today's rule; declining never does. */
Test(broker_cases, an_invitation_is_answered_by_the_rule_in_force)
{
    char got[256];
    uint8_t id[16];
    s_expect(s_gemeente, STEP(OPEN, "politie,welzijn", "casusoverleg-passart"), "ok");
    /* Version 4 takes welzijn out of the case rule. */
    char *text = tu_read_file(s_bh->agreements, NULL);
    cr_assert_not_null(text);
    char *at = strstr(text, "version: 3\n");
    cr_assert_not_null(at);
    at[9] = '4';
    char *line = strstr(text, "      - {org: welzijn, fields: [toelichting]}\n");
    cr_assert_not_null(line, "%s", text);
    size_t cut = strlen("      - {org: welzijn, fields: [toelichting]}\n");
    memmove(line, line + cut, strlen(line + cut) + 1);
    cr_assert_eq(bh_write_agreements(s_bh, text, NULL), 0);
    free(text);
    bh_signal(s_bh, SIGHUP);
    bool loaded = false;
    for (int i = 0; i < 100 && !loaded; i++) {
        char *log = bh_log(s_bh);
        loaded = log && strstr(log, "event=agreements_loaded version=4");
        free(log);
        if (!loaded)
            usleep(100000);
    }
    cr_assert(loaded, "the broker never loaded version 4");
    s_expect(s_welzijn, STEP(ACCEPT, NULL, NULL), "not_participant");
    s_expect(s_politie, STEP(ACCEPT, NULL, NULL), "ok");
    /* welzijn, still invited and never taking part, receives nothing. */
    s_share(s_gemeente, "politie,welzijn", "toelichting", id, got, sizeof got);
    cr_assert_str_eq(got, "case politie=allowed welzijn=not_participant");
    s_expect(s_welzijn, STEP(DECLINE, NULL, NULL), "ok");
}
