/*  audit_inclusion: a record is accepted as the one a partner expects only
    when its proof holds at the checkpoint, it carries its own index and
    every field the partner knows matches (issue 18 A2). The log is a real
    audit_log in memory. */
#include "audit_inclusion.h"
#include "audit_log.h"
#include "tu_db.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static sqlite3 *s_db;
static audit_log_t *s_log;
static uint8_t s_id[16], s_other_id[16], s_subject[32];
static checkpoint_t s_cp;

static uint64_t s_add(const char *event, const char *actor, const char *counterpart,
                      const char *on_behalf_of, const uint8_t *id)
{
    Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
    record.time_ms = 1700000000000ull;
    record.event = (char *)event;
    record.actor_org = (char *)actor;
    record.counterpart_org = (char *)counterpart;
    record.on_behalf_of = (char *)on_behalf_of;
    record.has_signal_id = 1;
    record.signal_id.data = (uint8_t *)id;
    record.signal_id.len = 16;
    record.signal_type = "overlast";
    record.purpose = "casusoverleg";
    record.has_subject = 1;
    record.subject.data = s_subject;
    record.subject.len = 32;
    record.outcome = "ok";
    int64_t index = audit_log_append(s_log, &record);
    cr_assert_geq(index, 0);
    return (uint64_t)index;
}

static void s_setup(void)
{
    cr_assert_geq(sodium_init(), 0);
    randombytes_buf(s_id, sizeof s_id);
    randombytes_buf(s_other_id, sizeof s_other_id);
    randombytes_buf(s_subject, sizeof s_subject);
    cr_assert_eq(sqlite3_open(":memory:", &s_db), SQLITE_OK);
    char err[256];
    s_log = audit_log_open(tu_db(s_db), "hartslag.t/audit", true, err, sizeof err);
    cr_assert_not_null(s_log, "%s", err);
    (void)s_add("submitted", "politie", NULL, NULL, s_id);             /* 0 */
    (void)s_add("accepted", "politie", "gemeente", NULL, s_id);        /* 1 */
    (void)s_add("accepted", "politie", "welzijn", NULL, s_id);         /* 2 */
    (void)s_add("accepted", "woonpunt", "gemeente", NULL, s_other_id); /* 3 */
    (void)s_add("delivered", "broker", "gemeente", "politie", s_id);   /* 4 */
    (void)s_add("acked", "gemeente", "politie", NULL, s_id);           /* 5 */
    audit_log_commit(s_log);
    s_cp.size = audit_log_size(s_log);
    audit_log_root(s_log, s_cp.root);
}

static void s_teardown(void)
{
    audit_log_destroy(&s_log);
    tu_sqlite_close(s_db);
}

TestSuite(audit_inclusion, .init = s_setup, .fini = s_teardown);

/* Checks record `index` as proven at the checkpoint against `want`. */
static int s_check(const audit_expect_t *want, uint64_t index, const char **why)
{
    uint8_t *record = NULL;
    size_t len = 0, n = 0;
    unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES];
    cr_assert_eq(audit_log_record(s_log, index, &record, &len), 0);
    cr_assert_eq(audit_log_inclusion_proof(s_log, index, s_cp.size, proof, &n), 0);
    int rc = audit_inclusion_check(want, &s_cp, index, record, len,
                                   (const unsigned char(*)[MERKLE_HASHBYTES])proof, n, why);
    free(record);
    return rc;
}

static audit_expect_t s_accepted_by_politie(const char *recipient)
{
    audit_expect_t want = {.event = "accepted",
                           .actor = "politie",
                           .counterpart = recipient,
                           .signal_id = s_id,
                           .signal_type = "overlast",
                           .purpose = "casusoverleg",
                           .subject = s_subject};
    return want;
}

Test(audit_inclusion, the_senders_and_the_recipients_records_are_proven)
{
    const char *why = NULL;
    audit_expect_t want = s_accepted_by_politie("gemeente");
    cr_assert_eq(s_check(&want, 1, &why), 0, "%s", why);
    want = s_accepted_by_politie("welzijn");
    cr_assert_eq(s_check(&want, 2, &why), 0, "%s", why);
    audit_expect_t delivered = {.event = "delivered",
                                .actor = "broker",
                                .counterpart = "gemeente",
                                .on_behalf_of = "politie",
                                .signal_id = s_id,
                                .signal_type = "overlast",
                                .purpose = "casusoverleg",
                                .subject = s_subject};
    cr_assert_eq(s_check(&delivered, 4, &why), 0, "%s", why);
}

Test(audit_inclusion, another_record_at_the_index_is_named)
{
    const char *why = NULL;
    audit_expect_t want = s_accepted_by_politie("gemeente");
    cr_assert_eq(s_check(&want, 0, &why), -1);
    cr_assert_str_eq(why, "wrong_event");
    cr_assert_eq(s_check(&want, 2, &why), -1);
    cr_assert_str_eq(why, "wrong_counterpart");
    cr_assert_eq(s_check(&want, 3, &why), -1);
    cr_assert_str_eq(why, "wrong_actor");
    want.actor = "woonpunt";
    cr_assert_eq(s_check(&want, 3, &why), -1);
    cr_assert_str_eq(why, "wrong_signal");
    want = s_accepted_by_politie("gemeente");
    want.purpose = "zorgcoordinatie";
    cr_assert_eq(s_check(&want, 1, &why), -1);
    cr_assert_str_eq(why, "wrong_purpose");
    want = s_accepted_by_politie("gemeente");
    want.signal_type = "zorgmelding";
    cr_assert_eq(s_check(&want, 1, &why), -1);
    cr_assert_str_eq(why, "wrong_signal_type");
    uint8_t subject[32];
    memcpy(subject, s_subject, 32);
    subject[31] ^= 1;
    want = s_accepted_by_politie("gemeente");
    want.subject = subject;
    cr_assert_eq(s_check(&want, 1, &why), -1);
    cr_assert_str_eq(why, "wrong_subject");
    audit_expect_t delivered = {.event = "delivered",
                                .actor = "broker",
                                .counterpart = "gemeente",
                                .on_behalf_of = "woonpunt",
                                .signal_id = s_id};
    cr_assert_eq(s_check(&delivered, 4, &why), -1);
    cr_assert_str_eq(why, "wrong_on_behalf_of");
}

Test(audit_inclusion, a_proof_that_does_not_hold_is_refused)
{
    uint8_t *record = NULL;
    size_t len = 0, n = 0;
    unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES];
    cr_assert_eq(audit_log_record(s_log, 1, &record, &len), 0);
    cr_assert_eq(audit_log_inclusion_proof(s_log, 1, s_cp.size, proof, &n), 0);
    audit_expect_t want = s_accepted_by_politie("gemeente");
    const char *why = NULL;
    /* The record claimed at another index: the path does not lead to the root. */
    cr_assert_eq(audit_inclusion_check(&want, &s_cp, 2, record, len,
                                       (const unsigned char(*)[MERKLE_HASHBYTES])proof, n, &why),
                 -1);
    cr_assert_str_eq(why, "bad_proof");
    /* A changed hash in the path. */
    proof[0][0] ^= 1;
    cr_assert_eq(audit_inclusion_check(&want, &s_cp, 1, record, len,
                                       (const unsigned char(*)[MERKLE_HASHBYTES])proof, n, &why),
                 -1);
    cr_assert_str_eq(why, "bad_proof");
    proof[0][0] ^= 1;
    /* A changed byte of the record. */
    record[len - 1] ^= 1;
    cr_assert_eq(audit_inclusion_check(&want, &s_cp, 1, record, len,
                                       (const unsigned char(*)[MERKLE_HASHBYTES])proof, n, &why),
                 -1);
    cr_assert_str_eq(why, "bad_proof");
    record[len - 1] ^= 1;
    /* Another checkpoint's root. */
    checkpoint_t other = s_cp;
    other.root[5] ^= 1;
    cr_assert_eq(audit_inclusion_check(&want, &other, 1, record, len,
                                       (const unsigned char(*)[MERKLE_HASHBYTES])proof, n, &why),
                 -1);
    cr_assert_str_eq(why, "bad_proof");
    /* Empty, oversized. */
    cr_assert_eq(audit_inclusion_check(&want, &s_cp, 1, record, 0, NULL, 0, &why), -1);
    cr_assert_str_eq(why, "unreadable_record");
    cr_assert_eq(
        audit_inclusion_check(&want, &s_cp, 1, record, AUDIT_RECORD_MAX + 1, NULL, 0, &why), -1);
    cr_assert_str_eq(why, "unreadable_record");
    free(record);
}

Test(audit_inclusion, a_record_that_names_another_index_is_refused)
{
    /* A one-leaf tree whose only record says it is record 7: the proof
       holds, the record lies about its place. */
    Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
    record.time_ms = 1;
    record.event = "accepted";
    record.actor_org = "politie";
    record.counterpart_org = "gemeente";
    record.has_signal_id = 1;
    record.signal_id.data = s_id;
    record.signal_id.len = 16;
    record.outcome = "ok";
    record.index = 7;
    uint8_t zero[32] = {0};
    record.prev_hash.data = zero;
    record.prev_hash.len = 32;
    uint8_t bytes[512];
    size_t len = hartslag__audit_record__pack(&record, bytes);
    checkpoint_t cp = {.size = 1};
    merkle_leaf_hash(bytes, len, cp.root);
    audit_expect_t want = {.event = "accepted", .actor = "politie", .signal_id = s_id};
    const char *why = NULL;
    cr_assert_eq(audit_inclusion_check(&want, &cp, 0, bytes, len, NULL, 0, &why), -1);
    cr_assert_str_eq(why, "wrong_index");
    record.index = 0;
    len = hartslag__audit_record__pack(&record, bytes);
    merkle_leaf_hash(bytes, len, cp.root);
    cr_assert_eq(audit_inclusion_check(&want, &cp, 0, bytes, len, NULL, 0, &why), 0, "%s", why);
    /* Bytes that are no record, under a root that commits to them. */
    const uint8_t junk[] = {0xff, 0xff, 0xff};
    merkle_leaf_hash(junk, sizeof junk, cp.root);
    cr_assert_eq(audit_inclusion_check(&want, &cp, 0, junk, sizeof junk, NULL, 0, &why), -1);
    cr_assert_str_eq(why, "unreadable_record");
}
