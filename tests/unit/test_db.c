/*  Tests for lib/db (SQLite implementation): locations, the statement
    cache and $N placeholders, all column types round trip, the caller's
    transaction (commit keeps, rollback leaves nothing), and each error
    class the broker must tell apart (busy, full, corrupt, constraint,
    readonly) with a reason text. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "testutil.h"

static char *s_dir;
static char s_path[4200];
static char s_err[256];

static void s_setup(void)
{
    tu_watchdog(60);
    s_dir = tu_tmpdir();
    cr_assert_not_null(s_dir);
    snprintf(s_path, sizeof s_path, "%s/t.db", s_dir);
}

static void s_teardown(void)
{
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(db, .init = s_setup, .fini = s_teardown);

static db_t *s_open_table(void)
{
    db_t *db = db_open(s_path, DB_CREATE, s_err, sizeof s_err);
    cr_assert_not_null(db, "%s", s_err);
    cr_assert_eq(db_exec(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, b BLOB, s TEXT UNIQUE)"), 0,
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
    cr_assert_not_null(st);
    cr_assert_eq(db_step(st), DB_ROW);
    int64_t n = db_column_int64(st, 0);
    db_reset(st);
    return n;
}

Test(db, locations)
{
    char loc[4300];
    snprintf(loc, sizeof loc, "sqlite:%s", s_path);
    db_t *db = db_open(loc, DB_CREATE, s_err, sizeof s_err);
    cr_assert_not_null(db, "%s", s_err);
    cr_assert_str_eq(db_backend(db), "sqlite");
    cr_assert_str_eq(db_path(db), s_path);
    db_close(&db);
    cr_assert_null(db);
    db_close(&db); /* twice is safe */

    cr_assert_null(db_open("mysql://127.0.0.1/x", DB_CREATE, s_err, sizeof s_err));
    cr_assert_neq(strstr(s_err, "scheme"), NULL);
    cr_assert_null(db_open("sqlite:", DB_CREATE, s_err, sizeof s_err));

    char missing[4300];
    snprintf(missing, sizeof missing, "%s/missing.db", s_dir);
    cr_assert_null(db_open(missing, DB_READONLY, s_err, sizeof s_err));
    cr_assert_null(db_open(missing, 0, s_err, sizeof s_err));
}

/* What messages and log lines show of a location: never its password
   (in the user part or as password=), the rest as it is, also with
   several hosts (docs/operations.md "Replication is PostgreSQL's job"). */
Test(db, a_location_shown_without_its_password)
{
    static const char *cases[][2] = {
        {"postgresql://hartslag@db-a:5432,db-b:5432/hartslag?target_session_attrs=read-write",
         "postgresql://hartslag@db-a:5432,db-b:5432/hartslag?target_session_attrs=read-write"},
        {"postgresql://hartslag:s3cret@db-a:5432,db-b:5432/"
         "hartslag?target_session_attrs=read-write",
         "postgresql://hartslag:***@db-a:5432,db-b:5432/hartslag?target_session_attrs=read-write"},
        {"postgresql://db-a,db-b/hartslag?password=s3cret&target_session_attrs=read-write",
         "postgresql://db-a,db-b/hartslag?password=***&target_session_attrs=read-write"},
        {"postgres://u:p%40ss@h/d?sslmode=verify-full&password=x",
         "postgres://u:***@h/d?sslmode=verify-full&password=***"},
        {"postgresql://h:5432/d?options=-csearch_path%3Dzvh",
         "postgresql://h:5432/d?options=-csearch_path%3Dzvh"},
        {"sqlite:/var/lib/hartslag/broker.db", "sqlite:/var/lib/hartslag/broker.db"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char shown[512];
        db_location_shown(cases[i][0], shown, sizeof shown);
        cr_assert_str_eq(shown, cases[i][1]);
        cr_assert_null(strstr(shown, "s3cret"));
    }
    /* cut to a small buffer: no start of the password either */
    for (size_t n = 1; n <= 26; n++) {
        char small[32];
        db_location_shown("postgresql://u:s3cret@h/d", small, n);
        cr_assert_null(strstr(small, "s3"), "%zu: %s", n, small);
    }
}

Test(db, round_trip_all_types)
{
    db_t *db = s_open_table();
    cr_assert_eq(s_insert(db, 7, "zeven"), 0, "%s", db_errmsg(db));
    db_stmt_t *st = db_prepare(db, "INSERT INTO t(k, b, s) VALUES ($1, $2, $3)");
    cr_assert_eq(db_bind_int64(st, 1, INT64_MAX), 0);
    cr_assert_eq(db_bind_null(st, 2), 0);
    cr_assert_eq(db_bind_text(st, 3, NULL), 0);
    cr_assert_eq(db_run(st), 0);
    cr_assert_eq(db_changes(db), 1);

    st = db_prepare(db, "SELECT k, b, s FROM t WHERE k >= $1 ORDER BY k");
    cr_assert_eq(db_bind_int64(st, 1, 0), 0);
    cr_assert_eq(db_step(st), DB_ROW);
    cr_assert_eq(db_column_count(st), 3);
    cr_assert_eq(db_column_int64(st, 0), 7);
    size_t len = 0;
    const unsigned char *b = db_column_blob(st, 1, &len);
    cr_assert_eq(len, 3);
    cr_assert_eq(memcmp(b, "\x00\x01\x02", 3), 0);
    cr_assert_str_eq(db_column_text(st, 2), "zeven");
    cr_assert_not(db_column_is_null(st, 2));
    cr_assert_eq(db_step(st), DB_ROW);
    cr_assert_eq(db_column_int64(st, 0), INT64_MAX);
    cr_assert(db_column_is_null(st, 1));
    cr_assert(db_column_is_null(st, 2));
    cr_assert_null(db_column_blob(st, 1, &len));
    cr_assert_eq(len, 0);
    cr_assert_eq(db_step(st), DB_DONE);
    db_reset(st);
    db_close(&db);
}

Test(db, statements_are_cached_and_reset)
{
    db_t *db = s_open_table();
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT k FROM t WHERE k = $1");
    db_stmt_t *a = db_prepare(db, sql);
    cr_assert_not_null(a);
    cr_assert_eq(db_bind_int64(a, 1, 7), 0);
    /* the same text from another buffer finds the same statement, reset
       and without the old binding */
    char copy[64];
    memcpy(copy, sql, sizeof copy);
    cr_assert_eq(s_insert(db, 0, "nul"), 0);
    db_stmt_t *b = db_prepare(db, copy);
    cr_assert_eq(a, b);
    cr_assert_eq(db_step(b), DB_DONE, "k = NULL matches nothing once the binding is cleared");
    /* many statements: the cache grows and keeps every one */
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
        cr_assert_eq(db_step(sts[i]), DB_ROW);
        cr_assert_eq(db_column_int64(sts[i], 0), i + 1);
        db_reset(sts[i]);
    }
    db_close(&db);
}

Test(db, placeholders_out_of_order_refused)
{
    db_t *db = s_open_table();
    cr_assert_null(db_prepare(db, "SELECT $2, $1"));
    cr_assert_eq(db_error(db), DB_ERR_OTHER);
    cr_assert_neq(strstr(db_errmsg(db), "$1"), NULL);
    cr_assert_null(db_prepare(db, "SELECT ?"));
    /* a number used twice is one parameter */
    db_stmt_t *st = db_prepare(db, "SELECT $1 + $1, $2");
    cr_assert_not_null(st, "%s", db_errmsg(db));
    cr_assert_eq(db_bind_int64(st, 1, 20), 0);
    cr_assert_eq(db_bind_int64(st, 2, 1), 0);
    cr_assert_eq(db_step(st), DB_ROW);
    cr_assert_eq(db_column_int64(st, 0), 40);
    db_reset(st);
    cr_assert_null(db_prepare(db, "SELEKT 1"));
    cr_assert_eq(db_error(db), DB_ERR_OTHER);
    db_close(&db);
}

Test(db, commit_keeps_rollback_leaves_nothing)
{
    db_t *db = s_open_table();
    cr_assert_eq(db_begin(db), 0);
    cr_assert(db_in_transaction(db));
    cr_assert_eq(s_insert(db, 1, "een"), 0);
    cr_assert_eq(s_insert(db, 2, "twee"), 0);
    db_rollback(db);
    cr_assert_not(db_in_transaction(db));
    cr_assert_eq(s_count(db), 0);
    db_rollback(db); /* outside a transaction: nothing */

    cr_assert_eq(db_begin(db), 0);
    cr_assert_eq(s_insert(db, 3, "drie"), 0);
    cr_assert_eq(db_commit(db), 0);
    db_close(&db);

    db = db_open(s_path, DB_READONLY, s_err, sizeof s_err);
    cr_assert_not_null(db, "%s", s_err);
    cr_assert_eq(s_count(db), 1);
    db_close(&db);
}

Test(db, error_classes)
{
    db_t *db = s_open_table();
    cr_assert_eq(db_error(db), DB_ERR_NONE);
    cr_assert_str_eq(db_errmsg(db), "");

    /* constraint, and the transaction survives it for the caller to end */
    cr_assert_eq(db_begin(db), 0);
    cr_assert_eq(s_insert(db, 1, "een"), 0);
    cr_assert_eq(s_insert(db, 2, "een"), -1);
    cr_assert_eq(db_error(db), DB_ERR_CONSTRAINT);
    cr_assert_str_eq(db_error_name(db_error(db)), "constraint");
    cr_assert_neq(strlen(db_errmsg(db)), 0);
    db_rollback(db);
    cr_assert_eq(db_error(db), DB_ERR_CONSTRAINT, "rollback keeps the reason");
    cr_assert_eq(s_count(db), 0);

    /* busy: another connection holds the write lock */
    db_t *other = db_open(s_path, 0, s_err, sizeof s_err);
    cr_assert_not_null(other, "%s", s_err);
    cr_assert_eq(db_exec(other, "BEGIN IMMEDIATE"), 0);
    db_set_busy_timeout(db, 0);
    cr_assert_eq(s_insert(db, 5, "vijf"), -1);
    cr_assert_eq(db_error(db), DB_ERR_BUSY);
    cr_assert_str_eq(db_error_name(DB_ERR_BUSY), "busy");
    cr_assert_eq(db_exec(other, "ROLLBACK"), 0);
    db_close(&other);

    /* full: the database may not grow beyond its pages */
    cr_assert_eq(db_exec(db, "PRAGMA max_page_count=3"), 0);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    int rc = 0;
    cr_assert_eq(db_begin(db), 0);
    for (int i = 0; i < 100 && rc == 0; i++) {
        db_stmt_t *st = db_prepare(db, "INSERT INTO t(k, s) VALUES ($1, $2)");
        cr_assert_eq(db_bind_int64(st, 1, 100 + i), 0);
        cr_assert_eq(db_bind_text(st, 2, big + i), 0);
        rc = db_run(st);
    }
    cr_assert_eq(rc, -1);
    cr_assert_eq(db_error(db), DB_ERR_FULL, "%s", db_errmsg(db));
    cr_assert_str_eq(db_error_name(DB_ERR_FULL), "full");
    db_rollback(db);
    cr_assert_eq(s_count(db), 0);
    db_close(&db);

    /* readonly: a write on a read-only connection */
    db = db_open(s_path, DB_READONLY, s_err, sizeof s_err);
    cr_assert_not_null(db, "%s", s_err);
    cr_assert_eq(s_insert(db, 9, "negen"), -1);
    cr_assert_eq(db_error(db), DB_ERR_READONLY);
    db_close(&db);
}

Test(db, corrupt_file_is_classified)
{
    FILE *f = fopen(s_path, "wb");
    cr_assert_not_null(f);
    for (int i = 0; i < 512; i++)
        fputs("not a database ", f);
    fclose(f);
    db_t *db = db_open(s_path, DB_READONLY, s_err, sizeof s_err);
    if (!db)
        return; /* refused at open is as good */
    db_stmt_t *st = db_prepare(db, "SELECT count(*) FROM sqlite_master");
    if (st)
        cr_assert_eq(db_step(st), DB_ERROR);
    cr_assert_eq(db_error(db), DB_ERR_CORRUPT, "%s", db_errmsg(db));
    cr_assert_str_eq(db_error_name(DB_ERR_CORRUPT), "corrupt");
    cr_assert_str_eq(db_error_name(DB_ERR_IO), "io");
    db_close(&db);
}

Test(db, borrowed_bindings)
{
    db_t *db = s_open_table();
    char text[16] = "geleend";
    unsigned char blob[4] = {4, 3, 2, 1};
    db_stmt_t *st = db_prepare(db, "INSERT INTO t(k, b, s) VALUES ($1, $2, $3)");
    cr_assert_eq(db_bind_int64(st, 1, 1), 0);
    cr_assert_eq(db_bind_blob_ref(st, 2, blob, sizeof blob), 0);
    cr_assert_eq(db_bind_text_ref(st, 3, text), 0);
    cr_assert_eq(db_run(st), 0);
    /* the row holds the values as they were at db_run */
    memset(text, 'x', sizeof text - 1);
    blob[0] = 9;
    st = db_prepare(db, "SELECT b, s FROM t WHERE k = $1");
    cr_assert_eq(db_bind_int64(st, 1, 1), 0);
    cr_assert_eq(db_step(st), DB_ROW);
    size_t len = 0;
    const unsigned char *b = db_column_blob(st, 0, &len);
    cr_assert_eq(len, 4);
    cr_assert_eq(b[0], 4);
    cr_assert_str_eq(db_column_text(st, 1), "geleend");
    db_reset(st);
    st = db_prepare(db, "INSERT INTO t(k, b, s) VALUES ($1, $2, $3)");
    cr_assert_eq(db_bind_int64(st, 1, 2), 0);
    cr_assert_eq(db_bind_blob_ref(st, 2, NULL, 0), 0);
    cr_assert_eq(db_bind_text_ref(st, 3, NULL), 0);
    cr_assert_eq(db_run(st), 0);
    cr_assert_eq(s_count(db), 2);
    db_close(&db);
}

/* db_refuse: while on, nothing runs and nothing is written, in or out of
   a transaction; the bindings of a refused run are gone; off again, the
   connection works as before. */
Test(db, refusing_runs_nothing)
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
