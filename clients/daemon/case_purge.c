/*  case_purge: the end of a case in this daemon's store (issue 15). When
    a case closed, or we were removed or declined, cases.c set its
    purge_after_ms to retention_days_after_close from then (the rule's
    word on how long participants keep a case). At every retention pass
    after that time the case's own rows leave every case table in one
    transaction (store_case_purge), with a `case_purged` record in the
    local audit log (case id and kind: metadata only) and a `case` event
    with step "purged" to the hook and the watchers. A tombstone keeps the
    case id and when, so that `hartslag case show` can say what became of
    it.

    The shares received in the case are inbox entries, purged by the
    inbox's own pass (hooks.c) at the same time or earlier, each with its
    own `purged` record. */
#include "daemon_internal.h"

#include "dlog.h"
#include "store_case.h"
#include "strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CASE_PURGE_BATCH 64 /* cases purged per pass; the rest on the next */

typedef struct {
    char case_id[STORE_ID_HEX];
    char kind[65];
} due_t;

typedef struct {
    due_t found[CASE_PURGE_BATCH];
    size_t n;
} due_scan_t;

static int s_collect(void *arg, const char *case_id, const char *kind)
{
    due_scan_t *scan = arg;
    if (scan->n == CASE_PURGE_BATCH || strlen(case_id) != 32 || strlen(kind) > 64)
        return 0;
    due_t *d = &scan->found[scan->n++];
    snprintf(d->case_id, sizeof d->case_id, "%s", case_id);
    snprintf(d->kind, sizeof d->kind, "%s", kind);
    return 0;
}

/* Purges one case: its rows, the audit record and the hook event in one
   transaction; then the log line and the watchers. */
static void s_purge(daemon_t *self, const due_t *d, uint64_t now_ms)
{
    strbuf_t json = {0}, line = {0};
    strbuf_puts(&json, "{\"kind\":\"case\",\"case_id\":");
    strbuf_json_string(&json, d->case_id);
    strbuf_puts(&json, ",\"step\":\"purged\",\"case_kind\":");
    strbuf_json_string(&json, d->kind);
    strbuf_printf(&json, ",\"reason\":\"retention\",\"at_ms\":%llu}", (unsigned long long)now_ms);
    strbuf_printf(&line, "CASE %s  purged after its retention (%s)", d->case_id, d->kind);
    /* The local audit has no column for a case's kind: `type` holds it, as
       docs/daemon.md says. */
    store_audit_t audit = {.event = "case_purged",
                           .signal_id = d->case_id,
                           .signal_type = d->kind,
                           .reason = "retention"};
    if (!strbuf_ok(&json) || !strbuf_ok(&line) || store_begin(self->store) != 0 ||
        store_case_purge(self->store, d->case_id, now_ms) < 0 ||
        store_audit(self->store, &audit) != 0 ||
        (self->hook && store_hook_event_add(self->store, d->case_id, "case", strbuf_text(&json))) ||
        store_commit(self->store) != 0) {
        store_rollback(self->store);
        dlog(DLOG_ERROR, "event=store_failed op=case_purge case=%s", d->case_id);
    } else {
        dlog(DLOG_INFO, "event=case_purged case=%s kind=%s reason=retention", d->case_id, d->kind);
        self->next_hook_check_ms = 0;
        control_notify(self, strbuf_text(&json), strbuf_text(&line));
    }
    strbuf_wipe(&json);
    strbuf_wipe(&line);
}

void case_purge_tick(daemon_t *self, uint64_t now_ms)
{
    due_scan_t scan = {.n = 0};
    if (store_case_purge_due_each(self->store, now_ms, s_collect, &scan) != 0) {
        dlog(DLOG_ERROR, "event=store_failed op=case_purge_scan");
        return;
    }
    for (size_t i = 0; i < scan.n; i++)
        s_purge(self, &scan.found[i], now_ms);
}
