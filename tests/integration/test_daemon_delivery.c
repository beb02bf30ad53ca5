/*  hartslagd end to end: real broker, real daemons, the hartslag CLI, on
    127.0.0.1 with ephemeral ports and temporary directories. */
#include "daemon_harness.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BSN "123456782"            /* passes the elfproef */
#define CANARY "CANARY-7f3a9c41e2" /* planted in the content */

static bh_t *s_bh;
static dh_t *s_gemeente, *s_politie, *s_welzijn;

static void s_setup(void)
{
    tu_watchdog(90);
    const char *orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};
    s_bh = bh_new(orgs, 4, bh_default_agreements);
    cr_assert_not_null(s_bh);
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
    s_gemeente = dh_new(s_bh, "gemeente", NULL, NULL);
    s_politie = dh_new(s_bh, "politie", NULL, NULL);
    s_welzijn = dh_new(s_bh, "welzijn", NULL, NULL);
    cr_assert(s_gemeente && s_politie && s_welzijn);
}

static void s_teardown(void)
{
    dh_destroy(&s_gemeente);
    dh_destroy(&s_politie);
    dh_destroy(&s_welzijn);
    bh_destroy(&s_bh);
}

TestSuite(daemon, .init = s_setup, .fini = s_teardown);

static void s_start(dh_t *daemon)
{
    cr_assert_eq(dh_start(daemon), 0, "hartslagd %s did not start:\n%s", daemon->org,
                 dh_log(daemon));
    cr_assert(dh_wait_log(daemon, "event=connected", 10000), "%s did not connect:\n%s", daemon->org,
              dh_log(daemon));
}

/* Restarts the broker on its old port. The daemons keep reconnecting to
   that port meanwhile, and on loopback a connect can briefly hold it (TCP
   simultaneous open to itself), so retry a little. */
static void s_restart_broker(void)
{
    for (int attempt = 0; attempt < 40; attempt++) {
        if (bh_start(s_bh, NULL) == 0)
            return;
        usleep(250000);
    }
    char *log = bh_log(s_bh);
    cr_assert_fail("broker did not restart:\n%s", log);
    free(log);
}

static const char *s_fields[] = {"adres=Kanaalstraat 5, 6411 AB Heerlen", "datum=2026-03-01",
                                 "categorie=" CANARY, NULL};

static void s_send_overlast(const char *to, char id[33])
{
    cr_assert_eq(dh_send(s_politie, to, "overlast", "casusoverleg", BSN, s_fields,
                         "Buren: \"elke nacht\"\nherrie " CANARY, true, id),
                 0, "send failed:\n%s", dh_log(s_politie));
}

Test(daemon, both_recipients_get_the_signal_and_the_broker_sees_no_content)
{
    s_start(s_gemeente);
    s_start(s_welzijn);
    s_start(s_politie);
    char id[33];
    s_send_overlast("gemeente,welzijn", id);
    cr_assert(dh_wait_inbox(s_gemeente, 1, 10000), "gemeente inbox:\n%s", dh_log(s_gemeente));
    cr_assert(dh_wait_inbox(s_welzijn, 1, 10000), "welzijn inbox:\n%s", dh_log(s_welzijn));

    char *out = NULL;
    cr_assert_eq(dh_cli(s_welzijn, NULL, &out, NULL, "show", id, "--json", (char *)NULL), 0);
    cr_assert(strstr(out, id) && strstr(out, "\"categorie\":\"" CANARY "\""), "%s", out);
    cr_assert(strstr(out, "\"sender\":\"politie\"") && strstr(out, "\"sender_user\":\"tester-1\""));
    cr_assert(strstr(out, "\\\"elke nacht\\\"\\nherrie"), "free text not escaped: %s", out);
    free(out);
    cr_assert_eq(dh_cli(s_gemeente, NULL, &out, NULL, "show", id, (char *)NULL), 0);
    cr_assert(strstr(out, "Kanaalstraat 5") && strstr(out, "politie"), "%s", out);
    free(out);

    /* The broker never holds content or the citizen's BSN: not in its
       files, not in its log. Nor does the sender keep the BSN. */
    dh_stop(s_gemeente, SIGTERM);
    dh_stop(s_welzijn, SIGTERM);
    dh_stop(s_politie, SIGTERM);
    bh_stop(s_bh, SIGTERM);
    cr_assert_eq(bh_store_dump(s_bh), 0); /* a PostgreSQL store into the scan */
    cr_assert_not(tu_dir_contains(s_bh->state, CANARY, strlen(CANARY)));
    cr_assert_not(tu_dir_contains(s_bh->state, BSN, strlen(BSN)));
    cr_assert_not(tu_dir_contains(s_bh->state, "Kanaalstraat", 12));
    char *log = bh_log(s_bh);
    cr_assert_null(strstr(log, CANARY));
    cr_assert_null(strstr(log, BSN));
    free(log);
    /* Daemon logs: metadata only. */
    dh_t *daemons[] = {s_gemeente, s_welzijn, s_politie};
    for (size_t i = 0; i < 3; i++) {
        log = dh_log(daemons[i]);
        cr_assert_null(strstr(log, CANARY), "%s log holds content", daemons[i]->org);
        cr_assert_null(strstr(log, BSN), "%s log holds the BSN", daemons[i]->org);
        cr_assert_null(strstr(log, "Kanaalstraat"));
        free(log);
    }
    cr_assert_not(tu_dir_contains(s_politie->state, BSN, strlen(BSN)));
}

Test(daemon, offline_recipient_gets_it_once_despite_broker_and_daemon_restarts)
{
    s_start(s_gemeente);
    s_start(s_politie);
    char id[33];
    s_send_overlast("gemeente,welzijn", id);
    cr_assert(dh_wait_inbox(s_gemeente, 1, 10000));

    /* The broker dies hard after accepting; it comes back on the same port. */
    bh_stop(s_bh, SIGKILL);
    s_restart_broker();
    s_start(s_welzijn);
    cr_assert(dh_wait_inbox(s_welzijn, 1, 15000), "welzijn never got it:\n%s", dh_log(s_welzijn));

    /* Restarts make the broker redeliver whatever was not acknowledged;
       the inbox holds the signal once. */
    dh_stop(s_welzijn, SIGKILL);
    s_start(s_welzijn);
    dh_stop(s_gemeente, SIGKILL);
    s_start(s_gemeente);
    sleep(1);
    cr_assert_eq(dh_inbox_count(s_welzijn), 1);
    cr_assert_eq(dh_inbox_count(s_gemeente), 1);
    cr_assert_eq(dh_log_count(s_welzijn, "event=signal_received"), 1);
    cr_assert_eq(dh_log_count(s_gemeente, "event=signal_received"), 1);

    char *out = NULL;
    cr_assert_eq(dh_cli(s_politie, NULL, &out, NULL, "show", id, "--json", (char *)NULL), 0);
    cr_assert(strstr(out, "\"state\":\"accepted\""), "%s", out);
    free(out);
}

Test(daemon, signals_sent_while_the_broker_is_down_are_resubmitted)
{
    s_start(s_gemeente);
    s_start(s_politie);
    bh_stop(s_bh, SIGTERM);
    char id[33];
    cr_assert_eq(
        dh_send(s_politie, "gemeente", "overlast", "casusoverleg", BSN, s_fields, NULL, false, id),
        0);
    char *out = NULL;
    cr_assert_eq(dh_cli(s_politie, NULL, &out, NULL, "show", id, "--json", (char *)NULL), 0);
    cr_assert(strstr(out, "\"state\":\"pending\""), "%s", out);
    free(out);
    s_restart_broker();
    cr_assert(dh_wait_inbox(s_gemeente, 1, 20000), "not resubmitted:\n%s", dh_log(s_politie));
    cr_assert(dh_wait_log(s_politie, "event=signal_accepted", 5000));
}

Test(daemon, withdrawal_removes_the_signal_from_every_inbox)
{
    s_start(s_gemeente);
    s_start(s_welzijn);
    s_start(s_politie);
    char id[33];
    s_send_overlast("gemeente,welzijn", id);
    cr_assert(dh_wait_inbox(s_gemeente, 1, 10000));
    cr_assert(dh_wait_inbox(s_welzijn, 1, 10000));
    char *out = NULL, *err = NULL;
    int rc = dh_cli(s_politie, NULL, &out, &err, "withdraw", id, "--reason", "unjustified",
                    (char *)NULL);
    cr_assert_eq(rc, 0, "withdraw: %s %s", out, err);
    free(out);
    free(err);
    cr_assert(dh_wait_inbox(s_gemeente, 0, 10000));
    cr_assert(dh_wait_inbox(s_welzijn, 0, 10000));
    rc = dh_cli(s_welzijn, NULL, NULL, &err, "show", id, (char *)NULL);
    cr_assert_eq(rc, 1);
    cr_assert(strstr(err, "withdrawn"), "%s", err);
    free(err);
    cr_assert_eq(dh_cli(s_politie, NULL, &out, NULL, "show", id, "--json", (char *)NULL), 0);
    cr_assert(strstr(out, "\"state\":\"withdrawn\""), "%s", out);
    free(out);
    /* A second withdrawal is refused with a clear message. */
    cr_assert_eq(dh_cli(s_politie, NULL, NULL, &err, "withdraw", id, (char *)NULL), 1);
    cr_assert(strstr(err, "already withdrawn"), "%s", err);
    free(err);
}

Test(daemon, watch_streams_new_signals)
{
    s_start(s_gemeente);
    s_start(s_politie);
    char path[4700];
    snprintf(path, sizeof path, "%s/watch.out", s_gemeente->dir);
    char *watch[] = {(char *)tu_bin("hartslag"), "watch", "--json", "--state-dir",
                     s_gemeente->state,          NULL};
    pid_t pid = tu_spawn(watch, path, NULL, false, NULL);
    usleep(500000);
    char id[33];
    s_send_overlast("gemeente", id);
    bool seen = false;
    for (int i = 0; i < 100 && !seen; i++) {
        char *text = tu_read_file(path, NULL);
        seen = text && strstr(text, id) && strstr(text, "\"kind\":\"signal\"");
        free(text);
        usleep(100000);
    }
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    cr_assert(seen, "watch printed nothing");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

Test(daemon, local_agreements_check_and_cli_errors)
{
    s_start(s_politie);
    char *out = NULL, *err = NULL;
    /* No agreement politie -> woonpunt: refused before anything is sent. */
    int rc = dh_cli(s_politie, BSN "\n", &out, &err, "send", "--user", "u1", "--to",
                    "woonpunt,gemeente", "--type", "overlast", "--purpose", "casusoverleg",
                    "--subject-bsn", "-", "--field", "adres=x", (char *)NULL);
    cr_assert_eq(rc, 1, "%s", err);
    cr_assert(strstr(err, "woonpunt") && strstr(err, "no_agreement"), "%s", err);
    cr_assert(strstr(err, "gemeente") && strstr(err, "allowed"), "%s", err);
    free(out);
    free(err);
    /* A field outside the agreement. */
    rc = dh_cli(s_politie, NULL, NULL, &err, "send", "--user", "u1", "--to", "gemeente", "--type",
                "overlast", "--purpose", "casusoverleg", "--subject-case", "ZK-1", "--field",
                "bsn=" BSN, (char *)NULL);
    cr_assert_eq(rc, 1);
    cr_assert(strstr(err, "field_not_allowed:bsn"), "%s", err);
    cr_assert_null(strstr(err, BSN), "the BSN is echoed: %s", err);
    free(err);
    /* A BSN that fails the elfproef: usage error, never echoed. */
    rc = dh_cli(s_politie, NULL, NULL, &err, "send", "--user", "u1", "--to", "gemeente", "--type",
                "overlast", "--purpose", "casusoverleg", "--subject-bsn", "123456789", "--field",
                "adres=x", (char *)NULL);
    cr_assert_eq(rc, 2, "%s", err);
    cr_assert_null(strstr(err, "123456789"), "%s", err);
    free(err);
    /* Usage errors. */
    rc = dh_cli(s_politie, NULL, NULL, &err, "send", "--user", "u1", "--type", "overlast",
                (char *)NULL);
    cr_assert_eq(rc, 2);
    free(err);
    cr_assert_eq(dh_cli(s_politie, NULL, NULL, NULL, "show", "nothex", (char *)NULL), 2);
    /* A daemon that is not running: says so and what to do. */
    rc = dh_cli(s_welzijn, NULL, NULL, &err, "status", (char *)NULL);
    cr_assert_eq(rc, 1);
    cr_assert(strstr(err, "not running") && strstr(err, "hartslagd --config"), "%s", err);
    free(err);
    /* Status of a connected daemon. */
    cr_assert_eq(dh_cli(s_politie, NULL, &out, NULL, "status", "--json", (char *)NULL), 0);
    cr_assert(strstr(out, "\"connected\":true") && strstr(out, "\"org\":\"politie\""), "%s", out);
    free(out);
    /* Only the daemon's user may use its socket or read its database. */
    char path[4700];
    struct stat st;
    snprintf(path, sizeof path, "%s/control.sock", s_politie->state);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "control.sock mode %o", st.st_mode & 0777);
    snprintf(path, sizeof path, "%s/hartslagd.db", s_politie->state);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0077, 0, "hartslagd.db mode %o", st.st_mode & 0777);
    /* One daemon per state_dir. */
    dh_t *twin = dh_new(s_bh, "politie", NULL, NULL);
    cr_assert_not_null(twin);
    cr_assert_neq(dh_start(twin), 0);
    cr_assert(dh_log_count(twin, "already running") >= 1);
    dh_destroy(&twin);
}

/* The WAL's checkpoint sequence number (bytes 12..15 of its header, big
   endian): SQLite adds one each time it starts the WAL over after a
   complete checkpoint. -1 when there is no WAL. */
static long long s_wal_resets(const dh_t *dh)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/hartslagd.db-wal", dh->state);
    FILE *f = fopen(path, "rb");
    unsigned char hdr[16];
    size_t n = f ? fread(hdr, 1, sizeof hdr, f) : 0;
    if (f)
        fclose(f);
    if (n != sizeof hdr)
        return -1;
    return (long long)hdr[12] << 24 | hdr[13] << 16 | hdr[14] << 8 | hdr[15];
}

/* Rows in the daemon's inbox, read from its database (`hartslag inbox`
   lists only the newest ones). -1 on error. */
static long long s_inbox_rows(const dh_t *dh)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/hartslagd.db", dh->state);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    long long n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_busy_timeout(db, 5000) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM inbox", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

/* The last few KiB of a log, from a line start. */
static const char *s_tail(const char *log)
{
    size_t len = log ? strlen(log) : 0;
    if (len <= 6000)
        return log ? log : "";
    const char *from = log + len - 6000;
    const char *line = strchr(from, '\n');
    return line ? line + 1 : from;
}

/*  SQLite's automatic checkpoint is off in the daemon (it ran inside the
    commit, before the Submits and acks that wait for it); the daemon
    checkpoints after sending them. Without that the WAL would never start
    over: 2,000 signals write well over 2,000 WAL pages at the sender, so
    checkpointed every 1,000 pages its WAL has started over at least once. */
Test(daemon, the_wal_is_checkpointed_after_the_commits)
{
    s_start(s_gemeente);
    s_start(s_politie);
    zsock_t *ctrl = zsock_new(ZMQ_DEALER);
    cr_assert_not_null(ctrl);
    zsock_set_sndhwm(ctrl, 0);
    zsock_set_rcvhwm(ctrl, 0);
    zsock_set_linger(ctrl, 0);
    zsock_set_rcvtimeo(ctrl, 20000);
    cr_assert_eq(zsock_connect(ctrl, "ipc://%s/control.sock", s_politie->state), 0);
    enum { N = 2000 };
    for (int i = 0; i < N; i++) {
        char text[64];
        snprintf(text, sizeof text, "text=signal %d", i);
        cr_assert_eq(zstr_sendx(ctrl, "send", "to=gemeente", "type=overlast",
                                "purpose=casusoverleg", "subject-bsn=" BSN,
                                "field=adres=Kanaalstraat 5", "field=datum=2026-03-01", text,
                                "user=tester-1", NULL),
                     0);
        if (i % 50 == 49) /* a little at a time: many small commits */
            usleep(20000);
    }
    for (int i = 0; i < N; i++) {
        char *first = NULL, *id = NULL;
        cr_assert_eq(zstr_recvx(ctrl, &first, &id, NULL), 2, "answer %d missing:\n%s", i,
                     dh_log(s_politie));
        cr_assert_str_eq(first, "ok", "answer %d: %s %s", i, first, id);
        zstr_free(&first);
        zstr_free(&id);
    }
    zsock_destroy(&ctrl);
    long long stored = 0;
    for (int i = 0; i < 600 && stored != N; i++) {
        stored = s_inbox_rows(s_gemeente);
        if (stored != N)
            usleep(50000);
    }
    if (stored != N) {
        /* The logs run to hundreds of KiB here, more than Criterion's
           runner takes in one message: only their last lines. */
        char *broker_log = bh_log(s_bh), *sender_log = dh_log(s_politie),
             *recipient_log = dh_log(s_gemeente);
        cr_log_error("%lld of %d stored\nbroker:\n%s\nsender:\n%s\nrecipient:\n%s", stored, N,
                     s_tail(broker_log), s_tail(sender_log), s_tail(recipient_log));
        /* Warnings and refusals, wherever they are in the logs (at most 20). */
        int shown = 0;
        const char *logs[] = {sender_log, broker_log};
        for (int l = 0; l < 2; l++)
            for (const char *line = logs[l]; line && *line && shown < 20;) {
                const char *eol = strchr(line, '\n');
                int len = eol ? (int)(eol - line) : (int)strlen(line);
                char text[1024];
                snprintf(text, sizeof text, "%.*s", len, line);
                if (strstr(text, "denied") || strstr(text, "refused") ||
                    strstr(text, "level=warn") || strstr(text, "level=error")) {
                    cr_log_error("%s: %s", l ? "broker" : "sender", text);
                    shown++;
                }
                line = eol ? eol + 1 : NULL;
            }
        free(broker_log);
        free(sender_log);
        free(recipient_log);
    }
    cr_assert_eq(stored, N, "not all delivered");
    long long sender = s_wal_resets(s_politie), recipient = s_wal_resets(s_gemeente);
    cr_log_info("WAL started over after %d signals: sender %lld times, recipient %lld times", N,
                sender, recipient);
    cr_assert_gt(sender, 0, "the sender's WAL was never checkpointed");
    cr_assert_geq(recipient, 0, "no WAL at the recipient");
}
