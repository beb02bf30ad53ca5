/*  date: calendar dates as days since 1970-01-01 (UTC), strict YYYY-MM-DD.

    Certificates (valid-from/-until), agreements (valid_from/_until) and the
    audit CLI (--since/--until) all read and write dates this one way.
*/
#ifndef HARTSLAG_DATE_H
#define HARTSLAG_DATE_H

#include <stddef.h>
#include <stdint.h>

/* Parses exactly YYYY-MM-DD of `len` bytes: a real calendar date, year
   1970..9999. Returns 0 with the day in *day, or -1. */
int date_parse(const char *text, size_t len, int64_t *day);

/* The same for a NUL-terminated text (NULL gives -1). */
int date_parse_cstr(const char *text, int64_t *day);

/* Formats a day as YYYY-MM-DD (10 characters and a NUL); days outside
   1970-01-01..9999-12-31 are clamped to them. */
void date_format(int64_t day, char out[11]);

#endif
