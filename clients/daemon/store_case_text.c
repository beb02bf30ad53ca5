/*  store_case_text: our own words in case conferences; see
    store_case_text.h. Not on the hot path: statements are prepared per
    call, and the JSON is SQLite's. */
#include "store_case_text.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_schema =
    "CREATE TABLE IF NOT EXISTS case_texts ("
    "  text_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, kind TEXT NOT NULL, item_id TEXT,"
    "  author_user TEXT NOT NULL, fields TEXT NOT NULL, free_text TEXT, step_id TEXT,"
    "  signal_id TEXT, reshare_of TEXT, created_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS case_texts_case ON case_texts (case_id, created_ms);"
    "CREATE INDEX IF NOT EXISTS case_texts_step ON case_texts (step_id) WHERE step_id IS NOT NULL;";

/* Adds `column` to the inbox unless a store made before it has it already. */
static int s_inbox_column(store_t *self, const char *column, char *err, size_t errlen)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s FROM inbox LIMIT 0", column);
    sqlite3_stmt *probe = NULL;
    bool has = sqlite3_prepare_v2(store_db(self), sql, -1, &probe, NULL) == SQLITE_OK;
    sqlite3_finalize(probe);
    if (has)
        return 0;
    snprintf(sql, sizeof sql, "ALTER TABLE inbox ADD COLUMN %s TEXT", column);
    char *msg = NULL;
    if (sqlite3_exec(store_db(self), sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot add the inbox's %s column: %s", column,
                 msg ? msg : "unknown error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int store_case_text_schema(store_t *self, char *err, size_t errlen)
{
    if (s_inbox_column(self, "case_item", err, errlen) != 0 ||
        s_inbox_column(self, "reshare_of", err, errlen) != 0)
        return -1;
    char *msg = NULL;
    if (sqlite3_exec(store_db(self), s_schema, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot set up the case texts table: %s",
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

static int s_run(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_case_text_add(store_t *self, const store_case_text_t *text)
{
    sqlite3_stmt *stmt =
        s_prepare(self, "INSERT INTO case_texts (text_id, case_id, kind, item_id, author_user,"
                        " fields, free_text, step_id, signal_id, reshare_of, created_ms)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    if (!stmt)
        return -1;
    s_text(stmt, 1, text->text_id);
    s_text(stmt, 2, text->case_id);
    s_text(stmt, 3, text->kind);
    s_text(stmt, 4, text->item_id);
    s_text(stmt, 5, text->author_user);
    s_text(stmt, 6, text->fields ? text->fields : "{}");
    s_text(stmt, 7, text->free_text);
    s_text(stmt, 8, text->step_id);
    s_text(stmt, 9, text->signal_id);
    s_text(stmt, 10, text->reshare_of);
    sqlite3_bind_int64(stmt, 11, (sqlite3_int64)text->created_ms);
    return s_run(stmt);
}

int store_case_text_settle(store_t *self, const char *step_id, bool kept)
{
    sqlite3_stmt *stmt =
        s_prepare(self, kept ? "UPDATE case_texts SET step_id = NULL WHERE step_id = ?"
                             : "DELETE FROM case_texts WHERE step_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, step_id);
    return s_run(stmt);
}

int store_case_text_each_held(store_t *self, const char *case_id, const char *kind,
                              store_case_text_fn *fn, void *arg)
{
    sqlite3_stmt *stmt =
        s_prepare(self, "SELECT text_id, kind, item_id, author_user, fields, free_text"
                        " FROM case_texts WHERE case_id = ?1 AND step_id IS NULL"
                        " AND (kind = ?2 OR (?2 IS NULL AND kind <> 'title' AND signal_id IS NULL))"
                        " ORDER BY created_ms, rowid");
    if (!stmt)
        return -1;
    s_text(stmt, 1, case_id);
    s_text(stmt, 2, kind);
    int rc, result = 0;
    while (result == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        store_case_text_t text = {
            .text_id = (const char *)sqlite3_column_text(stmt, 0),
            .case_id = case_id,
            .kind = (const char *)sqlite3_column_text(stmt, 1),
            .item_id = (const char *)sqlite3_column_text(stmt, 2),
            .author_user = (const char *)sqlite3_column_text(stmt, 3),
            .fields = (const char *)sqlite3_column_text(stmt, 4),
            .free_text = (const char *)sqlite3_column_text(stmt, 5),
        };
        if (!text.text_id || !text.kind || !text.author_user || fn(arg, &text) != 0)
            result = -1;
    }
    if (result == 0 && rc != SQLITE_DONE)
        result = -1;
    sqlite3_finalize(stmt);
    return result;
}

int store_case_text_sent(store_t *self, const char *text_id, const char *signal_id)
{
    /* A title stays held: it goes again to each partner that joins. */
    sqlite3_stmt *stmt = s_prepare(
        self, "UPDATE case_texts SET signal_id = ? WHERE text_id = ? AND kind <> 'title'");
    if (!stmt)
        return -1;
    s_text(stmt, 1, signal_id);
    s_text(stmt, 2, text_id);
    return s_run(stmt);
}

static char *s_dup_column(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    return text ? strdup((const char *)text) : NULL;
}

int store_case_text_by_signal(store_t *self, const char *case_id, const char *signal_id,
                              char kind[16], char item_id[33], char **fields, char **free_text)
{
    *fields = *free_text = NULL;
    sqlite3_stmt *stmt = s_prepare(self, "SELECT kind, coalesce(item_id, ''), fields, free_text"
                                         " FROM case_texts WHERE case_id = ? AND signal_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, case_id);
    s_text(stmt, 2, signal_id);
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_DONE ? 0 : -1;
    if (rc == SQLITE_ROW) {
        snprintf(kind, 16, "%s", (const char *)sqlite3_column_text(stmt, 0));
        snprintf(item_id, 33, "%s", (const char *)sqlite3_column_text(stmt, 1));
        *fields = s_dup_column(stmt, 2);
        *free_text = s_dup_column(stmt, 3);
        result = *fields && (*free_text || sqlite3_column_type(stmt, 3) == SQLITE_NULL) ? 1 : -1;
        if (result < 0) {
            free(*fields);
            free(*free_text);
            *fields = *free_text = NULL;
        }
    }
    sqlite3_finalize(stmt);
    return result;
}

int store_case_text_fields(store_t *self, const char *fields_json, const char **names,
                           const char **values, size_t max, size_t *n, char **pairs,
                           size_t *pairs_len)
{
    *n = 0;
    *pairs = NULL;
    *pairs_len = 0;
    sqlite3_stmt *stmt = s_prepare(self, "SELECT key, value FROM json_each(?) ORDER BY key");
    if (!stmt)
        return -1;
    s_text(stmt, 1, fields_json);
    /* Two passes: the size, then the copies (pointers into one buffer). */
    size_t need = 0, count = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && count < max) {
        need += (size_t)sqlite3_column_bytes(stmt, 0) + (size_t)sqlite3_column_bytes(stmt, 1) + 2;
        count++;
    }
    int result = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
    char *buf = result == 0 ? malloc(need ? need : 1) : NULL;
    if (result == 0 && !buf)
        result = -1;
    sqlite3_reset(stmt);
    size_t used = 0;
    while (result == 0 && *n < count && sqlite3_step(stmt) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(stmt, 0);
        const char *value = (const char *)sqlite3_column_text(stmt, 1);
        if (!key || !value) {
            result = -1;
            break;
        }
        size_t klen = strlen(key) + 1, vlen = strlen(value) + 1;
        if (used + klen + vlen > need) {
            result = -1;
            break;
        }
        memcpy(buf + used, key, klen);
        names[*n] = buf + used;
        used += klen;
        memcpy(buf + used, value, vlen);
        values[*n] = buf + used;
        used += vlen;
        (*n)++;
    }
    sqlite3_finalize(stmt);
    if (result != 0) {
        if (buf) {
            sodium_memzero(buf, need);
            free(buf);
        }
        *n = 0;
        return -1;
    }
    *pairs = buf;
    *pairs_len = need ? need : 1;
    return 0;
}

int store_case_text_inbox_mark(store_t *self, const char *signal_id, const char *item_id,
                               const char *reshare_of)
{
    sqlite3_stmt *stmt =
        s_prepare(self, "UPDATE inbox SET case_item = ?, reshare_of = ? WHERE signal_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, item_id);
    s_text(stmt, 2, reshare_of);
    s_text(stmt, 3, signal_id);
    return s_run(stmt);
}

/* Runs a one-row, one-text-column query with two parameters into `out`. */
static int s_one(store_t *self, const char *sql, const char *a, const char *b, char *out,
                 size_t outlen)
{
    sqlite3_stmt *stmt = s_prepare(self, sql);
    if (!stmt)
        return -1;
    s_text(stmt, 1, a);
    s_text(stmt, 2, b);
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_DONE ? 0 : -1;
    const unsigned char *text = rc == SQLITE_ROW ? sqlite3_column_text(stmt, 0) : NULL;
    if (text && strlen((const char *)text) < outlen) {
        snprintf(out, outlen, "%s", (const char *)text);
        result = 1;
    } else if (rc == SQLITE_ROW)
        result = 0;
    sqlite3_finalize(stmt);
    return result;
}

int store_case_text_coordinator(store_t *self, const char *case_id, char org[40])
{
    return s_one(self, "SELECT coordinator FROM cases WHERE case_id = ?1 AND ?2 IS NULL", case_id,
                 NULL, org, 40);
}

int store_case_text_item_owner(store_t *self, const char *case_id, const char *item_id,
                               char owner[40])
{
    return s_one(self,
                 "SELECT json_extract(a.value, '$.owner') FROM case_steps AS p,"
                 " json_each(p.detail, '$.actions') AS a"
                 " WHERE p.case_id = ?1 AND p.verb = 'plan'"
                 " AND json_extract(a.value, '$.item') = ?2 LIMIT 1",
                 case_id, item_id, owner, 40);
}

int store_case_text_json(store_t *self, const char *case_id, const char *own_org, char **json)
{
    *json = NULL;
    sqlite3_stmt *stmt = s_prepare(
        self, "SELECT coalesce(json_group_array(json(t)), '[]') FROM ("
              " SELECT json_object('signal_id', signal_id, 'kind', kind, 'author', ?2,"
              "  'author_user', author_user, 'item', item_id, 'fields', json(fields),"
              "  'free_text', free_text, 'at_ms', created_ms, 'sent', json(CASE WHEN signal_id IS "
              "NULL THEN 'false' ELSE 'true' END),"
              "  'reshare_of', reshare_of) AS t, created_ms AS at"
              " FROM case_texts WHERE case_id = ?1 AND step_id IS NULL"
              " UNION ALL"
              " SELECT json_object('signal_id', signal_id, 'kind', CASE signal_type"
              "  WHEN 'case_title' THEN 'title' WHEN 'case_action_text' THEN 'action_text'"
              "  WHEN 'case_action_note' THEN 'note' ELSE 'share' END, 'author', sender,"
              "  'author_user', sender_user, 'item', case_item, 'fields', json(fields),"
              "  'free_text', free_text, 'at_ms', received_ms, 'sent', json('false'),"
              "  'reshare_of', reshare_of), received_ms"
              " FROM inbox WHERE case_id = ?1"
              " ORDER BY 2)");
    if (!stmt)
        return -1;
    s_text(stmt, 1, case_id);
    s_text(stmt, 2, own_org);
    int rc = sqlite3_step(stmt);
    int result = -1;
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0)) {
        *json = strdup((const char *)sqlite3_column_text(stmt, 0));
        result = *json ? 0 : -1;
    }
    sqlite3_finalize(stmt);
    return result;
}

int store_case_text_lines(store_t *self, const char *case_id, const char *own_org, char **text)
{
    *text = NULL;
    sqlite3_stmt *stmt = s_prepare(
        self,
        "SELECT coalesce(group_concat(line, char(10)), '') FROM ("
        " SELECT printf('  %s  %-11s %s%s%s%s: %s', strftime('%Y-%m-%d %H:%M', at / 1000,"
        "  'unixepoch', 'localtime'), CASE kind WHEN 'title' THEN 'title' WHEN 'action_text'"
        "  THEN 'action' WHEN 'note' THEN 'note' ELSE 'shared' END, author,"
        "  CASE WHEN item IS NULL THEN '' ELSE ' (action ' || item || ')' END,"
        "  CASE WHEN reshare_of IS NULL THEN '' ELSE ' (re-share of ' || reshare_of || ')' END,"
        "  CASE WHEN sent IS NULL THEN ', not sent: nobody else took part' ELSE '' END,"
        "  trim(coalesce((SELECT group_concat(key || '=' || value, ', ') FROM json_each(fields)),"
        "  '') || CASE WHEN free_text IS NULL THEN '' ELSE ' ' || free_text END)) AS line, at"
        " FROM ("
        "  SELECT created_ms AS at, kind, ?2 AS author, item_id AS item, reshare_of, fields,"
        "   free_text, CASE WHEN kind = 'title' OR signal_id <> '' THEN 1 END AS sent"
        "   FROM case_texts WHERE case_id = ?1 AND step_id IS NULL"
        "  UNION ALL"
        "  SELECT received_ms, CASE signal_type WHEN 'case_title' THEN 'title'"
        "   WHEN 'case_action_text' THEN 'action_text' WHEN 'case_action_note' THEN 'note'"
        "   ELSE 'share' END, sender, case_item, reshare_of, fields, free_text, 1"
        "   FROM inbox WHERE case_id = ?1)"
        " ORDER BY at)");
    if (!stmt)
        return -1;
    s_text(stmt, 1, case_id);
    s_text(stmt, 2, own_org);
    int rc = sqlite3_step(stmt);
    int result = -1;
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0)) {
        *text = strdup((const char *)sqlite3_column_text(stmt, 0));
        result = *text ? 0 : -1;
    }
    sqlite3_finalize(stmt);
    return result;
}
