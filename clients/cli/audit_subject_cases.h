/*  audit_subject_cases: the case conferences part of the art. 15 letter
    (`hartslag audit subject`, issue 15) — which partners discussed the
    citizen in a case conference, when (opened, meeting dates, closed), for
    which purpose, on which legal basis, what kinds of data were shared
    among them, who took on an action of the plan, and the outcome.

    It reads only the subject's case records (those carrying a case_id) and
    writes no content (the log holds none), no employee names (actor_user
    is never read), no refused steps (nothing happened) and no internal
    codes: an outcome code is shown as words ("zorg_geregeld" -> "zorg
    geregeld"). A share into a case travels as a sealed signal; its
    `submitted`, `delivered` and `acked` records belong to the case, and
    audit_subject_cases_is_share tells the letter to leave them out of its
    signals.

    Also the letter's wording helpers (local dates in Dutch or English, an
    organisation by name), shared with cmd_audit_subject.c.

    Ownership: audit_subject_cases_t owns its cases. */
#ifndef HARTSLAG_CLI_AUDIT_SUBJECT_CASES_H
#define HARTSLAG_CLI_AUDIT_SUBJECT_CASES_H

#include "audit_read.h"
#include "partners.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct audit_subject_cases_t audit_subject_cases_t;

/* NULL when out of memory. */
audit_subject_cases_t *audit_subject_cases_new(void);
void audit_subject_cases_destroy(audit_subject_cases_t **self_p);

/* Takes `record` when it is about a case: 1 taken, 0 not a case record,
   -1 out of memory or too many cases. */
int audit_subject_cases_add(audit_subject_cases_t *self, const Hartslag__AuditRecord *record);

/* True when the signal `id` (16 bytes) is a share into one of the cases. */
bool audit_subject_cases_is_share(const audit_subject_cases_t *self, const uint8_t *id);

/* How many cases. */
size_t audit_subject_cases_count(const audit_subject_cases_t *self);

/* Calls `fn` for every organisation the cases name (duplicates possible). */
void audit_subject_cases_each_org(const audit_subject_cases_t *self,
                                  void (*fn)(void *arg, const char *org), void *arg);

/* The letter's section on case conferences (nothing when there are none). */
void audit_subject_cases_text(const audit_subject_cases_t *self, bool en,
                              const partners_t *partners, FILE *out);

/* The cases as a JSON array. */
void audit_subject_cases_json(const audit_subject_cases_t *self, const partners_t *partners,
                              FILE *out);

/* An outcome code in words: cleaned, '_' and '-' as spaces. */
void audit_outcome_words(const char *code, char *out, size_t len);

/* "3 maart 2026, 10:05" / "3 March 2026, 10:05", local time. */
void audit_letter_when(bool en, int64_t ms, char *out, size_t len);

/* "12 maart 2026" from "2026-03-12"; the text as given when it is no date. */
void audit_letter_date(bool en, const char *date, char *out, size_t len);

/* An organisation as the citizen should read it: "Name (org)" or "org". */
void audit_letter_org(const partners_t *partners, const char *org, char *out, size_t len);

/* "key":org,"key_name":..,"key_contact":.. (JSON members, no braces). */
void audit_letter_json_org(FILE *out, const partners_t *partners, const char *key, const char *org);

#endif
