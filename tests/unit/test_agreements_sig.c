/*  agreements_sig and agreements_rule: the signed bytes recomputed by hand
    with libsodium (a vector from a fixed seed), the signature file's one
    encoding, every kind of bad input, and the signing rule. */
#include "agreements_rule.h"
#include "agreements_sig.h"

#include "testutil.h"
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_V(version, basis)                                                                     \
    "partnership: p-test\nversion: " version "\ncoordinator: gemeente\npartners:\n"                \
    "  - {org: gemeente, role: coordinator}\n"                                                     \
    "  - {org: politie, role: partner}\n"                                                          \
    "  - {org: welzijn, role: partner}\n"                                                          \
    "  - {org: ggd, role: partner}\n"                                                              \
    "agreements:\n"                                                                                \
    "  - id: a1\n    from: politie\n    to: [gemeente]\n    signal_types: [overlast]\n"            \
    "    fields: [adres]\n    purpose: casusoverleg\n    legal_basis: \"" basis "\"\n"             \
    "    valid_from: 2025-01-01\n    valid_until: 2027-12-31\n"                                    \
    "    retention_days: 180\n    max_queue_days: 7\n"

static agreements_t *s_parse(const char *text)
{
    agreements_t *ag = agreements_parse(text, strlen(text), "t.yaml", NULL);
    cr_assert_not_null(ag);
    return ag;
}

static void s_keys(unsigned char pk[32], unsigned char sk[64], unsigned char fill)
{
    unsigned char seed[crypto_sign_SEEDBYTES];
    memset(seed, fill, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
}

Test(agreements_sig, signed_bytes_recomputed_by_hand)
{
    cr_assert_geq(sodium_init(), 0);
    const char *text = FILE_V("7", "Wpg art. 19");
    agreements_t *ag = s_parse(text);
    unsigned char pk[32], sk[64];
    s_keys(pk, sk, 0x42);
    agreements_sig_t sig;
    cr_assert_eq(agreements_sig_sign(ag, "politie", sk, &sig), 0);

    /* by hand: tag line, then the three lines, hash of the exact bytes */
    unsigned char h[32];
    crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
    char hex[65], msg[512];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    int n = snprintf(msg, sizeof msg,
                     "hartslag/agreements/v1\npartnership p-test\nversion 7\nsha256 %s\n", hex);
    cr_assert_eq(
        crypto_sign_verify_detached(sig.signature, (const unsigned char *)msg, (size_t)n, pk), 0,
        "the signature covers exactly the documented bytes");
    /* Ed25519 is deterministic: the library and a hand-made signature agree */
    unsigned char by_hand[64];
    crypto_sign_detached(by_hand, NULL, (const unsigned char *)msg, (size_t)n, sk);
    cr_assert_eq(memcmp(by_hand, sig.signature, 64), 0);
    /* and without the tag (another domain) it does not verify */
    cr_assert_neq(crypto_sign_verify_detached(sig.signature, (const unsigned char *)msg + 23,
                                              (size_t)n - 23, pk),
                  0);
    char err[AGREEMENTS_SIG_ERR_MAX];
    cr_assert_eq(agreements_sig_verify(&sig, ag, pk, err, sizeof err), 0, "%s", err);
    agreements_destroy(&ag);
}

Test(agreements_sig, file_round_trip_and_one_encoding)
{
    agreements_t *ag = s_parse(FILE_V("7", "Wpg art. 19"));
    unsigned char pk[32], sk[64];
    s_keys(pk, sk, 1);
    agreements_sig_t sig, back;
    cr_assert_eq(agreements_sig_sign(ag, "politie", sk, &sig), 0);
    char text[AGREEMENTS_SIG_FILE_MAX], err[AGREEMENTS_SIG_ERR_MAX];
    size_t len = agreements_sig_format(&sig, text, sizeof text);
    cr_assert_gt(len, 0);
    cr_assert_eq(
        strncmp(text, "hartslag-agreements-signature v1\npartnership p-test\nversion 7\n", 60), 0,
        "%s", text);
    cr_assert_eq(agreements_sig_parse(text, len, &back, err, sizeof err), 0, "%s", err);
    cr_assert_eq(memcmp(&sig, &back, sizeof sig), 0);
    /* every variation of the encoding is refused */
    const char *mutations[][2] = {
        {"version 7", "version 07"},
        {"signer politie", "signer Politie"},
        {"\nsigner", "\r\nsigner"},
        {"sha256 ", "sha256  "},
        {"v1\n", "v2\n"},
        {"partnership p-test", "partnership"},
    };
    for (size_t i = 0; i < sizeof mutations / sizeof mutations[0]; i++) {
        char buf[AGREEMENTS_SIG_FILE_MAX + 16];
        const char *at = strstr(text, mutations[i][0]);
        cr_assert_not_null(at);
        snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - text), text, mutations[i][1],
                 at + strlen(mutations[i][0]));
        agreements_sig_t x;
        memset(&x, 0x5a, sizeof x);
        agreements_sig_t before = x;
        cr_assert_eq(agreements_sig_parse(buf, strlen(buf), &x, err, sizeof err), -1,
                     "accepted mutation %zu", i);
        cr_assert_eq(memcmp(&x, &before, sizeof x), 0, "output untouched on failure");
        cr_assert_neq(err[0], '\0');
    }
    /* upper-case hex is another encoding */
    char upper[AGREEMENTS_SIG_FILE_MAX];
    memcpy(upper, text, len);
    char *s = strstr(upper, "\nsignature ") + 11;
    for (; *s != '\n'; s++)
        if (*s >= 'a' && *s <= 'f')
            *s = (char)(*s - 32);
    cr_assert_eq(agreements_sig_parse(upper, len, &back, err, sizeof err), -1);
    /* trailing text */
    char more[AGREEMENTS_SIG_FILE_MAX + 8];
    snprintf(more, sizeof more, "%sx\n", text);
    cr_assert_eq(agreements_sig_parse(more, strlen(more), &back, err, sizeof err), -1);
    cr_assert(strstr(err, "line 7"), "%s", err);
    agreements_destroy(&ag);
}

Test(agreements_sig, bad_input_each_with_its_reason)
{
    agreements_t *v7 = s_parse(FILE_V("7", "Wpg art. 19"));
    agreements_t *v8 = s_parse(FILE_V("8", "Wpg art. 19"));
    agreements_t *v7b = s_parse(FILE_V("7", "Wpg art. 20"));
    char other_text[2048];
    snprintf(other_text, sizeof other_text, "partnership: elders%s",
             strchr(FILE_V("7", "Wpg art. 19"), '\n'));
    agreements_t *other = s_parse(other_text);
    unsigned char pk[32], sk[64], pk2[32], sk2[64];
    s_keys(pk, sk, 1);
    s_keys(pk2, sk2, 2);
    agreements_sig_t sig;
    char err[AGREEMENTS_SIG_ERR_MAX], text[AGREEMENTS_SIG_FILE_MAX];
    cr_assert_eq(agreements_sig_sign(v7, "politie", sk, &sig), 0);
    size_t len = agreements_sig_format(&sig, text, sizeof text);

    /* truncated, at every length */
    for (size_t cut = 0; cut < len; cut++) {
        agreements_sig_t x;
        cr_assert_eq(agreements_sig_parse(text, cut, &x, err, sizeof err), -1, "cut %zu", cut);
    }
    /* wrong key */
    cr_assert_eq(agreements_sig_verify(&sig, v7, pk2, err, sizeof err), -1);
    cr_assert(strstr(err, "does not verify with politie's sign key"), "%s", err);
    /* another version, another file of the same version, another partnership */
    cr_assert_eq(agreements_sig_verify(&sig, v8, pk, err, sizeof err), -1);
    cr_assert_str_eq(err, "signs version 7, not version 8");
    cr_assert_eq(agreements_sig_verify(&sig, v7b, pk, err, sizeof err), -1);
    cr_assert(strstr(err, "another file of version 7"), "%s", err);
    cr_assert_eq(agreements_sig_verify(&sig, other, pk, err, sizeof err), -1);
    cr_assert_str_eq(err, "signs partnership 'p-test', not 'elders'");
    /* 10 MB and binary garbage */
    size_t big = 10u * 1024 * 1024;
    char *huge = malloc(big);
    cr_assert_not_null(huge);
    memcpy(huge, text, len);
    memset(huge + len, 'a', big - len);
    cr_assert_eq(agreements_sig_parse(huge, big, &sig, err, sizeof err), -1);
    cr_assert(strstr(err, "too large"), "%s", err);
    free(huge);
    const char garbage[] = "\x00\xff\x13\x37hartslag";
    cr_assert_eq(agreements_sig_parse(garbage, sizeof garbage, &sig, err, sizeof err), -1);
    cr_assert(strstr(err, "not a signature file"), "%s", err);
    agreements_destroy(&v7);
    agreements_destroy(&v8);
    agreements_destroy(&v7b);
    agreements_destroy(&other);
}

/* ------------------------------------------------------------------ rule */

static agreements_rule_result_t s_rule(const agreements_t *old_a, const agreements_t *new_a,
                                       const char *const *signers, size_t n, char *required_text)
{
    agreements_diff_t *diff = old_a ? agreements_diff_new(old_a, new_a) : NULL;
    const char *required[16];
    size_t nr = 0;
    agreements_rule_result_t r =
        agreements_rule_check(old_a, new_a, diff, signers, n, required, &nr);
    size_t o = 0;
    required_text[0] = '\0';
    for (size_t i = 0; i < nr; i++)
        o += (size_t)snprintf(required_text + o, 256 - o, "%s%s", i ? "," : "", required[i]);
    agreements_diff_destroy(&diff);
    return r;
}

Test(agreements_rule, coordinator_and_affected_partners)
{
    agreements_t *v7 = s_parse(FILE_V("7", "Wpg art. 19"));
    agreements_t *v8 = s_parse(FILE_V("8", "Wpg art. 20"));
    agreements_t *v7b = s_parse(FILE_V("7", "Wpg art. 20"));
    char req[256];
    const char *none[] = {NULL};
    /* first version: everyone */
    cr_assert_eq(s_rule(NULL, v7, none, 0, req), AGREEMENTS_RULE_MISSING);
    cr_assert_str_eq(req, "gemeente,politie,welzijn,ggd");
    const char *all[] = {"ggd", "welzijn", "politie", "gemeente"};
    cr_assert_eq(s_rule(NULL, v7, all, 4, req), AGREEMENTS_RULE_OK);
    /* a change of a1 (politie -> gemeente): coordinator and politie; not welzijn or ggd */
    cr_assert_eq(s_rule(v7, v8, none, 0, req), AGREEMENTS_RULE_MISSING);
    cr_assert_str_eq(req, "gemeente,politie");
    const char *only_politie[] = {"politie"};
    cr_assert_eq(s_rule(v7, v8, only_politie, 1, req), AGREEMENTS_RULE_MISSING);
    const char *both[] = {"politie", "gemeente"};
    cr_assert_eq(s_rule(v7, v8, both, 2, req), AGREEMENTS_RULE_OK);
    /* downgrade, and the same version with other bytes */
    cr_assert_eq(s_rule(v8, v7, all, 4, req), AGREEMENTS_RULE_ROLLBACK);
    cr_assert_eq(s_rule(v7, v7b, all, 4, req), AGREEMENTS_RULE_ROLLBACK);
    cr_assert_eq(s_rule(v7, v7, none, 0, req), AGREEMENTS_RULE_UNCHANGED);
    agreements_destroy(&v7);
    agreements_destroy(&v8);
    agreements_destroy(&v7b);
}

/* ------------------------------------------------------------ emergency */

/* A partnership whose agreements name politie in three ways. */
#define FILE_E(version, politie_flags, a1_to, a2, alert_notify)                                    \
    "partnership: p-test\nversion: " version "\ncoordinator: gemeente\npartners:\n"                \
    "  - {org: gemeente, role: coordinator}\n"                                                     \
    "  - {org: politie, role: partner" politie_flags "}\n"                                         \
    "  - {org: welzijn, role: partner}\n"                                                          \
    "agreements:\n"                                                                                \
    "  - id: a1\n    from: gemeente\n    to: [" a1_to "]\n    signal_types: [zorg]\n"              \
    "    fields: [datum]\n    purpose: zorgcoordinatie\n    legal_basis: \"x\"\n"                  \
    "    valid_from: 2025-01-01\n    valid_until: 2027-12-31\n"                                    \
    "    retention_days: 180\n    max_queue_days: 7\n" a2                                          \
    "alerts:\n  - id: r1\n    distinct_senders: 2\n    window_days: 30\n    notify: "              \
    "[" alert_notify "]\n    legal_basis: \"y\"\n"

#define A2                                                                                         \
    "  - id: a2\n    from: politie\n    to: [gemeente]\n    signal_types: [overlast]\n"            \
    "    fields: [adres]\n    purpose: casusoverleg\n    legal_basis: \"z\"\n"                     \
    "    valid_from: 2025-01-01\n    valid_until: 2027-12-31\n"                                    \
    "    retention_days: 180\n    max_queue_days: 7\n"

static bool s_emergency(const char *old_text, const char *new_text, const char *want, char *org)
{
    agreements_t *old_a = s_parse(old_text), *new_a = s_parse(new_text);
    agreements_diff_t *diff = agreements_diff_new(old_a, new_a);
    cr_assert_not_null(diff);
    org[0] = '\0';
    bool ok = agreements_rule_emergency(old_a, new_a, diff, want, org, NAMES_ORG_MAX + 1);
    agreements_diff_destroy(&diff);
    agreements_destroy(&old_a);
    agreements_destroy(&new_a);
    return ok;
}

#define RA ", receives_alerts: true"

Test(agreements_rule, emergency_only_takes_permissions_from_one_partner)
{
    const char *v1 = FILE_E("1", RA, "politie, welzijn", A2, "gemeente, politie");
    char org[NAMES_ORG_MAX + 1];
    /* suspension */
    cr_assert(s_emergency(v1,
                          FILE_E("2", RA ", may_send: false, may_receive: false",
                                 "politie, welzijn", A2, "gemeente, politie"),
                          NULL, org));
    cr_assert_str_eq(org, "politie");
    /* its agreement removed, it taken out of a1's recipients and the alert's notify */
    cr_assert(s_emergency(v1, FILE_E("2", RA, "welzijn", "", "gemeente"), "politie", org));
    cr_assert_str_eq(org, "politie");
    /* the whole partner removed with everything naming it */
    const char *gone = "partnership: p-test\nversion: 2\ncoordinator: gemeente\npartners:\n"
                       "  - {org: gemeente, role: coordinator}\n"
                       "  - {org: welzijn, role: partner}\n"
                       "agreements:\n"
                       "  - id: a1\n    from: gemeente\n    to: [welzijn]\n    signal_types: "
                       "[zorg]\n    fields: [datum]\n    purpose: zorgcoordinatie\n    "
                       "legal_basis: \"x\"\n    valid_from: 2025-01-01\n    valid_until: "
                       "2027-12-31\n    retention_days: 180\n    max_queue_days: 7\n"
                       "alerts:\n  - id: r1\n    distinct_senders: 2\n    window_days: 30\n    "
                       "notify: [gemeente]\n    legal_basis: \"y\"\n";
    cr_assert(s_emergency(v1, gone, "politie", org));
    /* never: widening, two partners at once, only the version, another org
       than the one named */
    /* a suspension with an agreement added (a widening) */
    char wider[4096];
    snprintf(wider, sizeof wider, "%s",
             FILE_E("2", RA ", may_send: false", "politie, welzijn",
                    A2 "  - id: a3\n    from: welzijn\n    to: [gemeente]\n    signal_types: "
                       "[zorg]\n    fields: [datum]\n    purpose: zorgcoordinatie\n    "
                       "legal_basis: \"w\"\n    valid_from: 2025-01-01\n    valid_until: "
                       "2027-12-31\n    retention_days: 180\n    max_queue_days: 7\n",
                    "gemeente, politie"));
    cr_assert_not(s_emergency(v1, wider, NULL, org), "widening never takes this path");
    cr_assert_not(
        s_emergency(v1, FILE_E("2", RA ", may_send: false", "politie", A2, "gemeente, politie"),
                    NULL, org),
        "politie suspended and welzijn removed: two partners");
    cr_assert_not(
        s_emergency(v1, FILE_E("2", RA, "politie, welzijn", A2, "gemeente, politie"), NULL, org),
        "only the version number changed");
    cr_assert_not(s_emergency(
        v1, FILE_E("2", RA ", may_send: false", "politie, welzijn", A2, "gemeente, politie"),
        "welzijn", org));
}
