/*  db_sqlite: the SQLite backend of db.h (see lib/db_backend.h). */
#include "db_backend.h"
#include "db_borrow.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_BUSY_TIMEOUT_MS 5000 /* default wait for another connection's lock */

typedef struct sqlite_db_t sqlite_db_t;

/* A cached statement (lib/db.c keeps the cache). */
typedef struct {
    db_stmt_t base;
    sqlite3_stmt *stmt; /* prepared on the connection */
} sqlite_stmt_t;

struct sqlite_db_t {
    db_t base;
    sqlite3 *sqlite; /* the connection */
    char *path;      /* file name, owned */
    bool borrowed;   /* the connection is the caller's (db_borrow.h) */
};

static const db_ops_t s_ops;

#define DB(self) ((sqlite_db_t *)(self))
#define ST(st) ((sqlite_stmt_t *)(st))

static db_error_t s_class(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return DB_ERR_NONE;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return DB_ERR_BUSY;
    case SQLITE_FULL:
        return DB_ERR_FULL;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
        return DB_ERR_IO;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return DB_ERR_CORRUPT;
    case SQLITE_CONSTRAINT:
        return DB_ERR_CONSTRAINT;
    case SQLITE_READONLY:
        return DB_ERR_READONLY;
    default:
        return DB_ERR_OTHER;
    }
}

/* Records the outcome `rc` of a call on the connection. */
static void s_note(sqlite_db_t *self, int rc)
{
    db_set_error(&self->base, s_class(rc), "%s",
                 self->sqlite ? sqlite3_errmsg(self->sqlite) : sqlite3_errstr(rc));
}

static sqlite_db_t *s_new(const char *path)
{
    sqlite_db_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->base.ops = &s_ops;
    self->path = strdup(path);
    if (!self->path) {
        free(self);
        return NULL;
    }
    return self;
}

static void s_close(db_t *base)
{
    sqlite_db_t *self = DB(base);
    if (self->sqlite && !self->borrowed && !sqlite3_get_autocommit(self->sqlite))
        sqlite3_exec(self->sqlite, "ROLLBACK", NULL, NULL, NULL);
    if (self->sqlite && !self->borrowed)
        sqlite3_close(self->sqlite);
    free(self->path);
    free(self);
}

db_t *db_sqlite_open(const char *path, int flags, char *err, size_t errlen)
{
    sqlite_db_t *self = s_new(path);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int oflags = (flags & DB_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if ((flags & DB_CREATE) && !(flags & DB_READONLY))
        oflags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &self->sqlite, oflags, NULL);
    if (rc == SQLITE_OK)
        sqlite3_busy_timeout(self->sqlite, DB_BUSY_TIMEOUT_MS);
    if (rc == SQLITE_OK && !(flags & DB_READONLY))
        rc = sqlite3_exec(self->sqlite, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL,
                          NULL, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s",
                 self->sqlite ? sqlite3_errmsg(self->sqlite) : sqlite3_errstr(rc));
        s_close(&self->base);
        return NULL;
    }
    return &self->base;
}

db_t *db_borrow_embedded(void *handle)
{
    if (!handle)
        return NULL;
    const char *file = sqlite3_db_filename(handle, "main");
    sqlite_db_t *self = s_new(file ? file : "");
    if (self) {
        self->sqlite = handle;
        self->borrowed = true;
    }
    return self ? &self->base : NULL;
}

static const char *s_path(const db_t *base)
{
    return ((const sqlite_db_t *)base)->path;
}

static int s_exec(db_t *base, const char *sql)
{
    int rc = sqlite3_exec(DB(base)->sqlite, sql, NULL, NULL, NULL);
    s_note(DB(base), rc);
    return rc == SQLITE_OK ? 0 : -1;
}

static int s_begin(db_t *base)
{
    db_stmt_t *st = db_prepare(base, "BEGIN");
    return st ? db_run(st) : -1;
}

static int s_commit(db_t *base)
{
    db_stmt_t *st = db_prepare(base, "COMMIT");
    return st ? db_run(st) : -1;
}

static void s_rollback(db_t *base)
{
    sqlite_db_t *self = DB(base);
    if (sqlite3_get_autocommit(self->sqlite))
        return;
    db_error_t error = base->error;
    char msg[DB_ERRMSG_MAX];
    memcpy(msg, base->errmsg, sizeof msg);
    db_stmt_t *st = db_prepare(base, "ROLLBACK");
    if (!st || db_run(st) != 0)
        /* SQLite may have rolled back already (a full disk does) */
        sqlite3_exec(self->sqlite, "ROLLBACK", NULL, NULL, NULL);
    /* the reason the caller rolled back is the one worth reporting */
    base->error = error;
    memcpy(base->errmsg, msg, sizeof msg);
}

static bool s_in_transaction(const db_t *base)
{
    return !sqlite3_get_autocommit(((const sqlite_db_t *)base)->sqlite);
}

static void s_set_busy_timeout(db_t *base, int ms)
{
    sqlite3_busy_timeout(DB(base)->sqlite, ms);
}

static int s_set_session(db_t *base, const char *sql)
{
    return s_exec(base, sql);
}

static uint64_t s_session(const db_t *base)
{
    (void)base;
    return 1;
}

/* Refuses `$N` placeholders that SQLite would number differently from N. */
static int s_check_params(sqlite_db_t *self, sqlite3_stmt *stmt)
{
    int n = sqlite3_bind_parameter_count(stmt);
    for (int i = 1; i <= n; i++) {
        const char *name = sqlite3_bind_parameter_name(stmt, i);
        char want[16];
        snprintf(want, sizeof want, "$%d", i);
        if (!name || strcmp(name, want) != 0) {
            db_set_error(&self->base, DB_ERR_OTHER,
                         "placeholders must be $1, $2, ... first used in order");
            return -1;
        }
    }
    return 0;
}

static db_stmt_t *s_stmt_new(db_t *base, const char *sql)
{
    sqlite_db_t *self = DB(base);
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v3(self->sqlite, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK) {
        s_note(self, rc);
        return NULL;
    }
    if (s_check_params(self, stmt) != 0) {
        sqlite3_finalize(stmt);
        return NULL;
    }
    sqlite_stmt_t *st = calloc(1, sizeof *st);
    if (!st) {
        sqlite3_finalize(stmt);
        db_set_error(base, DB_ERR_OTHER, "out of memory");
        return NULL;
    }
    st->stmt = stmt;
    return &st->base;
}

static void s_stmt_free(db_stmt_t *st)
{
    sqlite3_finalize(ST(st)->stmt);
    free(st);
}

static int s_bound(db_stmt_t *st, int rc)
{
    if (rc == SQLITE_OK)
        return 0;
    s_note(DB(st->db), rc);
    return -1;
}

static int s_bind_int64(db_stmt_t *st, int idx, int64_t value)
{
    return s_bound(st, sqlite3_bind_int64(ST(st)->stmt, idx, value));
}

static int s_bind_blob(db_stmt_t *st, int idx, const void *data, size_t len, bool copy)
{
    return s_bound(st, sqlite3_bind_blob64(ST(st)->stmt, idx, data, len,
                                           copy ? SQLITE_TRANSIENT : SQLITE_STATIC));
}

static int s_bind_text(db_stmt_t *st, int idx, const char *text, bool copy)
{
    return s_bound(st, sqlite3_bind_text(ST(st)->stmt, idx, text, -1,
                                         copy ? SQLITE_TRANSIENT : SQLITE_STATIC));
}

static int s_bind_null(db_stmt_t *st, int idx)
{
    return s_bound(st, sqlite3_bind_null(ST(st)->stmt, idx));
}

static db_step_t s_step(db_stmt_t *st)
{
    sqlite_db_t *self = DB(st->db);
    int rc = sqlite3_step(ST(st)->stmt);
    if (rc == SQLITE_ROW)
        return DB_ROW;
    if (rc == SQLITE_DONE) {
        self->base.error = DB_ERR_NONE;
        return DB_DONE;
    }
    /* the extended code is on the connection until the reset */
    s_note(self, sqlite3_extended_errcode(self->sqlite));
    sqlite3_reset(ST(st)->stmt);
    return DB_ERROR;
}

static void s_reset(db_stmt_t *st)
{
    sqlite3_reset(ST(st)->stmt);
    sqlite3_clear_bindings(ST(st)->stmt);
}

static int s_run(db_stmt_t *st)
{
    db_step_t rc = s_step(st);
    s_reset(st);
    if (rc == DB_ROW)
        st->db->error = DB_ERR_NONE;
    return rc == DB_ERROR ? -1 : 0;
}

static int64_t s_changes(const db_t *base)
{
    return sqlite3_changes64(((const sqlite_db_t *)base)->sqlite);
}

static int s_column_count(db_stmt_t *st)
{
    return sqlite3_column_count(ST(st)->stmt);
}

static bool s_column_is_null(db_stmt_t *st, int col)
{
    return sqlite3_column_type(ST(st)->stmt, col) == SQLITE_NULL;
}

static int64_t s_column_int64(db_stmt_t *st, int col)
{
    return sqlite3_column_int64(ST(st)->stmt, col);
}

static const void *s_column_blob(db_stmt_t *st, int col, size_t *len)
{
    const void *bytes = sqlite3_column_blob(ST(st)->stmt, col);
    *len = (size_t)sqlite3_column_bytes(ST(st)->stmt, col);
    return bytes;
}

static const char *s_column_text(db_stmt_t *st, int col)
{
    return (const char *)sqlite3_column_text(ST(st)->stmt, col);
}

static const db_ops_t s_ops = {
    .name = "sqlite",
    .close = s_close,
    .path = s_path,
    .exec = s_exec,
    .begin = s_begin,
    .commit = s_commit,
    .rollback = s_rollback,
    .in_transaction = s_in_transaction,
    .set_busy_timeout = s_set_busy_timeout,
    .set_session = s_set_session,
    .session = s_session,
    .stmt_new = s_stmt_new,
    .stmt_free = s_stmt_free,
    .bind_int64 = s_bind_int64,
    .bind_blob = s_bind_blob,
    .bind_text = s_bind_text,
    .bind_null = s_bind_null,
    .step = s_step,
    .run = s_run,
    .reset = s_reset,
    .changes = s_changes,
    .column_count = s_column_count,
    .column_is_null = s_column_is_null,
    .column_int64 = s_column_int64,
    .column_blob = s_column_blob,
    .column_text = s_column_text,
};
