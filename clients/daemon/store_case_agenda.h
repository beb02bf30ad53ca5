/*  store_case_agenda: what a meeting's agenda reads from the daemon's case
    tables (store_case.h): the open cases scheduled on a date, and the open
    cases flagged for being open too long (store_case_timer.h), and the
    plans' actions due by that date and not done. Metadata
    only, as the daemon holds it. 0 / -1 on a store error. */
#ifndef HARTSLAG_DAEMON_STORE_CASE_AGENDA_H
#define HARTSLAG_DAEMON_STORE_CASE_AGENDA_H

#include "store.h"

#include <stdbool.h>
#include <stdint.h>

/* One case on the agenda. Strings borrowed for the callback only. */
typedef struct {
    const char *case_id;      /* 32 hex digits */
    const char *kind;         /* its rule */
    const char *coordinator;  /* org */
    const char *meeting_date; /* YYYY-MM-DD, or NULL */
    const char *participants; /* "politie:active,welzijn:invited" */
    uint64_t opened_ms;
    bool overdue;     /* flagged open too long */
    bool scheduled;   /* its meeting is the agenda's date */
    const char *json; /* the same as one JSON object */
} store_agenda_case_t;

typedef int(store_agenda_fn)(void *arg, const store_agenda_case_t *item);

/* The open cases scheduled on `date` (YYYY-MM-DD), then the other open
   cases flagged overdue; fn returning non-zero stops (the call returns
   -1). */
int store_case_agenda_each(store_t *self, const char *date, store_agenda_fn *fn, void *arg);

/* One open action of a plan, due on or before the agenda's date. */
typedef struct {
    const char *case_id;  /* 32 hex digits */
    const char *item;     /* the action's id, 32 hex digits */
    const char *owner;    /* org */
    const char *due_date; /* YYYY-MM-DD */
    const char *json;     /* the same as one JSON object */
} store_agenda_action_t;

typedef int(store_agenda_action_fn)(void *arg, const store_agenda_action_t *item);

/* The actions of open cases' plans due on or before `date` and not marked
   done, oldest due first. */
int store_case_agenda_actions(store_t *self, const char *date, store_agenda_action_fn *fn,
                              void *arg);

#endif
