/*  config: flat YAML configuration files; see config.h. */
#include "config.h"

#include "fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/*  Invariant: values[i] is NULL or a value that satisfied schema[i]'s type. */
struct config_t {
    const config_key_t *schema; /* borrowed: static in the caller */
    size_t n_keys;              /* entries in schema and values */
    char **values;              /* owned; NULL = unset */
    char *base_dir;             /* directory of the file, for relative paths */
};

config_t *config_new(const config_key_t *schema, size_t n_keys)
{
    config_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->schema = schema;
    self->n_keys = n_keys;
    self->values = calloc(n_keys ? n_keys : 1, sizeof(char *));
    self->base_dir = strdup(".");
    if (!self->values || !self->base_dir) {
        config_destroy(&self);
        return NULL;
    }
    for (size_t i = 0; i < n_keys; i++)
        if (schema[i].fallback && !(self->values[i] = strdup(schema[i].fallback))) {
            config_destroy(&self);
            return NULL;
        }
    return self;
}

void config_destroy(config_t **self_p)
{
    if (self_p && *self_p) {
        config_t *self = *self_p;
        for (size_t i = 0; self->values && i < self->n_keys; i++)
            free(self->values[i]);
        free(self->values);
        free(self->base_dir);
        free(self);
        *self_p = NULL;
    }
}

static long s_index(const config_t *self, const char *key)
{
    for (size_t i = 0; i < self->n_keys; i++)
        if (strcmp(self->schema[i].key, key) == 0)
            return (long)i;
    return -1;
}

static int s_check_type(config_type_t type, const char *value, const char **why)
{
    if (strlen(value) > CONFIG_VALUE_MAX) {
        *why = "value is too long";
        return -1;
    }
    if (type == CONFIG_UINT) {
        char *end = NULL;
        errno = 0;
        if (value[0] < '0' || value[0] > '9' || (strtoull(value, &end, 10), errno) || *end) {
            *why = "expected a whole number";
            return -1;
        }
    } else if (type == CONFIG_BOOL && strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
        *why = "expected true or false";
        return -1;
    }
    return 0;
}

int config_set(config_t *self, const char *key, const char *value, char *err, size_t errlen)
{
    long i = s_index(self, key);
    const char *why = NULL;
    if (i < 0) {
        snprintf(err, errlen, "unknown setting '%s'", key);
        return -1;
    }
    if (s_check_type(self->schema[i].type, value, &why) != 0) {
        snprintf(err, errlen, "%s: %s", key, why);
        return -1;
    }
    char *copy = strdup(value);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    free(self->values[i]);
    self->values[i] = copy;
    return 0;
}

int config_check(const config_t *self, char *err, size_t errlen)
{
    for (size_t i = 0; i < self->n_keys; i++)
        if (self->schema[i].required && !self->values[i]) {
            snprintf(err, errlen, "missing required setting '%s'", self->schema[i].key);
            return -1;
        }
    return 0;
}

#define FAIL_AT(mark, ...)                                                                         \
    do {                                                                                           \
        char why_[1024];                                                                           \
        snprintf(why_, sizeof why_, __VA_ARGS__);                                                  \
        snprintf(err, errlen, "%s:%zu:%zu: %s", path, (mark).line + 1, (mark).column + 1, why_);   \
        goto fail;                                                                                 \
    } while (0)

config_t *config_load(const char *path, const config_key_t *schema, size_t n_keys, char *err,
                      size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    if (fileio_read(path, CONFIG_FILE_MAX, &text, &len, err, errlen) != 0)
        return NULL;
    config_t *self = config_new(schema, n_keys);
    yaml_parser_t parser;
    yaml_event_t event;
    bool parser_ready = false, have_event = false;
    bool *seen = calloc(n_keys ? n_keys : 1, sizeof *seen);
    if (!self || !seen || !yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "out of memory reading %s", path);
        goto fail;
    }
    parser_ready = true;
    free(self->base_dir);
    const char *slash = strrchr(path, '/');
    self->base_dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    /* States: 0 before the mapping, 1 expecting a key, 2 expecting a value, 3 done. */
    int state = 0;
    long key_index = -1;
    for (;;) {
        if (!yaml_parser_parse(&parser, &event)) {
            snprintf(err, errlen, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
                     parser.problem_mark.column + 1,
                     parser.problem ? parser.problem : "YAML syntax error");
            goto fail;
        }
        have_event = true;
        yaml_event_type_t type = event.type;
        if (type == YAML_STREAM_END_EVENT)
            break;
        if (type == YAML_ALIAS_EVENT || (type == YAML_SCALAR_EVENT && event.data.scalar.anchor) ||
            (type == YAML_MAPPING_START_EVENT && event.data.mapping_start.anchor))
            FAIL_AT(event.start_mark, "anchors and aliases are not allowed here");
        if (type == YAML_STREAM_START_EVENT || type == YAML_DOCUMENT_START_EVENT ||
            type == YAML_DOCUMENT_END_EVENT) {
            /* nothing to do */
        } else if (state == 0 && type == YAML_MAPPING_START_EVENT) {
            state = 1;
        } else if (state == 1 && type == YAML_MAPPING_END_EVENT) {
            state = 3;
        } else if (state == 1 && type == YAML_SCALAR_EVENT) {
            const char *key = (const char *)event.data.scalar.value;
            key_index = s_index(self, key);
            if (key_index < 0)
                FAIL_AT(event.start_mark, "unknown key '%.64s'", key);
            if (seen[key_index])
                FAIL_AT(event.start_mark, "duplicate key '%.64s'", key);
            seen[key_index] = true;
            state = 2;
        } else if (state == 2 && type == YAML_SCALAR_EVENT) {
            char why[600];
            if (config_set(self, schema[key_index].key, (const char *)event.data.scalar.value, why,
                           sizeof why) != 0)
                FAIL_AT(event.start_mark, "%s", why);
            state = 1;
        } else if (state == 2) {
            FAIL_AT(event.start_mark, "'%s' must have a single value, not a list or mapping",
                    schema[key_index].key);
        } else {
            FAIL_AT(event.start_mark, "expected 'key: value' lines (a flat mapping)");
        }
        yaml_event_delete(&event);
        have_event = false;
    }
    yaml_event_delete(&event);
    yaml_parser_delete(&parser);
    free(seen);
    free(text);
    return self;
fail:
    if (have_event)
        yaml_event_delete(&event);
    if (parser_ready)
        yaml_parser_delete(&parser);
    free(seen);
    free(text);
    config_destroy(&self);
    return NULL;
}

const char *config_string(const config_t *self, const char *key)
{
    long i = s_index(self, key);
    return i < 0 ? NULL : self->values[i];
}

uint64_t config_uint(const config_t *self, const char *key)
{
    const char *value = config_string(self, key);
    return value ? strtoull(value, NULL, 10) : 0;
}

bool config_bool(const config_t *self, const char *key)
{
    const char *value = config_string(self, key);
    return value && strcmp(value, "true") == 0;
}

const char *config_path(const config_t *self, const char *key, char *out, size_t outlen)
{
    const char *value = config_string(self, key);
    if (!value)
        return NULL;
    int n = value[0] == '/' ? snprintf(out, outlen, "%s", value)
                            : snprintf(out, outlen, "%s/%s", self->base_dir, value);
    return n >= 0 && (size_t)n < outlen ? out : NULL;
}
