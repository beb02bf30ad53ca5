/*  agreements_diff: every attribute change between two agreements files,
    and the partners each change affects.

    The diff compares the parsed structures, not the text: for the top-level
    keys, every partner (by org), every agreement and every alert rule (by
    id) it lists each attribute whose value differs. Lists (to, types,
    fields, notify) are compared as sets, so reordering a list is no change.
    An agreement or alert rule whose id is gone while another with a new id
    has an equal body is reported as one rename, not a removal and an add.

    A partner is affected by a change when the changed entry names it: both
    ends (old and new) of an agreement that is added, removed, renamed or
    changed; the notify orgs of an alert rule; every participant (old and
    new) of a case conference rule that is added, removed or changed (by
    kind: no rename detection); the partner entry itself;
    the old and new coordinator; every partner when the partnership changes.
    A change of the version number alone affects no one. This is the input
    of the signing rule (agreements_sigrule): the broker and the CLI use the
    same code.

    The diff borrows nothing from the agreements after agreements_diff_new
    returns: every string it hands out is its own, valid until
    agreements_diff_destroy.
*/
#ifndef HARTSLAG_AGREEMENTS_DIFF_H
#define HARTSLAG_AGREEMENTS_DIFF_H

#include "agreements.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct agreements_diff_t agreements_diff_t;

typedef enum {
    AGREEMENTS_DIFF_ADDED = '+',   /* the entry is new */
    AGREEMENTS_DIFF_REMOVED = '-', /* the entry is gone */
    AGREEMENTS_DIFF_CHANGED = '~', /* one attribute of the entry changed */
    AGREEMENTS_DIFF_RENAMED = '>'  /* same body, other id (old_value -> new_value) */
} agreements_diff_op_t;

typedef enum {
    AGREEMENTS_DIFF_TOP = 0,   /* a top-level key: partnership, version, coordinator */
    AGREEMENTS_DIFF_PARTNER,   /* an entry of partners: */
    AGREEMENTS_DIFF_AGREEMENT, /* an entry of agreements: */
    AGREEMENTS_DIFF_ALERT,     /* an entry of alerts: */
    AGREEMENTS_DIFF_CASE       /* an entry of cases: (by kind) */
} agreements_diff_kind_t;

/* One change. Strings are owned by the diff. */
typedef struct {
    agreements_diff_op_t op;     /* what happened */
    agreements_diff_kind_t kind; /* to what kind of entry */
    const char *id;        /* org or id of the entry (the new id of a rename); the key for TOP */
    const char *attribute; /* changed attribute, NULL for a whole entry (+, -, rename) */
    const char *old_value; /* rendered old value ("\"Wpg art. 19\"", "[a, b]", "true"); or NULL */
    const char *new_value; /* rendered new value; or NULL */
} agreements_change_t;

/* Compares two loaded versions. NULL only when memory ran out. */
agreements_diff_t *agreements_diff_new(const agreements_t *old_a, const agreements_t *new_a);
void agreements_diff_destroy(agreements_diff_t **self_p);

/* Changes, in order: top-level keys, partners, agreements, alert rules,
   case conference rules. */
size_t agreements_diff_count(const agreements_diff_t *self);
const agreements_change_t *agreements_diff_at(const agreements_diff_t *self, size_t index);

/* Affected partners, sorted, unique. */
size_t agreements_diff_affected_count(const agreements_diff_t *self);
const char *agreements_diff_affected(const agreements_diff_t *self, size_t index);
bool agreements_diff_affects(const agreements_diff_t *self, const char *org);

/* "partner", "agreement", "alert", "case" or "top". */
const char *agreements_diff_kind_name(agreements_diff_kind_t kind);

/* Writes one change in terraform-plan form, without newline, e.g.
   `~ agreement politie-overlast: legal_basis "Wpg art. 19" -> "Wpg art. 20"`. */
void agreements_change_print(const agreements_change_t *change, FILE *out);

#endif
