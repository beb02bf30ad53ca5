/*  pg_harness: a private PostgreSQL cluster for a test binary (issue 16).

    pg_harness_start runs tests/support/pg-cluster.sh on a free port of
    127.0.0.1 and waits until the server answers. The script holds the
    read end of a pipe whose write end only this process has: when the
    process ends, normally or not, the script sees the end of its input,
    stops the server and removes its directory, so no run leaves a server
    behind.

    One cluster per test binary, started by this module's Criterion
    PRE_ALL report hook and stopped in POST_ALL (both run in the runner
    process) when the binary wants one: when the environment says
    HARTSLAG_TEST_STORE=postgresql (the suites run again on PostgreSQL),
    or always for a binary that says PG_HARNESS_WANTED at file scope. The
    tests, run in child processes, find the location in the environment
    (pg_harness_location_env) and make their own schema
    (pg_harness_schema) so that they do not see each other's tables.

    A test may also start clusters of its own (pg_harness_start), which
    it may stop or crash without disturbing the binary's, and a streaming
    standby of one of them (pg_harness_standby_start, issue 16's
    replication test): a pg_basebackup of the primary that streams from it
    on 127.0.0.1, made synchronous (the primary's commits wait for it),
    and promoted to a primary when the test says so.

    Ownership: pg_harness_t owns the pipe and the script's process.
*/
#ifndef HARTSLAG_PG_HARNESS_H
#define HARTSLAG_PG_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

#define PG_HARNESS_ENV "HARTSLAG_TEST_POSTGRESQL"

/* A binary whose tests always need the cluster says so at file scope. */
#define PG_HARNESS_WANTED const bool pg_harness_wanted = true
extern const bool pg_harness_wanted __attribute__((weak));

/* True when the environment asks for the suites on PostgreSQL
   (HARTSLAG_TEST_STORE=postgresql). */
bool pg_harness_requested(void);

/* A TCP port of 127.0.0.1 nobody listens on now, or -1. */
int pg_harness_free_port(void);

typedef struct pg_harness_t pg_harness_t;

/* A running cluster, its location exported in PG_HARNESS_ENV; NULL with
   the reason in `err` (PostgreSQL not installed, initdb failed). */
pg_harness_t *pg_harness_start(char *err, size_t errlen);

/* A hot standby of `primary` (a cluster this process started), streaming
   from it, and synchronous: the primary's synchronous_standby_names
   names it (synchronous_commit on, ALTER SYSTEM and a reload), so that
   a commit on the primary returns once the standby has it (and waits
   while the standby is gone). Returns when the primary reports it
   streaming and sync; NULL with the reason in `err`. It does not change PG_HARNESS_ENV. */
pg_harness_t *pg_harness_standby_start(pg_harness_t *primary, char *err, size_t errlen);

/* The standby's state as `primary` sees it in pg_stat_replication:
   "STATE SYNC_STATE", e.g. "streaming sync"; "" when it is not
   connected. 0, or -1 when the primary cannot be asked. */
int pg_harness_replication(const pg_harness_t *primary, const pg_harness_t *standby, char *state,
                           size_t len);

/* Stops the server, removes its files; nulls *self_p. Safe on NULL. */
void pg_harness_destroy(pg_harness_t **self_p);

/* "postgresql://hartslag@127.0.0.1:PORT/hartslag". Borrowed. */
const char *pg_harness_location(const pg_harness_t *self);

/* The port it serves on 127.0.0.1. */
int pg_harness_port(const pg_harness_t *self);

/* A command to the cluster's script: "stop", "start", "kill" (SIGKILL
   to the server and its backends), "sql TEXT" or, for a standby,
   "promote" (answered once the server accepts writes). 0 when it
   answered done. */
int pg_harness_command(pg_harness_t *self, const char *command);

/* In a test: the cluster's location from the environment, or NULL. */
const char *pg_harness_location_env(void);

/* In a test: creates schema `name` (a fresh one: dropped first) in the
   cluster and writes a location whose connections use it and carry
   `name` as their application_name (to find them in pg_stat_activity).
   0 or -1. */
int pg_harness_schema(const char *name, char *location, size_t len);

#endif
