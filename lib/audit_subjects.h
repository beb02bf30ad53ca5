/*  audit_subjects: the audit log's subject index (table audit_subjects,
    next to the other audit tables of lib/audit_store.h).

        audit_subjects(seg, tag, idx)   PRIMARY KEY(seg, tag, idx), WITHOUT ROWID

    One row per record whose subject is a 32-byte pseudonym: `tag` is the
    first 8 bytes of that pseudonym (big-endian, as a signed 64-bit
    integer), `idx` the record's index and `seg` = idx >> 12, the segment of
    4,096 records it falls in. It holds no citizen identifier and no more of
    the pseudonym than the record itself does.

    Why segments: pseudonyms are random, so an index keyed by subject alone
    puts every new row on a random page, and each commit rewrites one page
    per signal — it cost the broker a fifth of its capacity. Keyed by
    segment first, new rows land in the current segment's few pages, which
    one commit writes once for hundreds of signals. A lookup then seeks once
    per segment (2,442 seeks for 10,000,000 records: milliseconds).

    Why a tag and not the whole pseudonym: pseudonyms are keyed hashes, so
    8 bytes tell subjects apart (a collision needs ~4·10^9 subjects) while
    the rows stay less than half the size — the index is written on the
    broker's hot path, and a smaller B-tree keeps more of it in the page
    cache. A reader always compares the record's full subject, so a shared
    tag only costs one extra record read, never a wrong answer.

    The table and its SQL belong to lib/audit_store (the only code that
    knows the audit tables); this module keeps the pure parts: the tag and
    a record's subject. The rows are written by audit_log_append in the
    caller's transaction, pruned by audit_log_purge, created and backfilled
    by audit_log_open on a store that lacks it, and checked by audit_verify.
*/
#ifndef HARTSLAG_AUDIT_SUBJECTS_H
#define HARTSLAG_AUDIT_SUBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_SUBJECT_BYTES 32         /* AuditRecord.subject: a pseudonym */
#define AUDIT_SUBJECT_SEGMENT_SHIFT 12 /* seg = idx >> 12: 4,096 records */

/* The index key of a subject pseudonym. */
int64_t audit_subject_tag(const uint8_t subject[AUDIT_SUBJECT_BYTES]);

/* The subject of a packed AuditRecord, read from the wire format without
   unpacking (the last occurrence wins, as in protobuf-c). 1 and *subject
   points into `bytes` when it is AUDIT_SUBJECT_BYTES long; 0 when there is
   none (or it has another length: no query can name it); -1 when the
   bytes are not a well-formed message. */
int audit_record_subject(const uint8_t *bytes, size_t len, const uint8_t **subject);

#endif
