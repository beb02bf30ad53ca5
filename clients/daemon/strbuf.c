/*  strbuf: see strbuf.h. */
#include "strbuf.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for `extra` more bytes plus the NUL. */
static bool s_reserve(strbuf_t *self, size_t extra)
{
    if (self->failed)
        return false;
    if (extra > STRBUF_MAX || self->len + extra + 1 > STRBUF_MAX) {
        self->failed = true;
        return false;
    }
    size_t need = self->len + extra + 1;
    if (need <= self->cap)
        return true;
    size_t cap = self->cap ? self->cap : 256;
    while (cap < need)
        cap *= 2;
    char *data = malloc(cap);
    if (!data) {
        self->failed = true;
        return false;
    }
    /* Copy and wipe rather than realloc: the old block may hold content. */
    if (self->data) {
        memcpy(data, self->data, self->len + 1);
        sodium_memzero(self->data, self->cap);
        free(self->data);
    }
    self->data = data;
    self->cap = cap;
    return true;
}

void strbuf_append(strbuf_t *self, const char *bytes, size_t len)
{
    if (!s_reserve(self, len))
        return;
    memcpy(self->data + self->len, bytes, len);
    self->len += len;
    self->data[self->len] = '\0';
}

void strbuf_puts(strbuf_t *self, const char *text)
{
    strbuf_append(self, text, strlen(text));
}

void strbuf_printf(strbuf_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        self->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        strbuf_append(self, small, (size_t)n);
        return;
    }
    if (!s_reserve(self, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(self->data + self->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    self->len += (size_t)n;
}

void strbuf_json_string(strbuf_t *self, const char *text)
{
    if (!text) {
        strbuf_puts(self, "null");
        return;
    }
    strbuf_append(self, "\"", 1);
    const char *run = text;
    for (const char *p = text; *p; p++) {
        unsigned char c = (unsigned char)*p;
        const char *esc = NULL;
        char ubuf[8];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(ubuf, sizeof ubuf, "\\u%04x", c);
                esc = ubuf;
            }
        }
        if (esc) {
            strbuf_append(self, run, (size_t)(p - run));
            strbuf_puts(self, esc);
            run = p + 1;
        }
    }
    strbuf_puts(self, run);
    strbuf_append(self, "\"", 1);
}

bool strbuf_ok(const strbuf_t *self)
{
    return !self->failed;
}

const char *strbuf_text(const strbuf_t *self)
{
    return self->data ? self->data : "";
}

char *strbuf_take(strbuf_t *self)
{
    if (self->failed) {
        strbuf_wipe(self);
        return NULL;
    }
    char *text = self->data ? self->data : strdup("");
    self->data = NULL;
    self->len = self->cap = 0;
    return text;
}

void strbuf_wipe(strbuf_t *self)
{
    if (self->data) {
        sodium_memzero(self->data, self->cap);
        free(self->data);
    }
    self->data = NULL;
    self->len = self->cap = 0;
    self->failed = false;
}

static void s_skip_space(const char *json, size_t *pos)
{
    while (json[*pos] == ' ' || json[*pos] == '\n' || json[*pos] == '\t' || json[*pos] == '\r')
        (*pos)++;
}

static int s_hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Reads one JSON string literal at *pos into a new string. */
static int s_read_string(const char *json, size_t *pos, char **out)
{
    if (json[*pos] != '"')
        return -1;
    (*pos)++;
    strbuf_t buf = {0};
    strbuf_append(&buf, "", 0);
    for (;;) {
        char c = json[*pos];
        if (c == '\0') {
            strbuf_wipe(&buf);
            return -1;
        }
        (*pos)++;
        if (c == '"')
            break;
        if (c != '\\') {
            strbuf_append(&buf, &c, 1);
            continue;
        }
        char e = json[(*pos)++];
        char one = 0;
        switch (e) {
        case '"':
            one = '"';
            break;
        case '\\':
            one = '\\';
            break;
        case '/':
            one = '/';
            break;
        case 'n':
            one = '\n';
            break;
        case 'r':
            one = '\r';
            break;
        case 't':
            one = '\t';
            break;
        case 'b':
            one = '\b';
            break;
        case 'f':
            one = '\f';
            break;
        case 'u': {
            unsigned v;
            if (s_hex4(json + *pos, &v) != 0 || v >= 0x80) {
                /* We only ever write \u for control characters. */
                strbuf_wipe(&buf);
                return -1;
            }
            *pos += 4;
            one = (char)v;
            break;
        }
        default:
            strbuf_wipe(&buf);
            return -1;
        }
        strbuf_append(&buf, &one, 1);
    }
    *out = strbuf_take(&buf);
    return *out ? 0 : -1;
}

int json_flat_next(const char *json, size_t *pos, char **name, char **value)
{
    s_skip_space(json, pos);
    if (*pos == 0 || json[*pos] == '{') {
        if (json[*pos] != '{')
            return -1;
        (*pos)++;
        s_skip_space(json, pos);
    } else if (json[*pos] == ',') {
        (*pos)++;
        s_skip_space(json, pos);
    }
    if (json[*pos] == '}')
        return 0;
    char *n = NULL, *v = NULL;
    if (s_read_string(json, pos, &n) != 0)
        return -1;
    s_skip_space(json, pos);
    if (json[*pos] != ':') {
        free(n);
        return -1;
    }
    (*pos)++;
    s_skip_space(json, pos);
    if (s_read_string(json, pos, &v) != 0) {
        free(n);
        return -1;
    }
    s_skip_space(json, pos);
    if (json[*pos] != ',' && json[*pos] != '}') {
        free(n);
        sodium_memzero(v, strlen(v));
        free(v);
        return -1;
    }
    *name = n;
    *value = v;
    return 1;
}
