/*  oprf: RFC 9497 VOPRF (mode 0x01), ristretto255-SHA512, on libsodium;
    see oprf.h.

    Encodings: an element is libsodium's canonical ristretto255 encoding (RFC
    9496 Encode), a scalar its 32-byte little-endian form below the group
    order L, exactly the RFC's SerializeElement / SerializeScalar. A proof is
    c || s.

    libsodium's scalar multiplications refuse (return -1) a point that does
    not decode and a product that is the identity; with canonical non-zero
    scalars and checked non-identity elements of a prime-order group that can
    only happen with negligible probability, or with hostile proof scalars,
    and every such case is an error here, never an output.
*/
#include "oprf.h"

#include <string.h>

#include <sodium.h>

#include "expand_xmd.h"
#include "ristretto_msm.h"

_Static_assert(OPRF_SCALARBYTES == crypto_core_ristretto255_SCALARBYTES, "scalar size");
_Static_assert(OPRF_ELEMENTBYTES == crypto_core_ristretto255_BYTES, "element size");
_Static_assert(OPRF_OUTPUTBYTES == crypto_hash_sha512_BYTES, "output size");
_Static_assert(OPRF_PROOFBYTES == 2 * OPRF_SCALARBYTES, "proof = c || s");
_Static_assert(OPRF_BATCH_MAX <= 65535, "the composite index is I2OSP(i, 2)");
_Static_assert(OPRF_INPUT_MAX <= 65535 && OPRF_INFO_MAX <= 65535, "lengths are I2OSP(len, 2)");

#define NS OPRF_SCALARBYTES
#define NE OPRF_ELEMENTBYTES
#define NH OPRF_OUTPUTBYTES

/* contextString = "OPRFV1-" || I2OSP(0x01, 1) || "-" || "ristretto255-SHA512" */
static const uint8_t s_context[] = {'O', 'P', 'R', 'F', 'V', '1', '-', 0x01, '-', 'r',
                                    'i', 's', 't', 'r', 'e', 't', 't', 'o',  '2', '5',
                                    '5', '-', 'S', 'H', 'A', '5', '1', '2'};
#define CONTEXT_LEN sizeof s_context
#define DST_MAX 48 /* the longest prefix below (13 bytes) + the context (28) */

/* prefix || contextString into dst; returns its length. */
static size_t s_dst(const char *prefix, uint8_t dst[DST_MAX])
{
    size_t n = strlen(prefix);
    memcpy(dst, prefix, n);
    memcpy(dst + n, s_context, CONTEXT_LEN);
    return n + CONTEXT_LEN;
}

const char *oprf_strerror(oprf_error_t err)
{
    switch (err) {
    case OPRF_OK:
        return "ok";
    case OPRF_ERR_INPUT:
        return "input or info empty or too long";
    case OPRF_ERR_INVALID:
        return "input hashes to the identity element";
    case OPRF_ERR_ELEMENT:
        return "element is not a canonical non-identity ristretto255 encoding";
    case OPRF_ERR_BATCH:
        return "batch size out of range";
    case OPRF_ERR_PROOF:
        return "proof does not verify";
    case OPRF_ERR_DERIVE:
        return "key derivation found no key";
    case OPRF_ERR_SCALAR:
        return "scalar is zero or not canonical";
    }
    return "unknown oprf error";
}

/* ---- Group helpers ---------------------------------------------------- */

/* 1 when s is the canonical encoding of a scalar below L: reducing s (as a
   512-bit number) leaves it unchanged. */
static int s_scalar_canonical(const uint8_t s[NS])
{
    uint8_t wide[crypto_core_ristretto255_NONREDUCEDSCALARBYTES] = {0};
    uint8_t reduced[NS];
    memcpy(wide, s, NS);
    crypto_core_ristretto255_scalar_reduce(reduced, wide);
    int same = sodium_memcmp(reduced, s, NS) == 0;
    sodium_memzero(wide, sizeof wide);
    sodium_memzero(reduced, sizeof reduced);
    return same;
}

/* 1 for a scalar usable as a key, blind or nonce: canonical and not zero. */
static int s_scalar_usable(const uint8_t s[NS])
{
    return s_scalar_canonical(s) && !sodium_is_zero(s, NS);
}

oprf_error_t oprf_element_check(const uint8_t element[OPRF_ELEMENTBYTES])
{
    if (!element)
        return OPRF_ERR_ELEMENT;
    /* libsodium 1.0.18 ignores bit 255 when decoding (it masks the top
       byte), so the same point would have two encodings: refuse it here. */
    if (element[NE - 1] & 0x80)
        return OPRF_ERR_ELEMENT;
    if (sodium_is_zero(element, NE)) /* the identity's encoding */
        return OPRF_ERR_ELEMENT;
    if (crypto_core_ristretto255_is_valid_point(element) != 1)
        return OPRF_ERR_ELEMENT;
    return OPRF_OK;
}

/* HashToScalar(msg, DST): 64 uniform bytes reduced mod L. */
static int s_hash_to_scalar(const uint8_t *msg, size_t msg_len, const uint8_t *dst, size_t dst_len,
                            uint8_t out[NS])
{
    uint8_t uniform[crypto_core_ristretto255_NONREDUCEDSCALARBYTES];
    if (expand_xmd_sha512(msg, msg_len, dst, dst_len, uniform, sizeof uniform) != 0)
        return -1;
    crypto_core_ristretto255_scalar_reduce(out, uniform);
    sodium_memzero(uniform, sizeof uniform);
    return 0;
}

/* HashToScalar with DST "HashToScalar-" || contextString. */
static int s_h2s(const uint8_t *msg, size_t msg_len, uint8_t out[NS])
{
    uint8_t dst[DST_MAX];
    size_t dst_len = s_dst("HashToScalar-", dst);
    return s_hash_to_scalar(msg, msg_len, dst, dst_len, out);
}

/* HashToGroup(input): hash_to_ristretto255 (RFC 9380 §B.2 / RFC 9496
   element derivation) with DST "HashToGroup-" || contextString. Returns
   OPRF_ERR_INVALID for the identity. */
static oprf_error_t s_hash_to_group(const uint8_t *input, size_t input_len, uint8_t out[NE])
{
    uint8_t dst[DST_MAX];
    uint8_t uniform[crypto_core_ristretto255_HASHBYTES];
    size_t dst_len = s_dst("HashToGroup-", dst);
    if (expand_xmd_sha512(input, input_len, dst, dst_len, uniform, sizeof uniform) != 0)
        return OPRF_ERR_INPUT;
    int rc = crypto_core_ristretto255_from_hash(out, uniform);
    sodium_memzero(uniform, sizeof uniform);
    if (rc != 0 || sodium_is_zero(out, NE))
        return OPRF_ERR_INVALID;
    return OPRF_OK;
}

static void s_put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* ---- Keys ------------------------------------------------------------- */

oprf_error_t oprf_public_key(const uint8_t sk[OPRF_SCALARBYTES], uint8_t pk[OPRF_ELEMENTBYTES])
{
    uint8_t out[NE];
    if (!sk || !pk || !s_scalar_usable(sk))
        return OPRF_ERR_SCALAR;
    if (crypto_scalarmult_ristretto255_base(out, sk) != 0)
        return OPRF_ERR_SCALAR;
    memcpy(pk, out, NE);
    return OPRF_OK;
}

oprf_error_t oprf_generate_key_pair(uint8_t sk[OPRF_SCALARBYTES], uint8_t pk[OPRF_ELEMENTBYTES])
{
    uint8_t k[NS];
    if (!sk || !pk)
        return OPRF_ERR_SCALAR;
    crypto_core_ristretto255_scalar_random(k); /* uniform in [1, L-1] */
    oprf_error_t err = oprf_public_key(k, pk);
    if (err == OPRF_OK)
        memcpy(sk, k, NS);
    sodium_memzero(k, sizeof k);
    return err;
}

oprf_error_t oprf_derive_key_pair(const uint8_t seed[OPRF_SEEDBYTES], const uint8_t *info,
                                  size_t info_len, uint8_t sk[OPRF_SCALARBYTES],
                                  uint8_t pk[OPRF_ELEMENTBYTES])
{
    if (!seed || !sk || !pk || info_len > OPRF_INFO_MAX || (info_len > 0 && !info))
        return OPRF_ERR_INPUT;

    /* deriveInput || I2OSP(counter, 1), deriveInput = seed || I2OSP(len(info), 2) || info */
    uint8_t buf[OPRF_SEEDBYTES + 2 + OPRF_INFO_MAX + 1];
    size_t n = 0;
    memcpy(buf, seed, OPRF_SEEDBYTES);
    n += OPRF_SEEDBYTES;
    s_put16(buf + n, info_len);
    n += 2;
    if (info_len > 0)
        memcpy(buf + n, info, info_len);
    n += info_len;

    uint8_t dst[DST_MAX];
    size_t dst_len = s_dst("DeriveKeyPair", dst);
    uint8_t k[NS] = {0};
    oprf_error_t err = OPRF_ERR_DERIVE;
    for (unsigned counter = 0; counter <= 255; counter++) {
        buf[n] = (uint8_t)counter;
        if (s_hash_to_scalar(buf, n + 1, dst, dst_len, k) != 0)
            break;
        if (!sodium_is_zero(k, NS)) {
            err = OPRF_OK;
            break;
        }
    }
    if (err == OPRF_OK) {
        uint8_t p[NE];
        err = oprf_public_key(k, p);
        if (err == OPRF_OK) {
            memcpy(sk, k, NS);
            memcpy(pk, p, NE);
        }
    }
    sodium_memzero(buf, sizeof buf);
    sodium_memzero(k, sizeof k);
    return err;
}

/* ---- Client: Blind ---------------------------------------------------- */

oprf_error_t oprf_blind(const uint8_t *input, size_t input_len, const uint8_t *blind_fixed,
                        uint8_t blind[OPRF_SCALARBYTES], uint8_t blinded[OPRF_ELEMENTBYTES])
{
    if (!input || input_len == 0 || input_len > OPRF_INPUT_MAX)
        return OPRF_ERR_INPUT;
    if (!blind || !blinded)
        return OPRF_ERR_SCALAR;

    uint8_t r[NS], p[NE], out[NE];
    if (blind_fixed) {
        if (!s_scalar_usable(blind_fixed))
            return OPRF_ERR_SCALAR;
        memcpy(r, blind_fixed, NS);
    } else {
        crypto_core_ristretto255_scalar_random(r);
    }
    oprf_error_t err = s_hash_to_group(input, input_len, p);
    if (err == OPRF_OK && crypto_scalarmult_ristretto255(out, r, p) != 0)
        err = OPRF_ERR_INVALID;
    if (err == OPRF_OK) {
        memcpy(blind, r, NS);
        memcpy(blinded, out, NE);
    }
    sodium_memzero(r, sizeof r);
    sodium_memzero(p, sizeof p);
    sodium_memzero(out, sizeof out);
    return err;
}

/* ---- DLEQ proof (RFC 9497 §2.2) ---------------------------------------- */

/* seed = Hash(I2OSP(len(Bm), 2) || Bm || I2OSP(len(seedDST), 2) || seedDST) */
static void s_composite_seed(const uint8_t pk[NE], uint8_t seed[NH])
{
    uint8_t seed_dst[DST_MAX];
    size_t seed_dst_len = s_dst("Seed-", seed_dst);
    uint8_t t[2 + NE + 2 + DST_MAX];
    size_t n = 0;
    s_put16(t + n, NE);
    n += 2;
    memcpy(t + n, pk, NE);
    n += NE;
    s_put16(t + n, seed_dst_len);
    n += 2;
    memcpy(t + n, seed_dst, seed_dst_len);
    n += seed_dst_len;
    crypto_hash_sha512(seed, t, n);
}

/* di = HashToScalar(I2OSP(len(seed), 2) || seed || I2OSP(i, 2) ||
                     I2OSP(len(Ci), 2) || Ci || I2OSP(len(Di), 2) || Di || "Composite") */
static int s_composite_scalar(const uint8_t seed[NH], size_t i, const uint8_t c[NE],
                              const uint8_t d[NE], uint8_t di[NS])
{
    static const char tag[] = "Composite";
    uint8_t t[2 + NH + 2 + 2 + NE + 2 + NE + sizeof tag - 1];
    size_t n = 0;
    s_put16(t + n, NH);
    n += 2;
    memcpy(t + n, seed, NH);
    n += NH;
    s_put16(t + n, i);
    n += 2;
    s_put16(t + n, NE);
    n += 2;
    memcpy(t + n, c, NE);
    n += NE;
    s_put16(t + n, NE);
    n += 2;
    memcpy(t + n, d, NE);
    n += NE;
    memcpy(t + n, tag, sizeof tag - 1);
    n += sizeof tag - 1;
    return s_h2s(t, n, di);
}

/* M = sum di * C[i]; and, when z is not NULL, Z = sum di * D[i]
   (ComputeComposites; the server passes z = NULL and takes Z = k * M,
   ComputeCompositesFast). Every di, C[i] and D[i] is public (hashes of the
   request and the answer), so the sums take the variable-time
   multi-scalar multiplication: a few times cheaper than a constant-time
   product per term, and most of a batch's price before. Returns 0 or -1. */
static int s_composites(const uint8_t pk[NE], const uint8_t (*c)[NE], const uint8_t (*d)[NE],
                        size_t n, uint8_t m[NE], uint8_t *z)
{
    uint8_t seed[NH], di[OPRF_BATCH_MAX][NS];
    if (n == 0 || n > OPRF_BATCH_MAX)
        return -1;
    s_composite_seed(pk, seed);
    for (size_t i = 0; i < n; i++)
        if (s_composite_scalar(seed, i, c[i], d[i], di[i]) != 0)
            return -1;
    if (ristretto_msm(m, (const uint8_t(*)[NS])di, c, n) != 0)
        return -1;
    if (z && ristretto_msm(z, (const uint8_t(*)[NS])di, d, n) != 0)
        return -1;
    return 0;
}

/* c = HashToScalar(I2OSP(len(Bm), 2) || Bm || ... a3 || "Challenge"), over
   B = pk, M, Z, t2, t3. */
static int s_challenge(const uint8_t pk[NE], const uint8_t m[NE], const uint8_t z[NE],
                       const uint8_t t2[NE], const uint8_t t3[NE], uint8_t c[NS])
{
    static const char tag[] = "Challenge";
    const uint8_t *parts[5] = {pk, m, z, t2, t3};
    uint8_t t[5 * (2 + NE) + sizeof tag - 1];
    size_t n = 0;
    for (size_t i = 0; i < 5; i++) {
        s_put16(t + n, NE);
        n += 2;
        memcpy(t + n, parts[i], NE);
        n += NE;
    }
    memcpy(t + n, tag, sizeof tag - 1);
    n += sizeof tag - 1;
    return s_h2s(t, n, c);
}

/* ---- Server: BlindEvaluate -------------------------------------------- */

oprf_error_t oprf_blind_evaluate(const uint8_t sk[OPRF_SCALARBYTES],
                                 const uint8_t pk[OPRF_ELEMENTBYTES],
                                 const uint8_t (*blinded)[OPRF_ELEMENTBYTES], size_t n,
                                 const uint8_t *proof_r_fixed,
                                 uint8_t (*evaluated)[OPRF_ELEMENTBYTES],
                                 uint8_t proof[OPRF_PROOFBYTES])
{
    if (n == 0 || n > OPRF_BATCH_MAX)
        return OPRF_ERR_BATCH;
    if (!blinded || !evaluated || !proof)
        return OPRF_ERR_BATCH;
    if (!sk || !s_scalar_usable(sk))
        return OPRF_ERR_SCALAR;
    if (!pk || oprf_element_check(pk) != OPRF_OK)
        return OPRF_ERR_ELEMENT;
    if (proof_r_fixed && !s_scalar_usable(proof_r_fixed))
        return OPRF_ERR_SCALAR;
    for (size_t i = 0; i < n; i++)
        if (oprf_element_check(blinded[i]) != OPRF_OK)
            return OPRF_ERR_ELEMENT;

    /* A key pair that does not match would make every proof fail at the
       client: refuse it here, where the cause is known. */
    uint8_t pk_of_sk[NE];
    if (crypto_scalarmult_ristretto255_base(pk_of_sk, sk) != 0 ||
        sodium_memcmp(pk_of_sk, pk, NE) != 0)
        return OPRF_ERR_SCALAR;

    uint8_t d[OPRF_BATCH_MAX][NE];
    uint8_t m[NE], z[NE], t2[NE], t3[NE];
    uint8_t r[NS], c[NS], ck[NS], s[NS];
    oprf_error_t err = OPRF_OK;

    for (size_t i = 0; i < n && err == OPRF_OK; i++)
        if (crypto_scalarmult_ristretto255(d[i], sk, blinded[i]) != 0)
            err = OPRF_ERR_ELEMENT;

    /* GenerateProof(k = sk, A = G, B = pk, C = blinded, D = evaluated) */
    if (err == OPRF_OK && (s_composites(pk, blinded, (const uint8_t(*)[NE])d, n, m, NULL) != 0 ||
                           crypto_scalarmult_ristretto255(z, sk, m) != 0))
        err = OPRF_ERR_ELEMENT;
    if (err == OPRF_OK) {
        if (proof_r_fixed)
            memcpy(r, proof_r_fixed, NS);
        else
            crypto_core_ristretto255_scalar_random(r);
        if (crypto_scalarmult_ristretto255_base(t2, r) != 0 ||
            crypto_scalarmult_ristretto255(t3, r, m) != 0 || s_challenge(pk, m, z, t2, t3, c) != 0)
            err = OPRF_ERR_ELEMENT;
    }
    if (err == OPRF_OK) {
        crypto_core_ristretto255_scalar_mul(ck, c, sk);
        crypto_core_ristretto255_scalar_sub(s, r, ck); /* s = r - c * k */
        memcpy(evaluated, d, n * NE);
        memcpy(proof, c, NS);
        memcpy(proof + NS, s, NS);
    }
    sodium_memzero(r, sizeof r);
    sodium_memzero(ck, sizeof ck);
    sodium_memzero(s, sizeof s);
    sodium_memzero(c, sizeof c);
    return err;
}

/* ---- Client: Finalize ------------------------------------------------- */

/* VerifyProof(A = G, B = pk, C = blinded, D = evaluated, proof). */
static oprf_error_t s_verify_proof(const uint8_t pk[NE], const uint8_t (*c_elems)[NE],
                                   const uint8_t (*d_elems)[NE], size_t n,
                                   const uint8_t proof[OPRF_PROOFBYTES])
{
    const uint8_t *c = proof, *s = proof + NS;
    uint8_t m[NE], z[NE], t2[NE], t3[NE], expected[NS];
    /* DeserializeScalar: both halves must be canonical. A zero c or s is
       refused too: no honest proof has one (as before, when libsodium
       refused the identity product it makes). */
    if (!s_scalar_canonical(c) || !s_scalar_canonical(s))
        return OPRF_ERR_PROOF;
    if (sodium_is_zero(c, NS) || sodium_is_zero(s, NS))
        return OPRF_ERR_PROOF;
    if (s_composites(pk, c_elems, d_elems, n, m, z) != 0)
        return OPRF_ERR_PROOF;
    /* t2 = s*A + c*B and t3 = s*M + c*Z: public scalars and elements. */
    uint8_t sc[2][NS], ab[2][NE], mz[2][NE];
    static const uint8_t one[NS] = {1};
    memcpy(sc[0], s, NS);
    memcpy(sc[1], c, NS);
    if (crypto_scalarmult_ristretto255_base(ab[0], one) != 0)
        return OPRF_ERR_PROOF;
    memcpy(ab[1], pk, NE);
    memcpy(mz[0], m, NE);
    memcpy(mz[1], z, NE);
    if (ristretto_msm(t2, (const uint8_t(*)[NS])sc, (const uint8_t(*)[NE])ab, 2) != 0 ||
        ristretto_msm(t3, (const uint8_t(*)[NS])sc, (const uint8_t(*)[NE])mz, 2) != 0)
        return OPRF_ERR_PROOF;
    if (s_challenge(pk, m, z, t2, t3, expected) != 0)
        return OPRF_ERR_PROOF;
    return sodium_memcmp(expected, c, NS) == 0 ? OPRF_OK : OPRF_ERR_PROOF;
}

/* inv[i] = 1 / blinds[i] for the whole batch with one inversion
   (Montgomery's trick: the running products, inverted once, peeled back).
   A scalar inversion costs as much as a third of a scalar multiplication;
   the products are constant-time like the inversion. Returns 0, or -1 for
   a zero blind (refused before, so never). */
static int s_invert_all(const uint8_t (*blinds)[NS], size_t n, uint8_t (*inv)[NS])
{
    uint8_t prefix[OPRF_BATCH_MAX][NS], acc[NS], next[NS];
    memcpy(prefix[0], blinds[0], NS);
    for (size_t i = 1; i < n; i++)
        crypto_core_ristretto255_scalar_mul(prefix[i], prefix[i - 1], blinds[i]);
    int rc = crypto_core_ristretto255_scalar_invert(acc, prefix[n - 1]);
    for (size_t i = n - 1; rc == 0 && i > 0; i--) {
        crypto_core_ristretto255_scalar_mul(inv[i], acc, prefix[i - 1]);
        crypto_core_ristretto255_scalar_mul(next, acc, blinds[i]);
        memcpy(acc, next, NS);
    }
    if (rc == 0)
        memcpy(inv[0], acc, NS);
    sodium_memzero(prefix, n * NS);
    sodium_memzero(acc, sizeof acc);
    sodium_memzero(next, sizeof next);
    return rc;
}

oprf_error_t oprf_finalize(const uint8_t pk[OPRF_ELEMENTBYTES], const uint8_t *const *inputs,
                           const size_t *input_lens, const uint8_t (*blinds)[OPRF_SCALARBYTES],
                           const uint8_t (*blinded)[OPRF_ELEMENTBYTES],
                           const uint8_t (*evaluated)[OPRF_ELEMENTBYTES], size_t n,
                           const uint8_t proof[OPRF_PROOFBYTES],
                           uint8_t (*outputs)[OPRF_OUTPUTBYTES])
{
    if (n == 0 || n > OPRF_BATCH_MAX)
        return OPRF_ERR_BATCH;
    if (!inputs || !input_lens || !blinds || !blinded || !evaluated || !proof || !outputs)
        return OPRF_ERR_BATCH;
    for (size_t i = 0; i < n; i++)
        if (!inputs[i] || input_lens[i] == 0 || input_lens[i] > OPRF_INPUT_MAX)
            return OPRF_ERR_INPUT;
    for (size_t i = 0; i < n; i++)
        if (!s_scalar_usable(blinds[i]))
            return OPRF_ERR_SCALAR;
    if (!pk || oprf_element_check(pk) != OPRF_OK)
        return OPRF_ERR_ELEMENT;
    for (size_t i = 0; i < n; i++)
        if (oprf_element_check(blinded[i]) != OPRF_OK ||
            oprf_element_check(evaluated[i]) != OPRF_OK)
            return OPRF_ERR_ELEMENT;

    oprf_error_t err = s_verify_proof(pk, blinded, evaluated, n, proof);
    if (err != OPRF_OK)
        return err;

    static const char tag[] = "Finalize";
    uint8_t out[OPRF_BATCH_MAX][NH];
    uint8_t inv[OPRF_BATCH_MAX][NS], unblinded[NE];
    uint8_t t[2 + OPRF_INPUT_MAX + 2 + NE + sizeof tag - 1];
    if (s_invert_all(blinds, n, inv) != 0)
        err = OPRF_ERR_SCALAR;
    for (size_t i = 0; i < n && err == OPRF_OK; i++) {
        /* N = ScalarInverse(blind) * evaluatedElement */
        if (crypto_scalarmult_ristretto255(unblinded, inv[i], evaluated[i]) != 0) {
            err = OPRF_ERR_ELEMENT;
            break;
        }
        size_t len = 0;
        s_put16(t + len, input_lens[i]);
        len += 2;
        memcpy(t + len, inputs[i], input_lens[i]);
        len += input_lens[i];
        s_put16(t + len, NE);
        len += 2;
        memcpy(t + len, unblinded, NE);
        len += NE;
        memcpy(t + len, tag, sizeof tag - 1);
        len += sizeof tag - 1;
        crypto_hash_sha512(out[i], t, len);
    }
    if (err == OPRF_OK)
        memcpy(outputs, out, n * NH);
    sodium_memzero(out, sizeof out);
    sodium_memzero(inv, sizeof inv);
    sodium_memzero(unblinded, sizeof unblinded);
    sodium_memzero(t, sizeof t);
    return err;
}
