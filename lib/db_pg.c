/*  db_pg: the PostgreSQL backend of db.h, through libpq (see
    lib/db_backend.h and docs/decisions.md "Issue 16").

    Statements are prepared on the server the first time they run, with
    the parameter types of that first run (integer int8, blob bytea, text
    text; NULL left to the server), and cached by their SQL text like
    SQLite's. Parameters travel as text, except blobs (binary, no
    escaping); results come as text, blobs decoded from PostgreSQL's hex
    form into a buffer of the statement.

    Pipelining: inside a transaction, db_run does not wait. It sends the
    statement in libpq's pipeline mode and returns; the results are read
    when something needs an answer (db_step, db_exec) or at db_commit,
    which sends COMMIT in the same pipeline. A broker turn of many inserts
    is then one round trip plus the commit's. An error in a queued
    statement makes the server skip the rest of the pipeline, and the
    commit (or the next answer) reports it: the transaction fails whole.

    A lost connection fails the transaction in progress (class io); the
    next db_begin or statement outside a transaction reconnects, and every
    statement is prepared again on the new session. A session cut while
    idle is noticed by the first statement that uses it: a BEGIN is then
    said again on a new session, any other statement fails (io) once,
    because it may have run before the cut.

    Error texts are the server's primary message and its SQLSTATE, never
    the DETAIL (which can quote a row) and never a data exception's text
    (which can quote a value). A failed transaction reports its first
    error until it ends (not the "transaction is aborted" of the
    statements after it), and the two states an operator must act on
    say so first: "the store is read-only", "the store's disk is full".
    The session is never forced writable: a server, database or role
    set read-only stays read-only for us.
*/
#include "db_backend.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_LOCK_TIMEOUT_MS 5000 /* default wait for a lock, like SQLite's busy timeout */
#define PG_QUEUE_MAX 1024       /* queued statements read back at the latest after this many */
#define PG_CONNECT_TIMEOUT "5"  /* seconds, unless the location says otherwise */

#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25

typedef enum { PARAM_NULL = 0, PARAM_INT, PARAM_BLOB, PARAM_TEXT } param_kind_t;

typedef struct {
    param_kind_t kind;
    char number[24];   /* PARAM_INT as decimal text */
    const char *value; /* what is sent: number, the caller's bytes, or copy */
    int len;           /* its length (blobs) */
    char *copy;        /* owned copy when the caller asked for one */
    size_t copy_cap;
} pg_param_t;

typedef struct pg_db_t pg_db_t;

/* A column's bytea of the current row, decoded once (row < 0: none). */
typedef struct {
    unsigned char *bytes;
    size_t len, cap;
    int row;
} pg_blob_t;

/* A cached statement (lib/db.c keeps the cache; base.sql is its text). */
typedef struct {
    db_stmt_t base;
    int nparams;         /* the highest $N in the text */
    pg_param_t *params;  /* nparams */
    const char **values; /* nparams: what libpq sends, per execution */
    int *lengths, *formats;
    Oid *types;          /* the types it was prepared with */
    unsigned generation; /* the session it was prepared on; 0 never */
    char name[24];       /* server-side name */
    PGresult *result;    /* rows of the current execution */
    int row, rows;
    pg_blob_t *blobs; /* per column: its decoded bytea of the current row */
    int n_blobs;
} pg_stmt_t;

struct pg_db_t {
    db_t base;
    PGconn *conn;
    unsigned generation; /* incremented by every (re)connect */
    unsigned next_name;  /* for server-side statement names */
    bool in_tx;          /* between our BEGIN and COMMIT/ROLLBACK */
    bool readonly;
    int lock_timeout_ms;
    char *session_sql; /* the caller's settings for every session; NULL none */
    int queued;        /* pipelined statements whose results are unread */
    int64_t changes;   /* rows changed by the last finished statement */
    /* The first error of the transaction in progress: what follows it
       (25P02 "transaction is aborted", a COMMIT answered ROLLBACK) says
       nothing of the cause, which is what the operator must read. */
    db_error_t tx_error; /* DB_ERR_NONE while it has not failed */
    char tx_errmsg[DB_ERRMSG_MAX];
};

static const db_ops_t s_ops;

#define DB(self) ((pg_db_t *)(self))
#define ST(st) ((pg_stmt_t *)(st))

/* ---- errors ------------------------------------------------------------ */

static db_error_t s_class(const char *state)
{
    if (!state || strlen(state) != 5)
        return DB_ERR_OTHER;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
        strncmp(state, "58", 2) == 0)
        return DB_ERR_IO; /* connection, shutdown, system i/o */
    if (strncmp(state, "53", 2) == 0)
        return DB_ERR_FULL; /* disk full, out of memory, too many connections */
    if (strncmp(state, "23", 2) == 0)
        return DB_ERR_CONSTRAINT;
    if (strcmp(state, "25006") == 0)
        return DB_ERR_READONLY;
    if (strncmp(state, "40", 2) == 0 || strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0)
        return DB_ERR_BUSY; /* serialization, deadlock, lock timeout, statement timeout */
    if (strncmp(state, "XX", 2) == 0)
        return DB_ERR_CORRUPT;
    return DB_ERR_OTHER;
}

/* libpq's message about the connection on one line: a location that
   names several servers (host=a,b, failover) gets one line per server
   tried, each worth reading ("Connection refused", "session is
   read-only"); they are joined with "; ". Its indented hint lines are
   left out. The text holds hosts and ports, never data. */
static void s_conn_message(const PGconn *conn, char *text, size_t len)
{
    const char *message = conn ? PQerrorMessage(conn) : "no connection";
    size_t n = 0;
    text[0] = '\0';
    for (const char *line = message; *line && n + 1 < len;) {
        size_t line_len = strcspn(line, "\n");
        if (line_len > 0 && line[0] != '\t' && line[0] != ' ') {
            int wrote = snprintf(text + n, len - n, "%s%.*s", n ? "; " : "", (int)line_len, line);
            if (wrote < 0 || (size_t)wrote >= len - n)
                break; /* full: cut there */
            n += (size_t)wrote;
        }
        line += line_len + (line[line_len] == '\n');
    }
}

/* The connection is gone: class io, libpq's own text (it holds no data). */
static void s_lost(pg_db_t *self)
{
    char text[DB_ERRMSG_MAX];
    s_conn_message(self->conn, text, sizeof text);
    db_set_error(&self->base, DB_ERR_IO, "database server connection lost: %s", text);
}

/* Reports the transaction's first error again, when it had one. */
static bool s_first_error(pg_db_t *self)
{
    if (!self->in_tx || self->tx_error == DB_ERR_NONE)
        return false;
    self->base.error = self->tx_error;
    memcpy(self->base.errmsg, self->tx_errmsg, sizeof self->tx_errmsg);
    return true;
}

/* Records a failed result on the connection. */
static void s_note_result(pg_db_t *self, const PGresult *res)
{
    if (!res || PQstatus(self->conn) == CONNECTION_BAD) {
        s_lost(self);
        return;
    }
    if (s_first_error(self))
        return;
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (state && strncmp(state, "22", 2) == 0)
        primary = "data exception"; /* its text can quote the value */
    /* The two states an operator must act on say so in plain words first
       (docs/operations.md "High availability"). */
    db_error_t error = s_class(state);
    const char *plain = error == DB_ERR_READONLY               ? "the store is read-only: "
                        : state && strcmp(state, "53100") == 0 ? "the store's disk is full: "
                                                               : "";
    db_set_error(&self->base, error, "%s%s (SQLSTATE %s)", plain, primary ? primary : "error",
                 state ? state : "?????");
    if (self->in_tx) {
        self->tx_error = error;
        memcpy(self->tx_errmsg, self->base.errmsg, sizeof self->tx_errmsg);
    }
}

/* 0 when `res` is a success (consumes nothing). */
static int s_ok(pg_db_t *self, const PGresult *res)
{
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        self->base.error = DB_ERR_NONE;
        return 0;
    }
    s_note_result(self, res);
    return -1;
}

static void s_notice(void *arg, const char *message)
{
    /* Notices ("relation exists, skipping") would go to stderr: not ours. */
    (void)arg;
    (void)message;
}

/* ---- the session ------------------------------------------------------- */

/* Settings every session needs. 0 or -1. */
static int s_session(pg_db_t *self)
{
    char sql[200];
    /* Read-only is asked for when wanted and never forced off: a server,
       database or role the operator made read-only stays read-only for
       the broker too, which then refuses writes (fails closed). */
    snprintf(sql, sizeof sql, "SET lock_timeout = %d; SET client_min_messages = warning%s",
             self->lock_timeout_ms,
             self->readonly ? "; SET default_transaction_read_only = on" : "");
    PGresult *res = PQexec(self->conn, sql);
    int rc = s_ok(self, res);
    PQclear(res);
    if (rc == 0 && self->session_sql) {
        res = PQexec(self->conn, self->session_sql);
        rc = s_ok(self, res);
        PQclear(res);
    }
    return rc;
}

/* A usable session outside a transaction: reconnects a lost one. */
static int s_ensure(pg_db_t *self)
{
    if (PQstatus(self->conn) == CONNECTION_OK)
        return 0;
    if (self->in_tx) {
        s_lost(self);
        return -1;
    }
    PQreset(self->conn);
    if (PQstatus(self->conn) != CONNECTION_OK) {
        s_lost(self);
        return -1;
    }
    self->generation++;
    self->queued = 0;
    return s_session(self);
}

/* Reads back every pipelined statement. 0, or -1 with the first error.
   With `keep`, the last statement queued was a read: its result goes to
   *keep (the caller clears it) instead of being dropped. */
static int s_flush_keep(pg_db_t *self, PGresult **keep)
{
    if (PQpipelineStatus(self->conn) == PQ_PIPELINE_OFF)
        return 0;
    if (PQstatus(self->conn) == CONNECTION_BAD) {
        /* what was queued is lost with its transaction; a new session
           (s_ensure) starts without a pipeline */
        self->queued = 0;
        if (!self->in_tx)
            return 0;
        s_lost(self);
        return -1;
    }
    int rc = 0;
    bool noted = false;
    if (PQpipelineSync(self->conn) != 1) {
        s_lost(self);
        rc = -1;
        noted = true;
    }
    int statement = 0; /* whose results are being read */
    for (;;) {
        PGresult *res = PQgetResult(self->conn);
        if (!res) {
            if (PQstatus(self->conn) == CONNECTION_BAD) {
                if (!noted)
                    s_lost(self);
                rc = -1;
                break;
            }
            statement++;
            continue; /* the end of one statement's results */
        }
        ExecStatusType status = PQresultStatus(res);
        if (status == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            break;
        }
        if (keep && statement == self->queued - 1 &&
            (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)) {
            const char *n = PQcmdTuples(res);
            self->changes = n && *n ? strtoll(n, NULL, 10) : 0;
            PQclear(*keep);
            *keep = res;
            continue;
        }
        if (status == PGRES_COMMAND_OK) {
            const char *n = PQcmdTuples(res);
            self->changes = n && *n ? strtoll(n, NULL, 10) : 0;
        } else if (status != PGRES_TUPLES_OK && status != PGRES_PIPELINE_ABORTED) {
            if (!noted)
                s_note_result(self, res);
            noted = true;
            rc = -1;
        }
        PQclear(res);
    }
    self->queued = 0;
    if (PQstatus(self->conn) == CONNECTION_OK && PQexitPipelineMode(self->conn) != 1 && rc == 0) {
        s_lost(self);
        rc = -1;
    }
    if (rc == 0)
        self->base.error = DB_ERR_NONE;
    return rc;
}

static int s_flush(pg_db_t *self)
{
    return s_flush_keep(self, NULL);
}

static int s_simple(pg_db_t *self, const char *sql, const char *expect_status)
{
    PGresult *res = PQexec(self->conn, sql);
    int rc = s_ok(self, res);
    if (rc == 0 && expect_status && strcmp(PQcmdStatus(res), expect_status) != 0) {
        /* COMMIT of a failed transaction answers ROLLBACK */
        if (!s_first_error(self))
            db_set_error(&self->base, DB_ERR_OTHER,
                         "the transaction was rolled back by the server");
        rc = -1;
    }
    PQclear(res);
    return rc;
}

db_t *db_pg_open(const char *conninfo, int flags, char *err, size_t errlen)
{
    pg_db_t *self = calloc(1, sizeof *self);
    if (self) {
        self->base.ops = &s_ops;
        self->readonly = (flags & DB_READONLY) != 0;
        self->lock_timeout_ms = PG_LOCK_TIMEOUT_MS;
        self->generation = 1;
    }
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* The location's own settings win: it comes later. Keepalives and a
       TCP user timeout so that a server gone without a word (machine
       off, network cut) fails the statement in seconds, not hours. */
    const char *keys[] = {
        "connect_timeout",  "application_name", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "dbname",          NULL};
    const char *values[] = {PG_CONNECT_TIMEOUT, "hartslag", "5", "2", "3", "15000", conninfo, NULL};
    self->conn = PQconnectdbParams(keys, values, 1);
    if (!self->conn || PQstatus(self->conn) != CONNECTION_OK) {
        char text[DB_ERRMSG_MAX];
        if (self->conn)
            s_conn_message(self->conn, text, sizeof text);
        else
            snprintf(text, sizeof text, "out of memory");
        snprintf(err, errlen, "cannot connect to the PostgreSQL server: %s", text);
        PQfinish(self->conn);
        free(self);
        return NULL;
    }
    PQsetNoticeProcessor(self->conn, s_notice, NULL);
    if (s_session(self) != 0) {
        snprintf(err, errlen, "PostgreSQL session setup failed: %s", self->base.errmsg);
        s_ops.close(&self->base);
        return NULL;
    }
    return &self->base;
}

static void s_stmt_free(db_stmt_t *base)
{
    pg_stmt_t *st = ST(base);
    if (!st)
        return;
    PQclear(st->result);
    for (int i = 0; i < st->nparams; i++)
        free(st->params[i].copy);
    free(st->params);
    free(st->values);
    free(st->lengths);
    free(st->formats);
    free(st->types);
    for (int i = 0; i < st->n_blobs; i++)
        free(st->blobs[i].bytes);
    free(st->blobs);
    free(st);
}

static void s_close(db_t *base)
{
    pg_db_t *self = DB(base);
    if (self->conn && PQstatus(self->conn) == CONNECTION_OK) {
        (void)s_flush(self);
        if (self->in_tx)
            PQclear(PQexec(self->conn, "ROLLBACK"));
    }
    PQfinish(self->conn);
    free(self->session_sql);
    free(self);
}

static const char *s_path(const db_t *base)
{
    (void)base;
    return NULL;
}

static int s_exec(db_t *base, const char *sql)
{
    pg_db_t *self = DB(base);
    if (s_flush(self) != 0 || s_ensure(self) != 0)
        return -1;
    return s_simple(self, sql, NULL);
}

static int s_begin(db_t *base)
{
    pg_db_t *self = DB(base);
    if (s_flush(self) != 0 || s_ensure(self) != 0)
        return -1;
    int rc = s_simple(self, "BEGIN", NULL);
    if (rc != 0 && PQstatus(self->conn) == CONNECTION_BAD) {
        /* a session cut while idle is found only now; BEGIN changes
           nothing, so it is safe to say it again on a new session */
        rc = s_ensure(self) == 0 ? s_simple(self, "BEGIN", NULL) : -1;
    }
    if (rc != 0)
        return -1;
    self->in_tx = true;
    self->tx_error = DB_ERR_NONE;
    return 0;
}

static int s_commit(db_t *base)
{
    pg_db_t *self = DB(base);
    int rc;
    if (PQpipelineStatus(self->conn) != PQ_PIPELINE_OFF) {
        /* COMMIT rides in the same pipeline: one round trip for the turn */
        if (PQsendQueryParams(self->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) != 1) {
            s_lost(self);
            (void)s_flush(self);
            return -1;
        }
        rc = s_flush(self);
        if (rc == 0 && PQtransactionStatus(self->conn) != PQTRANS_IDLE) {
            if (!s_first_error(self))
                db_set_error(base, DB_ERR_OTHER, "the transaction was rolled back by the server");
            rc = -1;
        }
    } else {
        rc = s_simple(self, "COMMIT", "COMMIT");
    }
    if (rc == 0 || PQtransactionStatus(self->conn) == PQTRANS_IDLE ||
        PQstatus(self->conn) == CONNECTION_BAD)
        self->in_tx = false;
    return rc;
}

static void s_rollback(db_t *base)
{
    pg_db_t *self = DB(base);
    db_error_t error = base->error;
    char msg[DB_ERRMSG_MAX];
    memcpy(msg, base->errmsg, sizeof msg);
    if (PQstatus(self->conn) == CONNECTION_OK) {
        (void)s_flush(self);
        if (PQtransactionStatus(self->conn) != PQTRANS_IDLE)
            PQclear(PQexec(self->conn, "ROLLBACK"));
    }
    self->in_tx = false;
    /* the reason the caller rolled back is the one worth reporting */
    base->error = error;
    memcpy(base->errmsg, msg, sizeof msg);
}

static bool s_in_transaction(const db_t *base)
{
    return ((const pg_db_t *)base)->in_tx;
}

static void s_set_busy_timeout(db_t *base, int ms)
{
    pg_db_t *self = DB(base);
    self->lock_timeout_ms = ms < 0 ? 0 : ms;
    if (s_flush(self) == 0 && PQstatus(self->conn) == CONNECTION_OK)
        (void)s_session(self);
}

static int s_set_session(db_t *base, const char *sql)
{
    pg_db_t *self = DB(base);
    char *copy = strdup(sql);
    if (!copy) {
        db_set_error(base, DB_ERR_OTHER, "out of memory");
        return -1;
    }
    free(self->session_sql);
    self->session_sql = copy;
    if (s_flush(self) != 0 || s_ensure(self) != 0)
        return -1;
    return s_simple(self, sql, NULL);
}

static uint64_t s_session_id(const db_t *base)
{
    return ((const pg_db_t *)base)->generation;
}

/* ---- statements -------------------------------------------------------- */

/* The highest $N outside quotes and comments: the statement's parameter
   count. -1 when a placeholder is out of range. */
static int s_count_params(const char *sql)
{
    int max = 0;
    for (const char *p = sql; *p; p++) {
        if (*p == '\'' || *p == '"') {
            char quote = *p;
            for (p++; *p && *p != quote; p++)
                ;
            if (!*p)
                break;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
            if (!*p)
                break;
        } else if (*p == '$' && p[1] >= '1' && p[1] <= '9') {
            long n = strtol(p + 1, NULL, 10);
            if (n > 1000)
                return -1;
            if (n > max)
                max = (int)n;
        }
    }
    return max;
}

static void s_clear_rows(pg_stmt_t *st)
{
    PQclear(st->result);
    st->result = NULL;
    for (int i = 0; i < st->n_blobs; i++)
        st->blobs[i].row = -1;
    st->row = -1;
    st->rows = 0;
}

static void s_reset(db_stmt_t *base)
{
    pg_stmt_t *st = ST(base);
    s_clear_rows(st);
    for (int i = 0; i < st->nparams; i++)
        st->params[i].kind = PARAM_NULL;
}

static db_stmt_t *s_stmt_new(db_t *base, const char *sql)
{
    int n = s_count_params(sql);
    if (n < 0) {
        db_set_error(base, DB_ERR_OTHER, "placeholder number out of range");
        return NULL;
    }
    size_t slots = n ? (size_t)n : 1;
    pg_stmt_t *st = calloc(1, sizeof *st);
    if (st) {
        st->nparams = n;
        st->params = calloc(slots, sizeof *st->params);
        st->values = calloc(slots, sizeof *st->values);
        st->lengths = calloc(slots, sizeof *st->lengths);
        st->formats = calloc(slots, sizeof *st->formats);
        st->types = calloc(slots, sizeof *st->types);
        st->row = -1;
    }
    if (!st || !st->params || !st->values || !st->lengths || !st->formats || !st->types) {
        s_stmt_free(st ? &st->base : NULL);
        db_set_error(base, DB_ERR_OTHER, "out of memory");
        return NULL;
    }
    return &st->base;
}

static pg_param_t *s_param(db_stmt_t *base, int idx)
{
    pg_stmt_t *st = ST(base);
    if (idx < 1 || idx > st->nparams) {
        db_set_error(base->db, DB_ERR_OTHER, "no placeholder $%d in the statement", idx);
        return NULL;
    }
    return &st->params[idx - 1];
}

static int s_bind_int64(db_stmt_t *base, int idx, int64_t value)
{
    pg_param_t *p = s_param(base, idx);
    if (!p)
        return -1;
    p->kind = PARAM_INT;
    snprintf(p->number, sizeof p->number, "%lld", (long long)value);
    p->value = p->number;
    p->len = 0;
    return 0;
}

static int s_keep(db_stmt_t *base, pg_param_t *p, const void *bytes, size_t len, bool copy,
                  bool terminate)
{
    if (len > 0x3fffffff) {
        db_set_error(base->db, DB_ERR_OTHER, "value too large");
        return -1;
    }
    if (!copy) {
        p->value = bytes;
    } else {
        if (p->copy_cap < len + 1) {
            char *grown = realloc(p->copy, len + 1);
            if (!grown) {
                db_set_error(base->db, DB_ERR_OTHER, "out of memory");
                return -1;
            }
            p->copy = grown;
            p->copy_cap = len + 1;
        }
        memcpy(p->copy, bytes, len);
        if (terminate)
            p->copy[len] = '\0';
        p->value = p->copy;
    }
    p->len = (int)len;
    return 0;
}

static int s_bind_blob(db_stmt_t *base, int idx, const void *bytes, size_t len, bool copy)
{
    pg_param_t *p = s_param(base, idx);
    if (!p || s_keep(base, p, bytes, len, copy, false) != 0)
        return -1;
    p->kind = PARAM_BLOB;
    return 0;
}

static int s_bind_text(db_stmt_t *base, int idx, const char *text, bool copy)
{
    pg_param_t *p = s_param(base, idx);
    if (!p || s_keep(base, p, text, strlen(text), copy, true) != 0)
        return -1;
    p->kind = PARAM_TEXT;
    return 0;
}

static int s_bind_null(db_stmt_t *base, int idx)
{
    pg_param_t *p = s_param(base, idx);
    if (!p)
        return -1;
    p->kind = PARAM_NULL;
    return 0;
}

static Oid s_oid(param_kind_t kind)
{
    switch (kind) {
    case PARAM_INT:
        return OID_INT8;
    case PARAM_BLOB:
        return OID_BYTEA;
    case PARAM_TEXT:
        return OID_TEXT;
    case PARAM_NULL:
        break;
    }
    return 0;
}

/* Prepares `st` on this session with its current parameter kinds unless
   it is prepared with compatible ones. Outside the pipeline. 0 or -1. */
static int s_server_prepare(pg_db_t *self, pg_stmt_t *st)
{
    bool fits = st->generation == self->generation;
    for (int i = 0; fits && i < st->nparams; i++) {
        Oid want = s_oid(st->params[i].kind);
        if (want && st->types[i] && want != st->types[i])
            fits = false;
        if (want && !st->types[i])
            fits = false; /* prepared with a NULL here: let the server know the type */
    }
    if (fits)
        return 0;
    if (s_flush(self) != 0)
        return -1;
    for (int i = 0; i < st->nparams; i++)
        st->types[i] = s_oid(st->params[i].kind);
    snprintf(st->name, sizeof st->name, "hs%u", ++self->next_name);
    PGresult *res = PQprepare(self->conn, st->name, st->base.sql, st->nparams, st->types);
    int rc = s_ok(self, res);
    PQclear(res);
    if (rc == 0)
        st->generation = self->generation;
    return rc;
}

/* Fills the statement's arrays libpq sends from its bindings. */
static void s_param_arrays(pg_stmt_t *st)
{
    for (int i = 0; i < st->nparams; i++) {
        const pg_param_t *p = &st->params[i];
        st->values[i] = p->kind == PARAM_NULL ? NULL : p->value;
        st->lengths[i] = p->len;
        st->formats[i] = p->kind == PARAM_BLOB ? 1 : 0;
    }
}

/* True while writes of the open transaction wait in the pipeline. */
static bool s_writes_queued(pg_db_t *self)
{
    return self->in_tx && self->queued > 0 && PQstatus(self->conn) == CONNECTION_OK &&
           PQpipelineStatus(self->conn) != PQ_PIPELINE_OFF;
}

/* Runs `st` now and keeps its rows. 0 or -1. A read while writes of the
   transaction wait in the pipeline joins them: the writes and the read
   cost one round trip instead of two (the broker's ack is a read after
   the previous ack's writes). */
static int s_execute(pg_db_t *self, pg_stmt_t *st)
{
    if (!s_writes_queued(self) && (s_flush(self) != 0 || s_ensure(self) != 0))
        return -1;
    if (s_server_prepare(self, st) != 0)
        return -1;
    bool join = s_writes_queued(self); /* preparing may have read them back */
    s_param_arrays(st);
    s_clear_rows(st);
    PGresult *res = NULL;
    if (join) {
        if (PQsendQueryPrepared(self->conn, st->name, st->nparams, st->values, st->lengths,
                                st->formats, 0) != 1) {
            s_lost(self);
            return -1;
        }
        self->queued++;
        if (s_flush_keep(self, &res) != 0 || !res) {
            PQclear(res);
            return -1;
        }
    } else {
        res = PQexecPrepared(self->conn, st->name, st->nparams, st->values, st->lengths,
                             st->formats, 0);
        if (s_ok(self, res) != 0) {
            PQclear(res);
            return -1;
        }
        const char *changed = PQcmdTuples(res);
        self->changes = changed && *changed ? strtoll(changed, NULL, 10) : 0;
    }
    st->result = res;
    st->rows = PQntuples(res);
    st->row = -1;
    return 0;
}

static db_step_t s_step(db_stmt_t *base)
{
    pg_stmt_t *st = ST(base);
    pg_db_t *self = DB(base->db);
    if (!st->result && s_execute(self, st) != 0)
        return DB_ERROR;
    if (st->row + 1 < st->rows) {
        st->row++;
        return DB_ROW;
    }
    st->row = st->rows;
    self->base.error = DB_ERR_NONE;
    return DB_DONE;
}

static int s_run(db_stmt_t *base)
{
    pg_stmt_t *st = ST(base);
    pg_db_t *self = DB(base->db);
    int rc;
    if (!self->in_tx || PQstatus(self->conn) != CONNECTION_OK) {
        rc = s_execute(self, st) == 0 ? 0 : -1;
    } else if (s_server_prepare(self, st) != 0) {
        rc = -1;
    } else {
        if (PQpipelineStatus(self->conn) == PQ_PIPELINE_OFF &&
            PQenterPipelineMode(self->conn) != 1) {
            s_lost(self);
            s_reset(base);
            return -1;
        }
        s_param_arrays(st);
        /* libpq copies the values into its buffer here: a borrowed blob
           may change as soon as this returns */
        if (PQsendQueryPrepared(self->conn, st->name, st->nparams, st->values, st->lengths,
                                st->formats, 0) != 1) {
            s_lost(self);
            rc = -1;
        } else {
            rc = 0;
            self->base.error = DB_ERR_NONE;
            if (++self->queued >= PG_QUEUE_MAX)
                rc = s_flush(self);
        }
    }
    s_reset(base);
    return rc;
}

static int64_t s_changes(const db_t *base)
{
    return ((const pg_db_t *)base)->changes;
}

static int s_column_count(db_stmt_t *base)
{
    pg_stmt_t *st = ST(base);
    return st->result ? PQnfields(st->result) : 0;
}

static bool s_has_value(pg_stmt_t *st, int col)
{
    return st->result && st->row >= 0 && st->row < st->rows && col >= 0 &&
           col < PQnfields(st->result) && !PQgetisnull(st->result, st->row, col);
}

static bool s_column_is_null(db_stmt_t *base, int col)
{
    return !s_has_value(ST(base), col);
}

static int64_t s_column_int64(db_stmt_t *base, int col)
{
    pg_stmt_t *st = ST(base);
    if (!s_has_value(st, col))
        return 0;
    const char *text = PQgetvalue(st->result, st->row, col);
    if (text[0] == 't' && text[1] == '\0')
        return 1; /* boolean */
    return strtoll(text, NULL, 10);
}

static const void *s_column_blob(db_stmt_t *base, int col, size_t *len)
{
    pg_stmt_t *st = ST(base);
    *len = 0;
    if (!s_has_value(st, col))
        return NULL;
    const char *text = PQgetvalue(st->result, st->row, col);
    size_t n = (size_t)PQgetlength(st->result, st->row, col);
    if (PQftype(st->result, col) != OID_BYTEA) {
        *len = n; /* a text column read as bytes */
        return text;
    }
    if (n < 2 || text[0] != '\\' || text[1] != 'x')
        return NULL; /* bytea_output = escape: not ours */
    /* Each column keeps its own buffer: a caller reads several blobs of
       one row and uses them together. */
    if (col >= st->n_blobs) {
        pg_blob_t *grown = realloc(st->blobs, (size_t)(col + 1) * sizeof *grown);
        if (!grown)
            return NULL;
        for (int i = st->n_blobs; i <= col; i++)
            grown[i] = (pg_blob_t){.bytes = NULL, .len = 0, .cap = 0, .row = -1};
        st->blobs = grown;
        st->n_blobs = col + 1;
    }
    pg_blob_t *blob = &st->blobs[col];
    if (blob->row != st->row) {
        size_t bytes = (n - 2) / 2;
        if (blob->cap < bytes + 1) {
            unsigned char *grown = realloc(blob->bytes, bytes + 1);
            if (!grown)
                return NULL;
            blob->bytes = grown;
            blob->cap = bytes + 1;
        }
        if (sodium_hex2bin(blob->bytes, blob->cap, text + 2, n - 2, NULL, &blob->len, NULL) != 0)
            return NULL;
        blob->row = st->row;
    }
    *len = blob->len;
    return blob->bytes;
}

static const char *s_column_text(db_stmt_t *base, int col)
{
    pg_stmt_t *st = ST(base);
    return s_has_value(st, col) ? PQgetvalue(st->result, st->row, col) : NULL;
}

static const db_ops_t s_ops = {
    .name = "postgresql",
    .close = s_close,
    .path = s_path,
    .exec = s_exec,
    .begin = s_begin,
    .commit = s_commit,
    .rollback = s_rollback,
    .in_transaction = s_in_transaction,
    .set_busy_timeout = s_set_busy_timeout,
    .set_session = s_set_session,
    .session = s_session_id,
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
