/*  db_backend: what a database backend implements behind lib/db.h
    (private to lib/db*.c).

    A backend's connection and statement structs begin with `struct
    db_t` / `struct db_stmt_t`, so lib/db.c can dispatch on `ops` and
    keep the error state in one place. The functions have db.h's meaning
    exactly; db.c checks nothing a backend would check again.
*/
#ifndef HARTSLAG_DB_BACKEND_H
#define HARTSLAG_DB_BACKEND_H

#include "db.h"

#define DB_ERRMSG_MAX 256 /* longest error text kept */

typedef struct db_ops_t db_ops_t;

/*  The statement cache is lib/db.c's, for every backend: open addressing
    keyed by the SQL text; `used` stays below half of `cap` so a lookup
    always finds an empty slot; every statement in it is owned by it. */
struct db_t {
    const db_ops_t *ops;
    db_error_t error;               /* class of the last error; NONE after a success */
    bool refusing;                  /* db_refuse: run nothing */
    char errmsg[DB_ERRMSG_MAX];     /* its text, never holding a bound value */
    db_stmt_t **slots;              /* the statement cache (NULL until the first) */
    db_commit_hook_fn *commit_hook; /* db_set_commit_hook */
    void *commit_hook_arg;
    size_t cap, used;
};

struct db_stmt_t {
    db_t *db;      /* the connection it was prepared on */
    char *sql;     /* its text, owned: the cache key */
    uint64_t hash; /* of sql */
};

struct db_ops_t {
    const char *name;
    void (*close)(db_t *self); /* frees self (its statements are freed before) */
    const char *(*path)(const db_t *self);
    int (*exec)(db_t *self, const char *sql);
    int (*begin)(db_t *self);
    int (*commit)(db_t *self);
    void (*rollback)(db_t *self);
    bool (*in_transaction)(const db_t *self);
    void (*set_busy_timeout)(db_t *self, int ms);
    int (*set_session)(db_t *self, const char *sql);
    uint64_t (*session)(const db_t *self);
    /* A new statement for `sql` (base zeroed but for db), or NULL with the
       error set; db.c fills in sql and hash and caches it. */
    db_stmt_t *(*stmt_new)(db_t *self, const char *sql);
    void (*stmt_free)(db_stmt_t *st);
    int (*bind_int64)(db_stmt_t *st, int idx, int64_t value);
    int (*bind_blob)(db_stmt_t *st, int idx, const void *data, size_t len, bool copy);
    int (*bind_text)(db_stmt_t *st, int idx, const char *text, bool copy);
    int (*bind_null)(db_stmt_t *st, int idx);
    db_step_t (*step)(db_stmt_t *st);
    int (*run)(db_stmt_t *st);
    void (*reset)(db_stmt_t *st);
    int64_t (*changes)(const db_t *self);
    int (*column_count)(db_stmt_t *st);
    bool (*column_is_null)(db_stmt_t *st, int col);
    int64_t (*column_int64)(db_stmt_t *st, int col);
    const void *(*column_blob)(db_stmt_t *st, int col, size_t *len);
    const char *(*column_text)(db_stmt_t *st, int col);
};

/* The backends' openers (lib/db_sqlite.c, lib/db_pg.c). */
db_t *db_sqlite_open(const char *path, int flags, char *err, size_t errlen);
db_t *db_pg_open(const char *conninfo, int flags, char *err, size_t errlen);

/* Sets the connection's error state (NONE clears the text). */
void db_set_error(db_t *self, db_error_t error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
