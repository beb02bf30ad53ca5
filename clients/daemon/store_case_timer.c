/*  store_case_timer: see store_case_timer.h. */
#include "store_case_timer.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>

int store_case_timer_schema(store_t *self, char *err, size_t errlen)
{
    sqlite3_stmt *probe = NULL;
    bool has_column = sqlite3_prepare_v2(store_db(self), "SELECT overdue_ms FROM cases LIMIT 0", -1,
                                         &probe, NULL) == SQLITE_OK;
    sqlite3_finalize(probe);
    if (has_column)
        return 0;
    char *msg = NULL;
    if (sqlite3_exec(store_db(self), "ALTER TABLE cases ADD COLUMN overdue_ms INTEGER", NULL, NULL,
                     &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot add the cases' overdue column: %s",
                 msg ? msg : "unknown error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int store_case_unflagged_each(store_t *self, const char *coordinator, store_case_open_fn *fn,
                              void *arg)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(store_db(self),
                           "SELECT case_id, kind, opened_ms FROM cases WHERE closed = 0"
                           " AND coordinator = ?1 AND overdue_ms IS NULL ORDER BY opened_ms",
                           -1, &stmt, NULL) != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_bind_text(stmt, 1, coordinator, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *case_id = (const char *)sqlite3_column_text(stmt, 0);
        const char *kind = (const char *)sqlite3_column_text(stmt, 1);
        sqlite3_int64 opened = sqlite3_column_int64(stmt, 2);
        if (!case_id || !kind || opened < 0 || fn(arg, case_id, kind, (uint64_t)opened) != 0) {
            sqlite3_finalize(stmt);
            return -1;
        }
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_case_flag_overdue(store_t *self, const char *case_id, uint64_t now_ms)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(store_db(self),
                           "UPDATE cases SET overdue_ms = ?1 WHERE case_id = ?2"
                           " AND overdue_ms IS NULL",
                           -1, &stmt, NULL) != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)now_ms);
    sqlite3_bind_text(stmt, 2, case_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}
