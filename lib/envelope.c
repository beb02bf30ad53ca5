/*  envelope: seal, sign, verify and open signals; see envelope.h. */
#include "envelope.h"
#include "sigdomain.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "wire.h"

_Static_assert(ENVELOPE_KEYBYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "content key");
_Static_assert(ENVELOPE_NONCEBYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(ENVELOPE_ABYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag");
_Static_assert(ENVELOPE_WRAP_NONCEBYTES == crypto_box_NONCEBYTES, "box nonce");
_Static_assert(ENVELOPE_WRAPPEDBYTES == ENVELOPE_KEYBYTES + crypto_box_MACBYTES, "wrapped key");
_Static_assert(ENVELOPE_SIGBYTES == crypto_sign_BYTES, "signature");
_Static_assert(ENVELOPE_HASHBYTES == crypto_generichash_BYTES, "hash");
_Static_assert(crypto_box_BEFORENMBYTES == 32, "shared key");
_Static_assert(ENVELOPE_RECIPIENTS_MAX <= 64 && WIRE_FIELDS_MAX <= 64, "stack arrays");
/* The length varints counted in ENVELOPE_SEALED_MAX are at most 3 bytes. */
_Static_assert(ENVELOPE_CIPHERTEXT_MAX < (1u << 21), "varint size");

/* ------------------------------------------------------------------------
   Errors */

static const struct {
    const char *token; /* machine-readable reason */
    const char *text;  /* human text */
} s_errors[ENVELOPE_ERR_COUNT_] = {
    [ENVELOPE_OK] = {"ok", "success"},
    [ENVELOPE_ERR_INVALID_ARGUMENT] = {"invalid_argument", "invalid argument"},
    [ENVELOPE_ERR_TOO_LARGE] = {"too_large", "signal exceeds a size limit"},
    [ENVELOPE_ERR_MALFORMED] = {"malformed", "malformed sealed signal or content"},
    [ENVELOPE_ERR_INVALID_HEADER] = {"invalid_header", "signal header breaks a wire rule"},
    [ENVELOPE_ERR_BAD_SIGNATURE] = {"bad_signature", "signature does not verify"},
    [ENVELOPE_ERR_WRONG_SENDER] = {"wrong_sender", "header names a different sender"},
    [ENVELOPE_ERR_NOT_RECIPIENT] = {"not_recipient", "not a recipient of this signal"},
    [ENVELOPE_ERR_DECRYPT] = {"decrypt_failed", "content key or content does not decrypt"},
    [ENVELOPE_ERR_FIELD_MISMATCH] = {"field_mismatch",
                                     "content field names differ from the header's fields"},
    [ENVELOPE_ERR_BAD_KEY] = {"bad_key", "unusable peer box public key"},
    [ENVELOPE_ERR_NOMEM] = {"nomem", "out of memory"},
    [ENVELOPE_ERR_COMMITMENT] = {"key_commitment",
                                 "content key does not match the sender's signed commitment"},
};

const char *envelope_strerror(envelope_error_t err)
{
    if ((unsigned)err >= ENVELOPE_ERR_COUNT_)
        return "unknown envelope error";
    return s_errors[err].text;
}

const char *envelope_error_token(envelope_error_t err)
{
    if ((unsigned)err >= ENVELOPE_ERR_COUNT_)
        return "unknown";
    return s_errors[err].token;
}

/* ------------------------------------------------------------------------
   Keyring: an open-addressing hash table of (peer pk, shared key) entries.
   Invariants: capacity is a power of two and at least twice `count`; a slot
   whose pk is all zero is empty (an all-zero pk is low order, so
   crypto_box_beforenm refuses it and it is never stored); `sk` and `table`
   are sodium_malloc'd and wiped before they are freed. */

#define KEYRING_ENTRY (crypto_box_PUBLICKEYBYTES + crypto_box_BEFORENMBYTES)
#define KEYRING_INITIAL 16

struct _envelope_keyring_t {
    unsigned char *sk;    /* our box secret key, sodium_malloc'd */
    unsigned char *table; /* capacity entries of pk || shared key, sodium_malloc'd */
    size_t capacity;      /* slots in table, a power of two */
    size_t count;         /* used slots */
};

static unsigned char *s_table_new(size_t capacity)
{
    unsigned char *table = sodium_malloc(capacity * KEYRING_ENTRY);
    if (table)
        memset(table, 0, capacity * KEYRING_ENTRY);
    return table;
}

static void s_table_free(unsigned char *table, size_t capacity)
{
    if (table) {
        sodium_memzero(table, capacity * KEYRING_ENTRY);
        sodium_free(table);
    }
}

envelope_keyring_t *envelope_keyring_new(const unsigned char box_sk[crypto_box_SECRETKEYBYTES])
{
    if (!box_sk || sodium_init() < 0)
        return NULL;
    envelope_keyring_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
    self->capacity = KEYRING_INITIAL;
    self->table = s_table_new(self->capacity);
    if (!self->sk || !self->table) {
        envelope_keyring_destroy(&self);
        return NULL;
    }
    memcpy(self->sk, box_sk, crypto_box_SECRETKEYBYTES);
    return self;
}

void envelope_keyring_destroy(envelope_keyring_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    envelope_keyring_t *self = *self_p;
    if (self->sk) {
        sodium_memzero(self->sk, crypto_box_SECRETKEYBYTES);
        sodium_free(self->sk);
    }
    s_table_free(self->table, self->capacity);
    free(self);
    *self_p = NULL;
}

size_t envelope_keyring_size(const envelope_keyring_t *self)
{
    return self ? self->count : 0;
}

static size_t s_slot(const unsigned char *table, size_t capacity, const unsigned char *pk)
{
    uint64_t h;
    memcpy(&h, pk, sizeof h); /* public keys are uniformly distributed */
    size_t i = (size_t)h & (capacity - 1);
    while (!sodium_is_zero(table + i * KEYRING_ENTRY, crypto_box_PUBLICKEYBYTES) &&
           memcmp(table + i * KEYRING_ENTRY, pk, crypto_box_PUBLICKEYBYTES) != 0)
        i = (i + 1) & (capacity - 1);
    return i;
}

static envelope_error_t s_keyring_grow(envelope_keyring_t *self)
{
    size_t capacity = self->capacity * 2;
    unsigned char *table = s_table_new(capacity);
    if (!table)
        return ENVELOPE_ERR_NOMEM;
    for (size_t i = 0; i < self->capacity; i++) {
        const unsigned char *entry = self->table + i * KEYRING_ENTRY;
        if (!sodium_is_zero(entry, crypto_box_PUBLICKEYBYTES))
            memcpy(table + s_slot(table, capacity, entry) * KEYRING_ENTRY, entry, KEYRING_ENTRY);
    }
    s_table_free(self->table, self->capacity);
    self->table = table;
    self->capacity = capacity;
    return ENVELOPE_OK;
}

/* Finds or computes the shared key with `pk`; *k borrows it from the
   keyring (valid until the next call that adds a peer). */
static envelope_error_t s_keyring_shared(envelope_keyring_t *self, const unsigned char *pk,
                                         const unsigned char **k)
{
    if (sodium_is_zero(pk, crypto_box_PUBLICKEYBYTES))
        return ENVELOPE_ERR_BAD_KEY;
    unsigned char *entry = self->table + s_slot(self->table, self->capacity, pk) * KEYRING_ENTRY;
    if (sodium_is_zero(entry, crypto_box_PUBLICKEYBYTES)) {
        if (self->count >= ENVELOPE_KEYRING_PEERS_MAX)
            return ENVELOPE_ERR_NOMEM;
        if ((self->count + 1) * 2 > self->capacity) {
            envelope_error_t err = s_keyring_grow(self);
            if (err != ENVELOPE_OK)
                return err;
            entry = self->table + s_slot(self->table, self->capacity, pk) * KEYRING_ENTRY;
        }
        if (crypto_box_beforenm(entry + crypto_box_PUBLICKEYBYTES, pk, self->sk) != 0) {
            sodium_memzero(entry, KEYRING_ENTRY);
            return ENVELOPE_ERR_BAD_KEY;
        }
        memcpy(entry, pk, crypto_box_PUBLICKEYBYTES);
        self->count++;
    }
    *k = entry + crypto_box_PUBLICKEYBYTES;
    return ENVELOPE_OK;
}

envelope_error_t envelope_keyring_add(envelope_keyring_t *self,
                                      const unsigned char peer_pk[crypto_box_PUBLICKEYBYTES])
{
    if (!self || !peer_pk)
        return ENVELOPE_ERR_INVALID_ARGUMENT;
    const unsigned char *k;
    return s_keyring_shared(self, peer_pk, &k);
}

/* ------------------------------------------------------------------------
   Helpers */

/* A protobuf-c allocator that wipes every block it frees, for decrypted
   content. Each block carries its size in a 16-byte prefix (keeps malloc's
   alignment). Stateless. */
#define WIPE_PREFIX 16

static void *s_wipe_alloc(void *data, size_t size)
{
    (void)data;
    if (size > SIZE_MAX - WIPE_PREFIX)
        return NULL;
    unsigned char *block = malloc(size + WIPE_PREFIX);
    if (!block)
        return NULL;
    memcpy(block, &size, sizeof size);
    return block + WIPE_PREFIX;
}

static void s_wipe_free(void *data, void *ptr)
{
    (void)data;
    if (!ptr)
        return;
    unsigned char *block = (unsigned char *)ptr - WIPE_PREFIX;
    size_t size;
    memcpy(&size, block, sizeof size);
    sodium_memzero(block, size + WIPE_PREFIX);
    free(block);
}

static ProtobufCAllocator s_wiping_allocator = {s_wipe_alloc, s_wipe_free, NULL};

/* True when `text` is valid UTF-8 (no overlongs, surrogates or code points
   above U+10FFFF) without control characters other than tab, LF and CR. */
static bool s_is_value_text(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (s[i]) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80) /* also stops at the NUL */
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
            return false;
        i += need + 1;
    }
    return true;
}

static void s_hash_len(crypto_generichash_state *state, size_t len)
{
    unsigned char le[8];
    uint64_t v = (uint64_t)len;
    for (size_t i = 0; i < sizeof le; i++)
        le[i] = (unsigned char)(v >> (8 * i));
    crypto_generichash_update(state, le, sizeof le);
}

/* The commitment to a content key: BLAKE2b-256 keyed with it. */
static void s_commitment(const unsigned char key[ENVELOPE_KEYBYTES],
                         unsigned char out[ENVELOPE_COMMITBYTES])
{
    crypto_generichash(out, ENVELOPE_COMMITBYTES, (const unsigned char *)ENVELOPE_COMMIT_TAG,
                       sizeof ENVELOPE_COMMIT_TAG - 1, key, ENVELOPE_KEYBYTES);
}

static void s_signed_hash(const uint8_t *header, size_t header_len, const uint8_t *nonce,
                          size_t nonce_len, const uint8_t *ct, size_t ct_len, const uint8_t *commit,
                          size_t commit_len, unsigned char hash[ENVELOPE_HASHBYTES])
{
    crypto_generichash_state state;
    crypto_generichash_init(&state, NULL, 0, ENVELOPE_HASHBYTES);
    crypto_generichash_update(&state, (const unsigned char *)ENVELOPE_SIGN_TAG,
                              sizeof ENVELOPE_SIGN_TAG - 1);
    s_hash_len(&state, header_len);
    crypto_generichash_update(&state, header, header_len);
    s_hash_len(&state, nonce_len);
    crypto_generichash_update(&state, nonce, nonce_len);
    s_hash_len(&state, ct_len);
    crypto_generichash_update(&state, ct, ct_len);
    s_hash_len(&state, commit_len);
    crypto_generichash_update(&state, commit, commit_len);
    crypto_generichash_final(&state, hash, ENVELOPE_HASHBYTES);
}

void envelope_signed_hash(const Hartslag__SealedSignal *s, unsigned char hash[ENVELOPE_HASHBYTES])
{
    s_signed_hash(s->header.data, s->header.len, s->nonce.data, s->nonce.len, s->ciphertext.data,
                  s->ciphertext.len, s->key_commitment.data, s->key_commitment.len, hash);
}

/* The sizes every check needs before any crypto runs. */
static envelope_error_t s_check_sizes(const Hartslag__SealedSignal *s)
{
    if (s->header.len > ENVELOPE_HEADER_MAX || s->ciphertext.len > ENVELOPE_CIPHERTEXT_MAX)
        return ENVELOPE_ERR_TOO_LARGE;
    if (s->header.len == 0 || s->nonce.len != ENVELOPE_NONCEBYTES ||
        s->ciphertext.len < ENVELOPE_ABYTES || s->signature.len != ENVELOPE_SIGBYTES ||
        s->key_commitment.len != ENVELOPE_COMMITBYTES)
        return ENVELOPE_ERR_MALFORMED;
    return ENVELOPE_OK;
}

static int s_strptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int s_field_cmp(const void *a, const void *b)
{
    return strcmp(((const envelope_field_t *)a)->name, ((const envelope_field_t *)b)->name);
}

static envelope_error_t s_fail(const char **reason, const char *token, envelope_error_t err)
{
    if (reason)
        *reason = token;
    return err;
}

/* ------------------------------------------------------------------------
   Seal */

envelope_error_t envelope_seal(const envelope_draft_t *draft, const envelope_sender_t *sender,
                               const envelope_recipient_t *recipients, size_t n_recipients,
                               uint8_t **sealed, size_t *sealed_len,
                               unsigned char signal_id[ENVELOPE_SIGNAL_ID_BYTES],
                               const char **reason)
{
    if (!draft || !sender || !sender->sign_sk || !sender->keyring || !sealed || !sealed_len ||
        !signal_id || (!recipients && n_recipients > 0) || (!draft->fields && draft->n_fields > 0))
        return s_fail(reason, "invalid_argument", ENVELOPE_ERR_INVALID_ARGUMENT);
    if (n_recipients == 0)
        return s_fail(reason, "no_recipients", ENVELOPE_ERR_INVALID_HEADER);
    if (n_recipients > ENVELOPE_RECIPIENTS_MAX)
        return s_fail(reason, "too_many_recipients", ENVELOPE_ERR_INVALID_HEADER);
    size_t n_names = draft->n_fields + (draft->free_text ? 1 : 0);
    if (draft->n_fields > WIRE_FIELDS_MAX || n_names > WIRE_FIELDS_MAX)
        return s_fail(reason, "too_many_fields", ENVELOPE_ERR_INVALID_HEADER);
    for (size_t i = 0; i < draft->n_fields; i++) {
        if (!draft->fields[i].name || !draft->fields[i].value)
            return s_fail(reason, "invalid_argument", ENVELOPE_ERR_INVALID_ARGUMENT);
        if (strcmp(draft->fields[i].name, ENVELOPE_FREE_TEXT_FIELD) == 0)
            return s_fail(reason, "reserved_field", ENVELOPE_ERR_INVALID_HEADER);
    }
    for (size_t i = 0; i < n_recipients; i++)
        if (!recipients[i].org)
            return s_fail(reason, "invalid_argument", ENVELOPE_ERR_INVALID_ARGUMENT);

    /* The header, validated by the same rules the broker applies. */
    /* Time-ordered: the creation time (48 bits, milliseconds, big-endian)
       and then 80 random bits. The indexes on signal ids (broker store,
       inboxes, outboxes) then grow at one end instead of dirtying a random
       page per signal (bench/RESULTS.md); the time is in the header anyway. */
    uint64_t created_at_ms = draft->created_at_ms ? draft->created_at_ms : wire_now_ms();
    unsigned char id[ENVELOPE_SIGNAL_ID_BYTES];
    for (int i = 0; i < 6; i++)
        id[i] = (unsigned char)(created_at_ms >> (40 - 8 * i));
    randombytes_buf(id + 6, sizeof id - 6);
    if (draft->signal_id)
        memcpy(id, draft->signal_id, sizeof id);
    char *names[WIRE_FIELDS_MAX];
    for (size_t i = 0; i < draft->n_fields; i++)
        names[i] = (char *)draft->fields[i].name;
    if (draft->free_text)
        names[draft->n_fields] = (char *)ENVELOPE_FREE_TEXT_FIELD;
    qsort(names, n_names, sizeof names[0], s_strptr_cmp);
    char *orgs[ENVELOPE_RECIPIENTS_MAX];
    for (size_t i = 0; i < n_recipients; i++)
        orgs[i] = (char *)recipients[i].org;

    Hartslag__SignalHeader header = HARTSLAG__SIGNAL_HEADER__INIT;
    header.signal_id.data = id;
    header.signal_id.len = sizeof id;
    header.sender = (char *)draft->sender;
    header.sender_user = (char *)draft->sender_user;
    header.n_recipients = n_recipients;
    header.recipients = orgs;
    header.signal_type = (char *)draft->signal_type;
    header.purpose = (char *)draft->purpose;
    header.agreements_version = draft->agreements_version;
    header.subject.data = (uint8_t *)draft->subject;
    header.subject.len = ENVELOPE_SUBJECT_BYTES;
    header.n_fields = n_names;
    header.fields = names;
    header.created_at_ms = created_at_ms;
    header.valid_until_ms = draft->valid_until_ms;
    header.urgency = draft->urgency;
    if (draft->subject_scheme) {
        header.has_subject_scheme = true;
        header.subject_scheme = draft->subject_scheme;
    }
    if (draft->subject_key_version) {
        header.has_subject_key_version = true;
        header.subject_key_version = draft->subject_key_version;
    }
    if (draft->case_id) {
        header.has_case_id = true;
        header.case_id.data = (uint8_t *)draft->case_id;
        header.case_id.len = 16;
    }
    if (draft->case_item) {
        header.has_case_item = true;
        header.case_item.data = (uint8_t *)draft->case_item;
        header.case_item.len = 16;
    }
    if (draft->reshare_of) {
        header.has_reshare_of = true;
        header.reshare_of.data = (uint8_t *)draft->reshare_of;
        header.reshare_of.len = 16;
    }
    const char *why = NULL;
    if (wire_validate_header(&header, &why) != 0)
        return s_fail(reason, why, ENVELOPE_ERR_INVALID_HEADER);
    size_t header_len = hartslag__signal_header__get_packed_size(&header);
    if (header_len > ENVELOPE_HEADER_MAX)
        return s_fail(reason, "header_too_large", ENVELOPE_ERR_TOO_LARGE);
    uint8_t header_bytes[ENVELOPE_HEADER_MAX];
    hartslag__signal_header__pack(&header, header_bytes);

    /* The content, fields sorted like the header's names. */
    envelope_field_t sorted[WIRE_FIELDS_MAX];
    if (draft->n_fields > 0)
        memcpy(sorted, draft->fields, draft->n_fields * sizeof sorted[0]);
    qsort(sorted, draft->n_fields, sizeof sorted[0], s_field_cmp);
    Hartslag__ContentField cf[WIRE_FIELDS_MAX];
    Hartslag__ContentField *cfp[WIRE_FIELDS_MAX];
    for (size_t i = 0; i < draft->n_fields; i++) {
        hartslag__content_field__init(&cf[i]);
        cf[i].name = (char *)sorted[i].name;
        cf[i].value = (char *)sorted[i].value;
        cfp[i] = &cf[i];
    }
    Hartslag__SignalContent content = HARTSLAG__SIGNAL_CONTENT__INIT;
    content.n_fields = draft->n_fields;
    content.fields = cfp;
    content.free_text = (char *)draft->free_text;
    size_t plain_len = hartslag__signal_content__get_packed_size(&content);
    if (plain_len > ENVELOPE_CONTENT_MAX)
        return s_fail(reason, "content_too_large", ENVELOPE_ERR_TOO_LARGE);
    for (size_t i = 0; i < draft->n_fields; i++)
        if (!s_is_value_text(sorted[i].value))
            return s_fail(reason, "bad_value", ENVELOPE_ERR_MALFORMED);
    if (draft->free_text && !s_is_value_text(draft->free_text))
        return s_fail(reason, "bad_value", ENVELOPE_ERR_MALFORMED);

    /* Shared keys first: a bad recipient key fails before any secret exists. */
    const unsigned char *shared[ENVELOPE_RECIPIENTS_MAX];
    for (size_t i = 0; i < n_recipients; i++) {
        envelope_error_t err = s_keyring_shared(sender->keyring, recipients[i].box_pk, &shared[i]);
        if (err != ENVELOPE_OK)
            return s_fail(reason, envelope_error_token(err), err);
    }
    /* Adding a peer can move the table: take the pointers again. */
    for (size_t i = 0; i < n_recipients; i++) {
        envelope_error_t err = s_keyring_shared(sender->keyring, recipients[i].box_pk, &shared[i]);
        if (err != ENVELOPE_OK)
            return s_fail(reason, envelope_error_token(err), err);
    }

    envelope_error_t result = ENVELOPE_ERR_NOMEM;
    unsigned char key[ENVELOPE_KEYBYTES];
    unsigned char nonce[ENVELOPE_NONCEBYTES];
    uint8_t *plain = malloc(plain_len ? plain_len : 1);
    uint8_t *ct = malloc(plain_len + ENVELOPE_ABYTES);
    uint8_t *out = NULL;
    if (!plain || !ct)
        goto done;
    hartslag__signal_content__pack(&content, plain);
    crypto_aead_xchacha20poly1305_ietf_keygen(key);
    randombytes_buf(nonce, sizeof nonce);
    unsigned long long ct_len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ct_len, plain, plain_len, header_bytes,
                                               header_len, NULL, nonce, key);

    Hartslag__WrappedKey wk[ENVELOPE_RECIPIENTS_MAX];
    Hartslag__WrappedKey *wkp[ENVELOPE_RECIPIENTS_MAX];
    unsigned char wnonce[ENVELOPE_RECIPIENTS_MAX][ENVELOPE_WRAP_NONCEBYTES];
    unsigned char wrapped[ENVELOPE_RECIPIENTS_MAX][ENVELOPE_WRAPPEDBYTES];
    for (size_t i = 0; i < n_recipients; i++) {
        randombytes_buf(wnonce[i], sizeof wnonce[i]);
        crypto_box_easy_afternm(wrapped[i], key, sizeof key, wnonce[i], shared[i]);
        hartslag__wrapped_key__init(&wk[i]);
        wk[i].recipient = (char *)recipients[i].org;
        wk[i].nonce.data = wnonce[i];
        wk[i].nonce.len = sizeof wnonce[i];
        wk[i].wrapped.data = wrapped[i];
        wk[i].wrapped.len = sizeof wrapped[i];
        wkp[i] = &wk[i];
    }

    unsigned char hash[ENVELOPE_HASHBYTES];
    unsigned char sig[ENVELOPE_SIGBYTES];
    unsigned char commit[ENVELOPE_COMMITBYTES];
    s_commitment(key, commit);
    s_signed_hash(header_bytes, header_len, nonce, sizeof nonce, ct, (size_t)ct_len, commit,
                  sizeof commit, hash);
    if (sigdomain_sign(SIGDOMAIN_SIGNAL, hash, sizeof hash, sender->sign_sk, sig) != 0)
        goto done; /* cannot happen: a 32-byte payload */

    Hartslag__SealedSignal s = HARTSLAG__SEALED_SIGNAL__INIT;
    s.header.data = header_bytes;
    s.header.len = header_len;
    s.nonce.data = nonce;
    s.nonce.len = sizeof nonce;
    s.ciphertext.data = ct;
    s.ciphertext.len = (size_t)ct_len;
    s.n_wrapped_keys = n_recipients;
    s.wrapped_keys = wkp;
    s.signature.data = sig;
    s.signature.len = sizeof sig;
    s.key_commitment.data = commit;
    s.key_commitment.len = sizeof commit;
    size_t out_len = hartslag__sealed_signal__get_packed_size(&s);
    out = malloc(out_len);
    if (!out)
        goto done;
    hartslag__sealed_signal__pack(&s, out);

    *sealed = out;
    *sealed_len = out_len;
    memcpy(signal_id, id, sizeof id);
    result = ENVELOPE_OK;
done:
    sodium_memzero(key, sizeof key);
    if (plain) {
        sodium_memzero(plain, plain_len ? plain_len : 1);
        free(plain);
    }
    free(ct);
    if (result == ENVELOPE_OK && reason)
        *reason = NULL;
    else if (reason)
        *reason = envelope_error_token(result);
    return result;
}

/* ------------------------------------------------------------------------
   Reading */

envelope_error_t envelope_unpack_with(const uint8_t *buf, size_t len, ProtobufCAllocator *allocator,
                                      Hartslag__SealedSignal **out)
{
    if (!out || (!buf && len > 0))
        return ENVELOPE_ERR_INVALID_ARGUMENT;
    /* The cap comes first: protobuf-c would allocate on the sender's word. */
    if (len > ENVELOPE_SEALED_MAX)
        return ENVELOPE_ERR_TOO_LARGE;
    Hartslag__SealedSignal *s = hartslag__sealed_signal__unpack(allocator, len, buf);
    if (!s)
        return ENVELOPE_ERR_MALFORMED;
    *out = s;
    return ENVELOPE_OK;
}

envelope_error_t envelope_unpack(const uint8_t *buf, size_t len, Hartslag__SealedSignal **out)
{
    return envelope_unpack_with(buf, len, NULL, out);
}

envelope_error_t envelope_verify(const Hartslag__SealedSignal *s,
                                 const unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES])
{
    if (!s || !sign_pk)
        return ENVELOPE_ERR_INVALID_ARGUMENT;
    envelope_error_t err = s_check_sizes(s);
    if (err != ENVELOPE_OK)
        return err;
    unsigned char hash[ENVELOPE_HASHBYTES];
    envelope_signed_hash(s, hash);
    if (sigdomain_verify(SIGDOMAIN_SIGNAL, hash, sizeof hash, s->signature.data, sign_pk) != 0)
        return ENVELOPE_ERR_BAD_SIGNATURE;
    return ENVELOPE_OK;
}

/* The content's names (plus "toelichting" for free text) must be exactly
   the header's sorted `fields`, in that order. */
static envelope_error_t s_check_fields(const Hartslag__SignalContent *c,
                                       const Hartslag__SignalHeader *h)
{
    size_t j = 0;
    bool free_text_named = false;
    for (size_t i = 0; i < h->n_fields; i++) {
        const char *name = h->fields[i];
        if (c->free_text && !free_text_named && strcmp(name, ENVELOPE_FREE_TEXT_FIELD) == 0) {
            free_text_named = true;
            continue;
        }
        if (j >= c->n_fields || strcmp(c->fields[j]->name, name) != 0)
            return ENVELOPE_ERR_FIELD_MISMATCH;
        j++;
    }
    if (j != c->n_fields || free_text_named != (c->free_text != NULL))
        return ENVELOPE_ERR_FIELD_MISMATCH;
    for (size_t i = 0; i < c->n_fields; i++)
        if (strcmp(c->fields[i]->name, ENVELOPE_FREE_TEXT_FIELD) == 0)
            return ENVELOPE_ERR_FIELD_MISMATCH;
    return ENVELOPE_OK;
}

/* The content is exactly what was packed (no unknown fields, nothing cut
   short by an embedded NUL) and its texts are clean. */
static bool s_content_ok(const Hartslag__SignalContent *c, size_t plain_len)
{
    if (c->base.n_unknown_fields > 0 || hartslag__signal_content__get_packed_size(c) != plain_len)
        return false;
    for (size_t i = 0; i < c->n_fields; i++)
        if (c->fields[i]->base.n_unknown_fields > 0 || !s_is_value_text(c->fields[i]->value))
            return false;
    return !c->free_text || s_is_value_text(c->free_text);
}

envelope_error_t envelope_open(const Hartslag__SealedSignal *s,
                               const Hartslag__SignalHeader *header, const envelope_peer_t *sender,
                               const char *own_org, envelope_keyring_t *keyring,
                               Hartslag__SignalContent **content)
{
    if (!s || !header || !sender || !sender->org || !own_org || !keyring || !content)
        return ENVELOPE_ERR_INVALID_ARGUMENT;
    envelope_error_t err = envelope_verify(s, sender->sign_pk);
    if (err != ENVELOPE_OK)
        return err;

    /* `header` must be the reading of exactly the signed bytes. */
    if (wire_validate_header(header, NULL) != 0)
        return ENVELOPE_ERR_INVALID_HEADER;
    uint8_t again[ENVELOPE_HEADER_MAX];
    if (hartslag__signal_header__get_packed_size(header) != s->header.len ||
        hartslag__signal_header__pack(header, again) != s->header.len ||
        memcmp(again, s->header.data, s->header.len) != 0)
        return ENVELOPE_ERR_INVALID_HEADER;
    if (strcmp(header->sender, sender->org) != 0)
        return ENVELOPE_ERR_WRONG_SENDER;
    if (wire_check_sealed(s, header, NULL) != 0)
        return ENVELOPE_ERR_MALFORMED;
    size_t me = header->n_recipients;
    for (size_t i = 0; i < header->n_recipients; i++)
        if (strcmp(header->recipients[i], own_org) == 0)
            me = i;
    if (me == header->n_recipients)
        return ENVELOPE_ERR_NOT_RECIPIENT;

    const unsigned char *shared;
    err = s_keyring_shared(keyring, sender->box_pk, &shared);
    if (err != ENVELOPE_OK)
        return err;
    const Hartslag__WrappedKey *w = s->wrapped_keys[me];
    unsigned char key[ENVELOPE_KEYBYTES];
    if (crypto_box_open_easy_afternm(key, w->wrapped.data, w->wrapped.len, w->nonce.data, shared) !=
        0) {
        sodium_memzero(key, sizeof key);
        return ENVELOPE_ERR_DECRYPT;
    }
    unsigned char commit[ENVELOPE_COMMITBYTES];
    s_commitment(key, commit);
    if (sodium_memcmp(commit, s->key_commitment.data, ENVELOPE_COMMITBYTES) != 0) {
        sodium_memzero(key, sizeof key);
        return ENVELOPE_ERR_COMMITMENT;
    }
    size_t plain_cap = s->ciphertext.len - ENVELOPE_ABYTES;
    uint8_t *plain = malloc(plain_cap ? plain_cap : 1);
    if (!plain) {
        sodium_memzero(key, sizeof key);
        return ENVELOPE_ERR_NOMEM;
    }
    unsigned long long plain_len = 0;
    int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plain_len, NULL, s->ciphertext.data,
                                                        s->ciphertext.len, s->header.data,
                                                        s->header.len, s->nonce.data, key);
    sodium_memzero(key, sizeof key);
    Hartslag__SignalContent *c = NULL;
    if (rc != 0)
        err = ENVELOPE_ERR_DECRYPT;
    else {
        c = hartslag__signal_content__unpack(&s_wiping_allocator, (size_t)plain_len, plain);
        if (!c || !s_content_ok(c, (size_t)plain_len))
            err = ENVELOPE_ERR_MALFORMED;
        else
            err = s_check_fields(c, header);
    }
    sodium_memzero(plain, plain_cap ? plain_cap : 1);
    free(plain);
    if (err != ENVELOPE_OK) {
        if (c)
            hartslag__signal_content__free_unpacked(c, &s_wiping_allocator);
        return err;
    }
    *content = c;
    return ENVELOPE_OK;
}

void envelope_content_destroy(Hartslag__SignalContent **content_p)
{
    if (!content_p || !*content_p)
        return;
    hartslag__signal_content__free_unpacked(*content_p, &s_wiping_allocator);
    *content_p = NULL;
}
