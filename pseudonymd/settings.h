/*  settings: hartslag-pseudonymd's configuration file, pseudonymd.yaml
    (issue 17; docs/man/hartslag-pseudonymd.1 documents every key):

        org: ttp                          # the service's own org (its certificate)
        bind: tcp://127.0.0.1:7460
        keys: keys/ttp.cert_secret        # CURVE + Ed25519 (audit checkpoints)
        oprf_key: keys/ttp.oprf_secret    # the OPRF secret and its version
        certificates: certificates        # the partnership's public certificates
        store: pseudonymd.db              # SQLite: audit log and limit alerts
        coordinator: gemeente             # who receives limit alerts
        limits:
          default: {per_minute: 100, per_day: 5000}
          clients:
            politie: {per_minute: 200, per_day: 10000}
        revoked: [welzijn]
        purposes:                         # defaults shown
          partner: [send]
          coordinator: [send]
          officer: [art15, audit_query]
        log_level: info

    Strict, as lib/config: an unknown key, a wrong type or a missing
    required key is refused with "FILE:LINE:COL: reason". Relative paths
    are resolved against the file's directory. Read with libyaml's document
    loader, as lib/config reads only flat mappings.

    Ownership: settings_t is a plain value (fixed-size arrays); copy it.
*/
#ifndef HARTSLAG_PSEUDONYMD_SETTINGS_H
#define HARTSLAG_PSEUDONYMD_SETTINGS_H

#include "names.h"
#include "rate_limit.h"
#include "request.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SETTINGS_PATH_MAX 4096
#define SETTINGS_CLIENTS_MAX 1024 /* per-client limit overrides */
#define SETTINGS_REVOKED_MAX 1024 /* revoked orgs */
#define SETTINGS_PURPOSES_MAX 16  /* purposes allowed per role */
#define SETTINGS_FILE_MAX (256 * 1024)

/* The roles that may ask the service. */
typedef enum {
    SETTINGS_ROLE_PARTNER = 0,
    SETTINGS_ROLE_COORDINATOR = 1,
    SETTINGS_ROLE_OFFICER = 2,
    SETTINGS_ROLES = 3,
} settings_role_t;

typedef struct {
    char org[NAMES_ORG_MAX + 1]; /* the client */
    rate_limit_limits_t limits;  /* its own limits */
} settings_override_t;

typedef struct {
    char org[NAMES_ORG_MAX + 1];                       /* the service's org */
    char bind[256];                                    /* ZeroMQ endpoint */
    char keys[SETTINGS_PATH_MAX];                      /* cert_secret file */
    char oprf_key[SETTINGS_PATH_MAX];                  /* oprf_secret file */
    char certificates[SETTINGS_PATH_MAX];              /* the partnership's certificates */
    char store[SETTINGS_PATH_MAX];                     /* SQLite file */
    char coordinator[NAMES_ORG_MAX + 1];               /* receives limit alerts */
    char log_level[16];                                /* debug, info, warn, error */
    rate_limit_limits_t limits;                        /* limits.default */
    settings_override_t clients[SETTINGS_CLIENTS_MAX]; /* limits.clients */
    size_t n_clients;
    char revoked[SETTINGS_REVOKED_MAX][NAMES_ORG_MAX + 1]; /* revoked orgs */
    size_t n_revoked;
    char purposes[SETTINGS_ROLES][SETTINGS_PURPOSES_MAX][PSD_PURPOSE_MAX + 1];
    size_t n_purposes[SETTINGS_ROLES];
} settings_t;

/* Reads `path` into a new settings_t (caller frees with free()). NULL with
   "PATH:LINE:COL: reason" (or "PATH: reason") in `err`. */
settings_t *settings_load(const char *path, char *err, size_t errlen);

/* The limits of `org`: its override, or the default. */
const rate_limit_limits_t *settings_limits(const settings_t *self, const char *org);

bool settings_is_revoked(const settings_t *self, const char *org);

/* True when `role` may ask for `purpose`. */
bool settings_purpose_allowed(const settings_t *self, settings_role_t role, const char *purpose);

#endif
