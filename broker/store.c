/*  store: the broker's store, its connection, transaction and schema; see
    store.h. */
#include "store_internal.h"

#include "fileio.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SQLite's settings of the broker's connection (lib/db already runs it in
   WAL mode with synchronous=FULL). A 64 MiB page cache keeps the hot pages
   (pending deliveries, the newest audit leaves and nodes) out of the
   commit's way, and a larger WAL moves most checkpointing out of the
   commits (bench/RESULTS.md). */
static const char *s_sqlite_settings = "PRAGMA cache_size=-65536;"
                                       "PRAGMA wal_autocheckpoint=10000;";

/* The version row, created before anything else so that a newer store is
   refused before this broker touches it. The audit store may keep its own
   row in the same table. */
static const char *s_version_table = "CREATE TABLE IF NOT EXISTS schema_version("
                                     "  component TEXT PRIMARY KEY,"
                                     "  version BIGINT NOT NULL)";

/* Case conferences (issue 15, broker/store_case.h), in both dialects:
   metadata only, never a title or anything said in a case. */
#define CASE_TABLES(BLOB, INT, SUFFIX)                                                             \
    "CREATE TABLE IF NOT EXISTS cases("                                                            \
    "  case_id " BLOB " PRIMARY KEY,"                                                              \
    "  kind TEXT NOT NULL,"                                                                        \
    "  coordinator TEXT NOT NULL,"                                                                 \
    "  subject " BLOB " NOT NULL,"                                                                 \
    "  opened_at " INT " NOT NULL,"                                                                \
    "  closed_at " INT ","                                                                         \
    "  outcome TEXT,"                                                                              \
    "  meeting_date TEXT,"                                                                         \
    "  audit_index " INT " NOT NULL)" SUFFIX ";"                                                   \
    "CREATE TABLE IF NOT EXISTS case_participants("                                                \
    "  case_id " BLOB " NOT NULL,"                                                                 \
    "  org TEXT NOT NULL,"                                                                         \
    "  position " INT " NOT NULL,"                                                                 \
    "  state " INT " NOT NULL,"                                                                    \
    "  since " INT " NOT NULL,"                                                                    \
    "  invited_by " BLOB " NOT NULL,"                                                              \
    "  state_by " BLOB " NOT NULL,"                                                                \
    "  PRIMARY KEY(case_id, org))" SUFFIX ";"                                                      \
    "CREATE TABLE IF NOT EXISTS case_actions("                                                     \
    "  action_id " BLOB " PRIMARY KEY,"                                                            \
    "  case_id " BLOB " NOT NULL,"                                                                 \
    "  actor TEXT NOT NULL,"                                                                       \
    "  digest " BLOB " NOT NULL,"                                                                  \
    "  action " BLOB " NOT NULL,"                                                                  \
    "  signature " BLOB " NOT NULL,"                                                               \
    "  at_ms " INT " NOT NULL,"                                                                    \
    "  audit_index " INT " NOT NULL)" SUFFIX ";"                                                   \
    "CREATE TABLE IF NOT EXISTS case_items("                                                       \
    "  case_id " BLOB " NOT NULL,"                                                                 \
    "  item_id " BLOB " NOT NULL,"                                                                 \
    "  owner TEXT NOT NULL,"                                                                       \
    "  due_date TEXT NOT NULL,"                                                                    \
    "  planned_at " INT " NOT NULL,"                                                               \
    "  done_at_ms " INT ","                                                                        \
    "  PRIMARY KEY(case_id, item_id))" SUFFIX ";"

/* The schema, version BROKER_STORE_SCHEMA_VERSION, for SQLite. */
static const char *s_schema_sqlite =
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
    "  org TEXT NOT NULL) WITHOUT ROWID;"
    /* The match index (store_match.h). A rowid table: appending is cheap,
       and the one index is the one the matching reads. A withdrawal finds
       its row through the subject. */
    "CREATE TABLE IF NOT EXISTS match_index("
    "  signal_id BLOB NOT NULL,"
    "  subject BLOB NOT NULL,"
    "  sender TEXT NOT NULL,"
    "  signal_type TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  valid_until INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS match_by_subject ON match_index(subject, at_ms);"
    "CREATE TABLE IF NOT EXISTS match_state("
    "  rule_id TEXT NOT NULL,"
    "  subject BLOB NOT NULL,"
    "  members TEXT NOT NULL,"
    "  PRIMARY KEY(rule_id, subject)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS alerts("
    "  alert_id BLOB PRIMARY KEY,"
    "  rule_id TEXT NOT NULL,"
    "  subject BLOB NOT NULL,"
    "  raised_ms INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"
    "  lead_org TEXT,"
    "  handled_ms INTEGER) WITHOUT ROWID;" CASE_TABLES("BLOB", "INTEGER", " WITHOUT ROWID");

/* The same schema for PostgreSQL (not yet tested: lib/db has no
   PostgreSQL backend yet). */
static const char *s_schema_postgresql =
    "CREATE TABLE IF NOT EXISTS signals("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  signal_id BYTEA NOT NULL UNIQUE,"
    "  sender TEXT NOT NULL,"
    "  signal_type TEXT NOT NULL,"
    "  purpose TEXT NOT NULL,"
    "  subject BYTEA NOT NULL,"
    "  digest BYTEA NOT NULL,"
    "  sealed BYTEA,"
    "  accepted_at BIGINT NOT NULL,"
    "  valid_until BIGINT NOT NULL,"
    "  audit_index BIGINT NOT NULL,"
    "  withdrawn BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS deliveries("
    "  seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  signal_id BYTEA NOT NULL,"
    "  recipient TEXT NOT NULL,"
    "  state BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  delivered_index BIGINT,"
    "  UNIQUE(signal_id, recipient));"
    "CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries(recipient, seq) WHERE state=0;"
    "CREATE INDEX IF NOT EXISTS deliveries_expiry ON deliveries(expires_at) WHERE state=0;"
    "CREATE TABLE IF NOT EXISTS notices("
    "  seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  org TEXT NOT NULL,"
    "  kind BIGINT NOT NULL,"
    "  signal_id BYTEA NOT NULL,"
    "  frame BYTEA NOT NULL,"
    "  UNIQUE(org, kind, signal_id));"
    "CREATE TABLE IF NOT EXISTS broker_meta("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS agreements_history("
    "  seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  version BIGINT NOT NULL,"
    "  sha256 BYTEA NOT NULL UNIQUE,"
    "  took_effect_at BIGINT NOT NULL,"
    "  file BYTEA NOT NULL);"
    "CREATE TABLE IF NOT EXISTS agreements_signatures("
    "  sha256 BYTEA NOT NULL,"
    "  signer TEXT NOT NULL,"
    "  signature BYTEA NOT NULL,"
    "  PRIMARY KEY(sha256, signer));"
    "CREATE TABLE IF NOT EXISTS partners_seen("
    "  curve_key BYTEA PRIMARY KEY,"
    "  org TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS match_index("
    "  signal_id BYTEA NOT NULL,"
    "  subject BYTEA NOT NULL,"
    "  sender TEXT NOT NULL,"
    "  signal_type TEXT NOT NULL,"
    "  at_ms BIGINT NOT NULL,"
    "  valid_until BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS match_by_subject ON match_index(subject, at_ms);"
    "CREATE TABLE IF NOT EXISTS match_state("
    "  rule_id TEXT NOT NULL,"
    "  subject BYTEA NOT NULL,"
    "  members TEXT NOT NULL,"
    "  PRIMARY KEY(rule_id, subject));"
    "CREATE TABLE IF NOT EXISTS alerts("
    "  alert_id BYTEA PRIMARY KEY,"
    "  rule_id TEXT NOT NULL,"
    "  subject BYTEA NOT NULL,"
    "  raised_ms BIGINT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  lead_org TEXT,"
    "  handled_ms BIGINT);" CASE_TABLES("BYTEA", "BIGINT", "");

#define SQL_VERSION_GET "SELECT version FROM schema_version WHERE component = $1"
#define SQL_VERSION_SET                                                                            \
    "INSERT INTO schema_version(component, version) VALUES($1, $2) "                               \
    "ON CONFLICT (component) DO UPDATE SET version = excluded.version"
#define VERSION_COMPONENT "broker"

const char *broker_store_sqlite_path(const char *location)
{
    if (strncmp(location, "sqlite:", 7) == 0)
        return location + 7;
    return strstr(location, "://") ? NULL : location;
}

int broker_store_location(const char *setting, const char *state_dir, const char *base_dir,
                          char *out, size_t outlen, char *err, size_t errlen)
{
    int n;
    if (!setting || !*setting)
        n = snprintf(out, outlen, "sqlite:%s/broker.db", state_dir);
    else if (strncmp(setting, "postgresql://", 13) == 0 || strncmp(setting, "postgres://", 11) == 0)
        n = snprintf(out, outlen, "%s", setting);
    else {
        const char *path = broker_store_sqlite_path(setting);
        if (!path) {
            snprintf(err, errlen,
                     "store: unknown location '%.64s' (sqlite:PATH, a path, or postgresql://...)",
                     setting);
            return -1;
        }
        if (!*path) {
            snprintf(err, errlen,
                     "store: sqlite: needs a file path (sqlite:/var/lib/hartslag/"
                     "broker.db)");
            return -1;
        }
        if (path[0] != '/' && base_dir && *base_dir)
            n = snprintf(out, outlen, "sqlite:%s/%s", base_dir, path);
        else
            n = snprintf(out, outlen, "sqlite:%s", path);
    }
    if (n < 0 || (size_t)n >= outlen) {
        snprintf(err, errlen, "store: the location is too long");
        return -1;
    }
    return 0;
}

/* The version row: 1 and *version, 0 when there is none, -1 on error. */
static int s_version_read(broker_store_t *self, int64_t *version)
{
    db_stmt_t *st = db_prepare(self->db, SQL_VERSION_GET);
    if (!st || db_bind_text(st, 1, VERSION_COMPONENT) != 0)
        return -1;
    db_step_t rc = db_step(st);
    if (rc == DB_ROW)
        *version = db_column_int64(st, 0);
    db_reset(st);
    return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int64_t broker_store_schema_version(broker_store_t *self)
{
    int64_t version = 0;
    int found = s_version_read(self, &version);
    return found < 0 ? -1 : version;
}

/* A SQLite store from before the version row (version 0) that predates
   the `delivered` record's index gets the column; its old deliveries stay
   without one and are found by the subject-index search
   (broker/inclusion.c). A PostgreSQL store is never older than the row. */
static int s_migrate_unversioned(broker_store_t *self)
{
    if (!self->sqlite)
        return 0;
    if (db_prepare(self->db, "SELECT delivered_index FROM deliveries LIMIT 0"))
        return 0;
    return db_exec(self->db, "ALTER TABLE deliveries ADD COLUMN delivered_index INTEGER");
}

/* Creates the schema or brings it to this broker's version, in one
   transaction. 0, or -1 with the reason. */
static int s_schema(broker_store_t *self, const char *shown, char *err, size_t errlen)
{
    /* Two brokers starting on one PostgreSQL store at once: one creates
       the schema, the other waits for its commit (the lock goes with the
       transaction). */
    if (broker_store_begin(self) != 0 ||
        (!self->sqlite &&
         db_exec(self->db, "SELECT pg_advisory_xact_lock(4851570277626245478)") != 0) ||
        db_exec(self->db, s_version_table) != 0) {
        snprintf(err, errlen, "cannot open broker store %s: %s", shown, db_errmsg(self->db));
        broker_store_rollback(self);
        return -1;
    }
    int64_t version = 0;
    int found = s_version_read(self, &version);
    if (found < 0) {
        snprintf(err, errlen, "cannot read the schema version of broker store %s: %s", shown,
                 db_errmsg(self->db));
        broker_store_rollback(self);
        return -1;
    }
    if (found && version > BROKER_STORE_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "broker store %s has schema version %lld, newer than this hartslag-broker "
                 "knows (%d): run the release that wrote it, or a newer one",
                 shown, (long long)version, BROKER_STORE_SCHEMA_VERSION);
        broker_store_rollback(self);
        return -1;
    }
    int rc = db_exec(self->db, self->sqlite ? s_schema_sqlite : s_schema_postgresql);
    if (rc == 0 && !found)
        rc = s_migrate_unversioned(self);
    /* Later versions migrate here, one step at a time from `version`.
       Version 2 (issue 15) only adds the case tables, and version 3 the
       plan's items (case_items), which the schema text above creates when
       they are missing. */
    if (rc == 0 && (!found || version != BROKER_STORE_SCHEMA_VERSION)) {
        db_stmt_t *st = db_prepare(self->db, SQL_VERSION_SET);
        rc = st && db_bind_text(st, 1, VERSION_COMPONENT) == 0 &&
                     db_bind_int64(st, 2, BROKER_STORE_SCHEMA_VERSION) == 0
                 ? db_run(st)
                 : -1;
    }
    if (rc == 0)
        rc = broker_store_commit(self);
    if (rc != 0) {
        snprintf(err, errlen, "cannot %s broker store %s (schema version %lld to %d): %s",
                 found ? "upgrade" : "create the schema of", shown, (long long)version,
                 BROKER_STORE_SCHEMA_VERSION, db_errmsg(self->db));
        broker_store_rollback(self);
        return -1;
    }
    if (found && version != BROKER_STORE_SCHEMA_VERSION) {
        char from[24], to[24];
        snprintf(from, sizeof from, "%lld", (long long)version);
        snprintf(to, sizeof to, "%d", BROKER_STORE_SCHEMA_VERSION);
        log_event(HLOG_INFO, "store_upgraded", "from", from, "to", to, NULL);
    }
    return 0;
}

broker_store_t *broker_store_open(const char *location, char *err, size_t errlen)
{
    broker_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *path = broker_store_sqlite_path(location);
    if (path && *path) {
        bool narrowed = false;
        if (fileio_private_db(path, &narrowed, err, errlen) != 0) {
            broker_store_destroy(&self);
            return NULL;
        }
        if (narrowed)
            log_event(HLOG_WARN, "state_file_narrowed", "file", path, "mode", "0600", NULL);
    }
    /* Messages name the location without its password: they are logged. */
    char shown[512];
    db_location_shown(location, shown, sizeof shown);
    char why[512];
    self->db = db_open(location, DB_CREATE, why, sizeof why);
    if (!self->db) {
        snprintf(err, errlen, "cannot open broker store %s: %s", shown, why);
        broker_store_destroy(&self);
        return NULL;
    }
    self->sqlite = strcmp(db_backend(self->db), "sqlite") == 0;
    /* SQLite: take the write lock at the start of the turn, so a turn never
       fails half-way on a lock another connection took meanwhile. */
    self->begin = self->sqlite ? db_prepare(self->db, "BEGIN IMMEDIATE") : NULL;
    if ((self->sqlite && (!self->begin || db_exec(self->db, s_sqlite_settings) != 0))) {
        snprintf(err, errlen, "cannot open broker store %s: %s", shown, db_errmsg(self->db));
        broker_store_destroy(&self);
        return NULL;
    }
    if (s_schema(self, shown, err, errlen) != 0 || store_queue_prepare(self, err, errlen) != 0 ||
        store_match_prepare(self, err, errlen) != 0) {
        broker_store_destroy(&self);
        return NULL;
    }
    return self;
}

void broker_store_destroy(broker_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    broker_store_t *self = *self_p;
    wal_checkpointer_destroy(&self->checkpointer);
    db_close(&self->db); /* finalizes the statements */
    free(self->absent);
    free(self);
    *self_p = NULL;
}

const char *broker_store_error(const broker_store_t *self)
{
    return db_errmsg(self->db);
}

db_t *broker_store_db(broker_store_t *self)
{
    return self->db;
}

int broker_store_begin(broker_store_t *self)
{
    store_queue_forget_absent(self);
    return self->begin ? db_run(self->begin) : db_begin(self->db);
}

int broker_store_commit(broker_store_t *self)
{
    store_queue_forget_absent(self);
    return db_commit(self->db);
}

void broker_store_rollback(broker_store_t *self)
{
    store_queue_forget_absent(self);
    db_rollback(self->db);
}

int broker_store_checkpoints_start(broker_store_t *self, int interval_ms, uint64_t min_bytes,
                                   char *err, size_t errlen)
{
    if (!self->sqlite || self->checkpointer)
        return 0;
    self->checkpointer =
        wal_checkpointer_new(db_path(self->db), interval_ms, min_bytes, err, errlen);
    return self->checkpointer ? 0 : -1;
}

uint64_t broker_store_checkpoint_runs(const broker_store_t *self)
{
    return self->checkpointer ? wal_checkpointer_runs(self->checkpointer) : 0;
}

uint64_t broker_store_checkpoint_failures(const broker_store_t *self)
{
    return self->checkpointer ? wal_checkpointer_failures(self->checkpointer) : 0;
}
