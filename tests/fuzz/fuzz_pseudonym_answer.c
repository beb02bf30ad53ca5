/*  fuzz_pseudonym_answer: what a daemon or an officer's tool receives from
    the pseudonym service (lib/pseudonym_client.h, issue 17), while a batch
    of two identifiers is in flight.

    First input byte mod 2:
    0  the rest is one frame off the socket: pseudonym_frame_unpack, and
       when it unpacks, pseudonym_batch_answer;
    1  the genuine answer to the batch in flight with its bytes XORed by
       the rest (request id, key version, elements, proof, or the framing
       itself), then the same.

    Checked against the header: a frame over PSEUDONYM_SERVICE_FRAME_MAX or
    of another version never unpacks; no pseudonym is written unless the
    answer is OK; an OK answer gives exactly the pseudonyms computed here
    independently (blind, evaluate, finalize with the service's key); a
    refusal's code and detail are printable ASCII. After an OK the batch is
    asked again (a new request id) with a new genuine answer.
*/
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "oprf.h"
#include "pseudonym_client.h"

static const char *const s_ids[2] = {"111222333", "123456782"};
static uint8_t s_sk[OPRF_SCALARBYTES];
static pseudonym_service_key_t s_key;
static uint8_t s_expected[2][PSEUDONYM_BYTES];
static pseudonym_batch_t *s_batch;
static uint8_t *s_genuine; /* the packed genuine answer to the request in flight */
static size_t s_genuine_len;

/* The pseudonym of `id`, computed without pseudonym_client. */
static void s_pseudonym(const char *id, uint8_t out[PSEUDONYM_BYTES])
{
    uint8_t input[PSEUDONYM_INPUT_MAX], blind[1][OPRF_SCALARBYTES], blinded[1][32];
    uint8_t evaluated[1][32], proof[64], output[1][OPRF_OUTPUTBYTES];
    size_t len = 0;
    FUZZ_CHECK(pseudonym_oprf_input(PSEUDONYM_BSN, id, input, &len, NULL) == 0);
    FUZZ_CHECK(oprf_blind(input, len, NULL, blind[0], blinded[0]) == OPRF_OK);
    FUZZ_CHECK(oprf_blind_evaluate(s_sk, s_key.public_key, (const uint8_t(*)[32])blinded, 1, NULL,
                                   evaluated, proof) == OPRF_OK);
    const uint8_t *inputs[1] = {input};
    FUZZ_CHECK(oprf_finalize(s_key.public_key, inputs, &len,
                             (const uint8_t(*)[OPRF_SCALARBYTES])blind,
                             (const uint8_t(*)[32])blinded, (const uint8_t(*)[32])evaluated, 1,
                             proof, output) == OPRF_OK);
    pseudonym_from_oprf_output(output[0], out);
}

/* Asks (again) and computes the service's genuine answer. */
static void s_request(void)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    FUZZ_CHECK(pseudonym_batch_request(s_batch, "send", &s_key, 1767225600000ull, &bytes, &len,
                                       NULL) == 0);
    Hartslag__PseudonymFrame *in = pseudonym_frame_unpack(bytes, len);
    FUZZ_CHECK(in && in->body_case == HARTSLAG__PSEUDONYM_FRAME__BODY_REQUEST &&
               in->request->n_blinded == 2);
    uint8_t blinded[2][32], evaluated[2][32], proof[64];
    for (size_t i = 0; i < 2; i++) {
        FUZZ_CHECK(in->request->blinded[i].len == 32);
        memcpy(blinded[i], in->request->blinded[i].data, 32);
    }
    FUZZ_CHECK(oprf_blind_evaluate(s_sk, s_key.public_key, (const uint8_t(*)[32])blinded, 2, NULL,
                                   evaluated, proof) == OPRF_OK);
    ProtobufCBinaryData elements[2] = {{32, evaluated[0]}, {32, evaluated[1]}};
    Hartslag__PseudonymResponse response = HARTSLAG__PSEUDONYM_RESPONSE__INIT;
    response.request_id = in->request->request_id;
    response.key_version = s_key.key_version;
    response.n_evaluated = 2;
    response.evaluated = elements;
    response.proof.data = proof;
    response.proof.len = sizeof proof;
    Hartslag__PseudonymFrame out = HARTSLAG__PSEUDONYM_FRAME__INIT;
    out.version = 1;
    out.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_RESPONSE;
    out.response = &response;
    free(s_genuine);
    s_genuine_len = hartslag__pseudonym_frame__get_packed_size(&out);
    s_genuine = malloc(s_genuine_len);
    FUZZ_CHECK(s_genuine != NULL);
    hartslag__pseudonym_frame__pack(&out, s_genuine);
    hartslag__pseudonym_frame__free_unpacked(in, NULL);
    free(bytes);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    FUZZ_CHECK(oprf_generate_key_pair(s_sk, s_key.public_key) == OPRF_OK);
    s_key.key_version = 3;
    for (size_t i = 0; i < 2; i++)
        s_pseudonym(s_ids[i], s_expected[i]);
    s_batch = pseudonym_batch_new();
    FUZZ_CHECK(s_batch != NULL);
    for (size_t i = 0; i < 2; i++)
        FUZZ_CHECK(pseudonym_batch_add(s_batch, PSEUDONYM_BSN, s_ids[i], NULL, NULL) == 0);
    s_request();
    return 0;
}

static bool s_printable(const char *text)
{
    for (; *text; text++)
        if (*text < 0x20 || *text > 0x7e)
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t *frame_bytes = NULL;
    size_t frame_len = size - 1;
    if (data[0] % 2 == 0) {
        frame_bytes = malloc(frame_len ? frame_len : 1);
        FUZZ_CHECK(frame_bytes != NULL);
        memcpy(frame_bytes, data + 1, frame_len);
    } else {
        frame_len = s_genuine_len;
        frame_bytes = malloc(frame_len);
        FUZZ_CHECK(frame_bytes != NULL);
        memcpy(frame_bytes, s_genuine, frame_len);
        for (size_t i = 1; i < size; i++)
            frame_bytes[(i - 1) % frame_len] ^= data[i];
    }
    Hartslag__PseudonymFrame *frame = pseudonym_frame_unpack(frame_bytes, frame_len);
    if (frame) {
        FUZZ_CHECK(frame_len <= PSEUDONYM_SERVICE_FRAME_MAX);
        FUZZ_CHECK(frame->version == 1);
        uint8_t out[2][PSEUDONYM_BYTES], untouched[2][PSEUDONYM_BYTES];
        memset(out, 0xa5, sizeof out);
        memcpy(untouched, out, sizeof out);
        pseudonym_refusal_t refusal;
        memset(&refusal, 0, sizeof refusal);
        pseudonym_answer_t answer = pseudonym_batch_answer(s_batch, &s_key, frame, out, &refusal);
        if (answer == PSEUDONYM_ANSWER_OK) {
            FUZZ_CHECK(memcmp(out, s_expected, sizeof out) == 0);
            s_request(); /* answered: ask again for the next input */
        } else {
            FUZZ_CHECK(memcmp(out, untouched, sizeof out) == 0);
        }
        if (answer == PSEUDONYM_ANSWER_REFUSED)
            FUZZ_CHECK(s_printable(refusal.code) && s_printable(refusal.detail));
        hartslag__pseudonym_frame__free_unpacked(frame, NULL);
    }
    free(frame_bytes);
    return 0;
}
