/*  audit_case_stats: evaluation figures of case conferences; see
    audit_case_stats.h. */
#include "audit_case_stats.h"

#include "date.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS 86400000.0
#define CASE_ID_BYTES 16 /* AuditRecord.case_id, case_item */
#define KEY_MAX AUDIT_COUNTER_KEY_MAX

/* One case as far as the records tell. */
typedef struct {
    int64_t opened_ms; /* case_opened, or 0 */
    int64_t first_ms;  /* the first signal or alert about its subject before it opened, or 0 */
    bool opened_in;    /* opened within the period */
} case_t;

/* One action of a plan. */
typedef struct {
    int64_t due_day; /* days since 1970-01-01, or -1 when unreadable */
    int64_t done_ms; /* case_action "done", or 0 */
    bool planned_in; /* its (last) case_plan record is within the period */
} action_t;

struct audit_case_stats_t {
    bool has_from, has_to;
    int64_t from_ms, to_ms;
    audit_counter_t *rows;  /* "PERIOD\tDIMENSION\tVALUE" -> count */
    audit_counter_t *index; /* "c\tCASE" / "a\tITEM" -> position + 1; "s\tSUBJECT" -> first ms;
                               "p\tCASE\tORG" -> 1 once that org is counted for the case */
    case_t *cases;
    size_t n_cases, cap_cases;
    action_t *actions;
    size_t n_actions, cap_actions;
    double *open_days; /* opening -> closing of the cases closed in the period */
    size_t n_open, cap_open;
    uint64_t closed;     /* case_closed records in the period */
    audit_cell_t *cells; /* for the last rows */
};

audit_case_stats_t *audit_case_stats_new(const audit_filter_t *period)
{
    audit_case_stats_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (period) {
        self->has_from = period->has_from;
        self->from_ms = period->from_ms;
        self->has_to = period->has_to;
        self->to_ms = period->to_ms;
    }
    self->rows = audit_counter_new();
    self->index = audit_counter_new();
    if (!self->rows || !self->index)
        audit_case_stats_destroy(&self);
    return self;
}

void audit_case_stats_destroy(audit_case_stats_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    audit_case_stats_t *self = *self_p;
    audit_counter_destroy(&self->rows);
    audit_counter_destroy(&self->index);
    free(self->cases);
    free(self->actions);
    free(self->open_days);
    free(self->cells);
    free(self);
    *self_p = NULL;
}

static int64_t s_ms(uint64_t t)
{
    return t > INT64_MAX ? INT64_MAX : (int64_t)t;
}

static bool s_in_period(const audit_case_stats_t *self, int64_t t)
{
    return (!self->has_from || t >= self->from_ms) && (!self->has_to || t < self->to_ms);
}

/* Grows `*items` (of `size` bytes each) to hold one more. 0, or -1. */
static int s_grow(void **items, size_t *cap, size_t used, size_t size)
{
    if (used < *cap)
        return 0;
    size_t cap2 = *cap ? *cap * 2 : 16;
    void *grown = realloc(*items, cap2 * size);
    if (!grown)
        return -1;
    *items = grown;
    *cap = cap2;
    return 0;
}

static int s_row(audit_case_stats_t *self, const char *period, const char *dim, const char *value)
{
    char key[KEY_MAX], clean[KEY_MAX / 2];
    audit_clean_text(value ? value : "?", clean, sizeof clean);
    snprintf(key, sizeof key, "%s\t%s\t%s", period, dim, clean);
    return audit_counter_add(self->rows, key, 1);
}

/* The case (or plan action) of a 16-byte id, created when `create`. */
static void *s_find(audit_case_stats_t *self, char kind, const ProtobufCBinaryData *id, bool create)
{
    char hex[2 * CASE_ID_BYTES + 1], key[48];
    audit_hex(id->data, CASE_ID_BYTES, hex);
    snprintf(key, sizeof key, "%c\t%s", kind, hex);
    uint64_t at = audit_counter_get(self->index, key);
    bool is_case = kind == 'c';
    if (at)
        return is_case ? (void *)&self->cases[at - 1] : (void *)&self->actions[at - 1];
    if (!create)
        return NULL;
    if (is_case) {
        if (s_grow((void **)&self->cases, &self->cap_cases, self->n_cases, sizeof(case_t)) != 0)
            return NULL;
        memset(&self->cases[self->n_cases], 0, sizeof(case_t));
        at = ++self->n_cases;
    } else {
        if (s_grow((void **)&self->actions, &self->cap_actions, self->n_actions,
                   sizeof(action_t)) != 0)
            return NULL;
        memset(&self->actions[self->n_actions], 0, sizeof(action_t));
        self->actions[self->n_actions].due_day = -1;
        at = ++self->n_actions;
    }
    if (audit_counter_add(self->index, key, at) != 0)
        return NULL;
    return is_case ? (void *)&self->cases[at - 1] : (void *)&self->actions[at - 1];
}

static void s_subject_key(const ProtobufCBinaryData *subject, char key[72])
{
    char hex[2 * AUDIT_READ_SUBJECT_BYTES + 1];
    audit_hex(subject->data, AUDIT_READ_SUBJECT_BYTES, hex);
    snprintf(key, 72, "s\t%s", hex);
}

/* Counts `org` once for the case: "all\tpartner\tORG". */
static int s_participant(audit_case_stats_t *self, const ProtobufCBinaryData *case_id,
                         const char *org)
{
    char hex[2 * CASE_ID_BYTES + 1], key[KEY_MAX], clean[KEY_MAX / 2];
    audit_hex(case_id->data, CASE_ID_BYTES, hex);
    audit_clean_text(org ? org : "?", clean, sizeof clean);
    snprintf(key, sizeof key, "p\t%s\t%s", hex, clean);
    if (audit_counter_get(self->index, key))
        return 0;
    if (audit_counter_add(self->index, key, 1) != 0)
        return -1;
    return s_row(self, "all", "partner", clean);
}

int audit_case_stats_add(audit_case_stats_t *self, const Hartslag__AuditRecord *r)
{
    const char *ev = r->event ? r->event : "";
    int64_t t = s_ms(r->time_ms);
    bool has_subject = r->has_subject && r->subject.len == AUDIT_READ_SUBJECT_BYTES;
    bool has_case = r->has_case_id && r->case_id.len == CASE_ID_BYTES;
    bool ok = r->outcome && strcmp(r->outcome, "ok") == 0;
    /* The first signal or alert about the subject: a signal reaching the
       broker (submitted), passed on (accepted), or an alert. A share into a
       case is also submitted as a signal, but only after its case opened,
       so it is never the first signal of that case. */
    if (has_subject && !has_case &&
        (strcmp(ev, "submitted") == 0 || strcmp(ev, "accepted") == 0 || strcmp(ev, "alert") == 0)) {
        char key[72];
        s_subject_key(&r->subject, key);
        /* The log is in time order: the first record seen is the earliest. */
        if (audit_counter_get(self->index, key) == 0 && t > 0 &&
            audit_counter_add(self->index, key, (uint64_t)t) != 0)
            return -1;
        return 0;
    }
    if (strncmp(ev, "case_", 5) != 0)
        return 0;
    bool in = s_in_period(self, t);
    char month[16];
    int y, m;
    audit_month_of(t, &y, &m);
    snprintf(month, sizeof month, "%04d-%02d", y % 10000, m);
    /* An opening or closing is counted as "cases" (below), not again as an
       event: two rows with one count would undo the suppression of one. */
    bool counted =
        ok && has_case && (strcmp(ev, "case_opened") == 0 || strcmp(ev, "case_closed") == 0);
    if (in && !counted) {
        char value[96];
        snprintf(value, sizeof value, "%s%s", ok ? "" : "refused:", ev);
        if (s_row(self, month, "event", value) != 0)
            return -1;
    }
    if (!ok || !has_case)
        return 0;
    if (strcmp(ev, "case_opened") == 0) {
        case_t *c = s_find(self, 'c', &r->case_id, true);
        if (!c)
            return -1;
        c->opened_ms = t;
        c->opened_in = in;
        if (has_subject) {
            char key[72];
            s_subject_key(&r->subject, key);
            uint64_t first = audit_counter_get(self->index, key);
            c->first_ms = first && (int64_t)first <= t ? (int64_t)first : 0;
        }
        if (in && (s_row(self, month, "cases", "opened") != 0 ||
                   s_participant(self, &r->case_id, r->actor_org) != 0))
            return -1;
    } else if (strcmp(ev, "case_joined") == 0) {
        if (in && s_participant(self, &r->case_id, r->actor_org) != 0)
            return -1;
    } else if (strcmp(ev, "case_closed") == 0) {
        if (!in)
            return 0;
        self->closed++;
        if (s_row(self, month, "cases", "closed") != 0 ||
            s_row(self, "all", "outcome", r->case_outcome) != 0)
            return -1;
        case_t *c = s_find(self, 'c', &r->case_id, false);
        if (c && c->opened_ms && t >= c->opened_ms) {
            if (s_grow((void **)&self->open_days, &self->cap_open, self->n_open, sizeof(double)) !=
                0)
                return -1;
            self->open_days[self->n_open++] = (double)(t - c->opened_ms) / DAY_MS;
        }
    } else if (strcmp(ev, "case_plan") == 0 && r->has_case_item &&
               r->case_item.len == CASE_ID_BYTES) {
        action_t *a = s_find(self, 'a', &r->case_item, true);
        if (!a)
            return -1;
        int64_t day;
        a->due_day = date_parse_cstr(r->due_date, &day) == 0 ? day : -1;
        a->planned_in = in;
    } else if (strcmp(ev, "case_action") == 0 && r->has_case_item &&
               r->case_item.len == CASE_ID_BYTES && r->case_action_state &&
               strcmp(r->case_action_state, "done") == 0) {
        action_t *a = s_find(self, 'a', &r->case_item, true);
        if (!a)
            return -1;
        if (a->done_ms == 0)
            a->done_ms = t;
    }
    return 0;
}

static int s_double_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts `days` and fills `out`. */
static void s_spread(double *days, size_t n, audit_case_spread_t *out)
{
    memset(out, 0, sizeof *out);
    out->cases = n;
    out->suppressed = audit_stats_is_small(n);
    if (n < AUDIT_STATS_THRESHOLD)
        return;
    qsort(days, n, sizeof *days, s_double_cmp);
    out->median = n % 2 ? days[n / 2] : (days[n / 2 - 1] + days[n / 2]) / 2;
    size_t rank = (9 * n + 9) / 10; /* ceil(0.9 n), 1-based; >= 5 since n >= 5 */
    out->p90 = days[rank - 1];
}

/* The local (Europe/Amsterdam) date of `ms` as days since 1970-01-01. */
static int64_t s_local_day(int64_t ms)
{
    struct tm tm;
    audit_local_tm(ms, &tm);
    char text[40];
    snprintf(text, sizeof text, "%04d-%02d-%02d", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100);
    int64_t day = 0;
    return date_parse_cstr(text, &day) == 0 ? day : 0;
}

int audit_case_stats_figures(audit_case_stats_t *self, int64_t now_ms, audit_case_figures_t *out)
{
    memset(out, 0, sizeof *out);
    double *lead = malloc((self->n_cases ? self->n_cases : 1) * sizeof *lead);
    double *open = malloc((self->n_open ? self->n_open : 1) * sizeof *open);
    if (!lead || !open) {
        free(lead);
        free(open);
        return -1;
    }
    size_t n_lead = 0;
    for (size_t i = 0; i < self->n_cases; i++) {
        const case_t *c = &self->cases[i];
        if (c->opened_in && c->opened_ms)
            out->opened++;
        if (c->opened_in && c->opened_ms && c->first_ms)
            lead[n_lead++] = (double)(c->opened_ms - c->first_ms) / DAY_MS;
    }
    /* A case closed without its case_opened in the log (purged, or a copy
       that starts later) counts as closed, without a duration. */
    out->closed = self->closed;
    if (self->n_open)
        memcpy(open, self->open_days, self->n_open * sizeof *open);
    s_spread(lead, n_lead, &out->lead);
    s_spread(open, self->n_open, &out->open);
    free(lead);
    free(open);
    int64_t today = s_local_day(now_ms);
    for (size_t i = 0; i < self->n_actions; i++) {
        const action_t *a = &self->actions[i];
        if (!a->planned_in || a->due_day < 0)
            continue;
        int64_t done_day = a->done_ms ? s_local_day(a->done_ms) : 0;
        if (!a->done_ms && a->due_day >= today)
            continue; /* not due yet */
        out->actions_due++;
        if (a->done_ms && done_day <= a->due_day)
            out->actions_on_time++;
    }
    out->actions_suppressed = audit_stats_is_small(out->actions_due);
    if (out->actions_due >= AUDIT_STATS_THRESHOLD)
        out->actions_percent = 100.0 * (double)out->actions_on_time / (double)out->actions_due;
    return 0;
}

const audit_count_t *audit_case_stats_rows(audit_case_stats_t *self, const audit_cell_t **cells,
                                           size_t *n, bool *failed)
{
    *failed = false;
    *cells = NULL;
    const audit_count_t *items = audit_counter_sorted(self->rows, n);
    if (!items) {
        *failed = *n != 0;
        *n = 0;
        return NULL;
    }
    audit_cell_t *grown = realloc(self->cells, *n * sizeof *grown);
    if (!grown) {
        *failed = true;
        *n = 0;
        return NULL;
    }
    self->cells = grown;
    /* Outcomes add up to the cases closed, which is published: a single
       hidden outcome would show through. Opened/closed per month, events
       and partners are not parts of a published whole. */
    static const char *const standalone[] = {"cases", "event", "partner", NULL};
    audit_stats_suppress(items, *n, self->cells, standalone);
    /* The months' opened and closed add up to the period's totals, which
       are published with the figures. */
    audit_stats_suppress_series(items, *n, self->cells, "cases", "opened");
    audit_stats_suppress_series(items, *n, self->cells, "cases", "closed");
    *cells = self->cells;
    return items;
}

/* A count of its own as published: the number or "<5". */
static void s_count_text(uint64_t count, char out[AUDIT_STATS_CELL_MAX])
{
    audit_stats_cell_text(count, audit_stats_is_small(count) ? AUDIT_CELL_SMALL : AUDIT_CELL_SHOWN,
                          out);
}

static void s_json_count(FILE *out, uint64_t count)
{
    char text[AUDIT_STATS_CELL_MAX];
    s_count_text(count, text);
    if (audit_stats_is_small(count))
        fprintf(out, "\"%s\"", text);
    else
        fputs(text, out);
}

static void s_json_spread(FILE *out, const char *key, const audit_case_spread_t *s)
{
    fprintf(out, "\"%s\":{\"cases\":", key);
    s_json_count(out, s->cases);
    if (s->cases >= AUDIT_STATS_THRESHOLD)
        fprintf(out, ",\"median\":%.1f,\"p90\":%.1f,\"suppressed\":false}", s->median, s->p90);
    else
        fprintf(out, ",\"median\":null,\"p90\":null,\"suppressed\":%s}",
                s->suppressed ? "true" : "false");
}

/* One spread in words (English: the tool's own language). */
static void s_text_spread(FILE *out, const char *what, const audit_case_spread_t *s)
{
    char n[AUDIT_STATS_CELL_MAX];
    s_count_text(s->cases, n);
    if (s->cases >= AUDIT_STATS_THRESHOLD)
        fprintf(out, "  %s: median %.1f, p90 %.1f (%s cases)\n", what, s->median, s->p90, n);
    else if (s->cases == 0)
        fprintf(out, "  %s: no cases\n", what);
    else
        fprintf(out, "  %s: not shown, it rests on fewer than %d cases (%s)\n", what,
                AUDIT_STATS_THRESHOLD, n);
}

int audit_case_stats_print(audit_case_stats_t *self, int64_t now_ms, bool json, FILE *out)
{
    audit_case_figures_t f;
    if (audit_case_stats_figures(self, now_ms, &f) != 0)
        return -1;
    size_t n = 0;
    bool failed = false;
    const audit_cell_t *cells = NULL;
    const audit_count_t *items = audit_case_stats_rows(self, &cells, &n, &failed);
    if (failed)
        return -1;
    char due[AUDIT_STATS_CELL_MAX];
    s_count_text(f.actions_due, due);
    if (json) {
        fprintf(out, "{\"by\":\"month\",\"threshold\":%d,\"rows\":[", AUDIT_STATS_THRESHOLD);
        audit_stats_print_rows(out, items, cells, n, true);
        fputs("\n],\"figures\":{\"cases_opened\":", out);
        s_json_count(out, f.opened);
        fputs(",\"cases_closed\":", out);
        s_json_count(out, f.closed);
        fputc(',', out);
        s_json_spread(out, "days_signal_to_case", &f.lead);
        fputc(',', out);
        s_json_spread(out, "days_open_to_closed", &f.open);
        fputs(",\"actions\":{\"due\":", out);
        s_json_count(out, f.actions_due);
        if (f.actions_due >= AUDIT_STATS_THRESHOLD)
            fprintf(out, ",\"percent\":%.1f,\"suppressed\":false}}}\n", f.actions_percent);
        else
            fprintf(out, ",\"percent\":null,\"suppressed\":%s}}}\n",
                    f.actions_suppressed ? "true" : "false");
        return 0;
    }
    fprintf(out,
            "Case conferences per month (UTC) and over the period (\"all\"). Counts below %d "
            "shown as \"<%d\"; \"x\" hides a count that would reveal one.\n%-8s %-8s %-40s %s\n",
            AUDIT_STATS_THRESHOLD, AUDIT_STATS_THRESHOLD, "MONTH", "WHAT", "VALUE", "COUNT");
    audit_stats_print_rows(out, items, cells, n, false);
    char opened[AUDIT_STATS_CELL_MAX], closed[AUDIT_STATS_CELL_MAX];
    s_count_text(f.opened, opened);
    s_count_text(f.closed, closed);
    fprintf(out, "\nFigures over the period:\n  cases opened: %s, closed: %s\n", opened, closed);
    s_text_spread(out, "days from the first signal or alert about the subject to the case",
                  &f.lead);
    s_text_spread(out, "days from opening to closing", &f.open);
    if (f.actions_due >= AUDIT_STATS_THRESHOLD)
        fprintf(out, "  plan actions done by their due date: %.1f%% of %s actions due\n",
                f.actions_percent, due);
    else if (f.actions_due == 0)
        fprintf(out, "  plan actions done by their due date: no actions due\n");
    else
        fprintf(out,
                "  plan actions done by their due date: not shown, it rests on fewer than %d "
                "actions (%s)\n",
                AUDIT_STATS_THRESHOLD, due);
    return 0;
}

/* A table of the rows of one dimension: "PERIOD | VALUE | COUNT". */
static void s_html_table(FILE *out, const char *id, const char *dim, const char *head,
                         const audit_count_t *items, const audit_cell_t *cells, size_t n,
                         bool with_period)
{
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = items[i].key, *t1 = strchr(k, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t1 || !t2 || strncmp(t1 + 1, dim, strlen(dim)) != 0 ||
            (size_t)(t2 - t1 - 1) != strlen(dim))
            continue;
        if (shown++ == 0) {
            fprintf(out, "<table id=\"%s\"><thead><tr>", id);
            if (with_period)
                fputs("<th>Maand (month)</th>", out);
            fprintf(out, "<th>%s</th><th class=\"num\">Aantal (count)</th></tr></thead><tbody>\n",
                    head);
        }
        char period[16], cell[AUDIT_STATS_CELL_MAX];
        snprintf(period, sizeof period, "%.*s", (int)(t1 - k), k);
        audit_stats_cell_text(items[i].count, cells[i], cell);
        fputs("<tr>", out);
        if (with_period)
            fprintf(out, "<td>%s</td>", period);
        fputs("<td><code>", out);
        audit_html_text(out, t2 + 1);
        fputs("</code></td><td class=\"num\">", out);
        audit_html_text(out, cell);
        fputs("</td></tr>\n", out);
    }
    if (shown)
        fputs("</tbody></table>\n", out);
    else
        fputs("<p class=\"empty\">Geen (none).</p>\n", out);
}

static void s_html_spread(FILE *out, const char *id, const char *what, const audit_case_spread_t *s)
{
    char n[AUDIT_STATS_CELL_MAX];
    s_count_text(s->cases, n);
    fprintf(out, "<tr><th>%s</th><td id=\"%s\">", what, id);
    if (s->cases >= AUDIT_STATS_THRESHOLD)
        fprintf(out, "mediaan (median) %.1f, p90 %.1f dagen (days) — %s casussen (cases)",
                s->median, s->p90, n);
    else if (s->cases == 0)
        fputs("geen casussen (no cases)", out);
    else
        fprintf(out,
                "niet getoond: minder dan %d casussen (not shown: fewer than %d cases, "
                "&lt;%d)",
                AUDIT_STATS_THRESHOLD, AUDIT_STATS_THRESHOLD, AUDIT_STATS_THRESHOLD);
    fputs("</td></tr>\n", out);
}

int audit_case_stats_html(audit_case_stats_t *self, int64_t now_ms, FILE *out)
{
    audit_case_figures_t f;
    if (audit_case_stats_figures(self, now_ms, &f) != 0)
        return -1;
    size_t n = 0;
    bool failed = false;
    const audit_cell_t *cells = NULL;
    const audit_count_t *items = audit_case_stats_rows(self, &cells, &n, &failed);
    if (failed)
        return -1;
    fprintf(out,
            "<section id=\"cases\">\n<h2>Casuïstiekoverleg (case conferences)</h2>\n"
            "<p class=\"note\">De cijfers voor evaluatie, dezelfde als <code>hartslag audit stats "
            "--cases</code>: aantallen van 1 tot %d staan er als &lt;%d, een tweede aantal als "
            "x waar het verborgen aantal anders uit het totaal volgt; een mediaan of percentage "
            "op minder dan %d casussen of acties wordt niet gegeven (docs/evaluation.md). "
            "(Figures for evaluation, as in <code>stats --cases</code>; small counts "
            "suppressed.)</p>\n",
            AUDIT_STATS_THRESHOLD - 1, AUDIT_STATS_THRESHOLD, AUDIT_STATS_THRESHOLD);
    if (n == 0) {
        fputs("<p class=\"empty\">Geen casussen in deze periode (no case conferences in this "
              "period).</p>\n</section>\n",
              out);
        return 0;
    }
    char opened[AUDIT_STATS_CELL_MAX], closed[AUDIT_STATS_CELL_MAX], due[AUDIT_STATS_CELL_MAX];
    s_count_text(f.opened, opened);
    s_count_text(f.closed, closed);
    s_count_text(f.actions_due, due);
    fputs("<table class=\"kv\" id=\"case-figures\"><tbody>\n", out);
    fprintf(out, "<tr><th>Casussen geopend / gesloten (cases opened / closed)</th><td "
                 "id=\"case-counts\">");
    audit_html_text(out, opened);
    fputs(" / ", out);
    audit_html_text(out, closed);
    fputs("</td></tr>\n", out);
    s_html_spread(out, "case-lead",
                  "Dagen van eerste signaal of melding tot casus (days from the first signal or "
                  "alert to the case)",
                  &f.lead);
    s_html_spread(out, "case-duration",
                  "Dagen van opening tot afsluiting (days from opening to closing)", &f.open);
    fputs("<tr><th>Acties uit het plan op tijd gedaan (plan actions done by their due "
          "date)</th><td id=\"case-actions\">",
          out);
    if (f.actions_due >= AUDIT_STATS_THRESHOLD) {
        fprintf(out, "%.1f%% van (of) ", f.actions_percent);
        audit_html_text(out, due);
        fputs(" verlopen acties (actions due)", out);
    } else if (f.actions_due == 0)
        fputs("geen acties verlopen (no actions due)", out);
    else
        fprintf(out, "niet getoond: minder dan %d acties (not shown: fewer than %d actions)",
                AUDIT_STATS_THRESHOLD, AUDIT_STATS_THRESHOLD);
    fputs("</td></tr>\n</tbody></table>\n", out);
    fputs("<h3>Geopend en gesloten per maand (opened and closed per month)</h3>\n", out);
    s_html_table(out, "case-months", "cases", "Wat (what)", items, cells, n, true);
    fputs("<h3>Uitkomsten (outcomes)</h3>\n", out);
    s_html_table(out, "case-outcomes", "outcome", "Uitkomst (outcome code)", items, cells, n,
                 false);
    fputs("<h3>Deelname per partner (cases each partner coordinated or joined)</h3>\n", out);
    s_html_table(out, "case-partners", "partner", "Partner", items, cells, n, false);
    fputs("<h3>Gebeurtenissen per maand (case events per month)</h3>\n", out);
    s_html_table(out, "case-events", "event", "Gebeurtenis (event)", items, cells, n, true);
    fputs("</section>\n", out);
    return 0;
}
