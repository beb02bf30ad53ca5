/*  dlog: the daemon's log, one line per event on stderr, in the format of
    lib/log (printf-style here, because most daemon lines carry several
    numbers):

        ts=2026-03-01T10:00:00.123Z level=info prog=hartslagd event=signal_received signal=9f..

    Callers pass key=value text. Values that come from outside (error texts,
    paths) go through dlog_quote. Never log content, a BSN, a person's name
    or key material: only ids, org names, tokens, counts and reasons.
*/
#ifndef HARTSLAG_DAEMON_DLOG_H
#define HARTSLAG_DAEMON_DLOG_H

#include <stddef.h>

typedef enum { DLOG_DEBUG, DLOG_INFO, DLOG_WARN, DLOG_ERROR } dlog_level_t;

/* Lines below `level` are dropped (default DLOG_INFO). */
void dlog_set_level(dlog_level_t level);

/* Writes one line: time, level, then the formatted key=value text. */
void dlog(dlog_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes `text` as a quoted log value into `out` ("..." with \" \\ and
   control characters escaped; truncated to fit). Returns `out`. */
const char *dlog_quote(const char *text, char *out, size_t outlen);

#endif
