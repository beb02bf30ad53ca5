/*  agreements: the sharing agreements (convenanten) of a partnership.

    One YAML file (see docs/agreements.md) is parsed with libyaml into an
    immutable, validated agreements_t. The broker and every partner daemon
    evaluate each signal against it: a signal is allowed only when, for
    every recipient, one agreement matches sender, recipient, signal type,
    purpose and date and covers all of its fields. Default deny.

    Hot path: names are interned to small integers at load and agreements
    are indexed by (sender, recipient), so an evaluation costs one hash
    lookup per name plus a walk over the few agreements of each pair. Names
    in a request are (pointer, length) pairs and are never copied, so the
    broker can pass protobuf strings as they are.

    An agreements_t never changes after load, so any number of threads may
    evaluate against it at once. Every `const char *` and every view struct
    it hands out is borrowed: valid until agreements_destroy, never freed by
    the caller.
*/
#ifndef HARTSLAG_AGREEMENTS_H
#define HARTSLAG_AGREEMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define AGREEMENTS_WUR __attribute__((warn_unused_result))
#else
#define AGREEMENTS_WUR
#endif

/* Hard caps on hostile input. A file breaking one is refused with a message. */
#define AGREEMENTS_FILE_MAX (1024 * 1024) /* bytes in one agreements file */
#define AGREEMENTS_SCALAR_MAX 1024        /* bytes in one YAML scalar */
#define AGREEMENTS_DEPTH_MAX 16           /* nesting of YAML collections */
#define AGREEMENTS_NODES_MAX 100000       /* YAML nodes in one file */
#define AGREEMENTS_PARTNERS_MAX 1024      /* partners in one partnership */
#define AGREEMENTS_ERRORS_MAX 100         /* errors collected before giving up */
#define AGREEMENTS_MESSAGE_MAX 256        /* bytes of one error message */

/* The identity of a version is (version, SHA-256 of the file's exact bytes). */
#define AGREEMENTS_HASH_BYTES 32
#define AGREEMENTS_HASH_HEX (AGREEMENTS_HASH_BYTES * 2 + 1) /* hex digits and NUL */

/* Caps on one request. */
#define AGREEMENTS_RECIPIENTS_MAX 64 /* recipients of one signal */
#define AGREEMENTS_FIELDS_MAX 256    /* field names of one signal */

/* Ranges of the day counts (inclusive). */
#define AGREEMENTS_RETENTION_MIN 1
#define AGREEMENTS_RETENTION_MAX 3650
#define AGREEMENTS_QUEUE_MIN 1
#define AGREEMENTS_QUEUE_MAX 365
#define AGREEMENTS_WINDOW_MIN 1
#define AGREEMENTS_WINDOW_MAX 3650
#define AGREEMENTS_SENDERS_MIN 2
#define AGREEMENTS_SENDERS_MAX 64
#define AGREEMENTS_CASE_OPEN_MIN 1 /* max_open_days of a case rule */
#define AGREEMENTS_CASE_OPEN_MAX 3650

typedef struct agreements_t agreements_t;
typedef struct agreements_errors_t agreements_errors_t;

/* A name that need not be NUL-terminated (e.g. straight from a protobuf string). */
typedef struct {
    const char *str; /* first byte; may be NULL when len is 0 */
    size_t len;      /* bytes, without any terminator */
} agreements_str_t;

/* Wraps a NUL-terminated string; a NULL string becomes the empty name. */
agreements_str_t agreements_str(const char *s);

typedef enum {
    AGREEMENTS_ROLE_PARTNER = 0, /* may signal (unless may_send is false) */
    AGREEMENTS_ROLE_COORDINATOR  /* holds the regie; receives alerts */
} agreements_role_t;

/* One partner of the partnership (an entry of `partners:`). */
typedef struct {
    const char *org;        /* org id, [a-z0-9-]{1,32} */
    const char *name;       /* display name, or NULL when not given */
    agreements_role_t role; /* partner or coordinator */
    bool may_send;          /* false: every signal it sends is role_not_allowed */
    bool may_receive;       /* false: every signal to it is role_not_allowed */
    bool receives_alerts;   /* coordinator, or explicitly allowed to be an alert target */
    uint32_t line, column;  /* position of the entry in the file (1-based) */
} agreements_partner_t;

/* One agreement (an entry of `agreements:`). Dates are days since 1970-01-01 (UTC). */
typedef struct {
    const char *id;                  /* unique among agreements */
    const char *from;                /* sending org */
    const char *const *to;           /* receiving orgs, file order */
    size_t to_count;                 /* >= 1 */
    const char *const *signal_types; /* allowed signal types, file order */
    size_t signal_type_count;        /* >= 1 */
    const char *const *fields;       /* allowed field names, file order */
    size_t field_count;              /* >= 1 */
    const char *purpose;             /* the one purpose it serves */
    const char *legal_basis;         /* text, e.g. "Wpg art. 19; convenant art. 4" */
    int32_t valid_from;              /* first day it allows (inclusive) */
    int32_t valid_until;             /* last day it allows (inclusive), >= valid_from */
    uint32_t retention_days;         /* recipient keeps it at most this long */
    uint32_t max_queue_days;         /* broker holds it undelivered at most this long */
    uint32_t line, column;           /* position of the entry in the file (1-based) */
} agreements_agreement_t;

/* One alert rule (an entry of `alerts:`, DESIGN §10). */
typedef struct {
    const char *id;                  /* unique among alert rules */
    uint32_t distinct_senders;       /* partners needed to fire, 2..64 */
    uint32_t window_days;            /* within this many days, 1..3650 */
    const char *const *signal_types; /* only these types count; NULL when all do */
    size_t signal_type_count;        /* 0 when all types count */
    const char *const *notify;       /* orgs that receive the alert */
    size_t notify_count;             /* >= 1 */
    bool notify_senders;             /* also tell the partners that signalled */
    const char *legal_basis;         /* text */
    uint32_t line, column;           /* position of the entry in the file (1-based) */
} agreements_alert_rule_t;

/* One partner of a kind of case conference and the fields it may share
   into such a case (issue 15). */
typedef struct {
    const char *org;           /* a partner */
    const char *const *fields; /* tokens it may share into the case (non-empty) */
    size_t field_count;
} agreements_case_participant_t;

/* One kind of case conference (an entry of `cases:`, issue 15): who
   coordinates it, who may take part and share what, why, and how long. */
typedef struct {
    const char *kind;                                  /* unique among case rules */
    const char *coordinator;                           /* the partnership's coordinator */
    const agreements_case_participant_t *participants; /* file order, the coordinator too */
    size_t participant_count;                          /* >= 2 */
    const char *purpose;                               /* token */
    const char *legal_basis;                           /* text */
    uint32_t retention_days_after_close;               /* participants purge content after */
    uint32_t max_open_days;                            /* flagged to the coordinator after */
    const char *const *outcomes;                       /* outcome codes a case closes with */
    size_t outcome_count;                              /* >= 1 */
    uint32_t line, column;                             /* position in the file (1-based) */
} agreements_case_rule_t;

/* One problem found in a file. */
typedef struct {
    const char *file;                     /* name given at load / parse */
    uint32_t line, column;                /* 1-based; 0 when about the whole file */
    char message[AGREEMENTS_MESSAGE_MAX]; /* one line, no trailing newline */
} agreements_error_t;

/* Why a recipient is denied; AGREEMENTS_ALLOWED when it is not. */
typedef enum {
    AGREEMENTS_ALLOWED = 0,
    AGREEMENTS_NO_AGREEMENT,      /* no agreement at all from sender to recipient */
    AGREEMENTS_TYPE_NOT_ALLOWED,  /* no agreement of the pair covers the signal type */
    AGREEMENTS_PURPOSE_MISMATCH,  /* the type is covered, but for another purpose */
    AGREEMENTS_NOT_YET_VALID,     /* type and purpose match an agreement not yet in force */
    AGREEMENTS_EXPIRED,           /* type and purpose match an agreement no longer in force */
    AGREEMENTS_FIELD_NOT_ALLOWED, /* a field is outside the allowlist (see verdict.field) */
    AGREEMENTS_UNKNOWN_PARTNER,   /* sender or recipient is not in the partner list */
    AGREEMENTS_ROLE_NOT_ALLOWED   /* sender may not send, or recipient may not receive */
} agreements_reason_t;

/* A request: may `sender` send this signal to all `recipients` at time `at_ms`? */
typedef struct {
    agreements_str_t sender;
    const agreements_str_t *recipients; /* 1..AGREEMENTS_RECIPIENTS_MAX */
    size_t recipient_count;
    agreements_str_t signal_type;
    agreements_str_t purpose;
    const agreements_str_t *fields; /* 0..AGREEMENTS_FIELDS_MAX field names */
    size_t field_count;
    int64_t at_ms; /* unix time in milliseconds; its UTC date is what counts */
} agreements_request_t;

/* The verdict for one recipient. Pointers borrow from the request or the agreements. */
typedef struct {
    agreements_str_t recipient;              /* as given in the request */
    agreements_reason_t reason;              /* AGREEMENTS_ALLOWED, or why not */
    agreements_str_t field;                  /* field_not_allowed: the first uncovered field */
    const agreements_agreement_t *agreement; /* allowed: the clause that allows it; denied:
                                                the clause the reason comes from, or NULL */
} agreements_verdict_t;

/* Caller-allocated; filled by agreements_evaluate. */
typedef struct {
    bool allowed;     /* true only when every recipient is allowed */
    uint64_t version; /* the agreements version it was decided under */
    size_t count;     /* verdicts filled, == request recipient_count */
    agreements_verdict_t recipients[AGREEMENTS_RECIPIENTS_MAX]; /* one per recipient, in order */
} agreements_decision_t;

/* Reads and parses the file at `path` (at most AGREEMENTS_FILE_MAX bytes).
   Returns NULL on failure; then, when `errors` is not NULL, *errors is the
   list of problems (the caller destroys it; NULL only if memory ran out).
   On success *errors is set to NULL. */
AGREEMENTS_WUR agreements_t *agreements_load(const char *path, agreements_errors_t **errors);

/* Same, from `len` bytes of text in memory; `name` is used in messages. */
AGREEMENTS_WUR agreements_t *agreements_parse(const char *text, size_t len, const char *name,
                                              agreements_errors_t **errors);

/* Frees the agreements and nulls the caller's pointer. Safe on NULL. */
void agreements_destroy(agreements_t **self_p);

/* Decides a request. Returns 0 when decided (see decision->allowed), -1 when
   the request itself is malformed (no or too many recipients or fields); the
   decision is then a denial with count 0. */
AGREEMENTS_WUR int agreements_evaluate(const agreements_t *self, const agreements_request_t *req,
                                       agreements_decision_t *decision);

/* The partnership id, its version and the coordinator's org. */
const char *agreements_partnership(const agreements_t *self);
uint64_t agreements_version(const agreements_t *self);
const char *agreements_coordinator(const agreements_t *self);

/* SHA-256 of the exact bytes the version was parsed from (AGREEMENTS_HASH_BYTES),
   and the same as lowercase hex. Two files are the same version only when
   both the version number and the hash are equal. */
const uint8_t *agreements_hash(const agreements_t *self);
void agreements_hash_hex(const agreements_t *self, char out[AGREEMENTS_HASH_HEX]);

/* Partners, in file order, and lookup by org (NULL when not a partner). */
size_t agreements_partner_count(const agreements_t *self);
const agreements_partner_t *agreements_partner(const agreements_t *self, size_t index);
const agreements_partner_t *agreements_partner_lookup(const agreements_t *self, const char *org,
                                                      size_t len);

/* Agreements, in file order (for diff and explain). */
size_t agreements_count(const agreements_t *self);
const agreements_agreement_t *agreements_at(const agreements_t *self, size_t index);

/* Alert rules, in file order. */
size_t agreements_alert_count(const agreements_t *self);
const agreements_alert_rule_t *agreements_alert(const agreements_t *self, size_t index);

/* True when signals of `signal_type` count towards `rule`. */
bool agreements_alert_covers(const agreements_alert_rule_t *rule, const char *signal_type,
                             size_t len);

/* Case conference rules, in file order, and lookup by kind (NULL when no
   rule has it: default deny). */
size_t agreements_case_rule_count(const agreements_t *self);
const agreements_case_rule_t *agreements_case_rule(const agreements_t *self, size_t index);
const agreements_case_rule_t *agreements_case_rule_lookup(const agreements_t *self,
                                                          const char *kind, size_t len);

/* The participant entry of `org` in `rule`, or NULL when it may not take part. */
const agreements_case_participant_t *agreements_case_participant(const agreements_case_rule_t *rule,
                                                                 const char *org, size_t len);

/* Why a case action is refused; AGREEMENTS_CASE_ALLOWED when it is not. */
typedef enum {
    AGREEMENTS_CASE_ALLOWED = 0,
    AGREEMENTS_CASE_UNKNOWN_KIND,      /* no `cases:` rule of that kind */
    AGREEMENTS_CASE_NOT_COORDINATOR,   /* only the rule's coordinator may do this */
    AGREEMENTS_CASE_NOT_PARTICIPANT,   /* the partner may not take part in this kind */
    AGREEMENTS_CASE_FIELD_NOT_ALLOWED, /* a field outside the partner's list */
    AGREEMENTS_CASE_UNKNOWN_OUTCOME,   /* an outcome code the rule does not list */
} agreements_case_reason_t;

/* May `org` share `fields` into a case of `kind`? All or nothing: the first
   field outside its list is named in *field (when not NULL). */
agreements_case_reason_t agreements_case_share(const agreements_t *self, const char *kind,
                                               const char *org, const char *const *fields,
                                               size_t field_count, const char **field);

/* May `org` open (or invite, schedule, plan, remove, close) a case of
   `kind`? And is `outcome` one of its codes (NULL: not asked)? */
agreements_case_reason_t agreements_case_coordinate(const agreements_t *self, const char *kind,
                                                    const char *org, const char *outcome);

/* "unknown_case_kind", "not_coordinator", ... */
const char *agreements_case_reason_name(agreements_case_reason_t reason);

/* "no_agreement", "field_not_allowed", ... (without the field name). */
const char *agreements_reason_name(agreements_reason_t reason);

/* Writes the full reason of a verdict, e.g. "field_not_allowed:bsn", into
   buf. Returns 0, or -1 when it did not fit (buf then holds a truncation). */
int agreements_verdict_reason(const agreements_verdict_t *verdict, char *buf, size_t size);

/* Dates. A day is a count of days since 1970-01-01; dates are in UTC. */
/* The UTC day of a unix time in milliseconds (floor division, also before 1970). */
int32_t agreements_day_from_ms(int64_t ms);

/* Errors, sorted by position. */
size_t agreements_errors_count(const agreements_errors_t *self);
const agreements_error_t *agreements_errors_at(const agreements_errors_t *self, size_t index);
/* True when more than AGREEMENTS_ERRORS_MAX problems were found (the rest were dropped). */
bool agreements_errors_truncated(const agreements_errors_t *self);
/* Writes every error as "FILE:LINE:COL: message" (or "FILE: message"), one a line. */
void agreements_errors_print(const agreements_errors_t *self, FILE *out);
void agreements_errors_destroy(agreements_errors_t **self_p);

#endif
