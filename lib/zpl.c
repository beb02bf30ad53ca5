/*  zpl: strict reader of certificate-style ZPL; see zpl.h. */
#include "zpl.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char section[ZPL_NAME_MAX + 1]; /* enclosing section name */
    char key[ZPL_NAME_MAX + 1];     /* key within the section */
    char value[ZPL_VALUE_MAX + 1];  /* unquoted value, NUL-terminated */
} zpl_entry_t;

/*  Invariant: entries[0..count) are distinct (section, key) pairs, every
    name matches [a-z0-9_-]{1,32} and every value is free of control bytes. */
struct zpl_t {
    size_t count;                         /* entries in use */
    zpl_entry_t entries[ZPL_ENTRIES_MAX]; /* in file order */
};

static int s_fail(char *err, size_t errlen, size_t line, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "line %zu: %s", line, what);
    return -1;
}

static size_t s_name_len(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
                       s[n] == '-' || s[n] == '_'))
        n++;
    return n;
}

/* Parses one indented "key = value" line into `entry`. */
static int s_parse_pair(const char *p, size_t len, zpl_entry_t *entry, size_t line, char *err,
                        size_t errlen)
{
    size_t klen = s_name_len(p, len);
    if (klen == 0 || klen > ZPL_NAME_MAX)
        return s_fail(err, errlen, line, "expected a key name of 1-32 [a-z0-9_-]");
    memcpy(entry->key, p, klen);
    entry->key[klen] = '\0';
    size_t i = klen;
    while (i < len && p[i] == ' ')
        i++;
    if (i >= len || p[i] != '=')
        return s_fail(err, errlen, line, "expected '=' after the key");
    i++;
    while (i < len && p[i] == ' ')
        i++;
    const char *value = p + i;
    size_t vlen = len - i;
    if (vlen >= 2 && value[0] == '"') {
        const char *close = memchr(value + 1, '"', vlen - 1);
        if (!close)
            return s_fail(err, errlen, line, "value has no closing quote");
        size_t rest = (size_t)(value + vlen - close - 1);
        for (size_t k = 0; k < rest; k++)
            if (close[1 + k] != ' ')
                return s_fail(err, errlen, line, "text after the closing quote");
        vlen = (size_t)(close - value - 1);
        value++;
    } else {
        while (vlen > 0 && value[vlen - 1] == ' ')
            vlen--;
        if (vlen == 0)
            return s_fail(err, errlen, line, "empty value");
        if (memchr(value, '"', vlen) || memchr(value, '#', vlen))
            return s_fail(err, errlen, line, "unquoted value holds '\"' or '#'");
    }
    if (vlen > ZPL_VALUE_MAX)
        return s_fail(err, errlen, line, "value is too long");
    memcpy(entry->value, value, vlen);
    entry->value[vlen] = '\0';
    return 0;
}

zpl_t *zpl_parse(const char *text, size_t len, char *err, size_t errlen)
{
    if (!text || len > ZPL_TEXT_MAX) {
        s_fail(err, errlen, 0, "file is larger than a certificate can be");
        return NULL;
    }
    if (memchr(text, '\0', len)) {
        s_fail(err, errlen, 0, "file holds NUL bytes (not a text file)");
        return NULL;
    }
    zpl_t *self = sodium_init() >= 0 ? sodium_malloc(sizeof(zpl_t)) : NULL;
    if (!self) {
        s_fail(err, errlen, 0, "out of secure memory");
        return NULL;
    }
    memset(self, 0, sizeof *self);
    char section[ZPL_NAME_MAX + 1] = "";
    size_t line = 0;
    size_t pos = 0;
    while (pos < len) {
        line++;
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - start) : len - pos;
        pos += llen + (nl ? 1 : 0);
        if (llen > 0 && start[llen - 1] == '\r')
            llen--;
        for (size_t k = 0; k < llen; k++) {
            unsigned char c = (unsigned char)start[k];
            if (c < 0x20 || c == 0x7f) {
                s_fail(err, errlen, line,
                       c == '\t' ? "tab character (indent with spaces)" : "control character");
                goto fail;
            }
        }
        size_t indent = 0;
        while (indent < llen && start[indent] == ' ')
            indent++;
        if (indent == llen || start[indent] == '#')
            continue; /* blank or comment */
        if (indent == 0) {
            size_t slen = s_name_len(start, llen);
            if (slen == 0 || slen != llen || slen > ZPL_NAME_MAX) {
                s_fail(err, errlen, line, "expected a section name of 1-32 [a-z0-9_-]");
                goto fail;
            }
            memcpy(section, start, slen);
            section[slen] = '\0';
            continue;
        }
        if (indent != 4 || section[0] == '\0') {
            s_fail(err, errlen, line,
                   "expected 'key = \"value\"' indented by 4 spaces in a section");
            goto fail;
        }
        if (self->count == ZPL_ENTRIES_MAX) {
            s_fail(err, errlen, line, "too many entries");
            goto fail;
        }
        zpl_entry_t *entry = &self->entries[self->count];
        if (s_parse_pair(start + indent, llen - indent, entry, line, err, errlen) != 0)
            goto fail;
        memcpy(entry->section, section, sizeof section);
        if (zpl_get(self, entry->section, entry->key)) {
            s_fail(err, errlen, line, "duplicate key");
            goto fail;
        }
        self->count++;
    }
    return self;
fail:
    zpl_destroy(&self);
    return NULL;
}

void zpl_destroy(zpl_t **self_p)
{
    if (self_p && *self_p) {
        sodium_free(*self_p); /* sodium_free wipes before it frees */
        *self_p = NULL;
    }
}

const char *zpl_get(const zpl_t *self, const char *section, const char *key)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp(self->entries[i].section, section) == 0 &&
            strcmp(self->entries[i].key, key) == 0)
            return self->entries[i].value;
    return NULL;
}

size_t zpl_count(const zpl_t *self)
{
    return self->count;
}

const char *zpl_section_at(const zpl_t *self, size_t i)
{
    return i < self->count ? self->entries[i].section : NULL;
}

const char *zpl_key_at(const zpl_t *self, size_t i)
{
    return i < self->count ? self->entries[i].key : NULL;
}
