/*  audit_verify: see audit_verify.h. */
#include "audit_verify.h"

#include "audit_log.h"
#include "audit_store.h"
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

/* One row as read. The bytes are borrowed from the store: valid until the
   cursor steps again. */
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

/* Steps a records cursor (index order) into `row`. 1 read, 0 end, -1 error. */
static int s_row_next(audit_cursor_t *cursor, row_t *row)
{
    s_row_clear(row);
    audit_row_t got;
    int rc = audit_cursor_next(cursor, &got);
    if (rc != 1)
        return rc;
    row->present = true;
    row->idx = got.idx;
    row->bytes = got.bytes;
    row->len = got.len;
    merkle_leaf_hash(row->bytes, row->len, row->leaf);
    if (got.leaf)
        memcpy(row->stored_leaf, got.leaf, MERKLE_HASHBYTES);
    row->parsed = row->len <= AUDIT_RECORD_MAX && s_scan(row);
    return 1;
}

static bool s_links_to(const row_t *row, const unsigned char prev[MERKLE_HASHBYTES])
{
    return row->parsed && row->prev && memcmp(row->prev, prev, MERKLE_HASHBYTES) == 0;
}

/* Names the fault at position p, the first row that is not consistent. */
static int s_classify(audit_store_t *store, audit_cursor_t *stmt, row_t *row, uint64_t p,
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
        uint8_t *bytes = NULL;
        size_t len = 0;
        bool same = audit_store_record_nth(store, claimed, &bytes, &len) == 1 && len == row->len &&
                    memcmp(bytes, row->bytes, row->len) == 0;
        free(bytes);
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
static int s_origin(audit_store_t *store, char *origin, size_t len)
{
    return audit_store_meta_get(store, "origin", origin, len) == 1 ? 0 : -1;
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
static int s_rewritten(audit_store_t *store, uint64_t from, const anchor_t *bad, const char *holder,
                       audit_report_t *report)
{
    audit_cursor_t *cursor = audit_store_records(store, from, bad->size - from);
    int64_t hint = -1;
    if (cursor) {
        row_t row = {0};
        for (uint64_t p = from; hint < 0 && s_row_next(cursor, &row) == 1; p++)
            if (memcmp(row.leaf, row.stored_leaf, MERKLE_HASHBYTES) != 0)
                hint = (int64_t)p;
        s_row_clear(&row);
    }
    audit_cursor_destroy(&cursor);
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
static int s_subject_at(audit_store_t *store, int64_t idx, int64_t *tag)
{
    uint8_t *bytes = NULL;
    size_t n = 0;
    int found = idx < 0 ? 0 : audit_store_record_get(store, (uint64_t)idx, &bytes, &n);
    int result = found < 0 ? -1 : found == 0 ? 3 : n == 0 ? 2 : 0;
    const uint8_t *subject = NULL;
    if (result == 0 && audit_record_subject(bytes, n, &subject) == 1) {
        *tag = audit_subject_tag(subject);
        result = 1;
    }
    free(bytes);
    return result;
}

/* A row of the index that leads to no record of its subject: the first
   one, in (idx, tag) order. */
typedef struct {
    audit_store_t *store;
    int64_t stray;
    int stray_kind;
} s_stray_t;

static int s_stray_row(void *arg, int64_t tag, int64_t idx)
{
    s_stray_t *find = arg;
    int64_t actual = 0;
    int kind = s_subject_at(find->store, idx, &actual);
    if (kind == 1 && actual == tag)
        return 0;
    find->stray = idx;
    find->stray_kind = kind;
    return 1;
}

/* The digests differ: names the lowest record at fault, looking the rows
   up one by one (only ever run on a faulty store). */
static int s_index_fault(audit_store_t *store, const pairset_t *records, uint64_t rows,
                         audit_report_t *report)
{
    int64_t missing = -1;
    s_stray_t find = {store, -1, 0};
    /* A record with a subject and no row: a query by subject misses it. */
    audit_cursor_t *walk = audit_store_records(store, 0, UINT64_MAX);
    audit_row_t row;
    while (walk && missing < 0 && audit_cursor_next(walk, &row) == 1) {
        const uint8_t *subject = NULL;
        if (row.len == 0 || audit_record_subject(row.bytes, row.len, &subject) != 1)
            continue;
        if (row.idx < 0 ||
            audit_store_subject_has(store, audit_subject_tag(subject), (uint64_t)row.idx) != 1)
            missing = row.idx;
    }
    audit_cursor_destroy(&walk);
    /* A row that leads to no record of that subject. */
    audit_store_subject_rows(store, true, s_stray_row, &find);
    int64_t stray = find.stray;
    int stray_kind = find.stray_kind;
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

static int s_pair_row(void *arg, int64_t tag, int64_t idx)
{
    s_pair_add(arg, tag, idx);
    return 0;
}

/* 5. The subject index against the digest of the records read in step 3. */
static int s_check_index(audit_store_t *store, pairset_t *records, audit_report_t *report)
{
    pairset_t rows;
    memset(&rows, 0, sizeof rows);
    memcpy(rows.key, records->key, sizeof rows.key);
    if (audit_store_subject_rows(store, false, s_pair_row, &rows) != 0) {
        s_fault(report, AUDIT_UNREADABLE, -1, "cannot read the subject index: %s",
                db_errmsg(audit_store_db(store)));
        return -1;
    }
    if (rows.count == records->count && rows.sum[0] == records->sum[0] &&
        rows.sum[1] == records->sum[1])
        return 0;
    return s_index_fault(store, records, rows.count, report);
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

int audit_verify(db_t *db, const unsigned char log_pk[CHECKPOINT_PUBLICKEYBYTES],
                 const audit_anchor_t *external, size_t n_external, audit_report_t *report)
{
    s_array_t array = {external, external ? n_external : 0, 0};
    return audit_verify_from(db, log_pk, s_array_next, &array, report);
}

/* Step 1's walk: each stored checkpoint into the anchors. */
typedef struct {
    anchors_t *a;
    const char *origin;
    const unsigned char *log_pk;
    audit_report_t *report;
} s_stored_t;

static int s_stored_checkpoint(void *arg, uint64_t size, const char *note, size_t len,
                               int64_t made_ms)
{
    (void)made_ms;
    s_stored_t *walk = arg;
    return s_add_anchor(walk->a, note, len, walk->origin, walk->log_pk, "the store",
                        size > INT64_MAX ? INT64_MAX : (int64_t)size, walk->report);
}

static int s_verify(audit_store_t *store, const unsigned char log_pk[CHECKPOINT_PUBLICKEYBYTES],
                    audit_anchor_next_fn *next, void *arg, audit_report_t *report);

int audit_verify_from(db_t *db, const unsigned char log_pk[CHECKPOINT_PUBLICKEYBYTES],
                      audit_anchor_next_fn *next, void *arg, audit_report_t *report)
{
    char err[256];
    audit_store_t *store = audit_store_open(db, false, err, sizeof err);
    if (!store) {
        memset(report, 0, sizeof *report);
        report->first_bad = -1;
        s_fault(report, AUDIT_UNREADABLE, -1, "%s", err);
        return -1;
    }
    int result = s_verify(store, log_pk, next, arg, report);
    audit_store_destroy(&store);
    return result;
}

static int s_verify(audit_store_t *store, const unsigned char log_pk[CHECKPOINT_PUBLICKEYBYTES],
                    audit_anchor_next_fn *next, void *arg, audit_report_t *report)
{
    memset(report, 0, sizeof *report);
    report->first_bad = -1;
    db_t *db = audit_store_db(store);
    char origin[CHECKPOINT_NAME_MAX + 1];
    if (s_origin(store, origin, sizeof origin) != 0) {
        s_fault(report, AUDIT_UNREADABLE, -1, "not an audit store (no origin)");
        return -1;
    }
    anchors_t a;
    memset(&a, 0, sizeof a);
    int result = 0;
    audit_cursor_t *stmt = NULL;
    merkle_tree_t *tree = NULL;
    row_t row = {0};

    /* 1. The store's own checkpoints must all be signed by the log key. */
    s_stored_t stored = {&a, origin, log_pk, report};
    result = audit_store_checkpoints_each(store, s_stored_checkpoint, &stored);
    if (result < 0 && report->kind == AUDIT_OK) {
        s_fault(report, AUDIT_UNREADABLE, -1, "no checkpoints table: %s", db_errmsg(db));
        goto done;
    }
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
    if (!tree || !(stmt = audit_store_records(store, 0, UINT64_MAX))) {
        result = -1;
        s_fault(report, AUDIT_UNREADABLE, -1, "cannot read the records: %s", db_errmsg(db));
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
            result = s_classify(store, stmt, &row, p, prev, prev_stored, report);
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
        s_fault(report, AUDIT_UNREADABLE, -1, "cannot read the records: %s", db_errmsg(db));
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
        result = s_rewritten(store, matched_size, mismatch, s_holder(&a, mismatch), report);
        goto done;
    }

    /* 5. The subject index, against what step 3 read. */
    report->indexed = audit_store_subjects_exist(store);
    if (report->indexed && (result = s_check_index(store, &subjects, report)) != 0)
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
    audit_cursor_destroy(&stmt);
    merkle_tree_destroy(&tree);
    s_anchors_free(&a);
    return result;
}

/* Step 6's walk over the cosignatures table. */
typedef struct {
    const char *origin;
    const unsigned char *log_pk;
    const audit_cosigner_t *keys;
    size_t n_keys;
    audit_report_t *report;
} s_cosigs_t;

static int s_cosignature(void *arg, const audit_cosignature_t *c)
{
    s_cosigs_t *walk = arg;
    audit_report_t *report = walk->report;
    report->cosignatures++;
    const char *org = c->org ? c->org : "";
    bool known = false;
    for (size_t i = 0; !known && i < walk->n_keys; i++)
        known = strcmp(walk->keys[i].name, org) == 0;
    if (!known) {
        report->cosigs_unknown++;
        return 0;
    }
    checkpoint_t cp;
    checkpoint_err_t err = CHECKPOINT_ERR_NOT_SIGNED;
    if (!c->note ||
        checkpoint_open(c->note, c->note_len, walk->origin, walk->log_pk, &cp) != CHECKPOINT_OK)
        return s_fault(report, AUDIT_BAD_COSIGNATURE, -1,
                       "the cosignature of %.64s on checkpoint %llu has no valid checkpoint "
                       "of that size in the store",
                       org, (unsigned long long)c->size);
    for (size_t i = 0; err != CHECKPOINT_OK && i < walk->n_keys; i++)
        if (strcmp(walk->keys[i].name, org) == 0)
            err = checkpoint_cosignature_verify(&cp, c->line ? c->line : "",
                                                c->line ? c->line_len : 0, org, walk->keys[i].pk,
                                                NULL);
    if (err != CHECKPOINT_OK)
        return s_fault(report, AUDIT_BAD_COSIGNATURE, -1,
                       "the cosignature of %.64s on checkpoint %llu does not verify with "
                       "its certificate: %s",
                       org, (unsigned long long)c->size, checkpoint_strerror(err));
    report->cosigs_checked++;
    return 0;
}

int audit_verify_cosignatures(db_t *db, const unsigned char log_pk[CHECKPOINT_PUBLICKEYBYTES],
                              const audit_cosigner_t *keys, size_t n_keys, audit_report_t *report)
{
    char origin[CHECKPOINT_NAME_MAX + 1], err[256];
    audit_store_t *store = audit_store_open(db, false, err, sizeof err);
    int result = -1;
    if (store && s_origin(store, origin, sizeof origin) == 0) {
        s_cosigs_t walk = {origin, log_pk, keys, n_keys, report};
        result = audit_store_cosignatures_each(store, -1, s_cosignature, &walk);
    }
    if (result < 0)
        s_fault(report, AUDIT_UNREADABLE, -1, "cannot read the cosignatures: %s", db_errmsg(db));
    audit_store_destroy(&store);
    return result;
}
