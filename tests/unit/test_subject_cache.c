/*  Tests for clients/daemon/subject_cache: what is remembered is found,
    under the same key version only, until its lifetime ends; a full set
    evicts its oldest entry; clear forgets everything. */
#include "../../clients/daemon/subject_cache.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static void s_input(unsigned i, unsigned char *input, size_t *len)
{
    *len = (size_t)snprintf((char *)input, 64, "hartslag/subject/v2 bsn %09u", i);
}

static void s_pseudonym(unsigned i, unsigned char out[PSEUDONYM_BYTES])
{
    for (size_t b = 0; b < PSEUDONYM_BYTES; b++)
        out[b] = (unsigned char)(i * 31 + b);
}

Test(subject_cache, remembers_per_key_version_and_lifetime)
{
    subject_cache_t *cache = subject_cache_new();
    cr_assert_not_null(cache);
    unsigned char input[64], want[PSEUDONYM_BYTES], got[PSEUDONYM_BYTES];
    size_t len;
    s_input(7, input, &len);
    s_pseudonym(7, want);
    cr_assert_not(subject_cache_get(cache, input, len, 1, 1000, got));
    subject_cache_put(cache, input, len, 1, 1000, want);
    cr_assert(subject_cache_get(cache, input, len, 1, 2000, got));
    cr_assert_eq(memcmp(got, want, sizeof want), 0);
    /* another key version: never answered from the cache */
    cr_assert_not(subject_cache_get(cache, input, len, 2, 2000, got));
    /* another subject */
    unsigned char other[64];
    size_t other_len;
    s_input(8, other, &other_len);
    cr_assert_not(subject_cache_get(cache, other, other_len, 1, 2000, got));
    /* the lifetime ends */
    cr_assert(subject_cache_get(cache, input, len, 1, 1000 + SUBJECT_CACHE_LIFETIME_MS - 1, got));
    cr_assert_not(subject_cache_get(cache, input, len, 1, 1000 + SUBJECT_CACHE_LIFETIME_MS, got));
    cr_assert_eq(subject_cache_count(cache, 2000), 1);
    subject_cache_clear(cache);
    cr_assert_eq(subject_cache_count(cache, 2000), 0);
    cr_assert_not(subject_cache_get(cache, input, len, 1, 2000, got));
    subject_cache_destroy(&cache);
    cr_assert_null(cache);
}

Test(subject_cache, bounded_and_keeps_recent)
{
    subject_cache_t *cache = subject_cache_new();
    unsigned char input[64], p[PSEUDONYM_BYTES], got[PSEUDONYM_BYTES];
    size_t len;
    unsigned n = 3 * SUBJECT_CACHE_ENTRIES;
    for (unsigned i = 0; i < n; i++) {
        s_input(i, input, &len);
        s_pseudonym(i, p);
        subject_cache_put(cache, input, len, 1, 10000 + i, p);
    }
    size_t held = subject_cache_count(cache, 10000 + n);
    cr_assert_leq(held, SUBJECT_CACHE_ENTRIES);
    cr_assert_geq(held, SUBJECT_CACHE_ENTRIES / 2, "held %zu", held);
    /* the last one put is always there, with its own pseudonym */
    s_input(n - 1, input, &len);
    s_pseudonym(n - 1, p);
    cr_assert(subject_cache_get(cache, input, len, 1, 10000 + n, got));
    cr_assert_eq(memcmp(got, p, sizeof p), 0);
    /* whatever is found is the right pseudonym for its input */
    size_t found = 0;
    for (unsigned i = 0; i < n; i++) {
        s_input(i, input, &len);
        if (subject_cache_get(cache, input, len, 1, 10000 + n, got)) {
            s_pseudonym(i, p);
            cr_assert_eq(memcmp(got, p, sizeof p), 0, "entry %u", i);
            found++;
        }
    }
    cr_assert_eq(found, held);
    subject_cache_destroy(&cache);
}

Test(subject_cache, put_again_replaces)
{
    subject_cache_t *cache = subject_cache_new();
    unsigned char input[64], a[PSEUDONYM_BYTES], b[PSEUDONYM_BYTES], got[PSEUDONYM_BYTES];
    size_t len;
    s_input(1, input, &len);
    s_pseudonym(1, a);
    s_pseudonym(2, b);
    subject_cache_put(cache, input, len, 1, 100, a);
    subject_cache_put(cache, input, len, 1, 200, b);
    cr_assert(subject_cache_get(cache, input, len, 1, 300, got));
    cr_assert_eq(memcmp(got, b, sizeof b), 0);
    cr_assert_eq(subject_cache_count(cache, 300), 1);
    subject_cache_destroy(&cache);
}
