/*  case_text: the kinds of things said in a case conference. */
#include "case_text.h"

#include "envelope.h"

#include <string.h>

static const char *s_types[] = {
    [CASE_TEXT_SHARE] = "case_share",
    [CASE_TEXT_TITLE] = "case_title",
    [CASE_TEXT_ACTION] = "case_action_text",
    [CASE_TEXT_NOTE] = "case_action_note",
};

case_text_kind_t case_text_kind(const char *signal_type)
{
    for (int kind = CASE_TEXT_SHARE; kind <= CASE_TEXT_NOTE; kind++)
        if (signal_type && strcmp(signal_type, s_types[kind]) == 0)
            return (case_text_kind_t)kind;
    return CASE_TEXT_UNKNOWN;
}

const char *case_text_type(case_text_kind_t kind)
{
    return kind >= CASE_TEXT_SHARE && kind <= CASE_TEXT_NOTE ? s_types[kind] : NULL;
}

const char *case_text_shape(case_text_kind_t kind, bool has_case_item, const char *const *fields,
                            size_t n_fields)
{
    if (kind == CASE_TEXT_UNKNOWN)
        return "wrong_signal_type";
    if (kind != CASE_TEXT_SHARE &&
        (n_fields != 1 || strcmp(fields[0], ENVELOPE_FREE_TEXT_FIELD) != 0))
        return "text_fields_only";
    bool wants_item = kind == CASE_TEXT_ACTION || kind == CASE_TEXT_NOTE;
    if (wants_item != has_case_item)
        return "bad_case_item";
    return NULL;
}
