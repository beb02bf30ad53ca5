/*  config_schema: the keys of a hartslagd configuration file. Shared by
    the daemon and by the CLI (which reads the same file to find the
    daemon's control socket). docs/daemon.md documents each key. */
#ifndef HARTSLAG_DAEMON_CONFIG_SCHEMA_H
#define HARTSLAG_DAEMON_CONFIG_SCHEMA_H

#include "config.h"

#define DAEMON_DEFAULT_BROKER "tcp://127.0.0.1:7455"

static const config_key_t daemon_config_schema[] = {
    {"org", CONFIG_STRING, true, NULL},                      /* our org id */
    {"keys", CONFIG_STRING, true, NULL},                     /* secret key file (ORG.cert_secret) */
    {"broker", CONFIG_STRING, false, DAEMON_DEFAULT_BROKER}, /* broker endpoint */
    {"broker_cert", CONFIG_STRING, true, NULL},              /* broker's public certificate */
    {"certificates", CONFIG_STRING, true, NULL},             /* partner certificate directory */
    {"agreements", CONFIG_STRING, true, NULL},               /* agreements.yaml */
    {"pseudonym_service", CONFIG_STRING, true, NULL},        /* pseudonym service endpoint */
    {"pseudonym_service_cert", CONFIG_STRING, true, NULL},   /* its certificate (OPRF key) */
    /* Retired (issue 17): named only to refuse it with the migration step. */
    {"pseudonym_key", CONFIG_STRING, false, NULL},
    {"state_dir", CONFIG_STRING, true, NULL},        /* database, control socket */
    {"hook", CONFIG_STRING, false, NULL},            /* shell command per new signal */
    {"hook_timeout", CONFIG_UINT, false, "30"},      /* seconds */
    {"retention_check", CONFIG_UINT, false, "3600"}, /* seconds between purges */
    {"log_level", CONFIG_STRING, false, "info"},     /* debug, info, warn, error */
};

#define DAEMON_CONFIG_KEYS (sizeof daemon_config_schema / sizeof daemon_config_schema[0])

#endif
