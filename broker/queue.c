/*  queue: the broker's SQLite store; see queue.h. */
#include "queue.h"

#include "fileio.h"
#include "log.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_schema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    /* A 64 MiB page cache keeps the hot pages (pending deliveries, the
       newest audit leaves and nodes) out of the commit's way, and a larger
       WAL moves most checkpointing out of the commits (bench/RESULTS.md). */
    "PRAGMA cache_size=-65536;"
    "PRAGMA wal_autocheckpoint=10000;"
    "CREATE TABLE IF NOT EXISTS signals("
    "  id INTEGER PRIMARY KEY,"
    "  signal_id BLOB NOT NULL UNIQUE,"
    "  sender TEXT NOT NULL,"
    "  signal_type TEXT NOT NULL,"
    "  purpose TEXT NOT NULL,"
    "  subject BLOB NOT NULL,"
    "  digest BLOB NOT NULL,"
    "  sealed BLOB,"
    "  accepted_at INTEGER NOT NULL,"
    "  valid_until INTEGER NOT NULL,"
    "  audit_index INTEGER NOT NULL,"
    "  withdrawn INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS deliveries("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  signal_id BLOB NOT NULL,"
    "  recipient TEXT NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  delivered_index INTEGER,"
    "  UNIQUE(signal_id, recipient));"
    "CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries(recipient, seq) WHERE state=0;"
    "CREATE INDEX IF NOT EXISTS deliveries_expiry ON deliveries(expires_at) WHERE state=0;"
    "CREATE TABLE IF NOT EXISTS notices("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  org TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  signal_id BLOB NOT NULL,"
    "  frame BLOB NOT NULL,"
    "  UNIQUE(org, kind, signal_id));"
    "CREATE TABLE IF NOT EXISTS broker_meta("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);"
    /* Every agreements version the broker enforced, with the exact bytes
       and the partners' signature files that verified when it took effect
       (issue 14 item 4). The last row is the version in force. */
    "CREATE TABLE IF NOT EXISTS agreements_history("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  version INTEGER NOT NULL,"
    "  sha256 BLOB NOT NULL UNIQUE,"
    "  took_effect_at INTEGER NOT NULL,"
    "  file BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS agreements_signatures("
    "  sha256 BLOB NOT NULL,"
    "  signer TEXT NOT NULL,"
    "  signature BLOB NOT NULL,"
    "  PRIMARY KEY(sha256, signer)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS partners_seen("
    "  curve_key BLOB PRIMARY KEY,"
    "  org TEXT NOT NULL) WITHOUT ROWID;";

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_FIND,
    ST_INSERT_SIGNAL,
    ST_INSERT_DELIVERY,
    ST_PENDING,
    ST_PENDING_COUNT,
    ST_PENDING_COUNT_ALL,
    ST_SETTLE,
    ST_SETTLE_SEQ,
    ST_REMAINING,
    ST_DROP_SEALED,
    ST_EXPIRE_SELECT,
    ST_EXPIRE_UPDATE,
    ST_WITHDRAW_MARK,
    ST_WITHDRAW_RECIPIENTS,
    ST_WITHDRAW_CANCEL,
    ST_PRUNE,
    ST_NOTICE_ADD,
    ST_NOTICES,
    ST_NOTICE_REMOVE,
    ST_DELIVERY_STATE,
    ST_DELIVERED_SET,
    ST_DELIVERED_GET,
    ST_AGREEMENTS_IN_FORCE,
    ST_AGREEMENTS_RECORD,
    ST_AGREEMENTS_SIGNATURE,
    ST_COUNT_
};

static const char *s_sql[ST_COUNT_] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_FIND] = "SELECT sender, signal_type, purpose, subject, digest, accepted_at, audit_index, "
                "withdrawn FROM signals WHERE signal_id=?1",
    [ST_INSERT_SIGNAL] = "INSERT INTO signals(signal_id, sender, signal_type, purpose, subject, "
                         "digest, sealed, accepted_at, valid_until, audit_index) "
                         "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    [ST_INSERT_DELIVERY] = "INSERT INTO deliveries(signal_id, recipient, state, expires_at) "
                           "VALUES(?1,?2,0,?3)",
    [ST_PENDING] = "SELECT d.seq, d.signal_id, s.sealed, s.accepted_at, s.sender, s.signal_type, "
                   "s.purpose, s.subject FROM deliveries d "
                   "JOIN signals s ON s.signal_id=d.signal_id "
                   "WHERE d.recipient=?1 AND d.state=0 AND d.seq>?2 ORDER BY d.seq LIMIT ?3",
    [ST_PENDING_COUNT] = "SELECT count(*) FROM deliveries WHERE recipient=?1 AND state=0",
    [ST_PENDING_COUNT_ALL] = "SELECT count(*) FROM deliveries WHERE state=0",
    [ST_SETTLE] = "UPDATE deliveries SET state=?3 WHERE signal_id=?1 AND recipient=?2 AND state=0",
    [ST_SETTLE_SEQ] = "UPDATE deliveries SET state=?3 WHERE seq=?4 AND signal_id=?1 AND "
                      "recipient=?2 AND state=0",
    [ST_REMAINING] = "SELECT count(*) FROM deliveries WHERE signal_id=?1 AND state=0",
    [ST_DROP_SEALED] = "UPDATE signals SET sealed=NULL WHERE signal_id=?1",
    [ST_EXPIRE_SELECT] = "SELECT d.signal_id, d.recipient, s.sender, s.signal_type, s.purpose, "
                         "s.subject FROM deliveries d "
                         "JOIN signals s ON s.signal_id=d.signal_id "
                         "WHERE d.state=0 AND d.expires_at<=?1 LIMIT 1000",
    [ST_EXPIRE_UPDATE] = "UPDATE deliveries SET state=3 WHERE signal_id=?1 AND recipient=?2",
    [ST_WITHDRAW_MARK] = "UPDATE signals SET withdrawn=1 WHERE signal_id=?1",
    [ST_WITHDRAW_RECIPIENTS] = "SELECT recipient FROM deliveries WHERE signal_id=?1 AND "
                               "state IN (0,1)",
    [ST_WITHDRAW_CANCEL] = "UPDATE deliveries SET state=4 WHERE signal_id=?1 AND state=0",
    [ST_PRUNE] = "DELETE FROM signals WHERE valid_until<?1 AND NOT EXISTS (SELECT 1 FROM "
                 "deliveries d WHERE d.signal_id=signals.signal_id AND d.state=0)",
    [ST_NOTICE_ADD] = "INSERT OR REPLACE INTO notices(org, kind, signal_id, frame) "
                      "VALUES(?1,?2,?3,?4)",
    [ST_NOTICES] = "SELECT seq, kind, signal_id, frame FROM notices WHERE org=?1 AND seq>?2 "
                   "ORDER BY seq",
    [ST_NOTICE_REMOVE] = "DELETE FROM notices WHERE org=?1 AND kind=?2 AND signal_id=?3",
    [ST_DELIVERY_STATE] = "SELECT state FROM deliveries WHERE signal_id=?1 AND recipient=?2",
    [ST_DELIVERED_SET] = "UPDATE deliveries SET delivered_index=?3 WHERE signal_id=?1 AND "
                         "recipient=?2",
    [ST_AGREEMENTS_IN_FORCE] = "SELECT version, sha256, file FROM agreements_history "
                               "ORDER BY seq DESC LIMIT 1",
    [ST_AGREEMENTS_RECORD] = "INSERT INTO agreements_history(version, sha256, took_effect_at, "
                             "file) VALUES(?1,?2,?3,?4)",
    [ST_AGREEMENTS_SIGNATURE] = "INSERT OR IGNORE INTO agreements_signatures(sha256, signer, "
                                "signature) VALUES(?1,?2,?3)",
    [ST_DELIVERED_GET] = "SELECT delivered_index FROM deliveries WHERE signal_id=?1 AND "
                         "recipient=?2 AND delivered_index IS NOT NULL",
};

/*  Invariant: every statement in `st` is prepared against `db` and reset
    after each use. */
struct queue_t {
    sqlite3 *db;                 /* the database */
    sqlite3_stmt *st[ST_COUNT_]; /* prepared once at open */
};

const char *queue_error(const queue_t *self)
{
    return sqlite3_errmsg(self->db);
}

void queue_destroy(queue_t **self_p)
{
    if (self_p && *self_p) {
        queue_t *self = *self_p;
        for (int i = 0; i < ST_COUNT_; i++)
            sqlite3_finalize(self->st[i]);
        sqlite3_close(self->db);
        free(self);
        *self_p = NULL;
    }
}

/* Reads sender, type, purpose, subject from columns col..col+3. */
static void s_read_meta(sqlite3_stmt *stmt, int col, queue_meta_t *meta)
{
    memset(meta, 0, sizeof *meta);
    const unsigned char *text;
    if ((text = sqlite3_column_text(stmt, col)) != NULL)
        snprintf(meta->sender, sizeof meta->sender, "%s", (const char *)text);
    if ((text = sqlite3_column_text(stmt, col + 1)) != NULL)
        snprintf(meta->signal_type, sizeof meta->signal_type, "%s", (const char *)text);
    if ((text = sqlite3_column_text(stmt, col + 2)) != NULL)
        snprintf(meta->purpose, sizeof meta->purpose, "%s", (const char *)text);
    if (sqlite3_column_bytes(stmt, col + 3) == (int)sizeof meta->subject)
        memcpy(meta->subject, sqlite3_column_blob(stmt, col + 3), sizeof meta->subject);
}

static int64_t s_scalar(queue_t *self, int st)
{
    sqlite3_stmt *stmt = self->st[st];
    int64_t value = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_reset(stmt);
    return value;
}

/* A store written before the `delivered` record's index was kept gets the
   column; its old deliveries stay without one and are found by the
   subject-index search (broker/inclusion.c). */
static int s_migrate(sqlite3 *db)
{
    sqlite3_stmt *probe = NULL;
    int has = sqlite3_prepare_v2(db, "SELECT delivered_index FROM deliveries LIMIT 0", -1, &probe,
                                 NULL) == SQLITE_OK;
    sqlite3_finalize(probe);
    if (has)
        return 0;
    return sqlite3_exec(db, "ALTER TABLE deliveries ADD COLUMN delivered_index INTEGER", NULL, NULL,
                        NULL) == SQLITE_OK
               ? 0
               : -1;
}

queue_t *queue_open(const char *path, char *err, size_t errlen)
{
    queue_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    bool narrowed = false;
    if (fileio_private_db(path, &narrowed, err, errlen) != 0) {
        queue_destroy(&self);
        return NULL;
    }
    if (narrowed)
        log_event(HLOG_WARN, "state_file_narrowed", "file", path, "mode", "0600", NULL);
    if (sqlite3_open_v2(path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(self->db, s_schema, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open broker store %s: %s", path,
                 self->db ? sqlite3_errmsg(self->db) : "out of memory");
        queue_destroy(&self);
        return NULL;
    }
    sqlite3_busy_timeout(self->db, 5000);
    if (s_migrate(self->db) != 0) {
        snprintf(err, errlen, "cannot upgrade broker store %s: %s", path, sqlite3_errmsg(self->db));
        queue_destroy(&self);
        return NULL;
    }
    for (int i = 0; i < ST_COUNT_; i++)
        if (sqlite3_prepare_v3(self->db, s_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &self->st[i],
                               NULL) != SQLITE_OK) {
            snprintf(err, errlen, "cannot prepare broker store statement: %s",
                     sqlite3_errmsg(self->db));
            queue_destroy(&self);
            return NULL;
        }
    return self;
}

/* Runs a statement that returns no rows; resets it. */
static int s_done(queue_t *self, int st)
{
    int rc = sqlite3_step(self->st[st]);
    sqlite3_reset(self->st[st]);
    sqlite3_clear_bindings(self->st[st]);
    return rc == SQLITE_DONE ? 0 : -1;
}

int queue_begin(queue_t *self)
{
    return s_done(self, ST_BEGIN);
}

int queue_commit(queue_t *self)
{
    if (s_done(self, ST_COMMIT) != 0)
        return -1;
    return 0;
}

void queue_rollback(queue_t *self)
{
    if (!sqlite3_get_autocommit(self->db))
        s_done(self, ST_ROLLBACK);
}

int queue_find_signal(queue_t *self, const uint8_t id[QUEUE_ID_BYTES], queue_signal_t *out)
{
    sqlite3_stmt *stmt = self->st[ST_FIND];
    sqlite3_bind_blob(stmt, 1, id, QUEUE_ID_BYTES, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (result == 1) {
        memset(out, 0, sizeof *out);
        s_read_meta(stmt, 0, &out->meta);
        if (sqlite3_column_bytes(stmt, 4) == QUEUE_DIGEST_BYTES)
            memcpy(out->digest, sqlite3_column_blob(stmt, 4), QUEUE_DIGEST_BYTES);
        out->accepted_at_ms = sqlite3_column_int64(stmt, 5);
        out->audit_index = sqlite3_column_int64(stmt, 6);
        out->withdrawn = sqlite3_column_int(stmt, 7) != 0;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
}

/* One integer of the delivery (id, recipient) by statement `st`: 1 and
 *value, 0 when there is no such row, -1 on error. */
static int s_delivery_int(queue_t *self, int st, const uint8_t id[QUEUE_ID_BYTES],
                          const char *recipient, int64_t *value)
{
    sqlite3_stmt *stmt = self->st[st];
    sqlite3_bind_blob(stmt, 1, id, QUEUE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, recipient, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (result == 1)
        *value = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
}

int queue_delivery_state(queue_t *self, const uint8_t id[QUEUE_ID_BYTES], const char *recipient,
                         delivery_state_t *state)
{
    int64_t value = 0;
    int result = s_delivery_int(self, ST_DELIVERY_STATE, id, recipient, &value);
    if (result == 1)
        *state = (delivery_state_t)value;
    return result;
}

int queue_delivered_set(queue_t *self, const uint8_t id[QUEUE_ID_BYTES], const char *recipient,
                        int64_t audit_index)
{
    sqlite3_stmt *stmt = self->st[ST_DELIVERED_SET];
    sqlite3_bind_blob(stmt, 1, id, QUEUE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, recipient, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, audit_index);
    return s_done(self, ST_DELIVERED_SET);
}

int queue_delivered_index(queue_t *self, const uint8_t id[QUEUE_ID_BYTES], const char *recipient,
                          int64_t *audit_index)
{
    return s_delivery_int(self, ST_DELIVERED_GET, id, recipient, audit_index);
}

int queue_agreements_in_force(queue_t *self, uint64_t *version,
                              uint8_t hash[QUEUE_AGREEMENTS_HASH_BYTES], char **file, size_t *len)
{
    sqlite3_stmt *stmt = self->st[ST_AGREEMENTS_IN_FORCE];
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (result == 1) {
        const void *sha = sqlite3_column_blob(stmt, 1);
        const void *bytes = sqlite3_column_blob(stmt, 2);
        int n = sqlite3_column_bytes(stmt, 2);
        if (!sha || sqlite3_column_bytes(stmt, 1) != QUEUE_AGREEMENTS_HASH_BYTES || !bytes ||
            n <= 0 || !(*file = malloc((size_t)n + 1)))
            result = -1;
        else {
            *version = (uint64_t)sqlite3_column_int64(stmt, 0);
            memcpy(hash, sha, QUEUE_AGREEMENTS_HASH_BYTES);
            memcpy(*file, bytes, (size_t)n);
            (*file)[n] = '\0';
            *len = (size_t)n;
        }
    }
    sqlite3_reset(stmt);
    return result;
}

int queue_agreements_record(queue_t *self, uint64_t version,
                            const uint8_t hash[QUEUE_AGREEMENTS_HASH_BYTES], const char *file,
                            size_t len, int64_t at_ms)
{
    sqlite3_stmt *stmt = self->st[ST_AGREEMENTS_RECORD];
    sqlite3_bind_int64(stmt, 1, (int64_t)version);
    sqlite3_bind_blob(stmt, 2, hash, QUEUE_AGREEMENTS_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, at_ms);
    sqlite3_bind_blob(stmt, 4, file, (int)len, SQLITE_STATIC);
    return s_done(self, ST_AGREEMENTS_RECORD);
}

int queue_agreements_signature(queue_t *self, const uint8_t hash[QUEUE_AGREEMENTS_HASH_BYTES],
                               const char *signer, const char *signature, size_t len)
{
    sqlite3_stmt *stmt = self->st[ST_AGREEMENTS_SIGNATURE];
    sqlite3_bind_blob(stmt, 1, hash, QUEUE_AGREEMENTS_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, signer, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 3, signature, (int)len, SQLITE_STATIC);
    return s_done(self, ST_AGREEMENTS_SIGNATURE);
}

int queue_insert_signal(queue_t *self, const uint8_t id[QUEUE_ID_BYTES], const queue_meta_t *meta,
                        const uint8_t digest[QUEUE_DIGEST_BYTES], const uint8_t *sealed,
                        size_t sealed_len, int64_t accepted_at_ms, int64_t valid_until_ms,
                        int64_t audit_index)
{
    sqlite3_stmt *stmt = self->st[ST_INSERT_SIGNAL];
    sqlite3_bind_blob(stmt, 1, id, QUEUE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, meta->sender, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, meta->signal_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, meta->purpose, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 5, meta->subject, sizeof meta->subject, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 6, digest, QUEUE_DIGEST_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 7, sealed, (int)sealed_len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 8, accepted_at_ms);
    sqlite3_bind_int64(stmt, 9, valid_until_ms);
    sqlite3_bind_int64(stmt, 10, audit_index);
    return s_done(self, ST_INSERT_SIGNAL);
}

int64_t queue_insert_delivery(queue_t *self, const uint8_t id[QUEUE_ID_BYTES],
                              const char *recipient, int64_t expires_at_ms)
{
    sqlite3_stmt *stmt = self->st[ST_INSERT_DELIVERY];
    sqlite3_bind_blob(stmt, 1, id, QUEUE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, recipient, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, expires_at_ms);
    if (s_done(self, ST_INSERT_DELIVERY) != 0)
        return -1;
    return sqlite3_last_insert_rowid(self->db);
}

int queue_pending(queue_t *self, const char *recipient, int64_t after_seq, size_t limit,
                  queue_pending_fn *fn, void *arg)
{
    sqlite3_stmt *stmt = self->st[ST_PENDING];
    sqlite3_bind_text(stmt, 1, recipient, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, after_seq);
    sqlite3_bind_int64(stmt, 3, (int64_t)limit);
    int visited = 0, rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(stmt, 1) != QUEUE_ID_BYTES)
            continue;
        const uint8_t *sealed = sqlite3_column_blob(stmt, 2);
        size_t len = (size_t)sqlite3_column_bytes(stmt, 2);
        if (!sealed)
            continue; /* settled in this very transaction */
        visited++;
        queue_meta_t meta;
        s_read_meta(stmt, 4, &meta);
        if (fn(arg, sqlite3_column_int64(stmt, 0), sqlite3_column_blob(stmt, 1), &meta, sealed, len,
               sqlite3_column_int64(stmt, 3)) != 0)
            break;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? visited : -1;
}

int64_t queue_pending_count(queue_t *self, const char *recipient)
{
    if (!recipient)
        return s_scalar(self, ST_PENDING_COUNT_ALL);
    sqlite3_bind_text(self->st[ST_PENDING_COUNT], 1, recipient, -1, SQLITE_STATIC);
    int64_t count = s_scalar(self, ST_PENDING_COUNT);
    sqlite3_clear_bindings(self->st[ST_PENDING_COUNT]);
    return count;
}

/* Deletes the ciphertext of a signal once nothing of it is pending. */
static int s_drop_if_settled(queue_t *self, const uint8_t id[QUEUE_ID_BYTES])
{
    sqlite3_bind_blob(self->st[ST_REMAINING], 1, id, QUEUE_ID_BYTES, SQLITE_STATIC);
    int64_t remaining = s_scalar(self, ST_REMAINING);
    sqlite3_clear_bindings(self->st[ST_REMAINING]);
    if (remaining < 0)
        return -1;
    if (remaining > 0)
        return 0;
    sqlite3_bind_blob(self->st[ST_DROP_SEALED], 1, id, QUEUE_ID_BYTES, SQLITE_STATIC);
    return s_done(self, ST_DROP_SEALED);
}

int queue_settle(queue_t *self, const uint8_t id[QUEUE_ID_BYTES], const char *recipient,
                 delivery_state_t state)
{
    sqlite3_stmt *stmt = self->st[ST_SETTLE];
    sqlite3_bind_blob(stmt, 1, id, QUEUE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, recipient, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, (int)state);
    if (s_done(self, ST_SETTLE) != 0)
        return -1;
    if (sqlite3_changes(self->db) == 0)
        return 0;
    return s_drop_if_settled(self, id) == 0 ? 1 : -1;
}

int queue_settle_seq(queue_t *self, int64_t seq, const uint8_t id[QUEUE_ID_BYTES],
                     const char *recipient, delivery_state_t state)
{
    sqlite3_stmt *stmt = self->st[ST_SETTLE_SEQ];
    sqlite3_bind_blob(stmt, 1, id, QUEUE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, recipient, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, (int)state);
    sqlite3_bind_int64(stmt, 4, seq);
    if (s_done(self, ST_SETTLE_SEQ) != 0)
        return -1;
    if (sqlite3_changes(self->db) == 0)
        return 0;
    return s_drop_if_settled(self, id) == 0 ? 1 : -1;
}

int queue_expire(queue_t *self, int64_t now_ms, queue_expired_fn *fn, void *arg)
{
    /* Collect first: the update must not run while the select is open on
       the same rows. At most 1000 per call; the next turn takes the rest. */
    typedef struct {
        uint8_t id[QUEUE_ID_BYTES];
        char recipient[33];
        queue_meta_t meta;
    } expiry_t;
    expiry_t *batch = malloc(1000 * sizeof *batch);
    if (!batch)
        return -1;
    size_t n = 0;
    sqlite3_stmt *stmt = self->st[ST_EXPIRE_SELECT];
    sqlite3_bind_int64(stmt, 1, now_ms);
    int rc;
    while (n < 1000 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(stmt, 0) != QUEUE_ID_BYTES)
            continue;
        memcpy(batch[n].id, sqlite3_column_blob(stmt, 0), QUEUE_ID_BYTES);
        snprintf(batch[n].recipient, 33, "%s", (const char *)sqlite3_column_text(stmt, 1));
        s_read_meta(stmt, 2, &batch[n].meta);
        n++;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    int result = 0;
    for (size_t i = 0; i < n && result == 0; i++) {
        sqlite3_stmt *up = self->st[ST_EXPIRE_UPDATE];
        sqlite3_bind_blob(up, 1, batch[i].id, QUEUE_ID_BYTES, SQLITE_STATIC);
        sqlite3_bind_text(up, 2, batch[i].recipient, -1, SQLITE_STATIC);
        if (s_done(self, ST_EXPIRE_UPDATE) != 0 || s_drop_if_settled(self, batch[i].id) != 0)
            result = -1;
        else if (fn)
            fn(arg, batch[i].id, &batch[i].meta, batch[i].recipient);
    }
    free(batch);
    return result == 0 ? (int)n : -1;
}

int queue_withdraw(queue_t *self, const uint8_t id[QUEUE_ID_BYTES], queue_recipient_fn *fn,
                   void *arg)
{
    sqlite3_stmt *stmt = self->st[ST_WITHDRAW_RECIPIENTS];
    sqlite3_bind_blob(stmt, 1, id, QUEUE_ID_BYTES, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        fn(arg, (const char *)sqlite3_column_text(stmt, 0));
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (rc != SQLITE_DONE)
        return -1;
    sqlite3_bind_blob(self->st[ST_WITHDRAW_MARK], 1, id, QUEUE_ID_BYTES, SQLITE_STATIC);
    if (s_done(self, ST_WITHDRAW_MARK) != 0)
        return -1;
    sqlite3_bind_blob(self->st[ST_WITHDRAW_CANCEL], 1, id, QUEUE_ID_BYTES, SQLITE_STATIC);
    if (s_done(self, ST_WITHDRAW_CANCEL) != 0)
        return -1;
    return s_drop_if_settled(self, id);
}

int queue_prune(queue_t *self, int64_t now_ms)
{
    sqlite3_bind_int64(self->st[ST_PRUNE], 1, now_ms);
    if (s_done(self, ST_PRUNE) != 0)
        return -1;
    return sqlite3_changes(self->db);
}

int queue_notice_add(queue_t *self, const char *org, notice_kind_t kind,
                     const uint8_t id[QUEUE_ID_BYTES], const uint8_t *frame, size_t len)
{
    sqlite3_stmt *stmt = self->st[ST_NOTICE_ADD];
    sqlite3_bind_text(stmt, 1, org, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, (int)kind);
    sqlite3_bind_blob(stmt, 3, id, QUEUE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 4, frame, (int)len, SQLITE_STATIC);
    return s_done(self, ST_NOTICE_ADD);
}

int queue_notices(queue_t *self, const char *org, int64_t after_seq, queue_notice_fn *fn, void *arg)
{
    sqlite3_stmt *stmt = self->st[ST_NOTICES];
    sqlite3_bind_text(stmt, 1, org, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, after_seq);
    int rc, n = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(stmt, 2) != QUEUE_ID_BYTES)
            continue;
        fn(arg, sqlite3_column_int64(stmt, 0), (notice_kind_t)sqlite3_column_int(stmt, 1),
           sqlite3_column_blob(stmt, 2), sqlite3_column_blob(stmt, 3),
           (size_t)sqlite3_column_bytes(stmt, 3));
        n++;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_DONE ? n : -1;
}

int queue_notice_remove(queue_t *self, const char *org, notice_kind_t kind,
                        const uint8_t id[QUEUE_ID_BYTES])
{
    sqlite3_stmt *stmt = self->st[ST_NOTICE_REMOVE];
    sqlite3_bind_text(stmt, 1, org, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, (int)kind);
    sqlite3_bind_blob(stmt, 3, id, QUEUE_ID_BYTES, SQLITE_STATIC);
    return s_done(self, ST_NOTICE_REMOVE);
}

struct sqlite3 *queue_db(queue_t *self)
{
    return self->db;
}

int queue_meta_get(queue_t *self, const char *key, char *value, size_t len)
{
    sqlite3_stmt *stmt = NULL;
    int result = -1;
    if (sqlite3_prepare_v2(self->db, "SELECT value FROM broker_meta WHERE key=?1", -1, &stmt,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            snprintf(value, len, "%s", (const char *)sqlite3_column_text(stmt, 0));
            result = 1;
        } else if (rc == SQLITE_DONE)
            result = 0;
    }
    sqlite3_finalize(stmt);
    return result;
}

int queue_meta_set(queue_t *self, const char *key, const char *value)
{
    sqlite3_stmt *stmt = NULL;
    int rc = SQLITE_ERROR;
    if (sqlite3_prepare_v2(self->db,
                           "INSERT OR REPLACE INTO broker_meta(key, value) VALUES(?1, ?2)", -1,
                           &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

static bool s_key_listed(const uint8_t (*keys)[32], size_t n, const uint8_t *key)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(keys[i], key, 32) == 0)
            return true;
    return false;
}

int queue_partners_sync(queue_t *self, const uint8_t (*keys)[32], const char *const *orgs, size_t n,
                        queue_partner_fn *fn, void *arg)
{
    /* Revoked: seen before, not in the table now. Collected first (the
       select must be done before its rows are deleted) and forgotten, so a
       key that returns is "added" again. */
    uint8_t(*gone)[32] = NULL;
    size_t n_gone = 0;
    int result = -1, rc;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(self->db, "SELECT curve_key, org FROM partners_seen", -1, &stmt, NULL) !=
        SQLITE_OK)
        goto done;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const uint8_t *key = sqlite3_column_blob(stmt, 0);
        if (!key || sqlite3_column_bytes(stmt, 0) != 32 || s_key_listed(keys, n, key))
            continue;
        uint8_t(*more)[32] = realloc(gone, (n_gone + 1) * sizeof *gone);
        if (!more)
            goto done;
        gone = more;
        memcpy(gone[n_gone++], key, 32);
        fn(arg, (const char *)sqlite3_column_text(stmt, 1), false);
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc != SQLITE_DONE ||
        sqlite3_prepare_v2(self->db, "DELETE FROM partners_seen WHERE curve_key=?1", -1, &stmt,
                           NULL) != SQLITE_OK)
        goto done;
    for (size_t i = 0; i < n_gone; i++) {
        sqlite3_bind_blob(stmt, 1, gone[i], 32, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (rc != SQLITE_DONE)
            goto done;
    }
    sqlite3_finalize(stmt);
    /* Added: in the table now, not seen before. */
    if (sqlite3_prepare_v2(self->db,
                           "INSERT OR IGNORE INTO partners_seen(curve_key, org) VALUES(?1, ?2)", -1,
                           &stmt, NULL) != SQLITE_OK)
        goto done;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_blob(stmt, 1, keys[i], 32, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, orgs[i], -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (rc != SQLITE_DONE)
            goto done;
        if (sqlite3_changes(self->db) > 0)
            fn(arg, orgs[i], true);
    }
    result = 0;
done:
    sqlite3_finalize(stmt);
    free(gone);
    return result;
}
