/*  store_case_text: what this organisation itself said in its case
    conferences (issue 15): the title it gave a case, the texts of the
    actions it planned, the notes on its own actions, and the shares it
    made, in the daemon's store (clients/daemon/store.h).

    Why a copy is kept: the outbox forgets content once the broker accepted
    a signal, but the author must still be able to show its own words in
    `hartslag case show`, give the title to a partner that joins later, and
    re-share an earlier item to a later participant (`case reshare`). What
    others said in a case is in the inbox (linked by case and action). Both
    are purged with the case after its retention.

    A text is `pending` while the step it belongs to (the open, the plan,
    the done) waits for the broker's verdict: it is kept when the step was
    recorded and dropped when it was refused, so that no text goes out for
    a step that did not happen. Then `held` (ours, not sent to anyone yet),
    or `sent` (the signal that carried it named).

    Every call runs in the caller's transaction. 0 / 1 found, -1 on a store
    error. Content never reaches a log line.
*/
#ifndef HARTSLAG_DAEMON_STORE_CASE_TEXT_H
#define HARTSLAG_DAEMON_STORE_CASE_TEXT_H

#include "store.h"

#include <stdbool.h>
#include <stdint.h>

/* One text of ours. */
typedef struct {
    const char *text_id;     /* 32 hex digits, ours */
    const char *case_id;     /* 32 hex digits */
    const char *kind;        /* title, action_text, note, share */
    const char *item_id;     /* action_text, note: the plan's action (32 hex); else NULL */
    const char *author_user; /* the professional */
    const char *fields;      /* JSON object {"name":"value"...} ("{}" for a text) */
    const char *free_text;   /* or NULL */
    const char *step_id;     /* pending on this step (32 hex), or NULL: held */
    const char *signal_id;   /* sent in this signal (32 hex), or NULL */
    const char *reshare_of;  /* a re-share: the signal it repeats, or NULL */
    uint64_t created_ms;
} store_case_text_t;

/* Creates the table and the inbox's case_item column (called by store_open). */
int store_case_text_schema(store_t *self, char *err, size_t errlen);

/* Adds a text (pending when step_id is set, sent when signal_id is set,
   else held). */
int store_case_text_add(store_t *self, const store_case_text_t *text);

/* The step was recorded (`kept`): its pending texts become held; or it was
   refused: they are dropped. */
int store_case_text_settle(store_t *self, const char *step_id, bool kept);

/* Calls `fn` with each held text of the case of `kind` (titles), or with
   kind NULL each held text not yet sent that is not a title, oldest first
   (the strings live for the call); the caller sends them
   (store_case_text_sent). A nonzero return from `fn` stops the walk with
   -1. */
typedef int(store_case_text_fn)(void *arg, const store_case_text_t *text);
int store_case_text_each_held(store_t *self, const char *case_id, const char *kind,
                              store_case_text_fn *fn, void *arg);

/* The text went out in `signal_id` ("" when nobody else took part: it is
   never sent on by itself). A title stays held. */
int store_case_text_sent(store_t *self, const char *text_id, const char *signal_id);

/* Our text sent in `signal_id` in the case: its kind, its action (or ""),
   and its fields JSON and free text (malloc'd; the caller wipes and frees).
   1, 0 when we sent no such text in this case, -1. */
int store_case_text_by_signal(store_t *self, const char *case_id, const char *signal_id,
                              char kind[16], char item_id[33], char **fields, char **free_text);

/* The fields of a fields JSON object this store wrote, as names and values
   pointing into *pairs (malloc'd, *pairs_len bytes; the caller wipes and
   frees it). At most `max`. 0, -1. */
int store_case_text_fields(store_t *self, const char *fields_json, const char **names,
                           const char **values, size_t max, size_t *n, char **pairs,
                           size_t *pairs_len);

/* Marks an inbox entry received in a case with the plan's action it is
   about and the earlier signal it re-shares (either may be NULL). */
int store_case_text_inbox_mark(store_t *self, const char *signal_id, const char *item_id,
                               const char *reshare_of);

/* The coordinator of a held case: 1, 0, -1. */
int store_case_text_coordinator(store_t *self, const char *case_id, char org[40]);

/* The owner of a plan's action in a held case, from the plan steps this
   daemon verified: 1, 0 (no such action), -1. */
int store_case_text_item_owner(store_t *self, const char *case_id, const char *item_id,
                               char owner[40]);

/* What was said in the case, ours (author `own_org`) and received, oldest first, as one JSON
   array in *json (malloc'd): [{"signal_id","kind","author","author_user",
   "item","fields","free_text","at_ms","sent","reshare_of"}...]. 0, -1. */
int store_case_text_json(store_t *self, const char *case_id, const char *own_org, char **json);

/* The same as lines for `hartslag case show`, one per item, local time,
   in *text (malloc'd; "" when nothing was said). 0, -1. */
int store_case_text_lines(store_t *self, const char *case_id, const char *own_org, char **text);

#endif
