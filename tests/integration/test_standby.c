/*  Issue 16 item 3: two hartslag-broker processes on one PostgreSQL store
    (a private cluster on 127.0.0.1). Exactly one is active and listens;
    the other waits without binding. When the active one is killed (-9)
    the standby takes over: a signal accepted before the kill is delivered
    by it, the audit log continues as one tree that verifies, and status
    says which broker is active. A hung (SIGSTOP) active broker loses the
    lock after the session timeout, and when it wakes it stops without
    writing. */
#include "broker_harness.h"
#include "daemon_harness.h"
#include "pg_harness.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* broker/active.h: a silent session ends after ACTIVE_TIMEOUT_S (5 s) */
#define ACTIVE_TIMEOUT_S 5

PG_HARNESS_WANTED;

static bh_t *s_bh;
static const char *s_orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};
static char s_standby_dir[4300], s_standby_config[4400], s_standby_log[4400];
static pid_t s_standby;

/* The second broker: the first one's configuration with a state
   directory of its own (the store and the keys are the same), on the
   same port (it can bind it once the first process is gone) or on a port
   of its own, as on a second machine (the daemons know both). */
static char s_standby_bind[64] = "tcp://127.0.0.1:*";

static void s_start_standby(bool same_port)
{
    snprintf(s_standby_dir, sizeof s_standby_dir, "%s/standby", s_bh->root);
    snprintf(s_standby_config, sizeof s_standby_config, "%s/broker-b.yaml", s_bh->root);
    snprintf(s_standby_log, sizeof s_standby_log, "%s/broker-b.log", s_bh->root);
    char *config = tu_read_file(s_bh->config, NULL);
    cr_assert_not_null(config);
    char *state = strstr(config, "state_dir: ");
    cr_assert_not_null(state);
    char text[40000];
    snprintf(text, sizeof text, "%.*sstate_dir: %s%s", (int)(state - config), config, s_standby_dir,
             strchr(state, '\n'));
    /* the same port the active one listens on */
    char *bind = strstr(text, "bind: ");
    cr_assert_not_null(bind);
    char fixed[40000];
    snprintf(fixed, sizeof fixed, "%.*sbind: %s%s", (int)(bind - text), text,
             same_port ? s_bh->endpoint : s_standby_bind, strchr(bind, '\n'));
    free(config);
    cr_assert_eq(tu_write_file(s_standby_config, fixed, 0644), 0);
    char *argv[] = {(char *)tu_bin("hartslag-broker"), "--config", s_standby_config, NULL};
    s_standby = tu_spawn(argv, NULL, s_standby_log, false, NULL);
    cr_assert_gt(s_standby, 0);
}

/* Waits up to `ms` for `text` in the standby's log; the ms it took or -1. */
static int s_standby_says(const char *text, int ms)
{
    for (int waited = 0; waited <= ms; waited += 50) {
        char *log = tu_read_file(s_standby_log, NULL);
        bool found = log && strstr(log, text);
        free(log);
        if (found)
            return waited;
        usleep(50000);
    }
    return -1;
}

static void s_setup(void)
{
    tu_watchdog(120);
    setenv("HARTSLAG_TEST_STORE", "postgresql", 1); /* bh_new: a schema in the cluster */
    s_bh = bh_new(s_orgs, 4, bh_default_agreements);
    cr_assert_not_null(s_bh);
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
    s_standby = 0;
    snprintf(s_standby_bind, sizeof s_standby_bind, "tcp://127.0.0.1:*");
}

static void s_teardown(void)
{
    if (s_standby > 0) {
        kill(s_standby, SIGCONT);
        kill(s_standby, SIGKILL);
        waitpid(s_standby, NULL, 0);
    }
    bh_destroy(&s_bh);
}

TestSuite(standby, .init = s_setup, .fini = s_teardown);

static bh_client_t *s_connect(const char *org)
{
    bh_client_t *client = bh_client_new(s_bh, org, false);
    cr_assert_not_null(client);
    cr_assert_eq(bh_hello(client), 0, "%s got no Welcome", org);
    return client;
}

static void s_submit(bh_client_t *client, const char *to, uint8_t id[16])
{
    uint8_t *sealed = NULL;
    size_t len = 0;
    cr_assert_eq(
        bh_seal(s_bh, client, to, "overlast", "casusoverleg", "datum", NULL, &sealed, &len, id), 0);
    Hartslag__Frame *answer = bh_submit(client, sealed, len, 5000);
    free(sealed);
    cr_assert_not_null(answer);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_ACCEPTED, "got body %d",
                 answer->body_case);
    hartslag__frame__free_unpacked(answer, NULL);
}

static bool s_delivered(bh_client_t *client, const uint8_t id[16])
{
    Hartslag__Frame *frame = bh_recv(client, 10000);
    bool ok = frame && frame->body_case == HARTSLAG__FRAME__BODY_DELIVER && frame->deliver->signal;
    if (ok) {
        Hartslag__SignalHeader *header = hartslag__signal_header__unpack(
            NULL, frame->deliver->signal->header.len, frame->deliver->signal->header.data);
        ok = header && memcmp(header->signal_id.data, id, 16) == 0;
        if (header)
            hartslag__signal_header__free_unpacked(header, NULL);
    }
    if (frame)
        hartslag__frame__free_unpacked(frame, NULL);
    if (ok)
        bh_ack(client, id, true, NULL);
    return ok;
}

static int s_hartslag(char **out, const char *a, const char *b, const char *c, const char *d,
                      const char *e, const char *f)
{
    char *argv[] = {(char *)tu_bin("hartslag"),
                    (char *)a,
                    (char *)b,
                    (char *)c,
                    (char *)d,
                    (char *)e,
                    (char *)f,
                    NULL};
    return tu_run(argv, NULL, out, NULL);
}

Test(standby, the_standby_waits_then_takes_over_after_a_kill)
{
    s_start_standby(true);
    cr_assert_geq(s_standby_says("event=standby", 10000), 0, "the second broker waits");
    char *log = tu_read_file(s_standby_log, NULL);
    cr_assert_null(strstr(log, "event=started"), "a standby does not listen: %s", log);
    free(log);

    bh_client_t *politie = s_connect("politie");
    uint8_t id[16];
    s_submit(politie, "welzijn", id); /* welzijn is offline: it stays queued */
    bh_client_destroy(&politie);

    bh_stop(s_bh, SIGKILL);
    int took = s_standby_says("event=started", (ACTIVE_TIMEOUT_S + 5) * 1000);
    cr_assert_geq(took, 0, "the standby took over");
    cr_assert(s_standby_says("event=active", 0) >= 0);

    /* the partners reach the new active broker at the same endpoint */
    bh_client_t *welzijn = s_connect("welzijn");
    cr_assert(s_delivered(welzijn, id), "accepted before the kill, delivered after it");
    politie = s_connect("politie");
    uint8_t second[16];
    s_submit(politie, "welzijn", second);
    cr_assert(s_delivered(welzijn, second));
    bh_client_destroy(&politie);
    bh_client_destroy(&welzijn);

    /* status names the active broker */
    char *out = NULL;
    char state[4400];
    snprintf(state, sizeof state, "%s", s_standby_dir);
    cr_assert_eq(s_hartslag(&out, "broker", "status", "--state-dir", state, NULL, NULL), 0, "%s",
                 out ? out : "");
    cr_assert(strstr(out, "role         active (holds the store's lock"), "%s", out);
    free(out);

    /* one audit log: both brokers' records verify as one tree */
    kill(s_standby, SIGTERM);
    waitpid(s_standby, NULL, 0);
    s_standby = 0;
    char cert[4400];
    snprintf(cert, sizeof cert, "%s/broker.cert", s_bh->keys);
    out = NULL;
    int rc = s_hartslag(&out, "audit", "verify", "--db", bh_store(s_bh), "--broker-cert", cert);
    cr_assert_eq(rc, 0, "verify: %s", out ? out : "");
    free(out);
}

Test(standby, a_hung_active_broker_loses_the_lock_and_stops_without_writing)
{
    s_start_standby(false);
    cr_assert_geq(s_standby_says("event=standby", 10000), 0);
    bh_signal(s_bh, SIGSTOP); /* hung: its session stays open but silent */
    int took = s_standby_says("event=started", (ACTIVE_TIMEOUT_S + 10) * 1000);
    cr_assert_geq(took, (ACTIVE_TIMEOUT_S - 1) * 1000, "not before the session timeout (%d)", took);
    bh_signal(s_bh, SIGCONT);
    /* the old one wakes, finds its session gone and stops */
    int status = 0;
    pid_t old = s_bh->pid;
    for (int i = 0; i < 100 && waitpid(old, &status, WNOHANG) == 0; i++)
        usleep(100000);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0, "it stops with an error");
    s_bh->pid = 0;
    char *log = bh_log(s_bh);
    cr_assert(strstr(log, "event=active_lost"), "%s", log);
    free(log);
    /* and the new active one serves, at its own endpoint */
    char *standby_log = tu_read_file(s_standby_log, NULL);
    const char *at = strstr(standby_log, "event=started endpoint=");
    cr_assert_not_null(at);
    at += strlen("event=started endpoint=");
    snprintf(s_bh->endpoint, sizeof s_bh->endpoint, "%.*s", (int)strcspn(at, " \n"), at);
    free(standby_log);
    bh_client_t *politie = s_connect("politie");
    bh_client_t *welzijn = s_connect("welzijn");
    uint8_t id[16];
    s_submit(politie, "welzijn", id);
    cr_assert(s_delivered(welzijn, id));
    bh_client_destroy(&politie);
    bh_client_destroy(&welzijn);
}

/* Real daemons configured with both brokers' endpoints move over by
   themselves when the active broker dies. */
Test(standby, daemons_with_both_endpoints_move_over)
{
    snprintf(s_standby_bind, sizeof s_standby_bind, "tcp://127.0.0.1:%d", pg_harness_free_port());
    s_start_standby(false);
    cr_assert_geq(s_standby_says("event=standby", 10000), 0);
    char both[600];
    snprintf(both, sizeof both, "%s,%s", s_bh->endpoint, s_standby_bind);
    dh_t *politie = dh_new(s_bh, "politie", both, NULL);
    dh_t *welzijn = dh_new(s_bh, "welzijn", both, NULL);
    cr_assert_not_null(politie);
    cr_assert_not_null(welzijn);
    cr_assert_eq(dh_start(politie), 0);
    cr_assert_eq(dh_start(welzijn), 0);
    const char *fields[] = {"datum=2026-12-01", NULL};
    char id[33];
    cr_assert_eq(dh_send(politie, "welzijn", "overlast", "casusoverleg", "111222333", fields, NULL,
                         true, id),
                 0);
    cr_assert(dh_wait_inbox(welzijn, 1, 15000), "delivered by the first broker");

    bh_stop(s_bh, SIGKILL);
    cr_assert_geq(s_standby_says("event=started", (ACTIVE_TIMEOUT_S + 5) * 1000), 0);
    cr_assert_eq(dh_send(politie, "welzijn", "overlast", "casusoverleg", "111222333", fields, NULL,
                         true, id),
                 0, "accepted by the standby, now active");
    cr_assert(dh_wait_inbox(welzijn, 2, 20000), "delivered by the second broker");
    dh_stop(politie, SIGTERM);
    dh_stop(welzijn, SIGTERM);
    dh_destroy(&politie);
    dh_destroy(&welzijn);
}
