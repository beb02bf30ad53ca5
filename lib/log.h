/*  log: one line per event, key=value, to stderr (DESIGN §4, issue 4):

        ts=2026-11-29T07:41:02.123Z level=info prog=broker event=accepted sender=politie id=3f..

    Callers pass only metadata: org ids, signal ids, types, reasons, counts.
    Never content, a citizen's identifier or key material. Values are
    written as given when they are plain tokens and quoted (with control
    characters escaped) otherwise, so a hostile value cannot forge a line.
*/
#ifndef HARTSLAG_LOG_H
#define HARTSLAG_LOG_H

#include <stdarg.h>

typedef enum { HLOG_DEBUG = 0, HLOG_INFO = 1, HLOG_WARN = 2, HLOG_ERROR = 3 } log_level_t;

/* Program name in every line, and the lowest level written (default info). */
void log_setup(const char *prog, log_level_t min_level);

/* Writes one event. `pairs` is a NULL-terminated list of key, value strings:
   log_event(HLOG_INFO, "accepted", "sender", org, "id", hex, NULL). */
void log_event(log_level_t level, const char *event, ...) __attribute__((sentinel));

/* Parses "debug", "info", "warn", "error"; -1 when unknown. */
int log_level_parse(const char *text, log_level_t *level);

#endif
