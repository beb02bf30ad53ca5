/*  fuzz_config: a configuration file (lib/config.c) as an operator writes
    it: hartslagd.yaml or broker.yaml, a flat YAML mapping of scalars.

    The input is written to a file and read with config_load under two
    schemas: the daemon's (clients/daemon/config_schema.h) and one with a
    number and a boolean key. Contract: a refusal says
    "PATH:LINE:COL: reason" and returns NULL; an accepted file has every
    value of the type its key declares (numbers parse, booleans are
    true/false), config_path resolves every string key or says it cannot,
    and config_set with the value read accepts it again unchanged.
*/
#include "fuzz_common.h"

#include "../../clients/daemon/config_schema.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static const config_key_t s_typed_schema[] = {
    {"bind", CONFIG_STRING, true, "tcp://127.0.0.1:7455"},
    {"state_dir", CONFIG_STRING, false, NULL},
    {"max_batch", CONFIG_UINT, false, "1024"},
    {"rate_limit", CONFIG_UINT, true, NULL},
    {"tls", CONFIG_BOOL, false, "false"},
};

static char s_path[512];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(s_path, sizeof s_path, "%s/hartslag-fuzz-config-%ld.yaml", base ? base : "/tmp",
             (long)getpid());
    return 0;
}

static void s_check(const config_key_t *schema, size_t n_keys)
{
    char err[1024];
    err[0] = '\0';
    config_t *config = config_load(s_path, schema, n_keys, err, sizeof err);
    if (!config) {
        FUZZ_CHECK(strncmp(err, s_path, strlen(s_path)) == 0);
        return;
    }
    (void)config_check(config, err, sizeof err);
    for (size_t i = 0; i < n_keys; i++) {
        const char *value = config_string(config, schema[i].key);
        if (!value)
            continue;
        FUZZ_CHECK(strlen(value) <= CONFIG_VALUE_MAX);
        if (schema[i].type == CONFIG_UINT) {
            char *end = NULL;
            errno = 0;
            unsigned long long v = strtoull(value, &end, 10);
            FUZZ_CHECK(errno == 0 && *end == '\0' && v == config_uint(config, schema[i].key));
        } else if (schema[i].type == CONFIG_BOOL) {
            FUZZ_CHECK(strcmp(value, "true") == 0 || strcmp(value, "false") == 0);
            FUZZ_CHECK(config_bool(config, schema[i].key) == (strcmp(value, "true") == 0));
        } else {
            char out[CONFIG_VALUE_MAX + 1024];
            const char *path = config_path(config, schema[i].key, out, sizeof out);
            FUZZ_CHECK(path == NULL || path == out);
        }
        char *copy = strdup(value);
        FUZZ_CHECK(copy != NULL);
        FUZZ_CHECK(config_set(config, schema[i].key, copy, err, sizeof err) == 0);
        FUZZ_CHECK(strcmp(config_string(config, schema[i].key), copy) == 0);
        free(copy);
    }
    config_destroy(&config);
    FUZZ_CHECK(config == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = open(s_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
    FUZZ_CHECK(close(fd) == 0);
    s_check(daemon_config_schema, DAEMON_CONFIG_KEYS);
    s_check(s_typed_schema, sizeof s_typed_schema / sizeof s_typed_schema[0]);
    (void)unlink(s_path);
    return 0;
}
