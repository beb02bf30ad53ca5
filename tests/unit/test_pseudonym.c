/*  Tests for lib/pseudonym: known answers from an independent BLAKE2b,
    BSN elfproef, address and case normalisation, and error texts that never
    echo the identifier. */
#include <criterion/criterion.h>
#include <string.h>

#include "pseudonym.h"

/* Known-answer vectors, computed with Python's hashlib (independent of
   libsodium):

   python3 - <<'EOF'
   import hashlib
   def ps(key, kind, norm):
       msg = b"hartslag/subject/v1\x00" + kind.encode() + b"\x00" + norm.encode()
       return hashlib.blake2b(msg, key=key, digest_size=32).hexdigest()
   k1 = bytes(range(32)); k2 = b"\x42" * 32
   for key in (k1, k2):
       for kind, norm in (("bsn", "111222333"), ("bsn", "123456782"),
                          ("address", "6411AB 12 A"), ("address", "1234AB 1"),
                          ("case", "ZK-2025/001")):
           print(kind, norm, ps(key, kind, norm))
   EOF
*/
typedef struct {
    int key; /* 1: bytes 0..31, 2: 0x42 * 32 */
    pseudonym_kind_t kind;
    const char *input; /* as a partner would type it */
    const char *hex;   /* expected pseudonym */
} kat_t;

static const kat_t s_kats[] = {
    {1, PSEUDONYM_BSN, "111222333",
     "bde1d1a406158dfd637e000301f9f0bb9b97ed1fa48d113cad46ae0ed20942ae"},
    {1, PSEUDONYM_BSN, "1234.56.782",
     "29b128607bb1305d6000a6300ab5bb2beff241c3b56cc48dd9aa4b2be23325b5"},
    {1, PSEUDONYM_ADDRESS, "6411 AB 12a",
     "ecb04aeb24208ebdc5543812cabac663c9661a7edb195aae3ee0449af8381c2a"},
    {1, PSEUDONYM_ADDRESS, "1234ab 1",
     "41406850e2b22085e12f4583837d91544ceece336c8baabb4b9fd467fe36a6f7"},
    {1, PSEUDONYM_CASE, "zk-2025/001",
     "782bedc1eedab194b423bed09c3d69908ca119693da7ee8e284342a1d03da11b"},
    {2, PSEUDONYM_BSN, "111 222 333",
     "284644ceca80c9f1402619b12dbb210bd95f8bf19e5fca5ecbb4c3c5ca7fa820"},
    {2, PSEUDONYM_BSN, "123456782",
     "b4a987a9729251241f06d96371ecc0abdee52ed6f2bc7b99c969135681c0c665"},
    {2, PSEUDONYM_ADDRESS, "6411ab 12 A",
     "2a37cce08f7c230c4f0cb9bcc272d9334d67c8bcc1c05c4e0d9dda9d55df1617"},
    {2, PSEUDONYM_ADDRESS, "1234 AB 0001",
     "34a4755549fa355589872202cd3b71931cc693981d9080cac8e642205b5f344f"},
    {2, PSEUDONYM_CASE, "  ZK-2025/001 ",
     "47824443d6d4a588aeab87191898d72d8b0ccceb6a4ceabbce878b520c1ee9cc"},
};

static void s_key(int which, unsigned char key[PSEUDONYM_KEYBYTES])
{
    for (size_t i = 0; i < PSEUDONYM_KEYBYTES; i++)
        key[i] = which == 1 ? (unsigned char)i : 0x42;
}

Test(pseudonym, known_answers)
{
    for (size_t i = 0; i < sizeof s_kats / sizeof s_kats[0]; i++) {
        unsigned char key[PSEUDONYM_KEYBYTES], out[PSEUDONYM_BYTES];
        char hex[PSEUDONYM_HEXBYTES];
        const char *error = NULL;
        s_key(s_kats[i].key, key);
        cr_assert_eq(pseudonym_derive(key, s_kats[i].kind, s_kats[i].input, out, &error), 0,
                     "vector %zu: %s", i, error ? error : "");
        pseudonym_to_hex(out, hex);
        cr_expect_str_eq(hex, s_kats[i].hex, "vector %zu", i);
    }
}

Test(pseudonym, same_address_same_pseudonym)
{
    static const char *const spellings[] = {
        "6411 AB 12a",          "6411ab 12 A", "6411AB 12-A",
        "  6411  ab   12  a  ", "6411AB12a",   "6411 AB 12 - a",
    };
    unsigned char key[PSEUDONYM_KEYBYTES], first[PSEUDONYM_BYTES], out[PSEUDONYM_BYTES];
    s_key(1, key);
    cr_assert_eq(pseudonym_derive(key, PSEUDONYM_ADDRESS, spellings[0], first, NULL), 0);
    for (size_t i = 1; i < sizeof spellings / sizeof spellings[0]; i++) {
        cr_assert_eq(pseudonym_derive(key, PSEUDONYM_ADDRESS, spellings[i], out, NULL), 0, "%s",
                     spellings[i]);
        cr_expect_eq(memcmp(first, out, sizeof out), 0, "%s", spellings[i]);
    }
    /* A different toevoeging, number or kind is a different subject. */
    cr_assert_eq(pseudonym_derive(key, PSEUDONYM_ADDRESS, "6411 AB 12b", out, NULL), 0);
    cr_expect_neq(memcmp(first, out, sizeof out), 0);
    cr_assert_eq(pseudonym_derive(key, PSEUDONYM_ADDRESS, "6411 AB 12", out, NULL), 0);
    cr_expect_neq(memcmp(first, out, sizeof out), 0);
    /* Another key gives another pseudonym. */
    s_key(2, key);
    cr_assert_eq(pseudonym_derive(key, PSEUDONYM_ADDRESS, spellings[0], out, NULL), 0);
    cr_expect_neq(memcmp(first, out, sizeof out), 0);
}

Test(pseudonym, kind_separates_domains)
{
    /* "123456782" as a BSN and as a case number must not collide. */
    unsigned char key[PSEUDONYM_KEYBYTES], a[PSEUDONYM_BYTES], b[PSEUDONYM_BYTES];
    s_key(1, key);
    cr_assert_eq(pseudonym_derive(key, PSEUDONYM_BSN, "123456782", a, NULL), 0);
    cr_assert_eq(pseudonym_derive(key, PSEUDONYM_CASE, "123456782", b, NULL), 0);
    cr_expect_neq(memcmp(a, b, sizeof a), 0);
}

typedef struct {
    pseudonym_kind_t kind;
    const char *input;
    const char *normalised;
} norm_t;

Test(pseudonym, normalise_valid)
{
    static const norm_t cases[] = {
        {PSEUDONYM_BSN, "111222333", "111222333"},
        {PSEUDONYM_BSN, "123456782", "123456782"},
        {PSEUDONYM_BSN, "999999990", "999999990"},
        {PSEUDONYM_BSN, "010000008", "010000008"},
        {PSEUDONYM_BSN, "100000009", "100000009"},
        {PSEUDONYM_BSN, "1112.22.333", "111222333"},
        {PSEUDONYM_BSN, " 111-222-333 ", "111222333"},
        {PSEUDONYM_ADDRESS, "6411 AB 12a", "6411AB 12 A"},
        {PSEUDONYM_ADDRESS, "6411ab 12 A", "6411AB 12 A"},
        {PSEUDONYM_ADDRESS, "1234AB 1", "1234AB 1"},
        {PSEUDONYM_ADDRESS, "9999 ZZ 99999", "9999ZZ 99999"},
        {PSEUDONYM_ADDRESS, "1011 AC 7 huis", "1011AC 7 HUIS"},
        {PSEUDONYM_ADDRESS, "1011AC 7-1", "1011AC 7 1"},
        {PSEUDONYM_ADDRESS, "1011AC 7 bis", "1011AC 7 BIS"},
        {PSEUDONYM_ADDRESS, "1011 SB 3", "1011SB 3"},
        {PSEUDONYM_ADDRESS, "1011 AS 3", "1011AS 3"},
        {PSEUDONYM_ADDRESS, "1011 ab 012", "1011AB 12"},
        {PSEUDONYM_CASE, "zk-2025/001", "ZK-2025/001"},
        {PSEUDONYM_CASE, "a", "A"},
        {PSEUDONYM_CASE, "  42  ", "42"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[PSEUDONYM_NORMALISED_MAX + 1];
        const char *error = NULL;
        cr_assert_eq(pseudonym_normalise(cases[i].kind, cases[i].input, out, sizeof out, &error), 0,
                     "case %zu: %s", i, error ? error : "");
        cr_expect_str_eq(out, cases[i].normalised, "case %zu", i);
    }
    char longest[PSEUDONYM_NORMALISED_MAX + 1];
    memset(longest, 'x', PSEUDONYM_NORMALISED_MAX);
    longest[PSEUDONYM_NORMALISED_MAX] = '\0';
    char out[PSEUDONYM_NORMALISED_MAX + 1];
    cr_assert_eq(pseudonym_normalise(PSEUDONYM_CASE, longest, out, sizeof out, NULL), 0);
    cr_expect_eq(strlen(out), PSEUDONYM_NORMALISED_MAX);
}

typedef struct {
    pseudonym_kind_t kind;
    const char *input;
    const char *needle; /* a word the error text must contain */
} bad_t;

Test(pseudonym, normalise_invalid)
{
    static const bad_t cases[] = {
        {PSEUDONYM_BSN, "123456789", "elfproef"},
        {PSEUDONYM_BSN, "111222334", "elfproef"},
        {PSEUDONYM_BSN, "999999999", "elfproef"},
        {PSEUDONYM_BSN, "192837465", "elfproef"},
        {PSEUDONYM_BSN, "000000000", "zeros"},
        {PSEUDONYM_BSN, "00.000.000-0", "zeros"},
        {PSEUDONYM_BSN, "12345678", "8 given"},
        {PSEUDONYM_BSN, "1234567", "9 digits"},
        {PSEUDONYM_BSN, "1112223330", "9 digits"},
        {PSEUDONYM_BSN, "", "9 digits"},
        {PSEUDONYM_BSN, "11122233a", "only digits"},
        {PSEUDONYM_BSN, "111222333\n", "only digits"},
        {PSEUDONYM_ADDRESS, "0411 AB 12", "cannot start with 0"},
        {PSEUDONYM_ADDRESS, "6411 SA 12", "SA, SD and SS"},
        {PSEUDONYM_ADDRESS, "6411 sd 12", "SA, SD and SS"},
        {PSEUDONYM_ADDRESS, "6411 SS 12", "SA, SD and SS"},
        {PSEUDONYM_ADDRESS, "641 AB 12", "postcode"},
        {PSEUDONYM_ADDRESS, "6411 A 12", "postcode"},
        {PSEUDONYM_ADDRESS, "6411 ABC 12", "more than 2 letters"},
        {PSEUDONYM_ADDRESS, "6411 AB", "huisnummer"},
        {PSEUDONYM_ADDRESS, "6411 AB 0", "huisnummer"},
        {PSEUDONYM_ADDRESS, "6411 AB 100000", "huisnummer"},
        {PSEUDONYM_ADDRESS, "6411 AB 12 abcde", "toevoeging"},
        {PSEUDONYM_ADDRESS, "6411 AB 12 a b", "toevoeging"},
        {PSEUDONYM_ADDRESS, "6411 AB 12-", "toevoeging"},
        {PSEUDONYM_ADDRESS, "6411 AB 12,a", "toevoeging"},
        {PSEUDONYM_ADDRESS, "6411 AB 12 #", "toevoeging"},
        {PSEUDONYM_ADDRESS, "", "postcode"},
        {PSEUDONYM_CASE, "", "empty"},
        {PSEUDONYM_CASE, "   ", "empty"},
        {PSEUDONYM_CASE, "zk 2025", "only letters"},
        {PSEUDONYM_CASE, "zk_2025", "only letters"},
        {PSEUDONYM_CASE, "zaak\xc3\xa9", "only letters"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[PSEUDONYM_NORMALISED_MAX + 1] = "junk";
        const char *error = NULL;
        cr_assert_eq(pseudonym_normalise(cases[i].kind, cases[i].input, out, sizeof out, &error),
                     -1, "case %zu should fail", i);
        cr_assert_not_null(error);
        cr_expect(strstr(error, cases[i].needle) != NULL, "case %zu: '%s' lacks '%s'", i, error,
                  cases[i].needle);
        cr_expect_str_eq(out, "", "case %zu: output left behind", i);
    }
}

Test(pseudonym, errors_never_echo_identifier)
{
    static const char *const bsns[] = {"123456789", "12345678", "1234567890", "12345678x"};
    for (size_t i = 0; i < sizeof bsns / sizeof bsns[0]; i++) {
        unsigned char key[PSEUDONYM_KEYBYTES] = {0}, out[PSEUDONYM_BYTES];
        const char *error = NULL;
        cr_assert_eq(pseudonym_derive(key, PSEUDONYM_BSN, bsns[i], out, &error), -1);
        cr_assert_not_null(error);
        /* No run of 4 or more of the identifier's digits appears. */
        for (size_t k = 0; k + 4 <= strlen(bsns[i]); k++) {
            char part[5];
            memcpy(part, bsns[i] + k, 4);
            part[4] = '\0';
            cr_expect(strstr(error, part) == NULL, "error '%s' echoes the BSN", error);
        }
    }
}

Test(pseudonym, too_long_and_bad_arguments)
{
    char big[PSEUDONYM_ID_MAX + 2];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char out[PSEUDONYM_NORMALISED_MAX + 1];
    const char *error = NULL;
    cr_expect_eq(pseudonym_normalise(PSEUDONYM_CASE, big, out, sizeof out, &error), -1);
    cr_expect_str_eq(error, "identifier too long");
    char longcase[PSEUDONYM_NORMALISED_MAX + 2];
    memset(longcase, 'x', sizeof longcase - 1);
    longcase[sizeof longcase - 1] = '\0';
    cr_expect_eq(pseudonym_normalise(PSEUDONYM_CASE, longcase, out, sizeof out, &error), -1);
    cr_expect_eq(pseudonym_normalise(PSEUDONYM_BSN, NULL, out, sizeof out, &error), -1);
    cr_expect_eq(pseudonym_normalise(PSEUDONYM_BSN, "111222333", NULL, 10, &error), -1);
    cr_expect_eq(pseudonym_normalise(PSEUDONYM_BSN, "111222333", out, 10, &error), -1);
    cr_expect_str_eq(out, "");
    cr_expect_eq(pseudonym_normalise(PSEUDONYM_KIND_COUNT_, "x", out, sizeof out, &error), -1);
    cr_expect_eq(pseudonym_normalise((pseudonym_kind_t)-1, "x", out, sizeof out, NULL), -1);
    unsigned char key[PSEUDONYM_KEYBYTES] = {0}, p[PSEUDONYM_BYTES], before[PSEUDONYM_BYTES];
    memset(p, 0xa5, sizeof p);
    memcpy(before, p, sizeof p);
    cr_expect_eq(pseudonym_derive(NULL, PSEUDONYM_BSN, "111222333", p, &error), -1);
    cr_expect_eq(pseudonym_derive(key, PSEUDONYM_BSN, "111222333", NULL, &error), -1);
    cr_expect_eq(pseudonym_derive(key, PSEUDONYM_BSN, "111222334", p, &error), -1);
    cr_expect_eq(pseudonym_derive(key, PSEUDONYM_KIND_COUNT_, "1", p, &error), -1);
    cr_expect_eq(memcmp(p, before, sizeof p), 0, "output written on failure");
}

Test(pseudonym, kind_names)
{
    pseudonym_kind_t kind;
    for (int k = 0; k < PSEUDONYM_KIND_COUNT_; k++) {
        const char *name = pseudonym_kind_name((pseudonym_kind_t)k);
        cr_assert_not_null(name);
        cr_assert_eq(pseudonym_kind_from_string(name, &kind), 0);
        cr_expect_eq(kind, (pseudonym_kind_t)k);
    }
    cr_expect_str_eq(pseudonym_kind_name(PSEUDONYM_BSN), "bsn");
    cr_expect_str_eq(pseudonym_kind_name(PSEUDONYM_ADDRESS), "address");
    cr_expect_str_eq(pseudonym_kind_name(PSEUDONYM_CASE), "case");
    cr_expect_null(pseudonym_kind_name(PSEUDONYM_KIND_COUNT_));
    cr_expect_eq(pseudonym_kind_from_string("BSN", &kind), -1);
    cr_expect_eq(pseudonym_kind_from_string("", &kind), -1);
    cr_expect_eq(pseudonym_kind_from_string(NULL, &kind), -1);
    cr_expect_eq(pseudonym_kind_from_string("bsn", NULL), -1);
}

Test(pseudonym, hex_round_trip)
{
    unsigned char p[PSEUDONYM_BYTES], q[PSEUDONYM_BYTES];
    char hex[PSEUDONYM_HEXBYTES];
    for (size_t i = 0; i < sizeof p; i++)
        p[i] = (unsigned char)(i * 37 + 1);
    pseudonym_to_hex(p, hex);
    cr_assert_eq(strlen(hex), 64);
    cr_assert_eq(pseudonym_from_hex(hex, q), 0);
    cr_expect_eq(memcmp(p, q, sizeof p), 0);
    /* Upper case is accepted too. */
    for (size_t i = 0; hex[i]; i++)
        if (hex[i] >= 'a' && hex[i] <= 'f')
            hex[i] = (char)(hex[i] - 'a' + 'A');
    memset(q, 0, sizeof q);
    cr_assert_eq(pseudonym_from_hex(hex, q), 0);
    cr_expect_eq(memcmp(p, q, sizeof p), 0);
    memset(q, 0x5a, sizeof q);
    unsigned char before[PSEUDONYM_BYTES];
    memcpy(before, q, sizeof q);
    hex[63] = 'g';
    cr_expect_eq(pseudonym_from_hex(hex, q), -1);
    hex[63] = '\0';
    cr_expect_eq(pseudonym_from_hex(hex, q), -1);
    cr_expect_eq(pseudonym_from_hex(NULL, q), -1);
    cr_expect_eq(memcmp(q, before, sizeof q), 0);
    char longer[70];
    memset(longer, 'a', 66);
    longer[66] = '\0';
    cr_expect_eq(pseudonym_from_hex(longer, q), -1);
}
