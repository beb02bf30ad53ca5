/*  store: hartslag-pseudonymd's database file (issue 17), spoken to
    through lib/db.h only: its own audit log (lib/audit_log: a Merkle
    transparency log with signed checkpoints, the same format as the
    broker's, origin "hartslag-pseudonymd/<org>") and the limit alerts it
    owes the coordinator.

    One record per request: event pseudonym_evaluated or pseudonym_refused,
    the client's org (as its key authenticated it), purpose, how many
    elements, outcome and reason. Never an element, a request id or
    anything derived from an identifier: the service's file is safe to hand
    to an auditor.

        limit_alerts(alert_id, time_ms, client_org, limit_name, allowed,
                     audit_index, acked_ms)

    An alert is written in the same transaction as the refusal that raised
    it, and stays until the coordinator acknowledges it.

    Transactions are the caller's: store_begin, writes, store_commit (or
    store_rollback). Audit before answer: the loop replies only after the
    commit.

    Ownership: store_t owns the connection and the audit log.
*/
#ifndef HARTSLAG_PSEUDONYMD_STORE_H
#define HARTSLAG_PSEUDONYMD_STORE_H

#include "names.h"
#include "request.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store_t store_t;

/* One audit record's content. */
typedef struct {
    int64_t time_ms;         /* service clock */
    const char *event;       /* pseudonym_evaluated, pseudonym_refused, ... */
    const char *actor;       /* client org (or the service's own org) */
    const char *purpose;     /* as asked, or NULL */
    uint32_t count;          /* elements */
    bool ok;                 /* outcome ok / refused */
    const char *reason;      /* refusal code, or NULL */
    const char *counterpart; /* e.g. the coordinator an alert went to, or NULL */
} store_event_t;

/* A limit alert as stored. */
typedef struct {
    uint8_t alert_id[PSD_ALERT_ID_BYTES];
    int64_t time_ms;
    char client_org[NAMES_ORG_MAX + 1];
    char limit[16];
    uint32_t allowed;
    uint64_t audit_index;
} store_alert_t;

/* Opens (creating) the file, mode 0600. NULL with the reason. */
store_t *store_open(const char *path, const char *service_org, char *err, size_t errlen);
void store_destroy(store_t **self_p);

int store_begin(store_t *self);
int store_commit(store_t *self);
void store_rollback(store_t *self);

/* Appends one audit record; its index, or -1. */
int64_t store_audit(store_t *self, const store_event_t *event);

/* Signs a checkpoint when records were added since the last one. */
int store_checkpoint(store_t *self, const uint8_t sign_sk[64], int64_t now_ms);
uint64_t store_audit_size(const store_t *self);

/* Limit alerts. */
int store_alert_add(store_t *self, const store_alert_t *alert);
/* Marks `alert_id` acknowledged: 1 when it was pending, 0 when unknown or
   already acked, -1 on error. */
int store_alert_ack(store_t *self, const uint8_t alert_id[PSD_ALERT_ID_BYTES], int64_t now_ms);
/* The pending alerts, oldest first: up to `max` into `out`; their count. */
size_t store_alerts_pending(store_t *self, store_alert_t *out, size_t max);

/* The audit log's origin for the service of `org`. */
void store_origin(const char *org, char *out, size_t outlen);

#endif
