/*  case_texts: what this daemon says in case conferences (issue 15).

    Everything said in a case is a sealed signal with the case's id in its
    header, sealed to the participants this daemon verified as taking part
    now (cases.c), never to whom the broker names. Its type says what it
    is (lib/case_text.h): a share of fields, the case's title, an action's
    text, or the owner's note on its action.

    The title, an action's text and a note belong to a step (the open, the
    plan, the done): they are kept pending until the broker recorded the
    step, and go out only then (store_case_text.h). The title goes to each
    partner as it accepts, since a participant cannot take part in a case it
    cannot name; everything else reaches only who takes part when it is
    said, unless its author re-shares it (`case reshare`, audited by the
    broker with `reshare_of`). */
#include "case_action.h"
#include "case_text.h"
#include "daemon_internal.h"
#include "dlog.h"
#include "envelope.h"
#include "names.h"
#include "store_case.h"
#include "store_case_text.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASE_TEXTS_BATCH 64 /* texts sent at one settle */

static bool s_hex_id(const char *hex, uint8_t id[CASE_ID_BYTES])
{
    return hex && strlen(hex) == 32 &&
           sodium_hex2bin(id, CASE_ID_BYTES, hex, 32, NULL, NULL, NULL) == 0;
}

/* Whether `org` takes part ("state":"active") in a participants JSON array
   this daemon wrote itself (store_case.c: org tokens, no escapes). */
static bool s_active(const char *participants, const char *org)
{
    char needle[128];
    snprintf(needle, sizeof needle, "{\"org\":\"%.40s\",\"state\":\"active\"", org);
    return strstr(participants, needle) != NULL;
}

/* Whether `org` is in the comma-separated `list`. */
static bool s_listed(const char *list, const char *org)
{
    size_t n = strlen(org);
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, org, n) == 0)
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

static int s_refuse(const char *why, const char *detail, char *code, size_t codelen, char *message,
                    size_t msglen)
{
    snprintf(code, codelen, "%s", why);
    if (strcmp(why, "not_found") == 0)
        snprintf(message, msglen,
                 "this organisation holds no such case (see 'hartslag case list')");
    else if (strcmp(why, "case_closed") == 0)
        snprintf(message, msglen, "the case is closed: nothing more is shared");
    else if (strcmp(why, "not_participant") == 0 && detail)
        snprintf(message, msglen,
                 "%s does not take part in the case now (only partners that accepted, and were "
                 "not removed, receive what is shared)",
                 detail);
    else if (strcmp(why, "not_participant") == 0)
        snprintf(message, msglen,
                 "this organisation does not take part in the case (accept the invitation first)");
    else if (strcmp(why, "no_participants") == 0)
        snprintf(message, msglen, "nobody else takes part in the case yet: nothing to share with");
    else if (strcmp(why, "unknown_case_kind") == 0)
        snprintf(message, msglen, "the case's kind is not in our agreements.yaml (cases:)");
    else if (strcmp(why, "usage") == 0)
        snprintf(message, msglen, "%s", detail ? detail : "bad request");
    else
        snprintf(message, msglen, "cannot read the cases database");
    return -1;
}

int case_texts_prepare(daemon_t *self, const char *case_hex, const char *only, send_request_t *sr,
                       case_share_buf_t *buf, char *code, size_t codelen, char *message,
                       size_t msglen)
{
    if (!s_hex_id(case_hex, buf->case_id))
        return s_refuse("usage", "give the case id: 32 hex digits", code, codelen, message, msglen);
    char kind[65], subject[65];
    bool closed = false;
    char *participants = NULL;
    int found = store_case_get(self->store, case_hex, kind, &closed, subject, &participants);
    const agreements_case_rule_t *rule =
        found > 0 ? agreements_case_rule_lookup(self->agreements, kind, strlen(kind)) : NULL;
    const char *why = NULL, *detail = NULL;
    char missing[40] = "";
    if (found < 0)
        why = "internal";
    else if (found == 0)
        why = "not_found";
    else if (closed)
        why = "case_closed";
    else if (!rule)
        why = "unknown_case_kind";
    else if (!s_active(participants, self->settings.org))
        why = "not_participant";
    if (!why && only) {
        /* Every partner named must take part now: all or nothing. */
        for (const char *p = only; *p;) {
            size_t len = strcspn(p, ",");
            snprintf(missing, sizeof missing, "%.*s", (int)(len < 39 ? len : 39), p);
            if (!names_is_org(missing) || strcmp(missing, self->settings.org) == 0 ||
                !s_active(participants, missing)) {
                why = "not_participant";
                detail = missing;
                break;
            }
            p += len + (p[len] == ',');
        }
    }
    if (!why) {
        /* Everyone taking part now, as their signed steps proved it, but us
           (and of those, only the ones named). */
        size_t used = 0;
        buf->to[0] = '\0';
        for (const char *p = participants; (p = strstr(p, "{\"org\":\""));) {
            p += 8;
            size_t n = strcspn(p, "\"");
            char org[40];
            snprintf(org, sizeof org, "%.*s", (int)(n < 39 ? n : 39), p);
            if (strcmp(org, self->settings.org) != 0 && s_active(participants, org) &&
                (!only || s_listed(only, org)) && used + n + 2 < sizeof buf->to)
                used += (size_t)snprintf(buf->to + used, sizeof buf->to - used, "%s%s",
                                         used ? "," : "", org);
            p += n;
        }
        if (!used)
            why = "no_participants";
    }
    if (!why && (strlen(subject) != 64 ||
                 sodium_hex2bin(buf->pseudonym, 32, subject, 64, NULL, NULL, NULL) != 0))
        why = "internal";
    free(participants);
    if (why)
        return s_refuse(why, detail, code, codelen, message, msglen);
    snprintf(buf->kind, sizeof buf->kind, "%s", kind);
    snprintf(buf->purpose, sizeof buf->purpose, "%s", rule->purpose);
    sr->to = buf->to;
    sr->signal_type = case_text_type(CASE_TEXT_SHARE);
    sr->purpose = buf->purpose;
    sr->urgency = sr->urgency ? sr->urgency : "routine";
    sr->valid_days =
        rule->max_open_days < DAEMON_VALID_DAYS_MAX ? rule->max_open_days : DAEMON_VALID_DAYS_MAX;
    sr->case_id = buf->case_id;
    sr->pseudonym = buf->pseudonym;
    return 0;
}

int cases_share_request(daemon_t *self, const request_t *req, send_request_t *sr,
                        case_share_buf_t *buf, char *code, size_t codelen, char *message,
                        size_t msglen)
{
    if (case_texts_prepare(self, control_opt(req, "id"), NULL, sr, buf, code, codelen, message,
                           msglen) != 0)
        return -1;
    /* Our own check first: the same rule the broker and the recipients
       apply (all or nothing, the first field outside our list named). */
    const char *names[WIRE_FIELDS_MAX + 1];
    size_t n = 0;
    for (size_t i = 0; i < sr->n_fields && n < WIRE_FIELDS_MAX; i++)
        names[n++] = sr->field_names[i];
    if (sr->free_text)
        names[n++] = ENVELOPE_FREE_TEXT_FIELD;
    const char *field = NULL;
    agreements_case_reason_t verdict =
        agreements_case_share(self->agreements, buf->kind, self->settings.org, names, n, &field);
    if (verdict != AGREEMENTS_CASE_ALLOWED) {
        snprintf(code, codelen, "denied");
        snprintf(message, msglen,
                 "%s%s%s: the case's rule (agreements.yaml, cases: %s) does not "
                 "allow this organisation to share that",
                 agreements_case_reason_name(verdict), field ? ":" : "", field ? field : "",
                 buf->kind);
        return -1;
    }
    return 0;
}

/* A new 32-hex id for one of our texts. */
static void s_new_text_id(char hex[STORE_ID_HEX])
{
    uint8_t id[CASE_ID_BYTES];
    randombytes_buf(id, sizeof id);
    daemon_id_hex(id, sizeof id, hex);
}

int case_texts_pending(daemon_t *self, const char *case_hex, const char *step_hex, const char *kind,
                       const char *item_hex, const char *user, const char *free_text)
{
    char text_id[STORE_ID_HEX];
    s_new_text_id(text_id);
    store_case_text_t text = {.text_id = text_id,
                              .case_id = case_hex,
                              .kind = kind,
                              .item_id = item_hex,
                              .author_user = user,
                              .fields = "{}",
                              .free_text = free_text,
                              .step_id = step_hex,
                              .created_ms = daemon_now_ms()};
    if (daemon_item_begin(self) != 0)
        return -1;
    return daemon_item_end(self, store_case_text_add(self->store, &text) == 0) ? 0 : -1;
}

int case_texts_share_sent(daemon_t *self, const char *case_hex, const char *signal_id,
                          const char *kind, const char *item_hex, const char *user,
                          const char *fields_json, const char *free_text, const char *reshare_of)
{
    char text_id[STORE_ID_HEX];
    s_new_text_id(text_id);
    store_case_text_t text = {.text_id = text_id,
                              .case_id = case_hex,
                              .kind = kind,
                              .item_id = item_hex && *item_hex ? item_hex : NULL,
                              .author_user = user,
                              .fields = fields_json,
                              .free_text = free_text,
                              .signal_id = signal_id,
                              .reshare_of = reshare_of,
                              .created_ms = daemon_now_ms()};
    if (daemon_item_begin(self) != 0)
        return -1;
    return daemon_item_end(self, store_case_text_add(self->store, &text) == 0) ? 0 : -1;
}

/* ---- sending what waited for its step */

typedef struct {
    char text_id[STORE_ID_HEX];
    char kind[16];
    char item[STORE_ID_HEX];
    char user[NAMES_USER_MAX + 1];
    char *free_text; /* malloc'd, wiped before it is freed */
} held_text_t;

typedef struct {
    held_text_t texts[CASE_TEXTS_BATCH];
    size_t n;
} held_list_t;

static int s_collect(void *arg, const store_case_text_t *text)
{
    held_list_t *list = arg;
    if (list->n == CASE_TEXTS_BATCH)
        return 0; /* the rest go at the next settle */
    held_text_t *h = &list->texts[list->n];
    snprintf(h->text_id, sizeof h->text_id, "%s", text->text_id);
    snprintf(h->kind, sizeof h->kind, "%s", text->kind);
    snprintf(h->item, sizeof h->item, "%s", text->item_id ? text->item_id : "");
    snprintf(h->user, sizeof h->user, "%s", text->author_user);
    h->free_text = text->free_text ? strdup(text->free_text) : NULL;
    if (text->free_text && !h->free_text)
        return -1;
    list->n++;
    return 0;
}

static void s_list_clear(held_list_t *list)
{
    for (size_t i = 0; i < list->n; i++)
        if (list->texts[i].free_text) {
            sodium_memzero(list->texts[i].free_text, strlen(list->texts[i].free_text));
            free(list->texts[i].free_text);
        }
    list->n = 0;
}

/* Sends the held texts of `kind` (NULL: all but titles, once) to who takes
   part now (or only to `only`). */
static void s_send_held(daemon_t *self, const char *case_hex, const char *kind, const char *only)
{
    held_list_t list = {.n = 0};
    if (store_case_text_each_held(self->store, case_hex, kind, s_collect, &list) != 0) {
        dlog(DLOG_ERROR, "event=store_failed op=case_texts case=%s", case_hex);
        s_list_clear(&list);
        return;
    }
    for (size_t i = 0; i < list.n; i++) {
        held_text_t *h = &list.texts[i];
        case_text_kind_t text_kind = strcmp(h->kind, "title") == 0         ? CASE_TEXT_TITLE
                                     : strcmp(h->kind, "action_text") == 0 ? CASE_TEXT_ACTION
                                                                           : CASE_TEXT_NOTE;
        send_request_t sr;
        memset(&sr, 0, sizeof sr);
        case_share_buf_t buf;
        send_result_t result;
        memset(&result, 0, sizeof result);
        uint8_t item[CASE_ID_BYTES];
        int prepared =
            case_texts_prepare(self, case_hex, only, &sr, &buf, result.code, sizeof result.code,
                               result.message, sizeof result.message);
        if (prepared != 0) {
            /* Nobody to tell now: said, and shown here, but never sent on
               later by itself (a later participant gets it only when we
               re-share it). A title waits for the next partner. */
            if (text_kind != CASE_TEXT_TITLE && strcmp(result.code, "no_participants") == 0 &&
                (daemon_item_begin(self) != 0 ||
                 !daemon_item_end(self, store_case_text_sent(self->store, h->text_id, "") == 0)))
                dlog(DLOG_ERROR, "event=store_failed op=case_text_held case=%s", case_hex);
            dlog(DLOG_INFO, "event=case_text_not_sent case=%s kind=%s reason=%s", case_hex, h->kind,
                 result.code);
            continue;
        }
        sr.signal_type = case_text_type(text_kind);
        sr.free_text = h->free_text;
        sr.user = h->user;
        if (text_kind != CASE_TEXT_TITLE && s_hex_id(h->item, item))
            sr.case_item = item;
        if (outbound_send(self, &sr, &result) != 0) {
            dlog(DLOG_WARN, "event=case_text_not_sent case=%s kind=%s reason=%s", case_hex, h->kind,
                 result.code);
            continue;
        }
        if (daemon_item_begin(self) != 0 ||
            !daemon_item_end(self,
                             store_case_text_sent(self->store, h->text_id, result.signal_id) == 0))
            dlog(DLOG_ERROR, "event=store_failed op=case_text_sent case=%s", case_hex);
        dlog(DLOG_INFO, "event=case_text_sent case=%s kind=%s signal=%s to=%s", case_hex, h->kind,
             result.signal_id, sr.to);
    }
    s_list_clear(&list);
}

void case_texts_settle(daemon_t *self, const char *case_hex, const char *step_hex, bool kept)
{
    if (daemon_item_begin(self) != 0 ||
        !daemon_item_end(self, store_case_text_settle(self->store, step_hex, kept) == 0)) {
        dlog(DLOG_ERROR, "event=store_failed op=case_text_settle case=%s", case_hex);
        return;
    }
    if (kept)
        s_send_held(self, case_hex, NULL, NULL);
}

void case_texts_joined(daemon_t *self, const char *case_hex, const char *org)
{
    s_send_held(self, case_hex, "title", org);
}

/* ---- re-sharing an earlier item */

int case_texts_reshare_request(daemon_t *self, const request_t *req, send_request_t *sr,
                               case_reshare_buf_t *buf, char *code, size_t codelen, char *message,
                               size_t msglen)
{
    const char *case_hex = control_opt(req, "id");
    const char *signal = control_opt(req, "signal");
    const char *to = control_opt(req, "partners");
    uint8_t signal_id[CASE_ID_BYTES];
    if (!s_hex_id(signal, signal_id) || !to || !*to)
        return s_refuse("usage",
                        "give the signal to re-share (--signal ID, one this organisation shared "
                        "in the case, see 'hartslag case show') and --partner ORG[,ORG...]",
                        code, codelen, message, msglen);
    if (case_texts_prepare(self, case_hex, to, sr, &buf->share, code, codelen, message, msglen) !=
        0)
        return -1;
    char kind[16], item_hex[33];
    int found = store_case_text_by_signal(self->store, case_hex, signal, kind, item_hex,
                                          &buf->fields_json, &buf->free_text);
    if (found <= 0) {
        snprintf(code, codelen, "%s", found < 0 ? "internal" : "not_found");
        snprintf(message, msglen, "%s",
                 found < 0 ? "cannot read the cases database"
                           : "this organisation did not share that signal in this case (only "
                             "its author re-shares an item; see 'hartslag case show')");
        return -1;
    }
    if (strcmp(kind, "title") == 0) {
        snprintf(code, codelen, "usage");
        snprintf(message, msglen, "the title goes to every partner that accepts; no re-share");
        return -1;
    }
    if (store_case_text_fields(self->store, buf->fields_json, buf->names, buf->values,
                               WIRE_FIELDS_MAX, &buf->n_fields, &buf->pairs,
                               &buf->pairs_len) != 0) {
        snprintf(code, codelen, "internal");
        snprintf(message, msglen, "cannot read the shared item back");
        return -1;
    }
    memcpy(buf->reshare_of, signal_id, sizeof buf->reshare_of);
    snprintf(buf->kind, sizeof buf->kind, "%s", kind);
    snprintf(buf->signal_hex, sizeof buf->signal_hex, "%s", signal);
    snprintf(buf->item_hex, sizeof buf->item_hex, "%s", item_hex);
    sr->signal_type = case_text_type(strcmp(kind, "action_text") == 0 ? CASE_TEXT_ACTION
                                     : strcmp(kind, "note") == 0      ? CASE_TEXT_NOTE
                                                                      : CASE_TEXT_SHARE);
    sr->field_names = buf->names;
    sr->field_values = buf->values;
    sr->n_fields = buf->n_fields;
    sr->free_text = buf->free_text;
    sr->user = control_opt(req, "user");
    sr->reshare_of = buf->reshare_of;
    if (item_hex[0] && s_hex_id(item_hex, buf->item))
        sr->case_item = buf->item;
    return 0;
}

void case_reshare_buf_clear(case_reshare_buf_t *buf)
{
    if (buf->fields_json) {
        sodium_memzero(buf->fields_json, strlen(buf->fields_json));
        free(buf->fields_json);
    }
    if (buf->free_text) {
        sodium_memzero(buf->free_text, strlen(buf->free_text));
        free(buf->free_text);
    }
    if (buf->pairs) {
        sodium_memzero(buf->pairs, buf->pairs_len);
        free(buf->pairs);
    }
    memset(buf, 0, sizeof *buf);
}
