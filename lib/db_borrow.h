/*  db_borrow: TRANSITIONAL, while issue 16's seam is being built.

    Wraps an embedded-database connection that is opened and owned elsewhere (passed
    as `void *` so that no lib/ header names SQLite's types) as a db_t, so
    that a module already converted to lib/db.h can share the transaction
    of a caller that is not converted yet. db_close on it finalizes the
    cached statements and leaves the connection open. This header goes
    away when broker/store owns the broker's connection.
*/
#ifndef HARTSLAG_DB_BORROW_H
#define HARTSLAG_DB_BORROW_H

#include "db.h"

/* A db_t over `handle` (the embedded backend's connection handle), or NULL when memory is short. */
db_t *db_borrow_embedded(void *handle);

/* The reverse, for a caller not converted yet that still takes the
   embedded backend's connection (lib/audit_log_open while broker/store owns
   the broker's db_t): the connection behind `db` when it is the embedded
   backend's (SQLite), NULL for any other backend or NULL. Borrowed; goes
   away with this header. */
void *db_embedded_handle(db_t *db);

#endif
