/*  control: the broker's local control socket, ipc://STATE_DIR/control.sock
    (mode 0600 in the broker's 0700 state directory, so only the broker's
    own user can use it), as the daemon has one (docs/daemon.md, "Control
    protocol"). A ROUTER served by the broker's loop between turns; each
    request is one multi-part message of strings, a command word followed
    by key=value options; each answer is "ok" and a payload, or "error",
    a code and a message. Read-only: no command changes the broker.

    Commands: status [format=json|text]  (hartslag broker status)

    Ownership: broker_control_t owns its socket and removes the socket file.
*/
#ifndef HARTSLAG_BROKER_CONTROL_H
#define HARTSLAG_BROKER_CONTROL_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#define BROKER_CONTROL_MSG_MAX 4096 /* a request: a command and a few options */
#define BROKER_CONTROL_SUN_PATH_MAX 107

typedef struct broker_control_t broker_control_t;

/* The answer to "status": a new string (caller frees), or NULL with the
   reason in `err`. */
typedef char *(broker_control_status_fn)(void *arg, bool json, char *err, size_t errlen);

/* Binds ipc://STATE_DIR/control.sock (a stale socket file is replaced).
   NULL with the reason in `err`. */
broker_control_t *broker_control_new(const char *state_dir, char *err, size_t errlen);
void broker_control_destroy(broker_control_t **self_p);

/* The socket to wait on. */
zsock_t *broker_control_socket(broker_control_t *self);

/* Answers every waiting request without blocking. */
void broker_control_serve(broker_control_t *self, broker_control_status_fn *status, void *arg);

#endif
