/*  Storage faults (issue 6): the broker and the daemons fail closed when
    their SQLite store cannot write, commit, fsync or finds the disk full,
    and resume by themselves when the fault clears.

    The processes under test are the fault builds from mk/faults.mk
    ($HARTSLAG_BIN/tests/hartslag-broker-faults and .../hartslagd-faults):
    the real broker and daemon linked with tests/faults/fault_vfs.c, told
    through HARTSLAG_FAULT_FILE which fault to inject. Everything runs on
    127.0.0.1 in temporary directories; the checks read broker.db and
    hartslagd.db read-only from this process (the normal SQLite VFS).

    Two backends (issue 16): with HARTSLAG_TEST_STORE=postgresql the
    daemon suite runs against a broker whose store is PostgreSQL, read
    through lib/db.h on bh_store(). The broker suite injects its faults
    into SQLite's file layer in the broker's state directory (write,
    fsync, full disk, torn commit of broker.db): that is SQLite by nature,
    so on PostgreSQL it is not registered at all (s_sqlite_only below);
    PostgreSQL's own failures (read-only, full tablespace, a cut
    connection, a newer schema) are test_store_hostile's. */
#include "audit_verify.h"
#include "cert.h"
#include "daemon_harness.h"
#include "db.h"
#include "testutil.h"
#include "tu_db.h"
#include "wire.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BROKER_FAULTS "tests/hartslag-broker-faults"
#define DAEMON_FAULTS "tests/hartslagd-faults"
#define BSN "123456782"
#define CANARY "CANARY-5d0c7e19ab"

static const char *s_orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};

/* ------------------------------------------------------------------------
   Fault control and the fault builds */

/* Sets the fault mode by rename, so the shim sees every change at once. */
static void s_fault_set(const char *path, const char *mode)
{
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert_eq(tu_write_file(tmp, mode, 0644), 0);
    cr_assert_eq(rename(tmp, path), 0);
}

static void s_need_binary(const char *name)
{
    const char *path = tu_bin(name);
    if (access(path, X_OK) != 0)
        cr_assert_fail("%s is missing: build it with 'make -f Makefile -f mk/faults.mk "
                       "faults-bins' (mk/faults.mk)",
                       path);
}

/* bh_start for the fault build: same config and log, HARTSLAG_FAULT_FILE set
   in the child only. 0 or -1. */
static int s_broker_start(bh_t *bh, const char *fault_file)
{
    char config[32768];
    snprintf(config, sizeof config,
             "bind: %s\nstate_dir: %s\ncertificates: %s\nkeys: %s/broker.cert_secret\n"
             "agreements: %s\n",
             bh->endpoint, bh->state, bh->certs, bh->keys, bh->agreements);
    remove(bh->config);
    if (tu_write_file(bh->config, config, 0644) != 0)
        return -1;
    size_t offset = 0;
    free(tu_read_file(bh->log, &offset));
    char fault_env[4500];
    snprintf(fault_env, sizeof fault_env, "HARTSLAG_FAULT_FILE=%s", fault_file);
    char *env[] = {fault_env, NULL};
    char *argv[] = {(char *)tu_bin(BROKER_FAULTS), "--config", bh->config, NULL};
    pid_t pid = tu_spawn(argv, NULL, bh->log, true, env);
    if (pid < 0)
        return -1;
    bh->pid = pid;
    for (int i = 0; i < 200; i++) {
        usleep(25000);
        size_t len = 0;
        char *log = tu_read_file(bh->log, &len);
        const char *run = log && len > offset ? log + offset : NULL;
        const char *started = run ? strstr(run, "event=started endpoint=") : NULL;
        if (started) {
            started += strlen("event=started endpoint=");
            size_t n = strcspn(started, " \n");
            if (n < sizeof bh->endpoint) {
                memcpy(bh->endpoint, started, n);
                bh->endpoint[n] = '\0';
            }
            free(log);
            return 0;
        }
        free(log);
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            bh->pid = 0;
            return -1;
        }
    }
    return -1;
}

/* dh_start for the fault build. 0 or -1. */
static int s_daemon_start(dh_t *dh, const char *fault_file)
{
    size_t offset = 0;
    free(tu_read_file(dh->log, &offset));
    dh->log_offset = offset;
    char fault_env[4500];
    snprintf(fault_env, sizeof fault_env, "HARTSLAG_FAULT_FILE=%s", fault_file);
    char *env[] = {fault_env, NULL};
    char *argv[] = {(char *)tu_bin(DAEMON_FAULTS), "--config", dh->config, NULL};
    pid_t pid = tu_spawn(argv, NULL, dh->log, true, env);
    if (pid < 0)
        return -1;
    dh->pid = pid;
    if (!dh_wait_log(dh, "event=started", 10000))
        return -1;
    char sock[4600];
    snprintf(sock, sizeof sock, "%s/control.sock", dh->state);
    for (int i = 0; i < 200; i++) {
        if (access(sock, F_OK) == 0)
            return 0;
        usleep(10000);
    }
    return -1;
}

static bool s_alive(pid_t pid)
{
    return pid > 0 && waitpid(pid, NULL, WNOHANG) == 0 && kill(pid, 0) == 0;
}

/* ------------------------------------------------------------------------
   Read-only looks into the stores */

static sqlite3 *s_open_ro(const char *path)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    cr_assert_eq(rc, SQLITE_OK, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "?");
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static sqlite3 *s_broker_db(bh_t *bh)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/broker.db", bh->state);
    return s_open_ro(path);
}

/* One integer from `sql`, with the signal id bound to ?1 when given. */
static int64_t s_scalar(sqlite3 *db, const char *sql, const uint8_t *id)
{
    sqlite3_stmt *stmt = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    if (id)
        sqlite3_bind_blob(stmt, 1, id, 16, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    cr_assert_eq(rc, SQLITE_ROW, "%s: %s", sql, sqlite3_errmsg(db));
    int64_t value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

/* One integer from `sql` on the broker's store, whichever backend, with
   the signal id bound to $1 when given. */
static int64_t s_broker_count(bh_t *bh, const char *sql, const uint8_t *id)
{
    char err[512] = "";
    db_t *db = db_open(bh_store(bh), DB_READONLY, err, sizeof err);
    cr_assert_not_null(db, "cannot open %s: %s", bh_store(bh), err);
    db_stmt_t *st = db_prepare(db, sql);
    cr_assert_not_null(st, "%s: %s", sql, db_errmsg(db));
    if (id)
        cr_assert_eq(db_bind_blob(st, 1, id, 16), 0);
    cr_assert_eq(db_step(st), DB_ROW, "%s: %s", sql, db_errmsg(db));
    int64_t value = db_column_int64(st, 0);
    db_close(&db);
    return value;
}

/* Audit records that name the signal `id`; *accepted counts the "accepted"
   events among them. */
static int s_audit_records(sqlite3 *db, const uint8_t id[16], int *accepted)
{
    sqlite3_stmt *stmt = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT record FROM audit ORDER BY idx", -1, &stmt, NULL),
                 SQLITE_OK);
    int n = 0;
    *accepted = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        Hartslag__AuditRecord *record = hartslag__audit_record__unpack(
            NULL, (size_t)sqlite3_column_bytes(stmt, 0), sqlite3_column_blob(stmt, 0));
        cr_assert_not_null(record, "an audit record does not unpack");
        if (record->has_signal_id && record->signal_id.len == 16 &&
            memcmp(record->signal_id.data, id, 16) == 0) {
            n++;
            if (strcmp(record->event, "accepted") == 0)
                (*accepted)++;
        }
        hartslag__audit_record__free_unpacked(record, NULL);
    }
    sqlite3_finalize(stmt);
    return n;
}

/* The broker's audit log verifies against its signing key (from its
   certificate), read in one snapshot. Returns the number of records. */
static uint64_t s_audit_verifies(bh_t *bh, sqlite3 *db)
{
    char path[4400], err[600];
    snprintf(path, sizeof path, "%s/broker.cert", bh->keys);
    cert_t cert;
    cr_assert_eq(cert_load(path, &cert, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    audit_report_t report;
    memset(&report, 0, sizeof report);
    int rc = audit_verify(tu_db(db), cert.sign_key, NULL, 0, &report);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    cr_assert_eq(rc, 0, "audit verify: %s at %lld: %s", audit_fault_name(report.kind),
                 (long long)report.first_bad, report.detail);
    return report.records;
}

/* ------------------------------------------------------------------------
   The broker */

static bh_client_t *s_client(bh_t *bh, const char *org)
{
    bh_client_t *client = bh_client_new(bh, org, false);
    cr_assert_not_null(client);
    cr_assert_eq(bh_hello(client), 0, "%s: no Welcome", org);
    return client;
}

/* The signal id in a Deliver frame, or false. */
static bool s_deliver_id(const Hartslag__Frame *frame, uint8_t id[16])
{
    if (frame->body_case != HARTSLAG__FRAME__BODY_DELIVER || !frame->deliver->signal)
        return false;
    Hartslag__SignalHeader *header = NULL;
    const char *why = NULL;
    const Hartslag__SealedSignal *sealed = frame->deliver->signal;
    if (wire_check_header(sealed->header.data, sealed->header.len, &header, &why) != 0)
        return false;
    bool ok = header->signal_id.len == 16;
    if (ok)
        memcpy(id, header->signal_id.data, 16);
    hartslag__signal_header__free_unpacked(header, NULL);
    return ok;
}

/* Deliveries of `id` to `client` within `ms`, each acknowledged (stored);
   other frames are dropped. */
static int s_deliveries(bh_client_t *client, const uint8_t id[16], int ms)
{
    int n = 0;
    int64_t deadline = zclock_mono() + ms;
    for (int64_t left = ms; left > 0; left = deadline - zclock_mono()) {
        Hartslag__Frame *frame = bh_recv(client, (int)left);
        if (!frame)
            break;
        uint8_t got[16];
        if (s_deliver_id(frame, got)) {
            cr_assert_eq(bh_ack(client, got, true, NULL), 0);
            if (memcmp(got, id, 16) == 0)
                n++;
        }
        hartslag__frame__free_unpacked(frame, NULL);
    }
    return n;
}

/* Submits and returns the answer: 'A' Accepted, 'D' Denied (reason into
   `reason`), '-' nothing within 5 s, '?' anything else. */
static char s_submit(bh_client_t *client, const uint8_t *sealed, size_t len, const uint8_t id[16],
                     char reason[64])
{
    reason[0] = '\0';
    Hartslag__Frame *frame = bh_submit(client, sealed, len, 5000);
    if (!frame)
        return '-';
    char kind = '?';
    if (frame->body_case == HARTSLAG__FRAME__BODY_ACCEPTED &&
        frame->accepted->signal_id.len == 16 &&
        memcmp(frame->accepted->signal_id.data, id, 16) == 0)
        kind = 'A';
    else if (frame->body_case == HARTSLAG__FRAME__BODY_DENIED &&
             frame->denied->signal_id.len == 16 &&
             memcmp(frame->denied->signal_id.data, id, 16) == 0) {
        kind = 'D';
        snprintf(reason, 64, "%s", frame->denied->reason ? frame->denied->reason : "");
    }
    hartslag__frame__free_unpacked(frame, NULL);
    return kind;
}

/* What a broker case runs; the suite's fini stops it even when an assertion
   ends the test early (a leaked process would hold the runner's pipes). */
static bh_t *s_bh;
static bh_client_t *s_politie_c, *s_gemeente_c, *s_welzijn_c;

static void s_broker_fini(void)
{
    bh_client_destroy(&s_politie_c);
    bh_client_destroy(&s_gemeente_c);
    bh_client_destroy(&s_welzijn_c);
    bh_destroy(&s_bh);
}

/*  One broker case: a first signal goes through; with the fault on, a
    second is refused (twice: the broker keeps failing closed and keeps
    running), nothing of it is delivered or stored and the audit log still
    verifies; with the fault cleared the same bytes are accepted and
    delivered exactly once to each recipient. */
static void s_broker_case(const char *mode)
{
    s_need_binary(BROKER_FAULTS);
    bh_t *bh = s_bh = bh_new(s_orgs, 4, bh_default_agreements);
    cr_assert_not_null(bh);
    char fault[4400];
    snprintf(fault, sizeof fault, "%s/fault", bh->root);
    s_fault_set(fault, "none");
    cr_assert_eq(s_broker_start(bh, fault), 0, "faulty broker did not start:\n%s", bh_log(bh));
    bh_client_t *politie = s_politie_c = s_client(bh, "politie");
    bh_client_t *gemeente = s_gemeente_c = s_client(bh, "gemeente");
    bh_client_t *welzijn = s_welzijn_c = s_client(bh, "welzijn");

    /* Before the fault: the fault build stores and delivers as usual. */
    uint8_t *first = NULL, *sealed = NULL;
    size_t first_len = 0, len = 0;
    uint8_t first_id[16], id[16];
    char reason[64];
    cr_assert_eq(bh_seal(bh, politie, "gemeente,welzijn", "overlast", "casusoverleg", "adres,datum",
                         CANARY, &first, &first_len, first_id),
                 0);
    cr_assert_eq(s_submit(politie, first, first_len, first_id, reason), 'A');
    cr_assert_eq(s_deliveries(gemeente, first_id, 1500), 1);
    cr_assert_eq(s_deliveries(welzijn, first_id, 1500), 1);

    /* Fault on: refused, not accepted; nothing delivered; still running. */
    s_fault_set(fault, mode);
    cr_assert_eq(bh_seal(bh, politie, "gemeente,welzijn", "overlast", "casusoverleg",
                         "adres,datum,categorie", CANARY, &sealed, &len, id),
                 0);
    for (int attempt = 0; attempt < 2; attempt++) {
        char kind = s_submit(politie, sealed, len, id, reason);
        cr_assert_eq(kind, 'D', "[%s] attempt %d: expected Denied, got %c %s\n%s", mode, attempt,
                     kind, reason, bh_log(bh));
        cr_assert_str_eq(reason, "storage_unavailable", "[%s] reason", mode);
    }
    cr_assert_eq(s_deliveries(gemeente, id, 1000), 0, "[%s] delivered despite the fault", mode);
    cr_assert_eq(s_deliveries(welzijn, id, 200), 0);
    cr_assert(s_alive(bh->pid), "[%s] broker died:\n%s", mode, bh_log(bh));
    char *log = bh_log(bh);
    cr_assert(strstr(log, "fault_vfs: event=fault_injected mode="), "[%s] no fault injected:\n%s",
              mode, log);
    cr_assert(strstr(log, "event=turn_failed"), "[%s] no failed turn logged:\n%s", mode, log);
    free(log);

    /* Fault off: nothing of the refused signal is stored, the log holds. */
    s_fault_set(fault, "none");
    sqlite3 *db = s_broker_db(bh);
    cr_assert_eq(s_scalar(db, "SELECT count(*) FROM signals WHERE signal_id=?1", id), 0,
                 "[%s] a refused signal was stored", mode);
    cr_assert_eq(s_scalar(db, "SELECT count(*) FROM deliveries WHERE signal_id=?1", id), 0,
                 "[%s] deliveries of a refused signal were stored", mode);
    int accepted = 0;
    cr_assert_eq(s_audit_records(db, id, &accepted), 0,
                 "[%s] audit records of a refused signal were stored", mode);
    uint64_t records = s_audit_verifies(bh, db);
    cr_assert_gt(records, 0);
    tu_sqlite_close(db);

    /* It resumes by itself: the same bytes are accepted, delivered once. */
    char kind = s_submit(politie, sealed, len, id, reason);
    cr_assert_eq(kind, 'A', "[%s] after the fault: got %c %s\n%s", mode, kind, reason, bh_log(bh));
    cr_assert_eq(s_deliveries(gemeente, id, 3000), 1, "[%s] gemeente", mode);
    cr_assert_eq(s_deliveries(welzijn, id, 1500), 1, "[%s] welzijn", mode);
    /* A replay gets the same Accepted and no second delivery. */
    cr_assert_eq(s_submit(politie, sealed, len, id, reason), 'A');
    cr_assert_eq(s_deliveries(gemeente, id, 1000), 0, "[%s] delivered twice", mode);

    db = s_broker_db(bh);
    cr_assert_eq(s_scalar(db, "SELECT count(*) FROM signals WHERE signal_id=?1", id), 1);
    cr_assert_eq(s_scalar(db, "SELECT count(*) FROM deliveries WHERE signal_id=?1", id), 2);
    cr_assert_eq(s_scalar(db, "SELECT count(*) FROM deliveries WHERE signal_id=?1 AND state=0", id),
                 0, "[%s] acknowledged deliveries still pending", mode);
    cr_assert_gt(s_audit_records(db, id, &accepted), 0);
    cr_assert_eq(accepted, 2, "[%s] one 'accepted' record per recipient", mode);
    cr_assert_gt(s_audit_verifies(bh, db), records);
    tu_sqlite_close(db);

    /* A clean stop; the log still verifies from the files alone. */
    bh_client_destroy(&s_politie_c);
    bh_client_destroy(&s_gemeente_c);
    bh_client_destroy(&s_welzijn_c);
    bh_stop(bh, SIGTERM);
    db = s_broker_db(bh);
    s_audit_verifies(bh, db);
    tu_sqlite_close(db);
    log = bh_log(bh);
    cr_assert_null(strstr(log, CANARY), "content in the broker log");
    free(log);
    free(first);
    free(sealed);
}

static void s_watchdog_broker_faults(void)
{
    tu_watchdog(90);
}

TestSuite(broker_faults, .fini = s_broker_fini, .init = s_watchdog_broker_faults);

/* The broker suite exists on SQLite only: on PostgreSQL it is taken out
   of the set before the run, so it is neither run nor counted (a skip
   would look like a pass). What is unlinked stays reachable here. */
static struct criterion_ordered_set_node *s_unregistered;

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    if (!bh_postgresql())
        return;
    struct criterion_ordered_set_node **link = &set->suites->first;
    while (*link) {
        struct criterion_suite_set *suite = (struct criterion_suite_set *)(*link + 1);
        if (strcmp(suite->suite.name, "broker_faults") != 0) {
            link = &(*link)->next;
            continue;
        }
        struct criterion_ordered_set_node *gone = *link;
        *link = gone->next;
        set->suites->size--;
        set->tests -= suite->tests ? suite->tests->size : 0;
        gone->next = s_unregistered;
        s_unregistered = gone;
    }
}

Test(broker_faults, write_error_fails_closed_and_resumes)
{
    s_broker_case("write");
}

Test(broker_faults, failed_commit_sync_fails_closed_and_resumes)
{
    s_broker_case("commit");
}

Test(broker_faults, failed_fsync_fails_closed_and_resumes)
{
    s_broker_case("fsync");
}

Test(broker_faults, full_disk_fails_closed_and_resumes)
{
    s_broker_case("full");
}

Test(broker_faults, torn_commit_fails_closed_and_resumes)
{
    /* The first WAL frames of the commit are written, then the rest fail. */
    s_broker_case("write 2");
}

/*  A commit whose WAL sync failed, then a crash before anything else is
    written: the WAL still holds the frames SQLite wrote before the failed
    sync, and recovery at the next start may replay them. Whatever the
    restart finds must be all or nothing (signal, both deliveries and their
    audit records, or none of them), the log must verify, and the sender's
    retry of the same bytes must be accepted and delivered exactly once. */
Test(broker_faults, failed_commit_then_crash_is_all_or_nothing)
{
    s_need_binary(BROKER_FAULTS);
    bh_t *bh = s_bh = bh_new(s_orgs, 4, bh_default_agreements);
    cr_assert_not_null(bh);
    char fault[4400], reason[64];
    snprintf(fault, sizeof fault, "%s/fault", bh->root);
    s_fault_set(fault, "none");
    cr_assert_eq(s_broker_start(bh, fault), 0, "faulty broker did not start:\n%s", bh_log(bh));
    s_politie_c = s_client(bh, "politie");
    s_fault_set(fault, "commit");
    uint8_t *sealed = NULL, id[16];
    size_t len = 0;
    cr_assert_eq(bh_seal(bh, s_politie_c, "gemeente,welzijn", "overlast", "casusoverleg",
                         "adres,datum", CANARY, &sealed, &len, id),
                 0);
    cr_assert_eq(s_submit(s_politie_c, sealed, len, id, reason), 'D');
    cr_assert_str_eq(reason, "storage_unavailable");
    bh_stop(bh, SIGKILL);
    bh_client_destroy(&s_politie_c);

    s_fault_set(fault, "none");
    int started = -1;
    for (int attempt = 0; attempt < 40 && started != 0; attempt++)
        if ((started = s_broker_start(bh, fault)) != 0)
            usleep(250000);
    cr_assert_eq(started, 0, "broker did not restart:\n%s", bh_log(bh));
    sqlite3 *db = s_broker_db(bh);
    int64_t signals = s_scalar(db, "SELECT count(*) FROM signals WHERE signal_id=?1", id);
    int64_t deliveries = s_scalar(db, "SELECT count(*) FROM deliveries WHERE signal_id=?1", id);
    int accepted = 0;
    int records = s_audit_records(db, id, &accepted);
    cr_log_info("failed commit + SIGKILL: after restart the refused signal is %s (signals=%lld "
                "deliveries=%lld audit_records=%d)",
                signals ? "PRESENT (replayed from the WAL)" : "absent", (long long)signals,
                (long long)deliveries, records);
    cr_assert((signals == 0 && deliveries == 0 && records == 0) ||
                  (signals == 1 && deliveries == 2 && accepted == 2),
              "half-stored after a crash: signals=%lld deliveries=%lld audit=%d accepted=%d",
              (long long)signals, (long long)deliveries, records, accepted);
    s_audit_verifies(bh, db);
    tu_sqlite_close(db);

    s_politie_c = s_client(bh, "politie");
    s_gemeente_c = s_client(bh, "gemeente");
    s_welzijn_c = s_client(bh, "welzijn");
    char kind = s_submit(s_politie_c, sealed, len, id, reason);
    cr_assert_eq(kind, 'A', "retry after restart: %c %s", kind, reason);
    cr_assert_eq(s_deliveries(s_gemeente_c, id, 3000), 1);
    cr_assert_eq(s_deliveries(s_welzijn_c, id, 1500), 1);
    free(sealed);
}

/* ------------------------------------------------------------------------
   The daemons: outbox (sender) and inbox (recipient) */

static const char *s_fields[] = {"adres=Kanaalstraat 5, 6411 AB Heerlen", "datum=2026-03-01",
                                 "categorie=" CANARY, NULL};

/* `hartslag send --wait` from `dh`; exit code, stdout and stderr. */
static int s_send(dh_t *dh, char **out, char **err)
{
    char *argv[] = {(char *)tu_bin("hartslag"),
                    "send",
                    "--state-dir",
                    dh->state,
                    "--user",
                    "tester-1",
                    "--to",
                    "gemeente",
                    "--type",
                    "overlast",
                    "--purpose",
                    "casusoverleg",
                    "--subject-bsn",
                    "-",
                    "--field",
                    (char *)s_fields[0],
                    "--field",
                    (char *)s_fields[1],
                    "--field",
                    (char *)s_fields[2],
                    "--wait",
                    "--timeout",
                    "20",
                    NULL};
    return tu_run(argv, BSN "\n", out, err);
}

static void s_send_ok(dh_t *dh, uint8_t id[16])
{
    char *out = NULL, *err = NULL;
    int rc = s_send(dh, &out, &err);
    cr_assert_eq(rc, 0, "send failed (%d): %s%s\n%s", rc, out ? out : "", err ? err : "",
                 dh_log(dh));
    cr_assert(out && strlen(out) >= 32);
    size_t bin_len = 0;
    cr_assert_eq(sodium_hex2bin(id, 16, out, 32, NULL, &bin_len, NULL), 0);
    cr_assert_eq(bin_len, 16);
    free(out);
    free(err);
}

static sqlite3 *s_daemon_db(dh_t *dh)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/hartslagd.db", dh->state);
    return s_open_ro(path);
}

typedef struct {
    bh_t *bh;         /* the partnership and its (normal) broker */
    dh_t *politie;    /* sender */
    dh_t *gemeente;   /* recipient */
    char fault[4400]; /* control file of the faulty daemon */
} daemons_t;

/* A normal broker and two daemons; `faulty` is "politie" or "gemeente". */
static void s_daemons_up(daemons_t *d, const char *faulty)
{
    s_need_binary(DAEMON_FAULTS);
    memset(d, 0, sizeof *d);
    d->bh = bh_new(s_orgs, 4, bh_default_agreements);
    cr_assert_not_null(d->bh);
    cr_assert_eq(bh_start(d->bh, NULL), 0, "broker did not start");
    snprintf(d->fault, sizeof d->fault, "%s/fault", d->bh->root);
    s_fault_set(d->fault, "none");
    d->politie = dh_new(d->bh, "politie", NULL, NULL);
    d->gemeente = dh_new(d->bh, "gemeente", NULL, NULL);
    cr_assert(d->politie && d->gemeente);
    dh_t *both[] = {d->politie, d->gemeente};
    for (size_t i = 0; i < 2; i++) {
        int rc = strcmp(both[i]->org, faulty) == 0 ? s_daemon_start(both[i], d->fault)
                                                   : dh_start(both[i]);
        cr_assert_eq(rc, 0, "hartslagd %s did not start:\n%s", both[i]->org, dh_log(both[i]));
        cr_assert(dh_wait_log(both[i], "event=connected", 10000), "%s did not connect:\n%s",
                  both[i]->org, dh_log(both[i]));
    }
}

/* The running case; the suite's fini stops it, also after a failure. */
static daemons_t s_d;

static fb_t *s_fb; /* the fake broker of the lazy-commit case */

static void s_daemons_fini(void)
{
    fb_destroy(&s_fb);
    dh_destroy(&s_d.politie);
    dh_destroy(&s_d.gemeente);
    bh_destroy(&s_d.bh);
}

/*  Outbox: with the sender's store failing, `hartslag send` fails with a
    clear error and nothing reaches the broker; cleared, a send goes
    through and arrives once. */
static void s_outbox_case(const char *mode)
{
    daemons_t *d = &s_d;
    s_daemons_up(d, "politie");
    s_fault_set(d->fault, mode);
    char *out = NULL, *err = NULL;
    int rc = s_send(d->politie, &out, &err);
    cr_assert_neq(rc, 0, "[%s] send succeeded despite the fault: %s", mode, out ? out : "");
    cr_assert(err && strstr(err, "outbox"), "[%s] no clear error: '%s'", mode, err ? err : "");
    free(out);
    free(err);
    cr_assert(s_alive(d->politie->pid), "[%s] hartslagd died:\n%s", mode, dh_log(d->politie));
    usleep(1500000);
    cr_assert_eq(dh_inbox_count(d->gemeente), 0, "[%s] something was delivered", mode);
    cr_assert_eq(s_broker_count(d->bh, "SELECT count(*) FROM signals", NULL), 0,
                 "[%s] the broker got a signal", mode);

    s_fault_set(d->fault, "none");
    sqlite3 *db = s_daemon_db(d->politie);
    cr_assert_eq(s_scalar(db, "SELECT count(*) FROM outbox", NULL), 0,
                 "[%s] half-stored outbox entry", mode);
    cr_assert_eq(s_scalar(db, "SELECT count(*) FROM audit WHERE event='sent'", NULL), 0,
                 "[%s] 'sent' audited for a signal that was not stored", mode);
    tu_sqlite_close(db);

    uint8_t id[16];
    s_send_ok(d->politie, id);
    cr_assert(dh_wait_inbox(d->gemeente, 1, 10000), "[%s] not delivered:\n%s", mode,
              dh_log(d->gemeente));
    usleep(1000000);
    cr_assert_eq(dh_inbox_count(d->gemeente), 1, "[%s] delivered twice", mode);
    db = s_daemon_db(d->politie);
    cr_assert_eq(s_scalar(db, "SELECT count(*) FROM outbox WHERE state='accepted'", NULL), 1);
    tu_sqlite_close(db);
}

/*  Inbox: with the recipient's store failing, a Deliver is not
    acknowledged (the broker keeps it pending); cleared, it arrives once. */
static void s_inbox_case(const char *mode)
{
    daemons_t *d = &s_d;
    s_daemons_up(d, "gemeente");
    s_fault_set(d->fault, mode);
    uint8_t id[16];
    s_send_ok(d->politie, id);
    /* The daemon writes a turn's deliveries in one transaction: the failure
       shows at the insert or at the commit, and either way no ack leaves. */
    bool failed = false;
    for (int i = 0; i < 100 && !failed; i++) {
        failed = dh_log_count(d->gemeente, "event=store_failed op=inbox_add") > 0 ||
                 dh_log_count(d->gemeente, "event=acks_withheld") > 0;
        if (!failed)
            usleep(100000);
    }
    cr_assert(failed, "[%s] no failed inbox write:\n%s", mode, dh_log(d->gemeente));
    cr_assert(s_alive(d->gemeente->pid), "[%s] hartslagd died:\n%s", mode, dh_log(d->gemeente));
    cr_assert_eq(dh_inbox_count(d->gemeente), 0, "[%s] half-stored inbox entry", mode);
    cr_assert_eq(s_broker_count(d->bh,
                                "SELECT count(*) FROM deliveries WHERE signal_id=$1 AND "
                                "recipient='gemeente' AND state=0",
                                id),
                 1, "[%s] the broker settled a delivery that was not stored", mode);

    s_fault_set(d->fault, "none");
    sqlite3 *db = s_daemon_db(d->gemeente);
    cr_assert_eq(s_scalar(db, "SELECT count(*) FROM audit WHERE event='received'", NULL), 0,
                 "[%s] 'received' audited for a signal that was not stored", mode);
    tu_sqlite_close(db);
    bool arrived = dh_wait_inbox(d->gemeente, 1, 15000);
    if (!arrived) {
        /* Evidence for the report: does a reconnect (a new Hello) bring it? */
        char *glog = dh_log(d->gemeente), *blog = bh_log(d->bh);
        dh_stop(d->gemeente, SIGTERM);
        bool after_restart = s_daemon_start(d->gemeente, d->fault) == 0 &&
                             dh_wait_inbox(d->gemeente, 1, 10000) &&
                             (usleep(1000000), dh_inbox_count(d->gemeente) == 1);
        cr_assert_fail("[%s] the Deliver refused by the failing inbox did not come again within "
                       "15 s of the fault clearing (no ack was sent; the broker does not resend "
                       "in-flight deliveries on the same connection). After a daemon restart "
                       "(new Hello) it %s.\n--- gemeente:\n%s\n--- broker:\n%s",
                       mode, after_restart ? "arrived exactly once" : "still did not arrive", glog,
                       blog);
    }
    usleep(1000000);
    cr_assert_eq(dh_inbox_count(d->gemeente), 1, "[%s] stored twice", mode);
    cr_assert_eq(dh_log_count(d->gemeente, "event=signal_received"), 1);
    cr_assert_eq(s_broker_count(d->bh,
                                "SELECT count(*) FROM deliveries WHERE signal_id=$1 AND "
                                "recipient='gemeente' AND state=0",
                                id),
                 0, "[%s] still pending at the broker", mode);
}

static void s_watchdog_daemon_faults(void)
{
    tu_watchdog(120);
}

TestSuite(daemon_faults, .fini = s_daemons_fini, .init = s_watchdog_daemon_faults);

Test(daemon_faults, outbox_write_error)
{
    s_outbox_case("write");
}

Test(daemon_faults, outbox_failed_commit)
{
    s_outbox_case("commit");
}

Test(daemon_faults, outbox_failed_fsync)
{
    s_outbox_case("fsync");
}

Test(daemon_faults, outbox_full_disk)
{
    s_outbox_case("full");
}

Test(daemon_faults, inbox_write_error)
{
    s_inbox_case("write");
}

Test(daemon_faults, inbox_failed_commit)
{
    s_inbox_case("commit");
}

Test(daemon_faults, inbox_failed_fsync)
{
    s_inbox_case("fsync");
}

Test(daemon_faults, inbox_full_disk)
{
    s_inbox_case("full");
}

/* One integer from `sql` on the daemon's database. */
static int64_t s_daemon_scalar(dh_t *dh, const char *sql)
{
    sqlite3 *db = s_daemon_db(dh);
    int64_t value = s_scalar(db, sql, NULL);
    tu_sqlite_close(db);
    return value;
}

/*  The broker's Accepted alone is committed without an fsync of its own
    (it is redone by a resubmission if a power cut loses it), so a failing
    WAL sync does not stop it; a `send` after it still needs the sync and
    fails. Against a fake broker, so that the fault starts between the
    Submit and the Accepted. */
Test(daemon_faults, accepted_alone_needs_no_fsync_but_the_next_send_does)
{
    s_need_binary(DAEMON_FAULTS);
    daemons_t *d = &s_d;
    memset(d, 0, sizeof *d);
    d->bh = bh_new(s_orgs, 4, bh_default_agreements);
    cr_assert_not_null(d->bh);
    s_fb = fb_new(d->bh);
    cr_assert_not_null(s_fb);
    snprintf(d->fault, sizeof d->fault, "%s/fault", d->bh->root);
    s_fault_set(d->fault, "none");
    d->politie = dh_new(d->bh, "politie", s_fb->endpoint, NULL);
    cr_assert_not_null(d->politie);
    cr_assert_eq(s_daemon_start(d->politie, d->fault), 0, "%s", dh_log(d->politie));
    cr_assert_eq(fb_wait_hello(s_fb, 10000, 3), 0, "no Hello:\n%s", dh_log(d->politie));

    char hex[33];
    cr_assert_eq(dh_send(d->politie, "gemeente", "overlast", "casusoverleg", BSN, s_fields, NULL,
                         false, hex),
                 0, "%s", dh_log(d->politie));
    Hartslag__Frame *frame = NULL;
    for (int i = 0; i < 10 && !frame; i++) {
        frame = fb_recv(s_fb, 5000, 3);
        cr_assert_not_null(frame, "no Submit:\n%s", dh_log(d->politie));
        if (frame->body_case != HARTSLAG__FRAME__BODY_SUBMIT) {
            hartslag__frame__free_unpacked(frame, NULL);
            frame = NULL;
        }
    }
    cr_assert_not_null(frame);
    hartslag__frame__free_unpacked(frame, NULL);

    /* From now on every WAL sync fails. */
    s_fault_set(d->fault, "commit");
    uint8_t id[16];
    cr_assert_eq(sodium_hex2bin(id, sizeof id, hex, 32, NULL, NULL, NULL), 0);
    Hartslag__Accepted accepted = HARTSLAG__ACCEPTED__INIT;
    accepted.signal_id.data = id;
    accepted.signal_id.len = sizeof id;
    accepted.accepted_at_ms = wire_now_ms();
    accepted.audit_index = 7;
    Hartslag__Frame reply = HARTSLAG__FRAME__INIT;
    reply.body_case = HARTSLAG__FRAME__BODY_ACCEPTED;
    reply.accepted = &accepted;
    cr_assert_eq(fb_send(s_fb, &reply), 0);
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM outbox WHERE signal_id='%s' AND state='accepted' AND "
             "audit_index=7",
             hex);
    bool moved = false;
    for (int i = 0; i < 50 && !moved; i++) {
        moved = s_daemon_scalar(d->politie, sql) == 1;
        if (!moved)
            usleep(100000);
    }
    cr_assert(moved, "the Accepted was not committed while WAL syncs fail:\n%s",
              dh_log(d->politie));
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit WHERE signal_id='%s' AND event='accepted'", hex);
    cr_assert_eq(s_daemon_scalar(d->politie, sql), 1);

    /* A send still waits for a durable commit: with the sync failing it
       is refused, and nothing of it is stored. */
    char *out = NULL, *err = NULL;
    int rc = s_send(d->politie, &out, &err);
    cr_assert_neq(rc, 0, "send succeeded while WAL syncs fail: %s", out ? out : "");
    cr_assert(err && strstr(err, "outbox"), "no clear error: '%s'", err ? err : "");
    free(out);
    free(err);
    cr_assert_eq(s_daemon_scalar(d->politie, "SELECT count(*) FROM outbox"), 1);
    s_fault_set(d->fault, "none");
}

/* The fake broker sends `daemon` an open alert `alert_id` (hex) naming
   politie and welzijn, and waits until the daemon holds it. */
static void s_fb_alert(dh_t *daemon, const char *alert_id)
{
    uint8_t id[16], subject[32] = {0};
    cr_assert_eq(sodium_hex2bin(id, 16, alert_id, 32, NULL, NULL, NULL), 0);
    Hartslag__AlertParticipant parts[2];
    Hartslag__AlertParticipant *pp[2] = {&parts[0], &parts[1]};
    char *types[] = {"overlast"};
    const char *orgs[] = {"politie", "welzijn"};
    for (int i = 0; i < 2; i++) {
        hartslag__alert_participant__init(&parts[i]);
        parts[i].org = (char *)orgs[i];
        parts[i].contact = "test@example.org";
        parts[i].n_signal_types = 1;
        parts[i].signal_types = types;
        parts[i].first_at_ms = parts[i].last_at_ms = 1;
    }
    Hartslag__Alert alert = HARTSLAG__ALERT__INIT;
    alert.alert_id.data = id;
    alert.alert_id.len = 16;
    alert.rule_id = "multi-agency-match";
    alert.subject.data = subject;
    alert.subject.len = 32;
    alert.n_participants = 2;
    alert.participants = pp;
    alert.legal_basis = "convenant art. 6";
    alert.raised_at_ms = 1;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_ALERT;
    frame.alert = &alert;
    cr_assert_eq(fb_send(s_fb, &frame), 0);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM alerts WHERE alert_id='%s'", alert_id);
    for (int i = 0; i < 100 && s_daemon_scalar(daemon, sql) != 1; i++)
        usleep(100000);
    cr_assert_eq(s_daemon_scalar(daemon, sql), 1, "the alert was not stored:\n%s", dh_log(daemon));
}

/*  An alert acknowledgement leaves only after its audit record is
    committed: with every write failing, `hartslag alerts ack` answers an
    error and the broker gets nothing; once the disk works, it is sent, and
    the CLI reports success only on the broker's AlertAckResult. */
Test(daemon_faults, an_alert_ack_is_not_sent_without_its_audit_record)
{
    s_need_binary(DAEMON_FAULTS);
    daemons_t *d = &s_d;
    memset(d, 0, sizeof *d);
    d->bh = bh_new(s_orgs, 4, bh_default_agreements);
    cr_assert_not_null(d->bh);
    s_fb = fb_new(d->bh);
    cr_assert_not_null(s_fb);
    snprintf(d->fault, sizeof d->fault, "%s/fault", d->bh->root);
    s_fault_set(d->fault, "none");
    d->gemeente = dh_new(d->bh, "gemeente", s_fb->endpoint, NULL);
    cr_assert_not_null(d->gemeente);
    cr_assert_eq(s_daemon_start(d->gemeente, d->fault), 0, "%s", dh_log(d->gemeente));
    cr_assert_eq(fb_wait_hello(s_fb, 10000, 0), 0, "no Hello:\n%s", dh_log(d->gemeente));

    const char *alert = "0123456789abcdef0123456789abcdef";
    s_fb_alert(d->gemeente, alert);
    char *argv[] = {(char *)tu_bin("hartslag"),
                    "alerts",
                    "ack",
                    (char *)alert,
                    "--lead",
                    "politie",
                    "--state-dir",
                    d->gemeente->state,
                    NULL};
    s_fault_set(d->fault, "write");
    char *out = NULL, *err = NULL;
    int rc = tu_run(argv, NULL, &out, &err);
    cr_assert_neq(rc, 0, "acknowledged while every write fails: %s", out ? out : "");
    cr_assert(err && strstr(err, "audit record"), "no clear error: '%s'", err ? err : "");
    free(out);
    free(err);
    for (Hartslag__Frame *frame; (frame = fb_recv(s_fb, 1000, 0)) != NULL;) {
        cr_assert_neq(frame->body_case, HARTSLAG__FRAME__BODY_ALERT_ACK,
                      "an AlertAck left without its audit record");
        hartslag__frame__free_unpacked(frame, NULL);
    }

    s_fault_set(d->fault, "none");
    /* The CLI waits for the broker's verdict: run it aside and answer. */
    pid_t child = tu_spawn(argv, "/dev/null", "/dev/null", false, NULL);
    cr_assert_geq(child, 0);
    bool sent = false;
    for (Hartslag__Frame *frame; !sent && (frame = fb_recv(s_fb, 5000, 0)) != NULL;) {
        sent = frame->body_case == HARTSLAG__FRAME__BODY_ALERT_ACK;
        hartslag__frame__free_unpacked(frame, NULL);
    }
    cr_assert(sent, "no AlertAck once the disk works:\n%s", dh_log(d->gemeente));
    uint8_t alert_bin[16];
    cr_assert_eq(sodium_hex2bin(alert_bin, 16, alert, 32, NULL, NULL, NULL), 0);
    Hartslag__AlertAckResult result = HARTSLAG__ALERT_ACK_RESULT__INIT;
    result.alert_id.data = alert_bin;
    result.alert_id.len = 16;
    result.ok = 1;
    Hartslag__Frame verdict = HARTSLAG__FRAME__INIT;
    verdict.body_case = HARTSLAG__FRAME__BODY_ALERT_ACK_RESULT;
    verdict.alert_ack_result = &result;
    cr_assert_eq(fb_send(s_fb, &verdict), 0);
    int status = 0;
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "alerts ack failed after the "
              "broker confirmed:\n%s",
              dh_log(d->gemeente));
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit WHERE event='alert_ack_sent' AND signal_id='%s'", alert);
    cr_assert_eq(s_daemon_scalar(d->gemeente, sql), 1);
}

/* Agreements with a multi-agency alert rule that notifies gemeente. */
static const char *s_alert_yaml =
    "partnership: faults-test\nversion: 2\ncoordinator: gemeente\n"
    "partners:\n"
    "  - {org: gemeente, role: coordinator}\n"
    "  - {org: politie, role: partner}\n"
    "  - {org: welzijn, role: partner}\n"
    "  - {org: woonpunt, role: partner}\n"
    "agreements:\n"
    "  - {id: p, from: politie, to: [gemeente], signal_types: [overlast],"
    "     fields: [adres, datum, categorie], purpose: casusoverleg, legal_basis: \"Wpg art. 19\","
    "     valid_from: 2025-01-01, valid_until: 2099-12-31, retention_days: 30,"
    "     max_queue_days: 7}\n"
    "  - {id: w, from: welzijn, to: [gemeente], signal_types: [overlast],"
    "     fields: [adres, datum, categorie], purpose: casusoverleg, legal_basis: \"Wmo\","
    "     valid_from: 2025-01-01, valid_until: 2099-12-31, retention_days: 30,"
    "     max_queue_days: 7}\n"
    "alerts:\n"
    "  - {id: multi-agency-match, distinct_senders: 2, window_days: 90, notify: [gemeente],"
    "     legal_basis: \"convenant art. 6\"}\n";

/*  Issue 13 C10: an alert the recipient's full disk could not store comes
    again once the disk works, without a daemon restart (the broker resends
    notices only after a Hello, so the daemon asks with one). */
Test(daemon_faults, an_alert_refused_by_a_full_disk_arrives_once_it_clears)
{
    s_need_binary(DAEMON_FAULTS);
    daemons_t *d = &s_d;
    memset(d, 0, sizeof *d);
    d->bh = bh_new(s_orgs, 4, s_alert_yaml);
    cr_assert_not_null(d->bh);
    cr_assert_eq(bh_start(d->bh, NULL), 0, "broker did not start");
    snprintf(d->fault, sizeof d->fault, "%s/fault", d->bh->root);
    s_fault_set(d->fault, "none");
    d->gemeente = dh_new(d->bh, "gemeente", NULL, NULL);
    d->politie = dh_new(d->bh, "politie", NULL, NULL);
    dh_t *welzijn = dh_new(d->bh, "welzijn", NULL, NULL);
    cr_assert(d->gemeente && d->politie && welzijn);
    cr_assert_eq(s_daemon_start(d->gemeente, d->fault), 0, "%s", dh_log(d->gemeente));
    cr_assert_eq(dh_start(d->politie), 0);
    cr_assert_eq(dh_start(welzijn), 0);
    cr_assert(dh_wait_log(d->gemeente, "event=connected", 10000), "%s", dh_log(d->gemeente));
    s_fault_set(d->fault, "full");
    uint8_t id[16];
    s_send_ok(d->politie, id);
    s_send_ok(welzijn, id);
    bool failed = false;
    for (int i = 0; i < 150 && !failed; i++) {
        failed = dh_log_count(d->gemeente, "event=store_failed op=alert") > 0;
        if (!failed)
            usleep(100000);
    }
    cr_assert(failed, "the alert was not refused by the full disk:\n%s", dh_log(d->gemeente));
    s_fault_set(d->fault, "none");
    int64_t held = 0;
    for (int i = 0; i < 200 && held == 0; i++) {
        held = s_daemon_scalar(d->gemeente, "SELECT count(*) FROM alerts");
        if (held == 0)
            usleep(100000);
    }
    char *glog = dh_log(d->gemeente);
    dh_destroy(&welzijn);
    cr_assert_eq(held, 1, "the alert did not come again within 20 s of the disk clearing:\n%s",
                 glog);
    free(glog);
}

/* `hartslag status [--json]` of `dh`: exit code, output into *out. */
static int s_status(dh_t *dh, bool json, char **out)
{
    /* dh_cli adds --state-dir itself. */
    return json ? dh_cli(dh, NULL, out, NULL, "status", "--json", NULL)
                : dh_cli(dh, NULL, out, NULL, "status", NULL);
}

/*  Issue 13 C8: `hartslag status` is a health check: with the daemon's
    disk full it exits 1 and says so; cleared, it exits 0 again. */
Test(daemon_faults, status_is_unhealthy_while_the_store_cannot_write)
{
    daemons_t *d = &s_d;
    s_daemons_up(d, "gemeente");
    char *out = NULL;
    cr_assert_eq(s_status(d->gemeente, false, &out), 0, "%s", out);
    cr_assert(strstr(out, "health       ok"), "%s", out);
    free(out);
    s_fault_set(d->fault, "full");
    int rc = s_status(d->gemeente, false, &out);
    cr_assert_eq(rc, 1, "status exits %d with a full disk:\n%s", rc, out);
    cr_assert(strstr(out, "UNHEALTHY") && strstr(out, "store_failing") &&
                  strstr(out, "cannot write"),
              "%s", out);
    free(out);
    rc = s_status(d->gemeente, true, &out);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "\"healthy\":false") && strstr(out, "\"code\":\"store_failing\""), "%s",
              out);
    free(out);
    s_fault_set(d->fault, "none");
    rc = s_status(d->gemeente, true, &out);
    cr_assert_eq(rc, 0, "still unhealthy once the disk works: %s", out);
    cr_assert(strstr(out, "\"healthy\":true"), "%s", out);
    free(out);
}
