/*  db: one database connection, backend-neutral (issue 16, "the seam").

    The stores (broker/store, lib/audit_store) speak SQL through this
    header and nothing else. Two backends sit behind it (lib/db.c
    dispatches): SQLite (lib/db_sqlite.c) and PostgreSQL through libpq
    (lib/db_pg.c, which documents its pipelining and reconnection).

    Location: "sqlite:PATH" or a bare PATH (SQLite), or a libpq URI,
    "postgresql://USER@HOST:PORT/DB?..." (PostgreSQL). Placeholders are
    numbered, `$1, $2, ...`; SQLite accepts them when each number first
    appears in order (db_prepare refuses a statement where it does not).
    The statements must be valid on both: docs/decisions.md "Issue 16"
    lists the rules. PostgreSQL returns a statement's rows all at once
    (held until db_reset); SQLite steps through them.

    Transactions belong to the caller: db_begin, then statements, then
    db_commit or db_rollback. A write that returns nothing goes through
    db_run: a backend may queue it and send it with the next statement
    that needs an answer or with the commit (pipelining), so its error may
    be reported by a later call; the transaction then fails as a whole.
    SQLite runs it at once.

    Statements are prepared once and cached on the connection, keyed by
    their SQL text: db_prepare returns a borrowed, reset statement with no
    bindings; it stays valid until db_close. Column values are borrowed
    until the next db_step or db_reset of that statement.

    Errors: every call that can fail returns -1 (db_step: DB_ERROR) and
    leaves the reason on the connection: db_error() is the class (busy,
    full, io, corrupt, ... — the broker fails closed with
    storage_unavailable on any of them), db_errmsg() the text. Neither ever
    contains bound values.
*/
#ifndef HARTSLAG_DB_H
#define HARTSLAG_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct db_t db_t;
typedef struct db_stmt_t db_stmt_t;

/* Open flags. */
#define DB_READONLY 0x01 /* no writes; the database must exist */
#define DB_CREATE 0x02   /* create the database when it does not exist */

/* What went wrong, as far as the caller needs to tell. */
typedef enum {
    DB_ERR_NONE = 0,   /* no error */
    DB_ERR_BUSY,       /* locked by another connection past the timeout */
    DB_ERR_FULL,       /* disk or quota full */
    DB_ERR_IO,         /* read, write or sync failed; cannot open */
    DB_ERR_CORRUPT,    /* not a database, or damaged */
    DB_ERR_CONSTRAINT, /* a unique or other constraint refused the row */
    DB_ERR_READONLY,   /* a write on a read-only connection or database */
    DB_ERR_OTHER,      /* SQL error, misuse, out of memory */
} db_error_t;

/* What db_step found. */
typedef enum {
    DB_ERROR = -1, /* see db_error / db_errmsg */
    DB_DONE = 0,   /* no (more) rows */
    DB_ROW = 1,    /* a row is available to the column getters */
} db_step_t;

/* Opens `location` ("sqlite:PATH", PATH or "postgresql://..."). NULL with
   the reason in `err` when it cannot be opened. A SQLite connection that
   can write runs in WAL mode with synchronous=FULL; either waits up to
   5 s for a lock. DB_CREATE means nothing to PostgreSQL (the database
   must exist; the stores create their tables); DB_READONLY makes its
   transactions read-only. */
db_t *db_open(const char *location, int flags, char *err, size_t errlen);

/* `location` as messages and log lines may show it: the password of a
   URI's user part ("user:PASSWORD@host") and every password= setting
   replaced by ***; the rest (hosts, ports, database, options) kept. A
   location that does not fit `len` is cut. */
void db_location_shown(const char *location, char *out, size_t len);

/* Finalizes the cached statements and closes; rolls back an open
   transaction. Safe on NULL and twice. */
void db_close(db_t **self_p);

/* The backend's name, "sqlite" or "postgresql". */
const char *db_backend(const db_t *self);

/* The file behind a SQLite connection (for a checkpointer of its own);
   NULL for a backend without one. Borrowed. */
const char *db_path(const db_t *self);

/* Runs SQL text that may hold several statements and returns no rows
   (schema, settings). 0 or -1. */
int db_exec(db_t *self, const char *sql);

/* The caller's transaction. db_commit makes everything since db_begin
   durable or reports -1 (then the caller rolls back). db_rollback is a
   no-op outside a transaction. */
int db_begin(db_t *self);
int db_commit(db_t *self);
void db_rollback(db_t *self);
bool db_in_transaction(const db_t *self);

/* Settings for the session, run now and again on every new session the
   connection opens after a cut (PostgreSQL; SQLite has one session and
   runs it now). Replaces an earlier one. 0 or -1. */
int db_set_session(db_t *self, const char *sql);

/* Changes whenever the connection is on a new server session (after a
   reconnect): what a session held, such as an advisory lock, is gone.
   Always 1 for SQLite. */
uint64_t db_session(const db_t *self);

/* Waiting for another connection's lock, in milliseconds (0: fail busy at
   once). */
void db_set_busy_timeout(db_t *self, int ms);

/* While `refuse` is true, db_step, db_run and db_exec fail at once (the
   last error kept) and touch neither the connection nor the data. A
   caller whose BEGIN failed sets it for the rest of its unit of work:
   without it, the statements would run one by one outside a transaction
   (each committed on its own) on a connection that came back meanwhile,
   and half of that work would stay. */
void db_refuse(db_t *self, bool refuse);

/* A writer that gathers rows of its own during a transaction (lib/
   audit_store on PostgreSQL: a turn's audit rows in one statement instead
   of one each) is called with `committing` true just before COMMIT, to
   write them (a non-zero answer fails db_commit; the caller then rolls
   back), and with false at db_rollback, to drop them. One per connection;
   NULL clears it. */
typedef int(db_commit_hook_fn)(void *arg, bool committing);
void db_set_commit_hook(db_t *self, db_commit_hook_fn *fn, void *arg);

/* The cached statement for `sql`, reset with no bindings; NULL (reason on
   the connection) when it does not prepare. Borrowed. */
db_stmt_t *db_prepare(db_t *self, const char *sql);

/* Binds parameter $idx (1-based). Text and blobs are copied. 0 or -1. */
int db_bind_int64(db_stmt_t *st, int idx, int64_t value);
int db_bind_blob(db_stmt_t *st, int idx, const void *data, size_t len);
int db_bind_text(db_stmt_t *st, int idx, const char *text);
int db_bind_null(db_stmt_t *st, int idx);

/* The same without a copy, for the hot path (the broker's sealed bytes):
   `data` / `text` must stay valid and unchanged until db_run or the last
   db_step of this execution returns (a backend that queues the write
   copies it then). 0 or -1. */
int db_bind_blob_ref(db_stmt_t *st, int idx, const void *data, size_t len);
int db_bind_text_ref(db_stmt_t *st, int idx, const char *text);

/* Next row. */
db_step_t db_step(db_stmt_t *st);

/* Runs a statement that returns no rows and resets it (see above: may be
   queued). 0 or -1. */
int db_run(db_stmt_t *st);

/* Done with the statement's rows: resets it and clears its bindings. */
void db_reset(db_stmt_t *st);

/* Rows changed by the last db_run / db_step that finished (not
   meaningful for a queued write before the next answer). */
int64_t db_changes(const db_t *self);

/* Column getters (0-based) of the current row. Blob and text are
   borrowed until the next db_step / db_reset; a NULL column reads as 0,
   NULL / length 0. */
int db_column_count(db_stmt_t *st);
bool db_column_is_null(db_stmt_t *st, int col);
int64_t db_column_int64(db_stmt_t *st, int col);
const void *db_column_blob(db_stmt_t *st, int col, size_t *len);
const char *db_column_text(db_stmt_t *st, int col);

/* The last error on the connection: its class and text. */
db_error_t db_error(const db_t *self);
const char *db_errmsg(const db_t *self);

/* A short token for a class: "busy", "full", "io", "corrupt",
   "constraint", "readonly", "other", "none". */
const char *db_error_name(db_error_t error);

#endif
