/*  hartslag-broker migrate (issue 16 item 2): a SQLite broker store of
    100,000 signals with its audit log moves to PostgreSQL and verifies
    (the same audit root there, `hartslag audit verify` agrees, numbering
    continues); a real broker started on the moved store delivers what was
    queued; and the refusals (target not empty, source in use by a running
    broker, a newer source schema, an unreachable target) leave no tables
    behind. The source is written here through the broker's store code
    (broker_store_open makes its schema) and lib/audit_log: a real broker
    would take far too long for 100,000 signals.

    HARTSLAG_MIGRATE_SIGNALS sets the count (the sanitizer run uses fewer:
    SHA-256 and the copy are slow there); the plain run does 100,000. */
#include "audit_log.h"
#include "broker_harness.h"
#include "cert.h"
#include "checkpoint.h"
#include "db.h"
#include "pg_harness.h"
#include "store.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

PG_HARNESS_WANTED;

#define SIGNALS_DEFAULT 100000
#define CHECKPOINT_EVERY 10000
#define ORIGIN "hartslag.migratie/audit"
#define T0_MS 1772323200000LL /* 2026-03-01 */

static char *s_dir;
static char s_source[4300], s_cert[4300];
static unsigned char s_pk[32], s_sk[64];

static void s_setup(void)
{
    tu_watchdog(600);
    cr_assert_eq(sodium_init() >= 0, true);
    s_dir = tu_tmpdir();
    cr_assert_not_null(s_dir);
    snprintf(s_source, sizeof s_source, "sqlite:%s/broker.db", s_dir);
    crypto_sign_keypair(s_pk, s_sk);
    snprintf(s_cert, sizeof s_cert, "%s/broker.cert", s_dir);
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
    char err[512];
    cr_assert_eq(cert_save(&cert, s_cert, err, sizeof err), 0, "%s", err);
}

static void s_teardown(void)
{
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(migrate, .init = s_setup, .fini = s_teardown);

static int s_signals(void)
{
    const char *env = getenv("HARTSLAG_MIGRATE_SIGNALS");
    long n = env ? strtol(env, NULL, 10) : SIGNALS_DEFAULT;
    return n > 0 && n <= 10000000 ? (int)n : SIGNALS_DEFAULT;
}

/* Runs `hartslag-broker migrate ARGS... NULL` (or another binary when the
   first argument names one); stdout and stderr into *out and *err. */
static int s_run(const char *bin, char **out, char **err, ...)
{
    char *argv[16] = {(char *)tu_bin(bin)};
    va_list args;
    va_start(args, err);
    for (int i = 1; i < 15 && (argv[i] = va_arg(args, char *)) != NULL; i++)
        ;
    va_end(args);
    return tu_run(argv, NULL, out, err);
}

static int s_migrate(const char *from, const char *to, char **out, char **err)
{
    return s_run("hartslag-broker", out, err, "migrate", "--from", from, "--to", to, NULL);
}

static void s_exec(db_t *db, const char *sql)
{
    cr_assert_eq(db_exec(db, sql), 0, "%s: %s", sql, db_errmsg(db));
}

static int64_t s_int(const char *location, const char *sql)
{
    char err[512];
    db_t *db = db_open(location, 0, err, sizeof err);
    cr_assert_not_null(db, "%s", err);
    db_stmt_t *st = db_prepare(db, sql);
    cr_assert_not_null(st, "%s: %s", sql, db_errmsg(db));
    cr_assert_eq(db_step(st), DB_ROW, "%s: %s", sql, db_errmsg(db));
    int64_t value = db_column_int64(st, 0);
    db_reset(st);
    db_close(&db);
    return value;
}

/* Tables in the location's schema (PostgreSQL). */
static int64_t s_pg_tables(const char *location)
{
    return s_int(location, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
                           "current_schema()");
}

/* The audit tree's size and root on `location`. */
static void s_root(const char *location, uint64_t *size, unsigned char root[MERKLE_HASHBYTES])
{
    char err[512];
    db_t *db = db_open(location, 0, err, sizeof err);
    cr_assert_not_null(db, "%s", err);
    audit_log_t *log = audit_log_open(db, NULL, false, err, sizeof err);
    cr_assert_not_null(log, "%s", err);
    *size = audit_log_size(log);
    audit_log_root(log, root);
    audit_log_destroy(&log);
    db_close(&db);
}

/* A source store of `n` queued signals, each with a pending delivery, a
   match index row and an "accepted" audit record with a subject; a
   checkpoint every CHECKPOINT_EVERY records and a cosignature of each; a
   few rows in every other table. Some deliveries are settled and pruned,
   so SQLite's AUTOINCREMENT counter stands above the largest seq. */
static void s_fill(const char *location, int n)
{
    char err[1024];
    broker_store_t *store = broker_store_open(location, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    db_t *db = broker_store_db(store);
    audit_log_t *log = audit_log_open(db, ORIGIN, true, err, sizeof err);
    cr_assert_not_null(log, "%s", err);
    cr_assert_eq(broker_store_begin(store), 0);
    db_stmt_t *sig = db_prepare(db, "INSERT INTO signals(signal_id, sender, signal_type, purpose, "
                                    "subject, digest, sealed, accepted_at, valid_until, "
                                    "audit_index) VALUES($1, 'politie', 'overlast', "
                                    "'casusoverleg', $2, $3, $4, $5, $6, $7)");
    db_stmt_t *del = db_prepare(db, "INSERT INTO deliveries(signal_id, recipient, state, "
                                    "expires_at) VALUES($1, 'gemeente', 0, $2)");
    db_stmt_t *match = db_prepare(db, "INSERT INTO match_index(signal_id, subject, sender, "
                                      "signal_type, at_ms, valid_until) VALUES($1, $2, "
                                      "'politie', 'overlast', $3, $4)");
    cr_assert(sig && del && match, "%s", db_errmsg(db));
    uint8_t id[16], subject[32], digest[32], sealed[200];
    for (int i = 0; i < n; i++) {
        randombytes_buf(id, sizeof id);
        randombytes_buf(subject, sizeof subject);
        randombytes_buf(digest, sizeof digest);
        randombytes_buf(sealed, sizeof sealed);
        int64_t at = T0_MS + i;
        Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
        record.time_ms = (uint64_t)at;
        record.event = "accepted";
        record.actor_org = "politie";
        record.counterpart_org = "gemeente";
        record.has_signal_id = 1;
        record.signal_id.data = id;
        record.signal_id.len = sizeof id;
        record.has_subject = 1;
        record.subject.data = subject;
        record.subject.len = sizeof subject;
        record.outcome = "ok";
        int64_t index = audit_log_append(log, &record);
        cr_assert_geq(index, 0);
        cr_assert_eq(db_bind_blob(sig, 1, id, sizeof id), 0);
        cr_assert_eq(db_bind_blob(sig, 2, subject, sizeof subject), 0);
        cr_assert_eq(db_bind_blob(sig, 3, digest, sizeof digest), 0);
        if (i % 7 == 0) /* some already fetched by everyone: no ciphertext */
            cr_assert_eq(db_bind_null(sig, 4), 0);
        else
            cr_assert_eq(db_bind_blob(sig, 4, sealed, sizeof sealed), 0);
        cr_assert_eq(db_bind_int64(sig, 5, at), 0);
        cr_assert_eq(db_bind_int64(sig, 6, at + 86400000), 0);
        cr_assert_eq(db_bind_int64(sig, 7, index), 0);
        cr_assert_eq(db_run(sig), 0, "%s", db_errmsg(db));
        cr_assert_eq(db_bind_blob(del, 1, id, sizeof id), 0);
        cr_assert_eq(db_bind_int64(del, 2, at + 86400000), 0);
        cr_assert_eq(db_run(del), 0, "%s", db_errmsg(db));
        cr_assert_eq(db_bind_blob(match, 1, id, sizeof id), 0);
        cr_assert_eq(db_bind_blob(match, 2, subject, sizeof subject), 0);
        cr_assert_eq(db_bind_int64(match, 3, at), 0);
        cr_assert_eq(db_bind_int64(match, 4, at + 86400000), 0);
        cr_assert_eq(db_run(match), 0, "%s", db_errmsg(db));
        if ((i + 1) % CHECKPOINT_EVERY == 0 || i + 1 == n) {
            cr_assert_eq(audit_log_checkpoint(log, s_sk, at), 0);
            cr_assert_eq(audit_log_store_cosignature(log, (uint64_t)index + 1, "gemeente",
                                                     "— gemeente AAAA", at),
                         0);
        }
    }
    s_exec(db, "INSERT INTO broker_meta(key, value) VALUES('note', 'x');"
               "INSERT INTO partners_seen(curve_key, org) VALUES(x'0102', 'politie');"
               "INSERT INTO agreements_history(version, sha256, took_effect_at, file) "
               "VALUES(1, x'aa', 1, x'00ff00');"
               "INSERT INTO agreements_signatures(sha256, signer, signature) "
               "VALUES(x'aa', 'politie', x'0b');"
               "INSERT INTO notices(org, kind, signal_id, frame) VALUES('politie', 1, x'01', "
               "x'02');"
               "INSERT INTO match_state(rule_id, subject, members) VALUES('r1', x'03', "
               "'politie');"
               "INSERT INTO alerts(alert_id, rule_id, subject, raised_ms, state) "
               "VALUES(x'04', 'r1', x'03', 5, 'open');"
               /* the last ten deliveries settled and pruned: the counter
                  stands above the largest seq that is left */
               "DELETE FROM deliveries WHERE seq > (SELECT MAX(seq) - 10 FROM deliveries);");
    cr_assert_eq(broker_store_commit(store), 0, "%s", broker_store_error(store));
    audit_log_commit(log);
    audit_log_destroy(&log);
    broker_store_destroy(&store);
}

static void s_hex(const unsigned char *bytes, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

static const char *s_copied[] = {"signals",
                                 "deliveries",
                                 "match_index",
                                 "notices",
                                 "broker_meta",
                                 "partners_seen",
                                 "agreements_history",
                                 "agreements_signatures",
                                 "match_state",
                                 "alerts",
                                 "audit",
                                 "audit_nodes",
                                 "audit_meta",
                                 "checkpoints",
                                 "cosignatures",
                                 "audit_subjects"};

Test(migrate, moves_every_table_and_the_audit_root_of_a_large_store)
{
    int n = s_signals();
    s_fill(s_source, n);
    uint64_t size = 0;
    unsigned char root[MERKLE_HASHBYTES];
    s_root(s_source, &size, root);
    cr_assert_eq(size, (uint64_t)n);
    char hex[2 * MERKLE_HASHBYTES + 1];
    s_hex(root, sizeof root, hex);

    char target[4300];
    cr_assert_eq(pg_harness_schema("migrate_large", target, sizeof target), 0);
    char *out = NULL, *err = NULL;
    int rc = s_migrate(s_source, target, &out, &err);
    cr_assert_eq(rc, 0, "migrate failed (%d): %s%s", rc, out, err);
    cr_assert(strstr(out, hex), "the summary names the root %s: %s", hex, out);
    cr_assert(strstr(out, "copied signals: "), "%s", out);
    const char *summary = strstr(out, "migrate: done in");
    cr_assert(summary && strstr(summary, "the same on the source and the committed target"), "%s",
              out);
    cr_log_info("%d signals: %s", n, summary);
    free(out);
    free(err);

    /* Every table holds what the source holds. */
    for (size_t i = 0; i < sizeof s_copied / sizeof s_copied[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", s_copied[i]);
        cr_assert_eq(s_int(target, sql), s_int(s_source, sql), "%s", s_copied[i]);
    }
    cr_assert_eq(s_int(target, "SELECT COUNT(*) FROM signals"), n);
    cr_assert_eq(s_int(target, "SELECT COUNT(*) FROM signals WHERE sealed IS NULL"),
                 s_int(s_source, "SELECT COUNT(*) FROM signals WHERE sealed IS NULL"));
    cr_assert_eq(s_int(target, "SELECT version FROM schema_version WHERE component = 'broker'"),
                 BROKER_STORE_SCHEMA_VERSION);

    /* The root, from the committed target. */
    uint64_t size2 = 0;
    unsigned char root2[MERKLE_HASHBYTES];
    s_root(target, &size2, root2);
    cr_assert_eq(size2, size);
    cr_assert_eq(memcmp(root, root2, sizeof root), 0);

    /* hartslag audit verify says the same of both. */
    char *on_sqlite = NULL, *on_pg = NULL;
    cr_assert_eq(s_run("hartslag", &on_sqlite, &err, "audit", "verify", "--db", s_source,
                       "--broker-cert", s_cert, NULL),
                 0, "%s%s", on_sqlite, err);
    free(err);
    cr_assert_eq(s_run("hartslag", &on_pg, &err, "audit", "verify", "--db", target, "--broker-cert",
                       s_cert, NULL),
                 0, "%s%s", on_pg, err);
    free(err);
    char records[64];
    snprintf(records, sizeof records, "OK: %d records verified", n);
    cr_assert(strstr(on_pg, records), "%s", on_pg);
    cr_assert_str_eq(on_pg, on_sqlite);
    free(on_sqlite);
    free(on_pg);

    /* The numbering continues after the copied maximum, and after the
       pruned deliveries' numbers too. */
    char why[512];
    db_t *db = db_open(target, 0, why, sizeof why);
    cr_assert_not_null(db, "%s", why);
    db_stmt_t *st = db_prepare(db, "INSERT INTO deliveries(signal_id, recipient, state, "
                                   "expires_at) VALUES($1, 'welzijn', 0, 1) RETURNING seq");
    cr_assert_not_null(st, "%s", db_errmsg(db));
    cr_assert_eq(db_bind_blob(st, 1, "\x01", 1), 0);
    cr_assert_eq(db_step(st), DB_ROW, "%s", db_errmsg(db));
    int64_t seq = db_column_int64(st, 0);
    db_reset(st);
    cr_assert_eq(seq, s_int(s_source, "SELECT seq FROM sqlite_sequence WHERE name = "
                                      "'deliveries'") +
                          1);
    st = db_prepare(db, "INSERT INTO signals(signal_id, sender, signal_type, purpose, subject, "
                        "digest, accepted_at, valid_until, audit_index) VALUES($1, 'a', 'b', "
                        "'c', $2, $3, 0, 0, 0) RETURNING id");
    cr_assert_eq(db_bind_blob(st, 1, "\x02", 1), 0);
    cr_assert_eq(db_bind_blob(st, 2, "\x02", 1), 0);
    cr_assert_eq(db_bind_blob(st, 3, "\x02", 1), 0);
    cr_assert_eq(db_step(st), DB_ROW, "%s", db_errmsg(db));
    cr_assert_eq(db_column_int64(st, 0), s_int(s_source, "SELECT MAX(id) FROM signals") + 1);
    db_reset(st);
    db_close(&db);
}

/* A small source: the schema and a short audit log. */
static void s_small(const char *location)
{
    s_fill(location, 3);
}

Test(migrate, refuses_a_target_that_holds_a_store)
{
    s_small(s_source);
    char target[4300], err[1024];
    cr_assert_eq(pg_harness_schema("migrate_full", target, sizeof target), 0);
    broker_store_t *other = broker_store_open(target, err, sizeof err);
    cr_assert_not_null(other, "%s", err);
    broker_store_destroy(&other);
    int64_t tables = s_pg_tables(target);
    char *out = NULL, *errs = NULL;
    cr_assert_eq(s_migrate(s_source, target, &out, &errs), 1, "%s%s", out, errs);
    cr_assert(strstr(errs, "already holds a Hartslag store"), "%s", errs);
    /* The store that was there stays as it was. */
    cr_assert_eq(s_pg_tables(target), tables);
    free(out);
    free(errs);
}

Test(migrate, refuses_a_newer_source_schema_and_leaves_no_tables)
{
    s_small(s_source);
    char err[512];
    db_t *db = db_open(s_source, 0, err, sizeof err);
    cr_assert_not_null(db, "%s", err);
    s_exec(db, "UPDATE schema_version SET version = 99 WHERE component = 'broker'");
    db_close(&db);
    char target[4300];
    cr_assert_eq(pg_harness_schema("migrate_newer", target, sizeof target), 0);
    char *out = NULL, *errs = NULL;
    cr_assert_eq(s_migrate(s_source, target, &out, &errs), 1, "%s%s", out, errs);
    char expected[128];
    snprintf(expected, sizeof expected,
             "the source has schema version 99, this hartslag-broker writes version %d",
             BROKER_STORE_SCHEMA_VERSION);
    cr_assert(strstr(errs, expected), "%s", errs);
    cr_assert_eq(s_pg_tables(target), 0);
    free(out);
    free(errs);
}

/* PostgreSQL refuses a row half-way (text that is not UTF-8, which SQLite
   keeps): the transaction goes whole and the schema made for it too. */
Test(migrate, a_copy_that_fails_half_way_leaves_no_tables)
{
    s_fill(s_source, 500);
    char err[512];
    db_t *db = db_open(s_source, 0, err, sizeof err);
    cr_assert_not_null(db, "%s", err);
    s_exec(db, "INSERT INTO audit_meta(key, value) VALUES('x', CAST(x'ff41' AS TEXT))");
    db_close(&db);
    char target[4300];
    cr_assert_eq(pg_harness_schema("migrate_half", target, sizeof target), 0);
    char *out = NULL, *errs = NULL;
    cr_assert_eq(s_migrate(s_source, target, &out, &errs), 1, "%s%s", out, errs);
    cr_assert(strstr(out, "copied signals: 500 rows"), "the copy was under way: %s", out);
    cr_assert(strstr(out, "is empty again"), "%s", out);
    cr_assert(strstr(errs, "audit_meta"), "%s", errs);
    cr_assert_eq(s_pg_tables(target), 0);
    free(out);
    free(errs);
}

Test(migrate, refuses_an_unreachable_target)
{
    s_small(s_source);
    char target[256];
    snprintf(target, sizeof target, "postgresql://hartslag:geheim@127.0.0.1:%d/hartslag",
             pg_harness_free_port());
    char *out = NULL, *errs = NULL;
    cr_assert_eq(s_migrate(s_source, target, &out, &errs), 1, "%s%s", out, errs);
    cr_assert(strstr(errs, "cannot reach the target"), "%s", errs);
    cr_assert_null(strstr(errs, "geheim"), "the password is shown: %s", errs);
    cr_assert_null(strstr(out, "geheim"), "the password is shown: %s", out);
    free(out);
    free(errs);
}

Test(migrate, refuses_a_missing_source_and_a_source_that_is_not_sqlite)
{
    char missing[4400], target[4300];
    snprintf(missing, sizeof missing, "sqlite:%s/none/broker.db", s_dir);
    cr_assert_eq(pg_harness_schema("migrate_missing", target, sizeof target), 0);
    char *out = NULL, *errs = NULL;
    cr_assert_eq(s_migrate(missing, target, &out, &errs), 1, "%s%s", out, errs);
    cr_assert(strstr(errs, "cannot open the source"), "%s", errs);
    cr_assert_eq(s_pg_tables(target), 0);
    free(out);
    free(errs);
    cr_assert_eq(s_migrate(target, target, &out, &errs), 1, "%s%s", out, errs);
    cr_assert(strstr(errs, "--from must name a SQLite store"), "%s", errs);
    free(out);
    free(errs);
}

static const char *s_orgs[] = {"politie", "gemeente", "welzijn"};

static bh_client_t *s_connect(bh_t *bh, const char *org)
{
    bh_client_t *client = bh_client_new(bh, org, false);
    cr_assert_not_null(client);
    cr_assert_eq(bh_hello(client), 0, "%s got no Welcome", org);
    return client;
}

/* The id of the next Deliver `client` receives (acked), or false. */
static bool s_deliver(bh_client_t *client, uint8_t id[16])
{
    Hartslag__Frame *frame = bh_recv(client, 10000);
    if (!frame)
        return false;
    bool ok = frame->body_case == HARTSLAG__FRAME__BODY_DELIVER && frame->deliver->signal;
    if (ok) {
        Hartslag__SignalHeader *header = hartslag__signal_header__unpack(
            NULL, frame->deliver->signal->header.len, frame->deliver->signal->header.data);
        ok = header && header->signal_id.len == 16;
        if (ok)
            memcpy(id, header->signal_id.data, 16);
        if (header)
            hartslag__signal_header__free_unpacked(header, NULL);
    }
    hartslag__frame__free_unpacked(frame, NULL);
    if (ok)
        bh_ack(client, id, true, NULL);
    return ok;
}

#define QUEUED 3

Test(migrate, a_running_broker_is_refused_and_the_moved_store_delivers_what_was_queued)
{
    bh_t *bh = bh_new(s_orgs, 3, bh_default_agreements);
    cr_assert_not_null(bh);
    cr_assert_eq(bh_start(bh, NULL), 0, "broker did not start");
    const char *source = bh_store(bh);
    cr_assert_eq(strncmp(source, "sqlite:", 7), 0, "the harness's broker runs on SQLite here");
    /* Signals for gemeente, which is not connected: they stay queued. */
    bh_client_t *politie = s_connect(bh, "politie");
    uint8_t ids[QUEUED][16];
    for (int i = 0; i < QUEUED; i++) {
        uint8_t *sealed = NULL;
        size_t len = 0;
        cr_assert_eq(bh_seal(bh, politie, "gemeente", "overlast", "casusoverleg", "datum", NULL,
                             &sealed, &len, ids[i]),
                     0);
        Hartslag__Frame *answer = bh_submit(politie, sealed, len, 5000);
        free(sealed);
        cr_assert_not_null(answer);
        cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_ACCEPTED);
        hartslag__frame__free_unpacked(answer, NULL);
    }
    bh_client_destroy(&politie);

    /* While the broker runs, the source is refused and the target stays
       empty. */
    char target[4300];
    cr_assert_eq(pg_harness_schema("migrate_live", target, sizeof target), 0);
    char *out = NULL, *errs = NULL;
    cr_assert_eq(s_migrate(source, target, &out, &errs), 1, "%s%s", out, errs);
    cr_assert(strstr(errs, "is in use"), "%s", errs);
    cr_assert_eq(s_pg_tables(target), 0);
    free(out);
    free(errs);

    /* Stopped: it moves, and a broker on the moved store delivers. */
    bh_stop(bh, SIGTERM);
    uint64_t size = 0;
    unsigned char root[MERKLE_HASHBYTES];
    s_root(source, &size, root);
    cr_assert_eq(s_migrate(source, target, &out, &errs), 0, "%s%s", out, errs);
    free(out);
    free(errs);
    uint64_t size2 = 0;
    unsigned char root2[MERKLE_HASHBYTES];
    s_root(target, &size2, root2);
    cr_assert_eq(size2, size);
    cr_assert_eq(memcmp(root, root2, sizeof root), 0);

    char extra[4400];
    snprintf(extra, sizeof extra, "store: \"%s\"\n", target);
    cr_assert_eq(bh_start(bh, extra), 0, "broker did not start on the moved store");
    bh_client_t *gemeente = s_connect(bh, "gemeente");
    bool seen[QUEUED] = {false};
    for (int i = 0; i < QUEUED; i++) {
        uint8_t id[16];
        cr_assert(s_deliver(gemeente, id), "delivery %d did not come", i);
        for (int k = 0; k < QUEUED; k++)
            if (memcmp(id, ids[k], 16) == 0)
                seen[k] = true;
    }
    for (int k = 0; k < QUEUED; k++)
        cr_assert(seen[k], "signal %d was not delivered", k);
    bh_client_destroy(&gemeente);
    /* The broker appended to the moved log: it grew from where it was. */
    bh_stop(bh, SIGTERM);
    s_root(target, &size2, root2);
    cr_assert_gt(size2, size);
    bh_destroy(&bh);
}
