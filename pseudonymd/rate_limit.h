/*  rate_limit: how many elements each client of the pseudonym service may
    have evaluated, per minute and per UTC day (issue 17).

    The limit is what turns "whoever holds a daemon's key can pseudonymise"
    into "can pseudonymise 5,000 identifiers a day": brute force over the
    BSN space then takes centuries. Counting is per element, not per
    request: a batch of 64 counts 64.

    Windows are fixed: the minute [k*60 s, (k+1)*60 s) and the UTC day
    [d*86400 s, (d+1)*86400 s) of the Unix epoch. A request that would take
    a client over either limit is refused as a whole and counts nothing;
    the caller learns which limit, when the client may ask again (the start
    of the next window that frees room), and whether this is the first
    refusal of that window (the one that raises a limit alert).

    Pure: the clock is the caller's (now_ms), so tests inject it. The
    counters live in memory only; a restart of the service starts them
    again from zero (docs/operations.md says so).

    Ownership: rate_limit_t owns its table; org keys are copied.
*/
#ifndef HARTSLAG_PSEUDONYMD_RATE_LIMIT_H
#define HARTSLAG_PSEUDONYMD_RATE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATE_LIMIT_MINUTE_MS 60000
#define RATE_LIMIT_DAY_MS 86400000

typedef enum {
    RATE_LIMIT_OK = 0,     /* counted */
    RATE_LIMIT_PER_MINUTE, /* refused: over the per-minute limit */
    RATE_LIMIT_PER_DAY,    /* refused: over the per-day limit */
} rate_limit_result_t;

typedef struct {
    uint32_t per_minute; /* elements per minute */
    uint32_t per_day;    /* elements per UTC day */
} rate_limit_limits_t;

/* What a refusal means for the caller. */
typedef struct {
    uint64_t retry_after_ms; /* from now until the window that frees room */
    bool first_in_window;    /* the first refusal of this limit in this window */
    uint32_t allowed;        /* the limit that refused */
} rate_limit_refusal_t;

typedef struct rate_limit_t rate_limit_t;

rate_limit_t *rate_limit_new(void);
void rate_limit_destroy(rate_limit_t **self_p);

/* Counts `n` elements for `org` at `now_ms` when both limits allow it.
   On a refusal fills *refusal (when not NULL) and counts nothing. */
rate_limit_result_t rate_limit_take(rate_limit_t *self, const char *org,
                                    const rate_limit_limits_t *limits, uint32_t n, int64_t now_ms,
                                    rate_limit_refusal_t *refusal);

/* Elements counted for `org` in the minute and day of `now_ms`. */
void rate_limit_used(const rate_limit_t *self, const char *org, int64_t now_ms, uint32_t *minute,
                     uint32_t *day);

/* "per_minute" / "per_day" (the PseudonymLimitAlert.limit token). */
const char *rate_limit_name(rate_limit_result_t result);

#endif
