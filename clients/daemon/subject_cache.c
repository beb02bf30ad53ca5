/*  subject_cache: see subject_cache.h. */
#include "subject_cache.h"

#include <sodium.h>
#include <string.h>

/* Four ways per set: a subject evicts only the oldest of its set. */
#define WAYS 4
#define SETS (SUBJECT_CACHE_ENTRIES / WAYS)

typedef struct {
    unsigned char tag[32]; /* keyed BLAKE2b of the input */
    unsigned char pseudonym[PSEUDONYM_BYTES];
    uint32_t key_version; /* 0 = empty slot */
    uint64_t stored_ms;
} cache_entry_t;

struct subject_cache_t {
    unsigned char key[crypto_generichash_KEYBYTES];
    cache_entry_t entries[SETS][WAYS];
};

subject_cache_t *subject_cache_new(void)
{
    if (sodium_init() < 0)
        return NULL;
    subject_cache_t *self = sodium_malloc(sizeof *self);
    if (!self)
        return NULL;
    sodium_memzero(self, sizeof *self);
    crypto_generichash_keygen(self->key);
    return self;
}

void subject_cache_destroy(subject_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sodium_memzero(*self_p, sizeof **self_p);
    sodium_free(*self_p);
    *self_p = NULL;
}

static cache_entry_t *s_set(subject_cache_t *self, const unsigned char *input, size_t len,
                            unsigned char tag[32])
{
    crypto_generichash(tag, 32, input, len, self->key, sizeof self->key);
    uint32_t index = ((uint32_t)tag[0] | (uint32_t)tag[1] << 8 | (uint32_t)tag[2] << 16) % SETS;
    return self->entries[index];
}

static bool s_fresh(const cache_entry_t *entry, uint64_t now_ms)
{
    return entry->key_version != 0 && now_ms >= entry->stored_ms &&
           now_ms - entry->stored_ms < SUBJECT_CACHE_LIFETIME_MS;
}

bool subject_cache_get(subject_cache_t *self, const unsigned char *input, size_t len,
                       uint32_t key_version, uint64_t now_ms,
                       unsigned char pseudonym[PSEUDONYM_BYTES])
{
    unsigned char tag[32];
    cache_entry_t *set = s_set(self, input, len, tag);
    bool found = false;
    for (int i = 0; i < WAYS && !found; i++)
        if (set[i].key_version == key_version && s_fresh(&set[i], now_ms) &&
            sodium_memcmp(set[i].tag, tag, sizeof tag) == 0) {
            memcpy(pseudonym, set[i].pseudonym, PSEUDONYM_BYTES);
            found = true;
        }
    sodium_memzero(tag, sizeof tag);
    return found;
}

void subject_cache_put(subject_cache_t *self, const unsigned char *input, size_t len,
                       uint32_t key_version, uint64_t now_ms,
                       const unsigned char pseudonym[PSEUDONYM_BYTES])
{
    unsigned char tag[32];
    cache_entry_t *set = s_set(self, input, len, tag);
    cache_entry_t *slot = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (sodium_memcmp(set[i].tag, tag, sizeof tag) == 0 || !s_fresh(&set[i], now_ms)) {
            slot = &set[i];
            break;
        }
        if (set[i].stored_ms < slot->stored_ms)
            slot = &set[i];
    }
    memcpy(slot->tag, tag, sizeof tag);
    memcpy(slot->pseudonym, pseudonym, PSEUDONYM_BYTES);
    slot->key_version = key_version;
    slot->stored_ms = now_ms;
    sodium_memzero(tag, sizeof tag);
}

void subject_cache_clear(subject_cache_t *self)
{
    sodium_memzero(self->entries, sizeof self->entries);
}

size_t subject_cache_count(const subject_cache_t *self, uint64_t now_ms)
{
    size_t n = 0;
    for (size_t s = 0; s < SETS; s++)
        for (int i = 0; i < WAYS; i++)
            n += s_fresh(&self->entries[s][i], now_ms);
    return n;
}
