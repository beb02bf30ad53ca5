/*  hartslag audit report in a real browser: Debian's headless Chromium
    loads the page, the DOM holds every expected section, nothing is logged
    to the console (the page has no scripts; its Content-Security-Policy
    would log any attempt to load something), and a screenshot is saved as
    $HARTSLAG_BIN/audit-report.png for a human to look at. A missing
    /usr/bin/chromium is a failure, not a skip (scripts/deps.sh installs it). */
#include "audit_log.h"
#include "testutil.h"
#include "tu_browser.h"
#include "tu_db.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHROMIUM TU_BROWSER_CHROMIUM
#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define DAY 86400000LL

static char *s_dir;

static void s_setup(void)
{
    tu_watchdog(180);
    cr_assert(sodium_init() >= 0);
    s_dir = tu_tmpdir();
    cr_assert_not_null(s_dir);
}

static void s_teardown(void)
{
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(audit_report_browser, .init = s_setup, .fini = s_teardown);

static void s_add(audit_log_t *log, const char *event, int64_t t, const char *actor,
                  const char *counterpart, const char *on_behalf_of, const char *type,
                  const char *purpose, const char *outcome, const char *reason)
{
    Hartslag__AuditRecord r = HARTSLAG__AUDIT_RECORD__INIT;
    uint8_t id[16], subject[32];
    randombytes_buf(id, sizeof id);
    randombytes_buf(subject, sizeof subject);
    r.time_ms = (uint64_t)t;
    r.event = (char *)event;
    r.actor_org = (char *)actor;
    r.actor_user = strcmp(actor, "broker") ? "medewerker Jansen" : NULL;
    r.counterpart_org = (char *)counterpart;
    r.on_behalf_of = (char *)on_behalf_of;
    if (type) {
        r.has_signal_id = 1;
        r.signal_id.data = id;
        r.signal_id.len = 16;
        r.has_subject = 1;
        r.subject.data = subject;
        r.subject.len = 32;
    }
    r.signal_type = (char *)type;
    r.purpose = (char *)purpose;
    r.legal_basis = strcmp(event, "accepted") == 0 ? "Wpg art. 19, lid 1 \"b\" <i>" : NULL;
    r.outcome = (char *)outcome;
    r.reason = (char *)reason;
    cr_assert_geq(audit_log_append(log, &r), 0);
}

/* Three months of exchanges, denials, withdrawals, expiries, alerts and
   administration; two checkpoints, the latest cosigned by two partners. */
static void s_store(const char *path)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    char err[512];
    audit_log_t *log =
        audit_log_open(tu_db(db), "hartslag.passart-heerlen/audit", true, err, sizeof err);
    cr_assert_not_null(log, "%s", err);
    uint8_t pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    const char *pairs[][4] = {
        {"politie", "gemeente", "overlast", "casusoverleg"},
        {"politie", "welzijn", "overlast", "casusoverleg"},
        {"gemeente", "welzijn", "zorgmelding", "zorgcoordinatie"},
        {"gemeente", "politie", "zorgmelding", "zorgcoordinatie"},
        {"woonpunt", "gemeente", "huurachterstand", "vroegsignalering"},
    };
    cr_assert_eq(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    for (int day = 0; day < 150; day += 2) {
        int64_t t = T0 + day * DAY + 9 * 3600000LL;
        for (int p = 0; p < 5; p++)
            if ((day / 2 + p) % 3 != 0) {
                s_add(log, "accepted", t + p * 60000, pairs[p][0], pairs[p][1], NULL, pairs[p][2],
                      pairs[p][3], "ok", NULL);
                s_add(log, "delivered", t + p * 60000 + 500, "broker", pairs[p][1], pairs[p][0],
                      pairs[p][2], pairs[p][3], "ok", NULL);
            }
        if (day % 10 == 0)
            s_add(log, "denied", t + 3600000, "woonpunt", "welzijn", NULL, "huurachterstand",
                  "vroegsignalering", "refused", "agreement:no_agreement");
        if (day % 14 == 0)
            s_add(log, "denied", t + 3700000, "politie", "gemeente", NULL, "overlast",
                  "casusoverleg", "refused", "agreement:field_not_allowed:bsn");
        if (day % 20 == 0)
            s_add(log, "withdrawn", t + 7200000, "politie", "gemeente", NULL, "overlast",
                  "casusoverleg", "ok", "unjustified");
        if (day % 30 == 0)
            s_add(log, "expired", t + 8000000, "broker", "welzijn", "gemeente", "zorgmelding",
                  "zorgcoordinatie", "refused", "max_queue_days");
        if (day % 40 == 0)
            s_add(log, "alert", t + 9000000, "broker", "gemeente", NULL, "overlast", "casusoverleg",
                  "ok", "twee-afzenders <b>&</b>");
        if (day == 50)
            s_add(log, "auth_failed", t, "broker", NULL, NULL, NULL, NULL, "refused",
                  "unknown_key");
        if (day == 60)
            s_add(log, "partner_added", t, "broker", "woonpunt", NULL, NULL, NULL, "ok", NULL);
        if (day == 100) {
            cr_assert_eq(audit_log_checkpoint(log, sk, t), 0);
        }
    }
    cr_assert_eq(audit_log_checkpoint(log, sk, T0 + 151 * DAY), 0);
    cr_assert_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    audit_log_commit(log);
    uint64_t size = audit_log_checkpoint_size(log);
    cr_assert_gt(size, 0);
    cr_assert_eq(audit_log_store_cosignature(log, size, "politie", "\xe2\x80\x94 politie AAAA",
                                             T0 + 151 * DAY + 1000),
                 0);
    cr_assert_eq(audit_log_store_cosignature(log, size, "gemeente", "\xe2\x80\x94 gemeente AAAA",
                                             T0 + 151 * DAY + 2000),
                 0);
    audit_log_destroy(&log);
    tu_sqlite_close(db);
}

static void s_assert_no_console_errors(const char *log, const char *what)
{
    const char *bad = tu_browser_console_error(log);
    cr_assert_null(bad, "%s: chromium logged '%s':\n%s", what, bad, log ? log : "");
}

Test(audit_report_browser, report_renders_in_headless_chromium_without_console_errors)
{
    cr_assert_eq(access(CHROMIUM, X_OK), 0,
                 CHROMIUM " is missing: install Debian's chromium (scripts/deps.sh, or apt-get "
                          "install -y chromium) — this test needs a real browser");
    char db[4300], html[4300];
    snprintf(db, sizeof db, "%s/broker.db", s_dir);
    snprintf(html, sizeof html, "%s/report.html", s_dir);
    s_store(db);

    char *argv_report[] = {
        (char *)tu_bin("hartslag"), "audit", "report", "--db", db, "--html", html, NULL};
    char *out = NULL, *err = NULL;
    int rc = tu_run(argv_report, NULL, &out, &err);
    cr_assert_eq(rc, 0, "report failed: %s", err);
    free(out);
    free(err);

    /* 1. The DOM as Chromium built it. */
    char *dom = NULL, *log = NULL;
    rc = tu_browser_dump_dom(s_dir, html, &dom, &log);
    cr_assert_eq(rc, 0, "chromium --dump-dom: rc %d (timeout or crash):\n%s", rc, log ? log : "");
    cr_assert_not_null(dom);
    const char *sections[] = {"summary",     "exchanges", "purposes",         "denials",
                              "withdrawals", "alerts",    "checkpoints",      "administration",
                              "cosigners",   "log-size",  "latest-checkpoint"};
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++) {
        char id[64];
        snprintf(id, sizeof id, "id=\"%s\"", sections[i]);
        cr_assert(strstr(dom, id), "the DOM has no %s", id);
    }
    /* Charts rendered as SVG with bars; texts escaped, not parsed as markup. */
    cr_assert(strstr(dom, "<svg"), "no SVG chart in the DOM");
    cr_assert(strstr(dom, "<rect"), "no bars in the charts");
    cr_assert(strstr(dom, "politie -&gt; gemeente"));
    cr_assert(strstr(dom, "twee-afzenders &lt;b&gt;&amp;&lt;/b&gt;"), "alert rule not escaped");
    cr_assert_null(strstr(dom, "<b>&amp;</b>"));
    cr_assert_null(strstr(dom, "<script"));
    cr_assert_null(strstr(dom, "Jansen"), "an employee name in the report");
    cr_assert(strstr(dom, "<tr class=\"cosigned\"><td>gemeente</td>"));
    cr_assert(strstr(dom, "<tr class=\"cosigned\"><td>politie</td>"));
    s_assert_no_console_errors(log, "--dump-dom");
    free(dom);
    free(log);

    /* 2. A screenshot under the build directory. */
    const char *bin = getenv("HARTSLAG_BIN");
    cr_assert_not_null(bin, "HARTSLAG_BIN is not set (the build directory)");
    char png[4300];
    snprintf(png, sizeof png, "%s/audit-report.png", bin);
    unlink(png);
    rc = tu_browser_screenshot(s_dir, html, png, 1280, 2000, &log);
    cr_assert_eq(rc, 0, "chromium --screenshot: rc %d:\n%s", rc, log ? log : "");
    s_assert_no_console_errors(log, "--screenshot");
    free(log);
    size_t len = 0;
    char *bytes = tu_read_file(png, &len);
    cr_assert_not_null(bytes, "no screenshot at %s", png);
    cr_assert_gt(len, 10000, "screenshot suspiciously small (%zu bytes)", len);
    cr_assert_eq(memcmp(bytes, "\x89PNG\r\n\x1a\n", 8), 0, "not a PNG");
    free(bytes);
}
