/*  hartslag-broker as its operator meets it: --check, the refusal of a key
    that is not the broker's own, and state files only the broker can read
    (issue 13 D11, D12, D14). */
#include "broker_harness.h"
#include "cert.h"
#include "db.h"
#include "daemon_harness.h"
#include "keyfile.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const s_orgs[] = {"gemeente", "politie", "welzijn"};
static bh_t *s_bh;

static void s_setup(void)
{
    tu_watchdog(60);
    s_bh = bh_new(s_orgs, 3, bh_default_agreements);
    cr_assert(s_bh);
    /* One start writes the configuration the tests run against. */
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
    bh_stop(s_bh, SIGTERM);
}

static void s_teardown(void)
{
    bh_destroy(&s_bh);
}

TestSuite(broker_check, .init = s_setup, .fini = s_teardown);

/* Runs hartslag-broker with `extra` arguments after --config; exit code. */
static int s_broker(char **out, char **err, const char *a1, const char *a2, const char *a3)
{
    char *argv[] = {(char *)tu_bin("hartslag-broker"),
                    "--config",
                    s_bh->config,
                    (char *)a1,
                    (char *)a2,
                    (char *)a3,
                    NULL};
    return tu_run(argv, NULL, out, err);
}

static int s_count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static mode_t s_mode(const char *dir, const char *name)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s is missing", path);
    return st.st_mode & 0777;
}

Test(broker_check, passes_on_a_good_configuration)
{
    char *out = NULL, *err = NULL;
    int rc = s_broker(&out, &err, "--check", NULL, NULL);
    cr_assert_eq(rc, 0, "--check failed: %s%s", out, err);
    /* the three orgs and woonpunt, which the agreements name and which signed them */
    cr_assert(strstr(out, "ok: keys, 4 partner certificates, agreements version"), "%s", out);
    cr_assert_eq(s_count(out, "problem:"), 0, "%s", out);
    free(out);
    free(err);
}

Test(broker_check, reports_every_problem_one_line_each)
{
    /* Two problems at once, from two checks: a partner's key as the
       broker's, and a broken agreements file. */
    char agreements[4300], keys[4300];
    snprintf(agreements, sizeof agreements, "%s/bad-agreements.yaml", s_bh->root);
    cr_assert_eq(tu_write_file(agreements,
                               "partnership: test\nversion: 1\ncoordinator: gemeente\n"
                               "agreements:\n  - id: x\n    from: politie\n    bogus: 1\n"
                               "    to: [nobody-known]\n",
                               0644),
                 0);
    snprintf(keys, sizeof keys, "%s/politie.cert_secret", s_bh->keys);
    char db[4400];
    snprintf(db, sizeof db, "%s/broker.db", s_bh->state);
    tu_rmtree(s_bh->state);
    char *argv[] = {(char *)tu_bin("hartslag-broker"),
                    "--config",
                    s_bh->config,
                    "--keys",
                    keys,
                    "--agreements",
                    agreements,
                    "--check",
                    NULL};
    char *out = NULL, *err = NULL;
    int rc = tu_run(argv, NULL, &out, &err);
    cr_assert_eq(rc, 1, "--check should fail: %s%s", out, err);
    cr_assert(strstr(out, "partner's secret key file (org politie)"), "%s", out);
    cr_assert(strstr(out, "bad-agreements.yaml:"), "agreements problem not named: %s", out);
    cr_assert_geq(s_count(out, "problem:"), 2, "%s", out);
    cr_assert(strstr(out, "problems found; the broker would not start"), "%s", out);
    /* --check never opens the store: a database removed before it stays
       absent. */
    cr_assert_neq(access(db, F_OK), 0, "--check created %s", db);
    free(out);
    free(err);
}

Test(broker_check, refuses_a_partner_secret_as_its_key)
{
    char keys[4300];
    snprintf(keys, sizeof keys, "%s/politie.cert_secret", s_bh->keys);
    char *out = NULL, *err = NULL;
    int rc = s_broker(&out, &err, "--keys", keys, NULL);
    cr_assert_eq(rc, 3, "the broker served with politie's key (exit %d): %s", rc, err);
    cr_assert(strstr(err, "partner's secret key file (org politie)"), "%s", err);
    free(out);
    free(err);
}

Test(broker_check, refuses_a_key_a_partner_certificate_names)
{
    /* A partner certificate that carries the broker's public keys. */
    char path[4300], why[600];
    snprintf(path, sizeof path, "%s/broker.cert_secret", s_bh->keys);
    keyfile_t *keys = keyfile_load(path, why, sizeof why);
    cr_assert(keys, "%s", why);
    cert_t cert;
    memset(&cert, 0, sizeof cert);
    snprintf(cert.org, sizeof cert.org, "rogue");
    snprintf(cert.name, sizeof cert.name, "Rogue partner");
    snprintf(cert.contact, sizeof cert.contact, "rogue@example.org");
    cert.role = CERT_ROLE_PARTNER;
    memcpy(cert.curve_key, keyfile_curve_public(keys), 32);
    memcpy(cert.sign_key, keyfile_sign_public(keys), 32);
    randombytes_buf(cert.box_key, sizeof cert.box_key);
    cert.valid_from = (int64_t)time(NULL) / 86400 - 1;
    cert.valid_until = cert.valid_from + 30;
    keyfile_destroy(&keys);
    snprintf(path, sizeof path, "%s/rogue.cert", s_bh->certs);
    cr_assert_eq(cert_save(&cert, path, why, sizeof why), 0, "%s", why);

    char *out = NULL, *err = NULL;
    int rc = s_broker(&out, &err, NULL, NULL, NULL);
    cr_assert_eq(rc, 3, "the broker served with a partner's key (exit %d): %s", rc, err);
    cr_assert(strstr(err, "also partner rogue's key"), "%s", err);
    free(out);
    free(err);
    rc = s_broker(&out, &err, "--check", NULL, NULL);
    cr_assert_eq(rc, 1);
    cr_assert(strstr(out, "also partner rogue's key"), "%s", out);
    free(out);
    free(err);
}

Test(broker_check, refuses_a_key_beside_a_certificate_that_is_not_a_broker_certificate)
{
    /* The broker's secret, but a partner's certificate where its own
       certificate belongs (X.cert beside X.cert_secret). */
    char src[4300], dir[4300], dst[4400], cert_src[4300], cert_dst[4400];
    snprintf(src, sizeof src, "%s/broker.cert_secret", s_bh->keys);
    snprintf(dir, sizeof dir, "%s/other-keys", s_bh->root);
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(dst, sizeof dst, "%s/hub.cert_secret", dir);
    size_t len = 0;
    char *secret = tu_read_file(src, &len);
    cr_assert(secret);
    cr_assert_eq(tu_write_file(dst, secret, 0600), 0);
    free(secret);
    snprintf(cert_src, sizeof cert_src, "%s/politie.cert", s_bh->certs);
    snprintf(cert_dst, sizeof cert_dst, "%s/hub.cert", dir);
    char *cert = tu_read_file(cert_src, &len);
    cr_assert(cert);
    cr_assert_eq(tu_write_file(cert_dst, cert, 0644), 0);
    free(cert);

    char *out = NULL, *err = NULL;
    int rc = s_broker(&out, &err, "--keys", dst, NULL);
    cr_assert_eq(rc, 3, "the broker served beside a partner certificate (exit %d): %s", rc, err);
    cr_assert(strstr(err, "is a partner certificate (org politie), not a broker certificate"), "%s",
              err);
    free(out);
    free(err);
}

Test(broker_check, state_files_are_private)
{
    /* A database left 0644 by an older broker is narrowed; the WAL the
       broker then writes is 0600 too. */
    char db[4400];
    snprintf(db, sizeof db, "%s/broker.db", s_bh->state);
    cr_assert_eq(chmod(db, 0644), 0);
    cr_assert_eq(bh_start(s_bh, NULL), 0);
    bh_client_t *client = bh_client_new(s_bh, "politie", false);
    cr_assert(client);
    cr_assert_eq(bh_hello(client), 0);
    uint8_t *sealed = NULL, id[16];
    size_t len = 0;
    cr_assert_eq(bh_seal(s_bh, client, "gemeente", "overlast", "casusoverleg", "datum", NULL,
                         &sealed, &len, id),
                 0);
    Hartslag__Frame *answer = bh_submit(client, sealed, len, 5000);
    cr_assert(answer && answer->body_case == HARTSLAG__FRAME__BODY_ACCEPTED);
    hartslag__frame__free_unpacked(answer, NULL);
    free(sealed);
    cr_assert_eq(s_mode(s_bh->state, "broker.db"), 0600);
    cr_assert_eq(s_mode(s_bh->state, "broker.db-wal"), 0600);
    char *log = bh_log(s_bh);
    cr_assert(strstr(log, "event=state_file_narrowed"), "%s", log);
    free(log);
    bh_client_destroy(&client);
    bh_stop(s_bh, SIGTERM);
}

Test(broker_check, a_fresh_broker_and_daemon_create_private_files)
{
    /* A fresh state directory, and a daemon whose old database is 0644. */
    tu_rmtree(s_bh->state);
    cr_assert_eq(bh_start(s_bh, NULL), 0);
    cr_assert_eq(s_mode(s_bh->state, "broker.db"), 0600);
    dh_t *daemon = dh_new(s_bh, "gemeente", NULL, NULL);
    cr_assert(daemon);
    cr_assert_eq(dh_start(daemon), 0);
    dh_stop(daemon, SIGTERM);
    char db[4600];
    snprintf(db, sizeof db, "%s/hartslagd.db", daemon->state);
    cr_assert_eq(chmod(db, 0644), 0);
    cr_assert_eq(dh_start(daemon), 0);
    cr_assert_eq(s_mode(daemon->state, "hartslagd.db"), 0600);
    cr_assert(dh_wait_log(daemon, "event=state_file_narrowed", 5000));
    dh_stop(daemon, SIGTERM);
    dh_destroy(&daemon);
    bh_stop(s_bh, SIGTERM);
}

/* Issue 14 rule 3: before the first start (no store) --check says what the
   start would: a version not signed by every partner is a problem, with who
   is missing; once a version is in force it is a note, as the start then
   judges the change against that version. */
Test(broker_check, names_missing_signatures_before_the_first_start)
{
    const char *coordinator[] = {"gemeente", NULL};
    cr_assert_eq(bh_sign_agreements(s_bh, coordinator), 0);
    char *out = NULL, *err = NULL;
    /* the setup's start made a store: a later start judges against it */
    int rc = s_broker(&out, &err, "--check", NULL, NULL);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    cr_assert(strstr(out, "note: ") && strstr(out, "missing: politie, welzijn, woonpunt"), "%s",
              out);
    free(out);
    free(err);
    /* a fresh state directory: the first start */
    char fresh[4400];
    snprintf(fresh, sizeof fresh, "%s/fresh-state", s_bh->root);
    rc = s_broker(&out, &err, "--check", "--state-dir", fresh);
    cr_assert_neq(rc, 0, "an unsigned first version must be a problem: %s", out);
    cr_assert(strstr(out, "not signed by every partner (missing: politie, welzijn, woonpunt)"),
              "%s", out);
    cr_assert(strstr(out, "the broker would not start"), "%s", out);
    free(out);
    free(err);
}

/* broker.yaml's `store:` (issue 16): a location the broker cannot use is
   a configuration error that names it, before anything is bound. */
Test(broker_check, a_store_it_cannot_use_is_refused_by_name)
{
    char *out = NULL, *err = NULL;
    cr_assert_eq(s_broker(&out, &err, "--set", "store=ftp://127.0.0.1/hartslag", NULL), 3);
    cr_assert(strstr(err, "ftp://127.0.0.1/hartslag"), "%s", err);
    free(out);
    free(err);
    out = err = NULL;
    /* Accepted by the configuration; this build (or an unreachable
       server) cannot open it: the start fails and says where. */
    cr_assert_eq(s_broker(&out, &err, "--set", "store=postgresql://127.0.0.1:1/hartslag", NULL), 3);
    cr_assert(strstr(err, "postgresql://127.0.0.1:1/hartslag"), "%s", err);
    free(out);
    free(err);
}

/* A store written by a newer broker is refused at start, both versions
   named, and left as it was. */
Test(broker_check, a_store_from_a_newer_broker_is_refused)
{
    char location[4300], db_err[256];
    snprintf(location, sizeof location, "sqlite:%s/broker.db", s_bh->state);
    db_t *db = db_open(location, 0, db_err, sizeof db_err);
    cr_assert_not_null(db, "%s", db_err);
    cr_assert_eq(db_exec(db, "UPDATE schema_version SET version = 1000 WHERE component = 'broker'"),
                 0, "%s", db_errmsg(db));
    cr_assert_eq(db_changes(db), 1, "the broker wrote its version row");
    db_close(&db);
    char *out = NULL, *err = NULL;
    cr_assert_eq(s_broker(&out, &err, NULL, NULL, NULL), 3);
    cr_assert(strstr(err, "version 1000"), "%s", err);
    cr_assert(strstr(err, "newer"), "%s", err);
    free(out);
    free(err);
}
