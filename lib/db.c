/*  db: dispatch of lib/db.h to the backend a location names, and the
    error state every backend shares. */
#include "db_backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_CACHE_INITIAL 32 /* statement slots at first (a power of two) */

db_t *db_open(const char *location, int flags, char *err, size_t errlen)
{
    if (!location || !*location) {
        snprintf(err, errlen, "empty database location");
        return NULL;
    }
    if (strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0)
        return db_pg_open(location, flags, err, errlen);
    const char *path = location;
    if (strncmp(location, "sqlite:", 7) == 0)
        path = location + 7;
    else if (strstr(location, "://")) {
        snprintf(err, errlen,
                 "unknown database location scheme (use sqlite:PATH or postgresql://...)");
        return NULL;
    }
    if (!*path) {
        snprintf(err, errlen, "empty database path");
        return NULL;
    }
    return db_sqlite_open(path, flags, err, errlen);
}

void db_location_shown(const char *location, char *out, size_t len)
{
    if (len == 0)
        return;
    /* Hidden whole first, cut to `len` after: a cut must not leave the
       start of a password behind. "***" is never longer than what it
       replaces but for one- and two-character passwords: room for them. */
    size_t cap = strlen(location ? location : "") + 64;
    char *full = malloc(cap), *rest = malloc(cap);
    if (!full || !rest) {
        snprintf(out, len, "(location not shown: out of memory)");
        free(full);
        free(rest);
        return;
    }
    snprintf(full, cap, "%s", location ? location : "");
    char *scheme = strstr(full, "://");
    if (scheme) {
        /* the authority ends at the path or the query; its user part
           at its last '@' (hosts, several of them, follow) */
        char *user = scheme + 3;
        size_t authority = strcspn(user, "/?");
        char *at = NULL;
        for (char *c = user; c < user + authority; c++)
            if (*c == '@')
                at = c;
        char *colon = at ? memchr(user, ':', (size_t)(at - user)) : NULL;
        if (colon) {
            snprintf(rest, cap, "%s", at);
            snprintf(colon, cap - (size_t)(colon - full), ":***%s", rest);
        }
    }
    for (char *p = strstr(full, "password="); p; p = strstr(p + 1, "password=")) {
        char *value = p + strlen("password=");
        size_t n = strcspn(value, "& ");
        snprintf(rest, cap, "%s", value + n);
        snprintf(value, cap - (size_t)(value - full), "***%s", rest);
    }
    snprintf(out, len, "%s", full);
    free(full);
    free(rest);
}

void db_close(db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    db_t *self = *self_p;
    for (size_t i = 0; i < self->cap; i++)
        if (self->slots[i]) {
            free(self->slots[i]->sql);
            self->ops->stmt_free(self->slots[i]);
        }
    free(self->slots);
    self->ops->close(self);
    *self_p = NULL;
}

void db_set_error(db_t *self, db_error_t error, const char *fmt, ...)
{
    self->error = error;
    if (error == DB_ERR_NONE) {
        self->errmsg[0] = '\0';
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->errmsg, sizeof self->errmsg, fmt, ap);
    va_end(ap);
}

static uint64_t s_hash(const char *sql)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

const char *db_backend(const db_t *self)
{
    return self->ops->name;
}

const char *db_path(const db_t *self)
{
    return self->ops->path(self);
}

int db_exec(db_t *self, const char *sql)
{
    if (self->refusing)
        return -1;
    return self->ops->exec(self, sql);
}

void db_refuse(db_t *self, bool refuse)
{
    self->refusing = refuse;
}

int db_begin(db_t *self)
{
    return self->ops->begin(self);
}

void db_set_commit_hook(db_t *self, db_commit_hook_fn *fn, void *arg)
{
    self->commit_hook = fn;
    self->commit_hook_arg = fn ? arg : NULL;
}

int db_commit(db_t *self)
{
    if (self->commit_hook && self->ops->in_transaction(self) &&
        self->commit_hook(self->commit_hook_arg, true) != 0)
        return -1;
    return self->ops->commit(self);
}

void db_rollback(db_t *self)
{
    if (self->commit_hook)
        (void)self->commit_hook(self->commit_hook_arg, false);
    self->ops->rollback(self);
}

bool db_in_transaction(const db_t *self)
{
    return self->ops->in_transaction(self);
}

int db_set_session(db_t *self, const char *sql)
{
    return self->ops->set_session(self, sql);
}

uint64_t db_session(const db_t *self)
{
    return self->ops->session(self);
}

void db_set_busy_timeout(db_t *self, int ms)
{
    self->ops->set_busy_timeout(self, ms);
}

/* Puts `st` in a free slot of a table of `cap` slots. */
static void s_place(db_stmt_t **slots, size_t cap, db_stmt_t *st)
{
    size_t i = (size_t)st->hash & (cap - 1);
    while (slots[i])
        i = (i + 1) & (cap - 1);
    slots[i] = st;
}

/* Room for one more statement. 0 or -1. */
static int s_room(db_t *self)
{
    if ((self->used + 1) * 2 <= self->cap)
        return 0;
    size_t cap = self->cap ? self->cap * 2 : DB_CACHE_INITIAL;
    db_stmt_t **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < self->cap; i++)
        if (self->slots[i])
            s_place(slots, cap, self->slots[i]);
    free(self->slots);
    self->slots = slots;
    self->cap = cap;
    return 0;
}

db_stmt_t *db_prepare(db_t *self, const char *sql)
{
    uint64_t hash = s_hash(sql);
    for (size_t i = (size_t)hash & (self->cap - 1); self->cap && self->slots[i];
         i = (i + 1) & (self->cap - 1)) {
        db_stmt_t *st = self->slots[i];
        if (st->hash == hash && (st->sql == sql || strcmp(st->sql, sql) == 0)) {
            self->ops->reset(st);
            return st;
        }
    }
    if (s_room(self) != 0) {
        db_set_error(self, DB_ERR_OTHER, "out of memory");
        return NULL;
    }
    char *copy = strdup(sql);
    db_stmt_t *st = copy ? self->ops->stmt_new(self, sql) : NULL;
    if (!st) {
        if (!copy)
            db_set_error(self, DB_ERR_OTHER, "out of memory");
        free(copy);
        return NULL;
    }
    st->db = self;
    st->sql = copy;
    st->hash = hash;
    s_place(self->slots, self->cap, st);
    self->used++;
    return st;
}

int db_bind_int64(db_stmt_t *st, int idx, int64_t value)
{
    return st->db->ops->bind_int64(st, idx, value);
}

int db_bind_blob(db_stmt_t *st, int idx, const void *data, size_t len)
{
    if (!data)
        return db_bind_null(st, idx);
    return st->db->ops->bind_blob(st, idx, data, len, true);
}

int db_bind_text(db_stmt_t *st, int idx, const char *text)
{
    if (!text)
        return db_bind_null(st, idx);
    return st->db->ops->bind_text(st, idx, text, true);
}

int db_bind_blob_ref(db_stmt_t *st, int idx, const void *data, size_t len)
{
    if (!data)
        return db_bind_null(st, idx);
    return st->db->ops->bind_blob(st, idx, data, len, false);
}

int db_bind_text_ref(db_stmt_t *st, int idx, const char *text)
{
    if (!text)
        return db_bind_null(st, idx);
    return st->db->ops->bind_text(st, idx, text, false);
}

int db_bind_null(db_stmt_t *st, int idx)
{
    return st->db->ops->bind_null(st, idx);
}

db_step_t db_step(db_stmt_t *st)
{
    if (st->db->refusing)
        return DB_ERROR;
    return st->db->ops->step(st);
}

int db_run(db_stmt_t *st)
{
    if (st->db->refusing) {
        st->db->ops->reset(st); /* as a run would: the bindings go */
        return -1;
    }
    return st->db->ops->run(st);
}

void db_reset(db_stmt_t *st)
{
    st->db->ops->reset(st);
}

int64_t db_changes(const db_t *self)
{
    return self->ops->changes(self);
}

int db_column_count(db_stmt_t *st)
{
    return st->db->ops->column_count(st);
}

bool db_column_is_null(db_stmt_t *st, int col)
{
    return st->db->ops->column_is_null(st, col);
}

int64_t db_column_int64(db_stmt_t *st, int col)
{
    return st->db->ops->column_int64(st, col);
}

const void *db_column_blob(db_stmt_t *st, int col, size_t *len)
{
    return st->db->ops->column_blob(st, col, len);
}

const char *db_column_text(db_stmt_t *st, int col)
{
    return st->db->ops->column_text(st, col);
}

db_error_t db_error(const db_t *self)
{
    return self->error;
}

const char *db_errmsg(const db_t *self)
{
    return self->error == DB_ERR_NONE ? "" : self->errmsg;
}

const char *db_error_name(db_error_t error)
{
    switch (error) {
    case DB_ERR_NONE:
        return "none";
    case DB_ERR_BUSY:
        return "busy";
    case DB_ERR_FULL:
        return "full";
    case DB_ERR_IO:
        return "io";
    case DB_ERR_CORRUPT:
        return "corrupt";
    case DB_ERR_CONSTRAINT:
        return "constraint";
    case DB_ERR_READONLY:
        return "readonly";
    case DB_ERR_OTHER:
        break;
    }
    return "other";
}
