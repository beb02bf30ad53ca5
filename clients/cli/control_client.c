/*  control_client: see control_client.h. */
#include "control_client.h"

#include <getopt.h>

#include "../daemon/config_schema.h"
#include "commands.h"

#include <errno.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONTROL_CLIENT_PATH_MAX 4096

/*  Invariant: sock is connected to path. */
struct control_client_t {
    zsock_t *sock;                      /* DEALER to the daemon */
    char cmd[32];                       /* CLI subcommand, for messages */
    char program[32];                   /* who serves the socket, for messages */
    char path[CONTROL_CLIENT_PATH_MAX]; /* control socket file */
};

/* Finds the state directory; prints the problem and returns -1 if none. */
static int s_state_dir(const char *cmd, const char *config, const char *state_dir, char *out,
                       size_t outlen)
{
    if (!state_dir && !config) {
        config = getenv("HARTSLAG_CONFIG");
        if (!config || !*config) {
            config = NULL;
            state_dir = getenv("HARTSLAG_STATE_DIR");
            if (state_dir && !*state_dir)
                state_dir = NULL;
        }
    }
    if (state_dir) {
        if (strlen(state_dir) >= outlen) {
            fprintf(stderr, "hartslag %s: --state-dir is too long\n", cmd);
            return -1;
        }
        snprintf(out, outlen, "%s", state_dir);
        return 0;
    }
    if (!config) {
        fprintf(stderr,
                "hartslag %s: which daemon? give --config FILE (the hartslagd configuration) or "
                "--state-dir DIR, or set HARTSLAG_CONFIG\n",
                cmd);
        return -1;
    }
    char err[1024];
    config_t *conf = config_load(config, daemon_config_schema, DAEMON_CONFIG_KEYS, err, sizeof err);
    if (!conf) {
        fprintf(stderr, "hartslag %s: %s\n", cmd, err);
        return -1;
    }
    const char *path = config_path(conf, "state_dir", out, outlen);
    config_destroy(&conf);
    if (!path) {
        fprintf(stderr, "hartslag %s: %s has no state_dir\n", cmd, config);
        return -1;
    }
    return 0;
}

control_client_t *control_client_open(const char *cmd, const char *config, const char *state_dir)
{
    char dir[CONTROL_CLIENT_PATH_MAX];
    if (s_state_dir(cmd, config, state_dir, dir, sizeof dir) != 0)
        return NULL;
    return control_client_open_dir(cmd, dir, "hartslagd");
}

control_client_t *control_client_open_dir(const char *cmd, const char *dir, const char *program)
{
    control_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->cmd, sizeof self->cmd, "%s", cmd);
    snprintf(self->program, sizeof self->program, "%s", program);
    if ((size_t)snprintf(self->path, sizeof self->path, "%s/control.sock", dir) >=
        sizeof self->path) {
        fprintf(stderr, "hartslag %s: state_dir path too long\n", cmd);
        control_client_destroy(&self);
        return NULL;
    }
    struct stat st;
    if (stat(self->path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        fprintf(stderr,
                "hartslag %s: %s is not running for state_dir %s (no control socket "
                "there); start it with '%s --config FILE'\n",
                cmd, program, dir, program);
        control_client_destroy(&self);
        return NULL;
    }
    if (access(self->path, R_OK | W_OK) != 0) {
        fprintf(stderr,
                "hartslag %s: no permission to use %s (%s); run as the user that runs "
                "%s\n",
                cmd, self->path, strerror(errno), program);
        control_client_destroy(&self);
        return NULL;
    }
    zsys_handler_set(NULL); /* Ctrl-C simply ends the CLI */
    self->sock = zsock_new(ZMQ_DEALER);
    if (!self->sock || zsock_connect(self->sock, "ipc://%s", self->path) != 0) {
        fprintf(stderr, "hartslag %s: cannot connect to %s\n", cmd, self->path);
        control_client_destroy(&self);
        return NULL;
    }
    zsock_set_linger(self->sock, 200);
    zsock_set_maxmsgsize(self->sock, 64 * 1024 * 1024);
    return self;
}

void control_client_destroy(control_client_t **self_p)
{
    if (self_p && *self_p) {
        zsock_destroy(&(*self_p)->sock);
        free(*self_p);
        *self_p = NULL;
    }
}

int control_client_send(control_client_t *self, const char *const *argv, size_t argc)
{
    void *sock = zsock_resolve(self->sock);
    for (size_t i = 0; i < argc; i++)
        if (zmq_send(sock, argv[i], strlen(argv[i]), i + 1 < argc ? ZMQ_SNDMORE : 0) < 0)
            return -1;
    return 0;
}

zmsg_t *control_client_recv(control_client_t *self, int timeout_ms)
{
    zmq_pollitem_t item = {zsock_resolve(self->sock), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0 || !(item.revents & ZMQ_POLLIN))
        return NULL;
    return zmsg_recv(self->sock);
}

zmsg_t *control_client_call(control_client_t *self, const char *const *argv, size_t argc,
                            int timeout_ms)
{
    if (timeout_ms < CONTROL_CLIENT_TIMEOUT_MS)
        timeout_ms = CONTROL_CLIENT_TIMEOUT_MS;
    if (control_client_send(self, argv, argc) != 0) {
        fprintf(stderr, "hartslag %s: cannot send to %s\n", self->cmd, self->path);
        return NULL;
    }
    zmsg_t *reply = control_client_recv(self, timeout_ms);
    if (!reply)
        fprintf(stderr,
                "hartslag %s: %s did not answer on %s within %d s; check that it is "
                "running and look at its log\n",
                self->cmd, self->program, self->path, timeout_ms / 1000);
    return reply;
}

int control_client_print_error(control_client_t *self, zmsg_t *reply)
{
    char *status = zmsg_popstr(reply);
    char *code = zmsg_popstr(reply);
    char *message = zmsg_popstr(reply);
    fprintf(stderr, "hartslag %s: %s\n", self->cmd,
            message ? message : (code ? code : "unexpected answer"));
    int rc = code && strcmp(code, "usage") == 0 ? EXIT_USAGE : 1;
    free(status);
    free(code);
    free(message);
    return rc;
}

const char *control_client_cmd(const control_client_t *self)
{
    return self->cmd;
}

const char *control_client_path(const control_client_t *self)
{
    return self->path;
}

void control_args_add(control_args_t *args, const char *key, const char *value)
{
    if (args->failed || args->n == CONTROL_ARGS_MAX) {
        args->failed = true;
        return;
    }
    size_t len = strlen(key) + (value ? strlen(value) + 1 : 0) + 1;
    char *item = malloc(len);
    if (!item) {
        args->failed = true;
        return;
    }
    if (value)
        snprintf(item, len, "%s=%s", key, value);
    else
        snprintf(item, len, "%s", key);
    args->items[args->n++] = item;
}

void control_args_clear(control_args_t *args)
{
    for (size_t i = 0; i < args->n; i++) {
        sodium_memzero(args->items[i], strlen(args->items[i]));
        free(args->items[i]);
    }
    args->n = 0;
    args->failed = false;
}

zmsg_t *control_client_request(control_client_t *self, const control_args_t *args, int timeout_ms)
{
    if (args->failed || args->n == 0) {
        fprintf(stderr, "hartslag %s: too many options (or out of memory)\n", self->cmd);
        return NULL;
    }
    return control_client_call(self, (const char *const *)args->items, args->n, timeout_ms);
}

int control_client_options(int argc, char **argv, const char *cmd, const char *usage,
                           control_options_t *out)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        CONTROL_CLIENT_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    memset(out, 0, sizeof *out);
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'j')
            out->json = true;
        else if (opt == 'h') {
            fputs(usage, stdout);
            return 0;
        } else if (opt == CONTROL_CLIENT_OPT_CONFIG)
            out->config = optarg;
        else if (opt == CONTROL_CLIENT_OPT_STATE_DIR)
            out->state_dir = optarg;
        else {
            fprintf(stderr, "try 'hartslag %s --help'\n", cmd);
            return EXIT_USAGE;
        }
    }
    return -1;
}
