/*  tu_case: see tu_case.h. */
#include "tu_case.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *s_orgs[TU_CASE_PARTNERS] = {"gemeente", "politie", "welzijn", "woonpunt"};

bh_t *tu_case_broker(const char *yaml)
{
    bh_t *bh = bh_new(s_orgs, TU_CASE_PARTNERS, yaml);
    cr_assert_not_null(bh);
    cr_assert_eq(bh_start(bh, NULL), 0);
    return bh;
}

void tu_case_daemons(bh_t *bh, const char *coordinator_line, dh_t *daemons[TU_CASE_PARTNERS])
{
    for (int i = 0; i < TU_CASE_PARTNERS; i++) {
        daemons[i] = dh_new(bh, s_orgs[i], NULL, i == 0 ? coordinator_line : NULL);
        cr_assert_not_null(daemons[i]);
        cr_assert_eq(dh_start(daemons[i]), 0);
    }
}

void tu_case_partnership_end(bh_t **bh, dh_t *daemons[TU_CASE_PARTNERS])
{
    for (int i = 0; i < TU_CASE_PARTNERS; i++)
        dh_destroy(&daemons[i]);
    bh_destroy(bh);
}

char *tu_case_show_until(dh_t *daemon, const char *case_id, bool json, const char *needle)
{
    char *out = NULL;
    for (int i = 0; i < 100; i++) {
        free(out);
        out = NULL;
        char *err = NULL;
        int rc =
            dh_cli(daemon, NULL, &out, &err, "case", "show", case_id, json ? "--json" : NULL, NULL);
        free(err);
        if (rc == 0 && out && strstr(out, needle))
            return out;
        usleep(100000);
    }
    cr_assert_fail("the case never showed %s: %s", needle, out ? out : "(nothing)");
    return NULL;
}

int tu_case_run(dh_t *daemon, char **text, const char *const *args)
{
    const char *a[12] = {NULL};
    size_t n = 0;
    while (args[n])
        n++;
    cr_assert_lt(n, 12u);
    memcpy(a, args, n * sizeof *a);
    char *out = NULL, *err = NULL;
    int rc = dh_cli(daemon, NULL, &out, &err, "case", a[0], a[1], a[2], a[3], a[4], a[5], a[6],
                    a[7], a[8], a[9], a[10], a[11]);
    size_t len = strlen(out ? out : "") + strlen(err ? err : "") + 2;
    *text = malloc(len);
    cr_assert_not_null(*text);
    snprintf(*text, len, "%s%s", out ? out : "", err ? err : "");
    free(out);
    free(err);
    return rc;
}

void tu_case_signal(dh_t *sender, dh_t *coordinator, const char *type, const char *bsn,
                    int inbox_count, char id[33])
{
    const char *fields[] = {"datum=2026-11-28", NULL};
    cr_assert_eq(dh_send(sender, "gemeente", type, "casusoverleg", bsn, fields, NULL, true, id), 0);
    cr_assert(dh_wait_inbox(coordinator, inbox_count, 10000), "the coordinator never held it");
}

void tu_case_open(dh_t *coordinator, const char *signal_id, const char *invite, const char *title,
                  char case_id[40])
{
    const char *args[12] = {"open", "--from-signal", signal_id};
    size_t n = 3;
    if (invite) {
        args[n++] = "--invite";
        args[n++] = invite;
    }
    if (title) {
        args[n++] = "--title";
        args[n++] = title;
    }
    args[n++] = "--user";
    args[n++] = "regisseur 1";
    char *text = NULL;
    cr_assert_eq(tu_case_run(coordinator, &text, args), 0, "%s", text);
    cr_assert_eq(sscanf(text, "case %32s: open recorded by the broker", case_id), 1, "%s", text);
    free(text);
}

void tu_case_join(dh_t *partner, dh_t *coordinator, const char *org, const char *case_id)
{
    char needle[80];
    snprintf(needle, sizeof needle, "\"org\":\"%s\",\"state\":\"invited\"", org);
    free(tu_case_show_until(partner, case_id, true, needle));
    char *text = NULL;
    cr_assert_eq(TU_CASE(partner, &text, "accept", case_id, "--user", "medewerker 2"), 0, "%s",
                 text);
    free(text);
    snprintf(needle, sizeof needle, "\"org\":\"%s\",\"state\":\"active\"", org);
    free(tu_case_show_until(coordinator, case_id, true, needle));
}

char *tu_case_alerts(dh_t *coordinator)
{
    char *alerts = NULL;
    for (int i = 0; i < 100; i++) {
        free(alerts);
        alerts = NULL;
        cr_assert_eq(dh_cli(coordinator, NULL, &alerts, NULL, "alerts", "--json", NULL), 0);
        if (strstr(alerts, "\"alert_id\""))
            return alerts;
        usleep(100000);
    }
    cr_assert_fail("no alert: %s", alerts ? alerts : "(nothing)");
    return NULL;
}
