/*  z85: ZeroMQ's Z85 text encoding of binary keys (RFC 32), the encoding of
    every key in a certificate or secret file. lib/ may not depend on
    libzmq, so this is a small local copy of the codec; tests cross-check it
    against zmq_z85_encode/zmq_z85_decode.
*/
#ifndef HARTSLAG_Z85_H
#define HARTSLAG_Z85_H

#include <stddef.h>
#include <stdint.h>

/* Text length (without NUL) of `n` bytes; `n` must be a multiple of 4. */
#define Z85_TEXT_LEN(n) ((n) / 4 * 5)

/* Encodes `len` bytes (a multiple of 4) into `text`, which must hold
   Z85_TEXT_LEN(len) + 1 bytes. Returns 0, or -1 when len is not a multiple of 4. */
int z85_encode(char *text, const uint8_t *bytes, size_t len);

/* Decodes exactly `len` bytes from `text`, which must be exactly
   Z85_TEXT_LEN(len) characters of the Z85 alphabet. Returns 0 or -1; on -1
   `bytes` is left zeroed. */
int z85_decode(uint8_t *bytes, size_t len, const char *text);

#endif
