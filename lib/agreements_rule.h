/*  agreements_rule: who must sign a new agreements version before it may
    take effect (issue 14, rule 3). Pure: no files, no keys, no clock.

    - The first version (no version in force): every partner in it.
    - Otherwise: the coordinator of the new version, and every partner the
      change affects (agreements_diff) that is a partner of the new
      version. A partner that the new version removes does not sign its own
      removal: the coordinator's signature covers it.
    A version lower than the one in force, or the same version with other
    bytes, is refused whatever the signatures (AGREEMENTS_RULE_ROLLBACK).
*/
#ifndef HARTSLAG_AGREEMENTS_RULE_H
#define HARTSLAG_AGREEMENTS_RULE_H

#include "agreements.h"
#include "agreements_diff.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    AGREEMENTS_RULE_OK = 0,   /* every required partner signed */
    AGREEMENTS_RULE_MISSING,  /* some required signatures are missing */
    AGREEMENTS_RULE_ROLLBACK, /* lower version, or same version with other bytes */
    AGREEMENTS_RULE_UNCHANGED /* the same version and bytes as the one in force */
} agreements_rule_result_t;

/* Checks the rule. `in_force` is NULL for the first version; `diff` is
   agreements_diff_new(in_force, next) (NULL for the first version).
   `signers` are the orgs whose signatures verified (any order, no
   duplicates). Writes the orgs that must sign into `required` (borrowed
   from `next`; room for agreements_partner_count(next)) and how many into
   *n_required; the caller finds the missing ones by comparing. */
agreements_rule_result_t agreements_rule_check(const agreements_t *in_force,
                                               const agreements_t *next,
                                               const agreements_diff_t *diff,
                                               const char *const *signers, size_t n_signers,
                                               const char **required, size_t *n_required);

/* The emergency path (issue 14 rule 3): true when the change from
   `in_force` to `next` only takes permissions away from one partner, so
   that the coordinator's signature alone lets it take effect. Apart from
   the version number, every change must be one of, all about the same
   org:
     - its partner entry removed, or its may_send, may_receive or
       receives_alerts changed from true to false;
     - an agreement naming it (as sender or recipient) removed;
     - it removed from an agreement's recipients (`to`) or an alert
       rule's `notify`, nothing else of that list changed.
   Cutting a partner off never waits for that partner or anyone else;
   adding or widening never takes this path. With `want` (may be NULL)
   only that org is considered. The org is copied into `org`
   (NAMES_ORG_MAX+1). */
bool agreements_rule_emergency(const agreements_t *in_force, const agreements_t *next,
                               const agreements_diff_t *diff, const char *want, char *org,
                               size_t org_len);

#endif
