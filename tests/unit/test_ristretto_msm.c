/*  Tests for lib/ristretto_msm: every sum is compared with the one
    libsodium computes term by term (crypto_scalarmult_ristretto255 and
    crypto_core_ristretto255_add), for random and edge-case scalars and
    batch sizes; decoding agrees with libsodium's canonical check on random
    and crafted strings; what the header says is refused is refused. */
#include <criterion/criterion.h>
#include <string.h>

#include <sodium.h>

#include "ristretto_msm.h"

static void s_init(void)
{
    cr_assert_geq(sodium_init(), 0);
}

TestSuite(ristretto_msm, .init = s_init);

/* The group order L, little-endian. */
static const uint8_t s_order[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

/* The sum libsodium's way; 0 or -1 (an identity term or sum). */
static int s_reference(uint8_t out[32], const uint8_t (*scalars)[32], const uint8_t (*elements)[32],
                       size_t n)
{
    static const uint8_t identity[32];
    uint8_t term[32];
    memset(out, 0, 32);
    for (size_t i = 0; i < n; i++) {
        if (crypto_scalarmult_ristretto255(term, scalars[i], elements[i]) != 0)
            return -1;
        if (i == 0)
            memcpy(out, term, 32);
        else
            cr_assert_eq(crypto_core_ristretto255_add(out, out, term), 0);
    }
    return memcmp(out, identity, 32) == 0 ? -1 : 0;
}

static void s_check(const uint8_t (*scalars)[32], const uint8_t (*elements)[32], size_t n)
{
    uint8_t want[32], got[32];
    int want_rc = s_reference(want, scalars, elements, n);
    cr_assert_eq(want_rc, 0, "the reference itself met an identity (n=%zu)", n);
    cr_assert_eq(ristretto_msm(got, scalars, elements, n), 0, "n=%zu", n);
    cr_assert_arr_eq(got, want, 32, "the sum of %zu terms differs from libsodium's", n);
}

Test(ristretto_msm, random_sums_equal_libsodium)
{
    static uint8_t scalars[RISTRETTO_MSM_MAX][32], elements[RISTRETTO_MSM_MAX][32];
    const size_t sizes[] = {1, 2, 3, 5, 8, 17, 64, RISTRETTO_MSM_MAX};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int round = 0; round < 4; round++) {
            for (size_t i = 0; i < sizes[s]; i++) {
                crypto_core_ristretto255_scalar_random(scalars[i]);
                crypto_core_ristretto255_random(elements[i]);
            }
            s_check((const uint8_t(*)[32])scalars, (const uint8_t(*)[32])elements, sizes[s]);
        }
}

Test(ristretto_msm, edge_scalars_equal_libsodium)
{
    /* Windows that borrow, carries that ripple to the top, and the
       largest values accepted. */
    uint8_t scalars[12][32];
    memset(scalars, 0, sizeof scalars);
    const uint8_t small[] = {1, 2, 15, 16, 17, 31, 32, 33};
    for (size_t i = 0; i < sizeof small; i++)
        scalars[i][0] = small[i];
    memcpy(scalars[8], s_order, 32);
    scalars[8][0] -= 1; /* L - 1 */
    memset(scalars[9], 0xff, 32);
    scalars[9][31] = 0x1f;  /* 2^253 - 1: all ones, borrows all the way up */
    scalars[10][31] = 0x10; /* 2^252 */
    memset(scalars[11], 0xaa, 32);
    scalars[11][31] = 0x0a;
    uint8_t element[32];
    for (size_t i = 0; i < 12; i++) {
        crypto_core_ristretto255_random(element);
        s_check((const uint8_t(*)[32])scalars[i], (const uint8_t(*)[32])element, 1);
    }
    /* All twelve at once, on distinct elements. */
    uint8_t elements[12][32];
    for (size_t i = 0; i < 12; i++)
        crypto_core_ristretto255_random(elements[i]);
    s_check((const uint8_t(*)[32])scalars, (const uint8_t(*)[32])elements, 12);
}

Test(ristretto_msm, generator_multiples_equal_the_base_multiplication)
{
    uint8_t one[32] = {1}, base[32], scalar[32], want[32], got[32];
    cr_assert_eq(crypto_scalarmult_ristretto255_base(base, one), 0);
    for (int i = 0; i < 32; i++) {
        crypto_core_ristretto255_scalar_random(scalar);
        cr_assert_eq(crypto_scalarmult_ristretto255_base(want, scalar), 0);
        cr_assert_eq(
            ristretto_msm(got, (const uint8_t(*)[32])scalar, (const uint8_t(*)[32])base, 1), 0);
        cr_assert_arr_eq(got, want, 32);
    }
}

Test(ristretto_msm, decoding_agrees_with_libsodium)
{
    uint8_t bytes[32];
    int valid = 0;
    for (int i = 0; i < 20000; i++) {
        randombytes_buf(bytes, sizeof bytes);
        if (i % 2)
            bytes[31] &= 0x7f;
        /* libsodium's check lets bit 255 pass; RFC 9496 does not. */
        int want = crypto_core_ristretto255_is_valid_point(bytes) && !(bytes[31] & 0x80);
        int got = ristretto_msm_decodes(bytes) == 0;
        cr_assert_eq(got, want, "string %d decoded %d, libsodium says %d", i, got, want);
        valid += got;
    }
    cr_assert_gt(valid, 100, "random strings should include valid encodings");
    for (int i = 0; i < 2000; i++) {
        crypto_core_ristretto255_random(bytes);
        cr_assert_eq(ristretto_msm_decodes(bytes), 0);
        uint8_t odd[32];
        memcpy(odd, bytes, 32);
        odd[0] |= 1; /* a negative s */
        cr_assert_eq(ristretto_msm_decodes(odd), -1);
    }
    /* p itself and p + 2 (non-canonical zero and two), and bit 255 on a valid element. */
    uint8_t p[32];
    memset(p, 0xff, 32);
    p[0] = 0xed;
    p[31] = 0x7f;
    cr_assert_eq(ristretto_msm_decodes(p), -1);
    p[0] = 0xef;
    cr_assert_eq(ristretto_msm_decodes(p), -1);
    crypto_core_ristretto255_random(bytes);
    bytes[31] |= 0x80;
    cr_assert_eq(ristretto_msm_decodes(bytes), -1);
    uint8_t identity[32] = {0};
    cr_assert_eq(ristretto_msm_decodes(identity), 0, "the identity is a canonical encoding");
}

Test(ristretto_msm, refuses_what_the_header_says)
{
    uint8_t scalars[2][32], elements[2][32], out[32];
    crypto_core_ristretto255_scalar_random(scalars[0]);
    crypto_core_ristretto255_random(elements[0]);
    crypto_core_ristretto255_random(elements[1]);
    /* d*P + (L-d)*P is the identity. */
    crypto_core_ristretto255_scalar_negate(scalars[1], scalars[0]);
    memcpy(elements[1], elements[0], 32);
    cr_assert_eq(
        ristretto_msm(out, (const uint8_t(*)[32])scalars, (const uint8_t(*)[32])elements, 2), -1,
        "an identity sum");
    crypto_core_ristretto255_random(elements[1]);
    cr_assert_eq(
        ristretto_msm(out, (const uint8_t(*)[32])scalars, (const uint8_t(*)[32])elements, 2), 0);
    cr_assert_eq(
        ristretto_msm(out, (const uint8_t(*)[32])scalars, (const uint8_t(*)[32])elements, 0), -1,
        "no terms");
    static uint8_t many[RISTRETTO_MSM_MAX + 1][32];
    cr_assert_eq(ristretto_msm(out, (const uint8_t(*)[32])many, (const uint8_t(*)[32])many,
                               RISTRETTO_MSM_MAX + 1),
                 -1, "too many terms");
    uint8_t big[32];
    memcpy(big, scalars[0], 32);
    big[31] = 0x20; /* 2^253 or more */
    memcpy(scalars[1], big, 32);
    cr_assert_eq(
        ristretto_msm(out, (const uint8_t(*)[32])scalars, (const uint8_t(*)[32])elements, 2), -1,
        "a scalar of 2^253");
    crypto_core_ristretto255_scalar_random(scalars[1]);
    elements[1][0] |= 1;
    cr_assert_eq(
        ristretto_msm(out, (const uint8_t(*)[32])scalars, (const uint8_t(*)[32])elements, 2), -1,
        "an element that does not decode");
}
