/*  strbuf: a growable NUL-terminated text buffer, and JSON string output.

    Used to render inbox entries as JSON (hook stdin, `hartslag inbox
    --json`, `watch`) and as text. A strbuf_t that ran out of memory stays
    in an error state: later appends do nothing and strbuf_ok() is false,
    so callers check once at the end.
*/
#ifndef HARTSLAG_DAEMON_STRBUF_H
#define HARTSLAG_DAEMON_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#define STRBUF_MAX (16u * 1024 * 1024) /* no rendering ever needs more */

typedef struct {
    char *data;  /* NUL-terminated text, or NULL before the first append */
    size_t len;  /* bytes, without the NUL */
    size_t cap;  /* allocated bytes */
    bool failed; /* an allocation failed or STRBUF_MAX was reached */
} strbuf_t;

/* Appends `len` bytes. */
void strbuf_append(strbuf_t *self, const char *bytes, size_t len);

/* Appends a NUL-terminated string. */
void strbuf_puts(strbuf_t *self, const char *text);

/* Appends printf-formatted text. */
void strbuf_printf(strbuf_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends `text` as a JSON string literal, quotes included: ", \ and every
   control character are escaped; other bytes (UTF-8) are copied. NULL
   appends null. */
void strbuf_json_string(strbuf_t *self, const char *text);

/* True unless an append failed. */
bool strbuf_ok(const strbuf_t *self);

/* The text ("" when empty); borrowed. */
const char *strbuf_text(const strbuf_t *self);

/* Hands the text to the caller (free()); the buffer is empty afterwards.
   NULL when an append failed. */
char *strbuf_take(strbuf_t *self);

/* Wipes and frees the text (it may hold content). */
void strbuf_wipe(strbuf_t *self);

/* Reads the next "name": "value" pair from a flat JSON object of strings,
   as strbuf_json_string writes it. `*pos` starts at 0 (before '{'). On 1
   the pair is in *name and *value (new strings, caller frees); 0 at the
   end of the object; -1 on malformed input. */
int json_flat_next(const char *json, size_t *pos, char **name, char **value);

#endif
