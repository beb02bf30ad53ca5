/*  settings: reading pseudonymd.yaml; see settings.h. */
#include "settings.h"

#include "fileio.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* One load: the document and where errors go. */
typedef struct {
    yaml_document_t doc; /* the parsed file */
    const char *path;    /* for messages */
    char *err;           /* the caller's buffer */
    size_t errlen;
    char dir[SETTINGS_PATH_MAX]; /* the file's directory, for relative paths */
} loader_t;

/* `fmt` is always a literal of this file with at most two %s, for `a` and
   `b` (NULL reads as ""): the format check cannot see it through here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int s_fail(loader_t *l, const yaml_node_t *node, const char *fmt, const char *a,
                  const char *b)
{
    char why[600];
    snprintf(why, sizeof why, fmt, a ? a : "", b ? b : "");
    if (node)
        snprintf(l->err, l->errlen, "%s:%zu:%zu: %s", l->path, (size_t)node->start_mark.line + 1,
                 (size_t)node->start_mark.column + 1, why);
    else
        snprintf(l->err, l->errlen, "%s: %s", l->path, why);
    return -1;
}
#pragma GCC diagnostic pop

static const char *s_scalar(const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

static int s_string(loader_t *l, const yaml_node_t *node, const char *key, char *out, size_t cap)
{
    const char *text = s_scalar(node);
    if (!text || !text[0] || strlen(text) >= cap || strchr(text, '\n'))
        return s_fail(l, node, "'%s' must be a non-empty string on one line", key, NULL);
    memcpy(out, text, strlen(text) + 1);
    return 0;
}

static int s_org(loader_t *l, const yaml_node_t *node, const char *key, char *out)
{
    const char *text = s_scalar(node);
    if (!names_is_org(text))
        return s_fail(l, node, "'%s' must be an org id, 1-32 of [a-z0-9-]", key, NULL);
    memcpy(out, text, strlen(text) + 1);
    return 0;
}

static int s_path(loader_t *l, const yaml_node_t *node, const char *key, char *out)
{
    char value[SETTINGS_PATH_MAX];
    if (s_string(l, node, key, value, sizeof value) != 0)
        return -1;
    int n = value[0] == '/' ? snprintf(out, SETTINGS_PATH_MAX, "%s", value)
                            : snprintf(out, SETTINGS_PATH_MAX, "%s/%s", l->dir, value);
    if (n < 0 || n >= SETTINGS_PATH_MAX)
        return s_fail(l, node, "'%s' is too long a path", key, NULL);
    return 0;
}

static int s_count(loader_t *l, const yaml_node_t *node, const char *key, uint32_t *out)
{
    const char *text = s_scalar(node);
    char *end = NULL;
    errno = 0;
    unsigned long long v = text && text[0] >= '0' && text[0] <= '9' ? strtoull(text, &end, 10) : 0;
    if (!text || !end || *end || errno || v < 1 || v > UINT32_MAX)
        return s_fail(l, node, "'%s' must be a whole number from 1 to 4294967295", key, NULL);
    *out = (uint32_t)v;
    return 0;
}

/* {per_minute: N, per_day: N}, both required. */
static int s_limits(loader_t *l, const yaml_node_t *node, const char *what,
                    rate_limit_limits_t *out)
{
    if (!node || node->type != YAML_MAPPING_NODE)
        return s_fail(l, node, "%s must be a mapping {per_minute: N, per_day: N}", what, NULL);
    bool minute = false, day = false;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&l->doc, p->value);
        const char *key = s_scalar(k);
        if (key && strcmp(key, "per_minute") == 0 && !minute) {
            if (s_count(l, v, "per_minute", &out->per_minute) != 0)
                return -1;
            minute = true;
        } else if (key && strcmp(key, "per_day") == 0 && !day) {
            if (s_count(l, v, "per_day", &out->per_day) != 0)
                return -1;
            day = true;
        } else
            return s_fail(l, k, "unknown or repeated key '%s' in %s (per_minute, per_day)",
                          key ? key : "?", what);
    }
    if (!minute || !day)
        return s_fail(l, node, "%s needs both per_minute and per_day", what, NULL);
    return 0;
}

static int s_limits_section(loader_t *l, const yaml_node_t *node, settings_t *s)
{
    if (!node || node->type != YAML_MAPPING_NODE)
        return s_fail(l, node, "'limits' must be a mapping with default and clients", NULL, NULL);
    bool have_default = false;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&l->doc, p->value);
        const char *key = s_scalar(k);
        if (key && strcmp(key, "default") == 0 && !have_default) {
            if (s_limits(l, v, "limits.default", &s->limits) != 0)
                return -1;
            have_default = true;
        } else if (key && strcmp(key, "clients") == 0) {
            if (!v || v->type != YAML_MAPPING_NODE)
                return s_fail(l, v, "limits.clients must be a mapping org: {per_minute, per_day}",
                              NULL, NULL);
            for (yaml_node_pair_t *c = v->data.mapping.pairs.start; c < v->data.mapping.pairs.top;
                 c++) {
                yaml_node_t *ck = yaml_document_get_node(&l->doc, c->key);
                if (s->n_clients >= SETTINGS_CLIENTS_MAX)
                    return s_fail(l, ck, "too many entries in limits.clients", NULL, NULL);
                settings_override_t *o = &s->clients[s->n_clients];
                if (s_org(l, ck, "limits.clients", o->org) != 0)
                    return -1;
                for (size_t i = 0; i < s->n_clients; i++)
                    if (strcmp(s->clients[i].org, o->org) == 0)
                        return s_fail(l, ck, "'%s' appears twice in limits.clients", o->org, NULL);
                if (s_limits(l, yaml_document_get_node(&l->doc, c->value), "a client's limits",
                             &o->limits) != 0)
                    return -1;
                s->n_clients++;
            }
        } else
            return s_fail(l, k, "unknown or repeated key '%s' in limits (default, clients)",
                          key ? key : "?", NULL);
    }
    if (!have_default)
        return s_fail(l, node, "limits needs a default {per_minute: N, per_day: N}", NULL, NULL);
    return 0;
}

static int s_revoked(loader_t *l, const yaml_node_t *node, settings_t *s)
{
    if (!node || node->type != YAML_SEQUENCE_NODE)
        return s_fail(l, node, "'revoked' must be a list of org ids", NULL, NULL);
    for (yaml_node_item_t *i = node->data.sequence.items.start; i < node->data.sequence.items.top;
         i++) {
        yaml_node_t *item = yaml_document_get_node(&l->doc, *i);
        if (s->n_revoked >= SETTINGS_REVOKED_MAX)
            return s_fail(l, item, "too many entries in revoked", NULL, NULL);
        if (s_org(l, item, "revoked", s->revoked[s->n_revoked]) != 0)
            return -1;
        s->n_revoked++;
    }
    return 0;
}

static const char *s_role_keys[SETTINGS_ROLES] = {"partner", "coordinator", "officer"};

static int s_purposes(loader_t *l, const yaml_node_t *node, settings_t *s)
{
    if (!node || node->type != YAML_MAPPING_NODE)
        return s_fail(l, node, "'purposes' must map partner, coordinator, officer to lists", NULL,
                      NULL);
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&l->doc, p->value);
        const char *key = s_scalar(k);
        int role = -1;
        for (int r = 0; r < SETTINGS_ROLES; r++)
            if (key && strcmp(key, s_role_keys[r]) == 0)
                role = r;
        if (role < 0)
            return s_fail(l, k, "unknown role '%s' in purposes (partner, coordinator, officer)",
                          key ? key : "?", NULL);
        if (!v || v->type != YAML_SEQUENCE_NODE)
            return s_fail(l, v, "purposes.%s must be a list", key, NULL);
        s->n_purposes[role] = 0;
        for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
             i++) {
            yaml_node_t *item = yaml_document_get_node(&l->doc, *i);
            const char *purpose = s_scalar(item);
            if (s->n_purposes[role] >= SETTINGS_PURPOSES_MAX)
                return s_fail(l, item, "too many purposes for %s", key, NULL);
            if (!psd_purpose_is_valid(purpose))
                return s_fail(l, item, "a purpose is 1-64 of [a-z0-9_-]", NULL, NULL);
            memcpy(s->purposes[role][s->n_purposes[role]++], purpose, strlen(purpose) + 1);
        }
    }
    return 0;
}

/* The defaults of issue 17: daemons send, officers search. */
static void s_default_purposes(settings_t *s)
{
    snprintf(s->purposes[SETTINGS_ROLE_PARTNER][0], PSD_PURPOSE_MAX + 1, "send");
    snprintf(s->purposes[SETTINGS_ROLE_COORDINATOR][0], PSD_PURPOSE_MAX + 1, "send");
    snprintf(s->purposes[SETTINGS_ROLE_OFFICER][0], PSD_PURPOSE_MAX + 1, "art15");
    snprintf(s->purposes[SETTINGS_ROLE_OFFICER][1], PSD_PURPOSE_MAX + 1, "audit_query");
    s->n_purposes[SETTINGS_ROLE_PARTNER] = 1;
    s->n_purposes[SETTINGS_ROLE_COORDINATOR] = 1;
    s->n_purposes[SETTINGS_ROLE_OFFICER] = 2;
}

/* The top-level keys. */
enum {
    K_ORG,
    K_BIND,
    K_KEYS,
    K_OPRF,
    K_CERTS,
    K_STORE,
    K_COORD,
    K_LIMITS,
    K_REVOKED,
    K_PURPOSES,
    K_LOG,
    K_COUNT
};
static const char *s_keys[K_COUNT] = {"org",          "bind",     "keys",        "oprf_key",
                                      "certificates", "store",    "coordinator", "limits",
                                      "revoked",      "purposes", "log_level"};
static const bool s_required[K_COUNT] = {true, true, true,  true,  true, true,
                                         true, true, false, false, false};

static int s_top(loader_t *l, const yaml_node_t *root, settings_t *s)
{
    if (!root || root->type != YAML_MAPPING_NODE)
        return s_fail(l, root, "the file must be one mapping of keys (org, bind, ...)", NULL, NULL);
    bool seen[K_COUNT] = {false};
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&l->doc, p->value);
        const char *key = s_scalar(k);
        int which = -1;
        for (int i = 0; i < K_COUNT; i++)
            if (key && strcmp(key, s_keys[i]) == 0)
                which = i;
        if (which < 0)
            return s_fail(l, k, "unknown key '%s'", key ? key : "?", NULL);
        if (seen[which])
            return s_fail(l, k, "key '%s' appears twice", key, NULL);
        seen[which] = true;
        int rc = 0;
        switch (which) {
        case K_ORG:
            rc = s_org(l, v, key, s->org);
            break;
        case K_BIND:
            rc = s_string(l, v, key, s->bind, sizeof s->bind);
            break;
        case K_KEYS:
            rc = s_path(l, v, key, s->keys);
            break;
        case K_OPRF:
            rc = s_path(l, v, key, s->oprf_key);
            break;
        case K_CERTS:
            rc = s_path(l, v, key, s->certificates);
            break;
        case K_STORE:
            rc = s_path(l, v, key, s->store);
            break;
        case K_COORD:
            rc = s_org(l, v, key, s->coordinator);
            break;
        case K_LIMITS:
            rc = s_limits_section(l, v, s);
            break;
        case K_REVOKED:
            rc = s_revoked(l, v, s);
            break;
        case K_PURPOSES:
            rc = s_purposes(l, v, s);
            break;
        case K_LOG:
            rc = s_string(l, v, key, s->log_level, sizeof s->log_level);
            break;
        }
        if (rc != 0)
            return -1;
    }
    for (int i = 0; i < K_COUNT; i++)
        if (s_required[i] && !seen[i])
            return s_fail(l, NULL, "missing required key '%s'", s_keys[i], NULL);
    return 0;
}

settings_t *settings_load(const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    if (fileio_read(path, SETTINGS_FILE_MAX, &text, &len, err, errlen) != 0)
        return NULL;
    settings_t *s = calloc(1, sizeof *s);
    loader_t l = {.path = path, .err = err, .errlen = errlen};
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(l.dir, sizeof l.dir, "%.*s", (int)(slash - path), path);
    else
        snprintf(l.dir, sizeof l.dir, ".");
    if (slash == path)
        snprintf(l.dir, sizeof l.dir, "/");
    yaml_parser_t parser;
    bool parsed = false;
    int rc = -1;
    if (!s || !yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: out of memory", path);
        free(text);
        free(s);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &l.doc))
        snprintf(err, errlen, "%s:%zu:%zu: %s", path, (size_t)parser.problem_mark.line + 1,
                 (size_t)parser.problem_mark.column + 1,
                 parser.problem ? parser.problem : "not YAML");
    else {
        parsed = true;
        snprintf(s->log_level, sizeof s->log_level, "info");
        s_default_purposes(s);
        rc = s_top(&l, yaml_document_get_root_node(&l.doc), s);
    }
    if (parsed)
        yaml_document_delete(&l.doc);
    yaml_parser_delete(&parser);
    free(text);
    if (rc == 0 && s->limits.per_minute > s->limits.per_day)
        rc = s_fail(&l, NULL, "limits.default: per_minute is above per_day", NULL, NULL);
    if (rc != 0) {
        free(s);
        return NULL;
    }
    return s;
}

const rate_limit_limits_t *settings_limits(const settings_t *self, const char *org)
{
    for (size_t i = 0; i < self->n_clients; i++)
        if (strcmp(self->clients[i].org, org) == 0)
            return &self->clients[i].limits;
    return &self->limits;
}

bool settings_is_revoked(const settings_t *self, const char *org)
{
    for (size_t i = 0; i < self->n_revoked; i++)
        if (strcmp(self->revoked[i], org) == 0)
            return true;
    return false;
}

bool settings_purpose_allowed(const settings_t *self, settings_role_t role, const char *purpose)
{
    if ((unsigned)role >= SETTINGS_ROLES)
        return false;
    for (size_t i = 0; i < self->n_purposes[role]; i++)
        if (strcmp(self->purposes[role][i], purpose) == 0)
            return true;
    return false;
}
