/*  audit_log: the audit transparency log in SQLite; see audit_log.h. */
#include "audit_log.h"

#include "audit_subjects.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The node cache keeps perfect subtrees of 2^4 = 16 leaves and up. */
#define AUDIT_NODE_MIN_LEVEL 4

static const char *s_schema = "CREATE TABLE IF NOT EXISTS audit("
                              "  idx INTEGER PRIMARY KEY,"
                              "  record BLOB NOT NULL,"
                              "  leaf BLOB NOT NULL);"
                              "CREATE TABLE IF NOT EXISTS audit_nodes("
                              "  level INTEGER NOT NULL,"
                              "  idx INTEGER NOT NULL,"
                              "  hash BLOB NOT NULL,"
                              "  PRIMARY KEY(level, idx)) WITHOUT ROWID;"
                              "CREATE TABLE IF NOT EXISTS audit_meta("
                              "  key TEXT PRIMARY KEY,"
                              "  value TEXT NOT NULL);"
                              "CREATE TABLE IF NOT EXISTS checkpoints("
                              "  size INTEGER PRIMARY KEY,"
                              "  note TEXT NOT NULL,"
                              "  made_ms INTEGER NOT NULL);"
                              "CREATE TABLE IF NOT EXISTS cosignatures("
                              "  size INTEGER NOT NULL,"
                              "  org TEXT NOT NULL,"
                              "  line TEXT NOT NULL,"
                              "  received_ms INTEGER NOT NULL,"
                              "  PRIMARY KEY(size, org));";

enum {
    ST_APPEND,
    ST_NODE_PUT,
    ST_NODE_GET,
    ST_LEAF_GET,
    ST_RECORD_GET,
    ST_COUNT_ROWS,
    ST_CP_PUT,
    ST_CP_LATEST,
    ST_CP_AT,
    ST_COSIG_PUT,
    ST_SUBJECT_PUT, /* writable only: an older store may lack the table */
    ST_SUBJECT_DEL,
    ST_COUNT_
};

static const char *s_sql[ST_COUNT_] = {
    [ST_APPEND] = "INSERT INTO audit(idx, record, leaf) VALUES(?1, ?2, ?3)",
    [ST_NODE_PUT] = "INSERT OR REPLACE INTO audit_nodes(level, idx, hash) VALUES(?1, ?2, ?3)",
    [ST_NODE_GET] = "SELECT hash FROM audit_nodes WHERE level=?1 AND idx=?2",
    [ST_LEAF_GET] = "SELECT leaf FROM audit WHERE idx=?1",
    [ST_RECORD_GET] = "SELECT record FROM audit WHERE idx=?1",
    [ST_COUNT_ROWS] = "SELECT COALESCE(MAX(idx) + 1, 0) FROM audit",
    [ST_CP_PUT] = "INSERT OR REPLACE INTO checkpoints(size, note, made_ms) VALUES(?1, ?2, ?3)",
    [ST_CP_LATEST] = "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1",
    [ST_CP_AT] = "SELECT note FROM checkpoints WHERE size=?1",
    [ST_COSIG_PUT] = ("INSERT OR REPLACE INTO cosignatures(size, org, line, received_ms) "
                      "VALUES(?1, ?2, ?3, ?4)"),
    /* OR REPLACE: a row left behind by a truncated log (an operator's edit)
       must not stop the broker; audit_verify reports such rows. */
    [ST_SUBJECT_PUT] = "INSERT OR REPLACE INTO audit_subjects(seg, tag, idx) "
                       "VALUES(" AUDIT_SUBJECT_SEG_SQL ", ?1, ?2)",
    [ST_SUBJECT_DEL] =
        "DELETE FROM audit_subjects WHERE seg=" AUDIT_SUBJECT_SEG_SQL " AND tag=?1 AND idx=?2",
};

/*  Invariant: tree holds exactly the leaves of rows 0..size-1 of `audit`
    as this connection sees them (committed plus the open transaction);
    committed_state is the tree as of the last commit, last_leaf the leaf
    hash of row size-1 (zeros when empty). */
struct audit_log_t {
    sqlite3 *db;                                     /* borrowed */
    sqlite3_stmt *st[ST_COUNT_];                     /* prepared once */
    merkle_tree_t *tree;                             /* current tree */
    unsigned char committed_state[MERKLE_STATE_MAX]; /* tree at the last commit */
    size_t committed_len;
    unsigned char last_leaf[MERKLE_HASHBYTES];      /* chain head */
    unsigned char committed_leaf[MERKLE_HASHBYTES]; /* chain head at the last commit */
    uint64_t checkpoint_size;                       /* latest checkpoint's size */
    uint64_t committed_checkpoint_size;
    char origin[CHECKPOINT_NAME_MAX + 1]; /* checkpoint origin */
    uint8_t *buf;                         /* packing scratch */
};

void audit_log_origin_for(const char *partnership, char *out, size_t outlen)
{
    snprintf(out, outlen, "hartslag.%s/audit", partnership);
}

static void s_reset(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

/* Reads a 32-byte blob at column 0 of a one-row statement: 0 found, 1 not, -1 error. */
static int s_hash_row(sqlite3_stmt *stmt, unsigned char out[MERKLE_HASHBYTES])
{
    int rc = sqlite3_step(stmt);
    int result = -1;
    if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 0) == MERKLE_HASHBYTES) {
        memcpy(out, sqlite3_column_blob(stmt, 0), MERKLE_HASHBYTES);
        result = 0;
    } else if (rc == SQLITE_DONE)
        result = 1;
    s_reset(stmt);
    return result;
}

static int s_get_leaf(void *arg, uint64_t index, unsigned char out[MERKLE_HASHBYTES])
{
    audit_log_t *self = arg;
    sqlite3_bind_int64(self->st[ST_LEAF_GET], 1, (int64_t)index);
    return s_hash_row(self->st[ST_LEAF_GET], out) == 0 ? 0 : -1;
}

static int s_get_node(void *arg, unsigned level, uint64_t index,
                      unsigned char out[MERKLE_HASHBYTES])
{
    audit_log_t *self = arg;
    sqlite3_bind_int(self->st[ST_NODE_GET], 1, (int)level);
    sqlite3_bind_int64(self->st[ST_NODE_GET], 2, (int64_t)index);
    return s_hash_row(self->st[ST_NODE_GET], out);
}

static int s_on_node(void *arg, unsigned level, uint64_t index,
                     const unsigned char hash[MERKLE_HASHBYTES])
{
    audit_log_t *self = arg;
    /* Smaller subtrees are a few leaf hashes away (merkle recomputes what
       get_node does not have); storing them doubled the rows written per
       record on the broker's hot path. */
    if (level < AUDIT_NODE_MIN_LEVEL)
        return 0;
    sqlite3_stmt *stmt = self->st[ST_NODE_PUT];
    sqlite3_bind_int(stmt, 1, (int)level);
    sqlite3_bind_int64(stmt, 2, (int64_t)index);
    sqlite3_bind_blob(stmt, 3, hash, MERKLE_HASHBYTES, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    s_reset(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

static merkle_source_t s_source(audit_log_t *self)
{
    merkle_source_t source = {s_get_leaf, s_get_node, self};
    return source;
}

void audit_log_destroy(audit_log_t **self_p)
{
    if (self_p && *self_p) {
        audit_log_t *self = *self_p;
        for (int i = 0; i < ST_COUNT_; i++)
            sqlite3_finalize(self->st[i]);
        merkle_tree_destroy(&self->tree);
        free(self->buf);
        free(self);
        *self_p = NULL;
    }
}

/* Reads or records the origin the log was created under. */
static int s_origin(audit_log_t *self, const char *origin, bool writable, char *err, size_t errlen)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(self->db, "SELECT value FROM audit_meta WHERE key='origin'", -1, &stmt,
                           NULL) != SQLITE_OK) {
        snprintf(err, errlen, "not an audit store: %s", sqlite3_errmsg(self->db));
        return -1;
    }
    int rc = sqlite3_step(stmt);
    int result = 0;
    if (rc == SQLITE_ROW) {
        const char *stored = (const char *)sqlite3_column_text(stmt, 0);
        if (!origin || !*origin)
            snprintf(self->origin, sizeof self->origin, "%s", stored ? stored : "");
        else if (!stored || strcmp(stored, origin) != 0) {
            snprintf(err, errlen, "the audit log belongs to '%s', not '%s'", stored ? stored : "?",
                     origin);
            result = -1;
        } else
            snprintf(self->origin, sizeof self->origin, "%s", origin);
    } else if (rc == SQLITE_DONE && writable && origin && *origin) {
        snprintf(self->origin, sizeof self->origin, "%s", origin);
        sqlite3_stmt *put = NULL;
        if (sqlite3_prepare_v2(self->db, "INSERT INTO audit_meta(key, value) VALUES('origin', ?1)",
                               -1, &put, NULL) != SQLITE_OK ||
            sqlite3_bind_text(put, 1, origin, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_step(put) != SQLITE_DONE) {
            snprintf(err, errlen, "cannot record the log's origin: %s", sqlite3_errmsg(self->db));
            result = -1;
        }
        sqlite3_finalize(put);
    } else {
        snprintf(err, errlen, "the audit store has no origin (empty or not an audit store)");
        result = -1;
    }
    sqlite3_finalize(stmt);
    return result;
}

/* A store written before the subject index: build it now, all or nothing
   (a savepoint is a transaction of its own, or part of the caller's). */
static int s_subjects_backfill(sqlite3 *db, char *err, size_t errlen)
{
    if (sqlite3_exec(db, "SAVEPOINT audit_subjects_backfill", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot build the subject index: %s", sqlite3_errmsg(db));
        return -1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t rows = 0;
    if (audit_subjects_create(db, &rows) != 0) {
        snprintf(err, errlen, "cannot build the subject index: %s", sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK TO audit_subjects_backfill; RELEASE audit_subjects_backfill",
                     NULL, NULL, NULL);
        return -1;
    }
    if (sqlite3_exec(db, "RELEASE audit_subjects_backfill", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot build the subject index: %s", sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK TO audit_subjects_backfill; RELEASE audit_subjects_backfill",
                     NULL, NULL, NULL);
        return -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    sqlite3_stmt *any = NULL;
    bool empty =
        sqlite3_prepare_v2(db, "SELECT 1 FROM audit LIMIT 1", -1, &any, NULL) == SQLITE_OK &&
        sqlite3_step(any) == SQLITE_DONE;
    sqlite3_finalize(any);
    if (empty)
        return 0; /* a new store: nothing was built, nothing to tell */
    char n[24], ms[24];
    snprintf(n, sizeof n, "%llu", (unsigned long long)rows);
    snprintf(ms, sizeof ms, "%lld",
             (long long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    log_event(HLOG_INFO, "audit_subject_index_built", "rows", n, "ms", ms, NULL);
    return 0;
}

audit_log_t *audit_log_open(sqlite3 *db, const char *origin, bool writable, char *err,
                            size_t errlen)
{
    audit_log_t *self = calloc(1, sizeof *self);
    if (!self || !(self->buf = malloc(AUDIT_RECORD_MAX))) {
        snprintf(err, errlen, "out of memory");
        free(self);
        return NULL;
    }
    self->db = db;
    if (writable && sqlite3_exec(db, s_schema, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot create the audit tables: %s", sqlite3_errmsg(db));
        goto fail;
    }
    if (writable && !audit_subjects_exists(db) && s_subjects_backfill(db, err, errlen) != 0)
        goto fail;
    for (int i = 0; i < ST_COUNT_; i++)
        if ((writable || (i != ST_SUBJECT_PUT && i != ST_SUBJECT_DEL)) &&
            sqlite3_prepare_v3(db, s_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &self->st[i], NULL) !=
                SQLITE_OK) {
            snprintf(err, errlen, "not an audit store: %s", sqlite3_errmsg(db));
            goto fail;
        }
    if (s_origin(self, origin, writable, err, errlen) != 0)
        goto fail;
    sqlite3_stmt *count = self->st[ST_COUNT_ROWS];
    int64_t size = sqlite3_step(count) == SQLITE_ROW ? sqlite3_column_int64(count, 0) : -1;
    s_reset(count);
    if (size < 0) {
        snprintf(err, errlen, "cannot read the audit log: %s", sqlite3_errmsg(db));
        goto fail;
    }
    merkle_source_t source = s_source(self);
    self->tree = merkle_tree_restore(&source, (uint64_t)size);
    if (!self->tree) {
        snprintf(err, errlen,
                 "the audit log's tree cannot be rebuilt (rows missing? run "
                 "'hartslag audit verify')");
        goto fail;
    }
    merkle_tree_set_on_node(self->tree, s_on_node, self);
    if (size > 0) {
        /* The chain head must be the hash of the last record as stored. */
        uint8_t *bytes = NULL;
        size_t len = 0;
        unsigned char leaf[MERKLE_HASHBYTES];
        if (audit_log_record(self, (uint64_t)size - 1, &bytes, &len) != 0 ||
            s_get_leaf(self, (uint64_t)size - 1, self->last_leaf) != 0) {
            free(bytes);
            snprintf(err, errlen, "the last audit record is unreadable");
            goto fail;
        }
        merkle_leaf_hash(bytes, len, leaf);
        free(bytes);
        if (memcmp(leaf, self->last_leaf, MERKLE_HASHBYTES) != 0) {
            snprintf(err, errlen,
                     "the last audit record does not match its hash: the store was "
                     "changed; run 'hartslag audit verify'");
            goto fail;
        }
    }
    char note[CHECKPOINT_NOTE_MAX + 1];
    size_t note_len;
    uint64_t cp_size = 0;
    if (audit_log_latest_note(self, note, &note_len, &cp_size) != 0)
        cp_size = 0;
    self->checkpoint_size = cp_size;
    audit_log_commit(self);
    return self;
fail:
    audit_log_destroy(&self);
    return NULL;
}

void audit_log_commit(audit_log_t *self)
{
    merkle_tree_save(self->tree, self->committed_state, &self->committed_len);
    memcpy(self->committed_leaf, self->last_leaf, MERKLE_HASHBYTES);
    self->committed_checkpoint_size = self->checkpoint_size;
}

void audit_log_rollback(audit_log_t *self)
{
    merkle_tree_t *tree = merkle_tree_load(self->committed_state, self->committed_len);
    if (tree) {
        merkle_tree_destroy(&self->tree);
        self->tree = tree;
        merkle_tree_set_on_node(self->tree, s_on_node, self);
    }
    memcpy(self->last_leaf, self->committed_leaf, MERKLE_HASHBYTES);
    self->checkpoint_size = self->committed_checkpoint_size;
}

int64_t audit_log_append(audit_log_t *self, Hartslag__AuditRecord *record)
{
    uint64_t index = merkle_tree_size(self->tree);
    record->index = index;
    record->prev_hash.data = self->last_leaf;
    record->prev_hash.len = MERKLE_HASHBYTES;
    size_t len = hartslag__audit_record__get_packed_size(record);
    if (len > AUDIT_RECORD_MAX)
        return -1;
    hartslag__audit_record__pack(record, self->buf);
    unsigned char leaf[MERKLE_HASHBYTES];
    merkle_leaf_hash(self->buf, len, leaf);
    sqlite3_stmt *stmt = self->st[ST_APPEND];
    sqlite3_bind_int64(stmt, 1, (int64_t)index);
    sqlite3_bind_blob(stmt, 2, self->buf, (int)len, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 3, leaf, MERKLE_HASHBYTES, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    s_reset(stmt);
    record->prev_hash.data = NULL;
    record->prev_hash.len = 0;
    if (rc == SQLITE_DONE && record->has_subject && record->subject.len == AUDIT_SUBJECT_BYTES) {
        /* The subject index, in the same transaction: an access request's
           answer must be complete. */
        stmt = self->st[ST_SUBJECT_PUT];
        if (!stmt)
            return -1;
        sqlite3_bind_int64(stmt, 1, audit_subject_tag(record->subject.data));
        sqlite3_bind_int64(stmt, 2, (int64_t)index);
        rc = sqlite3_step(stmt);
        s_reset(stmt);
    }
    if (rc != SQLITE_DONE || merkle_tree_append(self->tree, leaf) != 0)
        return -1;
    memcpy(self->last_leaf, leaf, MERKLE_HASHBYTES);
    return (int64_t)index;
}

uint64_t audit_log_size(const audit_log_t *self)
{
    return merkle_tree_size(self->tree);
}

void audit_log_root(const audit_log_t *self, unsigned char root[MERKLE_HASHBYTES])
{
    merkle_tree_root(self->tree, root);
}

const char *audit_log_origin(const audit_log_t *self)
{
    return self->origin;
}

uint64_t audit_log_checkpoint_size(const audit_log_t *self)
{
    return self->checkpoint_size;
}

int audit_log_checkpoint(audit_log_t *self, const unsigned char sign_sk[CHECKPOINT_SECRETKEYBYTES],
                         int64_t now_ms)
{
    checkpoint_t cp;
    memset(&cp, 0, sizeof cp);
    snprintf(cp.origin, sizeof cp.origin, "%s", self->origin);
    cp.size = merkle_tree_size(self->tree);
    merkle_tree_root(self->tree, cp.root);
    char note[CHECKPOINT_NOTE_MAX + 1];
    size_t len = 0;
    if (checkpoint_sign(&cp, sign_sk, note, sizeof note, &len) != CHECKPOINT_OK)
        return -1;
    sqlite3_stmt *stmt = self->st[ST_CP_PUT];
    sqlite3_bind_int64(stmt, 1, (int64_t)cp.size);
    sqlite3_bind_text(stmt, 2, note, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, now_ms);
    int rc = sqlite3_step(stmt);
    s_reset(stmt);
    if (rc != SQLITE_DONE)
        return -1;
    self->checkpoint_size = cp.size;
    return 0;
}

static int s_note(sqlite3_stmt *stmt, int col, char note[CHECKPOINT_NOTE_MAX + 1], size_t *len)
{
    int n = sqlite3_column_bytes(stmt, col);
    const unsigned char *text = sqlite3_column_text(stmt, col);
    if (!text || n < 0 || (size_t)n > CHECKPOINT_NOTE_MAX)
        return -1;
    memcpy(note, text, (size_t)n);
    note[n] = '\0';
    *len = (size_t)n;
    return 0;
}

int audit_log_latest_note(audit_log_t *self, char note[CHECKPOINT_NOTE_MAX + 1], size_t *len,
                          uint64_t *size)
{
    sqlite3_stmt *stmt = self->st[ST_CP_LATEST];
    int result = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW && s_note(stmt, 1, note, len) == 0) {
        *size = (uint64_t)sqlite3_column_int64(stmt, 0);
        result = 0;
    }
    s_reset(stmt);
    return result;
}

int audit_log_note_at(audit_log_t *self, uint64_t size, char note[CHECKPOINT_NOTE_MAX + 1],
                      size_t *len)
{
    sqlite3_stmt *stmt = self->st[ST_CP_AT];
    sqlite3_bind_int64(stmt, 1, (int64_t)size);
    int result = sqlite3_step(stmt) == SQLITE_ROW ? s_note(stmt, 0, note, len) : -1;
    s_reset(stmt);
    return result;
}

int audit_log_inclusion_proof(audit_log_t *self, uint64_t index, uint64_t size,
                              unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES], size_t *len)
{
    if (size > merkle_tree_size(self->tree))
        return -1;
    merkle_source_t source = s_source(self);
    return merkle_inclusion_proof(&source, size, index, proof, len);
}

int audit_log_consistency_proof(audit_log_t *self, uint64_t old_size, uint64_t new_size,
                                unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES],
                                size_t *len)
{
    if (new_size > merkle_tree_size(self->tree))
        return -1;
    merkle_source_t source = s_source(self);
    return merkle_consistency_proof(&source, old_size, new_size, proof, len);
}

int audit_log_root_at(audit_log_t *self, uint64_t size, unsigned char root[MERKLE_HASHBYTES])
{
    if (size > merkle_tree_size(self->tree))
        return -1;
    merkle_source_t source = s_source(self);
    return merkle_subtree_root(&source, 0, size, root);
}

int audit_log_store_cosignature(audit_log_t *self, uint64_t size, const char *org, const char *line,
                                int64_t now_ms)
{
    sqlite3_stmt *stmt = self->st[ST_COSIG_PUT];
    sqlite3_bind_int64(stmt, 1, (int64_t)size);
    sqlite3_bind_text(stmt, 2, org, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, line, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, now_ms);
    int rc = sqlite3_step(stmt);
    s_reset(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

int audit_log_record(audit_log_t *self, uint64_t index, uint8_t **bytes, size_t *len)
{
    sqlite3_stmt *stmt = self->st[ST_RECORD_GET];
    sqlite3_bind_int64(stmt, 1, (int64_t)index);
    int result = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        int n = sqlite3_column_bytes(stmt, 0);
        const void *blob = sqlite3_column_blob(stmt, 0);
        *bytes = malloc(n > 0 ? (size_t)n : 1);
        if (*bytes) {
            if (n > 0)
                memcpy(*bytes, blob, (size_t)n);
            *len = (size_t)n;
            result = 0;
        }
    }
    s_reset(stmt);
    return result;
}

/* Removes the subject index rows of the records below `end` that still
   have their bytes: once purged, nothing may lead to the subject. */
static int s_purge_subjects(audit_log_t *self, uint64_t end)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT idx, record FROM audit WHERE idx < ?1 AND length(record) > 0",
                           -1, &stmt, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(stmt, 1, (int64_t)end);
    sqlite3_stmt *del = self->st[ST_SUBJECT_DEL];
    int rc, result = del ? 0 : -1;
    while (result == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const uint8_t *subject = NULL;
        int n = sqlite3_column_bytes(stmt, 1);
        const uint8_t *bytes = sqlite3_column_blob(stmt, 1);
        if (!bytes || audit_record_subject(bytes, (size_t)n, &subject) != 1)
            continue;
        sqlite3_bind_int64(del, 1, audit_subject_tag(subject));
        sqlite3_bind_int64(del, 2, sqlite3_column_int64(stmt, 0));
        if (sqlite3_step(del) != SQLITE_DONE)
            result = -1;
        s_reset(del);
    }
    if (result == 0 && rc != SQLITE_DONE)
        result = -1;
    sqlite3_finalize(stmt);
    return result;
}

int audit_log_purge(audit_log_t *self, int64_t cutoff_ms, uint64_t *purged_before)
{
    *purged_before = 0;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(self->db, "SELECT idx, record FROM audit ORDER BY idx", -1, &stmt,
                           NULL) != SQLITE_OK)
        return -1;
    /* Records are appended in time order: purge the prefix before cutoff. */
    uint64_t end = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int n = sqlite3_column_bytes(stmt, 1);
        if (n == 0) {
            end = (uint64_t)sqlite3_column_int64(stmt, 0) + 1;
            continue; /* purged before */
        }
        Hartslag__AuditRecord *record =
            n <= AUDIT_RECORD_MAX
                ? hartslag__audit_record__unpack(NULL, (size_t)n, sqlite3_column_blob(stmt, 1))
                : NULL;
        bool old = record && (int64_t)record->time_ms < cutoff_ms;
        if (record)
            hartslag__audit_record__free_unpacked(record, NULL);
        if (!old)
            break;
        end = (uint64_t)sqlite3_column_int64(stmt, 0) + 1;
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    /* The newest record is never purged: it is the chain head. */
    if (end >= merkle_tree_size(self->tree))
        end = merkle_tree_size(self->tree) ? merkle_tree_size(self->tree) - 1 : 0;
    if (end == 0)
        return 0;
    if (s_purge_subjects(self, end) != 0)
        return -1;
    if (sqlite3_prepare_v2(self->db,
                           "UPDATE audit SET record = zeroblob(0) WHERE idx < ?1 AND "
                           "length(record) > 0",
                           -1, &stmt, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(stmt, 1, (int64_t)end);
    rc = sqlite3_step(stmt);
    int changed = sqlite3_changes(self->db);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return -1;
    *purged_before = changed > 0 ? end : 0;
    return 0;
}
