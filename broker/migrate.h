/*  migrate: `hartslag-broker migrate --from sqlite:FILE --to postgresql://...`
    moves a partnership's broker store, every table of it (the queue and
    its deliveries, notices, agreements history, partners seen, the alert
    match index, and the whole audit log: records, tree nodes, meta,
    checkpoints, cosignatures, subject index), from SQLite to PostgreSQL
    (issue 16 item 2, docs/operations.md "Moving from SQLite to
    PostgreSQL").

    Why a tool and not a dump: the audit log is the partnership's
    evidence. The move must not lose, add or reorder one record, so the
    tool proves it: the audit tree's size and root are computed on the
    source before the copy and again on the committed target, re-opened
    from scratch; they must be equal or the run fails (exit 1) and the
    target is emptied again.

    What it refuses, each with one clear line and exit 1, leaving the
    target without tables:
      - a source in use: the source is opened in SQLite's exclusive locking
        mode and held in one write transaction for the whole run, which
        fails at once while any other connection (a running broker, its
        checkpointer, an audit reader) has the file open, and keeps a
        broker that starts meanwhile from opening it. The broker must be
        stopped for the move (a short stop: the copy runs at tens of
        thousands of rows a second);
      - a source whose schema version is not this binary's (both named);
      - a target that already holds a Hartslag store (any of its tables or
        schema_version in the target's schema);
      - a target that cannot be reached or is not PostgreSQL.

    The target's schema is made by the store's own code (broker_store_open
    and audit_store_open), never by DDL of this module; this module only
    knows the column lists it copies, and fails if the schema the store
    code made has a table it does not know (a column list left behind by a
    schema change would otherwise drop that table's rows silently). The rows
    move in one PostgreSQL transaction (all or nothing), as multi-row
    INSERTs that lib/db pipelines; identity columns then continue after the
    copied maximum (setval), so the broker's next rows do not collide.

    Messages hold table names, counts, sizes and the root hash only: never
    a row's content, and a location's password is shown as "***".

    Ownership: nothing outlives a call.
*/
#ifndef HARTSLAG_BROKER_MIGRATE_H
#define HARTSLAG_BROKER_MIGRATE_H

#include <stdio.h>

/* `hartslag-broker migrate ARGS`: argv[0] is "migrate". Progress and the
   summary go to `out`, refusals and failures to `errs`. Returns the exit
   code: 0 moved and verified, 1 refused or failed (the target left
   without tables), 2 usage error. */
int migrate_command(int argc, char **argv, FILE *out, FILE *errs);

/* The same without argument parsing: 0, or -1 with the reason in `err`. */
int migrate_run(const char *from, const char *to, FILE *out, char *err, size_t errlen);

#endif
