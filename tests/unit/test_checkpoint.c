/*  Tests for lib/checkpoint: byte-exact known answers from an independent
    Ed25519 and SHA-256 (Python), round trips, tampering, the strict
    parser's refusals, cosignatures, and mutation fuzzing. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"

/* ---- Known answers -----------------------------------------------------

   Computed with Python's hashlib and the `cryptography` package (OpenSSL's
   Ed25519), independent of libsodium:

   python3 - <<'EOF'
   import hashlib, base64
   from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
   from cryptography.hazmat.primitives import serialization as s
   def key(seed):
       k = Ed25519PrivateKey.from_private_bytes(seed)
       return k, k.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
   def kid(name, t, pk): return hashlib.sha256(name.encode() + b"\n" + bytes([t]) + pk).digest()[:4]
   log_sk, log_pk = key(bytes.fromhex(
       "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))  # RFC 8032 test 1
   cos_sk, cos_pk = key(bytes(range(32)))
   origin = "hartslag.passart-heerlen/audit"; cosigner = "hartslag.passart-heerlen/politie"
   root = hashlib.sha256(b"\x00hartslag").digest()
   body = f"{origin}\n1000\n{base64.b64encode(root).decode()}\n".encode()
   print("log key id", kid(origin, 1, log_pk).hex())
   print("cos key id", kid(cosigner, 4, cos_pk).hex())
   print("root", root.hex())
   sig = log_sk.sign(body)
   note = (body + b"\n" + "— ".encode() + origin.encode() + b" "
           + base64.b64encode(kid(origin,1,log_pk) + sig) + b"\n")
   print(repr(note.decode()))
   t = 1700000000
   msg = b"cosignature/v1\ntime %d\n" % t + body
   csig = cos_sk.sign(msg)
   line = ("— ".encode() + cosigner.encode() + b" "
           + base64.b64encode(kid(cosigner,4,cos_pk) + t.to_bytes(8,"big") + csig) + b"\n")
   print(repr(line.decode()))
   EOF
*/
#define ORIGIN "hartslag.passart-heerlen/audit"
#define COSIGNER "hartslag.passart-heerlen/politie"
#define KAT_TIME 1700000000u
static const char *const s_log_seed_hex =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char *const s_log_pk_hex =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char *const s_root_hex =
    "b0bd4793c2ff627afe1c772600d252489813a4b71fd6f0799306cbd4f185315c";
static const unsigned char s_log_key_id[4] = {0xed, 0x9b, 0x86, 0x85};
static const unsigned char s_cos_key_id[4] = {0x14, 0x14, 0xec, 0xc1};
static const char s_kat_note[] =
    ORIGIN "\n1000\nsL1Hk8L/Ynr+HHcmANJSSJgTpLcf1vB5kwbL1PGFMVw=\n\n"
           "\xE2\x80\x94 " ORIGIN " 7ZuGhSIM2o8O7AVHsUc6+DSMHZW3kvVny7v+7XEKkM+"
           "VHsjDQDz3481+APCP4hlWY+aMpftRrGdk3P6tguKbT1RyKQ0=\n";
static const char s_kat_cosig[] =
    "\xE2\x80\x94 " COSIGNER " FBTswQAAAABlU/EASq1K4bajUDn74KW6zNSd22C/siB/NV0yH5ItdDVZRNHqlj5suYl/"
    "SxuLff45GthmEeKDL4v25SG5mLF9GulQBg==\n";

typedef struct {
    unsigned char pk[CHECKPOINT_PUBLICKEYBYTES]; /* public key */
    unsigned char sk[CHECKPOINT_SECRETKEYBYTES]; /* secret key */
} keys_t;

static void s_unhex(const char *hex, unsigned char *out, size_t len)
{
    size_t got = 0;
    cr_assert_eq(sodium_hex2bin(out, len, hex, strlen(hex), NULL, &got, NULL), 0);
    cr_assert_eq(got, len);
}

static keys_t s_log_keys(void)
{
    keys_t k;
    unsigned char seed[32], pk[32];
    s_unhex(s_log_seed_hex, seed, 32);
    cr_assert_eq(crypto_sign_seed_keypair(k.pk, k.sk, seed), 0);
    s_unhex(s_log_pk_hex, pk, 32);
    cr_assert_arr_eq(k.pk, pk, 32);
    return k;
}

static keys_t s_cos_keys(void)
{
    keys_t k;
    unsigned char seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (unsigned char)i;
    cr_assert_eq(crypto_sign_seed_keypair(k.pk, k.sk, seed), 0);
    return k;
}

static keys_t s_random_keys(void)
{
    keys_t k;
    crypto_sign_keypair(k.pk, k.sk);
    return k;
}

static checkpoint_t s_kat_cp(void)
{
    checkpoint_t cp;
    memset(&cp, 0, sizeof cp);
    memcpy(cp.origin, ORIGIN, sizeof ORIGIN);
    cp.size = 1000;
    s_unhex(s_root_hex, cp.root, 32);
    return cp;
}

/* A signature line "— name base64(blob)\n" built by hand. */
static size_t s_make_line(char *out, size_t max, const char *name, const unsigned char *blob,
                          size_t blob_len)
{
    char b64[CHECKPOINT_NOTE_MAX];
    sodium_bin2base64(b64, sizeof b64, blob, blob_len, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(out, max, "\xE2\x80\x94 %s %s\n", name, b64);
    cr_assert(n > 0 && (size_t)n < max);
    return (size_t)n;
}

/* The KAT note with `extra` appended. */
static size_t s_note_plus(char *out, size_t max, const char *extra)
{
    int n = snprintf(out, max, "%s%s", s_kat_note, extra);
    cr_assert(n > 0 && (size_t)n < max);
    return (size_t)n;
}

static checkpoint_err_t s_open(const char *note, size_t len)
{
    keys_t k = s_log_keys();
    checkpoint_t cp;
    return checkpoint_open(note, len, ORIGIN, k.pk, &cp);
}

static checkpoint_err_t s_open_str(const char *note)
{
    return s_open(note, strlen(note));
}

/* ---- Known answers ---------------------------------------------------- */

Test(checkpoint, key_ids_match_independent_values)
{
    keys_t lk = s_log_keys(), ck = s_cos_keys();
    unsigned char id[4];
    cr_assert_eq(checkpoint_key_id(ORIGIN, CHECKPOINT_TYPE_ED25519, lk.pk, id), 0);
    cr_assert_arr_eq(id, s_log_key_id, 4);
    cr_assert_eq(checkpoint_key_id(COSIGNER, CHECKPOINT_TYPE_COSIGNATURE, ck.pk, id), 0);
    cr_assert_arr_eq(id, s_cos_key_id, 4);
    /* names outside the profile */
    cr_assert_eq(checkpoint_key_id("", 1, lk.pk, id), -1);
    cr_assert_eq(checkpoint_key_id("a b", 1, lk.pk, id), -1);
    cr_assert_eq(checkpoint_key_id("a+b", 1, lk.pk, id), -1);
    cr_assert_eq(checkpoint_key_id("caf\xC3\xA9", 1, lk.pk, id), -1);
    cr_assert_eq(checkpoint_key_id(NULL, 1, lk.pk, id), -1);
    cr_assert_eq(checkpoint_key_id("a", 1, NULL, id), -1);
    cr_assert_eq(checkpoint_key_id("a", 1, lk.pk, NULL), -1);
    char longname[CHECKPOINT_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[CHECKPOINT_NAME_MAX + 1] = '\0';
    cr_assert_eq(checkpoint_key_id(longname, 1, lk.pk, id), -1);
    longname[CHECKPOINT_NAME_MAX] = '\0';
    cr_assert_eq(checkpoint_key_id(longname, 1, lk.pk, id), 0);
}

Test(checkpoint, sign_is_byte_exact_and_opens)
{
    keys_t k = s_log_keys();
    checkpoint_t cp = s_kat_cp(), got;
    char note[CHECKPOINT_NOTE_MAX + 1];
    size_t len = 0;
    cr_assert_eq(checkpoint_sign(&cp, k.sk, note, sizeof note, &len), CHECKPOINT_OK);
    cr_assert_eq(len, strlen(s_kat_note));
    cr_assert_str_eq(note, s_kat_note);
    memset(&got, 0x77, sizeof got);
    cr_assert_eq(checkpoint_open(note, len, ORIGIN, k.pk, &got), CHECKPOINT_OK);
    cr_assert_str_eq(got.origin, ORIGIN);
    cr_assert_eq(got.size, 1000);
    cr_assert_arr_eq(got.root, cp.root, 32);

    char body[CHECKPOINT_BODY_MAX + 1];
    cr_assert_eq(checkpoint_body(&cp, body, sizeof body, &len), CHECKPOINT_OK);
    cr_assert_eq(len, strlen(body));
    cr_assert_eq(memcmp(body, s_kat_note, len), 0);
    cr_assert_eq(s_kat_note[len], '\n');
}

Test(checkpoint, cosign_is_byte_exact_and_verifies)
{
    keys_t ck = s_cos_keys(), lk = s_log_keys();
    checkpoint_t cp = s_kat_cp();
    char line[CHECKPOINT_LINE_MAX + 1];
    size_t len = 0;
    cr_assert_eq(checkpoint_cosign(&cp, COSIGNER, ck.sk, KAT_TIME, line, sizeof line, &len),
                 CHECKPOINT_OK);
    cr_assert_str_eq(line, s_kat_cosig);
    cr_assert_eq(len, strlen(s_kat_cosig));
    uint64_t t = 0;
    cr_assert_eq(checkpoint_cosignature_verify(&cp, line, len, COSIGNER, ck.pk, &t), CHECKPOINT_OK);
    cr_assert_eq(t, KAT_TIME);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, line, len, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_OK);

    char note[CHECKPOINT_NOTE_MAX + 1];
    size_t nlen;
    cr_assert_eq(checkpoint_add_signature(s_kat_note, strlen(s_kat_note), line, len, note,
                                          sizeof note, &nlen),
                 CHECKPOINT_OK);
    cr_assert_eq(nlen, strlen(s_kat_note) + len);
    cr_assert_eq(strlen(note), nlen);
    checkpoint_t got;
    cr_assert_eq(checkpoint_open(note, nlen, ORIGIN, lk.pk, &got), CHECKPOINT_OK);
    t = 0;
    cr_assert_eq(checkpoint_cosigned(note, nlen, COSIGNER, ck.pk, &t), CHECKPOINT_OK);
    cr_assert_eq(t, KAT_TIME);
    /* the log's own line is not a cosignature, and vice versa */
    cr_assert_eq(checkpoint_cosigned(note, nlen, ORIGIN, lk.pk, &t), CHECKPOINT_ERR_NOT_SIGNED);
    cr_assert_eq(checkpoint_cosigned(s_kat_note, strlen(s_kat_note), COSIGNER, ck.pk, &t),
                 CHECKPOINT_ERR_NOT_SIGNED);
    cr_assert_eq(checkpoint_open(note, nlen, ORIGIN, ck.pk, &got), CHECKPOINT_ERR_NOT_SIGNED);
}

/* ---- Round trips ------------------------------------------------------ */

Test(checkpoint, round_trip_sizes_and_origins)
{
    const char *origins[] = {"a", ORIGIN, "example.com/log42", "x/y/z~!#$%&'()*,-.:;<=>?@[]^_`{|}"};
    const uint64_t sizes[] = {0, 1, 9, 10, 1000, UINT64_C(18446744073709551615)};
    for (size_t o = 0; o < 4; o++)
        for (size_t s = 0; s < 6; s++) {
            keys_t k = s_random_keys(), c = s_random_keys();
            checkpoint_t cp, got;
            memset(&cp, 0, sizeof cp);
            snprintf(cp.origin, sizeof cp.origin, "%s", origins[o]);
            cp.size = sizes[s];
            randombytes_buf(cp.root, sizeof cp.root);
            char note[CHECKPOINT_NOTE_MAX + 1], line[CHECKPOINT_LINE_MAX + 1];
            size_t len, llen;
            cr_assert_eq(checkpoint_sign(&cp, k.sk, note, sizeof note, &len), CHECKPOINT_OK);
            cr_assert_eq(checkpoint_open(note, len, origins[o], k.pk, &got), CHECKPOINT_OK, "%s",
                         note);
            cr_assert_str_eq(got.origin, origins[o]);
            cr_assert_eq(got.size, sizes[s]);
            cr_assert_arr_eq(got.root, cp.root, 32);
            uint64_t ts = sizes[s] > CHECKPOINT_TIME_MAX ? CHECKPOINT_TIME_MAX : sizes[s];
            cr_assert_eq(checkpoint_cosign(&got, "w.example/1", c.sk, ts, line, sizeof line, &llen),
                         CHECKPOINT_OK);
            uint64_t t;
            cr_assert_eq(checkpoint_cosignature_verify(&cp, line, llen, "w.example/1", c.pk, &t),
                         CHECKPOINT_OK);
            cr_assert_eq(t, ts);
        }
    /* the longest origin fills CHECKPOINT_BODY_MAX exactly */
    keys_t k = s_random_keys();
    checkpoint_t cp, got;
    memset(&cp, 0, sizeof cp);
    memset(cp.origin, 'o', CHECKPOINT_NAME_MAX);
    cp.size = UINT64_MAX;
    char body[CHECKPOINT_BODY_MAX + 1], note[CHECKPOINT_NOTE_MAX + 1];
    size_t len;
    cr_assert_eq(checkpoint_body(&cp, body, sizeof body, &len), CHECKPOINT_OK);
    cr_assert_eq(len, (size_t)CHECKPOINT_BODY_MAX);
    cr_assert_eq(checkpoint_sign(&cp, k.sk, note, sizeof note, &len), CHECKPOINT_OK);
    cr_assert_eq(checkpoint_open(note, len, cp.origin, k.pk, &got), CHECKPOINT_OK);
}

/* ---- Tampering -------------------------------------------------------- */

Test(checkpoint, tampered_body_or_key_fails)
{
    keys_t k = s_log_keys();
    checkpoint_t cp;
    char note[CHECKPOINT_NOTE_MAX];
    size_t len = s_note_plus(note, sizeof note, "");
    cr_assert_eq(s_open(note, len), CHECKPOINT_OK);

    /* size 1000 -> 1001 */
    char *size = strstr(note, "\n1000\n");
    cr_assert(size);
    size[4] = '1';
    cr_assert_eq(s_open(note, len), CHECKPOINT_ERR_BAD_SIGNATURE);
    size[4] = '0';
    /* root: another valid base64 character */
    char *root = strstr(note, "sL1H");
    cr_assert(root);
    root[0] = 't';
    cr_assert_eq(s_open(note, len), CHECKPOINT_ERR_BAD_SIGNATURE);
    root[0] = 's';
    /* origin: expected one differs, or the note's differs */
    cr_assert_eq(checkpoint_open(note, len, "hartslag.passart-heerlen/audiT", k.pk, &cp),
                 CHECKPOINT_ERR_ORIGIN);
    note[0] = 'H';
    cr_assert_eq(s_open(note, len), CHECKPOINT_ERR_ORIGIN);
    cr_assert_eq(checkpoint_open(note, len, "Hartslag.passart-heerlen/audit", k.pk, &cp),
                 CHECKPOINT_ERR_NOT_SIGNED);
    note[0] = 'h';
    /* wrong key */
    keys_t other = s_random_keys();
    cr_assert_eq(checkpoint_open(note, len, ORIGIN, other.pk, &cp), CHECKPOINT_ERR_NOT_SIGNED);
    cr_assert_eq(s_open(note, len), CHECKPOINT_OK);

    /* a line with the right name and key ID but another key's signature */
    unsigned char blob[68];
    memcpy(blob, s_log_key_id, 4);
    crypto_sign_detached(blob + 4, NULL, (const unsigned char *)note,
                         strchr(strchr(strchr(note, '\n') + 1, '\n') + 1, '\n') + 1 - note,
                         other.sk);
    char forged[CHECKPOINT_NOTE_MAX], line[256];
    s_make_line(line, sizeof line, ORIGIN, blob, sizeof blob);
    size_t body_len = (size_t)(strstr(note, "\n\n") - note) + 2;
    memcpy(forged, note, body_len);
    snprintf(forged + body_len, sizeof forged - body_len, "%s", line);
    cr_assert_eq(s_open_str(forged), CHECKPOINT_ERR_BAD_SIGNATURE);
    /* the right line followed by a forged one from the same key: refused */
    len = s_note_plus(forged, sizeof forged, line);
    cr_assert_eq(s_open(forged, len), CHECKPOINT_ERR_DUPLICATE);
    /* the log's valid signature with one byte more */
    unsigned char good[69];
    {
        const char *sp = strrchr(s_kat_note, ' ');
        size_t glen;
        cr_assert_eq(sodium_base642bin(good, sizeof good, sp + 1, strlen(sp + 1) - 1, NULL, &glen,
                                       NULL, sodium_base64_VARIANT_ORIGINAL),
                     0);
        cr_assert_eq(glen, 68);
        good[68] = 0;
        s_make_line(line, sizeof line, ORIGIN, good, 68);
        memcpy(forged, note, body_len);
        snprintf(forged + body_len, sizeof forged - body_len, "%s", line);
        cr_assert_eq(s_open_str(forged), CHECKPOINT_OK);
        s_make_line(line, sizeof line, ORIGIN, good, 69);
        snprintf(forged + body_len, sizeof forged - body_len, "%s", line);
        cr_assert_eq(s_open_str(forged), CHECKPOINT_ERR_BAD_SIGNATURE);
    }
    /* key ID right, signature of the wrong length */
    s_make_line(line, sizeof line, ORIGIN, blob, 67);
    memcpy(forged, note, body_len);
    snprintf(forged + body_len, sizeof forged - body_len, "%s", line);
    cr_assert_eq(s_open_str(forged), CHECKPOINT_ERR_BAD_SIGNATURE);
}

Test(checkpoint, every_single_byte_change_is_refused)
{
    char note[CHECKPOINT_NOTE_MAX];
    size_t len = s_note_plus(note, sizeof note, "");
    keys_t k = s_log_keys();
    const unsigned char repl[] = {0x00, '\n', ' ', 'A', 'a', '0', '+', '/', '=', 0x80, 0xff};
    for (size_t i = 0; i < len; i++) {
        char saved = note[i];
        for (size_t r = 0; r < sizeof repl; r++) {
            if ((char)repl[r] == saved)
                continue;
            note[i] = (char)repl[r];
            checkpoint_t got;
            cr_assert_neq(checkpoint_open(note, len, ORIGIN, k.pk, &got), CHECKPOINT_OK,
                          "byte %zu -> 0x%02x accepted", i, repl[r]);
        }
        /* flip each bit */
        for (int b = 0; b < 8; b++) {
            note[i] = (char)(saved ^ (1 << b));
            checkpoint_t got;
            cr_assert_neq(checkpoint_open(note, len, ORIGIN, k.pk, &got), CHECKPOINT_OK,
                          "byte %zu bit %d accepted", i, b);
        }
        note[i] = saved;
    }
    /* every proper prefix, and every deletion of one byte */
    for (size_t n = 0; n < len; n++)
        cr_assert_neq(s_open(note, n), CHECKPOINT_OK, "prefix %zu accepted", n);
    char cut[CHECKPOINT_NOTE_MAX];
    for (size_t i = 0; i < len; i++) {
        memcpy(cut, note, i);
        memcpy(cut + i, note + i + 1, len - i - 1);
        cr_assert_neq(s_open(cut, len - 1), CHECKPOINT_OK, "deletion at %zu accepted", i);
    }
}

/* ---- The strict parser ------------------------------------------------ */

Test(checkpoint, malformed_notes_refused)
{
    char note[CHECKPOINT_NOTE_MAX * 2];
    const char *sig = strstr(s_kat_note, "\n\n") + 2; /* the signature line */
    size_t body_len = (size_t)(sig - s_kat_note) - 1;

    /* no blank line */
    snprintf(note, sizeof note, "%.*s%s", (int)body_len, s_kat_note, sig);
    cr_assert_eq(s_open_str(note), CHECKPOINT_ERR_NO_SEPARATOR);
    /* two blank lines */
    snprintf(note, sizeof note, "%.*s\n\n%s", (int)body_len, s_kat_note, sig);
    cr_assert_eq(s_open_str(note), CHECKPOINT_ERR_NO_SEPARATOR);
    /* blank line at the end */
    s_note_plus(note, sizeof note, "\n");
    cr_assert_eq(s_open_str(note), CHECKPOINT_ERR_NO_SEPARATOR);
    /* no signature at all */
    snprintf(note, sizeof note, "%.*s\n", (int)body_len, s_kat_note);
    cr_assert_eq(s_open_str(note), CHECKPOINT_ERR_SIGNATURE_LINE);
    /* missing final newline */
    snprintf(note, sizeof note, "%s", s_kat_note);
    note[strlen(note) - 1] = '\0';
    cr_assert_eq(s_open_str(note), CHECKPOINT_ERR_SIGNATURE_LINE);
    /* trailing garbage after the signatures */
    s_note_plus(note, sizeof note, "garbage\n");
    cr_assert_eq(s_open_str(note), CHECKPOINT_ERR_SIGNATURE_LINE);
    s_note_plus(note, sizeof note, "x");
    cr_assert_eq(s_open_str(note), CHECKPOINT_ERR_SIGNATURE_LINE);
    /* wrong dashes */
    const char *dashes[] = {
        "-- ",     "- ", "\xE2\x80\x93 ", "\xE2\x80\x94", "\xE2\x80\x94\t", "\xE2\x80\x94  ",
        "\xE2\x80"};
    const checkpoint_err_t dash_err[] = {
        CHECKPOINT_ERR_SIGNATURE_LINE, CHECKPOINT_ERR_SIGNATURE_LINE, CHECKPOINT_ERR_ENCODING,
        CHECKPOINT_ERR_SIGNATURE_LINE, CHECKPOINT_ERR_ENCODING,       CHECKPOINT_ERR_SIGNATURE_LINE,
        CHECKPOINT_ERR_ENCODING};
    for (size_t d = 0; d < 7; d++) {
        snprintf(note, sizeof note, "%.*s%s%s", (int)(body_len + 1), s_kat_note, dashes[d],
                 sig + 4);
        cr_assert_eq(s_open_str(note), dash_err[d], "dash %zu: %s", d,
                     checkpoint_strerror(s_open_str(note)));
    }
    /* em dash elsewhere than a line start */
    s_note_plus(note, sizeof note, "");
    note[2] = '\xE2';
    cr_assert_eq(s_open_str(note), CHECKPOINT_ERR_ENCODING);
    /* a whole em dash inside the origin, and inside a signature line */
    snprintf(note, sizeof note, "hartslag\xE2\x80\x94%s", s_kat_note + 8);
    cr_assert_eq(s_open_str(note), CHECKPOINT_ERR_ENCODING);
    s_note_plus(note, sizeof note,
                "\xE2\x80\x94 a\xE2\x80\x94"
                "b AAAAAAAA\n");
    cr_assert_eq(s_open_str(note), CHECKPOINT_ERR_ENCODING);
    /* NUL bytes: in the body, in the signature line, at the end */
    size_t len = s_note_plus(note, sizeof note, "");
    note[5] = '\0';
    cr_assert_eq(s_open(note, len), CHECKPOINT_ERR_ENCODING);
    len = s_note_plus(note, sizeof note, "");
    note[len - 3] = '\0';
    cr_assert_eq(s_open(note, len), CHECKPOINT_ERR_ENCODING);
    len = s_note_plus(note, sizeof note, "");
    cr_assert_eq(s_open(note, len + 1), CHECKPOINT_ERR_ENCODING);
    /* CR, tab */
    len = s_note_plus(note, sizeof note, "");
    note[body_len - 1] = '\r';
    cr_assert_eq(s_open(note, len), CHECKPOINT_ERR_ENCODING);
    note[body_len - 1] = '\t';
    cr_assert_eq(s_open(note, len), CHECKPOINT_ERR_ENCODING);
    /* empty, NULL, oversize */
    cr_assert_eq(s_open("", 0), CHECKPOINT_ERR_ARGS);
    cr_assert_eq(s_open(NULL, 10), CHECKPOINT_ERR_ARGS);
    static char big[CHECKPOINT_NOTE_MAX + 1];
    memset(big, 'a', sizeof big);
    cr_assert_eq(s_open(big, sizeof big), CHECKPOINT_ERR_TOO_LARGE);
}

Test(checkpoint, malformed_bodies_refused)
{
    keys_t k = s_log_keys();
    const char *root = "sL1Hk8L/Ynr+HHcmANJSSJgTpLcf1vB5kwbL1PGFMVw=";
    struct {
        const char *origin, *size, *root, *extra;
    } cases[] = {
        {"", "1000", NULL, ""},                      /* empty origin */
        {"has space", "1000", NULL, ""},             /* space */
        {"a+b", "1000", NULL, ""},                   /* plus */
        {ORIGIN, "01000", NULL, ""},                 /* leading zero */
        {ORIGIN, "00", NULL, ""},                    /* leading zero */
        {ORIGIN, "", NULL, ""},                      /* empty size */
        {ORIGIN, "-1", NULL, ""},                    /* sign */
        {ORIGIN, "+1", NULL, ""},                    /* sign */
        {ORIGIN, "1 000", NULL, ""},                 /* space */
        {ORIGIN, "0x10", NULL, ""},                  /* hex */
        {ORIGIN, "18446744073709551616", NULL, ""},  /* 2^64 */
        {ORIGIN, "99999999999999999999", NULL, ""},  /* overflow, 20 digits */
        {ORIGIN, "100000000000000000000", NULL, ""}, /* 21 digits */
        {ORIGIN, "1000", "sL1Hk8L/Ynr+HHcmANJSSJgTpLcf1vB5kwbL1PGFMVw", ""},      /* no padding */
        {ORIGIN, "1000", "sL1Hk8L/Ynr+HHcmANJSSJgTpLcf1vB5kwbL1PGFMVx=", ""},     /* padding bits */
        {ORIGIN, "1000", "sL1Hk8L/Ynr+HHcmANJSSJgTpLcf1vB5kwbL1PGFMV==", ""},     /* 31 bytes */
        {ORIGIN, "1000", "sL1Hk8L/Ynr+HHcmANJSSJgTpLcf1vB5kwbL1PGFMVwA", ""},     /* 33 bytes */
        {ORIGIN, "1000", "sL1Hk8L-Ynr_HHcmANJSSJgTpLcf1vB5kwbL1PGFMVw=", ""},     /* URL alphabet */
        {ORIGIN, "1000", "sL1Hk8L/Ynr+HHcmANJSSJgTpLcf1vB5kwbL1PGFMVw=AAAA", ""}, /* long */
        {ORIGIN, "1000", NULL, "extension line\n"},                               /* extension */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        /* sign whatever body it is with the log key, so only the parser can
           refuse it */
        char body[1024], note[2048];
        int n = snprintf(body, sizeof body, "%s\n%s\n%s\n%s", cases[c].origin, cases[c].size,
                         cases[c].root ? cases[c].root : root, cases[c].extra);
        cr_assert(n > 0);
        unsigned char blob[68];
        cr_assert_eq(checkpoint_key_id(ORIGIN, 1, k.pk, blob), 0);
        crypto_sign_detached(blob + 4, NULL, (unsigned char *)body, (size_t)n, k.sk);
        char line[256];
        s_make_line(line, sizeof line, ORIGIN, blob, sizeof blob);
        snprintf(note, sizeof note, "%s\n%s", body, line);
        checkpoint_err_t rc = s_open_str(note);
        /* an empty size line makes a second blank line */
        checkpoint_err_t want =
            cases[c].size[0] ? CHECKPOINT_ERR_BODY : CHECKPOINT_ERR_NO_SEPARATOR;
        cr_assert_eq(rc, want, "case %zu: %s", c, checkpoint_strerror(rc));
    }
    /* a body of fewer than three lines */
    cr_assert_eq(s_open_str(ORIGIN "\n1000\n\n\xE2\x80\x94 a AAAAAAAA\n"), CHECKPOINT_ERR_BODY);
    cr_assert_eq(s_open_str("\n\n\xE2\x80\x94 a AAAAAAAA\n"), CHECKPOINT_ERR_BODY);
}

Test(checkpoint, malformed_signature_lines_refused)
{
    char note[CHECKPOINT_NOTE_MAX];
    const char *bad[] = {
        "\xE2\x80\x94 nameonly\n",            /* no signature */
        "\xE2\x80\x94  AAAAAAAA\n",           /* empty name */
        "\xE2\x80\x94 a+b AAAAAAAA\n",        /* plus in name */
        "\xE2\x80\x94 a AAAA\n",              /* 3 bytes: no room for key ID + sig */
        "\xE2\x80\x94 a AAAAAA==\n",          /* 4 bytes: key ID only */
        "\xE2\x80\x94 a AAAAAAA\n",           /* length not a multiple of 4 */
        "\xE2\x80\x94 a AAAAAAA!\n",          /* bad character */
        "\xE2\x80\x94 a AAAAAAAB=\n",         /* bad padding */
        "\xE2\x80\x94 a AAAAAAAA AAAAAAAA\n", /* two signatures */
        "\xE2\x80\x94 a AAAAAAAA \n",         /* trailing space */
        "\xE2\x80\x94 a AAAAAA/=\n",          /* non-zero padding bits */
        "\xE2\x80\x94 a \n",                  /* empty signature */
    };
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        size_t len = s_note_plus(note, sizeof note, bad[c]);
        cr_assert_eq(s_open(note, len), CHECKPOINT_ERR_SIGNATURE_LINE, "case %zu", c);
    }
    /* a name of CHECKPOINT_NAME_MAX is fine, one more is not */
    char line[600], name[CHECKPOINT_NAME_MAX + 2];
    memset(name, 'n', CHECKPOINT_NAME_MAX);
    name[CHECKPOINT_NAME_MAX] = '\0';
    snprintf(line, sizeof line, "\xE2\x80\x94 %s AAAAAAAA\n", name);
    size_t len = s_note_plus(note, sizeof note, line);
    cr_assert_eq(s_open(note, len), CHECKPOINT_OK);
    memset(name, 'n', CHECKPOINT_NAME_MAX + 1);
    name[CHECKPOINT_NAME_MAX + 1] = '\0';
    snprintf(line, sizeof line, "\xE2\x80\x94 %s AAAAAAAA\n", name);
    len = s_note_plus(note, sizeof note, line);
    cr_assert_eq(s_open(note, len), CHECKPOINT_ERR_SIGNATURE_LINE);
}

Test(checkpoint, signature_count_cap)
{
    /* the log's line plus 15 unknown ones: 16, accepted; 17 refused */
    char note[CHECKPOINT_NOTE_MAX + 200];
    size_t len = s_note_plus(note, sizeof note, "");
    for (int i = 0; i < 15; i++)
        len += (size_t)snprintf(note + len, sizeof note - len,
                                "\xE2\x80\x94 w%d.example AAAAAAAAAAAA\n", i);
    cr_assert_eq(s_open(note, len), CHECKPOINT_OK);
    len += (size_t)snprintf(note + len, sizeof note - len, "\xE2\x80\x94 w.example AAAAAAAA\n");
    cr_assert_eq(s_open(note, len), CHECKPOINT_ERR_TOO_MANY);
    /* one more than that is refused as too many as well, not overrun */
    len += (size_t)snprintf(note + len, sizeof note - len, "\xE2\x80\x94 v.example AAAAAAAA\n");
    cr_assert_eq(s_open(note, len), CHECKPOINT_ERR_TOO_MANY);
    /* unknown lines with long signatures (e.g. post-quantum) are fine
       within the size cap */
    unsigned char blob[3000]; /* the larger of the two lines below */
    memset(blob, 0x42, sizeof blob);
    char line[CHECKPOINT_NOTE_MAX];
    s_make_line(line, sizeof line, "pq.example", blob, 2424);
    len = s_note_plus(note, sizeof note, line);
    cr_assert_lt(len, (size_t)CHECKPOINT_NOTE_MAX);
    cr_assert_eq(s_open(note, len), CHECKPOINT_OK);
    s_make_line(line, sizeof line, "pq.example", blob, sizeof blob);
    len = s_note_plus(note, sizeof note, line);
    cr_assert_gt(len, (size_t)CHECKPOINT_NOTE_MAX);
    cr_assert_eq(s_open(note, len), CHECKPOINT_ERR_TOO_LARGE);
}

/* ---- Cosignatures ------------------------------------------------------ */

Test(checkpoint, cosignature_tampering)
{
    keys_t ck = s_cos_keys();
    checkpoint_t cp = s_kat_cp();
    const char *line = s_kat_cosig;
    size_t len = strlen(line);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, line, len, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_OK);
    /* another checkpoint */
    checkpoint_t other = cp;
    other.size++;
    cr_assert_eq(checkpoint_cosignature_verify(&other, line, len, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_BAD_SIGNATURE);
    other = cp;
    other.root[31] ^= 1;
    cr_assert_eq(checkpoint_cosignature_verify(&other, line, len, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_BAD_SIGNATURE);
    other = cp;
    other.origin[0] = 'H';
    cr_assert_eq(checkpoint_cosignature_verify(&other, line, len, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_BAD_SIGNATURE);
    /* wrong cosigner name or key */
    keys_t rk = s_random_keys();
    cr_assert_eq(checkpoint_cosignature_verify(&cp, line, len, COSIGNER, rk.pk, NULL),
                 CHECKPOINT_ERR_NOT_SIGNED);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, line, len, "hartslag.passart-heerlen/gemeente",
                                               ck.pk, NULL),
                 CHECKPOINT_ERR_NOT_SIGNED);

    /* re-timed: key ID kept, timestamp changed, signature kept */
    unsigned char blob[76];
    char b64[120];
    const char *sp = strrchr(line, ' ');
    snprintf(b64, sizeof b64, "%.*s", (int)(len - (size_t)(sp + 1 - line) - 1), sp + 1);
    size_t blen;
    cr_assert_eq(sodium_base642bin(blob, sizeof blob, b64, strlen(b64), NULL, &blen, NULL,
                                   sodium_base64_VARIANT_ORIGINAL),
                 0);
    cr_assert_eq(blen, 76);
    char forged[CHECKPOINT_LINE_MAX + 1];
    blob[11] ^= 1;
    size_t flen = s_make_line(forged, sizeof forged, COSIGNER, blob, sizeof blob);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, forged, flen, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_BAD_SIGNATURE);
    blob[11] ^= 1;
    /* timestamp above 2^63 - 1 */
    blob[4] |= 0x80;
    flen = s_make_line(forged, sizeof forged, COSIGNER, blob, sizeof blob);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, forged, flen, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_TIME);
    blob[4] &= 0x7f;
    /* signature flipped */
    blob[40] ^= 0x10;
    flen = s_make_line(forged, sizeof forged, COSIGNER, blob, sizeof blob);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, forged, flen, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_BAD_SIGNATURE);
    blob[40] ^= 0x10;
    /* a valid cosignature with one byte more */
    unsigned char long_blob[77];
    memcpy(long_blob, blob, 76);
    long_blob[76] = 0;
    flen = s_make_line(forged, sizeof forged, COSIGNER, long_blob, sizeof long_blob);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, forged, flen, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_BAD_SIGNATURE);
    flen = s_make_line(forged, sizeof forged, COSIGNER, blob, sizeof blob);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, forged, flen, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_OK);
    /* a cosignature without its timestamp (68 bytes) */
    unsigned char short_blob[68];
    memcpy(short_blob, blob, 4);
    memcpy(short_blob + 4, blob + 12, 64);
    flen = s_make_line(forged, sizeof forged, COSIGNER, short_blob, sizeof short_blob);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, forged, flen, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_BAD_SIGNATURE);

    /* line framing: no newline, two lines, NUL, too long, NULL */
    cr_assert_eq(checkpoint_cosignature_verify(&cp, line, len - 1, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_SIGNATURE_LINE);
    char two[2 * CHECKPOINT_LINE_MAX];
    snprintf(two, sizeof two, "%s%s", line, line);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, two, strlen(two), COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_SIGNATURE_LINE);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, line, len + 1, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_ENCODING);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, NULL, len, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, line, 0, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_ARGS);
    static char big[CHECKPOINT_NOTE_MAX + 1];
    memset(big, 'a', sizeof big);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, big, sizeof big, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_TOO_LARGE);
    cr_assert_eq(checkpoint_cosignature_verify(NULL, line, len, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, line, len, NULL, ck.pk, NULL),
                 CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_cosignature_verify(&cp, line, len, COSIGNER, NULL, NULL),
                 CHECKPOINT_ERR_ARGS);
}

Test(checkpoint, cosigned_notes)
{
    keys_t ck = s_cos_keys(), lk = s_log_keys();
    char note[CHECKPOINT_NOTE_MAX + 1], note2[CHECKPOINT_NOTE_MAX + 1];
    size_t len, len2;
    cr_assert_eq(checkpoint_add_signature(s_kat_note, strlen(s_kat_note), s_kat_cosig,
                                          strlen(s_kat_cosig), note, sizeof note, &len),
                 CHECKPOINT_OK);
    /* adding it again: duplicate */
    cr_assert_eq(checkpoint_add_signature(note, len, s_kat_cosig, strlen(s_kat_cosig), note2,
                                          sizeof note2, &len2),
                 CHECKPOINT_ERR_DUPLICATE);
    /* the log's own line again: duplicate */
    const char *logline = strstr(s_kat_note, "\n\n") + 2;
    cr_assert_eq(
        checkpoint_add_signature(note, len, logline, strlen(logline), note2, sizeof note2, &len2),
        CHECKPOINT_ERR_DUPLICATE);
    /* a note with the cosignature twice (hand-made) */
    len2 = (size_t)snprintf(note2, sizeof note2, "%s%s", note, s_kat_cosig);
    cr_assert_eq(checkpoint_cosigned(note2, len2, COSIGNER, ck.pk, NULL), CHECKPOINT_ERR_DUPLICATE);
    /* the cosignature moved onto another checkpoint of the same log */
    checkpoint_t cp = s_kat_cp();
    cp.size = 1001;
    char moved[CHECKPOINT_NOTE_MAX + 1], signed_note[CHECKPOINT_NOTE_MAX + 1];
    size_t mlen, slen;
    cr_assert_eq(checkpoint_sign(&cp, lk.sk, signed_note, sizeof signed_note, &slen),
                 CHECKPOINT_OK);
    cr_assert_eq(checkpoint_add_signature(signed_note, slen, s_kat_cosig, strlen(s_kat_cosig),
                                          moved, sizeof moved, &mlen),
                 CHECKPOINT_OK);
    checkpoint_t got;
    cr_assert_eq(checkpoint_open(moved, mlen, ORIGIN, lk.pk, &got), CHECKPOINT_OK);
    cr_assert_eq(checkpoint_cosigned(moved, mlen, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_BAD_SIGNATURE);
    /* malformed notes and arguments */
    cr_assert_eq(checkpoint_cosigned("x", 1, COSIGNER, ck.pk, NULL), CHECKPOINT_ERR_NO_SEPARATOR);
    cr_assert_eq(checkpoint_cosigned(note, len, "", ck.pk, NULL), CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_cosigned(note, len, COSIGNER, NULL, NULL), CHECKPOINT_ERR_ARGS);
}

Test(checkpoint, add_signature_caps)
{
    keys_t ck = s_cos_keys();
    checkpoint_t cp = s_kat_cp();
    char note[CHECKPOINT_NOTE_MAX + 1], out[CHECKPOINT_NOTE_MAX + 1];
    size_t len = s_note_plus(note, sizeof note, ""), olen = 0;
    /* fill to 16 lines with distinct cosigners */
    for (int i = 0; i < 15; i++) {
        char name[32], line[CHECKPOINT_LINE_MAX + 1];
        size_t llen;
        snprintf(name, sizeof name, "w%d.example", i);
        cr_assert_eq(checkpoint_cosign(&cp, name, ck.sk, 1, line, sizeof line, &llen),
                     CHECKPOINT_OK);
        cr_assert_eq(checkpoint_add_signature(note, len, line, llen, out, sizeof out, &olen),
                     CHECKPOINT_OK);
        memcpy(note, out, olen + 1);
        len = olen;
    }
    cr_assert_eq(s_open(note, len), CHECKPOINT_OK);
    cr_assert_eq(checkpoint_cosigned(note, len, "w14.example", ck.pk, NULL), CHECKPOINT_OK);
    char line[CHECKPOINT_LINE_MAX + 1];
    size_t llen;
    cr_assert_eq(checkpoint_cosign(&cp, COSIGNER, ck.sk, 1, line, sizeof line, &llen),
                 CHECKPOINT_OK);
    cr_assert_eq(checkpoint_add_signature(note, len, line, llen, out, sizeof out, &olen),
                 CHECKPOINT_ERR_TOO_MANY);
    /* size cap: a big unknown line */
    unsigned char blob[2300];
    memset(blob, 1, sizeof blob);
    char big[CHECKPOINT_NOTE_MAX];
    size_t blen = s_make_line(big, sizeof big, "pq.example", blob, sizeof blob);
    size_t klen = strlen(s_kat_note);
    cr_assert_gt(klen + blen, (size_t)CHECKPOINT_NOTE_MAX - 1000);
    char bigout[CHECKPOINT_NOTE_MAX + 1];
    cr_assert_eq(
        checkpoint_add_signature(s_kat_note, klen, big, blen, bigout, sizeof bigout, &olen),
        CHECKPOINT_OK);
    cr_assert_eq(checkpoint_add_signature(bigout, olen, line, llen, out, sizeof out, &olen),
                 CHECKPOINT_OK);
    char again[CHECKPOINT_NOTE_MAX + 1];
    size_t alen;
    unsigned char blob2[700];
    memset(blob2, 2, sizeof blob2);
    char big2[1024];
    size_t b2len = s_make_line(big2, sizeof big2, "pq2.example", blob2, sizeof blob2);
    cr_assert_eq(checkpoint_add_signature(out, olen, big2, b2len, again, sizeof again, &alen),
                 CHECKPOINT_ERR_TOO_LARGE);
    /* small buffer: nothing written */
    memset(out, 'Z', sizeof out);
    cr_assert_eq(checkpoint_add_signature(s_kat_note, klen, line, llen, out, klen + llen, &olen),
                 CHECKPOINT_ERR_BUFFER);
    cr_assert_eq(out[0], 'Z');
    cr_assert_eq(
        checkpoint_add_signature(s_kat_note, klen, line, llen, out, klen + llen + 1, &olen),
        CHECKPOINT_OK);
    /* bad inputs */
    cr_assert_eq(checkpoint_add_signature(s_kat_note, klen, line, llen - 1, out, sizeof out, &olen),
                 CHECKPOINT_ERR_SIGNATURE_LINE);
    cr_assert_eq(checkpoint_add_signature("bad", 3, line, llen, out, sizeof out, &olen),
                 CHECKPOINT_ERR_NO_SEPARATOR);
    cr_assert_eq(checkpoint_add_signature(s_kat_note, klen, line, llen, NULL, sizeof out, &olen),
                 CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_add_signature(s_kat_note, klen, line, llen, out, sizeof out, NULL),
                 CHECKPOINT_ERR_ARGS);
}

/* ---- Output buffers and arguments ---------------------------------------- */

Test(checkpoint, small_buffers_and_bad_arguments)
{
    keys_t k = s_log_keys();
    checkpoint_t cp = s_kat_cp();
    size_t want = strlen(s_kat_note), len = 12345;
    char note[CHECKPOINT_NOTE_MAX + 1];
    memset(note, 'Z', sizeof note);
    cr_assert_eq(checkpoint_sign(&cp, k.sk, note, want, &len), CHECKPOINT_ERR_BUFFER);
    cr_assert_eq(note[0], 'Z');
    cr_assert_eq(len, 12345);
    cr_assert_eq(checkpoint_sign(&cp, k.sk, note, want + 1, &len), CHECKPOINT_OK);
    cr_assert_eq(len, want);

    char line[CHECKPOINT_LINE_MAX + 1];
    size_t lwant = strlen(s_kat_cosig);
    keys_t ck = s_cos_keys();
    memset(line, 'Z', sizeof line);
    cr_assert_eq(checkpoint_cosign(&cp, COSIGNER, ck.sk, KAT_TIME, line, lwant, &len),
                 CHECKPOINT_ERR_BUFFER);
    cr_assert_eq(line[0], 'Z');
    cr_assert_eq(checkpoint_cosign(&cp, COSIGNER, ck.sk, KAT_TIME, line, lwant + 1, &len),
                 CHECKPOINT_OK);
    cr_assert_eq(checkpoint_cosign(&cp, COSIGNER, ck.sk, (uint64_t)CHECKPOINT_TIME_MAX + 1, line,
                                   sizeof line, &len),
                 CHECKPOINT_ERR_TIME);
    cr_assert_eq(
        checkpoint_cosign(&cp, COSIGNER, ck.sk, CHECKPOINT_TIME_MAX, line, sizeof line, &len),
        CHECKPOINT_OK);
    cr_assert_eq(checkpoint_cosign(&cp, "bad name", ck.sk, 1, line, sizeof line, &len),
                 CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_cosign(NULL, COSIGNER, ck.sk, 1, line, sizeof line, &len),
                 CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_cosign(&cp, COSIGNER, NULL, 1, line, sizeof line, &len),
                 CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_cosign(&cp, COSIGNER, ck.sk, 1, NULL, sizeof line, &len),
                 CHECKPOINT_ERR_ARGS);

    char body[CHECKPOINT_BODY_MAX + 1];
    cr_assert_eq(checkpoint_body(&cp, body, 10, &len), CHECKPOINT_ERR_BUFFER);
    cr_assert_eq(checkpoint_body(NULL, body, sizeof body, &len), CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_body(&cp, NULL, sizeof body, &len), CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_body(&cp, body, sizeof body, NULL), CHECKPOINT_ERR_ARGS);
    /* origins outside the profile cannot be signed */
    checkpoint_t bad = cp;
    snprintf(bad.origin, sizeof bad.origin, "with space");
    cr_assert_eq(checkpoint_sign(&bad, k.sk, note, sizeof note, &len), CHECKPOINT_ERR_ARGS);
    bad.origin[0] = '\0';
    cr_assert_eq(checkpoint_sign(&bad, k.sk, note, sizeof note, &len), CHECKPOINT_ERR_ARGS);
    memset(bad.origin, 'a', sizeof bad.origin); /* not NUL-terminated */
    cr_assert_eq(checkpoint_sign(&bad, k.sk, note, sizeof note, &len), CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_cosign(&bad, COSIGNER, ck.sk, 1, line, sizeof line, &len),
                 CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_cosignature_verify(&bad, s_kat_cosig, lwant, COSIGNER, ck.pk, NULL),
                 CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_sign(NULL, k.sk, note, sizeof note, &len), CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_sign(&cp, NULL, note, sizeof note, &len), CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_sign(&cp, k.sk, NULL, sizeof note, &len), CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_sign(&cp, k.sk, note, sizeof note, NULL), CHECKPOINT_ERR_ARGS);
    checkpoint_t got;
    cr_assert_eq(checkpoint_open(s_kat_note, want, NULL, k.pk, &got), CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_open(s_kat_note, want, ORIGIN, NULL, &got), CHECKPOINT_ERR_ARGS);
    cr_assert_eq(checkpoint_open(s_kat_note, want, ORIGIN, k.pk, NULL), CHECKPOINT_ERR_ARGS);
}

Test(checkpoint, error_texts)
{
    for (int e = 0; e < CHECKPOINT_ERR_COUNT_; e++) {
        const char *t = checkpoint_strerror((checkpoint_err_t)e);
        cr_assert(t && *t);
        for (int f = 0; f < e; f++)
            cr_assert_str_neq(t, checkpoint_strerror((checkpoint_err_t)f));
    }
    cr_assert_str_eq(checkpoint_strerror(CHECKPOINT_ERR_COUNT_), "unknown checkpoint error");
    cr_assert_str_eq(checkpoint_strerror((checkpoint_err_t)-1), "unknown checkpoint error");
}

/* ---- Mutation fuzzing ---------------------------------------------------

   Random edits of a cosigned note: never a crash, and whatever is accepted
   says exactly what the original said. */
Test(checkpoint, fuzzed_notes_accept_only_the_original)
{
    keys_t lk = s_log_keys(), ck = s_cos_keys();
    char orig[CHECKPOINT_NOTE_MAX + 1];
    size_t olen;
    cr_assert_eq(checkpoint_add_signature(s_kat_note, strlen(s_kat_note), s_kat_cosig,
                                          strlen(s_kat_cosig), orig, sizeof orig, &olen),
                 CHECKPOINT_OK);
    checkpoint_t want = s_kat_cp();
    const char alphabet[] = "\n \xE2\x80\x94+/=Aa09-\x00\xff";
    for (int r = 0; r < 20000; r++) {
        char buf[CHECKPOINT_NOTE_MAX + 64];
        size_t len = olen;
        memcpy(buf, orig, olen);
        int edits = 1 + (int)randombytes_uniform(3);
        for (int e = 0; e < edits && len > 0; e++) {
            size_t at = randombytes_uniform((uint32_t)len);
            char c = alphabet[randombytes_uniform(sizeof alphabet - 1)];
            switch (randombytes_uniform(4)) {
            case 0: /* replace */
                buf[at] = c;
                break;
            case 1: /* insert */
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = c;
                len++;
                break;
            case 2: /* delete */
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
                break;
            default: /* truncate */
                len = at;
                break;
            }
        }
        checkpoint_t got;
        if (checkpoint_open(buf, len, ORIGIN, lk.pk, &got) == CHECKPOINT_OK) {
            cr_assert_str_eq(got.origin, want.origin);
            cr_assert_eq(got.size, want.size);
            cr_assert_arr_eq(got.root, want.root, 32);
        }
        uint64_t t = 0;
        if (checkpoint_cosigned(buf, len, COSIGNER, ck.pk, &t) == CHECKPOINT_OK) {
            cr_assert_eq(t, KAT_TIME);
            cr_assert_eq(memcmp(buf, orig, strstr(orig, "\n\n") - orig + 1), 0);
        }
    }
}
