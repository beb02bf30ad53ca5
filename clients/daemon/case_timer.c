/*  case_timer: the lifecycle timer of case conferences (issue 15) in the
    coordinator's daemon. A case open longer than its rule's max_open_days
    is flagged to the coordinator once: an audit line in the daemon's own
    log, a `case` event to the hook and to `hartslag watch` (step
    "overdue"), a log line, and `hartslag case list` shows it.

    The coordinator's daemon flags, not the broker: the daemon holds the
    agreements and the case's signed open, and the people to tell are its
    own; the broker would need a notice that nobody signed. The clock is
    the daemon's, the opening time the coordinator's own signed step. */
#include "daemon_internal.h"

#include "dlog.h"
#include "store_case_timer.h"
#include "strbuf.h"

#include <stdint.h>
#include <string.h>

#define DAY_MS (24ull * 60 * 60 * 1000)
#define CASE_TIMER_BATCH 64 /* flagged per pass; the rest on the next */

typedef struct {
    char case_id[33];
    char kind[65];
    uint64_t opened_ms;
    uint32_t max_open_days;
} overdue_t;

typedef struct {
    daemon_t *self;
    uint64_t now_ms;
    overdue_t found[CASE_TIMER_BATCH];
    size_t n;
} overdue_scan_t;

static int s_collect(void *arg, const char *case_id, const char *kind, uint64_t opened_ms)
{
    overdue_scan_t *scan = arg;
    const agreements_case_rule_t *rule =
        agreements_case_rule_lookup(scan->self->agreements, kind, strlen(kind));
    if (!rule || scan->n == CASE_TIMER_BATCH || strlen(case_id) != 32)
        return 0; /* a kind no longer in the agreements: nothing to measure against */
    if (opened_ms + (uint64_t)rule->max_open_days * DAY_MS > scan->now_ms)
        return 0;
    overdue_t *o = &scan->found[scan->n++];
    snprintf(o->case_id, sizeof o->case_id, "%s", case_id);
    snprintf(o->kind, sizeof o->kind, "%s", kind);
    o->opened_ms = opened_ms;
    o->max_open_days = rule->max_open_days;
    return 0;
}

/* Flags one case: store, audit and hook event in one transaction. */
static void s_flag(daemon_t *self, const overdue_t *o, uint64_t now_ms)
{
    strbuf_t json = {0}, line = {0};
    strbuf_puts(&json, "{\"kind\":\"case\",\"case_id\":");
    strbuf_json_string(&json, o->case_id);
    strbuf_puts(&json, ",\"step\":\"overdue\",\"case_kind\":");
    strbuf_json_string(&json, o->kind);
    strbuf_printf(&json, ",\"opened_at_ms\":%llu,\"max_open_days\":%u,\"at_ms\":%llu}",
                  (unsigned long long)o->opened_ms, o->max_open_days, (unsigned long long)now_ms);
    strbuf_printf(&line, "case %s open longer than %u days (%s): put it on the agenda or close it",
                  o->case_id, o->max_open_days, o->kind);
    store_audit_t audit = {.event = "case_overdue", .signal_id = o->case_id};
    if (!strbuf_ok(&json) || !strbuf_ok(&line) || store_begin(self->store) != 0 ||
        store_case_flag_overdue(self->store, o->case_id, now_ms) != 0 ||
        store_audit(self->store, &audit) != 0 ||
        (self->hook && store_hook_event_add(self->store, o->case_id, "case", strbuf_text(&json))) ||
        store_commit(self->store) != 0) {
        store_rollback(self->store);
        dlog(DLOG_ERROR, "event=store_failed op=case_overdue case=%s", o->case_id);
    } else {
        dlog(DLOG_WARN, "event=case_overdue case=%s kind=%s max_open_days=%u", o->case_id, o->kind,
             o->max_open_days);
        self->next_hook_check_ms = 0;
        control_notify(self, strbuf_text(&json), strbuf_text(&line));
    }
    strbuf_wipe(&json);
    strbuf_wipe(&line);
}

void case_timer_tick(daemon_t *self, uint64_t now_ms)
{
    overdue_scan_t scan = {.self = self, .now_ms = now_ms};
    if (store_case_unflagged_each(self->store, self->settings.org, s_collect, &scan) != 0) {
        dlog(DLOG_ERROR, "event=store_failed op=case_overdue_scan");
        return;
    }
    for (size_t i = 0; i < scan.n; i++)
        s_flag(self, &scan.found[i], now_ms);
}
