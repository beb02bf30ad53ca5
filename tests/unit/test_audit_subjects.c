/*  audit_subjects: the audit log's subject index. Written by
    audit_log_append, backfilled on open, pruned by purge, checked by
    audit_verify; and the answer it leads to is the full walk's answer
    (the oracle here unpacks every record with protobuf-c, as the
    pre-index reader did). */
#include "audit_log.h"
#include "audit_store.h"
#include "audit_subjects.h"
#include "audit_verify.h"

#include "testutil.h"
#include "tu_db.h"
#include <criterion/criterion.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ORIGIN "hartslag.test-partnership/audit"
#define N_SUBJECTS 40
#define LOG_SIZE 3000
#define T0 1764400000000ull

static unsigned char s_pk[32], s_sk[64];
static uint8_t s_subjects[N_SUBJECTS][32];

static void s_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s: %s", sql, msg ? msg : "");
}

static int64_t s_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK, "%s", sql);
    cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW, "%s", sql);
    int64_t v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

/* Subjects: random, except 0 and 1 share their first 8 bytes (one tag),
   so the index leads to both and the reader must tell them apart. */
static void s_make_subjects(void)
{
    cr_assert(sodium_init() >= 0);
    crypto_sign_seed_keypair(s_pk, s_sk, (const unsigned char *)"0123456789abcdef0123456789abcdef");
    randombytes_buf(s_subjects, sizeof s_subjects);
    memcpy(s_subjects[1], s_subjects[0], 8);
}

/* Appends `n` records in one transaction: most about a random subject,
   some without one, some with a subject of the wrong length. */
static void s_append_random(sqlite3 *db, audit_log_t *log, uint64_t n)
{
    s_exec(db, "BEGIN");
    for (uint64_t i = 0; i < n; i++) {
        uint64_t at = audit_log_size(log);
        Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
        uint8_t id[16], odd[16];
        randombytes_buf(id, sizeof id);
        record.time_ms = T0 + at;
        record.event = "accepted";
        record.actor_org = "politie";
        record.has_signal_id = 1;
        record.signal_id.data = id;
        record.signal_id.len = 16;
        record.outcome = "ok";
        uint32_t kind = randombytes_uniform(10);
        if (kind == 0) {
            record.event = "partner_added"; /* no subject */
        } else if (kind == 1) {
            randombytes_buf(odd, sizeof odd); /* not a pseudonym: never indexed */
            record.has_subject = 1;
            record.subject.data = odd;
            record.subject.len = sizeof odd;
        } else {
            record.has_subject = 1;
            record.subject.data = s_subjects[randombytes_uniform(N_SUBJECTS)];
            record.subject.len = 32;
        }
        cr_assert_eq(audit_log_append(log, &record), (int64_t)at);
    }
    cr_assert_eq(audit_log_checkpoint(log, s_sk, 0), 0);
    s_exec(db, "COMMIT");
    audit_log_commit(log);
}

static sqlite3 *s_open_db(const char *path)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    return db;
}

static audit_log_t *s_open_log(sqlite3 *db)
{
    char err[512];
    audit_log_t *log = audit_log_open(tu_db(db), ORIGIN, true, err, sizeof err);
    cr_assert_not_null(log, "%s", err);
    return log;
}

/* The indices of `subject`'s records, at most `cap`. */
typedef struct {
    int64_t idx[LOG_SIZE * 2];
    size_t n;
} answer_t;

/* The records `stmt` yields (idx, record) whose full subject is `subject`;
   finalizes it. */
static void s_collect(sqlite3_stmt *stmt, const uint8_t subject[32], answer_t *a)
{
    a->n = 0;
    cr_assert_not_null(stmt);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        int n = sqlite3_column_bytes(stmt, 1);
        if (n <= 0)
            continue;
        Hartslag__AuditRecord *r =
            hartslag__audit_record__unpack(NULL, (size_t)n, sqlite3_column_blob(stmt, 1));
        cr_assert_not_null(r);
        if (r->has_subject && r->subject.len == 32 && memcmp(r->subject.data, subject, 32) == 0)
            a->idx[a->n++] = sqlite3_column_int64(stmt, 0);
        hartslag__audit_record__free_unpacked(r, NULL);
    }
    sqlite3_finalize(stmt);
}

/* The oracle: every record unpacked, in log order. */
static void s_full_scan(sqlite3 *db, const uint8_t subject[32], answer_t *a)
{
    sqlite3_stmt *stmt = NULL;
    cr_assert_eq(
        sqlite3_prepare_v2(db, "SELECT idx, record FROM audit ORDER BY idx", -1, &stmt, NULL),
        SQLITE_OK);
    s_collect(stmt, subject, a);
}

/* Through the index, as the CLI's reader does (lib/audit_store's subject
   cursor): the rows of the tag, each record's full subject compared. */
static void s_by_index(sqlite3 *db, const uint8_t subject[32], answer_t *a)
{
    char err[256];
    audit_store_t *store = audit_store_open(tu_db(db), false, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    audit_cursor_t *cursor = audit_store_subject_records(store, audit_subject_tag(subject), 0);
    cr_assert_not_null(cursor);
    a->n = 0;
    audit_row_t row;
    int rc;
    while ((rc = audit_cursor_next(cursor, &row)) == 1) {
        if (row.len == 0)
            continue;
        Hartslag__AuditRecord *r = hartslag__audit_record__unpack(NULL, row.len, row.bytes);
        cr_assert_not_null(r);
        if (r->has_subject && r->subject.len == 32 && memcmp(r->subject.data, subject, 32) == 0)
            a->idx[a->n++] = row.idx;
        hartslag__audit_record__free_unpacked(r, NULL);
    }
    cr_assert_eq(rc, 0);
    audit_cursor_destroy(&cursor);
    audit_store_destroy(&store);
}

/* Whether the store has the subject index (lib/audit_store). */
static bool s_subjects_exist(sqlite3 *db)
{
    char err[256];
    audit_store_t *store = audit_store_open(tu_db(db), false, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    bool exist = audit_store_subjects_exist(store);
    audit_store_destroy(&store);
    return exist;
}

/* True when the index answers every subject exactly as the full walk. */
static bool s_index_agrees(sqlite3 *db)
{
    static answer_t full, indexed;
    for (int s = 0; s < N_SUBJECTS; s++) {
        s_full_scan(db, s_subjects[s], &full);
        s_by_index(db, s_subjects[s], &indexed);
        if (full.n != indexed.n || memcmp(full.idx, indexed.idx, full.n * sizeof *full.idx) != 0)
            return false;
    }
    return true;
}

static void s_expect_verify(sqlite3 *db, audit_fault_kind_t kind, int64_t first_bad)
{
    audit_report_t report;
    int rc = audit_verify(tu_db(db), s_pk, NULL, 0, &report);
    cr_assert_eq(rc, kind == AUDIT_OK ? 0 : 1, "rc %d (%s)", rc, report.detail);
    cr_assert_eq(report.kind, kind, "got %s, want %s (%s)", audit_fault_name(report.kind),
                 audit_fault_name(kind), report.detail);
    if (first_bad >= -1)
        cr_assert_eq(report.first_bad, first_bad, "first bad %lld, want %lld (%s)",
                     (long long)report.first_bad, (long long)first_bad, report.detail);
}

/* The index of some record with subject `s` (the n-th), or -1. */
static int64_t s_some_record_of(sqlite3 *db, int s, size_t nth)
{
    static answer_t a;
    s_full_scan(db, s_subjects[s], &a);
    return a.n > nth ? a.idx[nth] : -1;
}

static void s_watchdog_subjects(void)
{
    tu_watchdog(60);
}

TestSuite(subjects, .init = s_watchdog_subjects);

Test(subjects, record_subject_reads_the_wire_format)
{
    s_make_subjects();
    uint8_t buf[512];
    Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
    uint8_t prev[32] = {0};
    record.event = "accepted";
    record.actor_org = "politie";
    record.outcome = "ok";
    record.prev_hash.data = prev;
    record.prev_hash.len = 32;
    const uint8_t *subject = NULL;
    size_t len = hartslag__audit_record__pack(&record, buf);
    cr_assert_eq(audit_record_subject(buf, len, &subject), 0);
    record.has_subject = 1;
    record.subject.data = s_subjects[3];
    record.subject.len = 32;
    len = hartslag__audit_record__pack(&record, buf);
    cr_assert_eq(audit_record_subject(buf, len, &subject), 1);
    cr_assert_eq(memcmp(subject, s_subjects[3], 32), 0);
    cr_assert_eq(audit_record_subject(buf, len - 1, &subject), -1, "truncated");
    record.subject.len = 16;
    len = hartslag__audit_record__pack(&record, buf);
    cr_assert_eq(audit_record_subject(buf, len, &subject), 0, "not a pseudonym");
    /* Tags: big-endian first 8 bytes; equal prefixes share one. */
    cr_assert_eq(audit_subject_tag(s_subjects[0]), audit_subject_tag(s_subjects[1]));
    uint8_t ones[32];
    memset(ones, 0xff, sizeof ones);
    cr_assert_eq(audit_subject_tag(ones), -1);
}

Test(subjects, only_records_with_a_subject_get_a_row)
{
    s_make_subjects();
    sqlite3 *db = s_open_db(":memory:");
    audit_log_t *log = s_open_log(db);
    s_append_random(db, log, LOG_SIZE);
    int64_t with_subject = 0;
    for (int s = 0; s < N_SUBJECTS; s++) {
        static answer_t a;
        s_full_scan(db, s_subjects[s], &a);
        with_subject += (int64_t)a.n;
    }
    cr_assert_eq(s_int(db, "SELECT count(*) FROM audit_subjects"), with_subject);
    cr_assert_lt(with_subject, LOG_SIZE, "the log has records without a (32-byte) subject");
    /* A rolled-back append leaves no row. */
    s_exec(db, "BEGIN");
    Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
    record.time_ms = T0;
    record.event = "accepted";
    record.actor_org = "politie";
    record.outcome = "ok";
    record.has_subject = 1;
    record.subject.data = s_subjects[5];
    record.subject.len = 32;
    cr_assert_eq(audit_log_append(log, &record), LOG_SIZE);
    s_exec(db, "ROLLBACK");
    audit_log_rollback(log);
    cr_assert_eq(s_int(db, "SELECT count(*) FROM audit_subjects"), with_subject);
    s_expect_verify(db, AUDIT_OK, -1);
    audit_log_destroy(&log);
    tu_sqlite_close(db);
}

Test(subjects, index_answer_equals_full_scan_on_a_random_log)
{
    s_make_subjects();
    sqlite3 *db = s_open_db(":memory:");
    audit_log_t *log = s_open_log(db);
    for (int round = 0; round < 3; round++)
        s_append_random(db, log, LOG_SIZE / 3);
    cr_assert(s_index_agrees(db));
    /* The two subjects that share a tag: the tag leads to both, the answer
       holds only the one asked for. */
    static answer_t a0, a1;
    s_by_index(db, s_subjects[0], &a0);
    s_by_index(db, s_subjects[1], &a1);
    cr_assert_gt(a0.n + a1.n, 0);
    for (size_t i = 0; i < a0.n; i++)
        for (size_t j = 0; j < a1.n; j++)
            cr_assert_neq(a0.idx[i], a1.idx[j]);
    s_expect_verify(db, AUDIT_OK, -1);
    audit_log_destroy(&log);
    tu_sqlite_close(db);
}

Test(subjects, a_missing_row_fails_the_comparison_and_verify)
{
    s_make_subjects();
    sqlite3 *db = s_open_db(":memory:");
    audit_log_t *log = s_open_log(db);
    s_append_random(db, log, LOG_SIZE);
    int64_t victim = s_some_record_of(db, 7, 2);
    cr_assert_geq(victim, 0);
    char sql[200];
    snprintf(sql, sizeof sql, "DELETE FROM audit_subjects WHERE idx = %lld", (long long)victim);
    s_exec(db, sql);
    cr_assert_eq(sqlite3_changes(db), 1);
    /* The oracle comparison notices: the index misses a record. */
    cr_assert_not(s_index_agrees(db));
    /* And so does verify, naming the record. */
    s_expect_verify(db, AUDIT_INDEX, victim);
    audit_log_destroy(&log);
    tu_sqlite_close(db);
}

Test(subjects, a_stray_or_wrong_row_is_a_verify_finding)
{
    s_make_subjects();
    sqlite3 *db = s_open_db(":memory:");
    audit_log_t *log = s_open_log(db);
    s_append_random(db, log, LOG_SIZE);
    int64_t of_3 = s_some_record_of(db, 3, 0), of_4 = s_some_record_of(db, 4, 0);
    cr_assert_geq(of_3, 0);
    cr_assert_geq(of_4, 0);
    char sql[300];
    /* A row that points at a record of another subject. */
    s_exec(db, "SAVEPOINT t");
    snprintf(sql, sizeof sql, "INSERT INTO audit_subjects(seg, tag, idx) VALUES(%lld, %lld, %lld)",
             (long long)of_4 >> 12, (long long)audit_subject_tag(s_subjects[3]), (long long)of_4);
    s_exec(db, sql);
    s_expect_verify(db, AUDIT_INDEX, of_4);
    s_exec(db, "ROLLBACK TO t; RELEASE t");
    /* A row moved to another record: one record loses its row, another
       gains a wrong one; the lower of the two is named. */
    s_exec(db, "SAVEPOINT t");
    snprintf(sql, sizeof sql, "UPDATE audit_subjects SET seg = %lld, idx = %lld WHERE idx = %lld",
             (long long)of_4 >> 12, (long long)of_4, (long long)of_3);
    s_exec(db, sql);
    s_expect_verify(db, AUDIT_INDEX, of_3 < of_4 ? of_3 : of_4);
    s_exec(db, "ROLLBACK TO t; RELEASE t");
    /* A row beyond the log. */
    s_exec(db, "SAVEPOINT t");
    snprintf(sql, sizeof sql, "INSERT INTO audit_subjects(seg, tag, idx) VALUES(%d, %lld, %d)",
             (LOG_SIZE + 5) >> 12, (long long)audit_subject_tag(s_subjects[3]), LOG_SIZE + 5);
    s_exec(db, sql);
    s_expect_verify(db, AUDIT_INDEX, LOG_SIZE + 5);
    s_exec(db, "ROLLBACK TO t; RELEASE t");
    s_expect_verify(db, AUDIT_OK, -1);
    audit_log_destroy(&log);
    tu_sqlite_close(db);
}

Test(subjects, an_older_store_is_backfilled_on_open)
{
    s_make_subjects();
    char path[] = "/tmp/hartslag-subjects-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    sqlite3 *db = s_open_db(path);
    audit_log_t *log = s_open_log(db);
    s_append_random(db, log, LOG_SIZE);
    int64_t rows = s_int(db, "SELECT count(*) FROM audit_subjects");
    int64_t digest = s_int(db, "SELECT sum((tag % 1000003) * 7 + idx * 13) FROM audit_subjects");
    audit_log_destroy(&log);
    tu_sqlite_close(db);

    /* The store as an older broker left it: no index table. */
    db = s_open_db(path);
    s_exec(db, "DROP TABLE audit_subjects");
    cr_assert_not(s_subjects_exist(db));
    /* Readers do not build it (they open read-only) and verify passes
       with a note: queries then walk every record. */
    audit_report_t report;
    cr_assert_eq(audit_verify(tu_db(db), s_pk, NULL, 0, &report), 0, "%s", report.detail);
    cr_assert_not(report.indexed);
    char err[512];
    log = audit_log_open(tu_db(db), NULL, false, err, sizeof err);
    cr_assert_not_null(log, "a read-only open of an older store works: %s", err);
    audit_log_destroy(&log);
    cr_assert_not(s_subjects_exist(db));
    tu_sqlite_close(db);

    /* The broker opens it: the index is built, the same as if written on append. */
    db = s_open_db(path);
    log = s_open_log(db);
    cr_assert(s_subjects_exist(db));
    cr_assert_eq(s_int(db, "SELECT count(*) FROM audit_subjects"), rows);
    cr_assert_eq(s_int(db, "SELECT sum((tag % 1000003) * 7 + idx * 13) FROM audit_subjects"),
                 digest);
    cr_assert(s_index_agrees(db));
    s_expect_verify(db, AUDIT_OK, -1);
    /* And appends go on writing it. */
    s_append_random(db, log, 200);
    cr_assert(s_index_agrees(db));
    s_expect_verify(db, AUDIT_OK, -1);
    audit_log_destroy(&log);
    tu_sqlite_close(db);
    unlink(path);
}

Test(subjects, purge_removes_the_rows_of_purged_records)
{
    s_make_subjects();
    sqlite3 *db = s_open_db(":memory:");
    audit_log_t *log = s_open_log(db);
    s_append_random(db, log, LOG_SIZE);
    uint64_t purged_before = 0;
    s_exec(db, "BEGIN");
    cr_assert_eq(audit_log_purge(log, (int64_t)T0 + 1000, &purged_before), 0);
    cr_assert_eq(purged_before, 1000);
    Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
    record.time_ms = T0 + LOG_SIZE;
    record.event = "purged";
    record.actor_org = "broker";
    record.outcome = "ok";
    record.has_purged_before = 1;
    record.purged_before = purged_before;
    cr_assert_eq(audit_log_append(log, &record), LOG_SIZE);
    s_exec(db, "COMMIT");
    audit_log_commit(log);
    cr_assert_eq(s_int(db, "SELECT count(*) FROM audit_subjects WHERE idx < 1000"), 0);
    cr_assert_gt(s_int(db, "SELECT count(*) FROM audit_subjects WHERE idx >= 1000"), 0);
    cr_assert(s_index_agrees(db), "the purged records are in neither answer");
    s_expect_verify(db, AUDIT_OK, -1);
    /* A row left behind for a purged record is a finding (it still leads
       to the subject after the retention period). */
    char sql[200];
    snprintf(sql, sizeof sql, "INSERT INTO audit_subjects(seg, tag, idx) VALUES(0, %lld, 10)",
             (long long)audit_subject_tag(s_subjects[0]));
    s_exec(db, sql);
    s_expect_verify(db, AUDIT_INDEX, 10);
    audit_log_destroy(&log);
    tu_sqlite_close(db);
}

Test(subjects, rows_left_by_a_truncated_log_do_not_stop_appends)
{
    /* An operator truncates the log but not the index: the broker must go
       on appending (the rows are overwritten or reported by verify, never
       a reason to refuse signals). */
    s_make_subjects();
    sqlite3 *db = s_open_db(":memory:");
    audit_log_t *log = s_open_log(db);
    s_append_random(db, log, 500);
    audit_log_destroy(&log);
    s_exec(db, "DELETE FROM audit WHERE idx >= 100; DELETE FROM checkpoints; "
               "DELETE FROM audit_nodes");
    log = s_open_log(db);
    s_append_random(db, log, 400);
    cr_assert_eq(audit_log_size(log), 500);
    /* Rows for records now about someone else are named. */
    audit_report_t report;
    cr_assert_eq(audit_verify(tu_db(db), s_pk, NULL, 0, &report), 1, "%s", report.detail);
    cr_assert_eq(report.kind, AUDIT_INDEX, "%s", report.detail);
    cr_assert_geq(report.first_bad, 100, "%s", report.detail);
    audit_log_destroy(&log);
    tu_sqlite_close(db);
}

/* A hostile copy moves one record (and its index row) to index 2^62: the
   lookup visits the segments the index holds, never every segment up to
   max(idx) >> 12 (2^50 of them: it would never finish). Found by
   fuzz_audit_db (tests/fuzz/regressions/fuzz_audit_db/). */
Test(subjects, a_record_at_a_huge_index_does_not_stall_the_lookup)
{
    tu_watchdog(20);
    s_make_subjects();
    sqlite3 *db = s_open_db(":memory:");
    audit_log_t *log = s_open_log(db);
    s_append_random(db, log, LOG_SIZE);
    int64_t victim = s_some_record_of(db, 0, 0);
    cr_assert_geq(victim, 0);
    const int64_t far = INT64_C(1) << 62;
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE audit SET idx = %lld WHERE idx = %lld", (long long)far,
             (long long)victim);
    s_exec(db, sql);
    snprintf(sql, sizeof sql, "UPDATE audit_subjects SET idx = %lld, seg = %lld WHERE idx = %lld",
             (long long)far, (long long)(far >> AUDIT_SUBJECT_SEGMENT_SHIFT), (long long)victim);
    s_exec(db, sql);
    cr_assert_eq(sqlite3_changes(db), 1);
    /* The index still leads to every record of every subject, in log
       order, the moved one last. */
    cr_assert(s_index_agrees(db));
    static answer_t a;
    s_by_index(db, s_subjects[0], &a);
    cr_assert_gt(a.n, 0);
    cr_assert_eq(a.idx[a.n - 1], far);
    audit_log_destroy(&log);
    tu_sqlite_close(db);
}
