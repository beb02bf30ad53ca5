/*  match: blind multi-agency matching rules, with a clock the test controls. */
#include "match.h"

#include "db.h"
#include "store.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400000LL
#define T0 1764400000000LL

static const char *s_yaml =
    "partnership: t\nversion: 1\ncoordinator: gemeente\n"
    "partners:\n"
    "  - {org: gemeente, role: coordinator}\n"
    "  - {org: politie, role: partner}\n"
    "  - {org: welzijn, role: partner}\n"
    "  - {org: woonpunt, role: partner}\n"
    "agreements:\n"
    "  - {id: a1, from: politie, to: [gemeente], signal_types: [overlast, zorg], fields: [datum],"
    "     purpose: p, legal_basis: x, valid_from: 2025-01-01, valid_until: 2099-12-31,"
    "     retention_days: 10, max_queue_days: 7}\n"
    "  - {id: a2, from: welzijn, to: [gemeente], signal_types: [overlast, zorg], fields: [datum],"
    "     purpose: p, legal_basis: x, valid_from: 2025-01-01, valid_until: 2099-12-31,"
    "     retention_days: 10, max_queue_days: 7}\n"
    "  - {id: a3, from: woonpunt, to: [gemeente], signal_types: [overlast, huur], fields: [datum],"
    "     purpose: p, legal_basis: x, valid_from: 2025-01-01, valid_until: 2099-12-31,"
    "     retention_days: 10, max_queue_days: 7}\n"
    "alerts:\n"
    "  - {id: pair, distinct_senders: 2, window_days: 30, signal_types: [overlast, zorg],"
    "     notify: [gemeente], notify_senders: true, legal_basis: \"convenant art. 6\"}\n";

static agreements_t *s_agreements;
static char *s_dir;
static char s_location[4300];
static broker_store_t *s_store;
static match_t *s_match;
static int s_alerts;
static match_alert_t s_last;

static void s_on_alert(void *arg, const match_alert_t *alert)
{
    (void)arg;
    s_alerts++;
    s_last = *alert;
}

static void s_open(void)
{
    char err[256];
    s_store = broker_store_open(s_location, err, sizeof err);
    cr_assert_not_null(s_store, "%s", err);
    s_match = match_open(s_store, err, sizeof err);
    cr_assert_not_null(s_match, "%s", err);
}

static void s_setup(void)
{
    cr_assert(sodium_init() >= 0);
    agreements_errors_t *errors = NULL;
    s_agreements = agreements_parse(s_yaml, strlen(s_yaml), "t.yaml", &errors);
    if (!s_agreements && errors)
        agreements_errors_print(errors, stderr);
    cr_assert_not_null(s_agreements);
    tu_watchdog(60);
    s_dir = tu_tmpdir();
    cr_assert_not_null(s_dir);
    snprintf(s_location, sizeof s_location, "sqlite:%s/broker.db", s_dir);
    s_open();
    s_alerts = 0;
}

static void s_teardown(void)
{
    match_destroy(&s_match);
    broker_store_destroy(&s_store);
    agreements_destroy(&s_agreements);
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(match, .init = s_setup, .fini = s_teardown);

static uint8_t s_subject[32] = {7};

/* Signal from `sender` of `type` at T0 + offset, valid 100 days; returns its id in `id`. */
static void s_signal(const char *sender, const char *type, int64_t offset, uint8_t id[16])
{
    uint8_t local[16];
    uint8_t *out = id ? id : local;
    randombytes_buf(out, 16);
    cr_assert_eq(match_signal(s_match, s_agreements, out, s_subject, sender, type, T0 + offset,
                              T0 + offset + 100 * DAY, s_on_alert, NULL),
                 0);
}

Test(match, threshold_exactly_reached_raises_one_alert)
{
    s_signal("politie", "overlast", 0, NULL);
    cr_assert_eq(s_alerts, 0, "one partner is not a match");
    s_signal("welzijn", "zorg", DAY, NULL);
    cr_assert_eq(s_alerts, 1);
    cr_assert_eq(s_last.n_participants, 2);
    cr_assert_str_eq(s_last.joined, "welzijn");
    cr_assert_str_eq(s_last.rule->id, "pair");
    cr_assert_eq(memcmp(s_last.subject, s_subject, 32), 0);
    /* The participants carry their types and signal ids. */
    for (size_t i = 0; i < 2; i++) {
        const match_participant_t *p = &s_last.participants[i];
        cr_assert_eq(p->n_ids, 1);
        cr_assert_eq(p->n_types, 1);
        cr_assert_str_eq(p->types[0], strcmp(p->org, "politie") == 0 ? "overlast" : "zorg");
    }
}

Test(match, another_subject_or_a_type_outside_the_rule_does_not_count)
{
    s_signal("politie", "overlast", 0, NULL);
    s_signal("woonpunt", "huur", DAY, NULL); /* rule counts overlast and zorg only */
    cr_assert_eq(s_alerts, 0);
    uint8_t other[32] = {9}, id[16] = {1};
    cr_assert_eq(match_signal(s_match, s_agreements, id, other, "welzijn", "zorg", T0 + DAY,
                              T0 + 100 * DAY, s_on_alert, NULL),
                 0);
    cr_assert_eq(s_alerts, 0, "another subject");
}

Test(match, same_partner_twice_counts_once)
{
    s_signal("politie", "overlast", 0, NULL);
    s_signal("politie", "zorg", DAY, NULL);
    cr_assert_eq(s_alerts, 0);
    s_signal("welzijn", "zorg", 2 * DAY, NULL);
    cr_assert_eq(s_alerts, 1);
    s_signal("welzijn", "overlast", 3 * DAY, NULL);
    s_signal("politie", "overlast", 4 * DAY, NULL);
    cr_assert_eq(s_alerts, 1, "members signalling again raise nothing new");
}

Test(match, a_third_partner_joining_gives_exactly_one_new_alert)
{
    s_signal("politie", "overlast", 0, NULL);
    s_signal("welzijn", "zorg", DAY, NULL);
    cr_assert_eq(s_alerts, 1);
    s_signal("woonpunt", "overlast", 2 * DAY, NULL);
    cr_assert_eq(s_alerts, 2);
    cr_assert_eq(s_last.n_participants, 3);
    cr_assert_str_eq(s_last.joined, "woonpunt");
    s_signal("woonpunt", "overlast", 3 * DAY, NULL);
    cr_assert_eq(s_alerts, 2);
}

Test(match, window_boundaries_are_inclusive_at_exactly_window_days)
{
    s_signal("politie", "overlast", 0, NULL);
    s_signal("welzijn", "zorg", 30 * DAY, NULL); /* exactly 30 days later: still in */
    cr_assert_eq(s_alerts, 1);
}

Test(match, one_millisecond_outside_the_window_is_out)
{
    s_signal("politie", "overlast", 0, NULL);
    s_signal("welzijn", "zorg", 30 * DAY + 1, NULL);
    cr_assert_eq(s_alerts, 0);
}

Test(match, a_withdrawn_signal_no_longer_counts)
{
    uint8_t id[16];
    s_signal("politie", "overlast", 0, id);
    cr_assert_eq(match_withdraw(s_match, id, s_subject), 0);
    s_signal("welzijn", "zorg", DAY, NULL);
    cr_assert_eq(s_alerts, 0);
}

Test(match, a_lapsed_signal_no_longer_counts)
{
    uint8_t id[16] = {3};
    cr_assert_eq(match_signal(s_match, s_agreements, id, s_subject, "politie", "overlast", T0,
                              T0 + DAY, s_on_alert, NULL),
                 0); /* lapses after one day */
    s_signal("welzijn", "zorg", 2 * DAY, NULL);
    cr_assert_eq(s_alerts, 0);
    /* And prune removes it from the index. */
    cr_assert_eq(match_index_size(s_match), 2);
    cr_assert_eq(match_prune(s_match, s_agreements, T0 + 2 * DAY), 0);
    cr_assert_eq(match_index_size(s_match), 1);
    /* Older than the widest window is pruned too. */
    cr_assert_eq(match_prune(s_match, s_agreements, T0 + 40 * DAY), 0);
    cr_assert_eq(match_index_size(s_match), 0);
}

Test(match, a_threshold_of_three_is_one_short_with_two)
{
    const char *yaml3 = "partnership: t\nversion: 1\ncoordinator: gemeente\n"
                        "partners:\n"
                        "  - {org: gemeente, role: coordinator}\n"
                        "  - {org: politie, role: partner}\n"
                        "  - {org: welzijn, role: partner}\n"
                        "  - {org: woonpunt, role: partner}\n"
                        "agreements:\n"
                        "  - {id: a1, from: politie, to: [gemeente], signal_types: [overlast],"
                        "     fields: [datum], purpose: p, legal_basis: x, valid_from: 2025-01-01,"
                        "     valid_until: 2099-12-31, retention_days: 10, max_queue_days: 7}\n"
                        "alerts:\n"
                        "  - {id: three, distinct_senders: 3, window_days: 30, notify: [gemeente],"
                        "     legal_basis: x}\n";
    agreements_errors_t *errors = NULL;
    agreements_t *three = agreements_parse(yaml3, strlen(yaml3), "3.yaml", &errors);
    if (!three && errors)
        agreements_errors_print(errors, stderr);
    cr_assert_not_null(three);
    uint8_t id[16];
    const char *senders[] = {"politie", "welzijn", "woonpunt"};
    for (int i = 0; i < 3; i++) {
        randombytes_buf(id, 16);
        cr_assert_eq(match_signal(s_match, three, id, s_subject, senders[i], "overlast",
                                  T0 + i * DAY, T0 + 100 * DAY, s_on_alert, NULL),
                     0);
        cr_assert_eq(s_alerts, i == 2 ? 1 : 0, "after %d senders", i + 1);
    }
    agreements_destroy(&three);
}

Test(match, handled_alerts_and_state_survive_a_reopen)
{
    s_signal("politie", "overlast", 0, NULL);
    s_signal("welzijn", "zorg", DAY, NULL);
    cr_assert_eq(s_alerts, 1);
    uint8_t alert_id[16];
    memcpy(alert_id, s_last.alert_id, 16);
    /* As after a restart: a new store and match_t over the same file. */
    match_destroy(&s_match);
    broker_store_destroy(&s_store);
    s_open();
    cr_assert_eq(broker_store_alerts_open(s_store), 1);
    s_signal("politie", "overlast", 2 * DAY, NULL);
    cr_assert_eq(s_alerts, 1, "no second alert for the same members after a reopen");
    match_alert_t handled;
    cr_assert_eq(match_lookup(s_match, s_agreements, alert_id, T0 + 3 * DAY, &handled), 1);
    cr_assert_eq(match_mark_handled(s_match, alert_id, "welzijn", T0 + 3 * DAY), 0);
    cr_assert_eq(handled.n_participants, 2);
    cr_assert_str_eq(handled.rule->id, "pair");
    uint8_t unknown[16] = {0};
    cr_assert_eq(match_lookup(s_match, s_agreements, unknown, T0, &handled), 0);
    cr_assert_eq(broker_store_alerts_open(s_store), 0, "handled is no longer open");
    db_stmt_t *stmt = db_prepare(broker_store_db(s_store), "SELECT state, lead_org FROM alerts");
    cr_assert_not_null(stmt);
    cr_assert_eq(db_step(stmt), DB_ROW);
    cr_assert_str_eq(db_column_text(stmt, 0), "handled");
    cr_assert_str_eq(db_column_text(stmt, 1), "welzijn");
    db_reset(stmt);
}
