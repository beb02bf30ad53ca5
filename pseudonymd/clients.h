/*  clients: who may ask the pseudonym service, read from the partnership's
    certificate directory (issue 17).

    A client is every certificate with role partner, coordinator or officer
    that is valid today. The broker's and any pseudonym service's
    certificate are never clients. The ZAP handler admits a CURVE key only
    when it is here; every frame is then attributed to the org this table
    gives for the key that authenticated it, never to anything the frame
    says.

    A malformed certificate, two certificates with one CURVE key, or two
    valid certificates of one org fail the load (on SIGHUP the service then
    keeps the table it had).

    Ownership: clients_t owns its entries; lookups return borrowed pointers
    valid until clients_destroy.
*/
#ifndef HARTSLAG_PSEUDONYMD_CLIENTS_H
#define HARTSLAG_PSEUDONYMD_CLIENTS_H

#include "cert.h"
#include "settings.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char org[NAMES_ORG_MAX + 1];      /* from the certificate */
    settings_role_t role;             /* partner, coordinator or officer */
    uint8_t curve_key[CERT_KEYBYTES]; /* what ZAP sees */
} client_t;

typedef struct clients_t clients_t;

/* Reads `dir` at `now_ms`. NULL with the reason in `err`. */
clients_t *clients_load(const char *dir, int64_t now_ms, char *err, size_t errlen);
void clients_destroy(clients_t **self_p);

size_t clients_count(const clients_t *self);
const client_t *clients_by_key(const clients_t *self, const uint8_t key[CERT_KEYBYTES]);
const client_t *clients_by_org(const clients_t *self, const char *org);

/* The service's own certificate in `dir` (role pseudonym-service, `org`,
   valid at `now_ms`), so that the service can check at start that it
   holds the keys the daemons will check its proofs against. 1 and *out
   filled when there is one, 0 when not. */
int clients_service_cert(const char *dir, const char *org, int64_t now_ms, cert_t *out);

#endif
