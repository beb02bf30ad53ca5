/*  sigdomain: what each Ed25519 key signs, and the bytes that say so.

    A key that signs two kinds of message must never produce a signature
    that passes as the other kind. Every signed message therefore begins
    with a fixed prefix naming its purpose, and no prefix is a prefix of
    another (tests/unit/test_sigdomain.c checks the table and the bytes
    each signer really produces), so no two purposes can ever sign the same bytes. docs/protocol.md
    ("Signatures") is this table in prose.

      purpose      key                 signed bytes begin with
      signal       partner sign key    "hartslag/signal/v1\n", then the 32-byte digest
      checkpoint   broker sign key     "hartslag." (the origin line
                                       "hartslag.<partnership>/audit\n" of a
                                       C2SP signed note, audit_log_origin_for)
      cosignature  partner sign key    "cosignature/v1\n" (C2SP tlog-cosignature)
      withdraw     partner sign key    "hartslag/withdraw/v1\n"   (lib/instruction)
      alert-ack    coordinator's key   "hartslag/alert-ack/v1\n"  (lib/instruction)
      agreements   partner sign key    "hartslag/agreements/v1\n" (lib/agreements_sig)
      case-action  partner sign key    "hartslag/case-action/v1\n" (lib/case_action)

    Checkpoints and cosignatures keep the formats their specs fix
    (lib/checkpoint.c builds them); the Hartslag purposes are signed and
    verified here: tag || "\n" || payload.
*/
#ifndef HARTSLAG_SIGDOMAIN_H
#define HARTSLAG_SIGDOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGDOMAIN_PAYLOAD_MAX 4096 /* bytes after the tag line */
#define SIGDOMAIN_SIGBYTES 64      /* Ed25519 signature */
#define SIGDOMAIN_PUBLICKEYBYTES 32
#define SIGDOMAIN_SECRETKEYBYTES 64

typedef enum {
    SIGDOMAIN_SIGNAL = 0,  /* a sealed signal (lib/envelope.c) */
    SIGDOMAIN_CHECKPOINT,  /* the broker's audit checkpoint (C2SP signed note) */
    SIGDOMAIN_COSIGNATURE, /* a partner's cosignature of a checkpoint (C2SP) */
    SIGDOMAIN_WITHDRAW,    /* a sender's withdrawal (lib/instruction) */
    SIGDOMAIN_ALERT_ACK,   /* the coordinator's alert acknowledgement (lib/instruction) */
    SIGDOMAIN_AGREEMENTS,  /* a partner's signature of an agreements version (agreements_sig) */
    SIGDOMAIN_CASE_ACTION, /* a step in a case conference (lib/case_action) */
    SIGDOMAIN_COUNT_
} sigdomain_t;

/* One row of the table. */
typedef struct {
    const char *purpose; /* "signal", "checkpoint", ... */
    const char *key;     /* which key signs, in words */
    const char *prefix;  /* the bytes every signed message of this purpose begins with */
    bool tagged;         /* signed here as tag "\n" payload (false: a spec fixes the format) */
    bool reserved;       /* named, not yet signed by anything */
} sigdomain_info_t;

/* The row of `domain`, or NULL when out of range. */
const sigdomain_info_t *sigdomain_info(sigdomain_t domain);

/* Writes the signed bytes of a tagged purpose, prefix || payload, into
   `out`. Returns the length, or 0 for an untagged purpose, a payload over
   SIGDOMAIN_PAYLOAD_MAX or a too small `out`. */
size_t sigdomain_message(sigdomain_t domain, const uint8_t *payload, size_t len, uint8_t *out,
                         size_t out_max) __attribute__((warn_unused_result));

/* Signs payload under a tagged purpose. 0, or -1 (see sigdomain_message). */
int sigdomain_sign(sigdomain_t domain, const uint8_t *payload, size_t len,
                   const unsigned char sk[SIGDOMAIN_SECRETKEYBYTES],
                   unsigned char sig[SIGDOMAIN_SIGBYTES]) __attribute__((warn_unused_result));

/* 0 when `sig` is pk's signature of payload under the tagged purpose. */
int sigdomain_verify(sigdomain_t domain, const uint8_t *payload, size_t len,
                     const unsigned char sig[SIGDOMAIN_SIGBYTES],
                     const unsigned char pk[SIGDOMAIN_PUBLICKEYBYTES])
    __attribute__((warn_unused_result));

#endif
