/*  expect: see expect.h. */
#include "expect.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static const char *s_schema =
    "CREATE TABLE IF NOT EXISTS inclusion ("
    "  signal_id BLOB NOT NULL, event TEXT NOT NULL, counterpart TEXT NOT NULL,"
    "  actor TEXT NOT NULL, on_behalf_of TEXT NOT NULL, signal_type TEXT NOT NULL,"
    "  purpose TEXT NOT NULL, subject BLOB NOT NULL, position INTEGER NOT NULL,"
    "  audit_index INTEGER, state TEXT NOT NULL, since_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (signal_id, event, counterpart)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS inclusion_due ON inclusion (state, audit_index);"
    "CREATE TABLE IF NOT EXISTS inclusion_evidence ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT, received_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
    "  signal_id TEXT NOT NULL, event TEXT NOT NULL, counterpart TEXT NOT NULL,"
    "  tree_size INTEGER NOT NULL, audit_index INTEGER, note TEXT, record BLOB, proof BLOB);"
    "CREATE INDEX IF NOT EXISTS inclusion_evidence_size ON inclusion_evidence (tree_size);";

typedef enum {
    E_ADD,
    E_ACCEPTED,
    E_DUE,
    E_PROVEN,
    E_REFUSE,
    E_EVIDENCE,
    E_REFUSED_AT,
    E_NOTE,
    E_WAITING,
    E_REFUSED,
    E_COUNT_
} expect_q_t;

static const char *s_sql[E_COUNT_] = {
    [E_ADD] = "INSERT OR IGNORE INTO inclusion (signal_id, event, counterpart, actor, on_behalf_of,"
              " signal_type, purpose, subject, position, audit_index, state, since_ms)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [E_ACCEPTED] =
        "UPDATE inclusion SET audit_index = ?2 + position, state = 'expected'"
        " WHERE signal_id = ?1 AND event IN ('accepted', 'case_shared') AND state = 'sent'",
    [E_DUE] = "SELECT signal_id, event, counterpart, actor, on_behalf_of, signal_type, purpose,"
              " subject, position, audit_index FROM inclusion WHERE state = 'expected' AND"
              " (audit_index IS NULL OR audit_index < ?1) ORDER BY since_ms LIMIT ?2",
    [E_PROVEN] = "DELETE FROM inclusion WHERE signal_id = ?1 AND event = ?2 AND counterpart = ?3",
    [E_REFUSE] = "UPDATE inclusion SET state = 'refused' WHERE signal_id = ?1 AND event = ?2 AND"
                 " counterpart = ?3",
    [E_EVIDENCE] = "INSERT INTO inclusion_evidence (received_ms, kind, signal_id, event,"
                   " counterpart, tree_size, audit_index, note, record, proof)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [E_REFUSED_AT] = "SELECT 1 FROM inclusion_evidence WHERE tree_size = ?1 LIMIT 1",
    [E_NOTE] = "SELECT note FROM checkpoints WHERE size = ?1",
    [E_WAITING] = "SELECT COUNT(*) FROM inclusion WHERE state = 'expected'",
    [E_REFUSED] = "SELECT COUNT(*) FROM inclusion_evidence",
};

/*  Invariant: every statement in `q` is prepared against `db` (the
    store's connection, borrowed) and reset after each use. */
struct expect_t {
    sqlite3 *db;               /* the store's connection (borrowed) */
    sqlite3_stmt *q[E_COUNT_]; /* prepared at expect_new */
};

static uint64_t s_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

expect_t *expect_new(store_t *store, char *err, size_t errlen)
{
    expect_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->db = store_db(store);
    char *msg = NULL;
    if (sqlite3_exec(self->db, s_schema, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot create the inclusion tables: %s", msg ? msg : "?");
        sqlite3_free(msg);
        free(self);
        return NULL;
    }
    for (int i = 0; i < E_COUNT_; i++)
        if (sqlite3_prepare_v3(self->db, s_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &self->q[i],
                               NULL) != SQLITE_OK) {
            snprintf(err, errlen, "cannot prepare: %s", sqlite3_errmsg(self->db));
            expect_destroy(&self);
            return NULL;
        }
    return self;
}

void expect_destroy(expect_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    expect_t *self = *self_p;
    for (int i = 0; i < E_COUNT_; i++)
        sqlite3_finalize(self->q[i]);
    free(self);
    *self_p = NULL;
}

/* Steps a write statement to the end and resets it: 0 / -1. */
static int s_run(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The key of a row: id, event, counterpart as ?1..?3. */
static void s_key(sqlite3_stmt *stmt, const expect_row_t *row)
{
    sqlite3_bind_blob(stmt, 1, row->signal_id, EXPECT_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, row->event, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, row->counterpart, -1, SQLITE_STATIC);
}

int expect_add(expect_t *self, const expect_row_t *row)
{
    sqlite3_stmt *stmt = self->q[E_ADD];
    s_key(stmt, row);
    sqlite3_bind_text(stmt, 4, row->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, row->on_behalf_of, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 6, row->signal_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 7, row->purpose, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 8, row->subject, EXPECT_SUBJECT_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 9, row->position);
    if (row->has_index)
        sqlite3_bind_int64(stmt, 10, (int64_t)row->index);
    /* A share into a case is recorded as case_shared, at the same places. */
    bool waiting = !row->has_index &&
                   (strcmp(row->event, "accepted") == 0 || strcmp(row->event, "case_shared") == 0);
    sqlite3_bind_text(stmt, 11, waiting ? "sent" : "expected", -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 12, (int64_t)s_now_ms());
    return s_run(stmt);
}

int expect_accepted(expect_t *self, const uint8_t id[EXPECT_ID_BYTES], uint64_t first_index)
{
    sqlite3_stmt *stmt = self->q[E_ACCEPTED];
    sqlite3_bind_blob(stmt, 1, id, EXPECT_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (int64_t)first_index);
    return s_run(stmt);
}

/* Copies column `col` (text) into `out`; "" when NULL or too long. */
static void s_col(sqlite3_stmt *stmt, int col, char *out, size_t outlen)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    size_t len = text ? (size_t)sqlite3_column_bytes(stmt, col) : 0;
    if (!text || len >= outlen)
        len = 0;
    if (len)
        memcpy(out, text, len);
    out[len] = '\0';
}

int expect_due(expect_t *self, uint64_t size, expect_row_t *rows, size_t max, size_t *n)
{
    *n = 0;
    sqlite3_stmt *stmt = self->q[E_DUE];
    sqlite3_bind_int64(stmt, 1, size > INT64_MAX ? INT64_MAX : (int64_t)size);
    sqlite3_bind_int64(stmt, 2, (int64_t)max);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && *n < max) {
        expect_row_t *row = &rows[*n];
        memset(row, 0, sizeof *row);
        if (sqlite3_column_bytes(stmt, 0) != EXPECT_ID_BYTES ||
            sqlite3_column_bytes(stmt, 7) != EXPECT_SUBJECT_BYTES)
            continue;
        memcpy(row->signal_id, sqlite3_column_blob(stmt, 0), EXPECT_ID_BYTES);
        s_col(stmt, 1, row->event, sizeof row->event);
        s_col(stmt, 2, row->counterpart, sizeof row->counterpart);
        s_col(stmt, 3, row->actor, sizeof row->actor);
        s_col(stmt, 4, row->on_behalf_of, sizeof row->on_behalf_of);
        s_col(stmt, 5, row->signal_type, sizeof row->signal_type);
        s_col(stmt, 6, row->purpose, sizeof row->purpose);
        memcpy(row->subject, sqlite3_column_blob(stmt, 7), EXPECT_SUBJECT_BYTES);
        row->position = (uint32_t)sqlite3_column_int64(stmt, 8);
        row->has_index = sqlite3_column_type(stmt, 9) != SQLITE_NULL;
        row->index = row->has_index ? (uint64_t)sqlite3_column_int64(stmt, 9) : 0;
        (*n)++;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int expect_proven(expect_t *self, const expect_row_t *row)
{
    sqlite3_stmt *stmt = self->q[E_PROVEN];
    s_key(stmt, row);
    return s_run(stmt);
}

int expect_refused(expect_t *self, const expect_row_t *row, const expect_evidence_t *ev)
{
    char hex[EXPECT_ID_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, row->signal_id, EXPECT_ID_BYTES);
    sqlite3_stmt *stmt = self->q[E_EVIDENCE];
    sqlite3_bind_int64(stmt, 1, (int64_t)s_now_ms());
    sqlite3_bind_text(stmt, 2, ev->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, hex, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, row->event, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, row->counterpart, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 6, (int64_t)ev->tree_size);
    if (ev->has_index)
        sqlite3_bind_int64(stmt, 7, (int64_t)ev->index);
    if (ev->note)
        sqlite3_bind_text(stmt, 8, ev->note, (int)ev->note_len, SQLITE_STATIC);
    if (ev->record)
        sqlite3_bind_blob(stmt, 9, ev->record, (int)ev->record_len, SQLITE_STATIC);
    if (ev->proof)
        sqlite3_bind_blob(stmt, 10, ev->proof, (int)ev->proof_len, SQLITE_STATIC);
    if (s_run(stmt) != 0)
        return -1;
    stmt = self->q[E_REFUSE];
    s_key(stmt, row);
    return s_run(stmt);
}

/* One integer from a one-row query with an optional ?1. */
static int s_one(sqlite3_stmt *stmt, uint64_t *out)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int expect_refused_at(expect_t *self, uint64_t size)
{
    uint64_t one = 0;
    sqlite3_bind_int64(self->q[E_REFUSED_AT], 1, (int64_t)size);
    return s_one(self->q[E_REFUSED_AT], &one);
}

int expect_note(expect_t *self, uint64_t size, char **note, size_t *len)
{
    sqlite3_stmt *stmt = self->q[E_NOTE];
    sqlite3_bind_int64(stmt, 1, (int64_t)size);
    int rc = sqlite3_step(stmt);
    int found = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (found == 1) {
        const unsigned char *text = sqlite3_column_text(stmt, 0);
        *len = (size_t)sqlite3_column_bytes(stmt, 0);
        *note = text ? malloc(*len + 1) : NULL;
        if (*note) {
            memcpy(*note, text, *len);
            (*note)[*len] = '\0';
        } else
            found = -1;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return found;
}

int expect_counts(expect_t *self, uint64_t *waiting, uint64_t *refused)
{
    *waiting = *refused = 0;
    return s_one(self->q[E_WAITING], waiting) < 0 || s_one(self->q[E_REFUSED], refused) < 0 ? -1
                                                                                            : 0;
}
