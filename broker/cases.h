/*  cases: the broker's part in case conferences (issue 15).

    The broker decides, records and forwards; it never sees what is said
    in a case. Two things arrive:
      - a step (CaseRequest: open, invite, accept, decline, remove,
        schedule, close), signed by the partner that takes it. cases_take
        checks the signature against the partner's certificate, the
        step against the case's rule in agreements.yaml (`cases:`) and the
        case as the store holds it, all or nothing; records it in the
        store and the audit log; and queues a CaseNotice, carrying the
        signed step unchanged, for everyone it concerns;
      - a share: a sealed signal whose header names the case (case_id).
        cases_share decides it instead of `agreements:`: the case is
        open, the sender and every recipient take part now, the fields are
        the sender's in the rule, the purpose is the rule's, the subject is
        the case's.

    Default deny everywhere; every refusal has a reason token. The broker
    trusts only the CURVE identity the caller passes in `org`.

    cases_take writes only inside the caller's transaction; the caller
    answers (CaseResult) after the commit, and rolls back on -1.
*/
#ifndef HARTSLAG_BROKER_CASES_H
#define HARTSLAG_BROKER_CASES_H

#include "agreements.h"
#include "envelope.h"
#include "hartslag.pb-c.h"
#include "partners.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>

/* What cases_take needs from the broker. */
typedef struct {
    broker_store_t *store;
    const agreements_t *agreements;
    const partners_t *partners;
    int64_t now_ms;
    int64_t clock_skew_ms; /* how far ahead an actor's clock may be */
    int64_t max_age_ms;    /* how long before its request a step may be signed */
    /* Appends a record (time_ms already set); its index, or -1 (the turn
       then fails). */
    int64_t (*audit)(void *arg, Hartslag__AuditRecord *record);
    /* `org` has a new notice waiting in the store. */
    void (*notify)(void *arg, const char *org);
    void *arg;
} cases_ctx_t;

/* The answer to one step. */
typedef struct {
    bool ok;
    char reason[96]; /* token when refused, e.g. "not_participant:welzijn" */
    uint8_t action_id[16];
    bool has_action_id;  /* the step could be read */
    int64_t at_ms;       /* ok: broker time of the step (the first time, for a repeat) */
    int64_t audit_index; /* ok: its first audit record */
} case_verdict_t;

/* Takes one step asked by `org`. 0 with the verdict (ok or refused, each
   audited), or -1 when the store failed (the caller's turn fails). */
int cases_take(const cases_ctx_t *ctx, const char *org, const Hartslag__SignedCaseAction *step,
               case_verdict_t *verdict);

/* The decision on a share into a case. */
typedef struct {
    bool allowed;
    char reason[96]; /* overall, when refused: "case" or a header token */
    char recipient_reason[ENVELOPE_RECIPIENTS_MAX]
                         [64];          /* per header recipient: "allowed" or why not */
    char kind[65];                      /* the case's rule */
    const agreements_case_rule_t *rule; /* borrowed from ctx->agreements (NULL: gone) */
} case_share_t;

/* Decides a share by `org` with a checked header that names a case. 0 with
   the decision, or -1 when the store failed. */
int cases_share(const cases_ctx_t *ctx, const char *org, const Hartslag__SignalHeader *header,
                case_share_t *share);

#endif
