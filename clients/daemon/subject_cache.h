/*  subject_cache: pseudonyms the service gave recently, in memory only
    (issue 17), so that a daemon sending many signals about the same few
    subjects asks the service once per subject, not once per signal.

    Keyed by BLAKE2b of the OPRF input under a random key drawn when the
    cache is made: the cache holds no identifier, and its keys mean
    nothing outside this process. Bounded in entries and lifetime; an
    entry also names the service key version, so a rotated key is never
    answered from the cache. Never written to disk: the table is in
    locked memory (sodium_malloc) and wiped on destroy.

    Ownership: subject_cache_t owns its table.
*/
#ifndef HARTSLAG_DAEMON_SUBJECT_CACHE_H
#define HARTSLAG_DAEMON_SUBJECT_CACHE_H

#include "pseudonym.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUBJECT_CACHE_ENTRIES 4096          /* subjects remembered */
#define SUBJECT_CACHE_LIFETIME_MS 600000ull /* 10 minutes */

typedef struct subject_cache_t subject_cache_t;

/* A new empty cache, or NULL when memory is short. */
subject_cache_t *subject_cache_new(void);

/* Wipes and frees; nulls *self_p. */
void subject_cache_destroy(subject_cache_t **self_p);

/* The pseudonym of the OPRF `input` under `key_version`, when remembered
   and younger than the lifetime at `now_ms`. */
bool subject_cache_get(subject_cache_t *self, const unsigned char *input, size_t len,
                       uint32_t key_version, uint64_t now_ms,
                       unsigned char pseudonym[PSEUDONYM_BYTES]);

/* Remembers a pseudonym (replacing whatever held its slot). */
void subject_cache_put(subject_cache_t *self, const unsigned char *input, size_t len,
                       uint32_t key_version, uint64_t now_ms,
                       const unsigned char pseudonym[PSEUDONYM_BYTES]);

/* Forgets everything (a key rotation, a reload). */
void subject_cache_clear(subject_cache_t *self);

/* Entries held and younger than the lifetime at `now_ms`. */
size_t subject_cache_count(const subject_cache_t *self, uint64_t now_ms);

#endif
