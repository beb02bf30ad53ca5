/*  z85: our codec must agree with libzmq's on every input. */
#include "z85.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>
#include <zmq.h>

Test(z85, agrees_with_libzmq_on_random_keys)
{
    cr_assert(sodium_init() >= 0);
    for (int round = 0; round < 1000; round++) {
        uint8_t key[32], back[32];
        char ours[41], theirs[41];
        randombytes_buf(key, sizeof key);
        cr_assert_eq(z85_encode(ours, key, 32), 0);
        cr_assert_not_null(zmq_z85_encode(theirs, key, 32));
        cr_assert_str_eq(ours, theirs);
        cr_assert_eq(z85_decode(back, 32, theirs), 0);
        cr_assert_eq(memcmp(back, key, 32), 0);
    }
}

Test(z85, rfc32_test_vector)
{
    const uint8_t bytes[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    char text[11];
    cr_assert_eq(z85_encode(text, bytes, 8), 0);
    cr_assert_str_eq(text, "HelloWorld");
}

Test(z85, rejects_bad_input)
{
    uint8_t out[8] = {0};
    char text[16];
    cr_assert_eq(z85_encode(text, out, 7), -1, "length not a multiple of 4");
    cr_assert_eq(z85_decode(out, 8, "HelloWorl"), -1, "short text");
    cr_assert_eq(z85_decode(out, 8, "HelloWorld!"), -1, "long text");
    cr_assert_eq(z85_decode(out, 8, "Hello~orld"), -1, "character outside the alphabet");
    cr_assert_eq(z85_decode(out, 4, "%%%%%"), -1, "value above 2^32");
    cr_assert_eq(z85_decode(out, 8, "Hello orld"), -1, "space");
}
