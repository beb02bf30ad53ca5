/*  hartslag audit subject | stats --cases | report over case conference
    records (issue 15): the art. 15 letter tells the citizen which partners
    discussed them in a case conference, and the evaluation figures come out
    exactly as computed by hand, with small counts suppressed.

    The log is written straight through lib/audit_log (records as the broker
    writes them: broker/cases.c, broker/broker.c) into a SQLite store; the
    tools run as real processes. Times are in 2025, so every plan action's
    due date has passed except one set in 2099.

    The story: the coordinator gemeente opens seven cases C1..C7. C1..C6 are
    opened on 2 .. 7 March 2025 at 10:00 UTC; the first signal (or alert)
    about their subjects (an accepted or submitted signal, an alert) came
    1, 2, 3, 4, 10 and 20 days before (median 3.5, p90 20). They close after 30, 31, 32, 33, 34 and
   60 days (median 32.5, p90 60): five in April, one in May. C7 opens on 15 April with no signal
   before it and stays open. Outcomes: zorg_geregeld five times, overgedragen once. politie joins
   C1..C6, welzijn C1 and C2, woonpunt declines C1. One plan action per case, due 14 days after
   opening: done in time for C1..C4, late for C5, never for C6; C7's is due in 2099. */
#include "audit_log.h"
#include "db.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY 86400000LL
#define HOUR 3600000LL
#define T_C1 1740909600000LL /* 2025-03-02T10:00:00Z, C1 opened; C2..C6 a day apart */
#define T_C7 1744711200000LL /* 2025-04-15T10:00:00Z */
#define CASES 7

static char *s_dir;
static char s_db[4200];
static uint8_t s_subject[CASES][32];
static char s_subject_hex[CASES][65];
static uint8_t s_case[CASES][16];

/* One record of the story. */
typedef struct {
    int64_t time_ms;
    size_t seq; /* order of writing among records at the same time */
    const char *event, *actor, *user, *counterpart;
    int subject;       /* index into s_subject, -1: none */
    int case_no;       /* index into s_case, -1: none */
    const uint8_t *id; /* signal id, or NULL */
    const char *fields, *outcome_code, *meeting, *due, *state, *outcome, *reason;
    uint8_t item[16];
    bool has_item;
    const char *signal_type;   /* case_shared: what was said (case_share when NULL) */
    const uint8_t *reshare_of; /* case_shared: the earlier signal re-shared, or NULL */
} rec_t;

static rec_t s_recs[256];
static size_t s_n;

static rec_t *s_rec(int64_t t, const char *event, const char *actor, const char *counterpart,
                    int subject, int case_no)
{
    cr_assert_lt(s_n, sizeof s_recs / sizeof *s_recs);
    rec_t *r = &s_recs[s_n];
    memset(r, 0, sizeof *r);
    r->time_ms = t;
    r->seq = s_n++;
    r->event = event;
    r->actor = actor;
    r->counterpart = counterpart;
    r->subject = subject;
    r->case_no = case_no;
    r->outcome = "ok";
    return r;
}

static int s_cmp(const void *a, const void *b)
{
    const rec_t *x = a, *y = b;
    if (x->time_ms != y->time_ms)
        return x->time_ms < y->time_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void s_append(audit_log_t *log, const rec_t *r)
{
    Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
    record.time_ms = (uint64_t)r->time_ms;
    record.event = (char *)r->event;
    record.actor_org = (char *)r->actor;
    record.actor_user = (char *)r->user;
    record.counterpart_org = (char *)r->counterpart;
    record.outcome = (char *)r->outcome;
    record.reason = (char *)r->reason;
    if (r->subject >= 0) {
        record.has_subject = 1;
        record.subject.data = s_subject[r->subject];
        record.subject.len = 32;
    }
    if (r->case_no >= 0) {
        record.has_case_id = 1;
        record.case_id.data = s_case[r->case_no];
        record.case_id.len = 16;
        record.agreement_id = "zorg-en-veiligheid";
        record.purpose = "casusoverleg";
        record.legal_basis = "Wet verplichte ggz art. 8:28";
        record.has_agreements_version = 1;
        record.agreements_version = 4;
    } else if (strcmp(r->event, "accepted") == 0) {
        record.signal_type = "zorgmelding";
        record.purpose = "zorgcoordinatie";
        record.agreement_id = "politie-zorg";
        record.legal_basis = "Wpg art. 16";
    }
    if (r->id) {
        record.has_signal_id = 1;
        record.signal_id.data = (uint8_t *)r->id;
        record.signal_id.len = 16;
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
    record.case_outcome = (char *)r->outcome_code;
    record.meeting_date = (char *)r->meeting;
    record.due_date = (char *)r->due;
    record.case_action_state = (char *)r->state;
    if (r->case_no >= 0 && strcmp(r->event, "case_shared") == 0)
        record.signal_type = (char *)(r->signal_type ? r->signal_type : "case_share");
    if (r->reshare_of) {
        record.has_reshare_of = 1;
        record.reshare_of.data = (uint8_t *)r->reshare_of;
        record.reshare_of.len = 16;
    }
    if (r->has_item) {
        record.has_case_item = 1;
        record.case_item.data = (uint8_t *)r->item;
        record.case_item.len = 16;
    }
    cr_assert_geq(audit_log_append(log, &record), 0);
}

static const uint8_t ID_SHARE[16] = {0x5a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t ID_SIGNAL[16] = {0x51, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t ID_TITLE[16] = {0x71, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t ID_RESHARE[16] = {0x72, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static void s_date(int64_t ms, char *out)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static char s_due[CASES][11];

static void s_story(void)
{
    static const int lead_days[] = {1, 2, 3, 4, 10, 20};
    static const int open_days[] = {30, 31, 32, 33, 34, 60};
    for (int c = 0; c < CASES; c++) {
        int64_t opened = c < 6 ? T_C1 + c * DAY : T_C7;
        if (c < 6) {
            /* The first signal or alert about the subject; a later signal too. */
            int64_t first = opened - lead_days[c] * DAY;
            if (c == 4)
                s_rec(first, "alert", "broker", "gemeente", c, -1);
            else if (c == 3)
                s_rec(first, "submitted", "politie", NULL, c, -1)->id = ID_SIGNAL;
            else
                s_rec(first, "accepted", "politie", "gemeente", c, -1)->id = ID_SIGNAL;
            /* (C4's first is a submitted signal, passed on two days later.) */
            s_rec(first + (c == 3 ? 2 * DAY : HOUR), "accepted", "politie", "welzijn", c, -1)->id =
                ID_SIGNAL;
            /* Refused signals about another subject come earlier still. */
            s_rec(first - DAY, "denied", "politie", "woonpunt", CASES - 1 - c, -1)->id = ID_SIGNAL;
        }
        rec_t *r = s_rec(opened, "case_opened", "gemeente", NULL, c, c);
        r->user = "regisseur Bakker";
        s_rec(opened, "case_invited", "gemeente", "politie", c, c);
        if (c < 6)
            s_rec(opened + HOUR, "case_joined", "politie", "gemeente", c, c);
        if (c < 2) {
            s_rec(opened, "case_invited", "gemeente", "welzijn", c, c);
            s_rec(opened + 2 * HOUR, "case_joined", "welzijn", "gemeente", c, c);
        }
        if (c == 0) {
            s_rec(opened, "case_invited", "gemeente", "woonpunt", c, c);
            s_rec(opened + 3 * HOUR, "case_declined", "woonpunt", "gemeente", c, c);
            s_rec(opened + 4 * HOUR, "case_scheduled", "gemeente", NULL, c, c)->meeting =
                "2025-03-10";
            /* A share: a sealed signal whose records belong to the case. */
            s_rec(opened + 5 * HOUR, "submitted", "politie", NULL, c, -1)->id = ID_SHARE;
            for (int k = 0; k < 2; k++) {
                r = s_rec(opened + 5 * HOUR, "case_shared", "politie", k ? "gemeente" : "welzijn",
                          c, c);
                r->id = ID_SHARE;
                r->fields = "adres,zorgen";
                r->user = "agent Jansen";
            }
            s_rec(opened + 6 * HOUR, "delivered", "broker", "welzijn", c, -1)->id = ID_SHARE;
            /* The title, to politie once it joined; the share again, to
               welzijn (a re-share names the earlier signal). */
            r = s_rec(opened + HOUR + HOUR / 2, "case_shared", "gemeente", "politie", c, c);
            r->id = ID_TITLE;
            r->fields = "toelichting";
            r->signal_type = "case_title";
            r = s_rec(opened + 8 * HOUR, "case_shared", "politie", "welzijn", c, c);
            r->id = ID_RESHARE;
            r->fields = "adres,zorgen";
            r->reshare_of = ID_SHARE;
            s_rec(opened + 20 * DAY, "case_participant_removed", "gemeente", "welzijn", c, c);
            /* A refused close changes nothing and is not in the letter. */
            r = s_rec(opened + 29 * DAY, "case_closed", "gemeente", NULL, c, c);
            r->outcome = "refused";
            r->reason = "unknown_outcome";
            r->outcome_code = "bestaat_niet";
        }
        /* The plan: one action, owned by politie, due 14 days after opening. */
        int64_t due_ms = c < 6 ? opened + 14 * DAY : 4070908800000LL; /* 2099-01-01 */
        s_date(due_ms, s_due[c]);
        r = s_rec(opened + 7 * HOUR, "case_plan", "gemeente", "politie", c, c);
        r->due = s_due[c];
        r->has_item = true;
        randombytes_buf(r->item, 16);
        uint8_t item[16];
        memcpy(item, r->item, 16);
        int64_t done = c < 4 ? opened + 10 * DAY : c == 4 ? opened + 16 * DAY : 0;
        if (done) {
            r = s_rec(done, "case_action", "politie", NULL, c, c);
            r->state = "done";
            r->has_item = true;
            memcpy(r->item, item, 16);
        }
        if (c < 6) {
            r = s_rec(opened + open_days[c] * DAY, "case_closed", "gemeente", NULL, c, c);
            r->outcome_code = c < 5 ? "zorg_geregeld" : "overgedragen";
        }
    }
    qsort(s_recs, s_n, sizeof *s_recs, s_cmp);
    char err[512];
    db_t *db = db_open(s_db, DB_CREATE, err, sizeof err);
    cr_assert_not_null(db, "%s", err);
    audit_log_t *log = audit_log_open(db, "hartslag.test/cases", true, err, sizeof err);
    cr_assert_not_null(log, "%s", err);
    cr_assert_eq(db_begin(db), 0, "%s", db_errmsg(db));
    for (size_t i = 0; i < s_n; i++)
        s_append(log, &s_recs[i]);
    cr_assert_eq(db_commit(db), 0, "%s", db_errmsg(db));
    audit_log_commit(log);
    audit_log_destroy(&log);
    db_close(&db);
}

static void s_setup(void)
{
    tu_watchdog(60);
    cr_assert(sodium_init() >= 0);
    s_dir = tu_tmpdir();
    cr_assert_not_null(s_dir);
    snprintf(s_db, sizeof s_db, "%s/broker.db", s_dir);
    randombytes_buf(s_subject, sizeof s_subject);
    randombytes_buf(s_case, sizeof s_case);
    for (int c = 0; c < CASES; c++)
        sodium_bin2hex(s_subject_hex[c], sizeof s_subject_hex[c], s_subject[c], 32);
    s_n = 0;
    s_story();
}

static void s_teardown(void)
{
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(audit_cases, .init = s_setup, .fini = s_teardown);

/* Runs `hartslag ARGS... NULL`. */
static int s_hartslag(char **out, char **err, ...)
{
    char *argv[40] = {(char *)tu_bin("hartslag")};
    va_list args;
    va_start(args, err);
    for (int i = 1; i < 39 && (argv[i] = va_arg(args, char *)) != NULL; i++)
        ;
    va_end(args);
    return tu_run(argv, NULL, out, err);
}

#define HARTSLAG(out, err, ...) s_hartslag(out, err, __VA_ARGS__, (char *)NULL)

/* Runs python3 -c SCRIPT over `input`; its stdout (caller frees). */
static char *s_python(const char *script, const char *input)
{
    char *argv[] = {"/usr/bin/python3", "-c", (char *)script, NULL};
    char *out = NULL, *err = NULL;
    int rc = tu_run(argv, input, &out, &err);
    cr_assert_eq(rc, 0, "python3 failed: %s", err ? err : "");
    free(err);
    return out;
}

static void s_no_secrets(const char *text, bool pseudonym_allowed)
{
    cr_assert_null(strstr(text, "Bakker"), "an employee name leaked");
    cr_assert_null(strstr(text, "Jansen"), "an employee name leaked");
    if (!pseudonym_allowed)
        cr_assert_null(strstr(text, s_subject_hex[0] + 8), "the pseudonym leaked");
}

Test(audit_cases, the_letter_names_the_partners_dates_basis_and_outcome_in_words)
{
    char *out = NULL, *err = NULL;
    int rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--subject", s_subject_hex[0]);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "Casuïstiekoverleg over u:"), "%s", out);
    /* Opened at 10:00 UTC = 11:00 CET. */
    cr_assert(strstr(out, "Casuïstiekoverleg 1 — geopend 2 maart 2025, 11:00"), "%s", out);
    cr_assert(strstr(out, "Besproken op:            10 maart 2025"), "%s", out);
    cr_assert(strstr(out, "Wet verplichte ggz art. 8:28"), "%s", out);
    cr_assert(strstr(out, "Doel:                    casusoverleg"), "%s", out);
    cr_assert(strstr(out, "Uitkomst:                zorg geregeld"), "%s", out);
    cr_assert_null(strstr(out, "zorg_geregeld"), "an outcome code as a token");
    cr_assert(strstr(out, "nam de uitnodiging niet aan op 2 maart 2025, 14:00"), "%s", out);
    cr_assert(strstr(out, "uit de casus verwijderd op 22 maart 2025, 11:00"), "%s", out);
    cr_assert(strstr(out, "politie aan welzijn (adres, zorgen)"), "%s", out);
    cr_assert(strstr(out, "gemeente aan politie (de titel van de casus)"), "%s", out);
    cr_assert(strstr(out, "politie aan welzijn (adres, zorgen); opnieuw gedeeld: informatie die "
                          "eerder in de casus was gedeeld"),
              "%s", out);
    cr_assert_null(strstr(out, "case_title"), "an internal token: %s", out);
    cr_assert(strstr(out, "- politie, uiterlijk 16 maart 2025, gedaan op 12 maart 2025"), "%s",
              out);
    /* The refused close changed nothing; the share is not a signal. */
    cr_assert_null(strstr(out, "bestaat"), "%s", out);
    cr_assert_null(strstr(out, "unknown_outcome"), "%s", out);
    cr_assert(strstr(out, "Er is 1 signaal over u vastgelegd"), "%s", out);
    s_no_secrets(out, false);
    free(out);
    free(err);

    rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--subject", s_subject_hex[0],
                  "--lang", "en");
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "Case conference 1 — opened 2 March 2025, 11:00"), "%s", out);
    cr_assert(strstr(out, "Discussed on:            10 March 2025"), "%s", out);
    cr_assert(strstr(out, "Outcome:                 zorg geregeld"), "%s", out);
    cr_assert(strstr(out, "Closed on:               1 April 2025, 12:00"), "%s", out); /* CEST */
    s_no_secrets(out, false);
    free(out);
    free(err);

    /* C7 is still open. */
    rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--subject", s_subject_hex[6]);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "nog niet (de casus loopt nog)"), "%s", out);
    cr_assert(strstr(out, "uiterlijk 1 januari 2099"), "%s", out);
    free(out);
    free(err);
}

Test(audit_cases, the_letter_in_json_has_the_cases)
{
    char *out = NULL, *err = NULL;
    int rc = HARTSLAG(&out, &err, "audit", "subject", "--db", s_db, "--subject", s_subject_hex[0],
                      "--json");
    cr_assert_eq(rc, 0, "%s", err);
    s_no_secrets(out, true); /* the JSON answer names the pseudonym it searched for */
    char *py =
        s_python("import json,sys\n"
                 "d=json.load(sys.stdin)\n"
                 "c=d['cases']\n"
                 "print(len(c), len(d['signals']))\n"
                 "k=c[0]\n"
                 "print(k['coordinator'], k['purpose'], k['legal_basis'], k['kind'])\n"
                 "print(k['opened'], k['closed'], k['meeting_dates'])\n"
                 "print(k['outcome'], '|', k['outcome_words'])\n"
                 "print(sorted((p['org'], p['joined'] is not None, p['declined'] is not None,"
                 " p['removed'] is not None) for p in k['participants']))\n"
                 "print([(s['from'], s['to'], s['fields'], s['what'], s['reshare'])"
                 " for s in k['shared']])\n"
                 "print([(a['owner'], a['due_date'], a['done']) for a in k['plan']])\n",
                 out);
    cr_assert_str_eq(py,
                     "1 1\n"
                     "gemeente casusoverleg Wet verplichte ggz art. 8:28 zorg-en-veiligheid\n"
                     "2025-03-02T10:00:00Z 2025-04-01T10:00:00Z ['2025-03-10']\n"
                     "zorg_geregeld | zorg geregeld\n"
                     "[('politie', True, False, False), ('welzijn', True, False, True), "
                     "('woonpunt', False, True, False)]\n"
                     "[('gemeente', 'politie', ['toelichting'], 'title', False), "
                     "('politie', 'welzijn', ['adres', 'zorgen'], 'data', False), "
                     "('politie', 'gemeente', ['adres', 'zorgen'], 'data', False), "
                     "('politie', 'welzijn', ['adres', 'zorgen'], 'data', True)]\n"
                     "[('politie', '2025-03-16', '2025-03-12T10:00:00Z')]\n",
                     "%s", py);
    free(py);
    free(out);
    free(err);
}

/* stats --cases --json, one figure per line for comparison. */
static char *s_stats(const char *from, const char *to)
{
    char *out = NULL, *err = NULL;
    char *argv[16] = {
        (char *)tu_bin("hartslag"), "audit", "stats", "--cases", "--json", "--db", s_db};
    int n = 7;
    if (from) {
        argv[n++] = "--from";
        argv[n++] = (char *)from;
    }
    if (to) {
        argv[n++] = "--to";
        argv[n++] = (char *)to;
    }
    argv[n] = NULL;
    int rc = tu_run(argv, NULL, &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    char *py = s_python(
        "import json,sys\n"
        "d=json.load(sys.stdin)\n"
        "c={(r['month'],r['dimension'],r['value']):r['count'] for r in d['rows']}\n"
        "f=d['figures']\n"
        "print(f['cases_opened'], f['cases_closed'])\n"
        "for k in ['days_signal_to_case','days_open_to_closed']:\n"
        "  s=f[k]; print(s['cases'], s['median'], s['p90'], s['suppressed'])\n"
        "a=f['actions']; print(a['due'], a['percent'], a['suppressed'])\n"
        "for k in [('2025-03','cases','opened'),('2025-04','cases','opened'),"
        "('2025-04','cases','closed'),('2025-05','cases','closed'),"
        "('all','outcome','zorg_geregeld'),('all','outcome','overgedragen'),"
        "('all','partner','gemeente'),('all','partner','politie'),('all','partner','welzijn'),"
        "('all','partner','woonpunt'),('2025-03','event','case_invited'),('2025-03','event','case_"
        "opened'),"
        "('2025-03','event','refused:case_closed')]:\n"
        "  print(k[1], k[2], c.get(k))\n",
        out);
    free(out);
    free(err);
    return py;
}

Test(audit_cases, stats_cases_gives_exact_medians_and_suppresses_small_counts)
{
    char *py = s_stats(NULL, NULL);
    cr_assert_str_eq(py,
                     "7 6\n"
                     "6 3.5 20.0 False\n"
                     "6 32.5 60.0 False\n"
                     "6 66.7 False\n"
                     /* 6 and 1 opened, 5 and 1 closed, and the totals 7 and 6 are
                        published: the month with the larger count is hidden too. */
                     "cases opened x\n"
                     "cases opened <5\n"
                     "cases closed x\n"
                     "cases closed <5\n"
                     /* 5 and 1 add up to the 6 closed: the 5 is hidden too. */
                     "outcome zorg_geregeld x\n"
                     "outcome overgedragen <5\n"
                     "partner gemeente 7\n"
                     "partner politie 6\n"
                     "partner welzijn <5\n"
                     "partner woonpunt None\n"
                     "event case_invited 9\n"
                     /* counted as cases opened, not twice */
                     "event case_opened None\n"
                     "event refused:case_closed <5\n",
                     "%s", py);
    free(py);
}

Test(audit_cases, stats_cases_by_period_counts_earlier_signals_and_hides_thin_medians)
{
    /* March: C6's first signal (15 February) lies before the period and
       still counts; nothing closed in March. */
    char *py = s_stats("2025-03-01", "2025-03-31");
    cr_assert(strncmp(py, "6 0\n6 3.5 20.0 False\n0 None None False\n", 39) == 0, "%s", py);
    free(py);
    /* April: five closings (30..34 days), C7 opened without a signal. */
    py = s_stats("2025-04-01", "2025-04-30");
    cr_assert(strncmp(py, "<5 5\n0 None None False\n5 32.0 34.0 False\n", 41) == 0, "%s", py);
    free(py);
    /* From 5 March: three cases opened, one closed in May: too few. */
    py = s_stats("2025-03-05", NULL);
    cr_assert(strncmp(py, "<5 6\n<5 None None True\n", 23) == 0, "%s", py);
    free(py);
    py = s_stats("2025-05-01", NULL);
    cr_assert(strncmp(py, "0 <5\n0 None None False\n<5 None None True\n", 41) == 0, "%s", py);
    free(py);

    /* The text says so in words. */
    char *out = NULL, *err = NULL;
    int rc =
        HARTSLAG(&out, &err, "audit", "stats", "--cases", "--db", s_db, "--from", "2025-05-01");
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "days from opening to closing: not shown, it rests on fewer than 5 "
                          "cases (<5)"),
              "%s", out);
    cr_assert(strstr(out, "2025-05  cases    closed"), "%s", out);
    free(out);
    free(err);
    rc = HARTSLAG(&out, &err, "audit", "stats", "--cases", "--db", s_db);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "median 3.5, p90 20.0 (6 cases)"), "%s", out);
    cr_assert(strstr(out, "plan actions done by their due date: 66.7% of 6 actions due"), "%s",
              out);
    free(out);
    free(err);
}

Test(audit_cases, the_report_has_the_case_section_with_the_same_figures)
{
    char html[4200];
    snprintf(html, sizeof html, "%s/report.html", s_dir);
    char *out = NULL, *err = NULL;
    int rc = HARTSLAG(&out, &err, "audit", "report", "--db", s_db, "--html", html);
    cr_assert_eq(rc, 0, "%s", err);
    free(out);
    free(err);
    char *page = tu_read_file(html, NULL);
    cr_assert_not_null(page);
    cr_assert(strstr(page, "<a href=\"#cases\">"), "no link to the section");
    const char *section = strstr(page, "<section id=\"cases\">");
    cr_assert_not_null(section);
    cr_assert(strstr(section, "<td id=\"case-counts\">7 / 6</td>"), "%s", section);
    cr_assert(strstr(section, "mediaan (median) 3.5, p90 20.0 dagen"), "%s", section);
    cr_assert(strstr(section, "mediaan (median) 32.5, p90 60.0 dagen"), "%s", section);
    cr_assert(strstr(section, "66.7% van (of) 6 verlopen acties"), "%s", section);
    cr_assert(strstr(section, "<td><code>zorg_geregeld</code></td><td class=\"num\">x</td>"), "%s",
              section);
    cr_assert(strstr(section, "<td>2025-05</td><td><code>closed</code></td><td "
                              "class=\"num\">&lt;5</td>"),
              "%s", section);
    cr_assert(strstr(section, "<td>2025-04</td><td><code>closed</code></td><td "
                              "class=\"num\">x</td>"),
              "%s", section);
    cr_assert(strstr(page, "<code>case_plan</code></td><td>actie uit het plan van aanpak"),
              "the event has no words");
    cr_assert_null(strstr(page, "<script"));
    s_no_secrets(page, false);
    free(page);
}
