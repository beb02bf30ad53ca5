/*  Tests for lib/pseudonym_client against a service played here with
    lib/oprf: pseudonyms come out only of an answer to this batch's request
    whose proof verifies under the service key the client holds; the same
    subject gives the same pseudonym whatever its spelling and blind, and
    different subjects differ; refusals and stray answers are told apart. */
#include "oprf.h"
#include "pseudonym_client.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

typedef struct {
    uint8_t sk[OPRF_SCALARBYTES];
    pseudonym_service_key_t key;
} service_t;

static void s_service(service_t *svc, uint32_t version)
{
    cr_assert_eq(oprf_generate_key_pair(svc->sk, svc->key.public_key), OPRF_OK);
    svc->key.key_version = version;
}

/* The service's side: unpack the request, evaluate, pack the response. */
static Hartslag__PseudonymFrame *s_evaluate(const service_t *svc, const uint8_t *bytes, size_t len,
                                            uint32_t version)
{
    Hartslag__PseudonymFrame *in = pseudonym_frame_unpack(bytes, len);
    cr_assert_not_null(in);
    cr_assert_eq(in->body_case, HARTSLAG__PSEUDONYM_FRAME__BODY_REQUEST);
    Hartslag__PseudonymRequest *req = in->request;
    size_t n = req->n_blinded;
    cr_assert(n >= 1 && n <= OPRF_BATCH_MAX);
    static uint8_t blinded[OPRF_BATCH_MAX][OPRF_ELEMENTBYTES];
    static uint8_t evaluated[OPRF_BATCH_MAX][OPRF_ELEMENTBYTES];
    static uint8_t proof[OPRF_PROOFBYTES];
    static uint8_t request_id[PSEUDONYM_REQUEST_ID_BYTES];
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(req->blinded[i].len, OPRF_ELEMENTBYTES);
        memcpy(blinded[i], req->blinded[i].data, OPRF_ELEMENTBYTES);
    }
    cr_assert_eq(req->request_id.len, sizeof request_id);
    memcpy(request_id, req->request_id.data, sizeof request_id);
    cr_assert_eq(oprf_blind_evaluate(svc->sk, svc->key.public_key,
                                     (const uint8_t(*)[OPRF_ELEMENTBYTES])blinded, n, NULL,
                                     evaluated, proof),
                 OPRF_OK);
    hartslag__pseudonym_frame__free_unpacked(in, NULL);
    static ProtobufCBinaryData elements[OPRF_BATCH_MAX];
    for (size_t i = 0; i < n; i++) {
        elements[i].data = evaluated[i];
        elements[i].len = OPRF_ELEMENTBYTES;
    }
    static Hartslag__PseudonymResponse response;
    hartslag__pseudonym_response__init(&response);
    response.request_id.data = request_id;
    response.request_id.len = sizeof request_id;
    response.key_version = version;
    response.n_evaluated = n;
    response.evaluated = elements;
    response.proof.data = proof;
    response.proof.len = sizeof proof;
    static Hartslag__PseudonymFrame out;
    hartslag__pseudonym_frame__init(&out);
    out.version = 1;
    out.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_RESPONSE;
    out.response = &response;
    return &out;
}

/* One identifier through a fresh batch: 0 and the pseudonym, or the answer. */
static pseudonym_answer_t s_pseudonymise(const service_t *asked, const service_t *held,
                                         pseudonym_kind_t kind, const char *id,
                                         uint8_t out[PSEUDONYM_BYTES])
{
    pseudonym_batch_t *batch = pseudonym_batch_new();
    cr_assert_not_null(batch);
    size_t slot = 99;
    const char *why = NULL;
    cr_assert_eq(pseudonym_batch_add(batch, kind, id, &slot, &why), 0, "%s", why);
    cr_assert_eq(slot, 0);
    uint8_t *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(
        pseudonym_batch_request(batch, "send", &held->key, 1767225600000ull, &bytes, &len, &why),
        0);
    Hartslag__PseudonymFrame *answer = s_evaluate(asked, bytes, len, held->key.key_version);
    free(bytes);
    uint8_t pseudonyms[1][PSEUDONYM_BYTES];
    memset(pseudonyms, 0xee, sizeof pseudonyms);
    pseudonym_answer_t result = pseudonym_batch_answer(batch, &held->key, answer, pseudonyms, NULL);
    if (result == PSEUDONYM_ANSWER_OK)
        memcpy(out, pseudonyms[0], PSEUDONYM_BYTES);
    else {
        uint8_t untouched[PSEUDONYM_BYTES];
        memset(untouched, 0xee, sizeof untouched);
        cr_assert_eq(memcmp(pseudonyms[0], untouched, sizeof untouched), 0,
                     "no pseudonym written on failure");
    }
    pseudonym_batch_destroy(&batch);
    return result;
}

Test(pseudonym_client, same_subject_same_pseudonym_any_spelling)
{
    service_t svc;
    s_service(&svc, 1);
    uint8_t a[PSEUDONYM_BYTES], b[PSEUDONYM_BYTES], c[PSEUDONYM_BYTES];
    cr_assert_eq(s_pseudonymise(&svc, &svc, PSEUDONYM_BSN, "111222333", a), PSEUDONYM_ANSWER_OK);
    cr_assert_eq(s_pseudonymise(&svc, &svc, PSEUDONYM_BSN, "111.22.2333", b), PSEUDONYM_ANSWER_OK);
    cr_assert_eq(memcmp(a, b, sizeof a), 0, "fresh blinds, same pseudonym");
    cr_assert_eq(s_pseudonymise(&svc, &svc, PSEUDONYM_BSN, "123456782", c), PSEUDONYM_ANSWER_OK);
    cr_assert_neq(memcmp(a, c, sizeof a), 0, "different BSNs differ");
    /* the kind is part of the input: a case number spelled like a BSN differs */
    cr_assert_eq(s_pseudonymise(&svc, &svc, PSEUDONYM_CASE, "111222333", c), PSEUDONYM_ANSWER_OK);
    cr_assert_neq(memcmp(a, c, sizeof a), 0);
    cr_assert_eq(s_pseudonymise(&svc, &svc, PSEUDONYM_ADDRESS, "6411 AB 12a", b),
                 PSEUDONYM_ANSWER_OK);
    cr_assert_eq(s_pseudonymise(&svc, &svc, PSEUDONYM_ADDRESS, "6411ab 12-A", c),
                 PSEUDONYM_ANSWER_OK);
    cr_assert_eq(memcmp(b, c, sizeof b), 0);
}

Test(pseudonym_client, another_service_key_another_pseudonym)
{
    service_t one, two;
    s_service(&one, 1);
    s_service(&two, 1);
    uint8_t a[PSEUDONYM_BYTES], b[PSEUDONYM_BYTES];
    cr_assert_eq(s_pseudonymise(&one, &one, PSEUDONYM_BSN, "111222333", a), PSEUDONYM_ANSWER_OK);
    cr_assert_eq(s_pseudonymise(&two, &two, PSEUDONYM_BSN, "111222333", b), PSEUDONYM_ANSWER_OK);
    cr_assert_neq(memcmp(a, b, sizeof a), 0);
}

Test(pseudonym_client, a_service_with_another_key_is_refused)
{
    service_t real, impostor;
    s_service(&real, 1);
    s_service(&impostor, 1);
    uint8_t p[PSEUDONYM_BYTES];
    /* the client holds the real key; the impostor evaluates */
    cr_assert_eq(s_pseudonymise(&impostor, &real, PSEUDONYM_BSN, "111222333", p),
                 PSEUDONYM_ANSWER_BAD_PROOF);
}

Test(pseudonym_client, batch_of_many_one_proof)
{
    service_t svc;
    s_service(&svc, 3);
    pseudonym_batch_t *batch = pseudonym_batch_new();
    static const char *bsns[] = {"111222333", "123456782", "111222333"};
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(pseudonym_batch_add(batch, PSEUDONYM_BSN, bsns[i], NULL, NULL), 0);
    const char *why = NULL;
    cr_assert_eq(pseudonym_batch_add(batch, PSEUDONYM_BSN, "123456789", NULL, &why), -1,
                 "fails the elfproef");
    cr_assert_not_null(why);
    cr_assert_null(strstr(why, "123456789"), "the error never echoes the identifier");
    cr_assert_eq(pseudonym_batch_size(batch), 3);
    /* Each slot's OPRF input (the daemon keys its cache with it). */
    uint8_t want[PSEUDONYM_INPUT_MAX];
    size_t want_len = 0, got_len = 0;
    cr_assert_eq(pseudonym_oprf_input(PSEUDONYM_BSN, bsns[1], want, &want_len, NULL), 0);
    const uint8_t *got = pseudonym_batch_input(batch, 1, &got_len);
    cr_assert_not_null(got);
    cr_assert_eq(got_len, want_len);
    cr_assert_eq(memcmp(got, want, want_len), 0);
    cr_assert_null(pseudonym_batch_input(batch, 3, &got_len), "no such slot");
    uint8_t *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(pseudonym_batch_request(batch, "send", &svc.key, 1, &bytes, &len, NULL), 0);
    Hartslag__PseudonymFrame *answer = s_evaluate(&svc, bytes, len, 3);
    free(bytes);
    uint8_t out[3][PSEUDONYM_BYTES];
    cr_assert_eq(pseudonym_batch_answer(batch, &svc.key, answer, out, NULL), PSEUDONYM_ANSWER_OK);
    cr_assert_eq(memcmp(out[0], out[2], PSEUDONYM_BYTES), 0);
    cr_assert_neq(memcmp(out[0], out[1], PSEUDONYM_BYTES), 0);
    /* the same answer again is not an answer to anything outstanding */
    cr_assert_eq(pseudonym_batch_answer(batch, &svc.key, answer, out, NULL),
                 PSEUDONYM_ANSWER_NOT_OURS);
    pseudonym_batch_destroy(&batch);
}

Test(pseudonym_client, key_version_and_stray_answers)
{
    service_t svc;
    s_service(&svc, 2);
    pseudonym_batch_t *batch = pseudonym_batch_new();
    cr_assert_eq(pseudonym_batch_add(batch, PSEUDONYM_BSN, "111222333", NULL, NULL), 0);
    uint8_t *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(pseudonym_batch_request(batch, "send", &svc.key, 1, &bytes, &len, NULL), 0);
    /* evaluated, but labelled with another version than the client holds */
    Hartslag__PseudonymFrame *answer = s_evaluate(&svc, bytes, len, 3);
    uint8_t out[1][PSEUDONYM_BYTES];
    cr_assert_eq(pseudonym_batch_answer(batch, &svc.key, answer, out, NULL),
                 PSEUDONYM_ANSWER_KEY_VERSION);
    /* an answer to an earlier request of this batch */
    uint8_t *again = NULL;
    size_t again_len = 0;
    cr_assert_eq(pseudonym_batch_request(batch, "send", &svc.key, 2, &again, &again_len, NULL), 0);
    answer = s_evaluate(&svc, bytes, len, 2);
    cr_assert_eq(pseudonym_batch_answer(batch, &svc.key, answer, out, NULL),
                 PSEUDONYM_ANSWER_NOT_OURS);
    answer = s_evaluate(&svc, again, again_len, 2);
    cr_assert_eq(pseudonym_batch_answer(batch, &svc.key, answer, out, NULL), PSEUDONYM_ANSWER_OK);
    free(bytes);
    free(again);
    pseudonym_batch_destroy(&batch);
}

Test(pseudonym_client, refusal_is_reported_and_sanitised)
{
    service_t svc;
    s_service(&svc, 1);
    pseudonym_batch_t *batch = pseudonym_batch_new();
    cr_assert_eq(pseudonym_batch_add(batch, PSEUDONYM_BSN, "111222333", NULL, NULL), 0);
    uint8_t *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(pseudonym_batch_request(batch, "art15", &svc.key, 1, &bytes, &len, NULL), 0);
    Hartslag__PseudonymFrame *in = pseudonym_frame_unpack(bytes, len);
    cr_assert_str_eq(in->request->purpose, "art15");
    Hartslag__PseudonymRefusal refusal = HARTSLAG__PSEUDONYM_REFUSAL__INIT;
    refusal.request_id = in->request->request_id;
    refusal.code = "rate_limited";
    refusal.detail = "over 100 a minute\n\x1b[31m";
    refusal.has_retry_after_ms = true;
    refusal.retry_after_ms = 4200;
    Hartslag__PseudonymFrame frame = HARTSLAG__PSEUDONYM_FRAME__INIT;
    frame.version = 1;
    frame.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_REFUSAL;
    frame.refusal = &refusal;
    pseudonym_refusal_t told;
    uint8_t out[1][PSEUDONYM_BYTES];
    cr_assert_eq(pseudonym_batch_answer(batch, &svc.key, &frame, out, &told),
                 PSEUDONYM_ANSWER_REFUSED);
    cr_assert_str_eq(told.code, "rate_limited");
    cr_assert_eq(told.retry_after_ms, 4200);
    cr_assert_null(strchr(told.detail, '\n'));
    cr_assert_null(strchr(told.detail, '\x1b'));
    hartslag__pseudonym_frame__free_unpacked(in, NULL);
    free(bytes);
    pseudonym_batch_destroy(&batch);
}

Test(pseudonym_client, request_rules)
{
    service_t svc;
    s_service(&svc, 1);
    pseudonym_batch_t *batch = pseudonym_batch_new();
    uint8_t *bytes = NULL;
    size_t len = 0;
    const char *why = NULL;
    cr_assert_eq(pseudonym_batch_request(batch, "send", &svc.key, 1, &bytes, &len, &why), -1,
                 "an empty batch is not a request");
    for (size_t i = 0; i < OPRF_BATCH_MAX; i++)
        cr_assert_eq(pseudonym_batch_add(batch, PSEUDONYM_CASE, "ZK-1", NULL, NULL), 0);
    cr_assert_eq(pseudonym_batch_add(batch, PSEUDONYM_CASE, "ZK-1", NULL, &why), -1, "full");
    cr_assert_eq(pseudonym_batch_request(batch, "Send Now", &svc.key, 1, &bytes, &len, &why), -1);
    cr_assert_eq(pseudonym_batch_request(batch, "send", &svc.key, 1, &bytes, &len, &why), 0);
    cr_assert_leq(len, PSEUDONYM_SERVICE_FRAME_MAX);
    free(bytes);
    /* garbage and oversized frames do not unpack */
    uint8_t junk[64];
    memset(junk, 0xff, sizeof junk);
    cr_assert_null(pseudonym_frame_unpack(junk, sizeof junk));
    cr_assert_null(pseudonym_frame_unpack(junk, PSEUDONYM_SERVICE_FRAME_MAX + 1));
    pseudonym_batch_destroy(&batch);
}
