/*  agreements_lint: rules that can never decide anything (issue 14 item 7).
    The broker applies, for a signal, the first agreement in file order
    that allows it. A later agreement whose whole scope an earlier one
    already allows is shadowed: its legal basis, retention and queue limit
    never apply, which is almost always a mistake in the text the partners
    sign. Two agreements with exactly the same scope are duplicates.
    Scope: the same sender, every recipient, signal type and field of the
    later one also in the earlier one, the same purpose, and a validity
    period within the earlier one's. Warnings only: the file stays valid.
    Pure: no I/O. */
#ifndef HARTSLAG_AGREEMENTS_LINT_H
#define HARTSLAG_AGREEMENTS_LINT_H

#include "agreements.h"

#include <stdbool.h>
#include <stddef.h>

/* Told about each shadowed agreement, with the earlier one that shadows it
   (the first such); `duplicate` when their scopes are equal. */
typedef void(agreements_lint_fn)(void *arg, const agreements_agreement_t *shadowed,
                                 const agreements_agreement_t *by, bool duplicate);

/* Calls `fn` for every shadowed agreement, in file order. Returns how many. */
size_t agreements_lint_shadowed(const agreements_t *agreements, agreements_lint_fn *fn, void *arg);

#endif
