/*  hartslag keys: the key tooling as an operator uses it. */
#include "keyfile.h"
#include "testutil.h"
#include "z85.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *s_dir;

static void s_setup(void)
{
    tu_watchdog(30);
    cr_assert(sodium_init() >= 0);
    s_dir = tu_tmpdir();
}

static void s_teardown(void)
{
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(cli_keys, .init = s_setup, .fini = s_teardown);

/* Runs `hartslag ARGS... NULL`; returns the exit code, output in *out / *err. */
static int s_hartslag(char **out, char **err, ...)
{
    char *argv[32] = {(char *)tu_bin("hartslag")};
    va_list args;
    va_start(args, err);
    for (int i = 1; i < 31 && (argv[i] = va_arg(args, char *)) != NULL; i++)
        ;
    va_end(args);
    return tu_run(argv, NULL, out, err);
}

#define HARTSLAG(out, err, ...) s_hartslag(out, err, __VA_ARGS__, (char *)NULL)

static void s_init(const char *org, const char *role)
{
    char *out = NULL, *err = NULL;
    int rc = HARTSLAG(&out, &err, "keys", "init", "--org", org, "--name", "Gemeente Heerlen",
                      "--role", role, "--contact", "wijkregie@heerlen.example", "--out", s_dir);
    cr_assert_eq(rc, 0, "keys init failed: %s", err);
    cr_assert(strstr(out, "fingerprint:"));
    free(out);
    free(err);
}

static char *s_path(const char *name)
{
    static char path[4][4096];
    static int next;
    char *slot = path[next++ % 4];
    snprintf(slot, 4096, "%s/%s", s_dir, name);
    return slot;
}

Test(cli_keys, init_writes_a_0600_secret_and_a_public_certificate)
{
    s_init("gemeente", "coordinator");
    struct stat st;
    cr_assert_eq(stat(s_path("gemeente.cert_secret"), &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(stat(s_path("gemeente.cert"), &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0644);
    /* Refuses to overwrite existing keys. */
    char *out = NULL, *err = NULL;
    int rc = HARTSLAG(&out, &err, "keys", "init", "--org", "gemeente", "--name", "X", "--role",
                      "partner", "--contact", "c", "--out", s_dir);
    cr_assert_eq(rc, 1);
    cr_assert(strstr(err, "remove it first"), "%s", err);
    free(out);
    free(err);
}

Test(cli_keys, show_prints_public_information_and_never_a_secret)
{
    s_init("politie", "partner");
    char err_text[600];
    keyfile_t *keys = keyfile_load(s_path("politie.cert_secret"), err_text, sizeof err_text);
    cr_assert_not_null(keys, "%s", err_text);
    const uint8_t *secrets[3] = {keyfile_curve_secret(keys), keyfile_sign_secret(keys),
                                 keyfile_box_secret(keys)};
    const char *files[2] = {s_path("politie.cert"), s_path("politie.cert_secret")};
    for (int f = 0; f < 2; f++) {
        char *out = NULL, *err = NULL;
        cr_assert_eq(HARTSLAG(&out, &err, "keys", "show", files[f]), 0, "%s", err);
        cr_assert(strstr(out, "politie"));
        char public_z85[41];
        z85_encode(public_z85, keyfile_curve_public(keys), 32);
        cr_assert(strstr(out, public_z85), "public key shown");
        for (int k = 0; k < 3; k++) {
            char z85[41], hex[65];
            z85_encode(z85, secrets[k], 32);
            sodium_bin2hex(hex, sizeof hex, secrets[k], 32);
            cr_assert_null(strstr(out, z85), "secret key in Z85 leaked");
            cr_assert_null(strstr(out, hex), "secret key in hex leaked");
            cr_assert_null(strstr(err, z85));
        }
        /* The full 64-byte signing secret in hex, too. */
        char hex64[129];
        sodium_bin2hex(hex64, sizeof hex64, secrets[1], 64);
        cr_assert_null(strstr(out, hex64));
        free(out);
        free(err);
    }
    keyfile_destroy(&keys);
}

Test(cli_keys, show_refuses_a_world_readable_secret_file)
{
    s_init("welzijn", "partner");
    cr_assert_eq(chmod(s_path("welzijn.cert_secret"), 0644), 0);
    char *out = NULL, *err = NULL;
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "show", s_path("welzijn.cert_secret")), 1);
    cr_assert(strstr(err, "chmod 600"), "%s", err);
    free(out);
    free(err);
}

Test(cli_keys, verify_reports_every_problem)
{
    s_init("gemeente", "coordinator");
    s_init("politie", "partner");
    char *out = NULL, *err = NULL;
    /* Secret files in the directory are skipped (zcertstore does the same). */
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "verify", s_dir), 0, "%s%s", out, err);
    cr_assert(strstr(out, "2 valid certificate(s)"), "%s", out);
    free(out);
    free(err);
    cr_assert_eq(tu_write_file(s_path("broken.cert"), "metadata\n    org = \"Bad Org\"\n", 0644),
                 0);
    cr_assert_eq(tu_write_file(s_path("garbage.cert"), "\x01\x02\x03", 0644), 0);
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "verify", s_dir), 1);
    cr_assert(strstr(out, "broken.cert"), "%s", out);
    cr_assert(strstr(out, "garbage.cert"), "%s", out);
    cr_assert(strstr(out, "NOT usable (2 error(s)"), "%s", out);
    free(out);
    free(err);
}

Test(cli_keys, broker_and_pseudonym_keys)
{
    char *out = NULL, *err = NULL;
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "broker", "--out", s_dir), 0, "%s", err);
    free(out);
    free(err);
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "show", s_path("broker.cert")), 0, "%s", err);
    cr_assert(strstr(out, "role:         broker"), "%s", out);
    cr_assert_null(strstr(out, "box key"));
    free(out);
    free(err);
    /* Issue 17: the shared pseudonym key is retired. */
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "pseudonym-key", "--out", s_path("pseudonym.key")),
                 2);
    cr_assert(strstr(err, "pseudonym-service"), "%s", err);
    free(out);
    free(err);
    struct stat st;
    cr_assert_neq(stat(s_path("pseudonym.key"), &st), 0, "nothing written");
    /* An old one is recognised (to be deleted), its value never shown. */
    uint8_t key[32];
    randombytes_buf(key, sizeof key);
    char hex[65], z85[41], text[200];
    sodium_bin2hex(hex, sizeof hex, key, 32);
    z85_encode(z85, key, 32);
    snprintf(text, sizeof text, "pseudonym\n    key = \"%s\"\n", z85);
    cr_assert_eq(tu_write_file(s_path("pseudonym.key"), text, 0600), 0);
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "show", s_path("pseudonym.key")), 0);
    cr_assert(strstr(out, "delete every copy"), "%s", out);
    cr_assert(strstr(out, "never shown"));
    cr_assert_null(strstr(out, hex));
    cr_assert_null(strstr(out, z85));
    free(out);
    free(err);
}

Test(cli_keys, usage_errors_exit_2)
{
    char *out = NULL, *err = NULL;
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "init", "--org", "x"), 2);
    free(out);
    free(err);
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "init", "--org", "Bad Org", "--name", "n", "--role",
                          "partner", "--contact", "c", "--out", s_dir),
                 2);
    free(out);
    free(err);
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "frobnicate"), 2);
    free(out);
    free(err);
    cr_assert_eq(HARTSLAG(&out, &err, "nonsense"), 2);
    free(out);
    free(err);
    cr_assert_eq(HARTSLAG(&out, &err, "--version"), 0);
    cr_assert(strstr(out, "hartslag "));
    free(out);
    free(err);
}

/* Keys for `org` with the given validity (dates YYYY-MM-DD). */
static void s_init_dated(const char *org, const char *from, const char *until)
{
    char *out = NULL, *err = NULL;
    int rc = HARTSLAG(&out, &err, "keys", "init", "--org", org, "--name", "Test", "--role",
                      "partner", "--contact", "c@example.org", "--valid-from", from,
                      "--valid-until", until, "--out", s_dir);
    cr_assert_eq(rc, 0, "keys init failed: %s", err);
    free(out);
    free(err);
}

/* A date `days` from today, YYYY-MM-DD (UTC, as certificates count). */
static const char *s_date(int days)
{
    static char buf[4][16];
    static int next;
    char *slot = buf[next++ % 4];
    time_t t = time(NULL) + (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(slot, 16, "%Y-%m-%d", &tm);
    return slot;
}

/* Issue 13 C9: an expired certificate fails verify, one ending soon warns. */
Test(cli_keys, verify_fails_on_an_expired_certificate)
{
    s_init("gemeente", "coordinator");
    s_init_dated("politie", "2020-01-01", "2020-12-31");
    char *out = NULL, *err = NULL;
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "verify", s_dir), 1, "%s%s", out, err);
    cr_assert(strstr(out, "expired on 2020-12-31"), "%s", out);
    cr_assert(strstr(out, "NOT usable"), "%s", out);
    free(out);
    free(err);
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "verify", "--json", s_dir), 1, "%s%s", out, err);
    cr_assert(strstr(out, "\"usable\":false"), "%s", out);
    cr_assert(strstr(out, "\"state\":\"expired\""), "%s", out);
    free(out);
    free(err);
}

Test(cli_keys, verify_fails_on_a_certificate_not_yet_valid_unless_it_is_a_successor)
{
    s_init("gemeente", "coordinator");
    s_init_dated("politie", s_date(10), s_date(400));
    char *out = NULL, *err = NULL;
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "verify", s_dir), 1, "%s%s", out, err);
    cr_assert(strstr(out, "not yet valid"), "%s", out);
    free(out);
    free(err);
    /* A rotation: the current certificate beside its successor is fine. */
    char mv[4096];
    snprintf(mv, sizeof mv, "%s/politie-next.cert", s_dir);
    cr_assert_eq(rename(s_path("politie.cert"), mv), 0);
    cr_assert_eq(unlink(s_path("politie.cert_secret")), 0);
    s_init_dated("politie", s_date(-100), s_date(9));
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "verify", s_dir), 0, "%s%s", out, err);
    free(out);
    free(err);
}

Test(cli_keys, verify_warns_about_a_certificate_expiring_within_30_days)
{
    s_init("gemeente", "coordinator");
    s_init_dated("politie", s_date(-300), s_date(18));
    char *out = NULL, *err = NULL;
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "verify", s_dir), 0, "%s%s", out, err);
    cr_assert(strstr(out, "warning:") && strstr(out, "in 18 day(s)"), "%s", out);
    cr_assert(strstr(out, "1 warning(s)"), "%s", out);
    free(out);
    free(err);
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "verify", "--json", s_dir), 0, "%s%s", out, err);
    cr_assert(strstr(out, "\"expiring_within_30_days\":1"), "%s", out);
    cr_assert(strstr(out, "\"expires_within_30_days\":true"), "%s", out);
    cr_assert(strstr(out, "\"days_left\":18"), "%s", out);
    free(out);
    free(err);
}

/* Issue 17: the pseudonym service's keys (certificate with the OPRF public
   key, two 0600 secret files) and an officer's. */
Test(cli_keys, pseudonym_service_and_officer_keys)
{
    char *out = NULL, *err = NULL;
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "pseudonym-service", "--org", "ttp", "--out", s_dir,
                          "--key-version", "3", "--contact", "ttp@example.org"),
                 0, "%s", err);
    cr_assert(strstr(out, "version 3"), "%s", out);
    free(out);
    free(err);
    struct stat st;
    cr_assert_eq(stat(s_path("ttp.cert_secret"), &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(stat(s_path("ttp.oprf_secret"), &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(stat(s_path("ttp.cert"), &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0644);

    /* The certificate holds the public element of the secret file. */
    uint8_t *sk = sodium_malloc(32), pk[32], derived[32];
    uint32_t version = 0;
    char why[600];
    cr_assert_eq(
        keyfile_oprf_load(s_path("ttp.oprf_secret"), sk, pk, &version, NULL, why, sizeof why), 0,
        "%s", why);
    cr_assert_eq(version, 3);
    cr_assert_eq(crypto_scalarmult_ristretto255_base(derived, sk), 0);
    cr_assert_eq(memcmp(derived, pk, 32), 0);
    char pk_z85[41], sk_z85[41], sk_hex[65];
    z85_encode(pk_z85, pk, 32);
    z85_encode(sk_z85, sk, 32);
    sodium_bin2hex(sk_hex, sizeof sk_hex, sk, 32);
    sodium_free(sk);
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "show", s_path("ttp.cert")), 0, "%s", err);
    cr_assert(strstr(out, "role:         pseudonym-service"), "%s", out);
    cr_assert(strstr(out, pk_z85), "%s", out);
    cr_assert(strstr(out, "oprf version: 3"), "%s", out);
    cr_assert_null(strstr(out, "box key"));
    free(out);
    free(err);

    /* show on the OPRF secret: version and public key, never the scalar. */
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "show", s_path("ttp.oprf_secret")), 0, "%s", err);
    cr_assert(strstr(out, "oprf version: 3"), "%s", out);
    cr_assert(strstr(out, pk_z85), "%s", out);
    cr_assert_null(strstr(out, sk_z85));
    cr_assert_null(strstr(out, sk_hex));
    free(out);
    free(err);
    cr_assert_eq(chmod(s_path("ttp.oprf_secret"), 0644), 0);
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "show", s_path("ttp.oprf_secret")), 1);
    cr_assert(strstr(err, "chmod 600"), "%s", err);
    cr_assert_null(strstr(err, sk_z85));
    free(out);
    free(err);

    /* Never overwritten; the failed run leaves no half key set. */
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "pseudonym-service", "--org", "ttp", "--out", s_dir),
                 1);
    free(out);
    free(err);

    /* An officer: keys like a partner's, role officer. */
    s_init("fg-gemeente", "officer");
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "show", s_path("fg-gemeente.cert")), 0, "%s", err);
    cr_assert(strstr(out, "role:         officer"), "%s", out);
    free(out);
    free(err);

    /* Usage errors: bad version, a service role through init, a version for init. */
    const char *bad[] = {"0", "2147483649", "x", "-1", "01"};
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(HARTSLAG(&out, &err, "keys", "pseudonym-service", "--org", "ttp2", "--out",
                              s_dir, "--key-version", bad[i]),
                     2, "accepted version %s", bad[i]);
        free(out);
        free(err);
    }
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "init", "--org", "x", "--name", "n", "--role",
                          "pseudonym-service", "--contact", "c", "--out", s_dir),
                 2);
    free(out);
    free(err);
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "init", "--org", "x", "--name", "n", "--role",
                          "partner", "--contact", "c", "--out", s_dir, "--key-version", "2"),
                 2);
    free(out);
    free(err);
    struct stat none;
    cr_assert_neq(stat(s_path("ttp2.oprf_secret"), &none), 0);
}
