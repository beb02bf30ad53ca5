/*  deliver_frame: see deliver_frame.h. Field numbers follow
    proto/hartslag.proto: Frame.version = 1, Frame.deliver = 7,
    Deliver.signal = 1, Deliver.accepted_at_ms = 2. */
#include "deliver_frame.h"

#include <string.h>

static size_t s_varint_len(uint64_t value)
{
    size_t n = 1;
    while (value >= 0x80) {
        value >>= 7;
        n++;
    }
    return n;
}

static uint8_t *s_varint(uint8_t *p, uint64_t value)
{
    while (value >= 0x80) {
        *p++ = (uint8_t)(value | 0x80);
        value >>= 7;
    }
    *p++ = (uint8_t)value;
    return p;
}

size_t deliver_frame_encode(uint8_t *out, size_t cap, const uint8_t *sealed, size_t sealed_len,
                            uint64_t accepted_at_ms)
{
    size_t deliver_len =
        1 + s_varint_len(sealed_len) + sealed_len + 1 + s_varint_len(accepted_at_ms);
    size_t total = 2 + 1 + s_varint_len(deliver_len) + deliver_len;
    if (total > cap || sealed_len > cap)
        return 0;
    uint8_t *p = out;
    *p++ = 0x08; /* field 1 (version), varint */
    *p++ = 0x01;
    *p++ = 0x3a; /* field 7 (deliver), length-delimited */
    p = s_varint(p, deliver_len);
    *p++ = 0x0a; /* Deliver field 1 (signal), length-delimited */
    p = s_varint(p, sealed_len);
    memcpy(p, sealed, sealed_len);
    p += sealed_len;
    *p++ = 0x10; /* Deliver field 2 (accepted_at_ms), varint */
    p = s_varint(p, accepted_at_ms);
    return (size_t)(p - out);
}
