/*  Issue 14 item 6: `hartslag agreements simulate NEW --db broker.db`
    replays the exchanges in a real broker's audit log against a new
    version and counts exactly what would change: a version that removes
    one field and adds one pair, against known traffic. Never a pseudonym,
    and signal ids only with --detail. Real broker, real daemons. */
#include "daemon_harness.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BSN "123456782" /* passes the elfproef */

static bh_t *s_bh;
static dh_t *s_politie, *s_gemeente;

static void s_setup(void)
{
    tu_watchdog(90);
    const char *orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};
    s_bh = bh_new(orgs, 4, bh_default_agreements);
    cr_assert_not_null(s_bh);
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
    s_politie = dh_new(s_bh, "politie", NULL, NULL);
    s_gemeente = dh_new(s_bh, "gemeente", NULL, NULL);
    cr_assert(s_politie && s_gemeente);
    cr_assert_eq(dh_start(s_politie), 0);
    cr_assert_eq(dh_start(s_gemeente), 0);
    cr_assert(dh_wait_log(s_politie, "event=connected", 10000), "%s", dh_log(s_politie));
    cr_assert(dh_wait_log(s_gemeente, "event=connected", 10000), "%s", dh_log(s_gemeente));
}

static void s_teardown(void)
{
    dh_destroy(&s_politie);
    dh_destroy(&s_gemeente);
    bh_destroy(&s_bh);
}

TestSuite(agreements_simulate, .init = s_setup, .fini = s_teardown);

static void s_send(const char *field, char id[33])
{
    const char *fields[] = {field, NULL};
    cr_assert_eq(
        dh_send(s_politie, "gemeente", "overlast", "casusoverleg", BSN, fields, NULL, true, id), 0,
        "%s", dh_log(s_politie));
}

/* `hartslag agreements simulate ARGS`: stdout (caller frees); must exit 0. */
static char *s_simulate(const char *file, const char *extra)
{
    char db[4300];
    snprintf(db, sizeof db, "%s/broker.db", s_bh->state);
    char *argv[] = {(char *)tu_bin("hartslag"),
                    "agreements",
                    "simulate",
                    (char *)file,
                    "--db",
                    db,
                    (char *)extra,
                    NULL};
    char *out = NULL, *err = NULL;
    cr_assert_eq(tu_run(argv, NULL, &out, &err), 0, "simulate: %s", err);
    free(err);
    return out;
}

Test(agreements_simulate, counts_exactly_what_a_new_version_would_change)
{
    /* Known traffic: three signals with adres, two with datum, allowed;
       one to woonpunt, refused (no agreement). */
    char ids[5][33];
    for (int i = 0; i < 3; i++)
        s_send("adres=Passartweg 1", ids[i]);
    for (int i = 3; i < 5; i++)
        s_send("datum=2026-11-28", ids[i]);
    bh_client_t *raw = bh_client_new(s_bh, "politie", false);
    cr_assert_not_null(raw);
    cr_assert_eq(bh_hello(raw), 0);
    uint8_t *sealed = NULL, refused_id[16];
    size_t len = 0;
    cr_assert_eq(bh_seal(s_bh, raw, "woonpunt", "overlast", "casusoverleg", "datum", NULL, &sealed,
                         &len, refused_id),
                 0);
    Hartslag__Frame *answer = bh_submit(raw, sealed, len, 10000);
    cr_assert(answer && answer->body_case == HARTSLAG__FRAME__BODY_DENIED);
    hartslag__frame__free_unpacked(answer, NULL);
    free(sealed);
    bh_client_destroy(&raw);
    cr_assert(dh_wait_inbox(s_gemeente, 5, 20000), "%s", dh_log(s_gemeente));

    /* The new version: adres no longer allowed, woonpunt added as recipient. */
    char *text = tu_read_file(s_bh->agreements, NULL);
    cr_assert_not_null(text);
    const char *from1 = "    to: [gemeente, welzijn]\n    signal_types: [overlast]\n"
                        "    fields: [adres, datum, categorie, toelichting]\n";
    const char *to1 = "    to: [gemeente, welzijn, woonpunt]\n    signal_types: [overlast]\n"
                      "    fields: [datum, categorie, toelichting]\n";
    char *at = strstr(text, from1);
    cr_assert_not_null(at, "%s", text);
    char next[8192];
    snprintf(next, sizeof next, "%.*s%s%s", (int)(at - text), text, to1, at + strlen(from1));
    free(text);
    char path[4400];
    snprintf(path, sizeof path, "%s/agreements-next.yaml", s_bh->root);
    cr_assert_eq(tu_write_file(path, next, 0644), 0);

    char *out = s_simulate(path, "--json");
    cr_assert(strstr(out, "\"exchanges\":6,\"unchanged\":{\"allowed\":2,\"refused\":0}"), "%s",
              out);
    cr_assert(strstr(out, "\"newly_refused\":[{\"from\":\"politie\",\"to\":\"gemeente\","
                          "\"reason\":\"field_not_allowed:adres\",\"count\":3}]"),
              "%s", out);
    cr_assert(strstr(out, "\"newly_allowed\":[{\"from\":\"politie\",\"to\":\"woonpunt\","
                          "\"count\":1}]"),
              "%s", out);
    free(out);

    /* Plain text: no signal id, no pseudonym, no BSN. */
    out = s_simulate(path, NULL);
    cr_assert(strstr(out, "politie -> gemeente: 3 (field_not_allowed:adres)"), "%s", out);
    cr_assert(strstr(out, "politie -> woonpunt: 1"), "%s", out);
    for (int i = 0; i < 5; i++)
        cr_assert_null(strstr(out, ids[i]), "a signal id in the default output: %s", out);
    cr_assert_null(strstr(out, BSN));
    free(out);

    /* --detail: the officer gets exactly the ids that would change. */
    out = s_simulate(path, "--detail");
    for (int i = 0; i < 3; i++)
        cr_assert(strstr(out, ids[i]), "%s missing from --detail: %s", ids[i], out);
    for (int i = 3; i < 5; i++)
        cr_assert_null(strstr(out, ids[i]), "an unchanged signal in --detail: %s", out);
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, refused_id, sizeof refused_id);
    cr_assert(strstr(out, hex), "the newly allowed signal in --detail: %s", out);
    free(out);
}
