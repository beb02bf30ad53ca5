/*  suggest: "did you mean" — the known word nearest to a typo.

    Damerau-Levenshtein distance (optimal string alignment) over bytes; a
    candidate is offered only when it is close: at most 1 edit for words of
    up to 4 bytes, 2 up to 8, else 3. Pure, no allocation (words longer than
    SUGGEST_WORD_MAX never match).
*/
#ifndef HARTSLAG_SUGGEST_H
#define HARTSLAG_SUGGEST_H

#include <stddef.h>

#define SUGGEST_WORD_MAX 128

/* Edit distance between `a` and `b`, or SIZE_MAX when either is too long. */
size_t suggest_distance(const char *a, const char *b);

/* The candidate nearest to `word` within the limit above (the first of
   equals), or NULL. Borrowed from `candidates`. */
const char *suggest_nearest(const char *word, const char *const *candidates, size_t n);

#endif
