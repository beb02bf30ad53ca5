/*  store_queue: the queue part of the broker's store; see store_queue.h. */
#include "store_internal.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_sql[QST_COUNT_] = {
    [QST_FIND] = "SELECT sender, signal_type, purpose, subject, digest, accepted_at, audit_index, "
                 "withdrawn FROM signals WHERE signal_id = $1",
    [QST_INSERT_SIGNAL] = "INSERT INTO signals(signal_id, sender, signal_type, purpose, subject, "
                          "digest, sealed, accepted_at, valid_until, audit_index) "
                          "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    [QST_INSERT_DELIVERY] = "INSERT INTO deliveries(signal_id, recipient, state, expires_at) "
                            "VALUES($1, $2, 0, $3) RETURNING seq",
    [QST_PENDING] = "SELECT d.seq, d.signal_id, s.sealed, s.accepted_at, s.sender, s.signal_type, "
                    "s.purpose, s.subject FROM deliveries d "
                    "JOIN signals s ON s.signal_id = d.signal_id "
                    "WHERE d.recipient = $1 AND d.state = 0 AND d.seq > $2 ORDER BY d.seq LIMIT $3",
    [QST_PENDING_COUNT] = "SELECT count(*) FROM deliveries WHERE recipient = $1 AND state = 0",
    [QST_PENDING_COUNT_ALL] = "SELECT count(*) FROM deliveries WHERE state = 0",
    [QST_SETTLE] = "UPDATE deliveries SET state = $1 WHERE signal_id = $2 AND recipient = $3 "
                   "AND state < 1",
    [QST_SETTLE_SEQ] = "UPDATE deliveries SET state = $1 WHERE seq = $2 AND signal_id = $3 AND "
                       "recipient = $4 AND state = 0",
    [QST_REMAINING] = "SELECT count(*) FROM deliveries WHERE signal_id = $1 AND state < 1",
    [QST_DROP_SEALED] = "UPDATE signals SET sealed = NULL WHERE signal_id = $1",
    [QST_EXPIRE_SELECT] = "SELECT d.signal_id, d.recipient, s.sender, s.signal_type, s.purpose, "
                          "s.subject FROM deliveries d "
                          "JOIN signals s ON s.signal_id = d.signal_id "
                          "WHERE d.state = 0 AND d.expires_at <= $1 LIMIT 1000",
    [QST_EXPIRE_UPDATE] = "UPDATE deliveries SET state = 3 WHERE signal_id = $1 AND recipient = $2",
    [QST_WITHDRAW_MARK] = "UPDATE signals SET withdrawn = 1 WHERE signal_id = $1",
    [QST_WITHDRAW_RECIPIENTS] = "SELECT recipient FROM deliveries WHERE signal_id = $1 AND "
                                "state IN (0, 1)",
    [QST_WITHDRAW_CANCEL] = "UPDATE deliveries SET state = 4 WHERE signal_id = $1 AND state < 1",
    [QST_PRUNE] = "DELETE FROM signals WHERE valid_until < $1 AND NOT EXISTS (SELECT 1 FROM "
                  "deliveries d WHERE d.signal_id = signals.signal_id AND d.state = 0)",
    /* A notice added again replaces the old one with a new seq (delete,
       then insert), so that a partner whose cursor is past the old one is
       sent the new frame. */
    [QST_NOTICE_DROP] = "DELETE FROM notices WHERE org = $1 AND kind = $2 AND signal_id = $3",
    [QST_NOTICE_ADD] = "INSERT INTO notices(org, kind, signal_id, frame) VALUES($1, $2, $3, $4) "
                       "ON CONFLICT (org, kind, signal_id) DO NOTHING",
    [QST_NOTICES] = "SELECT seq, kind, signal_id, frame FROM notices WHERE org = $1 AND seq > $2 "
                    "ORDER BY seq",
    [QST_NOTICE_REMOVE] = "DELETE FROM notices WHERE org = $1 AND kind = $2 AND signal_id = $3",
    [QST_DELIVERY_STATE] = "SELECT state FROM deliveries WHERE signal_id = $1 AND recipient = $2",
    [QST_DELIVERED_SET] = "UPDATE deliveries SET delivered_index = $1 WHERE signal_id = $2 AND "
                          "recipient = $3",
    [QST_DELIVERED_GET] = "SELECT delivered_index FROM deliveries WHERE signal_id = $1 AND "
                          "recipient = $2 AND delivered_index IS NOT NULL",
    [QST_AGREEMENTS_IN_FORCE] = "SELECT version, sha256, file FROM agreements_history "
                                "ORDER BY seq DESC LIMIT 1",
    [QST_AGREEMENTS_RECORD] = "INSERT INTO agreements_history(version, sha256, took_effect_at, "
                              "file) VALUES($1, $2, $3, $4)",
    [QST_AGREEMENTS_SIGNATURE] = "INSERT INTO agreements_signatures(sha256, signer, signature) "
                                 "VALUES($1, $2, $3) ON CONFLICT (sha256, signer) DO NOTHING",
    /* "state < 1" (pending, as "state = 0") where a signal's deliveries are
       looked up by signal_id: PostgreSQL cannot use the partial indexes
       (WHERE state = 0) for it, so it takes the (signal_id, recipient) key.
       With "state = 0" and statistics older than a fast-growing queue, it
       chose to AND the key with a scan of every pending delivery: an ack
       cost O(queue) (2 ms with 2,000 pending, in the benchmark). */
    /* PostgreSQL: a statement whose answer the turn waits for is a round
       trip, and the broker's loop waits with it. A delivery's number comes
       from a block taken in advance, so its INSERT joins the turn's
       pipeline; an ack settles its delivery and drops the ciphertext when
       nothing of the signal is pending in one statement (the subquery sees
       the snapshot before the UPDATE, hence the settled row is excluded by
       hand). SQLite answers in microseconds and has no data-modifying WITH:
       it keeps the statements above. */
    [QST_PG_SEQ_BLOCK] = "SELECT nextval(pg_get_serial_sequence('deliveries', 'seq')) "
                         "FROM generate_series(1, $1)",
    [QST_PG_INSERT_DELIVERY] = "INSERT INTO deliveries(seq, signal_id, recipient, state, "
                               "expires_at) VALUES($1, $2, $3, 0, $4)",
    [QST_PG_SETTLE] =
        "WITH settled AS (UPDATE deliveries SET state = $1 WHERE signal_id = $2 AND recipient = $3 "
        "AND state < 1 RETURNING seq), dropped AS (UPDATE signals SET sealed = NULL WHERE "
        "signal_id = $2 AND EXISTS (SELECT 1 FROM settled) AND NOT EXISTS (SELECT 1 FROM "
        "deliveries d WHERE d.signal_id = $2 AND d.state < 1 AND d.seq NOT IN (SELECT seq FROM "
        "settled))) SELECT count(*) FROM settled",
    [QST_PG_SETTLE_SEQ] =
        "WITH settled AS (UPDATE deliveries SET state = $1 WHERE seq = $2 AND signal_id = $3 AND "
        "recipient = $4 AND state = 0 RETURNING seq), dropped AS (UPDATE signals SET sealed = NULL "
        "WHERE signal_id = $3 AND EXISTS (SELECT 1 FROM settled) AND NOT EXISTS (SELECT 1 FROM "
        "deliveries d WHERE d.signal_id = $3 AND d.state < 1 AND d.seq NOT IN (SELECT seq FROM "
        "settled))) SELECT count(*) FROM settled",
    /* The same for a delivery the broker has in flight, queued with the
       turn's writes instead of waiting for its count: the broker knows it
       is pending (broker_store_settle_sent). Should the store disagree,
       1 / 0 fails the transaction (SQLSTATE 22012) rather than let the
       turn audit a hand-over that settled nothing. */
    [QST_PG_SETTLE_SENT] =
        "WITH settled AS (UPDATE deliveries SET state = $1 WHERE seq = $2 AND signal_id = $3 AND "
        "recipient = $4 AND state = 0 RETURNING seq), dropped AS (UPDATE signals SET sealed = NULL "
        "WHERE signal_id = $3 AND EXISTS (SELECT 1 FROM settled) AND NOT EXISTS (SELECT 1 FROM "
        "deliveries d WHERE d.signal_id = $3 AND d.state < 1 AND d.seq NOT IN (SELECT seq FROM "
        "settled))) SELECT 1 / count(*) FROM settled",
    /* Which of a turn's submitted ids the store holds, in one round trip:
       $1 is their hex, comma-separated (db.h binds no arrays). */
    [QST_PG_HELD] = "SELECT signal_id FROM signals WHERE signal_id = ANY(ARRAY(SELECT "
                    "decode(h, 'hex') FROM unnest(string_to_array($1, ',')) AS h))",
};

int store_queue_prepare(broker_store_t *self, char *err, size_t errlen)
{
    for (int i = 0; i < QST_COUNT_; i++)
        if (self->sqlite && i >= QST_PG_SEQ_BLOCK)
            self->queue[i] = NULL;
        else if (!(self->queue[i] = db_prepare(self->db, s_sql[i]))) {
            snprintf(err, errlen, "cannot prepare broker store statement: %s", db_errmsg(self->db));
            return -1;
        }
    return 0;
}

/* Runs a statement that returns no rows. 0 or -1. */
static int s_done(broker_store_t *self, int st)
{
    return db_run(self->queue[st]);
}

/* The same, answered at once: the rows it changed, or -1. */
static int64_t s_counted(broker_store_t *self, int st)
{
    db_step_t rc = db_step(self->queue[st]);
    db_reset(self->queue[st]);
    return rc == DB_ERROR ? -1 : db_changes(self->db);
}

/* The first column of the first row as an integer, or -1. */
static int64_t s_scalar(broker_store_t *self, int st)
{
    db_stmt_t *stmt = self->queue[st];
    int64_t value = db_step(stmt) == DB_ROW ? db_column_int64(stmt, 0) : -1;
    db_reset(stmt);
    return value;
}

/* Reads sender, type, purpose, subject from columns col..col+3. */
static void s_read_meta(db_stmt_t *stmt, int col, queue_meta_t *meta)
{
    memset(meta, 0, sizeof *meta);
    const char *text;
    if ((text = db_column_text(stmt, col)) != NULL)
        snprintf(meta->sender, sizeof meta->sender, "%s", text);
    if ((text = db_column_text(stmt, col + 1)) != NULL)
        snprintf(meta->signal_type, sizeof meta->signal_type, "%s", text);
    if ((text = db_column_text(stmt, col + 2)) != NULL)
        snprintf(meta->purpose, sizeof meta->purpose, "%s", text);
    size_t len = 0;
    const void *subject = db_column_blob(stmt, col + 3, &len);
    if (subject && len == sizeof meta->subject)
        memcpy(meta->subject, subject, sizeof meta->subject);
}

static int s_id_cmp(const void *a, const void *b)
{
    return memcmp(a, b, QUEUE_ID_BYTES);
}

void store_queue_forget_absent(broker_store_t *self)
{
    self->n_absent = 0;
}

int broker_store_prefetch(broker_store_t *self, const uint8_t (*ids)[QUEUE_ID_BYTES], size_t n)
{
    self->n_absent = 0;
    if (self->sqlite || n == 0)
        return 0;
    if (n > self->absent_cap) {
        struct store_absent_t *grown = realloc(self->absent, n * sizeof *grown);
        if (!grown)
            return 0; /* only a shortcut: find_signal reads */
        self->absent = grown;
        self->absent_cap = n;
    }
    char *list = malloc(n * (2 * QUEUE_ID_BYTES + 1));
    if (!list)
        return 0;
    for (size_t i = 0; i < n; i++) {
        sodium_bin2hex(list + i * (2 * QUEUE_ID_BYTES + 1), 2 * QUEUE_ID_BYTES + 1, ids[i],
                       QUEUE_ID_BYTES);
        if (i + 1 < n)
            list[i * (2 * QUEUE_ID_BYTES + 1) + 2 * QUEUE_ID_BYTES] = ',';
        memcpy(self->absent[i].id, ids[i], QUEUE_ID_BYTES);
        self->absent[i].used = false;
    }
    qsort(self->absent, n, sizeof *self->absent, s_id_cmp);
    size_t unique = 0;
    for (size_t i = 0; i < n; i++)
        if (unique == 0 ||
            memcmp(self->absent[unique - 1].id, self->absent[i].id, QUEUE_ID_BYTES) != 0)
            self->absent[unique++] = self->absent[i];
    db_stmt_t *stmt = self->queue[QST_PG_HELD];
    db_step_t rc = db_bind_text_ref(stmt, 1, list) == 0 ? DB_ROW : DB_ERROR;
    while (rc == DB_ROW && (rc = db_step(stmt)) == DB_ROW) {
        size_t len = 0;
        const void *held = db_column_blob(stmt, 0, &len);
        struct store_absent_t *hit =
            held && len == QUEUE_ID_BYTES
                ? bsearch(held, self->absent, unique, sizeof *self->absent, s_id_cmp)
                : NULL;
        if (hit)
            hit->used = true; /* held: find_signal must read it */
    }
    db_reset(stmt);
    free(list);
    if (rc != DB_DONE)
        return -1;
    self->n_absent = unique;
    return 0;
}

int broker_store_find_signal(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                             queue_signal_t *out)
{
    if (self->n_absent > 0) {
        struct store_absent_t *absent =
            bsearch(id, self->absent, self->n_absent, sizeof *self->absent, s_id_cmp);
        if (absent && !absent->used) {
            absent->used = true;
            return 0;
        }
    }
    db_stmt_t *stmt = self->queue[QST_FIND];
    db_bind_blob_ref(stmt, 1, id, QUEUE_ID_BYTES);
    db_step_t rc = db_step(stmt);
    if (rc == DB_ROW) {
        memset(out, 0, sizeof *out);
        s_read_meta(stmt, 0, &out->meta);
        size_t len = 0;
        const void *digest = db_column_blob(stmt, 4, &len);
        if (digest && len == QUEUE_DIGEST_BYTES)
            memcpy(out->digest, digest, QUEUE_DIGEST_BYTES);
        out->accepted_at_ms = db_column_int64(stmt, 5);
        out->audit_index = db_column_int64(stmt, 6);
        out->withdrawn = db_column_int64(stmt, 7) != 0;
    }
    db_reset(stmt);
    return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

/* One integer of the delivery (id, recipient) by statement `st`: 1 and
 *value, 0 when there is no such row, -1 on error. */
static int s_delivery_int(broker_store_t *self, int st, const uint8_t id[QUEUE_ID_BYTES],
                          const char *recipient, int64_t *value)
{
    db_stmt_t *stmt = self->queue[st];
    db_bind_blob_ref(stmt, 1, id, QUEUE_ID_BYTES);
    db_bind_text_ref(stmt, 2, recipient);
    db_step_t rc = db_step(stmt);
    if (rc == DB_ROW)
        *value = db_column_int64(stmt, 0);
    db_reset(stmt);
    return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int broker_store_delivery_state(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                                const char *recipient, delivery_state_t *state)
{
    int64_t value = 0;
    int result = s_delivery_int(self, QST_DELIVERY_STATE, id, recipient, &value);
    if (result == 1)
        *state = (delivery_state_t)value;
    return result;
}

int broker_store_delivered_set(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                               const char *recipient, int64_t audit_index)
{
    db_stmt_t *stmt = self->queue[QST_DELIVERED_SET];
    db_bind_int64(stmt, 1, audit_index);
    db_bind_blob_ref(stmt, 2, id, QUEUE_ID_BYTES);
    db_bind_text_ref(stmt, 3, recipient);
    return s_done(self, QST_DELIVERED_SET);
}

int broker_store_delivered_index(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                                 const char *recipient, int64_t *audit_index)
{
    return s_delivery_int(self, QST_DELIVERED_GET, id, recipient, audit_index);
}

int broker_store_agreements_in_force(broker_store_t *self, uint64_t *version,
                                     uint8_t hash[QUEUE_AGREEMENTS_HASH_BYTES], char **file,
                                     size_t *len)
{
    db_stmt_t *stmt = self->queue[QST_AGREEMENTS_IN_FORCE];
    db_step_t rc = db_step(stmt);
    int result = rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
    if (result == 1) {
        size_t sha_len = 0, n = 0;
        const void *sha = db_column_blob(stmt, 1, &sha_len);
        const void *bytes = db_column_blob(stmt, 2, &n);
        if (!sha || sha_len != QUEUE_AGREEMENTS_HASH_BYTES || !bytes || n == 0 ||
            !(*file = malloc(n + 1)))
            result = -1;
        else {
            *version = (uint64_t)db_column_int64(stmt, 0);
            memcpy(hash, sha, QUEUE_AGREEMENTS_HASH_BYTES);
            memcpy(*file, bytes, n);
            (*file)[n] = '\0';
            *len = n;
        }
    }
    db_reset(stmt);
    return result;
}

int broker_store_agreements_record(broker_store_t *self, uint64_t version,
                                   const uint8_t hash[QUEUE_AGREEMENTS_HASH_BYTES],
                                   const char *file, size_t len, int64_t at_ms)
{
    db_stmt_t *stmt = self->queue[QST_AGREEMENTS_RECORD];
    db_bind_int64(stmt, 1, (int64_t)version);
    db_bind_blob_ref(stmt, 2, hash, QUEUE_AGREEMENTS_HASH_BYTES);
    db_bind_int64(stmt, 3, at_ms);
    db_bind_blob_ref(stmt, 4, file, len);
    return s_done(self, QST_AGREEMENTS_RECORD);
}

int broker_store_agreements_signature(broker_store_t *self,
                                      const uint8_t hash[QUEUE_AGREEMENTS_HASH_BYTES],
                                      const char *signer, const char *signature, size_t len)
{
    db_stmt_t *stmt = self->queue[QST_AGREEMENTS_SIGNATURE];
    db_bind_blob_ref(stmt, 1, hash, QUEUE_AGREEMENTS_HASH_BYTES);
    db_bind_text_ref(stmt, 2, signer);
    db_bind_blob_ref(stmt, 3, signature, len);
    return s_done(self, QST_AGREEMENTS_SIGNATURE);
}

int broker_store_insert_signal(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                               const queue_meta_t *meta, const uint8_t digest[QUEUE_DIGEST_BYTES],
                               const uint8_t *sealed, size_t sealed_len, int64_t accepted_at_ms,
                               int64_t valid_until_ms, int64_t audit_index)
{
    db_stmt_t *stmt = self->queue[QST_INSERT_SIGNAL];
    db_bind_blob_ref(stmt, 1, id, QUEUE_ID_BYTES);
    db_bind_text_ref(stmt, 2, meta->sender);
    db_bind_text_ref(stmt, 3, meta->signal_type);
    db_bind_text_ref(stmt, 4, meta->purpose);
    db_bind_blob_ref(stmt, 5, meta->subject, sizeof meta->subject);
    db_bind_blob_ref(stmt, 6, digest, QUEUE_DIGEST_BYTES);
    db_bind_blob_ref(stmt, 7, sealed, sealed_len);
    db_bind_int64(stmt, 8, accepted_at_ms);
    db_bind_int64(stmt, 9, valid_until_ms);
    db_bind_int64(stmt, 10, audit_index);
    return s_done(self, QST_INSERT_SIGNAL);
}

static int s_int64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The next delivery number, from the block in hand or a new one. -1 when
   the sequence does not answer. */
static int64_t s_pg_next_seq(broker_store_t *self)
{
    if (self->seq_used == self->seq_count) {
        db_stmt_t *stmt = self->queue[QST_PG_SEQ_BLOCK];
        db_bind_int64(stmt, 1, STORE_SEQ_BLOCK);
        size_t n = 0;
        db_step_t rc;
        while (n < STORE_SEQ_BLOCK && (rc = db_step(stmt)) == DB_ROW)
            self->seqs[n++] = db_column_int64(stmt, 0);
        db_reset(stmt);
        if (n == 0)
            return -1;
        /* one session's nextval calls ascend; sorted all the same, since a
           recipient's cursor relies on the order */
        qsort(self->seqs, n, sizeof self->seqs[0], s_int64_cmp);
        self->seq_used = 0;
        self->seq_count = n;
    }
    return self->seqs[self->seq_used++];
}

static int64_t s_pg_insert_delivery(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                                    const char *recipient, int64_t expires_at_ms)
{
    int64_t seq = s_pg_next_seq(self);
    if (seq < 0)
        return -1;
    db_stmt_t *stmt = self->queue[QST_PG_INSERT_DELIVERY];
    db_bind_int64(stmt, 1, seq);
    db_bind_blob_ref(stmt, 2, id, QUEUE_ID_BYTES);
    db_bind_text_ref(stmt, 3, recipient);
    db_bind_int64(stmt, 4, expires_at_ms);
    return db_run(stmt) == 0 ? seq : -1;
}

int64_t broker_store_insert_delivery(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                                     const char *recipient, int64_t expires_at_ms)
{
    if (!self->sqlite)
        return s_pg_insert_delivery(self, id, recipient, expires_at_ms);
    db_stmt_t *stmt = self->queue[QST_INSERT_DELIVERY];
    db_bind_blob_ref(stmt, 1, id, QUEUE_ID_BYTES);
    db_bind_text_ref(stmt, 2, recipient);
    db_bind_int64(stmt, 3, expires_at_ms);
    int64_t seq = db_step(stmt) == DB_ROW ? db_column_int64(stmt, 0) : -1;
    db_reset(stmt);
    return seq;
}

int broker_store_pending(broker_store_t *self, const char *recipient, int64_t after_seq,
                         size_t limit, queue_pending_fn *fn, void *arg)
{
    db_stmt_t *stmt = self->queue[QST_PENDING];
    db_bind_text_ref(stmt, 1, recipient);
    db_bind_int64(stmt, 2, after_seq);
    db_bind_int64(stmt, 3, (int64_t)limit);
    int visited = 0;
    db_step_t rc;
    while ((rc = db_step(stmt)) == DB_ROW) {
        size_t id_len = 0, len = 0;
        const uint8_t *id = db_column_blob(stmt, 1, &id_len);
        if (!id || id_len != QUEUE_ID_BYTES)
            continue;
        const uint8_t *sealed = db_column_blob(stmt, 2, &len);
        if (!sealed)
            continue; /* settled in this very transaction */
        visited++;
        queue_meta_t meta;
        s_read_meta(stmt, 4, &meta);
        if (fn(arg, db_column_int64(stmt, 0), id, &meta, sealed, len, db_column_int64(stmt, 3)) !=
            0)
            break;
    }
    db_reset(stmt);
    return rc == DB_ROW || rc == DB_DONE ? visited : -1;
}

int64_t broker_store_pending_count(broker_store_t *self, const char *recipient)
{
    if (!recipient)
        return s_scalar(self, QST_PENDING_COUNT_ALL);
    db_bind_text_ref(self->queue[QST_PENDING_COUNT], 1, recipient);
    return s_scalar(self, QST_PENDING_COUNT);
}

/* Deletes the ciphertext of a signal once nothing of it is pending. */
static int s_drop_if_settled(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES])
{
    db_bind_blob_ref(self->queue[QST_REMAINING], 1, id, QUEUE_ID_BYTES);
    int64_t remaining = s_scalar(self, QST_REMAINING);
    if (remaining < 0)
        return -1;
    if (remaining > 0)
        return 0;
    db_bind_blob_ref(self->queue[QST_DROP_SEALED], 1, id, QUEUE_ID_BYTES);
    return s_done(self, QST_DROP_SEALED);
}

int broker_store_settle(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                        const char *recipient, delivery_state_t state)
{
    if (!self->sqlite) {
        db_stmt_t *pg = self->queue[QST_PG_SETTLE];
        db_bind_int64(pg, 1, (int64_t)state);
        db_bind_blob_ref(pg, 2, id, QUEUE_ID_BYTES);
        db_bind_text_ref(pg, 3, recipient);
        int64_t settled = s_scalar(self, QST_PG_SETTLE);
        return settled < 0 ? -1 : settled > 0;
    }
    db_stmt_t *stmt = self->queue[QST_SETTLE];
    db_bind_int64(stmt, 1, (int64_t)state);
    db_bind_blob_ref(stmt, 2, id, QUEUE_ID_BYTES);
    db_bind_text_ref(stmt, 3, recipient);
    int64_t changed = s_counted(self, QST_SETTLE);
    if (changed <= 0)
        return changed < 0 ? -1 : 0;
    return s_drop_if_settled(self, id) == 0 ? 1 : -1;
}

int broker_store_settle_seq(broker_store_t *self, int64_t seq, const uint8_t id[QUEUE_ID_BYTES],
                            const char *recipient, delivery_state_t state)
{
    if (!self->sqlite) {
        db_stmt_t *pg = self->queue[QST_PG_SETTLE_SEQ];
        db_bind_int64(pg, 1, (int64_t)state);
        db_bind_int64(pg, 2, seq);
        db_bind_blob_ref(pg, 3, id, QUEUE_ID_BYTES);
        db_bind_text_ref(pg, 4, recipient);
        int64_t settled = s_scalar(self, QST_PG_SETTLE_SEQ);
        return settled < 0 ? -1 : settled > 0;
    }
    db_stmt_t *stmt = self->queue[QST_SETTLE_SEQ];
    db_bind_int64(stmt, 1, (int64_t)state);
    db_bind_int64(stmt, 2, seq);
    db_bind_blob_ref(stmt, 3, id, QUEUE_ID_BYTES);
    db_bind_text_ref(stmt, 4, recipient);
    int64_t changed = s_counted(self, QST_SETTLE_SEQ);
    if (changed <= 0)
        return changed < 0 ? -1 : 0;
    return s_drop_if_settled(self, id) == 0 ? 1 : -1;
}

int broker_store_settle_sent(broker_store_t *self, int64_t seq, const uint8_t id[QUEUE_ID_BYTES],
                             const char *recipient, delivery_state_t state)
{
    if (self->sqlite) /* answers in microseconds: ask */
        return broker_store_settle_seq(self, seq, id, recipient, state);
    db_stmt_t *pg = self->queue[QST_PG_SETTLE_SENT];
    db_bind_int64(pg, 1, (int64_t)state);
    db_bind_int64(pg, 2, seq);
    db_bind_blob_ref(pg, 3, id, QUEUE_ID_BYTES);
    db_bind_text_ref(pg, 4, recipient);
    return s_done(self, QST_PG_SETTLE_SENT) == 0 ? 1 : -1;
}

int broker_store_expire(broker_store_t *self, int64_t now_ms, queue_expired_fn *fn, void *arg)
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
    db_stmt_t *stmt = self->queue[QST_EXPIRE_SELECT];
    db_bind_int64(stmt, 1, now_ms);
    db_step_t rc = DB_DONE;
    while (n < 1000 && (rc = db_step(stmt)) == DB_ROW) {
        size_t id_len = 0;
        const void *id = db_column_blob(stmt, 0, &id_len);
        const char *recipient = db_column_text(stmt, 1);
        if (!id || id_len != QUEUE_ID_BYTES || !recipient)
            continue;
        memcpy(batch[n].id, id, QUEUE_ID_BYTES);
        snprintf(batch[n].recipient, sizeof batch[n].recipient, "%s", recipient);
        s_read_meta(stmt, 2, &batch[n].meta);
        n++;
    }
    db_reset(stmt);
    int result = rc == DB_ERROR ? -1 : 0;
    for (size_t i = 0; i < n && result == 0; i++) {
        db_stmt_t *up = self->queue[QST_EXPIRE_UPDATE];
        db_bind_blob_ref(up, 1, batch[i].id, QUEUE_ID_BYTES);
        db_bind_text_ref(up, 2, batch[i].recipient);
        if (s_done(self, QST_EXPIRE_UPDATE) != 0 || s_drop_if_settled(self, batch[i].id) != 0)
            result = -1;
        else if (fn)
            fn(arg, batch[i].id, &batch[i].meta, batch[i].recipient);
    }
    free(batch);
    return result == 0 ? (int)n : -1;
}

int broker_store_withdraw(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                          queue_recipient_fn *fn, void *arg)
{
    db_stmt_t *stmt = self->queue[QST_WITHDRAW_RECIPIENTS];
    db_bind_blob_ref(stmt, 1, id, QUEUE_ID_BYTES);
    db_step_t rc;
    while ((rc = db_step(stmt)) == DB_ROW)
        if (db_column_text(stmt, 0))
            fn(arg, db_column_text(stmt, 0));
    db_reset(stmt);
    if (rc != DB_DONE)
        return -1;
    db_bind_blob_ref(self->queue[QST_WITHDRAW_MARK], 1, id, QUEUE_ID_BYTES);
    if (s_done(self, QST_WITHDRAW_MARK) != 0)
        return -1;
    db_bind_blob_ref(self->queue[QST_WITHDRAW_CANCEL], 1, id, QUEUE_ID_BYTES);
    if (s_done(self, QST_WITHDRAW_CANCEL) != 0)
        return -1;
    return s_drop_if_settled(self, id);
}

int broker_store_prune(broker_store_t *self, int64_t now_ms)
{
    db_bind_int64(self->queue[QST_PRUNE], 1, now_ms);
    int64_t removed = s_counted(self, QST_PRUNE);
    return removed < 0 ? -1 : (int)removed;
}

/* Binds a notice to the insert or the delete (org, kind, id first). */
static void s_bind_notice(db_stmt_t *stmt, const char *org, notice_kind_t kind,
                          const uint8_t id[QUEUE_ID_BYTES])
{
    db_bind_text_ref(stmt, 1, org);
    db_bind_int64(stmt, 2, (int64_t)kind);
    db_bind_blob_ref(stmt, 3, id, QUEUE_ID_BYTES);
}

int broker_store_notice_add(broker_store_t *self, const char *org, notice_kind_t kind,
                            const uint8_t id[QUEUE_ID_BYTES], const uint8_t *frame, size_t len)
{
    db_stmt_t *add = self->queue[QST_NOTICE_ADD];
    if (self->sqlite) {
        /* SQLite answers at once: one statement for a new notice (one per
           delivery outcome: the hot path), the replacement only when the
           notice existed (an alert's later state). A server backend instead
           queues the delete and the insert without waiting for an answer. */
        s_bind_notice(add, org, kind, id);
        db_bind_blob_ref(add, 4, frame, len);
        int64_t added = s_counted(self, QST_NOTICE_ADD);
        if (added != 0)
            return added > 0 ? 0 : -1;
    }
    s_bind_notice(self->queue[QST_NOTICE_DROP], org, kind, id);
    if (s_done(self, QST_NOTICE_DROP) != 0)
        return -1;
    s_bind_notice(add, org, kind, id);
    db_bind_blob_ref(add, 4, frame, len);
    return s_done(self, QST_NOTICE_ADD);
}

int broker_store_notices(broker_store_t *self, const char *org, int64_t after_seq,
                         queue_notice_fn *fn, void *arg)
{
    db_stmt_t *stmt = self->queue[QST_NOTICES];
    db_bind_text_ref(stmt, 1, org);
    db_bind_int64(stmt, 2, after_seq);
    db_step_t rc;
    int n = 0;
    while ((rc = db_step(stmt)) == DB_ROW) {
        size_t id_len = 0, len = 0;
        const uint8_t *id = db_column_blob(stmt, 2, &id_len);
        if (!id || id_len != QUEUE_ID_BYTES)
            continue;
        const uint8_t *frame = db_column_blob(stmt, 3, &len);
        fn(arg, db_column_int64(stmt, 0), (notice_kind_t)db_column_int64(stmt, 1), id, frame, len);
        n++;
    }
    db_reset(stmt);
    return rc == DB_DONE ? n : -1;
}

int broker_store_notice_remove(broker_store_t *self, const char *org, notice_kind_t kind,
                               const uint8_t id[QUEUE_ID_BYTES])
{
    s_bind_notice(self->queue[QST_NOTICE_REMOVE], org, kind, id);
    return s_done(self, QST_NOTICE_REMOVE);
}

int broker_store_meta_get(broker_store_t *self, const char *key, char *value, size_t len)
{
    db_stmt_t *stmt = db_prepare(self->db, "SELECT value FROM broker_meta WHERE key = $1");
    if (!stmt || db_bind_text(stmt, 1, key) != 0)
        return -1;
    db_step_t rc = db_step(stmt);
    if (rc == DB_ROW) {
        const char *text = db_column_text(stmt, 0);
        snprintf(value, len, "%s", text ? text : "");
    }
    db_reset(stmt);
    return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int broker_store_meta_set(broker_store_t *self, const char *key, const char *value)
{
    db_stmt_t *stmt =
        db_prepare(self->db, "INSERT INTO broker_meta(key, value) VALUES($1, $2) "
                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    if (!stmt || db_bind_text(stmt, 1, key) != 0 || db_bind_text(stmt, 2, value) != 0)
        return -1;
    return db_run(stmt);
}

static bool s_key_listed(const uint8_t (*keys)[32], size_t n, const uint8_t *key)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(keys[i], key, 32) == 0)
            return true;
    return false;
}

int broker_store_partners_sync(broker_store_t *self, const uint8_t (*keys)[32],
                               const char *const *orgs, size_t n, queue_partner_fn *fn, void *arg)
{
    /* Revoked: seen before, not in the table now. Collected first (the
       select must be done before its rows are deleted) and forgotten, so a
       key that returns is "added" again. */
    uint8_t(*gone)[32] = NULL;
    size_t n_gone = 0;
    int result = -1;
    db_step_t rc = DB_DONE;
    db_stmt_t *stmt = db_prepare(self->db, "SELECT curve_key, org FROM partners_seen");
    if (!stmt)
        goto done;
    while ((rc = db_step(stmt)) == DB_ROW) {
        size_t len = 0;
        const uint8_t *key = db_column_blob(stmt, 0, &len);
        const char *org = db_column_text(stmt, 1);
        if (!key || len != 32 || !org || s_key_listed(keys, n, key))
            continue;
        uint8_t(*more)[32] = realloc(gone, (n_gone + 1) * sizeof *gone);
        if (!more) {
            db_reset(stmt);
            goto done;
        }
        gone = more;
        memcpy(gone[n_gone++], key, 32);
        fn(arg, org, false);
    }
    db_reset(stmt);
    if (rc != DB_DONE ||
        !(stmt = db_prepare(self->db, "DELETE FROM partners_seen WHERE curve_key = $1")))
        goto done;
    for (size_t i = 0; i < n_gone; i++)
        if (db_bind_blob(stmt, 1, gone[i], 32) != 0 || db_run(stmt) != 0)
            goto done;
    /* Added: in the table now, not seen before. */
    stmt = db_prepare(self->db, "INSERT INTO partners_seen(curve_key, org) VALUES($1, $2) "
                                "ON CONFLICT (curve_key) DO NOTHING");
    if (!stmt)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (db_bind_blob(stmt, 1, keys[i], 32) != 0 || db_bind_text(stmt, 2, orgs[i]) != 0)
            goto done;
        rc = db_step(stmt);
        db_reset(stmt);
        if (rc == DB_ERROR)
            goto done;
        if (db_changes(self->db) > 0)
            fn(arg, orgs[i], true);
    }
    result = 0;
done:
    free(gone);
    return result;
}

int broker_store_backlog(broker_store_t *self, const char *recipient, int64_t *queued,
                         int64_t *oldest_ms)
{
    /* The oldest pending delivery is the one with the lowest seq. */
    db_stmt_t *stmt = db_prepare(
        self->db, "SELECT count(*), (SELECT s.accepted_at FROM deliveries d JOIN signals s "
                  "ON s.signal_id = d.signal_id WHERE d.recipient = $1 AND d.state = 0 "
                  "ORDER BY d.seq LIMIT 1) FROM deliveries WHERE recipient = $1 AND state = 0");
    if (!stmt || db_bind_text(stmt, 1, recipient) != 0)
        return -1;
    db_step_t rc = db_step(stmt);
    if (rc == DB_ROW) {
        *queued = db_column_int64(stmt, 0);
        *oldest_ms = db_column_is_null(stmt, 1) ? 0 : db_column_int64(stmt, 1);
    }
    db_reset(stmt);
    return rc == DB_ROW ? 0 : -1;
}
