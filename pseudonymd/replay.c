/*  replay: recently used request ids; see replay.h. */
#include "replay.h"

#include "names.h"

#include <czmq.h>
#include <stdio.h>

/* Invariant: every key in `seen` is in `order` once, and `order` is in the
   order the entries were remembered (their times never decrease: the
   caller's clock is taken as monotonic; an earlier time is stored as the
   latest so far). */
struct replay_t {
    zhashx_t *seen;  /* "org/hex(id)" -> time remembered (int64_t, owned) */
    zlistx_t *order; /* keys, oldest first (owned strings) */
    int64_t latest;  /* the latest time remembered */
};

#define KEY_MAX (NAMES_ORG_MAX + 1 + 2 * REPLAY_ID_BYTES + 1)

static void s_free(void **item)
{
    free(*item);
    *item = NULL;
}

replay_t *replay_new(void)
{
    replay_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->seen = zhashx_new();
    self->order = zlistx_new();
    if (!self->seen || !self->order) {
        replay_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->seen, s_free);
    zlistx_set_destructor(self->order, s_free);
    return self;
}

void replay_destroy(replay_t **self_p)
{
    if (self_p && *self_p) {
        zhashx_destroy(&(*self_p)->seen);
        zlistx_destroy(&(*self_p)->order);
        free(*self_p);
        *self_p = NULL;
    }
}

static void s_key(const char *org, const uint8_t id[REPLAY_ID_BYTES], char key[KEY_MAX])
{
    static const char hex[] = "0123456789abcdef";
    size_t pos = (size_t)snprintf(key, KEY_MAX, "%.*s/", NAMES_ORG_MAX, org);
    for (size_t i = 0; i < REPLAY_ID_BYTES && pos + 2 < KEY_MAX; i++) {
        key[pos++] = hex[id[i] >> 4];
        key[pos++] = hex[id[i] & 15];
    }
    key[pos] = '\0';
}

/* Forgets the entries remembered before now_ms - window, and the oldest
   ones beyond REPLAY_ENTRIES_MAX. */
static void s_expire(replay_t *self, int64_t now_ms)
{
    for (char *key = zlistx_first(self->order); key; key = zlistx_first(self->order)) {
        const int64_t *at = zhashx_lookup(self->seen, key);
        bool old = !at || *at <= now_ms - REPLAY_WINDOW_MS;
        if (!old && zlistx_size(self->order) <= REPLAY_ENTRIES_MAX)
            break;
        zhashx_delete(self->seen, key);
        zlistx_delete(self->order, zlistx_cursor(self->order));
    }
}

bool replay_seen(replay_t *self, const char *org, const uint8_t id[REPLAY_ID_BYTES], int64_t now_ms)
{
    s_expire(self, now_ms);
    char key[KEY_MAX];
    s_key(org, id, key);
    return zhashx_lookup(self->seen, key) != NULL;
}

int replay_remember(replay_t *self, const char *org, const uint8_t id[REPLAY_ID_BYTES],
                    int64_t now_ms)
{
    if (now_ms > self->latest)
        self->latest = now_ms;
    char key[KEY_MAX];
    s_key(org, id, key);
    int64_t *at = malloc(sizeof *at);
    char *copy = strdup(key);
    if (!at || !copy) {
        free(at);
        free(copy);
        return -1;
    }
    *at = self->latest;
    if (zhashx_lookup(self->seen, key)) {
        /* Already there: keep the first time (it expires first). */
        free(at);
        free(copy);
        return 0;
    }
    if (zhashx_insert(self->seen, key, at) != 0) {
        free(at);
        free(copy);
        return -1;
    }
    if (!zlistx_add_end(self->order, copy)) {
        zhashx_delete(self->seen, key);
        free(copy);
        return -1;
    }
    s_expire(self, now_ms);
    return 0;
}

size_t replay_size(replay_t *self, int64_t now_ms)
{
    s_expire(self, now_ms);
    return zhashx_size(self->seen);
}
