/*  A record that is missing from the broker's log is noticed (issue 18
    A2). Each daemon has the broker prove that the records of its own
    exchanges are in the log before it cosigns a checkpoint.

    Against a fake broker (the broker's keys; a real audit log built here,
    signed with the broker's audit key, consistent, but without the
    daemon's record) the daemon refuses to cosign, keeps the evidence and
    raises it in `hartslag status` and its log: once as the sender (the
    `accepted` record at the index Accepted promised is another record,
    with a valid proof), once as the recipient (no `delivered` record).
    With the real broker both daemons prove their records and cosign. */
#include "audit_log.h"
#include "daemon_harness.h"
#include "keyfile.h"
#include "testutil.h"
#include "tu_db.h"
#include "wire.h"

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VERSION 3 /* bh_default_agreements */
#define ORIGIN "hartslag.test-partnership/audit"

static bh_t *s_bh;
static fb_t *s_fb;
static dh_t *s_daemon;
static bh_client_t *s_politie; /* only its keys are used, to seal */

static void s_teardown(void)
{
    dh_destroy(&s_daemon);
    bh_client_destroy(&s_politie);
    fb_destroy(&s_fb);
    bh_destroy(&s_bh);
}

static void s_setup_fake(void)
{
    tu_watchdog(90);
    const char *orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};
    s_bh = bh_new(orgs, 4, bh_default_agreements);
    cr_assert_not_null(s_bh);
    s_fb = fb_new(s_bh);
    cr_assert_not_null(s_fb);
    snprintf(s_bh->endpoint, sizeof s_bh->endpoint, "%s", s_fb->endpoint);
}

TestSuite(inclusion_fake, .init = s_setup_fake, .fini = s_teardown);

/* The fake broker's log: a real audit log in memory, signed with the
   broker's audit key. */
typedef struct {
    sqlite3 *db;
    audit_log_t *log;
    uint8_t sk[64];
} fake_log_t;

static void s_log_open(fake_log_t *fl)
{
    char path[4300], err[600];
    snprintf(path, sizeof path, "%s/broker.cert_secret", s_bh->keys);
    keyfile_t *keys = keyfile_load(path, err, sizeof err);
    cr_assert_not_null(keys, "%s", err);
    memcpy(fl->sk, keyfile_sign_secret(keys), 64);
    keyfile_destroy(&keys);
    cr_assert_eq(sqlite3_open(":memory:", &fl->db), SQLITE_OK);
    fl->log = audit_log_open(tu_db(fl->db), ORIGIN, true, err, sizeof err);
    cr_assert_not_null(fl->log, "%s", err);
}

static void s_log_close(fake_log_t *fl)
{
    audit_log_destroy(&fl->log);
    tu_sqlite_close(fl->db);
}

static uint64_t s_add(fake_log_t *fl, const char *event, const char *actor, const char *counterpart,
                      const char *on_behalf_of, const Hartslag__SignalHeader *hdr)
{
    Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
    record.time_ms = (uint64_t)(int64_t)wire_now_ms();
    record.event = (char *)event;
    record.actor_org = (char *)actor;
    record.counterpart_org = (char *)counterpart;
    record.on_behalf_of = (char *)on_behalf_of;
    if (hdr) {
        record.has_signal_id = 1;
        record.signal_id = hdr->signal_id;
        record.signal_type = hdr->signal_type;
        record.purpose = hdr->purpose;
        record.has_subject = 1;
        record.subject = hdr->subject;
    }
    record.outcome = "ok";
    int64_t index = audit_log_append(fl->log, &record);
    cr_assert_geq(index, 0);
    audit_log_commit(fl->log);
    return (uint64_t)index;
}

/* Signs a checkpoint of the log and sends it (no proof: the daemon holds
   none yet). Returns its size. */
static uint64_t s_checkpoint(fake_log_t *fl)
{
    cr_assert_eq(audit_log_checkpoint(fl->log, fl->sk, (int64_t)wire_now_ms()), 0);
    audit_log_commit(fl->log);
    char note[CHECKPOINT_NOTE_MAX + 1];
    size_t len = 0;
    uint64_t size = 0;
    cr_assert_eq(audit_log_latest_note(fl->log, note, &len, &size), 0);
    Hartslag__Checkpoint checkpoint = HARTSLAG__CHECKPOINT__INIT;
    checkpoint.note.data = (uint8_t *)note;
    checkpoint.note.len = len;
    checkpoint.from_size = 0;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.version = WIRE_VERSION;
    frame.body_case = HARTSLAG__FRAME__BODY_CHECKPOINT;
    frame.checkpoint = &checkpoint;
    cr_assert_eq(fb_send(s_fb, &frame), 0);
    return size;
}

/* The next frame of `kind` from the daemon (others skipped); NULL when
   none came within `timeout_ms`. */
static Hartslag__Frame *s_wait_frame(int kind, int timeout_ms)
{
    int64_t until = (int64_t)wire_now_ms() + timeout_ms;
    while ((int64_t)wire_now_ms() < until) {
        Hartslag__Frame *frame = fb_recv(s_fb, 200, VERSION);
        if (!frame)
            continue;
        if ((int)frame->body_case == kind)
            return frame;
        hartslag__frame__free_unpacked(frame, NULL);
    }
    return NULL;
}

/* Answers an InclusionRequest: `status` for every item; with FOUND the
   record at the asked index and its true proof. */
static void s_answer(fake_log_t *fl, const Hartslag__InclusionRequest *request,
                     Hartslag__InclusionStatus status)
{
    size_t n = request->n_items;
    Hartslag__InclusionAnswer answers[48], *ptrs[48];
    uint8_t *records[48] = {0};
    unsigned char proofs[48][MERKLE_PROOF_MAX][MERKLE_HASHBYTES];
    ProtobufCBinaryData hashes[48][MERKLE_PROOF_MAX];
    cr_assert(n >= 1 && n <= 48);
    for (size_t i = 0; i < n; i++) {
        const Hartslag__InclusionItem *item = request->items[i];
        hartslag__inclusion_answer__init(&answers[i]);
        answers[i].signal_id = item->signal_id;
        answers[i].event = item->event;
        answers[i].status = status;
        if (status == HARTSLAG__INCLUSION_STATUS__INCLUSION_FOUND) {
            cr_assert(item->has_index);
            size_t len = 0, plen = 0;
            cr_assert_eq(audit_log_record(fl->log, item->index, &records[i], &len), 0);
            cr_assert_eq(audit_log_inclusion_proof(fl->log, item->index, request->tree_size,
                                                   proofs[i], &plen),
                         0);
            for (size_t k = 0; k < plen; k++) {
                hashes[i][k].data = proofs[i][k];
                hashes[i][k].len = MERKLE_HASHBYTES;
            }
            answers[i].has_index = 1;
            answers[i].index = item->index;
            answers[i].has_record = 1;
            answers[i].record.data = records[i];
            answers[i].record.len = len;
            answers[i].proof = hashes[i];
            answers[i].n_proof = plen;
        }
        ptrs[i] = &answers[i];
    }
    Hartslag__InclusionProof proof = HARTSLAG__INCLUSION_PROOF__INIT;
    proof.tree_size = request->tree_size;
    proof.batch = request->batch;
    proof.items = ptrs;
    proof.n_items = n;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.version = WIRE_VERSION;
    frame.body_case = HARTSLAG__FRAME__BODY_INCLUSION_PROOF;
    frame.inclusion_proof = &proof;
    cr_assert_eq(fb_send(s_fb, &frame), 0);
    for (size_t i = 0; i < n; i++)
        free(records[i]);
}

/* The refusal is kept and shown: no cosignature, status unhealthy with
   records_missing, the log line, one evidence row of `kind`. */
static void s_expect_refused(const char *kind)
{
    Hartslag__Frame *cosig = s_wait_frame(HARTSLAG__FRAME__BODY_COSIGNATURE, 2000);
    cr_assert_null(cosig, "the daemon cosigned a log that lacks its record");
    char needle[128];
    snprintf(needle, sizeof needle, "event=inclusion_refused kind=%s", kind);
    cr_assert(dh_wait_log(s_daemon, needle, 5000), "%s", dh_log(s_daemon));
    char *out = NULL;
    int rc = dh_cli(s_daemon, NULL, &out, NULL, "status", "--json", NULL);
    cr_assert_eq(rc, 1, "status must fail the health check: %s", out);
    cr_assert(strstr(out, "\"records_refused\":1"), "%s", out);
    cr_assert(strstr(out, "\"code\":\"records_missing\""), "%s", out);
    free(out);
    rc = dh_cli(s_daemon, NULL, &out, NULL, "status", NULL);
    cr_assert_eq(rc, 1);
    cr_assert(strstr(out, "RECORDS MISSING FROM THE AUDIT LOG"), "%s", out);
    free(out);
    char db[4600], sql[256];
    snprintf(db, sizeof db, "%s/hartslagd.db", s_daemon->state);
    snprintf(sql, sizeof sql,
             "SELECT kind, tree_size > 0, note IS NOT NULL FROM inclusion_evidence;");
    char *argv[] = {"/usr/bin/sqlite3", db, sql, NULL};
    cr_assert_eq(tu_run(argv, NULL, &out, NULL), 0);
    char want[64];
    snprintf(want, sizeof want, "%s|1|1\n", kind);
    cr_assert_str_eq(out, want);
    free(out);
}

Test(inclusion_fake, sender_refuses_a_log_without_its_accepted_record)
{
    s_daemon = dh_new(s_bh, "politie", s_fb->endpoint, NULL);
    cr_assert_not_null(s_daemon);
    cr_assert_eq(dh_start(s_daemon), 0, "%s", dh_log(s_daemon));
    cr_assert_eq(fb_wait_hello(s_fb, 10000, VERSION), 0);
    const char *fields[] = {"datum=2026-11-28", NULL};
    char hex[33];
    cr_assert_eq(dh_send(s_daemon, "gemeente", "overlast", "casusoverleg", "111222333", fields,
                         NULL, false, hex),
                 0);
    Hartslag__Frame *submit = s_wait_frame(HARTSLAG__FRAME__BODY_SUBMIT, 10000);
    cr_assert_not_null(submit);
    Hartslag__SealedSignal *sealed = submit->submit->signal;
    Hartslag__SignalHeader *hdr =
        hartslag__signal_header__unpack(NULL, sealed->header.len, sealed->header.data);
    cr_assert_not_null(hdr);

    /* The broker writes `submitted` and skips `accepted`, yet promises
       the next index in Accepted. */
    fake_log_t fl;
    s_log_open(&fl);
    (void)s_add(&fl, "agreements_loaded", "broker", NULL, NULL, NULL);
    uint64_t submitted = s_add(&fl, "submitted", "politie", NULL, NULL, hdr);
    Hartslag__Accepted accepted = HARTSLAG__ACCEPTED__INIT;
    accepted.signal_id = hdr->signal_id;
    accepted.accepted_at_ms = (uint64_t)(int64_t)wire_now_ms();
    accepted.audit_index = submitted;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.version = WIRE_VERSION;
    frame.body_case = HARTSLAG__FRAME__BODY_ACCEPTED;
    frame.accepted = &accepted;
    cr_assert_eq(fb_send(s_fb, &frame), 0);
    (void)s_add(&fl, "delivered", "broker", "gemeente", "politie", hdr);
    uint64_t size = s_checkpoint(&fl);

    /* The daemon asks for its record at the promised index before it
       cosigns; the broker shows what is there, with a valid proof. */
    Hartslag__Frame *asked = s_wait_frame(HARTSLAG__FRAME__BODY_INCLUSION_REQUEST, 10000);
    cr_assert_not_null(asked, "no InclusionRequest:\n%s", dh_log(s_daemon));
    Hartslag__InclusionRequest *request = asked->inclusion_request;
    cr_assert_eq(request->tree_size, size);
    cr_assert_eq(request->n_items, 1);
    cr_assert_str_eq(request->items[0]->event, "accepted");
    cr_assert(request->items[0]->has_index);
    cr_assert_eq(request->items[0]->index, submitted);
    s_answer(&fl, request, HARTSLAG__INCLUSION_STATUS__INCLUSION_FOUND);
    s_expect_refused("wrong_event");

    hartslag__frame__free_unpacked(asked, NULL);
    hartslag__signal_header__free_unpacked(hdr, NULL);
    hartslag__frame__free_unpacked(submit, NULL);
    s_log_close(&fl);
}

Test(inclusion_fake, recipient_refuses_a_log_without_its_delivered_record)
{
    s_politie = bh_client_new(s_bh, "politie", false);
    cr_assert_not_null(s_politie);
    s_daemon = dh_new(s_bh, "gemeente", s_fb->endpoint, NULL);
    cr_assert_not_null(s_daemon);
    cr_assert_eq(dh_start(s_daemon), 0, "%s", dh_log(s_daemon));
    cr_assert_eq(fb_wait_hello(s_fb, 10000, VERSION), 0);
    uint8_t *sealed = NULL, id[16];
    size_t len = 0;
    cr_assert_eq(bh_seal(s_bh, s_politie, "gemeente", "overlast", "casusoverleg", "datum", NULL,
                         &sealed, &len, id),
                 0);
    Hartslag__SealedSignal *signal = hartslag__sealed_signal__unpack(NULL, len, sealed);
    Hartslag__SignalHeader *hdr =
        hartslag__signal_header__unpack(NULL, signal->header.len, signal->header.data);
    cr_assert_not_null(hdr);
    cr_assert_eq(fb_deliver(s_fb, sealed, len), 0);
    Hartslag__Frame *ack = s_wait_frame(HARTSLAG__FRAME__BODY_DELIVERY_ACK, 10000);
    cr_assert_not_null(ack, "no ack:\n%s", dh_log(s_daemon));
    cr_assert_eq(ack->delivery_ack->status, HARTSLAG__ACK_STATUS__ACK_STORED);

    /* The broker records the exchange and the ack, but not `delivered`. */
    fake_log_t fl;
    s_log_open(&fl);
    (void)s_add(&fl, "submitted", "politie", NULL, NULL, hdr);
    (void)s_add(&fl, "accepted", "politie", "gemeente", NULL, hdr);
    (void)s_add(&fl, "acked", "gemeente", "politie", NULL, hdr);
    uint64_t size = s_checkpoint(&fl);

    Hartslag__Frame *asked = s_wait_frame(HARTSLAG__FRAME__BODY_INCLUSION_REQUEST, 10000);
    cr_assert_not_null(asked, "no InclusionRequest:\n%s", dh_log(s_daemon));
    Hartslag__InclusionRequest *request = asked->inclusion_request;
    cr_assert_eq(request->tree_size, size);
    cr_assert_eq(request->n_items, 1);
    cr_assert_str_eq(request->items[0]->event, "delivered");
    cr_assert_not(request->items[0]->has_index, "the recipient was never told the index");
    cr_assert_eq(memcmp(request->items[0]->signal_id.data, id, 16), 0);
    s_answer(&fl, request, HARTSLAG__INCLUSION_STATUS__INCLUSION_ABSENT);
    s_expect_refused("missing");

    hartslag__frame__free_unpacked(asked, NULL);
    hartslag__frame__free_unpacked(ack, NULL);
    hartslag__signal_header__free_unpacked(hdr, NULL);
    hartslag__sealed_signal__free_unpacked(signal, NULL);
    free(sealed);
    s_log_close(&fl);
}

/* ---- the real broker */

static dh_t *s_gemeente;

static void s_setup_real(void)
{
    tu_watchdog(90);
    const char *orgs[] = {"gemeente", "politie", "welzijn"};
    s_bh = bh_new(orgs, 3, bh_default_agreements);
    cr_assert_not_null(s_bh);
    cr_assert_eq(bh_start(s_bh, NULL), 0);
    s_daemon = dh_new(s_bh, "politie", NULL, NULL);
    s_gemeente = dh_new(s_bh, "gemeente", NULL, NULL);
    cr_assert(s_daemon && s_gemeente);
    cr_assert_eq(dh_start(s_daemon), 0);
    cr_assert_eq(dh_start(s_gemeente), 0);
}

static void s_teardown_real(void)
{
    dh_destroy(&s_gemeente);
    s_teardown();
}

TestSuite(inclusion_real, .init = s_setup_real, .fini = s_teardown_real);

/* A number from `hartslag status --json` of `daemon`; -1 when absent. */
static long long s_status_number(dh_t *daemon, const char *key)
{
    char *out = NULL;
    (void)dh_cli(daemon, NULL, &out, NULL, "status", "--json", NULL);
    char needle[64];
    snprintf(needle, sizeof needle, "\"%s\":", key);
    const char *at = out ? strstr(out, needle) : NULL;
    long long value = at ? strtoll(at + strlen(needle), NULL, 10) : -1;
    free(out);
    return value;
}

/* One number from the broker's store. */
static long long s_broker_sql(const char *sql)
{
    char *out = NULL;
    cr_assert_eq(bh_query(s_bh, sql, &out), 0, "%s", sql);
    long long value = strtoll(out, NULL, 10);
    free(out);
    return value;
}

Test(inclusion_real, both_daemons_prove_their_records_then_cosign)
{
    const char *fields[] = {"datum=2026-11-28", NULL};
    char id[33];
    cr_assert_eq(dh_send(s_daemon, "gemeente,welzijn", "overlast", "casusoverleg", "111222333",
                         fields, NULL, true, id),
                 0);
    cr_assert(dh_wait_inbox(s_gemeente, 1, 10000));
    /* Every record each daemon expects gets proven: the sender's two
       `accepted`, the recipient's `delivered`. welzijn has no daemon: its
       delivery stays pending, which concerns no daemon here. */
    bool proven = false;
    for (int i = 0; i < 100 && !proven; i++) {
        proven = s_status_number(s_daemon, "records_unproven") == 0 &&
                 s_status_number(s_gemeente, "records_unproven") == 0;
        if (!proven)
            usleep(100000);
    }
    cr_assert(proven, "records stay unproven:\n%s\n%s", dh_log(s_daemon), dh_log(s_gemeente));
    cr_assert_eq(s_status_number(s_daemon, "records_refused"), 0);
    cr_assert_eq(s_status_number(s_gemeente, "records_refused"), 0);
    /* ...and after the proofs both cosigned a checkpoint that holds the
       `delivered` record, the last of the exchange. */
    long long last = s_broker_sql("SELECT max(idx) FROM audit;");
    bool cosigned = false;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(DISTINCT org) FROM cosignatures WHERE size > %lld;",
             last);
    for (int i = 0; i < 50 && !cosigned; i++) {
        cosigned = s_broker_sql(sql) == 2;
        if (!cosigned)
            usleep(100000);
    }
    cr_assert(cosigned, "no cosignature covers the exchange");
    char db[4600];
    snprintf(db, sizeof db, "%s/hartslagd.db", s_gemeente->state);
    char *argv[] = {"/usr/bin/sqlite3", db,
                    "SELECT (SELECT count(*) FROM inclusion) || '/' || "
                    "(SELECT count(*) FROM inclusion_evidence);",
                    NULL};
    char *out = NULL;
    cr_assert_eq(tu_run(argv, NULL, &out, NULL), 0);
    cr_assert_str_eq(out, "0/0\n", "proven rows go, nothing refused");
    free(out);
}
