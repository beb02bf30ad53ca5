/*  request: reading a pseudonym service frame; see request.h. */
#include "request.h"

#include "hartslag.pb-c.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *s_names[PSD_REFUSAL_COUNT] = {
    "ok",
    "malformed",
    "invalid_element",
    "batch_too_large",
    "unknown_client",
    "revoked",
    "rate_limited",
    "replay",
    "stale",
    "key_version",
    "purpose_not_allowed",
};

const char *psd_refusal_name(psd_refusal_t code)
{
    return (unsigned)code < PSD_REFUSAL_COUNT ? s_names[code] : "malformed";
}

int psd_purpose_is_valid(const char *purpose)
{
    size_t len = purpose ? strnlen(purpose, PSD_PURPOSE_MAX + 1) : 0;
    if (len == 0 || len > PSD_PURPOSE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = purpose[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static psd_refusal_t s_refuse(psd_refusal_t code, char *detail, size_t detail_len, const char *text)
{
    snprintf(detail, detail_len, "%s", text);
    return code;
}

static psd_refusal_t s_request(const Hartslag__PseudonymRequest *req, psd_request_t *out,
                               char *detail, size_t detail_len)
{
    if (req->base.n_unknown_fields > 0)
        return s_refuse(PSD_MALFORMED, detail, detail_len, "unknown field in the request");
    if (!psd_purpose_is_valid(req->purpose))
        return s_refuse(PSD_MALFORMED, detail, detail_len, "purpose must be 1-64 of [a-z0-9_-]");
    if (req->n_blinded == 0 || req->n_blinded > OPRF_BATCH_MAX)
        return s_refuse(PSD_BATCH_TOO_LARGE, detail, detail_len,
                        "a request holds 1 to 64 blinded elements");
    for (size_t i = 0; i < req->n_blinded; i++) {
        if (req->blinded[i].len != OPRF_ELEMENTBYTES)
            return s_refuse(PSD_INVALID_ELEMENT, detail, detail_len,
                            "a blinded element is not 32 bytes");
        if (oprf_element_check(req->blinded[i].data) != OPRF_OK) {
            char text[96];
            snprintf(text, sizeof text, "blinded element %zu is not a valid ristretto255 element",
                     i);
            return s_refuse(PSD_INVALID_ELEMENT, detail, detail_len, text);
        }
    }
    out->kind = PSD_MSG_REQUEST;
    out->sent_at_ms = req->sent_at_ms;
    memcpy(out->purpose, req->purpose, strlen(req->purpose) + 1);
    out->key_version = req->key_version;
    out->n = req->n_blinded;
    for (size_t i = 0; i < req->n_blinded; i++)
        memcpy(out->blinded[i], req->blinded[i].data, OPRF_ELEMENTBYTES);
    return PSD_OK;
}

psd_refusal_t psd_request_parse(const uint8_t *data, size_t len, psd_request_t *out, int *id_known,
                                char *detail, size_t detail_len)
{
    memset(out, 0, sizeof *out);
    *id_known = 0;
    if (detail_len)
        detail[0] = '\0';
    if (!data || len == 0)
        return s_refuse(PSD_MALFORMED, detail, detail_len, "empty frame");
    /* The cap comes first: protobuf-c would allocate on the sender's word. */
    if (len > PSD_FRAME_MAX)
        return s_refuse(PSD_MALFORMED, detail, detail_len, "frame too large");
    Hartslag__PseudonymFrame *frame = hartslag__pseudonym_frame__unpack(NULL, len, data);
    if (!frame)
        return s_refuse(PSD_MALFORMED, detail, detail_len, "not a PseudonymFrame");
    psd_refusal_t rc = PSD_MALFORMED;
    /* The request id first, so that every later refusal can name it. */
    if (frame->body_case == HARTSLAG__PSEUDONYM_FRAME__BODY_REQUEST &&
        frame->request->request_id.len == PSD_REQUEST_ID_BYTES) {
        memcpy(out->request_id, frame->request->request_id.data, PSD_REQUEST_ID_BYTES);
        *id_known = 1;
    }
    if (frame->base.n_unknown_fields > 0)
        rc = s_refuse(PSD_MALFORMED, detail, detail_len, "unknown field in the frame");
    else if (frame->version != PSD_PROTOCOL_VERSION)
        rc = s_refuse(PSD_MALFORMED, detail, detail_len, "protocol version must be 1");
    else if (frame->body_case == HARTSLAG__PSEUDONYM_FRAME__BODY_REQUEST) {
        if (!*id_known)
            rc = s_refuse(PSD_MALFORMED, detail, detail_len, "request_id must be 16 bytes");
        else
            rc = s_request(frame->request, out, detail, detail_len);
    } else if (frame->body_case == HARTSLAG__PSEUDONYM_FRAME__BODY_LIMIT_ALERT_ACK) {
        const Hartslag__PseudonymLimitAlertAck *ack = frame->limit_alert_ack;
        if (ack->base.n_unknown_fields > 0 || ack->alert_id.len != PSD_ALERT_ID_BYTES)
            rc = s_refuse(PSD_MALFORMED, detail, detail_len, "alert_id must be 16 bytes");
        else {
            out->kind = PSD_MSG_ALERT_ACK;
            memcpy(out->alert_id, ack->alert_id.data, PSD_ALERT_ID_BYTES);
            rc = PSD_OK;
        }
    } else if (frame->body_case == HARTSLAG__PSEUDONYM_FRAME__BODY_HEARTBEAT) {
        if (frame->heartbeat->base.n_unknown_fields > 0)
            rc = s_refuse(PSD_MALFORMED, detail, detail_len, "unknown field in the heartbeat");
        else {
            out->kind = PSD_MSG_HEARTBEAT;
            rc = PSD_OK;
        }
    } else
        rc = s_refuse(PSD_MALFORMED, detail, detail_len,
                      "a client sends a request, a heartbeat or an alert ack");
    hartslag__pseudonym_frame__free_unpacked(frame, NULL);
    if (rc != PSD_OK) {
        uint8_t id[PSD_REQUEST_ID_BYTES];
        memcpy(id, out->request_id, sizeof id);
        memset(out, 0, sizeof *out);
        memcpy(out->request_id, id, sizeof id);
    }
    return rc;
}
