/*  replay: the request ids each client of the pseudonym service used in
    the last 10 minutes (issue 17).

    A request whose id its client already used within the window is
    refused as a replay, so a captured request cannot be sent again to
    spend the client's rate limit or to learn anything twice. The window
    is twice the allowed clock skew (5 minutes either way): a request
    older than that is refused as stale before this is asked, so an id
    only needs to be remembered as long as a request carrying it can still
    pass the clock check.

    Ids are per client: two clients may pick the same 16 bytes. The
    table is bounded by REPLAY_ENTRIES_MAX (the rate limits bound it far
    lower in practice); when full, the oldest entry is forgotten early.

    Pure: the clock is the caller's (now_ms), so tests inject it.

    Ownership: replay_t owns its table; keys are copied.
*/
#ifndef HARTSLAG_PSEUDONYMD_REPLAY_H
#define HARTSLAG_PSEUDONYMD_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPLAY_WINDOW_MS (10 * 60 * 1000)
#define REPLAY_ID_BYTES 16
#define REPLAY_ENTRIES_MAX 1000000

typedef struct replay_t replay_t;

replay_t *replay_new(void);
void replay_destroy(replay_t **self_p);

/* True when `org` used `id` within the window before `now_ms`. */
bool replay_seen(replay_t *self, const char *org, const uint8_t id[REPLAY_ID_BYTES],
                 int64_t now_ms);

/* Remembers that `org` used `id` at `now_ms`. 0, or -1 out of memory. */
int replay_remember(replay_t *self, const char *org, const uint8_t id[REPLAY_ID_BYTES],
                    int64_t now_ms);

/* Entries held (after forgetting those older than the window). */
size_t replay_size(replay_t *self, int64_t now_ms);

#endif
