/*  audit_stats_table: the small-count suppression and the rows of
    `hartslag audit stats` and `stats --cases`, in one place so that both
    hide exactly the same way.

    A table is an audit_counter_t whose keys are "PERIOD\tDIMENSION\tVALUE"
    (PERIOD a month "2026-03", or "all" for the whole period). Counts of
    1..4 are hidden as "<5" (primary suppression). In a group (one period,
    one dimension) whose sum is published elsewhere, a single hidden count
    could be worked out from that sum and the others, so a second cell —
    the smallest shown one — is hidden as "x" (secondary suppression).
    Groups whose dimension is listed as standalone (their values do not add
    up to a published total, e.g. "event") get primary suppression only.

    Pure functions over borrowed arrays; no allocation. */
#ifndef HARTSLAG_CLI_AUDIT_STATS_TABLE_H
#define HARTSLAG_CLI_AUDIT_STATS_TABLE_H

#include "audit_read.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AUDIT_STATS_THRESHOLD 5 /* counts below this are hidden */
#define AUDIT_STATS_CELL_MAX 16 /* a cell's text: "123456", "<5", "x" */

typedef enum {
    AUDIT_CELL_SHOWN = 0,  /* the count is published */
    AUDIT_CELL_SMALL,      /* 1..4: shown as "<5" */
    AUDIT_CELL_COMPLEMENT, /* hidden so that a small one cannot be derived: "x" */
} audit_cell_t;

/* Fills cells[0..n) for `items` (sorted by key, as audit_counter_sorted
   gives them). `standalone` is a NULL-terminated list of dimensions that
   get no secondary suppression (NULL: none). */
void audit_stats_suppress(const audit_count_t *items, size_t n, audit_cell_t *cells,
                          const char *const *standalone);

/* Secondary suppression along a series: the rows of `dimension` with
   `value` in every month add up to a total published elsewhere (e.g. the
   cases opened in the period), so when exactly one month's count is
   hidden, the smallest shown one of the series is hidden too ("x"). Run
   after audit_stats_suppress. */
void audit_stats_suppress_series(const audit_count_t *items, size_t n, audit_cell_t *cells,
                                 const char *dimension, const char *value);

/* A count as published: the number, "<5" or "x". */
void audit_stats_cell_text(uint64_t count, audit_cell_t cell, char out[AUDIT_STATS_CELL_MAX]);

/* A small count of its own (not in a table), e.g. the cases a median rests
   on: true when it is 1..4 and must be hidden. */
bool audit_stats_is_small(uint64_t count);

/* The rows: text "MONTH WHAT VALUE COUNT" lines, or with `json` the
   comma-separated objects {"month","dimension","value","count"} (a hidden
   count is the string "<5" or "x") without the surrounding brackets. */
void audit_stats_print_rows(FILE *out, const audit_count_t *items, const audit_cell_t *cells,
                            size_t n, bool json);

#endif
