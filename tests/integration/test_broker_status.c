/*  hartslag broker status (issue 13 D13): the operator's view of a running
    broker with two daemons connected and one partner offline, over the
    broker's local control socket; exit 1 when the broker does not run. */
#include "daemon_harness.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BSN "123456782" /* passes the elfproef */

static bh_t *s_bh;
static dh_t *s_politie, *s_gemeente;
static const char *s_orgs[] = {"gemeente", "politie", "welzijn"};
static const char *s_fields[] = {"datum=2026-03-01", "categorie=geluid", NULL};

static void s_setup(void)
{
    tu_watchdog(120);
    s_bh = bh_new(s_orgs, 3, bh_default_agreements);
    cr_assert_not_null(s_bh);
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
    s_politie = dh_new(s_bh, "politie", NULL, NULL);
    s_gemeente = dh_new(s_bh, "gemeente", NULL, NULL);
    cr_assert(s_politie && s_gemeente);
    cr_assert_eq(dh_start(s_politie), 0);
    cr_assert_eq(dh_start(s_gemeente), 0);
}

static void s_teardown(void)
{
    dh_destroy(&s_politie);
    dh_destroy(&s_gemeente);
    bh_destroy(&s_bh);
}

TestSuite(broker_status, .init = s_setup, .fini = s_teardown);

/* `hartslag broker status ARGS... ` (NULL-terminated); output in *out. */
static int s_status(char **out, char **err, const char *a, const char *b, const char *c)
{
    char *argv[] = {
        (char *)tu_bin("hartslag"), "broker", "status", (char *)a, (char *)b, (char *)c, NULL};
    return tu_run(argv, NULL, out, err);
}

/* Polls the JSON status until it contains every one of `needles`. */
static char *s_wait_json(const char *const *needles, size_t n, int timeout_ms)
{
    char *out = NULL;
    for (int waited = 0; waited <= timeout_ms; waited += 200) {
        free(out);
        out = NULL;
        int rc = s_status(&out, NULL, "--state-dir", s_bh->state, "--json");
        cr_assert_eq(rc, 0, "broker status failed: %s", out);
        bool all = true;
        for (size_t i = 0; i < n; i++)
            all = all && strstr(out, needles[i]);
        if (all)
            return out;
        usleep(200000);
    }
    cr_assert_fail("status never showed what was expected: %s", out);
    return NULL;
}

Test(broker_status, shows_partners_queues_checkpoint_and_agreements)
{
    char id[33];
    /* welzijn is offline: two deliveries wait for it. */
    for (int i = 0; i < 2; i++)
        cr_assert_eq(dh_send(s_politie, "welzijn", "overlast", "casusoverleg", BSN, s_fields, NULL,
                             true, id),
                     0);
    const char *needles[] = {
        "\"org\":\"politie\",\"connected\":true,\"connected_since\":\"",
        "\"org\":\"gemeente\",\"connected\":true,\"connected_since\":\"",
        "\"org\":\"welzijn\",\"connected\":false,\"connected_since\":null,\"queued\":2,",
        "\"alerts_open\":0",
    };
    char *out = s_wait_json(needles, 4, 15000);
    cr_assert(strstr(out, "\"running\":true"), "%s", out);
    /* The oldest queued delivery is named with its time; none for the others. */
    const char *welzijn = strstr(out, "\"org\":\"welzijn\"");
    cr_assert(strstr(welzijn, "\"oldest_queued_at\":\"20"), "%s", out);
    const char *gemeente = strstr(out, "\"org\":\"gemeente\"");
    cr_assert(strstr(gemeente, "\"queued\":0,\"unacknowledged\":0,\"oldest_queued_at\":null"), "%s",
              out);
    /* The agreements version the broker logged at start. */
    char *log = bh_log(s_bh);
    const char *v = strstr(log, "event=agreements_loaded version=");
    cr_assert_not_null(v, "%s", log);
    v += strlen("event=agreements_loaded version=");
    char expect[64];
    snprintf(expect, sizeof expect, "\"agreements_version\":%.*s,", (int)strspn(v, "0123456789"),
             v);
    /* ... and the SHA-256 of the file's exact bytes (issue 14), in the log and in status */
    size_t flen = 0;
    char *file = tu_read_file(s_bh->agreements, &flen);
    cr_assert_not_null(file);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)file, flen);
    free(file);
    char hex[crypto_hash_sha256_BYTES * 2 + 1], want_hash[120];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    snprintf(want_hash, sizeof want_hash, " sha256=%s", hex);
    cr_assert(strstr(log, want_hash), "expected %s in %s", want_hash, log);
    free(log);
    cr_assert(strstr(out, expect), "expected %s in %s", expect, out);
    snprintf(want_hash, sizeof want_hash, "\"agreements_hash\":\"%s\"", hex);
    cr_assert(strstr(out, want_hash), "expected %s in %s", want_hash, out);
    free(out);
    /* The daemons cosign the broker's checkpoints. */
    const char *cosigned[] = {"\"cosigned_by\":[\"gemeente\",\"politie\"]"};
    const char *cosigned2[] = {"\"cosigned_by\":[\"politie\",\"gemeente\"]"};
    out = NULL;
    for (int i = 0; i < 75 && !out; i++) {
        char *now = NULL;
        cr_assert_eq(s_status(&now, NULL, "--state-dir", s_bh->state, "--json"), 0);
        if (strstr(now, cosigned[0]) || strstr(now, cosigned2[0]))
            out = now;
        else {
            free(now);
            usleep(200000);
        }
    }
    cr_assert_not_null(out, "the latest checkpoint was never cosigned by both daemons");
    cr_assert(strstr(out, "\"checkpoint\":{\"size\":"), "%s", out);
    free(out);
    /* Text, found through the broker's configuration file. */
    char *err = NULL;
    cr_assert_eq(s_status(&out, &err, "--config", s_bh->config, NULL), 0, "%s", err);
    cr_log_info("hartslag broker status:\n%s", out);
    cr_assert(strstr(out, "welzijn"), "%s", out);
    cr_assert(strstr(out, "NOT CONNECTED, 2 queued (oldest 20"), "%s", out);
    cr_assert(strstr(out, "politie                  connected since 20"), "%s", out);
    cr_assert(strstr(out, "cosigned by:"), "%s", out);
    snprintf(want_hash, sizeof want_hash, ", sha256 %s\n", hex);
    cr_assert(strstr(out, want_hash), "%s", out);
    free(out);
    free(err);
}

Test(broker_status, the_control_socket_is_private_and_status_fails_when_the_broker_is_down)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/control.sock", s_bh->state);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(stat(s_bh->state, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700);
    char *out = NULL, *err = NULL;
    cr_assert_eq(s_status(&out, &err, "--state-dir", s_bh->state, NULL), 0, "%s", err);
    free(out);
    free(err);
    bh_stop(s_bh, SIGTERM);
    out = err = NULL;
    int rc = s_status(&out, &err, "--state-dir", s_bh->state, "--json");
    cr_assert_eq(rc, 1, "status of a stopped broker: %d %s", rc, out);
    cr_assert(strstr(err, "hartslag-broker is not running"), "%s", err);
    free(out);
    free(err);
    /* And a usage error is 2. */
    rc = s_status(NULL, NULL, "--nonsense", NULL, NULL);
    cr_assert_eq(rc, 2);
}
