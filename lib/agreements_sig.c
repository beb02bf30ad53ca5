/*  agreements_sig: see agreements_sig.h. */
#include "agreements_sig.h"

#include "sigdomain.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

_Static_assert(AGREEMENTS_SIG_BYTES == crypto_sign_BYTES, "signature size");
_Static_assert(AGREEMENTS_HASH_BYTES == crypto_hash_sha256_BYTES, "hash size");

#define S_MAGIC "hartslag-agreements-signature v1"

static int s_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

size_t agreements_sig_payload(const char *partnership, uint64_t version,
                              const uint8_t hash[AGREEMENTS_HASH_BYTES], char *out, size_t out_max)
{
    char hex[AGREEMENTS_HASH_HEX];
    sodium_bin2hex(hex, sizeof hex, hash, AGREEMENTS_HASH_BYTES);
    int n = snprintf(out, out_max, "partnership %s\nversion %" PRIu64 "\nsha256 %s\n", partnership,
                     version, hex);
    return n < 0 || (size_t)n >= out_max ? 0 : (size_t)n;
}

int agreements_sig_sign(const agreements_t *agreements, const char *signer, const uint8_t *sk,
                        agreements_sig_t *out)
{
    agreements_sig_t sig;
    memset(&sig, 0, sizeof sig);
    const char *p = agreements_partnership(agreements);
    if (!signer || strlen(p) >= sizeof sig.partnership || strlen(signer) >= sizeof sig.signer)
        return -1;
    memcpy(sig.partnership, p, strlen(p) + 1);
    memcpy(sig.signer, signer, strlen(signer) + 1);
    sig.version = agreements_version(agreements);
    memcpy(sig.hash, agreements_hash(agreements), AGREEMENTS_HASH_BYTES);
    char payload[SIGDOMAIN_PAYLOAD_MAX];
    size_t len =
        agreements_sig_payload(sig.partnership, sig.version, sig.hash, payload, sizeof payload);
    if (!len ||
        sigdomain_sign(SIGDOMAIN_AGREEMENTS, (const uint8_t *)payload, len, sk, sig.signature) != 0)
        return -1;
    *out = sig;
    return 0;
}

size_t agreements_sig_format(const agreements_sig_t *sig, char *out, size_t out_max)
{
    char hash[AGREEMENTS_HASH_HEX], signature[AGREEMENTS_SIG_BYTES * 2 + 1];
    sodium_bin2hex(hash, sizeof hash, sig->hash, sizeof sig->hash);
    sodium_bin2hex(signature, sizeof signature, sig->signature, sizeof sig->signature);
    int n = snprintf(out, out_max,
                     S_MAGIC "\npartnership %s\nversion %" PRIu64 "\nsha256 %s\nsigner %s\n"
                             "signature %s\n",
                     sig->partnership, sig->version, hash, sig->signer, signature);
    return n < 0 || (size_t)n >= out_max ? 0 : (size_t)n;
}

/* Takes the next line, which must be "KEY VALUE"; returns the value and its length. */
static int s_line(const char **p, const char *end, const char *key, const char **value,
                  size_t *vlen, char *err, size_t errlen, int lineno)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl)
        return s_fail(err, errlen, "line %d: truncated (expected '%s ...')", lineno, key);
    size_t klen = strlen(key);
    size_t len = (size_t)(nl - *p);
    if (len <= klen + 1 || memcmp(*p, key, klen) != 0 || (*p)[klen] != ' ')
        return s_fail(err, errlen, "line %d: expected '%s ...'", lineno, key);
    *value = *p + klen + 1;
    *vlen = len - klen - 1;
    *p = nl + 1;
    return 0;
}

static bool s_hex(const char *s, size_t len, uint8_t *out, size_t out_len)
{
    if (len != out_len * 2)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    size_t bin_len = 0;
    return sodium_hex2bin(out, out_len, s, len, NULL, &bin_len, NULL) == 0 && bin_len == out_len;
}

int agreements_sig_parse(const char *text, size_t len, agreements_sig_t *out, char *err,
                         size_t errlen)
{
    if (!text || !out)
        return s_fail(err, errlen, "no text");
    if (len > AGREEMENTS_SIG_FILE_MAX)
        return s_fail(err, errlen, "too large (%zu bytes, a signature file has at most %d)", len,
                      AGREEMENTS_SIG_FILE_MAX);
    if (len == 0)
        return s_fail(err, errlen, "empty");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c < 0x20 && c != '\n') || c >= 0x7f)
            return s_fail(err, errlen, "not a signature file (binary or non-ASCII bytes)");
    }
    const char *p = text, *end = text + len;
    size_t mlen = strlen(S_MAGIC);
    if (len < mlen + 1 || memcmp(p, S_MAGIC "\n", mlen + 1) != 0)
        return s_fail(err, errlen, "not a signature file (the first line must be '%s')", S_MAGIC);
    p += mlen + 1;
    agreements_sig_t sig;
    memset(&sig, 0, sizeof sig);
    const char *v;
    size_t vl;
    if (s_line(&p, end, "partnership", &v, &vl, err, errlen, 2) != 0)
        return -1;
    if (vl >= sizeof sig.partnership || !names_is_token_n(v, vl))
        return s_fail(err, errlen, "line 2: bad partnership");
    memcpy(sig.partnership, v, vl);
    if (s_line(&p, end, "version", &v, &vl, err, errlen, 3) != 0)
        return -1;
    if (vl > 19 || v[0] == '0')
        return s_fail(err, errlen, "line 3: bad version");
    for (size_t i = 0; i < vl; i++) {
        if (v[i] < '0' || v[i] > '9')
            return s_fail(err, errlen, "line 3: bad version");
        sig.version = sig.version * 10 + (uint64_t)(v[i] - '0');
    }
    if (s_line(&p, end, "sha256", &v, &vl, err, errlen, 4) != 0)
        return -1;
    if (!s_hex(v, vl, sig.hash, sizeof sig.hash))
        return s_fail(err, errlen, "line 4: sha256 must be 64 lowercase hex digits");
    if (s_line(&p, end, "signer", &v, &vl, err, errlen, 5) != 0)
        return -1;
    if (vl >= sizeof sig.signer || !names_is_org_n(v, vl))
        return s_fail(err, errlen, "line 5: the signer is not an org id");
    memcpy(sig.signer, v, vl);
    if (s_line(&p, end, "signature", &v, &vl, err, errlen, 6) != 0)
        return -1;
    if (!s_hex(v, vl, sig.signature, sizeof sig.signature))
        return s_fail(err, errlen, "line 6: signature must be 128 lowercase hex digits");
    if (p != end)
        return s_fail(err, errlen, "line 7: unexpected text after the signature");
    *out = sig;
    return 0;
}

int agreements_sig_verify(const agreements_sig_t *sig, const agreements_t *agreements,
                          const uint8_t *pk, char *err, size_t errlen)
{
    if (strcmp(sig->partnership, agreements_partnership(agreements)) != 0)
        return s_fail(err, errlen, "signs partnership '%s', not '%s'", sig->partnership,
                      agreements_partnership(agreements));
    if (sig->version != agreements_version(agreements))
        return s_fail(err, errlen, "signs version %" PRIu64 ", not version %" PRIu64, sig->version,
                      agreements_version(agreements));
    if (sodium_memcmp(sig->hash, agreements_hash(agreements), AGREEMENTS_HASH_BYTES) != 0)
        return s_fail(err, errlen, "signs another file of version %" PRIu64 " (its sha256 differs)",
                      sig->version);
    char payload[SIGDOMAIN_PAYLOAD_MAX];
    size_t len =
        agreements_sig_payload(sig->partnership, sig->version, sig->hash, payload, sizeof payload);
    if (!len || sigdomain_verify(SIGDOMAIN_AGREEMENTS, (const uint8_t *)payload, len,
                                 sig->signature, pk) != 0)
        return s_fail(err, errlen, "the signature does not verify with %s's sign key", sig->signer);
    return 0;
}
