/*  Issue 16: hostile or odd PostgreSQL servers under a real broker and
    real daemons. A read-only server, a full tablespace, a connection cut
    while signals flow, and a store written by a newer release. Each
    gives a clear error, fails closed (nothing is accepted that is not
    stored), loses nothing, and recovers once the server is right again.

    The read-only case changes the whole cluster (ALTER SYSTEM), so the
    tests of this binary take one lock in turn and never overlap. The
    full-tablespace case mounts a small tmpfs (we run as root) and
    removes it, its tablespace and its schema in .fini, pass or fail. */
#include "broker_harness.h"
#include "daemon_harness.h"
#include "pg_harness.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

PG_HARNESS_WANTED;

/* clients/daemon: a deferred signal is submitted again every 5 s; waiting
   a little longer shows that nothing comes twice */
#define DAEMON_RESUBMIT_WAIT_US 6000000

static bh_t *s_bh;
static dh_t *s_politie, *s_welzijn;
static const char *s_orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};
static int s_lock = -1;
static char s_schema[128];
static char s_ts_dir[64]; /* the tmpfs mount point, "" when none */
static bool s_ts_mounted; /* umount in .fini */
static bool s_ts_created; /* DROP TABLESPACE in .fini */
static bool s_read_only;  /* ALTER SYSTEM RESET in .fini */

/* ---- the cluster, as its superuser ------------------------------------ */

/* Runs one statement; its first value into `value` (may be NULL). The
   SQLSTATE of a failure into `state` (may be NULL). 0 or -1. */
static int s_admin(const char *sql, char *value, size_t len, char state[6])
{
    PGconn *conn = PQconnectdb(pg_harness_location_env());
    int rc = -1;
    if (PQstatus(conn) == CONNECTION_OK) {
        /* the session itself may write even when the server says not */
        PQclear(PQexec(conn, "SET default_transaction_read_only = off; "
                             "SET client_min_messages = warning"));
        PGresult *res = PQexec(conn, sql);
        ExecStatusType status = PQresultStatus(res);
        rc = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? 0 : -1;
        if (rc == 0 && value)
            snprintf(value, len, "%s",
                     PQntuples(res) > 0 && PQnfields(res) > 0 ? PQgetvalue(res, 0, 0) : "");
        if (rc != 0 && state) {
            const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            snprintf(state, 6, "%s", s ? s : "?????");
        }
        if (rc != 0)
            cr_log_info("%s: %s", sql, PQresultErrorMessage(res));
        PQclear(res);
    }
    PQfinish(conn);
    return rc;
}

static int64_t s_count(const char *sql)
{
    char value[64] = "";
    cr_assert_eq(s_admin(sql, value, sizeof value, NULL), 0, "%s", sql);
    return strtoll(value, NULL, 10);
}

/* ---- fixture ---------------------------------------------------------- */

static void s_setup(void)
{
    tu_watchdog(180);
    /* one test of this binary at a time: the read-only case changes the
       whole cluster. The lock is on the binary itself: nothing to clean. */
    s_lock = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    cr_assert_geq(s_lock, 0);
    cr_assert_eq(flock(s_lock, LOCK_EX), 0);
    setenv("HARTSLAG_TEST_STORE", "postgresql", 1); /* bh_new: a schema in the cluster */
    s_bh = bh_new(s_orgs, 4, bh_default_agreements);
    cr_assert_not_null(s_bh);
    const char *at = strstr(bh_store(s_bh), "search_path%3D");
    cr_assert_not_null(at);
    snprintf(s_schema, sizeof s_schema, "%.*s", (int)strcspn(at + 14, "&"), at + 14);
    s_ts_dir[0] = '\0';
    s_ts_mounted = s_ts_created = s_read_only = false;
    s_politie = s_welzijn = NULL;
}

static void s_teardown(void)
{
    if (s_read_only) {
        (void)s_admin("ALTER SYSTEM RESET default_transaction_read_only", NULL, 0, NULL);
        (void)s_admin("SELECT pg_reload_conf()", NULL, 0, NULL);
    }
    dh_destroy(&s_politie);
    dh_destroy(&s_welzijn);
    char sql[512];
    if (s_ts_created) {
        if (s_bh)
            bh_stop(s_bh, SIGKILL);
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", s_schema);
        (void)s_admin(sql, NULL, 0, NULL);
        snprintf(sql, sizeof sql, "DROP TABLESPACE IF EXISTS ts_%s", s_schema);
        (void)s_admin(sql, NULL, 0, NULL);
    }
    bh_destroy(&s_bh);
    if (s_ts_mounted && umount2(s_ts_dir, MNT_DETACH) != 0)
        cr_log_error("cannot unmount %s", s_ts_dir);
    if (s_ts_dir[0])
        rmdir(s_ts_dir);
    if (s_lock >= 0)
        close(s_lock); /* releases the lock */
    s_lock = -1;
}

TestSuite(store_hostile, .init = s_setup, .fini = s_teardown);

/* ---- helpers ---------------------------------------------------------- */

static const char *s_fields[] = {"datum=2026-03-01", "categorie=geluid", NULL};

static void s_daemons(void)
{
    s_politie = dh_new(s_bh, "politie", NULL, NULL);
    s_welzijn = dh_new(s_bh, "welzijn", NULL, NULL);
    cr_assert(s_politie && s_welzijn);
    cr_assert_eq(dh_start(s_politie), 0);
    cr_assert_eq(dh_start(s_welzijn), 0);
}

static void s_send(char id[33])
{
    cr_assert_eq(dh_send(s_politie, "welzijn", "overlast", "casusoverleg", "111222333", s_fields,
                         NULL, false, id),
                 0, "the CLI queues the signal");
}

/* Rows of the broker's signals table for the signal with hex id `id`. */
static int64_t s_stored(const char *id)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.signals WHERE signal_id = '\\x%s'", s_schema,
             id);
    return s_count(sql);
}

static bool s_broker_says(const char *text, int ms)
{
    for (int waited = 0; waited <= ms; waited += 100) {
        char *log = bh_log(s_bh);
        bool found = log && strstr(log, text);
        free(log);
        if (found)
            return true;
        usleep(100000);
    }
    return false;
}

static int s_hartslag(char **out, const char *a, const char *b, const char *c, const char *d,
                      const char *e, const char *f)
{
    char *argv[] = {(char *)tu_bin("hartslag"),
                    (char *)a,
                    (char *)b,
                    (char *)c,
                    (char *)d,
                    (char *)e,
                    (char *)f,
                    NULL};
    return tu_run(argv, NULL, out, NULL);
}

static void s_audit_verifies(void)
{
    char cert[4400];
    snprintf(cert, sizeof cert, "%s/broker.cert", s_bh->keys);
    char *out = NULL;
    int rc = s_hartslag(&out, "audit", "verify", "--db", bh_store(s_bh), "--broker-cert", cert);
    cr_assert_eq(rc, 0, "audit verify: %s", out ? out : "");
    free(out);
}

/* Waits up to `ms` for the broker process to end by itself. */
static bool s_broker_exits(int ms)
{
    for (int waited = 0; waited <= ms; waited += 100) {
        if (waitpid(s_bh->pid, NULL, WNOHANG) == s_bh->pid) {
            s_bh->pid = 0;
            return true;
        }
        usleep(100000);
    }
    return false;
}

/* ---- a read-only server ----------------------------------------------- */

Test(store_hostile, a_read_only_server_refuses_sends_and_they_go_through_once_it_writes_again)
{
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
    s_daemons();
    char before[33];
    s_send(before);
    cr_assert(dh_wait_inbox(s_welzijn, 1, 30000), "the flow works before");

    /* the server turns read-only under the running broker: a reload
       reaches its session too */
    s_read_only = true;
    cr_assert_eq(s_admin("ALTER SYSTEM SET default_transaction_read_only = on", NULL, 0, NULL), 0);
    cr_assert_eq(s_admin("SELECT pg_reload_conf()", NULL, 0, NULL), 0);
    usleep(500000);

    char id[33];
    s_send(id);
    cr_assert(dh_wait_log(s_politie, "reason=storage_unavailable", 30000),
              "the sender's daemon is told storage_unavailable");
    if (!s_broker_says("the store is read-only", 5000)) {
        char *log = bh_log(s_bh);
        cr_assert_fail("the broker names the cause in plain words: %s", log ? log : "");
    }
    cr_assert_eq(s_stored(id), 0, "nothing stored while read-only");
    cr_assert_eq(dh_inbox_count(s_welzijn), 1, "nothing delivered while read-only");
    char *out = NULL;
    (void)dh_cli(s_politie, NULL, &out, NULL, "status", "--json", NULL);
    cr_assert(out && strstr(out, "\"outbox\":{\"pending\":1,"), "it waits in the outbox: %s",
              out ? out : "");
    free(out);

    /* writable again: the waiting signal goes through, exactly once */
    cr_assert_eq(s_admin("ALTER SYSTEM RESET default_transaction_read_only", NULL, 0, NULL), 0);
    cr_assert_eq(s_admin("SELECT pg_reload_conf()", NULL, 0, NULL), 0);
    s_read_only = false;
    cr_assert(dh_wait_inbox(s_welzijn, 2, 30000), "the waiting signal arrives");
    cr_assert_eq(s_stored(id), 1);
    char after[33];
    s_send(after);
    cr_assert(dh_wait_inbox(s_welzijn, 3, 30000), "the flow goes on");
    usleep(DAEMON_RESUBMIT_WAIT_US);
    cr_assert_eq(dh_inbox_count(s_welzijn), 3, "no duplicate");
    s_audit_verifies();
}

/* ---- a store of a newer release --------------------------------------- */

/* A dump without pg_dump's \restrict and \unrestrict lines, whose key is
   new on every run. */
static void s_unrestricted(char *dump)
{
    char *out = dump;
    for (char *line = dump; *line;) {
        size_t len = strcspn(line, "\n");
        bool keep =
            strncmp(line, "\\restrict ", 10) != 0 && strncmp(line, "\\unrestrict ", 12) != 0;
        if (line[len] == '\n')
            len++;
        if (keep) {
            memmove(out, line, len);
            out += len;
        }
        line += len;
    }
    *out = '\0';
}

Test(store_hostile, a_store_of_a_newer_schema_version_is_refused_at_start_and_left_alone)
{
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
    bh_stop(s_bh, SIGTERM);
    char version[32] = "";
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT version FROM %s.schema_version WHERE component = 'broker'",
             s_schema);
    cr_assert_eq(s_admin(sql, version, sizeof version, NULL), 0);
    long long known = strtoll(version, NULL, 10);
    cr_assert_gt(known, 0);
    snprintf(sql, sizeof sql,
             "UPDATE %s.schema_version SET version = %lld WHERE component = 'broker'", s_schema,
             known + 1);
    cr_assert_eq(s_admin(sql, NULL, 0, NULL), 0);

    char dump[4500], before[4600];
    snprintf(dump, sizeof dump, "%s/store.sql", s_bh->state);
    snprintf(before, sizeof before, "%s/store-before.sql", s_bh->root);
    cr_assert_eq(bh_store_dump(s_bh), 0);
    cr_assert_eq(rename(dump, before), 0);

    char *argv[] = {(char *)tu_bin("hartslag-broker"), "--config", s_bh->config, NULL};
    s_bh->pid = tu_spawn(argv, NULL, s_bh->log, false, NULL);
    cr_assert_gt(s_bh->pid, 0);
    int status = 0;
    pid_t done = 0;
    for (int waited = 0; waited < 30000 && done == 0; waited += 100) {
        done = waitpid(s_bh->pid, &status, WNOHANG);
        if (done == 0)
            usleep(100000);
    }
    cr_assert_eq(done, s_bh->pid, "the broker does not keep running on a newer store");
    s_bh->pid = 0;
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0, "it exits with an error");
    char *log = bh_log(s_bh);
    char newer[64], ours[64];
    snprintf(newer, sizeof newer, "schema version %lld, newer", known + 1);
    snprintf(ours, sizeof ours, "knows (%lld)", known);
    cr_assert(log && strstr(log, newer) && strstr(log, ours), "both versions named: %s",
              log ? log : "");
    free(log);

    cr_assert_eq(bh_store_dump(s_bh), 0);
    char *a = tu_read_file(before, NULL), *b = tu_read_file(dump, NULL);
    cr_assert(a && b);
    s_unrestricted(a);
    s_unrestricted(b);
    cr_assert_str_eq(a, b, "the store is untouched");
    free(a);
    free(b);
}

/* ---- a connection cut while signals flow ------------------------------ */

Test(store_hostile, a_cut_connection_loses_nothing_and_duplicates_nothing)
{
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
    s_daemons();
    enum { N = 6 };
    char ids[N][33];
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE application_name LIKE '%% %ld'",
             (long)s_bh->pid);
    for (int i = 0; i < N; i++) {
        s_send(ids[i]);
        if (i == N / 2)
            cr_assert_geq(s_count(sql), 1, "the broker's session is cut");
    }
    /* (active_session_settings names the session "HOST PID") */
    /* The new session does not hold the store's lock (broker/active.h):
       the broker stops without writing, to be restarted by its service
       manager, as here. */
    cr_assert(s_broker_exits(20000), "the broker stops when its session is replaced");
    cr_assert(s_broker_says("event=active_lost", 0), "and says why");
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker restarts");
    cr_assert(dh_wait_inbox(s_welzijn, N, 60000), "every signal arrives");
    usleep(DAEMON_RESUBMIT_WAIT_US);
    cr_assert_eq(dh_inbox_count(s_welzijn), N, "none twice");
    for (int i = 0; i < N; i++)
        cr_assert_eq(s_stored(ids[i]), 1, "signal %d stored once", i);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.signals", s_schema);
    cr_assert_eq(s_count(sql), N, "nothing else stored");
    s_audit_verifies();
}

/* ---- a full tablespace ------------------------------------------------ */

/* Submits one signal politie -> welzijn; 'A' accepted, 'D' denied for
   storage_unavailable (anything else fails the test). */
static char s_submit(bh_client_t *client, uint8_t id[16])
{
    uint8_t *sealed = NULL;
    size_t len = 0;
    cr_assert_eq(bh_seal(s_bh, client, "welzijn", "overlast", "casusoverleg", "datum", NULL,
                         &sealed, &len, id),
                 0);
    Hartslag__Frame *answer = bh_submit(client, sealed, len, 10000);
    free(sealed);
    cr_assert_not_null(answer, "an answer");
    char verdict = '?';
    if (answer->body_case == HARTSLAG__FRAME__BODY_ACCEPTED)
        verdict = 'A';
    else if (answer->body_case == HARTSLAG__FRAME__BODY_DENIED &&
             strcmp(answer->denied->reason, "storage_unavailable") == 0)
        verdict = 'D';
    hartslag__frame__free_unpacked(answer, NULL);
    cr_assert_neq(verdict, '?', "accepted or storage_unavailable");
    return verdict;
}

static void s_hex(const uint8_t id[16], char hex[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
}

/* Fills the tablespace with rows of `md5s` random hex strings each until
   the server says 53100; the statements that ran. */
static int s_fill(int md5s)
{
    char sql[512], state[6] = "";
    snprintf(sql, sizeof sql,
             "INSERT INTO %s.filler SELECT string_agg(md5(random()::text), '') "
             "FROM generate_series(1, %d)",
             s_schema, md5s);
    int n = 0;
    while (n < 20000 && s_admin(sql, NULL, 0, state) == 0)
        n++;
    cr_assert_str_eq(state, "53100", "the server says disk full");
    return n;
}

Test(store_hostile, a_full_tablespace_refuses_sends_stores_nothing_half_and_recovers)
{
    /* a 16 MB tmpfs the server (user postgres) owns, as a tablespace */
    snprintf(s_ts_dir, sizeof s_ts_dir, "/tmp/hartslag-ts-XXXXXX");
    cr_assert_not_null(mkdtemp(s_ts_dir));
    cr_assert_eq(chmod(s_ts_dir, 0755), 0);
    struct stat pg;
    char opts[128];
    FILE *id = popen("id -u postgres; id -g postgres", "r");
    unsigned uid = 0, gid = 0;
    cr_assert(id && fscanf(id, "%u %u", &uid, &gid) == 2, "a postgres user");
    pclose(id);
    snprintf(opts, sizeof opts, "size=16m,mode=0700,uid=%u,gid=%u", uid, gid);
    cr_assert_eq(mount("tmpfs", s_ts_dir, "tmpfs", 0, opts), 0, "mount a tmpfs (root needed)");
    s_ts_mounted = true;
    cr_assert_eq(stat(s_ts_dir, &pg), 0);
    cr_assert_eq(pg.st_uid, uid);
    char sql[512];
    snprintf(sql, sizeof sql, "CREATE TABLESPACE ts_%s LOCATION '%s'", s_schema, s_ts_dir);
    cr_assert_eq(s_admin(sql, NULL, 0, NULL), 0);
    s_ts_created = true;

    /* the broker's tables live there: its sessions default to it */
    char *at = strstr(s_bh->store, "search_path%3D");
    cr_assert_not_null(at);
    char store[sizeof s_bh->store];
    size_t head = (size_t)(at - s_bh->store) + 14 + strlen(s_schema);
    snprintf(store, sizeof store, "%.*s%%20-cdefault_tablespace%%3Dts_%s%s", (int)head, s_bh->store,
             s_schema, s_bh->store + head);
    snprintf(s_bh->store, sizeof s_bh->store, "%s", store);
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_tables WHERE schemaname = '%s' AND tablename = 'signals' "
             "AND tablespace = 'ts_%s'",
             s_schema, s_schema);
    cr_assert_eq(s_count(sql), 1, "the signals table is on the small tablespace");

    bh_client_t *politie = bh_client_new(s_bh, "politie", false);
    cr_assert_not_null(politie);
    cr_assert_eq(bh_hello(politie), 0);
    uint8_t first[16];
    cr_assert_eq(s_submit(politie, first), 'A', "accepted while there is room");

    snprintf(sql, sizeof sql, "CREATE TABLE %s.filler(b TEXT) TABLESPACE ts_%s", s_schema,
             s_schema);
    cr_assert_eq(s_admin(sql, NULL, 0, NULL), 0);
    cr_assert_gt(s_fill(20000), 0);
    (void)s_fill(8); /* the last pages too */

    enum { TRIES = 60 };
    uint8_t ids[TRIES][16];
    char verdicts[TRIES];
    int denied = -1;
    for (int i = 0; i < TRIES && denied < 0; i++) {
        verdicts[i] = s_submit(politie, ids[i]);
        if (verdicts[i] == 'D')
            denied = i;
    }
    cr_assert_geq(denied, 0, "a full disk refuses sends");
    cr_assert(s_broker_says("the store's disk is full", 5000), "the broker says why");
    for (int i = 0; i <= denied; i++) {
        char hex[33];
        s_hex(ids[i], hex);
        cr_assert_eq(s_stored(hex), verdicts[i] == 'A' ? 1 : 0,
                     "signal %d: accepted means stored, refused means not stored", i);
    }
    s_audit_verifies();

    /* room again: the refused signal is accepted when sent again */
    snprintf(sql, sizeof sql, "DROP TABLE %s.filler", s_schema);
    cr_assert_eq(s_admin(sql, NULL, 0, NULL), 0);
    uint8_t again[16];
    cr_assert_eq(s_submit(politie, again), 'A', "accepted once there is room");
    char hex[33];
    s_hex(again, hex);
    cr_assert_eq(s_stored(hex), 1);
    bh_client_destroy(&politie);
    s_audit_verifies();
}
