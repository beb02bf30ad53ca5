/*  fuzz_envelope: a sealed signal as a recipient daemon reads it.

    Every input goes through the recipient's whole path: envelope_unpack,
    envelope_verify with the fixed sender's key, wire_check_header,
    wire_check_sealed, and envelope_open as each recipient and as an org
    that is not one. The first input byte picks how the rest becomes a
    packed SealedSignal:

      0  raw      the bytes themselves
      1  xor      the valid signal sealed at start-up, XORed with the bytes
                  (bytes beyond its length are appended)
      2  keys     the valid signal without its wrapped keys, followed by the
                  bytes: protobuf merges what follows, so the fuzzer writes
                  the wrapped keys (the part the signature does not cover)
                  and may override any other field
      3  content  a signal sealed here by hand with the sender's real keys
                  around a hostile plaintext: byte 1 bit 0 set means bytes
                  2..3 (little-endian) give a length and that many bytes
                  are the serialized header instead of the valid one; the
                  rest is the plaintext SignalContent. This is a partner
                  whose key is sound but whose software is hostile, and the
                  only way to reach the decrypt and content checks.

    Invariants: open never succeeds where verify or wire_check_sealed
    fails; when the signature is bad, open reports exactly that; an org
    that is not a recipient never opens anything.
*/
#include <stdint.h>
#include <string.h>

#include "sigdomain.h"

#include "fuzz_common.h"

enum { MODE_RAW, MODE_XOR, MODE_KEYS, MODE_CONTENT, MODE_COUNT_ };

static fuzz_fixture_t s_fx;
static uint8_t *s_prefix;    /* the valid signal without wrapped keys, packed */
static size_t s_prefix_len;  /* its length */
static uint8_t *s_keys;      /* its wrapped keys as packed fields (tag 4) */
static size_t s_keys_len;    /* their length */
static uint8_t *s_header;    /* the valid signal's serialized header */
static size_t s_header_len;  /* its length */
static uint8_t *s_content;   /* a valid plaintext for the header above */
static size_t s_content_len; /* its length */
static unsigned char s_shared[FUZZ_RECIPIENTS][crypto_box_BEFORENMBYTES]; /* sender-recipient */
static uint8_t s_buf[ENVELOPE_SEALED_MAX + 4096]; /* the signal under test */

/* Appends a protobuf varint; returns the bytes written. */
static size_t s_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    do {
        out[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            out[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

/* Splits the valid signal into the parts the modes need; checks that it
   opens for both recipients. */
static void s_prepare(void)
{
    Hartslag__SealedSignal *s = NULL;
    FUZZ_CHECK(envelope_unpack(s_fx.sealed, s_fx.sealed_len, &s) == ENVELOPE_OK);
    Hartslag__SignalHeader *h = NULL;
    FUZZ_CHECK(wire_check_header(s->header.data, s->header.len, &h, NULL) == 0);
    for (size_t i = 0; i < FUZZ_RECIPIENTS; i++) {
        Hartslag__SignalContent *c = NULL;
        FUZZ_CHECK(envelope_open(s, h, &s_fx.sender_peer, s_fx.recipients[i].org,
                                 s_fx.recipients[i].ring, &c) == ENVELOPE_OK);
        if (i == 0) {
            s_content_len = hartslag__signal_content__get_packed_size(c);
            s_content = malloc(s_content_len);
            FUZZ_CHECK(s_content != NULL);
            hartslag__signal_content__pack(c, s_content);
        }
        envelope_content_destroy(&c);
        FUZZ_CHECK(
            crypto_box_beforenm(s_shared[i], s_fx.recipients[i].box_pk, s_fx.sender.box_sk) == 0);
    }
    s_header_len = s->header.len;
    s_header = malloc(s_header_len);
    FUZZ_CHECK(s_header != NULL);
    memcpy(s_header, s->header.data, s_header_len);

    s_keys = malloc(s->n_wrapped_keys * (ENVELOPE_WRAPPED_KEY_PACKED_MAX + 8));
    FUZZ_CHECK(s_keys != NULL);
    for (size_t i = 0; i < s->n_wrapped_keys; i++) {
        size_t n = hartslag__wrapped_key__get_packed_size(s->wrapped_keys[i]);
        s_keys[s_keys_len++] = (4 << 3) | 2;
        s_keys_len += s_varint(s_keys + s_keys_len, n);
        s_keys_len += hartslag__wrapped_key__pack(s->wrapped_keys[i], s_keys + s_keys_len);
    }

    size_t n_keys = s->n_wrapped_keys;
    s->n_wrapped_keys = 0;
    s_prefix_len = hartslag__sealed_signal__get_packed_size(s);
    s_prefix = malloc(s_prefix_len);
    FUZZ_CHECK(s_prefix != NULL);
    hartslag__sealed_signal__pack(s, s_prefix);
    s->n_wrapped_keys = n_keys;
    FUZZ_CHECK(s_prefix_len + s_keys_len == s_fx.sealed_len);

    hartslag__signal_header__free_unpacked(h, NULL);
    hartslag__sealed_signal__free_unpacked(s, NULL);
}

/* Seals `plain` under `header` with the sender's real keys, as a hostile
   but authenticated sender would (fixed content key and nonces, so the
   same input gives the same signal). Returns the packed length in s_buf,
   or 0 when the parts are out of the sizes a seal can carry. */
static size_t s_seal_by_hand(const uint8_t *header, size_t header_len, const uint8_t *plain,
                             size_t plain_len)
{
    if (header_len > ENVELOPE_HEADER_MAX || plain_len > ENVELOPE_CONTENT_MAX)
        return 0;
    unsigned char key[ENVELOPE_KEYBYTES];
    unsigned char nonce[ENVELOPE_NONCEBYTES];
    memset(key, 0x4b, sizeof key);
    memset(nonce, 0x6e, sizeof nonce);
    static uint8_t ct[ENVELOPE_CIPHERTEXT_MAX];
    unsigned long long ct_len = 0;
    FUZZ_CHECK(crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ct_len, plain, plain_len, header,
                                                          header_len, NULL, nonce, key) == 0);

    Hartslag__WrappedKey wk[FUZZ_RECIPIENTS];
    Hartslag__WrappedKey *wkp[FUZZ_RECIPIENTS];
    unsigned char wnonce[FUZZ_RECIPIENTS][ENVELOPE_WRAP_NONCEBYTES];
    unsigned char wrapped[FUZZ_RECIPIENTS][ENVELOPE_WRAPPEDBYTES];
    for (size_t i = 0; i < FUZZ_RECIPIENTS; i++) {
        memset(wnonce[i], 0x30 + (int)i, sizeof wnonce[i]);
        FUZZ_CHECK(crypto_box_easy_afternm(wrapped[i], key, sizeof key, wnonce[i], s_shared[i]) ==
                   0);
        hartslag__wrapped_key__init(&wk[i]);
        wk[i].recipient = (char *)s_fx.recipients[i].org;
        wk[i].nonce.data = wnonce[i];
        wk[i].nonce.len = sizeof wnonce[i];
        wk[i].wrapped.data = wrapped[i];
        wk[i].wrapped.len = sizeof wrapped[i];
        wkp[i] = &wk[i];
    }
    unsigned char commit[ENVELOPE_COMMITBYTES];
    crypto_generichash(commit, sizeof commit, (const unsigned char *)ENVELOPE_COMMIT_TAG,
                       sizeof ENVELOPE_COMMIT_TAG - 1, key, sizeof key);
    unsigned char sig[ENVELOPE_SIGBYTES] = {0};

    Hartslag__SealedSignal s = HARTSLAG__SEALED_SIGNAL__INIT;
    s.header.data = (uint8_t *)header;
    s.header.len = header_len;
    s.nonce.data = nonce;
    s.nonce.len = sizeof nonce;
    s.ciphertext.data = ct;
    s.ciphertext.len = (size_t)ct_len;
    s.n_wrapped_keys = FUZZ_RECIPIENTS;
    s.wrapped_keys = wkp;
    s.signature.data = sig;
    s.signature.len = sizeof sig;
    s.key_commitment.data = commit;
    s.key_commitment.len = sizeof commit;
    unsigned char hash[ENVELOPE_HASHBYTES];
    envelope_signed_hash(&s, hash);
    FUZZ_CHECK(sigdomain_sign(SIGDOMAIN_SIGNAL, hash, sizeof hash, s_fx.sender.sign_sk, sig) == 0);
    size_t len = hartslag__sealed_signal__get_packed_size(&s);
    FUZZ_CHECK(len <= sizeof s_buf);
    FUZZ_CHECK(hartslag__sealed_signal__pack(&s, s_buf) == len);
    return len;
}

/* Writes one seed: the mode byte, then `len` bytes of `data`. */
static void s_seed(const char *dir, const char *name, uint8_t mode, const uint8_t *data, size_t len)
{
    s_buf[0] = mode;
    FUZZ_CHECK(len + 1 <= sizeof s_buf);
    if (len)
        memcpy(s_buf + 1, data, len);
    fuzz_write_seed(dir, name, s_buf, len + 1);
}

static void s_write_seeds(const char *dir)
{
    s_seed(dir, "raw-valid", MODE_RAW, s_fx.sealed, s_fx.sealed_len);
    s_seed(dir, "raw-prefix", MODE_RAW, s_prefix, s_prefix_len);
    s_seed(dir, "xor-none", MODE_XOR, NULL, 0);
    const uint8_t flip[] = {0, 0, 0, 0, 1};
    s_seed(dir, "xor-flip", MODE_XOR, flip, sizeof flip);
    s_seed(dir, "keys-valid", MODE_KEYS, s_keys, s_keys_len);
    s_seed(dir, "keys-none", MODE_KEYS, NULL, 0);
    uint8_t content[2 + ENVELOPE_CONTENT_MAX];
    content[0] = 0;
    memcpy(content + 1, s_content, s_content_len);
    s_seed(dir, "content-valid", MODE_CONTENT, content, 1 + s_content_len);
    content[0] = 1;
    content[1] = (uint8_t)(s_header_len & 0xff);
    content[2] = (uint8_t)(s_header_len >> 8);
    memcpy(content + 3, s_header, s_header_len);
    memcpy(content + 3 + s_header_len, s_content, s_content_len);
    s_seed(dir, "content-header", MODE_CONTENT, content, 3 + s_header_len + s_content_len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    fuzz_fixture_init(&s_fx);
    s_prepare();
    const char *dir = fuzz_seed_dir();
    if (dir) {
        s_write_seeds(dir);
        exit(0);
    }
    return 0;
}

/* The recipient's path over one packed signal, with the invariants. */
static void s_process(const uint8_t *buf, size_t len)
{
    Hartslag__SealedSignal *s = NULL;
    envelope_error_t err = envelope_unpack(buf, len, &s);
    if (err != ENVELOPE_OK) {
        FUZZ_CHECK(s == NULL);
        FUZZ_CHECK(err == ENVELOPE_ERR_TOO_LARGE || err == ENVELOPE_ERR_MALFORMED);
        return;
    }
    envelope_error_t verified = envelope_verify(s, s_fx.sender.sign_pk);
    const char *reason = NULL;
    Hartslag__SignalHeader *h = NULL;
    if (wire_check_header(s->header.data, s->header.len, &h, &reason) != 0) {
        FUZZ_CHECK(reason != NULL && h == NULL);
        hartslag__sealed_signal__free_unpacked(s, NULL);
        return;
    }
    reason = NULL;
    int sealed_ok = wire_check_sealed(s, h, &reason);
    FUZZ_CHECK(sealed_ok == 0 || reason != NULL);

    const char *orgs[FUZZ_RECIPIENTS + 1];
    envelope_keyring_t *rings[FUZZ_RECIPIENTS + 1];
    for (size_t i = 0; i < FUZZ_RECIPIENTS; i++) {
        orgs[i] = s_fx.recipients[i].org;
        rings[i] = s_fx.recipients[i].ring;
    }
    orgs[FUZZ_RECIPIENTS] = "zorg-en-veiligheid"; /* not a recipient, our own keyring */
    rings[FUZZ_RECIPIENTS] = s_fx.recipients[0].ring;
    for (size_t i = 0; i < FUZZ_RECIPIENTS + 1; i++) {
        Hartslag__SignalContent *c = NULL;
        err = envelope_open(s, h, &s_fx.sender_peer, orgs[i], rings[i], &c);
        if (verified != ENVELOPE_OK)
            FUZZ_CHECK(err == verified);
        if (err == ENVELOPE_OK) {
            FUZZ_CHECK(c != NULL);
            FUZZ_CHECK(verified == ENVELOPE_OK && sealed_ok == 0);
            FUZZ_CHECK(i < FUZZ_RECIPIENTS);
            for (size_t j = 0; j < c->n_fields; j++)
                FUZZ_CHECK(c->fields[j]->name && c->fields[j]->value);
            envelope_content_destroy(&c);
            FUZZ_CHECK(c == NULL);
        } else {
            FUZZ_CHECK(c == NULL);
            FUZZ_CHECK(*envelope_error_token(err) && *envelope_strerror(err));
        }
    }
    hartslag__signal_header__free_unpacked(h, NULL);
    hartslag__sealed_signal__free_unpacked(s, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    size_t len = 0;
    switch (data[0] % MODE_COUNT_) {
    case MODE_RAW:
        s_process(in, n);
        return 0;
    case MODE_XOR:
        len = s_fx.sealed_len > n ? s_fx.sealed_len : n;
        if (len > sizeof s_buf)
            return 0;
        memcpy(s_buf, s_fx.sealed, s_fx.sealed_len);
        memset(s_buf + s_fx.sealed_len, 0, len - s_fx.sealed_len);
        for (size_t i = 0; i < n; i++)
            s_buf[i] ^= in[i];
        break;
    case MODE_KEYS:
        if (s_prefix_len + n > sizeof s_buf)
            return 0;
        memcpy(s_buf, s_prefix, s_prefix_len);
        memcpy(s_buf + s_prefix_len, in, n);
        len = s_prefix_len + n;
        break;
    case MODE_CONTENT: {
        const uint8_t *header = s_header;
        size_t header_len = s_header_len;
        if (n >= 1 && (in[0] & 1)) {
            if (n < 3)
                return 0;
            header_len = (size_t)in[1] | (size_t)in[2] << 8;
            if (header_len > n - 3)
                return 0;
            header = in + 3;
            in += 3 + header_len;
            n -= 3 + header_len;
        } else if (n >= 1) {
            in++;
            n--;
        }
        len = s_seal_by_hand(header, header_len, in, n);
        if (len == 0)
            return 0;
        break;
    }
    }
    s_process(s_buf, len);
    return 0;
}
