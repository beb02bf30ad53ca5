/*  inclusion: the broker's answer to a partner's InclusionRequest (issue 18
    A2; docs/protocol.md, "Inclusion"). A partner daemon asks, before it
    cosigns a checkpoint, for the records of its own exchanges with an
    inclusion proof at that checkpoint's size:

      - by index ("accepted": Accepted.audit_index plus the recipient's
        place in the header): the record at that index;
      - by signal id ("delivered", whose index the recipient is never
        told): the index the broker kept in the delivery's queue row when
        it wrote the record, one lookup; for deliveries settled before the
        queue kept it, through the subject index (lib/audit_subjects.h)
        from the signal's first `accepted` record on.

    A partner sees only records about itself (as actor, counterpart or the
    org acted for): anything else is answered INCLUSION_NOT_YOURS without
    the record. Read-only: nothing is written, nothing audited. */
#ifndef HARTSLAG_BROKER_INCLUSION_H
#define HARTSLAG_BROKER_INCLUSION_H

#include "audit_log.h"
#include "hartslag.pb-c.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

#define INCLUSION_ITEMS_MAX 48 /* items of one request (an answer fits one frame) */

/* Answers `request` from partner `org`: 0 and a packed Frame with the
   InclusionProof in *out (caller frees), or -1 with a reason token in *why
   for an Error frame: malformed (no or too many items, a bad id, an item
   without index that is not "delivered"), unknown_checkpoint (no
   checkpoint of that size), storage_unavailable. */
int inclusion_answer(audit_log_t *audit, broker_store_t *queue, const char *org,
                     const Hartslag__InclusionRequest *request, uint8_t **out, size_t *out_len,
                     const char **why) __attribute__((warn_unused_result));

#endif
