/*  checkpoint: C2SP signed notes, checkpoints and cosignatures; see
    checkpoint.h for the format and Hartslag's strict profile. */
#include "checkpoint.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

_Static_assert(CHECKPOINT_PUBLICKEYBYTES == crypto_sign_PUBLICKEYBYTES, "pk size");
_Static_assert(CHECKPOINT_SECRETKEYBYTES == crypto_sign_SECRETKEYBYTES, "sk size");
_Static_assert(CHECKPOINT_HASHBYTES == crypto_hash_sha256_BYTES, "hash size");

#define S_EM_DASH "\xE2\x80\x94" /* U+2014 in UTF-8 */
#define S_EM_DASH_LEN 3
#define S_SIG_BYTES crypto_sign_BYTES                          /* 64 */
#define S_LOG_BLOB (CHECKPOINT_KEYIDBYTES + S_SIG_BYTES)       /* key ID || sig */
#define S_COSIG_BLOB (CHECKPOINT_KEYIDBYTES + 8 + S_SIG_BYTES) /* key ID || time || sig */
#define S_ROOT_B64_LEN 44                                      /* base64 of 32 bytes */
#define S_COSIG_HEADER "cosignature/v1\n"
/* "cosignature/v1\n" + "time " + 20 digits + "\n" + body */
#define S_COSIG_MSG_MAX (15 + 5 + 20 + 1 + CHECKPOINT_BODY_MAX)

static const char *const s_errors[CHECKPOINT_ERR_COUNT_] = {
    [CHECKPOINT_OK] = "ok",
    [CHECKPOINT_ERR_ARGS] = "invalid argument",
    [CHECKPOINT_ERR_TOO_LARGE] = "note or signature line too large",
    [CHECKPOINT_ERR_ENCODING] = "invalid UTF-8 or a control character in the note",
    [CHECKPOINT_ERR_NO_SEPARATOR] = "note has no single blank line before its signatures",
    [CHECKPOINT_ERR_BODY] = "malformed checkpoint body (origin, tree size or root hash)",
    [CHECKPOINT_ERR_SIGNATURE_LINE] = "malformed signature line",
    [CHECKPOINT_ERR_TOO_MANY] = "too many signature lines",
    [CHECKPOINT_ERR_ORIGIN] = "checkpoint is for another log (origin)",
    [CHECKPOINT_ERR_NOT_SIGNED] = "no signature from the expected key",
    [CHECKPOINT_ERR_BAD_SIGNATURE] = "signature does not verify",
    [CHECKPOINT_ERR_DUPLICATE] = "two signature lines from the same key",
    [CHECKPOINT_ERR_TIME] = "cosignature time out of range",
    [CHECKPOINT_ERR_BUFFER] = "output buffer too small",
};

const char *checkpoint_strerror(checkpoint_err_t err)
{
    if ((unsigned)err >= CHECKPOINT_ERR_COUNT_)
        return "unknown checkpoint error";
    return s_errors[err];
}

/* One parsed signature line; pointers borrow from the note. */
typedef struct {
    const char *name;                        /* key name, not NUL-terminated */
    size_t name_len;                         /* its length */
    unsigned char id[CHECKPOINT_KEYIDBYTES]; /* key ID */
    unsigned char sig[S_COSIG_BLOB];         /* bytes after the key ID (first ones only) */
    size_t sig_len;                          /* decoded length after the key ID, may exceed sig */
} s_line_t;

/* A syntactically valid note. Its lines are read again one at a time with
   s_take_line (no array of lines: a note may carry CHECKPOINT_SIGS_MAX). */
typedef struct {
    size_t body_len; /* note text, final newline included */
    size_t sigs_at;  /* offset of the first signature line */
    size_t count;    /* signature lines */
} s_note_t;

/* ---- Syntax ---------------------------------------------------------- */

/* Decodes the UTF-8 sequence at p (at most len bytes): the code point, or
   -1 for an invalid sequence (overlong, surrogate, above U+10FFFF,
   truncated). *size receives its length. */
static long s_utf8_next(const unsigned char *p, size_t len, size_t *size)
{
    unsigned char c = p[0];
    size_t n;
    long cp, min;
    if (c < 0x80) {
        *size = 1;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07, min = 0x10000;
    else
        return -1;
    if (len < n)
        return -1;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *size = n;
    return cp;
}

/* signed-note: valid UTF-8 and no ASCII control character but newline. */
static bool s_bytes_ok(const char *p, size_t len)
{
    const unsigned char *u = (const unsigned char *)p;
    for (size_t i = 0; i < len;) {
        size_t size = 0;
        long cp = s_utf8_next(u + i, len - i, &size);
        if (cp < 0 || (cp < 0x20 && cp != '\n'))
            return false;
        i += size;
    }
    return true;
}

/* Unicode White_Space (what Go's unicode.IsSpace says), outside ASCII. */
static bool s_unicode_space(long cp)
{
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* signed-note key names in signature lines: non-empty, no Unicode space,
   no '+' (the note is already known to be valid UTF-8 without controls).
   Lines from unknown keys may use any such name. */
static bool s_spec_name_ok(const char *p, size_t len)
{
    const unsigned char *u = (const unsigned char *)p;
    if (len == 0)
        return false;
    for (size_t i = 0; i < len;) {
        size_t size = 0;
        long cp = s_utf8_next(u + i, len - i, &size);
        if (cp < 0 || cp <= 0x20 || cp == '+' || s_unicode_space(cp))
            return false;
        i += size;
    }
    return true;
}

/* Hartslag's origins and the names it asks about: 1..CHECKPOINT_NAME_MAX
   of printable ASCII other than space and '+'. */
static bool s_name_ok(const char *p, size_t len)
{
    if (len == 0 || len > CHECKPOINT_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= 0x20 || c > 0x7e || c == '+')
            return false;
    }
    return true;
}

/* Length of a NUL-terminated name, or 0 when NULL, empty, too long or
   invalid. */
static size_t s_cname_len(const char *name)
{
    if (!name)
        return 0;
    size_t len = strnlen(name, CHECKPOINT_NAME_MAX + 1);
    return s_name_ok(name, len) ? len : 0;
}

/* The value of a base64 character (RFC 4648 §4 alphabet), or -1. */
static int s_b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Checks that b64 (b64_len characters) is canonical padded base64 (RFC
   4648 §4: whole groups, padding only at the end, zero padding bits) and
   decodes its first min(decoded length, max) bytes into out, without a
   buffer of the whole: a signature line may be long. Returns the decoded
   length of the whole, or -1. */
static long s_b64_decode(const char *b64, size_t b64_len, unsigned char *out, size_t max)
{
    if (b64_len == 0 || b64_len % 4 != 0)
        return -1;
    size_t pad = b64[b64_len - 1] == '=' ? (b64[b64_len - 2] == '=' ? 2 : 1) : 0;
    size_t data = b64_len - pad;
    uint32_t acc = 0;
    size_t bits = 0, got = 0;
    for (size_t i = 0; i < data; i++) {
        int v = s_b64_value(b64[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (got < max)
                out[got] = (unsigned char)(acc >> bits);
            got++;
            acc &= (1u << bits) - 1;
        }
    }
    /* What is left are the padding bits: they must be zero. */
    if (acc != 0)
        return -1;
    return (long)got;
}

/* Parses one signature line (without its newline) by the signed-note
   rules. */
static checkpoint_err_t s_parse_line(const char *p, size_t len, s_line_t *out)
{
    if (len < S_EM_DASH_LEN + 1 || memcmp(p, S_EM_DASH " ", S_EM_DASH_LEN + 1) != 0)
        return CHECKPOINT_ERR_SIGNATURE_LINE;
    p += S_EM_DASH_LEN + 1;
    len -= S_EM_DASH_LEN + 1;
    const char *sp = memchr(p, ' ', len);
    if (!sp)
        return CHECKPOINT_ERR_SIGNATURE_LINE;
    size_t name_len = (size_t)(sp - p);
    if (!s_spec_name_ok(p, name_len))
        return CHECKPOINT_ERR_SIGNATURE_LINE;
    const char *b64 = sp + 1;
    size_t b64_len = len - name_len - 1;
    unsigned char bin[CHECKPOINT_KEYIDBYTES + S_COSIG_BLOB];
    long n = s_b64_decode(b64, b64_len, bin, sizeof bin);
    if (n < CHECKPOINT_KEYIDBYTES + 1)
        return CHECKPOINT_ERR_SIGNATURE_LINE;
    out->name = p;
    out->name_len = name_len;
    memcpy(out->id, bin, CHECKPOINT_KEYIDBYTES);
    out->sig_len = (size_t)n - CHECKPOINT_KEYIDBYTES;
    memcpy(out->sig, bin + CHECKPOINT_KEYIDBYTES,
           out->sig_len < sizeof out->sig ? out->sig_len : sizeof out->sig);
    return CHECKPOINT_OK;
}

/* Parses the body: exactly origin, size, root. */
static checkpoint_err_t s_parse_body(const char *p, size_t len, checkpoint_t *cp)
{
    const char *line[3];
    size_t line_len[3];
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        const char *nl = at < len ? memchr(p + at, '\n', len - at) : NULL;
        if (!nl)
            return CHECKPOINT_ERR_BODY;
        line[i] = p + at;
        line_len[i] = (size_t)(nl - line[i]);
        at += line_len[i] + 1;
    }
    if (at != len) /* extension lines */
        return CHECKPOINT_ERR_BODY;
    if (!s_name_ok(line[0], line_len[0]))
        return CHECKPOINT_ERR_BODY;
    /* Size: decimal, no leading zero, no overflow. */
    if (line_len[1] == 0 || line_len[1] > 20 || (line_len[1] > 1 && line[1][0] == '0'))
        return CHECKPOINT_ERR_BODY;
    uint64_t size = 0;
    for (size_t i = 0; i < line_len[1]; i++) {
        char c = line[1][i];
        if (c < '0' || c > '9')
            return CHECKPOINT_ERR_BODY;
        unsigned d = (unsigned)(c - '0');
        if (size > (UINT64_MAX - d) / 10)
            return CHECKPOINT_ERR_BODY;
        size = size * 10 + d;
    }
    unsigned char root[CHECKPOINT_HASHBYTES];
    if (line_len[2] != S_ROOT_B64_LEN ||
        s_b64_decode(line[2], line_len[2], root, sizeof root) != CHECKPOINT_HASHBYTES)
        return CHECKPOINT_ERR_BODY;
    memcpy(cp->origin, line[0], line_len[0]);
    cp->origin[line_len[0]] = '\0';
    cp->size = size;
    memcpy(cp->root, root, sizeof root);
    return CHECKPOINT_OK;
}

/* Takes the signature line at *at (the note is known to end in a newline)
   and moves *at past it. */
static checkpoint_err_t s_take_line(const char *note, size_t len, size_t *at, s_line_t *line)
{
    const char *nl = memchr(note + *at, '\n', len - *at);
    /* nl != NULL: the note ends in a newline */
    size_t line_len = (size_t)(nl - (note + *at));
    checkpoint_err_t rc = s_parse_line(note + *at, line_len, line);
    *at += line_len + 1;
    return rc;
}

/* Splits and parses a whole note: the text ends at the last blank line
   (signed-note), and must be a Hartslag checkpoint body. */
static checkpoint_err_t s_parse_note(const char *note, size_t len, s_note_t *out, checkpoint_t *cp)
{
    if (!note || len == 0)
        return CHECKPOINT_ERR_ARGS;
    if (len > CHECKPOINT_OPEN_MAX)
        return CHECKPOINT_ERR_TOO_LARGE;
    if (!s_bytes_ok(note, len))
        return CHECKPOINT_ERR_ENCODING;
    size_t sep = len;
    for (size_t i = len - 1; i > 0; i--)
        if (note[i] == '\n' && note[i - 1] == '\n') {
            sep = i - 1;
            break;
        }
    /* none, or nothing after it: no signatures */
    if (sep == len || sep + 2 >= len)
        return CHECKPOINT_ERR_NO_SEPARATOR;
    out->body_len = sep + 1;
    checkpoint_err_t rc = s_parse_body(note, out->body_len, cp);
    if (rc != CHECKPOINT_OK)
        return rc;
    if (note[len - 1] != '\n')
        return CHECKPOINT_ERR_SIGNATURE_LINE;
    out->sigs_at = sep + 2;
    out->count = 0;
    size_t at = out->sigs_at;
    while (at < len) {
        if (out->count == CHECKPOINT_SIGS_MAX)
            return CHECKPOINT_ERR_TOO_MANY;
        s_line_t line;
        rc = s_take_line(note, len, &at, &line);
        if (rc != CHECKPOINT_OK)
            return rc;
        out->count++;
    }
    return CHECKPOINT_OK;
}

/* Parses a lone signature line that must end in its only newline. */
static checkpoint_err_t s_parse_lone_line(const char *line, size_t len, s_line_t *out)
{
    if (!line || len == 0)
        return CHECKPOINT_ERR_ARGS;
    if (len > CHECKPOINT_OPEN_MAX)
        return CHECKPOINT_ERR_TOO_LARGE;
    if (!s_bytes_ok(line, len))
        return CHECKPOINT_ERR_ENCODING;
    if (line[len - 1] != '\n' || memchr(line, '\n', len - 1))
        return CHECKPOINT_ERR_SIGNATURE_LINE;
    return s_parse_line(line, len - 1, out);
}

static bool s_line_is(const s_line_t *l, const char *name, size_t name_len,
                      const unsigned char id[CHECKPOINT_KEYIDBYTES])
{
    return l->name_len == name_len && memcmp(l->name, name, name_len) == 0 &&
           memcmp(l->id, id, CHECKPOINT_KEYIDBYTES) == 0;
}

/* ---- Key IDs and bodies ---------------------------------------------- */

static void s_key_id(const char *name, size_t name_len, unsigned char type,
                     const unsigned char pk[CHECKPOINT_PUBLICKEYBYTES],
                     unsigned char id[CHECKPOINT_KEYIDBYTES])
{
    unsigned char sep_type[2] = {'\n', type};
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)name, name_len);
    crypto_hash_sha256_update(&st, sep_type, sizeof sep_type);
    crypto_hash_sha256_update(&st, pk, CHECKPOINT_PUBLICKEYBYTES);
    crypto_hash_sha256_final(&st, h);
    memcpy(id, h, CHECKPOINT_KEYIDBYTES);
}

int checkpoint_key_id(const char *name, unsigned char type,
                      const unsigned char pk[CHECKPOINT_PUBLICKEYBYTES],
                      unsigned char id[CHECKPOINT_KEYIDBYTES])
{
    size_t name_len = s_cname_len(name);
    if (name_len == 0 || !pk || !id)
        return -1;
    s_key_id(name, name_len, type, pk, id);
    return 0;
}

checkpoint_err_t checkpoint_body(const checkpoint_t *cp, char *body, size_t body_max,
                                 size_t *body_len)
{
    if (!cp || !body || !body_len)
        return CHECKPOINT_ERR_ARGS;
    size_t olen = strnlen(cp->origin, sizeof cp->origin);
    if (olen == sizeof cp->origin || !s_name_ok(cp->origin, olen))
        return CHECKPOINT_ERR_ARGS;
    char root[S_ROOT_B64_LEN + 1];
    sodium_bin2base64(root, sizeof root, cp->root, sizeof cp->root, sodium_base64_VARIANT_ORIGINAL);
    char tmp[CHECKPOINT_BODY_MAX + 1];
    int n =
        snprintf(tmp, sizeof tmp, "%s\n%llu\n%s\n", cp->origin, (unsigned long long)cp->size, root);
    /* n < sizeof tmp by the definition of CHECKPOINT_BODY_MAX */
    if (n < 0 || (size_t)n >= sizeof tmp)
        return CHECKPOINT_ERR_ARGS;
    if ((size_t)n + 1 > body_max)
        return CHECKPOINT_ERR_BUFFER;
    memcpy(body, tmp, (size_t)n + 1);
    *body_len = (size_t)n;
    return CHECKPOINT_OK;
}

/* Writes "— <name> <base64(blob)>\n" at `out` (room for it checked by the
   caller with s_line_len). Returns its length. */
static size_t s_line_len(size_t name_len, size_t blob_len)
{
    return S_EM_DASH_LEN + 1 + name_len + 1 +
           (sodium_base64_ENCODED_LEN(blob_len, sodium_base64_VARIANT_ORIGINAL) - 1) + 1;
}

static size_t s_write_line(char *out, const char *name, size_t name_len, const unsigned char *blob,
                           size_t blob_len)
{
    size_t at = 0;
    memcpy(out, S_EM_DASH " ", S_EM_DASH_LEN + 1);
    at += S_EM_DASH_LEN + 1;
    memcpy(out + at, name, name_len);
    at += name_len;
    out[at++] = ' ';
    size_t b64_size = sodium_base64_ENCODED_LEN(blob_len, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(out + at, b64_size, blob, blob_len, sodium_base64_VARIANT_ORIGINAL);
    at += b64_size - 1;
    out[at++] = '\n';
    return at;
}

/* ---- Log signature --------------------------------------------------- */

checkpoint_err_t checkpoint_sign(const checkpoint_t *cp,
                                 const unsigned char sk[CHECKPOINT_SECRETKEYBYTES], char *note,
                                 size_t note_max, size_t *note_len)
{
    if (!cp || !sk || !note || !note_len)
        return CHECKPOINT_ERR_ARGS;
    char body[CHECKPOINT_BODY_MAX + 1];
    size_t body_len;
    checkpoint_err_t rc = checkpoint_body(cp, body, sizeof body, &body_len);
    if (rc != CHECKPOINT_OK)
        return rc;
    size_t olen = strlen(cp->origin);
    size_t total = body_len + 1 + s_line_len(olen, S_LOG_BLOB);
    if (total + 1 > note_max)
        return CHECKPOINT_ERR_BUFFER;

    unsigned char pk[CHECKPOINT_PUBLICKEYBYTES];
    unsigned char blob[S_LOG_BLOB];
    crypto_sign_ed25519_sk_to_pk(pk, sk);
    s_key_id(cp->origin, olen, CHECKPOINT_TYPE_ED25519, pk, blob);
    crypto_sign_detached(blob + CHECKPOINT_KEYIDBYTES, NULL, (const unsigned char *)body, body_len,
                         sk);

    memcpy(note, body, body_len);
    note[body_len] = '\n';
    size_t at = body_len + 1;
    at += s_write_line(note + at, cp->origin, olen, blob, sizeof blob);
    note[at] = '\0';
    *note_len = at;
    return CHECKPOINT_OK;
}

checkpoint_err_t checkpoint_open(const char *note, size_t note_len, const char *origin,
                                 const unsigned char pk[CHECKPOINT_PUBLICKEYBYTES],
                                 checkpoint_t *cp)
{
    size_t olen = s_cname_len(origin);
    if (olen == 0 || !pk || !cp)
        return CHECKPOINT_ERR_ARGS;
    s_note_t parsed;
    checkpoint_t got;
    checkpoint_err_t rc = s_parse_note(note, note_len, &parsed, &got);
    if (rc != CHECKPOINT_OK)
        return rc;
    if (strcmp(got.origin, origin) != 0)
        return CHECKPOINT_ERR_ORIGIN;
    unsigned char id[CHECKPOINT_KEYIDBYTES];
    s_key_id(origin, olen, CHECKPOINT_TYPE_ED25519, pk, id);
    size_t matched = 0;
    for (size_t at = parsed.sigs_at; at < note_len;) {
        s_line_t l;
        if (s_take_line(note, note_len, &at, &l) != CHECKPOINT_OK)
            return CHECKPOINT_ERR_SIGNATURE_LINE; /* not reached: parsed above */
        if (!s_line_is(&l, origin, olen, id))
            continue;
        if (++matched > 1)
            return CHECKPOINT_ERR_DUPLICATE;
        if (l.sig_len != S_SIG_BYTES ||
            crypto_sign_verify_detached(l.sig, (const unsigned char *)note, parsed.body_len, pk) !=
                0)
            return CHECKPOINT_ERR_BAD_SIGNATURE;
    }
    if (matched == 0)
        return CHECKPOINT_ERR_NOT_SIGNED;
    *cp = got;
    return CHECKPOINT_OK;
}

/* ---- Cosignatures ---------------------------------------------------- */

/* The cosigned message: header, time line, body. Returns its length. */
static size_t s_cosig_message(uint64_t timestamp, const char *body, size_t body_len,
                              unsigned char msg[S_COSIG_MSG_MAX])
{
    char head[48];
    int n =
        snprintf(head, sizeof head, S_COSIG_HEADER "time %llu\n", (unsigned long long)timestamp);
    /* 0 < n < sizeof head: at most 15 + 5 + 20 + 1 bytes */
    memcpy(msg, head, (size_t)n);
    memcpy(msg + n, body, body_len);
    return (size_t)n + body_len;
}

/* Verifies a parsed cosignature line over `body`. */
static checkpoint_err_t s_cosig_check(const s_line_t *l, const char *body, size_t body_len,
                                      const unsigned char pk[CHECKPOINT_PUBLICKEYBYTES],
                                      uint64_t *timestamp)
{
    if (l->sig_len != 8 + S_SIG_BYTES)
        return CHECKPOINT_ERR_BAD_SIGNATURE;
    uint64_t t = 0;
    for (int i = 0; i < 8; i++)
        t = (t << 8) | l->sig[i];
    if (t > (uint64_t)CHECKPOINT_TIME_MAX)
        return CHECKPOINT_ERR_TIME;
    unsigned char msg[S_COSIG_MSG_MAX];
    size_t msg_len = s_cosig_message(t, body, body_len, msg);
    if (crypto_sign_verify_detached(l->sig + 8, msg, msg_len, pk) != 0)
        return CHECKPOINT_ERR_BAD_SIGNATURE;
    if (timestamp)
        *timestamp = t;
    return CHECKPOINT_OK;
}

checkpoint_err_t checkpoint_cosign(const checkpoint_t *cp, const char *name,
                                   const unsigned char sk[CHECKPOINT_SECRETKEYBYTES],
                                   uint64_t timestamp, char *line, size_t line_max,
                                   size_t *line_len)
{
    size_t nlen = s_cname_len(name);
    if (!cp || nlen == 0 || !sk || !line || !line_len)
        return CHECKPOINT_ERR_ARGS;
    if (timestamp > (uint64_t)CHECKPOINT_TIME_MAX)
        return CHECKPOINT_ERR_TIME;
    char body[CHECKPOINT_BODY_MAX + 1];
    size_t body_len;
    checkpoint_err_t rc = checkpoint_body(cp, body, sizeof body, &body_len);
    if (rc != CHECKPOINT_OK)
        return rc;
    size_t total = s_line_len(nlen, S_COSIG_BLOB);
    if (total + 1 > line_max)
        return CHECKPOINT_ERR_BUFFER;

    unsigned char pk[CHECKPOINT_PUBLICKEYBYTES];
    unsigned char blob[S_COSIG_BLOB];
    crypto_sign_ed25519_sk_to_pk(pk, sk);
    s_key_id(name, nlen, CHECKPOINT_TYPE_COSIGNATURE, pk, blob);
    for (int i = 0; i < 8; i++)
        blob[CHECKPOINT_KEYIDBYTES + i] = (unsigned char)(timestamp >> (56 - 8 * i));
    unsigned char msg[S_COSIG_MSG_MAX];
    size_t msg_len = s_cosig_message(timestamp, body, body_len, msg);
    crypto_sign_detached(blob + CHECKPOINT_KEYIDBYTES + 8, NULL, msg, msg_len, sk);

    size_t at = s_write_line(line, name, nlen, blob, sizeof blob);
    line[at] = '\0';
    *line_len = at;
    return CHECKPOINT_OK;
}

checkpoint_err_t checkpoint_cosignature_verify(const checkpoint_t *cp, const char *line,
                                               size_t line_len, const char *name,
                                               const unsigned char pk[CHECKPOINT_PUBLICKEYBYTES],
                                               uint64_t *timestamp)
{
    size_t nlen = s_cname_len(name);
    if (!cp || nlen == 0 || !pk)
        return CHECKPOINT_ERR_ARGS;
    char body[CHECKPOINT_BODY_MAX + 1];
    size_t body_len;
    checkpoint_err_t rc = checkpoint_body(cp, body, sizeof body, &body_len);
    if (rc != CHECKPOINT_OK)
        return rc;
    s_line_t l;
    rc = s_parse_lone_line(line, line_len, &l);
    if (rc != CHECKPOINT_OK)
        return rc;
    unsigned char id[CHECKPOINT_KEYIDBYTES];
    s_key_id(name, nlen, CHECKPOINT_TYPE_COSIGNATURE, pk, id);
    if (!s_line_is(&l, name, nlen, id))
        return CHECKPOINT_ERR_NOT_SIGNED;
    return s_cosig_check(&l, body, body_len, pk, timestamp);
}

checkpoint_err_t checkpoint_cosigned(const char *note, size_t note_len, const char *name,
                                     const unsigned char pk[CHECKPOINT_PUBLICKEYBYTES],
                                     uint64_t *timestamp)
{
    size_t nlen = s_cname_len(name);
    if (nlen == 0 || !pk)
        return CHECKPOINT_ERR_ARGS;
    s_note_t parsed;
    checkpoint_t cp;
    checkpoint_err_t rc = s_parse_note(note, note_len, &parsed, &cp);
    if (rc != CHECKPOINT_OK)
        return rc;
    unsigned char id[CHECKPOINT_KEYIDBYTES];
    s_key_id(name, nlen, CHECKPOINT_TYPE_COSIGNATURE, pk, id);
    s_line_t found;
    bool have = false;
    for (size_t at = parsed.sigs_at; at < note_len;) {
        s_line_t l;
        if (s_take_line(note, note_len, &at, &l) != CHECKPOINT_OK)
            return CHECKPOINT_ERR_SIGNATURE_LINE; /* not reached: parsed above */
        if (!s_line_is(&l, name, nlen, id))
            continue;
        if (have)
            return CHECKPOINT_ERR_DUPLICATE;
        found = l;
        have = true;
    }
    if (!have)
        return CHECKPOINT_ERR_NOT_SIGNED;
    return s_cosig_check(&found, note, parsed.body_len, pk, timestamp);
}

checkpoint_err_t checkpoint_add_signature(const char *note, size_t note_len, const char *line,
                                          size_t line_len, char *out, size_t out_max,
                                          size_t *out_len)
{
    if (!out || !out_len)
        return CHECKPOINT_ERR_ARGS;
    s_note_t parsed;
    checkpoint_t cp;
    checkpoint_err_t rc = s_parse_note(note, note_len, &parsed, &cp);
    if (rc != CHECKPOINT_OK)
        return rc;
    s_line_t l;
    rc = s_parse_lone_line(line, line_len, &l);
    if (rc != CHECKPOINT_OK)
        return rc;
    for (size_t at = parsed.sigs_at; at < note_len;) {
        s_line_t held;
        if (s_take_line(note, note_len, &at, &held) != CHECKPOINT_OK)
            return CHECKPOINT_ERR_SIGNATURE_LINE; /* not reached: parsed above */
        if (s_line_is(&held, l.name, l.name_len, l.id))
            return CHECKPOINT_ERR_DUPLICATE;
    }
    if (parsed.count == CHECKPOINT_SIGS_MAX)
        return CHECKPOINT_ERR_TOO_MANY;
    if (line_len > CHECKPOINT_OPEN_MAX - note_len)
        return CHECKPOINT_ERR_TOO_LARGE;
    size_t total = note_len + line_len;
    if (total + 1 > out_max)
        return CHECKPOINT_ERR_BUFFER;
    memcpy(out, note, note_len);
    memcpy(out + note_len, line, line_len);
    out[total] = '\0';
    *out_len = total;
    return CHECKPOINT_OK;
}
