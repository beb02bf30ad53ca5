/*  ristretto_msm: variable-time multi-scalar multiplication over
    ristretto255 (RFC 9496), for PUBLIC scalars and elements only.

    RFC 9497's proof check needs sums like M = d1*C1 + ... + dn*Cn whose
    scalars and elements are all public (they come from the request, the
    answer and hashes of them). libsodium offers only constant-time
    single-scalar multiplication, which costs a full 256-bit ladder per term
    and made those sums most of a pseudonym's price (docs/pseudonyms.md §9).
    Here the sum is one interleaved width-5 wNAF pass (Straus): one shared
    chain of doublings, about 43 additions per term.

    Never pass a secret: the running time depends on the scalars' bits. The
    blind, its inverse, the service's key and the proof nonce stay with
    libsodium's constant-time crypto_scalarmult_ristretto255.

    Elements are canonical 32-byte encodings; scalars are 32-byte
    little-endian values below 2^253 (every reduced scalar mod L is).
*/
#ifndef HARTSLAG_RISTRETTO_MSM_H
#define HARTSLAG_RISTRETTO_MSM_H

#include <stddef.h>
#include <stdint.h>

#define RISTRETTO_MSM_MAX 128 /* terms in one sum */

/* out = sum of scalars[i] * elements[i], i < n (1..RISTRETTO_MSM_MAX).
   Returns 0, or -1 when n is out of range, an element is not a canonical
   ristretto255 encoding, a scalar is 2^253 or more, memory runs out, or the
   sum is the identity (refused as libsodium refuses an identity product). */
int ristretto_msm(uint8_t out[32], const uint8_t (*scalars)[32], const uint8_t (*elements)[32],
                  size_t n);

/* 0 when `element` is a canonical encoding of a ristretto255 element
   (the identity included), -1 otherwise. Variable time. */
int ristretto_msm_decodes(const uint8_t element[32]);

#endif
