/*  store_case_agenda: see store_case_agenda.h. */
#include "store_case_agenda.h"

#include <sqlite3.h>

/* Participants in words from the stored JSON array, and the whole row as
   JSON, in SQL: the agenda is read once per meeting. */
static const char s_agenda_sql[] =
    "SELECT case_id, kind, coordinator, meeting_date, opened_ms, overdue_ms IS NOT NULL,"
    " meeting_date IS ?1,"
    " (SELECT group_concat(json_extract(p.value, '$.org') || ':' ||"
    "   json_extract(p.value, '$.state'), ',') FROM json_each(participants) AS p),"
    " json_object('kind', 'case_agenda', 'case_id', case_id, 'case_kind', kind,"
    "   'coordinator', coordinator, 'meeting_date', meeting_date, 'opened_at_ms', opened_ms,"
    "   'overdue_at_ms', overdue_ms, 'scheduled', json(CASE WHEN meeting_date IS ?1"
    "   THEN 'true' ELSE 'false' END), 'participants', json(participants))"
    " FROM cases WHERE closed = 0 AND (meeting_date IS ?1 OR overdue_ms IS NOT NULL)"
    " ORDER BY meeting_date IS ?1 DESC, opened_ms, case_id";

int store_case_agenda_each(store_t *self, const char *date, store_agenda_fn *fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(store_db(self), s_agenda_sql, -1, &stmt, NULL) != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_bind_text(stmt, 1, date, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        sqlite3_int64 opened = sqlite3_column_int64(stmt, 4);
        store_agenda_case_t item = {
            .case_id = (const char *)sqlite3_column_text(stmt, 0),
            .kind = (const char *)sqlite3_column_text(stmt, 1),
            .coordinator = (const char *)sqlite3_column_text(stmt, 2),
            .meeting_date = (const char *)sqlite3_column_text(stmt, 3),
            .opened_ms = opened > 0 ? (uint64_t)opened : 0,
            .overdue = sqlite3_column_int(stmt, 5) != 0,
            .scheduled = sqlite3_column_int(stmt, 6) != 0,
            .participants = (const char *)sqlite3_column_text(stmt, 7),
            .json = (const char *)sqlite3_column_text(stmt, 8),
        };
        if (!item.case_id || !item.kind || !item.coordinator || !item.json || fn(arg, &item) != 0) {
            sqlite3_finalize(stmt);
            return -1;
        }
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The plan's actions live in the plan steps' detail (cases.c); an action
   is done when an action_done step names it. */
static const char s_actions_sql[] =
    "SELECT p.case_id, json_extract(a.value, '$.item'), json_extract(a.value, '$.owner'),"
    " json_extract(a.value, '$.due_date'),"
    " json_object('kind', 'case_agenda_action', 'case_id', p.case_id,"
    "   'item', json_extract(a.value, '$.item'), 'owner', json_extract(a.value, '$.owner'),"
    "   'due_date', json_extract(a.value, '$.due_date'))"
    " FROM case_steps AS p JOIN cases AS c ON c.case_id = p.case_id AND c.closed = 0,"
    " json_each(p.detail, '$.actions') AS a"
    " WHERE p.verb = 'plan' AND json_extract(a.value, '$.due_date') <= ?1"
    " AND NOT EXISTS (SELECT 1 FROM case_steps AS d WHERE d.case_id = p.case_id"
    "   AND d.verb = 'action_done'"
    "   AND json_extract(d.detail, '$.item') = json_extract(a.value, '$.item'))"
    " ORDER BY 4, 1, 2";

int store_case_agenda_actions(store_t *self, const char *date, store_agenda_action_fn *fn,
                              void *arg)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(store_db(self), s_actions_sql, -1, &stmt, NULL) != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_bind_text(stmt, 1, date, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        store_agenda_action_t item = {
            .case_id = (const char *)sqlite3_column_text(stmt, 0),
            .item = (const char *)sqlite3_column_text(stmt, 1),
            .owner = (const char *)sqlite3_column_text(stmt, 2),
            .due_date = (const char *)sqlite3_column_text(stmt, 3),
            .json = (const char *)sqlite3_column_text(stmt, 4),
        };
        if (!item.case_id || !item.item || !item.owner || !item.due_date || !item.json ||
            fn(arg, &item) != 0) {
            sqlite3_finalize(stmt);
            return -1;
        }
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}
