/*  audit_case_stats: the evaluation figures of case conferences (issue 15)
    from the broker's audit records — what `hartslag audit stats --cases`
    prints and the HTML report shows, the same figures in both.

    Per month: cases opened and closed, and case events. Over the period:
    outcomes per code, participation per partner (cases it coordinated or
    joined), the days from the first signal or alert about the subject to
    the case's opening and from opening to closing (median and p90), and
    the plan actions done by their due date (%).

    Only metadata is read: the case id, the subject pseudonym (to find the
    first signal about the same subject; never printed), event times,
    organisations, outcome codes, due dates. Counts go through the same
    small-count suppression as `stats` (audit_stats_table.h); a median or a
    percentage that rests on 1..4 cases or actions is not given at all.

    Feed it every record of the log in the log's order (audit_case_stats_add),
    also records outside the period: a signal before the period can be the
    first signal of a case opened in it. Only what happens in the period is
    counted.

    Ownership: audit_case_stats_t owns its tables; rows and cells returned
    are borrowed until the next add or destroy. */
#ifndef HARTSLAG_CLI_AUDIT_CASE_STATS_H
#define HARTSLAG_CLI_AUDIT_CASE_STATS_H

#include "audit_read.h"
#include "audit_stats_table.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct audit_case_stats_t audit_case_stats_t;

/* A spread of durations in days. */
typedef struct {
    uint64_t cases;  /* how many cases the figure rests on */
    bool suppressed; /* cases is 1..4: no median, no p90 */
    double median;   /* days (mean of the two middle ones when even); when cases >= 5 */
    double p90;      /* days, nearest rank: the ceil(0.9 n)-th smallest; when cases >= 5 */
} audit_case_spread_t;

typedef struct {
    uint64_t opened;          /* cases opened in the period */
    uint64_t closed;          /* cases closed in the period */
    audit_case_spread_t lead; /* first signal or alert about the subject -> opening */
    audit_case_spread_t open; /* opening -> closing, of the cases closed in the period */
    uint64_t actions_due;     /* plan actions (planned in the period) done or past due */
    uint64_t actions_on_time; /* of them, done on or before their due date (local date) */
    bool actions_suppressed;  /* actions_due is 1..4: no percentage */
    double actions_percent;   /* 100 * on_time / due, when actions_due >= 5 */
} audit_case_figures_t;

/* Stats for `period` (from/to only; NULL: the whole log). NULL when out
   of memory. */
audit_case_stats_t *audit_case_stats_new(const audit_filter_t *period);
void audit_case_stats_destroy(audit_case_stats_t **self_p);

/* Takes one record into account (any event; the non-case ones only for
   the first signal about a subject). 0, or -1 when out of memory. */
int audit_case_stats_add(audit_case_stats_t *self, const Hartslag__AuditRecord *record);

/* The figures. A plan action is due once its due date is before the local
   date of `now_ms`. 0, or -1 when out of memory. */
int audit_case_stats_figures(audit_case_stats_t *self, int64_t now_ms, audit_case_figures_t *out);

/* The count rows "PERIOD\tDIMENSION\tVALUE" (PERIOD a month or "all"),
   with their cells suppressed. NULL (and *n = 0) when there are none or
   out of memory (*failed tells which). */
const audit_count_t *audit_case_stats_rows(audit_case_stats_t *self, const audit_cell_t **cells,
                                           size_t *n, bool *failed);

/* `hartslag audit stats --cases`: the rows and the figures as text, or as
   one JSON object. 0, or -1 when out of memory. */
int audit_case_stats_print(audit_case_stats_t *self, int64_t now_ms, bool json, FILE *out);

/* The report's section (id "cases"), HTML-escaped, self-contained. 0, or
   -1 when out of memory. */
int audit_case_stats_html(audit_case_stats_t *self, int64_t now_ms, FILE *out);

#endif
