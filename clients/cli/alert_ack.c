/*  alert_ack: see alert_ack.h. */
#include "alert_ack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALERT_ACK_TIMEOUT_MS 20000 /* the daemon answers within 15 s, verdict or not */

int alert_ack_send(control_client_t *client, const char *alert_id, const char *lead)
{
    control_args_t args = {0};
    control_args_add(&args, "alert-ack", NULL);
    control_args_add(&args, "id", alert_id);
    control_args_add(&args, "lead", lead);
    /* The daemon answers once the broker has given its verdict. */
    zmsg_t *reply = control_client_request(client, &args, ALERT_ACK_TIMEOUT_MS);
    control_args_clear(&args);
    if (!reply)
        return 1;
    int rc = 1;
    char *status = zmsg_popstr(reply);
    char *what = status && strcmp(status, "ok") == 0 ? zmsg_popstr(reply) : NULL;
    if (what && strcmp(what, "handled") == 0) {
        printf("%s: marked handled, %s leads; the broker recorded it and tells the partners in "
               "the match\n",
               alert_id, lead);
        rc = 0;
    } else if (status && strcmp(status, "ok") == 0) {
        fprintf(stderr, "hartslag alerts: hartslagd sent the acknowledgement but did not wait for "
                        "the broker's verdict (is hartslagd older than this CLI?); check "
                        "'hartslag alerts' for the state\n");
    } else {
        zmsg_pushstr(reply, status ? status : "error");
        rc = control_client_print_error(client, reply);
    }
    free(what);
    free(status);
    zmsg_destroy(&reply);
    return rc;
}
