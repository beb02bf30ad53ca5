/*  A case conference end to end (issue 15): a real broker, real daemons,
    the `hartslag case` CLI. The coordinator opens a case about the subject
    of an alert and invites; partners accept or decline; the case is
    scheduled and closed with an outcome; what is shared reaches only who
    takes part. Each step is reported done only
    once the broker recorded it, refused steps fail in words, and every
    daemon holds the case as its signed steps prove it. */
#include "broker_harness.h"
#include "daemon_harness.h"
#include "pseudonym.h"
#include "testutil.h"
#include "tu_case.h"
#include "tu_browser.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
    "alerts:\n"
    "  - {id: multi-agency-match, distinct_senders: 2, window_days: 90, notify: [gemeente],"
    "     notify_senders: false, legal_basis: \"convenant Hartslag Passart art. 6\"}\n"
    "cases:\n"
    "  - kind: casusoverleg-passart\n"
    "    coordinator: gemeente\n"
    "    participants:\n"
    "      - {org: gemeente, fields: [adres, toelichting]}\n"
    "      - {org: politie, fields: [adres, datum, toelichting]}\n"
    "      - {org: welzijn, fields: [toelichting]}\n"
    "    purpose: casusoverleg\n"
    "    legal_basis: \"Convenant Hartslag Passart art. 5\"\n"
    "    retention_days_after_close: 90\n"
    "    max_open_days: 180\n"
    "    outcomes: [opgelost, doorverwezen, zorgtraject, geen_actie]\n";

#define BSN "111222333"
#define CANARY "CANARY-case-5e1a"

static bh_t *s_bh;
static dh_t *s_daemons[TU_CASE_PARTNERS]; /* gemeente, politie, welzijn, woonpunt */
static char s_hook_out[4400];

static void s_setup(void)
{
    tu_watchdog(150);
    s_bh = tu_case_broker(s_yaml);
    snprintf(s_hook_out, sizeof s_hook_out, "%s/hook.jsonl", s_bh->root);
    char hook[9000];
    snprintf(hook, sizeof hook, "hook: \"cat >> %s; echo >> %s\"\n", s_hook_out, s_hook_out);
    tu_case_daemons(s_bh, hook, s_daemons);
}

static void s_teardown(void)
{
    tu_case_partnership_end(&s_bh, s_daemons);
}

TestSuite(case_conference, .init = s_setup, .fini = s_teardown);

/* The value of "key":"..." in `json`, into `out`. */
static void s_value(const char *json, const char *key, char *out, size_t len)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"%s\":\"", key);
    const char *at = json ? strstr(json, needle) : NULL;
    cr_assert_not_null(at, "no %s in %s", key, json ? json : "(null)");
    at += strlen(needle);
    size_t n = strcspn(at, "\"");
    cr_assert_lt(n, len);
    memcpy(out, at, n);
    out[n] = '\0';
}

#define DAY_MS (24ull * 60 * 60 * 1000)

/* The retain_until_ms of the (one) case share in an inbox listing. */
static uint64_t s_retain_ms(const char *inbox)
{
    const char *entry = strstr(inbox, "casusoverleg-passart");
    cr_assert_not_null(entry, "%s", inbox);
    const char *line = entry;
    while (line > inbox && line[-1] != '\n')
        line--;
    const char *at = strstr(line, "\"retain_until_ms\":");
    cr_assert_not_null(at, "%s", inbox);
    return strtoull(at + strlen("\"retain_until_ms\":"), NULL, 10);
}

/* Runs `hartslag case ...` as `daemon`; the exit code, with stdout and
   stderr joined in `text` (caller frees). */
static int s_case(dh_t *daemon, char **text, const char *op, const char *id, const char *opt,
                  const char *value)
{
    char *out = NULL, *err = NULL;
    int rc = id && opt ? dh_cli(daemon, NULL, &out, &err, "case", op, id, opt, value, "--user",
                                "medewerker 2", NULL)
             : id ? dh_cli(daemon, NULL, &out, &err, "case", op, id, "--user", "medewerker 2", NULL)
                  : dh_cli(daemon, NULL, &out, &err, "case", op, opt, value, NULL);
    size_t len = strlen(out ? out : "") + strlen(err ? err : "") + 2;
    *text = malloc(len);
    snprintf(*text, len, "%s%s", out ? out : "", err ? err : "");
    free(out);
    free(err);
    return rc;
}

Test(case_conference, from_an_alert_to_a_closed_case)
{
    /* Two partners signal about one person: the coordinator's alert. */
    char id[33];
    tu_case_signal(s_daemons[1], s_daemons[0], "overlast", BSN, 1, id);
    tu_case_signal(s_daemons[2], s_daemons[0], "zorgsignaal", BSN, 2, id);
    char *alerts = tu_case_alerts(s_daemons[0]), alert_id[40];
    s_value(alerts, "alert_id", alert_id, sizeof alert_id);
    char subject[70];
    s_value(alerts, "subject", subject, sizeof subject);
    free(alerts);

    /* A case opens from an alert the daemon holds (politie has none);
       the coordinator opens it and invites. */
    char *text = NULL;
    char *out = NULL, *err = NULL;
    int rc = dh_cli(s_daemons[1], NULL, &out, &err, "case", "open", "--from-alert", alert_id,
                    "--user", "agent 4", NULL);
    cr_assert_eq(rc, 1, "%s%s", out, err);
    cr_assert(strstr(err, "is not among this organisation's alerts"), "%s", err);
    free(out);
    free(err);
    rc = dh_cli(s_daemons[0], NULL, &out, &err, "case", "open", "--from-alert", alert_id,
                "--invite", "politie,welzijn", "--user", "regisseur 1", NULL);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    char case_id[40];
    cr_assert_eq(sscanf(out, "case %32s: open recorded by the broker", case_id), 1, "%s", out);
    free(out);
    free(err);

    /* The invited hold the case, with the alert's subject and their state
       as the signed steps prove it. */
    char *shown = tu_case_show_until(s_daemons[1], case_id, true,
                                     "\"org\":\"politie\",\"state\":\"invited\"");
    cr_assert(strstr(shown, subject), "%s", shown);
    cr_assert(strstr(shown, "\"org\":\"gemeente\",\"state\":\"active\""), "%s", shown);
    free(shown);

    cr_assert_eq(s_case(s_daemons[1], &text, "accept", case_id, NULL, NULL), 0, "%s", text);
    cr_assert(strstr(text, "accept recorded by the broker"), "%s", text);
    free(text);
    cr_assert_eq(s_case(s_daemons[2], &text, "decline", case_id, NULL, NULL), 0, "%s", text);
    free(text);
    /* woonpunt was never invited: refused, in words, exit 1. */
    cr_assert_eq(s_case(s_daemons[3], &text, "accept", case_id, NULL, NULL), 1, "%s", text);
    cr_assert(strstr(text, "refused") && strstr(text, "not_invited"), "%s", text);
    free(text);
    /* Sharing: sealed to who takes part now (politie), not to welzijn
       (declined); a field outside the sender's list refuses the share. */
    int before_politie = dh_inbox_count(s_daemons[1]);
    int before_welzijn = dh_inbox_count(s_daemons[2]);
    rc = dh_cli(s_daemons[0], NULL, &out, &err, "case", "share", case_id, "--field",
                "adres=Passart 12 " CANARY, "--text", "zie overleg " CANARY, "--user",
                "regisseur 1", NULL);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    cr_assert(strstr(out, "shared in the case: accepted by the broker"), "%s", out);
    free(out);
    free(err);
    cr_assert(dh_wait_inbox(s_daemons[1], before_politie + 1, 10000));
    cr_assert_eq(dh_cli(s_daemons[1], NULL, &out, NULL, "inbox", "--json", NULL), 0);
    cr_assert(strstr(out, CANARY) && strstr(out, "casusoverleg-passart"), "%s", out);
    /* Kept while the case may be open (the share lapses after the rule's
       180 days at the latest). */
    uint64_t retain_open = s_retain_ms(out);
    uint64_t now_ms = (uint64_t)time(NULL) * 1000;
    cr_assert_gt(retain_open, now_ms + 179ull * DAY_MS, "%s", out);
    free(out);
    rc = dh_cli(s_daemons[1], NULL, &out, &err, "case", "share", case_id, "--field", "categorie=x",
                "--user", "agent 4", NULL);
    cr_assert_eq(rc, 1, "%s%s", out, err);
    cr_assert(strstr(err, "field_not_allowed:categorie"), "%s", err);
    free(out);
    free(err);
    rc = dh_cli(s_daemons[2], NULL, &out, &err, "case", "share", case_id, "--text", "x", "--user",
                "hulpverlener 3", NULL);
    cr_assert_eq(rc, 1, "%s%s", out, err);
    cr_assert(strstr(err, "does not take part"), "%s", err);
    free(out);
    free(err);
    cr_assert_eq(dh_inbox_count(s_daemons[2]), before_welzijn);

    cr_assert_eq(s_case(s_daemons[0], &text, "schedule", case_id, "--date", "2027-01-14"), 0, "%s",
                 text);
    free(text);
    cr_assert_eq(s_case(s_daemons[0], &text, "close", case_id, "--outcome", "onbekend"), 1, "%s",
                 text);
    cr_assert(strstr(text, "unknown_outcome"), "%s", text);
    free(text);
    cr_assert_eq(s_case(s_daemons[0], &text, "close", case_id, "--outcome", "zorgtraject"), 0, "%s",
                 text);
    free(text);

    /* Every participant's daemon holds the same end state. */
    for (int d = 0; d < 2; d++) {
        shown = tu_case_show_until(s_daemons[d], case_id, true, "\"state\":\"closed\"");
        cr_assert(strstr(shown, "\"outcome\":\"zorgtraject\""), "%s", shown);
        cr_assert(strstr(shown, "\"meeting_date\":\"2027-01-14\""), "%s", shown);
        cr_assert(strstr(shown, "\"org\":\"politie\",\"state\":\"active\""), "%s", shown);
        cr_assert(strstr(shown, "\"org\":\"welzijn\",\"state\":\"declined\""), "%s", shown);
        free(shown);
    }
    /* Closed: what politie holds of the case goes 90 days from now
       (retention_days_after_close), by the inbox's own purge. */
    cr_assert_eq(dh_cli(s_daemons[1], NULL, &out, NULL, "inbox", "--json", NULL), 0);
    uint64_t retain_closed = s_retain_ms(out);
    free(out);
    now_ms = (uint64_t)time(NULL) * 1000;
    cr_assert_lt(retain_closed, now_ms + 91ull * DAY_MS);
    cr_assert_gt(retain_closed, now_ms + 89ull * DAY_MS);
    /* welzijn was told of the steps up to its decline, and no further. */
    shown = tu_case_show_until(s_daemons[2], case_id, true,
                               "\"org\":\"welzijn\",\"state\":\"declined\"");
    cr_assert_null(strstr(shown, "\"state\":\"closed\""), "%s", shown);
    free(shown);
    /* woonpunt holds nothing of it. */
    cr_assert_eq(s_case(s_daemons[3], &text, "show", case_id, NULL, NULL), 1, "%s", text);
    free(text);

    /* The list, in words. */
    cr_assert_eq(dh_cli(s_daemons[0], NULL, &out, NULL, "case", "list", NULL), 0);
    cr_assert(strstr(out, case_id) && strstr(out, "closed") && strstr(out, "2027-01-14") &&
                  strstr(out, "politie (active)"),
              "%s", out);
    free(out);

    /* The coordinator's hook had each step; never the BSN. */
    char *hooked = NULL;
    for (int i = 0; i < 100; i++) {
        free(hooked);
        hooked = tu_read_file(s_hook_out, NULL);
        if (hooked && strstr(hooked, "\"step\":\"close\""))
            break;
        usleep(100000);
    }
    cr_assert(hooked && strstr(hooked, "\"step\":\"close\"") &&
                  strstr(hooked, "\"step\":\"open\"") && strstr(hooked, "\"step\":\"accept\""),
              "%s", hooked ? hooked : "(no hook output)");
    cr_assert_null(strstr(hooked, BSN));
    free(hooked);
    /* What was said in the case never reached the broker's store or log. */
    cr_assert_eq(bh_store_dump(s_bh), 0);
    cr_assert_not(tu_dir_contains(s_bh->state, CANARY, strlen(CANARY)));
    char *log = bh_log(s_bh);
    cr_assert_null(strstr(log, CANARY));
    free(log);
}

/* The coordinator's daemon flags a case open longer than its rule's
   max_open_days, once: to the hook, to `case list`, in its log. Time is
   moved by backdating the open in the daemon's own store while it is
   stopped (the open is the coordinator's signed step; its clock is the
   daemon's). */
Test(case_conference, a_case_open_too_long_is_flagged_to_the_coordinator_once)
{
    char signal_id[33];
    tu_case_signal(s_daemons[1], s_daemons[0], "overlast", BSN, 1, signal_id);
    char case_id[40];
    tu_case_open(s_daemons[0], signal_id, "politie", NULL, case_id);
    char *shown = tu_case_show_until(s_daemons[0], case_id, true, "\"state\":\"open\"");
    cr_assert(strstr(shown, "\"overdue_at_ms\":null"), "%s", shown);
    free(shown);

    /* 179 days: not yet. */
    char db[4600], sql[200];
    snprintf(db, sizeof db, "%s/hartslagd.db", s_daemons[0]->state);
    dh_stop(s_daemons[0], SIGTERM);
    snprintf(sql, sizeof sql, "UPDATE cases SET opened_ms = opened_ms - %llu;", 179ull * DAY_MS);
    char *argv[] = {"/usr/bin/sqlite3", db, sql, NULL};
    char *why = NULL;
    cr_assert_eq(tu_run(argv, NULL, NULL, &why), 0, "%s", why ? why : "");
    free(why);
    cr_assert_eq(dh_start(s_daemons[0]), 0);
    cr_assert(dh_wait_log(s_daemons[0], "event=connected", 10000));
    cr_assert_eq(dh_log_count(s_daemons[0], "event=case_overdue"), 0);

    /* Two more days: past 180, flagged at start. */
    dh_stop(s_daemons[0], SIGTERM);
    snprintf(sql, sizeof sql, "UPDATE cases SET opened_ms = opened_ms - %llu;", 2ull * DAY_MS);
    cr_assert_eq(tu_run(argv, NULL, NULL, NULL), 0);
    cr_assert_eq(dh_start(s_daemons[0]), 0);
    cr_assert(dh_wait_log(s_daemons[0], "event=case_overdue", 10000), "%s", dh_log(s_daemons[0]));
    char needle[80];
    snprintf(needle, sizeof needle, "case=%s", case_id);
    char *log = dh_log(s_daemons[0]);
    cr_assert(strstr(log, needle) && strstr(log, "max_open_days=180"), "%s", log);
    free(log);
    shown = tu_case_show_until(s_daemons[0], case_id, true, "\"state\":\"open\"");
    cr_assert_null(strstr(shown, "\"overdue_at_ms\":null"), "%s", shown);
    free(shown);
    char *hooked = NULL;
    for (int i = 0; i < 100; i++) {
        free(hooked);
        hooked = tu_read_file(s_hook_out, NULL);
        if (hooked && strstr(hooked, "\"step\":\"overdue\""))
            break;
        usleep(100000);
    }
    cr_assert(hooked && strstr(hooked, "\"step\":\"overdue\"") &&
                  strstr(hooked, "\"max_open_days\":180"),
              "%s", hooked ? hooked : "(no hook output)");
    cr_assert_null(strstr(hooked, BSN));
    free(hooked);
    /* politie, a participant but not the coordinator, is not told. */
    cr_assert_eq(dh_log_count(s_daemons[1], "event=case_overdue"), 0);

    /* Once: a restart does not flag it again. */
    dh_stop(s_daemons[0], SIGTERM);
    cr_assert_eq(dh_start(s_daemons[0]), 0);
    cr_assert(dh_wait_log(s_daemons[0], "event=connected", 10000));
    cr_assert_eq(dh_log_count(s_daemons[0], "event=case_overdue"), 1);
}

/* The meeting's agenda: the open cases scheduled on its date (text in
   Dutch or English, JSON, and a self-contained page Chromium renders
   without a console error), never another day's, never content. */
Test(case_conference, the_agenda_lists_the_cases_of_the_meeting)
{
    char signal_id[33];
    tu_case_signal(s_daemons[1], s_daemons[0], "overlast", BSN, 1, signal_id);
    char *out = NULL, *err = NULL;
    char case_id[40];
    tu_case_open(s_daemons[0], signal_id, "politie", NULL, case_id);
    free(tu_case_show_until(s_daemons[1], case_id, true,
                            "\"org\":\"politie\",\"state\":\"invited\""));
    char *text = NULL;
    cr_assert_eq(s_case(s_daemons[1], &text, "accept", case_id, NULL, NULL), 0, "%s", text);
    free(text);
    char meeting[11], other[11];
    time_t later = time(NULL) + 7 * 86400, sooner = time(NULL) + 6 * 86400;
    strftime(meeting, sizeof meeting, "%Y-%m-%d", localtime(&later));
    strftime(other, sizeof other, "%Y-%m-%d", localtime(&sooner));
    cr_assert_eq(s_case(s_daemons[0], &text, "schedule", case_id, "--date", meeting), 0, "%s",
                 text);
    free(text);
    free(tu_case_show_until(s_daemons[0], case_id, true, meeting));
    char action[40];
    snprintf(action, sizeof action, "politie:%s", meeting);
    cr_assert_eq(s_case(s_daemons[0], &text, "plan", case_id, "--action", action), 0, "%s", text);
    free(text);
    free(tu_case_show_until(s_daemons[0], case_id, true, "\"step\":\"plan\""));

    cr_assert_eq(dh_cli(s_daemons[0], NULL, &out, &err, "case", "agenda", "--date", meeting, NULL),
                 0, "%s%s", out, err);
    char due[80];
    snprintf(due, sizeof due, "van politie, uiterlijk %s", meeting);
    cr_assert(strstr(out, due) && strstr(out, "nog open zijn (1)"), "%s", out);
    cr_assert(strstr(out, "Agenda casuïstiekoverleg") && strstr(out, case_id) &&
                  strstr(out, "Ingepland voor dit overleg (1)") &&
                  strstr(out, "politie (neemt deel)") && strstr(out, "gemeente (neemt deel)"),
              "%s", out);
    cr_assert_null(strstr(out, BSN));
    free(out);
    free(err);
    cr_assert_eq(dh_cli(s_daemons[0], NULL, &out, &err, "case", "agenda", "--date", meeting,
                        "--lang", "en", NULL),
                 0);
    cr_assert(strstr(out, "Scheduled for this meeting (1)") && strstr(out, "politie (takes part)"),
              "%s", out);
    free(out);
    free(err);
    cr_assert_eq(
        dh_cli(s_daemons[0], NULL, &out, &err, "case", "agenda", "--date", meeting, "--json", NULL),
        0);
    cr_assert(strstr(out, case_id) && strstr(out, "\"scheduled\":true"), "%s", out);
    free(out);
    free(err);
    /* Another day's meeting does not have it; a participant's own agenda does. */
    cr_assert_eq(dh_cli(s_daemons[0], NULL, &out, &err, "case", "agenda", "--date", other, NULL),
                 0);
    cr_assert(strstr(out, "Ingepland voor dit overleg (0)") && !strstr(out, case_id), "%s", out);
    cr_assert(strstr(out, "nog open zijn (0)"), "the action is due later: %s", out);
    free(out);
    free(err);
    cr_assert_eq(dh_cli(s_daemons[1], NULL, &out, &err, "case", "agenda", "--date", meeting, NULL),
                 0);
    cr_assert(strstr(out, case_id), "%s", out);
    free(out);
    free(err);
    cr_assert_eq(
        dh_cli(s_daemons[0], NULL, &out, &err, "case", "agenda", "--date", "2026-02-30", NULL), 2);
    free(out);
    free(err);

    /* The page for the meeting room: private, never overwritten, and a
       real browser renders it without a console error. */
    char page[4500];
    snprintf(page, sizeof page, "%s/agenda.html", s_bh->root);
    cr_assert_eq(dh_cli(s_daemons[0], NULL, &out, &err, "case", "agenda", "--date", meeting,
                        "--html", "--out", page, NULL),
                 0, "%s%s", out, err);
    free(out);
    free(err);
    struct stat st;
    cr_assert_eq(stat(page, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    cr_assert_eq(dh_cli(s_daemons[0], NULL, &out, &err, "case", "agenda", "--date", meeting,
                        "--html", "--out", page, NULL),
                 1, "%s%s", out, err);
    free(out);
    free(err);
    cr_assert_eq(access(TU_BROWSER_CHROMIUM, X_OK), 0,
                 TU_BROWSER_CHROMIUM " is missing: install Debian's chromium (scripts/deps.sh)");
    char *dom = NULL, *log = NULL;
    int rc = tu_browser_dump_dom(s_bh->root, page, &dom, &log);
    cr_assert_eq(rc, 0, "chromium --dump-dom: rc %d:\n%s", rc, log ? log : "");
    cr_assert(dom && strstr(dom, "id=\"scheduled\"") && strstr(dom, case_id) &&
                  strstr(dom, "<tr class=\"case\">") && strstr(dom, "id=\"actions\"") &&
                  strstr(dom, "<tr class=\"action\">"),
              "%s", dom ? dom : "(no DOM)");
    cr_assert_null(strstr(dom, "<script"));
    cr_assert_null(strstr(dom, BSN));
    const char *bad = tu_browser_console_error(log);
    cr_assert_null(bad, "chromium logged '%s':\n%s", bad, log);
    free(dom);
    free(log);
}

/* Opening a case from an alert with --lead marks the alert handled, once
   the case is recorded; a lead outside the match opens the case but is
   refused for the alert, and the command says so and fails. */
Test(case_conference, opening_from_an_alert_with_a_lead_marks_it_handled)
{
    char id[33];
    tu_case_signal(s_daemons[1], s_daemons[0], "overlast", BSN, 1, id);
    tu_case_signal(s_daemons[2], s_daemons[0], "zorgsignaal", BSN, 2, id);
    char *alerts = tu_case_alerts(s_daemons[0]), alert_id[40];
    s_value(alerts, "alert_id", alert_id, sizeof alert_id);
    free(alerts);
    char *out = NULL, *err = NULL;
    /* --lead belongs to opening from an alert */
    cr_assert_eq(dh_cli(s_daemons[0], NULL, &out, &err, "case", "open", "--from-signal", id,
                        "--lead", "welzijn", "--user", "regisseur 1", NULL),
                 2, "%s%s", out, err);
    free(out);
    free(err);
    /* woonpunt did not signal: the case opens, the alert stays open */
    cr_assert_eq(dh_cli(s_daemons[0], NULL, &out, &err, "case", "open", "--from-alert", alert_id,
                        "--lead", "woonpunt", "--user", "regisseur 1", NULL),
                 1, "%s%s", out, err);
    cr_assert(strstr(out, "open recorded by the broker"), "%s", out);
    cr_assert(strstr(err, "woonpunt is not a partner in the match"), "%s", err);
    free(out);
    free(err);
    cr_assert_eq(dh_cli(s_daemons[0], NULL, &out, &err, "case", "open", "--from-alert", alert_id,
                        "--lead", "welzijn", "--user", "regisseur 1", NULL),
                 0, "%s%s", out, err);
    cr_assert(strstr(out, "open recorded by the broker") &&
                  strstr(out, "marked handled, welzijn leads"),
              "%s", out);
    free(out);
    free(err);
    cr_assert_eq(dh_cli(s_daemons[0], NULL, &alerts, NULL, "alerts", "--json", NULL), 0);
    cr_assert(strstr(alerts, "\"state\":\"handled\"") && strstr(alerts, "\"lead_org\":\"welzijn\""),
              "%s", alerts);
    free(alerts);
}

/* The plan of action through the daemons and the CLI: the coordinator
   gives an action to a participant with a due date; its owner, and only
   its owner, marks it done; every participant's daemon holds both steps. */
Test(case_conference, a_plan_action_is_given_and_marked_done_by_its_owner)
{
    char signal_id[33];
    tu_case_signal(s_daemons[1], s_daemons[0], "overlast", BSN, 1, signal_id);
    char *out = NULL, *err = NULL;
    char case_id[40];
    tu_case_open(s_daemons[0], signal_id, "politie", NULL, case_id);
    tu_case_join(s_daemons[1], s_daemons[0], "politie", case_id);
    char *text = NULL;

    /* woonpunt takes no part: the whole plan is refused */
    cr_assert_eq(s_case(s_daemons[0], &text, "plan", case_id, "--action", "woonpunt:2099-12-20"), 1,
                 "%s", text);
    cr_assert(strstr(text, "owner_not_participant:woonpunt"), "%s", text);
    free(text);
    cr_assert_eq(s_case(s_daemons[0], &text, "plan", case_id, "--action", "politie:2099-12-20"), 0,
                 "%s", text);
    cr_assert(strstr(text, "plan recorded by the broker"), "%s", text);
    free(text);
    char *shown = tu_case_show_until(s_daemons[1], case_id, true, "\"step\":\"plan\"");
    char item[40];
    s_value(shown, "item", item, sizeof item);
    cr_assert(strstr(shown, "\"owner\":\"politie\"") && strstr(shown, "2099-12-20"), "%s", shown);
    free(shown);

    /* not the owner */
    cr_assert_eq(s_case(s_daemons[0], &text, "done", case_id, "--item", item), 1, "%s", text);
    cr_assert(strstr(text, "not_owner"), "%s", text);
    free(text);
    cr_assert_eq(s_case(s_daemons[1], &text, "done", case_id, "--item", item), 0, "%s", text);
    cr_assert(strstr(text, "done recorded by the broker"), "%s", text);
    free(text);
    shown = tu_case_show_until(s_daemons[0], case_id, true, "\"step\":\"action_done\"");
    free(shown);
    cr_assert_eq(dh_cli(s_daemons[0], NULL, &out, &err, "case", "show", case_id, NULL), 0);
    char want[80];
    snprintf(want, sizeof want, "action %s: politie, due 2099-12-20", item);
    cr_assert(strstr(out, want), "%s", out);
    snprintf(want, sizeof want, "action %s done", item);
    cr_assert(strstr(out, want), "%s", out);
    free(out);
    free(err);
    /* twice is refused */
    cr_assert_eq(s_case(s_daemons[1], &text, "done", case_id, "--item", item), 1, "%s", text);
    cr_assert(strstr(text, "already_done"), "%s", text);
    free(text);
}

/* The coordinator opens a case about a BSN: its daemon pseudonymises it
   through the pseudonym service exactly as for `send`, so the case has
   the subject of the alert raised by signals about the same BSN. The BSN
   reaches no log, store or hook, the daemon's nor the broker's. Without
   the service nothing is opened, and the error names no identifier. */
Test(case_conference, a_case_opens_from_a_bsn_through_the_pseudonym_service)
{
    char id[33];
    tu_case_signal(s_daemons[1], s_daemons[0], "overlast", BSN, 1, id);
    tu_case_signal(s_daemons[2], s_daemons[0], "zorgsignaal", BSN, 2, id);
    char *alerts = tu_case_alerts(s_daemons[0]), subject[70];
    s_value(alerts, "subject", subject, sizeof subject);
    free(alerts);

    /* gemeente never sent about this BSN: its daemon asks the service. */
    char *out = NULL, *err = NULL;
    int rc = dh_cli(s_daemons[0], NULL, &out, &err, "case", "open", "--subject-bsn", BSN,
                    "--invite", "politie", "--user", "regisseur 1", NULL);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    char case_id[40];
    cr_assert_eq(sscanf(out, "case %32s: open recorded by the broker", case_id), 1, "%s", out);
    free(out);
    free(err);
    char *shown = tu_case_show_until(s_daemons[1], case_id, true,
                                     "\"org\":\"politie\",\"state\":\"invited\"");
    cr_assert(strstr(shown, subject), "the case's subject is the alert's %s: %s", subject, shown);
    free(shown);
    uint8_t expected[32];
    char expected_hex[65];
    cr_assert_eq(bh_service_pseudonym(s_bh, PSEUDONYM_BSN, BSN, expected), 0);
    for (int i = 0; i < 32; i++)
        snprintf(expected_hex + 2 * i, 3, "%02x", expected[i]);
    cr_assert_str_eq(subject, expected_hex);
    cr_assert(dh_wait_log(s_daemons[0], "event=case_open_waiting reason=pseudonym", 1000));

    /* Again, from the cache now, and from stdin (not in the process
       list); the same subject. An address opens a case as well. */
    rc = dh_cli(s_daemons[0], BSN "\n", &out, &err, "case", "open", "--subject-bsn", "-", "--user",
                "regisseur 1", NULL);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    char second[40];
    cr_assert_eq(sscanf(out, "case %32s: open recorded by the broker", second), 1, "%s", out);
    free(out);
    free(err);
    shown = tu_case_show_until(s_daemons[0], second, true, subject);
    free(shown);
    cr_assert_eq(dh_log_count(s_daemons[0], "event=case_open_waiting"), 1);
    rc = dh_cli(s_daemons[0], NULL, &out, &err, "case", "open", "--subject-address", "6411 AB 12a",
                "--user", "regisseur 1", NULL);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    free(out);
    free(err);

    /* Bad input, refused before anything is asked; never echoed. */
    rc = dh_cli(s_daemons[0], NULL, &out, &err, "case", "open", "--subject-bsn", "123456789",
                "--user", "regisseur 1", NULL);
    cr_assert_eq(rc, 2, "%s%s", out, err);
    cr_assert(strstr(err, "invalid --subject-bsn") && !strstr(err, "123456789"), "%s", err);
    free(out);
    free(err);
    rc = dh_cli(s_daemons[0], NULL, &out, &err, "case", "open", "--subject-bsn", BSN,
                "--from-signal", id, "--user", "regisseur 1", NULL);
    cr_assert_eq(rc, 2, "%s%s", out, err);
    cr_assert_null(strstr(err, BSN), "%s", err);
    free(out);
    free(err);

    /* The service is down: a clear error, nothing opened. */
    cr_assert_eq(dh_cli(s_daemons[0], NULL, &out, NULL, "case", "list", "--json", NULL), 0);
    size_t before = 0;
    for (const char *p = out; (p = strstr(p, "\"case_id\"")); p++)
        before++;
    free(out);
    bh_service_stop(s_bh, SIGTERM);
    rc = dh_cli(s_daemons[0], NULL, &out, &err, "case", "open", "--subject-bsn", "123456782",
                "--invite", "politie", "--user", "regisseur 1", NULL);
    cr_assert_eq(rc, 1, "%s%s", out, err);
    cr_assert(strstr(err, "the pseudonym service did not answer") &&
                  strstr(err, "nothing was opened"),
              "%s", err);
    cr_assert_null(strstr(err, "123456782"), "%s", err);
    free(out);
    free(err);
    cr_assert_eq(dh_cli(s_daemons[0], NULL, &out, NULL, "case", "list", "--json", NULL), 0);
    size_t after = 0;
    for (const char *p = out; (p = strstr(p, "\"case_id\"")); p++)
        after++;
    free(out);
    cr_assert_eq(after, before, "a case was opened without the service");
    cr_assert_eq(bh_service_start(s_bh, NULL), 0);

    /* No identifier anywhere: the daemon's log and database, its hook's
       output, the broker's store and log. */
    const char *canaries[] = {BSN, "123456782", "6411 AB", "6411AB"};
    char *log = dh_log(s_daemons[0]);
    char *blog = bh_log(s_bh);
    char *hooked = tu_read_file(s_hook_out, NULL);
    cr_assert_eq(bh_store_dump(s_bh), 0);
    for (size_t i = 0; i < sizeof canaries / sizeof canaries[0]; i++) {
        const char *c = canaries[i];
        cr_assert_null(strstr(log, c), "%s in the daemon's log", c);
        cr_assert_null(strstr(blog, c), "%s in the broker's log", c);
        cr_assert_null(hooked ? strstr(hooked, c) : NULL, "%s in the hook's output", c);
        cr_assert_not(tu_dir_contains(s_daemons[0]->state, c, strlen(c)), "%s in %s", c,
                      s_daemons[0]->state);
        cr_assert_not(tu_dir_contains(s_bh->state, c, strlen(c)), "%s in the broker's state", c);
    }
    free(log);
    free(blog);
    free(hooked);
}

#define FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

/* Restarts `daemon` with its clock `offset` ahead ("+91d"), through
   libfaketime; real time flows on from there. With `fault_file`, the
   storage-fault build of the daemon (mk/faults.mk) runs instead, told by
   that file which fault to inject (tests/faults/README.md). */
static void s_restart_as(dh_t *daemon, const char *offset, const char *fault_file)
{
    dh_stop(daemon, SIGTERM);
    cr_assert_eq(access(FAKETIME_LIB, R_OK), 0, "libfaketime is missing (scripts/deps.sh)");
    const char *bin = tu_bin(fault_file ? "tests/hartslagd-faults" : "hartslagd");
    cr_assert_eq(access(bin, X_OK), 0,
                 "%s is missing (make -f Makefile -f mk/faults.mk faults-bins)", bin);
    setenv("LD_PRELOAD", FAKETIME_LIB, 1);
    setenv("FAKETIME", offset, 1);
    setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
    if (fault_file)
        setenv("HARTSLAG_FAULT_FILE", fault_file, 1);
    const char *asan = getenv("ASAN_OPTIONS");
    char *saved = asan ? strdup(asan) : NULL;
    char options[1024];
    snprintf(options, sizeof options, "%s%sverify_asan_link_order=0", asan ? asan : "",
             asan && *asan ? ":" : "");
    setenv("ASAN_OPTIONS", options, 1);
    size_t offset_now = 0;
    free(tu_read_file(daemon->log, &offset_now));
    daemon->log_offset = offset_now;
    char *argv[] = {(char *)bin, "--config", daemon->config, NULL};
    daemon->pid = tu_spawn(argv, NULL, daemon->log, true, NULL);
    if (saved)
        setenv("ASAN_OPTIONS", saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(saved);
    unsetenv("LD_PRELOAD");
    unsetenv("FAKETIME");
    unsetenv("FAKETIME_DONT_FAKE_MONOTONIC");
    unsetenv("HARTSLAG_FAULT_FILE");
    cr_assert_gt(daemon->pid, 0);
    cr_assert(dh_wait_log(daemon, "event=started", 10000), "the daemon did not start:\n%s",
              dh_log(daemon));
    char sock[4600];
    snprintf(sock, sizeof sock, "%s/control.sock", daemon->state);
    for (int i = 0; i < 200 && access(sock, F_OK) != 0; i++)
        usleep(10000);
    cr_assert_eq(access(sock, F_OK), 0, "no control socket:\n%s", dh_log(daemon));
}

static void s_restart_later(dh_t *daemon, const char *offset)
{
    s_restart_as(daemon, offset, NULL);
}

/* A number from `sqlite3 DB SQL`. */
static long s_sql_count(dh_t *daemon, const char *sql)
{
    char db[4600];
    snprintf(db, sizeof db, "%s/hartslagd.db", daemon->state);
    char *argv[] = {"/usr/bin/sqlite3", db, (char *)sql, NULL};
    char *out = NULL, *why = NULL;
    cr_assert_eq(tu_run(argv, NULL, &out, &why), 0, "%s", why ? why : "");
    long n = strtol(out ? out : "", NULL, 10);
    free(out);
    free(why);
    return n;
}

/* After retention_days_after_close (90) from the close, each
   participant's daemon deletes the case's own rows (cases, steps, the
   words said in it), audited locally, with a `purged` case event to the
   hook; `case show` says so in words and `case list` no longer has it.
   An open case is kept. The clock is moved with libfaketime. */
Test(case_conference, a_closed_case_is_purged_after_its_retention)
{
    char signal_id[33];
    tu_case_signal(s_daemons[1], s_daemons[0], "overlast", BSN, 1, signal_id);
    char *out = NULL, *text = NULL;
    char closing[40], staying[40];
    for (int k = 0; k < 2; k++) {
        char *id = k ? staying : closing;
        tu_case_open(s_daemons[0], signal_id, "politie", "titel " CANARY, id);
        tu_case_join(s_daemons[1], s_daemons[0], "politie", id);
        free(
            tu_case_show_until(s_daemons[0], id, true, "\"org\":\"politie\",\"state\":\"active\""));
    }
    cr_assert_eq(s_case(s_daemons[0], &text, "close", closing, "--outcome", "opgelost"), 0, "%s",
                 text);
    free(text);
    /* Both hold the close, with the time the case's rows go. */
    for (int d = 0; d < 2; d++) {
        char *shown = tu_case_show_until(s_daemons[d], closing, true, "\"state\":\"closed\"");
        const char *at = strstr(shown, "\"purge_after_ms\":");
        cr_assert_not_null(at, "%s", shown);
        uint64_t purge_ms = strtoull(at + strlen("\"purge_after_ms\":"), NULL, 10);
        uint64_t now_ms = (uint64_t)time(NULL) * 1000;
        cr_assert(purge_ms > now_ms + 89ull * DAY_MS && purge_ms < now_ms + 91ull * DAY_MS, "%s",
                  shown);
        free(shown);
        shown = tu_case_show_until(s_daemons[d], staying, true, "\"state\":\"open\"");
        cr_assert(strstr(shown, "\"purge_after_ms\":null"), "%s", shown);
        free(shown);
    }
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM case_texts WHERE case_id = '%s';", closing);
    cr_assert_gt(s_sql_count(s_daemons[0], sql), 0, "the title is kept while the case is held");

    /* 89 days on: nothing goes yet. */
    s_restart_later(s_daemons[0], "+89d");
    cr_assert(dh_wait_log(s_daemons[0], "event=started", 10000));
    usleep(500000);
    cr_assert_eq(dh_log_count(s_daemons[0], "event=case_purged"), 0);

    /* 91 days on: the closed case goes, at the retention pass at start. */
    for (int d = 0; d < 2; d++) {
        s_restart_later(s_daemons[d], "+91d");
        cr_assert(dh_wait_log(s_daemons[d], "event=case_purged", 10000), "%s",
                  dh_log(s_daemons[d]));
        char needle[80];
        snprintf(needle, sizeof needle, "event=case_purged case=%s", closing);
        cr_assert_eq(dh_log_count(s_daemons[d], needle), 1);
        cr_assert_eq(dh_log_count(s_daemons[d], "event=case_purged"), 1, "the open case stays");
        const char *tables[] = {"cases", "case_steps", "case_texts"};
        for (size_t t = 0; t < 3; t++) {
            snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE case_id = '%s';", tables[t],
                     closing);
            cr_assert_eq(s_sql_count(s_daemons[d], sql), 0, "%s still holds the case", tables[t]);
            snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE case_id = '%s';", tables[t],
                     staying);
            if (t < 2)
                cr_assert_gt(s_sql_count(s_daemons[d], sql), 0, "%s lost the open case", tables[t]);
        }
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM audit WHERE event = 'case_purged' AND signal_id = '%s'"
                 " AND signal_type = 'casusoverleg-passart' AND reason = 'retention';",
                 closing);
        cr_assert_eq(s_sql_count(s_daemons[d], sql), 1, "no case_purged in the local audit");
        /* show says so in words; list no longer has it */
        cr_assert_eq(s_case(s_daemons[d], &text, "show", closing, NULL, NULL), 1, "%s", text);
        cr_assert(strstr(text, "was purged") && strstr(text, "after its retention"), "%s", text);
        free(text);
        cr_assert_eq(dh_cli(s_daemons[d], NULL, &out, NULL, "case", "list", "--json", NULL), 0);
        cr_assert(strstr(out, staying) && !strstr(out, closing), "%s", out);
        free(out);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM cases_gone WHERE case_id = '%s';", closing);
        cr_assert_eq(s_sql_count(s_daemons[d], sql), 1);
    }
    /* The coordinator's hook was told, by case id and kind only. */
    char *hooked = NULL;
    for (int i = 0; i < 100; i++) {
        free(hooked);
        hooked = tu_read_file(s_hook_out, NULL);
        if (hooked && strstr(hooked, "\"step\":\"purged\""))
            break;
        usleep(100000);
    }
    cr_assert(hooked && strstr(hooked, "\"step\":\"purged\""), "%s",
              hooked ? hooked : "(no hook output)");
    char purged[120];
    snprintf(purged, sizeof purged, "\"case_id\":\"%s\",\"step\":\"purged\"", closing);
    cr_assert(strstr(hooked, purged), "%s", hooked);
    cr_assert_null(strstr(hooked, BSN));
    cr_assert_null(strstr(hooked, CANARY));
    free(hooked);
    /* Only once: the next pass finds nothing more. */
    s_restart_later(s_daemons[0], "+92d");
    cr_assert(dh_wait_log(s_daemons[0], "event=started", 10000));
    usleep(500000);
    cr_assert_eq(dh_log_count(s_daemons[0], "event=case_purged"), 1);
}

/* A partner that declined purges the case after the retention; invited
   again later, it holds the case again (the tombstone compares the
   broker's times, not the daemon's clock, which was 91 days ahead). */
Test(case_conference, a_partner_invited_again_after_its_purge_holds_the_case_again)
{
    char signal_id[33];
    tu_case_signal(s_daemons[1], s_daemons[0], "overlast", BSN, 1, signal_id);
    char *text = NULL;
    char case_id[40];
    tu_case_open(s_daemons[0], signal_id, "welzijn", NULL, case_id);
    free(tu_case_show_until(s_daemons[2], case_id, true,
                            "\"org\":\"welzijn\",\"state\":\"invited\""));
    cr_assert_eq(s_case(s_daemons[2], &text, "decline", case_id, NULL, NULL), 0, "%s", text);
    free(text);
    free(tu_case_show_until(s_daemons[2], case_id, true,
                            "\"org\":\"welzijn\",\"state\":\"declined\""));

    s_restart_later(s_daemons[2], "+91d");
    cr_assert(dh_wait_log(s_daemons[2], "event=case_purged", 10000), "%s", dh_log(s_daemons[2]));
    cr_assert_eq(s_case(s_daemons[2], &text, "show", case_id, NULL, NULL), 1, "%s", text);
    cr_assert(strstr(text, "was purged"), "%s", text);
    free(text);
    /* Back to the real time; the coordinator invites welzijn again. */
    dh_stop(s_daemons[2], SIGTERM);
    cr_assert_eq(dh_start(s_daemons[2]), 0);
    cr_assert(dh_wait_log(s_daemons[2], "event=connected", 10000));
    cr_assert_eq(s_case(s_daemons[0], &text, "invite", case_id, "--partner", "welzijn"), 0, "%s",
                 text);
    free(text);
    char *shown = tu_case_show_until(s_daemons[2], case_id, true,
                                     "\"org\":\"welzijn\",\"state\":\"invited\"");
    cr_assert(strstr(shown, "\"purge_after_ms\":null"), "%s", shown);
    free(shown);
    cr_assert_eq(dh_log_count(s_daemons[2], "event=case_notice_ignored"), 0);
    cr_assert_eq(s_case(s_daemons[2], &text, "accept", case_id, NULL, NULL), 0, "%s", text);
    free(text);
}

/* The purge is one transaction: when the daemon's disk fails it, nothing
   of the case goes (no audit record, no hook event), and the next
   retention pass, once the disk works, purges it once. The daemon runs as
   its storage-fault build (tests/faults/README.md). */
Test(case_conference, a_purge_the_disk_fails_is_all_or_nothing_and_done_later)
{
    char signal_id[33];
    tu_case_signal(s_daemons[1], s_daemons[0], "overlast", BSN, 1, signal_id);
    char *text = NULL;
    char case_id[40];
    tu_case_open(s_daemons[0], signal_id, NULL, "titel " CANARY, case_id);
    cr_assert_eq(s_case(s_daemons[0], &text, "close", case_id, "--outcome", "geen_actie"), 0, "%s",
                 text);
    free(text);
    free(tu_case_show_until(s_daemons[0], case_id, true, "\"state\":\"closed\""));

    /* A retention pass every second; every write fails. */
    char *config = tu_read_file(s_daemons[0]->config, NULL);
    cr_assert_not_null(config);
    size_t len = strlen(config) + 32;
    char *more = malloc(len);
    snprintf(more, len, "%sretention_check: 1\n", config);
    cr_assert_eq(tu_write_file(s_daemons[0]->config, more, 0600), 0);
    free(config);
    free(more);
    char fault[4500], tmp[4600];
    snprintf(fault, sizeof fault, "%s/fault", s_bh->root);
    snprintf(tmp, sizeof tmp, "%s.tmp", fault);
    cr_assert_eq(tu_write_file(fault, "write", 0644), 0);
    s_restart_as(s_daemons[0], "+91d", fault);
    cr_assert(dh_wait_log(s_daemons[0], "event=store_failed op=case_purge", 10000), "%s",
              dh_log(s_daemons[0]));
    char sql[300];
    const char *tables[] = {"cases", "case_steps", "case_texts"};
    for (size_t t = 0; t < 3; t++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE case_id = '%s';", tables[t],
                 case_id);
        cr_assert_gt(s_sql_count(s_daemons[0], sql), 0, "%s lost rows of a failed purge",
                     tables[t]);
    }
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit WHERE event = 'case_purged' AND signal_id = '%s';",
             case_id);
    cr_assert_eq(s_sql_count(s_daemons[0], sql), 0);
    cr_assert_eq(dh_log_count(s_daemons[0], "event=case_purged"), 0);

    /* The disk works again: the next pass purges it, once. */
    cr_assert_eq(tu_write_file(tmp, "none", 0644), 0);
    cr_assert_eq(rename(tmp, fault), 0);
    cr_assert(dh_wait_log(s_daemons[0], "event=case_purged", 10000), "%s", dh_log(s_daemons[0]));
    for (size_t t = 0; t < 3; t++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE case_id = '%s';", tables[t],
                 case_id);
        cr_assert_eq(s_sql_count(s_daemons[0], sql), 0, "%s still holds the case", tables[t]);
    }
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit WHERE event = 'case_purged' AND signal_id = '%s';",
             case_id);
    cr_assert_eq(s_sql_count(s_daemons[0], sql), 1);
    sleep(2); /* two more passes */
    cr_assert_eq(dh_log_count(s_daemons[0], "event=case_purged"), 1);
    char *hooked = NULL;
    char purged[120];
    snprintf(purged, sizeof purged, "\"case_id\":\"%s\",\"step\":\"purged\"", case_id);
    for (int i = 0; i < 100; i++) {
        free(hooked);
        hooked = tu_read_file(s_hook_out, NULL);
        if (hooked && strstr(hooked, purged))
            break;
        usleep(100000);
    }
    cr_assert(hooked && strstr(hooked, purged), "%s", hooked ? hooked : "(no hook output)");
    cr_assert_null(strstr(strstr(hooked, purged) + 1, purged), "the hook was told twice");
    free(hooked);
}
