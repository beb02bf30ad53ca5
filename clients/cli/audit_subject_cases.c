/*  audit_subject_cases: case conferences in the art. 15 letter; see
    audit_subject_cases.h. */
#include "audit_subject_cases.h"

#include "case_text.h"

#include "date.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CASE_ID_BYTES 16      /* case_id, case_item, signal_id */
#define ORG_MAX 64            /* an org id, cleaned */
#define TEXT_MAX 256          /* kind, purpose, legal basis, outcome, cleaned */
#define FIELDS_MAX 512        /* field names, ", "-joined */
#define CASES_MAX 10000       /* cases about one person: far above any real one */
#define CASE_ITEMS_MAX 100000 /* participants, shares, meetings or actions of one case */

/* One partner's part in the case. Times are 0 when not recorded. */
typedef struct {
    char org[ORG_MAX];
    int64_t invited_ms, joined_ms, declined_ms, removed_ms;
} member_t;

/* Something shared into the case, for one recipient. */
typedef struct {
    int64_t time_ms;
    uint8_t signal_id[CASE_ID_BYTES];
    bool has_id;
    char from[ORG_MAX], to[ORG_MAX];
    char fields[FIELDS_MAX];
    case_text_kind_t what; /* data from records, the title, an action's text, a note */
    bool reshare;          /* an earlier item given to a later participant */
} share_t;

/* An action of the plan: who, by when, done when. */
typedef struct {
    uint8_t item[CASE_ID_BYTES];
    char owner[ORG_MAX];
    char due[11];    /* YYYY-MM-DD or "" */
    int64_t done_ms; /* 0: not done (as far as the log tells) */
} action_t;

typedef struct {
    char date[11]; /* YYYY-MM-DD */
    int64_t time_ms;
} meeting_t;

typedef struct {
    uint8_t id[CASE_ID_BYTES];
    char kind[TEXT_MAX], purpose[TEXT_MAX], legal_basis[TEXT_MAX];
    char coordinator[ORG_MAX];
    int64_t first_ms, opened_ms, closed_ms;
    char outcome[TEXT_MAX]; /* the code as recorded (cleaned) */
    member_t *members;
    size_t n_members, cap_members;
    share_t *shares;
    size_t n_shares, cap_shares;
    action_t *actions;
    size_t n_actions, cap_actions;
    meeting_t *meetings;
    size_t n_meetings, cap_meetings;
} case_t;

struct audit_subject_cases_t {
    case_t *cases;
    size_t n_cases, cap_cases;
};

audit_subject_cases_t *audit_subject_cases_new(void)
{
    return calloc(1, sizeof(audit_subject_cases_t));
}

void audit_subject_cases_destroy(audit_subject_cases_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    audit_subject_cases_t *self = *self_p;
    for (size_t i = 0; i < self->n_cases; i++) {
        free(self->cases[i].members);
        free(self->cases[i].shares);
        free(self->cases[i].actions);
        free(self->cases[i].meetings);
    }
    free(self->cases);
    free(self);
    *self_p = NULL;
}

static int64_t s_ms(uint64_t t)
{
    return t > INT64_MAX ? INT64_MAX : (int64_t)t;
}

static void s_copy(char *dst, size_t len, const char *src)
{
    audit_clean_text(src ? src : "", dst, len);
}

/* Room for one more of `size` bytes in `*items`, zeroed. NULL when full or
   out of memory. */
static void *s_more(void **items, size_t *n, size_t *cap, size_t size, size_t max)
{
    if (*n >= max)
        return NULL;
    if (*n == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 4;
        void *grown = realloc(*items, grown_cap * size);
        if (!grown)
            return NULL;
        *items = grown;
        *cap = grown_cap;
    }
    void *slot = (char *)*items + (*n)++ * size;
    memset(slot, 0, size);
    return slot;
}

static case_t *s_case(audit_subject_cases_t *self, const uint8_t *id, int64_t t)
{
    for (size_t i = 0; i < self->n_cases; i++)
        if (memcmp(self->cases[i].id, id, CASE_ID_BYTES) == 0)
            return &self->cases[i];
    case_t *c =
        s_more((void **)&self->cases, &self->n_cases, &self->cap_cases, sizeof *c, CASES_MAX);
    if (c) {
        memcpy(c->id, id, CASE_ID_BYTES);
        c->first_ms = t;
    }
    return c;
}

static member_t *s_member(case_t *c, const char *org)
{
    char clean[ORG_MAX];
    s_copy(clean, sizeof clean, org ? org : "?");
    for (size_t i = 0; i < c->n_members; i++)
        if (strcmp(c->members[i].org, clean) == 0)
            return &c->members[i];
    member_t *m =
        s_more((void **)&c->members, &c->n_members, &c->cap_members, sizeof *m, CASE_ITEMS_MAX);
    if (m)
        memcpy(m->org, clean, sizeof clean);
    return m;
}

static action_t *s_action(case_t *c, const uint8_t *item)
{
    for (size_t i = 0; i < c->n_actions; i++)
        if (memcmp(c->actions[i].item, item, CASE_ID_BYTES) == 0)
            return &c->actions[i];
    action_t *a =
        s_more((void **)&c->actions, &c->n_actions, &c->cap_actions, sizeof *a, CASE_ITEMS_MAX);
    if (a)
        memcpy(a->item, item, CASE_ID_BYTES);
    return a;
}

static void s_set_first(int64_t *slot, int64_t t)
{
    if (*slot == 0 || t < *slot)
        *slot = t;
}

static void s_fields(const Hartslag__AuditRecord *r, char *out, size_t len)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->n_fields && o + 4 < len; i++) {
        char name[TEXT_MAX];
        s_copy(name, sizeof name, r->fields[i]);
        int n = snprintf(out + o, len - o, "%s%s", i ? ", " : "", name);
        if (n < 0 || (size_t)n >= len - o)
            break;
        o += (size_t)n;
    }
}

int audit_subject_cases_add(audit_subject_cases_t *self, const Hartslag__AuditRecord *r)
{
    if (!r->has_case_id || r->case_id.len != CASE_ID_BYTES || !r->event)
        return 0;
    /* A refused step changed nothing: not part of the answer. */
    if (!r->outcome || strcmp(r->outcome, "ok") != 0)
        return 1;
    const char *ev = r->event;
    int64_t t = s_ms(r->time_ms);
    case_t *c = s_case(self, r->case_id.data, t);
    if (!c)
        return -1;
    if (t < c->first_ms)
        c->first_ms = t;
    if (!c->kind[0] && r->agreement_id)
        s_copy(c->kind, sizeof c->kind, r->agreement_id);
    if (!c->purpose[0] && r->purpose)
        s_copy(c->purpose, sizeof c->purpose, r->purpose);
    if (!c->legal_basis[0] && r->legal_basis)
        s_copy(c->legal_basis, sizeof c->legal_basis, r->legal_basis);
    bool has_item = r->has_case_item && r->case_item.len == CASE_ID_BYTES;
    if (strcmp(ev, "case_opened") == 0) {
        s_set_first(&c->opened_ms, t);
        s_copy(c->coordinator, sizeof c->coordinator, r->actor_org);
    } else if (strcmp(ev, "case_invited") == 0 || strcmp(ev, "case_joined") == 0 ||
               strcmp(ev, "case_declined") == 0 || strcmp(ev, "case_participant_removed") == 0) {
        /* invited and removed name the partner as counterpart; joined and
           declined are the partner's own step. */
        bool own = strcmp(ev, "case_joined") == 0 || strcmp(ev, "case_declined") == 0;
        member_t *m = s_member(c, own ? r->actor_org : r->counterpart_org);
        if (!m)
            return -1;
        s_set_first(ev[5] == 'i'   ? &m->invited_ms
                    : ev[5] == 'j' ? &m->joined_ms
                    : ev[5] == 'd' ? &m->declined_ms
                                   : &m->removed_ms,
                    t);
    } else if (strcmp(ev, "case_scheduled") == 0 && r->meeting_date) {
        meeting_t *m = s_more((void **)&c->meetings, &c->n_meetings, &c->cap_meetings, sizeof *m,
                              CASE_ITEMS_MAX);
        if (!m)
            return -1;
        s_copy(m->date, sizeof m->date, r->meeting_date);
        m->time_ms = t;
    } else if (strcmp(ev, "case_shared") == 0) {
        share_t *s =
            s_more((void **)&c->shares, &c->n_shares, &c->cap_shares, sizeof *s, CASE_ITEMS_MAX);
        if (!s)
            return -1;
        s->time_ms = t;
        s->has_id = r->has_signal_id && r->signal_id.len == CASE_ID_BYTES;
        if (s->has_id)
            memcpy(s->signal_id, r->signal_id.data, CASE_ID_BYTES);
        s_copy(s->from, sizeof s->from, r->on_behalf_of ? r->on_behalf_of : r->actor_org);
        s_copy(s->to, sizeof s->to, r->counterpart_org ? r->counterpart_org : "?");
        s_fields(r, s->fields, sizeof s->fields);
        s->what = case_text_kind(r->signal_type);
        s->reshare = r->has_reshare_of;
    } else if (strcmp(ev, "case_plan") == 0 && has_item) {
        action_t *a = s_action(c, r->case_item.data);
        if (!a)
            return -1;
        s_copy(a->owner, sizeof a->owner, r->counterpart_org ? r->counterpart_org : "?");
        s_copy(a->due, sizeof a->due, r->due_date);
    } else if (strcmp(ev, "case_action") == 0 && has_item) {
        action_t *a = s_action(c, r->case_item.data);
        if (!a)
            return -1;
        if (!a->owner[0])
            s_copy(a->owner, sizeof a->owner, r->actor_org);
        if (r->case_action_state && strcmp(r->case_action_state, "done") == 0)
            s_set_first(&a->done_ms, t);
    } else if (strcmp(ev, "case_closed") == 0) {
        s_set_first(&c->closed_ms, t);
        s_copy(c->outcome, sizeof c->outcome, r->case_outcome);
    }
    return 1;
}

bool audit_subject_cases_is_share(const audit_subject_cases_t *self, const uint8_t *id)
{
    for (size_t i = 0; i < self->n_cases; i++)
        for (size_t j = 0; j < self->cases[i].n_shares; j++) {
            const share_t *s = &self->cases[i].shares[j];
            if (s->has_id && memcmp(s->signal_id, id, CASE_ID_BYTES) == 0)
                return true;
        }
    return false;
}

size_t audit_subject_cases_count(const audit_subject_cases_t *self)
{
    return self->n_cases;
}

void audit_subject_cases_each_org(const audit_subject_cases_t *self,
                                  void (*fn)(void *arg, const char *org), void *arg)
{
    for (size_t i = 0; i < self->n_cases; i++) {
        const case_t *c = &self->cases[i];
        if (c->coordinator[0])
            fn(arg, c->coordinator);
        for (size_t j = 0; j < c->n_members; j++)
            fn(arg, c->members[j].org);
        for (size_t j = 0; j < c->n_shares; j++) {
            fn(arg, c->shares[j].from);
            fn(arg, c->shares[j].to);
        }
        for (size_t j = 0; j < c->n_actions; j++)
            fn(arg, c->actions[j].owner);
    }
}

/* ------------------------------------------------------------------------
   Wording */

static const char *s_month_nl[] = {"januari",   "februari", "maart",    "april",
                                   "mei",       "juni",     "juli",     "augustus",
                                   "september", "oktober",  "november", "december"};
static const char *s_month_en[] = {"January",   "February", "March",    "April",
                                   "May",       "June",     "July",     "August",
                                   "September", "October",  "November", "December"};

void audit_letter_when(bool en, int64_t ms, char *out, size_t len)
{
    struct tm tm;
    audit_local_tm(ms, &tm);
    int m = tm.tm_mon >= 0 && tm.tm_mon < 12 ? tm.tm_mon : 0;
    snprintf(out, len, "%d %s %d, %02d:%02d", tm.tm_mday, en ? s_month_en[m] : s_month_nl[m],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
}

void audit_letter_date(bool en, const char *date, char *out, size_t len)
{
    int64_t day;
    if (!date || date_parse_cstr(date, &day) != 0) {
        s_copy(out, len, date ? date : "?");
        return;
    }
    int y = 0, m = 0, d = 0;
    if (sscanf(date, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12) {
        s_copy(out, len, date);
        return;
    }
    snprintf(out, len, "%d %s %d", d, en ? s_month_en[m - 1] : s_month_nl[m - 1], y);
}

void audit_letter_org(const partners_t *partners, const char *org, char *out, size_t len)
{
    const cert_t *cert = partners && org && org[0] ? partners_by_org(partners, org) : NULL;
    if (cert) {
        char name[TEXT_MAX];
        audit_clean_text(cert->name, name, sizeof name);
        snprintf(out, len, "%s (%s)", name, org);
    } else
        snprintf(out, len, "%s", org && org[0] ? org : "?");
}

void audit_letter_json_org(FILE *out, const partners_t *partners, const char *key, const char *org)
{
    fprintf(out, "\"%s\":", key);
    audit_json_string(out, org && org[0] ? org : NULL);
    fprintf(out, ",\"%s_name\":", key);
    const cert_t *cert = partners && org && org[0] ? partners_by_org(partners, org) : NULL;
    audit_json_string(out, cert ? cert->name : NULL);
    fprintf(out, ",\"%s_contact\":", key);
    audit_json_string(out, cert ? cert->contact : NULL);
}

void audit_outcome_words(const char *code, char *out, size_t len)
{
    s_copy(out, len, code && code[0] ? code : "?");
    for (char *p = out; *p; p++)
        if (*p == '_' || *p == '-')
            *p = ' ';
}

#define ORGNAME_MAX (TEXT_MAX + ORG_MAX + 4)

static void s_member_line(const member_t *m, bool en, const partners_t *partners, FILE *out)
{
    char name[ORGNAME_MAX], when[96];
    audit_letter_org(partners, m->org, name, sizeof name);
    fprintf(out, "      - %s\n", name);
    const struct {
        int64_t ms;
        const char *nl, *en;
    } steps[] = {
        {m->invited_ms, "uitgenodigd op", "invited on"},
        {m->joined_ms, "neemt deel sinds", "takes part since"},
        {m->declined_ms, "nam de uitnodiging niet aan op", "declined the invitation on"},
        {m->removed_ms, "uit de casus verwijderd op", "removed from the case on"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        if (!steps[i].ms)
            continue;
        audit_letter_when(en, steps[i].ms, when, sizeof when);
        fprintf(out, "        %s %s\n", en ? steps[i].en : steps[i].nl, when);
    }
}

static void s_case_text(const case_t *c, size_t number, bool en, const partners_t *partners,
                        FILE *out)
{
    char when[96], name[ORGNAME_MAX], date[64], hex[2 * CASE_ID_BYTES + 1];
    audit_letter_when(en, c->opened_ms ? c->opened_ms : c->first_ms, when, sizeof when);
    fprintf(out, "\n%s %zu — %s %s\n", en ? "Case conference" : "Casuïstiekoverleg", number,
            c->opened_ms ? (en ? "opened" : "geopend")
                         : (en ? "first recorded" : "eerst vastgelegd"),
            when);
    audit_hex(c->id, CASE_ID_BYTES, hex);
    fprintf(out, "    %-24s %s\n", en ? "Reference:" : "Kenmerk:", hex);
    if (c->coordinator[0]) {
        audit_letter_org(partners, c->coordinator, name, sizeof name);
        fprintf(out, "    %-24s %s\n", en ? "Coordinated by:" : "Regievoerder:", name);
    }
    if (c->kind[0])
        fprintf(out, "    %-24s %s\n", en ? "Kind of conference:" : "Soort overleg:", c->kind);
    fprintf(out, "    %-24s %s\n", en ? "Purpose:" : "Doel:", c->purpose[0] ? c->purpose : "?");
    fprintf(out, "    %-24s %s\n", en ? "Legal basis:" : "Wettelijke grondslag:",
            c->legal_basis[0] ? c->legal_basis : "?");
    for (size_t i = 0; i < c->n_meetings; i++) {
        audit_letter_date(en, c->meetings[i].date, date, sizeof date);
        fprintf(out, "    %-24s %s\n", en ? "Discussed on:" : "Besproken op:", date);
    }
    if (c->n_members) {
        fprintf(out, "    %s\n", en ? "Partners in the conference:" : "Partners in het overleg:");
        for (size_t i = 0; i < c->n_members; i++)
            s_member_line(&c->members[i], en, partners, out);
    }
    if (c->n_shares) {
        fprintf(out, "    %s\n",
                en ? "Shared in the case (kinds of data only; the log holds no content):"
                   : "Gedeeld in de casus (alleen de soorten gegevens; het logboek bevat geen "
                     "inhoud):");
        for (size_t i = 0; i < c->n_shares; i++) {
            const share_t *s = &c->shares[i];
            char from[ORGNAME_MAX], to[ORGNAME_MAX];
            audit_letter_when(en, s->time_ms, when, sizeof when);
            audit_letter_org(partners, s->from, from, sizeof from);
            audit_letter_org(partners, s->to, to, sizeof to);
            fprintf(out, "      - %s: %s %s %s", when, from, en ? "to" : "aan", to);
            /* The case's own words are named for what they are, not by
               their one field (the free text). */
            if (s->what == CASE_TEXT_TITLE)
                fputs(en ? " (the case's title)" : " (de titel van de casus)", out);
            else if (s->what == CASE_TEXT_ACTION)
                fputs(en ? " (what an action of the plan is)"
                         : " (wat een actie uit het plan inhoudt)",
                      out);
            else if (s->what == CASE_TEXT_NOTE)
                fputs(en ? " (a note on a finished action)"
                         : " (een notitie bij een afgeronde actie)",
                      out);
            else if (s->fields[0])
                fprintf(out, " (%s)", s->fields);
            if (s->reshare)
                fputs(en ? "; shared again: information shared earlier in the case, given to a "
                           "partner that joined later"
                         : "; opnieuw gedeeld: informatie die eerder in de casus was gedeeld, aan "
                           "een partner die later aansloot",
                      out);
            fputc('\n', out);
        }
    }
    if (c->n_actions) {
        fprintf(out, "    %s\n",
                en ? "Plan of action (who took on an action; the log holds no texts):"
                   : "Plan van aanpak (wie een actie op zich nam; het logboek bevat geen "
                     "teksten):");
        for (size_t i = 0; i < c->n_actions; i++) {
            const action_t *a = &c->actions[i];
            audit_letter_org(partners, a->owner, name, sizeof name);
            fprintf(out, "      - %s", name);
            if (a->due[0]) {
                audit_letter_date(en, a->due, date, sizeof date);
                fprintf(out, ", %s %s", en ? "due" : "uiterlijk", date);
            }
            if (a->done_ms) {
                audit_letter_when(en, a->done_ms, when, sizeof when);
                fprintf(out, ", %s %s", en ? "done on" : "gedaan op", when);
            }
            fputc('\n', out);
        }
    }
    if (c->closed_ms) {
        char words[TEXT_MAX];
        audit_letter_when(en, c->closed_ms, when, sizeof when);
        audit_outcome_words(c->outcome, words, sizeof words);
        fprintf(out, "    %-24s %s\n", en ? "Closed on:" : "Afgesloten op:", when);
        fprintf(out, "    %-24s %s\n", en ? "Outcome:" : "Uitkomst:", words);
    } else
        fprintf(out, "    %-24s %s\n", en ? "Closed on:" : "Afgesloten op:",
                en ? "not yet (the case is open)" : "nog niet (de casus loopt nog)");
}

void audit_subject_cases_text(const audit_subject_cases_t *self, bool en,
                              const partners_t *partners, FILE *out)
{
    if (self->n_cases == 0)
        return;
    fprintf(out, "\n%s\n%s\n", en ? "Case conferences about you:" : "Casuïstiekoverleg over u:",
            en ? "In a case conference, partners discuss a person's situation together under the "
                 "municipality's coordination and agree who does what. Only the partners taking "
                 "part received what was shared."
               : "In een casuïstiekoverleg bespreken partners onder regie van de gemeente samen "
                 "iemands situatie en spreken af wie wat doet. Alleen de deelnemende partners "
                 "kregen wat er werd gedeeld.");
    for (size_t i = 0; i < self->n_cases; i++)
        s_case_text(&self->cases[i], i + 1, en, partners, out);
}

static void s_json_time(FILE *out, int64_t ms)
{
    if (ms == 0) {
        fputs("null", out);
        return;
    }
    char iso[AUDIT_READ_TIME_MAX];
    audit_format_time(ms, iso);
    audit_json_string(out, iso);
}

static const char *s_nonempty(const char *text)
{
    return text && text[0] ? text : NULL;
}

static void s_json_fields(FILE *out, const char *joined)
{
    char copy[FIELDS_MAX];
    snprintf(copy, sizeof copy, "%s", joined);
    fputc('[', out);
    size_t n = 0;
    for (char *save = NULL, *name = strtok_r(copy, ", ", &save); name;
         name = strtok_r(NULL, ", ", &save)) {
        fputs(n++ ? "," : "", out);
        audit_json_string(out, name);
    }
    fputc(']', out);
}

void audit_subject_cases_json(const audit_subject_cases_t *self, const partners_t *partners,
                              FILE *out)
{
    fputc('[', out);
    for (size_t i = 0; i < self->n_cases; i++) {
        const case_t *c = &self->cases[i];
        char hex[2 * CASE_ID_BYTES + 1];
        audit_hex(c->id, CASE_ID_BYTES, hex);
        fprintf(out, "%s\n{\"case_id\":\"%s\",", i ? "," : "", hex);
        audit_letter_json_org(out, partners, "coordinator", c->coordinator);
        fputs(",\"kind\":", out);
        audit_json_string(out, s_nonempty(c->kind));
        fputs(",\"purpose\":", out);
        audit_json_string(out, s_nonempty(c->purpose));
        fputs(",\"legal_basis\":", out);
        audit_json_string(out, s_nonempty(c->legal_basis));
        fputs(",\"opened\":", out);
        s_json_time(out, c->opened_ms);
        fputs(",\"meeting_dates\":[", out);
        for (size_t j = 0; j < c->n_meetings; j++) {
            fputs(j ? "," : "", out);
            audit_json_string(out, c->meetings[j].date);
        }
        fputs("],\"closed\":", out);
        s_json_time(out, c->closed_ms);
        fputs(",\"outcome\":", out);
        audit_json_string(out, c->closed_ms ? s_nonempty(c->outcome) : NULL);
        fputs(",\"outcome_words\":", out);
        if (c->closed_ms) {
            char words[TEXT_MAX];
            audit_outcome_words(c->outcome, words, sizeof words);
            audit_json_string(out, words);
        } else
            fputs("null", out);
        fputs(",\"participants\":[", out);
        for (size_t j = 0; j < c->n_members; j++) {
            const member_t *m = &c->members[j];
            fputs(j ? ",{" : "{", out);
            audit_letter_json_org(out, partners, "org", m->org);
            fputs(",\"invited\":", out);
            s_json_time(out, m->invited_ms);
            fputs(",\"joined\":", out);
            s_json_time(out, m->joined_ms);
            fputs(",\"declined\":", out);
            s_json_time(out, m->declined_ms);
            fputs(",\"removed\":", out);
            s_json_time(out, m->removed_ms);
            fputc('}', out);
        }
        fputs("],\"shared\":[", out);
        for (size_t j = 0; j < c->n_shares; j++) {
            const share_t *s = &c->shares[j];
            fputs(j ? ",{\"time\":" : "{\"time\":", out);
            s_json_time(out, s->time_ms);
            fputc(',', out);
            audit_letter_json_org(out, partners, "from", s->from);
            fputc(',', out);
            audit_letter_json_org(out, partners, "to", s->to);
            fputs(",\"fields\":", out);
            s_json_fields(out, s->fields);
            fprintf(out, ",\"what\":\"%s\",\"reshare\":%s}",
                    s->what == CASE_TEXT_TITLE    ? "title"
                    : s->what == CASE_TEXT_ACTION ? "action_text"
                    : s->what == CASE_TEXT_NOTE   ? "action_note"
                                                  : "data",
                    s->reshare ? "true" : "false");
        }
        fputs("],\"plan\":[", out);
        for (size_t j = 0; j < c->n_actions; j++) {
            const action_t *a = &c->actions[j];
            fputs(j ? ",{" : "{", out);
            audit_letter_json_org(out, partners, "owner", a->owner);
            fputs(",\"due_date\":", out);
            audit_json_string(out, s_nonempty(a->due));
            fputs(",\"done\":", out);
            s_json_time(out, a->done_ms);
            fputc('}', out);
        }
        fputs("]}", out);
    }
    fputs("\n]", out);
}
