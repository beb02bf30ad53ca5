/*  render: see render.h. */
#include "render.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void render_time(uint64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "?");
}

static void s_json_time(strbuf_t *out, const char *name, uint64_t ms)
{
    char text[32];
    render_time(ms, text);
    strbuf_printf(out, ",\"%s\":\"%s\",\"%s_ms\":%llu", name, text, name, (unsigned long long)ms);
}

void render_inbox_json(const store_inbox_t *e, strbuf_t *out)
{
    strbuf_puts(out, "{\"kind\":\"signal\",\"signal_id\":");
    strbuf_json_string(out, e->signal_id);
    strbuf_puts(out, ",\"sender\":");
    strbuf_json_string(out, e->sender);
    strbuf_puts(out, ",\"sender_user\":");
    strbuf_json_string(out, e->sender_user);
    strbuf_puts(out, ",\"type\":");
    strbuf_json_string(out, e->signal_type);
    strbuf_puts(out, ",\"purpose\":");
    strbuf_json_string(out, e->purpose);
    strbuf_puts(out, ",\"subject\":");
    strbuf_json_string(out, e->subject);
    strbuf_puts(out, ",\"urgency\":");
    strbuf_json_string(out, e->urgency);
    s_json_time(out, "created_at", e->created_ms);
    s_json_time(out, "valid_until", e->valid_until_ms);
    s_json_time(out, "accepted_at", e->accepted_ms);
    s_json_time(out, "received_at", e->received_ms);
    s_json_time(out, "retain_until", e->retain_until_ms);
    strbuf_puts(out, ",\"agreement\":");
    strbuf_json_string(out, e->agreement_id);
    /* e->fields is a JSON object we wrote ourselves when the signal arrived. */
    strbuf_puts(out, ",\"fields\":");
    strbuf_puts(out, e->fields);
    strbuf_puts(out, ",\"free_text\":");
    strbuf_json_string(out, e->free_text);
    strbuf_puts(out, ",\"hook_state\":");
    strbuf_json_string(out, e->hook_state);
    /* Said in a case conference: which case, which action, re-sharing what
       (only then, so that a signal's JSON stays as it was). */
    const char *keys[] = {"case_id", "case_item", "reshare_of"};
    const char *values[] = {e->case_id, e->case_item, e->reshare_of};
    for (size_t i = 0; i < 3; i++)
        if (values[i]) {
            strbuf_printf(out, ",\"%s\":", keys[i]);
            strbuf_json_string(out, values[i]);
        }
    strbuf_puts(out, "}");
}

void render_inbox_line(const store_inbox_t *e, strbuf_t *out)
{
    char received[32];
    render_time(e->received_ms, received);
    strbuf_printf(out, "%s  %s  %-12s %-16s %-16s %-8s", e->signal_id, received, e->sender,
                  e->signal_type, e->purpose, e->urgency);
    /* Field names only: a list is often shown on a shared screen. */
    size_t pos = 0;
    char *name, *value;
    const char *sep = "  fields: ";
    while (json_flat_next(e->fields, &pos, &name, &value) == 1) {
        strbuf_printf(out, "%s%s", sep, name);
        sep = ",";
        free(name);
        sodium_memzero(value, strlen(value));
        free(value);
    }
    if (e->free_text)
        strbuf_printf(out, "%s%s", sep, "toelichting");
    strbuf_puts(out, "\n");
}

/* Writes `text` indented, each line prefixed with `indent`. */
static void s_indented(strbuf_t *out, const char *indent, const char *text)
{
    strbuf_puts(out, indent);
    for (const char *p = text; *p; p++) {
        strbuf_append(out, p, 1);
        if (*p == '\n' && p[1])
            strbuf_puts(out, indent);
    }
    strbuf_puts(out, "\n");
}

void render_inbox_text(const store_inbox_t *e, strbuf_t *out)
{
    char created[32], valid[32], received[32], retain[32];
    render_time(e->created_ms, created);
    render_time(e->valid_until_ms, valid);
    render_time(e->received_ms, received);
    render_time(e->retain_until_ms, retain);
    strbuf_printf(out,
                  "signal       %s\n"
                  "from         %s (%s)\n"
                  "type         %s\n"
                  "purpose      %s\n"
                  "urgency      %s\n"
                  "subject      %s\n"
                  "created      %s\n"
                  "valid until  %s\n"
                  "received     %s\n"
                  "kept until   %s (agreement %s)\n"
                  "hook         %s\n",
                  e->signal_id, e->sender, e->sender_user, e->signal_type, e->purpose, e->urgency,
                  e->subject, created, valid, received, retain,
                  e->agreement_id ? e->agreement_id : "?", e->hook_state);
    if (e->case_id)
        strbuf_printf(out, "case         %s\n", e->case_id);
    if (e->case_item)
        strbuf_printf(out, "action       %s\n", e->case_item);
    if (e->reshare_of)
        strbuf_printf(out, "re-share of  %s\n", e->reshare_of);
    strbuf_puts(out, "fields\n");
    size_t pos = 0;
    char *name, *value;
    while (json_flat_next(e->fields, &pos, &name, &value) == 1) {
        strbuf_printf(out, "  %-11s ", name);
        if (strchr(value, '\n')) {
            strbuf_puts(out, "\n");
            s_indented(out, "      ", value);
        } else
            strbuf_printf(out, "%s\n", value);
        free(name);
        sodium_memzero(value, strlen(value));
        free(value);
    }
    if (e->free_text) {
        strbuf_puts(out, "toelichting\n");
        s_indented(out, "  ", e->free_text);
    }
}

/* The value of `org`'s entry in a "org=value org=value" list, into out;
   false when it has none. */
static bool s_lookup(const char *list, const char *org, char *out, size_t cap)
{
    size_t org_len = strlen(org);
    for (const char *q = list; q && *q;) {
        const char *space = strchr(q, ' ');
        size_t len = space ? (size_t)(space - q) : strlen(q);
        if (len > org_len && strncmp(q, org, org_len) == 0 && q[org_len] == '=') {
            snprintf(out, cap, "%.*s", (int)(len - org_len - 1), q + org_len + 1);
            return true;
        }
        q += len + (space ? 1 : 0);
    }
    return false;
}

void render_recipient_state(const store_outbox_t *e, const char *org, recipient_state_t *rs)
{
    memset(rs, 0, sizeof *rs);
    char value[128];
    bool answered = s_lookup(e->outcomes, org, value, sizeof value);
    if (answered) {
        char *at = strrchr(value, '@');
        if (at) {
            *at = '\0';
            rs->at_ms = strtoull(at + 1, NULL, 10);
        }
    }
    if (answered && strncmp(value, "refused:", 8) == 0) {
        snprintf(rs->state, sizeof rs->state, "refused");
        snprintf(rs->reason, sizeof rs->reason, "%s", value + 8);
    } else if (strcmp(e->state, "withdrawn") == 0) {
        /* Withdrawn removes a stored copy too: that is what the sender
           must know now. */
        snprintf(rs->state, sizeof rs->state, "withdrawn");
    } else if (answered) {
        snprintf(rs->state, sizeof rs->state, "stored");
    } else if (s_lookup(e->detail, org, value, sizeof value)) {
        bool expired = strcmp(value, "expired") == 0;
        snprintf(rs->state, sizeof rs->state, "%s", expired ? "expired" : "denied");
        if (!expired)
            snprintf(rs->reason, sizeof rs->reason, "%s", value);
    } else if (strcmp(e->state, "denied") == 0) {
        snprintf(rs->state, sizeof rs->state, "denied");
        snprintf(rs->reason, sizeof rs->reason, "%s", e->reason ? e->reason : "");
    } else if (strcmp(e->state, "pseudonym") == 0) {
        snprintf(rs->state, sizeof rs->state, "waiting");
    } else if (strcmp(e->state, "pending") == 0 || strcmp(e->state, "withdrawing") == 0) {
        snprintf(rs->state, sizeof rs->state, "%s", e->accepted_ms ? "queued" : "pending");
    } else {
        snprintf(rs->state, sizeof rs->state, "queued");
    }
}

void render_outbox_json(const store_outbox_t *e, strbuf_t *out)
{
    strbuf_puts(out, "{\"kind\":\"sent\",\"signal_id\":");
    strbuf_json_string(out, e->signal_id);
    strbuf_puts(out, ",\"to\":[");
    const char *p = e->recipients;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        strbuf_puts(out, p == e->recipients ? "\"" : ",\"");
        strbuf_append(out, p, len);
        strbuf_puts(out, "\"");
        p += len + (comma ? 1 : 0);
    }
    strbuf_puts(out, "],\"type\":");
    strbuf_json_string(out, e->signal_type);
    strbuf_puts(out, ",\"purpose\":");
    strbuf_json_string(out, e->purpose);
    strbuf_puts(out, ",\"sender_user\":");
    strbuf_json_string(out, e->sender_user);
    strbuf_puts(out, ",\"state\":");
    strbuf_json_string(out, e->state);
    strbuf_puts(out, ",\"reason\":");
    strbuf_json_string(out, e->reason);
    strbuf_puts(out, ",\"recipients\":{");
    p = e->recipients;
    bool first = true;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char org[64];
        snprintf(org, sizeof org, "%.*s", (int)(len < 63 ? len : 63), p);
        recipient_state_t rs;
        render_recipient_state(e, org, &rs);
        strbuf_printf(out, "%s\"%s\":{\"state\":\"%s\",\"reason\":", first ? "" : ",", org,
                      rs.state);
        strbuf_json_string(out, rs.reason[0] ? rs.reason : NULL);
        if (rs.at_ms)
            s_json_time(out, "at", rs.at_ms);
        strbuf_puts(out, "}");
        first = false;
        p += len + (comma ? 1 : 0);
    }
    strbuf_puts(out, "}");
    s_json_time(out, "created_at", e->created_ms);
    if (e->accepted_ms)
        s_json_time(out, "accepted_at", e->accepted_ms);
    strbuf_printf(out, ",\"audit_index\":%llu,\"submits\":%u}", (unsigned long long)e->audit_index,
                  e->submits);
}

void render_outbox_text(const store_outbox_t *e, strbuf_t *out)
{
    char created[32];
    render_time(e->created_ms, created);
    strbuf_printf(out,
                  "signal       %s (sent)\n"
                  "to           %s\n"
                  "type         %s\n"
                  "purpose      %s\n"
                  "by           %s\n"
                  "created      %s\n"
                  "state        %s\n",
                  e->signal_id, e->recipients, e->signal_type, e->purpose, e->sender_user, created,
                  strcmp(e->state, "pseudonym") == 0 ? "waiting for a pseudonym" : e->state);
    if (e->reason)
        strbuf_printf(out, "reason       %s\n", e->reason);
    strbuf_puts(out, "recipients\n");
    for (const char *p = e->recipients; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char org[64];
        snprintf(org, sizeof org, "%.*s", (int)(len < 63 ? len : 63), p);
        recipient_state_t rs;
        render_recipient_state(e, org, &rs);
        strbuf_printf(out, "  %-16s %-9s", org, rs.state);
        if (rs.at_ms) {
            char at[32];
            render_time(rs.at_ms, at);
            strbuf_printf(out, " %s", at);
        }
        if (rs.reason[0])
            strbuf_printf(out, " (%s)", rs.reason);
        strbuf_puts(out, "\n");
        p += len + (comma ? 1 : 0);
    }
    if (e->accepted_ms) {
        char accepted[32];
        render_time(e->accepted_ms, accepted);
        strbuf_printf(out, "accepted     %s (broker audit index %llu)\n", accepted,
                      (unsigned long long)e->audit_index);
    }
}
