/*  cert: public certificates, and their compatibility with CZMQ's zcert. */
#include "date.h"
#include "cert.h"

#include "testutil.h"
#include "z85.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <czmq.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static cert_t s_sample(void)
{
    cert_t cert;
    memset(&cert, 0, sizeof cert);
    snprintf(cert.org, sizeof cert.org, "welzijn");
    snprintf(cert.name, sizeof cert.name, "Impuls welzijn Heerlen");
    snprintf(cert.contact, sizeof cert.contact, "signalen@welzijn.example");
    cert.role = CERT_ROLE_PARTNER;
    randombytes_buf(cert.curve_key, 32);
    randombytes_buf(cert.sign_key, 32);
    randombytes_buf(cert.box_key, 32);
    cr_assert_eq(date_parse_cstr("2026-01-01", &cert.valid_from), 0);
    cr_assert_eq(date_parse_cstr("2027-12-31", &cert.valid_until), 0);
    return cert;
}

Test(cert, save_parse_round_trip_and_zcert_reads_it)
{
    cr_assert(sodium_init() >= 0);
    char *dir = tu_tmpdir();
    char path[4096], err[600];
    snprintf(path, sizeof path, "%s/welzijn.cert", dir);
    cert_t cert = s_sample(), back;
    cr_assert_eq(cert_save(&cert, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cert_load(path, &back, err, sizeof err), 0, "%s", err);
    cr_assert_eq(memcmp(&cert, &back, sizeof cert), 0);

    /* The broker's zauth reads the same file through zcertstore. */
    zcert_t *zcert = zcert_load(path);
    cr_assert_not_null(zcert);
    cr_assert_eq(memcmp(zcert_public_key(zcert), cert.curve_key, 32), 0);
    cr_assert_str_eq(zcert_meta(zcert, "org"), "welzijn");
    cr_assert_str_eq(zcert_meta(zcert, "role"), "partner");
    zcert_destroy(&zcert);

    cr_assert_eq(cert_save(&cert, path, err, sizeof err), -1, "no overwrite");
    snprintf(cert.name, sizeof cert.name, "quote \" inside");
    snprintf(path, sizeof path, "%s/q.cert", dir);
    cr_assert_eq(cert_save(&cert, path, err, sizeof err), -1);
    tu_rmtree(dir);
    free(dir);
}

Test(cert, validity_is_whole_days_inclusive)
{
    cert_t cert = s_sample();
    int64_t ms_day = 86400000;
    cr_assert(cert_valid_at(&cert, cert.valid_from * ms_day));
    cr_assert(cert_valid_at(&cert, cert.valid_until * ms_day + ms_day - 1));
    cr_assert_not(cert_valid_at(&cert, cert.valid_from * ms_day - 1));
    cr_assert_not(cert_valid_at(&cert, (cert.valid_until + 1) * ms_day));
}

static void s_refuses(const char *text, const char *expect)
{
    cert_t cert;
    char err[600] = "";
    cr_assert_eq(cert_parse(text, strlen(text), &cert, err, sizeof err), -1, "accepted %s", text);
    cr_assert(strstr(err, expect), "error '%s' lacks '%s'", err, expect);
}

#define KEY "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define GOOD_META                                                                                  \
    "    name = \"N\"\n    role = \"partner\"\n    contact = \"c\"\n"                              \
    "    sign-key = \"" KEY "\"\n    box-key = \"" KEY "\"\n"                                      \
    "    valid-from = \"2026-01-01\"\n    valid-until = \"2026-12-31\"\n"

Test(cert, refuses_malformed_certificates)
{
    cert_t cert;
    char err[600];
    const char *good =
        "metadata\n    org = \"ggd\"\n" GOOD_META "curve\n    public-key = \"" KEY "\"\n";
    cr_assert_eq(cert_parse(good, strlen(good), &cert, err, sizeof err), 0, "%s", err);
    s_refuses("metadata\n    org = \"GGD\"\n" GOOD_META "curve\n    public-key = \"" KEY "\"\n",
              "metadata/org");
    s_refuses("metadata\n    org = \"ggd\"\n" GOOD_META "curve\n    public-key = \"short\"\n",
              "curve/public-key is not");
    s_refuses("metadata\n    org = \"ggd\"\n" GOOD_META, "missing curve/public-key");
    s_refuses("metadata\n    org = \"ggd\"\n    extra = \"1\"\n" GOOD_META
              "curve\n    public-key = \"" KEY "\"\n",
              "unknown entry metadata/extra");
    s_refuses("metadata\n    org = \"ggd\"\n" GOOD_META "curve\n    public-key = \"" KEY
              "\"\n    secret-key = \"" KEY "\"\n",
              "secret file");
    s_refuses("metadata\n    org = \"ggd\"\n    name = \"N\"\n    role = \"boss\"\n"
              "    contact = \"c\"\n    sign-key = \"" KEY "\"\n    box-key = \"" KEY "\"\n"
              "    valid-from = \"2026-01-01\"\n    valid-until = \"2026-12-31\"\n"
              "curve\n    public-key = \"" KEY "\"\n",
              "role");
    s_refuses("metadata\n    org = \"ggd\"\n    name = \"N\"\n    role = \"partner\"\n"
              "    contact = \"c\"\n    sign-key = \"" KEY "\"\n    box-key = \"" KEY "\"\n"
              "    valid-from = \"2027-01-01\"\n    valid-until = \"2026-12-31\"\n"
              "curve\n    public-key = \"" KEY "\"\n",
              "before valid-from");
    s_refuses("metadata\n    org = \"ggd\"\n    name = \"N\"\n    role = \"partner\"\n"
              "    contact = \"c\"\n    sign-key = \"" KEY "\"\n    box-key = \"" KEY "\"\n"
              "    valid-from = \"2027-01-01\"\n    valid-until = \"someday\"\n"
              "curve\n    public-key = \"" KEY "\"\n",
              "dates");
    cr_assert_eq(cert_load("/nonexistent/x.cert", &cert, err, sizeof err), -1);
    cr_assert_str_eq(cert_role_name((cert_role_t)7), "unknown");
}

/* The fingerprint is what partners compare by phone: changing any one field
   of the certificate must change it (issue 18 item 8: it covered only the
   keys, so org, role, contact and the dates could be changed in transit). */
Test(cert, fingerprint_changes_with_every_field)
{
    cr_assert(sodium_init() >= 0);
    cert_t base = s_sample();
    char want[CERT_FINGERPRINT_MAX], got[CERT_FINGERPRINT_MAX];
    cert_fingerprint(&base, want);
    cr_assert_eq(strlen(want), 39);
    cert_t same = base;
    cert_fingerprint(&same, got);
    cr_assert_str_eq(got, want, "not deterministic");
    for (int field = 0; field < 9; field++) {
        cert_t c = base;
        const char *what = "";
        switch (field) {
        case 0:
            what = "org", c.org[0] = 'x';
            break;
        case 1:
            what = "name", snprintf(c.name, sizeof c.name, "Impuls welzijn Heerlen ");
            break;
        case 2:
            what = "role", c.role = CERT_ROLE_COORDINATOR;
            break;
        case 3:
            what = "contact", snprintf(c.contact, sizeof c.contact, "boef@evil.example");
            break;
        case 4:
            what = "curve key", c.curve_key[31] ^= 1;
            break;
        case 5:
            what = "sign key", c.sign_key[0] ^= 0x80;
            break;
        case 6:
            what = "box key", c.box_key[7] ^= 1;
            break;
        case 7:
            what = "valid-from", c.valid_from -= 1;
            break;
        case 8:
            what = "valid-until", c.valid_until += 365;
            break;
        }
        cert_fingerprint(&c, got);
        cr_assert_str_neq(got, want, "changing %s kept the fingerprint", what);
    }
    /* Lengths are encoded: moving a byte from one text to the next changes it. */
    cert_t a = base, b = base;
    snprintf(a.name, sizeof a.name, "ab");
    snprintf(a.contact, sizeof a.contact, "c");
    snprintf(b.name, sizeof b.name, "a");
    snprintf(b.contact, sizeof b.contact, "bc");
    char fa[CERT_FINGERPRINT_MAX], fb[CERT_FINGERPRINT_MAX];
    cert_fingerprint(&a, fa);
    cert_fingerprint(&b, fb);
    cr_assert_str_neq(fa, fb);
}

/* Another implementation can reproduce it from the documented bytes
   (cert.h, keys/README.md). */
static void s_le64_field(crypto_hash_sha256_state *st, const void *p, size_t len)
{
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)((uint64_t)len >> (8 * i));
    crypto_hash_sha256_update(st, le, 8);
    crypto_hash_sha256_update(st, p, len);
}

Test(cert, fingerprint_is_the_documented_encoding)
{
    cr_assert(sodium_init() >= 0);
    cert_t c = s_sample();
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)"hartslag/cert-fingerprint/v1", 28);
    const char *texts[] = {"welzijn", "Impuls welzijn Heerlen", "partner",
                           "signalen@welzijn.example"};
    for (int i = 0; i < 4; i++)
        s_le64_field(&st, texts[i], strlen(texts[i]));
    s_le64_field(&st, c.curve_key, 32);
    s_le64_field(&st, c.sign_key, 32);
    s_le64_field(&st, c.box_key, 32);
    s_le64_field(&st, "2026-01-01", 10);
    s_le64_field(&st, "2027-12-31", 10);
    unsigned char digest[32];
    crypto_hash_sha256_final(&st, digest);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, digest, 16);
    char want[CERT_FINGERPRINT_MAX];
    snprintf(want, sizeof want, "%.4s:%.4s:%.4s:%.4s:%.4s:%.4s:%.4s:%.4s", hex, hex + 4, hex + 8,
             hex + 12, hex + 16, hex + 20, hex + 24, hex + 28);
    char got[CERT_FINGERPRINT_MAX];
    cert_fingerprint(&c, got);
    cr_assert_str_eq(got, want);
}

/* A pseudonym service's certificate (issue 17): the OPRF public element and
   its version round-trip, the fingerprint covers both, and the two fields
   are required for that role and refused for every other. */
static cert_t s_service(void)
{
    cert_t cert = s_sample();
    snprintf(cert.org, sizeof cert.org, "ttp");
    cert.role = CERT_ROLE_PSEUDONYM_SERVICE;
    memset(cert.box_key, 0, sizeof cert.box_key);
    uint8_t sk[32];
    crypto_core_ristretto255_scalar_random(sk);
    cr_assert_eq(crypto_scalarmult_ristretto255_base(cert.oprf_key, sk), 0);
    cert.oprf_key_version = 7;
    return cert;
}

Test(cert, pseudonym_service_round_trip_and_fingerprint)
{
    cr_assert(sodium_init() >= 0);
    char *dir = tu_tmpdir();
    char path[4096], err[600];
    snprintf(path, sizeof path, "%s/ttp.cert", dir);
    cert_t cert = s_service(), back;
    cr_assert_eq(cert_save(&cert, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cert_load(path, &back, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(back.org, "ttp");
    cr_assert_eq(back.role, CERT_ROLE_PSEUDONYM_SERVICE);
    cr_assert_eq(memcmp(back.curve_key, cert.curve_key, 32), 0);
    cr_assert_eq(memcmp(back.sign_key, cert.sign_key, 32), 0);
    cr_assert_eq(memcmp(back.oprf_key, cert.oprf_key, 32), 0);
    cr_assert(sodium_is_zero(back.box_key, 32));
    cr_assert_eq(back.oprf_key_version, 7);
    cr_assert_not(cert_role_is_partner(back.role));
    /* zauth-compatible as every certificate. */
    zcert_t *zcert = zcert_load(path);
    cr_assert_not_null(zcert);
    cr_assert_str_eq(zcert_meta(zcert, "role"), "pseudonym-service");
    zcert_destroy(&zcert);

    char want[CERT_FINGERPRINT_MAX], got[CERT_FINGERPRINT_MAX];
    cert_fingerprint(&cert, want);
    cert_t c = cert;
    c.oprf_key_version = 8;
    cert_fingerprint(&c, got);
    cr_assert_str_neq(got, want, "the version is not in the fingerprint");
    c = cert;
    uint8_t sk[32];
    crypto_core_ristretto255_scalar_random(sk);
    cr_assert_eq(crypto_scalarmult_ristretto255_base(c.oprf_key, sk), 0);
    cert_fingerprint(&c, got);
    cr_assert_str_neq(got, want, "the OPRF key is not in the fingerprint");
    tu_rmtree(dir);
    free(dir);
}

#define SERVICE_HEAD                                                                               \
    "metadata\n    org = \"ttp\"\n    name = \"N\"\n    contact = \"c\"\n"                         \
    "    sign-key = \"" KEY "\"\n    valid-from = \"2026-01-01\"\n"                                \
    "    valid-until = \"2026-12-31\"\n"
#define CURVE_TAIL "curve\n    public-key = \"" KEY "\"\n"

/* SERVICE_HEAD, the formatted middle, CURVE_TAIL (KEY holds '%': no format). */
static void s_doc(char *text, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_doc(char *text, size_t cap, const char *fmt, ...)
{
    char middle[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(middle, sizeof middle, fmt, args);
    va_end(args);
    snprintf(text, cap, "%s%s%s", SERVICE_HEAD, middle, CURVE_TAIL);
}

Test(cert, oprf_fields_required_for_the_service_and_refused_for_others)
{
    cr_assert(sodium_init() >= 0);
    cert_t svc = s_service();
    char element[41], text[2048], err[600];
    z85_encode(element, svc.oprf_key, 32);
    cert_t cert;
    s_doc(text, sizeof text,
          "    role = \"pseudonym-service\"\n    oprf-key = \"%s\"\n"
          "    oprf-key-version = \"2147483648\"\n",
          element);
    cr_assert_eq(cert_parse(text, strlen(text), &cert, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cert.oprf_key_version, 2147483648u);
    cr_assert_eq(memcmp(cert.oprf_key, svc.oprf_key, 32), 0);

    /* Missing either field. */
    s_doc(text, sizeof text,
          "    role = \"pseudonym-service\"\n    oprf-key-version = \"1\"\n"
          "");
    s_refuses(text, "missing metadata/oprf-key");
    s_doc(text, sizeof text, "    role = \"pseudonym-service\"\n    oprf-key = \"%s\"\n", element);
    s_refuses(text, "oprf-key-version must be");
    /* Versions out of range or not plain decimal. */
    const char *bad_versions[] = {"0", "2147483649", "01", "-1", "1x", "", "99999999999"};
    for (size_t i = 0; i < sizeof bad_versions / sizeof *bad_versions; i++) {
        s_doc(text, sizeof text,
              "    role = \"pseudonym-service\"\n    oprf-key = \"%s\"\n"
              "    oprf-key-version = \"%s\"\n",
              element, bad_versions[i]);
        s_refuses(text, "oprf-key-version must be");
    }
    /* Not an element: the identity, a non-canonical encoding (bit 255). */
    uint8_t raw[32] = {0};
    char z85[41];
    z85_encode(z85, raw, 32);
    s_doc(text, sizeof text,
          "    role = \"pseudonym-service\"\n    oprf-key = \"%s\"\n"
          "    oprf-key-version = \"1\"\n",
          z85);
    s_refuses(text, "not a valid ristretto255 element");
    memcpy(raw, svc.oprf_key, 32);
    raw[31] |= 0x80;
    z85_encode(z85, raw, 32);
    s_doc(text, sizeof text,
          "    role = \"pseudonym-service\"\n    oprf-key = \"%s\"\n"
          "    oprf-key-version = \"1\"\n",
          z85);
    s_refuses(text, "not a valid ristretto255 element");
    /* A service has no box key. */
    s_doc(text, sizeof text,
          "    role = \"pseudonym-service\"\n    box-key = \"%s\"\n"
          "    oprf-key = \"%s\"\n    oprf-key-version = \"1\"\n",
          KEY, element);
    s_refuses(text, "has none");
    /* Every other role refuses the OPRF fields. */
    const char *roles[] = {"partner", "coordinator", "officer", "broker"};
    for (size_t i = 0; i < 4; i++) {
        s_doc(text, sizeof text,
              "    role = \"%s\"\n    box-key = \"%s\"\n"
              "    oprf-key-version = \"1\"\n",
              roles[i], KEY);
        s_refuses(text, "pseudonym-service certificate only");
    }
    /* An officer is parsed like a partner (with a box key), but is none. */
    s_doc(text, sizeof text, "    role = \"officer\"\n    box-key = \"%s\"\n", KEY);
    cr_assert_eq(cert_parse(text, strlen(text), &cert, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cert.role, CERT_ROLE_OFFICER);
    cr_assert_not(cert_role_is_partner(cert.role));
    cr_assert(cert_role_is_partner(CERT_ROLE_COORDINATOR));
    cr_assert_eq(cert.oprf_key_version, 0);
}
