/*  request: one frame from a client of the pseudonym service, read as
    hostile bytes (issue 17; proto/hartslag.proto, "The pseudonym
    service").

    A pure function: bytes in, either a validated message or a refusal
    code out. The frame's length is checked against PSD_FRAME_MAX before
    protobuf-c sees it (protobuf-c's unpack has no limit of its own); then
    every field: the protocol version, no unknown fields at any depth, a
    16-byte request id, a purpose token, 1..64 blinded elements of 32 bytes
    each, every one a canonical, non-identity ristretto255 encoding
    (oprf_element_check).

    What this module does not judge: who sent it, whether that client may
    ask for this purpose, its clock, its key version, a replay or its rate.
    Those need the service's state (service.c); they are checked after.

    The refusal codes are PseudonymRefusal.code tokens, safe to log, audit
    and send back: they never hold an element.

    Ownership: psd_request_t is a plain value; it holds copies, no
    pointers into the frame.
*/
#ifndef HARTSLAG_PSEUDONYMD_REQUEST_H
#define HARTSLAG_PSEUDONYMD_REQUEST_H

#include "oprf.h"

#include <stddef.h>
#include <stdint.h>

#define PSD_PROTOCOL_VERSION 1u
#define PSD_REQUEST_ID_BYTES 16
#define PSD_ALERT_ID_BYTES 16
#define PSD_PURPOSE_MAX 64
/* A full request: 64 elements of 32 bytes with their tags (2 bytes each),
   a request id, a time, a purpose, a version and the frame's own tags:
   some 2,300 bytes. Anything larger is not a request this service reads. */
#define PSD_FRAME_MAX 4096

/* PseudonymRefusal.code values. */
typedef enum {
    PSD_OK = 0,
    PSD_MALFORMED,           /* unreadable frame or a field out of its rules */
    PSD_INVALID_ELEMENT,     /* a blinded element is not a valid ristretto255 element */
    PSD_BATCH_TOO_LARGE,     /* 0 or more than OPRF_BATCH_MAX elements */
    PSD_UNKNOWN_CLIENT,      /* the key is no client's (any more) */
    PSD_REVOKED,             /* the client is in the config's revoked list */
    PSD_RATE_LIMITED,        /* over per_minute or per_day */
    PSD_REPLAY,              /* request_id seen in the last 10 minutes */
    PSD_STALE,               /* sent_at_ms more than 5 minutes off */
    PSD_KEY_VERSION,         /* not the service's key version */
    PSD_PURPOSE_NOT_ALLOWED, /* the client's role may not ask for this purpose */
    PSD_REFUSAL_COUNT
} psd_refusal_t;

/* The code as sent: "malformed", "invalid_element", ...; "ok" for PSD_OK. */
const char *psd_refusal_name(psd_refusal_t code);

/* What a client's frame asked. */
typedef enum {
    PSD_MSG_REQUEST,   /* evaluate these elements */
    PSD_MSG_ALERT_ACK, /* the coordinator stored a limit alert */
    PSD_MSG_HEARTBEAT, /* still here (the coordinator's daemon collects alerts) */
} psd_msg_kind_t;

/*  Invariant after psd_request_parse returned PSD_OK: for a request,
    1 <= n <= OPRF_BATCH_MAX, each blinded[i] passed oprf_element_check,
    purpose is 1..64 of [a-z0-9_-] and NUL-terminated. */
typedef struct {
    psd_msg_kind_t kind;                                /* which body */
    uint8_t request_id[PSD_REQUEST_ID_BYTES];           /* request: as sent */
    uint64_t sent_at_ms;                                /* request: client clock */
    char purpose[PSD_PURPOSE_MAX + 1];                  /* request: why */
    uint32_t key_version;                               /* request: the key the client expects */
    size_t n;                                           /* request: elements */
    uint8_t blinded[OPRF_BATCH_MAX][OPRF_ELEMENTBYTES]; /* request: the elements */
    uint8_t alert_id[PSD_ALERT_ID_BYTES];               /* alert ack: which alert */
} psd_request_t;

/* Reads one frame. PSD_OK and *out filled, or a refusal code (then *out is
   zeroed but for request_id, which holds the frame's request id when it
   could be read, so that the refusal can name it; `*id_known` says so).
   `detail` gets a short text for PseudonymRefusal.detail (never an
   element). */
psd_refusal_t psd_request_parse(const uint8_t *data, size_t len, psd_request_t *out, int *id_known,
                                char *detail, size_t detail_len)
    __attribute__((warn_unused_result));

/* True when `purpose` is 1..PSD_PURPOSE_MAX of [a-z0-9_-]. */
int psd_purpose_is_valid(const char *purpose);

#endif
