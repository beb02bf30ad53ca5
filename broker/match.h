/*  match: blind multi-agency matching (DESIGN §10, issue 7).

    The broker keeps, per subject pseudonym, which partner signalled which
    type when — metadata only, never content, never an identity. When an
    accepted signal brings the number of distinct partners signalling about
    one subject within a rule's window to the rule's `distinct_senders`,
    an alert is raised; after that, one more alert each time a partner that
    was not yet part of the match joins it (not one per signal).

    Storage: the broker's store (broker/store_match.h holds the tables and
    their SQL), in the caller's transaction. This module is the matching:
    who counts, when an alert is raised, what it lists.

    Cost per accepted signal: one insert plus, per rule that covers its
    type, one indexed range query over that subject's signals in the window
    (a handful of rows): O(1) amortised, independent of the log's size.

    Ownership: match_t borrows the store.
*/
#ifndef HARTSLAG_MATCH_H
#define HARTSLAG_MATCH_H

#include "agreements.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MATCH_PARTICIPANTS_MAX 64 /* partners in one match */
#define MATCH_IDS_MAX 32          /* signal ids listed per participant */
#define MATCH_TYPES_MAX 8         /* signal types listed per participant */

typedef struct match_t match_t;

/* One partner's part in a match. */
typedef struct {
    char org[33];                    /* the partner */
    char types[MATCH_TYPES_MAX][65]; /* signal types it sent about the subject */
    size_t n_types;
    int64_t first_ms, last_ms;      /* its first and last signal in the window */
    uint8_t ids[MATCH_IDS_MAX][16]; /* its signal ids in the window (newest first) */
    size_t n_ids;
} match_participant_t;

/* An alert to raise (or, for match_handle, the updated one). Borrowed by the callback. */
typedef struct {
    uint8_t alert_id[16];                /* new random id */
    const agreements_alert_rule_t *rule; /* the rule that fired */
    uint8_t subject[32];                 /* the pseudonym */
    match_participant_t participants[MATCH_PARTICIPANTS_MAX];
    size_t n_participants;
    const char *joined; /* the partner whose signal made it */
    int64_t raised_ms;
} match_alert_t;

typedef void(match_alert_fn)(void *arg, const match_alert_t *alert);

match_t *match_open(broker_store_t *store, char *err, size_t errlen);
void match_destroy(match_t **self_p);

/* An accepted signal. Raises (through `fn`) every alert it causes under
   `agreements`' rules. 0, or -1 on a store error. */
int match_signal(match_t *self, const agreements_t *agreements, const uint8_t signal_id[16],
                 const uint8_t subject[32], const char *sender, const char *signal_type,
                 int64_t at_ms, int64_t valid_until_ms, match_alert_fn *fn, void *arg);

/* A withdrawn signal no longer counts. 0, or -1. */
int match_withdraw(match_t *self, const uint8_t signal_id[16], const uint8_t subject[32]);

/* Drops lapsed signals and those older than the largest window. 0, or -1. */
int match_prune(match_t *self, const agreements_t *agreements, int64_t now_ms);

/* An alert as the match stands now (participants gathered at now_ms).
   1 and *alert filled when it exists and its rule still does, 0 when not,
   -1 on error. *handled and lead (33 bytes) receive its state. */
int match_lookup(match_t *self, const agreements_t *agreements, const uint8_t alert_id[16],
                 int64_t now_ms, match_alert_t *alert);

/* The coordinator marks the alert handled with `lead` leading. 0, or -1. */
int match_mark_handled(match_t *self, const uint8_t alert_id[16], const char *lead, int64_t now_ms);

/* Number of signals in the index (for status and tests). */
int64_t match_index_size(match_t *self);

#endif
