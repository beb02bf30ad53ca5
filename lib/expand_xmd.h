/*  expand_xmd: RFC 9380 §5.3.1 expand_message_xmd with SHA-512, the
    "uniform bytes" step under hash-to-group and hash-to-scalar (lib/oprf).

        b_0 = SHA-512(Z_pad || msg || I2OSP(len_in_bytes, 2) || I2OSP(0, 1) || DST_prime)
        b_1 = SHA-512(b_0 || I2OSP(1, 1) || DST_prime)
        b_i = SHA-512((b_0 XOR b_(i-1)) || I2OSP(i, 1) || DST_prime)
        out = the first len_in_bytes bytes of b_1 || ... || b_ell

    with Z_pad 128 zero bytes (SHA-512's block), DST_prime = DST ||
    I2OSP(len(DST), 1) and ell = ceil(len_in_bytes / 64).

    Limits, refused rather than bent: 1..EXPAND_XMD_OUT_MAX output bytes
    (ell <= 255) and a DST of 1..EXPAND_XMD_DST_MAX bytes. The RFC's
    hashing of an oversize DST (§5.3.3) is not implemented: every DST we use
    is a short constant, so a long one can only be a bug.

    The message may be secret (a private input, a key seed): every
    intermediate block and the hash state are wiped before returning.
*/
#ifndef HARTSLAG_EXPAND_XMD_H
#define HARTSLAG_EXPAND_XMD_H

#include <stddef.h>
#include <stdint.h>

#define EXPAND_XMD_OUT_MAX (255 * 64) /* ell <= 255 blocks of SHA-512 */
#define EXPAND_XMD_DST_MAX 255        /* bytes of domain separation tag */

/* Writes `out_len` uniform bytes of (msg, dst) to `out`. Returns 0, or -1
   (nothing written) for an out_len of 0 or above EXPAND_XMD_OUT_MAX, an
   empty DST or one above EXPAND_XMD_DST_MAX, or a NULL pointer where bytes
   are due (msg may be NULL when msg_len is 0). */
int expand_xmd_sha512(const uint8_t *msg, size_t msg_len, const uint8_t *dst, size_t dst_len,
                      uint8_t *out, size_t out_len) __attribute__((warn_unused_result));

#endif
