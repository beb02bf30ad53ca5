/*  store_case: case conferences in the daemon's store; see store_case.h.
    Not on the hot path: statements are prepared per call. The JSON the
    CLI and the hook read is built by SQLite's JSON functions, so that
    quoting is SQLite's, not hand-written. */
#include "store_case.h"
#include "store_sql.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_schema =
    "CREATE TABLE IF NOT EXISTS cases ("
    "  case_id TEXT PRIMARY KEY, kind TEXT NOT NULL, coordinator TEXT NOT NULL,"
    "  subject TEXT NOT NULL, closed INTEGER NOT NULL, outcome TEXT, meeting_date TEXT,"
    "  opened_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, participants TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS case_steps ("
    "  action_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, verb TEXT NOT NULL,"
    "  actor TEXT NOT NULL, actor_user TEXT NOT NULL, at_ms INTEGER NOT NULL,"
    "  audit_index INTEGER NOT NULL, detail TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS case_steps_case ON case_steps (case_id, at_ms);"
    "CREATE TABLE IF NOT EXISTS cases_gone ("
    "  case_id TEXT PRIMARY KEY, purged_ms INTEGER NOT NULL, last_step_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS inbox_case ON inbox (case_id) WHERE case_id IS NOT NULL;";

/* Every table that holds a case's own rows, keyed by its `case_id`: the
   purge after the case's retention deletes from each, in one
   transaction. A new case table is purged with the case by adding it
   here (and nowhere else). The inbox is not one: shares are inbox entries
   whose retention the close already shortened, and the inbox's purge
   removes them, each with its own audit row and hook event. */
static const char *const s_case_tables[] = {
    "case_steps",
    "case_texts",
    "cases",
};

/* The columns of a case as one JSON object (without its steps). */
#define CASE_JSON                                                                                  \
    "json_object('kind', 'case', 'case_id', case_id, 'case_kind', kind, 'coordinator', "           \
    "coordinator, 'subject', subject, 'state', CASE WHEN closed THEN 'closed' ELSE 'open' END, "   \
    "'outcome', outcome, 'meeting_date', meeting_date, 'opened_at_ms', opened_ms, "                \
    "'updated_at_ms', updated_ms, 'overdue_at_ms', overdue_ms, 'purge_after_ms', purge_after_ms, " \
    "'participants', json(participants), 'title', " CASE_TITLE

/* The case's title as this organisation holds it (content, for its own
   eyes: list and show, never the agenda or the hook's case events): the
   one it gave, or the one it received. */
#define CASE_TITLE                                                                                 \
    "coalesce((SELECT free_text FROM case_texts AS t WHERE t.case_id = cases.case_id"              \
    " AND t.kind = 'title' AND t.step_id IS NULL ORDER BY t.created_ms DESC LIMIT 1),"             \
    " (SELECT free_text FROM inbox AS i WHERE i.case_id = cases.case_id"                           \
    " AND i.signal_type = 'case_title' ORDER BY i.received_ms DESC LIMIT 1))"

int store_case_schema(store_t *self, char *err, size_t errlen)
{
    char *msg = NULL;
    /* Inbox entries shared in a case name it, so that closing the case
       (or leaving it) shortens their retention. Stores made before cases
       get the column. */
    sqlite3_stmt *probe = NULL;
    bool has_column = sqlite3_prepare_v2(store_db(self), "SELECT case_id FROM inbox LIMIT 0", -1,
                                         &probe, NULL) == SQLITE_OK;
    sqlite3_finalize(probe);
    if (!has_column && sqlite3_exec(store_db(self), "ALTER TABLE inbox ADD COLUMN case_id TEXT",
                                    NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot add the inbox's case column: %s",
                 msg ? msg : "unknown error");
        sqlite3_free(msg);
        return -1;
    }
    if (sqlite3_exec(store_db(self), s_schema, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot set up the case tables: %s", msg ? msg : "unknown error");
        sqlite3_free(msg);
        return -1;
    }
    /* When the case's rows go; stores made before the purge get the column. */
    if (store_sql_add_column(self, "cases", "purge_after_ms", "INTEGER", err, errlen) != 0)
        return -1;
    if (sqlite3_exec(store_db(self),
                     "CREATE INDEX IF NOT EXISTS cases_purge ON cases (purge_after_ms)"
                     " WHERE purge_after_ms IS NOT NULL;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot index the cases' purge column: %s",
                 msg ? msg : "unknown error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static sqlite3_stmt *s_prepare(store_t *self, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(store_db(self), sql, -1, &stmt, NULL) != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

static void s_text(sqlite3_stmt *stmt, int idx, const char *text)
{
    if (text)
        sqlite3_bind_text(stmt, idx, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, idx);
}

/* Runs a write and finalizes it. */
static int s_run(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_case_put(store_t *self, const store_case_t *c)
{
    sqlite3_stmt *stmt = s_prepare(
        self, "INSERT INTO cases (case_id, kind, coordinator, subject, closed, outcome,"
              " meeting_date, opened_ms, updated_ms, participants, purge_after_ms)"
              " VALUES (?,?,?,?,?,?,?,?,?,?,?)"
              " ON CONFLICT (case_id) DO UPDATE SET closed = max(closed, excluded.closed),"
              " outcome = coalesce(excluded.outcome, outcome),"
              " meeting_date = coalesce(excluded.meeting_date, meeting_date),"
              " updated_ms = max(updated_ms, excluded.updated_ms),"
              " participants = CASE WHEN excluded.updated_ms >= updated_ms"
              " THEN excluded.participants ELSE participants END,"
              " purge_after_ms = CASE WHEN excluded.updated_ms < updated_ms THEN purge_after_ms"
              " WHEN excluded.purge_after_ms IS NULL THEN NULL"
              " ELSE coalesce(min(purge_after_ms, excluded.purge_after_ms),"
              " excluded.purge_after_ms) END");
    if (!stmt)
        return -1;
    s_text(stmt, 1, c->case_id);
    s_text(stmt, 2, c->kind);
    s_text(stmt, 3, c->coordinator);
    s_text(stmt, 4, c->subject);
    sqlite3_bind_int(stmt, 5, c->closed ? 1 : 0);
    s_text(stmt, 6, c->outcome);
    s_text(stmt, 7, c->meeting_date);
    sqlite3_bind_int64(stmt, 8, (sqlite3_int64)c->opened_ms);
    sqlite3_bind_int64(stmt, 9, (sqlite3_int64)c->updated_ms);
    s_text(stmt, 10, c->participants);
    if (c->purge_after_ms)
        sqlite3_bind_int64(stmt, 11, (sqlite3_int64)c->purge_after_ms);
    else
        sqlite3_bind_null(stmt, 11);
    return s_run(stmt);
}

int store_case_step_add(store_t *self, const store_case_step_t *step)
{
    sqlite3_stmt *stmt =
        s_prepare(self, "INSERT OR IGNORE INTO case_steps (action_id, case_id, verb, actor,"
                        " actor_user, at_ms, audit_index, detail) VALUES (?,?,?,?,?,?,?,?)");
    if (!stmt)
        return -1;
    s_text(stmt, 1, step->action_id);
    s_text(stmt, 2, step->case_id);
    s_text(stmt, 3, step->verb);
    s_text(stmt, 4, step->actor);
    s_text(stmt, 5, step->actor_user);
    sqlite3_bind_int64(stmt, 6, (sqlite3_int64)step->at_ms);
    sqlite3_bind_int64(stmt, 7, (sqlite3_int64)step->audit_index);
    s_text(stmt, 8, step->detail);
    return s_run(stmt);
}

int store_case_json(store_t *self, const char *case_id, char **json)
{
    *json = NULL;
    sqlite3_stmt *stmt = s_prepare(
        self, "SELECT " CASE_JSON ", 'steps', (SELECT json_group_array(json_object("
              "'action_id', action_id, 'step', verb, 'actor', actor, 'actor_user', actor_user,"
              " 'at_ms', at_ms, 'audit_index', audit_index, 'detail', json(detail)))"
              " FROM (SELECT * FROM case_steps WHERE case_id = ?1 ORDER BY at_ms, rowid)))"
              " FROM cases WHERE case_id = ?1");
    if (!stmt)
        return -1;
    s_text(stmt, 1, case_id);
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_DONE ? 0 : -1;
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0)) {
        *json = strdup((const char *)sqlite3_column_text(stmt, 0));
        result = *json ? 1 : -1;
    }
    sqlite3_finalize(stmt);
    return result;
}

int store_case_each(store_t *self, bool open_only, store_json_fn *fn, void *arg)
{
    sqlite3_stmt *stmt = s_prepare(self, "SELECT " CASE_JSON ") FROM cases"
                                         " WHERE closed = 0 OR ?1 = 0 ORDER BY updated_ms DESC");
    if (!stmt)
        return -1;
    sqlite3_bind_int(stmt, 1, open_only ? 1 : 0);
    int rc, result = 0;
    while (result == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const unsigned char *json = sqlite3_column_text(stmt, 0);
        if (!json || fn(arg, (const char *)json) != 0)
            result = -1;
    }
    if (result == 0 && rc != SQLITE_DONE)
        result = -1;
    sqlite3_finalize(stmt);
    return result;
}

int store_case_alert_subject(store_t *self, const char *alert_id, char subject[65])
{
    sqlite3_stmt *stmt = s_prepare(self, "SELECT subject FROM alerts WHERE alert_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, alert_id);
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_DONE ? 0 : -1;
    const unsigned char *text = rc == SQLITE_ROW ? sqlite3_column_text(stmt, 0) : NULL;
    if (text && strlen((const char *)text) == 64) {
        memcpy(subject, text, 65);
        result = 1;
    }
    sqlite3_finalize(stmt);
    return result;
}

int store_case_get(store_t *self, const char *case_id, char kind[65], bool *closed,
                   char subject[65], char **participants)
{
    *participants = NULL;
    sqlite3_stmt *stmt =
        s_prepare(self, "SELECT kind, closed, subject, participants FROM cases WHERE case_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, case_id);
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_DONE ? 0 : -1;
    if (rc == SQLITE_ROW) {
        const unsigned char *k = sqlite3_column_text(stmt, 0);
        const unsigned char *subj = sqlite3_column_text(stmt, 2);
        const unsigned char *parts = sqlite3_column_text(stmt, 3);
        snprintf(kind, 65, "%s", k ? (const char *)k : "");
        snprintf(subject, 65, "%s", subj ? (const char *)subj : "");
        *closed = sqlite3_column_int(stmt, 1) != 0;
        *participants = strdup(parts ? (const char *)parts : "[]");
        result = *participants ? 1 : -1;
    }
    sqlite3_finalize(stmt);
    return result;
}

int store_case_inbox_link(store_t *self, const char *signal_id, const char *case_id)
{
    sqlite3_stmt *stmt = s_prepare(self, "UPDATE inbox SET case_id = ? WHERE signal_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, case_id);
    s_text(stmt, 2, signal_id);
    return s_run(stmt);
}

int store_case_retain_until(store_t *self, const char *case_id, uint64_t until_ms)
{
    sqlite3_stmt *stmt = s_prepare(self, "UPDATE inbox SET retain_until_ms = min(retain_until_ms,"
                                         " ?) WHERE case_id = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)until_ms);
    s_text(stmt, 2, case_id);
    return s_run(stmt);
}

int store_case_purge_due_each(store_t *self, uint64_t now_ms, store_case_due_fn *fn, void *arg)
{
    sqlite3_stmt *stmt = s_prepare(self, "SELECT case_id, kind FROM cases WHERE purge_after_ms"
                                         " IS NOT NULL AND purge_after_ms <= ? ORDER BY"
                                         " purge_after_ms, case_id");
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)now_ms);
    int rc, result = 0;
    while (result == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *case_id = (const char *)sqlite3_column_text(stmt, 0);
        const char *kind = (const char *)sqlite3_column_text(stmt, 1);
        if (!case_id || !kind || fn(arg, case_id, kind) != 0)
            result = -1;
    }
    if (result == 0 && rc != SQLITE_DONE)
        result = -1;
    sqlite3_finalize(stmt);
    return result;
}

int store_case_purge(store_t *self, const char *case_id, uint64_t now_ms)
{
    /* The tombstone first, from the row about to go: a purge of a case no
       longer held keeps the tombstone it has. */
    sqlite3_stmt *stone =
        s_prepare(self, "INSERT OR REPLACE INTO cases_gone (case_id, purged_ms, last_step_ms)"
                        " SELECT case_id, ?, updated_ms FROM cases WHERE case_id = ?");
    if (!stone)
        return -1;
    sqlite3_bind_int64(stone, 1, (sqlite3_int64)now_ms);
    s_text(stone, 2, case_id);
    if (s_run(stone) != 0)
        return -1;
    int held = 0;
    for (size_t i = 0; i < sizeof s_case_tables / sizeof s_case_tables[0]; i++) {
        char sql[120];
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE case_id = ?", s_case_tables[i]);
        sqlite3_stmt *stmt = s_prepare(self, sql);
        if (!stmt)
            return -1;
        s_text(stmt, 1, case_id);
        if (sqlite3_step(stmt) != SQLITE_DONE) {
            sqlite3_finalize(stmt);
            return -1;
        }
        if (strcmp(s_case_tables[i], "cases") == 0)
            held = sqlite3_changes(store_db(self)) > 0;
        sqlite3_finalize(stmt);
    }
    /* Texts said in the case were among the rows: no copy stays in the WAL. */
    store_note_removed(self);
    return held;
}

int store_case_gone(store_t *self, const char *case_id, uint64_t *purged_ms, uint64_t *last_step_ms)
{
    sqlite3_stmt *stmt =
        s_prepare(self, "SELECT purged_ms, last_step_ms FROM cases_gone WHERE case_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, case_id);
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (result == 1) {
        *purged_ms = (uint64_t)sqlite3_column_int64(stmt, 0);
        *last_step_ms = (uint64_t)sqlite3_column_int64(stmt, 1);
    }
    sqlite3_finalize(stmt);
    return result;
}

int store_case_ungone(store_t *self, const char *case_id)
{
    sqlite3_stmt *stmt = s_prepare(self, "DELETE FROM cases_gone WHERE case_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, case_id);
    return s_run(stmt);
}
