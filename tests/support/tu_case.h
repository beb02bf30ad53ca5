/*  tu_case: the steps of a case conference as the integration tests take
    them through real daemons and the `hartslag case` CLI (issue 15). Each
    helper asserts (Criterion) and waits at most about ten seconds for what
    it expects, so a test reads as the story it tells. */
#ifndef HARTSLAG_TU_CASE_H
#define HARTSLAG_TU_CASE_H

#include "broker_harness.h"
#include "daemon_harness.h"

#include <stdbool.h>

/* A case conference's partnership: gemeente (the coordinator), politie,
   welzijn, woonpunt, and a started broker with `yaml` as its agreements. */
#define TU_CASE_PARTNERS 4
bh_t *tu_case_broker(const char *yaml);
/* Each partner's daemon, started in that order in daemons[0..3];
   gemeente's gets `coordinator_line` in its config (e.g. a hook), or
   nothing. */
void tu_case_daemons(bh_t *bh, const char *coordinator_line, dh_t *daemons[TU_CASE_PARTNERS]);
/* Stops and removes the daemons and the broker. */
void tu_case_partnership_end(bh_t **bh, dh_t *daemons[TU_CASE_PARTNERS]);

/* `hartslag case show ID` (--json when `json`) as `daemon`, once `needle`
   is in it. The caller frees. */
char *tu_case_show_until(dh_t *daemon, const char *case_id, bool json, const char *needle);

/* `hartslag case ARGS...` as `daemon` (args NULL-terminated, at most 11):
   the exit code, with stdout and stderr joined in *text (the caller
   frees). */
int tu_case_run(dh_t *daemon, char **text, const char *const *args);
#define TU_CASE(daemon, text, ...)                                                                 \
    tu_case_run(daemon, text, (const char *const[]){__VA_ARGS__, NULL})

/* `sender` signals `type` about `bsn` to `coordinator` (purpose
   casusoverleg, field datum); its signal id once the coordinator holds
   `inbox_count` signals. */
void tu_case_signal(dh_t *sender, dh_t *coordinator, const char *type, const char *bsn,
                    int inbox_count, char id[33]);

/* The coordinator opens a case from the signal `signal_id` in its inbox,
   inviting `invite` (or nobody) with `title` (or none), as "regisseur 1".
   The case id. */
void tu_case_open(dh_t *coordinator, const char *signal_id, const char *invite, const char *title,
                  char case_id[40]);

/* `partner` (org `org`) accepts its invitation once it holds it, and the
   coordinator then sees it taking part. */
void tu_case_join(dh_t *partner, dh_t *coordinator, const char *org, const char *case_id);

/* The coordinator's `alerts --json` once it holds an alert (caller frees). */
char *tu_case_alerts(dh_t *coordinator);

#endif
