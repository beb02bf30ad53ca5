/*  store_queue: the queue part of the broker's store (broker/store.h):
    the signals the broker accepted, one delivery per (signal, recipient),
    pending notices for offline partners (withdrawals, expiries, alerts,
    outcomes, case steps), the agreements history, the partners seen, and a small
    key/value table of the broker's own state. Every call runs in the
    caller's transaction (broker_store_begin .. broker_store_commit).

    The broker stores the sealed signal exactly as signed (it cannot read the
    content) and deletes it after the last recipient's ack; the row with the
    id stays until the signal lapses, so a replayed Submit is recognised.

    The types keep the queue's names (queue_meta_t, delivery_state_t, ...):
    they are the queue's vocabulary, whatever stores it.
*/
#ifndef HARTSLAG_BROKER_STORE_QUEUE_H
#define HARTSLAG_BROKER_STORE_QUEUE_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUEUE_ID_BYTES 16
#define QUEUE_DIGEST_BYTES 32

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
    NOTICE_CASE = 5,     /* a step in a case conference; kept until the daemon acks it */
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

/* PostgreSQL: asks in one round trip which of a turn's submitted signal
   ids (n of them, duplicates allowed) the store holds, so that
   broker_store_find_signal answers "not known" for the others once each
   without a round trip of its own (a second ask reads: the first may have
   stored it). The answer holds until the transaction ends. A no-op on
   SQLite, and when memory is short (then every find reads). 0 or -1. */
int broker_store_prefetch(broker_store_t *self, const uint8_t (*ids)[QUEUE_ID_BYTES], size_t n);

/* 1 and *out filled when the signal is known, 0 when not, -1 on error. */
int broker_store_find_signal(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                             queue_signal_t *out);

/* The state of the delivery of signal `id` to `recipient`: 1 and *state
   set, 0 when there is no such delivery, -1 on error. */
int broker_store_delivery_state(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                                const char *recipient, delivery_state_t *state);

/* Remembers the index of the `delivered` audit record of signal `id` to
   `recipient`, so that an inclusion request finds it by one lookup
   (broker/inclusion.c). 0, or -1 on error. */
int broker_store_delivered_set(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                               const char *recipient, int64_t audit_index);

/* That index: 1 and *audit_index, 0 when none was kept (not delivered yet,
   or delivered by a broker older than the column), -1 on error. */
int broker_store_delivered_index(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                                 const char *recipient, int64_t *audit_index);

/* The agreements history (issue 14 item 4): every version the broker
   enforced, with its exact bytes and the signature files that verified. */
#define QUEUE_AGREEMENTS_HASH_BYTES 32

/* The version in force (the last recorded): 1 with its number, hash and
   bytes (*file malloc'd, NUL-terminated, caller frees), 0 when none was
   ever recorded, -1 on error. */
int broker_store_agreements_in_force(broker_store_t *self, uint64_t *version,
                                     uint8_t hash[QUEUE_AGREEMENTS_HASH_BYTES], char **file,
                                     size_t *len);

/* Records that a version took effect at `at_ms`. 0 or -1 (also when that
   hash was recorded before). */
int broker_store_agreements_record(broker_store_t *self, uint64_t version,
                                   const uint8_t hash[QUEUE_AGREEMENTS_HASH_BYTES],
                                   const char *file, size_t len, int64_t at_ms);

/* Keeps a partner's signature file of the version with `hash`; one per
   signer, the first kept. 0 or -1. */
int broker_store_agreements_signature(broker_store_t *self,
                                      const uint8_t hash[QUEUE_AGREEMENTS_HASH_BYTES],
                                      const char *signer, const char *signature, size_t len);

int broker_store_insert_signal(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                               const queue_meta_t *meta, const uint8_t digest[QUEUE_DIGEST_BYTES],
                               const uint8_t *sealed, size_t sealed_len, int64_t accepted_at_ms,
                               int64_t valid_until_ms, int64_t audit_index);

/* Returns the delivery's seq (its place in the recipient's queue), or -1. */
int64_t broker_store_insert_delivery(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                                     const char *recipient, int64_t expires_at_ms);

/* Calls `fn` for up to `limit` pending deliveries of `recipient` with
   seq > after_seq, in seq order. The sealed bytes are borrowed for the call.
   Returns the number visited, or -1. */
typedef int(queue_pending_fn)(void *arg, int64_t seq, const uint8_t id[QUEUE_ID_BYTES],
                              const queue_meta_t *meta, const uint8_t *sealed, size_t sealed_len,
                              int64_t accepted_at_ms);
int broker_store_pending(broker_store_t *self, const char *recipient, int64_t after_seq,
                         size_t limit, queue_pending_fn *fn, void *arg);

/* Number of pending deliveries for `recipient` (all when NULL). */
int64_t broker_store_pending_count(broker_store_t *self, const char *recipient);

/* Moves the pending delivery (id, recipient) to `state`. Returns 1 when it
   was pending, 0 when there was none (an old or duplicate ack), -1 on error.
   When no delivery of the signal is pending any more, its ciphertext is
   deleted. */
int broker_store_settle(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                        const char *recipient, delivery_state_t state);

/* The same for the delivery the caller knows by its seq (the loop remembers
   what it sent): a rowid lookup instead of an index search. The id and
   recipient must match too, so a stale seq settles nothing. */
int broker_store_settle_seq(broker_store_t *self, int64_t seq, const uint8_t id[QUEUE_ID_BYTES],
                            const char *recipient, delivery_state_t state);

/* The same for a delivery the caller sent and knows to be pending: it
   sent it (broker_store_pending), and no ack, expiry or withdrawal has
   settled it since. Returns 1, or -1. On PostgreSQL the write joins the
   turn's pipeline instead of waiting for an answer (a round trip per ack
   was the largest cost of a turn); should the delivery not be pending
   after all, the statement fails and the whole transaction with it
   (fail closed: the turn is refused, nothing of it counts), so the 1 never
   stands for a settle that did not happen. On SQLite it is
   broker_store_settle_seq (and may return 0). */
int broker_store_settle_sent(broker_store_t *self, int64_t seq, const uint8_t id[QUEUE_ID_BYTES],
                             const char *recipient, delivery_state_t state);

/* Expires every pending delivery whose deadline is <= now; calls `fn` for each. */
typedef void(queue_expired_fn)(void *arg, const uint8_t id[QUEUE_ID_BYTES],
                               const queue_meta_t *meta, const char *recipient);
int broker_store_expire(broker_store_t *self, int64_t now_ms, queue_expired_fn *fn, void *arg);

/* Marks the signal withdrawn, cancels its pending deliveries, and calls
   `fn` for every recipient (pending or delivered) to be told. */
typedef void(queue_recipient_fn)(void *arg, const char *recipient);
int broker_store_withdraw(broker_store_t *self, const uint8_t id[QUEUE_ID_BYTES],
                          queue_recipient_fn *fn, void *arg);

/* Deletes the id rows of signals that lapsed before `now_ms` and have no
   pending delivery. Returns the number removed, or -1. */
int broker_store_prune(broker_store_t *self, int64_t now_ms);

/* Notices for a partner that may be offline. Adding an existing (org, kind,
   id) replaces its frame (an alert's later state wins). */
int broker_store_notice_add(broker_store_t *self, const char *org, notice_kind_t kind,
                            const uint8_t id[QUEUE_ID_BYTES], const uint8_t *frame, size_t len);
/* Calls `fn` for each of `org`'s notices with seq > after_seq, in order. */
typedef void(queue_notice_fn)(void *arg, int64_t seq, notice_kind_t kind,
                              const uint8_t id[QUEUE_ID_BYTES], const uint8_t *frame, size_t len);
int broker_store_notices(broker_store_t *self, const char *org, int64_t after_seq,
                         queue_notice_fn *fn, void *arg);
int broker_store_notice_remove(broker_store_t *self, const char *org, notice_kind_t kind,
                               const uint8_t id[QUEUE_ID_BYTES]);

/* A small key/value table for the broker's own state (e.g. whether the
   last run stopped cleanly). get: 1 found, 0 not, -1 error. */
int broker_store_meta_get(broker_store_t *self, const char *key, char *value, size_t len);
int broker_store_meta_set(broker_store_t *self, const char *key, const char *value);

/* Compares the partner table (n CURVE keys and their orgs) with the keys
   seen before, calls `fn` for each added (true) and revoked (false)
   partner, and remembers the new table. */
typedef void(queue_partner_fn)(void *arg, const char *org, bool added);
int broker_store_partners_sync(broker_store_t *self, const uint8_t (*keys)[32],
                               const char *const *orgs, size_t n, queue_partner_fn *fn, void *arg);

/* For `hartslag broker status`: the deliveries pending for `recipient` and
   the acceptance time of the oldest of them (0 when none). 0 or -1. */
int broker_store_backlog(broker_store_t *self, const char *recipient, int64_t *queued,
                         int64_t *oldest_ms);

#endif
