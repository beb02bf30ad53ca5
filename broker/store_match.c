/*  store_match: the match index's tables in the broker's store; see
    store_match.h. */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_sql[MST_COUNT_] = {
    [MST_INDEX_PUT] = "INSERT INTO match_index(signal_id, subject, sender, signal_type, "
                      "at_ms, valid_until) VALUES($1, $2, $3, $4, $5, $6)",
    [MST_WINDOW] = "SELECT sender, signal_type, at_ms, signal_id FROM match_index "
                   "WHERE subject = $1 AND at_ms >= $2 AND valid_until > $3 ORDER BY at_ms DESC",
    [MST_MEMBERS_GET] = "SELECT members FROM match_state WHERE rule_id = $1 AND subject = $2",
    [MST_MEMBERS_PUT] = "INSERT INTO match_state(rule_id, subject, members) VALUES($1, $2, $3) "
                        "ON CONFLICT (rule_id, subject) DO UPDATE SET members = excluded.members",
    [MST_ALERT_PUT] = "INSERT INTO alerts(alert_id, rule_id, subject, raised_ms, state) "
                      "VALUES($1, $2, $3, $4, 'open')",
    [MST_ALERT_GET] = "SELECT rule_id, subject, raised_ms FROM alerts WHERE alert_id = $1",
    [MST_ALERT_HANDLE] = "UPDATE alerts SET state = 'handled', lead_org = $1, handled_ms = $2 "
                         "WHERE alert_id = $3",
    [MST_WITHDRAW] = "DELETE FROM match_index WHERE subject = $1 AND signal_id = $2",
    [MST_PRUNE] = "DELETE FROM match_index WHERE valid_until <= $1 OR at_ms < $2",
    [MST_COUNT] = "SELECT count(*) FROM match_index",
};

int store_match_prepare(broker_store_t *self, char *err, size_t errlen)
{
    for (int i = 0; i < MST_COUNT_; i++)
        if (!(self->match[i] = db_prepare(self->db, s_sql[i]))) {
            snprintf(err, errlen, "cannot prepare the match index: %s", db_errmsg(self->db));
            return -1;
        }
    return 0;
}

int broker_store_match_add(broker_store_t *self, const uint8_t signal_id[16],
                           const uint8_t subject[32], const char *sender, const char *signal_type,
                           int64_t at_ms, int64_t valid_until_ms)
{
    db_stmt_t *put = self->match[MST_INDEX_PUT];
    db_bind_blob_ref(put, 1, signal_id, 16);
    db_bind_blob_ref(put, 2, subject, 32);
    db_bind_text_ref(put, 3, sender);
    db_bind_text_ref(put, 4, signal_type);
    db_bind_int64(put, 5, at_ms);
    db_bind_int64(put, 6, valid_until_ms);
    return db_run(put);
}

int broker_store_match_window(broker_store_t *self, const uint8_t subject[32], int64_t since_ms,
                              int64_t now_ms, broker_store_match_fn *fn, void *arg)
{
    db_stmt_t *stmt = self->match[MST_WINDOW];
    db_bind_blob_ref(stmt, 1, subject, 32);
    db_bind_int64(stmt, 2, since_ms);
    db_bind_int64(stmt, 3, now_ms);
    db_step_t rc;
    while ((rc = db_step(stmt)) == DB_ROW) {
        const char *sender = db_column_text(stmt, 0);
        const char *type = db_column_text(stmt, 1);
        size_t len = 0;
        const uint8_t *id = db_column_blob(stmt, 3, &len);
        if (sender && type && id && len == 16)
            fn(arg, sender, type, db_column_int64(stmt, 2), id);
    }
    db_reset(stmt);
    return rc == DB_DONE ? 0 : -1;
}

int broker_store_match_members(broker_store_t *self, const char *rule_id, const uint8_t subject[32],
                               char *members, size_t len)
{
    db_stmt_t *get = self->match[MST_MEMBERS_GET];
    db_bind_text_ref(get, 1, rule_id);
    db_bind_blob_ref(get, 2, subject, 32);
    members[0] = '\0';
    db_step_t rc = db_step(get);
    if (rc == DB_ROW && db_column_text(get, 0))
        snprintf(members, len, "%s", db_column_text(get, 0));
    db_reset(get);
    return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int broker_store_match_members_set(broker_store_t *self, const char *rule_id,
                                   const uint8_t subject[32], const char *members)
{
    db_stmt_t *set = self->match[MST_MEMBERS_PUT];
    db_bind_text_ref(set, 1, rule_id);
    db_bind_blob_ref(set, 2, subject, 32);
    db_bind_text_ref(set, 3, members);
    return db_run(set);
}

int broker_store_match_withdraw(broker_store_t *self, const uint8_t signal_id[16],
                                const uint8_t subject[32])
{
    db_stmt_t *stmt = self->match[MST_WITHDRAW];
    db_bind_blob_ref(stmt, 1, subject, 32);
    db_bind_blob_ref(stmt, 2, signal_id, 16);
    return db_run(stmt);
}

int broker_store_match_prune(broker_store_t *self, int64_t now_ms, int64_t oldest_ms)
{
    db_stmt_t *stmt = self->match[MST_PRUNE];
    db_bind_int64(stmt, 1, now_ms);
    db_bind_int64(stmt, 2, oldest_ms);
    return db_run(stmt);
}

int64_t broker_store_match_count(broker_store_t *self)
{
    db_stmt_t *stmt = self->match[MST_COUNT];
    int64_t n = db_step(stmt) == DB_ROW ? db_column_int64(stmt, 0) : -1;
    db_reset(stmt);
    return n;
}

int broker_store_alert_add(broker_store_t *self, const uint8_t alert_id[16], const char *rule_id,
                           const uint8_t subject[32], int64_t raised_ms)
{
    db_stmt_t *add = self->match[MST_ALERT_PUT];
    db_bind_blob_ref(add, 1, alert_id, 16);
    db_bind_text_ref(add, 2, rule_id);
    db_bind_blob_ref(add, 3, subject, 32);
    db_bind_int64(add, 4, raised_ms);
    return db_run(add);
}

int broker_store_alert_find(broker_store_t *self, const uint8_t alert_id[16], char **rule_id,
                            uint8_t subject[32], int64_t *raised_ms)
{
    db_stmt_t *get = self->match[MST_ALERT_GET];
    db_bind_blob_ref(get, 1, alert_id, 16);
    db_step_t rc = db_step(get);
    int result = rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
    if (result == 1) {
        const char *rule = db_column_text(get, 0);
        size_t len = 0;
        const void *bytes = db_column_blob(get, 1, &len);
        memset(subject, 0, 32);
        if (bytes && len == 32)
            memcpy(subject, bytes, 32);
        *raised_ms = db_column_int64(get, 2);
        if (!(*rule_id = strdup(rule ? rule : "")))
            result = -1;
    }
    db_reset(get);
    return result;
}

int broker_store_alert_handled(broker_store_t *self, const uint8_t alert_id[16], const char *lead,
                               int64_t now_ms)
{
    db_stmt_t *set = self->match[MST_ALERT_HANDLE];
    db_bind_text_ref(set, 1, lead);
    db_bind_int64(set, 2, now_ms);
    db_bind_blob_ref(set, 3, alert_id, 16);
    return db_run(set);
}

int64_t broker_store_alerts_open(broker_store_t *self)
{
    db_stmt_t *stmt = db_prepare(self->db, "SELECT count(*) FROM alerts WHERE state = 'open'");
    int64_t n = stmt && db_step(stmt) == DB_ROW ? db_column_int64(stmt, 0) : -1;
    if (stmt)
        db_reset(stmt);
    return n;
}
