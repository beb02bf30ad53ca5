/*  pseudonym: subject identifiers -> keyed BLAKE2b pseudonyms; see pseudonym.h. */
#include "pseudonym.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

_Static_assert(PSEUDONYM_KEYBYTES == crypto_generichash_KEYBYTES, "key size");
_Static_assert(PSEUDONYM_BYTES == crypto_generichash_BYTES, "output size");

static const char *const s_kind_names[PSEUDONYM_KIND_COUNT_] = {
    [PSEUDONYM_BSN] = "bsn",
    [PSEUDONYM_ADDRESS] = "address",
    [PSEUDONYM_CASE] = "case",
};

const char *pseudonym_kind_name(pseudonym_kind_t kind)
{
    if ((unsigned)kind >= PSEUDONYM_KIND_COUNT_)
        return NULL;
    return s_kind_names[kind];
}

int pseudonym_kind_from_string(const char *name, pseudonym_kind_t *kind)
{
    if (!name || !kind)
        return -1;
    for (unsigned i = 0; i < PSEUDONYM_KIND_COUNT_; i++)
        if (strcmp(name, s_kind_names[i]) == 0) {
            *kind = (pseudonym_kind_t)i;
            return 0;
        }
    return -1;
}

static int s_fail(const char **error, const char *text)
{
    if (error)
        *error = text;
    return -1;
}

static bool s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool s_is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char s_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* BSN: 9 digits after dropping spaces, dots and hyphens; elfproef. */
static int s_bsn(const char *id, size_t len, char *out, const char **error)
{
    char digits[9];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (c == ' ' || c == '.' || c == '-')
            continue;
        if (!s_is_digit(c)) {
            sodium_memzero(digits, sizeof digits);
            return s_fail(error, "BSN may contain only digits, spaces, dots and hyphens");
        }
        if (n == sizeof digits) {
            sodium_memzero(digits, sizeof digits);
            return s_fail(error, "BSN must have exactly 9 digits");
        }
        digits[n++] = c;
    }
    if (n != sizeof digits) {
        sodium_memzero(digits, sizeof digits);
        return s_fail(error, n == 8 ? "BSN must have exactly 9 digits (8 given: add the "
                                      "leading 0 only if the source system dropped it)"
                                    : "BSN must have exactly 9 digits");
    }
    int sum = 0;
    bool all_zero = true;
    for (size_t i = 0; i < 8; i++) {
        sum += (9 - (int)i) * (digits[i] - '0');
        all_zero = all_zero && digits[i] == '0';
    }
    sum -= digits[8] - '0';
    all_zero = all_zero && digits[8] == '0';
    if (all_zero) {
        sodium_memzero(digits, sizeof digits);
        return s_fail(error, "BSN may not be all zeros");
    }
    if (sum % 11 != 0) {
        sodium_memzero(digits, sizeof digits);
        return s_fail(error, "BSN fails the elfproef (check digit): a typing error?");
    }
    memcpy(out, digits, sizeof digits);
    out[sizeof digits] = '\0';
    sodium_memzero(digits, sizeof digits);
    return 0;
}

static size_t s_skip_spaces(const char *s, size_t i, size_t len)
{
    while (i < len && s[i] == ' ')
        i++;
    return i;
}

/* Address: "PPPP LL N[ T]" with free spacing and case. */
static int s_address(const char *id, size_t len, char *out, const char **error)
{
    size_t i = s_skip_spaces(id, 0, len);
    char pc[6];
    for (size_t k = 0; k < 4; k++, i++)
        if (i >= len || !s_is_digit(id[i]))
            return s_fail(error, "address must start with a postcode: 4 digits, 2 letters");
        else
            pc[k] = id[i];
    if (pc[0] == '0')
        return s_fail(error, "postcode cannot start with 0");
    i = s_skip_spaces(id, i, len);
    for (size_t k = 4; k < 6; k++, i++)
        if (i >= len || !s_is_alpha(id[i]))
            return s_fail(error, "address must start with a postcode: 4 digits, 2 letters");
        else
            pc[k] = s_upper(id[i]);
    if (pc[4] == 'S' && (pc[5] == 'A' || pc[5] == 'D' || pc[5] == 'S'))
        return s_fail(error, "postcode letters SA, SD and SS are not used");
    if (i < len && s_is_alpha(id[i]))
        return s_fail(error, "postcode has more than 2 letters");
    i = s_skip_spaces(id, i, len);

    unsigned long number = 0;
    size_t ndigits = 0;
    while (i < len && s_is_digit(id[i])) {
        if (++ndigits > 5)
            return s_fail(error, "huisnummer must be 1..99999");
        number = number * 10 + (unsigned long)(id[i] - '0');
        i++;
    }
    if (ndigits == 0)
        return s_fail(error, "address needs a huisnummer after the postcode");
    if (number == 0)
        return s_fail(error, "huisnummer must be 1..99999");

    char extra[4];
    size_t nextra = 0;
    size_t j = s_skip_spaces(id, i, len);
    bool hyphen = j < len && id[j] == '-';
    if (hyphen)
        j = s_skip_spaces(id, j + 1, len);
    if (j < len) {
        while (j < len && (s_is_alpha(id[j]) || s_is_digit(id[j]))) {
            if (nextra == sizeof extra)
                return s_fail(error, "toevoeging must be 1..4 letters or digits");
            extra[nextra++] = s_upper(id[j++]);
        }
        j = s_skip_spaces(id, j, len);
        if (nextra == 0 || j != len)
            return s_fail(error, "toevoeging must be 1..4 letters or digits");
    } else if (hyphen)
        return s_fail(error, "toevoeging must be 1..4 letters or digits");

    /* "PPPPLL N" or "PPPPLL N T": at most 6 + 1 + 5 + 1 + 4 = 17 bytes. */
    memcpy(out, pc, 6);
    size_t o = 6;
    out[o++] = ' ';
    char num[5];
    size_t nnum = 0;
    do {
        num[nnum++] = (char)('0' + number % 10);
        number /= 10;
    } while (number > 0);
    while (nnum > 0)
        out[o++] = num[--nnum];
    if (nextra > 0) {
        out[o++] = ' ';
        memcpy(out + o, extra, nextra);
        o += nextra;
    }
    out[o] = '\0';
    return 0;
}

/* Case number: [A-Za-z0-9-/]{1,64}, trimmed, uppercased. */
static int s_case(const char *id, size_t len, char *out, const char **error)
{
    size_t start = s_skip_spaces(id, 0, len);
    size_t end = len;
    while (end > start && id[end - 1] == ' ')
        end--;
    if (end == start)
        return s_fail(error, "case number is empty");
    if (end - start > PSEUDONYM_NORMALISED_MAX)
        return s_fail(error, "case number is longer than 64 characters");
    for (size_t i = start; i < end; i++) {
        char c = id[i];
        if (!s_is_alpha(c) && !s_is_digit(c) && c != '-' && c != '/')
            return s_fail(error, "case number may contain only letters, digits, - and /");
        out[i - start] = s_upper(c);
    }
    out[end - start] = '\0';
    return 0;
}

int pseudonym_normalise(pseudonym_kind_t kind, const char *id, char *out, size_t outlen,
                        const char **error)
{
    if (out && outlen > 0)
        out[0] = '\0';
    if (!id || !out)
        return s_fail(error, "missing identifier or output");
    if (outlen < PSEUDONYM_NORMALISED_MAX + 1)
        return s_fail(error, "output buffer too small");
    size_t len = strnlen(id, PSEUDONYM_ID_MAX + 1);
    if (len > PSEUDONYM_ID_MAX)
        return s_fail(error, "identifier too long");
    char buf[PSEUDONYM_NORMALISED_MAX + 1];
    int rc;
    switch (kind) {
    case PSEUDONYM_BSN:
        rc = s_bsn(id, len, buf, error);
        break;
    case PSEUDONYM_ADDRESS:
        rc = s_address(id, len, buf, error);
        break;
    case PSEUDONYM_CASE:
        rc = s_case(id, len, buf, error);
        break;
    default:
        return s_fail(error, "unknown identifier kind");
    }
    if (rc == 0)
        memcpy(out, buf, strlen(buf) + 1);
    sodium_memzero(buf, sizeof buf);
    return rc;
}

int pseudonym_derive(const unsigned char key[PSEUDONYM_KEYBYTES], pseudonym_kind_t kind,
                     const char *id, unsigned char out[PSEUDONYM_BYTES], const char **error)
{
    if (!key || !out)
        return s_fail(error, "missing key or output");
    char norm[PSEUDONYM_NORMALISED_MAX + 1];
    if (pseudonym_normalise(kind, id, norm, sizeof norm, error) != 0)
        return -1;
    const char *name = s_kind_names[kind];
    static const unsigned char zero = 0;
    crypto_generichash_state state;
    crypto_generichash_init(&state, key, PSEUDONYM_KEYBYTES, PSEUDONYM_BYTES);
    crypto_generichash_update(&state, (const unsigned char *)PSEUDONYM_TAG,
                              sizeof PSEUDONYM_TAG - 1);
    crypto_generichash_update(&state, &zero, 1);
    crypto_generichash_update(&state, (const unsigned char *)name, strlen(name));
    crypto_generichash_update(&state, &zero, 1);
    crypto_generichash_update(&state, (const unsigned char *)norm, strlen(norm));
    crypto_generichash_final(&state, out, PSEUDONYM_BYTES);
    sodium_memzero(norm, sizeof norm);
    sodium_memzero(&state, sizeof state);
    return 0;
}

int pseudonym_oprf_input(pseudonym_kind_t kind, const char *id,
                         unsigned char input[PSEUDONYM_INPUT_MAX], size_t *len, const char **error)
{
    if (!input || !len)
        return s_fail(error, "missing output");
    char norm[PSEUDONYM_NORMALISED_MAX + 1];
    if (pseudonym_normalise(kind, id, norm, sizeof norm, error) != 0)
        return -1;
    const char *name = s_kind_names[kind];
    size_t tag_len = sizeof PSEUDONYM_TAG_V2 - 1, name_len = strlen(name), norm_len = strlen(norm);
    size_t pos = 0;
    memcpy(input + pos, PSEUDONYM_TAG_V2, tag_len);
    pos += tag_len;
    input[pos++] = 0;
    memcpy(input + pos, name, name_len);
    pos += name_len;
    input[pos++] = 0;
    memcpy(input + pos, norm, norm_len);
    pos += norm_len;
    *len = pos;
    sodium_memzero(norm, sizeof norm);
    return 0;
}

void pseudonym_from_oprf_output(const unsigned char output[PSEUDONYM_OPRF_OUTPUTBYTES],
                                unsigned char out[PSEUDONYM_BYTES])
{
    memcpy(out, output, PSEUDONYM_BYTES);
}

void pseudonym_to_hex(const unsigned char pseudonym[PSEUDONYM_BYTES], char hex[PSEUDONYM_HEXBYTES])
{
    sodium_bin2hex(hex, PSEUDONYM_HEXBYTES, pseudonym, PSEUDONYM_BYTES);
}

static int s_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int pseudonym_from_hex(const char *hex, unsigned char out[PSEUDONYM_BYTES])
{
    if (!hex || !out || strnlen(hex, 2 * PSEUDONYM_BYTES + 1) != 2 * PSEUDONYM_BYTES)
        return -1;
    unsigned char buf[PSEUDONYM_BYTES];
    for (size_t i = 0; i < PSEUDONYM_BYTES; i++) {
        int hi = s_hex_value(hex[2 * i]);
        int lo = s_hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        buf[i] = (unsigned char)(hi << 4 | lo);
    }
    memcpy(out, buf, sizeof buf);
    return 0;
}
