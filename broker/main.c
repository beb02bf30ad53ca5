/*  hartslag-broker: routes sealed signals between partner daemons. */
#include "broker.h"
#include "check.h"
#include "migrate.h"
#include "broker_config_schema.h"
#include "store.h"
#include "verifier.h"

#include "config.h"
#include "log.h"

#include <czmq.h>
#include <getopt.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef HARTSLAG_VERSION
#define HARTSLAG_VERSION "0.1.0"
#endif

enum { EXIT_OK = 0, EXIT_FAILURE_RUN = 1, EXIT_USAGE_ERR = 2, EXIT_CONFIG = 3 };

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: hartslag-broker --config FILE [--bind ENDPOINT] [--state-dir DIR]\n"
            "                       [--certificates DIR] [--keys FILE] [--agreements FILE]\n"
            "                       [--set KEY=VALUE]... [--check]\n"
            "       hartslag-broker migrate --from sqlite:FILE --to postgresql://...\n\n"
            "Routes sealed signals between Hartslag partner daemons, enforcing the\n"
            "sharing agreements. Flags override the configuration file; --set sets any\n"
            "configuration key (store (default sqlite:STATE_DIR/broker.db), max_batch,\n"
            "delivery_window, rate_limit, rate_burst,\n"
            "clock_skew, max_submit_age (default 259200: three days), audit_retention_days "
            "(default 1826: five years), log_level,\n"
            "verify_threads (default auto: one per core but the loop's, at most 4)).\n"
            "Default bind: %s.\n"
            "--check loads the configuration, keys, certificates and agreements, prints one\n"
            "line per problem and exits 0 (the broker can start) or 1, without binding.\n"
            "migrate moves a stopped broker's store from SQLite to PostgreSQL and verifies\n"
            "the audit log's root (hartslag-broker migrate --help).\n\n"
            "signals: SIGTERM/SIGINT stop cleanly; SIGHUP reloads certificates and agreements\n"
            "exit codes: 0 clean stop, 1 runtime failure, 2 usage error, 3 configuration error\n",
            BROKER_DEFAULT_BIND);
}

static void s_on_stop(int sig)
{
    (void)sig;
    broker_request_stop();
}

static void s_on_hup(int sig)
{
    (void)sig;
    broker_request_reload();
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "migrate") == 0) {
        umask(0077);
        log_setup("hartslag-broker", HLOG_WARN);
        return migrate_command(argc - 1, argv + 1, stdout, stderr);
    }
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"bind", required_argument, NULL, 'b'},
        {"state-dir", required_argument, NULL, 's'},
        {"certificates", required_argument, NULL, 'C'},
        {"keys", required_argument, NULL, 'k'},
        {"agreements", required_argument, NULL, 'a'},
        {"set", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"check", no_argument, NULL, 'K'},
        {NULL, 0, NULL, 0},
    };
    const char *config_file = NULL;
    bool check = false;
    const char *overrides[64][2];
    size_t n_overrides = 0;
    char set_keys[64][64];
    int opt;
    while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        const char *key = NULL;
        switch (opt) {
        case 'c':
            config_file = optarg;
            break;
        case 'b':
            key = "bind";
            break;
        case 's':
            key = "state_dir";
            break;
        case 'C':
            key = "certificates";
            break;
        case 'k':
            key = "keys";
            break;
        case 'a':
            key = "agreements";
            break;
        case 'S': {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || (size_t)(eq - optarg) >= sizeof set_keys[0] ||
                n_overrides >= 64) {
                fprintf(stderr, "hartslag-broker: --set needs KEY=VALUE\n");
                return EXIT_USAGE_ERR;
            }
            memcpy(set_keys[n_overrides], optarg, (size_t)(eq - optarg));
            set_keys[n_overrides][eq - optarg] = '\0';
            overrides[n_overrides][0] = set_keys[n_overrides];
            overrides[n_overrides][1] = eq + 1;
            n_overrides++;
            break;
        }
        case 'h':
            s_usage(stdout);
            return EXIT_OK;
        case 'K':
            check = true;
            break;
        case 'V':
            printf("hartslag-broker %s\n", HARTSLAG_VERSION);
            return EXIT_OK;
        default:
            s_usage(stderr);
            return EXIT_USAGE_ERR;
        }
        if (key && n_overrides < 64) {
            overrides[n_overrides][0] = key;
            overrides[n_overrides][1] = optarg;
            n_overrides++;
        }
    }
    if (optind != argc) {
        s_usage(stderr);
        return EXIT_USAGE_ERR;
    }
    char err[4800];
    config_t *config = config_file ? config_load(config_file, broker_config_schema,
                                                 BROKER_CONFIG_KEYS, err, sizeof err)
                                   : config_new(broker_config_schema, BROKER_CONFIG_KEYS);
    if (!config) {
        fprintf(stderr, "hartslag-broker: %s\n", err);
        return EXIT_CONFIG;
    }
    for (size_t i = 0; i < n_overrides; i++)
        if (config_set(config, overrides[i][0], overrides[i][1], err, sizeof err) != 0) {
            fprintf(stderr, "hartslag-broker: %s\n", err);
            config_destroy(&config);
            return EXIT_USAGE_ERR;
        }
    log_level_t level = HLOG_INFO;
    if (config_check(config, err, sizeof err) != 0 ||
        log_level_parse(config_string(config, "log_level"), &level) != 0) {
        fprintf(stderr, "hartslag-broker: %s (see --help and examples/broker.yaml)\n",
                config_check(config, err, sizeof err) != 0 ? err
                                                           : "log_level must be debug, "
                                                             "info, warn or error");
        config_destroy(&config);
        return EXIT_CONFIG;
    }
    log_setup("hartslag-broker", level);
    char state_dir[4096], certificates[4096], keys[4096], agreements[4096];
    broker_config_t settings = {
        .bind = config_string(config, "bind"),
        .state_dir = config_path(config, "state_dir", state_dir, sizeof state_dir),
        .certificates = config_path(config, "certificates", certificates, sizeof certificates),
        .keys = config_path(config, "keys", keys, sizeof keys),
        .agreements = config_path(config, "agreements", agreements, sizeof agreements),
        .max_batch = (uint32_t)config_uint(config, "max_batch"),
        .delivery_window = (uint32_t)config_uint(config, "delivery_window"),
        .rate_limit = (uint32_t)config_uint(config, "rate_limit"),
        .rate_burst = (uint32_t)config_uint(config, "rate_burst"),
        .clock_skew_s = (uint32_t)config_uint(config, "clock_skew"),
        .max_submit_age_s = (uint32_t)config_uint(config, "max_submit_age"),
        .audit_retention_days = (uint32_t)config_uint(config, "audit_retention_days"),
    };
    /* The store: relative SQLite paths against the file's directory, as
       every other path. */
    char base_dir[4096] = ".";
    const char *slash = config_file ? strrchr(config_file, '/') : NULL;
    if (slash && (size_t)(slash - config_file) < sizeof base_dir)
        snprintf(base_dir, sizeof base_dir, "%.*s",
                 (int)(slash == config_file ? 1 : slash - config_file), config_file);
    char store[BROKER_STORE_LOCATION_MAX];
    if (!settings.state_dir ||
        broker_store_location(config_string(config, "store"), settings.state_dir, base_dir, store,
                              sizeof store, err, sizeof err) != 0) {
        fprintf(stderr, "hartslag-broker: %s\n",
                settings.state_dir ? err : "state_dir is too long");
        config_destroy(&config);
        return EXIT_CONFIG;
    }
    settings.store = store;
    const char *verify_threads = config_string(config, "verify_threads");
    char *end = NULL;
    unsigned long threads = strtoul(verify_threads, &end, 10);
    if (strcmp(verify_threads, "auto") == 0)
        settings.verify_threads = (uint32_t)verifier_default_threads();
    else if (end != verify_threads && *end == '\0' && threads <= 64 && verify_threads[0] != '-')
        settings.verify_threads = (uint32_t)threads;
    else {
        fprintf(stderr, "hartslag-broker: verify_threads must be auto or a number from 0 to 64\n");
        config_destroy(&config);
        return EXIT_CONFIG;
    }
    if (settings.max_batch == 0 || settings.delivery_window == 0) {
        fprintf(stderr, "hartslag-broker: max_batch and delivery_window must be at least 1\n");
        config_destroy(&config);
        return EXIT_CONFIG;
    }
    if (check) {
        int problems = broker_check(&settings, stdout);
        config_destroy(&config);
        return problems == 0 ? EXIT_OK : EXIT_FAILURE_RUN;
    }
    /* Every file the broker creates (broker.db, its WAL, the control socket)
       is its own: the audit log and the queue are nobody else's business. */
    umask(0077);
    /* Our own handlers: CZMQ's would only set zsys_interrupted. */
    zsys_handler_set(NULL);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = s_on_stop;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    action.sa_handler = s_on_hup;
    sigaction(SIGHUP, &action, NULL);
    signal(SIGPIPE, SIG_IGN);

    broker_t *broker = broker_new(&settings, err, sizeof err);
    if (!broker && broker_stop_requested()) { /* stopped while a standby */
        log_event(HLOG_INFO, "stopped", NULL);
        config_destroy(&config);
        return EXIT_OK;
    }
    if (!broker) {
        log_event(HLOG_ERROR, "start_failed", "reason", err, NULL);
        config_destroy(&config);
        return EXIT_CONFIG;
    }
    int rc = broker_run(broker);
    broker_destroy(&broker);
    config_destroy(&config);
    return rc == 0 ? EXIT_OK : EXIT_FAILURE_RUN;
}
