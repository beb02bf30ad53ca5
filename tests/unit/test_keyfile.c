/*  keyfile: secret key files. */
#include "keyfile.h"

#include "testutil.h"
#include "z85.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *s_dir;

static void s_setup(void)
{
    cr_assert(sodium_init() >= 0);
    s_dir = tu_tmpdir();
    cr_assert_not_null(s_dir);
}

static void s_teardown(void)
{
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(keyfile, .init = s_setup, .fini = s_teardown);

static char *s_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    return path;
}

Test(keyfile, save_and_load_round_trip)
{
    char err[600];
    keyfile_t *keys = keyfile_generate("politie", true);
    cr_assert_not_null(keys);
    cr_assert_eq(keyfile_save(keys, s_path("p_secret"), err, sizeof err), 0, "%s", err);
    struct stat st;
    cr_assert_eq(stat(s_path("p_secret"), &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    keyfile_t *back = keyfile_load(s_path("p_secret"), err, sizeof err);
    cr_assert_not_null(back, "%s", err);
    cr_assert_str_eq(keyfile_org(back), "politie");
    cr_assert(keyfile_has_box(back));
    cr_assert_eq(memcmp(keyfile_curve_secret(back), keyfile_curve_secret(keys), 32), 0);
    cr_assert_eq(memcmp(keyfile_sign_secret(back), keyfile_sign_secret(keys), 64), 0);
    cr_assert_eq(memcmp(keyfile_box_secret(back), keyfile_box_secret(keys), 32), 0);
    cr_assert_eq(memcmp(keyfile_box_public(back), keyfile_box_public(keys), 32), 0);
    /* The loaded signing key works. */
    uint8_t sig[64];
    cr_assert_eq(
        crypto_sign_detached(sig, NULL, (const uint8_t *)"m", 1, keyfile_sign_secret(back)), 0);
    cr_assert_eq(
        crypto_sign_verify_detached(sig, (const uint8_t *)"m", 1, keyfile_sign_public(keys)), 0);
    cr_assert_eq(keyfile_save(keys, s_path("p_secret"), err, sizeof err), -1, "must not overwrite");
    keyfile_destroy(&keys);
    keyfile_destroy(&back);
    cr_assert_null(back);
}

Test(keyfile, broker_keys_have_no_box)
{
    char err[600];
    keyfile_t *keys = keyfile_generate("broker", false);
    cr_assert_eq(keyfile_save(keys, s_path("b_secret"), err, sizeof err), 0);
    keyfile_t *back = keyfile_load(s_path("b_secret"), err, sizeof err);
    cr_assert_not_null(back, "%s", err);
    cr_assert_not(keyfile_has_box(back));
    cr_assert_null(keyfile_box_secret(back));
    keyfile_destroy(&keys);
    keyfile_destroy(&back);
    cr_assert_null(keyfile_generate("Not An Org", true));
}

Test(keyfile, refuses_group_or_world_readable_file)
{
    char err[600];
    keyfile_t *keys = keyfile_generate("welzijn", true);
    cr_assert_eq(keyfile_save(keys, s_path("w_secret"), err, sizeof err), 0);
    keyfile_destroy(&keys);
    cr_assert_eq(chmod(s_path("w_secret"), 0644), 0);
    keyfile_t *back = keyfile_load(s_path("w_secret"), err, sizeof err);
    cr_assert_null(back);
    cr_assert(strstr(err, s_path("w_secret")), "message names the file: %s", err);
    cr_assert(strstr(err, "chmod 600"), "message names the fix: %s", err);
    cr_assert(strstr(err, "0644"), "message names the mode: %s", err);
    cr_assert_eq(chmod(s_path("w_secret"), 0640), 0);
    cr_assert_null(keyfile_load(s_path("w_secret"), err, sizeof err));
    cr_assert_eq(chmod(s_path("w_secret"), 0600), 0);
    back = keyfile_load(s_path("w_secret"), err, sizeof err);
    cr_assert_not_null(back, "%s", err);
    keyfile_destroy(&back);
}

static void s_expect_load_error(const char *text, const char *expect)
{
    char err[600] = "";
    cr_assert_eq(tu_write_file(s_path("bad_secret"), text, 0600), 0);
    keyfile_t *keys = keyfile_load(s_path("bad_secret"), err, sizeof err);
    cr_assert_null(keys, "accepted: %s", text);
    cr_assert(strstr(err, expect), "error '%s' lacks '%s'", err, expect);
    remove(s_path("bad_secret"));
}

Test(keyfile, corrupt_or_truncated_files_give_clear_errors)
{
    char err[600];
    keyfile_t *keys = keyfile_generate("ggd", true);
    cr_assert_eq(keyfile_save(keys, s_path("g_secret"), err, sizeof err), 0);
    keyfile_destroy(&keys);
    size_t len = 0;
    char *text = tu_read_file(s_path("g_secret"), &len);
    cr_assert_not_null(text);
    /* Every truncation fails cleanly or (when it cuts only trailing text) loads. */
    for (size_t cut = 0; cut < len; cut++) {
        char *part = strndup(text, cut);
        cr_assert_eq(tu_write_file(s_path("t_secret"), part, 0600), 0);
        keyfile_t *maybe = keyfile_load(s_path("t_secret"), err, sizeof err);
        if (!maybe)
            cr_assert(strstr(err, "t_secret"), "error names the file: %s", err);
        keyfile_destroy(&maybe);
        remove(s_path("t_secret"));
        free(part);
    }
    /* A flipped key character is caught by the public/secret cross-check. */
    char *secret_line = strstr(text, "box\n    public-key = \"");
    cr_assert_not_null(secret_line);
    char *p = secret_line + strlen("box\n    public-key = \"");
    *p = *p == 'a' ? 'b' : 'a';
    s_expect_load_error(text, "does not belong");
    free(text);
    s_expect_load_error("", "metadata/org");
    s_expect_load_error("\x7f\x45\x4c\x46\x02\x01", "control character");
    s_expect_load_error("metadata\n    org = \"x\"\ncurve\n    secret-key = \"short\"\n"
                        "    public-key = \"short\"\n",
                        "not 32-byte Z85");
    s_expect_load_error("metadata\n    org = \"x\"\n", "missing curve");
    cr_assert_null(keyfile_load(s_path("does-not-exist"), err, sizeof err));
    cr_assert(strstr(err, "No such file"));
}

/* The pseudonym service's OPRF key (issue 17). */
Test(keyfile, oprf_key_round_trip_mode_and_corruption)
{
    char err[600], org[33];
    uint8_t pk[32], pk2[32], back[32], sk[32];
    uint32_t version = 0;
    cr_assert_eq(keyfile_oprf_generate(s_path("o1"), "ttp", 3, pk, err, sizeof err), 0, "%s", err);
    struct stat st;
    cr_assert_eq(stat(s_path("o1"), &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(keyfile_oprf_load(s_path("o1"), sk, back, &version, org, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(memcmp(pk, back, 32), 0);
    cr_assert_eq(version, 3);
    cr_assert_str_eq(org, "ttp");
    uint8_t derived[32];
    cr_assert_eq(crypto_scalarmult_ristretto255_base(derived, sk), 0);
    cr_assert_eq(memcmp(derived, pk, 32), 0, "the secret is not the public key's");
    cr_assert_eq(keyfile_oprf_load(s_path("o1"), NULL, back, &version, NULL, err, sizeof err), 0);
    /* Random, never overwritten, version in range. */
    cr_assert_eq(keyfile_oprf_generate(s_path("o2"), "ttp", 1, pk2, err, sizeof err), 0);
    cr_assert_neq(memcmp(pk, pk2, 32), 0);
    cr_assert_eq(keyfile_oprf_generate(s_path("o1"), "ttp", 1, pk2, err, sizeof err), -1);
    cr_assert_eq(keyfile_oprf_generate(s_path("o3"), "ttp", 0, pk2, err, sizeof err), -1);
    /* Group- or other-readable: refused with the fix. */
    cr_assert_eq(chmod(s_path("o1"), 0640), 0);
    cr_assert_eq(keyfile_oprf_load(s_path("o1"), sk, back, &version, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "chmod 600"), "%s", err);
    /* A public key that is not the secret's, a bad version, another file kind. */
    char pkz[41], skz[41], text[1024];
    uint8_t other[32];
    crypto_core_ristretto255_scalar_random(other);
    z85_encode(skz, other, 32);
    z85_encode(pkz, pk, 32);
    snprintf(text, sizeof text,
             "metadata\n    org = \"ttp\"\n    version = \"1\"\noprf\n    public-key = \"%s\"\n"
             "    secret-key = \"%s\"\n",
             pkz, skz);
    cr_assert_eq(tu_write_file(s_path("o4"), text, 0600), 0);
    cr_assert_eq(keyfile_oprf_load(s_path("o4"), sk, back, &version, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "does not belong"), "%s", err);
    cr_assert_null(strstr(err, skz), "the error quotes the secret");
    snprintf(text, sizeof text,
             "metadata\n    org = \"ttp\"\n    version = \"0\"\noprf\n    public-key = \"%s\"\n"
             "    secret-key = \"%s\"\n",
             pkz, skz);
    cr_assert_eq(tu_write_file(s_path("o5"), text, 0600), 0);
    cr_assert_eq(keyfile_oprf_load(s_path("o5"), sk, back, &version, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "version"), "%s", err);
    /* A zero scalar is no key. */
    uint8_t zero[32] = {0};
    z85_encode(skz, zero, 32);
    snprintf(text, sizeof text,
             "metadata\n    org = \"ttp\"\n    version = \"1\"\noprf\n    public-key = \"%s\"\n"
             "    secret-key = \"%s\"\n",
             pkz, skz);
    cr_assert_eq(tu_write_file(s_path("o6"), text, 0600), 0);
    cr_assert_eq(keyfile_oprf_load(s_path("o6"), sk, back, &version, NULL, err, sizeof err), -1);
    /* A retired pseudonym key file is not an OPRF key file. */
    cr_assert_eq(
        tu_write_file(s_path("pk"),
                      "pseudonym\n    key = \"0000000000000000000000000000000000000000\"\n", 0600),
        0);
    cr_assert_eq(keyfile_oprf_load(s_path("pk"), sk, back, &version, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "not an OPRF key file"), "%s", err);
}
