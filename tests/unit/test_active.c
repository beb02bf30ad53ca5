/*  Tests for broker/active against a private PostgreSQL cluster: one of
    two brokers holds the store lock; the other gets it when the holder's
    session is cut or falls silent past the timeout (a hung broker), and
    the old holder then knows it lost it; SQLite needs no lock. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "active.h"
#include "db.h"
#include "pg_harness.h"
#include "testutil.h"

static char s_loc[512];
static char s_err[256];

PG_HARNESS_WANTED;

static void s_setup(void)
{
    tu_watchdog(120);
    const char *base = pg_harness_location_env();
    cr_assert_not_null(base, "no PostgreSQL test cluster");
    /* the lock is per database: each test its own */
    char name[64];
    snprintf(name, sizeof name, "active%ld", (long)getpid());
    PGconn *conn = PQconnectdb(base);
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    PGresult *res = PQexec(conn, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(conn));
    PQclear(res);
    PQfinish(conn);
    snprintf(s_loc, sizeof s_loc, "%.*s/%s", (int)(strrchr(base, '/') - base), base, name);
}

TestSuite(active, .init = s_setup);

typedef struct {
    db_t *db;
    active_t *active;
} broker_t;

static broker_t s_broker_at(const char *location, const char *name)
{
    broker_t b;
    b.db = db_open(location, 0, s_err, sizeof s_err);
    cr_assert_not_null(b.db, "%s", s_err);
    cr_assert(active_applies(b.db));
    b.active = active_new(b.db);
    cr_assert_not_null(b.active);
    cr_assert_eq(active_session_settings(b.active, name), 0, "%s", db_errmsg(b.db));
    return b;
}

static broker_t s_broker(const char *name)
{
    return s_broker_at(s_loc, name);
}

static void s_broker_end(broker_t *b)
{
    active_destroy(&b->active);
    db_close(&b->db);
}

/* Ends the server sessions of the broker called `name`. */
static void s_cut(const char *name)
{
    PGconn *conn = PQconnectdb(s_loc);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE application_name = 'hartslag-broker %s' AND datname = current_database()",
             name);
    PGresult *res = PQexec(conn, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(conn));
    PQclear(res);
    PQfinish(conn);
}

/* b's broker says something to the store: the first statement after a
   cut fails (it finds the session gone), the next one reconnects. */
static void s_talk(broker_t *b)
{
    (void)db_exec(b->db, "SELECT 1");
    (void)db_exec(b->db, "SELECT 1");
}

/* b tries every 100 ms for up to `ms`; the time it took, or -1. */
static int s_wait_for_lock(broker_t *b, int ms)
{
    for (int waited = 0; waited <= ms; waited += 100) {
        bool held = false;
        if (active_try(b->active, &held) == 0 && held)
            return waited;
        usleep(100000);
    }
    return -1;
}

Test(active, one_holds_the_other_waits)
{
    broker_t a = s_broker("host-a 1"), b = s_broker("host-b 2");
    bool held = false;
    char holder[128];
    cr_assert_eq(active_holder(a.active, holder, sizeof holder), 0);
    cr_assert_str_eq(holder, "", "nobody holds it yet");
    cr_assert_eq(active_check(a.active), -1);
    cr_assert_eq(active_try(a.active, &held), 0, "%s", db_errmsg(a.db));
    cr_assert(held);
    cr_assert_eq(active_check(a.active), 0);
    cr_assert_eq(active_try(b.active, &held), 0);
    cr_assert_not(held);
    cr_assert_eq(active_check(b.active), -1);
    cr_assert_eq(active_holder(b.active, holder, sizeof holder), 0, "%s", db_errmsg(b.db));
    cr_assert_str_eq(holder, "hartslag-broker host-a 1");
    /* a second try by the holder keeps it */
    cr_assert_eq(active_try(a.active, &held), 0);
    cr_assert(held);
    s_broker_end(&a);
    /* the holder is gone (its connection closed): the standby takes over */
    cr_assert_geq(s_wait_for_lock(&b, 2000), 0);
    cr_assert_eq(active_holder(b.active, holder, sizeof holder), 0);
    cr_assert_str_eq(holder, "hartslag-broker host-b 2");
    s_broker_end(&b);
}

Test(active, a_cut_session_loses_the_lock_and_knows_it)
{
    broker_t a = s_broker("host-a 1"), b = s_broker("host-b 2");
    bool held = false;
    cr_assert_eq(active_try(a.active, &held), 0);
    cr_assert(held);
    s_cut("host-a 1");
    cr_assert_geq(s_wait_for_lock(&b, 2000), 0, "the standby takes over after the cut");
    /* a's next statements reconnect; on its new session it holds nothing */
    s_talk(&a);
    cr_assert_eq(active_check(a.active), -1, "a knows it lost the lock");
    cr_assert_eq(active_try(a.active, &held), 0, "%s", db_errmsg(a.db));
    cr_assert_not(held, "and cannot take it back while b holds it");
    s_broker_end(&a);
    s_broker_end(&b);
}

Test(active, a_silent_holder_loses_the_lock_after_the_timeout)
{
    broker_t a = s_broker("host-a 1"), b = s_broker("host-b 2");
    bool held = false;
    cr_assert_eq(active_try(a.active, &held), 0);
    cr_assert(held);
    /* a hangs (says nothing): the server ends its session */
    int waited = s_wait_for_lock(&b, (ACTIVE_TIMEOUT_S + 3) * 1000);
    cr_assert_geq(waited, (ACTIVE_TIMEOUT_S - 1) * 1000, "not before the timeout (%d ms)", waited);
    cr_assert_eq(active_check(a.active), 0, "a cannot know before it talks again");
    s_talk(&a);
    cr_assert_eq(active_check(a.active), -1, "once it talks, it knows");
    s_broker_end(&a);
    s_broker_end(&b);
}

Test(active, a_talking_holder_keeps_the_lock)
{
    broker_t a = s_broker("host-a 1"), b = s_broker("host-b 2");
    bool held = false;
    cr_assert_eq(active_try(a.active, &held), 0);
    cr_assert(held);
    for (int i = 0; i < (ACTIVE_TIMEOUT_S + 2) * 2; i++) {
        cr_assert_eq(db_exec(a.db, "SELECT 1"), 0, "%s", db_errmsg(a.db));
        cr_assert_eq(active_try(b.active, &held), 0);
        cr_assert_not(held);
        usleep(500000);
    }
    cr_assert_eq(active_check(a.active), 0);
    s_broker_end(&a);
    s_broker_end(&b);
}

/* Two partnerships keep their stores in one database, a schema each:
   each has its own active broker. */
Test(active, stores_in_two_schemas_of_one_database_have_a_lock_each)
{
    broker_t setup = s_broker("setup");
    cr_assert_eq(db_exec(setup.db, "CREATE SCHEMA passart; CREATE SCHEMA zuid"), 0, "%s",
                 db_errmsg(setup.db));
    s_broker_end(&setup);
    char passart[600], zuid[600];
    snprintf(passart, sizeof passart, "%s?options=-csearch_path%%3Dpassart", s_loc);
    snprintf(zuid, sizeof zuid, "%s?options=-csearch_path%%3Dzuid", s_loc);
    broker_t a = s_broker_at(passart, "passart-a"), b = s_broker_at(zuid, "zuid-a"),
             c = s_broker_at(passart, "passart-b");
    bool held = false;
    cr_assert_eq(active_try(a.active, &held), 0, "%s", db_errmsg(a.db));
    cr_assert(held);
    cr_assert_eq(active_try(b.active, &held), 0, "%s", db_errmsg(b.db));
    cr_assert(held, "another schema: not blocked by passart's broker");
    cr_assert_eq(active_try(c.active, &held), 0);
    cr_assert_not(held, "the same schema: a standby");
    char holder[128];
    cr_assert_eq(active_holder(c.active, holder, sizeof holder), 0, "%s", db_errmsg(c.db));
    cr_assert_str_eq(holder, "hartslag-broker passart-a");
    cr_assert_eq(active_holder(b.active, holder, sizeof holder), 0);
    cr_assert_str_eq(holder, "hartslag-broker zuid-a");
    s_broker_end(&a);
    s_broker_end(&b);
    s_broker_end(&c);
}

Test(active, sqlite_needs_no_lock)
{
    char *dir = tu_tmpdir();
    char path[4300];
    snprintf(path, sizeof path, "%s/broker.db", dir);
    db_t *db = db_open(path, DB_CREATE, s_err, sizeof s_err);
    cr_assert_not_null(db, "%s", s_err);
    cr_assert_not(active_applies(db));
    db_close(&db);
    tu_rmtree(dir);
    free(dir);
}
