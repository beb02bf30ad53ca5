/*  zap: the pseudonym service's own ZAP handler (RFC 27), so that only its
    clients finish a CURVE handshake (issue 17).

    libzmq admits ANY CURVE client when no ZAP handler runs, so the handler
    is bound before the service's socket binds, and it admits a key only
    when `admit` says it is a client's (the live client table: a SIGHUP
    reload counts from the next handshake). An admitted client's User-Id
    is its Z85 public key, which the loop reads back from each frame
    (zframe_meta "User-Id") to find the org. A refused client gets no
    answer at all: its handshake fails.

    ZAP carries the client's public key only; no secret passes here.

    Ownership: zap_t owns its REP socket.
*/
#ifndef HARTSLAG_PSEUDONYMD_ZAP_H
#define HARTSLAG_PSEUDONYMD_ZAP_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZAP_KEYBYTES 32

typedef struct zap_t zap_t;

/* True when the client with this CURVE public key may connect. */
typedef bool(zap_admit_fn)(void *arg, const uint8_t key[ZAP_KEYBYTES]);

/* Binds the handler for `domain`. NULL with the reason in `err`. */
zap_t *zap_new(const char *domain, char *err, size_t errlen);
void zap_destroy(zap_t **self_p);

zsock_t *zap_socket(zap_t *self);

/* Answers every waiting request without blocking; returns how many were
   refused. */
size_t zap_serve(zap_t *self, zap_admit_fn *admit, void *arg);

#endif
