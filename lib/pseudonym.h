/*  pseudonym: a citizen's identifier -> a 32-byte pseudonym (DESIGN §6,
    issue 17, docs/pseudonyms.md).

    Scheme 2 (in use): the pseudonym is the RFC 9497 VOPRF output of the
    identifier under the pseudonym service's key (lib/oprf), truncated:

        input     = "hartslag/subject/v2" || 0x00 || kind || 0x00 || normalised id
        pseudonym = first 32 bytes of VOPRF-Finalize(input)

    The daemon builds the input and blinds it; the service evaluates it
    blind (lib/pseudonym_client). No partner holds the key.

    Scheme 1 (retired; kept for benchmarks and the tests that compare):

        pseudonym = BLAKE2b-256(key = pseudonym key (32 bytes),
                                "hartslag/subject/v1" || 0x00 || kind || 0x00 || normalised id)

    (crypto_generichash with a 32-byte key and 32-byte output; `kind` is the
    kind's name below, without a NUL; the normalised id is its text without
    a NUL.) The same subject gives the same pseudonym at every partner that
    holds the pseudonym key; the broker never holds it, and without it the
    small BSN space cannot be searched.

    Kinds and their normalisation (the normalised form is what is hashed):

    bsn      Burgerservicenummer. Spaces, dots and hyphens are ignored
             ("1112.22.333", "111 222 333"); what remains must be exactly 9
             digits that pass the elfproef
                 9*d1 + 8*d2 + 7*d3 + 6*d4 + 5*d5 + 4*d6 + 3*d7 + 2*d8 - d9 ≡ 0 (mod 11)
             and are not all zero. Normalised: the 9 digits.
             An 8-digit number is REFUSED, not padded with a leading 0: a
             9-digit BSN with one digit dropped would, padded, pass the
             elfproef about one time in eleven and silently link a signal
             to a different citizen. A source system that stores BSNs as
             integers must pad them itself, knowingly.

    address  Dutch postcode + huisnummer + optional toevoeging, case and
             spacing free: "6411 AB 12a", "6411ab 12 A", "6411AB 12-A" all
             normalise to "6411AB 12 A"; without toevoeging "6411AB 12".
             Grammar (spaces anywhere between the parts, none inside a part):
                 postcode    4 digits, first not 0, then 2 letters other
                             than SA, SD, SS (not used by PostNL)
                 huisnummer  1..99999 (leading zeros dropped)
                 toevoeging  optional, 1..4 letters/digits, after spaces, a
                             hyphen, or directly after the number when it
                             starts with a letter
             Normalised: "PPPPLL N" or "PPPPLL N T", uppercase, single spaces.

    case     A coordinator's case number: 1..64 of [A-Za-z0-9-/] after
             trimming surrounding spaces. Normalised: uppercase (case
             systems treat "zk-2025/001" and "ZK-2025/001" as one case).

    Error texts are static and never contain (part of) the identifier.
    Normalised identifiers on the stack are wiped after hashing.
*/
#ifndef HARTSLAG_PSEUDONYM_H
#define HARTSLAG_PSEUDONYM_H

#include <stddef.h>

#define PSEUDONYM_KEYBYTES 32       /* pseudonym key */
#define PSEUDONYM_BYTES 32          /* a pseudonym */
#define PSEUDONYM_HEXBYTES 65       /* hex form, with NUL */
#define PSEUDONYM_ID_MAX 256        /* longest identifier accepted as input, bytes */
#define PSEUDONYM_NORMALISED_MAX 64 /* longest normalised identifier, without NUL */
#define PSEUDONYM_TAG "hartslag/subject/v1"
#define PSEUDONYM_TAG_V2 "hartslag/subject/v2"
#define PSEUDONYM_SCHEME_KEYED 1 /* retired: keyed BLAKE2b with a shared key */
#define PSEUDONYM_SCHEME_OPRF 2  /* RFC 9497 VOPRF through the pseudonym service */
/* The OPRF input: tag, NUL, longest kind name ("address"), NUL, id. */
#define PSEUDONYM_INPUT_MAX (sizeof PSEUDONYM_TAG_V2 + 8 + PSEUDONYM_NORMALISED_MAX)
#define PSEUDONYM_OPRF_OUTPUTBYTES 64 /* the VOPRF output the pseudonym is cut from */

typedef enum {
    PSEUDONYM_BSN = 0, /* "bsn" */
    PSEUDONYM_ADDRESS, /* "address" */
    PSEUDONYM_CASE,    /* "case" */
    PSEUDONYM_KIND_COUNT_
} pseudonym_kind_t;

/* The kind's name ("bsn", "address", "case"), or NULL for an unknown kind. */
const char *pseudonym_kind_name(pseudonym_kind_t kind);

/* Parses a kind name. Returns 0 and sets *kind, or -1. */
int pseudonym_kind_from_string(const char *name, pseudonym_kind_t *kind)
    __attribute__((warn_unused_result));

/* Normalises `id` of `kind` into `out` (NUL-terminated; outlen must be at
   least PSEUDONYM_NORMALISED_MAX + 1 to hold every valid id). Returns 0, or
   -1 with *error (when not NULL) set to a static text that never contains
   the identifier. On -1, `out` holds an empty string when outlen > 0. */
int pseudonym_normalise(pseudonym_kind_t kind, const char *id, char *out, size_t outlen,
                        const char **error) __attribute__((warn_unused_result));

/* Derives the pseudonym of `id` of `kind` with the pseudonym key. Returns 0,
   or -1 with *error set as for pseudonym_normalise; `out` is only written
   on success. */
int pseudonym_derive(const unsigned char key[PSEUDONYM_KEYBYTES], pseudonym_kind_t kind,
                     const char *id, unsigned char out[PSEUDONYM_BYTES], const char **error)
    __attribute__((warn_unused_result));

/* Scheme 2: the OPRF input of `id` of `kind` into `input` (at most
   PSEUDONYM_INPUT_MAX bytes, *len set). Returns 0, or -1 with *error set as
   for pseudonym_normalise. The input holds the identifier: wipe it. */
int pseudonym_oprf_input(pseudonym_kind_t kind, const char *id,
                         unsigned char input[PSEUDONYM_INPUT_MAX], size_t *len, const char **error)
    __attribute__((warn_unused_result));

/* Scheme 2: the pseudonym cut from a VOPRF output. */
void pseudonym_from_oprf_output(const unsigned char output[PSEUDONYM_OPRF_OUTPUTBYTES],
                                unsigned char out[PSEUDONYM_BYTES]);

/* Lower-case hex of a pseudonym, NUL-terminated. */
void pseudonym_to_hex(const unsigned char pseudonym[PSEUDONYM_BYTES], char hex[PSEUDONYM_HEXBYTES]);

/* Parses exactly 64 hex digits (either case). Returns 0, or -1 leaving
   `out` untouched. */
int pseudonym_from_hex(const char *hex, unsigned char out[PSEUDONYM_BYTES])
    __attribute__((warn_unused_result));

#endif
