/*  audit_inclusion: does the log hold the record a partner expects?
    (issue 18 A2; docs/audit-format.md §6c)

    A daemon knows what it sent and received. Before it cosigns a
    checkpoint it asks the broker for the records of those exchanges with
    an inclusion proof at the checkpoint's size, and checks here that

      1. the record's bytes are leaf `index` of the tree whose root the
         checkpoint signed (merkle_verify_inclusion over the stored bytes:
         the bytes that are hashed are the bytes that are checked);
      2. the record carries that index itself;
      3. the record says what the daemon knows happened: event, actor,
         counterpart, on whose behalf, signal id, type, purpose, subject.

    Pure: no I/O, no allocation but protobuf-c's unpack of one record
    (capped at AUDIT_RECORD_MAX first). For hostile input.
*/
#ifndef HARTSLAG_AUDIT_INCLUSION_H
#define HARTSLAG_AUDIT_INCLUSION_H

#include "checkpoint.h"
#include "hartslag.pb-c.h"
#include "merkle.h"

#include <stddef.h>
#include <stdint.h>

#define AUDIT_INCLUSION_ID_BYTES 16      /* AuditRecord.signal_id */
#define AUDIT_INCLUSION_SUBJECT_BYTES 32 /* AuditRecord.subject */

/* The record a partner expects. NULL strings are not compared (a field
   the partner cannot know); every non-NULL one must match exactly. */
typedef struct {
    const char *event;        /* accepted, delivered */
    const char *actor;        /* actor_org */
    const char *counterpart;  /* counterpart_org, or NULL */
    const char *on_behalf_of; /* on_behalf_of, or NULL */
    const uint8_t *signal_id; /* 16 bytes, required */
    const char *signal_type;  /* or NULL */
    const char *purpose;      /* or NULL */
    const uint8_t *subject;   /* 32 bytes, or NULL */
} audit_expect_t;

/* 0 when the unpacked `record` is the one `want` describes; -1 with a
   reason token in *why (static): wrong_event, wrong_actor,
   wrong_counterpart, wrong_on_behalf_of, wrong_signal, wrong_signal_type,
   wrong_purpose, wrong_subject. */
int audit_expect_match(const audit_expect_t *want, const Hartslag__AuditRecord *record,
                       const char **why) __attribute__((warn_unused_result));

/* Steps 1-3 above for the record bytes `record` (len bytes) claimed to be
   leaf `index` of checkpoint `cp`, with `proof` (proof_len hashes). 0 when
   all hold; -1 with *why (static): bad_proof, unreadable_record,
   wrong_index, or a token of audit_expect_match. */
int audit_inclusion_check(const audit_expect_t *want, const checkpoint_t *cp, uint64_t index,
                          const uint8_t *record, size_t len,
                          const unsigned char (*proof)[MERKLE_HASHBYTES], size_t proof_len,
                          const char **why) __attribute__((warn_unused_result));

#endif
