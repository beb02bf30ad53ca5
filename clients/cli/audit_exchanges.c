/*  audit_exchanges: see audit_exchanges.h. */
#include "audit_exchanges.h"

#include "audit_read.h"
#include "names.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t id[16];                          /* signal id */
    char event[16];                          /* accepted, delivered */
    char counterpart[NAMES_ORG_MAX + 1];     /* "" for any */
    char holder[AUDIT_EXCHANGES_HOLDER_MAX]; /* who listed it */
    bool found;                              /* its record is in the log */
} s_exchange_t;

/*  Invariant: entries[0..n) is sorted by s_cmp (after s_sort) and holds
    no two equal keys. */
struct audit_exchanges_t {
    s_exchange_t *entries;
    size_t n, cap;
    bool sorted;
};

audit_exchanges_t *audit_exchanges_new(void)
{
    return calloc(1, sizeof(audit_exchanges_t));
}

void audit_exchanges_destroy(audit_exchanges_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->entries);
    free(*self_p);
    *self_p = NULL;
}

size_t audit_exchanges_count(const audit_exchanges_t *self)
{
    return self->n;
}

static int s_cmp(const void *a, const void *b)
{
    const s_exchange_t *x = a, *y = b;
    int c = memcmp(x->id, y->id, 16);
    if (c == 0)
        c = strcmp(x->event, y->event);
    if (c == 0)
        c = strcmp(x->counterpart, y->counterpart);
    return c;
}

static int s_add(audit_exchanges_t *self, const char *holder, const uint8_t id[16],
                 const char *event, const char *counterpart)
{
    if (strcmp(event, "accepted") != 0 && strcmp(event, "delivered") != 0)
        return -1;
    if (counterpart && *counterpart && !names_is_org(counterpart))
        return -1;
    if (self->n == self->cap) {
        size_t grow = self->cap ? self->cap * 2 : 256;
        s_exchange_t *more = realloc(self->entries, grow * sizeof *more);
        if (!more)
            return -1;
        self->entries = more;
        self->cap = grow;
    }
    s_exchange_t *e = &self->entries[self->n++];
    memset(e, 0, sizeof *e);
    memcpy(e->id, id, 16);
    snprintf(e->event, sizeof e->event, "%s", event);
    snprintf(e->counterpart, sizeof e->counterpart, "%s", counterpart ? counterpart : "");
    snprintf(e->holder, sizeof e->holder, "%s", holder);
    self->sorted = false;
    return 0;
}

int audit_exchanges_add_line(audit_exchanges_t *self, const char *holder, const char *line)
{
    char hex[33], event[16], org[NAMES_ORG_MAX + 1];
    uint8_t id[16];
    if (sscanf(line, "exchange %32s %15s %32s", hex, event, org) != 3 ||
        audit_unhex(hex, id, sizeof id) != 0)
        return -1;
    return s_add(self, holder, id, event, org);
}

/* Adds one row of the daemon store: a signal id (hex) and a
   comma-separated list of counterparts (NULL: any). */
typedef struct {
    audit_exchanges_t *self; /* where they go */
    const char *holder;      /* who listed them */
    const char *event;       /* accepted, delivered */
} s_load_t;

static int s_load_row(void *arg, const char *hex, const char *list)
{
    s_load_t *load = arg;
    uint8_t id[16];
    if (!hex || audit_unhex(hex, id, sizeof id) != 0)
        return 0;
    if (!list)
        return s_add(load->self, load->holder, id, load->event, NULL);
    char orgs[2048];
    snprintf(orgs, sizeof orgs, "%s", list);
    int rc = 0;
    for (char *save = NULL, *org = strtok_r(orgs, ",", &save); org && rc == 0;
         org = strtok_r(NULL, ",", &save))
        rc = s_add(load->self, load->holder, id, load->event, org);
    return rc;
}

/* What a daemon store says happened: its accepted signals to each
   recipient, the recipients that told it they stored one, and what it
   received itself (through the daemon's store, never SQL of our own). */
static int s_load(audit_exchanges_t *self, const char *holder, store_t *store, char *err,
                  size_t errlen)
{
    s_load_t load = {self, holder, "accepted"};
    int rc = store_exchanges_each(store, STORE_EXCHANGE_SENT, s_load_row, &load);
    load.event = "delivered";
    if (rc == 0)
        rc = store_exchanges_each(store, STORE_EXCHANGE_STORED_AT, s_load_row, &load);
    if (rc == 0)
        rc = store_exchanges_each(store, STORE_EXCHANGE_RECEIVED, s_load_row, &load);
    if (rc != 0)
        snprintf(err, errlen, "out of memory, or a malformed row in %s", holder);
    return rc;
}

int audit_exchanges_load_db(audit_exchanges_t *self, const char *holder, const char *path,
                            char *err, size_t errlen)
{
    char why[256];
    store_t *store = store_open_readonly(path, why, sizeof why);
    if (!store) {
        snprintf(err, errlen, "cannot open %s: %s", path, why);
        return -1;
    }
    int rc = s_load(self, holder, store, err, errlen);
    store_destroy(&store);
    return rc;
}

int audit_exchanges_export(store_t *store, const char *org, FILE *out, uint64_t *count)
{
    audit_exchanges_t *self = audit_exchanges_new();
    if (!self)
        return -1;
    char err[256];
    int rc = s_load(self, org, store, err, sizeof err);
    for (size_t i = 0; rc == 0 && i < self->n; i++) {
        char hex[33];
        audit_hex(self->entries[i].id, 16, hex);
        const char *counterpart =
            self->entries[i].counterpart[0] ? self->entries[i].counterpart : org;
        if (fprintf(out, "exchange %s %s %s\n", hex, self->entries[i].event, counterpart) < 0)
            rc = -1;
        else
            (*count)++;
    }
    audit_exchanges_destroy(&self);
    return rc;
}

static void s_sort(audit_exchanges_t *self)
{
    if (self->sorted)
        return;
    qsort(self->entries, self->n, sizeof *self->entries, s_cmp);
    size_t kept = 0;
    for (size_t i = 0; i < self->n; i++)
        if (kept == 0 || s_cmp(&self->entries[kept - 1], &self->entries[i]) != 0)
            self->entries[kept++] = self->entries[i];
    self->n = kept;
    self->sorted = true;
}

static void s_mark(audit_exchanges_t *self, const uint8_t id[16], const char *event,
                   const char *counterpart)
{
    s_exchange_t key;
    memset(&key, 0, sizeof key);
    memcpy(key.id, id, 16);
    snprintf(key.event, sizeof key.event, "%s", event);
    snprintf(key.counterpart, sizeof key.counterpart, "%s", counterpart);
    s_exchange_t *hit = bsearch(&key, self->entries, self->n, sizeof key, s_cmp);
    if (hit)
        hit->found = true;
    key.counterpart[0] = '\0'; /* an entry for any counterpart */
    hit = bsearch(&key, self->entries, self->n, sizeof key, s_cmp);
    if (hit)
        hit->found = true;
}

static int s_record(void *arg, uint64_t index, const Hartslag__AuditRecord *record)
{
    (void)index;
    audit_exchanges_t *self = arg;
    if (!record->has_signal_id || record->signal_id.len != 16 || !record->event)
        return 0;
    /* The broker records its acceptance of a share into a case conference
       as case_shared (per recipient, only when allowed), where a signal
       gets accepted: the sender's daemon lists both as "accepted". */
    const char *event = strcmp(record->event, "case_shared") == 0 ? "accepted" : record->event;
    if (strcmp(event, "accepted") == 0 || strcmp(event, "delivered") == 0)
        s_mark(self, record->signal_id.data, event,
               record->counterpart_org ? record->counterpart_org : "");
    return 0;
}

int audit_exchanges_check(audit_exchanges_t *self, const char *broker_db,
                          audit_exchanges_result_t *result, char *err, size_t errlen)
{
    memset(result, 0, sizeof *result);
    s_sort(self);
    for (size_t i = 0; i < self->n; i++)
        self->entries[i].found = false;
    audit_reader_t *reader = audit_reader_open(broker_db, err, errlen);
    if (!reader)
        return -1;
    audit_filter_t all;
    memset(&all, 0, sizeof all);
    uint64_t unreadable = 0, purged = 0;
    int64_t walked =
        audit_reader_each(reader, &all, s_record, self, &unreadable, &purged, err, errlen);
    audit_reader_destroy(&reader);
    if (walked < 0)
        return -1;
    result->purged = purged;
    for (size_t i = 0; i < self->n; i++) {
        const s_exchange_t *e = &self->entries[i];
        result->listed++;
        if (e->found) {
            result->found++;
            continue;
        }
        if (result->missing++ == 0) {
            char hex[33];
            audit_hex(e->id, 16, hex);
            snprintf(result->first_missing, sizeof result->first_missing,
                     "no '%s' record of signal %s%s%s, which %s lists", e->event, hex,
                     e->counterpart[0] ? " for " : "", e->counterpart, e->holder);
        }
    }
    return 0;
}
