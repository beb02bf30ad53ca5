/*  fuzz_oprf_element: ristretto255 elements from the network, as the
    pseudonym service and its clients receive them (lib/oprf.h, issue 17).

    - Every 32-byte chunk goes to oprf_element_check, whose verdict is
      recomputed independently: accepted exactly when bit 255 is clear, the
      bytes are not all zero (the identity) and libsodium decodes them; an
      accepted element re-encodes to itself (E + identity, -(-E)).
    - Input of 32*k bytes is a batch of k blinded elements for
      oprf_blind_evaluate under a fixed key: it succeeds exactly when k is
      1..OPRF_BATCH_MAX and every element is accepted, writes nothing
      otherwise, and on success each evaluation is sk * element and the
      proof verifies (oprf_finalize with blinds of 1) for the right public
      key and fails for another.
    - Input of 96 bytes or more is also a hostile server answer to one
      genuine client request: evaluated element (32) || proof (64).
      oprf_finalize may accept it only when the element is the genuine
      evaluation, and then yields the genuine output; otherwise it writes
      nothing.
*/
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "oprf.h"

#define E OPRF_ELEMENTBYTES

static uint8_t s_sk[OPRF_SCALARBYTES], s_pk[E]; /* the service's key */
static uint8_t s_other_sk[OPRF_SCALARBYTES], s_other_pk[E];
static const uint8_t s_one[OPRF_SCALARBYTES] = {1}; /* a blind that changes nothing */

/* One genuine client request and the server's genuine answer. */
static const uint8_t s_input[] = "bsn:111222333";
static uint8_t s_blind[OPRF_SCALARBYTES], s_blinded[E], s_evaluated[E];
static uint8_t s_proof[OPRF_PROOFBYTES], s_output[OPRF_OUTPUTBYTES];

static void s_check_element(const uint8_t e[E])
{
    oprf_error_t rc = oprf_element_check(e);
    bool expected = !(e[E - 1] & 0x80) && !sodium_is_zero(e, E) &&
                    crypto_core_ristretto255_is_valid_point(e) == 1;
    FUZZ_CHECK(rc == OPRF_OK || rc == OPRF_ERR_ELEMENT);
    FUZZ_CHECK((rc == OPRF_OK) == expected);
    if (rc != OPRF_OK)
        return;
    static const uint8_t identity[E];
    uint8_t r[E], neg[E];
    FUZZ_CHECK(crypto_core_ristretto255_add(r, e, identity) == 0);
    FUZZ_CHECK(memcmp(r, e, E) == 0);
    FUZZ_CHECK(crypto_core_ristretto255_sub(neg, identity, e) == 0);
    FUZZ_CHECK(crypto_core_ristretto255_sub(r, identity, neg) == 0);
    FUZZ_CHECK(memcmp(r, e, E) == 0);
}

static void s_check_batch(const uint8_t *data, size_t k)
{
    static uint8_t blinded[OPRF_BATCH_MAX][E], ev[OPRF_BATCH_MAX][E];
    static uint8_t blinds[OPRF_BATCH_MAX][OPRF_SCALARBYTES], out[OPRF_BATCH_MAX][64];
    const uint8_t *inputs[OPRF_BATCH_MAX];
    size_t lens[OPRF_BATCH_MAX];
    uint8_t proof[OPRF_PROOFBYTES];

    if (k > OPRF_BATCH_MAX) {
        FUZZ_CHECK(oprf_blind_evaluate(s_sk, s_pk, (const uint8_t(*)[E])data, k, NULL, ev, proof) ==
                   OPRF_ERR_BATCH);
        return;
    }
    bool all_ok = true;
    for (size_t i = 0; i < k; i++) {
        memcpy(blinded[i], data + i * E, E);
        all_ok = all_ok && oprf_element_check(blinded[i]) == OPRF_OK;
    }
    memset(ev, 0xee, sizeof ev);
    memset(proof, 0xee, sizeof proof);
    oprf_error_t rc =
        oprf_blind_evaluate(s_sk, s_pk, (const uint8_t(*)[E])blinded, k, NULL, ev, proof);
    FUZZ_CHECK((rc == OPRF_OK) == all_ok);
    if (rc != OPRF_OK) {
        FUZZ_CHECK(rc == OPRF_ERR_ELEMENT);
        for (size_t i = 0; i < sizeof ev; i++)
            FUZZ_CHECK(((uint8_t *)ev)[i] == 0xee);
        for (size_t i = 0; i < sizeof proof; i++)
            FUZZ_CHECK(proof[i] == 0xee);
        return;
    }
    for (size_t i = 0; i < k; i++) {
        uint8_t want[E];
        FUZZ_CHECK(crypto_scalarmult_ristretto255(want, s_sk, blinded[i]) == 0);
        FUZZ_CHECK(memcmp(ev[i], want, E) == 0);
        FUZZ_CHECK(oprf_element_check(ev[i]) == OPRF_OK);
        memcpy(blinds[i], s_one, sizeof s_one);
        inputs[i] = (const uint8_t *)"x";
        lens[i] = 1;
    }
    FUZZ_CHECK(oprf_finalize(s_pk, inputs, lens, (const uint8_t(*)[OPRF_SCALARBYTES])blinds,
                             (const uint8_t(*)[E])blinded, (const uint8_t(*)[E])ev, k, proof,
                             out) == OPRF_OK);
    FUZZ_CHECK(oprf_finalize(s_other_pk, inputs, lens, (const uint8_t(*)[OPRF_SCALARBYTES])blinds,
                             (const uint8_t(*)[E])blinded, (const uint8_t(*)[E])ev, k, proof,
                             out) == OPRF_ERR_PROOF);
}

static void s_check_answer(const uint8_t *data)
{
    const uint8_t *inputs[1] = {s_input};
    size_t lens[1] = {sizeof s_input - 1};
    uint8_t ev[1][E], out[1][OPRF_OUTPUTBYTES];
    memcpy(ev[0], data, E);
    memset(out, 0xee, sizeof out);
    oprf_error_t rc =
        oprf_finalize(s_pk, inputs, lens, (const uint8_t(*)[OPRF_SCALARBYTES])s_blind,
                      (const uint8_t(*)[E])s_blinded, (const uint8_t(*)[E])ev, 1, data + E, out);
    if (rc == OPRF_OK) {
        FUZZ_CHECK(memcmp(ev[0], s_evaluated, E) == 0);
        FUZZ_CHECK(memcmp(out[0], s_output, sizeof s_output) == 0);
    } else {
        FUZZ_CHECK(rc == OPRF_ERR_ELEMENT || rc == OPRF_ERR_PROOF);
        for (size_t i = 0; i < sizeof out; i++)
            FUZZ_CHECK(((uint8_t *)out)[i] == 0xee);
    }
}

static void s_write_seeds(const char *dir)
{
    static uint8_t buf[OPRF_BATCH_MAX * E];
    fuzz_write_seed(dir, "element", s_pk, E);
    memcpy(buf, s_pk, E);
    buf[E - 1] |= 0x80;
    fuzz_write_seed(dir, "element-bit255", buf, E);
    memset(buf, 0, E);
    fuzz_write_seed(dir, "identity", buf, E);
    memset(buf, 0xff, E);
    buf[0] = 0xed;
    buf[E - 1] = 0x7f;
    fuzz_write_seed(dir, "p", buf, E);
    memcpy(buf, s_blinded, E);
    memcpy(buf + E, s_pk, E);
    fuzz_write_seed(dir, "batch2", buf, 2 * E);
    for (size_t i = 0; i < OPRF_BATCH_MAX; i++)
        crypto_core_ristretto255_random(buf + i * E);
    fuzz_write_seed(dir, "batch64", buf, sizeof buf);
    memcpy(buf, s_evaluated, E);
    memcpy(buf + E, s_proof, sizeof s_proof);
    fuzz_write_seed(dir, "answer", buf, E + sizeof s_proof);
    buf[E + 5] ^= 0x10;
    fuzz_write_seed(dir, "answer-flip", buf, E + sizeof s_proof);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    uint8_t seed[OPRF_SEEDBYTES];
    memset(seed, 0x5e, sizeof seed);
    FUZZ_CHECK(oprf_derive_key_pair(seed, (const uint8_t *)"fuzz", 4, s_sk, s_pk) == OPRF_OK);
    seed[0] ^= 1;
    FUZZ_CHECK(oprf_derive_key_pair(seed, (const uint8_t *)"fuzz", 4, s_other_sk, s_other_pk) ==
               OPRF_OK);

    uint8_t fixed[OPRF_SCALARBYTES];
    memset(fixed, 0x07, sizeof fixed); /* < L */
    FUZZ_CHECK(oprf_blind(s_input, sizeof s_input - 1, fixed, s_blind, s_blinded) == OPRF_OK);
    FUZZ_CHECK(oprf_blind_evaluate(s_sk, s_pk, (const uint8_t(*)[E])s_blinded, 1, fixed,
                                   (uint8_t(*)[E])s_evaluated, s_proof) == OPRF_OK);
    const uint8_t *inputs[1] = {s_input};
    size_t lens[1] = {sizeof s_input - 1};
    FUZZ_CHECK(oprf_finalize(s_pk, inputs, lens, (const uint8_t(*)[OPRF_SCALARBYTES])s_blind,
                             (const uint8_t(*)[E])s_blinded, (const uint8_t(*)[E])s_evaluated, 1,
                             s_proof, (uint8_t(*)[OPRF_OUTPUTBYTES])s_output) == OPRF_OK);

    const char *dir = fuzz_seed_dir();
    if (dir) {
        s_write_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t off = 0; off + E <= size && off < OPRF_BATCH_MAX * E; off += E)
        s_check_element(data + off);
    if (size > 0 && size % E == 0 && size <= (OPRF_BATCH_MAX + 1) * E)
        s_check_batch(data, size / E);
    if (size >= E + OPRF_PROOFBYTES)
        s_check_answer(data);
    return 0;
}
