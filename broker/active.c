/*  active: see active.h. */
#include "active.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct active_t {
    db_t *db;         /* borrowed */
    uint64_t session; /* db_session when the lock was taken; 0 not held */
    uint64_t beat_ms; /* the last heartbeat */
};

active_t *active_new(db_t *db)
{
    active_t *self = calloc(1, sizeof *self);
    if (self)
        self->db = db;
    return self;
}

void active_destroy(active_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

bool active_applies(const db_t *db)
{
    return strcmp(db_backend(db), "postgresql") == 0;
}

int active_session_settings(active_t *self, const char *name)
{
    /* The name goes into a SQL literal: keep it to plain characters. */
    char clean[64];
    size_t n = 0;
    for (const char *c = name; *c && n < sizeof clean - 1; c++)
        clean[n++] = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                             (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == ' '
                         ? *c
                         : '_';
    clean[n] = '\0';
    char sql[256];
    snprintf(sql, sizeof sql,
             "SET idle_session_timeout = '%ds'; SET idle_in_transaction_session_timeout = '%ds'; "
             "SET application_name = 'hartslag-broker %s'",
             ACTIVE_TIMEOUT_S, ACTIVE_TIMEOUT_S, clean);
    return db_set_session(self->db, sql);
}

int active_try(active_t *self, bool *held)
{
    *held = false;
    if (active_check(self) == 0) {
        *held = true;
        return 0;
    }
    db_stmt_t *st = db_prepare(self->db, "SELECT pg_try_advisory_lock($1)");
    if (!st || db_bind_int64(st, 1, ACTIVE_LOCK_KEY) != 0)
        return -1;
    db_step_t rc = db_step(st);
    bool got = rc == DB_ROW && db_column_int64(st, 0) == 1;
    db_reset(st);
    if (rc != DB_ROW)
        return -1;
    if (got)
        self->session = db_session(self->db);
    *held = got;
    return 0;
}

int active_check(const active_t *self)
{
    return self->session != 0 && self->session == db_session(self->db) ? 0 : -1;
}

int active_holder(active_t *self, char *name, size_t len)
{
    /* pg_locks spells a bigint advisory key as two 32-bit halves */
    db_stmt_t *st = db_prepare(
        self->db, "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
                  "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
                  "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                  "AND CAST(l.classid AS BIGINT) = $1 AND CAST(l.objid AS BIGINT) = $2 "
                  "AND l.objsubid = 1");
    if (!st || db_bind_int64(st, 1, (int64_t)((uint64_t)ACTIVE_LOCK_KEY >> 32)) != 0 ||
        db_bind_int64(st, 2, (int64_t)((uint64_t)ACTIVE_LOCK_KEY & 0xffffffffu)) != 0)
        return -1;
    db_step_t rc = db_step(st);
    const char *holder = rc == DB_ROW ? db_column_text(st, 0) : NULL;
    snprintf(name, len, "%s", holder ? holder : "");
    db_reset(st);
    return rc == DB_ERROR ? -1 : 0;
}

int active_heartbeat(active_t *self, uint64_t now_ms)
{
    if (now_ms - self->beat_ms < ACTIVE_HEARTBEAT_MS)
        return 0;
    db_stmt_t *st = db_prepare(self->db, "SELECT 1");
    db_step_t rc = st ? db_step(st) : DB_ERROR;
    if (st)
        db_reset(st);
    if (rc != DB_ROW)
        return -1;
    self->beat_ms = now_ms;
    return 0;
}
