/*  agreements: the model, its index and the evaluation of requests.
    Parsing and validation live in agreements_parse.c. */
#include "agreements_internal.h"

#include <sodium.h>

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- intern */

/* FNV-1a: names are short (<= 64 bytes), so a simple byte hash is fast enough. */
static uint32_t s_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

uint32_t intern_find(const intern_t *self, const char *name, size_t len)
{
    if (!self->slots || (!name && len))
        return INTERN_NONE;
    uint32_t i = s_hash(name, len) & self->mask;
    for (;;) {
        uint32_t slot = self->slots[i];
        if (slot == 0)
            return INTERN_NONE;
        uint32_t id = slot - 1;
        if (self->lens[id] == len && memcmp(self->names[id], name, len) == 0)
            return id;
        i = (i + 1) & self->mask;
    }
}

static int s_intern_grow(intern_t *self)
{
    uint32_t size = self->slots ? (self->mask + 1) * 2 : 64;
    uint32_t *slots = calloc(size, sizeof *slots);
    if (!slots)
        return -1;
    for (uint32_t id = 0; id < self->count; id++) {
        uint32_t i = s_hash(self->names[id], self->lens[id]) & (size - 1);
        while (slots[i])
            i = (i + 1) & (size - 1);
        slots[i] = id + 1;
    }
    free(self->slots);
    self->slots = slots;
    self->mask = size - 1;
    return 0;
}

uint32_t intern_add(intern_t *self, arena_t *arena, const char *name, size_t len, bool *added)
{
    *added = false;
    uint32_t id = intern_find(self, name, len);
    if (id != INTERN_NONE)
        return id;
    if (len > UINT32_MAX || self->count >= UINT32_MAX / 4)
        return INTERN_NONE;
    if (!self->slots || (self->count + 1) * 2 > self->mask + 1)
        if (s_intern_grow(self) != 0)
            return INTERN_NONE;
    if (self->count == self->cap) {
        uint32_t cap = self->cap ? self->cap * 2 : 16;
        const char **names = realloc(self->names, cap * sizeof *names);
        if (!names)
            return INTERN_NONE;
        self->names = names;
        uint32_t *lens = realloc(self->lens, cap * sizeof *lens);
        if (!lens)
            return INTERN_NONE;
        self->lens = lens;
        self->cap = cap;
    }
    char *copy = arena_strndup(arena, name, len);
    if (!copy)
        return INTERN_NONE;
    id = self->count++;
    self->names[id] = copy;
    self->lens[id] = (uint32_t)len;
    uint32_t i = s_hash(name, len) & self->mask;
    while (self->slots[i])
        i = (i + 1) & self->mask;
    self->slots[i] = id + 1;
    *added = true;
    return id;
}

void intern_free(intern_t *self)
{
    free(self->names);
    free(self->lens);
    free(self->slots);
    memset(self, 0, sizeof *self);
}

/* ---------------------------------------------------------------- dates */

int32_t agreements_day_from_ms(int64_t ms)
{
    const int64_t day_ms = 86400000;
    int64_t day = ms / day_ms;
    if (ms % day_ms < 0)
        day--; /* floor, not truncation: -1 ms is 1969-12-31 */
    if (day > INT32_MAX)
        return INT32_MAX;
    if (day < INT32_MIN)
        return INT32_MIN;
    return (int32_t)day;
}

/* --------------------------------------------------------------- errors */

struct agreements_errors_t {
    char *file;                /* owned copy of the file name */
    agreements_error_t *items; /* count used, cap allocated */
    size_t count;              /* errors kept */
    size_t cap;                /* room in items */
    bool truncated;            /* more errors were found than kept */
};

agreements_errors_t *agreements_errors_new(const char *file)
{
    agreements_errors_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (!file)
        file = "(agreements)";
    size_t len = strlen(file);
    self->file = malloc(len + 1);
    if (!self->file) {
        free(self);
        return NULL;
    }
    memcpy(self->file, file, len + 1);
    return self;
}

bool agreements_errors_full(const agreements_errors_t *self)
{
    return self->count >= AGREEMENTS_ERRORS_MAX;
}

void agreements_errors_addv(agreements_errors_t *self, uint32_t line, uint32_t column,
                            const char *fmt, va_list args)
{
    if (self->count >= AGREEMENTS_ERRORS_MAX) {
        self->truncated = true;
        return;
    }
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        if (cap > AGREEMENTS_ERRORS_MAX)
            cap = AGREEMENTS_ERRORS_MAX;
        agreements_error_t *items = realloc(self->items, cap * sizeof *items);
        if (!items) {
            self->truncated = true;
            return;
        }
        self->items = items;
        self->cap = cap;
    }
    agreements_error_t *e = &self->items[self->count++];
    e->file = self->file;
    e->line = line;
    e->column = column;
    vsnprintf(e->message, sizeof e->message, fmt, args);
}

void agreements_errors_sort(agreements_errors_t *self)
{
    /* Insertion sort: stable, and there are at most AGREEMENTS_ERRORS_MAX. */
    for (size_t i = 1; i < self->count; i++) {
        agreements_error_t e = self->items[i];
        size_t j = i;
        while (j > 0 &&
               (self->items[j - 1].line > e.line ||
                (self->items[j - 1].line == e.line && self->items[j - 1].column > e.column))) {
            self->items[j] = self->items[j - 1];
            j--;
        }
        self->items[j] = e;
    }
}

size_t agreements_errors_count(const agreements_errors_t *self)
{
    return self ? self->count : 0;
}

const agreements_error_t *agreements_errors_at(const agreements_errors_t *self, size_t index)
{
    return self && index < self->count ? &self->items[index] : NULL;
}

bool agreements_errors_truncated(const agreements_errors_t *self)
{
    return self && self->truncated;
}

void agreements_errors_print(const agreements_errors_t *self, FILE *out)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++) {
        const agreements_error_t *e = &self->items[i];
        if (e->line)
            fprintf(out, "%s:%u:%u: %s\n", e->file, e->line, e->column, e->message);
        else
            fprintf(out, "%s: %s\n", e->file, e->message);
    }
    if (self->truncated)
        fprintf(out, "%s: too many errors; stopped after %d\n", self->file, AGREEMENTS_ERRORS_MAX);
}

void agreements_errors_destroy(agreements_errors_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    agreements_errors_t *self = *self_p;
    free(self->items);
    free(self->file);
    free(self);
    *self_p = NULL;
}

/* ---------------------------------------------------------------- model */

void agreements_destroy(agreements_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    agreements_t *self = *self_p;
    intern_free(&self->orgs);
    intern_free(&self->types);
    intern_free(&self->fields);
    intern_free(&self->purposes);
    arena_free(&self->arena);
    free(self);
    *self_p = NULL;
}

agreements_str_t agreements_str(const char *s)
{
    agreements_str_t str = {s, s ? strlen(s) : 0};
    return str;
}

const char *agreements_partnership(const agreements_t *self)
{
    return self->partnership;
}

uint64_t agreements_version(const agreements_t *self)
{
    return self->version;
}

const uint8_t *agreements_hash(const agreements_t *self)
{
    return self->hash;
}

void agreements_hash_hex(const agreements_t *self, char out[AGREEMENTS_HASH_HEX])
{
    sodium_bin2hex(out, AGREEMENTS_HASH_HEX, self->hash, AGREEMENTS_HASH_BYTES);
}

const char *agreements_coordinator(const agreements_t *self)
{
    return self->coordinator;
}

size_t agreements_partner_count(const agreements_t *self)
{
    return self->partner_count;
}

const agreements_partner_t *agreements_partner(const agreements_t *self, size_t index)
{
    return index < self->partner_count ? &self->partners[index] : NULL;
}

const agreements_partner_t *agreements_partner_lookup(const agreements_t *self, const char *org,
                                                      size_t len)
{
    uint32_t id = intern_find(&self->orgs, org, len);
    return id == INTERN_NONE ? NULL : &self->partners[id];
}

size_t agreements_count(const agreements_t *self)
{
    return self->agreement_count;
}

const agreements_agreement_t *agreements_at(const agreements_t *self, size_t index)
{
    return index < self->agreement_count ? &self->agreements[index] : NULL;
}

size_t agreements_alert_count(const agreements_t *self)
{
    return self->alert_count;
}

const agreements_alert_rule_t *agreements_alert(const agreements_t *self, size_t index)
{
    return index < self->alert_count ? &self->alerts[index] : NULL;
}

bool agreements_alert_covers(const agreements_alert_rule_t *rule, const char *signal_type,
                             size_t len)
{
    if (rule->signal_type_count == 0)
        return true;
    /* A rule names a handful of types and alerts are evaluated after acceptance, off the
       per-recipient path: a short scan is simpler than another index. */
    for (size_t i = 0; i < rule->signal_type_count; i++)
        if (strlen(rule->signal_types[i]) == len &&
            memcmp(rule->signal_types[i], signal_type, len) == 0)
            return true;
    return false;
}

const char *agreements_reason_name(agreements_reason_t reason)
{
    switch (reason) {
    case AGREEMENTS_ALLOWED:
        return "allowed";
    case AGREEMENTS_NO_AGREEMENT:
        return "no_agreement";
    case AGREEMENTS_TYPE_NOT_ALLOWED:
        return "type_not_allowed";
    case AGREEMENTS_PURPOSE_MISMATCH:
        return "purpose_mismatch";
    case AGREEMENTS_NOT_YET_VALID:
        return "not_yet_valid";
    case AGREEMENTS_EXPIRED:
        return "expired";
    case AGREEMENTS_FIELD_NOT_ALLOWED:
        return "field_not_allowed";
    case AGREEMENTS_UNKNOWN_PARTNER:
        return "unknown_partner";
    case AGREEMENTS_ROLE_NOT_ALLOWED:
        return "role_not_allowed";
    }
    return "unknown";
}

int agreements_verdict_reason(const agreements_verdict_t *verdict, char *buf, size_t size)
{
    if (!buf || size == 0)
        return -1;
    const char *name = agreements_reason_name(verdict->reason);
    int n;
    if (verdict->reason == AGREEMENTS_FIELD_NOT_ALLOWED) {
        /* The field comes from the request and may be anything: cap it (a valid name is
           at most NAMES_TOKEN_MAX bytes) and keep it printable. */
        char field[65];
        size_t len = verdict->field.len < 64 ? verdict->field.len : 64;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)verdict->field.str[i];
            field[i] = (c >= 0x21 && c <= 0x7e) ? (char)c : '?';
        }
        field[len] = '\0';
        n = snprintf(buf, size, "%s:%s%s", name, field, verdict->field.len > 64 ? "..." : "");
    } else
        n = snprintf(buf, size, "%s", name);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* ---------------------------------------------------------------- index */

static uint32_t s_pair_key(uint32_t from, uint32_t to)
{
    return from * AGREEMENTS_PARTNERS_MAX + to + 1;
}

static uint32_t s_pair_hash(uint32_t key)
{
    /* Murmur3's finaliser: keys are dense small integers, so mix them well. */
    key ^= key >> 16;
    key *= 0x85ebca6bu;
    key ^= key >> 13;
    key *= 0xc2b2ae35u;
    key ^= key >> 16;
    return key;
}

static const pair_slot_t *s_pair_find(const agreements_t *self, uint32_t from, uint32_t to)
{
    uint32_t key = s_pair_key(from, to);
    uint32_t i = s_pair_hash(key) & self->pair_mask;
    for (;;) {
        const pair_slot_t *slot = &self->pairs[i];
        if (slot->key == key)
            return slot;
        if (slot->key == 0)
            return NULL;
        i = (i + 1) & self->pair_mask;
    }
}

typedef struct {
    uint32_t key;   /* pair key */
    uint32_t index; /* agreement index */
} pair_entry_t;

static int s_pair_entry_cmp(const void *a, const void *b)
{
    const pair_entry_t *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

int agreements_index_build(agreements_t *self)
{
    size_t total = 0;
    for (size_t i = 0; i < self->agreement_count; i++)
        total += self->agreements[i].to_count;
    if (total > UINT32_MAX / 4)
        return -1;
    pair_entry_t *entries = malloc((total ? total : 1) * sizeof *entries);
    if (!entries)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < self->agreement_count; i++) {
        const agreements_agreement_t *a = &self->agreements[i];
        for (size_t k = 0; k < a->to_count; k++) {
            uint32_t to = intern_find(&self->orgs, a->to[k], strlen(a->to[k]));
            entries[n].key = s_pair_key(self->rules[i].from, to);
            entries[n].index = (uint32_t)i;
            n++;
        }
    }
    /* Sorting by (pair, agreement index) keeps each pair's agreements in file order,
       which the evaluation relies on to choose deterministically. */
    qsort(entries, n, sizeof *entries, s_pair_entry_cmp);

    size_t pairs = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || entries[i].key != entries[i - 1].key)
            pairs++;
    uint32_t size = 16;
    while (size < pairs * 2)
        size *= 2;
    self->pairs = arena_alloc(&self->arena, size * sizeof *self->pairs);
    self->pair_rules = arena_alloc(&self->arena, (n ? n : 1) * sizeof *self->pair_rules);
    if (!self->pairs || !self->pair_rules) {
        free(entries);
        return -1;
    }
    self->pair_mask = size - 1;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && entries[j].key == entries[i].key) {
            self->pair_rules[j] = entries[j].index;
            j++;
        }
        uint32_t h = s_pair_hash(entries[i].key) & self->pair_mask;
        while (self->pairs[h].key)
            h = (h + 1) & self->pair_mask;
        self->pairs[h].key = entries[i].key;
        self->pairs[h].start = (uint32_t)i;
        self->pairs[h].count = (uint32_t)(j - i);
        i = j;
    }
    free(entries);
    return 0;
}

/* ------------------------------------------------------------ evaluation */

/* Membership in a sorted id list: lists are short, so scan small ones and bisect the rest. */
static bool s_has(const uint32_t *ids, uint32_t count, uint32_t id)
{
    if (count <= 8) {
        for (uint32_t i = 0; i < count; i++)
            if (ids[i] == id)
                return true;
        return false;
    }
    uint32_t lo = 0, hi = count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < count && ids[lo] == id;
}

/* How far an agreement got before it failed: the higher, the more specific the
   reason. The reason reported for a pair is the one from the agreement that got
   furthest (the first such in file order). */
static int s_stage(agreements_reason_t reason)
{
    switch (reason) {
    case AGREEMENTS_TYPE_NOT_ALLOWED:
        return 1;
    case AGREEMENTS_PURPOSE_MISMATCH:
        return 2;
    case AGREEMENTS_NOT_YET_VALID:
    case AGREEMENTS_EXPIRED:
        return 3;
    case AGREEMENTS_FIELD_NOT_ALLOWED:
        return 4;
    default:
        return 0;
    }
}

typedef struct {
    uint32_t type;          /* type id or INTERN_NONE */
    uint32_t purpose;       /* purpose id or INTERN_NONE */
    int32_t day;            /* UTC day of the request */
    const uint32_t *fields; /* field ids (INTERN_NONE when unknown) */
    size_t field_count;
} resolved_t;

static void s_decide_pair(const agreements_t *self, const agreements_request_t *req,
                          const resolved_t *r, uint32_t from, uint32_t to, agreements_verdict_t *v)
{
    const pair_slot_t *pair = s_pair_find(self, from, to);
    if (!pair) {
        v->reason = AGREEMENTS_NO_AGREEMENT;
        return;
    }
    int best = 0;
    for (uint32_t k = 0; k < pair->count; k++) {
        uint32_t index = self->pair_rules[pair->start + k];
        const rule_t *rule = &self->rules[index];
        agreements_reason_t reason;
        size_t bad_field = 0;
        if (r->type == INTERN_NONE || !s_has(rule->types, rule->type_count, r->type))
            reason = AGREEMENTS_TYPE_NOT_ALLOWED;
        else if (r->purpose != rule->purpose)
            reason = AGREEMENTS_PURPOSE_MISMATCH;
        else if (r->day < rule->valid_from)
            reason = AGREEMENTS_NOT_YET_VALID;
        else if (r->day > rule->valid_until)
            reason = AGREEMENTS_EXPIRED;
        else {
            reason = AGREEMENTS_ALLOWED;
            for (size_t f = 0; f < r->field_count; f++)
                if (r->fields[f] == INTERN_NONE ||
                    !s_has(rule->fields, rule->field_count, r->fields[f])) {
                    reason = AGREEMENTS_FIELD_NOT_ALLOWED;
                    bad_field = f;
                    break;
                }
            if (reason == AGREEMENTS_ALLOWED) {
                v->reason = AGREEMENTS_ALLOWED;
                v->agreement = &self->agreements[index];
                v->field.str = NULL;
                v->field.len = 0;
                return;
            }
        }
        int stage = s_stage(reason);
        if (stage > best) {
            best = stage;
            v->reason = reason;
            v->agreement = &self->agreements[index];
            if (reason == AGREEMENTS_FIELD_NOT_ALLOWED)
                v->field = req->fields[bad_field];
        }
    }
}

int agreements_evaluate(const agreements_t *self, const agreements_request_t *req,
                        agreements_decision_t *decision)
{
    if (!decision)
        return -1;
    decision->allowed = false;
    decision->count = 0;
    decision->version = self ? self->version : 0;
    if (!self || !req || req->recipient_count == 0 ||
        req->recipient_count > AGREEMENTS_RECIPIENTS_MAX || !req->recipients ||
        req->field_count > AGREEMENTS_FIELDS_MAX || (req->field_count && !req->fields))
        return -1;

    uint32_t field_ids[AGREEMENTS_FIELDS_MAX];
    resolved_t r;
    r.type = intern_find(&self->types, req->signal_type.str, req->signal_type.len);
    r.purpose = intern_find(&self->purposes, req->purpose.str, req->purpose.len);
    r.day = agreements_day_from_ms(req->at_ms);
    for (size_t f = 0; f < req->field_count; f++)
        field_ids[f] = intern_find(&self->fields, req->fields[f].str, req->fields[f].len);
    r.fields = field_ids;
    r.field_count = req->field_count;

    uint32_t from = intern_find(&self->orgs, req->sender.str, req->sender.len);
    bool all = true;
    for (size_t i = 0; i < req->recipient_count; i++) {
        agreements_verdict_t *v = &decision->recipients[i];
        v->recipient = req->recipients[i];
        v->reason = AGREEMENTS_NO_AGREEMENT;
        v->field.str = NULL;
        v->field.len = 0;
        v->agreement = NULL;
        uint32_t to = intern_find(&self->orgs, v->recipient.str, v->recipient.len);
        if (from == INTERN_NONE || to == INTERN_NONE)
            v->reason = AGREEMENTS_UNKNOWN_PARTNER;
        else if (!self->partners[from].may_send || !self->partners[to].may_receive)
            v->reason = AGREEMENTS_ROLE_NOT_ALLOWED;
        else
            s_decide_pair(self, req, &r, from, to, v);
        if (v->reason != AGREEMENTS_ALLOWED)
            all = false;
    }
    decision->count = req->recipient_count;
    decision->allowed = all;
    return 0;
}

/* ---- case conferences (issue 15) ---------------------------------------- */

size_t agreements_case_rule_count(const agreements_t *self)
{
    return self->case_count;
}

const agreements_case_rule_t *agreements_case_rule(const agreements_t *self, size_t index)
{
    return index < self->case_count ? &self->cases[index] : NULL;
}

static bool s_name_is(const char *name, const char *str, size_t len)
{
    return name && strlen(name) == len && memcmp(name, str, len) == 0;
}

const agreements_case_rule_t *agreements_case_rule_lookup(const agreements_t *self,
                                                          const char *kind, size_t len)
{
    /* A partnership has a few kinds of overleg: a walk is enough. */
    for (size_t i = 0; kind && i < self->case_count; i++)
        if (s_name_is(self->cases[i].kind, kind, len))
            return &self->cases[i];
    return NULL;
}

const agreements_case_participant_t *agreements_case_participant(const agreements_case_rule_t *rule,
                                                                 const char *org, size_t len)
{
    for (size_t i = 0; rule && org && i < rule->participant_count; i++)
        if (s_name_is(rule->participants[i].org, org, len))
            return &rule->participants[i];
    return NULL;
}

agreements_case_reason_t agreements_case_share(const agreements_t *self, const char *kind,
                                               const char *org, const char *const *fields,
                                               size_t field_count, const char **field)
{
    if (field)
        *field = NULL;
    const agreements_case_rule_t *rule =
        kind ? agreements_case_rule_lookup(self, kind, strlen(kind)) : NULL;
    if (!rule)
        return AGREEMENTS_CASE_UNKNOWN_KIND;
    const agreements_case_participant_t *part =
        org ? agreements_case_participant(rule, org, strlen(org)) : NULL;
    if (!part)
        return AGREEMENTS_CASE_NOT_PARTICIPANT;
    for (size_t i = 0; i < field_count; i++) {
        bool covered = false;
        for (size_t k = 0; !covered && fields[i] && k < part->field_count; k++)
            covered = strcmp(part->fields[k], fields[i]) == 0;
        if (!covered) {
            if (field)
                *field = fields[i];
            return AGREEMENTS_CASE_FIELD_NOT_ALLOWED;
        }
    }
    return AGREEMENTS_CASE_ALLOWED;
}

agreements_case_reason_t agreements_case_coordinate(const agreements_t *self, const char *kind,
                                                    const char *org, const char *outcome)
{
    const agreements_case_rule_t *rule =
        kind ? agreements_case_rule_lookup(self, kind, strlen(kind)) : NULL;
    if (!rule)
        return AGREEMENTS_CASE_UNKNOWN_KIND;
    if (!org || !rule->coordinator || strcmp(org, rule->coordinator) != 0)
        return AGREEMENTS_CASE_NOT_COORDINATOR;
    if (outcome) {
        for (size_t i = 0; i < rule->outcome_count; i++)
            if (strcmp(rule->outcomes[i], outcome) == 0)
                return AGREEMENTS_CASE_ALLOWED;
        return AGREEMENTS_CASE_UNKNOWN_OUTCOME;
    }
    return AGREEMENTS_CASE_ALLOWED;
}

const char *agreements_case_reason_name(agreements_case_reason_t reason)
{
    switch (reason) {
    case AGREEMENTS_CASE_ALLOWED:
        return "allowed";
    case AGREEMENTS_CASE_UNKNOWN_KIND:
        return "unknown_case_kind";
    case AGREEMENTS_CASE_NOT_COORDINATOR:
        return "not_coordinator";
    case AGREEMENTS_CASE_NOT_PARTICIPANT:
        return "not_a_participant";
    case AGREEMENTS_CASE_FIELD_NOT_ALLOWED:
        return "field_not_allowed";
    case AGREEMENTS_CASE_UNKNOWN_OUTCOME:
        return "unknown_outcome";
    }
    return "unknown";
}
