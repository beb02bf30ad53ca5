/*  case_text: the kinds of things said in a case, and the header shape
    each may have (the broker and the daemons decide by these). */
#include "case_text.h"

#include <criterion/criterion.h>
#include <string.h>

Test(case_text, types_name_their_kinds_and_nothing_else)
{
    const char *types[] = {"case_share", "case_title", "case_action_text", "case_action_note"};
    case_text_kind_t kinds[] = {CASE_TEXT_SHARE, CASE_TEXT_TITLE, CASE_TEXT_ACTION, CASE_TEXT_NOTE};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(case_text_kind(types[i]), kinds[i], "%s", types[i]);
        cr_assert_str_eq(case_text_type(kinds[i]), types[i]);
    }
    const char *others[] = {"overlast", "case", "case_share ", "Case_share", "", "case_titles"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        cr_assert_eq(case_text_kind(others[i]), CASE_TEXT_UNKNOWN, "%s", others[i]);
    cr_assert_eq(case_text_kind(NULL), CASE_TEXT_UNKNOWN);
    cr_assert_null(case_text_type(CASE_TEXT_UNKNOWN));
}

Test(case_text, a_share_carries_fields_and_no_action)
{
    const char *fields[] = {"adres", "toelichting"};
    cr_assert_null(case_text_shape(CASE_TEXT_SHARE, false, fields, 2));
    cr_assert_null(case_text_shape(CASE_TEXT_SHARE, false, fields, 1));
    cr_assert_str_eq(case_text_shape(CASE_TEXT_SHARE, true, fields, 2), "bad_case_item");
}

Test(case_text, the_case_s_own_words_are_free_text_only)
{
    const char *text[] = {"toelichting"};
    const char *field[] = {"adres"};
    const char *both[] = {"adres", "toelichting"};
    cr_assert_null(case_text_shape(CASE_TEXT_TITLE, false, text, 1));
    cr_assert_null(case_text_shape(CASE_TEXT_ACTION, true, text, 1));
    cr_assert_null(case_text_shape(CASE_TEXT_NOTE, true, text, 1));
    case_text_kind_t words[] = {CASE_TEXT_TITLE, CASE_TEXT_ACTION, CASE_TEXT_NOTE};
    for (size_t i = 0; i < 3; i++) {
        bool item = words[i] != CASE_TEXT_TITLE;
        cr_assert_str_eq(case_text_shape(words[i], item, field, 1), "text_fields_only");
        cr_assert_str_eq(case_text_shape(words[i], item, both, 2), "text_fields_only");
        cr_assert_str_eq(case_text_shape(words[i], item, text, 0), "text_fields_only");
        /* an action's text and a note name their action; a title none */
        cr_assert_str_eq(case_text_shape(words[i], !item, text, 1), "bad_case_item");
    }
    cr_assert_str_eq(case_text_shape(CASE_TEXT_UNKNOWN, false, text, 1), "wrong_signal_type");
}
