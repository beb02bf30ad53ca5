/*  hartslag audit subject: the GDPR art. 15 answer for one citizen — which
    partners exchanged which kind of signal about this person, when, for
    which purpose and on which legal basis.

    Privacy rules of this answer (it is handed to the citizen):
    - only records whose subject pseudonym is this person's are read;
    - no employee names: actor_user is never copied out of a record;
    - the BSN or address is pseudonymised here and never printed;
    - no signal content (the log holds none), only the kinds of data. */
#include "agreements.h"
#include "audit_events.h"
#include "audit_read.h"
#include "audit_subject_cases.h"
#include "cmd_audit.h"
#include "commands.h"
#include "partners.h"

#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
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
    uint64_t agreements_version;             /* the version it was accepted under, or 0 */
    char agreements_sha256[65];              /* that version's SHA-256 (hex), or "" */
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
    audit_subject_cases_t *cases; /* case conferences (issue 15) */
    bool failed;                  /* out of memory */
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
    int taken = audit_subject_cases_add(a->cases, r);
    if (taken < 0) {
        a->failed = true;
        return -1;
    }
    if (taken)
        return 0;
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
        if (r->has_agreements_version)
            rc->agreements_version = r->agreements_version;
        if (r->has_agreements_hash && r->agreements_hash.len == 32)
            sodium_bin2hex(rc->agreements_sha256, sizeof rc->agreements_sha256,
                           r->agreements_hash.data, r->agreements_hash.len);
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

/* A share into a case is a sealed signal: its submitted, delivered and
   acked records belong to the case, not to the list of signals. */
static void s_drop_case_shares(subject_answer_t *a)
{
    size_t kept = 0;
    for (size_t i = 0; i < a->n_signals; i++) {
        subject_signal_t *s = &a->signals[i];
        if (s->has_id && audit_subject_cases_is_share(a->cases, s->id)) {
            free(s->recipients);
            continue;
        }
        a->signals[kept++] = *s;
    }
    a->n_signals = kept;
}

static void s_answer_free(subject_answer_t *a)
{
    audit_subject_cases_destroy(&a->cases);
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

/* What the letter needs besides the records. */
typedef struct {
    const partners_t *partners;     /* certificates: names and contacts, or NULL */
    const agreements_t *agreements; /* retention per agreement, or NULL */
    const audit_check_t *check;     /* verification verdict */
    bool by_address;                /* looked up by address: others may appear */
} letter_t;

/* "3 maart 2026, 10:05" in local time (Europe/Amsterdam). */
static void s_when(const lang_t *lang, int64_t ms, char *out, size_t len)
{
    audit_letter_when(lang->en, ms, out, len);
}

/* An organisation as the citizen should read it: "Name (org)" or "org". */
static void s_org_name(const partners_t *partners, const char *org, char *out, size_t len)
{
    audit_letter_org(partners, org, out, len);
}

/* The retention period of an agreement in days, or 0 when unknown. */
static uint32_t s_retention(const agreements_t *agreements, const char *id)
{
    for (size_t i = 0; agreements && id && id[0] && i < agreements_count(agreements); i++)
        if (strcmp(agreements_at(agreements, i)->id, id) == 0)
            return agreements_at(agreements, i)->retention_days;
    return 0;
}

static void s_status_line(const lang_t *lang, const char *label_nl, const char *label_en,
                          int64_t ms, const char *reason)
{
    if (ms == 0)
        return;
    char when[96], words[SUBJECT_TEXT_MAX];
    s_when(lang, ms, when, sizeof when);
    printf("        %s %s", lang->en ? label_en : label_nl, when);
    audit_reason_describe(reason, lang->en, words, sizeof words);
    if (words[0])
        printf(" (%s %s)", lang->en ? "reason:" : "reden:", words);
    printf("\n");
}

/* "1 signaal" / "2 signalen". */
static const char *s_plural(size_t n, const char *one, const char *more)
{
    return n == 1 ? one : more;
}

static void s_warnings(const lang_t *lang, const letter_t *letter, uint64_t unreadable)
{
    bool en = lang->en;
    const audit_check_t *c = letter->check;
    if (c->truncated)
        printf(en ? "WARNING: the copy of the log this answer was made from is incomplete "
                    "(%" PRIu64 " records are missing). This answer may be incomplete.\n"
                  : "LET OP: de kopie van het logboek waaruit dit antwoord is gemaakt is "
                    "onvolledig (er ontbreken %" PRIu64 " regels). Dit antwoord is mogelijk "
                    "onvolledig.\n",
               c->missing);
    if (c->state == AUDIT_CHECK_FAULT)
        printf(en ? "WARNING: the log does not verify (%s). This answer may be incomplete or "
                    "wrong.\n"
                  : "LET OP: het logboek klopt niet bij controle (%s). Dit antwoord is "
                    "mogelijk onvolledig of onjuist.\n",
               audit_fault_name(c->report.kind));
    else if (c->state == AUDIT_CHECK_UNVERIFIED)
        printf("%s\n", en ? "WARNING: the log was not verified before this answer was made."
                          : "LET OP: het logboek is niet gecontroleerd voordat dit antwoord is "
                            "gemaakt.");
    if (unreadable)
        printf("%s\n", en ? "WARNING: some audit records could not be read; this answer may "
                            "be incomplete."
                          : "LET OP: een deel van het logboek kon niet worden gelezen; dit "
                            "overzicht is mogelijk onvolledig.");
}

/* The organisations named in the answer, each once (borrowed texts). */
typedef struct {
    const char **orgs; /* 256 slots */
    size_t *n;
} org_list_t;

static void s_org_add(void *arg, const char *org)
{
    org_list_t *list = arg;
    bool seen = !org[0];
    for (size_t m = 0; m < *list->n && !seen; m++)
        seen = strcmp(list->orgs[m], org) == 0;
    if (!seen && *list->n < 256)
        list->orgs[(*list->n)++] = org;
}

static void s_print_text(const lang_t *lang, const subject_answer_t *a, const letter_t *letter,
                         const char *origin, int64_t searched, uint64_t unreadable)
{
    bool en = lang->en;
    const partners_t *partners = letter->partners;
    if (letter->by_address)
        printf("%s\n\n",
               en ? "CHECK BEFORE SENDING (for the privacy officer, remove this paragraph): this "
                    "answer was found by address. Signals about an address can concern "
                    "co-residents or earlier residents. Check every entry below and remove "
                    "what is not about the person who asked."
                  : "CONTROLEER VOOR VERZENDING (voor de functionaris gegevensbescherming, "
                    "verwijder deze alinea): dit antwoord is op adres gezocht. Signalen over "
                    "een adres kunnen over medebewoners of eerdere bewoners gaan. Controleer "
                    "elk onderdeel hieronder en haal weg wat niet over de aanvrager gaat.");
    printf("%s\n\n", en ? "Access request (GDPR article 15): exchanges of signals about you"
                        : "Inzageverzoek (AVG artikel 15): uitwisseling van signalen over u");
    if (letter->check->truncated || letter->check->state != AUDIT_CHECK_OK || unreadable) {
        s_warnings(lang, letter, unreadable);
        printf("\n");
    }
    if (origin[0])
        printf("%s %s\n",
               en ? "Partnership log:" : "Logboek van het samenwerkingsverband:", origin);
    printf("%s %" PRId64 "\n",
           en ? "Audit records searched:" : "Doorzochte auditregels:", searched);
    printf("%s\n\n",
           en ? "You were looked up by a pseudonym derived from your identifier; the log never "
                "holds your BSN or address. Times are Dutch local time."
              : "U bent gezocht op een pseudoniem dat van uw gegevens is afgeleid; het logboek "
                "bevat nooit uw BSN of adres. Tijden zijn Nederlandse tijd.");
    size_t sent = 0;
    for (size_t i = 0; i < a->n_signals; i++)
        for (size_t j = 0; j < a->signals[i].n_recipients; j++)
            if (a->signals[i].recipients[j].accepted_ms)
                sent++;
    if (a->n_signals == 0)
        printf("%s\n", en ? "No signals about you were exchanged through the exchange system of "
                            "the partnership."
                          : "Er zijn via het uitwisselsysteem van het samenwerkingsverband geen "
                            "signalen over u uitgewisseld.");
    else if (en)
        printf("%zu %s about you %s recorded; %s passed on to a partner %zu %s.\n", a->n_signals,
               s_plural(a->n_signals, "signal", "signals"), s_plural(a->n_signals, "was", "were"),
               s_plural(a->n_signals, "it was", "they were"), sent,
               s_plural(sent, "time", "times"));
    else
        printf("Er %s %zu %s over u vastgelegd; %zu keer is er een aan een partner "
               "doorgegeven.\n",
               s_plural(a->n_signals, "is", "zijn"), a->n_signals,
               s_plural(a->n_signals, "signaal", "signalen"), sent);
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
            if (r->accepted_ms) {
                uint32_t days = s_retention(letter->agreements, r->agreement_id);
                if (days)
                    printf(en ? "        retention: the recipient keeps it at most %u %s\n"
                              : "        bewaartermijn: de ontvanger bewaart het ten hoogste %u "
                                "%s\n",
                           days,
                           en ? s_plural(days, "day", "days") : s_plural(days, "dag", "dagen"));
                else
                    printf("        %s\n", en ? "retention: unknown here; ask the recipient"
                                              : "bewaartermijn: hier niet bekend; vraag het de "
                                                "ontvanger");
            }
            s_status_line(lang, "doorgegeven via het uitwisselsysteem op",
                          "passed on through the exchange system on", r->accepted_ms, NULL);
            s_status_line(lang, "afgeleverd op", "delivered on", r->delivered_ms, NULL);
            s_status_line(lang, "ontvangen en opgeslagen op", "received and stored on", r->acked_ms,
                          NULL);
            s_status_line(lang, "door de ontvanger geweigerd op", "refused by the recipient on",
                          r->rejected_ms, NULL);
            s_status_line(lang, "ingetrokken door de afzender op", "withdrawn by the sender on",
                          r->withdrawn_ms, r->withdrawn_reason);
            s_status_line(lang, "verlopen zonder aflevering op", "expired undelivered on",
                          r->expired_ms, NULL);
            s_status_line(lang, "niet verstuurd, geweigerd op", "not sent, refused on",
                          r->denied_ms, r->denied_reason);
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
    audit_subject_cases_text(a->cases, en, partners, stdout);
    /* Who to contact: every organisation in the answer, with its address. */
    if (a->n_signals || a->n_others || audit_subject_cases_count(a->cases)) {
        printf("\n%s\n", en ? "Contact addresses of the organisations named above:"
                            : "Contactadressen van de genoemde organisaties:");
        const char *orgs[256];
        size_t n_orgs = 0;
        org_list_t list = {orgs, &n_orgs};
        for (size_t i = 0; i < a->n_signals; i++) {
            const char *cands[1 + 64];
            size_t nc = 0;
            cands[nc++] = a->signals[i].sender;
            for (size_t j = 0; j < a->signals[i].n_recipients && nc < 65; j++)
                cands[nc++] = a->signals[i].recipients[j].org;
            for (size_t k = 0; k < nc; k++)
                s_org_add(&list, cands[k]);
        }
        for (size_t i = 0; i < a->n_others; i++)
            s_org_add(&list, a->others[i].org);
        audit_subject_cases_each_org(a->cases, s_org_add, &list);
        for (size_t i = 0; i < n_orgs; i++) {
            char name[SUBJECT_TEXT_MAX + SUBJECT_ORG_MAX + 4], contact[SUBJECT_TEXT_MAX];
            s_org_name(partners, orgs[i], name, sizeof name);
            const cert_t *cert = partners ? partners_by_org(partners, orgs[i]) : NULL;
            if (cert)
                audit_clean_text(cert->contact, contact, sizeof contact);
            printf("  - %s: %s\n", name,
                   cert ? contact
                        : (en ? "(not known here; ask the privacy officer)"
                              : "(hier niet bekend; vraag het de functionaris "
                                "gegevensbescherming)"));
        }
        printf("\n%s\n",
               en ? "This overview names no employees and no other persons. The content of the "
                    "signals is not in this log: ask the organisations named above for it."
                  : "Dit overzicht noemt geen medewerkers en geen andere personen. De inhoud van "
                    "de signalen staat niet in dit logboek: die kunt u opvragen bij de genoemde "
                    "organisaties.");
    }
    printf("\n%s\n",
           en ? "Your rights: you may ask each organisation to correct data about you "
                "(rectification, GDPR art. 16), to erase it (art. 17) or to restrict its use "
                "(art. 18). If you disagree with how your data are handled, you may complain "
                "to the Dutch Data Protection Authority (Autoriteit Persoonsgegevens, "
                "art. 77)."
              : "Uw rechten: u kunt elke organisatie vragen gegevens over u te verbeteren "
                "(rectificatie, AVG art. 16), te wissen (art. 17) of het gebruik ervan te "
                "beperken (art. 18). Bent u het niet eens met hoe met uw gegevens wordt "
                "omgegaan, dan kunt u een klacht indienen bij de Autoriteit "
                "Persoonsgegevens (art. 77).");
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
    audit_letter_json_org(stdout, partners, key, org);
}

static const char *s_nonempty(const char *text)
{
    return text && text[0] ? text : NULL;
}

static void s_print_json(const subject_answer_t *a, const letter_t *letter,
                         const uint8_t subject[AUDIT_READ_SUBJECT_BYTES], const char *origin,
                         int64_t searched, uint64_t unreadable)
{
    const partners_t *partners = letter->partners;
    char hex[PSEUDONYM_HEXBYTES];
    pseudonym_to_hex(subject, hex);
    static const char *states[] = {"unverified", "ok", "fault"};
    printf("{\"subject\":\"%s\",\"verified\":\"%s\",\"truncated\":%s,\"by_address\":%s,"
           "\"origin\":",
           hex, states[letter->check->state], letter->check->truncated ? "true" : "false",
           letter->by_address ? "true" : "false");
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
            if (r->agreements_version)
                printf(",\"agreements_version\":%llu", (unsigned long long)r->agreements_version);
            else
                fputs(",\"agreements_version\":null", stdout);
            fputs(",\"agreements_sha256\":", stdout);
            audit_json_string(stdout, s_nonempty(r->agreements_sha256));
            uint32_t days = s_retention(letter->agreements, r->agreement_id);
            if (days)
                printf(",\"retention_days\":%u", days);
            else
                fputs(",\"retention_days\":null", stdout);
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
    fputs("\n],\"cases\":", stdout);
    audit_subject_cases_json(a->cases, partners, stdout);
    fputs("}\n", stdout);
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
        OPT_PARTNERS,
        OPT_AGREEMENTS,
        OPT_CERT,
        OPT_OFFICER,
        OPT_LOOKUP_PURPOSE
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
        {"agreements", required_argument, NULL, OPT_AGREEMENTS},
        {"broker-cert", required_argument, NULL, OPT_CERT},
        {"officer", required_argument, NULL, OPT_OFFICER},
        {"purpose", required_argument, NULL, OPT_LOOKUP_PURPOSE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *bsn = NULL, *address = NULL, *hex = NULL, *officer = NULL, *dir = NULL,
               *purpose = "art15";
    const char *agreements_path = NULL, *broker_cert = NULL;
    lang_t lang = {false};
    bool json = false;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            printf("usage: hartslag audit subject --db STORE (--bsn N | --address \"6411 AB 12a\" "
                   "| --subject HEX)\n"
                   "                              --officer FILE [--purpose art15] --partners DIR "
                   "--agreements FILE\n"
                   "                              --broker-cert FILE [--lang nl|en] [--json]\n\n"
                   "The answer to a citizen's access request (GDPR art. 15): which partners\n"
                   "exchanged which kind of signal about this person, when, for which purpose\n"
                   "and on which legal basis, how long the recipient keeps it, whom to contact,\n"
                   "whether it was withdrawn or expired; which partners discussed the person\n"
                   "in a case conference, when (opened, meeting dates, closed), for which\n"
                   "purpose, on which legal basis, and the outcome in words; and the\n"
                   "citizen's rights. It names no employees and no other citizen, and holds\n"
                   "no content. Times are Dutch local time. An answer found by --address\n"
                   "may hold signals about co-residents or earlier residents: check every\n"
                   "entry before sending.\n\n"
                   "  --db STORE            a copy of the broker's state_dir/broker.db, or its\n"
                   "                        postgresql://... store\n"
                   "  --bsn N               the citizen's BSN ('-': read it from standard input)\n"
                   "  --address A           the citizen's address ('-': from standard input)\n"
                   "  --subject HEX         a subject pseudonym (64 hex digits) instead\n"
                   "  --officer FILE        your officer file (keys, pseudonym service): the\n"
                   "                        BSN or address is looked up through the service,\n"
                   "                        which records the lookup (docs/audit.md)\n"
                   "  --purpose art15       why you look the citizen up (default art15, the\n"
                   "                        access request; audit_query for an investigation)\n"
                   "  --partners DIR        partner certificates: organisation names and contact\n"
                   "                        addresses\n"
                   "  --agreements FILE     the agreements (agreements.yaml): retention periods\n"
                   "  --broker-cert FILE    the broker's certificate: the log is verified first\n"
                   "  --lang nl|en          language of the answer (default nl: Dutch)\n"
                   "  --json                machine-readable answer\n\n"
                   "The BSN or address is blinded on this machine and never printed; the\n"
                   "pseudonym service sees neither it nor its pseudonym.\n"
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
            fprintf(stderr, "hartslag audit subject: --pseudonym-key is retired: no tool holds a "
                            "pseudonym key any more. Use --officer FILE (docs/audit.md)\n");
            return EXIT_USAGE;
        case OPT_OFFICER:
            officer = optarg;
            break;
        case OPT_LOOKUP_PURPOSE:
            purpose = optarg;
            break;
        case OPT_PARTNERS:
            dir = optarg;
            break;
        case OPT_AGREEMENTS:
            agreements_path = optarg;
            break;
        case OPT_CERT:
            broker_cert = optarg;
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
        fprintf(stderr, "hartslag audit subject: give --db: %s\n", audit_read_db_hint(NULL));
        return EXIT_USAGE;
    }
    char err[AUDIT_READ_ERR_MAX];
    audit_filter_t filter;
    memset(&filter, 0, sizeof filter);
    int rc =
        audit_subject_resolve(bsn, address, hex, officer, purpose, filter.subject, err, sizeof err);
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
    agreements_t *agreements = NULL;
    if (agreements_path) {
        agreements_errors_t *errors = NULL;
        agreements = agreements_load(agreements_path, &errors);
        if (!agreements) {
            fprintf(stderr, "hartslag audit subject: cannot use the agreements in %s:\n",
                    agreements_path);
            if (errors)
                agreements_errors_print(errors, stderr);
            agreements_errors_destroy(&errors);
            partners_destroy(&partners);
            return 1;
        }
    }
    audit_reader_t *reader = audit_reader_open(db, err, sizeof err);
    audit_check_t check;
    if (reader && audit_read_check(reader, broker_cert, &check, err, sizeof err) != 0)
        audit_reader_destroy(&reader);
    if (!reader) {
        audit_read_report_error("subject", err);
        partners_destroy(&partners);
        agreements_destroy(&agreements);
        return 1;
    }
    subject_answer_t answer;
    memset(&answer, 0, sizeof answer);
    answer.cases = audit_subject_cases_new();
    if (!answer.cases) {
        audit_read_report_error("subject", "out of memory");
        audit_reader_destroy(&reader);
        partners_destroy(&partners);
        agreements_destroy(&agreements);
        return 1;
    }
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
        agreements_destroy(&agreements);
        return 1;
    }
    s_drop_case_shares(&answer);
    letter_t letter = {partners, agreements, &check, address != NULL};
    if (json)
        s_print_json(&answer, &letter, filter.subject, origin, searched, unreadable);
    else
        s_print_text(&lang, &answer, &letter, origin, searched, unreadable);
    if (address)
        fprintf(stderr, "hartslag audit subject: found by address — signals about co-residents "
                        "or earlier residents may be included; check every entry before "
                        "sending\n");
    if (check.truncated)
        fprintf(stderr,
                "hartslag audit subject: WARNING: the copy is incomplete (%" PRIu64 " records "
                "missing); the answer may be incomplete\n",
                check.missing);
    if (check.state == AUDIT_CHECK_FAULT)
        fprintf(stderr, "hartslag audit subject: WARNING: the log does not verify (%s): %s\n",
                audit_fault_name(check.report.kind), check.report.detail);
    else if (check.state == AUDIT_CHECK_UNVERIFIED)
        fprintf(stderr, "hartslag audit subject: warning: the log was not verified (give "
                        "--broker-cert)\n");
    if (!partners)
        fprintf(stderr, "hartslag audit subject: warning: no --partners: the answer lacks "
                        "organisation names and contact addresses\n");
    if (!agreements)
        fprintf(stderr, "hartslag audit subject: warning: no --agreements: the answer lacks "
                        "retention periods\n");
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
    agreements_destroy(&agreements);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "hartslag audit subject: cannot write the output\n");
        return 1;
    }
    if (unreadable)
        return 1;
    return found > 0 ? 0 : 1;
}
