/*  agreements_diff: see agreements_diff.h. */
#include "agreements_diff.h"

#include "date.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*  Invariants: changes[0..count) own their id/attribute/value strings
    (attribute may point to a static name); affected[0..affected_count) are
    owned, sorted and unique once agreements_diff_new returns. */
struct agreements_diff_t {
    agreements_change_t *changes; /* in report order */
    size_t count;                 /* entries in changes */
    size_t cap;                   /* room in changes */
    char **affected;              /* orgs affected */
    size_t affected_count;        /* entries in affected */
    size_t affected_cap;          /* room in affected */
    bool oom;                     /* an allocation failed; the diff is unusable */
};

/* ------------------------------------------------------------ rendering */

static char *s_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *s_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *out = malloc((size_t)n + 1);
    if (!out)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

/* A string as a quoted, escaped literal; "(none)" for NULL. */
static char *s_quote(const char *s)
{
    if (!s)
        return s_printf("(none)");
    size_t len = strlen(s);
    char *out = malloc(len * 4 + 3);
    if (!out)
        return NULL;
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
        } else
            out[o++] = (char)c;
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

static int s_str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, unique copy of a list of borrowed names; *n becomes the new count. */
static const char **s_set(const char *const *list, size_t *n)
{
    const char **v = malloc((*n ? *n : 1) * sizeof *v);
    if (!v)
        return NULL;
    if (*n)
        memcpy(v, list, *n * sizeof *v);
    qsort(v, *n, sizeof *v, s_str_cmp);
    size_t u = 0;
    for (size_t i = 0; i < *n; i++)
        if (u == 0 || strcmp(v[u - 1], v[i]) != 0)
            v[u++] = v[i];
    *n = u;
    return v;
}

/* A list as "[a, b]" in sorted order; "(all)" when empty and all_when_empty. */
static char *s_render_list(const char *const *list, size_t n, bool all_when_empty)
{
    if (n == 0)
        return s_printf("%s", all_when_empty ? "(all)" : "[]");
    const char **v = s_set(list, &n);
    if (!v)
        return NULL;
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + 2;
    char *out = malloc(len);
    if (out) {
        size_t o = 0;
        out[o++] = '[';
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(v[i]);
            if (i) {
                out[o++] = ',';
                out[o++] = ' ';
            }
            memcpy(out + o, v[i], l);
            o += l;
        }
        out[o++] = ']';
        out[o] = '\0';
    }
    free(v);
    return out;
}

static bool s_list_equal(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    char *x = s_render_list(a, na, true), *y = s_render_list(b, nb, true);
    bool eq = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    return eq;
}

static bool s_str_equal(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* ------------------------------------------------------------- building */

static void s_add(agreements_diff_t *self, agreements_diff_op_t op, agreements_diff_kind_t kind,
                  const char *id, const char *attribute, char *old_value, char *new_value)
{
    char *id_copy = id ? strdup(id) : NULL;
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        agreements_change_t *c = realloc(self->changes, cap * sizeof *c);
        if (!c)
            goto oom;
        self->changes = c;
        self->cap = cap;
    }
    if ((id && !id_copy) || (op == AGREEMENTS_DIFF_CHANGED && (!old_value || !new_value)))
        goto oom;
    self->changes[self->count++] =
        (agreements_change_t){op, kind, id_copy, attribute, old_value, new_value};
    return;
oom:
    self->oom = true;
    free(id_copy);
    free(old_value);
    free(new_value);
}

static void s_affect(agreements_diff_t *self, const char *org)
{
    for (size_t i = 0; i < self->affected_count; i++)
        if (strcmp(self->affected[i], org) == 0)
            return;
    if (self->affected_count == self->affected_cap) {
        size_t cap = self->affected_cap ? self->affected_cap * 2 : 8;
        char **a = realloc(self->affected, cap * sizeof *a);
        if (!a) {
            self->oom = true;
            return;
        }
        self->affected = a;
        self->affected_cap = cap;
    }
    char *copy = strdup(org);
    if (!copy) {
        self->oom = true;
        return;
    }
    self->affected[self->affected_count++] = copy;
}

/* Compares one attribute given as rendered values; takes ownership of both. */
static bool s_attr(agreements_diff_t *self, agreements_diff_kind_t kind, const char *id,
                   const char *attribute, char *old_value, char *new_value)
{
    if (!old_value || !new_value) {
        free(old_value);
        free(new_value);
        self->oom = true;
        return false;
    }
    if (strcmp(old_value, new_value) == 0) {
        free(old_value);
        free(new_value);
        return false;
    }
    s_add(self, AGREEMENTS_DIFF_CHANGED, kind, id, attribute, old_value, new_value);
    return true;
}

static char *s_bool(bool b)
{
    return s_printf("%s", b ? "true" : "false");
}

static char *s_u(uint64_t v)
{
    return s_printf("%llu", (unsigned long long)v);
}

static char *s_date(int32_t day)
{
    char buf[11];
    date_format(day, buf);
    return s_printf("%s", buf);
}

static const char *s_role(agreements_role_t role)
{
    return role == AGREEMENTS_ROLE_COORDINATOR ? "coordinator" : "partner";
}

static void s_top(agreements_diff_t *self, const agreements_t *o, const agreements_t *n)
{
    if (s_attr(self, AGREEMENTS_DIFF_TOP, "partnership", "partnership",
               s_quote(agreements_partnership(o)), s_quote(agreements_partnership(n)))) {
        for (size_t i = 0; i < agreements_partner_count(o); i++)
            s_affect(self, agreements_partner(o, i)->org);
        for (size_t i = 0; i < agreements_partner_count(n); i++)
            s_affect(self, agreements_partner(n, i)->org);
    }
    s_attr(self, AGREEMENTS_DIFF_TOP, "version", "version", s_u(agreements_version(o)),
           s_u(agreements_version(n)));
    if (s_attr(self, AGREEMENTS_DIFF_TOP, "coordinator", "coordinator",
               s_quote(agreements_coordinator(o)), s_quote(agreements_coordinator(n)))) {
        s_affect(self, agreements_coordinator(o));
        s_affect(self, agreements_coordinator(n));
    }
}

static void s_partners(agreements_diff_t *self, const agreements_t *o, const agreements_t *n)
{
    const agreements_diff_kind_t K = AGREEMENTS_DIFF_PARTNER;
    for (size_t i = 0; i < agreements_partner_count(o); i++) {
        const agreements_partner_t *p = agreements_partner(o, i);
        const agreements_partner_t *q = agreements_partner_lookup(n, p->org, strlen(p->org));
        if (!q) {
            s_add(self, AGREEMENTS_DIFF_REMOVED, K, p->org, NULL, NULL, NULL);
            s_affect(self, p->org);
            continue;
        }
        bool ch = false;
        ch |= s_attr(self, K, p->org, "name", s_quote(p->name), s_quote(q->name));
        ch |= s_attr(self, K, p->org, "role", s_printf("%s", s_role(p->role)),
                     s_printf("%s", s_role(q->role)));
        ch |= s_attr(self, K, p->org, "may_send", s_bool(p->may_send), s_bool(q->may_send));
        ch |=
            s_attr(self, K, p->org, "may_receive", s_bool(p->may_receive), s_bool(q->may_receive));
        ch |= s_attr(self, K, p->org, "receives_alerts", s_bool(p->receives_alerts),
                     s_bool(q->receives_alerts));
        if (ch)
            s_affect(self, p->org);
    }
    for (size_t i = 0; i < agreements_partner_count(n); i++) {
        const agreements_partner_t *q = agreements_partner(n, i);
        if (!agreements_partner_lookup(o, q->org, strlen(q->org))) {
            s_add(self, AGREEMENTS_DIFF_ADDED, K, q->org, NULL, NULL, NULL);
            s_affect(self, q->org);
        }
    }
}

/* Compares (or, with self NULL, only tests) every attribute but the id. */
static bool s_agreement_body(agreements_diff_t *self, const agreements_agreement_t *a,
                             const agreements_agreement_t *b)
{
    if (!self)
        return s_str_equal(a->from, b->from) &&
               s_list_equal(a->to, a->to_count, b->to, b->to_count) &&
               s_list_equal(a->signal_types, a->signal_type_count, b->signal_types,
                            b->signal_type_count) &&
               s_list_equal(a->fields, a->field_count, b->fields, b->field_count) &&
               s_str_equal(a->purpose, b->purpose) && s_str_equal(a->legal_basis, b->legal_basis) &&
               a->valid_from == b->valid_from && a->valid_until == b->valid_until &&
               a->retention_days == b->retention_days && a->max_queue_days == b->max_queue_days;
    const agreements_diff_kind_t K = AGREEMENTS_DIFF_AGREEMENT;
    const char *id = b->id;
    bool ch = false;
    ch |= s_attr(self, K, id, "from", s_printf("%s", a->from), s_printf("%s", b->from));
    ch |= s_attr(self, K, id, "to", s_render_list(a->to, a->to_count, false),
                 s_render_list(b->to, b->to_count, false));
    ch |= s_attr(self, K, id, "signal_types",
                 s_render_list(a->signal_types, a->signal_type_count, false),
                 s_render_list(b->signal_types, b->signal_type_count, false));
    ch |= s_attr(self, K, id, "fields", s_render_list(a->fields, a->field_count, false),
                 s_render_list(b->fields, b->field_count, false));
    ch |= s_attr(self, K, id, "purpose", s_quote(a->purpose), s_quote(b->purpose));
    ch |= s_attr(self, K, id, "legal_basis", s_quote(a->legal_basis), s_quote(b->legal_basis));
    ch |= s_attr(self, K, id, "valid_from", s_date(a->valid_from), s_date(b->valid_from));
    ch |= s_attr(self, K, id, "valid_until", s_date(a->valid_until), s_date(b->valid_until));
    ch |= s_attr(self, K, id, "retention_days", s_u(a->retention_days), s_u(b->retention_days));
    ch |= s_attr(self, K, id, "max_queue_days", s_u(a->max_queue_days), s_u(b->max_queue_days));
    return ch;
}

static void s_affect_agreement(agreements_diff_t *self, const agreements_agreement_t *a)
{
    s_affect(self, a->from);
    for (size_t i = 0; i < a->to_count; i++)
        s_affect(self, a->to[i]);
}

static const agreements_agreement_t *s_agreement_find(const agreements_t *ag, const char *id)
{
    for (size_t i = 0; i < agreements_count(ag); i++)
        if (strcmp(agreements_at(ag, i)->id, id) == 0)
            return agreements_at(ag, i);
    return NULL;
}

static bool s_alert_body(agreements_diff_t *self, const agreements_alert_rule_t *a,
                         const agreements_alert_rule_t *b)
{
    if (!self)
        return a->distinct_senders == b->distinct_senders && a->window_days == b->window_days &&
               s_list_equal(a->signal_types, a->signal_type_count, b->signal_types,
                            b->signal_type_count) &&
               s_list_equal(a->notify, a->notify_count, b->notify, b->notify_count) &&
               a->notify_senders == b->notify_senders &&
               s_str_equal(a->legal_basis, b->legal_basis);
    const agreements_diff_kind_t K = AGREEMENTS_DIFF_ALERT;
    const char *id = b->id;
    bool ch = false;
    ch |=
        s_attr(self, K, id, "distinct_senders", s_u(a->distinct_senders), s_u(b->distinct_senders));
    ch |= s_attr(self, K, id, "window_days", s_u(a->window_days), s_u(b->window_days));
    ch |= s_attr(self, K, id, "signal_types",
                 s_render_list(a->signal_types, a->signal_type_count, true),
                 s_render_list(b->signal_types, b->signal_type_count, true));
    ch |= s_attr(self, K, id, "notify", s_render_list(a->notify, a->notify_count, false),
                 s_render_list(b->notify, b->notify_count, false));
    ch |=
        s_attr(self, K, id, "notify_senders", s_bool(a->notify_senders), s_bool(b->notify_senders));
    ch |= s_attr(self, K, id, "legal_basis", s_quote(a->legal_basis), s_quote(b->legal_basis));
    return ch;
}

static void s_affect_alert(agreements_diff_t *self, const agreements_alert_rule_t *r)
{
    for (size_t i = 0; i < r->notify_count; i++)
        s_affect(self, r->notify[i]);
}

static const agreements_alert_rule_t *s_alert_find(const agreements_t *ag, const char *id)
{
    for (size_t i = 0; i < agreements_alert_count(ag); i++)
        if (strcmp(agreements_alert(ag, i)->id, id) == 0)
            return agreements_alert(ag, i);
    return NULL;
}

static void s_agreements(agreements_diff_t *self, const agreements_t *o, const agreements_t *n)
{
    size_t no = agreements_count(o), nn = agreements_count(n);
    bool *used = calloc(nn + 1, sizeof *used); /* new entries already matched by a rename */
    if (!used) {
        self->oom = true;
        return;
    }
    for (size_t i = 0; i < no; i++) {
        const agreements_agreement_t *a = agreements_at(o, i);
        const agreements_agreement_t *b = s_agreement_find(n, a->id);
        if (b) {
            if (s_agreement_body(self, a, b)) {
                s_affect_agreement(self, a);
                s_affect_agreement(self, b);
            }
            continue;
        }
        /* gone: a rename when a new id (absent from OLD) has an equal body */
        size_t k = nn;
        for (size_t j = 0; j < nn && k == nn; j++) {
            const agreements_agreement_t *c = agreements_at(n, j);
            if (!used[j] && !s_agreement_find(o, c->id) && s_agreement_body(NULL, a, c))
                k = j;
        }
        if (k < nn) {
            used[k] = true;
            s_add(self, AGREEMENTS_DIFF_RENAMED, AGREEMENTS_DIFF_AGREEMENT, agreements_at(n, k)->id,
                  NULL, s_printf("%s", a->id), s_printf("%s", agreements_at(n, k)->id));
        } else
            s_add(self, AGREEMENTS_DIFF_REMOVED, AGREEMENTS_DIFF_AGREEMENT, a->id, NULL, NULL,
                  NULL);
        s_affect_agreement(self, a);
    }
    for (size_t j = 0; j < nn; j++) {
        const agreements_agreement_t *b = agreements_at(n, j);
        if (used[j] || s_agreement_find(o, b->id))
            continue;
        s_add(self, AGREEMENTS_DIFF_ADDED, AGREEMENTS_DIFF_AGREEMENT, b->id, NULL, NULL, NULL);
        s_affect_agreement(self, b);
    }
    free(used);
}

static void s_alerts(agreements_diff_t *self, const agreements_t *o, const agreements_t *n)
{
    size_t no = agreements_alert_count(o), nn = agreements_alert_count(n);
    bool *used = calloc(nn + 1, sizeof *used);
    if (!used) {
        self->oom = true;
        return;
    }
    for (size_t i = 0; i < no; i++) {
        const agreements_alert_rule_t *a = agreements_alert(o, i);
        const agreements_alert_rule_t *b = s_alert_find(n, a->id);
        if (b) {
            if (s_alert_body(self, a, b)) {
                s_affect_alert(self, a);
                s_affect_alert(self, b);
            }
            continue;
        }
        size_t k = nn;
        for (size_t j = 0; j < nn && k == nn; j++) {
            const agreements_alert_rule_t *c = agreements_alert(n, j);
            if (!used[j] && !s_alert_find(o, c->id) && s_alert_body(NULL, a, c))
                k = j;
        }
        if (k < nn) {
            used[k] = true;
            s_add(self, AGREEMENTS_DIFF_RENAMED, AGREEMENTS_DIFF_ALERT, agreements_alert(n, k)->id,
                  NULL, s_printf("%s", a->id), s_printf("%s", agreements_alert(n, k)->id));
        } else
            s_add(self, AGREEMENTS_DIFF_REMOVED, AGREEMENTS_DIFF_ALERT, a->id, NULL, NULL, NULL);
        s_affect_alert(self, a);
    }
    for (size_t j = 0; j < nn; j++) {
        const agreements_alert_rule_t *b = agreements_alert(n, j);
        if (used[j] || s_alert_find(o, b->id))
            continue;
        s_add(self, AGREEMENTS_DIFF_ADDED, AGREEMENTS_DIFF_ALERT, b->id, NULL, NULL, NULL);
        s_affect_alert(self, b);
    }
    free(used);
}

/* The participants of a case rule as "gemeente [adres, toelichting];
   politie [adres]", sorted by org (the file's order is no change). */
static char *s_render_participants(const agreements_case_rule_t *r)
{
    size_t n = r->participant_count;
    const agreements_case_participant_t **v = malloc((n ? n : 1) * sizeof *v);
    char **parts = calloc(n ? n : 1, sizeof *parts);
    char *out = NULL;
    if (!v || !parts)
        goto done;
    for (size_t i = 0; i < n; i++)
        v[i] = &r->participants[i];
    for (size_t i = 1; i < n; i++) /* a handful: insertion sort */
        for (size_t k = i; k > 0 && strcmp(v[k - 1]->org, v[k]->org) > 0; k--) {
            const agreements_case_participant_t *t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
    size_t len = 1;
    for (size_t i = 0; i < n; i++) {
        char *fields = s_render_list(v[i]->fields, v[i]->field_count, false);
        parts[i] = fields ? s_printf("%s %s", v[i]->org, fields) : NULL;
        free(fields);
        if (!parts[i])
            goto done;
        len += strlen(parts[i]) + 2;
    }
    out = malloc(len);
    if (out) {
        size_t o = 0;
        for (size_t i = 0; i < n; i++)
            o += (size_t)snprintf(out + o, len - o, "%s%s", i ? "; " : "", parts[i]);
        out[o] = '\0';
    }
done:
    for (size_t i = 0; parts && i < n; i++)
        free(parts[i]);
    free(parts);
    free(v);
    return out;
}

static void s_affect_case(agreements_diff_t *self, const agreements_case_rule_t *r)
{
    for (size_t i = 0; i < r->participant_count; i++)
        s_affect(self, r->participants[i].org);
}

/* Case conference rules, by kind. */
static void s_cases(agreements_diff_t *self, const agreements_t *o, const agreements_t *n)
{
    const agreements_diff_kind_t K = AGREEMENTS_DIFF_CASE;
    for (size_t i = 0; i < agreements_case_rule_count(o); i++) {
        const agreements_case_rule_t *a = agreements_case_rule(o, i);
        const agreements_case_rule_t *b = agreements_case_rule_lookup(n, a->kind, strlen(a->kind));
        if (!b) {
            s_add(self, AGREEMENTS_DIFF_REMOVED, K, a->kind, NULL, NULL, NULL);
            s_affect_case(self, a);
            continue;
        }
        const char *id = b->kind;
        bool ch = false;
        ch |= s_attr(self, K, id, "coordinator", s_printf("%s", a->coordinator),
                     s_printf("%s", b->coordinator));
        ch |=
            s_attr(self, K, id, "participants", s_render_participants(a), s_render_participants(b));
        ch |=
            s_attr(self, K, id, "purpose", s_printf("%s", a->purpose), s_printf("%s", b->purpose));
        ch |= s_attr(self, K, id, "legal_basis", s_quote(a->legal_basis), s_quote(b->legal_basis));
        ch |= s_attr(self, K, id, "retention_days_after_close", s_u(a->retention_days_after_close),
                     s_u(b->retention_days_after_close));
        ch |= s_attr(self, K, id, "max_open_days", s_u(a->max_open_days), s_u(b->max_open_days));
        ch |= s_attr(self, K, id, "outcomes", s_render_list(a->outcomes, a->outcome_count, false),
                     s_render_list(b->outcomes, b->outcome_count, false));
        if (ch) {
            s_affect_case(self, a);
            s_affect_case(self, b);
        }
    }
    for (size_t j = 0; j < agreements_case_rule_count(n); j++) {
        const agreements_case_rule_t *b = agreements_case_rule(n, j);
        if (agreements_case_rule_lookup(o, b->kind, strlen(b->kind)))
            continue;
        s_add(self, AGREEMENTS_DIFF_ADDED, K, b->kind, NULL, NULL, NULL);
        s_affect_case(self, b);
    }
}

/* ---------------------------------------------------------------- public */

agreements_diff_t *agreements_diff_new(const agreements_t *old_a, const agreements_t *new_a)
{
    if (!old_a || !new_a)
        return NULL;
    agreements_diff_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    s_top(self, old_a, new_a);
    s_partners(self, old_a, new_a);
    s_agreements(self, old_a, new_a);
    s_alerts(self, old_a, new_a);
    s_cases(self, old_a, new_a);
    if (self->oom) {
        agreements_diff_destroy(&self);
        return NULL;
    }
    if (self->affected_count > 1) /* qsort may not be given the NULL of an empty list */
        qsort(self->affected, self->affected_count, sizeof *self->affected, s_str_cmp);
    return self;
}

void agreements_diff_destroy(agreements_diff_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    agreements_diff_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        free((char *)self->changes[i].id);
        free((char *)self->changes[i].old_value);
        free((char *)self->changes[i].new_value);
    }
    free(self->changes);
    for (size_t i = 0; i < self->affected_count; i++)
        free(self->affected[i]);
    free(self->affected);
    free(self);
    *self_p = NULL;
}

size_t agreements_diff_count(const agreements_diff_t *self)
{
    return self ? self->count : 0;
}

const agreements_change_t *agreements_diff_at(const agreements_diff_t *self, size_t index)
{
    return self && index < self->count ? &self->changes[index] : NULL;
}

size_t agreements_diff_affected_count(const agreements_diff_t *self)
{
    return self ? self->affected_count : 0;
}

const char *agreements_diff_affected(const agreements_diff_t *self, size_t index)
{
    return self && index < self->affected_count ? self->affected[index] : NULL;
}

bool agreements_diff_affects(const agreements_diff_t *self, const char *org)
{
    for (size_t i = 0; self && org && i < self->affected_count; i++)
        if (strcmp(self->affected[i], org) == 0)
            return true;
    return false;
}

const char *agreements_diff_kind_name(agreements_diff_kind_t kind)
{
    switch (kind) {
    case AGREEMENTS_DIFF_PARTNER:
        return "partner";
    case AGREEMENTS_DIFF_AGREEMENT:
        return "agreement";
    case AGREEMENTS_DIFF_ALERT:
        return "alert";
    case AGREEMENTS_DIFF_CASE:
        return "case";
    case AGREEMENTS_DIFF_TOP:
    default:
        return "top";
    }
}

void agreements_change_print(const agreements_change_t *c, FILE *out)
{
    if (c->kind == AGREEMENTS_DIFF_TOP) {
        fprintf(out, "~ %s: %s -> %s", c->attribute, c->old_value, c->new_value);
        return;
    }
    const char *kind = agreements_diff_kind_name(c->kind);
    switch (c->op) {
    case AGREEMENTS_DIFF_ADDED:
        fprintf(out, "+ %s %s", kind, c->id);
        break;
    case AGREEMENTS_DIFF_REMOVED:
        fprintf(out, "- %s %s", kind, c->id);
        break;
    case AGREEMENTS_DIFF_RENAMED:
        fprintf(out, "~ %s %s: renamed to %s (no other change)", kind, c->old_value, c->new_value);
        break;
    case AGREEMENTS_DIFF_CHANGED:
    default:
        fprintf(out, "~ %s %s: %s %s -> %s", kind, c->id, c->attribute, c->old_value, c->new_value);
        break;
    }
}
