/*  expand_xmd: RFC 9380 expand_message_xmd (SHA-512); see expand_xmd.h. */
#include "expand_xmd.h"

#include <string.h>

#include <sodium.h>

#define B_IN_BYTES crypto_hash_sha512_BYTES /* 64 */
#define R_IN_BYTES 128                      /* SHA-512 block size */

_Static_assert(EXPAND_XMD_OUT_MAX == 255 * B_IN_BYTES, "ell <= 255");

/* H(prefix || I2OSP(i, 1) || DST_prime) for the blocks b_1 .. b_ell. */
static void s_block(const uint8_t prefix[B_IN_BYTES], uint8_t i, const uint8_t *dst, size_t dst_len,
                    uint8_t out[B_IN_BYTES])
{
    crypto_hash_sha512_state st;
    const uint8_t dst_len_byte = (uint8_t)dst_len;
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, prefix, B_IN_BYTES);
    crypto_hash_sha512_update(&st, &i, 1);
    crypto_hash_sha512_update(&st, dst, dst_len);
    crypto_hash_sha512_update(&st, &dst_len_byte, 1);
    crypto_hash_sha512_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

int expand_xmd_sha512(const uint8_t *msg, size_t msg_len, const uint8_t *dst, size_t dst_len,
                      uint8_t *out, size_t out_len)
{
    if (out_len == 0 || out_len > EXPAND_XMD_OUT_MAX || dst_len == 0 ||
        dst_len > EXPAND_XMD_DST_MAX || !dst || !out || (msg_len > 0 && !msg))
        return -1;

    const size_t ell = (out_len + B_IN_BYTES - 1) / B_IN_BYTES;
    static const uint8_t z_pad[R_IN_BYTES];
    const uint8_t l_i_b_str[2] = {(uint8_t)(out_len >> 8), (uint8_t)out_len};
    const uint8_t zero = 0;
    const uint8_t dst_len_byte = (uint8_t)dst_len;

    uint8_t b0[B_IN_BYTES], bi[B_IN_BYTES], x[B_IN_BYTES];
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, z_pad, sizeof z_pad);
    if (msg_len > 0)
        crypto_hash_sha512_update(&st, msg, msg_len);
    crypto_hash_sha512_update(&st, l_i_b_str, sizeof l_i_b_str);
    crypto_hash_sha512_update(&st, &zero, 1);
    crypto_hash_sha512_update(&st, dst, dst_len);
    crypto_hash_sha512_update(&st, &dst_len_byte, 1);
    crypto_hash_sha512_final(&st, b0);
    sodium_memzero(&st, sizeof st);

    /* b_1 hashes b_0 itself; b_i (i > 1) hashes b_0 XOR b_(i-1). */
    memcpy(x, b0, sizeof x);
    size_t done = 0;
    for (size_t i = 1; i <= ell; i++) {
        s_block(x, (uint8_t)i, dst, dst_len, bi);
        size_t take = out_len - done < B_IN_BYTES ? out_len - done : B_IN_BYTES;
        memcpy(out + done, bi, take);
        done += take;
        for (size_t j = 0; j < B_IN_BYTES; j++)
            x[j] = b0[j] ^ bi[j];
    }
    sodium_memzero(b0, sizeof b0);
    sodium_memzero(bi, sizeof bi);
    sodium_memzero(x, sizeof x);
    return 0;
}
