/*  partners: loading a certificate directory, and lookups. */
#include "partners.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *s_dir;
static int64_t s_now_ms;

static void s_setup(void)
{
    cr_assert(sodium_init() >= 0);
    s_dir = tu_tmpdir();
    s_now_ms = (int64_t)time(NULL) * 1000;
}

static void s_teardown(void)
{
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(partners, .init = s_setup, .fini = s_teardown);

static cert_t s_write(const char *file, const char *org, cert_role_t role, int64_t from_off,
                      int64_t until_off)
{
    cert_t cert;
    memset(&cert, 0, sizeof cert);
    snprintf(cert.org, sizeof cert.org, "%s", org);
    snprintf(cert.name, sizeof cert.name, "Org %s", org);
    snprintf(cert.contact, sizeof cert.contact, "info@%s.example", org);
    cert.role = role;
    randombytes_buf(cert.curve_key, 32);
    randombytes_buf(cert.sign_key, 32);
    randombytes_buf(cert.box_key, 32);
    int64_t today = s_now_ms / 86400000;
    cert.valid_from = today + from_off;
    cert.valid_until = today + until_off;
    char path[4096], err[600];
    snprintf(path, sizeof path, "%s/%s", s_dir, file);
    cr_assert_eq(cert_save(&cert, path, err, sizeof err), 0, "%s", err);
    return cert;
}

typedef struct {
    int errors, warnings;
    char last[1024];
    char last_file[4096];
} tally_t;

static void s_report(void *arg, const char *file, bool is_error, const char *message)
{
    tally_t *tally = arg;
    is_error ? tally->errors++ : tally->warnings++;
    snprintf(tally->last, sizeof tally->last, "%s", message);
    snprintf(tally->last_file, sizeof tally->last_file, "%s", file);
}

Test(partners, loads_and_looks_up_by_org_and_key)
{
    cert_t gemeente = s_write("gemeente.cert", "gemeente", CERT_ROLE_COORDINATOR, -10, 700);
    cert_t politie = s_write("politie.cert", "politie", CERT_ROLE_PARTNER, -10, 700);
    s_write("welzijn.cert", "welzijn", CERT_ROLE_PARTNER, -10, 700);
    cr_assert_eq(tu_write_file("/dev/null", "", 0644) == 0 || 1, 1);
    char path[4096];
    snprintf(path, sizeof path, "%s/politie.cert_secret", s_dir);
    cr_assert_eq(tu_write_file(path, "not a certificate", 0600), 0); /* ignored */
    tally_t tally = {0};
    char err[4800];
    partners_t *partners = partners_load(s_dir, s_now_ms, s_report, &tally, err, sizeof err);
    cr_assert_not_null(partners, "%s", err);
    cr_assert_eq(partners_count(partners), 3);
    cr_assert_eq(tally.errors + tally.warnings, 0);
    const cert_t *hit = partners_by_org(partners, "politie");
    cr_assert_not_null(hit);
    cr_assert_eq(memcmp(hit->curve_key, politie.curve_key, 32), 0);
    hit = partners_by_curve_key(partners, gemeente.curve_key);
    cr_assert_not_null(hit);
    cr_assert_str_eq(hit->org, "gemeente");
    cr_assert_eq(hit->role, CERT_ROLE_COORDINATOR);
    cr_assert_not_null(partners_by_org_n(partners, "welzijnXYZ", 7));
    cr_assert_null(partners_by_org(partners, "ggd"));
    cr_assert_null(partners_by_org(partners, "politi"));
    cr_assert_null(partners_by_org(partners, "politiee"));
    uint8_t unknown[32] = {0};
    cr_assert_null(partners_by_curve_key(partners, unknown));
    partners_destroy(&partners);
    cr_assert_null(partners);
}

Test(partners, skips_expired_and_future_certificates_with_a_warning)
{
    s_write("a.cert", "gemeente", CERT_ROLE_COORDINATOR, -10, 700);
    s_write("old.cert", "politie", CERT_ROLE_PARTNER, -400, -1);
    s_write("new.cert", "welzijn", CERT_ROLE_PARTNER, 1, 700);
    tally_t tally = {0};
    char err[4800];
    partners_t *partners = partners_load(s_dir, s_now_ms, s_report, &tally, err, sizeof err);
    cr_assert_not_null(partners, "%s", err);
    cr_assert_eq(partners_count(partners), 1);
    cr_assert_eq(tally.warnings, 2);
    cr_assert(strstr(tally.last, "not valid today"));
    partners_destroy(&partners);
}

Test(partners, rotation_without_overlap_is_fine_overlap_is_an_error)
{
    s_write("p1.cert", "politie", CERT_ROLE_PARTNER, -400, -1);
    s_write("p2.cert", "politie", CERT_ROLE_PARTNER, 0, 700);
    tally_t tally = {0};
    char err[4800];
    partners_t *partners = partners_load(s_dir, s_now_ms, s_report, &tally, err, sizeof err);
    cr_assert_not_null(partners, "%s", err);
    cr_assert_eq(partners_count(partners), 1);
    partners_destroy(&partners);
    s_write("p3.cert", "politie", CERT_ROLE_PARTNER, 100, 800);
    memset(&tally, 0, sizeof tally);
    partners = partners_load(s_dir, s_now_ms, s_report, &tally, err, sizeof err);
    cr_assert_null(partners);
    cr_assert_eq(tally.errors, 1);
    cr_assert(strstr(err, "overlapping validity"), "%s", err);
}

Test(partners, malformed_or_unknown_role_fails_the_whole_directory)
{
    s_write("ok.cert", "gemeente", CERT_ROLE_COORDINATOR, -10, 700);
    char path[4096], err[4800];
    snprintf(path, sizeof path, "%s/broken.cert", s_dir);
    cr_assert_eq(tu_write_file(path, "metadata\n    org = \"x\"\n    role = \"chief\"\n", 0644), 0);
    tally_t tally = {0};
    cr_assert_null(partners_load(s_dir, s_now_ms, s_report, &tally, err, sizeof err));
    cr_assert(strstr(err, "broken.cert"), "%s", err);
    cr_assert(strstr(err, "malformed"), "%s", err);
    cr_assert_null(partners_load("/nonexistent-dir", s_now_ms, NULL, NULL, err, sizeof err));
    cr_assert(strstr(err, "cannot open certificate directory"));
}

/* A symbolic link in the directory (stat follows it, the O_NOFOLLOW open
   refuses it) is skipped with a line naming it; the rest loads (issue 18
   13b: it used to fail the whole directory). */
Test(partners, symlinked_certificate_is_refused_by_name_and_the_rest_loads)
{
    s_write("gemeente.cert", "gemeente", CERT_ROLE_COORDINATOR, -10, 700);
    char store[4096], link[4096], dangling[4096], err[4800];
    snprintf(store, sizeof store, "%s/store", s_dir);
    cr_assert_eq(mkdir(store, 0700), 0);
    s_write("store/politie.cert", "politie", CERT_ROLE_PARTNER, -10, 700);
    snprintf(store, sizeof store, "%s/store/politie.cert", s_dir);
    snprintf(link, sizeof link, "%s/politie.cert", s_dir);
    cr_assert_eq(symlink(store, link), 0);
    tally_t tally = {0};
    partners_t *partners = partners_load(s_dir, s_now_ms, s_report, &tally, err, sizeof err);
    cr_assert_not_null(partners, "one symlink failed the directory: %s", err);
    cr_assert_eq(partners_count(partners), 1);
    cr_assert_not_null(partners_by_org(partners, "gemeente"));
    cr_assert_null(partners_by_org(partners, "politie"), "the link was followed");
    cr_assert_eq(tally.errors, 0);
    cr_assert_eq(tally.warnings, 1);
    cr_assert_str_eq(tally.last_file, link);
    cr_assert(strstr(tally.last, "symbolic link"), "%s", tally.last);
    partners_destroy(&partners);

    /* A dangling link is reported the same way. */
    snprintf(dangling, sizeof dangling, "%s/ggd.cert", s_dir);
    cr_assert_eq(symlink("/nonexistent/ggd.cert", dangling), 0);
    memset(&tally, 0, sizeof tally);
    partners = partners_load(s_dir, s_now_ms, s_report, &tally, err, sizeof err);
    cr_assert_not_null(partners, "%s", err);
    cr_assert_eq(partners_count(partners), 1);
    cr_assert_eq(tally.warnings, 2);
    partners_destroy(&partners);
}

Test(partners, duplicate_curve_key_is_an_error)
{
    cert_t a = s_write("a.cert", "gemeente", CERT_ROLE_COORDINATOR, -10, 700);
    partners_t *partners = partners_new();
    cr_assert_eq(partners_add(partners, &a), 0);
    cr_assert_eq(partners_add(partners, &a), -1);
    cert_t b = a;
    snprintf(b.org, sizeof b.org, "other");
    cr_assert_eq(partners_add(partners, &b), -1, "same CURVE key under another org");
    cr_assert_eq(partners_count(partners), 1);
    cr_assert_null(partners_at(partners, 1));
    partners_destroy(&partners);
}

Test(partners, many_partners_sorted_lookup)
{
    partners_t *partners = partners_new();
    cert_t certs[300];
    for (int i = 0; i < 300; i++) {
        memset(&certs[i], 0, sizeof certs[i]);
        snprintf(certs[i].org, sizeof certs[i].org, "org-%d", (i * 7919) % 1000);
        randombytes_buf(certs[i].curve_key, 32);
        cr_assert_eq(partners_add(partners, &certs[i]), 0);
    }
    for (int i = 0; i < 300; i++) {
        cr_assert_eq(partners_by_org(partners, certs[i].org),
                     partners_by_curve_key(partners, certs[i].curve_key));
    }
    partners_destroy(&partners);
}

/* Issue 17: an officer's certificate in the directory is no partner: the
   broker must not admit its key, nor a daemon address a signal to it. */
Test(partners, officer_certificates_are_skipped_without_a_problem)
{
    s_write("gemeente.cert", "gemeente", CERT_ROLE_COORDINATOR, -10, 700);
    cert_t fg = s_write("fg.cert", "fg-gemeente", CERT_ROLE_OFFICER, -10, 700);
    tally_t tally = {0};
    char err[600];
    partners_t *p = partners_load(s_dir, s_now_ms, s_report, &tally, err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    cr_assert_eq(tally.errors, 0);
    cr_assert_not_null(partners_by_org(p, "gemeente"));
    cr_assert_null(partners_by_org(p, "fg-gemeente"));
    cr_assert_null(partners_by_curve_key(p, fg.curve_key));
    partners_destroy(&p);
}
