/*  daemon: hartslagd, the partner daemon. One event-loop thread around two
    sockets: a DEALER to the broker (CURVE client) and a ROUTER on the local
    control socket (STATE_DIR/control.sock, mode 0600) through which the
    `hartslag` CLI sends, lists and withdraws signals. See docs/daemon.md.
*/
#ifndef HARTSLAG_DAEMON_H
#define HARTSLAG_DAEMON_H

#include <stddef.h>

#define DAEMON_VERSION "0.1.0"
#define DAEMON_PATH_MAX 4096

/* Everything the daemon needs, resolved from configuration and flags. */
typedef struct {
    char org[64];                                 /* our org id */
    char keys[DAEMON_PATH_MAX];                   /* secret key file */
    char broker[512];                             /* broker endpoint */
    char broker_cert[DAEMON_PATH_MAX];            /* broker public certificate */
    char certificates[DAEMON_PATH_MAX];           /* partner certificate directory */
    char agreements[DAEMON_PATH_MAX];             /* agreements file */
    char pseudonym_service[512];                  /* pseudonym service endpoint */
    char pseudonym_service_cert[DAEMON_PATH_MAX]; /* its certificate */
    char state_dir[DAEMON_PATH_MAX];              /* state directory */
    char hook[DAEMON_PATH_MAX];                   /* hook command, "" = none */
    unsigned hook_timeout;                        /* seconds */
    unsigned retention_check;                     /* seconds between purges */
} daemon_settings_t;

typedef struct daemon_t daemon_t;

/* Loads keys, certificates, agreements and the pseudonym service's
   certificate, opens the
   store and binds the control socket. NULL with the reason in `err`. */
daemon_t *daemon_new(const daemon_settings_t *settings, char *err, size_t errlen);

/* Runs until SIGINT/SIGTERM. SIGHUP reloads certificates and agreements.
   Returns 0 on a clean stop, -1 on a fatal error (logged). */
int daemon_run(daemon_t *self);

/* Closes everything, wipes keys; nulls the pointer. */
void daemon_destroy(daemon_t **self_p);

#endif
