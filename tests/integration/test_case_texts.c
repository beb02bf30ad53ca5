/*  What is said in a case conference besides shares (issue 15), end to end
    with a real broker and real daemons: the title reaches each partner as
    it accepts, an action's text and the owner's note reach who takes part
    then, a partner that joins later gets an earlier item only when its
    author re-shares it, and none of these words ever reaches the broker's
    store or log. */
#include "broker_harness.h"
#include "daemon_harness.h"
#include "testutil.h"
#include "tu_case.h"

#include <criterion/criterion.h>
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
    "cases:\n"
    "  - kind: casusoverleg-passart\n"
    "    coordinator: gemeente\n"
    "    participants:\n"
    "      - {org: gemeente, fields: [toelichting]}\n"
    "      - {org: politie, fields: [adres, toelichting]}\n"
    "      - {org: welzijn, fields: [toelichting]}\n"
    "    purpose: casusoverleg\n"
    "    legal_basis: \"Convenant Hartslag Passart art. 5\"\n"
    "    retention_days_after_close: 90\n"
    "    max_open_days: 180\n"
    "    outcomes: [opgelost, geen_actie]\n";

#define BSN "111222333"
#define TITLE "CANARY-title-7c2e"
#define ACTION "CANARY-action-91fd"
#define FIELD "CANARY-field-04ab"
#define NOTE "CANARY-note-d35c"

static bh_t *s_bh;
static dh_t *s_daemons[TU_CASE_PARTNERS]; /* gemeente, politie, welzijn, woonpunt */

static void s_setup(void)
{
    tu_watchdog(150);
    s_bh = tu_case_broker(s_yaml);
    tu_case_daemons(s_bh, NULL, s_daemons);
}

static void s_teardown(void)
{
    tu_case_partnership_end(&s_bh, s_daemons);
}

TestSuite(case_texts, .init = s_setup, .fini = s_teardown);

/* The first 32-hex value after `key":"` in `json`. */
static void s_hex_after(const char *json, const char *key, char out[33])
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"%s\":\"", key);
    const char *at = strstr(json, needle);
    cr_assert_not_null(at, "no %s in %s", key, json);
    cr_assert_eq(sscanf(at + strlen(needle), "%32[0-9a-f]", out), 1, "%s", json);
}

/* politie signals the subject; gemeente opens a case from that signal,
   titled, inviting politie and welzijn; politie accepts. The case id. */
static void s_open_case(char case_id[40])
{
    char signal_id[33];
    tu_case_signal(s_daemons[1], s_daemons[0], "overlast", BSN, 1, signal_id);
    tu_case_open(s_daemons[0], signal_id, "politie,welzijn", "Passart \"12\", " TITLE, case_id);
    tu_case_join(s_daemons[1], s_daemons[0], "politie", case_id);
}

Test(case_texts, said_in_a_case_reaches_who_takes_part_and_never_the_broker)
{
    char case_id[40];
    s_open_case(case_id);
    /* The title reaches politie once it accepted; welzijn (invited) has
       nothing yet. */
    char *shown = tu_case_show_until(s_daemons[1], case_id, false, TITLE);
    cr_assert(strstr(shown, "title") && strstr(shown, "gemeente"), "%s", shown);
    free(shown);
    /* The list names it too, for this organisation's own eyes. */
    char *listed = NULL;
    cr_assert_eq(dh_cli(s_daemons[1], NULL, &listed, NULL, "case", "list", NULL), 0);
    cr_assert(strstr(listed, "  Passart \"12\", " TITLE "\n"), "%s", listed);
    free(listed);
    free(tu_case_show_until(s_daemons[2], case_id, true,
                            "\"org\":\"welzijn\",\"state\":\"invited\""));
    cr_assert_eq(dh_cli(s_daemons[2], NULL, &listed, NULL, "case", "list", NULL), 0);
    cr_assert(strstr(listed, case_id) && !strstr(listed, TITLE), "%s", listed);
    free(listed);

    /* The plan with an action's text: politie gets the text with the action. */
    char *text = NULL;
    cr_assert_eq(TU_CASE(s_daemons[0], &text, "plan", case_id, "--action",
                         "politie:2099-12-20:huisbezoek " ACTION, "--user", "regisseur 1"),
                 0, "%s", text);
    free(text);
    shown = tu_case_show_until(s_daemons[1], case_id, true, ACTION);
    char item[33];
    s_hex_after(strstr(shown, "\"step\":\"plan\""), "item", item);
    const char *said = strstr(shown, "\"said\":");
    cr_assert(said && strstr(said, "\"kind\":\"action_text\"") && strstr(said, item), "%s", shown);
    free(shown);
    /* The organisation's own systems (inbox --json, as the hook and watch
       render it) see which case and which action the text belongs to. */
    char *out = NULL, *err = NULL;
    cr_assert_eq(dh_cli(s_daemons[1], NULL, &out, &err, "inbox", "--json", NULL), 0, "%s", err);
    char want_case[64], want_item[64];
    snprintf(want_case, sizeof want_case, "\"case_id\":\"%s\"", case_id);
    snprintf(want_item, sizeof want_item, "\"case_item\":\"%s\"", item);
    cr_assert(strstr(out, want_case) && strstr(out, want_item), "%s", out);
    free(out);
    free(err);

    /* politie shares a field; gemeente gets it, welzijn (not taking part
       yet) does not. */
    cr_assert_eq(TU_CASE(s_daemons[1], &text, "share", case_id, "--field",
                         "adres=Passart 12 " FIELD, "--user", "agent 7"),
                 0, "%s", text);
    char share_id[33];
    cr_assert_eq(sscanf(text, "%32[0-9a-f] shared in the case", share_id), 1, "%s", text);
    free(text);
    free(tu_case_show_until(s_daemons[0], case_id, false, FIELD));

    /* welzijn joins late: it gets the title, not what was said before. */
    cr_assert_eq(TU_CASE(s_daemons[2], &text, "accept", case_id, "--user", "wijkcoach 2"), 0, "%s",
                 text);
    free(text);
    shown = tu_case_show_until(s_daemons[2], case_id, false, TITLE);
    cr_assert_null(strstr(shown, ACTION), "%s", shown);
    cr_assert_null(strstr(shown, FIELD), "%s", shown);
    free(shown);

    /* Only the author re-shares, only to who takes part now. */
    cr_assert_eq(TU_CASE(s_daemons[0], &text, "reshare", case_id, "--signal", share_id, "--partner",
                         "welzijn", "--user", "regisseur 1"),
                 1, "%s", text);
    cr_assert(strstr(text, "did not share that signal"), "%s", text);
    free(text);
    cr_assert_eq(TU_CASE(s_daemons[1], &text, "reshare", case_id, "--signal", share_id, "--partner",
                         "woonpunt", "--user", "agent 7"),
                 1, "%s", text);
    cr_assert(strstr(text, "woonpunt does not take part"), "%s", text);
    free(text);
    cr_assert_eq(TU_CASE(s_daemons[1], &text, "reshare", case_id, "--signal", share_id, "--partner",
                         "welzijn", "--user", "agent 7"),
                 0, "%s", text);
    char reshare_id[33];
    cr_assert_eq(sscanf(text, "%32[0-9a-f] shared in the case", reshare_id), 1, "%s", text);
    free(text);
    shown = tu_case_show_until(s_daemons[2], case_id, false, FIELD);
    char want[80];
    snprintf(want, sizeof want, "(re-share of %s)", share_id);
    cr_assert(strstr(shown, want), "%s", shown);
    cr_assert_null(strstr(shown, ACTION), "%s", shown); /* only what was re-shared */
    free(shown);

    /* The owner marks its action done with a note: both others read it. */
    cr_assert_eq(TU_CASE(s_daemons[1], &text, "done", case_id, "--item", item, "--note",
                         "gesprek gevoerd " NOTE, "--user", "agent 7"),
                 0, "%s", text);
    free(text);
    free(tu_case_show_until(s_daemons[0], case_id, false, NOTE));
    free(tu_case_show_until(s_daemons[2], case_id, false, NOTE));
    /* The author sees its own words, marked as its own. */
    shown = tu_case_show_until(s_daemons[1], case_id, false, NOTE);
    cr_assert(strstr(shown, "note        politie"), "%s", shown);
    free(shown);

    /* The broker recorded the re-share as one, naming the earlier signal,
       and each action's text and note with its action. */
    bh_stop(s_bh, SIGTERM);
    char db[4400];
    snprintf(db, sizeof db, "%s", bh_store(s_bh));
    char *argv[] = {(char *)tu_bin("hartslag"),
                    "audit",
                    "query",
                    "--db",
                    db,
                    "--event",
                    "case_shared",
                    "--json",
                    NULL};
    char *records = NULL;
    cr_assert_eq(tu_run(argv, NULL, &records, NULL), 0, "%s", records);
    char line[300];
    snprintf(line, sizeof line, "\"reshare_of\":\"%s\"", share_id);
    const char *reshared = strstr(records, line);
    cr_assert(reshared, "%s", records);
    snprintf(line, sizeof line, "\"signal_id\":\"%s\"", reshare_id);
    cr_assert(strstr(records, line), "%s", records);
    snprintf(line, sizeof line, "\"signal_type\":\"case_action_text\"");
    cr_assert(strstr(records, line), "%s", records);
    snprintf(line, sizeof line, "\"case_item\":\"%s\"", item);
    cr_assert(strstr(records, line), "%s", records);
    free(records);
    /* Every step of the case is in the log, and the log verifies. */
    const char *events[] = {"case_opened", "case_invited", "case_joined", "case_plan",
                            "case_action"};
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        char *argv_event[] = {(char *)tu_bin("hartslag"), "audit",  "query", "--db", db, "--event",
                              (char *)events[i],          "--json", NULL};
        cr_assert_eq(tu_run(argv_event, NULL, &records, NULL), 0, "%s", records);
        snprintf(line, sizeof line, "\"event\":\"%s\"", events[i]);
        cr_assert(strstr(records, line), "%s: %s", events[i], records);
        free(records);
    }
    char cert[4400];
    snprintf(cert, sizeof cert, "%s/broker.cert", s_bh->keys);
    char *verify[] = {
        (char *)tu_bin("hartslag"), "audit", "verify", "--db", db, "--broker-cert", cert, NULL};
    cr_assert_eq(tu_run(verify, NULL, &records, NULL), 0, "%s", records);
    cr_assert(strncmp(records, "OK:", 3) == 0, "%s", records);
    free(records);
    /* None of these words reached the broker's store or its log. */
    cr_assert_eq(bh_store_dump(s_bh), 0);
    const char *canaries[] = {TITLE, ACTION, FIELD, NOTE};
    char *log = bh_log(s_bh);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_not(tu_dir_contains(s_bh->state, canaries[i], strlen(canaries[i])), "%s",
                      canaries[i]);
        cr_assert_null(strstr(log, canaries[i]), "%s", canaries[i]);
    }
    free(log);
}

/* The rules for the case's own words, as the broker and the daemons apply
   them: only the coordinator titles and writes the plan, only the owner
   notes its action, a text goes with its step or not at all. */
Test(case_texts, the_words_of_a_step_go_only_with_a_recorded_step)
{
    char case_id[40];
    s_open_case(case_id);
    char *text = NULL;
    /* A plan refused by the broker (woonpunt takes no part): its text is
       never sent. */
    cr_assert_eq(TU_CASE(s_daemons[0], &text, "plan", case_id, "--action",
                         "woonpunt:2099-12-20:" ACTION, "--user", "regisseur 1"),
                 1, "%s", text);
    cr_assert(strstr(text, "owner_not_participant:woonpunt"), "%s", text);
    free(text);
    cr_assert_eq(TU_CASE(s_daemons[0], &text, "plan", case_id, "--action", "politie:2099-12-20",
                         "--user", "regisseur 1"),
                 0, "%s", text);
    free(text);
    char *shown = tu_case_show_until(s_daemons[1], case_id, true, "\"step\":\"plan\"");
    char item[33];
    s_hex_after(strstr(shown, "\"step\":\"plan\""), "item", item);
    free(shown);
    /* Not the owner: the done step is refused, and its note with it. */
    cr_assert_eq(TU_CASE(s_daemons[0], &text, "done", case_id, "--item", item, "--note", NOTE,
                         "--user", "regisseur 1"),
                 1, "%s", text);
    cr_assert(strstr(text, "not_owner"), "%s", text);
    free(text);
    /* A note without a done, a title without an open: usage. */
    cr_assert_eq(
        TU_CASE(s_daemons[1], &text, "accept", case_id, "--note", NOTE, "--user", "agent 7"), 2,
        "%s", text);
    free(text);
    cr_assert_eq(
        TU_CASE(s_daemons[0], &text, "schedule", case_id, "--date", "2099-01-10", "--title", TITLE),
        2, "%s", text);
    free(text);
    /* A later, recorded step: still nothing of the refused texts anywhere. */
    cr_assert_eq(TU_CASE(s_daemons[0], &text, "schedule", case_id, "--date", "2099-01-10", "--user",
                         "regisseur 1"),
                 0, "%s", text);
    free(text);
    shown = tu_case_show_until(s_daemons[1], case_id, true, "\"step\":\"schedule\"");
    cr_assert_null(strstr(shown, ACTION), "%s", shown);
    cr_assert_null(strstr(shown, NOTE), "%s", shown);
    free(shown);
    shown = tu_case_show_until(s_daemons[0], case_id, true, "\"step\":\"schedule\"");
    cr_assert_null(strstr(shown, ACTION), "%s", shown);
    cr_assert_null(strstr(shown, NOTE), "%s", shown);
    free(shown);
}
