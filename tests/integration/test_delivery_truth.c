/*  What the broker records about a delivery is what happened: `delivered`
    only for a real hand-over, a silent daemon noticed within three missed
    heartbeats (issue 13 A1), and the sender told each recipient's outcome
    (issue 13 B5). Real broker, real daemons, 127.0.0.1. */
#include "daemon_harness.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BSN "123456782"

static bh_t *s_bh;
static dh_t *s_politie, *s_welzijn;

static void s_setup(void)
{
    tu_watchdog(120);
    const char *orgs[] = {"gemeente", "politie", "welzijn"};
    s_bh = bh_new(orgs, 3, bh_default_agreements);
    cr_assert_not_null(s_bh);
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
    s_politie = dh_new(s_bh, "politie", NULL, NULL);
    s_welzijn = dh_new(s_bh, "welzijn", NULL, NULL);
    cr_assert(s_politie && s_welzijn);
    cr_assert_eq(dh_start(s_politie), 0);
    cr_assert_eq(dh_start(s_welzijn), 0);
    cr_assert(dh_wait_log(s_politie, "event=connected", 10000));
    cr_assert(dh_wait_log(s_welzijn, "event=connected", 10000));
}

static void s_teardown(void)
{
    if (s_welzijn && s_welzijn->pid > 0)
        kill(s_welzijn->pid, SIGCONT);
    dh_destroy(&s_politie);
    dh_destroy(&s_welzijn);
    bh_destroy(&s_bh);
}

TestSuite(delivery_truth, .init = s_setup, .fini = s_teardown);

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool s_wait_broker_log(const char *needle, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        char *log = bh_log(s_bh);
        bool found = log && strstr(log, needle);
        free(log);
        if (found)
            return true;
        usleep(100000);
    }
    return false;
}

/* The `delivered` records of signal `id` in the broker's log: how many, and
   the time of the first (or -1). */
static int s_delivered(const char *id, int64_t *first_ms)
{
    char db[4300];
    snprintf(db, sizeof db, "%s", bh_store(s_bh));
    char *argv[] = {(char *)tu_bin("hartslag"),
                    "audit",
                    "query",
                    "--db",
                    db,
                    "--signal",
                    (char *)id,
                    "--event",
                    "delivered",
                    "--json",
                    NULL};
    char *out = NULL;
    tu_run(argv, NULL, &out, NULL);
    int n = 0;
    *first_ms = -1;
    for (const char *p = out; p && (p = strstr(p, "\"time_ms\":")) != NULL; p += 10) {
        if (n++ == 0)
            *first_ms = strtoll(p + 10, NULL, 10);
    }
    free(out);
    return n;
}

static void s_send(char id[33])
{
    const char *fields[] = {"datum=2026-03-01", NULL};
    cr_assert_eq(
        dh_send(s_politie, "welzijn", "overlast", "casusoverleg", BSN, fields, NULL, true, id), 0,
        "send failed:\n%s", dh_log(s_politie));
}

Test(delivery_truth, a_frozen_recipient_is_noticed_and_delivered_is_written_at_the_real_handover)
{
    /* A daemon that is alive for TCP but says nothing (stopped, hung,
       swapped out): only the missing heartbeats tell. */
    cr_assert_eq(kill(s_welzijn->pid, SIGSTOP), 0);
    cr_assert(s_wait_broker_log("event=disconnected org=welzijn reason=silent", 10000),
              "the broker did not notice welzijn went silent");
    char id[33];
    s_send(id);
    usleep(1500000);
    int64_t first = 0;
    cr_assert_eq(s_delivered(id, &first), 0, "delivered recorded while welzijn was frozen");
    int64_t resumed = s_now_ms();
    cr_assert_eq(kill(s_welzijn->pid, SIGCONT), 0);
    cr_assert(dh_wait_inbox(s_welzijn, 1, 20000), "welzijn never got it:\n%s", dh_log(s_welzijn));
    int n = 0;
    for (int i = 0; i < 50 && (n = s_delivered(id, &first)) == 0; i++)
        usleep(100000);
    cr_assert_eq(n, 1, "want exactly one delivered, got %d", n);
    cr_assert_geq(first, resumed - 50, "delivered is timed %lld ms before welzijn came back",
                  (long long)(resumed - first));
}

Test(delivery_truth, a_stopped_recipient_gets_one_delivered_after_its_restart)
{
    dh_stop(s_welzijn, SIGTERM);
    char id[33];
    s_send(id);
    sleep(2);
    int64_t first = 0;
    cr_assert_eq(s_delivered(id, &first), 0, "delivered recorded while welzijn was down");
    int64_t restarted = s_now_ms();
    cr_assert_eq(dh_start(s_welzijn), 0);
    cr_assert(dh_wait_inbox(s_welzijn, 1, 20000), "welzijn never got it:\n%s", dh_log(s_welzijn));
    int n = 0;
    for (int i = 0; i < 50 && (n = s_delivered(id, &first)) == 0; i++)
        usleep(100000);
    /* A second restart must not add another. */
    dh_stop(s_welzijn, SIGTERM);
    cr_assert_eq(dh_start(s_welzijn), 0);
    cr_assert(dh_wait_log(s_welzijn, "event=connected", 10000));
    usleep(1500000);
    n = s_delivered(id, &first);
    cr_assert_eq(n, 1, "want exactly one delivered, got %d", n);
    cr_assert_geq(first, restarted, "delivered is timed before welzijn restarted");
}

/* `hartslag show ID --json` at the sender, polled until `needle` shows
   (or the time is up); the last output (caller frees). */
static char *s_show_until(dh_t *sender, const char *id, const char *needle, int timeout_ms)
{
    char *out = NULL;
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        free(out);
        out = NULL;
        dh_cli(sender, NULL, &out, NULL, "show", id, "--json", NULL);
        if (out && strstr(out, needle))
            break;
        usleep(100000);
    }
    return out;
}

Test(delivery_truth, the_sender_sees_each_recipient_store_it)
{
    char id[33];
    s_send(id);
    cr_assert(dh_wait_inbox(s_welzijn, 1, 10000));
    char *out = s_show_until(s_politie, id, "\"welzijn\":{\"state\":\"stored\"", 10000);
    cr_assert(strstr(out, "\"welzijn\":{\"state\":\"stored\",\"reason\":null,\"at\":"), "%s", out);
    free(out);
    cr_assert_eq(dh_cli(s_politie, NULL, &out, NULL, "show", id, NULL), 0);
    cr_assert(strstr(out, "welzijn          stored"), "%s", out);
    free(out);
    cr_assert_eq(dh_cli(s_politie, NULL, &out, NULL, "status", "--json", NULL), 0, "%s", out);
    cr_assert(strstr(out, "\"recipients\":{\"queued\":0,\"stored\":1,\"refused\":0}"), "%s", out);
    free(out);
}

Test(delivery_truth, the_sender_sees_a_recipient_refuse_it)
{
    /* welzijn's own copy of the agreements does not let politie send it
       overlast (an agreements file out of step with the broker's). */
    dh_stop(s_welzijn, SIGTERM);
    char path[4400], *config = NULL;
    snprintf(path, sizeof path, "%s/welzijn-agreements.yaml", s_bh->root);
    char *agreements = tu_read_file(s_bh->agreements, NULL);
    cr_assert(agreements);
    char *to = strstr(agreements, "to: [gemeente, welzijn]");
    cr_assert(to);
    memcpy(to, "to: [gemeente]         ", 23);
    cr_assert_eq(tu_write_file(path, agreements, 0644), 0);
    free(agreements);
    config = tu_read_file(s_welzijn->config, NULL);
    cr_assert(config);
    char *at = strstr(config, s_bh->agreements);
    cr_assert(at);
    char rewritten[50000];
    snprintf(rewritten, sizeof rewritten, "%.*s%s%s", (int)(at - config), config, path,
             at + strlen(s_bh->agreements));
    free(config);
    cr_assert_eq(tu_write_file(s_welzijn->config, rewritten, 0600), 0);
    cr_assert_eq(dh_start(s_welzijn), 0);
    cr_assert(dh_wait_log(s_welzijn, "event=connected", 10000));

    char id[33];
    s_send(id);
    char *out = s_show_until(s_politie, id, "\"welzijn\":{\"state\":\"refused\"", 10000);
    cr_assert(strstr(out, "\"welzijn\":{\"state\":\"refused\",\"reason\":\""), "%s", out);
    cr_assert_null(strstr(out, "\"reason\":null,\"at\""), "a refusal without its reason: %s", out);
    free(out);
    cr_assert(dh_wait_log(s_politie, "event=recipient_refused", 5000));
    cr_assert_eq(dh_cli(s_politie, NULL, &out, NULL, "status", "--json", NULL), 0, "%s", out);
    cr_assert(strstr(out, "\"refused\":1}"), "%s", out);
    free(out);
}

Test(delivery_truth, a_sender_that_was_offline_learns_the_outcome_when_back)
{
    dh_stop(s_welzijn, SIGTERM);
    char id[33];
    s_send(id);
    char *out = s_show_until(s_politie, id, "\"welzijn\":{\"state\":\"queued\"", 5000);
    cr_assert(strstr(out, "\"welzijn\":{\"state\":\"queued\""), "%s", out);
    free(out);
    dh_stop(s_politie, SIGTERM);
    cr_assert_eq(dh_start(s_welzijn), 0);
    cr_assert(dh_wait_inbox(s_welzijn, 1, 10000));
    usleep(500000);
    cr_assert_eq(dh_start(s_politie), 0);
    out = s_show_until(s_politie, id, "\"welzijn\":{\"state\":\"stored\"", 10000);
    cr_assert(strstr(out, "\"welzijn\":{\"state\":\"stored\""), "%s", out);
    free(out);
    /* Told once: a restart does not make it tell again. */
    dh_stop(s_politie, SIGTERM);
    cr_assert_eq(dh_start(s_politie), 0);
    cr_assert(dh_wait_log(s_politie, "event=connected", 10000));
    usleep(1000000);
    cr_assert_eq(dh_log_count(s_politie, "event=recipient_stored"), 1);
}
