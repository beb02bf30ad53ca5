/*  deliver_frame: the hand-built Deliver frame equals protobuf-c's. */
#include "deliver_frame.h"

#include "hartslag.pb-c.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

Test(deliver_frame, equals_protobuf_c_encoding_for_many_sizes)
{
    cr_assert(sodium_init() >= 0);
    size_t sizes[] = {0, 1, 127, 128, 300, 16383, 16384, 70000};
    uint64_t times[] = {0, 1, 127, 128, 1764400000000ull, UINT64_MAX};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        for (size_t t = 0; t < sizeof times / sizeof *times; t++) {
            /* A real SealedSignal, packed, as the broker stores it. */
            uint8_t *ct = malloc(sizes[s] + 1);
            randombytes_buf(ct, sizes[s]);
            uint8_t nonce[24], sig[64];
            randombytes_buf(nonce, sizeof nonce);
            randombytes_buf(sig, sizeof sig);
            Hartslag__SealedSignal sealed = HARTSLAG__SEALED_SIGNAL__INIT;
            sealed.header.data = (uint8_t *)"hdr";
            sealed.header.len = 3;
            sealed.nonce.data = nonce;
            sealed.nonce.len = sizeof nonce;
            sealed.ciphertext.data = ct;
            sealed.ciphertext.len = sizes[s];
            sealed.signature.data = sig;
            sealed.signature.len = sizeof sig;
            size_t sealed_len = hartslag__sealed_signal__get_packed_size(&sealed);
            uint8_t *packed = malloc(sealed_len);
            hartslag__sealed_signal__pack(&sealed, packed);

            Hartslag__Deliver deliver = HARTSLAG__DELIVER__INIT;
            deliver.signal = &sealed;
            deliver.accepted_at_ms = times[t];
            Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
            frame.version = 1;
            frame.body_case = HARTSLAG__FRAME__BODY_DELIVER;
            frame.deliver = &deliver;
            size_t expect_len = hartslag__frame__get_packed_size(&frame);
            uint8_t *expect = malloc(expect_len);
            hartslag__frame__pack(&frame, expect);

            size_t cap = sealed_len + DELIVER_FRAME_OVERHEAD;
            uint8_t *ours = malloc(cap);
            size_t len = deliver_frame_encode(ours, cap, packed, sealed_len, times[t]);
            cr_assert_eq(len, expect_len, "size %zu time %zu", sizes[s], t);
            cr_assert_eq(memcmp(ours, expect, len), 0);
            cr_assert_eq(deliver_frame_encode(ours, len - 1, packed, sealed_len, times[t]), 0,
                         "refuses a buffer one byte short");
            free(ct);
            free(packed);
            free(expect);
            free(ours);
        }
    }
}
