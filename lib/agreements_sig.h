/*  agreements_sig: a partner's detached signature of one agreements version.

    What is signed (domain-separated by lib/sigdomain, purpose "agreements"):

        "hartslag/agreements/v1\n"
        "partnership " PARTNERSHIP "\n"
        "version " VERSION "\n"                 (decimal, no leading zeros)
        "sha256 " HEX "\n"                      (64 lowercase hex digits: the file's exact bytes)

    by the signer's Ed25519 sign key (the key in its certificate). The
    signature file (FILE.sig.d/ORG.sig, docs/agreements.md) is exactly these
    six lines, LF-terminated, in this order, at most AGREEMENTS_SIG_FILE_MAX
    bytes:

        hartslag-agreements-signature v1
        partnership PARTNERSHIP
        version VERSION
        sha256 HEX
        signer ORG
        signature HEX                           (128 lowercase hex digits)

    Nothing else is accepted (no blank lines, no comments, no CR), so one
    signature has one encoding. Parsing checks only the form; whether it
    belongs to a file and a key is agreements_sig_verify.
*/
#ifndef HARTSLAG_AGREEMENTS_SIG_H
#define HARTSLAG_AGREEMENTS_SIG_H

#include "agreements.h"
#include "names.h"

#include <stddef.h>
#include <stdint.h>

#define AGREEMENTS_SIG_FILE_MAX 1024 /* bytes in one signature file */
#define AGREEMENTS_SIG_BYTES 64      /* Ed25519 */
#define AGREEMENTS_SIG_ERR_MAX 256   /* room for a reason */

/* One parsed signature file. */
typedef struct {
    char partnership[NAMES_TOKEN_MAX + 1];   /* as in the agreements file */
    uint64_t version;                        /* > 0 */
    uint8_t hash[AGREEMENTS_HASH_BYTES];     /* SHA-256 of the signed file */
    char signer[NAMES_ORG_MAX + 1];          /* the signing org */
    uint8_t signature[AGREEMENTS_SIG_BYTES]; /* Ed25519 over the signed bytes */
} agreements_sig_t;

/* The payload signed under SIGDOMAIN_AGREEMENTS (without the tag line).
   Returns its length, or 0 when it does not fit in `out`. */
size_t agreements_sig_payload(const char *partnership, uint64_t version,
                              const uint8_t hash[AGREEMENTS_HASH_BYTES], char *out, size_t out_max);

/* Signs `agreements` as `signer` with the 64-byte Ed25519 secret key. 0 / -1. */
int agreements_sig_sign(const agreements_t *agreements, const char *signer, const uint8_t *sk,
                        agreements_sig_t *out) __attribute__((warn_unused_result));

/* The signature file text of `sig`, into out. Returns its length, 0 when it does not fit. */
size_t agreements_sig_format(const agreements_sig_t *sig, char *out, size_t out_max);

/* Parses a signature file. 0, or -1 with one line of reason in err; out
   untouched on failure. */
int agreements_sig_parse(const char *text, size_t len, agreements_sig_t *out, char *err,
                         size_t errlen) __attribute__((warn_unused_result));

/* 0 when `sig` is a valid signature of exactly `agreements` by the holder
   of `pk` (32-byte Ed25519 public key); else -1 with the reason: another
   partnership, another version, another file (hash), or a signature that
   does not verify with that key. */
int agreements_sig_verify(const agreements_sig_t *sig, const agreements_t *agreements,
                          const uint8_t *pk, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
