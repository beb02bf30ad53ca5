/*  z85: Z85 codec; see z85.h. */
#include "z85.h"

#include <string.h>

static const char s_alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 ".-:+=^!/*?&<>()[]{}@%$#";

int z85_encode(char *text, const uint8_t *bytes, size_t len)
{
    if (len % 4 != 0)
        return -1;
    size_t out = 0;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t value = (uint32_t)bytes[i] << 24 | (uint32_t)bytes[i + 1] << 16 |
                         (uint32_t)bytes[i + 2] << 8 | bytes[i + 3];
        for (int k = 4; k >= 0; k--) {
            text[out + (size_t)k] = s_alphabet[value % 85];
            value /= 85;
        }
        out += 5;
    }
    text[out] = '\0';
    return 0;
}

static int s_digit(char c)
{
    const char *hit = c ? strchr(s_alphabet, c) : NULL;
    return hit ? (int)(hit - s_alphabet) : -1;
}

int z85_decode(uint8_t *bytes, size_t len, const char *text)
{
    if (len % 4 != 0 || strlen(text) != Z85_TEXT_LEN(len))
        return -1;
    for (size_t i = 0, o = 0; o < len; i += 5, o += 4) {
        uint64_t value = 0;
        for (size_t k = 0; k < 5; k++) {
            int digit = s_digit(text[i + k]);
            if (digit < 0) {
                memset(bytes, 0, len);
                return -1;
            }
            value = value * 85 + (uint64_t)digit;
        }
        if (value > UINT32_MAX) {
            memset(bytes, 0, len);
            return -1;
        }
        bytes[o] = (uint8_t)(value >> 24);
        bytes[o + 1] = (uint8_t)(value >> 16);
        bytes[o + 2] = (uint8_t)(value >> 8);
        bytes[o + 3] = (uint8_t)value;
    }
    return 0;
}
