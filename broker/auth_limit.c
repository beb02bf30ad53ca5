/*  auth_limit: one record per refused key per minute; see auth_limit.h. */
#include "auth_limit.h"

#include <stdlib.h>
#include <string.h>

/* One key recorded within the last window. */
typedef struct {
    uint8_t key[AUTH_LIMIT_KEYBYTES]; /* the CURVE key; all zero for "unknown" */
    bool used;                        /* the slot holds a key */
    int64_t recorded_ms;              /* when its last record was written */
    uint64_t swallowed;               /* refusals since then that were not recorded */
} slot_t;

struct auth_limit_t {
    slot_t slots[AUTH_LIMIT_KEYS_MAX]; /* fixed: a flood of keys cannot grow it */
    uint64_t others;                   /* refusals not recorded because every slot was busy */
};

auth_limit_t *auth_limit_new(void)
{
    return calloc(1, sizeof(auth_limit_t));
}

void auth_limit_destroy(auth_limit_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

bool auth_limit_note(auth_limit_t *self, const uint8_t *key, int64_t now_ms,
                     auth_limit_count_t *count)
{
    static const uint8_t unknown[AUTH_LIMIT_KEYBYTES];
    if (!key)
        key = unknown;
    slot_t *free_slot = NULL;
    for (size_t i = 0; i < AUTH_LIMIT_KEYS_MAX; i++) {
        slot_t *slot = &self->slots[i];
        bool expired = !slot->used || now_ms - slot->recorded_ms >= AUTH_LIMIT_WINDOW_MS ||
                       now_ms < slot->recorded_ms;
        if (slot->used && memcmp(slot->key, key, AUTH_LIMIT_KEYBYTES) == 0) {
            if (!expired) {
                slot->swallowed++;
                return false;
            }
            free_slot = slot;
            break;
        }
        if (expired && !free_slot)
            free_slot = slot;
    }
    if (!free_slot) {
        self->others++;
        return false;
    }
    bool same = free_slot->used && memcmp(free_slot->key, key, AUTH_LIMIT_KEYBYTES) == 0;
    count->attempts = 1 + (same ? free_slot->swallowed : 0);
    if (!same) /* another key's last minute, never told: told as others */
        self->others += free_slot->swallowed;
    count->others = self->others;
    self->others = 0;
    memcpy(free_slot->key, key, AUTH_LIMIT_KEYBYTES);
    free_slot->used = true;
    free_slot->recorded_ms = now_ms;
    free_slot->swallowed = 0;
    return true;
}
