/*  config: the YAML configuration files of the broker and the daemons.

    A configuration is one flat YAML mapping of scalar values,

        bind: tcp://127.0.0.1:7455
        state_dir: /var/lib/hartslag
        max_rate: 200

    read with libyaml so every error carries the exact line and column
    ("broker.yaml:4:1: unknown key 'bnd'"). The caller gives a schema: the
    allowed keys, their types and which are required. Values may be set
    afterwards from command-line flags (config_set), which win over the file.
    Relative paths are resolved against the configuration file's directory
    (config_path), so an example directory can be moved as a whole.

    Ownership: config_t owns its strings; getters return borrowed pointers
    valid until the next config_set of that key or config_destroy.
*/
#ifndef HARTSLAG_CONFIG_H
#define HARTSLAG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_FILE_MAX (64 * 1024) /* a configuration is a few hundred bytes */
#define CONFIG_VALUE_MAX 4096       /* one value (paths, a hook command) */

typedef enum {
    CONFIG_STRING, /* any scalar */
    CONFIG_UINT,   /* decimal, fits uint64 */
    CONFIG_BOOL,   /* true / false */
} config_type_t;

typedef struct {
    const char *key;      /* key name in the file */
    config_type_t type;   /* expected value type */
    bool required;        /* must be present after load + flags */
    const char *fallback; /* default value, or NULL */
} config_key_t;

typedef struct config_t config_t;

/* A configuration with only the schema's defaults (no file). */
config_t *config_new(const config_key_t *schema, size_t n_keys);

/* Reads `path` into a new configuration (defaults first). NULL with
   "PATH:LINE:COL: reason" in `err`. */
config_t *config_load(const char *path, const config_key_t *schema, size_t n_keys, char *err,
                      size_t errlen);

void config_destroy(config_t **self_p);

/* Sets `key` from a flag; checks the type. 0 or -1 with the reason. */
int config_set(config_t *self, const char *key, const char *value, char *err, size_t errlen);

/* Checks every required key is set. 0 or -1 with the reason. */
int config_check(const config_t *self, char *err, size_t errlen);

/* The value of `key`, or NULL when unset. */
const char *config_string(const config_t *self, const char *key);

/* `key` as a number or boolean (the schema guarantees the syntax). */
uint64_t config_uint(const config_t *self, const char *key);
bool config_bool(const config_t *self, const char *key);

/* `key` as a path: absolute as is, relative to the file's directory
   otherwise. Writes into `out`; returns `out`, or NULL when unset or too long. */
const char *config_path(const config_t *self, const char *key, char *out, size_t outlen);

#endif
