/*  audit_read: the privacy officer's read-only view of a copy of the
    broker's audit store (broker.db, tables of lib/audit_store.h), shared by
    `hartslag audit query | export | subject | report | stats`.

    A reader opens the database read-only (a location of lib/db.h: a file,
    "sqlite:PATH" or "postgresql://...") and reads it through lib/audit_store, walking the
    records in log order, unpacking each (at most AUDIT_RECORD_MAX bytes) and handing the
    ones that pass a filter to a callback. Records it cannot read are
    counted, never silently dropped: the caller tells the user to run
    `hartslag audit verify`.

    Output helpers escape hostile text for each format: JSON strings,
    RFC 4180 CSV fields, HTML text and terminal text (control characters
    and invalid UTF-8 are never passed through).

    Ownership: audit_reader_t owns its connection and audit store. Records handed to a
    callback are borrowed, valid until the callback returns.
*/
#ifndef HARTSLAG_AUDIT_READ_H
#define HARTSLAG_AUDIT_READ_H

#include "audit_log.h"
#include "audit_store.h"
#include "audit_verify.h"
#include "cert.h"
#include "hartslag.pb-c.h"
#include "pseudonym.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define AUDIT_READ_SIGNAL_BYTES 16  /* AuditRecord.signal_id */
#define AUDIT_READ_SUBJECT_BYTES 32 /* AuditRecord.subject */
#define AUDIT_READ_TIME_MAX 32      /* "2026-03-01T12:00:00.123Z" with NUL */
#define AUDIT_READ_ERR_MAX 1024     /* error texts */

/* What to give --db instead, for the kind of location that failed: a copy
   of the SQLite file, or the broker's PostgreSQL `store:` location; NULL
   (no --db given) names both. Static text. */
const char *audit_read_db_hint(const char *location);

/* Which records to hand on. Every set criterion must hold (AND). Strings
   are borrowed from the caller (argv). */
typedef struct {
    bool has_from;                             /* from_ms is set */
    int64_t from_ms;                           /* time_ms >= from_ms */
    bool has_to;                               /* to_ms is set */
    int64_t to_ms;                             /* time_ms < to_ms */
    const char *org;                           /* actor, counterpart or on_behalf_of */
    const char *event;                         /* exact event name */
    const char *type;                          /* exact signal type */
    const char *purpose;                       /* exact purpose */
    bool has_signal;                           /* signal is set */
    uint8_t signal[AUDIT_READ_SIGNAL_BYTES];   /* signal id */
    bool has_subject;                          /* subject is set */
    uint8_t subject[AUDIT_READ_SUBJECT_BYTES]; /* subject pseudonym */
    uint64_t limit;                            /* at most this many; 0 = all */
} audit_filter_t;

typedef struct audit_reader_t audit_reader_t;

/* Opens `location` (a path, "sqlite:PATH" or "postgresql://...") read-only
   and checks that it holds an audit log. NULL with a message naming the
   file or the server (without a password: db_location_shown) and the fix
   in `err`. */
audit_reader_t *audit_reader_open(const char *location, char *err, size_t errlen);

void audit_reader_destroy(audit_reader_t **self_p);

/* The audit store (borrowed), for the checkpoints and cosignatures. */
audit_store_t *audit_reader_store(audit_reader_t *self);

/* The log's origin ("hartslag.<partnership>/audit"), or "" when unknown. */
const char *audit_reader_origin(const audit_reader_t *self);

/* True when the store has the subject index (lib/audit_subjects.h). Then a
   walk with a subject filter reads only the records the index leads to;
   a store written before the index (and not opened by a newer broker
   since) is walked in full. */
bool audit_reader_indexed(const audit_reader_t *self);

/* Records in the log (highest index + 1) and how many at its start were
   purged by retention. 0, or -1 with the reason in `err`. */
int audit_reader_size(audit_reader_t *self, uint64_t *size, uint64_t *purged, char *err,
                      size_t errlen);

/* Called for each matching record, in log order. Return 0 to go on, 1 to
   stop (not an error), -1 to fail. */
typedef int(audit_record_fn)(void *arg, uint64_t index, const Hartslag__AuditRecord *record);

/* Walks the log. Returns the number of records handed on, or -1 with the
   reason in `err`. *unreadable (may be NULL) counts records that could not
   be unpacked; *purged counts records whose bytes were purged. With a
   subject filter on an indexed store, only that subject's records are
   read: *unreadable then counts unreadable records among them. */
int64_t audit_reader_each(audit_reader_t *self, const audit_filter_t *filter, audit_record_fn *fn,
                          void *arg, uint64_t *unreadable, uint64_t *purged, char *err,
                          size_t errlen);

/* True when `record` passes `filter` (the limit is not checked here). */
bool audit_filter_match(const audit_filter_t *filter, const Hartslag__AuditRecord *record);

/* Parses "YYYY-MM-DD" or ISO 8601 "YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]"
   (no zone = UTC). A bare date is the start of that day, or with
   `end_of_day` the start of the next day (so --to DATE includes DATE).
   0, or -1. */
int audit_parse_time(const char *text, bool end_of_day, int64_t *ms);

/* "2026-03-01T12:00:00Z" (UTC; milliseconds dropped). */
void audit_format_time(int64_t ms, char out[AUDIT_READ_TIME_MAX]);

/* Officer- and citizen-facing times are in the partnership's local time,
   Europe/Amsterdam (from tzdata when installed, else the same rule as a
   POSIX TZ string: CET, CEST from the last Sunday of March to the last of
   October). "2026-03-01 10:00 CET". */
#define AUDIT_READ_LOCAL_MAX 40
void audit_format_local(int64_t ms, char out[AUDIT_READ_LOCAL_MAX]);

/* The broken-down local time of `ms` (see above). */
void audit_local_tm(int64_t ms, struct tm *tm);

/* "2026-03-01" (UTC). */
void audit_format_date(int64_t ms, char out[11]);

/* Days since 1970-01-01 (UTC) of `ms`, flooring. */
int64_t audit_day_of(int64_t ms);

/* Year and month (1..12) of `ms` (UTC). */
void audit_month_of(int64_t ms, int *year, int *month);

/* Lower-case hex of `len` bytes into `out` (2*len+1 bytes). */
void audit_hex(const uint8_t *bytes, size_t len, char *out);

/* Parses exactly 2*len hex digits. 0, or -1. */
int audit_unhex(const char *text, uint8_t *out, size_t len);

/* The subject pseudonym from exactly one of --bsn, --address (asked of
   the pseudonym service with the officer file at `officer_path`, for
   `purpose`: clients/cli/pseudonym_lookup.h) or --subject HEX. The
   identifier is never copied into `err`. 0, or -1 with the reason in
   `err`; 2 when the combination of options is a usage error. */
int audit_subject_resolve(const char *bsn, const char *address, const char *hex,
                          const char *officer_path, const char *purpose,
                          uint8_t out[AUDIT_READ_SUBJECT_BYTES], char *err, size_t errlen);

/* Writes `text` (may be NULL: null) as a JSON string. */
void audit_json_string(FILE *out, const char *text);

/* Writes `text` (NULL: empty) as one RFC 4180 field, quoted when needed. A
   text starting with = + - @ tab or CR gets a leading ' (OWASP: it is then
   never run as a spreadsheet formula). */
void audit_csv_field(FILE *out, const char *text);

/* Writes `text` (NULL: nothing) HTML-escaped. */
void audit_html_text(FILE *out, const char *text);

/* Writes `text` with control characters and invalid UTF-8 replaced by '?',
   padded with spaces to `width` columns (0: no padding). */
void audit_term_text(FILE *out, const char *text, int width);

/* Copies `text` into `out` with control characters and invalid UTF-8
   replaced, truncated to fit (on a character boundary). */
void audit_clean_text(const char *text, char *out, size_t outlen);

/* One record as a JSON object on one line (no newline). Binary fields
   (signal_id, subject, prev_hash) as lower-case hex; absent fields null. */
void audit_record_json(FILE *out, uint64_t index, const Hartslag__AuditRecord *record);

/* CSV header line and one record as a CSV line (CRLF-terminated). */
void audit_record_csv_header(FILE *out);
void audit_record_csv(FILE *out, uint64_t index, const Hartslag__AuditRecord *record);

/* ------------------------------------------------------------------------
   Counter: text key -> count (a hash table), for report and stats. Keys
   are copied as given (at most AUDIT_COUNTER_KEY_MAX - 1 bytes are kept);
   callers build them from audit_clean_text'ed parts joined by tabs, so a
   tab always separates parts. */
#define AUDIT_COUNTER_KEY_MAX 512

typedef struct {
    char *key;      /* owned by the counter */
    uint64_t count; /* sum of what was added */
} audit_count_t;

typedef struct audit_counter_t audit_counter_t;

audit_counter_t *audit_counter_new(void);
void audit_counter_destroy(audit_counter_t **self_p);

/* Adds `n` to `key`. 0, or -1 when out of memory. */
int audit_counter_add(audit_counter_t *self, const char *key, uint64_t n);

/* The count of `key` (0 when absent). */
uint64_t audit_counter_get(const audit_counter_t *self, const char *key);

/* Every entry, sorted by key (strcmp); valid until the next add or
   destroy. *n is the number of entries. NULL when empty or out of memory. */
const audit_count_t *audit_counter_sorted(audit_counter_t *self, size_t *n);

/* ------------------------------------------------------------------------
   Check: can the reader trust this copy? Runs lib/audit_verify with the
   broker's certificate when one is given, and — with or without it — looks
   whether the copy is shorter than a checkpoint stored in it (a truncated
   copy). Shared by report and subject, which put the verdict at the top. */
typedef enum {
    AUDIT_CHECK_UNVERIFIED = 0, /* no broker certificate: not verified */
    AUDIT_CHECK_OK,             /* verified */
    AUDIT_CHECK_FAULT,          /* verify found a fault (see report) */
} audit_check_state_t;

typedef struct {
    audit_check_state_t state;              /* the verdict */
    audit_report_t report;                  /* verify's report (OK / FAULT) */
    bool has_cert;                          /* a broker certificate was given */
    char fingerprint[CERT_FINGERPRINT_MAX]; /* its fingerprint (cert_fingerprint) */
    uint64_t log_size;                      /* records in the copy (highest index + 1) */
    int64_t checkpoint_size;                /* largest stored checkpoint, -1 when none */
    bool truncated;                         /* log_size < checkpoint_size */
    uint64_t missing;                       /* checkpoint_size - log_size when truncated */
} audit_check_t;

/* Fills `out` for the store of `self`; `broker_cert` may be NULL. 0, or -1
   with the reason in `err` (the certificate cannot be read, or is not the
   broker's). */
int audit_read_check(audit_reader_t *self, const char *broker_cert, audit_check_t *out, char *err,
                     size_t errlen);

/* The "cannot open" wording shared by every subcommand. */
void audit_read_report_error(const char *command, const char *err);

#endif
