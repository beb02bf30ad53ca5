/*  hartslag audit report | stats: overviews of a copy of the broker's audit
    store for the privacy officers.

    report  one self-contained HTML page: no scripts, no network (a
            Content-Security-Policy forbids both), inline CSS and SVG
            charts drawn here. Every text from the store is HTML-escaped.
            It shows no subject pseudonyms and no employee names.
    stats   counts per month for publication: counts of 1..4 are shown as
            "<5", with a second cell suppressed where one hidden count
            could otherwise be worked out from the month's total. */
#include "audit_case_stats.h"
#include "audit_events.h"
#include "audit_read.h"
#include "audit_stats_table.h"
#include "audit_store.h"
#include "cmd_audit.h"
#include "commands.h"
#include "partners.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DAY_MS 86400000LL
#define REPORT_BUCKETS_MAX 400     /* time buckets in one chart */
#define REPORT_SERIES_MAX 9        /* coloured series; the rest is "other" */
#define REPORT_LIST_MAX 200        /* latest alerts / administrative events listed */
#define REPORT_WEEKS_SPAN_DAYS 120 /* up to this span: weeks, else months */
#define KEY_MAX AUDIT_COUNTER_KEY_MAX

static int64_t s_ms(uint64_t t)
{
    return t > INT64_MAX ? INT64_MAX : (int64_t)t;
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "politie -> gemeente": the sender and the recipient of an exchange. */
static void s_pair(const Hartslag__AuditRecord *r, char *out, size_t len)
{
    const char *from = r->on_behalf_of ? r->on_behalf_of : r->actor_org;
    char a[100], b[100];
    audit_clean_text(from ? from : "?", a, sizeof a);
    audit_clean_text(r->counterpart_org ? r->counterpart_org : "?", b, sizeof b);
    snprintf(out, len, "%s -> %s", a, b);
}

/* A record's text cleaned for use in a counter key (no tabs, no controls). */
static const char *s_clean(const char *text, char *out, size_t len)
{
    audit_clean_text(text ? text : "?", out, len);
    return out;
}

/* ------------------------------------------------------------------------
   Report: aggregation */

/* One record kept for a list in the report. */
typedef struct {
    int64_t time_ms;      /* when */
    char event[32];       /* event name */
    char actor[64];       /* actor org */
    char counterpart[64]; /* counterpart org */
    char type[128];       /* signal type */
    char reason[256];     /* reason, in words */
    char rule[128];       /* agreement_id (an alert's rule) */
    bool has_version;     /* agreements_version is set */
    uint64_t version;     /* agreements_version (agreements_loaded) */
} report_item_t;

/* The latest REPORT_LIST_MAX items (a ring). */
typedef struct {
    report_item_t items[REPORT_LIST_MAX]; /* ring storage */
    size_t next;                          /* where the next goes */
    uint64_t total;                       /* all ever added */
} report_list_t;

static void s_list_add(report_list_t *list, const Hartslag__AuditRecord *r)
{
    report_item_t *it = &list->items[list->next];
    list->next = (list->next + 1) % REPORT_LIST_MAX;
    list->total++;
    it->time_ms = s_ms(r->time_ms);
    audit_clean_text(r->event, it->event, sizeof it->event);
    audit_clean_text(r->actor_org, it->actor, sizeof it->actor);
    audit_clean_text(r->counterpart_org, it->counterpart, sizeof it->counterpart);
    audit_clean_text(r->signal_type, it->type, sizeof it->type);
    /* Alerts carry their rule as agreement_id and "joined:ORG"/"lead:ORG"
       as reason; older logs carried the rule as reason. */
    bool token = r->reason && (strncmp(r->reason, "joined:", 7) == 0 ||
                               strncmp(r->reason, "lead:", 5) == 0 || !r->agreement_id);
    if (strcmp(it->event, "alert") == 0 || strcmp(it->event, "alert_handled") == 0) {
        audit_clean_text(r->agreement_id ? r->agreement_id : r->reason, it->rule, sizeof it->rule);
        if (r->agreement_id && token)
            audit_reason_describe(r->reason, false, it->reason, sizeof it->reason);
        else
            it->reason[0] = '\0';
    } else {
        audit_clean_text(r->agreement_id, it->rule, sizeof it->rule);
        audit_reason_describe(r->reason, false, it->reason, sizeof it->reason);
    }
    it->has_version = r->has_agreements_version;
    it->version = r->agreements_version;
}

/* Everything the report shows that comes from the records. */
typedef struct {
    bool weekly;               /* buckets are weeks (else months) */
    int64_t min_ms, max_ms;    /* time span of all records */
    uint64_t records;          /* records read */
    audit_counter_t *events;   /* event -> count */
    audit_counter_t *pairs;    /* "bucket\tpair" and "\tpair" (total) */
    audit_counter_t *purposes; /* "bucket\tpurpose" and "\tpurpose" */
    audit_counter_t *denials;  /* reason -> count (not agreement:allowed) */
    audit_counter_t *bases;    /* "agreement\tlegal basis" of accepted -> count */
    uint64_t other_denied;     /* denied only because another recipient was not allowed */
    audit_counter_t *ends;     /* "bucket\twithdrawn|expired|rejected_by_recipient" */
    report_list_t alerts;      /* alert and alert_handled */
    report_list_t admin;       /* auth_failed, partner_*, agreements_loaded, recovered, purged */
    audit_case_stats_t *cases; /* case conference figures (from a walk of the whole log) */
    bool failed;               /* out of memory */
} report_data_t;

static int s_case_walk(audit_reader_t *reader, audit_case_stats_t *stats, uint64_t *unreadable,
                       char *err, size_t errlen);

static void s_bucket(const report_data_t *d, int64_t ms, char out[16])
{
    if (d->weekly) {
        int64_t day = audit_day_of(ms);
        int64_t monday = day - (((day + 3) % 7) + 7) % 7;
        audit_format_date(monday * DAY_MS, out);
    } else {
        int y, m;
        audit_month_of(ms, &y, &m);
        snprintf(out, 16, "%04d-%02d", y % 10000, m);
    }
}

static int s_span(void *arg, uint64_t index, const Hartslag__AuditRecord *r)
{
    (void)index;
    report_data_t *d = arg;
    int64_t t = s_ms(r->time_ms);
    if (d->records == 0 || t < d->min_ms)
        d->min_ms = t;
    if (d->records == 0 || t > d->max_ms)
        d->max_ms = t;
    d->records++;
    return 0;
}

static void s_add2(report_data_t *d, audit_counter_t *c, const char *bucket, const char *value)
{
    char key[KEY_MAX], clean[KEY_MAX / 2];
    value = s_clean(value, clean, sizeof clean);
    snprintf(key, sizeof key, "%s\t%s", bucket, value);
    if (audit_counter_add(c, key, 1) != 0)
        d->failed = true;
    snprintf(key, sizeof key, "\t%s", value);
    if (audit_counter_add(c, key, 1) != 0)
        d->failed = true;
}

static int s_gather(void *arg, uint64_t index, const Hartslag__AuditRecord *r)
{
    (void)index;
    report_data_t *d = arg;
    const char *ev = r->event;
    char bucket[16], pair[256];
    s_bucket(d, s_ms(r->time_ms), bucket);
    char clean[KEY_MAX / 2];
    if (audit_counter_add(d->events, s_clean(ev, clean, sizeof clean), 1) != 0)
        d->failed = true;
    if (strcmp(ev, "accepted") == 0) {
        s_pair(r, pair, sizeof pair);
        s_add2(d, d->pairs, bucket, pair);
        s_add2(d, d->purposes, bucket, r->purpose ? r->purpose : "?");
        char key[KEY_MAX], basis[KEY_MAX / 2];
        snprintf(key, sizeof key, "%s\t%s", s_clean(r->agreement_id, clean, sizeof clean),
                 s_clean(r->legal_basis, basis, sizeof basis));
        if (audit_counter_add(d->bases, key, 1) != 0)
            d->failed = true;
    } else if (strcmp(ev, "denied") == 0) {
        if (audit_reason_is_other_recipient(r->reason))
            d->other_denied++;
        else if (audit_counter_add(d->denials, s_clean(r->reason, clean, sizeof clean), 1) != 0)
            d->failed = true;
    } else if (strcmp(ev, "withdrawn") == 0 || strcmp(ev, "expired") == 0 ||
               strcmp(ev, "rejected_by_recipient") == 0) {
        s_add2(d, d->ends, bucket, ev);
    } else if (strcmp(ev, "alert") == 0 || strcmp(ev, "alert_handled") == 0) {
        s_list_add(&d->alerts, r);
    } else if (strcmp(ev, "auth_failed") == 0 || strcmp(ev, "partner_added") == 0 ||
               strcmp(ev, "partner_revoked") == 0 || strcmp(ev, "agreements_loaded") == 0 ||
               strcmp(ev, "agreements_refused") == 0 || strcmp(ev, "recovered") == 0 ||
               strcmp(ev, "purged") == 0) {
        s_list_add(&d->admin, r);
    }
    return d->failed ? -1 : 0;
}

/* The bucket labels from the first to the last record, without gaps. */
static size_t s_buckets(const report_data_t *d, char labels[][16], size_t max)
{
    if (d->records == 0)
        return 0;
    size_t n = 0;
    if (d->weekly) {
        int64_t first = audit_day_of(d->min_ms), last = audit_day_of(d->max_ms);
        first -= ((first + 3) % 7 + 7) % 7;
        for (int64_t day = first; day <= last && n < max; day += 7)
            audit_format_date(day * DAY_MS, labels[n++]);
    } else {
        int y, m, y1, m1;
        audit_month_of(d->min_ms, &y, &m);
        audit_month_of(d->max_ms, &y1, &m1);
        while ((y < y1 || (y == y1 && m <= m1)) && n < max) {
            snprintf(labels[n++], 16, "%04d-%02d", y % 10000, m);
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    return n;
}

/* ------------------------------------------------------------------------
   Report: SVG charts */

static const char *s_colours[] = {"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9",
                                  "#d55e00", "#b59f00", "#332288", "#882255", "#999999"};

/* A "nice" step (1, 2 or 5 times a power of ten) so that 4 steps cover max. */
static uint64_t s_nice_step(uint64_t max)
{
    uint64_t raw = (max + 3) / 4;
    uint64_t p = 1;
    while (p * 10 <= raw)
        p *= 10;
    if (raw <= p)
        return p;
    if (raw <= 2 * p)
        return 2 * p;
    if (raw <= 5 * p)
        return 5 * p;
    return 10 * p;
}

/* A stacked bar chart: counts[s * nb + b] for series s in bucket b. */
static void s_chart_stacked(FILE *f, const char *label, size_t nb, char labels[][16], size_t ns,
                            char names[][KEY_MAX], const uint64_t *counts)
{
    const double W = 960, H = 300, left = 56, right = 12, top = 16, bottom = 74;
    double pw = W - left - right, ph = H - top - bottom;
    uint64_t max = 0;
    for (size_t b = 0; b < nb; b++) {
        uint64_t sum = 0;
        for (size_t s = 0; s < ns; s++)
            sum += counts[s * nb + b];
        if (sum > max)
            max = sum;
    }
    uint64_t step = s_nice_step(max ? max : 1);
    uint64_t top_value = step * 4;
    fprintf(f, "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", W, H);
    audit_html_text(f, label);
    fprintf(f, "\">\n");
    for (int i = 0; i <= 4; i++) {
        double y = top + ph - ph * i / 4.0;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" class=\"ylab\">%" PRIu64 "</text>\n",
                left, y, W - right, y, left - 6, y + 4, step * (uint64_t)i);
    }
    double bw = pw / (double)(nb ? nb : 1);
    size_t every = nb > 24 ? (nb + 23) / 24 : 1;
    for (size_t b = 0; b < nb; b++) {
        double x = left + bw * (double)b;
        double y = top + ph;
        for (size_t s = 0; s < ns; s++) {
            uint64_t c = counts[s * nb + b];
            if (c == 0)
                continue;
            double h = ph * (double)c / (double)top_value;
            y -= h;
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                    "<title>",
                    x + bw * 0.1, y, bw * 0.8, h, s_colours[s % 10]);
            audit_html_text(f, names[s]);
            fprintf(f, ", %s: %" PRIu64 "</title></rect>\n", labels[b], c);
        }
        if (b % every == 0)
            fprintf(
                f,
                "<text class=\"xlab\" transform=\"translate(%.1f %.1f) rotate(-45)\">%s</text>\n",
                x + bw / 2, top + ph + 12, labels[b]);
    }
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"axis\"/>\n", left,
            top + ph, W - right, top + ph);
    fprintf(f, "</svg>\n<ul class=\"legend\">\n");
    for (size_t s = 0; s < ns; s++) {
        fprintf(f, "<li><span class=\"swatch\" style=\"background:%s\"></span>", s_colours[s % 10]);
        audit_html_text(f, names[s]);
        fprintf(f, "</li>\n");
    }
    fprintf(f, "</ul>\n");
}

/* A horizontal bar chart of (label, count) pairs. */
static void s_chart_bars(FILE *f, const char *label, const audit_count_t *items, size_t n)
{
    const double W = 960, row = 24, lw = 380, right = 60;
    double H = row * (double)n + 10;
    uint64_t max = 1;
    for (size_t i = 0; i < n; i++)
        if (items[i].count > max)
            max = items[i].count;
    fprintf(f, "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", W, H);
    audit_html_text(f, label);
    fprintf(f, "\">\n");
    for (size_t i = 0; i < n; i++) {
        double y = 5 + row * (double)i;
        double w = (W - lw - right) * (double)items[i].count / (double)max;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"blab\">", lw - 8, y + row * 0.65);
        audit_html_text(f, items[i].key);
        fprintf(f,
                "</text><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                "<title>",
                lw, y + 3, w < 1 ? 1 : w, row - 6, s_colours[5]);
        audit_html_text(f, items[i].key);
        fprintf(f,
                ": %" PRIu64 "</title></rect><text x=\"%.1f\" y=\"%.1f\" class=\"bval\">%" PRIu64
                "</text>\n",
                items[i].count, lw + (w < 1 ? 1 : w) + 6, y + row * 0.65, items[i].count);
    }
    fprintf(f, "</svg>\n");
}

static int s_count_desc(const void *a, const void *b)
{
    const audit_count_t *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->key, y->key);
}

/* Chart and table of one "bucket\tvalue" counter: the biggest series get a
   colour each, the rest is summed as "other". */
static int s_time_section(FILE *f, audit_counter_t *c, size_t nb, char labels[][16],
                          const char *what, const char *column)
{
    size_t n_all = 0;
    const audit_count_t *all = audit_counter_sorted(c, &n_all);
    /* totals are the keys starting with a tab */
    audit_count_t *totals = calloc(n_all ? n_all : 1, sizeof *totals);
    if (!totals)
        return -1;
    size_t nt = 0;
    for (size_t i = 0; i < n_all; i++)
        if (all[i].key[0] == '\t')
            totals[nt++] = (audit_count_t){all[i].key + 1, all[i].count};
    if (nt == 0) {
        fprintf(f, "<p class=\"empty\">Geen gegevens in deze periode (no data).</p>\n");
        free(totals);
        return 0;
    }
    qsort(totals, nt, sizeof *totals, s_count_desc);
    size_t ns = nt > REPORT_SERIES_MAX + 1 ? REPORT_SERIES_MAX + 1 : nt;
    char(*names)[KEY_MAX] = calloc(ns, sizeof *names);
    uint64_t *counts = calloc(ns * (nb ? nb : 1), sizeof *counts);
    if (!names || !counts) {
        free(names);
        free(counts);
        free(totals);
        return -1;
    }
    for (size_t s = 0; s < ns; s++)
        snprintf(names[s], KEY_MAX, "%s",
                 s == REPORT_SERIES_MAX && nt > ns ? "overige (other)" : totals[s].key);
    for (size_t t = 0; t < nt; t++) {
        size_t s = t < ns ? t : ns - 1;
        for (size_t b = 0; b < nb; b++) {
            char key[KEY_MAX];
            snprintf(key, sizeof key, "%s\t%s", labels[b], totals[t].key);
            counts[s * nb + b] += audit_counter_get(c, key);
        }
    }
    s_chart_stacked(f, what, nb, labels, ns, names, counts);
    fprintf(f, "<table><thead><tr><th>");
    audit_html_text(f, column);
    fprintf(f, "</th><th class=\"num\">Totaal (total)</th></tr></thead><tbody>\n");
    for (size_t t = 0; t < nt; t++) {
        fprintf(f, "<tr><td>");
        audit_html_text(f, totals[t].key);
        fprintf(f, "</td><td class=\"num\">%" PRIu64 "</td></tr>\n", totals[t].count);
    }
    fprintf(f, "</tbody></table>\n");
    free(names);
    free(counts);
    free(totals);
    return 0;
}

static void s_list_table(FILE *f, const report_list_t *list, bool with_type)
{
    if (list->total == 0) {
        fprintf(f, "<p class=\"empty\">Geen (none).</p>\n");
        return;
    }
    size_t n = list->total < REPORT_LIST_MAX ? (size_t)list->total : REPORT_LIST_MAX;
    if (list->total > n)
        fprintf(f, "<p>De laatste %zu van %" PRIu64 " (the latest %zu of %" PRIu64 ").</p>\n", n,
                list->total, n, list->total);
    fprintf(f,
            "<table><thead><tr><th>Tijd (local time)</th><th>Gebeurtenis (event)</th><th>Door "
            "(actor)</th><th>Betreft (counterpart)</th>%s<th>%s</th><th>Toelichting "
            "(details)</th></tr></thead><tbody>\n",
            with_type ? "<th>Soort (type)</th>" : "",
            with_type ? "Regel (rule)" : "Afspraak / versie (agreement / version)");
    /* newest first */
    for (size_t i = 0; i < n; i++) {
        size_t at = (list->next + REPORT_LIST_MAX - 1 - i) % REPORT_LIST_MAX;
        const report_item_t *it = &list->items[at];
        char when[AUDIT_READ_LOCAL_MAX];
        audit_format_local(it->time_ms, when);
        fprintf(f, "<tr><td>%s</td><td>", when);
        audit_html_text(f, audit_event_describe(it->event, false));
        fprintf(f, "</td><td>");
        audit_html_text(f, it->actor);
        fprintf(f, "</td><td>");
        audit_html_text(f, it->counterpart);
        if (with_type) {
            fprintf(f, "</td><td>");
            audit_html_text(f, it->type);
        }
        fprintf(f, "</td><td>");
        audit_html_text(f, it->rule);
        if (!with_type && it->has_version)
            fprintf(f, "%sversie (version) %" PRIu64, it->rule[0] ? ", " : "", it->version);
        fprintf(f, "</td><td>");
        audit_html_text(f, it->reason);
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</tbody></table>\n");
}

/* ------------------------------------------------------------------------
   Report: checkpoints and cosignatures (read from their tables) */

/* A cosignature row of the latest checkpoint. */
typedef struct {
    FILE *f;
    const partners_t *partners;
    size_t cosigned;
} s_cosigned_t;

static int s_cosigned_row(void *arg, const audit_cosignature_t *c)
{
    s_cosigned_t *rows = arg;
    FILE *f = rows->f;
    char when[AUDIT_READ_LOCAL_MAX];
    audit_format_local(c->received_ms, when);
    fprintf(f, "<tr class=\"cosigned\"><td>");
    const cert_t *cert = rows->partners && c->org ? partners_by_org(rows->partners, c->org) : NULL;
    if (cert) {
        audit_html_text(f, cert->name);
        fprintf(f, " (");
    }
    audit_html_text(f, c->org);
    fprintf(f, "%s</td><td>%s</td></tr>\n", cert ? ")" : "", when);
    rows->cosigned++;
    return 0;
}

/* A partner's latest cosigned size. */
static int s_cosigner_row(void *arg, const audit_cosignature_t *c)
{
    FILE *f = arg;
    char when[AUDIT_READ_LOCAL_MAX];
    audit_format_local(c->received_ms, when);
    fprintf(f, "<tr><td>");
    audit_html_text(f, c->org);
    fprintf(f, "</td><td class=\"num\">%" PRId64 "</td><td>%s</td></tr>\n", (int64_t)c->size, when);
    return 0;
}

static void s_checkpoints(FILE *f, audit_store_t *store, const partners_t *partners)
{
    uint64_t records = 0, n_checkpoints = 0, latest = 0;
    int64_t log_size = 0;
    if (audit_store_record_count(store, &records) == 0)
        log_size = records > INT64_MAX ? INT64_MAX : (int64_t)records;
    int64_t n_cp = 0, cp_size = -1, cp_ms = 0;
    if (audit_store_checkpoint_count(store, &n_checkpoints) != 0) {
        fprintf(f, "<p class=\"bad\">Deze kopie bevat geen checkpoint-tabel (no checkpoints "
                   "table).</p>\n");
        return;
    }
    n_cp = n_checkpoints > INT64_MAX ? INT64_MAX : (int64_t)n_checkpoints;
    if (audit_store_checkpoint_latest(store, &latest, NULL, 0, NULL, &cp_ms) == 1)
        cp_size = latest > INT64_MAX ? INT64_MAX : (int64_t)latest;
    fprintf(f, "<table class=\"kv\"><tbody>\n");
    fprintf(f,
            "<tr><th>Records in het logboek (log size)</th><td id=\"log-size\">%" PRId64
            "</td></tr>\n",
            log_size);
    fprintf(f, "<tr><th>Checkpoints opgeslagen (stored)</th><td>%" PRId64 "</td></tr>\n", n_cp);
    if (cp_size >= 0) {
        char when[AUDIT_READ_LOCAL_MAX];
        audit_format_local(cp_ms, when);
        fprintf(f,
                "<tr><th>Laatste checkpoint (latest)</th><td id=\"latest-checkpoint\">grootte "
                "(size) %" PRId64 ", %s</td></tr>\n",
                cp_size, when);
        if (log_size < cp_size)
            fprintf(f,
                    "<tr><th>Records na het laatste checkpoint (not yet covered)</th>"
                    "<td class=\"bad\" id=\"truncated\">ONVOLLEDIG: deze kopie eindigt %" PRId64
                    " records vóór het laatste checkpoint (INCOMPLETE: this copy ends %" PRId64
                    " records before the latest checkpoint)</td></tr>\n",
                    cp_size - log_size, cp_size - log_size);
        else
            fprintf(f,
                    "<tr><th>Records na het laatste checkpoint (not yet covered)</th><td>%" PRId64
                    "</td></tr>\n",
                    log_size - cp_size);
    } else
        fprintf(f, "<tr><th>Laatste checkpoint (latest)</th><td class=\"bad\">geen (none)</td>"
                   "</tr>\n");
    fprintf(f, "</tbody></table>\n");
    if (cp_size < 0)
        return;
    fprintf(f, "<h3>Medeondertekeningen van het laatste checkpoint (cosignatures of the latest "
               "checkpoint)</h3>\n");
    fprintf(f, "<table id=\"cosigners\"><thead><tr><th>Partner</th><th>Ontvangen "
               "(received, local time)</th></tr></thead><tbody>\n");
    s_cosigned_t rows = {f, partners, 0};
    audit_store_cosignatures_each(store, cp_size, s_cosigned_row, &rows);
    size_t cosigned = rows.cosigned;
    /* Partners that have not cosigned it (only known with --partners). */
    for (size_t i = 0; partners && i < partners_count(partners); i++) {
        const cert_t *cert = partners_at(partners, i);
        if (cert->role != CERT_ROLE_PARTNER && cert->role != CERT_ROLE_COORDINATOR)
            continue;
        if (audit_store_cosigned(store, (uint64_t)cp_size, cert->org) == 1)
            continue;
        fprintf(f, "<tr class=\"missing\"><td>");
        audit_html_text(f, cert->name);
        fprintf(f, " (");
        audit_html_text(f, cert->org);
        fprintf(f, ")</td><td class=\"bad\">niet medeondertekend (not cosigned)</td></tr>\n");
    }
    if (cosigned == 0 && !partners)
        fprintf(f, "<tr><td colspan=\"2\" class=\"bad\">Geen medeondertekeningen (no "
                   "cosignatures)</td></tr>\n");
    fprintf(f, "</tbody></table>\n");
    fprintf(f, "<h3>Laatst medeondertekend per partner (latest cosigned size per partner)</h3>\n"
               "<table><thead><tr><th>Partner</th><th class=\"num\">Grootte (size)</th>"
               "<th>Ontvangen (received, local time)</th></tr></thead><tbody>\n");
    audit_store_cosigners_each(store, s_cosigner_row, f);
    fprintf(f, "</tbody></table>\n<p class=\"note\">Dit rapport toont wat is opgeslagen; de "
               "handtekeningen en de boom controleert <code>hartslag audit verify</code> "
               "(this report shows what is stored; <code>hartslag audit verify</code> checks the "
               "signatures and the tree).</p>\n");
}

/* ------------------------------------------------------------------------
   Report: the page */

static const char *s_css =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
    "color:#1b1b1b;background:#fafafa}"
    "header{background:#163a5f;color:#fff;padding:18px 32px}header h1{margin:0 0 4px;"
    "font-size:24px}header p{margin:2px 0;opacity:.9}"
    "nav{padding:8px 32px;background:#e8eef4;font-size:14px}nav a{margin-right:14px;"
    "color:#163a5f}"
    "main{padding:8px 32px 32px;max-width:1100px}"
    "section{background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:8px 20px 16px;"
    "margin:16px 0}"
    "h2{font-size:19px;color:#163a5f}h3{font-size:16px}"
    "table{border-collapse:collapse;margin:8px 0;font-size:14px}"
    "th,td{border-bottom:1px solid #e3e3e3;padding:4px 10px;text-align:left;vertical-align:top}"
    "th{background:#f1f4f7}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}"
    "table.kv th{width:340px}"
    ".chart{width:100%;height:auto;max-width:960px;display:block}"
    ".chart .grid{stroke:#e3e3e3}.chart .axis{stroke:#555}"
    ".chart text{font-size:11px;fill:#333}.chart .ylab{text-anchor:end}"
    ".chart .xlab{text-anchor:end}.chart .blab{text-anchor:end;font-size:12px}"
    ".legend{list-style:none;padding:0;margin:4px 0 8px;display:flex;flex-wrap:wrap;gap:4px 16px;"
    "font-size:13px}"
    ".swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:-1px;"
    "border-radius:2px}"
    ".empty{color:#666;font-style:italic}.bad{color:#a00000;font-weight:600}"
    ".note{color:#555;font-size:13px}.good{color:#006400;font-weight:600}.big{font-size:18px}"
    ".verdict.warn{border:3px solid #a00000}.verdict.ok{border:2px solid #006400}"
    "footer{padding:0 32px 24px;color:#666;font-size:12px}";

/* The verdict at the top: may this report be relied on? */
static void s_verdict(FILE *f, const audit_check_t *check)
{
    fprintf(f,
            "<section id=\"verdict\" class=\"verdict %s\">\n<h2>Controle van het logboek "
            "(verification)</h2>\n",
            check->state == AUDIT_CHECK_OK && !check->truncated ? "ok" : "warn");
    if (check->truncated)
        fprintf(f,
                "<p class=\"bad big\" id=\"verdict-truncated\">WAARSCHUWING: deze kopie is "
                "ONVOLLEDIG — er ontbreken %" PRIu64 " records die een ondertekend checkpoint "
                "wel bevat. Dit rapport is niet volledig; vraag een nieuwe kopie (WARNING: this "
                "copy is INCOMPLETE — %" PRIu64 " records that a signed checkpoint covers are "
                "missing).</p>\n",
                check->missing, check->missing);
    if (check->state == AUDIT_CHECK_OK)
        fprintf(f, "<p class=\"good big\" id=\"verdict-ok\">GOED: het logboek is gecontroleerd "
                   "en klopt (OK: the log verifies).</p>\n");
    else if (check->state == AUDIT_CHECK_FAULT) {
        fprintf(f, "<p class=\"bad big\" id=\"verdict-fault\">FOUT: het logboek klopt niet "
                   "(FAULT: ");
        audit_html_text(f, audit_fault_name(check->report.kind));
        fprintf(f, "). Dit rapport kan onjuist zijn.</p>\n");
    } else
        fprintf(f, "<p class=\"bad big\" id=\"verdict-unverified\">NIET GECONTROLEERD: geef "
                   "<code>--broker-cert</code> om het logboek te controleren (NOT VERIFIED: give "
                   "the broker's certificate).</p>\n");
    fprintf(f, "<table class=\"kv\"><tbody>\n");
    if (check->state != AUDIT_CHECK_UNVERIFIED) {
        fprintf(f, "<tr><th>Uitkomst (result)</th><td>");
        audit_html_text(f, check->report.detail);
        fprintf(f, "</td></tr>\n");
    }
    if (check->has_cert)
        fprintf(f,
                "<tr><th>Vingerafdruk sleutel broker (broker key fingerprint)</th>"
                "<td id=\"fingerprint\"><code>%s</code> — vergelijk met <code>hartslag keys "
                "show broker.cert</code></td></tr>\n",
                check->fingerprint);
    fprintf(f, "</tbody></table>\n</section>\n");
}

/* Records per agreement and legal basis (accepted records). */
static void s_bases(FILE *f, audit_counter_t *bases)
{
    size_t n = 0;
    const audit_count_t *rows = audit_counter_sorted(bases, &n);
    if (n == 0) {
        fprintf(f, "<p class=\"empty\">Geen uitwisselingen (no exchanges).</p>\n");
        return;
    }
    fprintf(f, "<table id=\"bases-table\"><thead><tr><th>Afspraak (agreement)</th><th>Wettelijke "
               "grondslag (legal basis)</th><th class=\"num\">Uitwisselingen (exchanges)</th>"
               "</tr></thead><tbody>\n");
    for (size_t i = 0; i < n; i++) {
        const char *tab = strchr(rows[i].key, '\t');
        fprintf(f, "<tr><td>");
        char agreement[KEY_MAX];
        snprintf(agreement, sizeof agreement, "%.*s",
                 (int)(tab ? (size_t)(tab - rows[i].key) : strlen(rows[i].key)), rows[i].key);
        audit_html_text(f, agreement);
        fprintf(f, "</td><td>");
        audit_html_text(f, tab ? tab + 1 : "");
        fprintf(f, "</td><td class=\"num\">%" PRIu64 "</td></tr>\n", rows[i].count);
    }
    fprintf(f, "</tbody></table>\n");
}

static int s_write_report(FILE *f, audit_reader_t *reader, report_data_t *d,
                          const partners_t *partners, const audit_check_t *check,
                          const audit_filter_t *period)
{
    char labels[REPORT_BUCKETS_MAX][16];
    size_t nb = s_buckets(d, labels, REPORT_BUCKETS_MAX);
    const char *origin = audit_reader_origin(reader);
    char generated[AUDIT_READ_LOCAL_MAX], first[AUDIT_READ_LOCAL_MAX], last[AUDIT_READ_LOCAL_MAX];
    audit_format_local(s_now_ms(), generated);
    audit_format_local(d->min_ms, first);
    audit_format_local(d->max_ms, last);

    fprintf(f, "<!DOCTYPE html>\n<html lang=\"nl\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
               "style-src 'unsafe-inline'\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<title>Hartslag auditrapport");
    if (origin[0]) {
        fprintf(f, " — ");
        audit_html_text(f, origin);
    }
    fprintf(f,
            "</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n"
            "<h1>Hartslag auditrapport <small>(audit report)</small></h1>\n",
            s_css);
    if (origin[0]) {
        fprintf(f, "<p>Logboek (log): ");
        audit_html_text(f, origin);
        fprintf(f, "</p>\n");
    }
    fprintf(f, "<p id=\"period\">Periode (period): ");
    if (period->has_from || period->has_to) {
        char from[AUDIT_READ_LOCAL_MAX] = "het begin (the start)", to[AUDIT_READ_LOCAL_MAX] = "nu";
        if (period->has_from)
            audit_format_local(period->from_ms, from);
        if (period->has_to)
            audit_format_local(period->to_ms, to);
        fprintf(f, "vanaf %s tot %s", from, to);
    } else
        fprintf(f, "het hele logboek (the whole log)");
    fprintf(f, "</p>\n<p>%" PRIu64 " records", d->records);
    if (d->records)
        fprintf(f, " van %s tot %s", first, last);
    fprintf(f,
            " · gemaakt (generated) %s · per %s · tijden in Nederlandse tijd (times in local "
            "time, Europe/Amsterdam)</p>\n</header>\n",
            generated, d->weekly ? "week (maandag / Monday)" : "maand (month)");
    fprintf(f, "<nav><a href=\"#verdict\">Controle</a><a href=\"#summary\">Overzicht</a><a "
               "href=\"#exchanges\">Uitwisselingen</a>"
               "<a href=\"#purposes\">Doelen</a><a href=\"#denials\">Weigeringen</a>"
               "<a href=\"#withdrawals\">Intrekkingen</a><a href=\"#alerts\">Meldingen</a>"
               "<a href=\"#cases\">Casuïstiekoverleg</a>"
               "<a href=\"#checkpoints\">Checkpoints</a><a href=\"#administration\">Beheer</a>"
               "</nav>\n<main>\n");
    s_verdict(f, check);

    /* Summary: every event. */
    fprintf(f,
            "<section id=\"summary\">\n<h2>Overzicht per gebeurtenis (records per event)</h2>\n");
    size_t ne = 0;
    const audit_count_t *events = audit_counter_sorted(d->events, &ne);
    if (ne == 0)
        fprintf(f, "<p class=\"empty\">Het logboek is leeg (the log is empty).</p>\n");
    else {
        fprintf(f, "<table><thead><tr><th>Gebeurtenis (event)</th><th>Betekenis (meaning)</th>"
                   "<th class=\"num\">Aantal (count)</th></tr></thead><tbody>\n");
        for (size_t i = 0; i < ne; i++) {
            fprintf(f, "<tr><td><code>");
            audit_html_text(f, events[i].key);
            fprintf(f, "</code></td><td>");
            audit_html_text(f, audit_event_describe(events[i].key, false));
            fprintf(f, "</td><td class=\"num\">%" PRIu64 "</td></tr>\n", events[i].count);
        }
        fprintf(f, "</tbody></table>\n");
    }
    fprintf(f, "</section>\n");

    fprintf(f,
            "<section id=\"exchanges\">\n<h2>Uitwisselingen per partnerpaar (exchanges per "
            "partner pair)</h2>\n<p class=\"note\">Een uitwisseling is een signaal dat de broker "
            "voor één ontvanger heeft geaccepteerd (event <code>accepted</code>).</p>\n");
    if (s_time_section(f, d->pairs, nb, labels, "Uitwisselingen per partnerpaar",
                       "Afzender -> ontvanger (sender -> recipient)") != 0)
        return -1;
    fprintf(f, "</section>\n");

    fprintf(f, "<section id=\"bases\">\n<h2>Uitwisselingen per afspraak en wettelijke grondslag "
               "(exchanges per agreement and legal basis)</h2>\n");
    s_bases(f, d->bases);
    fprintf(f, "</section>\n");

    fprintf(f, "<section id=\"purposes\">\n<h2>Uitwisselingen per doel (exchanges per "
               "purpose)</h2>\n");
    if (s_time_section(f, d->purposes, nb, labels, "Uitwisselingen per doel", "Doel (purpose)") !=
        0)
        return -1;
    fprintf(f, "</section>\n");

    fprintf(f, "<section id=\"denials\">\n<h2>Weigeringen per reden (denials by reason)</h2>\n");
    size_t nd = 0;
    const audit_count_t *denials_sorted = audit_counter_sorted(d->denials, &nd);
    if (d->other_denied)
        fprintf(f,
                "<p class=\"note\" id=\"other-denied\">Daarnaast %" PRIu64 " keer een "
                "ontvanger die wél was toegestaan, maar het signaal werd aan niemand verstuurd "
                "omdat een andere ontvanger niet was toegestaan (besides, %" PRIu64 " allowed "
                "recipients of signals refused because of another recipient).</p>\n",
                d->other_denied, d->other_denied);
    if (nd == 0)
        fprintf(f, "<p class=\"empty\">Geen weigeringen (no denials).</p>\n");
    else {
        audit_count_t *by_count = malloc(nd * sizeof *by_count);
        if (!by_count)
            return -1;
        char(*words)[KEY_MAX] = calloc(nd, sizeof *words);
        if (!words) {
            free(by_count);
            return -1;
        }
        memcpy(by_count, denials_sorted, nd * sizeof *by_count);
        qsort(by_count, nd, sizeof *by_count, s_count_desc);
        audit_count_t *labelled = malloc(nd * sizeof *labelled);
        if (!labelled) {
            free(words);
            free(by_count);
            return -1;
        }
        for (size_t i = 0; i < nd; i++) {
            audit_reason_describe(by_count[i].key, false, words[i], KEY_MAX);
            labelled[i] = (audit_count_t){words[i], by_count[i].count};
        }
        s_chart_bars(f, "Weigeringen per reden", labelled, nd > 30 ? 30 : nd);
        fprintf(f, "<table id=\"denials-table\"><thead><tr><th>Reden (reason)</th><th>Code</th>"
                   "<th class=\"num\">Aantal (count)</th></tr></thead><tbody>\n");
        for (size_t i = 0; i < nd; i++) {
            fprintf(f, "<tr><td>");
            audit_html_text(f, words[i]);
            fprintf(f, "</td><td><code>");
            audit_html_text(f, by_count[i].key);
            fprintf(f, "</code></td><td class=\"num\">%" PRIu64 "</td></tr>\n", by_count[i].count);
        }
        fprintf(f, "</tbody></table>\n");
        free(labelled);
        free(words);
        free(by_count);
    }
    fprintf(f, "</section>\n");

    fprintf(f, "<section id=\"withdrawals\">\n<h2>Intrekkingen, verlopen en geweigerd door de "
               "ontvanger (withdrawals, expiries, refusals by the recipient)</h2>\n");
    if (s_time_section(f, d->ends, nb, labels, "Intrekkingen en verlopen", "Gebeurtenis (event)") !=
        0)
        return -1;
    fprintf(f, "</section>\n");

    fprintf(f,
            "<section id=\"alerts\">\n<h2>Meldingen (alerts)</h2>\n<p>%" PRIu64
            " meldingen en afhandelingen (alerts and alerts handled).</p>\n",
            d->alerts.total);
    s_list_table(f, &d->alerts, true);
    fprintf(f, "</section>\n");

    if (audit_case_stats_html(d->cases, s_now_ms(), f) != 0)
        return -1;

    fprintf(f, "<section id=\"checkpoints\">\n<h2>Checkpoints en medeondertekeningen (checkpoints "
               "and cosignatures)</h2>\n");
    s_checkpoints(f, audit_reader_store(reader), partners);
    fprintf(f, "</section>\n");

    fprintf(f, "<section id=\"administration\">\n<h2>Beheer en beveiliging (administration and "
               "security)</h2>\n<p class=\"note\">Mislukte aanmeldingen, partners toegevoegd of "
               "ingetrokken, nieuwe afspraken, herstel na een crash, opschoning.</p>\n");
    s_list_table(f, &d->admin, false);
    fprintf(f, "</section>\n</main>\n<footer>Gemaakt door <code>hartslag audit report</code> uit "
               "een kopie van broker.db. Bevat geen inhoud van signalen, geen pseudoniemen en "
               "geen namen van medewerkers.</footer>\n</body>\n</html>\n");
    return 0;
}

static int s_report_data_init(report_data_t *d, const audit_filter_t *period)
{
    memset(d, 0, sizeof *d);
    d->events = audit_counter_new();
    d->pairs = audit_counter_new();
    d->purposes = audit_counter_new();
    d->denials = audit_counter_new();
    d->ends = audit_counter_new();
    d->bases = audit_counter_new();
    d->cases = audit_case_stats_new(period);
    return d->events && d->pairs && d->purposes && d->denials && d->ends && d->bases && d->cases
               ? 0
               : -1;
}

static void s_report_data_free(report_data_t *d)
{
    audit_counter_destroy(&d->events);
    audit_counter_destroy(&d->pairs);
    audit_counter_destroy(&d->purposes);
    audit_counter_destroy(&d->denials);
    audit_counter_destroy(&d->ends);
    audit_counter_destroy(&d->bases);
    audit_case_stats_destroy(&d->cases);
}

/* --from / --to into `period`. 0, or 2 (message printed). */
static int s_period_option(const char *command, bool to, const char *arg, audit_filter_t *period)
{
    int64_t ms;
    if (audit_parse_time(arg, to, &ms) != 0) {
        fprintf(stderr,
                "hartslag audit %s: %s wants a date (2026-03-01) or a time "
                "(2026-03-01T14:00:00+01:00), not '",
                command, to ? "--to" : "--from");
        audit_term_text(stderr, arg, 0);
        fprintf(stderr, "'\n");
        return EXIT_USAGE;
    }
    if (to) {
        period->has_to = true;
        period->to_ms = ms;
    } else {
        period->has_from = true;
        period->from_ms = ms;
    }
    if (period->has_from && period->has_to && period->from_ms >= period->to_ms) {
        fprintf(stderr, "hartslag audit %s: --from must be before --to\n", command);
        return EXIT_USAGE;
    }
    return 0;
}

int audit_cmd_report(int argc, char **argv)
{
    enum { OPT_DB = 1000, OPT_HTML, OPT_PARTNERS, OPT_CERT, OPT_FROM, OPT_TO };
    static const struct option options[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"html", required_argument, NULL, OPT_HTML},
        {"partners", required_argument, NULL, OPT_PARTNERS},
        {"broker-cert", required_argument, NULL, OPT_CERT},
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *html = NULL, *dir = NULL, *broker_cert = NULL;
    audit_filter_t period;
    memset(&period, 0, sizeof period);
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            printf("usage: hartslag audit report --db STORE --html OUT.html --broker-cert FILE\n"
                   "                             [--partners DIR] [--from DATE] [--to DATE]\n\n"
                   "Writes one self-contained HTML page (no scripts, no network) for the\n"
                   "partnership and the supervisory authority: the verification verdict and\n"
                   "the broker key's fingerprint at the top, then exchanges per partner pair,\n"
                   "per agreement and legal basis and per purpose, denials by reason,\n"
                   "withdrawals and expiries, alerts, case conferences (the figures of\n"
                   "'audit stats --cases'), checkpoint and cosignature status,\n"
                   "administrative events. Times in local time (Europe/Amsterdam). Shows no\n"
                   "pseudonyms and no employee names.\n\n"
                   "  --db STORE          a copy of the broker's state_dir/broker.db, or its\n"
                   "                      postgresql://... store\n"
                   "  --html OUT          the page to write (replaced if it exists)\n"
                   "  --broker-cert FILE  the broker's public certificate: the log is verified\n"
                   "                      with it (without it the page says NOT VERIFIED)\n"
                   "  --partners DIR      partner certificates: organisation names, and which\n"
                   "                      partners have not cosigned the latest checkpoint\n"
                   "  --from, --to        the period (as in 'audit query'; --to DATE includes\n"
                   "                      that day); default the whole log\n\n"
                   "exit codes: 0 written, 1 failure, 2 usage error\n");
            return 0;
        } else if (opt == OPT_DB)
            db = optarg;
        else if (opt == OPT_HTML)
            html = optarg;
        else if (opt == OPT_PARTNERS)
            dir = optarg;
        else if (opt == OPT_CERT)
            broker_cert = optarg;
        else if (opt == OPT_FROM || opt == OPT_TO) {
            int rc = s_period_option("report", opt == OPT_TO, optarg, &period);
            if (rc != 0)
                return rc;
        } else {
            fprintf(stderr, "try 'hartslag audit report --help'\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hartslag audit report: unexpected argument (options start with --)\n");
        return EXIT_USAGE;
    }
    if (!db || !html) {
        fprintf(stderr, "hartslag audit report: give --html OUT.html and --db: %s\n",
                audit_read_db_hint(NULL));
        return EXIT_USAGE;
    }
    char err[AUDIT_READ_ERR_MAX];
    partners_t *partners = NULL;
    if (dir) {
        partners = partners_load(dir, s_now_ms(), NULL, NULL, err, sizeof err);
        if (!partners) {
            fprintf(stderr,
                    "hartslag audit report: cannot load the partner certificates in %s: %s\n", dir,
                    err);
            return 1;
        }
    }
    audit_reader_t *reader = audit_reader_open(db, err, sizeof err);
    if (!reader) {
        audit_read_report_error("report", err);
        partners_destroy(&partners);
        return 1;
    }
    int rc = 1;
    report_data_t d;
    char tmp[4200];
    FILE *f = NULL;
    if (s_report_data_init(&d, &period) != 0) {
        fprintf(stderr, "hartslag audit report: out of memory\n");
        goto done;
    }
    audit_check_t check;
    if (audit_read_check(reader, broker_cert, &check, err, sizeof err) != 0) {
        audit_read_report_error("report", err);
        goto done;
    }
    uint64_t unreadable = 0, purged = 0;
    if (audit_reader_each(reader, &period, s_span, &d, NULL, NULL, err, sizeof err) < 0) {
        audit_read_report_error("report", err);
        goto done;
    }
    d.weekly = d.records && (d.max_ms - d.min_ms) <= REPORT_WEEKS_SPAN_DAYS * DAY_MS;
    if (audit_reader_each(reader, &period, s_gather, &d, &unreadable, &purged, err, sizeof err) <
        0) {
        audit_read_report_error("report", d.failed ? "out of memory" : err);
        goto done;
    }
    if (s_case_walk(reader, d.cases, NULL, err, sizeof err) != 0) {
        audit_read_report_error("report", err);
        goto done;
    }
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", html) >= sizeof tmp) {
        fprintf(stderr, "hartslag audit report: --html path too long\n");
        goto done;
    }
    f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "hartslag audit report: cannot write %s: %s\n", tmp, strerror(errno));
        goto done;
    }
    if (s_write_report(f, reader, &d, partners, &check, &period) != 0) {
        fprintf(stderr, "hartslag audit report: out of memory\n");
        goto done;
    }
    if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
        fprintf(stderr, "hartslag audit report: cannot write %s: %s\n", tmp, strerror(errno));
        goto done;
    }
    fclose(f);
    f = NULL;
    if (rename(tmp, html) != 0) {
        fprintf(stderr, "hartslag audit report: cannot write %s: %s\n", html, strerror(errno));
        goto done;
    }
    if (unreadable)
        fprintf(stderr,
                "hartslag audit report: warning: %" PRIu64 " record(s) could not be read and are "
                "not counted — run 'hartslag audit verify'\n",
                unreadable);
    printf("wrote %s (%" PRIu64 " records)\n", html, d.records);
    if (check.truncated)
        fprintf(stderr,
                "hartslag audit report: WARNING: the copy is incomplete: %" PRIu64 " records "
                "that a signed checkpoint covers are missing\n",
                check.missing);
    if (check.state == AUDIT_CHECK_FAULT)
        fprintf(stderr, "hartslag audit report: WARNING: the log does not verify (%s): %s\n",
                audit_fault_name(check.report.kind), check.report.detail);
    else if (check.state == AUDIT_CHECK_UNVERIFIED)
        fprintf(stderr, "hartslag audit report: warning: not verified (give --broker-cert)\n");
    rc = 0;
done:
    if (f) {
        fclose(f);
        unlink(tmp);
    }
    s_report_data_free(&d);
    audit_reader_destroy(&reader);
    partners_destroy(&partners);
    return rc;
}

/* ------------------------------------------------------------------------
   Stats: "month\tdimension\tvalue" -> count */

static int s_stats_gather(void *arg, uint64_t index, const Hartslag__AuditRecord *r)
{
    (void)index;
    audit_counter_t *c = arg;
    int y, m;
    audit_month_of(s_ms(r->time_ms), &y, &m);
    char key[KEY_MAX], pair[256];
    int rc = 0;
    char clean[KEY_MAX / 2];
    snprintf(key, sizeof key, "%04d-%02d\tevent\t%s", y % 10000, m,
             s_clean(r->event, clean, sizeof clean));
    rc |= audit_counter_add(c, key, 1);
    if (strcmp(r->event, "accepted") == 0) {
        snprintf(key, sizeof key, "%04d-%02d\ttype\t%s", y % 10000, m,
                 s_clean(r->signal_type, clean, sizeof clean));
        rc |= audit_counter_add(c, key, 1);
        snprintf(key, sizeof key, "%04d-%02d\tpurpose\t%s", y % 10000, m,
                 s_clean(r->purpose, clean, sizeof clean));
        rc |= audit_counter_add(c, key, 1);
        s_pair(r, pair, sizeof pair);
        snprintf(key, sizeof key, "%04d-%02d\tpair\t%s", y % 10000, m, pair);
        rc |= audit_counter_add(c, key, 1);
    }
    return rc ? -1 : 0;
}

/* Feeds one record to the case figures. */
static int s_case_gather(void *arg, uint64_t index, const Hartslag__AuditRecord *r)
{
    (void)index;
    return audit_case_stats_add(arg, r);
}

/* Walks the whole log into `stats` (the first signal about a subject may
   lie before the period). 0, or -1 with the reason in `err`. */
static int s_case_walk(audit_reader_t *reader, audit_case_stats_t *stats, uint64_t *unreadable,
                       char *err, size_t errlen)
{
    audit_filter_t all;
    memset(&all, 0, sizeof all);
    if (audit_reader_each(reader, &all, s_case_gather, stats, unreadable, NULL, err, errlen) < 0) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* stats --cases. Takes `reader`. */
static int s_stats_cases(audit_reader_t *reader, const audit_filter_t *period, bool json)
{
    char err[AUDIT_READ_ERR_MAX] = "";
    uint64_t unreadable = 0;
    audit_case_stats_t *stats = audit_case_stats_new(period);
    int rc = stats ? s_case_walk(reader, stats, &unreadable, err, sizeof err) : -1;
    audit_reader_destroy(&reader);
    if (rc != 0) {
        audit_read_report_error("stats", stats ? err : "out of memory");
        audit_case_stats_destroy(&stats);
        return 1;
    }
    rc = audit_case_stats_print(stats, s_now_ms(), json, stdout);
    audit_case_stats_destroy(&stats);
    if (rc != 0) {
        fprintf(stderr, "hartslag audit stats: out of memory\n");
        return 1;
    }
    if (unreadable)
        fprintf(stderr,
                "hartslag audit stats: warning: %" PRIu64 " record(s) could not be read and are "
                "not counted — run 'hartslag audit verify'\n",
                unreadable);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "hartslag audit stats: cannot write the output\n");
        return 1;
    }
    return 0;
}

int audit_cmd_stats(int argc, char **argv)
{
    enum { OPT_DB = 1000, OPT_BY, OPT_JSON, OPT_FROM, OPT_TO, OPT_CASES };
    static const struct option options[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"cases", no_argument, NULL, OPT_CASES},
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"by", required_argument, NULL, OPT_BY},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *by = "month";
    bool json = false, cases = false;
    audit_filter_t period;
    memset(&period, 0, sizeof period);
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            printf(
                "usage: hartslag audit stats --db STORE [--cases] [--by month] [--from DATE]\n"
                "                            [--to DATE] [--json]\n\n"
                "Counts per month, for the partnership's evaluation and for publication:\n"
                "  event    records per event\n"
                "  type     exchanges (accepted, one per recipient) per signal type\n"
                "  purpose  exchanges per purpose\n"
                "  pair     exchanges per partner pair (sender -> recipient)\n"
                "Counts of 1 to 4 are shown as \"<5\". Where one hidden count could be\n"
                "worked out from the month's accepted total, a second count in that group\n"
                "is hidden too (shown as \"x\"). Months are UTC calendar months.\n\n"
                "With --cases, the figures of case conferences instead (docs/evaluation.md):\n"
                "  cases    cases opened and closed per month\n"
                "  event    case events per month\n"
                "  outcome  outcomes per code over the period (\"all\")\n"
                "  partner  cases each partner coordinated or joined (\"all\")\n"
                "then the median and p90 of the days from the first signal or alert about\n"
                "the subject to the case and from opening to closing, and the plan actions\n"
                "done by their due date (%%). A median or percentage that rests on fewer\n"
                "than 5 cases or actions is not given.\n\n"
                "  --db STORE  a copy of the broker's state_dir/broker.db, or its "
                "postgresql://...\n"
                "              store\n"
                "  --cases     the case conference figures (above)\n"
                "  --by month  the period (only month for now)\n"
                "  --from, --to  only records in this period (as in 'audit query')\n"
                "  --json      {\"by\":\"month\",\"rows\":[{month, dimension, value, "
                "count}]}; a hidden count is the string \"<5\" or \"x\"; with --cases\n"
                "              also \"figures\" (null and \"suppressed\":true where not given)\n\n"
                "exit codes: 0 ok, 1 failure, 2 usage error\n");
            return 0;
        } else if (opt == OPT_DB)
            db = optarg;
        else if (opt == OPT_BY)
            by = optarg;
        else if (opt == OPT_JSON)
            json = true;
        else if (opt == OPT_CASES)
            cases = true;
        else if (opt == OPT_FROM || opt == OPT_TO) {
            int rc = s_period_option("stats", opt == OPT_TO, optarg, &period);
            if (rc != 0)
                return rc;
        } else {
            fprintf(stderr, "try 'hartslag audit stats --help'\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hartslag audit stats: unexpected argument (options start with --)\n");
        return EXIT_USAGE;
    }
    if (strcmp(by, "month") != 0) {
        fprintf(stderr, "hartslag audit stats: --by supports month only\n");
        return EXIT_USAGE;
    }
    if (!db) {
        fprintf(stderr, "hartslag audit stats: give --db: %s\n", audit_read_db_hint(NULL));
        return EXIT_USAGE;
    }
    char err[AUDIT_READ_ERR_MAX];
    audit_reader_t *reader = audit_reader_open(db, err, sizeof err);
    if (!reader) {
        audit_read_report_error("stats", err);
        return 1;
    }
    if (cases)
        return s_stats_cases(reader, &period, json);
    audit_counter_t *c = audit_counter_new();
    uint64_t unreadable = 0;
    int64_t n = c ? audit_reader_each(reader, &period, s_stats_gather, c, &unreadable, NULL, err,
                                      sizeof err)
                  : -1;
    audit_reader_destroy(&reader);
    if (n < 0) {
        audit_read_report_error("stats", c ? err : "out of memory");
        audit_counter_destroy(&c);
        return 1;
    }
    size_t count = 0;
    const audit_count_t *items = audit_counter_sorted(c, &count);
    audit_cell_t *cells = calloc(count ? count : 1, sizeof *cells);
    if (!cells || (count && !items)) {
        fprintf(stderr, "hartslag audit stats: out of memory\n");
        free(cells);
        audit_counter_destroy(&c);
        return 1;
    }
    /* type, purpose and pair each add up to the month's accepted count;
       events are counted once each and add up to nothing published. */
    static const char *const standalone[] = {"event", NULL};
    audit_stats_suppress(items, count, cells, standalone);
    if (json)
        printf("{\"by\":\"month\",\"threshold\":%d,\"rows\":[", AUDIT_STATS_THRESHOLD);
    else
        printf("Audit counts per month (UTC). Counts below %d shown as \"<%d\"; \"x\" hides a "
               "count that would reveal one.\n%-8s %-8s %-40s %s\n",
               AUDIT_STATS_THRESHOLD, AUDIT_STATS_THRESHOLD, "MONTH", "WHAT", "VALUE", "COUNT");
    audit_stats_print_rows(stdout, items, cells, count, json);
    if (json)
        printf("\n]}\n");
    free(cells);
    audit_counter_destroy(&c);
    if (unreadable)
        fprintf(stderr,
                "hartslag audit stats: warning: %" PRIu64 " record(s) could not be read and are "
                "not counted — run 'hartslag audit verify'\n",
                unreadable);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "hartslag audit stats: cannot write the output\n");
        return 1;
    }
    return 0;
}
