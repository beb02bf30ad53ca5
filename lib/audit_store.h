/*  audit_store: the audit log's tables (issue 16, "the seam"). The only
    code that knows them; everything else (lib/audit_log, lib/audit_verify,
    the CLI's readers, the broker's inclusion answers) goes through the
    narrow functions below.

        audit(idx, record, leaf)           one row per record: the packed
                                           AuditRecord as hashed (empty once
                                           purged) and its leaf hash
        audit_nodes(level, idx, hash)      perfect subtree roots (the tree's
                                           node cache, lib/audit_log)
        audit_meta(key, value)             the log's origin
        checkpoints(size, note, made_ms)   signed tree heads (C2SP notes)
        cosignatures(size, org, line, received_ms)
                                           partners' cosignatures of them
        audit_subjects(seg, tag, idx)      subject index (lib/audit_subjects.h
                                           says why segments and tags)

    SQL goes through lib/db.h only, on a connection the store borrows and
    in the caller's transaction: the broker hands it its own connection, so
    one commit makes a signal and its audit records durable together. The
    schema is one text per backend, chosen by db_backend(); the statements
    are the same on every backend (db_prepare caches them by text, so the
    hot path prepares nothing).

    Cursors: a cursor holds a cached statement of its kind (records, or a
    subject's records). Opening a second cursor of the same kind on the same
    store ends the first one: its next call fails instead of reading rows
    of the other. Every other call may be made while a cursor is open.

    Row values (bytes, leaf, note) are borrowed until the next call on the
    same cursor or statement; copy what must stay.

    Ownership: audit_store_t owns nothing but itself; `db` is the caller's.
*/
#ifndef HARTSLAG_AUDIT_STORE_H
#define HARTSLAG_AUDIT_STORE_H

#include "db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_STORE_HASHBYTES 32 /* a leaf or node hash (MERKLE_HASHBYTES) */

typedef struct audit_store_t audit_store_t;
typedef struct audit_cursor_t audit_cursor_t;

/* Whether `db` holds an audit log (its `audit` table): 1 yes, 0 no, -1
   when it cannot be read (reason on the connection). Reads only. */
int audit_store_present(db_t *db);

/* The store on `db` (borrowed). `writable`: creates the tables that are
   missing (not the subject index: see audit_store_subjects_create). NULL
   with the reason in `err`. */
audit_store_t *audit_store_open(db_t *db, bool writable, char *err, size_t errlen);
void audit_store_destroy(audit_store_t **self_p);

/* The connection (borrowed), for db_errmsg and the caller's transaction. */
db_t *audit_store_db(audit_store_t *self);

/* ---- meta ------------------------------------------------------------ */

/* The value of `key` into `value` (truncated to fit): 1 found, 0 none, -1
   error. */
int audit_store_meta_get(audit_store_t *self, const char *key, char *value, size_t len);

/* Sets `key` to `value`, replacing it. 0, or -1. */
int audit_store_meta_set(audit_store_t *self, const char *key, const char *value);

/* ---- records --------------------------------------------------------- */

/* Writes record `index`: its bytes and leaf hash, which must stay valid
   until the call returns (bound without a copy: the broker's hot path).
   0, or -1 (a record of that index exists: DB_ERR_CONSTRAINT). A writable
   store on PostgreSQL, inside a transaction, gathers the record (and
   audit_store_subject_put its row) and writes a transaction's rows with
   one statement per table: before the next read of the audit tables or
   just before COMMIT (db_set_commit_hook); a rollback drops them. Such a
   record's error is then reported by that read or by db_commit, and the
   transaction fails whole. */
int audit_store_record_put(audit_store_t *self, uint64_t index, const uint8_t *bytes, size_t len,
                           const unsigned char leaf[AUDIT_STORE_HASHBYTES]);

/* Record `index` as stored: a new buffer (caller frees; 1 byte for an
   empty, purged record) and its length. 1 found, 0 none, -1 error. */
int audit_store_record_get(audit_store_t *self, uint64_t index, uint8_t **bytes, size_t *len);

/* The record at position `pos` in index order (the pos-th row, whatever
   its idx column says: for a verifier of a damaged store). As _get. */
int audit_store_record_nth(audit_store_t *self, uint64_t pos, uint8_t **bytes, size_t *len);

/* The stored leaf hash of record `index`: 1 found (32 bytes), 0 none or
   not 32 bytes, -1 error. */
int audit_store_leaf_get(audit_store_t *self, uint64_t index,
                         unsigned char leaf[AUDIT_STORE_HASHBYTES]);

/* The length of record `index`'s bytes without reading them: 1 found, 0
   none, -1 error. */
int audit_store_record_length(audit_store_t *self, uint64_t index, uint64_t *len);

/* Highest index + 1 (0 when empty). 0, or -1. */
int audit_store_record_count(audit_store_t *self, uint64_t *count);

/* One row of a cursor. `bytes` (never NULL; len 0 when purged) and
   `leaf` (NULL when the column is not 32 bytes) are borrowed until the
   next call on the cursor. */
typedef struct {
    int64_t idx;               /* the idx column */
    const uint8_t *bytes;      /* the record column */
    size_t len;                /* its length */
    const unsigned char *leaf; /* the leaf column, or NULL */
} audit_row_t;

/* The rows at positions [offset, offset + count) in index order (count
   UINT64_MAX: to the end). NULL on error (reason on the connection). */
audit_cursor_t *audit_store_records(audit_store_t *self, uint64_t offset, uint64_t count);

/* The rows the subject index holds under `tag` with idx >= `from`, in
   index order: (idx, record; leaf NULL). Rows of other subjects that share
   the tag come too: the caller compares each record's full subject. One
   seek per segment the index holds, never a walk of 0..max(idx). */
audit_cursor_t *audit_store_subject_records(audit_store_t *self, int64_t tag, uint64_t from);

/* The next row: 1 read, 0 end, -1 error (or the cursor was ended by
   another of its kind). */
int audit_cursor_next(audit_cursor_t *cursor, audit_row_t *row);
void audit_cursor_destroy(audit_cursor_t **cursor_p);

/* Retention: empties the bytes of the records below `end` that still have
   them (leaf hashes stay). *changed receives how many. 0, or -1. */
int audit_store_purge(audit_store_t *self, uint64_t end, uint64_t *changed);

/* ---- tree nodes (lib/audit_log's node cache) ------------------------- */

int audit_store_node_put(audit_store_t *self, unsigned level, uint64_t index,
                         const unsigned char hash[AUDIT_STORE_HASHBYTES]);
/* 1 found, 0 none, -1 error. */
int audit_store_node_get(audit_store_t *self, unsigned level, uint64_t index,
                         unsigned char hash[AUDIT_STORE_HASHBYTES]);

/* ---- checkpoints ----------------------------------------------------- */

/* Stores the note of checkpoint `size` (replacing one of that size). */
int audit_store_checkpoint_put(audit_store_t *self, uint64_t size, const char *note,
                               int64_t made_ms);

/* The latest (largest) checkpoint: 1 found, 0 none, -1 error. `note`
   (NUL-terminated, `cap` bytes with the NUL) and `made_ms` may be NULL. A
   note that does not fit is an error. */
int audit_store_checkpoint_latest(audit_store_t *self, uint64_t *size, char *note, size_t cap,
                                  size_t *len, int64_t *made_ms);

/* The checkpoint of exactly `size`: as _latest. */
int audit_store_checkpoint_at(audit_store_t *self, uint64_t size, char *note, size_t cap,
                              size_t *len);

/* How many checkpoints are stored. 0, or -1. */
int audit_store_checkpoint_count(audit_store_t *self, uint64_t *count);

/* Calls `fn` for each checkpoint in size order (note borrowed for the
   call). fn returns 0 to go on, anything else to stop with that value.
   0 all read, fn's value, or -1 on a store error. */
typedef int(audit_checkpoint_fn)(void *arg, uint64_t size, const char *note, size_t len,
                                 int64_t made_ms);
int audit_store_checkpoints_each(audit_store_t *self, audit_checkpoint_fn *fn, void *arg);

/* ---- cosignatures ---------------------------------------------------- */

/* Stores `org`'s cosignature line of checkpoint `size` (replacing one). */
int audit_store_cosignature_put(audit_store_t *self, uint64_t size, const char *org,
                                const char *line, int64_t received_ms);

/* One stored cosignature, with the note of the checkpoint of its size
   (NULL when there is none). Strings borrowed for the call. */
typedef struct {
    uint64_t size;
    const char *org;
    const char *line;
    size_t line_len;
    int64_t received_ms;
    const char *note;
    size_t note_len;
} audit_cosignature_t;

typedef int(audit_cosignature_fn)(void *arg, const audit_cosignature_t *cosignature);

/* Each cosignature in (size, org) order; `size` >= 0: only of that size.
   As audit_store_checkpoints_each. */
int audit_store_cosignatures_each(audit_store_t *self, int64_t size, audit_cosignature_fn *fn,
                                  void *arg);

/* Per org, in org order: the largest size it cosigned and its latest
   received_ms (in the fields of the same names; line and note NULL). */
int audit_store_cosigners_each(audit_store_t *self, audit_cosignature_fn *fn, void *arg);

/* The largest size `org` cosigned: 1 found, 0 none, -1 error. */
int audit_store_cosignature_max(audit_store_t *self, const char *org, uint64_t *size);

/* Whether `org` cosigned checkpoint `size`: 1, 0, -1. */
int audit_store_cosigned(audit_store_t *self, uint64_t size, const char *org);

/* ---- subject index (lib/audit_subjects.h) ---------------------------- */

/* True when the table exists with its seg column (an older shape counts as
   missing). Reads only. */
bool audit_store_subjects_exist(audit_store_t *self);

/* Creates the table (replacing one of an older shape) and fills it from
   the stored records (purged records get no row), in the caller's
   transaction; *rows receives the rows written. 0, or -1. */
int audit_store_subjects_create(audit_store_t *self, uint64_t *rows);

/* The row of record `idx` under `tag`: put (an existing row is kept),
   delete, look up (1 present, 0 not, -1 error). */
int audit_store_subject_put(audit_store_t *self, int64_t tag, uint64_t idx);
int audit_store_subject_delete(audit_store_t *self, int64_t tag, uint64_t idx);
int audit_store_subject_has(audit_store_t *self, int64_t tag, uint64_t idx);

/* Calls `fn` with every (tag, idx) row: in the index's own order, or with
   `by_idx` in (idx, tag) order. As audit_store_checkpoints_each. */
typedef int(audit_subject_row_fn)(void *arg, int64_t tag, int64_t idx);
int audit_store_subject_rows(audit_store_t *self, bool by_idx, audit_subject_row_fn *fn, void *arg);

#endif
