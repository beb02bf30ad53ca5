/*  audit_log + audit_verify: the transparency log in SQLite, and the tamper
    suite over a 10,000-record log: every kind of tampering is detected
    with the right first bad index; intact logs raise no alarm.

    HARTSLAG_TAMPER_SCALE (percent, default 100) shrinks the sampled cases;
    the ASan build of `make check` runs at 10 so it stays quick. */
#include "audit_log.h"
#include "audit_verify.h"
#include "checkpoint.h"

#include "testutil.h"
#include "tu_db.h"
#include <criterion/criterion.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORIGIN "hartslag.test-partnership/audit"
#define LOG_SIZE 10000

static unsigned char s_pk[32], s_sk[64];

static int s_scale(int cases)
{
    const char *env = getenv("HARTSLAG_TAMPER_SCALE");
    long pct = env ? strtol(env, NULL, 10) : 100;
    if (pct < 1 || pct > 100)
        pct = 100;
    int n = (int)(cases * pct / 100);
    return n > 0 ? n : 1;
}

static const char *s_events[] = {"submitted", "accepted", "delivered", "acked", "denied"};

/* A fresh in-memory store with `n` records and a checkpoint every `every`
   records and at the end. */
static sqlite3 *s_build(uint64_t n, uint64_t every, audit_log_t **log_out)
{
    cr_assert(sodium_init() >= 0);
    crypto_sign_seed_keypair(s_pk, s_sk, (const unsigned char *)"0123456789abcdef0123456789abcdef");
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
    char err[512];
    audit_log_t *log = audit_log_open(tu_db(db), ORIGIN, true, err, sizeof err);
    cr_assert_not_null(log, "%s", err);
    cr_assert_eq(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    uint8_t id[16], subject[32];
    for (uint64_t i = 0; i < n; i++) {
        Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
        randombytes_buf(id, sizeof id);
        memset(subject, (int)(i % 7), sizeof subject);
        record.time_ms = 1764400000000ull + i;
        record.event = (char *)s_events[i % 5];
        record.actor_org = i % 2 ? "politie" : "gemeente";
        record.counterpart_org = i % 2 ? "welzijn" : "politie";
        record.has_signal_id = 1;
        record.signal_id.data = id;
        record.signal_id.len = 16;
        record.signal_type = "overlast";
        record.purpose = "casusoverleg";
        record.has_subject = 1;
        record.subject.data = subject;
        record.subject.len = 32;
        record.outcome = "ok";
        cr_assert_eq(audit_log_append(log, &record), (int64_t)i);
        if (every && (i + 1) % every == 0)
            cr_assert_eq(audit_log_checkpoint(log, s_sk, 0), 0);
    }
    if (n % (every ? every : 1) != 0 || every == 0)
        cr_assert_eq(audit_log_checkpoint(log, s_sk, 0), 0);
    cr_assert_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    audit_log_commit(log);
    *log_out = log;
    return db;
}

static void s_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s: %s", sql, msg ? msg : "");
}

/* Runs verify; expects `kind` at `first_bad`. */
static void s_expect(sqlite3 *db, const audit_anchor_t *anchors, size_t n, audit_fault_kind_t kind,
                     int64_t first_bad, const char *what)
{
    audit_report_t report;
    int rc = audit_verify(tu_db(db), s_pk, anchors, n, &report);
    cr_assert_eq(rc, kind == AUDIT_OK ? 0 : 1, "%s: rc %d (%s)", what, rc, report.detail);
    cr_assert_eq(report.kind, kind, "%s: got %s, want %s (%s)", what, audit_fault_name(report.kind),
                 audit_fault_name(kind), report.detail);
    if (first_bad >= -1)
        cr_assert_eq(report.first_bad, first_bad, "%s: first bad %lld, want %lld (%s)", what,
                     (long long)report.first_bad, (long long)first_bad, report.detail);
}

/* The final checkpoint as a daemon would hold it. */
static audit_anchor_t s_anchor(audit_log_t *log, char *note, size_t *len)
{
    uint64_t size;
    cr_assert_eq(audit_log_latest_note(log, note, len, &size), 0);
    audit_anchor_t anchor = {"politie", note, *len};
    return anchor;
}

static uint8_t *s_record(sqlite3 *db, int64_t idx, int *len)
{
    sqlite3_stmt *stmt;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT record FROM audit WHERE idx=?1", -1, &stmt, NULL),
                 SQLITE_OK);
    sqlite3_bind_int64(stmt, 1, idx);
    cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW);
    *len = sqlite3_column_bytes(stmt, 0);
    uint8_t *bytes = malloc((size_t)*len);
    memcpy(bytes, sqlite3_column_blob(stmt, 0), (size_t)*len);
    sqlite3_finalize(stmt);
    return bytes;
}

static void s_put_record(sqlite3 *db, int64_t idx, const uint8_t *bytes, int len)
{
    sqlite3_stmt *stmt;
    cr_assert_eq(sqlite3_prepare_v2(db, "UPDATE audit SET record=?2 WHERE idx=?1", -1, &stmt, NULL),
                 SQLITE_OK);
    sqlite3_bind_int64(stmt, 1, idx);
    sqlite3_bind_blob(stmt, 2, bytes, len, SQLITE_TRANSIENT);
    cr_assert_eq(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
}

Test(audit_log, append_proofs_and_reopen)
{
    audit_log_t *log = NULL;
    sqlite3 *db = s_build(1000, 100, &log);
    cr_assert_eq(audit_log_size(log), 1000);
    unsigned char root[32], root_at[32];
    audit_log_root(log, root);
    cr_assert_eq(audit_log_root_at(log, 1000, root_at), 0);
    cr_assert_eq(memcmp(root, root_at, 32), 0);
    /* Inclusion of every 37th record against the latest checkpoint. */
    char note[CHECKPOINT_NOTE_MAX + 1];
    size_t len;
    uint64_t size;
    cr_assert_eq(audit_log_latest_note(log, note, &len, &size), 0);
    checkpoint_t cp;
    cr_assert_eq(checkpoint_open(note, len, ORIGIN, s_pk, &cp), CHECKPOINT_OK);
    cr_assert_eq(cp.size, 1000);
    for (uint64_t i = 0; i < 1000; i += 37) {
        unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES], leaf[32];
        size_t n;
        uint8_t *bytes;
        size_t blen;
        cr_assert_eq(audit_log_inclusion_proof(log, i, cp.size, proof, &n), 0);
        cr_assert_eq(audit_log_record(log, i, &bytes, &blen), 0);
        merkle_leaf_hash(bytes, blen, leaf);
        cr_assert_eq(merkle_verify_inclusion(leaf, i, cp.size, (const unsigned char(*)[32])proof, n,
                                             cp.root),
                     0);
        free(bytes);
    }
    /* Consistency between every stored checkpoint and the latest. */
    for (uint64_t old = 100; old < 1000; old += 100) {
        unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES], old_root[32];
        size_t n;
        cr_assert_eq(audit_log_note_at(log, old, note, &len), 0);
        checkpoint_t old_cp;
        cr_assert_eq(checkpoint_open(note, len, ORIGIN, s_pk, &old_cp), CHECKPOINT_OK);
        cr_assert_eq(audit_log_root_at(log, old, old_root), 0);
        cr_assert_eq(memcmp(old_root, old_cp.root, 32), 0);
        cr_assert_eq(audit_log_consistency_proof(log, old, 1000, proof, &n), 0);
        cr_assert_eq(merkle_verify_consistency(old, 1000, old_cp.root, cp.root,
                                               (const unsigned char(*)[32])proof, n),
                     0);
    }
    /* Reopen: the tree is restored from the store and appends continue. */
    audit_log_destroy(&log);
    char err[512];
    log = audit_log_open(tu_db(db), ORIGIN, true, err, sizeof err);
    cr_assert_not_null(log, "%s", err);
    cr_assert_eq(audit_log_size(log), 1000);
    audit_log_root(log, root_at);
    cr_assert_eq(memcmp(root, root_at, 32), 0);
    cr_assert_null(audit_log_open(tu_db(db), "hartslag.other/audit", true, err, sizeof err));
    cr_assert(strstr(err, "belongs to"), "%s", err);
    /* A rolled back append leaves no trace in the tree. */
    s_exec(db, "BEGIN");
    Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
    record.time_ms = 1;
    record.event = "accepted";
    record.actor_org = "politie";
    record.outcome = "ok";
    cr_assert_eq(audit_log_append(log, &record), 1000);
    s_exec(db, "ROLLBACK");
    audit_log_rollback(log);
    cr_assert_eq(audit_log_size(log), 1000);
    audit_log_root(log, root_at);
    cr_assert_eq(memcmp(root, root_at, 32), 0);
    audit_report_t report;
    cr_assert_eq(audit_verify(tu_db(db), s_pk, NULL, 0, &report), 0, "%s", report.detail);
    cr_assert_eq(report.records, 1000);
    cr_assert_eq(report.checkpoints, 10);
    audit_log_destroy(&log);
    tu_sqlite_close(db);
}

/* The node cache keeps subtrees of 16 leaves and up; proofs that need the
   smaller ones (every record of a 100-record log) recompute them. */
Test(audit_log, node_cache_holds_large_subtrees_only)
{
    audit_log_t *log = NULL;
    sqlite3 *db = s_build(100, 100, &log);
    sqlite3_stmt *stmt;
    cr_assert_eq(
        sqlite3_prepare_v2(db, "SELECT min(level), count(*) FROM audit_nodes", -1, &stmt, NULL),
        SQLITE_OK);
    cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(stmt, 0), 4, "the smallest cached subtree has 16 leaves");
    cr_assert_eq(sqlite3_column_int(stmt, 1), 6 + 3 + 1, "levels 4, 5, 6 of 100 leaves");
    sqlite3_finalize(stmt);
    unsigned char root[32];
    audit_log_root(log, root);
    for (uint64_t i = 0; i < 100; i++) {
        unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES], leaf[32];
        size_t n;
        uint8_t *bytes;
        size_t blen;
        cr_assert_eq(audit_log_inclusion_proof(log, i, 100, proof, &n), 0);
        cr_assert_eq(audit_log_record(log, i, &bytes, &blen), 0);
        merkle_leaf_hash(bytes, blen, leaf);
        cr_assert_eq(
            merkle_verify_inclusion(leaf, i, 100, (const unsigned char(*)[32])proof, n, root), 0,
            "record %llu", (unsigned long long)i);
        free(bytes);
    }
    audit_log_destroy(&log);
    tu_sqlite_close(db);
}

/* The audit log keeps recent hashes in memory (hash_cache.h), filled
   inside transactions: after a rollback, the indexes the rolled-back
   records had go to other records, and every proof must verify against
   the tree as committed. */
Test(audit_log, proofs_after_a_rollback_use_the_new_records)
{
    audit_log_t *log = NULL;
    sqlite3 *db = s_build(64, 64, &log);
    for (int round = 0; round < 2; round++) {
        s_exec(db, "BEGIN");
        for (int i = 0; i < 40; i++) {
            Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
            record.time_ms = 1764500000000ull + (uint64_t)(round * 1000 + i);
            record.event = round == 0 ? "denied" : "accepted";
            record.actor_org = "politie";
            record.outcome = "ok";
            cr_assert_eq(audit_log_append(log, &record), 64 + i);
        }
        /* proofs inside the transaction fill the cache with its hashes */
        unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES];
        size_t n;
        cr_assert_eq(audit_log_inclusion_proof(log, 70, 104, proof, &n), 0);
        if (round == 0) {
            s_exec(db, "ROLLBACK");
            audit_log_rollback(log);
        } else {
            s_exec(db, "COMMIT");
            audit_log_commit(log);
        }
    }
    unsigned char root[32];
    audit_log_root(log, root);
    for (uint64_t i = 0; i < 104; i++) {
        unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES], leaf[32];
        size_t n;
        uint8_t *bytes;
        size_t blen;
        cr_assert_eq(audit_log_inclusion_proof(log, i, 104, proof, &n), 0);
        cr_assert_eq(audit_log_record(log, i, &bytes, &blen), 0);
        merkle_leaf_hash(bytes, blen, leaf);
        cr_assert_eq(
            merkle_verify_inclusion(leaf, i, 104, (const unsigned char(*)[32])proof, n, root), 0,
            "record %llu", (unsigned long long)i);
        free(bytes);
    }
    audit_report_t report;
    cr_assert_eq(audit_verify(tu_db(db), s_pk, NULL, 0, &report), 0, "%s", report.detail);
    audit_log_destroy(&log);
    tu_sqlite_close(db);
}

Test(audit_log, no_false_alarm_on_intact_logs)
{
    tu_watchdog(300);
    int logs = s_scale(100);
    for (int i = 0; i < logs; i++) {
        audit_log_t *log = NULL;
        uint64_t n = 1 + (uint64_t)randombytes_uniform(2000);
        sqlite3 *db = s_build(n, 1 + randombytes_uniform(500), &log);
        char note[CHECKPOINT_NOTE_MAX + 1];
        size_t len;
        audit_anchor_t anchor = s_anchor(log, note, &len);
        s_expect(db, &anchor, 1, AUDIT_OK, -1, "intact log");
        audit_log_destroy(&log);
        tu_sqlite_close(db);
    }
}

/* The tamper suite shares one 10,000-record log; each case runs inside a
   savepoint that is rolled back. */
static sqlite3 *s_db;
static audit_log_t *s_log;
static char s_note[CHECKPOINT_NOTE_MAX + 1];
static audit_anchor_t s_daemon;

static void s_suite_setup(void)
{
    tu_watchdog(900);
    s_db = s_build(LOG_SIZE, 1000, &s_log);
    size_t len;
    s_daemon = s_anchor(s_log, s_note, &len);
}

static void s_suite_teardown(void)
{
    audit_log_destroy(&s_log);
    tu_sqlite_close(s_db);
}

TestSuite(tamper, .init = s_suite_setup, .fini = s_suite_teardown);

Test(tamper, single_byte_changes)
{
    int cases = s_scale(10000);
    for (int c = 0; c < cases; c++) {
        int64_t idx = (int64_t)randombytes_uniform(LOG_SIZE);
        int len;
        uint8_t *bytes = s_record(s_db, idx, &len);
        uint32_t pos = randombytes_uniform((uint32_t)len);
        bytes[pos] ^= (uint8_t)(1 + randombytes_uniform(255));
        s_exec(s_db, "SAVEPOINT t");
        s_put_record(s_db, idx, bytes, len);
        char what[64];
        snprintf(what, sizeof what, "byte %u of record %lld", pos, (long long)idx);
        s_expect(s_db, &s_daemon, 1, AUDIT_MODIFIED, idx, what);
        s_exec(s_db, "ROLLBACK TO t; RELEASE t");
        free(bytes);
    }
}

Test(tamper, truncation_at_every_record_boundary)
{
    int step = LOG_SIZE / s_scale(LOG_SIZE);
    for (int64_t k = 0; k < LOG_SIZE; k += step) {
        char sql[160];
        s_exec(s_db, "SAVEPOINT t");
        /* The operator also removes the store's checkpoints beyond k. */
        snprintf(sql, sizeof sql,
                 "DELETE FROM audit WHERE idx >= %lld; DELETE FROM checkpoints WHERE size > %lld",
                 (long long)k, (long long)k);
        s_exec(s_db, sql);
        s_expect(s_db, &s_daemon, 1, AUDIT_TRUNCATED, k, "truncation");
        s_exec(s_db, "ROLLBACK TO t; RELEASE t");
    }
}

Test(tamper, reorders)
{
    for (int c = 0; c < s_scale(1000); c++) {
        int64_t i = (int64_t)randombytes_uniform(LOG_SIZE - 1);
        int64_t j = i + 1 + (int64_t)randombytes_uniform((uint32_t)(LOG_SIZE - 1 - i));
        int li, lj;
        uint8_t *a = s_record(s_db, i, &li), *b = s_record(s_db, j, &lj);
        s_exec(s_db, "SAVEPOINT t");
        s_put_record(s_db, i, b, lj);
        s_put_record(s_db, j, a, li);
        s_expect(s_db, &s_daemon, 1, AUDIT_REORDERED, i, "swap");
        s_exec(s_db, "ROLLBACK TO t; RELEASE t");
        free(a);
        free(b);
    }
}

Test(tamper, deletions)
{
    for (int c = 0; c < s_scale(1000); c++) {
        int64_t i = (int64_t)randombytes_uniform(LOG_SIZE);
        char sql[200];
        s_exec(s_db, "SAVEPOINT t");
        /* Half the cases renumber the rows after it, half leave a gap. */
        if (c % 2)
            snprintf(sql, sizeof sql,
                     "DELETE FROM audit WHERE idx=%lld; UPDATE audit SET idx=idx-1 WHERE idx>%lld",
                     (long long)i, (long long)i);
        else
            snprintf(sql, sizeof sql, "DELETE FROM audit WHERE idx=%lld", (long long)i);
        s_exec(s_db, sql);
        s_expect(s_db, &s_daemon, 1, i == LOG_SIZE - 1 ? AUDIT_TRUNCATED : AUDIT_MISSING, i,
                 "deletion");
        s_exec(s_db, "ROLLBACK TO t; RELEASE t");
    }
}

Test(tamper, duplications)
{
    for (int c = 0; c < s_scale(1000); c++) {
        int64_t i = (int64_t)randombytes_uniform(LOG_SIZE);
        char sql[300];
        s_exec(s_db, "SAVEPOINT t");
        /* A copy of record i inserted right after it (later rows move up). */
        snprintf(sql, sizeof sql,
                 "UPDATE audit SET idx=-idx-2 WHERE idx>%lld; UPDATE audit SET idx=-idx-1 WHERE "
                 "idx<0; INSERT INTO audit(idx, record, leaf) SELECT %lld+1, record, leaf FROM "
                 "audit WHERE idx=%lld",
                 (long long)i, (long long)i, (long long)i);
        s_exec(s_db, sql);
        s_expect(s_db, &s_daemon, 1, AUDIT_DUPLICATED, i + 1, "duplication");
        s_exec(s_db, "ROLLBACK TO t; RELEASE t");
    }
}

Test(tamper, forged_checkpoint)
{
    /* A checkpoint not signed by the log key. */
    unsigned char pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    checkpoint_t cp;
    memset(&cp, 0, sizeof cp);
    snprintf(cp.origin, sizeof cp.origin, ORIGIN);
    cp.size = LOG_SIZE + 5;
    randombytes_buf(cp.root, sizeof cp.root);
    char note[CHECKPOINT_NOTE_MAX + 1];
    size_t len;
    cr_assert_eq(checkpoint_sign(&cp, sk, note, sizeof note, &len), CHECKPOINT_OK);
    s_exec(s_db, "SAVEPOINT t");
    sqlite3_stmt *stmt;
    cr_assert_eq(sqlite3_prepare_v2(s_db,
                                    "INSERT INTO checkpoints(size, note, made_ms) "
                                    "VALUES(?1, ?2, 0)",
                                    -1, &stmt, NULL),
                 SQLITE_OK);
    sqlite3_bind_int64(stmt, 1, (int64_t)cp.size);
    sqlite3_bind_text(stmt, 2, note, (int)len, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    s_expect(s_db, &s_daemon, 1, AUDIT_BAD_SIGNATURE, -1, "forged checkpoint");
    s_exec(s_db, "ROLLBACK TO t; RELEASE t");
    /* One byte of a stored note changed. */
    s_exec(s_db, "SAVEPOINT t");
    s_exec(s_db, "UPDATE checkpoints SET note=replace(note, '5000', '5001') WHERE size=5000");
    s_expect(s_db, &s_daemon, 1, AUDIT_BAD_SIGNATURE, -1, "altered checkpoint");
    s_exec(s_db, "ROLLBACK TO t; RELEASE t");
    /* The untouched log still verifies. */
    s_expect(s_db, &s_daemon, 1, AUDIT_OK, -1, "intact");
}

Test(tamper, truncate_and_continue)
{
    /* The operator truncates to k and writes a new history with the log key
       (which it holds), new checkpoints and all. Only the daemons' copies
       of the old checkpoints can tell. */
    uint64_t k = 6000;
    char err[512];
    s_exec(s_db, "SAVEPOINT t");
    char sql[200];
    snprintf(sql, sizeof sql, "DELETE FROM audit WHERE idx >= %llu", (unsigned long long)k);
    s_exec(s_db, sql);
    snprintf(sql, sizeof sql, "DELETE FROM checkpoints WHERE size > %llu", (unsigned long long)k);
    s_exec(s_db, sql);
    s_exec(s_db, "DELETE FROM audit_nodes");
    /* A thorough operator also drops the subject index rows (else verify
       names them: index). */
    snprintf(sql, sizeof sql, "DELETE FROM audit_subjects WHERE idx >= %llu",
             (unsigned long long)k);
    s_exec(s_db, sql);
    audit_log_t *rewriter = audit_log_open(tu_db(s_db), ORIGIN, true, err, sizeof err);
    cr_assert_not_null(rewriter, "%s", err);
    for (uint64_t i = k; i < LOG_SIZE + 100; i++) {
        Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
        record.time_ms = 2;
        record.event = "accepted";
        record.actor_org = "gemeente";
        record.outcome = "ok";
        cr_assert_eq(audit_log_append(rewriter, &record), (int64_t)i);
    }
    cr_assert_eq(audit_log_checkpoint(rewriter, s_sk, 0), 0);
    /* Without the daemons' checkpoints the rewrite is consistent... */
    s_expect(s_db, NULL, 0, AUDIT_OK, -1, "rewrite without outside checkpoints");
    /* ...with them it is not: placed between the last matching checkpoint
       (6000, from the store) and the daemon's (10,000). */
    audit_report_t report;
    cr_assert_eq(audit_verify(tu_db(s_db), s_pk, &s_daemon, 1, &report), 1);
    cr_assert_eq(report.kind, AUDIT_REWRITTEN, "%s", report.detail);
    cr_assert_eq(report.first_bad, (int64_t)k, "%s", report.detail);
    cr_assert_eq(report.range_end, LOG_SIZE);
    audit_log_destroy(&rewriter);
    s_exec(s_db, "ROLLBACK TO t; RELEASE t");
}

Test(tamper, fork_between_two_daemons)
{
    /* Two histories of equal length signed with the log key: daemon A got
       one, daemon B the other. */
    audit_log_t *other_log = NULL;
    sqlite3 *other = s_build(LOG_SIZE, 1000, &other_log);
    char note_b[CHECKPOINT_NOTE_MAX + 1];
    size_t len_b;
    audit_anchor_t b = s_anchor(other_log, note_b, &len_b);
    b.holder = "welzijn";
    audit_anchor_t both[2] = {s_daemon, b};
    s_expect(s_db, both, 2, AUDIT_FORKED, -1, "fork");
    audit_log_destroy(&other_log);
    tu_sqlite_close(other);
}

Test(audit_log, retention_purge_keeps_the_tree_verifiable)
{
    audit_log_t *log = NULL;
    sqlite3 *db = s_build(500, 100, &log); /* times 1764400000000 + i */
    char note[CHECKPOINT_NOTE_MAX + 1];
    size_t len;
    audit_anchor_t anchor = s_anchor(log, note, &len);
    /* Purge the 300 oldest records, and record the purge. */
    uint64_t purged_before = 0;
    s_exec(db, "BEGIN");
    cr_assert_eq(audit_log_purge(log, 1764400000000ll + 300, &purged_before), 0);
    cr_assert_eq(purged_before, 300);
    Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
    record.time_ms = 1764400009999ull;
    record.event = "purged";
    record.actor_org = "broker";
    record.outcome = "ok";
    record.has_purged_before = 1;
    record.purged_before = purged_before;
    cr_assert_eq(audit_log_append(log, &record), 500);
    cr_assert_eq(audit_log_checkpoint(log, s_sk, 0), 0);
    s_exec(db, "COMMIT");
    audit_log_commit(log);
    /* The bytes are gone; the old checkpoint and the new still verify. */
    sqlite3_stmt *stmt;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM audit WHERE length(record)=0", -1,
                                    &stmt, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(stmt, 0), 300);
    sqlite3_finalize(stmt);
    s_expect(db, &anchor, 1, AUDIT_OK, -1, "after a purge");
    /* A second purge with nothing old enough does nothing. */
    s_exec(db, "BEGIN");
    cr_assert_eq(audit_log_purge(log, 1764400000000ll + 300, &purged_before), 0);
    cr_assert_eq(purged_before, 0);
    s_exec(db, "ROLLBACK");
    audit_log_rollback(log);
    /* Emptying records beyond the declared purge is tampering. */
    s_exec(db, "SAVEPOINT t; UPDATE audit SET record=zeroblob(0) WHERE idx < 320");
    s_expect(db, &anchor, 1, AUDIT_MODIFIED, 300, "emptied beyond the purge");
    s_exec(db, "ROLLBACK TO t; RELEASE t");
    /* So is emptying a record in the middle. */
    s_exec(db, "SAVEPOINT t; UPDATE audit SET record=zeroblob(0) WHERE idx = 400");
    s_expect(db, &anchor, 1, AUDIT_MODIFIED, 400, "emptied in the middle");
    s_exec(db, "ROLLBACK TO t; RELEASE t");
    /* And a purge without its record. */
    s_exec(db, "SAVEPOINT t; DELETE FROM audit WHERE idx = 500; DELETE FROM checkpoints WHERE "
               "size = 501");
    s_expect(db, &anchor, 1, AUDIT_MODIFIED, 0, "purge not recorded");
    s_exec(db, "ROLLBACK TO t; RELEASE t");
    audit_log_destroy(&log);
    tu_sqlite_close(db);
}
