/*  migrate: moves a broker store from SQLite to PostgreSQL; see migrate.h. */
#include "migrate.h"

#include "store.h"

#include "audit_log.h"
#include "audit_store.h"
#include "db.h"
#include "merkle.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PARAMS_PER_INSERT 1000 /* parameters of one multi-row INSERT (lib/db_pg: $1000 at most) */
#define ROWS_PER_INSERT 200    /* and at most this many rows */
#define PROGRESS_EVERY 50000   /* a progress line per this many rows of a table */
#define LOCK_WAIT_MS 1000      /* the source's lock: a broker holds it for good */

/* A table the store owns and this module copies: its columns and their
   kinds (i integer, b blob, t text), and the identity column PostgreSQL
   must continue after the copied maximum. The schema itself is the
   store's (broker/store.c, lib/audit_store.c). */
typedef struct {
    const char *name;
    const char *columns;
    const char *kinds;
    const char *identity;
} table_t;

static const table_t s_tables[] = {
    {"broker_meta", "key, value", "tt", NULL},
    {"partners_seen", "curve_key, org", "bt", NULL},
    {"agreements_history", "seq, version, sha256, took_effect_at, file", "iibib", "seq"},
    {"agreements_signatures", "sha256, signer, signature", "btb", NULL},
    {"signals",
     "id, signal_id, sender, signal_type, purpose, subject, digest, sealed, accepted_at, "
     "valid_until, audit_index, withdrawn",
     "ibtttbbbiiii", "id"},
    {"deliveries", "seq, signal_id, recipient, state, expires_at, delivered_index", "ibtiii",
     "seq"},
    {"notices", "seq, org, kind, signal_id, frame", "itibb", "seq"},
    {"match_index", "signal_id, subject, sender, signal_type, at_ms, valid_until", "bbttii", NULL},
    {"match_state", "rule_id, subject, members", "tbt", NULL},
    {"alerts", "alert_id, rule_id, subject, raised_ms, state, lead_org, handled_ms", "btbitti",
     NULL},
    {"cases",
     "case_id, kind, coordinator, subject, opened_at, closed_at, outcome, meeting_date, "
     "audit_index",
     "bttbiitti", NULL},
    {"case_participants", "case_id, org, position, state, since, invited_by, state_by", "btiiibb",
     NULL},
    {"case_actions", "action_id, case_id, actor, digest, action, signature, at_ms, audit_index",
     "bbtbbbii", NULL},
    {"case_items", "case_id, item_id, owner, due_date, planned_at, done_at_ms", "bbttii", NULL},
    {"audit_meta", "key, value", "tt", NULL},
    {"audit", "idx, record, leaf", "ibb", NULL},
    {"audit_nodes", "level, idx, hash", "iib", NULL},
    {"checkpoints", "size, note, made_ms", "iti", NULL},
    {"cosignatures", "size, org, line, received_ms", "itti", NULL},
    {"audit_subjects", "seg, tag, idx", "iii", NULL},
};
#define N_TABLES (sizeof s_tables / sizeof s_tables[0])
#define VERSION_TABLE "schema_version" /* made and filled by broker_store_open */

typedef struct {
    const char *from, *to;
    char shown[512]; /* `to` without its password */
    FILE *out;
    struct timespec t0;
    db_t *src;
    broker_store_t *target; /* the target's store, while copying */
    bool created;           /* the target's tables are ours to drop on failure */
    bool in_source[N_TABLES];
    int64_t rows[N_TABLES];
    int64_t next_id[N_TABLES]; /* identity: the largest value used so far */
    uint64_t size;             /* the audit tree on the source */
    unsigned char root[MERKLE_HASHBYTES];
} job_t;

static double s_elapsed(const job_t *job)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - job->t0.tv_sec) + (double)(now.tv_nsec - job->t0.tv_nsec) / 1e9;
}

static void s_hex(const unsigned char *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * len] = '\0';
}

/* A message of another module that names the location: the location
   replaced by its shown form. */
static void s_scrub(const job_t *job, char *msg, size_t len)
{
    char *at = strstr(msg, job->to);
    if (!at || strcmp(job->to, job->shown) == 0)
        return;
    char rest[1024];
    snprintf(rest, sizeof rest, "%s", at + strlen(job->to));
    snprintf(at, len - (size_t)(at - msg), "%s%s", job->shown, rest);
}

static int s_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
    return -1;
}

/* One integer answer of `sql` on `db`: 0 (in *value, 0 when NULL or no
   row) or -1. */
static int s_int(db_t *db, const char *sql, int64_t *value)
{
    db_stmt_t *st = db_prepare(db, sql);
    if (!st)
        return -1;
    db_step_t rc = db_step(st);
    *value = rc == DB_ROW && !db_column_is_null(st, 0) ? db_column_int64(st, 0) : 0;
    db_reset(st);
    return rc == DB_ERROR ? -1 : 0;
}

static int s_table_index(const char *name)
{
    for (size_t i = 0; i < N_TABLES; i++)
        if (strcmp(s_tables[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The store's tables present in `db` (the caller's schema): *n names into
   `found`, and the first table no entry of s_tables names into
   `unknown` ("" when none). 0 or -1. */
static int s_tables_present(db_t *db, bool sqlite, char found[][32], size_t *n, char *unknown,
                            size_t unknown_len)
{
    const char *sql = sqlite ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
                               "LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
                             : "SELECT table_name FROM information_schema.tables WHERE "
                               "table_schema = current_schema() ORDER BY table_name";
    db_stmt_t *st = db_prepare(db, sql);
    if (!st)
        return -1;
    *n = 0;
    unknown[0] = '\0';
    db_step_t rc;
    while ((rc = db_step(st)) == DB_ROW) {
        const char *name = db_column_text(st, 0);
        if (!name)
            continue;
        bool ours = s_table_index(name) >= 0 || strcmp(name, VERSION_TABLE) == 0;
        if (ours && *n < N_TABLES + 1)
            snprintf(found[(*n)++], 32, "%s", name);
        else if (!ours && !unknown[0])
            snprintf(unknown, unknown_len, "%.63s", name);
    }
    db_reset(st);
    return rc == DB_DONE ? 0 : -1;
}

/* ---- the source --------------------------------------------------------- */

/* Opens the source, takes it for the whole run and reads what the copy
   and the verification need. */
static int s_source(job_t *job, char *err, size_t errlen)
{
    char why[512];
    job->src = db_open(job->from, 0, why, sizeof why);
    if (!job->src)
        return s_fail(err, errlen, "cannot open the source %s: %s", job->from, why);
    if (strcmp(db_backend(job->src), "sqlite") != 0)
        return s_fail(err, errlen, "the source must be a SQLite store (sqlite:FILE)");
    /* Exclusive locking mode: the write transaction below takes the file
       for this connection alone, and fails while any other connection
       has it open (SQLite's WAL mode keeps a shared lock per connection). */
    db_set_busy_timeout(job->src, LOCK_WAIT_MS);
    if (db_exec(job->src, "PRAGMA locking_mode=EXCLUSIVE") != 0 ||
        db_exec(job->src, "BEGIN IMMEDIATE") != 0 ||
        db_exec(job->src, "SELECT COUNT(*) FROM sqlite_master") != 0) {
        if (db_error(job->src) == DB_ERR_BUSY)
            return s_fail(err, errlen,
                          "the source %s is in use: a running broker (or another program) "
                          "has it open; stop the broker, then run migrate again",
                          job->from);
        return s_fail(err, errlen, "cannot take the source %s: %s", job->from, db_errmsg(job->src));
    }
    int64_t version = 0;
    if (db_prepare(job->src, "SELECT version FROM " VERSION_TABLE " LIMIT 0") &&
        s_int(job->src, "SELECT version FROM " VERSION_TABLE " WHERE component = 'broker'",
              &version) != 0)
        return s_fail(err, errlen, "cannot read the schema version of the source: %s",
                      db_errmsg(job->src));
    if (version != BROKER_STORE_SCHEMA_VERSION)
        return s_fail(err, errlen,
                      "the source has schema version %lld, this hartslag-broker writes version "
                      "%d: %s",
                      (long long)version, BROKER_STORE_SCHEMA_VERSION,
                      version > BROKER_STORE_SCHEMA_VERSION
                          ? "migrate it with the release that wrote it, or a newer one"
                          : "start and stop this release's broker on it once (it upgrades the "
                            "store), then run migrate again");
    char found[N_TABLES + 1][32], unknown[64];
    size_t n = 0;
    if (s_tables_present(job->src, true, found, &n, unknown, sizeof unknown) != 0)
        return s_fail(err, errlen, "cannot list the tables of the source: %s", db_errmsg(job->src));
    if (unknown[0])
        return s_fail(err, errlen,
                      "the source holds a table this hartslag-broker does not know (%s): it "
                      "is not a broker store of this release",
                      unknown);
    for (size_t i = 0; i < n; i++) {
        int t = s_table_index(found[i]);
        if (t >= 0)
            job->in_source[t] = true;
    }
    /* A subject index of an older shape is rebuilt on the target instead. */
    int subjects = s_table_index("audit_subjects");
    if (job->in_source[subjects] && !db_prepare(job->src, "SELECT seg FROM audit_subjects LIMIT 0"))
        job->in_source[subjects] = false;
    bool has_seq = db_prepare(job->src, "SELECT seq FROM sqlite_sequence LIMIT 0") != NULL;
    for (size_t t = 0; t < N_TABLES; t++) {
        if (!job->in_source[t])
            continue;
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", s_tables[t].name);
        if (s_int(job->src, sql, &job->rows[t]) != 0)
            return s_fail(err, errlen, "cannot count the rows of %s in the source: %s",
                          s_tables[t].name, db_errmsg(job->src));
        if (!s_tables[t].identity)
            continue;
        int64_t max = 0, seq = 0;
        snprintf(sql, sizeof sql, "SELECT MAX(%s) FROM %s", s_tables[t].identity, s_tables[t].name);
        if (s_int(job->src, sql, &max) != 0)
            return s_fail(err, errlen, "cannot read %s of the source: %s", s_tables[t].name,
                          db_errmsg(job->src));
        /* AUTOINCREMENT never reuses a number, not even of a deleted row. */
        snprintf(sql, sizeof sql, "SELECT seq FROM sqlite_sequence WHERE name = '%s'",
                 s_tables[t].name);
        if (has_seq && s_int(job->src, sql, &seq) != 0)
            return s_fail(err, errlen, "cannot read the sequences of the source: %s",
                          db_errmsg(job->src));
        job->next_id[t] = max > seq ? max : seq;
    }
    merkle_empty_root(job->root);
    if (job->in_source[s_table_index("audit")]) {
        audit_log_t *log = audit_log_open(job->src, NULL, false, why, sizeof why);
        if (!log)
            return s_fail(err, errlen, "cannot read the audit log of the source: %s", why);
        job->size = audit_log_size(log);
        audit_log_root(log, job->root);
        audit_log_destroy(&log);
    }
    char hex[2 * MERKLE_HASHBYTES + 1];
    s_hex(job->root, sizeof job->root, hex);
    fprintf(job->out,
            "migrate: source %s taken (schema version %lld); audit log %llu records, root %s\n",
            job->from, (long long)version, (unsigned long long)job->size, hex);
    return 0;
}

/* ---- the target --------------------------------------------------------- */

/* Refuses a target that cannot be reached or already holds a store. */
static int s_target_empty(job_t *job, char *err, size_t errlen)
{
    char why[512];
    db_t *db = db_open(job->to, 0, why, sizeof why);
    if (!db)
        return s_fail(err, errlen, "cannot reach the target %s: %s", job->shown, why);
    char found[N_TABLES + 1][32], unknown[64];
    size_t n = 0;
    int rc = 0;
    if (strcmp(db_backend(db), "postgresql") != 0)
        rc = s_fail(err, errlen, "the target must be a PostgreSQL location (postgresql://...)");
    else if (s_tables_present(db, false, found, &n, unknown, sizeof unknown) != 0)
        rc = s_fail(err, errlen, "cannot list the tables of the target %s: %s", job->shown,
                    db_errmsg(db));
    else if (n > 0)
        rc = s_fail(err, errlen,
                    "the target %s already holds a Hartslag store (%zu of its tables, e.g. "
                    "%s): migrate moves a store into an empty schema only; name another "
                    "schema or database, or drop that store first if it is a leftover",
                    job->shown, n, found[0]);
    db_close(&db);
    return rc;
}

/* The failed run's tables go again: the target held none before. */
static void s_drop_target(job_t *job)
{
    broker_store_destroy(&job->target);
    if (!job->created)
        return;
    char sql[1024] = "DROP TABLE IF EXISTS " VERSION_TABLE;
    for (size_t t = 0; t < N_TABLES; t++) {
        size_t used = strlen(sql);
        snprintf(sql + used, sizeof sql - used, ", %s", s_tables[t].name);
    }
    char why[512];
    db_t *db = db_open(job->to, 0, why, sizeof why);
    if (!db || db_exec(db, sql) != 0)
        fprintf(job->out,
                "migrate: could not remove the tables this run made in the target %s: %s; drop "
                "them by hand before the next run\n",
                job->shown, db ? db_errmsg(db) : why);
    else
        fprintf(job->out, "migrate: the target %s is empty again\n", job->shown);
    db_close(&db);
    job->created = false;
}

/* "INSERT INTO t(cols) VALUES($1, ...), ..." for `rows` rows. NULL when
   memory is short. */
static char *s_insert_sql(const table_t *table, int ncols, int rows)
{
    size_t cap = 64 + strlen(table->name) + strlen(table->columns) + (size_t)rows * ncols * 10;
    char *sql = malloc(cap);
    if (!sql)
        return NULL;
    size_t used =
        (size_t)snprintf(sql, cap, "INSERT INTO %s(%s) VALUES", table->name, table->columns);
    int param = 1;
    for (int r = 0; r < rows; r++) {
        used += (size_t)snprintf(sql + used, cap - used, "%s(", r ? ", " : "");
        for (int c = 0; c < ncols; c++)
            used += (size_t)snprintf(sql + used, cap - used, "%s$%d", c ? ", " : "", param++);
        used += (size_t)snprintf(sql + used, cap - used, ")");
    }
    return sql;
}

/* Binds the source row's columns to parameters first..first+ncols-1. */
static int s_bind_row(db_stmt_t *from, db_stmt_t *to, const char *kinds, int first)
{
    static const unsigned char empty[1] = {0};
    for (int c = 0; kinds[c]; c++) {
        int idx = first + c, rc;
        if (db_column_is_null(from, c))
            rc = db_bind_null(to, idx);
        else if (kinds[c] == 'i')
            rc = db_bind_int64(to, idx, db_column_int64(from, c));
        else if (kinds[c] == 't') {
            const char *text = db_column_text(from, c);
            rc = db_bind_text(to, idx, text ? text : "");
        } else {
            size_t len = 0;
            const void *bytes = db_column_blob(from, c, &len);
            rc = db_bind_blob(to, idx, len ? bytes : empty, len);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Copies one table's rows in multi-row INSERTs: full batches, then the
   rest one row at a time (the count is fixed: the source is ours). */
static int s_copy(job_t *job, size_t t, char *err, size_t errlen)
{
    const table_t *table = &s_tables[t];
    int ncols = (int)strlen(table->kinds);
    int batch = PARAMS_PER_INSERT / ncols;
    if (batch > ROWS_PER_INSERT)
        batch = ROWS_PER_INSERT;
    int64_t total = job->rows[t], full = total / batch * batch;
    char select[512];
    snprintf(select, sizeof select, "SELECT %s FROM %s", table->columns, table->name);
    char *many = s_insert_sql(table, ncols, batch), *one = s_insert_sql(table, ncols, 1);
    db_t *dst = broker_store_db(job->target);
    db_stmt_t *from = db_prepare(job->src, select);
    db_stmt_t *st_many = many ? db_prepare(dst, many) : NULL;
    db_stmt_t *st_one = one ? db_prepare(dst, one) : NULL;
    free(many);
    free(one);
    if (!from || !st_many || !st_one)
        return s_fail(err, errlen, "cannot prepare the copy of %s: %s", table->name,
                      !from ? db_errmsg(job->src) : db_errmsg(dst));
    int64_t row = 0;
    db_step_t rc;
    int result = 0;
    while (result == 0 && (rc = db_step(from)) == DB_ROW) {
        if (row >= total) {
            result = s_fail(err, errlen, "the source's table %s grew during the copy", table->name);
            break;
        }
        bool batched = row < full;
        db_stmt_t *to = batched ? st_many : st_one;
        int slot = batched ? (int)(row % batch) : 0;
        if (s_bind_row(from, to, table->kinds, 1 + slot * ncols) != 0)
            result =
                s_fail(err, errlen, "cannot copy a row of %s: %s", table->name, db_errmsg(dst));
        else if ((!batched || slot == batch - 1) && db_run(to) != 0)
            result = s_fail(err, errlen, "cannot write %s to the target: %s", table->name,
                            db_errmsg(dst));
        row++;
        if (result == 0 && row % PROGRESS_EVERY == 0 && row < total)
            fprintf(job->out, "migrate:   %s: %lld of %lld rows\n", table->name, (long long)row,
                    (long long)total);
    }
    if (result == 0 && rc == DB_ERROR)
        result = s_fail(err, errlen, "cannot read %s from the source: %s", table->name,
                        db_errmsg(job->src));
    db_reset(from);
    if (result == 0 && row != total)
        result = s_fail(err, errlen, "the source's table %s changed during the copy", table->name);
    /* The writes are pipelined: one answer now reads theirs, so that a
       refused row is reported with its own table, not a later one. */
    int64_t answer = 0;
    if (result == 0 && s_int(dst, "SELECT 1", &answer) != 0)
        result =
            s_fail(err, errlen, "cannot write %s to the target: %s", table->name, db_errmsg(dst));
    return result;
}

/* The identity column of table t continues after the copied maximum. */
static int s_continue_identity(job_t *job, size_t t, char *err, size_t errlen)
{
    if (!s_tables[t].identity || job->next_id[t] <= 0)
        return 0;
    db_t *dst = broker_store_db(job->target);
    db_stmt_t *st = db_prepare(dst, "SELECT setval(pg_get_serial_sequence($1, $2), $3)");
    if (!st || db_bind_text(st, 1, s_tables[t].name) != 0 ||
        db_bind_text(st, 2, s_tables[t].identity) != 0 ||
        db_bind_int64(st, 3, job->next_id[t]) != 0 || db_step(st) == DB_ERROR) {
        if (st)
            db_reset(st);
        return s_fail(err, errlen, "cannot continue the numbering of %s on the target: %s",
                      s_tables[t].name, db_errmsg(dst));
    }
    db_reset(st);
    return 0;
}

/* Makes the schema with the store's own code and copies every row in one
   transaction. */
static int s_copy_all(job_t *job, char *err, size_t errlen)
{
    char why[1024];
    job->target = broker_store_open(job->to, why, sizeof why);
    job->created = true; /* whatever it made before failing goes too */
    if (!job->target) {
        s_scrub(job, why, sizeof why);
        return s_fail(err, errlen, "%s", why);
    }
    db_t *dst = broker_store_db(job->target);
    if (db_begin(dst) != 0)
        return s_fail(err, errlen, "cannot begin on the target: %s", db_errmsg(dst));
    audit_store_t *audit = audit_store_open(dst, true, why, sizeof why);
    uint64_t rebuilt = 0;
    int rc = audit ? audit_store_subjects_create(audit, &rebuilt) : -1;
    if (rc != 0) {
        audit_store_destroy(&audit);
        return s_fail(err, errlen, "cannot create the audit tables on the target: %s",
                      db_errmsg(dst));
    }
    /* Every table the store's code made must be one this module copies. */
    char found[N_TABLES + 1][32], unknown[64];
    size_t n = 0;
    if (s_tables_present(dst, false, found, &n, unknown, sizeof unknown) != 0 || unknown[0] ||
        n != N_TABLES + 1) {
        audit_store_destroy(&audit);
        return s_fail(err, errlen,
                      "the target's new schema has %zu of the %zu tables migrate copies%s%s: "
                      "this build's migrate does not match its store",
                      n, N_TABLES + 1, unknown[0] ? ", and an unknown one: " : "", unknown);
    }
    fprintf(job->out, "migrate: target %s: schema version %d created; copying\n", job->shown,
            BROKER_STORE_SCHEMA_VERSION);
    for (size_t t = 0; t < N_TABLES && rc == 0; t++) {
        if (!job->in_source[t])
            continue;
        rc = s_copy(job, t, err, errlen);
        if (rc == 0)
            rc = s_continue_identity(job, t, err, errlen);
        if (rc == 0)
            fprintf(job->out, "migrate: copied %s: %lld rows (%.1f s)\n", s_tables[t].name,
                    (long long)job->rows[t], s_elapsed(job));
    }
    size_t subjects = (size_t)s_table_index("audit_subjects");
    if (rc == 0 && !job->in_source[subjects] && job->in_source[s_table_index("audit")]) {
        rc = audit_store_subjects_create(audit, &rebuilt);
        if (rc != 0)
            s_fail(err, errlen, "cannot build the subject index on the target: %s", db_errmsg(dst));
        else {
            job->rows[subjects] = (int64_t)rebuilt;
            fprintf(job->out, "migrate: built audit_subjects: %llu rows\n",
                    (unsigned long long)rebuilt);
        }
    }
    audit_store_destroy(&audit);
    if (rc == 0 && db_commit(dst) != 0)
        rc = s_fail(err, errlen, "the target refused the commit: %s", db_errmsg(dst));
    if (rc != 0)
        db_rollback(dst);
    broker_store_destroy(&job->target);
    if (rc == 0)
        fprintf(job->out, "migrate: committed (%.1f s)\n", s_elapsed(job));
    return rc;
}

/* Re-opens the committed target and compares it with the source: every
   table's row count, and the audit tree's size and root. */
static int s_verify(job_t *job, char *err, size_t errlen)
{
    char why[512];
    db_t *db = db_open(job->to, DB_READONLY, why, sizeof why);
    if (!db)
        return s_fail(err, errlen, "cannot re-open the target %s to verify it: %s", job->shown,
                      why);
    int rc = 0;
    for (size_t t = 0; t < N_TABLES && rc == 0; t++) {
        char sql[256];
        int64_t count = 0;
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", s_tables[t].name);
        if (s_int(db, sql, &count) != 0)
            rc = s_fail(err, errlen, "cannot count %s on the target: %s", s_tables[t].name,
                        db_errmsg(db));
        else if (count != job->rows[t])
            rc = s_fail(err, errlen,
                        "verification failed: the target's %s has %lld rows, the source's %lld",
                        s_tables[t].name, (long long)count, (long long)job->rows[t]);
    }
    if (rc == 0) {
        audit_log_t *log = audit_log_open(db, NULL, false, why, sizeof why);
        unsigned char root[MERKLE_HASHBYTES];
        if (!log)
            rc = s_fail(err, errlen, "verification failed: the target's audit log: %s", why);
        else {
            uint64_t size = audit_log_size(log);
            audit_log_root(log, root);
            if (size != job->size || memcmp(root, job->root, sizeof root) != 0) {
                char a[2 * MERKLE_HASHBYTES + 1], b[2 * MERKLE_HASHBYTES + 1];
                s_hex(job->root, sizeof job->root, a);
                s_hex(root, sizeof root, b);
                rc = s_fail(err, errlen,
                            "verification failed: the audit log has %llu records, root %s, "
                            "on the source and %llu records, root %s, on the target",
                            (unsigned long long)job->size, a, (unsigned long long)size, b);
            }
        }
        audit_log_destroy(&log);
    }
    db_close(&db);
    return rc;
}

int migrate_run(const char *from, const char *to, FILE *out, char *err, size_t errlen)
{
    job_t *job = calloc(1, sizeof *job);
    if (!job)
        return s_fail(err, errlen, "out of memory");
    job->from = from;
    job->to = to;
    job->out = out;
    clock_gettime(CLOCK_MONOTONIC, &job->t0);
    db_location_shown(to, job->shown, sizeof job->shown);
    const char *path = broker_store_sqlite_path(from);
    int rc = 0;
    if (!path || !*path)
        rc = s_fail(err, errlen, "--from must name a SQLite store (sqlite:FILE)");
    else if (strncmp(to, "postgresql://", 13) != 0 && strncmp(to, "postgres://", 11) != 0)
        rc = s_fail(err, errlen, "--to must name a PostgreSQL store (postgresql://...)");
    if (rc == 0)
        rc = s_source(job, err, errlen);
    if (rc == 0)
        rc = s_target_empty(job, err, errlen);
    if (rc == 0)
        rc = s_copy_all(job, err, errlen);
    if (rc == 0)
        rc = s_verify(job, err, errlen);
    if (rc != 0)
        s_drop_target(job);
    if (job->src)
        db_rollback(job->src); /* the source is only read: let it go */
    db_close(&job->src);
    if (rc == 0) {
        int64_t rows = 0;
        size_t tables = 0;
        for (size_t t = 0; t < N_TABLES; t++) {
            rows += job->rows[t];
            tables += job->rows[t] > 0;
        }
        char hex[2 * MERKLE_HASHBYTES + 1];
        s_hex(job->root, sizeof job->root, hex);
        fprintf(out,
                "migrate: done in %.1f s: %lld rows in %zu tables moved to %s; audit log %llu "
                "records, root %s, the same on the source and the committed target\n",
                s_elapsed(job), (long long)rows, tables, job->shown, (unsigned long long)job->size,
                hex);
        fprintf(out, "migrate: next: set 'store:' in broker.yaml to the new location, start the "
                     "broker, and keep the SQLite file (mode 0600) as a backup\n");
    }
    free(job);
    return rc;
}

static void s_usage(FILE *out)
{
    fprintf(out, "usage: hartslag-broker migrate --from sqlite:FILE --to postgresql://...\n\n"
                 "Moves the broker store (queue, deliveries, match index, agreements history and\n"
                 "the whole audit log) from SQLite to an empty PostgreSQL schema, in one\n"
                 "transaction, and verifies it: the audit log's size and root must be the same\n"
                 "on the committed target as on the source. Stop the broker first: a source in\n"
                 "use is refused. A target that already holds a store is refused; a failed run\n"
                 "leaves the target without tables.\n"
                 "exit codes: 0 moved and verified, 1 refused or failed, 2 usage error\n");
}

int migrate_command(int argc, char **argv, FILE *out, FILE *errs)
{
    static const struct option options[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *from = NULL, *to = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'h':
            s_usage(out);
            return 0;
        default:
            s_usage(errs);
            return 2;
        }
    }
    if (!from || !to || optind != argc) {
        s_usage(errs);
        return 2;
    }
    char err[2048];
    if (migrate_run(from, to, out, err, sizeof err) != 0) {
        fflush(out);
        fprintf(errs, "hartslag-broker migrate: %s\n", err);
        return 1;
    }
    return 0;
}
