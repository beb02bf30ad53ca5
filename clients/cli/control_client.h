/*  control_client: the CLI's side of the daemon's control socket
    (docs/daemon.md, "Control protocol"). A DEALER connected to
    ipc://STATE_DIR/control.sock; requests are a command word and
    key=value strings; replies start with "ok", "error", "denied" or, for
    streamed lists, "item".

    Finding the daemon, in order: --state-dir DIR, --config FILE (the
    daemon's own configuration; its state_dir is used), $HARTSLAG_CONFIG,
    $HARTSLAG_STATE_DIR.
*/
#ifndef HARTSLAG_CLI_CONTROL_CLIENT_H
#define HARTSLAG_CLI_CONTROL_CLIENT_H

#include <czmq.h>
#include <stdbool.h>

#define CONTROL_CLIENT_TIMEOUT_MS 10000 /* a daemon answers within this */

typedef struct control_client_t control_client_t;

/* Connects to the daemon found from `state_dir` / `config` / the
   environment. Prints what is wrong and what to do, prefixed with
   "hartslag CMD: ", and returns NULL when it cannot. */
control_client_t *control_client_open(const char *cmd, const char *config, const char *state_dir);

/* Connects to the control socket in state directory `dir` of `program`
   (hartslagd, hartslag-broker: named in the messages). As above. */
control_client_t *control_client_open_dir(const char *cmd, const char *dir, const char *program);

void control_client_destroy(control_client_t **self_p);

/* Sends a request: `argv` is the command word and options, `argc` of them.
   0 / -1. */
int control_client_send(control_client_t *self, const char *const *argv, size_t argc);

/* Waits up to `timeout_ms` for the next reply message; NULL on timeout or
   interrupt. The caller destroys it. */
zmsg_t *control_client_recv(control_client_t *self, int timeout_ms);

/* One request, one reply (CONTROL_CLIENT_TIMEOUT_MS, or `timeout_ms` when
   larger). Prints a timeout message and returns NULL when none came. */
zmsg_t *control_client_call(control_client_t *self, const char *const *argv, size_t argc,
                            int timeout_ms);

/* Prints an "error" reply as "hartslag CMD: message" on stderr and
   returns the exit code for it (2 for usage errors, else 1). */
int control_client_print_error(control_client_t *self, zmsg_t *reply);

/* The command name given to open (for messages). */
const char *control_client_cmd(const control_client_t *self);

/* The control socket path (for messages). */
const char *control_client_path(const control_client_t *self);

/* A request being built: the command word, then "key=value" strings.
   Wiped on clear: a send request holds content and the subject's id. */
#define CONTROL_ARGS_MAX 256
typedef struct {
    char *items[CONTROL_ARGS_MAX]; /* owned strings */
    size_t n;                      /* how many */
    bool failed;                   /* out of memory or too many */
} control_args_t;

/* Adds the command word (value NULL) or "key=value". */
void control_args_add(control_args_t *args, const char *key, const char *value);
void control_args_clear(control_args_t *args);

/* Sends `args` and waits for one reply, as control_client_call. NULL also
   when the args could not be built. */
zmsg_t *control_client_request(control_client_t *self, const control_args_t *args, int timeout_ms);

/* Common long options of every daemon command (append to a getopt table):
   --config FILE, --state-dir DIR. */
#define CONTROL_CLIENT_OPT_CONFIG 0x1001
#define CONTROL_CLIENT_OPT_STATE_DIR 0x1002
#define CONTROL_CLIENT_OPTIONS                                                                     \
    {"config", required_argument, NULL, CONTROL_CLIENT_OPT_CONFIG},                                \
    {                                                                                              \
        "state-dir", required_argument, NULL, CONTROL_CLIENT_OPT_STATE_DIR                         \
    }

/* What the plain daemon commands take (alerts, show, status, watch):
   --json, --help, --config FILE, --state-dir DIR. */
typedef struct {
    const char *config;    /* --config, or NULL */
    const char *state_dir; /* --state-dir, or NULL */
    bool json;             /* --json */
} control_options_t;

/* Parses those options of `argv` (getopt_long from the start; optind is
   left at the first operand). --help prints `usage` on stdout; a bad option
   prints "try 'hartslag CMD --help'" on stderr. Returns -1 to go on, else
   the exit code the command must return (0 after --help, 2 after a bad
   option). */
int control_client_options(int argc, char **argv, const char *cmd, const char *usage,
                           control_options_t *out);

#define CONTROL_CLIENT_USAGE                                                                       \
    "  --config FILE      the daemon's configuration (or $HARTSLAG_CONFIG)\n"                      \
    "  --state-dir DIR    the daemon's state_dir (or $HARTSLAG_STATE_DIR)\n"

#endif
