/*  cert: partner and broker public certificates; see cert.h. */
#include "cert.h"
#include "date.h"

#include "fileio.h"
#include "z85.h"
#include "zpl.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *s_role_names[CERT_ROLE_COUNT] = {"partner", "coordinator", "broker",
                                                    "pseudonym-service", "officer"};

const char *cert_role_name(cert_role_t role)
{
    return (unsigned)role < CERT_ROLE_COUNT ? s_role_names[role] : "unknown";
}

bool cert_role_is_partner(cert_role_t role)
{
    return role == CERT_ROLE_PARTNER || role == CERT_ROLE_COORDINATOR;
}

/* Only the broker and the pseudonym service have no box pair: neither
   ever receives a signal. */
static bool s_has_box(cert_role_t role)
{
    return role != CERT_ROLE_BROKER && role != CERT_ROLE_PSEUDONYM_SERVICE;
}

int cert_role_parse(const char *text, cert_role_t *role)
{
    for (int i = 0; i < CERT_ROLE_COUNT; i++)
        if (text && strcmp(text, s_role_names[i]) == 0) {
            *role = (cert_role_t)i;
            return 0;
        }
    return -1;
}

/* One field of the fingerprinted encoding: LE64(len) || bytes. */
static void s_fp_field(crypto_hash_sha256_state *st, const void *bytes, size_t len)
{
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)((uint64_t)len >> (8 * i));
    crypto_hash_sha256_update(st, le, sizeof le);
    crypto_hash_sha256_update(st, bytes, len);
}

void cert_fingerprint(const cert_t *cert, char out[CERT_FINGERPRINT_MAX])
{
    char from[11], until[11];
    date_format(cert->valid_from, from);
    date_format(cert->valid_until, until);
    const char *role = cert_role_name(cert->role);
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)CERT_FINGERPRINT_TAG,
                              sizeof CERT_FINGERPRINT_TAG - 1);
    s_fp_field(&st, cert->org, strlen(cert->org));
    s_fp_field(&st, cert->name, strlen(cert->name));
    s_fp_field(&st, role, strlen(role));
    s_fp_field(&st, cert->contact, strlen(cert->contact));
    s_fp_field(&st, cert->curve_key, CERT_KEYBYTES);
    s_fp_field(&st, cert->sign_key, CERT_KEYBYTES);
    s_fp_field(&st, cert->box_key, CERT_KEYBYTES);
    s_fp_field(&st, from, strlen(from));
    s_fp_field(&st, until, strlen(until));
    if (cert->role == CERT_ROLE_PSEUDONYM_SERVICE) {
        char version[16];
        int n = snprintf(version, sizeof version, "%" PRIu32, cert->oprf_key_version);
        s_fp_field(&st, cert->oprf_key, CERT_KEYBYTES);
        s_fp_field(&st, version, (size_t)n);
    }
    crypto_hash_sha256_final(&st, digest);
    static const char hex[] = "0123456789abcdef";
    size_t pos = 0;
    for (int i = 0; i < 16; i++) {
        out[pos++] = hex[digest[i] >> 4];
        out[pos++] = hex[digest[i] & 15];
        if (i % 2 == 1 && i < 15)
            out[pos++] = ':';
    }
    out[pos] = '\0';
}

bool cert_valid_at(const cert_t *cert, int64_t unix_ms)
{
    int64_t day = unix_ms >= 0 ? unix_ms / 86400000 : -1;
    return day >= cert->valid_from && day <= cert->valid_until;
}

static int s_key(const zpl_t *zpl, const char *section, const char *key, uint8_t out[CERT_KEYBYTES],
                 char *err, size_t errlen)
{
    const char *text = zpl_get(zpl, section, key);
    if (!text) {
        snprintf(err, errlen, "missing %s/%s", section, key);
        return -1;
    }
    if (z85_decode(out, CERT_KEYBYTES, text) != 0) {
        snprintf(err, errlen, "%s/%s is not a 32-byte Z85 key", section, key);
        return -1;
    }
    return 0;
}

static int s_text(const zpl_t *zpl, const char *key, char *out, size_t max, char *err,
                  size_t errlen)
{
    const char *text = zpl_get(zpl, "metadata", key);
    if (!text) {
        snprintf(err, errlen, "missing metadata/%s", key);
        return -1;
    }
    if (!names_is_text(text, max)) {
        snprintf(err, errlen,
                 "metadata/%s must be 1-%zu bytes of UTF-8 text without control "
                 "characters",
                 key, max);
        return -1;
    }
    memcpy(out, text, strlen(text) + 1);
    return 0;
}

static const char *s_metadata_keys[] = {"org",        "name",       "role",     "contact",
                                        "sign-key",   "box-key",    "oprf-key", "oprf-key-version",
                                        "valid-from", "valid-until"};

/* A canonical, non-identity ristretto255 encoding (as oprf_element_check:
   libsodium's own check lets bit 255 pass). */
static bool s_is_element(const uint8_t key[CERT_KEYBYTES])
{
    return (key[31] & 0x80) == 0 && !sodium_is_zero(key, CERT_KEYBYTES) &&
           crypto_core_ristretto255_is_valid_point(key) == 1;
}

/* The OPRF fields: required for a pseudonym service, refused otherwise. */
static int s_oprf(const zpl_t *zpl, cert_t *cert, char *err, size_t errlen)
{
    const char *version = zpl_get(zpl, "metadata", "oprf-key-version");
    if (cert->role != CERT_ROLE_PSEUDONYM_SERVICE) {
        if (zpl_get(zpl, "metadata", "oprf-key") || version) {
            snprintf(err, errlen,
                     "metadata/oprf-key and oprf-key-version belong to a "
                     "pseudonym-service certificate only");
            return -1;
        }
        return 0;
    }
    if (s_key(zpl, "metadata", "oprf-key", cert->oprf_key, err, errlen) != 0)
        return -1;
    if (!s_is_element(cert->oprf_key)) {
        snprintf(err, errlen, "metadata/oprf-key is not a valid ristretto255 element");
        return -1;
    }
    uint64_t v = 0;
    bool digits = version && version[0] && version[0] != '0' && strlen(version) <= 10;
    for (const char *c = version; digits && *c; c++) {
        digits = *c >= '0' && *c <= '9';
        v = v * 10 + (uint64_t)(*c - '0');
    }
    if (!digits || v < 1 || v > CERT_OPRF_VERSION_MAX) {
        snprintf(err, errlen, "metadata/oprf-key-version must be a number from 1 to %u",
                 CERT_OPRF_VERSION_MAX);
        return -1;
    }
    cert->oprf_key_version = (uint32_t)v;
    return 0;
}

int cert_parse(const char *text, size_t len, cert_t *cert, char *err, size_t errlen)
{
    memset(cert, 0, sizeof *cert);
    char why[160];
    zpl_t *zpl = zpl_parse(text, len, why, sizeof why);
    if (!zpl) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    int rc = -1;
    for (size_t i = 0; i < zpl_count(zpl); i++) {
        const char *section = zpl_section_at(zpl, i), *key = zpl_key_at(zpl, i);
        bool known = false;
        if (strcmp(section, "metadata") == 0) {
            for (size_t k = 0; k < sizeof s_metadata_keys / sizeof *s_metadata_keys; k++)
                known = known || strcmp(key, s_metadata_keys[k]) == 0;
        } else if (strcmp(section, "curve") == 0)
            known = strcmp(key, "public-key") == 0;
        if (!known) {
            snprintf(err, errlen, "unknown entry %s/%s%s", section, key,
                     strcmp(key, "secret-key") == 0 ? " (this is a secret file, not a "
                                                      "public certificate)"
                                                    : "");
            goto done;
        }
    }
    const char *org = zpl_get(zpl, "metadata", "org");
    if (!org || !names_is_org(org)) {
        snprintf(err, errlen, "metadata/org is missing or not 1-32 of [a-z0-9-]");
        goto done;
    }
    memcpy(cert->org, org, strlen(org) + 1);
    if (s_text(zpl, "name", cert->name, NAMES_TEXT_MAX, err, errlen) != 0 ||
        s_text(zpl, "contact", cert->contact, NAMES_TEXT_MAX, err, errlen) != 0)
        goto done;
    if (cert_role_parse(zpl_get(zpl, "metadata", "role"), &cert->role) != 0) {
        snprintf(err, errlen,
                 "metadata/role must be partner, coordinator, broker, "
                 "pseudonym-service or officer");
        goto done;
    }
    if (s_key(zpl, "curve", "public-key", cert->curve_key, err, errlen) != 0 ||
        s_key(zpl, "metadata", "sign-key", cert->sign_key, err, errlen) != 0)
        goto done;
    if (s_has_box(cert->role) && s_key(zpl, "metadata", "box-key", cert->box_key, err, errlen) != 0)
        goto done;
    if (cert->role == CERT_ROLE_PSEUDONYM_SERVICE && zpl_get(zpl, "metadata", "box-key")) {
        snprintf(err, errlen, "metadata/box-key: a pseudonym-service certificate has none");
        goto done;
    }
    if (s_oprf(zpl, cert, err, errlen) != 0)
        goto done;
    if (date_parse_cstr(zpl_get(zpl, "metadata", "valid-from"), &cert->valid_from) != 0 ||
        date_parse_cstr(zpl_get(zpl, "metadata", "valid-until"), &cert->valid_until) != 0) {
        snprintf(err, errlen, "metadata/valid-from and valid-until must be dates YYYY-MM-DD");
        goto done;
    }
    if (cert->valid_until < cert->valid_from) {
        snprintf(err, errlen, "valid-until is before valid-from");
        goto done;
    }
    rc = 0;
done:
    zpl_destroy(&zpl);
    return rc;
}

int cert_load(const char *path, cert_t *cert, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    if (fileio_read(path, ZPL_TEXT_MAX, &text, &len, err, errlen) != 0)
        return -1;
    char why[200];
    int rc = cert_parse(text, len, cert, why, sizeof why);
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", path, why);
    free(text);
    return rc;
}

int cert_save(const cert_t *cert, const char *path, char *err, size_t errlen)
{
    char curve[Z85_TEXT_LEN(CERT_KEYBYTES) + 1], sign[sizeof curve], box[sizeof curve];
    char oprf[sizeof curve + 80] = "";
    char from[11], until[11];
    z85_encode(curve, cert->curve_key, CERT_KEYBYTES);
    z85_encode(sign, cert->sign_key, CERT_KEYBYTES);
    z85_encode(box, cert->box_key, CERT_KEYBYTES);
    if (cert->role == CERT_ROLE_PSEUDONYM_SERVICE) {
        char z85[sizeof curve];
        z85_encode(z85, cert->oprf_key, CERT_KEYBYTES);
        snprintf(oprf, sizeof oprf,
                 "    oprf-key = \"%s\"\n    oprf-key-version = \"%" PRIu32 "\"\n", z85,
                 cert->oprf_key_version);
    }
    date_format(cert->valid_from, from);
    date_format(cert->valid_until, until);
    if (strchr(cert->name, '"') || strchr(cert->contact, '"')) {
        snprintf(err, errlen, "name and contact may not contain '\"'");
        return -1;
    }
    char text[2048];
    int n =
        snprintf(text, sizeof text,
                 "#   ****  Hartslag public certificate of %s  ****\n"
                 "#   ZeroMQ CURVE Public Certificate (CZMQ zcert format).\n"
                 "#   Public: share it with the broker and every partner; verify its\n"
                 "#   fingerprint (hartslag keys show) with its owner out of band.\n"
                 "\n"
                 "metadata\n"
                 "    org = \"%s\"\n"
                 "    name = \"%s\"\n"
                 "    role = \"%s\"\n"
                 "    contact = \"%s\"\n"
                 "    sign-key = \"%s\"\n"
                 "%s%s%s%s"
                 "    valid-from = \"%s\"\n"
                 "    valid-until = \"%s\"\n"
                 "curve\n"
                 "    public-key = \"%s\"\n",
                 cert->org, cert->org, cert->name, cert_role_name(cert->role), cert->contact, sign,
                 s_has_box(cert->role) ? "    box-key = \"" : "", s_has_box(cert->role) ? box : "",
                 s_has_box(cert->role) ? "\"\n" : "", oprf, from, until, curve);
    if (n < 0 || (size_t)n >= sizeof text) {
        snprintf(err, errlen, "certificate text too long");
        return -1;
    }
    return fileio_write_new(path, text, (size_t)n, 0644, err, errlen);
}

void cert_curve_fingerprint(const uint8_t key[CERT_KEYBYTES], char out[CERT_CURVE_FINGERPRINT_SIZE])
{
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, key, CERT_KEYBYTES);
    size_t pos = 0;
    for (int i = 0; i < 8; i++) {
        snprintf(out + pos, 3, "%02x", digest[i]);
        pos += 2;
        if (i % 2 == 1 && i < 7)
            out[pos++] = ':';
    }
    out[pos] = '\0';
}
