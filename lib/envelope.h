/*  envelope: seal a signal for 1..64 recipients, sign, verify, open
    (DESIGN §5).

    A SealedSignal is
        header       a serialized SignalHeader (routing metadata, in clear)
        nonce        24 random bytes
        ciphertext   XChaCha20-Poly1305-IETF(key K, nonce, AAD = header,
                     plaintext = serialized SignalContent)
        wrapped_keys for each header recipient i, in the header's order:
                     { recipient org, 24-byte random nonce,
                       crypto_box_easy_afternm(K, nonce, shared key) }
                     where the shared key is crypto_box_beforenm(recipient
                     box pk, sender box sk), cached in an envelope_keyring_t
        signature    Ed25519 (crypto_sign_detached) over the signal's
                     domain tag line "hartslag/signal/v1\n" (19 bytes;
                     lib/sigdomain.h) followed by the 32-byte
                     BLAKE2b-256 (crypto_generichash, unkeyed) of
                       "hartslag/signal/v1"          18 bytes, NOT length-prefixed
                       LE64(len(header))  || header
                       LE64(len(nonce))   || nonce
                       LE64(len(ciphertext)) || ciphertext
                       LE64(len(key_commitment)) || key_commitment
                     (LE64 = the length as a 64-bit little-endian integer).
        key_commitment BLAKE2b-256 keyed with K of ENVELOPE_COMMIT_TAG.
                     XChaCha20-Poly1305 is not key-committing: without this a
                     sender could craft one signed ciphertext that opens to
                     different content under two keys and wrap a different
                     key for each recipient. A recipient checks that the key
                     it unwrapped matches the signed commitment
                     (ENVELOPE_ERR_COMMITMENT), so every recipient of one
                     signature sees the same content.
    The tag is a fixed constant that every signed message starts with, so
    it needs no length; every variable part has one, so no bytes can slide
    from one part to the next. The wrapped keys are not signed: changing
    one can only make that recipient's unwrap fail (it cannot yield a key
    that decrypts the signed ciphertext without the sender's box key).

    Content rules (checked when sealing and again when opening):
    - content field names are tokens (names_is_token), distinct; in the
      content they are sorted like the header's `fields`;
    - the free text (SignalContent.free_text) is named in the header as the
      field "toelichting" (ENVELOPE_FREE_TEXT_FIELD), so the agreements,
      which the broker checks against header.fields, must allow it; no
      ContentField may carry that name itself;
    - header.fields is exactly the sorted set of content field names, plus
      "toelichting" when there is free text. A recipient refuses anything
      else (ENVELOPE_ERR_FIELD_MISMATCH);
    - values and free text are UTF-8 without control characters other than
      tab, CR and LF.

    Secrets: the box secret key and every cached shared key live in
    sodium_malloc'd (guarded, mlocked) memory and are wiped on destroy.
    Content keys and plaintext buffers are wiped with sodium_memzero before
    they are released; opened content is allocated through a wiping
    allocator, so envelope_content_destroy wipes it too.

    Hostile input (sshbuf habit): envelope_unpack checks the length against
    ENVELOPE_SEALED_MAX before protobuf-c allocates anything; open checks
    every size before it decrypts; on failure no output is written.

    A keyring is not thread-safe: use one per thread.
*/
#ifndef HARTSLAG_ENVELOPE_H
#define HARTSLAG_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "hartslag.pb-c.h"

/* Named limits. */
#define ENVELOPE_HEADER_MAX 4096        /* serialized SignalHeader, bytes */
#define ENVELOPE_CONTENT_MAX 65536      /* serialized SignalContent (plaintext), bytes */
#define ENVELOPE_RECIPIENTS_MAX 64      /* recipients of one signal */
#define ENVELOPE_KEYRING_PEERS_MAX 4096 /* shared keys one keyring caches */

/* Sizes of the parts. */
#define ENVELOPE_KEYBYTES 32        /* content key (XChaCha20-Poly1305) */
#define ENVELOPE_NONCEBYTES 24      /* content nonce */
#define ENVELOPE_ABYTES 16          /* AEAD tag */
#define ENVELOPE_WRAP_NONCEBYTES 24 /* crypto_box nonce */
#define ENVELOPE_WRAPPEDBYTES 48    /* wrapped content key: key + crypto_box MAC */
#define ENVELOPE_SIGBYTES 64        /* Ed25519 signature */
#define ENVELOPE_HASHBYTES 32       /* BLAKE2b-256 that is signed */
#define ENVELOPE_SIGNAL_ID_BYTES 16 /* SignalHeader.signal_id */
#define ENVELOPE_SUBJECT_BYTES 32   /* SignalHeader.subject */
#define ENVELOPE_CIPHERTEXT_MAX (ENVELOPE_CONTENT_MAX + ENVELOPE_ABYTES)

#define ENVELOPE_SIGN_TAG "hartslag/signal/v1"           /* domain tag, signed first */
#define ENVELOPE_COMMIT_TAG "hartslag/key-commitment/v1" /* hashed under the content key */
#define ENVELOPE_COMMITBYTES 32                          /* key commitment */
#define ENVELOPE_FREE_TEXT_FIELD "toelichting"           /* header field naming the free text */

/* Largest packed WrappedKey entry inside a SealedSignal: per field one tag
   byte and one length byte, org <= 32 bytes; plus the entry's own tag and
   length byte. */
#define ENVELOPE_WRAPPED_KEY_PACKED_MAX                                                            \
    (2 + (2 + 32) + (2 + ENVELOPE_WRAP_NONCEBYTES) + (2 + ENVELOPE_WRAPPEDBYTES))

/* Largest packed SealedSignal: each field's tag (1 byte) and length varint
   (at most 3 bytes for these sizes) plus its largest value. */
#define ENVELOPE_SEALED_MAX                                                                        \
    ((4 + ENVELOPE_HEADER_MAX) + (4 + ENVELOPE_NONCEBYTES) + (4 + ENVELOPE_CIPHERTEXT_MAX) +       \
     ENVELOPE_RECIPIENTS_MAX * ENVELOPE_WRAPPED_KEY_PACKED_MAX + (4 + ENVELOPE_SIGBYTES) +         \
     (4 + ENVELOPE_COMMITBYTES))

/* Outcome of every envelope operation. envelope_strerror gives a human
   text, envelope_error_token a machine-readable reason (for DeliveryAck,
   Denied and audit records). Neither ever holds content or identifiers. */
typedef enum {
    ENVELOPE_OK = 0,
    ENVELOPE_ERR_INVALID_ARGUMENT, /* NULL where a value is required, bad count */
    ENVELOPE_ERR_TOO_LARGE,        /* a size limit above is exceeded */
    ENVELOPE_ERR_MALFORMED,        /* bytes or sizes are not a valid sealed signal / content */
    ENVELOPE_ERR_INVALID_HEADER,   /* the header breaks a wire rule (wire_validate_header) */
    ENVELOPE_ERR_BAD_SIGNATURE,    /* the signature does not verify */
    ENVELOPE_ERR_WRONG_SENDER,     /* the header names another sender than the given peer */
    ENVELOPE_ERR_NOT_RECIPIENT,    /* we are not among the recipients */
    ENVELOPE_ERR_DECRYPT,          /* our wrapped key or the content does not decrypt */
    ENVELOPE_ERR_FIELD_MISMATCH,   /* content field names differ from header.fields */
    ENVELOPE_ERR_BAD_KEY,          /* a peer box public key is unusable (low order) */
    ENVELOPE_ERR_NOMEM,            /* out of memory (or keyring full) */
    ENVELOPE_ERR_COMMITMENT,       /* our content key differs from the signed commitment */
    ENVELOPE_ERR_COUNT_            /* number of values; not an error */
} envelope_error_t;

/* Human text for `err`; never NULL. */
const char *envelope_strerror(envelope_error_t err);

/* Machine-readable token for `err` ("ok", "too_large", "bad_signature",
   "field_mismatch", ...); never NULL. */
const char *envelope_error_token(envelope_error_t err);

/* ------------------------------------------------------------------------
   Keyring: our box secret key and the crypto_box shared keys with every
   peer we seal to or open from. The shared key is symmetric, so the same
   keyring serves both sides. Invariant: `sk` and every cached entry live in
   sodium_malloc'd memory; entries are only ever added, never changed. */
typedef struct _envelope_keyring_t envelope_keyring_t;

/* Creates a keyring holding a copy of `box_sk` (the caller may wipe its
   own copy). Returns NULL when memory is short or libsodium cannot start. */
envelope_keyring_t *envelope_keyring_new(const unsigned char box_sk[crypto_box_SECRETKEYBYTES]);

/* Wipes and frees the keyring; nulls *self_p. Safe on NULL and twice. */
void envelope_keyring_destroy(envelope_keyring_t **self_p);

/* Number of peers whose shared key is cached. */
size_t envelope_keyring_size(const envelope_keyring_t *self);

/* Computes (or finds) the shared key with `peer_pk` so that later seals
   and opens need no X25519. Returns ENVELOPE_OK, ENVELOPE_ERR_BAD_KEY or
   ENVELOPE_ERR_NOMEM. Optional: seal and open call it as needed. */
envelope_error_t envelope_keyring_add(envelope_keyring_t *self,
                                      const unsigned char peer_pk[crypto_box_PUBLICKEYBYTES])
    __attribute__((warn_unused_result));

/* ------------------------------------------------------------------------
   Sealing. */

/* One content field as the sender gives it. */
typedef struct {
    const char *name;  /* field name, names_is_token, not "toelichting" */
    const char *value; /* value, UTF-8 (tab, CR, LF allowed) */
} envelope_field_t;

/* What a sender wants to send; envelope_seal turns it into a header and a
   content. Borrowed strings; nothing is kept after the call. */
typedef struct {
    const char *sender;                            /* our org */
    const char *sender_user;                       /* professional's id (NEN 7513) */
    const char *signal_type;                       /* token */
    const char *purpose;                           /* token */
    uint64_t agreements_version;                   /* agreements.yaml version checked */
    unsigned char subject[ENVELOPE_SUBJECT_BYTES]; /* subject pseudonym */
    const envelope_field_t *fields;                /* content fields, any order */
    size_t n_fields;                               /* number of fields */
    const char *free_text;                         /* NULL = none */
    uint64_t created_at_ms;                        /* 0 = now */
    uint64_t valid_until_ms;                       /* when the signal lapses */
    Hartslag__Urgency urgency;                     /* how soon to act */
    const unsigned char *signal_id;                /* ENVELOPE_SIGNAL_ID_BYTES chosen earlier
                                                      (a signal that waited for its pseudonym),
                                                      or NULL: a new id */
    uint32_t subject_scheme;         /* PSEUDONYM_SCHEME_*; 0 = not stated (scheme 1) */
    uint32_t subject_key_version;    /* scheme 2: the service key version */
    const unsigned char *case_id;    /* 16 bytes: a share into that case conference, or NULL */
    const unsigned char *case_item;  /* 16 bytes: the plan's action a case text is about, or NULL */
    const unsigned char *reshare_of; /* 16 bytes: the earlier signal a re-share repeats, or NULL */
} envelope_draft_t;

/* The sender's secrets. Borrowed. */
typedef struct {
    const unsigned char *sign_sk; /* crypto_sign_SECRETKEYBYTES Ed25519 secret key */
    envelope_keyring_t *keyring;  /* holds our box secret key */
} envelope_sender_t;

/* One recipient: its org and box public key (from its certificate). */
typedef struct {
    const char *org;                                 /* recipient org */
    unsigned char box_pk[crypto_box_PUBLICKEYBYTES]; /* its box public key */
} envelope_recipient_t;

/* Seals `draft` for `recipients` (1..ENVELOPE_RECIPIENTS_MAX, distinct,
   not the sender; the header lists them in the given order). Generates
   the signal id, sorts the field names, sets created_at_ms when 0, checks
   the header with wire_validate_header (ENVELOPE_ERR_INVALID_HEADER, with
   the wire reason in *reason when reason is not NULL), the sizes
   (ENVELOPE_ERR_TOO_LARGE) and the values (ENVELOPE_ERR_MALFORMED).
   On ENVELOPE_OK, *sealed is a new buffer holding the packed SealedSignal
   (caller frees with free()), *sealed_len its length, signal_id the new
   id: the draft's created_at_ms (48 bits, big-endian) then 80 random bits,
   so ids sort by creation time (or the draft's own signal_id when set). On error none of the
   outputs is written. */
envelope_error_t envelope_seal(const envelope_draft_t *draft, const envelope_sender_t *sender,
                               const envelope_recipient_t *recipients, size_t n_recipients,
                               uint8_t **sealed, size_t *sealed_len,
                               unsigned char signal_id[ENVELOPE_SIGNAL_ID_BYTES],
                               const char **reason) __attribute__((warn_unused_result));

/* ------------------------------------------------------------------------
   Reading. */

/* Unpacks a packed SealedSignal. ENVELOPE_ERR_TOO_LARGE when len >
   ENVELOPE_SEALED_MAX (checked before anything is allocated),
   ENVELOPE_ERR_MALFORMED when protobuf-c cannot read it. Free the result
   with hartslag__sealed_signal__free_unpacked(s, NULL). */
envelope_error_t envelope_unpack(const uint8_t *buf, size_t len, Hartslag__SealedSignal **out)
    __attribute__((warn_unused_result));

/* Same, with a protobuf-c allocator (NULL = default); free with the same. */
envelope_error_t envelope_unpack_with(const uint8_t *buf, size_t len, ProtobufCAllocator *allocator,
                                      Hartslag__SealedSignal **out)
    __attribute__((warn_unused_result));

/* Verifies the sender's signature over header, nonce and ciphertext with
   the sender's Ed25519 public key. Checks the part sizes first
   (ENVELOPE_ERR_TOO_LARGE / ENVELOPE_ERR_MALFORMED). Returns ENVELOPE_OK
   or ENVELOPE_ERR_BAD_SIGNATURE. This is the broker's once-per-signal check;
   it does not parse the header. */
envelope_error_t envelope_verify(const Hartslag__SealedSignal *sealed,
                                 const unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES])
    __attribute__((warn_unused_result));

/* A peer as its certificate describes it. */
typedef struct {
    const char *org;                                   /* its org */
    unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES]; /* Ed25519 public key */
    unsigned char box_pk[crypto_box_PUBLICKEYBYTES];   /* box public key */
} envelope_peer_t;

/* Recipient side. `header` must be sealed->header as returned by
   wire_check_header (the daemon needs it first, to look up the sender's
   certificate); it stays the caller's. In order: sizes; the signature with
   sender->sign_pk (ENVELOPE_ERR_BAD_SIGNATURE); `header` is exactly
   sealed->header (ENVELOPE_ERR_INVALID_HEADER); header sender is
   sender->org (ENVELOPE_ERR_WRONG_SENDER); wire_check_sealed
   (ENVELOPE_ERR_MALFORMED); `own_org` among the recipients
   (ENVELOPE_ERR_NOT_RECIPIENT); unwrap with `keyring` (our box key) and the
   sender's box key, decrypt (ENVELOPE_ERR_DECRYPT); unpack the content
   (ENVELOPE_ERR_MALFORMED); its field names against header.fields
   (ENVELOPE_ERR_FIELD_MISMATCH). On ENVELOPE_OK *content is the content;
   the caller releases it with envelope_content_destroy. On error *content
   is untouched and every decrypted byte has been wiped. */
envelope_error_t envelope_open(const Hartslag__SealedSignal *sealed,
                               const Hartslag__SignalHeader *header, const envelope_peer_t *sender,
                               const char *own_org, envelope_keyring_t *keyring,
                               Hartslag__SignalContent **content)
    __attribute__((warn_unused_result));

/* Wipes and frees content returned by envelope_open; nulls *content_p.
   Safe on NULL and twice. */
void envelope_content_destroy(Hartslag__SignalContent **content_p);

/* Computes the 32-byte digest whose tagged form is signed (see top of
   file; sigdomain_sign(SIGDOMAIN_SIGNAL, ...)). Exposed for tests and for
   tools that countersign. */
void envelope_signed_hash(const Hartslag__SealedSignal *sealed,
                          unsigned char hash[ENVELOPE_HASHBYTES]);

#endif
