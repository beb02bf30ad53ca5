/*  wal_checkpointer: SQLite WAL checkpoints on a thread of their own.

    In WAL mode a commit appends pages to the -wal file; a checkpoint copies
    them back into the database file and fsyncs it. SQLite's automatic
    checkpoint runs inside whichever COMMIT crosses its threshold, on the
    thread that commits: the broker's loop then stops for as long as
    copying and syncing tens of megabytes takes, and every signal waiting
    behind it sees that in its latency. This thread looks at the size of the
    -wal file every `interval_ms` and, once it holds `min_bytes` or more,
    runs a PASSIVE checkpoint over its own connection: PASSIVE never waits
    for, or blocks, the writer. The owner keeps SQLite's automatic
    checkpoint at a higher threshold as a backstop for bursts.

    Only the broker's store (broker/store.h) starts one, for a SQLite store;
    its connection is a lib/db one on the same file.

    Ownership: wal_checkpointer_t owns its thread and its connection. It
    reads `path` only through SQLite; it never writes rows.
*/
#ifndef HARTSLAG_WAL_CHECKPOINTER_H
#define HARTSLAG_WAL_CHECKPOINTER_H

#include <stddef.h>
#include <stdint.h>

typedef struct wal_checkpointer_t wal_checkpointer_t;

/* Starts checkpointing the WAL database at `path`. NULL with the reason in
   `err` when the database cannot be opened or the thread not started. */
wal_checkpointer_t *wal_checkpointer_new(const char *path, int interval_ms, uint64_t min_bytes,
                                         char *err, size_t errlen);

/* Stops the thread (at most one checkpoint's time) and closes. */
void wal_checkpointer_destroy(wal_checkpointer_t **self_p);

/* Checkpoints run so far, and how many of those SQLite refused (busy or
   I/O error; the next interval tries again). */
uint64_t wal_checkpointer_runs(wal_checkpointer_t *self);
uint64_t wal_checkpointer_failures(wal_checkpointer_t *self);

#endif
