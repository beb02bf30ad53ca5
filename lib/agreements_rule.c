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

bool agreements_rule_emergency(const agreements_diff_t *diff, char *org, size_t org_len)
{
    static const char *const suspensions[] = {"may_send", "may_receive", "receives_alerts"};
    const char *suspended = NULL;
    if (!diff)
        return false;
    for (size_t i = 0; i < agreements_diff_count(diff); i++) {
        const agreements_change_t *c = agreements_diff_at(diff, i);
        if (c->kind == AGREEMENTS_DIFF_TOP && c->op == AGREEMENTS_DIFF_CHANGED &&
            strcmp(c->id, "version") == 0)
            continue;
        bool suspension = c->kind == AGREEMENTS_DIFF_PARTNER && c->op == AGREEMENTS_DIFF_CHANGED &&
                          c->attribute && s_in(suspensions, 3, c->attribute) && c->old_value &&
                          c->new_value && strcmp(c->old_value, "true") == 0 &&
                          strcmp(c->new_value, "false") == 0;
        if (!suspension || (suspended && strcmp(suspended, c->id) != 0))
            return false;
        suspended = c->id;
    }
    if (!suspended)
        return false;
    snprintf(org, org_len, "%s", suspended);
    return true;
}
