/*  hartslag audit subject: the GDPR art. 15 answer for one citizen — which
    partners exchanged which kind of signal about this person, when, for
    which purpose and on which legal basis.

    Privacy rules of this answer (it is handed to the citizen):
    - only records whose subject pseudonym is this person's are read;
    - no employee names: actor_user is never copied out of a record;
    - the BSN or address is pseudonymised here and never printed;
    - no signal content (the log holds none), only the kinds of data. */
#include "audit_read.h"
#include "cmd_audit.h"
#include "commands.h"
#include "partners.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUBJECT_ORG_MAX 64         /* an org id, cleaned */
#define SUBJECT_TEXT_MAX 256       /* type, purpose, legal basis, reason, cleaned */
#define SUBJECT_FIELDS_MAX 512     /* field names, joined */
#define SUBJECT_SIGNALS_MAX 100000 /* signals about one person: far above any real case */

/* What happened to one signal at one recipient. Times are 0 when the event
   was not recorded. */
typedef struct {
    char org[SUBJECT_ORG_MAX];               /* recipient org id */
    char agreement_id[SUBJECT_TEXT_MAX];     /* the clause that allowed it */
    char legal_basis[SUBJECT_TEXT_MAX];      /* from the accepted record */
    int64_t accepted_ms;                     /* broker accepted it for this recipient */
    int64_t delivered_ms;                    /* broker delivered it */
    int64_t acked_ms;                        /* recipient stored it */
    int64_t rejected_ms;                     /* recipient refused it */
    int64_t withdrawn_ms;                    /* sender withdrew it */
    int64_t expired_ms;                      /* not delivered in time */
    int64_t denied_ms;                       /* broker refused it: never sent */
    char denied_reason[SUBJECT_TEXT_MAX];    /* why refused (machine token) */
    char withdrawn_reason[SUBJECT_TEXT_MAX]; /* why withdrawn (token) */
} subject_recipient_t;

/* One signal about the person, from all its records. Invariant: n_recipients
   <= cap_recipients; recipients[i].org are distinct. */
typedef struct {
    bool has_id;                         /* signal_id known */
    uint8_t id[AUDIT_READ_SIGNAL_BYTES]; /* signal id */
    int64_t first_ms;                    /* earliest record */
    char sender[SUBJECT_ORG_MAX];        /* sending org id ("" when unknown) */
    char type[SUBJECT_TEXT_MAX];         /* signal type */
    char purpose[SUBJECT_TEXT_MAX];      /* purpose */
    char fields[SUBJECT_FIELDS_MAX];     /* field names, ", "-joined */
    subject_recipient_t *recipients;     /* per recipient */
    size_t n_recipients;                 /* used */
    size_t cap_recipients;               /* allocated */
} subject_signal_t;

/* Other events about the person that are not a signal (alerts). */
typedef struct {
    int64_t time_ms;               /* when */
    char event[32];                /* alert, alert_handled */
    char org[SUBJECT_ORG_MAX];     /* who was notified / handled it */
    char reason[SUBJECT_TEXT_MAX]; /* rule id */
} subject_other_t;

typedef struct {
    subject_signal_t *signals; /* in order of first record */
    size_t n_signals;
    size_t cap_signals;
    subject_other_t *others; /* alerts */
    size_t n_others;
    size_t cap_others;
    bool failed; /* out of memory */
} subject_answer_t;

static int64_t s_ms(uint64_t t)
{
    return t > INT64_MAX ? INT64_MAX : (int64_t)t;
}

static void s_copy(char *dst, size_t len, const char *src)
{
    audit_clean_text(src ? src : "", dst, len);
}

static subject_signal_t *s_signal_for(subject_answer_t *a, const Hartslag__AuditRecord *r)
{
    bool has_id = r->has_signal_id && r->signal_id.len == AUDIT_READ_SIGNAL_BYTES;
    if (has_id)
        for (size_t i = 0; i < a->n_signals; i++)
            if (a->signals[i].has_id &&
                memcmp(a->signals[i].id, r->signal_id.data, AUDIT_READ_SIGNAL_BYTES) == 0)
                return &a->signals[i];
    if (a->n_signals >= SUBJECT_SIGNALS_MAX)
        return NULL;
    if (a->n_signals == a->cap_signals) {
        size_t cap = a->cap_signals ? a->cap_signals * 2 : 16;
        subject_signal_t *grown = realloc(a->signals, cap * sizeof *grown);
        if (!grown)
            return NULL;
        a->signals = grown;
        a->cap_signals = cap;
    }
    subject_signal_t *s = &a->signals[a->n_signals++];
    memset(s, 0, sizeof *s);
    s->has_id = has_id;
    if (has_id)
        memcpy(s->id, r->signal_id.data, AUDIT_READ_SIGNAL_BYTES);
    s->first_ms = s_ms(r->time_ms);
    return s;
}

static subject_recipient_t *s_recipient_for(subject_signal_t *s, const char *org)
{
    char clean[SUBJECT_ORG_MAX];
    s_copy(clean, sizeof clean, org ? org : "?");
    for (size_t i = 0; i < s->n_recipients; i++)
        if (strcmp(s->recipients[i].org, clean) == 0)
            return &s->recipients[i];
    if (s->n_recipients == s->cap_recipients) {
        size_t cap = s->cap_recipients ? s->cap_recipients * 2 : 4;
        subject_recipient_t *grown = realloc(s->recipients, cap * sizeof *grown);
        if (!grown)
            return NULL;
        s->recipients = grown;
        s->cap_recipients = cap;
    }
    subject_recipient_t *rc = &s->recipients[s->n_recipients++];
    memset(rc, 0, sizeof *rc);
    memcpy(rc->org, clean, sizeof clean);
    return rc;
}

static void s_set_first(int64_t *slot, int64_t t)
{
    if (*slot == 0 || t < *slot)
        *slot = t;
}

/* Collects one record about the person. actor_user is never read. */
static int s_collect(void *arg, uint64_t index, const Hartslag__AuditRecord *r)
{
    (void)index;
    subject_answer_t *a = arg;
    const char *ev = r->event;
    int64_t t = s_ms(r->time_ms);
    /* Alert records carry the alert's id where signals carry theirs. */
    bool is_alert = strcmp(ev, "alert") == 0 || strcmp(ev, "alert_handled") == 0;
    bool is_signal = !is_alert && r->has_signal_id && r->signal_id.len == AUDIT_READ_SIGNAL_BYTES;
    if (!is_signal) {
        if (a->n_others == a->cap_others) {
            size_t cap = a->cap_others ? a->cap_others * 2 : 8;
            subject_other_t *grown = realloc(a->others, cap * sizeof *grown);
            if (!grown) {
                a->failed = true;
                return -1;
            }
            a->others = grown;
            a->cap_others = cap;
        }
        subject_other_t *o = &a->others[a->n_others++];
        o->time_ms = t;
        s_copy(o->event, sizeof o->event, ev);
        s_copy(o->org, sizeof o->org, r->counterpart_org ? r->counterpart_org : r->actor_org);
        /* The rule: the agreement_id of an alert record (older logs: reason). */
        s_copy(o->reason, sizeof o->reason, r->agreement_id ? r->agreement_id : r->reason);
        return 0;
    }
    subject_signal_t *s = s_signal_for(a, r);
    if (!s) {
        a->failed = true;
        return -1;
    }
    if (t < s->first_ms)
        s->first_ms = t;
    /* Who sent it, and to whom this record refers. */
    const char *sender = NULL, *recipient = NULL;
    if (strcmp(ev, "acked") == 0 || strcmp(ev, "rejected_by_recipient") == 0) {
        sender = r->counterpart_org;
        recipient = r->actor_org;
    } else if (strcmp(ev, "delivered") == 0 || strcmp(ev, "expired") == 0) {
        sender = r->on_behalf_of;
        recipient = r->counterpart_org;
    } else {
        sender = r->on_behalf_of ? r->on_behalf_of : r->actor_org;
        recipient = r->counterpart_org;
    }
    if (sender && strcmp(sender, "broker") != 0 && s->sender[0] == '\0')
        s_copy(s->sender, sizeof s->sender, sender);
    if (r->signal_type && s->type[0] == '\0')
        s_copy(s->type, sizeof s->type, r->signal_type);
    if (r->purpose && s->purpose[0] == '\0')
        s_copy(s->purpose, sizeof s->purpose, r->purpose);
    if (r->n_fields && s->fields[0] == '\0') {
        size_t o = 0;
        for (size_t i = 0; i < r->n_fields && o + 4 < sizeof s->fields; i++) {
            char name[SUBJECT_TEXT_MAX];
            s_copy(name, sizeof name, r->fields[i]);
            int n = snprintf(s->fields + o, sizeof s->fields - o, "%s%s", i ? ", " : "", name);
            if (n < 0 || (size_t)n >= sizeof s->fields - o)
                break;
            o += (size_t)n;
        }
    }
    if (!recipient)
        return 0; /* e.g. "submitted": sender, type and purpose only */
    subject_recipient_t *rc = s_recipient_for(s, recipient);
    if (!rc) {
        a->failed = true;
        return -1;
    }
    if (strcmp(ev, "accepted") == 0) {
        s_set_first(&rc->accepted_ms, t);
        if (r->legal_basis)
            s_copy(rc->legal_basis, sizeof rc->legal_basis, r->legal_basis);
        if (r->agreement_id)
            s_copy(rc->agreement_id, sizeof rc->agreement_id, r->agreement_id);
    } else if (strcmp(ev, "delivered") == 0)
        s_set_first(&rc->delivered_ms, t);
    else if (strcmp(ev, "acked") == 0)
        s_set_first(&rc->acked_ms, t);
    else if (strcmp(ev, "rejected_by_recipient") == 0)
        s_set_first(&rc->rejected_ms, t);
    else if (strcmp(ev, "withdrawn") == 0) {
        s_set_first(&rc->withdrawn_ms, t);
        s_copy(rc->withdrawn_reason, sizeof rc->withdrawn_reason, r->reason);
    } else if (strcmp(ev, "expired") == 0)
        s_set_first(&rc->expired_ms, t);
    else if (strcmp(ev, "denied") == 0) {
        s_set_first(&rc->denied_ms, t);
        s_copy(rc->denied_reason, sizeof rc->denied_reason, r->reason);
    }
    return 0;
}

static void s_answer_free(subject_answer_t *a)
{
    for (size_t i = 0; i < a->n_signals; i++)
        free(a->signals[i].recipients);
    free(a->signals);
    free(a->others);
}

/* ------------------------------------------------------------------------
   Wording */

typedef struct {
    bool en; /* English instead of Dutch */
} lang_t;

static const char *s_month_nl[] = {"januari",   "februari", "maart",    "april",
                                   "mei",       "juni",     "juli",     "augustus",
                                   "september", "oktober",  "november", "december"};
static const char *s_month_en[] = {"January",   "February", "March",    "April",
                                   "May",       "June",     "July",     "August",
                                   "September", "October",  "November", "December"};

/* "3 maart 2026, 14:05 UTC" */
static void s_when(const lang_t *lang, int64_t ms, char *out, size_t len)
{
    char iso[AUDIT_READ_TIME_MAX];
    audit_format_time(ms, iso);
    int y = 0, m = 1, d = 1;
    int hh = 0, mm = 0;
    if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d", &y, &m, &d, &hh, &mm) != 5 || m < 1 || m > 12)
        m = 1;
    snprintf(out, len, "%d %s %d, %02d:%02d UTC", d,
             lang->en ? s_month_en[m - 1] : s_month_nl[m - 1], y, hh, mm);
}

/* An organisation as the citizen should read it: "Name (org)" or "org". */
static void s_org_name(const partners_t *partners, const char *org, char *out, size_t len)
{
    const cert_t *cert = partners && org && org[0] ? partners_by_org(partners, org) : NULL;
    if (cert) {
        char name[SUBJECT_TEXT_MAX];
        audit_clean_text(cert->name, name, sizeof name);
        snprintf(out, len, "%s (%s)", name, org);
    } else
        snprintf(out, len, "%s", org && org[0] ? org : "?");
}

static void s_status_line(const lang_t *lang, const char *label_nl, const char *label_en,
                          int64_t ms, const char *extra)
{
    if (ms == 0)
        return;
    char when[96];
    s_when(lang, ms, when, sizeof when);
    printf("        %s %s", lang->en ? label_en : label_nl, when);
    if (extra && extra[0])
        printf(" (%s %s)", lang->en ? "reason:" : "reden:", extra);
    printf("\n");
}

static void s_print_text(const lang_t *lang, const subject_answer_t *a, const partners_t *partners,
                         const char *origin, int64_t searched, uint64_t unreadable)
{
    bool en = lang->en;
    printf("%s\n\n", en ? "Access request (GDPR article 15): exchanges of signals about you"
                        : "Inzageverzoek (AVG artikel 15): uitwisseling van signalen over u");
    if (origin[0])
        printf("%s %s\n",
               en ? "Partnership log:" : "Logboek van het samenwerkingsverband:", origin);
    printf("%s %" PRId64 "\n",
           en ? "Audit records searched:" : "Doorzochte auditregels:", searched);
    printf("%s\n\n",
           en ? "You were looked up by a pseudonym derived from your identifier; the log never "
                "holds your BSN or address."
              : "U bent gezocht op een pseudoniem dat van uw gegevens is afgeleid; het logboek "
                "bevat nooit uw BSN of adres.");
    size_t sent = 0;
    for (size_t i = 0; i < a->n_signals; i++)
        for (size_t j = 0; j < a->signals[i].n_recipients; j++)
            if (a->signals[i].recipients[j].accepted_ms)
                sent++;
    if (a->n_signals == 0)
        printf("%s\n", en ? "No signals about you were exchanged through the broker."
                          : "Er zijn via de broker geen signalen over u uitgewisseld.");
    else
        printf(en ? "%zu signal(s) about you were recorded; %zu time(s) one was passed on to a "
                    "partner.\n"
                  : "Er zijn %zu signaal/signalen over u vastgelegd; %zu keer is er een aan een "
                    "partner doorgegeven.\n",
               a->n_signals, sent);
    for (size_t i = 0; i < a->n_signals; i++) {
        const subject_signal_t *s = &a->signals[i];
        char when[96], sender[SUBJECT_TEXT_MAX + SUBJECT_ORG_MAX + 4];
        s_when(lang, s->first_ms, when, sizeof when);
        s_org_name(partners, s->sender, sender, sizeof sender);
        printf("\n%s %zu — %s\n", en ? "Signal" : "Signaal", i + 1, when);
        if (s->has_id) {
            char hex[33];
            audit_hex(s->id, AUDIT_READ_SIGNAL_BYTES, hex);
            printf("    %-22s %s\n", en ? "Reference:" : "Kenmerk:", hex);
        }
        printf("    %-22s %s\n", en ? "Sent by:" : "Verstuurd door:", sender);
        printf("    %-22s %s\n",
               en ? "Kind of signal:" : "Soort signaal:", s->type[0] ? s->type : "?");
        printf("    %-22s %s\n", en ? "Purpose:" : "Doel:", s->purpose[0] ? s->purpose : "?");
        if (s->fields[0])
            printf("    %-22s %s %s\n", en ? "Kinds of data:" : "Soorten gegevens:", s->fields,
                   en ? "(names only; the log holds no content)"
                      : "(alleen de soorten; het logboek bevat geen inhoud)");
        printf("    %s\n", en ? "To:" : "Aan:");
        for (size_t j = 0; j < s->n_recipients; j++) {
            const subject_recipient_t *r = &s->recipients[j];
            char name[SUBJECT_TEXT_MAX + SUBJECT_ORG_MAX + 4];
            s_org_name(partners, r->org, name, sizeof name);
            printf("      - %s\n", name);
            if (r->legal_basis[0] || r->agreement_id[0]) {
                printf("        %s %s", en ? "legal basis:" : "wettelijke grondslag:",
                       r->legal_basis[0] ? r->legal_basis : "?");
                if (r->agreement_id[0])
                    printf(" (%s %s)", en ? "agreement" : "afspraak", r->agreement_id);
                printf("\n");
            }
            s_status_line(lang, "doorgegeven door de broker op", "passed on by the broker on",
                          r->accepted_ms, NULL);
            s_status_line(lang, "afgeleverd op", "delivered on", r->delivered_ms, NULL);
            s_status_line(lang, "ontvangen en opgeslagen op", "received and stored on", r->acked_ms,
                          NULL);
            s_status_line(lang, "door de ontvanger geweigerd op", "refused by the recipient on",
                          r->rejected_ms, NULL);
            s_status_line(lang, "ingetrokken door de afzender op", "withdrawn by the sender on",
                          r->withdrawn_ms, r->withdrawn_reason);
            s_status_line(lang, "verlopen zonder aflevering op", "expired undelivered on",
                          r->expired_ms, NULL);
            s_status_line(lang, "geweigerd door de broker (niet verstuurd) op",
                          "refused by the broker (not sent) on", r->denied_ms, r->denied_reason);
        }
    }
    if (a->n_others) {
        printf("\n%s\n", en ? "Alerts about you (several partners signalled about you):"
                            : "Meldingen over u (meerdere partners deden een signaal over u):");
        for (size_t i = 0; i < a->n_others; i++) {
            const subject_other_t *o = &a->others[i];
            char when[96], name[SUBJECT_TEXT_MAX + SUBJECT_ORG_MAX + 4];
            s_when(lang, o->time_ms, when, sizeof when);
            s_org_name(partners, o->org, name, sizeof name);
            const char *what =
                strcmp(o->event, "alert_handled") == 0
                    ? (en ? "alert marked handled; told to" : "melding afgestemd; bericht aan")
                    : (en ? "alert sent to" : "melding verstuurd aan");
            printf("  - %s: %s %s", when, what, name);
            if (o->reason[0])
                printf(" (%s %s)", en ? "rule" : "regel", o->reason);
            printf("\n");
        }
    }
    printf("\n%s\n",
           en ? "This overview names no employees and no other persons. The content of the "
                "signals is not in this log: ask the organisations named above for it."
              : "Dit overzicht noemt geen medewerkers en geen andere personen. De inhoud van de "
                "signalen staat niet in dit logboek: die kunt u opvragen bij de genoemde "
                "organisaties.");
    if (unreadable)
        printf("\n%s\n", en ? "WARNING: some audit records could not be read; this answer may "
                              "be incomplete."
                            : "LET OP: een deel van het logboek kon niet worden gelezen; dit "
                              "overzicht is mogelijk onvolledig.");
}

static void s_json_time(int64_t ms)
{
    if (ms == 0) {
        fputs("null", stdout);
        return;
    }
    char iso[AUDIT_READ_TIME_MAX];
    audit_format_time(ms, iso);
    audit_json_string(stdout, iso);
}

static void s_json_org(const partners_t *partners, const char *key, const char *org)
{
    printf("\"%s\":", key);
    audit_json_string(stdout, org && org[0] ? org : NULL);
    printf(",\"%s_name\":", key);
    const cert_t *cert = partners && org && org[0] ? partners_by_org(partners, org) : NULL;
    audit_json_string(stdout, cert ? cert->name : NULL);
}

static const char *s_nonempty(const char *text)
{
    return text && text[0] ? text : NULL;
}

static void s_print_json(const subject_answer_t *a, const partners_t *partners,
                         const uint8_t subject[AUDIT_READ_SUBJECT_BYTES], const char *origin,
                         int64_t searched, uint64_t unreadable)
{
    char hex[PSEUDONYM_HEXBYTES];
    pseudonym_to_hex(subject, hex);
    printf("{\"subject\":\"%s\",\"origin\":", hex);
    audit_json_string(stdout, s_nonempty(origin));
    printf(",\"records_searched\":%" PRId64 ",\"unreadable_records\":%" PRIu64 ",\"signals\":[",
           searched, unreadable);
    for (size_t i = 0; i < a->n_signals; i++) {
        const subject_signal_t *s = &a->signals[i];
        printf("%s\n{\"signal_id\":", i ? "," : "");
        if (s->has_id) {
            char id[33];
            audit_hex(s->id, AUDIT_READ_SIGNAL_BYTES, id);
            audit_json_string(stdout, id);
        } else
            fputs("null", stdout);
        fputs(",\"first_time\":", stdout);
        s_json_time(s->first_ms);
        fputc(',', stdout);
        s_json_org(partners, "sender", s->sender);
        fputs(",\"signal_type\":", stdout);
        audit_json_string(stdout, s_nonempty(s->type));
        fputs(",\"purpose\":", stdout);
        audit_json_string(stdout, s_nonempty(s->purpose));
        fputs(",\"fields\":[", stdout);
        /* s->fields is ", "-joined tokens */
        char copy[SUBJECT_FIELDS_MAX];
        memcpy(copy, s->fields, sizeof copy);
        size_t n = 0;
        for (char *save = NULL, *name = strtok_r(copy, ", ", &save); name;
             name = strtok_r(NULL, ", ", &save)) {
            fputs(n++ ? "," : "", stdout);
            audit_json_string(stdout, name);
        }
        fputs("],\"recipients\":[", stdout);
        for (size_t j = 0; j < s->n_recipients; j++) {
            const subject_recipient_t *r = &s->recipients[j];
            fputs(j ? ",{" : "{", stdout);
            s_json_org(partners, "org", r->org);
            fputs(",\"agreement_id\":", stdout);
            audit_json_string(stdout, s_nonempty(r->agreement_id));
            fputs(",\"legal_basis\":", stdout);
            audit_json_string(stdout, s_nonempty(r->legal_basis));
            const struct {
                const char *key;
                int64_t ms;
            } times[] = {{"accepted", r->accepted_ms},   {"delivered", r->delivered_ms},
                         {"acked", r->acked_ms},         {"rejected_by_recipient", r->rejected_ms},
                         {"withdrawn", r->withdrawn_ms}, {"expired", r->expired_ms},
                         {"denied", r->denied_ms}};
            for (size_t k = 0; k < sizeof times / sizeof *times; k++) {
                printf(",\"%s\":", times[k].key);
                s_json_time(times[k].ms);
            }
            fputs(",\"withdrawn_reason\":", stdout);
            audit_json_string(stdout, s_nonempty(r->withdrawn_reason));
            fputs(",\"denied_reason\":", stdout);
            audit_json_string(stdout, s_nonempty(r->denied_reason));
            fputc('}', stdout);
        }
        fputs("]}", stdout);
    }
    fputs("\n],\"alerts\":[", stdout);
    for (size_t i = 0; i < a->n_others; i++) {
        const subject_other_t *o = &a->others[i];
        fputs(i ? ",\n{\"time\":" : "\n{\"time\":", stdout);
        s_json_time(o->time_ms);
        fputs(",\"event\":", stdout);
        audit_json_string(stdout, o->event);
        fputc(',', stdout);
        s_json_org(partners, "org", o->org);
        fputs(",\"rule\":", stdout);
        audit_json_string(stdout, s_nonempty(o->reason));
        fputc('}', stdout);
    }
    fputs("\n]}\n", stdout);
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int audit_cmd_subject(int argc, char **argv)
{
    enum {
        OPT_DB = 1000,
        OPT_BSN,
        OPT_ADDRESS,
        OPT_SUBJECT,
        OPT_KEY,
        OPT_LANG,
        OPT_JSON,
        OPT_PARTNERS
    };
    static const struct option options[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"bsn", required_argument, NULL, OPT_BSN},
        {"address", required_argument, NULL, OPT_ADDRESS},
        {"subject", required_argument, NULL, OPT_SUBJECT},
        {"pseudonym-key", required_argument, NULL, OPT_KEY},
        {"lang", required_argument, NULL, OPT_LANG},
        {"json", no_argument, NULL, OPT_JSON},
        {"partners", required_argument, NULL, OPT_PARTNERS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *bsn = NULL, *address = NULL, *hex = NULL, *key = NULL, *dir = NULL;
    lang_t lang = {false};
    bool json = false;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            printf("usage: hartslag audit subject --db FILE (--bsn N | --address \"6411 AB 12a\" "
                   "| --subject HEX)\n"
                   "                              --pseudonym-key FILE [--partners DIR] "
                   "[--lang nl|en] [--json]\n\n"
                   "The answer to a citizen's access request (GDPR art. 15): which partners\n"
                   "exchanged which kind of signal about this person, when, for which purpose\n"
                   "and on which legal basis, and whether it was withdrawn or expired. It names\n"
                   "no employees and no other citizen, and holds no content.\n\n"
                   "  --db FILE             a copy of the broker's state_dir/broker.db\n"
                   "  --bsn N               the citizen's BSN ('-': read it from standard input)\n"
                   "  --address A           the citizen's address ('-': from standard input)\n"
                   "  --subject HEX         a subject pseudonym (64 hex digits) instead\n"
                   "  --pseudonym-key FILE  the partnership's pseudonym key (for --bsn, "
                   "--address)\n"
                   "  --partners DIR        partner certificates, to show organisation names\n"
                   "  --lang nl|en          language of the answer (default nl: Dutch)\n"
                   "  --json                machine-readable answer\n\n"
                   "The BSN or address is pseudonymised on this machine and never printed.\n"
                   "exit codes: 0 records found, 1 none found or failure, 2 usage error\n");
            return 0;
        case OPT_DB:
            db = optarg;
            break;
        case OPT_BSN:
            bsn = optarg;
            break;
        case OPT_ADDRESS:
            address = optarg;
            break;
        case OPT_SUBJECT:
            hex = optarg;
            break;
        case OPT_KEY:
            key = optarg;
            break;
        case OPT_PARTNERS:
            dir = optarg;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_LANG:
            if (strcmp(optarg, "nl") == 0)
                lang.en = false;
            else if (strcmp(optarg, "en") == 0)
                lang.en = true;
            else {
                fprintf(stderr, "hartslag audit subject: --lang is nl or en\n");
                return EXIT_USAGE;
            }
            break;
        default:
            fprintf(stderr, "try 'hartslag audit subject --help'\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hartslag audit subject: unexpected argument (options start with --)\n");
        return EXIT_USAGE;
    }
    if (!db) {
        fprintf(stderr, "hartslag audit subject: give --db FILE (%s)\n", AUDIT_READ_DB_HINT);
        return EXIT_USAGE;
    }
    char err[AUDIT_READ_ERR_MAX];
    audit_filter_t filter;
    memset(&filter, 0, sizeof filter);
    int rc = audit_subject_resolve(bsn, address, hex, key, filter.subject, err, sizeof err);
    if (rc != 0) {
        audit_read_report_error("subject", err);
        return rc == 2 ? EXIT_USAGE : 1;
    }
    filter.has_subject = true;
    partners_t *partners = NULL;
    if (dir) {
        partners = partners_load(dir, s_now_ms(), NULL, NULL, err, sizeof err);
        if (!partners) {
            fprintf(stderr,
                    "hartslag audit subject: cannot load the partner certificates in %s: %s\n", dir,
                    err);
            return 1;
        }
    }
    audit_reader_t *reader = audit_reader_open(db, err, sizeof err);
    if (!reader) {
        audit_read_report_error("subject", err);
        partners_destroy(&partners);
        return 1;
    }
    subject_answer_t answer;
    memset(&answer, 0, sizeof answer);
    uint64_t unreadable = 0, purged = 0;
    /* "Records searched": every record that still has its bytes. The
       subject index leads to this person's records without reading the
       others, so the count comes from the log's size, not from a walk. */
    uint64_t size = 0, purged_prefix = 0;
    int64_t searched = audit_reader_size(reader, &size, &purged_prefix, err, sizeof err) != 0
                           ? -1
                           : (int64_t)(size - purged_prefix);
    int64_t found = searched < 0 ? -1
                                 : audit_reader_each(reader, &filter, s_collect, &answer,
                                                     &unreadable, &purged, err, sizeof err);
    char origin[CHECKPOINT_NAME_MAX + 1];
    snprintf(origin, sizeof origin, "%s", audit_reader_origin(reader));
    audit_reader_destroy(&reader);
    if (found < 0 || answer.failed) {
        audit_read_report_error("subject", answer.failed ? "out of memory" : err);
        s_answer_free(&answer);
        partners_destroy(&partners);
        return 1;
    }
    if (json)
        s_print_json(&answer, partners, filter.subject, origin, searched, unreadable);
    else
        s_print_text(&lang, &answer, partners, origin, searched, unreadable);
    if (unreadable)
        fprintf(stderr,
                "hartslag audit subject: warning: %" PRIu64 " record(s) could not be read — the "
                "answer may be incomplete; run 'hartslag audit verify'\n",
                unreadable);
    if (purged)
        fprintf(stderr,
                "hartslag audit subject: note: %" PRIu64 " record(s) older than the retention "
                "period were purged\n",
                purged);
    s_answer_free(&answer);
    partners_destroy(&partners);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "hartslag audit subject: cannot write the output\n");
        return 1;
    }
    if (unreadable)
        return 1;
    return found > 0 ? 0 : 1;
}
