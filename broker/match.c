/*  match: blind multi-agency matching; see match.h. */
#include "match.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define MEMBERS_MAX (MATCH_PARTICIPANTS_MAX * 34)

static const char *s_schema =
    /* A rowid table: appending is cheap, and the one index is the one the
       matching reads. A withdrawal finds its row through the subject. */
    "CREATE TABLE IF NOT EXISTS match_index("
    "  signal_id BLOB NOT NULL,"
    "  subject BLOB NOT NULL,"
    "  sender TEXT NOT NULL,"
    "  signal_type TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  valid_until INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS match_by_subject ON match_index(subject, at_ms);"
    "CREATE TABLE IF NOT EXISTS match_state("
    "  rule_id TEXT NOT NULL,"
    "  subject BLOB NOT NULL,"
    "  members TEXT NOT NULL,"
    "  PRIMARY KEY(rule_id, subject)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS alerts("
    "  alert_id BLOB PRIMARY KEY,"
    "  rule_id TEXT NOT NULL,"
    "  subject BLOB NOT NULL,"
    "  raised_ms INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"
    "  lead_org TEXT,"
    "  handled_ms INTEGER) WITHOUT ROWID;";

enum {
    ST_INDEX_PUT,
    ST_WINDOW,
    ST_MEMBERS_GET,
    ST_MEMBERS_PUT,
    ST_ALERT_PUT,
    ST_ALERT_GET,
    ST_ALERT_HANDLE,
    ST_WITHDRAW,
    ST_PRUNE,
    ST_COUNT,
    ST_COUNT_
};

static const char *s_sql[ST_COUNT_] = {
    [ST_INDEX_PUT] = "INSERT INTO match_index(signal_id, subject, sender, signal_type, "
                     "at_ms, valid_until) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_WINDOW] = "SELECT sender, signal_type, at_ms, signal_id FROM match_index "
                  "WHERE subject=?1 AND at_ms>=?2 AND valid_until>?3 ORDER BY at_ms DESC",
    [ST_MEMBERS_GET] = "SELECT members FROM match_state WHERE rule_id=?1 AND subject=?2",
    [ST_MEMBERS_PUT] = "INSERT OR REPLACE INTO match_state(rule_id, subject, members) "
                       "VALUES(?1, ?2, ?3)",
    [ST_ALERT_PUT] = "INSERT INTO alerts(alert_id, rule_id, subject, raised_ms, state) "
                     "VALUES(?1, ?2, ?3, ?4, 'open')",
    [ST_ALERT_GET] = "SELECT rule_id, subject, raised_ms FROM alerts WHERE alert_id=?1",
    [ST_ALERT_HANDLE] = "UPDATE alerts SET state='handled', lead_org=?2, handled_ms=?3 "
                        "WHERE alert_id=?1",
    [ST_WITHDRAW] = "DELETE FROM match_index WHERE subject=?2 AND signal_id=?1",
    [ST_PRUNE] = "DELETE FROM match_index WHERE valid_until<=?1 OR at_ms<?2",
    [ST_COUNT] = "SELECT count(*) FROM match_index",
};

/*  Invariant: every statement is prepared against `db` and reset after use. */
struct match_t {
    sqlite3 *db;                 /* borrowed */
    sqlite3_stmt *st[ST_COUNT_]; /* prepared once */
};

static void s_reset(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

static int s_done(match_t *self, int st)
{
    int rc = sqlite3_step(self->st[st]);
    s_reset(self->st[st]);
    return rc == SQLITE_DONE ? 0 : -1;
}

match_t *match_open(sqlite3 *db, char *err, size_t errlen)
{
    match_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->db = db;
    if (sqlite3_exec(db, s_schema, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot create the match index: %s", sqlite3_errmsg(db));
        match_destroy(&self);
        return NULL;
    }
    for (int i = 0; i < ST_COUNT_; i++)
        if (sqlite3_prepare_v3(db, s_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &self->st[i], NULL) !=
            SQLITE_OK) {
            snprintf(err, errlen, "cannot prepare the match index: %s", sqlite3_errmsg(db));
            match_destroy(&self);
            return NULL;
        }
    return self;
}

void match_destroy(match_t **self_p)
{
    if (self_p && *self_p) {
        for (int i = 0; i < ST_COUNT_; i++)
            sqlite3_finalize((*self_p)->st[i]);
        free(*self_p);
        *self_p = NULL;
    }
}

/* The participants of the match on `subject` under `rule` as of now_ms. */
static int s_gather(match_t *self, const agreements_alert_rule_t *rule, const uint8_t subject[32],
                    int64_t now_ms, match_alert_t *alert)
{
    alert->n_participants = 0;
    sqlite3_stmt *stmt = self->st[ST_WINDOW];
    sqlite3_bind_blob(stmt, 1, subject, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, now_ms - (int64_t)rule->window_days * DAY_MS);
    sqlite3_bind_int64(stmt, 3, now_ms);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *sender = (const char *)sqlite3_column_text(stmt, 0);
        const char *type = (const char *)sqlite3_column_text(stmt, 1);
        int64_t at = sqlite3_column_int64(stmt, 2);
        if (!sender || !type || sqlite3_column_bytes(stmt, 3) != 16 ||
            !agreements_alert_covers(rule, type, strlen(type)))
            continue;
        match_participant_t *p = NULL;
        for (size_t i = 0; i < alert->n_participants && !p; i++)
            if (strcmp(alert->participants[i].org, sender) == 0)
                p = &alert->participants[i];
        if (!p) {
            if (alert->n_participants == MATCH_PARTICIPANTS_MAX)
                continue;
            p = &alert->participants[alert->n_participants++];
            memset(p, 0, sizeof *p);
            snprintf(p->org, sizeof p->org, "%s", sender);
            p->first_ms = p->last_ms = at;
        }
        if (at < p->first_ms)
            p->first_ms = at;
        if (at > p->last_ms)
            p->last_ms = at;
        bool known = false;
        for (size_t t = 0; t < p->n_types && !known; t++)
            known = strcmp(p->types[t], type) == 0;
        if (!known && p->n_types < MATCH_TYPES_MAX)
            snprintf(p->types[p->n_types++], sizeof p->types[0], "%s", type);
        if (p->n_ids < MATCH_IDS_MAX)
            memcpy(p->ids[p->n_ids++], sqlite3_column_blob(stmt, 3), 16);
    }
    s_reset(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Is `org` in the comma-separated list `members`? */
static bool s_member(const char *members, const char *org)
{
    size_t len = strlen(org);
    for (const char *p = members; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == len && memcmp(p, org, len) == 0)
            return true;
        p += n + (comma ? 1 : 0);
    }
    return false;
}

int match_signal(match_t *self, const agreements_t *agreements, const uint8_t signal_id[16],
                 const uint8_t subject[32], const char *sender, const char *signal_type,
                 int64_t at_ms, int64_t valid_until_ms, match_alert_fn *fn, void *arg)
{
    sqlite3_stmt *put = self->st[ST_INDEX_PUT];
    sqlite3_bind_blob(put, 1, signal_id, 16, SQLITE_STATIC);
    sqlite3_bind_blob(put, 2, subject, 32, SQLITE_STATIC);
    sqlite3_bind_text(put, 3, sender, -1, SQLITE_STATIC);
    sqlite3_bind_text(put, 4, signal_type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(put, 5, at_ms);
    sqlite3_bind_int64(put, 6, valid_until_ms);
    if (s_done(self, ST_INDEX_PUT) != 0)
        return -1;
    match_alert_t *alert = NULL;
    int result = 0;
    for (size_t r = 0; r < agreements_alert_count(agreements) && result == 0; r++) {
        const agreements_alert_rule_t *rule = agreements_alert(agreements, r);
        if (!agreements_alert_covers(rule, signal_type, strlen(signal_type)))
            continue;
        if (!alert && !(alert = calloc(1, sizeof *alert)))
            return -1;
        if (s_gather(self, rule, subject, at_ms, alert) != 0) {
            result = -1;
            break;
        }
        if (alert->n_participants < rule->distinct_senders)
            continue;
        /* Already alerted about this partner in this match: nothing new. */
        char members[MEMBERS_MAX] = "";
        sqlite3_stmt *get = self->st[ST_MEMBERS_GET];
        sqlite3_bind_text(get, 1, rule->id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(get, 2, subject, 32, SQLITE_STATIC);
        int rc = sqlite3_step(get);
        if (rc == SQLITE_ROW && sqlite3_column_text(get, 0))
            snprintf(members, sizeof members, "%s", (const char *)sqlite3_column_text(get, 0));
        s_reset(get);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            result = -1;
            break;
        }
        if (s_member(members, sender))
            continue;
        /* A partner joins: remember everyone now in the match, raise one alert. */
        size_t pos = strlen(members);
        for (size_t i = 0; i < alert->n_participants; i++)
            if (!s_member(members, alert->participants[i].org) && pos + 34 < sizeof members)
                pos += (size_t)snprintf(members + pos, sizeof members - pos, "%s%s", pos ? "," : "",
                                        alert->participants[i].org);
        sqlite3_stmt *set = self->st[ST_MEMBERS_PUT];
        sqlite3_bind_text(set, 1, rule->id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(set, 2, subject, 32, SQLITE_STATIC);
        sqlite3_bind_text(set, 3, members, -1, SQLITE_STATIC);
        if (s_done(self, ST_MEMBERS_PUT) != 0) {
            result = -1;
            break;
        }
        randombytes_buf(alert->alert_id, sizeof alert->alert_id);
        alert->rule = rule;
        memcpy(alert->subject, subject, 32);
        alert->joined = sender;
        alert->raised_ms = at_ms;
        sqlite3_stmt *add = self->st[ST_ALERT_PUT];
        sqlite3_bind_blob(add, 1, alert->alert_id, 16, SQLITE_STATIC);
        sqlite3_bind_text(add, 2, rule->id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(add, 3, subject, 32, SQLITE_STATIC);
        sqlite3_bind_int64(add, 4, at_ms);
        if (s_done(self, ST_ALERT_PUT) != 0) {
            result = -1;
            break;
        }
        fn(arg, alert);
    }
    free(alert);
    return result;
}

int match_withdraw(match_t *self, const uint8_t signal_id[16], const uint8_t subject[32])
{
    sqlite3_bind_blob(self->st[ST_WITHDRAW], 1, signal_id, 16, SQLITE_STATIC);
    sqlite3_bind_blob(self->st[ST_WITHDRAW], 2, subject, 32, SQLITE_STATIC);
    return s_done(self, ST_WITHDRAW);
}

int match_prune(match_t *self, const agreements_t *agreements, int64_t now_ms)
{
    uint32_t widest = 0;
    for (size_t r = 0; r < agreements_alert_count(agreements); r++)
        if (agreements_alert(agreements, r)->window_days > widest)
            widest = agreements_alert(agreements, r)->window_days;
    sqlite3_bind_int64(self->st[ST_PRUNE], 1, now_ms);
    sqlite3_bind_int64(self->st[ST_PRUNE], 2, now_ms - (int64_t)widest * DAY_MS);
    return s_done(self, ST_PRUNE);
}

int match_lookup(match_t *self, const agreements_t *agreements, const uint8_t alert_id[16],
                 int64_t now_ms, match_alert_t *alert)
{
    sqlite3_stmt *get = self->st[ST_ALERT_GET];
    sqlite3_bind_blob(get, 1, alert_id, 16, SQLITE_STATIC);
    int rc = sqlite3_step(get);
    if (rc != SQLITE_ROW) {
        s_reset(get);
        return rc == SQLITE_DONE ? 0 : -1;
    }
    memset(alert, 0, sizeof *alert);
    memcpy(alert->alert_id, alert_id, 16);
    const char *rule_id = (const char *)sqlite3_column_text(get, 0);
    for (size_t r = 0; rule_id && r < agreements_alert_count(agreements); r++)
        if (strcmp(agreements_alert(agreements, r)->id, rule_id) == 0)
            alert->rule = agreements_alert(agreements, r);
    if (sqlite3_column_bytes(get, 1) == 32)
        memcpy(alert->subject, sqlite3_column_blob(get, 1), 32);
    alert->raised_ms = sqlite3_column_int64(get, 2);
    s_reset(get);
    if (!alert->rule)
        return 0; /* the rule is gone from the agreements: nothing to coordinate under */
    return s_gather(self, alert->rule, alert->subject, now_ms, alert) == 0 ? 1 : -1;
}

int match_mark_handled(match_t *self, const uint8_t alert_id[16], const char *lead, int64_t now_ms)
{
    sqlite3_stmt *set = self->st[ST_ALERT_HANDLE];
    sqlite3_bind_blob(set, 1, alert_id, 16, SQLITE_STATIC);
    sqlite3_bind_text(set, 2, lead, -1, SQLITE_STATIC);
    sqlite3_bind_int64(set, 3, now_ms);
    return s_done(self, ST_ALERT_HANDLE);
}

int64_t match_index_size(match_t *self)
{
    sqlite3_stmt *stmt = self->st[ST_COUNT];
    int64_t n = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    s_reset(stmt);
    return n;
}
