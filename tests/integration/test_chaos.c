/*  Crash loop (issue 6): three daemons send numbered signals to the
    gemeente while the broker — in the second run the gemeente's daemon —
    is killed with SIGKILL and restarted at random moments. At the end:
    nothing accepted is lost, nothing is stored twice, nothing unexpected
    arrives, and the audit log verifies.

    HARTSLAG_CHAOS_SIGNALS and HARTSLAG_CHAOS_KILLS set the size (CI
    default 20,000 and 20; `make chaos` runs 1,000,000 and 100). */
#include "audit_verify.h"
#include "broker_harness.h"
#include "cert.h"
#include "daemon_harness.h"
#include "testutil.h"
#include "tu_db.h"

#include <criterion/criterion.h>
#include <czmq.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* A control-socket client of one daemon. */
typedef struct {
    zsock_t *dealer;
    long in_flight;
} control_t;

static void s_control_open(control_t *control, dh_t *daemon)
{
    control->dealer = zsock_new(ZMQ_DEALER);
    cr_assert_not_null(control->dealer);
    zsock_set_linger(control->dealer, 0);
    cr_assert_eq(zsock_connect(control->dealer, "ipc://%s/control.sock", daemon->state), 0);
    control->in_flight = 0;
}

static void s_control_send(control_t *control, long number)
{
    char subject[48], field[48];
    snprintf(subject, sizeof subject, "subject-case=CHAOS-%ld", number);
    snprintf(field, sizeof field, "field=nummer=%ld", number);
    zstr_sendx(control->dealer, "send", "to=gemeente", "type=chaos", "purpose=test", subject, field,
               "user=chaos", NULL);
    control->in_flight++;
}

/* Takes one reply; returns 1 for "ok ID", 0 for anything else, -1 on timeout. */
static int s_control_reply(control_t *control, int timeout_ms)
{
    zpoller_t *poller = zpoller_new(control->dealer, NULL);
    void *which = zpoller_wait(poller, timeout_ms);
    zpoller_destroy(&poller);
    if (!which)
        return -1;
    zmsg_t *reply = zmsg_recv(control->dealer);
    char *status = reply ? zmsg_popstr(reply) : NULL;
    int ok = status && strcmp(status, "ok") == 0;
    free(status);
    zmsg_destroy(&reply);
    control->in_flight--;
    return ok;
}

/* Signal ids of a daemon's store matching `sql`. */
static zhashx_t *s_ids(dh_t *daemon, const char *sql)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/hartslagd.db", daemon->state);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *stmt = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK, "%s", sql);
    zhashx_t *ids = zhashx_new();
    while (sqlite3_step(stmt) == SQLITE_ROW)
        zhashx_insert(ids, (const char *)sqlite3_column_text(stmt, 0), (void *)1);
    sqlite3_finalize(stmt);
    tu_sqlite_close(db);
    return ids;
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
    bh_t *bh = bh_new(orgs, 4, s_yaml);
    cr_assert_not_null(bh);
    cr_assert_eq(bh_start(bh, "rate_limit: 0\n"), 0);
    dh_t *daemons[4];
    for (int i = 0; i < 4; i++) {
        daemons[i] = dh_new(bh, orgs[i], NULL, NULL);
        cr_assert_not_null(daemons[i]);
        cr_assert_eq(dh_start(daemons[i]), 0);
    }
    control_t controls[3];
    for (int i = 0; i < 3; i++)
        s_control_open(&controls[i], daemons[i + 1]);

    long sent = 0, refused = 0, kills = 0, number = 0;
    long next_kill = target / (kills_wanted + 1);
    while (number < target ||
           controls[0].in_flight + controls[1].in_flight + controls[2].in_flight > 0) {
        for (int i = 0; i < 3; i++) {
            while (number < target && controls[i].in_flight < WINDOW)
                s_control_send(&controls[i], number++);
            while (controls[i].in_flight > 0) {
                int ok = s_control_reply(&controls[i], controls[i].in_flight >= WINDOW ? 10000 : 0);
                if (ok < 0)
                    break;
                ok ? sent++ : refused++;
            }
        }
        if (number >= next_kill && kills < kills_wanted) {
            kills++;
            /* The next kill at a random point of the next stretch: every kill
               happens while signals are still being sent. */
            long stretch = target / (kills_wanted + 1);
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
    }
    cr_assert_eq(refused, 0, "the daemons refused %ld sends", refused);
    cr_assert_eq(sent, target);

    /* Let everything settle: every outbox entry accepted, every one delivered. */
    for (int wait = 0; wait < 600; wait++) {
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
    cr_assert_eq((long)zhashx_size(accepted), sent, "not everything sent was accepted");
    cr_assert_eq(lost, 0);
    cr_assert_eq(duplicates, 0);
    cr_assert_eq(unexpected, 0);
    cr_assert_geq(kills, kills_wanted);
    zhashx_destroy(&accepted);
    zhashx_destroy(&inbox);

    /* The audit log verifies, against the daemons' cosigned checkpoints too. */
    for (int i = 0; i < 3; i++)
        zsock_destroy(&controls[i].dealer);
    for (int i = 0; i < 4; i++)
        dh_stop(daemons[i], SIGTERM);
    bh_stop(bh, SIGTERM);
    char path[4400], err[600];
    snprintf(path, sizeof path, "%s/broker.cert", bh->keys);
    cert_t cert;
    cr_assert_eq(cert_load(path, &cert, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/broker.db", bh->state);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    audit_report_t report;
    int rc = audit_verify(tu_db(db), cert.sign_key, NULL, 0, &report);
    tu_sqlite_close(db);
    cr_assert_eq(rc, 0, "audit: %s", report.detail);
    printf("audit verify: %s\n", report.detail);
    for (int i = 0; i < 4; i++)
        dh_destroy(&daemons[i]);
    bh_destroy(&bh);
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
