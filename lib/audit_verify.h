/*  audit_verify: checks an audit store (lib/audit_log) from its bytes up,
    trusting nothing in it but what the broker's audit key signed and what
    the partners hold. It reads the tables through lib/audit_store, on any
    connection of lib/db.h (read-only is enough).

    What is checked, in order:
    1. Every stored checkpoint note carries a valid signature of the log key
       (a forged or altered note: BAD_SIGNATURE).
    2. Anchors — checkpoints from the store and from partner daemons' stores
       or witness files, every one of them — agree with each other: two validly signed checkpoints
   of one size with different roots mean the broker showed different histories (FORKED).
    3. Every record, in index order: it unpacks, carries its own index, and
       carries the leaf hash of the record before it. The first record that
       breaks this names the fault and the first bad index:
         MODIFIED    bytes of a record changed
         MISSING     a record is gone (the next one carries a later index)
         REORDERED   a record stands at another record's place
         DUPLICATED  a copy of an earlier record was inserted
    4. The log is at least as long as every anchor (else TRUNCATED at the
       log's end), and the tree over the records has each anchor's root at
       its size (else REWRITTEN: history differs from a signed checkpoint
       although the records are consistent among themselves — a
       truncate-and-continue, or a rewrite of the tail after the last link).

    5. The subject index (lib/audit_subjects.h) holds exactly one row for
       every record with a subject and no other rows (else INDEX, naming
       the record): an access request's answer is read through it, so a
       missing row would silently leave a record out. Checked in the same
       pass: each side is summed under a per-run random SipHash key, and
       only when the sums differ are the rows looked up one by one. A store
       without the table (written before it) passes with a note: readers
       then walk every record.

    External checkpoints are read one at a time from a source (a callback)
    and kept as (size, root, holder) only; identical ones from several
    holders are kept once. Memory grows with the number of distinct
    checkpoints, as it does for the store's own, not with the number of
    copies; none is left out. The report says how many were given and how
    many were checked.

    6. (audit_verify_cosignatures, with the partners' keys) every row of the
       cosignatures table is a valid cosignature of the stored checkpoint
       of its size by the key of the org it names (else BAD_COSIGNATURE).

    A rewritten history can only be placed between the largest anchor that
    still matches and the smallest that does not: nothing trusted exists
    for the records in between. The stored leaf hashes (untrusted) are used
    as a hint to name the exact record when they still point at it.
*/
#ifndef HARTSLAG_AUDIT_VERIFY_H
#define HARTSLAG_AUDIT_VERIFY_H

#include "checkpoint.h"
#include "db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    AUDIT_OK = 0,
    AUDIT_MODIFIED,        /* a record's bytes changed */
    AUDIT_MISSING,         /* records were removed */
    AUDIT_REORDERED,       /* records were moved */
    AUDIT_DUPLICATED,      /* a record was copied */
    AUDIT_TRUNCATED,       /* the log ends before a signed checkpoint's size */
    AUDIT_REWRITTEN,       /* consistent records, but not the history a checkpoint signed */
    AUDIT_FORKED,          /* two signed checkpoints of one size disagree */
    AUDIT_BAD_SIGNATURE,   /* a stored checkpoint's signature does not verify */
    AUDIT_UNREADABLE,      /* the store cannot be read as an audit store */
    AUDIT_INDEX,           /* the subject index does not match the records */
    AUDIT_BAD_COSIGNATURE, /* a stored cosignature does not verify */
} audit_fault_kind_t;

/* A checkpoint note held outside the store (a partner daemon's copy). */
typedef struct {
    const char *holder; /* who holds it, for the report (e.g. "politie") */
    const char *note;   /* the note text */
    size_t len;         /* its length */
} audit_anchor_t;

/* A source of external checkpoint notes: fills *anchor with the next one
   (its strings valid until the next call) and returns 1; 0 at the end; -1
   when it cannot read (then the source says why, on its own channel). */
typedef int(audit_anchor_next_fn)(void *arg, audit_anchor_t *anchor);

typedef struct {
    audit_fault_kind_t kind; /* AUDIT_OK when everything holds */
    int64_t first_bad;       /* first bad record index, -1 when not about a record */
    int64_t range_end;       /* REWRITTEN: the bad record is in [first_bad, range_end) */
    uint64_t records;        /* records read */
    uint64_t checkpoints;    /* validly signed checkpoints (store + anchors) */
    uint64_t given;          /* external checkpoint notes the source gave */
    uint64_t checked;        /* of them, signature checked and compared */
    uint64_t cosignatures;   /* rows of the cosignatures table read */
    uint64_t cosigs_checked; /* of them, verified with the cosigner's key */
    uint64_t cosigs_unknown; /* of them, from a cosigner no key was given for */
    uint64_t anchored_size;  /* largest size a signed checkpoint vouches for */
    bool indexed;            /* the store has a subject index (checked) */
    char detail[512];        /* one line for the privacy officer */
} audit_report_t;

/* A partner's cosigning key: the key name it cosigns under (its org) and
   its Ed25519 sign-key. Several keys may share a name (a key rotation). */
typedef struct {
    const char *name;                            /* key name (the org) */
    unsigned char pk[CHECKPOINT_PUBLICKEYBYTES]; /* sign-key */
} audit_cosigner_t;

/* "modified", "missing", ... */
const char *audit_fault_name(audit_fault_kind_t kind);

/* Verifies the audit store in `db` (opened read-only is fine) against the
   log key `log_pk` and `n_anchors` external checkpoint notes. Returns 0
   when the log verifies, 1 when a fault was found (see report), -1 when
   the store cannot be read. */
int audit_verify(db_t *db, const unsigned char log_pk[CHECKPOINT_PUBLICKEYBYTES],
                 const audit_anchor_t *anchors, size_t n_anchors, audit_report_t *report);

/* The same, with the external notes read from `next` (NULL: none). When a
   fault stops the check, the source is still read to its end, so that
   report->given counts every note. */
int audit_verify_from(db_t *db, const unsigned char log_pk[CHECKPOINT_PUBLICKEYBYTES],
                      audit_anchor_next_fn *next, void *arg, audit_report_t *report);

/* 6. Every row of the store's cosignatures table: its line must be a valid
   cosignature, by one of the `keys` named as the row's org, of the stored
   checkpoint of its size (which must verify with the log key). A row of
   an org no key is given for is counted in cosigs_unknown, not checked
   (n_keys 0: every row). Run after audit_verify on the same report: adds
   the counts, and on a fault sets kind AUDIT_BAD_COSIGNATURE and detail.
   0 every known row verifies, 1 a fault, -1 the table cannot be read. */
int audit_verify_cosignatures(db_t *db, const unsigned char log_pk[CHECKPOINT_PUBLICKEYBYTES],
                              const audit_cosigner_t *keys, size_t n_keys, audit_report_t *report);

#endif
