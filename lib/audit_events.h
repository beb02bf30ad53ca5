/*  audit_events: the vocabulary of the audit log in one table — every event
    name the broker writes and what it means in Dutch and English, and the
    reason tokens of denials, withdrawals and alerts in plain words.

    `hartslag audit query | export` check --event against it, `report` and
    `subject` show the descriptions instead of the tokens. A name the broker
    writes must be in this table: docs/audit.md lists the same names.

    Pure functions, static data, no allocation.
*/
#ifndef HARTSLAG_AUDIT_EVENTS_H
#define HARTSLAG_AUDIT_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *name; /* as recorded, e.g. "rejected_by_recipient" */
    const char *nl;   /* what happened, in Dutch */
    const char *en;   /* the same in English */
} audit_event_t;

/* The event named `name`, or NULL when there is none. */
const audit_event_t *audit_event_find(const char *name);

/* Every event, in the order of a signal's life, then administration. */
size_t audit_event_count(void);
const audit_event_t *audit_event_at(size_t index);

/* The description of `name` in the language asked for; an unknown name is
   returned as given (NULL gives "?"). Borrowed, static or `name`. */
const char *audit_event_describe(const char *name, bool en);

/* A recorded reason in plain words, e.g. "agreement:field_not_allowed:adres"
   → "het gegevensveld 'adres' valt buiten de afspraak", "joined:welzijn" →
   "welzijn deed ook een signaal". "agreement:allowed" (this recipient was
   allowed, the signal was refused because of another one) is described as
   such, never as a reason of its own. An unknown token is copied (cleaned
   of anything but [a-z0-9_:-]). Truncated to fit `len`. */
void audit_reason_describe(const char *reason, bool en, char *out, size_t len);

/* True when a denied record's reason only says this recipient was fine
   ("agreement:allowed"): the signal was refused because of another. */
bool audit_reason_is_other_recipient(const char *reason);

#endif
