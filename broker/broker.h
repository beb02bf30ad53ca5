/*  broker: the Hartslag broker's event loop (DESIGN §4, §8).

    One ROUTER socket (CURVE server; the broker's own ZAP handler, served
    by the loop, admits the partners' keys: auth_gate.h), one loop thread, and a few threads
    that check the turn's signatures ahead of it (verifier.h). Each loop turn takes up
    to `max_batch` messages from the socket, handles them inside one store
    transaction, commits (group commit), and only then sends the answers and
    deliveries that the turn produced. If the commit fails nothing of the
    turn is announced: Accepted becomes Denied{storage_unavailable}.

    Ownership: broker_t owns its sockets, the ZAP handler, the store, the
    partner table, the agreements and the broker's keys.
*/
#ifndef HARTSLAG_BROKER_H
#define HARTSLAG_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *bind;              /* endpoint to bind, e.g. tcp://127.0.0.1:7455 */
    const char *state_dir;         /* the control socket (and by default broker.db) live here */
    const char *store;             /* the store's location: sqlite:PATH or postgresql://...
                                      (broker_store_location resolves the setting) */
    const char *certificates;      /* partner certificate directory */
    const char *keys;              /* broker secret key file */
    const char *agreements;        /* agreements.yaml */
    uint32_t max_batch;            /* messages per loop turn (group commit size) */
    uint32_t delivery_window;      /* unacknowledged deliveries per partner */
    uint32_t rate_limit;           /* submits per second per partner; 0 = unlimited */
    uint32_t rate_burst;           /* bucket size of the rate limiter */
    uint32_t clock_skew_s;         /* how far ahead a sender's clock may be */
    uint32_t max_submit_age_s;     /* how long before its submit a signal may be sealed
                                      (a daemon that was offline resubmits), plus clock_skew */
    uint32_t audit_retention_days; /* older audit records lose their bytes (NEN 7513) */
    uint32_t verify_threads;       /* signature-checking threads; 0 = on the loop thread */
} broker_config_t;

typedef struct broker_t broker_t;

/* Loads keys, certificates and agreements, opens the store, starts the ZAP handler,
   binds. NULL with the reason in `err` (which tells the operator what to do). */
broker_t *broker_new(const broker_config_t *config, char *err, size_t errlen);
void broker_destroy(broker_t **self_p);

/* The endpoint actually bound (resolves port 0 / wildcards). */
const char *broker_endpoint(const broker_t *self);

/* Runs until broker_stop or SIGTERM/SIGINT; reloads on SIGHUP. Returns 0
   after a clean stop, -1 when the store failed beyond recovery. */
int broker_run(broker_t *self);

/* True once SIGTERM or SIGINT asked the broker to stop (also while a
   standby waits in broker_new, which then returns NULL). */
bool broker_stop_requested(void);

/* Asks the loop to stop after the batch in hand (async-signal-safe). */
void broker_request_stop(void);

/* Asks the loop to reload certificates and agreements (async-signal-safe). */
void broker_request_reload(void);

#endif
