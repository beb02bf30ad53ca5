/*  broker_config_schema: the keys of a hartslag-broker configuration file.
    Shared by the broker and by the CLI (`hartslag broker status --config`
    reads the same file to find the broker's control socket), so it lives
    in lib/: broker/ and clients/ never include each other (issue 16).
    docs/man/hartslag-broker.1 documents each key. */
#ifndef HARTSLAG_BROKER_CONFIG_SCHEMA_H
#define HARTSLAG_BROKER_CONFIG_SCHEMA_H

#include "config.h"

#define BROKER_DEFAULT_BIND "tcp://127.0.0.1:7455"

static const config_key_t broker_config_schema[] = {
    {"bind", CONFIG_STRING, true, BROKER_DEFAULT_BIND},
    {"state_dir", CONFIG_STRING, true, NULL},
    /* Where the queue and the audit log live: sqlite:PATH (default
       sqlite:STATE_DIR/broker.db) or postgresql://... (broker/store.h). */
    {"store", CONFIG_STRING, false, NULL},
    {"certificates", CONFIG_STRING, true, NULL},
    {"keys", CONFIG_STRING, true, NULL},
    {"agreements", CONFIG_STRING, true, NULL},
    {"max_batch", CONFIG_UINT, false, "1024"},
    {"delivery_window", CONFIG_UINT, false, "256"},
    {"rate_limit", CONFIG_UINT, false, "2000"},
    {"rate_burst", CONFIG_UINT, false, "4000"},
    {"clock_skew", CONFIG_UINT, false, "300"},
    {"max_submit_age", CONFIG_UINT, false, "259200"},
    {"audit_retention_days", CONFIG_UINT, false, "1826"},
    {"log_level", CONFIG_STRING, false, "info"},
    {"verify_threads", CONFIG_STRING, false, "auto"},
};
#define BROKER_CONFIG_KEYS (sizeof broker_config_schema / sizeof broker_config_schema[0])

#endif
