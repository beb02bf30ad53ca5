/*  store_sql: the few SQLite habits the daemon store's modules share
    (store_case*.c): a statement prepared per call, a text bound or NULL,
    a write run to its end, a column added to a table that older stores
    lack. Not on the hot path (store.c keeps its own prepared statements).
*/
#ifndef HARTSLAG_DAEMON_STORE_SQL_H
#define HARTSLAG_DAEMON_STORE_SQL_H

#include "store.h"

#include <sqlite3.h>
#include <stddef.h>

/* `sql` prepared on the store's connection, or NULL. The caller finalizes. */
sqlite3_stmt *store_sql_prepare(store_t *self, const char *sql);

/* Binds `text` (copied) to parameter `idx`, or NULL when `text` is NULL. */
void store_sql_text(sqlite3_stmt *stmt, int idx, const char *text);

/* Steps a write once and finalizes it: 0 when it completed, -1. */
int store_sql_run(sqlite3_stmt *stmt);

/* Adds `column` (with its SQL `type`) to `table` unless the table has it
   already: stores made before a column existed get it at open. 0, or -1
   with the reason in `err`. */
int store_sql_add_column(store_t *self, const char *table, const char *column, const char *type,
                         char *err, size_t errlen);

#endif
