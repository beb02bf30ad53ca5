/*  Tests for lib/envelope: round trips for 1, 2 and 64 recipients; every
    single-byte change is detected; non-recipients cannot open; content
    whose field names differ from the header is refused (sealed by hand,
    with a valid signature); oversized input is refused before protobuf-c
    allocates anything of its claimed size; limits and error texts. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "sigdomain.h"
#include "names.h"
#include "wire.h"

#define T0 1735689600000ull /* 2025-01-01T00:00:00Z */
#define DAY_MS (24ull * 60 * 60 * 1000)
#define PARTIES (ENVELOPE_RECIPIENTS_MAX + 1)

/* One partner: org, keys, keyring. */
typedef struct {
    char org[40];
    unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sign_sk[crypto_sign_SECRETKEYBYTES];
    unsigned char box_pk[crypto_box_PUBLICKEYBYTES];
    unsigned char box_sk[crypto_box_SECRETKEYBYTES];
    envelope_keyring_t *ring;
} party_t;

static party_t s_sender;
static party_t s_parties[PARTIES]; /* recipients org-00 .. org-63, and org-64 */

static void s_party(party_t *p, const char *org)
{
    snprintf(p->org, sizeof p->org, "%s", org);
    crypto_sign_keypair(p->sign_pk, p->sign_sk);
    crypto_box_keypair(p->box_pk, p->box_sk);
    p->ring = envelope_keyring_new(p->box_sk);
    cr_assert_not_null(p->ring);
}

static void s_setup(void)
{
    cr_assert_geq(sodium_init(), 0);
    s_party(&s_sender, "gemeente");
    for (size_t i = 0; i < PARTIES; i++) {
        char org[16];
        snprintf(org, sizeof org, "org-%02zu", i);
        s_party(&s_parties[i], org);
    }
}

static void s_teardown(void)
{
    envelope_keyring_destroy(&s_sender.ring);
    for (size_t i = 0; i < PARTIES; i++)
        envelope_keyring_destroy(&s_parties[i].ring);
}

TestSuite(envelope, .init = s_setup, .fini = s_teardown);

static const envelope_field_t s_fields[] = {
    {"datum", "2025-01-01"},
    {"adres", "Markt 1, Heerlen"},
    {"categorie", "geluidsoverlast\n(herhaald)"},
};

static envelope_draft_t s_draft(void)
{
    envelope_draft_t d = {0};
    d.sender = "gemeente";
    d.sender_user = "u12345";
    d.signal_type = "overlast";
    d.purpose = "casusoverleg";
    d.agreements_version = 7;
    memset(d.subject, 0x5a, sizeof d.subject);
    d.fields = s_fields;
    d.n_fields = 3;
    d.free_text = "Buren melden \xc3\xa9\xc3\xa9n keer per week overlast.";
    d.created_at_ms = T0;
    d.valid_until_ms = T0 + 180 * DAY_MS;
    d.urgency = HARTSLAG__URGENCY__URGENCY_ROUTINE;
    return d;
}

static envelope_sender_t s_sender_keys(void)
{
    envelope_sender_t s = {s_sender.sign_sk, s_sender.ring};
    return s;
}

static envelope_peer_t s_sender_peer(void)
{
    envelope_peer_t p;
    p.org = s_sender.org;
    memcpy(p.sign_pk, s_sender.sign_pk, sizeof p.sign_pk);
    memcpy(p.box_pk, s_sender.box_pk, sizeof p.box_pk);
    return p;
}

/* Recipients org-00 .. org-(n-1). */
static void s_recipients(envelope_recipient_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        r[i].org = s_parties[i].org;
        memcpy(r[i].box_pk, s_parties[i].box_pk, sizeof r[i].box_pk);
    }
}

typedef struct {
    uint8_t *bytes;
    size_t len;
    unsigned char id[ENVELOPE_SIGNAL_ID_BYTES];
    Hartslag__SealedSignal *s;
    Hartslag__SignalHeader *h;
} signal_t;

static void s_seal(signal_t *sig, const envelope_draft_t *d, size_t n)
{
    envelope_recipient_t r[ENVELOPE_RECIPIENTS_MAX];
    s_recipients(r, n);
    envelope_sender_t keys = s_sender_keys();
    const char *reason = "unset";
    envelope_error_t err = envelope_seal(d, &keys, r, n, &sig->bytes, &sig->len, sig->id, &reason);
    cr_assert_eq(err, ENVELOPE_OK, "seal: %s (%s)", envelope_strerror(err), reason ? reason : "");
    cr_assert_null(reason);
    cr_assert_leq(sig->len, ENVELOPE_SEALED_MAX);
    cr_assert_eq(envelope_unpack(sig->bytes, sig->len, &sig->s), ENVELOPE_OK);
    const char *why = NULL;
    cr_assert_eq(wire_check_header(sig->s->header.data, sig->s->header.len, &sig->h, &why), 0, "%s",
                 why);
    cr_assert_eq(wire_check_sealed(sig->s, sig->h, &why), 0, "%s", why);
}

static void s_signal_free(signal_t *sig)
{
    if (sig->h)
        hartslag__signal_header__free_unpacked(sig->h, NULL);
    if (sig->s)
        hartslag__sealed_signal__free_unpacked(sig->s, NULL);
    free(sig->bytes);
    memset(sig, 0, sizeof *sig);
}

static envelope_error_t s_open_as(const signal_t *sig, size_t who, Hartslag__SignalContent **c)
{
    envelope_peer_t peer = s_sender_peer();
    return envelope_open(sig->s, sig->h, &peer, s_parties[who].org, s_parties[who].ring, c);
}

static void s_expect_content(const Hartslag__SignalContent *c, const envelope_draft_t *d)
{
    cr_assert_eq(c->n_fields, d->n_fields);
    /* Sorted by name: adres, categorie, datum. */
    static const size_t order[] = {1, 2, 0};
    for (size_t i = 0; i < c->n_fields; i++) {
        cr_expect_str_eq(c->fields[i]->name, d->fields[order[i]].name);
        cr_expect_str_eq(c->fields[i]->value, d->fields[order[i]].value);
    }
    if (d->free_text)
        cr_expect_str_eq(c->free_text, d->free_text);
    else
        cr_expect_null(c->free_text);
}

static void s_round_trip(size_t n)
{
    envelope_draft_t d = s_draft();
    signal_t sig = {0};
    s_seal(&sig, &d, n);
    cr_expect_eq(memcmp(sig.h->signal_id.data, sig.id, sizeof sig.id), 0);
    cr_expect_str_eq(sig.h->sender, "gemeente");
    cr_expect_str_eq(sig.h->sender_user, "u12345");
    cr_expect_str_eq(sig.h->signal_type, "overlast");
    cr_expect_str_eq(sig.h->purpose, "casusoverleg");
    cr_expect_eq(sig.h->agreements_version, 7);
    cr_expect_eq(sig.h->created_at_ms, T0);
    cr_expect_eq(sig.h->valid_until_ms, T0 + 180 * DAY_MS);
    cr_expect_eq(memcmp(sig.h->subject.data, d.subject, 32), 0);
    cr_assert_eq(sig.h->n_fields, 4);
    cr_expect_str_eq(sig.h->fields[0], "adres");
    cr_expect_str_eq(sig.h->fields[1], "categorie");
    cr_expect_str_eq(sig.h->fields[2], "datum");
    cr_expect_str_eq(sig.h->fields[3], "toelichting");
    cr_assert_eq(sig.h->n_recipients, n);
    for (size_t i = 0; i < n; i++)
        cr_expect_str_eq(sig.h->recipients[i], s_parties[i].org);
    cr_expect_eq(envelope_verify(sig.s, s_sender.sign_pk), ENVELOPE_OK);
    for (size_t i = 0; i < n; i++) {
        Hartslag__SignalContent *c = NULL;
        envelope_error_t err = s_open_as(&sig, i, &c);
        cr_assert_eq(err, ENVELOPE_OK, "recipient %zu: %s", i, envelope_strerror(err));
        s_expect_content(c, &d);
        envelope_content_destroy(&c);
        cr_expect_null(c);
        envelope_content_destroy(&c);
    }
    s_signal_free(&sig);
}

/* Ids sort by creation time and differ in their random part. */
Test(envelope, signal_ids_are_time_ordered_and_unique)
{
    envelope_draft_t d = s_draft();
    signal_t a = {0}, b = {0}, c = {0};
    s_seal(&a, &d, 1);
    s_seal(&b, &d, 1);
    d.created_at_ms += 1;
    s_seal(&c, &d, 1);
    uint64_t ms = 0;
    for (int i = 0; i < 6; i++)
        ms = ms << 8 | a.id[i];
    cr_assert_eq(ms, T0, "the first 6 bytes are the creation time");
    cr_assert_eq(memcmp(a.id, b.id, 6), 0);
    cr_assert_neq(memcmp(a.id + 6, b.id + 6, 10), 0, "same millisecond, different ids");
    cr_assert_lt(memcmp(a.id, c.id, 16), 0, "a later signal sorts after");
    cr_assert_lt(memcmp(b.id, c.id, 16), 0);
    cr_assert_eq(memcmp(a.id, a.h->signal_id.data, 16), 0, "the header carries the same id");
    s_signal_free(&a);
    s_signal_free(&b);
    s_signal_free(&c);
}

/* Issue 17: a signal that waited for its pseudonym keeps the id it got
   when it was asked for, and says how its subject was made. */
Test(envelope, given_id_and_subject_scheme_reach_the_header)
{
    envelope_draft_t d = s_draft();
    unsigned char id[ENVELOPE_SIGNAL_ID_BYTES];
    randombytes_buf(id, sizeof id);
    d.signal_id = id;
    d.subject_scheme = 2;
    d.subject_key_version = 5;
    signal_t sig = {0};
    s_seal(&sig, &d, 2);
    cr_assert_eq(memcmp(sig.id, id, sizeof id), 0);
    cr_assert_eq(memcmp(sig.h->signal_id.data, id, sizeof id), 0);
    cr_assert(sig.h->has_subject_scheme && sig.h->subject_scheme == 2);
    cr_assert(sig.h->has_subject_key_version && sig.h->subject_key_version == 5);
    cr_expect_eq(envelope_verify(sig.s, s_sender.sign_pk), ENVELOPE_OK);
    s_signal_free(&sig);
    /* Scheme 2 without a version is refused at sealing, as at the broker. */
    d.subject_key_version = 0;
    envelope_recipient_t r[1];
    s_recipients(r, 1);
    envelope_sender_t keys = s_sender_keys();
    uint8_t *bytes = NULL;
    size_t len = 0;
    const char *reason = NULL;
    cr_assert_eq(envelope_seal(&d, &keys, r, 1, &bytes, &len, id, &reason),
                 ENVELOPE_ERR_INVALID_HEADER);
    cr_assert_str_eq(reason, "subject_key_version_missing");
    cr_assert_null(bytes);
}

Test(envelope, round_trip_1)
{
    s_round_trip(1);
}

Test(envelope, round_trip_2)
{
    s_round_trip(2);
}

Test(envelope, round_trip_64)
{
    s_round_trip(64);
}

Test(envelope, round_trip_no_fields_no_text_and_now)
{
    envelope_draft_t d = s_draft();
    d.n_fields = 0;
    d.fields = NULL;
    d.free_text = NULL;
    d.created_at_ms = 0; /* now */
    uint64_t before = wire_now_ms();
    d.valid_until_ms = before + DAY_MS;
    signal_t sig = {0};
    s_seal(&sig, &d, 1);
    cr_expect_geq(sig.h->created_at_ms, before);
    cr_expect_leq(sig.h->created_at_ms, wire_now_ms());
    cr_expect_eq(sig.h->n_fields, 0);
    cr_expect_eq(sig.s->ciphertext.len, ENVELOPE_ABYTES);
    Hartslag__SignalContent *c = NULL;
    cr_assert_eq(s_open_as(&sig, 0, &c), ENVELOPE_OK);
    cr_expect_eq(c->n_fields, 0);
    cr_expect_null(c->free_text);
    envelope_content_destroy(&c);
    s_signal_free(&sig);
}

Test(envelope, signal_ids_differ)
{
    envelope_draft_t d = s_draft();
    signal_t a = {0}, b = {0};
    s_seal(&a, &d, 1);
    s_seal(&b, &d, 1);
    cr_expect_neq(memcmp(a.id, b.id, sizeof a.id), 0);
    cr_expect_neq(memcmp(a.s->nonce.data, b.s->nonce.data, ENVELOPE_NONCEBYTES), 0);
    s_signal_free(&a);
    s_signal_free(&b);
}

/* The signature construction, recomputed by hand from the spec (the tag
   without a length, then LE64 length || bytes for header, nonce and
   ciphertext), must verify against the signature seal produced. */
static void s_spec_hash(const Hartslag__SealedSignal *s, unsigned char hash[32])
{
    const ProtobufCBinaryData *parts[] = {&s->header, &s->nonce, &s->ciphertext,
                                          &s->key_commitment};
    size_t cap =
        18 + 4 * 8 + s->header.len + s->nonce.len + s->ciphertext.len + s->key_commitment.len;
    unsigned char *msg = malloc(cap);
    cr_assert_not_null(msg);
    size_t o = 0;
    memcpy(msg, "hartslag/signal/v1", 18);
    o = 18;
    for (size_t p = 0; p < 4; p++) {
        uint64_t len = parts[p]->len;
        for (size_t i = 0; i < 8; i++)
            msg[o++] = (unsigned char)(len >> (8 * i));
        memcpy(msg + o, parts[p]->data, parts[p]->len);
        o += parts[p]->len;
    }
    cr_assert_eq(o, cap);
    crypto_generichash(hash, 32, msg, cap, NULL, 0);
    free(msg);
}

Test(envelope, signature_construction)
{
    envelope_draft_t d = s_draft();
    signal_t sig = {0};
    s_seal(&sig, &d, 2);
    unsigned char spec[32], lib[32];
    s_spec_hash(sig.s, spec);
    envelope_signed_hash(sig.s, lib);
    cr_expect_eq(memcmp(spec, lib, 32), 0);
    /* The signed bytes: the tag line, then the digest (sigdomain.h). */
    unsigned char tagged[19 + 32];
    memcpy(tagged, "hartslag/signal/v1\n", 19);
    memcpy(tagged + 19, spec, 32);
    cr_expect_eq(
        crypto_sign_verify_detached(sig.s->signature.data, tagged, sizeof tagged, s_sender.sign_pk),
        0);
    /* The bare digest, as signed before issue 18, no longer verifies. */
    unsigned char bare[64];
    crypto_sign_detached(bare, NULL, spec, 32, s_sender.sign_sk);
    memcpy(sig.s->signature.data, bare, 64);
    cr_expect_eq(envelope_verify(sig.s, s_sender.sign_pk), ENVELOPE_ERR_BAD_SIGNATURE);
    s_signal_free(&sig);
}

/* --- every single-byte change is detected ------------------------------- */

/* Flips each byte of `part` in turn: the broker's verify and every
   recipient's open must both report a bad signature. */
static void s_flip_signed(signal_t *sig, ProtobufCBinaryData *part, const char *name)
{
    envelope_peer_t peer = s_sender_peer();
    for (size_t i = 0; i < part->len; i++) {
        for (unsigned mask = 0x01; mask <= 0x80; mask <<= 7) {
            part->data[i] ^= (uint8_t)mask;
            cr_expect_eq(envelope_verify(sig->s, s_sender.sign_pk), ENVELOPE_ERR_BAD_SIGNATURE,
                         "%s byte %zu not detected by verify", name, i);
            for (size_t who = 0; who < sig->h->n_recipients; who++) {
                Hartslag__SignalContent *c = NULL;
                envelope_error_t err = envelope_open(sig->s, sig->h, &peer, s_parties[who].org,
                                                     s_parties[who].ring, &c);
                cr_expect_eq(err, ENVELOPE_ERR_BAD_SIGNATURE, "%s byte %zu: open gave %s", name, i,
                             envelope_strerror(err));
                cr_expect_null(c);
            }
            part->data[i] ^= (uint8_t)mask;
        }
    }
}

Test(envelope, flip_header_nonce_ciphertext_signature)
{
    envelope_draft_t d = s_draft();
    signal_t sig = {0};
    s_seal(&sig, &d, 2);
    s_flip_signed(&sig, &sig.s->header, "header");
    s_flip_signed(&sig, &sig.s->nonce, "nonce");
    s_flip_signed(&sig, &sig.s->ciphertext, "ciphertext");
    s_flip_signed(&sig, &sig.s->signature, "signature");
    /* Everything restored: it opens again. */
    Hartslag__SignalContent *c = NULL;
    cr_assert_eq(s_open_as(&sig, 1, &c), ENVELOPE_OK);
    envelope_content_destroy(&c);
    s_signal_free(&sig);
}

Test(envelope, flip_wrapped_keys)
{
    envelope_draft_t d = s_draft();
    signal_t sig = {0};
    s_seal(&sig, &d, 2);
    for (size_t k = 0; k < 2; k++) {
        Hartslag__WrappedKey *w = sig.s->wrapped_keys[k];
        ProtobufCBinaryData *parts[] = {&w->nonce, &w->wrapped};
        for (size_t p = 0; p < 2; p++)
            for (size_t i = 0; i < parts[p]->len; i++) {
                parts[p]->data[i] ^= 0x01;
                Hartslag__SignalContent *c = NULL;
                envelope_error_t err = s_open_as(&sig, k, &c);
                cr_expect_eq(err, ENVELOPE_ERR_DECRYPT, "key %zu part %zu byte %zu: %s", k, p, i,
                             envelope_strerror(err));
                cr_expect_null(c);
                /* The other recipient is not affected. */
                cr_expect_eq(s_open_as(&sig, 1 - k, &c), ENVELOPE_OK);
                envelope_content_destroy(&c);
                parts[p]->data[i] ^= 0x01;
            }
        /* The recipient name in a wrapped key: every recipient refuses. */
        for (size_t i = 0; i < strlen(w->recipient); i++) {
            w->recipient[i] ^= 0x01;
            const char *why = NULL;
            cr_expect_eq(wire_check_sealed(sig.s, sig.h, &why), -1);
            for (size_t who = 0; who < 2; who++) {
                Hartslag__SignalContent *c = NULL;
                cr_expect_eq(s_open_as(&sig, who, &c), ENVELOPE_ERR_MALFORMED);
            }
            w->recipient[i] ^= 0x01;
        }
    }
    s_signal_free(&sig);
}

/* The recipient's whole path over packed bytes: unpack, header, sealed
   checks, open. Returns ENVELOPE_OK only when all of it succeeds. */
static envelope_error_t s_receive(const uint8_t *bytes, size_t len, size_t who)
{
    Hartslag__SealedSignal *s = NULL;
    envelope_error_t err = envelope_unpack(bytes, len, &s);
    if (err != ENVELOPE_OK)
        return err;
    Hartslag__SignalHeader *h = NULL;
    if (wire_check_header(s->header.data, s->header.len, &h, NULL) != 0) {
        hartslag__sealed_signal__free_unpacked(s, NULL);
        return ENVELOPE_ERR_INVALID_HEADER;
    }
    err = wire_check_sealed(s, h, NULL) == 0 ? ENVELOPE_OK : ENVELOPE_ERR_MALFORMED;
    if (err == ENVELOPE_OK) {
        envelope_peer_t peer = s_sender_peer();
        Hartslag__SignalContent *c = NULL;
        err = envelope_open(s, h, &peer, s_parties[who].org, s_parties[who].ring, &c);
        envelope_content_destroy(&c);
    }
    hartslag__signal_header__free_unpacked(h, NULL);
    hartslag__sealed_signal__free_unpacked(s, NULL);
    return err;
}

Test(envelope, flip_every_packed_byte)
{
    envelope_draft_t d = s_draft();
    d.n_fields = 1;
    d.free_text = NULL;
    signal_t sig = {0};
    s_seal(&sig, &d, 1);
    cr_assert_eq(s_receive(sig.bytes, sig.len, 0), ENVELOPE_OK);
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    for (size_t i = 0; i < sig.len; i++)
        for (size_t m = 0; m < sizeof masks; m++) {
            sig.bytes[i] ^= masks[m];
            cr_expect_neq(s_receive(sig.bytes, sig.len, 0), ENVELOPE_OK,
                          "flip 0x%02x at byte %zu of %zu not detected", masks[m], i, sig.len);
            sig.bytes[i] ^= masks[m];
        }
    /* Truncation at any point is detected too. */
    for (size_t len = 0; len < sig.len; len++)
        cr_expect_neq(s_receive(sig.bytes, len, 0), ENVELOPE_OK, "truncated to %zu", len);
    s_signal_free(&sig);
}

/* --- who may open -------------------------------------------------------- */

Test(envelope, non_recipient_cannot_open)
{
    envelope_draft_t d = s_draft();
    signal_t sig = {0};
    s_seal(&sig, &d, 2);
    Hartslag__SignalContent *c = NULL;
    /* org-64 is not a recipient. */
    cr_expect_eq(s_open_as(&sig, ENVELOPE_RECIPIENTS_MAX, &c), ENVELOPE_ERR_NOT_RECIPIENT);
    /* org-64 claiming to be org-00 still lacks org-00's box key. */
    envelope_peer_t peer = s_sender_peer();
    cr_expect_eq(envelope_open(sig.s, sig.h, &peer, s_parties[0].org,
                               s_parties[ENVELOPE_RECIPIENTS_MAX].ring, &c),
                 ENVELOPE_ERR_DECRYPT);
    /* The broker's keys (none) or the sender's own keyring cannot either. */
    cr_expect_eq(envelope_open(sig.s, sig.h, &peer, s_parties[0].org, s_sender.ring, &c),
                 ENVELOPE_ERR_DECRYPT);
    cr_expect_null(c);
    s_signal_free(&sig);
}

Test(envelope, wrong_sender_keys)
{
    envelope_draft_t d = s_draft();
    signal_t sig = {0};
    s_seal(&sig, &d, 2);
    Hartslag__SignalContent *c = NULL;
    envelope_peer_t peer = s_sender_peer();
    /* Another partner's signing key. */
    memcpy(peer.sign_pk, s_parties[5].sign_pk, sizeof peer.sign_pk);
    cr_expect_eq(envelope_verify(sig.s, peer.sign_pk), ENVELOPE_ERR_BAD_SIGNATURE);
    cr_expect_eq(envelope_open(sig.s, sig.h, &peer, s_parties[0].org, s_parties[0].ring, &c),
                 ENVELOPE_ERR_BAD_SIGNATURE);
    /* Right key, but the certificate is another org's. */
    peer = s_sender_peer();
    peer.org = "politie";
    cr_expect_eq(envelope_open(sig.s, sig.h, &peer, s_parties[0].org, s_parties[0].ring, &c),
                 ENVELOPE_ERR_WRONG_SENDER);
    /* Right signing key, wrong box key: the content key does not unwrap. */
    peer = s_sender_peer();
    memcpy(peer.box_pk, s_parties[5].box_pk, sizeof peer.box_pk);
    cr_expect_eq(envelope_open(sig.s, sig.h, &peer, s_parties[0].org, s_parties[0].ring, &c),
                 ENVELOPE_ERR_DECRYPT);
    /* A low-order box key. */
    memset(peer.box_pk, 0, sizeof peer.box_pk);
    cr_expect_eq(envelope_open(sig.s, sig.h, &peer, s_parties[0].org, s_parties[0].ring, &c),
                 ENVELOPE_ERR_BAD_KEY);
    cr_expect_null(c);
    s_signal_free(&sig);
}

Test(envelope, header_must_be_the_signed_one)
{
    envelope_draft_t d = s_draft();
    signal_t a = {0}, b = {0};
    s_seal(&a, &d, 2);
    s_seal(&b, &d, 2);
    Hartslag__SignalContent *c = NULL;
    envelope_peer_t peer = s_sender_peer();
    /* b's (valid, signed) header handed in with a's signal. */
    cr_expect_eq(envelope_open(a.s, b.h, &peer, s_parties[0].org, s_parties[0].ring, &c),
                 ENVELOPE_ERR_INVALID_HEADER);
    /* A header struct that breaks a rule. */
    a.h->urgency = (Hartslag__Urgency)9;
    cr_expect_eq(envelope_open(a.s, a.h, &peer, s_parties[0].org, s_parties[0].ring, &c),
                 ENVELOPE_ERR_INVALID_HEADER);
    cr_expect_null(c);
    s_signal_free(&a);
    s_signal_free(&b);
}

/* --- content that does not match its header, sealed by hand -------------- */

/* Seals by hand with libsodium, independently of envelope_seal: header
   fields and content are whatever the test says, the signature is valid.
   Recipient: org-00. `content` is the packed plaintext. */
static void s_hand_seal_committed(signal_t *sig, char **header_fields, size_t n_header_fields,
                                  const uint8_t *content, size_t content_len, bool honest);

static void s_hand_seal(signal_t *sig, char **header_fields, size_t n_header_fields,
                        const uint8_t *content, size_t content_len)
{
    s_hand_seal_committed(sig, header_fields, n_header_fields, content, content_len, true);
}

/* `honest` false: the signed commitment is to another key than the one
   that encrypts and is wrapped (the attack key commitment prevents). */
static void s_hand_seal_committed(signal_t *sig, char **header_fields, size_t n_header_fields,
                                  const uint8_t *content, size_t content_len, bool honest)
{
    uint8_t id[16], subject[32];
    randombytes_buf(id, sizeof id);
    memset(subject, 0x33, sizeof subject);
    char *recipients[] = {s_parties[0].org};
    Hartslag__SignalHeader h = HARTSLAG__SIGNAL_HEADER__INIT;
    h.signal_id.data = id;
    h.signal_id.len = sizeof id;
    h.sender = "gemeente";
    h.sender_user = "u1";
    h.n_recipients = 1;
    h.recipients = recipients;
    h.signal_type = "overlast";
    h.purpose = "casusoverleg";
    h.agreements_version = 1;
    h.subject.data = subject;
    h.subject.len = sizeof subject;
    h.n_fields = n_header_fields;
    h.fields = header_fields;
    h.created_at_ms = T0;
    h.valid_until_ms = T0 + DAY_MS;
    uint8_t header[ENVELOPE_HEADER_MAX];
    size_t header_len = hartslag__signal_header__pack(&h, header);

    unsigned char key[32], nonce[24], wnonce[24], wrapped[48], sigbytes[64], hash[32];
    crypto_aead_xchacha20poly1305_ietf_keygen(key);
    randombytes_buf(nonce, sizeof nonce);
    randombytes_buf(wnonce, sizeof wnonce);
    uint8_t *ct = malloc(content_len + 16);
    cr_assert_not_null(ct);
    unsigned long long ct_len;
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ct_len, content, content_len, header,
                                               header_len, NULL, nonce, key);
    cr_assert_eq(crypto_box_easy(wrapped, key, 32, wnonce, s_parties[0].box_pk, s_sender.box_sk),
                 0);
    Hartslag__WrappedKey wk = HARTSLAG__WRAPPED_KEY__INIT;
    wk.recipient = s_parties[0].org;
    wk.nonce.data = wnonce;
    wk.nonce.len = 24;
    wk.wrapped.data = wrapped;
    wk.wrapped.len = 48;
    Hartslag__WrappedKey *wkp = &wk;
    Hartslag__SealedSignal s = HARTSLAG__SEALED_SIGNAL__INIT;
    s.header.data = header;
    s.header.len = header_len;
    s.nonce.data = nonce;
    s.nonce.len = 24;
    s.ciphertext.data = ct;
    s.ciphertext.len = (size_t)ct_len;
    s.n_wrapped_keys = 1;
    s.wrapped_keys = &wkp;
    unsigned char commit[32], other[32];
    crypto_aead_xchacha20poly1305_ietf_keygen(other);
    crypto_generichash(commit, 32, (const unsigned char *)"hartslag/key-commitment/v1", 26,
                       honest ? key : other, 32);
    s.key_commitment.data = commit;
    s.key_commitment.len = 32;
    s_spec_hash(&s, hash);
    cr_assert_eq(sigdomain_sign(SIGDOMAIN_SIGNAL, hash, 32, s_sender.sign_sk, sigbytes), 0);
    s.signature.data = sigbytes;
    s.signature.len = 64;
    sig->len = hartslag__sealed_signal__get_packed_size(&s);
    sig->bytes = malloc(sig->len);
    cr_assert_not_null(sig->bytes);
    hartslag__sealed_signal__pack(&s, sig->bytes);
    free(ct);
    cr_assert_eq(envelope_unpack(sig->bytes, sig->len, &sig->s), ENVELOPE_OK);
    const char *why = NULL;
    cr_assert_eq(wire_check_header(sig->s->header.data, sig->s->header.len, &sig->h, &why), 0, "%s",
                 why);
    cr_assert_eq(envelope_verify(sig->s, s_sender.sign_pk), ENVELOPE_OK);
}

/* Packs a SignalContent with the given names (values "v") and free text. */
static size_t s_content(uint8_t *buf, size_t cap, const char *const *names, size_t n,
                        const char *free_text)
{
    Hartslag__ContentField f[8];
    Hartslag__ContentField *fp[8];
    cr_assert_leq(n, 8);
    for (size_t i = 0; i < n; i++) {
        hartslag__content_field__init(&f[i]);
        f[i].name = (char *)names[i];
        f[i].value = "v";
        fp[i] = &f[i];
    }
    Hartslag__SignalContent c = HARTSLAG__SIGNAL_CONTENT__INIT;
    c.n_fields = n;
    c.fields = fp;
    c.free_text = (char *)free_text;
    size_t len = hartslag__signal_content__get_packed_size(&c);
    cr_assert_leq(len, cap);
    return hartslag__signal_content__pack(&c, buf);
}

typedef struct {
    const char *what;
    const char *header[4];
    size_t n_header;
    const char *content[4];
    size_t n_content;
    const char *free_text;
    envelope_error_t expect;
} mismatch_t;

Test(envelope, field_names_must_match_header)
{
    static const mismatch_t cases[] = {
        {"matching (control)", {"adres", "datum"}, 2, {"adres", "datum"}, 2, NULL, ENVELOPE_OK},
        {"matching with free text",
         {"adres", "toelichting"},
         2,
         {"adres"},
         1,
         "tekst",
         ENVELOPE_OK},
        {"extra content field",
         {"adres"},
         1,
         {"adres", "datum"},
         2,
         NULL,
         ENVELOPE_ERR_FIELD_MISMATCH},
        {"missing content field",
         {"adres", "datum"},
         2,
         {"adres"},
         1,
         NULL,
         ENVELOPE_ERR_FIELD_MISMATCH},
        {"renamed field",
         {"adres", "datum"},
         2,
         {"adres", "naam"},
         2,
         NULL,
         ENVELOPE_ERR_FIELD_MISMATCH},
        {"unsorted content",
         {"adres", "datum"},
         2,
         {"datum", "adres"},
         2,
         NULL,
         ENVELOPE_ERR_FIELD_MISMATCH},
        {"duplicate content field",
         {"adres", "datum"},
         2,
         {"adres", "adres"},
         2,
         NULL,
         ENVELOPE_ERR_FIELD_MISMATCH},
        {"free text not in header",
         {"adres"},
         1,
         {"adres"},
         1,
         "tekst",
         ENVELOPE_ERR_FIELD_MISMATCH},
        {"header names free text, none sent",
         {"adres", "toelichting"},
         2,
         {"adres"},
         1,
         NULL,
         ENVELOPE_ERR_FIELD_MISMATCH},
        {"free text as a content field",
         {"toelichting"},
         1,
         {"toelichting"},
         1,
         NULL,
         ENVELOPE_ERR_FIELD_MISMATCH},
        {"content when header has none",
         {NULL},
         0,
         {"adres"},
         1,
         NULL,
         ENVELOPE_ERR_FIELD_MISMATCH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t content[512];
        size_t len = s_content(content, sizeof content, cases[i].content, cases[i].n_content,
                               cases[i].free_text);
        signal_t sig = {0};
        s_hand_seal(&sig, (char **)cases[i].header, cases[i].n_header, content, len);
        Hartslag__SignalContent *c = NULL;
        envelope_error_t err = s_open_as(&sig, 0, &c);
        cr_expect_eq(err, cases[i].expect, "%s: got %s", cases[i].what, envelope_strerror(err));
        if (err == ENVELOPE_OK)
            envelope_content_destroy(&c);
        else
            cr_expect_null(c);
        s_signal_free(&sig);
    }
}

Test(envelope, malformed_content)
{
    char *fields[] = {"adres"};
    signal_t sig = {0};
    Hartslag__SignalContent *c = NULL;

    /* Not a SignalContent at all. */
    static const uint8_t garbage[] = {0x0a, 0x05, 0x0a};
    s_hand_seal(&sig, fields, 1, garbage, sizeof garbage);
    cr_expect_eq(s_open_as(&sig, 0, &c), ENVELOPE_ERR_MALFORMED);
    s_signal_free(&sig);

    /* A value with a control character, and with invalid UTF-8. */
    static const char *const bad_values[] = {
        "a\x01",    "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xc2\x85", "\x7f", "\xe2\x82", "\xff"};
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        Hartslag__ContentField f = HARTSLAG__CONTENT_FIELD__INIT;
        f.name = "adres";
        f.value = (char *)bad_values[i];
        Hartslag__ContentField *fp = &f;
        Hartslag__SignalContent content = HARTSLAG__SIGNAL_CONTENT__INIT;
        content.n_fields = 1;
        content.fields = &fp;
        uint8_t buf[64];
        size_t len = hartslag__signal_content__pack(&content, buf);
        s_hand_seal(&sig, fields, 1, buf, len);
        cr_expect_eq(s_open_as(&sig, 0, &c), ENVELOPE_ERR_MALFORMED, "value %zu", i);
        s_signal_free(&sig);
    }

    /* Valid multi-byte UTF-8 is fine. */
    {
        Hartslag__ContentField f = HARTSLAG__CONTENT_FIELD__INIT;
        f.name = "adres";
        f.value = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\t\r\n";
        Hartslag__ContentField *fp = &f;
        Hartslag__SignalContent content = HARTSLAG__SIGNAL_CONTENT__INIT;
        content.n_fields = 1;
        content.fields = &fp;
        uint8_t buf[64];
        size_t len = hartslag__signal_content__pack(&content, buf);
        s_hand_seal(&sig, fields, 1, buf, len);
        cr_expect_eq(s_open_as(&sig, 0, &c), ENVELOPE_OK);
        envelope_content_destroy(&c);
        s_signal_free(&sig);
    }

    /* Free text with a control character. */
    uint8_t buf[64];
    char *with_text[] = {"adres", "toelichting"};
    static const char *const adres[] = {"adres"};
    size_t len = s_content(buf, sizeof buf, adres, 1, "bel\x07");
    s_hand_seal(&sig, with_text, 2, buf, len);
    cr_expect_eq(s_open_as(&sig, 0, &c), ENVELOPE_ERR_MALFORMED);
    s_signal_free(&sig);

    /* An unknown field after valid content (field 9, varint 0). */
    len = s_content(buf, sizeof buf, adres, 1, NULL);
    buf[len] = 0x48;
    buf[len + 1] = 0x00;
    s_hand_seal(&sig, fields, 1, buf, len + 2);
    cr_expect_eq(s_open_as(&sig, 0, &c), ENVELOPE_ERR_MALFORMED);
    s_signal_free(&sig);

    /* A value with an embedded NUL: protobuf-c would cut it short. */
    len = s_content(buf, sizeof buf, adres, 1, NULL);
    uint8_t *v = memchr(buf, 'v', len);
    cr_assert_not_null(v);
    *v = '\0';
    s_hand_seal(&sig, fields, 1, buf, len);
    cr_expect_eq(s_open_as(&sig, 0, &c), ENVELOPE_ERR_MALFORMED);
    cr_expect_null(c);
    s_signal_free(&sig);
}

/* --- oversized input ------------------------------------------------------ */

typedef struct {
    size_t calls;   /* allocations */
    size_t largest; /* largest single allocation */
} count_t;

static void *s_count_alloc(void *data, size_t size)
{
    count_t *c = data;
    c->calls++;
    if (size > c->largest)
        c->largest = size;
    return malloc(size);
}

static void s_count_free(void *data, void *ptr)
{
    (void)data;
    free(ptr);
}

Test(envelope, oversized_refused_before_allocation)
{
    count_t count = {0};
    ProtobufCAllocator counting = {s_count_alloc, s_count_free, &count};
    Hartslag__SealedSignal *s = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    /* Packed bytes over the cap: refused on length alone, nothing allocated. */
    uint8_t *big = calloc(1, ENVELOPE_SEALED_MAX + 1);
    cr_assert_not_null(big);
    cr_expect_eq(envelope_unpack_with(big, ENVELOPE_SEALED_MAX + 1, &counting, &s),
                 ENVELOPE_ERR_TOO_LARGE);
    cr_expect_eq(count.calls, 0);
    cr_expect_eq(envelope_unpack(big, SIZE_MAX, &s), ENVELOPE_ERR_TOO_LARGE);
    free(big);

    /* A small buffer whose header field claims 2 GiB (0x80000000). */
    static const uint8_t claim_2g[] = {0x0a, 0x80, 0x80, 0x80, 0x80, 0x08, 'h', 'e', 'l', 'l', 'o'};
    cr_expect_eq(envelope_unpack_with(claim_2g, sizeof claim_2g, &counting, &s),
                 ENVELOPE_ERR_MALFORMED);
    /* A ciphertext field claiming 4 GiB - 1 after a valid header and nonce. */
    static const uint8_t claim_4g[] = {0x0a, 0x01, 0x00, 0x12, 0x01, 0x00,
                                       0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f};
    cr_expect_eq(envelope_unpack_with(claim_4g, sizeof claim_4g, &counting, &s),
                 ENVELOPE_ERR_MALFORMED);
    /* A length varint that overflows 64 bits. */
    static const uint8_t claim_huge[] = {0x1a, 0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0x01};
    cr_expect_eq(envelope_unpack_with(claim_huge, sizeof claim_huge, &counting, &s),
                 ENVELOPE_ERR_MALFORMED);
    /* Whatever protobuf-c allocated is bounded by the input, not the claim. */
    cr_expect_leq(count.largest, 1024, "largest allocation %zu bytes", count.largest);
    cr_expect_null(s);

    /* A parsed signal whose parts are too large is refused before crypto. */
    Hartslag__SealedSignal fake = HARTSLAG__SEALED_SIGNAL__INIT;
    uint8_t nonce[24] = {0}, sig64[64] = {0}, small[16] = {0};
    fake.header.data = small;
    fake.header.len = ENVELOPE_HEADER_MAX + 1;
    fake.nonce.data = nonce;
    fake.nonce.len = 24;
    fake.ciphertext.data = small;
    fake.ciphertext.len = 16;
    fake.signature.data = sig64;
    fake.signature.len = 64;
    uint8_t commit32[32] = {0};
    fake.key_commitment.data = commit32;
    fake.key_commitment.len = 32;
    cr_expect_eq(envelope_verify(&fake, s_sender.sign_pk), ENVELOPE_ERR_TOO_LARGE);
    fake.header.len = 16;
    fake.ciphertext.len = ENVELOPE_CIPHERTEXT_MAX + 1;
    cr_expect_eq(envelope_verify(&fake, s_sender.sign_pk), ENVELOPE_ERR_TOO_LARGE);
    fake.ciphertext.len = 15;
    cr_expect_eq(envelope_verify(&fake, s_sender.sign_pk), ENVELOPE_ERR_MALFORMED);
    fake.ciphertext.len = 16;
    fake.header.len = 0;
    cr_expect_eq(envelope_verify(&fake, s_sender.sign_pk), ENVELOPE_ERR_MALFORMED);
    fake.header.len = 16;
    fake.nonce.len = 12;
    cr_expect_eq(envelope_verify(&fake, s_sender.sign_pk), ENVELOPE_ERR_MALFORMED);
    fake.nonce.len = 24;
    fake.signature.len = 32;
    cr_expect_eq(envelope_verify(&fake, s_sender.sign_pk), ENVELOPE_ERR_MALFORMED);
    fake.signature.len = 64;
    cr_expect_eq(envelope_verify(&fake, s_sender.sign_pk), ENVELOPE_ERR_BAD_SIGNATURE);

    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_expect_lt(seconds, 1.0, "oversized input took %.3f s", seconds);
    cr_expect_eq(envelope_unpack(NULL, 5, &s), ENVELOPE_ERR_INVALID_ARGUMENT);
    cr_expect_eq(envelope_unpack(claim_2g, 5, NULL), ENVELOPE_ERR_INVALID_ARGUMENT);
}

/* The largest signal the limits allow: 64 recipients with 32-character
   names, a header close to 4 KiB, content close to 64 KiB. It packs within
   ENVELOPE_SEALED_MAX, and one byte more of content is refused. */
Test(envelope, largest_signal_within_sealed_max)
{
    static char orgs[ENVELOPE_RECIPIENTS_MAX][40];
    static party_t big[ENVELOPE_RECIPIENTS_MAX];
    envelope_recipient_t r[ENVELOPE_RECIPIENTS_MAX];
    for (size_t i = 0; i < ENVELOPE_RECIPIENTS_MAX; i++) {
        snprintf(orgs[i], sizeof orgs[i], "partner-with-a-long-name-0000-%02zu", i);
        cr_assert_eq(strlen(orgs[i]), 32);
        s_party(&big[i], orgs[i]);
        r[i].org = big[i].org;
        memcpy(r[i].box_pk, big[i].box_pk, sizeof r[i].box_pk);
    }
    /* As many 64-character field names as fit in the header. */
    static char names[WIRE_FIELDS_MAX][70];
    static envelope_field_t fields[WIRE_FIELDS_MAX];
    for (size_t i = 0; i < WIRE_FIELDS_MAX; i++) {
        snprintf(names[i], sizeof names[i], "f%02zu_%060d", i, 0);
        cr_assert_eq(strlen(names[i]), 64);
        fields[i].name = names[i];
        fields[i].value = "";
    }
    static char value[ENVELOPE_CONTENT_MAX + 1];
    memset(value, 'x', ENVELOPE_CONTENT_MAX);
    envelope_draft_t d = s_draft();
    static char user[NAMES_USER_MAX + 1];
    memset(user, 'u', NAMES_USER_MAX);
    d.sender_user = user;
    d.free_text = NULL;
    d.fields = fields;
    envelope_sender_t keys = s_sender_keys();
    uint8_t *out = NULL;
    size_t out_len = 0;
    unsigned char id[16];
    const char *reason = NULL;

    size_t n = WIRE_FIELDS_MAX;
    envelope_error_t err;
    for (;; n--) {
        d.n_fields = n;
        err = envelope_seal(&d, &keys, r, ENVELOPE_RECIPIENTS_MAX, &out, &out_len, id, &reason);
        if (err == ENVELOPE_OK)
            break;
        cr_assert_eq(err, ENVELOPE_ERR_TOO_LARGE, "%s", envelope_strerror(err));
        cr_assert_str_eq(reason, "header_too_large");
    }
    cr_assert_lt(n, WIRE_FIELDS_MAX, "header limit never reached");
    free(out);

    /* Now fill the content up to the limit with the last field's value:
       find the longest value whose packed content fits (no crypto needed). */
    Hartslag__ContentField cf[WIRE_FIELDS_MAX];
    Hartslag__ContentField *cfp[WIRE_FIELDS_MAX];
    for (size_t i = 0; i < n; i++) {
        hartslag__content_field__init(&cf[i]);
        cf[i].name = names[i];
        cf[i].value = "";
        cfp[i] = &cf[i];
    }
    Hartslag__SignalContent mirror = HARTSLAG__SIGNAL_CONTENT__INIT;
    mirror.n_fields = n;
    mirror.fields = cfp;
    size_t vlen = ENVELOPE_CONTENT_MAX;
    for (;; vlen--) {
        value[vlen] = '\0';
        cf[n - 1].value = value;
        size_t size = hartslag__signal_content__get_packed_size(&mirror);
        value[vlen] = 'x';
        if (size <= ENVELOPE_CONTENT_MAX)
            break;
    }
    /* One byte more is refused... */
    value[vlen + 1] = '\0';
    fields[n - 1].value = value;
    err = envelope_seal(&d, &keys, r, ENVELOPE_RECIPIENTS_MAX, &out, &out_len, id, &reason);
    cr_expect_eq(err, ENVELOPE_ERR_TOO_LARGE);
    cr_expect_str_eq(reason, "content_too_large");
    value[vlen + 1] = 'x';
    /* ...and exactly the limit is sealed. */
    value[vlen] = '\0';
    err = envelope_seal(&d, &keys, r, ENVELOPE_RECIPIENTS_MAX, &out, &out_len, id, &reason);
    cr_assert_eq(err, ENVELOPE_OK, "%s", envelope_strerror(err));
    cr_expect_leq(out_len, ENVELOPE_SEALED_MAX);
    cr_expect_gt(out_len, ENVELOPE_SEALED_MAX - 2048, "not a tight bound: %zu", out_len);
    cr_expect_leq(out_len + 1024, WIRE_FRAME_MAX);
    Hartslag__SealedSignal *s = NULL;
    cr_assert_eq(envelope_unpack(out, out_len, &s), ENVELOPE_OK);
    cr_expect_leq(s->header.len, ENVELOPE_HEADER_MAX);
    cr_expect_gt(s->header.len, ENVELOPE_HEADER_MAX - 80);
    cr_expect_eq(s->ciphertext.len, ENVELOPE_CIPHERTEXT_MAX);
    Hartslag__SignalHeader *h = NULL;
    cr_assert_eq(wire_check_header(s->header.data, s->header.len, &h, NULL), 0);
    Hartslag__SignalContent *c = NULL;
    envelope_peer_t peer = s_sender_peer();
    cr_assert_eq(envelope_open(s, h, &peer, big[63].org, big[63].ring, &c), ENVELOPE_OK);
    cr_expect_eq(strlen(c->fields[n - 1]->value), vlen);
    envelope_content_destroy(&c);
    hartslag__signal_header__free_unpacked(h, NULL);
    hartslag__sealed_signal__free_unpacked(s, NULL);
    free(out);
    for (size_t i = 0; i < ENVELOPE_RECIPIENTS_MAX; i++)
        envelope_keyring_destroy(&big[i].ring);
}

/* --- seal refuses bad drafts, writing nothing ----------------------------- */

static envelope_error_t s_try_seal(const envelope_draft_t *d, const envelope_recipient_t *r,
                                   size_t n, const char **reason)
{
    envelope_sender_t keys = s_sender_keys();
    uint8_t *out = (uint8_t *)"untouched";
    size_t out_len = 12345;
    unsigned char id[16];
    memset(id, 0xee, sizeof id);
    envelope_error_t err = envelope_seal(d, &keys, r, n, &out, &out_len, id, reason);
    if (err == ENVELOPE_OK) {
        free(out);
        return err;
    }
    cr_expect_str_eq((const char *)out, "untouched");
    cr_expect_eq(out_len, 12345);
    for (size_t i = 0; i < sizeof id; i++)
        cr_expect_eq(id[i], 0xee);
    return err;
}

#define EXPECT_SEAL(d, r, n, err, token)                                                           \
    do {                                                                                           \
        const char *why_ = NULL;                                                                   \
        envelope_error_t e_ = s_try_seal(d, r, n, &why_);                                          \
        cr_expect_eq(e_, err, "expected %s, got %s", envelope_error_token(err),                    \
                     envelope_error_token(e_));                                                    \
        cr_expect(why_ &&strcmp(why_, token) == 0, "expected reason %s, got %s", token,            \
                  why_ ? why_ : "(null)");                                                         \
    } while (0)

Test(envelope, seal_refuses)
{
    envelope_draft_t d = s_draft();
    envelope_recipient_t r[ENVELOPE_RECIPIENTS_MAX + 1];
    s_recipients(r, ENVELOPE_RECIPIENTS_MAX + 1);

    EXPECT_SEAL(&d, r, 0, ENVELOPE_ERR_INVALID_HEADER, "no_recipients");
    EXPECT_SEAL(&d, r, ENVELOPE_RECIPIENTS_MAX + 1, ENVELOPE_ERR_INVALID_HEADER,
                "too_many_recipients");
    r[1].org = r[0].org;
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_INVALID_HEADER, "duplicate_recipient");
    r[1].org = "gemeente";
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_INVALID_HEADER, "recipient_is_sender");
    r[1].org = "Politie";
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_INVALID_HEADER, "bad_recipient");
    r[1].org = NULL;
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_INVALID_ARGUMENT, "invalid_argument");
    s_recipients(r, 2);

    envelope_field_t f[3] = {{"adres", "x"}, {"adres", "y"}, {"Datum", "z"}};
    d.fields = f;
    d.n_fields = 2;
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_INVALID_HEADER, "duplicate_field");
    d.fields = f + 2;
    d.n_fields = 1;
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_INVALID_HEADER, "bad_field");
    envelope_field_t reserved = {"toelichting", "x"};
    d.fields = &reserved;
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_INVALID_HEADER, "reserved_field");
    envelope_field_t null_value = {"adres", NULL};
    d.fields = &null_value;
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_INVALID_ARGUMENT, "invalid_argument");
    envelope_field_t bad_value = {"adres", "bel\x1b[31m"};
    d.fields = &bad_value;
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_MALFORMED, "bad_value");
    d = s_draft();
    d.free_text = "\xc3\x28";
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_MALFORMED, "bad_value");

    /* 64 fields plus free text is one name too many. */
    static char names[WIRE_FIELDS_MAX + 1][8];
    static envelope_field_t many[WIRE_FIELDS_MAX + 1];
    for (size_t i = 0; i < WIRE_FIELDS_MAX + 1; i++) {
        snprintf(names[i], sizeof names[i], "f%02zu", i);
        many[i].name = names[i];
        many[i].value = "";
    }
    d = s_draft();
    d.fields = many;
    d.n_fields = WIRE_FIELDS_MAX;
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_INVALID_HEADER, "too_many_fields");
    d.n_fields = WIRE_FIELDS_MAX + 1;
    d.free_text = NULL;
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_INVALID_HEADER, "too_many_fields");
    d.n_fields = WIRE_FIELDS_MAX;
    cr_expect_eq(s_try_seal(&d, r, 2, NULL), ENVELOPE_OK);

    /* Header rules reach the caller with their wire reason. */
    d = s_draft();
    d.sender = "Gemeente";
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_INVALID_HEADER, "bad_sender");
    d = s_draft();
    d.valid_until_ms = 0;
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_INVALID_HEADER, "bad_valid_until");
    d.valid_until_ms = d.created_at_ms + 3 * 366 * DAY_MS;
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_INVALID_HEADER, "validity_too_long");
    d = s_draft();
    d.urgency = (Hartslag__Urgency)5;
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_INVALID_HEADER, "bad_urgency");

    /* Content over 64 KiB. */
    char *huge = malloc(ENVELOPE_CONTENT_MAX + 1);
    cr_assert_not_null(huge);
    memset(huge, 'a', ENVELOPE_CONTENT_MAX);
    huge[ENVELOPE_CONTENT_MAX] = '\0';
    d = s_draft();
    d.free_text = huge;
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_TOO_LARGE, "content_too_large");
    free(huge);

    /* An unusable recipient key. */
    d = s_draft();
    memset(r[1].box_pk, 0, sizeof r[1].box_pk);
    EXPECT_SEAL(&d, r, 2, ENVELOPE_ERR_BAD_KEY, "bad_key");
    s_recipients(r, 2);

    /* NULL arguments. */
    envelope_sender_t keys = s_sender_keys();
    uint8_t *out;
    size_t out_len;
    unsigned char id[16];
    cr_expect_eq(envelope_seal(NULL, &keys, r, 1, &out, &out_len, id, NULL),
                 ENVELOPE_ERR_INVALID_ARGUMENT);
    cr_expect_eq(envelope_seal(&d, NULL, r, 1, &out, &out_len, id, NULL),
                 ENVELOPE_ERR_INVALID_ARGUMENT);
    cr_expect_eq(envelope_seal(&d, &keys, NULL, 1, &out, &out_len, id, NULL),
                 ENVELOPE_ERR_INVALID_ARGUMENT);
    cr_expect_eq(envelope_seal(&d, &keys, r, 1, NULL, &out_len, id, NULL),
                 ENVELOPE_ERR_INVALID_ARGUMENT);
    envelope_sender_t no_ring = {s_sender.sign_sk, NULL};
    cr_expect_eq(envelope_seal(&d, &no_ring, r, 1, &out, &out_len, id, NULL),
                 ENVELOPE_ERR_INVALID_ARGUMENT);
    d.fields = NULL;
    cr_expect_eq(envelope_seal(&d, &keys, r, 1, &out, &out_len, id, NULL),
                 ENVELOPE_ERR_INVALID_ARGUMENT);
}

Test(envelope, open_and_verify_arguments)
{
    envelope_draft_t d = s_draft();
    signal_t sig = {0};
    s_seal(&sig, &d, 1);
    envelope_peer_t peer = s_sender_peer();
    Hartslag__SignalContent *c = NULL;
    envelope_keyring_t *ring = s_parties[0].ring;
    const char *me = s_parties[0].org;
    cr_expect_eq(envelope_open(NULL, sig.h, &peer, me, ring, &c), ENVELOPE_ERR_INVALID_ARGUMENT);
    cr_expect_eq(envelope_open(sig.s, NULL, &peer, me, ring, &c), ENVELOPE_ERR_INVALID_ARGUMENT);
    cr_expect_eq(envelope_open(sig.s, sig.h, NULL, me, ring, &c), ENVELOPE_ERR_INVALID_ARGUMENT);
    cr_expect_eq(envelope_open(sig.s, sig.h, &peer, NULL, ring, &c), ENVELOPE_ERR_INVALID_ARGUMENT);
    cr_expect_eq(envelope_open(sig.s, sig.h, &peer, me, NULL, &c), ENVELOPE_ERR_INVALID_ARGUMENT);
    cr_expect_eq(envelope_open(sig.s, sig.h, &peer, me, ring, NULL), ENVELOPE_ERR_INVALID_ARGUMENT);
    cr_expect_eq(envelope_verify(NULL, s_sender.sign_pk), ENVELOPE_ERR_INVALID_ARGUMENT);
    cr_expect_eq(envelope_verify(sig.s, NULL), ENVELOPE_ERR_INVALID_ARGUMENT);
    /* A wrapped key for org-00 with the wrong length (caught as malformed). */
    sig.s->wrapped_keys[0]->wrapped.len = 47;
    cr_expect_eq(envelope_open(sig.s, sig.h, &peer, me, ring, &c), ENVELOPE_ERR_MALFORMED);
    cr_expect_null(c);
    s_signal_free(&sig);
}

/* --- keyring ------------------------------------------------------------- */

Test(envelope, keyring)
{
    cr_expect_null(envelope_keyring_new(NULL));
    envelope_keyring_t *ring = envelope_keyring_new(s_sender.box_sk);
    cr_assert_not_null(ring);
    cr_expect_eq(envelope_keyring_size(ring), 0);
    cr_expect_eq(envelope_keyring_size(NULL), 0);
    /* Enough peers to grow the table several times; the same peer twice
       is cached once. */
    for (size_t i = 0; i < PARTIES; i++) {
        cr_assert_eq(envelope_keyring_add(ring, s_parties[i].box_pk), ENVELOPE_OK);
        cr_assert_eq(envelope_keyring_add(ring, s_parties[i].box_pk), ENVELOPE_OK);
    }
    cr_expect_eq(envelope_keyring_size(ring), PARTIES);
    /* Low-order public keys are refused (all zero; and the order-8 point). */
    unsigned char zero[32] = {0};
    cr_expect_eq(envelope_keyring_add(ring, zero), ENVELOPE_ERR_BAD_KEY);
    static const unsigned char order8[32] = {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae,
                                             0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
                                             0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd,
                                             0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00};
    cr_expect_eq(envelope_keyring_add(ring, order8), ENVELOPE_ERR_BAD_KEY);
    cr_expect_eq(envelope_keyring_size(ring), PARTIES);
    cr_expect_eq(envelope_keyring_add(NULL, zero), ENVELOPE_ERR_INVALID_ARGUMENT);
    cr_expect_eq(envelope_keyring_add(ring, NULL), ENVELOPE_ERR_INVALID_ARGUMENT);

    /* A sender using this (grown) keyring is opened fine by a recipient. */
    envelope_draft_t d = s_draft();
    envelope_recipient_t r[3];
    s_recipients(r, 3);
    envelope_sender_t keys = {s_sender.sign_sk, ring};
    uint8_t *out = NULL;
    size_t out_len = 0;
    unsigned char id[16];
    cr_assert_eq(envelope_seal(&d, &keys, r, 3, &out, &out_len, id, NULL), ENVELOPE_OK);
    cr_expect_eq(s_receive(out, out_len, 2), ENVELOPE_OK);
    free(out);

    envelope_keyring_destroy(&ring);
    cr_expect_null(ring);
    envelope_keyring_destroy(&ring);
    envelope_keyring_destroy(NULL);
}

Test(envelope, keyring_full)
{
    envelope_keyring_t *ring = envelope_keyring_new(s_sender.box_sk);
    cr_assert_not_null(ring);
    unsigned char pk[32], sk[32];
    cr_assert_eq(envelope_keyring_add(ring, s_parties[0].box_pk), ENVELOPE_OK);
    for (size_t i = 1; i < ENVELOPE_KEYRING_PEERS_MAX; i++) {
        crypto_box_keypair(pk, sk);
        cr_assert_eq(envelope_keyring_add(ring, pk), ENVELOPE_OK, "peer %zu", i);
    }
    cr_expect_eq(envelope_keyring_size(ring), ENVELOPE_KEYRING_PEERS_MAX);
    crypto_box_keypair(pk, sk);
    cr_expect_eq(envelope_keyring_add(ring, pk), ENVELOPE_ERR_NOMEM);
    /* Known peers still work. */
    cr_expect_eq(envelope_keyring_add(ring, s_parties[0].box_pk), ENVELOPE_OK);
    envelope_keyring_destroy(&ring);
}

/* --- error texts ---------------------------------------------------------- */

Test(envelope, error_texts)
{
    for (int e = 0; e < ENVELOPE_ERR_COUNT_; e++) {
        const char *text = envelope_strerror((envelope_error_t)e);
        const char *token = envelope_error_token((envelope_error_t)e);
        cr_assert_not_null(text);
        cr_assert_not_null(token);
        cr_expect_gt(strlen(text), 0);
        for (const char *p = token; *p; p++)
            cr_expect((*p >= 'a' && *p <= 'z') || *p == '_', "token %s", token);
        for (int f = 0; f < e; f++)
            cr_expect_str_neq(token, envelope_error_token((envelope_error_t)f));
    }
    cr_expect_str_eq(envelope_error_token(ENVELOPE_ERR_BAD_SIGNATURE), "bad_signature");
    cr_expect_str_eq(envelope_error_token(ENVELOPE_ERR_FIELD_MISMATCH), "field_mismatch");
    cr_expect_str_eq(envelope_strerror(ENVELOPE_ERR_COUNT_), "unknown envelope error");
    cr_expect_str_eq(envelope_error_token((envelope_error_t)-1), "unknown");
}

Test(envelope, content_key_must_match_the_signed_commitment)
{
    /* Validly signed by the sender, but committing to a different key than
       the one wrapped for the recipient: refused before decryption. */
    uint8_t content[64];
    const char *names[] = {"datum"};
    size_t len = s_content(content, sizeof content, names, 1, NULL);
    char *fields[] = {"datum"};
    signal_t sig = {0};
    s_hand_seal_committed(&sig, fields, 1, content, len, false);
    Hartslag__SignalContent *c = NULL;
    envelope_peer_t peer = s_sender_peer();
    cr_assert_eq(envelope_open(sig.s, sig.h, &peer, s_parties[0].org, s_parties[0].ring, &c),
                 ENVELOPE_ERR_COMMITMENT);
    cr_assert_null(c);
    cr_assert_str_eq(envelope_error_token(ENVELOPE_ERR_COMMITMENT), "key_commitment");
    s_signal_free(&sig);
    /* The same signal with an honest commitment opens. */
    s_hand_seal(&sig, fields, 1, content, len);
    cr_assert_eq(envelope_open(sig.s, sig.h, &peer, s_parties[0].org, s_parties[0].ring, &c),
                 ENVELOPE_OK);
    envelope_content_destroy(&c);
    s_signal_free(&sig);
}
