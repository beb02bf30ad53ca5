/*  hartslag audit query | export | subject | stats | report: the privacy
    officer's read-side tools, run as real processes over audit stores
    written with lib/audit_log (a known story) and by a real broker.

    Two backends (issue 16): every store here is written through lib/db.h
    at a location s_location gives, a SQLite file in the test's directory
    or, with HARTSLAG_TEST_STORE=postgresql, a schema of its own in the
    binary's cluster; the tools get that location with --db. A "copy" of
    the story (cut, without its index, extended) is the story written
    again into a new store (it is deterministic), then changed with SQL.
    What is about a file by nature (a missing path, a file that is not a
    database, the file's bytes unchanged) has a PostgreSQL counterpart in
    errors_are_clear_and_exit_codes_hold: a server nobody answers on, a
    schema without an audit log, the schema's dump unchanged. */
#include "audit_log.h"
#include "audit_subjects.h"
#include "broker_harness.h"
#include "cert.h"
#include "db.h"
#include "envelope.h"
#include "keyfile.h"
#include "pg_harness.h"
#include "pseudonym.h"
#include "testutil.h"
#include "wire.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BSN_1 "111222333" /* the citizen who asks (passes the elfproef) */
#define BSN_2 "123456782" /* another citizen */
#define ADDRESS_1 "6411 AB 12a"
#define LEGAL_TRICKY "Wpg art. 19, lid 1 \"b\"" /* a comma and quotes for CSV/JSON */
#define T_MARCH 1772323200000LL                 /* 2026-03-01T00:00:00Z */
#define T_FEB 1769904000000LL                   /* 2026-02-01T00:00:00Z */
#define HOUR 3600000LL

static char *s_dir;
static char s_db[4200], s_officer[4200], s_officer_open[4200], s_partners[4200],
    s_broker_cert[4200];
static bh_t *s_svc;          /* the pseudonym service the officer asks (issue 17) */
static uint8_t s_log_pk[32]; /* the key the story's checkpoint is signed with */
static uint8_t s_log_sk[64];
static uint8_t s_feb_ids[9][16], s_feb_subjects[9][32]; /* February's, random per run */
static uint8_t s_p1[32], s_p2[32], s_paddr[32];
static char s_p1_hex[65], s_p2_hex[65];

/* Signal ids of the story: A, B, D about BSN_1; C about BSN_2. */
static const uint8_t ID_A[16] = {0xa1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t ID_B[16] = {0xb2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t ID_C[16] = {0xc3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t ID_D[16] = {0xd4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t ID_E[16] = {0xe5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static char *s_hex16(const uint8_t id[16])
{
    static char out[4][33];
    static int next;
    char *slot = out[next++ % 4];
    for (int i = 0; i < 16; i++)
        snprintf(slot + 2 * i, 3, "%02x", id[i]);
    return slot;
}

/* Runs `hartslag ARGS... NULL` with optional stdin. */
static int s_hartslag_in(const char *in, char **out, char **err, ...)
{
    char *argv[40] = {(char *)tu_bin("hartslag")};
    va_list args;
    va_start(args, err);
    for (int i = 1; i < 39 && (argv[i] = va_arg(args, char *)) != NULL; i++)
        ;
    va_end(args);
    return tu_run(argv, in, out, err);
}

#define HARTSLAG(out, err, ...) s_hartslag_in(NULL, out, err, __VA_ARGS__, (char *)NULL)
#define HARTSLAG_IN(in, out, err, ...) s_hartslag_in(in, out, err, __VA_ARGS__, (char *)NULL)

/* Runs python3 -c SCRIPT with `input` on stdin; returns its stdout (caller frees). */
static char *s_python(const char *script, const char *input)
{
    char *argv[] = {"/usr/bin/python3", "-c", (char *)script, NULL};
    char *out = NULL, *err = NULL;
    int rc = tu_run(argv, input, &out, &err);
    cr_assert_eq(rc, 0, "python3 failed: %s", err ? err : "");
    free(err);
    return out;
}

static size_t s_count(const char *haystack, const char *needle)
{
    size_t n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* ------------------------------------------------------------------------
   A story written straight into an audit log. */

typedef struct {
    const char *event;
    int64_t time_ms;
    const char *actor, *user, *counterpart, *on_behalf_of;
    const uint8_t *id;
    const char *type, *purpose;
    const uint8_t *subject;
    const char *fields; /* comma-separated */
    const char *agreement, *legal_basis, *outcome, *reason;
} rec_t;

static void s_append(audit_log_t *log, const rec_t *r)
{
    Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
    record.time_ms = (uint64_t)r->time_ms;
    record.event = (char *)r->event;
    record.actor_org = (char *)r->actor;
    record.actor_user = (char *)r->user;
    record.counterpart_org = (char *)r->counterpart;
    record.on_behalf_of = (char *)r->on_behalf_of;
    if (r->id) {
        record.has_signal_id = 1;
        record.signal_id.data = (uint8_t *)r->id;
        record.signal_id.len = 16;
    }
    record.signal_type = (char *)r->type;
    record.purpose = (char *)r->purpose;
    if (r->subject) {
        record.has_subject = 1;
        record.subject.data = (uint8_t *)r->subject;
        record.subject.len = 32;
    }
    char fields[256], *names[16];
    size_t n = 0;
    if (r->fields) {
        snprintf(fields, sizeof fields, "%s", r->fields);
        for (char *save = NULL, *f = strtok_r(fields, ",", &save); f && n < 16;
             f = strtok_r(NULL, ",", &save))
            names[n++] = f;
    }
    record.fields = names;
    record.n_fields = n;
    record.agreement_id = (char *)r->agreement;
    if (r->agreement) {
        record.has_agreements_version = 1;
        record.agreements_version = 3;
    }
    record.legal_basis = (char *)r->legal_basis;
    record.outcome = (char *)(r->outcome ? r->outcome : "ok");
    record.reason = (char *)r->reason;
    cr_assert_geq(audit_log_append(log, &record), 0);
}

/* Where a new store called `name` lives: a SQLite file in the test's
   directory, or on PostgreSQL a fresh schema of its own (named after the
   directory, so that tests running side by side do not share one). */
static void s_location(const char *name, char *location, size_t len)
{
    if (!bh_postgresql()) {
        cr_assert_lt((size_t)snprintf(location, len, "%s/%s.db", s_dir, name), len);
        return;
    }
    /* mkdtemp's letters are mixed case; PostgreSQL folds names to lower
       case, so an upper-case letter becomes '_' and the letter. */
    char schema[64];
    size_t n = (size_t)snprintf(schema, sizeof schema, "aq_");
    for (const char *c = strrchr(s_dir, '-') + 1; *c && n + 3 < sizeof schema; c++) {
        if (*c >= 'A' && *c <= 'Z') {
            schema[n++] = '_';
            schema[n++] = (char)(*c - 'A' + 'a');
        } else
            schema[n++] = *c;
    }
    cr_assert_lt(n + 1 + strlen(name), sizeof schema);
    snprintf(schema + n, sizeof schema - n, "_%s", name);
    cr_assert_eq(pg_harness_schema(schema, location, len), 0, "schema %s", schema);
}

static db_t *s_open(const char *location)
{
    char err[512];
    db_t *db = db_open(location, DB_CREATE, err, sizeof err);
    cr_assert_not_null(db, "%s", err);
    return db;
}

/* Runs `sql` (statements without rows) on the store at `location`. */
static void s_exec(const char *location, const char *sql)
{
    db_t *db = s_open(location);
    cr_assert_eq(db_exec(db, sql), 0, "%s: %s", sql, db_errmsg(db));
    db_close(&db);
}

/* Appends `recs` to the store at `location` in one transaction, continuing
   its chain (a new store gets the tables). */
static void s_extend(const char *location, const rec_t *recs, size_t n)
{
    db_t *db = s_open(location);
    char err[512];
    audit_log_t *log = audit_log_open(db, "hartslag.test/audit", true, err, sizeof err);
    cr_assert_not_null(log, "%s", err);
    cr_assert_eq(db_begin(db), 0, "%s", db_errmsg(db));
    for (size_t i = 0; i < n; i++)
        s_append(log, &recs[i]);
    cr_assert_eq(db_commit(db), 0, "%s", db_errmsg(db));
    audit_log_commit(log);
    audit_log_destroy(&log);
    db_close(&db);
}

/* The story, the same bytes in every store it is written to. */
static void s_write_story(const char *location)
{
    db_t *db = s_open(location);
    char err[512];
    audit_log_t *log = audit_log_open(db, "hartslag.test/audit", true, err, sizeof err);
    cr_assert_not_null(log, "%s", err);
    cr_assert_eq(db_begin(db), 0, "%s", db_errmsg(db));
    int64_t t = T_MARCH + 9 * HOUR;
    const rec_t story[] = {
        /* A: politie -> gemeente about BSN_1, acked, later withdrawn. */
        {"accepted", t, "politie", "agent Jansen", "gemeente", NULL, ID_A, "overlast",
         "casusoverleg", s_p1, "adres,datum", "politie-overlast", LEGAL_TRICKY, "ok", NULL},
        {"delivered", t + 1000, "broker", NULL, "gemeente", "politie", ID_A, "overlast",
         "casusoverleg", s_p1, NULL, NULL, NULL, "ok", NULL},
        {"acked", t + 2000, "gemeente", "medewerker Pietersen", "politie", NULL, ID_A, "overlast",
         "casusoverleg", s_p1, NULL, NULL, NULL, "ok", NULL},
        /* B: gemeente -> welzijn about BSN_1, expired. */
        {"accepted", t + HOUR, "gemeente", "regisseur Bakker", "welzijn", NULL, ID_B, "zorgmelding",
         "zorgcoordinatie", s_p1, "datum,toelichting", "gemeente-zorg", "Wmo 2015 art. 5.2.1", "ok",
         NULL},
        /* C: politie -> welzijn about BSN_2. */
        {"accepted", t + 2 * HOUR, "politie", "agent De Vries", "welzijn", NULL, ID_C, "overlast",
         "casusoverleg", s_p2, "adres", "politie-overlast", "Wpg art. 19", "ok", NULL},
        {"delivered", t + 2 * HOUR + 1000, "broker", NULL, "welzijn", "politie", ID_C, "overlast",
         "casusoverleg", s_p2, NULL, NULL, NULL, "ok", NULL},
        {"acked", t + 2 * HOUR + 2000, "welzijn", "medewerker Smit", "politie", NULL, ID_C,
         "overlast", "casusoverleg", s_p2, NULL, NULL, NULL, "ok", NULL},
        /* D: politie -> woonpunt about BSN_1, denied. */
        {"denied", t + 3 * HOUR, "politie", "agent Jansen", "woonpunt", NULL, ID_D, "overlast",
         "casusoverleg", s_p1, "adres", NULL, NULL, "refused", "agreement:no_agreement"},
        /* An alert about BSN_1. */
        {"alert", t + 3 * HOUR + 5000, "broker", NULL, "gemeente", NULL, NULL, NULL, NULL, s_p1,
         NULL, NULL, NULL, "ok", "twee-afzenders"},
        /* E: about the address of BSN_1's home. */
        {"accepted", t + 4 * HOUR, "welzijn", "hulpverlener Claes", "gemeente", NULL, ID_E,
         "zorgmelding", "zorgcoordinatie", s_paddr, "datum", "welzijn-zorg", "Wmo 2015", "ok",
         NULL},
        /* Day 2: withdrawal of A, expiry of B; administration. */
        {"withdrawn", t + 24 * HOUR, "politie", NULL, "gemeente", NULL, ID_A, "overlast",
         "casusoverleg", s_p1, NULL, NULL, NULL, "ok", "unjustified"},
        {"expired", t + 25 * HOUR, "broker", NULL, "welzijn", "gemeente", ID_B, "zorgmelding",
         "zorgcoordinatie", s_p1, NULL, NULL, NULL, "refused", "max_queue_days"},
        {"auth_failed", t + 26 * HOUR, "broker", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, "refused", "unknown_key <script>alert(1)</script>"},
        {"partner_added", t + 27 * HOUR, "broker", NULL, "woonpunt", NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, "ok", NULL},
    };
    for (size_t i = 0; i < sizeof story / sizeof *story; i++)
        s_append(log, &story[i]);
    /* February, for stats: 7 politie -> gemeente overlast, 2 gemeente -> politie zorgmelding. */
    for (int i = 0; i < 9; i++) {
        const uint8_t *id = s_feb_ids[i], *subject = s_feb_subjects[i];
        bool zorg = i >= 7;
        rec_t r = {"accepted",
                   T_FEB + i * HOUR,
                   zorg ? "gemeente" : "politie",
                   "someone",
                   zorg ? "politie" : "gemeente",
                   NULL,
                   id,
                   zorg ? "zorgmelding" : "overlast",
                   zorg ? "zorgcoordinatie" : "casusoverleg",
                   subject,
                   "datum",
                   "x",
                   "y",
                   "ok",
                   NULL};
        s_append(log, &r);
    }
    cr_assert_eq(db_commit(db), 0, "%s", db_errmsg(db));
    audit_log_commit(log);
    /* A checkpoint, cosigned by politie only. */
    cr_assert_eq(db_begin(db), 0, "%s", db_errmsg(db));
    cr_assert_eq(audit_log_checkpoint(log, s_log_sk, T_MARCH + 30 * HOUR), 0);
    cr_assert_eq(db_commit(db), 0, "%s", db_errmsg(db));
    audit_log_commit(log);
    cr_assert_eq(db_begin(db), 0, "%s", db_errmsg(db));
    cr_assert_eq(audit_log_store_cosignature(log, audit_log_size(log), "politie",
                                             "\xe2\x80\x94 politie AAAA", T_MARCH + 31 * HOUR),
                 0);
    cr_assert_eq(db_commit(db), 0, "%s", db_errmsg(db));
    audit_log_destroy(&log);
    db_close(&db);
}

/* A new store `name` (its location in `location`) with the story, then
   `sql` (NULL: nothing) run on it: what a copy of the story's store,
   changed, was on SQLite alone. */
static void s_story_with(const char *name, char *location, size_t len, const char *sql)
{
    s_location(name, location, len);
    s_write_story(location);
    if (sql)
        s_exec(location, sql);
}

static void s_setup(void)
{
    tu_watchdog(60);
    cr_assert(sodium_init() >= 0);
    s_dir = tu_tmpdir();
    cr_assert_not_null(s_dir);
    s_location("broker", s_db, sizeof s_db);
    snprintf(s_officer, sizeof s_officer, "%s/officer.yaml", s_dir);
    snprintf(s_officer_open, sizeof s_officer_open, "%s/officer-open.yaml", s_dir);
    snprintf(s_partners, sizeof s_partners, "%s/certs", s_dir);
    /* The pseudonym service, with an officer it knows. The story's subjects
       are its pseudonyms, computed here from its key. */
    const char *orgs[] = {"gemeente", "politie"};
    s_svc = bh_new(orgs, 2, bh_default_agreements);
    cr_assert_not_null(s_svc);
    cr_assert_eq(bh_add_keys(s_svc, "fg-gemeente", CERT_ROLE_OFFICER), 0);
    cr_assert_eq(bh_service_start(s_svc, NULL), 0, "%s", bh_service_log(s_svc));
    cr_assert_eq(bh_service_pseudonym(s_svc, PSEUDONYM_BSN, BSN_1, s_p1), 0);
    cr_assert_eq(bh_service_pseudonym(s_svc, PSEUDONYM_BSN, BSN_2, s_p2), 0);
    cr_assert_eq(bh_service_pseudonym(s_svc, PSEUDONYM_ADDRESS, ADDRESS_1, s_paddr), 0);
    pseudonym_to_hex(s_p1, s_p1_hex);
    pseudonym_to_hex(s_p2, s_p2_hex);
    char text[16000], secret[4400];
    snprintf(text, sizeof text,
             "keys: %s/fg-gemeente.cert_secret\npseudonym_service: %s\n"
             "pseudonym_service_cert: %s\n",
             s_svc->keys, s_svc->service_endpoint, s_svc->service_cert);
    cr_assert_eq(tu_write_file(s_officer, text, 0600), 0);
    /* A copy of the officer's secret keys that others can read: refused. */
    snprintf(secret, sizeof secret, "%s/fg-gemeente.cert_secret", s_svc->keys);
    size_t len = 0;
    char *keys = tu_read_file(secret, &len);
    cr_assert_not_null(keys);
    snprintf(secret, sizeof secret, "%s/open.cert_secret", s_dir);
    cr_assert_eq(tu_write_file(secret, keys, 0644), 0);
    chmod(secret, 0644);
    free(keys);
    snprintf(text, sizeof text, "keys: %s\npseudonym_service: %s\npseudonym_service_cert: %s\n",
             secret, s_svc->service_endpoint, s_svc->service_cert);
    cr_assert_eq(tu_write_file(s_officer_open, text, 0600), 0);
    char err[512];
    crypto_sign_keypair(s_log_pk, s_log_sk);
    randombytes_buf(s_feb_ids, sizeof s_feb_ids);
    randombytes_buf(s_feb_subjects, sizeof s_feb_subjects);
    s_write_story(s_db);
    /* The broker's public certificate with that key. */
    snprintf(s_broker_cert, sizeof s_broker_cert, "%s/broker.cert", s_dir);
    cert_t cert;
    memset(&cert, 0, sizeof cert);
    snprintf(cert.org, sizeof cert.org, "broker");
    snprintf(cert.name, sizeof cert.name, "Hartslag broker");
    snprintf(cert.contact, sizeof cert.contact, "beheer@broker.example");
    cert.role = CERT_ROLE_BROKER;
    randombytes_buf(cert.curve_key, sizeof cert.curve_key);
    memcpy(cert.sign_key, s_log_pk, 32);
    cert.valid_from = 20000;
    cert.valid_until = 30000;
    cr_assert_eq(cert_save(&cert, s_broker_cert, err, sizeof err), 0, "%s", err);
}

static void s_teardown(void)
{
    bh_destroy(&s_svc);
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(audit_read, .init = s_setup, .fini = s_teardown);

/* query --json and the number of records in it. */
static size_t s_query_count(const char *opt1, const char *val1, const char *opt2, const char *val2,
                            char **json)
{
    char *out = NULL, *err = NULL;
    bool lookup = opt2 && strcmp(opt2, "--officer") == 0;
    int rc = HARTSLAG(&out, &err, "audit", "query", "--db", s_db, "--json", opt1, val1,
                      opt2 ? opt2 : "--limit", opt2 ? val2 : "1000", "--lookup-purpose",
                      lookup ? "audit_query" : "art15");
    size_t n = s_count(out, "{\"index\":");
    cr_assert_eq(rc, n > 0 ? 0 : 1, "rc %d for %s %s: %s", rc, opt1, val1, err);
    if (json)
        *json = out;
    else
        free(out);
    free(err);
    return n;
}

Test(audit_read, query_filters_by_event_org_type_purpose_and_signal)
{
    char *json = NULL;
    cr_assert_eq(s_query_count("--event", "denied", NULL, NULL, &json), 1);
    cr_assert(strstr(json, s_hex16(ID_D)), "%s", json);
    cr_assert(strstr(json, "\"reason\":\"agreement:no_agreement\""));
    free(json);
    cr_assert_eq(s_query_count("--event", "accepted", NULL, NULL, NULL), 4 + 9);
    /* welzijn: B accepted/expired, C accepted/delivered/acked, E accepted. */
    cr_assert_eq(s_query_count("--org", "welzijn", NULL, NULL, NULL), 6);
    /* on_behalf_of counts too: politie in A(3) C(3) D withdrawn(A) + 7 Feb + 2 Feb (recipient). */
    cr_assert_eq(s_query_count("--org", "politie", NULL, NULL, NULL), 3 + 3 + 1 + 1 + 9);
    cr_assert_eq(s_query_count("--type", "zorgmelding", NULL, NULL, NULL), 3 + 2);
    cr_assert_eq(s_query_count("--purpose", "casusoverleg", "--event", "acked", NULL), 2);
    cr_assert_eq(s_query_count("--signal", s_hex16(ID_A), NULL, NULL, &json), 4);
    cr_assert_eq(s_count(json, s_hex16(ID_A)), 4);
    free(json);
    /* Known values that match nothing together: "no records match". */
    cr_assert_eq(s_query_count("--event", "purged", "--org", "politie", NULL), 0);
    cr_assert_eq(s_query_count("--event", "accepted", "--limit", "3", NULL), 3);
}

/* Issue 13 E18: a typo in a filter is a usage error that names the nearest
   known value, not an empty answer. */
Test(audit_read, a_typo_in_a_filter_is_a_usage_error_with_did_you_mean)
{
    static const struct {
        const char *cmd, *opt, *value, *expect;
    } typos[] = {
        {"query", "--event", "acepted", "did you mean 'accepted'?"},
        {"query", "--event", "nothing_like_this", "unknown event 'nothing_like_this'"},
        {"query", "--type", "overlats", "did you mean 'overlast'?"},
        {"query", "--purpose", "casusoverlag", "did you mean 'casusoverleg'?"},
        {"query", "--org", "politei", "did you mean 'politie'?"},
        {"export", "--event", "withdrawm", "did you mean 'withdrawn'?"},
        {"export", "--org", "wijkteam", "'wijkteam' does not occur in this log"},
    };
    for (size_t i = 0; i < sizeof typos / sizeof *typos; i++) {
        char *out = NULL, *err = NULL;
        int rc = strcmp(typos[i].cmd, "export") == 0
                     ? HARTSLAG(&out, &err, "audit", "export", "--db", s_db, "--csv", typos[i].opt,
                                typos[i].value)
                     : HARTSLAG(&out, &err, "audit", "query", "--db", s_db, typos[i].opt,
                                typos[i].value);
        cr_assert_eq(rc, 2, "%s %s: rc %d, %s", typos[i].opt, typos[i].value, rc, err);
        cr_assert(strstr(err, typos[i].expect), "%s", err);
        cr_assert_str_eq(out, "", "nothing on stdout for a usage error: %s", out);
        free(out);
        free(err);
    }
    /* Every value is known, the combination matches nothing. */
    char *out = NULL, *err = NULL;
    int rc = HARTSLAG(&out, &err, "audit", "query", "--db", s_db, "--type", "zorgmelding", "--org",
                      "woonpunt");
    cr_assert_eq(rc, 1, "%s", err);
    cr_assert(strstr(out, "no records match"), "%s", out);
    free(out);
    free(err);
}

Test(audit_read, query_filters_by_time)
{
    /* March 1st only: A(3) B(1) C(3) D(1) alert(1) E(1). */
    cr_assert_eq(s_query_count("--from", "2026-03-01", "--to", "2026-03-01", NULL), 10);
    cr_assert_eq(s_query_count("--from", "2026-03-02", NULL, NULL, NULL), 4);
    cr_assert_eq(s_query_count("--to", "2026-02-28", NULL, NULL, NULL), 9);
    /* ISO with a zone: 10:00+01:00 is 09:00Z, A's accepted. */
    cr_assert_eq(
        s_query_count("--from", "2026-03-01T10:00:00+01:00", "--to", "2026-03-01T09:00:01Z", NULL),
        1);
    char *out = NULL, *err = NULL;
    cr_assert_eq(HARTSLAG(&out, &err, "audit", "query", "--db", s_db, "--from", "yesterday"), 2);
    cr_assert(strstr(err, "--from wants a date"), "%s", err);
    free(out);
    free(err);
}

Test(audit_read, query_by_subject_hex_and_by_bsn_never_prints_the_bsn)
{
    char *json = NULL;
    /* BSN_1: A(3) B(1) D(1) withdrawn(1) expired(1) alert(1) = 8. */
    cr_assert_eq(s_query_count("--subject", s_p1_hex, NULL, NULL, &json), 8);
    cr_assert_null(strstr(json, s_p2_hex));
    free(json);
    cr_assert_eq(s_query_count("--bsn", BSN_1, "--officer", s_officer, &json), 8);
    cr_assert_null(strstr(json, BSN_1));
    free(json);
    /* Spaces and dots in the BSN are fine; from stdin too. */
    cr_assert_eq(s_query_count("--bsn", "111.222.333", "--officer", s_officer, NULL), 8);
    char *out = NULL, *err = NULL;
    int rc = HARTSLAG_IN(BSN_2 "\n", &out, &err, "audit", "query", "--db", s_db, "--bsn", "-",
                         "--officer", s_officer, "--lookup-purpose", "audit_query", "--json");
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(s_count(out, "{\"index\":"), 3);
    cr_assert(strstr(out, s_p2_hex));
    cr_assert_null(strstr(out, BSN_2));
    free(out);
    free(err);
    /* The address form. */
    cr_assert_eq(s_query_count("--address", "6411ab 12-A", "--officer", s_officer, NULL), 1);
    /* Table output does not print the BSN either. */
    rc = HARTSLAG(&out, &err, "audit", "query", "--db", s_db, "--bsn", BSN_1, "--officer",
                  s_officer, "--lookup-purpose", "audit_query");
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, "8 records"), "%s", out);
    cr_assert_null(strstr(out, BSN_1));
    cr_assert_null(strstr(err, BSN_1));
    free(out);
    free(err);
    /* An invalid BSN: a usage error that does not echo it. */
    rc = HARTSLAG(&out, &err, "audit", "query", "--db", s_db, "--bsn", "111222334", "--officer",
                  s_officer, "--lookup-purpose", "audit_query");
    cr_assert_eq(rc, 2);
    cr_assert_null(strstr(err, "111222334"), "%s", err);
    cr_assert_null(strstr(out, "111222334"));
    free(out);
    free(err);
    /* Secret keys others can read are refused; the BSN is not in the message. */
    rc = HARTSLAG(&out, &err, "audit", "query", "--db", s_db, "--bsn", BSN_1, "--officer",
                  s_officer_open, "--lookup-purpose", "audit_query");
    cr_assert_eq(rc, 1);
    cr_assert_null(strstr(err, BSN_1));
    cr_assert(strlen(err) > 0);
    free(out);
    free(err);
    /* --bsn without an officer file is a usage error. */
    rc = HARTSLAG(&out, &err, "audit", "query", "--db", s_db, "--bsn", BSN_1, "--lookup-purpose",
                  "art15");
    cr_assert_eq(rc, 2);
    cr_assert(strstr(err, "--officer"), "%s", err);
    cr_assert_null(strstr(err, BSN_1));
    free(out);
    free(err);
}

Test(audit_read, export_csv_is_rfc4180_and_json_parses)
{
    char *out = NULL, *err = NULL;
    int rc = HARTSLAG(&out, &err, "audit", "export", "--db", s_db, "--csv");
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "\"Wpg art. 19, lid 1 \"\"b\"\"\""), "CSV quoting: %s", out);
    char *py = s_python("import csv,sys\n"
                        "rows=list(csv.DictReader(sys.stdin, lineterminator='\\r\\n'))\n"
                        "a=[r for r in rows if r['event']=='accepted' and "
                        "r['signal_id'].startswith('a1')][0]\n"
                        "print(len(rows))\n"
                        "print(a['legal_basis'])\n"
                        "print(a['fields'])\n"
                        "print(a['actor_user'])\n"
                        "print(len(a['prev_hash']), a['time'])\n",
                        out);
    cr_assert_str_eq(py,
                     "23\n" LEGAL_TRICKY "\nadres;datum\nagent Jansen\n64 "
                     "2026-03-01T09:00:00Z\n",
                     "%s", py);
    free(py);
    free(out);
    free(err);
    rc = HARTSLAG(&out, &err, "audit", "export", "--db", s_db, "--json", "--org", "woonpunt");
    cr_assert_eq(rc, 0, "%s", err);
    py = s_python("import json,sys\n"
                  "rows=json.load(sys.stdin)\n"
                  "print(len(rows))\n"
                  "print(rows[0]['event'], rows[0]['subject'], rows[0]['fields'])\n"
                  "print(rows[1]['event'], rows[1]['signal_id'], rows[1]['subject'])\n",
                  out);
    char expect[512];
    snprintf(expect, sizeof expect, "2\ndenied %s ['adres']\npartner_added None None\n", s_p1_hex);
    cr_assert_str_eq(py, expect);
    free(py);
    free(out);
    free(err);
    /* The tricky legal basis in JSON, and the hostile reason escaped. */
    rc = HARTSLAG(&out, &err, "audit", "export", "--db", s_db, "--json");
    cr_assert_eq(rc, 0);
    py = s_python("import json,sys\n"
                  "rows=json.load(sys.stdin)\n"
                  "print(len(rows))\n"
                  "print([r['legal_basis'] for r in rows if r['index']==0][0])\n",
                  out);
    cr_assert_str_eq(py, "23\n" LEGAL_TRICKY "\n");
    free(py);
    free(out);
    free(err);
    /* Empty export is still valid output. */
    rc = HARTSLAG(&out, &err, "audit", "export", "--db", s_db, "--json", "--event", "purged");
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(out, "[]\n");
    free(out);
    free(err);
    rc = HARTSLAG(&out, &err, "audit", "export", "--db", s_db);
    cr_assert_eq(rc, 2);
    cr_assert(strstr(err, "--csv or --json"));
    free(out);
    free(err);
}

/* Issue 13 E19: a formula in a recorded text (an old log, before sender_user
   was restricted) is exported as text, and `send` refuses one. */
Test(audit_read, csv_export_neutralises_formulas_and_send_refuses_them)
{
    char db_path[4400];
    s_location("formula", db_path, sizeof db_path);
    const char *formula = "=HYPERLINK(\"http://evil.example\",\"klik\")";
    rec_t r = {"accepted",  T_MARCH,    "politie",      formula, "gemeente", NULL,
               ID_A,        "overlast", "casusoverleg", s_p1,    "adres",    "politie-overlast",
               "+31 lid 2", "ok",       "@SUM(1)"};
    s_extend(db_path, &r, 1);
    char *out = NULL, *errtext = NULL;
    int rc = HARTSLAG(&out, &errtext, "audit", "export", "--db", db_path, "--csv");
    cr_assert_eq(rc, 0, "%s", errtext);
    char *py = s_python("import csv,sys\n"
                        "r=list(csv.DictReader(sys.stdin))[0]\n"
                        "print(r['actor_user']); print(r['legal_basis']); print(r['reason'])\n",
                        out);
    cr_assert_str_eq(py, "'=HYPERLINK(\"http://evil.example\",\"klik\")\n'+31 lid 2\n'@SUM(1)\n",
                     "%s", py);
    free(py);
    free(out);
    free(errtext);
    /* JSON stays exact. */
    rc = HARTSLAG(&out, &errtext, "audit", "export", "--db", db_path, "--json");
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, "\"actor_user\":\"=HYPERLINK("), "%s", out);
    free(out);
    free(errtext);
    /* The sender refuses such a user id before anything is sent. */
    rc = HARTSLAG(&out, &errtext, "send", "--to", "gemeente", "--type", "overlast", "--purpose",
                  "casusoverleg", "--subject-bsn", BSN_1, "--field", "adres=x", "--user", formula,
                  "--state-dir", s_dir);
    cr_assert_eq(rc, 2, "%s", errtext);
    cr_assert(strstr(errtext, "starting with a letter or a digit"), "%s", errtext);
    cr_assert_null(strstr(errtext, "HYPERLINK"), "the value is not echoed: %s", errtext);
    free(out);
    free(errtext);
}

/* The report as a page (caller frees); `rc` of the run. */
static char *s_report(const char *db, const char *html, int *rc, char **err, ...)
{
    char *argv[24] = {
        (char *)tu_bin("hartslag"), "audit", "report", "--db", (char *)db, "--html", (char *)html};
    va_list args;
    va_start(args, err);
    for (int i = 7; i < 23 && (argv[i] = va_arg(args, char *)) != NULL; i++)
        ;
    va_end(args);
    char *out = NULL;
    remove(html);
    *rc = tu_run(argv, NULL, &out, err);
    free(out);
    return *rc == 0 ? tu_read_file(html, NULL) : NULL;
}

/* Issue 13 E16: a report an officer can hand to the supervisory authority. */
Test(audit_read, report_shows_the_verdict_fingerprint_period_and_words)
{
    char copy[4400], html[4400];
    snprintf(html, sizeof html, "%s/authority.html", s_dir);
    s_story_with("more", copy, sizeof copy, NULL);
    int64_t t = T_MARCH + 30 * HOUR;
    const rec_t more[] = {
        {"alert", t, "broker", NULL, "gemeente", NULL, ID_E, NULL, NULL, s_p2, NULL,
         "twee-afzenders", NULL, "ok", "joined:welzijn"},
        {"agreements_loaded", t + 1000, "broker", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         "", NULL, "ok", NULL},
        {"denied", t + 2000, "politie", "agent Jansen", "gemeente", NULL, ID_C, "overlast",
         "casusoverleg", s_p2, "adres", NULL, NULL, "refused", "agreement:allowed"},
    };
    s_extend(copy, more, 3);
    char *err = NULL;
    int rc;
    char *page = s_report(copy, html, &rc, &err, "--broker-cert", s_broker_cert, (char *)NULL);
    cr_assert_eq(rc, 0, "%s", err);
    free(err);
    /* The verdict first, with the fingerprint hartslag keys shows. */
    char *verdict = strstr(page, "id=\"verdict-ok\"");
    cr_assert_not_null(verdict, "%s", page);
    cr_assert_lt(verdict - page, strstr(page, "id=\"summary\"") - page);
    char *out = NULL;
    cr_assert_eq(HARTSLAG(&out, &err, "keys", "show", s_broker_cert), 0, "%s", err);
    char *fp = strstr(out, "fingerprint:");
    cr_assert_not_null(fp, "%s", out);
    fp += strlen("fingerprint:");
    while (*fp == ' ')
        fp++;
    fp[strcspn(fp, "\n")] = '\0';
    cr_assert_eq(strlen(fp), 39, "%s", fp);
    char want[128];
    snprintf(want, sizeof want, "id=\"fingerprint\"><code>%s</code>", fp);
    cr_assert(strstr(page, want), "fingerprint %s not in the report", fp);
    free(out);
    free(err);
    /* Per agreement and legal basis. */
    cr_assert(strstr(page, "id=\"bases\""));
    cr_assert(strstr(page, "<td>politie-overlast</td><td>Wpg art. 19, lid 1 &quot;b&quot;</td>"
                           "<td class=\"num\">1</td>"),
              "%s", page);
    /* Readable rows: no tokens as text; versions on agreements_loaded. */
    cr_assert_null(strstr(page, "joined:welzijn"));
    cr_assert(strstr(page, "welzijn deed ook een signaal"));
    cr_assert(strstr(page, "versie (version) 3"));
    cr_assert_null(strstr(page, "agreement:allowed"));
    cr_assert(strstr(page, "id=\"other-denied\">Daarnaast 1 keer"));
    cr_assert(strstr(page, "er is geen afspraak tussen afzender en ontvanger"));
    /* Local time: the alert of 12:00:05Z on 1 March is 13:00 CET. */
    cr_assert(strstr(page, "2026-03-01 13:00 CET"), "local time");
    cr_assert_null(strstr(page, "(UTC)"));
    free(page);

    /* A period: only March 2nd. */
    page =
        s_report(copy, html, &rc, &err, "--from", "2026-03-02", "--to", "2026-03-02", (char *)NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(page, "id=\"period\">Periode (period): vanaf 2026-03-02 01:00 CET tot "
                           "2026-03-03 01:00 CET"),
              "%s", page);
    cr_assert(strstr(page, "<p>7 records van"), "4 of the story and 3 more");
    cr_assert(strstr(page, "id=\"verdict-unverified\""));
    free(page);
    free(err);

    /* A truncated copy: a prominent warning, not "not yet covered 0". */
    char cut[4400];
    s_story_with("cut", cut, sizeof cut,
                 "DELETE FROM audit WHERE idx >= 20; DELETE FROM audit_subjects WHERE idx >= 20");
    page = s_report(cut, html, &rc, &err, (char *)NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(err, "incomplete: 3 records"), "%s", err);
    cr_assert(strstr(page, "id=\"verdict-truncated\">WAARSCHUWING: deze kopie is ONVOLLEDIG — er "
                           "ontbreken 3 records"),
              "%s", page);
    cr_assert_null(strstr(page, "(not yet covered)</th><td>0</td>"));
    free(page);
    free(err);
    page = s_report(cut, html, &rc, &err, "--broker-cert", s_broker_cert, (char *)NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(page, "id=\"verdict-fault\""), "%s", page);
    cr_assert(strstr(page, "truncated"));
    free(page);
    free(err);

    /* stats over a period. */
    cr_assert_eq(
        HARTSLAG(&out, &err, "audit", "stats", "--db", s_db, "--from", "2026-03-01", "--json"), 0,
        "%s", err);
    cr_assert_null(strstr(out, "2026-02"), "%s", out);
    cr_assert(strstr(out, "2026-03"));
    free(out);
    free(err);
}

/* stdout and exit code of `hartslag audit CMD --db DB OPT VAL [MORE]`. */
static char *s_answer(const char *cmd, const char *db, const char *opt, const char *val,
                      const char *more, int *rc)
{
    char *out = NULL, *err = NULL;
    *rc = more ? HARTSLAG(&out, &err, "audit", cmd, "--db", db, opt, val, more)
               : HARTSLAG(&out, &err, "audit", cmd, "--db", db, opt, val);
    free(err);
    return out;
}

Test(audit_read, subject_lookups_through_the_index_equal_the_full_walk)
{
    /* The story's store has the subject index (written on append); a copy
       without it is what an older broker left, and the tools then walk
       every record: the oracle. */
    char walk_db[4400], short_db[4400];
    s_story_with("walk", walk_db, sizeof walk_db, "DROP TABLE audit_subjects");
    uint8_t nobody[32];
    randombytes_buf(nobody, sizeof nobody);
    char paddr_hex[65], nobody_hex[65];
    pseudonym_to_hex(s_paddr, paddr_hex);
    pseudonym_to_hex(nobody, nobody_hex);
    const char *subjects[] = {s_p1_hex, s_p2_hex, paddr_hex, nobody_hex};
    static const struct {
        const char *cmd, *more;
    } runs[] = {{"query", NULL}, {"query", "--json"}, {"export", "--csv"}, {"subject", "--json"}};
    for (size_t s = 0; s < sizeof subjects / sizeof *subjects; s++)
        for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
            int rc_index, rc_walk;
            char *by_index =
                s_answer(runs[r].cmd, s_db, "--subject", subjects[s], runs[r].more, &rc_index);
            char *by_walk =
                s_answer(runs[r].cmd, walk_db, "--subject", subjects[s], runs[r].more, &rc_walk);
            cr_assert_eq(rc_index, rc_walk, "%s %s", runs[r].cmd, runs[r].more);
            cr_assert_str_eq(by_index, by_walk, "%s %s of subject %zu", runs[r].cmd,
                             runs[r].more ? runs[r].more : "", s);
            cr_assert_null(strstr(by_index, "usage:"));
            free(by_index);
            free(by_walk);
        }
    /* An index that misses one of BSN_1's rows gives another answer: the
       comparison above would have caught it (and verify names it). */
    char sql[300];
    snprintf(sql, sizeof sql,
             "DELETE FROM audit_subjects WHERE idx = (SELECT min(idx) FROM audit_subjects "
             "WHERE tag = %lld)",
             (long long)audit_subject_tag(s_p1));
    s_story_with("short", short_db, sizeof short_db, sql);
    int rc_short, rc_full;
    char *by_short = s_answer("query", short_db, "--subject", s_p1_hex, "--json", &rc_short);
    char *by_full = s_answer("query", walk_db, "--subject", s_p1_hex, "--json", &rc_full);
    cr_assert_eq(s_count(by_full, "{\"index\":"), 8);
    cr_assert_eq(s_count(by_short, "{\"index\":"), 7);
    cr_assert_str_neq(by_short, by_full);
    free(by_short);
    free(by_full);
}

Test(audit_read, subject_lists_exactly_this_persons_exchanges_without_employee_names)
{
    char *out = NULL, *err = NULL;
    int rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--bsn", BSN_1, "--officer",
                      s_officer);
    cr_assert_eq(rc, 0, "%s", err);
    /* Dutch by default. */
    cr_assert(strstr(out, "AVG artikel 15"), "%s", out);
    cr_assert(strstr(out, "Verstuurd door:"));
    cr_assert(strstr(out, LEGAL_TRICKY));
    cr_assert(strstr(out, "Wmo 2015 art. 5.2.1"));
    cr_assert(strstr(out, "ingetrokken door de afzender op 2 maart 2026"), "%s", out);
    cr_assert(strstr(out, "verlopen zonder aflevering op 2 maart 2026"));
    cr_assert(strstr(out, "niet verstuurd, geweigerd op"), "%s", out);
    cr_assert(strstr(out, "twee-afzenders"));
    cr_assert(strstr(out, s_hex16(ID_A)));
    cr_assert(strstr(out, s_hex16(ID_B)));
    cr_assert(strstr(out, s_hex16(ID_D)));
    /* Not: another citizen's signal, the address-only signal, employees, the BSN. */
    cr_assert_null(strstr(out, s_hex16(ID_C)));
    cr_assert_null(strstr(out, s_hex16(ID_E)));
    const char *never[] = {"Jansen", "Pietersen", "Bakker", "De Vries",
                           "Smit",   "Claes",     BSN_1,    s_p2_hex};
    for (size_t i = 0; i < sizeof never / sizeof *never; i++) {
        cr_assert_null(strstr(out, never[i]), "'%s' in the answer:\n%s", never[i], out);
        cr_assert_null(strstr(err, never[i]));
    }
    free(out);
    free(err);

    /* JSON, English, parsed. */
    rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--bsn", BSN_1, "--officer",
                  s_officer, "--json");
    cr_assert_eq(rc, 0, "%s", err);
    for (size_t i = 0; i < sizeof never / sizeof *never; i++)
        cr_assert_null(strstr(out, never[i]), "'%s' in the JSON answer", never[i]);
    char *py = s_python(
        "import json,sys\n"
        "a=json.load(sys.stdin)\n"
        "print(len(a['signals']), len(a['alerts']))\n"
        "for s in a['signals']:\n"
        "  r=s['recipients'][0]\n"
        "  print(s['signal_id'][:2], s['sender'], r['org'], s['signal_type'], s['purpose'],\n"
        "        r['legal_basis'], r['withdrawn'], r['expired'], r['denied_reason'], "
        "s['fields'])\n",
        out);
    cr_assert_str_eq(py,
                     "3 1\n"
                     "a1 politie gemeente overlast casusoverleg " LEGAL_TRICKY
                     " 2026-03-02T09:00:00Z None None ['adres', 'datum']\n"
                     "b2 gemeente welzijn zorgmelding zorgcoordinatie Wmo 2015 art. 5.2.1 None "
                     "2026-03-02T10:00:00Z None ['datum', 'toelichting']\n"
                     "d4 politie woonpunt overlast casusoverleg None None None "
                     "agreement:no_agreement ['adres']\n",
                     "%s", py);
    free(py);
    free(out);
    free(err);

    rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--subject", s_p1_hex, "--lang",
                  "en");
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "GDPR article 15"));
    cr_assert(strstr(out, "withdrawn by the sender on 2 March 2026"), "%s", out);
    free(out);
    free(err);

    /* The address finds only E. */
    rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--address", ADDRESS_1, "--officer",
                  s_officer, "--lang", "en");
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, s_hex16(ID_E)));
    cr_assert_null(strstr(out, "Claes"));
    cr_assert_null(strstr(out, "6411"));
    free(out);
    free(err);

    /* Nobody: exit 1 with a clear answer. */
    uint8_t nobody[32] = {0};
    char nobody_hex[65];
    pseudonym_to_hex(nobody, nobody_hex);
    rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--subject", nobody_hex);
    cr_assert_eq(rc, 1);
    cr_assert(strstr(out, "geen signalen over u"), "%s", out);
    free(out);
    free(err);
}

/* Issue 13 E17: the art. 15 letter is complete, in words, in local time. */
Test(audit_read, subject_letter_is_complete_and_warns)
{
    char agreements[4400];
    snprintf(agreements, sizeof agreements, "%s/agreements.yaml", s_dir);
    cr_assert_eq(tu_write_file(agreements, bh_default_agreements, 0600), 0);
    cr_assert_eq(mkdir(s_partners, 0700), 0);
    const char *certs[][3] = {{"politie", "Politie Limburg", "p@politie.example"},
                              {"gemeente", "Gemeente Heerlen", "fg@gemeente.example"}};
    char *out = NULL, *err = NULL;
    for (size_t i = 0; i < 2; i++) {
        cr_assert_eq(HARTSLAG(&out, &err, "keys", "init", "--org", certs[i][0], "--name",
                              certs[i][1], "--role", "partner", "--contact", certs[i][2], "--out",
                              s_partners),
                     0, "%s", err);
        free(out);
        free(err);
    }
    int rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--bsn", BSN_1, "--officer",
                      s_officer, "--partners", s_partners, "--agreements", agreements,
                      "--broker-cert", s_broker_cert);
    cr_assert_eq(rc, 0, "%s", err);
    const char *want[] = {
        "Er zijn 3 signalen over u vastgelegd; 2 keer",
        "bewaartermijn: de ontvanger bewaart het ten hoogste 180 dagen",
        "bewaartermijn: de ontvanger bewaart het ten hoogste 90 dagen",
        "  - Politie Limburg (politie): p@politie.example",
        "  - Gemeente Heerlen (gemeente): fg@gemeente.example",
        "  - woonpunt: (hier niet bekend",
        "ingetrokken door de afzender op 2 maart 2026, 10:00 (reden: onterecht verstuurd)",
        "(reden: er is geen afspraak tussen afzender en ontvanger)",
        "doorgegeven via het uitwisselsysteem op 1 maart 2026, 10:00",
        "rectificatie, AVG art. 16",
        "te wissen (art. 17)",
        "te beperken (art. 18)",
        "Autoriteit Persoonsgegevens",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        cr_assert(strstr(out, want[i]), "missing '%s' in:\n%s", want[i], out);
    const char *never[] = {"UTC",    "agreement:", "unjustified", "broker", "signaal/signalen",
                           "LET OP", "CONTROLEER"};
    for (size_t i = 0; i < sizeof never / sizeof *never; i++)
        cr_assert_null(strstr(out, never[i]), "'%s' in:\n%s", never[i], out);
    free(out);
    free(err);

    /* English. */
    rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--subject", s_p1_hex, "--lang",
                  "en", "--partners", s_partners, "--agreements", agreements, "--broker-cert",
                  s_broker_cert);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "3 signals about you were recorded; they were passed on to a partner "
                          "2 times"),
              "%s", out);
    cr_assert(strstr(out, "retention: the recipient keeps it at most 180 days"));
    cr_assert(strstr(out, "withdrawn by the sender on 2 March 2026, 10:00 (reason: sent without "
                          "justification)"),
              "%s", out);
    cr_assert(strstr(out, "Dutch Data Protection Authority (Autoriteit Persoonsgegevens"));
    free(out);
    free(err);

    /* One signal: singular. */
    rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--subject", s_p2_hex,
                  "--broker-cert", s_broker_cert);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "Er is 1 signaal over u vastgelegd; 1 keer"), "%s", out);
    cr_assert(strstr(out, "bewaartermijn: hier niet bekend"), "no --agreements: %s", out);
    cr_assert(strstr(err, "no --agreements"), "%s", err);
    free(out);
    free(err);

    /* Nobody: no "genoemde organisaties", but the rights. */
    uint8_t nobody[32] = {0};
    char nobody_hex[65];
    pseudonym_to_hex(nobody, nobody_hex);
    rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--subject", nobody_hex,
                  "--broker-cert", s_broker_cert);
    cr_assert_eq(rc, 1);
    cr_assert_null(strstr(out, "genoemde organisaties"), "%s", out);
    cr_assert(strstr(out, "Autoriteit Persoonsgegevens"));
    free(out);
    free(err);

    /* Not verified, or a truncated copy: said in the letter itself. */
    rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--subject", s_p1_hex);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "LET OP: het logboek is niet gecontroleerd"), "%s", out);
    free(out);
    free(err);
    char cut[4400];
    s_story_with("cut", cut, sizeof cut,
                 "DELETE FROM audit WHERE idx >= 20; DELETE FROM audit_subjects WHERE idx >= 20");
    rc = HARTSLAG(&out, &err, "audit", "subject", "--db", cut, "--subject", s_p1_hex,
                  "--broker-cert", s_broker_cert);
    cr_assert(strstr(out, "LET OP: de kopie van het logboek waaruit dit antwoord is gemaakt is "
                          "onvolledig (er ontbreken 3 regels)"),
              "%s", out);
    cr_assert(strstr(out, "LET OP: het logboek klopt niet bij controle (truncated)"), "%s", out);
    free(out);
    free(err);

    /* By address: the officer is told to check every entry. */
    rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--address", ADDRESS_1, "--officer",
                  s_officer, "--broker-cert", s_broker_cert);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "CONTROLEER VOOR VERZENDING"), "%s", out);
    cr_assert(strstr(out, "medebewoners of eerdere bewoners"));
    cr_assert(strstr(err, "co-residents or earlier residents"), "%s", err);
    cr_assert_null(strstr(out, "6411"));
    free(out);
    free(err);
}

Test(audit_read, subject_uses_partner_names_when_given)
{
    cr_assert_eq(mkdir(s_partners, 0700), 0);
    char *out = NULL, *err = NULL;
    int rc = HARTSLAG(&out, &err, "keys", "init", "--org", "politie", "--name",
                      "Politie Limburg <basisteam>", "--role", "partner", "--contact",
                      "p@politie.example", "--out", s_partners);
    cr_assert_eq(rc, 0, "%s", err);
    free(out);
    free(err);
    rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--subject", s_p1_hex, "--partners",
                  s_partners);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "Politie Limburg <basisteam> (politie)"), "%s", out);
    cr_assert(strstr(out, "gemeente"));
    free(out);
    free(err);
}

Test(audit_read, stats_suppresses_small_counts)
{
    char *out = NULL, *err = NULL;
    int rc = HARTSLAG(&out, &err, "audit", "stats", "--db", s_db, "--by", "month", "--json");
    cr_assert_eq(rc, 0, "%s", err);
    char *py = s_python("import json,sys\n"
                        "d=json.load(sys.stdin)\n"
                        "c={(r['month'],r['dimension'],r['value']):r['count'] for r in d['rows']}\n"
                        "for k in [('2026-02','event','accepted'),('2026-02','type','overlast'),\n"
                        "          ('2026-02','type','zorgmelding'),('2026-02','pair','politie -> "
                        "gemeente'),\n"
                        "          ('2026-03','event','accepted'),('2026-03','event','denied')]:\n"
                        "  print(c.get(k))\n"
                        "print(all(v=='<5' or v=='x' or v>=5 for v in c.values()))\n",
                        out);
    cr_assert_str_eq(py, "9\nx\n<5\nx\n<5\n<5\nTrue\n", "%s", py);
    free(py);
    free(out);
    free(err);
    rc = HARTSLAG(&out, &err, "audit", "stats", "--db", s_db, "--by", "month");
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "2026-02  event    accepted"), "%s", out);
    cr_assert(strstr(out, "<5"));
    free(out);
    free(err);
    rc = HARTSLAG(&out, &err, "audit", "stats", "--db", s_db, "--by", "year");
    cr_assert_eq(rc, 2);
    free(out);
    free(err);
}

Test(audit_read, report_is_self_contained_and_escaped)
{
    char html[4300];
    snprintf(html, sizeof html, "%s/report.html", s_dir);
    char *out = NULL, *err = NULL;
    int rc = HARTSLAG(&out, &err, "audit", "report", "--db", s_db, "--html", html);
    cr_assert_eq(rc, 0, "%s", err);
    free(out);
    free(err);
    char *page = tu_read_file(html, NULL);
    cr_assert_not_null(page);
    const char *ids[] = {"id=\"exchanges\"",   "id=\"purposes\"", "id=\"denials\"",
                         "id=\"withdrawals\"", "id=\"alerts\"",   "id=\"checkpoints\""};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        cr_assert(strstr(page, ids[i]), "missing %s", ids[i]);
    cr_assert(strstr(page, "<svg"));
    cr_assert_null(strstr(page, "<script"));
    cr_assert_null(strstr(page, "http://"));
    cr_assert_null(strstr(page, "https://"));
    /* A hostile reason is shown neither raw nor as markup (cleaned to a token). */
    cr_assert(strstr(page, "unknown_key??script?alert?1???script?"), "%s", page);
    cr_assert(strstr(page, "politie -&gt; gemeente"));
    cr_assert(strstr(page, "agreement:no_agreement"));
    cr_assert_null(strstr(page, "Jansen"));
    cr_assert_null(strstr(page, s_p1_hex));
    cr_assert(strstr(page, "class=\"cosigned\"><td>politie"), "cosigner row");
    free(page);
}

#define PG_PASSWORD "Geheim-w8woord" /* in a location; never in a message */

/* What the store at `location` holds, to see that a tool wrote nothing:
   the SQLite file's bytes, or a pg_dump of the PostgreSQL schema (its
   tables and rows). Caller frees. */
static char *s_store_bytes(const char *location, size_t *len)
{
    if (!bh_postgresql()) {
        char *bytes = tu_read_file(location, len);
        cr_assert_not_null(bytes);
        return bytes;
    }
    const char *at = strstr(location, "search_path%3D");
    cr_assert_not_null(at, "%s", location);
    char schema[128], base[512];
    snprintf(schema, sizeof schema, "%.*s", (int)strcspn(at + 14, "&"), at + 14);
    snprintf(base, sizeof base, "%.*s", (int)strcspn(location, "?"), location);
    char *argv[] = {"/usr/bin/pg_dump", "-d", base, "-n", schema, NULL};
    char *out = NULL, *err = NULL;
    int rc = tu_run(argv, NULL, &out, &err);
    cr_assert_eq(rc, 0, "pg_dump: %s", err);
    free(err);
    cr_assert(strstr(out, "CREATE TABLE"), "%s", out);
    /* pg_dump (15.14 on) fences its output with \restrict KEY and
       \unrestrict KEY, a random KEY each run: not the store's. */
    char *keep = out;
    for (char *line = out; *line;) {
        size_t n = strcspn(line, "\n");
        bool fence =
            strncmp(line, "\\restrict ", 10) == 0 || strncmp(line, "\\unrestrict ", 12) == 0;
        if (!fence) {
            memmove(keep, line, n);
            keep += n;
            if (line[n])
                *keep++ = '\n';
        }
        line += n + (line[n] ? 1 : 0);
    }
    *keep = '\0';
    *len = strlen(out);
    return out;
}

Test(audit_read, errors_are_clear_and_exit_codes_hold)
{
    const char *commands[] = {"query", "export", "subject", "report", "stats"};
    for (size_t i = 0; i < 5; i++) {
        char *out = NULL, *err = NULL;
        cr_assert_eq(HARTSLAG(&out, &err, "audit", commands[i], "--help"), 0);
        cr_assert(strstr(out, "usage: hartslag audit"), "%s", out);
        free(out);
        free(err);
        cr_assert_eq(HARTSLAG(&out, &err, "audit", commands[i], "--no-such-option"), 2);
        free(out);
        free(err);
    }
    char missing[4300], html[4300];
    snprintf(html, sizeof html, "%s/r.html", s_dir);
    char *out = NULL, *err = NULL;
    int rc;
    /* A PostgreSQL server nobody answers on (in both runs: it needs no
       server): every audit tool says it cannot open the store and names
       it, but never with the password the location holds. */
    int port = pg_harness_free_port();
    cr_assert_gt(port, 0);
    char server[512], shown[512];
    snprintf(server, sizeof server,
             "postgresql://hartslag:" PG_PASSWORD "@127.0.0.1:%d/hartslag?connect_timeout=5", port);
    snprintf(shown, sizeof shown, "postgresql://hartslag:***@127.0.0.1:%d/hartslag", port);
    const char *tools[][8] = {
        {"audit", "query", "--db", server, NULL},
        {"audit", "export", "--csv", "--db", server, NULL},
        {"audit", "subject", "--subject", s_p1_hex, "--db", server, NULL},
        {"audit", "report", "--html", html, "--db", server, NULL},
        {"audit", "stats", "--db", server, NULL},
        {"audit", "verify", "--broker-cert", s_broker_cert, "--db", server, NULL},
        {"audit", "checkpoints", "--list", "--db", server, NULL},
        {"audit", "prove", "--record", "0", "--db", server, NULL},
    };
    for (size_t i = 0; i < sizeof tools / sizeof *tools; i++) {
        char *argv[10] = {(char *)tu_bin("hartslag")};
        for (int j = 0; tools[i][j]; j++)
            argv[j + 1] = (char *)tools[i][j];
        rc = tu_run(argv, NULL, &out, &err);
        cr_assert_eq(rc, 1, "%s: rc %d, %s", tools[i][1], rc, err);
        cr_assert(strstr(err, "cannot "), "%s", err);
        cr_assert(strstr(err, shown), "%s: %s", tools[i][1], err);
        /* The hint fits the location: a server, not a file copy. */
        cr_assert(strstr(err, "store: location from broker.yaml"), "%s", err);
        cr_assert_null(strstr(err, "state_dir/broker.db"), "%s", err);
        cr_assert_null(strstr(err, PG_PASSWORD), "%s: %s", tools[i][1], err);
        cr_assert_null(strstr(out, PG_PASSWORD), "%s: %s", tools[i][1], out);
        free(out);
        free(err);
    }
    /* A store that is not an audit store: on SQLite a path with no file,
       then a file that is not a database; on PostgreSQL (no files) a schema
       without the audit tables. */
    if (!bh_postgresql()) {
        snprintf(missing, sizeof missing, "%s/nope.db", s_dir);
        rc = HARTSLAG(&out, &err, "audit", "query", "--db", missing);
        cr_assert_eq(rc, 1);
        cr_assert(strstr(err, "cannot open"), "%s", err);
        cr_assert(strstr(err, "state_dir/broker.db"), "%s", err);
        free(out);
        free(err);
        /* Not a database at all. */
        cr_assert_eq(tu_write_file(missing, "hello, I am not SQLite\n", 0600), 0);
    } else {
        /* A schema that holds no audit log at all. */
        s_location("empty", missing, sizeof missing);
    }
    const char *cmds[][8] = {
        {"audit", "query", "--db", missing, NULL},
        {"audit", "export", "--csv", "--db", missing, NULL},
        {"audit", "subject", "--subject", s_p1_hex, "--db", missing, NULL},
        {"audit", "report", "--html", html, "--db", missing, NULL},
        {"audit", "stats", "--db", missing, NULL},
    };
    for (size_t i = 0; i < 5; i++) {
        char *argv[10] = {(char *)tu_bin("hartslag")};
        for (int j = 0; cmds[i][j]; j++)
            argv[j + 1] = (char *)cmds[i][j];
        rc = tu_run(argv, NULL, &out, &err);
        cr_assert_eq(rc, 1, "%s: rc %d", cmds[i][1], rc);
        cr_assert(strstr(err, "cannot open"), "%s", err);
        if (bh_postgresql())
            cr_assert(strstr(err, "holds no audit log"), "%s", err);
        free(out);
        free(err);
    }
    cr_assert_eq(access(html, F_OK), -1, "no report from a bad store");
    /* The store is never written: its bytes are unchanged after every tool. */
    size_t before_len = 0, after_len = 0;
    char *before = s_store_bytes(s_db, &before_len);
    rc = HARTSLAG(&out, &err, "audit", "query", "--db", s_db);
    free(out);
    free(err);
    char *after = s_store_bytes(s_db, &after_len);
    cr_assert_eq(before_len, after_len);
    cr_assert_eq(memcmp(before, after, before_len), 0);
    free(before);
    free(after);
    /* No --db */
    cr_assert_eq(HARTSLAG(&out, &err, "audit", "query"), 2);
    cr_assert(strstr(err, "--db"));
    free(out);
    free(err);
}

/* ------------------------------------------------------------------------
   A real broker: records of a signal about a known BSN, found by query. */

static bh_t *s_bh;

static void s_broker_setup(void)
{
    tu_watchdog(60);
    s_setup();
    const char *orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};
    s_bh = bh_new(orgs, 4, bh_default_agreements);
    cr_assert_not_null(s_bh);
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
}

static void s_broker_teardown(void)
{
    bh_destroy(&s_bh);
    s_teardown();
}

TestSuite(audit_broker, .init = s_broker_setup, .fini = s_broker_teardown);

/* Seals a signal from `client` to `to` about `subject` (bh_seal uses a
   random subject). */
static void s_seal_about(bh_client_t *client, const char *to, const char *type, const char *purpose,
                         const uint8_t subject[32], uint8_t **sealed, size_t *len, uint8_t id[16])
{
    char path[8600], err[600];
    snprintf(path, sizeof path, "%s/%s.cert", s_bh->certs, to);
    cert_t cert;
    cr_assert_eq(cert_load(path, &cert, err, sizeof err), 0, "%s", err);
    envelope_recipient_t recipient = {.org = to};
    memcpy(recipient.box_pk, cert.box_key, 32);
    envelope_field_t fields[] = {{"datum", "2026-03-01"}};
    envelope_draft_t draft;
    memset(&draft, 0, sizeof draft);
    draft.sender = client->org;
    draft.sender_user = "agent Jansen";
    draft.signal_type = type;
    draft.purpose = purpose;
    draft.agreements_version = 3;
    memcpy(draft.subject, subject, 32);
    draft.fields = fields;
    draft.n_fields = 1;
    draft.valid_until_ms = wire_now_ms() + 86400000ull * 30;
    draft.urgency = HARTSLAG__URGENCY__URGENCY_ROUTINE;
    envelope_keyring_t *ring = envelope_keyring_new(client->box_sk);
    envelope_sender_t sender = {client->sign_sk, ring};
    cr_assert_eq(envelope_seal(&draft, &sender, &recipient, 1, sealed, len, id, NULL), ENVELOPE_OK);
    envelope_keyring_destroy(&ring);
}

Test(audit_broker, query_finds_a_real_brokers_records_by_bsn)
{
    bh_client_t *politie = bh_client_new(s_bh, "politie", false);
    bh_client_t *gemeente = bh_client_new(s_bh, "gemeente", false);
    cr_assert_eq(bh_hello(politie), 0);
    cr_assert_eq(bh_hello(gemeente), 0);
    uint8_t *sealed = NULL, id[16];
    size_t len = 0;
    s_seal_about(politie, "gemeente", "overlast", "casusoverleg", s_p1, &sealed, &len, id);
    Hartslag__Frame *answer = bh_submit(politie, sealed, len, 5000);
    free(sealed);
    cr_assert_not_null(answer);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_ACCEPTED);
    hartslag__frame__free_unpacked(answer, NULL);
    Hartslag__Frame *deliver = bh_recv(gemeente, 5000);
    cr_assert_not_null(deliver);
    cr_assert_eq(deliver->body_case, HARTSLAG__FRAME__BODY_DELIVER);
    hartslag__frame__free_unpacked(deliver, NULL);
    cr_assert_eq(bh_ack(gemeente, id, true, NULL), 0);
    /* Another citizen, denied (no agreement politie -> woonpunt). */
    s_seal_about(politie, "woonpunt", "overlast", "casusoverleg", s_p2, &sealed, &len, id + 0);
    answer = bh_submit(politie, sealed, len, 5000);
    free(sealed);
    cr_assert_not_null(answer);
    cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_DENIED);
    hartslag__frame__free_unpacked(answer, NULL);
    usleep(500000);
    bh_client_destroy(&politie);
    bh_client_destroy(&gemeente);
    bh_stop(s_bh, SIGTERM);

    /* The broker's store: its file, or its schema on PostgreSQL. */
    char db[4300];
    if (bh_postgresql())
        snprintf(db, sizeof db, "%s", bh_store(s_bh));
    else
        snprintf(db, sizeof db, "%s/broker.db", s_bh->state);
    char *out = NULL, *err = NULL;
    int rc = HARTSLAG(&out, &err, "audit", "query", "--db", db, "--bsn", BSN_1, "--officer",
                      s_officer, "--lookup-purpose", "art15", "--json");
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(s_count(out, "\"event\":\"accepted\""), 1, "%s", out);
    cr_assert_eq(s_count(out, "\"event\":\"delivered\""), 1, "%s", out);
    cr_assert_eq(s_count(out, "\"event\":\"acked\""), 1, "%s", out);
    cr_assert(strstr(out, "\"legal_basis\":\"Wpg art. 19\""));
    cr_assert_null(strstr(out, "\"event\":\"denied\""));
    free(out);
    free(err);
    rc = HARTSLAG(&out, &err, "audit", "query", "--db", db, "--event", "denied", "--org",
                  "woonpunt", "--json");
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(s_count(out, "{\"index\":"), 1, "%s", out);
    cr_assert(strstr(out, s_p2_hex));
    free(out);
    free(err);
    rc = HARTSLAG(&out, &err, "audit", "subject", "--db", db, "--bsn", BSN_1, "--officer",
                  s_officer, "--partners", s_bh->certs);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "Wpg art. 19"), "%s", out);
    cr_assert(strstr(out, "ontvangen en opgeslagen op"), "%s", out);
    cr_assert_null(strstr(out, "Jansen"));
    cr_assert_null(strstr(out, "woonpunt"), "%s", out);
    free(out);
    free(err);
}
