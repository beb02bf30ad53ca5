/*  render: inbox and outbox entries as JSON (one line each: hook stdin,
    `inbox --json`, `show --json`, `watch`) and as text for people.
    The JSON of a signal is documented in docs/daemon.md ("Signal JSON").
*/
#ifndef HARTSLAG_DAEMON_RENDER_H
#define HARTSLAG_DAEMON_RENDER_H

#include "store.h"
#include "strbuf.h"

#include <stdint.h>

/* "2026-03-01T10:00:00Z" (UTC) into `out` (at least 21 bytes). */
void render_time(uint64_t ms, char out[32]);

/* The signal as one JSON object (no newline). */
void render_inbox_json(const store_inbox_t *entry, strbuf_t *out);

/* One summary line (with newline) for `hartslag inbox`; no content values. */
void render_inbox_line(const store_inbox_t *entry, strbuf_t *out);

/* The full signal, several lines, for `hartslag show`. */
void render_inbox_text(const store_inbox_t *entry, strbuf_t *out);

/* An outbox entry as one JSON object (no newline). */
/* Where one recipient's copy of a signal we sent stands: pending (not yet
   accepted), queued (accepted, the recipient has not answered), stored,
   refused (by the recipient, reason), denied (by the broker, reason),
   expired, withdrawn; at_ms is the broker's time of the recipient's answer
   (0 when none). */
typedef struct {
    char state[16];
    char reason[128];
    uint64_t at_ms;
} recipient_state_t;
void render_recipient_state(const store_outbox_t *entry, const char *org, recipient_state_t *rs);

void render_outbox_json(const store_outbox_t *entry, strbuf_t *out);

/* An outbox entry, several lines, for `hartslag show` of a sent signal. */
void render_outbox_text(const store_outbox_t *entry, strbuf_t *out);

#endif
