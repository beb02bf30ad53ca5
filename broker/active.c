/*  active: see active.h. */
#include "active.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct active_t {
    db_t *db;         /* borrowed */
    uint64_t session; /* db_session when the lock was taken; 0 not held */
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
    db_stmt_t *st =
        db_prepare(self->db, "SELECT pg_try_advisory_lock(hashtextextended(current_schema(), $1))");
    if (!st || db_bind_int64(st, 1, ACTIVE_LOCK_SEED) != 0)
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
    /* pg_locks spells a bigint advisory key as two unsigned 32-bit halves */
    db_stmt_t *st = db_prepare(
        self->db, "WITH k AS (SELECT hashtextextended(current_schema(), $1) AS key) "
                  "SELECT a.application_name FROM k, pg_locks l JOIN pg_stat_activity a "
                  "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
                  "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                  "AND CAST(l.classid AS BIGINT) = (k.key >> 32) & 4294967295 "
                  "AND CAST(l.objid AS BIGINT) = k.key & 4294967295 AND l.objsubid = 1");
    if (!st || db_bind_int64(st, 1, ACTIVE_LOCK_SEED) != 0)
        return -1;
    db_step_t rc = db_step(st);
    const char *holder = rc == DB_ROW ? db_column_text(st, 0) : NULL;
    snprintf(name, len, "%s", holder ? holder : "");
    db_reset(st);
    return rc == DB_ERROR ? -1 : 0;
}
