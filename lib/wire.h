/*  wire: reading hostile frames and signal headers off the network.

    Everything that arrives over the ZeroMQ socket passes through here
    before any other code looks at it. The rules (sshbuf habit):

    - the length of the packed bytes is checked against a named cap
      BEFORE protobuf-c sees them: protobuf-c's unpack has no limits of its
      own, so the cap is what bounds every allocation it makes (each
      allocation is at most a small constant times the input length);
    - after unpacking, every length and character set is checked;
    - on failure nothing is returned: `*out` stays untouched, and `*reason`
      (when not NULL) is set to a short machine-readable token such as
      "bad_recipient" that is safe to log, audit and send back in an Error
      or Denied frame (it never contains content or identifiers).

    A SignalHeader must also be in canonical encoding: the bytes must be
    exactly what protobuf-c packs from the unpacked message (fields in
    number order, minimal varints, no unknown or repeated singular fields,
    no string with an embedded NUL). The header is signed and audited as
    bytes, so there is exactly one reading of it for everyone.

    Pure functions; no globals. The returned messages are freed with the
    matching protobuf-c free_unpacked function (allocator NULL).
*/
#ifndef HARTSLAG_WIRE_H
#define HARTSLAG_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "hartslag.pb-c.h"

#define WIRE_VERSION 1u /* Frame.version this code speaks */

/* Largest packed Frame: a Submit or Deliver of the largest sealed signal,
   plus room for the frame's own fields. Also the value for ZMQ_MAXMSGSIZE. */
#define WIRE_FRAME_MAX (ENVELOPE_SEALED_MAX + 1024)

#define WIRE_SIGNAL_ID_BYTES 16 /* SignalHeader.signal_id */
#define WIRE_SUBJECT_BYTES 32   /* SignalHeader.subject (a pseudonym) */
#define WIRE_FIELDS_MAX 64      /* SignalHeader.fields entries */

/* Sanity bounds for timestamps (ms since the Unix epoch): 2024-01-01 and
   2100-01-01 UTC. They also keep `created + WIRE_VALIDITY_MAX_MS` far from
   overflow. How far a sender's clock may drift from ours is policy for the
   caller (broker, daemon), not a wire rule. */
#define WIRE_TIME_MIN_MS 1704067200000ull
#define WIRE_TIME_MAX_MS 4102444800000ull

/* A signal lapses at most 2 years (731 days, a leap year included) after
   it was created. */
#define WIRE_VALIDITY_MAX_MS (731ull * 24 * 60 * 60 * 1000)

/* Unpacks one Frame of `len` bytes. Refuses "frame_too_large" when len >
   WIRE_FRAME_MAX (before anything is allocated), "malformed" when
   protobuf-c cannot read it (or runs out of memory), "unknown_field" for
   unknown top-level fields, "bad_version" unless version == WIRE_VERSION,
   "no_body" when no known message is set. On success *out is the frame;
   the caller frees it with hartslag__frame__free_unpacked(f, NULL). A
   Submit or Deliver frame still needs wire_check_header and
   wire_check_sealed on its signal. */
int wire_unpack_frame(const uint8_t *buf, size_t len, Hartslag__Frame **out, const char **reason)
    __attribute__((warn_unused_result));

/* Same, with a protobuf-c allocator (NULL = default); the frame must then
   be freed with the same allocator. Lets tests count what unpack allocates. */
int wire_unpack_frame_with(const uint8_t *buf, size_t len, ProtobufCAllocator *allocator,
                           Hartslag__Frame **out, const char **reason)
    __attribute__((warn_unused_result));

/* Packs `frame` into a new buffer (caller frees with free()). Refuses
   frames larger than WIRE_FRAME_MAX. Returns 0 or -1; on -1 nothing is
   allocated and *out, *len are untouched. */
int wire_pack_frame(const Hartslag__Frame *frame, uint8_t **out, size_t *len)
    __attribute__((warn_unused_result));

/* Unpacks and validates a serialized SignalHeader (SealedSignal.header).
   Checks, with the reason token given when a rule fails:
     len <= ENVELOPE_HEADER_MAX ........................ header_too_large
     protobuf-c can read it ............................ malformed
     no unknown fields, canonical encoding ............. unknown_field, non_canonical
   and then every rule of wire_validate_header. On success *out is the
   header (free with hartslag__signal_header__free_unpacked(h, NULL)). */
int wire_check_header(const uint8_t *header_bytes, size_t len, Hartslag__SignalHeader **out,
                      const char **reason) __attribute__((warn_unused_result));

/* The signal id of a header that wire_check_header refused, when one can
   still be read (the header unpacks and its id is 16 bytes): so that a
   Denied names the signal its sender means. 0 with id[16] filled, or -1. */
int wire_peek_signal_id(const uint8_t *header_bytes, size_t len, uint8_t id[16]);

/* The rules for a SignalHeader's values, used on what arrives
   (wire_check_header) and on what is about to be sealed (envelope_seal):
     signal_id exactly 16 bytes ........................ bad_signal_id
     sender names_is_org ............................... bad_sender
     sender_user names_is_user ......................... bad_sender_user
     recipients: at least 1 ............................ no_recipients
                 at most ENVELOPE_RECIPIENTS_MAX ....... too_many_recipients
                 each names_is_org ..................... bad_recipient
                 none equal to the sender .............. recipient_is_sender
                 distinct .............................. duplicate_recipient
     signal_type names_is_token ........................ bad_signal_type
     purpose names_is_token ............................ bad_purpose
     subject exactly 32 bytes .......................... bad_subject
     case_id, when present, exactly 16 bytes ........... bad_case_id
     fields: at most WIRE_FIELDS_MAX ................... too_many_fields
             each names_is_token ....................... bad_field
             no two equal .............................. duplicate_field
             strictly ascending (strcmp) ............... fields_not_sorted
     created_at_ms in [WIRE_TIME_MIN_MS, WIRE_TIME_MAX_MS]  bad_created_at
     valid_until_ms > created_at_ms .................... bad_valid_until
     valid_until_ms <= created + WIRE_VALIDITY_MAX_MS .. validity_too_long
     urgency a known Urgency value ..................... bad_urgency
   Returns 0 or -1. */
int wire_validate_header(const Hartslag__SignalHeader *header, const char **reason)
    __attribute__((warn_unused_result));

/* Checks the parts of a SealedSignal that the signature does not pin down,
   against its already checked header (from wire_check_header of
   sealed->header):
     no unknown fields (signal or wrapped keys) ........ unknown_field
     header <= ENVELOPE_HEADER_MAX ..................... header_too_large
     nonce exactly 24 bytes ............................ bad_nonce
     ciphertext 16 .. ENVELOPE_CIPHERTEXT_MAX bytes .... bad_ciphertext
     signature exactly 64 bytes ........................ bad_signature_length
     as many wrapped keys as header recipients ......... wrapped_keys_count
     wrapped key i is for header recipient i ........... wrapped_key_recipient
     each wrapped key nonce 24 bytes, wrapped 48 ....... bad_wrapped_key
   Returns 0 or -1. It does not verify the signature (envelope_verify). */
int wire_check_sealed(const Hartslag__SealedSignal *sealed, const Hartslag__SignalHeader *header,
                      const char **reason) __attribute__((warn_unused_result));

/* Wall-clock time in milliseconds since the Unix epoch. */
uint64_t wire_now_ms(void);

/* Reads a protobuf varint at *p (before `end`) and advances *p past it. 0,
   or -1 when it is cut short by `end` or longer than 64 bits allow. For
   readers that walk the wire format without unpacking (the audit tools). */
int wire_varint_read(const uint8_t **p, const uint8_t *end, uint64_t *value);

#endif
