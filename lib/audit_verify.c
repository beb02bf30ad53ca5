/*  audit_verify: see audit_verify.h. */
#include "audit_verify.h"

#include "audit_log.h"
#include "audit_subjects.h"
#include "wire.h"
#include "hartslag.pb-c.h"
#include "merkle.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_names[] = {
    [AUDIT_OK] = "ok",
    [AUDIT_MODIFIED] = "modified",
    [AUDIT_MISSING] = "missing",
    [AUDIT_REORDERED] = "reordered",
    [AUDIT_DUPLICATED] = "duplicated",
    [AUDIT_TRUNCATED] = "truncated",
    [AUDIT_REWRITTEN] = "rewritten",
    [AUDIT_FORKED] = "forked",
    [AUDIT_BAD_SIGNATURE] = "bad_signature",
    [AUDIT_UNREADABLE] = "unreadable",
    [AUDIT_INDEX] = "index",
    [AUDIT_BAD_COSIGNATURE] = "bad_cosignature",
};

const char *audit_fault_name(audit_fault_kind_t kind)
{
    return (unsigned)kind <= AUDIT_BAD_COSIGNATURE ? s_names[kind] : "unknown";
}

/* A validly signed checkpoint: what it vouches for and who holds it. */
typedef struct {
    uint64_t size;                        /* tree size it vouches for */
    unsigned char root[MERKLE_HASHBYTES]; /* root at that size */
    uint32_t holder;                      /* index into anchors_t.holders */
} anchor_t;

/*  The checkpoints to check the records against. Invariant: every entry
    of v was verified with the log key; holders[i] is a NUL-terminated
    copy of a holder's name; after s_anchors_compact, v is sorted by
    (size, root) and holds no two equal (size, root) pairs. */
typedef struct {
    anchor_t *v;    /* the checkpoints */
    size_t n, cap;  /* in use, allocated */
    char **holders; /* names of those who hold them */
    size_t n_holders, cap_holders;
} anchors_t;

static int s_anchor_cmp(const void *a, const void *b)
{
    const anchor_t *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return memcmp(x->root, y->root, MERKLE_HASHBYTES);
}

/* Sorts and drops copies of one (size, root), keeping the first holder. */
static void s_anchors_compact(anchors_t *a)
{
    if (a->n < 2)
        return;
    qsort(a->v, a->n, sizeof *a->v, s_anchor_cmp);
    size_t kept = 1;
    for (size_t i = 1; i < a->n; i++)
        if (s_anchor_cmp(&a->v[i], &a->v[kept - 1]) != 0)
            a->v[kept++] = a->v[i];
    a->n = kept;
}

static void s_anchors_free(anchors_t *a)
{
    for (size_t i = 0; i < a->n_holders; i++)
        free(a->holders[i]);
    free(a->holders);
    free(a->v);
    memset(a, 0, sizeof *a);
}

static const char *s_holder(const anchors_t *a, const anchor_t *anchor)
{
    return a->holders[anchor->holder];
}

/* The index of `name` among the holders, added when new. -1 out of memory. */
static int64_t s_holder_index(anchors_t *a, const char *name)
{
    for (size_t i = a->n_holders; i-- > 0;)
        if (strcmp(a->holders[i], name) == 0)
            return (int64_t)i;
    if (a->n_holders == UINT32_MAX)
        return -1;
    if (a->n_holders == a->cap_holders) {
        size_t grow = a->cap_holders ? a->cap_holders * 2 : 8;
        char **more = realloc(a->holders, grow * sizeof *more);
        if (!more)
            return -1;
        a->holders = more;
        a->cap_holders = grow;
    }
    char *copy = strdup(name);
    if (!copy)
        return -1;
    a->holders[a->n_holders] = copy;
    return (int64_t)a->n_holders++;
}

static int s_fault(audit_report_t *report, audit_fault_kind_t kind, int64_t first_bad,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int s_fault(audit_report_t *report, audit_fault_kind_t kind, int64_t first_bad,
                   const char *fmt, ...)
{
    report->kind = kind;
    report->first_bad = first_bad;
    if (report->range_end < first_bad + 1)
        report->range_end = first_bad + 1;
    va_list args;
    va_start(args, fmt);
    vsnprintf(report->detail, sizeof report->detail, fmt, args);
    va_end(args);
    return 1;
}

/* One row as read. The bytes are borrowed from SQLite: valid until the
   statement steps again. */
typedef struct {
    bool present;           /* a row was read */
    int64_t idx;            /* the idx column */
    bool parsed;            /* the bytes are a well-formed record */
    uint64_t index;         /* its index field */
    uint64_t purged_before; /* its purged_before field (0: none) */
    const uint8_t *prev;    /* its prev_hash field (32 bytes) */
    const uint8_t *subject; /* its subject field (last one), or NULL */
    size_t subject_len;
    unsigned char leaf[MERKLE_HASHBYTES];        /* hash of the bytes as stored */
    unsigned char stored_leaf[MERKLE_HASHBYTES]; /* the leaf column (untrusted) */
    const uint8_t *bytes;                        /* the record bytes */
    size_t len;
} row_t;

static void s_row_clear(row_t *row)
{
    memset(row, 0, sizeof *row);
}

/* Walks the protobuf wire format of an AuditRecord without allocating:
   every field well-formed and in bounds, the required fields present with
   their wire types, and index (17) and prev_hash (18) taken out. The full
   unpack (protobuf-c) is for readers; verification needs only these. */
static bool s_scan(row_t *row)
{
    const uint8_t *p = row->bytes, *end = row->bytes + row->len;
    uint32_t seen = 0;
    while (p < end) {
        uint64_t key, value;
        if (wire_varint_read(&p, end, &key) != 0 || key >> 3 == 0 || key >> 3 > 536870911)
            return false;
        uint64_t field = key >> 3, type = key & 7;
        if (type == 0) {
            if (wire_varint_read(&p, end, &value) != 0)
                return false;
            if (field == 17)
                row->index = value;
            else if (field == 19)
                row->purged_before = value;
        } else if (type == 2) {
            if (wire_varint_read(&p, end, &value) != 0 || value > (uint64_t)(end - p))
                return false;
            if (field == 18) {
                if (value != MERKLE_HASHBYTES)
                    return false;
                row->prev = p;
            } else if (field == 9) {
                row->subject = p;
                row->subject_len = (size_t)value;
            }
            p += value;
        } else if (type == 1 || type == 5) {
            size_t skip = type == 1 ? 8 : 4;
            if ((size_t)(end - p) < skip)
                return false;
            p += skip;
        } else
            return false;
        /* Required fields and the wire type their schema gives them. */
        static const struct {
            uint64_t field, type;
        } required[] = {{1, 0}, {2, 2}, {3, 2}, {14, 2}, {17, 0}, {18, 2}};
        for (size_t i = 0; i < sizeof required / sizeof *required; i++)
            if (field == required[i].field) {
                if (type != required[i].type)
                    return false;
                seen |= 1u << i;
            }
    }
    return seen == 0x3f;
}

/* Steps `stmt` (SELECT idx, record, leaf ... ORDER BY idx) into `row`. 1 read, 0 end, -1 error. */
static int s_row_next(sqlite3_stmt *stmt, row_t *row)
{
    s_row_clear(row);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    row->present = true;
    row->idx = sqlite3_column_int64(stmt, 0);
    row->bytes = sqlite3_column_blob(stmt, 1);
    int n = sqlite3_column_bytes(stmt, 1);
    row->len = n > 0 && row->bytes ? (size_t)n : 0;
    if (!row->bytes)
        row->bytes = (const uint8_t *)"";
    merkle_leaf_hash(row->bytes, row->len, row->leaf);
    if (sqlite3_column_bytes(stmt, 2) == MERKLE_HASHBYTES)
        memcpy(row->stored_leaf, sqlite3_column_blob(stmt, 2), MERKLE_HASHBYTES);
    row->parsed = row->len <= AUDIT_RECORD_MAX && s_scan(row);
    return 1;
}

static bool s_links_to(const row_t *row, const unsigned char prev[MERKLE_HASHBYTES])
{
    return row->parsed && row->prev && memcmp(row->prev, prev, MERKLE_HASHBYTES) == 0;
}

/* Names the fault at position p, the first row that is not consistent. */
static int s_classify(sqlite3 *db, sqlite3_stmt *stmt, row_t *row, uint64_t p,
                      const unsigned char prev_leaf[MERKLE_HASHBYTES],
                      const unsigned char prev_stored[MERKLE_HASHBYTES], audit_report_t *report)
{
    int64_t pos = (int64_t)p;
    if (!row->parsed)
        return s_fault(report, AUDIT_MODIFIED, pos,
                       "record %lld does not unpack: its bytes were changed", (long long)pos);
    uint64_t claimed = row->index;
    bool linked = s_links_to(row, prev_leaf);
    if (claimed == p) {
        /* Its link is wrong: either the record before it changed (then this
           record is intact and the next one links to it) or this one did. */
        row_t next = {0};
        int more = s_row_next(stmt, &next);
        bool next_links = more == 1 && s_links_to(&next, row->leaf);
        s_row_clear(&next);
        /* No record after it: the stored leaf hashes (untrusted) still say
           which of the two changed after it was written. */
        if (more == 0 && pos > 0)
            next_links = memcmp(prev_leaf, prev_stored, MERKLE_HASHBYTES) != 0;
        if (next_links && pos > 0)
            return s_fault(report, AUDIT_MODIFIED, pos - 1,
                           "record %lld was changed: record %lld no longer links to it",
                           (long long)(pos - 1), (long long)pos);
        return s_fault(report, AUDIT_MODIFIED, pos,
                       "record %lld was changed: its link to the record before it is wrong",
                       (long long)pos);
    }
    if (linked)
        return s_fault(report, AUDIT_MODIFIED, pos, "record %lld was changed: it claims index %llu",
                       (long long)pos, (unsigned long long)claimed);
    if (claimed < p) {
        /* An earlier record again: a copy, or one moved here. */
        sqlite3_stmt *at = NULL;
        bool same = false;
        if (sqlite3_prepare_v2(db, "SELECT record FROM audit ORDER BY idx LIMIT 1 OFFSET ?1", -1,
                               &at, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(at, 1, (int64_t)claimed);
            if (sqlite3_step(at) == SQLITE_ROW)
                same = (size_t)sqlite3_column_bytes(at, 0) == row->len &&
                       memcmp(sqlite3_column_blob(at, 0), row->bytes, row->len) == 0;
        }
        sqlite3_finalize(at);
        if (same)
            return s_fault(report, AUDIT_DUPLICATED, pos, "record %lld is a copy of record %llu",
                           (long long)pos, (unsigned long long)claimed);
        return s_fault(report, AUDIT_REORDERED, pos,
                       "record %llu stands at position %lld: records were moved",
                       (unsigned long long)claimed, (long long)pos);
    }
    /* A later record here: is the one that belongs here further on? */
    row_t ahead = {0};
    bool found = false;
    while (!found && s_row_next(stmt, &ahead) == 1)
        found = ahead.parsed && ahead.index == p;
    s_row_clear(&ahead);
    if (found)
        return s_fault(report, AUDIT_REORDERED, pos,
                       "record %llu stands at position %lld and record %lld further on: records "
                       "were moved",
                       (unsigned long long)claimed, (long long)pos, (long long)pos);
    report->range_end = (int64_t)claimed;
    return s_fault(report, AUDIT_MISSING, pos, "records %lld to %llu are missing", (long long)pos,
                   (unsigned long long)claimed - 1);
}

/* Reads the store's origin. */
static int s_origin(sqlite3 *db, char *origin, size_t len)
{
    sqlite3_stmt *stmt = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "SELECT value FROM audit_meta WHERE key='origin'", -1, &stmt,
                           NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0)) {
        snprintf(origin, len, "%s", (const char *)sqlite3_column_text(stmt, 0));
        rc = 0;
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Adds a verified note to the anchors; a note that does not verify is a fault. */
static int s_add_anchor(anchors_t *a, const char *note, size_t len, const char *origin,
                        const unsigned char log_pk[32], const char *holder, int64_t expected_size,
                        audit_report_t *report)
{
    checkpoint_t cp;
    checkpoint_err_t err = checkpoint_open(note, len, origin, log_pk, &cp);
    if (err != CHECKPOINT_OK || (expected_size >= 0 && cp.size != (uint64_t)expected_size))
        return s_fault(report, AUDIT_BAD_SIGNATURE, -1,
                       "checkpoint held by %s (size %lld) does not verify: %s", holder,
                       (long long)expected_size,
                       err != CHECKPOINT_OK ? checkpoint_strerror(err) : "size differs");
    int64_t who = s_holder_index(a, holder);
    if (who < 0)
        return -1;
    if (a->n == a->cap) {
        /* Copies of one checkpoint (every daemon holds the same ones) are
           dropped before the array grows. */
        s_anchors_compact(a);
        if (a->n > a->cap / 2 || a->cap == 0) {
            size_t grow = a->cap ? a->cap * 2 : 1024;
            anchor_t *more = realloc(a->v, grow * sizeof *more);
            if (!more)
                return -1;
            a->v = more;
            a->cap = grow;
        }
    }
    anchor_t *anchor = &a->v[a->n++];
    anchor->size = cp.size;
    memcpy(anchor->root, cp.root, MERKLE_HASHBYTES);
    anchor->holder = (uint32_t)who;
    report->checkpoints++;
    if (cp.size > report->anchored_size)
        report->anchored_size = cp.size;
    return 0;
}

/* REWRITTEN (or MODIFIED, when the stored leaf hashes still point at one
   record) between the last matching anchor and the first that differs. */
static int s_rewritten(sqlite3 *db, uint64_t from, const anchor_t *bad, const char *holder,
                       audit_report_t *report)
{
    sqlite3_stmt *stmt = NULL;
    int64_t hint = -1;
    if (sqlite3_prepare_v2(db,
                           "SELECT idx, record, leaf FROM audit ORDER BY idx LIMIT ?2 OFFSET ?1",
                           -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, (int64_t)from);
        sqlite3_bind_int64(stmt, 2, (int64_t)(bad->size - from));
        row_t row = {0};
        for (uint64_t p = from; hint < 0 && s_row_next(stmt, &row) == 1; p++)
            if (memcmp(row.leaf, row.stored_leaf, MERKLE_HASHBYTES) != 0)
                hint = (int64_t)p;
        s_row_clear(&row);
    }
    sqlite3_finalize(stmt);
    report->range_end = (int64_t)bad->size;
    if (hint >= 0)
        return s_fault(report, AUDIT_MODIFIED, hint,
                       "record %lld was changed: the log no longer has the root that checkpoint "
                       "%llu (held by %s) signed",
                       (long long)hint, (unsigned long long)bad->size, holder);
    report->range_end = (int64_t)bad->size;
    return s_fault(report, AUDIT_REWRITTEN, (int64_t)from,
                   "history rewritten: records %llu to %llu are not what checkpoint %llu (held by "
                   "%s) signed",
                   (unsigned long long)from, (unsigned long long)bad->size - 1,
                   (unsigned long long)bad->size, holder);
}

/* An order-free digest of a set of (tag, idx) pairs: the sum of their
   SipHash values under a key drawn for this run, in two 64-bit lanes, and
   their count. Whoever edited the store cannot know the key, so two
   different sets give equal digests with probability about 2^-128. */
typedef struct {
    unsigned char key[crypto_shorthash_siphashx24_KEYBYTES];
    uint64_t sum[2];
    uint64_t count;
} pairset_t;

static void s_pair_add(pairset_t *set, int64_t tag, int64_t idx)
{
    unsigned char in[16], out[crypto_shorthash_siphashx24_BYTES];
    memcpy(in, &tag, 8);
    memcpy(in + 8, &idx, 8);
    crypto_shorthash_siphashx24(out, in, sizeof in, set->key);
    uint64_t lane[2];
    memcpy(lane, out, sizeof lane);
    set->sum[0] += lane[0];
    set->sum[1] += lane[1];
    set->count++;
}

/* The subject of the record at `idx` as stored: 1 (its tag in *tag), 0 no
   subject, 2 purged, 3 no such record, -1 error. */
static int s_subject_at(sqlite3_stmt *at, int64_t idx, int64_t *tag)
{
    sqlite3_reset(at);
    sqlite3_bind_int64(at, 1, idx);
    int rc = sqlite3_step(at);
    if (rc == SQLITE_DONE)
        return 3;
    if (rc != SQLITE_ROW)
        return -1;
    int n = sqlite3_column_bytes(at, 0);
    const uint8_t *bytes = sqlite3_column_blob(at, 0);
    if (!bytes || n <= 0)
        return 2;
    const uint8_t *subject = NULL;
    if (audit_record_subject(bytes, (size_t)n, &subject) != 1)
        return 0;
    *tag = audit_subject_tag(subject);
    return 1;
}

/* The digests differ: names the lowest record at fault, looking the rows
   up one by one (only ever run on a faulty store). */
static int s_index_fault(sqlite3 *db, const pairset_t *records, uint64_t rows,
                         audit_report_t *report)
{
    sqlite3_stmt *walk = NULL, *has = NULL, *at = NULL;
    int64_t missing = -1, stray = -1;
    int stray_kind = 0;
    if (sqlite3_prepare_v2(db, "SELECT idx, record FROM audit ORDER BY idx", -1, &walk, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT 1 FROM audit_subjects WHERE seg=" AUDIT_SUBJECT_SEG_SQL
                           " AND tag=?1 AND idx=?2",
                           -1, &has, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT record FROM audit WHERE idx=?1", -1, &at, NULL) != SQLITE_OK)
        goto done;
    /* A record with a subject and no row: a query by subject misses it. */
    while (missing < 0 && sqlite3_step(walk) == SQLITE_ROW) {
        int n = sqlite3_column_bytes(walk, 1);
        const uint8_t *bytes = sqlite3_column_blob(walk, 1), *subject = NULL;
        if (!bytes || n <= 0 || audit_record_subject(bytes, (size_t)n, &subject) != 1)
            continue;
        sqlite3_reset(has);
        sqlite3_bind_int64(has, 1, audit_subject_tag(subject));
        sqlite3_bind_int64(has, 2, sqlite3_column_int64(walk, 0));
        if (sqlite3_step(has) != SQLITE_ROW)
            missing = sqlite3_column_int64(walk, 0);
    }
    sqlite3_finalize(walk);
    walk = NULL;
    /* A row that leads to no record of that subject. */
    if (sqlite3_prepare_v2(db, "SELECT tag, idx FROM audit_subjects ORDER BY idx, tag", -1, &walk,
                           NULL) != SQLITE_OK)
        goto done;
    while (stray < 0 && sqlite3_step(walk) == SQLITE_ROW) {
        int64_t tag = sqlite3_column_int64(walk, 0), idx = sqlite3_column_int64(walk, 1),
                actual = 0;
        int kind = s_subject_at(at, idx, &actual);
        if (kind != 1 || actual != tag) {
            stray = idx;
            stray_kind = kind;
        }
    }
done:
    sqlite3_finalize(walk);
    sqlite3_finalize(has);
    sqlite3_finalize(at);
    if (missing >= 0 && (stray < 0 || missing <= stray))
        return s_fault(report, AUDIT_INDEX, missing,
                       "record %lld has a subject but no row in the subject index: a query by "
                       "subject (an access request's answer) would leave it out",
                       (long long)missing);
    if (stray >= 0)
        return s_fault(report, AUDIT_INDEX, stray,
                       "the subject index has a row for record %lld, which %s", (long long)stray,
                       stray_kind == 1   ? "has another subject"
                       : stray_kind == 2 ? "was purged (its row should have gone with it)"
                       : stray_kind == 3 ? "does not exist"
                       : stray_kind == 0 ? "has no subject"
                                         : "cannot be read");
    return s_fault(report, AUDIT_INDEX, -1,
                   "the subject index does not match the records: %llu rows for %llu records "
                   "with a subject",
                   (unsigned long long)rows, (unsigned long long)records->count);
}

/* 5. The subject index against the digest of the records read in step 3. */
static int s_check_index(sqlite3 *db, pairset_t *records, audit_report_t *report)
{
    pairset_t rows;
    memset(&rows, 0, sizeof rows);
    memcpy(rows.key, records->key, sizeof rows.key);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, "SELECT tag, idx FROM audit_subjects", -1, &stmt, NULL) !=
        SQLITE_OK) {
        s_fault(report, AUDIT_UNREADABLE, -1, "cannot read the subject index: %s",
                sqlite3_errmsg(db));
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        s_pair_add(&rows, sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1));
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        s_fault(report, AUDIT_UNREADABLE, -1, "cannot read the subject index: %s",
                sqlite3_errmsg(db));
        return -1;
    }
    if (rows.count == records->count && rows.sum[0] == records->sum[0] &&
        rows.sum[1] == records->sum[1])
        return 0;
    return s_index_fault(db, records, rows.count, report);
}

/* An array of notes as a source. */
typedef struct {
    const audit_anchor_t *v; /* the notes */
    size_t n, at;            /* how many, the next one */
} s_array_t;

static int s_array_next(void *arg, audit_anchor_t *anchor)
{
    s_array_t *array = arg;
    if (array->at == array->n)
        return 0;
    *anchor = array->v[array->at++];
    return 1;
}

int audit_verify(sqlite3 *db, const unsigned char log_pk[CHECKPOINT_PUBLICKEYBYTES],
                 const audit_anchor_t *external, size_t n_external, audit_report_t *report)
{
    s_array_t array = {external, external ? n_external : 0, 0};
    return audit_verify_from(db, log_pk, s_array_next, &array, report);
}

int audit_verify_from(sqlite3 *db, const unsigned char log_pk[CHECKPOINT_PUBLICKEYBYTES],
                      audit_anchor_next_fn *next, void *arg, audit_report_t *report)
{
    memset(report, 0, sizeof *report);
    report->first_bad = -1;
    char origin[CHECKPOINT_NAME_MAX + 1];
    if (s_origin(db, origin, sizeof origin) != 0) {
        s_fault(report, AUDIT_UNREADABLE, -1, "not an audit store (no origin)");
        return -1;
    }
    anchors_t a;
    memset(&a, 0, sizeof a);
    int result = 0;
    sqlite3_stmt *stmt = NULL;
    merkle_tree_t *tree = NULL;
    row_t row = {0};

    /* 1. The store's own checkpoints must all be signed by the log key. */
    if (sqlite3_prepare_v2(db, "SELECT size, note FROM checkpoints ORDER BY size", -1, &stmt,
                           NULL) != SQLITE_OK) {
        result = -1;
        s_fault(report, AUDIT_UNREADABLE, -1, "no checkpoints table: %s", sqlite3_errmsg(db));
        goto done;
    }
    while (result == 0 && sqlite3_step(stmt) == SQLITE_ROW) {
        const char *note = (const char *)sqlite3_column_text(stmt, 1);
        result = s_add_anchor(&a, note ? note : "", (size_t)sqlite3_column_bytes(stmt, 1), origin,
                              log_pk, "the store", sqlite3_column_int64(stmt, 0), report);
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    /* The partners' notes, every one of them. */
    audit_anchor_t ext;
    int got = 0;
    while (result == 0 && next && (got = next(arg, &ext)) == 1) {
        report->given++;
        result = s_add_anchor(&a, ext.note ? ext.note : "", ext.note ? ext.len : 0, origin, log_pk,
                              ext.holder ? ext.holder : "a partner", -1, report);
        if (result == 0)
            report->checked++;
    }
    if (result == 0 && got < 0) {
        result = -1;
        s_fault(report, AUDIT_UNREADABLE, -1, "cannot read the partners' checkpoints");
    }
    if (result != 0) {
        /* Count what was given even so. */
        while (next && got >= 0 && (got = next(arg, &ext)) == 1)
            report->given++;
        goto done;
    }

    /* 2. Signed checkpoints of one size must agree. */
    s_anchors_compact(&a);
    const anchor_t *anchors = a.v;
    size_t n = a.n;
    for (size_t i = 1; i < n; i++)
        if (anchors[i].size == anchors[i - 1].size) {
            result = s_fault(report, AUDIT_FORKED, -1,
                             "forked: %s and %s hold signed checkpoints of size %llu with "
                             "different roots: they were shown different histories",
                             s_holder(&a, &anchors[i - 1]), s_holder(&a, &anchors[i]),
                             (unsigned long long)anchors[i].size);
            goto done;
        }

    /* 3. Every record, in order, against its index and its link. */
    tree = merkle_tree_new();
    if (!tree || sqlite3_prepare_v2(db, "SELECT idx, record, leaf FROM audit ORDER BY idx", -1,
                                    &stmt, NULL) != SQLITE_OK) {
        result = -1;
        s_fault(report, AUDIT_UNREADABLE, -1, "cannot read the records: %s", sqlite3_errmsg(db));
        goto done;
    }
    unsigned char prev[MERKLE_HASHBYTES] = {0};
    unsigned char prev_stored[MERKLE_HASHBYTES] = {0};
    size_t next_anchor = 0;
    uint64_t matched_size = 0;       /* largest anchor size whose root matched */
    const anchor_t *mismatch = NULL; /* first anchor whose root did not */
    uint64_t p = 0;
    int rc;
    pairset_t subjects; /* (tag, idx) of every record with a subject */
    memset(&subjects, 0, sizeof subjects);
    randombytes_buf(subjects.key, sizeof subjects.key);
    uint64_t emptied = 0;  /* rows at the start whose bytes a purge removed */
    uint64_t declared = 0; /* the largest purged_before any purge record declares */
    while ((rc = s_row_next(stmt, &row)) == 1) {
        if (row.len == 0 && row.idx == (int64_t)p && emptied == p) {
            /* Purged by retention: only its leaf hash is left, and only a
               purge record further on may account for it. */
            memcpy(row.leaf, row.stored_leaf, MERKLE_HASHBYTES);
            emptied++;
        } else if (row.len == 0 && row.idx == (int64_t)p) {
            result = s_fault(report, AUDIT_MODIFIED, (int64_t)p,
                             "record %llu was emptied, but purges only remove the oldest records",
                             (unsigned long long)p);
            goto done;
        } else if (!row.parsed || row.index != p || !s_links_to(&row, prev)) {
            result = s_classify(db, stmt, &row, p, prev, prev_stored, report);
            goto done;
        }
        if (merkle_tree_append(tree, row.leaf) != 0) {
            result = -1;
            goto done;
        }
        if (row.len > 0 && row.subject && row.subject_len == AUDIT_SUBJECT_BYTES)
            s_pair_add(&subjects, audit_subject_tag(row.subject), (int64_t)p);
        if (row.purged_before > declared)
            declared = row.purged_before;
        memcpy(prev, row.leaf, MERKLE_HASHBYTES);
        memcpy(prev_stored, row.stored_leaf, MERKLE_HASHBYTES);
        p++;
        while (next_anchor < n && anchors[next_anchor].size <= p) {
            const anchor_t *anchor = &anchors[next_anchor++];
            if (anchor->size < p)
                continue; /* size 0 */
            unsigned char root[MERKLE_HASHBYTES];
            merkle_tree_root(tree, root);
            if (memcmp(root, anchor->root, MERKLE_HASHBYTES) == 0) {
                if (!mismatch)
                    matched_size = anchor->size;
            } else if (!mismatch)
                mismatch = anchor;
        }
    }
    if (rc < 0) {
        result = -1;
        s_fault(report, AUDIT_UNREADABLE, -1, "cannot read the records: %s", sqlite3_errmsg(db));
        goto done;
    }
    report->records = p;
    if (emptied > declared) {
        result = s_fault(report, AUDIT_MODIFIED, (int64_t)declared,
                         "records %llu to %llu were emptied without a purge record",
                         (unsigned long long)declared, (unsigned long long)emptied - 1);
        goto done;
    }

    /* 4. Long enough, and the history the checkpoints signed. */
    if (n > 0 && anchors[n - 1].size > p) {
        report->range_end = (int64_t)anchors[n - 1].size;
        result = s_fault(report, AUDIT_TRUNCATED, (int64_t)p,
                         "truncated: the log ends at %llu records, but %s holds a signed "
                         "checkpoint of %llu",
                         (unsigned long long)p, s_holder(&a, &anchors[n - 1]),
                         (unsigned long long)anchors[n - 1].size);
        goto done;
    }
    if (mismatch) {
        result = s_rewritten(db, matched_size, mismatch, s_holder(&a, mismatch), report);
        goto done;
    }

    /* 5. The subject index, against what step 3 read. */
    report->indexed = audit_subjects_exists(db);
    if (report->indexed && (result = s_check_index(db, &subjects, report)) != 0)
        goto done;
    snprintf(report->detail, sizeof report->detail,
             "%llu records verified; %llu signed checkpoints agree (largest: %llu; of the "
             "partners': %llu given, %llu checked); %s",
             (unsigned long long)p, (unsigned long long)report->checkpoints,
             (unsigned long long)report->anchored_size, (unsigned long long)report->given,
             (unsigned long long)report->checked,
             report->indexed ? "subject index complete"
                             : "no subject index (an older store: queries by subject read "
                               "every record)");
done:
    s_row_clear(&row);
    sqlite3_finalize(stmt);
    merkle_tree_destroy(&tree);
    s_anchors_free(&a);
    return result;
}

int audit_verify_cosignatures(sqlite3 *db, const unsigned char log_pk[CHECKPOINT_PUBLICKEYBYTES],
                              const audit_cosigner_t *keys, size_t n_keys, audit_report_t *report)
{
    char origin[CHECKPOINT_NAME_MAX + 1];
    sqlite3_stmt *stmt = NULL;
    if (s_origin(db, origin, sizeof origin) != 0 ||
        sqlite3_prepare_v2(db,
                           "SELECT c.size, c.org, c.line, k.note FROM cosignatures c "
                           "LEFT JOIN checkpoints k ON k.size = c.size ORDER BY c.size, c.org",
                           -1, &stmt, NULL) != SQLITE_OK) {
        s_fault(report, AUDIT_UNREADABLE, -1, "cannot read the cosignatures: %s",
                sqlite3_errmsg(db));
        return -1;
    }
    int result = 0, step = SQLITE_DONE;
    while (result == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        report->cosignatures++;
        uint64_t size = (uint64_t)sqlite3_column_int64(stmt, 0);
        const char *org = (const char *)sqlite3_column_text(stmt, 1);
        const char *line = (const char *)sqlite3_column_text(stmt, 2);
        const char *note = (const char *)sqlite3_column_text(stmt, 3);
        size_t line_len = (size_t)sqlite3_column_bytes(stmt, 2);
        size_t note_len = (size_t)sqlite3_column_bytes(stmt, 3);
        if (!org)
            org = "";
        bool known = false;
        for (size_t i = 0; !known && i < n_keys; i++)
            known = strcmp(keys[i].name, org) == 0;
        if (!known) {
            report->cosigs_unknown++;
            continue;
        }
        checkpoint_t cp;
        checkpoint_err_t err = CHECKPOINT_ERR_NOT_SIGNED;
        if (!note || checkpoint_open(note, note_len, origin, log_pk, &cp) != CHECKPOINT_OK) {
            result = s_fault(report, AUDIT_BAD_COSIGNATURE, -1,
                             "the cosignature of %.64s on checkpoint %llu has no valid checkpoint "
                             "of that size in the store",
                             org, (unsigned long long)size);
            break;
        }
        for (size_t i = 0; err != CHECKPOINT_OK && i < n_keys; i++)
            if (strcmp(keys[i].name, org) == 0)
                err = checkpoint_cosignature_verify(&cp, line ? line : "", line ? line_len : 0, org,
                                                    keys[i].pk, NULL);
        if (err != CHECKPOINT_OK) {
            result = s_fault(report, AUDIT_BAD_COSIGNATURE, -1,
                             "the cosignature of %.64s on checkpoint %llu does not verify with "
                             "its certificate: %s",
                             org, (unsigned long long)size, checkpoint_strerror(err));
            break;
        }
        report->cosigs_checked++;
    }
    if (result == 0 && step != SQLITE_DONE) {
        s_fault(report, AUDIT_UNREADABLE, -1, "cannot read the cosignatures: %s",
                sqlite3_errmsg(db));
        result = -1;
    }
    sqlite3_finalize(stmt);
    return result;
}
