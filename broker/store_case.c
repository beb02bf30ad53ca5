/*  store_case: case conference metadata in the broker's store; see
    store_case.h. Not on the hot path: statements are prepared on first
    use and cached by lib/db. */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_copy_text(char *out, size_t len, const char *text)
{
    snprintf(out, len, "%s", text ? text : "");
}

int broker_store_case_find(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                           case_row_t *out)
{
    db_stmt_t *st = db_prepare(self->db, "SELECT kind, coordinator, subject, opened_at, "
                                         "closed_at, outcome, meeting_date, audit_index "
                                         "FROM cases WHERE case_id = $1");
    if (!st || db_bind_blob(st, 1, case_id, STORE_CASE_ID_BYTES) != 0)
        return -1;
    db_step_t rc = db_step(st);
    if (rc == DB_ROW) {
        memset(out, 0, sizeof *out);
        s_copy_text(out->kind, sizeof out->kind, db_column_text(st, 0));
        s_copy_text(out->coordinator, sizeof out->coordinator, db_column_text(st, 1));
        size_t len = 0;
        const void *subject = db_column_blob(st, 2, &len);
        if (subject && len == sizeof out->subject)
            memcpy(out->subject, subject, len);
        out->opened_at_ms = db_column_int64(st, 3);
        out->closed_at_ms = db_column_int64(st, 4);
        s_copy_text(out->outcome, sizeof out->outcome, db_column_text(st, 5));
        s_copy_text(out->meeting_date, sizeof out->meeting_date, db_column_text(st, 6));
        out->audit_index = db_column_int64(st, 7);
    }
    db_reset(st);
    return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int broker_store_case_add(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                          const case_row_t *row)
{
    db_stmt_t *st = db_prepare(self->db, "INSERT INTO cases(case_id, kind, coordinator, subject, "
                                         "opened_at, audit_index) VALUES($1, $2, $3, $4, $5, $6)");
    if (!st || db_bind_blob(st, 1, case_id, STORE_CASE_ID_BYTES) != 0 ||
        db_bind_text(st, 2, row->kind) != 0 || db_bind_text(st, 3, row->coordinator) != 0 ||
        db_bind_blob(st, 4, row->subject, sizeof row->subject) != 0 ||
        db_bind_int64(st, 5, row->opened_at_ms) != 0 || db_bind_int64(st, 6, row->audit_index) != 0)
        return -1;
    return db_run(st);
}

int broker_store_case_schedule(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                               const char *meeting_date)
{
    db_stmt_t *st = db_prepare(self->db, "UPDATE cases SET meeting_date = $1 WHERE case_id = $2");
    if (!st || db_bind_text(st, 1, meeting_date) != 0 ||
        db_bind_blob(st, 2, case_id, STORE_CASE_ID_BYTES) != 0)
        return -1;
    return db_run(st);
}

int broker_store_case_close(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                            const char *outcome, int64_t at_ms)
{
    db_stmt_t *st = db_prepare(self->db, "UPDATE cases SET outcome = $1, closed_at = $2 "
                                         "WHERE case_id = $3");
    if (!st || db_bind_text(st, 1, outcome) != 0 || db_bind_int64(st, 2, at_ms) != 0 ||
        db_bind_blob(st, 3, case_id, STORE_CASE_ID_BYTES) != 0)
        return -1;
    return db_run(st);
}

int broker_store_case_members(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                              case_member_t *out, size_t max, size_t *n)
{
    *n = 0;
    db_stmt_t *st = db_prepare(self->db, "SELECT org, state, since, invited_by, state_by "
                                         "FROM case_participants WHERE case_id = $1 "
                                         "ORDER BY position");
    if (!st || db_bind_blob(st, 1, case_id, STORE_CASE_ID_BYTES) != 0)
        return -1;
    db_step_t rc;
    while ((rc = db_step(st)) == DB_ROW) {
        if (*n == max)
            continue; /* a rule lists fewer partners than `max`: never */
        case_member_t *member = &out[(*n)++];
        s_copy_text(member->org, sizeof member->org, db_column_text(st, 0));
        member->state = (case_member_state_t)db_column_int64(st, 1);
        member->since_ms = db_column_int64(st, 2);
        for (int col = 3; col <= 4; col++) {
            size_t len = 0;
            const void *id = db_column_blob(st, col, &len);
            uint8_t *out_id = col == 3 ? member->invited_by : member->state_by;
            memset(out_id, 0, STORE_CASE_ID_BYTES);
            if (id && len == STORE_CASE_ID_BYTES)
                memcpy(out_id, id, STORE_CASE_ID_BYTES);
        }
    }
    db_reset(st);
    return rc == DB_DONE ? 0 : -1;
}

int broker_store_case_member_set(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                                 const char *org, case_member_state_t state, int64_t at_ms,
                                 const uint8_t step_id[STORE_CASE_ID_BYTES])
{
    /* A new participant comes after the others: position is one more than
       the case's highest (computed in the statement, so that one step that
       invites several keeps their order). An invitation names itself as
       the inviting step; any other state keeps the invitation. */
    db_stmt_t *st = db_prepare(
        self->db,
        "INSERT INTO case_participants(case_id, org, position, state, since, invited_by, "
        "state_by) "
        "SELECT $1, $2, COALESCE(MAX(position), 0) + 1, $3, $4, $5, $5 FROM case_participants "
        "WHERE case_id = $1 "
        "ON CONFLICT (case_id, org) DO UPDATE SET state = excluded.state, since = excluded.since, "
        "state_by = excluded.state_by, invited_by = CASE WHEN excluded.state = 0 "
        "THEN excluded.invited_by ELSE case_participants.invited_by END");
    if (!st || db_bind_blob(st, 1, case_id, STORE_CASE_ID_BYTES) != 0 ||
        db_bind_text(st, 2, org) != 0 || db_bind_int64(st, 3, state) != 0 ||
        db_bind_int64(st, 4, at_ms) != 0 || db_bind_blob(st, 5, step_id, STORE_CASE_ID_BYTES) != 0)
        return -1;
    return db_run(st);
}

int broker_store_case_action_find(broker_store_t *self,
                                  const uint8_t action_id[STORE_CASE_ID_BYTES], uint8_t digest[32],
                                  int64_t *at_ms, int64_t *audit_index)
{
    db_stmt_t *st = db_prepare(self->db, "SELECT digest, at_ms, audit_index FROM case_actions "
                                         "WHERE action_id = $1");
    if (!st || db_bind_blob(st, 1, action_id, STORE_CASE_ID_BYTES) != 0)
        return -1;
    db_step_t rc = db_step(st);
    if (rc == DB_ROW) {
        size_t len = 0;
        const void *stored = db_column_blob(st, 0, &len);
        memset(digest, 0, 32);
        if (stored && len == 32)
            memcpy(digest, stored, 32);
        *at_ms = db_column_int64(st, 1);
        *audit_index = db_column_int64(st, 2);
    }
    db_reset(st);
    return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int broker_store_case_action_add(broker_store_t *self, const uint8_t action_id[STORE_CASE_ID_BYTES],
                                 const uint8_t case_id[STORE_CASE_ID_BYTES], const char *actor,
                                 const uint8_t digest[32], const case_signed_t *signed_step,
                                 int64_t at_ms, int64_t audit_index)
{
    db_stmt_t *st = db_prepare(self->db, "INSERT INTO case_actions(action_id, case_id, actor, "
                                         "digest, action, signature, at_ms, audit_index) "
                                         "VALUES($1, $2, $3, $4, $5, $6, $7, $8)");
    if (!st || db_bind_blob(st, 1, action_id, STORE_CASE_ID_BYTES) != 0 ||
        db_bind_blob(st, 2, case_id, STORE_CASE_ID_BYTES) != 0 || db_bind_text(st, 3, actor) != 0 ||
        db_bind_blob(st, 4, digest, 32) != 0 ||
        db_bind_blob(st, 5, signed_step->action, signed_step->action_len) != 0 ||
        db_bind_blob(st, 6, signed_step->signature, 64) != 0 || db_bind_int64(st, 7, at_ms) != 0 ||
        db_bind_int64(st, 8, audit_index) != 0)
        return -1;
    return db_run(st);
}

static uint8_t *s_dup(const void *bytes, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (copy && len)
        memcpy(copy, bytes, len);
    return copy;
}

int broker_store_case_action_bytes(broker_store_t *self,
                                   const uint8_t action_id[STORE_CASE_ID_BYTES], uint8_t **action,
                                   size_t *action_len, uint8_t **signature, size_t *signature_len)
{
    *action = *signature = NULL;
    db_stmt_t *st =
        db_prepare(self->db, "SELECT action, signature FROM case_actions WHERE action_id = $1");
    if (!st || db_bind_blob(st, 1, action_id, STORE_CASE_ID_BYTES) != 0)
        return -1;
    db_step_t rc = db_step(st);
    if (rc == DB_ROW) {
        const void *bytes = db_column_blob(st, 0, action_len);
        const void *sig = db_column_blob(st, 1, signature_len);
        *action = s_dup(bytes, *action_len);
        *signature = s_dup(sig, *signature_len);
        if (!*action || !*signature) {
            free(*action);
            free(*signature);
            *action = *signature = NULL;
            rc = DB_ERROR;
        }
    }
    db_reset(st);
    return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int broker_store_case_open_since(broker_store_t *self, int64_t opened_before_ms,
                                 uint8_t (*ids)[STORE_CASE_ID_BYTES], size_t max, size_t *n)
{
    *n = 0;
    db_stmt_t *st = db_prepare(self->db, "SELECT case_id FROM cases WHERE closed_at IS NULL AND "
                                         "opened_at < $1 ORDER BY opened_at LIMIT $2");
    if (!st || db_bind_int64(st, 1, opened_before_ms) != 0 ||
        db_bind_int64(st, 2, (int64_t)max) != 0)
        return -1;
    db_step_t rc;
    while ((rc = db_step(st)) == DB_ROW) {
        size_t len = 0;
        const void *id = db_column_blob(st, 0, &len);
        if (id && len == STORE_CASE_ID_BYTES && *n < max)
            memcpy(ids[(*n)++], id, STORE_CASE_ID_BYTES);
    }
    db_reset(st);
    return rc == DB_DONE ? 0 : -1;
}

int broker_store_case_item_find(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                                const uint8_t item_id[STORE_CASE_ID_BYTES], case_item_t *out)
{
    db_stmt_t *st = db_prepare(self->db, "SELECT owner, due_date, planned_at, done_at_ms "
                                         "FROM case_items WHERE case_id = $1 AND item_id = $2");
    if (!st || db_bind_blob(st, 1, case_id, STORE_CASE_ID_BYTES) != 0 ||
        db_bind_blob(st, 2, item_id, STORE_CASE_ID_BYTES) != 0)
        return -1;
    db_step_t rc = db_step(st);
    if (rc == DB_ROW) {
        memset(out, 0, sizeof *out);
        s_copy_text(out->owner, sizeof out->owner, db_column_text(st, 0));
        s_copy_text(out->due_date, sizeof out->due_date, db_column_text(st, 1));
        out->planned_ms = db_column_int64(st, 2);
        out->done_at_ms = db_column_int64(st, 3);
    }
    db_reset(st);
    return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int broker_store_case_item_count(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                                 int64_t *n)
{
    *n = 0;
    db_stmt_t *st = db_prepare(self->db, "SELECT COUNT(*) FROM case_items WHERE case_id = $1");
    if (!st || db_bind_blob(st, 1, case_id, STORE_CASE_ID_BYTES) != 0)
        return -1;
    db_step_t rc = db_step(st);
    if (rc == DB_ROW)
        *n = db_column_int64(st, 0);
    db_reset(st);
    return rc == DB_ROW ? 0 : -1;
}

int broker_store_case_item_add(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                               const uint8_t item_id[STORE_CASE_ID_BYTES], const char *owner,
                               const char *due_date, int64_t at_ms)
{
    db_stmt_t *st = db_prepare(self->db, "INSERT INTO case_items(case_id, item_id, owner, "
                                         "due_date, planned_at) VALUES($1, $2, $3, $4, $5)");
    if (!st || db_bind_blob(st, 1, case_id, STORE_CASE_ID_BYTES) != 0 ||
        db_bind_blob(st, 2, item_id, STORE_CASE_ID_BYTES) != 0 || db_bind_text(st, 3, owner) != 0 ||
        db_bind_text(st, 4, due_date) != 0 || db_bind_int64(st, 5, at_ms) != 0)
        return -1;
    return db_run(st);
}

int broker_store_case_item_done(broker_store_t *self, const uint8_t case_id[STORE_CASE_ID_BYTES],
                                const uint8_t item_id[STORE_CASE_ID_BYTES], int64_t at_ms)
{
    db_stmt_t *st = db_prepare(self->db, "UPDATE case_items SET done_at_ms = $1 "
                                         "WHERE case_id = $2 AND item_id = $3");
    if (!st || db_bind_int64(st, 1, at_ms) != 0 ||
        db_bind_blob(st, 2, case_id, STORE_CASE_ID_BYTES) != 0 ||
        db_bind_blob(st, 3, item_id, STORE_CASE_ID_BYTES) != 0)
        return -1;
    return db_run(st);
}
