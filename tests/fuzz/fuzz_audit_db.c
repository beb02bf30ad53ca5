/*  fuzz_audit_db: a broker.db handed to a privacy officer by an operator
    who may have tampered with it, and the officer's tools run over it:
    `hartslag audit verify | query | export | subject | report | stats`
    (clients/cli/cmd_audit_*.c over audit_read.c, lib/audit_verify.c and
    lib/audit_subjects.c; every record goes through protobuf-c's unpack of
    AuditRecord).

    Raw SQLite files make a poor input (SQLite's own parser would take the
    fuzzer's effort, and it is not instrumented), so the input is a list
    of edits to a genuine store built at start-up: 13 records of two
    subjects (the first three purged by retention, a `purged` record
    accounting for them), two signed checkpoints, a partner's cosignature,
    the subject index. Each edit is 3 bytes (op, row, length) and `length`
    bytes of payload (fewer when the input ends), at most EDITS_MAX:

      0 record := payload        6 checkpoint note := payload (or a new one)
      1 record ^= payload        7 cosignature line := payload (new row)
      2 delete record            8 subject index: delete or add a row
      3 record moves to idx      9 origin := payload
      4 record copied to idx    10 leaf or Merkle node := payload
      5 record := NULL/int/text 11 drop a table
     12 append a chained record whose strings come from the payload
        (hostile text that every check passes, for the renderers)

    `subject` and `report` also read the partners' certificates and the
    agreements when the input's length is a multiple of 4 (that costs ~10
    ms a run). The commands must not crash, leak or hang whatever the
    edits, and exit 0 or 1 (2 would be a usage error: the target's); their
    output goes to /dev/null (and their complaints on stderr too, while
    sanitizer reports keep the real stderr).
*/
#include "fuzz_common.h"

#include "../../clients/cli/cmd_audit.h"

#include "audit_log.h"
#include "db_borrow.h"
#include "cert.h"
#include "checkpoint.h"
#include "keyfile.h"

#include <fcntl.h>
#include <sanitizer/common_interface_defs.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EDITS_MAX 24
#define RECORDS 13
#define DB_MAX (4u * 1024 * 1024)
#define PARTNERSHIP "fuzz-partnership"

static char s_root[512];       /* temp directory */
static char s_db[600];         /* the edited copy */
static char s_cert[600];       /* broker.cert */
static char s_partners[600];   /* partner certificates */
static char s_html[600];       /* report output */
static char s_agreements[600]; /* agreements.yaml */
static char s_subject[65];     /* hex of subject A */
static uint8_t *s_template;    /* the genuine store */
static size_t s_template_len;
static int s_stderr = -1; /* the real stderr */
static int s_null = -1;   /* /dev/null */
static unsigned char s_subjects[2][32];

/* ---- the genuine store ------------------------------------------------ */

static void s_path(char *out, size_t cap, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", s_root, name);
    FUZZ_CHECK(n > 0 && (size_t)n < cap);
}

static void s_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "fuzz: %s: %s\n", sql, err ? err : "?");
        abort();
    }
}

static keyfile_t *s_party(const char *org, cert_role_t role, const char *dir)
{
    char err[600], path[1024];
    keyfile_t *keys = keyfile_generate(org, role != CERT_ROLE_BROKER);
    FUZZ_CHECK(keys != NULL);
    cert_t cert;
    memset(&cert, 0, sizeof cert);
    snprintf(cert.org, sizeof cert.org, "%s", org);
    snprintf(cert.name, sizeof cert.name, "Fuzz %s", org);
    snprintf(cert.contact, sizeof cert.contact, "fuzz@%s.example", org);
    cert.role = role;
    memcpy(cert.curve_key, keyfile_curve_public(keys), 32);
    memcpy(cert.sign_key, keyfile_sign_public(keys), 32);
    if (role != CERT_ROLE_BROKER)
        memcpy(cert.box_key, keyfile_box_public(keys), 32);
    cert.valid_from = 20000;
    cert.valid_until = 60000;
    snprintf(path, sizeof path, "%s/%s.cert", dir, org);
    FUZZ_CHECK(cert_save(&cert, path, err, sizeof err) == 0);
    return keys;
}

static void s_append(audit_log_t *log, const char *event, const char *actor,
                     const char *counterpart, uint64_t time_ms, int subject, uint8_t signal)
{
    static char *fields[] = {"adres", "datum"};
    uint8_t signal_id[16];
    memset(signal_id, signal, sizeof signal_id);
    Hartslag__AuditRecord r = HARTSLAG__AUDIT_RECORD__INIT;
    r.time_ms = time_ms;
    r.event = (char *)event;
    r.actor_org = (char *)actor;
    r.actor_user = "u12345";
    r.counterpart_org = (char *)counterpart;
    r.has_signal_id = 1;
    r.signal_id.data = signal_id;
    r.signal_id.len = sizeof signal_id;
    r.signal_type = "overlast";
    r.purpose = "casusoverleg";
    if (subject >= 0) {
        r.has_subject = 1;
        r.subject.data = s_subjects[subject];
        r.subject.len = 32;
    }
    r.n_fields = 2;
    r.fields = fields;
    r.agreement_id = "politie-overlast";
    r.has_agreements_version = 1;
    r.agreements_version = 3;
    r.legal_basis = "Wpg art. 19";
    r.outcome = strcmp(event, "denied") == 0 ? "refused" : "ok";
    if (strcmp(event, "denied") == 0)
        r.reason = "no_agreement";
    FUZZ_CHECK(audit_log_append(log, &r) >= 0);
}

/* Builds the genuine store into the template. */
static void s_build(void)
{
    char path[600], err[600], origin[CHECKPOINT_NAME_MAX + 1];
    s_path(path, sizeof path, "template.db");
    keyfile_t *broker = s_party("broker", CERT_ROLE_BROKER, s_root);
    keyfile_t *politie = s_party("politie", CERT_ROLE_PARTNER, s_partners);
    keyfile_destroy(&politie);
    keyfile_t *gemeente = s_party("gemeente", CERT_ROLE_COORDINATOR, s_partners);
    memset(s_subjects[0], 0x5a, 32);
    memset(s_subjects[1], 0xa5, 32);
    sodium_bin2hex(s_subject, sizeof s_subject, s_subjects[0], 32);

    sqlite3 *db = NULL;
    FUZZ_CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    audit_log_origin_for(PARTNERSHIP, origin, sizeof origin);
    db_t *view = db_borrow_embedded(db); /* the log speaks lib/db.h */
    FUZZ_CHECK(view != NULL);
    audit_log_t *log = audit_log_open(view, origin, true, err, sizeof err);
    FUZZ_CHECK(log != NULL);
    s_exec(db, "BEGIN");
    const uint64_t t = FUZZ_T0_MS;
    s_append(log, "submitted", "politie", NULL, t, 0, 1);
    s_append(log, "accepted", "broker", "politie", t + 1, 0, 1);
    s_append(log, "delivered", "gemeente", "politie", t + 2, 0, 1);
    s_append(log, "denied", "broker", "politie", t + 3, 1, 2);
    uint64_t purged = 0;
    FUZZ_CHECK(audit_log_purge(log, (int64_t)(t + 4), &purged) == 0 && purged == 3);
    Hartslag__AuditRecord p = HARTSLAG__AUDIT_RECORD__INIT;
    p.time_ms = t + 90 * FUZZ_DAY_MS;
    p.event = "purged";
    p.actor_org = "broker";
    p.outcome = "ok";
    p.has_purged_before = 1;
    p.purged_before = purged;
    FUZZ_CHECK(audit_log_append(log, &p) >= 0);
    const uint64_t u = t + 91 * FUZZ_DAY_MS;
    s_append(log, "submitted", "politie", NULL, u, 0, 3);
    s_append(log, "accepted", "broker", "politie", u + 1, 0, 3);
    s_append(log, "delivered", "gemeente", "politie", u + 2, 0, 3);
    FUZZ_CHECK(audit_log_checkpoint(log, keyfile_sign_secret(broker), (int64_t)u + 3) == 0);
    s_append(log, "submitted", "gemeente", NULL, u + 4, 1, 4);
    s_append(log, "withdrawn", "gemeente", "politie", u + 5, 1, 4);
    s_append(log, "acked", "politie", "gemeente", u + 6, 1, 4);
    s_append(log, "expired", "broker", "welzijn", u + 7, -1, 4);
    s_append(log, "alert_raised", "broker", "gemeente", u + 8, 0, 5);
    FUZZ_CHECK(audit_log_checkpoint(log, keyfile_sign_secret(broker), (int64_t)u + 9) == 0);
    FUZZ_CHECK(audit_log_size(log) == RECORDS);

    /* gemeente cosigns the last checkpoint. */
    char note[CHECKPOINT_NOTE_MAX + 1], line[CHECKPOINT_LINE_MAX + 1];
    size_t note_len = 0, line_len = 0;
    uint64_t size = 0;
    FUZZ_CHECK(audit_log_latest_note(log, note, &note_len, &size) == 0);
    checkpoint_t cp;
    FUZZ_CHECK(checkpoint_open(note, note_len, origin, keyfile_sign_public(broker), &cp) ==
               CHECKPOINT_OK);
    FUZZ_CHECK(checkpoint_cosign(&cp, "gemeente", keyfile_sign_secret(gemeente), u / 1000, line,
                                 sizeof line, &line_len) == CHECKPOINT_OK);
    line[line_len] = '\0';
    FUZZ_CHECK(audit_log_store_cosignature(log, size, "gemeente", line, (int64_t)u + 10) == 0);
    s_exec(db, "COMMIT");
    audit_log_commit(log);
    audit_log_destroy(&log);
    db_close(&view);
    FUZZ_CHECK(sqlite3_close(db) == SQLITE_OK);
    keyfile_destroy(&broker);
    keyfile_destroy(&gemeente);

    FILE *f = fopen(path, "rb");
    FUZZ_CHECK(f != NULL);
    s_template = malloc(DB_MAX);
    FUZZ_CHECK(s_template != NULL);
    s_template_len = fread(s_template, 1, DB_MAX, f);
    FUZZ_CHECK(s_template_len > 0 && s_template_len < DB_MAX);
    FUZZ_CHECK(fclose(f) == 0);
}

static void s_cleanup(void)
{
    char path[600];
    const char *files[] = {
        "template.db",           "broker.db",      "broker.db-journal", "broker.db-wal",
        "broker.db-shm",         "broker.cert",    "report.html",       "partners/gemeente.cert",
        "partners/politie.cert", "agreements.yaml"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        s_path(path, sizeof path, files[i]);
        (void)unlink(path);
    }
    (void)rmdir(s_partners);
    (void)rmdir(s_root);
    free(s_template);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(s_root, sizeof s_root, "%s/hartslag-fuzz-audit-XXXXXX", base ? base : "/tmp");
    FUZZ_CHECK(mkdtemp(s_root) != NULL);
    s_path(s_db, sizeof s_db, "broker.db");
    s_path(s_cert, sizeof s_cert, "broker.cert");
    s_path(s_partners, sizeof s_partners, "partners");
    s_path(s_html, sizeof s_html, "report.html");
    s_path(s_agreements, sizeof s_agreements, "agreements.yaml");
    FILE *f = fopen(s_agreements, "w");
    FUZZ_CHECK(f != NULL);
    fputs("partnership: " PARTNERSHIP "\nversion: 3\ncoordinator: gemeente\npartners:\n"
          "  - {org: gemeente, role: coordinator}\n  - {org: politie, role: partner}\n"
          "agreements:\n  - id: politie-overlast\n    from: politie\n    to: [gemeente]\n"
          "    signal_types: [overlast]\n    fields: [adres, datum]\n"
          "    purpose: casusoverleg\n    legal_basis: \"Wpg art. 19\"\n"
          "    valid_from: 2025-01-01\n    valid_until: 2099-12-31\n"
          "    retention_days: 180\n    max_queue_days: 7\n",
          f);
    FUZZ_CHECK(fclose(f) == 0);
    FUZZ_CHECK(mkdir(s_partners, 0700) == 0);
    s_build();
    atexit(s_cleanup);
    FUZZ_CHECK(freopen("/dev/null", "w", stdout) != NULL);
    s_stderr = dup(2);
    s_null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    FUZZ_CHECK(s_stderr >= 0 && s_null >= 0);
    /* Sanitizer reports go to the real stderr while fd 2 is /dev/null. */
    __sanitizer_set_report_fd((void *)(intptr_t)s_stderr);
    const char *dir = fuzz_seed_dir();
    if (dir) {
        static const uint8_t seeds[][8] = {
            {0},                             /* "" below: the genuine store */
            {1, 6, 2, 0x10, 0x01},           /* a record's bytes changed */
            {2, 5, 0},                       /* a record deleted */
            {4, 3, 1, 0x63},                 /* a record copied to index 99 */
            {6, 0, 3, 'x', '\n', '\n'},      /* a checkpoint note replaced */
            {8, 0, 0},                       /* a subject index row deleted */
            {11, 5, 0},                      /* the subject index dropped */
            {12, 0, 5, 'e', 0, 'a', 0, 'b'}, /* a chained record, odd text */
        };
        static const size_t lens[] = {0, 5, 3, 4, 6, 3, 3, 8};
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            char name[32];
            snprintf(name, sizeof name, "edit-%zu", i);
            fuzz_write_seed(dir, name, seeds[i], lens[i]);
        }
        /* Two chained records with text meant to break out of each format
           (HTML, CSV formula, terminal escape, invalid UTF-8), then a
           forged note: a run of edits, and a length that is a multiple
           of 4 (partners and agreements read). */
        static const char hostile[] = "\x0c\x00\x48" /* op 12, row 0, 72 bytes */
                                      "submitted\0politie<script>\0=cmd|' /C calc'!A0\0"
                                      "\x1b[31mrood\0\xff\xfe\xc3\0x\0gemeente\0ok"
                                      "\x0c\x01\x16" /* op 12, row 1, 22 bytes */
                                      "alert_raised\0broker\0\0\0"
                                      "\x06\x80\x09" /* op 6, a new checkpoint (size 0), 9 bytes */
                                      "a\n1\n\n\n\n\nx";
        fuzz_write_seed(dir, "edit-hostile-text", hostile, sizeof hostile - 1);
        exit(0);
    }
    return 0;
}

/* ---- edits ------------------------------------------------------------ */

/* Runs `sql` with up to two bound values; errors are fine (a constraint,
   a table dropped by an earlier edit). */
static void s_sql(sqlite3 *db, const char *sql, int64_t a, const uint8_t *blob, size_t len,
                  bool as_text)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return;
    if (sqlite3_bind_parameter_count(st) >= 1)
        sqlite3_bind_int64(st, 1, a);
    if (sqlite3_bind_parameter_count(st) >= 2) {
        if (as_text)
            sqlite3_bind_text(st, 2, (const char *)blob, (int)len, SQLITE_TRANSIENT);
        else
            sqlite3_bind_blob(st, 2, blob ? blob : (const uint8_t *)"", (int)len, SQLITE_TRANSIENT);
    }
    while (sqlite3_step(st) == SQLITE_ROW)
        ;
    sqlite3_finalize(st);
}

static int64_t s_int(const uint8_t *p, size_t len)
{
    uint64_t v = 0;
    for (size_t i = 0; i < len && i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

/* Op 12: a record with strings from `p` (NUL-separated), chained. */
static void s_append_hostile(sqlite3 *db, const uint8_t *p, size_t len)
{
    char text[256 * 8 + 8];
    char *parts[8] = {0};
    size_t n = 0, start = 0;
    memcpy(text, p, len);
    text[len] = '\0';
    for (size_t i = 0; i <= len && n < 8; i++)
        if (i == len || text[i] == '\0') {
            text[i] = '\0';
            parts[n++] = text + start;
            start = i + 1;
        }
    char err[512], origin[CHECKPOINT_NAME_MAX + 1];
    audit_log_origin_for(PARTNERSHIP, origin, sizeof origin);
    db_t *view = db_borrow_embedded(db);
    audit_log_t *log = view ? audit_log_open(view, origin, true, err, sizeof err) : NULL;
    if (!log) {
        db_close(&view);
        return;
    }
    Hartslag__AuditRecord r = HARTSLAG__AUDIT_RECORD__INIT;
    r.time_ms = FUZZ_T0_MS + (len ? (uint64_t)p[0] * FUZZ_DAY_MS : 0);
    r.event = parts[0] ? parts[0] : "";
    r.actor_org = parts[1] ? parts[1] : "";
    r.counterpart_org = parts[2];
    r.signal_type = parts[3];
    r.purpose = parts[4];
    r.reason = parts[5];
    r.on_behalf_of = parts[6];
    r.outcome = parts[7] ? parts[7] : "ok";
    r.n_fields = parts[3] ? 1 : 0;
    r.fields = &parts[3];
    r.has_subject = 1;
    r.subject.data = s_subjects[len & 1];
    r.subject.len = 32;
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK) {
        if (audit_log_append(log, &r) >= 0 &&
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
            audit_log_commit(log);
        else {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            audit_log_rollback(log);
        }
    }
    audit_log_destroy(&log);
    db_close(&view);
}

static void s_edit(sqlite3 *db, uint8_t op, uint8_t row, const uint8_t *p, size_t len)
{
    int64_t idx = row % (RECORDS + 2);
    switch (op % 13) {
    case 0:
        s_sql(db, "UPDATE audit SET record = ?2 WHERE idx = ?1", idx, p, len, false);
        break;
    case 1: {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, "SELECT record FROM audit WHERE idx = ?1", -1, &st, NULL) !=
            SQLITE_OK)
            break;
        sqlite3_bind_int64(st, 1, idx);
        if (sqlite3_step(st) == SQLITE_ROW && len > 0) {
            size_t n = (size_t)sqlite3_column_bytes(st, 0);
            const uint8_t *b = sqlite3_column_blob(st, 0);
            uint8_t *copy = malloc(n + 1);
            FUZZ_CHECK(copy != NULL);
            if (n)
                memcpy(copy, b, n);
            for (size_t i = 1; i < len && n; i++)
                copy[(p[0] + i - 1) % n] ^= p[i];
            sqlite3_finalize(st);
            st = NULL;
            s_sql(db, "UPDATE audit SET record = ?2 WHERE idx = ?1", idx, copy, n, false);
            free(copy);
        }
        sqlite3_finalize(st);
        break;
    }
    case 2:
        s_sql(db, "DELETE FROM audit WHERE idx = ?1", idx, NULL, 0, false);
        break;
    case 3: {
        char sql[96];
        snprintf(sql, sizeof sql, "UPDATE OR IGNORE audit SET idx = %lld WHERE idx = ?1",
                 (long long)s_int(p, len));
        s_sql(db, sql, idx, NULL, 0, false);
        break;
    }
    case 4: {
        char sql[128];
        snprintf(sql, sizeof sql,
                 "INSERT OR IGNORE INTO audit SELECT %lld, record, leaf FROM audit WHERE idx = ?1",
                 (long long)s_int(p, len));
        s_sql(db, sql, idx, NULL, 0, false);
        break;
    }
    case 5: {
        const char *sql[] = {"UPDATE audit SET record = NULL WHERE idx = ?1",
                             "UPDATE audit SET record = 42 WHERE idx = ?1",
                             "UPDATE audit SET record = ?2 WHERE idx = ?1",
                             "UPDATE audit SET record = 1.5 WHERE idx = ?1"};
        s_sql(db, sql[len % 4], idx, p, len, true);
        break;
    }
    case 6:
        if (row & 0x80) {
            char sql[128];
            snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO checkpoints VALUES(%d, ?2, 0) -- ?1",
                     row & 0x7f);
            s_sql(db, sql, 0, p, len, true);
        } else
            s_sql(db,
                  "UPDATE checkpoints SET note = ?2 WHERE size = "
                  "(SELECT size FROM checkpoints ORDER BY size LIMIT 1 OFFSET ?1)",
                  row & 1, p, len, (row & 2) == 0);
        break;
    case 7:
        s_sql(db, "INSERT OR REPLACE INTO cosignatures VALUES(?1, 'gemeente', ?2, 0)", row, p, len,
              true);
        break;
    case 8:
        if (len < 8)
            s_sql(db, "DELETE FROM audit_subjects WHERE idx = ?1", idx, NULL, 0, false);
        else {
            char sql[160];
            snprintf(sql, sizeof sql,
                     "INSERT OR IGNORE INTO audit_subjects VALUES(?1 >> 12, %lld, ?1)",
                     (long long)s_int(p, len));
            s_sql(db, sql, len > 8 ? s_int(p + 8, len - 8) : idx, NULL, 0, false);
        }
        break;
    case 9:
        s_sql(db, "UPDATE audit_meta SET value = ?2 -- ?1", 0, p, len, true);
        break;
    case 10:
        if (row & 1)
            s_sql(db, "UPDATE audit SET leaf = ?2 WHERE idx = ?1", idx, p, len, false);
        else
            s_sql(db,
                  "UPDATE audit_nodes SET hash = ?2 WHERE (level, idx) IN "
                  "(SELECT level, idx FROM audit_nodes LIMIT 1 OFFSET ?1)",
                  row >> 1, p, len, false);
        break;
    case 11: {
        const char *sql[] = {"DROP TABLE audit",        "DROP TABLE audit_nodes",
                             "DROP TABLE audit_meta",   "DROP TABLE checkpoints",
                             "DROP TABLE cosignatures", "DROP TABLE audit_subjects"};
        s_sql(db, sql[row % 6], 0, NULL, 0, false);
        break;
    }
    case 12:
        s_append_hostile(db, p, len);
        break;
    }
}

/* ---- the commands ----------------------------------------------------- */

typedef int(command_fn)(int argc, char **argv);

static void s_run(command_fn *fn, const char *const *args, size_t n)
{
    char *argv[16];
    FUZZ_CHECK(n < 16);
    for (size_t i = 0; i < n; i++)
        argv[i] = (char *)args[i];
    argv[n] = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = fn((int)n, argv);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (getenv("HARTSLAG_FUZZ_LOG"))
        dprintf(s_stderr, "fuzz: audit %s: exit %d (%.1f ms)\n", args[0], rc,
                (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    FUZZ_CHECK(rc == 0 || rc == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[700];
    const char *suffix[] = {"-journal", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", s_db, suffix[i]);
        (void)unlink(path);
    }
    int fd = open(s_db, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(write(fd, s_template, s_template_len) == (ssize_t)s_template_len);
    FUZZ_CHECK(close(fd) == 0);

    sqlite3 *db = NULL;
    FUZZ_CHECK(sqlite3_open(s_db, &db) == SQLITE_OK);
    size_t pos = 0;
    for (int e = 0; e < EDITS_MAX && pos + 3 <= size; e++) {
        uint8_t op = data[pos], row = data[pos + 1];
        size_t len = data[pos + 2];
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        s_edit(db, op, row, data + pos, len);
        pos += len;
    }
    FUZZ_CHECK(sqlite3_close(db) == SQLITE_OK);

    fflush(stdout);
    FUZZ_CHECK(dup2(getenv("HARTSLAG_FUZZ_LOG") ? s_stderr : s_null, 2) == 2);
    const char *verify[] = {"verify", "--db", s_db, "--broker-cert", s_cert, "--json"};
    s_run(audit_cmd_verify, verify, 6);
    const char *query[] = {"query", "--db", s_db, "--json"};
    s_run(audit_cmd_query, query, 4);
    const char *export[] = {"export", "--db", s_db, "--csv", "--subject", s_subject};
    s_run(audit_cmd_export, export, 6);
    const char *subject[] = {"subject",  "--db",          s_db,        "--subject",
                             s_subject,  "--broker-cert", s_cert,      "--partners",
                             s_partners, "--agreements",  s_agreements};
    /* Loading the partners' certificates takes ~10 ms: every fourth
       input length only (the renderers' partner lookups are the same). */
    bool partners = size % 4 == 0;
    s_run(audit_cmd_subject, subject, partners ? 11 : 7);
    const char *subject_json[] = {"subject", "--db",   s_db,     "--subject",
                                  s_subject, "--json", "--lang", "en"};
    s_run(audit_cmd_subject, subject_json, 8);
    const char *report[] = {"report",        "--db", s_db,         "--html",  s_html,
                            "--broker-cert", s_cert, "--partners", s_partners};
    s_run(audit_cmd_report, report, partners ? 9 : 7);
    const char *stats[] = {"stats", "--db", s_db, "--json"};
    s_run(audit_cmd_stats, stats, 4);
    fflush(stdout);
    FUZZ_CHECK(dup2(s_stderr, 2) == 2);
    return 0;
}
