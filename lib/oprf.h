/*  oprf: RFC 9497 verifiable oblivious PRF (VOPRF mode, 0x01) with the
    ristretto255-SHA512 suite, on libsodium (issue 17, docs/pseudonyms.md).

    The client blinds an input, the server evaluates the blinded element
    with its secret key and proves (DLEQ) that it used the key whose public
    half the client knows, the client checks the proof and unblinds. The
    server never sees the input or the output; the client never holds the
    key.

        contextString = "OPRFV1-" || 0x01 || "-ristretto255-SHA512"
        HashToGroup   = hash_to_ristretto255 (RFC 9380), expand_message_xmd
                        SHA-512, DST "HashToGroup-" || contextString
        HashToScalar  = expand_message_xmd (64 bytes) reduced mod L,
                        DST "HashToScalar-" || contextString unless given
        Finalize      = SHA-512(I2OSP(len(input), 2) || input ||
                                I2OSP(32, 2) || unblinded element || "Finalize")

    Every element that comes from outside goes through oprf_element_check:
    a non-canonical encoding (including bit 255 set, which libsodium's own
    check lets pass) or the identity element is refused.

    Batches hold 1..OPRF_BATCH_MAX elements; one proof covers the batch
    (RFC 9497 §2.2.1, ComputeComposites). Inputs are 1..OPRF_INPUT_MAX
    bytes. Scalars on the stack are wiped before returning. The functions
    with a `*_fixed` scalar argument exist for the RFC's test vectors; pass
    NULL for a fresh random scalar.
*/
#ifndef HARTSLAG_OPRF_H
#define HARTSLAG_OPRF_H

#include <stddef.h>
#include <stdint.h>

#define OPRF_SCALARBYTES 32  /* a secret key or a blind */
#define OPRF_ELEMENTBYTES 32 /* a serialized ristretto255 element */
#define OPRF_PROOFBYTES 64   /* DLEQ proof: c || s */
#define OPRF_OUTPUTBYTES 64  /* SHA-512 */
#define OPRF_SEEDBYTES 32    /* DeriveKeyPair seed */
#define OPRF_BATCH_MAX 64    /* elements in one request */
#define OPRF_INPUT_MAX 1024  /* bytes of one private input */
#define OPRF_INFO_MAX 1024   /* bytes of DeriveKeyPair info */

typedef enum {
    OPRF_OK = 0,
    OPRF_ERR_INPUT,   /* empty or too long input, or too long info (empty info is fine) */
    OPRF_ERR_INVALID, /* the input hashes to the identity (RFC: InvalidInputError) */
    OPRF_ERR_ELEMENT, /* not a canonical ristretto255 encoding, or the identity */
    OPRF_ERR_BATCH,   /* 0 or more than OPRF_BATCH_MAX elements */
    OPRF_ERR_PROOF,   /* the DLEQ proof does not verify (RFC: VerifyError) */
    OPRF_ERR_DERIVE,  /* DeriveKeyPair found no key in 256 tries */
    OPRF_ERR_SCALAR,  /* a zero or non-canonical scalar (secret key, blind or proof nonce),
                         or a secret key that is not the given public key's */
} oprf_error_t;

/* A short static text for `err`, never holding any input. */
const char *oprf_strerror(oprf_error_t err);

/* RFC 9497 §3.2.1 DeriveKeyPair(seed, info). */
oprf_error_t oprf_derive_key_pair(const uint8_t seed[OPRF_SEEDBYTES], const uint8_t *info,
                                  size_t info_len, uint8_t sk[OPRF_SCALARBYTES],
                                  uint8_t pk[OPRF_ELEMENTBYTES]);

/* A fresh random key pair. */
oprf_error_t oprf_generate_key_pair(uint8_t sk[OPRF_SCALARBYTES], uint8_t pk[OPRF_ELEMENTBYTES]);

/* pk = sk * G; refuses a zero or non-canonical sk. */
oprf_error_t oprf_public_key(const uint8_t sk[OPRF_SCALARBYTES], uint8_t pk[OPRF_ELEMENTBYTES]);

/* 0 when `element` is a canonical, non-identity ristretto255 encoding. */
oprf_error_t oprf_element_check(const uint8_t element[OPRF_ELEMENTBYTES]);

/* Client: Blind(input). `blind_fixed` NULL picks a random blind; the blind
   is written to `blind` (secret: keep until finalize, then wipe). */
oprf_error_t oprf_blind(const uint8_t *input, size_t input_len, const uint8_t *blind_fixed,
                        uint8_t blind[OPRF_SCALARBYTES], uint8_t blinded[OPRF_ELEMENTBYTES]);

/* Server: BlindEvaluate for a batch of `n` blinded elements (each checked
   with oprf_element_check first; one bad element refuses the batch and
   writes nothing). `proof_r_fixed` NULL picks a random proof nonce. `pk`
   must be sk's public key (checked: OPRF_ERR_SCALAR), since it is what the
   proof is made against. */
oprf_error_t oprf_blind_evaluate(const uint8_t sk[OPRF_SCALARBYTES],
                                 const uint8_t pk[OPRF_ELEMENTBYTES],
                                 const uint8_t (*blinded)[OPRF_ELEMENTBYTES], size_t n,
                                 const uint8_t *proof_r_fixed,
                                 uint8_t (*evaluated)[OPRF_ELEMENTBYTES],
                                 uint8_t proof[OPRF_PROOFBYTES]);

/* Client: checks the proof over the whole batch against the server's `pk`,
   then Finalize for each of the `n` inputs. On any error no output is
   written (all-or-nothing). */
oprf_error_t oprf_finalize(const uint8_t pk[OPRF_ELEMENTBYTES], const uint8_t *const *inputs,
                           const size_t *input_lens, const uint8_t (*blinds)[OPRF_SCALARBYTES],
                           const uint8_t (*blinded)[OPRF_ELEMENTBYTES],
                           const uint8_t (*evaluated)[OPRF_ELEMENTBYTES], size_t n,
                           const uint8_t proof[OPRF_PROOFBYTES],
                           uint8_t (*outputs)[OPRF_OUTPUTBYTES]);

#endif
