/*  alert_ack: marking a multi-agency alert handled (afgestemd) through the
    daemon, waiting for the broker's verdict. Shared by `hartslag alerts
    ack` and `hartslag case open --from-alert ID --lead ORG`, which marks
    the alert handled once the case it opened was recorded. */
#ifndef HARTSLAG_CLI_ALERT_ACK_H
#define HARTSLAG_CLI_ALERT_ACK_H

#include "control_client.h"

/* Asks the daemon behind `client` to mark `alert_id` handled with `lead`
   leading; prints the verdict (stdout on success, stderr otherwise).
   0 only when the broker confirmed it; 1 otherwise. */
int alert_ack_send(control_client_t *client, const char *alert_id, const char *lead);

#endif
