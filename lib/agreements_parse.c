/*  agreements_parse: YAML text -> validated agreements_t.

    Two steps. First libyaml's event parser builds a small tree of nodes,
    each with its line and column; this is where hostile input is stopped
    (size, depth, node count, scalar length, anchors, aliases, tags, more
    than one document). Then the tree is validated against the format in
    docs/agreements.md, collecting every error (up to a cap) rather than
    stopping at the first, and the model is built. A model is returned only
    when there is no error at all.
*/
#include "agreements_internal.h"
#include "date.h"
#include "names.h"
#include "suggest.h"

#include <errno.h>
#include <sodium.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* ----------------------------------------------------------------- tree */

typedef enum { NODE_SCALAR, NODE_SEQ, NODE_MAP, NODE_BAD } node_kind_t;

/* A YAML node. A mapping's children alternate key, value. */
typedef struct node_t node_t;
struct node_t {
    node_kind_t kind;      /* scalar, sequence, mapping, or BAD (already reported) */
    uint32_t line, column; /* 1-based start position */
    bool plain;            /* scalar written without quotes */
    const char *value;     /* scalar text, NUL-terminated (may hold inner NULs: see len) */
    size_t len;            /* scalar bytes */
    node_t *first, *last;  /* children */
    node_t *next;          /* next sibling */
    size_t count;          /* children */
};

typedef struct {
    agreements_errors_t *errors; /* where problems go */
    arena_t tree;                /* nodes and scalars; freed after validation */
    size_t nodes;                /* nodes created so far */
    agreements_t *model;         /* being built */
} ctx_t;

static void s_error(ctx_t *ctx, uint32_t line, uint32_t column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void s_error(ctx_t *ctx, uint32_t line, uint32_t column, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    agreements_errors_addv(ctx->errors, line, column, fmt, args);
    va_end(args);
}

#define s_error_at(ctx, node, ...) s_error((ctx), (node)->line, (node)->column, __VA_ARGS__)

/* Quotes file content for a message: short, printable, never a terminal escape. */
static const char *s_show(const node_t *node, char buf[48])
{
    if (node->kind != NODE_SCALAR) {
        snprintf(buf, 48, "%s", node->kind == NODE_MAP ? "a mapping" : "a list");
        return buf;
    }
    size_t len = node->len < 40 ? node->len : 40;
    size_t o = 0;
    buf[o++] = '\'';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)node->value[i];
        buf[o++] = (c >= 0x20 && c <= 0x7e) ? (char)c : '?';
    }
    if (node->len > 40) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

static uint32_t s_pos(size_t zero_based)
{
    return zero_based >= UINT32_MAX ? UINT32_MAX : (uint32_t)zero_based + 1;
}

static node_t *s_node_new(ctx_t *ctx, node_kind_t kind, yaml_mark_t mark)
{
    if (ctx->nodes >= AGREEMENTS_NODES_MAX) {
        s_error(ctx, s_pos(mark.line), s_pos(mark.column),
                "too many YAML nodes (more than %d): not an agreements file", AGREEMENTS_NODES_MAX);
        return NULL;
    }
    node_t *node = arena_alloc(&ctx->tree, sizeof *node);
    if (!node) {
        s_error(ctx, 0, 0, "out of memory");
        return NULL;
    }
    ctx->nodes++;
    node->kind = kind;
    node->line = s_pos(mark.line);
    node->column = s_pos(mark.column);
    return node;
}

static void s_node_append(node_t *parent, node_t *child)
{
    if (parent->last)
        parent->last->next = child;
    else
        parent->first = child;
    parent->last = child;
    parent->count++;
}

/* Anchors, aliases and tags: a policy file never needs them, and aliases are how
   "billion laughs" files blow up. Refused where they appear. */
static bool s_refuse_extras(ctx_t *ctx, yaml_mark_t mark, const yaml_char_t *anchor,
                            const yaml_char_t *tag)
{
    bool bad = false;
    if (anchor) {
        s_error(ctx, s_pos(mark.line), s_pos(mark.column),
                "anchors (&) are not allowed in an agreements file");
        bad = true;
    }
    if (tag) {
        s_error(ctx, s_pos(mark.line), s_pos(mark.column),
                "tags (!) are not allowed in an agreements file");
        bad = true;
    }
    return bad;
}

/* libyaml's raw text for the mistakes people make most, in plain words. */
static const char *s_yaml_plain(const char *problem)
{
    if (strstr(problem, "tab"))
        return "a tab is not allowed for indentation in YAML; use spaces";
    if (strstr(problem, "mapping values are not allowed"))
        return "a ':' where no key can start: check this line's indentation, or put the value in "
               "quotes when it contains ': '";
    if (strstr(problem, "did not find expected key") ||
        strstr(problem, "did not find expected '-' indicator"))
        return "this line is indented differently from the keys above it; indent keys at the same "
               "level with the same number of spaces";
    return NULL;
}

/* Builds the tree of the single document in text. Returns the root, or NULL
   after reporting why (syntax error, hostile input, empty file). */
static node_t *s_build_tree(ctx_t *ctx, const char *text, size_t len)
{
    /* A NUL byte means binary data; libyaml would only say "control characters are
       not allowed" somewhere later. Say what it is, and where. */
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        uint32_t line = 1, column = 1;
        for (const char *p = text; p < nul; p++) {
            if (*p == '\n') {
                line++;
                column = 1;
            } else
                column++;
        }
        s_error(ctx, line, column, "NUL byte: this is a binary file, not YAML text");
        return NULL;
    }

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        s_error(ctx, 0, 0, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

    node_t *stack[AGREEMENTS_DEPTH_MAX + 1];
    size_t depth = 0;
    node_t *root = NULL;
    int documents = 0;
    bool done = false, failed = false;

    while (!done && !failed) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event)) {
            char problem[160];
            snprintf(problem, sizeof problem, "%s", parser.problem ? parser.problem : "error");
            const char *plain = s_yaml_plain(problem);
            if (plain)
                s_error(ctx, s_pos(parser.problem_mark.line), s_pos(parser.problem_mark.column),
                        "YAML syntax error: %s (libyaml: %s)", plain, problem);
            else if (parser.context)
                s_error(ctx, s_pos(parser.problem_mark.line), s_pos(parser.problem_mark.column),
                        "YAML syntax error: %s %s", problem, parser.context);
            else
                s_error(ctx, s_pos(parser.problem_mark.line), s_pos(parser.problem_mark.column),
                        "YAML syntax error: %s", problem);
            failed = true;
            break;
        }
        node_t *node = NULL;
        node_t *parent = depth ? stack[depth - 1] : NULL;
        switch (event.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_NO_EVENT:
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1) {
                s_error(ctx, s_pos(event.start_mark.line), s_pos(event.start_mark.column),
                        "more than one YAML document: an agreements file holds exactly one");
                failed = true;
            }
            break;
        case YAML_DOCUMENT_END_EVENT:
            break;
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_ALIAS_EVENT:
            s_error(ctx, s_pos(event.start_mark.line), s_pos(event.start_mark.column),
                    "aliases (*) are not allowed in an agreements file");
            node = s_node_new(ctx, NODE_BAD, event.start_mark);
            failed = !node;
            break;
        case YAML_SCALAR_EVENT: {
            bool bad = s_refuse_extras(ctx, event.start_mark, event.data.scalar.anchor,
                                       event.data.scalar.tag);
            if (event.data.scalar.length > AGREEMENTS_SCALAR_MAX) {
                s_error(ctx, s_pos(event.start_mark.line), s_pos(event.start_mark.column),
                        "value too long (%zu bytes, at most %d)", event.data.scalar.length,
                        AGREEMENTS_SCALAR_MAX);
                bad = true;
            }
            node = s_node_new(ctx, bad ? NODE_BAD : NODE_SCALAR, event.start_mark);
            if (!node) {
                failed = true;
                break;
            }
            if (!bad) {
                node->len = event.data.scalar.length;
                node->value =
                    arena_strndup(&ctx->tree, (const char *)event.data.scalar.value, node->len);
                node->plain = event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                if (!node->value) {
                    s_error(ctx, 0, 0, "out of memory");
                    failed = true;
                }
            }
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            bool seq = event.type == YAML_SEQUENCE_START_EVENT;
            const yaml_char_t *anchor =
                seq ? event.data.sequence_start.anchor : event.data.mapping_start.anchor;
            const yaml_char_t *tag =
                seq ? event.data.sequence_start.tag : event.data.mapping_start.tag;
            s_refuse_extras(ctx, event.start_mark, anchor, tag);
            if (depth >= AGREEMENTS_DEPTH_MAX) {
                s_error(ctx, s_pos(event.start_mark.line), s_pos(event.start_mark.column),
                        "nesting deeper than %d levels: not an agreements file",
                        AGREEMENTS_DEPTH_MAX);
                failed = true;
                break;
            }
            node = s_node_new(ctx, seq ? NODE_SEQ : NODE_MAP, event.start_mark);
            if (!node) {
                failed = true;
                break;
            }
            if (parent)
                s_node_append(parent, node);
            else
                root = node;
            stack[depth++] = node;
            node = NULL; /* already attached */
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth)
                depth--;
            break;
        }
        if (node) {
            if (parent)
                s_node_append(parent, node);
            else if (!root)
                root = node;
        }
        yaml_event_delete(&event);
        if (agreements_errors_full(ctx->errors))
            failed = true;
    }
    yaml_parser_delete(&parser);
    if (failed)
        return NULL;
    if (!root) {
        s_error(ctx, 1, 1,
                "empty file: expected a mapping with partnership, version, coordinator, "
                "partners and agreements");
        return NULL;
    }
    return root;
}

/* ------------------------------------------------------------ validation */

typedef struct {
    const char *name; /* key */
    bool required;    /* missing is an error */
} key_spec_t;

/* Looks up the keys of a mapping: out[i] = value of spec[i].name or NULL.
   Reports non-mappings, unknown, duplicate and missing keys. Returns false
   when `map` is not a mapping at all. */
static bool s_map(ctx_t *ctx, const node_t *map, const char *what, const key_spec_t *spec, size_t n,
                  const node_t **out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (map->kind == NODE_BAD)
        return false;
    if (map->kind != NODE_MAP) {
        s_error_at(ctx, map, "%s must be a mapping of keys to values", what);
        return false;
    }
    const node_t *seen[16] = {NULL};
    bool suggested[16] = {false}; /* a misspelt key was reported as "did you mean" this one */
    for (const node_t *key = map->first; key && key->next; key = key->next->next) {
        const node_t *value = key->next;
        if (key->kind == NODE_BAD)
            continue;
        char shown[48];
        if (key->kind != NODE_SCALAR) {
            s_error_at(ctx, key, "%s: a key must be a plain name, not %s", what,
                       s_show(key, shown));
            continue;
        }
        size_t i = 0;
        while (i < n && !(strlen(spec[i].name) == key->len &&
                          memcmp(spec[i].name, key->value, key->len) == 0))
            i++;
        if (i == n) {
            const char *names[16];
            size_t n_names = 0;
            for (size_t k = 0; k < n && k < 16; k++)
                if (!seen[k] && !suggested[k])
                    names[n_names++] = spec[k].name;
            const char *near = suggest_nearest(key->value, names, n_names);
            if (near) {
                for (size_t k = 0; k < n && k < 16; k++)
                    if (spec[k].name == near)
                        suggested[k] = true;
                s_error_at(ctx, key, "unknown key %s in %s: did you mean '%s'?", s_show(key, shown),
                           what, near);
                continue;
            }
            char expected[200];
            size_t o = 0;
            for (size_t k = 0; k < n && o < sizeof expected; k++) {
                int w = snprintf(expected + o, sizeof expected - o, "%s%s", k ? ", " : "",
                                 spec[k].name);
                if (w < 0)
                    break;
                o += (size_t)w;
            }
            s_error_at(ctx, key, "unknown key %s in %s (expected: %s)", s_show(key, shown), what,
                       expected);
            continue;
        }
        if (seen[i]) {
            s_error_at(ctx, key, "duplicate key '%s' in %s (first at line %u)", spec[i].name, what,
                       seen[i]->line);
            continue;
        }
        seen[i] = key;
        out[i] = value;
    }
    for (size_t i = 0; i < n; i++)
        if (spec[i].required && !out[i] && !(i < 16 && suggested[i]))
            s_error_at(ctx, map, "%s: missing required key '%s'", what, spec[i].name);
    return true;
}

/* A scalar value that is not BAD; reports anything else. */
static bool s_scalar(ctx_t *ctx, const node_t *node, const char *what)
{
    if (node->kind == NODE_BAD)
        return false;
    if (node->kind != NODE_SCALAR) {
        char shown[48];
        s_error_at(ctx, node, "%s must be a single value, not %s", what, s_show(node, shown));
        return false;
    }
    return true;
}

/* Token: [a-z0-9_-]{1,64}. Returns the arena copy in the model, or NULL. */
static const char *s_token(ctx_t *ctx, const node_t *node, const char *what)
{
    if (!s_scalar(ctx, node, what))
        return NULL;
    if (!names_is_token_n(node->value, node->len)) {
        char shown[48];
        s_error_at(ctx, node, "%s %s is not a valid name ([a-z0-9_-], 1 to %d characters)", what,
                   s_show(node, shown), NAMES_TOKEN_MAX);
        return NULL;
    }
    return node->value;
}

static const char *s_org(ctx_t *ctx, const node_t *node, const char *what)
{
    if (!s_scalar(ctx, node, what))
        return NULL;
    if (!names_is_org_n(node->value, node->len)) {
        char shown[48];
        s_error_at(ctx, node,
                   "%s %s is not a valid org id ([a-z0-9-], 1 to %d characters, not starting "
                   "with '-')",
                   what, s_show(node, shown), NAMES_ORG_MAX);
        return NULL;
    }
    return node->value;
}

/* A known partner's org id, or INTERN_NONE after reporting. */
static uint32_t s_partner(ctx_t *ctx, const node_t *node, const char *what)
{
    const char *org = s_org(ctx, node, what);
    if (!org)
        return INTERN_NONE;
    uint32_t id = intern_find(&ctx->model->orgs, node->value, node->len);
    if (id == INTERN_NONE) {
        const char *near = suggest_nearest(org, (const char *const *)ctx->model->orgs.names,
                                           ctx->model->orgs.count);
        if (near)
            s_error_at(ctx, node, "%s '%s' is not in the partner list: did you mean '%s'?", what,
                       org, near);
        else
            s_error_at(ctx, node, "%s '%s' is not in the partner list", what, org);
    }
    return id;
}

static const char *s_text(ctx_t *ctx, const node_t *node, const char *what)
{
    if (!s_scalar(ctx, node, what))
        return NULL;
    if (strlen(node->value) != node->len || !names_is_text(node->value, NAMES_TEXT_MAX)) {
        s_error_at(ctx, node, "%s must be 1 to %d bytes of UTF-8 text without control characters",
                   what, NAMES_TEXT_MAX);
        return NULL;
    }
    return node->value;
}

/* Unsigned decimal integer in [min, max], unquoted. */
static bool s_uint(ctx_t *ctx, const node_t *node, const char *what, uint64_t min, uint64_t max,
                   uint64_t *out)
{
    if (!s_scalar(ctx, node, what))
        return false;
    char shown[48];
    bool digits = node->plain && node->len > 0 && node->len <= 20;
    for (size_t i = 0; digits && i < node->len; i++)
        if (node->value[i] < '0' || node->value[i] > '9')
            digits = false;
    if (digits && node->len > 1 && node->value[0] == '0')
        digits = false; /* YAML 1.1 reads a leading zero as octal: refuse the ambiguity */
    if (!digits) {
        s_error_at(ctx, node, "%s must be a whole number, not %s", what, s_show(node, shown));
        return false;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(node->value, &end, 10);
    if (errno == ERANGE || end != node->value + node->len || v < min || v > max) {
        s_error_at(ctx, node, "%s must be between %llu and %llu, not %s", what,
                   (unsigned long long)min, (unsigned long long)max, s_show(node, shown));
        return false;
    }
    *out = v;
    return true;
}

static bool s_bool(ctx_t *ctx, const node_t *node, const char *what, bool *out)
{
    if (!s_scalar(ctx, node, what))
        return false;
    /* Only true/false: YAML 1.1 also reads yes/no/on/off as booleans, and "no" is a
       country code and a word; one spelling leaves no doubt. */
    if (node->plain && strcmp(node->value, "true") == 0)
        *out = true;
    else if (node->plain && strcmp(node->value, "false") == 0)
        *out = false;
    else {
        char shown[48];
        s_error_at(ctx, node, "%s must be true or false, not %s", what, s_show(node, shown));
        return false;
    }
    return true;
}

static bool s_date(ctx_t *ctx, const node_t *node, const char *what, int32_t *out)
{
    if (!s_scalar(ctx, node, what))
        return false;
    int64_t day;
    if (date_parse(node->value, node->len, &day) != 0) {
        char shown[48];
        s_error_at(ctx, node, "%s must be a date YYYY-MM-DD (1970 or later), not %s", what,
                   s_show(node, shown));
        return false;
    }
    *out = (int32_t)day; /* at most 9999-12-31: fits */
    return true;
}

/* A non-empty sequence. */
static bool s_list(ctx_t *ctx, const node_t *node, const char *what)
{
    if (node->kind == NODE_BAD)
        return false;
    if (node->kind != NODE_SEQ) {
        char shown[48];
        s_error_at(ctx, node, "%s must be a list, not %s", what, s_show(node, shown));
        return false;
    }
    if (node->count == 0) {
        s_error_at(ctx, node, "%s must not be empty", what);
        return false;
    }
    return true;
}

/* One list entry, for finding repeated entries by sorting rather than by
   comparing every pair (lists are hostile input and may be long). */
typedef struct {
    uint32_t id;        /* interned id of the entry */
    uint32_t pos;       /* position in the list */
    const node_t *node; /* the entry, for its line and column */
} entry_t;

static int s_entry_cmp(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Reports every repeat of an entry, at the repeat, naming the first. Sorts `entries`. */
static bool s_report_duplicates(ctx_t *ctx, entry_t *entries, size_t n, const char *what)
{
    qsort(entries, n, sizeof *entries, s_entry_cmp);
    bool dup = false;
    size_t first = 0;
    for (size_t i = 1; i < n; i++) {
        if (entries[i].id != entries[first].id) {
            first = i;
            continue;
        }
        s_error_at(ctx, entries[i].node, "duplicate %s '%s' (first at line %u)", what,
                   entries[i].node->value, entries[first].node->line);
        dup = true;
    }
    return dup;
}

static int s_id_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* A list of tokens, interned into `table`; fills names (file order, model
   copies) and ids (sorted). Returns the count, 0 on any error. */
static size_t s_token_list(ctx_t *ctx, const node_t *list, const char *what, const char *item_what,
                           intern_t *table, const char *const **names_out, const uint32_t **ids_out)
{
    if (!s_list(ctx, list, what))
        return 0;
    agreements_t *m = ctx->model;
    const char **names = arena_alloc(&m->arena, list->count * sizeof *names);
    uint32_t *ids = arena_alloc(&m->arena, list->count * sizeof *ids);
    entry_t *entries = malloc(list->count * sizeof *entries);
    if (!names || !ids || !entries) {
        free(entries);
        s_error(ctx, 0, 0, "out of memory");
        return 0;
    }
    size_t n = 0;
    bool ok = true;
    for (const node_t *item = list->first; item; item = item->next) {
        if (!s_token(ctx, item, item_what)) {
            ok = false;
            continue;
        }
        bool added;
        uint32_t id = intern_add(table, &m->arena, item->value, item->len, &added);
        if (id == INTERN_NONE) {
            free(entries);
            s_error(ctx, 0, 0, "out of memory");
            return 0;
        }
        names[n] = table->names[id];
        ids[n] = id;
        entries[n] = (entry_t){id, (uint32_t)n, item};
        n++;
    }
    if (s_report_duplicates(ctx, entries, n, item_what))
        ok = false;
    free(entries);
    if (!ok)
        return 0;
    qsort(ids, n, sizeof *ids, s_id_cmp);
    *names_out = names;
    if (ids_out)
        *ids_out = ids;
    return n;
}

/* A list of partner orgs; returns the count, 0 on any error. */
static size_t s_org_list(ctx_t *ctx, const node_t *list, const char *what, const char *item_what,
                         const char *const **names_out)
{
    if (!s_list(ctx, list, what))
        return 0;
    agreements_t *m = ctx->model;
    const char **names = arena_alloc(&m->arena, list->count * sizeof *names);
    entry_t *entries = malloc(list->count * sizeof *entries);
    if (!names || !entries) {
        free(entries);
        s_error(ctx, 0, 0, "out of memory");
        return 0;
    }
    size_t n = 0;
    bool ok = true;
    for (const node_t *item = list->first; item; item = item->next) {
        uint32_t id = s_partner(ctx, item, item_what);
        if (id == INTERN_NONE) {
            ok = false;
            continue;
        }
        names[n] = m->orgs.names[id];
        entries[n] = (entry_t){id, (uint32_t)n, item};
        n++;
    }
    if (s_report_duplicates(ctx, entries, n, item_what))
        ok = false;
    free(entries);
    if (!ok)
        return 0;
    *names_out = names;
    return n;
}

/* `what` for messages about one entry: by id when it has a valid one. */
static void s_entry_name(char *buf, size_t size, const char *kind, size_t index, const node_t *id)
{
    if (id && id->kind == NODE_SCALAR && names_is_token_n(id->value, id->len))
        snprintf(buf, size, "%s '%s'", kind, id->value);
    else
        snprintf(buf, size, "%s #%zu", kind, index + 1);
}

/* The value node of key `name` in a mapping, without reporting anything. */
static const node_t *s_peek(const node_t *map, const char *name)
{
    if (map->kind != NODE_MAP)
        return NULL;
    for (const node_t *key = map->first; key && key->next; key = key->next->next)
        if (key->kind == NODE_SCALAR && strcmp(key->value, name) == 0 && key->len == strlen(name))
            return key->next;
    return NULL;
}

static void s_partners(ctx_t *ctx, const node_t *list)
{
    agreements_t *m = ctx->model;
    if (!s_list(ctx, list, "partners"))
        return;
    if (list->count > AGREEMENTS_PARTNERS_MAX) {
        s_error_at(ctx, list, "too many partners (%zu, at most %d)", list->count,
                   AGREEMENTS_PARTNERS_MAX);
        return;
    }
    m->partners = arena_alloc(&m->arena, list->count * sizeof *m->partners);
    if (!m->partners) {
        s_error(ctx, 0, 0, "out of memory");
        return;
    }
    static const key_spec_t spec[] = {{"org", true},          {"role", true},
                                      {"name", false},        {"may_send", false},
                                      {"may_receive", false}, {"receives_alerts", false}};
    enum { K_ORG, K_ROLE, K_NAME, K_SEND, K_RECEIVE, K_ALERTS, K_N };
    size_t index = 0;
    for (const node_t *item = list->first; item; item = item->next, index++) {
        const node_t *v[K_N];
        char what[96];
        const node_t *org_node = s_peek(item, "org");
        if (org_node && org_node->kind == NODE_SCALAR &&
            names_is_org_n(org_node->value, org_node->len))
            snprintf(what, sizeof what, "partner '%s'", org_node->value);
        else
            snprintf(what, sizeof what, "partner #%zu", index + 1);
        if (!s_map(ctx, item, what, spec, K_N, v))
            continue;
        agreements_partner_t p = {0};
        p.line = item->line;
        p.column = item->column;
        p.may_send = true;
        p.may_receive = true;
        bool ok = true;
        if (v[K_ORG]) {
            const char *org = s_org(ctx, v[K_ORG], "partner org");
            uint32_t seen = org ? intern_find(&m->orgs, org, v[K_ORG]->len) : INTERN_NONE;
            if (seen != INTERN_NONE)
                s_error_at(ctx, v[K_ORG], "duplicate partner '%s' (first at line %u)", org,
                           m->partners[seen].line);
            ok = org && seen == INTERN_NONE;
        } else
            ok = false;
        if (v[K_ROLE] && s_scalar(ctx, v[K_ROLE], "role")) {
            if (strcmp(v[K_ROLE]->value, "partner") == 0)
                p.role = AGREEMENTS_ROLE_PARTNER;
            else if (strcmp(v[K_ROLE]->value, "coordinator") == 0)
                p.role = AGREEMENTS_ROLE_COORDINATOR;
            else {
                char shown[48];
                s_error_at(ctx, v[K_ROLE], "%s: role must be partner or coordinator, not %s", what,
                           s_show(v[K_ROLE], shown));
            }
        }
        if (v[K_NAME]) {
            const char *name = s_text(ctx, v[K_NAME], "partner name");
            p.name = name ? arena_strndup(&m->arena, name, v[K_NAME]->len) : NULL;
        }
        if (v[K_SEND])
            s_bool(ctx, v[K_SEND], "may_send", &p.may_send);
        if (v[K_RECEIVE])
            s_bool(ctx, v[K_RECEIVE], "may_receive", &p.may_receive);
        bool alerts = false;
        if (v[K_ALERTS])
            s_bool(ctx, v[K_ALERTS], "receives_alerts", &alerts);
        p.receives_alerts = alerts || p.role == AGREEMENTS_ROLE_COORDINATOR;
        if (!ok)
            continue;
        bool added;
        uint32_t id = intern_add(&m->orgs, &m->arena, v[K_ORG]->value, v[K_ORG]->len, &added);
        if (id == INTERN_NONE) {
            s_error(ctx, 0, 0, "out of memory");
            return;
        }
        p.org = m->orgs.names[id];
        m->partners[id] = p;
        m->partner_count = id + 1;
    }
}

static void s_coordinator(ctx_t *ctx, const node_t *node)
{
    agreements_t *m = ctx->model;
    uint32_t id = s_partner(ctx, node, "coordinator");
    if (id == INTERN_NONE)
        return;
    m->coordinator = m->orgs.names[id];
    if (m->partners[id].role != AGREEMENTS_ROLE_COORDINATOR)
        s_error_at(ctx, node,
                   "coordinator '%s' must have role coordinator in the partner list (line %u)",
                   m->coordinator, m->partners[id].line);
    /* One regie: any other partner with role coordinator is a mistake to catch early. */
    for (size_t i = 0; i < m->partner_count; i++)
        if (i != id && m->partners[i].role == AGREEMENTS_ROLE_COORDINATOR)
            s_error(ctx, m->partners[i].line, m->partners[i].column,
                    "partner '%s' has role coordinator, but the coordinator is '%s'",
                    m->partners[i].org, m->coordinator);
}

static void s_agreements(ctx_t *ctx, const node_t *list)
{
    agreements_t *m = ctx->model;
    if (!s_list(ctx, list, "agreements"))
        return;
    m->agreements = arena_alloc(&m->arena, list->count * sizeof *m->agreements);
    m->rules = arena_alloc(&m->arena, list->count * sizeof *m->rules);
    if (!m->agreements || !m->rules) {
        s_error(ctx, 0, 0, "out of memory");
        return;
    }
    static const key_spec_t spec[] = {{"id", true},
                                      {"from", true},
                                      {"to", true},
                                      {"signal_types", true},
                                      {"fields", true},
                                      {"purpose", true},
                                      {"legal_basis", true},
                                      {"valid_from", true},
                                      {"valid_until", true},
                                      {"retention_days", true},
                                      {"max_queue_days", true}};
    enum {
        K_ID,
        K_FROM,
        K_TO,
        K_TYPES,
        K_FIELDS,
        K_PURPOSE,
        K_BASIS,
        K_VFROM,
        K_VUNTIL,
        K_RET,
        K_QUEUE,
        K_N
    };
    intern_t ids = {0};
    /* id -> line of its first agreement; ids are interned in order, so at most one per entry */
    uint32_t *first_line = malloc(list->count * sizeof *first_line);
    if (!first_line) {
        s_error(ctx, 0, 0, "out of memory");
        return;
    }
    size_t index = 0;
    for (const node_t *item = list->first; item; item = item->next, index++) {
        const node_t *v[K_N];
        char what[96];
        s_entry_name(what, sizeof what, "agreement", index, s_peek(item, "id"));
        if (!s_map(ctx, item, what, spec, K_N, v))
            continue;
        agreements_agreement_t a = {0};
        rule_t r = {0};
        a.line = item->line;
        a.column = item->column;
        bool added;

        const char *id = v[K_ID] ? s_token(ctx, v[K_ID], "agreement id") : NULL;
        if (id) {
            uint32_t k = intern_add(&ids, &m->arena, id, v[K_ID]->len, &added);
            if (k == INTERN_NONE) {
                s_error(ctx, 0, 0, "out of memory");
                break;
            }
            if (added)
                first_line[k] = item->line;
            else {
                uint32_t first = first_line[k];
                s_error_at(ctx, v[K_ID], "duplicate agreement id '%s' (first at line %u)", id,
                           first);
            }
            a.id = ids.names[k];
        }

        uint32_t from = v[K_FROM] ? s_partner(ctx, v[K_FROM], "sender") : INTERN_NONE;
        if (from != INTERN_NONE) {
            a.from = m->orgs.names[from];
            r.from = from;
        }

        if (v[K_TO]) {
            a.to_count = s_org_list(ctx, v[K_TO], "to", "recipient", &a.to);
            for (size_t k = 0; k < a.to_count && a.from; k++)
                if (a.to[k] == a.from) /* interned: same pointer == same org */
                    s_error_at(ctx, v[K_TO], "%s: '%s' cannot be both sender and recipient", what,
                               a.from);
        }
        if (v[K_TYPES]) {
            a.signal_type_count = s_token_list(ctx, v[K_TYPES], "signal_types", "signal type",
                                               &m->types, &a.signal_types, &r.types);
            r.type_count = (uint32_t)a.signal_type_count;
        }
        if (v[K_FIELDS]) {
            a.field_count =
                s_token_list(ctx, v[K_FIELDS], "fields", "field", &m->fields, &a.fields, &r.fields);
            r.field_count = (uint32_t)a.field_count;
        }
        if (v[K_PURPOSE]) {
            const char *purpose = s_token(ctx, v[K_PURPOSE], "purpose");
            if (purpose) {
                r.purpose = intern_add(&m->purposes, &m->arena, purpose, v[K_PURPOSE]->len, &added);
                if (r.purpose == INTERN_NONE) {
                    s_error(ctx, 0, 0, "out of memory");
                    break;
                }
                a.purpose = m->purposes.names[r.purpose];
            }
        }
        if (v[K_BASIS]) {
            const char *basis = s_text(ctx, v[K_BASIS], "legal_basis");
            a.legal_basis = basis ? arena_strndup(&m->arena, basis, v[K_BASIS]->len) : NULL;
        }
        bool dates = v[K_VFROM] && s_date(ctx, v[K_VFROM], "valid_from", &a.valid_from);
        dates = v[K_VUNTIL] && s_date(ctx, v[K_VUNTIL], "valid_until", &a.valid_until) && dates;
        if (dates && a.valid_until < a.valid_from) {
            s_error_at(ctx, v[K_VUNTIL], "%s: valid_until %s is before valid_from %s", what,
                       v[K_VUNTIL]->value, v[K_VFROM]->value);
        }
        r.valid_from = a.valid_from;
        r.valid_until = a.valid_until;
        uint64_t n;
        if (v[K_RET] && s_uint(ctx, v[K_RET], "retention_days", AGREEMENTS_RETENTION_MIN,
                               AGREEMENTS_RETENTION_MAX, &n))
            a.retention_days = (uint32_t)n;
        if (v[K_QUEUE] && s_uint(ctx, v[K_QUEUE], "max_queue_days", AGREEMENTS_QUEUE_MIN,
                                 AGREEMENTS_QUEUE_MAX, &n))
            a.max_queue_days = (uint32_t)n;
        /* Any error above is in ctx->errors, which alone decides whether the model is
           returned; a half-filled entry is kept only so later checks can go on. */
        m->agreements[m->agreement_count] = a;
        m->rules[m->agreement_count] = r;
        m->agreement_count++;
    }
    free(first_line);
    intern_free(&ids);
}

static void s_alerts(ctx_t *ctx, const node_t *list)
{
    agreements_t *m = ctx->model;
    if (!s_list(ctx, list, "alerts"))
        return;
    m->alerts = arena_alloc(&m->arena, list->count * sizeof *m->alerts);
    if (!m->alerts) {
        s_error(ctx, 0, 0, "out of memory");
        return;
    }
    static const key_spec_t spec[] = {{"id", true},          {"distinct_senders", true},
                                      {"window_days", true}, {"signal_types", false},
                                      {"notify", true},      {"notify_senders", false},
                                      {"legal_basis", true}};
    enum { K_ID, K_SENDERS, K_WINDOW, K_TYPES, K_NOTIFY, K_NSENDERS, K_BASIS, K_N };
    intern_t ids = {0}, types = {0};
    size_t index = 0;
    for (const node_t *item = list->first; item; item = item->next, index++) {
        const node_t *v[K_N];
        char what[96];
        s_entry_name(what, sizeof what, "alert", index, s_peek(item, "id"));
        if (!s_map(ctx, item, what, spec, K_N, v))
            continue;
        agreements_alert_rule_t a = {0};
        a.line = item->line;
        a.column = item->column;
        bool added;
        const char *id = v[K_ID] ? s_token(ctx, v[K_ID], "alert id") : NULL;
        if (id) {
            uint32_t k = intern_add(&ids, &m->arena, id, v[K_ID]->len, &added);
            if (k == INTERN_NONE) {
                s_error(ctx, 0, 0, "out of memory");
                break;
            }
            if (!added)
                s_error_at(ctx, v[K_ID], "duplicate alert id '%s'", id);
            a.id = ids.names[k];
        }
        uint64_t n;
        if (v[K_SENDERS] && s_uint(ctx, v[K_SENDERS], "distinct_senders", AGREEMENTS_SENDERS_MIN,
                                   AGREEMENTS_SENDERS_MAX, &n))
            a.distinct_senders = (uint32_t)n;
        if (v[K_WINDOW] && s_uint(ctx, v[K_WINDOW], "window_days", AGREEMENTS_WINDOW_MIN,
                                  AGREEMENTS_WINDOW_MAX, &n))
            a.window_days = (uint32_t)n;
        if (v[K_TYPES]) {
            a.signal_type_count = s_token_list(ctx, v[K_TYPES], "signal_types", "signal type",
                                               &types, &a.signal_types, NULL);
            /* A type no agreement allows can never be signalled: almost surely a typo. */
            size_t k = 0;
            for (const node_t *t = v[K_TYPES]->first; t && k < a.signal_type_count;
                 t = t->next, k++)
                if (intern_find(&m->types, t->value, t->len) == INTERN_NONE)
                    s_error_at(ctx, t, "alert signal type '%s' is not allowed by any agreement",
                               t->value);
        }
        if (v[K_NOTIFY]) {
            a.notify_count = s_org_list(ctx, v[K_NOTIFY], "notify", "alert target", &a.notify);
            const node_t *t = v[K_NOTIFY]->first;
            for (size_t k = 0; k < a.notify_count; k++, t = t->next) {
                const agreements_partner_t *p =
                    &m->partners[intern_find(&m->orgs, a.notify[k], strlen(a.notify[k]))];
                if (!p->receives_alerts)
                    s_error_at(ctx, t,
                               "alert target '%s' is not the coordinator; set receives_alerts: "
                               "true on that partner to allow it",
                               a.notify[k]);
            }
        }
        if (v[K_NSENDERS])
            s_bool(ctx, v[K_NSENDERS], "notify_senders", &a.notify_senders);
        if (v[K_BASIS]) {
            const char *basis = s_text(ctx, v[K_BASIS], "legal_basis");
            a.legal_basis = basis ? arena_strndup(&m->arena, basis, v[K_BASIS]->len) : NULL;
        }
        m->alerts[m->alert_count++] = a;
    }
    intern_free(&ids);
    intern_free(&types);
}

/* One participant of a case rule; false after reporting. */
static bool s_case_participant(ctx_t *ctx, const node_t *item, const char *what, intern_t *fields,
                               agreements_case_participant_t *out)
{
    static const key_spec_t spec[] = {{"org", true}, {"fields", true}};
    enum { K_ORG, K_FIELDS, K_N };
    const node_t *v[K_N];
    if (!s_map(ctx, item, what, spec, K_N, v))
        return false;
    uint32_t id = v[K_ORG] ? s_partner(ctx, v[K_ORG], "case participant") : INTERN_NONE;
    if (id == INTERN_NONE)
        return false;
    out->org = ctx->model->orgs.names[id];
    if (v[K_FIELDS])
        out->field_count =
            s_token_list(ctx, v[K_FIELDS], "fields", "case field", fields, &out->fields, NULL);
    return out->field_count > 0;
}

static void s_cases(ctx_t *ctx, const node_t *list)
{
    agreements_t *m = ctx->model;
    if (!s_list(ctx, list, "cases"))
        return;
    m->cases = arena_alloc(&m->arena, list->count * sizeof *m->cases);
    if (!m->cases) {
        s_error(ctx, 0, 0, "out of memory");
        return;
    }
    static const key_spec_t spec[] = {{"kind", true},          {"coordinator", true},
                                      {"participants", true},  {"purpose", true},
                                      {"legal_basis", true},   {"retention_days_after_close", true},
                                      {"max_open_days", true}, {"outcomes", true}};
    enum { K_KIND, K_COORD, K_PARTS, K_PURPOSE, K_BASIS, K_RET, K_OPEN, K_OUTCOMES, K_N };
    intern_t kinds = {0}, fields = {0}, outcomes = {0};
    size_t index = 0;
    for (const node_t *item = list->first; item; item = item->next, index++) {
        const node_t *v[K_N];
        char what[96];
        s_entry_name(what, sizeof what, "case rule", index, s_peek(item, "kind"));
        if (!s_map(ctx, item, what, spec, K_N, v))
            continue;
        agreements_case_rule_t c = {0};
        c.line = item->line;
        c.column = item->column;
        bool added;
        const char *kind = v[K_KIND] ? s_token(ctx, v[K_KIND], "case kind") : NULL;
        if (kind) {
            uint32_t k = intern_add(&kinds, &m->arena, kind, v[K_KIND]->len, &added);
            if (k == INTERN_NONE) {
                s_error(ctx, 0, 0, "out of memory");
                break;
            }
            if (!added)
                s_error_at(ctx, v[K_KIND], "duplicate case kind '%s'", kind);
            c.kind = kinds.names[k];
        }
        uint32_t coordinator =
            v[K_COORD] ? s_partner(ctx, v[K_COORD], "case coordinator") : INTERN_NONE;
        if (coordinator != INTERN_NONE) {
            c.coordinator = m->orgs.names[coordinator];
            /* One regie (s_coordinator): a case conference is the
               municipality's to coordinate, never another partner's. */
            if (m->partners[coordinator].role != AGREEMENTS_ROLE_COORDINATOR)
                s_error_at(ctx, v[K_COORD],
                           "%s: coordinator '%s' does not have role coordinator; only the "
                           "partnership's coordinator runs case conferences",
                           what, c.coordinator);
        }
        if (v[K_PARTS] && s_list(ctx, v[K_PARTS], "participants")) {
            agreements_case_participant_t *parts =
                arena_alloc(&m->arena, v[K_PARTS]->count * sizeof *parts);
            if (!parts) {
                s_error(ctx, 0, 0, "out of memory");
                break;
            }
            size_t n = 0;
            bool coordinator_listed = false;
            size_t p_index = 0;
            for (const node_t *p = v[K_PARTS]->first; p; p = p->next, p_index++) {
                char p_what[160];
                snprintf(p_what, sizeof p_what, "%s, participant %zu", what, p_index + 1);
                agreements_case_participant_t part = {0};
                if (!s_case_participant(ctx, p, p_what, &fields, &part))
                    continue;
                bool twice = false;
                for (size_t k = 0; k < n; k++)
                    twice = twice || strcmp(parts[k].org, part.org) == 0;
                if (twice) {
                    s_error_at(ctx, p, "%s: participant '%s' is listed twice", what, part.org);
                    continue;
                }
                coordinator_listed =
                    coordinator_listed || (c.coordinator && strcmp(part.org, c.coordinator) == 0);
                parts[n++] = part;
            }
            c.participants = parts;
            c.participant_count = n;
            if (c.coordinator && !coordinator_listed)
                s_error_at(ctx, v[K_PARTS],
                           "%s: the coordinator '%s' must be a participant too (with the "
                           "fields it may share)",
                           what, c.coordinator);
            if (v[K_PARTS]->count < 2)
                s_error_at(ctx, v[K_PARTS], "%s: a case conference needs at least two participants",
                           what);
        }
        if (v[K_PURPOSE]) {
            const char *purpose = s_token(ctx, v[K_PURPOSE], "purpose");
            c.purpose = purpose ? arena_strndup(&m->arena, purpose, v[K_PURPOSE]->len) : NULL;
        }
        if (v[K_BASIS]) {
            const char *basis = s_text(ctx, v[K_BASIS], "legal_basis");
            c.legal_basis = basis ? arena_strndup(&m->arena, basis, v[K_BASIS]->len) : NULL;
        }
        uint64_t n;
        if (v[K_RET] && s_uint(ctx, v[K_RET], "retention_days_after_close",
                               AGREEMENTS_RETENTION_MIN, AGREEMENTS_RETENTION_MAX, &n))
            c.retention_days_after_close = (uint32_t)n;
        if (v[K_OPEN] && s_uint(ctx, v[K_OPEN], "max_open_days", AGREEMENTS_CASE_OPEN_MIN,
                                AGREEMENTS_CASE_OPEN_MAX, &n))
            c.max_open_days = (uint32_t)n;
        if (v[K_OUTCOMES])
            c.outcome_count = s_token_list(ctx, v[K_OUTCOMES], "outcomes", "outcome code",
                                           &outcomes, &c.outcomes, NULL);
        m->cases[m->case_count++] = c;
    }
    intern_free(&kinds);
    intern_free(&fields);
    intern_free(&outcomes);
}

static void s_document(ctx_t *ctx, const node_t *root)
{
    agreements_t *m = ctx->model;
    static const key_spec_t spec[] = {
        {"partnership", true}, {"version", true}, {"coordinator", true}, {"partners", true},
        {"agreements", true},  {"alerts", false}, {"cases", false}};
    enum {
        K_PARTNERSHIP,
        K_VERSION,
        K_COORDINATOR,
        K_PARTNERS,
        K_AGREEMENTS,
        K_ALERTS,
        K_CASES,
        K_N
    };
    const node_t *v[K_N];
    if (!s_map(ctx, root, "the agreements file", spec, K_N, v))
        return;
    if (v[K_PARTNERSHIP]) {
        const char *p = s_token(ctx, v[K_PARTNERSHIP], "partnership");
        m->partnership = p ? arena_strndup(&m->arena, p, v[K_PARTNERSHIP]->len) : NULL;
    }
    uint64_t version;
    if (v[K_VERSION] && s_uint(ctx, v[K_VERSION], "version", 1, UINT64_MAX, &version))
        m->version = version;
    /* Partners first: every other section refers to them. */
    if (v[K_PARTNERS])
        s_partners(ctx, v[K_PARTNERS]);
    if (v[K_COORDINATOR] && v[K_PARTNERS])
        s_coordinator(ctx, v[K_COORDINATOR]);
    if (v[K_AGREEMENTS] && v[K_PARTNERS])
        s_agreements(ctx, v[K_AGREEMENTS]);
    if (v[K_ALERTS] && v[K_PARTNERS])
        s_alerts(ctx, v[K_ALERTS]);
    if (v[K_CASES] && v[K_PARTNERS])
        s_cases(ctx, v[K_CASES]);
}

agreements_t *agreements_parse(const char *text, size_t len, const char *name,
                               agreements_errors_t **errors)
{
    if (errors)
        *errors = NULL;
    ctx_t ctx = {0};
    ctx.errors = agreements_errors_new(name);
    if (!ctx.errors)
        return NULL;
    if (!text && len) {
        s_error(&ctx, 0, 0, "no text");
    } else if (len > AGREEMENTS_FILE_MAX) {
        s_error(&ctx, 0, 0, "file too large (%zu bytes, at most %d)", len, AGREEMENTS_FILE_MAX);
    } else {
        ctx.model = calloc(1, sizeof *ctx.model);
        if (!ctx.model)
            s_error(&ctx, 0, 0, "out of memory");
        else {
            /* After anchors or tags (reported, but harmless to the tree) the rest is still
               validated, so one run shows every problem. */
            const node_t *root = s_build_tree(&ctx, text ? text : "", len);
            if (root)
                s_document(&ctx, root);
            if (agreements_errors_count(ctx.errors) == 0 && agreements_index_build(ctx.model) != 0)
                s_error(&ctx, 0, 0, "out of memory");
            /* The identity of a version: SHA-256 of the exact bytes. */
            crypto_hash_sha256(ctx.model->hash, (const unsigned char *)(text ? text : ""), len);
        }
    }
    arena_free(&ctx.tree);
    if (agreements_errors_count(ctx.errors) || agreements_errors_truncated(ctx.errors)) {
        agreements_destroy(&ctx.model);
        agreements_errors_sort(ctx.errors);
        if (errors)
            *errors = ctx.errors;
        else
            agreements_errors_destroy(&ctx.errors);
        return NULL;
    }
    agreements_errors_destroy(&ctx.errors);
    return ctx.model;
}

static agreements_t *s_load_fail(const char *path, agreements_errors_t **errors, const char *fmt,
                                 ...) __attribute__((format(printf, 3, 4)));

static agreements_t *s_load_fail(const char *path, agreements_errors_t **errors, const char *fmt,
                                 ...)
{
    if (errors) {
        *errors = agreements_errors_new(path);
        if (*errors) {
            va_list args;
            va_start(args, fmt);
            agreements_errors_addv(*errors, 0, 0, fmt, args);
            va_end(args);
        }
    }
    return NULL;
}

agreements_t *agreements_load(const char *path, agreements_errors_t **errors)
{
    if (errors)
        *errors = NULL;
    if (!path)
        return s_load_fail("(agreements)", errors, "no file name");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return s_load_fail(path, errors, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return s_load_fail(path, errors, "cannot stat: %s", strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return s_load_fail(path, errors, "not a regular file");
    }
    if (st.st_size > AGREEMENTS_FILE_MAX) {
        close(fd);
        return s_load_fail(path, errors, "file too large (%lld bytes, at most %d)",
                           (long long)st.st_size, AGREEMENTS_FILE_MAX);
    }
    /* Read up to one byte past the cap: the file may grow between fstat and read. */
    char *text = malloc(AGREEMENTS_FILE_MAX + 1);
    if (!text) {
        close(fd);
        return s_load_fail(path, errors, "out of memory");
    }
    size_t len = 0;
    while (len < AGREEMENTS_FILE_MAX + 1) {
        ssize_t n = read(fd, text + len, AGREEMENTS_FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(text);
            close(fd);
            return s_load_fail(path, errors, "cannot read: %s", strerror(e));
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    agreements_t *self = agreements_parse(text, len, path, errors);
    free(text);
    return self;
}
