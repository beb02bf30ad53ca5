/*  store_internal: what the files of the broker's store share (store.c,
    store_queue.c, store_match.c). Not for the rest of the broker: it goes
    through broker/store.h.

    The statements of the hot path are prepared once at open and kept here
    by number (as the queue always did): a loop turn binds and runs them
    without looking them up by their text. lib/db.h keeps them valid until
    the connection closes; each is reset after use.
*/
#ifndef HARTSLAG_BROKER_STORE_INTERNAL_H
#define HARTSLAG_BROKER_STORE_INTERNAL_H

#include "store.h"
#include "wal_checkpointer.h"

#include <stdbool.h>

/* store_queue.c's statements. */
enum {
    QST_FIND,
    QST_INSERT_SIGNAL,
    QST_INSERT_DELIVERY,
    QST_PENDING,
    QST_PENDING_COUNT,
    QST_PENDING_COUNT_ALL,
    QST_SETTLE,
    QST_SETTLE_SEQ,
    QST_REMAINING,
    QST_DROP_SEALED,
    QST_EXPIRE_SELECT,
    QST_EXPIRE_UPDATE,
    QST_WITHDRAW_MARK,
    QST_WITHDRAW_RECIPIENTS,
    QST_WITHDRAW_CANCEL,
    QST_PRUNE,
    QST_NOTICE_DROP,
    QST_NOTICE_ADD,
    QST_NOTICES,
    QST_NOTICE_REMOVE,
    QST_DELIVERY_STATE,
    QST_DELIVERED_SET,
    QST_DELIVERED_GET,
    QST_AGREEMENTS_IN_FORCE,
    QST_AGREEMENTS_RECORD,
    QST_AGREEMENTS_SIGNATURE,
    /* PostgreSQL only (NULL on SQLite): the hot path without a round trip
       per row (store_queue.c). */
    QST_PG_SEQ_BLOCK,
    QST_PG_INSERT_DELIVERY,
    QST_PG_SETTLE,
    QST_PG_SETTLE_SEQ,
    QST_PG_SETTLE_SENT,
    QST_PG_HELD,
    QST_COUNT_
};

/* Delivery numbers a PostgreSQL store takes from its sequence at a time. */
#define STORE_SEQ_BLOCK 256

/* store_match.c's statements. */
enum {
    MST_INDEX_PUT,
    MST_WINDOW,
    MST_MEMBERS_GET,
    MST_MEMBERS_PUT,
    MST_ALERT_PUT,
    MST_ALERT_GET,
    MST_ALERT_HANDLE,
    MST_WITHDRAW,
    MST_PRUNE,
    MST_COUNT,
    MST_COUNT_
};

/*  Invariant: every statement in `queue` and `match` was prepared on `db`
    and is reset after each use. `checkpointer` is NULL unless started. */
struct broker_store_t {
    db_t *db;                     /* the connection, owned */
    bool sqlite;                  /* db_backend is "sqlite" */
    db_stmt_t *begin;             /* the backend's text for a writing transaction */
    db_stmt_t *queue[QST_COUNT_]; /* store_queue.c */
    /* PostgreSQL: delivery numbers taken from the sequence and not yet
       used, ascending (seqs[seq_used..seq_count-1]). A sequence never
       hands a number out twice, so numbers lost with a rolled-back turn
       or a dead broker leave gaps, never duplicates. */
    int64_t seqs[STORE_SEQ_BLOCK];
    size_t seq_used, seq_count;
    /* PostgreSQL: the signal ids of this turn's submissions that the store
       did not hold when broker_store_prefetch asked, sorted. Each answers
       broker_store_find_signal "not found" once, without a round trip; a
       second ask reads (the first may have stored it). Emptied at commit
       and rollback. */
    struct store_absent_t {
        uint8_t id[QUEUE_ID_BYTES];
        bool used;
    } * absent;
    size_t n_absent, absent_cap;
    db_stmt_t *match[MST_COUNT_];     /* store_match.c */
    wal_checkpointer_t *checkpointer; /* SQLite's WAL beside the loop */
};

/* Prepares the statements of store_queue.c / store_match.c. 0, or -1 with
   the reason. */
int store_queue_prepare(broker_store_t *self, char *err, size_t errlen);
int store_match_prepare(broker_store_t *self, char *err, size_t errlen);

/* Drops what broker_store_prefetch learnt (the transaction ended). */
void store_queue_forget_absent(broker_store_t *self);

#endif
