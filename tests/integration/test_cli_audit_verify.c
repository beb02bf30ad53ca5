/*  hartslag audit verify | checkpoints: the partners' checkpoints, every one
    of them, from copies of their stores or from witness files; the
    cosignatures the broker keeps; the checkpoint list for `prove --from`.
    Run as real processes over stores written with lib/audit_log and a
    daemon-shaped store written here (issue 13 3a, 3b, 15, 18).
    The broker's store is SQLite (a file) or, when HARTSLAG_TEST_STORE is
    postgresql (bh_postgresql), a PostgreSQL schema of the test's own
    (issue 16: the audit tools take --db postgresql://...); fixtures and
    tampering go through lib/db.h on either. The daemon's store is a SQLite
    file on both (a daemon has no other backend). */
#include "audit_log.h"
#include "broker_harness.h"
#include "cert.h"
#include "checkpoint.h"
#include "date.h"
#include "db.h"
#include "pg_harness.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORDS 200          /* records in the log, one checkpoint after each */
#define FORK_AT 150          /* a size only recent checkpoints reach */
#define SENTINEL "999888777" /* an inbox value that must never leave the daemon */

static char *s_dir;
/* s_broker_db: the broker store's location (a file path, or postgresql://) */
static char s_broker_db[4300], s_broker_cert[4200], s_daemon_db[4200], s_origin[300];
static unsigned char s_pk[32], s_sk[64];

/* Runs `hartslag ARGS... NULL`; stdout and stderr together in *out. */
static int s_hartslag(char **out, ...)
{
    char *argv[40] = {(char *)tu_bin("hartslag")};
    va_list args;
    va_start(args, out);
    for (int i = 1; i < 39 && (argv[i] = va_arg(args, char *)) != NULL; i++)
        ;
    va_end(args);
    char *err = NULL;
    int rc = tu_run(argv, NULL, out, &err);
    if (out && *out && err && *err) {
        size_t a = strlen(*out), b = strlen(err);
        char *both = realloc(*out, a + b + 1);
        if (both) {
            memcpy(both + a, err, b + 1);
            *out = both;
        }
    }
    free(err);
    return rc;
}

static db_t *s_open(const char *location)
{
    char err[512];
    db_t *db = db_open(location, DB_CREATE, err, sizeof err);
    cr_assert_not_null(db, "%s", err);
    return db;
}

static void s_exec(db_t *db, const char *sql)
{
    cr_assert_eq(db_exec(db, sql), 0, "%s: %s", sql, db_errmsg(db));
}

/* Runs `sql` on the store at `location`. */
static void s_exec_at(const char *location, const char *sql)
{
    db_t *db = s_open(location);
    s_exec(db, sql);
    db_close(&db);
}

static uint8_t s_case_share[16]; /* the signal id of the case_shared record */

/* A broker store: RECORDS records, a checkpoint after each. */
static void s_build_broker(void)
{
    db_t *db = s_open(s_broker_db);
    char err[512];
    audit_log_t *log = audit_log_open(db, s_origin, true, err, sizeof err);
    cr_assert_not_null(log, "%s", err);
    cr_assert_eq(db_begin(db), 0, "%s", db_errmsg(db));
    uint8_t id[16];
    for (int i = 0; i < RECORDS; i++) {
        Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
        randombytes_buf(id, sizeof id);
        record.time_ms = 1772323200000ull + (uint64_t)i * 1000; /* from 2026-03-01 */
        /* Record 1 is a share into a case conference (issue 15). */
        record.event = i == 1 ? "case_shared" : "accepted";
        if (i == 1)
            memcpy(s_case_share, id, sizeof id);
        record.actor_org = "politie";
        record.counterpart_org = "gemeente";
        record.has_signal_id = 1;
        record.signal_id.data = id;
        record.signal_id.len = 16;
        record.outcome = "ok";
        cr_assert_eq(audit_log_append(log, &record), i);
        cr_assert_eq(audit_log_checkpoint(log, s_sk, 1772323200000LL + i * 1000), 0);
    }
    cr_assert_eq(db_commit(db), 0, "%s", db_errmsg(db));
    audit_log_commit(log);
    audit_log_destroy(&log);
    db_close(&db);
}

/* A daemon-shaped store holding every checkpoint of the broker store (as
   the daemon's checkpoints table does), and an inbox with a citizen's
   number in it. */
static void s_build_daemon(const char *path)
{
    db_t *db = s_open(path);
    s_exec(db, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
               "CREATE TABLE inbox (id TEXT, bsn TEXT, text TEXT);"
               "INSERT INTO inbox VALUES ('a', '" SENTINEL "', 'vrije tekst');"
               "CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL, "
               "  root BLOB NOT NULL, received_ms INTEGER NOT NULL);"
               "CREATE TABLE checkpoint_evidence (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
               "  received_ms INTEGER NOT NULL, kind TEXT NOT NULL, held_size INTEGER NOT NULL, "
               "  new_size INTEGER NOT NULL, note TEXT NOT NULL, proof BLOB);");
    /* Row by row from the broker's store, which may be on another backend. */
    db_t *broker = s_open(s_broker_db);
    db_stmt_t *read =
        db_prepare(broker, "SELECT size, note, made_ms FROM checkpoints ORDER BY size");
    cr_assert_not_null(read, "%s", db_errmsg(broker));
    cr_assert_eq(db_begin(db), 0, "%s", db_errmsg(db));
    db_stmt_t *write = db_prepare(db, "INSERT INTO checkpoints VALUES ($1, $2, x'00', $3)");
    cr_assert_not_null(write, "%s", db_errmsg(db));
    int copied = 0;
    db_step_t step;
    while ((step = db_step(read)) == DB_ROW) {
        cr_assert_eq(db_bind_int64(write, 1, db_column_int64(read, 0)), 0);
        cr_assert_eq(db_bind_text(write, 2, db_column_text(read, 1)), 0);
        cr_assert_eq(db_bind_int64(write, 3, db_column_int64(read, 2)), 0);
        cr_assert_eq(db_run(write), 0, "%s", db_errmsg(db));
        copied++;
    }
    cr_assert_eq(step, DB_DONE, "%s", db_errmsg(broker));
    db_reset(read);
    cr_assert_eq(db_commit(db), 0, "%s", db_errmsg(db));
    cr_assert_eq(copied, RECORDS);
    db_close(&broker);
    db_close(&db);
}

/* Replaces the daemon's checkpoint of `size` with one of another history
   that the broker's key signed: the broker showed this daemon a fork. */
static void s_fork_daemon(const char *path, uint64_t size)
{
    checkpoint_t cp;
    memset(&cp, 0, sizeof cp);
    snprintf(cp.origin, sizeof cp.origin, "%.200s", s_origin);
    cp.size = size;
    randombytes_buf(cp.root, sizeof cp.root);
    char note[CHECKPOINT_NOTE_MAX + 1];
    size_t len = 0;
    cr_assert_eq(checkpoint_sign(&cp, s_sk, note, sizeof note, &len), CHECKPOINT_OK);
    cr_assert_eq(strlen(note), len);
    db_t *db = s_open(path);
    db_stmt_t *stmt = db_prepare(db, "UPDATE checkpoints SET note = $1 WHERE size = $2");
    cr_assert_not_null(stmt, "%s", db_errmsg(db));
    cr_assert_eq(db_bind_text(stmt, 1, note), 0);
    cr_assert_eq(db_bind_int64(stmt, 2, (int64_t)size), 0);
    cr_assert_eq(db_run(stmt), 0, "%s", db_errmsg(db));
    cr_assert_eq(db_changes(db), 1);
    db_close(&db);
}

static void s_setup(void)
{
    tu_watchdog(60);
    cr_assert(sodium_init() >= 0);
    s_dir = tu_tmpdir();
    cr_assert_not_null(s_dir);
    crypto_sign_keypair(s_pk, s_sk);
    audit_log_origin_for("test", s_origin, sizeof s_origin);
    if (bh_postgresql()) {
        char schema[64];
        snprintf(schema, sizeof schema, "audit_verify_cli_%ld", (long)getpid());
        cr_assert_eq(pg_harness_schema(schema, s_broker_db, sizeof s_broker_db), 0,
                     "no PostgreSQL schema for the broker's store");
    } else {
        snprintf(s_broker_db, sizeof s_broker_db, "%s/broker.db", s_dir);
    }
    snprintf(s_broker_cert, sizeof s_broker_cert, "%s/broker.cert", s_dir);
    snprintf(s_daemon_db, sizeof s_daemon_db, "%s/politie.db", s_dir);
    cert_t cert;
    memset(&cert, 0, sizeof cert);
    snprintf(cert.org, sizeof cert.org, "broker");
    snprintf(cert.name, sizeof cert.name, "Test broker");
    snprintf(cert.contact, sizeof cert.contact, "beheer@example.org");
    cert.role = CERT_ROLE_BROKER;
    randombytes_buf(cert.curve_key, sizeof cert.curve_key);
    memcpy(cert.sign_key, s_pk, 32);
    cert.valid_from = 20000;
    cert.valid_until = 30000;
    char err[600];
    cr_assert_eq(cert_save(&cert, s_broker_cert, err, sizeof err), 0, "%s", err);
    s_build_broker();
    s_build_daemon(s_daemon_db);
}

static void s_teardown(void)
{
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(audit_verify_cli, .init = s_setup, .fini = s_teardown);

/* Issue 13 3a: verify read at most 64 daemon checkpoints, smallest first, so
   a fork shown only in recent checkpoints went unseen. */
Test(audit_verify_cli, every_daemon_checkpoint_is_checked_and_counted)
{
    char *out = NULL;
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", s_broker_db, "--broker-cert",
                            s_broker_cert, "--daemon-db", s_daemon_db, NULL),
                 0, "%s", out);
    char want[128];
    snprintf(want, sizeof want, "of the partners': %d given, %d checked", RECORDS, RECORDS);
    cr_assert(strstr(out, want), "%s (want %s)", out, want);
    free(out);
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", s_broker_db, "--broker-cert",
                            s_broker_cert, "--daemon-db", s_daemon_db, "--json", NULL),
                 0, "%s", out);
    snprintf(want, sizeof want,
             "\"partner_checkpoints_given\":%d,\"partner_checkpoints_checked\":%d", RECORDS,
             RECORDS);
    cr_assert(strstr(out, want), "%s (want %s)", out, want);
    free(out);

    /* The broker showed this daemon another history at a recent size. */
    s_fork_daemon(s_daemon_db, FORK_AT);
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", s_broker_db, "--broker-cert",
                            s_broker_cert, "--daemon-db", s_daemon_db, NULL),
                 1, "%s", out);
    cr_assert(strstr(out, "FAULT (forked)"), "%s", out);
    snprintf(want, sizeof want, "size %d", FORK_AT);
    cr_assert(strstr(out, want), "%s (want %s)", out, want);
    free(out);
}

/* A checkpoint that does not verify stops the check, and the counts still
   say how many there were. */
Test(audit_verify_cli, a_bad_note_is_a_fault_and_the_counts_are_given)
{
    s_exec_at(s_daemon_db, "UPDATE checkpoints SET note = replace(note, '/audit\n1', '/audit\n2') "
                           "WHERE size = 10");
    char *out = NULL;
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", s_broker_db, "--broker-cert",
                            s_broker_cert, "--daemon-db", s_daemon_db, NULL),
                 1, "%s", out);
    cr_assert(strstr(out, "FAULT (bad_signature)"), "%s", out);
    char want[128];
    snprintf(want, sizeof want, "Partners' checkpoints: %d given, 9 checked", RECORDS);
    cr_assert(strstr(out, want), "%s (want %s)", out, want);
    free(out);
}

/* A daemon configuration whose state_dir holds `db` as hartslagd.db. */
static void s_daemon_config(const char *db, char *config, size_t len)
{
    char state[4300], target[4400], text[9000];
    snprintf(state, sizeof state, "%s/state-politie", s_dir);
    cr_assert_eq(mkdir(state, 0700), 0);
    snprintf(target, sizeof target, "%s/hartslagd.db", state);
    size_t n = 0;
    char *bytes = tu_read_file(db, &n);
    cr_assert_not_null(bytes);
    FILE *f = fopen(target, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(bytes, 1, n, f), n);
    fclose(f);
    free(bytes);
    snprintf(config, len, "%s/hartslagd.yaml", s_dir);
    snprintf(text, sizeof text,
             "org: politie\nkeys: politie.cert_secret\nbroker_cert: broker.cert\n"
             "certificates: certs\nagreements: agreements.yaml\n"
             "pseudonym_service: tcp://127.0.0.1:1\npseudonym_service_cert: service.cert\n"
             "state_dir: %s\n",
             state);
    cr_assert_eq(tu_write_file(config, text, 0600), 0);
}

/* Issue 13 item 15: a partner hands over its checkpoints, not its inbox. */
Test(audit_verify_cli, a_witness_file_carries_only_checkpoints_and_verify_uses_it)
{
    char config[4300], witness[4300];
    s_fork_daemon(s_daemon_db, FORK_AT);
    s_daemon_config(s_daemon_db, config, sizeof config);
    snprintf(witness, sizeof witness, "%s/politie.witness", s_dir);
    char *out = NULL;
    cr_assert_eq(
        s_hartslag(&out, "audit", "checkpoints", "--config", config, "--out", witness, NULL), 0,
        "%s", out);
    char want[64];
    snprintf(want, sizeof want, "%d checkpoints and 0 exchanges of politie", RECORDS);
    cr_assert(strstr(out, want), "%s", out);
    free(out);
    struct stat st;
    cr_assert_eq(stat(witness, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    /* Nothing of the inbox, and no SQLite file. */
    size_t len = 0;
    char *text = tu_read_file(witness, &len);
    cr_assert_not_null(text);
    cr_assert(strncmp(text, "hartslag-witness v1\norg politie\ncheckpoint ", 43) == 0, "%.80s",
              text);
    cr_assert_null(strstr(text, SENTINEL));
    cr_assert_null(strstr(text, "vrije tekst"));
    cr_assert_null(strstr(text, "SQLite"));
    free(text);
    /* Not overwritten. */
    cr_assert_eq(
        s_hartslag(&out, "audit", "checkpoints", "--config", config, "--out", witness, NULL), 1,
        "%s", out);
    cr_assert(strstr(out, "not overwritten"), "%s", out);
    free(out);
    /* verify --witness sees the fork the daemon was shown. */
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", s_broker_db, "--broker-cert",
                            s_broker_cert, "--witness", witness, NULL),
                 1, "%s", out);
    cr_assert(strstr(out, "FAULT (forked)"), "%s", out);
    cr_assert(strstr(out, "politie"), "%s", out);
    snprintf(want, sizeof want, "%d given", RECORDS);
    cr_assert(strstr(out, want), "%s", out);
    free(out);
    /* A witness file that was tampered with is refused, not skipped. */
    text = tu_read_file(witness, &len);
    char *at = strstr(text, "\ncheckpoint ");
    cr_assert_not_null(at);
    at[12] = at[12] == 'A' ? 'B' : 'A';
    char edited[4400];
    snprintf(edited, sizeof edited, "%s/edited.witness", s_dir);
    cr_assert_eq(tu_write_file(edited, text, 0600), 0);
    free(text);
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", s_broker_db, "--broker-cert",
                            s_broker_cert, "--witness", edited, NULL),
                 1, "%s", out);
    cr_assert(strstr(out, "FAULT ("), "%s", out);
    free(out);
}

/* A witness file and a daemon store side by side, both counted. */
Test(audit_verify_cli, witness_and_daemon_db_together)
{
    char config[4300], witness[4300];
    s_daemon_config(s_daemon_db, config, sizeof config);
    snprintf(witness, sizeof witness, "%s/politie.witness", s_dir);
    char *out = NULL;
    cr_assert_eq(
        s_hartslag(&out, "audit", "checkpoints", "--config", config, "--out", witness, NULL), 0,
        "%s", out);
    free(out);
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", s_broker_db, "--broker-cert",
                            s_broker_cert, "--witness", witness, "--daemon-db", s_daemon_db, NULL),
                 0, "%s", out);
    char want[128];
    snprintf(want, sizeof want, "%d given, %d checked", 2 * RECORDS, 2 * RECORDS);
    cr_assert(strstr(out, want), "%s (want %s)", out, want);
    free(out);
    /* A store given as a witness file: the broker's SQLite file, or on
       PostgreSQL (no file) the daemon's. */
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", s_broker_db, "--broker-cert",
                            s_broker_cert, "--witness", bh_postgresql() ? s_daemon_db : s_broker_db,
                            NULL),
                 1, "%s", out);
    cr_assert(strstr(out, "is not a witness file"), "%s", out);
    free(out);
}

/* A share into a case is recorded as case_shared, not accepted: the
   sender's witness lists it as accepted, and verify finds it (the demo's
   case conference showed the gap). A share the log lacks is still caught. */
Test(audit_verify_cli, a_share_into_a_case_is_found_by_its_case_shared_record)
{
    char config[4300], witness[4300];
    s_daemon_config(s_daemon_db, config, sizeof config);
    snprintf(witness, sizeof witness, "%s/politie.witness", s_dir);
    char *out = NULL;
    cr_assert_eq(
        s_hartslag(&out, "audit", "checkpoints", "--config", config, "--out", witness, NULL), 0,
        "%s", out);
    free(out);
    char hex[33], line[80];
    sodium_bin2hex(hex, sizeof hex, s_case_share, sizeof s_case_share);
    size_t len = 0;
    char *text = tu_read_file(witness, &len);
    cr_assert_not_null(text);
    size_t size = len + 2 * sizeof line;
    char *listed = malloc(size);
    snprintf(line, sizeof line, "exchange %s accepted gemeente\n", hex);
    snprintf(listed, size, "%s%s", text, line);
    char shared[4400];
    snprintf(shared, sizeof shared, "%s/shared.witness", s_dir);
    cr_assert_eq(tu_write_file(shared, listed, 0600), 0);
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", s_broker_db, "--broker-cert",
                            s_broker_cert, "--witness", shared, NULL),
                 0, "%s", out);
    cr_assert_null(strstr(out, "missing_record"), "%s", out);
    free(out);
    /* The same share to a partner it was not shared with has no record. */
    snprintf(line, sizeof line, "exchange %s accepted woonpunt\n", hex);
    snprintf(listed, size, "%s%s", text, line);
    cr_assert_eq(tu_write_file(shared, listed, 0600), 0);
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", s_broker_db, "--broker-cert",
                            s_broker_cert, "--witness", shared, NULL),
                 1, "%s", out);
    cr_assert(strstr(out, "FAULT (missing_record)"), "%s", out);
    free(out);
    free(listed);
    free(text);
}

/* Issue 13 item 18: the sizes `prove --from` accepts, in local time. */
Test(audit_verify_cli, checkpoints_list_shows_sizes_in_amsterdam_time)
{
    char *out = NULL;
    cr_assert_eq(s_hartslag(&out, "audit", "checkpoints", "--list", "--db", s_broker_db, NULL), 0,
                 "%s", out);
    /* Record 0 was checkpointed at 2026-03-01T00:00:00Z: 01:00 CET. */
    cr_assert(strstr(out, "2026-03-01 01:00:00 CET"), "%s", out);
    char want[64];
    snprintf(want, sizeof want, "%d checkpoints", RECORDS);
    cr_assert(strstr(out, want), "%s", out);
    free(out);
    cr_assert_eq(
        s_hartslag(&out, "audit", "checkpoints", "--list", "--db", s_broker_db, "--json", NULL), 0,
        "%s", out);
    cr_assert(strstr(out, "[{\"size\":1,\"signed_ms\":1772323200000,"), "%s", out);
    char last[64];
    snprintf(last, sizeof last, "{\"size\":%d,", RECORDS);
    cr_assert(strstr(out, last), "%s", out);
    free(out);
    /* Every size listed is one prove --from takes. */
    cr_assert_eq(s_hartslag(&out, "audit", "prove", "--db", s_broker_db, "--from", "37", NULL), 0,
                 "%s", out);
    free(out);
}

/* Cosignatures of politie on every 10th checkpoint, kept as the broker
   keeps them; politie's certificate in `partners`. */
static void s_cosign(const char *partners, unsigned char sk[64])
{
    unsigned char pk[32];
    crypto_sign_keypair(pk, sk);
    cr_assert_eq(mkdir(partners, 0700), 0);
    cert_t cert;
    memset(&cert, 0, sizeof cert);
    snprintf(cert.org, sizeof cert.org, "politie");
    snprintf(cert.name, sizeof cert.name, "Politie");
    snprintf(cert.contact, sizeof cert.contact, "fg@politie.example");
    cert.role = CERT_ROLE_PARTNER;
    randombytes_buf(cert.curve_key, sizeof cert.curve_key);
    randombytes_buf(cert.box_key, sizeof cert.box_key);
    memcpy(cert.sign_key, pk, 32);
    cert.valid_from = 20000;
    cert.valid_until = 30000;
    char path[4400], err[600];
    snprintf(path, sizeof path, "%s/politie.cert", partners);
    cr_assert_eq(cert_save(&cert, path, err, sizeof err), 0, "%s", err);
    db_t *db = s_open(s_broker_db);
    audit_log_t *log = audit_log_open(db, s_origin, true, err, sizeof err);
    cr_assert_not_null(log, "%s", err);
    cr_assert_eq(db_begin(db), 0, "%s", db_errmsg(db));
    for (uint64_t size = 10; size <= RECORDS; size += 10) {
        char note[CHECKPOINT_NOTE_MAX + 1], line[CHECKPOINT_LINE_MAX + 1];
        size_t len = 0;
        checkpoint_t cp;
        cr_assert_eq(audit_log_note_at(log, size, note, &len), 0);
        cr_assert_eq(checkpoint_open(note, len, s_origin, s_pk, &cp), CHECKPOINT_OK);
        cr_assert_eq(
            checkpoint_cosign(&cp, "politie", sk, 1772323200 + size, line, sizeof line, &len),
            CHECKPOINT_OK);
        cr_assert_eq(audit_log_store_cosignature(log, size, "politie", line, 0), 0);
    }
    cr_assert_eq(db_commit(db), 0, "%s", db_errmsg(db));
    audit_log_commit(log);
    audit_log_destroy(&log);
    db_close(&db);
}

/* Issue 13 3b: the stored cosignatures are re-checked against the
   partners' certificates; a bad one is a fault. */
Test(audit_verify_cli, stored_cosignatures_are_checked_with_the_partners_certificates)
{
    char partners[4300];
    snprintf(partners, sizeof partners, "%s/certs", s_dir);
    unsigned char sk[64];
    s_cosign(partners, sk);
    const int stored = RECORDS / 10;
    char *out = NULL, want[160];
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", s_broker_db, "--broker-cert",
                            s_broker_cert, "--partners", partners, NULL),
                 0, "%s", out);
    snprintf(want, sizeof want, "Cosignatures: %d stored, %d checked.", stored, stored);
    cr_assert(strstr(out, want), "%s (want %s)", out, want);
    free(out);
    /* Without the certificates nothing is checked, and it says so. */
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", s_broker_db, "--broker-cert",
                            s_broker_cert, NULL),
                 0, "%s", out);
    snprintf(want, sizeof want, "Cosignatures: %d stored, 0 checked (give --partners DIR", stored);
    cr_assert(strstr(out, want), "%s (want %s)", out, want);
    free(out);
    /* The operator moves a cosignature to another checkpoint. */
    s_exec_at(s_broker_db, "UPDATE cosignatures SET size = 55 WHERE size = 50");
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", s_broker_db, "--broker-cert",
                            s_broker_cert, "--partners", partners, "--json", NULL),
                 1, "%s", out);
    cr_assert(strstr(out, "\"fault\":\"bad_cosignature\""), "%s", out);
    free(out);
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", s_broker_db, "--broker-cert",
                            s_broker_cert, "--partners", partners, NULL),
                 1, "%s", out);
    cr_assert(strstr(out, "FAULT (bad_cosignature): the cosignature of politie on checkpoint 55"),
              "%s", out);
    free(out);
}
