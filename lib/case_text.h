/*  case_text: what may be said in a case conference besides the shares of
    fields (issue 15), as one set of rules for the broker, which decides a
    case signal by its header, and for the receiving daemon, which decides
    it again by the case as it verified it.

    Everything said in a case is a sealed signal with SignalHeader.case_id;
    its type says what it is:
      case_share ........ fields and free text from a participant's records,
                          as the case's rule allows that participant;
      case_title ........ the case's title, by the coordinator;
      case_action_text .. what one action of the plan is (case_item names
                          the action), by the coordinator;
      case_action_note .. the owner's note on its own action (case_item).
    A title, an action's text and a note are the case's own words, not
    information from a partner's records: they carry only the free text
    (header fields exactly ["toelichting"]) and are decided by who says
    them, not by the rule's field lists. The roles (coordinator, owner) are
    the caller's to check against its own state.

    Pure functions; no globals. */
#ifndef HARTSLAG_CASE_TEXT_H
#define HARTSLAG_CASE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    CASE_TEXT_UNKNOWN = 0, /* not a type that belongs in a case */
    CASE_TEXT_SHARE,       /* case_share */
    CASE_TEXT_TITLE,       /* case_title */
    CASE_TEXT_ACTION,      /* case_action_text */
    CASE_TEXT_NOTE,        /* case_action_note */
} case_text_kind_t;

/* The kind a case signal's type names (CASE_TEXT_UNKNOWN for any other). */
case_text_kind_t case_text_kind(const char *signal_type);

/* The signal type of a kind ("case_share" ...); NULL for CASE_TEXT_UNKNOWN. */
const char *case_text_type(case_text_kind_t kind);

/* Checks a case signal's header shape for its kind: NULL when it holds,
   else a reason token:
     unknown type ..................................... wrong_signal_type
     title, action text, note: fields not exactly the free text
                                                        text_fields_only
     action text, note without case_item; share, title with one
                                                        bad_case_item */
const char *case_text_shape(case_text_kind_t kind, bool has_case_item, const char *const *fields,
                            size_t n_fields);

#endif
