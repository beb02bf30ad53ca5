/*  expect: the broker's audit records this daemon expects, and the
    evidence it keeps when one is missing or wrong (issue 18 A2). Two
    tables in hartslagd.db, next to store.h's (same connection, so rows are
    written in the caller's transaction):

      inclusion            one row per record still to be proven:
                           "accepted" per recipient of a signal we sent,
                           "delivered" per signal we received (stored or
                           refused). Deleted once proven; kept with state
                           'refused' when the broker could not prove it.
      inclusion_evidence   what the broker showed instead: the checkpoint,
                           its answer, the record bytes and proof it sent

    States: 'sent' (an "accepted" row whose index the broker has not given
    yet: the signal is pending, or was denied), 'expected' (due once a
    checkpoint's size exceeds its index, or, without index, at every
    checkpoint), 'refused'. Metadata only, as the broker's record holds it:
    ids, orgs, type, purpose, the subject's pseudonym; never content.
*/
#ifndef HARTSLAG_DAEMON_EXPECT_H
#define HARTSLAG_DAEMON_EXPECT_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXPECT_ID_BYTES 16
#define EXPECT_SUBJECT_BYTES 32

typedef struct expect_t expect_t;

/* One expected record: what the broker's AuditRecord must say. */
typedef struct {
    uint8_t signal_id[EXPECT_ID_BYTES];    /* the signal */
    char event[16];                        /* accepted, delivered */
    char actor[33];                        /* actor_org */
    char counterpart[33];                  /* counterpart_org */
    char on_behalf_of[33];                 /* on_behalf_of; "" when the record has none */
    char signal_type[65];                  /* signal_type */
    char purpose[65];                      /* purpose */
    uint8_t subject[EXPECT_SUBJECT_BYTES]; /* subject pseudonym */
    bool has_index;                        /* the index is known */
    uint64_t index;                        /* the record's index in the log */
    uint32_t position;                     /* "accepted": the recipient's place in the header */
} expect_row_t;

/* What the broker showed for a refused record. */
typedef struct {
    const char *kind;      /* missing, not_yours, bad_proof, wrong_event, ... */
    uint64_t tree_size;    /* the checkpoint it was asked against */
    const char *note;      /* that checkpoint's note, or NULL */
    size_t note_len;       /* its length */
    bool has_index;        /* the broker named an index */
    uint64_t index;        /* which */
    const uint8_t *record; /* the record bytes it sent, or NULL */
    size_t record_len;     /* their length */
    const void *proof;     /* the proof hashes it sent, concatenated, or NULL */
    size_t proof_len;      /* bytes */
} expect_evidence_t;

/* Creates the tables when needed and prepares the statements. NULL with
   the reason. Destroy before the store. */
expect_t *expect_new(store_t *store, char *err, size_t errlen);
void expect_destroy(expect_t **self_p);

/* Adds a row (ignored when it exists). An "accepted" row without index
   starts in state 'sent', every other one 'expected'. 0 / -1. */
int expect_add(expect_t *self, const expect_row_t *row) __attribute__((warn_unused_result));

/* The broker accepted signal `id`: its "accepted" rows get index
   first_index + position and become 'expected'. 0 / -1. */
int expect_accepted(expect_t *self, const uint8_t id[EXPECT_ID_BYTES], uint64_t first_index)
    __attribute__((warn_unused_result));

/* Up to `max` rows due at a checkpoint of `size`: 'expected' with an
   index below it, or without index. *n receives the count. 0 / -1. */
int expect_due(expect_t *self, uint64_t size, expect_row_t *rows, size_t max, size_t *n);

/* The record was proven: the row goes. 0 / -1. */
int expect_proven(expect_t *self, const expect_row_t *row);

/* The record was not proven: evidence kept, the row marked 'refused' (not
   asked for again). 0 / -1. */
int expect_refused(expect_t *self, const expect_row_t *row, const expect_evidence_t *evidence);

/* 1 when a record was refused at the checkpoint of `size` (never cosign
   it), 0 when not, -1 on error. */
int expect_refused_at(expect_t *self, uint64_t size);

/* The held checkpoint note of `size` (a new string, caller frees): 1, 0
   when not held, -1. */
int expect_note(expect_t *self, uint64_t size, char **note, size_t *len);

/* For `hartslag status`: rows still to be proven and refused records. */
int expect_counts(expect_t *self, uint64_t *waiting, uint64_t *refused);

#endif
