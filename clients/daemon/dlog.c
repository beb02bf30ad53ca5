/*  dlog: see dlog.h. */
#include "dlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static dlog_level_t s_level = DLOG_INFO;

void dlog_set_level(dlog_level_t level)
{
    s_level = level;
}

void dlog(dlog_level_t level, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < s_level)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char line[2048];
    int n = snprintf(line, sizeof line,
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s prog=hartslagd ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long)(tv.tv_usec / 1000), names[level]);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One write per line, so lines of several processes do not interleave. */
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

const char *dlog_quote(const char *text, char *out, size_t outlen)
{
    size_t pos = 0;
    if (outlen < 3) {
        if (outlen)
            out[0] = '\0';
        return out;
    }
    out[pos++] = '"';
    for (const char *p = text ? text : ""; *p && pos + 6 < outlen; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            out[pos++] = '\\';
            out[pos++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            pos += (size_t)snprintf(out + pos, outlen - pos, "\\x%02x", c);
        } else
            out[pos++] = (char)c;
    }
    out[pos++] = '"';
    out[pos] = '\0';
    return out;
}
