/*  Tests for the daemon's store (clients/daemon/store.c), issue 16 item 1:
    the outbox moves pending -> accepted once (a repeated Accepted changes
    nothing) and forgets the sealed bytes when decided; an inbox entry that
    is removed leaves a tombstone, so a signal id is never in both; a
    rolled-back transaction leaves no outbox, inbox or audit row; the
    latest checkpoint held is the largest; everything survives a reopen; a
    full disk is reported, not half-stored. Issue 15: a case's purge time
    follows its newest step, and its purge empties every case table of it
    and leaves a tombstone. */
#include "../../clients/daemon/store.h"
#include "../../clients/daemon/store_case.h"
#include "../../clients/daemon/store_case_text.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *s_dir;
static char s_err[256];

static void s_setup(void)
{
    tu_watchdog(60);
    s_dir = tu_tmpdir();
    cr_assert_not_null(s_dir);
}

static void s_teardown(void)
{
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(daemon_store, .init = s_setup, .fini = s_teardown);

static store_t *s_open(void)
{
    store_t *store = store_open(s_dir, s_err, sizeof s_err);
    cr_assert_not_null(store, "%s", s_err);
    return store;
}

static const char *s_id1 = "0123456789abcdef0123456789abcdef";
static const char *s_id2 = "fedcba9876543210fedcba9876543210";

static int s_outbox_add(store_t *store, const char *id, uint8_t *sealed, size_t len)
{
    store_outbox_t e = {0};
    snprintf(e.signal_id, sizeof e.signal_id, "%s", id);
    e.sealed = sealed;
    e.sealed_len = len;
    e.recipients = "politie,ggd";
    e.signal_type = "overlast";
    e.purpose = "zorg";
    e.sender_user = "j.jansen";
    e.state = "pending";
    e.created_ms = 1000;
    return store_outbox_add(store, &e);
}

static int s_inbox_add(store_t *store, const char *id)
{
    store_inbox_t e = {0};
    snprintf(e.signal_id, sizeof e.signal_id, "%s", id);
    e.sender = "gemeente";
    e.sender_user = "j.jansen";
    e.signal_type = "overlast";
    e.purpose = "zorg";
    e.subject = "aa";
    e.fields = "{}";
    e.urgency = "routine";
    e.agreement_id = "a1";
    e.created_ms = 1000;
    e.valid_until_ms = 100000;
    e.accepted_ms = 1100;
    e.received_ms = 1200;
    e.retain_until_ms = 100000;
    e.hook_state = "none";
    return store_inbox_add(store, &e);
}

Test(daemon_store, outbox_accepted_once_and_sealed_dropped)
{
    store_t *store = s_open();
    uint8_t sealed[40] = {1, 2, 3};
    cr_assert_eq(store_begin(store), 0);
    cr_assert_eq(s_outbox_add(store, s_id1, sealed, sizeof sealed), 0, "%s", store_error(store));
    cr_assert_eq(store_commit(store), 0);

    store_outbox_t e;
    cr_assert_eq(store_outbox_get(store, s_id1, &e), 1);
    cr_assert_str_eq(e.state, "pending");
    cr_assert_eq(e.sealed_len, sizeof sealed);
    cr_assert_eq(memcmp(e.sealed, sealed, sizeof sealed), 0);
    store_outbox_clear(&e);

    cr_assert_eq(store_begin(store), 0);
    cr_assert_eq(store_outbox_accept(store, s_id1, 5000, 42), 1);
    cr_assert_eq(store_outbox_accept(store, s_id1, 6000, 43), 0, "a repeated Accepted");
    cr_assert_eq(store_outbox_accept(store, s_id2, 6000, 43), 0, "an unknown id");
    cr_assert_eq(store_commit(store), 0);
    cr_assert_eq(store_outbox_get(store, s_id1, &e), 1);
    cr_assert_str_eq(e.state, "accepted");
    cr_assert_eq(e.accepted_ms, 5000);
    cr_assert_eq(e.audit_index, 42);
    store_outbox_clear(&e);

    cr_assert_eq(store_begin(store), 0);
    cr_assert_eq(store_outbox_set_state(store, s_id1, "expired", "not_delivered", NULL, true), 0);
    cr_assert_eq(store_commit(store), 0);
    cr_assert_eq(store_outbox_get(store, s_id1, &e), 1);
    cr_assert_str_eq(e.state, "expired");
    cr_assert_null(e.sealed);
    store_outbox_clear(&e);
    cr_assert_eq(store_outbox_get(store, s_id2, &e), 0);
    store_destroy(&store);
    cr_assert_null(store);
}

/* Issue 17: a signal waiting for its pseudonym holds its sealed draft,
   then its sealed signal, and is counted apart. */
Test(daemon_store, waiting_entry_is_sealed_once)
{
    store_t *store = s_open();
    uint8_t draft[48] = {9, 9, 9}, sealed[40] = {1, 2, 3};
    store_outbox_t e = {0};
    snprintf(e.signal_id, sizeof e.signal_id, "%s", s_id1);
    e.sealed = draft;
    e.sealed_len = sizeof draft;
    e.recipients = "politie";
    e.signal_type = "overlast";
    e.purpose = "zorg";
    e.sender_user = "j.jansen";
    e.state = "pseudonym";
    e.created_ms = 1000;
    cr_assert_eq(store_begin(store), 0);
    cr_assert_eq(store_outbox_add(store, &e), 0, "%s", store_error(store));
    cr_assert_eq(s_outbox_add(store, s_id2, sealed, sizeof sealed), 0);
    cr_assert_eq(store_commit(store), 0);
    store_counts_t c;
    cr_assert_eq(store_counts(store, &c), 0);
    cr_assert_eq(c.outbox_waiting, 1);
    cr_assert_eq(c.outbox_pending, 1);
    cr_assert_eq(store_begin(store), 0);
    cr_assert_eq(store_outbox_seal(store, s_id2, sealed, sizeof sealed), 0, "not waiting");
    cr_assert_eq(store_outbox_seal(store, s_id1, sealed, sizeof sealed), 1);
    cr_assert_eq(store_outbox_seal(store, s_id1, draft, sizeof draft), 0, "sealed only once");
    cr_assert_eq(store_commit(store), 0);
    store_outbox_t got;
    cr_assert_eq(store_outbox_get(store, s_id1, &got), 1);
    cr_assert_str_eq(got.state, "pending");
    cr_assert_eq(got.sealed_len, sizeof sealed);
    cr_assert_eq(memcmp(got.sealed, sealed, sizeof sealed), 0);
    store_outbox_clear(&got);
    cr_assert_eq(store_counts(store, &c), 0);
    cr_assert_eq(c.outbox_waiting, 0);
    cr_assert_eq(c.outbox_pending, 2);
    store_destroy(&store);
}

Test(daemon_store, inbox_tombstone)
{
    store_t *store = s_open();
    cr_assert_eq(store_begin(store), 0);
    cr_assert_eq(s_inbox_add(store, s_id1), 0, "%s", store_error(store));
    cr_assert_eq(store_commit(store), 0);
    cr_assert_eq(store_inbox_known(store, s_id1, NULL), 1);
    cr_assert_eq(store_inbox_known(store, s_id2, NULL), 0);

    cr_assert_eq(store_begin(store), 0);
    cr_assert_eq(store_inbox_remove(store, s_id1, "withdrawn"), 1);
    cr_assert_eq(store_commit(store), 0);
    char why[16];
    cr_assert_eq(store_inbox_known(store, s_id1, why), 2);
    cr_assert_str_eq(why, "withdrawn");
    store_inbox_t e;
    cr_assert_eq(store_inbox_get(store, s_id1, &e), 0, "not in the inbox any more");
    /* a withdrawal of a signal never received leaves a tombstone too */
    cr_assert_eq(store_begin(store), 0);
    cr_assert_eq(store_inbox_remove(store, s_id2, "withdrawn"), 0);
    cr_assert_eq(store_commit(store), 0);
    cr_assert_eq(store_inbox_known(store, s_id2, NULL), 2);
    store_destroy(&store);
}

Test(daemon_store, rollback_leaves_nothing)
{
    store_t *store = s_open();
    store_counts_t before;
    cr_assert_eq(store_counts(store, &before), 0);
    cr_assert_eq(store_begin(store), 0);
    uint8_t sealed[8] = {0};
    cr_assert_eq(s_outbox_add(store, s_id1, sealed, sizeof sealed), 0);
    cr_assert_eq(s_inbox_add(store, s_id2), 0);
    store_audit_t ev = {.event = "sent", .signal_id = s_id1};
    cr_assert_eq(store_audit(store, &ev), 0);
    cr_assert(store_in_transaction(store));
    store_rollback(store);
    cr_assert_not(store_in_transaction(store));

    store_outbox_t o;
    cr_assert_eq(store_outbox_get(store, s_id1, &o), 0);
    cr_assert_eq(store_inbox_known(store, s_id2, NULL), 0);
    store_counts_t after;
    cr_assert_eq(store_counts(store, &after), 0);
    cr_assert_eq(memcmp(&before, &after, sizeof before), 0);
    store_destroy(&store);
}

Test(daemon_store, checkpoints_latest_survives_reopen)
{
    store_t *store = s_open();
    uint64_t size = 99;
    unsigned char root[32];
    cr_assert_eq(store_checkpoint_latest(store, &size, root), 0);
    unsigned char r5[32], r9[32];
    memset(r5, 5, sizeof r5);
    memset(r9, 9, sizeof r9);
    cr_assert_eq(store_begin(store), 0);
    cr_assert_eq(store_checkpoint_add(store, 9, "note nine\n", 10, r9), 0, "%s",
                 store_error(store));
    cr_assert_eq(store_checkpoint_add(store, 5, "note five\n", 10, r5), 0);
    cr_assert_eq(store_checkpoint_evidence(store, "inconsistent", 9, 7, "bad\n", 4, "p", 1), 0);
    cr_assert_eq(store_commit(store), 0);
    store_destroy(&store);

    store = s_open();
    cr_assert_eq(store_checkpoint_latest(store, &size, root), 1);
    cr_assert_eq(size, 9);
    cr_assert_eq(memcmp(root, r9, sizeof root), 0);
    store_counts_t counts;
    cr_assert_eq(store_counts(store, &counts), 0);
    cr_assert_eq(counts.checkpoint_size, 9);
    cr_assert_eq(counts.checkpoint_evidence, 1);
    store_destroy(&store);
}

Test(daemon_store, full_disk_reported)
{
    store_t *store = s_open();
    sqlite3 *db = store_db(store);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    long long pages = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA max_page_count=%lld", pages);
    cr_assert_eq(sqlite3_exec(db, pragma, NULL, NULL, NULL), SQLITE_OK);

    static uint8_t big[64 * 1024];
    cr_assert_eq(store_begin(store), 0);
    int rc = s_outbox_add(store, s_id1, big, sizeof big);
    if (rc == 0)
        rc = store_commit(store);
    cr_assert_eq(rc, -1, "a full disk must fail");
    cr_assert_neq(strlen(store_error(store)), 0);
    store_rollback(store);
    store_outbox_t o;
    cr_assert_eq(store_outbox_get(store, s_id1, &o), 0);
    store_destroy(&store);
}

typedef struct {
    int n;             /* rows */
    char ids[4][33];   /* their signal ids */
    char lists[4][64]; /* their counterparts, "-" for NULL */
} rows_t;

static int s_row(void *arg, const char *signal_id, const char *counterparts)
{
    rows_t *rows = arg;
    if (rows->n < 4) {
        snprintf(rows->ids[rows->n], sizeof rows->ids[0], "%s", signal_id);
        snprintf(rows->lists[rows->n], sizeof rows->lists[0], "%s",
                 counterparts ? counterparts : "-");
    }
    rows->n++;
    return 0;
}

Test(daemon_store, readonly_notes_and_exchanges)
{
    store_t *store = s_open();
    unsigned char r5[32] = {5}, r9[32] = {9};
    uint8_t sealed[8] = {0};
    cr_assert_eq(store_begin(store), 0);
    cr_assert_eq(store_checkpoint_add(store, 5, "five\n", 5, r5), 0);
    cr_assert_eq(store_checkpoint_add(store, 9, "nine\n", 5, r9), 0);
    cr_assert_eq(store_checkpoint_evidence(store, "inconsistent", 9, 7, "bad\n", 4, "p", 1), 0);
    cr_assert_eq(s_outbox_add(store, s_id1, sealed, sizeof sealed), 0);
    cr_assert_eq(s_outbox_add(store, s_id2, sealed, sizeof sealed), 0);
    cr_assert_eq(store_outbox_accept(store, s_id1, 5000, 1), 1); /* s_id2 never accepted */
    cr_assert_eq(store_outcome_add(store, s_id1, "ggd", true, NULL, 6000), 1);
    cr_assert_eq(s_inbox_add(store, s_id2), 0);
    cr_assert_eq(store_commit(store), 0);
    store_destroy(&store);

    char path[4200];
    snprintf(path, sizeof path, "%s/hartslagd.db", s_dir);
    store = store_open_readonly(path, s_err, sizeof s_err);
    cr_assert_not_null(store, "%s", s_err);
    store_notes_t *notes = store_notes_open(store);
    cr_assert_not_null(notes, "%s", store_error(store));
    const char *kind, *note;
    size_t len;
    int held = 0, refused = 0;
    int rc;
    while ((rc = store_notes_next(notes, &kind, &note, &len)) == 1) {
        if (strcmp(kind, "checkpoint") == 0) {
            held++;
            cr_assert_eq(len, 5);
        } else {
            refused++;
            cr_assert_str_eq(kind, "inconsistent");
            cr_assert_eq(len, 4);
            cr_assert_eq(held, 2, "held notes come first");
        }
    }
    cr_assert_eq(rc, 0);
    cr_assert_eq(held, 2);
    cr_assert_eq(refused, 1);
    store_notes_close(&notes);
    cr_assert_null(notes);

    rows_t sent = {0}, stored = {0}, received = {0};
    cr_assert_eq(store_exchanges_each(store, STORE_EXCHANGE_SENT, s_row, &sent), 0);
    cr_assert_eq(sent.n, 1, "only what the broker accepted");
    cr_assert_str_eq(sent.ids[0], s_id1);
    cr_assert_str_eq(sent.lists[0], "politie,ggd");
    cr_assert_eq(store_exchanges_each(store, STORE_EXCHANGE_STORED_AT, s_row, &stored), 0);
    cr_assert_eq(stored.n, 1);
    cr_assert_str_eq(stored.lists[0], "ggd");
    cr_assert_eq(store_exchanges_each(store, STORE_EXCHANGE_RECEIVED, s_row, &received), 0);
    cr_assert_eq(received.n, 1);
    cr_assert_str_eq(received.ids[0], s_id2);
    cr_assert_str_eq(received.lists[0], "-");

    /* read-only: a write is refused */
    cr_assert_eq(store_begin(store), 0);
    cr_assert_eq(store_checkpoint_add(store, 11, "x\n", 2, r9), -1);
    store_rollback(store);
    store_destroy(&store);

    /* not a daemon store: no checkpoints table; a missing file is refused */
    snprintf(path, sizeof path, "%s/other.db", s_dir);
    sqlite3 *other = NULL;
    cr_assert_eq(sqlite3_open(path, &other), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(other, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    store = store_open_readonly(path, s_err, sizeof s_err);
    cr_assert_not_null(store);
    cr_assert_null(store_notes_open(store));
    store_destroy(&store);
    snprintf(path, sizeof path, "%s/missing.db", s_dir);
    cr_assert_null(store_open_readonly(path, s_err, sizeof s_err));
}

/* Writes case `id` as a step at `updated_ms` would, purged after
   `purge_after_ms` (0: we take part). */
static void s_case_put(store_t *store, const char *id, uint64_t updated_ms, uint64_t purge_after_ms)
{
    store_case_t c = {.case_id = id,
                      .kind = "casusoverleg",
                      .coordinator = "gemeente",
                      .subject = "9c5204ef5a660f7dd59dd1c71819b4beeef1b39cabab316d4df3e19c068f20c0",
                      .opened_ms = 100,
                      .updated_ms = updated_ms,
                      .participants = "[]",
                      .purge_after_ms = purge_after_ms};
    cr_assert_eq(store_case_put(store, &c), 0, "%s", store_error(store));
}

static long s_count(store_t *store, const char *table, const char *case_id)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE case_id = '%s'", table, case_id);
    sqlite3_stmt *stmt = NULL;
    cr_assert_eq(sqlite3_prepare_v2(store_db(store), sql, -1, &stmt, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW);
    long n = (long)sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

typedef struct {
    char ids[4][33];
    size_t n;
} due_t;

static int s_due(void *arg, const char *case_id, const char *kind)
{
    due_t *due = arg;
    cr_assert_str_eq(kind, "casusoverleg");
    snprintf(due->ids[due->n++], 33, "%s", case_id);
    return 0;
}

Test(daemon_store, a_case_is_purged_from_every_case_table)
{
    store_t *store = s_open();
    cr_assert_eq(store_begin(store), 0);
    const char *ids[] = {s_id1, s_id2};
    for (int i = 0; i < 2; i++) {
        s_case_put(store, ids[i], 200, 0);
        char step[33];
        snprintf(step, sizeof step, "%.31s%c", ids[i], i ? '1' : '0');
        store_case_step_t st = {.action_id = step,
                                .case_id = ids[i],
                                .verb = "open",
                                .actor = "gemeente",
                                .actor_user = "regisseur",
                                .at_ms = 200,
                                .audit_index = 1,
                                .detail = "{}"};
        cr_assert_eq(store_case_step_add(store, &st), 0);
        store_case_text_t text = {.text_id = step,
                                  .case_id = ids[i],
                                  .kind = "title",
                                  .author_user = "regisseur",
                                  .fields = "{}",
                                  .free_text = "titel",
                                  .created_ms = 200};
        cr_assert_eq(store_case_text_add(store, &text), 0, "%s", store_error(store));
    }
    /* closed at 300: purged after 1000; an older step (sent again) does
       not undo it, a later one does not push it back */
    s_case_put(store, s_id1, 300, 1000);
    s_case_put(store, s_id1, 250, 0);
    s_case_put(store, s_id1, 400, 2000);
    /* we left case 2, then were invited again: kept */
    s_case_put(store, s_id2, 300, 1500);
    s_case_put(store, s_id2, 400, 0);
    cr_assert_eq(store_commit(store), 0);

    due_t due = {.n = 0};
    cr_assert_eq(store_case_purge_due_each(store, 999, s_due, &due), 0);
    cr_assert_eq(due.n, 0);
    cr_assert_eq(store_case_purge_due_each(store, 1000, s_due, &due), 0);
    cr_assert_eq(due.n, 1);
    cr_assert_str_eq(due.ids[0], s_id1);
    due.n = 0;
    cr_assert_eq(store_case_purge_due_each(store, 1000000, s_due, &due), 0);
    cr_assert_eq(due.n, 1, "the case we take part in again is never due");

    uint64_t purged_ms = 0, last_ms = 0;
    cr_assert_eq(store_case_gone(store, s_id1, &purged_ms, &last_ms), 0);
    cr_assert_eq(store_begin(store), 0);
    cr_assert_eq(store_case_purge(store, s_id1, 5000), 1);
    cr_assert_eq(store_commit(store), 0);
    const char *tables[] = {"cases", "case_steps", "case_texts"};
    for (size_t t = 0; t < 3; t++) {
        cr_assert_eq(s_count(store, tables[t], s_id1), 0, "%s still holds the case", tables[t]);
        cr_assert_eq(s_count(store, tables[t], s_id2), 1, "%s lost the other case", tables[t]);
    }
    cr_assert_eq(store_case_gone(store, s_id1, &purged_ms, &last_ms), 1);
    cr_assert_eq(purged_ms, 5000);
    cr_assert_eq(last_ms, 400, "the broker time of the newest step held");
    cr_assert_eq(store_case_gone(store, s_id2, &purged_ms, &last_ms), 0);
    char *json = NULL;
    cr_assert_eq(store_case_json(store, s_id1, &json), 0);
    cr_assert_eq(store_case_json(store, s_id2, &json), 1);
    cr_assert(strstr(json, "\"purge_after_ms\":null"), "%s", json);
    free(json);
    /* the tombstone holds no subject */
    sqlite3_stmt *stmt = NULL;
    cr_assert_eq(sqlite3_prepare_v2(store_db(store), "SELECT * FROM cases_gone", -1, &stmt, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_column_count(stmt), 3);
    sqlite3_finalize(stmt);
    /* purging it again (a retried pass) finds nothing and keeps one tombstone */
    cr_assert_eq(store_begin(store), 0);
    cr_assert_eq(store_case_purge(store, s_id1, 6000), 0);
    cr_assert_eq(store_commit(store), 0);
    cr_assert_eq(s_count(store, "cases_gone", s_id1), 1);
    cr_assert_eq(store_case_gone(store, s_id1, &purged_ms, &last_ms), 1);
    cr_assert_eq(purged_ms, 5000, "the first purge's tombstone stays");
    /* invited again after the purge: the tombstone goes */
    cr_assert_eq(store_begin(store), 0);
    cr_assert_eq(store_case_ungone(store, s_id1), 0);
    cr_assert_eq(store_commit(store), 0);
    cr_assert_eq(store_case_gone(store, s_id1, &purged_ms, &last_ms), 0);
    store_destroy(&store);
}
