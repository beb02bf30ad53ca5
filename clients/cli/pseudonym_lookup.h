/*  pseudonym_lookup: a privacy officer's search for a citizen goes through
    the pseudonym service (issue 17, docs/pseudonyms.md): the BSN or
    address is blinded here, evaluated by the service as the officer's own
    identity for a stated purpose (which the service audits), and the
    answer is used only when its proof verifies. No tool reads a pseudonym
    key.

    The officer's file (officer.yaml, docs/audit.md) names the officer's
    secret keys and the service:

        keys: /home/fg/hartslag/fg-gemeente.cert_secret
        pseudonym_service: tcp://pseudoniemdienst.example:7456
        pseudonym_service_cert: /home/fg/hartslag/pseudoniemdienst.cert
*/
#ifndef HARTSLAG_CLI_PSEUDONYM_LOOKUP_H
#define HARTSLAG_CLI_PSEUDONYM_LOOKUP_H

#include "pseudonym.h"

#include <stddef.h>
#include <stdint.h>

#define PSEUDONYM_LOOKUP_TIMEOUT_MS 5000 /* the service must answer within this */

/* The pseudonym of `id` of `kind`, asked of the service with the officer
   file at `officer_path` for `purpose` ("art15" or "audit_query"). 0, or
   -1 with the reason in `err` (never the identifier): an unreachable or
   refusing service, a proof that does not verify. 2 when `id` is not a
   valid identifier. */
int pseudonym_lookup(const char *officer_path, pseudonym_kind_t kind, const char *id,
                     const char *purpose, uint8_t out[PSEUDONYM_BYTES], char *err, size_t errlen);

#endif
