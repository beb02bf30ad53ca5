/*  match: blind multi-agency matching; see match.h. */
#include "match.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define MEMBERS_MAX (MATCH_PARTICIPANTS_MAX * 34)

/*  Invariant: `store` outlives the match_t. */
struct match_t {
    broker_store_t *store; /* borrowed */
};

match_t *match_open(broker_store_t *store, char *err, size_t errlen)
{
    match_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->store = store;
    return self;
}

void match_destroy(match_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

/* Gathering one rule's participants from the window's rows. */
typedef struct {
    const agreements_alert_rule_t *rule;
    match_alert_t *alert;
} gather_t;

static void s_gather_row(void *arg, const char *sender, const char *type, int64_t at,
                         const uint8_t signal_id[16])
{
    gather_t *ctx = arg;
    match_alert_t *alert = ctx->alert;
    if (!agreements_alert_covers(ctx->rule, type, strlen(type)))
        return;
    match_participant_t *p = NULL;
    for (size_t i = 0; i < alert->n_participants && !p; i++)
        if (strcmp(alert->participants[i].org, sender) == 0)
            p = &alert->participants[i];
    if (!p) {
        if (alert->n_participants == MATCH_PARTICIPANTS_MAX)
            return;
        p = &alert->participants[alert->n_participants++];
        memset(p, 0, sizeof *p);
        snprintf(p->org, sizeof p->org, "%s", sender);
        p->first_ms = p->last_ms = at;
    }
    if (at < p->first_ms)
        p->first_ms = at;
    if (at > p->last_ms)
        p->last_ms = at;
    bool known = false;
    for (size_t t = 0; t < p->n_types && !known; t++)
        known = strcmp(p->types[t], type) == 0;
    if (!known && p->n_types < MATCH_TYPES_MAX)
        snprintf(p->types[p->n_types++], sizeof p->types[0], "%s", type);
    if (p->n_ids < MATCH_IDS_MAX)
        memcpy(p->ids[p->n_ids++], signal_id, 16);
}

/* The participants of the match on `subject` under `rule` as of now_ms. */
static int s_gather(match_t *self, const agreements_alert_rule_t *rule, const uint8_t subject[32],
                    int64_t now_ms, match_alert_t *alert)
{
    alert->n_participants = 0;
    gather_t ctx = {rule, alert};
    return broker_store_match_window(self->store, subject,
                                     now_ms - (int64_t)rule->window_days * DAY_MS, now_ms,
                                     s_gather_row, &ctx);
}

/* Is `org` in the comma-separated list `members`? */
static bool s_member(const char *members, const char *org)
{
    size_t len = strlen(org);
    for (const char *p = members; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == len && memcmp(p, org, len) == 0)
            return true;
        p += n + (comma ? 1 : 0);
    }
    return false;
}

int match_signal(match_t *self, const agreements_t *agreements, const uint8_t signal_id[16],
                 const uint8_t subject[32], const char *sender, const char *signal_type,
                 int64_t at_ms, int64_t valid_until_ms, match_alert_fn *fn, void *arg)
{
    if (broker_store_match_add(self->store, signal_id, subject, sender, signal_type, at_ms,
                               valid_until_ms) != 0)
        return -1;
    match_alert_t *alert = NULL;
    int result = 0;
    for (size_t r = 0; r < agreements_alert_count(agreements) && result == 0; r++) {
        const agreements_alert_rule_t *rule = agreements_alert(agreements, r);
        if (!agreements_alert_covers(rule, signal_type, strlen(signal_type)))
            continue;
        if (!alert && !(alert = calloc(1, sizeof *alert)))
            return -1;
        if (s_gather(self, rule, subject, at_ms, alert) != 0) {
            result = -1;
            break;
        }
        if (alert->n_participants < rule->distinct_senders)
            continue;
        /* Already alerted about this partner in this match: nothing new. */
        char members[MEMBERS_MAX] = "";
        if (broker_store_match_members(self->store, rule->id, subject, members, sizeof members) <
            0) {
            result = -1;
            break;
        }
        if (s_member(members, sender))
            continue;
        /* A partner joins: remember everyone now in the match, raise one alert. */
        size_t pos = strlen(members);
        for (size_t i = 0; i < alert->n_participants; i++)
            if (!s_member(members, alert->participants[i].org) && pos + 34 < sizeof members)
                pos += (size_t)snprintf(members + pos, sizeof members - pos, "%s%s", pos ? "," : "",
                                        alert->participants[i].org);
        if (broker_store_match_members_set(self->store, rule->id, subject, members) != 0) {
            result = -1;
            break;
        }
        randombytes_buf(alert->alert_id, sizeof alert->alert_id);
        alert->rule = rule;
        memcpy(alert->subject, subject, 32);
        alert->joined = sender;
        alert->raised_ms = at_ms;
        if (broker_store_alert_add(self->store, alert->alert_id, rule->id, subject, at_ms) != 0) {
            result = -1;
            break;
        }
        fn(arg, alert);
    }
    free(alert);
    return result;
}

int match_withdraw(match_t *self, const uint8_t signal_id[16], const uint8_t subject[32])
{
    return broker_store_match_withdraw(self->store, signal_id, subject);
}

int match_prune(match_t *self, const agreements_t *agreements, int64_t now_ms)
{
    uint32_t widest = 0;
    for (size_t r = 0; r < agreements_alert_count(agreements); r++)
        if (agreements_alert(agreements, r)->window_days > widest)
            widest = agreements_alert(agreements, r)->window_days;
    return broker_store_match_prune(self->store, now_ms, now_ms - (int64_t)widest * DAY_MS);
}

int match_lookup(match_t *self, const agreements_t *agreements, const uint8_t alert_id[16],
                 int64_t now_ms, match_alert_t *alert)
{
    memset(alert, 0, sizeof *alert);
    char *rule_id = NULL;
    int found =
        broker_store_alert_find(self->store, alert_id, &rule_id, alert->subject, &alert->raised_ms);
    if (found != 1)
        return found;
    memcpy(alert->alert_id, alert_id, 16);
    for (size_t r = 0; r < agreements_alert_count(agreements); r++)
        if (strcmp(agreements_alert(agreements, r)->id, rule_id) == 0)
            alert->rule = agreements_alert(agreements, r);
    free(rule_id);
    if (!alert->rule)
        return 0; /* the rule is gone from the agreements: nothing to coordinate under */
    return s_gather(self, alert->rule, alert->subject, now_ms, alert) == 0 ? 1 : -1;
}

int match_mark_handled(match_t *self, const uint8_t alert_id[16], const char *lead, int64_t now_ms)
{
    return broker_store_alert_handled(self->store, alert_id, lead, now_ms);
}

int64_t match_index_size(match_t *self)
{
    return broker_store_match_count(self->store);
}
