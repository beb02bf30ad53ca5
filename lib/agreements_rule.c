/*  agreements_rule: see agreements_rule.h. */
#include "agreements_rule.h"

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
