/*  store: the pseudonym service's SQLite file; see store.h. */
#include "store.h"

#include "audit_log.h"
#include "fileio.h"
#include "log.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_schema = "PRAGMA journal_mode=WAL;"
                              "PRAGMA synchronous=FULL;"
                              "CREATE TABLE IF NOT EXISTS limit_alerts("
                              "  alert_id BLOB PRIMARY KEY,"
                              "  time_ms INTEGER NOT NULL,"
                              "  client_org TEXT NOT NULL,"
                              "  limit_name TEXT NOT NULL,"
                              "  allowed INTEGER NOT NULL,"
                              "  audit_index INTEGER NOT NULL,"
                              "  acked_ms INTEGER);";

struct store_t {
    sqlite3 *db;        /* the file */
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
    if (sqlite3_open_v2(path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(self->db, s_schema, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open the store %s: %s", path,
                 self->db ? sqlite3_errmsg(self->db) : "out of memory");
        store_destroy(&self);
        return NULL;
    }
    sqlite3_busy_timeout(self->db, 5000);
    char origin[128], why[400];
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
        if (self->db)
            sqlite3_close_v2(self->db);
        free(self);
        *self_p = NULL;
    }
}

int store_begin(store_t *self)
{
    if (sqlite3_exec(self->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    self->in_tx = true;
    return 0;
}

int store_commit(store_t *self)
{
    if (sqlite3_exec(self->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        store_rollback(self);
        return -1;
    }
    self->in_tx = false;
    audit_log_commit(self->audit);
    return 0;
}

void store_rollback(store_t *self)
{
    sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
    self->in_tx = false;
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
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "INSERT INTO limit_alerts(alert_id, time_ms, client_org, limit_name, "
                           "allowed, audit_index) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_blob(st, 1, alert->alert_id, PSD_ALERT_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, alert->time_ms);
    sqlite3_bind_text(st, 3, alert->client_org, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, alert->limit, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, alert->allowed);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)alert->audit_index);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    return rc;
}

int store_alert_ack(store_t *self, const uint8_t alert_id[PSD_ALERT_ID_BYTES], int64_t now_ms)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "UPDATE limit_alerts SET acked_ms = ?2 WHERE alert_id = ?1 AND "
                           "acked_ms IS NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_blob(st, 1, alert_id, PSD_ALERT_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    int rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(self->db) > 0 : -1;
    sqlite3_finalize(st);
    return rc;
}

size_t store_alerts_pending(store_t *self, store_alert_t *out, size_t max)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT alert_id, time_ms, client_org, limit_name, allowed, audit_index "
                           "FROM limit_alerts WHERE acked_ms IS NULL ORDER BY time_ms LIMIT ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
    size_t n = 0;
    while (n < max && sqlite3_step(st) == SQLITE_ROW) {
        store_alert_t *a = &out[n];
        memset(a, 0, sizeof *a);
        if (sqlite3_column_bytes(st, 0) != PSD_ALERT_ID_BYTES)
            continue;
        memcpy(a->alert_id, sqlite3_column_blob(st, 0), PSD_ALERT_ID_BYTES);
        a->time_ms = sqlite3_column_int64(st, 1);
        snprintf(a->client_org, sizeof a->client_org, "%s",
                 (const char *)sqlite3_column_text(st, 2));
        snprintf(a->limit, sizeof a->limit, "%s", (const char *)sqlite3_column_text(st, 3));
        a->allowed = (uint32_t)sqlite3_column_int64(st, 4);
        a->audit_index = (uint64_t)sqlite3_column_int64(st, 5);
        n++;
    }
    sqlite3_finalize(st);
    return n;
}
