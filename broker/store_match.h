/*  store_match: the tables of the alert match index (broker/match.h keeps
    the matching itself), in the broker's store and the caller's
    transaction:

        match_index(signal_id, subject, sender, signal_type, at_ms, valid_until)
        match_state(rule_id, subject, members)     partners already alerted about
        alerts(alert_id, rule_id, subject, raised_ms, state, lead_org, handled_ms)

    Metadata only, never content, never an identity: the subject is a
    pseudonym. One insert per accepted signal; the window read is one
    indexed range over that subject's rows.
*/
#ifndef HARTSLAG_BROKER_STORE_MATCH_H
#define HARTSLAG_BROKER_STORE_MATCH_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* Adds an accepted signal to the index. 0 or -1. */
int broker_store_match_add(broker_store_t *self, const uint8_t signal_id[16],
                           const uint8_t subject[32], const char *sender, const char *signal_type,
                           int64_t at_ms, int64_t valid_until_ms);

/* Calls `fn` for each indexed signal about `subject` made at or after
   `since_ms` and still valid at `now_ms`, newest first. Rows that are not
   well-formed are skipped. 0 or -1. */
typedef void(broker_store_match_fn)(void *arg, const char *sender, const char *signal_type,
                                    int64_t at_ms, const uint8_t signal_id[16]);
int broker_store_match_window(broker_store_t *self, const uint8_t subject[32], int64_t since_ms,
                              int64_t now_ms, broker_store_match_fn *fn, void *arg);

/* The partners already alerted about in the match of `rule_id` on
   `subject` (comma-separated, into `members`): 1, 0 when none (members
   ""), -1 on error. */
int broker_store_match_members(broker_store_t *self, const char *rule_id, const uint8_t subject[32],
                               char *members, size_t len);

/* Replaces that list. 0 or -1. */
int broker_store_match_members_set(broker_store_t *self, const char *rule_id,
                                   const uint8_t subject[32], const char *members);

/* A withdrawn signal leaves the index. 0 or -1. */
int broker_store_match_withdraw(broker_store_t *self, const uint8_t signal_id[16],
                                const uint8_t subject[32]);

/* Drops the signals lapsed at `now_ms` or made before `oldest_ms`. 0 or -1. */
int broker_store_match_prune(broker_store_t *self, int64_t now_ms, int64_t oldest_ms);

/* Signals in the index, or -1. */
int64_t broker_store_match_count(broker_store_t *self);

/* Records a raised alert (state open). 0 or -1. */
int broker_store_alert_add(broker_store_t *self, const uint8_t alert_id[16], const char *rule_id,
                           const uint8_t subject[32], int64_t raised_ms);

/* An alert: 1 with its rule id (*rule_id malloc'd, caller frees), subject
   and time raised, 0 when unknown, -1 on error. */
int broker_store_alert_find(broker_store_t *self, const uint8_t alert_id[16], char **rule_id,
                            uint8_t subject[32], int64_t *raised_ms);

/* The coordinator handles it, with `lead` leading. 0 or -1. */
int broker_store_alert_handled(broker_store_t *self, const uint8_t alert_id[16], const char *lead,
                               int64_t now_ms);

/* Alerts not yet handled, or -1. */
int64_t broker_store_alerts_open(broker_store_t *self);

#endif
