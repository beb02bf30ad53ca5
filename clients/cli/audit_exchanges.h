/*  audit_exchanges: what each partner's daemon says it exchanged, checked
    against the broker's audit log (issue 18 A2). The checkpoints prove the
    log was never rewritten; these prove it is complete for what the
    partners saw: every signal a daemon had accepted must have its
    `accepted` record for each recipient, every signal it received (or a
    recipient told it was stored) its `delivered` record.

    An exchange is (signal id, event, counterpart): for `accepted` the
    recipient, for `delivered` the recipient that had it. A daemon store
    given with --daemon-db does not name its own org, so what it received
    matches a `delivered` record for any recipient ("*"); a witness file
    names its org and matches exactly.

    In a witness file (audit_witness.h) an exchange is the line
        exchange <32 hex digits> accepted|delivered <org>
    Ids only: no content, no subject.

    Ownership: audit_exchanges_t owns its entries. */
#ifndef HARTSLAG_CLI_AUDIT_EXCHANGES_H
#define HARTSLAG_CLI_AUDIT_EXCHANGES_H

#include "../daemon/store.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AUDIT_EXCHANGES_HOLDER_MAX 128

typedef struct audit_exchanges_t audit_exchanges_t;

typedef struct {
    uint64_t listed;         /* exchanges the partners listed (duplicates once) */
    uint64_t found;          /* of them, with their record in the log */
    uint64_t missing;        /* of them, without */
    uint64_t purged;         /* records of the log whose bytes were purged (retention) */
    char first_missing[256]; /* the first missing one, in words, for the officer */
} audit_exchanges_result_t;

/* An empty set. NULL when out of memory. */
audit_exchanges_t *audit_exchanges_new(void);
void audit_exchanges_destroy(audit_exchanges_t **self_p);

/* Adds one witness file line ("exchange ..."), said by `holder`. 0, or -1
   when the line is malformed or memory runs out. */
int audit_exchanges_add_line(audit_exchanges_t *self, const char *holder, const char *line);

/* Adds what a daemon store (a copy of hartslagd.db, read-only) says it
   exchanged. 0, or -1 with the reason in `err`. */
int audit_exchanges_load_db(audit_exchanges_t *self, const char *holder, const char *path,
                            char *err, size_t errlen);

size_t audit_exchanges_count(const audit_exchanges_t *self);

/* Reads every record of the broker's store (a copy of broker.db) once and
   marks the exchanges it holds. 0, or -1 with the reason in `err`. */
int audit_exchanges_check(audit_exchanges_t *self, const char *broker_db,
                          audit_exchanges_result_t *result, char *err, size_t errlen);

/* Writes the "exchange" lines of daemon `org` from its open store.
 *count receives how many. 0, or -1. */
int audit_exchanges_export(store_t *store, const char *org, FILE *out, uint64_t *count);

#endif
