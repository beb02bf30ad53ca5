/*  keyfile: secret key files; see keyfile.h. */
#include "keyfile.h"

#include "fileio.h"
#include "names.h"
#include "z85.h"
#include "zpl.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/*  Invariant: the public keys are derived from the secret keys (checked at
    load), and the whole struct lives in one sodium_malloc allocation. */
struct keyfile_t {
    char org[NAMES_ORG_MAX + 1];               /* owner's org id, or "broker" */
    bool has_box;                              /* false for the broker */
    uint8_t curve_pk[KEYFILE_KEYBYTES];        /* CURVE public */
    uint8_t curve_sk[KEYFILE_KEYBYTES];        /* CURVE secret */
    uint8_t sign_pk[KEYFILE_KEYBYTES];         /* Ed25519 public */
    uint8_t sign_sk[KEYFILE_SIGN_SECRETBYTES]; /* Ed25519 secret (seed || public) */
    uint8_t box_pk[KEYFILE_KEYBYTES];          /* X25519 public */
    uint8_t box_sk[KEYFILE_KEYBYTES];          /* X25519 secret */
};

static keyfile_t *s_alloc(void)
{
    if (sodium_init() < 0)
        return NULL;
    keyfile_t *self = sodium_malloc(sizeof(keyfile_t));
    if (self)
        sodium_memzero(self, sizeof *self);
    return self;
}

keyfile_t *keyfile_generate(const char *org, bool with_box)
{
    if (!names_is_org(org))
        return NULL;
    keyfile_t *self = s_alloc();
    if (!self)
        return NULL;
    memcpy(self->org, org, strlen(org) + 1);
    self->has_box = with_box;
    crypto_box_keypair(self->curve_pk, self->curve_sk);
    crypto_sign_keypair(self->sign_pk, self->sign_sk);
    if (with_box)
        crypto_box_keypair(self->box_pk, self->box_sk);
    return self;
}

void keyfile_destroy(keyfile_t **self_p)
{
    if (self_p && *self_p) {
        sodium_free(*self_p);
        *self_p = NULL;
    }
}

/* Decodes section/secret-key and checks section/public-key matches it. */
static int s_load_pair(const zpl_t *zpl, const char *section, uint8_t pk[32], uint8_t *sk,
                       bool sign, char *why, size_t whylen)
{
    const char *sk_text = zpl_get(zpl, section, "secret-key");
    const char *pk_text = zpl_get(zpl, section, "public-key");
    uint8_t seed[32], derived[32];
    if (!sk_text || !pk_text) {
        snprintf(why, whylen, "missing %s/secret-key or %s/public-key", section, section);
        return -1;
    }
    if (z85_decode(seed, 32, sk_text) != 0 || z85_decode(pk, 32, pk_text) != 0) {
        sodium_memzero(seed, sizeof seed);
        snprintf(why, whylen, "%s keys are not 32-byte Z85 text (file corrupt?)", section);
        return -1;
    }
    if (sign) {
        crypto_sign_seed_keypair(derived, sk, seed);
    } else {
        memcpy(sk, seed, 32);
        crypto_scalarmult_base(derived, sk);
    }
    sodium_memzero(seed, sizeof seed);
    if (sodium_memcmp(derived, pk, 32) != 0) {
        snprintf(why, whylen, "%s public key does not belong to its secret key (file corrupt?)",
                 section);
        return -1;
    }
    return 0;
}

keyfile_t *keyfile_load(const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    if (fileio_read_secret(path, KEYFILE_TEXT_MAX, &text, &len, err, errlen) != 0)
        return NULL;
    char why[200] = "";
    keyfile_t *self = NULL;
    zpl_t *zpl = zpl_parse(text, len, why, sizeof why);
    sodium_free(text);
    if (!zpl)
        goto fail;
    const char *org = zpl_get(zpl, "metadata", "org");
    if (!names_is_org(org)) {
        snprintf(why, sizeof why, "metadata/org is missing or invalid");
        goto fail;
    }
    self = s_alloc();
    if (!self) {
        snprintf(why, sizeof why, "out of secure memory");
        goto fail;
    }
    memcpy(self->org, org, strlen(org) + 1);
    self->has_box = zpl_get(zpl, "box", "secret-key") != NULL;
    if (s_load_pair(zpl, "curve", self->curve_pk, self->curve_sk, false, why, sizeof why) != 0 ||
        s_load_pair(zpl, "sign", self->sign_pk, self->sign_sk, true, why, sizeof why) != 0 ||
        (self->has_box &&
         s_load_pair(zpl, "box", self->box_pk, self->box_sk, false, why, sizeof why) != 0))
        goto fail;
    zpl_destroy(&zpl);
    return self;
fail:
    zpl_destroy(&zpl);
    keyfile_destroy(&self);
    snprintf(err, errlen, "%s: %s", path, why);
    return NULL;
}

/* Appends "    name = "Z85"\n" for 32 bytes to the buffer at *pos. */
static void s_put_key(char *buf, size_t cap, size_t *pos, const char *name, const uint8_t key[32])
{
    char z85[Z85_TEXT_LEN(32) + 1];
    z85_encode(z85, key, 32);
    int n = snprintf(buf + *pos, cap - *pos, "    %s = \"%s\"\n", name, z85);
    sodium_memzero(z85, sizeof z85);
    if (n > 0 && (size_t)n < cap - *pos)
        *pos += (size_t)n;
}

int keyfile_save(const keyfile_t *self, const char *path, char *err, size_t errlen)
{
    char *buf = sodium_malloc(KEYFILE_TEXT_MAX);
    if (!buf) {
        snprintf(err, errlen, "out of secure memory");
        return -1;
    }
    size_t pos = 0;
    int n = snprintf(buf, KEYFILE_TEXT_MAX,
                     "#   ****  Hartslag SECRET keys of %s  ****\n"
                     "#   Keep private: mode 0600, never copy it off this machine, never\n"
                     "#   mail it. Share only the public certificate.\n\n"
                     "metadata\n    org = \"%s\"\ncurve\n",
                     self->org, self->org);
    pos = (size_t)n;
    s_put_key(buf, KEYFILE_TEXT_MAX, &pos, "public-key", self->curve_pk);
    s_put_key(buf, KEYFILE_TEXT_MAX, &pos, "secret-key", self->curve_sk);
    pos += (size_t)snprintf(buf + pos, KEYFILE_TEXT_MAX - pos, "sign\n");
    s_put_key(buf, KEYFILE_TEXT_MAX, &pos, "public-key", self->sign_pk);
    s_put_key(buf, KEYFILE_TEXT_MAX, &pos, "secret-key", self->sign_sk); /* the seed */
    if (self->has_box) {
        pos += (size_t)snprintf(buf + pos, KEYFILE_TEXT_MAX - pos, "box\n");
        s_put_key(buf, KEYFILE_TEXT_MAX, &pos, "public-key", self->box_pk);
        s_put_key(buf, KEYFILE_TEXT_MAX, &pos, "secret-key", self->box_sk);
    }
    int rc = fileio_write_new(path, buf, pos, 0600, err, errlen);
    sodium_free(buf);
    return rc;
}

const char *keyfile_org(const keyfile_t *self)
{
    return self->org;
}

bool keyfile_has_box(const keyfile_t *self)
{
    return self->has_box;
}

const uint8_t *keyfile_curve_public(const keyfile_t *self)
{
    return self->curve_pk;
}

const uint8_t *keyfile_curve_secret(const keyfile_t *self)
{
    return self->curve_sk;
}

const uint8_t *keyfile_sign_public(const keyfile_t *self)
{
    return self->sign_pk;
}

const uint8_t *keyfile_sign_secret(const keyfile_t *self)
{
    return self->sign_sk;
}

const uint8_t *keyfile_box_public(const keyfile_t *self)
{
    return self->has_box ? self->box_pk : NULL;
}

const uint8_t *keyfile_box_secret(const keyfile_t *self)
{
    return self->has_box ? self->box_sk : NULL;
}

int keyfile_oprf_generate(const char *path, const char *org, uint32_t version,
                          uint8_t pk[KEYFILE_OPRF_ELEMENTBYTES], char *err, size_t errlen)
{
    if (sodium_init() < 0 || !names_is_org(org) || version < 1 ||
        version > KEYFILE_OPRF_VERSION_MAX) {
        snprintf(err, errlen, "cannot create an OPRF key (org or version out of range)");
        return -1;
    }
    uint8_t *sk = sodium_malloc(KEYFILE_OPRF_SCALARBYTES);
    char *buf = sodium_malloc(KEYFILE_TEXT_MAX);
    int rc = -1;
    if (sk && buf) {
        do
            crypto_core_ristretto255_scalar_random(sk);
        while (crypto_scalarmult_ristretto255_base(pk, sk) != 0);
        size_t pos = (size_t)snprintf(
            buf, KEYFILE_TEXT_MAX,
            "#   ****  Hartslag OPRF key of the pseudonym service %s: SECRET  ****\n"
            "#   Keep it on the service's host only (mode 0600). Whoever holds it can\n"
            "#   compute every pseudonym, and so search the small BSN space.\n\n"
            "metadata\n    org = \"%s\"\n    version = \"%" PRIu32 "\"\noprf\n",
            org, org, version);
        s_put_key(buf, KEYFILE_TEXT_MAX, &pos, "public-key", pk);
        s_put_key(buf, KEYFILE_TEXT_MAX, &pos, "secret-key", sk);
        rc = fileio_write_new(path, buf, pos, 0600, err, errlen);
    } else
        snprintf(err, errlen, "out of secure memory");
    sodium_free(sk);
    sodium_free(buf);
    return rc;
}

/* "1".."2147483648" without sign, spaces or leading zeros. */
static int s_version(const char *text, uint32_t *out)
{
    uint64_t v = 0;
    size_t len = text ? strlen(text) : 0;
    if (len == 0 || len > 10 || text[0] == '0')
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(text[i] - '0');
    }
    if (v < 1 || v > KEYFILE_OPRF_VERSION_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int keyfile_oprf_load(const char *path, uint8_t *sk, uint8_t pk[KEYFILE_OPRF_ELEMENTBYTES],
                      uint32_t *version, char *org, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    if (sodium_init() < 0 ||
        fileio_read_secret(path, KEYFILE_TEXT_MAX, &text, &len, err, errlen) != 0)
        return -1;
    char why[200] = "";
    zpl_t *zpl = zpl_parse(text, len, why, sizeof why);
    sodium_free(text);
    uint8_t *scalar = sodium_malloc(64);
    uint8_t reduced[KEYFILE_OPRF_SCALARBYTES], derived[KEYFILE_OPRF_ELEMENTBYTES];
    int rc = -1;
    if (!zpl)
        goto done;
    if (!scalar) {
        snprintf(why, sizeof why, "out of secure memory");
        goto done;
    }
    const char *owner = zpl_get(zpl, "metadata", "org");
    const char *sk_text = zpl_get(zpl, "oprf", "secret-key");
    const char *pk_text = zpl_get(zpl, "oprf", "public-key");
    if (!sk_text || !pk_text) {
        snprintf(why, sizeof why,
                 "missing oprf/secret-key or oprf/public-key (not an OPRF key "
                 "file?)");
        goto done;
    }
    if (!names_is_org(owner) || s_version(zpl_get(zpl, "metadata", "version"), version) != 0) {
        snprintf(why, sizeof why,
                 "metadata/org or metadata/version is missing or invalid (an "
                 "OPRF key file has version 1 to 2147483648)");
        goto done;
    }
    sodium_memzero(scalar, 64);
    if (z85_decode(scalar, KEYFILE_OPRF_SCALARBYTES, sk_text) != 0 ||
        z85_decode(pk, KEYFILE_OPRF_ELEMENTBYTES, pk_text) != 0) {
        snprintf(why, sizeof why, "oprf keys are not 32-byte Z85 text (file corrupt?)");
        goto done;
    }
    crypto_core_ristretto255_scalar_reduce(reduced, scalar);
    if (sodium_memcmp(reduced, scalar, KEYFILE_OPRF_SCALARBYTES) != 0 ||
        crypto_scalarmult_ristretto255_base(derived, scalar) != 0 ||
        sodium_memcmp(derived, pk, KEYFILE_OPRF_ELEMENTBYTES) != 0) {
        snprintf(why, sizeof why,
                 "oprf public key does not belong to its secret key (file "
                 "corrupt?)");
        goto done;
    }
    if (sk)
        memcpy(sk, scalar, KEYFILE_OPRF_SCALARBYTES);
    if (org)
        memcpy(org, owner, strlen(owner) + 1);
    rc = 0;
done:
    sodium_memzero(reduced, sizeof reduced);
    sodium_free(scalar);
    zpl_destroy(&zpl);
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}
