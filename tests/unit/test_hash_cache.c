/*  Unit tests for lib/hash_cache (the audit log's recent hashes). */
#include "hash_cache.h"

#include <criterion/criterion.h>
#include <string.h>

static void s_hash(unsigned level, uint64_t index, unsigned char out[HASH_CACHE_HASHBYTES])
{
    for (int i = 0; i < HASH_CACHE_HASHBYTES; i++)
        out[i] = (unsigned char)(index * 31 + level * 7 + (uint64_t)i);
}

Test(hash_cache, remembers_what_was_put_and_only_that)
{
    hash_cache_t *cache = hash_cache_new(8);
    cr_assert_not_null(cache);
    unsigned char hash[HASH_CACHE_HASHBYTES], out[HASH_CACHE_HASHBYTES];
    for (uint64_t i = 0; i < 100; i++) {
        s_hash(0, i, hash);
        hash_cache_put(cache, 0, i, hash);
    }
    for (uint64_t i = 0; i < 100; i++) {
        cr_assert(hash_cache_get(cache, 0, i, out), "leaf %llu", (unsigned long long)i);
        s_hash(0, i, hash);
        cr_assert_eq(memcmp(out, hash, sizeof out), 0);
        /* the same index on another level is another hash */
        cr_assert_not(hash_cache_get(cache, 4, i, out));
    }
    cr_assert_not(hash_cache_get(cache, 0, 100, out));
    cr_assert_eq(hash_cache_lookups(cache), 201);
    cr_assert_eq(hash_cache_hits(cache), 100);
    hash_cache_destroy(&cache);
    cr_assert_null(cache);
}

Test(hash_cache, a_newer_entry_evicts_the_one_in_its_slot)
{
    hash_cache_t *cache = hash_cache_new(4); /* 16 slots */
    unsigned char hash[HASH_CACHE_HASHBYTES], out[HASH_CACHE_HASHBYTES];
    s_hash(5, 3, hash);
    hash_cache_put(cache, 5, 3, hash);
    cr_assert(hash_cache_get(cache, 5, 3, out));
    s_hash(5, 3 + 16, hash);
    hash_cache_put(cache, 5, 3 + 16, hash);
    cr_assert_not(hash_cache_get(cache, 5, 3, out), "the older entry is gone");
    cr_assert(hash_cache_get(cache, 5, 3 + 16, out));
    cr_assert_eq(memcmp(out, hash, sizeof out), 0);
    /* recent consecutive indexes of one level all fit */
    for (uint64_t i = 100; i < 116; i++) {
        s_hash(0, i, hash);
        hash_cache_put(cache, 0, i, hash);
    }
    for (uint64_t i = 100; i < 116; i++)
        cr_assert(hash_cache_get(cache, 0, i, out));
    hash_cache_destroy(&cache);
}

Test(hash_cache, clear_forgets_everything)
{
    hash_cache_t *cache = hash_cache_new(6);
    unsigned char hash[HASH_CACHE_HASHBYTES], out[HASH_CACHE_HASHBYTES];
    for (uint64_t i = 0; i < 32; i++) {
        s_hash(4, i, hash);
        hash_cache_put(cache, 4, i, hash);
    }
    hash_cache_clear(cache);
    for (uint64_t i = 0; i < 32; i++)
        cr_assert_not(hash_cache_get(cache, 4, i, out));
    hash_cache_destroy(&cache);
}

Test(hash_cache, refuses_sizes_out_of_range)
{
    cr_assert_null(hash_cache_new(3));
    cr_assert_null(hash_cache_new(25));
    hash_cache_t *cache = hash_cache_new(4);
    cr_assert_not_null(cache);
    hash_cache_destroy(&cache);
    hash_cache_destroy(&cache); /* safe on NULL */
}
