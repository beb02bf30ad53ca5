/*  log: key=value event lines; see log.h. */
#include "log.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static const char *s_prog = "hartslag";
static log_level_t s_min = HLOG_INFO;
static const char *s_names[] = {"debug", "info", "warn", "error"};

void log_setup(const char *prog, log_level_t min_level)
{
    s_prog = prog;
    s_min = min_level;
}

int log_level_parse(const char *text, log_level_t *level)
{
    for (int i = 0; i < 4; i++)
        if (text && strcmp(text, s_names[i]) == 0) {
            *level = (log_level_t)i;
            return 0;
        }
    return -1;
}

static bool s_plain(const char *value)
{
    if (!*value)
        return false;
    for (const char *p = value; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f)
            return false;
    }
    return true;
}

/* Appends value to line, quoted and escaped unless it is a plain token. */
static size_t s_put_value(char *line, size_t pos, size_t cap, const char *value)
{
    if (s_plain(value))
        return pos + (size_t)snprintf(line + pos, pos < cap ? cap - pos : 0, "%s", value);
    if (pos < cap)
        line[pos] = '"';
    pos++;
    for (const char *p = value; *p && pos + 6 < cap; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            pos += (size_t)snprintf(line + pos, cap - pos, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            pos += (size_t)snprintf(line + pos, cap - pos, "\\x%02x", c);
        else
            line[pos++] = (char)c;
    }
    if (pos < cap)
        line[pos] = '"';
    return pos + 1;
}

void log_event(log_level_t level, const char *event, ...)
{
    if (level < s_min || level > HLOG_ERROR)
        return;
    char line[2048];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    time_t secs = tv.tv_sec;
    gmtime_r(&secs, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    size_t pos = (size_t)snprintf(line, sizeof line, "ts=%s.%03ldZ level=%s prog=%s event=", stamp,
                                  (long)(tv.tv_usec / 1000), s_names[level], s_prog);
    pos = s_put_value(line, pos, sizeof line, event);
    va_list args;
    va_start(args, event);
    const char *key;
    while ((key = va_arg(args, const char *)) != NULL && pos + 8 < sizeof line) {
        const char *value = va_arg(args, const char *);
        pos += (size_t)snprintf(line + pos, sizeof line - pos, " %s=", key);
        pos = s_put_value(line, pos, sizeof line, value ? value : "-");
    }
    va_end(args);
    if (pos >= sizeof line - 1)
        pos = sizeof line - 2;
    line[pos++] = '\n';
    fwrite(line, 1, pos, stderr);
}
