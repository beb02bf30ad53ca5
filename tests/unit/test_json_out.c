/*  Tests for lib/json_out: NULL is null, quotes, backslashes and control
    characters are escaped, valid UTF-8 passes through, invalid UTF-8
    (overlong, surrogate, truncated) becomes U+FFFD. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "testutil.h"

static char *s_json(const char *text)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    cr_assert_not_null(out);
    json_out_string(out, text);
    fclose(out);
    return buf;
}

static void s_expect(const char *text, const char *want)
{
    char *got = s_json(text);
    cr_assert_str_eq(got, want);
    free(got);
}

Test(json_out, strings)
{
    tu_watchdog(30);
    s_expect(NULL, "null");
    s_expect("", "\"\"");
    s_expect("a\"b\\c", "\"a\\\"b\\\\c\"");
    s_expect("r\n\r\t\x01\x7f", "\"r\\n\\r\\t\\u0001\\u007f\"");
    s_expect("Gemeente Zaanstad \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
             "\"Gemeente Zaanstad \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    s_expect("\xc0\xaf", "\"\\ufffd\\ufffd\"");            /* overlong */
    s_expect("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
    s_expect("x\xe2\x82", "\"x\\ufffd\\ufffd\"");          /* truncated */
}

Test(json_out, utf8_len)
{
    cr_assert_eq(json_out_utf8_len((const unsigned char *)"\xc3\xa9"), 2);
    cr_assert_eq(json_out_utf8_len((const unsigned char *)"\xe2\x82\xac"), 3);
    cr_assert_eq(json_out_utf8_len((const unsigned char *)"\xf0\x9f\x98\x80"), 4);
    cr_assert_eq(json_out_utf8_len((const unsigned char *)"\xf4\x90\x80\x80"), 0);
    cr_assert_eq(json_out_utf8_len((const unsigned char *)"a"), 0);
}
