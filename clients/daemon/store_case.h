/*  store_case: the case conferences this organisation takes part in, as
    its daemon verified them (issue 15), in the daemon's store
    (clients/daemon/store.h). Metadata only, as the broker's notices carry
    it: a case's kind, coordinator, subject pseudonym, state, meeting date,
    outcome, participants (each state proven by signed steps, see
    clients/daemon/cases.c) and the steps this daemon saw. Never content.

    After its retention (retention_days_after_close from the close, or
    from our removal or decline: `purge_after_ms`) a case's rows leave
    every table that holds them, in one transaction (store_case_purge; the
    tables are listed once in store_case.c), and only a tombstone is kept
    in `cases_gone`: the case id, when it was purged and the broker time
    of the last step held (to tell a notice sent again from a new one), no
    subject.

    Every call runs in the caller's transaction (store_begin ..
    store_commit). 0 / 1 found, -1 on a store error.
*/
#ifndef HARTSLAG_DAEMON_STORE_CASE_H
#define HARTSLAG_DAEMON_STORE_CASE_H

#include "store.h"

#include <stdbool.h>
#include <stdint.h>

/* A case as the daemon holds it. */
typedef struct {
    const char *case_id;     /* 32 hex digits */
    const char *kind;        /* the `cases:` rule */
    const char *coordinator; /* org */
    const char *subject;     /* 64 hex digits (pseudonym) */
    bool closed;
    const char *outcome;      /* NULL while open */
    const char *meeting_date; /* YYYY-MM-DD or NULL */
    uint64_t opened_ms;       /* broker time of the open */
    uint64_t updated_ms;      /* broker time of the last step seen */
    const char *participants; /* JSON array: [{"org","state","since_ms"}...] */
    uint64_t purge_after_ms;  /* closed, or we left: purged after this; 0 while we take part */
} store_case_t;

/* One step of a case as the daemon saw it in a notice. */
typedef struct {
    const char *action_id;  /* 32 hex digits */
    const char *case_id;    /* 32 hex digits */
    const char *verb;       /* open, invite, accept, ... */
    const char *actor;      /* org */
    const char *actor_user; /* the professional */
    uint64_t at_ms;         /* broker time */
    uint64_t audit_index;   /* the broker's first record of the step */
    const char *detail;     /* JSON object: partners, meeting_date, outcome */
} store_case_step_t;

/* Creates the tables (called by store_open). */
int store_case_schema(store_t *self, char *err, size_t errlen);

/* Writes the case (replacing what was held). A step newer than the one
   held sets purge_after_ms (the earlier time wins) or, when it is 0 (we
   take part again), clears it. */
int store_case_put(store_t *self, const store_case_t *c);

/* Records a step; a step already held is left as it is (0). */
int store_case_step_add(store_t *self, const store_case_step_t *step);

/* The case as one JSON object (with its steps, oldest first) in *json
   (malloc'd): 1, 0 when it is not held, -1. */
int store_case_json(store_t *self, const char *case_id, char **json);

/* Calls `fn` with each case as one JSON object (without steps), most
   recently changed first; `open_only` leaves out closed ones. */
int store_case_each(store_t *self, bool open_only, store_json_fn *fn, void *arg);

/* What a share into the case needs: its kind, whether it is closed, its
   subject (64 hex) and its participants JSON (malloc'd, the caller frees).
   1, 0 when the case is not held, -1. */
int store_case_get(store_t *self, const char *case_id, char kind[65], bool *closed,
                   char subject[65], char **participants);

/* Marks an inbox entry as shared in `case_id`. */
int store_case_inbox_link(store_t *self, const char *signal_id, const char *case_id);

/* What was shared in the case is kept until `until_ms` at the latest (the
   case closed, or we left it): the inbox's purge removes it then. */
int store_case_retain_until(store_t *self, const char *case_id, uint64_t until_ms);

/* Calls `fn` with each case whose purge_after_ms is at or before
   `now_ms` (oldest first); a nonzero return stops the walk with -1. */
typedef int(store_case_due_fn)(void *arg, const char *case_id, const char *kind);
int store_case_purge_due_each(store_t *self, uint64_t now_ms, store_case_due_fn *fn, void *arg);

/* Deletes the case's rows from every case table and keeps its tombstone
   (purged at `now_ms`): 1, 0 when the case was not held, -1. */
int store_case_purge(store_t *self, const char *case_id, uint64_t now_ms);

/* The tombstone of a purged case: 1 (*purged_ms, our clock, and
   *last_step_ms, the broker's time of the last step we held, set), 0
   none, -1. */
int store_case_gone(store_t *self, const char *case_id, uint64_t *purged_ms,
                    uint64_t *last_step_ms);

/* Drops the tombstone: a step newer than the purge made the case ours
   again (a new invitation). */
int store_case_ungone(store_t *self, const char *case_id);

/* The subject (64 hex) of an alert this daemon holds: 1, 0, -1. */
int store_case_alert_subject(store_t *self, const char *alert_id, char subject[65]);

#endif
