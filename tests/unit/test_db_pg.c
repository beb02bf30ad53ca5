/*  Tests for lib/db's PostgreSQL backend (lib/db_pg.c) against a private
    cluster (tests/support/pg_harness): locations, every column type round
    trip, the statement cache, pipelined writes (commit keeps all, an error
    anywhere fails the whole transaction), the error classes the broker
    tells apart, error texts that never quote a value, and a connection
    that is cut or a server that restarts: the transaction fails, the next
    one works. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "pg_harness.h"
#include "testutil.h"

static char s_loc[512];
static char s_schema[64];
static char s_err[256];

PG_HARNESS_WANTED;

static void s_setup(void)
{
    tu_watchdog(120);
    cr_assert_not_null(pg_harness_location_env(), "no PostgreSQL test cluster");
    snprintf(s_schema, sizeof s_schema, "t%ld", (long)getpid());
    cr_assert_eq(pg_harness_schema(s_schema, s_loc, sizeof s_loc), 0);
}

TestSuite(db_pg, .init = s_setup);

static db_t *s_open_table(void)
{
    db_t *db = db_open(s_loc, DB_CREATE, s_err, sizeof s_err);
    cr_assert_not_null(db, "%s", s_err);
    cr_assert_eq(db_exec(db, "CREATE TABLE t(k BIGINT PRIMARY KEY, b BYTEA, s TEXT UNIQUE)"), 0,
                 "%s", db_errmsg(db));
    return db;
}

static int s_insert(db_t *db, int64_t k, const char *s)
{
    db_stmt_t *st = db_prepare(db, "INSERT INTO t(k, b, s) VALUES ($1, $2, $3)");
    cr_assert_not_null(st, "%s", db_errmsg(db));
    cr_assert_eq(db_bind_int64(st, 1, k), 0);
    cr_assert_eq(db_bind_blob(st, 2, "\x00\x01\x02", 3), 0);
    cr_assert_eq(db_bind_text(st, 3, s), 0);
    return db_run(st);
}

static int64_t s_count(db_t *db)
{
    db_stmt_t *st = db_prepare(db, "SELECT count(*) FROM t");
    cr_assert_not_null(st, "%s", db_errmsg(db));
    cr_assert_eq(db_step(st), DB_ROW, "%s", db_errmsg(db));
    int64_t n = db_column_int64(st, 0);
    db_reset(st);
    return n;
}

Test(db_pg, locations)
{
    db_t *db = db_open(s_loc, 0, s_err, sizeof s_err);
    cr_assert_not_null(db, "%s", s_err);
    cr_assert_str_eq(db_backend(db), "postgresql");
    cr_assert_null(db_path(db));
    db_close(&db);
    cr_assert_null(db);
    /* nobody listens on port 1 of the loopback: a clear refusal, quickly */
    cr_assert_null(db_open("postgresql://hartslag@127.0.0.1:1/hartslag", 0, s_err, sizeof s_err));
    cr_assert_neq(strstr(s_err, "cannot connect"), NULL, "%s", s_err);
}

/* A location naming two servers (libpq's multi-host form, how brokers
   follow a promoted replica: docs/operations.md "Replication is
   PostgreSQL's job"): the first that takes writes is used, and when none
   does the error names every server tried, on one line. */
Test(db_pg, a_location_of_two_servers)
{
    const char *base = pg_harness_location_env();
    const char *at = strstr(base, "@127.0.0.1:");
    cr_assert_not_null(at);
    int port = (int)strtol(at + strlen("@127.0.0.1:"), NULL, 10);
    char loc[1024];
    snprintf(loc, sizeof loc,
             "postgresql://hartslag@127.0.0.1:1,127.0.0.1:%d/hartslag?"
             "target_session_attrs=read-write&%s",
             port, strchr(s_loc, '?') + 1);
    db_t *db = db_open(loc, DB_CREATE, s_err, sizeof s_err);
    cr_assert_not_null(db, "%s", s_err);
    db_stmt_t *st = db_prepare(db, "SELECT CAST(inet_server_port() AS BIGINT)");
    cr_assert_not_null(st, "%s", db_errmsg(db));
    cr_assert_eq(db_step(st), DB_ROW, "%s", db_errmsg(db));
    cr_assert_eq(db_column_int64(st, 0), port, "the server that listens");
    db_reset(st);
    db_close(&db);

    /* nobody listens on ports 1 and 2: both refusals, one line */
    cr_assert_null(
        db_open("postgresql://hartslag@127.0.0.1:1,127.0.0.1:2/hartslag", 0, s_err, sizeof s_err));
    cr_assert(strstr(s_err, "port 1 failed: Connection refused"), "%s", s_err);
    cr_assert(strstr(s_err, "; connection to server at \"127.0.0.1\", port 2 failed"), "%s", s_err);
    cr_assert_null(strchr(s_err, '\n'), "%s", s_err);
    cr_assert_null(strchr(s_err, '\t'), "%s", s_err);

    /* the second is up but read-only (as a hot standby before its
       promotion): it is refused, and the error says why */
    snprintf(loc, sizeof loc,
             "postgresql://hartslag@127.0.0.1:1,127.0.0.1:%d/hartslag?"
             "target_session_attrs=read-write&options=-cdefault_transaction_read_only%%3Don",
             port);
    cr_assert_null(db_open(loc, 0, s_err, sizeof s_err));
    cr_assert(strstr(s_err, "port 1 failed: Connection refused"), "%s", s_err);
    cr_assert(strstr(s_err, "failed: session is read-only"), "%s", s_err);
}

Test(db_pg, round_trip_all_types)
{
    db_t *db = s_open_table();
    unsigned char every[65536];
    for (size_t i = 0; i < sizeof every; i++)
        every[i] = (unsigned char)(i * 7 + i / 256);
    db_stmt_t *st = db_prepare(db, "INSERT INTO t(k, b, s) VALUES ($1, $2, $3)");
    cr_assert_eq(db_bind_int64(st, 1, INT64_MIN), 0);
    cr_assert_eq(db_bind_blob(st, 2, every, sizeof every), 0);
    cr_assert_eq(db_bind_text(st, 3, "zeven \xc3\xa9 'quote' \"dq\" \\x"), 0);
    cr_assert_eq(db_run(st), 0, "%s", db_errmsg(db));
    cr_assert_eq(db_changes(db), 1);
    st = db_prepare(db, "INSERT INTO t(k, b, s) VALUES ($1, $2, $3)");
    cr_assert_eq(db_bind_int64(st, 1, INT64_MAX), 0);
    cr_assert_eq(db_bind_null(st, 2), 0);
    cr_assert_eq(db_bind_text(st, 3, NULL), 0);
    cr_assert_eq(db_run(st), 0, "%s", db_errmsg(db));
    st = db_prepare(db, "INSERT INTO t(k, b, s) VALUES ($1, $2, $3)");
    cr_assert_eq(db_bind_int64(st, 1, 0), 0);
    cr_assert_eq(db_bind_blob(st, 2, "", 0), 0);
    cr_assert_eq(db_bind_text(st, 3, ""), 0);
    cr_assert_eq(db_run(st), 0, "%s", db_errmsg(db));

    st = db_prepare(db, "SELECT k, b, s FROM t WHERE k >= $1 OR k < $2 ORDER BY k");
    cr_assert_eq(db_bind_int64(st, 1, 0), 0);
    cr_assert_eq(db_bind_int64(st, 2, 0), 0);
    cr_assert_eq(db_step(st), DB_ROW, "%s", db_errmsg(db));
    cr_assert_eq(db_column_count(st), 3);
    cr_assert_eq(db_column_int64(st, 0), INT64_MIN);
    size_t len = 0;
    const unsigned char *b = db_column_blob(st, 1, &len);
    cr_assert_eq(len, sizeof every);
    cr_assert_eq(memcmp(b, every, sizeof every), 0);
    cr_assert_str_eq(db_column_text(st, 2), "zeven \xc3\xa9 'quote' \"dq\" \\x");
    cr_assert_eq(db_step(st), DB_ROW);
    cr_assert_eq(db_column_int64(st, 0), 0);
    b = db_column_blob(st, 1, &len);
    cr_assert_eq(len, 0);
    cr_assert_not(db_column_is_null(st, 1), "an empty blob is not NULL");
    cr_assert_str_eq(db_column_text(st, 2), "");
    cr_assert_eq(db_step(st), DB_ROW);
    cr_assert_eq(db_column_int64(st, 0), INT64_MAX);
    cr_assert(db_column_is_null(st, 1));
    cr_assert(db_column_is_null(st, 2));
    cr_assert_null(db_column_blob(st, 1, &len));
    cr_assert_eq(len, 0);
    cr_assert_null(db_column_text(st, 2));
    cr_assert_eq(db_step(st), DB_DONE);
    db_reset(st);

    /* aggregates come back as integers whatever their SQL type */
    st = db_prepare(db, "SELECT count(*), CAST(SUM(length(b)) AS BIGINT), MAX(k) > 0 FROM t");
    cr_assert_eq(db_step(st), DB_ROW, "%s", db_errmsg(db));
    cr_assert_eq(db_column_int64(st, 0), 3);
    cr_assert_eq(db_column_int64(st, 1), (int64_t)sizeof every);
    cr_assert_eq(db_column_int64(st, 2), 1);
    db_reset(st);
    db_close(&db);
}

Test(db_pg, statements_are_cached_and_reset)
{
    db_t *db = s_open_table();
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT k FROM t WHERE k = $1");
    db_stmt_t *a = db_prepare(db, sql);
    cr_assert_not_null(a);
    cr_assert_eq(db_bind_int64(a, 1, 7), 0);
    char copy[64];
    memcpy(copy, sql, sizeof copy);
    cr_assert_eq(s_insert(db, 0, "nul"), 0);
    db_stmt_t *b = db_prepare(db, copy);
    cr_assert_eq(a, b);
    cr_assert_eq(db_step(b), DB_DONE, "k = NULL matches nothing once the binding is cleared");
    db_reset(b);
    db_stmt_t *sts[100];
    for (int i = 0; i < 100; i++) {
        snprintf(sql, sizeof sql, "SELECT %d + $1", i);
        sts[i] = db_prepare(db, sql);
        cr_assert_not_null(sts[i]);
    }
    for (int i = 0; i < 100; i++) {
        snprintf(sql, sizeof sql, "SELECT %d + $1", i);
        cr_assert_eq(db_prepare(db, sql), sts[i]);
        cr_assert_eq(db_bind_int64(sts[i], 1, 1), 0);
        cr_assert_eq(db_step(sts[i]), DB_ROW, "%s", db_errmsg(db));
        cr_assert_eq(db_column_int64(sts[i], 0), i + 1);
        db_reset(sts[i]);
    }
    cr_assert_null(db_prepare(db, "SELECT $1001"));
    db_stmt_t *bad = db_prepare(db, "SELEKT 1");
    cr_assert(bad == NULL || db_step(bad) == DB_ERROR);
    cr_assert_eq(db_error(db), DB_ERR_OTHER);
    db_close(&db);
}

Test(db_pg, pipelined_transaction_commits_whole)
{
    db_t *db = s_open_table();
    cr_assert_eq(db_begin(db), 0, "%s", db_errmsg(db));
    cr_assert(db_in_transaction(db));
    char name[32];
    for (int i = 0; i < 1500; i++) { /* beyond one pipeline's read-back */
        snprintf(name, sizeof name, "n%d", i);
        cr_assert_eq(s_insert(db, i, name), 0, "%s", db_errmsg(db));
    }
    /* a read inside the transaction sees the queued writes */
    cr_assert_eq(s_count(db), 1500);
    cr_assert_eq(s_insert(db, 5000, "late"), 0);
    cr_assert_eq(db_commit(db), 0, "%s", db_errmsg(db));
    cr_assert_not(db_in_transaction(db));
    db_close(&db);
    db = db_open(s_loc, DB_READONLY, s_err, sizeof s_err);
    cr_assert_not_null(db, "%s", s_err);
    cr_assert_eq(s_count(db), 1501);
    db_close(&db);
}

Test(db_pg, rollback_leaves_nothing)
{
    db_t *db = s_open_table();
    cr_assert_eq(db_begin(db), 0);
    cr_assert_eq(s_insert(db, 1, "een"), 0);
    cr_assert_eq(s_insert(db, 2, "twee"), 0);
    db_rollback(db);
    cr_assert_not(db_in_transaction(db));
    cr_assert_eq(s_count(db), 0);
    db_rollback(db); /* outside a transaction: nothing */
    db_close(&db);
}

Test(db_pg, error_in_pipeline_fails_the_whole_transaction)
{
    db_t *db = s_open_table();
    cr_assert_eq(db_begin(db), 0);
    cr_assert_eq(s_insert(db, 1, "een"), 0);
    /* the duplicate is queued; its error comes with the commit */
    int queued = s_insert(db, 2, "een");
    cr_assert_eq(s_insert(db, 3, "drie"), queued == 0 ? 0 : -1);
    cr_assert_eq(db_commit(db), -1);
    cr_assert_eq(db_error(db), DB_ERR_CONSTRAINT, "%s", db_errmsg(db));
    db_rollback(db);
    cr_assert_eq(db_error(db), DB_ERR_CONSTRAINT, "rollback keeps the reason");
    cr_assert_not(db_in_transaction(db));
    cr_assert_eq(s_count(db), 0, "nothing of the failed transaction stays");
    /* the connection is usable for the next one */
    cr_assert_eq(db_begin(db), 0, "%s", db_errmsg(db));
    cr_assert_eq(s_insert(db, 4, "vier"), 0);
    cr_assert_eq(db_commit(db), 0, "%s", db_errmsg(db));
    cr_assert_eq(s_count(db), 1);
    db_close(&db);
}

/* A read while writes wait in the pipeline joins them (one round trip):
   it sees them, its rows are whole, and a queued write's error fails the
   read with the write's reason. */
Test(db_pg, a_read_joins_the_queued_writes)
{
    db_t *db = s_open_table();
    cr_assert_eq(db_begin(db), 0);
    char name[32];
    for (int round = 1; round <= 50; round++) {
        for (int i = 0; i < 3; i++) {
            snprintf(name, sizeof name, "r%d-%d", round, i);
            cr_assert_eq(s_insert(db, round * 10 + i, name), 0, "%s", db_errmsg(db));
        }
        db_stmt_t *st = db_prepare(db, "SELECT k, s FROM t WHERE k >= $1 ORDER BY k");
        cr_assert_not_null(st);
        db_bind_int64(st, 1, round * 10);
        for (int i = 0; i < 3; i++) {
            cr_assert_eq(db_step(st), DB_ROW, "%s", db_errmsg(db));
            cr_assert_eq(db_column_int64(st, 0), round * 10 + i);
            snprintf(name, sizeof name, "r%d-%d", round, i);
            cr_assert_str_eq(db_column_text(st, 1), name);
        }
        cr_assert_eq(db_step(st), DB_DONE);
        db_reset(st);
    }
    cr_assert_eq(s_count(db), 150);
    /* a failing write, then a read: the read fails with the write's reason */
    cr_assert_eq(s_insert(db, 9999, "r1-0"), 0, "queued, not answered yet");
    db_stmt_t *st = db_prepare(db, "SELECT count(*) FROM t");
    cr_assert_eq(db_step(st), DB_ERROR);
    cr_assert_eq(db_error(db), DB_ERR_CONSTRAINT, "%s", db_errmsg(db));
    db_reset(st);
    db_rollback(db);
    cr_assert_eq(s_count(db), 0);
    db_close(&db);
}

Test(db_pg, error_classes_and_texts_without_values)
{
    db_t *db = s_open_table();
    cr_assert_eq(db_exec(db, "CREATE TABLE v(s VARCHAR(4))"), 0, "%s", db_errmsg(db));
    /* constraint outside a transaction, the value not in the text */
    cr_assert_eq(s_insert(db, 1, "geheim-111222333"), 0);
    cr_assert_eq(s_insert(db, 2, "geheim-111222333"), -1);
    cr_assert_eq(db_error(db), DB_ERR_CONSTRAINT);
    cr_assert_null(strstr(db_errmsg(db), "111222333"), "%s", db_errmsg(db));
    cr_assert_neq(strlen(db_errmsg(db)), 0);
    /* a data exception's text would quote the value: not kept */
    db_stmt_t *st = db_prepare(db, "INSERT INTO v(s) VALUES ($1)");
    cr_assert_eq(db_bind_text(st, 1, "111222333"), 0);
    cr_assert_eq(db_run(st), -1);
    cr_assert_null(strstr(db_errmsg(db), "111222333"), "%s", db_errmsg(db));

    /* busy: another connection holds the table */
    db_t *other = db_open(s_loc, 0, s_err, sizeof s_err);
    cr_assert_not_null(other, "%s", s_err);
    cr_assert_eq(db_begin(other), 0);
    cr_assert_eq(db_exec(other, "LOCK TABLE t IN ACCESS EXCLUSIVE MODE"), 0, "%s",
                 db_errmsg(other));
    db_set_busy_timeout(db, 100);
    cr_assert_eq(s_insert(db, 5, "vijf"), -1);
    cr_assert_eq(db_error(db), DB_ERR_BUSY, "%s", db_errmsg(db));
    db_rollback(other);
    db_close(&other);
    cr_assert_eq(s_insert(db, 5, "vijf"), 0, "%s", db_errmsg(db));
    db_close(&db);

    /* readonly */
    db = db_open(s_loc, DB_READONLY, s_err, sizeof s_err);
    cr_assert_not_null(db, "%s", s_err);
    cr_assert_eq(s_insert(db, 9, "negen"), -1);
    cr_assert_eq(db_error(db), DB_ERR_READONLY, "%s", db_errmsg(db));
    cr_assert_eq(s_count(db), 2);
    db_close(&db);
}

/* Cuts this test's sessions from the server side. */
static void s_terminate_sessions(void)
{
    PGconn *conn = PQconnectdb(pg_harness_location_env());
    cr_assert_eq(PQstatus(conn), CONNECTION_OK);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE pid <> pg_backend_pid() AND application_name = '%s'",
             s_schema);
    PGresult *res = PQexec(conn, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    PQfinish(conn);
}

Test(db_pg, cut_connection_fails_the_transaction_then_reconnects)
{
    db_t *db = s_open_table();
    cr_assert_eq(db_set_session(db, "SET idle_session_timeout = '7s'"), 0, "%s", db_errmsg(db));
    uint64_t session = db_session(db);
    cr_assert_eq(s_insert(db, 1, "een"), 0);
    cr_assert_eq(db_begin(db), 0);
    cr_assert_eq(s_insert(db, 2, "twee"), 0);
    s_terminate_sessions();
    cr_assert_eq(db_commit(db), -1);
    cr_assert_eq(db_error(db), DB_ERR_IO, "%s", db_errmsg(db));
    db_rollback(db);
    cr_assert_not(db_in_transaction(db));
    /* the next transaction reconnects and prepares its statements again */
    cr_assert_eq(db_begin(db), 0, "%s", db_errmsg(db));
    cr_assert_eq(s_insert(db, 3, "drie"), 0, "%s", db_errmsg(db));
    cr_assert_eq(db_commit(db), 0, "%s", db_errmsg(db));
    cr_assert_eq(s_count(db), 2, "the cut transaction left nothing");
    cr_assert_gt(db_session(db), session, "a new session after the cut");
    /* the caller's session settings hold on the new session too */
    db_stmt_t *tz = db_prepare(db, "SELECT current_setting('idle_session_timeout')");
    cr_assert_eq(db_step(tz), DB_ROW, "%s", db_errmsg(db));
    cr_assert_str_eq(db_column_text(tz, 0), "7s");
    db_reset(tz);
    /* cut while idle: a BEGIN finds out and starts again on a new session */
    s_terminate_sessions();
    cr_assert_eq(db_begin(db), 0, "%s", db_errmsg(db));
    cr_assert_eq(s_count(db), 2, "%s", db_errmsg(db));
    db_rollback(db);
    /* any other statement fails once (it may have run), then reconnects */
    s_terminate_sessions();
    db_stmt_t *st = db_prepare(db, "SELECT count(*) FROM t");
    if (db_step(st) == DB_ERROR)
        cr_assert_eq(db_error(db), DB_ERR_IO, "%s", db_errmsg(db));
    db_reset(st);
    cr_assert_eq(s_count(db), 2, "%s", db_errmsg(db));
    db_close(&db);
}

Test(db_pg, server_restart)
{
    /* its own cluster: stopping the shared one would fail the others */
    char err[512];
    pg_harness_t *cluster = pg_harness_start(err, sizeof err);
    cr_assert_not_null(cluster, "%s", err);
    db_t *db = db_open(pg_harness_location(cluster), 0, s_err, sizeof s_err);
    cr_assert_not_null(db, "%s", s_err);
    cr_assert_eq(db_exec(db, "CREATE TABLE t(k BIGINT PRIMARY KEY, b BYTEA, s TEXT UNIQUE)"), 0);
    cr_assert_eq(s_insert(db, 1, "een"), 0);
    cr_assert_eq(pg_harness_command(cluster, "kill"), 0);
    cr_assert_eq(db_begin(db), -1, "a dead server cannot begin");
    cr_assert_eq(db_error(db), DB_ERR_IO, "%s", db_errmsg(db));
    cr_assert_eq(pg_harness_command(cluster, "start"), 0);
    cr_assert_eq(db_begin(db), 0, "%s", db_errmsg(db));
    cr_assert_eq(s_insert(db, 2, "twee"), 0);
    cr_assert_eq(db_commit(db), 0, "%s", db_errmsg(db));
    cr_assert_eq(s_count(db), 2);
    db_close(&db);
    pg_harness_destroy(&cluster);
}

/* db_refuse: while on, nothing runs and nothing is written, in or out of
   a transaction; the bindings of a refused run are gone; off again, the
   connection works as before. */
Test(db_pg, refusing_runs_nothing)
{
    db_t *db = s_open_table();
    cr_assert_eq(s_insert(db, 1, "een"), 0);
    db_refuse(db, true);
    cr_assert_eq(s_insert(db, 2, "twee"), -1);
    cr_assert_eq(db_exec(db, "DELETE FROM t"), -1);
    db_stmt_t *st = db_prepare(db, "SELECT count(*) FROM t");
    cr_assert_eq(db_step(st), DB_ERROR);
    db_reset(st);
    db_refuse(db, false);
    cr_assert_eq(s_count(db), 1, "nothing of the refused statements ran");
    /* the statement a refused run reset works again, bound anew */
    st = db_prepare(db, "INSERT INTO t(k, b, s) VALUES ($1, $2, $3)");
    cr_assert_eq(db_bind_int64(st, 1, 3), 0);
    cr_assert_eq(db_bind_blob(st, 2, "x", 1), 0);
    cr_assert_eq(db_bind_text(st, 3, "drie"), 0);
    cr_assert_eq(db_run(st), 0, "%s", db_errmsg(db));
    cr_assert_eq(s_count(db), 2);
    db_close(&db);
}
