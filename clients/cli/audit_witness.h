/*  audit_witness: the partners' copies of the broker's checkpoints, for
    `hartslag audit verify` (--daemon-db, --witness) and `hartslag audit
    checkpoints --out` (the export).

    A witness file holds only what a daemon keeps to hold the broker to its
    history — the checkpoints it verified and cosigned, and the ones it
    refused as inconsistent — and nothing of its inbox. It is text, one
    item a line (as a CT witness publishes only signed tree heads):

        hartslag-witness v1
        org politie                           the daemon's org
        checkpoint <base64 of a signed note>  held (verified, cosigned)
        refused <kind> <base64 of a note>     refused: shrunk, forked, inconsistent,
                                              unproven
        exchange <hex id> <event> <org>       what the daemon exchanged
                                              (audit_exchanges.h)

    A daemon does not keep its own cosignature lines (it sends them to the
    broker, which keeps them in its `cosignatures` table): a witness file
    has none. Reading is streaming: one note at a time, at most
    AUDIT_WITNESS_LINE_MAX bytes a line, so any number of checkpoints is
    read in bounded memory.

    Ownership: audit_witness_t owns its open database, file and buffers.
    Strings handed out by audit_witness_next are valid until the next call.
*/
#ifndef HARTSLAG_CLI_AUDIT_WITNESS_H
#define HARTSLAG_CLI_AUDIT_WITNESS_H

#include "audit_exchanges.h"
#include "audit_verify.h"
#include "checkpoint.h"

#include <stddef.h>
#include <stdint.h>

/* A witness file line: a key, a kind, base64 of a note read. */
#define AUDIT_WITNESS_LINE_MAX (64 + (CHECKPOINT_OPEN_MAX / 3 + 1) * 4)
#define AUDIT_WITNESS_MAGIC "hartslag-witness v1"
#define AUDIT_WITNESS_ERR_MAX 1024

typedef struct audit_witness_t audit_witness_t;

/* A source with no inputs yet. NULL when out of memory. */
audit_witness_t *audit_witness_new(void);

void audit_witness_destroy(audit_witness_t **self_p);

/* Queues a copy of a daemon's hartslagd.db / a witness file (borrowed
   path: must outlive the source). 0, or -1 when out of memory. */
int audit_witness_add_db(audit_witness_t *self, const char *path);
int audit_witness_add_file(audit_witness_t *self, const char *path);

/* Hands the "exchange" lines of the witness files read from now on to
   `exchanges` (borrowed; NULL: skip them). */
void audit_witness_collect(audit_witness_t *self, audit_exchanges_t *exchanges);

/* audit_anchor_next_fn over every queued input in turn (arg: the source). */
int audit_witness_next(void *arg, audit_anchor_t *anchor);

/* Why audit_witness_next returned -1 (names the file and the fix). */
const char *audit_witness_error(const audit_witness_t *self);

/* Writes the witness file `out_path` (mode 0600; refused when it exists)
   of daemon `org` from its store `db_path`, opened read-only: its notes
   and its exchanges. *count receives the number of notes written,
   *exchanges the number of exchange lines. 0, or -1 with the reason in `err`
   (then no file is left behind). */
int audit_witness_export(const char *db_path, const char *org, const char *out_path,
                         uint64_t *count, uint64_t *exchanges, char *err, size_t errlen);

#endif
