/*  wal_checkpointer: SQLite WAL checkpoints on a thread of their own; see
    wal_checkpointer.h. */
#include "wal_checkpointer.h"

#include "db.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct wal_checkpointer_t {
    db_t *db; /* its own connection, used on the thread only once started */
    char wal_path[4200];
    int interval_ms;
    uint64_t min_bytes;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping; /* guarded by lock */
    atomic_uint_fast64_t runs, failures;
};

static uint64_t s_wal_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}

/* One PASSIVE checkpoint: its row is (busy, WAL frames, frames copied);
   a WAL that SQLite does not know as one reports -1 frames. 0 or -1. */
static int s_checkpoint(wal_checkpointer_t *self)
{
    db_stmt_t *st = db_prepare(self->db, "PRAGMA wal_checkpoint(PASSIVE)");
    if (!st)
        return -1;
    int rc = db_step(st) == DB_ROW && db_column_int64(st, 1) >= 0 ? 0 : -1;
    db_reset(st);
    return rc;
}

static void *s_run(void *arg)
{
    wal_checkpointer_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += self->interval_ms / 1000;
        until.tv_nsec += (long)(self->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!self->stopping && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&self->wake, &self->lock, &until);
        if (self->stopping)
            break;
        pthread_mutex_unlock(&self->lock);
        if (s_wal_bytes(self->wal_path) >= self->min_bytes) {
            atomic_fetch_add(&self->runs, 1);
            if (s_checkpoint(self) != 0)
                atomic_fetch_add(&self->failures, 1);
        }
        pthread_mutex_lock(&self->lock);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

wal_checkpointer_t *wal_checkpointer_new(const char *path, int interval_ms, uint64_t min_bytes,
                                         char *err, size_t errlen)
{
    wal_checkpointer_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    self->interval_ms = interval_ms > 0 ? interval_ms : 100;
    self->min_bytes = min_bytes;
    snprintf(self->wal_path, sizeof self->wal_path, "%s-wal", path);
    /* lib/db opens it in WAL mode: it has then read the database once and
       knows it is one (until then a checkpoint is a no-op that reports -1). */
    char why[256];
    self->db = db_open(path, 0, why, sizeof why);
    if (!self->db) {
        snprintf(err, errlen, "cannot open %s for checkpoints: %s", path, why);
        wal_checkpointer_destroy(&self);
        return NULL;
    }
    /* Its own checkpoints only: this connection writes nothing itself. */
    db_set_busy_timeout(self->db, 1000);
    if (strcmp(db_backend(self->db), "sqlite") != 0 ||
        db_exec(self->db, "PRAGMA wal_autocheckpoint=0") != 0) {
        snprintf(err, errlen, "cannot open %s for checkpoints: %s", path, db_errmsg(self->db));
        wal_checkpointer_destroy(&self);
        return NULL;
    }
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        snprintf(err, errlen, "cannot start the checkpoint thread");
        wal_checkpointer_destroy(&self);
        return NULL;
    }
    self->started = true;
    return self;
}

void wal_checkpointer_destroy(wal_checkpointer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wal_checkpointer_t *self = *self_p;
    if (self->started) {
        pthread_mutex_lock(&self->lock);
        self->stopping = true;
        pthread_cond_signal(&self->wake);
        pthread_mutex_unlock(&self->lock);
        pthread_join(self->thread, NULL);
    }
    db_close(&self->db);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

uint64_t wal_checkpointer_runs(wal_checkpointer_t *self)
{
    return atomic_load(&self->runs);
}

uint64_t wal_checkpointer_failures(wal_checkpointer_t *self)
{
    return atomic_load(&self->failures);
}
