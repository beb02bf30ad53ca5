/*  audit_store: the audit log's tables; see audit_store.h. */
#include "audit_store.h"

#include "audit_subjects.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- schema: one text per backend ------------------------------------ */

static const char *s_schema_sqlite = "CREATE TABLE IF NOT EXISTS audit("
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

/* Untested until the PostgreSQL backend exists (issue 16 item 2). */
static const char *s_schema_postgresql = "CREATE TABLE IF NOT EXISTS audit("
                                         "  idx BIGINT PRIMARY KEY,"
                                         "  record BYTEA NOT NULL,"
                                         "  leaf BYTEA NOT NULL);"
                                         "CREATE TABLE IF NOT EXISTS audit_nodes("
                                         "  level BIGINT NOT NULL,"
                                         "  idx BIGINT NOT NULL,"
                                         "  hash BYTEA NOT NULL,"
                                         "  PRIMARY KEY(level, idx));"
                                         "CREATE TABLE IF NOT EXISTS audit_meta("
                                         "  key TEXT PRIMARY KEY,"
                                         "  value TEXT NOT NULL);"
                                         "CREATE TABLE IF NOT EXISTS checkpoints("
                                         "  size BIGINT PRIMARY KEY,"
                                         "  note TEXT NOT NULL,"
                                         "  made_ms BIGINT NOT NULL);"
                                         "CREATE TABLE IF NOT EXISTS cosignatures("
                                         "  size BIGINT NOT NULL,"
                                         "  org TEXT NOT NULL,"
                                         "  line TEXT NOT NULL,"
                                         "  received_ms BIGINT NOT NULL,"
                                         "  PRIMARY KEY(size, org));";

/* Keyed by segment first: see audit_subjects.h. */
static const char *s_subjects_sqlite = "CREATE TABLE IF NOT EXISTS audit_subjects("
                                       "  seg INTEGER NOT NULL,"
                                       "  tag INTEGER NOT NULL,"
                                       "  idx INTEGER NOT NULL,"
                                       "  PRIMARY KEY(seg, tag, idx)) WITHOUT ROWID;";

static const char *s_subjects_postgresql = "CREATE TABLE IF NOT EXISTS audit_subjects("
                                           "  seg BIGINT NOT NULL,"
                                           "  tag BIGINT NOT NULL,"
                                           "  idx BIGINT NOT NULL,"
                                           "  PRIMARY KEY(seg, tag, idx));";

/* Catalogue questions differ per backend too. */
static const char *s_has_audit_sqlite =
    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit'";
static const char *s_has_audit_postgresql =
    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() "
    "AND table_name = 'audit'";
static const char *s_has_subjects_sqlite =
    "SELECT COUNT(*) FROM pragma_table_info('audit_subjects') WHERE name = 'seg'";
static const char *s_has_subjects_postgresql =
    "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() "
    "AND table_name = 'audit_subjects' AND column_name = 'seg'";

static bool s_pg(const db_t *db)
{
    return strcmp(db_backend(db), "postgresql") == 0;
}

/* ---- statements (the same on every backend) -------------------------- */

#define SQL_RECORD_PUT "INSERT INTO audit(idx, record, leaf) VALUES($1, $2, $3)"
#define SQL_RECORD_GET "SELECT record FROM audit WHERE idx = $1"
#define SQL_RECORD_NTH "SELECT record FROM audit ORDER BY idx LIMIT 1 OFFSET $1"
#define SQL_LEAF_GET "SELECT leaf FROM audit WHERE idx = $1"
#define SQL_RECORD_LENGTH "SELECT length(record) FROM audit WHERE idx = $1"
#define SQL_RECORD_COUNT "SELECT COALESCE(MAX(idx) + 1, 0) FROM audit"
#define SQL_RECORDS "SELECT idx, record, leaf FROM audit ORDER BY idx LIMIT $1 OFFSET $2"
/* One seek per segment the index holds, each found from the last by one
   seek (never 0..max(idx) >> 12, which one record at a huge index in a
   hostile copy would make 2^51 steps long); CROSS JOIN keeps SQLite's
   loops in that order. */
#define SQL_SUBJECT_RECORDS                                                                        \
    "WITH RECURSIVE segs(seg) AS ("                                                                \
    "SELECT (SELECT MIN(seg) FROM audit_subjects WHERE seg >= $1) UNION ALL "                      \
    "SELECT (SELECT MIN(n.seg) FROM audit_subjects n WHERE n.seg > segs.seg) "                     \
    "FROM segs WHERE segs.seg IS NOT NULL) "                                                       \
    "SELECT a.idx, a.record FROM segs CROSS JOIN audit_subjects s CROSS JOIN audit a "             \
    "WHERE s.seg = segs.seg AND s.tag = $2 AND s.idx >= $3 AND a.idx = s.idx ORDER BY a.idx"
#define SQL_PURGE "UPDATE audit SET record = $1 WHERE idx < $2 AND length(record) > 0"
#define SQL_NODE_PUT                                                                               \
    "INSERT INTO audit_nodes(level, idx, hash) VALUES($1, $2, $3) "                                \
    "ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash"
#define SQL_NODE_GET "SELECT hash FROM audit_nodes WHERE level = $1 AND idx = $2"
#define SQL_META_GET "SELECT value FROM audit_meta WHERE key = $1"
#define SQL_META_SET                                                                               \
    "INSERT INTO audit_meta(key, value) VALUES($1, $2) "                                           \
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
#define SQL_CP_PUT                                                                                 \
    "INSERT INTO checkpoints(size, note, made_ms) VALUES($1, $2, $3) "                             \
    "ON CONFLICT (size) DO UPDATE SET note = excluded.note, made_ms = excluded.made_ms"
#define SQL_CP_LATEST "SELECT size, note, made_ms FROM checkpoints ORDER BY size DESC LIMIT 1"
#define SQL_CP_AT "SELECT note FROM checkpoints WHERE size = $1"
#define SQL_CP_COUNT "SELECT COUNT(*) FROM checkpoints"
#define SQL_CP_EACH "SELECT size, note, made_ms FROM checkpoints ORDER BY size"
#define SQL_COSIG_PUT                                                                              \
    "INSERT INTO cosignatures(size, org, line, received_ms) VALUES($1, $2, $3, $4) "               \
    "ON CONFLICT (size, org) DO UPDATE SET line = excluded.line, received_ms = "                   \
    "excluded.received_ms"
#define SQL_COSIG_EACH                                                                             \
    "SELECT c.size, c.org, c.line, c.received_ms, k.note FROM cosignatures c "                     \
    "LEFT JOIN checkpoints k ON k.size = c.size ORDER BY c.size, c.org"
#define SQL_COSIG_EACH_AT                                                                          \
    "SELECT c.size, c.org, c.line, c.received_ms, k.note FROM cosignatures c "                     \
    "LEFT JOIN checkpoints k ON k.size = c.size WHERE c.size = $1 ORDER BY c.org"
#define SQL_COSIGNERS                                                                              \
    "SELECT org, CAST(MAX(size) AS BIGINT), CAST(MAX(received_ms) AS BIGINT) FROM cosignatures "   \
    "GROUP BY org ORDER BY org"
#define SQL_COSIG_MAX "SELECT CAST(MAX(size) AS BIGINT) FROM cosignatures WHERE org = $1"
#define SQL_COSIGNED "SELECT 1 FROM cosignatures WHERE size = $1 AND org = $2"
#define SQL_SUBJECT_PUT                                                                            \
    "INSERT INTO audit_subjects(seg, tag, idx) VALUES($1, $2, $3) "                                \
    "ON CONFLICT (seg, tag, idx) DO NOTHING"
#define SQL_SUBJECT_DEL "DELETE FROM audit_subjects WHERE seg = $1 AND tag = $2 AND idx = $3"
#define SQL_SUBJECT_HAS "SELECT 1 FROM audit_subjects WHERE seg = $1 AND tag = $2 AND idx = $3"
#define SQL_SUBJECT_ROWS "SELECT tag, idx FROM audit_subjects"
#define SQL_SUBJECT_ROWS_BY_IDX "SELECT tag, idx FROM audit_subjects ORDER BY idx, tag"

/* PostgreSQL, in a transaction: the rows gathered for one statement each
   (see s_gather). $1.. are comma-separated lists: integers as decimal,
   blobs as hex (db.h binds no arrays). */
#define SQL_RECORD_PUT_MANY                                                                        \
    "INSERT INTO audit(idx, record, leaf) SELECT CAST(i AS BIGINT), decode(r, 'hex'), "            \
    "decode(l, 'hex') FROM unnest(string_to_array($1, ','), string_to_array($2, ','), "            \
    "string_to_array($3, ',')) AS t(i, r, l)"
#define SQL_SUBJECT_PUT_MANY                                                                       \
    "INSERT INTO audit_subjects(seg, tag, idx) SELECT CAST(s AS BIGINT), CAST(t AS BIGINT), "      \
    "CAST(i AS BIGINT) FROM unnest(string_to_array($1, ','), string_to_array($2, ','), "           \
    "string_to_array($3, ',')) AS u(s, t, i) ON CONFLICT (seg, tag, idx) DO NOTHING"
#define GATHER_ROWS_MAX 512 /* written at the latest after this many */

enum { CURSOR_RECORDS, CURSOR_SUBJECT, CURSOR_KINDS_ };

/* A growing text: one column of gathered rows. */
typedef struct {
    char *text;
    size_t len, cap;
} s_column_t;

/*  Invariant: active[k] is the one open cursor of kind k (or NULL); only
    it may step its statement. Gathered rows (records[], subjects[]) belong
    to the connection's open transaction and are written before any read of
    the audit tables and before its COMMIT, or dropped at its rollback. */
struct audit_store_t {
    db_t *db;                              /* borrowed */
    audit_cursor_t *active[CURSOR_KINDS_]; /* open cursors */
    bool gather;                           /* PostgreSQL: gather rows in a transaction */
    s_column_t records[3];                 /* idx, record hex, leaf hex */
    s_column_t subjects[3];                /* seg, tag, idx */
    size_t n_records, n_subjects;
};

struct audit_cursor_t {
    audit_store_t *store; /* borrowed */
    db_stmt_t *st;        /* cached on the connection */
    int kind;             /* CURSOR_* */
};

static int64_t s_i64(uint64_t value)
{
    return value > INT64_MAX ? INT64_MAX : (int64_t)value;
}

/* ---- gathered rows ----------------------------------------------------
   On PostgreSQL a broker turn writes a few audit records per signal, each
   with its subject index row: as one INSERT each, they were most of the
   server's work per signal (the server, not the broker, bounded the
   PostgreSQL capacity). Inside a transaction they are gathered and written
   as one INSERT per table: at the next read of these tables, at COMMIT
   (db_set_commit_hook), or after GATHER_ROWS_MAX rows. An error of such a
   row (an index written twice) then fails that read or the COMMIT, and
   the transaction with it. SQLite answers in microseconds: it writes each
   row at once. */

/* Room for `len` more bytes, a comma and the NUL. 0, or -1. */
static int s_column_reserve(s_column_t *column, size_t len)
{
    if (column->len + len + 2 <= column->cap)
        return 0;
    size_t cap = column->cap ? column->cap : 4096;
    while (cap < column->len + len + 2)
        cap *= 2;
    char *grown = realloc(column->text, cap);
    if (!grown)
        return -1;
    column->text = grown;
    column->cap = cap;
    return 0;
}

static int s_column_int(s_column_t *column, int64_t value)
{
    char number[24];
    int n = snprintf(number, sizeof number, "%lld", (long long)value);
    if (s_column_reserve(column, (size_t)n) != 0)
        return -1;
    if (column->len > 0)
        column->text[column->len++] = ',';
    memcpy(column->text + column->len, number, (size_t)n + 1);
    column->len += (size_t)n;
    return 0;
}

static int s_column_hex(s_column_t *column, const uint8_t *bytes, size_t len)
{
    if (s_column_reserve(column, 2 * len) != 0)
        return -1;
    if (column->len > 0)
        column->text[column->len++] = ',';
    sodium_bin2hex(column->text + column->len, 2 * len + 1, bytes, len);
    column->len += 2 * len;
    return 0;
}

static void s_gathered_drop(audit_store_t *self)
{
    for (int c = 0; c < 3; c++)
        self->records[c].len = self->subjects[c].len = 0;
    self->n_records = self->n_subjects = 0;
}

/* Writes one table's gathered rows with one statement. 0, or -1. */
static int s_gathered_put(audit_store_t *self, const char *sql, s_column_t columns[3])
{
    db_stmt_t *st = db_prepare(self->db, sql);
    if (!st)
        return -1;
    for (int c = 0; c < 3; c++)
        if (db_bind_text_ref(st, c + 1, columns[c].text) != 0) {
            db_reset(st);
            return -1;
        }
    return db_run(st);
}

/* Writes what was gathered (records before their subject rows). 0, -1. */
static int s_gathered_write(audit_store_t *self)
{
    int rc = 0;
    if (self->n_records > 0)
        rc = s_gathered_put(self, SQL_RECORD_PUT_MANY, self->records);
    if (rc == 0 && self->n_subjects > 0)
        rc = s_gathered_put(self, SQL_SUBJECT_PUT_MANY, self->subjects);
    s_gathered_drop(self);
    return rc;
}

static int s_commit_hook(void *arg, bool committing)
{
    audit_store_t *self = arg;
    if (!committing) {
        s_gathered_drop(self);
        return 0;
    }
    return s_gathered_write(self);
}

/* Before a statement on the audit tables: what was gathered goes first. */
static int s_ready(audit_store_t *self)
{
    return self->n_records + self->n_subjects > 0 ? s_gathered_write(self) : 0;
}

static bool s_gathering(const audit_store_t *self)
{
    return self->gather && db_in_transaction(self->db);
}

static int s_gathered_check(audit_store_t *self)
{
    return self->n_records + self->n_subjects >= GATHER_ROWS_MAX ? s_gathered_write(self) : 0;
}

static int64_t s_seg(uint64_t idx)
{
    return (int64_t)(idx >> AUDIT_SUBJECT_SEGMENT_SHIFT);
}

/* A single integer answer: 1 (in *out; NULL reads as none: 0), 0 no row
   or NULL, -1 error. The statement is reset. */
static int s_int_row(db_stmt_t *st, int64_t *out)
{
    db_step_t rc = db_step(st);
    int result = rc == DB_ERROR ? -1 : 0;
    if (rc == DB_ROW && !db_column_is_null(st, 0)) {
        *out = db_column_int64(st, 0);
        result = 1;
    }
    db_reset(st);
    return result;
}

static int s_count(db_t *db, const char *sql)
{
    db_stmt_t *st = db_prepare(db, sql);
    int64_t n = 0;
    if (!st || s_int_row(st, &n) < 0)
        return -1;
    return n > 0 ? 1 : 0;
}

int audit_store_present(db_t *db)
{
    return s_count(db, s_pg(db) ? s_has_audit_postgresql : s_has_audit_sqlite);
}

audit_store_t *audit_store_open(db_t *db, bool writable, char *err, size_t errlen)
{
    audit_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->db = db;
    if (writable && db_exec(db, s_pg(db) ? s_schema_postgresql : s_schema_sqlite) != 0) {
        snprintf(err, errlen, "cannot create the audit tables: %s", db_errmsg(db));
        free(self);
        return NULL;
    }
    if (writable && s_pg(db)) {
        self->gather = true;
        db_set_commit_hook(db, s_commit_hook, self);
    }
    return self;
}

void audit_store_destroy(audit_store_t **self_p)
{
    if (self_p && *self_p) {
        audit_store_t *self = *self_p;
        for (int k = 0; k < CURSOR_KINDS_; k++)
            if (self->active[k]) {
                db_reset(self->active[k]->st);
                self->active[k]->store = NULL;
            }
        if (self->gather)
            db_set_commit_hook(self->db, NULL, NULL);
        for (int c = 0; c < 3; c++) {
            free(self->records[c].text);
            free(self->subjects[c].text);
        }
        free(self);
        *self_p = NULL;
    }
}

db_t *audit_store_db(audit_store_t *self)
{
    return self->db;
}

/* ---- meta ------------------------------------------------------------ */

int audit_store_meta_get(audit_store_t *self, const char *key, char *value, size_t len)
{
    db_stmt_t *st = db_prepare(self->db, SQL_META_GET);
    if (!st || db_bind_text_ref(st, 1, key) != 0)
        return -1;
    db_step_t rc = db_step(st);
    int result = rc == DB_ERROR ? -1 : 0;
    if (rc == DB_ROW) {
        const char *text = db_column_text(st, 0);
        snprintf(value, len, "%s", text ? text : "");
        result = 1;
    }
    db_reset(st);
    return result;
}

int audit_store_meta_set(audit_store_t *self, const char *key, const char *value)
{
    db_stmt_t *st = db_prepare(self->db, SQL_META_SET);
    if (!st || db_bind_text_ref(st, 1, key) != 0 || db_bind_text_ref(st, 2, value) != 0)
        return -1;
    return db_run(st);
}

/* ---- records --------------------------------------------------------- */

int audit_store_record_put(audit_store_t *self, uint64_t index, const uint8_t *bytes, size_t len,
                           const unsigned char leaf[AUDIT_STORE_HASHBYTES])
{
    if (s_gathering(self) && len > 0) {
        if (s_column_int(&self->records[0], s_i64(index)) != 0 ||
            s_column_hex(&self->records[1], bytes, len) != 0 ||
            s_column_hex(&self->records[2], leaf, AUDIT_STORE_HASHBYTES) != 0) {
            s_gathered_drop(self); /* the columns no longer line up */
            return -1;
        }
        self->n_records++;
        return s_gathered_check(self);
    }
    if (s_ready(self) != 0)
        return -1;
    db_stmt_t *st = db_prepare(self->db, SQL_RECORD_PUT);
    if (!st || db_bind_int64(st, 1, s_i64(index)) != 0 ||
        db_bind_blob_ref(st, 2, len ? bytes : (const uint8_t *)"", len) != 0 ||
        db_bind_blob_ref(st, 3, leaf, AUDIT_STORE_HASHBYTES) != 0) {
        if (st)
            db_reset(st);
        return -1;
    }
    return db_run(st);
}

/* Copies column `col` of the current row into a new buffer. 1, or -1. */
static int s_copy_blob(db_stmt_t *st, int col, uint8_t **bytes, size_t *len)
{
    size_t n = 0;
    const void *blob = db_column_blob(st, col, &n);
    *bytes = malloc(n > 0 ? n : 1);
    if (!*bytes)
        return -1;
    if (n > 0 && blob)
        memcpy(*bytes, blob, n);
    else
        n = 0;
    *len = n;
    return 1;
}

static int s_blob_row(db_stmt_t *st, uint8_t **bytes, size_t *len)
{
    db_step_t rc = db_step(st);
    int result = rc == DB_ROW ? s_copy_blob(st, 0, bytes, len) : rc == DB_DONE ? 0 : -1;
    db_reset(st);
    return result;
}

int audit_store_record_get(audit_store_t *self, uint64_t index, uint8_t **bytes, size_t *len)
{
    if (s_ready(self) != 0)
        return -1;
    db_stmt_t *st = db_prepare(self->db, SQL_RECORD_GET);
    if (!st || db_bind_int64(st, 1, s_i64(index)) != 0)
        return -1;
    return s_blob_row(st, bytes, len);
}

int audit_store_record_nth(audit_store_t *self, uint64_t pos, uint8_t **bytes, size_t *len)
{
    if (s_ready(self) != 0)
        return -1;
    db_stmt_t *st = db_prepare(self->db, SQL_RECORD_NTH);
    if (!st || db_bind_int64(st, 1, s_i64(pos)) != 0)
        return -1;
    return s_blob_row(st, bytes, len);
}

/* A 32-byte hash at column 0 of a one-row statement: 1, 0, -1. Reset. */
static int s_hash_row(db_stmt_t *st, unsigned char out[AUDIT_STORE_HASHBYTES])
{
    db_step_t rc = db_step(st);
    int result = rc == DB_ERROR ? -1 : 0;
    if (rc == DB_ROW) {
        size_t n = 0;
        const void *blob = db_column_blob(st, 0, &n);
        if (blob && n == AUDIT_STORE_HASHBYTES) {
            memcpy(out, blob, AUDIT_STORE_HASHBYTES);
            result = 1;
        }
    }
    db_reset(st);
    return result;
}

int audit_store_leaf_get(audit_store_t *self, uint64_t index,
                         unsigned char leaf[AUDIT_STORE_HASHBYTES])
{
    if (s_ready(self) != 0)
        return -1;
    db_stmt_t *st = db_prepare(self->db, SQL_LEAF_GET);
    if (!st || db_bind_int64(st, 1, s_i64(index)) != 0)
        return -1;
    return s_hash_row(st, leaf);
}

int audit_store_record_length(audit_store_t *self, uint64_t index, uint64_t *len)
{
    if (s_ready(self) != 0)
        return -1;
    db_stmt_t *st = db_prepare(self->db, SQL_RECORD_LENGTH);
    int64_t n = 0;
    if (!st || db_bind_int64(st, 1, s_i64(index)) != 0)
        return -1;
    int found = s_int_row(st, &n);
    if (found == 1)
        *len = n > 0 ? (uint64_t)n : 0;
    return found;
}

int audit_store_record_count(audit_store_t *self, uint64_t *count)
{
    if (s_ready(self) != 0)
        return -1;
    db_stmt_t *st = db_prepare(self->db, SQL_RECORD_COUNT);
    int64_t n = 0;
    if (!st || s_int_row(st, &n) < 0 || n < 0)
        return -1;
    *count = (uint64_t)n;
    return 0;
}

/* ---- cursors --------------------------------------------------------- */

static audit_cursor_t *s_cursor(audit_store_t *self, db_stmt_t *st, int kind)
{
    audit_cursor_t *cursor = st ? calloc(1, sizeof *cursor) : NULL;
    if (!cursor) {
        if (st)
            db_reset(st);
        return NULL;
    }
    if (self->active[kind])
        self->active[kind]->store = NULL; /* ended: db_prepare reset it */
    cursor->store = self;
    cursor->st = st;
    cursor->kind = kind;
    self->active[kind] = cursor;
    return cursor;
}

audit_cursor_t *audit_store_records(audit_store_t *self, uint64_t offset, uint64_t count)
{
    if (s_ready(self) != 0)
        return NULL;
    db_stmt_t *st = db_prepare(self->db, SQL_RECORDS);
    if (st && (db_bind_int64(st, 1, s_i64(count)) != 0 || db_bind_int64(st, 2, s_i64(offset)) != 0))
        st = NULL;
    return s_cursor(self, st, CURSOR_RECORDS);
}

audit_cursor_t *audit_store_subject_records(audit_store_t *self, int64_t tag, uint64_t from)
{
    if (s_ready(self) != 0)
        return NULL;
    db_stmt_t *st = db_prepare(self->db, SQL_SUBJECT_RECORDS);
    if (st && (db_bind_int64(st, 1, s_seg(from)) != 0 || db_bind_int64(st, 2, tag) != 0 ||
               db_bind_int64(st, 3, s_i64(from)) != 0))
        st = NULL;
    return s_cursor(self, st, CURSOR_SUBJECT);
}

int audit_cursor_next(audit_cursor_t *cursor, audit_row_t *row)
{
    memset(row, 0, sizeof *row);
    row->bytes = (const uint8_t *)"";
    audit_store_t *store = cursor->store;
    if (!store || store->active[cursor->kind] != cursor)
        return -1;
    db_step_t rc = db_step(cursor->st);
    if (rc != DB_ROW)
        return rc == DB_DONE ? 0 : -1;
    row->idx = db_column_int64(cursor->st, 0);
    size_t n = 0;
    const uint8_t *bytes = db_column_blob(cursor->st, 1, &n);
    if (bytes && n > 0) {
        row->bytes = bytes;
        row->len = n;
    }
    if (cursor->kind == CURSOR_RECORDS) {
        const unsigned char *leaf = db_column_blob(cursor->st, 2, &n);
        row->leaf = leaf && n == AUDIT_STORE_HASHBYTES ? leaf : NULL;
    }
    return 1;
}

void audit_cursor_destroy(audit_cursor_t **cursor_p)
{
    if (cursor_p && *cursor_p) {
        audit_cursor_t *cursor = *cursor_p;
        if (cursor->store && cursor->store->active[cursor->kind] == cursor) {
            db_reset(cursor->st);
            cursor->store->active[cursor->kind] = NULL;
        }
        free(cursor);
        *cursor_p = NULL;
    }
}

int audit_store_purge(audit_store_t *self, uint64_t end, uint64_t *changed)
{
    *changed = 0;
    if (s_ready(self) != 0)
        return -1;
    db_stmt_t *st = db_prepare(self->db, SQL_PURGE);
    /* An empty blob, not NULL: the column is NOT NULL and a blob. */
    if (!st || db_bind_blob(st, 1, "", 0) != 0 || db_bind_int64(st, 2, s_i64(end)) != 0 ||
        db_run(st) != 0)
        return -1;
    int64_t n = db_changes(self->db);
    *changed = n > 0 ? (uint64_t)n : 0;
    return 0;
}

/* ---- nodes ----------------------------------------------------------- */

int audit_store_node_put(audit_store_t *self, unsigned level, uint64_t index,
                         const unsigned char hash[AUDIT_STORE_HASHBYTES])
{
    db_stmt_t *st = db_prepare(self->db, SQL_NODE_PUT);
    if (!st || db_bind_int64(st, 1, (int64_t)level) != 0 ||
        db_bind_int64(st, 2, s_i64(index)) != 0 ||
        db_bind_blob_ref(st, 3, hash, AUDIT_STORE_HASHBYTES) != 0)
        return -1;
    return db_run(st);
}

int audit_store_node_get(audit_store_t *self, unsigned level, uint64_t index,
                         unsigned char hash[AUDIT_STORE_HASHBYTES])
{
    db_stmt_t *st = db_prepare(self->db, SQL_NODE_GET);
    if (!st || db_bind_int64(st, 1, (int64_t)level) != 0 || db_bind_int64(st, 2, s_i64(index)) != 0)
        return -1;
    return s_hash_row(st, hash);
}

/* ---- checkpoints ----------------------------------------------------- */

int audit_store_checkpoint_put(audit_store_t *self, uint64_t size, const char *note,
                               int64_t made_ms)
{
    db_stmt_t *st = db_prepare(self->db, SQL_CP_PUT);
    if (!st || db_bind_int64(st, 1, s_i64(size)) != 0 || db_bind_text_ref(st, 2, note) != 0 ||
        db_bind_int64(st, 3, made_ms) != 0)
        return -1;
    return db_run(st);
}

/* Copies the text at `col` into note (cap bytes with the NUL). 0, or -1. */
static int s_note(db_stmt_t *st, int col, char *note, size_t cap, size_t *len)
{
    const char *text = db_column_text(st, col);
    if (!text)
        return -1;
    size_t n = strlen(text);
    if (note) {
        if (n >= cap)
            return -1;
        memcpy(note, text, n + 1);
    }
    if (len)
        *len = n;
    return 0;
}

int audit_store_checkpoint_latest(audit_store_t *self, uint64_t *size, char *note, size_t cap,
                                  size_t *len, int64_t *made_ms)
{
    db_stmt_t *st = db_prepare(self->db, SQL_CP_LATEST);
    if (!st)
        return -1;
    db_step_t rc = db_step(st);
    int result = rc == DB_DONE ? 0 : -1;
    if (rc == DB_ROW && s_note(st, 1, note, cap, len) == 0) {
        *size = (uint64_t)db_column_int64(st, 0);
        if (made_ms)
            *made_ms = db_column_int64(st, 2);
        result = 1;
    }
    db_reset(st);
    return result;
}

int audit_store_checkpoint_at(audit_store_t *self, uint64_t size, char *note, size_t cap,
                              size_t *len)
{
    db_stmt_t *st = db_prepare(self->db, SQL_CP_AT);
    if (!st || db_bind_int64(st, 1, s_i64(size)) != 0)
        return -1;
    db_step_t rc = db_step(st);
    int result = rc == DB_DONE ? 0 : -1;
    if (rc == DB_ROW && s_note(st, 0, note, cap, len) == 0)
        result = 1;
    db_reset(st);
    return result;
}

int audit_store_checkpoint_count(audit_store_t *self, uint64_t *count)
{
    db_stmt_t *st = db_prepare(self->db, SQL_CP_COUNT);
    int64_t n = 0;
    if (!st || s_int_row(st, &n) < 0)
        return -1;
    *count = n > 0 ? (uint64_t)n : 0;
    return 0;
}

/* Ends a walk: fn's verdict, or -1 on a store error. */
static int s_walk_end(db_stmt_t *st, db_step_t rc, int verdict)
{
    db_reset(st);
    if (verdict != 0)
        return verdict;
    return rc == DB_DONE ? 0 : -1;
}

int audit_store_checkpoints_each(audit_store_t *self, audit_checkpoint_fn *fn, void *arg)
{
    db_stmt_t *st = db_prepare(self->db, SQL_CP_EACH);
    if (!st)
        return -1;
    db_step_t rc;
    int verdict = 0;
    while (verdict == 0 && (rc = db_step(st)) == DB_ROW) {
        const char *note = db_column_text(st, 1);
        verdict = fn(arg, (uint64_t)db_column_int64(st, 0), note ? note : "",
                     note ? strlen(note) : 0, db_column_int64(st, 2));
    }
    return s_walk_end(st, rc, verdict);
}

/* ---- cosignatures ---------------------------------------------------- */

int audit_store_cosignature_put(audit_store_t *self, uint64_t size, const char *org,
                                const char *line, int64_t received_ms)
{
    db_stmt_t *st = db_prepare(self->db, SQL_COSIG_PUT);
    if (!st || db_bind_int64(st, 1, s_i64(size)) != 0 || db_bind_text_ref(st, 2, org) != 0 ||
        db_bind_text_ref(st, 3, line) != 0 || db_bind_int64(st, 4, received_ms) != 0)
        return -1;
    return db_run(st);
}

int audit_store_cosignatures_each(audit_store_t *self, int64_t size, audit_cosignature_fn *fn,
                                  void *arg)
{
    db_stmt_t *st = db_prepare(self->db, size >= 0 ? SQL_COSIG_EACH_AT : SQL_COSIG_EACH);
    if (!st || (size >= 0 && db_bind_int64(st, 1, size) != 0))
        return -1;
    db_step_t rc;
    int verdict = 0;
    while (verdict == 0 && (rc = db_step(st)) == DB_ROW) {
        audit_cosignature_t c;
        c.size = (uint64_t)db_column_int64(st, 0);
        c.org = db_column_text(st, 1);
        c.line = db_column_text(st, 2);
        c.line_len = c.line ? strlen(c.line) : 0;
        c.received_ms = db_column_int64(st, 3);
        c.note = db_column_text(st, 4);
        c.note_len = c.note ? strlen(c.note) : 0;
        verdict = fn(arg, &c);
    }
    return s_walk_end(st, rc, verdict);
}

int audit_store_cosigners_each(audit_store_t *self, audit_cosignature_fn *fn, void *arg)
{
    db_stmt_t *st = db_prepare(self->db, SQL_COSIGNERS);
    if (!st)
        return -1;
    db_step_t rc;
    int verdict = 0;
    while (verdict == 0 && (rc = db_step(st)) == DB_ROW) {
        audit_cosignature_t c;
        memset(&c, 0, sizeof c);
        c.org = db_column_text(st, 0);
        c.size = (uint64_t)db_column_int64(st, 1);
        c.received_ms = db_column_int64(st, 2);
        verdict = fn(arg, &c);
    }
    return s_walk_end(st, rc, verdict);
}

int audit_store_cosignature_max(audit_store_t *self, const char *org, uint64_t *size)
{
    db_stmt_t *st = db_prepare(self->db, SQL_COSIG_MAX);
    int64_t n = 0;
    if (!st || db_bind_text_ref(st, 1, org) != 0)
        return -1;
    int found = s_int_row(st, &n);
    if (found == 1)
        *size = n > 0 ? (uint64_t)n : 0;
    return found;
}

int audit_store_cosigned(audit_store_t *self, uint64_t size, const char *org)
{
    db_stmt_t *st = db_prepare(self->db, SQL_COSIGNED);
    int64_t one = 0;
    if (!st || db_bind_int64(st, 1, s_i64(size)) != 0 || db_bind_text_ref(st, 2, org) != 0)
        return -1;
    return s_int_row(st, &one);
}

/* ---- subject index --------------------------------------------------- */

bool audit_store_subjects_exist(audit_store_t *self)
{
    return s_count(self->db, s_pg(self->db) ? s_has_subjects_postgresql : s_has_subjects_sqlite) ==
           1;
}

static int s_subject_stmt(audit_store_t *self, const char *sql, int64_t tag, uint64_t idx,
                          db_stmt_t **out)
{
    db_stmt_t *st = db_prepare(self->db, sql);
    if (!st || db_bind_int64(st, 1, s_seg(idx)) != 0 || db_bind_int64(st, 2, tag) != 0 ||
        db_bind_int64(st, 3, s_i64(idx)) != 0)
        return -1;
    *out = st;
    return 0;
}

int audit_store_subject_put(audit_store_t *self, int64_t tag, uint64_t idx)
{
    if (s_gathering(self)) {
        if (s_column_int(&self->subjects[0], s_seg(idx)) != 0 ||
            s_column_int(&self->subjects[1], tag) != 0 ||
            s_column_int(&self->subjects[2], s_i64(idx)) != 0) {
            s_gathered_drop(self);
            return -1;
        }
        self->n_subjects++;
        return s_gathered_check(self);
    }
    db_stmt_t *st = NULL;
    return s_subject_stmt(self, SQL_SUBJECT_PUT, tag, idx, &st) == 0 ? db_run(st) : -1;
}

int audit_store_subject_delete(audit_store_t *self, int64_t tag, uint64_t idx)
{
    if (s_ready(self) != 0)
        return -1;
    db_stmt_t *st = NULL;
    return s_subject_stmt(self, SQL_SUBJECT_DEL, tag, idx, &st) == 0 ? db_run(st) : -1;
}

int audit_store_subject_has(audit_store_t *self, int64_t tag, uint64_t idx)
{
    if (s_ready(self) != 0)
        return -1;
    db_stmt_t *st = NULL;
    int64_t one = 0;
    if (s_subject_stmt(self, SQL_SUBJECT_HAS, tag, idx, &st) != 0)
        return -1;
    return s_int_row(st, &one);
}

int audit_store_subject_rows(audit_store_t *self, bool by_idx, audit_subject_row_fn *fn, void *arg)
{
    if (s_ready(self) != 0)
        return -1;
    db_stmt_t *st = db_prepare(self->db, by_idx ? SQL_SUBJECT_ROWS_BY_IDX : SQL_SUBJECT_ROWS);
    if (!st)
        return -1;
    db_step_t rc;
    int verdict = 0;
    while (verdict == 0 && (rc = db_step(st)) == DB_ROW)
        verdict = fn(arg, db_column_int64(st, 0), db_column_int64(st, 1));
    return s_walk_end(st, rc, verdict);
}

/* One segment's rows of the backfill, written in key order. */
typedef struct {
    int64_t tag, idx;
} s_pair_t;

static int s_pair_cmp(const void *a, const void *b)
{
    const s_pair_t *x = a, *y = b;
    if (x->tag != y->tag)
        return x->tag < y->tag ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int s_flush(audit_store_t *self, s_pair_t *pairs, size_t n, uint64_t *rows)
{
    qsort(pairs, n, sizeof *pairs, s_pair_cmp);
    for (size_t i = 0; i < n; i++) {
        if (audit_store_subject_put(self, pairs[i].tag, (uint64_t)pairs[i].idx) != 0)
            return -1;
        (*rows)++;
    }
    return 0;
}

int audit_store_subjects_create(audit_store_t *self, uint64_t *rows)
{
    *rows = 0;
    if (s_ready(self) != 0)
        return -1;
    if (db_exec(self->db, "DROP TABLE IF EXISTS audit_subjects") != 0 ||
        db_exec(self->db, s_pg(self->db) ? s_subjects_postgresql : s_subjects_sqlite) != 0)
        return -1;
    /* Records come in index order, so segments come one after the other:
       each is sorted by tag before it is written, and the B-tree is built
       by appending instead of inserts at random places. */
    size_t cap = (size_t)1 << AUDIT_SUBJECT_SEGMENT_SHIFT, n = 0;
    s_pair_t *pairs = malloc(cap * sizeof *pairs);
    audit_cursor_t *cursor = pairs ? audit_store_records(self, 0, UINT64_MAX) : NULL;
    int result = cursor ? 0 : -1, rc = 0;
    int64_t seg = -1;
    audit_row_t row;
    while (result == 0 && (rc = audit_cursor_next(cursor, &row)) == 1) {
        const uint8_t *subject = NULL;
        if (row.idx < 0 || row.len == 0 || audit_record_subject(row.bytes, row.len, &subject) != 1)
            continue;
        if (s_seg((uint64_t)row.idx) != seg || n == cap) {
            result = s_flush(self, pairs, n, rows);
            n = 0;
            seg = s_seg((uint64_t)row.idx);
        }
        pairs[n].tag = audit_subject_tag(subject);
        pairs[n].idx = row.idx;
        n++;
    }
    if (result == 0 && rc < 0)
        result = -1;
    if (result == 0)
        result = s_flush(self, pairs, n, rows);
    audit_cursor_destroy(&cursor);
    free(pairs);
    return result;
}
