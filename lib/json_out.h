/*  json_out: writing text as a JSON string, shared by the CLI's audit
    output (clients/cli/audit_read) and `hartslag keys` (keys/), which may
    not reach into clients/ (issue 16). Invalid UTF-8 becomes U+FFFD;
    control characters are escaped. */
#ifndef HARTSLAG_JSON_OUT_H
#define HARTSLAG_JSON_OUT_H

#include <stddef.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence starting at `p` (2..4), or 0 when it
   is not one (an ASCII byte is not handled here: 0). */
size_t json_out_utf8_len(const unsigned char *p);

/* Writes `text` (may be NULL: null) as a JSON string. */
void json_out_string(FILE *out, const char *text);

#endif
