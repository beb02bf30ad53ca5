/*  active: which of two brokers sharing one PostgreSQL store serves
    (issue 16, docs/operations.md "High availability").

    The active broker holds a PostgreSQL session-level advisory lock on
    its store connection, keyed by the store's schema (several
    partnerships may keep their stores in one database, one schema each:
    their brokers do not wait for each other). A standby opens the same store, asks for the
    lock every half second and does not bind its endpoint until it holds
    it; then it starts exactly as a broker starts, rebuilding its memory
    (deliveries in flight, match index, audit tree head) from the store.

    The lock is only as good as the session that holds it. The session
    ends, and the lock with it, when the broker process dies (the kernel
    closes its connection), and, through `idle_session_timeout` and
    `idle_in_transaction_session_timeout` set on the session
    (active_session_settings), when it stops talking: a hung or stopped
    broker, a machine that is gone, a cut network. A working broker is
    never silent that long: every turn (at least every 0.2 s) is a
    transaction on that session. A broker whose session was replaced (the
    connection reconnected, db_session changed) no longer holds the lock,
    whatever it believes: active_check says so before every transaction
    that would write, and the broker then stops serving.

    SQLite has one writer on one machine: there every broker is active.

    Ownership: active_t borrows the connection; it owns nothing else.
*/
#ifndef HARTSLAG_BROKER_ACTIVE_H
#define HARTSLAG_BROKER_ACTIVE_H

#include "db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACTIVE_LOCK_SEED 0x48617274736c6167LL /* "Hartslag": hashed with the schema's name */
#define ACTIVE_TIMEOUT_S 5                    /* a silent session ends after this */
#define ACTIVE_RETRY_MS 500                   /* a standby asks for the lock this often */

typedef struct active_t active_t;

/* For the store connection `db` (borrowed). NULL when memory is short. */
active_t *active_new(db_t *db);
void active_destroy(active_t **self_p);

/* True when the store needs a lock to choose one broker (PostgreSQL). */
bool active_applies(const db_t *db);

/* Sets the session timeouts and names the session after this broker
   (`name`, e.g. "host pid": shown to the standby and in status). 0 or -1
   (reason on the connection). */
int active_session_settings(active_t *self, const char *name);

/* One attempt at the lock: 0 with *held, or -1 on a store error. */
int active_try(active_t *self, bool *held);

/* 0 while the lock is held on the session that took it, -1 when it is
   not (the session was replaced, or it was never taken). */
int active_check(const active_t *self);

/* The application name of the session that holds the lock now, or "" if
   nobody holds it. 0 or -1 (store error). */
int active_holder(active_t *self, char *name, size_t len);

#endif
