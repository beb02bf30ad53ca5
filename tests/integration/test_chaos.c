/*  Crash loop (issue 6): three daemons send numbered signals to the
    gemeente while the broker — in the second run the gemeente's daemon —
    is killed with SIGKILL and restarted at random moments. At the end:
    nothing accepted is lost, nothing is stored twice, nothing unexpected
    arrives, and the audit log verifies.

    On PostgreSQL (HARTSLAG_TEST_STORE=postgresql, issue 16) the broker's
    store is a private cluster of this test's own, so that it can be
    disturbed: between the broker kills of the first run the server is
    restarted (fast shutdown), crashed (SIGKILL to it and its backends)
    or the broker's connection is cut (pg_terminate_backend), in turn at
    random moments. A broker whose session was replaced has lost the
    store's lock and exits (broker/active.h); the test restarts it as
    systemd would.

    HARTSLAG_CHAOS_SIGNALS and HARTSLAG_CHAOS_KILLS set the size (CI
    default 20,000 and 20; `make chaos` runs 1,000,000 and 100). */
#include "audit_verify.h"
#include "broker_harness.h"
#include "cert.h"
#include "daemon_harness.h"
#include "db.h"
#include "pg_harness.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <czmq.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *s_yaml =
    "partnership: chaos\nversion: 1\ncoordinator: gemeente\n"
    "partners:\n"
    "  - {org: gemeente, role: coordinator}\n"
    "  - {org: politie, role: partner}\n"
    "  - {org: welzijn, role: partner}\n"
    "  - {org: woonpunt, role: partner}\n"
    "agreements:\n"
    "  - {id: c, from: politie, to: [gemeente], signal_types: [chaos], fields: [nummer],"
    "     purpose: test, legal_basis: test, valid_from: 2025-01-01, valid_until: 2099-12-31,"
    "     retention_days: 30, max_queue_days: 7}\n"
    "  - {id: d, from: welzijn, to: [gemeente], signal_types: [chaos], fields: [nummer],"
    "     purpose: test, legal_basis: test, valid_from: 2025-01-01, valid_until: 2099-12-31,"
    "     retention_days: 30, max_queue_days: 7}\n"
    "  - {id: e, from: woonpunt, to: [gemeente], signal_types: [chaos], fields: [nummer],"
    "     purpose: test, legal_basis: test, valid_from: 2025-01-01, valid_until: 2099-12-31,"
    "     retention_days: 30, max_queue_days: 7}\n";

#define WINDOW 64 /* sends in flight per daemon */

static long s_env(const char *name, long fallback)
{
    const char *value = getenv(name);
    long n = value ? strtol(value, NULL, 10) : 0;
    return n > 0 ? n : fallback;
}

/* Signal ids of a daemon's store (SQLite, through lib/db.h) matching `sql`. */
static zhashx_t *s_ids(dh_t *daemon, const char *sql)
{
    char location[4600], err[600];
    snprintf(location, sizeof location, "sqlite:%s/hartslagd.db", daemon->state);
    db_t *db = db_open(location, DB_READONLY, err, sizeof err);
    cr_assert_not_null(db, "%s", err);
    db_stmt_t *stmt = db_prepare(db, sql);
    cr_assert_not_null(stmt, "%s: %s", sql, db_errmsg(db));
    zhashx_t *ids = zhashx_new();
    db_step_t rc;
    while ((rc = db_step(stmt)) == DB_ROW)
        zhashx_insert(ids, db_column_text(stmt, 0), (void *)1);
    cr_assert_eq(rc, DB_DONE, "%s: %s", sql, db_errmsg(db));
    db_reset(stmt);
    db_close(&db);
    return ids;
}

/* The test as the broker's supervisor (systemd's Restart=): a broker
   that exited by itself (it lost the store's lock) is started again.
   1 when it did, else 0. */
static int s_supervise(bh_t *bh)
{
    int status;
    if (bh->pid <= 0 || waitpid(bh->pid, &status, WNOHANG) != bh->pid)
        return 0;
    bh->pid = 0;
    cr_assert_eq(bh_start(bh, "rate_limit: 0\n"), 0, "broker restart after its own exit");
    return 1;
}

/* The disturbances of the PostgreSQL server, in turn. */
typedef enum { PG_CUT, PG_RESTART, PG_CRASH, PG_KINDS } pg_event_t;

/* Cuts the broker's store connection: pg_terminate_backend of the
   sessions the running broker named after itself ("hartslag-broker HOST
   PID", broker/active.c). The number of sessions cut. */
static long s_pg_cut(pg_harness_t *cluster, pid_t broker)
{
    char err[600], pattern[64];
    db_t *db = db_open(pg_harness_location(cluster), 0, err, sizeof err);
    cr_assert_not_null(db, "%s", err);
    snprintf(pattern, sizeof pattern, "hartslag-broker %% %ld", (long)broker);
    db_stmt_t *stmt = db_prepare(
        db, "SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT pg_terminate_backend(pid) AS cut "
            "FROM pg_stat_activity WHERE application_name LIKE $1) s WHERE cut");
    cr_assert_not_null(stmt, "%s", db_errmsg(db));
    cr_assert_eq(db_bind_text(stmt, 1, pattern), 0);
    cr_assert_eq(db_step(stmt), DB_ROW, "%s", db_errmsg(db));
    long n = (long)db_column_int64(stmt, 0);
    db_reset(stmt);
    db_close(&db);
    return n;
}

static void s_pg_event(pg_harness_t *cluster, bh_t *bh, pg_event_t kind, long *cuts)
{
    if (kind == PG_CUT) {
        *cuts += s_pg_cut(cluster, bh->pid);
        return;
    }
    cr_assert_eq(pg_harness_command(cluster, kind == PG_RESTART ? "stop" : "kill"), 0,
                 "PostgreSQL %s", kind == PG_RESTART ? "stop" : "kill");
    usleep(randombytes_uniform(500000)); /* the broker fails closed meanwhile */
    cr_assert_eq(pg_harness_command(cluster, "start"), 0, "PostgreSQL start");
}

static long s_pending(dh_t *daemon)
{
    zhashx_t *ids = s_ids(daemon, "SELECT signal_id FROM outbox WHERE state != 'accepted'");
    long n = (long)zhashx_size(ids);
    zhashx_destroy(&ids);
    return n;
}

static void s_run(bool kill_recipient)
{
    long target = s_env("HARTSLAG_CHAOS_SIGNALS", 20000);
    long kills_wanted = s_env("HARTSLAG_CHAOS_KILLS", 20);
    const char *orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};
    /* PostgreSQL: a cluster of this test's own (bh_new makes the schema in
       the cluster the environment names, now this one), which it may stop;
       the binary's shared one (pg_harness.h) is left alone. */
    pg_harness_t *cluster = NULL;
    if (bh_postgresql()) {
        char err[512];
        cluster = pg_harness_start(err, sizeof err);
        cr_assert_not_null(cluster, "%s", err);
    }
    bool disturb_pg = cluster && !kill_recipient;
    bh_t *bh = bh_new(orgs, 4, s_yaml);
    cr_assert_not_null(bh);
    cr_assert_eq(bh_start(bh, "rate_limit: 0\n"), 0);
    dh_t *daemons[4];
    for (int i = 0; i < 4; i++) {
        daemons[i] = dh_new(bh, orgs[i], NULL, NULL);
        cr_assert_not_null(daemons[i]);
        cr_assert_eq(dh_start(daemons[i]), 0);
    }
    dh_control_t controls[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(dh_control_open(&controls[i], daemons[i + 1]), 0);

    long sent = 0, refused = 0, kills = 0, number = 0;
    long pg_events = 0, cuts = 0, own_exits = 0;
    long stretch = target / (kills_wanted + 1);
    long next_kill = stretch;
    /* a disturbance of the server in the second half of every stretch,
       the broker's kill in the first half */
    long next_pg = stretch + stretch / 2 + (long)randombytes_uniform((uint32_t)stretch / 2 + 1);
    pg_event_t order[PG_KINDS] = {PG_CUT, PG_RESTART, PG_CRASH};
    while (number < target ||
           controls[0].in_flight + controls[1].in_flight + controls[2].in_flight > 0) {
        for (int i = 0; i < 3; i++) {
            while (number < target && controls[i].in_flight < WINDOW)
                dh_control_send(&controls[i], "gemeente", "chaos", "CHAOS", "chaos", number++);
            while (controls[i].in_flight > 0) {
                int ok =
                    dh_control_reply(&controls[i], controls[i].in_flight >= WINDOW ? 10000 : 0);
                if (ok < 0)
                    break;
                ok ? sent++ : refused++;
            }
        }
        if (cluster)
            own_exits += s_supervise(bh);
        if (number >= next_kill && kills < kills_wanted) {
            kills++;
            /* The next kill at a random point of the next stretch: every kill
               happens while signals are still being sent. */
            next_kill = (kills + 1) * stretch + (long)randombytes_uniform((uint32_t)stretch) / 2;
            if (kill_recipient) {
                dh_stop(daemons[0], SIGKILL);
                usleep(randombytes_uniform(200000));
                cr_assert_eq(dh_start(daemons[0]), 0, "recipient restart %ld", kills);
            } else {
                bh_stop(bh, SIGKILL);
                usleep(randombytes_uniform(200000));
                cr_assert_eq(bh_start(bh, "rate_limit: 0\n"), 0, "broker restart %ld", kills);
            }
        }
        if (disturb_pg && number >= next_pg && pg_events < kills_wanted) {
            /* each kind once per three, in a random order */
            if (pg_events % PG_KINDS == 0)
                for (int i = PG_KINDS - 1; i > 0; i--) {
                    int j = (int)randombytes_uniform((uint32_t)i + 1);
                    pg_event_t t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
            s_pg_event(cluster, bh, order[pg_events % PG_KINDS], &cuts);
            pg_events++;
            next_pg = (pg_events + 1) * stretch + stretch / 2 +
                      (long)randombytes_uniform((uint32_t)stretch / 2 + 1);
        }
    }
    cr_assert_eq(refused, 0, "the daemons refused %ld sends", refused);
    cr_assert_eq(sent, target);

    /* Let everything settle: every outbox entry accepted, every one delivered. */
    for (int wait = 0; wait < 600; wait++) {
        if (cluster)
            own_exits += s_supervise(bh);
        long pending = s_pending(daemons[1]) + s_pending(daemons[2]) + s_pending(daemons[3]);
        zhashx_t *inbox = s_ids(daemons[0], "SELECT signal_id FROM inbox");
        long stored = (long)zhashx_size(inbox);
        zhashx_destroy(&inbox);
        if (pending == 0 && stored == sent)
            break;
        usleep(250000);
    }
    zhashx_t *accepted = zhashx_new();
    for (int i = 1; i < 4; i++) {
        zhashx_t *ids = s_ids(daemons[i], "SELECT signal_id FROM outbox WHERE state='accepted'");
        for (void *v = zhashx_first(ids); v; v = zhashx_next(ids))
            zhashx_insert(accepted, zhashx_cursor(ids), (void *)1);
        zhashx_destroy(&ids);
    }
    zhashx_t *inbox = s_ids(daemons[0], "SELECT signal_id FROM inbox");
    long lost = 0, unexpected = 0, duplicates = 0;
    for (void *v = zhashx_first(accepted); v; v = zhashx_next(accepted))
        if (!zhashx_lookup(inbox, zhashx_cursor(accepted)))
            lost++;
    for (void *v = zhashx_first(inbox); v; v = zhashx_next(inbox))
        if (!zhashx_lookup(accepted, zhashx_cursor(inbox)))
            unexpected++;
    /* Stored twice: one id with two "signal_received" lines in the
       recipient's log, across all its restarts. */
    char *log = dh_log(daemons[0]);
    zhashx_t *seen = zhashx_new();
    for (const char *p = log; (p = strstr(p, "event=signal_received signal=")) != NULL;) {
        p += strlen("event=signal_received signal=");
        char id[33];
        memcpy(id, p, 32);
        id[32] = '\0';
        if (zhashx_lookup(seen, id))
            duplicates++;
        else
            zhashx_insert(seen, id, (void *)1);
    }
    free(log);
    zhashx_destroy(&seen);
    printf("chaos (%s killed): sent %ld, accepted %zu, delivered %zu, lost after acceptance %ld, "
           "duplicates %ld, unexpected %ld, kills %ld\n",
           kill_recipient ? "recipient" : "broker", sent, zhashx_size(accepted), zhashx_size(inbox),
           lost, duplicates, unexpected, kills);
    if (lost > 0) { /* what the broker's store says about the missing ones */
        char *rows = NULL;
        bh_query(bh,
                 "SELECT recipient, state, COUNT(*), MIN(seq), MAX(seq) FROM deliveries "
                 "GROUP BY recipient, state ORDER BY recipient, state",
                 &rows);
        printf("broker deliveries (recipient|state|count|min seq|max seq):\n%s\n",
               rows ? rows : "");
        free(rows);
    }
    cr_assert_eq((long)zhashx_size(accepted), sent, "not everything sent was accepted");
    cr_assert_eq(lost, 0);
    cr_assert_eq(duplicates, 0);
    cr_assert_eq(unexpected, 0);
    cr_assert_geq(kills, kills_wanted);
    if (disturb_pg) {
        printf("chaos (PostgreSQL): %ld server disturbances, %ld sessions cut, the broker exited "
               "by itself %ld times (lock lost) and was restarted\n",
               pg_events, cuts, own_exits);
        cr_assert_geq(pg_events, kills_wanted);
        /* a cut hits a broker that is connected: most of them do */
        cr_assert_gt(cuts, 0, "no cut reached the broker's session");
        cr_assert_gt(own_exits, 0, "the broker never noticed a replaced session");
    }
    zhashx_destroy(&accepted);
    zhashx_destroy(&inbox);

    /* The audit log verifies, against the daemons' cosigned checkpoints too. */
    for (int i = 0; i < 3; i++)
        dh_control_close(&controls[i]);
    for (int i = 0; i < 4; i++)
        dh_stop(daemons[i], SIGTERM);
    bh_stop(bh, SIGTERM);
    char path[4400], err[600];
    snprintf(path, sizeof path, "%s/broker.cert", bh->keys);
    cert_t cert;
    cr_assert_eq(cert_load(path, &cert, err, sizeof err), 0, "%s", err);
    db_t *db = db_open(bh_store(bh), DB_READONLY, err, sizeof err);
    cr_assert_not_null(db, "%s", err);
    audit_report_t report;
    int rc = audit_verify(db, cert.sign_key, NULL, 0, &report);
    db_close(&db);
    cr_assert_eq(rc, 0, "audit: %s", report.detail);
    printf("audit verify: %s\n", report.detail);
    for (int i = 0; i < 4; i++)
        dh_destroy(&daemons[i]);
    bh_destroy(&bh);
    pg_harness_destroy(&cluster);
}

Test(chaos, broker_killed_at_random)
{
    tu_watchdog(7200);
    s_run(false);
}

Test(chaos, recipient_daemon_killed_at_random)
{
    tu_watchdog(7200);
    s_run(true);
}
