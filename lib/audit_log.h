/*  audit_log: the broker's audit transparency log (DESIGN §9).

    Every record is a packed AuditRecord, stored exactly as hashed. The
    records are the leaves of an RFC 6962 Merkle tree (lib/merkle): leaf
    hash H(0x00 || record), node hash H(0x01 || left || right). Each record
    also carries its own index and the leaf hash of the record before it (a
    hash chain), so a verifier can name the first bad record, not only say
    that the root is wrong (lib/audit_verify).

    This module is the log's logic: the tree, the chain head, signing
    checkpoints, proofs. Its tables (records, tree nodes, the origin,
    checkpoints, cosignatures, the subject index of lib/audit_subjects.h)
    belong to lib/audit_store, created on a writable open. The connection
    is the caller's (lib/db.h), so records are written in the caller's
    transaction — audit before forward.

    A writable open of a store written before the subject index builds it
    (one transaction, logged as audit_subject_index_built).

    The in-memory tree follows the transaction: call audit_log_commit after
    the caller's COMMIT and audit_log_rollback after a ROLLBACK.

    Ownership: audit_log_t owns its audit store and tree, not `db`.
*/
#ifndef HARTSLAG_AUDIT_LOG_H
#define HARTSLAG_AUDIT_LOG_H

#include "audit_store.h"
#include "checkpoint.h"
#include "db.h"
#include "hartslag.pb-c.h"
#include "merkle.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_RECORD_MAX 16384 /* a packed record: metadata of one event */

typedef struct audit_log_t audit_log_t;

/* Opens the log in `db` (creating its tables when `writable`). `origin` is
   the checkpoint origin ("hartslag.<partnership>/audit"); a log created
   under another origin is refused. NULL with the reason in `err`. */
audit_log_t *audit_log_open(db_t *db, const char *origin, bool writable, char *err, size_t errlen);

void audit_log_destroy(audit_log_t **self_p);

/* The log's store (borrowed), for readers of its tables (the broker's
   inclusion answers, lib/audit_verify). */
audit_store_t *audit_log_store(audit_log_t *self);

/* Appends `record` (its index and prev_hash are set here), and its subject
   index row when it has a 32-byte subject. Returns the record's index, or
   -1 when it could not be packed or written (then the caller's transaction
   must be rolled back). Needs a writable open. */
int64_t audit_log_append(audit_log_t *self, Hartslag__AuditRecord *record)
    __attribute__((warn_unused_result));

/* The caller's transaction committed / rolled back. */
void audit_log_commit(audit_log_t *self);
void audit_log_rollback(audit_log_t *self);

uint64_t audit_log_size(const audit_log_t *self);
void audit_log_root(const audit_log_t *self, unsigned char root[MERKLE_HASHBYTES]);
const char *audit_log_origin(const audit_log_t *self);

/* Size of the latest stored checkpoint (0 when none). */
uint64_t audit_log_checkpoint_size(const audit_log_t *self);

/* Signs a checkpoint of the current size with the log key and stores it
   (in the caller's transaction). 0, or -1. */
int audit_log_checkpoint(audit_log_t *self, const unsigned char sign_sk[CHECKPOINT_SECRETKEYBYTES],
                         int64_t now_ms) __attribute__((warn_unused_result));

/* The latest stored checkpoint note (NUL-terminated) and its size. 0, or -1
   when there is none. */
int audit_log_latest_note(audit_log_t *self, char note[CHECKPOINT_NOTE_MAX + 1], size_t *len,
                          uint64_t *size);

/* The stored checkpoint note of exactly `size`. 0, or -1. */
int audit_log_note_at(audit_log_t *self, uint64_t size, char note[CHECKPOINT_NOTE_MAX + 1],
                      size_t *len);

/* Proofs over the stored log (node cache: O(log n) lookups). 0, or -1. */
int audit_log_inclusion_proof(audit_log_t *self, uint64_t index, uint64_t size,
                              unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES], size_t *len);
int audit_log_consistency_proof(audit_log_t *self, uint64_t old_size, uint64_t new_size,
                                unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES],
                                size_t *len);

/* Root of the tree of the first `size` records. 0, or -1. */
int audit_log_root_at(audit_log_t *self, uint64_t size, unsigned char root[MERKLE_HASHBYTES]);

/* Stores a partner's cosignature line of checkpoint `size` (verified by
   the caller). 0, or -1. */
int audit_log_store_cosignature(audit_log_t *self, uint64_t size, const char *org, const char *line,
                                int64_t now_ms);

/* Record `index` as stored: a new buffer (caller frees) and its length. 0, or -1. */
int audit_log_record(audit_log_t *self, uint64_t index, uint8_t **bytes, size_t *len);

/* Retention (NEN 7513): removes the bytes of the records older than
   `cutoff_ms` (a prefix of the log), keeping their leaf hashes so the tree
   and every checkpoint still verify. *purged_before receives the index
   below which records are now purged (0 when nothing was); their subject
   index rows are removed with them. The caller then appends a "purged"
   record that declares it (audit_verify refuses emptied records no purge
   record accounts for). In the caller's transaction. */
int audit_log_purge(audit_log_t *self, int64_t cutoff_ms, uint64_t *purged_before);

/* The origin for a partnership id: "hartslag.<partnership>/audit". */
void audit_log_origin_for(const char *partnership, char *out, size_t outlen);

#endif
