/*  Tests for lib/audit_store: the audit tables behind lib/db.h. Round
    trips of every kind of row, cursors in index order (and a second cursor
    of a kind ending the first), purge keeping leaf hashes, checkpoints and
    cosignatures (latest, max per org, the note joined to each), the
    subject index (create from records, cursor from an index, has, delete),
    and that a read-only connection neither creates tables nor accepts
    writes; through lib/audit_log, a foreign origin is refused. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_log.h"
#include "audit_store.h"
#include "audit_subjects.h"
#include "broker_harness.h"
#include "pg_harness.h"
#include "db.h"
#include "hartslag.pb-c.h"
#include "testutil.h"

static char *s_dir;
static char s_path[4200];
static char s_err[256];
static db_t *s_db;
static audit_store_t *s_store;

static void s_setup(void)
{
    tu_watchdog(60);
    s_dir = tu_tmpdir();
    cr_assert_not_null(s_dir);
    snprintf(s_path, sizeof s_path, "%s/audit.db", s_dir);
    if (bh_postgresql()) { /* the same tests on PostgreSQL (make check runs both) */
        char schema[64];
        snprintf(schema, sizeof schema, "audit%ld", (long)getpid());
        cr_assert_eq(pg_harness_schema(schema, s_path, sizeof s_path), 0);
    }
    s_db = db_open(s_path, DB_CREATE, s_err, sizeof s_err);
    cr_assert_not_null(s_db, "%s", s_err);
    s_store = audit_store_open(s_db, true, s_err, sizeof s_err);
    cr_assert_not_null(s_store, "%s", s_err);
}

static void s_teardown(void)
{
    audit_store_destroy(&s_store);
    db_close(&s_db);
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(audit_store, .init = s_setup, .fini = s_teardown);

/* A distinct 32-byte value per n. */
static void s_hash(unsigned n, unsigned char out[32])
{
    for (int i = 0; i < 32; i++)
        out[i] = (unsigned char)(n * 31 + (unsigned)i * 7);
}

/* A packed record with `subject` (NULL: none); *len its length. */
static uint8_t *s_pack(uint64_t index, const uint8_t *subject, size_t *len)
{
    Hartslag__AuditRecord r = HARTSLAG__AUDIT_RECORD__INIT;
    unsigned char prev[32];
    s_hash((unsigned)index, prev);
    r.time_ms = 1764400000000ull + index;
    r.event = "accepted";
    r.actor_org = "politie";
    r.outcome = "ok";
    r.index = index;
    r.prev_hash.data = prev;
    r.prev_hash.len = 32;
    if (subject) {
        r.has_subject = 1;
        r.subject.data = (uint8_t *)subject;
        r.subject.len = 32;
    }
    *len = hartslag__audit_record__get_packed_size(&r);
    uint8_t *buf = malloc(*len);
    cr_assert_not_null(buf);
    hartslag__audit_record__pack(&r, buf);
    return buf;
}

/* Writes record `index` (its leaf: s_hash(index + 1000)). */
static void s_put(uint64_t index, const uint8_t *subject)
{
    size_t len = 0;
    uint8_t *bytes = s_pack(index, subject, &len);
    unsigned char leaf[32];
    s_hash((unsigned)index + 1000, leaf);
    cr_assert_eq(audit_store_record_put(s_store, index, bytes, len, leaf), 0, "%s",
                 db_errmsg(s_db));
    free(bytes);
}

Test(audit_store, a_record_round_trips_and_an_index_is_written_once)
{
    cr_assert_eq(audit_store_present(s_db), 1);
    uint64_t count = 99;
    cr_assert_eq(audit_store_record_count(s_store, &count), 0);
    cr_assert_eq(count, 0);
    size_t want_len = 0;
    uint8_t *want = s_pack(7, NULL, &want_len);
    s_put(7, NULL);
    uint8_t *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(audit_store_record_get(s_store, 7, &bytes, &len), 1);
    cr_assert_eq(len, want_len);
    cr_assert_eq(memcmp(bytes, want, len), 0);
    free(bytes);
    free(want);
    cr_assert_eq(audit_store_record_get(s_store, 6, &bytes, &len), 0, "no record 6");
    unsigned char leaf[32], want_leaf[32];
    s_hash(1007, want_leaf);
    cr_assert_eq(audit_store_leaf_get(s_store, 7, leaf), 1);
    cr_assert_eq(memcmp(leaf, want_leaf, 32), 0);
    cr_assert_eq(audit_store_leaf_get(s_store, 8, leaf), 0);
    uint64_t n = 0;
    cr_assert_eq(audit_store_record_length(s_store, 7, &n), 1);
    cr_assert_eq(n, want_len);
    cr_assert_eq(audit_store_record_count(s_store, &count), 0);
    cr_assert_eq(count, 8, "highest index + 1");
    /* The same index again is refused as a constraint, not replaced. */
    cr_assert_eq(audit_store_record_put(s_store, 7, (const uint8_t *)"x", 1, leaf), -1);
    cr_assert_eq(db_error(s_db), DB_ERR_CONSTRAINT);
    cr_assert_eq(audit_store_record_length(s_store, 7, &n), 1);
    cr_assert_eq(n, want_len);
}

Test(audit_store, cursors_read_in_index_order_and_a_second_one_ends_the_first)
{
    const uint64_t order[] = {5, 1, 3, 0, 2, 4};
    for (size_t i = 0; i < 6; i++)
        s_put(order[i], NULL);
    audit_cursor_t *all = audit_store_records(s_store, 0, UINT64_MAX);
    cr_assert_not_null(all);
    audit_row_t row;
    for (int64_t want = 0; want < 6; want++) {
        cr_assert_eq(audit_cursor_next(all, &row), 1);
        cr_assert_eq(row.idx, want);
        cr_assert_not_null(row.leaf);
        unsigned char leaf[32];
        s_hash((unsigned)want + 1000, leaf);
        cr_assert_eq(memcmp(row.leaf, leaf, 32), 0);
        cr_assert_gt(row.len, 0);
    }
    cr_assert_eq(audit_cursor_next(all, &row), 0);
    audit_cursor_destroy(&all);

    /* A window by position. */
    audit_cursor_t *window = audit_store_records(s_store, 2, 3);
    int64_t seen[8];
    int n = 0;
    while (n < 8 && audit_cursor_next(window, &row) == 1)
        seen[n++] = row.idx;
    cr_assert_eq(n, 3);
    cr_assert_eq(seen[0], 2);
    cr_assert_eq(seen[2], 4);

    /* A second records cursor ends the first: it fails, it does not read
       the other's rows. Other calls may run while a cursor is open. */
    audit_cursor_t *first = audit_store_records(s_store, 0, UINT64_MAX);
    cr_assert_eq(audit_cursor_next(first, &row), 1);
    uint8_t *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(audit_store_record_get(s_store, 4, &bytes, &len), 1);
    free(bytes);
    cr_assert_eq(audit_cursor_next(first, &row), 1);
    cr_assert_eq(row.idx, 1, "a lookup between steps does not disturb the cursor");
    audit_cursor_t *second = audit_store_records(s_store, 0, UINT64_MAX);
    cr_assert_eq(audit_cursor_next(first, &row), -1);
    cr_assert_eq(audit_cursor_next(second, &row), 1);
    cr_assert_eq(row.idx, 0);
    audit_cursor_destroy(&first);
    cr_assert_eq(audit_cursor_next(second, &row), 1, "ending the first leaves the second");
    cr_assert_eq(row.idx, 1);
    audit_cursor_destroy(&second);
    audit_cursor_destroy(&window);
}

Test(audit_store, purge_empties_a_prefix_and_keeps_the_leaf_hashes)
{
    for (uint64_t i = 0; i < 10; i++)
        s_put(i, NULL);
    uint64_t changed = 0;
    cr_assert_eq(audit_store_purge(s_store, 5, &changed), 0);
    cr_assert_eq(changed, 5);
    for (uint64_t i = 0; i < 10; i++) {
        uint64_t len = 99;
        cr_assert_eq(audit_store_record_length(s_store, i, &len), 1);
        cr_assert_eq(len == 0, i < 5, "record %llu", (unsigned long long)i);
        unsigned char leaf[32], want[32];
        s_hash((unsigned)i + 1000, want);
        cr_assert_eq(audit_store_leaf_get(s_store, i, leaf), 1);
        cr_assert_eq(memcmp(leaf, want, 32), 0);
    }
    uint8_t *bytes = NULL;
    size_t len = 99;
    cr_assert_eq(audit_store_record_get(s_store, 2, &bytes, &len), 1);
    cr_assert_eq(len, 0, "a purged record reads as empty");
    free(bytes);
    cr_assert_eq(audit_store_purge(s_store, 5, &changed), 0);
    cr_assert_eq(changed, 0, "nothing left to purge below 5");
    cr_assert_eq(audit_store_purge(s_store, 7, &changed), 0);
    cr_assert_eq(changed, 2);
}

Test(audit_store, meta_nodes_and_checkpoints_round_trip)
{
    char value[64];
    cr_assert_eq(audit_store_meta_get(s_store, "origin", value, sizeof value), 0);
    cr_assert_eq(audit_store_meta_set(s_store, "origin", "hartslag.a/audit"), 0);
    cr_assert_eq(audit_store_meta_set(s_store, "origin", "hartslag.b/audit"), 0);
    cr_assert_eq(audit_store_meta_get(s_store, "origin", value, sizeof value), 1);
    cr_assert_str_eq(value, "hartslag.b/audit");

    unsigned char a[32], b[32], got[32];
    s_hash(1, a);
    s_hash(2, b);
    cr_assert_eq(audit_store_node_get(s_store, 4, 0, got), 0);
    cr_assert_eq(audit_store_node_put(s_store, 4, 0, a), 0);
    cr_assert_eq(audit_store_node_put(s_store, 4, 0, b), 0, "replaced, not refused");
    cr_assert_eq(audit_store_node_get(s_store, 4, 0, got), 1);
    cr_assert_eq(memcmp(got, b, 32), 0);
    cr_assert_eq(audit_store_node_get(s_store, 5, 0, got), 0);

    uint64_t size = 0, count = 9;
    char note[64];
    size_t len = 0;
    int64_t made = 0;
    cr_assert_eq(audit_store_checkpoint_latest(s_store, &size, note, sizeof note, &len, &made), 0);
    cr_assert_eq(audit_store_checkpoint_put(s_store, 10, "note 10\n", 100), 0);
    cr_assert_eq(audit_store_checkpoint_put(s_store, 20, "note 20\n", 200), 0);
    cr_assert_eq(audit_store_checkpoint_put(s_store, 15, "note 15\n", 150), 0);
    cr_assert_eq(audit_store_checkpoint_put(s_store, 20, "note 20b\n", 201), 0);
    cr_assert_eq(audit_store_checkpoint_latest(s_store, &size, note, sizeof note, &len, &made), 1);
    cr_assert_eq(size, 20);
    cr_assert_str_eq(note, "note 20b\n");
    cr_assert_eq(len, strlen("note 20b\n"));
    cr_assert_eq(made, 201);
    cr_assert_eq(audit_store_checkpoint_at(s_store, 15, note, sizeof note, &len), 1);
    cr_assert_str_eq(note, "note 15\n");
    cr_assert_eq(audit_store_checkpoint_at(s_store, 16, note, sizeof note, &len), 0);
    cr_assert_eq(audit_store_checkpoint_at(s_store, 15, note, 4, &len), -1, "does not fit");
    cr_assert_eq(audit_store_checkpoint_count(s_store, &count), 0);
    cr_assert_eq(count, 3);
}

/* Collects the checkpoint sizes in the order given. */
typedef struct {
    uint64_t sizes[8];
    int n;
} sizes_t;

static int s_collect_size(void *arg, uint64_t size, const char *note, size_t len, int64_t made_ms)
{
    (void)made_ms;
    sizes_t *s = arg;
    cr_assert_eq(strlen(note), len);
    s->sizes[s->n++] = size;
    return s->n == 2 ? 7 : 0; /* stops after two, with fn's value */
}

Test(audit_store, checkpoints_each_is_in_size_order_and_stops_on_request)
{
    cr_assert_eq(audit_store_checkpoint_put(s_store, 30, "c", 3), 0);
    cr_assert_eq(audit_store_checkpoint_put(s_store, 10, "a", 1), 0);
    cr_assert_eq(audit_store_checkpoint_put(s_store, 20, "b", 2), 0);
    sizes_t s = {{0}, 0};
    cr_assert_eq(audit_store_checkpoints_each(s_store, s_collect_size, &s), 7);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.sizes[0], 10);
    cr_assert_eq(s.sizes[1], 20);
}

/* Collects cosignatures as "size org line note|-". */
typedef struct {
    char rows[8][64];
    int n;
} cosigs_t;

static int s_collect_cosig(void *arg, const audit_cosignature_t *c)
{
    cosigs_t *s = arg;
    snprintf(s->rows[s->n++], sizeof s->rows[0], "%llu %s %s %s %lld", (unsigned long long)c->size,
             c->org, c->line ? c->line : "-", c->note ? c->note : "-", (long long)c->received_ms);
    return 0;
}

Test(audit_store, cosignatures_join_their_checkpoint_and_give_the_max_per_org)
{
    cr_assert_eq(audit_store_checkpoint_put(s_store, 10, "n10", 1), 0);
    cr_assert_eq(audit_store_checkpoint_put(s_store, 20, "n20", 2), 0);
    cr_assert_eq(audit_store_cosignature_put(s_store, 20, "politie", "l1", 5), 0);
    cr_assert_eq(audit_store_cosignature_put(s_store, 10, "politie", "l0", 4), 0);
    cr_assert_eq(audit_store_cosignature_put(s_store, 10, "gemeente", "g0", 3), 0);
    cr_assert_eq(audit_store_cosignature_put(s_store, 30, "gemeente", "g9", 9), 0);
    cr_assert_eq(audit_store_cosignature_put(s_store, 20, "politie", "l2", 6), 0, "replaced");

    cosigs_t all = {{{0}}, 0};
    cr_assert_eq(audit_store_cosignatures_each(s_store, -1, s_collect_cosig, &all), 0);
    cr_assert_eq(all.n, 4);
    cr_assert_str_eq(all.rows[0], "10 gemeente g0 n10 3");
    cr_assert_str_eq(all.rows[1], "10 politie l0 n10 4");
    cr_assert_str_eq(all.rows[2], "20 politie l2 n20 6");
    cr_assert_str_eq(all.rows[3], "30 gemeente g9 - 9", "no checkpoint of size 30: no note");

    cosigs_t at = {{{0}}, 0};
    cr_assert_eq(audit_store_cosignatures_each(s_store, 10, s_collect_cosig, &at), 0);
    cr_assert_eq(at.n, 2);
    cr_assert_str_eq(at.rows[1], "10 politie l0 n10 4");

    uint64_t max = 0;
    cr_assert_eq(audit_store_cosignature_max(s_store, "politie", &max), 1);
    cr_assert_eq(max, 20);
    cr_assert_eq(audit_store_cosignature_max(s_store, "gemeente", &max), 1);
    cr_assert_eq(max, 30);
    cr_assert_eq(audit_store_cosignature_max(s_store, "welzijn", &max), 0);
    cr_assert_eq(audit_store_cosigned(s_store, 10, "gemeente"), 1);
    cr_assert_eq(audit_store_cosigned(s_store, 20, "gemeente"), 0);

    cosigs_t per_org = {{{0}}, 0};
    cr_assert_eq(audit_store_cosigners_each(s_store, s_collect_cosig, &per_org), 0);
    cr_assert_eq(per_org.n, 2);
    cr_assert_str_eq(per_org.rows[0], "30 gemeente - - 9");
    cr_assert_str_eq(per_org.rows[1], "20 politie - - 6");
}

/* The idx of the records the subject cursor gives for `subject` from `from`. */
static int s_by_subject(const uint8_t subject[32], uint64_t from, int64_t *out, int max)
{
    audit_cursor_t *cursor = audit_store_subject_records(s_store, audit_subject_tag(subject), from);
    cr_assert_not_null(cursor, "%s", db_errmsg(s_db));
    audit_row_t row;
    int n = 0, rc;
    while ((rc = audit_cursor_next(cursor, &row)) == 1) {
        cr_assert_lt(n, max);
        cr_assert_null(row.leaf);
        out[n++] = row.idx;
    }
    cr_assert_eq(rc, 0);
    audit_cursor_destroy(&cursor);
    return n;
}

static int s_count_row(void *arg, int64_t tag, int64_t idx)
{
    (void)tag;
    int64_t *last = arg;
    cr_assert_gt(idx, last[0], "by idx: increasing");
    last[0] = idx;
    last[1]++;
    return 0;
}

Test(audit_store, the_subject_index_is_built_from_the_records_and_leads_back_to_them)
{
    uint8_t alice[32], bob[32];
    memset(alice, 0xa1, sizeof alice);
    memset(bob, 0xb0, sizeof bob);
    /* Across segments: 4,096 records each. */
    const uint64_t at[] = {0, 3, 4095, 4096, 9000, 12289};
    for (size_t i = 0; i < 6; i++)
        s_put(at[i], i % 2 ? bob : alice);
    s_put(5, NULL);
    cr_assert_not(audit_store_subjects_exist(s_store), "not created by open");
    uint64_t rows = 0;
    cr_assert_eq(audit_store_subjects_create(s_store, &rows), 0, "%s", db_errmsg(s_db));
    cr_assert_eq(rows, 6, "one row per record with a subject");
    cr_assert(audit_store_subjects_exist(s_store));

    int64_t got[8];
    int n = s_by_subject(alice, 0, got, 8);
    cr_assert_eq(n, 3);
    cr_assert_eq(got[0], 0);
    cr_assert_eq(got[1], 4095);
    cr_assert_eq(got[2], 9000);
    n = s_by_subject(bob, 4000, got, 8);
    cr_assert_eq(n, 2, "from 4000: not record 3");
    cr_assert_eq(got[0], 4096);
    cr_assert_eq(got[1], 12289);
    n = s_by_subject(bob, 12290, got, 8);
    cr_assert_eq(n, 0);

    int64_t tag = audit_subject_tag(alice);
    cr_assert_eq(audit_store_subject_has(s_store, tag, 4095), 1);
    cr_assert_eq(audit_store_subject_has(s_store, tag, 3), 0, "that is bob's");
    cr_assert_eq(audit_store_subject_put(s_store, tag, 4095), 0, "an existing row is kept");
    cr_assert_eq(audit_store_subject_delete(s_store, tag, 4095), 0);
    cr_assert_eq(audit_store_subject_has(s_store, tag, 4095), 0);
    n = s_by_subject(alice, 0, got, 8);
    cr_assert_eq(n, 2);
    cr_assert_eq(got[1], 9000);

    int64_t walk[2] = {-1, 0};
    cr_assert_eq(audit_store_subject_rows(s_store, true, s_count_row, walk), 0);
    cr_assert_eq(walk[1], 5);
    cr_assert_eq(walk[0], 12289);

    /* Built again (an older shape is replaced): the deleted row is back. */
    cr_assert_eq(audit_store_subjects_create(s_store, &rows), 0);
    cr_assert_eq(rows, 6);
    cr_assert_eq(audit_store_subject_has(s_store, tag, 4095), 1);
}

/* Counts records whose subject index row leads to `subject`. */
static int s_subject_hits(const uint8_t subject[32])
{
    audit_cursor_t *cursor = audit_store_subject_records(s_store, audit_subject_tag(subject), 0);
    cr_assert_not_null(cursor, "%s", db_errmsg(s_db));
    audit_row_t row;
    int n = 0, rc;
    while ((rc = audit_cursor_next(cursor, &row)) == 1)
        n++;
    cr_assert_eq(rc, 0);
    audit_cursor_destroy(&cursor);
    return n;
}

/* In a transaction, PostgreSQL's rows are gathered and written in one
   statement per table: every read inside the transaction must still see
   them, a rollback must drop them, and a bad row must fail the commit. */
Test(audit_store, rows_written_in_a_transaction_are_read_back_committed_or_dropped_whole)
{
    uint8_t subject[32];
    memset(subject, 0x5A, sizeof subject);
    uint64_t built = 0;
    cr_assert_eq(audit_store_subjects_create(s_store, &built), 0, "%s", db_errmsg(s_db));
    cr_assert_eq(db_begin(s_db), 0, "%s", db_errmsg(s_db));
    for (uint64_t i = 0; i < 600; i++) /* past the batch bound too */
        s_put(i, i % 3 == 0 ? subject : NULL);
    for (uint64_t i = 0; i < 600; i += 3)
        cr_assert_eq(audit_store_subject_put(s_store, audit_subject_tag(subject), i), 0);
    uint64_t count = 0;
    cr_assert_eq(audit_store_record_count(s_store, &count), 0, "%s", db_errmsg(s_db));
    cr_assert_eq(count, 600, "read inside the transaction");
    cr_assert_eq(s_subject_hits(subject), 200);
    unsigned char leaf[32], want[32];
    s_hash(1599, want);
    cr_assert_eq(audit_store_leaf_get(s_store, 599, leaf), 1);
    cr_assert_eq(memcmp(leaf, want, 32), 0);
    s_put(600, subject);
    cr_assert_eq(audit_store_subject_put(s_store, audit_subject_tag(subject), 600), 0);
    cr_assert_eq(db_commit(s_db), 0, "%s", db_errmsg(s_db));
    cr_assert_eq(audit_store_record_count(s_store, &count), 0);
    cr_assert_eq(count, 601);
    cr_assert_eq(s_subject_hits(subject), 201, "the last row was written at the commit");

    cr_assert_eq(db_begin(s_db), 0);
    s_put(601, subject);
    cr_assert_eq(audit_store_subject_put(s_store, audit_subject_tag(subject), 601), 0);
    db_rollback(s_db);
    cr_assert_eq(audit_store_record_count(s_store, &count), 0);
    cr_assert_eq(count, 601, "rolled back: gone");
    cr_assert_eq(s_subject_hits(subject), 201);

    /* an index written twice: refused at the latest by the commit */
    cr_assert_eq(db_begin(s_db), 0);
    size_t len = 0;
    uint8_t *bytes = s_pack(7, NULL, &len);
    int put = audit_store_record_put(s_store, 7, bytes, len, leaf);
    free(bytes);
    int committed = put == 0 ? db_commit(s_db) : -1;
    cr_assert_neq(committed, 0, "a duplicate index must not commit");
    db_rollback(s_db);
    cr_assert_eq(audit_store_record_count(s_store, &count), 0);
    cr_assert_eq(count, 601);
    uint64_t stored = 0;
    cr_assert_eq(audit_store_record_length(s_store, 7, &stored), 1);
    cr_assert_gt(stored, 0, "record 7 is the first one, not replaced");
}

Test(audit_store, record_nth_counts_positions_not_indexes)
{
    s_put(0, NULL);
    s_put(10, NULL);
    s_put(20, NULL);
    size_t want_len = 0;
    uint8_t *want = s_pack(20, NULL, &want_len);
    uint8_t *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(audit_store_record_nth(s_store, 2, &bytes, &len), 1);
    cr_assert_eq(len, want_len);
    cr_assert_eq(memcmp(bytes, want, len), 0);
    free(bytes);
    free(want);
    cr_assert_eq(audit_store_record_nth(s_store, 3, &bytes, &len), 0);
}

Test(audit_store, a_read_only_connection_creates_nothing_and_writes_nothing)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/empty.db", s_dir);
    db_t *empty = db_open(path, DB_CREATE, s_err, sizeof s_err);
    cr_assert_not_null(empty, "%s", s_err);
    cr_assert_eq(audit_store_present(empty), 0, "not an audit store");
    db_close(&empty);
    empty = db_open(path, DB_READONLY, s_err, sizeof s_err);
    cr_assert_not_null(empty, "%s", s_err);
    char err[256];
    audit_log_t *log = audit_log_open(empty, NULL, false, err, sizeof err);
    cr_assert_null(log, "a file without the tables is not an audit log");
    cr_assert(strstr(err, "not an audit store") != NULL, "%s", err);
    db_close(&empty);

    s_put(0, NULL);
    db_t *ro = db_open(s_path, DB_READONLY, s_err, sizeof s_err);
    cr_assert_not_null(ro, "%s", s_err);
    audit_store_t *store = audit_store_open(ro, false, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    uint64_t count = 0;
    cr_assert_eq(audit_store_record_count(store, &count), 0);
    cr_assert_eq(count, 1);
    unsigned char leaf[32];
    s_hash(1, leaf);
    cr_assert_eq(audit_store_record_put(store, 1, leaf, 32, leaf), -1);
    cr_assert_eq(db_error(ro), DB_ERR_READONLY);
    audit_store_destroy(&store);
    db_close(&ro);
}

Test(audit_store, the_log_refuses_a_store_of_another_origin)
{
    char err[256];
    audit_log_t *log = audit_log_open(s_db, "hartslag.a/audit", true, err, sizeof err);
    cr_assert_not_null(log, "%s", err);
    cr_assert(audit_store_subjects_exist(audit_log_store(log)), "a writable open builds it");
    Hartslag__AuditRecord r = HARTSLAG__AUDIT_RECORD__INIT;
    r.event = "accepted";
    r.actor_org = "politie";
    r.outcome = "ok";
    cr_assert_eq(db_begin(s_db), 0);
    cr_assert_eq(audit_log_append(log, &r), 0);
    cr_assert_eq(db_commit(s_db), 0);
    audit_log_commit(log);
    audit_log_destroy(&log);
    cr_assert_null(audit_log_open(s_db, "hartslag.b/audit", true, err, sizeof err));
    cr_assert(strstr(err, "belongs to 'hartslag.a/audit'") != NULL, "%s", err);
    log = audit_log_open(s_db, NULL, false, err, sizeof err);
    cr_assert_not_null(log, "no origin given: the stored one (%s)", err);
    cr_assert_str_eq(audit_log_origin(log), "hartslag.a/audit");
    cr_assert_eq(audit_log_size(log), 1);
    audit_log_destroy(&log);
}
