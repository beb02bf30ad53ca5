/*  audit_stats_table: small-count suppression shared by stats and
    stats --cases; see audit_stats_table.h. */
#include "audit_stats_table.h"

#include <inttypes.h>
#include <string.h>

/* Length of the "period\tdimension\t" prefix of a key. */
static size_t s_group_len(const char *key)
{
    const char *tab = strchr(key, '\t');
    tab = tab ? strchr(tab + 1, '\t') : NULL;
    return tab ? (size_t)(tab - key) + 1 : strlen(key);
}

/* True when the group starting at `key` has a dimension in `standalone`. */
static bool s_standalone(const char *key, const char *const *standalone)
{
    const char *tab = strchr(key, '\t');
    if (!tab || !standalone)
        return false;
    const char *dim = tab + 1, *end = strchr(dim, '\t');
    size_t len = end ? (size_t)(end - dim) : strlen(dim);
    for (size_t i = 0; standalone[i]; i++)
        if (strlen(standalone[i]) == len && strncmp(standalone[i], dim, len) == 0)
            return true;
    return false;
}

bool audit_stats_is_small(uint64_t count)
{
    return count > 0 && count < AUDIT_STATS_THRESHOLD;
}

void audit_stats_suppress(const audit_count_t *items, size_t n, audit_cell_t *cells,
                          const char *const *standalone)
{
    for (size_t i = 0; i < n; i++)
        cells[i] = audit_stats_is_small(items[i].count) ? AUDIT_CELL_SMALL : AUDIT_CELL_SHOWN;
    for (size_t start = 0; start < n;) {
        size_t glen = s_group_len(items[start].key), end = start + 1;
        while (end < n && strncmp(items[end].key, items[start].key, glen) == 0 &&
               s_group_len(items[end].key) == glen)
            end++;
        size_t hidden = 0;
        for (size_t i = start; i < end; i++)
            hidden += cells[i] != AUDIT_CELL_SHOWN;
        if (!s_standalone(items[start].key, standalone) && hidden == 1) {
            size_t pick = n;
            for (size_t i = start; i < end; i++)
                if (cells[i] == AUDIT_CELL_SHOWN &&
                    (pick == n || items[i].count < items[pick].count))
                    pick = i;
            if (pick < n)
                cells[pick] = AUDIT_CELL_COMPLEMENT;
        }
        start = end;
    }
}

/* True when `key` is "MONTH\tdimension\tvalue" (not "all"). */
static bool s_in_series(const char *key, const char *dimension, const char *value)
{
    const char *t1 = strchr(key, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    if (!t2 || strncmp(key, "all\t", 4) == 0)
        return false;
    size_t dlen = strlen(dimension);
    return (size_t)(t2 - t1 - 1) == dlen && strncmp(t1 + 1, dimension, dlen) == 0 &&
           strcmp(t2 + 1, value) == 0;
}

void audit_stats_suppress_series(const audit_count_t *items, size_t n, audit_cell_t *cells,
                                 const char *dimension, const char *value)
{
    size_t hidden = 0, pick = n;
    for (size_t i = 0; i < n; i++) {
        if (!s_in_series(items[i].key, dimension, value))
            continue;
        if (cells[i] != AUDIT_CELL_SHOWN)
            hidden++;
        else if (pick == n || items[i].count < items[pick].count)
            pick = i;
    }
    if (hidden == 1 && pick < n)
        cells[pick] = AUDIT_CELL_COMPLEMENT;
}

void audit_stats_cell_text(uint64_t count, audit_cell_t cell, char out[AUDIT_STATS_CELL_MAX])
{
    if (cell == AUDIT_CELL_SMALL)
        snprintf(out, AUDIT_STATS_CELL_MAX, "<%d", AUDIT_STATS_THRESHOLD);
    else if (cell == AUDIT_CELL_COMPLEMENT)
        snprintf(out, AUDIT_STATS_CELL_MAX, "x");
    else
        snprintf(out, AUDIT_STATS_CELL_MAX, "%" PRIu64, count);
}

void audit_stats_print_rows(FILE *out, const audit_count_t *items, const audit_cell_t *cells,
                            size_t n, bool json)
{
    size_t printed = 0;
    for (size_t i = 0; i < n; i++) {
        char month[16] = "", dim[16] = "", value[AUDIT_COUNTER_KEY_MAX] = "";
        const char *k = items[i].key, *t1 = strchr(k, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t1 || !t2)
            continue;
        snprintf(month, sizeof month, "%.*s", (int)(t1 - k), k);
        snprintf(dim, sizeof dim, "%.*s", (int)(t2 - t1 - 1), t1 + 1);
        snprintf(value, sizeof value, "%s", t2 + 1);
        char shown[AUDIT_STATS_CELL_MAX];
        audit_stats_cell_text(items[i].count, cells[i], shown);
        if (json) {
            fprintf(out,
                    "%s\n{\"month\":\"%s\",\"dimension\":\"%s\",\"value\":", printed ? "," : "",
                    month, dim);
            audit_json_string(out, value);
            if (cells[i] == AUDIT_CELL_SHOWN)
                fprintf(out, ",\"count\":%s}", shown);
            else
                fprintf(out, ",\"count\":\"%s\"}", shown);
        } else {
            fprintf(out, "%-8s %-8s ", month, dim);
            audit_term_text(out, value, 40);
            fprintf(out, " %s\n", shown);
        }
        printed++;
    }
}
