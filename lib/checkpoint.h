/*  checkpoint: the audit log's signed tree heads and the partners'
    cosignatures (DESIGN §9), as C2SP signed notes:

        c2sp.org/signed-note, c2sp.org/tlog-checkpoint, c2sp.org/tlog-cosignature

    A checkpoint note, as the broker signs it:

        hartslag.passart-heerlen/audit\n                       origin
        1000\n                                                 tree size, decimal
        <base64 of the 32-byte root hash>\n                    root
        \n                                                     blank line
        — hartslag.passart-heerlen/audit <base64(key ID || Ed25519 sig)>\n

    The body (the first three lines, with their newlines) is what is signed.
    The log's key name is its origin. Key IDs (4 bytes) are

        SHA-256(key name || "\n" || type || 32-byte Ed25519 public key)[:4]

    with type 0x01 for the log's signature and 0x04 for a cosignature.

    A cosignature (a partner daemon's statement that it checked this
    checkpoint's consistency with everything it saw before) is one more
    signature line,

        — <cosigner name> <base64(key ID || 8-byte big-endian time || sig)>\n

    where the Ed25519 signature covers

        "cosignature/v1\ntime <unix seconds>\n" || body

    Parsing follows c2sp.org/signed-note, so that notes cosigned by public
    witnesses open as they do in other implementations (Go's
    golang.org/x/mod/sumdb/note):
    - a note is valid UTF-8 with no control character but newline, at most
      CHECKPOINT_OPEN_MAX bytes, with at most CHECKPOINT_SIGS_MAX signature
      lines (the spec asks for at least 16; Go accepts 100). A signature
      line has no cap of its own: post-quantum signatures are some 5 kB;
    - the text ends at the last blank line; the note ends in a newline;
    - key names in signature lines: non-empty, no Unicode space, no '+'
      (any other UTF-8: a witness's name is not ours to choose);
    - signatures in padded base64 (RFC 4648 §4), decoding to the 4-byte key
      ID and at least one byte; canonical (zero padding bits).
    Hartslag's profile of what it signs and checks, beyond the spec:
    - the text is exactly three lines, a checkpoint body: no extension
      lines (we never write any, and they are not auditable);
    - origins and the key names Hartslag checks: 1..CHECKPOINT_NAME_MAX
      printable ASCII bytes, no space, no '+';
    - tree size without leading zeros, at most 2^64 - 1; root hash in
      canonical padded base64;
    - a note with two lines from the same key (name and key ID) is
      refused when that key is checked, or when adding a line.
    Lines from keys the caller did not ask about are checked for syntax only
    and otherwise ignored (signed-note: "verifiers MUST ignore signatures
    from unknown keys"). Every line from the asked-about key must verify.
    Parsing uses a fixed, small amount of stack whatever the note's size.

    All outputs are written only on success. Texts written are
    NUL-terminated; lengths exclude the NUL.
*/
#ifndef HARTSLAG_CHECKPOINT_H
#define HARTSLAG_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#define CHECKPOINT_NOTE_MAX 4096         /* a note Hartslag signs and stores, bytes */
#define CHECKPOINT_OPEN_MAX (256 * 1024) /* a note read (opened, cosigned), bytes */
#define CHECKPOINT_SIGS_MAX 100          /* signature lines per note read */
#define CHECKPOINT_NAME_MAX 255          /* origin / key name, bytes */
#define CHECKPOINT_HASHBYTES 32          /* root hash */
#define CHECKPOINT_PUBLICKEYBYTES 32     /* Ed25519 public key */
#define CHECKPOINT_SECRETKEYBYTES 64     /* Ed25519 secret key, libsodium layout */
#define CHECKPOINT_KEYIDBYTES 4
#define CHECKPOINT_TYPE_ED25519 0x01     /* signed-note Ed25519 (the log) */
#define CHECKPOINT_TYPE_COSIGNATURE 0x04 /* tlog-cosignature v1, timestamped Ed25519 */
#define CHECKPOINT_TIME_MAX INT64_MAX    /* latest cosignature timestamp (2^63 - 1) */
/* Longest body: origin, 20-digit size, 44 base64 characters, newlines. */
#define CHECKPOINT_BODY_MAX (CHECKPOINT_NAME_MAX + 1 + 20 + 1 + 44 + 1)
/* Longest signature line we write: em dash (3), space, name, space,
   base64 of 4 + 8 + 64 bytes (104), newline. */
#define CHECKPOINT_LINE_MAX (3 + 1 + CHECKPOINT_NAME_MAX + 1 + 104 + 1)

typedef enum {
    CHECKPOINT_OK = 0,
    CHECKPOINT_ERR_ARGS,           /* NULL or invalid argument */
    CHECKPOINT_ERR_TOO_LARGE,      /* note or line over its cap */
    CHECKPOINT_ERR_ENCODING,       /* invalid UTF-8, or a control character (NUL, CR...) */
    CHECKPOINT_ERR_NO_SEPARATOR,   /* no single blank line between body and signatures */
    CHECKPOINT_ERR_BODY,           /* malformed origin, size or root */
    CHECKPOINT_ERR_SIGNATURE_LINE, /* malformed signature line */
    CHECKPOINT_ERR_TOO_MANY,       /* more than CHECKPOINT_SIGS_MAX signature lines */
    CHECKPOINT_ERR_ORIGIN,         /* not the expected origin */
    CHECKPOINT_ERR_NOT_SIGNED,     /* no signature from the expected key */
    CHECKPOINT_ERR_BAD_SIGNATURE,  /* a signature from the expected key does not verify */
    CHECKPOINT_ERR_DUPLICATE,      /* two signature lines from one key */
    CHECKPOINT_ERR_TIME,           /* cosignature time above CHECKPOINT_TIME_MAX */
    CHECKPOINT_ERR_BUFFER,         /* output buffer too small */
    CHECKPOINT_ERR_COUNT_
} checkpoint_err_t;

/* A verified checkpoint: what the body says. */
typedef struct {
    char origin[CHECKPOINT_NAME_MAX + 1];     /* origin line, NUL-terminated */
    uint64_t size;                            /* tree size */
    unsigned char root[CHECKPOINT_HASHBYTES]; /* root hash at that size */
} checkpoint_t;

/* Static English text for an error value; never NULL. */
const char *checkpoint_strerror(checkpoint_err_t err);

/* Key ID of `name` with signature `type` and public key `pk`. Returns 0,
   or -1 for an invalid name. */
int checkpoint_key_id(const char *name, unsigned char type,
                      const unsigned char pk[CHECKPOINT_PUBLICKEYBYTES],
                      unsigned char id[CHECKPOINT_KEYIDBYTES]) __attribute__((warn_unused_result));

/* Writes the note body "<origin>\n<size>\n<base64 root>\n" of `cp` into
   `body` (body_max >= CHECKPOINT_BODY_MAX + 1 always suffices). */
checkpoint_err_t checkpoint_body(const checkpoint_t *cp, char *body, size_t body_max,
                                 size_t *body_len) __attribute__((warn_unused_result));

/* Broker: formats `cp` and signs it with the log key `sk` under the key
   name cp->origin, writing the whole note (body, blank line, signature
   line) into `note`. */
checkpoint_err_t checkpoint_sign(const checkpoint_t *cp,
                                 const unsigned char sk[CHECKPOINT_SECRETKEYBYTES], char *note,
                                 size_t note_max, size_t *note_len)
    __attribute__((warn_unused_result));

/* Daemon, auditor: parses `note` (note_len bytes, no NUL needed) strictly,
   checks that its origin is `origin` and that it carries a valid
   signature of key name `origin` with public key `pk`; fills *cp. Other
   signature lines (cosignatures) are checked for syntax only. */
checkpoint_err_t checkpoint_open(const char *note, size_t note_len, const char *origin,
                                 const unsigned char pk[CHECKPOINT_PUBLICKEYBYTES],
                                 checkpoint_t *cp) __attribute__((warn_unused_result));

/* Daemon: cosigns checkpoint `cp` (verified first with checkpoint_open and
   a consistency proof) as `name` with key `sk` at `timestamp` (Unix
   seconds), writing one signature line, newline included, into `line`. */
checkpoint_err_t checkpoint_cosign(const checkpoint_t *cp, const char *name,
                                   const unsigned char sk[CHECKPOINT_SECRETKEYBYTES],
                                   uint64_t timestamp, char *line, size_t line_max,
                                   size_t *line_len) __attribute__((warn_unused_result));

/* Broker: checks that `line` (line_len bytes: exactly one signature line
   ending in a newline) is a valid cosignature of `cp` by `name` with
   public key `pk`; *timestamp (may be NULL) receives its time. */
checkpoint_err_t checkpoint_cosignature_verify(const checkpoint_t *cp, const char *line,
                                               size_t line_len, const char *name,
                                               const unsigned char pk[CHECKPOINT_PUBLICKEYBYTES],
                                               uint64_t *timestamp)
    __attribute__((warn_unused_result));

/* Auditor: checks that `note` carries a valid cosignature of its body by
   `name` with public key `pk`. Verifies the cosignature only: call
   checkpoint_open for the log's own signature. */
checkpoint_err_t checkpoint_cosigned(const char *note, size_t note_len, const char *name,
                                     const unsigned char pk[CHECKPOINT_PUBLICKEYBYTES],
                                     uint64_t *timestamp) __attribute__((warn_unused_result));

/* Writes `note` with signature line `line` appended into `out`.
   Both are checked for syntax (not signatures: verify the line first);
   refused when the result would exceed CHECKPOINT_OPEN_MAX or
   CHECKPOINT_SIGS_MAX or the note already has a
   line from the same key name and key ID. `out` must not overlap `note`. */
checkpoint_err_t checkpoint_add_signature(const char *note, size_t note_len, const char *line,
                                          size_t line_len, char *out, size_t out_max,
                                          size_t *out_len) __attribute__((warn_unused_result));

#endif
