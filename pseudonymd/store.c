/*  store: the pseudonym service's database file, through lib/db.h; see store.h. */
#include "store.h"

#include "audit_log.h"
#include "db.h"
#include "fileio.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The schema, one text per backend (lib/db.h); the audit log's tables
   are lib/audit_store's. */
static const char *s_schema_sqlite = "CREATE TABLE IF NOT EXISTS limit_alerts("
                                     "  alert_id BLOB PRIMARY KEY,"
                                     "  time_ms INTEGER NOT NULL,"
                                     "  client_org TEXT NOT NULL,"
                                     "  limit_name TEXT NOT NULL,"
                                     "  allowed INTEGER NOT NULL,"
                                     "  audit_index INTEGER NOT NULL,"
                                     "  acked_ms INTEGER);";

static const char *s_schema_postgresql = "CREATE TABLE IF NOT EXISTS limit_alerts("
                                         "  alert_id BYTEA PRIMARY KEY,"
                                         "  time_ms BIGINT NOT NULL,"
                                         "  client_org TEXT NOT NULL,"
                                         "  limit_name TEXT NOT NULL,"
                                         "  allowed BIGINT NOT NULL,"
                                         "  audit_index BIGINT NOT NULL,"
                                         "  acked_ms BIGINT);";

struct store_t {
    db_t *db;           /* the file (WAL, synchronous=FULL: db_open) */
    audit_log_t *audit; /* its Merkle log */
    bool in_tx;         /* between begin and commit/rollback */
};

void store_origin(const char *org, char *out, size_t outlen)
{
    snprintf(out, outlen, "hartslag-pseudonymd/%s", org);
}

store_t *store_open(const char *path, const char *service_org, char *err, size_t errlen)
{
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
        log_event(HLOG_WARN, "state_file_narrowed", "file", path, "mode", "0600", NULL);
    char why[400];
    self->db = db_open(path, DB_CREATE, why, sizeof why);
    if (!self->db) {
        snprintf(err, errlen, "cannot open the store %s: %s", path, why);
        store_destroy(&self);
        return NULL;
    }
    bool pg = strcmp(db_backend(self->db), "postgresql") == 0;
    if (db_exec(self->db, pg ? s_schema_postgresql : s_schema_sqlite) != 0) {
        snprintf(err, errlen, "cannot open the store %s: %s", path, db_errmsg(self->db));
        store_destroy(&self);
        return NULL;
    }
    char origin[128];
    store_origin(service_org, origin, sizeof origin);
    self->audit = audit_log_open(self->db, origin, true, why, sizeof why);
    if (!self->audit) {
        snprintf(err, errlen, "audit log in %s: %s", path, why);
        store_destroy(&self);
        return NULL;
    }
    return self;
}

void store_destroy(store_t **self_p)
{
    if (self_p && *self_p) {
        store_t *self = *self_p;
        if (self->in_tx)
            store_rollback(self);
        audit_log_destroy(&self->audit);
        db_close(&self->db);
        free(self);
        *self_p = NULL;
    }
}

int store_begin(store_t *self)
{
    if (db_begin(self->db) != 0)
        return -1;
    self->in_tx = true;
    return 0;
}

int store_commit(store_t *self)
{
    if (db_commit(self->db) != 0) {
        store_rollback(self);
        return -1;
    }
    self->in_tx = false;
    audit_log_commit(self->audit);
    return 0;
}

void store_rollback(store_t *self)
{
    db_rollback(self->db);
    self->in_tx = false;
    if (self->audit)
        audit_log_rollback(self->audit);
}

int64_t store_audit(store_t *self, const store_event_t *event)
{
    Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
    record.time_ms = (uint64_t)event->time_ms;
    record.event = (char *)event->event;
    record.actor_org = (char *)event->actor;
    record.purpose = (char *)event->purpose;
    record.has_count = true;
    record.count = event->count;
    record.outcome = event->ok ? "ok" : "refused";
    record.reason = (char *)event->reason;
    record.counterpart_org = (char *)event->counterpart;
    return audit_log_append(self->audit, &record);
}

int store_checkpoint(store_t *self, const uint8_t sign_sk[64], int64_t now_ms)
{
    if (audit_log_size(self->audit) == audit_log_checkpoint_size(self->audit))
        return 0;
    return audit_log_checkpoint(self->audit, sign_sk, now_ms);
}

uint64_t store_audit_size(const store_t *self)
{
    return audit_log_size(self->audit);
}

int store_alert_add(store_t *self, const store_alert_t *alert)
{
    db_stmt_t *st = db_prepare(self->db, "INSERT INTO limit_alerts(alert_id, time_ms, client_org, "
                                         "limit_name, allowed, audit_index) "
                                         "VALUES ($1, $2, $3, $4, $5, $6)");
    if (!st || db_bind_blob(st, 1, alert->alert_id, PSD_ALERT_ID_BYTES) != 0 ||
        db_bind_int64(st, 2, alert->time_ms) != 0 || db_bind_text(st, 3, alert->client_org) != 0 ||
        db_bind_text(st, 4, alert->limit) != 0 || db_bind_int64(st, 5, alert->allowed) != 0 ||
        db_bind_int64(st, 6, (int64_t)alert->audit_index) != 0)
        return -1;
    return db_run(st);
}

int store_alert_ack(store_t *self, const uint8_t alert_id[PSD_ALERT_ID_BYTES], int64_t now_ms)
{
    db_stmt_t *st = db_prepare(self->db, "UPDATE limit_alerts SET acked_ms = $1 WHERE alert_id = "
                                         "$2 AND acked_ms IS NULL");
    if (!st || db_bind_int64(st, 1, now_ms) != 0 ||
        db_bind_blob(st, 2, alert_id, PSD_ALERT_ID_BYTES) != 0 || db_run(st) != 0)
        return -1;
    return db_changes(self->db) > 0;
}

size_t store_alerts_pending(store_t *self, store_alert_t *out, size_t max)
{
    db_stmt_t *st =
        db_prepare(self->db, "SELECT alert_id, time_ms, client_org, limit_name, allowed, "
                             "audit_index FROM limit_alerts WHERE acked_ms IS NULL "
                             "ORDER BY time_ms LIMIT $1");
    if (!st || db_bind_int64(st, 1, max > INT64_MAX ? INT64_MAX : (int64_t)max) != 0)
        return 0;
    size_t n = 0;
    while (n < max && db_step(st) == DB_ROW) {
        store_alert_t *a = &out[n];
        memset(a, 0, sizeof *a);
        size_t len = 0;
        const void *id = db_column_blob(st, 0, &len);
        if (!id || len != PSD_ALERT_ID_BYTES)
            continue;
        memcpy(a->alert_id, id, PSD_ALERT_ID_BYTES);
        a->time_ms = db_column_int64(st, 1);
        const char *org = db_column_text(st, 2), *limit = db_column_text(st, 3);
        snprintf(a->client_org, sizeof a->client_org, "%s", org ? org : "");
        snprintf(a->limit, sizeof a->limit, "%s", limit ? limit : "");
        a->allowed = (uint32_t)db_column_int64(st, 4);
        a->audit_index = (uint64_t)db_column_int64(st, 5);
        n++;
    }
    db_reset(st);
    return n;
}
