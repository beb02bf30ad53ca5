/*  agreements_rule: see agreements_rule.h. */
#include "agreements_rule.h"

#include <stdio.h>
#include <string.h>

static bool s_in(const char *const *list, size_t n, const char *org)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], org) == 0)
            return true;
    return false;
}

agreements_rule_result_t agreements_rule_check(const agreements_t *in_force,
                                               const agreements_t *next,
                                               const agreements_diff_t *diff,
                                               const char *const *signers, size_t n_signers,
                                               const char **required, size_t *n_required)
{
    size_t n = 0;
    *n_required = 0;
    if (in_force) {
        uint64_t a = agreements_version(in_force), b = agreements_version(next);
        bool same_bytes =
            memcmp(agreements_hash(in_force), agreements_hash(next), AGREEMENTS_HASH_BYTES) == 0;
        if (b < a || (b == a && !same_bytes))
            return AGREEMENTS_RULE_ROLLBACK;
        if (b == a)
            return AGREEMENTS_RULE_UNCHANGED;
    }
    /* Partners in file order, so the list reads like the file. */
    for (size_t i = 0; i < agreements_partner_count(next); i++) {
        const agreements_partner_t *p = agreements_partner(next, i);
        bool need = !in_force || strcmp(p->org, agreements_coordinator(next)) == 0 ||
                    agreements_diff_affects(diff, p->org);
        if (need)
            required[n++] = p->org;
    }
    *n_required = n;
    for (size_t i = 0; i < n; i++)
        if (!s_in(signers, n_signers, required[i]))
            return AGREEMENTS_RULE_MISSING;
    return AGREEMENTS_RULE_OK;
}

static const agreements_agreement_t *s_agreement(const agreements_t *a, const char *id)
{
    for (size_t i = 0; i < agreements_count(a); i++)
        if (strcmp(agreements_at(a, i)->id, id) == 0)
            return agreements_at(a, i);
    return NULL;
}

static const agreements_alert_rule_t *s_alert(const agreements_t *a, const char *id)
{
    for (size_t i = 0; i < agreements_alert_count(a); i++)
        if (strcmp(agreements_alert(a, i)->id, id) == 0)
            return agreements_alert(a, i);
    return NULL;
}

/* `after` is `before` without `org` and nothing else changed. */
static bool s_list_minus(const char *const *before, size_t n_before, const char *const *after,
                         size_t n_after, const char *org)
{
    if (n_after + 1 != n_before || !s_in(before, n_before, org) || s_in(after, n_after, org))
        return false;
    for (size_t i = 0; i < n_after; i++)
        if (!s_in(before, n_before, after[i]))
            return false;
    return true;
}

/* The org one change takes permissions from, or NULL when the change does
   anything else. (A removed agreement takes from both its ends: the
   caller checks it against the org in question.) */
static const char *s_taken_from(const agreements_t *in_force, const agreements_t *next,
                                const agreements_change_t *c)
{
    static const char *const suspensions[] = {"may_send", "may_receive", "receives_alerts"};
    if (c->kind == AGREEMENTS_DIFF_PARTNER && c->op == AGREEMENTS_DIFF_REMOVED)
        return c->id;
    if (c->kind == AGREEMENTS_DIFF_PARTNER && c->op == AGREEMENTS_DIFF_CHANGED && c->attribute &&
        s_in(suspensions, 3, c->attribute) && c->old_value && c->new_value &&
        strcmp(c->old_value, "true") == 0 && strcmp(c->new_value, "false") == 0)
        return c->id;
    if (c->kind == AGREEMENTS_DIFF_AGREEMENT && c->op == AGREEMENTS_DIFF_CHANGED && c->attribute &&
        strcmp(c->attribute, "to") == 0) {
        const agreements_agreement_t *before = s_agreement(in_force, c->id);
        const agreements_agreement_t *after = s_agreement(next, c->id);
        for (size_t i = 0; before && after && i < before->to_count; i++)
            if (s_list_minus(before->to, before->to_count, after->to, after->to_count,
                             before->to[i]))
                return before->to[i];
        return NULL;
    }
    if (c->kind == AGREEMENTS_DIFF_ALERT && c->op == AGREEMENTS_DIFF_CHANGED && c->attribute &&
        strcmp(c->attribute, "notify") == 0) {
        const agreements_alert_rule_t *before = s_alert(in_force, c->id);
        const agreements_alert_rule_t *after = s_alert(next, c->id);
        for (size_t i = 0; before && after && i < before->notify_count; i++)
            if (s_list_minus(before->notify, before->notify_count, after->notify,
                             after->notify_count, before->notify[i]))
                return before->notify[i];
    }
    return NULL;
}

/* Every change (but the version number) takes permissions from `org`. */
static bool s_only_from(const agreements_t *in_force, const agreements_t *next,
                        const agreements_diff_t *diff, const char *org)
{
    bool any = false;
    for (size_t i = 0; i < agreements_diff_count(diff); i++) {
        const agreements_change_t *c = agreements_diff_at(diff, i);
        if (c->kind == AGREEMENTS_DIFF_TOP && c->op == AGREEMENTS_DIFF_CHANGED &&
            strcmp(c->id, "version") == 0)
            continue;
        if (c->kind == AGREEMENTS_DIFF_AGREEMENT && c->op == AGREEMENTS_DIFF_REMOVED) {
            const agreements_agreement_t *gone = s_agreement(in_force, c->id);
            if (!gone || (strcmp(gone->from, org) != 0 && !s_in(gone->to, gone->to_count, org)))
                return false;
        } else {
            const char *from = s_taken_from(in_force, next, c);
            if (!from || strcmp(from, org) != 0)
                return false;
        }
        any = true;
    }
    return any;
}

bool agreements_rule_emergency(const agreements_t *in_force, const agreements_t *next,
                               const agreements_diff_t *diff, const char *want, char *org,
                               size_t org_len)
{
    if (!in_force || !next || !diff)
        return false;
    for (size_t i = 0; i < agreements_partner_count(in_force); i++) {
        const char *candidate = agreements_partner(in_force, i)->org;
        if ((!want || strcmp(want, candidate) == 0) &&
            s_only_from(in_force, next, diff, candidate)) {
            snprintf(org, org_len, "%s", candidate);
            return true;
        }
    }
    return false;
}
