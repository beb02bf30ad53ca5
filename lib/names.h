/*  names: the character-set rules for every name that crosses the wire or
    appears in an agreements file. One place, so the broker, the daemons and
    the agreements parser can never disagree about what a valid name is.

    Pure functions, no allocation. A NULL name is never valid.
*/
#ifndef HARTSLAG_NAMES_H
#define HARTSLAG_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define NAMES_ORG_MAX 32   /* partner org id: [a-z0-9-]{1,32} */
#define NAMES_TOKEN_MAX 64 /* signal type, field, purpose, reason: [a-z0-9_-]{1,64} */
#define NAMES_USER_MAX 128 /* sender_user: see names_is_user */
#define NAMES_TEXT_MAX 256 /* legal basis, display name, contact: UTF-8 without control chars */

/* True when `name` is a valid org id: 1..32 of [a-z0-9-], not starting with '-'. */
bool names_is_org(const char *name);

/* Same, for a name of known length that need not be NUL-terminated (wire input). */
bool names_is_org_n(const char *name, size_t len);

/* True when `name` is a valid token (signal type, field, purpose, reason): 1..64 of [a-z0-9_-]. */
bool names_is_token(const char *name);
bool names_is_token_n(const char *name, size_t len);

/* The sender_user character set, in words, for error messages and docs. */
#define NAMES_USER_RULE                                                                            \
    "1-128 of letters A-Z a-z, digits, space and . _ - @ ( ) /, starting with a letter or a "      \
    "digit, not ending in a space"

/* True when `user` is a valid professional id: NAMES_USER_RULE, i.e.
   [A-Za-z0-9][A-Za-z0-9 ._@()/-]{0,127} without a trailing space. The first
   character can never be one a spreadsheet reads as a formula (= + - @ tab
   CR), and no character is one a CSV or HTML reader treats specially. */
bool names_is_user(const char *user);

/* True when `text` is 1..max bytes of valid UTF-8 with no control characters
   (U+0000..U+001F, U+007F). Used for display names, contacts, legal bases. */
bool names_is_text(const char *text, size_t max);

#endif
