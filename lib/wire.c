/*  wire: capped unpacking and validation of frames and signal headers;
    see wire.h. */
#include "wire.h"

#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "names.h"

_Static_assert(WIRE_SIGNAL_ID_BYTES == ENVELOPE_SIGNAL_ID_BYTES, "signal id size");
_Static_assert(WIRE_SUBJECT_BYTES == ENVELOPE_SUBJECT_BYTES, "subject size");
_Static_assert(WIRE_FIELDS_MAX <= 64, "fields cap");

static int s_fail(const char **reason, const char *token)
{
    if (reason)
        *reason = token;
    return -1;
}

/* True when `message` or any message inside it carries fields this schema
   does not know. The schema has no recursive types, so the depth is that
   of the schema. A frame must be read the same way by everyone, and be
   packed again to the bytes it came in (the fuzzer found a field 0 in an
   overlong encoding that protobuf-c keeps but will not read back). */
static bool s_has_unknown(const ProtobufCMessage *message)
{
    if (message->n_unknown_fields > 0)
        return true;
    const ProtobufCMessageDescriptor *desc = message->descriptor;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        if (field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *base = (const char *)message;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + field->quantifier_offset);
            ProtobufCMessage *const *items =
                *(ProtobufCMessage *const *const *)(base + field->offset);
            for (size_t k = 0; k < n; k++)
                if (items[k] && s_has_unknown(items[k]))
                    return true;
        } else {
            if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                *(const uint32_t *)(base + field->quantifier_offset) != field->id)
                continue;
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + field->offset);
            if (sub && s_has_unknown(sub))
                return true;
        }
    }
    return false;
}

int wire_unpack_frame_with(const uint8_t *buf, size_t len, ProtobufCAllocator *allocator,
                           Hartslag__Frame **out, const char **reason)
{
    if (!out || (!buf && len > 0))
        return s_fail(reason, "malformed");
    /* The cap comes first: protobuf-c would allocate on the sender's word. */
    if (len > WIRE_FRAME_MAX)
        return s_fail(reason, "frame_too_large");
    Hartslag__Frame *frame = hartslag__frame__unpack(allocator, len, buf);
    if (!frame)
        return s_fail(reason, "malformed");
    const char *why = NULL;
    if (s_has_unknown(&frame->base))
        why = "unknown_field";
    else if (frame->version != WIRE_VERSION)
        why = "bad_version";
    else if (frame->body_case == HARTSLAG__FRAME__BODY__NOT_SET)
        why = "no_body";
    if (why) {
        hartslag__frame__free_unpacked(frame, allocator);
        return s_fail(reason, why);
    }
    *out = frame;
    return 0;
}

int wire_unpack_frame(const uint8_t *buf, size_t len, Hartslag__Frame **out, const char **reason)
{
    return wire_unpack_frame_with(buf, len, NULL, out, reason);
}

int wire_pack_frame(const Hartslag__Frame *frame, uint8_t **out, size_t *len)
{
    if (!frame || !out || !len)
        return -1;
    size_t size = hartslag__frame__get_packed_size(frame);
    if (size == 0 || size > WIRE_FRAME_MAX)
        return -1;
    uint8_t *buf = malloc(size);
    if (!buf)
        return -1;
    if (hartslag__frame__pack(frame, buf) != size) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = size;
    return 0;
}

static bool s_is_urgency(Hartslag__Urgency urgency)
{
    switch (urgency) {
    case HARTSLAG__URGENCY__URGENCY_ROUTINE:
    case HARTSLAG__URGENCY__URGENCY_PRIORITY:
    case HARTSLAG__URGENCY__URGENCY_URGENT:
        return true;
    default:
        return false;
    }
}

int wire_validate_header(const Hartslag__SignalHeader *h, const char **reason)
{
    if (!h)
        return s_fail(reason, "malformed");
    if (h->signal_id.len != WIRE_SIGNAL_ID_BYTES || !h->signal_id.data)
        return s_fail(reason, "bad_signal_id");
    if (!names_is_org(h->sender))
        return s_fail(reason, "bad_sender");
    if (!names_is_user(h->sender_user))
        return s_fail(reason, "bad_sender_user");
    if (h->n_recipients == 0)
        return s_fail(reason, "no_recipients");
    if (h->n_recipients > ENVELOPE_RECIPIENTS_MAX)
        return s_fail(reason, "too_many_recipients");
    for (size_t i = 0; i < h->n_recipients; i++) {
        const char *r = h->recipients[i];
        if (!names_is_org(r))
            return s_fail(reason, "bad_recipient");
        if (strcmp(r, h->sender) == 0)
            return s_fail(reason, "recipient_is_sender");
        /* n <= 64: the quadratic scan is at most 2016 short compares. */
        for (size_t j = 0; j < i; j++)
            if (strcmp(r, h->recipients[j]) == 0)
                return s_fail(reason, "duplicate_recipient");
    }
    if (!names_is_token(h->signal_type))
        return s_fail(reason, "bad_signal_type");
    if (!names_is_token(h->purpose))
        return s_fail(reason, "bad_purpose");
    if (h->subject.len != WIRE_SUBJECT_BYTES || !h->subject.data)
        return s_fail(reason, "bad_subject");
    /* One subject, one scheme: scheme 2 names the service key version that
       made the pseudonym, scheme 1 (or none stated) has none. */
    uint32_t scheme = h->has_subject_scheme ? h->subject_scheme : 1;
    if (scheme != 1 && scheme != 2)
        return s_fail(reason, "unknown_subject_scheme");
    if (scheme == 2 && (!h->has_subject_key_version || h->subject_key_version == 0))
        return s_fail(reason, "subject_key_version_missing");
    if (scheme == 1 && h->has_subject_key_version)
        return s_fail(reason, "mixed_subject_versions");
    if (h->has_case_id && (h->case_id.len != WIRE_SIGNAL_ID_BYTES || !h->case_id.data))
        return s_fail(reason, "bad_case_id");
    /* An action's text or note, and a re-share, exist only inside a case. */
    if (h->has_case_item &&
        (!h->has_case_id || h->case_item.len != WIRE_SIGNAL_ID_BYTES || !h->case_item.data))
        return s_fail(reason, "bad_case_item");
    if (h->has_reshare_of &&
        (!h->has_case_id || h->reshare_of.len != WIRE_SIGNAL_ID_BYTES || !h->reshare_of.data))
        return s_fail(reason, "bad_reshare_of");
    if (h->n_fields > WIRE_FIELDS_MAX)
        return s_fail(reason, "too_many_fields");
    for (size_t i = 0; i < h->n_fields; i++) {
        if (!names_is_token(h->fields[i]))
            return s_fail(reason, "bad_field");
        if (i > 0) {
            int order = strcmp(h->fields[i - 1], h->fields[i]);
            if (order == 0)
                return s_fail(reason, "duplicate_field");
            if (order > 0)
                return s_fail(reason, "fields_not_sorted");
        }
    }
    if (h->created_at_ms < WIRE_TIME_MIN_MS || h->created_at_ms > WIRE_TIME_MAX_MS)
        return s_fail(reason, "bad_created_at");
    if (h->valid_until_ms <= h->created_at_ms)
        return s_fail(reason, "bad_valid_until");
    if (h->valid_until_ms - h->created_at_ms > WIRE_VALIDITY_MAX_MS)
        return s_fail(reason, "validity_too_long");
    if (!s_is_urgency(h->urgency))
        return s_fail(reason, "bad_urgency");
    return 0;
}

int wire_check_header(const uint8_t *header_bytes, size_t len, Hartslag__SignalHeader **out,
                      const char **reason)
{
    if (!out || (!header_bytes && len > 0))
        return s_fail(reason, "malformed");
    if (len > ENVELOPE_HEADER_MAX)
        return s_fail(reason, "header_too_large");
    Hartslag__SignalHeader *h = hartslag__signal_header__unpack(NULL, len, header_bytes);
    if (!h)
        return s_fail(reason, "malformed");
    const char *why = NULL;
    if (h->base.n_unknown_fields > 0)
        why = "unknown_field";
    else {
        /* Canonical: re-packing gives back exactly the bytes we were given.
           This rejects duplicate singular fields, non-minimal varints and
           strings with an embedded NUL (protobuf-c would cut them short). */
        uint8_t again[ENVELOPE_HEADER_MAX];
        size_t size = hartslag__signal_header__get_packed_size(h);
        if (size != len || hartslag__signal_header__pack(h, again) != len ||
            memcmp(again, header_bytes, len) != 0)
            why = "non_canonical";
    }
    if (!why) {
        const char *rule = NULL;
        if (wire_validate_header(h, &rule) != 0)
            why = rule;
    }
    if (why) {
        hartslag__signal_header__free_unpacked(h, NULL);
        return s_fail(reason, why);
    }
    *out = h;
    return 0;
}

int wire_peek_signal_id(const uint8_t *header_bytes, size_t len, uint8_t id[16])
{
    if (!header_bytes || len == 0 || len > ENVELOPE_HEADER_MAX)
        return -1;
    Hartslag__SignalHeader *h = hartslag__signal_header__unpack(NULL, len, header_bytes);
    if (!h)
        return -1;
    int rc = -1;
    if (h->signal_id.len == WIRE_SIGNAL_ID_BYTES) {
        memcpy(id, h->signal_id.data, WIRE_SIGNAL_ID_BYTES);
        rc = 0;
    }
    hartslag__signal_header__free_unpacked(h, NULL);
    return rc;
}

int wire_check_sealed(const Hartslag__SealedSignal *s, const Hartslag__SignalHeader *h,
                      const char **reason)
{
    if (!s || !h)
        return s_fail(reason, "malformed");
    if (s->base.n_unknown_fields > 0)
        return s_fail(reason, "unknown_field");
    if (s->header.len > ENVELOPE_HEADER_MAX)
        return s_fail(reason, "header_too_large");
    if (s->nonce.len != ENVELOPE_NONCEBYTES)
        return s_fail(reason, "bad_nonce");
    if (s->ciphertext.len < ENVELOPE_ABYTES || s->ciphertext.len > ENVELOPE_CIPHERTEXT_MAX)
        return s_fail(reason, "bad_ciphertext");
    if (s->signature.len != ENVELOPE_SIGBYTES)
        return s_fail(reason, "bad_signature_length");
    if (s->key_commitment.len != ENVELOPE_COMMITBYTES)
        return s_fail(reason, "bad_key_commitment");
    if (s->n_wrapped_keys != h->n_recipients)
        return s_fail(reason, "wrapped_keys_count");
    for (size_t i = 0; i < s->n_wrapped_keys; i++) {
        const Hartslag__WrappedKey *w = s->wrapped_keys[i];
        if (w->base.n_unknown_fields > 0)
            return s_fail(reason, "unknown_field");
        if (!w->recipient || strcmp(w->recipient, h->recipients[i]) != 0)
            return s_fail(reason, "wrapped_key_recipient");
        if (w->nonce.len != ENVELOPE_WRAP_NONCEBYTES || w->wrapped.len != ENVELOPE_WRAPPEDBYTES)
            return s_fail(reason, "bad_wrapped_key");
    }
    return 0;
}

uint64_t wire_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int wire_varint_read(const uint8_t **p, const uint8_t *end, uint64_t *value)
{
    *value = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t byte = *(*p)++;
        *value |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return 0;
    }
    return -1;
}
