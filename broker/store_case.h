/*  store_case: the case conferences' metadata in the broker's store
    (issue 15; broker/store.h). Only what the broker may know: a case's
    kind, coordinator, subject pseudonym, state, meeting date and outcome
    code, its participants with the times they changed state, and the
    steps it took (by id and digest, so that a repeated request is
    answered the same way and never taken twice), and the plan's actions
    by owner and due date (case_items). Never a title, an action's text or
    anything shared in a case: that travels sealed, as signals.

    Every call runs in the caller's transaction. Lookups answer 1 (found),
    0 (not) or -1 (store error); writes 0 or -1.
*/
#ifndef HARTSLAG_BROKER_STORE_CASE_H
#define HARTSLAG_BROKER_STORE_CASE_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_CASE_ID_BYTES 16
#define STORE_CASE_MEMBERS_MAX 64 /* participants a case ever had (a rule lists fewer) */

/* A participant's state; the numbers are CaseParticipantState's. */
typedef enum {
    CASE_MEMBER_INVITED = 0,
    CASE_MEMBER_ACTIVE = 1,
    CASE_MEMBER_DECLINED = 2,
    CASE_MEMBER_REMOVED = 3,
} case_member_state_t;

typedef struct {
    char kind[65];         /* the `cases:` rule */
    char coordinator[33];  /* the org that opened it */
    uint8_t subject[32];   /* subject pseudonym */
    int64_t opened_at_ms;  /* broker time of the open */
    int64_t closed_at_ms;  /* 0 while open */
    char outcome[65];      /* "" while open */
    char meeting_date[11]; /* YYYY-MM-DD, "" when not scheduled */
    int64_t audit_index;   /* the case_opened record */
} case_row_t;

typedef struct {
    char org[33];
    case_member_state_t state;
    int64_t since_ms;                        /* when it came into this state */
    uint8_t invited_by[STORE_CASE_ID_BYTES]; /* the step that invited it (or opened) */
    uint8_t state_by[STORE_CASE_ID_BYTES];   /* the step that set the state */
} case_member_t;

int broker_store_case_find(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                           case_row_t *out);
int broker_store_case_add(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                          const case_row_t *row);
int broker_store_case_schedule(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                               const char *meeting_date);
int broker_store_case_close(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                            const char *outcome, int64_t at_ms);

/* The participants, in order of first invitation; *n of them (at most
   `max`). */
int broker_store_case_members(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                              case_member_t *out, size_t max, size_t *n);
/* Sets `org`'s state by step `step_id` (adding it after the others when
   new). An invitation (CASE_MEMBER_INVITED) also makes `step_id` the step
   that invited it. */
int broker_store_case_member_set(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                                 const char *org, case_member_state_t state, int64_t at_ms,
                                 const uint8_t step_id[STORE_CASE_ID_BYTES]);

/* A step already taken: its digest (BLAKE2b-256 of the signed action
   bytes), time and first audit record. */
int broker_store_case_action_find(broker_store_t *self,
                                  const uint8_t action_id[STORE_CASE_ID_BYTES], uint8_t digest[32],
                                  int64_t *at_ms, int64_t *audit_index);
/* Records a step with its signed bytes (kept: they prove the
   participants' states to every daemon, CaseParticipant.proof). */
typedef struct {
    const uint8_t *action; /* the serialized CaseAction as signed */
    size_t action_len;
    const uint8_t *signature; /* 64 bytes */
} case_signed_t;
int broker_store_case_action_add(broker_store_t *self, const uint8_t action_id[STORE_CASE_ID_BYTES],
                                 const uint8_t case_id[STORE_CASE_ID_BYTES], const char *actor,
                                 const uint8_t digest[32], const case_signed_t *signed_step,
                                 int64_t at_ms, int64_t audit_index);
/* A recorded step's signed bytes: *action and *signature malloc'd (the
   caller frees both). */
int broker_store_case_action_bytes(broker_store_t *self,
                                   const uint8_t action_id[STORE_CASE_ID_BYTES], uint8_t **action,
                                   size_t *action_len, uint8_t **signature, size_t *signature_len);

/* One action of a case's plan, as the broker may know it: who does it and
   by when, and whether it is done. What is to be done travels sealed. */
typedef struct {
    char owner[33];
    char due_date[11];  /* YYYY-MM-DD */
    int64_t planned_ms; /* broker time of the plan step */
    int64_t done_at_ms; /* 0 while open */
} case_item_t;

#define STORE_CASE_ITEMS_MAX 256 /* actions one case may have in all */

/* The item `item_id` of the case: 1, 0 or -1. */
int broker_store_case_item_find(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                                const uint8_t item_id[STORE_CASE_ID_BYTES], case_item_t *out);
/* How many items the case has. 0 with *n, or -1. */
int broker_store_case_item_count(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                                 int64_t *n);
int broker_store_case_item_add(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                               const uint8_t item_id[STORE_CASE_ID_BYTES], const char *owner,
                               const char *due_date, int64_t at_ms);
int broker_store_case_item_done(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                                const uint8_t item_id[STORE_CASE_ID_BYTES], int64_t at_ms);

/* Open cases opened before `opened_before_ms` (the lifecycle timer), up to
   `max` ids into `ids`; *n found. */
int broker_store_case_open_since(broker_store_t *self, int64_t opened_before_ms,
                                 uint8_t (*ids)[STORE_CASE_ID_BYTES], size_t max, size_t *n);

#endif
