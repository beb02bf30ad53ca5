/*  Issue 13 C7: a daemon that cannot reach its broker says why: the broker
    is down, the broker does not know the daemon's key, or broker_cert is
    not the broker's certificate. Each shows in the daemon log, in
    `hartslag status` (text and --json) with a one-line fix, and status
    exits 1. Real broker, real daemon. */
#include "daemon_harness.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bh_t *s_bh;
static dh_t *s_daemon;
static char *s_spare; /* a directory for keys nobody knows */

static void s_setup(void)
{
    tu_watchdog(90);
    const char *orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};
    s_bh = bh_new(orgs, 4, bh_default_agreements);
    cr_assert_not_null(s_bh);
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
    s_daemon = dh_new(s_bh, "politie", NULL, NULL);
    cr_assert_not_null(s_daemon);
    s_spare = tu_tmpdir();
}

static void s_teardown(void)
{
    dh_destroy(&s_daemon);
    bh_destroy(&s_bh);
    tu_rmtree(s_spare);
    free(s_spare);
}

TestSuite(diagnostics, .init = s_setup, .fini = s_teardown);

/* Replaces the value of `key:` in the daemon's configuration. */
static void s_config_set(const char *key, const char *value)
{
    char *text = tu_read_file(s_daemon->config, NULL);
    cr_assert_not_null(text);
    char needle[64];
    snprintf(needle, sizeof needle, "%s: ", key);
    char *at = strstr(text, needle);
    cr_assert_not_null(at, "no %s in the configuration", key);
    char *end = strchr(at, '\n');
    char out[40000];
    snprintf(out, sizeof out, "%.*s%s%s%s", (int)(at - text), text, needle, value, end);
    free(text);
    remove(s_daemon->config);
    cr_assert_eq(tu_write_file(s_daemon->config, out, 0600), 0);
}

/* Runs `hartslag ARGS...` in s_spare (keys tooling). */
static void s_hartslag(const char *first, ...)
{
    char *argv[24] = {(char *)tu_bin("hartslag"), (char *)first};
    va_list args;
    va_start(args, first);
    for (int i = 2; i < 23 && (argv[i] = va_arg(args, char *)) != NULL; i++)
        ;
    va_end(args);
    char *err = NULL;
    int rc = tu_run(argv, NULL, NULL, &err);
    cr_assert_eq(rc, 0, "%s", err);
    free(err);
}

/* Starts the daemon and waits until `status --json` names `code`; then
   checks the text form, the exit code and the log. */
static void s_expect_problem(const char *code)
{
    cr_assert_eq(dh_start(s_daemon), 0, "%s", dh_log(s_daemon));
    char needle[64];
    snprintf(needle, sizeof needle, "\"broker_problem\":\"%s\"", code);
    char *out = NULL;
    int rc = 0;
    bool seen = false;
    for (int i = 0; i < 150 && !seen; i++) {
        free(out);
        out = NULL;
        rc = dh_cli(s_daemon, NULL, &out, NULL, "status", "--json", NULL);
        seen = out && strstr(out, needle);
        if (!seen)
            usleep(100000);
    }
    cr_assert(seen, "status never said %s: %s\n%s", code, out ? out : "", dh_log(s_daemon));
    cr_assert_eq(rc, 1, "status exits 0 while not connected");
    cr_assert(strstr(out, "\"broker_fix\":\""), "%s", out);
    cr_assert_null(strstr(out, "\"last_error\":null"), "%s", out);
    free(out);
    rc = dh_cli(s_daemon, NULL, &out, NULL, "status", NULL);
    cr_assert_eq(rc, 1);
    snprintf(needle, sizeof needle, "why: %s", code);
    cr_assert(strstr(out, needle) && strstr(out, "fix: "), "%s", out);
    free(out);
    snprintf(needle, sizeof needle, "event=broker_link_failed problem=%s", code);
    cr_assert(dh_log_count(s_daemon, needle) == 1, "logged not exactly once:\n%s",
              dh_log(s_daemon));
}

Test(diagnostics, a_broker_that_is_down)
{
    bh_stop(s_bh, SIGTERM);
    s_expect_problem("broker_unreachable");
}

Test(diagnostics, a_broker_that_does_not_know_our_key)
{
    /* New keys for politie that the broker's certificate directory lacks. */
    s_hartslag("keys", "init", "--org", "politie", "--name", "Politie", "--role", "partner",
               "--contact", "c@example.org", "--out", s_spare, NULL);
    char keys[4400];
    snprintf(keys, sizeof keys, "%s/politie.cert_secret", s_spare);
    s_config_set("keys", keys);
    s_expect_problem("key_refused");
}

Test(diagnostics, a_wrong_broker_certificate)
{
    s_hartslag("keys", "broker", "--out", s_spare, NULL);
    char cert[4400];
    snprintf(cert, sizeof cert, "%s/broker.cert", s_spare);
    s_config_set("broker_cert", cert);
    s_expect_problem("handshake_failed");
}

Test(diagnostics, a_connected_daemon_names_no_problem)
{
    cr_assert_eq(dh_start(s_daemon), 0);
    cr_assert(dh_wait_log(s_daemon, "event=connected", 10000), "%s", dh_log(s_daemon));
    char *out = NULL;
    cr_assert_eq(dh_cli(s_daemon, NULL, &out, NULL, "status", "--json", NULL), 0);
    cr_assert(strstr(out, "\"broker_problem\":null"), "%s", out);
    free(out);
}

/* Issue 14 item 1: the identity of a version is (version, SHA-256 of its
   bytes). The broker tells its hash in the Welcome; a daemon whose file has
   the same version and other bytes says so in status and in its log. */
Test(diagnostics, the_same_agreements_file_is_the_same_hash)
{
    size_t len = 0;
    char *text = tu_read_file(s_bh->agreements, &len);
    cr_assert_not_null(text);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)text, len);
    free(text);
    char hex[crypto_hash_sha256_BYTES * 2 + 1], want[120];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    cr_assert_eq(dh_start(s_daemon), 0);
    cr_assert(dh_wait_log(s_daemon, "event=connected", 10000), "%s", dh_log(s_daemon));
    char *out = NULL;
    cr_assert_eq(dh_cli(s_daemon, NULL, &out, NULL, "status", "--json", NULL), 0);
    snprintf(want, sizeof want, "\"agreements_hash\":\"%s\"", hex);
    cr_assert(strstr(out, want), "%s", out);
    snprintf(want, sizeof want, "\"broker_agreements_hash\":\"%s\"", hex);
    cr_assert(strstr(out, want), "%s", out);
    cr_assert(strstr(out, "\"agreements_hash_differs\":false"), "%s", out);
    free(out);
    cr_assert_eq(dh_cli(s_daemon, NULL, &out, NULL, "status", NULL), 0);
    cr_assert(strstr(out, ", the same file)"), "%s", out);
    free(out);
}

Test(diagnostics, same_version_other_bytes_is_named_with_a_fix)
{
    /* the broker's file plus one comment: same version number, other bytes */
    char *text = tu_read_file(s_bh->agreements, NULL);
    cr_assert_not_null(text);
    char path[4200];
    snprintf(path, sizeof path, "%s/agreements-local.yaml", s_spare);
    size_t n = strlen(text) + 32;
    char *edited = malloc(n);
    cr_assert_not_null(edited);
    snprintf(edited, n, "%s# edited here\n", text);
    cr_assert_eq(tu_write_file(path, edited, 0644), 0);
    free(text);
    free(edited);
    s_config_set("agreements", path);
    cr_assert_eq(dh_start(s_daemon), 0);
    cr_assert(dh_wait_log(s_daemon, "event=agreements_hash_differs", 10000), "%s",
              dh_log(s_daemon));
    char *log = dh_log(s_daemon);
    cr_assert(strstr(log, "sha256sum"), "the log says what to do: %s", log);
    free(log);
    char *out = NULL;
    int rc = dh_cli(s_daemon, NULL, &out, NULL, "status", "--json", NULL);
    cr_assert_eq(rc, 1, "status exits 1 while unhealthy: %s", out);
    cr_assert(strstr(out, "\"agreements_hash_differs\":true"), "%s", out);
    cr_assert(strstr(out, "\"code\":\"agreements_differ\""), "%s", out);
    free(out);
    dh_cli(s_daemon, NULL, &out, NULL, "status", NULL);
    cr_assert(strstr(out, "BROKER ENFORCES OTHER CONTENT"), "%s", out);
    cr_assert(strstr(out, "send SIGHUP"), "%s", out);
    free(out);
}

/* Issue 13 C8: a hook that keeps failing makes the daemon unhealthy. */
Test(diagnostics, a_failing_hook_makes_status_unhealthy)
{
    dh_t *gemeente = dh_new(s_bh, "gemeente", NULL, "hook: \"exit 3\"\n");
    cr_assert_not_null(gemeente);
    cr_assert_eq(dh_start(gemeente), 0);
    cr_assert_eq(dh_start(s_daemon), 0);
    cr_assert(dh_wait_log(gemeente, "event=connected", 10000), "%s", dh_log(gemeente));
    cr_assert(dh_wait_log(s_daemon, "event=connected", 10000), "%s", dh_log(s_daemon));
    char *out = NULL;
    int rc = dh_cli(gemeente, NULL, &out, NULL, "status", NULL);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    const char *fields[] = {"datum=2026-03-01", NULL};
    char id[33];
    cr_assert_eq(dh_send(s_daemon, "gemeente", "overlast", "casusoverleg", "123456782", fields,
                         NULL, true, id),
                 0, "%s", dh_log(s_daemon));
    bool unhealthy = false;
    out = NULL;
    for (int i = 0; i < 400 && !unhealthy; i++) {
        free(out);
        out = NULL;
        rc = dh_cli(gemeente, NULL, &out, NULL, "status", "--json", NULL);
        unhealthy = rc == 1 && out && strstr(out, "\"code\":\"hook_failing\"");
        if (!unhealthy)
            usleep(100000);
    }
    char *log = dh_log(gemeente);
    dh_destroy(&gemeente);
    cr_assert(unhealthy, "status never named the failing hook (rc %d): %s\n%s", rc, out, log);
    free(out);
    free(log);
}

/* Issue 13 C8: a refused (inconsistent) checkpoint makes the daemon unhealthy. */
Test(diagnostics, a_refused_checkpoint_makes_status_unhealthy)
{
    cr_assert_eq(dh_start(s_daemon), 0);
    cr_assert(dh_wait_log(s_daemon, "event=connected", 10000), "%s", dh_log(s_daemon));
    char *out = NULL;
    cr_assert_eq(dh_cli(s_daemon, NULL, &out, NULL, "status", NULL), 0, "%s", out);
    free(out);
    char db_path[4700];
    snprintf(db_path, sizeof db_path, "%s/hartslagd.db", s_daemon->state);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    cr_assert_eq(sqlite3_exec(db,
                              "INSERT INTO checkpoint_evidence (received_ms, kind, held_size,"
                              " new_size, note) VALUES (1, 'inconsistent', 5, 3, 'note')",
                              NULL, NULL, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
    int rc = dh_cli(s_daemon, NULL, &out, NULL, "status", NULL);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "checkpoint_refused") && strstr(out, "privacy officers"), "%s", out);
    free(out);
}

Test(diagnostics, a_peer_that_never_answers_hello)
{
    /* The fake broker has the broker's keys (the handshake succeeds) but
       nobody reads its socket, so no Welcome comes. */
    fb_t *fb = fb_new(s_bh);
    cr_assert_not_null(fb);
    s_config_set("broker", fb->endpoint);
    s_expect_problem("no_welcome");
    dh_stop(s_daemon, SIGTERM);
    fb_destroy(&fb);
}
