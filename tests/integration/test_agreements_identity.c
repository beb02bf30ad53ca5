/*  Issue 14 item 1: an agreements version is identified by (version,
    SHA-256 of the file's exact bytes), and the audit log says which one
    decided each exchange: the `agreements_loaded`, `accepted` and `denied`
    records carry the hash, `audit query --json` and `audit subject` show
    it. After the broker reloads a changed file, every connected daemon
    hears the new version and hash at once (a fresh Welcome), without
    reconnecting. Real broker, real daemons, the real CLI. */
#include "daemon_harness.h"
#include "pseudonym.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <sqlite3.h>
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

TestSuite(agreements_identity, .init = s_setup, .fini = s_teardown);

/* The SHA-256 of the broker's agreements file as it is on disk now. */
static void s_file_hash(char hex[65])
{
    size_t len = 0;
    char *text = tu_read_file(s_bh->agreements, &len);
    cr_assert_not_null(text);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)text, len);
    free(text);
    sodium_bin2hex(hex, 65, digest, sizeof digest);
}

/* `hartslag audit query --db broker.db --json --event EVENT` once: its
   exit code, stdout in *out and stderr in *err (caller frees both). */
static int s_query_run(const char *event, char **out, char **err)
{
    char db[4300];
    snprintf(db, sizeof db, "%s", bh_store(s_bh));
    char *argv[] = {(char *)tu_bin("hartslag"),
                    "audit",
                    "query",
                    "--db",
                    db,
                    "--json",
                    "--event",
                    (char *)event,
                    NULL};
    return tu_run(argv, NULL, out, err);
}

/* One JSON object per line (caller frees). Waits a little for records that
   the broker logged but had not committed yet (query exits 1 on no match). */
static char *s_query(const char *event)
{
    char *out = NULL, *err = NULL;
    for (int i = 0; i < 50; i++) {
        free(out);
        free(err);
        out = err = NULL;
        if (s_query_run(event, &out, &err) == 0) {
            free(err);
            return out;
        }
        usleep(100000);
    }
    cr_assert_fail("audit query --event %s: %s", event, err ? err : "");
    return NULL;
}

/* How many lines of `text` contain both needles. */
static int s_lines_with(const char *text, const char *a, const char *b)
{
    int n = 0;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char *copy = strndup(line, len);
        cr_assert_not_null(copy);
        if (strstr(copy, a) && strstr(copy, b))
            n++;
        free(copy);
        line = end ? end + 1 : NULL;
    }
    return n;
}

/* s_query, polled until a line holds both `a` and `b`: a record the broker
   logged is committed a moment later. */
static char *s_query_for(const char *event, const char *a, const char *b)
{
    for (int i = 0; i < 50; i++) {
        char *out = s_query(event);
        if (s_lines_with(out, a, b) >= 1)
            return out;
        free(out);
        usleep(100000);
    }
    return s_query(event);
}

/* The daemon's `status --json` (caller frees). */
static char *s_status(dh_t *dh)
{
    char *out = NULL;
    dh_cli(dh, NULL, &out, NULL, "status", "--json", NULL);
    cr_assert_not_null(out);
    return out;
}

Test(agreements_identity, records_carry_the_hash_and_daemons_hear_a_reload_at_once)
{
    char v3[65], want[160];
    s_file_hash(v3);
    char id[33];
    const char *fields[] = {"adres=Passartweg 1", NULL};
    cr_assert_eq(
        dh_send(s_politie, "gemeente", "overlast", "casusoverleg", BSN, fields, NULL, true, id), 0,
        "%s", dh_log(s_politie));
    cr_assert(dh_wait_inbox(s_gemeente, 1, 20000), "%s", dh_log(s_gemeente));

    snprintf(want, sizeof want, "\"agreements_sha256\":\"%s\"", v3);
    char *loaded = s_query("agreements_loaded");
    cr_assert_eq(s_lines_with(loaded, "\"agreements_version\":3", want), 1, "%s", loaded);
    free(loaded);
    char *accepted = s_query("accepted");
    cr_assert_eq(s_lines_with(accepted, id, want), 1, "%s", accepted);
    free(accepted);

    /* A new version: the same file with the next number. */
    char *text = tu_read_file(s_bh->agreements, NULL);
    cr_assert_not_null(text);
    char *at = strstr(text, "version: 3\n");
    cr_assert_not_null(at);
    at[9] = '4';
    cr_assert_eq(bh_write_agreements(s_bh, text, NULL), 0);
    free(text);
    char v4[65];
    s_file_hash(v4);
    cr_assert_str_neq(v3, v4);
    bh_signal(s_bh, SIGHUP);

    /* The daemons hear it without reconnecting. */
    char want_version[80], want_hash[160];
    snprintf(want_version, sizeof want_version, "\"broker_agreements_version\":4");
    snprintf(want_hash, sizeof want_hash, "\"broker_agreements_hash\":\"%s\"", v4);
    char *status = NULL;
    dh_t *daemons[] = {s_gemeente, s_politie};
    for (size_t d = 0; d < 2; d++) {
        bool heard = false;
        for (int i = 0; i < 100 && !heard; i++) {
            free(status);
            status = s_status(daemons[d]);
            heard = strstr(status, want_version) && strstr(status, want_hash);
            if (!heard)
                usleep(100000);
        }
        cr_assert(heard, "%s still shows the old version:\n%s", daemons[d]->org, status);
        free(status);
        status = NULL;
        cr_assert_eq(dh_log_count(daemons[d], "event=connected"), 1, "%s did not reconnect for it",
                     daemons[d]->org);
    }

    snprintf(want, sizeof want, "\"agreements_sha256\":\"%s\"", v4);
    loaded = s_query_for("agreements_loaded", "\"agreements_version\":4", want);
    cr_assert_eq(s_lines_with(loaded, "\"agreements_version\":4", want), 1, "%s", loaded);
    free(loaded);

    /* What is decided now is decided under version 4, and says so. The
       daemon still holds version 3; it submits under it. */
    char id2[33];
    cr_assert_eq(
        dh_send(s_politie, "gemeente", "overlast", "casusoverleg", BSN, fields, NULL, true, id2), 0,
        "%s", dh_log(s_politie));
    cr_assert(dh_wait_inbox(s_gemeente, 2, 20000), "%s", dh_log(s_gemeente));
    accepted = s_query("accepted");
    cr_assert_eq(s_lines_with(accepted, id2, want), 1, "%s", accepted);
    snprintf(want, sizeof want, "\"agreements_sha256\":\"%s\"", v3);
    cr_assert_eq(s_lines_with(accepted, id, want), 1, "the first stays under version 3: %s",
                 accepted);
    free(accepted);

    /* The officer's answer (--json) names the version and hash of each
       exchange; the citizen's letter does not show hashes. */
    char db[4300], subject[65];
    snprintf(db, sizeof db, "%s", bh_store(s_bh));
    uint8_t pseudonym[32];
    cr_assert_eq(bh_service_pseudonym(s_bh, PSEUDONYM_BSN, BSN, pseudonym), 0);
    pseudonym_to_hex(pseudonym, subject);
    char *argv[] = {(char *)tu_bin("hartslag"),
                    "audit",
                    "subject",
                    "--db",
                    db,
                    "--subject",
                    subject,
                    "--json",
                    NULL};
    char *out = NULL, *err = NULL;
    cr_assert_eq(tu_run(argv, NULL, &out, &err), 0, "%s", err);
    snprintf(want, sizeof want, "\"agreements_version\":3,\"agreements_sha256\":\"%s\"", v3);
    cr_assert(strstr(out, want), "%s", out);
    snprintf(want, sizeof want, "\"agreements_version\":4,\"agreements_sha256\":\"%s\"", v4);
    cr_assert(strstr(out, want), "%s", out);
    free(out);
    free(err);
}

/* A refused signal's `denied` record names the version that refused it.
   A raw client, because a daemon refuses it before it reaches the broker. */
Test(agreements_identity, a_denied_record_carries_the_hash)
{
    char v3[65], want[160], hex[33];
    s_file_hash(v3);
    bh_client_t *politie = bh_client_new(s_bh, "politie", false);
    cr_assert_not_null(politie);
    cr_assert_eq(bh_hello(politie), 0);
    uint8_t *sealed = NULL, id[16];
    size_t len = 0;
    /* woonpunt may not receive overlast signals under the default agreements */
    cr_assert_eq(bh_seal(s_bh, politie, "woonpunt", "overlast", "casusoverleg", "adres", NULL,
                         &sealed, &len, id),
                 0);
    Hartslag__Frame *answer = bh_submit(politie, sealed, len, 10000);
    cr_assert_not_null(answer);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_DENIED);
    hartslag__frame__free_unpacked(answer, NULL);
    free(sealed);
    bh_client_destroy(&politie);
    sodium_bin2hex(hex, sizeof hex, id, sizeof id);
    snprintf(want, sizeof want, "\"agreements_sha256\":\"%s\"", v3);
    char *denied = s_query("denied");
    cr_assert_eq(s_lines_with(denied, hex, want), 1, "%s", denied);
    free(denied);
}

/* `hartslag agreements ARGS...` with stdout (caller frees) and the exit code. */
static int s_agreements(char **out, const char *first, ...)
{
    char *argv[24] = {(char *)tu_bin("hartslag"), "agreements", (char *)first};
    va_list args;
    va_start(args, first);
    for (int i = 3; i < 23 && (argv[i] = va_arg(args, char *)) != NULL; i++)
        ;
    va_end(args);
    char *err = NULL;
    int rc = tu_run(argv, NULL, out, &err);
    if (rc != 0)
        cr_log_info("agreements %s: %s", first, err ? err : "");
    free(err);
    return rc;
}

/* Writes `text` as the broker's agreements file, signed by nobody. */
static void s_write_agreements(const char *text)
{
    const char *nobody[] = {NULL};
    cr_assert_eq(bh_write_agreements(s_bh, text, nobody), 0);
}

/* Waits for the n-th occurrence of `needle` in the broker's log. */
static bool s_wait_broker_log(const char *needle, int n)
{
    for (int i = 0; i < 100; i++) {
        char *log = bh_log(s_bh);
        int count = 0;
        for (const char *at = log; at && (at = strstr(at, needle)); at++)
            count++;
        free(log);
        if (count >= n)
            return true;
        usleep(100000);
    }
    return false;
}

/* Issue 14 items 3 (rollback) and 4 (history): the broker keeps every
   version it enforced, byte for byte, with the signature files that
   verified; a lower version or the same number with other bytes is
   refused on SIGHUP and at a restart, audited, and the newer version stays
   in force. */
Test(agreements_identity, the_history_keeps_every_version_and_a_rollback_is_refused)
{
    char db[4300];
    snprintf(db, sizeof db, "%s", bh_store(s_bh));
    char *v3_text = tu_read_file(s_bh->agreements, NULL);
    cr_assert_not_null(v3_text);
    char v3[65], v4[65];
    s_file_hash(v3);

    char *out = NULL;
    cr_assert_eq(s_agreements(&out, "history", "--db", db, NULL), 0);
    cr_assert(strstr(out, v3), "%s", out);
    cr_assert(strstr(out, "gemeente,politie,welzijn,woonpunt"), "every partner signed: %s", out);
    free(out);
    cr_assert_eq(s_agreements(&out, "show", "--db", db, "--version", "3", NULL), 0);
    cr_assert_str_eq(out, v3_text, "show gives the exact bytes");
    free(out);

    /* Version 4, signed by politie and gemeente. */
    size_t n = strlen(v3_text) + 1;
    char *v4_text = malloc(n);
    cr_assert_not_null(v4_text);
    memcpy(v4_text, v3_text, n);
    char *at = strstr(v4_text, "version: 3\n");
    cr_assert_not_null(at);
    at[9] = '4';
    s_write_agreements(v4_text);
    s_file_hash(v4);
    cr_assert_eq(
        s_agreements(&out, "sign", "--config", s_politie->config, "--yes", s_bh->agreements, NULL),
        0);
    free(out);
    cr_assert_eq(
        s_agreements(&out, "sign", "--config", s_gemeente->config, "--yes", s_bh->agreements, NULL),
        0);
    free(out);
    bh_signal(s_bh, SIGHUP);
    cr_assert(s_wait_broker_log("event=agreements_loaded version=4", 1), "%s", bh_log(s_bh));
    cr_assert_eq(s_agreements(&out, "history", "--db", db, "--json", NULL), 0);
    char want[200];
    snprintf(want, sizeof want, "\"version\":4,");
    cr_assert(strstr(out, want), "%s", out);
    snprintf(want, sizeof want, "\"sha256\":\"%s\",\"signed_by\":[\"gemeente\",\"politie\"]", v4);
    cr_assert(strstr(out, want), "%s", out);
    free(out);
    char sig_path[4400];
    snprintf(sig_path, sizeof sig_path, "%s.sig.d/politie.sig", s_bh->agreements);
    char *sig = tu_read_file(sig_path, NULL);
    cr_assert_not_null(sig);
    cr_assert_eq(
        s_agreements(&out, "show", "--db", db, "--version", "4", "--signature", "politie", NULL),
        0);
    cr_assert_str_eq(out, sig, "the kept signature file is the partner's file");
    free(out);
    free(sig);

    /* Back to version 3: refused, audited, version 4 stays. */
    s_write_agreements(v3_text);
    bh_signal(s_bh, SIGHUP);
    cr_assert(s_wait_broker_log("event=agreements_refused version=3", 1), "%s", bh_log(s_bh));
    char *log = bh_log(s_bh);
    cr_assert(strstr(log, "reason=lower_version"), "%s", log);
    free(log);
    /* Version 4 with other bytes: refused too. */
    size_t m = strlen(v4_text) + 32;
    char *v4_other = malloc(m);
    cr_assert_not_null(v4_other);
    snprintf(v4_other, m, "%s# changed without a new number\n", v4_text);
    s_write_agreements(v4_other);
    bh_signal(s_bh, SIGHUP);
    cr_assert(s_wait_broker_log("event=agreements_refused version=4", 1), "%s", bh_log(s_bh));
    log = bh_log(s_bh);
    cr_assert(strstr(log, "reason=same_version_other_bytes"), "%s", log);
    free(log);
    char *refused = s_query_for("agreements_refused", "same_version_other_bytes", "\"outcome\"");
    cr_assert_eq(s_lines_with(refused, "\"reason\":\"lower_version\"", v3), 1, "%s", refused);
    cr_assert_eq(s_lines_with(refused, "\"reason\":\"same_version_other_bytes\"", "\"outcome\""), 1,
                 "%s", refused);
    free(refused);

    /* A restart with the old file keeps version 4 in force. */
    s_write_agreements(v3_text);
    bh_stop(s_bh, SIGTERM);
    cr_assert_eq(bh_start(s_bh, NULL), 0);
    cr_assert(s_wait_broker_log("event=agreements_refused version=3", 2), "%s", bh_log(s_bh));
    cr_assert(s_wait_broker_log("event=agreements_loaded version=4", 2), "%s", bh_log(s_bh));
    snprintf(want, sizeof want, "\"broker_agreements_hash\":\"%s\"", v4);
    char *status = NULL;
    bool heard = false;
    for (int i = 0; i < 150 && !heard; i++) {
        free(status);
        status = s_status(s_gemeente);
        heard = strstr(status, "\"broker_agreements_version\":4") && strstr(status, want);
        if (!heard)
            usleep(100000);
    }
    cr_assert(heard, "after the restart the broker enforces version 4:\n%s", status);
    free(status);
    cr_assert_eq(s_agreements(&out, "history", "--db", db, NULL), 0);
    int versions = 0;
    for (const char *line = strchr(out, '\n'); line && line[1]; line = strchr(line + 1, '\n'))
        versions++;
    cr_assert_eq(versions, 2, "versions 3 and 4, nothing refused:\n%s", out);
    free(out);
    free(v4_other);
    free(v4_text);
    free(v3_text);
}

/* `base` (version 3) with `from` replaced by `to` (must occur once) and
   the version raised to 4 (caller frees). */
static char *s_variant_of(const char *base, const char *from, const char *to)
{
    char *text = strdup(base);
    cr_assert_not_null(text);
    char *at = strstr(text, "version: 3\n");
    cr_assert_not_null(at);
    at[9] = '4';
    at = strstr(text, from);
    cr_assert_not_null(at, "%s not in the agreements", from);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    cr_assert_not_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    free(text);
    return out;
}

/* The same of the broker's agreements file as it is now. */
static char *s_variant(const char *from, const char *to)
{
    char *base = tu_read_file(s_bh->agreements, NULL);
    cr_assert_not_null(base);
    char *out = s_variant_of(base, from, to);
    free(base);
    return out;
}

/* Issue 14 rule 3: a widening signed by the coordinator alone is refused,
   audited, and the version in force stays; signed by every partner it
   affects, it takes effect. */
Test(agreements_identity, an_unsigned_widening_is_refused_and_a_signed_one_takes_effect)
{
    char *wider =
        s_variant("    to: [gemeente, welzijn]\n", "    to: [gemeente, welzijn, woonpunt]\n");
    const char *coordinator[] = {"gemeente", NULL};
    cr_assert_eq(bh_write_agreements(s_bh, wider, coordinator), 0);
    bh_signal(s_bh, SIGHUP);
    cr_assert(s_wait_broker_log("event=agreements_refused version=4", 1), "%s", bh_log(s_bh));
    char *log = bh_log(s_bh);
    cr_assert(strstr(log, "reason=missing_signatures"), "%s", log);
    cr_assert(strstr(log, "missing=\"politie, welzijn, woonpunt\""), "%s", log);
    cr_assert_null(strstr(log, "event=agreements_loaded version=4"), "%s", log);
    free(log);
    char *refused =
        s_query_for("agreements_refused", "\"reason\":\"missing_signatures\"", "\"outcome\"");
    cr_assert_eq(
        s_lines_with(refused, "\"reason\":\"missing_signatures\"", "\"agreements_version\":4"), 1,
        "%s", refused);
    free(refused);
    char *status = s_status(s_gemeente);
    cr_assert(strstr(status, "\"broker_agreements_version\":3"), "still version 3: %s", status);
    free(status);

    /* Every affected partner signs: it takes effect. */
    cr_assert_eq(bh_sign_agreements(s_bh, NULL), 0);
    bh_signal(s_bh, SIGHUP);
    cr_assert(s_wait_broker_log("event=agreements_loaded version=4", 1), "%s", bh_log(s_bh));
    free(wider);
}

/* Issue 14 rule 3, the emergency path: the coordinator alone suspends a
   leaking partner; it is audited, and the partner's traffic is refused at
   once. Nobody else can sign one, and it cannot widen anything. */
Test(agreements_identity, an_emergency_revocation_needs_only_the_coordinator_and_cuts_the_partner)
{
    char v3_copy[4400];
    snprintf(v3_copy, sizeof v3_copy, "%s/agreements-v3.yaml", s_bh->root);
    char *v3_text = tu_read_file(s_bh->agreements, NULL);
    cr_assert_not_null(v3_text);
    cr_assert_eq(tu_write_file(v3_copy, v3_text, 0644), 0);
    free(v3_text);
    char *revoked = s_variant("  - {org: politie, role: partner}\n",
                              "  - {org: politie, role: partner, may_send: false, may_receive: "
                              "false}\n");
    const char *nobody[] = {NULL};
    cr_assert_eq(bh_write_agreements(s_bh, revoked, nobody), 0);
    char *out = NULL;
    /* politie cannot sign it as an emergency; the coordinator can */
    cr_assert_neq(s_agreements(&out, "sign", "--config", s_politie->config, "--against", v3_copy,
                               "--yes", "--emergency-revoke", "politie", s_bh->agreements, NULL),
                  0, "%s", out);
    free(out);
    cr_assert_eq(s_agreements(&out, "sign", "--config", s_gemeente->config, "--against", v3_copy,
                              "--yes", "--emergency-revoke", "politie", s_bh->agreements, NULL),
                 0);
    cr_assert(strstr(out, "emergency revocation of politie"), "%s", out);
    free(out);
    bh_signal(s_bh, SIGHUP);
    cr_assert(s_wait_broker_log("event=agreements_emergency_revoke org=politie", 1), "%s",
              bh_log(s_bh));
    char *loaded = s_query_for("agreements_loaded", "emergency_revoke", "politie");
    cr_assert_eq(
        s_lines_with(loaded, "\"reason\":\"emergency_revoke\"", "\"counterpart_org\":\"politie\""),
        1, "%s", loaded);
    free(loaded);

    /* politie's next signal is refused by the broker. */
    char id[33];
    const char *fields[] = {"adres=Passartweg 1", NULL};
    cr_assert_neq(
        dh_send(s_politie, "gemeente", "overlast", "casusoverleg", BSN, fields, NULL, true, id), 0,
        "a suspended partner's signal must not be accepted");
    char *denied = NULL;
    for (int i = 0; i < 50; i++) {
        free(denied);
        denied = s_query("denied");
        if (s_lines_with(denied, "\"actor_org\":\"politie\"", "role_not_allowed") >= 1)
            break;
        usleep(100000);
    }
    cr_assert_geq(s_lines_with(denied, "\"actor_org\":\"politie\"", "role_not_allowed"), 1, "%s",
                  denied);
    free(denied);

    /* A widening dressed as an emergency is refused by the CLI. */
    char *v3_again = tu_read_file(v3_copy, NULL);
    cr_assert_not_null(v3_again);
    char *wider = s_variant_of(v3_again, "    to: [gemeente, welzijn]\n",
                               "    to: [gemeente, welzijn, woonpunt]\n");
    free(v3_again);
    cr_assert_eq(bh_write_agreements(s_bh, wider, nobody), 0);
    cr_assert_neq(s_agreements(&out, "sign", "--config", s_gemeente->config, "--against", v3_copy,
                               "--yes", "--emergency-revoke", "politie", s_bh->agreements, NULL),
                  0, "%s", out);
    free(out);
    free(wider);
    free(revoked);
}

/* The first version a broker enforces must be signed by every partner:
   without, the broker does not start, and says who is missing. */
Test(agreements_identity, a_first_version_not_signed_by_everyone_does_not_start)
{
    const char *orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};
    bh_t *fresh = bh_new(orgs, 4, bh_default_agreements);
    cr_assert_not_null(fresh);
    const char *some[] = {"gemeente", "politie", NULL};
    cr_assert_eq(bh_sign_agreements(fresh, some), 0);
    cr_assert_neq(bh_start(fresh, NULL), 0, "an unsigned first version must not start");
    char *log = bh_log(fresh);
    cr_assert(strstr(log, "must be signed by every partner"), "%s", log);
    cr_assert(strstr(log, "missing: welzijn, woonpunt"), "%s", log);
    free(log);
    cr_assert_eq(bh_sign_agreements(fresh, NULL), 0);
    cr_assert_eq(bh_start(fresh, NULL), 0, "%s", bh_log(fresh));
    bh_destroy(&fresh);
}

/* Issue 14, bad input: a broker that cannot read its agreements history
   does not start, rather than enforce rules nobody signed. */
Test(agreements_identity, an_unreadable_history_keeps_the_broker_from_starting)
{
    bh_stop(s_bh, SIGTERM);
    char *out = NULL;
    cr_assert_eq(bh_query(s_bh,
                          bh_postgresql() ? "UPDATE agreements_history SET sha256 = '\\x00'"
                                          : "UPDATE agreements_history SET sha256 = x'00'",
                          &out),
                 0, "%s", out ? out : "");
    free(out);
    cr_assert_neq(bh_start(s_bh, NULL), 0, "the broker must not start");
    char *log = bh_log(s_bh);
    cr_assert(strstr(log, "cannot read the agreements history"), "%s", log);
    free(log);
}
