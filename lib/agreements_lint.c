/*  agreements_lint: see agreements_lint.h. */
#include "agreements_lint.h"

#include <string.h>

/* Every name of `small` is in `big`. */
static bool s_subset(const char *const *small, size_t n_small, const char *const *big, size_t n_big)
{
    for (size_t i = 0; i < n_small; i++) {
        bool found = false;
        for (size_t k = 0; k < n_big && !found; k++)
            found = strcmp(small[i], big[k]) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* `outer` allows everything `inner` allows. */
static bool s_covers(const agreements_agreement_t *outer, const agreements_agreement_t *inner)
{
    return strcmp(outer->from, inner->from) == 0 && strcmp(outer->purpose, inner->purpose) == 0 &&
           outer->valid_from <= inner->valid_from && outer->valid_until >= inner->valid_until &&
           s_subset(inner->to, inner->to_count, outer->to, outer->to_count) &&
           s_subset(inner->signal_types, inner->signal_type_count, outer->signal_types,
                    outer->signal_type_count) &&
           s_subset(inner->fields, inner->field_count, outer->fields, outer->field_count);
}

size_t agreements_lint_shadowed(const agreements_t *agreements, agreements_lint_fn *fn, void *arg)
{
    size_t found = 0;
    for (size_t j = 0; j < agreements_count(agreements); j++) {
        const agreements_agreement_t *later = agreements_at(agreements, j);
        for (size_t i = 0; i < j; i++) {
            const agreements_agreement_t *earlier = agreements_at(agreements, i);
            if (!s_covers(earlier, later))
                continue;
            found++;
            if (fn)
                fn(arg, later, earlier, s_covers(later, earlier));
            break;
        }
    }
    return found;
}
