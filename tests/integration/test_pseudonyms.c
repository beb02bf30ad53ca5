/*  Issue 17 end to end: real broker, real pseudonym service, real daemons
    and the CLI on 127.0.0.1. The pseudonym is the service's (computed here
    from its key, independently); no daemon holds a key; a signal waits in
    the outbox while the service is down and goes when it returns (also
    across a daemon restart); a bad proof is never used; the rate limit
    refuses, and the coordinator hears of it; officers look citizens up
    through the service, for a purpose their role allows. */
#include "cert.h"
#include "daemon_harness.h"
#include "oprf.h"
#include "pseudonym.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BSN "123456782"
#define BSN_2 "111222333"
#define ADDRESS "6411 AB 12a"

static bh_t *s_bh;
static dh_t *s_gemeente, *s_politie, *s_welzijn;

static void s_setup(void)
{
    tu_watchdog(120);
    cr_assert(sodium_init() >= 0);
    const char *orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};
    s_bh = bh_new(orgs, 4, bh_default_agreements);
    cr_assert_not_null(s_bh);
    /* An officer, whose certificate the service knows (it reads the
       partnership's certificate directory at start). */
    cr_assert_eq(bh_add_keys(s_bh, "fg-gemeente", CERT_ROLE_OFFICER), 0);
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
}

static void s_teardown(void)
{
    dh_destroy(&s_gemeente);
    dh_destroy(&s_politie);
    dh_destroy(&s_welzijn);
    bh_destroy(&s_bh);
}

TestSuite(pseudonyms, .init = s_setup, .fini = s_teardown);

static void s_daemons(void)
{
    s_gemeente = dh_new(s_bh, "gemeente", NULL, NULL);
    s_politie = dh_new(s_bh, "politie", NULL, NULL);
    s_welzijn = dh_new(s_bh, "welzijn", NULL, NULL);
    cr_assert(s_gemeente && s_politie && s_welzijn, "daemons or service did not start:\n%s",
              bh_service_log(s_bh));
}

static void s_start(dh_t *daemon)
{
    cr_assert_eq(dh_start(daemon), 0, "hartslagd %s did not start:\n%s", daemon->org,
                 dh_log(daemon));
    cr_assert(dh_wait_log(daemon, "event=connected", 10000), "%s did not connect:\n%s", daemon->org,
              dh_log(daemon));
}

static bool s_holds(const char *bytes, size_t len, const void *needle, size_t needle_len)
{
    for (size_t i = 0; bytes && i + needle_len <= len; i++)
        if (memcmp(bytes + i, needle, needle_len) == 0)
            return true;
    return false;
}

static const char *s_fields[] = {"adres=Kanaalstraat 5, 6411 AB Heerlen", "datum=2026-03-01", NULL};

/* Sends without waiting for the broker: the id. */
static void s_send(dh_t *from, const char *bsn, char id[33])
{
    cr_assert_eq(dh_send(from, "gemeente,welzijn", "overlast", "casusoverleg", bsn, s_fields,
                         "Buren", false, id),
                 0, "send failed:\n%s", dh_log(from));
}

static char *s_status_json(dh_t *daemon)
{
    char *out = NULL;
    (void)dh_cli(daemon, NULL, &out, NULL, "status", "--json", NULL);
    cr_assert_not_null(out);
    return out;
}

/* Polls `status --json` until it holds `needle`. */
static bool s_wait_status(dh_t *daemon, const char *needle, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        char *status = s_status_json(daemon);
        bool found = strstr(status, needle) != NULL;
        free(status);
        if (found)
            return true;
        usleep(100000);
    }
    return false;
}

Test(pseudonyms, the_subject_is_the_services_pseudonym_and_no_daemon_holds_a_key)
{
    s_daemons();
    s_start(s_gemeente);
    s_start(s_politie);
    s_start(s_welzijn);
    char id[33];
    cr_assert_eq(dh_send(s_politie, "gemeente,welzijn", "overlast", "casusoverleg", "1234.56.782",
                         s_fields, "Buren", true, id),
                 0, "%s", dh_log(s_politie));
    cr_assert(dh_wait_inbox(s_gemeente, 1, 10000));
    uint8_t expected[32];
    char hex[65];
    cr_assert_eq(bh_service_pseudonym(s_bh, PSEUDONYM_BSN, BSN, expected), 0);
    pseudonym_to_hex(expected, hex);
    char *inbox = NULL;
    cr_assert_eq(dh_cli(s_gemeente, NULL, &inbox, NULL, "inbox", "--json", NULL), 0);
    cr_assert(strstr(inbox, hex), "the recipient's subject is the service's pseudonym:\n%s", inbox);
    free(inbox);
    /* The same subject again comes from the daemon's memory: one request in all. */
    cr_assert_eq(
        dh_send(s_politie, "gemeente", "overlast", "casusoverleg", BSN, s_fields, NULL, true, id),
        0);
    cr_assert(s_wait_status(s_politie, "\"cached\":1,", 1000), "%s", s_status_json(s_politie));
    /* Canaries: the identifier nowhere but in what the tests typed; the
       pseudonym nowhere in the service's files; no key on a daemon host. */
    dh_stop(s_politie, SIGTERM);
    dh_stop(s_gemeente, SIGTERM);
    dh_stop(s_welzijn, SIGTERM);
    bh_service_stop(s_bh, SIGTERM);
    bh_stop(s_bh, SIGTERM);
    const char *daemon_dirs[] = {s_politie->dir, s_gemeente->dir, s_welzijn->dir};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_not(tu_dir_contains(daemon_dirs[i], BSN, strlen(BSN)), "BSN in %s",
                      daemon_dirs[i]);
        char path[4400];
        snprintf(path, sizeof path, "%s/pseudonym.key", daemon_dirs[i]);
        cr_assert_neq(access(path, F_OK), 0);
    }
    cr_assert_eq(bh_store_dump(s_bh), 0); /* a PostgreSQL store into the scan */
    cr_assert_not(tu_dir_contains(s_bh->state, BSN, strlen(BSN)), "BSN in the broker's store");
    size_t store_len = 0, log_len = 0;
    char *store = tu_read_file(s_bh->service_store, &store_len);
    char *log = tu_read_file(s_bh->service_log, &log_len);
    cr_assert_not_null(store);
    const void *needles[] = {BSN, expected, hex, "Kanaalstraat"};
    size_t needle_lens[] = {strlen(BSN), sizeof expected, strlen(hex), 12};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_not(s_holds(store, store_len, needles[i], needle_lens[i]),
                      "the service's store holds an identifier or a pseudonym (%zu)", i);
        cr_assert_not(s_holds(log, log_len, needles[i], needle_lens[i]),
                      "the service's log holds an identifier or a pseudonym (%zu)", i);
    }
    free(store);
    free(log);
}

Test(pseudonyms, a_signal_waits_while_the_service_is_down_and_goes_when_it_returns)
{
    s_daemons();
    s_start(s_gemeente);
    s_start(s_politie);
    s_start(s_welzijn);
    bh_service_stop(s_bh, SIGTERM);
    char id[33];
    s_send(s_politie, BSN_2, id);
    cr_assert(s_wait_status(s_politie, "\"waiting\":1", 5000), "not shown as waiting");
    cr_assert(s_wait_status(s_politie, "pseudonyms_waiting", 10000), "status does not say why:\n%s",
              s_status_json(s_politie));
    char *out = NULL;
    cr_assert_eq(dh_cli(s_politie, NULL, &out, NULL, "show", id, NULL), 0);
    cr_assert(strstr(out, "waiting for a pseudonym"), "%s", out);
    free(out);
    /* Nothing lost across a restart of the daemon while it waits. */
    dh_stop(s_politie, SIGTERM);
    s_start(s_politie);
    usleep(500000);
    cr_assert_eq(dh_inbox_count(s_gemeente), 0, "nothing may leave without its pseudonym");
    cr_assert_eq(bh_service_start(s_bh, NULL), 0, "%s", bh_service_log(s_bh));
    cr_assert(dh_wait_inbox(s_gemeente, 1, 40000), "not sent after the service returned:\n%s",
              dh_log(s_politie));
    cr_assert(dh_wait_inbox(s_welzijn, 1, 10000));
    cr_assert(s_wait_status(s_politie, "\"waiting\":0", 5000));
    uint8_t expected[32];
    char hex[65];
    cr_assert_eq(bh_service_pseudonym(s_bh, PSEUDONYM_BSN, BSN_2, expected), 0);
    pseudonym_to_hex(expected, hex);
    char *inbox = NULL;
    cr_assert_eq(dh_cli(s_gemeente, NULL, &inbox, NULL, "inbox", "--json", NULL), 0);
    cr_assert(strstr(inbox, id) && strstr(inbox, hex), "%s", inbox);
    free(inbox);
    /* The draft that waited was sealed to the daemon's key: the BSN was
       never on its disk. */
    cr_assert_not(tu_dir_contains(s_politie->dir, BSN_2, strlen(BSN_2)));
}

/* A valid BSN (the 11-check) made from `n`. */
static void s_bsn(int n, char bsn[10])
{
    for (;; n += 7919) {
        snprintf(bsn, 10, "%08d", 10000000 + n % 89999999);
        int sum = 0;
        for (int i = 0; i < 8; i++)
            sum += (9 - i) * (bsn[i] - '0');
        if (sum % 11 < 10) {
            bsn[8] = (char)('0' + sum % 11);
            bsn[9] = '\0';
            return;
        }
    }
}

#define BACKLOG 160

/* A backlog of new subjects goes in full batches with two requests in
   flight (the daemon blinds and checks one while the service evaluates
   the other), and every signal still carries its own subject's pseudonym:
   answers are matched to their request, never to the other one. */
Test(pseudonyms, a_backlog_goes_two_requests_at_a_time_each_signal_with_its_own_pseudonym,
     .timeout = 300)
{
    tu_watchdog(280);
    s_gemeente = dh_new(s_bh, "gemeente", NULL, NULL);
    s_politie = dh_new(s_bh, "politie", NULL, "log_level: debug\n");
    cr_assert(s_gemeente && s_politie, "%s", bh_service_log(s_bh));
    s_start(s_gemeente);
    s_start(s_politie);
    bh_service_stop(s_bh, SIGTERM);
    static char ids[BACKLOG][33], bsns[BACKLOG][10];
    for (int i = 0; i < BACKLOG; i++) {
        s_bsn(i * 104729 + 17, bsns[i]);
        cr_assert_eq(dh_send(s_politie, "gemeente", "overlast", "casusoverleg", bsns[i], s_fields,
                             "Buren", false, ids[i]),
                     0, "send %d failed:\n%s", i, dh_log(s_politie));
    }
    cr_assert_eq(dh_inbox_count(s_gemeente), 0, "nothing may leave without its pseudonym");
    cr_assert_eq(bh_service_start(s_bh, NULL), 0, "%s", bh_service_log(s_bh));
    cr_assert(dh_wait_inbox(s_gemeente, BACKLOG, 120000), "the backlog was not sent:\n%s",
              dh_log(s_politie));
    char *log = dh_log(s_politie);
    cr_assert(strstr(log, "in_flight=2"), "never two requests in flight:\n%s", log);
    const char *answering = strstr(log, "event=pseudonym_service_answering");
    cr_assert_not_null(answering);
    cr_assert_null(strstr(answering, "event=pseudonym_service_problem"),
                   "a request was lost once the service answered:\n%s", log);
    free(log);
    char *inbox = NULL;
    cr_assert_eq(dh_cli(s_gemeente, NULL, &inbox, NULL, "inbox", "--json", NULL), 0);
    for (int i = 0; i < BACKLOG; i++) {
        uint8_t expected[32];
        char hex[65], key[64];
        cr_assert_eq(bh_service_pseudonym(s_bh, PSEUDONYM_BSN, bsns[i], expected), 0);
        pseudonym_to_hex(expected, hex);
        snprintf(key, sizeof key, "\"signal_id\":\"%s\"", ids[i]);
        const char *entry = strstr(inbox, key);
        cr_assert_not_null(entry, "signal %d not in the inbox", i);
        const char *subject = strstr(entry, "\"subject\":\"");
        cr_assert_not_null(subject);
        cr_assert_eq(strncmp(subject + 11, hex, 64), 0,
                     "signal %d carries another subject's pseudonym", i);
    }
    free(inbox);
}

Test(pseudonyms, a_waiting_signal_is_withdrawn_at_once_and_never_sent)
{
    s_daemons();
    s_start(s_gemeente);
    s_start(s_politie);
    bh_service_stop(s_bh, SIGTERM);
    char id[33];
    s_send(s_politie, BSN_2, id);
    char *out = NULL, *err = NULL;
    int rc = dh_cli(s_politie, NULL, &out, &err, "withdraw", id, "--reason", "resolved", NULL);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    cr_assert(strstr(out, "withdrawn"), "%s", out);
    free(out);
    free(err);
    cr_assert_eq(bh_service_start(s_bh, NULL), 0);
    sleep(2);
    cr_assert_eq(dh_inbox_count(s_gemeente), 0);
    cr_assert(s_wait_status(s_politie, "\"waiting\":0", 3000));
}

Test(pseudonyms, a_proof_that_does_not_verify_is_refused_and_nothing_is_sent)
{
    s_daemons();
    /* politie is told another OPRF key than the service holds. */
    cert_t cert;
    char err[600], fake[4500];
    cr_assert_eq(cert_load(s_bh->service_cert, &cert, err, sizeof err), 0, "%s", err);
    uint8_t sk[32];
    cr_assert_eq(oprf_generate_key_pair(sk, cert.oprf_key), OPRF_OK);
    snprintf(fake, sizeof fake, "%s/impostor.cert", s_politie->dir);
    cr_assert_eq(cert_save(&cert, fake, err, sizeof err), 0, "%s", err);
    char *config = tu_read_file(s_politie->config, NULL);
    char *at = strstr(config, s_bh->service_cert);
    cr_assert_not_null(at);
    char rewritten[40000];
    snprintf(rewritten, sizeof rewritten, "%.*s%s%s", (int)(at - config), config, fake,
             at + strlen(s_bh->service_cert));
    free(config);
    remove(s_politie->config);
    cr_assert_eq(tu_write_file(s_politie->config, rewritten, 0600), 0);
    s_start(s_gemeente);
    s_start(s_politie);
    char id[33];
    s_send(s_politie, BSN, id);
    cr_assert(dh_wait_log(s_politie, "event=pseudonym_refused reason=proof_invalid", 10000), "%s",
              dh_log(s_politie));
    char *log = dh_log(s_politie);
    cr_assert(strstr(log, "expected_key_version=1"), "%s", log);
    free(log);
    cr_assert(s_wait_status(s_politie, "proof does not verify", 5000));
    sleep(1);
    cr_assert_eq(dh_inbox_count(s_gemeente), 0, "never sent with an unverified pseudonym");
}

Test(pseudonyms, over_the_rate_limit_refused_audited_and_the_coordinator_alerted)
{
    /* Two evaluations a minute and a UTC day for everyone: the third
       subject waits. The day too: windows are fixed, and three sends
       through daemons took long enough under the sanitizers for a minute
       boundary to fall between the second and the third, which then went
       through (test_pseudonymd tests the minute alone). Not across
       midnight. */
    while (zclock_time() % 86400000 > 86400000 - 120000)
        usleep(500000);
    cr_assert_eq(bh_service_start(s_bh, "limits:\n  default: {per_minute: 2, per_day: 2}\n"), 0,
                 "%s", bh_service_log(s_bh));
    s_daemons();
    s_start(s_gemeente);
    s_start(s_politie);
    s_start(s_welzijn);
    /* the coordinator's daemon has said hello to the service */
    usleep(500000);
    char id[33];
    s_send(s_politie, BSN, id);
    cr_assert(dh_wait_inbox(s_gemeente, 1, 10000), "%s", dh_log(s_politie));
    s_send(s_politie, BSN_2, id);
    cr_assert(dh_wait_inbox(s_gemeente, 2, 10000), "%s", dh_log(s_politie));
    s_send(s_politie, "111222345", id); /* elfproef: 9+8+7+12+10+8+9+8-5 = 66 */
    cr_assert(s_wait_status(s_politie, "rate_limited", 10000), "%s", s_status_json(s_politie));
    cr_assert_eq(dh_inbox_count(s_gemeente), 2);
    cr_assert(dh_wait_log(s_gemeente, "event=pseudonym_limit_alert client=politie", 15000),
              "the coordinator was not alerted:\n%s\n%s", dh_log(s_gemeente), bh_service_log(s_bh));
    char *log = bh_service_log(s_bh);
    cr_assert(strstr(log, "rate_limited"), "%s", log);
    free(log);
    /* The service's own audit log holds the refusal and verifies against
       the service's certificate. */
    bh_service_stop(s_bh, SIGTERM); /* a clean stop signs a last checkpoint */
    char *out = NULL, *err = NULL;
    char *query[] = {(char *)tu_bin("hartslag"),
                     "audit",
                     "query",
                     "--db",
                     s_bh->service_store,
                     "--org",
                     "politie",
                     "--json",
                     NULL};
    cr_assert_eq(tu_run(query, NULL, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "\"event\":\"pseudonym_refused\"") && strstr(out, "rate_limited"), "%s",
              out);
    cr_assert(strstr(out, "\"event\":\"pseudonym_evaluated\""), "%s", out);
    free(out);
    free(err);
    char *verify[] = {(char *)tu_bin("hartslag"), "audit",         "verify",           "--db",
                      s_bh->service_store,        "--broker-cert", s_bh->service_cert, NULL};
    int rc = tu_run(verify, NULL, &out, &err);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    free(out);
    free(err);
    /* ... and not against another signer's. */
    char broker_cert[4300];
    snprintf(broker_cert, sizeof broker_cert, "%s/broker.cert", s_bh->keys);
    verify[6] = broker_cert;
    rc = tu_run(verify, NULL, &out, &err);
    cr_assert_neq(rc, 0, "%s%s", out, err);
    free(out);
    free(err);
}

Test(pseudonyms, a_config_that_names_a_pseudonym_key_is_refused_with_the_step)
{
    s_daemons();
    char *config = tu_read_file(s_politie->config, NULL);
    char text[40000];
    snprintf(text, sizeof text, "%spseudonym_key: /etc/hartslag/pseudonym.key\n", config);
    free(config);
    remove(s_politie->config);
    cr_assert_eq(tu_write_file(s_politie->config, text, 0600), 0);
    char *argv[] = {(char *)tu_bin("hartslagd"), "--config", s_politie->config, "--check", NULL};
    char *err = NULL;
    int rc = tu_run(argv, NULL, NULL, &err);
    cr_assert_eq(rc, 2, "%s", err);
    cr_assert(strstr(err, "pseudonym_key is retired"), "%s", err);
    cr_assert(strstr(err, "pseudonym_service:"), "%s", err);
    free(err);
}

Test(pseudonyms, officers_look_up_through_the_service_for_an_allowed_purpose)
{
    s_daemons();
    s_start(s_gemeente);
    s_start(s_politie);
    s_start(s_welzijn);
    char id[33];
    cr_assert_eq(dh_send(s_politie, "gemeente,welzijn", "overlast", "casusoverleg", BSN, s_fields,
                         NULL, true, id),
                 0);
    cr_assert(dh_wait_inbox(s_gemeente, 1, 10000));
    char officer[4400], partner_as_officer[4400], db[4300];
    snprintf(officer, sizeof officer, "%s/officer.yaml", s_bh->root);
    snprintf(partner_as_officer, sizeof partner_as_officer, "%s/partner-officer.yaml", s_bh->root);
    char text[16000];
    snprintf(text, sizeof text,
             "keys: %s/fg-gemeente.cert_secret\npseudonym_service: %s\n"
             "pseudonym_service_cert: %s\n",
             s_bh->keys, s_bh->service_endpoint, s_bh->service_cert);
    cr_assert_eq(tu_write_file(officer, text, 0600), 0);
    snprintf(text, sizeof text,
             "keys: %s/woonpunt.cert_secret\npseudonym_service: %s\npseudonym_service_cert: %s\n",
             s_bh->keys, s_bh->service_endpoint, s_bh->service_cert);
    cr_assert_eq(tu_write_file(partner_as_officer, text, 0600), 0);
    snprintf(db, sizeof db, "%s", bh_store(s_bh));
    char *argv[] = {(char *)tu_bin("hartslag"),
                    "audit",
                    "subject",
                    "--db",
                    db,
                    "--bsn",
                    "-",
                    "--officer",
                    officer,
                    "--lang",
                    "en",
                    NULL};
    char *out = NULL, *err = NULL;
    int rc = tu_run(argv, BSN "\n", &out, &err);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    cr_assert(strstr(out, "overlast") || strstr(out, "Overlast") || strstr(out, "politie"), "%s",
              out);
    cr_assert_null(strstr(out, BSN));
    free(out);
    free(err);
    /* The service's own audit log records who looked up, how many, and why. */
    char *argv_audit[] = {(char *)tu_bin("hartslag"),
                          "audit",
                          "query",
                          "--db",
                          s_bh->service_store,
                          "--org",
                          "fg-gemeente",
                          "--json",
                          NULL};
    rc = tu_run(argv_audit, NULL, &out, &err);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    cr_assert(strstr(out, "\"purpose\":\"art15\""), "%s", out);
    cr_assert(strstr(out, "\"outcome\":\"ok\""), "%s", out);
    free(out);
    free(err);
    /* A partner's key may only pseudonymise for sending. */
    char *argv2[] = {(char *)tu_bin("hartslag"),
                     "audit",
                     "query",
                     "--db",
                     db,
                     "--bsn",
                     BSN,
                     "--officer",
                     partner_as_officer,
                     "--lookup-purpose",
                     "art15",
                     NULL};
    rc = tu_run(argv2, NULL, &out, &err);
    cr_assert_eq(rc, 1, "%s%s", out, err);
    cr_assert(strstr(err, "purpose_not_allowed"), "%s", err);
    cr_assert_null(strstr(err, BSN));
    free(out);
    free(err);
    /* No purpose stated: a usage error. */
    char *argv3[] = {(char *)tu_bin("hartslag"),
                     "audit",
                     "query",
                     "--db",
                     db,
                     "--bsn",
                     BSN,
                     "--officer",
                     officer,
                     NULL};
    rc = tu_run(argv3, NULL, &out, &err);
    cr_assert_eq(rc, 2, "%s%s", out, err);
    cr_assert(strstr(err, "--purpose") || strstr(err, "purpose"), "%s", err);
    free(out);
    free(err);
    /* The retired option says what replaces it. */
    char *argv4[] = {(char *)tu_bin("hartslag"), "audit",     "subject", "--db", db, "--bsn", BSN,
                     "--pseudonym-key",          "/tmp/none", NULL};
    rc = tu_run(argv4, NULL, &out, &err);
    cr_assert_eq(rc, 2);
    cr_assert(strstr(err, "--officer"), "%s", err);
    free(out);
    free(err);
}
