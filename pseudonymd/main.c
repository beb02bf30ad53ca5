/*  hartslag-pseudonymd: the pseudonym service (issue 17). See service.h
    and docs/man/hartslag-pseudonymd.1. */
#include "service.h"
#include "settings.h"

#include "log.h"

#include <czmq.h>
#include <getopt.h>
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
    fprintf(out, "usage: hartslag-pseudonymd --config FILE\n\n"
                 "The pseudonym service: evaluates blinded identifiers (RFC 9497 VOPRF,\n"
                 "ristretto255-SHA512) for the partner daemons and privacy officers of a\n"
                 "Hartslag partnership, with a key only it holds, rate-limited and audited.\n"
                 "It never sees an identifier or a pseudonym.\n\n"
                 "signals: SIGTERM/SIGINT stop cleanly; SIGHUP reloads the configuration\n"
                 "(limits, revoked, purposes, coordinator) and the certificates\n"
                 "exit codes: 0 clean stop, 1 runtime failure, 2 usage error, 3 configuration "
                 "error\n");
}

static void s_on_stop(int sig)
{
    (void)sig;
    service_request_stop();
}

static void s_on_hup(int sig)
{
    (void)sig;
    service_request_reload();
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'h':
            s_usage(stdout);
            return EXIT_OK;
        case 'V':
            printf("hartslag-pseudonymd %s\n", HARTSLAG_VERSION);
            return EXIT_OK;
        default:
            s_usage(stderr);
            return EXIT_USAGE_ERR;
        }
    }
    if (!config || optind != argc) {
        s_usage(stderr);
        return EXIT_USAGE_ERR;
    }
    char err[4800];
    settings_t *settings = settings_load(config, err, sizeof err);
    log_level_t level = HLOG_INFO;
    if (!settings || log_level_parse(settings->log_level, &level) != 0) {
        fprintf(stderr, "hartslag-pseudonymd: %s\n",
                settings ? "log_level must be debug, info, warn or error" : err);
        free(settings);
        return EXIT_CONFIG;
    }
    free(settings);
    log_setup("hartslag-pseudonymd", level);
    /* Its store (the audit log) is nobody else's business. */
    umask(0077);
    zsys_handler_set(NULL);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = s_on_stop;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    action.sa_handler = s_on_hup;
    sigaction(SIGHUP, &action, NULL);
    signal(SIGPIPE, SIG_IGN);
    service_t *service = service_new(config, err, sizeof err);
    if (!service) {
        log_event(HLOG_ERROR, "start_failed", "reason", err, NULL);
        return EXIT_CONFIG;
    }
    int rc = service_run(service);
    service_destroy(&service);
    return rc == 0 ? EXIT_OK : EXIT_FAILURE_RUN;
}
