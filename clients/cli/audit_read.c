/*  audit_read: read-only access to a copy of the audit store; see audit_read.h. */
#include "date.h"
#include "audit_read.h"
#include "pseudonym_lookup.h"
#include "json_out.h"

#include "audit_store.h"
#include "audit_subjects.h"
#include "db.h"
#include "cert.h"
#include "keyfile.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY_MS 86400000LL
#define ORIGIN_MAX 256 /* CHECKPOINT_NAME_MAX with NUL */

struct audit_reader_t {
    db_t *db;                /* read-only connection, owned */
    audit_store_t *store;    /* its audit tables */
    char origin[ORIGIN_MAX]; /* audit_meta 'origin', or "" */
    bool indexed;            /* the store has the subject index */
};

void audit_read_report_error(const char *command, const char *err)
{
    fprintf(stderr, "hartslag audit %s: %s\n", command, err);
}

const char *audit_read_db_hint(const char *location)
{
    if (!location)
        return "a copy of the broker's state_dir/broker.db, or its store: location "
               "postgresql://... from broker.yaml";
    if (strstr(location, "://"))
        return "give the broker's store: location from broker.yaml (postgresql://...), a server "
               "reachable from here and a role that may read it";
    return "give a copy of the broker's state_dir/broker.db";
}

/* Opens the store read-only; privacy officers work on a copy, and a reader
   must never change (or create) what it reads. */
audit_reader_t *audit_reader_open(const char *location, char *err, size_t errlen)
{
    /* A file must exist and be a file (a server location has no file).
       Messages name a server location without its password. */
    const char *path = strncmp(location, "sqlite:", 7) == 0 ? location + 7 : location;
    char shown[AUDIT_READ_ERR_MAX];
    struct stat st;
    if (strstr(location, "://")) {
        db_location_shown(location, shown, sizeof shown);
        path = shown;
    } else {
        if (stat(path, &st) != 0) {
            snprintf(err, errlen, "cannot open %s: %s — %s", path, strerror(errno),
                     audit_read_db_hint(location));
            return NULL;
        }
        if (!S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "cannot open %s: not a regular file — %s", path,
                     audit_read_db_hint(location));
            return NULL;
        }
    }
    char why[AUDIT_READ_ERR_MAX];
    db_t *db = db_open(location, DB_READONLY, why, sizeof why);
    if (!db) {
        snprintf(err, errlen, "cannot open %s: %s — %s", path, why, audit_read_db_hint(location));
        return NULL;
    }
    int found = audit_store_present(db);
    if (found < 0) {
        snprintf(err, errlen, "cannot open %s: %s — %s", path, db_errmsg(db),
                 audit_read_db_hint(location));
        db_close(&db);
        return NULL;
    }
    if (!found) {
        snprintf(err, errlen, "cannot open %s: it holds no audit log — %s", path,
                 audit_read_db_hint(location));
        db_close(&db);
        return NULL;
    }
    audit_reader_t *self = calloc(1, sizeof *self);
    if (!self || !(self->store = audit_store_open(db, false, why, sizeof why))) {
        snprintf(err, errlen, "out of memory");
        free(self);
        db_close(&db);
        return NULL;
    }
    self->db = db;
    self->indexed = audit_store_subjects_exist(self->store);
    char origin[ORIGIN_MAX];
    if (audit_store_meta_get(self->store, "origin", origin, sizeof origin) == 1)
        audit_clean_text(origin, self->origin, sizeof self->origin);
    return self;
}

void audit_reader_destroy(audit_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    audit_store_destroy(&(*self_p)->store);
    db_close(&(*self_p)->db);
    free(*self_p);
    *self_p = NULL;
}

audit_store_t *audit_reader_store(audit_reader_t *self)
{
    return self->store;
}

const char *audit_reader_origin(const audit_reader_t *self)
{
    return self->origin;
}

bool audit_reader_indexed(const audit_reader_t *self)
{
    return self->indexed;
}

int audit_reader_size(audit_reader_t *self, uint64_t *size, uint64_t *purged, char *err,
                      size_t errlen)
{
    uint64_t n = 0;
    if (audit_store_record_count(self->store, &n) != 0) {
        snprintf(err, errlen, "cannot read the audit table: %s", db_errmsg(self->db));
        return -1;
    }
    /* Retention purges a prefix of the log (audit verify checks that):
       find where the records with bytes begin. The length is read, not
       the bytes. */
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2, len = 0;
        int found = audit_store_record_length(self->store, mid, &len);
        if (found < 0) {
            snprintf(err, errlen, "cannot read the audit table: %s", db_errmsg(self->db));
            return -1;
        }
        if (found == 1 && len > 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *size = n;
    *purged = lo;
    return 0;
}

static bool s_str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

bool audit_filter_match(const audit_filter_t *filter, const Hartslag__AuditRecord *record)
{
    if (!filter)
        return true;
    int64_t t = record->time_ms > INT64_MAX ? INT64_MAX : (int64_t)record->time_ms;
    if (filter->has_from && t < filter->from_ms)
        return false;
    if (filter->has_to && t >= filter->to_ms)
        return false;
    if (filter->org && !s_str_eq(record->actor_org, filter->org) &&
        !s_str_eq(record->counterpart_org, filter->org) &&
        !s_str_eq(record->on_behalf_of, filter->org))
        return false;
    if (filter->event && !s_str_eq(record->event, filter->event))
        return false;
    if (filter->type && !s_str_eq(record->signal_type, filter->type))
        return false;
    if (filter->purpose && !s_str_eq(record->purpose, filter->purpose))
        return false;
    if (filter->has_signal &&
        (!record->has_signal_id || record->signal_id.len != AUDIT_READ_SIGNAL_BYTES ||
         memcmp(record->signal_id.data, filter->signal, AUDIT_READ_SIGNAL_BYTES) != 0))
        return false;
    if (filter->has_subject &&
        (!record->has_subject || record->subject.len != AUDIT_READ_SUBJECT_BYTES ||
         sodium_memcmp(record->subject.data, filter->subject, AUDIT_READ_SUBJECT_BYTES) != 0))
        return false;
    return true;
}

int64_t audit_reader_each(audit_reader_t *self, const audit_filter_t *filter, audit_record_fn *fn,
                          void *arg, uint64_t *unreadable, uint64_t *purged, char *err,
                          size_t errlen)
{
    uint64_t n_unreadable = 0, n_purged = 0;
    int64_t handed = 0;
    audit_cursor_t *cursor = NULL;
    bool by_subject = filter && filter->has_subject && self->indexed;
    if (by_subject) {
        /* Only this subject's records: the index leads to them, the filter
           below still compares each one's full subject. Purged records have
           no index rows, so the purged count is the log's (as a full walk
           would give), taken from its purged prefix. */
        uint64_t size = 0;
        if (audit_reader_size(self, &size, &n_purged, err, errlen) != 0)
            return -1;
        cursor = audit_store_subject_records(self->store, audit_subject_tag(filter->subject), 0);
    } else
        cursor = audit_store_records(self->store, 0, UINT64_MAX);
    if (!cursor) {
        snprintf(err, errlen, "cannot read the audit table: %s", db_errmsg(self->db));
        return -1;
    }
    int rc;
    audit_row_t row;
    while ((rc = audit_cursor_next(cursor, &row)) == 1) {
        if (row.len == 0) {
            if (!by_subject)
                n_purged++;
            continue;
        }
        if (row.len > AUDIT_RECORD_MAX) {
            n_unreadable++;
            continue;
        }
        Hartslag__AuditRecord *record = hartslag__audit_record__unpack(NULL, row.len, row.bytes);
        if (!record || !record->event || !record->actor_org || !record->outcome) {
            if (record)
                hartslag__audit_record__free_unpacked(record, NULL);
            n_unreadable++;
            continue;
        }
        int verdict = 0;
        if (audit_filter_match(filter, record)) {
            handed++;
            verdict = fn ? fn(arg, (uint64_t)row.idx, record) : 0;
        }
        hartslag__audit_record__free_unpacked(record, NULL);
        if (verdict < 0) {
            audit_cursor_destroy(&cursor);
            snprintf(err, errlen, "stopped at record %lld", (long long)row.idx);
            return -1;
        }
        if (verdict > 0 || (filter && filter->limit && (uint64_t)handed >= filter->limit))
            break;
    }
    audit_cursor_destroy(&cursor);
    if (rc < 0) {
        snprintf(err, errlen, "cannot read the audit table: %s", db_errmsg(self->db));
        return -1;
    }
    if (unreadable)
        *unreadable = n_unreadable;
    if (purged)
        *purged = n_purged;
    return handed;
}

/* ------------------------------------------------------------------------
   Time: UTC throughout (the records hold Unix milliseconds). */

/* Howard Hinnant's civil_from_days. */
static void s_civil(int64_t days, int *year, int *month, int *day)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(y + (m <= 2));
    *month = (int)m;
    *day = (int)d;
}

int64_t audit_day_of(int64_t ms)
{
    return ms >= 0 ? ms / DAY_MS : -((-ms + DAY_MS - 1) / DAY_MS);
}

void audit_month_of(int64_t ms, int *year, int *month)
{
    int day;
    s_civil(audit_day_of(ms), year, month, &day);
}

void audit_format_date(int64_t ms, char out[11])
{
    int y, m, d;
    s_civil(audit_day_of(ms), &y, &m, &d);
    char buf[48];
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", y % 10000, m, d);
    memcpy(out, buf, 10);
    out[10] = '\0';
}

#define AUDIT_TZ_FILE "/usr/share/zoneinfo/Europe/Amsterdam"
#define AUDIT_TZ_RULE "CET-1CEST,M3.5.0,M10.5.0/3"

void audit_local_tm(int64_t ms, struct tm *tm)
{
    static bool set;
    if (!set) {
        /* The CLI is one short-lived, single-threaded process: setting TZ
           for it is how localtime_r learns the zone. */
        setenv("TZ", access(AUDIT_TZ_FILE, R_OK) == 0 ? "Europe/Amsterdam" : AUDIT_TZ_RULE, 1);
        tzset();
        set = true;
    }
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
    if (!localtime_r(&t, tm))
        memset(tm, 0, sizeof *tm);
}

void audit_format_local(int64_t ms, char out[AUDIT_READ_LOCAL_MAX])
{
    struct tm tm;
    audit_local_tm(ms, &tm);
    if (strftime(out, AUDIT_READ_LOCAL_MAX, "%Y-%m-%d %H:%M %Z", &tm) == 0)
        snprintf(out, AUDIT_READ_LOCAL_MAX, "?");
}

void audit_format_time(int64_t ms, char out[AUDIT_READ_TIME_MAX])
{
    int64_t day = audit_day_of(ms);
    int64_t rest = (ms - day * DAY_MS) / 1000;
    int y, m, d;
    s_civil(day, &y, &m, &d);
    snprintf(out, AUDIT_READ_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02dZ", y % 10000, m, d,
             (int)(rest / 3600), (int)(rest / 60 % 60), (int)(rest % 60));
}

/* Reads exactly `n` digits. */
static int s_digits(const char **p, int n, int *value)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *value = v;
    return 0;
}

int audit_parse_time(const char *text, bool end_of_day, int64_t *ms)
{
    if (!text || strlen(text) < 10 || strlen(text) > 40)
        return -1;
    char date[11];
    memcpy(date, text, 10);
    date[10] = '\0';
    int64_t day;
    if (date_parse_cstr(date, &day) != 0)
        return -1;
    const char *p = text + 10;
    if (*p == '\0') {
        *ms = (day + (end_of_day ? 1 : 0)) * DAY_MS;
        return 0;
    }
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    int hh, mm, ss = 0, frac = 0;
    if (s_digits(&p, 2, &hh) != 0 || *p++ != ':' || s_digits(&p, 2, &mm) != 0)
        return -1;
    if (*p == ':') {
        p++;
        if (s_digits(&p, 2, &ss) != 0)
            return -1;
        if (*p == '.' || *p == ',') {
            p++;
            int scale = 100, n = 0;
            while (isdigit((unsigned char)*p)) {
                if (n++ < 3) {
                    frac += (*p - '0') * scale;
                    scale /= 10;
                }
                p++;
            }
            if (n == 0)
                return -1;
        }
    }
    if (hh > 23 || mm > 59 || ss > 60)
        return -1;
    int64_t offset_min = 0;
    if (*p == 'Z' || *p == 'z')
        p++;
    else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
        if (s_digits(&p, 2, &oh) != 0)
            return -1;
        if (*p == ':')
            p++;
        if (*p && s_digits(&p, 2, &om) != 0)
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        offset_min = sign * (oh * 60 + om);
    }
    if (*p != '\0')
        return -1;
    *ms = day * DAY_MS + ((int64_t)hh * 3600 + mm * 60 + ss) * 1000 + frac - offset_min * 60 * 1000;
    return 0;
}

/* ------------------------------------------------------------------------
   Hex */

void audit_hex(const uint8_t *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * len] = '\0';
}

static int s_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int audit_unhex(const char *text, uint8_t *out, size_t len)
{
    if (!text || strlen(text) != 2 * len)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (s_nibble(text[2 * i]) < 0 || s_nibble(text[2 * i + 1]) < 0)
            return -1;
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(s_nibble(text[2 * i]) << 4 | s_nibble(text[2 * i + 1]));
    return 0;
}

/* ------------------------------------------------------------------------
   Subject: a citizen's identifier never leaves this function (not in an
   error text, not in a buffer that is not wiped). */

/* Reads one line of stdin into `buf` (for "--bsn -": keeps the number out
   of the shell history and the process list). */
static int s_read_stdin_line(char *buf, size_t len)
{
    if (!fgets(buf, (int)len, stdin))
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

int audit_subject_resolve(const char *bsn, const char *address, const char *hex,
                          const char *officer_path, const char *purpose,
                          uint8_t out[AUDIT_READ_SUBJECT_BYTES], char *err, size_t errlen)
{
    int given = (bsn != NULL) + (address != NULL) + (hex != NULL);
    if (given != 1) {
        snprintf(err, errlen,
                 "give exactly one of --bsn N, --address \"6411 AB 12a\" or "
                 "--subject HEX");
        return 2;
    }
    if (hex) {
        if (pseudonym_from_hex(hex, out) != 0) {
            snprintf(err, errlen, "--subject wants a pseudonym of 64 hex digits");
            return 2;
        }
        return 0;
    }
    const char *option = bsn ? "--bsn" : "--address";
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium cannot start");
        return -1;
    }
    char *line = sodium_malloc(PSEUDONYM_ID_MAX + 2);
    if (!line) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = -1;
    const char *id = bsn ? bsn : address;
    if (strcmp(id, "-") == 0) {
        if (s_read_stdin_line(line, PSEUDONYM_ID_MAX + 2) != 0) {
            snprintf(err, errlen, "%s -: nothing to read on standard input", option);
            goto done;
        }
        id = line;
    }
    char why[AUDIT_READ_ERR_MAX];
    rc = pseudonym_lookup(officer_path, bsn ? PSEUDONYM_BSN : PSEUDONYM_ADDRESS, id, purpose, out,
                          why, sizeof why);
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", option, why); /* never quotes the identifier */
done:
    sodium_free(line); /* sodium_free wipes */
    return rc;
}

/* ------------------------------------------------------------------------
   Escaping */

/* Length of the valid UTF-8 sequence (2..4 bytes) at `p`, or 0. Rejects
   overlong forms, surrogates and code points above U+10FFFF. */
static size_t s_utf8_len(const unsigned char *p)
{
    return json_out_utf8_len(p);
}

/* C1 control characters (U+0080..U+009F): some terminals act on them. */
static bool s_is_c1(const unsigned char *p, size_t n)
{
    return n == 2 && p[0] == 0xC2 && p[1] < 0xA0;
}

void audit_json_string(FILE *out, const char *text)
{
    json_out_string(out, text);
}

void audit_csv_field(FILE *out, const char *text)
{
    if (!text)
        return;
    /* OWASP's rule against CSV injection: a cell starting with = + - @ tab
       or CR is a formula to a spreadsheet; a leading ' makes it text (and
       the cell is quoted). Old logs may hold such values: sender_user is
       restricted only since issue 13. */
    bool formula = text[0] && strchr("=+-@\t\r", text[0]) != NULL;
    bool quote = formula || strpbrk(text, ",\"\r\n") != NULL;
    if (quote)
        fputc('"', out);
    if (formula)
        fputc('\'', out);
    for (const unsigned char *p = (const unsigned char *)text; *p;) {
        unsigned c = *p;
        if (c < 0x80) {
            if (c == '"')
                fputs("\"\"", out);
            else if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7F)
                fputs("\xEF\xBF\xBD", out);
            else
                fputc((int)c, out);
            p++;
            continue;
        }
        size_t n = s_utf8_len(p);
        if (n == 0 || s_is_c1(p, n)) {
            fputs("\xEF\xBF\xBD", out);
            p += n ? n : 1;
        } else {
            fwrite(p, 1, n, out);
            p += n;
        }
    }
    if (quote)
        fputc('"', out);
}

void audit_html_text(FILE *out, const char *text)
{
    if (!text)
        return;
    for (const unsigned char *p = (const unsigned char *)text; *p;) {
        unsigned c = *p;
        if (c < 0x80) {
            switch (c) {
            case '&':
                fputs("&amp;", out);
                break;
            case '<':
                fputs("&lt;", out);
                break;
            case '>':
                fputs("&gt;", out);
                break;
            case '"':
                fputs("&quot;", out);
                break;
            case '\'':
                fputs("&#39;", out);
                break;
            default:
                if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
                    fputs("&#xfffd;", out);
                else
                    fputc((int)c, out);
            }
            p++;
            continue;
        }
        size_t n = s_utf8_len(p);
        if (n == 0 || s_is_c1(p, n)) {
            fputs("&#xfffd;", out);
            p += n ? n : 1;
        } else {
            fwrite(p, 1, n, out);
            p += n;
        }
    }
}

void audit_clean_text(const char *text, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    while (*p) {
        size_t n = *p < 0x80 ? 1 : s_utf8_len(p);
        bool bad = (n == 1 && (*p < 0x20 || *p == 0x7F)) || n == 0 || s_is_c1(p, n);
        size_t want = bad ? 1 : n;
        if (o + want >= outlen)
            break;
        if (bad)
            out[o++] = '?';
        else {
            memcpy(out + o, p, n);
            o += n;
        }
        p += n ? n : 1;
    }
    out[o] = '\0';
}

void audit_term_text(FILE *out, const char *text, int width)
{
    char clean[1024];
    audit_clean_text(text, clean, sizeof clean);
    fputs(clean, out);
    int columns = 0;
    for (const unsigned char *p = (const unsigned char *)clean; *p; p++)
        if ((*p & 0xC0) != 0x80)
            columns++;
    for (; columns < width; columns++)
        fputc(' ', out);
}

/* ------------------------------------------------------------------------
   Records as JSON and CSV */

static void s_json_key(FILE *out, const char *key, bool *first)
{
    fprintf(out, "%s\"%s\":", *first ? "" : ",", key);
    *first = false;
}

static void s_json_hex(FILE *out, bool has, ProtobufCBinaryData data)
{
    if (!has || data.len == 0 || data.len > 64) {
        fputs(has && data.len > 64 ? "\"(too long)\"" : "null", out);
        return;
    }
    char hex[129];
    audit_hex(data.data, data.len, hex);
    fprintf(out, "\"%s\"", hex);
}

void audit_record_json(FILE *out, uint64_t index, const Hartslag__AuditRecord *r)
{
    bool first = true;
    char time[AUDIT_READ_TIME_MAX];
    audit_format_time((int64_t)(r->time_ms > INT64_MAX ? INT64_MAX : r->time_ms), time);
    fputc('{', out);
    s_json_key(out, "index", &first);
    fprintf(out, "%" PRIu64, index);
    s_json_key(out, "time", &first);
    audit_json_string(out, time);
    s_json_key(out, "time_ms", &first);
    fprintf(out, "%" PRIu64, r->time_ms);
    s_json_key(out, "event", &first);
    audit_json_string(out, r->event);
    s_json_key(out, "actor_org", &first);
    audit_json_string(out, r->actor_org);
    s_json_key(out, "actor_user", &first);
    audit_json_string(out, r->actor_user);
    s_json_key(out, "on_behalf_of", &first);
    audit_json_string(out, r->on_behalf_of);
    s_json_key(out, "counterpart_org", &first);
    audit_json_string(out, r->counterpart_org);
    s_json_key(out, "signal_id", &first);
    s_json_hex(out, r->has_signal_id, r->signal_id);
    s_json_key(out, "signal_type", &first);
    audit_json_string(out, r->signal_type);
    s_json_key(out, "purpose", &first);
    audit_json_string(out, r->purpose);
    s_json_key(out, "subject", &first);
    s_json_hex(out, r->has_subject, r->subject);
    s_json_key(out, "fields", &first);
    fputc('[', out);
    for (size_t i = 0; i < r->n_fields; i++) {
        if (i)
            fputc(',', out);
        audit_json_string(out, r->fields[i]);
    }
    fputc(']', out);
    s_json_key(out, "agreement_id", &first);
    audit_json_string(out, r->agreement_id);
    s_json_key(out, "agreements_version", &first);
    if (r->has_agreements_version)
        fprintf(out, "%" PRIu64, r->agreements_version);
    else
        fputs("null", out);
    s_json_key(out, "legal_basis", &first);
    audit_json_string(out, r->legal_basis);
    s_json_key(out, "outcome", &first);
    audit_json_string(out, r->outcome);
    s_json_key(out, "reason", &first);
    audit_json_string(out, r->reason);
    s_json_key(out, "purged_before", &first);
    if (r->has_purged_before)
        fprintf(out, "%" PRIu64, r->purged_before);
    else
        fputs("null", out);
    s_json_key(out, "prev_hash", &first);
    s_json_hex(out, true, r->prev_hash);
    s_json_key(out, "agreements_sha256", &first);
    s_json_hex(out, r->has_agreements_hash, r->agreements_hash);
    /* Case conferences (issue 15): metadata only, as the broker holds it. */
    s_json_key(out, "case_id", &first);
    s_json_hex(out, r->has_case_id, r->case_id);
    s_json_key(out, "case_item", &first);
    s_json_hex(out, r->has_case_item, r->case_item);
    s_json_key(out, "reshare_of", &first);
    s_json_hex(out, r->has_reshare_of, r->reshare_of);
    s_json_key(out, "case_outcome", &first);
    audit_json_string(out, r->case_outcome);
    s_json_key(out, "meeting_date", &first);
    audit_json_string(out, r->meeting_date);
    s_json_key(out, "due_date", &first);
    audit_json_string(out, r->due_date);
    s_json_key(out, "case_action_state", &first);
    audit_json_string(out, r->case_action_state);
    fputc('}', out);
}

void audit_record_csv_header(FILE *out)
{
    fputs("index,time,time_ms,event,actor_org,actor_user,on_behalf_of,counterpart_org,signal_id,"
          "signal_type,purpose,subject,fields,agreement_id,agreements_version,legal_basis,outcome,"
          "reason,purged_before,prev_hash,agreements_sha256\r\n",
          out);
}

static void s_csv_hex(FILE *out, bool has, ProtobufCBinaryData data)
{
    if (!has || data.len == 0 || data.len > 64)
        return;
    char hex[129];
    audit_hex(data.data, data.len, hex);
    fputs(hex, out);
}

void audit_record_csv(FILE *out, uint64_t index, const Hartslag__AuditRecord *r)
{
    char time[AUDIT_READ_TIME_MAX];
    audit_format_time((int64_t)(r->time_ms > INT64_MAX ? INT64_MAX : r->time_ms), time);
    fprintf(out, "%" PRIu64 ",%s,%" PRIu64 ",", index, time, r->time_ms);
    const char *texts[] = {r->event, r->actor_org, r->actor_user, r->on_behalf_of,
                           r->counterpart_org};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        audit_csv_field(out, texts[i]);
        fputc(',', out);
    }
    s_csv_hex(out, r->has_signal_id, r->signal_id);
    fputc(',', out);
    audit_csv_field(out, r->signal_type);
    fputc(',', out);
    audit_csv_field(out, r->purpose);
    fputc(',', out);
    s_csv_hex(out, r->has_subject, r->subject);
    fputc(',', out);
    /* Field names are tokens; joined with ';' they stay one CSV field. */
    size_t total = 1;
    for (size_t i = 0; i < r->n_fields; i++)
        total += strlen(r->fields[i] ? r->fields[i] : "") + 1;
    char *joined = malloc(total);
    if (joined) {
        size_t o = 0;
        for (size_t i = 0; i < r->n_fields; i++) {
            size_t n = strlen(r->fields[i] ? r->fields[i] : "");
            if (i)
                joined[o++] = ';';
            memcpy(joined + o, r->fields[i] ? r->fields[i] : "", n);
            o += n;
        }
        joined[o] = '\0';
        audit_csv_field(out, joined);
        free(joined);
    }
    fputc(',', out);
    audit_csv_field(out, r->agreement_id);
    fputc(',', out);
    if (r->has_agreements_version)
        fprintf(out, "%" PRIu64, r->agreements_version);
    fputc(',', out);
    audit_csv_field(out, r->legal_basis);
    fputc(',', out);
    audit_csv_field(out, r->outcome);
    fputc(',', out);
    audit_csv_field(out, r->reason);
    fputc(',', out);
    if (r->has_purged_before)
        fprintf(out, "%" PRIu64, r->purged_before);
    fputc(',', out);
    s_csv_hex(out, true, r->prev_hash);
    fputc(',', out);
    s_csv_hex(out, r->has_agreements_hash, r->agreements_hash);
    fputs("\r\n", out);
}

/* ------------------------------------------------------------------------
   Counter: open addressing, FNV-1a, load factor <= 1/2. Invariant: `slots`
   has `cap` entries (a power of two), `used` of them hold a key; `sorted`
   is NULL or a sorted copy of the used entries (dropped on every add). */

struct audit_counter_t {
    audit_count_t *slots;  /* hash table */
    size_t cap;            /* slots allocated (power of two) */
    size_t used;           /* slots with a key */
    audit_count_t *sorted; /* sorted view, or NULL */
};

static uint64_t s_fnv(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

audit_counter_t *audit_counter_new(void)
{
    audit_counter_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cap = 64;
    self->slots = calloc(self->cap, sizeof *self->slots);
    if (!self->slots) {
        free(self);
        return NULL;
    }
    return self;
}

void audit_counter_destroy(audit_counter_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    audit_counter_t *self = *self_p;
    for (size_t i = 0; i < self->cap; i++)
        free(self->slots[i].key);
    free(self->slots);
    free(self->sorted);
    free(self);
    *self_p = NULL;
}

static audit_count_t *s_slot(audit_count_t *slots, size_t cap, const char *key)
{
    size_t i = (size_t)s_fnv(key) & (cap - 1);
    while (slots[i].key && strcmp(slots[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

int audit_counter_add(audit_counter_t *self, const char *key, uint64_t n)
{
    char clean[AUDIT_COUNTER_KEY_MAX];
    snprintf(clean, sizeof clean, "%s", key);
    free(self->sorted);
    self->sorted = NULL;
    if ((self->used + 1) * 2 > self->cap) {
        size_t cap = self->cap * 2;
        audit_count_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < self->cap; i++)
            if (self->slots[i].key)
                *s_slot(slots, cap, self->slots[i].key) = self->slots[i];
        free(self->slots);
        self->slots = slots;
        self->cap = cap;
    }
    audit_count_t *slot = s_slot(self->slots, self->cap, clean);
    if (!slot->key) {
        slot->key = strdup(clean);
        if (!slot->key)
            return -1;
        slot->count = 0;
        self->used++;
    }
    slot->count += n;
    return 0;
}

uint64_t audit_counter_get(const audit_counter_t *self, const char *key)
{
    char clean[AUDIT_COUNTER_KEY_MAX];
    snprintf(clean, sizeof clean, "%s", key);
    const audit_count_t *slot = s_slot(self->slots, self->cap, clean);
    return slot->key ? slot->count : 0;
}

static int s_count_cmp(const void *a, const void *b)
{
    return strcmp(((const audit_count_t *)a)->key, ((const audit_count_t *)b)->key);
}

const audit_count_t *audit_counter_sorted(audit_counter_t *self, size_t *n)
{
    *n = 0;
    if (self->used == 0)
        return NULL;
    if (!self->sorted) {
        self->sorted = malloc(self->used * sizeof *self->sorted);
        if (!self->sorted)
            return NULL;
        size_t o = 0;
        for (size_t i = 0; i < self->cap; i++)
            if (self->slots[i].key)
                self->sorted[o++] = self->slots[i];
        qsort(self->sorted, o, sizeof *self->sorted, s_count_cmp);
    }
    *n = self->used;
    return self->sorted;
}

/* ------------------------------------------------------------------------
   Check */

int audit_read_check(audit_reader_t *self, const char *broker_cert, audit_check_t *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->checkpoint_size = -1;
    uint64_t purged = 0;
    if (audit_reader_size(self, &out->log_size, &purged, err, errlen) != 0)
        return -1;
    uint64_t latest = 0;
    if (audit_store_checkpoint_latest(self->store, &latest, NULL, 0, NULL, NULL) == 1)
        out->checkpoint_size = latest > INT64_MAX ? INT64_MAX : (int64_t)latest;
    if (out->checkpoint_size > 0 && (uint64_t)out->checkpoint_size > out->log_size) {
        out->truncated = true;
        out->missing = (uint64_t)out->checkpoint_size - out->log_size;
    }
    if (!broker_cert)
        return 0;
    cert_t cert;
    char why[AUDIT_READ_ERR_MAX];
    if (cert_load(broker_cert, &cert, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    if (cert.role != CERT_ROLE_BROKER && cert.role != CERT_ROLE_PSEUDONYM_SERVICE) {
        snprintf(err, errlen,
                 "%s is not the certificate of a log's signer (the broker, or the pseudonym "
                 "service for its own log; this one has role %s)",
                 broker_cert, cert_role_name(cert.role));
        return -1;
    }
    out->has_cert = true;
    cert_fingerprint(&cert, out->fingerprint);
    int rc = audit_verify(self->db, cert.sign_key, NULL, 0, &out->report);
    out->state = rc == 0 ? AUDIT_CHECK_OK : AUDIT_CHECK_FAULT;
    return 0;
}
