/*  pg_harness: see pg_harness.h. */
#define _GNU_SOURCE /* pipe2 */
#include "pg_harness.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <criterion/hooks.h>
#include <criterion/stats.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct pg_harness_t {
    pid_t pid;          /* the script */
    FILE *commands;     /* its stdin (write end, close-on-exec) */
    FILE *answers;      /* its stdout */
    int port;           /* where the server listens on 127.0.0.1 */
    char name[64];      /* a standby's application_name; "" for a primary */
    char location[512]; /* postgresql://hartslag@127.0.0.1:PORT/hartslag */
};

bool pg_harness_requested(void)
{
    const char *store = getenv("HARTSLAG_TEST_STORE");
    return store && strcmp(store, "postgresql") == 0;
}

static pg_harness_t *s_cluster; /* the binary's, started before its first test */

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    bool wanted = &pg_harness_wanted && pg_harness_wanted;
    if (pg_harness_location_env() || !(wanted || pg_harness_requested()))
        return;
    char err[512];
    s_cluster = pg_harness_start(err, sizeof err);
    if (!s_cluster)
        fprintf(stderr, "pg_harness: %s\n", err); /* its tests then fail */
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    pg_harness_destroy(&s_cluster);
}

int pg_harness_free_port(void)
{
    return tu_listen_port();
}

/* One answer line from the script, without its newline; NULL at its end. */
static char *s_answer(pg_harness_t *self, char *line, size_t len)
{
    if (!fgets(line, (int)len, self->answers))
        return NULL;
    line[strcspn(line, "\n")] = '\0';
    return line;
}

/* Runs the script for a cluster on a free port: a new one, or with
   `primary` a standby of it. Waits for its "ready". */
static pg_harness_t *s_spawn(const pg_harness_t *primary, char *err, size_t errlen)
{
    pg_harness_t *self = calloc(1, sizeof *self);
    int to_script[2] = {-1, -1}, from_script[2] = {-1, -1};
    if (!self || pipe2(to_script, O_CLOEXEC) != 0 || pipe2(from_script, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "out of resources");
        free(self);
        return NULL;
    }
    self->port = pg_harness_free_port();
    char script[4200], port[16], primary_port[16];
    snprintf(script, sizeof script, "%s/tests/support/pg-cluster.sh", tu_src());
    snprintf(port, sizeof port, "%d", self->port);
    snprintf(primary_port, sizeof primary_port, "%d", primary ? primary->port : 0);
    if (primary)
        snprintf(self->name, sizeof self->name, "hartslag_standby_%d", self->port);
    char *argv[] = {"/bin/sh", script, port, primary ? primary_port : NULL, self->name, NULL};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_script[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_script[1], 1);
    extern char **environ;
    int rc = posix_spawn(&self->pid, "/bin/sh", &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(to_script[0]);
    close(from_script[1]);
    if (rc != 0) {
        snprintf(err, errlen, "cannot run %s", script);
        close(to_script[1]);
        close(from_script[0]);
        free(self);
        return NULL;
    }
    self->commands = fdopen(to_script[1], "w");
    self->answers = fdopen(from_script[0], "r");
    char line[400];
    const char *first = self->commands && self->answers ? s_answer(self, line, sizeof line) : NULL;
    if (!first || strncmp(first, "ready ", 6) != 0) {
        snprintf(err, errlen, "PostgreSQL test cluster: %s",
                 first ? first : "the script ended without an answer");
        pg_harness_destroy(&self);
        return NULL;
    }
    snprintf(self->location, sizeof self->location, "%s", first + 6);
    return self;
}

pg_harness_t *pg_harness_start(char *err, size_t errlen)
{
    pg_harness_t *self = s_spawn(NULL, err, errlen);
    if (self)
        setenv(PG_HARNESS_ENV, self->location, 1);
    return self;
}

pg_harness_t *pg_harness_standby_start(pg_harness_t *primary, char *err, size_t errlen)
{
    pg_harness_t *self = s_spawn(primary, err, errlen);
    if (!self)
        return NULL;
    /* After the base backup: the standby has the primary's settings file
       as it was, without these (it is a primary of no standby once
       promoted). ALTER SYSTEM runs on its own, outside a transaction. */
    char sql[200];
    snprintf(sql, sizeof sql, "sql ALTER SYSTEM SET synchronous_standby_names = '%s'", self->name);
    if (pg_harness_command(primary, sql) != 0 ||
        pg_harness_command(primary, "sql ALTER SYSTEM SET synchronous_commit = on") != 0 ||
        pg_harness_command(primary, "sql SELECT pg_reload_conf()") != 0) {
        snprintf(err, errlen, "the primary refused synchronous_standby_names");
        pg_harness_destroy(&self);
        return NULL;
    }
    char state[64] = "";
    for (int i = 0; i < 600; i++) { /* 60 s */
        if (pg_harness_replication(primary, self, state, sizeof state) == 0 &&
            strcmp(state, "streaming sync") == 0)
            return self;
        usleep(100000);
    }
    snprintf(err, errlen, "the standby is not a streaming synchronous one: '%s'", state);
    pg_harness_destroy(&self);
    return NULL;
}

int pg_harness_replication(const pg_harness_t *primary, const pg_harness_t *standby, char *state,
                           size_t len)
{
    snprintf(state, len, "%s", "");
    PGconn *conn = PQconnectdb(primary->location);
    const char *params[] = {standby->name};
    PGresult *res = PQstatus(conn) == CONNECTION_OK
                        ? PQexecParams(conn,
                                       "SELECT state || ' ' || sync_state FROM pg_stat_replication "
                                       "WHERE application_name = $1",
                                       1, NULL, params, NULL, NULL, 0)
                        : NULL;
    int rc = res && PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -1;
    if (rc == 0 && PQntuples(res) == 1)
        snprintf(state, len, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(conn);
    return rc;
}

void pg_harness_destroy(pg_harness_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pg_harness_t *self = *self_p;
    if (self->commands)
        fclose(self->commands); /* end of input: the script stops and cleans */
    if (self->answers)
        fclose(self->answers);
    if (self->pid > 0)
        waitpid(self->pid, NULL, 0);
    const char *exported = getenv(PG_HARNESS_ENV);
    if (exported && strcmp(exported, self->location) == 0)
        unsetenv(PG_HARNESS_ENV); /* this cluster's, and it is gone */
    free(self);
    *self_p = NULL;
}

const char *pg_harness_location(const pg_harness_t *self)
{
    return self->location;
}

int pg_harness_port(const pg_harness_t *self)
{
    return self->port;
}

int pg_harness_command(pg_harness_t *self, const char *command)
{
    char line[512];
    if (fprintf(self->commands, "%s\n", command) < 0 || fflush(self->commands) != 0)
        return -1;
    const char *answer = s_answer(self, line, sizeof line);
    return answer && strcmp(answer, "done") == 0 ? 0 : -1;
}

const char *pg_harness_location_env(void)
{
    const char *location = getenv(PG_HARNESS_ENV);
    return location && *location ? location : NULL;
}

int pg_harness_schema(const char *name, char *location, size_t len)
{
    const char *base = pg_harness_location_env();
    if (!base)
        return -1;
    PGconn *conn = PQconnectdb(base);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SET client_min_messages = warning; DROP SCHEMA IF EXISTS %s CASCADE; "
             "CREATE SCHEMA %s",
             name, name);
    PGresult *res = PQstatus(conn) == CONNECTION_OK ? PQexec(conn, sql) : NULL;
    int rc = res && PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
    PQclear(res);
    PQfinish(conn);
    if (rc == 0 &&
        (size_t)snprintf(location, len, "%s?options=-csearch_path%%3D%s&application_name=%s", base,
                         name, name) >= len)
        rc = -1;
    return rc;
}
