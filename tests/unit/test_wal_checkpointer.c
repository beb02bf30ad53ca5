/*  Tests for broker/wal_checkpointer: a WAL that grew past the threshold is
    copied into the database file by the thread while the owner's
    connection stays open and keeps writing; below the threshold nothing
    runs; a database that does not exist is refused. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "testutil.h"
#include "wal_checkpointer.h"

static char *s_dir;
static char s_path[4200];

static void s_setup(void)
{
    tu_watchdog(60);
    s_dir = tu_tmpdir();
    cr_assert_not_null(s_dir);
    snprintf(s_path, sizeof s_path, "%s/store.db", s_dir);
}

static void s_teardown(void)
{
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(wal_checkpointer, .init = s_setup, .fini = s_teardown);

static off_t s_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* The owner: WAL mode, no automatic checkpoint, `n` rows of 1 KiB. */
static db_t *s_owner(int n)
{
    char err[256];
    db_t *db = db_open(s_path, DB_CREATE, err, sizeof err);
    cr_assert_not_null(db, "%s", err);
    cr_assert_eq(db_exec(db, "PRAGMA wal_autocheckpoint=0;"
                             "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);"),
                 0, "%s", db_errmsg(db));
    for (int batch = 0; batch < n / 100; batch++)
        cr_assert_eq(db_exec(db, "BEGIN; WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 "
                                 "FROM c WHERE x<100) INSERT INTO t(v) SELECT randomblob(1024) "
                                 "FROM c; COMMIT;"),
                     0, "%s", db_errmsg(db));
    return db;
}

Test(wal_checkpointer, copies_a_grown_wal_into_the_database)
{
    db_t *db = s_owner(3000);
    char wal[4300];
    snprintf(wal, sizeof wal, "%s-wal", s_path);
    off_t before = s_size(s_path);
    cr_assert_gt(s_size(wal), 3 << 20, "the WAL holds the rows");
    cr_assert_lt(before, 1 << 20, "the database file does not yet");
    char err[256];
    wal_checkpointer_t *cp = wal_checkpointer_new(s_path, 20, 1 << 20, err, sizeof err);
    cr_assert_not_null(cp, "%s", err);
    for (int i = 0; i < 250 && s_size(s_path) < (3 << 20); i++)
        usleep(20000);
    cr_assert_geq(s_size(s_path), 3 << 20, "checkpointed into the database file");
    cr_assert_geq(wal_checkpointer_runs(cp), 1);
    cr_assert_eq(wal_checkpointer_failures(cp), 0);
    /* The owner writes on while the thread runs, and reads everything. */
    cr_assert_eq(db_exec(db, "INSERT INTO t(v) VALUES(randomblob(10))"), 0, "%s", db_errmsg(db));
    db_stmt_t *stmt = db_prepare(db, "SELECT count(*) FROM t");
    cr_assert_not_null(stmt);
    cr_assert_eq(db_step(stmt), DB_ROW);
    cr_assert_eq(db_column_int64(stmt, 0), 3001);
    db_reset(stmt);
    wal_checkpointer_destroy(&cp);
    cr_assert_null(cp);
    wal_checkpointer_destroy(&cp); /* NULL: no-op */
    db_close(&db);
}

Test(wal_checkpointer, below_the_threshold_nothing_runs)
{
    db_t *db = s_owner(200);
    char err[256];
    wal_checkpointer_t *cp = wal_checkpointer_new(s_path, 10, 64 << 20, err, sizeof err);
    cr_assert_not_null(cp, "%s", err);
    usleep(200000);
    cr_assert_eq(wal_checkpointer_runs(cp), 0);
    wal_checkpointer_destroy(&cp);
    db_close(&db);
}

Test(wal_checkpointer, a_missing_database_is_refused)
{
    char err[256] = "";
    char missing[4300];
    snprintf(missing, sizeof missing, "%s/nothing/here.db", s_dir);
    cr_assert_null(wal_checkpointer_new(missing, 10, 0, err, sizeof err));
    cr_assert(strstr(err, "cannot open"), "%s", err);
}
