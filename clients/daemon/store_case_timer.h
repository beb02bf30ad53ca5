/*  store_case_timer: what the case lifecycle timer (case_timer.h) keeps
    in the daemon's store: when this daemon, as a case's coordinator,
    flagged it for being open longer than its rule allows, so that it is
    flagged once and `hartslag case list` can show it.

    The column lives in the cases table of store_case.h; the calls run in
    the caller's transaction. 0 / -1 on a store error. */
#ifndef HARTSLAG_DAEMON_STORE_CASE_TIMER_H
#define HARTSLAG_DAEMON_STORE_CASE_TIMER_H

#include "store.h"

#include <stdint.h>

/* Adds the cases.overdue_ms column to stores made before it. */
int store_case_timer_schema(store_t *self, char *err, size_t errlen);

/* Calls fn for every open case that `coordinator` coordinates and that
   was not flagged yet; fn returning non-zero stops the walk (and the call
   returns -1). */
typedef int(store_case_open_fn)(void *arg, const char *case_id, const char *kind,
                                uint64_t opened_ms);
int store_case_unflagged_each(store_t *self, const char *coordinator, store_case_open_fn *fn,
                              void *arg);

/* Marks the case flagged at `now_ms`. */
int store_case_flag_overdue(store_t *self, const char *case_id, uint64_t now_ms);

#endif
