/*  auth_gate: who may finish a CURVE handshake with the broker, and what
    is known about those who may not (issue 13 A2).

    The broker's own ZAP handler (RFC 27) on inproc://zeromq.zap.01, served
    by the broker's loop, replaces CZMQ's zauth: it admits a client only
    when `admit` says its CURVE public key is a valid partner's (the live
    partner table, so a SIGHUP reload takes effect at the next handshake),
    and tells `refused` the key and the peer's address of every refusal.
    The answer to the handshake does not wait for anything: a refusal stays
    a refusal whatever the logging does.

    What libzmq cannot tell: a client that holds a partner's public key but
    not its secret (or the wrong broker public key) fails inside the CURVE
    handshake, before ZAP. A socket monitor sees that failure, but not the
    key nor the peer's address; `refused` gets key NULL and address NULL.

    No secret passes through here: ZAP carries the client's public key only.

    Ownership: auth_gate_t owns its ZAP and monitor sockets, not the router.
*/
#ifndef HARTSLAG_BROKER_AUTH_GATE_H
#define HARTSLAG_BROKER_AUTH_GATE_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_GATE_KEYBYTES 32    /* a CURVE public key */
#define AUTH_GATE_ADDRESS_MAX 63 /* a peer address as ZAP gives it */

typedef struct auth_gate_t auth_gate_t;

/* True when the client with this CURVE public key may connect. */
typedef bool(auth_gate_admit_fn)(void *arg, const uint8_t key[AUTH_GATE_KEYBYTES]);

/* A refused handshake: `key` and `address` are NULL when libzmq did not
   say (see above); `reason` is a token: unknown_key, handshake_failed. */
typedef void(auth_gate_refused_fn)(void *arg, const uint8_t *key, const char *address,
                                   const char *reason, const char *detail);

/* Binds the ZAP handler and monitors `router` (call before it binds or
   connects; it must use `domain` as its ZAP domain). NULL with the reason
   in `err`. */
auth_gate_t *auth_gate_new(zsock_t *router, const char *domain, char *err, size_t errlen);
void auth_gate_destroy(auth_gate_t **self_p);

/* The sockets to wait on: when either is readable, call auth_gate_serve. */
zsock_t *auth_gate_zap(auth_gate_t *self);
zsock_t *auth_gate_monitor(auth_gate_t *self);

/* Answers every waiting ZAP request and reads every waiting monitor
   event, without blocking. */
void auth_gate_serve(auth_gate_t *self, auth_gate_admit_fn *admit, auth_gate_refused_fn *refused,
                     void *arg);

#endif
