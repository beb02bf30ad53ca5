/*  tu_db: a lib/db.h view of a test's own SQLite connection.

    Tests plant faults with sqlite3 calls on a connection they open
    themselves (often ":memory:"), while lib/audit_log and lib/audit_verify
    speak lib/db.h. tu_db(handle) wraps the connection (lib/db_borrow.h)
    once and returns the same view on every call; tu_sqlite_close closes the
    view and then the connection. A connection given to tu_db must be closed
    with tu_sqlite_close (a new connection may get the same address).
*/
#ifndef HARTSLAG_TU_DB_H
#define HARTSLAG_TU_DB_H

#include "db.h"

/* The view of `handle` (a sqlite3 *); aborts the test when out of memory. */
db_t *tu_db(void *handle);

/* Closes the view of `handle` (if any), then the connection. */
void tu_sqlite_close(void *handle);

#endif
