/*  auth_limit: how often a refused key is written down (issue 13 A2).

    Every refused handshake is worth one line in broker.log and one
    auth_failed audit record, but not every time: a misconfigured daemon
    retries every few hundred milliseconds and an attacker can try millions
    of keys. The limiter says "record it" at most once a minute per key,
    and at most AUTH_LIMIT_KEYS_MAX times a minute over all keys together;
    what it swallows is counted and told with the next record.

    Invariant: the table holds only keys recorded within the last
    AUTH_LIMIT_WINDOW_MS; a slot whose minute is over is free. Its memory
    is fixed (AUTH_LIMIT_KEYS_MAX slots) whatever the number of keys tried.
    The key NULL stands for "no key known" (a handshake that failed before
    the key could be checked) and has a slot of its own.
*/
#ifndef HARTSLAG_BROKER_AUTH_LIMIT_H
#define HARTSLAG_BROKER_AUTH_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define AUTH_LIMIT_KEYS_MAX 64     /* records a minute, over all keys */
#define AUTH_LIMIT_WINDOW_MS 60000 /* one record per key per this */
#define AUTH_LIMIT_KEYBYTES 32     /* a CURVE public key */

typedef struct auth_limit_t auth_limit_t;

/* What a record should say besides the key: how many refusals it stands for. */
typedef struct {
    uint64_t attempts; /* refusals of this key since its last record, this one included */
    uint64_t others;   /* refusals of other keys that were not recorded since the last record */
} auth_limit_count_t;

auth_limit_t *auth_limit_new(void);
void auth_limit_destroy(auth_limit_t **self_p);

/* Counts one refusal of `key` (NULL: unknown) at `now_ms`. True when it
   should be logged and audited now (then `count` is filled in). */
bool auth_limit_note(auth_limit_t *self, const uint8_t *key, int64_t now_ms,
                     auth_limit_count_t *count);

#endif
