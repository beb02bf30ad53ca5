/*  pseudonym_client: the client half of the pseudonym service protocol
    (issue 17, docs/pseudonyms.md, proto "The pseudonym service"), without
    the socket: a daemon and an officer's tool put identifiers in a batch,
    send the request bytes it packs, and hand the answer back.

        batch = pseudonym_batch_new()
        pseudonym_batch_add(batch, PSEUDONYM_BSN, "111222333", &slot, &why)
        pseudonym_batch_request(batch, "send", service, now, &bytes, &len)
        ... send bytes, receive a PseudonymFrame ...
        pseudonym_batch_answer(batch, service, frame, pseudonyms, &refusal)

    The batch holds the OPRF inputs (they contain the identifiers) and the
    blinds in locked memory, wiped when the batch is reset or destroyed.
    An answer is accepted only when it is for this batch's request, from
    the service key version the client holds, with a DLEQ proof that
    verifies against the service's public key: a proof that fails gives
    PSEUDONYM_ANSWER_BAD_PROOF and no pseudonym at all. There is no
    fallback: without the service there is no pseudonym.

    Ownership: pseudonym_batch_t owns its inputs, blinds and request id.
*/
#ifndef HARTSLAG_PSEUDONYM_CLIENT_H
#define HARTSLAG_PSEUDONYM_CLIENT_H

#include "hartslag.pb-c.h"
#include "oprf.h"
#include "pseudonym.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PSEUDONYM_REQUEST_ID_BYTES 16
#define PSEUDONYM_SERVICE_FRAME_MAX 8192 /* a PseudonymFrame of a full batch, with room */
#define PSEUDONYM_PURPOSE_MAX 64

/* The service as the partnership's configuration describes it: its OPRF
   public key and that key's version (from its certificate). */
typedef struct {
    uint8_t public_key[OPRF_ELEMENTBYTES];
    uint32_t key_version;
} pseudonym_service_key_t;

typedef enum {
    PSEUDONYM_ANSWER_OK = 0,      /* pseudonyms written, one per slot */
    PSEUDONYM_ANSWER_REFUSED,     /* the service refused: code in the refusal */
    PSEUDONYM_ANSWER_BAD_PROOF,   /* the proof does not verify: nothing written */
    PSEUDONYM_ANSWER_KEY_VERSION, /* evaluated with another key version than ours */
    PSEUDONYM_ANSWER_MALFORMED,   /* wrong number or size of elements, invalid element */
    PSEUDONYM_ANSWER_NOT_OURS,    /* for another (older) request: ignore it */
} pseudonym_answer_t;

/* A refusal as the service gave it (static text when not told). */
typedef struct {
    char code[32];           /* e.g. "rate_limited" */
    char detail[160];        /* the service's short text, printable ASCII only */
    uint64_t retry_after_ms; /* rate_limited: wait this long; 0 not told */
} pseudonym_refusal_t;

typedef struct pseudonym_batch_t pseudonym_batch_t;

/* A new, empty batch, or NULL when memory is short. */
pseudonym_batch_t *pseudonym_batch_new(void);

/* Wipes and frees; nulls *self_p. Safe on NULL. */
void pseudonym_batch_destroy(pseudonym_batch_t **self_p);

/* Empties the batch (wiping it) for a new request. */
void pseudonym_batch_reset(pseudonym_batch_t *self);

/* Identifiers in the batch. */
size_t pseudonym_batch_size(const pseudonym_batch_t *self);

/* Adds `id` of `kind`, normalised and blinded; its answer comes in slot
   *slot. 0, or -1 with *error a static text (an invalid identifier, or
   the batch is full or already sent) that never holds the identifier. */
int pseudonym_batch_add(pseudonym_batch_t *self, pseudonym_kind_t kind, const char *id,
                        size_t *slot, const char **error) __attribute__((warn_unused_result));

/* The OPRF input of `slot` (it holds the identifier: do not copy it out
   of locked memory), *len its length; NULL for a slot not in the batch.
   A daemon keys its memory-only cache with it. */
const uint8_t *pseudonym_batch_input(const pseudonym_batch_t *self, size_t slot, size_t *len);

/* Packs the request (a PseudonymFrame) for the batch with a fresh request
   id: *frame is malloc'd (caller frees), *len its length. 0, or -1 with
   *error set (empty batch, purpose not a token, out of memory). A batch
   may be re-requested (a new request id) after a timeout. */
int pseudonym_batch_request(pseudonym_batch_t *self, const char *purpose,
                            const pseudonym_service_key_t *service, uint64_t now_ms,
                            uint8_t **frame, size_t *len, const char **error)
    __attribute__((warn_unused_result));

/* Handles the service's answer to the last request: a response (checked
   and finalised into `pseudonyms`, one per slot) or a refusal (copied into
   *refusal). Any other frame body is PSEUDONYM_ANSWER_MALFORMED. */
pseudonym_answer_t pseudonym_batch_answer(pseudonym_batch_t *self,
                                          const pseudonym_service_key_t *service,
                                          const Hartslag__PseudonymFrame *frame,
                                          uint8_t (*pseudonyms)[PSEUDONYM_BYTES],
                                          pseudonym_refusal_t *refusal);

/* Unpacks one frame from the service, bounded by
   PSEUDONYM_SERVICE_FRAME_MAX and checked for version 1; NULL when it is
   not one. Free with hartslag__pseudonym_frame__free_unpacked. */
Hartslag__PseudonymFrame *pseudonym_frame_unpack(const uint8_t *bytes, size_t len);

/* A short text for an answer, for log lines and messages. */
const char *pseudonym_answer_text(pseudonym_answer_t answer);

#endif
