/*  Tests for broker/queue, the broker's durable store (issue 16 item 1):
    a signal is enqueued for its recipients and handed out in order until
    each acknowledges; an unacknowledged delivery is handed out again after
    a restart; a duplicate ack settles nothing; a rolled-back turn leaves no
    signal, delivery, notice or meta row; deliveries past their deadline
    expire and lapsed signals are pruned; a full disk is reported, not
    half-stored. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "testutil.h"

static char *s_dir;
static char s_path[4200];
static char s_err[256];

static void s_setup(void)
{
    tu_watchdog(60);
    s_dir = tu_tmpdir();
    cr_assert_not_null(s_dir);
    snprintf(s_path, sizeof s_path, "%s/broker.db", s_dir);
}

static void s_teardown(void)
{
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(queue, .init = s_setup, .fini = s_teardown);

static queue_t *s_open(void)
{
    queue_t *q = queue_open(s_path, s_err, sizeof s_err);
    cr_assert_not_null(q, "%s", s_err);
    return q;
}

static void s_id(uint8_t id[QUEUE_ID_BYTES], int n)
{
    memset(id, 0, QUEUE_ID_BYTES);
    id[0] = (uint8_t)n;
    id[15] = 0xA5;
}

static const queue_meta_t s_meta = {"gemeente", "overlast", "zorg", {1, 2, 3}};
static const uint8_t s_digest[QUEUE_DIGEST_BYTES] = {9};
static const uint8_t s_sealed[] = "sealed bytes the broker cannot read";

/* Enqueues signal n for r1 and r2, in one turn. */
static void s_enqueue(queue_t *q, int n, int64_t valid_until, int64_t expires_at)
{
    uint8_t id[QUEUE_ID_BYTES];
    s_id(id, n);
    cr_assert_eq(queue_begin(q), 0, "%s", queue_error(q));
    cr_assert_eq(queue_insert_signal(q, id, &s_meta, s_digest, s_sealed, sizeof s_sealed, 1000,
                                     valid_until, n),
                 0, "%s", queue_error(q));
    cr_assert_gt(queue_insert_delivery(q, id, "r1", expires_at), 0);
    cr_assert_gt(queue_insert_delivery(q, id, "r2", expires_at), 0);
    cr_assert_eq(queue_commit(q), 0, "%s", queue_error(q));
}

typedef struct {
    int n;                         /* deliveries visited */
    int64_t seq[8];                /* their seqs */
    uint8_t id[8][QUEUE_ID_BYTES]; /* their ids */
    size_t sealed_len;             /* last sealed length */
} seen_t;

static int s_seen(void *arg, int64_t seq, const uint8_t id[QUEUE_ID_BYTES],
                  const queue_meta_t *meta, const uint8_t *sealed, size_t sealed_len,
                  int64_t accepted_at_ms)
{
    seen_t *seen = arg;
    cr_assert_str_eq(meta->sender, "gemeente");
    cr_assert_eq(accepted_at_ms, 1000);
    cr_assert_eq(memcmp(sealed, s_sealed, sealed_len), 0);
    if (seen->n < 8) {
        seen->seq[seen->n] = seq;
        memcpy(seen->id[seen->n], id, QUEUE_ID_BYTES);
    }
    seen->sealed_len = sealed_len;
    seen->n++;
    return 0;
}

Test(queue, enqueue_deliver_ack)
{
    queue_t *q = s_open();
    s_enqueue(q, 1, 1000000, 1000000);
    s_enqueue(q, 2, 1000000, 1000000);
    cr_assert_eq(queue_pending_count(q, "r1"), 2);
    cr_assert_eq(queue_pending_count(q, NULL), 4);

    seen_t seen = {0};
    cr_assert_eq(queue_pending(q, "r1", 0, 10, s_seen, &seen), 2);
    cr_assert_eq(seen.n, 2);
    cr_assert_lt(seen.seq[0], seen.seq[1], "handed out in order");
    cr_assert_eq(seen.id[0][0], 1);
    cr_assert_eq(seen.sealed_len, sizeof s_sealed);
    /* after_seq: only what was not sent yet */
    seen_t later = {0};
    cr_assert_eq(queue_pending(q, "r1", seen.seq[0], 10, s_seen, &later), 1);
    cr_assert_eq(later.id[0][0], 2);

    uint8_t id[QUEUE_ID_BYTES];
    s_id(id, 1);
    cr_assert_eq(queue_begin(q), 0);
    cr_assert_eq(queue_settle_seq(q, seen.seq[0], id, "r1", DELIVERY_ACKED), 1);
    cr_assert_eq(queue_settle(q, id, "r1", DELIVERY_ACKED), 0, "a duplicate ack settles nothing");
    cr_assert_eq(queue_settle_seq(q, seen.seq[1], id, "r1", DELIVERY_ACKED), 0,
                 "a stale seq settles nothing");
    cr_assert_eq(queue_commit(q), 0);
    delivery_state_t state;
    cr_assert_eq(queue_delivery_state(q, id, "r1", &state), 1);
    cr_assert_eq(state, DELIVERY_ACKED);
    cr_assert_eq(queue_delivery_state(q, id, "r9", &state), 0);

    /* the last ack drops the ciphertext; the id stays for replays */
    cr_assert_eq(queue_begin(q), 0);
    cr_assert_eq(queue_settle(q, id, "r2", DELIVERY_REJECTED), 1);
    cr_assert_eq(queue_commit(q), 0);
    queue_signal_t sig;
    cr_assert_eq(queue_find_signal(q, id, &sig), 1);
    cr_assert_eq(sig.audit_index, 1);
    cr_assert_eq(memcmp(sig.digest, s_digest, sizeof s_digest), 0);
    cr_assert_eq(queue_pending_count(q, NULL), 2);
    queue_destroy(&q);
    cr_assert_null(q);
}

Test(queue, redelivered_after_restart)
{
    queue_t *q = s_open();
    s_enqueue(q, 1, 1000000, 1000000);
    seen_t seen = {0};
    cr_assert_eq(queue_pending(q, "r1", 0, 10, s_seen, &seen), 1);
    queue_destroy(&q); /* sent, never acknowledged, broker stops */

    q = s_open();
    seen_t again = {0};
    cr_assert_eq(queue_pending(q, "r1", 0, 10, s_seen, &again), 1);
    cr_assert_eq(again.seq[0], seen.seq[0], "the same delivery is handed out again");
    queue_destroy(&q);
}

/* The `delivered` record's index is kept per delivery (an inclusion
   request finds it without a search), survives a reopen, and a store from
   before the column gets it on open with its rows intact. */
Test(queue, delivered_index_is_kept_per_delivery)
{
    queue_t *q = s_open();
    s_enqueue(q, 1, 1000000, 1000000);
    uint8_t id[QUEUE_ID_BYTES];
    s_id(id, 1);
    int64_t index = -1;
    cr_assert_eq(queue_delivered_index(q, id, "r1", &index), 0, "nothing kept before delivery");
    cr_assert_eq(queue_begin(q), 0);
    cr_assert_eq(queue_settle(q, id, "r1", DELIVERY_ACKED), 1);
    cr_assert_eq(queue_delivered_set(q, id, "r1", 4242), 0, "%s", queue_error(q));
    cr_assert_eq(queue_commit(q), 0);
    queue_destroy(&q);

    q = s_open();
    cr_assert_eq(queue_delivered_index(q, id, "r1", &index), 1);
    cr_assert_eq(index, 4242);
    cr_assert_eq(queue_delivered_index(q, id, "r2", &index), 0, "r2 has not had it");
    queue_destroy(&q);

    /* An older store: the column dropped again, as a broker before it
       wrote it. */
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(s_path, &db), SQLITE_OK);
    cr_assert_eq(
        sqlite3_exec(db, "ALTER TABLE deliveries DROP COLUMN delivered_index", NULL, NULL, NULL),
        SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
    q = s_open();
    cr_assert_eq(queue_delivered_index(q, id, "r1", &index), 0, "an old delivery has none");
    delivery_state_t state;
    cr_assert_eq(queue_delivery_state(q, id, "r1", &state), 1);
    cr_assert_eq(state, DELIVERY_ACKED, "the old row is intact");
    seen_t seen = {0};
    cr_assert_eq(queue_pending(q, "r2", 0, 10, s_seen, &seen), 1, "r2's delivery still waits");
    queue_destroy(&q);
}

Test(queue, rollback_leaves_nothing)
{
    queue_t *q = s_open();
    uint8_t id[QUEUE_ID_BYTES];
    s_id(id, 7);
    cr_assert_eq(queue_begin(q), 0);
    cr_assert_eq(
        queue_insert_signal(q, id, &s_meta, s_digest, s_sealed, sizeof s_sealed, 1000, 1000000, 7),
        0);
    cr_assert_gt(queue_insert_delivery(q, id, "r1", 1000000), 0);
    cr_assert_eq(queue_notice_add(q, "r1", NOTICE_WITHDRAW, id, (const uint8_t *)"f", 1), 0);
    cr_assert_eq(queue_meta_set(q, "clean_stop", "1"), 0);
    queue_rollback(q);

    queue_signal_t sig;
    cr_assert_eq(queue_find_signal(q, id, &sig), 0);
    cr_assert_eq(queue_pending_count(q, NULL), 0);
    char value[16];
    cr_assert_eq(queue_meta_get(q, "clean_stop", value, sizeof value), 0);
    queue_destroy(&q);
    /* nor after a reopen */
    q = s_open();
    cr_assert_eq(queue_find_signal(q, id, &sig), 0);
    queue_destroy(&q);
}

static void s_count_expired(void *arg, const uint8_t id[QUEUE_ID_BYTES], const queue_meta_t *meta,
                            const char *recipient)
{
    (void)id;
    (void)meta;
    (void)recipient;
    (*(int *)arg)++;
}

Test(queue, expiry_and_retention)
{
    queue_t *q = s_open();
    s_enqueue(q, 1, 5000, 2000);   /* deliveries expire at 2000, signal lapses at 5000 */
    s_enqueue(q, 2, 50000, 20000); /* later */
    int expired = 0;
    cr_assert_eq(queue_begin(q), 0);
    cr_assert_geq(queue_expire(q, 3000, s_count_expired, &expired), 0);
    cr_assert_eq(queue_commit(q), 0);
    cr_assert_eq(expired, 2, "both deliveries of signal 1");
    cr_assert_eq(queue_pending_count(q, NULL), 2);
    uint8_t id[QUEUE_ID_BYTES];
    s_id(id, 1);
    delivery_state_t state;
    cr_assert_eq(queue_delivery_state(q, id, "r2", &state), 1);
    cr_assert_eq(state, DELIVERY_EXPIRED);

    /* retention: only a lapsed signal without pending deliveries goes */
    cr_assert_eq(queue_begin(q), 0);
    cr_assert_eq(queue_prune(q, 60000), 1);
    cr_assert_eq(queue_commit(q), 0);
    queue_signal_t sig;
    cr_assert_eq(queue_find_signal(q, id, &sig), 0);
    s_id(id, 2);
    cr_assert_eq(queue_find_signal(q, id, &sig), 1, "pending: kept past its lapse");
    queue_destroy(&q);
}

Test(queue, full_disk_is_reported_and_nothing_half_stored)
{
    queue_t *q = s_open();
    s_enqueue(q, 1, 1000000, 1000000);
    int64_t pages = 0;
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(queue_db(q), "PRAGMA page_count", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    pages = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA max_page_count=%lld", (long long)pages);
    cr_assert_eq(sqlite3_exec(queue_db(q), pragma, NULL, NULL, NULL), SQLITE_OK);

    static uint8_t big[64 * 1024];
    uint8_t id[QUEUE_ID_BYTES];
    s_id(id, 2);
    cr_assert_eq(queue_begin(q), 0);
    int rc = queue_insert_signal(q, id, &s_meta, s_digest, big, sizeof big, 1000, 1000000, 2);
    if (rc == 0)
        rc = queue_commit(q);
    cr_assert_eq(rc, -1, "a full disk must fail the turn");
    cr_assert_neq(strlen(queue_error(q)), 0);
    queue_rollback(q);
    queue_signal_t sig;
    cr_assert_eq(queue_find_signal(q, id, &sig), 0);
    cr_assert_eq(queue_pending_count(q, NULL), 2, "the earlier turn is intact");
    queue_destroy(&q);
}
