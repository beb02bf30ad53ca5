/*  store_case_text: our own words in case conferences; see
    store_case_text.h. Not on the hot path: statements are prepared per
    call, and the JSON is SQLite's. */
#include "store_case_text.h"

#include "store_sql.h"

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

int store_case_text_schema(store_t *self, char *err, size_t errlen)
{
    if (store_sql_add_column(self, "inbox", "case_item", "TEXT", err, errlen) != 0 ||
        store_sql_add_column(self, "inbox", "reshare_of", "TEXT", err, errlen) != 0)
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

int store_case_text_add(store_t *self, const store_case_text_t *text)
{
    sqlite3_stmt *stmt = store_sql_prepare(
        self, "INSERT INTO case_texts (text_id, case_id, kind, item_id, author_user,"
              " fields, free_text, step_id, signal_id, reshare_of, created_ms)"
              " VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    if (!stmt)
        return -1;
    store_sql_text(stmt, 1, text->text_id);
    store_sql_text(stmt, 2, text->case_id);
    store_sql_text(stmt, 3, text->kind);
    store_sql_text(stmt, 4, text->item_id);
    store_sql_text(stmt, 5, text->author_user);
    store_sql_text(stmt, 6, text->fields ? text->fields : "{}");
    store_sql_text(stmt, 7, text->free_text);
    store_sql_text(stmt, 8, text->step_id);
    store_sql_text(stmt, 9, text->signal_id);
    store_sql_text(stmt, 10, text->reshare_of);
    sqlite3_bind_int64(stmt, 11, (sqlite3_int64)text->created_ms);
    return store_sql_run(stmt);
}

int store_case_text_settle(store_t *self, const char *step_id, bool kept)
{
    sqlite3_stmt *stmt =
        store_sql_prepare(self, kept ? "UPDATE case_texts SET step_id = NULL WHERE step_id = ?"
                                     : "DELETE FROM case_texts WHERE step_id = ?");
    if (!stmt)
        return -1;
    store_sql_text(stmt, 1, step_id);
    return store_sql_run(stmt);
}

int store_case_text_each_held(store_t *self, const char *case_id, const char *kind,
                              store_case_text_fn *fn, void *arg)
{
    sqlite3_stmt *stmt = store_sql_prepare(
        self, "SELECT text_id, kind, item_id, author_user, fields, free_text"
              " FROM case_texts WHERE case_id = ?1 AND step_id IS NULL"
              " AND (kind = ?2 OR (?2 IS NULL AND kind <> 'title' AND signal_id IS NULL))"
              " ORDER BY created_ms, rowid");
    if (!stmt)
        return -1;
    store_sql_text(stmt, 1, case_id);
    store_sql_text(stmt, 2, kind);
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
    sqlite3_stmt *stmt = store_sql_prepare(
        self, "UPDATE case_texts SET signal_id = ? WHERE text_id = ? AND kind <> 'title'");
    if (!stmt)
        return -1;
    store_sql_text(stmt, 1, signal_id);
    store_sql_text(stmt, 2, text_id);
    return store_sql_run(stmt);
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
    sqlite3_stmt *stmt =
        store_sql_prepare(self, "SELECT kind, coalesce(item_id, ''), fields, free_text"
                                " FROM case_texts WHERE case_id = ? AND signal_id = ?");
    if (!stmt)
        return -1;
    store_sql_text(stmt, 1, case_id);
    store_sql_text(stmt, 2, signal_id);
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
    sqlite3_stmt *stmt =
        store_sql_prepare(self, "SELECT key, value FROM json_each(?) ORDER BY key");
    if (!stmt)
        return -1;
    store_sql_text(stmt, 1, fields_json);
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
    sqlite3_stmt *stmt = store_sql_prepare(
        self, "UPDATE inbox SET case_item = ?, reshare_of = ? WHERE signal_id = ?");
    if (!stmt)
        return -1;
    store_sql_text(stmt, 1, item_id);
    store_sql_text(stmt, 2, reshare_of);
    store_sql_text(stmt, 3, signal_id);
    return store_sql_run(stmt);
}

/* Runs a one-row, one-text-column query with two parameters into `out`. */
static int s_one(store_t *self, const char *sql, const char *a, const char *b, char *out,
                 size_t outlen)
{
    sqlite3_stmt *stmt = store_sql_prepare(self, sql);
    if (!stmt)
        return -1;
    store_sql_text(stmt, 1, a);
    store_sql_text(stmt, 2, b);
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

/* What was said in a case, ours (?2 names us) and received, one row each:
   at, kind, author, author_user, item, reshare_of, fields, free_text,
   signal_id (NULL: not sent), sent (1, or NULL for a text said when nobody
   else took part). */
#define SAID_ROWS                                                                                  \
    "SELECT created_ms AS at, kind, ?2 AS author, author_user, item_id AS item, reshare_of,"       \
    " fields, free_text, nullif(signal_id, '') AS signal_id,"                                      \
    " CASE WHEN kind = 'title' OR signal_id <> '' THEN 1 END AS sent"                              \
    " FROM case_texts WHERE case_id = ?1 AND step_id IS NULL"                                      \
    " UNION ALL"                                                                                   \
    " SELECT received_ms, CASE signal_type WHEN 'case_title' THEN 'title'"                         \
    "  WHEN 'case_action_text' THEN 'action_text' WHEN 'case_action_note' THEN 'note'"             \
    "  ELSE 'share' END, sender, sender_user, case_item, reshare_of, fields, free_text,"           \
    "  signal_id, 1 FROM inbox WHERE case_id = ?1"

/* Runs a one-row query over SAID_ROWS for case `case_id` into *out. */
static int s_said(store_t *self, const char *sql, const char *case_id, const char *own_org,
                  char **out)
{
    *out = NULL;
    sqlite3_stmt *stmt = store_sql_prepare(self, sql);
    if (!stmt)
        return -1;
    store_sql_text(stmt, 1, case_id);
    store_sql_text(stmt, 2, own_org);
    int rc = sqlite3_step(stmt);
    int result = -1;
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0)) {
        *out = strdup((const char *)sqlite3_column_text(stmt, 0));
        result = *out ? 0 : -1;
    }
    sqlite3_finalize(stmt);
    return result;
}

int store_case_text_json(store_t *self, const char *case_id, const char *own_org, char **json)
{
    return s_said(self,
                  "SELECT coalesce(json_group_array(json_object('signal_id', signal_id, 'kind',"
                  " kind, 'author', author, 'author_user', author_user, 'item', item, 'fields',"
                  " json(fields), 'free_text', free_text, 'at_ms', at, 'sent',"
                  " json(CASE WHEN sent THEN 'true' ELSE 'false' END), 'reshare_of', reshare_of)),"
                  " '[]') FROM (" SAID_ROWS " ORDER BY at)",
                  case_id, own_org, json);
}

int store_case_text_lines(store_t *self, const char *case_id, const char *own_org, char **text)
{
    return s_said(
        self,
        "SELECT coalesce(group_concat(printf('  %s  %-11s %s%s%s%s: %s',"
        " strftime('%Y-%m-%d %H:%M', at / 1000, 'unixepoch', 'localtime'),"
        " CASE kind WHEN 'action_text' THEN 'action' WHEN 'share' THEN 'shared' ELSE kind END,"
        " author, CASE WHEN item IS NULL THEN '' ELSE ' (action ' || item || ')' END,"
        " CASE WHEN reshare_of IS NULL THEN '' ELSE ' (re-share of ' || reshare_of || ')' END,"
        " CASE WHEN sent IS NULL THEN ', not sent: nobody else took part' ELSE '' END,"
        " trim(coalesce((SELECT group_concat(key || '=' || value, ', ') FROM json_each(fields)),"
        " '') || CASE WHEN free_text IS NULL THEN '' ELSE ' ' || free_text END)), char(10)), '')"
        " FROM (" SAID_ROWS " ORDER BY at)",
        case_id, own_org, text);
}
