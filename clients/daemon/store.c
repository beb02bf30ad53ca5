/*  store: see store.h. All SQL of the daemon lives here. */
#include "store.h"
#include "store_case.h"
#include "store_case_text.h"
#include "store_case_timer.h"

#include "dlog.h"
#include "strbuf.h"

#include "fileio.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define STORE_SCHEMA_VERSION "1"

/* The statements of the daemon, each kept in store_t and prepared
   once, on first use; the SQL stays at the call site. */
typedef enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_SAVEPOINT,
    Q_RELEASE,
    Q_ROLLBACK_TO,
    Q_AUDIT,
    Q_OUTBOX_ADD,
    Q_OUTBOX_GET,
    Q_OUTBOX_STATE,
    Q_OUTBOX_ACCEPTED,
    Q_AUDIT_ACCEPTED,
    Q_OUTBOX_WITHDRAWING,
    Q_OUTBOX_SUBMIT,
    Q_OUTBOX_EACH,
    Q_OUTBOX_SEAL,
    Q_COUNT_OUTBOX_WAITING,
    Q_INBOX_KNOWN,
    Q_INBOX_ADD,
    Q_INBOX_GET,
    Q_INBOX_DELETE,
    Q_GONE_ADD,
    Q_INBOX_EACH,
    Q_INBOX_EXPIRED,
    Q_INBOX_NEXT_HOOK,
    Q_INBOX_HOOK_RESULT,
    Q_ALERT_ADD,
    Q_ALERT_NEXT_HOOK,
    Q_ALERT_HOOK_RESULT,
    Q_ALERT_EACH,
    Q_ALERT_PARTICIPANTS,
    Q_HOOK_EVENT_ADD,
    Q_HOOK_EVENT_NEXT,
    Q_HOOK_EVENT_DONE,
    Q_HOOK_EVENT_RETRY,
    Q_HOOK_EVENT_COUNT,
    Q_HEALTH_PROBE,
    Q_HOOK_BACKLOG,
    Q_COUNT_OUTBOX_PENDING,
    Q_COUNT_OUTBOX_ACCEPTED,
    Q_COUNT_OUTBOX_DENIED,
    Q_COUNT_OUTBOX_OTHER,
    Q_COUNT_INBOX,
    Q_COUNT_INBOX_HOOK,
    Q_COUNT_ALERTS,
    Q_COUNT_CHECKPOINT,
    Q_COUNT_EVIDENCE,
    Q_AUDIT_EACH,
    Q_CHECKPOINT_LATEST,
    Q_CHECKPOINT_ADD,
    Q_CHECKPOINT_EVIDENCE,
    Q_OUTCOME_ADD,
    Q_COUNT_STORED,
    Q_COUNT_REFUSED,
    Q_COUNT_QUEUED,
    Q_COUNT /* number of statements */
} query_t;

#define STORE_SUBMIT_NOTES_MAX 1024 /* submits noted in memory before they are written */
/* WAL pages after which store_checkpoint copies them into the database
   (SQLite's own automatic checkpoint, which runs inside COMMIT, is off). */
#define STORE_WAL_CHECKPOINT_PAGES 1000
/* After a checkpoint the WAL file is cut back to at most this size (SQLite
   keeps it otherwise, with old frames in it). */
#define STORE_JOURNAL_SIZE_LIMIT "1048576"

/*  Invariant: db is open, in WAL mode with synchronous=FULL, except
    between store_begin_lazy and the end of its transaction (`lazy`: NORMAL,
    the commit is not fsynced; any other begin restores FULL first, and
    fails if it cannot). stmts[q] is
    NULL or statement q, prepared once and reset after every use (a busy
    one is never handed out twice: a nested use is given its own statement).
    notes[0..n_notes) are submits not yet counted in the outbox (see
    store_outbox_count_submit). When wipe_pending is false, no removed
    inbox entry's content is left in the WAL file: a commit that removed
    one ends with a TRUNCATE checkpoint, or sets wipe_pending until one
    succeeds. */
struct store_t {
    sqlite3 *db;                  /* the database connection */
    sqlite3_stmt *stmts[Q_COUNT]; /* prepared statements */
    char (*notes)[STORE_ID_HEX];  /* submitted signal ids, STORE_SUBMIT_NOTES_MAX */
    size_t n_notes;               /* how many */
    bool lazy;                    /* synchronous=NORMAL is set (see invariant) */
    int wal_pages;                /* WAL size after the last commit (wal hook) */
    bool removed_in_txn;          /* the open transaction removed an inbox entry */
    bool wipe_pending;            /* a removal's content may still be in the WAL */
};

static const char *s_schema =
    "CREATE TABLE IF NOT EXISTS meta ("
    "  key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox ("
    "  signal_id TEXT PRIMARY KEY, sealed BLOB, recipients TEXT NOT NULL,"
    "  signal_type TEXT NOT NULL, purpose TEXT NOT NULL, sender_user TEXT NOT NULL,"
    "  state TEXT NOT NULL, reason TEXT, detail TEXT, withdraw_reason TEXT,"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  accepted_ms INTEGER NOT NULL DEFAULT 0, audit_index INTEGER NOT NULL DEFAULT 0,"
    "  submits INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, created_ms);"
    "CREATE TABLE IF NOT EXISTS inbox ("
    "  signal_id TEXT PRIMARY KEY, sender TEXT NOT NULL, sender_user TEXT NOT NULL,"
    "  signal_type TEXT NOT NULL, purpose TEXT NOT NULL, subject TEXT NOT NULL,"
    "  fields TEXT NOT NULL, free_text TEXT, urgency TEXT NOT NULL, agreement_id TEXT,"
    "  created_ms INTEGER NOT NULL, valid_until_ms INTEGER NOT NULL,"
    "  accepted_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
    "  retain_until_ms INTEGER NOT NULL, hook_state TEXT NOT NULL,"
    "  hook_attempts INTEGER NOT NULL DEFAULT 0, hook_next_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS inbox_retain ON inbox (retain_until_ms);"
    "CREATE INDEX IF NOT EXISTS inbox_hook ON inbox (hook_state, hook_next_ms);"
    "CREATE TABLE IF NOT EXISTS outcomes ("
    "  signal_id TEXT NOT NULL, recipient TEXT NOT NULL, stored INTEGER NOT NULL,"
    "  reason TEXT, at_ms INTEGER NOT NULL, PRIMARY KEY (signal_id, recipient)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS gone ("
    "  signal_id TEXT PRIMARY KEY, why TEXT NOT NULL, at_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS alerts ("
    "  alert_id TEXT PRIMARY KEY, rule_id TEXT NOT NULL, subject TEXT NOT NULL,"
    "  participants TEXT NOT NULL, legal_basis TEXT NOT NULL, raised_ms INTEGER NOT NULL,"
    "  received_ms INTEGER NOT NULL, state TEXT, lead_org TEXT, hook_json TEXT,"
    "  hook_state TEXT NOT NULL DEFAULT 'none', hook_attempts INTEGER NOT NULL DEFAULT 0,"
    "  hook_next_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS audit ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL, event TEXT NOT NULL,"
    "  signal_id TEXT, counterpart TEXT, actor_user TEXT, signal_type TEXT, purpose TEXT,"
    "  reason TEXT);"
    "CREATE TABLE IF NOT EXISTS checkpoints ("
    "  size INTEGER PRIMARY KEY, note TEXT NOT NULL, root BLOB NOT NULL,"
    "  received_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS checkpoint_evidence ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT, received_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
    "  held_size INTEGER NOT NULL, new_size INTEGER NOT NULL, note TEXT NOT NULL,"
    "  proof BLOB);";

/* The hook's events about signals that left the inbox (withdrawn, purged),
   kept until the hook took them: a table of their own (store_hook_event_*). */
static const char *s_hook_events_schema =
    "CREATE TABLE IF NOT EXISTS hook_events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT, signal_id TEXT NOT NULL, kind TEXT NOT NULL,"
    "  json TEXT NOT NULL, created_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS hook_events_next ON hook_events (next_ms, seq);";

/* SQLite's WAL hook (after every commit): remembers the WAL's size. */
static int s_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    ((store_t *)arg)->wal_pages = pages;
    return SQLITE_OK;
}

static uint64_t s_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

store_t *store_open(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/hartslagd.db", dir) >= sizeof path) {
        snprintf(err, errlen, "state directory path too long");
        return NULL;
    }
    store_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    bool narrowed = false;
    if (fileio_private_db(path, &narrowed, err, errlen) != 0) {
        store_destroy(&self);
        return NULL;
    }
    if (narrowed)
        dlog(DLOG_WARN, "event=state_file_narrowed file=%s mode=0600", path);
    if (sqlite3_open_v2(path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s (check the state_dir permissions)", path,
                 self->db ? sqlite3_errmsg(self->db) : "out of memory");
        store_destroy(&self);
        return NULL;
    }
    sqlite3_busy_timeout(self->db, 5000);
    /* No checkpoint inside COMMIT: it ran before the acks and Submits that
       wait for the commit, a stall of several ms on their way every few
       hundred commits. The daemon checkpoints after sending them instead
       (store_checkpoint). */
    sqlite3_wal_hook(self->db, s_wal_hook, self);
    char *msg = NULL;
    if (sqlite3_exec(self->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON;"
                     "PRAGMA journal_size_limit=" STORE_JOURNAL_SIZE_LIMIT ";",
                     NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(self->db, s_schema, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(self->db, s_hook_events_schema, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(
            self->db,
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '" STORE_SCHEMA_VERSION
            "');",
            NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot set up %s: %s", path, msg ? msg : "unknown error");
        sqlite3_free(msg);
        store_destroy(&self);
        return NULL;
    }
    if (store_case_schema(self, err, errlen) != 0 ||
        store_case_timer_schema(self, err, errlen) != 0 ||
        store_case_text_schema(self, err, errlen) != 0) {
        store_destroy(&self);
        return NULL;
    }
    /* A crash may have left a removed signal's content in the WAL. */
    (void)store_wipe_wal(self);
    return self;
}

store_t *store_open_readonly(const char *path, char *err, size_t errlen)
{
    store_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (sqlite3_open_v2(path, &self->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "%s", self->db ? sqlite3_errmsg(self->db) : "out of memory");
        store_destroy(&self);
        return NULL;
    }
    sqlite3_busy_timeout(self->db, 5000);
    return self;
}

/* Held checkpoints, then refused ones. */
#define S_SQL_NOTES                                                                                \
    "SELECT 'checkpoint', note FROM checkpoints UNION ALL "                                        \
    "SELECT kind, note FROM checkpoint_evidence"
#define S_SQL_HELD "SELECT 'checkpoint', note FROM checkpoints"

/* A cursor over the notes; the statement is its own (not cached). */
struct store_notes_t {
    store_t *store;     /* the store it reads (borrowed) */
    sqlite3_stmt *stmt; /* S_SQL_NOTES or S_SQL_HELD */
};

store_notes_t *store_notes_open(store_t *self)
{
    store_notes_t *notes = calloc(1, sizeof *notes);
    if (!notes)
        return NULL;
    notes->store = self;
    if (sqlite3_prepare_v2(self->db, S_SQL_NOTES, -1, &notes->stmt, NULL) != SQLITE_OK &&
        sqlite3_prepare_v2(self->db, S_SQL_HELD, -1, &notes->stmt, NULL) != SQLITE_OK) {
        store_notes_close(&notes);
        return NULL;
    }
    return notes;
}

int store_notes_next(store_notes_t *notes, const char **kind, const char **note, size_t *len)
{
    int rc = sqlite3_step(notes->stmt);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    const char *k = (const char *)sqlite3_column_text(notes->stmt, 0);
    const char *n = (const char *)sqlite3_column_text(notes->stmt, 1);
    *kind = k ? k : "checkpoint";
    *note = n ? n : "";
    *len = n ? (size_t)sqlite3_column_bytes(notes->stmt, 1) : 0;
    return 1;
}

void store_notes_close(store_notes_t **notes_p)
{
    if (!notes_p || !*notes_p)
        return;
    sqlite3_finalize((*notes_p)->stmt);
    free(*notes_p);
    *notes_p = NULL;
}

int store_exchanges_each(store_t *self, store_exchange_t kind, store_exchange_fn *fn, void *arg)
{
    static const char *const sql[] = {
        [STORE_EXCHANGE_SENT] = "SELECT signal_id, recipients FROM outbox WHERE accepted_ms > 0",
        [STORE_EXCHANGE_STORED_AT] = "SELECT signal_id, recipient FROM outcomes",
        [STORE_EXCHANGE_RECEIVED] = "SELECT signal_id, NULL FROM inbox",
    };
    if ((unsigned)kind > STORE_EXCHANGE_RECEIVED)
        return -1;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(self->db, sql[kind], -1, &stmt, NULL) != SQLITE_OK)
        return 0; /* a table an older store lacks */
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW)
        rc = fn(arg, (const char *)sqlite3_column_text(stmt, 0),
                (const char *)sqlite3_column_text(stmt, 1));
    if (rc == 0 && step != SQLITE_DONE)
        rc = -1;
    sqlite3_finalize(stmt);
    return rc;
}

static int s_flush_notes(store_t *self);
static uint32_t s_noted(const store_t *self, const char *signal_id);

void store_destroy(store_t **self_p)
{
    if (self_p && *self_p) {
        store_t *self = *self_p;
        if (self->db && self->n_notes && !store_in_transaction(self) && store_begin(self) == 0) {
            /* Best effort: the submit counter is not a guarantee. */
            if (s_flush_notes(self) != 0 || store_commit(self) != 0)
                store_rollback(self);
        }
        for (size_t q = 0; q < Q_COUNT; q++)
            sqlite3_finalize(self->stmts[q]);
        sqlite3_close(self->db);
        free(self->notes);
        free(self);
        *self_p = NULL;
    }
}

/* Statement q: the prepared one, or (when that one is in use further up
   the stack) a new one that s_end finalizes. NULL on error. */
static sqlite3_stmt *s_stmt(store_t *self, query_t q, const char *sql)
{
    sqlite3_stmt *cached = self->stmts[q];
    if (cached && !sqlite3_stmt_busy(cached))
        return cached;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v3(self->db, sql, -1, cached ? 0 : SQLITE_PREPARE_PERSISTENT, &stmt,
                           NULL) != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return NULL;
    }
    if (!cached)
        self->stmts[q] = stmt;
    return stmt;
}

/* Done with a statement from s_stmt: resets the prepared one (and drops
   its bindings: content must not linger), finalizes any other. */
static void s_end(store_t *self, query_t q, sqlite3_stmt *stmt)
{
    if (!stmt)
        return;
    if (stmt == self->stmts[q]) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
    } else
        sqlite3_finalize(stmt);
}

/* Runs a statement without parameters or rows. 0 / -1. */
static int s_run(store_t *self, query_t q, const char *sql)
{
    sqlite3_stmt *stmt = s_stmt(self, q, sql);
    if (!stmt)
        return -1;
    int rc = sqlite3_step(stmt);
    s_end(self, q, stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

bool store_in_transaction(const store_t *self)
{
    return !sqlite3_get_autocommit(self->db);
}

/* Sets PRAGMA synchronous (outside a transaction only). A PRAGMA takes
   effect when prepared, so it is not kept as a prepared statement. */
static int s_synchronous(store_t *self, bool lazy)
{
    if (sqlite3_exec(self->db, lazy ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL", NULL,
                     NULL, NULL) != SQLITE_OK)
        return -1;
    self->lazy = lazy;
    return 0;
}

int store_begin(store_t *self)
{
    if (self->lazy && s_synchronous(self, false) != 0)
        return -1;
    return s_run(self, Q_BEGIN, "BEGIN IMMEDIATE");
}

int store_begin_lazy(store_t *self)
{
    if (!self->lazy && s_synchronous(self, true) != 0)
        return -1;
    return s_run(self, Q_BEGIN, "BEGIN IMMEDIATE");
}

int store_wipe_wal(store_t *self)
{
    if (store_in_transaction(self)) {
        self->wipe_pending = true;
        return 1;
    }
    /* No waiting: a reader (the CLI) holding an old snapshot makes it
       busy; the event loop must not stall for it. Tried again after the
       next commit. */
    sqlite3_busy_timeout(self->db, 0);
    int rc = sqlite3_wal_checkpoint_v2(self->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_busy_timeout(self->db, 5000);
    if (rc == SQLITE_OK) {
        self->wipe_pending = false;
        self->wal_pages = 0;
        return 0;
    }
    self->wipe_pending = true;
    return rc == SQLITE_BUSY ? 1 : -1;
}

void store_note_removed(store_t *self)
{
    if (store_in_transaction(self))
        self->removed_in_txn = true;
}

int store_checkpoint(store_t *self)
{
    if (self->wipe_pending)
        return store_wipe_wal(self) < 0 ? -1 : 1;
    if (self->wal_pages < STORE_WAL_CHECKPOINT_PAGES || store_in_transaction(self))
        return 0;
    /* PASSIVE: never waits for a reader (a `hartslag` CLI reading the
       database); what it could not copy is copied next time. */
    int rc = sqlite3_wal_checkpoint_v2(self->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    self->wal_pages = 0;
    return rc == SQLITE_OK ? 1 : -1;
}

int store_commit(store_t *self)
{
    /* Submits noted outside a transaction are counted with this one; if
       that fails the counter is a little low, never the transaction lost. */
    size_t noted = self->n_notes;
    if (noted && store_in_transaction(self))
        (void)s_flush_notes(self);
    if (s_run(self, Q_COMMIT, "COMMIT") != 0) {
        self->n_notes = noted;
        return -1;
    }
    if (self->removed_in_txn) {
        self->removed_in_txn = false;
        (void)store_wipe_wal(self); /* busy or failed: wipe_pending stays set */
    }
    /* Back to FULL at once, so that no autocommit write is lazy; should
       that fail, the next store_begin tries again. */
    if (self->lazy)
        (void)s_synchronous(self, false);
    return 0;
}

void store_rollback(store_t *self)
{
    self->removed_in_txn = false;
    if (store_in_transaction(self))
        (void)s_run(self, Q_ROLLBACK, "ROLLBACK");
    if (self->lazy)
        (void)s_synchronous(self, false);
}

int store_savepoint(store_t *self)
{
    return s_run(self, Q_SAVEPOINT, "SAVEPOINT item");
}

int store_release(store_t *self)
{
    return s_run(self, Q_RELEASE, "RELEASE item");
}

void store_rollback_to(store_t *self)
{
    if (store_in_transaction(self) && s_run(self, Q_ROLLBACK_TO, "ROLLBACK TO item") == 0)
        (void)s_run(self, Q_RELEASE, "RELEASE item");
}

const char *store_error(const store_t *self)
{
    return sqlite3_errmsg(self->db);
}

static void s_text(sqlite3_stmt *stmt, int index, const char *text)
{
    if (text)
        sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, index);
}

static void s_int(sqlite3_stmt *stmt, int index, uint64_t value)
{
    sqlite3_bind_int64(stmt, index, (sqlite3_int64)value);
}

/* Steps statement q (bound) that returns no rows, then s_end. 0 / -1. */
static int s_done(store_t *self, query_t q, sqlite3_stmt *stmt)
{
    if (!stmt)
        return -1;
    int rc = sqlite3_step(stmt);
    s_end(self, q, stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

static char *s_col_text(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    return text ? strdup((const char *)text) : NULL;
}

static uint64_t s_col_int(sqlite3_stmt *stmt, int col)
{
    return (uint64_t)sqlite3_column_int64(stmt, col);
}

static void s_col_id(sqlite3_stmt *stmt, int col, char out[STORE_ID_HEX])
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    snprintf(out, STORE_ID_HEX, "%s", text ? (const char *)text : "");
}

int store_audit(store_t *self, const store_audit_t *e)
{
    sqlite3_stmt *stmt =
        s_stmt(self, Q_AUDIT,
               "INSERT INTO audit (time_ms, event, signal_id, counterpart, actor_user,"
               " signal_type, purpose, reason) VALUES (?,?,?,?,?,?,?,?)");
    if (!stmt)
        return -1;
    s_int(stmt, 1, s_now_ms());
    s_text(stmt, 2, e->event);
    s_text(stmt, 3, e->signal_id);
    s_text(stmt, 4, e->counterpart);
    s_text(stmt, 5, e->actor_user);
    s_text(stmt, 6, e->signal_type);
    s_text(stmt, 7, e->purpose);
    s_text(stmt, 8, e->reason);
    return s_done(self, Q_AUDIT, stmt);
}

/* ---- outbox */

int store_outbox_add(store_t *self, const store_outbox_t *e)
{
    sqlite3_stmt *stmt =
        s_stmt(self, Q_OUTBOX_ADD,
               "INSERT INTO outbox (signal_id, sealed, recipients, signal_type, purpose,"
               " sender_user, state, created_ms, updated_ms) VALUES (?,?,?,?,?,?,?,?,?)");
    if (!stmt)
        return -1;
    s_text(stmt, 1, e->signal_id);
    sqlite3_bind_blob(stmt, 2, e->sealed, (int)e->sealed_len, SQLITE_TRANSIENT);
    s_text(stmt, 3, e->recipients);
    s_text(stmt, 4, e->signal_type);
    s_text(stmt, 5, e->purpose);
    s_text(stmt, 6, e->sender_user);
    s_text(stmt, 7, e->state);
    s_int(stmt, 8, e->created_ms);
    s_int(stmt, 9, e->created_ms);
    return s_done(self, Q_OUTBOX_ADD, stmt);
}

#define OUTBOX_COLS                                                                                \
    "signal_id, sealed, recipients, signal_type, purpose, sender_user, state, reason, detail,"     \
    " withdraw_reason, created_ms, updated_ms, accepted_ms, audit_index, submits,"                 \
    " (SELECT group_concat(o.recipient || '=' || CASE WHEN o.stored THEN 'stored'"                 \
    "   ELSE 'refused:' || COALESCE(o.reason, 'unspecified') END || '@' || o.at_ms, ' ')"          \
    "  FROM outcomes o WHERE o.signal_id = outbox.signal_id)"

static int s_outbox_row(sqlite3_stmt *stmt, store_outbox_t *out)
{
    memset(out, 0, sizeof *out);
    s_col_id(stmt, 0, out->signal_id);
    const void *blob = sqlite3_column_blob(stmt, 1);
    int blen = sqlite3_column_bytes(stmt, 1);
    if (blob && blen > 0) {
        out->sealed = malloc((size_t)blen);
        if (!out->sealed)
            return -1;
        memcpy(out->sealed, blob, (size_t)blen);
        out->sealed_len = (size_t)blen;
    }
    out->recipients = s_col_text(stmt, 2);
    out->signal_type = s_col_text(stmt, 3);
    out->purpose = s_col_text(stmt, 4);
    out->sender_user = s_col_text(stmt, 5);
    out->state = s_col_text(stmt, 6);
    out->reason = s_col_text(stmt, 7);
    out->detail = s_col_text(stmt, 8);
    out->withdraw_reason = s_col_text(stmt, 9);
    out->created_ms = s_col_int(stmt, 10);
    out->updated_ms = s_col_int(stmt, 11);
    out->accepted_ms = s_col_int(stmt, 12);
    out->audit_index = s_col_int(stmt, 13);
    out->submits = (uint32_t)s_col_int(stmt, 14);
    out->outcomes = s_col_text(stmt, 15);
    if (!out->recipients || !out->signal_type || !out->purpose || !out->sender_user ||
        !out->state) {
        store_outbox_clear(out);
        return -1;
    }
    return 0;
}

int store_outbox_get(store_t *self, const char *signal_id, store_outbox_t *out)
{
    sqlite3_stmt *stmt =
        s_stmt(self, Q_OUTBOX_GET, "SELECT " OUTBOX_COLS " FROM outbox WHERE signal_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, signal_id);
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_ROW    ? (s_outbox_row(stmt, out) == 0 ? 1 : -1)
                 : rc == SQLITE_DONE ? 0
                                     : -1;
    s_end(self, Q_OUTBOX_GET, stmt);
    if (result == 1)
        out->submits += s_noted(self, out->signal_id);
    return result;
}

int store_outbox_set_state(store_t *self, const char *signal_id, const char *state,
                           const char *reason, const char *detail, bool drop_sealed)
{
    sqlite3_stmt *stmt =
        s_stmt(self, Q_OUTBOX_STATE,
               "UPDATE outbox SET state = ?, reason = COALESCE(?, reason),"
               " detail = COALESCE(?, detail), updated_ms = ?,"
               " sealed = CASE WHEN ? THEN NULL ELSE sealed END WHERE signal_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, state);
    s_text(stmt, 2, reason);
    s_text(stmt, 3, detail);
    s_int(stmt, 4, s_now_ms());
    s_int(stmt, 5, drop_sealed ? 1 : 0);
    s_text(stmt, 6, signal_id);
    return s_done(self, Q_OUTBOX_STATE, stmt);
}

int store_outbox_seal(store_t *self, const char *signal_id, const uint8_t *sealed, size_t len)
{
    sqlite3_stmt *stmt = s_stmt(self, Q_OUTBOX_SEAL,
                                "UPDATE outbox SET sealed = ?, state = 'pending', updated_ms = ?"
                                " WHERE signal_id = ? AND state = 'pseudonym'");
    if (!stmt)
        return -1;
    sqlite3_bind_blob(stmt, 1, sealed, (int)len, SQLITE_TRANSIENT);
    s_int(stmt, 2, s_now_ms());
    s_text(stmt, 3, signal_id);
    if (s_done(self, Q_OUTBOX_SEAL, stmt) != 0)
        return -1;
    return sqlite3_changes(self->db) > 0 ? 1 : 0;
}

int store_outbox_set_accepted(store_t *self, const char *signal_id, uint64_t accepted_ms,
                              uint64_t audit_index)
{
    sqlite3_stmt *stmt =
        s_stmt(self, Q_OUTBOX_ACCEPTED,
               "UPDATE outbox SET state = 'accepted', accepted_ms = ?, audit_index = ?,"
               " updated_ms = ?, sealed = NULL WHERE signal_id = ?");
    if (!stmt)
        return -1;
    s_int(stmt, 1, accepted_ms);
    s_int(stmt, 2, audit_index);
    s_int(stmt, 3, s_now_ms());
    s_text(stmt, 4, signal_id);
    return s_done(self, Q_OUTBOX_ACCEPTED, stmt);
}

int store_outbox_accept(store_t *self, const char *signal_id, uint64_t accepted_ms,
                        uint64_t audit_index)
{
    /* The audit record is made from the entry itself: nothing to read
       first, and no record unless the entry was pending. */
    sqlite3_stmt *stmt = s_stmt(
        self, Q_AUDIT_ACCEPTED,
        "INSERT INTO audit (time_ms, event, signal_id, counterpart, actor_user, signal_type,"
        " purpose, reason) SELECT ?, 'accepted', signal_id, recipients, sender_user, signal_type,"
        " purpose, NULL FROM outbox WHERE signal_id = ? AND state = 'pending'");
    if (!stmt)
        return -1;
    s_int(stmt, 1, s_now_ms());
    s_text(stmt, 2, signal_id);
    if (s_done(self, Q_AUDIT_ACCEPTED, stmt) != 0)
        return -1;
    if (sqlite3_changes(self->db) == 0)
        return 0;
    return store_outbox_set_accepted(self, signal_id, accepted_ms, audit_index) == 0 ? 1 : -1;
}

int store_outbox_set_withdrawing(store_t *self, const char *signal_id, const char *reason)
{
    sqlite3_stmt *stmt = s_stmt(self, Q_OUTBOX_WITHDRAWING,
                                "UPDATE outbox SET state = 'withdrawing', withdraw_reason = ?,"
                                " updated_ms = ? WHERE signal_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, reason);
    s_int(stmt, 2, s_now_ms());
    s_text(stmt, 3, signal_id);
    return s_done(self, Q_OUTBOX_WITHDRAWING, stmt);
}

static int s_count_submit(store_t *self, const char *signal_id)
{
    sqlite3_stmt *stmt = s_stmt(self, Q_OUTBOX_SUBMIT,
                                "UPDATE outbox SET submits = submits + 1 WHERE signal_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, signal_id);
    return s_done(self, Q_OUTBOX_SUBMIT, stmt);
}

/* Writes the noted submits into the open transaction. 0 / -1 (the notes
   are dropped either way; store_commit restores them if it fails). */
static int s_flush_notes(store_t *self)
{
    int rc = 0;
    for (size_t i = 0; i < self->n_notes; i++)
        if (s_count_submit(self, self->notes[i]) != 0)
            rc = -1;
    self->n_notes = 0;
    return rc;
}

int store_outbox_count_submit(store_t *self, const char *signal_id)
{
    if (store_in_transaction(self))
        return s_count_submit(self, signal_id);
    /* Not worth a commit (and an fsync) of its own: noted, and counted
       with the next transaction. A crash before that loses the count. */
    if (!self->notes) {
        self->notes = calloc(STORE_SUBMIT_NOTES_MAX, sizeof *self->notes);
        if (!self->notes)
            return -1;
    }
    if (self->n_notes == STORE_SUBMIT_NOTES_MAX) {
        if (store_begin(self) != 0)
            return -1;
        if (s_flush_notes(self) != 0 || store_commit(self) != 0) {
            store_rollback(self);
            self->n_notes = 0;
            return -1;
        }
    }
    snprintf(self->notes[self->n_notes++], STORE_ID_HEX, "%s", signal_id);
    return 0;
}

/* Submits of `signal_id` noted but not yet written. */
static uint32_t s_noted(const store_t *self, const char *signal_id)
{
    uint32_t n = 0;
    for (size_t i = 0; i < self->n_notes; i++)
        if (strcmp(self->notes[i], signal_id) == 0)
            n++;
    return n;
}

int store_outbox_each(store_t *self, const char *state, store_outbox_fn *fn, void *arg)
{
    sqlite3_stmt *stmt =
        s_stmt(self, Q_OUTBOX_EACH,
               "SELECT " OUTBOX_COLS " FROM outbox WHERE state = ? ORDER BY created_ms");
    if (!stmt)
        return -1;
    s_text(stmt, 1, state);
    int result = 0, rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        store_outbox_t entry;
        if (s_outbox_row(stmt, &entry) != 0) {
            result = -1;
            break;
        }
        entry.submits += s_noted(self, entry.signal_id);
        int stop = fn(arg, &entry);
        store_outbox_clear(&entry);
        if (stop)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        result = -1;
    s_end(self, Q_OUTBOX_EACH, stmt);
    return result;
}

void store_outbox_clear(store_outbox_t *e)
{
    free(e->sealed);
    free(e->recipients);
    free(e->signal_type);
    free(e->purpose);
    free(e->sender_user);
    free(e->state);
    free(e->reason);
    free(e->detail);
    free(e->withdraw_reason);
    free(e->outcomes);
    memset(e, 0, sizeof *e);
}

/* ---- inbox */

int store_inbox_known(store_t *self, const char *signal_id, char why[16])
{
    sqlite3_stmt *stmt = s_stmt(self, Q_INBOX_KNOWN,
                                "SELECT 1, NULL FROM inbox WHERE signal_id = ?1"
                                " UNION ALL SELECT 2, why FROM gone WHERE signal_id = ?1");
    if (!stmt)
        return -1;
    s_text(stmt, 1, signal_id);
    int rc = sqlite3_step(stmt);
    int result = 0;
    if (rc == SQLITE_ROW) {
        result = sqlite3_column_int(stmt, 0);
        if (why) {
            const unsigned char *text = sqlite3_column_text(stmt, 1);
            snprintf(why, 16, "%s", text ? (const char *)text : "");
        }
    } else if (rc != SQLITE_DONE)
        result = -1;
    s_end(self, Q_INBOX_KNOWN, stmt);
    return result;
}

int store_inbox_add(store_t *self, const store_inbox_t *e)
{
    sqlite3_stmt *stmt =
        s_stmt(self, Q_INBOX_ADD,
               "INSERT INTO inbox (signal_id, sender, sender_user, signal_type, purpose, subject,"
               " fields, free_text, urgency, agreement_id, created_ms, valid_until_ms,"
               " accepted_ms, received_ms, retain_until_ms, hook_state, hook_attempts,"
               " hook_next_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!stmt)
        return -1;
    s_text(stmt, 1, e->signal_id);
    s_text(stmt, 2, e->sender);
    s_text(stmt, 3, e->sender_user);
    s_text(stmt, 4, e->signal_type);
    s_text(stmt, 5, e->purpose);
    s_text(stmt, 6, e->subject);
    s_text(stmt, 7, e->fields);
    s_text(stmt, 8, e->free_text);
    s_text(stmt, 9, e->urgency);
    s_text(stmt, 10, e->agreement_id);
    s_int(stmt, 11, e->created_ms);
    s_int(stmt, 12, e->valid_until_ms);
    s_int(stmt, 13, e->accepted_ms);
    s_int(stmt, 14, e->received_ms);
    s_int(stmt, 15, e->retain_until_ms);
    s_text(stmt, 16, e->hook_state);
    s_int(stmt, 17, e->hook_attempts);
    s_int(stmt, 18, e->hook_next_ms);
    return s_done(self, Q_INBOX_ADD, stmt);
}

#define INBOX_COLS                                                                                 \
    "signal_id, sender, sender_user, signal_type, purpose, subject, fields, free_text, urgency,"   \
    " agreement_id, created_ms, valid_until_ms, accepted_ms, received_ms, retain_until_ms,"        \
    " hook_state, hook_attempts, hook_next_ms, case_id, case_item, reshare_of"

static int s_inbox_row(sqlite3_stmt *stmt, store_inbox_t *out)
{
    memset(out, 0, sizeof *out);
    s_col_id(stmt, 0, out->signal_id);
    out->sender = s_col_text(stmt, 1);
    out->sender_user = s_col_text(stmt, 2);
    out->signal_type = s_col_text(stmt, 3);
    out->purpose = s_col_text(stmt, 4);
    out->subject = s_col_text(stmt, 5);
    out->fields = s_col_text(stmt, 6);
    out->free_text = s_col_text(stmt, 7);
    out->urgency = s_col_text(stmt, 8);
    out->agreement_id = s_col_text(stmt, 9);
    out->created_ms = s_col_int(stmt, 10);
    out->valid_until_ms = s_col_int(stmt, 11);
    out->accepted_ms = s_col_int(stmt, 12);
    out->received_ms = s_col_int(stmt, 13);
    out->retain_until_ms = s_col_int(stmt, 14);
    out->hook_state = s_col_text(stmt, 15);
    out->hook_attempts = (uint32_t)s_col_int(stmt, 16);
    out->hook_next_ms = s_col_int(stmt, 17);
    out->case_id = s_col_text(stmt, 18);
    out->case_item = s_col_text(stmt, 19);
    out->reshare_of = s_col_text(stmt, 20);
    if (!out->sender || !out->sender_user || !out->signal_type || !out->purpose || !out->subject ||
        !out->fields || !out->urgency || !out->hook_state) {
        store_inbox_clear(out);
        return -1;
    }
    return 0;
}

int store_inbox_get(store_t *self, const char *signal_id, store_inbox_t *out)
{
    sqlite3_stmt *stmt =
        s_stmt(self, Q_INBOX_GET, "SELECT " INBOX_COLS " FROM inbox WHERE signal_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, signal_id);
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_ROW    ? (s_inbox_row(stmt, out) == 0 ? 1 : -1)
                 : rc == SQLITE_DONE ? 0
                                     : -1;
    s_end(self, Q_INBOX_GET, stmt);
    return result;
}

int store_inbox_remove(store_t *self, const char *signal_id, const char *why)
{
    sqlite3_stmt *stmt = s_stmt(self, Q_INBOX_DELETE, "DELETE FROM inbox WHERE signal_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, signal_id);
    if (s_done(self, Q_INBOX_DELETE, stmt) != 0)
        return -1;
    int removed = sqlite3_changes(self->db) > 0;
    if (removed)
        self->removed_in_txn = true;
    stmt = s_stmt(self, Q_GONE_ADD,
                  "INSERT OR REPLACE INTO gone (signal_id, why, at_ms) VALUES (?,?,?)");
    if (!stmt)
        return -1;
    s_text(stmt, 1, signal_id);
    s_text(stmt, 2, why);
    s_int(stmt, 3, s_now_ms());
    if (s_done(self, Q_GONE_ADD, stmt) != 0)
        return -1;
    return removed;
}

static int s_inbox_query(store_t *self, query_t q, sqlite3_stmt *stmt, store_inbox_fn *fn,
                         void *arg)
{
    if (!stmt)
        return -1;
    int result = 0, rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        store_inbox_t entry;
        if (s_inbox_row(stmt, &entry) != 0) {
            result = -1;
            break;
        }
        int stop = fn(arg, &entry);
        store_inbox_clear(&entry);
        if (stop)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        result = -1;
    s_end(self, q, stmt);
    return result;
}

int store_inbox_each(store_t *self, size_t limit, store_inbox_fn *fn, void *arg)
{
    sqlite3_stmt *stmt =
        s_stmt(self, Q_INBOX_EACH,
               "SELECT " INBOX_COLS " FROM inbox ORDER BY received_ms DESC, signal_id LIMIT ?");
    if (stmt)
        sqlite3_bind_int64(stmt, 1, limit ? (sqlite3_int64)limit : -1);
    return s_inbox_query(self, Q_INBOX_EACH, stmt, fn, arg);
}

int store_inbox_each_expired(store_t *self, uint64_t now_ms, store_inbox_fn *fn, void *arg)
{
    sqlite3_stmt *stmt = s_stmt(self, Q_INBOX_EXPIRED,
                                "SELECT " INBOX_COLS " FROM inbox"
                                " WHERE retain_until_ms <= ?1 OR valid_until_ms <= ?1");
    if (stmt)
        s_int(stmt, 1, now_ms);
    return s_inbox_query(self, Q_INBOX_EXPIRED, stmt, fn, arg);
}

int store_inbox_next_hook(store_t *self, uint64_t now_ms, store_inbox_t *out)
{
    sqlite3_stmt *stmt = s_stmt(self, Q_INBOX_NEXT_HOOK,
                                "SELECT " INBOX_COLS " FROM inbox"
                                " WHERE hook_state = 'pending' AND hook_next_ms <= ?"
                                " ORDER BY hook_next_ms, received_ms LIMIT 1");
    if (!stmt)
        return -1;
    s_int(stmt, 1, now_ms);
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_ROW    ? (s_inbox_row(stmt, out) == 0 ? 1 : -1)
                 : rc == SQLITE_DONE ? 0
                                     : -1;
    s_end(self, Q_INBOX_NEXT_HOOK, stmt);
    return result;
}

int store_inbox_hook_result(store_t *self, const char *signal_id, bool ok, uint32_t attempts,
                            uint64_t next_ms)
{
    sqlite3_stmt *stmt =
        s_stmt(self, Q_INBOX_HOOK_RESULT,
               "UPDATE inbox SET hook_state = ?, hook_attempts = ?, hook_next_ms = ?"
               " WHERE signal_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, ok ? "done" : "pending");
    s_int(stmt, 2, attempts);
    s_int(stmt, 3, next_ms);
    s_text(stmt, 4, signal_id);
    return s_done(self, Q_INBOX_HOOK_RESULT, stmt);
}

static void s_free_wiped(char *text)
{
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
}

void store_inbox_clear(store_inbox_t *e)
{
    free(e->sender);
    free(e->sender_user);
    free(e->signal_type);
    free(e->purpose);
    free(e->subject);
    s_free_wiped(e->fields);
    s_free_wiped(e->free_text);
    free(e->urgency);
    free(e->agreement_id);
    free(e->hook_state);
    free(e->case_id);
    free(e->case_item);
    free(e->reshare_of);
    memset(e, 0, sizeof *e);
}

/* ---- alerts */

int store_alert_add(store_t *self, const char *alert_id, const char *rule_id, const char *subject,
                    const char *participants_json, const char *legal_basis, uint64_t raised_ms,
                    const char *state, const char *lead_org, const char *hook_json)
{
    sqlite3_stmt *stmt =
        s_stmt(self, Q_ALERT_ADD,
               "INSERT OR REPLACE INTO alerts (alert_id, rule_id, subject, participants,"
               " legal_basis, raised_ms, received_ms, state, lead_org, hook_json, hook_state)"
               " VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    if (!stmt)
        return -1;
    s_text(stmt, 1, alert_id);
    s_text(stmt, 2, rule_id);
    s_text(stmt, 3, subject);
    s_text(stmt, 4, participants_json);
    s_text(stmt, 5, legal_basis);
    s_int(stmt, 6, raised_ms);
    s_int(stmt, 7, s_now_ms());
    s_text(stmt, 8, state);
    s_text(stmt, 9, lead_org);
    s_text(stmt, 10, hook_json);
    s_text(stmt, 11, hook_json ? "pending" : "none");
    return s_done(self, Q_ALERT_ADD, stmt);
}

int store_alert_next_hook(store_t *self, uint64_t now_ms, char id[STORE_ID_HEX], char **json,
                          uint32_t *attempts)
{
    sqlite3_stmt *stmt = s_stmt(self, Q_ALERT_NEXT_HOOK,
                                "SELECT alert_id, hook_json, hook_attempts FROM alerts"
                                " WHERE hook_state = 'pending' AND hook_next_ms <= ?"
                                " ORDER BY hook_next_ms, received_ms LIMIT 1");
    if (!stmt)
        return -1;
    s_int(stmt, 1, now_ms);
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_DONE ? 0 : -1;
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) && sqlite3_column_text(stmt, 1)) {
        snprintf(id, STORE_ID_HEX, "%s", (const char *)sqlite3_column_text(stmt, 0));
        *json = strdup((const char *)sqlite3_column_text(stmt, 1));
        *attempts = (uint32_t)sqlite3_column_int(stmt, 2);
        result = *json ? 1 : -1;
    }
    s_end(self, Q_ALERT_NEXT_HOOK, stmt);
    return result;
}

int store_alert_hook_result(store_t *self, const char *alert_id, bool ok, uint32_t attempts,
                            uint64_t next_ms)
{
    sqlite3_stmt *stmt =
        s_stmt(self, Q_ALERT_HOOK_RESULT,
               "UPDATE alerts SET hook_state = ?, hook_attempts = ?, hook_next_ms = ?"
               " WHERE alert_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, ok ? "done" : "pending");
    s_int(stmt, 2, attempts);
    s_int(stmt, 3, next_ms);
    s_text(stmt, 4, alert_id);
    return s_done(self, Q_ALERT_HOOK_RESULT, stmt);
}

int store_alert_each(store_t *self, store_json_fn *fn, void *arg)
{
    sqlite3_stmt *stmt = s_stmt(self, Q_ALERT_EACH,
                                "SELECT alert_id, rule_id, subject, participants,"
                                " legal_basis, raised_ms, received_ms, state, lead_org"
                                " FROM alerts ORDER BY received_ms DESC");
    if (!stmt)
        return -1;
    int rc, result = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        strbuf_t json = {0};
        strbuf_puts(&json, "{\"kind\":\"alert\",\"alert_id\":");
        strbuf_json_string(&json, (const char *)sqlite3_column_text(stmt, 0));
        strbuf_puts(&json, ",\"rule_id\":");
        strbuf_json_string(&json, (const char *)sqlite3_column_text(stmt, 1));
        strbuf_puts(&json, ",\"subject\":");
        strbuf_json_string(&json, (const char *)sqlite3_column_text(stmt, 2));
        strbuf_puts(&json, ",\"participants\":");
        const unsigned char *participants = sqlite3_column_text(stmt, 3);
        strbuf_puts(&json, participants ? (const char *)participants : "[]");
        strbuf_puts(&json, ",\"legal_basis\":");
        strbuf_json_string(&json, (const char *)sqlite3_column_text(stmt, 4));
        strbuf_printf(&json, ",\"raised_at_ms\":%llu,\"received_at_ms\":%llu,\"state\":",
                      (unsigned long long)s_col_int(stmt, 5),
                      (unsigned long long)s_col_int(stmt, 6));
        strbuf_json_string(&json, (const char *)sqlite3_column_text(stmt, 7));
        strbuf_puts(&json, ",\"lead_org\":");
        strbuf_json_string(&json, (const char *)sqlite3_column_text(stmt, 8));
        strbuf_puts(&json, "}");
        int stop = strbuf_ok(&json) ? fn(arg, strbuf_text(&json)) : -1;
        strbuf_wipe(&json);
        if (stop) {
            result = stop < 0 ? -1 : 0;
            break;
        }
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        result = -1;
    s_end(self, Q_ALERT_EACH, stmt);
    return result;
}

int store_alert_participants(store_t *self, const char *alert_id, char **json)
{
    *json = NULL;
    sqlite3_stmt *stmt =
        s_stmt(self, Q_ALERT_PARTICIPANTS, "SELECT participants FROM alerts WHERE alert_id = ?");
    if (!stmt)
        return -1;
    s_text(stmt, 1, alert_id);
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_DONE ? 0 : -1;
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0)) {
        *json = strdup((const char *)sqlite3_column_text(stmt, 0));
        result = *json ? 1 : -1;
    }
    s_end(self, Q_ALERT_PARTICIPANTS, stmt);
    return result;
}

/* ---- hook events */

int store_hook_event_add(store_t *self, const char *signal_id, const char *kind, const char *json)
{
    sqlite3_stmt *stmt = s_stmt(self, Q_HOOK_EVENT_ADD,
                                "INSERT INTO hook_events (signal_id, kind, json, created_ms)"
                                " VALUES (?,?,?,?)");
    if (!stmt)
        return -1;
    s_text(stmt, 1, signal_id);
    s_text(stmt, 2, kind);
    s_text(stmt, 3, json);
    s_int(stmt, 4, s_now_ms());
    return s_done(self, Q_HOOK_EVENT_ADD, stmt);
}

int store_hook_event_next(store_t *self, uint64_t now_ms, store_hook_event_t *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *stmt = s_stmt(self, Q_HOOK_EVENT_NEXT,
                                "SELECT seq, signal_id, json, attempts, kind FROM hook_events"
                                " WHERE next_ms <= ? ORDER BY next_ms, seq LIMIT 1");
    if (!stmt)
        return -1;
    s_int(stmt, 1, now_ms);
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_DONE ? 0 : -1;
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 1) && sqlite3_column_text(stmt, 2)) {
        out->seq = sqlite3_column_int64(stmt, 0);
        snprintf(out->signal_id, sizeof out->signal_id, "%s",
                 (const char *)sqlite3_column_text(stmt, 1));
        out->json = strdup((const char *)sqlite3_column_text(stmt, 2));
        out->attempts = (uint32_t)sqlite3_column_int(stmt, 3);
        const unsigned char *kind = sqlite3_column_text(stmt, 4);
        snprintf(out->kind, sizeof out->kind, "%s", kind ? (const char *)kind : "");
        result = out->json ? 1 : -1;
    }
    s_end(self, Q_HOOK_EVENT_NEXT, stmt);
    return result;
}

int store_hook_event_result(store_t *self, int64_t seq, bool ok, uint32_t attempts,
                            uint64_t next_ms)
{
    sqlite3_stmt *stmt =
        ok ? s_stmt(self, Q_HOOK_EVENT_DONE, "DELETE FROM hook_events WHERE seq = ?1")
           : s_stmt(self, Q_HOOK_EVENT_RETRY,
                    "UPDATE hook_events SET attempts = ?2, next_ms = ?3 WHERE seq = ?1");
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, seq);
    if (!ok) {
        s_int(stmt, 2, attempts);
        s_int(stmt, 3, next_ms);
    }
    return s_done(self, ok ? Q_HOOK_EVENT_DONE : Q_HOOK_EVENT_RETRY, stmt);
}

int store_hook_events_pending(store_t *self, uint64_t *count, uint64_t *oldest_ms)
{
    sqlite3_stmt *stmt = s_stmt(self, Q_HOOK_EVENT_COUNT,
                                "SELECT COUNT(*), COALESCE(MIN(created_ms), 0) FROM hook_events");
    if (!stmt)
        return -1;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *count = s_col_int(stmt, 0);
        if (oldest_ms)
            *oldest_ms = s_col_int(stmt, 1);
    }
    s_end(self, Q_HOOK_EVENT_COUNT, stmt);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* ---- health (hartslag status) */

int store_probe(store_t *self, char *err, size_t errlen)
{
    if (store_in_transaction(self)) {
        snprintf(err, errlen, "a transaction is open");
        return -1;
    }
    sqlite3_stmt *stmt = NULL;
    if (store_begin(self) == 0 &&
        (stmt = s_stmt(self, Q_HEALTH_PROBE,
                       "INSERT OR REPLACE INTO meta (key, value) VALUES ('health_probe', ?)"))) {
        char now[24];
        snprintf(now, sizeof now, "%llu", (unsigned long long)s_now_ms());
        s_text(stmt, 1, now);
        if (s_done(self, Q_HEALTH_PROBE, stmt) == 0 && store_commit(self) == 0)
            return 0;
    }
    snprintf(err, errlen, "%s", sqlite3_errmsg(self->db));
    store_rollback(self);
    return -1;
}

int store_hook_backlog(store_t *self, uint64_t *pending, uint32_t *max_attempts)
{
    sqlite3_stmt *stmt =
        s_stmt(self, Q_HOOK_BACKLOG,
               "SELECT COUNT(*), COALESCE(MAX(a), 0) FROM ("
               " SELECT hook_attempts AS a FROM inbox WHERE hook_state = 'pending'"
               " UNION ALL SELECT hook_attempts FROM alerts WHERE hook_state = 'pending'"
               " UNION ALL SELECT attempts FROM hook_events)");
    if (!stmt)
        return -1;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *pending = s_col_int(stmt, 0);
        *max_attempts = (uint32_t)s_col_int(stmt, 1);
    }
    s_end(self, Q_HOOK_BACKLOG, stmt);
    return rc == SQLITE_ROW ? 0 : -1;
}

static int s_count(store_t *self, query_t q, const char *sql, uint64_t *out)
{
    sqlite3_stmt *stmt = s_stmt(self, q, sql);
    if (!stmt)
        return -1;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *out = s_col_int(stmt, 0);
    s_end(self, q, stmt);
    return rc == SQLITE_ROW ? 0 : -1;
}

int store_counts(store_t *self, store_counts_t *c)
{
    memset(c, 0, sizeof *c);
    int rc = 0;
    rc |= s_count(self, Q_COUNT_OUTBOX_PENDING,
                  "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'withdrawing')",
                  &c->outbox_pending);
    rc |= s_count(self, Q_COUNT_OUTBOX_WAITING,
                  "SELECT COUNT(*) FROM outbox WHERE state = 'pseudonym'", &c->outbox_waiting);
    rc |= s_count(self, Q_COUNT_OUTBOX_ACCEPTED,
                  "SELECT COUNT(*) FROM outbox WHERE state = 'accepted'", &c->outbox_accepted);
    rc |= s_count(self, Q_COUNT_OUTBOX_DENIED, "SELECT COUNT(*) FROM outbox WHERE state = 'denied'",
                  &c->outbox_denied);
    rc |= s_count(self, Q_COUNT_OUTBOX_OTHER,
                  "SELECT COUNT(*) FROM outbox WHERE state IN ('expired', 'withdrawn')",
                  &c->outbox_other);
    rc |= s_count(self, Q_COUNT_STORED, "SELECT COUNT(*) FROM outcomes WHERE stored",
                  &c->recipients_stored);
    rc |= s_count(self, Q_COUNT_REFUSED, "SELECT COUNT(*) FROM outcomes WHERE NOT stored",
                  &c->recipients_refused);
    /* Recipients of accepted signals that have not answered yet. */
    rc |= s_count(self, Q_COUNT_QUEUED,
                  "SELECT MAX(0, COALESCE(SUM(length(recipients) -"
                  " length(replace(recipients, ',', '')) + 1), 0) - (SELECT COUNT(*) FROM"
                  " outcomes o JOIN outbox b ON b.signal_id = o.signal_id"
                  " WHERE b.state = 'accepted')) FROM outbox WHERE state = 'accepted'",
                  &c->recipients_queued);
    rc |= s_count(self, Q_COUNT_INBOX, "SELECT COUNT(*) FROM inbox", &c->inbox);
    rc |=
        s_count(self, Q_COUNT_INBOX_HOOK, "SELECT COUNT(*) FROM inbox WHERE hook_state = 'pending'",
                &c->inbox_hook_pending);
    rc |= s_count(self, Q_COUNT_ALERTS, "SELECT COUNT(*) FROM alerts", &c->alerts);
    rc |= s_count(self, Q_COUNT_CHECKPOINT, "SELECT COALESCE(MAX(size), 0) FROM checkpoints",
                  &c->checkpoint_size);
    /* An unproven checkpoint is kept too, but it is not an inconsistency. */
    rc |= s_count(self, Q_COUNT_EVIDENCE,
                  "SELECT COUNT(*) FROM checkpoint_evidence WHERE kind <> 'unproven'",
                  &c->checkpoint_evidence);
    return rc ? -1 : 0;
}

int store_outcome_add(store_t *self, const char *signal_id, const char *recipient, bool stored,
                      const char *reason, uint64_t at_ms)
{
    sqlite3_stmt *stmt = s_stmt(self, Q_OUTCOME_ADD,
                                "INSERT OR IGNORE INTO outcomes (signal_id, recipient, stored,"
                                " reason, at_ms) VALUES (?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    s_text(stmt, 1, signal_id);
    s_text(stmt, 2, recipient);
    s_int(stmt, 3, stored ? 1 : 0);
    s_text(stmt, 4, stored ? NULL : reason);
    s_int(stmt, 5, at_ms);
    if (s_done(self, Q_OUTCOME_ADD, stmt) != 0)
        return -1;
    return sqlite3_changes(self->db) > 0 ? 1 : 0;
}

int store_audit_each(store_t *self, size_t limit, store_json_fn *fn, void *arg)
{
    sqlite3_stmt *stmt =
        s_stmt(self, Q_AUDIT_EACH,
               "SELECT seq, time_ms, event, signal_id, counterpart, actor_user,"
               " signal_type, purpose, reason FROM audit ORDER BY seq DESC LIMIT ?");
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, limit ? (sqlite3_int64)limit : -1);
    static const char *names[] = {"seq",         "time_ms",     "event",
                                  "signal_id",   "counterpart", "actor_user",
                                  "signal_type", "purpose",     "reason"};
    int rc, result = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        strbuf_t json = {0};
        strbuf_printf(&json, "{\"seq\":%llu,\"time_ms\":%llu",
                      (unsigned long long)s_col_int(stmt, 0),
                      (unsigned long long)s_col_int(stmt, 1));
        for (int col = 2; col < 9; col++) {
            const unsigned char *text = sqlite3_column_text(stmt, col);
            if (!text)
                continue;
            strbuf_printf(&json, ",\"%s\":", names[col]);
            strbuf_json_string(&json, (const char *)text);
        }
        strbuf_puts(&json, "}");
        int stop = strbuf_ok(&json) ? fn(arg, strbuf_text(&json)) : -1;
        strbuf_wipe(&json);
        if (stop) {
            result = stop < 0 ? -1 : 0;
            break;
        }
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        result = -1;
    s_end(self, Q_AUDIT_EACH, stmt);
    return result;
}

int store_checkpoint_latest(store_t *self, uint64_t *size, unsigned char root[32])
{
    sqlite3_stmt *stmt = s_stmt(self, Q_CHECKPOINT_LATEST,
                                "SELECT size, root FROM checkpoints ORDER BY size DESC LIMIT 1");
    if (!stmt)
        return -1;
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_DONE ? 0 : -1;
    if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 1) == 32) {
        *size = (uint64_t)sqlite3_column_int64(stmt, 0);
        memcpy(root, sqlite3_column_blob(stmt, 1), 32);
        result = 1;
    }
    s_end(self, Q_CHECKPOINT_LATEST, stmt);
    return result;
}

int store_checkpoint_add(store_t *self, uint64_t size, const char *note, size_t note_len,
                         const unsigned char root[32])
{
    sqlite3_stmt *stmt = s_stmt(self, Q_CHECKPOINT_ADD,
                                "INSERT OR IGNORE INTO checkpoints (size, note, root, received_ms) "
                                "VALUES (?1, ?2, ?3, ?4)");
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, (int64_t)size);
    sqlite3_bind_text(stmt, 2, note, (int)note_len, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 3, root, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, (int64_t)s_now_ms());
    return s_done(self, Q_CHECKPOINT_ADD, stmt);
}

int store_checkpoint_evidence(store_t *self, const char *kind, uint64_t held_size,
                              uint64_t new_size, const char *note, size_t note_len,
                              const void *proof, size_t proof_len)
{
    sqlite3_stmt *stmt = s_stmt(self, Q_CHECKPOINT_EVIDENCE,
                                "INSERT INTO checkpoint_evidence (received_ms, kind, held_size, "
                                "new_size, note, proof) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, (int64_t)s_now_ms());
    sqlite3_bind_text(stmt, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, (int64_t)held_size);
    sqlite3_bind_int64(stmt, 4, (int64_t)new_size);
    sqlite3_bind_text(stmt, 5, note, (int)note_len, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 6, proof, (int)proof_len, SQLITE_STATIC);
    return s_done(self, Q_CHECKPOINT_EVIDENCE, stmt);
}

struct sqlite3 *store_db(store_t *self)
{
    return self->db;
}
