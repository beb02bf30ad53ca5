/*  pseudonym_client: see pseudonym_client.h. */
#include "pseudonym_client.h"

#include "names.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Everything secret in one locked allocation, so one wipe covers it. */
struct pseudonym_batch_t {
    size_t count;     /* identifiers added */
    size_t requested; /* identifiers covered by the last request; 0 none */
    uint8_t request_id[PSEUDONYM_REQUEST_ID_BYTES];
    size_t input_len[OPRF_BATCH_MAX];
    uint8_t input[OPRF_BATCH_MAX][PSEUDONYM_INPUT_MAX];
    uint8_t blind[OPRF_BATCH_MAX][OPRF_SCALARBYTES];
    uint8_t blinded[OPRF_BATCH_MAX][OPRF_ELEMENTBYTES];
};

pseudonym_batch_t *pseudonym_batch_new(void)
{
    if (sodium_init() < 0)
        return NULL;
    pseudonym_batch_t *self = sodium_malloc(sizeof *self);
    if (!self)
        return NULL;
    sodium_memzero(self, sizeof *self);
    return self;
}

void pseudonym_batch_destroy(pseudonym_batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sodium_memzero(*self_p, sizeof **self_p);
    sodium_free(*self_p);
    *self_p = NULL;
}

void pseudonym_batch_reset(pseudonym_batch_t *self)
{
    sodium_memzero(self, sizeof *self);
}

size_t pseudonym_batch_size(const pseudonym_batch_t *self)
{
    return self->count;
}

int pseudonym_batch_add(pseudonym_batch_t *self, pseudonym_kind_t kind, const char *id,
                        size_t *slot, const char **error)
{
    const char *why = NULL;
    if (self->count == OPRF_BATCH_MAX) {
        why = "the batch is full";
        goto fail;
    }
    size_t i = self->count;
    if (pseudonym_oprf_input(kind, id, self->input[i], &self->input_len[i], &why) != 0)
        goto fail;
    if (oprf_blind(self->input[i], self->input_len[i], NULL, self->blind[i], self->blinded[i]) !=
        OPRF_OK) {
        /* Only an input that hashes to the identity fails, with negligible
           probability; it is refused like an invalid identifier. */
        sodium_memzero(self->input[i], sizeof self->input[i]);
        why = "cannot blind this identifier";
        goto fail;
    }
    self->count++;
    if (slot)
        *slot = i;
    return 0;
fail:
    if (error)
        *error = why;
    return -1;
}

const uint8_t *pseudonym_batch_input(const pseudonym_batch_t *self, size_t slot, size_t *len)
{
    if (slot >= self->count)
        return NULL;
    *len = self->input_len[slot];
    return self->input[slot];
}

int pseudonym_batch_request(pseudonym_batch_t *self, const char *purpose,
                            const pseudonym_service_key_t *service, uint64_t now_ms,
                            uint8_t **frame, size_t *len, const char **error)
{
    const char *why = NULL;
    if (self->count == 0)
        why = "no identifier to pseudonymise";
    else if (!purpose || !names_is_token(purpose) || strlen(purpose) > PSEUDONYM_PURPOSE_MAX)
        why = "the purpose must be a token ([a-z0-9_-], at most 64)";
    if (why) {
        if (error)
            *error = why;
        return -1;
    }
    randombytes_buf(self->request_id, sizeof self->request_id);
    ProtobufCBinaryData elements[OPRF_BATCH_MAX];
    for (size_t i = 0; i < self->count; i++) {
        elements[i].data = self->blinded[i];
        elements[i].len = OPRF_ELEMENTBYTES;
    }
    Hartslag__PseudonymRequest request = HARTSLAG__PSEUDONYM_REQUEST__INIT;
    request.request_id.data = self->request_id;
    request.request_id.len = sizeof self->request_id;
    request.sent_at_ms = now_ms;
    request.purpose = (char *)purpose;
    request.key_version = service->key_version;
    request.n_blinded = self->count;
    request.blinded = elements;
    Hartslag__PseudonymFrame message = HARTSLAG__PSEUDONYM_FRAME__INIT;
    message.version = 1;
    message.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_REQUEST;
    message.request = &request;
    size_t size = hartslag__pseudonym_frame__get_packed_size(&message);
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes) {
        if (error)
            *error = "out of memory";
        return -1;
    }
    hartslag__pseudonym_frame__pack(&message, bytes);
    self->requested = self->count;
    *frame = bytes;
    *len = size;
    return 0;
}

/* Copies a text from the service, keeping printable ASCII only: it ends up
   in log lines and on an officer's screen. */
static void s_copy_text(char *out, size_t outlen, const char *text, const char *fallback)
{
    if (!text || !*text)
        text = fallback;
    size_t n = 0;
    for (const char *p = text; *p && n + 1 < outlen; p++)
        out[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    out[n] = '\0';
}

static bool s_ours(const pseudonym_batch_t *self, const ProtobufCBinaryData *id)
{
    return self->requested > 0 && id->len == sizeof self->request_id &&
           sodium_memcmp(id->data, self->request_id, sizeof self->request_id) == 0;
}

pseudonym_answer_t pseudonym_batch_answer(pseudonym_batch_t *self,
                                          const pseudonym_service_key_t *service,
                                          const Hartslag__PseudonymFrame *frame,
                                          uint8_t (*pseudonyms)[PSEUDONYM_BYTES],
                                          pseudonym_refusal_t *refusal)
{
    if (!frame)
        return PSEUDONYM_ANSWER_MALFORMED;
    if (frame->body_case == HARTSLAG__PSEUDONYM_FRAME__BODY_REFUSAL) {
        const Hartslag__PseudonymRefusal *r = frame->refusal;
        if (!s_ours(self, &r->request_id))
            return PSEUDONYM_ANSWER_NOT_OURS;
        if (refusal) {
            s_copy_text(refusal->code, sizeof refusal->code, r->code, "refused");
            s_copy_text(refusal->detail, sizeof refusal->detail, r->detail, "");
            refusal->retry_after_ms = r->has_retry_after_ms ? r->retry_after_ms : 0;
        }
        return PSEUDONYM_ANSWER_REFUSED;
    }
    if (frame->body_case != HARTSLAG__PSEUDONYM_FRAME__BODY_RESPONSE)
        return PSEUDONYM_ANSWER_MALFORMED;
    const Hartslag__PseudonymResponse *r = frame->response;
    if (!s_ours(self, &r->request_id))
        return PSEUDONYM_ANSWER_NOT_OURS;
    if (r->key_version != service->key_version)
        return PSEUDONYM_ANSWER_KEY_VERSION;
    size_t n = self->requested;
    if (r->n_evaluated != n || r->proof.len != OPRF_PROOFBYTES)
        return PSEUDONYM_ANSWER_MALFORMED;
    uint8_t evaluated[OPRF_BATCH_MAX][OPRF_ELEMENTBYTES];
    for (size_t i = 0; i < n; i++) {
        if (r->evaluated[i].len != OPRF_ELEMENTBYTES)
            return PSEUDONYM_ANSWER_MALFORMED;
        memcpy(evaluated[i], r->evaluated[i].data, OPRF_ELEMENTBYTES);
    }
    const uint8_t *inputs[OPRF_BATCH_MAX];
    for (size_t i = 0; i < n; i++)
        inputs[i] = self->input[i];
    uint8_t(*outputs)[OPRF_OUTPUTBYTES] = sodium_malloc(OPRF_BATCH_MAX * OPRF_OUTPUTBYTES);
    if (!outputs)
        return PSEUDONYM_ANSWER_MALFORMED;
    oprf_error_t err =
        oprf_finalize(service->public_key, inputs, self->input_len,
                      (const uint8_t(*)[OPRF_SCALARBYTES])self->blind,
                      (const uint8_t(*)[OPRF_ELEMENTBYTES])self->blinded,
                      (const uint8_t(*)[OPRF_ELEMENTBYTES])evaluated, n, r->proof.data, outputs);
    pseudonym_answer_t answer = PSEUDONYM_ANSWER_OK;
    if (err == OPRF_OK) {
        for (size_t i = 0; i < n; i++)
            pseudonym_from_oprf_output(outputs[i], pseudonyms[i]);
        self->requested = 0; /* answered: a replay of the answer is not ours */
    } else {
        answer = err == OPRF_ERR_PROOF ? PSEUDONYM_ANSWER_BAD_PROOF : PSEUDONYM_ANSWER_MALFORMED;
    }
    sodium_memzero(outputs, OPRF_BATCH_MAX * OPRF_OUTPUTBYTES);
    sodium_free(outputs);
    return answer;
}

Hartslag__PseudonymFrame *pseudonym_frame_unpack(const uint8_t *bytes, size_t len)
{
    if (!bytes || len == 0 || len > PSEUDONYM_SERVICE_FRAME_MAX)
        return NULL;
    Hartslag__PseudonymFrame *frame = hartslag__pseudonym_frame__unpack(NULL, len, bytes);
    if (frame &&
        (frame->version != 1 || frame->body_case == HARTSLAG__PSEUDONYM_FRAME__BODY__NOT_SET)) {
        hartslag__pseudonym_frame__free_unpacked(frame, NULL);
        return NULL;
    }
    return frame;
}

const char *pseudonym_answer_text(pseudonym_answer_t answer)
{
    switch (answer) {
    case PSEUDONYM_ANSWER_OK:
        return "ok";
    case PSEUDONYM_ANSWER_REFUSED:
        return "refused by the pseudonym service";
    case PSEUDONYM_ANSWER_BAD_PROOF:
        return "the pseudonym service's proof does not verify against its public key";
    case PSEUDONYM_ANSWER_KEY_VERSION:
        return "the pseudonym service used another key version than its certificate names";
    case PSEUDONYM_ANSWER_MALFORMED:
        return "malformed answer from the pseudonym service";
    case PSEUDONYM_ANSWER_NOT_OURS:
        return "an answer to an earlier request";
    }
    return "unknown";
}
