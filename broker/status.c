/*  status: the operator's view of the running broker; see status.h. */
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Per partner, from the database. */
typedef struct {
    int64_t queued;        /* pending deliveries */
    int64_t oldest_ms;     /* acceptance time of the oldest, 0 when none */
    int64_t last_cosigned; /* size of the latest checkpoint it cosigned, -1 when none */
    bool cosigned_latest;  /* it cosigned the latest checkpoint */
} partner_db_t;

/* What the database says beyond the partners. */
typedef struct {
    int64_t alerts_open;     /* alerts not yet handled */
    int64_t checkpoint_size; /* latest checkpoint, -1 when none */
    int64_t checkpoint_ms;   /* when it was made */
} broker_db_t;

static void s_time(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || !gmtime_r(&secs, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "-");
}

static int s_read(broker_store_t *store, audit_store_t *audit, const status_snapshot_t *snap,
                  partner_db_t *parts, broker_db_t *broker, char *err, size_t errlen)
{
    broker->alerts_open = broker_store_alerts_open(store);
    if (broker->alerts_open < 0) {
        snprintf(err, errlen, "cannot read the broker's database: %s", broker_store_error(store));
        return -1;
    }
    uint64_t size = 0;
    int64_t made_ms = 0;
    int found = audit_store_checkpoint_latest(audit, &size, NULL, 0, NULL, &made_ms);
    if (found < 0) {
        snprintf(err, errlen, "cannot read the audit log's checkpoints");
        return -1;
    }
    broker->checkpoint_size = found ? (int64_t)size : -1;
    broker->checkpoint_ms = found ? made_ms : 0;
    for (size_t i = 0; i < snap->n_partners; i++) {
        const char *org = snap->partners[i].org;
        if (broker_store_backlog(store, org, &parts[i].queued, &parts[i].oldest_ms) != 0) {
            snprintf(err, errlen, "cannot read the broker's database: %s",
                     broker_store_error(store));
            return -1;
        }
        uint64_t cosigned = 0;
        found = audit_store_cosignature_max(audit, org, &cosigned);
        if (found < 0) {
            snprintf(err, errlen, "cannot read the audit log's cosignatures");
            return -1;
        }
        parts[i].last_cosigned = found ? (int64_t)cosigned : -1;
        parts[i].cosigned_latest =
            broker->checkpoint_size >= 0 && parts[i].last_cosigned == broker->checkpoint_size;
    }
    return 0;
}

static void s_json(FILE *out, const status_snapshot_t *snap, const partner_db_t *parts,
                   const broker_db_t *broker)
{
    char t[32];
    s_time(snap->started_ms, t);
    /* Orgs are [a-z0-9-] (names.h) and the endpoint a ZeroMQ endpoint:
       nothing in them needs escaping but a quote or backslash, refused
       by the config reader. */
    fprintf(out, "{\"running\":true,\"endpoint\":\"%s\",\"started_at\":\"%s\",", snap->endpoint, t);
    s_time(snap->active_since_ms, t);
    /* the name is [A-Za-z0-9 .-] (broker/active.c keeps it so) */
    fprintf(out,
            "\"role\":\"active\",\"store\":\"%s\",\"active_name\":\"%s\",\"active_since\":\"%s\",",
            snap->store_backend ? snap->store_backend : "sqlite",
            snap->active_name ? snap->active_name : "", snap->active_since_ms > 0 ? t : "-");
    fprintf(out, "\"agreements_version\":%llu,\"audit_records\":%llu,\"alerts_open\":%lld,",
            (unsigned long long)snap->agreements_version, (unsigned long long)snap->audit_records,
            (long long)broker->alerts_open);
    /* hex digits only */
    if (snap->agreements_hash)
        fprintf(out, "\"agreements_hash\":\"%s\",", snap->agreements_hash);
    else
        fprintf(out, "\"agreements_hash\":null,");
    if (broker->checkpoint_size < 0) {
        fprintf(out, "\"checkpoint\":null,");
    } else {
        s_time(broker->checkpoint_ms, t);
        fprintf(out, "\"checkpoint\":{\"size\":%lld,\"made_at\":\"%s\",\"cosigned_by\":[",
                (long long)broker->checkpoint_size, t);
        bool first = true;
        for (size_t i = 0; i < snap->n_partners; i++)
            if (parts[i].cosigned_latest) {
                fprintf(out, "%s\"%s\"", first ? "" : ",", snap->partners[i].org);
                first = false;
            }
        fprintf(out, "]},");
    }
    fprintf(out, "\"partners\":[");
    for (size_t i = 0; i < snap->n_partners; i++) {
        const status_partner_t *p = &snap->partners[i];
        fprintf(out, "%s{\"org\":\"%s\",\"connected\":%s,", i ? "," : "", p->org,
                p->connected ? "true" : "false");
        if (p->connected) {
            s_time(p->connected_ms, t);
            fprintf(out, "\"connected_since\":\"%s\",", t);
        } else
            fprintf(out, "\"connected_since\":null,");
        fprintf(out, "\"queued\":%lld,\"unacknowledged\":%u,", (long long)parts[i].queued,
                p->inflight);
        if (parts[i].queued > 0) {
            s_time(parts[i].oldest_ms, t);
            fprintf(out, "\"oldest_queued_at\":\"%s\",", t);
        } else
            fprintf(out, "\"oldest_queued_at\":null,");
        if (parts[i].last_cosigned >= 0)
            fprintf(out, "\"last_cosigned_size\":%lld}", (long long)parts[i].last_cosigned);
        else
            fprintf(out, "\"last_cosigned_size\":null}");
    }
    fprintf(out, "]}");
}

static void s_text(FILE *out, const status_snapshot_t *snap, const partner_db_t *parts,
                   const broker_db_t *broker)
{
    char t[32];
    s_time(snap->started_ms, t);
    fprintf(out, "broker       running on %s since %s\n", snap->endpoint, t);
    if (snap->active_since_ms > 0) {
        s_time(snap->active_since_ms, t);
        fprintf(out, "role         active (holds the store's lock as '%s' since %s)\n",
                snap->active_name ? snap->active_name : "?", t);
    } else {
        fprintf(out, "role         active (the only broker of a %s store)\n",
                snap->store_backend ? snap->store_backend : "sqlite");
    }
    fprintf(out, "agreements   version %llu", (unsigned long long)snap->agreements_version);
    if (snap->agreements_hash)
        fprintf(out, ", sha256 %s", snap->agreements_hash);
    fputc('\n', out);
    fprintf(out, "alerts open  %lld\n", (long long)broker->alerts_open);
    if (broker->checkpoint_size < 0) {
        fprintf(out, "checkpoint   none yet (%llu audit records)\n",
                (unsigned long long)snap->audit_records);
    } else {
        s_time(broker->checkpoint_ms, t);
        fprintf(out, "checkpoint   %lld records, made %s, cosigned by:",
                (long long)broker->checkpoint_size, t);
        size_t n = 0;
        for (size_t i = 0; i < snap->n_partners; i++)
            if (parts[i].cosigned_latest) {
                fprintf(out, " %s", snap->partners[i].org);
                n++;
            }
        fprintf(out, "%s\n", n ? "" : " nobody yet");
    }
    fprintf(out, "partners     %zu\n", snap->n_partners);
    for (size_t i = 0; i < snap->n_partners; i++) {
        const status_partner_t *p = &snap->partners[i];
        if (p->connected) {
            s_time(p->connected_ms, t);
            fprintf(out, "  %-24s connected since %s", p->org, t);
        } else
            fprintf(out, "  %-24s NOT CONNECTED", p->org);
        fprintf(out, ", %lld queued", (long long)parts[i].queued);
        if (parts[i].queued > 0) {
            s_time(parts[i].oldest_ms, t);
            fprintf(out, " (oldest %s)", t);
        }
        if (p->inflight)
            fprintf(out, ", %u unacknowledged", p->inflight);
        fprintf(out, "\n");
    }
}

char *status_render(broker_store_t *store, audit_store_t *audit, const status_snapshot_t *snap,
                    bool json, char *err, size_t errlen)
{
    partner_db_t *parts = calloc(snap->n_partners ? snap->n_partners : 1, sizeof *parts);
    broker_db_t broker = {0};
    if (!parts) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (s_read(store, audit, snap, parts, &broker, err, errlen) != 0) {
        free(parts);
        return NULL;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out) {
        free(parts);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (json)
        s_json(out, snap, parts, &broker);
    else
        s_text(out, snap, parts, &broker);
    fclose(out);
    free(parts);
    return text;
}
