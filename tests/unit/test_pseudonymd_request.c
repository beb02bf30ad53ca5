/*  pseudonymd/request: the pseudonym service's frame parser, on hostile
    bytes. */
#include "request.h"

#include "hartslag.pb-c.h"
#include "oprf.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* A valid element (a random point). */
static void s_element(uint8_t out[32])
{
    uint8_t sk[32];
    crypto_core_ristretto255_scalar_random(sk);
    cr_assert_eq(crypto_scalarmult_ristretto255_base(out, sk), 0);
}

/* Packs a request of `n` elements; the caller may spoil it first through
   `edit`. Returns a new buffer (free) and its length. */
typedef void(edit_fn)(Hartslag__PseudonymFrame *frame, Hartslag__PseudonymRequest *req);

static uint8_t *s_pack(size_t n, edit_fn *edit, size_t *len)
{
    cr_assert(sodium_init() >= 0);
    static uint8_t elements[80][32];
    static uint8_t id[16];
    ProtobufCBinaryData items[80];
    for (size_t i = 0; i < n; i++) {
        s_element(elements[i]);
        items[i].data = elements[i];
        items[i].len = 32;
    }
    memset(id, 0x42, sizeof id);
    Hartslag__PseudonymFrame frame = HARTSLAG__PSEUDONYM_FRAME__INIT;
    Hartslag__PseudonymRequest req = HARTSLAG__PSEUDONYM_REQUEST__INIT;
    req.request_id.data = id;
    req.request_id.len = 16;
    req.sent_at_ms = 1800000000000ull;
    req.purpose = "send";
    req.key_version = 3;
    req.n_blinded = n;
    req.blinded = items;
    frame.version = 1;
    frame.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_REQUEST;
    frame.request = &req;
    if (edit)
        edit(&frame, &req);
    *len = hartslag__pseudonym_frame__get_packed_size(&frame);
    uint8_t *buf = malloc(*len + 1);
    hartslag__pseudonym_frame__pack(&frame, buf);
    return buf;
}

static psd_refusal_t s_parse(size_t n, edit_fn *edit, psd_request_t *out, int *id_known)
{
    size_t len = 0;
    uint8_t *buf = s_pack(n, edit, &len);
    char detail[160];
    psd_refusal_t rc = psd_request_parse(buf, len, out, id_known, detail, sizeof detail);
    free(buf);
    return rc;
}

Test(pseudonymd_request, a_good_request_is_read_exactly)
{
    psd_request_t *req = calloc(1, sizeof *req);
    int id_known = 0;
    cr_assert_eq(s_parse(64, NULL, req, &id_known), PSD_OK);
    cr_assert_eq(req->kind, PSD_MSG_REQUEST);
    cr_assert(id_known);
    cr_assert_eq(req->n, 64);
    cr_assert_eq(req->key_version, 3);
    cr_assert_eq(req->sent_at_ms, 1800000000000ull);
    cr_assert_str_eq(req->purpose, "send");
    for (size_t i = 0; i < 16; i++)
        cr_assert_eq(req->request_id[i], 0x42);
    for (size_t i = 0; i < 64; i++)
        cr_assert_eq(oprf_element_check(req->blinded[i]), OPRF_OK);
    free(req);
}

static void s_bit255(Hartslag__PseudonymFrame *f, Hartslag__PseudonymRequest *r)
{
    (void)f;
    r->blinded[1].data[31] |= 0x80;
}

static void s_identity(Hartslag__PseudonymFrame *f, Hartslag__PseudonymRequest *r)
{
    (void)f;
    memset(r->blinded[0].data, 0, 32);
}

static void s_short_element(Hartslag__PseudonymFrame *f, Hartslag__PseudonymRequest *r)
{
    (void)f;
    r->blinded[2].len = 31;
}

static void s_not_a_point(Hartslag__PseudonymFrame *f, Hartslag__PseudonymRequest *r)
{
    (void)f;
    memset(r->blinded[0].data, 0xff, 31);
    r->blinded[0].data[31] = 0x7f; /* above p: not canonical */
}

Test(pseudonymd_request, invalid_elements_are_refused_and_named_by_code_only)
{
    edit_fn *edits[] = {s_bit255, s_identity, s_short_element, s_not_a_point};
    for (size_t i = 0; i < 4; i++) {
        psd_request_t *req = calloc(1, sizeof *req);
        int id_known = 0;
        cr_assert_eq(s_parse(3, edits[i], req, &id_known), PSD_INVALID_ELEMENT, "edit %zu", i);
        cr_assert(id_known, "a refusal should still name the request");
        cr_assert_eq(req->n, 0, "a refused request leaves no elements behind");
        cr_assert_str_eq(psd_refusal_name(PSD_INVALID_ELEMENT), "invalid_element");
        free(req);
    }
}

Test(pseudonymd_request, batch_sizes)
{
    psd_request_t *req = calloc(1, sizeof *req);
    int id_known;
    cr_assert_eq(s_parse(0, NULL, req, &id_known), PSD_BATCH_TOO_LARGE);
    cr_assert_eq(s_parse(65, NULL, req, &id_known), PSD_BATCH_TOO_LARGE);
    cr_assert_eq(s_parse(1, NULL, req, &id_known), PSD_OK);
    cr_assert_eq(s_parse(64, NULL, req, &id_known), PSD_OK);
    free(req);
}

static void s_short_id(Hartslag__PseudonymFrame *f, Hartslag__PseudonymRequest *r)
{
    (void)f;
    r->request_id.len = 15;
}

static void s_bad_purpose(Hartslag__PseudonymFrame *f, Hartslag__PseudonymRequest *r)
{
    (void)f;
    r->purpose = "Send";
}

static void s_long_purpose(Hartslag__PseudonymFrame *f, Hartslag__PseudonymRequest *r)
{
    (void)f;
    r->purpose = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* 65 */
}

static void s_version2(Hartslag__PseudonymFrame *f, Hartslag__PseudonymRequest *r)
{
    (void)r;
    f->version = 2;
}

static void s_response(Hartslag__PseudonymFrame *f, Hartslag__PseudonymRequest *r)
{
    /* A client may not send what only the service sends. */
    static Hartslag__PseudonymResponse resp = HARTSLAG__PSEUDONYM_RESPONSE__INIT;
    resp.request_id = r->request_id;
    resp.proof = r->request_id;
    f->body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_RESPONSE;
    f->response = &resp;
}

Test(pseudonymd_request, malformed_frames)
{
    edit_fn *edits[] = {s_short_id, s_bad_purpose, s_long_purpose, s_version2, s_response};
    for (size_t i = 0; i < 5; i++) {
        psd_request_t *req = calloc(1, sizeof *req);
        int id_known;
        cr_assert_eq(s_parse(2, edits[i], req, &id_known), PSD_MALFORMED, "edit %zu", i);
        free(req);
    }
    psd_request_t *req = calloc(1, sizeof *req);
    int id_known = 1;
    char detail[160];
    cr_assert_eq(psd_request_parse(NULL, 0, req, &id_known, detail, sizeof detail), PSD_MALFORMED);
    cr_assert_not(id_known);
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01};
    cr_assert_eq(psd_request_parse(junk, sizeof junk, req, &id_known, detail, sizeof detail),
                 PSD_MALFORMED);
    /* Over the cap: refused before protobuf-c sees it, even if valid. */
    size_t len = 0;
    uint8_t *buf = s_pack(64, NULL, &len);
    uint8_t *big = calloc(1, PSD_FRAME_MAX + 1);
    memcpy(big, buf, len);
    cr_assert_eq(psd_request_parse(big, PSD_FRAME_MAX + 1, req, &id_known, detail, sizeof detail),
                 PSD_MALFORMED);
    cr_assert(strstr(detail, "too large"), "%s", detail);
    cr_assert_lt(len, PSD_FRAME_MAX, "a full request must fit the cap");
    /* An unknown field appended (field 99, varint) is refused. */
    uint8_t *extra = malloc(len + 3);
    memcpy(extra, buf, len);
    extra[len] = (99 << 3) & 0xff;
    extra[len] |= 0x80;
    extra[len + 1] = 99 >> 4;
    extra[len + 2] = 1;
    cr_assert_eq(psd_request_parse(extra, len + 3, req, &id_known, detail, sizeof detail),
                 PSD_MALFORMED);
    free(extra);
    free(big);
    free(buf);
    free(req);
}

Test(pseudonymd_request, ack_and_heartbeat)
{
    uint8_t id[16];
    memset(id, 7, sizeof id);
    Hartslag__PseudonymFrame frame = HARTSLAG__PSEUDONYM_FRAME__INIT;
    Hartslag__PseudonymLimitAlertAck ack = HARTSLAG__PSEUDONYM_LIMIT_ALERT_ACK__INIT;
    ack.alert_id.data = id;
    ack.alert_id.len = 16;
    frame.version = 1;
    frame.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_LIMIT_ALERT_ACK;
    frame.limit_alert_ack = &ack;
    uint8_t buf[128];
    size_t len = hartslag__pseudonym_frame__pack(&frame, buf);
    psd_request_t *req = calloc(1, sizeof *req);
    int id_known;
    char detail[160];
    cr_assert_eq(psd_request_parse(buf, len, req, &id_known, detail, sizeof detail), PSD_OK);
    cr_assert_eq(req->kind, PSD_MSG_ALERT_ACK);
    cr_assert_eq(memcmp(req->alert_id, id, 16), 0);
    ack.alert_id.len = 8;
    len = hartslag__pseudonym_frame__pack(&frame, buf);
    cr_assert_eq(psd_request_parse(buf, len, req, &id_known, detail, sizeof detail), PSD_MALFORMED);
    Hartslag__Heartbeat hb = HARTSLAG__HEARTBEAT__INIT;
    hb.sent_at_ms = 5;
    frame.body_case = HARTSLAG__PSEUDONYM_FRAME__BODY_HEARTBEAT;
    frame.heartbeat = &hb;
    len = hartslag__pseudonym_frame__pack(&frame, buf);
    cr_assert_eq(psd_request_parse(buf, len, req, &id_known, detail, sizeof detail), PSD_OK);
    cr_assert_eq(req->kind, PSD_MSG_HEARTBEAT);
    free(req);
}

Test(pseudonymd_request, refusal_names_and_purposes)
{
    const char *want[] = {"ok",
                          "malformed",
                          "invalid_element",
                          "batch_too_large",
                          "unknown_client",
                          "revoked",
                          "rate_limited",
                          "replay",
                          "stale",
                          "key_version",
                          "purpose_not_allowed"};
    for (int i = 0; i < PSD_REFUSAL_COUNT; i++)
        cr_assert_str_eq(psd_refusal_name((psd_refusal_t)i), want[i]);
    cr_assert_str_eq(psd_refusal_name((psd_refusal_t)99), "malformed");
    cr_assert(psd_purpose_is_valid("audit_query"));
    cr_assert(psd_purpose_is_valid("art15"));
    cr_assert_not(psd_purpose_is_valid(""));
    cr_assert_not(psd_purpose_is_valid("a b"));
    cr_assert_not(psd_purpose_is_valid(NULL));
}
