/*  hash_cache: the audit log's recent tree hashes in memory.

    Why: every Deliver carries an inclusion proof (docs/protocol.md), and
    a proof needs O(log n) leaf and subtree hashes. Read from SQLite they
    cost microseconds; read from PostgreSQL each is a round trip of the
    broker's loop, which made a signal wait behind four of them. The
    hashes of a Merkle log never change once written, and the ones a
    proof for a recent record needs were written moments before, so a
    small cache of what the log wrote and read answers nearly all of
    them.

    A fixed number of slots, direct-mapped by (level, index): no
    allocation after hash_cache_new, an entry evicts whatever had its
    slot. Level 0 holds leaf hashes. The one case where a hash for a
    (level, index) changes is a rolled-back transaction (the indexes it
    used are handed out again): the owner empties the cache then
    (hash_cache_clear).

    Ownership: hash_cache_t owns its slots; hash_cache_destroy frees them
    and nulls the pointer. Not thread-safe (one per audit_log_t). */
#ifndef HARTSLAG_HASH_CACHE_H
#define HARTSLAG_HASH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HASH_CACHE_HASHBYTES 32

typedef struct hash_cache_t hash_cache_t;

/* A cache of 2^bits slots (bits 4..24); NULL when out of memory or
   bits is out of range. */
hash_cache_t *hash_cache_new(unsigned bits);
void hash_cache_destroy(hash_cache_t **self_p);

/* Remembers the hash of (level, index), replacing the slot's entry. */
void hash_cache_put(hash_cache_t *self, unsigned level, uint64_t index,
                    const unsigned char hash[HASH_CACHE_HASHBYTES]);

/* True and the hash in `out` when (level, index) is cached. */
bool hash_cache_get(hash_cache_t *self, unsigned level, uint64_t index,
                    unsigned char out[HASH_CACHE_HASHBYTES]);

/* Forgets every entry. */
void hash_cache_clear(hash_cache_t *self);

/* Lookups answered and asked since hash_cache_new (for tests). */
uint64_t hash_cache_hits(const hash_cache_t *self);
uint64_t hash_cache_lookups(const hash_cache_t *self);

#endif
