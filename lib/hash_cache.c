/*  hash_cache: see hash_cache.h. */
#include "hash_cache.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t index;
    uint32_t level; /* level + 1: 0 marks an empty slot */
    unsigned char hash[HASH_CACHE_HASHBYTES];
} slot_t;

struct hash_cache_t {
    slot_t *slots;
    uint64_t mask;
    uint64_t hits, lookups;
};

hash_cache_t *hash_cache_new(unsigned bits)
{
    if (bits < 4 || bits > 24)
        return NULL;
    hash_cache_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->slots = calloc((size_t)1 << bits, sizeof *self->slots);
    if (!self->slots) {
        free(self);
        return NULL;
    }
    self->mask = ((uint64_t)1 << bits) - 1;
    return self;
}

void hash_cache_destroy(hash_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

/* Consecutive indexes of one level take consecutive slots (the recent
   ones a proof needs never evict each other); the levels are spread
   apart by a multiplicative hash so that they rarely collide. */
static slot_t *s_slot(const hash_cache_t *self, unsigned level, uint64_t index)
{
    uint64_t spread = (uint64_t)level * 0x9E3779B97F4A7C15ull;
    return &self->slots[(index + (spread >> 40)) & self->mask];
}

void hash_cache_put(hash_cache_t *self, unsigned level, uint64_t index,
                    const unsigned char hash[HASH_CACHE_HASHBYTES])
{
    slot_t *slot = s_slot(self, level, index);
    slot->index = index;
    slot->level = level + 1;
    memcpy(slot->hash, hash, HASH_CACHE_HASHBYTES);
}

bool hash_cache_get(hash_cache_t *self, unsigned level, uint64_t index,
                    unsigned char out[HASH_CACHE_HASHBYTES])
{
    self->lookups++;
    const slot_t *slot = s_slot(self, level, index);
    if (slot->level != level + 1 || slot->index != index)
        return false;
    memcpy(out, slot->hash, HASH_CACHE_HASHBYTES);
    self->hits++;
    return true;
}

void hash_cache_clear(hash_cache_t *self)
{
    memset(self->slots, 0, (size_t)(self->mask + 1) * sizeof *self->slots);
}

uint64_t hash_cache_hits(const hash_cache_t *self)
{
    return self->hits;
}

uint64_t hash_cache_lookups(const hash_cache_t *self)
{
    return self->lookups;
}
