/*  service: hartslag-pseudonymd's loop (issue 17, docs/operations.md "The
    pseudonym service").

    One thread. A ROUTER socket, CURVE server, behind the service's own
    ZAP handler (zap.h) that admits only the keys of clients.h. Each frame
    is one PseudonymFrame, handled in these steps:

        who        the org of the key that authenticated the frame (ZAP
                   User-Id), never what the frame says: unknown_client
        read       psd_request_parse: malformed, batch_too_large,
                   invalid_element
        may        revoked, purpose_not_allowed (per role), key_version
        fresh      stale (sent_at_ms more than 5 minutes off), replay
                   (request id seen in the last 10 minutes)
        limit      rate_limited (elements per minute and per UTC day),
                   with a limit alert for the coordinator on the first
                   refusal of a window
        evaluate   oprf_blind_evaluate with the service's key
        audit      one record per request, committed before the answer
        answer     PseudonymResponse or PseudonymRefusal

    A refusal answers that request only; the loop goes on serving the
    others. Limit alerts wait in the store until the coordinator's daemon
    acknowledges them; they are sent on each of its frames (a heartbeat is
    enough), to the connection its last frame came from.

    Every second with new records the audit log gets a checkpoint signed
    with the service's Ed25519 key, and once more at a clean stop.

    SIGHUP: the configuration (limits, revoked, purposes, coordinator) and
    the certificates are read again; a bad file keeps the old ones.

    Ownership: service_t owns everything it opens; secrets live in locked
    memory and are wiped at destroy.
*/
#ifndef HARTSLAG_PSEUDONYMD_SERVICE_H
#define HARTSLAG_PSEUDONYMD_SERVICE_H

#include <stddef.h>

#define SERVICE_STALE_MS (5 * 60 * 1000) /* allowed clock difference */
#define SERVICE_CHECKPOINT_MS 1000       /* checkpoint at most this often */
#define SERVICE_ALERT_RESEND_MS 5000     /* resend pending alerts at most this often */

typedef struct service_t service_t;

/* Loads the configuration at `config_path`, keys, certificates and store,
   binds. NULL with the reason in `err`. */
service_t *service_new(const char *config_path, char *err, size_t errlen);
void service_destroy(service_t **self_p);

/* The endpoint bound (with the port the system chose for ":*" / ":0"). */
const char *service_endpoint(const service_t *self);

/* Runs until service_request_stop. 0 on a clean stop, -1 on a failure. */
int service_run(service_t *self);

/* Async-signal-safe: for the signal handlers in main.c. */
void service_request_stop(void);
void service_request_reload(void);

#endif
