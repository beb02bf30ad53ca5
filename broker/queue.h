/*  queue: the broker's durable state in one SQLite database (WAL):
    the signals it accepted, one delivery per (signal, recipient), pending
    notices for offline partners (withdrawals, expiries). The audit log
    (lib/audit_log) lives in the same database, so one commit makes a signal
    and its audit records durable together.

    All writes of one event-loop turn happen inside one transaction
    (queue_begin .. queue_commit): the group commit of DESIGN §8. Nothing a
    turn did is visible to a partner before the commit returns 0, so a
    signal is never Accepted, delivered or forgotten before it is durable.

    The broker stores the sealed signal exactly as signed (it cannot read the
    content) and deletes it after the last recipient's ack; the row with the
    id stays until the signal lapses, so a replayed Submit is recognised.

    Ownership: queue_t owns its database handle and prepared statements.
*/
#ifndef HARTSLAG_QUEUE_H
#define HARTSLAG_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUEUE_ID_BYTES 16
#define QUEUE_DIGEST_BYTES 32

typedef struct queue_t queue_t;

typedef enum {
    DELIVERY_PENDING = 0,   /* not yet acknowledged by the recipient */
    DELIVERY_ACKED = 1,     /* stored by the recipient */
    DELIVERY_REJECTED = 2,  /* refused by the recipient (audited) */
    DELIVERY_EXPIRED = 3,   /* max_queue_days passed */
    DELIVERY_WITHDRAWN = 4, /* the sender withdrew it before delivery */
} delivery_state_t;

typedef enum {
    NOTICE_WITHDRAW = 1, /* forward a withdrawal to a recipient; kept until it answers */
    NOTICE_EXPIRED = 2,  /* tell a sender a delivery expired; dropped once sent */
    NOTICE_ALERT = 3,    /* an alert (or its update); kept until the daemon acks it */
    NOTICE_OUTCOME = 4,  /* tell a sender what a recipient did; kept until the sender acks it */
} notice_kind_t;

/* The routing metadata of a signal the queue keeps for audit records
   (never content: the broker has none to keep). */
typedef struct {
    char sender[33];      /* sending org */
    char signal_type[65]; /* signal type */
    char purpose[65];     /* purpose */
    uint8_t subject[32];  /* subject pseudonym */
} queue_meta_t;

/* What the queue knows of one accepted signal. */
typedef struct {
    queue_meta_t meta;                  /* sender, type, purpose, subject */
    uint8_t digest[QUEUE_DIGEST_BYTES]; /* BLAKE2b-256 of the packed sealed signal */
    int64_t accepted_at_ms;             /* when the broker accepted it */
    int64_t audit_index;                /* the 'accepted' audit record */
    bool withdrawn;                     /* the sender withdrew it */
} queue_signal_t;

/* Opens (creating if needed) the database at `path`. NULL with the reason. */
queue_t *queue_open(const char *path, char *err, size_t errlen);
void queue_destroy(queue_t **self_p);

/* The text of the last SQLite error (for the log; never holds data). */
const char *queue_error(const queue_t *self);

int queue_begin(queue_t *self);
int queue_commit(queue_t *self);
void queue_rollback(queue_t *self);

/* 1 and *out filled when the signal is known, 0 when not, -1 on error. */
int queue_find_signal(queue_t *self, const uint8_t id[QUEUE_ID_BYTES], queue_signal_t *out);

/* The state of the delivery of signal `id` to `recipient`: 1 and *state
   set, 0 when there is no such delivery, -1 on error. */
int queue_delivery_state(queue_t *self, const uint8_t id[QUEUE_ID_BYTES], const char *recipient,
                         delivery_state_t *state);

/* Remembers the index of the `delivered` audit record of signal `id` to
   `recipient`, so that an inclusion request finds it by one lookup
   (broker/inclusion.c). 0, or -1 on error. */
int queue_delivered_set(queue_t *self, const uint8_t id[QUEUE_ID_BYTES], const char *recipient,
                        int64_t audit_index);

/* That index: 1 and *audit_index, 0 when none was kept (not delivered yet,
   or delivered by a broker older than the column), -1 on error. */
int queue_delivered_index(queue_t *self, const uint8_t id[QUEUE_ID_BYTES], const char *recipient,
                          int64_t *audit_index);

/* The agreements history (issue 14 item 4): every version the broker
   enforced, with its exact bytes and the signature files that verified. */
#define QUEUE_AGREEMENTS_HASH_BYTES 32

/* The version in force (the last recorded): 1 with its number, hash and
   bytes (*file malloc'd, NUL-terminated, caller frees), 0 when none was
   ever recorded, -1 on error. */
int queue_agreements_in_force(queue_t *self, uint64_t *version,
                              uint8_t hash[QUEUE_AGREEMENTS_HASH_BYTES], char **file, size_t *len);

/* Records that a version took effect at `at_ms`. 0 or -1 (also when that
   hash was recorded before). */
int queue_agreements_record(queue_t *self, uint64_t version,
                            const uint8_t hash[QUEUE_AGREEMENTS_HASH_BYTES], const char *file,
                            size_t len, int64_t at_ms);

/* Keeps a partner's signature file of the version with `hash`; one per
   signer, the first kept. 0 or -1. */
int queue_agreements_signature(queue_t *self, const uint8_t hash[QUEUE_AGREEMENTS_HASH_BYTES],
                               const char *signer, const char *signature, size_t len);

int queue_insert_signal(queue_t *self, const uint8_t id[QUEUE_ID_BYTES], const queue_meta_t *meta,
                        const uint8_t digest[QUEUE_DIGEST_BYTES], const uint8_t *sealed,
                        size_t sealed_len, int64_t accepted_at_ms, int64_t valid_until_ms,
                        int64_t audit_index);

/* Returns the delivery's seq (its place in the recipient's queue), or -1. */
int64_t queue_insert_delivery(queue_t *self, const uint8_t id[QUEUE_ID_BYTES],
                              const char *recipient, int64_t expires_at_ms);

/* Calls `fn` for up to `limit` pending deliveries of `recipient` with
   seq > after_seq, in seq order. The sealed bytes are borrowed for the call.
   Returns the number visited, or -1. */
typedef int(queue_pending_fn)(void *arg, int64_t seq, const uint8_t id[QUEUE_ID_BYTES],
                              const queue_meta_t *meta, const uint8_t *sealed, size_t sealed_len,
                              int64_t accepted_at_ms);
int queue_pending(queue_t *self, const char *recipient, int64_t after_seq, size_t limit,
                  queue_pending_fn *fn, void *arg);

/* Number of pending deliveries for `recipient` (all when NULL). */
int64_t queue_pending_count(queue_t *self, const char *recipient);

/* Moves the pending delivery (id, recipient) to `state`. Returns 1 when it
   was pending, 0 when there was none (an old or duplicate ack), -1 on error.
   When no delivery of the signal is pending any more, its ciphertext is
   deleted. */
int queue_settle(queue_t *self, const uint8_t id[QUEUE_ID_BYTES], const char *recipient,
                 delivery_state_t state);

/* The same for the delivery the caller knows by its seq (the loop remembers
   what it sent): a rowid lookup instead of an index search. The id and
   recipient must match too, so a stale seq settles nothing. */
int queue_settle_seq(queue_t *self, int64_t seq, const uint8_t id[QUEUE_ID_BYTES],
                     const char *recipient, delivery_state_t state);

/* Expires every pending delivery whose deadline is <= now; calls `fn` for each. */
typedef void(queue_expired_fn)(void *arg, const uint8_t id[QUEUE_ID_BYTES],
                               const queue_meta_t *meta, const char *recipient);
int queue_expire(queue_t *self, int64_t now_ms, queue_expired_fn *fn, void *arg);

/* Marks the signal withdrawn, cancels its pending deliveries, and calls
   `fn` for every recipient (pending or delivered) to be told. */
typedef void(queue_recipient_fn)(void *arg, const char *recipient);
int queue_withdraw(queue_t *self, const uint8_t id[QUEUE_ID_BYTES], queue_recipient_fn *fn,
                   void *arg);

/* Deletes the id rows of signals that lapsed before `now_ms` and have no
   pending delivery. Returns the number removed, or -1. */
int queue_prune(queue_t *self, int64_t now_ms);

/* Notices for a partner that may be offline. Adding an existing (org, kind,
   id) replaces its frame (an alert's later state wins). */
int queue_notice_add(queue_t *self, const char *org, notice_kind_t kind,
                     const uint8_t id[QUEUE_ID_BYTES], const uint8_t *frame, size_t len);
/* Calls `fn` for each of `org`'s notices with seq > after_seq, in order. */
typedef void(queue_notice_fn)(void *arg, int64_t seq, notice_kind_t kind,
                              const uint8_t id[QUEUE_ID_BYTES], const uint8_t *frame, size_t len);
int queue_notices(queue_t *self, const char *org, int64_t after_seq, queue_notice_fn *fn,
                  void *arg);
int queue_notice_remove(queue_t *self, const char *org, notice_kind_t kind,
                        const uint8_t id[QUEUE_ID_BYTES]);

/* A small key/value table for the broker's own state (e.g. whether the
   last run stopped cleanly). get: 1 found, 0 not, -1 error. */
int queue_meta_get(queue_t *self, const char *key, char *value, size_t len);
int queue_meta_set(queue_t *self, const char *key, const char *value);

/* Compares the partner table (n CURVE keys and their orgs) with the keys
   seen before, calls `fn` for each added (true) and revoked (false)
   partner, and remembers the new table. */
typedef void(queue_partner_fn)(void *arg, const char *org, bool added);
int queue_partners_sync(queue_t *self, const uint8_t (*keys)[32], const char *const *orgs, size_t n,
                        queue_partner_fn *fn, void *arg);

/* The database handle, for the audit log that shares it. Borrowed. */
struct sqlite3;
struct sqlite3 *queue_db(queue_t *self);

#endif
