/*  Tests for lib/oprf: the RFC 9497 Appendix A.1.2 vectors
    (ristretto255-SHA512, VOPRF mode), copied from the RFC text
    (draft-irtf-cfrg-voprf-21, the text published as RFC 9497), checked byte
    for byte through DeriveKeyPair, Blind (fixed blind), BlindEvaluate (fixed
    proof nonce) and Finalize; then the properties oprf.h promises: outputs
    independent of the blind, bound to the input, a proof that fails for the
    wrong key or any tampering with nothing written, and hostile elements,
    batch sizes and inputs refused. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <string.h>

#include <sodium.h>

#include "oprf.h"

static void s_init(void)
{
    cr_assert_geq(sodium_init(), 0);
}

TestSuite(oprf, .init = s_init);

static void s_unhex(const char *hex, uint8_t *out, size_t want)
{
    size_t bin_len = 0;
    cr_assert_eq(sodium_hex2bin(out, want, hex, strlen(hex), NULL, &bin_len, NULL), 0, "%s", hex);
    cr_assert_eq(bin_len, want, "%s", hex);
}

/* ---- RFC 9497 A.1.2 ---------------------------------------------------- */

#define RFC_SEED "a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3"
#define RFC_KEYINFO "74657374206b6579" /* "test key" */
#define RFC_SKSM "e6f73f344b79b379f1a0dd37e07ff62e38d9f71345ce62ae3a9bc60b04ccd909"
#define RFC_PKSM "c803e2cc6b05fc15064549b5920659ca4a77b2cca6f04f6b357009335476ad4e"

typedef struct {
    const char *input;
    const char *blind;
    const char *blinded;
    const char *evaluated;
    const char *output;
} rfc_item_t;

typedef struct {
    size_t n;
    rfc_item_t item[2];
    const char *proof;
    const char *proof_r;
} rfc_vector_t;

#define IN_00 "00"
#define IN_5A "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
#define BLIND_1 "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706"
#define BLIND_2 "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e"
#define OUT_00                                                                                     \
    "b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402da1a7da4d8527693914139caee5bd03903" \
    "af43a491351d23b430948dd50cde10d32b3c"
#define OUT_5A                                                                                     \
    "8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a6df60356f4610bf816f27afdd84f47719" \
    "e480906d27ecd994985890e5f539e7ea74b6"

static const rfc_vector_t s_rfc[] = {
    /* Test Vector 1, Batch Size 1 */
    {1,
     {{IN_00, BLIND_1, "863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945",
       "aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e", OUT_00}},
     "ddef93772692e535d1a53903db24367355cc2cc78de93b3be5a8ffcc6985dd066d4346421d17bf5117a2a1ff0fcb"
     "2a759f58a539dfbe857a40bce4cf49ec600d",
     "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e"},
    /* Test Vector 2, Batch Size 1 */
    {1,
     {{IN_5A, BLIND_1, "cc0b2a350101881d8a4cba4c80241d74fb7dcbfde4a61fde2f91443c2bf9ef0c",
       "60a59a57208d48aca71e9e850d22674b611f752bed48b36f7a91b372bd7ad468", OUT_5A}},
     "401a0da6264f8cf45bb2f5264bc31e109155600babb3cd4e5af7d181a2c9dc0a67154fabf031fd936051dec80b0b"
     "6ae29c9503493dde7393b722eafdf5a50b02",
     "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e"},
    /* Test Vector 3, Batch Size 2 */
    {2,
     {{IN_00, BLIND_1, "863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945",
       "aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e", OUT_00},
      {IN_5A, BLIND_2, "90a0145ea9da29254c3a56be4fe185465ebb3bf2a1801f7124bbbadac751e654",
       "cc5ac221950a49ceaa73c8db41b82c20372a4c8d63e5dded2db920b7eee36a2a", OUT_5A}},
     "cc203910175d786927eeb44ea847328047892ddf8590e723c37205cb74600b0a5ab5337c8eb4ceae0494c2cf8952"
     "9dcf94572ed267473d567aeed6ab873dee08",
     "419c4f4f5052c53c45f3da494d2b67b220d02118e0857cdbcf037f9ea84bbe0c"},
};

static void s_rfc_keys(uint8_t sk[OPRF_SCALARBYTES], uint8_t pk[OPRF_ELEMENTBYTES])
{
    uint8_t seed[OPRF_SEEDBYTES], info[8];
    s_unhex(RFC_SEED, seed, sizeof seed);
    s_unhex(RFC_KEYINFO, info, sizeof info);
    cr_assert_eq(oprf_derive_key_pair(seed, info, sizeof info, sk, pk), OPRF_OK);
}

Test(oprf, rfc9497_derive_key_pair)
{
    uint8_t sk[OPRF_SCALARBYTES], pk[OPRF_ELEMENTBYTES], want_sk[32], want_pk[32], pk2[32];
    s_rfc_keys(sk, pk);
    s_unhex(RFC_SKSM, want_sk, 32);
    s_unhex(RFC_PKSM, want_pk, 32);
    cr_assert(memcmp(sk, want_sk, 32) == 0, "skSm");
    cr_assert(memcmp(pk, want_pk, 32) == 0, "pkSm");
    cr_assert_eq(oprf_public_key(sk, pk2), OPRF_OK);
    cr_assert(memcmp(pk2, want_pk, 32) == 0);
}

Test(oprf, rfc9497_voprf_vectors)
{
    uint8_t sk[OPRF_SCALARBYTES], pk[OPRF_ELEMENTBYTES];
    s_rfc_keys(sk, pk);

    for (size_t v = 0; v < sizeof s_rfc / sizeof s_rfc[0]; v++) {
        const rfc_vector_t *tv = &s_rfc[v];
        uint8_t input[2][32];
        size_t input_len[2];
        const uint8_t *inputs[2];
        uint8_t blind[2][32], blinded[2][32], evaluated[2][32], proof[64], output[2][64];

        for (size_t i = 0; i < tv->n; i++) {
            const rfc_item_t *it = &tv->item[i];
            input_len[i] = strlen(it->input) / 2;
            s_unhex(it->input, input[i], input_len[i]);
            inputs[i] = input[i];
            uint8_t fixed[32], want[32];
            s_unhex(it->blind, fixed, 32);
            cr_assert_eq(oprf_blind(input[i], input_len[i], fixed, blind[i], blinded[i]), OPRF_OK);
            cr_assert(memcmp(blind[i], fixed, 32) == 0);
            s_unhex(it->blinded, want, 32);
            cr_assert(memcmp(blinded[i], want, 32) == 0, "vector %zu: BlindedElement %zu", v + 1,
                      i);
        }

        uint8_t r[32], want_proof[64];
        s_unhex(tv->proof_r, r, 32);
        s_unhex(tv->proof, want_proof, 64);
        cr_assert_eq(
            oprf_blind_evaluate(sk, pk, (const uint8_t(*)[32])blinded, tv->n, r, evaluated, proof),
            OPRF_OK);
        for (size_t i = 0; i < tv->n; i++) {
            uint8_t want[32];
            s_unhex(tv->item[i].evaluated, want, 32);
            cr_assert(memcmp(evaluated[i], want, 32) == 0, "vector %zu: EvaluationElement %zu",
                      v + 1, i);
        }
        cr_assert(memcmp(proof, want_proof, 64) == 0, "vector %zu: Proof", v + 1);

        cr_assert_eq(oprf_finalize(pk, inputs, input_len, (const uint8_t(*)[32])blind,
                                   (const uint8_t(*)[32])blinded, (const uint8_t(*)[32])evaluated,
                                   tv->n, proof, output),
                     OPRF_OK);
        for (size_t i = 0; i < tv->n; i++) {
            uint8_t want[64];
            s_unhex(tv->item[i].output, want, 64);
            cr_assert(memcmp(output[i], want, 64) == 0, "vector %zu: Output %zu", v + 1, i);
        }
    }
}

/* ---- Helpers for the properties ---------------------------------------- */

typedef struct {
    uint8_t sk[OPRF_SCALARBYTES];
    uint8_t pk[OPRF_ELEMENTBYTES];
    size_t n;
    const uint8_t *inputs[OPRF_BATCH_MAX];
    size_t lens[OPRF_BATCH_MAX];
    uint8_t blind[OPRF_BATCH_MAX][OPRF_SCALARBYTES];
    uint8_t blinded[OPRF_BATCH_MAX][OPRF_ELEMENTBYTES];
    uint8_t evaluated[OPRF_BATCH_MAX][OPRF_ELEMENTBYTES];
    uint8_t proof[OPRF_PROOFBYTES];
    uint8_t out[OPRF_BATCH_MAX][OPRF_OUTPUTBYTES];
} run_t;

#define C32(a) ((const uint8_t(*)[32])(a))

/* Blind, evaluate with the run's key, leave finalize to the test. */
static void s_blind_eval(run_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        cr_assert_eq(oprf_blind(r->inputs[i], r->lens[i], NULL, r->blind[i], r->blinded[i]),
                     OPRF_OK);
    cr_assert_eq(
        oprf_blind_evaluate(r->sk, r->pk, C32(r->blinded), r->n, NULL, r->evaluated, r->proof),
        OPRF_OK);
}

static oprf_error_t s_finalize(run_t *r, const uint8_t *pk)
{
    memset(r->out, 0xee, sizeof r->out);
    return oprf_finalize(pk, r->inputs, r->lens, C32(r->blind), C32(r->blinded), C32(r->evaluated),
                         r->n, r->proof, r->out);
}

static void s_assert_untouched(const run_t *r)
{
    for (size_t i = 0; i < sizeof r->out; i++)
        cr_assert_eq(((const uint8_t *)r->out)[i], 0xee, "output written on failure");
}

static run_t *s_run_new(size_t n)
{
    run_t *r = calloc(1, sizeof *r);
    cr_assert_not_null(r);
    cr_assert_eq(oprf_generate_key_pair(r->sk, r->pk), OPRF_OK);
    r->n = n;
    static const char *const ids[] = {"bsn:111222333", "bsn:123456782", "address:6411AB 12 A"};
    for (size_t i = 0; i < n; i++) {
        r->inputs[i] = (const uint8_t *)ids[i % 3];
        r->lens[i] = strlen(ids[i % 3]);
    }
    return r;
}

/* ---- Properties -------------------------------------------------------- */

Test(oprf, same_input_same_output_across_blinds)
{
    run_t *a = s_run_new(1), *b = s_run_new(1);
    memcpy(b->sk, a->sk, 32);
    memcpy(b->pk, a->pk, 32);
    s_blind_eval(a);
    s_blind_eval(b);
    cr_assert(memcmp(a->blind, b->blind, 32) != 0);
    cr_assert(memcmp(a->blinded, b->blinded, 32) != 0, "the server sees unlinkable elements");
    cr_assert_eq(s_finalize(a, a->pk), OPRF_OK);
    cr_assert_eq(s_finalize(b, b->pk), OPRF_OK);
    cr_assert(memcmp(a->out[0], b->out[0], 64) == 0);
    free(a);
    free(b);
}

Test(oprf, different_inputs_different_outputs)
{
    run_t *r = s_run_new(2); /* two different identifiers */
    s_blind_eval(r);
    cr_assert_eq(s_finalize(r, r->pk), OPRF_OK);
    cr_assert(memcmp(r->out[0], r->out[1], 64) != 0);

    /* And another key gives another output for the same input. */
    run_t *o = s_run_new(1);
    s_blind_eval(o);
    cr_assert_eq(s_finalize(o, o->pk), OPRF_OK);
    cr_assert(memcmp(r->out[0], o->out[0], 64) != 0);
    free(r);
    free(o);
}

Test(oprf, full_batch_round_trip)
{
    run_t *r = s_run_new(OPRF_BATCH_MAX);
    s_blind_eval(r);
    cr_assert_eq(s_finalize(r, r->pk), OPRF_OK);
    /* Equal inputs (i and i + 3) agree, different ones do not. */
    cr_assert(memcmp(r->out[0], r->out[3], 64) == 0);
    cr_assert(memcmp(r->out[0], r->out[1], 64) != 0);
    free(r);
}

Test(oprf, wrong_public_key_fails_proof)
{
    run_t *r = s_run_new(2);
    s_blind_eval(r);
    uint8_t other_sk[32], other_pk[32];
    cr_assert_eq(oprf_generate_key_pair(other_sk, other_pk), OPRF_OK);
    cr_assert_eq(s_finalize(r, other_pk), OPRF_ERR_PROOF);
    s_assert_untouched(r);
    free(r);
}

Test(oprf, tampered_evaluated_element_fails_proof)
{
    run_t *r = s_run_new(2);
    s_blind_eval(r);
    uint8_t saved[2][32];
    memcpy(saved, r->evaluated, sizeof saved);

    /* A valid element, but not the one the server proved: E + G. */
    uint8_t one[32] = {1}, g[32];
    cr_assert_eq(crypto_scalarmult_ristretto255_base(g, one), 0);
    cr_assert_eq(crypto_core_ristretto255_add(r->evaluated[1], saved[1], g), 0);
    cr_assert_eq(oprf_element_check(r->evaluated[1]), OPRF_OK);
    cr_assert_eq(s_finalize(r, r->pk), OPRF_ERR_PROOF);
    s_assert_untouched(r);

    /* The two evaluations swapped. */
    memcpy(r->evaluated[0], saved[1], 32);
    memcpy(r->evaluated[1], saved[0], 32);
    cr_assert_eq(s_finalize(r, r->pk), OPRF_ERR_PROOF);
    s_assert_untouched(r);

    /* The genuine ones still pass: the failures above were the tampering. */
    memcpy(r->evaluated, saved, sizeof saved);
    cr_assert_eq(s_finalize(r, r->pk), OPRF_OK);
    free(r);
}

Test(oprf, tampered_proof_fails)
{
    run_t *r = s_run_new(1);
    s_blind_eval(r);
    uint8_t saved[64];
    memcpy(saved, r->proof, 64);
    /* Every single bit flip of c or s (some make a non-canonical scalar,
       the others a wrong one). */
    for (size_t bit = 0; bit < 64 * 8; bit += 7) {
        memcpy(r->proof, saved, 64);
        r->proof[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert_eq(s_finalize(r, r->pk), OPRF_ERR_PROOF, "bit %zu", bit);
        s_assert_untouched(r);
    }
    /* c or s replaced by a value >= L. */
    memcpy(r->proof, saved, 64);
    memset(r->proof + 32, 0xff, 32);
    cr_assert_eq(s_finalize(r, r->pk), OPRF_ERR_PROOF);
    memset(r->proof, 0, 64);
    cr_assert_eq(s_finalize(r, r->pk), OPRF_ERR_PROOF);
    s_assert_untouched(r);
    memcpy(r->proof, saved, 64);
    cr_assert_eq(s_finalize(r, r->pk), OPRF_OK);
    free(r);
}

/* The proof covers the blinded elements too: evaluating a different
   blinded element and presenting the old one fails. */
Test(oprf, tampered_blinded_element_fails_proof)
{
    run_t *r = s_run_new(1);
    s_blind_eval(r);
    uint8_t blind2[32], blinded2[32];
    cr_assert_eq(oprf_blind(r->inputs[0], r->lens[0], NULL, blind2, blinded2), OPRF_OK);
    memcpy(r->blinded[0], blinded2, 32);
    cr_assert_eq(s_finalize(r, r->pk), OPRF_ERR_PROOF);
    s_assert_untouched(r);
    free(r);
}

/* ---- Hostile elements --------------------------------------------------- */

/* Encodings every decoder must refuse: RFC 9496 Appendix A.2 (a non-canonical
   field encoding and negative field elements), p itself, the identity. */
static const char *const s_bad_hex[] = {
    "0000000000000000000000000000000000000000000000000000000000000000", /* identity */
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p (>= p) */
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* > p */
    "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", /* non-canonical */
    "0100000000000000000000000000000000000000000000000000000000000000", /* negative */
    "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* negative */
    "ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20", /* negative */
    "c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562", /* negative */
};

Test(oprf, element_check_refuses_non_canonical_and_identity)
{
    uint8_t e[32];
    for (size_t i = 0; i < sizeof s_bad_hex / sizeof s_bad_hex[0]; i++) {
        s_unhex(s_bad_hex[i], e, 32);
        cr_assert_eq(oprf_element_check(e), OPRF_ERR_ELEMENT, "%s", s_bad_hex[i]);
    }
    s_unhex(RFC_PKSM, e, 32);
    cr_assert_eq(oprf_element_check(e), OPRF_OK);
}

/* A valid element with bit 255 set: the same point to a decoder that masks
   the top bit (libsodium 1.0.18 does), so it must be refused here. */
Test(oprf, element_check_refuses_bit_255)
{
    uint8_t e[32];
    s_unhex(RFC_PKSM, e, 32);
    e[31] |= 0x80;
    cr_log_info("libsodium %s: crypto_core_ristretto255_is_valid_point(pkSm | bit 255) = %d",
                sodium_version_string(), crypto_core_ristretto255_is_valid_point(e));
    cr_assert_eq(oprf_element_check(e), OPRF_ERR_ELEMENT);
    for (int i = 0; i < 16; i++) {
        uint8_t p[32];
        crypto_core_ristretto255_random(p);
        cr_assert_eq(oprf_element_check(p), OPRF_OK);
        p[31] |= 0x80;
        cr_assert_eq(oprf_element_check(p), OPRF_ERR_ELEMENT);
    }
}

Test(oprf, blind_evaluate_refuses_hostile_elements)
{
    run_t *r = s_run_new(3);
    s_blind_eval(r);
    uint8_t bad[34][32];
    size_t nbad = 0;
    for (size_t i = 0; i < sizeof s_bad_hex / sizeof s_bad_hex[0]; i++)
        s_unhex(s_bad_hex[i], bad[nbad++], 32);
    memcpy(bad[nbad], r->blinded[0], 32);
    bad[nbad++][31] |= 0x80; /* bit 255 */

    for (size_t k = 0; k < nbad; k++) {
        uint8_t blinded[3][32], ev[3][32], proof[64];
        memcpy(blinded, r->blinded, sizeof blinded);
        memcpy(blinded[k % 3], bad[k], 32); /* one bad element anywhere refuses all */
        memset(ev, 0xee, sizeof ev);
        memset(proof, 0xee, sizeof proof);
        cr_assert_eq(oprf_blind_evaluate(r->sk, r->pk, C32(blinded), 3, NULL, ev, proof),
                     OPRF_ERR_ELEMENT, "bad element %zu", k);
        for (size_t j = 0; j < sizeof ev; j++)
            cr_assert_eq(((uint8_t *)ev)[j], 0xee);
        for (size_t j = 0; j < sizeof proof; j++)
            cr_assert_eq(proof[j], 0xee);
    }

    /* Finalize refuses a hostile evaluated element before any proof math. */
    memcpy(r->evaluated[1], bad[0], 32);
    cr_assert_eq(s_finalize(r, r->pk), OPRF_ERR_ELEMENT);
    s_assert_untouched(r);
    free(r);
}

/* ---- Sizes and scalars -------------------------------------------------- */

Test(oprf, batch_sizes_refused)
{
    run_t *r = s_run_new(OPRF_BATCH_MAX);
    s_blind_eval(r);
    static uint8_t blinded[OPRF_BATCH_MAX + 1][32], ev[OPRF_BATCH_MAX + 1][32];
    static uint8_t blinds[OPRF_BATCH_MAX + 1][32], out[OPRF_BATCH_MAX + 1][64];
    const uint8_t *inputs[OPRF_BATCH_MAX + 1];
    size_t lens[OPRF_BATCH_MAX + 1];
    uint8_t proof[64];
    for (size_t i = 0; i <= OPRF_BATCH_MAX; i++) {
        memcpy(blinded[i], r->blinded[i % OPRF_BATCH_MAX], 32);
        memcpy(ev[i], r->evaluated[i % OPRF_BATCH_MAX], 32);
        memcpy(blinds[i], r->blind[i % OPRF_BATCH_MAX], 32);
        inputs[i] = r->inputs[i % OPRF_BATCH_MAX];
        lens[i] = r->lens[i % OPRF_BATCH_MAX];
    }
    cr_assert_eq(oprf_blind_evaluate(r->sk, r->pk, C32(blinded), 0, NULL, ev, proof),
                 OPRF_ERR_BATCH);
    cr_assert_eq(
        oprf_blind_evaluate(r->sk, r->pk, C32(blinded), OPRF_BATCH_MAX + 1, NULL, ev, proof),
        OPRF_ERR_BATCH);
    cr_assert_eq(
        oprf_finalize(r->pk, inputs, lens, C32(blinds), C32(blinded), C32(ev), 0, r->proof, out),
        OPRF_ERR_BATCH);
    cr_assert_eq(oprf_finalize(r->pk, inputs, lens, C32(blinds), C32(blinded), C32(ev),
                               OPRF_BATCH_MAX + 1, r->proof, out),
                 OPRF_ERR_BATCH);
    free(r);
}

Test(oprf, inputs_refused)
{
    uint8_t blind[32], blinded[32];
    static uint8_t big[OPRF_INPUT_MAX + 1];
    memset(blind, 0xee, 32);
    memset(blinded, 0xee, 32);
    cr_assert_eq(oprf_blind((const uint8_t *)"", 0, NULL, blind, blinded), OPRF_ERR_INPUT);
    cr_assert_eq(oprf_blind(NULL, 0, NULL, blind, blinded), OPRF_ERR_INPUT);
    cr_assert_eq(oprf_blind(big, OPRF_INPUT_MAX + 1, NULL, blind, blinded), OPRF_ERR_INPUT);
    for (size_t i = 0; i < 32; i++)
        cr_assert(blind[i] == 0xee && blinded[i] == 0xee);
    cr_assert_eq(oprf_blind(big, OPRF_INPUT_MAX, NULL, blind, blinded), OPRF_OK);

    /* Finalize with an empty input. */
    run_t *r = s_run_new(1);
    s_blind_eval(r);
    r->lens[0] = 0;
    cr_assert_eq(s_finalize(r, r->pk), OPRF_ERR_INPUT);
    s_assert_untouched(r);
    free(r);

    /* DeriveKeyPair: info up to OPRF_INFO_MAX (empty allowed), not more. */
    uint8_t seed[32] = {0}, sk[32], pk[32];
    cr_assert_eq(oprf_derive_key_pair(seed, NULL, 0, sk, pk), OPRF_OK);
    cr_assert_eq(oprf_derive_key_pair(seed, big, OPRF_INFO_MAX, sk, pk), OPRF_OK);
    cr_assert_eq(oprf_derive_key_pair(seed, big, OPRF_INFO_MAX + 1, sk, pk), OPRF_ERR_INPUT);
}

Test(oprf, scalars_refused)
{
    uint8_t zero[32] = {0}, high[32], pk[32], blind[32], blinded[32];
    memset(high, 0xff, 32); /* >= L */
    cr_assert_eq(oprf_public_key(zero, pk), OPRF_ERR_SCALAR);
    cr_assert_eq(oprf_public_key(high, pk), OPRF_ERR_SCALAR);
    cr_assert_eq(oprf_blind((const uint8_t *)"x", 1, zero, blind, blinded), OPRF_ERR_SCALAR);
    cr_assert_eq(oprf_blind((const uint8_t *)"x", 1, high, blind, blinded), OPRF_ERR_SCALAR);

    run_t *r = s_run_new(1);
    s_blind_eval(r);
    uint8_t ev[1][32], proof[64];
    cr_assert_eq(oprf_blind_evaluate(zero, r->pk, C32(r->blinded), 1, NULL, ev, proof),
                 OPRF_ERR_SCALAR);
    cr_assert_eq(oprf_blind_evaluate(r->sk, r->pk, C32(r->blinded), 1, high, ev, proof),
                 OPRF_ERR_SCALAR);
    /* A secret key that does not match the public key given with it. */
    uint8_t sk2[32], pk2[32];
    cr_assert_eq(oprf_generate_key_pair(sk2, pk2), OPRF_OK);
    cr_assert_eq(oprf_blind_evaluate(sk2, r->pk, C32(r->blinded), 1, NULL, ev, proof),
                 OPRF_ERR_SCALAR);
    /* A zero blind at finalize. */
    memset(r->blind[0], 0, 32);
    cr_assert_eq(s_finalize(r, r->pk), OPRF_ERR_SCALAR);
    s_assert_untouched(r);
    free(r);
}

Test(oprf, strerror_covers_every_code)
{
    for (int e = OPRF_OK; e <= OPRF_ERR_SCALAR; e++) {
        const char *t = oprf_strerror((oprf_error_t)e);
        cr_assert(t && *t);
        for (int f = OPRF_OK; f < e; f++)
            cr_assert_str_neq(t, oprf_strerror((oprf_error_t)f));
    }
}
