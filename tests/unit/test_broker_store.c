/*  Tests for broker/store, the broker's durable store (issue 16 item 1).
    The queue: a signal is enqueued for its recipients and handed out in
    order until each acknowledges; an unacknowledged delivery is handed out
    again after a restart; a duplicate ack settles nothing; a rolled-back
    turn leaves no signal, delivery, notice, meta, match or alert row;
    deliveries past their deadline expire and lapsed signals are pruned; a
    full disk is reported, not half-stored. The store: its schema is
    versioned (created, kept on reopen, an unversioned store migrated, a
    newer one refused naming both versions); the `store:` setting resolves
    to a location; the WAL checkpointer runs beside it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker_config_schema.h"
#include "config.h"
#include "db.h"
#include "audit_log.h"
#include "broker_harness.h"
#include "pg_harness.h"
#include "log.h"
#include "store.h"
#include "testutil.h"

static char *s_dir;
static char s_path[4200];
static char s_location[4300];
static char s_err[256];

static void s_setup(void)
{
    tu_watchdog(60);
    s_dir = tu_tmpdir();
    cr_assert_not_null(s_dir);
    snprintf(s_path, sizeof s_path, "%s/broker.db", s_dir);
    log_setup("test", HLOG_ERROR);
    snprintf(s_location, sizeof s_location, "sqlite:%s", s_path);
    if (bh_postgresql()) { /* the same tests on PostgreSQL (make check runs both) */
        char schema[64];
        snprintf(schema, sizeof schema, "store%ld", (long)getpid());
        cr_assert_eq(pg_harness_schema(schema, s_location, sizeof s_location), 0);
    }
}

static void s_teardown(void)
{
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(broker_store, .init = s_setup, .fini = s_teardown);

static broker_store_t *s_open(void)
{
    broker_store_t *q = broker_store_open(s_location, s_err, sizeof s_err);
    cr_assert_not_null(q, "%s", s_err);
    return q;
}

/* Runs `sql` on the store's file over a connection of its own (a
   fixture: what another broker, or an older one, left behind). */
static void s_sql(const char *sql)
{
    char err[256];
    db_t *db = db_open(s_location, 0, err, sizeof err);
    cr_assert_not_null(db, "%s", err);
    cr_assert_eq(db_exec(db, sql), 0, "%s", db_errmsg(db));
    db_close(&db);
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
static void s_enqueue(broker_store_t *q, int n, int64_t valid_until, int64_t expires_at)
{
    uint8_t id[QUEUE_ID_BYTES];
    s_id(id, n);
    cr_assert_eq(broker_store_begin(q), 0, "%s", broker_store_error(q));
    cr_assert_eq(broker_store_insert_signal(q, id, &s_meta, s_digest, s_sealed, sizeof s_sealed,
                                            1000, valid_until, n),
                 0, "%s", broker_store_error(q));
    cr_assert_gt(broker_store_insert_delivery(q, id, "r1", expires_at), 0);
    cr_assert_gt(broker_store_insert_delivery(q, id, "r2", expires_at), 0);
    cr_assert_eq(broker_store_commit(q), 0, "%s", broker_store_error(q));
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

/* Signals whose ciphertext the store no longer holds. */
static int64_t s_dropped(broker_store_t *q)
{
    db_stmt_t *st =
        db_prepare(broker_store_db(q), "SELECT count(*) FROM signals WHERE sealed IS NULL");
    cr_assert_not_null(st);
    cr_assert_eq(db_step(st), DB_ROW);
    int64_t n = db_column_int64(st, 0);
    db_reset(st);
    return n;
}

Test(broker_store, enqueue_deliver_ack)
{
    broker_store_t *q = s_open();
    s_enqueue(q, 1, 1000000, 1000000);
    s_enqueue(q, 2, 1000000, 1000000);
    cr_assert_eq(broker_store_pending_count(q, "r1"), 2);
    cr_assert_eq(broker_store_pending_count(q, NULL), 4);

    seen_t seen = {0};
    cr_assert_eq(broker_store_pending(q, "r1", 0, 10, s_seen, &seen), 2);
    cr_assert_eq(seen.n, 2);
    cr_assert_lt(seen.seq[0], seen.seq[1], "handed out in order");
    cr_assert_eq(seen.id[0][0], 1);
    cr_assert_eq(seen.sealed_len, sizeof s_sealed);
    /* after_seq: only what was not sent yet */
    seen_t later = {0};
    cr_assert_eq(broker_store_pending(q, "r1", seen.seq[0], 10, s_seen, &later), 1);
    cr_assert_eq(later.id[0][0], 2);

    uint8_t id[QUEUE_ID_BYTES];
    s_id(id, 1);
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_eq(broker_store_settle_seq(q, seen.seq[0], id, "r1", DELIVERY_ACKED), 1);
    cr_assert_eq(broker_store_settle(q, id, "r1", DELIVERY_ACKED), 0,
                 "a duplicate ack settles nothing");
    cr_assert_eq(broker_store_settle_seq(q, seen.seq[1], id, "r1", DELIVERY_ACKED), 0,
                 "a stale seq settles nothing");
    cr_assert_eq(broker_store_commit(q), 0);
    cr_assert_eq(s_dropped(q), 0, "r2 still waits for the ciphertext");
    delivery_state_t state;
    cr_assert_eq(broker_store_delivery_state(q, id, "r1", &state), 1);
    cr_assert_eq(state, DELIVERY_ACKED);
    cr_assert_eq(broker_store_delivery_state(q, id, "r9", &state), 0);

    /* the last ack drops the ciphertext; the id stays for replays */
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_eq(broker_store_settle(q, id, "r2", DELIVERY_REJECTED), 1);
    cr_assert_eq(broker_store_commit(q), 0);
    cr_assert_eq(s_dropped(q), 1);
    /* the same by delivery number, for the second signal */
    seen_t two = {0};
    cr_assert_eq(broker_store_pending(q, "r2", 0, 10, s_seen, &two), 1);
    s_id(id, 2);
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_eq(broker_store_settle(q, id, "r1", DELIVERY_ACKED), 1);
    cr_assert_eq(broker_store_settle_seq(q, two.seq[0], id, "r2", DELIVERY_ACKED), 1);
    cr_assert_eq(broker_store_commit(q), 0);
    cr_assert_eq(s_dropped(q), 2);
    s_id(id, 1);
    queue_signal_t sig;
    cr_assert_eq(broker_store_find_signal(q, id, &sig), 1);
    cr_assert_eq(sig.audit_index, 1);
    cr_assert_eq(memcmp(sig.digest, s_digest, sizeof s_digest), 0);
    cr_assert_eq(broker_store_pending_count(q, NULL), 0);
    broker_store_destroy(&q);
    cr_assert_null(q);
}

Test(broker_store, a_prefetched_absent_id_answers_not_found_once_and_a_held_one_reads)
{
    broker_store_t *q = s_open();
    s_enqueue(q, 1, 1000000, 1000000);
    uint8_t ids[4][QUEUE_ID_BYTES];
    s_id(ids[0], 1); /* held */
    s_id(ids[1], 2); /* new */
    s_id(ids[2], 3); /* new */
    s_id(ids[3], 2); /* the same new id twice in one turn */
    queue_signal_t sig;
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_eq(broker_store_prefetch(q, (const uint8_t(*)[QUEUE_ID_BYTES])ids, 4), 0, "%s",
                 broker_store_error(q));
    cr_assert_eq(broker_store_find_signal(q, ids[0], &sig), 1, "a held id is read");
    cr_assert_eq(sig.audit_index, 1);
    cr_assert_eq(broker_store_find_signal(q, ids[1], &sig), 0);
    /* stored now: the second ask of the same id must see it */
    cr_assert_eq(broker_store_insert_signal(q, ids[1], &s_meta, s_digest, s_sealed, sizeof s_sealed,
                                            1000, 1000000, 7),
                 0, "%s", broker_store_error(q));
    cr_assert_eq(broker_store_find_signal(q, ids[3], &sig), 1, "%s", broker_store_error(q));
    cr_assert_eq(sig.audit_index, 7);
    cr_assert_eq(broker_store_commit(q), 0, "%s", broker_store_error(q));
    /* what a turn learnt ends with it: the next one reads */
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_eq(broker_store_insert_signal(q, ids[2], &s_meta, s_digest, s_sealed, sizeof s_sealed,
                                            1000, 1000000, 8),
                 0);
    cr_assert_eq(broker_store_find_signal(q, ids[2], &sig), 1);
    cr_assert_eq(sig.audit_index, 8);
    cr_assert_eq(broker_store_commit(q), 0);
    broker_store_destroy(&q);
}

Test(broker_store, settling_a_sent_delivery_that_is_not_pending_fails_the_turn_on_postgresql)
{
    broker_store_t *q = s_open();
    s_enqueue(q, 1, 1000000, 1000000);
    seen_t seen = {0};
    cr_assert_eq(broker_store_pending(q, "r1", 0, 10, s_seen, &seen), 1);
    uint8_t id[QUEUE_ID_BYTES];
    s_id(id, 1);
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_eq(broker_store_settle_sent(q, seen.seq[0], id, "r1", DELIVERY_ACKED), 1, "%s",
                 broker_store_error(q));
    cr_assert_eq(broker_store_commit(q), 0, "%s", broker_store_error(q));
    delivery_state_t state;
    cr_assert_eq(broker_store_delivery_state(q, id, "r1", &state), 1);
    cr_assert_eq(state, DELIVERY_ACKED);
    cr_assert_eq(s_dropped(q), 0, "r2 still waits for the ciphertext");

    /* settled already: the store disagrees with what the caller believes */
    cr_assert_eq(broker_store_begin(q), 0);
    int settled = broker_store_settle_sent(q, seen.seq[0], id, "r1", DELIVERY_ACKED);
    if (strcmp(db_backend(broker_store_db(q)), "sqlite") == 0) {
        cr_assert_eq(settled, 0, "SQLite answers at once: nothing settled");
        cr_assert_eq(broker_store_commit(q), 0);
    } else {
        cr_assert_eq(settled, 1, "queued, not answered yet");
        cr_assert_neq(broker_store_commit(q), 0, "the transaction must fail as a whole");
        broker_store_rollback(q);
    }
    cr_assert_eq(broker_store_delivery_state(q, id, "r1", &state), 1);
    cr_assert_eq(state, DELIVERY_ACKED, "not settled twice");

    /* the last pending delivery settled this way drops the ciphertext */
    seen_t r2 = {0};
    cr_assert_eq(broker_store_pending(q, "r2", 0, 10, s_seen, &r2), 1);
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_eq(broker_store_settle_sent(q, r2.seq[0], id, "r2", DELIVERY_REJECTED), 1);
    cr_assert_eq(broker_store_commit(q), 0, "%s", broker_store_error(q));
    cr_assert_eq(s_dropped(q), 1);
    broker_store_destroy(&q);
}

Test(broker_store, redelivered_after_restart)
{
    broker_store_t *q = s_open();
    s_enqueue(q, 1, 1000000, 1000000);
    seen_t seen = {0};
    cr_assert_eq(broker_store_pending(q, "r1", 0, 10, s_seen, &seen), 1);
    broker_store_destroy(&q); /* sent, never acknowledged, broker stops */

    q = s_open();
    seen_t again = {0};
    cr_assert_eq(broker_store_pending(q, "r1", 0, 10, s_seen, &again), 1);
    cr_assert_eq(again.seq[0], seen.seq[0], "the same delivery is handed out again");
    broker_store_destroy(&q);
}

/* The `delivered` record's index is kept per delivery (an inclusion
   request finds it without a search), survives a reopen, and a store from
   before the column gets it on open with its rows intact. */
Test(broker_store, delivered_index_is_kept_per_delivery)
{
    broker_store_t *q = s_open();
    s_enqueue(q, 1, 1000000, 1000000);
    uint8_t id[QUEUE_ID_BYTES];
    s_id(id, 1);
    int64_t index = -1;
    cr_assert_eq(broker_store_delivered_index(q, id, "r1", &index), 0,
                 "nothing kept before delivery");
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_eq(broker_store_settle(q, id, "r1", DELIVERY_ACKED), 1);
    cr_assert_eq(broker_store_delivered_set(q, id, "r1", 4242), 0, "%s", broker_store_error(q));
    cr_assert_eq(broker_store_commit(q), 0);
    broker_store_destroy(&q);

    q = s_open();
    cr_assert_eq(broker_store_delivered_index(q, id, "r1", &index), 1);
    cr_assert_eq(index, 4242);
    cr_assert_eq(broker_store_delivered_index(q, id, "r2", &index), 0, "r2 has not had it");
    broker_store_destroy(&q);

    /* An older store: the column dropped again, as a broker before it
       wrote it (SQLite only: no PostgreSQL store predates the version). */
    if (bh_postgresql())
        return;
    s_sql("ALTER TABLE deliveries DROP COLUMN delivered_index;"
          "DROP TABLE schema_version");
    q = s_open();
    cr_assert_eq(broker_store_schema_version(q), BROKER_STORE_SCHEMA_VERSION,
                 "an unversioned store is brought to this version");
    cr_assert_eq(broker_store_delivered_index(q, id, "r1", &index), 0, "an old delivery has none");
    delivery_state_t state;
    cr_assert_eq(broker_store_delivery_state(q, id, "r1", &state), 1);
    cr_assert_eq(state, DELIVERY_ACKED, "the old row is intact");
    seen_t seen = {0};
    cr_assert_eq(broker_store_pending(q, "r2", 0, 10, s_seen, &seen), 1,
                 "r2's delivery still waits");
    broker_store_destroy(&q);
}

Test(broker_store, rollback_leaves_nothing)
{
    broker_store_t *q = s_open();
    uint8_t id[QUEUE_ID_BYTES];
    s_id(id, 7);
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_eq(broker_store_insert_signal(q, id, &s_meta, s_digest, s_sealed, sizeof s_sealed,
                                            1000, 1000000, 7),
                 0);
    cr_assert_gt(broker_store_insert_delivery(q, id, "r1", 1000000), 0);
    cr_assert_eq(broker_store_notice_add(q, "r1", NOTICE_WITHDRAW, id, (const uint8_t *)"f", 1), 0);
    cr_assert_eq(broker_store_meta_set(q, "clean_stop", "1"), 0);
    broker_store_rollback(q);

    queue_signal_t sig;
    cr_assert_eq(broker_store_find_signal(q, id, &sig), 0);
    cr_assert_eq(broker_store_pending_count(q, NULL), 0);
    char value[16];
    cr_assert_eq(broker_store_meta_get(q, "clean_stop", value, sizeof value), 0);
    broker_store_destroy(&q);
    /* nor after a reopen */
    q = s_open();
    cr_assert_eq(broker_store_find_signal(q, id, &sig), 0);
    broker_store_destroy(&q);
}

static void s_count_expired(void *arg, const uint8_t id[QUEUE_ID_BYTES], const queue_meta_t *meta,
                            const char *recipient)
{
    (void)id;
    (void)meta;
    (void)recipient;
    (*(int *)arg)++;
}

Test(broker_store, expiry_and_retention)
{
    broker_store_t *q = s_open();
    s_enqueue(q, 1, 5000, 2000);   /* deliveries expire at 2000, signal lapses at 5000 */
    s_enqueue(q, 2, 50000, 20000); /* later */
    int expired = 0;
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_geq(broker_store_expire(q, 3000, s_count_expired, &expired), 0);
    cr_assert_eq(broker_store_commit(q), 0);
    cr_assert_eq(expired, 2, "both deliveries of signal 1");
    cr_assert_eq(broker_store_pending_count(q, NULL), 2);
    uint8_t id[QUEUE_ID_BYTES];
    s_id(id, 1);
    delivery_state_t state;
    cr_assert_eq(broker_store_delivery_state(q, id, "r2", &state), 1);
    cr_assert_eq(state, DELIVERY_EXPIRED);

    /* retention: only a lapsed signal without pending deliveries goes */
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_eq(broker_store_prune(q, 60000), 1);
    cr_assert_eq(broker_store_commit(q), 0);
    queue_signal_t sig;
    cr_assert_eq(broker_store_find_signal(q, id, &sig), 0);
    s_id(id, 2);
    cr_assert_eq(broker_store_find_signal(q, id, &sig), 1, "pending: kept past its lapse");
    broker_store_destroy(&q);
}

Test(broker_store, full_disk_is_reported_and_nothing_half_stored)
{
    if (bh_postgresql()) /* SQLite's page limit; PostgreSQL's full tablespace: test_storage_faults
                          */
        cr_skip_test("SQLite only");
    broker_store_t *q = s_open();
    s_enqueue(q, 1, 1000000, 1000000);
    db_t *db = broker_store_db(q);
    db_stmt_t *st = db_prepare(db, "PRAGMA page_count");
    cr_assert_not_null(st, "%s", db_errmsg(db));
    cr_assert_eq(db_step(st), DB_ROW);
    int64_t pages = db_column_int64(st, 0);
    db_reset(st);
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA max_page_count=%lld", (long long)pages);
    cr_assert_eq(db_exec(db, pragma), 0, "%s", db_errmsg(db));

    static uint8_t big[64 * 1024];
    uint8_t id[QUEUE_ID_BYTES];
    s_id(id, 2);
    cr_assert_eq(broker_store_begin(q), 0);
    int rc =
        broker_store_insert_signal(q, id, &s_meta, s_digest, big, sizeof big, 1000, 1000000, 2);
    if (rc == 0)
        rc = broker_store_commit(q);
    cr_assert_eq(rc, -1, "a full disk must fail the turn");
    cr_assert_neq(strlen(broker_store_error(q)), 0);
    broker_store_rollback(q);
    queue_signal_t sig;
    cr_assert_eq(broker_store_find_signal(q, id, &sig), 0);
    cr_assert_eq(broker_store_pending_count(q, NULL), 2, "the earlier turn is intact");
    broker_store_destroy(&q);
}

/* ------------------------------------------------------------------------
   Schema version */

/* The version row as stored in the file, read over a connection of its own. */
static int64_t s_stored_version(void)
{
    char err[256];
    db_t *db = db_open(s_location, DB_READONLY, err, sizeof err);
    cr_assert_not_null(db, "%s", err);
    db_stmt_t *st = db_prepare(db, "SELECT version FROM schema_version WHERE component = 'broker'");
    cr_assert_not_null(st, "%s", db_errmsg(db));
    int64_t version = db_step(st) == DB_ROW ? db_column_int64(st, 0) : -1;
    db_reset(st);
    db_close(&db);
    return version;
}

Test(broker_store, a_new_store_carries_its_schema_version_and_keeps_it)
{
    broker_store_t *q = s_open();
    cr_assert_eq(broker_store_schema_version(q), BROKER_STORE_SCHEMA_VERSION);
    s_enqueue(q, 1, 1000000, 1000000);
    broker_store_destroy(&q);
    cr_assert_eq(s_stored_version(), BROKER_STORE_SCHEMA_VERSION, "written to the file");
    q = s_open();
    cr_assert_eq(broker_store_schema_version(q), BROKER_STORE_SCHEMA_VERSION);
    cr_assert_eq(broker_store_pending_count(q, NULL), 2, "a reopen keeps the rows");
    broker_store_destroy(&q);
}

Test(broker_store, a_newer_schema_is_refused_naming_both_versions)
{
    broker_store_t *q = s_open();
    s_enqueue(q, 1, 1000000, 1000000);
    broker_store_destroy(&q);
    int64_t newer = BROKER_STORE_SCHEMA_VERSION + 7;
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %lld WHERE component = 'broker'",
             (long long)newer);
    s_sql(sql);

    char err[512] = "";
    q = broker_store_open(s_location, err, sizeof err);
    cr_assert_null(q, "a store from a newer broker must not be opened");
    char want[32];
    snprintf(want, sizeof want, "version %lld", (long long)newer);
    cr_assert(strstr(err, want), "the store's version is named: %s", err);
    snprintf(want, sizeof want, "(%d)", BROKER_STORE_SCHEMA_VERSION);
    cr_assert(strstr(err, want), "this broker's version is named: %s", err);
    cr_assert_eq(s_stored_version(), newer, "the refused store is left as it was");

    /* Put back, it opens with its rows. */
    snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %d WHERE component = 'broker'",
             BROKER_STORE_SCHEMA_VERSION);
    s_sql(sql);
    q = s_open();
    cr_assert_eq(broker_store_pending_count(q, NULL), 2);
    broker_store_destroy(&q);
}

/* Another component's row in the same table (the audit store keeps its
   own) is neither read as the broker's nor overwritten. */
Test(broker_store, the_version_row_is_the_brokers_own)
{
    broker_store_t *q = s_open();
    broker_store_destroy(&q);
    s_sql("INSERT INTO schema_version(component, version) VALUES('audit', 99)");
    q = s_open();
    cr_assert_eq(broker_store_schema_version(q), BROKER_STORE_SCHEMA_VERSION);
    broker_store_destroy(&q);
    char err[256];
    db_t *db = db_open(s_location, DB_READONLY, err, sizeof err);
    cr_assert_not_null(db, "%s", err);
    db_stmt_t *st = db_prepare(db, "SELECT version FROM schema_version WHERE component = 'audit'");
    cr_assert_eq(db_step(st), DB_ROW);
    cr_assert_eq(db_column_int64(st, 0), 99);
    db_reset(st);
    db_close(&db);
}

Test(broker_store, a_location_that_cannot_be_opened_is_refused)
{
    char err[512] = "";
    char missing[4400];
    snprintf(missing, sizeof missing, "sqlite:%s/no/such/dir/broker.db", s_dir);
    cr_assert_null(broker_store_open(missing, err, sizeof err));
    cr_assert(strstr(err, "broker.db"), "the location is named: %s", err);
    err[0] = '\0';
    /* nobody listens on port 1 of the loopback */
    cr_assert_null(broker_store_open("postgresql://h@127.0.0.1:1/hartslag", err, sizeof err));
    cr_assert(strstr(err, "postgresql://h@127.0.0.1:1/hartslag"), "%s", err);
    cr_assert(strstr(err, "cannot connect"), "lib/db's reason is passed on: %s", err);
}

/* ------------------------------------------------------------------------
   Transaction */

Test(broker_store, a_rolled_back_turn_leaves_no_match_or_alert)
{
    broker_store_t *q = s_open();
    uint8_t id[16] = {1}, subject[32] = {2}, alert[16] = {3};
    cr_assert_eq(broker_store_begin(q), 0, "%s", broker_store_error(q));
    cr_assert_eq(broker_store_match_add(q, id, subject, "politie", "overlast", 1000, 9000), 0);
    cr_assert_eq(broker_store_match_members_set(q, "pair", subject, "politie,welzijn"), 0);
    cr_assert_eq(broker_store_alert_add(q, alert, "pair", subject, 1000), 0);
    cr_assert_eq(broker_store_match_count(q), 1, "visible inside the turn");
    cr_assert_eq(broker_store_alerts_open(q), 1);
    broker_store_rollback(q);
    cr_assert_eq(broker_store_match_count(q), 0);
    cr_assert_eq(broker_store_alerts_open(q), 0);
    char members[64];
    cr_assert_eq(broker_store_match_members(q, "pair", subject, members, sizeof members), 0);
    cr_assert_str_eq(members, "");
    char *rule = NULL;
    int64_t raised = 0;
    cr_assert_eq(broker_store_alert_find(q, alert, &rule, subject, &raised), 0);
    broker_store_rollback(q); /* outside a transaction: nothing to do */
    cr_assert_eq(broker_store_begin(q), 0, "a new turn starts after a rollback");
    cr_assert_eq(broker_store_commit(q), 0);
    broker_store_destroy(&q);
}

/* The audit log shares the store's connection, so its records are in the
   store's transaction: a rollback takes them too, a commit keeps both. */
Test(broker_store, the_audit_log_shares_the_transaction)
{
    broker_store_t *q = s_open();
    char why[256];
    audit_log_t *log =
        audit_log_open(broker_store_db(q), "hartslag.test/audit", true, why, sizeof why);
    cr_assert_not_null(log, "%s", why);
    Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
    record.event = "accepted";
    record.time_ms = 1;
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_geq(audit_log_append(log, &record), 0);
    broker_store_rollback(q);
    audit_log_rollback(log);
    cr_assert_eq(audit_log_size(log), 0);
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_geq(audit_log_append(log, &record), 0);
    cr_assert_eq(broker_store_commit(q), 0);
    audit_log_commit(log);
    audit_log_destroy(&log);
    /* reopened: the committed record is there, the rolled back one not */
    log = audit_log_open(broker_store_db(q), "hartslag.test/audit", false, why, sizeof why);
    cr_assert_not_null(log, "%s", why);
    cr_assert_eq(audit_log_size(log), 1);
    audit_log_destroy(&log);
    broker_store_destroy(&q);
}

/* ------------------------------------------------------------------------
   Notices, meta, partners, agreements history */

typedef struct {
    int n;
    int64_t seq[4];
    uint8_t frame[4];
} notices_t;

static void s_notice(void *arg, int64_t seq, notice_kind_t kind, const uint8_t id[QUEUE_ID_BYTES],
                     const uint8_t *frame, size_t len)
{
    (void)kind;
    (void)id;
    notices_t *n = arg;
    if (n->n < 4 && len > 0) {
        n->seq[n->n] = seq;
        n->frame[n->n] = frame[0];
    }
    n->n++;
}

/* An alert's later state replaces the earlier one and is sent again to a
   partner whose cursor is past the first: it gets a new seq. */
Test(broker_store, a_notice_added_again_replaces_the_old_with_a_new_seq)
{
    broker_store_t *q = s_open();
    uint8_t id[QUEUE_ID_BYTES];
    s_id(id, 4);
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_eq(broker_store_notice_add(q, "r1", NOTICE_ALERT, id, (const uint8_t *)"a", 1), 0);
    cr_assert_eq(broker_store_notice_add(q, "r2", NOTICE_ALERT, id, (const uint8_t *)"x", 1), 0);
    cr_assert_eq(broker_store_commit(q), 0);
    notices_t first = {0};
    cr_assert_eq(broker_store_notices(q, "r1", 0, s_notice, &first), 1);
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_eq(broker_store_notice_add(q, "r1", NOTICE_ALERT, id, (const uint8_t *)"b", 1), 0);
    cr_assert_eq(broker_store_commit(q), 0);
    notices_t after = {0};
    cr_assert_eq(broker_store_notices(q, "r1", first.seq[0], s_notice, &after), 1,
                 "past the cursor of the first");
    cr_assert_eq(after.frame[0], 'b', "the later state");
    notices_t all = {0};
    cr_assert_eq(broker_store_notices(q, "r1", 0, s_notice, &all), 1, "replaced, not added");
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_eq(broker_store_notice_remove(q, "r1", NOTICE_ALERT, id), 0);
    cr_assert_eq(broker_store_commit(q), 0);
    notices_t none = {0}, other = {0};
    cr_assert_eq(broker_store_notices(q, "r1", 0, s_notice, &none), 0);
    cr_assert_eq(broker_store_notices(q, "r2", 0, s_notice, &other), 1, "r2's is its own");
    broker_store_destroy(&q);
}

Test(broker_store, meta_set_twice_keeps_the_last)
{
    broker_store_t *q = s_open();
    char value[16];
    cr_assert_eq(broker_store_meta_get(q, "clean_shutdown", value, sizeof value), 0);
    cr_assert_eq(broker_store_meta_set(q, "clean_shutdown", "0"), 0, "%s", broker_store_error(q));
    cr_assert_eq(broker_store_meta_set(q, "clean_shutdown", "1"), 0, "%s", broker_store_error(q));
    cr_assert_eq(broker_store_meta_get(q, "clean_shutdown", value, sizeof value), 1);
    cr_assert_str_eq(value, "1");
    broker_store_destroy(&q);
}

typedef struct {
    char added[4][8];
    char revoked[4][8];
    int n_added, n_revoked;
} partner_changes_t;

static void s_partner(void *arg, const char *org, bool added)
{
    partner_changes_t *c = arg;
    if (added && c->n_added < 4)
        snprintf(c->added[c->n_added++], 8, "%s", org);
    else if (!added && c->n_revoked < 4)
        snprintf(c->revoked[c->n_revoked++], 8, "%s", org);
}

Test(broker_store, partners_sync_reports_added_and_revoked_keys)
{
    broker_store_t *q = s_open();
    uint8_t keys[3][32] = {{1}, {2}, {3}};
    const char *orgs[3] = {"a", "b", "c"};
    partner_changes_t c1 = {0};
    cr_assert_eq(broker_store_partners_sync(q, (const uint8_t(*)[32])keys, orgs, 2, s_partner, &c1),
                 0, "%s", broker_store_error(q));
    cr_assert_eq(c1.n_added, 2);
    cr_assert_eq(c1.n_revoked, 0);
    /* b goes, c comes; a stays unreported. */
    uint8_t next[2][32] = {{1}, {3}};
    const char *next_orgs[2] = {"a", "c"};
    partner_changes_t c2 = {0};
    cr_assert_eq(
        broker_store_partners_sync(q, (const uint8_t(*)[32])next, next_orgs, 2, s_partner, &c2), 0);
    cr_assert_eq(c2.n_added, 1);
    cr_assert_str_eq(c2.added[0], "c");
    cr_assert_eq(c2.n_revoked, 1);
    cr_assert_str_eq(c2.revoked[0], "b");
    partner_changes_t c3 = {0};
    cr_assert_eq(
        broker_store_partners_sync(q, (const uint8_t(*)[32])next, next_orgs, 2, s_partner, &c3), 0);
    cr_assert_eq(c3.n_added + c3.n_revoked, 0, "nothing changed");
    broker_store_destroy(&q);
}

Test(broker_store, the_agreements_history_keeps_the_last_version_in_force)
{
    broker_store_t *q = s_open();
    uint64_t version = 0;
    uint8_t hash[QUEUE_AGREEMENTS_HASH_BYTES];
    char *file = NULL;
    size_t len = 0;
    cr_assert_eq(broker_store_agreements_in_force(q, &version, hash, &file, &len), 0);
    uint8_t h1[QUEUE_AGREEMENTS_HASH_BYTES] = {1}, h2[QUEUE_AGREEMENTS_HASH_BYTES] = {2};
    cr_assert_eq(broker_store_begin(q), 0);
    cr_assert_eq(broker_store_agreements_record(q, 1, h1, "v: 1", 4, 1000), 0);
    cr_assert_eq(broker_store_agreements_record(q, 2, h2, "v: 2\n", 5, 2000), 0);
    cr_assert_eq(broker_store_agreements_signature(q, h2, "gemeente", "sig-1", 5), 0);
    cr_assert_eq(broker_store_agreements_signature(q, h2, "gemeente", "sig-2", 5), 0,
                 "a second file of one signer is ignored, not an error");
    cr_assert_eq(broker_store_commit(q), 0, "%s", broker_store_error(q));
    cr_assert_eq(broker_store_agreements_in_force(q, &version, hash, &file, &len), 1);
    cr_assert_eq(version, 2);
    cr_assert_eq(memcmp(hash, h2, sizeof h2), 0);
    cr_assert_eq(len, 5);
    cr_assert_str_eq(file, "v: 2\n");
    free(file);
    cr_assert_eq(broker_store_begin(q), 0);
    /* refused at once, or (a server backend queues the write) at commit */
    if (broker_store_agreements_record(q, 3, h1, "v: 1", 4, 3000) == 0)
        cr_assert_eq(broker_store_commit(q), -1, "a hash recorded before is refused");
    broker_store_rollback(q);
    broker_store_destroy(&q);
}

Test(broker_store, backlog_reads_count_and_oldest)
{
    broker_store_t *q = s_open();
    int64_t queued = -1, oldest = -1;
    cr_assert_eq(broker_store_backlog(q, "r1", &queued, &oldest), 0);
    cr_assert_eq(queued, 0);
    cr_assert_eq(oldest, 0, "none queued: no oldest");
    s_enqueue(q, 1, 1000000, 1000000);
    s_enqueue(q, 2, 1000000, 1000000);
    cr_assert_eq(broker_store_backlog(q, "r1", &queued, &oldest), 0);
    cr_assert_eq(queued, 2);
    cr_assert_eq(oldest, 1000, "the acceptance time s_enqueue gave");
    broker_store_destroy(&q);
}

/* ------------------------------------------------------------------------
   The `store:` setting */

Test(broker_store, the_store_setting_resolves_to_a_location)
{
    char out[BROKER_STORE_LOCATION_MAX], err[256];
    cr_assert_eq(
        broker_store_location(NULL, "/var/lib/h", "/etc/h", out, sizeof out, err, sizeof err), 0,
        "%s", err);
    cr_assert_str_eq(out, "sqlite:/var/lib/h/broker.db", "the default is the state directory's");
    cr_assert_eq(broker_store_location("", "/s", "/etc/h", out, sizeof out, err, sizeof err), 0);
    cr_assert_str_eq(out, "sqlite:/s/broker.db");
    cr_assert_eq(broker_store_location("sqlite:/data/b.db", "/s", "/etc/h", out, sizeof out, err,
                                       sizeof err),
                 0);
    cr_assert_str_eq(out, "sqlite:/data/b.db");
    cr_assert_eq(broker_store_location("sqlite:state/b.db", "/s", "/etc/h", out, sizeof out, err,
                                       sizeof err),
                 0);
    cr_assert_str_eq(out, "sqlite:/etc/h/state/b.db", "relative: against the file's directory");
    cr_assert_eq(broker_store_location("b.db", "/s", "/etc/h", out, sizeof out, err, sizeof err),
                 0);
    cr_assert_str_eq(out, "sqlite:/etc/h/b.db", "a bare path is SQLite");
    cr_assert_eq(broker_store_location("postgresql://broker@db.example/hartslag", "/s", "/etc/h",
                                       out, sizeof out, err, sizeof err),
                 0);
    cr_assert_str_eq(out, "postgresql://broker@db.example/hartslag", "passed on as it is");
    cr_assert_eq(broker_store_location("mysql://x/y", "/s", NULL, out, sizeof out, err, sizeof err),
                 -1);
    cr_assert(strstr(err, "mysql://x/y"), "%s", err);
    cr_assert_eq(broker_store_location("sqlite:", "/s", NULL, out, sizeof out, err, sizeof err),
                 -1);
    cr_assert(strstr(err, "path"), "%s", err);
    char small[16];
    cr_assert_eq(broker_store_location(NULL, "/a/rather/long/state/dir", NULL, small, sizeof small,
                                       err, sizeof err),
                 -1, "a location that does not fit is refused, not cut");
}

/* broker.yaml's `store:` key is in the schema the broker reads with. */
Test(broker_store, broker_yaml_accepts_a_store_setting)
{
    char yaml[4400], out[BROKER_STORE_LOCATION_MAX], err[512];
    snprintf(yaml, sizeof yaml, "%s/broker.yaml", s_dir);
    FILE *f = fopen(yaml, "w");
    cr_assert_not_null(f);
    fprintf(f, "state_dir: state\ncertificates: c\nkeys: k\nagreements: a.yaml\n"
               "store: postgresql://broker@127.0.0.1:5432/hartslag\n");
    fclose(f);
    config_t *config = config_load(yaml, broker_config_schema, BROKER_CONFIG_KEYS, err, sizeof err);
    cr_assert_not_null(config, "%s", err);
    cr_assert_eq(broker_store_location(config_string(config, "store"), "state", s_dir, out,
                                       sizeof out, err, sizeof err),
                 0, "%s", err);
    cr_assert_str_eq(out, "postgresql://broker@127.0.0.1:5432/hartslag");
    config_destroy(&config);

    f = fopen(yaml, "w");
    cr_assert_not_null(f);
    fprintf(f, "state_dir: state\ncertificates: c\nkeys: k\nagreements: a.yaml\n");
    fclose(f);
    config = config_load(yaml, broker_config_schema, BROKER_CONFIG_KEYS, err, sizeof err);
    cr_assert_not_null(config, "%s", err);
    cr_assert_null(config_string(config, "store"), "optional: no default in the schema");
    config_destroy(&config);
}

/* ------------------------------------------------------------------------
   WAL checkpoints */

Test(broker_store, checkpoints_run_beside_the_store)
{
    if (bh_postgresql())
        cr_skip_test("SQLite's WAL only");
    broker_store_t *q = s_open();
    char err[256];
    cr_assert_eq(broker_store_checkpoint_runs(q), 0, "none before they start");
    cr_assert_eq(broker_store_checkpoints_start(q, 20, 1 << 20, err, sizeof err), 0, "%s", err);
    static uint8_t big[16 * 1024];
    cr_assert_eq(broker_store_begin(q), 0);
    for (int i = 0; i < 200; i++) {
        uint8_t id[QUEUE_ID_BYTES];
        s_id(id, i);
        id[1] = (uint8_t)(i >> 8);
        big[0] = (uint8_t)i;
        cr_assert_eq(
            broker_store_insert_signal(q, id, &s_meta, s_digest, big, sizeof big, 1000, 1000000, i),
            0, "%s", broker_store_error(q));
    }
    cr_assert_eq(broker_store_commit(q), 0);
    for (int i = 0; i < 250 && broker_store_checkpoint_runs(q) == 0; i++)
        usleep(20000);
    cr_assert_geq(broker_store_checkpoint_runs(q), 1, "a WAL over the threshold is checkpointed");
    cr_assert_eq(broker_store_checkpoint_failures(q), 0);
    broker_store_destroy(&q); /* stops the thread */
}
