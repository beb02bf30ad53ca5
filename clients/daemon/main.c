/*  hartslagd: the Hartslag partner daemon. See docs/daemon.md. */
#include "config_schema.h"
#include "daemon.h"
#include "dlog.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_FAILURE_RUN 1 /* could not start, or a fatal error while running */
#define EXIT_USAGE 2       /* bad flags or configuration */

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: hartslagd --config FILE [OPTIONS]\n\n"
            "The Hartslag partner daemon: holds this organisation's keys, outbox and inbox,\n"
            "talks to the broker, and serves the 'hartslag' CLI on STATE_DIR/control.sock.\n\n"
            "options (each overrides the configuration key of the same name):\n"
            "  --config FILE          YAML configuration (see docs/daemon.md)\n"
            "  --org ORG              our organisation id\n"
            "  --keys FILE            our secret key file (ORG.cert_secret, mode 0600)\n"
            "  --broker ENDPOINT      broker endpoint (default " DAEMON_DEFAULT_BROKER ")\n"
            "  --broker-cert FILE     the broker's public certificate\n"
            "  --certificates DIR     partner certificate directory\n"
            "  --agreements FILE      sharing agreements\n"
            "  --pseudonym-service ENDPOINT  the pseudonym service (e.g. tcp://host:7456)\n"
            "  --pseudonym-service-cert FILE its certificate (holds its OPRF public key)\n"
            "  --state-dir DIR        database and control socket\n"
            "  --hook COMMAND         run for every new signal (JSON on stdin)\n"
            "  --hook-timeout SECS    kill a hook after this long (default 30)\n"
            "  --retention-check SECS how often to purge the inbox (default 3600)\n"
            "  --log-level LEVEL      debug, info, warn, error (default info)\n"
            "  --check                load everything, report, and exit\n"
            "  --help, --version\n\n"
            "signals: SIGTERM/SIGINT stop cleanly; SIGHUP reloads certificates and agreements\n"
            "exit codes: 0 clean stop, 1 could not start or fatal error, 2 usage or\n"
            "configuration error\n");
}

/* Flags that name files: made absolute against the working directory, so
   config_path does not resolve them against the config file's directory. */
static bool s_is_path_key(const char *key)
{
    static const char *keys[] = {
        "keys", "broker_cert", "certificates", "agreements", "pseudonym_service_cert", "state_dir"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(keys[i], key) == 0)
            return true;
    return false;
}

static int s_set(config_t *config, const char *key, const char *value)
{
    char abs[DAEMON_PATH_MAX], err[512];
    if (s_is_path_key(key) && value[0] != '/') {
        char cwd[DAEMON_PATH_MAX];
        if (!getcwd(cwd, sizeof cwd) ||
            (size_t)snprintf(abs, sizeof abs, "%s/%s", cwd, value) >= sizeof abs) {
            fprintf(stderr, "hartslagd: --%s path too long\n", key);
            return -1;
        }
        value = abs;
    }
    if (config_set(config, key, value, err, sizeof err) != 0) {
        fprintf(stderr, "hartslagd: %s\n", err);
        return -1;
    }
    return 0;
}

static int s_copy(char *out, size_t outlen, const char *value, const char *key)
{
    if (!value || strlen(value) >= outlen) {
        fprintf(stderr, "hartslagd: configuration key '%s' is %s\n", key,
                value ? "too long" : "missing");
        return -1;
    }
    snprintf(out, outlen, "%s", value);
    return 0;
}

static int s_resolve(const config_t *config, daemon_settings_t *s)
{
    struct {
        const char *key;
        char *out;
    } paths[] = {
        {"keys", s->keys},
        {"broker_cert", s->broker_cert},
        {"certificates", s->certificates},
        {"agreements", s->agreements},
        {"pseudonym_service_cert", s->pseudonym_service_cert},
        {"state_dir", s->state_dir},
    };
    if (config_string(config, "pseudonym_key")) {
        fprintf(stderr, "hartslagd: pseudonym_key is retired: pseudonyms now come from the "
                        "pseudonym service. Replace the line with pseudonym_service: ENDPOINT and "
                        "pseudonym_service_cert: FILE, then delete the key file "
                        "(docs/pseudonyms.md, \"Moving from the shared key\")\n");
        return -1;
    }
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (!config_path(config, paths[i].key, paths[i].out, DAEMON_PATH_MAX)) {
            fprintf(stderr, "hartslagd: configuration key '%s' is missing or too long\n",
                    paths[i].key);
            return -1;
        }
    if (s_copy(s->org, sizeof s->org, config_string(config, "org"), "org") != 0 ||
        s_copy(s->broker, sizeof s->broker, config_string(config, "broker"), "broker") != 0 ||
        s_copy(s->pseudonym_service, sizeof s->pseudonym_service,
               config_string(config, "pseudonym_service"), "pseudonym_service") != 0)
        return -1;
    const char *hook = config_string(config, "hook");
    if (hook && s_copy(s->hook, sizeof s->hook, hook, "hook") != 0)
        return -1;
    uint64_t timeout = config_uint(config, "hook_timeout");
    uint64_t retention = config_uint(config, "retention_check");
    if (timeout < 1 || timeout > 86400 || retention < 1 || retention > 86400) {
        fprintf(stderr, "hartslagd: hook_timeout and retention_check must be 1..86400 seconds\n");
        return -1;
    }
    s->hook_timeout = (unsigned)timeout;
    s->retention_check = (unsigned)retention;
    const char *level = config_string(config, "log_level");
    if (strcmp(level, "debug") == 0)
        dlog_set_level(DLOG_DEBUG);
    else if (strcmp(level, "info") == 0)
        dlog_set_level(DLOG_INFO);
    else if (strcmp(level, "warn") == 0)
        dlog_set_level(DLOG_WARN);
    else if (strcmp(level, "error") == 0)
        dlog_set_level(DLOG_ERROR);
    else {
        fprintf(stderr, "hartslagd: log_level must be debug, info, warn or error\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"org", required_argument, NULL, 0},
        {"keys", required_argument, NULL, 0},
        {"broker", required_argument, NULL, 0},
        {"broker-cert", required_argument, NULL, 0},
        {"certificates", required_argument, NULL, 0},
        {"agreements", required_argument, NULL, 0},
        {"pseudonym-service", required_argument, NULL, 0},
        {"pseudonym-service-cert", required_argument, NULL, 0},
        {"state-dir", required_argument, NULL, 0},
        {"hook", required_argument, NULL, 0},
        {"hook-timeout", required_argument, NULL, 0},
        {"retention-check", required_argument, NULL, 0},
        {"log-level", required_argument, NULL, 0},
        {"check", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config_file = NULL;
    bool check = false;
    /* Two passes: the config file first, then the flags that override it. */
    int opt, index;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "c:h", options, &index)) != -1) {
        if (opt == 'c')
            config_file = optarg;
        else if (opt == 'h') {
            s_usage(stdout);
            return 0;
        } else if (opt == 'V') {
            printf("hartslagd %s\n", DAEMON_VERSION);
            return 0;
        } else if (opt == 'k')
            check = true;
        else if (opt == '?') {
            fprintf(stderr, "try 'hartslagd --help'\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hartslagd: unexpected argument '%s' (try 'hartslagd --help')\n",
                argv[optind]);
        return EXIT_USAGE;
    }
    char err[1024];
    config_t *config = config_file ? config_load(config_file, daemon_config_schema,
                                                 DAEMON_CONFIG_KEYS, err, sizeof err)
                                   : config_new(daemon_config_schema, DAEMON_CONFIG_KEYS);
    if (!config) {
        fprintf(stderr, "hartslagd: %s\n", config_file ? err : "out of memory");
        return EXIT_USAGE;
    }
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "c:h", options, &index)) != -1) {
        if (opt != 0)
            continue;
        char key[64];
        snprintf(key, sizeof key, "%s", options[index].name);
        for (char *p = key; *p; p++)
            if (*p == '-')
                *p = '_';
        if (s_set(config, key, optarg) != 0) {
            config_destroy(&config);
            return EXIT_USAGE;
        }
    }
    daemon_settings_t settings;
    memset(&settings, 0, sizeof settings);
    if (config_check(config, err, sizeof err) != 0) {
        fprintf(stderr, "hartslagd: %s%s\n", err,
                config_file ? "" : " (give --config FILE, see 'hartslagd --help')");
        config_destroy(&config);
        return EXIT_USAGE;
    }
    int rc = s_resolve(config, &settings);
    config_destroy(&config);
    if (rc != 0)
        return EXIT_USAGE;

    /* Everything the daemon creates (database, socket, hook output) is
       for this user only: the inbox holds decrypted signals. */
    umask(0077);
    daemon_t *daemon = daemon_new(&settings, err, sizeof err);
    if (!daemon) {
        char q[1100];
        dlog(DLOG_ERROR, "event=start_failed reason=%s", dlog_quote(err, q, sizeof q));
        fprintf(stderr, "hartslagd: %s\n", err);
        return EXIT_FAILURE_RUN;
    }
    if (check) {
        printf("hartslagd: configuration of '%s' is complete and loads\n", settings.org);
        daemon_destroy(&daemon);
        return 0;
    }
    rc = daemon_run(daemon);
    daemon_destroy(&daemon);
    dlog(DLOG_INFO, "event=stopped");
    return rc == 0 ? 0 : EXIT_FAILURE_RUN;
}
