/*  Multi-agency alerts end to end (issue 7): real broker, real daemons. */
#include "broker_harness.h"
#include "daemon_harness.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *s_yaml =
    "partnership: passart-test\nversion: 2\ncoordinator: gemeente\n"
    "partners:\n"
    "  - {org: gemeente, role: coordinator}\n"
    "  - {org: politie, role: partner}\n"
    "  - {org: welzijn, role: partner}\n"
    "  - {org: woonpunt, role: partner}\n"
    "agreements:\n"
    "  - {id: p, from: politie, to: [gemeente], signal_types: [overlast], fields: [datum],"
    "     purpose: casusoverleg, legal_basis: \"Wpg art. 19\", valid_from: 2025-01-01,"
    "     valid_until: 2099-12-31, retention_days: 30, max_queue_days: 7}\n"
    "  - {id: w, from: welzijn, to: [gemeente], signal_types: [zorgsignaal], fields: [datum],"
    "     purpose: casusoverleg, legal_basis: \"Wmo art. 5.2.1\", valid_from: 2025-01-01,"
    "     valid_until: 2099-12-31, retention_days: 30, max_queue_days: 7}\n"
    "  - {id: h, from: woonpunt, to: [gemeente], signal_types: [huurachterstand],"
    "     fields: [datum], purpose: casusoverleg, legal_basis: \"convenant art. 5\","
    "     valid_from: 2025-01-01, valid_until: 2099-12-31, retention_days: 30,"
    "     max_queue_days: 7}\n"
    "alerts:\n"
    "  - {id: multi-agency-match, distinct_senders: 2, window_days: 90, notify: [gemeente],"
    "     notify_senders: true, legal_basis: \"convenant Hartslag Passart art. 6\"}\n";

#define BSN "111222333"
#define CANARY "CANARY-alert-9d2f"

static bh_t *s_bh;
static dh_t *s_daemons[4];
static const char *s_orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};
static char s_hook_out[4400];

static void s_setup(void)
{
    tu_watchdog(120);
    s_bh = bh_new(s_orgs, 4, s_yaml);
    cr_assert_not_null(s_bh);
    cr_assert_eq(bh_start(s_bh, NULL), 0);
    snprintf(s_hook_out, sizeof s_hook_out, "%s/hook.jsonl", s_bh->root);
    char hook[9000];
    snprintf(hook, sizeof hook, "hook: \"cat >> %s; echo >> %s\"\n", s_hook_out, s_hook_out);
    for (int i = 0; i < 4; i++) {
        s_daemons[i] = dh_new(s_bh, s_orgs[i], NULL, i == 0 ? hook : NULL);
        cr_assert_not_null(s_daemons[i]);
        cr_assert_eq(dh_start(s_daemons[i]), 0);
    }
}

static void s_teardown(void)
{
    for (int i = 0; i < 4; i++)
        dh_destroy(&s_daemons[i]);
    bh_destroy(&s_bh);
}

TestSuite(alerts, .init = s_setup, .fini = s_teardown);

/* Alerts `daemon` holds, as JSON lines (caller frees). */
static char *s_alerts(dh_t *daemon)
{
    char *out = NULL;
    cr_assert_eq(dh_cli(daemon, NULL, &out, NULL, "alerts", "--json", NULL), 0);
    return out;
}

static int s_count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Waits until `daemon` holds `n` alerts (lines with "alert_id"). */
static bool s_wait_alerts(dh_t *daemon, int n)
{
    for (int i = 0; i < 100; i++) {
        char *out = s_alerts(daemon);
        int have = s_count(out, "\"alert_id\"");
        free(out);
        if (have >= n)
            return have == n;
        usleep(100000);
    }
    return false;
}

static void s_send(int from, const char *type)
{
    const char *fields[] = {"datum=2026-11-28 " CANARY, NULL};
    char id[33];
    cr_assert_eq(
        dh_send(s_daemons[from], "gemeente", type, "casusoverleg", BSN, fields, NULL, true, id), 0,
        "%s could not send", s_orgs[from]);
}

Test(alerts, two_partners_about_one_person_alert_the_coordinator_once)
{
    s_send(1, "overlast");
    usleep(500000);
    char *out = s_alerts(s_daemons[0]);
    cr_assert_eq(s_count(out, "\"alert_id\""), 0, "one partner is not a match: %s", out);
    free(out);
    s_send(2, "zorgsignaal");
    cr_assert(s_wait_alerts(s_daemons[0], 1), "gemeente: not exactly one alert");
    out = s_alerts(s_daemons[0]);
    cr_assert(strstr(out, "\"org\":\"politie\""), "%s", out);
    cr_assert(strstr(out, "\"org\":\"welzijn\""), "%s", out);
    cr_assert(strstr(out, "multi-agency-match"), "%s", out);
    cr_assert(strstr(out, "test@politie.example"), "functional contact: %s", out);
    cr_assert_null(strstr(out, BSN));
    cr_assert_null(strstr(out, CANARY), "no content in an alert");
    free(out);
    /* The table names the partners, not just how many (issue 13 F21). */
    cr_assert_eq(dh_cli(s_daemons[0], NULL, &out, NULL, "alerts", NULL), 0);
    cr_assert(strstr(out, "partners politie, welzijn") || strstr(out, "partners welzijn, politie"),
              "%s", out);
    free(out);
    /* notify_senders: the two senders hear it too; woonpunt does not. */
    cr_assert(s_wait_alerts(s_daemons[1], 1));
    cr_assert(s_wait_alerts(s_daemons[2], 1));
    out = s_alerts(s_daemons[3]);
    cr_assert_eq(s_count(out, "\"alert_id\""), 0, "woonpunt is in no rule: %s", out);
    free(out);
    /* The alert went to the coordinator's hook as JSON. */
    /* Wait on the hook's own output (the alert also lands in the daemon's
       store, which said "done" too early on a busy machine). */
    char *hook = NULL;
    for (int i = 0; i < 100; i++) {
        hook = tu_read_file(s_hook_out, NULL);
        if (hook && strstr(hook, "\"kind\":\"alert\""))
            break;
        free(hook);
        hook = NULL;
        usleep(100000);
    }
    if (!hook)
        hook = tu_read_file(s_hook_out, NULL);
    cr_assert_not_null(hook, "the hook never ran");
    cr_assert(strstr(hook, "\"kind\":\"alert\""), "%s", hook);
    free(hook);
    /* The same partner signalling again changes nothing. */
    s_send(1, "overlast");
    usleep(800000);
    cr_assert(s_wait_alerts(s_daemons[0], 1), "a member signalling again raised an alert");
}

Test(alerts, a_third_partner_gives_one_new_alert_and_state_survives_kill9)
{
    s_send(1, "overlast");
    s_send(2, "zorgsignaal");
    cr_assert(s_wait_alerts(s_daemons[0], 1));
    /* The broker is killed; the match index survives. */
    bh_stop(s_bh, SIGKILL);
    cr_assert_eq(bh_start(s_bh, NULL), 0);
    s_send(2, "zorgsignaal");
    usleep(800000);
    cr_assert(s_wait_alerts(s_daemons[0], 1), "no second alert for the same members");
    s_send(3, "huurachterstand");
    cr_assert(s_wait_alerts(s_daemons[0], 2), "a third partner: exactly one new alert");
    cr_assert(s_wait_alerts(s_daemons[3], 1), "woonpunt now takes part and hears it");
    /* The broker's files and log hold no BSN and no content. */
    bh_stop(s_bh, SIGTERM);
    cr_assert_eq(bh_store_dump(s_bh), 0);
    cr_assert(tu_dir_contains(s_bh->state, "multi-agency-match", 18), "positive control");
    cr_assert_not(tu_dir_contains(s_bh->state, BSN, strlen(BSN)));
    cr_assert_not(tu_dir_contains(s_bh->state, CANARY, strlen(CANARY)));
    char *log = bh_log(s_bh);
    cr_assert_null(strstr(log, BSN));
    cr_assert_null(strstr(log, CANARY));
    free(log);
}

Test(alerts, the_coordinator_marks_a_match_handled_and_the_partners_hear_it)
{
    s_send(1, "overlast");
    s_send(2, "zorgsignaal");
    cr_assert(s_wait_alerts(s_daemons[0], 1));
    char *out = s_alerts(s_daemons[0]);
    const char *at = strstr(out, "\"alert_id\":\"");
    cr_assert_not_null(at);
    char id[33];
    memcpy(id, at + 12, 32);
    id[32] = '\0';
    free(out);
    /* Only the coordinator may; the lead must be in the match. */
    char *err = NULL;
    int rc = dh_cli(s_daemons[1], NULL, NULL, &err, "alerts", "ack", id, "--lead", "politie", NULL);
    cr_assert_eq(rc, 1, "rc %d: %s", rc, err);
    cr_assert(strstr(err, "coordinator"), "%s", err);
    free(err);
    cr_assert_eq(
        dh_cli(s_daemons[0], NULL, &out, &err, "alerts", "ack", id, "--lead", "welzijn", NULL), 0,
        "%s %s", out, err);
    free(out);
    free(err);
    for (int i = 0; i < 100; i++) {
        out = s_alerts(s_daemons[1]);
        bool handled =
            strstr(out, "\"state\":\"handled\"") && strstr(out, "\"lead_org\":\"welzijn\"");
        free(out);
        if (handled)
            break;
        cr_assert_lt(i, 99, "politie never heard the match was handled");
        usleep(100000);
    }
    /* The broker audited it. */
    bh_stop(s_bh, SIGTERM);
    char db[4400];
    snprintf(db, sizeof db, "%s", bh_store(s_bh));
    char *argv[] = {
        (char *)tu_bin("hartslag"), "audit", "query", "--db", db, "--event", "alert_handled", NULL};
    cr_assert_eq(tu_run(argv, NULL, &out, NULL), 0, "%s", out);
    free(out);
    char *argv2[] = {
        (char *)tu_bin("hartslag"), "audit", "query", "--db", db, "--event", "alert", NULL};
    cr_assert_eq(tu_run(argv2, NULL, &out, NULL), 0, "%s", out);
    free(out);
}

/* The id of the first alert `daemon` holds (32 hex + NUL into `id`). */
static void s_first_alert_id(dh_t *daemon, char id[33])
{
    char *out = s_alerts(daemon);
    const char *at = strstr(out, "\"alert_id\":\"");
    cr_assert_not_null(at, "%s", out);
    memcpy(id, at + 12, 32);
    id[32] = '\0';
    free(out);
}

/* Issue 13 B6: `alerts ack` reports success only on the broker's word. */
Test(alerts, an_ack_the_daemon_or_the_broker_refuses_fails_in_plain_words)
{
    s_send(1, "overlast");
    s_send(2, "zorgsignaal");
    cr_assert(s_wait_alerts(s_daemons[0], 1));
    char id[33];
    s_first_alert_id(s_daemons[0], id);
    char *out = NULL, *err = NULL;
    /* An id this daemon never received. */
    const char *unknown = "00112233445566778899aabbccddeeff";
    int rc =
        dh_cli(s_daemons[0], NULL, &out, &err, "alerts", "ack", unknown, "--lead", "politie", NULL);
    cr_assert_eq(rc, 1, "rc %d: %s %s", rc, out, err);
    cr_assert_null(strstr(out, "marked handled"), "%s", out);
    cr_assert(strstr(err, "not among this organisation's alerts"), "%s", err);
    free(out);
    free(err);
    /* A lead outside the match (woonpunt did not signal). */
    rc = dh_cli(s_daemons[0], NULL, &out, &err, "alerts", "ack", id, "--lead", "woonpunt", NULL);
    cr_assert_eq(rc, 1, "rc %d: %s %s", rc, out, err);
    cr_assert(strstr(err, "woonpunt is not a partner in the match"), "%s", err);
    free(out);
    free(err);
    /* An alert the daemon holds but the broker does not know: the broker's
       refusal reaches the CLI. The row is planted in the daemon's store. */
    char db_path[4600], sql[600];
    snprintf(db_path, sizeof db_path, "%s/hartslagd.db", s_daemons[0]->state);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    snprintf(sql, sizeof sql,
             "INSERT INTO alerts (alert_id, rule_id, subject, participants, legal_basis,"
             " raised_ms, received_ms) VALUES ('%s', 'multi-agency-match', '%064d',"
             " '[{\"org\":\"politie\"},{\"org\":\"welzijn\"}]', 'x', 1, 1)",
             unknown, 0);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
    rc =
        dh_cli(s_daemons[0], NULL, &out, &err, "alerts", "ack", unknown, "--lead", "politie", NULL);
    cr_assert_eq(rc, 1, "rc %d: %s %s", rc, out, err);
    cr_assert_null(strstr(out, "marked handled"), "%s", out);
    cr_assert(strstr(err, "the broker refused") && strstr(err, "knows no alert"), "%s", err);
    free(out);
    free(err);
    /* The real alert with a lead in the match: the broker confirms. */
    rc = dh_cli(s_daemons[0], NULL, &out, &err, "alerts", "ack", id, "--lead", "welzijn", NULL);
    cr_assert_eq(rc, 0, "rc %d: %s %s", rc, out, err);
    cr_assert(strstr(out, "the broker recorded it"), "%s", out);
    free(out);
    free(err);
}
