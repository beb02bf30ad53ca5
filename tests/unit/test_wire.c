/*  Tests for lib/wire: every header and sealed-signal rule has a failing
    case with its reason token; frames are capped before unpacking. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define T0 1735689600000ull /* 2025-01-01T00:00:00Z */
#define DAY_MS (24ull * 60 * 60 * 1000)

/* A valid header whose parts a test can change before packing. */
typedef struct {
    Hartslag__SignalHeader h;
    uint8_t id[16];
    uint8_t subject[32];
    char *recipients[ENVELOPE_RECIPIENTS_MAX + 2];
    char recipient_names[ENVELOPE_RECIPIENTS_MAX + 2][16];
    char *fields[WIRE_FIELDS_MAX + 2];
    char field_names[WIRE_FIELDS_MAX + 2][16];
} header_t;

static void s_header(header_t *t)
{
    memset(t, 0, sizeof *t);
    hartslag__signal_header__init(&t->h);
    memset(t->id, 0x11, sizeof t->id);
    memset(t->subject, 0x22, sizeof t->subject);
    for (size_t i = 0; i < ENVELOPE_RECIPIENTS_MAX + 2; i++) {
        snprintf(t->recipient_names[i], sizeof t->recipient_names[i], "org-%02zu", i);
        t->recipients[i] = t->recipient_names[i];
    }
    for (size_t i = 0; i < WIRE_FIELDS_MAX + 2; i++) {
        snprintf(t->field_names[i], sizeof t->field_names[i], "field_%02zu", i);
        t->fields[i] = t->field_names[i];
    }
    t->h.signal_id.data = t->id;
    t->h.signal_id.len = sizeof t->id;
    t->h.sender = "gemeente";
    t->h.sender_user = "u12345 (wijkteam)";
    t->h.n_recipients = 2;
    t->h.recipients = t->recipients;
    t->h.signal_type = "overlast";
    t->h.purpose = "casusoverleg";
    t->h.agreements_version = 7;
    t->h.subject.data = t->subject;
    t->h.subject.len = sizeof t->subject;
    t->h.n_fields = 3;
    t->h.fields = t->fields;
    t->h.created_at_ms = T0;
    t->h.valid_until_ms = T0 + 180 * DAY_MS;
    t->h.urgency = HARTSLAG__URGENCY__URGENCY_PRIORITY;
}

static size_t s_pack(const Hartslag__SignalHeader *h, uint8_t *buf, size_t cap)
{
    size_t len = hartslag__signal_header__get_packed_size(h);
    cr_assert_leq(len, cap);
    cr_assert_eq(hartslag__signal_header__pack(h, buf), len);
    return len;
}

/* Packs `t`, runs wire_check_header, and returns the reason (NULL = ok). */
static const char *s_check(header_t *t)
{
    uint8_t buf[3 * ENVELOPE_HEADER_MAX];
    size_t len = s_pack(&t->h, buf, sizeof buf);
    Hartslag__SignalHeader *out = NULL;
    const char *reason = NULL;
    int rc = wire_check_header(buf, len, &out, &reason);
    if (rc == 0) {
        cr_assert_not_null(out);
        hartslag__signal_header__free_unpacked(out, NULL);
        return NULL;
    }
    cr_assert_eq(rc, -1);
    cr_assert_null(out, "output written on failure");
    cr_assert_not_null(reason);
    return reason;
}

#define EXPECT_REASON(t, token)                                                                    \
    do {                                                                                           \
        const char *got_ = s_check(t);                                                             \
        cr_expect(got_ &&strcmp(got_, token) == 0, "expected %s, got %s", token,                   \
                  got_ ? got_ : "ok");                                                             \
    } while (0)

Test(wire, valid_header)
{
    header_t t;
    s_header(&t);
    cr_expect_null(s_check(&t));
    uint8_t buf[ENVELOPE_HEADER_MAX];
    size_t len = s_pack(&t.h, buf, sizeof buf);
    Hartslag__SignalHeader *h = NULL;
    cr_assert_eq(wire_check_header(buf, len, &h, NULL), 0);
    cr_expect_str_eq(h->sender, "gemeente");
    cr_expect_eq(h->n_recipients, 2);
    cr_expect_str_eq(h->recipients[1], "org-01");
    cr_expect_eq(h->urgency, HARTSLAG__URGENCY__URGENCY_PRIORITY);
    hartslag__signal_header__free_unpacked(h, NULL);
    /* Limits themselves are fine. */
    t.h.n_recipients = ENVELOPE_RECIPIENTS_MAX;
    t.h.n_fields = 0;
    cr_expect_null(s_check(&t));
    t.h.n_recipients = 1;
    t.h.n_fields = WIRE_FIELDS_MAX;
    cr_expect_null(s_check(&t));
    t.h.valid_until_ms = t.h.created_at_ms + WIRE_VALIDITY_MAX_MS;
    cr_expect_null(s_check(&t));
    t.h.created_at_ms = WIRE_TIME_MIN_MS;
    t.h.valid_until_ms = WIRE_TIME_MIN_MS + 1;
    cr_expect_null(s_check(&t));
    t.h.created_at_ms = WIRE_TIME_MAX_MS;
    t.h.valid_until_ms = WIRE_TIME_MAX_MS + 1;
    cr_expect_null(s_check(&t));
}

Test(wire, bad_signal_id)
{
    header_t t;
    s_header(&t);
    t.h.signal_id.len = 15;
    EXPECT_REASON(&t, "bad_signal_id");
    t.h.signal_id.len = 0;
    EXPECT_REASON(&t, "bad_signal_id");
}

Test(wire, bad_subject)
{
    header_t t;
    s_header(&t);
    t.h.subject.len = 31;
    EXPECT_REASON(&t, "bad_subject");
}

/* Issue 17 item 6: one subject, one statement of how it was made. */
Test(wire, subject_scheme_and_key_version)
{
    header_t t;
    s_header(&t);
    t.h.has_subject_scheme = true;
    t.h.subject_scheme = 2;
    t.h.has_subject_key_version = true;
    t.h.subject_key_version = 3;
    cr_expect_null(s_check(&t));
    t.h.subject_key_version = 0;
    EXPECT_REASON(&t, "subject_key_version_missing");
    t.h.has_subject_key_version = false;
    EXPECT_REASON(&t, "subject_key_version_missing");
    t.h.subject_scheme = 1;
    cr_expect_null(s_check(&t), "scheme 1 stated, no version: the retired scheme");
    t.h.has_subject_key_version = true;
    t.h.subject_key_version = 3;
    EXPECT_REASON(&t, "mixed_subject_versions");
    t.h.has_subject_scheme = false;
    EXPECT_REASON(&t, "mixed_subject_versions");
    t.h.has_subject_scheme = true;
    t.h.subject_scheme = 7;
    EXPECT_REASON(&t, "unknown_subject_scheme");
}

Test(wire, bad_sender)
{
    header_t t;
    s_header(&t);
    t.h.sender = "Gemeente";
    EXPECT_REASON(&t, "bad_sender");
    t.h.sender = "";
    EXPECT_REASON(&t, "bad_sender");
    t.h.sender = "a-very-long-organisation-name-that-is-33";
    EXPECT_REASON(&t, "bad_sender");
}

Test(wire, bad_sender_user)
{
    header_t t;
    s_header(&t);
    t.h.sender_user = " leading";
    EXPECT_REASON(&t, "bad_sender_user");
    t.h.sender_user = "tab\there";
    EXPECT_REASON(&t, "bad_sender_user");
    /* A spreadsheet formula: the broker refuses it (issue 13 E19). */
    t.h.sender_user = "=HYPERLINK(\"http://evil.example\",\"klik\")";
    EXPECT_REASON(&t, "bad_sender_user");
    t.h.sender_user = "";
    EXPECT_REASON(&t, "bad_sender_user");
}

Test(wire, recipients)
{
    header_t t;
    s_header(&t);
    t.h.n_recipients = 0;
    EXPECT_REASON(&t, "no_recipients");
    t.h.n_recipients = ENVELOPE_RECIPIENTS_MAX + 1;
    EXPECT_REASON(&t, "too_many_recipients");
    s_header(&t);
    t.recipients[1] = "Politie";
    EXPECT_REASON(&t, "bad_recipient");
    t.recipients[1] = "";
    EXPECT_REASON(&t, "bad_recipient");
    t.recipients[1] = "-politie";
    EXPECT_REASON(&t, "bad_recipient");
    t.recipients[1] = "gemeente";
    EXPECT_REASON(&t, "recipient_is_sender");
    t.recipients[1] = "org-00";
    EXPECT_REASON(&t, "duplicate_recipient");
}

Test(wire, type_and_purpose)
{
    header_t t;
    s_header(&t);
    t.h.signal_type = "Overlast";
    EXPECT_REASON(&t, "bad_signal_type");
    t.h.signal_type = "";
    EXPECT_REASON(&t, "bad_signal_type");
    s_header(&t);
    t.h.purpose = "casus overleg";
    EXPECT_REASON(&t, "bad_purpose");
}

Test(wire, fields)
{
    header_t t;
    s_header(&t);
    t.h.n_fields = WIRE_FIELDS_MAX + 1;
    EXPECT_REASON(&t, "too_many_fields");
    s_header(&t);
    t.fields[1] = "Adres";
    EXPECT_REASON(&t, "bad_field");
    t.fields[1] = "";
    EXPECT_REASON(&t, "bad_field");
    s_header(&t);
    t.fields[1] = t.fields[0];
    EXPECT_REASON(&t, "duplicate_field");
    s_header(&t);
    t.fields[0] = "zzz";
    EXPECT_REASON(&t, "fields_not_sorted");
}

Test(wire, times)
{
    header_t t;
    s_header(&t);
    t.h.created_at_ms = 0;
    EXPECT_REASON(&t, "bad_created_at");
    t.h.created_at_ms = WIRE_TIME_MIN_MS - 1;
    EXPECT_REASON(&t, "bad_created_at");
    t.h.created_at_ms = WIRE_TIME_MAX_MS + 1;
    t.h.valid_until_ms = UINT64_MAX;
    EXPECT_REASON(&t, "bad_created_at");
    s_header(&t);
    t.h.valid_until_ms = t.h.created_at_ms;
    EXPECT_REASON(&t, "bad_valid_until");
    t.h.valid_until_ms = t.h.created_at_ms - 1;
    EXPECT_REASON(&t, "bad_valid_until");
    t.h.valid_until_ms = t.h.created_at_ms + WIRE_VALIDITY_MAX_MS + 1;
    EXPECT_REASON(&t, "validity_too_long");
    t.h.valid_until_ms = UINT64_MAX;
    EXPECT_REASON(&t, "validity_too_long");
}

Test(wire, urgency)
{
    header_t t;
    s_header(&t);
    t.h.urgency = (Hartslag__Urgency)3;
    EXPECT_REASON(&t, "bad_urgency");
    t.h.urgency = (Hartslag__Urgency)-1;
    EXPECT_REASON(&t, "bad_urgency");
}

Test(wire, header_bytes)
{
    header_t t;
    s_header(&t);
    uint8_t buf[ENVELOPE_HEADER_MAX + 64];
    size_t len = s_pack(&t.h, buf, sizeof buf);
    Hartslag__SignalHeader *h = NULL;
    const char *reason = NULL;

    /* Too large: refused on length alone. */
    uint8_t *big = calloc(1, ENVELOPE_HEADER_MAX + 1);
    cr_assert_not_null(big);
    cr_expect_eq(wire_check_header(big, ENVELOPE_HEADER_MAX + 1, &h, &reason), -1);
    cr_expect_str_eq(reason, "header_too_large");
    free(big);

    /* Malformed: truncated, and garbage. */
    cr_expect_eq(wire_check_header(buf, len - 1, &h, &reason), -1);
    cr_expect_str_eq(reason, "malformed");
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff};
    cr_expect_eq(wire_check_header(garbage, sizeof garbage, &h, &reason), -1);
    cr_expect_str_eq(reason, "malformed");
    cr_expect_eq(wire_check_header(NULL, 3, &h, &reason), -1);
    cr_expect_eq(wire_check_header(buf, len, NULL, &reason), -1);
    cr_expect_eq(wire_check_header(NULL, 0, &h, &reason), -1, "empty header lacks fields");

    /* An unknown field (number 99, varint 1). */
    uint8_t more[ENVELOPE_HEADER_MAX + 64];
    memcpy(more, buf, len);
    more[len] = 0x98; /* tag (99 << 3 | 0) as a varint: 0x98 0x06 */
    more[len + 1] = 0x06;
    more[len + 2] = 1;
    cr_expect_eq(wire_check_header(more, len + 3, &h, &reason), -1);
    cr_expect_str_eq(reason, "unknown_field");

    /* A repeated singular field (sender again at the end): last one wins
       in protobuf-c, so it must be refused as non-canonical. */
    memcpy(more, buf, len);
    static const uint8_t sender_again[] = {0x12, 0x07, 'p', 'o', 'l', 'i', 't', 'i', 'e'};
    memcpy(more + len, sender_again, sizeof sender_again);
    cr_expect_eq(wire_check_header(more, len + sizeof sender_again, &h, &reason), -1);
    cr_expect_str_eq(reason, "non_canonical");

    /* An embedded NUL: "gemeente\0x" would be read as "gemeente". */
    t.h.sender = "gemeentex";
    len = s_pack(&t.h, buf, sizeof buf);
    uint8_t *x = memchr(buf, 'x', len);
    cr_assert_not_null(x);
    *x = '\0';
    cr_expect_eq(wire_check_header(buf, len, &h, &reason), -1);
    cr_expect_str_eq(reason, "non_canonical");

    /* A non-minimal varint for agreements_version (field 7): 7 as 0x87 0x00. */
    s_header(&t);
    t.h.agreements_version = 0;
    len = s_pack(&t.h, buf, sizeof buf);
    uint8_t *v = NULL;
    for (size_t i = 0; i + 1 < len; i++)
        if (buf[i] == 0x38 && buf[i + 1] == 0x00) {
            v = buf + i;
            break;
        }
    cr_assert_not_null(v);
    memmove(v + 3, v + 2, len - (size_t)(v + 2 - buf));
    v[1] = 0x80;
    v[2] = 0x00;
    cr_expect_eq(wire_check_header(buf, len + 1, &h, &reason), -1);
    cr_expect_str_eq(reason, "non_canonical");
    cr_expect_null(h);
}

/* A SealedSignal matching header_t's two recipients. */
typedef struct {
    Hartslag__SealedSignal s;
    Hartslag__WrappedKey wk[3];
    Hartslag__WrappedKey *wkp[3];
    uint8_t nonce[24], ct[64], sig[64], commit[32], wnonce[3][24], wrapped[3][48];
    uint8_t header[16];
} sealed_t;

static void s_sealed(sealed_t *t, const Hartslag__SignalHeader *h)
{
    memset(t, 0, sizeof *t);
    hartslag__sealed_signal__init(&t->s);
    t->s.header.data = t->header;
    t->s.header.len = sizeof t->header;
    t->s.nonce.data = t->nonce;
    t->s.nonce.len = 24;
    t->s.ciphertext.data = t->ct;
    t->s.ciphertext.len = 16;
    t->s.signature.data = t->sig;
    t->s.signature.len = 64;
    t->s.key_commitment.data = t->commit;
    t->s.key_commitment.len = 32;
    for (size_t i = 0; i < 3; i++) {
        hartslag__wrapped_key__init(&t->wk[i]);
        t->wk[i].recipient = i < h->n_recipients ? h->recipients[i] : "extra";
        t->wk[i].nonce.data = t->wnonce[i];
        t->wk[i].nonce.len = 24;
        t->wk[i].wrapped.data = t->wrapped[i];
        t->wk[i].wrapped.len = 48;
        t->wkp[i] = &t->wk[i];
    }
    t->s.n_wrapped_keys = h->n_recipients;
    t->s.wrapped_keys = t->wkp;
}

#define EXPECT_SEALED(t, h, token)                                                                 \
    do {                                                                                           \
        const char *r_ = NULL;                                                                     \
        cr_expect_eq(wire_check_sealed(&(t)->s, h, &r_), -1, "expected %s", token);                \
        cr_expect(r_ &&strcmp(r_, token) == 0, "expected %s, got %s", token, r_ ? r_ : "ok");      \
    } while (0)

Test(wire, sealed_rules)
{
    header_t ht;
    s_header(&ht);
    Hartslag__SignalHeader *h = &ht.h;
    sealed_t t;
    s_sealed(&t, h);
    cr_expect_eq(wire_check_sealed(&t.s, h, NULL), 0);
    t.s.ciphertext.len = ENVELOPE_CIPHERTEXT_MAX; /* length only is looked at */
    cr_expect_eq(wire_check_sealed(&t.s, h, NULL), 0);

    s_sealed(&t, h);
    t.s.header.len = ENVELOPE_HEADER_MAX + 1;
    EXPECT_SEALED(&t, h, "header_too_large");
    s_sealed(&t, h);
    t.s.nonce.len = 23;
    EXPECT_SEALED(&t, h, "bad_nonce");
    s_sealed(&t, h);
    t.s.ciphertext.len = 15;
    EXPECT_SEALED(&t, h, "bad_ciphertext");
    t.s.ciphertext.len = ENVELOPE_CIPHERTEXT_MAX + 1;
    EXPECT_SEALED(&t, h, "bad_ciphertext");
    s_sealed(&t, h);
    t.s.signature.len = 63;
    EXPECT_SEALED(&t, h, "bad_signature_length");
    t.s.signature.len = 64;
    t.s.key_commitment.len = 31;
    EXPECT_SEALED(&t, h, "bad_key_commitment");
    t.s.key_commitment.len = 0;
    EXPECT_SEALED(&t, h, "bad_key_commitment");
    t.s.key_commitment.len = 32;
    s_sealed(&t, h);
    t.s.n_wrapped_keys = 1;
    EXPECT_SEALED(&t, h, "wrapped_keys_count");
    t.s.n_wrapped_keys = 3;
    EXPECT_SEALED(&t, h, "wrapped_keys_count");
    s_sealed(&t, h);
    t.wk[0].recipient = "org-01"; /* swapped order */
    t.wk[1].recipient = "org-00";
    EXPECT_SEALED(&t, h, "wrapped_key_recipient");
    s_sealed(&t, h);
    t.wk[1].recipient = "politie";
    EXPECT_SEALED(&t, h, "wrapped_key_recipient");
    s_sealed(&t, h);
    t.wk[1].nonce.len = 25;
    EXPECT_SEALED(&t, h, "bad_wrapped_key");
    s_sealed(&t, h);
    t.wk[0].wrapped.len = 32;
    EXPECT_SEALED(&t, h, "bad_wrapped_key");

    /* Unknown fields are refused at both levels (only visible after unpack). */
    ProtobufCMessageUnknownField unknown = {99, PROTOBUF_C_WIRE_TYPE_VARINT, 1, (uint8_t *)"\x01"};
    s_sealed(&t, h);
    t.s.base.n_unknown_fields = 1;
    t.s.base.unknown_fields = &unknown;
    EXPECT_SEALED(&t, h, "unknown_field");
    s_sealed(&t, h);
    t.wk[1].base.n_unknown_fields = 1;
    t.wk[1].base.unknown_fields = &unknown;
    EXPECT_SEALED(&t, h, "unknown_field");

    cr_expect_eq(wire_check_sealed(NULL, h, NULL), -1);
    cr_expect_eq(wire_check_sealed(&t.s, NULL, NULL), -1);
}

Test(wire, validate_header_null)
{
    const char *reason = NULL;
    cr_expect_eq(wire_validate_header(NULL, &reason), -1);
    cr_expect_str_eq(reason, "malformed");
}

/* A protobuf-c allocator that counts what unpack asks for. */
typedef struct {
    size_t calls;   /* allocations */
    size_t largest; /* largest single allocation */
    size_t total;   /* sum of all allocations */
} count_t;

static void *s_count_alloc(void *data, size_t size)
{
    count_t *c = data;
    c->calls++;
    c->total += size;
    if (size > c->largest)
        c->largest = size;
    return malloc(size);
}

static void s_count_free(void *data, void *ptr)
{
    (void)data;
    free(ptr);
}

static size_t s_frame_heartbeat(uint8_t *buf, uint32_t version)
{
    Hartslag__Heartbeat hb = HARTSLAG__HEARTBEAT__INIT;
    hb.sent_at_ms = T0;
    Hartslag__Frame f = HARTSLAG__FRAME__INIT;
    f.version = version;
    f.body_case = HARTSLAG__FRAME__BODY_HEARTBEAT;
    f.heartbeat = &hb;
    return hartslag__frame__pack(&f, buf);
}

Test(wire, frames)
{
    uint8_t buf[256];
    size_t len = s_frame_heartbeat(buf, WIRE_VERSION);
    Hartslag__Frame *f = NULL;
    const char *reason = NULL;
    cr_assert_eq(wire_unpack_frame(buf, len, &f, &reason), 0);
    cr_expect_eq(f->body_case, HARTSLAG__FRAME__BODY_HEARTBEAT);
    cr_expect_eq(f->heartbeat->sent_at_ms, T0);
    hartslag__frame__free_unpacked(f, NULL);
    f = NULL;

    len = s_frame_heartbeat(buf, 2);
    cr_expect_eq(wire_unpack_frame(buf, len, &f, &reason), -1);
    cr_expect_str_eq(reason, "bad_version");
    cr_expect_null(f);

    Hartslag__Frame empty = HARTSLAG__FRAME__INIT;
    empty.version = WIRE_VERSION;
    len = hartslag__frame__pack(&empty, buf);
    cr_expect_eq(wire_unpack_frame(buf, len, &f, &reason), -1);
    cr_expect_str_eq(reason, "no_body");

    /* A body this code does not know (field 50, empty message). */
    buf[len] = 0x92; /* tag (50 << 3 | 2) as a varint: 0x92 0x03 */
    buf[len + 1] = 0x03;
    buf[len + 2] = 0;
    cr_expect_eq(wire_unpack_frame(buf, len + 3, &f, &reason), -1);
    cr_expect_str_eq(reason, "unknown_field");

    static const uint8_t garbage[] = {0x08};
    cr_expect_eq(wire_unpack_frame(garbage, sizeof garbage, &f, &reason), -1);
    cr_expect_str_eq(reason, "malformed");
    cr_expect_eq(wire_unpack_frame(NULL, 5, &f, &reason), -1);
    cr_expect_eq(wire_unpack_frame(buf, len, NULL, &reason), -1);
    cr_expect_null(f);
}

Test(wire, frame_cap_before_allocation)
{
    count_t count = {0};
    ProtobufCAllocator counting = {s_count_alloc, s_count_free, &count};
    Hartslag__Frame *f = NULL;
    const char *reason = NULL;

    /* One byte over the cap: refused with nothing allocated. */
    uint8_t *big = calloc(1, WIRE_FRAME_MAX + 1);
    cr_assert_not_null(big);
    cr_expect_eq(wire_unpack_frame_with(big, WIRE_FRAME_MAX + 1, &counting, &f, &reason), -1);
    cr_expect_str_eq(reason, "frame_too_large");
    cr_expect_eq(count.calls, 0);
    free(big);

    /* A Submit whose length prefix claims 2 GiB in a 16-byte frame. */
    static const uint8_t claim[] = {0x08, 0x01, 0x22, 0x80, 0x80, 0x80, 0x80, 0x08,
                                    'x',  'x',  'x',  'x',  'x',  'x',  'x',  'x'};
    cr_expect_eq(wire_unpack_frame_with(claim, sizeof claim, &counting, &f, &reason), -1);
    cr_expect_str_eq(reason, "malformed");
    cr_expect_leq(count.largest, 1024, "unpack allocated %zu bytes", count.largest);
    cr_expect_null(f);
}

Test(wire, pack_frame)
{
    Hartslag__Error e = HARTSLAG__ERROR__INIT;
    e.code = "malformed";
    Hartslag__Frame f = HARTSLAG__FRAME__INIT;
    f.version = WIRE_VERSION;
    f.body_case = HARTSLAG__FRAME__BODY_ERROR;
    f.error = &e;
    uint8_t *out = NULL;
    size_t len = 0;
    cr_assert_eq(wire_pack_frame(&f, &out, &len), 0);
    Hartslag__Frame *back = NULL;
    cr_assert_eq(wire_unpack_frame(out, len, &back, NULL), 0);
    cr_expect_str_eq(back->error->code, "malformed");
    hartslag__frame__free_unpacked(back, NULL);
    free(out);

    /* Larger than a frame may be: refused, nothing written. */
    char *detail = malloc(WIRE_FRAME_MAX + 1);
    cr_assert_not_null(detail);
    memset(detail, 'a', WIRE_FRAME_MAX);
    detail[WIRE_FRAME_MAX] = '\0';
    e.detail = detail;
    out = NULL;
    len = 0;
    cr_expect_eq(wire_pack_frame(&f, &out, &len), -1);
    cr_expect_null(out);
    cr_expect_eq(len, 0);
    free(detail);
    cr_expect_eq(wire_pack_frame(NULL, &out, &len), -1);
    cr_expect_eq(wire_pack_frame(&f, NULL, &len), -1);
}

Test(wire, now_ms)
{
    uint64_t now = wire_now_ms();
    cr_expect_gt(now, WIRE_TIME_MIN_MS);
    cr_expect_lt(now, WIRE_TIME_MAX_MS);
}

Test(wire, unknown_fields_inside_the_body_are_refused)
{
    /* Found by fuzz_frame: a Heartbeat carrying field 0 in an overlong
       encoding; protobuf-c keeps it but would pack bytes it cannot read. */
    const uint8_t frame[] = {0x08, 0x01, 0x82, 0x01, 0x07, 0x80,
                             0x00, 0x04, 0x08, 0x80, 0xa5, 0x32};
    Hartslag__Frame *out = NULL;
    const char *reason = NULL;
    cr_assert_eq(wire_unpack_frame(frame, sizeof frame, &out, &reason), -1);
    cr_assert_null(out);
    cr_assert_str_eq(reason, "unknown_field");
    /* A Deliver whose nested SealedSignal has an unknown field (99). */
    const uint8_t nested[] = {0x08, 0x01, 0x3a, 0x07, 0x0a, 0x03, 0x98, 0x06, 0x01, 0x10, 0x01};
    reason = NULL;
    cr_assert_eq(wire_unpack_frame(nested, sizeof nested, &out, &reason), -1);
    cr_assert(reason && (strcmp(reason, "unknown_field") == 0 || strcmp(reason, "malformed") == 0),
              "%s", reason ? reason : "-");
}

/* The varint reader of the audit tools: protobuf-c's encoding round trip,
   and a cut or overlong varint refused. */
Test(wire, varint_read)
{
    const uint64_t values[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        Hartslag__Heartbeat beat = HARTSLAG__HEARTBEAT__INIT;
        beat.sent_at_ms = values[i];
        uint8_t buf[16];
        size_t len = hartslag__heartbeat__pack(&beat, buf); /* tag byte, then the varint */
        const uint8_t *p = buf + 1;
        uint64_t got = 0;
        cr_assert_eq(wire_varint_read(&p, buf + len, &got), 0, "value %zu", i);
        cr_assert_eq(got, values[i]);
        cr_assert_eq(p, buf + len, "advanced past it");
        p = buf + 1;
        cr_assert_eq(wire_varint_read(&p, buf + len - 1, &got), -1, "cut short by one byte");
    }
    const uint8_t overlong[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    const uint8_t *p = overlong;
    uint64_t got;
    cr_assert_eq(wire_varint_read(&p, overlong + sizeof overlong, &got), -1);
}
