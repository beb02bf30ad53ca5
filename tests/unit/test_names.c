/*  names: the character-set rules. */
#include "names.h"

#include <criterion/criterion.h>
#include <string.h>

Test(names, org)
{
    cr_assert(names_is_org("politie"));
    cr_assert(names_is_org("wonen-limburg"));
    cr_assert(names_is_org("a"));
    cr_assert(names_is_org("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
    cr_assert_not(names_is_org("abcdefghijklmnopqrstuvwxyz0123456"));
    cr_assert_not(names_is_org(""));
    cr_assert_not(names_is_org(NULL));
    cr_assert_not(names_is_org("-politie"));
    cr_assert_not(names_is_org("Politie"));
    cr_assert_not(names_is_org("poli_tie"));
    cr_assert_not(names_is_org("politie "));
    cr_assert(names_is_org_n("politie\x01garbage", 7));
    cr_assert_not(names_is_org_n("politie\x01garbage", 8));
}

Test(names, token)
{
    cr_assert(names_is_token("drugs_overlast-2"));
    char long_token[66];
    memset(long_token, 'a', 65);
    long_token[65] = '\0';
    cr_assert_not(names_is_token(long_token));
    long_token[64] = '\0';
    cr_assert(names_is_token(long_token));
    cr_assert_not(names_is_token("a.b"));
    cr_assert_not(names_is_token(""));
    cr_assert_not(names_is_token_n("ab", 0));
}

Test(names, user)
{
    cr_assert(names_is_user("agent 4711"));
    cr_assert(names_is_user("j.jansen@gemeente"));
    cr_assert_not(names_is_user(" lead"));
    cr_assert_not(names_is_user("trail "));
    cr_assert_not(names_is_user("tab\there"));
    cr_assert_not(names_is_user("caf\xc3\xa9"));
    cr_assert_not(names_is_user(""));
    cr_assert(names_is_user("u12345 (wijkteam)"));
    cr_assert(names_is_user("agent-4711/team.b_2"));
    /* CSV injection (issue 13 E19): nothing a spreadsheet reads as a formula. */
    const char *formulas[] = {"=HYPERLINK(\"http://x\",\"y\")",
                              "+31",
                              "-1",
                              "@SUM(A1)",
                              "\tx",
                              "\rx",
                              "a=b",
                              "a;b",
                              "a,b",
                              "a\"b",
                              "a<b>",
                              "a'b"};
    for (size_t i = 0; i < sizeof formulas / sizeof *formulas; i++)
        cr_assert_not(names_is_user(formulas[i]), "%s", formulas[i]);
}

Test(names, text_utf8)
{
    cr_assert(names_is_text("Gemeente Heerlen", 256));
    cr_assert(names_is_text("Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 256));
    cr_assert_not(names_is_text("line\nbreak", 256));
    cr_assert_not(names_is_text("del\x7f", 256));
    cr_assert_not(names_is_text("\xc0\xaf", 256), "overlong encoding");
    cr_assert_not(names_is_text("\xed\xa0\x80", 256), "surrogate");
    cr_assert_not(names_is_text("\xf4\x90\x80\x80", 256), "above U+10FFFF");
    cr_assert_not(names_is_text("\xc3", 256), "truncated sequence");
    cr_assert_not(names_is_text("\xe2\x82", 256), "truncated sequence");
    cr_assert_not(names_is_text("\xc2\x85", 256), "C1 control");
    cr_assert_not(names_is_text("abcd", 3), "too long");
    cr_assert_not(names_is_text("", 3));
}
