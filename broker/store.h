/*  store: the broker's durable state, behind one handle (issue 16, "the
    seam"). It is the only broker code that speaks SQL, and it speaks it
    through lib/db.h only, so that the same store runs on SQLite (the
    embedded default, one file) or, later, on PostgreSQL.

    It owns:
      - the connection, opened from a location: "sqlite:PATH", a bare PATH,
        or "postgresql://..." (refused by lib/db today);
      - the transaction: all writes of one event-loop turn happen between
        broker_store_begin and broker_store_commit, the group commit of
        DESIGN §8. Nothing a turn did is visible to a partner before the
        commit returns 0, so a signal is never Accepted, delivered or
        forgotten before it is durable. The audit log shares the connection
        (broker_store_db) and with it the transaction, so one commit makes
        a signal and its audit records durable together;
      - the schema: created on first open and versioned (a row in
        `schema_version`), older stores migrated on open, a store written
        by a newer broker refused with both versions named;
      - the queue (store_queue.h), the alert match index's tables
        (store_match.h), the case conferences' metadata (store_case.h)
        and the reads of `hartslag broker status`;
      - the WAL checkpointer (SQLite only: broker/wal_checkpointer.h).

    The files: store.c (connection, transaction, schema), store_queue.c,
    store_match.c; store_internal.h is what they share. No header of the
    store names a SQLite type.

    Ownership: broker_store_t owns its db_t, its prepared statements and
    its checkpointer thread.
*/
#ifndef HARTSLAG_BROKER_STORE_H
#define HARTSLAG_BROKER_STORE_H

#include "db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The schema this broker writes. Stores that predate the version row are
   version 0 (migrated on open); a higher version is refused. */
#define BROKER_STORE_SCHEMA_VERSION 3

#define BROKER_STORE_LOCATION_MAX 4200 /* a resolved location */

typedef struct broker_store_t broker_store_t;

/* The location the broker's `store:` setting names: `setting` NULL or
   empty gives the default, sqlite:STATE_DIR/broker.db; "sqlite:PATH" or a
   bare PATH is SQLite (a relative PATH is taken against `base_dir`, the
   configuration file's directory, when that is not NULL); "postgresql://"
   or "postgres://" is passed on as it is (lib/db says at open whether it
   is built in). Writes into `out`. 0, or -1 with the reason in `err` (an
   unknown scheme, an empty path, too long). */
int broker_store_location(const char *setting, const char *state_dir, const char *base_dir,
                          char *out, size_t outlen, char *err, size_t errlen);

/* The file of a SQLite location ("sqlite:PATH" or PATH), borrowed from
   `location`; NULL for another backend. */
const char *broker_store_sqlite_path(const char *location);

/* Opens (creating if needed) the store at `location` and brings its schema
   to BROKER_STORE_SCHEMA_VERSION. A SQLite file is created 0600 (a wider
   one is narrowed, event state_file_narrowed). NULL with the reason in
   `err`: cannot open, a newer schema, a migration that failed. */
broker_store_t *broker_store_open(const char *location, char *err, size_t errlen);
void broker_store_destroy(broker_store_t **self_p);

/* The text of the last store error (for the log; never holds data). */
const char *broker_store_error(const broker_store_t *self);

/* The schema version the store holds (after open: this broker's). -1 on
   error. */
int64_t broker_store_schema_version(broker_store_t *self);

/* The connection, for the audit log that shares it and its transaction.
   Borrowed; valid until broker_store_destroy. */
db_t *broker_store_db(broker_store_t *self);

/* The group commit. 0 or -1; after a failed commit the caller rolls back.
   Rollback is a no-op outside a transaction. */
int broker_store_begin(broker_store_t *self);
int broker_store_commit(broker_store_t *self);
void broker_store_rollback(broker_store_t *self);

/* Starts WAL checkpoints beside the loop (broker/wal_checkpointer.h): every
   `interval_ms`, a PASSIVE checkpoint once the WAL holds `min_bytes`. 0, or
   -1 with the reason (the broker runs on without: SQLite's automatic
   checkpoint still runs, inside a commit). A backend without a WAL file
   has nothing to do: 0. */
int broker_store_checkpoints_start(broker_store_t *self, int interval_ms, uint64_t min_bytes,
                                   char *err, size_t errlen);

/* Checkpoints run so far, and how many of them failed (0 when none run). */
uint64_t broker_store_checkpoint_runs(const broker_store_t *self);
uint64_t broker_store_checkpoint_failures(const broker_store_t *self);

#include "store_case.h"
#include "store_match.h"
#include "store_queue.h"

#endif
