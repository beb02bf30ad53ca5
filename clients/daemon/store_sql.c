/*  store_sql: see store_sql.h. */
#include "store_sql.h"

#include <stdbool.h>
#include <stdio.h>

sqlite3_stmt *store_sql_prepare(store_t *self, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(store_db(self), sql, -1, &stmt, NULL) != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

void store_sql_text(sqlite3_stmt *stmt, int idx, const char *text)
{
    if (text)
        sqlite3_bind_text(stmt, idx, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, idx);
}

int store_sql_run(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_sql_add_column(store_t *self, const char *table, const char *column, const char *type,
                         char *err, size_t errlen)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s FROM %s LIMIT 0", column, table);
    sqlite3_stmt *probe = NULL;
    bool has = sqlite3_prepare_v2(store_db(self), sql, -1, &probe, NULL) == SQLITE_OK;
    sqlite3_finalize(probe);
    if (has)
        return 0;
    snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", table, column, type);
    char *msg = NULL;
    if (sqlite3_exec(store_db(self), sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot add the column %s to %s: %s", column, table,
                 msg ? msg : "unknown error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}
