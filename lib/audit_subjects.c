/*  audit_subjects: the audit log's subject index; see audit_subjects.h. */
#include "audit_subjects.h"
#include "wire.h"

#include <string.h>

static const char *s_schema = "CREATE TABLE IF NOT EXISTS audit_subjects("
                              "  seg INTEGER NOT NULL,"
                              "  tag INTEGER NOT NULL,"
                              "  idx INTEGER NOT NULL,"
                              "  PRIMARY KEY(seg, tag, idx)) WITHOUT ROWID;";

int64_t audit_subject_tag(const uint8_t subject[AUDIT_SUBJECT_BYTES])
{
    uint64_t tag = 0;
    for (int i = 0; i < 8; i++)
        tag = tag << 8 | subject[i];
    int64_t out;
    memcpy(&out, &tag, sizeof out); /* two's complement, no overflow */
    return out;
}

int audit_record_subject(const uint8_t *bytes, size_t len, const uint8_t **subject)
{
    const uint8_t *p = bytes, *end = bytes + len;
    const uint8_t *found = NULL;
    uint64_t found_len = 0;
    while (p < end) {
        uint64_t key, value;
        if (wire_varint_read(&p, end, &key) != 0 || key >> 3 == 0)
            return -1;
        uint64_t type = key & 7;
        if (type == 0) {
            if (wire_varint_read(&p, end, &value) != 0)
                return -1;
        } else if (type == 2) {
            if (wire_varint_read(&p, end, &value) != 0 || value > (uint64_t)(end - p))
                return -1;
            if (key >> 3 == 9) {
                found = p;
                found_len = value;
            }
            p += value;
        } else if (type == 1 || type == 5) {
            size_t skip = type == 1 ? 8 : 4;
            if ((size_t)(end - p) < skip)
                return -1;
            p += skip;
        } else
            return -1;
    }
    if (!found || found_len != AUDIT_SUBJECT_BYTES)
        return 0;
    *subject = found;
    return 1;
}

bool audit_subjects_exists(sqlite3 *db)
{
    /* With its seg column: a table keyed by subject alone (a development
       build) counts as missing, and a writable open builds it again. */
    sqlite3_stmt *stmt = NULL;
    bool found = sqlite3_prepare_v2(db, "SELECT seg FROM audit_subjects LIMIT 0", -1, &stmt,
                                    NULL) == SQLITE_OK;
    sqlite3_finalize(stmt);
    return found;
}

/* SQL function hartslag_subject_tag(record): the tag, or NULL (no subject,
   purged or malformed record). Only registered while backfilling. */
static void s_tag_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const uint8_t *subject = NULL;
    int n = sqlite3_value_bytes(argv[0]);
    const uint8_t *bytes = sqlite3_value_blob(argv[0]);
    if (bytes && n > 0 && audit_record_subject(bytes, (size_t)n, &subject) == 1)
        sqlite3_result_int64(ctx, audit_subject_tag(subject));
    else
        sqlite3_result_null(ctx);
}

int audit_subjects_create(sqlite3 *db, uint64_t *rows)
{
    *rows = 0;
    if (sqlite3_exec(db, "DROP TABLE IF EXISTS audit_subjects", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, s_schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(db, "hartslag_subject_tag", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                NULL, s_tag_fn, NULL, NULL) != SQLITE_OK)
        return -1;
    /* Sorted first (SQLite's external sorter), so the B-tree is built by
       appending instead of 10^7 inserts at random places. */
    int rc = sqlite3_exec(db,
                          "INSERT OR IGNORE INTO audit_subjects(seg, tag, idx) "
                          "SELECT idx >> 12, tag, idx FROM (SELECT hartslag_subject_tag(record) "
                          "AS tag, idx FROM audit) WHERE tag IS NOT NULL ORDER BY idx >> 12, tag, "
                          "idx",
                          NULL, NULL, NULL);
    int changed = sqlite3_changes(db);
    sqlite3_create_function(db, "hartslag_subject_tag", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                            NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return -1;
    *rows = (uint64_t)changed;
    return 0;
}

sqlite3_stmt *audit_subjects_records(sqlite3 *db, const uint8_t subject[AUDIT_SUBJECT_BYTES])
{
    sqlite3_stmt *stmt = NULL;
    /* One seek per segment, in segment order (CROSS JOIN keeps the
       segments outside), so the rows come in log order. The segments are
       those the index holds, each found from the last by one seek: never
       0..max(idx) >> 12, which one record at a huge index in a hostile
       copy would make 2^51 steps long. */
    if (sqlite3_prepare_v2(
            db,
            "WITH RECURSIVE segs(seg) AS ("
            "SELECT (SELECT min(seg) FROM audit_subjects) UNION ALL "
            "SELECT (SELECT min(n.seg) FROM audit_subjects n WHERE n.seg > segs.seg) "
            "FROM segs WHERE segs.seg IS NOT NULL) "
            "SELECT a.idx, a.record FROM segs CROSS JOIN audit_subjects s "
            "CROSS JOIN audit a WHERE s.seg = segs.seg AND s.tag = ?1 AND "
            "a.idx = s.idx",
            -1, &stmt, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 1, audit_subject_tag(subject)) != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}
