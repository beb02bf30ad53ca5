/*  db_sqlite: the SQLite implementation of db.h. */
#include "db.h"
#include "db_borrow.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_ERRMSG_MAX 256       /* longest error text kept */
#define DB_CACHE_INITIAL 32     /* statement slots at first (a power of two) */
#define DB_BUSY_TIMEOUT_MS 5000 /* default wait for another connection's lock */

/* A cached statement. `sql` is the cache key (owned copy). */
struct db_stmt_t {
    db_t *db;           /* connection it belongs to */
    sqlite3_stmt *stmt; /* prepared statement */
    char *sql;          /* its text, owned */
    uint64_t hash;      /* hash of sql */
};

/*  Invariant: every statement in `slots` was prepared on `sqlite` and is
    owned by the cache; `used` counts the non-NULL slots and stays below
    half of `cap`, so a lookup always finds an empty slot. `error` is
    DB_ERR_NONE exactly when the last fallible call succeeded. */
struct db_t {
    sqlite3 *sqlite;            /* the connection */
    char *path;                 /* file name, owned */
    db_stmt_t **slots;          /* open-addressing statement cache */
    size_t cap;                 /* slots allocated (a power of two) */
    size_t used;                /* slots in use */
    db_error_t error;           /* class of the last error */
    char errmsg[DB_ERRMSG_MAX]; /* text of the last error */
    bool borrowed;              /* the connection is not ours to close */
};

static uint64_t s_hash(const char *text)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

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
static void s_note(db_t *self, int rc)
{
    self->error = s_class(rc);
    if (self->error == DB_ERR_NONE)
        self->errmsg[0] = '\0';
    else
        snprintf(self->errmsg, sizeof self->errmsg, "%s",
                 self->sqlite ? sqlite3_errmsg(self->sqlite) : sqlite3_errstr(rc));
}

static void s_fail(db_t *self, db_error_t error, const char *msg)
{
    self->error = error;
    snprintf(self->errmsg, sizeof self->errmsg, "%s", msg);
}

db_t *db_open(const char *location, int flags, char *err, size_t errlen)
{
    const char *path = location;
    if (strncmp(location, "sqlite:", 7) == 0)
        path = location + 7;
    else if (strstr(location, "://")) {
        snprintf(err, errlen, "unknown database location scheme (only sqlite: is built in)");
        return NULL;
    }
    if (!*path) {
        snprintf(err, errlen, "empty database path");
        return NULL;
    }
    db_t *self = calloc(1, sizeof *self);
    if (self) {
        self->path = strdup(path);
        self->cap = DB_CACHE_INITIAL;
        self->slots = calloc(self->cap, sizeof *self->slots);
    }
    if (!self || !self->path || !self->slots) {
        snprintf(err, errlen, "out of memory");
        db_close(&self);
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
        db_close(&self);
        return NULL;
    }
    return self;
}

db_t *db_borrow_embedded(void *handle)
{
    db_t *self = handle ? calloc(1, sizeof *self) : NULL;
    if (self) {
        self->sqlite = handle;
        self->borrowed = true;
        self->path =
            strdup(sqlite3_db_filename(handle, "main") ? sqlite3_db_filename(handle, "main") : "");
        self->cap = DB_CACHE_INITIAL;
        self->slots = calloc(self->cap, sizeof *self->slots);
    }
    if (self && (!self->path || !self->slots))
        db_close(&self);
    return self;
}

void *db_embedded_handle(db_t *db)
{
    /* Only a SQLite db_t has one (with a dispatching lib/db: check the ops). */
    return db && strcmp(db_backend(db), "sqlite") == 0 ? db->sqlite : NULL;
}

void db_close(db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    db_t *self = *self_p;
    if (self->sqlite && !self->borrowed && !sqlite3_get_autocommit(self->sqlite))
        sqlite3_exec(self->sqlite, "ROLLBACK", NULL, NULL, NULL);
    for (size_t i = 0; self->slots && i < self->cap; i++)
        if (self->slots[i]) {
            sqlite3_finalize(self->slots[i]->stmt);
            free(self->slots[i]->sql);
            free(self->slots[i]);
        }
    free(self->slots);
    if (self->sqlite && !self->borrowed)
        sqlite3_close(self->sqlite);
    free(self->path);
    free(self);
    *self_p = NULL;
}

const char *db_backend(const db_t *self)
{
    (void)self;
    return "sqlite";
}

const char *db_path(const db_t *self)
{
    return self->path;
}

int db_exec(db_t *self, const char *sql)
{
    int rc = sqlite3_exec(self->sqlite, sql, NULL, NULL, NULL);
    s_note(self, rc);
    return rc == SQLITE_OK ? 0 : -1;
}

int db_begin(db_t *self)
{
    db_stmt_t *st = db_prepare(self, "BEGIN");
    return st ? db_run(st) : -1;
}

int db_commit(db_t *self)
{
    db_stmt_t *st = db_prepare(self, "COMMIT");
    return st ? db_run(st) : -1;
}

void db_rollback(db_t *self)
{
    if (sqlite3_get_autocommit(self->sqlite))
        return;
    db_error_t error = self->error;
    char msg[DB_ERRMSG_MAX];
    memcpy(msg, self->errmsg, sizeof msg);
    db_stmt_t *st = db_prepare(self, "ROLLBACK");
    if (!st || db_run(st) != 0)
        /* SQLite may have rolled back already (a full disk does) */
        sqlite3_exec(self->sqlite, "ROLLBACK", NULL, NULL, NULL);
    /* the reason the caller rolled back is the one worth reporting */
    self->error = error;
    memcpy(self->errmsg, msg, sizeof msg);
}

bool db_in_transaction(const db_t *self)
{
    return !sqlite3_get_autocommit(self->sqlite);
}

void db_set_busy_timeout(db_t *self, int ms)
{
    sqlite3_busy_timeout(self->sqlite, ms);
}

/* Doubles the cache. 0 or -1. */
static int s_grow(db_t *self)
{
    size_t cap = self->cap * 2;
    db_stmt_t **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < self->cap; i++) {
        db_stmt_t *st = self->slots[i];
        if (!st)
            continue;
        size_t j = (size_t)st->hash & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = st;
    }
    free(self->slots);
    self->slots = slots;
    self->cap = cap;
    return 0;
}

/* Refuses `$N` placeholders that SQLite would number differently from N. */
static int s_check_params(db_t *self, sqlite3_stmt *stmt)
{
    int n = sqlite3_bind_parameter_count(stmt);
    for (int i = 1; i <= n; i++) {
        const char *name = sqlite3_bind_parameter_name(stmt, i);
        char want[16];
        snprintf(want, sizeof want, "$%d", i);
        if (!name || strcmp(name, want) != 0) {
            s_fail(self, DB_ERR_OTHER, "placeholders must be $1, $2, ... first used in order");
            return -1;
        }
    }
    return 0;
}

db_stmt_t *db_prepare(db_t *self, const char *sql)
{
    uint64_t hash = s_hash(sql);
    size_t i = (size_t)hash & (self->cap - 1);
    for (; self->slots[i]; i = (i + 1) & (self->cap - 1)) {
        db_stmt_t *st = self->slots[i];
        if (st->hash == hash && (st->sql == sql || strcmp(st->sql, sql) == 0)) {
            sqlite3_reset(st->stmt);
            sqlite3_clear_bindings(st->stmt);
            return st;
        }
    }
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
    db_stmt_t *st = calloc(1, sizeof *st);
    if (st)
        st->sql = strdup(sql);
    if (!st || !st->sql || ((self->used + 1) * 2 > self->cap && s_grow(self) != 0)) {
        if (st)
            free(st->sql);
        free(st);
        sqlite3_finalize(stmt);
        s_fail(self, DB_ERR_OTHER, "out of memory");
        return NULL;
    }
    st->db = self;
    st->stmt = stmt;
    st->hash = hash;
    i = (size_t)hash & (self->cap - 1);
    while (self->slots[i])
        i = (i + 1) & (self->cap - 1);
    self->slots[i] = st;
    self->used++;
    return st;
}

static int s_bound(db_stmt_t *st, int rc)
{
    if (rc == SQLITE_OK)
        return 0;
    s_note(st->db, rc);
    return -1;
}

int db_bind_int64(db_stmt_t *st, int idx, int64_t value)
{
    return s_bound(st, sqlite3_bind_int64(st->stmt, idx, value));
}

int db_bind_blob(db_stmt_t *st, int idx, const void *data, size_t len)
{
    if (!data)
        return db_bind_null(st, idx);
    return s_bound(st, sqlite3_bind_blob64(st->stmt, idx, data, len, SQLITE_TRANSIENT));
}

int db_bind_text(db_stmt_t *st, int idx, const char *text)
{
    if (!text)
        return db_bind_null(st, idx);
    return s_bound(st, sqlite3_bind_text(st->stmt, idx, text, -1, SQLITE_TRANSIENT));
}

int db_bind_blob_ref(db_stmt_t *st, int idx, const void *data, size_t len)
{
    if (!data)
        return db_bind_null(st, idx);
    return s_bound(st, sqlite3_bind_blob64(st->stmt, idx, data, len, SQLITE_STATIC));
}

int db_bind_text_ref(db_stmt_t *st, int idx, const char *text)
{
    if (!text)
        return db_bind_null(st, idx);
    return s_bound(st, sqlite3_bind_text(st->stmt, idx, text, -1, SQLITE_STATIC));
}

int db_bind_null(db_stmt_t *st, int idx)
{
    return s_bound(st, sqlite3_bind_null(st->stmt, idx));
}

db_step_t db_step(db_stmt_t *st)
{
    int rc = sqlite3_step(st->stmt);
    if (rc == SQLITE_ROW)
        return DB_ROW;
    if (rc == SQLITE_DONE) {
        st->db->error = DB_ERR_NONE;
        return DB_DONE;
    }
    /* the extended code is on the connection until the reset */
    s_note(st->db, sqlite3_extended_errcode(st->db->sqlite));
    sqlite3_reset(st->stmt);
    return DB_ERROR;
}

int db_run(db_stmt_t *st)
{
    db_step_t rc = db_step(st);
    db_reset(st);
    if (rc == DB_ROW)
        st->db->error = DB_ERR_NONE;
    return rc == DB_ERROR ? -1 : 0;
}

void db_reset(db_stmt_t *st)
{
    sqlite3_reset(st->stmt);
    sqlite3_clear_bindings(st->stmt);
}

int64_t db_changes(const db_t *self)
{
    return sqlite3_changes64(self->sqlite);
}

int db_column_count(db_stmt_t *st)
{
    return sqlite3_column_count(st->stmt);
}

bool db_column_is_null(db_stmt_t *st, int col)
{
    return sqlite3_column_type(st->stmt, col) == SQLITE_NULL;
}

int64_t db_column_int64(db_stmt_t *st, int col)
{
    return sqlite3_column_int64(st->stmt, col);
}

const void *db_column_blob(db_stmt_t *st, int col, size_t *len)
{
    const void *data = sqlite3_column_blob(st->stmt, col);
    *len = (size_t)sqlite3_column_bytes(st->stmt, col);
    return data;
}

const char *db_column_text(db_stmt_t *st, int col)
{
    return (const char *)sqlite3_column_text(st->stmt, col);
}

db_error_t db_error(const db_t *self)
{
    return self->error;
}

const char *db_errmsg(const db_t *self)
{
    return self->error == DB_ERR_NONE ? "" : self->errmsg;
}

const char *db_error_name(db_error_t error)
{
    switch (error) {
    case DB_ERR_NONE:
        return "none";
    case DB_ERR_BUSY:
        return "busy";
    case DB_ERR_FULL:
        return "full";
    case DB_ERR_IO:
        return "io";
    case DB_ERR_CORRUPT:
        return "corrupt";
    case DB_ERR_CONSTRAINT:
        return "constraint";
    case DB_ERR_READONLY:
        return "readonly";
    case DB_ERR_OTHER:
        break;
    }
    return "other";
}
