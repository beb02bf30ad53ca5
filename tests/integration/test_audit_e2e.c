/*  The audit log end to end: the broker writes and checkpoints it, the
    daemons verify, keep and cosign the checkpoints, and `hartslag audit`
    verifies the log against the daemons' copies, proves an exchange, and
    catches a broker that rewrites its history. The broker's store is
    SQLite or PostgreSQL (bh_postgresql, HARTSLAG_TEST_STORE): the audit
    tools get its location as --db, and a copy to tamper with is a copy of
    the store on the same backend (bh_store_copy). The daemons' stores are
    SQLite files on either (a daemon has no other backend). */
#include "broker_harness.h"
#include "daemon_harness.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bh_t *s_bh;
static dh_t *s_politie, *s_gemeente;
static const char *s_orgs[] = {"gemeente", "politie", "welzijn"};

static void s_setup(void)
{
    tu_watchdog(120);
    s_bh = bh_new(s_orgs, 3, bh_default_agreements);
    cr_assert_not_null(s_bh);
    cr_assert_eq(bh_start(s_bh, NULL), 0);
    s_politie = dh_new(s_bh, "politie", NULL, NULL);
    s_gemeente = dh_new(s_bh, "gemeente", NULL, NULL);
    cr_assert(s_politie && s_gemeente);
    cr_assert_eq(dh_start(s_politie), 0);
    cr_assert_eq(dh_start(s_gemeente), 0);
}

static void s_teardown(void)
{
    dh_destroy(&s_politie);
    dh_destroy(&s_gemeente);
    bh_destroy(&s_bh);
}

TestSuite(audit_e2e, .init = s_setup, .fini = s_teardown);

/* Runs `hartslag ARGS... NULL`; output in *out. */
static int s_hartslag(char **out, ...)
{
    char *argv[32] = {(char *)tu_bin("hartslag")};
    va_list args;
    va_start(args, out);
    for (int i = 1; i < 31 && (argv[i] = va_arg(args, char *)) != NULL; i++)
        ;
    va_end(args);
    char *err = NULL;
    int rc = tu_run(argv, NULL, out, &err);
    if (out && *out && err && *err) {
        size_t a = strlen(*out), b = strlen(err);
        char *both = realloc(*out, a + b + 1);
        if (both) {
            memcpy(both + a, err, b + 1);
            *out = both;
        }
    }
    free(err);
    return rc;
}

/* The daemon's held checkpoint size, from `hartslag status --json`. */
static long long s_held(dh_t *daemon)
{
    /* status exits 1 when the daemon is unhealthy (a refused checkpoint is
       one), and still prints the whole state. */
    char *out = NULL;
    int rc = dh_cli(daemon, NULL, &out, NULL, "status", "--json", NULL);
    if (rc != 0 && rc != 1) {
        free(out);
        return -1;
    }
    const char *at = out ? strstr(out, "\"checkpoint_size\":") : NULL;
    long long size = at ? strtoll(at + 18, NULL, 10) : -1;
    free(out);
    return size;
}

static bool s_wait_held(dh_t *daemon, long long at_least)
{
    for (int i = 0; i < 100; i++) {
        if (s_held(daemon) >= at_least)
            return true;
        usleep(100000);
    }
    return false;
}

/* Copies a daemon's SQLite store consistently (sqlite3 .backup). */
static void s_copy_db(const char *from, const char *to)
{
    char command[9000];
    snprintf(command, sizeof command, ".backup '%s'", to);
    char *argv[] = {"/usr/bin/sqlite3", (char *)from, command, NULL};
    cr_assert_eq(tu_run(argv, NULL, NULL, NULL), 0, "backup of %s", from);
}

/* Runs `sql` on the broker store at `location`; its output (caller frees). */
static char *s_sql(const char *location, const char *sql)
{
    char *out = NULL;
    cr_assert_eq(bh_query_at(location, sql, &out), 0, "%s: %s", sql, out ? out : "");
    return out;
}

/* The number the single-row, single-column query `sql` answers. */
static long s_sql_long(const char *location, const char *sql)
{
    char *out = s_sql(location, sql);
    char *end = NULL;
    long value = out ? strtol(out, &end, 10) : 0;
    cr_assert(out && end != out, "%s: %s", sql, out ? out : "");
    free(out);
    return value;
}

Test(audit_e2e, daemons_cosign_and_verify_passes_and_proofs_hold)
{
    const char *fields[] = {"datum=2026-11-28", "categorie=geluid", NULL};
    char id[33];
    cr_assert_eq(dh_send(s_politie, "gemeente", "overlast", "casusoverleg", "111222333", fields,
                         NULL, true, id),
                 0);
    cr_assert(dh_wait_inbox(s_gemeente, 1, 10000));
    cr_assert(s_wait_held(s_politie, 1), "politie never held a checkpoint");
    cr_assert(s_wait_held(s_gemeente, 1), "gemeente never held a checkpoint");
    /* Let the acks and their records reach a checkpoint too. */
    usleep(1500000);
    char broker_db[4300], politie_db[9000], gemeente_db[9000], broker_cert[9000], proof[9000];
    cr_assert_eq(bh_store_copy(s_bh, "copy_broker", broker_db, sizeof broker_db), 0);
    snprintf(politie_db, sizeof politie_db, "%s/copy-politie.db", s_bh->root);
    snprintf(gemeente_db, sizeof gemeente_db, "%s/copy-gemeente.db", s_bh->root);
    snprintf(broker_cert, sizeof broker_cert, "%s/broker.cert", s_bh->keys);
    snprintf(proof, sizeof proof, "%s/proof.txt", s_bh->root);
    char source[9000];
    snprintf(source, sizeof source, "%s/hartslagd.db", s_politie->state);
    s_copy_db(source, politie_db);
    snprintf(source, sizeof source, "%s/hartslagd.db", s_gemeente->state);
    s_copy_db(source, gemeente_db);

    /* The broker's store holds the partners' cosignatures. */
    char *out = s_sql(broker_db, "SELECT count(DISTINCT org) FROM cosignatures;");
    cr_assert_eq(strtol(out, NULL, 10), 2, "cosigners: %s", out);
    free(out);

    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", broker_db, "--broker-cert",
                            broker_cert, "--daemon-db", politie_db, "--daemon-db", gemeente_db,
                            NULL),
                 0, "%s", out);
    cr_assert(strncmp(out, "OK:", 3) == 0, "%s", out);
    cr_assert(strstr(out, "subject index complete"), "%s", out);
    /* And complete for what the daemons exchanged (issue 18 A2). */
    const char *listed = strstr(out, "Partners' exchanges: ");
    cr_assert(listed, "%s", out);
    long n_listed = 0, n_found = 0;
    cr_assert_eq(sscanf(listed, "Partners' exchanges: %ld listed, %ld found", &n_listed, &n_found),
                 2, "%s", out);
    cr_assert_gt(n_listed, 0);
    cr_assert_eq(n_found, n_listed, "%s", out);
    free(out);

    /* A witness file lists what its daemon exchanged; one the log lacks is a
       finding even though the log itself verifies. */
    char witness[9000];
    snprintf(witness, sizeof witness, "%s/politie.witness", s_bh->root);
    char *export[] = {(char *)tu_bin("hartslag"), "audit", "checkpoints", "--config",
                      s_politie->config,          "--out", witness,       NULL};
    cr_assert_eq(tu_run(export, NULL, &out, NULL), 0, "%s", out);
    cr_assert(strstr(out, "exchanges of politie"), "%s", out);
    free(out);
    char *lines = tu_read_file(witness, NULL);
    cr_assert(lines && strstr(lines, "\nexchange "), "%s", lines);
    size_t text_len = strlen(lines);
    char *forged = malloc(text_len + 128);
    cr_assert_not_null(forged);
    snprintf(forged, text_len + 128, "%sexchange %s accepted gemeente\n", lines,
             "00112233445566778899aabbccddeeff");
    free(lines);
    char forged_path[9000];
    snprintf(forged_path, sizeof forged_path, "%s/forged.witness", s_bh->root);
    cr_assert_eq(tu_write_file(forged_path, forged, 0600), 0);
    free(forged);
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", broker_db, "--broker-cert",
                            broker_cert, "--witness", witness, NULL),
                 0, "%s", out);
    free(out);
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", broker_db, "--broker-cert",
                            broker_cert, "--witness", forged_path, NULL),
                 1, "%s", out);
    cr_assert(strstr(out, "FAULT (missing_record)"), "%s", out);
    cr_assert(strstr(out, "00112233445566778899aabbccddeeff"), "%s", out);
    free(out);

    /* A subject index that misses a record's row is a finding: an access
       request answered through it would leave that record out. */
    char index_db[4300];
    cr_assert_eq(bh_store_copy(s_bh, "copy_index", index_db, sizeof index_db), 0);
    long dropped = s_sql_long(index_db, "SELECT max(idx) FROM audit_subjects;");
    char drop_sql[200], drop_expect[64];
    snprintf(drop_sql, sizeof drop_sql, "DELETE FROM audit_subjects WHERE idx = %ld;", dropped);
    snprintf(drop_expect, sizeof drop_expect, "record %ld has a subject", dropped);
    free(s_sql(index_db, drop_sql));
    cr_assert_eq(
        s_hartslag(&out, "audit", "verify", "--db", index_db, "--broker-cert", broker_cert, NULL),
        1, "%s", out);
    cr_assert(strstr(out, "FAULT (index)"), "%s", out);
    cr_assert(strstr(out, drop_expect), "%s (want %s)", out, drop_expect);
    free(out);

    /* An inclusion proof of the exchange, checked offline. */
    cr_assert_eq(
        s_hartslag(&out, "audit", "prove", "--db", broker_db, "--signal", id, "--out", proof, NULL),
        0, "%s", out);
    free(out);
    cr_assert_eq(
        s_hartslag(&out, "audit", "verify-proof", "--broker-cert", broker_cert, proof, NULL), 0,
        "%s", out);
    cr_assert(strstr(out, "event accepted by politie to gemeente"), "%s", out);
    cr_assert(strstr(out, id), "%s", out);
    free(out);
    /* A proof with one changed hash digit fails. */
    size_t len = 0;
    char *text = tu_read_file(proof, &len);
    char *hash = strstr(text, "\nhash ");
    if (hash) {
        hash[6] = hash[6] == '0' ? '1' : '0';
        remove(proof);
        cr_assert_eq(tu_write_file(proof, text, 0644), 0);
        cr_assert_eq(
            s_hartslag(&out, "audit", "verify-proof", "--broker-cert", broker_cert, proof, NULL), 1,
            "%s", out);
        cr_assert(strstr(out, "INVALID"), "%s", out);
        free(out);
    }
    free(text);

    /* A consistency proof between the first and the latest checkpoint. */
    char from[32];
    snprintf(from, sizeof from, "%ld", s_sql_long(broker_db, "SELECT min(size) FROM checkpoints;"));
    cr_assert_eq(
        s_hartslag(&out, "audit", "prove", "--db", broker_db, "--from", from, "--out", proof, NULL),
        0, "%s", out);
    free(out);
    cr_assert_eq(
        s_hartslag(&out, "audit", "verify-proof", "--broker-cert", broker_cert, proof, NULL), 0,
        "%s", out);
    free(out);

    /* The operator edits one record (the first naming politie, not the
       last one): verify names it. */
    /* Records are blobs on both backends; SQLite edits them as text,
       PostgreSQL as hex (both names are 7 bytes, so the length stays). */
    long target = s_sql_long(
        broker_db,
        bh_postgresql()
            ? "SELECT min(idx) FROM audit WHERE position('politie'::bytea IN record) > 0;"
            : "SELECT min(idx) FROM audit WHERE instr(CAST(record AS TEXT), 'politie') > 0;");
    char sql[300], expect[64];
    if (bh_postgresql())
        snprintf(sql, sizeof sql,
                 "UPDATE audit SET record = decode(replace(encode(record, 'hex'), "
                 "encode('politie'::bytea, 'hex'), encode('polizei'::bytea, 'hex')), 'hex') "
                 "WHERE idx = %ld;",
                 target);
    else
        snprintf(sql, sizeof sql,
                 "UPDATE audit SET record = CAST(replace(CAST(record AS TEXT), 'politie', "
                 "'polizei') AS BLOB) WHERE idx = %ld;",
                 target);
    snprintf(expect, sizeof expect, "record %ld ", target);
    free(s_sql(broker_db, sql));
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", broker_db, "--broker-cert",
                            broker_cert, "--daemon-db", politie_db, NULL),
                 1, "%s", out);
    cr_assert(strstr(out, "FAULT (modified)"), "%s", out);
    cr_assert(strstr(out, expect), "%s (want %s)", out, expect);
    free(out);
}

Test(audit_e2e, a_broker_that_truncates_its_log_is_caught_by_the_daemons)
{
    const char *fields[] = {"datum=2026-11-28", NULL};
    char id[33];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(dh_send(s_politie, "gemeente", "overlast", "casusoverleg", "111222333", fields,
                             NULL, true, id),
                     0);
    cr_assert(dh_wait_inbox(s_gemeente, 3, 10000));
    usleep(1500000);
    long long held = s_held(s_politie);
    cr_assert_gt(held, 4);
    /* The operator stops the broker, drops the tail of the log and its
       checkpoints, and starts again. */
    bh_stop(s_bh, SIGTERM);
    free(s_sql(bh_store(s_bh), "DELETE FROM audit WHERE idx >= 2; DELETE FROM checkpoints; "
                               "DELETE FROM audit_nodes; DELETE FROM cosignatures;"));
    cr_assert_eq(bh_start(s_bh, NULL), 0);
    cr_assert_eq(dh_send(s_politie, "gemeente", "overlast", "casusoverleg", "111222333", fields,
                         NULL, true, id),
                 0);
    /* The daemons refuse the new, shorter history and say so. */
    cr_assert(dh_wait_log(s_politie, "event=checkpoint_inconsistent", 10000),
              "politie did not notice");
    char *out = NULL;
    /* A refused checkpoint makes the daemon unhealthy: status is the health
       check, so it exits 1 (issue 13 C8). */
    cr_assert_eq(dh_cli(s_politie, NULL, &out, NULL, "status", NULL), 1, "%s", out);
    cr_assert(strstr(out, "INCONSISTENT CHECKPOINTS REFUSED"), "%s", out);
    free(out);
    cr_assert_eq(s_held(s_politie), held, "the daemon keeps the checkpoint it held");
    /* And `audit verify` with the daemon's store names the truncation. */
    bh_stop(s_bh, SIGTERM);
    char politie_db[9000], broker_cert[9000], source[9000];
    snprintf(politie_db, sizeof politie_db, "%s/copy-politie.db", s_bh->root);
    snprintf(source, sizeof source, "%s/hartslagd.db", s_politie->state);
    s_copy_db(source, politie_db);
    snprintf(broker_cert, sizeof broker_cert, "%s/broker.cert", s_bh->keys);
    cr_assert_eq(s_hartslag(&out, "audit", "verify", "--db", bh_store(s_bh), "--broker-cert",
                            broker_cert, "--daemon-db", politie_db, NULL),
                 1, "%s", out);
    /* Which fault depends on how far the restarted broker grew its new
       log before it stopped: shorter than what the daemon held
       (truncated), or past it with other records (forked, rewritten). */
    cr_assert(strstr(out, "FAULT (rewritten)") || strstr(out, "FAULT (truncated)") ||
                  strstr(out, "FAULT (modified)") || strstr(out, "FAULT (forked)"),
              "%s", out);
    free(out);
}
