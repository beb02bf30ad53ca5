/*  names: character-set rules for names; see names.h. */
#include "names.h"

#include <string.h>

static bool s_is_org_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static bool s_is_token_char(unsigned char c)
{
    return s_is_org_char(c) || c == '_';
}

bool names_is_org_n(const char *name, size_t len)
{
    if (!name || len == 0 || len > NAMES_ORG_MAX || name[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!s_is_org_char((unsigned char)name[i]))
            return false;
    return true;
}

bool names_is_org(const char *name)
{
    return name && names_is_org_n(name, strnlen(name, NAMES_ORG_MAX + 1));
}

bool names_is_token_n(const char *name, size_t len)
{
    if (!name || len == 0 || len > NAMES_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!s_is_token_char((unsigned char)name[i]))
            return false;
    return true;
}

bool names_is_token(const char *name)
{
    return name && names_is_token_n(name, strnlen(name, NAMES_TOKEN_MAX + 1));
}

bool names_is_user(const char *user)
{
    if (!user)
        return false;
    size_t len = strnlen(user, NAMES_USER_MAX + 1);
    if (len == 0 || len > NAMES_USER_MAX || user[len - 1] == ' ')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)user[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        /* strchr would also match the terminating NUL: c is never 0 here. */
        if (!alnum && (i == 0 || !strchr(" ._@()/-", c)))
            return false;
    }
    return true;
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
bool names_is_text(const char *text, size_t max)
{
    if (!text)
        return false;
    size_t len = strnlen(text, max + 1);
    if (len == 0 || len > max)
        return false;
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t need;
        unsigned int cp;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else
            return false;
        if (i + need >= len)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        if (cp >= 0x80 && cp < 0xa0)
            return false; /* C1 control characters */
        i += need + 1;
    }
    return true;
}
