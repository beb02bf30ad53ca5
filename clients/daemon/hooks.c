/*  hooks: the hook for stored signals (one at a time, retried with
    backoff, never losing the signal) and the inbox purge after retention
    or lapse. */
#include "daemon_internal.h"

#include "dlog.h"
#include "render.h"
#include "strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HOOKS_CHECK_MS 250 /* how often to look for a due hook */

static uint64_t s_backoff(uint32_t attempts)
{
    uint64_t delay = DAEMON_HOOK_BACKOFF_MS;
    for (uint32_t i = 1; i < attempts && delay < DAEMON_HOOK_BACKOFF_MAX_MS; i++)
        delay *= 2;
    return delay < DAEMON_HOOK_BACKOFF_MAX_MS ? delay : DAEMON_HOOK_BACKOFF_MAX_MS;
}

/* Records the outcome of one hook run. */
static void s_record(daemon_t *self, const char *signal_id, bool ok, const char *why,
                     uint64_t now_ms)
{
    store_inbox_t entry;
    int found = store_inbox_get(self->store, signal_id, &entry);
    if (found <= 0)
        return; /* withdrawn or purged meanwhile */
    uint32_t attempts = ok ? entry.hook_attempts : entry.hook_attempts + 1;
    uint64_t next = ok ? 0 : now_ms + s_backoff(attempts);
    store_audit_t audit = {.event = ok ? "hook_ok" : "hook_failed",
                           .signal_id = signal_id,
                           .counterpart = entry.sender,
                           .signal_type = entry.signal_type,
                           .purpose = entry.purpose,
                           .reason = ok ? NULL : why};
    if (store_begin(self->store) == 0 &&
        store_inbox_hook_result(self->store, signal_id, ok, attempts, next) == 0 &&
        store_audit(self->store, &audit) == 0 && store_commit(self->store) == 0) {
        if (ok)
            dlog(DLOG_INFO, "event=hook_ok signal=%s", signal_id);
        else {
            dlog(DLOG_WARN, "event=hook_failed signal=%s why=%s attempts=%u retry_in_ms=%llu",
                 signal_id, why, attempts, (unsigned long long)(next - now_ms));
            daemon_set_error(self, "hook failed for signal %s (%s); it will be retried", signal_id,
                             why);
        }
    } else {
        store_rollback(self->store);
        dlog(DLOG_ERROR, "event=store_failed op=hook_result signal=%s", signal_id);
    }
    store_inbox_clear(&entry);
}

/* Records the outcome of a hook run for an alert that had failed
   `attempts` times before. */
static void s_record_alert(daemon_t *self, const char *alert_id, bool ok, const char *why,
                           uint32_t attempts, uint64_t now_ms)
{
    attempts = ok ? attempts : attempts + 1;
    uint64_t next = ok ? 0 : now_ms + s_backoff(attempts);
    store_audit_t audit = {.event = ok ? "hook_ok" : "hook_failed",
                           .signal_id = alert_id,
                           .reason = ok ? "alert" : why};
    if (store_begin(self->store) == 0 &&
        store_alert_hook_result(self->store, alert_id, ok, attempts, next) == 0 &&
        store_audit(self->store, &audit) == 0 && store_commit(self->store) == 0) {
        if (ok)
            dlog(DLOG_INFO, "event=hook_ok alert=%s", alert_id);
        else {
            dlog(DLOG_WARN, "event=hook_failed alert=%s why=%s attempts=%u retry_in_ms=%llu",
                 alert_id, why, attempts, (unsigned long long)(next - now_ms));
            daemon_set_error(self, "hook failed for alert %s (%s); it will be retried", alert_id,
                             why);
        }
    } else {
        store_rollback(self->store);
        dlog(DLOG_ERROR, "event=store_failed op=hook_result alert=%s", alert_id);
    }
}

int hooks_removed(daemon_t *self, const char *kind, const char *signal_id, const char *sender,
                  const char *reason, strbuf_t *json, strbuf_t *text)
{
    uint64_t now = daemon_now_ms();
    char at[32];
    render_time(now, at);
    strbuf_puts(json, "{\"kind\":");
    strbuf_json_string(json, kind);
    strbuf_puts(json, ",\"signal_id\":");
    strbuf_json_string(json, signal_id);
    strbuf_puts(json, ",\"sender\":");
    strbuf_json_string(json, sender);
    strbuf_puts(json, ",\"reason\":");
    strbuf_json_string(json, reason);
    strbuf_printf(json, ",\"at\":\"%s\",\"at_ms\":%llu}", at, (unsigned long long)now);
    strbuf_printf(text, "%s %s  from %s  reason %s",
                  strcmp(kind, "withdrawn") == 0 ? "WITHDRAWN" : "PURGED", signal_id, sender,
                  reason);
    if (!strbuf_ok(json) || !strbuf_ok(text))
        return -1;
    if (self->hook && store_hook_event_add(self->store, signal_id, kind, strbuf_text(json)) != 0)
        return -1;
    self->next_hook_check_ms = 0;
    return 0;
}

/* Records the outcome of a hook run for a hook event. */
static void s_record_event(daemon_t *self, const char *signal_id, bool ok, const char *why,
                           uint64_t now_ms)
{
    uint32_t attempts = ok ? self->hook_event_attempts : self->hook_event_attempts + 1;
    uint64_t next = ok ? 0 : now_ms + s_backoff(attempts);
    store_audit_t audit = {.event = ok ? "hook_ok" : "hook_failed",
                           .signal_id = signal_id,
                           .reason = ok ? self->hook_event_kind : why};
    if (store_begin(self->store) == 0 &&
        store_hook_event_result(self->store, self->hook_event_seq, ok, attempts, next) == 0 &&
        store_audit(self->store, &audit) == 0 && store_commit(self->store) == 0) {
        if (ok)
            dlog(DLOG_INFO, "event=hook_ok signal=%s kind=%s", signal_id, self->hook_event_kind);
        else {
            dlog(DLOG_WARN,
                 "event=hook_failed signal=%s kind=%s why=%s attempts=%u retry_in_ms=%llu",
                 signal_id, self->hook_event_kind, why, attempts,
                 (unsigned long long)(next - now_ms));
            daemon_set_error(self,
                             "hook failed for the %s event of signal %s (%s); it will be "
                             "retried",
                             self->hook_event_kind, signal_id, why);
        }
    } else {
        store_rollback(self->store);
        dlog(DLOG_ERROR, "event=store_failed op=hook_result signal=%s kind=%s", signal_id,
             self->hook_event_kind);
    }
    self->hook_event_seq = 0;
}

/* Starts the hook for the next due hook event; 1 started (or tried), 0 none due. */
static int s_start_event_hook(daemon_t *self, uint64_t now_ms)
{
    store_hook_event_t event;
    if (store_hook_event_next(self->store, now_ms, &event) != 1)
        return 0;
    self->hook_for_alert = false;
    self->hook_event_seq = event.seq;
    self->hook_event_attempts = event.attempts;
    snprintf(self->hook_event_kind, sizeof self->hook_event_kind, "%s", event.kind);
    char err[256];
    if (hook_start(self->hook, event.signal_id, event.json, now_ms, err, sizeof err) != 0) {
        char q[300];
        dlog(DLOG_ERROR, "event=hook_start_failed signal=%s kind=%s reason=%s", event.signal_id,
             event.kind, dlog_quote(err, q, sizeof q));
        s_record_event(self, event.signal_id, false, "start_failed", now_ms);
    } else
        dlog(DLOG_DEBUG, "event=hook_started signal=%s kind=%s", event.signal_id, event.kind);
    free(event.json);
    return 1;
}

/* Starts the hook for the next due alert, if any. */
static void s_start_alert_hook(daemon_t *self, uint64_t now_ms)
{
    char id[STORE_ID_HEX], err[256];
    char *json = NULL;
    uint32_t attempts = 0;
    if (store_alert_next_hook(self->store, now_ms, id, &json, &attempts) != 1)
        return;
    self->hook_for_alert = true;
    self->hook_alert_attempts = attempts;
    if (hook_start(self->hook, id, json, now_ms, err, sizeof err) != 0) {
        char q[300];
        dlog(DLOG_ERROR, "event=hook_start_failed alert=%s reason=%s", id,
             dlog_quote(err, q, sizeof q));
        s_record_alert(self, id, false, "start_failed", attempts, now_ms);
    } else
        dlog(DLOG_DEBUG, "event=hook_started alert=%s", id);
    free(json);
}

void hooks_tick(daemon_t *self, uint64_t now_ms)
{
    if (!self->hook)
        return;
    if (hook_busy(self->hook)) {
        bool ok = false;
        char id[STORE_ID_HEX], why[64];
        if (hook_poll(self->hook, now_ms, &ok, id, why, sizeof why) == 1) {
            if (self->hook_event_seq)
                s_record_event(self, id, ok, why, now_ms);
            else if (self->hook_for_alert)
                s_record_alert(self, id, ok, why, self->hook_alert_attempts, now_ms);
            else
                s_record(self, id, ok, why, now_ms);
            self->next_hook_check_ms = 0; /* the next one may be due already */
        }
        return;
    }
    if (now_ms < self->next_hook_check_ms)
        return;
    self->next_hook_check_ms = now_ms + HOOKS_CHECK_MS;
    /* Removals first: the case system must stop using a withdrawn signal. */
    if (s_start_event_hook(self, now_ms))
        return;
    store_inbox_t entry;
    int due = store_inbox_next_hook(self->store, now_ms, &entry);
    if (due != 1) {
        if (due == 0)
            s_start_alert_hook(self, now_ms);
        return;
    }
    self->hook_for_alert = false;
    strbuf_t json = {0};
    render_inbox_json(&entry, &json);
    char err[256];
    if (!strbuf_ok(&json))
        s_record(self, entry.signal_id, false, "out_of_memory", now_ms);
    else if (hook_start(self->hook, entry.signal_id, strbuf_text(&json), now_ms, err, sizeof err) !=
             0) {
        char q[300];
        dlog(DLOG_ERROR, "event=hook_start_failed signal=%s reason=%s", entry.signal_id,
             dlog_quote(err, q, sizeof q));
        s_record(self, entry.signal_id, false, "start_failed", now_ms);
    } else
        dlog(DLOG_DEBUG, "event=hook_started signal=%s", entry.signal_id);
    strbuf_wipe(&json);
    store_inbox_clear(&entry);
}

static int s_collect(void *arg, const store_inbox_t *entry)
{
    zlist_t *ids = arg;
    return zlist_append(ids, (void *)entry->signal_id) == 0 ? 0 : -1; /* autofree copies */
}

void hooks_purge(daemon_t *self, uint64_t now_ms)
{
    self->last_purge_ms = now_ms;
    zlist_t *ids = zlist_new();
    if (!ids)
        return;
    zlist_autofree(ids);
    if (store_inbox_each_expired(self->store, now_ms, s_collect, ids) != 0)
        dlog(DLOG_ERROR, "event=store_failed op=purge_scan");
    for (char *id = zlist_first(ids); id; id = zlist_next(ids)) {
        store_inbox_t entry;
        if (store_inbox_get(self->store, id, &entry) != 1)
            continue;
        const char *why = entry.valid_until_ms <= now_ms ? "lapsed" : "retention";
        store_audit_t audit = {.event = "purged",
                               .signal_id = id,
                               .counterpart = entry.sender,
                               .signal_type = entry.signal_type,
                               .purpose = entry.purpose,
                               .reason = why};
        strbuf_t json = {0}, text = {0};
        if (store_begin(self->store) == 0 && store_inbox_remove(self->store, id, "purged") >= 0 &&
            store_audit(self->store, &audit) == 0 &&
            hooks_removed(self, "purged", id, entry.sender, why, &json, &text) == 0 &&
            store_commit(self->store) == 0) {
            dlog(DLOG_INFO, "event=signal_purged signal=%s reason=%s", id, why);
            control_notify(self, strbuf_text(&json), strbuf_text(&text));
        } else {
            store_rollback(self->store);
            dlog(DLOG_ERROR, "event=store_failed op=purge signal=%s", id);
        }
        strbuf_wipe(&json);
        strbuf_wipe(&text);
        store_inbox_clear(&entry);
    }
    zlist_destroy(&ids);
}
