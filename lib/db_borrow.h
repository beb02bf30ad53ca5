/*  db_borrow: a db_t over an embedded-database connection that the caller
    opened and keeps (passed as `void *`, so that no lib/ header names
    SQLite's types).

    For tests, fuzz targets and benchmarks that plant faults or bulk rows
    with their own SQL and then hand the same connection, and so the same
    transaction, to a store that speaks lib/db.h. The broker and the tools
    open their connections with db_open. db_close on a borrowed db_t
    finalizes its cached statements and leaves the connection open.
*/
#ifndef HARTSLAG_DB_BORROW_H
#define HARTSLAG_DB_BORROW_H

#include "db.h"

/* A db_t over `handle` (the embedded backend's connection handle), or NULL
   when `handle` is NULL or memory is short. */
db_t *db_borrow_embedded(void *handle);

#endif
