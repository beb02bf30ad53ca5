/*  fuzz_common: what the libFuzzer targets share.

    - A deterministic libsodium random source (fuzz_sodium_init), so that a
      signal sealed at start-up, and with it every kept crash input, replays
      byte for byte in every run.
    - A fixed set of parties (sender "gemeente", recipients "politie" and
      "ggd") with keys from constant seeds, and one valid sealed signal from
      the sender to both recipients (fuzz_fixture_new).
    - FUZZ_CHECK: an invariant of the code under test; a failure aborts, so
      libFuzzer records the input as a crash.
    - Seed writing: when HARTSLAG_FUZZ_WRITE_SEEDS names a directory, a
      target writes its seed inputs there at start-up and exits; that is how
      tests/fuzz/corpus/ was made (see tests/fuzz/README.md).

    Everything here is static inline: each target includes it once.
*/
#ifndef HARTSLAG_FUZZ_COMMON_H
#define HARTSLAG_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "envelope.h"
#include "wire.h"

/* An invariant; on failure the input is a crash. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define FUZZ_T0_MS 1735689600000ull /* 2025-01-01T00:00:00Z */
#define FUZZ_DAY_MS (24ull * 60 * 60 * 1000)
#define FUZZ_RECIPIENTS 2

/* ---- Deterministic random source ------------------------------------- */

static uint64_t s_fuzz_rng_counter;

static inline const char *s_fuzz_rng_name(void)
{
    return "hartslag-fuzz-deterministic";
}

static inline void s_fuzz_rng_buf(void *const buf, const size_t size)
{
    unsigned char seed[randombytes_SEEDBYTES] = {0};
    uint64_t n = ++s_fuzz_rng_counter;
    memcpy(seed, &n, sizeof n);
    randombytes_buf_deterministic(buf, size, seed);
}

static inline uint32_t s_fuzz_rng_random(void)
{
    uint32_t r;
    s_fuzz_rng_buf(&r, sizeof r);
    return r;
}

static struct randombytes_implementation s_fuzz_rng = {
    .implementation_name = s_fuzz_rng_name,
    .random = s_fuzz_rng_random,
    .stir = NULL,
    .uniform = NULL,
    .buf = s_fuzz_rng_buf,
    .close = NULL,
};

/* Installs the deterministic random source and starts libsodium. */
static inline void fuzz_sodium_init(void)
{
    if (randombytes_set_implementation(&s_fuzz_rng) != 0 || sodium_init() < 0) {
        fprintf(stderr, "fuzz: libsodium does not start\n");
        abort();
    }
}

/* ---- Fixed parties and one valid signal ------------------------------ */

/* One party: org, key pairs from constant seeds, its keyring. */
typedef struct {
    const char *org;                                   /* org id */
    unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES]; /* Ed25519 public key */
    unsigned char sign_sk[crypto_sign_SECRETKEYBYTES]; /* Ed25519 secret key */
    unsigned char box_pk[crypto_box_PUBLICKEYBYTES];   /* X25519 public key */
    unsigned char box_sk[crypto_box_SECRETKEYBYTES];   /* X25519 secret key */
    envelope_keyring_t *ring;                          /* keyring over box_sk */
} fuzz_party_t;

/* Invariant: sealed (sealed_len bytes) is a valid SealedSignal from
   sender to recipients[0..FUZZ_RECIPIENTS), signed with sender.sign_sk. */
typedef struct {
    fuzz_party_t sender;                      /* "gemeente" */
    fuzz_party_t recipients[FUZZ_RECIPIENTS]; /* "politie", "ggd" */
    envelope_peer_t sender_peer;              /* the sender as a recipient sees it */
    uint8_t *sealed;                          /* packed valid SealedSignal (malloc) */
    size_t sealed_len;                        /* its length */
} fuzz_fixture_t;

static inline void s_fuzz_party(fuzz_party_t *p, const char *org, unsigned char tag)
{
    unsigned char seed[32];
    p->org = org;
    memset(seed, tag, sizeof seed);
    seed[0] = 's';
    crypto_sign_seed_keypair(p->sign_pk, p->sign_sk, seed);
    seed[0] = 'b';
    crypto_box_seed_keypair(p->box_pk, p->box_sk, seed);
    p->ring = envelope_keyring_new(p->box_sk);
    FUZZ_CHECK(p->ring != NULL);
}

/* Builds the fixture (once, at start-up); aborts when anything fails. */
static inline void fuzz_fixture_init(fuzz_fixture_t *fx)
{
    static const envelope_field_t fields[] = {
        {"adres", "Markt 1, Heerlen"},
        {"datum", "2025-01-01"},
    };
    memset(fx, 0, sizeof *fx);
    s_fuzz_party(&fx->sender, "gemeente", 1);
    s_fuzz_party(&fx->recipients[0], "politie", 2);
    s_fuzz_party(&fx->recipients[1], "ggd", 3);
    fx->sender_peer.org = fx->sender.org;
    memcpy(fx->sender_peer.sign_pk, fx->sender.sign_pk, sizeof fx->sender_peer.sign_pk);
    memcpy(fx->sender_peer.box_pk, fx->sender.box_pk, sizeof fx->sender_peer.box_pk);

    envelope_draft_t d;
    memset(&d, 0, sizeof d);
    d.sender = fx->sender.org;
    d.sender_user = "u12345";
    d.signal_type = "overlast";
    d.purpose = "casusoverleg";
    d.agreements_version = 7;
    memset(d.subject, 0x5a, sizeof d.subject);
    d.fields = fields;
    d.n_fields = sizeof fields / sizeof fields[0];
    d.free_text = "Buren melden overlast.";
    d.created_at_ms = FUZZ_T0_MS;
    d.valid_until_ms = FUZZ_T0_MS + 180 * FUZZ_DAY_MS;
    d.urgency = HARTSLAG__URGENCY__URGENCY_PRIORITY;

    envelope_recipient_t r[FUZZ_RECIPIENTS];
    for (size_t i = 0; i < FUZZ_RECIPIENTS; i++) {
        r[i].org = fx->recipients[i].org;
        memcpy(r[i].box_pk, fx->recipients[i].box_pk, sizeof r[i].box_pk);
    }
    envelope_sender_t keys = {fx->sender.sign_sk, fx->sender.ring};
    unsigned char id[ENVELOPE_SIGNAL_ID_BYTES];
    const char *reason = NULL;
    envelope_error_t err =
        envelope_seal(&d, &keys, r, FUZZ_RECIPIENTS, &fx->sealed, &fx->sealed_len, id, &reason);
    if (err != ENVELOPE_OK) {
        fprintf(stderr, "fuzz: seal: %s (%s)\n", envelope_strerror(err), reason ? reason : "");
        abort();
    }
}

/* ---- Seed writing ---------------------------------------------------- */

/* The directory seeds go to, or NULL in a normal run. */
static inline const char *fuzz_seed_dir(void)
{
    const char *dir = getenv("HARTSLAG_FUZZ_WRITE_SEEDS");
    return dir && *dir ? dir : NULL;
}

/* Writes one seed file `dir`/`name`; aborts on failure. */
static inline void fuzz_write_seed(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    FUZZ_CHECK(n > 0 && (size_t)n < sizeof path);
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(len == 0 || fwrite(data, 1, len, f) == len);
    FUZZ_CHECK(fclose(f) == 0);
}

#endif
