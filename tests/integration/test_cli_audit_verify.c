/*  hartslag audit verify | checkpoints: the partners' checkpoints, every one
    of them, from copies of their stores or from witness files; the
    cosignatures the broker keeps; the checkpoint list for `prove --from`.
    Run as real processes over stores written with lib/audit_log and a
    daemon-shaped store written here (issue 13 3a, 3b, 15, 18). */
#include "audit_log.h"
#include "cert.h"
#include "checkpoint.h"
#include "date.h"
#include "testutil.h"
#include "tu_db.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RECORDS 200          /* records in the log, one checkpoint after each */
#define FORK_AT 150          /* a size only recent checkpoints reach */
#define SENTINEL "999888777" /* an inbox value that must never leave the daemon */

static char *s_dir;
static char s_broker_db[4200], s_broker_cert[4200], s_daemon_db[4200], s_origin[300];
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

static void s_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s: %s", sql, msg ? msg : "");
}

/* A broker store: RECORDS records, a checkpoint after each. */
static void s_build_broker(void)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(s_broker_db, &db), SQLITE_OK);
    char err[512];
    audit_log_t *log = audit_log_open(tu_db(db), s_origin, true, err, sizeof err);
    cr_assert_not_null(log, "%s", err);
    s_exec(db, "BEGIN");
    uint8_t id[16];
    for (int i = 0; i < RECORDS; i++) {
        Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
        randombytes_buf(id, sizeof id);
        record.time_ms = 1772323200000ull + (uint64_t)i * 1000; /* from 2026-03-01 */
        record.event = "accepted";
        record.actor_org = "politie";
        record.counterpart_org = "gemeente";
        record.has_signal_id = 1;
        record.signal_id.data = id;
        record.signal_id.len = 16;
        record.outcome = "ok";
        cr_assert_eq(audit_log_append(log, &record), i);
        cr_assert_eq(audit_log_checkpoint(log, s_sk, 1772323200000LL + i * 1000), 0);
    }
    s_exec(db, "COMMIT");
    audit_log_commit(log);
    audit_log_destroy(&log);
    tu_sqlite_close(db);
}

/* A daemon-shaped store holding every checkpoint of the broker store (as
   the daemon's checkpoints table does), and an inbox with a citizen's
   number in it. */
static void s_build_daemon(const char *path)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    s_exec(db, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
               "CREATE TABLE inbox (id TEXT, bsn TEXT, text TEXT);"
               "INSERT INTO inbox VALUES ('a', '" SENTINEL "', 'vrije tekst');"
               "CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL, "
               "  root BLOB NOT NULL, received_ms INTEGER NOT NULL);"
               "CREATE TABLE checkpoint_evidence (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
               "  received_ms INTEGER NOT NULL, kind TEXT NOT NULL, held_size INTEGER NOT NULL, "
               "  new_size INTEGER NOT NULL, note TEXT NOT NULL, proof BLOB);");
    char sql[4200 + 200];
    snprintf(sql, sizeof sql,
             "ATTACH '%s' AS broker;"
             "INSERT INTO checkpoints SELECT size, note, x'00', made_ms FROM broker.checkpoints;"
             "DETACH broker;",
             s_broker_db);
    s_exec(db, sql);
    tu_sqlite_close(db);
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
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    cr_assert_eq(
        sqlite3_prepare_v2(db, "UPDATE checkpoints SET note = ?1 WHERE size = ?2", -1, &stmt, NULL),
        SQLITE_OK);
    sqlite3_bind_text(stmt, 1, note, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 2, (int64_t)size);
    cr_assert_eq(sqlite3_step(stmt), SQLITE_DONE);
    cr_assert_eq(sqlite3_changes(db), 1);
    sqlite3_finalize(stmt);
    tu_sqlite_close(db);
}

static void s_setup(void)
{
    tu_watchdog(60);
    cr_assert(sodium_init() >= 0);
    s_dir = tu_tmpdir();
    cr_assert_not_null(s_dir);
    crypto_sign_keypair(s_pk, s_sk);
    audit_log_origin_for("test", s_origin, sizeof s_origin);
    snprintf(s_broker_db, sizeof s_broker_db, "%s/broker.db", s_dir);
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
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(s_daemon_db, &db), SQLITE_OK);
    s_exec(db, "UPDATE checkpoints SET note = replace(note, '/audit\n1', '/audit\n2') "
               "WHERE size = 10");
    tu_sqlite_close(db);
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
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", s_broker_db, "--broker-cert",
                            s_broker_cert, "--witness", s_broker_db, NULL),
                 1, "%s", out);
    cr_assert(strstr(out, "is not a witness file"), "%s", out);
    free(out);
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
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(s_broker_db, &db), SQLITE_OK);
    audit_log_t *log = audit_log_open(tu_db(db), s_origin, true, err, sizeof err);
    cr_assert_not_null(log, "%s", err);
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
    audit_log_destroy(&log);
    tu_sqlite_close(db);
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
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(s_broker_db, &db), SQLITE_OK);
    s_exec(db, "UPDATE cosignatures SET size = 55 WHERE size = 50");
    tu_sqlite_close(db);
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
