/*  status: what `hartslag broker status` shows (issue 13 D13): the
    partners, whether and since when each is connected, the deliveries
    queued for each and the oldest of them, open alerts, the latest audit
    checkpoint and who cosigned it, the agreements version in force.

    The loop hands over what only it knows (status_snapshot_t: who is
    connected); the rest is read from the broker's store (broker/store.h)
    with read-only queries, in the loop's connection between turns. Times are shown
    in UTC (ISO 8601), as `hartslag status` shows the daemon's.
*/
#ifndef HARTSLAG_BROKER_STATUS_H
#define HARTSLAG_BROKER_STATUS_H

#include "audit_store.h"
#include "names.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One partner of the live partner table. */
typedef struct {
    char org[NAMES_ORG_MAX + 1]; /* its org id */
    bool connected;              /* its daemon is connected now */
    int64_t connected_ms;        /* since when (0 when not connected) */
    uint32_t inflight;           /* deliveries sent to it and not yet acknowledged */
} status_partner_t;

/* What the loop knows. Borrowed for one render. */
typedef struct {
    int64_t now_ms;              /* the clock now */
    int64_t started_ms;          /* when the broker started */
    const char *endpoint;        /* where it listens */
    uint64_t agreements_version; /* the agreements in force */
    const char *agreements_hash; /* their SHA-256 in hex, or NULL */
    uint64_t audit_records;      /* the audit log's size */
    const char *store_backend;   /* "sqlite" or "postgresql" */
    const char *active_name;     /* PostgreSQL: this broker's name as the lock holder */
    int64_t active_since_ms;     /* when it took the store's lock (0: SQLite, no lock) */
    const status_partner_t *partners;
    size_t n_partners;
} status_snapshot_t;

/* The status as text (json false) or one JSON object: a new string
   (caller frees), or NULL with the reason in `err` (the database could not
   be read). The queue is read from `store`, checkpoints and cosignatures
   from `audit` (on the same connection). */
char *status_render(broker_store_t *store, audit_store_t *audit, const status_snapshot_t *snap,
                    bool json, char *err, size_t errlen);

#endif
